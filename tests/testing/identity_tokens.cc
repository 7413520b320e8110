#include "tests/testing/identity_tokens.h"

#include <cstdlib>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace simpul::testing {
namespace {

IdentitySigner MakeSigner(const std::string& key) {
  absl::StatusOr<IdentitySigner> signer = IdentitySigner::Create(key);
  if (!signer.ok()) {
    std::cerr << "TokenMinter: " << signer.status() << "\n";
    std::abort();
  }
  return *std::move(signer);
}

}  // namespace

TokenMinter::TokenMinter(const std::string& key) : key_(key), signer_(MakeSigner(key)) {}

std::string TokenMinter::Token(common::v1::Role role, const std::string& agency,
                               const std::string& channel, const std::string& subject) const {
  common::v1::Principal p;
  p.set_role(role);
  p.set_agency_id(agency);
  p.set_channel(channel);
  // A channel token may act for every agency; tests of a channel's scope sign their own.
  p.set_scope_all_agencies(role == common::v1::ROLE_CHANNEL);
  p.set_subject(subject.empty() ? absl::StrCat(common::v1::Role_Name(role), "@", agency) : subject);
  p.mutable_expire_time()->set_seconds(absl::ToUnixSeconds(absl::Now() + absl::Hours(1)));
  return signer_.Sign(p);
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
