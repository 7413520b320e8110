// A Redis ACL user and password per process (#13 point 5), end to end: Redis runs the users of
// deploy/redis-users.acl.in (the default user off) and every binary of the ServiceCluster
// authenticates as its own user (simpul-registry, simpul-complaints, simpul-monitoring,
// simpul-gateway). The whole system still works: a complaint is filed and survey responses
// submitted through the gateway, the monitoring service consumes the complaint event (its KPIs
// move) and the gateway writes audit records. Then, with each user's own password: a
// compromised monitoring cannot write (nor read) any complaint or gateway key, nor append to
// the complaint event stream, even from a Lua script; the gateway cannot touch complaint keys;
// no user runs KEYS, FLUSHALL, CONFIG or ACL; an unauthenticated client gets nothing. The
// figure is the table of (user, command, key, allowed?).
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "simpul/complaints/v1/complaints.grpc.pb.h"
#include "simpul/gateway/v1/gateway.grpc.pb.h"
#include "simpul/monitoring/v1/monitoring.grpc.pb.h"
#include "tests/security/whole_system.h"
#include "tests/testing/grpc_calls.h"
#include "tests/testing/monitoring_fixtures.h"
#include "tests/testing/status_matchers.h"

namespace simpul {
namespace {

namespace cv1 = ::simpul::complaints::v1;
namespace gv1 = ::simpul::gateway::v1;
namespace mv1 = ::simpul::monitoring::v1;
using ::simpul::testing::CallAs;
using ::simpul::testing::Caller;
using ::simpul::testing::IsOk;
using ::simpul::testing::MustCall;
using ::simpul::testing::PollUntil;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kAgency[] = "kab-padang-pariaman";
constexpr char kUnit[] = "disdukcapil-kab-padang-pariaman";
constexpr char kService[] = "akta-kelahiran-kab-padang-pariaman";
constexpr char kEvents[] = "simpul:cmp:{c}:events";
constexpr char kDeadLetter[] = "simpul:cmp:{c}:events:dead:simpul-monitoring";

class RedisAclTest : public simpul::testing::WholeSystemTest {
 protected:
  simpul::testing::ServiceCluster::Options ClusterOptions() const override {
    return {.redis_acl = true};
  }

  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(WholeSystemTest::SetUp());
    complaints_ = cv1::Complaints::NewStub(gateway_->channel());
    monitoring_ = mv1::Monitoring::NewStub(gateway_->channel());
    admin_ = gv1::GatewayAdmin::NewStub(gateway_->channel());
    SeedUnit(kAgency, registry::v1::AGENCY_KIND_REGENCY, "13.05", kUnit, kService);
    common::v1::Principal sms;
    sms.set_role(common::v1::ROLE_CHANNEL);
    sms.set_channel("sms-1708");
    sms.add_scope_agency_ids(kAgency);
    channel_ = Issue(sms, "sms");
    ASSERT_FALSE(HasFailure());
  }

  // Pool is a one-connection pool authenticated as `user` with its own password file.
  std::unique_ptr<RedisPool> Pool(const std::string& user) {
    absl::StatusOr<RedisOptions> options = cluster_->redis().PoolOptionsFor(user);
    EXPECT_THAT(options, IsOk());
    RedisOptions o = options.ok() ? *options : RedisOptions{};
    o.pool_size = 1;
    return std::make_unique<RedisPool>(o);
  }

  // Allowed runs `argv` and says whether Redis let the user run it: a NOPERM (or a script's
  // "can't access" / "can't run") or NOAUTH reply is a refusal; any other reply, errors such
  // as WRONGTYPE included, passed the ACL check.
  static bool Allowed(RedisPool& pool, const std::vector<std::string>& argv) {
    absl::StatusOr<RedisReply> reply = pool.Command(argv);
    EXPECT_THAT(reply, IsOk()) << absl::StrJoin(argv, " ");
    if (!reply.ok()) return false;
    if (!reply->is_error()) return true;
    return !(absl::StartsWith(reply->str, "NOPERM") || absl::StartsWith(reply->str, "NOAUTH") ||
             absl::StrContains(reply->str, "The user executing the script can't"));
  }

  // FirstKey is a key of Redis matching `pattern` (the superuser SCANs), "" if none.
  std::string FirstKey(const std::string& pattern, const std::string& not_this = "") {
    std::string cursor = "0";
    do {
      auto page = pool_->Command({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
      if (!page.ok() || page->elements.size() != 2) return "";
      cursor = page->elements[0].str;
      for (const RedisReply& k : page->elements[1].elements) {
        if (k.str != not_this && !absl::StartsWith(k.str, std::string(kEvents))) return k.str;
      }
    } while (cursor != "0");
    return "";
  }

  int64_t Figure(const std::function<int64_t(const mv1::Figures&)>& pick) {
    mv1::GetFiguresRequest req;
    *req.mutable_scope() = simpul::testing::UnitScope(kUnit);
    *req.mutable_period() = simpul::testing::MonthOf(absl::Now() - absl::Hours(1));
    mv1::GetFiguresResponse resp;
    grpc::Status s =
        CallAs(monitoring_.get(), &mv1::Monitoring::Stub::GetFigures, root_, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return pick(resp.figures());
  }

  std::unique_ptr<cv1::Complaints::Stub> complaints_;
  std::unique_ptr<mv1::Monitoring::Stub> monitoring_;
  std::unique_ptr<gv1::GatewayAdmin::Stub> admin_;
  Caller channel_;
};

TEST_F(RedisAclTest, EachProcessHasItsOwnUserAndMonitoringCannotWriteComplaints) {
  // 1. The whole system works with one user per process.
  cv1::FileComplaintRequest file;
  file.set_idempotency_key("acl-file-0001");
  file.set_report_type(cv1::REPORT_TYPE_COMPLAINT);
  file.set_channel(cv1::CHANNEL_SMS);
  file.set_service_id(kService);
  file.set_description("Akta kelahiran anak kami belum terbit setelah tiga minggu menunggu.");
  const cv1::FileComplaintResponse filed =
      MustCall(complaints_.get(), &cv1::Complaints::Stub::FileComplaint, channel_, file);
  ASSERT_FALSE(filed.tracking_code().empty());

  mv1::SubmitSurveyResponsesRequest surveys;
  const absl::Time at = absl::Now() - absl::Hours(1);
  for (int i = 0; i < 3; ++i) {
    *surveys.add_responses() = simpul::testing::Response(absl::StrCat("acl-survey-", i), kUnit, at,
                                                         simpul::testing::kSurveyAnswers[0]);
  }
  MustCall(monitoring_.get(), &mv1::Monitoring::Stub::SubmitSurveyResponses, channel_, surveys);
  EXPECT_EQ(Figure([](const mv1::Figures& f) { return f.survey().respondents(); }), 3);
  // The monitoring service consumed the complaint event (as simpul-monitoring, through its
  // consumer group on the complaint stream): the unit's received complaints moved.
  EXPECT_TRUE(PollUntil(
      [&] { return Figure([](const mv1::Figures& f) { return f.complaints().received(); }) == 1; },
      absl::Seconds(20)))
      << "simpul-monitoring did not consume the complaint event";
  gv1::ListAuditRecordsRequest list;
  const gv1::ListAuditRecordsResponse audit =
      MustCall(admin_.get(), &gv1::GatewayAdmin::Stub::ListAuditRecords, root_, list);
  EXPECT_GE(audit.records_size(), 1) << "the gateway wrote no audit record";
  // Each binary is connected as its own user.
  absl::StatusOr<RedisReply> clients = pool_->Command({"CLIENT", "LIST", "TYPE", "normal"});
  ASSERT_THAT(clients, IsOk());
  for (const char* user :
       {"simpul-registry", "simpul-complaints", "simpul-monitoring", "simpul-gateway"}) {
    EXPECT_TRUE(absl::StrContains(clients->str, absl::StrCat(" user=", user, " ")))
        << user << " has no connection:\n"
        << clients->str;
  }
  // No process met a refusal on the way.
  for (auto* p : {&cluster_->registry(), &cluster_->complaints(), &cluster_->monitoring(),
                  &cluster_->gateway()}) {
    for (const char* refusal : {"NOPERM", "NOAUTH", "The user executing the script can't"}) {
      EXPECT_FALSE(absl::StrContains(p->Log(), refusal)) << p->log_path() << ":\n" << p->Log();
    }
  }

  // 2. What each user may do, with its own password.
  const std::string complaint_key = FirstKey("simpul:cmp:{c}:*");
  const std::string api_key_key = FirstKey("simpul:gw:{k}:*");
  const std::string registry_key = FirstKey("simpul:reg:*");
  ASSERT_FALSE(complaint_key.empty());
  ASSERT_FALSE(api_key_key.empty());
  ASSERT_FALSE(registry_key.empty());
  std::map<std::string, std::unique_ptr<RedisPool>> pools;
  for (const char* user : {"simpul-registry", "simpul-complaints", "simpul-monitoring",
                           "simpul-gateway", "simpul-admin"}) {
    pools[user] = Pool(user);
  }
  RedisOptions anonymous = cluster_->redis().PoolOptions();
  anonymous.user.clear();
  anonymous.password.clear();
  anonymous.pool_size = 1;
  pools["(no AUTH)"] = std::make_unique<RedisPool>(anonymous);

  struct Check {
    std::string user;
    std::vector<std::string> argv;
    bool allowed;
  };
  const std::string xadd_script = "return redis.call('XADD', KEYS[1], '*', 'type', 'forged')";
  // What the consumer's dead-letter script does (common/stream_consumer.cc): XPENDING on the
  // stream, XADD to the dead-letter stream, XACK.
  const std::string dead_letter_script =
      "redis.call('XPENDING', KEYS[1], 'simpul-monitoring'); "
      "redis.call('XADD', KEYS[2], '*', 'probe', '1'); "
      "return redis.call('XACK', KEYS[1], 'simpul-monitoring', '0-1')";
  const std::vector<Check> checks = {
      // The monitoring service: its own keys and the consumer group, nothing of complaints.
      {"simpul-monitoring", {"SET", "simpul:mon:{m}:acl-probe", "1"}, true},
      {"simpul-monitoring", {"XINFO", "GROUPS", kEvents}, true},
      {"simpul-monitoring", {"XRANGE", kEvents, "-", "+", "COUNT", "1"}, true},
      {"simpul-monitoring", {"XADD", kDeadLetter, "*", "probe", "1"}, true},
      {"simpul-monitoring", {"EVAL", dead_letter_script, "2", kEvents, kDeadLetter}, true},
      {"simpul-monitoring", {"XADD", kEvents, "*", "type", "forged"}, false},
      {"simpul-monitoring", {"XTRIM", kEvents, "MAXLEN", "0"}, false},
      {"simpul-monitoring", {"DEL", kEvents}, false},
      {"simpul-monitoring", {"EVAL", xadd_script, "1", kEvents}, false},
      {"simpul-monitoring", {"SET", complaint_key, "forged"}, false},
      {"simpul-monitoring", {"HSET", complaint_key, "state", "forged"}, false},
      {"simpul-monitoring", {"DEL", complaint_key}, false},
      {"simpul-monitoring", {"TYPE", complaint_key}, false},
      {"simpul-monitoring", {"DUMP", complaint_key}, false},
      {"simpul-monitoring", {"DEL", kDeadLetter}, false},
      {"simpul-monitoring", {"SET", api_key_key, "forged"}, false},
      {"simpul-monitoring", {"HSET", "simpul:gw:{k}:acl-probe", "f", "1"}, false},
      {"simpul-monitoring", {"DEL", api_key_key}, false},
      {"simpul-monitoring", {"GET", api_key_key}, false},
      {"simpul-monitoring", {"SET", registry_key, "forged"}, false},
      {"simpul-monitoring", {"KEYS", "*"}, false},
      {"simpul-monitoring", {"SCAN", "0"}, false},
      {"simpul-monitoring", {"FLUSHALL"}, false},
      {"simpul-monitoring", {"CONFIG", "GET", "requirepass"}, false},
      {"simpul-monitoring", {"ACL", "LIST"}, false},
      // The gateway: its own keys only.
      {"simpul-gateway", {"GET", api_key_key}, true},
      {"simpul-gateway", {"SET", "simpul:gw:{k}:acl-probe", "1"}, true},
      {"simpul-gateway", {"EVAL", "return redis.call('TIME')", "0"}, true},
      {"simpul-gateway", {"SET", complaint_key, "forged"}, false},
      {"simpul-gateway", {"HSET", complaint_key, "state", "forged"}, false},
      {"simpul-gateway", {"DEL", complaint_key}, false},
      {"simpul-gateway", {"XADD", kEvents, "*", "type", "forged"}, false},
      {"simpul-gateway", {"TYPE", complaint_key}, false},
      {"simpul-gateway", {"SET", "simpul:mon:{m}:acl-probe", "1"}, false},
      {"simpul-gateway", {"FLUSHDB"}, false},
      // simpul-complaints and simpul-registry: their own keys only.
      {"simpul-complaints", {"XADD", kEvents, "*", "probe", "1"}, true},
      {"simpul-complaints", {"SET", api_key_key, "forged"}, false},
      {"simpul-complaints", {"SET", "simpul:mon:{m}:acl-probe", "1"}, false},
      {"simpul-complaints", {"KEYS", "*"}, false},
      {"simpul-registry", {"SET", complaint_key, "forged"}, false},
      {"simpul-registry", {"DEL", api_key_key}, false},
      {"simpul-registry", {"TYPE", registry_key}, true},
      // The operator's tools: every Simpul key, no dangerous command.
      {"simpul-admin", {"TYPE", complaint_key}, true},
      {"simpul-admin", {"GET", api_key_key}, true},
      {"simpul-admin", {"FLUSHALL"}, false},
      {"simpul-admin", {"CONFIG", "SET", "appendonly", "no"}, false},
      {"simpul-admin", {"ACL", "SETUSER", "simpul-admin", "+@all"}, false},
      // No password, no access.
      {"(no AUTH)", {"PING"}, false},
      {"(no AUTH)", {"GET", complaint_key}, false},
      {"(no AUTH)", {"SET", complaint_key, "forged"}, false},
  };
  auto key_of = [](const std::vector<std::string>& argv) -> std::string {
    if (argv[0] == "EVAL") return argv[2] == "0" ? std::string("-") : argv[3] + " (script)";
    if (argv.size() < 2 || argv[0] == "KEYS" || argv[0] == "SCAN" || argv[0] == "CONFIG" ||
        argv[0] == "ACL" || argv[0] == "PING" || argv[0] == "FLUSHALL" || argv[0] == "FLUSHDB") {
      return "-";
    }
    return argv[0] == "XINFO" ? argv[2] : argv[1];
  };
  auto command_of = [](const std::vector<std::string>& argv) {
    if (argv[0] == "EVAL") {
      return std::string(argv[2] == "2"   ? "EVAL dead-let."
                         : argv[2] == "0" ? "EVAL TIME"
                                          : "EVAL XADD");
    }
    if (argv[0] == "CONFIG" || argv[0] == "ACL" || argv[0] == "XINFO") {
      return argv[0] + " " + argv[1];
    }
    return argv[0];
  };
  std::cout << "\nRedis ACL: what each process's user may do (deploy/redis-users.acl.in)\n";
  std::printf("%-18s %-14s %-48s %s\n", "user", "command", "key", "allowed?");
  int refused = 0, expected_refusals = 0;
  for (const Check& c : checks) {
    const bool allowed = Allowed(*pools[c.user], c.argv);
    EXPECT_EQ(allowed, c.allowed) << c.user << ": " << absl::StrJoin(c.argv, " ");
    std::printf("%-18s %-14s %-48s %s\n", c.user.c_str(), command_of(c.argv).c_str(),
                key_of(c.argv).c_str(), allowed ? "yes" : "no (refused)");
    refused += !allowed;
    expected_refusals += !c.allowed;
  }
  std::cout << refused << " of " << checks.size() << " commands refused (" << expected_refusals
            << " expected)" << std::endl;

  // Nothing of the complaints changed: the complaint is still the same, the stream holds the
  // one event plus the complaints user's probe.
  absl::StatusOr<RedisReply> type = pool_->Command({"TYPE", complaint_key});
  ASSERT_THAT(type, IsOk());
  EXPECT_NE(type->str, "none");
  cv1::TrackComplaintRequest track;
  track.set_tracking_code(filed.tracking_code());
  track.set_secret(filed.secret());
  MustCall(complaints_.get(), &cv1::Complaints::Stub::TrackComplaint, Caller{}, track);
  absl::StatusOr<RedisReply> forged = pool_->Command({"XRANGE", kEvents, "-", "+"});
  ASSERT_THAT(forged, IsOk());
  for (const RedisReply& entry : forged->elements) {
    for (const RedisReply& field :
         entry.elements.size() > 1 ? entry.elements[1].elements : std::vector<RedisReply>{}) {
      EXPECT_NE(field.str, "forged");
    }
  }
}

// A process with a wrong Redis password says so, naming its user and never the password, and
// is not ready; one whose password file others may read does not start.
TEST_F(RedisAclTest, AWrongOrExposedPasswordIsAClearErrorAndNeverShown) {
  const std::string wrong = cluster_->dir() + "/wrong.password";
  std::ofstream(wrong) << "not-this-Xq-secret\n";
  ASSERT_EQ(chmod(wrong.c_str(), 0600), 0);
  auto registry =
      cluster_->Start(simpul::testing::Binary::kRegistry,
                      {.name = "registry-wrong-password",
                       .flags = {"--redis_user=simpul-registry", "--redis_password_file=" + wrong},
                       .wait_serving = false});
  ASSERT_THAT(registry, IsOk());
  int status = 0;
  std::string body;
  EXPECT_TRUE(PollUntil(
      [&] {
        body = (*registry)->AdminGet("/readyz", &status);
        return status == 503 && absl::StrContains((*registry)->Log(), "WRONGPASS");
      },
      absl::Seconds(10)))
      << status << " " << body << "\n"
      << (*registry)->Log();
  const std::string log = (*registry)->Log() + body;
  EXPECT_TRUE(absl::StrContains(log, "AUTH as user 'simpul-registry' refused")) << log;
  EXPECT_FALSE(absl::StrContains(log, "Xq-secret")) << log;
  std::cout << "wrong password: /readyz " << status << "; the log says \""
            << log.substr(log.find("AUTH as user"), 90) << "...\"" << std::endl;

  ASSERT_EQ(chmod(wrong.c_str(), 0644), 0);
  auto exposed = cluster_->Start(
      simpul::testing::Binary::kRegistry,
      {.name = "registry-exposed-password",
       .flags = {"--redis_user=simpul-registry", "--redis_password_file=" + wrong}});
  ASSERT_FALSE(exposed.ok());
  EXPECT_THAT(
      std::string(exposed.status().message()),
      AllOf(HasSubstr("redis_password_file"), HasSubstr("chmod 600"), Not(HasSubstr("Xq-secret"))));
}

}  // namespace
}  // namespace simpul
