// GoogleTest matchers for absl::Status and absl::StatusOr<T> (Debian's Abseil 20220623 ships no
// absl_testing). Use as
//   EXPECT_THAT(store.Put(x), IsOk());
//   EXPECT_THAT(desk.File(req), StatusIs(absl::StatusCode::kInvalidArgument));
//   EXPECT_THAT(desk.File(req), StatusIs(absl::StatusCode::kNotFound, HasSubstr("unit")));
#ifndef SIMPUL_TESTS_TESTING_STATUS_MATCHERS_H_
#define SIMPUL_TESTS_TESTING_STATUS_MATCHERS_H_

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"

namespace simpul::testing {

namespace internal {

inline const absl::Status& GetStatus(const absl::Status& status) { return status; }

template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

}  // namespace internal

// IsOk() matches an OK absl::Status or an absl::StatusOr<T> holding a value.
MATCHER(IsOk, negation ? "is not OK" : "is OK") {
  const absl::Status& status = internal::GetStatus(arg);
  if (!status.ok()) *result_listener << "status is " << status;
  return status.ok();
}

// StatusIs(code) matches a status (or StatusOr) with that code.
MATCHER_P(StatusIs, code,
          std::string(negation ? "has a code other than " : "has code ") +
              absl::StatusCodeToString(code)) {
  const absl::Status& status = internal::GetStatus(arg);
  *result_listener << "status is " << status;
  return status.code() == code;
}

// StatusIs(code, message_matcher) matches the code and the message, e.g. HasSubstr("unit_id").
MATCHER_P2(StatusIs, code, message_matcher,
           std::string(negation ? "does not have code " : "has code ") +
               absl::StatusCodeToString(code) + " and a message that " +
               ::testing::DescribeMatcher<std::string>(message_matcher, negation)) {
  const absl::Status& status = internal::GetStatus(arg);
  *result_listener << "status is " << status;
  return status.code() == code &&
         ::testing::Matches(message_matcher)(std::string(status.message()));
}

}  // namespace simpul::testing

#endif  // SIMPUL_TESTS_TESTING_STATUS_MATCHERS_H_
