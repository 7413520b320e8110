#include "services/registry/store.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"

namespace simpul::registry {

std::vector<std::string> RegionPrefixes(std::string_view region_code) {
  std::vector<std::string> out;
  if (region_code.empty()) return out;
  size_t pos = 0;
  while (true) {
    size_t dot = region_code.find('.', pos);
    if (dot == std::string_view::npos) {
      out.emplace_back(region_code);
      return out;
    }
    out.emplace_back(region_code.substr(0, dot));
    pos = dot + 1;
  }
}

namespace {

void AddTokens(std::string_view text, std::set<std::string>* tokens) {
  std::string word;
  auto flush = [&] {
    if (word.size() >= 2) tokens->insert(word);
    word.clear();
  };
  for (char c : text) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c))) {
      word.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
    } else if (static_cast<unsigned char>(c) >= 0x80) {
      word.push_back(c);  // keep non-ASCII letters (UTF-8 bytes) inside a word
    } else {
      flush();
    }
  }
  flush();
}

}  // namespace

std::vector<std::string> KeywordTokens(const v1::StandardVersion& version) {
  std::set<std::string> tokens;
  AddTokens(version.service_name(), &tokens);
  const auto& c = version.components();
  for (const auto& r : c.requirements()) AddTokens(r.description(), &tokens);
  for (const auto& s : c.procedure()) AddTokens(s, &tokens);
  AddTokens(c.fee().legal_basis(), &tokens);
  AddTokens(c.fee().note(), &tokens);
  for (const auto& p : c.products()) AddTokens(p, &tokens);
  for (const auto& ch : c.complaint_handling().channels()) AddTokens(ch, &tokens);
  AddTokens(c.complaint_handling().procedure(), &tokens);
  return {tokens.begin(), tokens.end()};
}

std::vector<std::string> TokenizeQuery(std::string_view text) {
  std::set<std::string> tokens;
  AddTokens(text, &tokens);
  return {tokens.begin(), tokens.end()};
}

int64_t DayNumber(const simpul::common::v1::Date& date) {
  absl::CivilDay day(date.year(), date.month(), date.day());
  return day - absl::CivilDay(1970, 1, 1);
}

}  // namespace simpul::registry
