// Tests of common/backoff.h.
#include "common/backoff.h"

#include "gtest/gtest.h"

namespace simpul {
namespace {

TEST(BackoffTest, DoublesUpToTheMaximumAndResets) {
  Backoff backoff(Backoff::Options{.initial = absl::Milliseconds(100), .max = absl::Seconds(1)});
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(100));
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(200));
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(400));
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(800));
  EXPECT_EQ(backoff.Next(), absl::Seconds(1));
  EXPECT_EQ(backoff.Next(), absl::Seconds(1));
  backoff.Reset();
  EXPECT_EQ(backoff.current(), absl::Milliseconds(100));
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(100));
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(200));
}

TEST(BackoffTest, TheFirstWaitIsTheInitialOneEvenAboveTheMaximum) {
  // As the Redis pool had it: a first wait of 50 ms, then at most max_backoff.
  Backoff backoff(
      Backoff::Options{.initial = absl::Milliseconds(50), .max = absl::Milliseconds(20)});
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(50));
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(20));
}

TEST(BackoffTest, OtherFactors) {
  Backoff backoff(Backoff::Options{
      .initial = absl::Milliseconds(10), .max = absl::Milliseconds(100), .factor = 3});
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(10));
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(30));
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(90));
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(100));
}

TEST(BackoffTest, JitterStaysWithinItsBandAndVaries) {
  Backoff backoff(
      Backoff::Options{
          .initial = absl::Milliseconds(100), .max = absl::Milliseconds(100), .jitter = 0.2},
      /*seed=*/42);
  absl::Duration lowest = absl::InfiniteDuration();
  absl::Duration highest = absl::ZeroDuration();
  for (int i = 0; i < 1000; ++i) {
    const absl::Duration wait = backoff.Next();
    ASSERT_GE(wait, absl::Milliseconds(80));
    ASSERT_LE(wait, absl::Milliseconds(120));
    lowest = std::min(lowest, wait);
    highest = std::max(highest, wait);
  }
  EXPECT_LT(lowest, absl::Milliseconds(85));
  EXPECT_GT(highest, absl::Milliseconds(115));
}

TEST(BackoffTest, TheSameSeedGivesTheSameWaits) {
  const Backoff::Options options{.initial = absl::Milliseconds(100), .jitter = 0.5};
  Backoff a(options, 7);
  Backoff b(options, 7);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a.Next(), b.Next());
}

}  // namespace
}  // namespace simpul
