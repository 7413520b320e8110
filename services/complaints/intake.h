// Intake answers: a filing's answers to the intake questions (registry Service.attributes) of
// the service it names, checked first on their own (CheckAnswerShape, with the other fields of
// the filing) and then against the questions the route carries (CheckAnswers), before the case
// is built. Each error is INVALID_ARGUMENT naming "attributes[<code>]".
#ifndef SIMPUL_SERVICES_COMPLAINTS_INTAKE_H_
#define SIMPUL_SERVICES_COMPLAINTS_INTAKE_H_

#include <vector>

#include "absl/status/statusor.h"
#include "clients/registry/router.h"
#include "common/status.h"
#include "google/protobuf/repeated_field.h"
#include "simpul/complaints/v1/complaints.pb.h"
#include "simpul/registry/v1/registry.pb.h"

namespace simpul::complaints {

using Answers = google::protobuf::RepeatedPtrField<v1::AttributeAnswer>;

// Bounds of the answers of one filing, whatever the service asks.
inline constexpr int kMaxAnswers = 20;
inline constexpr int kMaxAnswerValues = 50;
inline constexpr size_t kMaxAnswerCodeBytes = 64;
inline constexpr size_t kMaxAnswerValueBytes = 4000;

// CheckAnswerShape adds a violation for answers a filing can never have: answers without a
// service_id (target_text only), more than kMaxAnswers, an empty, malformed or repeated code,
// more than kMaxAnswerValues values or a value longer than kMaxAnswerValueBytes.
void CheckAnswerShape(FieldViolations& v, const v1::FileComplaintRequest& req);

// CheckAnswers checks `answers` against the service's `questions` and returns them as the case
// keeps them: in the questions' order, without answers that hold no non-empty value. Every
// required variable question answered; no unknown code, no answer to an informational one;
// STRING one line and TEXT within max_length; NUMBER a decimal number; DATETIME RFC 3339;
// SINGLE_VALUE_LIST one key, MULTI_VALUE_LIST distinct keys, all among the list's values.
absl::StatusOr<Answers> CheckAnswers(
    const std::vector<::simpul::registry::v1::ServiceAttribute>& questions, const Answers& answers);

// ApplyAnswers records on `c` the answers of `req` checked against the questions of `route`
// (null: the registry could not be reached at filing). Without answers there is nothing to
// check unless the service has required questions. With answers and no route the filing is
// UNAVAILABLE: they cannot be checked now, retry.
absl::Status ApplyAnswers(const v1::FileComplaintRequest& req,
                          const clients::registry::Route* route, v1::Complaint& c);

}  // namespace simpul::complaints

#endif  // SIMPUL_SERVICES_COMPLAINTS_INTAKE_H_
