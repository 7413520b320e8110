#include "tests/testing/identity_tokens.h"

#include <grpcpp/support/client_interceptor.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdlib>
#include <fstream>
#include <iostream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace simpul::testing {
namespace {

template <typename T>
T OrDie(absl::StatusOr<T> value) {
  if (!value.ok()) {
    std::cerr << "TokenMinter: " << value.status() << "\n";
    std::abort();
  }
  return *std::move(value);
}

void OrDie(const absl::Status& status) {
  if (!status.ok()) {
    std::cerr << "TokenMinter: " << status << "\n";
    std::abort();
  }
}

// Rebinds a kAnyServiceAudience token to the audience of the call's service.
class AudienceBinding final : public grpc::experimental::Interceptor {
 public:
  AudienceBinding(const TokenMinter* minter, const IdentitySigner* any_audience,
                  std::string audience)
      : minter_(minter), any_audience_(any_audience), audience_(std::move(audience)) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      std::multimap<std::string, std::string>* metadata = methods->GetSendInitialMetadata();
      auto it = metadata->find(std::string(kIdentityMetadataKey));
      if (it != metadata->end()) {
        absl::StatusOr<common::v1::Principal> p = any_audience_->Verify(it->second, absl::Now());
        if (p.ok()) {
          it->second =
              minter_->TokenFor(*p, audience_, absl::FromUnixSeconds(p->expire_time().seconds()));
        }
      }
    }
    methods->Proceed();
  }

 private:
  const TokenMinter* minter_;
  const IdentitySigner* any_audience_;
  const std::string audience_;
};

class AudienceBindingFactory final : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  AudienceBindingFactory(const TokenMinter* minter, const IdentitySigner* any_audience)
      : minter_(minter), any_audience_(any_audience) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* info) override {
    return new AudienceBinding(minter_, any_audience_,
                               ServiceAudience(info->method() == nullptr ? "" : info->method()));
  }

 private:
  const TokenMinter* minter_;
  const IdentitySigner* any_audience_;
};

}  // namespace

TokenMinter::TokenMinter()
    : gateway_private_pem_(OrDie(IdentitySigner::GeneratePrivateKeyPem())),
      gateway_public_pem_(OrDie(IdentitySigner::PublicKeyPemOf(gateway_private_pem_))),
      monitoring_private_pem_(OrDie(IdentitySigner::GeneratePrivateKeyPem())),
      monitoring_public_pem_(OrDie(IdentitySigner::PublicKeyPemOf(monitoring_private_pem_))),
      any_audience_(Verifier(kAnyServiceAudience)) {
  OrDie(signer_.SetPrivateKeyPem(gateway_private_pem_));
  OrDie(monitoring_signer_.SetPrivateKeyPem(monitoring_private_pem_));
}

IdentitySigner TokenMinter::Verifier(const std::string& audience) const {
  IdentitySigner verifier(
      IdentitySigner::Options{.audience = audience, .accept_service_role = true});
  OrDie(verifier.TrustPem(gateway_public_pem_, IdentitySigner::kAnyPerson));
  OrDie(verifier.TrustPem(gateway_public_pem_, ServiceSubject("simpul-gateway")));
  OrDie(verifier.TrustPem(monitoring_public_pem_, ServiceSubject("simpul-monitoring")));
  return verifier;
}

std::string TokenMinter::Token(common::v1::Role role, const std::string& agency,
                               const std::string& channel, const std::string& subject) const {
  common::v1::Principal p;
  p.set_role(role);
  p.set_agency_id(agency);
  p.set_channel(channel);
  // A channel token may act for every agency; tests of a channel's scope sign their own.
  p.set_scope_all_agencies(role == common::v1::ROLE_CHANNEL);
  p.set_subject(subject.empty() ? absl::StrCat(common::v1::Role_Name(role), "@", agency) : subject);
  return TokenFor(p, kAnyServiceAudience, absl::Now() + absl::Minutes(30));
}

std::string TokenMinter::TokenFor(const common::v1::Principal& principal,
                                  const std::string& audience, absl::Time expire) const {
  return OrDie(signer_.Sign(principal, audience, expire));
}

std::string TokenMinter::MonitoringToken(const common::v1::Principal& principal,
                                         const std::string& audience, absl::Time expire) const {
  return OrDie(monitoring_signer_.Sign(principal, audience, expire));
}

std::string TokenMinter::UncheckedToken(const common::v1::Principal& body) const {
  const std::string body_b64 = absl::WebSafeBase64Escape(body.SerializeAsString());
  const std::string message =
      absl::StrCat(absl::string_view(kIdentityTokenDomain.data(), kIdentityTokenDomain.size()),
                   absl::string_view("\0", 1), signer_.key_id(), ".", body_b64);
  BIO* bio =
      BIO_new_mem_buf(gateway_private_pem_.data(), static_cast<int>(gateway_private_pem_.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  unsigned char sig[64];
  size_t len = sizeof(sig);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok =
      key != nullptr && EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, key) == 1 &&
      EVP_DigestSign(ctx, sig, &len, reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  if (!ok) {
    std::cerr << "TokenMinter: cannot sign\n";
    std::abort();
  }
  return absl::StrCat(
      "v2.", signer_.key_id(), ".", body_b64, ".",
      absl::WebSafeBase64Escape(absl::string_view(reinterpret_cast<const char*>(sig), len)));
}

absl::Status TokenMinter::WriteKeyFiles(const std::string& dir) const {
  const std::pair<const char*, const std::string*> files[] = {
      {"gateway.key", &gateway_private_pem_},
      {"gateway.pub", &gateway_public_pem_},
      {"monitoring.key", &monitoring_private_pem_},
      {"monitoring.pub", &monitoring_public_pem_}};
  const std::string registry_trusted =
      "any gateway.pub\nservice:simpul-gateway gateway.pub\n"
      "service:simpul-monitoring monitoring.pub\n";
  const std::string services_trusted = "any gateway.pub\n";
  for (const auto& [name, text] : files) {
    std::ofstream out(absl::StrCat(dir, "/", name));
    out << *text;
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", dir, "/", name));
  }
  std::ofstream(dir + "/registry.trusted") << registry_trusted;
  std::ofstream(dir + "/services.trusted") << services_trusted;
  return absl::OkStatus();
}

std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>>
TokenMinter::AudienceBindingInterceptors() const {
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> out;
  out.push_back(std::make_unique<AudienceBindingFactory>(this, &any_audience_));
  return out;
}

std::unique_ptr<grpc::ClientContext> CallContext(const Caller& who, absl::Duration timeout) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  if (who.token.empty()) return ctx;
  if (who.api_key) {
    ctx->AddMetadata("authorization", "Bearer " + who.token);
  } else {
    ctx->AddMetadata(std::string(kIdentityMetadataKey), who.token);
  }
  return ctx;
}

std::unique_ptr<grpc::ClientContext> IdentityContext(const std::string& token,
                                                     absl::Duration timeout) {
  return CallContext(Caller{"", token}, timeout);
}

}  // namespace simpul::testing
