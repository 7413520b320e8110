// Status helpers: early-return macros, field-violation errors and the mapping between
// absl::Status (used inside every service) and grpc::Status (used only at the gRPC edge).
#ifndef SIMPUL_COMMON_STATUS_H_
#define SIMPUL_COMMON_STATUS_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "simpul/common/v1/common.pb.h"

namespace simpul {

// Payload URL under which a serialized simpul.common.v1.BadRequest rides on an absl::Status.
inline constexpr std::string_view kBadRequestPayloadUrl =
    "type.googleapis.com/simpul.common.v1.BadRequest";

// FieldViolations collects every problem of one request before failing it, so the caller
// learns about all bad fields at once. Bounded whatever a caller sends: at most
// kMaxViolations violations are kept (the rest are counted), each field and description is
// cut to valid UTF-8 of a bounded size (common/excerpt.h BoundedText), and so is the message.
class FieldViolations {
 public:
  static constexpr int kMaxViolations = 100;
  static constexpr size_t kMaxViolationFieldBytes = 128;
  static constexpr size_t kMaxViolationDescriptionBytes = 512;

  void Add(std::string field, std::string description);
  // AddFrom adds the field violations carried by `status` (see BadRequestOf); it returns
  // false when `status` is not OK but carries none (an error of another kind).
  bool AddFrom(const absl::Status& status);
  bool empty() const { return violations_.field_violations().empty(); }
  const common::v1::BadRequest& proto() const { return violations_; }
  // ToStatus returns OK when there are no violations, else INVALID_ARGUMENT whose message
  // lists every "field: description" and whose payload carries the BadRequest.
  absl::Status ToStatus(std::string_view what) const;

 private:
  common::v1::BadRequest violations_;
  int omitted_ = 0;  // violations beyond kMaxViolations
};

// InvalidField is a shortcut for a single field violation.
absl::Status InvalidField(std::string field, std::string description);

// BadRequestOf returns the field violations attached to `status`, if any.
common::v1::BadRequest BadRequestOf(const absl::Status& status);

}  // namespace simpul

#define SIMPUL_STATUS_CONCAT_INNER_(a, b) a##b
#define SIMPUL_STATUS_CONCAT_(a, b) SIMPUL_STATUS_CONCAT_INNER_(a, b)

// SIMPUL_RETURN_IF_ERROR(expr) returns the status of `expr` from the enclosing function if not OK.
#define SIMPUL_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::absl::Status simpul_status_ = (expr);          \
    if (!simpul_status_.ok()) return simpul_status_; \
  } while (0)

// SIMPUL_ASSIGN_OR_RETURN(lhs, expr) evaluates a StatusOr expression, returns its status if not OK,
// else assigns (or declares) lhs from its value.
#define SIMPUL_ASSIGN_OR_RETURN(lhs, expr) \
  SIMPUL_ASSIGN_OR_RETURN_IMPL_(SIMPUL_STATUS_CONCAT_(simpul_statusor_, __LINE__), lhs, expr)
#define SIMPUL_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                  \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#endif  // SIMPUL_COMMON_STATUS_H_
