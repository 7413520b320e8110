#include "common/messages.h"

#include <set>
#include <string>

#include "common/field_rules.h"
#include "common/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace simpul {
namespace {

using ::simpul::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Optional;

std::multiset<std::string> Placeholders(std::string_view text) {
  std::multiset<std::string> out;
  for (size_t i = 0; i + 2 < text.size(); ++i) {
    if (text[i] == '{' && text[i + 2] == '}' && text[i + 1] >= '0' && text[i + 1] <= '9') {
      out.insert(std::string(text.substr(i, 3)));
    }
  }
  return out;
}

TEST(MessagesTest, EveryEntryHasAUniqueKeyAndTheSameArgumentsInBothLanguages) {
  std::set<std::string> keys;
  std::set<std::string> english;
  for (const Message& m : Catalogue()) {
    SCOPED_TRACE(std::string(m.key));
    EXPECT_TRUE(keys.insert(std::string(m.key)).second) << "duplicate key";
    EXPECT_TRUE(english.insert(std::string(m.en)).second) << "duplicate English template";
    EXPECT_FALSE(m.id.empty());
    EXPECT_NE(m.en, m.id) << "not translated";
    EXPECT_EQ(Placeholders(m.en), Placeholders(m.id));
    // The matcher needs a literal between two arguments.
    EXPECT_EQ(std::string(m.en).find("}{"), std::string::npos);
  }
}

TEST(MessagesTest, TextRendersEitherLanguage) {
  EXPECT_EQ(Text("field.max_chars_got", Lang::kEnglish, {"200", "250"}),
            "at most 200 characters, got 250");
  EXPECT_EQ(Text("field.max_chars_got", Lang::kIndonesian, {"200", "250"}),
            "maksimal 200 karakter, diterima 250");
  EXPECT_EQ(Text("no.such.key", Lang::kIndonesian), "no.such.key");
}

TEST(MessagesTest, TranslatePicksTheTemplateWithTheMostFixedText) {
  // "at most {0}, got {1}" fits too; the more specific template wins.
  EXPECT_THAT(Translate("at most 4000 characters, got 4100", Lang::kIndonesian),
              Optional(std::string("maksimal 4000 karakter, diterima 4100")));
  EXPECT_THAT(Translate("at most 10, got 11", Lang::kIndonesian),
              Optional(std::string("maksimal 10, diterima 11")));
  EXPECT_THAT(
      Translate("no complaint with tracking code 7KQ2MXW9DT and this secret", Lang::kIndonesian),
      Optional(
          std::string("tidak ada pengaduan dengan kode pelacakan 7KQ2MXW9DT dan rahasia ini")));
  // Arguments may be reordered and a catalogue text inside an argument is translated too.
  EXPECT_THAT(
      Translate("this channel's key is not bound to unit u-1 of agency a-1; filing complaints "
                "there needs a key whose scope names that agency or unit",
                Lang::kIndonesian),
      Optional(HasSubstr("unit u-1 dari instansi a-1; pengajuan pengaduan di sana")));
  EXPECT_EQ(Translate("something no template says", Lang::kIndonesian), std::nullopt);
  EXPECT_EQ(Localize("something no template says", Lang::kIndonesian),
            "something no template says");
  EXPECT_EQ(Localize("required", Lang::kEnglish), "required");
}

TEST(MessagesTest, TheSharedFieldRulesAreAllInTheCatalogue) {
  FieldViolations v;
  CheckText(v, "a", "", 1, 10);
  CheckText(v, "b", "far too long for this", 0, 5);
  CheckText(v, "c", "bell\a", 0, 50);
  CheckSlug(v, "d", "Not A Slug");
  common::v1::Date bad_date;
  bad_date.set_year(2026);
  bad_date.set_month(2);
  bad_date.set_day(30);
  CheckDate(v, "e", bad_date, true, nullptr);
  common::v1::Date future;
  future.set_year(2030);
  future.set_month(1);
  future.set_day(1);
  const absl::CivilDay today(2026, 12, 7);
  CheckDate(v, "f", future, true, &today);
  ValidatePageSize(v, "g", 900);
  ASSERT_EQ(v.proto().field_violations_size(), 7);
  for (const auto& violation : v.proto().field_violations()) {
    SCOPED_TRACE(violation.description());
    EXPECT_TRUE(Translate(violation.description(), Lang::kIndonesian).has_value());
  }
}

TEST(MessagesTest, LocalizeStatusTranslatesMessageAndViolationsAndKeepsTheRest) {
  FieldViolations v;
  v.Add("description", "required");
  v.Add("complainant.phone", "needs at least 5 digits");
  absl::Status status = v.ToStatus("FileComplaintRequest");
  status.SetPayload("type.example/retry", absl::Cord("7"));

  const absl::Status id = LocalizeStatus(status, Lang::kIndonesian);
  EXPECT_THAT(id, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(id.message(),
            "pengaduan tidak valid: description: wajib diisi; complainant.phone: minimal berisi 5 "
            "angka");
  const common::v1::BadRequest bad = BadRequestOf(id);
  ASSERT_EQ(bad.field_violations_size(), 2);
  EXPECT_EQ(bad.field_violations(0).field(), "description");
  EXPECT_EQ(bad.field_violations(0).description(), "wajib diisi");
  EXPECT_EQ(bad.field_violations(1).description(), "minimal berisi 5 angka");
  EXPECT_EQ(id.GetPayload("type.example/retry").value(), absl::Cord("7"));

  EXPECT_EQ(LocalizeStatus(status, Lang::kEnglish), status);
  const absl::Status other = LocalizeStatus(
      absl::NotFoundError("no complaint with tracking code 7KQ2MXW9DT"), Lang::kIndonesian);
  EXPECT_THAT(other, StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(other.message(), "tidak ada pengaduan dengan kode pelacakan 7KQ2MXW9DT");
}

TEST(MessagesTest, LocalizeStatusCountsTheViolationsLeftOut) {
  FieldViolations v;
  for (int i = 0; i < FieldViolations::kMaxViolations + 3; ++i) {
    v.Add(absl::StrCat("f", i), "required");
  }
  const absl::Status id = LocalizeStatus(v.ToStatus("request"), Lang::kIndonesian);
  // The message is bounded (1 KB and the cut marker) as the English one is; nothing of it stays in
  // English.
  EXPECT_THAT(std::string(id.message()), HasSubstr("permintaan tidak valid: f0: wajib diisi"));
  EXPECT_THAT(std::string(id.message()), ::testing::Not(HasSubstr("required")));
  EXPECT_LE(id.message().size(), 1024u + 20);
  EXPECT_EQ(BadRequestOf(id).field_violations_size(), FieldViolations::kMaxViolations);
}

TEST(MessagesTest, AcceptLanguagePicksTheSupportedLanguageWithTheHighestQuality) {
  EXPECT_EQ(PreferredLang("en-US,en;q=0.9,id;q=0.8"), Lang::kEnglish);
  EXPECT_EQ(PreferredLang("id-ID,id;q=0.9,en-US;q=0.8,en;q=0.7"), Lang::kIndonesian);
  EXPECT_EQ(PreferredLang("fr-FR, en;q=0.5"), Lang::kEnglish);
  EXPECT_EQ(PreferredLang("en;q=0, id"), Lang::kIndonesian);
  EXPECT_EQ(PreferredLang("in"), Lang::kIndonesian);  // the old code of Indonesian
  EXPECT_EQ(PreferredLang("fr, de;q=0.5"), std::nullopt);
  EXPECT_EQ(PreferredLang("*"), std::nullopt);
  EXPECT_EQ(PreferredLang(""), std::nullopt);
  EXPECT_EQ(PreferredLang("en;q=banana"), std::nullopt);
}

TEST(MessagesTest, LangParamIsIdOrEnAndNothingElse) {
  EXPECT_EQ(ParseLangParam("id").value(), Lang::kIndonesian);
  EXPECT_EQ(ParseLangParam("EN").value(), Lang::kEnglish);
  EXPECT_EQ(ParseLangParam("en-GB").value(), Lang::kEnglish);
  const absl::StatusOr<Lang> bad = ParseLangParam("fr");
  EXPECT_THAT(bad.status(), StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_EQ(BadRequestOf(bad.status()).field_violations_size(), 1);
  EXPECT_EQ(BadRequestOf(bad.status()).field_violations(0).field(), "lang");
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("got \"fr\""));
}

}  // namespace
}  // namespace simpul
