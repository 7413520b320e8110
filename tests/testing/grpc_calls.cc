#include "tests/testing/grpc_calls.h"

#include "absl/time/clock.h"
#include "common/grpc_status.h"
#include "common/status.h"

namespace simpul::testing {

std::vector<std::string> FieldViolations(const grpc::Status& status) {
  std::vector<std::string> fields;
  const common::v1::BadRequest bad = BadRequestOf(FromGrpcStatus(status));
  for (const auto& v : bad.field_violations()) {
    fields.push_back(v.field());
  }
  return fields;
}

bool PollUntil(const std::function<bool()>& done, absl::Duration timeout, absl::Duration every) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    if (done()) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(every);
  }
}

}  // namespace simpul::testing
