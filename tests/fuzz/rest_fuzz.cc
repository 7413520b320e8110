// Fuzz target: the REST front's request mapping (gateway/rest/route_table.h Match,
// gateway/rest/transcode.h BuildRequest, gateway/rest/field_path.h) over the routes of the four
// services, as the HTTP session runs it. The input is "<METHOD> <target>\n<JSON body>", the
// target being the path and the optional "?query".
// Invariants: a found route has the request's method and one binding per path variable; a
// 405 lists other methods only; a built request is valid for the backend (its serialization
// parses back as the same message: every string valid UTF-8) and renders as JSON that parses
// back to it; a refused one is INVALID_ARGUMENT with field violations whose fields and
// descriptions are bounded, valid UTF-8.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/status.h"
#include "gateway/rest/route_table.h"
#include "gateway/rest/transcode.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/json_util.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using simpul::gateway::RouteMatch;
using simpul::gateway::RouteTable;

// Same compares two messages by their deterministic serialization (a NaN double equals
// itself, which MessageDifferencer would not say).
bool Same(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  std::string x, y;
  {
    google::protobuf::io::StringOutputStream out(&x);
    google::protobuf::io::CodedOutputStream coded(&out);
    coded.SetSerializationDeterministic(true);
    a.SerializeToCodedStream(&coded);
  }
  {
    google::protobuf::io::StringOutputStream out(&y);
    google::protobuf::io::CodedOutputStream coded(&out);
    coded.SetSerializationDeterministic(true);
    b.SerializeToCodedStream(&coded);
  }
  return x == y;
}

const RouteTable& Table() {
  static const RouteTable* const table = [] {
    absl::StatusOr<RouteTable> t = RouteTable::FromServices(
        {"simpul.registry.v1.Registry", "simpul.complaints.v1.Complaints",
         "simpul.monitoring.v1.Monitoring", "simpul.gateway.v1.GatewayAdmin"});
    FUZZ_CHECK(t.ok());
    return new RouteTable(*std::move(t));
  }();
  return *table;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t nl = in.find('\n');
  const std::string_view line = in.substr(0, nl);
  const std::string_view body = nl == std::string_view::npos ? "" : in.substr(nl + 1);
  const size_t sp = line.find(' ');
  if (sp == std::string_view::npos) return 0;
  const std::string_view method = line.substr(0, sp);
  const std::string_view target = line.substr(sp + 1);
  const size_t q = target.find('?');
  const std::string_view path = target.substr(0, q);
  const std::string_view query = q == std::string_view::npos ? "" : target.substr(q + 1);

  const RouteMatch match = Table().Match(method, path);
  if (match.kind == RouteMatch::Kind::kMethodNotAllowed) {
    FUZZ_CHECK(!match.allowed.empty());
    for (const std::string& m : match.allowed) FUZZ_CHECK(m != method);
    return 0;
  }
  if (match.kind != RouteMatch::Kind::kFound) return 0;
  FUZZ_CHECK(match.route != nullptr);
  FUZZ_CHECK(match.route->http_method == method);
  size_t variables = 0;
  for (const auto& segment : match.route->segments) variables += segment.variable ? 1 : 0;
  FUZZ_CHECK(match.bindings.size() == variables);

  const google::protobuf::Message* prototype =
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(
          match.route->method->input_type());
  std::unique_ptr<google::protobuf::Message> request(prototype->New());
  const absl::Status built = simpul::gateway::BuildRequest(match, query, body, request.get());
  if (!built.ok()) {
    simpul::fuzz::CheckCallerError(built);
    FUZZ_CHECK(built.code() == absl::StatusCode::kInvalidArgument);
    const simpul::common::v1::BadRequest bad = simpul::BadRequestOf(built);
    FUZZ_CHECK(bad.field_violations_size() > 0);
    for (const auto& v : bad.field_violations()) {
      FUZZ_CHECK(simpul::IsValidUtf8(v.field()) && simpul::IsValidUtf8(v.description()));
      FUZZ_CHECK(v.description().size() <= simpul::fuzz::kMaxErrorMessageBytes);
    }
    return 0;
  }
  // What the backend receives.
  std::unique_ptr<google::protobuf::Message> received(prototype->New());
  FUZZ_CHECK(received->ParseFromString(request->SerializeAsString()));
  FUZZ_CHECK(Same(*received, *request));
  // What the REST front would render of it.
  std::unique_ptr<google::protobuf::Message> rendered(prototype->New());
  FUZZ_CHECK(google::protobuf::util::JsonStringToMessage(simpul::gateway::MessageJson(*request),
                                                         rendered.get())
                 .ok());
  FUZZ_CHECK(Same(*rendered, *request));
  return 0;
}
