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
#include "tests/testing/redis_fixture.h"

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

class StreamConsumerTest : public testing::RedisServerTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(RedisServerTest::SetUp());
    pool_ = std::make_unique<RedisPool>(FastOptions());
    effects_ = std::make_unique<Effects>(pool_.get());
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

  // TakingOver makes consumer `name`, applying into `calls`, once the entries pending now are
  // idle past Options' min_idle (50 ms): its next poll reclaims them.
  std::unique_ptr<StreamConsumer> TakingOver(const std::string& name, Calls* calls) {
    auto consumer = Make(Options(name), Applying(calls));
    absl::SleepFor(absl::Milliseconds(80));
    return consumer;
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

  // AddDeadLetter appends an entry with `fields` (name, value, ...) to the dead-letter stream.
  std::string AddDeadLetter(const std::vector<std::string>& fields) {
    std::vector<std::string> argv = {"XADD", kDeadLetter, "*"};
    argv.insert(argv.end(), fields.begin(), fields.end());
    return Raw(argv).str;
  }

  // EntryFields returns the fields of entry `id` of `key` (empty when there is no such entry).
  std::vector<std::pair<std::string, std::string>> EntryFields(const std::string& key,
                                                               const std::string& id) {
    std::vector<std::pair<std::string, std::string>> out;
    RedisReply range = Raw({"XRANGE", key, id, id});
    if (range.elements.empty()) return out;
    const RedisReply& values = range.elements[0].elements.at(1);
    for (size_t i = 0; i + 1 < values.elements.size(); i += 2) {
      out.emplace_back(values.elements[i].str, values.elements[i + 1].str);
    }
    return out;
  }

  // StreamIds returns the ids of every entry of `key`, oldest first.
  std::vector<std::string> StreamIds(const std::string& key) {
    std::vector<std::string> out;
    for (const RedisReply& e : Raw({"XRANGE", key, "-", "+"}).elements) {
      out.push_back(e.elements.at(0).str);
    }
    return out;
  }

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
  auto b = TakingOver("b", &calls);
  ASSERT_NE(b, nullptr);
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
  auto b = TakingOver("b", &calls);
  ASSERT_NE(b, nullptr);
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
  auto consumer = TakingOver("c1", &calls);
  ASSERT_NE(consumer, nullptr);
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
  // Long enough that evt-1 is not taken over before the third poll even in a slow (sanitizer)
  // build: the second poll must still see it pending.
  options.min_idle = absl::Milliseconds(400);
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

  absl::SleepFor(absl::Milliseconds(450));
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
  auto consumer = TakingOver("c1", &calls);
  ASSERT_NE(consumer, nullptr);
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
    RedisPool pool(FastOptions());
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
    RedisPool pool(FastOptions());
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

// ---------------------------------------------------------------------------------------------
// Dead letters: listing and re-drive.

// An entry that fails max_deliveries times is dead-lettered; once its handler is fixed, a
// re-drive puts it back into the stream (original fields only) and the consumer handles it.
TEST_F(StreamConsumerTest, RedrivenDeadLetterIsHandledOnceTheHandlerIsFixed) {
  const std::vector<std::string> ids = AddAll({"ok-1", "poison", "ok-2"});
  Calls calls;
  bool fixed = false;
  auto consumer = Make(Options("c1"), [&](const StreamEntry& entry) {
    calls.Add(entry);
    if (*entry.Field("e") == "poison" && !fixed) {
      return absl::InvalidArgumentError("payload not understood yet");
    }
    return effects_->Apply(entry);
  });
  ASSERT_NE(consumer, nullptr);
  int64_t dead = 0;
  for (int i = 0; i < 10 && dead == 0; ++i) {
    if (i > 0) absl::SleepFor(absl::Milliseconds(70));  // past min_idle: redelivered
    auto polled = consumer->PollOnce();
    ASSERT_TRUE(polled.ok()) << polled.status();
    dead += polled->dead_lettered;
  }
  ASSERT_EQ(dead, 1);
  EXPECT_EQ(calls.CountOf("poison"), 3);  // max_deliveries
  EXPECT_EQ(PendingCount(), 0);

  auto listed = ListDeadLetters(pool_.get(), kDeadLetter, 10);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u);
  const DeadLetterEntry& letter = listed->front();
  EXPECT_EQ(letter.original_id, ids[1]);
  EXPECT_EQ(letter.stream, kStream);
  EXPECT_EQ(letter.group, kGroup);
  EXPECT_EQ(letter.consumer, "c1");
  EXPECT_EQ(letter.deliveries, 3);
  EXPECT_THAT(letter.error, HasSubstr("payload not understood yet"));
  EXPECT_THAT(letter.fields, ElementsAre(Pair("v", "1"), Pair("e", "poison")));
  EXPECT_EQ(letter.problem, "");
  const std::string dead_id = letter.id;
  const int64_t stream_len = Raw({"XLEN", kStream}).integer;

  // A dry run reports what it would do and changes nothing.
  RedriveOptions dry_run;
  dry_run.dry_run = true;
  auto would = RedriveDeadLetters(pool_.get(), kDeadLetter, dry_run);
  ASSERT_TRUE(would.ok()) << would.status();
  ASSERT_EQ(would->redriven.size(), 1u);
  EXPECT_EQ(would->redriven[0].dead_letter_id, dead_id);
  EXPECT_EQ(would->redriven[0].stream, kStream);
  EXPECT_EQ(would->redriven[0].original_id, ids[1]);
  EXPECT_EQ(would->redriven[0].new_id, "");
  EXPECT_TRUE(would->skipped.empty());
  EXPECT_THAT(StreamIds(kDeadLetter), ElementsAre(dead_id));
  EXPECT_EQ(Raw({"XLEN", kStream}).integer, stream_len);
  auto idle = consumer->PollOnce();
  ASSERT_TRUE(idle.ok()) << idle.status();
  EXPECT_EQ(idle->read, 0);

  fixed = true;
  auto done = RedriveDeadLetters(pool_.get(), kDeadLetter, RedriveOptions{});
  ASSERT_TRUE(done.ok()) << done.status();
  ASSERT_EQ(done->redriven.size(), 1u);
  EXPECT_TRUE(done->skipped.empty());
  const RedrivenEntry& back = done->redriven[0];
  EXPECT_EQ(back.dead_letter_id, dead_id);
  EXPECT_EQ(back.original_id, ids[1]);
  EXPECT_EQ(back.stream, kStream);
  EXPECT_NE(back.new_id, "");
  EXPECT_TRUE(StreamIds(kDeadLetter).empty());
  EXPECT_EQ(Raw({"XLEN", kStream}).integer, stream_len + 1);
  EXPECT_THAT(EntryFields(kStream, back.new_id), ElementsAre(Pair("v", "1"), Pair("e", "poison")));
  // Nothing is left to re-drive: a second run moves nothing.
  auto again = RedriveDeadLetters(pool_.get(), kDeadLetter, RedriveOptions{});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->redriven.empty());
  EXPECT_TRUE(again->skipped.empty());

  auto polled = consumer->PollOnce();
  ASSERT_TRUE(polled.ok()) << polled.status();
  EXPECT_EQ(polled->read, 1);
  EXPECT_EQ(polled->handled, 1);
  EXPECT_EQ(polled->dead_lettered, 0);
  EXPECT_THAT(effects_->Counts(), ElementsAre(Pair("ok-1", 1), Pair("ok-2", 1), Pair("poison", 1)));
  EXPECT_EQ(PendingCount(), 0);
  EXPECT_EQ(calls.CountOf("poison"), 4);
}

TEST_F(StreamConsumerTest, MalformedDeadLettersAreReportedAndLeftInPlace) {
  constexpr char kNotAStream[] = "simpul:cmp:{c}:not-a-stream";
  Raw({"SET", kNotAStream, "x"});
  const std::string good = AddDeadLetter(
      {kDeadLetterIdField, "5-1", kDeadLetterStreamField, kStream, kDeadLetterGroupField, kGroup,
       kDeadLetterConsumerField, "c9", kDeadLetterDeliveriesField, "3", kDeadLetterErrorField,
       "boom", "v", "1", "e", "evt-good"});
  const std::string no_stream = AddDeadLetter({"v", "1", "e", "added-by-hand"});
  const std::string empty_stream = AddDeadLetter({kDeadLetterStreamField, "", "e", "x"});
  const std::string itself = AddDeadLetter({kDeadLetterStreamField, kDeadLetter, "e", "x"});
  const std::string no_fields =
      AddDeadLetter({kDeadLetterIdField, "5-2", kDeadLetterStreamField, kStream});
  const std::string wrong_type = AddDeadLetter({kDeadLetterStreamField, kNotAStream, "e", "x"});
  // Only the leading dead-letter fields are taken off: an original field with such a name
  // further on is the entry's own and goes back with it.
  const std::string own_field = AddDeadLetter(
      {kDeadLetterStreamField, kStream, "e", "evt-own", kDeadLetterErrorField, "its own"});

  auto listed = ListDeadLetters(pool_.get(), kDeadLetter, 100);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 7u);
  std::map<std::string, DeadLetterEntry> by_id;
  for (const DeadLetterEntry& e : *listed) by_id[e.id] = e;
  EXPECT_EQ(by_id[good].problem, "");
  EXPECT_EQ(by_id[good].original_id, "5-1");
  EXPECT_EQ(by_id[good].consumer, "c9");
  EXPECT_EQ(by_id[good].deliveries, 3);
  EXPECT_EQ(by_id[good].error, "boom");
  EXPECT_THAT(by_id[no_stream].problem, HasSubstr("no dead:stream field"));
  EXPECT_THAT(by_id[no_stream].fields, ElementsAre(Pair("v", "1"), Pair("e", "added-by-hand")));
  EXPECT_THAT(by_id[empty_stream].problem, HasSubstr("dead:stream is empty"));
  EXPECT_THAT(by_id[itself].problem, HasSubstr("the dead-letter stream itself"));
  EXPECT_THAT(by_id[no_fields].problem, HasSubstr("no original fields"));
  EXPECT_EQ(by_id[wrong_type].problem, "");  // only Redis can tell
  EXPECT_EQ(by_id[own_field].problem, "");
  EXPECT_EQ(by_id[own_field].error, "");
  EXPECT_THAT(by_id[own_field].fields,
              ElementsAre(Pair("e", "evt-own"), Pair(kDeadLetterErrorField, "its own")));
  // The listing is bounded.
  auto first_two = ListDeadLetters(pool_.get(), kDeadLetter, 2);
  ASSERT_TRUE(first_two.ok());
  ASSERT_EQ(first_two->size(), 2u);
  EXPECT_EQ((*first_two)[1].id, no_stream);

  auto reasons_of = [](const RedriveResult& r) {
    std::map<std::string, std::string> out;
    for (const RedriveSkip& s : r.skipped) out[s.id] = s.reason;
    return out;
  };
  auto check_skips = [&](const RedriveResult& r) {
    std::map<std::string, std::string> reasons = reasons_of(r);
    EXPECT_EQ(reasons.size(), 5u);
    EXPECT_THAT(reasons[no_stream], HasSubstr("no dead:stream field"));
    EXPECT_THAT(reasons[empty_stream], HasSubstr("empty"));
    EXPECT_THAT(reasons[itself], HasSubstr("dead-letter stream itself"));
    EXPECT_THAT(reasons[no_fields], HasSubstr("no original fields"));
    EXPECT_THAT(reasons[wrong_type], HasSubstr("holds a string, not a stream"));
  };
  RedriveOptions dry_run;
  dry_run.dry_run = true;
  auto would = RedriveDeadLetters(pool_.get(), kDeadLetter, dry_run);
  ASSERT_TRUE(would.ok()) << would.status();
  ASSERT_EQ(would->redriven.size(), 2u);
  EXPECT_EQ(would->redriven[0].dead_letter_id, good);
  EXPECT_EQ(would->redriven[1].dead_letter_id, own_field);
  check_skips(*would);
  EXPECT_EQ(StreamIds(kDeadLetter).size(), 7u);
  EXPECT_EQ(Raw({"EXISTS", kStream}).integer, 0);

  auto done = RedriveDeadLetters(pool_.get(), kDeadLetter, RedriveOptions{});
  ASSERT_TRUE(done.ok()) << done.status();
  ASSERT_EQ(done->redriven.size(), 2u);
  check_skips(*done);
  EXPECT_THAT(StreamIds(kDeadLetter),
              ElementsAre(no_stream, empty_stream, itself, no_fields, wrong_type));
  std::vector<std::string> back = StreamIds(kStream);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0], done->redriven[0].new_id);
  EXPECT_THAT(EntryFields(kStream, back[0]), ElementsAre(Pair("v", "1"), Pair("e", "evt-good")));
  EXPECT_THAT(EntryFields(kStream, back[1]),
              ElementsAre(Pair("e", "evt-own"), Pair(kDeadLetterErrorField, "its own")));
  EXPECT_EQ(Raw({"GET", kNotAStream}).str, "x");
  // The entries left in place are skipped again, with the same reasons.
  auto again = RedriveDeadLetters(pool_.get(), kDeadLetter, RedriveOptions{});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->redriven.empty());
  check_skips(*again);
}

TEST_F(StreamConsumerTest, RedriveSelectsEntriesByIdAndStopsAtMax) {
  auto letter = [&](const std::string& event) {
    return AddDeadLetter({kDeadLetterIdField, "9-9", kDeadLetterStreamField, kStream,
                          kDeadLetterDeliveriesField, "3", "v", "1", "e", event});
  };
  const std::string a = letter("evt-a");
  const std::string b = letter("evt-b");
  const std::string c = letter("evt-c");
  const std::string d = letter("evt-d");
  auto events_in_stream = [&] {
    std::vector<std::string> out;
    for (const std::string& id : StreamIds(kStream)) {
      for (const auto& [name, value] : EntryFields(kStream, id)) {
        if (name == "e") out.push_back(value);
      }
    }
    return out;
  };

  // Ids are handled in stream order, each once; unknown and malformed ids are reported.
  RedriveOptions by_id;
  by_id.ids = {c, "1-1", "not-an-id", a, c};
  auto picked = RedriveDeadLetters(pool_.get(), kDeadLetter, by_id);
  ASSERT_TRUE(picked.ok()) << picked.status();
  ASSERT_EQ(picked->redriven.size(), 2u);
  EXPECT_EQ(picked->redriven[0].dead_letter_id, a);
  EXPECT_EQ(picked->redriven[1].dead_letter_id, c);
  ASSERT_EQ(picked->skipped.size(), 2u);
  EXPECT_EQ(picked->skipped[0].id, "not-an-id");
  EXPECT_THAT(picked->skipped[0].reason, HasSubstr("not a stream entry id"));
  EXPECT_EQ(picked->skipped[1].id, "1-1");
  EXPECT_THAT(picked->skipped[1].reason, HasSubstr("not in the dead-letter stream"));
  EXPECT_THAT(StreamIds(kDeadLetter), ElementsAre(b, d));
  EXPECT_THAT(events_in_stream(), ElementsAre("evt-a", "evt-c"));
  // An id already re-driven is not put back twice.
  RedriveOptions repeat;
  repeat.ids = {a};
  auto repeated = RedriveDeadLetters(pool_.get(), kDeadLetter, repeat);
  ASSERT_TRUE(repeated.ok()) << repeated.status();
  EXPECT_TRUE(repeated->redriven.empty());
  ASSERT_EQ(repeated->skipped.size(), 1u);
  EXPECT_EQ(Raw({"XLEN", kStream}).integer, 2);

  // max_entries bounds the entries moved, oldest first.
  RedriveOptions one;
  one.max_entries = 1;
  auto first = RedriveDeadLetters(pool_.get(), kDeadLetter, one);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->redriven.size(), 1u);
  EXPECT_EQ(first->redriven[0].dead_letter_id, b);
  EXPECT_THAT(StreamIds(kDeadLetter), ElementsAre(d));
  EXPECT_THAT(events_in_stream(), ElementsAre("evt-a", "evt-c", "evt-b"));

  // Bad arguments.
  RedriveOptions negative;
  negative.max_entries = -1;
  EXPECT_EQ(RedriveDeadLetters(pool_.get(), kDeadLetter, negative).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RedriveDeadLetters(pool_.get(), "", RedriveOptions{}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ListDeadLetters(pool_.get(), kDeadLetter, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  // An absent dead-letter stream has nothing to list or re-drive.
  auto none = ListDeadLetters(pool_.get(), "simpul:cmp:{c}:no-such-stream", 10);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty());
  auto nothing = RedriveDeadLetters(pool_.get(), "simpul:cmp:{c}:no-such-stream", RedriveOptions{});
  ASSERT_TRUE(nothing.ok()) << nothing.status();
  EXPECT_TRUE(nothing->redriven.empty());

  // Redis down: UNAVAILABLE, and the remaining entry stays where it is.
  server_->Kill();
  EXPECT_EQ(RedriveDeadLetters(pool_.get(), kDeadLetter, RedriveOptions{}).status().code(),
            absl::StatusCode::kUnavailable);
  ASSERT_TRUE(server_->Restart().ok());
  ASSERT_TRUE(WaitFor([&] { return pool_->Ping().ok(); }, absl::Seconds(3)));
  EXPECT_THAT(StreamIds(kDeadLetter), ElementsAre(d));
}

}  // namespace
}  // namespace simpul
