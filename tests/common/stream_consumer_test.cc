#include "common/stream_consumer.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/redis_server.h"

namespace simpul {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::Pair;

constexpr char kStream[] = "simpul:cmp:{c}:events";
constexpr char kGroup[] = "monitoring";
constexpr char kDeadLetter[] = "simpul:mon:{c}:dead:complaints";

// kApplyLua is the idempotent effect the header recommends: the event id joins a SET in the
// same script as the effect, so applying an event again changes nothing.
//   KEYS = [applied set, effect counts (hash), applied order (list)]; ARGV = [event id]
constexpr char kApplyLua[] = R"lua(
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
redis.call('RPUSH', KEYS[3], ARGV[1])
return 1
)lua";

// Effects applies test events (the payload field "e" is the event id) idempotently and reads
// back what was applied. Its own Redis keys share the stream's hash tag.
class Effects {
 public:
  explicit Effects(RedisPool* pool) : pool_(pool), script_(kApplyLua) {}

  absl::Status Apply(const StreamEntry& entry) {
    const std::string* event = entry.Field("e");
    if (event == nullptr) return absl::InvalidArgumentError("entry without field e");
    absl::StatusOr<RedisReply> reply =
        pool_->Eval(script_, {"test:{c}:applied", "test:{c}:effects", "test:{c}:order"}, {*event});
    if (!reply.ok()) return reply.status();
    return ErrorFromReply(*reply, "apply");
  }

  // Counts maps each applied event id to how many times its effect happened.
  std::map<std::string, int64_t> Counts() {
    std::map<std::string, int64_t> out;
    absl::StatusOr<RedisReply> reply = pool_->Command({"HGETALL", "test:{c}:effects"});
    if (!reply.ok()) return out;
    for (size_t i = 0; i + 1 < reply->elements.size(); i += 2) {
      out[reply->elements[i].str] = ReplyInt(reply->elements[i + 1]).value_or(-1);
    }
    return out;
  }

  std::vector<std::string> Order() {
    std::vector<std::string> out;
    absl::StatusOr<RedisReply> reply = pool_->Command({"LRANGE", "test:{c}:order", "0", "-1"});
    if (!reply.ok()) return out;
    for (const RedisReply& e : reply->elements) out.push_back(e.str);
    return out;
  }

 private:
  RedisPool* pool_;
  RedisScript script_;
};

// Calls records what a handler was called with, thread-safely.
class Calls {
 public:
  void Add(const StreamEntry& entry) {
    absl::MutexLock lock(&mu_);
    events_.push_back(entry.Field("e") != nullptr ? *entry.Field("e") : "");
    deliveries_.push_back(entry.deliveries);
  }
  std::vector<std::string> events() {
    absl::MutexLock lock(&mu_);
    return events_;
  }
  std::vector<int64_t> deliveries() {
    absl::MutexLock lock(&mu_);
    return deliveries_;
  }
  int64_t CountOf(const std::string& event) {
    absl::MutexLock lock(&mu_);
    return std::count(events_.begin(), events_.end(), event);
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> events_ ABSL_GUARDED_BY(mu_);
  std::vector<int64_t> deliveries_ ABSL_GUARDED_BY(mu_);
};

// WaitFor polls `done` every 10 ms until it holds or `timeout` passes.
bool WaitFor(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return done();
}

std::vector<std::string> Events(int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i) out.push_back(absl::StrCat("evt-", i));
  return out;
}

class StreamConsumerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = testing::RedisServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    pool_ = std::make_unique<RedisPool>(PoolOptions());
    effects_ = std::make_unique<Effects>(pool_.get());
  }

  RedisOptions PoolOptions() const {
    RedisOptions options;
    options.port = server_->port();
    options.pool_size = 4;
    options.connect_timeout = absl::Milliseconds(500);
    options.command_timeout = absl::Seconds(2);
    options.acquire_timeout = absl::Milliseconds(300);
    options.max_backoff = absl::Milliseconds(200);
    return options;
  }

  // Options for stepping with PollOnce: no BLOCK, 50 ms min idle, 3 deliveries.
  StreamConsumerOptions Options(const std::string& consumer) const {
    StreamConsumerOptions o;
    o.stream = kStream;
    o.group = kGroup;
    o.consumer = consumer;
    o.start_id = "0";
    o.batch_size = 10;
    o.block = absl::ZeroDuration();
    o.min_idle = absl::Milliseconds(50);
    o.max_deliveries = 3;
    o.dead_letter_stream = kDeadLetter;
    o.initial_backoff = absl::Milliseconds(20);
    o.max_backoff = absl::Milliseconds(200);
    return o;
  }

  std::unique_ptr<StreamConsumer> Make(StreamConsumerOptions options, StreamHandler handler) {
    auto consumer = StreamConsumer::Create(pool_.get(), std::move(options), std::move(handler));
    EXPECT_TRUE(consumer.ok()) << consumer.status();
    return consumer.ok() ? *std::move(consumer) : nullptr;
  }

  // A handler that records each call and applies the event idempotently.
  StreamHandler Applying(Calls* calls) {
    return [this, calls](const StreamEntry& entry) {
      calls->Add(entry);
      return effects_->Apply(entry);
    };
  }

  RedisReply Raw(const std::vector<std::string>& argv) {
    auto reply = pool_->Command(argv);
    EXPECT_TRUE(reply.ok()) << reply.status();
    if (!reply.ok()) return RedisReply{};
    EXPECT_FALSE(reply->is_error()) << argv[0] << ": " << reply->str;
    return *std::move(reply);
  }

  // Add appends an event the way the complaint service does: {v: "1", e: payload}.
  std::string Add(const std::string& event) {
    return Raw({"XADD", kStream, "*", "v", "1", "e", event}).str;
  }
  std::vector<std::string> AddAll(const std::vector<std::string>& events) {
    std::vector<std::string> ids;
    for (const std::string& e : events) ids.push_back(Add(e));
    return ids;
  }

  // PendingCount is the group's number of unacknowledged entries (XPENDING summary).
  int64_t PendingCount() {
    RedisReply summary = Raw({"XPENDING", kStream, kGroup});
    if (summary.elements.empty()) return -1;
    return ReplyInt(summary.elements[0]).value_or(-1);
  }

  // PendingOwners maps pending entry ids to their consumer.
  std::map<std::string, std::string> PendingOwners() {
    std::map<std::string, std::string> out;
    for (const RedisReply& row : Raw({"XPENDING", kStream, kGroup, "-", "+", "100"}).elements) {
      out[row.elements.at(0).str] = row.elements.at(1).str;
    }
    return out;
  }

  std::unique_ptr<testing::RedisServer> server_;
  std::unique_ptr<RedisPool> pool_;
  std::unique_ptr<Effects> effects_;
};

TEST_F(StreamConsumerTest, CreateRejectsBadOptions) {
  auto handler = [](const StreamEntry&) { return absl::OkStatus(); };
  auto code_of = [&](std::function<void(StreamConsumerOptions&)> change) {
    StreamConsumerOptions o = Options("c");
    change(o);
    return StreamConsumer::Create(pool_.get(), o, handler).status().code();
  };
  constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;
  EXPECT_EQ(code_of([](auto&) {}), absl::StatusCode::kOk);
  EXPECT_EQ(code_of([](auto& o) { o.stream.clear(); }), kInvalid);
  EXPECT_EQ(code_of([](auto& o) { o.group.clear(); }), kInvalid);
  EXPECT_EQ(code_of([](auto& o) { o.batch_size = 0; }), kInvalid);
  EXPECT_EQ(code_of([](auto& o) { o.max_deliveries = 0; }), kInvalid);
  EXPECT_EQ(code_of([](auto& o) { o.min_idle = absl::ZeroDuration(); }), kInvalid);
  EXPECT_EQ(code_of([](auto& o) { o.block = absl::Milliseconds(-1); }), kInvalid);
  EXPECT_EQ(code_of([](auto& o) { o.dead_letter_stream.clear(); }), kInvalid);
  EXPECT_EQ(code_of([](auto& o) { o.dead_letter_stream = kStream; }), kInvalid);
  EXPECT_EQ(StreamConsumer::Create(pool_.get(), Options("c"), nullptr).status().code(), kInvalid);
  EXPECT_EQ(StreamConsumer::Create(nullptr, Options("c"), handler).status().code(), kInvalid);

  // An empty consumer name becomes "<host>-<pid>".
  StreamConsumerOptions o = Options("");
  auto named = StreamConsumer::Create(pool_.get(), o, handler);
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_EQ((*named)->options().consumer, DefaultConsumerName());
  EXPECT_THAT(DefaultConsumerName(), HasSubstr(absl::StrCat("-", getpid())));
}

TEST_F(StreamConsumerTest, CreatesGroupOnAbsentStream) {
  ASSERT_EQ(Raw({"EXISTS", kStream}).integer, 0);
  Calls calls;
  auto consumer = Make(Options("c1"), Applying(&calls));
  ASSERT_NE(consumer, nullptr);

  auto polled = consumer->PollOnce();
  ASSERT_TRUE(polled.ok()) << polled.status();
  EXPECT_EQ(polled->read, 0);
  EXPECT_EQ(Raw({"TYPE", kStream}).str, "stream");
  RedisReply groups = Raw({"XINFO", "GROUPS", kStream});
  ASSERT_EQ(groups.elements.size(), 1u);
  EXPECT_EQ(groups.elements[0].elements.at(1).str, kGroup);

  // An existing group is kept (BUSYGROUP is fine), with its position.
  Add("evt-0");
  auto second = Make(Options("c2"), Applying(&calls));
  ASSERT_NE(second, nullptr);
  EXPECT_TRUE(second->EnsureGroup().ok());
  ASSERT_TRUE(second->PollOnce().ok());
  EXPECT_THAT(calls.events(), ElementsAre("evt-0"));
  EXPECT_EQ(Raw({"XINFO", "GROUPS", kStream}).elements.size(), 1u);
}

TEST_F(StreamConsumerTest, HandlesEntriesInOrderAndAcknowledgesThem) {
  const std::vector<std::string> events = Events(0, 25);
  const std::vector<std::string> ids = AddAll(events);
  std::vector<StreamEntry> seen;
  auto consumer = Make(Options("c1"), [&](const StreamEntry& entry) {
    seen.push_back(entry);
    return effects_->Apply(entry);
  });
  ASSERT_NE(consumer, nullptr);

  std::vector<int64_t> per_poll;
  for (int i = 0; i < 4; ++i) {
    auto polled = consumer->PollOnce();
    ASSERT_TRUE(polled.ok()) << polled.status();
    EXPECT_EQ(polled->handled, polled->read);
    per_poll.push_back(polled->handled);
  }
  EXPECT_THAT(per_poll, ElementsAre(10, 10, 5, 0));  // batch_size 10
  ASSERT_EQ(seen.size(), 25u);
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].id, ids[i]);
    EXPECT_THAT(seen[i].fields, ElementsAre(Pair("v", "1"), Pair("e", events[i])));
    EXPECT_EQ(seen[i].deliveries, 1);
  }
  EXPECT_EQ(effects_->Order(), events);
  EXPECT_EQ(PendingCount(), 0);
  StreamConsumerStats stats = consumer->stats();
  EXPECT_EQ(stats.handled, 25);
  EXPECT_EQ(stats.read, 25);
  EXPECT_EQ(stats.failed, 0);
  EXPECT_EQ(stats.polls, 4);
}

TEST_F(StreamConsumerTest, FailedEntryStaysPendingAndIsRedeliveredAfterMinIdle) {
  AddAll({"a", "b", "c"});
  Calls calls;
  bool fail_b = true;
  StreamConsumerOptions options = Options("c1");
  options.min_idle = absl::Milliseconds(400);  // long enough to check "not before min idle"
  auto consumer = Make(options, [&](const StreamEntry& entry) {
    calls.Add(entry);
    if (*entry.Field("e") == "b" && fail_b) {
      fail_b = false;
      return absl::UnavailableError("downstream not ready");
    }
    return effects_->Apply(entry);
  });
  ASSERT_NE(consumer, nullptr);

  const absl::Time delivered = absl::Now();
  auto first = consumer->PollOnce();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->handled, 2);
  EXPECT_EQ(first->failed, 1);
  EXPECT_EQ(PendingCount(), 1);

  auto early = consumer->PollOnce();  // before min idle: nothing to take over
  ASSERT_TRUE(early.ok());
  if (absl::Now() - delivered < absl::Milliseconds(350)) {
    EXPECT_EQ(early->reclaimed, 0);
    EXPECT_EQ(calls.events().size(), 3u);
  }

  absl::SleepFor(absl::Milliseconds(450));
  auto retried = consumer->PollOnce();
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(retried->reclaimed, 1);
  EXPECT_EQ(retried->handled, 1);
  EXPECT_THAT(calls.events(), ElementsAre("a", "b", "c", "b"));
  EXPECT_THAT(calls.deliveries(), ElementsAre(1, 1, 1, 2));
  EXPECT_EQ(PendingCount(), 0);
  EXPECT_EQ(effects_->Order(), (std::vector<std::string>{"a", "c", "b"}));
}

// Consumer A reads a batch of 5, applies 2 of them and "crashes" before acknowledging
// anything (its handler reports failure for every entry, having applied the first two), and
// is destroyed. Consumer B takes the batch over after min idle; the idempotent handler
// applies every event exactly once.
TEST_F(StreamConsumerTest, KilledConsumerMidBatchIsTakenOverAndEachEventAppliedOnce) {
  const std::vector<std::string> events = Events(0, 5);
  AddAll(events);
  {
    StreamConsumerOptions options = Options("a");
    options.batch_size = 5;
    int calls = 0;
    auto a = Make(options, [&](const StreamEntry& entry) {
      if (++calls <= 2) {
        absl::Status applied = effects_->Apply(entry);
        if (!applied.ok()) return applied;
      }
      return absl::AbortedError("simulated crash before XACK");
    });
    ASSERT_NE(a, nullptr);
    auto polled = a->PollOnce();
    ASSERT_TRUE(polled.ok()) << polled.status();
    EXPECT_EQ(polled->read, 5);
    EXPECT_EQ(polled->handled, 0);
  }  // A is gone
  EXPECT_EQ(effects_->Counts().size(), 2u);
  std::map<std::string, std::string> owners = PendingOwners();
  ASSERT_EQ(owners.size(), 5u);
  for (const auto& [id, owner] : owners) EXPECT_EQ(owner, "a") << id;

  AddAll({"evt-5", "evt-6"});  // B also reads what arrives meanwhile
  Calls calls;
  auto b = Make(Options("b"), Applying(&calls));
  ASSERT_NE(b, nullptr);
  absl::SleepFor(absl::Milliseconds(80));
  auto polled = b->PollOnce();
  ASSERT_TRUE(polled.ok()) << polled.status();
  EXPECT_EQ(polled->reclaimed, 5);
  EXPECT_EQ(polled->read, 2);
  EXPECT_EQ(polled->handled, 7);
  // Reclaimed entries first, in stream order, each on its second delivery.
  EXPECT_EQ(calls.events(), Events(0, 7));
  EXPECT_THAT(calls.deliveries(), ElementsAre(2, 2, 2, 2, 2, 1, 1));
  std::map<std::string, int64_t> counts = effects_->Counts();
  EXPECT_EQ(counts.size(), 7u);
  for (const auto& [event, n] : counts) EXPECT_EQ(n, 1) << event;
  EXPECT_EQ(PendingCount(), 0);
  EXPECT_EQ(b->stats().reclaimed, 5);
}

// A reader that died right after XREADGROUP (another process, no StreamConsumer involved).
TEST_F(StreamConsumerTest, TakesOverEntriesOfAReaderThatDiedAfterReading) {
  AddAll(Events(0, 4));
  RedisReply group = Raw({"XGROUP", "CREATE", kStream, kGroup, "0"});
  RedisReply read =
      Raw({"XREADGROUP", "GROUP", kGroup, "dead-host-1", "COUNT", "3", "STREAMS", kStream, ">"});
  ASSERT_EQ(read.elements.at(0).elements.at(1).elements.size(), 3u);

  Calls calls;
  auto b = Make(Options("b"), Applying(&calls));
  ASSERT_NE(b, nullptr);
  absl::SleepFor(absl::Milliseconds(80));
  auto polled = b->PollOnce();
  ASSERT_TRUE(polled.ok()) << polled.status();
  EXPECT_EQ(polled->reclaimed, 3);
  EXPECT_EQ(polled->read, 1);
  EXPECT_EQ(calls.events(), Events(0, 4));
  EXPECT_EQ(PendingCount(), 0);
}

TEST_F(StreamConsumerTest, PoisonEntryIsDeadLetteredAfterMaxDeliveriesAndOthersGoOn) {
  Metrics metrics;
  const std::vector<std::string> ids = AddAll({"ok-1", "poison", "ok-2"});
  Calls calls;
  StreamConsumerOptions options = Options("c1");
  options.metrics = &metrics;
  auto consumer = Make(options, [&](const StreamEntry& entry) {
    calls.Add(entry);
    if (*entry.Field("e") == "poison") {
      return absl::InvalidArgumentError("cannot parse payload version 1");
    }
    return effects_->Apply(entry);
  });
  ASSERT_NE(consumer, nullptr);

  auto first = consumer->PollOnce();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->handled, 2);
  EXPECT_EQ(first->failed, 1);
  EXPECT_EQ(first->dead_lettered, 0);
  Add("ok-3");  // behind the poison entry

  int64_t dead = 0;
  for (int i = 0; i < 6 && dead == 0; ++i) {
    absl::SleepFor(absl::Milliseconds(70));
    auto polled = consumer->PollOnce();
    ASSERT_TRUE(polled.ok()) << polled.status();
    dead += polled->dead_lettered;
  }
  EXPECT_EQ(dead, 1);
  EXPECT_EQ(calls.CountOf("poison"), 3);  // max_deliveries
  EXPECT_THAT(calls.deliveries(), ::testing::Contains(3));
  EXPECT_EQ(effects_->Order(), (std::vector<std::string>{"ok-1", "ok-2", "ok-3"}));
  EXPECT_EQ(PendingCount(), 0);

  RedisReply dl = Raw({"XRANGE", kDeadLetter, "-", "+"});
  ASSERT_EQ(dl.elements.size(), 1u);
  std::map<std::string, std::string> fields;
  const RedisReply& values = dl.elements[0].elements.at(1);
  for (size_t i = 0; i + 1 < values.elements.size(); i += 2) {
    fields[values.elements[i].str] = values.elements[i + 1].str;
  }
  EXPECT_EQ(fields[kDeadLetterIdField], ids[1]);
  EXPECT_EQ(fields[kDeadLetterStreamField], kStream);
  EXPECT_EQ(fields[kDeadLetterGroupField], kGroup);
  EXPECT_EQ(fields[kDeadLetterConsumerField], "c1");
  EXPECT_EQ(fields[kDeadLetterDeliveriesField], "3");
  EXPECT_THAT(fields[kDeadLetterErrorField], HasSubstr("cannot parse payload version 1"));
  EXPECT_EQ(fields["v"], "1");
  EXPECT_EQ(fields["e"], "poison");

  // Nothing more happens to it.
  absl::SleepFor(absl::Milliseconds(70));
  auto after = consumer->PollOnce();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->reclaimed, 0);
  EXPECT_EQ(calls.CountOf("poison"), 3);

  StreamConsumerStats stats = consumer->stats();
  EXPECT_EQ(stats.dead_lettered, 1);
  EXPECT_EQ(stats.failed, 3);
  EXPECT_EQ(stats.handled, 3);
  const std::string exposition = metrics.Exposition();
  const std::string labels = absl::StrCat("{stream=\"", kStream, "\",group=\"", kGroup, "\"}");
  EXPECT_THAT(exposition,
              HasSubstr(absl::StrCat("simpul_stream_consumer_dead_lettered_total", labels, " 1")));
  EXPECT_THAT(exposition,
              HasSubstr(absl::StrCat("simpul_stream_consumer_handled_total", labels, " 3")));
  EXPECT_THAT(exposition,
              HasSubstr(absl::StrCat("simpul_stream_consumer_failed_total", labels, " 3")));
  EXPECT_THAT(exposition,
              HasSubstr(absl::StrCat("simpul_stream_consumer_reclaimed_total", labels, " 2")));
}

// An entry whose consumers keep crashing while handling it never gets a handler error; its
// delivery counter still grows with each takeover, and past max_deliveries it is moved aside
// without calling the handler again.
TEST_F(StreamConsumerTest, EntryThatKeepsCrashingItsConsumersIsDeadLetteredWithoutHandler) {
  const std::string id = Add("crashes-everyone");
  Raw({"XGROUP", "CREATE", kStream, kGroup, "0"});
  Raw({"XREADGROUP", "GROUP", kGroup, "victim-1", "STREAMS", kStream, ">"});
  // Three deliveries so far (two earlier takeovers that crashed too).
  Raw({"XCLAIM", kStream, kGroup, "victim-3", "0", id, "RETRYCOUNT", "3", "JUSTID"});

  Calls calls;
  auto consumer = Make(Options("c1"), Applying(&calls));
  ASSERT_NE(consumer, nullptr);
  absl::SleepFor(absl::Milliseconds(80));
  auto polled = consumer->PollOnce();
  ASSERT_TRUE(polled.ok()) << polled.status();
  EXPECT_EQ(polled->reclaimed, 1);
  EXPECT_EQ(polled->dead_lettered, 1);
  EXPECT_TRUE(calls.events().empty());
  EXPECT_EQ(PendingCount(), 0);
  RedisReply dl = Raw({"XRANGE", kDeadLetter, "-", "+"});
  ASSERT_EQ(dl.elements.size(), 1u);
  const RedisReply& values = dl.elements[0].elements.at(1);
  std::map<std::string, std::string> fields;
  for (size_t i = 0; i + 1 < values.elements.size(); i += 2) {
    fields[values.elements[i].str] = values.elements[i + 1].str;
  }
  EXPECT_EQ(fields[kDeadLetterIdField], id);
  EXPECT_EQ(fields[kDeadLetterDeliveriesField], "4");
  EXPECT_THAT(fields[kDeadLetterErrorField], HasSubstr("without being acknowledged"));
  EXPECT_EQ(fields["e"], "crashes-everyone");
}

// The same event arrives twice: once because the producer appended it twice (a retried
// write), once because its first delivery was applied but reported as failed (an
// acknowledgement lost). The idempotent handler applies each event once.
TEST_F(StreamConsumerTest, DuplicateDeliveriesChangeNothing) {
  AddAll({"evt-1", "evt-1", "evt-2"});
  Calls calls;
  bool lose_ack = true;
  auto consumer = Make(Options("c1"), [&](const StreamEntry& entry) {
    calls.Add(entry);
    absl::Status applied = effects_->Apply(entry);
    if (applied.ok() && *entry.Field("e") == "evt-2" && lose_ack) {
      lose_ack = false;
      return absl::DeadlineExceededError("applied, but the reply was lost");
    }
    return applied;
  });
  ASSERT_NE(consumer, nullptr);
  auto first = consumer->PollOnce();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->handled, 2);
  EXPECT_EQ(first->failed, 1);
  absl::SleepFor(absl::Milliseconds(80));
  auto second = consumer->PollOnce();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->reclaimed, 1);
  EXPECT_EQ(second->handled, 1);

  EXPECT_THAT(calls.events(), ElementsAre("evt-1", "evt-1", "evt-2", "evt-2"));
  EXPECT_THAT(effects_->Counts(), ElementsAre(Pair("evt-1", 1), Pair("evt-2", 1)));
  EXPECT_EQ(Raw({"SCARD", "test:{c}:applied"}).integer, 2);
  EXPECT_EQ(PendingCount(), 0);
}

TEST_F(StreamConsumerTest, LagBeforeAndAfterConsuming) {
  Metrics metrics;
  StreamConsumerOptions options = Options("c1");
  options.batch_size = 5;
  options.metrics = &metrics;
  bool fail_evt_1 = true;
  auto consumer = Make(options, [&](const StreamEntry& entry) {
    if (*entry.Field("e") == "evt-1" && fail_evt_1) {
      fail_evt_1 = false;
      return absl::UnavailableError("not yet");
    }
    return effects_->Apply(entry);
  });
  ASSERT_NE(consumer, nullptr);
  EXPECT_EQ(consumer->Lag().status().code(), absl::StatusCode::kNotFound);  // no stream yet
  ASSERT_TRUE(consumer->EnsureGroup().ok());
  auto lag = consumer->Lag();
  ASSERT_TRUE(lag.ok()) << lag.status();
  EXPECT_EQ(lag->undelivered, 0);
  EXPECT_EQ(lag->pending, 0);

  AddAll(Events(0, 7));
  lag = consumer->Lag();
  ASSERT_TRUE(lag.ok()) << lag.status();
  EXPECT_EQ(lag->undelivered, 7);
  EXPECT_EQ(lag->pending, 0);
  EXPECT_TRUE(lag->exact);

  ASSERT_TRUE(consumer->PollOnce().ok());  // 5 read, evt-1 fails
  lag = consumer->Lag();
  ASSERT_TRUE(lag.ok());
  EXPECT_EQ(lag->undelivered, 2);
  EXPECT_EQ(lag->pending, 1);

  ASSERT_TRUE(consumer->PollOnce().ok());  // the last 2
  lag = consumer->Lag();
  ASSERT_TRUE(lag.ok());
  EXPECT_EQ(lag->undelivered, 0);
  EXPECT_EQ(lag->pending, 1);

  absl::SleepFor(absl::Milliseconds(80));
  ASSERT_TRUE(consumer->PollOnce().ok());  // evt-1 again
  lag = consumer->Lag();
  ASSERT_TRUE(lag.ok());
  EXPECT_EQ(lag->undelivered, 0);
  EXPECT_EQ(lag->pending, 0);
  EXPECT_EQ(effects_->Counts().size(), 7u);
  const std::string labels = absl::StrCat("{stream=\"", kStream, "\",group=\"", kGroup, "\"}");
  EXPECT_THAT(metrics.Exposition(),
              HasSubstr(absl::StrCat("simpul_stream_consumer_lag", labels, " 0")));
  EXPECT_THAT(metrics.Exposition(),
              HasSubstr(absl::StrCat("simpul_stream_consumer_pending", labels, " 0")));

  // A group created with "$" on a stream that has entries starts with no lag.
  StreamConsumerOptions late = Options("c2");
  late.group = "late";
  late.start_id = "$";
  auto latecomer = Make(late, [](const StreamEntry&) { return absl::OkStatus(); });
  ASSERT_NE(latecomer, nullptr);
  ASSERT_TRUE(latecomer->EnsureGroup().ok());
  lag = latecomer->Lag();
  ASSERT_TRUE(lag.ok());
  EXPECT_EQ(lag->undelivered, 0);
  Add("evt-7");
  lag = latecomer->Lag();
  ASSERT_TRUE(lag.ok());
  EXPECT_EQ(lag->undelivered, 1);
}

// When entries were deleted with XDEL after the group's position, Redis 7 reports no lag
// (nil): the consumer counts the entries instead.
TEST_F(StreamConsumerTest, LagIsCountedWhenRedisCannotTell) {
  const std::vector<std::string> ids = AddAll(Events(0, 5));
  auto consumer = Make(Options("c1"), [](const StreamEntry&) { return absl::OkStatus(); });
  ASSERT_NE(consumer, nullptr);
  ASSERT_TRUE(consumer->EnsureGroup().ok());
  Raw({"XDEL", kStream, ids[2]});
  // Check that this is the nil case.
  RedisReply group = Raw({"XINFO", "GROUPS", kStream}).elements.at(0);
  bool lag_is_nil = false;
  for (size_t i = 0; i + 1 < group.elements.size(); i += 2) {
    if (group.elements[i].str == "lag") lag_is_nil = group.elements[i + 1].is_nil();
  }
  EXPECT_TRUE(lag_is_nil);
  auto lag = consumer->Lag();
  ASSERT_TRUE(lag.ok()) << lag.status();
  EXPECT_EQ(lag->undelivered, 4);
  EXPECT_TRUE(lag->exact);
  ASSERT_TRUE(consumer->PollOnce().ok());
  lag = consumer->Lag();
  ASSERT_TRUE(lag.ok());
  EXPECT_EQ(lag->undelivered, 0);
}

// A pending entry trimmed from the stream (MAXLEN / XDEL) before it was handled is dropped
// from the pending list and counted, not handed to the handler.
TEST_F(StreamConsumerTest, TrimmedPendingEntryIsSkipped) {
  const std::vector<std::string> ids = AddAll(Events(0, 3));
  Raw({"XGROUP", "CREATE", kStream, kGroup, "0"});
  Raw({"XREADGROUP", "GROUP", kGroup, "dead-host", "STREAMS", kStream, ">"});
  Raw({"XDEL", kStream, ids[1]});
  Calls calls;
  auto consumer = Make(Options("c1"), Applying(&calls));
  ASSERT_NE(consumer, nullptr);
  absl::SleepFor(absl::Milliseconds(80));
  auto polled = consumer->PollOnce();
  ASSERT_TRUE(polled.ok()) << polled.status();
  EXPECT_EQ(polled->reclaimed, 2);
  EXPECT_EQ(polled->deleted, 1);
  EXPECT_THAT(calls.events(), ElementsAre("evt-0", "evt-2"));
  EXPECT_EQ(PendingCount(), 0);
  EXPECT_EQ(consumer->stats().deleted, 1);
}

TEST_F(StreamConsumerTest, GroupIsCreatedAgainWhenTheStreamIsDeleted) {
  Calls calls;
  auto consumer = Make(Options("c1"), Applying(&calls));
  ASSERT_NE(consumer, nullptr);
  Add("evt-0");
  ASSERT_TRUE(consumer->PollOnce().ok());
  Raw({"DEL", kStream});
  Add("evt-1");  // a new stream without the group
  auto polled = consumer->PollOnce();
  ASSERT_TRUE(polled.ok()) << polled.status();
  EXPECT_EQ(polled->handled, 1);
  EXPECT_THAT(calls.events(), ElementsAre("evt-0", "evt-1"));
}

TEST_F(StreamConsumerTest, BlockingPollWakesUpOnANewEntry) {
  StreamConsumerOptions options = Options("c1");
  options.block = absl::Seconds(3);
  Calls calls;
  auto consumer = Make(options, Applying(&calls));
  ASSERT_NE(consumer, nullptr);
  ASSERT_TRUE(consumer->EnsureGroup().ok());
  std::thread producer([this] {
    absl::SleepFor(absl::Milliseconds(200));
    RedisPool pool(PoolOptions());
    (void)pool.Command({"XADD", kStream, "*", "v", "1", "e", "evt-0"});
  });
  const absl::Time start = absl::Now();
  auto polled = consumer->PollOnce();
  const absl::Duration took = absl::Now() - start;
  producer.join();
  ASSERT_TRUE(polled.ok()) << polled.status();
  EXPECT_EQ(polled->handled, 1);
  EXPECT_GE(took, absl::Milliseconds(150));
  EXPECT_LT(took, absl::Seconds(2));

  options.block = absl::Milliseconds(300);
  auto idle = Make(options, Applying(&calls));
  ASSERT_NE(idle, nullptr);
  const absl::Time idle_start = absl::Now();
  auto empty = idle->PollOnce();
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->read, 0);
  EXPECT_GE(absl::Now() - idle_start, absl::Milliseconds(250));
}

TEST_F(StreamConsumerTest, RedisDownFailsFastThenResumesWithoutLoss) {
  AddAll(Events(0, 10));
  Calls calls;
  StreamConsumerOptions options = Options("c1");
  options.batch_size = 5;
  auto consumer = Make(options, Applying(&calls));
  ASSERT_NE(consumer, nullptr);
  auto first = consumer->PollOnce();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->handled, 5);

  server_->Kill();
  const absl::Time start = absl::Now();
  auto down = consumer->PollOnce();
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable) << down.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  auto still_down = consumer->PollOnce();
  EXPECT_EQ(still_down.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_GE(consumer->stats().poll_errors, 2);

  ASSERT_TRUE(server_->Restart().ok());
  // The test's pool reconnects after its backoff (at most 200 ms).
  ASSERT_TRUE(WaitFor([&] { return pool_->Ping().ok(); }, absl::Seconds(3)));
  AddAll(Events(10, 15));
  ASSERT_TRUE(WaitFor(
      [&] {
        (void)consumer->PollOnce();
        return effects_->Counts().size() == 15;
      },
      absl::Seconds(5)));
  std::map<std::string, int64_t> counts = effects_->Counts();
  for (const auto& [event, n] : counts) EXPECT_EQ(n, 1) << event;
  EXPECT_EQ(effects_->Order(), Events(0, 15));
  EXPECT_EQ(PendingCount(), 0);
}

TEST_F(StreamConsumerTest, ThreadConsumesConcurrentProducerAndStopsPromptly) {
  StreamConsumerOptions options = Options("c1");
  options.block = absl::Milliseconds(500);
  options.min_idle = absl::Seconds(5);  // no takeover of our own entries while busy
  Calls calls;
  auto consumer = Make(options, Applying(&calls));
  ASSERT_NE(consumer, nullptr);
  consumer->Start();
  consumer->Start();  // no-op

  constexpr int kEvents = 200;
  std::thread producer([this] {
    RedisPool pool(PoolOptions());
    for (int i = 0; i < kEvents; ++i) {
      ASSERT_TRUE(
          pool.Command({"XADD", kStream, "*", "v", "1", "e", absl::StrCat("evt-", i)}).ok());
      if (i % 20 == 0) absl::SleepFor(absl::Milliseconds(5));
    }
  });
  producer.join();
  EXPECT_TRUE(WaitFor([&] { return effects_->Counts().size() == kEvents; }, absl::Seconds(10)));
  EXPECT_EQ(effects_->Order(), Events(0, kEvents));  // one consumer, no failure: in order
  EXPECT_EQ(calls.events().size(), static_cast<size_t>(kEvents));  // no redelivery needed
  EXPECT_TRUE(WaitFor([&] { return PendingCount() == 0; }, absl::Seconds(2)));

  // The thread is now blocked in XREADGROUP (500 ms): Stop waits for that at most.
  absl::SleepFor(absl::Milliseconds(50));
  const absl::Time start = absl::Now();
  consumer->Stop();
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(1500));
  consumer->Stop();  // no-op
  // Nothing pending: the consumer left the group.
  EXPECT_TRUE(Raw({"XINFO", "CONSUMERS", kStream, kGroup}).elements.empty());

  // It can start again and still consumes.
  consumer->Start();
  Add("evt-after-restart");
  EXPECT_TRUE(WaitFor([&] { return effects_->Counts().size() == kEvents + 1; }, absl::Seconds(5)));
  consumer->Stop();
}

TEST_F(StreamConsumerTest, TwoConsumerThreadsShareTheStreamAndApplyEachEventOnce) {
  StreamConsumerOptions options = Options("c1");
  options.block = absl::Milliseconds(200);
  options.min_idle = absl::Seconds(5);
  options.batch_size = 7;
  Calls calls;
  auto c1 = Make(options, Applying(&calls));
  options.consumer = "c2";
  auto c2 = Make(options, Applying(&calls));
  ASSERT_NE(c1, nullptr);
  ASSERT_NE(c2, nullptr);
  c1->Start();
  c2->Start();
  constexpr int kEvents = 300;
  AddAll(Events(0, kEvents));
  EXPECT_TRUE(WaitFor([&] { return effects_->Counts().size() == kEvents; }, absl::Seconds(10)));
  c1->Stop();
  c2->Stop();
  for (const auto& [event, n] : effects_->Counts()) EXPECT_EQ(n, 1) << event;
  EXPECT_EQ(c1->stats().handled + c2->stats().handled, kEvents);
  EXPECT_GT(c1->stats().handled, 0);
  EXPECT_GT(c2->stats().handled, 0);
  EXPECT_EQ(PendingCount(), 0);
}

TEST_F(StreamConsumerTest, ThreadSurvivesRedisRestartMidStreamWithoutLoss) {
  StreamConsumerOptions options = Options("c1");
  options.block = absl::Milliseconds(100);
  options.min_idle = absl::Milliseconds(200);
  options.max_deliveries = 100;  // failures while Redis is down must not dead-letter
  options.batch_size = 5;
  Calls calls;
  auto consumer = Make(options, [&](const StreamEntry& entry) {
    calls.Add(entry);
    absl::SleepFor(absl::Milliseconds(2));  // slow enough to be caught mid-stream
    return effects_->Apply(entry);
  });
  ASSERT_NE(consumer, nullptr);
  AddAll(Events(0, 60));
  consumer->Start();
  ASSERT_TRUE(WaitFor([&] { return effects_->Counts().size() >= 10; }, absl::Seconds(5)));

  server_->Kill();  // AOF with appendfsync always: acknowledged work survives
  absl::SleepFor(absl::Milliseconds(300));
  ASSERT_TRUE(server_->Restart().ok());
  // The producer goes on once Redis is back (its pool reconnects after a short backoff).
  ASSERT_TRUE(WaitFor([&] { return pool_->Ping().ok(); }, absl::Seconds(3)));
  AddAll(Events(60, 80));

  EXPECT_TRUE(WaitFor([&] { return effects_->Counts().size() == 80; }, absl::Seconds(15)))
      << effects_->Counts().size();
  EXPECT_TRUE(WaitFor([&] { return PendingCount() == 0; }, absl::Seconds(5)));
  consumer->Stop();
  for (const auto& [event, n] : effects_->Counts()) EXPECT_EQ(n, 1) << event;
  std::vector<std::string> order = effects_->Order();
  std::sort(order.begin(), order.end());
  std::vector<std::string> expected = Events(0, 80);
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(order, expected);
  EXPECT_GE(consumer->stats().poll_errors, 1);
}

TEST_F(StreamConsumerTest, StopIsPromptWhileBackingOffFromAnOutage) {
  StreamConsumerOptions options = Options("c1");
  options.initial_backoff = absl::Seconds(3);
  options.max_backoff = absl::Seconds(10);
  auto consumer = Make(options, [](const StreamEntry&) { return absl::OkStatus(); });
  ASSERT_NE(consumer, nullptr);
  server_->Kill();
  consumer->Start();
  ASSERT_TRUE(WaitFor([&] { return consumer->stats().poll_errors >= 1; }, absl::Seconds(3)));
  const absl::Time start = absl::Now();
  consumer->Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
}

}  // namespace
}  // namespace simpul
