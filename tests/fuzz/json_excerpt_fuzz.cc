// Fuzz target: JSON string escaping and excerpts of caller input (common/json.h,
// common/excerpt.h), which every error message, log line and audit record goes through.
// Invariants: JsonEscape's output is a quoted JSON string that a JSON parser always accepts,
// reads back as the input when the input is valid UTF-8, and holds no raw control character;
// Excerpt and BoundedText are valid UTF-8 within their documented bounds and keep a short valid
// input whole; Utf8Prefix is a prefix within the bound, valid when the input is.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/excerpt.h"
#include "common/json.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t max_bytes = size == 0 ? 0 : data[0] % 80;

  const std::string escaped = simpul::JsonEscape(in);
  for (unsigned char c : escaped) FUZZ_CHECK(c >= 0x20);
  const bool valid = simpul::IsValidUtf8(in);
  google::protobuf::Value value;
  FUZZ_CHECK(google::protobuf::util::JsonStringToMessage(escaped, &value).ok());
  FUZZ_CHECK(value.kind_case() == google::protobuf::Value::kStringValue);
  if (valid) FUZZ_CHECK(value.string_value() == in);

  const std::string excerpt = simpul::Excerpt(in, max_bytes);
  FUZZ_CHECK(simpul::IsValidUtf8(excerpt));
  FUZZ_CHECK(excerpt.size() <= max_bytes + 20);
  for (unsigned char c : excerpt) FUZZ_CHECK(c >= 0x20 && c != 0x7f);

  const std::string bounded = simpul::BoundedText(in, max_bytes);
  FUZZ_CHECK(simpul::IsValidUtf8(bounded));
  FUZZ_CHECK(bounded.size() <= max_bytes + 20);
  if (valid && in.size() <= max_bytes) FUZZ_CHECK(bounded == in);

  const std::string_view prefix = simpul::Utf8Prefix(in, max_bytes);
  FUZZ_CHECK(prefix.size() <= max_bytes);
  FUZZ_CHECK(in.substr(0, prefix.size()) == prefix);
  if (valid) FUZZ_CHECK(simpul::IsValidUtf8(prefix));
  return 0;
}
