#include "common/executor.h"

#include <atomic>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace simpul {
namespace {

TEST(ExecutorTest, RunsTasks) {
  std::atomic<int> ran{0};
  {
    Executor executor(3, 100);
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(executor.Submit([&ran] { ++ran; }));
  }
  EXPECT_EQ(ran.load(), 50);
}

TEST(ExecutorTest, RunsOnWorkerThreads) {
  Executor executor(1, 10);
  absl::Notification done;
  std::thread::id worker;
  ASSERT_TRUE(executor.Submit([&] {
    worker = std::this_thread::get_id();
    done.Notify();
  }));
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_NE(worker, std::this_thread::get_id());
}

TEST(ExecutorTest, FullQueueRejects) {
  Executor executor(1, 2);
  absl::Notification started;
  absl::Notification release;
  ASSERT_TRUE(executor.Submit([&] {
    started.Notify();
    release.WaitForNotification();
  }));
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(absl::Seconds(10)));
  // The worker is busy: two tasks fit in the queue, the third does not.
  std::atomic<int> ran{0};
  EXPECT_TRUE(executor.Submit([&ran] { ++ran; }));
  EXPECT_TRUE(executor.Submit([&ran] { ++ran; }));
  EXPECT_FALSE(executor.Submit([&ran] { ++ran; }));
  release.Notify();
  executor.Shutdown();
  EXPECT_EQ(ran.load(), 2);
}

TEST(ExecutorTest, ShutdownDrainsQueueAndRejectsNewTasks) {
  Executor executor(1, 100);
  absl::Notification release;
  std::atomic<int> ran{0};
  ASSERT_TRUE(executor.Submit([&] { release.WaitForNotification(); }));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(executor.Submit([&ran] { ++ran; }));
  std::thread shutdown([&] { executor.Shutdown(); });
  absl::SleepFor(absl::Milliseconds(50));
  release.Notify();
  shutdown.join();
  EXPECT_EQ(ran.load(), 10);
  EXPECT_FALSE(executor.Submit([&ran] { ++ran; }));
  executor.Shutdown();  // idempotent
  EXPECT_EQ(ran.load(), 10);
}

}  // namespace
}  // namespace simpul
