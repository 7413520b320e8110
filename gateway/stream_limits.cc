// StreamLimits (gateway/stream_limits.h): per-caller counts of streams and REST connections.
#include "gateway/stream_limits.h"

#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/absl_compat.h"
#include "common/identity.h"

namespace simpul::gateway {
namespace {

constexpr char kRefusals[] = "simpul_gateway_stream_refusals_total";
constexpr char kStreamsOpen[] = "simpul_gateway_streams_open";
constexpr char kConnectionsOpen[] = "simpul_gateway_rest_connections_open";
// The payload key GrpcProxy reads for the "retry-after" trailer (kRetryAfterPayload in
// gateway/proxy.h, not included here to keep this file free of gRPC).
constexpr char kRetryAfter[] = "retry-after";

int CountOf(const absl::flat_hash_map<std::string, int>& counts, const std::string& key) {
  auto it = counts.find(key);
  return it == counts.end() ? 0 : it->second;
}

void Decrement(absl::flat_hash_map<std::string, int>& counts, const std::string& key) {
  auto it = counts.find(key);
  if (it == counts.end()) return;
  if (--it->second <= 0) counts.erase(it);  // the maps hold only callers with something open
}

absl::Status Refusal(std::string what, int limit) {
  absl::Status status =
      absl::ResourceExhaustedError(absl::StrCat(what, " (limit ", limit, "); close one and retry"));
  status.SetPayload(kRetryAfter, absl::Cord("1"));
  return status;
}

}  // namespace

StreamLimits::Lease& StreamLimits::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    Release();
    owner_ = std::exchange(other.owner_, nullptr);
    connection_ = other.connection_;
    principal_ = std::move(other.principal_);
    address_ = std::move(other.address_);
  }
  return *this;
}

void StreamLimits::Lease::Release() {
  StreamLimits* owner = std::exchange(owner_, nullptr);
  if (owner == nullptr) return;
  if (connection_) {
    owner->ReleaseConnection(address_);
  } else {
    owner->ReleaseStream(principal_, address_);
  }
}

StreamLimits::StreamLimits(StreamLimitOptions options, Metrics* metrics) : options_(options) {
  if (metrics == nullptr) return;
  metrics->Describe(kRefusals, Metrics::Type::kCounter,
                    "server streams and REST connections refused because a cap was full, by "
                    "cap (principal, public, address, connections)");
  metrics->Describe(kStreamsOpen, Metrics::Type::kGauge,
                    "server streams (gRPC and REST) open through this gateway");
  metrics->Describe(kConnectionsOpen, Metrics::Type::kGauge,
                    "REST connections open on this gateway");
  refused_principal_ = metrics->GetCounter(kRefusals, {{"cap", "principal"}});
  refused_public_ = metrics->GetCounter(kRefusals, {{"cap", "public"}});
  refused_address_ = metrics->GetCounter(kRefusals, {{"cap", "address"}});
  refused_connections_ = metrics->GetCounter(kRefusals, {{"cap", "connections"}});
  streams_open_ = metrics->GetGauge(kStreamsOpen, {});
  connections_open_ = metrics->GetGauge(kConnectionsOpen, {});
}

std::string StreamLimits::PrincipalKey(const common::v1::Principal& principal) {
  if (principal.role() == common::v1::ROLE_UNSPECIFIED) return "public";
  if (!principal.subject().empty()) return absl::StrCat("s:", principal.subject());
  return absl::StrCat("r:", principal.role(), ":", principal.agency_id(), ":", principal.channel());
}

std::string StreamLimits::AddressOf(std::string_view peer) {
  absl::string_view p = AbslView(peer);
  if (absl::ConsumePrefix(&p, "ipv6:")) {
    if (absl::ConsumePrefix(&p, "[")) {
      const size_t close = p.find(']');
      return std::string(close == absl::string_view::npos ? p : p.substr(0, close));
    }
    return std::string(p);
  }
  if (absl::ConsumePrefix(&p, "ipv4:")) {
    return std::string(p.substr(0, p.rfind(':')));
  }
  return std::string(p);
}

absl::StatusOr<StreamLimits::Lease> StreamLimits::AcquireStream(
    const common::v1::Principal& principal, std::string_view peer) {
  const bool is_public = principal.role() == common::v1::ROLE_UNSPECIFIED;
  std::string key = PrincipalKey(principal);
  std::string address = AddressOf(peer);
  {
    absl::MutexLock lock(&mu_);
    const int principal_limit =
        is_public ? options_.max_public_streams : options_.max_streams_per_principal;
    if (principal_limit > 0 && CountOf(by_principal_, key) >= principal_limit) {
      (is_public ? refused_public_ : refused_principal_).Increment();
      return Refusal(is_public ? "too many concurrent streams from anonymous callers"
                               : "too many concurrent streams for this API key",
                     principal_limit);
    }
    if (options_.max_streams_per_address > 0 &&
        CountOf(by_address_, address) >= options_.max_streams_per_address) {
      refused_address_.Increment();
      return Refusal(absl::StrCat("too many concurrent streams from the address ", address),
                     options_.max_streams_per_address);
    }
    ++by_principal_[key];
    ++by_address_[address];
    ++streams_;
    UpdateGauges();
  }
  Lease lease;
  lease.owner_ = this;
  lease.principal_ = std::move(key);
  lease.address_ = std::move(address);
  return lease;
}

absl::StatusOr<StreamLimits::Lease> StreamLimits::AcquireConnection(std::string_view peer) {
  std::string address = AddressOf(peer);
  {
    absl::MutexLock lock(&mu_);
    if (options_.max_connections_per_address > 0 &&
        CountOf(connections_by_address_, address) >= options_.max_connections_per_address) {
      refused_connections_.Increment();
      return Refusal(absl::StrCat("too many concurrent connections from the address ", address),
                     options_.max_connections_per_address);
    }
    ++connections_by_address_[address];
    ++connections_;
    UpdateGauges();
  }
  Lease lease;
  lease.owner_ = this;
  lease.connection_ = true;
  lease.address_ = std::move(address);
  return lease;
}

void StreamLimits::ReleaseStream(const std::string& principal, const std::string& address) {
  absl::MutexLock lock(&mu_);
  Decrement(by_principal_, principal);
  Decrement(by_address_, address);
  --streams_;
  UpdateGauges();
}

void StreamLimits::ReleaseConnection(const std::string& address) {
  absl::MutexLock lock(&mu_);
  Decrement(connections_by_address_, address);
  --connections_;
  UpdateGauges();
}

void StreamLimits::UpdateGauges() {
  streams_open_.Set(streams_);
  connections_open_.Set(connections_);
}

int StreamLimits::streams() const {
  absl::MutexLock lock(&mu_);
  return streams_;
}

int StreamLimits::streams_of(const common::v1::Principal& principal) const {
  absl::MutexLock lock(&mu_);
  return CountOf(by_principal_, PrincipalKey(principal));
}

int StreamLimits::streams_from(std::string_view peer) const {
  absl::MutexLock lock(&mu_);
  return CountOf(by_address_, AddressOf(peer));
}

int StreamLimits::connections_from(std::string_view peer) const {
  absl::MutexLock lock(&mu_);
  return CountOf(connections_by_address_, AddressOf(peer));
}

int StreamLimits::connections() const {
  absl::MutexLock lock(&mu_);
  return connections_;
}

}  // namespace simpul::gateway
