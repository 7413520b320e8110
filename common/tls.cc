// Mutual TLS between Simpul's components (common/tls.h).
#include "common/tls.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fstream>
#include <sstream>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/absl_compat.h"

namespace simpul {
namespace {

// ReadPem reads the PEM file of config key `key`; the error names the key and the path.
absl::StatusOr<std::string> ReadPem(std::string_view key, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat(AbslView(key), ": cannot read \"", path, "\""));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().find("-----BEGIN ") == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(AbslView(key), ": \"", path, "\" holds no PEM data"));
  }
  return text.str();
}

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

std::unique_ptr<BIO, BioFree> MemoryBio(const std::string& pem) {
  return std::unique_ptr<BIO, BioFree>(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// CheckPair checks that the certificate and the key parse and belong together, so that a
// mismatch stops the process at start instead of failing every handshake.
absl::Status CheckPair(const InternalTls::Files& files, const std::string& cert_pem,
                       const std::string& key_pem, const std::string& ca_pem) {
  std::unique_ptr<X509, X509Free> cert(
      PEM_read_bio_X509(MemoryBio(cert_pem).get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("internal_tls_cert_file: \"", files.cert_file,
                                                   "\" holds no readable certificate"));
  }
  std::unique_ptr<EVP_PKEY, PkeyFree> key(
      PEM_read_bio_PrivateKey(MemoryBio(key_pem).get(), nullptr, nullptr, nullptr));
  if (key == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("internal_tls_key_file: \"", files.key_file,
                                                   "\" holds no readable private key"));
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("internal_tls_key_file: \"", files.key_file,
                                                   "\" is not the key of \"", files.cert_file,
                                                   "\""));
  }
  std::unique_ptr<X509, X509Free> ca(
      PEM_read_bio_X509(MemoryBio(ca_pem).get(), nullptr, nullptr, nullptr));
  if (ca == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("internal_tls_ca_file: \"", files.ca_file,
                                                   "\" holds no readable certificate"));
  }
  return absl::OkStatus();
}

// PeerAllowList admits a call only when the verified client certificate names an allowed
// peer in its subjectAltName.
class PeerAllowList final : public grpc::AuthMetadataProcessor {
 public:
  explicit PeerAllowList(std::set<std::string> allowed) : allowed_(std::move(allowed)) {}
  bool IsBlocking() const override { return false; }
  grpc::Status Process(const InputMetadata&, grpc::AuthContext* context, OutputMetadata*,
                       OutputMetadata*) override {
    for (const grpc::string_ref& name : context->FindPropertyValues(GRPC_X509_SAN_PROPERTY_NAME)) {
      if (allowed_.count(std::string(name.data(), name.size())) > 0) return grpc::Status::OK;
    }
    return grpc::Status(
        grpc::StatusCode::PERMISSION_DENIED,
        absl::StrCat("this service accepts calls only from ", absl::StrJoin(allowed_, ", "),
                     " (internal_tls_allowed_peers); the client "
                     "certificate names none of them"));
  }

 private:
  const std::set<std::string> allowed_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<InternalTls>> InternalTls::Load(Files files) {
  auto tls = std::unique_ptr<InternalTls>(new InternalTls());
  auto cert = ReadPem("internal_tls_cert_file", files.cert_file);
  if (!cert.ok()) return cert.status();
  auto key = ReadPem("internal_tls_key_file", files.key_file);
  if (!key.ok()) return key.status();
  auto ca = ReadPem("internal_tls_ca_file", files.ca_file);
  if (!ca.ok()) return ca.status();
  if (absl::Status pair = CheckPair(files, *cert, *key, *ca); !pair.ok()) return pair;
  tls->cert_pem_ = *std::move(cert);
  tls->key_pem_ = *std::move(key);
  tls->ca_pem_ = *std::move(ca);
  tls->files_ = std::move(files);
  return tls;
}

absl::StatusOr<std::unique_ptr<InternalTls>> InternalTls::FromConfig(const Config& config) {
  Files files;
  files.cert_file = config.GetString("internal_tls_cert_file");
  files.key_file = config.GetString("internal_tls_key_file");
  files.ca_file = config.GetString("internal_tls_ca_file");
  for (absl::string_view peer : absl::StrSplit(config.GetString("internal_tls_allowed_peers"), ',',
                                               absl::SkipWhitespace())) {
    files.allowed_peers.insert(std::string(absl::StripAsciiWhitespace(peer)));
  }
  const std::pair<const char*, const std::string*> keys[] = {
      {"internal_tls_cert_file", &files.cert_file},
      {"internal_tls_key_file", &files.key_file},
      {"internal_tls_ca_file", &files.ca_file}};
  std::vector<std::string> missing;
  for (const auto& [name, value] : keys) {
    if (value->empty()) missing.push_back(name);
  }
  if (missing.size() == std::size(keys)) {
    if (!files.allowed_peers.empty()) {
      return absl::InvalidArgumentError(
          "internal_tls_allowed_peers needs internal_tls_cert_file, internal_tls_key_file and "
          "internal_tls_ca_file");
    }
    return nullptr;
  }
  if (!missing.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("internal TLS needs internal_tls_cert_file, internal_tls_key_file and "
                     "internal_tls_ca_file together; missing: ",
                     absl::StrJoin(missing, ", ")));
  }
  return Load(std::move(files));
}

std::shared_ptr<grpc::ServerCredentials> InternalTls::ServerCredentials() const {
  grpc::SslServerCredentialsOptions options(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = ca_pem_;
  options.pem_key_cert_pairs.push_back({key_pem_, cert_pem_});
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::SslServerCredentials(options);
  if (!files_.allowed_peers.empty()) {
    credentials->SetAuthMetadataProcessor(std::make_shared<PeerAllowList>(files_.allowed_peers));
  }
  return credentials;
}

std::shared_ptr<grpc::ChannelCredentials> InternalTls::ChannelCredentials() const {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ca_pem_;
  options.pem_private_key = key_pem_;
  options.pem_cert_chain = cert_pem_;
  return grpc::SslCredentials(options);
}

std::shared_ptr<grpc::ChannelCredentials> InternalChannelCredentials(const InternalTls* tls,
                                                                     const std::string& server_name,
                                                                     grpc::ChannelArguments* args) {
  if (tls == nullptr) return grpc::InsecureChannelCredentials();
  args->SetSslTargetNameOverride(server_name);
  return tls->ChannelCredentials();
}

}  // namespace simpul
