// StreamConsumer: a Redis Stream consumer-group reader with takeover, dead-lettering and
// backoff, and the re-drive of dead-lettered entries (semantics in the header).
#include "common/stream_consumer.h"

#include <unistd.h>

#include <algorithm>
#include <climits>
#include <iterator>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/absl_compat.h"
#include "common/backoff.h"
#include "common/logging.h"
#include "common/status.h"

namespace simpul {
namespace {

constexpr char kHandledTotal[] = "simpul_stream_consumer_handled_total";
constexpr char kFailedTotal[] = "simpul_stream_consumer_failed_total";
constexpr char kDeadLetteredTotal[] = "simpul_stream_consumer_dead_lettered_total";
constexpr char kReclaimedTotal[] = "simpul_stream_consumer_reclaimed_total";
constexpr char kPollErrorsTotal[] = "simpul_stream_consumer_poll_errors_total";
constexpr char kLagGauge[] = "simpul_stream_consumer_lag";
constexpr char kPendingGauge[] = "simpul_stream_consumer_pending";

// Entries counted at most by the lag fallback (see StreamLag).
constexpr int64_t kLagCountCap = 10000;

// kDeadLetterLua moves one pending entry to the dead-letter stream.
//   KEYS = [stream, dead-letter stream]
//   ARGV = [group, consumer, entry id, dead-letter max len ("0": no trimming),
//           field, value, field, value, ...]
// Returns 1 after XADD + XACK, 0 when the entry is no longer pending (acknowledged
// meanwhile) and -1 when another consumer owns it now (it took the entry over and decides).
constexpr char kDeadLetterLua[] = R"lua(
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if #p == 0 then return 0 end
if p[1][2] ~= ARGV[2] then return -1 end
local args = {KEYS[2]}
if tonumber(ARGV[4]) > 0 then
  args[#args + 1] = 'MAXLEN'
  args[#args + 1] = '~'
  args[#args + 1] = ARGV[4]
end
args[#args + 1] = '*'
for i = 5, #ARGV do args[#args + 1] = ARGV[i] end
redis.call('XADD', unpack(args))
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
return 1
)lua";

// kRemoveConsumerLua deletes a consumer only when it has no pending entry (DELCONSUMER
// would drop them from the group). KEYS = [stream]; ARGV = [group, consumer]. Returns 1 when
// deleted (or absent), 0 when kept.
constexpr char kRemoveConsumerLua[] = R"lua(
local p = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])
if #p > 0 then return 0 end
redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
return 1
)lua";

// kCountAfterLua counts the entries after an id, stopping once it reached a cap.
// KEYS = [stream]; ARGV = [id, cap]. Returns the count (at least the cap when capped).
constexpr char kCountAfterLua[] = R"lua(
local n, cursor, cap = 0, ARGV[1], tonumber(ARGV[2])
while n < cap do
  local page = redis.call('XRANGE', KEYS[1], '(' .. cursor, '+', 'COUNT', 1000)
  if #page == 0 then break end
  n = n + #page
  cursor = page[#page][1]
end
return n
)lua";

// kRedriveLua puts one dead-letter entry back into its original stream.
//   KEYS = [dead-letter stream, original stream]
//   ARGV = [dead-letter entry id, dry run ("1") or not ("0"), field, value, field, value, ...]
// Returns {1, new id} after XADD + XDEL, {2} when a dry run would do so, {0} when the entry is
// no longer in the dead-letter stream (re-driven or deleted meanwhile) and {-1, type} when the
// original key holds something other than a stream. Nothing is written before the checks
// pass, and XADD comes before XDEL, so an error leaves the entry where it was.
constexpr char kRedriveLua[] = R"lua(
if #redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1]) == 0 then return {0} end
local t = redis.call('TYPE', KEYS[2])['ok']
if t ~= 'stream' and t ~= 'none' then return {-1, t} end
if ARGV[2] == '1' then return {2} end
local id = redis.call('XADD', KEYS[2], '*', unpack(ARGV, 3))
redis.call('XDEL', KEYS[1], ARGV[1])
return {1, id}
)lua";

// Entries read per XRANGE while listing or re-driving.
constexpr int64_t kDeadLetterPage = 100;

const RedisScript& DeadLetterScript() {
  static const RedisScript* script = new RedisScript(kDeadLetterLua);
  return *script;
}
const RedisScript& RemoveConsumerScript() {
  static const RedisScript* script = new RedisScript(kRemoveConsumerLua);
  return *script;
}
const RedisScript& CountAfterScript() {
  static const RedisScript* script = new RedisScript(kCountAfterLua);
  return *script;
}
const RedisScript& RedriveScript() {
  static const RedisScript* script = new RedisScript(kRedriveLua);
  return *script;
}

bool IsNoGroup(const RedisReply& reply) {
  return reply.is_error() && absl::StartsWith(reply.str, "NOGROUP");
}

// NoGroupError is the NOT_FOUND a poll returns when the group (or the stream) is gone.
absl::Status NoGroupError(const StreamConsumerOptions& options, const RedisReply& reply) {
  return absl::NotFoundError(
      absl::StrCat("stream ", options.stream, " group ", options.group, ": ", reply.str));
}

int64_t Millis(absl::Duration d) {
  return absl::ToInt64Milliseconds(absl::Ceil(d, absl::Milliseconds(1)));
}

// ParseEntry reads [id, [field, value, ...]]. A nil field list (an entry deleted from the
// stream but still pending) gives deleted = true.
bool ParseEntry(const RedisReply& reply, StreamEntry* entry, bool* deleted) {
  if (reply.type != RedisReply::Type::kArray || reply.elements.size() != 2) return false;
  std::optional<std::string> id = ReplyString(reply.elements[0]);
  if (!id) return false;
  entry->id = *std::move(id);
  entry->fields.clear();
  const RedisReply& fields = reply.elements[1];
  *deleted = fields.is_nil();
  if (*deleted) return true;
  if (fields.type != RedisReply::Type::kArray || fields.elements.size() % 2 != 0) return false;
  entry->fields.reserve(fields.elements.size() / 2);
  for (size_t i = 0; i < fields.elements.size(); i += 2) {
    std::optional<std::string> name = ReplyString(fields.elements[i]);
    std::optional<std::string> value = ReplyString(fields.elements[i + 1]);
    if (!name || !value) return false;
    entry->fields.emplace_back(*std::move(name), *std::move(value));
  }
  return true;
}

absl::Status Invalid(std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("stream consumer: ", AbslView(what)));
}

absl::Status Validate(const StreamConsumerOptions& o) {
  if (o.stream.empty()) return Invalid("stream is required");
  if (o.group.empty()) return Invalid("group is required");
  if (o.consumer.empty()) return Invalid("consumer is required");
  if (o.start_id.empty()) return Invalid("start_id is required (\"0\", \"$\" or an entry id)");
  if (o.batch_size < 1) return Invalid("batch_size must be at least 1");
  if (o.block < absl::ZeroDuration() || o.block == absl::InfiniteDuration()) {
    return Invalid("block must be finite and not negative");
  }
  if (o.min_idle < absl::Milliseconds(1) || o.min_idle == absl::InfiniteDuration()) {
    return Invalid("min_idle must be at least 1ms and finite");
  }
  if (o.max_deliveries < 1) return Invalid("max_deliveries must be at least 1");
  if (o.dead_letter_stream.empty()) return Invalid("dead_letter_stream is required");
  if (o.dead_letter_stream == o.stream) {
    return Invalid("dead_letter_stream must differ from stream");
  }
  if (o.dead_letter_max_len < 0) return Invalid("dead_letter_max_len must not be negative");
  if (o.initial_backoff <= absl::ZeroDuration() || o.max_backoff < o.initial_backoff) {
    return Invalid("backoff must be positive with max_backoff >= initial_backoff");
  }
  if (o.lag_interval <= absl::ZeroDuration()) return Invalid("lag_interval must be positive");
  return absl::OkStatus();
}

// ---- dead letters -------------------------------------------------------------------

constexpr const char* kDeadLetterFields[] = {kDeadLetterIdField,         kDeadLetterStreamField,
                                             kDeadLetterGroupField,      kDeadLetterConsumerField,
                                             kDeadLetterDeliveriesField, kDeadLetterErrorField};

bool IsDeadLetterField(std::string_view name) {
  return std::find(std::begin(kDeadLetterFields), std::end(kDeadLetterFields), name) !=
         std::end(kDeadLetterFields);
}

// ParseDeadLetter splits a dead-letter stream entry into its kDeadLetter* fields (the leading
// run, each name once) and the original fields, and says what is wrong with it, if anything.
DeadLetterEntry ParseDeadLetter(StreamEntry entry, std::string_view dead_letter_stream) {
  DeadLetterEntry out;
  out.id = std::move(entry.id);
  std::set<std::string> seen;
  size_t i = 0;
  for (; i < entry.fields.size(); ++i) {
    auto& [name, value] = entry.fields[i];
    if (!IsDeadLetterField(name) || !seen.insert(name).second) break;
    if (name == kDeadLetterIdField) {
      out.original_id = std::move(value);
    } else if (name == kDeadLetterStreamField) {
      out.stream = std::move(value);
    } else if (name == kDeadLetterGroupField) {
      out.group = std::move(value);
    } else if (name == kDeadLetterConsumerField) {
      out.consumer = std::move(value);
    } else if (name == kDeadLetterDeliveriesField) {
      if (!absl::SimpleAtoi(value, &out.deliveries)) out.deliveries = 0;
    } else if (name == kDeadLetterErrorField) {
      out.error = std::move(value);
    }
  }
  out.fields.assign(std::make_move_iterator(entry.fields.begin() + i),
                    std::make_move_iterator(entry.fields.end()));
  if (seen.count(kDeadLetterStreamField) == 0) {
    out.problem = absl::StrCat("no ", kDeadLetterStreamField,
                               " field naming the original stream (not written by a "
                               "StreamConsumer?)");
  } else if (out.stream.empty()) {
    out.problem = absl::StrCat(kDeadLetterStreamField, " is empty");
  } else if (out.stream == dead_letter_stream) {
    out.problem = absl::StrCat(kDeadLetterStreamField, " names the dead-letter stream itself");
  } else if (out.fields.empty()) {
    out.problem = absl::StrCat("no original fields after the ", kDeadLetterStreamField,
                               " and other dead-letter fields");
  }
  return out;
}

// ReadRange runs XRANGE key start end COUNT count. An absent key has no entries.
absl::StatusOr<std::vector<StreamEntry>> ReadRange(RedisPool* pool, std::string_view key,
                                                   std::string_view start, std::string_view end,
                                                   int64_t count) {
  SIMPUL_ASSIGN_OR_RETURN(RedisReply reply,
                          pool->Command({"XRANGE", std::string(key), std::string(start),
                                         std::string(end), "COUNT", absl::StrCat(count)}));
  SIMPUL_RETURN_IF_ERROR(ErrorFromReply(reply, absl::StrCat("XRANGE ", AbslView(key))));
  if (reply.type != RedisReply::Type::kArray) return MalformedReply("XRANGE");
  std::vector<StreamEntry> entries;
  entries.reserve(reply.elements.size());
  for (const RedisReply& item : reply.elements) {
    StreamEntry entry;
    bool deleted = false;
    if (!ParseEntry(item, &entry, &deleted) || deleted) return MalformedReply("XRANGE entry");
    entries.push_back(std::move(entry));
  }
  return entries;
}

// EntryIdOrder parses "<ms>-<seq>" into numbers that order entries as the stream does.
std::optional<std::pair<uint64_t, uint64_t>> EntryIdOrder(std::string_view id) {
  const size_t dash = id.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  const std::string_view ms = id.substr(0, dash);
  const std::string_view seq = id.substr(dash + 1);
  for (std::string_view part : {ms, seq}) {
    if (part.empty() || part.size() > 20) return std::nullopt;
    for (char c : part) {
      if (c < '0' || c > '9') return std::nullopt;
    }
  }
  std::pair<uint64_t, uint64_t> out;
  if (!absl::SimpleAtoi(AbslView(ms), &out.first) ||
      !absl::SimpleAtoi(AbslView(seq), &out.second)) {
    return std::nullopt;
  }
  return out;
}

// RedriveOne moves (or, in a dry run, checks) one parsed entry and records the outcome. It
// fails only when Redis is unreachable or busy; an entry Redis refuses is skipped.
absl::Status RedriveOne(RedisPool* pool, std::string_view dead_letter_stream,
                        const DeadLetterEntry& entry, bool dry_run, RedriveResult* result) {
  if (!entry.problem.empty()) {
    result->skipped.push_back({entry.id, entry.problem});
    return absl::OkStatus();
  }
  std::vector<std::string> args = {entry.id, dry_run ? "1" : "0"};
  args.reserve(2 + 2 * entry.fields.size());
  for (const auto& [name, value] : entry.fields) {
    args.push_back(name);
    args.push_back(value);
  }
  SIMPUL_ASSIGN_OR_RETURN(
      RedisReply reply,
      pool->Eval(RedriveScript(), {std::string(dead_letter_stream), entry.stream}, args));
  if (reply.is_error()) {
    absl::Status status = ErrorFromReply(reply, "re-drive script");
    if (status.code() == absl::StatusCode::kUnavailable ||
        status.code() == absl::StatusCode::kResourceExhausted) {
      return status;
    }
    result->skipped.push_back({entry.id, absl::StrCat("Redis refused the re-drive: ", reply.str)});
    return absl::OkStatus();
  }
  if (reply.type != RedisReply::Type::kArray || reply.elements.empty()) {
    return MalformedReply("re-drive script");
  }
  std::optional<int64_t> code = ReplyInt(reply.elements[0]);
  if (!code) return MalformedReply("re-drive script");
  switch (*code) {
    case 1:
    case 2: {
      RedrivenEntry done{entry.id, entry.stream, entry.original_id, ""};
      if (*code == 1) {
        std::optional<std::string> new_id;
        if (reply.elements.size() >= 2) new_id = ReplyString(reply.elements[1]);
        if (!new_id) return MalformedReply("re-drive script");
        done.new_id = *std::move(new_id);
      }
      result->redriven.push_back(std::move(done));
      return absl::OkStatus();
    }
    case 0:
      result->skipped.push_back(
          {entry.id, "no longer in the dead-letter stream (re-driven or deleted meanwhile)"});
      return absl::OkStatus();
    case -1: {
      std::string type;
      if (reply.elements.size() >= 2) type = ReplyString(reply.elements[1]).value_or("");
      result->skipped.push_back({entry.id, absl::StrCat("the original stream key ", entry.stream,
                                                        " holds a ", type, ", not a stream")});
      return absl::OkStatus();
    }
  }
  return MalformedReply("re-drive script");
}

}  // namespace

const std::string* StreamEntry::Field(std::string_view name) const {
  for (const auto& [field, value] : fields) {
    if (field == name) return &value;
  }
  return nullptr;
}

std::string DefaultConsumerName() {
  char host[HOST_NAME_MAX + 1] = {};
  if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') {
    return absl::StrCat("consumer-", getpid());
  }
  return absl::StrCat(host, "-", getpid());
}

// Batch is what one poll fetched: entries to handle, in order, with their delivery counts.
struct StreamConsumer::Batch {
  std::vector<StreamEntry> entries;
  std::vector<std::string> acks;  // ids to acknowledge without handling (deleted entries)
  int64_t deleted = 0;            // reclaimed ids whose entry was trimmed from the stream
};

absl::StatusOr<std::unique_ptr<StreamConsumer>> StreamConsumer::Create(
    RedisPool* pool, StreamConsumerOptions options, StreamHandler handler) {
  if (pool == nullptr) return Invalid("pool is required");
  if (!handler) return Invalid("handler is required");
  if (options.consumer.empty()) options.consumer = DefaultConsumerName();
  SIMPUL_RETURN_IF_ERROR(Validate(options));
  return std::unique_ptr<StreamConsumer>(
      new StreamConsumer(pool, std::move(options), std::move(handler)));
}

StreamConsumer::StreamConsumer(RedisPool* pool, StreamConsumerOptions options,
                               StreamHandler handler)
    : pool_(pool),
      options_(std::move(options)),
      handler_(std::move(handler)),
      labels_({{"stream", options_.stream}, {"group", options_.group}}) {
  if (Metrics* m = options_.metrics; m != nullptr) {
    m->Describe(kHandledTotal, Metrics::Type::kCounter,
                "Stream entries whose handler returned OK (redeliveries count again).");
    m->Describe(kFailedTotal, Metrics::Type::kCounter,
                "Stream entries whose handler returned an error (left pending for a retry).");
    m->Describe(kDeadLetteredTotal, Metrics::Type::kCounter,
                "Stream entries moved to the dead-letter stream after too many deliveries.");
    m->Describe(kReclaimedTotal, Metrics::Type::kCounter,
                "Pending stream entries taken over from idle consumers (XAUTOCLAIM).");
    m->Describe(kPollErrorsTotal, Metrics::Type::kCounter,
                "Stream consumer polls that failed (Redis unreachable or an error reply).");
    m->Describe(kLagGauge, Metrics::Type::kGauge,
                "Stream entries not yet delivered to the consumer group.");
    m->Describe(kPendingGauge, Metrics::Type::kGauge,
                "Stream entries delivered to the consumer group but not yet acknowledged.");
    handled_total_ = m->GetCounter(kHandledTotal, labels_);
    failed_total_ = m->GetCounter(kFailedTotal, labels_);
    dead_lettered_total_ = m->GetCounter(kDeadLetteredTotal, labels_);
    reclaimed_total_ = m->GetCounter(kReclaimedTotal, labels_);
    poll_errors_total_ = m->GetCounter(kPollErrorsTotal, labels_);
    lag_gauge_ = m->GetGauge(kLagGauge, labels_);
    pending_gauge_ = m->GetGauge(kPendingGauge, labels_);
    // Export zeros right away, so dashboards see the series before the first event.
    for (const Counter& counter : {handled_total_, failed_total_, dead_lettered_total_,
                                   reclaimed_total_, poll_errors_total_}) {
      counter.Increment(0);
    }
  }
}

StreamConsumer::~StreamConsumer() { Stop(); }

absl::Status StreamConsumer::EnsureGroup() {
  SIMPUL_ASSIGN_OR_RETURN(RedisReply reply,
                          pool_->Command({"XGROUP", "CREATE", options_.stream, options_.group,
                                          options_.start_id, "MKSTREAM"}));
  if (reply.is_error() && absl::StartsWith(reply.str, "BUSYGROUP")) return absl::OkStatus();
  return ErrorFromReply(reply,
                        absl::StrCat("XGROUP CREATE ", options_.stream, " ", options_.group));
}

absl::StatusOr<PollResult> StreamConsumer::PollOnce() {
  absl::MutexLock lock(&poll_mu_);
  absl::StatusOr<PollResult> result = PollLocked();
  if (result.ok()) {
    polls_.fetch_add(1, std::memory_order_relaxed);
  } else {
    poll_errors_.fetch_add(1, std::memory_order_relaxed);
    poll_errors_total_.Increment();
  }
  return result;
}

void StreamConsumer::Count(const PollResult& r) {
  read_.fetch_add(r.read, std::memory_order_relaxed);
  reclaimed_.fetch_add(r.reclaimed, std::memory_order_relaxed);
  deleted_.fetch_add(r.deleted, std::memory_order_relaxed);
  handled_.fetch_add(r.handled, std::memory_order_relaxed);
  failed_.fetch_add(r.failed, std::memory_order_relaxed);
  dead_lettered_.fetch_add(r.dead_lettered, std::memory_order_relaxed);
  discarded_.fetch_add(r.discarded, std::memory_order_relaxed);
  if (r.handled > 0) handled_total_.Increment(static_cast<double>(r.handled));
  if (r.failed > 0) failed_total_.Increment(static_cast<double>(r.failed));
  if (r.dead_lettered > 0) dead_lettered_total_.Increment(static_cast<double>(r.dead_lettered));
  if (r.reclaimed > 0) reclaimed_total_.Increment(static_cast<double>(r.reclaimed));
}

absl::StatusOr<PollResult> StreamConsumer::PollLocked() {
  if (!group_ready_) {
    SIMPUL_RETURN_IF_ERROR(EnsureGroup());
    group_ready_ = true;
  }
  PollResult result;
  // The master the batch is read from (a connection opened before a switch may still reach the
  // old one: a switch between here and the handling is what Discarded checks for).
  const std::optional<RedisAddress> read_from = pool_->master();
  absl::StatusOr<Batch> batch = Fetch(&result);
  if (batch.status().code() == absl::StatusCode::kNotFound) {
    // The group (or the whole stream) disappeared, e.g. the key was deleted: create it again
    // from start_id and retry once.
    Log(LogLevel::kWarn, "stream consumer group missing; creating it again",
        {{"stream", options_.stream},
         {"group", options_.group},
         {"start_id", options_.start_id},
         {"error", std::string(batch.status().message())}});
    group_ready_ = false;
    claim_cursor_ = "0-0";
    SIMPUL_RETURN_IF_ERROR(EnsureGroup());
    group_ready_ = true;
    result = PollResult();
    batch = Fetch(&result);
  }
  if (!batch.ok()) {
    Count(result);  // entries reclaimed before the failure
    return batch.status();
  }

  // Handle in order. Ids to acknowledge are sent together after the batch.
  std::vector<std::string> acks = std::move(batch->acks);
  absl::Status finish = absl::OkStatus();
  for (const StreamEntry& entry : batch->entries) {
    if (Stopping()) break;  // the rest stays pending and is reclaimed later
    absl::StatusOr<bool> discarded = Discarded(entry.id, read_from);
    if (!discarded.ok()) {
      // Left pending (reclaimed later, if it still exists); the rest of the batch too.
      if (finish.ok()) finish = discarded.status();
      break;
    }
    if (*discarded) {
      ++result.discarded;
      Log(LogLevel::kWarn, "stream entry discarded by a Redis failover; not handled",
          {{"stream", options_.stream}, {"group", options_.group}, {"id", entry.id}});
      continue;
    }
    std::string error;
    if (entry.deliveries > options_.max_deliveries) {
      error = absl::StrCat("delivered ", entry.deliveries,
                           " times without being acknowledged (its consumers crashed or timed "
                           "out while handling it)");
    } else {
      absl::Status status = handler_(entry);
      if (status.ok()) {
        acks.push_back(entry.id);
        ++result.handled;
        continue;
      }
      ++result.failed;
      Log(LogLevel::kWarn, "stream entry handler failed",
          {{"stream", options_.stream},
           {"group", options_.group},
           {"id", entry.id},
           {"deliveries", entry.deliveries},
           {"max_deliveries", options_.max_deliveries},
           {"error", status.ToString()}});
      if (entry.deliveries < options_.max_deliveries) continue;  // retried after min_idle
      error = status.ToString();
    }
    absl::StatusOr<bool> moved = DeadLetter(entry, error);
    if (!moved.ok()) {
      // Still pending: the next takeover finds it over max_deliveries and retries the move.
      if (finish.ok()) finish = moved.status();
      continue;
    }
    if (*moved) {
      ++result.dead_lettered;
      Log(LogLevel::kError, "stream entry moved to the dead-letter stream",
          {{"stream", options_.stream},
           {"group", options_.group},
           {"id", entry.id},
           {"dead_letter_stream", options_.dead_letter_stream},
           {"deliveries", entry.deliveries},
           {"error", error}});
    }
  }
  if (!acks.empty()) {
    std::vector<std::string> argv = {"XACK", options_.stream, options_.group};
    argv.insert(argv.end(), acks.begin(), acks.end());
    absl::StatusOr<RedisReply> acked = pool_->Command(argv);
    absl::Status status = acked.ok() ? ErrorFromReply(*acked, "XACK") : acked.status();
    if (!status.ok() && finish.ok()) finish = status;
  }
  Count(result);
  if (!finish.ok()) return finish;
  return result;
}

absl::StatusOr<StreamConsumer::Batch> StreamConsumer::Fetch(PollResult* result) {
  SIMPUL_ASSIGN_OR_RETURN(RedisConnection conn, pool_->Acquire());
  Batch batch;
  SIMPUL_RETURN_IF_ERROR(Reclaim(conn, &batch));
  result->reclaimed = static_cast<int64_t>(batch.entries.size());
  result->deleted = batch.deleted;
  // Wait for new entries only when there is nothing to do yet.
  const bool block = batch.entries.empty() && options_.block > absl::ZeroDuration();
  const size_t reclaimed = batch.entries.size();
  absl::Status read = ReadNew(conn, block, &batch);
  result->read = static_cast<int64_t>(batch.entries.size() - reclaimed);
  // Entries already taken over are handled even when the read failed (they are ours now and
  // would otherwise wait another min_idle); the failure is reported by the next poll.
  if (!read.ok() && (batch.entries.empty() || read.code() == absl::StatusCode::kNotFound)) {
    return read;
  }
  return batch;
}

absl::Status StreamConsumer::Reclaim(RedisConnection& conn, Batch* batch) {
  SIMPUL_ASSIGN_OR_RETURN(
      RedisReply reply, conn.Command({"XAUTOCLAIM", options_.stream, options_.group,
                                      options_.consumer, absl::StrCat(Millis(options_.min_idle)),
                                      claim_cursor_, "COUNT", absl::StrCat(options_.batch_size)}));
  if (IsNoGroup(reply)) return NoGroupError(options_, reply);
  SIMPUL_RETURN_IF_ERROR(ErrorFromReply(reply, "XAUTOCLAIM"));
  // Redis 7: [next cursor, [[id, fields] ...], [deleted id ...]]; Redis 6.2 lacks the third.
  if (reply.type != RedisReply::Type::kArray || reply.elements.size() < 2 ||
      reply.elements[1].type != RedisReply::Type::kArray) {
    return MalformedReply("XAUTOCLAIM");
  }
  std::optional<std::string> cursor = ReplyString(reply.elements[0]);
  if (!cursor) return MalformedReply("XAUTOCLAIM");
  std::vector<StreamEntry> claimed;
  for (const RedisReply& item : reply.elements[1].elements) {
    if (item.is_nil()) continue;  // Redis 6.2: a deleted entry without its id
    StreamEntry entry;
    bool deleted = false;
    if (!ParseEntry(item, &entry, &deleted)) return MalformedReply("XAUTOCLAIM entry");
    if (deleted) {
      batch->acks.push_back(entry.id);  // nothing left to handle; drop it from the PEL
      ++batch->deleted;
    } else {
      claimed.push_back(std::move(entry));
    }
  }
  if (reply.elements.size() >= 3 && reply.elements[2].type == RedisReply::Type::kArray) {
    // Redis 7 has already removed these ids from the pending list: they only count.
    batch->deleted += static_cast<int64_t>(reply.elements[2].elements.size());
  }
  claim_cursor_ = *std::move(cursor);
  if (claimed.empty()) return absl::OkStatus();

  // XAUTOCLAIM does not report delivery counts: read each claimed entry's with XPENDING.
  std::vector<std::vector<std::string>> commands;
  commands.reserve(claimed.size());
  for (const StreamEntry& entry : claimed) {
    commands.push_back({"XPENDING", options_.stream, options_.group, entry.id, entry.id, "1"});
  }
  SIMPUL_ASSIGN_OR_RETURN(std::vector<RedisReply> pending, conn.Pipeline(commands));
  if (pending.size() != claimed.size()) return MalformedReply("XPENDING");
  for (size_t i = 0; i < claimed.size(); ++i) {
    if (IsNoGroup(pending[i])) return NoGroupError(options_, pending[i]);
    SIMPUL_RETURN_IF_ERROR(ErrorFromReply(pending[i], "XPENDING"));
    if (pending[i].type != RedisReply::Type::kArray) return MalformedReply("XPENDING");
    if (pending[i].elements.empty()) continue;  // acknowledged meanwhile
    const RedisReply& row = pending[i].elements[0];
    if (row.type != RedisReply::Type::kArray || row.elements.size() != 4) {
      return MalformedReply("XPENDING");
    }
    std::optional<std::string> owner = ReplyString(row.elements[1]);
    std::optional<int64_t> deliveries = ReplyInt(row.elements[3]);
    if (!owner || !deliveries) return MalformedReply("XPENDING");
    if (*owner != options_.consumer) continue;  // taken over by another consumer meanwhile
    claimed[i].deliveries = *deliveries;
    batch->entries.push_back(std::move(claimed[i]));
  }
  return absl::OkStatus();
}

absl::Status StreamConsumer::ReadNew(RedisConnection& conn, bool block, Batch* batch) {
  std::vector<std::string> argv = {"XREADGROUP",      "GROUP", options_.group,
                                   options_.consumer, "COUNT", absl::StrCat(options_.batch_size)};
  if (block) {
    const int64_t block_ms = std::max<int64_t>(1, Millis(options_.block));
    argv.push_back("BLOCK");
    argv.push_back(absl::StrCat(block_ms));
    SIMPUL_RETURN_IF_ERROR(
        conn.SetCommandTimeout(absl::Milliseconds(block_ms) + pool_->options().command_timeout));
  }
  argv.push_back("STREAMS");
  argv.push_back(options_.stream);
  argv.push_back(">");
  SIMPUL_ASSIGN_OR_RETURN(RedisReply reply, conn.Command(argv));
  if (IsNoGroup(reply)) return NoGroupError(options_, reply);
  SIMPUL_RETURN_IF_ERROR(ErrorFromReply(reply, "XREADGROUP"));
  if (reply.is_nil()) return absl::OkStatus();  // BLOCK timed out
  // [[stream, [[id, fields] ...]]]
  if (reply.type != RedisReply::Type::kArray) return MalformedReply("XREADGROUP");
  for (const RedisReply& stream : reply.elements) {
    if (stream.type != RedisReply::Type::kArray || stream.elements.size() != 2 ||
        stream.elements[1].type != RedisReply::Type::kArray) {
      return MalformedReply("XREADGROUP");
    }
    for (const RedisReply& item : stream.elements[1].elements) {
      StreamEntry entry;
      bool deleted = false;
      if (!ParseEntry(item, &entry, &deleted) || deleted) {
        return MalformedReply("XREADGROUP entry");
      }
      entry.deliveries = 1;
      batch->entries.push_back(std::move(entry));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> StreamConsumer::Discarded(const std::string& id,
                                               const std::optional<RedisAddress>& read_from) {
  if (pool_->master() == read_from) return false;
  SIMPUL_ASSIGN_OR_RETURN(RedisReply reply,
                          pool_->Command({"XRANGE", options_.stream, id, id, "COUNT", "1"}));
  SIMPUL_RETURN_IF_ERROR(ErrorFromReply(reply, "XRANGE"));
  if (reply.type != RedisReply::Type::kArray) return MalformedReply("XRANGE");
  return reply.elements.empty();
}

absl::StatusOr<bool> StreamConsumer::DeadLetter(const StreamEntry& entry, std::string_view error) {
  std::vector<std::string> args = {options_.group,
                                   options_.consumer,
                                   entry.id,
                                   absl::StrCat(options_.dead_letter_max_len),
                                   kDeadLetterIdField,
                                   entry.id,
                                   kDeadLetterStreamField,
                                   options_.stream,
                                   kDeadLetterGroupField,
                                   options_.group,
                                   kDeadLetterConsumerField,
                                   options_.consumer,
                                   kDeadLetterDeliveriesField,
                                   absl::StrCat(entry.deliveries),
                                   kDeadLetterErrorField,
                                   std::string(error)};
  for (const auto& [name, value] : entry.fields) {
    args.push_back(name);
    args.push_back(value);
  }
  SIMPUL_ASSIGN_OR_RETURN(
      RedisReply reply,
      pool_->Eval(DeadLetterScript(), {options_.stream, options_.dead_letter_stream}, args));
  SIMPUL_RETURN_IF_ERROR(ErrorFromReply(reply, "dead-letter script"));
  std::optional<int64_t> moved = ReplyInt(reply);
  if (!moved) return MalformedReply("dead-letter script");
  return *moved == 1;
}

absl::StatusOr<StreamLag> StreamConsumer::Lag() {
  SIMPUL_ASSIGN_OR_RETURN(RedisReply reply, pool_->Command({"XINFO", "GROUPS", options_.stream}));
  if (reply.is_error() && absl::StrContains(reply.str, "no such key")) {
    return absl::NotFoundError(absl::StrCat("stream ", options_.stream, " does not exist"));
  }
  SIMPUL_RETURN_IF_ERROR(ErrorFromReply(reply, "XINFO GROUPS"));
  if (reply.type != RedisReply::Type::kArray) return MalformedReply("XINFO GROUPS");
  for (const RedisReply& group : reply.elements) {
    if (group.type != RedisReply::Type::kArray || group.elements.size() % 2 != 0) {
      return MalformedReply("XINFO GROUPS");
    }
    std::optional<std::string> name;
    std::optional<int64_t> pending;
    std::optional<int64_t> lag;
    std::optional<std::string> last_delivered;
    for (size_t i = 0; i < group.elements.size(); i += 2) {
      std::optional<std::string> key = ReplyString(group.elements[i]);
      if (!key) return MalformedReply("XINFO GROUPS");
      const RedisReply& value = group.elements[i + 1];
      if (*key == "name") name = ReplyString(value);
      if (*key == "pending") pending = ReplyInt(value);
      if (*key == "lag") lag = ReplyInt(value);  // nil when Redis cannot tell; absent < 7.0
      if (*key == "last-delivered-id") last_delivered = ReplyString(value);
    }
    if (name != options_.group) continue;
    if (!pending || !last_delivered) return MalformedReply("XINFO GROUPS");
    StreamLag out;
    out.pending = *pending;
    out.last_delivered_id = *last_delivered;
    if (lag) {
      out.undelivered = *lag;
    } else {
      SIMPUL_ASSIGN_OR_RETURN(RedisReply counted,
                              pool_->Eval(CountAfterScript(), {options_.stream},
                                          {*last_delivered, absl::StrCat(kLagCountCap)}));
      SIMPUL_RETURN_IF_ERROR(ErrorFromReply(counted, "counting undelivered entries"));
      std::optional<int64_t> n = ReplyInt(counted);
      if (!n) return MalformedReply("counting undelivered entries");
      out.undelivered = *n;
      out.exact = *n < kLagCountCap;
    }
    lag_gauge_.Set(static_cast<double>(out.undelivered));
    pending_gauge_.Set(static_cast<double>(out.pending));
    return out;
  }
  return absl::NotFoundError(
      absl::StrCat("stream ", options_.stream, " has no consumer group ", options_.group));
}

absl::StatusOr<bool> StreamConsumer::RemoveConsumerIfIdle() {
  SIMPUL_ASSIGN_OR_RETURN(RedisReply reply, pool_->Eval(RemoveConsumerScript(), {options_.stream},
                                                        {options_.group, options_.consumer}));
  if (IsNoGroup(reply)) return true;  // no group, no consumer
  SIMPUL_RETURN_IF_ERROR(ErrorFromReply(reply, "removing the stream consumer"));
  std::optional<int64_t> removed = ReplyInt(reply);
  if (!removed) return MalformedReply("removing the stream consumer");
  return *removed == 1;
}

StreamConsumerStats StreamConsumer::stats() const {
  StreamConsumerStats s;
  s.polls = polls_.load(std::memory_order_relaxed);
  s.poll_errors = poll_errors_.load(std::memory_order_relaxed);
  s.read = read_.load(std::memory_order_relaxed);
  s.reclaimed = reclaimed_.load(std::memory_order_relaxed);
  s.deleted = deleted_.load(std::memory_order_relaxed);
  s.handled = handled_.load(std::memory_order_relaxed);
  s.failed = failed_.load(std::memory_order_relaxed);
  s.dead_lettered = dead_lettered_.load(std::memory_order_relaxed);
  s.discarded = discarded_.load(std::memory_order_relaxed);
  return s;
}

bool StreamConsumer::Stopping() {
  absl::MutexLock lock(&mu_);
  return stopping_;
}

void StreamConsumer::Start() {
  absl::MutexLock lock(&start_mu_);
  if (thread_.joinable()) return;
  {
    absl::MutexLock state(&mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { Run(); });
}

void StreamConsumer::Stop() {
  absl::MutexLock lock(&start_mu_);
  if (!thread_.joinable()) return;
  {
    absl::MutexLock state(&mu_);
    stopping_ = true;
  }
  thread_.join();
  absl::MutexLock state(&mu_);
  stopping_ = false;
}

void StreamConsumer::Run() {
  Backoff backoff(
      Backoff::Options{.initial = options_.initial_backoff, .max = options_.max_backoff});
  absl::Time next_lag = absl::InfinitePast();
  bool failing = false;
  while (!Stopping()) {
    absl::StatusOr<PollResult> polled = PollOnce();
    absl::Duration wait = absl::ZeroDuration();
    if (polled.ok()) {
      if (failing) {
        Log(LogLevel::kInfo, "stream consumer resumed",
            {{"stream", options_.stream}, {"group", options_.group}});
      }
      failing = false;
      backoff.Reset();
      // Without BLOCK an empty poll returns at once: pause instead of spinning.
      if (options_.block == absl::ZeroDuration() && polled->read == 0 && polled->reclaimed == 0) {
        wait = options_.initial_backoff;
      }
      if (absl::Now() >= next_lag) {
        absl::StatusOr<StreamLag> lag = Lag();
        if (!lag.ok()) {
          Log(LogLevel::kDebug, "stream consumer lag unavailable",
              {{"stream", options_.stream}, {"error", lag.status().ToString()}});
        }
        next_lag = absl::Now() + options_.lag_interval;
      }
    } else {
      wait = backoff.Next();
      Log(LogLevel::kWarn, "stream consumer poll failed; backing off",
          {{"stream", options_.stream},
           {"group", options_.group},
           {"error", polled.status().ToString()},
           {"retry_in_ms", absl::ToInt64Milliseconds(wait)}});
      failing = true;
    }
    if (wait > absl::ZeroDuration()) {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), wait);
    }
  }
  if (options_.remove_consumer_on_stop) {
    absl::StatusOr<bool> removed = RemoveConsumerIfIdle();
    if (!removed.ok()) {
      Log(LogLevel::kDebug, "stream consumer not removed from its group",
          {{"stream", options_.stream}, {"error", removed.status().ToString()}});
    }
  }
}

absl::StatusOr<std::vector<DeadLetterEntry>> ListDeadLetters(RedisPool* pool,
                                                             std::string_view dead_letter_stream,
                                                             int64_t max_entries) {
  if (pool == nullptr) return Invalid("pool is required");
  if (dead_letter_stream.empty()) return Invalid("the dead-letter stream is required");
  if (max_entries < 1) {
    return Invalid(absl::StrCat("max_entries must be at least 1, got ", max_entries));
  }
  std::vector<DeadLetterEntry> out;
  std::string start = "-";
  while (static_cast<int64_t>(out.size()) < max_entries) {
    const int64_t want = std::min(kDeadLetterPage, max_entries - static_cast<int64_t>(out.size()));
    SIMPUL_ASSIGN_OR_RETURN(std::vector<StreamEntry> page,
                            ReadRange(pool, dead_letter_stream, start, "+", want));
    for (StreamEntry& entry : page) {
      out.push_back(ParseDeadLetter(std::move(entry), dead_letter_stream));
    }
    if (static_cast<int64_t>(page.size()) < want) break;
    start = absl::StrCat("(", out.back().id);
  }
  return out;
}

absl::StatusOr<RedriveResult> RedriveDeadLetters(RedisPool* pool,
                                                 std::string_view dead_letter_stream,
                                                 const RedriveOptions& options) {
  if (pool == nullptr) return Invalid("pool is required");
  if (dead_letter_stream.empty()) return Invalid("the dead-letter stream is required");
  if (options.max_entries < 0) {
    return Invalid(absl::StrCat("max_entries must not be negative, got ", options.max_entries));
  }
  RedriveResult result;
  auto limit_reached = [&] {
    return options.max_entries > 0 &&
           static_cast<int64_t>(result.redriven.size()) >= options.max_entries;
  };
  // A failure after some entries moved says so: they stay re-driven.
  auto failed = [&](const absl::Status& status) {
    if (result.redriven.empty() || options.dry_run) return status;
    return absl::Status(status.code(),
                        absl::StrCat("re-drove ", result.redriven.size(),
                                     " entries before this failure: ", status.message()));
  };

  if (!options.ids.empty()) {
    std::vector<std::pair<std::pair<uint64_t, uint64_t>, std::string>> ids;
    for (const std::string& id : options.ids) {
      std::optional<std::pair<uint64_t, uint64_t>> order = EntryIdOrder(id);
      if (!order) {
        result.skipped.push_back({id, "not a stream entry id (expected <ms>-<seq>)"});
        continue;
      }
      ids.emplace_back(*order, id);
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end(),
                          [](const auto& a, const auto& b) { return a.first == b.first; }),
              ids.end());
    for (const auto& [order, id] : ids) {
      if (limit_reached()) break;
      absl::StatusOr<std::vector<StreamEntry>> found =
          ReadRange(pool, dead_letter_stream, id, id, 1);
      if (!found.ok()) return failed(found.status());
      if (found->empty()) {
        result.skipped.push_back({id, "not in the dead-letter stream"});
        continue;
      }
      absl::Status moved = RedriveOne(
          pool, dead_letter_stream, ParseDeadLetter(std::move(found->front()), dead_letter_stream),
          options.dry_run, &result);
      if (!moved.ok()) return failed(moved);
    }
    return result;
  }

  // Every entry up to the last one present now.
  SIMPUL_ASSIGN_OR_RETURN(
      RedisReply last,
      pool->Command({"XREVRANGE", std::string(dead_letter_stream), "+", "-", "COUNT", "1"}));
  SIMPUL_RETURN_IF_ERROR(
      ErrorFromReply(last, absl::StrCat("XREVRANGE ", AbslView(dead_letter_stream))));
  if (last.type != RedisReply::Type::kArray) return MalformedReply("XREVRANGE");
  if (last.elements.empty()) return result;
  StreamEntry newest;
  bool deleted = false;
  if (!ParseEntry(last.elements[0], &newest, &deleted)) return MalformedReply("XREVRANGE entry");
  std::string start = "-";
  while (!limit_reached()) {
    absl::StatusOr<std::vector<StreamEntry>> page =
        ReadRange(pool, dead_letter_stream, start, newest.id, kDeadLetterPage);
    if (!page.ok()) return failed(page.status());
    for (StreamEntry& entry : *page) {
      if (limit_reached()) break;
      start = absl::StrCat("(", entry.id);
      absl::Status moved = RedriveOne(pool, dead_letter_stream,
                                      ParseDeadLetter(std::move(entry), dead_letter_stream),
                                      options.dry_run, &result);
      if (!moved.ok()) return failed(moved);
    }
    if (static_cast<int64_t>(page->size()) < kDeadLetterPage) break;
  }
  return result;
}

}  // namespace simpul
