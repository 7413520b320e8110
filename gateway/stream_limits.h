// StreamLimits bounds the long-lived work one caller can make the gateway hold: concurrent
// server streams (gRPC Watch* calls through the proxy, REST NDJSON/SSE streams) per principal
// and per client address, and REST connections per client address. A stream or connection
// takes a Lease when it starts and gives it back when the Lease is destroyed, whatever ended
// it (the client went away, the deadline passed, the backend ended the stream, the gateway
// drained). Over a cap the caller is refused (RESOURCE_EXHAUSTED naming the cap and its
// limit; REST answers 429) and simpul_gateway_stream_refusals_total{cap} counts it.
//
// The principal is the API key's subject (or the principal a client certificate maps to);
// all anonymous callers together are one principal, "public", with their own limit, and each
// of them is also held to the per-address cap. Counters live in this process only (each
// gateway replica counts its own streams). Thread-safe.
#ifndef SIMPUL_GATEWAY_STREAM_LIMITS_H_
#define SIMPUL_GATEWAY_STREAM_LIMITS_H_

#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/metrics.h"
#include "simpul/common/v1/common.pb.h"

namespace simpul::gateway {

struct StreamLimitOptions {
  // Concurrent server streams of one API key (its subject); 0: no cap.
  int max_streams_per_principal = 100;
  // Concurrent server streams of all anonymous callers together; 0: no cap.
  int max_public_streams = 2000;
  // Concurrent server streams from one client address (IP), any caller; 0: no cap.
  int max_streams_per_address = 200;
  // Concurrent REST connections from one client address (IP); 0: no cap.
  int max_connections_per_address = 256;
};

class StreamLimits {
 public:
  // Lease holds one stream or connection until it is destroyed (or reset). Movable.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& other) noexcept { *this = std::move(other); }
    Lease& operator=(Lease&& other) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { Release(); }
    // Release gives the lease back now (idempotent).
    void Release();

   private:
    friend class StreamLimits;
    StreamLimits* owner_ = nullptr;
    bool connection_ = false;
    std::string principal_;  // "" for a connection
    std::string address_;
  };

  // `metrics` may be null.
  explicit StreamLimits(StreamLimitOptions options, Metrics* metrics = nullptr);
  StreamLimits(const StreamLimits&) = delete;
  StreamLimits& operator=(const StreamLimits&) = delete;

  // AcquireStream admits one more server stream of `principal` from `peer` (a gRPC peer
  // string such as "ipv4:10.0.0.7:5555", or a bare address), or RESOURCE_EXHAUSTED naming
  // the cap that is full, with a "retry-after" payload of 1 s (kRetryAfterPayload).
  absl::StatusOr<Lease> AcquireStream(const common::v1::Principal& principal,
                                      std::string_view peer);
  // AcquireConnection admits one more REST connection from `peer`, or RESOURCE_EXHAUSTED.
  absl::StatusOr<Lease> AcquireConnection(std::string_view peer);

  // Current counts, for tests and gauges.
  int streams() const;
  int streams_of(const common::v1::Principal& principal) const;
  int streams_from(std::string_view peer) const;
  int connections_from(std::string_view peer) const;
  int connections() const;

  const StreamLimitOptions& options() const { return options_; }

  // PrincipalKey: "public" for an anonymous caller, else the principal's subject.
  static std::string PrincipalKey(const common::v1::Principal& principal);
  // AddressOf: the IP of a gRPC peer string ("ipv4:1.2.3.4:5" → "1.2.3.4", "ipv6:[::1]:5" →
  // "::1"); other strings whole.
  static std::string AddressOf(std::string_view peer);

 private:
  void ReleaseStream(const std::string& principal, const std::string& address);
  void ReleaseConnection(const std::string& address);
  void UpdateGauges() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const StreamLimitOptions options_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, int> by_principal_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, int> by_address_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, int> connections_by_address_ ABSL_GUARDED_BY(mu_);
  int streams_ ABSL_GUARDED_BY(mu_) = 0;
  int connections_ ABSL_GUARDED_BY(mu_) = 0;
  // simpul_gateway_stream_refusals_total{cap}, simpul_gateway_streams_open,
  // simpul_gateway_rest_connections_open.
  Counter refused_principal_, refused_public_, refused_address_, refused_connections_;
  Gauge streams_open_, connections_open_;
};

}  // namespace simpul::gateway

#endif  // SIMPUL_GATEWAY_STREAM_LIMITS_H_
