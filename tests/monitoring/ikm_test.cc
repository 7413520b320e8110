#include "services/monitoring/ikm.h"

#include <chrono>
#include <cstdint>
#include <limits>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace simpul::monitoring {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Weight = IkmRules::Weight;

const IkmRules kExact = IkmRules::PermenPanRb14Of2017(Weight::kExactNinth);
const IkmRules kPrinted = IkmRules::PermenPanRb14Of2017(Weight::kPrinted011);

SurveyResponse R(std::array<int32_t, kElementCount> answers) { return SurveyResponse{answers}; }

SurveyTally TallyOf(const std::vector<SurveyResponse>& responses) {
  SurveyTally tally;
  for (const SurveyResponse& r : responses) {
    absl::Status s = tally.Add(r);
    EXPECT_TRUE(s.ok()) << s;
  }
  return tally;
}

// A tally in which every element has `sum` over `respondents` answers.
SurveyTally Uniform(int64_t respondents, int64_t sum) {
  std::array<ElementTally, kElementCount> elements;
  elements.fill(ElementTally{sum, respondents});
  absl::StatusOr<SurveyTally> tally = SurveyTally::FromCounts(respondents, elements);
  EXPECT_TRUE(tally.ok()) << tally.status();
  return *tally;
}

// ---------------------------------------------------------------------------------------------
// Worked example 1: four respondents; respondents 2 and 3 skipped U9.
//
//        U1  U2  U3  U4  U5  U6  U7  U8  U9
//   R1    3   3   2   4   3   3   4   3   3
//   R2    4   3   3   4   3   4   4   3   -
//   R3    3   2   3   4   3   3   4   2   -
//   R4    4   3   2   4   4   3   4   3   2
//   sum  14  11  10  16  13  13  16  11   5
//   n     4   4   4   4   4   4   4   4   2      (respondents answering the element)
//   NRR_i 3.5 2.75 2.5 4 3.25 3.25 4  2.75 2.5   (U9: 5 / 2, not 5 / 4)
//   ×25  87.50 68.75 62.50 100.00 81.25 81.25 100.00 68.75 62.50
//
//   Σ NRR_i = 28.5
//   w = 1/9:  NRR = 28.5 / 9 = 19/6 = 3.1666…;  IKM = 25 × 19/6 = 475/6 = 79.1666… → 79.17 (B)
//   w = 0.11: NRR = 28.5 × 0.11 = 3.135;        IKM = 3.135 × 25 = 78.375 exactly, on the
//             .xx5 boundary → half up 78.38 (B)
//   Had U9 been divided by all 4 respondents (NRR_9 = 1.25), Σ = 27.25 and IKM = 75.69 (C):
//   a skipped answer must not count as a respondent.
// ---------------------------------------------------------------------------------------------
std::vector<SurveyResponse> WorkedExample() {
  return {
      R({3, 3, 2, 4, 3, 3, 4, 3, 3}),
      R({4, 3, 3, 4, 3, 4, 4, 3, 0}),
      R({3, 2, 3, 4, 3, 3, 4, 2, 0}),
      R({4, 3, 2, 4, 4, 3, 4, 3, 2}),
  };
}

TEST(IkmTest, WorkedExampleExactNinth) {
  const SurveyTally tally = TallyOf(WorkedExample());
  EXPECT_EQ(tally.responses(), 4);
  EXPECT_EQ(tally.elements()[8], (ElementTally{5, 2}));

  absl::StatusOr<IkmResult> r = ComputeIkm(tally, kExact);
  ASSERT_TRUE(r.ok()) << r.status();
  std::vector<int64_t> sums, answered, nrr, ikm;
  for (const ElementResult& e : r->elements) {
    sums.push_back(e.sum);
    answered.push_back(e.answered);
    nrr.push_back(e.nrr.hundredths);
    ikm.push_back(e.ikm.hundredths);
  }
  EXPECT_THAT(sums, ElementsAre(14, 11, 10, 16, 13, 13, 16, 11, 5));
  EXPECT_THAT(answered, ElementsAre(4, 4, 4, 4, 4, 4, 4, 4, 2));
  EXPECT_THAT(nrr, ElementsAre(350, 275, 250, 400, 325, 325, 400, 275, 250));
  EXPECT_THAT(ikm, ElementsAre(8750, 6875, 6250, 10000, 8125, 8125, 10000, 6875, 6250));

  EXPECT_EQ(r->responses, 4);
  EXPECT_TRUE(r->complete);
  EXPECT_TRUE(r->unanswered_elements.empty());
  EXPECT_EQ(r->nrr, Decimal2{317});  // 3.1666… for display
  EXPECT_EQ(r->ikm_exact, "475/6");
  EXPECT_EQ(r->ikm, Decimal2{7917});
  EXPECT_EQ(r->ikm_text, "79.17");
  EXPECT_EQ(r->grade, Grade::kB);
  EXPECT_EQ(r->grade_label, "baik");
  EXPECT_EQ(r->regulation, kExact.regulation);
}

TEST(IkmTest, WorkedExamplePrintedWeightRoundsHalfUpOnTheBoundary) {
  absl::StatusOr<IkmResult> r = ComputeIkm(TallyOf(WorkedExample()), kPrinted);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->ikm_exact, "627/8");  // 78.375 exactly
  EXPECT_EQ(r->ikm, Decimal2{7838});
  EXPECT_EQ(r->ikm_text, "78.38");
  EXPECT_EQ(r->nrr, Decimal2{314});  // 3.135 → 3.14
  EXPECT_EQ(r->grade, Grade::kB);
}

// ---------------------------------------------------------------------------------------------
// Worked example 2: exact arithmetic changes the grade.
// 5000 respondents: 321 answer 4 to every element, 4679 answer 3 to every element.
//   sum_i = 321 × 4 + 4679 × 3 = 1284 + 14037 = 15321;   NRR_i = 15321 / 5000 = 3.0642
//   NRR = 9 × 3.0642 × 1/9 = 3.0642;   IKM = 3.0642 × 25 = 76.605 exactly = 15321/200
//   → half up 76.61 → B.
// In binary floating point, Σ NRR_i × (1.0/9) × 25 gives 76.60499999999998, which rounds to
// 76.60 → C: the unit would be graded one step too low.
// With w = 0.11: IKM = 27.5778 × 0.11 × 25 = 75.83895 → 75.84 (C).
// ---------------------------------------------------------------------------------------------
TEST(IkmTest, ExactArithmeticGradesTheBoundaryCorrectly) {
  SurveyTally tally;
  for (int i = 0; i < 5000; ++i) {
    const int32_t a = i < 321 ? 4 : 3;
    ASSERT_TRUE(tally.Add(R({a, a, a, a, a, a, a, a, a})).ok());
  }
  EXPECT_EQ(tally, Uniform(5000, 15321));

  // The naive computation this library exists to avoid.
  double naive = 0;
  for (const ElementTally& e : tally.elements()) {
    naive += static_cast<double>(e.sum) / static_cast<double>(e.answered) * (1.0 / 9);
  }
  naive *= 25;
  EXPECT_LT(naive, 76.605);
  EXPECT_EQ(static_cast<int64_t>(naive * 100 + 0.5), 7660);

  absl::StatusOr<IkmResult> r = ComputeIkm(tally, kExact);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->ikm_exact, "15321/200");
  EXPECT_EQ(r->ikm_text, "76.61");
  EXPECT_EQ(r->grade, Grade::kB);
  EXPECT_EQ(r->elements[0].nrr, Decimal2{306});   // 3.0642
  EXPECT_EQ(r->elements[0].ikm, Decimal2{7661});  // 76.605 → 76.61

  r = ComputeIkm(tally, kPrinted);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->ikm_text, "75.84");
  EXPECT_EQ(r->grade, Grade::kC);
}

// The grade is read from the rounded 2-decimal IKM, not from the exact value.
TEST(IkmTest, GradeUsesTheRoundedValue) {
  // 17661 / 5000 = 3.5322 → IKM 88.305 → 88.31 → A (the exact value is below 88.31).
  absl::StatusOr<IkmResult> r = ComputeIkm(Uniform(5000, 17661), kExact);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->ikm_exact, "17661/200");
  EXPECT_EQ(r->ikm_text, "88.31");
  EXPECT_EQ(r->grade, Grade::kA);
  EXPECT_EQ(r->grade_label, "sangat baik");

  // 12999 / 5000 = 2.5998 → IKM 64.995 → 65.00 → C.
  r = ComputeIkm(Uniform(5000, 12999), kExact);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->ikm_text, "65.00");
  EXPECT_EQ(r->grade, Grade::kC);
  EXPECT_EQ(r->grade_label, "kurang baik");

  // 12998 / 5000 → IKM 64.99 → D.
  r = ComputeIkm(Uniform(5000, 12998), kExact);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->ikm_text, "64.99");
  EXPECT_EQ(r->grade, Grade::kD);
  EXPECT_EQ(r->grade_label, "tidak baik");
}

// Every value on a .xx5 boundary rounds up. With 5000 respondents and sum S on every element,
// IKM = 25 × S / 5000 = S / 200, so each odd S lands exactly halfway between two hundredths.
// (Naive double arithmetic, Σ S/5000 × (1.0/9) × 25, gets 3076 of these 7500 wrong, and even
// converting the exact value to double before rounding gets 429 wrong, e.g. 32.035.)
TEST(IkmTest, EveryHalfHundredthRoundsUp) {
  for (int64_t s = 5001; s < 20000; s += 2) {
    absl::StatusOr<IkmResult> r = ComputeIkm(Uniform(5000, s), kExact);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->ikm, Decimal2{(s + 1) / 2}) << "S=" << s << " exact " << r->ikm_exact;
  }
}

TEST(IkmTest, PrintedWeightCapsAtNinetyNine) {
  const SurveyTally all4 =
      TallyOf({R({4, 4, 4, 4, 4, 4, 4, 4, 4}), R({4, 4, 4, 4, 4, 4, 4, 4, 4})});
  absl::StatusOr<IkmResult> r = ComputeIkm(all4, kPrinted);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->ikm_text, "99.00");
  EXPECT_EQ(r->ikm_exact, "99");
  EXPECT_EQ(r->grade, Grade::kA);
  EXPECT_EQ(r->elements[0].ikm, Decimal2{10000});  // the element itself is unweighted

  r = ComputeIkm(all4, kExact);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->ikm_text, "100.00");
  EXPECT_EQ(r->ikm_exact, "100");

  // The other end: all 1 gives 25.00 with 1/9 and 24.75 with 0.11, both D.
  const SurveyTally all1 = TallyOf({R({1, 1, 1, 1, 1, 1, 1, 1, 1})});
  r = ComputeIkm(all1, kExact);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->ikm_text, "25.00");
  EXPECT_EQ(r->grade, Grade::kD);
  r = ComputeIkm(all1, kPrinted);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->ikm_text, "24.75");
  EXPECT_EQ(r->grade, Grade::kD);
}

TEST(IkmTest, DefaultRulesAreExactNinth) {
  absl::StatusOr<IkmResult> r = ComputeIkm(TallyOf({R({4, 4, 4, 4, 4, 4, 4, 4, 4})}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->ikm_text, "100.00");
}

TEST(GradeTest, Boundaries) {
  struct Row {
    int64_t hundredths;
    Grade grade;
  };
  for (const Row& row : std::vector<Row>{{10000, Grade::kA},
                                         {8831, Grade::kA},
                                         {8830, Grade::kB},
                                         {7661, Grade::kB},
                                         {7660, Grade::kC},
                                         {6500, Grade::kC},
                                         {6499, Grade::kD},
                                         {2500, Grade::kD},
                                         {2475, Grade::kD},
                                         {0, Grade::kD}}) {
    absl::StatusOr<Grade> g = GradeOf(Decimal2{row.hundredths});
    ASSERT_TRUE(g.ok()) << g.status();
    EXPECT_EQ(*g, row.grade) << Decimal2{row.hundredths}.ToString() << " got " << GradeLetter(*g);
  }
  EXPECT_EQ(GradeOf(Decimal2{10001}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GradeOf(Decimal2{-1}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GradeLetter(Grade::kA), "A");
  EXPECT_EQ(GradeLetter(Grade::kD), "D");
}

TEST(GradeTest, MalformedRulesAreRejected) {
  IkmRules rules = kExact;
  rules.grades[2].min = Decimal2{7700};  // C above B
  EXPECT_EQ(GradeOf(Decimal2{7000}, rules).status().code(), absl::StatusCode::kInvalidArgument);

  rules = kExact;
  rules.element_weight = {2, 9};  // would reach 200
  absl::StatusOr<IkmResult> r = ComputeIkm(TallyOf(WorkedExample()), rules);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("element_weight"));

  rules = kExact;
  rules.element_weight = {1, 0};
  EXPECT_EQ(ComputeIkm(TallyOf(WorkedExample()), rules).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Decimal2Test, ToString) {
  EXPECT_EQ(Decimal2{7661}.ToString(), "76.61");
  EXPECT_EQ(Decimal2{10000}.ToString(), "100.00");
  EXPECT_EQ(Decimal2{2475}.ToString(), "24.75");
  EXPECT_EQ(Decimal2{5}.ToString(), "0.05");
  EXPECT_EQ(Decimal2{0}.ToString(), "0.00");
  EXPECT_EQ(Decimal2{-150}.ToString(), "-1.50");
  EXPECT_EQ(Decimal2{std::numeric_limits<int64_t>::min()}.ToString(), "-92233720368547758.08");
}

// ---------------------------------------------------------------------------------------------
// Unanswered elements: two respondents, both skipped U4 (fee).
//   U1..U3, U5..U9: sums 7 over 2 → NRR_i = 3.5 each; U4: no answers.
//   Renormalised (default): 8 elements weigh 9w/8 each.
//     w = 1/9:  NRR = 8 × 3.5 × 1/8 = 3.5        → IKM 87.50 (B)
//     w = 0.11: NRR = 8 × 3.5 × 0.99/8 = 3.465   → IKM 86.625 → 86.63 (B)
//   (Counting U4 as 0 would give 8 × 3.5 / 9 × 25 = 77.78: a full grade lower for nothing.)
// ---------------------------------------------------------------------------------------------
TEST(IkmTest, UnansweredElementsAreReportedAndRenormalised) {
  const SurveyTally tally =
      TallyOf({R({4, 4, 4, 0, 4, 4, 4, 4, 4}), R({3, 3, 3, 0, 3, 3, 3, 3, 3})});
  absl::StatusOr<IkmResult> r = ComputeIkm(tally, kExact);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->complete);
  EXPECT_THAT(r->unanswered_elements, ElementsAre(4));
  EXPECT_EQ(r->elements[3].answered, 0);
  EXPECT_EQ(r->elements[3].nrr, Decimal2{0});
  EXPECT_EQ(r->ikm_text, "87.50");
  EXPECT_EQ(r->grade, Grade::kB);

  r = ComputeIkm(tally, kPrinted);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->ikm_exact, "693/8");  // 86.625
  EXPECT_EQ(r->ikm_text, "86.63");

  // All 4 with U4 missing still reaches the same ceiling as a complete survey.
  r = ComputeIkm(TallyOf({R({4, 4, 4, 0, 4, 4, 4, 4, 4})}), kPrinted);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->ikm_text, "99.00");

  IkmRules strict = kExact;
  strict.missing = MissingElements::kReject;
  r = ComputeIkm(tally, strict);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("answers.u4"));
  // A complete survey passes the strict rules.
  EXPECT_TRUE(ComputeIkm(TallyOf(WorkedExample()), strict).ok());
}

TEST(IkmTest, SeveralUnansweredElementsAreListed) {
  const SurveyTally tally = TallyOf({R({2, 0, 3, 0, 0, 0, 0, 0, 4})});
  absl::StatusOr<IkmResult> r = ComputeIkm(tally, kExact);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->unanswered_elements, ElementsAre(2, 4, 5, 6, 7, 8));
  EXPECT_EQ(r->ikm_text, "75.00");  // (2 + 3 + 4) / 3 × 25
}

TEST(IkmTest, EmptyTallyHasNoIndex) {
  absl::StatusOr<IkmResult> r = ComputeIkm(SurveyTally(), kExact);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
}

// ---------------------------------------------------------------------------------------------
// Responses and tallies.

TEST(TallyTest, BadAnswersAreRejectedWithTheElementNamed) {
  SurveyTally tally = TallyOf(WorkedExample());
  const SurveyTally before = tally;

  absl::Status s = tally.Add(R({4, 4, 5, 4, 4, 4, 4, 4, 4}));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "answers.u3: must be 1..4 (0 = unanswered), got 5");
  EXPECT_EQ(tally, before);

  s = tally.Add(R({-1, 4, 4, 4, 4, 4, 4, 4, 7}));
  EXPECT_EQ(s.message(),
            "answers.u1: must be 1..4 (0 = unanswered), got -1; "
            "answers.u9: must be 1..4 (0 = unanswered), got 7");
  EXPECT_EQ(tally, before);

  s = tally.Add(R({0, 0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "answers: at least one element must be answered (1..4)");
  EXPECT_EQ(tally, before);

  EXPECT_THAT(ResponseViolations(R({0, 0, 0, 0, 0, 9, 0, 0, 0})),
              ElementsAre(FieldViolation{"answers.u6", "must be 1..4 (0 = unanswered), got 9"}));
  EXPECT_TRUE(ResponseViolations(R({0, 0, 0, 0, 0, 0, 0, 0, 1})).empty());
  EXPECT_TRUE(ValidateResponse(R({1, 2, 3, 4, 0, 1, 2, 3, 4})).ok());
}

TEST(TallyTest, ElementNames) {
  EXPECT_EQ(ElementField(0), "answers.u1");
  EXPECT_EQ(ElementField(8), "answers.u9");
  EXPECT_EQ(ElementTitle(0), "persyaratan");
  EXPECT_EQ(ElementTitle(7), "sarana dan prasarana");
  EXPECT_EQ(ElementTitle(9), "");
}

// Deterministic pseudo-random responses, some with skipped elements.
std::vector<SurveyResponse> Mixed(int count) {
  std::vector<SurveyResponse> out;
  uint64_t x = 12345;
  for (int i = 0; i < count; ++i) {
    SurveyResponse r;
    for (int32_t& a : r.answers) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      a = static_cast<int32_t>((x >> 33) % 5);  // 0..4, 0 = skipped
    }
    if (ValidateResponse(r).ok()) out.push_back(r);
  }
  return out;
}

TEST(TallyTest, MergeEqualsTheTallyOfAllResponses) {
  const std::vector<SurveyResponse> all = Mixed(1000);
  ASSERT_GT(all.size(), 900u);
  const std::vector<SurveyResponse> first(all.begin(), all.begin() + 377);
  const std::vector<SurveyResponse> second(all.begin() + 377, all.end());
  const SurveyTally whole = TallyOf(all);

  SurveyTally a = TallyOf(first);
  const SurveyTally b = TallyOf(second);
  ASSERT_TRUE(a.Merge(b).ok());
  EXPECT_EQ(a, whole);
  EXPECT_EQ(a.responses(), static_cast<int64_t>(all.size()));

  SurveyTally b_then_a = b;
  ASSERT_TRUE(b_then_a.Merge(TallyOf(first)).ok());
  EXPECT_EQ(b_then_a, whole);

  absl::StatusOr<IkmResult> merged = ComputeIkm(a, kExact);
  absl::StatusOr<IkmResult> direct = ComputeIkm(whole, kExact);
  ASSERT_TRUE(merged.ok() && direct.ok());
  EXPECT_EQ(merged->ikm_exact, direct->ikm_exact);

  // Subtracting one part gives back the other.
  ASSERT_TRUE(a.Subtract(b).ok());
  EXPECT_EQ(a, TallyOf(first));
  ASSERT_TRUE(a.Subtract(TallyOf(first)).ok());
  EXPECT_EQ(a, SurveyTally());
}

TEST(TallyTest, SubtractingWhatIsNotThereIsRefused) {
  SurveyTally small = TallyOf({R({4, 4, 4, 4, 4, 4, 4, 4, 4})});
  const SurveyTally before = small;
  absl::Status s = small.Subtract(TallyOf(WorkedExample()));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(small, before);

  // Same response count, but the answers were not in this tally: U1 would keep a sum of 4 - 1
  // = 3 with no answers left.
  s = small.Subtract(TallyOf({R({1, 4, 4, 4, 4, 4, 4, 4, 4})}));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("u1.sum"));
  EXPECT_EQ(small, before);
}

TEST(TallyTest, FromCountsChecksTheInvariants) {
  std::array<ElementTally, kElementCount> e;
  e.fill({8, 2});
  EXPECT_TRUE(SurveyTally::FromCounts(2, e).ok());

  e[2] = {9, 2};  // more than 4 × 2
  absl::StatusOr<SurveyTally> t = SurveyTally::FromCounts(2, e);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(t.status().message(), HasSubstr("u3.sum"));

  e[2] = {1, 2};  // less than 1 × 2
  EXPECT_THAT(SurveyTally::FromCounts(2, e).status().message(), HasSubstr("u3.sum"));

  e.fill({8, 2});
  e[4] = {12, 3};  // more answers than responses
  EXPECT_THAT(SurveyTally::FromCounts(2, e).status().message(), HasSubstr("u5.answered"));

  e.fill({0, 0});
  e[0] = {4, 1};  // 2 responses but only one answer in all
  EXPECT_THAT(SurveyTally::FromCounts(2, e).status().message(), HasSubstr("responses"));
  EXPECT_EQ(SurveyTally::FromCounts(-1, e).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TallyTest, MergeOverflowLeavesTheTallyUnchanged) {
  constexpr int64_t kHuge = std::numeric_limits<int64_t>::max() / 4;
  std::array<ElementTally, kElementCount> e;
  e.fill({4 * kHuge, kHuge});
  absl::StatusOr<SurveyTally> big = SurveyTally::FromCounts(kHuge, e);
  ASSERT_TRUE(big.ok()) << big.status();
  SurveyTally t = *big;
  EXPECT_EQ(t.Merge(*big).code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(t, *big);
  // Huge counts still compute exactly: all 4 → 100.00.
  absl::StatusOr<IkmResult> r = ComputeIkm(t, kExact);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->ikm_text, "100.00");
}

// 1,000,000 responses: adding them is per response, computing is not.
TEST(IkmTest, MillionResponsesComputeInConstantTime) {
  SurveyTally tally;
  for (int i = 0; i < 1000000; ++i) {
    const int32_t a = i % 4 + 1;  // 250,000 each of 1, 2, 3, 4
    ASSERT_TRUE(tally.Add(R({a, a, a, a, a, a, a, a, a})).ok());
  }
  EXPECT_EQ(tally.responses(), 1000000);
  EXPECT_EQ(tally.elements()[0], (ElementTally{2500000, 1000000}));

  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<IkmResult> r;
  for (int i = 0; i < 100; ++i) r = ComputeIkm(tally, kExact);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->ikm_text, "62.50");  // NRR 2.5
  EXPECT_EQ(r->grade, Grade::kD);
  // 100 computations in well under a second (typically tens of microseconds each).
  EXPECT_LT(elapsed, std::chrono::milliseconds(1000));

  // A tally a million times larger (10^12 responses) takes no longer: nothing is per response.
  std::array<ElementTally, kElementCount> e;
  e.fill({2500000000000, 1000000000000});
  absl::StatusOr<SurveyTally> huge = SurveyTally::FromCounts(1000000000000, e);
  ASSERT_TRUE(huge.ok());
  const auto start2 = std::chrono::steady_clock::now();
  r = ComputeIkm(*huge, kExact);
  EXPECT_LT(std::chrono::steady_clock::now() - start2, std::chrono::milliseconds(50));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ikm_text, "62.50");
}

// ---------------------------------------------------------------------------------------------
// Minimum sample.

TEST(IkmTest, IkmHundredthsEqualsComputeIkm) {
  // Random tallies: every element answered alike (the integer path), some elements skipped by
  // all, and elements answered by different numbers (the rational path); both weights, both
  // rules for missing elements, and huge counts.
  uint64_t x = 42;
  auto next = [&x](uint64_t mod) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<int64_t>((x >> 33) % mod);
  };
  IkmRules reject = kExact;
  reject.missing = MissingElements::kReject;
  int integer_path = 0;
  for (int round = 0; round < 4000; ++round) {
    const int64_t n = round % 7 == 0 ? int64_t{1} << (30 + next(9)) : 1 + next(500);
    const int shape = static_cast<int>(next(3));  // 0 alike, 1 some unanswered, 2 mixed
    std::array<ElementTally, kElementCount> elements;
    for (int i = 0; i < kElementCount; ++i) {
      int64_t answered = n;
      if (shape == 1 && next(3) == 0) answered = 0;
      if (shape == 2) answered = 1 + next(n);
      const int64_t sum = answered == 0 ? 0 : answered + next(3 * answered + 1);
      elements[i] = ElementTally{sum, answered};
    }
    int64_t responses = 0;  // as many as the most answered element
    for (const ElementTally& e : elements) responses = std::max(responses, e.answered);
    if (responses == 0) continue;
    absl::StatusOr<SurveyTally> tally = SurveyTally::FromCounts(responses, elements);
    ASSERT_TRUE(tally.ok()) << tally.status();
    integer_path += shape == 0;
    for (const IkmRules* rules : {&kExact, &kPrinted, static_cast<const IkmRules*>(&reject)}) {
      absl::StatusOr<IkmResult> full = ComputeIkm(*tally, *rules);
      absl::StatusOr<int64_t> fast = IkmHundredths(*tally, *rules);
      ASSERT_EQ(fast.status(), full.status()) << round;
      if (full.ok()) ASSERT_EQ(*fast, full->ikm.hundredths) << round << " " << full->ikm_exact;
    }
  }
  EXPECT_GT(integer_path, 1000);
  // The boundary of the worked example (78.375 → 78.38 with w = 0.11), all alike.
  EXPECT_EQ(*IkmHundredths(Uniform(4, 14), kPrinted),
            ComputeIkm(Uniform(4, 14), kPrinted)->ikm.hundredths);
  // The same errors: an empty tally, and malformed rules.
  EXPECT_EQ(IkmHundredths(SurveyTally()).status().code(), absl::StatusCode::kFailedPrecondition);
  IkmRules bad = kExact;
  bad.element_weight = {2, 9};  // 9w = 2
  EXPECT_EQ(IkmHundredths(Uniform(4, 14), bad).status(), ComputeIkm(Uniform(4, 14), bad).status());
  bad = kExact;
  bad.scale = 0;
  EXPECT_EQ(IkmHundredths(Uniform(4, 14), bad).status(), ComputeIkm(Uniform(4, 14), bad).status());
  EXPECT_FALSE(IkmHundredths(Uniform(4, 14), bad).ok());
}

TEST(SampleTest, KrejcieMorganTable) {
  // Closed form with the default rules: S = 3841·N / (10·(N−1) + 3841).
  struct Row {
    int64_t population;
    int64_t minimum;
  };
  for (const Row& row : std::vector<Row>{{0, 0},
                                         {1, 1},
                                         {2, 2},
                                         {10, 10},
                                         {15, 14},
                                         {20, 19},
                                         {50, 44},
                                         {100, 80},
                                         {300, 169},
                                         {1000, 278},
                                         {2000, 322},
                                         {10000, 370},
                                         {1000000, 384},
                                         {std::numeric_limits<int64_t>::max(), 384}}) {
    absl::StatusOr<int64_t> s = MinimumSample(row.population);
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(*s, row.minimum) << "N=" << row.population;
  }
}

TEST(SampleTest, MonotoneAndNeverAboveThePopulation) {
  int64_t previous = 0;
  for (int64_t n = 0; n <= 20000; ++n) {
    absl::StatusOr<int64_t> s = MinimumSample(n);
    ASSERT_TRUE(s.ok()) << s.status();
    ASSERT_GE(*s, previous) << "N=" << n;
    ASSERT_LE(*s, n) << "N=" << n;
    ASSERT_LE(*s, 384) << "N=" << n;
    // Independent integer check of the closed form, rounded half up.
    const int64_t num = 3841 * n, den = 10 * (n - 1) + 3841;
    ASSERT_EQ(*s, n == 0 ? 0 : (2 * num + den) / (2 * den)) << "N=" << n;
    previous = *s;
  }
  EXPECT_EQ(previous, 377);  // N = 20000: 76,820,000 / 203,831 = 376.88…
}

TEST(SampleTest, UnderSampledFlag) {
  absl::StatusOr<SampleCheck> c = CheckSample(79, 100);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->minimum, 80);
  EXPECT_TRUE(c->under_sampled);

  c = CheckSample(80, 100);
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->under_sampled);

  // The worked example's four respondents out of 10 users are under-sampled (minimum 10).
  c = CheckSample(TallyOf(WorkedExample()).responses(), 10);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->minimum, 10);
  EXPECT_EQ(c->respondents, 4);
  EXPECT_TRUE(c->under_sampled);

  c = CheckSample(0, 0);
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->under_sampled);

  EXPECT_EQ(CheckSample(-1, 100).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MinimumSample(-1).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SampleTest, OtherRulesAndMalformedRules) {
  // d = 0.1 instead of 0.05: large N → 3.841 × 0.25 / 0.01 = 96.025 → 96.
  SampleRules loose = SampleRules::KrejcieMorgan();
  loose.margin = {1, 10};
  absl::StatusOr<int64_t> s = MinimumSample(1000000000, loose);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(*s, 96);

  SampleRules bad = SampleRules::KrejcieMorgan();
  bad.proportion = {1, 1};
  EXPECT_EQ(MinimumSample(100, bad).status().code(), absl::StatusCode::kInvalidArgument);
  bad = SampleRules::KrejcieMorgan();
  bad.chi_squared = {0, 1};
  EXPECT_EQ(MinimumSample(100, bad).status().code(), absl::StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------------------------
// Ombudsman zones.

TEST(ZoneTest, Boundaries) {
  struct Row {
    int64_t hundredths;
    ComplianceZone zone;
  };
  for (const Row& row : std::vector<Row>{{10000, ComplianceZone::kGreen},
                                         {8100, ComplianceZone::kGreen},
                                         {8099, ComplianceZone::kYellow},
                                         {5100, ComplianceZone::kYellow},
                                         {5099, ComplianceZone::kRed},
                                         {0, ComplianceZone::kRed}}) {
    absl::StatusOr<ComplianceZone> z = ZoneOf(Decimal2{row.hundredths});
    ASSERT_TRUE(z.ok()) << z.status();
    EXPECT_EQ(*z, row.zone) << Decimal2{row.hundredths}.ToString() << " got " << ZoneName(*z);
  }
  EXPECT_EQ(ZoneOf(Decimal2{10001}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ZoneOf(Decimal2{-1}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ZoneName(ComplianceZone::kYellow), "yellow");

  ZoneRules bad = ZoneRules::Ombudsman2013To2021();
  bad.yellow_min = Decimal2{9000};
  EXPECT_EQ(ZoneOf(Decimal2{5000}, bad).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace simpul::monitoring
