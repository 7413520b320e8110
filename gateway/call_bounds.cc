// Calls to unknown methods: the gate's check, the sampled access log (gateway/call_bounds.h).
#include "gateway/call_bounds.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "common/excerpt.h"
#include "common/identity.h"
#include "common/logging.h"
#include "gateway/proxy.h"
#include "google/protobuf/descriptor.h"

namespace simpul::gateway {
namespace {

const Clock& RealClock() {
  static const SystemClock* const clock = new SystemClock();
  return *clock;
}

}  // namespace

absl::Status CheckMethodDeclared(std::string_view method) {
  std::string_view path = method;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  const size_t slash = path.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == path.size() ||
      path.find('/', slash + 1) != std::string_view::npos) {
    return absl::UnimplementedError(
        absl::StrCat("not a gRPC method path (\"/<service>/<method>\"): ", Excerpt(method)));
  }
  const std::string service(path.substr(0, slash));
  const google::protobuf::ServiceDescriptor* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service);
  if (descriptor == nullptr) return absl::OkStatus();
  const std::string name(path.substr(slash + 1));
  if (descriptor->FindMethodByName(name) != nullptr) return absl::OkStatus();
  return absl::UnimplementedError(
      absl::StrCat("the service ", service, " has no method ", Excerpt(name, kExcerptBytes)));
}

LogSampler::LogSampler(Options options)
    : options_(std::move(options)),
      clock_(options_.clock != nullptr ? *options_.clock : RealClock()) {}

bool LogSampler::Sample(int64_t* suppressed_before) {
  const int64_t minute = absl::ToUnixSeconds(clock_.Now()) / 60;
  absl::MutexLock lock(&mu_);
  if (minute != minute_) {
    minute_ = minute;
    seen_ = 0;
  }
  ++seen_;
  const int64_t beyond = seen_ - options_.first_per_minute;
  if (beyond > 0 && options_.then_one_in > 1 && beyond % options_.then_one_in != 0) {
    ++suppressed_;
    options_.suppressed.Increment();
    return false;
  }
  *suppressed_before = suppressed_;
  suppressed_ = 0;
  return true;
}

void WriteAccessLog(LogSampler& unknown_sampler, const CallInfo& info, absl::StatusCode code,
                    absl::Duration elapsed) {
  WriteAccessLog(unknown_sampler, info, code, elapsed, IsKnownRpcMethod(info.method));
}

void WriteAccessLog(LogSampler& unknown_sampler, const CallInfo& info, absl::StatusCode code,
                    absl::Duration elapsed, bool known_method) {
  const std::string code_name(absl::StatusCodeToString(code));
  const double ms = absl::ToDoubleMilliseconds(elapsed);
  if (known_method) {
    Log(LogLevel::kInfo, "call",
        {{"method", info.method},
         {"request_id", info.request_id},
         {"subject", Identity{info.principal}.subject()},
         {"peer", info.peer},
         {"code", code_name},
         {"ms", ms}});
    return;
  }
  int64_t suppressed = 0;
  if (!unknown_sampler.Sample(&suppressed)) return;
  Log(LogLevel::kInfo, "call",
      {{"method", kUnknownMethodLabel},
       {"path", Excerpt(info.method)},
       {"request_id", info.request_id},
       {"subject", Identity{info.principal}.subject()},
       {"peer", info.peer},
       {"code", code_name},
       {"ms", ms},
       {"suppressed_before", suppressed}});
}

}  // namespace simpul::gateway
