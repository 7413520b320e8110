// Tests of the JSON string escaper (common/json.h), checked against RFC 8259 and against
// protobuf's strict JSON parser.
#include "common/json.h"

#include <string>

#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace simpul {
namespace {

// Decoded parses `quoted` as a JSON string with protobuf's (RFC 8259) parser and returns its
// value, or "<invalid>" when it is not valid JSON.
std::string Decoded(const std::string& quoted) {
  google::protobuf::Value value;
  if (!google::protobuf::util::JsonStringToMessage(quoted, &value).ok() ||
      value.kind_case() != google::protobuf::Value::kStringValue) {
    return "<invalid>";
  }
  return value.string_value();
}

TEST(JsonEscapeTest, QuotesAndBackslash) {
  EXPECT_EQ(JsonEscape(""), R"("")");
  EXPECT_EQ(JsonEscape("plain text"), R"("plain text")");
  EXPECT_EQ(JsonEscape(R"(say "hi")"), R"("say \"hi\"")");
  EXPECT_EQ(JsonEscape(R"(C:\dir\)"), R"("C:\\dir\\")");
  EXPECT_EQ(JsonEscape(R"(\")"), R"("\\\"")");
  EXPECT_EQ(JsonEscape("/"), R"("/")");  // the solidus needs no escape
}

TEST(JsonEscapeTest, ShortFormControlCharacters) {
  EXPECT_EQ(JsonEscape("\b\f\n\r\t"), R"("\b\f\n\r\t")");
}

TEST(JsonEscapeTest, OtherControlCharactersAsUnicodeEscapes) {
  EXPECT_EQ(JsonEscape(std::string("\0", 1)), R"("\u0000")");
  EXPECT_EQ(JsonEscape("\x01"), R"("\u0001")");
  EXPECT_EQ(JsonEscape("\x0b"), R"("\u000b")");
  EXPECT_EQ(JsonEscape("\x1b[31m"), R"("\u001b[31m")");
  EXPECT_EQ(JsonEscape("\x1f"), R"("\u001f")");
  EXPECT_EQ(JsonEscape("\x7f"), R"("\u007f")");
  EXPECT_EQ(JsonEscape(" ~"), R"(" ~")");  // the printable range's ends are kept
}

TEST(JsonEscapeTest, Utf8KeptInvalidBytesReplaced) {
  EXPECT_EQ(JsonEscape("Jakarta – Makassar"), "\"Jakarta – Makassar\"");
  EXPECT_EQ(JsonEscape("\xf0\x9f\x93\x9d"), "\"\xf0\x9f\x93\x9d\"");  // 4 bytes
  EXPECT_EQ(JsonEscape("bad \xff byte"), R"("bad \ufffd byte")");
  EXPECT_EQ(JsonEscape("cut \xe2\x80"), R"("cut \ufffd\ufffd")");
  EXPECT_EQ(JsonEscape("\xc0\xaf"), R"("\ufffd\ufffd")");            // overlong '/'
  EXPECT_EQ(JsonEscape("\xed\xa0\x80"), R"("\ufffd\ufffd\ufffd")");  // a surrogate
}

TEST(JsonEscapeTest, EveryByteRoundTripsThroughAStrictParser) {
  std::string all;
  for (int c = 1; c < 0x80; ++c) all.push_back(static_cast<char>(c));
  all += "\xc3\xa9";  // é
  EXPECT_EQ(Decoded(JsonEscape(all)), all);
  EXPECT_EQ(Decoded(JsonEscape(std::string("a\0b", 3))), std::string("a\0b", 3));
}

TEST(JsonEscapeTest, AppendAddsToTheEnd) {
  std::string out = "{\"k\":";
  AppendJsonEscaped(&out, "v\"");
  out += "}";
  EXPECT_EQ(out, R"({"k":"v\""})");
}

}  // namespace
}  // namespace simpul
