#include "common/status.h"

#include <memory>
#include <string>

#include "common/excerpt.h"
#include "common/grpc_status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace simpul {
namespace {

using ::simpul::testing::IsOk;
using ::simpul::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(FieldViolationsTest, EmptyIsOk) {
  FieldViolations v;
  EXPECT_TRUE(v.empty());
  EXPECT_TRUE(v.ToStatus("standard").ok());
}

TEST(FieldViolationsTest, ListsEveryViolationWithPayload) {
  FieldViolations v;
  v.Add("standard.title", "must not be empty");
  v.Add("standard.components.fee.amount_idr", "must be >= 0, got -5");
  EXPECT_FALSE(v.empty());
  absl::Status status = v.ToStatus("standard");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("invalid standard"));
  EXPECT_THAT(status.message(), HasSubstr("standard.title: must not be empty"));
  EXPECT_THAT(status.message(), HasSubstr("standard.components.fee.amount_idr: must be >= 0"));

  common::v1::BadRequest bad = BadRequestOf(status);
  ASSERT_EQ(bad.field_violations_size(), 2);
  EXPECT_EQ(bad.field_violations(0).field(), "standard.title");
  EXPECT_EQ(bad.field_violations(0).description(), "must not be empty");
  EXPECT_EQ(bad.field_violations(1).field(), "standard.components.fee.amount_idr");
}

TEST(FieldViolationsTest, InvalidFieldIsASingleViolation) {
  absl::Status status = InvalidField("page_size", "must be 0..500, got 900");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  common::v1::BadRequest bad = BadRequestOf(status);
  ASSERT_EQ(bad.field_violations_size(), 1);
  EXPECT_EQ(bad.field_violations(0).field(), "page_size");
}

TEST(FieldViolationsTest, BadRequestOfPlainStatusIsEmpty) {
  EXPECT_EQ(BadRequestOf(absl::NotFoundError("x")).field_violations_size(), 0);
  EXPECT_EQ(BadRequestOf(absl::OkStatus()).field_violations_size(), 0);
}

TEST(GrpcStatusTest, OkMapsToOk) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
}

TEST(GrpcStatusTest, EveryCodeRoundTrips) {
  for (int code = 1; code <= 16; ++code) {
    absl::Status in(static_cast<absl::StatusCode>(code), "message " + std::to_string(code));
    grpc::Status wire = ToGrpcStatus(in);
    EXPECT_EQ(static_cast<int>(wire.error_code()), code);
    EXPECT_EQ(wire.error_message(), "message " + std::to_string(code));
    absl::Status out = FromGrpcStatus(wire);
    EXPECT_EQ(out.code(), in.code());
    EXPECT_EQ(out.message(), in.message());
  }
}

TEST(GrpcStatusTest, ViolationsTravelInDetails) {
  FieldViolations v;
  v.Add("a", "bad a");
  v.Add("b.c", "bad c");
  absl::Status in = v.ToStatus("request");
  grpc::Status wire = ToGrpcStatus(in);
  EXPECT_EQ(wire.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  // The details are a google.rpc.Status-compatible ErrorStatus holding the BadRequest.
  common::v1::ErrorStatus details;
  ASSERT_TRUE(details.ParseFromString(wire.error_details()));
  EXPECT_EQ(details.code(), 3);
  EXPECT_EQ(details.message(), std::string(in.message()));
  ASSERT_EQ(details.details_size(), 1);
  EXPECT_EQ(details.details(0).type_url(), std::string(kBadRequestPayloadUrl));

  absl::Status out = FromGrpcStatus(wire);
  EXPECT_EQ(out.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(out.message(), in.message());
  common::v1::BadRequest bad = BadRequestOf(out);
  ASSERT_EQ(bad.field_violations_size(), 2);
  EXPECT_EQ(bad.field_violations(1).field(), "b.c");
  EXPECT_EQ(bad.field_violations(1).description(), "bad c");
}

TEST(GrpcStatusTest, GarbageDetailsAreIgnored) {
  grpc::Status wire(grpc::StatusCode::NOT_FOUND, "gone", "\xff\xff not a proto");
  absl::Status out = FromGrpcStatus(wire);
  EXPECT_EQ(out.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(out.message(), "gone");
  EXPECT_EQ(BadRequestOf(out).field_violations_size(), 0);
}

absl::Status Step(bool fail, int* calls) {
  ++*calls;
  return fail ? absl::AbortedError("step failed") : absl::OkStatus();
}

absl::Status TwoSteps(bool fail_first, int* calls) {
  SIMPUL_RETURN_IF_ERROR(Step(fail_first, calls));
  SIMPUL_RETURN_IF_ERROR(Step(false, calls));
  return absl::OkStatus();
}

TEST(MacrosTest, ReturnIfError) {
  int calls = 0;
  EXPECT_TRUE(TwoSteps(false, &calls).ok());
  EXPECT_EQ(calls, 2);
  calls = 0;
  EXPECT_EQ(TwoSteps(true, &calls).code(), absl::StatusCode::kAborted);
  EXPECT_EQ(calls, 1);
}

absl::StatusOr<std::unique_ptr<int>> MakeInt(int v) {
  if (v < 0) return absl::OutOfRangeError("negative");
  return std::make_unique<int>(v);
}

absl::StatusOr<int> Sum(int a, int b) {
  SIMPUL_ASSIGN_OR_RETURN(std::unique_ptr<int> x, MakeInt(a));  // move-only value
  int y = 0;
  SIMPUL_ASSIGN_OR_RETURN(auto yp, MakeInt(b));
  y = *yp;
  return *x + y;
}

TEST(MacrosTest, AssignOrReturn) {
  absl::StatusOr<int> ok = Sum(2, 3);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 5);
  EXPECT_EQ(Sum(-1, 3).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(Sum(1, -3).status().message(), "negative");
}

absl::Status AssignExisting(int v, int* out) {
  int value = 0;
  absl::StatusOr<int> result = v;
  SIMPUL_ASSIGN_OR_RETURN(value, result);
  *out = value;
  return absl::OkStatus();
}

TEST(MacrosTest, AssignOrReturnToExistingVariable) {
  int out = 0;
  ASSERT_TRUE(AssignExisting(7, &out).ok());
  EXPECT_EQ(out, 7);
}

TEST(StatusMatchersTest, MatchStatusAndStatusOr) {
  EXPECT_THAT(absl::OkStatus(), IsOk());
  EXPECT_THAT(absl::StatusOr<int>(7), IsOk());
  EXPECT_THAT(absl::NotFoundError("no unit u1"), Not(IsOk()));
  EXPECT_THAT(absl::StatusOr<int>(absl::NotFoundError("no unit u1")), Not(IsOk()));
  EXPECT_THAT(absl::NotFoundError("no unit u1"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(absl::NotFoundError("no unit u1"), Not(StatusIs(absl::StatusCode::kInvalidArgument)));
  EXPECT_THAT(absl::StatusOr<int>(absl::NotFoundError("no unit u1")),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("unit u1")));
  EXPECT_THAT(absl::NotFoundError("no unit u1"),
              Not(StatusIs(absl::StatusCode::kNotFound, HasSubstr("service"))));
  EXPECT_THAT(absl::StatusOr<int>(3), StatusIs(absl::StatusCode::kOk));
}

TEST(FieldViolationsTest, HugeOrInvalidInputIsBounded) {
  const std::string huge(1 << 20, 'q');
  FieldViolations v;
  for (int i = 0; i < 1000; ++i) v.Add(huge, "got \"" + huge + "\xff\"");
  const absl::Status status = v.ToStatus("request");
  EXPECT_LE(status.message().size(), kMaxMessageBytes + 20);
  EXPECT_TRUE(IsValidUtf8(std::string(status.message())));
  const common::v1::BadRequest bad = BadRequestOf(status);
  ASSERT_EQ(bad.field_violations_size(), FieldViolations::kMaxViolations);  // parses: valid
  EXPECT_LE(bad.field_violations(0).field().size(), FieldViolations::kMaxViolationFieldBytes + 20);
  EXPECT_LE(bad.field_violations(0).description().size(),
            FieldViolations::kMaxViolationDescriptionBytes + 20);

  FieldViolations invalid;
  invalid.Add("name", "bad \xc3\x28 byte");
  EXPECT_EQ(BadRequestOf(invalid.ToStatus("request")).field_violations(0).description(),
            "bad \xEF\xBF\xBD( byte");
}

TEST(GrpcStatusTest, MessageAndDetailsFitInTrailers) {
  FieldViolations v;
  for (int i = 0; i < 1000; ++i) v.Add("field" + std::to_string(i), std::string(2000, 'd'));
  const grpc::Status big = ToGrpcStatus(v.ToStatus("request"));
  EXPECT_LE(big.error_message().size(), kMaxMessageBytes + 20);
  EXPECT_LE(big.error_details().size(), 5000u);
  const common::v1::BadRequest back = BadRequestOf(FromGrpcStatus(big));
  EXPECT_GT(back.field_violations_size(), 0);
  EXPECT_EQ(back.field_violations(0).field(), "field0");
  const grpc::Status plain = ToGrpcStatus(absl::NotFoundError(std::string(1 << 20, 'n')));
  EXPECT_LE(plain.error_message().size(), kMaxMessageBytes + 20);
}

}  // namespace
}  // namespace simpul
