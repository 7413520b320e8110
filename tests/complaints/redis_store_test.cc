// Integration tests of RedisComplaintStore against a real redis-server started per test.
#include "services/complaints/redis_store.h"

#include <algorithm>
#include <functional>
#include <latch>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/redis.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/testing/redis_fixture.h"
#include "tests/testing/redis_sentinel_set.h"

namespace simpul::complaints {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::ContainsRegex;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using Outcome = CommitResult::Outcome;

// The default key prefix, for checking the documented layout directly.
constexpr char kPrefix[] = "simpul:cmp:{c}:";
// 2024-06-03 00:00:00 UTC in Unix milliseconds.
constexpr int64_t kT0 = 1717372800000;

MATCHER_P(EqualsProto, expected, "") { return MessageDifferencer::Equals(arg, expected); }

google::protobuf::Timestamp Ts(int64_t ms) {
  google::protobuf::Timestamp t;
  t.set_seconds(ms / 1000);
  t.set_nanos(static_cast<int32_t>(ms % 1000) * 1000000);
  return t;
}

// NewRecord is a freshly filed, unrouted case (revision 1, one history entry).
v1::ComplaintRecord NewRecord(const std::string& id, int64_t file_ms) {
  v1::ComplaintRecord record;
  v1::Complaint* c = record.mutable_complaint();
  c->set_id(id);
  c->set_report_type(v1::REPORT_TYPE_COMPLAINT);
  c->set_channel(v1::CHANNEL_WEB);
  c->set_channel_name("public");
  c->set_state(v1::STATE_RECEIVED);
  c->set_confidentiality(v1::CONFIDENTIALITY_PUBLIC);
  c->set_title("Antrean KTP-el");
  c->set_description("Antrean perekaman KTP-el tidak dilayani sejak pagi.");
  c->mutable_complainant()->set_name("Siti Rahmawati");
  *c->mutable_file_time() = Ts(file_ms);
  *c->mutable_update_time() = Ts(file_ms);
  c->set_revision(1);
  record.set_secret_sha256(std::string(32, '\x5a'));
  record.set_last_sequence(1);
  return record;
}

void SetDeadline(v1::ComplaintRecord* record, std::optional<int64_t> ms) {
  if (ms) {
    *record->mutable_complaint()->mutable_deadlines()->mutable_next() = Ts(*ms);
  } else {
    record->mutable_complaint()->mutable_deadlines()->clear_next();
  }
}

// EntryAndEvent fills the history entry and the event of `write` from its after record.
void EntryAndEvent(CaseWrite* write, const std::string& action) {
  const v1::Complaint& c = write->after.complaint();
  const int32_t seq = write->after.last_sequence();
  write->entry.set_sequence(seq);
  write->entry.set_action(action);
  *write->entry.mutable_time() = c.update_time();
  write->entry.set_actor("tester");
  write->event.set_event_id(absl::StrCat(c.id(), "/", seq));
  write->event.set_payload_version(1);
  write->event.set_complaint_id(c.id());
  write->event.set_sequence(seq);
  write->event.set_action(action);
  *write->event.mutable_time() = c.update_time();
  write->event.set_agency_id(c.agency_id());
  *write->event.mutable_file_time() = c.file_time();
}

v1::IdempotencyRecord IdemRecord(const std::string& tracking_code) {
  v1::IdempotencyRecord r;
  r.set_request_sha256(std::string(32, '\x11'));
  r.mutable_response()->set_tracking_code(tracking_code);
  return r;
}

// Filing files `record`, with an idempotency claim when `key` is given.
CaseWrite Filing(const v1::ComplaintRecord& record, std::optional<std::string> key = std::nullopt,
                 const std::string& scope = "public", absl::Duration ttl = absl::Hours(24 * 7)) {
  CaseWrite write;
  write.after = record;
  EntryAndEvent(&write, "FileComplaint");
  if (key) {
    write.idempotency = IdempotencyClaim{scope, *key, IdemRecord(record.complaint().id()), ttl};
  }
  return write;
}

// Change is a write from `before`: the next revision and sequence, changed by `mutate`.
CaseWrite Change(const v1::ComplaintRecord& before, const std::string& action,
                 const std::function<void(v1::Complaint*)>& mutate = nullptr) {
  CaseWrite write;
  write.before = before;
  write.after = before;
  v1::Complaint* c = write.after.mutable_complaint();
  c->set_revision(before.complaint().revision() + 1);
  *c->mutable_update_time() = Ts(kT0 + 60000 * c->revision());
  write.after.set_last_sequence(before.last_sequence() + 1);
  if (mutate) mutate(c);
  EntryAndEvent(&write, action);
  return write;
}

class RedisComplaintStoreTest : public simpul::testing::RedisServerTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(RedisServerTest::SetUp());
    Connect();
  }

  void Connect() {
    store_.reset();
    RedisOptions options = ServerOptions();
    options.pool_size = 16;
    pool_ = std::make_unique<RedisPool>(options);
    store_ = std::make_unique<RedisComplaintStore>(
        pool_.get(), RedisComplaintStore::Options{.pii_keys = &keys_});
  }

  // IdentityOf is the identity segment of the stored value of case `id` (layout in
  // redis_store.h), for values whose identity is shorter than 127 bytes.
  std::string IdentityOf(const std::string& id) {
    const std::string raw = Raw({"GET", absl::StrCat(kPrefix, "c:", id)}).str;
    const size_t colon = raw.find(':');
    const size_t n = static_cast<unsigned char>(raw[colon + 1]);
    EXPECT_GT(n, 0u);
    EXPECT_LT(n, 128u);
    return raw.substr(colon + 2, n - 1);
  }

  static PiiKeyring Ring(std::map<std::string, std::string> keys, std::string active = "") {
    absl::StatusOr<PiiKeyring> ring = PiiKeyring::Create(std::move(keys), std::move(active));
    EXPECT_TRUE(ring.ok()) << ring.status();
    return *std::move(ring);
  }

  // Rekey runs RekeyIdentities over the whole keyspace with `store`, `count` keys a step.
  RedisComplaintStore::RekeyStats Rekey(RedisComplaintStore& store, int count = 2) {
    RedisComplaintStore::RekeyStats stats;
    std::string cursor = "0";
    int steps = 0;
    do {
      absl::StatusOr<std::string> next = store.RekeyIdentities(cursor, count, &stats);
      EXPECT_TRUE(next.ok()) << next.status();
      if (!next.ok()) break;
      cursor = *next;
    } while (cursor != "0" && ++steps < 10000);
    return stats;
  }

  PiiKeyring keys_ = Ring({{"k1", std::string(32, '\x11')}});

  CommitResult MustCommit(const CaseWrite& write) {
    absl::StatusOr<CommitResult> result = store_->Commit(write);
    EXPECT_TRUE(result.ok()) << result.status();
    if (!result.ok()) return {};
    EXPECT_EQ(result->outcome, Outcome::kCommitted)
        << "current revision " << result->current_revision;
    return *result;
  }

  // MustFile files a new case and returns its record.
  v1::ComplaintRecord MustFile(const std::string& id, int64_t file_ms,
                               std::optional<int64_t> deadline_ms = std::nullopt) {
    v1::ComplaintRecord record = NewRecord(id, file_ms);
    SetDeadline(&record, deadline_ms);
    MustCommit(Filing(record));
    return record;
  }

  long long StreamLength() { return Raw({"XLEN", absl::StrCat(kPrefix, "events")}).integer; }
  long long HistoryLength(const std::string& id) {
    absl::StatusOr<std::vector<v1::HistoryEntry>> history = store_->History(id);
    EXPECT_TRUE(history.ok()) << history.status();
    return history.ok() ? static_cast<long long>(history->size()) : -1;
  }

  std::vector<std::string> AllKeys() {
    std::vector<std::string> keys;
    for (const RedisReply& k : Raw({"KEYS", "*"}).elements) keys.push_back(k.str);
    std::sort(keys.begin(), keys.end());
    return keys;
  }

  // IndexesHolding lists the index names (store.h) whose sorted set holds `id`, apart from
  // the updated index, which holds every case.
  std::set<std::string> IndexesHolding(const std::string& id) {
    std::set<std::string> out;
    const std::string ix = absl::StrCat(kPrefix, "ix:");
    for (const std::string& key : AllKeys()) {
      if (!absl::StartsWith(key, ix) || key == absl::StrCat(ix, UpdatedIndex())) continue;
      if (!Raw({"ZSCORE", key, id}).is_nil()) out.insert(key.substr(ix.size()));
    }
    return out;
  }

  // Snapshot maps every key to a canonical rendering of its type, contents and stream
  // position (DUMP is not canonical: a reload may reorder a small hash), to show that nothing
  // was written.
  std::map<std::string, std::string> Snapshot() {
    std::map<std::string, std::string> out;
    for (const std::string& key : AllKeys()) {
      const std::string type = Raw({"TYPE", key}).str;
      std::vector<std::string> parts = {type};
      if (type == "string") {
        parts.push_back(Raw({"GET", key}).str);
      } else if (type == "hash") {
        std::map<std::string, std::string> fields;
        const std::vector<RedisReply> flat = Raw({"HGETALL", key}).elements;
        for (size_t i = 0; i + 1 < flat.size(); i += 2) fields[flat[i].str] = flat[i + 1].str;
        for (const auto& [field, value] : fields) parts.insert(parts.end(), {field, value});
      } else if (type == "list") {
        for (const RedisReply& e : Raw({"LRANGE", key, "0", "-1"}).elements) {
          parts.push_back(e.str);
        }
      } else if (type == "zset") {
        for (const RedisReply& e : Raw({"ZRANGE", key, "0", "-1", "WITHSCORES"}).elements) {
          parts.push_back(e.str);
        }
      } else if (type == "stream") {
        for (const RedisReply& entry : Raw({"XRANGE", key, "-", "+"}).elements) {
          parts.push_back(entry.elements[0].str);
          for (const RedisReply& f : entry.elements[1].elements) parts.push_back(f.str);
        }
      }
      std::string rendered;
      for (const std::string& part : parts) absl::StrAppend(&rendered, part.size(), ":", part);
      out[key] = std::move(rendered);
    }
    return out;
  }

  // ChangedKeys lists the keys whose contents differ from `before` (or that appeared or
  // disappeared since).
  std::vector<std::string> ChangedKeys(const std::map<std::string, std::string>& before) {
    const std::map<std::string, std::string> now = Snapshot();
    std::set<std::string> keys;
    for (const auto& [key, value] : before) keys.insert(key);
    for (const auto& [key, value] : now) keys.insert(key);
    std::vector<std::string> changed;
    for (const std::string& key : keys) {
      auto a = before.find(key);
      auto b = now.find(key);
      if (a == before.end() || b == now.end() || a->second != b->second) changed.push_back(key);
    }
    return changed;
  }

  std::vector<IndexedRecord> MustScan(const std::string& index, int64_t from_ms, int64_t to_ms,
                                      const std::optional<IndexPosition>& after, int limit) {
    absl::StatusOr<std::vector<IndexedRecord>> page =
        store_->Scan(index, from_ms, to_ms, after, limit);
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() ? *page : std::vector<IndexedRecord>{};
  }

  // ScanIds pages through a whole window with `page_size`, checking that every page but the
  // last is full and that positions match records.
  std::vector<std::string> ScanIds(const std::string& index, int64_t from_ms = 0,
                                   int64_t to_ms = INT64_MAX, int page_size = 1000) {
    std::vector<std::string> ids;
    std::optional<IndexPosition> after;
    for (int round = 0; round < 10000; ++round) {
      std::vector<IndexedRecord> page = MustScan(index, from_ms, to_ms, after, page_size);
      EXPECT_LE(static_cast<int>(page.size()), page_size);
      for (const IndexedRecord& r : page) {
        EXPECT_EQ(r.position.id, r.record.complaint().id());
        EXPECT_EQ(r.position.file_time_ms, r.record.complaint().file_time().seconds() * 1000 +
                                               r.record.complaint().file_time().nanos() / 1000000);
        ids.push_back(r.position.id);
      }
      if (static_cast<int>(page.size()) < page_size) return ids;
      after = page.back().position;
    }
    ADD_FAILURE() << "scan did not end";
    return ids;
  }

  std::vector<std::string> MustDue(int64_t at_ms, int limit = 100) {
    absl::StatusOr<std::vector<std::string>> due = store_->Due(absl::FromUnixMillis(at_ms), limit);
    EXPECT_TRUE(due.ok()) << due.status();
    return due.ok() ? *due : std::vector<std::string>{};
  }

  std::unique_ptr<RedisComplaintStore> store_;
};

TEST_F(RedisComplaintStoreTest, FilingIsReadBack) {
  EXPECT_EQ(store_->KeyPrefix(), kPrefix);
  EXPECT_EQ(store_->EventStreamKey(), absl::StrCat(kPrefix, "events"));

  v1::ComplaintRecord record = NewRecord("SP-0001", kT0);
  SetDeadline(&record, kT0 + 3000);
  CaseWrite write = Filing(record, "key-1", "sms-1708");
  CommitResult result = MustCommit(write);
  EXPECT_FALSE(result.event_cursor.empty());

  absl::StatusOr<std::optional<v1::ComplaintRecord>> got = store_->Get("SP-0001");
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->has_value());
  EXPECT_THAT(**got, EqualsProto(record));

  absl::StatusOr<std::vector<v1::HistoryEntry>> history = store_->History("SP-0001");
  ASSERT_TRUE(history.ok()) << history.status();
  EXPECT_THAT(*history, ElementsAre(EqualsProto(write.entry)));

  // Every index of the record lists it, with its position; no other index holds it.
  const std::vector<std::string> indexes = IndexesOf(record.complaint());
  EXPECT_THAT(indexes, ElementsAre(AllIndex(), StateIndex(v1::STATE_RECEIVED), UnroutedIndex()));
  for (const std::string& index : indexes) {
    std::vector<IndexedRecord> page = MustScan(index, 0, INT64_MAX, std::nullopt, 10);
    ASSERT_EQ(page.size(), 1u) << index;
    EXPECT_EQ(page[0].position.file_time_ms, kT0);
    EXPECT_EQ(page[0].position.id, "SP-0001");
    EXPECT_THAT(page[0].record, EqualsProto(record));
  }
  EXPECT_EQ(IndexesHolding("SP-0001"), std::set<std::string>(indexes.begin(), indexes.end()));
  EXPECT_THAT(MustScan(StateIndex(v1::STATE_VERIFIED), 0, INT64_MAX, std::nullopt, 10), IsEmpty());

  EXPECT_THAT(MustDue(kT0 + 2999), IsEmpty());
  EXPECT_THAT(MustDue(kT0 + 3000), ElementsAre("SP-0001"));

  absl::StatusOr<std::optional<v1::IdempotencyRecord>> idem =
      store_->GetIdempotency("sms-1708", "key-1");
  ASSERT_TRUE(idem.ok()) << idem.status();
  ASSERT_TRUE(idem->has_value());
  EXPECT_THAT(**idem, EqualsProto(write.idempotency->record));
  // The default TTL of a claim is a week.
  long long pttl = Raw({"PTTL", absl::StrCat(kPrefix, "filed:8:sms-1708:key-1")}).integer;
  EXPECT_GT(pttl, absl::ToInt64Milliseconds(absl::Hours(24 * 7) - absl::Minutes(1)));
  EXPECT_LE(pttl, absl::ToInt64Milliseconds(absl::Hours(24 * 7)));

  // One stream entry {v: "1", e: event} at the returned cursor.
  RedisReply entries = Raw({"XRANGE", store_->EventStreamKey(), "-", "+"});
  ASSERT_EQ(entries.elements.size(), 1u);
  const RedisReply& entry = entries.elements[0];
  ASSERT_EQ(entry.elements.size(), 2u);
  EXPECT_EQ(entry.elements[0].str, result.event_cursor);
  const std::vector<RedisReply>& fields = entry.elements[1].elements;
  ASSERT_EQ(fields.size(), 4u);
  EXPECT_EQ(fields[0].str, "v");
  EXPECT_EQ(fields[1].str, "1");
  EXPECT_EQ(fields[2].str, "e");
  v1::ComplaintEvent event;
  ASSERT_TRUE(event.ParseFromString(fields[3].str));
  EXPECT_THAT(event, EqualsProto(write.event));

  // Every key lives under the prefix, so under its hash tag.
  std::vector<std::string> keys = AllKeys();
  EXPECT_EQ(keys.size(), 8u);  // c, 3 indexes, the updated index, due, idem, events
  for (const std::string& key : keys) EXPECT_TRUE(absl::StartsWith(key, kPrefix)) << key;
}

TEST_F(RedisComplaintStoreTest, UnknownIdsReadAsAbsent) {
  absl::StatusOr<std::optional<v1::ComplaintRecord>> got = store_->Get("nope");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_FALSE(got->has_value());
  absl::StatusOr<std::vector<v1::HistoryEntry>> history = store_->History("nope");
  ASSERT_TRUE(history.ok()) << history.status();
  EXPECT_THAT(*history, IsEmpty());
  absl::StatusOr<std::optional<v1::IdempotencyRecord>> idem = store_->GetIdempotency("a", "b");
  ASSERT_TRUE(idem.ok()) << idem.status();
  EXPECT_FALSE(idem->has_value());
  EXPECT_THAT(MustScan(AllIndex(), 0, INT64_MAX, std::nullopt, 10), IsEmpty());
  EXPECT_THAT(MustDue(kT0), IsEmpty());
}

TEST_F(RedisComplaintStoreTest, StaleRevisionConflictsAndWritesNothing) {
  v1::ComplaintRecord r1 = MustFile("SP-0002", kT0, kT0 + 1000);
  CaseWrite verify = Change(r1, "VerifyComplaint", [](v1::Complaint* c) {
    c->set_state(v1::STATE_VERIFIED);
    c->set_agency_id("kota-bogor");
  });
  MustCommit(verify);
  const v1::ComplaintRecord r2 = verify.after;

  const std::map<std::string, std::string> before = Snapshot();
  const std::set<std::string> indexes_before = IndexesHolding("SP-0002");
  // A change computed from revision 1 while revision 2 is stored.
  CaseWrite stale = Change(r1, "ArchiveComplaint", [](v1::Complaint* c) {
    c->set_state(v1::STATE_ARCHIVED);
    c->mutable_deadlines()->clear_next();
  });
  absl::StatusOr<CommitResult> result = store_->Commit(stale);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outcome, Outcome::kConflict);
  EXPECT_EQ(result->current_revision, 2);
  EXPECT_TRUE(result->event_cursor.empty());

  absl::StatusOr<std::optional<v1::ComplaintRecord>> got = store_->Get("SP-0002");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_THAT(**got, EqualsProto(r2));
  EXPECT_EQ(HistoryLength("SP-0002"), 2);
  EXPECT_EQ(StreamLength(), 2);
  EXPECT_EQ(IndexesHolding("SP-0002"), indexes_before);
  EXPECT_THAT(MustScan(StateIndex(v1::STATE_ARCHIVED), 0, INT64_MAX, std::nullopt, 10), IsEmpty());
  EXPECT_THAT(MustDue(kT0 + 1000), ElementsAre("SP-0002"));
  EXPECT_THAT(ChangedKeys(before), IsEmpty());

  // A change of a case that does not exist conflicts with revision 0.
  v1::ComplaintRecord ghost = NewRecord("SP-GHOST", kT0);
  result = store_->Commit(Change(ghost, "VerifyComplaint"));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outcome, Outcome::kConflict);
  EXPECT_EQ(result->current_revision, 0);
  EXPECT_THAT(ChangedKeys(before), IsEmpty());
}

TEST_F(RedisComplaintStoreTest, FilingAnExistingIdConflicts) {
  v1::ComplaintRecord r1 = MustFile("SP-0003", kT0);
  CaseWrite change =
      Change(r1, "VerifyComplaint", [](v1::Complaint* c) { c->set_state(v1::STATE_VERIFIED); });
  MustCommit(change);
  const std::map<std::string, std::string> before = Snapshot();

  // Same id, filed again (with a fresh idempotency key, which must stay unused).
  v1::ComplaintRecord again = NewRecord("SP-0003", kT0 + 5);
  absl::StatusOr<CommitResult> result = store_->Commit(Filing(again, "fresh-key"));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outcome, Outcome::kConflict);
  EXPECT_EQ(result->current_revision, 2);
  EXPECT_THAT(ChangedKeys(before), IsEmpty());
  absl::StatusOr<std::optional<v1::IdempotencyRecord>> idem =
      store_->GetIdempotency("public", "fresh-key");
  ASSERT_TRUE(idem.ok()) << idem.status();
  EXPECT_FALSE(idem->has_value());
  absl::StatusOr<std::optional<v1::ComplaintRecord>> got = store_->Get("SP-0003");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_THAT(**got, EqualsProto(change.after));
}

TEST_F(RedisComplaintStoreTest, IdempotencyReplayReturnsTheStoredRecordAndWritesNothing) {
  CaseWrite first = Filing(NewRecord("SP-0100", kT0), "retry-7", "sms-1708");
  MustCommit(first);
  const std::map<std::string, std::string> before = Snapshot();

  // A retry whose filing got a new id: the key wins, nothing is written.
  CaseWrite retry = Filing(NewRecord("SP-0101", kT0 + 10), "retry-7", "sms-1708");
  absl::StatusOr<CommitResult> result = store_->Commit(retry);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outcome, Outcome::kIdempotentReplay);
  EXPECT_THAT(result->replay, EqualsProto(first.idempotency->record));
  EXPECT_EQ(result->replay.response().tracking_code(), "SP-0100");
  EXPECT_THAT(ChangedKeys(before), IsEmpty());
  absl::StatusOr<std::optional<v1::ComplaintRecord>> got = store_->Get("SP-0101");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_FALSE(got->has_value());
  EXPECT_EQ(StreamLength(), 1);
  EXPECT_EQ(ScanIds(AllIndex()), std::vector<std::string>{"SP-0100"});

  // The key is checked before the id: a retry with the original id replays too.
  result = store_->Commit(Filing(NewRecord("SP-0100", kT0), "retry-7", "sms-1708"));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outcome, Outcome::kIdempotentReplay);
  EXPECT_THAT(ChangedKeys(before), IsEmpty());
}

TEST_F(RedisComplaintStoreTest, ConcurrentFilingsWithOneKeyCommitOnce) {
  constexpr int kThreads = 16;
  std::vector<absl::StatusOr<CommitResult>> results(kThreads, absl::UnknownError("not run"));
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      CaseWrite write = Filing(NewRecord(absl::StrCat("SP-C", i), kT0 + i), "same-key", "web-1");
      start.arrive_and_wait();
      results[i] = store_->Commit(write);
    });
  }
  for (std::thread& t : threads) t.join();

  std::vector<int> winners;
  for (int i = 0; i < kThreads; ++i) {
    ASSERT_TRUE(results[i].ok()) << i << ": " << results[i].status();
    if (results[i]->outcome == Outcome::kCommitted) winners.push_back(i);
  }
  ASSERT_EQ(winners.size(), 1u);
  const std::string winner = absl::StrCat("SP-C", winners[0]);
  for (int i = 0; i < kThreads; ++i) {
    if (i == winners[0]) continue;
    EXPECT_EQ(results[i]->outcome, Outcome::kIdempotentReplay) << i;
    EXPECT_THAT(results[i]->replay, EqualsProto(IdemRecord(winner))) << i;
  }
  for (int i = 0; i < kThreads; ++i) {
    absl::StatusOr<std::optional<v1::ComplaintRecord>> got = store_->Get(absl::StrCat("SP-C", i));
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->has_value(), i == winners[0]) << i;
  }
  EXPECT_EQ(StreamLength(), 1);
  EXPECT_EQ(ScanIds(AllIndex()), std::vector<std::string>{winner});
}

TEST_F(RedisComplaintStoreTest, SameKeyInTwoChannelsFilesTwice) {
  MustCommit(Filing(NewRecord("SP-0200", kT0), "k1", "sms-1708"));
  MustCommit(Filing(NewRecord("SP-0201", kT0), "k1", "web-1"));
  // Channel and key are kept apart even when they contain the separator.
  MustCommit(Filing(NewRecord("SP-0202", kT0), "b:c", "a"));
  MustCommit(Filing(NewRecord("SP-0203", kT0), "c", "a:b"));
  EXPECT_EQ(StreamLength(), 4);
  const std::vector<std::pair<std::string, std::string>> claims = {
      {"sms-1708", "k1"}, {"web-1", "k1"}, {"a", "b:c"}, {"a:b", "c"}};
  for (size_t i = 0; i < claims.size(); ++i) {
    absl::StatusOr<std::optional<v1::IdempotencyRecord>> idem =
        store_->GetIdempotency(claims[i].first, claims[i].second);
    ASSERT_TRUE(idem.ok()) << idem.status();
    ASSERT_TRUE(idem->has_value()) << i;
    EXPECT_EQ((*idem)->response().tracking_code(), absl::StrCat("SP-020", i));
  }
}

TEST_F(RedisComplaintStoreTest, StateChangeMovesTheCaseBetweenIndexes) {
  v1::ComplaintRecord filed = MustFile("SP-0300", kT0);
  EXPECT_EQ(IndexesHolding("SP-0300"),
            (std::set<std::string>{AllIndex(), StateIndex(v1::STATE_RECEIVED), UnroutedIndex()}));

  CaseWrite verify = Change(filed, "VerifyComplaint", [](v1::Complaint* c) {
    c->set_state(v1::STATE_VERIFIED);
    c->set_agency_id("kota-bogor");
    c->set_unit_id("dpmptsp-bogor");
  });
  MustCommit(verify);
  const std::set<std::string> verified = {AllIndex(), StateIndex(v1::STATE_VERIFIED),
                                          AgencyStateIndex("kota-bogor", v1::STATE_VERIFIED),
                                          UnitStateIndex("dpmptsp-bogor", v1::STATE_VERIFIED),
                                          PublicIndex()};
  EXPECT_EQ(IndexesHolding("SP-0300"), verified);
  EXPECT_THAT(ScanIds(StateIndex(v1::STATE_RECEIVED)), IsEmpty());
  EXPECT_THAT(ScanIds(UnroutedIndex()), IsEmpty());
  EXPECT_THAT(ScanIds(StateIndex(v1::STATE_VERIFIED)), ElementsAre("SP-0300"));
  EXPECT_THAT(ScanIds(AgencyStateIndex("kota-bogor", v1::STATE_VERIFIED)), ElementsAre("SP-0300"));
  EXPECT_THAT(ScanIds(PublicIndex()), ElementsAre("SP-0300"));

  // Disposed and made secret: leaves the VERIFIED indexes and the public listing.
  CaseWrite dispose = Change(verify.after, "DisposeComplaint", [](v1::Complaint* c) {
    c->set_state(v1::STATE_DISPOSED);
    c->set_confidentiality(v1::CONFIDENTIALITY_SECRET);
  });
  MustCommit(dispose);
  EXPECT_EQ(IndexesHolding("SP-0300"),
            (std::set<std::string>{AllIndex(), StateIndex(v1::STATE_DISPOSED),
                                   AgencyStateIndex("kota-bogor", v1::STATE_DISPOSED),
                                   UnitStateIndex("dpmptsp-bogor", v1::STATE_DISPOSED)}));
  std::vector<IndexedRecord> page =
      MustScan(AgencyIndex("kota-bogor"), 0, INT64_MAX, std::nullopt, 10);
  ASSERT_EQ(page.size(), 1u);
  EXPECT_THAT(page[0].record, EqualsProto(dispose.after));
}

TEST_F(RedisComplaintStoreTest, ScanPaginatesThroughEqualFilingTimes) {
  // 300 cases: 50 filed one per millisecond before kT0, 200 in the same millisecond kT0 and 50
  // after it. Ids mix upper case, lower case and punctuation, so bytewise order matters.
  const char* kLead[] = {"Z", "a", "B", "-", "b"};
  std::vector<std::pair<int64_t, std::string>> expected;
  for (int i = 0; i < 300; ++i) {
    int64_t ms = i < 50 ? kT0 - 50 + i : (i < 250 ? kT0 : kT0 + 1 + (i - 250));
    std::string id = absl::StrFormat("%s%05d", kLead[(i * 7) % 5], (i * 7919) % 10007);
    // Commit out of order, so the index order is the store's doing.
    expected.emplace_back(ms, id);
  }
  std::vector<std::pair<int64_t, std::string>> shuffled = expected;
  std::reverse(shuffled.begin(), shuffled.end());
  for (const auto& [ms, id] : shuffled) MustFile(id, ms);
  std::sort(expected.begin(), expected.end());  // std::string compares bytewise
  const std::set<std::pair<int64_t, std::string>> distinct(expected.begin(), expected.end());
  ASSERT_EQ(distinct.size(), 300u);

  auto ids_of = [](const std::vector<std::pair<int64_t, std::string>>& items) {
    std::vector<std::string> ids;
    for (const auto& item : items) ids.push_back(item.second);
    return ids;
  };
  auto window = [&](int64_t from, int64_t to) {
    std::vector<std::pair<int64_t, std::string>> out;
    for (const auto& item : expected) {
      if (item.first >= from && item.first < to) out.push_back(item);
    }
    return out;
  };

  // Whole index, pages of 7: every id exactly once, in (filing time, id) order.
  EXPECT_EQ(ScanIds(AllIndex(), 0, INT64_MAX, 7), ids_of(expected));
  // The windows [from, to).
  EXPECT_EQ(ScanIds(AllIndex(), kT0, kT0 + 1, 7), ids_of(window(kT0, kT0 + 1)));
  EXPECT_EQ(ScanIds(AllIndex(), kT0, kT0 + 1, 7).size(), 200u);
  EXPECT_EQ(ScanIds(AllIndex(), kT0 - 10, kT0 + 5, 7), ids_of(window(kT0 - 10, kT0 + 5)));
  EXPECT_EQ(ScanIds(AllIndex(), kT0 - 10, kT0 + 5, 7).size(), 10u + 200u + 4u);
  EXPECT_EQ(ScanIds(AllIndex(), kT0 + 1, kT0 + 51, 7), ids_of(window(kT0 + 1, kT0 + 51)));
  EXPECT_THAT(ScanIds(AllIndex(), kT0 + 51, kT0 + 100, 7), IsEmpty());
  EXPECT_THAT(ScanIds(AllIndex(), kT0, kT0, 7), IsEmpty());

  // After a position that is not a member, in the middle of the equal-time run.
  const std::vector<std::pair<int64_t, std::string>> run = window(kT0, kT0 + 1);
  const IndexPosition between{kT0, run[99].second + "\x01"};
  std::vector<IndexedRecord> page = MustScan(AllIndex(), 0, INT64_MAX, between, 3);
  ASSERT_EQ(page.size(), 3u);
  EXPECT_EQ(page[0].position.id, run[100].second);
  EXPECT_EQ(page[2].position.id, run[102].second);
  // After the last of the run: the first case filed after it.
  page = MustScan(AllIndex(), 0, INT64_MAX, IndexPosition{kT0, run.back().second}, 1);
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].position.file_time_ms, kT0 + 1);
  // A position before the window starts at the window.
  page = MustScan(AllIndex(), kT0, kT0 + 1, IndexPosition{kT0 - 20, "zzz"}, 2);
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].position.id, run[0].second);

  // A record that disappears is skipped and the page is still filled.
  ASSERT_EQ(Raw({"DEL", absl::StrCat(kPrefix, "c:", expected[3].second)}).integer, 1);
  page = MustScan(AllIndex(), 0, INT64_MAX, std::nullopt, 7);
  std::vector<std::string> got;
  for (const IndexedRecord& r : page) got.push_back(r.position.id);
  std::vector<std::string> want = ids_of(expected);
  want.erase(want.begin() + 3);
  want.resize(7);
  EXPECT_EQ(got, want);

  absl::StatusOr<std::vector<IndexedRecord>> bad = store_->Scan(AllIndex(), 0, 1, std::nullopt, 0);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(RedisComplaintStoreTest, DueListsEarliestFirstAndFollowsDeadlines) {
  v1::ComplaintRecord a = MustFile("SP-A", kT0, kT0 + 3000);
  v1::ComplaintRecord b = MustFile("SP-B", kT0, kT0 + 1000);
  MustFile("SP-C", kT0, kT0 + 2000);
  MustFile("SP-NONE", kT0);  // no deadline: never due

  EXPECT_THAT(MustDue(kT0 + 999), IsEmpty());
  EXPECT_THAT(MustDue(kT0 + 1000), ElementsAre("SP-B"));
  EXPECT_THAT(MustDue(kT0 + 2500), ElementsAre("SP-B", "SP-C"));
  EXPECT_THAT(MustDue(kT0 + 60000), ElementsAre("SP-B", "SP-C", "SP-A"));
  EXPECT_THAT(MustDue(kT0 + 60000, 2), ElementsAre("SP-B", "SP-C"));
  absl::StatusOr<std::vector<std::string>> all = store_->Due(absl::InfiniteFuture(), 10);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_THAT(*all, ElementsAre("SP-B", "SP-C", "SP-A"));

  // A's deadline moves to the front.
  CaseWrite move = Change(a, "Escalate", [](v1::Complaint* c) {
    *c->mutable_deadlines()->mutable_next() = Ts(kT0 + 500);
  });
  MustCommit(move);
  EXPECT_THAT(MustDue(kT0 + 60000), ElementsAre("SP-A", "SP-B", "SP-C"));
  EXPECT_THAT(MustDue(kT0 + 500), ElementsAre("SP-A"));

  // B no longer has a deadline: it leaves the queue.
  MustCommit(Change(b, "Complete", [](v1::Complaint* c) { c->mutable_deadlines()->clear_next(); }));
  EXPECT_THAT(MustDue(kT0 + 60000), ElementsAre("SP-A", "SP-C"));

  // A deadline inside a millisecond is never reported early.
  v1::ComplaintRecord d = NewRecord("SP-D", kT0);
  google::protobuf::Timestamp next = Ts(kT0 + 10000);
  next.set_nanos(next.nanos() + 500000);  // +0.5 ms
  *d.mutable_complaint()->mutable_deadlines()->mutable_next() = next;
  MustCommit(Filing(d));
  absl::StatusOr<std::vector<std::string>> early =
      store_->Due(absl::FromUnixMillis(kT0 + 10000) + absl::Microseconds(499), 10);
  ASSERT_TRUE(early.ok()) << early.status();
  EXPECT_THAT(*early, ElementsAre("SP-A", "SP-C"));
  EXPECT_THAT(MustDue(kT0 + 10001), ElementsAre("SP-A", "SP-C", "SP-D"));

  absl::StatusOr<std::vector<std::string>> bad = store_->Due(absl::Now(), 0);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(RedisComplaintStoreTest, HistoryKeepsOrderOverCommits) {
  CaseWrite filing = Filing(NewRecord("SP-0400", kT0));
  MustCommit(filing);
  std::vector<v1::HistoryEntry> written = {filing.entry};
  v1::ComplaintRecord current = filing.after;
  const std::vector<std::pair<std::string, v1::State>> steps = {
      {"VerifyComplaint", v1::STATE_VERIFIED},
      {"DisposeComplaint", v1::STATE_DISPOSED},
      {"StartWork", v1::STATE_IN_PROGRESS},
      {"RespondToComplaint", v1::STATE_RESPONDED},
      {"AutoComplete", v1::STATE_COMPLETED}};
  for (const auto& [action, state] : steps) {
    CaseWrite change =
        Change(current, action, [state = state](v1::Complaint* c) { c->set_state(state); });
    MustCommit(change);
    written.push_back(change.entry);
    current = change.after;
  }
  absl::StatusOr<std::vector<v1::HistoryEntry>> history = store_->History("SP-0400");
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->size(), 6u);
  std::vector<::testing::Matcher<v1::HistoryEntry>> matchers;
  for (const v1::HistoryEntry& e : written) matchers.push_back(EqualsProto(e));
  EXPECT_THAT(*history, ElementsAreArray(matchers));
  for (size_t i = 0; i < history->size(); ++i) EXPECT_EQ((*history)[i].sequence(), i + 1);
  EXPECT_EQ((*history)[5].action(), "AutoComplete");
  EXPECT_EQ(StreamLength(), 6);
}

TEST_F(RedisComplaintStoreTest, IdempotencyRecordExpires) {
  MustCommit(Filing(NewRecord("SP-0500", kT0), "short", "public", absl::Milliseconds(200)));
  long long pttl = Raw({"PTTL", absl::StrCat(kPrefix, "filed:6:public:short")}).integer;
  EXPECT_GT(pttl, 0);
  EXPECT_LE(pttl, 200);

  const absl::Time give_up = absl::Now() + absl::Seconds(5);
  bool expired = false;
  while (absl::Now() < give_up) {
    absl::StatusOr<std::optional<v1::IdempotencyRecord>> idem =
        store_->GetIdempotency("public", "short");
    ASSERT_TRUE(idem.ok()) << idem.status();
    if (!idem->has_value()) {
      expired = true;
      break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_TRUE(expired);
  // The key is free again: a new filing with it commits.
  MustCommit(Filing(NewRecord("SP-0501", kT0), "short", "public"));
  absl::StatusOr<std::optional<v1::IdempotencyRecord>> idem =
      store_->GetIdempotency("public", "short");
  ASSERT_TRUE(idem.ok() && idem->has_value());
  EXPECT_EQ((*idem)->response().tracking_code(), "SP-0501");
}

TEST_F(RedisComplaintStoreTest, EverythingSurvivesARedisRestart) {
  CaseWrite filing = Filing(NewRecord("SP-0600", kT0), "persist", "sms-1708");
  SetDeadline(&filing.after, kT0 + 1000);
  MustCommit(filing);
  CaseWrite verify = Change(filing.after, "VerifyComplaint", [](v1::Complaint* c) {
    c->set_state(v1::STATE_VERIFIED);
    c->set_agency_id("kota-bogor");
    *c->mutable_deadlines()->mutable_next() = Ts(kT0 + 2000);
  });
  MustCommit(verify);
  MustFile("SP-0601", kT0 + 1, kT0 + 1500);
  const std::map<std::string, std::string> before = Snapshot();

  server_->Kill();
  ASSERT_TRUE(server_->Restart().ok());
  Connect();

  EXPECT_THAT(ChangedKeys(before), IsEmpty());
  absl::StatusOr<std::optional<v1::ComplaintRecord>> got = store_->Get("SP-0600");
  ASSERT_TRUE(got.ok() && got->has_value()) << got.status();
  EXPECT_THAT(**got, EqualsProto(verify.after));
  absl::StatusOr<std::vector<v1::HistoryEntry>> history = store_->History("SP-0600");
  ASSERT_TRUE(history.ok()) << history.status();
  EXPECT_THAT(*history, ElementsAre(EqualsProto(filing.entry), EqualsProto(verify.entry)));
  EXPECT_THAT(ScanIds(AllIndex()), ElementsAre("SP-0600", "SP-0601"));
  EXPECT_THAT(ScanIds(AgencyStateIndex("kota-bogor", v1::STATE_VERIFIED)), ElementsAre("SP-0600"));
  EXPECT_THAT(MustDue(kT0 + 5000), ElementsAre("SP-0601", "SP-0600"));
  EXPECT_EQ(StreamLength(), 3);
  absl::StatusOr<std::optional<v1::IdempotencyRecord>> idem =
      store_->GetIdempotency("sms-1708", "persist");
  ASSERT_TRUE(idem.ok() && idem->has_value());
  EXPECT_THAT(**idem, EqualsProto(filing.idempotency->record));

  // Revisions survive too: a stale write still conflicts, the current one commits.
  absl::StatusOr<CommitResult> stale = store_->Commit(Change(filing.after, "Archive"));
  ASSERT_TRUE(stale.ok()) << stale.status();
  EXPECT_EQ(stale->outcome, Outcome::kConflict);
  EXPECT_EQ(stale->current_revision, 2);
  MustCommit(Change(verify.after, "DisposeComplaint"));
}

TEST_F(RedisComplaintStoreTest, RedisDownIsUnavailable) {
  MustFile("SP-0700", kT0);
  server_->Kill();
  absl::StatusOr<std::optional<v1::ComplaintRecord>> got = store_->Get("SP-0700");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnavailable) << got.status();
  absl::StatusOr<CommitResult> result = store_->Commit(Filing(NewRecord("SP-0701", kT0)));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable) << result.status();
  absl::StatusOr<std::vector<IndexedRecord>> page =
      store_->Scan(AllIndex(), 0, INT64_MAX, std::nullopt, 10);
  EXPECT_EQ(page.status().code(), absl::StatusCode::kUnavailable) << page.status();
}

TEST_F(RedisComplaintStoreTest, CorruptValuesAreInternalNamingTheKey) {
  MustFile("SP-0800", kT0);
  const std::string record_key = absl::StrCat(kPrefix, "c:SP-0800");
  const std::string garbage = "\x07garbage";
  Raw({"SET", record_key, absl::StrCat("1:", garbage)});
  absl::StatusOr<std::optional<v1::ComplaintRecord>> got = store_->Get("SP-0800");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(got.status().message(), HasSubstr(record_key));
  absl::StatusOr<std::vector<IndexedRecord>> page =
      store_->Scan(AllIndex(), 0, INT64_MAX, std::nullopt, 10);
  EXPECT_EQ(page.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(page.status().message(), HasSubstr(record_key));

  absl::StatusOr<std::vector<v1::HistoryEntry>> history = store_->History("SP-0800");
  EXPECT_EQ(history.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(history.status().message(), HasSubstr(record_key));
  // A change of a corrupt case fails without writing.
  absl::StatusOr<CommitResult> change = store_->Commit(Change(NewRecord("SP-0800", kT0), "Verify"));
  EXPECT_EQ(change.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(change.status().message(), HasSubstr(record_key));

  const std::string idem_key = absl::StrCat(kPrefix, "filed:6:public:bad");
  Raw({"SET", idem_key, garbage});
  absl::StatusOr<std::optional<v1::IdempotencyRecord>> idem =
      store_->GetIdempotency("public", "bad");
  EXPECT_EQ(idem.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(idem.status().message(), HasSubstr(idem_key));
  absl::StatusOr<CommitResult> replay = store_->Commit(Filing(NewRecord("SP-0801", kT0), "bad"));
  EXPECT_EQ(replay.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(replay.status().message(), HasSubstr(idem_key));
}

TEST_F(RedisComplaintStoreTest, LegacyIdempotencyRecordsWithSecretsInClearAreDropped) {
  // Records of the earlier layout held the secret in clear, under P idem:<n>:<channel>:<key>.
  v1::IdempotencyRecord legacy = IdemRecord("SP-0950");
  legacy.mutable_response()->set_secret("RAJA-AERE-CB1W-N8GA");
  for (int i = 0; i < 2500; ++i) {
    Raw({"SET", absl::StrCat(kPrefix, "idem:8:sms-1708:key-", i), legacy.SerializeAsString(), "PX",
         "600000"});
  }
  MustFile("SP-0951", kT0);
  ASSERT_TRUE(
      store_->Commit(Filing(NewRecord("SP-0952", kT0), "kept-key", "ROLE_CHANNEL/8:x/y")).ok());
  Raw({"SET", "other:idem:1", "not the store's"});

  absl::StatusOr<int64_t> dropped = store_->DropLegacyIdempotencyRecords();
  ASSERT_TRUE(dropped.ok()) << dropped.status();
  EXPECT_EQ(*dropped, 2500);
  RedisReply left = Raw({"KEYS", "*"});
  std::set<std::string> keys;
  for (const RedisReply& k : left.elements) keys.insert(k.str);
  for (const std::string& k : keys) {
    EXPECT_FALSE(absl::StrContains(k, "idem:8:")) << k;
    EXPECT_FALSE(absl::StrContains(Raw({"DUMP", k}).str, "RAJA-AERE-CB1W-N8GA")) << k;
  }
  EXPECT_TRUE(keys.contains("other:idem:1"));
  EXPECT_TRUE(keys.contains(absl::StrCat(kPrefix, "filed:18:ROLE_CHANNEL/8:x/y:kept-key")));
  auto kept = store_->GetIdempotency("ROLE_CHANNEL/8:x/y", "kept-key");
  ASSERT_TRUE(kept.ok() && kept->has_value());
  EXPECT_TRUE(store_->Get("SP-0951")->has_value());
  // Running it again finds nothing.
  EXPECT_EQ(*store_->DropLegacyIdempotencyRecords(), 0);
  // The complete pass is remembered: later starts do not scan the keyspace again.
  EXPECT_EQ(Raw({"EXISTS", absl::StrCat(kPrefix, "migrated:idem-v2")}).integer, 1);
  Raw({"SET", absl::StrCat(kPrefix, "idem:8:sms-1708:late"), legacy.SerializeAsString(), "PX",
       "600000"});
  EXPECT_EQ(*store_->DropLegacyIdempotencyRecords(), 0);
}

TEST_F(RedisComplaintStoreTest, KeyOfTheWrongTypeFailsBeforeWriting) {
  MustFile("SP-0900", kT0);
  // The unrouted index is clobbered with a string: a filing that would add to it fails whole.
  const std::string unrouted = absl::StrCat(kPrefix, "ix:", UnroutedIndex());
  Raw({"DEL", unrouted});
  Raw({"SET", unrouted, "not a sorted set"});
  const std::map<std::string, std::string> before = Snapshot();
  absl::StatusOr<CommitResult> result = store_->Commit(Filing(NewRecord("SP-0901", kT0), "w"));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInternal) << result.status();
  EXPECT_THAT(result.status().message(), HasSubstr(unrouted));
  EXPECT_THAT(ChangedKeys(before), IsEmpty());
}

TEST_F(RedisComplaintStoreTest, MalformedWritesAreInvalidArguments) {
  v1::ComplaintRecord filed = MustFile("SP-1000", kT0);
  const std::map<std::string, std::string> before = Snapshot();

  CaseWrite no_id = Filing(NewRecord("", kT0));
  CaseWrite bad_filing_revision = Filing(NewRecord("SP-1001", kT0));
  bad_filing_revision.after.mutable_complaint()->set_revision(2);
  CaseWrite skipped_revision = Change(filed, "Verify");
  skipped_revision.after.mutable_complaint()->set_revision(3);
  CaseWrite other_id = Change(filed, "Verify");
  other_id.after.mutable_complaint()->set_id("SP-1002");
  CaseWrite claim_on_change = Change(filed, "Verify");
  claim_on_change.idempotency = IdempotencyClaim{"public", "k", IdemRecord("SP-1000")};
  CaseWrite empty_key = Filing(NewRecord("SP-1003", kT0), "");
  CaseWrite zero_ttl = Filing(NewRecord("SP-1004", kT0), "k", "public", absl::ZeroDuration());
  for (const CaseWrite* write : {&no_id, &bad_filing_revision, &skipped_revision, &other_id,
                                 &claim_on_change, &empty_key, &zero_ttl}) {
    absl::StatusOr<CommitResult> result = store_->Commit(*write);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << result.status();
  }
  EXPECT_THAT(ChangedKeys(before), IsEmpty());
}

TEST_F(RedisComplaintStoreTest, AgencyAndUnitIndexesAreTheUnionOfTheirStates) {
  // 160 cases of one agency and unit in four states, 60 of them in one millisecond, and 20 of
  // another agency; the agency and unit listings merge the per-state indexes.
  const v1::State kStates[] = {v1::STATE_RECEIVED, v1::STATE_VERIFIED, v1::STATE_IN_PROGRESS,
                               v1::STATE_COMPLETED};
  const char* kLead[] = {"Z", "a", "B", "-", "b"};
  std::vector<std::pair<int64_t, std::string>> expected;
  for (int i = 0; i < 180; ++i) {
    const int64_t ms = i < 60 ? kT0 : kT0 + 1 + (i * 37) % 500;
    const std::string id = absl::StrFormat("%s%05d", kLead[(i * 7) % 5], (i * 7919) % 10007);
    v1::ComplaintRecord record = NewRecord(id, ms);
    v1::Complaint* c = record.mutable_complaint();
    c->set_state(kStates[i % 4]);
    c->set_agency_id(i < 160 ? "kota-bogor" : "kota-depok");
    c->set_unit_id(i < 160 ? "dpmptsp-bogor" : "dpmptsp-depok");
    MustCommit(Filing(record));
    if (i < 160) expected.emplace_back(ms, id);
  }
  std::sort(expected.begin(), expected.end());
  std::vector<std::string> want;
  for (const auto& item : expected) want.push_back(item.second);
  EXPECT_EQ(ScanIds(AgencyIndex("kota-bogor"), 0, INT64_MAX, 7), want);
  EXPECT_EQ(ScanIds(UnitIndex("dpmptsp-bogor"), 0, INT64_MAX, 13), want);
  EXPECT_EQ(ScanIds(AgencyIndex("kota-bogor"), 0, INT64_MAX, 1000), want);
  std::vector<std::string> first_ms(want.begin(), want.begin() + 60);
  EXPECT_EQ(ScanIds(AgencyIndex("kota-bogor"), kT0, kT0 + 1, 7), first_ms);
  EXPECT_EQ(ScanIds(UnitIndex("dpmptsp-depok"), 0, INT64_MAX, 7).size(), 20u);
  EXPECT_EQ(ScanIds(AgencyStateIndex("kota-bogor", v1::STATE_VERIFIED), 0, INT64_MAX, 7).size(),
            40u);
}

TEST_F(RedisComplaintStoreTest, CaseValueSealsIdentityAndRoundTrips) {
  v1::ComplaintRecord with = MustFile("SP-1200", kT0);
  v1::ComplaintRecord without = NewRecord("SP-1201", kT0);
  without.mutable_complaint()->clear_complainant();
  MustCommit(Filing(without));
  v1::ComplaintRecord empty = NewRecord("SP-1202", kT0);
  empty.mutable_complaint()->mutable_complainant()->Clear();  // present, but empty
  MustCommit(Filing(empty));
  for (const v1::ComplaintRecord* r : {&with, &without, &empty}) {
    absl::StatusOr<std::optional<v1::ComplaintRecord>> got = store_->Get(r->complaint().id());
    ASSERT_TRUE(got.ok() && got->has_value()) << got.status();
    EXPECT_THAT(**got, EqualsProto(*r));
  }
  // The identity is sealed under the active key (AES-256-GCM, the key id in clear), the rest
  // compressed: no byte of the name is stored in clear.
  const std::string raw = Raw({"GET", absl::StrCat(kPrefix, "c:SP-1200")}).str;
  EXPECT_TRUE(absl::StartsWith(raw, "1:")) << raw;
  EXPECT_THAT(raw, Not(HasSubstr("Siti")));
  EXPECT_THAT(raw, Not(HasSubstr("Rahmawati")));
  EXPECT_EQ(*PiiKeyring::KeyIdOf(IdentityOf("SP-1200")), "k1");

  // Changes append to the history in order and keep the latest record.
  std::vector<CaseWrite> writes;
  v1::ComplaintRecord current = with;
  for (const char* action : {"VerifyComplaint", "DisposeComplaint", "StartWork"}) {
    writes.push_back(Change(current, action, [](v1::Complaint* c) {
      c->mutable_complainant()->set_phone("+62 812-0000-1111");
    }));
    MustCommit(writes.back());
    current = writes.back().after;
  }
  absl::StatusOr<std::vector<v1::HistoryEntry>> history = store_->History("SP-1200");
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->size(), 4u);
  for (size_t i = 0; i < writes.size(); ++i) {
    EXPECT_THAT((*history)[i + 1], EqualsProto(writes[i].entry));
  }
  absl::StatusOr<std::optional<v1::ComplaintRecord>> got = store_->Get("SP-1200");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_THAT(**got, EqualsProto(current));
  const std::string changed = Raw({"GET", absl::StrCat(kPrefix, "c:SP-1200")}).str;
  EXPECT_THAT(changed, Not(HasSubstr("0000-1111")));
  EXPECT_THAT(changed, Not(HasSubstr("Siti")));
}

TEST_F(RedisComplaintStoreTest, SealedIdentityCannotBeMovedToAnotherCase) {
  MustFile("SP-1210", kT0);
  MustFile("SP-1211", kT0);
  const std::string a = IdentityOf("SP-1210");
  const std::string b = IdentityOf("SP-1211");
  ASSERT_EQ(a.size(), b.size());
  const std::string key_b = absl::StrCat(kPrefix, "c:SP-1211");
  std::string raw_b = Raw({"GET", key_b}).str;
  raw_b.replace(raw_b.find(b), b.size(), a);
  Raw({"SET", key_b, raw_b});
  absl::StatusOr<std::optional<v1::ComplaintRecord>> got = store_->Get("SP-1211");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss) << got.status();
  EXPECT_THAT(got.status().message(), HasSubstr(key_b));
  EXPECT_THAT(got.status().message(), Not(HasSubstr("Siti")));
  // The case it came from still opens.
  EXPECT_TRUE(store_->Get("SP-1210").ok());
  // A store without the key cannot read identities, and says why.
  RedisComplaintStore keyless(pool_.get(), {});
  EXPECT_EQ(keyless.Get("SP-1210").status().code(), absl::StatusCode::kFailedPrecondition);
  PiiKeyring wrong = Ring({{"k1", std::string(32, '\x22')}});
  RedisComplaintStore wrong_key(pool_.get(), {.pii_keys = &wrong});
  EXPECT_EQ(wrong_key.Get("SP-1210").status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(RedisComplaintStoreTest, IdentitiesInClearAreReadAndResealed) {
  // A store without a key ring writes identities in clear, as versions before issue #13 did.
  RedisComplaintStore legacy(pool_.get(), {});
  v1::ComplaintRecord old_case = NewRecord("SP-1300", kT0);
  v1::ComplaintRecord changed_case = NewRecord("SP-1301", kT0);
  v1::ComplaintRecord anonymous = NewRecord("SP-1302", kT0);
  anonymous.mutable_complaint()->clear_complainant();
  for (const v1::ComplaintRecord* r : {&old_case, &changed_case, &anonymous}) {
    ASSERT_TRUE(legacy.Commit(Filing(*r)).ok());
  }
  EXPECT_THAT(Raw({"GET", absl::StrCat(kPrefix, "c:SP-1300")}).str, HasSubstr("Siti Rahmawati"));
  // They are read as before.
  absl::StatusOr<std::optional<v1::ComplaintRecord>> got = store_->Get("SP-1300");
  ASSERT_TRUE(got.ok() && got->has_value()) << got.status();
  EXPECT_THAT(**got, EqualsProto(old_case));
  // The next commit of a case seals its identity.
  MustCommit(Change(changed_case, "VerifyComplaint"));
  EXPECT_THAT(Raw({"GET", absl::StrCat(kPrefix, "c:SP-1301")}).str, Not(HasSubstr("Siti")));
  // The re-encryption seals the rest; a second run finds nothing to do.
  RedisComplaintStore::RekeyStats first = Rekey(*store_);
  EXPECT_EQ(first.scanned, 3);
  EXPECT_EQ(first.sealed, 1);
  EXPECT_EQ(first.current, 1);
  EXPECT_EQ(first.no_identity, 1);
  EXPECT_THAT(first.failures, IsEmpty());
  for (const std::string& key : AllKeys()) {
    EXPECT_THAT(Raw({"DUMP", key}).str, Not(HasSubstr("Siti"))) << key;
  }
  got = store_->Get("SP-1300");
  ASSERT_TRUE(got.ok() && got->has_value()) << got.status();
  EXPECT_THAT(**got, EqualsProto(old_case));
  RedisComplaintStore::RekeyStats second = Rekey(*store_);
  EXPECT_EQ(second.sealed + second.rotated, 0);
  EXPECT_EQ(second.current, 2);
  // Re-encryption needs a key ring.
  RedisComplaintStore::RekeyStats unused;
  EXPECT_EQ(legacy.RekeyIdentities("0", 10, &unused).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(RedisComplaintStoreTest, RotationReadsOldKeysAndRekeyMovesEverythingToTheActiveKey) {
  for (int i = 0; i < 25; ++i) MustFile(absl::StrFormat("SP-14%02d", i), kT0 + i);
  // Add k2 and make it active: k1 identities still open, new writes use k2.
  PiiKeyring rotated =
      Ring({{"k1", std::string(32, '\x11')}, {"k2", std::string(32, '\x33')}}, "k2");
  RedisComplaintStore store2(pool_.get(), {.pii_keys = &rotated});
  absl::StatusOr<std::optional<v1::ComplaintRecord>> got = store2.Get("SP-1400");
  ASSERT_TRUE(got.ok() && got->has_value()) << got.status();
  EXPECT_EQ(got->value().complaint().complainant().name(), "Siti Rahmawati");
  ASSERT_TRUE(store2.Commit(Filing(NewRecord("SP-1499", kT0))).ok());
  EXPECT_EQ(*PiiKeyring::KeyIdOf(IdentityOf("SP-1499")), "k2");
  EXPECT_EQ(*PiiKeyring::KeyIdOf(IdentityOf("SP-1400")), "k1");

  // Retiring k1 too early: its identities do not open, and the error names the key.
  PiiKeyring only_k2 = Ring({{"k2", std::string(32, '\x33')}});
  RedisComplaintStore store3(pool_.get(), {.pii_keys = &only_k2});
  EXPECT_THAT(store3.Get("SP-1400").status().message(), HasSubstr("\"k1\""));
  RedisComplaintStore::RekeyStats early = Rekey(store3);
  EXPECT_EQ(early.failures.size(), 25u);
  EXPECT_EQ(early.current, 1);

  // The re-encryption (small steps, as an interrupted run resumed from its cursor would).
  RedisComplaintStore::RekeyStats stats = Rekey(store2, 3);
  EXPECT_EQ(stats.scanned, 26);
  EXPECT_EQ(stats.rotated, 25);
  EXPECT_EQ(stats.current, 1);
  EXPECT_THAT(stats.failures, IsEmpty());
  // Now k1 can go: every case opens with k2 alone, unchanged.
  for (int i = 0; i < 25; ++i) {
    const std::string id = absl::StrFormat("SP-14%02d", i);
    got = store3.Get(id);
    ASSERT_TRUE(got.ok() && got->has_value()) << got.status();
    EXPECT_EQ(got->value().complaint().id(), id);
    EXPECT_EQ(got->value().complaint().complainant().name(), "Siti Rahmawati");
    absl::StatusOr<std::vector<v1::HistoryEntry>> history = store3.History(id);
    ASSERT_TRUE(history.ok()) << history.status();
    EXPECT_EQ(history->size(), 1u);
  }
  EXPECT_EQ(Rekey(store3).current, 26);
}

TEST_F(RedisComplaintStoreTest, EventsAreTrimmedOnlyOnceEveryGroupAcknowledgedThem) {
  // No retention period: acknowledged events go at once.
  store_ = std::make_unique<RedisComplaintStore>(
      pool_.get(),
      RedisComplaintStore::Options{.event_retention = absl::ZeroDuration(), .pii_keys = &keys_});
  const std::string stream = store_->EventStreamKey();
  MustFile("SP-2000", kT0);
  ASSERT_EQ(Raw({"XGROUP", "CREATE", stream, "monitoring", "0"}).str, "OK");
  ASSERT_EQ(Raw({"XGROUP", "CREATE", stream, "slow", "0"}).str, "OK");
  for (int i = 1; i < 250; ++i) MustFile(absl::StrCat("SP-2", 1000 + i), kT0 + i);
  auto read_group = [&](const std::string& group, int count) {
    std::vector<std::string> ids;
    RedisReply reply = Raw(
        {"XREADGROUP", "GROUP", group, "c1", "COUNT", absl::StrCat(count), "STREAMS", stream, ">"});
    for (const RedisReply& entry : reply.elements[0].elements[1].elements) {
      ids.push_back(entry.elements[0].str);
    }
    return ids;
  };
  // "monitoring" acknowledges 150 events and holds 50 pending; "slow" has read nothing.
  const std::vector<std::string> delivered = read_group("monitoring", 200);
  ASSERT_EQ(delivered.size(), 200u);
  std::vector<std::string> ack = {"XACK", stream, "monitoring"};
  ack.insert(ack.end(), delivered.begin(), delivered.begin() + 150);
  ASSERT_EQ(Raw(ack).integer, 150);
  MustFile("SP-2250", kT0);
  EXPECT_EQ(StreamLength(), 251);  // "slow" still needs every event

  // Once "slow" has acknowledged everything, what "monitoring" acknowledged goes.
  std::vector<std::string> slow_ack = {"XACK", stream, "slow"};
  for (const std::string& id : read_group("slow", 1000)) slow_ack.push_back(id);
  ASSERT_EQ(Raw(slow_ack).integer, 251);
  MustFile("SP-2251", kT0);
  // Trimming is exact: every event "monitoring" has pending or not yet read, nothing else.
  EXPECT_EQ(StreamLength(), 252 - 150);
  EXPECT_EQ(Raw({"XRANGE", stream, delivered[150], "+"}).elements.size(), 252u - 150u);
  EXPECT_EQ(Raw({"XPENDING", stream, "monitoring"}).elements[0].integer, 50);
  // A feed resuming from the last trimmed event misses nothing; from before it, it would.
  absl::StatusOr<std::vector<FeedEvent>> resumed = store_->ReadEvents(delivered[149], 500, {});
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  ASSERT_EQ(resumed->size(), 252u - 150u);
  EXPECT_EQ(resumed->front().cursor, delivered[150]);
  EXPECT_EQ(store_->ReadEvents(delivered[148], 500, {}).status().code(),
            absl::StatusCode::kOutOfRange);
}

TEST_F(RedisComplaintStoreTest, AcknowledgedEventsStayForTheRetentionPeriod) {
  const std::string stream = store_->EventStreamKey();  // default retention: 72 hours
  MustFile("SP-2300", kT0);
  ASSERT_EQ(Raw({"XGROUP", "CREATE", stream, "monitoring", "0"}).str, "OK");
  for (int i = 1; i < 20; ++i) MustFile(absl::StrCat("SP-23", 10 + i), kT0 + i);
  RedisReply read =
      Raw({"XREADGROUP", "GROUP", "monitoring", "c1", "COUNT", "100", "STREAMS", stream, ">"});
  std::vector<std::string> ack = {"XACK", stream, "monitoring"};
  for (const RedisReply& entry : read.elements[0].elements[1].elements) {
    ack.push_back(entry.elements[0].str);
  }
  ASSERT_EQ(Raw(ack).integer, 20);
  MustFile("SP-2399", kT0);
  EXPECT_EQ(StreamLength(), 21);
  absl::StatusOr<std::vector<FeedEvent>> all = store_->ReadEvents("0", 100, {});
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->size(), 21u);
}

// CommandCalls is how often Redis ran `command` since the last CONFIG RESETSTAT, scripts'
// commands included (INFO commandstats).
int64_t CommandCalls(const std::string& info, const std::string& command) {
  const std::string tag = absl::StrCat("cmdstat_", command, ":calls=");
  const size_t at = info.find(tag);
  if (at == std::string::npos) return 0;
  int64_t calls = 0;
  const size_t start = at + tag.size();
  EXPECT_TRUE(absl::SimpleAtoi(info.substr(start, info.find(',', start) - start), &calls));
  return calls;
}

TEST_F(RedisComplaintStoreTest, CommitsLookForEventsToTrimOnlyWhenSomeAreOlderThanTheFloor) {
  // Redis 7.0's XREVRANGE from an id older than every entry walks the whole stream: a commit
  // must not ask it while nothing is older than the retention floor (default 72 hours), nor
  // read the groups then.
  const std::string stream = store_->EventStreamKey();
  MustFile("SP-2400", kT0);
  ASSERT_EQ(Raw({"XGROUP", "CREATE", stream, "monitoring", "0"}).str, "OK");
  ASSERT_EQ(Raw({"CONFIG", "RESETSTAT"}).str, "OK");
  for (int i = 1; i < 5; ++i) MustFile(absl::StrCat("SP-24", 10 + i), kT0 + i);
  std::string info = Raw({"INFO", "commandstats"}).str;
  EXPECT_EQ(CommandCalls(info, "xrevrange"), 0) << info;
  EXPECT_EQ(CommandCalls(info, "xinfo|groups"), 0) << info;
  EXPECT_EQ(StreamLength(), 5);

  // Events from before the floor that the group has read and acknowledged go at the next
  // commit, exactly, and the newest of them is recorded as trimmed.
  ASSERT_EQ(Raw({"DEL", stream}).integer, 1);
  ASSERT_EQ(Raw({"XADD", stream, "1000-0", "v", "1", "e", ""}).str, "1000-0");
  ASSERT_EQ(Raw({"XADD", stream, "2000-0", "v", "1", "e", ""}).str, "2000-0");
  ASSERT_EQ(Raw({"XGROUP", "CREATE", stream, "monitoring", "$"}).str, "OK");
  ASSERT_EQ(Raw({"CONFIG", "RESETSTAT"}).str, "OK");
  MustFile("SP-2420", kT0);
  info = Raw({"INFO", "commandstats"}).str;
  EXPECT_EQ(CommandCalls(info, "xrevrange"), 1) << info;
  EXPECT_EQ(StreamLength(), 2);
  EXPECT_EQ(Raw({"XRANGE", stream, "-", "+", "COUNT", "1"}).elements[0].elements[0].str, "2000-0");
  EXPECT_EQ(store_->ReadEvents("999-0", 10, {}).status().code(), absl::StatusCode::kOutOfRange);
  absl::StatusOr<std::vector<FeedEvent>> resumed = store_->ReadEvents("1000-0", 10, {});
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ(resumed->size(), 2u);
}

TEST_F(RedisComplaintStoreTest, ReadEventsResumesExactlyAndReportsTrimmedCursors) {
  store_ = std::make_unique<RedisComplaintStore>(
      pool_.get(), RedisComplaintStore::Options{.stream_max_len = 5, .pii_keys = &keys_});
  // An empty stream: nothing yet, from "0" or from its (zero) latest cursor.
  absl::StatusOr<std::string> empty = store_->LatestEventCursor();
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(*empty, "0-0");
  absl::StatusOr<std::vector<FeedEvent>> none = store_->ReadEvents(*empty, 10, {});
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty());

  std::vector<std::string> cursors;
  for (int i = 0; i < 10; ++i) {
    cursors.push_back(
        MustCommit(Filing(NewRecord(absl::StrCat("SP-24", 10 + i), kT0 + i))).event_cursor);
  }
  EXPECT_EQ(StreamLength(), 5);  // exact cap
  absl::StatusOr<std::string> latest = store_->LatestEventCursor();
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(*latest, cursors.back());

  absl::StatusOr<std::vector<FeedEvent>> oldest = store_->ReadEvents("0", 100, {});
  ASSERT_TRUE(oldest.ok()) << oldest.status();
  ASSERT_EQ(oldest->size(), 5u);
  EXPECT_EQ(oldest->front().cursor, cursors[5]);
  EXPECT_EQ(oldest->front().event.complaint_id(), "SP-2415");

  // From the newest trimmed event: the retained ones, no gap. From any older one: OUT_OF_RANGE.
  absl::StatusOr<std::vector<FeedEvent>> from_edge = store_->ReadEvents(cursors[4], 2, {});
  ASSERT_TRUE(from_edge.ok()) << from_edge.status();
  ASSERT_EQ(from_edge->size(), 2u);
  EXPECT_EQ((*from_edge)[0].cursor, cursors[5]);
  EXPECT_EQ((*from_edge)[1].cursor, cursors[6]);
  EXPECT_EQ((*from_edge)[1].event.complaint_id(), "SP-2416");
  EXPECT_THAT(store_->ReadEvents(cursors[3], 2, {}).status().message(),
              HasSubstr("ListComplaints updated_since"));
  EXPECT_EQ(store_->ReadEvents(cursors[3], 2, {}).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(store_->ReadEvents(cursors[0], 2, {}).status().code(), absl::StatusCode::kOutOfRange);
  // Resuming from the middle gives exactly the rest.
  absl::StatusOr<std::vector<FeedEvent>> rest = store_->ReadEvents(cursors[7], 100, {});
  ASSERT_TRUE(rest.ok()) << rest.status();
  ASSERT_EQ(rest->size(), 2u);
  EXPECT_EQ((*rest)[0].cursor, cursors[8]);
  EXPECT_EQ((*rest)[1].cursor, cursors[9]);
  // Ahead of the stream, malformed.
  EXPECT_EQ(store_->ReadEvents("99999999999999-0", 2, {}).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(store_->ReadEvents("garbage", 2, {}).status().code(),
            absl::StatusCode::kInvalidArgument);

  // A blocking read returns as soon as an event arrives.
  std::thread writer([&] { MustFile("SP-2499", kT0); });
  absl::StatusOr<std::vector<FeedEvent>> waited =
      store_->ReadEvents(cursors.back(), 10, absl::Seconds(10));
  writer.join();
  ASSERT_TRUE(waited.ok()) << waited.status();
  ASSERT_EQ(waited->size(), 1u);
  EXPECT_EQ(waited->front().event.complaint_id(), "SP-2499");
}

TEST_F(RedisComplaintStoreTest, UpdatedIndexFollowsEveryCommitAndIsBackfilled) {
  const std::string upd = absl::StrCat(kPrefix, "ix:upd");
  v1::ComplaintRecord a = MustFile("SP-2500", kT0);
  MustFile("SP-2501", kT0 + 5);
  EXPECT_EQ(Raw({"ZSCORE", upd, "SP-2500"}).str, absl::StrCat(kT0));
  CaseWrite verify =
      Change(a, "VerifyComplaint", [](v1::Complaint* c) { c->set_state(v1::STATE_VERIFIED); });
  MustCommit(verify);
  EXPECT_EQ(Raw({"ZSCORE", upd, "SP-2500"}).str, absl::StrCat(kT0 + 120000));
  // Scanning it lists by update time.
  std::vector<IndexedRecord> page = MustScan(UpdatedIndex(), kT0 + 1, INT64_MAX, std::nullopt, 10);
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].record.complaint().id(), "SP-2501");
  EXPECT_EQ(page[1].record.complaint().id(), "SP-2500");

  // Cases of an earlier version (no updated index): the backfill enters every one, once.
  for (int i = 0; i < 1200; ++i) MustFile(absl::StrCat("SP-3", 1000 + i), kT0 + 1000 * i);
  Raw({"DEL", upd});
  absl::StatusOr<int64_t> filled = store_->BackfillUpdatedIndex();
  ASSERT_TRUE(filled.ok()) << filled.status();
  EXPECT_EQ(*filled, 1202);
  EXPECT_EQ(Raw({"ZCARD", upd}).integer, 1202);
  EXPECT_EQ(Raw({"ZSCORE", upd, "SP-2500"}).str, absl::StrCat(kT0 + 120000));
  EXPECT_EQ(Raw({"ZSCORE", upd, "SP-32199"}).str, absl::StrCat(kT0 + 1000 * 1199));
  // Once done it does not scan again.
  filled = store_->BackfillUpdatedIndex();
  ASSERT_TRUE(filled.ok()) << filled.status();
  EXPECT_EQ(*filled, 0);
}

TEST_F(RedisComplaintStoreTest, KeyPrefixSeparatesStores) {
  RedisComplaintStore other(pool_.get(), {.key_prefix = "test:{x}:", .stream_max_len = 0});
  EXPECT_EQ(other.EventStreamKey(), "test:{x}:events");
  CaseWrite write = Filing(NewRecord("SP-1100", kT0), "k");
  absl::StatusOr<CommitResult> result = other.Commit(write);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outcome, Outcome::kCommitted);
  for (const std::string& key : AllKeys()) EXPECT_TRUE(absl::StartsWith(key, "test:{x}:")) << key;
  absl::StatusOr<std::optional<v1::ComplaintRecord>> got = store_->Get("SP-1100");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_FALSE(got->has_value());
  // The same filing in the default store is independent.
  MustCommit(write);
}

// Acknowledged filings (redis_wait_replicas): with a replica stopped, a filing is answered
// UNAVAILABLE although the master has it; the retry with the same idempotency key replays it
// (one case), and is itself acknowledged only once the replicas have the filing.
TEST(RedisComplaintStoreWaitTest, UnacknowledgedFilingRetriedWithItsKeyFilesOnce) {
  simpul::testing::RedisSentinelSet::Options set_options;
  set_options.replicas = 2;
  set_options.sentinels = 0;
  auto set = simpul::testing::RedisSentinelSet::Start(set_options);
  ASSERT_TRUE(set.ok()) << set.status();
  RedisOptions options = (*set)->PoolOptions();
  options.wait_replicas = 2;
  options.wait_timeout = absl::Milliseconds(300);
  absl::StatusOr<PiiKeyring> ring = PiiKeyring::Create({{"k1", std::string(32, '\x11')}}, "");
  ASSERT_TRUE(ring.ok()) << ring.status();
  const PiiKeyring& keys = *ring;
  RedisPool pool(options);
  RedisComplaintStore store(&pool, RedisComplaintStore::Options{.pii_keys = &keys});

  (*set)->servers()[2]->Pause();
  absl::StatusOr<CommitResult> first = store.Commit(Filing(NewRecord("SP-0200", kT0), "once"));
  EXPECT_EQ(first.status().code(), absl::StatusCode::kUnavailable) << first.status();
  // Confirmed by 1 of 2 (the running replica), or 0 when the machine is too busy for it to
  // answer within the 300 ms.
  EXPECT_THAT(std::string(first.status().message()),
              ContainsRegex("confirmed by [01] of 2 replicas"));

  // The retry comes through another connection (another process, say): while the replica is
  // still stopped it is not acknowledged either.
  RedisPool other_pool(options);
  RedisComplaintStore other(&other_pool, RedisComplaintStore::Options{.pii_keys = &keys});
  absl::StatusOr<CommitResult> early = other.Commit(Filing(NewRecord("SP-0201", kT0), "once"));
  EXPECT_EQ(early.status().code(), absl::StatusCode::kUnavailable) << early.status();

  (*set)->servers()[2]->Resume();
  ASSERT_TRUE((*set)->WaitForReplicas(2, absl::Seconds(10)).ok());
  RedisPool third_pool(options);
  RedisComplaintStore third(&third_pool, RedisComplaintStore::Options{.pii_keys = &keys});
  // The client retries while UNAVAILABLE (the resumed replica may still be catching up on a
  // loaded machine), at most 10 s: every attempt replays the one filing.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  absl::StatusOr<CommitResult> retry = third.Commit(Filing(NewRecord("SP-0202", kT0), "once"));
  while (absl::IsUnavailable(retry.status()) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));
    retry = third.Commit(Filing(NewRecord("SP-0202", kT0), "once"));
  }
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->outcome, Outcome::kIdempotentReplay);
  EXPECT_EQ(retry->replay.response().tracking_code(), "SP-0200");
  for (const char* id : {"SP-0201", "SP-0202"}) {
    absl::StatusOr<std::optional<v1::ComplaintRecord>> got = store.Get(id);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_FALSE(got->has_value()) << id;
  }
  absl::StatusOr<std::optional<v1::ComplaintRecord>> filed = store.Get("SP-0200");
  ASSERT_TRUE(filed.ok() && filed->has_value());
}

TEST_F(RedisComplaintStoreTest, AttributeAnswersAreSealedWithTheIdentityAndRoundTrip) {
  auto answer = [](v1::Complaint* c) {
    v1::AttributeAnswer* a = c->add_attributes();
    a->set_code("application_number");
    a->add_values("APP-PLANTED-4711");
    v1::AttributeAnswer* docs = c->add_attributes();
    docs->set_code("documents");
    docs->add_values("ktp");
    docs->add_values("kk");
  };
  v1::ComplaintRecord with = NewRecord("SP-1600", kT0);
  answer(with.mutable_complaint());
  MustCommit(Filing(with));
  // Answers without a complainant (an ANONYMOUS case) are sealed too, and no complainant
  // appears on reading.
  v1::ComplaintRecord anonymous = NewRecord("SP-1601", kT0);
  anonymous.mutable_complaint()->clear_complainant();
  answer(anonymous.mutable_complaint());
  MustCommit(Filing(anonymous));
  for (const v1::ComplaintRecord* r : {&with, &anonymous}) {
    absl::StatusOr<std::optional<v1::ComplaintRecord>> got = store_->Get(r->complaint().id());
    ASSERT_TRUE(got.ok() && got->has_value()) << got.status();
    EXPECT_THAT(**got, EqualsProto(*r));
    const std::string raw = Raw({"GET", absl::StrCat(kPrefix, "c:", r->complaint().id())}).str;
    EXPECT_THAT(raw, Not(HasSubstr("APP-PLANTED")));
    EXPECT_EQ(*PiiKeyring::KeyIdOf(IdentityOf(r->complaint().id())), "k1");
  }
  // Re-sealing under a new key keeps the answers.
  PiiKeyring rotated =
      Ring({{"k1", std::string(32, '\x11')}, {"k2", std::string(32, '\x33')}}, "k2");
  RedisComplaintStore rekeyer(pool_.get(), RedisComplaintStore::Options{.pii_keys = &rotated});
  Rekey(rekeyer);
  absl::StatusOr<std::optional<v1::ComplaintRecord>> got = rekeyer.Get("SP-1601");
  ASSERT_TRUE(got.ok() && got->has_value()) << got.status();
  EXPECT_THAT(**got, EqualsProto(anonymous));
  EXPECT_EQ(*PiiKeyring::KeyIdOf(IdentityOf("SP-1601")), "k2");
}

}  // namespace
}  // namespace simpul::complaints
