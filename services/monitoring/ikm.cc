#include "services/monitoring/ikm.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "boost/multiprecision/cpp_int.hpp"

namespace simpul::monitoring {
namespace {

using boost::multiprecision::cpp_int;
using boost::multiprecision::cpp_rational;

constexpr std::array<std::string_view, kElementCount> kElementTitles = {
    "persyaratan",                              // U1 requirements
    "sistem, mekanisme, dan prosedur",          // U2 procedure
    "waktu penyelesaian",                       // U3 completion time
    "biaya/tarif",                              // U4 fee
    "produk spesifikasi jenis pelayanan",       // U5 product specification
    "kompetensi pelaksana",                     // U6 staff competence
    "perilaku pelaksana",                       // U7 staff behaviour
    "sarana dan prasarana",                     // U8 facilities
    "penanganan pengaduan, saran dan masukan",  // U9 complaint handling
};

cpp_rational ToRational(Ratio r) { return cpp_rational(cpp_int(r.num), cpp_int(r.den)); }

absl::Status CheckRatio(const Ratio& r, const char* name) {
  if (r.den <= 0 || r.num < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": must be a non-negative fraction with a positive denominator, got ",
                     r.num, "/", r.den));
  }
  return absl::OkStatus();
}

// RoundHalfUp rounds x to the nearest integer, halves upwards (towards +infinity):
// floor(x + 1/2) = floor((2·num + den) / (2·den)).
cpp_int RoundHalfUp(const cpp_rational& x) {
  const cpp_int num = numerator(x);
  const cpp_int den = denominator(x);  // always > 0
  const cpp_int top = 2 * num + den;
  const cpp_int bottom = 2 * den;
  cpp_int q = top / bottom;  // truncates towards zero
  if (top < 0 && q * bottom != top) --q;
  return q;
}

// ToDecimal2 rounds x half up to 2 decimals. Callers only pass values bounded by the rules
// (at most 4 × scale), so the hundredths fit in int64.
Decimal2 ToDecimal2(const cpp_rational& x) {
  return Decimal2{RoundHalfUp(x * 100).convert_to<int64_t>()};
}

std::string RationalText(const cpp_rational& x) {
  std::string out = numerator(x).str();
  if (denominator(x) != 1) absl::StrAppend(&out, "/", denominator(x).str());
  return out;
}

absl::Status CheckScore(Decimal2 score, const char* what) {
  if (score.hundredths < 0 || score.hundredths > 10000) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": must be 0.00..100.00, got ", score.ToString()));
  }
  return absl::OkStatus();
}

absl::Status ValidateRules(const IkmRules& rules) {
  if (absl::Status s = CheckRatio(rules.element_weight, "element_weight"); !s.ok()) return s;
  // 0 < 9w <= 1 keeps the IKM within scale..4×scale at most (num >= 0 and den > 0 here).
  const Ratio& w = rules.element_weight;
  if (w.num == 0 || static_cast<__int128>(w.num) * kElementCount > w.den) {
    return absl::InvalidArgumentError(absl::StrCat("element_weight: 9 × w must be in (0, 1], got ",
                                                   RationalText(ToRational(w) * kElementCount)));
  }
  if (rules.scale <= 0 || rules.scale > 1000000) {
    return absl::InvalidArgumentError(absl::StrCat("scale: must be 1..1000000, got ", rules.scale));
  }
  if (rules.grades.empty()) return absl::InvalidArgumentError("grades: must not be empty");
  for (size_t i = 0; i < rules.grades.size(); ++i) {
    const Decimal2 min = rules.grades[i].min;
    if (min.hundredths < 0 || min.hundredths > 10000 || (i > 0 && min >= rules.grades[i - 1].min)) {
      return absl::InvalidArgumentError(
          absl::StrCat("grades[", i, "].min: must be 0.00..100.00 and below the band above, got ",
                       min.ToString()));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateSampleRules(const SampleRules& rules) {
  for (const auto& [ratio, name] :
       {std::pair{rules.chi_squared, "chi_squared"}, std::pair{rules.proportion, "proportion"},
        std::pair{rules.margin, "margin"}}) {
    if (absl::Status s = CheckRatio(ratio, name); !s.ok()) return s;
  }
  if (rules.chi_squared.num == 0) return absl::InvalidArgumentError("chi_squared: must be > 0");
  for (const auto& [ratio, name] :
       {std::pair{rules.proportion, "proportion"}, std::pair{rules.margin, "margin"}}) {
    if (ratio.num == 0 || ratio.num >= ratio.den) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": must be in (0, 1), got ", ratio.num, "/", ratio.den));
    }
  }
  return absl::OkStatus();
}

// CheckInvariants returns the first violated tally invariant, naming the element.
// __int128 keeps 4 × answered and Σ answered free of overflow.
absl::Status CheckInvariants(int64_t responses,
                             const std::array<ElementTally, kElementCount>& elements) {
  if (responses < 0) {
    return absl::InvalidArgumentError(absl::StrCat("responses: must be >= 0, got ", responses));
  }
  __int128 total_answered = 0;
  for (int i = 0; i < kElementCount; ++i) {
    const ElementTally& e = elements[i];
    if (e.answered < 0 || e.answered > responses) {
      return absl::InvalidArgumentError(absl::StrCat("u", i + 1, ".answered: must be 0..",
                                                     responses, " (responses), got ", e.answered));
    }
    if (e.sum < e.answered ||
        static_cast<__int128>(e.sum) > static_cast<__int128>(e.answered) * 4) {
      return absl::InvalidArgumentError(
          absl::StrCat("u", i + 1, ".sum: must be answered..4 × answered (", e.answered, "..",
                       static_cast<int64_t>(
                           std::min<__int128>(static_cast<__int128>(e.answered) * 4, INT64_MAX)),
                       "), got ", e.sum));
    }
    total_answered += e.answered;
  }
  if (responses > total_answered) {
    return absl::InvalidArgumentError(
        absl::StrCat("responses: each response answers at least one element, so must be <= ",
                     static_cast<int64_t>(total_answered < INT64_MAX ? total_answered : INT64_MAX),
                     " (answers counted), got ", responses));
  }
  return absl::OkStatus();
}

}  // namespace

std::string ElementField(int index) { return absl::StrCat("answers.u", index + 1); }

std::string_view ElementTitle(int index) {
  return index >= 0 && index < kElementCount ? kElementTitles[index] : std::string_view();
}

std::vector<FieldViolation> ResponseViolations(const SurveyResponse& response) {
  std::vector<FieldViolation> out;
  bool any = false;
  for (int i = 0; i < kElementCount; ++i) {
    const int32_t a = response.answers[i];
    if (a == kUnanswered) continue;
    if (a < kMinAnswer || a > kMaxAnswer) {
      out.push_back({ElementField(i), absl::StrCat("must be ", kMinAnswer, "..", kMaxAnswer, " (",
                                                   kUnanswered, " = unanswered), got ", a)});
      continue;
    }
    any = true;
  }
  // A response whose only answers are out of range is reported for those answers alone.
  if (!any && out.empty()) {
    out.push_back({"answers", "at least one element must be answered (1..4)"});
  }
  return out;
}

absl::Status ValidateResponse(const SurveyResponse& response) {
  const std::vector<FieldViolation> violations = ResponseViolations(response);
  if (violations.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrJoin(violations, "; ", [](std::string* out, const FieldViolation& v) {
        absl::StrAppend(out, v.field, ": ", v.description);
      }));
}

absl::StatusOr<SurveyTally> SurveyTally::FromCounts(
    int64_t responses, const std::array<ElementTally, kElementCount>& elements) {
  if (absl::Status s = CheckInvariants(responses, elements); !s.ok()) return s;
  SurveyTally t;
  t.responses_ = responses;
  t.elements_ = elements;
  return t;
}

absl::Status SurveyTally::Add(const SurveyResponse& response) {
  if (absl::Status s = ValidateResponse(response); !s.ok()) return s;
  SurveyTally one;
  one.responses_ = 1;
  for (int i = 0; i < kElementCount; ++i) {
    if (response.answers[i] == kUnanswered) continue;
    one.elements_[i] = {response.answers[i], 1};
  }
  return Merge(one);
}

absl::Status SurveyTally::Merge(const SurveyTally& other) {
  SurveyTally sum;  // built aside so that an overflow leaves *this unchanged
  bool overflow = __builtin_add_overflow(responses_, other.responses_, &sum.responses_);
  for (int i = 0; i < kElementCount; ++i) {
    overflow |=
        __builtin_add_overflow(elements_[i].sum, other.elements_[i].sum, &sum.elements_[i].sum);
    overflow |= __builtin_add_overflow(elements_[i].answered, other.elements_[i].answered,
                                       &sum.elements_[i].answered);
  }
  if (overflow) return absl::OutOfRangeError("survey tally: int64 overflow while merging");
  *this = sum;  // two valid tallies always add up to a valid one
  return absl::OkStatus();
}

absl::Status SurveyTally::Subtract(const SurveyTally& other) {
  // Both operands are non-negative, so the differences cannot overflow.
  const int64_t responses = responses_ - other.responses_;
  std::array<ElementTally, kElementCount> elements;
  for (int i = 0; i < kElementCount; ++i) {
    elements[i] = {elements_[i].sum - other.elements_[i].sum,
                   elements_[i].answered - other.elements_[i].answered};
  }
  if (absl::Status s = CheckInvariants(responses, elements); !s.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "survey tally: cannot subtract a tally that is not part of this one: ", s.message()));
  }
  responses_ = responses;
  elements_ = elements;
  return absl::OkStatus();
}

std::string Decimal2::ToString() const {
  // Work on the magnitude as unsigned so that INT64_MIN is printed correctly too.
  const bool negative = hundredths < 0;
  const uint64_t magnitude =
      negative ? 0 - static_cast<uint64_t>(hundredths) : static_cast<uint64_t>(hundredths);
  const uint64_t cents = magnitude % 100;
  return absl::StrCat(negative ? "-" : "", magnitude / 100, cents < 10 ? ".0" : ".", cents);
}

std::string_view GradeLetter(Grade grade) {
  switch (grade) {
    case Grade::kA:
      return "A";
    case Grade::kB:
      return "B";
    case Grade::kC:
      return "C";
    case Grade::kD:
      return "D";
  }
  return "?";
}

IkmRules IkmRules::PermenPanRb14Of2017(Weight weight) {
  IkmRules rules;
  rules.regulation = weight == Weight::kExactNinth ? "PermenPANRB 14/2017 (weight 1/9)"
                                                   : "PermenPANRB 14/2017 (weight 0.11 as printed)";
  rules.element_weight = weight == Weight::kExactNinth ? Ratio{1, 9} : Ratio{11, 100};
  rules.scale = 25;
  rules.grades = {
      {Grade::kA, Decimal2{8831}, "sangat baik"},
      {Grade::kB, Decimal2{7661}, "baik"},
      {Grade::kC, Decimal2{6500}, "kurang baik"},
      {Grade::kD, Decimal2{2500}, "tidak baik"},
  };
  rules.missing = MissingElements::kRenormalize;
  return rules;
}

namespace {

// BandOf is the index of the band of `ikm` in valid rules: the first with min <= ikm, else
// the last one.
size_t BandOf(Decimal2 ikm, const IkmRules& rules) {
  for (size_t i = 0; i < rules.grades.size(); ++i) {
    if (ikm >= rules.grades[i].min) return i;
  }
  return rules.grades.size() - 1;
}

}  // namespace

absl::StatusOr<Grade> GradeOf(Decimal2 ikm, const IkmRules& rules) {
  if (absl::Status s = ValidateRules(rules); !s.ok()) return s;
  if (absl::Status s = CheckScore(ikm, "ikm"); !s.ok()) return s;
  return rules.grades[BandOf(ikm, rules)].grade;
}

absl::StatusOr<IkmResult> ComputeIkm(const SurveyTally& tally, const IkmRules& rules) {
  if (absl::Status s = ValidateRules(rules); !s.ok()) return s;

  IkmResult result;
  result.regulation = rules.regulation;
  result.responses = tally.responses();

  // Per element: NRR_i = sum_i / answered_i, exact. Σ NRR_i over the answered elements.
  cpp_rational nrr_sum = 0;
  int answered_elements = 0;
  for (int i = 0; i < kElementCount; ++i) {
    const ElementTally& e = tally.elements()[i];
    ElementResult& out = result.elements[i];
    out.sum = e.sum;
    out.answered = e.answered;
    if (e.answered == 0) {
      result.unanswered_elements.push_back(i + 1);
      continue;
    }
    const cpp_rational nrr_i(cpp_int(e.sum), cpp_int(e.answered));
    out.nrr = ToDecimal2(nrr_i);
    out.ikm = ToDecimal2(nrr_i * rules.scale);
    nrr_sum += nrr_i;
    ++answered_elements;
  }
  result.complete = answered_elements == kElementCount;

  if (answered_elements == 0) {
    return absl::FailedPreconditionError("survey tally: no element has answers");
  }
  if (!result.complete && rules.missing == MissingElements::kReject) {
    return absl::FailedPreconditionError(
        absl::StrCat(ElementField(result.unanswered_elements.front() - 1),
                     ": no respondent answered this element, and ", rules.regulation,
                     " rules require all ", kElementCount, " elements"));
  }

  // Weighted NRR = Σ NRR_i × w', where w' = w × 9 / k over the k answered elements (w' = w
  // when all nine have answers), so the weights always total 9w.
  const cpp_rational weight = ToRational(rules.element_weight) * kElementCount / answered_elements;
  const cpp_rational nrr = nrr_sum * weight;
  const cpp_rational ikm = nrr * rules.scale;

  result.nrr = ToDecimal2(nrr);
  result.ikm = ToDecimal2(ikm);  // the only rounding of the index
  result.ikm_text = result.ikm.ToString();
  result.ikm_exact = RationalText(ikm);
  const GradeBand& band = rules.grades[BandOf(result.ikm, rules)];
  result.grade = band.grade;
  result.grade_label = band.label;
  return result;
}

absl::StatusOr<int64_t> IkmHundredths(const SurveyTally& tally, const IkmRules& rules) {
  // IKM = (Σ sum_i / n) × w × 9 / k × scale over the k answered elements, each answered by n
  // respondents: one fraction num / den, rounded half up once, as ComputeIkm rounds it.
  int64_t n = 0;
  int k = 0;
  __int128 sum = 0;
  bool alike = true;
  for (const ElementTally& e : tally.elements()) {
    if (e.answered == 0) continue;
    if (n == 0) n = e.answered;
    alike = alike && e.answered == n;
    sum += e.sum;
    ++k;
  }
  const Ratio& w = rules.element_weight;
  // Bounds that keep num below 2^127: n, w and scale (<= 10^6 when valid) are small enough.
  constexpr int64_t kBound = int64_t{1} << 40;
  if (!alike || k == 0 || (k < kElementCount && rules.missing == MissingElements::kReject) ||
      n > kBound || w.num <= 0 || w.num > kBound || w.den <= 0 || w.den > kBound) {
    absl::StatusOr<IkmResult> r = ComputeIkm(tally, rules);
    if (!r.ok()) return r.status();
    return r->ikm.hundredths;
  }
  if (absl::Status s = ValidateRules(rules); !s.ok()) return s;
  const __int128 num = sum * 100 * w.num * kElementCount * rules.scale;
  const __int128 den = static_cast<__int128>(n) * w.den * k;
  return static_cast<int64_t>((2 * num + den) / (2 * den));  // half up, num >= 0
}

SampleRules SampleRules::KrejcieMorgan() {
  SampleRules rules;
  rules.method = "Krejcie & Morgan (1970)";
  rules.chi_squared = {3841, 1000};  // 3.841: χ², 1 degree of freedom, 95% confidence
  rules.proportion = {1, 2};         // P = 0.5, the most conservative proportion
  rules.margin = {5, 100};           // d = 0.05
  return rules;
}

absl::StatusOr<int64_t> MinimumSample(int64_t population, const SampleRules& rules) {
  if (absl::Status s = ValidateSampleRules(rules); !s.ok()) return s;
  if (population < 0) {
    return absl::InvalidArgumentError(absl::StrCat("population: must be >= 0, got ", population));
  }
  if (population == 0) return 0;
  const cpp_rational chi2 = ToRational(rules.chi_squared);
  const cpp_rational p = ToRational(rules.proportion);
  const cpp_rational d = ToRational(rules.margin);
  const cpp_rational n(population);
  const cpp_rational pq = p * (1 - p);
  // The denominator is positive: d²(N−1) >= 0 for N >= 1 and χ²P(1−P) > 0. Since
  // d²(N−1) >= 0, S <= χ²·N·P(1−P) / (χ²·P(1−P)) = N, so the rounded S never exceeds N.
  const cpp_rational s = chi2 * n * pq / (d * d * (n - 1) + chi2 * pq);
  return RoundHalfUp(s).convert_to<int64_t>();
}

absl::StatusOr<SampleCheck> CheckSample(int64_t respondents, int64_t population,
                                        const SampleRules& rules) {
  if (respondents < 0) {
    return absl::InvalidArgumentError(absl::StrCat("respondents: must be >= 0, got ", respondents));
  }
  absl::StatusOr<int64_t> minimum = MinimumSample(population, rules);
  if (!minimum.ok()) return minimum.status();
  return SampleCheck{population, respondents, *minimum, respondents < *minimum};
}

std::string_view ZoneName(ComplianceZone zone) {
  switch (zone) {
    case ComplianceZone::kGreen:
      return "green";
    case ComplianceZone::kYellow:
      return "yellow";
    case ComplianceZone::kRed:
      return "red";
  }
  return "?";
}

ZoneRules ZoneRules::Ombudsman2013To2021() {
  return ZoneRules{"Ombudsman RI compliance survey 2013-2021", Decimal2{8100}, Decimal2{5100}};
}

absl::StatusOr<ComplianceZone> ZoneOf(Decimal2 score, const ZoneRules& rules) {
  if (rules.yellow_min.hundredths < 0 || rules.green_min <= rules.yellow_min ||
      rules.green_min.hundredths > 10000) {
    return absl::InvalidArgumentError(
        absl::StrCat("zone rules: need 0.00 <= yellow_min < green_min <= 100.00, got ",
                     rules.yellow_min.ToString(), " and ", rules.green_min.ToString()));
  }
  if (absl::Status s = CheckScore(score, "score"); !s.ok()) return s;
  if (score >= rules.green_min) return ComplianceZone::kGreen;
  if (score >= rules.yellow_min) return ComplianceZone::kYellow;
  return ComplianceZone::kRed;
}

}  // namespace simpul::monitoring
