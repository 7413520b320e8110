#include "common/excerpt.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace simpul {
namespace {

using ::testing::EndsWith;
using ::testing::StartsWith;

TEST(ExcerptTest, ShortPrintableTextIsKept) {
  EXPECT_EQ(Excerpt("SBY-2024-000123"), "SBY-2024-000123");
  EXPECT_EQ(Excerpt("Jalan Gubeng \xE2\x80\x94 Surabaya"), "Jalan Gubeng \xE2\x80\x94 Surabaya");
  EXPECT_EQ(Excerpt(""), "");
}

TEST(ExcerptTest, ControlCharactersAndBackslashAreEscaped) {
  EXPECT_EQ(Excerpt(std::string("a\nb\r\tc\\d\x01\x7f", 10)), "a\\nb\\r\\tc\\\\d\\x01\\x7f");
}

TEST(ExcerptTest, InvalidUtf8BecomesReplacementCharacters) {
  const std::string out = Excerpt("ok\xff\xc3(\xed\xa0\x80");
  EXPECT_TRUE(IsValidUtf8(out));
  EXPECT_EQ(out, "ok\xEF\xBF\xBD\xEF\xBF\xBD(\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(ExcerptTest, LongTextIsCutAtACharacterBoundaryWithItsSize) {
  const std::string big(1 << 20, 'x');
  const std::string out = Excerpt(big);
  EXPECT_THAT(out, StartsWith(std::string(64, 'x')));
  EXPECT_THAT(out, EndsWith("\xE2\x80\xA6(1048576 bytes)"));
  EXPECT_LE(out.size(), 64u + 20u);

  std::string euros;
  for (int i = 0; i < 30; ++i) euros += "\xE2\x82\xAC";  // 3 bytes each
  const std::string cut = Excerpt(euros, 10);
  EXPECT_TRUE(IsValidUtf8(cut));
  EXPECT_THAT(cut, StartsWith("\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC\xE2\x80\xA6(90 bytes)"));

  std::string garbage(1 << 20, '\xff');
  const std::string bad = Excerpt(garbage, 16);
  EXPECT_TRUE(IsValidUtf8(bad));
  EXPECT_LE(bad.size(), 16u + 20u);
}

TEST(ExcerptTest, Utf8PrefixNeverSplitsACharacter) {
  EXPECT_EQ(Utf8Prefix("ab\xE2\x82\xAC", 4), "ab");
  EXPECT_EQ(Utf8Prefix("ab\xE2\x82\xAC", 5), "ab\xE2\x82\xAC");
  EXPECT_EQ(Utf8Prefix("abc", 0), "");
  EXPECT_TRUE(IsValidUtf8("\xF0\x9F\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));  // overlong
}

TEST(BoundedTextTest, KeepsShortTextAndCutsLongOrInvalidText) {
  EXPECT_EQ(BoundedText("line one\nline \"two\""), "line one\nline \"two\"");
  EXPECT_EQ(BoundedText("a\xff"), "a\xEF\xBF\xBD");
  const std::string cut = BoundedText(std::string(5000, 'y') + "\xff", 100);
  EXPECT_EQ(cut, std::string(100, 'y') + "\xE2\x80\xA6(5001 bytes)");
  EXPECT_EQ(BoundedText(std::string(2000, 'z')).size(), kMaxMessageBytes + 15);
}

}  // namespace
}  // namespace simpul
