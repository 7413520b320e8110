// End-to-end security checks of issue #13 on the complaint side, through the real gateway in
// front of the real simpul-complaints (ServiceCluster):
// - a public ListComplaints whose filter matches nothing over 100,000 public cases returns
//   within its deadline, with a token, and following the tokens ends (point 2);
// - a filing replayed from another API key of the same channel gets no secret and does not
//   see the first case, while the filer's own retry gets its secret again, also after a
//   restart, and Redis holds no secret anywhere, not even one an older version stored (point
//   3).
// Each test prints the figures it asserts.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/redis.h"
#include "gateway/api_keys.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/complaints/redis_store.h"
#include "simpul/complaints/v1/complaints.grpc.pb.h"
#include "simpul/complaints/v1/storage.pb.h"
#include "tests/testing/identity_tokens.h"
#include "tests/testing/service_cluster.h"
#include "tests/testing/status_matchers.h"

namespace simpul {
namespace {

namespace cv1 = ::simpul::complaints::v1;
using ::simpul::testing::Binary;
using ::simpul::testing::Caller;
using ::simpul::testing::IsOk;
using ::simpul::testing::ServiceCluster;

constexpr int kPublicCases = 100000;
const absl::Time kFiled = absl::FromUnixSeconds(1775440800);  // 2026-04-06 09:00 WIB

// PublicCase is a verified ANONYMOUS case filed through the web, listed publicly.
complaints::CaseWrite PublicCase(int i) {
  complaints::CaseWrite w;
  cv1::Complaint& c = *w.after.mutable_complaint();
  c.set_id(absl::StrFormat("%05d-%05d", i / 100000, i % 100000));
  c.set_report_type(cv1::REPORT_TYPE_COMPLAINT);
  c.set_channel(cv1::CHANNEL_WEB);
  c.set_channel_name("public");
  c.set_state(cv1::STATE_VERIFIED);
  c.set_confidentiality(cv1::CONFIDENTIALITY_ANONYMOUS);
  c.set_agency_id("kota-bogor");
  c.set_unit_id("dpmptsp-kota-bogor");
  c.set_service_id("pbg-kota-bogor");
  c.set_description("Antrean perekaman tidak bergerak sejak pagi dan loket tutup lebih awal.");
  const absl::Time filed = kFiled + absl::Milliseconds(i);
  c.mutable_file_time()->set_seconds(absl::ToUnixSeconds(filed));
  c.mutable_file_time()->set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(filed - absl::FromUnixSeconds(absl::ToUnixSeconds(filed)))));
  *c.mutable_update_time() = c.file_time();
  c.set_revision(1);
  w.after.set_secret_sha256(std::string(32, '\x5a'));
  w.after.set_last_sequence(1);
  w.entry.set_sequence(1);
  w.entry.set_action("FileComplaint");
  w.entry.set_to_state(cv1::STATE_VERIFIED);
  w.event.set_complaint_id(c.id());
  return w;
}

class SecurityListTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = ServiceCluster::Create(ServiceCluster::Options{.redis_append_only = false});
    ASSERT_THAT(cluster, IsOk());
    cluster_ = *std::move(cluster);
    RedisOptions options;
    options.port = cluster_->redis().port();
    options.pool_size = 8;
    pool_ = std::make_unique<RedisPool>(options);
  }

  // StartServices runs simpul-complaints (with `complaints_flags`) and the gateway.
  void StartServices(std::vector<std::string> complaints_flags) {
    complaints_flags.push_back("--scan_interval=0s");
    ASSERT_THAT(cluster_->Start(Binary::kComplaints, {.flags = complaints_flags}), IsOk());
    ASSERT_THAT(
        cluster_->Start(Binary::kGateway, {.flags = {"--rate_limits=public=2000/s burst 4000; "
                                                     "channel=2000/s burst 4000"}}),
        IsOk());
    stub_ = cv1::Complaints::NewStub(cluster_->gateway().channel());
  }

  // SeedPublicCases writes `n` public cases straight into Redis through the service's store,
  // on eight connections at once.
  void SeedPublicCases(int n) {
    complaints::RedisComplaintStore store(pool_.get(), {});
    std::atomic<int> next{0}, failed{0};
    std::vector<std::thread> writers;
    for (int t = 0; t < 8; ++t) {
      writers.emplace_back([&] {
        for (int i = next++; i < n; i = next++) {
          absl::StatusOr<complaints::CommitResult> r = store.Commit(PublicCase(i));
          if (!r.ok() || r->outcome != complaints::CommitResult::Outcome::kCommitted) ++failed;
        }
      });
    }
    for (auto& w : writers) w.join();
    ASSERT_EQ(failed.load(), 0);
  }

  // ChannelKey issues an API key of channel `channel` in the gateway's key store.
  Caller ChannelKey(const std::string& tag, const std::string& channel) {
    auto keys = gateway::ApiKeyStore::Create(pool_.get(), {.cache_ttl = absl::ZeroDuration()});
    EXPECT_TRUE(keys.ok()) << keys.status();
    if (!keys.ok()) return {};
    common::v1::Principal p;
    p.set_role(common::v1::ROLE_CHANNEL);
    p.set_channel(channel);
    p.set_scope_all_agencies(true);
    auto issued = (*keys)->Issue(p, "security test " + tag, "test:security");
    EXPECT_TRUE(issued.ok()) << issued.status();
    if (!issued.ok()) return {};
    return Caller{tag, issued->token, /*api_key=*/true};
  }

  // AwaitGatewayReconnect waits until the gateway reaches the restarted complaint service
  // again (its channel reconnects within a moment).
  void AwaitGatewayReconnect() {
    cv1::ListComplaintsRequest probe;
    probe.mutable_page()->set_page_size(1);
    grpc::Status s;
    for (int attempt = 0; attempt < 100; ++attempt) {
      cv1::ListComplaintsResponse resp;
      absl::Duration took;
      s = List(probe, absl::Seconds(2), &resp, &took);
      if (s.error_code() != grpc::StatusCode::UNAVAILABLE) break;
      absl::SleepFor(absl::Milliseconds(100));
    }
    ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
  }

  // List makes one public ListComplaints call through the gateway with `timeout`.
  grpc::Status List(const cv1::ListComplaintsRequest& req, absl::Duration timeout,
                    cv1::ListComplaintsResponse* resp, absl::Duration* took) {
    auto ctx = simpul::testing::CallContext(Caller{"public", ""}, timeout);
    const absl::Time start = absl::Now();
    grpc::Status s = stub_->ListComplaints(ctx.get(), req, resp);
    *took = absl::Now() - start;
    return s;
  }

  // Contents is everything a Redis key holds, flattened (DUMP compresses long strings, which
  // would hide a secret from a substring search).
  std::string Contents(const std::string& key) {
    auto type = pool_->Command({"TYPE", key});
    if (!type.ok() || type->str == "none") return "";  // gone since the SCAN
    std::vector<std::string> read;
    if (type->str == "string") read = {"GET", key};
    if (type->str == "zset") read = {"ZRANGE", key, "0", "-1", "WITHSCORES"};
    if (type->str == "set") read = {"SMEMBERS", key};
    if (type->str == "hash") read = {"HGETALL", key};
    if (type->str == "list") read = {"LRANGE", key, "0", "-1"};
    if (type->str == "stream") read = {"XRANGE", key, "-", "+"};
    EXPECT_FALSE(read.empty()) << key << " is a " << type->str;
    if (read.empty()) return "";
    auto reply = pool_->Command(read);
    if (!reply.ok()) return "";
    std::string out;
    Flatten(*reply, &out);
    return out;
  }
  static void Flatten(const RedisReply& r, std::string* out) {
    absl::StrAppend(out, r.str, "\n");
    for (const RedisReply& e : r.elements) Flatten(e, out);
  }

  std::unique_ptr<ServiceCluster> cluster_;
  std::unique_ptr<RedisPool> pool_;
  std::unique_ptr<cv1::Complaints::Stub> stub_;
};

TEST_F(SecurityListTest, AFilterMatchingNothingOverAHundredThousandPublicCasesMeetsItsDeadline) {
  // The service's budget is lifted far above the index, so only the deadline bounds a call.
  ASSERT_NO_FATAL_FAILURE(StartServices({"--list_scan_budget=1000000"}));
  const absl::Time seeding = absl::Now();
  ASSERT_NO_FATAL_FAILURE(SeedPublicCases(kPublicCases));
  std::printf("seeded %d public cases in %.1f s\n", kPublicCases,
              absl::ToDoubleSeconds(absl::Now() - seeding));

  cv1::ListComplaintsRequest none;
  none.add_channels(cv1::CHANNEL_COMPLAINT_BOX);  // every seeded case came through the web
  cv1::ListComplaintsResponse resp;
  absl::Duration took;
  // Scanning all 100,000 takes about 1 s here: half of that is too short for a full scan.
  const absl::Duration deadline = absl::Milliseconds(500);
  grpc::Status s = List(none, deadline, &resp, &took);
  ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
  std::printf(
      "ListComplaints, filter matching nothing, budget 1,000,000, deadline %s: "
      "answered in %.0f ms with %d cases and a token: %s\n",
      absl::FormatDuration(deadline).c_str(), absl::ToDoubleMilliseconds(took),
      resp.public_complaints_size(), resp.next_page_token().empty() ? "no" : "yes");
  EXPECT_LT(took, deadline);
  EXPECT_EQ(resp.public_complaints_size(), 0);
  EXPECT_NE(resp.next_page_token(), "");

  // With the default budget (5,000 entries a call) every call returns well within a 2 s
  // deadline, and following the tokens covers the whole index and ends.
  ASSERT_THAT(cluster_->complaints().Restart({"--list_scan_budget=5000"}), IsOk());
  ASSERT_NO_FATAL_FAILURE(AwaitGatewayReconnect());
  absl::Duration slowest, total;
  int calls = 0;
  for (;;) {
    s = List(none, absl::Seconds(2), &resp, &took);
    ASSERT_TRUE(s.ok()) << "call " << calls << ": " << s.error_code() << " " << s.error_message();
    ++calls;
    slowest = std::max(slowest, took);
    total += took;
    EXPECT_EQ(resp.public_complaints_size(), 0);
    if (resp.next_page_token().empty()) break;
    none.mutable_page()->set_page_token(resp.next_page_token());
    ASSERT_LT(calls, 200);
  }
  std::printf("default budget: %d calls walked the %d cases, slowest %.0f ms, total %.0f ms\n",
              calls, kPublicCases, absl::ToDoubleMilliseconds(slowest),
              absl::ToDoubleMilliseconds(total));
  EXPECT_GE(calls, kPublicCases / 5000);
  EXPECT_LT(slowest, absl::Seconds(2));

  // A filter that matches: the cases are still all there to be listed.
  cv1::ListComplaintsRequest web;
  web.add_channels(cv1::CHANNEL_WEB);
  web.mutable_page()->set_page_size(500);
  s = List(web, absl::Seconds(5), &resp, &took);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.public_complaints_size(), 500);
  // An ANONYMOUS case in the public list carries no street address (point 8).
  EXPECT_EQ(resp.public_complaints(0).location().address(), "");
}

TEST_F(SecurityListTest, AFilingReplayedFromAnotherKeyOfTheSameChannelGetsNoSecret) {
  const std::string key_file = absl::StrCat(cluster_->dir(), "/complaint-secret.key");
  {
    std::FILE* f = std::fopen(key_file.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("8c1f0e5d2b7a49c3a6d4e1f09b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c\n", f);
    std::fclose(f);
  }
  // A record an older version wrote: a filing's answer with the secret in clear.
  cv1::IdempotencyRecord legacy;
  legacy.mutable_response()->set_tracking_code("ZV6J8-Q4RXT");
  legacy.mutable_response()->set_secret("RAJA-AERE-CB1W-N8GA");
  const std::string legacy_key = "simpul:cmp:{c}:idem:10:web-portal:portal-form-old";
  ASSERT_TRUE(pool_->Command({"SET", legacy_key, legacy.SerializeAsString(), "PX", "600000"}).ok());

  ASSERT_NO_FATAL_FAILURE(StartServices({"--secret_key_file=" + key_file}));
  // The service drops such records when it starts.
  bool legacy_gone = false;
  for (int i = 0; i < 100 && !legacy_gone; ++i) {
    auto exists = pool_->Command({"EXISTS", legacy_key});
    legacy_gone = exists.ok() && exists->integer == 0;
    if (!legacy_gone) absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_TRUE(legacy_gone) << cluster_->complaints().Log();
  const Caller key_a = ChannelKey("key-a", "web-portal");
  const Caller key_b = ChannelKey("key-b", "web-portal");

  cv1::FileComplaintRequest req;
  req.set_idempotency_key("portal-form-20260406-0001");
  req.set_report_type(cv1::REPORT_TYPE_COMPLAINT);
  req.set_channel(cv1::CHANNEL_WEB);
  req.set_target_text("Disdukcapil Kota Bogor");
  req.set_description("Loket perekaman KTP-el tutup sebelum jam layanan berakhir.");
  req.mutable_complainant()->set_phone("+62 812 0000 1111");

  auto file = [&](const Caller& who, cv1::FileComplaintResponse* resp) {
    auto ctx = simpul::testing::CallContext(who);
    return stub_->FileComplaint(ctx.get(), req, resp);
  };
  cv1::FileComplaintResponse first, from_b, retry_a;
  ASSERT_TRUE(file(key_a, &first).ok());
  ASSERT_NE(first.secret(), "");
  grpc::Status s = file(key_b, &from_b);
  ASSERT_TRUE(s.ok()) << s.error_message();
  std::printf(
      "key A filed %s; the same request from key B of the same channel: replayed=%s, "
      "tracking code %s, secret %s\n",
      first.tracking_code().c_str(), from_b.replayed() ? "true" : "false",
      from_b.tracking_code() == first.tracking_code() ? "A's" : "its own",
      from_b.secret() == first.secret() ? "A's" : "not A's");
  EXPECT_FALSE(from_b.replayed());
  EXPECT_NE(from_b.tracking_code(), first.tracking_code());
  EXPECT_NE(from_b.complaint().id(), first.tracking_code());
  EXPECT_NE(from_b.secret(), first.secret());
  EXPECT_FALSE(absl::StrContains(from_b.SerializeAsString(), first.secret()));
  EXPECT_FALSE(absl::StrContains(from_b.SerializeAsString(), first.tracking_code()));

  // A's own retry gets A's secret again, also after the service restarted.
  ASSERT_TRUE(file(key_a, &retry_a).ok());
  EXPECT_TRUE(retry_a.replayed());
  EXPECT_EQ(retry_a.tracking_code(), first.tracking_code());
  EXPECT_EQ(retry_a.secret(), first.secret());
  ASSERT_THAT(cluster_->complaints().Restart(), IsOk());
  ASSERT_NO_FATAL_FAILURE(AwaitGatewayReconnect());
  retry_a.Clear();
  ASSERT_TRUE(file(key_a, &retry_a).ok());
  EXPECT_TRUE(retry_a.replayed());
  EXPECT_EQ(retry_a.secret(), first.secret());
  // No Redis key holds either secret, with or without its dashes.
  int keys = 0;
  std::string cursor = "0";
  do {
    auto scan = pool_->Command({"SCAN", cursor, "COUNT", "1000"});
    ASSERT_TRUE(scan.ok());
    cursor = scan->elements[0].str;
    for (const RedisReply& key : scan->elements[1].elements) {
      ++keys;
      const std::string value = Contents(key.str);
      for (const std::string& secret :
           {first.secret(), from_b.secret(), std::string("RAJA-AERE-CB1W-N8GA")}) {
        EXPECT_FALSE(absl::StrContains(value, secret)) << key.str;
        EXPECT_FALSE(absl::StrContains(value, absl::StrReplaceAll(secret, {{"-", ""}}))) << key.str;
      }
    }
  } while (cursor != "0");
  std::printf("scanned %d Redis keys: neither secret is stored\n", keys);

  // And the secret the retry returned opens the case.
  cv1::TrackComplaintRequest track;
  track.set_tracking_code(first.tracking_code());
  track.set_secret(retry_a.secret());
  cv1::TrackComplaintResponse tracked;
  auto ctx = simpul::testing::CallContext(Caller{"public", ""});
  EXPECT_TRUE(stub_->TrackComplaint(ctx.get(), track, &tracked).ok());
}

}  // namespace
}  // namespace simpul
