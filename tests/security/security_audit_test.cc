// A tamper-evident audit trail without trusting Redis (#13 point 6), end to end: the real
// simpul-gateway (in front of simpul-registry, ServiceCluster) chains its audit records with
// HMAC-SHA256 under an audit key file Redis never sees (encoding 2) and writes signed
// checkpoints every 200 ms; the real simpul-audit binary exports a checkpoint and verifies.
// Then an "attacker" with full Redis access (this test, with raw Redis commands) rewrites the
// tail of the chain and its head consistently, and simpul-audit verify is run after each
// attack:
//   (a) records rehashed without the key (SHA-256 in place of the HMAC) are altered records;
//       rewritten as unkeyed version-1 records, they are a downgrade;
//   (b) the tail cut off and replaced by genuine, keyed records (appended by the gateway
//       itself after the head was rewritten) verifies as a chain, but not against the exported
//       checkpoint;
//   (c) the tail cut off after a checkpoint is reported as removed records.
// Each step prints what was written, what the attacker rewrote and what verify reported. A
// gateway given an audit key file that group or others can read does not start.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/redis.h"
#include "gateway/api_keys.h"
#include "gateway/audit.h"
#include "gmock/gmock.h"
#include "simpul/gateway/v1/gateway.grpc.pb.h"
#include "simpul/registry/v1/registry.grpc.pb.h"
#include "tests/testing/service_cluster.h"
#include "tests/testing/status_matchers.h"

namespace simpul {
namespace {

using ::simpul::testing::Binary;
using ::simpul::testing::IsOk;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kLog[] = "simpul:gw:{a}:log";
constexpr char kHead[] = "simpul:gw:{a}:head";
constexpr int kRecords = 30;

// RunAudit runs simpul-audit with `args` and returns its exit status and its output (stdout and
// stderr together, trailing newline removed).
std::pair<int, std::string> RunAudit(const std::vector<std::string>& args) {
  std::string command = SIMPUL_AUDIT_BIN;
  for (const std::string& a : args) absl::StrAppend(&command, " '", a, "'");
  absl::StrAppend(&command, " 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed"};
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  const int status = pclose(pipe);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

class SecurityAuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = testing::ServiceCluster::Create();
    ASSERT_THAT(cluster, IsOk());
    cluster_ = *std::move(cluster);
    key_file_ = cluster_->dir() + "/audit.key";
    std::ofstream(key_file_)
        << "# the audit key (test only)\n"
        << "k1 7f3a9c1e5b2d8046f1e3c5a7092b4d6e8f0a1c3e5b7d9f2146a8c0e2b4d6f8a1 active\n";
    ASSERT_EQ(chmod(key_file_.c_str(), 0600), 0);
    gateway_checkpoints_ = cluster_->dir() + "/gateway.checkpoints";
    ops_checkpoints_ = cluster_->dir() + "/ops.checkpoints";
    redis_ = absl::StrCat("127.0.0.1:", cluster_->redis().port());
    RedisOptions redis;
    redis.port = cluster_->redis().port();
    redis.command_timeout = absl::Seconds(10);
    pool_ = std::make_unique<RedisPool>(redis);
    ASSERT_THAT(cluster_->Start(Binary::kRegistry), IsOk());
    auto gateway = cluster_->Start(Binary::kGateway,
                                   {.flags = {"--audit_key_file=" + key_file_,
                                              "--audit_checkpoint_file=" + gateway_checkpoints_,
                                              "--audit_checkpoint_interval=200ms"}});
    ASSERT_THAT(gateway, IsOk());
    registry_ = registry::v1::Registry::NewStub((*gateway)->channel());
  }

  // Calls makes `n` calls the gateway refuses (no credentials) and audits, and waits until
  // the chain head reaches `until`.
  void Calls(int n, int64_t until) {
    for (int i = 0; i < n; ++i) {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      registry::v1::CreateAgencyRequest req;
      registry::v1::CreateAgencyResponse resp;
      EXPECT_EQ(registry_->CreateAgency(&ctx, req, &resp).error_code(),
                grpc::StatusCode::UNAUTHENTICATED);
    }
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (HeadSequence() < until && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(20));
    ASSERT_EQ(HeadSequence(), until);
  }

  RedisReply Raw(const std::vector<std::string>& argv) {
    absl::StatusOr<RedisReply> reply = pool_->Command(argv);
    EXPECT_TRUE(reply.ok()) << reply.status();
    EXPECT_FALSE(reply.ok() && reply->is_error()) << reply->str;
    return reply.ok() ? *reply : RedisReply{};
  }
  int64_t HeadSequence() {
    RedisReply r = Raw({"HGET", kHead, "s"});
    return r.is_nil() ? 0 : std::stoll(r.str);
  }
  std::vector<gateway::v1::AuditRecord> ReadChain() {
    std::vector<gateway::v1::AuditRecord> out;
    for (const RedisReply& e : Raw({"XRANGE", kLog, "-", "+"}).elements) {
      gateway::v1::AuditRecord r;
      EXPECT_TRUE(r.ParseFromString(e.elements[1].elements[1].str));
      out.push_back(std::move(r));
    }
    return out;
  }
  // Store replaces the stream and the head by `records`, as the attacker does: DEL, XADD each
  // record at its own id, HSET the head (sequence, hash, encoding version of the last).
  void Store(const std::vector<gateway::v1::AuditRecord>& records) {
    Raw({"DEL", kLog});
    for (const gateway::v1::AuditRecord& r : records) {
      Raw({"XADD", kLog, absl::StrCat(r.sequence(), "-0"), "r", r.SerializeAsString()});
    }
    const gateway::v1::AuditRecord& last = records.back();
    Raw({"HSET", kHead, "s", absl::StrCat(last.sequence()), "h", last.hash(), "v",
         absl::StrCat(last.encoding_version())});
  }
  // Rewrite relinks records `from`.. of `chain` after `edit` changed each (and set its hash).
  static std::vector<gateway::v1::AuditRecord> Rewrite(
      std::vector<gateway::v1::AuditRecord> chain, int from,
      const std::function<void(gateway::v1::AuditRecord*)>& edit) {
    for (size_t k = from - 1; k < chain.size(); ++k) {
      chain[k].set_previous_hash(chain[k - 1].hash());
      edit(&chain[k]);
    }
    return chain;
  }
  std::pair<int, std::string> Verify(const std::string& checkpoints = "") {
    std::vector<std::string> args = {"--redis", redis_, "--key-file", key_file_, "verify"};
    if (!checkpoints.empty()) {
      args.push_back("--checkpoints");
      args.push_back(checkpoints);
    }
    auto result = RunAudit(args);
    std::cout << "  verify" << (checkpoints.empty() ? "" : " --checkpoints") << " -> exit "
              << result.first << ": " << result.second << "\n";
    return result;
  }

  std::unique_ptr<testing::ServiceCluster> cluster_;
  std::unique_ptr<RedisPool> pool_;
  std::unique_ptr<registry::v1::Registry::Stub> registry_;
  std::string key_file_, gateway_checkpoints_, ops_checkpoints_, redis_;
};

TEST_F(SecurityAuditTest, ConsistentRewritesOfTheTailAreReported) {
  Calls(kRecords, kRecords);
  const std::vector<gateway::v1::AuditRecord> genuine = ReadChain();
  ASSERT_EQ(genuine.size(), static_cast<size_t>(kRecords));
  for (const auto& r : genuine) {
    EXPECT_EQ(r.encoding_version(), 2);
    EXPECT_EQ(r.key_id(), "k1");
  }
  std::cout << "records written by the gateway: " << genuine.size()
            << " (hash encoding 2, key k1)\n";

  // The operator exports a checkpoint with the real simpul-audit; the gateway's periodic
  // checkpoints reach the head too.
  auto [exported, line] = RunAudit(
      {"--redis", redis_, "--key-file", key_file_, "checkpoint", "--out", ops_checkpoints_});
  ASSERT_EQ(exported, 0) << line;
  EXPECT_THAT(line, StartsWith(absl::StrCat("simpul-audit-checkpoint/1 ", kRecords, " ")));
  std::cout << "checkpoint exported: sequence " << kRecords << ": " << line << "\n";
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  std::string gateway_file;
  while (absl::Now() < deadline) {
    std::stringstream ss;
    ss << std::ifstream(gateway_checkpoints_).rdbuf();
    gateway_file = ss.str();
    if (absl::StrContains(gateway_file, absl::StrCat("/1 ", kRecords, " "))) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_THAT(gateway_file, HasSubstr(absl::StrCat("simpul-audit-checkpoint/1 ", kRecords, " ")));
  std::cout << "gateway checkpoints (every 200 ms while appending): "
            << std::count(gateway_file.begin(), gateway_file.end(), '\n') << "\n";
  std::cout << "untouched chain:\n";
  EXPECT_EQ(Verify(ops_checkpoints_).first, 0);
  auto [gateway_ok, gateway_out] = Verify(gateway_checkpoints_);
  EXPECT_EQ(gateway_ok, 0) << gateway_out;

  // (a) Record 21 altered, it and records 22..30 rehashed consistently without the key
  // (SHA-256 over the same encoding), the head rewritten.
  Store(Rewrite(genuine, 21, [](gateway::v1::AuditRecord* r) {
    if (r->sequence() == 21) r->set_subject("key:someone-else");
    r->set_hash(gateway::AuditDigest(gateway::AuditCanonicalEncoding(*r)));
  }));
  std::cout << "(a) attacker rewrote records 21.." << kRecords
            << " and the head, rehashed without the key:\n";
  auto [a_code, a_out] = Verify();
  EXPECT_EQ(a_code, 1);
  EXPECT_THAT(a_out, StartsWith("altered at record 21: "));
  // ... or as unkeyed version-1 records, consistent in themselves.
  Store(Rewrite(genuine, 21, [](gateway::v1::AuditRecord* r) {
    if (r->sequence() == 21) r->set_subject("key:someone-else");
    r->set_encoding_version(1);
    r->clear_key_id();
    r->set_hash(*gateway::AuditRecordHash(*r));
  }));
  std::cout << "(a) attacker rewrote records 21.." << kRecords
            << " and the head as unkeyed version-1 records:\n";
  auto [a2_code, a2_out] = Verify();
  EXPECT_EQ(a2_code, 1);
  EXPECT_THAT(a2_out, StartsWith("altered at record 21: "));
  EXPECT_THAT(a2_out, HasSubstr("never goes back to unkeyed records"));

  // (b) The tail cut after record 20 (head rewritten), then genuine keyed records appended by
  // the gateway itself: a consistent chain whose every HMAC verifies.
  Store(std::vector<gateway::v1::AuditRecord>(genuine.begin(), genuine.begin() + 20));
  Calls(kRecords - 20, kRecords);
  const std::vector<gateway::v1::AuditRecord> replayed = ReadChain();
  ASSERT_EQ(replayed.size(), static_cast<size_t>(kRecords));
  EXPECT_NE(replayed.back().hash(), genuine.back().hash());
  std::cout << "(b) attacker cut records 21.." << kRecords
            << " and had the gateway append 10 genuine keyed records in their place:\n";
  EXPECT_EQ(Verify().first, 0);  // the chain alone cannot tell
  auto [b_code, b_out] = Verify(ops_checkpoints_);
  EXPECT_EQ(b_code, 1);
  EXPECT_THAT(b_out, StartsWith(absl::StrCat("altered at record ", kRecords, ": ")));
  EXPECT_THAT(b_out, HasSubstr("but the checkpoint says"));

  // (c) The tail cut after record 25 of the genuine chain (head rewritten).
  Store(std::vector<gateway::v1::AuditRecord>(genuine.begin(), genuine.begin() + 25));
  std::cout << "(c) attacker cut records 26.." << kRecords << " of the genuine chain:\n";
  EXPECT_EQ(Verify().first, 0);
  auto [c_code, c_out] = Verify(ops_checkpoints_);
  EXPECT_EQ(c_code, 1);
  EXPECT_THAT(c_out, StartsWith("removed at record 26: the checkpoint is record 30"));
}

TEST_F(SecurityAuditTest, AGatewayRefusesAnAuditKeyFileOthersCanRead) {
  const std::string exposed = cluster_->dir() + "/exposed.key";
  std::ofstream(exposed) << "k1 " << std::string(64, 'a') << "\n";
  ASSERT_EQ(chmod(exposed.c_str(), 0644), 0);
  auto refused =
      cluster_->Start(testing::Binary::kGateway,
                      {.name = "gateway-exposed-key", .flags = {"--audit_key_file=" + exposed}});
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("chmod 600"));
  std::cout << "a gateway given a mode-644 audit key file does not start: "
            << std::string(refused.status().message()).substr(0, 400) << "\n";
  // A checkpoint file without a key is refused as well.
  auto unkeyed = cluster_->Start(testing::Binary::kGateway,
                                 {.name = "gateway-unkeyed-checkpoints",
                                  .flags = {"--audit_checkpoint_file=" + cluster_->dir() + "/x"}});
  ASSERT_FALSE(unkeyed.ok());
  EXPECT_THAT(std::string(unkeyed.status().message()), HasSubstr("needs audit_key_file"));
}

// Retention end to end: the oldest records archived with the real simpul-audit, the chain still
// verifiable from record 1 across the archive and Redis, and a platform admin's
// ListAuditRecords through the gateway says from which record on it lists.
TEST_F(SecurityAuditTest, ArchivedRecordsLeaveRedisAndTheChainStillVerifies) {
  Calls(20, 20);
  const std::string archive = cluster_->dir() + "/audit-1.archive";
  auto [code, out] = RunAudit(
      {"--redis", redis_, "--key-file", key_file_, "archive", "--before", "13", "--out", archive});
  ASSERT_EQ(code, 0) << out;
  std::cout << "archive: " << out << "\n";
  EXPECT_EQ(out, absl::StrCat("archived records 1 to 12 to ", archive,
                              "; Redis keeps the chain from record 13"));
  EXPECT_EQ(Raw({"XLEN", kLog}).integer, 8);
  auto [whole, whole_out] =
      RunAudit({"--redis", redis_, "--key-file", key_file_, "verify", "--archive", archive});
  std::cout << "verify --archive -> exit " << whole << ": " << whole_out << "\n";
  EXPECT_EQ(whole, 0);
  EXPECT_THAT(whole_out, HasSubstr("ok: 20 records"));
  EXPECT_THAT(whole_out, HasSubstr("(12 of them archived)"));

  auto keys = gateway::ApiKeyStore::Create(pool_.get(), {.cache_ttl = absl::ZeroDuration()});
  ASSERT_TRUE(keys.ok()) << keys.status();
  common::v1::Principal root;
  root.set_role(common::v1::ROLE_PLATFORM_ADMIN);
  auto issued = (*keys)->Issue(root, "security audit test", "test:security");
  ASSERT_TRUE(issued.ok()) << issued.status();
  auto admin = gateway::v1::GatewayAdmin::NewStub(cluster_->gateway().channel());
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + issued->token);
  gateway::v1::ListAuditRecordsRequest req;
  req.mutable_page()->set_page_size(100);
  gateway::v1::ListAuditRecordsResponse resp;
  grpc::Status status = admin->ListAuditRecords(&ctx, req, &resp);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(resp.archived_through(), 12);
  ASSERT_EQ(resp.records_size(), 8);
  EXPECT_EQ(resp.records(7).sequence(), 13);
  std::cout << "ListAuditRecords: " << resp.records_size() << " records listed, archived_through "
            << resp.archived_through() << "\n";
}

}  // namespace
}  // namespace simpul
