// Fuzz target: Open311 form decoding (gateway/open311.h FormFields) and the mapping of a
// POST requests.json form onto a FileComplaintRequest (Open311FileRequest), as the Open311
// front runs them on a request body.
// Invariants: a malformed form is INVALID_ARGUMENT with a bounded, valid UTF-8 message; a
// decoded form re-encoded (every byte escaped) decodes to the same fields; a refused filing is
// INVALID_ARGUMENT whose Open311 error body is a JSON array; an accepted one carries the form's
// service_code and description (whitespace-trimmed), a location within -90..90 / -180..180 when
// lat/long were given, and an idempotency key; the same form always maps to the same key.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "gateway/open311.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

std::string Encode(const std::map<std::string, std::string>& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    if (!out.empty()) out.push_back('&');
    out += simpul::fuzz::PercentEncodeAll(k) + "=" + simpul::fuzz::PercentEncodeAll(v);
  }
  return out;
}

// FieldOr is a form field as Open311FileRequest reads it: surrounding ASCII whitespace
// stripped, "" when absent.
std::string FieldOr(const std::map<std::string, std::string>& fields, const std::string& name) {
  auto it = fields.find(name);
  return it == fields.end() ? "" : std::string(absl::StripAsciiWhitespace(it->second));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using simpul::complaints::v1::FileComplaintRequest;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<std::map<std::string, std::string>> fields = simpul::gateway::FormFields(in);
  if (!fields.ok()) {
    simpul::fuzz::CheckCallerError(fields.status());
    FUZZ_CHECK(fields.status().code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  absl::StatusOr<std::map<std::string, std::string>> again =
      simpul::gateway::FormFields(Encode(*fields));
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == *fields);

  absl::StatusOr<FileComplaintRequest> req =
      simpul::gateway::Open311FileRequest(*fields, simpul::complaints::v1::CHANNEL_PARTNER_SYSTEM);
  if (!req.ok()) {
    simpul::fuzz::CheckCallerError(req.status());
    FUZZ_CHECK(req.status().code() == absl::StatusCode::kInvalidArgument);
    google::protobuf::ListValue body;
    FUZZ_CHECK(google::protobuf::util::JsonStringToMessage(
                   simpul::gateway::Open311ErrorOf(req.status(), 400)
                       .Render(simpul::gateway::Open311Format::kJson),
                   &body)
                   .ok());
    FUZZ_CHECK(body.values_size() >= 1);
    return 0;
  }
  FUZZ_CHECK(req->service_id() == FieldOr(*fields, "service_code"));
  FUZZ_CHECK(!req->service_id().empty());
  FUZZ_CHECK(req->description() == FieldOr(*fields, "description"));
  if (!FieldOr(*fields, "lat").empty() || !FieldOr(*fields, "long").empty()) {
    FUZZ_CHECK(req->location().latitude() >= -90 && req->location().latitude() <= 90);
    FUZZ_CHECK(req->location().longitude() >= -180 && req->location().longitude() <= 180);
  }
  FUZZ_CHECK(!req->idempotency_key().empty());
  absl::StatusOr<FileComplaintRequest> same =
      simpul::gateway::Open311FileRequest(*again, simpul::complaints::v1::CHANNEL_PARTNER_SYSTEM);
  FUZZ_CHECK(same.ok());
  FUZZ_CHECK(same->idempotency_key() == req->idempotency_key());
  return 0;
}
