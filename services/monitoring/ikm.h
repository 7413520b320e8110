// Satisfaction-survey (SKM) arithmetic of PermenPANRB 14/2017, with exact results: the
// tally of responses, the index (IKM) and its grade, the Krejcie–Morgan minimum sample and the
// Ombudsman compliance zone. Pure C++: no storage, no RPC. See docs/domain.md sections 3 and 4.
//
// The figures:
//   NRR_i = (sum of answers to element i) / (respondents who answered element i)
//   NRR   = Σ NRR_i × w          (w = 1/9 exactly by default; the regulation prints 0.11)
//   IKM   = NRR × 25             (25..100; at most 99 with w = 0.11)
// Everything is computed with exact rationals (boost::multiprecision::cpp_rational): no binary
// floating point touches the sums. Only the final IKM is rounded, once, to 2 decimals, half
// up; the grade is read from that 2-decimal value. Per-element figures are rounded separately
// for display and never feed back into the IKM.
//
// Unanswered elements (a decision of Simpul, not of the regulation). The regulation expects
// every respondent to answer all nine elements, so its formula has no case for an element
// nobody answered. Respondents may still skip an element (answer 0), and a whole survey may
// lack an element (e.g. U4 fee when a form left it out). By default the index is taken over
// the elements that have at least one answer, with their weights scaled up so that the total
// weight stays what the rules give for nine elements (9w: 1 with w = 1/9, 0.99 with w = 0.11):
// each answered element weighs 9w/k when k of the nine have answers. With all nine answered
// this is exactly the regulation's formula. The result lists the elements that had no answers
// (`unanswered_elements`, `complete`), so a report can say the index is partial; rules with
// `MissingElements::kReject` refuse to compute a partial index instead. Within an element,
// respondents who skipped it are simply not counted (the regulation's "respondents answering").
// Why: dropping a missing element silently to NRR_i = 0 would drag the index towards 0 and
// below the regulation's 25 floor, which misstates the service; refusing outright would make
// every survey with one skipped element unusable. The choice is configurable per rule set.
//
// Thresholds, weights and sample parameters live in rule structs named after their regulation
// (IkmRules, SampleRules, ZoneRules), never as literals in the formulas; callers may load other
// values from configuration. The survey shape itself (nine elements, answers 1..4) is the
// storage format of a tally and therefore fixed here.
#ifndef SIMPUL_SERVICES_MONITORING_IKM_H_
#define SIMPUL_SERVICES_MONITORING_IKM_H_

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace simpul::monitoring {

// ---------------------------------------------------------------------------------------------
// Survey shape.

// The nine SKM elements in the order of docs/domain.md §3 (index 0 = U1 ... index 8 = U9):
// requirements, procedure, completion time, fee, product specification, staff competence,
// staff behaviour, facilities, complaint handling. Some forms number facilities as U9; mapping
// a form's numbering onto this order is the caller's job.
inline constexpr int kElementCount = 9;
inline constexpr int32_t kUnanswered = 0;
inline constexpr int32_t kMinAnswer = 1;
inline constexpr int32_t kMaxAnswer = 4;

// ElementField is the field name of element `index` (0..8) in errors: "answers.u1".."answers.u9".
std::string ElementField(int index);
// ElementTitle is the Indonesian name of element `index` (0..8), e.g. "persyaratan".
std::string_view ElementTitle(int index);

// One respondent's questionnaire: answers[i] is the answer to element U(i+1), 0 = unanswered.
struct SurveyResponse {
  std::array<int32_t, kElementCount> answers{};
};

// One problem with a response, in the shape of common/status.h FieldViolations::Add.
struct FieldViolation {
  std::string field;        // e.g. "answers.u3"
  std::string description;  // e.g. "must be 1..4 (0 = unanswered), got 5"
  bool operator==(const FieldViolation&) const = default;
};

// ResponseViolations lists every problem of `response`: each answer must be 0 (unanswered) or
// 1..4, and at least one element must be answered. Empty when the response is valid.
std::vector<FieldViolation> ResponseViolations(const SurveyResponse& response);
// ValidateResponse is OK, or INVALID_ARGUMENT whose message is the violations as
// "field: description" joined by "; ", e.g. "answers.u3: must be 1..4 (0 = unanswered), got 5".
absl::Status ValidateResponse(const SurveyResponse& response);

// ---------------------------------------------------------------------------------------------
// Tally: the integer aggregate that incremental stores keep per unit/agency/region/period.

struct ElementTally {
  int64_t sum = 0;       // sum of the answers given to this element
  int64_t answered = 0;  // respondents who answered it (answer 1..4)
  bool operator==(const ElementTally&) const = default;
};

// SurveyTally holds integer counts only, so tallies add (Merge) and subtract (Subtract)
// exactly and in any order. It always satisfies, for every element:
//   0 <= answered <= responses,  answered <= sum <= 4 × answered,
// and responses <= Σ answered (each response answers at least one element).
class SurveyTally {
 public:
  SurveyTally() = default;

  // FromCounts rebuilds a tally from stored counts; INVALID_ARGUMENT naming the count (e.g.
  // "u3.sum: must be answered..4 × answered (2..8), got 9") if they break the invariants.
  static absl::StatusOr<SurveyTally> FromCounts(
      int64_t responses, const std::array<ElementTally, kElementCount>& elements);

  // Add counts one response. INVALID_ARGUMENT (see ValidateResponse) or OUT_OF_RANGE (int64
  // overflow) leave the tally unchanged.
  absl::Status Add(const SurveyResponse& response);
  // Merge adds `other` (e.g. two units into their agency). OUT_OF_RANGE on int64 overflow,
  // tally unchanged.
  absl::Status Merge(const SurveyTally& other);
  // Subtract removes `other`, which must be part of this tally (e.g. responses withdrawn, or an
  // old period leaving a rolling window). FAILED_PRECONDITION, tally unchanged, if the result
  // would break the invariants; a wrong `other` that happens to keep them cannot be detected.
  absl::Status Subtract(const SurveyTally& other);

  int64_t responses() const { return responses_; }
  // elements()[i] is element U(i+1).
  const std::array<ElementTally, kElementCount>& elements() const { return elements_; }

  bool operator==(const SurveyTally&) const = default;

 private:
  int64_t responses_ = 0;
  std::array<ElementTally, kElementCount> elements_{};
};

// ---------------------------------------------------------------------------------------------
// Exact values and rules.

// A non-negative fraction num/den (den > 0), used for configured constants such as 1/9 or 0.11
// (= 11/100) so that no constant passes through binary floating point.
struct Ratio {
  int64_t num = 0;
  int64_t den = 1;
};

// A fixed-point value with 2 decimals: hundredths = 7661 is 76.61.
struct Decimal2 {
  int64_t hundredths = 0;
  // "76.61", "100.00", "0.05", "-1.50".
  std::string ToString() const;
  friend auto operator<=>(const Decimal2&, const Decimal2&) = default;
};

enum class Grade { kA, kB, kC, kD };

// GradeLetter is "A".."D".
std::string_view GradeLetter(Grade grade);

// A grade and its lowest 2-decimal IKM.
struct GradeBand {
  Grade grade = Grade::kD;
  Decimal2 min;       // lower bound, inclusive
  std::string label;  // e.g. "sangat baik"
};

// What to do when an element has no answers at all (see the file comment).
enum class MissingElements {
  kRenormalize,  // index over the answered elements, weights scaled to keep the total 9w
  kReject,       // FAILED_PRECONDITION naming the first element without answers
};

struct IkmRules {
  std::string regulation;
  Ratio element_weight;  // w per element; 9w must be in (0, 1]
  int64_t scale = 0;     // IKM = NRR × scale; 1..1000000
  // Bands from the best grade down, with strictly decreasing lower bounds. A value below the
  // last band's bound still gets the last grade (only a 0.11 weight can go below 25.00: an
  // all-1 survey gives 24.75).
  std::vector<GradeBand> grades;
  MissingElements missing = MissingElements::kRenormalize;

  enum class Weight {
    kExactNinth,  // w = 1/9: the intent (equal weights summing to 1), IKM up to 100.00
    kPrinted011,  // w = 0.11 as printed in the regulation, IKM up to 99.00
  };
  // PermenPanRb14Of2017 is the rule set of PermenPANRB 14/2017: grades A 88.31, B 76.61,
  // C 65.00, D 25.00; scale 25; the chosen weight.
  static IkmRules PermenPanRb14Of2017(Weight weight = Weight::kExactNinth);
};

// GradeOf classifies a 2-decimal IKM by lower bounds: the first band whose `min` is <= ikm.
// INVALID_ARGUMENT outside 0.00..100.00 or for malformed rules.
absl::StatusOr<Grade> GradeOf(Decimal2 ikm,
                              const IkmRules& rules = IkmRules::PermenPanRb14Of2017());

// ---------------------------------------------------------------------------------------------
// The index.

struct ElementResult {
  int64_t sum = 0;
  int64_t answered = 0;  // 0: no answers; nrr and ikm are then 0 and not part of the index
  Decimal2 nrr;          // NRR_i, rounded half up for display only
  Decimal2 ikm;          // NRR_i × scale (the element on the IKM scale, unweighted), display only
};

struct IkmResult {
  std::string regulation;  // IkmRules::regulation used
  int64_t responses = 0;
  std::array<ElementResult, kElementCount> elements{};  // [i] is U(i+1)
  std::vector<int> unanswered_elements;                 // element numbers 1..9 without answers
  bool complete = false;                                // all nine elements had answers
  Decimal2 nrr;           // weighted NRR, rounded half up for display only
  Decimal2 ikm;           // THE figure: exact IKM rounded once, half up, to 2 decimals
  std::string ikm_text;   // ikm.ToString(), e.g. "76.61"
  std::string ikm_exact;  // the exact IKM as a reduced fraction, e.g. "475/6" (for audit)
  Grade grade = Grade::kD;
  std::string grade_label;  // e.g. "baik"
};

// ComputeIkm computes the index of `tally` in O(1) (nine elements, whatever the number of
// responses). FAILED_PRECONDITION when no element has answers (empty tally) or, with
// MissingElements::kReject, when one lacks answers; INVALID_ARGUMENT for malformed rules.
absl::StatusOr<IkmResult> ComputeIkm(const SurveyTally& tally,
                                     const IkmRules& rules = IkmRules::PermenPanRb14Of2017());
// IkmHundredths is ComputeIkm(tally, rules)->ikm.hundredths (same errors) without the
// per-element figures. When every answered element has the same number of respondents (the
// usual survey, whose respondents answer every element) it computes in 128-bit integers
// instead of exact rationals; otherwise it is ComputeIkm. Rankings refresh with it.
absl::StatusOr<int64_t> IkmHundredths(const SurveyTally& tally,
                                      const IkmRules& rules = IkmRules::PermenPanRb14Of2017());

// ---------------------------------------------------------------------------------------------
// Minimum sample (Krejcie & Morgan 1970, required by PermenPANRB 14/2017).

struct SampleRules {
  std::string method;
  Ratio chi_squared;  // χ² for 1 degree of freedom at the confidence level
  Ratio proportion;   // P, in (0, 1)
  Ratio margin;       // d, in (0, 1)
  // KrejcieMorgan: χ² = 3.841, P = 0.5, d = 0.05.
  static SampleRules KrejcieMorgan();
};

// MinimumSample is S = χ²·N·P(1−P) / (d²(N−1) + χ²·P(1−P)) computed exactly and rounded to
// the nearest integer, half up; N = 0 gives 0, and 0 <= S <= N always. With the default rules:
// N=100 → 80, 300 → 169, 2000 → 322, large N → 384. INVALID_ARGUMENT if N < 0 or the rules
// are malformed.
absl::StatusOr<int64_t> MinimumSample(int64_t population,
                                      const SampleRules& rules = SampleRules::KrejcieMorgan());

struct SampleCheck {
  int64_t population = 0;      // N: service users in the survey period
  int64_t respondents = 0;     // e.g. SurveyTally::responses()
  int64_t minimum = 0;         // MinimumSample(N)
  bool under_sampled = false;  // respondents < minimum: report the result, but flag it
};

// CheckSample compares the respondents of a survey with its minimum sample. INVALID_ARGUMENT if
// either count is negative or the rules are malformed.
absl::StatusOr<SampleCheck> CheckSample(int64_t respondents, int64_t population,
                                        const SampleRules& rules = SampleRules::KrejcieMorgan());

// ---------------------------------------------------------------------------------------------
// Ombudsman compliance zones (docs/domain.md §4).

enum class ComplianceZone { kGreen, kYellow, kRed };

// ZoneName is "green", "yellow" or "red".
std::string_view ZoneName(ComplianceZone zone);

struct ZoneRules {
  std::string scheme;
  Decimal2 green_min;   // inclusive
  Decimal2 yellow_min;  // inclusive; below it is red
  // Ombudsman2013To2021: green 81.00–100, yellow 51.00–80.99, red 0–50.99.
  static ZoneRules Ombudsman2013To2021();
};

// ZoneOf classifies a 2-decimal compliance score by lower bounds. INVALID_ARGUMENT outside
// 0.00..100.00 or for malformed rules.
absl::StatusOr<ComplianceZone> ZoneOf(Decimal2 score,
                                      const ZoneRules& rules = ZoneRules::Ombudsman2013To2021());

}  // namespace simpul::monitoring

#endif  // SIMPUL_SERVICES_MONITORING_IKM_H_
