// Calls of end-to-end tests: one unary call as a Caller, one that must succeed, the field
// violations of an error, and polling until a condition holds.
#ifndef SIMPUL_TESTS_TESTING_GRPC_CALLS_H_
#define SIMPUL_TESTS_TESTING_GRPC_CALLS_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/testing/identity_tokens.h"

namespace simpul::testing {

// UnaryMethod is a blocking unary method of a generated stub, e.g. &Registry::Stub::GetAgency.
template <typename Stub, typename Req, typename Resp>
using UnaryMethod = grpc::Status (Stub::*)(grpc::ClientContext*, const Req&, Resp*);

// CallAs makes one call on `stub` as `who` (10 s deadline) into a cleared `resp`.
template <typename Stub, typename Req, typename Resp>
grpc::Status CallAs(Stub* stub, UnaryMethod<Stub, Req, Resp> method, const Caller& who,
                    const Req& req, Resp* resp) {
  auto ctx = CallContext(who);
  resp->Clear();
  return (stub->*method)(ctx.get(), req, resp);
}

// MustCall makes a call that has to succeed (a non-fatal failure otherwise) and returns its
// response.
template <typename Stub, typename Req, typename Resp>
Resp MustCall(Stub* stub, UnaryMethod<Stub, Req, Resp> method, const Caller& who, const Req& req) {
  Resp resp;
  grpc::Status s = CallAs(stub, method, who, req, &resp);
  EXPECT_TRUE(s.ok()) << Req::descriptor()->name() << " as " << who.tag << ": " << s.error_code()
                      << " " << s.error_message();
  return resp;
}

// FieldViolations lists the field of each violation a status carries (BadRequest details).
std::vector<std::string> FieldViolations(const grpc::Status& status);

// PollUntil re-evaluates `done` every `every` until it holds or `timeout` passes.
bool PollUntil(const std::function<bool()>& done, absl::Duration timeout,
               absl::Duration every = absl::Milliseconds(50));

}  // namespace simpul::testing

#endif  // SIMPUL_TESTS_TESTING_GRPC_CALLS_H_
