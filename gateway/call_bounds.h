// What the gateway spends on calls to methods it does not know (issue #13): they are refused
// at the gate when their service is known (CheckMethodDeclared), counted under one metric
// label (common/metrics.h RpcMethodLabel), and their access-log lines are sampled
// (LogSampler, WriteAccessLog), so that made-up method names cost neither memory nor log
// volume in proportion to their number.
#ifndef SIMPUL_GATEWAY_CALL_BOUNDS_H_
#define SIMPUL_GATEWAY_CALL_BOUNDS_H_

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/metrics.h"

namespace simpul::gateway {

struct CallInfo;

// CheckMethodDeclared is UNIMPLEMENTED (naming an excerpt of the method) when `method`
// ("/package.Service/Method") names a service whose descriptor is linked into the gateway but
// not one of its methods, or is not of the form "/<service>/<method>" at all; OK otherwise
// (a declared method, or a service the gateway has no descriptor of: it cannot tell).
absl::Status CheckMethodDeclared(std::string_view method);

// LogSampler decides which lines of a noisy kind are written: the first `first_per_minute`
// of each minute, then one in `then_one_in`. Thread-safe.
class LogSampler {
 public:
  struct Options {
    int64_t first_per_minute = 20;
    int64_t then_one_in = 1000;
    // nullptr: the system clock.
    const Clock* clock = nullptr;
    // Counts every suppressed line (a no-op handle by default).
    Counter suppressed;
  };

  explicit LogSampler(Options options);

  // Sample is true when this line is to be written; then *suppressed_before is the number of
  // lines suppressed since the last one written (to be reported in this one).
  bool Sample(int64_t* suppressed_before);

 private:
  const Options options_;
  const Clock& clock_;
  absl::Mutex mu_;
  int64_t minute_ ABSL_GUARDED_BY(mu_) = -1;     // minutes since the epoch of the current window
  int64_t seen_ ABSL_GUARDED_BY(mu_) = 0;        // lines seen in the window
  int64_t suppressed_ ABSL_GUARDED_BY(mu_) = 0;  // since the last written line
};

// WriteAccessLog writes the access log line of one ended call ("call": method, request id,
// subject, peer, code, ms). A call of a method unknown to the gateway (IsKnownRpcMethod) is
// logged as method "unknown" with an excerpt of the path the client sent, and only when
// `unknown_sampler` lets it through (with the number of lines suppressed before it).
void WriteAccessLog(LogSampler& unknown_sampler, const CallInfo& info, absl::StatusCode code,
                    absl::Duration elapsed);
// WriteAccessLog with the answer of IsKnownRpcMethod(info.method) already known.
void WriteAccessLog(LogSampler& unknown_sampler, const CallInfo& info, absl::StatusCode code,
                    absl::Duration elapsed, bool known_method);

}  // namespace simpul::gateway

#endif  // SIMPUL_GATEWAY_CALL_BOUNDS_H_
