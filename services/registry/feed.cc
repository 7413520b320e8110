#include "services/registry/feed.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/backoff.h"
#include "common/logging.h"

namespace simpul::registry {

ChangeFeedHub::ChangeFeedHub(RegistryStore& store, absl::Duration poll_block)
    : store_(store), poll_block_(poll_block) {}

ChangeFeedHub::~ChangeFeedHub() {
  Stop();
  if (thread_.joinable()) thread_.join();
}

void ChangeFeedHub::Start() {
  thread_ = std::thread([this] { Run(); });
}

void ChangeFeedHub::Stop() {
  std::vector<std::function<void()>> waiters;
  {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
    waiters.swap(waiters_);
  }
  for (auto& w : waiters) w();
}

bool ChangeFeedHub::stopped() {
  absl::MutexLock lock(&mu_);
  return stopped_;
}

uint64_t ChangeFeedHub::generation() {
  absl::MutexLock lock(&mu_);
  return generation_;
}

void ChangeFeedHub::WaitAsync(uint64_t seen_generation, std::function<void()> wake) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopped_ && generation_ == seen_generation) {
      waiters_.push_back(std::move(wake));
      return;
    }
  }
  wake();
}

void ChangeFeedHub::Run() {
  std::string cursor;
  Backoff backoff(Backoff::Options{.initial = absl::Milliseconds(50), .max = absl::Seconds(2)});
  while (!stopped()) {
    if (cursor.empty()) {
      auto latest = store_.LatestCursor();
      if (!latest.ok()) {
        Log(LogLevel::kWarn, "change feed unavailable", {{"error", latest.status().ToString()}});
        absl::SleepFor(backoff.Next());
        continue;
      }
      cursor = *latest;
    }
    auto events = store_.ReadChanges(cursor, 100, poll_block_);
    if (!events.ok()) {
      if (events.status().code() == absl::StatusCode::kOutOfRange) {
        cursor.clear();  // trimmed past us: restart from the newest event
      } else {
        Log(LogLevel::kWarn, "change feed read failed", {{"error", events.status().ToString()}});
        absl::SleepFor(backoff.Next());
      }
      continue;
    }
    backoff.Reset();
    if (events->empty()) continue;
    cursor = events->back().cursor();
    std::vector<std::function<void()>> waiters;
    {
      absl::MutexLock lock(&mu_);
      ++generation_;
      waiters.swap(waiters_);
    }
    for (auto& w : waiters) w();
  }
}

}  // namespace simpul::registry
