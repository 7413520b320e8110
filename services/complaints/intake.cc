// Intake answers.
#include "services/complaints/intake.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/excerpt.h"
#include "services/complaints/validation.h"

namespace simpul::complaints {
namespace {

namespace rv1 = ::simpul::registry::v1;

constexpr int kDefaultStringBytes = 500;
constexpr int kDefaultTextBytes = 4000;
constexpr size_t kMaxNumberBytes = 40;

std::string Field(absl::string_view code) { return absl::StrCat("attributes[", code, "]"); }

bool IsCodeChar(char ch) {
  return absl::ascii_isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-';
}

bool IsValidCode(absl::string_view code) {
  return !code.empty() && code.size() <= kMaxAnswerCodeBytes &&
         absl::ascii_isalnum(static_cast<unsigned char>(code[0])) &&
         std::all_of(code.begin(), code.end(), IsCodeChar);
}

// IsDecimal: an optional sign, digits, an optional fraction ("12", "-3.5", "0.25").
bool IsDecimal(absl::string_view s) {
  if (s.empty() || s.size() > kMaxNumberBytes) return false;
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  size_t digits = 0;
  while (i < s.size() && absl::ascii_isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  if (digits == 0) return false;
  if (i == s.size()) return true;
  if (s[i] != '.') return false;
  ++i;
  size_t fraction = 0;
  while (i < s.size() && absl::ascii_isdigit(static_cast<unsigned char>(s[i]))) ++i, ++fraction;
  return fraction > 0 && i == s.size();
}

// IsRfc3339: a full date, 'T', a time with seconds (fraction optional) and a zone ('Z' or
// +hh:mm), as RFC 3339 section 5.6 requires.
bool IsRfc3339(absl::string_view s) {
  absl::Time t;
  std::string err;
  return s.size() >= 20 && s.size() <= 40 && (s[10] == 'T' || s[10] == 't') &&
         absl::ParseTime(absl::RFC3339_full, std::string(s), &t, &err);
}

// NonEmptyValues are the answer's values that are not empty.
std::vector<std::string> NonEmptyValues(const v1::AttributeAnswer& a) {
  std::vector<std::string> out;
  for (const std::string& value : a.values()) {
    if (!value.empty()) out.push_back(value);
  }
  return out;
}

// CheckValue adds a violation when `values` (non-empty) are no answer to `q`.
void CheckValue(FieldViolations& v, const rv1::ServiceAttribute& q,
                const std::vector<std::string>& values) {
  const std::string field = Field(q.code());
  const bool multi = q.datatype() == rv1::ATTRIBUTE_DATATYPE_MULTI_VALUE_LIST;
  if (!multi && values.size() > 1) {
    v.Add(field, absl::StrCat("takes one value, got ", values.size()));
    return;
  }
  switch (q.datatype()) {
    case rv1::ATTRIBUTE_DATATYPE_UNSPECIFIED:  // informational: no answer (checked before)
    case rv1::ATTRIBUTE_DATATYPE_STRING:
    case rv1::ATTRIBUTE_DATATYPE_TEXT: {
      const bool text = q.datatype() == rv1::ATTRIBUTE_DATATYPE_TEXT;
      const size_t max = q.max_length() > 0 ? static_cast<size_t>(q.max_length())
                                            : (text ? kDefaultTextBytes : kDefaultStringBytes);
      if (values[0].size() > max) {
        v.Add(field, absl::StrCat("at most ", max, " bytes, got ", values[0].size()));
      } else if (!text && values[0].find_first_of("\r\n") != std::string::npos) {
        v.Add(field, "one line: no line breaks");
      } else {
        CheckChars(v, field, values[0], 1, max);
      }
      break;
    }
    case rv1::ATTRIBUTE_DATATYPE_NUMBER:
      if (!IsDecimal(values[0])) {
        v.Add(field, absl::StrCat("\"", Excerpt(values[0], 40),
                                  "\" is not a number (digits, an optional sign and fraction, "
                                  "e.g. 12 or -3.5)"));
      }
      break;
    case rv1::ATTRIBUTE_DATATYPE_DATETIME:
      if (!IsRfc3339(values[0])) {
        v.Add(field, absl::StrCat("\"", Excerpt(values[0], 40),
                                  "\" is not an RFC 3339 date and time, e.g. "
                                  "2026-12-01T09:30:00+07:00"));
      }
      break;
    case rv1::ATTRIBUTE_DATATYPE_SINGLE_VALUE_LIST:
    case rv1::ATTRIBUTE_DATATYPE_MULTI_VALUE_LIST: {
      if (values.size() > static_cast<size_t>(q.values_size())) {
        v.Add(field, absl::StrCat("at most ", q.values_size(), " values, got ", values.size()));
        return;
      }
      std::set<std::string> seen;
      for (const std::string& value : values) {
        const bool known =
            std::any_of(q.values().begin(), q.values().end(),
                        [&](const rv1::AttributeValue& k) { return k.key() == value; });
        if (!known) {
          std::string keys;
          for (const rv1::AttributeValue& k : q.values()) {
            absl::StrAppend(&keys, keys.empty() ? "" : ", ", k.key());
          }
          v.Add(field, absl::StrCat("\"", Excerpt(value, 40), "\" is not one of the keys ",
                                    Excerpt(keys, 200)));
          return;
        }
        if (!seen.insert(value).second) {
          v.Add(field, absl::StrCat("\"", Excerpt(value, 40), "\" is given twice"));
          return;
        }
      }
      break;
    }
    default:
      v.Add(field, "the service's question has a datatype this version does not know");
  }
}

}  // namespace

void CheckAnswerShape(FieldViolations& v, const v1::FileComplaintRequest& req) {
  if (req.attributes().empty()) return;
  if (req.service_id().empty()) {
    v.Add("attributes",
          "answers are only taken with a service_id (they answer that service's questions); a "
          "filing with target_text only has none");
    return;
  }
  if (req.attributes_size() > kMaxAnswers) {
    v.Add("attributes",
          absl::StrCat("at most ", kMaxAnswers, " answers, got ", req.attributes_size()));
    return;
  }
  std::set<std::string> codes;
  for (int i = 0; i < req.attributes_size(); ++i) {
    const v1::AttributeAnswer& a = req.attributes(i);
    if (!IsValidCode(a.code())) {
      v.Add(absl::StrCat("attributes[", i, "].code"),
            absl::StrCat("\"", Excerpt(a.code(), 40),
                         "\" is not an attribute code (1..64 characters of A-Z a-z 0-9 _ -)"));
      continue;
    }
    if (!codes.insert(a.code()).second) {
      v.Add(Field(a.code()), "answered twice; send each code once (several values in one answer)");
      continue;
    }
    if (a.values_size() > kMaxAnswerValues) {
      v.Add(Field(a.code()),
            absl::StrCat("at most ", kMaxAnswerValues, " values, got ", a.values_size()));
      continue;
    }
    for (const std::string& value : a.values()) {
      if (value.size() > kMaxAnswerValueBytes) {
        v.Add(Field(a.code()), absl::StrCat("a value has at most ", kMaxAnswerValueBytes,
                                            " bytes, got ", value.size()));
        break;
      }
    }
  }
}

absl::StatusOr<Answers> CheckAnswers(const std::vector<rv1::ServiceAttribute>& questions,
                                     const Answers& answers) {
  FieldViolations v;
  std::map<std::string, const rv1::ServiceAttribute*> by_code;
  for (const rv1::ServiceAttribute& q : questions) by_code.emplace(q.code(), &q);
  std::map<std::string, std::vector<std::string>> given;
  for (const v1::AttributeAnswer& a : answers) {
    auto q = by_code.find(a.code());
    if (q == by_code.end()) {
      std::string codes;
      for (const rv1::ServiceAttribute& known : questions) {
        if (known.variable()) absl::StrAppend(&codes, codes.empty() ? "" : ", ", known.code());
      }
      v.Add(Field(a.code()), codes.empty()
                                 ? "the service asks no questions"
                                 : absl::StrCat("the service has no such question; its codes are ",
                                                Excerpt(codes, 300)));
      continue;
    }
    std::vector<std::string> values = NonEmptyValues(a);
    if (values.empty()) continue;  // no answer; a required question is reported below
    if (!q->second->variable()) {
      v.Add(Field(a.code()), "is information for the complainant and takes no answer");
      continue;
    }
    given.emplace(a.code(), std::move(values));
  }
  // The questions in display order (order, then as listed), as the case keeps the answers.
  std::vector<const rv1::ServiceAttribute*> ordered;
  for (const rv1::ServiceAttribute& q : questions) ordered.push_back(&q);
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const rv1::ServiceAttribute* a, const rv1::ServiceAttribute* b) {
                     return a->order() < b->order();
                   });
  Answers out;
  for (const rv1::ServiceAttribute* q : ordered) {
    auto a = given.find(q->code());
    if (a == given.end()) {
      if (q->variable() && q->required()) {
        v.Add(Field(q->code()), absl::StrCat("required: ", Excerpt(q->description(), 200)));
      }
      continue;
    }
    CheckValue(v, *q, a->second);
    v1::AttributeAnswer* kept = out.Add();
    kept->set_code(q->code());
    for (std::string& value : a->second) kept->add_values(std::move(value));
  }
  SIMPUL_RETURN_IF_ERROR(v.ToStatus("FileComplaintRequest"));
  return out;
}

absl::Status ApplyAnswers(const v1::FileComplaintRequest& req,
                          const clients::registry::Route* route, v1::Complaint& c) {
  if (route == nullptr) {
    if (req.attributes().empty()) return absl::OkStatus();
    return absl::UnavailableError(
        "the registry cannot be reached to check the answers to the service's questions "
        "(attributes); retry shortly");
  }
  SIMPUL_ASSIGN_OR_RETURN(*c.mutable_attributes(),
                          CheckAnswers(route->attributes, req.attributes()));
  return absl::OkStatus();
}

}  // namespace simpul::complaints
