// Errors of the REST front (gateway/rest/errors.h).
#include "gateway/rest/errors.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/absl_compat.h"
#include "common/excerpt.h"
#include "common/json.h"
#include "common/status.h"

namespace simpul::gateway {

int ErrorHttpStatus(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kCancelled:
      return 499;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kDataLoss:
    default:
      return 500;
  }
}

std::string ErrorJson(const absl::Status& status, int http_status, std::string_view request_id) {
  // Bounded whatever the status holds: a message or violation may quote caller input, and a
  // backend's status passes through unchanged.
  static constexpr int kMaxViolations = 20;
  static constexpr size_t kMaxFieldBytes = 200;
  static constexpr size_t kMaxDescriptionBytes = 512;
  std::string out =
      absl::StrCat("{\"code\":", http_status,
                   ",\"status\":", JsonEscape(StdView(absl::StatusCodeToString(status.code()))),
                   ",\"message\":", JsonEscape(BoundedText(StdView(status.message()))));
  const common::v1::BadRequest bad = BadRequestOf(status);
  if (bad.field_violations_size() > 0) {
    std::vector<std::string> items;
    for (const auto& v : bad.field_violations()) {
      if (static_cast<int>(items.size()) == kMaxViolations) {
        items.push_back(
            absl::StrCat("{\"field\":\"\",\"description\":",
                         JsonEscape(absl::StrCat(bad.field_violations_size() - kMaxViolations,
                                                 " more violations not shown")),
                         "}"));
        break;
      }
      items.push_back(absl::StrCat(
          "{\"field\":", JsonEscape(BoundedText(v.field(), kMaxFieldBytes)), ",\"description\":",
          JsonEscape(BoundedText(v.description(), kMaxDescriptionBytes)), "}"));
    }
    absl::StrAppend(&out, ",\"field_violations\":[", absl::StrJoin(items, ","), "]");
  }
  absl::StrAppend(&out, ",\"request_id\":", JsonEscape(BoundedText(request_id, 128)), "}");
  return out;
}

}  // namespace simpul::gateway
