// Tests of the gateway's audit trail: the hash encoding (no server), and AuditLog and the
// simpul-audit command line against a real redis-server started per test (AOF, appendfsync
// always): chaining, every kind of tampering, concurrent replicas, agency listings, restarts.
#include "gateway/audit.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/redis.h"
#include "gateway/audit_archive.h"
#include "gateway/audit_checkpoint.h"
#include "gateway/audit_cli.h"
#include "gateway/audit_key.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/testing/redis_server.h"

namespace simpul::gateway {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using Problem = AuditVerifyReport::Problem;

MATCHER_P(EqualsProto, expected, "") { return MessageDifferencer::Equals(arg, expected); }

const std::string kZeroHash(32, '\0');

// SampleRecord is a fully filled record (sequence 42) whose hash is pinned below.
v1::AuditRecord SampleRecord() {
  v1::AuditRecord r;
  r.set_sequence(42);
  r.mutable_time()->set_seconds(1717372800);
  r.mutable_time()->set_nanos(123456789);
  r.set_request_id("req-1");
  r.set_subject("key:k1");
  r.set_role(common::v1::ROLE_AGENCY_ADMIN);
  r.set_agency_id("ag-1");
  r.set_client_address("ipv4:10.0.0.1:5000");
  r.set_method("/simpul.registry.v1.Registry/CreateService");
  r.set_resource("units/u1");
  r.set_outcome("OK");
  r.set_request_sha256(std::string(32, '\x11'));
  r.set_previous_hash(std::string(32, '\x22'));
  r.set_encoding_version(1);
  return r;
}

std::string Item(std::string_view bytes) {
  std::string out;
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>(static_cast<uint64_t>(bytes.size()) >> shift));
  }
  return out.append(bytes);
}
std::string IntItem(int64_t v) {
  std::string bytes;
  for (int shift = 56; shift >= 0; shift -= 8) {
    bytes.push_back(static_cast<char>(static_cast<uint64_t>(v) >> shift));
  }
  return Item(bytes);
}

TEST(AuditBoundsTest, ShortValidTextIsKeptAndLongTextIsAPrefixPlusItsDigest) {
  EXPECT_EQ(AuditCapped("SBY-2024-000123"), "SBY-2024-000123");
  const std::string big = "TRK-" + std::string(1 << 20, 'x');
  const std::string capped = AuditCapped(big);
  EXPECT_THAT(capped, StartsWith("TRK-xxx"));
  EXPECT_EQ(capped, absl::StrCat(big.substr(0, kAuditFieldBytes),
                                 "\xE2\x80\xA6sha256:", absl::BytesToHexString(AuditDigest(big))));
  EXPECT_EQ(capped.size(), kAuditFieldBytes + 74);  // "…" 3 bytes, "sha256:", 64 hex
  // A multi-byte character is never split; invalid UTF-8 is replaced (and digested as sent).
  std::string euros;
  for (int i = 0; i < 100; ++i) euros += "\xE2\x82\xAC";
  const std::string cut = AuditCapped(euros);
  EXPECT_THAT(cut, StartsWith(euros.substr(0, 126) + "\xE2\x80\xA6sha256:"));
  const std::string invalid = AuditCapped("ab\xff");
  EXPECT_EQ(invalid, absl::StrCat("ab\xEF\xBF\xBD\xE2\x80\xA6sha256:",
                                  absl::BytesToHexString(AuditDigest("ab\xff"))));
}

TEST(AuditBoundsTest, BoundAuditRecordCapsEveryTextField) {
  v1::AuditRecord r = SampleRecord();
  const std::string big(1 << 20, 'z');
  for (std::string* f : {r.mutable_request_id(), r.mutable_subject(), r.mutable_agency_id(),
                         r.mutable_channel(), r.mutable_client_address(), r.mutable_method(),
                         r.mutable_resource(), r.mutable_outcome()}) {
    *f = big;
  }
  BoundAuditRecord(&r);
  EXPECT_LT(r.ByteSizeLong(), 8 * 256u);
  EXPECT_EQ(r.resource(), AuditCapped(big));
  v1::AuditRecord untouched = SampleRecord();
  BoundAuditRecord(&untouched);
  EXPECT_THAT(untouched, EqualsProto(SampleRecord()));
}

TEST(AuditBoundsTest, SecretAuthenticatedCallsKeepNoClientAddress) {
  for (const char* method : {"/simpul.complaints.v1.Complaints/TrackComplaint",
                             "/simpul.complaints.v1.Complaints/ReplyToComplaint",
                             "/simpul.complaints.v1.Complaints/RateComplaint",
                             "/simpul.complaints.v1.Complaints/ReopenComplaint"}) {
    EXPECT_TRUE(AuthenticatedBySecret(method)) << method;
    EXPECT_EQ(AuditClientAddress(method, "ipv4:10.1.2.3:5555"), "") << method;
  }
  EXPECT_FALSE(AuthenticatedBySecret("/simpul.complaints.v1.Complaints/FileComplaint"));
  EXPECT_EQ(AuditClientAddress("/simpul.registry.v1.Registry/CreateService", "ipv4:10.1.2.3:5"),
            "ipv4:10.1.2.3:5");
}

TEST(AuditEncodingTest, CanonicalEncodingIsTheDocumentedLayout) {
  const std::string expected =
      Item("simpul.gateway.v1.AuditRecord/1") + IntItem(42) + IntItem(1717372800) +
      IntItem(123456789) + Item("req-1") + Item("key:k1") + IntItem(1) + Item("ag-1") + Item("") +
      Item("ipv4:10.0.0.1:5000") + Item("/simpul.registry.v1.Registry/CreateService") +
      Item("units/u1") + Item("OK") + Item(std::string(32, '\x11')) + Item(std::string(32, '\x22'));
  v1::AuditRecord record = SampleRecord();
  EXPECT_EQ(AuditCanonicalEncoding(record), expected);
  // The hash field itself is not encoded.
  record.set_hash("anything");
  EXPECT_EQ(AuditCanonicalEncoding(record), expected);
  // Pinned independently (Python hashlib over the same bytes): changing the encoding breaks
  // every stored chain, so it must be a new encoding_version instead.
  absl::StatusOr<std::string> hash = AuditRecordHash(record);
  ASSERT_TRUE(hash.ok()) << hash.status();
  EXPECT_EQ(absl::BytesToHexString(*hash),
            "58ddd1b76c8adac562d11687947407ff08d72bd26fd73f233b314c97220aa65d");
  EXPECT_EQ(AuditDigest(expected), *hash);
}

// Every field but `hash` must change the hash: a field added to AuditRecord without
// extending the encoding fails here.
TEST(AuditEncodingTest, EveryFieldIsCovered) {
  const v1::AuditRecord base = SampleRecord();
  const std::string base_hash = AuditDigest(AuditCanonicalEncoding(base));
  const google::protobuf::Descriptor* d = v1::AuditRecord::descriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* f = d->field(i);
    if (f->name() == "hash") continue;
    v1::AuditRecord changed = base;
    const google::protobuf::Reflection* r = changed.GetReflection();
    switch (f->cpp_type()) {
      case google::protobuf::FieldDescriptor::CPPTYPE_INT64:
        r->SetInt64(&changed, f, r->GetInt64(changed, f) + 1);
        break;
      case google::protobuf::FieldDescriptor::CPPTYPE_INT32:
        r->SetInt32(&changed, f, r->GetInt32(changed, f) + 1);
        break;
      case google::protobuf::FieldDescriptor::CPPTYPE_ENUM:
        r->SetEnumValue(&changed, f, r->GetEnumValue(changed, f) + 1);
        break;
      case google::protobuf::FieldDescriptor::CPPTYPE_STRING:
        r->SetString(&changed, f, r->GetString(changed, f) + "x");
        break;
      case google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE:
        ASSERT_EQ(f->name(), "time");
        changed.mutable_time()->set_seconds(base.time().seconds() + 1);
        EXPECT_NE(AuditDigest(AuditCanonicalEncoding(changed)), base_hash) << "time.seconds";
        changed = base;
        changed.mutable_time()->set_nanos(base.time().nanos() + 1);
        break;
      default:
        FAIL() << "field " << f->name() << " has a type this test does not know";
    }
    if (f->name() == "encoding_version") {
      // Version 2 is keyed: without a key the record cannot be hashed at all.
      EXPECT_FALSE(AuditRecordHash(changed).ok());
      continue;
    }
    if (f->name() == "key_id") {
      // A version-1 record has no key id: one set is not covered, so it never verifies.
      EXPECT_THAT(AuditRecordHash(changed).status().message(), HasSubstr("carries key_id"));
      continue;
    }
    EXPECT_NE(AuditDigest(AuditCanonicalEncoding(changed)), base_hash) << f->name();
  }
  // Lengths keep the items apart: moving a byte from one field to the next changes the hash.
  v1::AuditRecord shifted = base;
  shifted.set_request_id("req-");
  shifted.set_subject("1key:k1");
  EXPECT_NE(AuditDigest(AuditCanonicalEncoding(shifted)), base_hash);
}

TEST(AuditEncodingTest, ChainHeadFormatRoundTrips) {
  AuditChainHead head{1234, std::string(32, '\xab')};
  const std::string text = FormatAuditChainHead(head);
  std::string hex;
  for (int i = 0; i < 32; ++i) hex += "ab";
  EXPECT_EQ(text, "1234:" + hex);
  absl::StatusOr<AuditChainHead> parsed = ParseAuditChainHead(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, head);
  for (const char* bad : {"", "12", "12:abc", "x:" /* no hash */, "-1:00",
                          "5:zz00000000000000000000000000000000000000000000000000000000000000"}) {
    EXPECT_EQ(ParseAuditChainHead(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(AuditEncodingTest, RecordJsonEscapesAndUsesHex) {
  v1::AuditRecord r = SampleRecord();
  r.set_resource("a\"b\\c\nd\x01");
  r.set_hash(std::string(32, '\x01'));
  const std::string json = AuditRecordJson(r);
  EXPECT_THAT(json,
              StartsWith("{\"sequence\":42,\"time\":\"2024-06-03T00:00:00.123456789+00:00\""));
  EXPECT_THAT(json, HasSubstr("\"role\":\"ROLE_AGENCY_ADMIN\""));
  EXPECT_THAT(json, HasSubstr("\"resource\":\"a\\\"b\\\\c\\nd\\u0001\""));
  std::string hex;
  for (int i = 0; i < 32; ++i) hex += "01";
  EXPECT_THAT(json, HasSubstr(absl::StrCat("\"hash\":\"", hex, "\"")));
  EXPECT_EQ(json.find('\n'), std::string::npos);
}

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = simpul::testing::RedisServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    pool_ = NewPool();
    log_ = NewLog(pool_.get());
  }

  std::unique_ptr<RedisPool> NewPool() {
    RedisOptions options;
    options.port = server_->port();
    options.pool_size = 16;
    return std::make_unique<RedisPool>(options);
  }
  std::unique_ptr<AuditLog> NewLog(RedisPool* pool) {
    AuditLog::Options options;
    options.clock = &clock_;
    absl::StatusOr<std::unique_ptr<AuditLog>> log = AuditLog::Create(pool, options);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(*log) : nullptr;
  }

  // Call is what the gateway records for call `i` by a caller of `agency` ("" for none).
  static v1::AuditRecord Call(int i, const std::string& agency = "") {
    v1::AuditRecord r;
    r.set_request_id(absl::StrCat("req-", i));
    r.set_subject(agency.empty() ? "public" : absl::StrCat("key:", agency));
    r.set_role(agency.empty() ? common::v1::ROLE_UNSPECIFIED : common::v1::ROLE_AGENCY_ADMIN);
    r.set_agency_id(agency);
    r.set_client_address("ipv4:10.1.2.3:40000");
    r.set_method("/simpul.registry.v1.Registry/UpdateService");
    r.set_resource(absl::StrCat("services/s", i));
    r.set_outcome(i % 5 == 0 ? "PERMISSION_DENIED" : "OK");
    r.set_request_sha256(AuditDigest(absl::StrCat("request ", i)));
    return r;
  }

  v1::AuditRecord MustAppend(v1::AuditRecord r) {
    absl::StatusOr<v1::AuditRecord> stored = log_->Append(std::move(r));
    EXPECT_TRUE(stored.ok()) << stored.status();
    return stored.ok() ? *stored : v1::AuditRecord();
  }
  std::vector<v1::AuditRecord> AppendMany(int n, int first = 1) {
    std::vector<v1::AuditRecord> out;
    for (int i = first; i < first + n; ++i) out.push_back(MustAppend(Call(i)));
    return out;
  }

  AuditVerifyReport MustVerify(AuditVerifyOptions options = {}) {
    absl::StatusOr<AuditVerifyReport> report = log_->Verify(options);
    EXPECT_TRUE(report.ok()) << report.status();
    return report.ok() ? *report : AuditVerifyReport{};
  }

  RedisReply Raw(const std::vector<std::string>& argv) {
    absl::StatusOr<RedisReply> reply = pool_->Command(argv);
    EXPECT_TRUE(reply.ok()) << reply.status();
    EXPECT_FALSE(reply.ok() && reply->is_error()) << reply->str;
    return reply.ok() ? *reply : RedisReply{};
  }

  struct StoredEntry {
    std::string id;
    std::string bytes;
  };
  // ReadLog returns the stream's entries as stored.
  std::vector<StoredEntry> ReadLog() {
    RedisReply reply = Raw({"XRANGE", log_->LogKey(), "-", "+"});
    std::vector<StoredEntry> out;
    for (const RedisReply& e : reply.elements) {
      out.push_back({e.elements[0].str, e.elements[1].elements[1].str});
    }
    return out;
  }
  // RewriteLog replaces the whole stream by `entries` (ids must increase), as someone with
  // write access to Redis could.
  void RewriteLog(const std::vector<StoredEntry>& entries) {
    Raw({"DEL", log_->LogKey()});
    for (const StoredEntry& e : entries) Raw({"XADD", log_->LogKey(), e.id, "r", e.bytes});
  }
  // Renumbered gives entries the ids Append would have given them at their positions.
  static std::vector<StoredEntry> Renumbered(std::vector<StoredEntry> entries) {
    for (size_t i = 0; i < entries.size(); ++i) entries[i].id = absl::StrCat(i + 1, "-0");
    return entries;
  }
  static v1::AuditRecord Parse(const std::string& bytes) {
    v1::AuditRecord r;
    EXPECT_TRUE(r.ParseFromString(bytes));
    return r;
  }
  static void Rehash(v1::AuditRecord* r) {
    absl::StatusOr<std::string> hash = AuditRecordHash(*r);
    ASSERT_TRUE(hash.ok()) << hash.status();
    r->set_hash(*hash);
  }
  void SetHead(int64_t sequence, const std::string& hash) {
    Raw({"HSET", log_->HeadKey(), "s", absl::StrCat(sequence), "h", hash});
  }

  std::unique_ptr<simpul::testing::RedisServer> server_;
  FakeClock clock_{absl::FromUnixSeconds(1717372800)};
  std::unique_ptr<RedisPool> pool_;
  std::unique_ptr<AuditLog> log_;
};

void ExpectProblem(const AuditVerifyReport& report, Problem problem, int64_t sequence) {
  EXPECT_EQ(AuditProblemName(report.problem), AuditProblemName(problem))
      << FormatAuditVerifyReport(report);
  EXPECT_EQ(report.sequence, sequence) << FormatAuditVerifyReport(report);
}

TEST_F(AuditLogTest, CreateRejectsBadOptions) {
  for (const char* prefix : {"simpul:gw:", "simpul:gw:{}:", "simpul:{a}:{b}:", "{a"}) {
    AuditLog::Options options;
    options.key_prefix = prefix;
    absl::StatusOr<std::unique_ptr<AuditLog>> log = AuditLog::Create(pool_.get(), options);
    EXPECT_EQ(log.status().code(), absl::StatusCode::kInvalidArgument) << prefix;
    if (!log.ok()) {
      EXPECT_THAT(log.status().message(), HasSubstr("key_prefix")) << prefix;
    }
  }
  AuditLog::Options options;
  options.max_batch = 0;
  EXPECT_THAT(AuditLog::Create(pool_.get(), options).status().message(), HasSubstr("max_batch"));
}

TEST_F(AuditLogTest, AppendAssignsSequenceAndChainsHashes) {
  v1::AuditRecord input = Call(1, "ag-1");
  input.set_sequence(99);  // ignored
  input.set_hash("forged");
  const v1::AuditRecord first = MustAppend(input);
  const v1::AuditRecord second = MustAppend(Call(2));
  v1::AuditRecord timed = Call(3);
  timed.mutable_time()->set_seconds(1700000000);
  const v1::AuditRecord third = MustAppend(timed);

  EXPECT_EQ(first.sequence(), 1);
  EXPECT_EQ(first.previous_hash(), kZeroHash);
  EXPECT_EQ(first.encoding_version(), kAuditEncodingVersion);
  EXPECT_EQ(first.time().seconds(), 1717372800);  // from the clock
  EXPECT_EQ(first.subject(), "key:ag-1");
  EXPECT_EQ(second.sequence(), 2);
  EXPECT_EQ(second.previous_hash(), first.hash());
  EXPECT_EQ(third.sequence(), 3);
  EXPECT_EQ(third.previous_hash(), second.hash());
  EXPECT_EQ(third.time().seconds(), 1700000000);  // the caller's time is kept
  for (const v1::AuditRecord& r : {first, second, third}) {
    EXPECT_EQ(r.hash(), *AuditRecordHash(r));
  }

  // Stored as documented: stream ids "<sequence>-0", the head, the agency index.
  std::vector<StoredEntry> entries = ReadLog();
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].id, "1-0");
  EXPECT_EQ(entries[2].id, "3-0");
  EXPECT_THAT(Parse(entries[1].bytes), EqualsProto(second));
  EXPECT_EQ(log_->LogKey(), "simpul:gw:{a}:log");
  RedisReply head = Raw({"HMGET", "simpul:gw:{a}:head", "s", "h"});
  EXPECT_EQ(head.elements[0].str, "3");
  EXPECT_EQ(head.elements[1].str, third.hash());
  RedisReply index = Raw({"ZRANGE", "simpul:gw:{a}:ag:ag-1", "0", "-1"});
  ASSERT_EQ(index.elements.size(), 1u);
  EXPECT_EQ(index.elements[0].str, "1");

  absl::StatusOr<AuditChainHead> stored_head = log_->Head();
  ASSERT_TRUE(stored_head.ok()) << stored_head.status();
  EXPECT_EQ(*stored_head, (AuditChainHead{3, third.hash()}));
}

TEST_F(AuditLogTest, AppendRejectsIncompleteRecordsWithoutWriting) {
  v1::AuditRecord r = Call(1);
  r.clear_subject();
  r.clear_method();
  r.clear_outcome();
  r.set_request_sha256("short");
  r.mutable_time()->set_nanos(-1);
  absl::StatusOr<v1::AuditRecord> stored = log_->Append(r);
  ASSERT_EQ(stored.status().code(), absl::StatusCode::kInvalidArgument);
  for (const char* field : {"subject", "method", "outcome", "request_sha256", "time.nanos"}) {
    EXPECT_THAT(stored.status().message(), HasSubstr(field));
  }
  EXPECT_EQ(log_->Head()->sequence, 0);
  EXPECT_TRUE(ReadLog().empty());
}

TEST_F(AuditLogTest, LongAndInvalidTextIsStoredBoundedAndVerifies) {
  v1::AuditRecord r = Call(1);
  r.set_resource(std::string(1 << 20, 'r'));
  r.set_method("/simpul.complaints.v1.Complaints/" + std::string(100000, 'M'));
  r.set_request_id("id\xff\xfe");
  const v1::AuditRecord stored = MustAppend(r);
  EXPECT_EQ(stored.resource(), AuditCapped(std::string(1 << 20, 'r')));
  EXPECT_EQ(stored.request_id(), AuditCapped("id\xff\xfe"));
  std::vector<StoredEntry> entries = ReadLog();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_LT(entries[0].bytes.size(), 1024u);
  EXPECT_THAT(Parse(entries[0].bytes), EqualsProto(stored));
  absl::StatusOr<AuditVerifyReport> report = log_->Verify({});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok()) << FormatAuditVerifyReport(*report);
  EXPECT_EQ(report->records_checked, 1);
}

TEST_F(AuditLogTest, UnknownFieldsOfTheCallerAreNotStored) {
  // Field 99 on the record and on its time: neither is covered by the hash encoding, so
  // Append drops both and the stored record verifies.
  const std::string unknown(
      "\x9a\x06\x03"
      "abc",
      6);
  v1::AuditRecord r = Call(1);
  r.mutable_time()->set_seconds(1700000000);
  ASSERT_TRUE(r.mutable_time()->MergeFromString(unknown));
  ASSERT_TRUE(r.MergeFromString(unknown));
  auto unknown_count = [](const google::protobuf::Message& m) {
    return m.GetReflection()->GetUnknownFields(m).field_count();
  };
  ASSERT_EQ(unknown_count(r), 1);
  ASSERT_EQ(unknown_count(r.time()), 1);
  const v1::AuditRecord stored = MustAppend(r);
  EXPECT_EQ(unknown_count(stored), 0);
  EXPECT_EQ(unknown_count(stored.time()), 0);
  std::vector<StoredEntry> entries = ReadLog();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].bytes, stored.SerializeAsString());
  AuditVerifyReport report = MustVerify();
  EXPECT_TRUE(report.ok()) << FormatAuditVerifyReport(report);
  EXPECT_EQ(report.records_checked, 1);
}

TEST_F(AuditLogTest, EmptyLogVerifies) {
  AuditVerifyReport report = MustVerify();
  EXPECT_TRUE(report.ok()) << FormatAuditVerifyReport(report);
  EXPECT_EQ(report.records_checked, 0);
  EXPECT_EQ(report.head, AuditChainHead{});
}

TEST_F(AuditLogTest, LongChainVerifiesWholeAndInRanges) {
  // More than one read batch (1000 entries).
  std::vector<v1::AuditRecord> records = AppendMany(2345);
  AuditVerifyReport report = MustVerify();
  EXPECT_TRUE(report.ok()) << FormatAuditVerifyReport(report);
  EXPECT_EQ(report.records_checked, 2345);
  EXPECT_EQ(report.head, (AuditChainHead{2345, records.back().hash()}));
  EXPECT_EQ(FormatAuditVerifyReport(report),
            absl::StrCat("ok: 2345 records, head ", absl::BytesToHexString(records.back().hash())));

  report = MustVerify({.from_sequence = 999, .to_sequence = 2001});
  EXPECT_TRUE(report.ok()) << FormatAuditVerifyReport(report);
  EXPECT_EQ(report.records_checked, 2001 - 999 + 1);
  EXPECT_EQ(report.head, (AuditChainHead{2001, records[2000].hash()}));

  report = MustVerify({.expected_head = AuditChainHead{1000, records[999].hash()}});
  EXPECT_TRUE(report.ok()) << FormatAuditVerifyReport(report);

  EXPECT_EQ(log_->Verify({.from_sequence = 2346}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(log_->Verify({.from_sequence = 5, .to_sequence = 4}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Tampering: a chain of 20 records, then someone with write access to Redis changes it.
class AuditTamperTest : public AuditLogTest {
 protected:
  void SetUp() override {
    AuditLogTest::SetUp();
    for (int i = 1; i <= kRecords; ++i) {
      records_.push_back(MustAppend(Call(i, i % 2 == 0 ? "ag-even" : "ag-odd")));
    }
    ASSERT_TRUE(MustVerify().ok());
    entries_ = ReadLog();
    ASSERT_EQ(entries_.size(), static_cast<size_t>(kRecords));
  }

  // Record k (1-based) as stored.
  v1::AuditRecord Record(int k) { return Parse(entries_[k - 1].bytes); }

  static constexpr int kRecords = 20;
  std::vector<v1::AuditRecord> records_;
  std::vector<StoredEntry> entries_;
};

TEST_F(AuditTamperTest, AlteredFieldIsPinpointed) {
  v1::AuditRecord r = Record(7);
  r.set_subject("someone-else");
  entries_[6].bytes = r.SerializeAsString();
  RewriteLog(entries_);
  AuditVerifyReport report = MustVerify();
  ExpectProblem(report, Problem::kAltered, 7);
  EXPECT_THAT(report.detail, HasSubstr("does not match its hash"));
  EXPECT_EQ(report.records_checked, 6);
  EXPECT_EQ(report.head, (AuditChainHead{6, records_[5].hash()}));
  EXPECT_THAT(FormatAuditVerifyReport(report), StartsWith("altered at record 7: "));
}

TEST_F(AuditTamperTest, AlteredAndRehashedRecordIsPinpointed) {
  v1::AuditRecord r = Record(7);
  r.set_outcome("OK");
  r.set_resource("services/innocent");
  Rehash(&r);
  entries_[6].bytes = r.SerializeAsString();
  RewriteLog(entries_);
  AuditVerifyReport report = MustVerify();
  ExpectProblem(report, Problem::kAltered, 7);
  EXPECT_THAT(report.detail, HasSubstr("record 8"));
}

TEST_F(AuditTamperTest, AlteredAndRehashedLastRecordIsCaughtByTheHead) {
  v1::AuditRecord r = Record(kRecords);
  r.set_subject("someone-else");
  Rehash(&r);
  entries_.back().bytes = r.SerializeAsString();
  RewriteLog(entries_);
  ExpectProblem(MustVerify(), Problem::kAltered, kRecords);
}

TEST_F(AuditTamperTest, GarbageAndUncoveredFieldsAreAltered) {
  entries_[2].bytes = "\xff\xff garbage";
  // Field 99 (unknown to the schema and to the hash encoding) appended to record 9.
  entries_[8].bytes += std::string(
      "\x9a\x06\x03"
      "abc",
      6);
  RewriteLog(entries_);
  ExpectProblem(MustVerify(), Problem::kAltered, 3);
  AuditVerifyReport report = MustVerify({.from_sequence = 5});
  ExpectProblem(report, Problem::kAltered, 9);
  EXPECT_THAT(report.detail, HasSubstr("does not cover"));
}

TEST_F(AuditTamperTest, RemovedRecordIsPinpointed) {
  Raw({"XDEL", log_->LogKey(), "7-0"});
  AuditVerifyReport report = MustVerify();
  ExpectProblem(report, Problem::kRemoved, 7);
  EXPECT_THAT(report.detail, HasSubstr("record 7 is missing"));
  EXPECT_EQ(report.records_checked, 6);
}

TEST_F(AuditTamperTest, RemovedRunAndFirstRecordArePinpointed) {
  Raw({"XDEL", log_->LogKey(), "11-0", "12-0", "13-0"});
  AuditVerifyReport report = MustVerify();
  ExpectProblem(report, Problem::kRemoved, 11);
  EXPECT_THAT(report.detail, HasSubstr("records 11 to 13 are missing"));
  Raw({"XDEL", log_->LogKey(), "1-0"});
  ExpectProblem(MustVerify(), Problem::kRemoved, 1);
}

TEST_F(AuditTamperTest, SwappedRecordsArePinpointed) {
  std::swap(entries_[6].bytes, entries_[7].bytes);  // records 7 and 8 trade places
  RewriteLog(entries_);
  AuditVerifyReport report = MustVerify();
  ExpectProblem(report, Problem::kReordered, 7);
  EXPECT_THAT(report.detail, HasSubstr("swapped"));
}

TEST_F(AuditTamperTest, MovedRecordIsPinpointed) {
  // Record 5 moved after record 12; every entry keeps the id of its new position.
  std::vector<StoredEntry> moved = entries_;
  StoredEntry five = moved[4];
  moved.erase(moved.begin() + 4);
  moved.insert(moved.begin() + 11, five);
  RewriteLog(Renumbered(moved));
  AuditVerifyReport report = MustVerify();
  ExpectProblem(report, Problem::kReordered, 5);
  EXPECT_THAT(report.detail, HasSubstr("stream id 12-0"));
}

// A forged record that claims sequence 8, links to record 7 and carries a correct hash.
v1::AuditRecord Forged(const v1::AuditRecord& seven) {
  v1::AuditRecord forged = seven;
  forged.set_sequence(8);
  forged.set_previous_hash(seven.hash());
  forged.set_subject("mallory");
  absl::StatusOr<std::string> hash = AuditRecordHash(forged);
  forged.set_hash(hash.value_or(""));
  return forged;
}

TEST_F(AuditTamperTest, InsertedBetweenIdsIsPinpointed) {
  // Slipped in between the entries 7-0 and 8-0.
  std::vector<StoredEntry> with = entries_;
  with.insert(with.begin() + 7, StoredEntry{"7-1", Forged(Record(7)).SerializeAsString()});
  RewriteLog(with);
  AuditVerifyReport report = MustVerify();
  ExpectProblem(report, Problem::kInserted, 8);
  EXPECT_THAT(report.detail, HasSubstr("stream id 7-1"));
}

TEST_F(AuditTamperTest, InsertedWithRenumberedIdsIsPinpointed) {
  // The forger rebuilds the stream so ids stay "<position>-0": the forgery sits at 8-0 and
  // passes on its own; the real record 8 (now at 9-0) shows that it is the genuine one.
  std::vector<StoredEntry> with = entries_;
  with.insert(with.begin() + 7, StoredEntry{"", Forged(Record(7)).SerializeAsString()});
  RewriteLog(Renumbered(with));
  AuditVerifyReport report = MustVerify();
  ExpectProblem(report, Problem::kInserted, 8);
  EXPECT_THAT(report.detail, HasSubstr("the one at stream id 8-0 was inserted"));
}

TEST_F(AuditTamperTest, InsertedGarbageAndCopiesArePinpointed) {
  std::vector<StoredEntry> with = entries_;
  with.insert(with.begin() + 4, StoredEntry{"", "not a record"});
  RewriteLog(Renumbered(with));
  ExpectProblem(MustVerify(), Problem::kInserted, 5);

  with = entries_;
  with.insert(with.begin() + 12, entries_[2]);  // a copy of record 3 after record 12
  RewriteLog(Renumbered(with));
  AuditVerifyReport report = MustVerify();
  ExpectProblem(report, Problem::kInserted, 13);
  EXPECT_THAT(report.detail, HasSubstr("record 3 (stream id 13-0) was inserted before record 13"));
}

TEST_F(AuditTamperTest, InsertedBeyondTheHeadIsPinpointed) {
  v1::AuditRecord extra = records_.back();
  extra.set_sequence(kRecords + 1);
  extra.set_previous_hash(records_.back().hash());
  Rehash(&extra);
  Raw({"XADD", log_->LogKey(), absl::StrCat(kRecords + 1, "-0"), "r", extra.SerializeAsString()});
  AuditVerifyReport report = MustVerify();
  ExpectProblem(report, Problem::kInserted, kRecords + 1);
  EXPECT_THAT(report.detail, HasSubstr("beyond the chain head"));
  // Appending on top of it is refused rather than forking the chain.
  absl::StatusOr<v1::AuditRecord> appended = log_->Append(Call(100));
  EXPECT_EQ(appended.status().code(), absl::StatusCode::kDataLoss) << appended.status();
}

TEST_F(AuditTamperTest, TruncatedTailIsDetected) {
  // Deleted with the head left alone: the head names a record the log no longer has.
  Raw({"XDEL", log_->LogKey(), "18-0", "19-0", "20-0"});
  AuditVerifyReport report = MustVerify();
  ExpectProblem(report, Problem::kRemoved, 18);
  EXPECT_EQ(report.records_checked, 17);

  // With the head rewritten too: the stream still remembers how many entries it had.
  SetHead(17, records_[16].hash());
  report = MustVerify();
  ExpectProblem(report, Problem::kRemoved, 18);
  EXPECT_THAT(report.detail, HasSubstr("20 entries added"));
  // Appends are refused: the stream will not take id 18-0 again.
  EXPECT_EQ(log_->Append(Call(100)).status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(AuditTamperTest, TruncatedTailIsDetectedOnlyAgainstAnAnchoredHead) {
  const AuditChainHead anchored = *log_->Head();
  EXPECT_EQ(anchored, (AuditChainHead{kRecords, records_.back().hash()}));
  // A careful forger rebuilds the stream without the last 3 records and rewrites the head:
  // the remaining chain is consistent in itself.
  RewriteLog(std::vector<StoredEntry>(entries_.begin(), entries_.begin() + 17));
  SetHead(17, records_[16].hash());
  EXPECT_TRUE(MustVerify().ok());
  AuditVerifyReport report = MustVerify({.expected_head = anchored});
  ExpectProblem(report, Problem::kRemoved, 18);
  EXPECT_THAT(report.detail, HasSubstr("anchored head is record 20"));
  // An anchor inside the chain still matches.
  EXPECT_TRUE(MustVerify({.expected_head = AuditChainHead{10, records_[9].hash()}}).ok());
}

TEST_F(AuditTamperTest, RewrittenChainIsDetectedAgainstAnAnchoredHead) {
  const AuditChainHead anchored = *log_->Head();
  // Record 10 altered, it and every later record rehashed and relinked, the head rewritten.
  std::string previous = records_[8].hash();
  for (int k = 10; k <= kRecords; ++k) {
    v1::AuditRecord r = Record(k);
    if (k == 10) r.set_outcome("OK");
    if (k == 10) r.set_subject("someone-else");
    r.set_previous_hash(previous);
    Rehash(&r);
    previous = r.hash();
    entries_[k - 1].bytes = r.SerializeAsString();
  }
  RewriteLog(entries_);
  SetHead(kRecords, previous);
  EXPECT_TRUE(MustVerify().ok());
  AuditVerifyReport report = MustVerify({.expected_head = anchored});
  ExpectProblem(report, Problem::kAltered, kRecords);
  EXPECT_THAT(report.detail, HasSubstr("rewritten at or before record 20"));
  // An anchor before the rewrite still matches; one after it does not.
  EXPECT_TRUE(MustVerify({.expected_head = AuditChainHead{9, records_[8].hash()}}).ok());
  ExpectProblem(MustVerify({.expected_head = AuditChainHead{10, records_[9].hash()}}),
                Problem::kAltered, 10);
}

TEST_F(AuditTamperTest, RangesReportOnlyWhatTheyCover) {
  v1::AuditRecord r = Record(7);
  r.set_subject("someone-else");
  entries_[6].bytes = r.SerializeAsString();
  RewriteLog(entries_);
  EXPECT_TRUE(MustVerify({.from_sequence = 9}).ok());
  EXPECT_TRUE(MustVerify({.from_sequence = 1, .to_sequence = 6}).ok());
  ExpectProblem(MustVerify({.from_sequence = 5, .to_sequence = 8}), Problem::kAltered, 7);
  // The first record of a range is checked against the one before it.
  ExpectProblem(MustVerify({.from_sequence = 8}), Problem::kAltered, 7);
}

TEST_F(AuditTamperTest, MissingHeadIsReported) {
  Raw({"DEL", log_->HeadKey()});
  AuditVerifyReport report = MustVerify();
  ExpectProblem(report, Problem::kAltered, kRecords);
  EXPECT_THAT(report.detail, HasSubstr("missing"));
  EXPECT_EQ(log_->Append(Call(100)).status().code(), absl::StatusCode::kDataLoss);
}

// Checks that `stored` (what Append returned, in any order) is exactly the chain 1..n in the
// log, linked and verifiable.
void ExpectGapFreeChain(AuditLog& log, std::vector<v1::AuditRecord> stored, int64_t n) {
  ASSERT_EQ(stored.size(), static_cast<size_t>(n));
  std::sort(stored.begin(), stored.end(), [](const v1::AuditRecord& a, const v1::AuditRecord& b) {
    return a.sequence() < b.sequence();
  });
  std::string previous = kZeroHash;
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_EQ(stored[i].sequence(), i + 1);
    ASSERT_EQ(stored[i].previous_hash(), previous) << "fork at " << i + 1;
    previous = stored[i].hash();
  }
  absl::StatusOr<AuditVerifyReport> report = log.Verify({});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok()) << FormatAuditVerifyReport(*report);
  EXPECT_EQ(report->records_checked, n);
  EXPECT_EQ(report->head, (AuditChainHead{n, previous}));
}

// Appends `per_thread` records from each of `threads` threads, spread over `logs`; returns
// what Append returned. Each thread's records must come back in its own order.
std::vector<v1::AuditRecord> AppendConcurrently(const std::vector<AuditLog*>& logs, int threads,
                                                int per_thread) {
  std::vector<std::vector<v1::AuditRecord>> out(threads);
  std::vector<std::thread> workers;
  std::atomic<int> errors = 0;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      AuditLog* log = logs[t % logs.size()];
      for (int i = 0; i < per_thread; ++i) {
        v1::AuditRecord r;
        r.set_subject(absl::StrCat("thread-", t));
        r.set_agency_id(absl::StrCat("ag-", t % 3));
        r.set_method("/simpul.complaints.v1.Complaints/FileComplaint");
        r.set_resource(absl::StrCat(t, "/", i));
        r.set_outcome("OK");
        absl::StatusOr<v1::AuditRecord> stored = log->Append(r);
        if (!stored.ok()) {
          ++errors;
          ADD_FAILURE() << stored.status();
          continue;
        }
        out[t].push_back(*std::move(stored));
      }
    });
  }
  for (std::thread& w : workers) w.join();
  EXPECT_EQ(errors.load(), 0);
  std::vector<v1::AuditRecord> all;
  for (int t = 0; t < threads; ++t) {
    for (size_t i = 1; i < out[t].size(); ++i) {
      EXPECT_LT(out[t][i - 1].sequence(), out[t][i].sequence()) << "thread " << t;
    }
    all.insert(all.end(), out[t].begin(), out[t].end());
  }
  return all;
}

TEST_F(AuditLogTest, ConcurrentAppendsFromEightThreadsFormOneChain) {
  std::vector<v1::AuditRecord> stored = AppendConcurrently({log_.get()}, 8, 300);
  ExpectGapFreeChain(*log_, stored, 8 * 300);
}

TEST_F(AuditLogTest, TwoReplicasAppendWithoutGapsOrForks) {
  // Two gateway replicas: separate pools (connections) and separate AuditLog instances, each
  // with its own guess of the head, appending from 4 threads each.
  std::unique_ptr<RedisPool> other_pool = NewPool();
  std::unique_ptr<AuditLog> other = NewLog(other_pool.get());
  std::vector<v1::AuditRecord> stored = AppendConcurrently({log_.get(), other.get()}, 8, 300);
  ExpectGapFreeChain(*log_, stored, 8 * 300);
  // Both keep appending to the same chain afterwards.
  const v1::AuditRecord a = MustAppend(Call(1));
  absl::StatusOr<v1::AuditRecord> b = other->Append(Call(2));
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->sequence(), a.sequence() + 1);
  EXPECT_EQ(b->previous_hash(), a.hash());
  EXPECT_TRUE(MustVerify().ok());
}

TEST_F(AuditLogTest, VerifyRunsWhileReplicasAppend) {
  AppendMany(1500);
  std::unique_ptr<RedisPool> other_pool = NewPool();
  std::unique_ptr<AuditLog> other = NewLog(other_pool.get());
  std::atomic<bool> done = false;
  std::thread verifier([&] {
    int runs = 0;
    while (!done.load() || runs < 3) {
      absl::StatusOr<AuditVerifyReport> report = log_->Verify({});
      ASSERT_TRUE(report.ok()) << report.status();
      EXPECT_TRUE(report->ok()) << FormatAuditVerifyReport(*report);
      EXPECT_GE(report->records_checked, 1500);
      ++runs;
    }
  });
  std::vector<v1::AuditRecord> stored = AppendConcurrently({log_.get(), other.get()}, 4, 300);
  done = true;
  verifier.join();
  EXPECT_EQ(stored.size(), 1200u);
  AuditVerifyReport report = MustVerify();
  EXPECT_TRUE(report.ok()) << FormatAuditVerifyReport(report);
  EXPECT_EQ(report.records_checked, 2700);
}

TEST_F(AuditLogTest, AppendThroughput) {
  // Not a pass/fail criterion (wall-clock numbers vary by machine): printed for the record.
  // AOF with appendfsync always, as in production.
  auto measure = [&](std::vector<AuditLog*> logs, int threads, int per_thread) {
    const absl::Time start = absl::Now();
    std::vector<v1::AuditRecord> stored = AppendConcurrently(logs, threads, per_thread);
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    const double rate = stored.size() / seconds;
    std::printf("[ audit ] %zu appends from %d thread(s) over %zu AuditLog(s): %.0f appends/s\n",
                stored.size(), threads, logs.size(), rate);
    RecordProperty(absl::StrCat("appends_per_s_", threads, "_threads_", logs.size(), "_logs"),
                   static_cast<int>(rate));
  };
  std::unique_ptr<RedisPool> other_pool = NewPool();
  std::unique_ptr<AuditLog> other = NewLog(other_pool.get());
  measure({log_.get()}, 1, 2000);
  measure({log_.get()}, 8, 1000);
  measure({log_.get(), other.get()}, 8, 1000);
  EXPECT_TRUE(MustVerify().ok());
}

TEST_F(AuditLogTest, AgencyListingIsOwnRecordsInStablePages) {
  const std::vector<std::string> agencies = {"ag-a", "ag-b", ""};
  std::vector<v1::AuditRecord> own;  // ag-a's, oldest first
  for (int i = 1; i <= 60; ++i) {
    v1::AuditRecord r = MustAppend(Call(i, agencies[i % 3]));
    if (r.agency_id() == "ag-a") own.push_back(r);
  }
  ASSERT_EQ(own.size(), 20u);

  std::vector<v1::AuditRecord> listed;
  std::string token;
  int pages = 0;
  do {
    absl::StatusOr<AuditPage> page = log_->List("ag-a", 6, token);
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_LE(page->records.size(), 6u);
    listed.insert(listed.end(), page->records.begin(), page->records.end());
    token = page->next_page_token;
    ++pages;
    // Records appended between pages (newer, for the same agency) never shift later pages.
    MustAppend(Call(1000 + pages, "ag-a"));
  } while (!token.empty());
  EXPECT_EQ(pages, 4);
  ASSERT_EQ(listed.size(), own.size());
  for (size_t i = 0; i < own.size(); ++i) {
    EXPECT_THAT(listed[i], EqualsProto(own[own.size() - 1 - i])) << i;
  }

  // All records, newest first.
  absl::StatusOr<AuditPage> all = log_->List("", 0, "");
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->records.size(), 50u);
  EXPECT_EQ(all->records.front().sequence(), 64);
  EXPECT_EQ(all->records.back().sequence(), 15);
  absl::StatusOr<AuditPage> rest = log_->List("", 500, all->next_page_token);
  ASSERT_TRUE(rest.ok()) << rest.status();
  ASSERT_EQ(rest->records.size(), 14u);
  EXPECT_EQ(rest->records.front().sequence(), 14);
  EXPECT_EQ(rest->records.back().sequence(), 1);
  EXPECT_TRUE(rest->next_page_token.empty());

  absl::StatusOr<AuditPage> none = log_->List("ag-unknown", 10, "");
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->records.empty());
  EXPECT_TRUE(none->next_page_token.empty());

  // A token belongs to its query; sizes are bounded.
  absl::StatusOr<AuditPage> first = log_->List("ag-a", 2, "");
  ASSERT_TRUE(first.ok());
  absl::StatusOr<AuditPage> other = log_->List("ag-b", 2, first->next_page_token);
  EXPECT_EQ(other.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(other.status().message(), HasSubstr("page.page_token"));
  EXPECT_EQ(log_->List("ag-a", 501, "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(log_->List("ag-a", -1, "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(log_->List("", 5, "garbage!").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(AuditLogTest, RestartKeepsEverything) {
  std::vector<v1::AuditRecord> before = AppendMany(50);
  const AuditChainHead head = *log_->Head();
  server_->Kill();  // SIGKILL: only what the AOF holds survives
  ASSERT_TRUE(server_->Restart().ok());

  // The pool notices the lost connections; a failed append is reported, never half-written.
  absl::StatusOr<v1::AuditRecord> after = absl::UnavailableError("not yet");
  for (int i = 0; i < 50 && !after.ok(); ++i) {
    after = log_->Append(Call(51));
    if (!after.ok()) absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->sequence(), 51);
  EXPECT_EQ(after->previous_hash(), head.hash);
  AuditVerifyReport report = MustVerify();
  EXPECT_TRUE(report.ok()) << FormatAuditVerifyReport(report);
  EXPECT_EQ(report.records_checked, 51);
  EXPECT_TRUE(MustVerify({.expected_head = head}).ok());
  absl::StatusOr<AuditPage> page = log_->List("", 100, "");
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->records.size(), 51u);
  EXPECT_THAT(page->records[1], EqualsProto(before.back()));
}

TEST_F(AuditLogTest, AppendFailsWhileRedisIsDownAndResumesTheChain) {
  AppendMany(5);
  server_->Kill();
  absl::StatusOr<v1::AuditRecord> failed = log_->Append(Call(6));
  EXPECT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable) << failed.status();
  ASSERT_TRUE(server_->Restart().ok());
  absl::StatusOr<v1::AuditRecord> resumed = absl::UnavailableError("not yet");
  for (int i = 0; i < 50 && !resumed.ok(); ++i) {
    resumed = log_->Append(Call(6));
    if (!resumed.ok()) absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ(resumed->sequence(), 6);
  EXPECT_TRUE(MustVerify().ok());
}

TEST_F(AuditLogTest, CheckDurabilityWantsAofWithFsyncAlways) {
  EXPECT_TRUE(log_->CheckDurability().ok());
  Raw({"CONFIG", "SET", "appendfsync", "everysec"});
  absl::Status status = log_->CheckDurability();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("appendfsync everysec"));
}

class AuditCliTest : public AuditTamperTest {
 protected:
  // Run runs simpul-audit against the test server; returns the exit status.
  int Run(std::vector<std::string> args) {
    out_.str("");
    err_.str("");
    args.insert(args.begin(), {"--redis", absl::StrCat("127.0.0.1:", server_->port())});
    return RunAuditCli(args, out_, err_);
  }
  std::ostringstream out_, err_;
};

TEST_F(AuditCliTest, VerifyHeadAndList) {
  const std::string head_hex = absl::BytesToHexString(records_.back().hash());
  EXPECT_EQ(Run({"verify"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), absl::StrCat("ok: 20 records, head ", head_hex, "\n"));
  EXPECT_EQ(Run({"head"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), absl::StrCat("20:", head_hex, "\n"));
  EXPECT_EQ(Run({"verify", "--from=5", "--to", "9"}), 0) << err_.str();
  EXPECT_THAT(out_.str(), StartsWith("ok: 5 records, head "));
  EXPECT_EQ(Run({"verify", "--expect-head", absl::StrCat("20:", head_hex)}), 0) << err_.str();

  EXPECT_EQ(Run({"list", "--agency", "ag-even", "--limit", "3"}), 0) << err_.str();
  std::vector<std::string> lines = absl::StrSplit(out_.str(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], AuditRecordJson(records_[19]));
  EXPECT_EQ(lines[1], AuditRecordJson(records_[17]));
  EXPECT_EQ(lines[2], AuditRecordJson(records_[15]));
  EXPECT_EQ(Run({"list"}), 0) << err_.str();
  lines = absl::StrSplit(out_.str(), '\n', absl::SkipEmpty());
  EXPECT_EQ(lines.size(), 20u);
}

TEST_F(AuditCliTest, VerifyExitsOneWithTheProblem) {
  Raw({"XDEL", log_->LogKey(), "7-0"});
  EXPECT_EQ(Run({"verify"}), 1);
  EXPECT_THAT(out_.str(), StartsWith("removed at record 7: "));
  // Truncation detected against a noted head.
  RewriteLog(std::vector<StoredEntry>(entries_.begin(), entries_.begin() + 17));
  SetHead(17, records_[16].hash());
  EXPECT_EQ(Run({"verify"}), 0);
  EXPECT_EQ(Run({"verify", "--expect-head",
                 absl::StrCat("20:", absl::BytesToHexString(records_.back().hash()))}),
            1);
  EXPECT_THAT(out_.str(), StartsWith("removed at record 18: "));
}

TEST_F(AuditCliTest, UsageErrorsExitTwoAndRedisErrorsThree) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{},
                                             {"frobnicate"},
                                             {"verify", "extra"},
                                             {"verify", "--limit", "3"},
                                             {"list", "--limit", "0"},
                                             {"list", "--limit"},
                                             {"verify", "--from", "x"},
                                             {"verify", "--from", "5", "--to", "4"},
                                             {"verify", "--expect-head", "12:abc"},
                                             {"verify", "--timeout", "soon"},
                                             {"verify", "--prefix", "no-hash-tag:"}}) {
    EXPECT_EQ(Run(args), 2) << absl::StrJoin(args, " ") << ": " << err_.str();
  }
  EXPECT_EQ(RunAuditCli({"--redis", "nowhere", "verify"}, out_, err_), 2);
  EXPECT_EQ(RunAuditCli({"--help"}, out_, err_), 0);
  EXPECT_THAT(out_.str(), HasSubstr("usage: simpul-audit"));
  const int port = simpul::testing::PickFreePort();
  EXPECT_EQ(RunAuditCli({"--redis", absl::StrCat("127.0.0.1:", port), "verify"}, out_, err_), 3);
}

// ---- Keyed chain (encoding version 2), key file, checkpoints ----

const std::string kKeyHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const std::string kOtherKeyHex(64, 'a');

AuditKeyring MustParseKeys(const std::string& text) {
  absl::StatusOr<AuditKeyring> ring = AuditKeyring::Parse(text, "keys");
  EXPECT_TRUE(ring.ok()) << ring.status();
  return *std::move(ring);
}

// WriteFile writes `text` to `path` with `mode`.
void WriteFile(const std::string& path, const std::string& text, mode_t mode) {
  std::ofstream(path, std::ios::trunc) << text;
  ASSERT_EQ(chmod(path.c_str(), mode), 0);
}

TEST(AuditKeyTest, KeyFileParsesAndTheFirstOrMarkedKeySigns) {
  AuditKeyring one = MustParseKeys(absl::StrCat("# audit key\n\nk1 ", kKeyHex, "\n"));
  EXPECT_EQ(one.active_key_id(), "k1");
  EXPECT_EQ(one.size(), 1u);
  AuditKeyring first = MustParseKeys(absl::StrCat("k1 ", kKeyHex, "\nk2 ", kOtherKeyHex, "\n"));
  EXPECT_EQ(first.active_key_id(), "k1");
  AuditKeyring marked =
      MustParseKeys(absl::StrCat("k1 ", kKeyHex, "\nk2 ", kOtherKeyHex, " active  # new\n"));
  EXPECT_EQ(marked.active_key_id(), "k2");
  EXPECT_TRUE(marked.HasKey("k1"));
  EXPECT_EQ(marked.Mac("k3", "x").status().code(), absl::StatusCode::kFailedPrecondition);

  for (const auto& [text, why] : std::vector<std::pair<std::string, std::string>>{
           {"", "no key"},
           {"k1\n", "line 1: expected"},
           {absl::StrCat("k1 ", kKeyHex.substr(2)), "must be 64 hex digits"},
           {absl::StrCat("k1 ", std::string(63, 'a'), "g"), "not a hex digit"},
           {absl::StrCat("k/1 ", kKeyHex), "key id must be"},
           {absl::StrCat("k1 ", kKeyHex, " primary"), "line 1: expected"},
           {absl::StrCat("k1 ", kKeyHex, "\nk1 ", kOtherKeyHex),
            "line 2: key id \"k1\" appears twice"},
           {absl::StrCat("k1 ", kKeyHex, " active\nk2 ", kOtherKeyHex, " active"),
            "line 2: key \"k2\" is marked active but \"k1\" already is"}}) {
    absl::StatusOr<AuditKeyring> ring = AuditKeyring::Parse(text, "keys");
    EXPECT_EQ(ring.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(ring.status().message(), HasSubstr(why)) << text;
    // The error never shows key material.
    EXPECT_THAT(ring.status().message(), ::testing::Not(HasSubstr(kKeyHex.substr(0, 16))));
  }
}

TEST(AuditKeyTest, KeyFileReadableByOthersIsRefused) {
  const std::string dir = simpul::testing::MakeTempDir("audit-key");
  const std::string path = dir + "/audit.key";
  WriteFile(path, absl::StrCat("k1 ", kKeyHex, "\n"), 0600);
  EXPECT_TRUE(AuditKeyring::FromFile(path).ok());
  WriteFile(path, absl::StrCat("k1 ", kKeyHex, "\n"), 0400);
  EXPECT_TRUE(AuditKeyring::FromFile(path).ok());
  for (mode_t mode : {0640, 0604, 0660, 0644}) {
    WriteFile(path, absl::StrCat("k1 ", kKeyHex, "\n"), mode);
    absl::StatusOr<AuditKeyring> ring = AuditKeyring::FromFile(path);
    EXPECT_EQ(ring.status().code(), absl::StatusCode::kPermissionDenied) << mode;
    EXPECT_THAT(ring.status().message(), HasSubstr("chmod 600"));
  }
  EXPECT_EQ(AuditKeyring::FromFile(dir + "/missing").status().code(), absl::StatusCode::kNotFound);
}

TEST(AuditEncodingTest, KeyedEncodingIsTheDocumentedLayoutAndAnHmac) {
  v1::AuditRecord record = SampleRecord();
  record.set_encoding_version(2);
  record.set_key_id("k1");
  const std::string expected =
      Item("simpul.gateway.v1.AuditRecord/2") + IntItem(42) + IntItem(1717372800) +
      IntItem(123456789) + Item("req-1") + Item("key:k1") + IntItem(1) + Item("ag-1") + Item("") +
      Item("ipv4:10.0.0.1:5000") + Item("/simpul.registry.v1.Registry/CreateService") +
      Item("units/u1") + Item("OK") + Item(std::string(32, '\x11')) +
      Item(std::string(32, '\x22')) + Item("k1");
  EXPECT_EQ(AuditCanonicalEncoding(record), expected);
  const AuditKeyring ring = MustParseKeys(absl::StrCat("k1 ", kKeyHex));
  absl::StatusOr<std::string> hash = AuditRecordHash(record, &ring);
  ASSERT_TRUE(hash.ok()) << hash.status();
  // Pinned independently (Python hmac/hashlib over the same bytes and key).
  EXPECT_EQ(absl::BytesToHexString(*hash),
            "4e822bc2d1c864cb058448441735300d70e7890eccc151def983209635c6b49f");
  // Without the key, or with another key under the same id, the hash cannot be had.
  EXPECT_EQ(AuditRecordHash(record).status().code(), absl::StatusCode::kFailedPrecondition);
  const AuditKeyring other = MustParseKeys(absl::StrCat("k1 ", kOtherKeyHex));
  EXPECT_NE(*AuditRecordHash(record, &other), *hash);
  // Every field is covered, the key id included.
  const google::protobuf::Descriptor* d = v1::AuditRecord::descriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* f = d->field(i);
    if (f->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_STRING || f->name() == "hash") {
      continue;
    }
    v1::AuditRecord changed = record;
    changed.GetReflection()->SetString(&changed, f,
                                       changed.GetReflection()->GetString(changed, f) + "x");
    absl::StatusOr<std::string> changed_hash = AuditRecordHash(changed, &ring);
    EXPECT_FALSE(changed_hash.ok() && *changed_hash == *hash) << f->name();
  }
}

class AuditKeyedTest : public AuditLogTest {
 protected:
  void SetUp() override {
    AuditLogTest::SetUp();
    dir_ = simpul::testing::MakeTempDir("audit-keyed");
    key_file_ = dir_ + "/audit.key";
    WriteFile(key_file_, absl::StrCat("k1 ", kKeyHex, "\n"), 0600);
    keyring_ = std::make_unique<AuditKeyring>(*AuditKeyring::FromFile(key_file_));
    keyed_ = NewKeyedLog(keyring_.get());
  }
  std::unique_ptr<AuditLog> NewKeyedLog(const AuditKeyring* keyring) {
    AuditLog::Options options;
    options.clock = &clock_;
    options.keyring = keyring;
    return *AuditLog::Create(pool_.get(), options);
  }
  AuditVerifyReport KeyedVerify(AuditVerifyOptions options = {}) {
    absl::StatusOr<AuditVerifyReport> report = keyed_->Verify(options);
    EXPECT_TRUE(report.ok()) << report.status();
    return report.ok() ? *report : AuditVerifyReport{};
  }
  std::vector<v1::AuditRecord> KeyedAppend(int n, int first) {
    std::vector<v1::AuditRecord> out;
    for (int i = first; i < first + n; ++i) {
      absl::StatusOr<v1::AuditRecord> r = keyed_->Append(Call(i, "ag-1"));
      EXPECT_TRUE(r.ok()) << r.status();
      if (r.ok()) out.push_back(*r);
    }
    return out;
  }
  // RehashTail rewrites records `from`..end as someone with full Redis access but without
  // the key would: `edit` changes each record, which is then hashed with `hash`, relinked,
  // and the head rewritten to match.
  void RewriteTail(int from, const std::function<void(v1::AuditRecord*)>& edit) {
    std::vector<StoredEntry> entries = ReadLog();
    std::string previous = Parse(entries[from - 2].bytes).hash();
    int version = 1;
    for (size_t k = from - 1; k < entries.size(); ++k) {
      v1::AuditRecord r = Parse(entries[k].bytes);
      r.set_previous_hash(previous);
      edit(&r);
      entries[k].bytes = r.SerializeAsString();
      previous = r.hash();
      version = r.encoding_version();
    }
    RewriteLog(entries);
    Raw({"HSET", keyed_->HeadKey(), "s", absl::StrCat(entries.size()), "h", previous, "v",
         absl::StrCat(version)});
  }

  std::string dir_, key_file_;
  std::unique_ptr<AuditKeyring> keyring_;
  std::unique_ptr<AuditLog> keyed_;
};

TEST_F(AuditKeyedTest, KeyedRecordsCarryTheKeyIdAndVerifyOnlyWithTheKey) {
  std::vector<v1::AuditRecord> records = KeyedAppend(5, 1);
  ASSERT_EQ(records.size(), 5u);
  for (const v1::AuditRecord& r : records) {
    EXPECT_EQ(r.encoding_version(), 2);
    EXPECT_EQ(r.key_id(), "k1");
    EXPECT_EQ(r.hash(), *AuditRecordHash(r, keyring_.get()));
  }
  EXPECT_TRUE(KeyedVerify().ok());
  // An unkeyed verifier cannot check them: an error, not a report of tampering.
  absl::StatusOr<AuditVerifyReport> unkeyed = log_->Verify({});
  EXPECT_EQ(unkeyed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(unkeyed.status().message(), HasSubstr("needs the audit key file"));
  // Another key under the same id: every record fails, the first is named.
  const AuditKeyring wrong = MustParseKeys(absl::StrCat("k1 ", kOtherKeyHex));
  ExpectProblem(*NewKeyedLog(&wrong)->Verify({}), Problem::kAltered, 1);
  // Rotation: a ring whose active key is new still verifies records under the old one, and
  // appends under the new one.
  const AuditKeyring rotated =
      MustParseKeys(absl::StrCat("k1 ", kKeyHex, "\nk2 ", kOtherKeyHex, " active"));
  std::unique_ptr<AuditLog> log2 = NewKeyedLog(&rotated);
  absl::StatusOr<v1::AuditRecord> r6 = log2->Append(Call(6));
  ASSERT_TRUE(r6.ok()) << r6.status();
  EXPECT_EQ(r6->key_id(), "k2");
  EXPECT_TRUE(log2->Verify({})->ok());
  // The old ring does not hold k2: record 6 does not verify with it.
  ExpectProblem(KeyedVerify(), Problem::kAltered, 6);
}

TEST_F(AuditKeyedTest, ChainSwitchesFromUnkeyedToKeyedOnceAndNeverBack) {
  AppendMany(5);  // version 1
  std::vector<v1::AuditRecord> keyed = KeyedAppend(5, 6);
  ASSERT_EQ(keyed.size(), 5u);
  EXPECT_EQ(keyed[0].sequence(), 6);
  EXPECT_TRUE(KeyedVerify().ok()) << FormatAuditVerifyReport(KeyedVerify());
  EXPECT_EQ(KeyedVerify().records_checked, 10);
  // An unkeyed gateway (a replica without audit_key_file) may not append after keyed records.
  absl::StatusOr<v1::AuditRecord> refused = log_->Append(Call(11));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("audit_key_file"));
  EXPECT_EQ(ReadLog().size(), 10u);
}

TEST_F(AuditKeyedTest, RewrittenKeyedTailIsCaughtWithTheKey) {
  KeyedAppend(20, 1);
  // (a) The forger changes record 12 and rehashes it and every later record without the key
  // (SHA-256 in place of the HMAC, as in version 1, keeping version 2 and the key id).
  RewriteTail(12, [](v1::AuditRecord* r) {
    if (r->sequence() == 12) r->set_subject("someone-else");
    r->set_hash(AuditDigest(AuditCanonicalEncoding(*r)));
  });
  AuditVerifyReport report = KeyedVerify();
  ExpectProblem(report, Problem::kAltered, 12);
  EXPECT_THAT(report.detail, HasSubstr("does not match its hash"));
}

TEST_F(AuditKeyedTest, TailRewrittenAsUnkeyedRecordsIsCaughtAsADowngrade) {
  KeyedAppend(20, 1);
  // The forger rewrites records 15.. as consistent version-1 records (no key needed).
  RewriteTail(15, [](v1::AuditRecord* r) {
    r->set_encoding_version(1);
    r->clear_key_id();
    if (r->sequence() == 15) r->set_outcome("OK");
    r->set_hash(*AuditRecordHash(*r));
  });
  AuditVerifyReport report = KeyedVerify();
  ExpectProblem(report, Problem::kAltered, 15);
  EXPECT_THAT(report.detail, HasSubstr("never goes back to unkeyed records"));
}

TEST_F(AuditKeyedTest, CheckpointsCatchReplayedRecordsAndTruncation) {
  KeyedAppend(10, 1);
  const std::string file = dir_ + "/checkpoints";
  AuditCheckpointWriter writer(keyed_.get(), keyring_.get(), file, absl::Hours(1));
  EXPECT_EQ(writer.WriteNow().value_or(false), true);
  EXPECT_EQ(writer.WriteNow().value_or(true), false);  // nothing appended since
  KeyedAppend(10, 11);
  EXPECT_EQ(writer.WriteNow().value_or(false), true);
  absl::StatusOr<std::vector<AuditCheckpoint>> checkpoints =
      ReadAuditCheckpointFile(file, *keyring_);
  ASSERT_TRUE(checkpoints.ok()) << checkpoints.status();
  ASSERT_EQ(checkpoints->size(), 2u);
  EXPECT_EQ((*checkpoints)[0].head.sequence, 10);
  EXPECT_EQ((*checkpoints)[1].head.sequence, 20);
  std::vector<AuditChainHead> heads = {(*checkpoints)[0].head, (*checkpoints)[1].head};
  AuditVerifyReport ok = KeyedVerify({.checkpoints = heads});
  EXPECT_TRUE(ok.ok()) << FormatAuditVerifyReport(ok);
  EXPECT_EQ(ok.checkpoints_matched, 2);
  EXPECT_THAT(FormatAuditVerifyReport(ok), HasSubstr("2 checkpoints match"));

  // (b) The forger cuts the chain after record 15 (head rewritten) and lets genuine, keyed
  // records be appended again: the chain is consistent and every HMAC verifies.
  std::vector<StoredEntry> entries = ReadLog();
  RewriteLog(std::vector<StoredEntry>(entries.begin(), entries.begin() + 15));
  Raw({"HSET", keyed_->HeadKey(), "s", "15", "h", Parse(entries[14].bytes).hash(), "v", "2"});
  std::unique_ptr<AuditLog> fresh = NewKeyedLog(keyring_.get());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(fresh->Append(Call(100 + i)).ok());
  EXPECT_TRUE(KeyedVerify().ok());
  AuditVerifyReport replayed = KeyedVerify({.checkpoints = heads});
  ExpectProblem(replayed, Problem::kAltered, 20);
  EXPECT_THAT(replayed.detail, HasSubstr("after record 10 (the last checkpoint that matches)"));

  // (c) Truncation after a checkpoint: the chain no longer reaches it.
  RewriteLog(std::vector<StoredEntry>(entries.begin(), entries.begin() + 15));
  Raw({"HSET", keyed_->HeadKey(), "s", "15", "h", Parse(entries[14].bytes).hash(), "v", "2"});
  AuditVerifyReport truncated = KeyedVerify({.checkpoints = heads});
  ExpectProblem(truncated, Problem::kRemoved, 16);
  EXPECT_THAT(truncated.detail, HasSubstr("the checkpoint is record 20"));
}

TEST_F(AuditKeyedTest, CheckpointLinesAreSignedAndEditsAreCaught) {
  const AuditChainHead head{7, std::string(32, '\x5a')};
  absl::StatusOr<AuditCheckpoint> c = SignAuditCheckpoint(
      *keyring_, head, absl::FromUnixSeconds(1717372800) + absl::Milliseconds(5));
  ASSERT_TRUE(c.ok()) << c.status();
  const std::string line = FormatAuditCheckpoint(*c);
  EXPECT_THAT(line, StartsWith(absl::StrCat("simpul-audit-checkpoint/1 7 ",
                                            absl::BytesToHexString(head.hash), " ")));
  EXPECT_THAT(line, HasSubstr(" 2024-06-03T00:00:00Z k1 "));
  absl::StatusOr<std::vector<AuditCheckpoint>> parsed =
      ParseAuditCheckpoints(absl::StrCat("# heads\n", line, "\n"), "cp", *keyring_);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->size(), 1u);
  EXPECT_EQ((*parsed)[0].head, head);
  // Moving the checkpoint to another sequence breaks its signature.
  std::string edited = line;
  edited.replace(edited.find(" 7 "), 3, " 8 ");
  EXPECT_EQ(ParseAuditCheckpoints(edited, "cp", *keyring_).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(
      ParseAuditCheckpoints("simpul-audit-checkpoint/1 7 zz", "cp", *keyring_).status().code(),
      absl::StatusCode::kInvalidArgument);
  const AuditKeyring other = MustParseKeys(absl::StrCat("k9 ", kOtherKeyHex));
  EXPECT_EQ(ParseAuditCheckpoints(line, "cp", other).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(AuditKeyedTest, CliCheckpointAndVerifyWithCheckpoints) {
  KeyedAppend(12, 1);
  std::ostringstream out, err;
  const std::string redis = absl::StrCat("127.0.0.1:", server_->port());
  const std::string file = dir_ + "/cli-checkpoints";
  auto run = [&](std::vector<std::string> args) {
    out.str("");
    err.str("");
    args.insert(args.begin(), {"--redis", redis, "--key-file", key_file_});
    return RunAuditCli(args, out, err);
  };
  EXPECT_EQ(run({"checkpoint", "--out", file}), 0) << err.str();
  EXPECT_THAT(out.str(), StartsWith("simpul-audit-checkpoint/1 12 "));
  struct stat st;
  ASSERT_EQ(stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(run({"verify", "--checkpoints", file}), 0) << err.str();
  EXPECT_THAT(out.str(), HasSubstr("12 records, head"));
  EXPECT_THAT(out.str(), HasSubstr("1 checkpoints match"));
  // Without the key: a usage error (keyed records, signed checkpoints).
  out.str("");
  EXPECT_EQ(RunAuditCli({"--redis", redis, "verify", "--checkpoints", file}, out, err), 2);
  EXPECT_EQ(RunAuditCli({"--redis", redis, "checkpoint", "--out", file}, out, err), 2);
  EXPECT_EQ(RunAuditCli({"--redis", redis, "verify"}, out, err), 3);
  EXPECT_THAT(err.str(), HasSubstr("needs the audit key file"));
  // A world-readable key file is refused.
  ASSERT_EQ(chmod(key_file_.c_str(), 0644), 0);
  EXPECT_EQ(run({"verify"}), 2);
  EXPECT_THAT(err.str(), HasSubstr("chmod 600"));
  ASSERT_EQ(chmod(key_file_.c_str(), 0600), 0);

  // Truncated to 9 records (head rewritten): verify and a new checkpoint both refuse.
  std::vector<StoredEntry> entries = ReadLog();
  RewriteLog(std::vector<StoredEntry>(entries.begin(), entries.begin() + 9));
  Raw({"HSET", keyed_->HeadKey(), "s", "9", "h", Parse(entries[8].bytes).hash(), "v", "2"});
  EXPECT_EQ(run({"verify"}), 0);
  EXPECT_EQ(run({"verify", "--checkpoints", file}), 1);
  EXPECT_THAT(out.str(), StartsWith("removed at record 10: the checkpoint is record 12"));
  EXPECT_EQ(run({"checkpoint", "--out", file}), 1);
  EXPECT_THAT(out.str(), StartsWith("removed at record 10"));
  // An edited checkpoint file is reported as such.
  std::ofstream(file, std::ios::app) << "simpul-audit-checkpoint/1 9 " << std::string(64, '0')
                                     << " 2024-06-03T00:00:00Z k1 " << std::string(64, '0') << "\n";
  EXPECT_EQ(run({"verify", "--checkpoints", file}), 1);
  EXPECT_THAT(out.str(), HasSubstr("signature does not verify"));
}

TEST_F(AuditKeyedTest, CheckpointWriterTicksAndLeavesTheLastHeadWrittenWhenStopped) {
  const std::string file = dir_ + "/ticks";
  {
    AuditCheckpointWriter writer(keyed_.get(), keyring_.get(), file, absl::Milliseconds(20));
    KeyedAppend(3, 1);
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (absl::Now() < deadline) {
      absl::StatusOr<std::vector<AuditCheckpoint>> read = ReadAuditCheckpointFile(file, *keyring_);
      if (read.ok() && !read->empty() && read->back().head.sequence == 3) break;
      absl::SleepFor(absl::Milliseconds(10));
    }
    KeyedAppend(2, 4);  // then stopped at once: a tick or the destructor writes record 5
    absl::SleepFor(absl::Milliseconds(1));
  }
  absl::StatusOr<std::vector<AuditCheckpoint>> read = ReadAuditCheckpointFile(file, *keyring_);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_GE(read->size(), 2u);
  // A tick may also have caught the first three appends half-way (a head at record 1 or 2).
  const auto three = std::find_if(read->begin(), read->end(),
                                  [](const AuditCheckpoint& c) { return c.head.sequence == 3; });
  ASSERT_NE(three, read->end());
  EXPECT_EQ(read->back().head.sequence, 5);
  EXPECT_TRUE(KeyedVerify({.checkpoints = {three->head, read->back().head}}).ok());
}

// ---- Retention: archives ----

class AuditArchiveTest : public AuditKeyedTest {
 protected:
  int64_t StreamLength() { return Raw({"XLEN", keyed_->LogKey()}).integer; }
  AuditArchiveResult MustArchive(int64_t before, const std::string& out) {
    absl::StatusOr<AuditArchiveResult> result =
        ArchiveAuditSegment(*keyed_, keyring_.get(), {.before_sequence = before, .out = out});
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : AuditArchiveResult{};
  }
  int RunCli(std::vector<std::string> args) {
    out_.str("");
    err_.str("");
    args.insert(args.begin(),
                {"--redis", absl::StrCat("127.0.0.1:", server_->port()), "--key-file", key_file_});
    return RunAuditCli(args, out_, err_);
  }
  std::ostringstream out_, err_;
};

TEST_F(AuditArchiveTest, OldRecordsMoveToFilesAndTheChainVerifiesAcrossThem) {
  std::vector<v1::AuditRecord> records = KeyedAppend(30, 1);
  const std::string first = dir_ + "/1.archive", second = dir_ + "/2.archive";
  AuditArchiveResult r1 = MustArchive(11, first);
  EXPECT_EQ(r1.first, 1);
  EXPECT_EQ(r1.last, 10);
  EXPECT_EQ(StreamLength(), 20);
  absl::StatusOr<AuditArchive> archive = ReadAuditArchive(first);
  ASSERT_TRUE(archive.ok()) << archive.status();
  ASSERT_EQ(archive->records.size(), 10u);
  EXPECT_THAT(archive->records[9], EqualsProto(records[9]));
  struct stat st;
  ASSERT_EQ(stat(first.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // Redis's chain verifies from the anchor; the agency index and listings skip archived ones.
  AuditVerifyReport report = KeyedVerify();
  EXPECT_TRUE(report.ok()) << FormatAuditVerifyReport(report);
  EXPECT_EQ(report.records_checked, 20);
  EXPECT_EQ(Raw({"ZCOUNT", keyed_->AgencyKey("ag-1"), "-inf", "10"}).integer, 0);
  absl::StatusOr<AuditPage> page = keyed_->List("ag-1", 500, "");
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->records.size(), 20u);
  EXPECT_EQ(page->records.back().sequence(), 11);
  EXPECT_EQ(page->archived_through, 10);
  // Appending goes on; a second archive continues from the anchor. The head is never archived.
  KeyedAppend(1, 31);
  EXPECT_EQ(MustArchive(100, second).last, 30);
  EXPECT_EQ(StreamLength(), 1);
  AuditArchiveResult none = MustArchive(100, dir_ + "/3.archive");
  EXPECT_LT(none.last, none.first);  // nothing more to archive

  // The whole chain, from record 1, across both archives and Redis.
  EXPECT_EQ(RunCli({"verify", "--archive", absl::StrCat(second, ",", first)}), 0) << err_.str();
  EXPECT_THAT(out_.str(), StartsWith("ok: 31 records, head "));
  EXPECT_THAT(out_.str(), HasSubstr("(30 of them archived)"));
  EXPECT_EQ(RunCli({"verify"}), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("records 1..30 are archived"));
  // A gap in the archives, or archives that do not end at Redis's anchor, is a problem.
  EXPECT_EQ(RunCli({"verify", "--archive", second}), 1);
  EXPECT_THAT(out_.str(), StartsWith("removed at record 1: "));
  EXPECT_EQ(RunCli({"verify", "--archive", first}), 1);
  EXPECT_THAT(out_.str(), StartsWith("altered at record 10: the archives end at record 10"));
  // Checkpoints at archived records are checked against the archives only.
  const std::string file = dir_ + "/checkpoints";
  ASSERT_TRUE(AppendAuditCheckpoint(
                  file, *SignAuditCheckpoint(*keyring_, {5, records[4].hash()}, absl::Now()))
                  .ok());
  EXPECT_EQ(RunCli({"checkpoint", "--out", file}), 0) << err_.str() << out_.str();
  EXPECT_EQ(RunCli({"verify", "--checkpoints", file}), 0) << err_.str() << out_.str();
  EXPECT_THAT(out_.str(), HasSubstr("1 checkpoints match, 1 checkpoints at archived records not "
                                    "checked"));
  EXPECT_EQ(RunCli({"verify", "--checkpoints", file, "--archive", first + "," + second}), 0)
      << out_.str();
  EXPECT_THAT(out_.str(), HasSubstr("2 checkpoints match"));
}

TEST_F(AuditArchiveTest, AnAlteredArchiveOrChainIsNeverAcceptedOrArchived) {
  KeyedAppend(20, 1);
  const std::string path = dir_ + "/1.archive";
  ASSERT_EQ(MustArchive(11, path).last, 10);
  // A record altered inside the archive (the attacker has no key to rehash it).
  std::vector<std::string> lines;
  {
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
  }
  ASSERT_EQ(lines.size(), 11u);
  std::string bytes;
  ASSERT_TRUE(absl::Base64Unescape(lines[4], &bytes));
  v1::AuditRecord r = Parse(bytes);
  ASSERT_EQ(r.sequence(), 4);
  r.set_subject("key:someone-else");
  lines[4] = absl::Base64Escape(r.SerializeAsString());
  std::ofstream(path, std::ios::trunc) << absl::StrJoin(lines, "\n") << "\n";
  EXPECT_EQ(RunCli({"verify", "--archive", path}), 1);
  EXPECT_THAT(out_.str(), StartsWith("altered at record 4: "));
  EXPECT_THAT(out_.str(), HasSubstr("(archived)"));

  // A damaged chain in Redis is not archived: no file, nothing removed.
  std::vector<StoredEntry> entries = ReadLog();
  v1::AuditRecord altered = Parse(entries[3].bytes);  // record 14
  ASSERT_EQ(altered.sequence(), 14);
  altered.set_outcome("OK-ish");
  entries[3].bytes = altered.SerializeAsString();
  RewriteLog(entries);
  const std::string refused = dir_ + "/2.archive";
  EXPECT_EQ(RunCli({"archive", "--before", "20", "--out", refused}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("do not verify, nothing archived: altered at record 14"));
  EXPECT_FALSE(std::ifstream(refused).good());
  EXPECT_EQ(StreamLength(), 10);
}

TEST_F(AuditArchiveTest, AnInterruptedArchiveIsFinishedByARerunAndAFailedWriteRemovesNothing) {
  KeyedAppend(20, 1);
  // The write fails (no such directory): nothing is removed.
  absl::StatusOr<AuditArchiveResult> failed = ArchiveAuditSegment(
      *keyed_, keyring_.get(), {.before_sequence = 11, .out = dir_ + "/missing/1.archive"});
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(StreamLength(), 20);
  EXPECT_TRUE(KeyedVerify().ok());
  // A crash after the archive was written, before the removal: the file holds records 1..10
  // and Redis still does too. Running the same command again removes them.
  const std::string path = dir_ + "/1.archive";
  absl::StatusOr<std::vector<v1::AuditRecord>> stored = keyed_->ReadRecords(1, 10);
  ASSERT_TRUE(stored.ok());
  ASSERT_TRUE(
      WriteAuditArchive(
          path,
          {.first = 1, .last = 10, .previous_hash = std::string(32, '\0'), .records = *stored})
          .ok());
  EXPECT_EQ(StreamLength(), 20);
  EXPECT_EQ(RunCli({"archive", "--before", "11", "--out", path}), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("archived records 1 to 10"));
  EXPECT_THAT(out_.str(), HasSubstr("finishing an interrupted archive"));
  EXPECT_EQ(StreamLength(), 10);
  EXPECT_EQ(RunCli({"verify", "--archive", path}), 0) << out_.str();
  // Rerunning once more changes nothing: the file is no longer the next segment.
  EXPECT_EQ(RunCli({"archive", "--before", "11", "--out", path}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("choose a new file"));
  EXPECT_EQ(StreamLength(), 10);
}

TEST_F(AuditArchiveTest, OlderThanArchivesByAge) {
  for (int i = 1; i <= 10; ++i) {
    KeyedAppend(1, i);
    clock_.Advance(absl::Hours(24));
  }
  // Records 1..10 were written on days 0..9; now is day 10: older than 5 days are days 0..4.
  absl::StatusOr<AuditArchiveResult> result =
      ArchiveAuditSegment(*keyed_, keyring_.get(),
                          {.older_than = absl::Hours(5 * 24) + absl::Seconds(1),
                           .now = clock_.Now(),
                           .out = dir_ + "/old.archive"});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->first, 1);
  EXPECT_EQ(result->last, 5);
  EXPECT_EQ(StreamLength(), 5);
  EXPECT_EQ(RunCli({"archive", "--older-than", "soon", "--out", dir_ + "/x"}), 2);
  EXPECT_EQ(RunCli({"archive", "--before", "3", "--older-than", "1h", "--out", dir_ + "/x"}), 2);
  EXPECT_EQ(RunCli({"archive", "--before", "3"}), 2);
}

}  // namespace
}  // namespace simpul::gateway
