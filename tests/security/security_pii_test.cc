// Personal data encrypted at rest (#13 point 4), end to end through the real gateway in front
// of the real simpul-registry, simpul-complaints and simpul-monitoring (ServiceCluster): a
// complainant with distinctive name, phone, e-mail, NIK and address files a PUBLIC and a
// SECRET complaint through a channel (gRPC) and one through Open311, the filing is retried, the
// handling agency verifies, disposes, starts work and posts a follow-up, the complainant tracks and
// replies, and the monitoring service consumes the events. Then every Redis key is read back (SCAN,
// DUMP, and the value by type: GET, HGETALL, LRANGE, SMEMBERS, ZRANGE, XRANGE), and so is every
// file in Redis's data directory (the AOF): none holds any of the planted strings, nor the phone's
// digits. The handling agency still reads the identity, SECRET included, through the API.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "simpul/complaints/v1/complaints.grpc.pb.h"
#include "tests/security/whole_system.h"
#include "tests/testing/grpc_calls.h"
#include "tests/testing/http_client.h"
#include "tests/testing/status_matchers.h"

namespace simpul {
namespace {

namespace cv1 = ::simpul::complaints::v1;
using ::simpul::testing::CallAs;
using ::simpul::testing::Caller;
using ::simpul::testing::MustCall;
using ::simpul::testing::PollUntil;

constexpr char kAgency[] = "kab-padang-pariaman";
constexpr char kUnit[] = "disdukcapil-kab-padang-pariaman";
constexpr char kService[] = "akta-kelahiran-kab-padang-pariaman";

// The planted complainant. The NIK (the 16-digit national identity number) has no field of
// its own in v1.Complainant; a citizen writes it in the address, so it is planted there.
constexpr char kName[] = "Zulkarnain Piiwiryawan";
constexpr char kPhone[] = "+62 813-9876-5432";
constexpr char kEmail[] = "zulkarnain.piiwiryawan@contoh.test";
constexpr char kNik[] = "3275019876543210";
const std::string kAddress =
    absl::StrCat("Jalan Kenanga Rahasia No. 77, Kelurahan Pijarsari, NIK ", kNik);

// Needles: every planted string, and the obvious pieces of it someone would grep for.
std::vector<std::string> Needles() {
  return {kName,          "Zulkarnain", "Piiwiryawan",
          kPhone,         "9876-5432",  "98765432",
          "8139876",      kEmail,       "zulkarnain.piiwiryawan",
          "piiwiryawan@", kAddress,     "Kenanga Rahasia",
          "Pijarsari",    kNik,         "9876543210"};
}

cv1::Complainant Planted() {
  cv1::Complainant c;
  c.set_name(kName);
  c.set_phone(kPhone);
  c.set_email(kEmail);
  c.set_address(kAddress);
  return c;
}

class PiiAtRestTest : public simpul::testing::WholeSystemTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(WholeSystemTest::SetUp());
    complaints_ = cv1::Complaints::NewStub(gateway_->channel());
    SeedUnit(kAgency, registry::v1::AGENCY_KIND_REGENCY, "13.05", kUnit, kService);
    common::v1::Principal sms;
    sms.set_role(common::v1::ROLE_CHANNEL);
    sms.set_channel("sms-1708");
    sms.add_scope_agency_ids(kAgency);
    channel_ = Issue(sms, "sms");
    common::v1::Principal agency;
    agency.set_role(common::v1::ROLE_AGENCY_ADMIN);
    agency.set_agency_id(kAgency);
    agency_ = Issue(agency, "agency");
    ASSERT_FALSE(HasFailure());
  }

  cv1::FileComplaintResponse File(const std::string& key, cv1::Confidentiality confidentiality) {
    cv1::FileComplaintRequest req;
    req.set_idempotency_key(key);
    req.set_report_type(cv1::REPORT_TYPE_COMPLAINT);
    req.set_channel(cv1::CHANNEL_SMS);
    req.set_service_id(kService);
    req.set_title("Akta kelahiran belum terbit");
    req.set_description("Akta kelahiran anak kami belum terbit setelah tiga minggu menunggu.");
    *req.mutable_complainant() = Planted();
    req.set_confidentiality(confidentiality);
    return MustCall(complaints_.get(), &cv1::Complaints::Stub::FileComplaint, channel_, req);
  }

  cv1::Complaint Get(const std::string& id) {
    cv1::GetComplaintRequest req;
    req.set_id(id);
    return MustCall(complaints_.get(), &cv1::Complaints::Stub::GetComplaint, agency_, req)
        .complaint();
  }

  // Handle takes the case through verification, disposition, work and a follow-up.
  void Handle(const std::string& id) {
    cv1::VerifyComplaintRequest verify;
    verify.set_id(id);
    verify.set_expected_revision(Get(id).revision());
    verify.set_note("Berkas lengkap.");
    MustCall(complaints_.get(), &cv1::Complaints::Stub::VerifyComplaint, agency_, verify);
    cv1::DisposeComplaintRequest dispose;
    dispose.set_id(id);
    dispose.set_expected_revision(Get(id).revision());
    MustCall(complaints_.get(), &cv1::Complaints::Stub::DisposeComplaint, agency_, dispose);
    cv1::StartWorkRequest start;
    start.set_id(id);
    start.set_expected_revision(Get(id).revision());
    MustCall(complaints_.get(), &cv1::Complaints::Stub::StartWork, agency_, start);
    cv1::PostFollowUpRequest follow_up;
    follow_up.set_id(id);
    follow_up.set_expected_revision(Get(id).revision());
    follow_up.set_message("Akta sedang dicetak; silakan ambil di loket 3 hari Kamis.");
    MustCall(complaints_.get(), &cv1::Complaints::Stub::PostFollowUp, agency_, follow_up);
  }

  // RedisValues reads every key: its DUMP and its value by type. Returns key -> bytes.
  std::map<std::string, std::string> RedisValues() {
    std::map<std::string, std::string> out;
    std::string cursor = "0";
    do {
      auto page = pool_->Command({"SCAN", cursor, "COUNT", "1000"});
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) return out;
      cursor = page->elements[0].str;
      for (const RedisReply& k : page->elements[1].elements) {
        const std::string& key = k.str;
        std::string& bytes = out[key];
        absl::StrAppend(&bytes, pool_->Command({"DUMP", key})->str, "\n");
        const std::string type = pool_->Command({"TYPE", key})->str;
        std::vector<std::string> read;
        if (type == "string") read = {"GET", key};
        if (type == "hash") read = {"HGETALL", key};
        if (type == "list") read = {"LRANGE", key, "0", "-1"};
        if (type == "set") read = {"SMEMBERS", key};
        if (type == "zset") read = {"ZRANGE", key, "0", "-1", "WITHSCORES"};
        if (type == "stream") read = {"XRANGE", key, "-", "+"};
        if (type == "none") continue;  // expired since the SCAN (rate limiter windows)
        EXPECT_FALSE(read.empty()) << key << " has type " << type;
        if (read.empty()) continue;
        auto value = pool_->Command(read);
        EXPECT_TRUE(value.ok()) << value.status();
        if (value.ok()) AppendReply(*value, &bytes);
      }
    } while (cursor != "0");
    return out;
  }

  static void AppendReply(const RedisReply& reply, std::string* out) {
    absl::StrAppend(out, reply.str, "\n");
    for (const RedisReply& e : reply.elements) AppendReply(e, out);
  }

  // DataFiles reads every file of Redis's data directory (the AOF, an RDB if any).
  std::map<std::string, std::string> DataFiles() {
    std::map<std::string, std::string> out;
    auto dir = pool_->Command({"CONFIG", "GET", "dir"});
    EXPECT_TRUE(dir.ok() && dir->elements.size() == 2);
    if (!dir.ok() || dir->elements.size() != 2) return out;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir->elements[1].str)) {
      if (!entry.is_regular_file()) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      out[entry.path().string()] = ss.str();
    }
    return out;
  }

  std::unique_ptr<cv1::Complaints::Stub> complaints_;
  Caller channel_, agency_;
};

TEST_F(PiiAtRestTest, NoIdentityOfAComplainantIsStoredInClearAnywhereInRedis) {
  const cv1::FileComplaintResponse open_case = File("pii-public-0001", cv1::CONFIDENTIALITY_PUBLIC);
  const cv1::FileComplaintResponse secret_case =
      File("pii-secret-0001", cv1::CONFIDENTIALITY_SECRET);
  ASSERT_FALSE(open_case.tracking_code().empty());
  ASSERT_FALSE(secret_case.tracking_code().empty());
  // The filer's retry is answered from the idempotency record.
  EXPECT_TRUE(File("pii-secret-0001", cv1::CONFIDENTIALITY_SECRET).replayed());

  for (const auto* filed : {&open_case, &secret_case}) {
    ASSERT_NO_FATAL_FAILURE(Handle(filed->tracking_code()));
    cv1::TrackComplaintRequest track;
    track.set_tracking_code(filed->tracking_code());
    track.set_secret(filed->secret());
    MustCall(complaints_.get(), &cv1::Complaints::Stub::TrackComplaint, Caller{}, track);
    cv1::ReplyToComplaintRequest reply;
    reply.set_tracking_code(filed->tracking_code());
    reply.set_secret(filed->secret());
    reply.set_message("Terima kasih, kami akan datang hari Kamis.");
    MustCall(complaints_.get(), &cv1::Complaints::Stub::ReplyToComplaint, Caller{}, reply);
  }

  // The same complainant through Open311 (REST front): first_name, email and phone.
  const simpul::testing::HttpResponse open311 = simpul::testing::HttpDo(
      cluster_->gateway().rest_port(), "POST", "/open311/v2/requests.json",
      simpul::testing::FormEncode({{"api_key", channel_.token},
                                   {"service_code", kService},
                                   {"description", "Akta kelahiran belum terbit sejak Maret."},
                                   {"first_name", kName},
                                   {"email", kEmail},
                                   {"phone", kPhone}}),
      {{"content-type", "application/x-www-form-urlencoded"}});
  ASSERT_EQ(open311.status, 200) << open311.body;
  const std::string open311_id = open311.ItemStr(0, "service_request_id");
  ASSERT_FALSE(open311_id.empty()) << open311.body;
  EXPECT_EQ(Get(open311_id).complainant().email(), kEmail);

  // The handling agency reads the identity, SECRET included: decryption works end to end.
  for (const auto* filed : {&open_case, &secret_case}) {
    const cv1::Complaint c = Get(filed->tracking_code());
    EXPECT_EQ(c.complainant().name(), kName);
    EXPECT_EQ(c.complainant().phone(), kPhone);
    EXPECT_EQ(c.complainant().email(), kEmail);
    EXPECT_EQ(c.complainant().address(), kAddress);
    EXPECT_FALSE(c.identity_withheld());
  }
  EXPECT_EQ(Get(secret_case.tracking_code()).confidentiality(), cv1::CONFIDENTIALITY_SECRET);

  // The monitoring service consumes the events (every group has read up to the newest one).
  const std::string stream = "simpul:cmp:{c}:events";
  EXPECT_TRUE(PollUntil(
      [&] {
        auto last = pool_->Command({"XREVRANGE", stream, "+", "-", "COUNT", "1"});
        auto groups = pool_->Command({"XINFO", "GROUPS", stream});
        if (!last.ok() || !groups.ok() || last->elements.empty() || groups->elements.empty()) {
          return false;
        }
        const std::string newest = last->elements[0].elements[0].str;
        for (const RedisReply& g : groups->elements) {
          for (size_t i = 0; i + 1 < g.elements.size(); i += 2) {
            if (g.elements[i].str == "last-delivered-id" && g.elements[i + 1].str != newest) {
              return false;
            }
          }
        }
        return true;
      },
      absl::Seconds(20)))
      << "simpul-monitoring did not consume the complaint events";

  ASSERT_EQ(pool_->Command({"BGREWRITEAOF"}).ok(), true);
  PollUntil(
      [&] {
        auto info = pool_->Command({"INFO", "persistence"});
        return info.ok() && info->str.find("aof_rewrite_in_progress:0") != std::string::npos &&
               info->str.find("aof_rewrite_scheduled:0") != std::string::npos;
      },
      absl::Seconds(20));

  int64_t keys = 0, bytes = 0, files = 0, file_bytes = 0;
  for (const auto& [key, value] : RedisValues()) {
    ++keys;
    bytes += static_cast<int64_t>(value.size());
    for (const std::string& needle : Needles()) {
      EXPECT_EQ(value.find(needle), std::string::npos) << "\"" << needle << "\" in key " << key;
    }
  }
  for (const auto& [path, content] : DataFiles()) {
    ++files;
    file_bytes += static_cast<int64_t>(content.size());
    for (const std::string& needle : Needles()) {
      EXPECT_EQ(content.find(needle), std::string::npos) << "\"" << needle << "\" in " << path;
    }
  }
  EXPECT_GT(keys, 10);
  EXPECT_GT(files, 0);
  std::cout << "pii at rest: " << Needles().size() << " planted strings searched in " << keys
            << " Redis keys (" << bytes << " bytes of DUMP and values) and " << files
            << " Redis data files (" << file_bytes << " bytes): none found; the handling agency "
            << "read the identities of 3 cases (PUBLIC, SECRET, Open311) through the gateway"
            << std::endl;
}

}  // namespace
}  // namespace simpul
