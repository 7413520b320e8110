// End-to-end tests of simpul-complaints: the real simpul-complaints and simpul-registry
// binaries, a real redis-server (AOF, appendfsync always), gRPC calls over loopback with signed
// identity tokens. Covers every RPC through the lifecycle, errors with field violations,
// idempotent filing, racing handlers, confidentiality of identities across every response,
// event, log line and Redis key, durability across kill -9 of the service and of Redis,
// filing while the registry is down, health and the graceful drain.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/grpc_status.h"
#include "common/redis.h"
#include "common/status.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "simpul/complaints/v1/complaints.grpc.pb.h"
#include "simpul/registry/v1/registry.grpc.pb.h"
#include "tests/testing/complaint_history.h"
#include "tests/testing/grpc_calls.h"
#include "tests/testing/local_identity.h"
#include "tests/testing/redis_sentinel_set.h"
#include "tests/testing/registry_fixtures.h"
#include "tests/testing/registry_seed.h"
#include "tests/testing/service_cluster.h"
#include "tests/testing/status_matchers.h"

namespace simpul::complaints {
namespace {

namespace v1 = ::simpul::complaints::v1;
namespace rv1 = ::simpul::registry::v1;
using ::grpc::StatusCode;
using ::simpul::testing::Caller;
using ::simpul::testing::IsOk;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::UnorderedElementsAreArray;

constexpr char kPp[] = "kab-padang-pariaman";
constexpr char kBogor[] = "kota-bogor";
constexpr char kPpUnit[] = "disdukcapil-pp";
constexpr char kBogorUnit[] = "dpmptsp-bogor";
constexpr char kPpService[] = "akta-kelahiran";
constexpr char kBogorService[] = "pbg-bogor";
constexpr char kComplaintsService[] = "simpul.complaints.v1.Complaints";
constexpr char kEventStream[] = "simpul:cmp:{c}:events";

// Recorded is one response (or error) the test received, with who asked for it.
struct Recorded {
  size_t index = 0;
  std::string tag;
  std::string method;  // request message name, e.g. "GetComplaintRequest"
  bool ok = false;
  std::string text;  // serialized bytes, DebugString and JSON (or the error and its details)
};

using Stub = v1::Complaints::Stub;

template <typename Req, typename Resp>
using Method = grpc::Status (Stub::*)(grpc::ClientContext*, const Req&, Resp*);

int64_t Millis(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1000 + t.nanos() / 1000000;
}

absl::Time TimeOf(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Flatten appends every string in a Redis reply to `out`, one per line.
void Flatten(const RedisReply& r, std::string* out) {
  if (r.type == RedisReply::Type::kArray) {
    for (const auto& e : r.elements) Flatten(e, out);
    return;
  }
  if (r.type == RedisReply::Type::kInteger) {
    absl::StrAppend(out, r.integer, "\n");
  } else {
    absl::StrAppend(out, r.str, "\n");
  }
}

template <typename T>
std::vector<std::string> Ids(const T& items) {
  std::vector<std::string> ids;
  for (const auto& c : items) ids.push_back(c.id());
  return ids;
}

class ComplaintsE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = simpul::testing::ServiceCluster::Create();
    ASSERT_THAT(cluster, IsOk());
    cluster_ = *std::move(cluster);
    pp_admin_ = {"pp_admin", Token(common::v1::ROLE_AGENCY_ADMIN, kPp, "", "admin@pp")};
    pp_op_ = {"pp_op", Token(common::v1::ROLE_AGENCY_OPERATOR, kPp, "", "operator@pp")};
    bogor_admin_ = {"bogor_admin", Token(common::v1::ROLE_AGENCY_ADMIN, kBogor, "", "admin@bogor")};
    bogor_op_ = {"bogor_op", Token(common::v1::ROLE_AGENCY_OPERATOR, kBogor, "", "operator@bogor")};
    coordinator_ = {"coordinator",
                    Token(common::v1::ROLE_PLATFORM_ADMIN, "", "", "coordinator@kemenpan")};
    sms_ = {"sms_channel", Token(common::v1::ROLE_CHANNEL, "", "sms-1708", "sms-gateway")};
    email_ = {"email_channel", Token(common::v1::ROLE_CHANNEL, "", "email-gw", "email-gateway")};
    partner_ = {"partner_channel",
                Token(common::v1::ROLE_CHANNEL, "", "lapor-partner", "lapor-bridge")};
    public_ = {"public", ""};
    complainant_ = {"complainant", ""};

    auto registry = cluster_->Start(simpul::testing::Binary::kRegistry,
                                    {.flags = {"--drain_timeout=2s", "--log_level=debug"}});
    ASSERT_THAT(registry, IsOk());
    registry_ = *registry;
    registry_stub_ = rv1::Registry::NewStub(registry_->channel());
    ASSERT_NO_FATAL_FAILURE(SeedRegistry());

    auto complaints =
        cluster_->Start(simpul::testing::Binary::kComplaints,
                        {.flags = {"--registry_timeout=2s", "--scan_interval=1s",
                                   "--drain_timeout=3s", "--log_level=debug",
                                   absl::StrCat("--objects_dir=", ::testing::TempDir(),
                                                "complaints_e2e_objects_", getpid())}});
    ASSERT_THAT(complaints, IsOk());
    complaints_ = *complaints;
    stub_ = v1::Complaints::NewStub(complaints_->channel());
  }

  // ---- identities and calls ----------------------------------------------------------

  std::string Token(common::v1::Role role, const std::string& agency, const std::string& channel,
                    const std::string& subject) {
    return cluster_->tokens().Token(role, agency, channel, subject);
  }

  // Call makes one call to simpul-complaints as `who` and records what came back.
  template <typename Req, typename Resp>
  grpc::Status Call(Method<Req, Resp> method, const Caller& who, const Req& req, Resp* resp,
                    absl::Duration timeout = absl::Seconds(10)) {
    auto ctx = simpul::testing::CallContext(who, timeout);
    resp->Clear();
    grpc::Status status = (stub_.get()->*method)(ctx.get(), req, resp);
    Record(who.tag, Req::descriptor()->name(), status, *resp);
    return status;
  }

  // Must makes a call that has to succeed and returns its response.
  template <typename Req, typename Resp>
  Resp Must(Method<Req, Resp> method, const Caller& who, const Req& req) {
    Resp resp;
    grpc::Status status = Call(method, who, req, &resp);
    EXPECT_TRUE(status.ok()) << Req::descriptor()->name() << " as " << who.tag << ": "
                             << status.error_code() << " " << status.error_message();
    return resp;
  }

  void Record(const std::string& tag, const std::string& method, const grpc::Status& status,
              const google::protobuf::Message& resp) {
    Recorded r;
    r.tag = tag;
    r.method = method;
    r.ok = status.ok();
    if (status.ok()) {
      std::string json;
      (void)google::protobuf::util::MessageToJsonString(resp, &json);
      r.text = absl::StrCat(resp.SerializeAsString(), "\n", resp.DebugString(), "\n", json);
    } else {
      r.text = absl::StrCat(status.error_code(), " ", status.error_message(), "\n",
                            status.error_details(), "\n",
                            BadRequestOf(FromGrpcStatus(status)).DebugString());
    }
    absl::MutexLock lock(&record_mu_);
    r.index = recorded_.size();
    recorded_.push_back(std::move(r));
  }

  size_t RecordedCount() {
    absl::MutexLock lock(&record_mu_);
    return recorded_.size();
  }

  std::vector<Recorded> RecordedCopy() {
    absl::MutexLock lock(&record_mu_);
    return recorded_;
  }

  // ---- registry seeding --------------------------------------------------------------

  // SeedRegistry creates two agencies with a unit and a service each, and adopts a standard
  // with resolution classes for the Padang Pariaman service.
  void SeedRegistry() {
    simpul::testing::RegistrySeeder seed(registry_stub_.get());
    Caller admin{"registry-admin", Token(common::v1::ROLE_PLATFORM_ADMIN, "", "", "root")};
    seed.CreateAgency(admin, kPp, rv1::AGENCY_KIND_REGENCY, "13.05");
    seed.CreateAgency(admin, kBogor, rv1::AGENCY_KIND_CITY, "32.71");
    seed.CreateUnit(pp_admin_, kPpUnit, kPp, "Dinas Kependudukan dan Pencatatan Sipil");
    seed.CreateUnit(bogor_admin_, kBogorUnit, kBogor,
                    "Dinas Penanaman Modal dan Pelayanan Terpadu Satu Pintu");
    seed.CreateService(pp_admin_, kPpService, kPpUnit, "Akta Kelahiran");
    seed.CreateService(bogor_admin_, kBogorService, kBogorUnit, "Persetujuan Bangunan Gedung");
    ASSERT_FALSE(HasFailure());

    rv1::StandardComponents components = simpul::testing::CompleteComponents();
    auto* handling = components.mutable_complaint_handling();
    handling->set_response_working_days(3);
    handling->clear_resolution_classes();
    auto* minor = handling->add_resolution_classes();
    minor->set_name("minor");
    minor->set_working_days(2);
    auto* normative = handling->add_resolution_classes();
    normative->set_name("normative");
    normative->set_working_days(5);
    standard_version_id_ = seed.AdoptStandard(pp_op_, pp_admin_, kPpService, components).id();
    ASSERT_FALSE(HasFailure());
  }

  // ---- complaint helpers -------------------------------------------------------------

  static v1::FileComplaintRequest FileReq(const std::string& key, v1::Channel channel,
                                          const std::string& service_id,
                                          const std::string& description) {
    v1::FileComplaintRequest req;
    req.set_idempotency_key(key);
    req.set_report_type(v1::REPORT_TYPE_COMPLAINT);
    req.set_channel(channel);
    req.set_service_id(service_id);
    req.set_title("Pelayanan lambat");
    req.set_description(description);
    req.set_remedy_requested("Mohon akta diterbitkan sesuai standar");
    req.mutable_location()->set_address("Kantor Disdukcapil, Parit Malintang");
    req.mutable_location()->set_region_code("13.05");
    return req;
  }

  v1::FileComplaintResponse File(const Caller& who, const v1::FileComplaintRequest& req) {
    return Must(&Stub::FileComplaint, who, req);
  }

  v1::Complaint Get(const Caller& who, const std::string& id) {
    v1::GetComplaintRequest req;
    req.set_id(id);
    return Must(&Stub::GetComplaint, who, req).complaint();
  }

  grpc::Status TryGet(const Caller& who, const std::string& id, v1::Complaint* out = nullptr) {
    v1::GetComplaintRequest req;
    req.set_id(id);
    v1::GetComplaintResponse resp;
    grpc::Status s = Call(&Stub::GetComplaint, who, req, &resp);
    if (out != nullptr) *out = resp.complaint();
    return s;
  }

  v1::TrackComplaintResponse Track(const std::string& code, const std::string& secret) {
    v1::TrackComplaintRequest req;
    req.set_tracking_code(code);
    req.set_secret(secret);
    return Must(&Stub::TrackComplaint, complainant_, req);
  }

  v1::Complaint Verify(const Caller& who, const std::string& id, const std::string& cls = "",
                       v1::Confidentiality conf = v1::CONFIDENTIALITY_UNSPECIFIED) {
    v1::VerifyComplaintRequest req;
    req.set_id(id);
    req.set_resolution_class(cls);
    req.set_confidentiality(conf);
    req.set_note("Berkas lengkap");
    return Must(&Stub::VerifyComplaint, who, req).complaint();
  }

  v1::Complaint Dispose(const Caller& who, const std::string& id, const std::string& unit = "") {
    v1::DisposeComplaintRequest req;
    req.set_id(id);
    req.set_unit_id(unit);
    req.set_note("Diteruskan ke bidang pelayanan");
    return Must(&Stub::DisposeComplaint, who, req).complaint();
  }

  v1::Complaint StartWork(const Caller& who, const std::string& id) {
    v1::StartWorkRequest req;
    req.set_id(id);
    return Must(&Stub::StartWork, who, req).complaint();
  }

  v1::Complaint FollowUp(const Caller& who, const std::string& id, const std::string& message) {
    v1::PostFollowUpRequest req;
    req.set_id(id);
    req.set_message(message);
    return Must(&Stub::PostFollowUp, who, req).complaint();
  }

  v1::Complaint Complete(const Caller& who, const std::string& id) {
    v1::CompleteComplaintRequest req;
    req.set_id(id);
    req.set_note("Selesai");
    return Must(&Stub::CompleteComplaint, who, req).complaint();
  }

  v1::PublicComplaint Reply(const std::string& code, const std::string& secret,
                            const std::string& message) {
    v1::ReplyToComplaintRequest req;
    req.set_tracking_code(code);
    req.set_secret(secret);
    req.set_message(message);
    return Must(&Stub::ReplyToComplaint, complainant_, req).complaint();
  }

  v1::PublicComplaint Rate(const std::string& code, const std::string& secret, int rating) {
    v1::RateComplaintRequest req;
    req.set_tracking_code(code);
    req.set_secret(secret);
    req.set_rating(rating);
    req.set_comment("Terima kasih");
    return Must(&Stub::RateComplaint, complainant_, req).complaint();
  }

  v1::PublicComplaint Reopen(const std::string& code, const std::string& secret) {
    v1::ReopenComplaintRequest req;
    req.set_tracking_code(code);
    req.set_secret(secret);
    req.set_reason("Akta yang diterbitkan salah nama ibu");
    return Must(&Stub::ReopenComplaint, complainant_, req).complaint();
  }

  v1::Complaint Forward(const Caller& who, const std::string& id, const std::string& to_agency,
                        const std::string& to_unit = "") {
    v1::ForwardComplaintRequest req;
    req.set_id(id);
    req.set_to_agency_id(to_agency);
    req.set_to_unit_id(to_unit);
    req.set_reason("Bukan kewenangan kami: izin bangunan ada di kota");
    return Must(&Stub::ForwardComplaint, who, req).complaint();
  }

  std::vector<v1::HistoryEntry> History(const Caller& who, const std::string& id) {
    v1::GetComplaintHistoryRequest req;
    req.set_id(id);
    auto resp = Must(&Stub::GetComplaintHistory, who, req);
    return {resp.entries().begin(), resp.entries().end()};
  }

  // ListAll reads every page of a listing with `page_size`, asserting the pages do not
  // overlap, and returns the complaints and public complaints of all pages together.
  v1::ListComplaintsResponse ListAll(const Caller& who, v1::ListComplaintsRequest req,
                                     int page_size = 50, int* pages = nullptr) {
    v1::ListComplaintsResponse all;
    req.mutable_page()->set_page_size(page_size);
    int n = 0;
    for (; n < 1000; ++n) {
      v1::ListComplaintsResponse page = Must(&Stub::ListComplaints, who, req);
      EXPECT_LE(page.complaints_size() + page.public_complaints_size(), page_size);
      for (const auto& c : page.complaints()) *all.add_complaints() = c;
      for (const auto& c : page.public_complaints()) *all.add_public_complaints() = c;
      if (page.next_page_token().empty()) break;
      req.mutable_page()->set_page_token(page.next_page_token());
    }
    if (pages != nullptr) *pages = n + 1;
    std::vector<std::string> ids = Ids(all.complaints());
    std::vector<std::string> pub = Ids(all.public_complaints());
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());
    EXPECT_EQ(std::set<std::string>(pub.begin(), pub.end()).size(), pub.size());
    return all;
  }

  std::vector<std::string> CoordinatorIds() {
    return Ids(ListAll(coordinator_, v1::ListComplaintsRequest(), 500).complaints());
  }

  // ---- Redis inspection --------------------------------------------------------------

  RedisOptions RedisOpts() {
    RedisOptions o;
    o.host = "127.0.0.1";
    o.port = cluster_->redis().port();
    o.pool_size = 1;
    return o;
  }

  struct StreamEvent {
    std::string raw;  // every field and value of the entry
    v1::ComplaintEvent event;
  };

  std::vector<StreamEvent> ReadEvents() {
    RedisPool pool(RedisOpts());
    auto reply = pool.Command({"XRANGE", kEventStream, "-", "+"});
    EXPECT_TRUE(reply.ok()) << reply.status();
    std::vector<StreamEvent> out;
    if (!reply.ok()) return out;
    for (const auto& entry : reply->elements) {
      if (entry.elements.size() != 2) {
        ADD_FAILURE() << "malformed stream entry";
        continue;
      }
      StreamEvent e;
      const auto& fields = entry.elements[1].elements;
      bool parsed = false;
      for (size_t i = 0; i + 1 < fields.size(); i += 2) {
        absl::StrAppend(&e.raw, fields[i].str, "=", fields[i + 1].str, "\n");
        if (fields[i].str == "e") parsed = e.event.ParseFromString(fields[i + 1].str);
      }
      EXPECT_TRUE(parsed) << "stream entry " << entry.elements[0].str << " has no event";
      out.push_back(std::move(e));
    }
    return out;
  }

  // DumpKeyspace reads every key's name and value (whatever its type) into one blob.
  std::string DumpKeyspace(int* key_count) {
    RedisPool pool(RedisOpts());
    std::set<std::string> keys;
    std::string cursor = "0";
    int rounds = 0;
    do {
      auto reply = pool.Command({"SCAN", cursor, "COUNT", "1000"});
      if (!reply.ok() || reply->elements.size() != 2) {
        ADD_FAILURE() << "SCAN failed";
        break;
      }
      cursor = reply->elements[0].str;
      for (const auto& k : reply->elements[1].elements) keys.insert(k.str);
    } while (cursor != "0" && ++rounds < 100000);
    std::string blob;
    for (const auto& key : keys) {
      absl::StrAppend(&blob, "KEY ", key, "\n");
      auto type = pool.Command({"TYPE", key});
      if (!type.ok()) {
        ADD_FAILURE() << "TYPE " << key;
        continue;
      }
      std::vector<std::string> read;
      if (type->str == "string") {
        read = {"GET", key};
      } else if (type->str == "hash") {
        read = {"HGETALL", key};
      } else if (type->str == "list") {
        read = {"LRANGE", key, "0", "-1"};
      } else if (type->str == "set") {
        read = {"SMEMBERS", key};
      } else if (type->str == "zset") {
        read = {"ZRANGE", key, "0", "-1", "WITHSCORES"};
      } else if (type->str == "stream") {
        read = {"XRANGE", key, "-", "+"};
      } else if (type->str == "none") {
        continue;  // expired meanwhile
      } else {
        ADD_FAILURE() << "key " << key << " has unexpected type " << type->str;
        continue;
      }
      auto value = pool.Command(read);
      if (!value.ok() || value->is_error()) {
        ADD_FAILURE() << read[0] << " " << key;
        continue;
      }
      Flatten(*value, &blob);
    }
    if (key_count != nullptr) *key_count = static_cast<int>(keys.size());
    return blob;
  }

  // DataDirFiles concatenates every file under Redis's data directory (AOF, RDB, its log).
  std::string DataDirFiles() {
    std::string blob;
    std::error_code ec;
    for (const auto& f :
         std::filesystem::recursive_directory_iterator(cluster_->redis().data_dir(), ec)) {
      if (f.is_regular_file()) absl::StrAppend(&blob, ReadFile(f.path().string()));
    }
    return blob;
  }

  // ---- state -------------------------------------------------------------------------

  std::unique_ptr<simpul::testing::ServiceCluster> cluster_;
  simpul::testing::ServiceProcess* registry_ = nullptr;
  simpul::testing::ServiceProcess* complaints_ = nullptr;
  std::unique_ptr<rv1::Registry::Stub> registry_stub_;
  std::unique_ptr<Stub> stub_;
  std::string standard_version_id_;

  Caller pp_admin_, pp_op_, bogor_admin_, bogor_op_, coordinator_, sms_, email_, partner_, public_,
      complainant_;

  absl::Mutex record_mu_;
  std::vector<Recorded> recorded_ ABSL_GUARDED_BY(record_mu_);
};

const std::regex& TrackingCodeRe() {
  static const std::regex re("^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$");
  return re;
}

// LowerNoDash turns "7KQ2M-XW9DT" into "7kq2mxw9dt".
std::string LowerNoDash(const std::string& code) {
  std::string out;
  for (char c : code) {
    if (c != '-') out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

// AsTyped spells a code as a person might type it: lower case, no dash, 1 as "l", 0 as "o".
std::string AsTyped(const std::string& code) {
  std::string out;
  for (char c : LowerNoDash(code)) {
    out.push_back(c == '1' ? 'l' : c == '0' ? 'o' : c);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// 1. Every RPC

TEST_F(ComplaintsE2ETest, EveryRpc) {
  const absl::Time start = absl::Now();
  // A: filed through the SMS channel about a service: routed through the registry.
  v1::FileComplaintRequest a_req = FileReq("sms-msg-000001", v1::CHANNEL_SMS, kPpService,
                                           "Akta kelahiran anak saya belum "
                                           "terbit setelah dua minggu");
  a_req.mutable_complainant()->set_name("Yusuf Publik");
  a_req.mutable_complainant()->set_phone("+62 812 0000 1111");
  a_req.set_confidentiality(v1::CONFIDENTIALITY_PUBLIC);
  v1::FileComplaintResponse a_filed = File(sms_, a_req);
  const std::string a = a_filed.tracking_code();
  const std::string a_secret = a_filed.secret();
  ASSERT_TRUE(std::regex_match(a, TrackingCodeRe())) << a;
  ASSERT_FALSE(a_secret.empty());
  EXPECT_FALSE(a_filed.replayed());
  EXPECT_EQ(a_filed.complaint().id(), a);
  EXPECT_EQ(a_filed.complaint().state(), v1::STATE_RECEIVED);
  EXPECT_EQ(a_filed.complaint().agency_id(), kPp);
  EXPECT_EQ(a_filed.complaint().unit_id(), kPpUnit);
  EXPECT_TRUE(a_filed.complaint().deadlines().has_verify_by());

  v1::Complaint got = Get(pp_op_, a);
  EXPECT_EQ(got.agency_id(), kPp);
  EXPECT_EQ(got.unit_id(), kPpUnit);
  EXPECT_EQ(got.service_id(), kPpService);
  EXPECT_EQ(got.channel(), v1::CHANNEL_SMS);
  EXPECT_EQ(got.channel_name(), "sms-1708");
  EXPECT_EQ(got.time_zone(), common::v1::TIME_ZONE_WIB);
  EXPECT_EQ(got.standard_version_id(), standard_version_id_);
  EXPECT_EQ(got.response_working_days(), 3);
  EXPECT_EQ(got.revision(), 1);
  EXPECT_EQ(got.complainant().name(), "Yusuf Publik");
  EXPECT_TRUE(got.routing_note().empty()) << got.routing_note();

  // Tracking with the code and secret, also typed in lower case without the dash.
  v1::TrackComplaintResponse tracked = Track(a, a_secret);
  EXPECT_EQ(tracked.complaint().id(), a);
  EXPECT_EQ(tracked.complaint().state(), v1::STATE_RECEIVED);
  ASSERT_EQ(tracked.history_size(), 1);
  EXPECT_EQ(tracked.history(0).action(), "FileComplaint");
  v1::TrackComplaintResponse tracked_lower = Track(LowerNoDash(a), a_secret);
  EXPECT_EQ(tracked_lower.complaint().id(), a);
  // I, L and O are read as 1, 1 and 0; the secret may be typed in lower case without dashes.
  EXPECT_EQ(Track(AsTyped(a), LowerNoDash(a_secret)).complaint().id(), a) << AsTyped(a);

  // Verify with a resolution class of the standard.
  const absl::Time verified_at = absl::Now();
  v1::Complaint verified = Verify(pp_op_, a, "minor");
  EXPECT_EQ(verified.state(), v1::STATE_VERIFIED);
  EXPECT_EQ(verified.resolution_class(), "minor");
  EXPECT_EQ(verified.resolution_working_days(), 2);
  ASSERT_TRUE(verified.deadlines().has_resolve_by());
  ASSERT_TRUE(verified.deadlines().has_dispose_by());
  // Two working days end at least ~2 days and at most a long holiday later.
  EXPECT_GE(TimeOf(verified.deadlines().resolve_by()), verified_at + absl::Hours(47));
  EXPECT_LE(TimeOf(verified.deadlines().resolve_by()), verified_at + absl::Hours(24 * 15));
  EXPECT_EQ(verified.revision(), 2);

  v1::Complaint disposed = Dispose(pp_op_, a);
  EXPECT_EQ(disposed.state(), v1::STATE_DISPOSED);
  EXPECT_EQ(disposed.unit_id(), kPpUnit);
  ASSERT_TRUE(disposed.deadlines().has_respond_by());
  // The standard promises a response within 3 working days.
  EXPECT_GE(TimeOf(disposed.deadlines().respond_by()), verified_at + absl::Hours(71));
  EXPECT_LE(TimeOf(disposed.deadlines().respond_by()), verified_at + absl::Hours(24 * 16));

  EXPECT_EQ(StartWork(pp_op_, a).state(), v1::STATE_IN_PROGRESS);
  v1::Complaint responded = FollowUp(pp_op_, a, "Berkas sedang diproses, selesai Senin");
  EXPECT_EQ(responded.state(), v1::STATE_RESPONDED);
  EXPECT_EQ(responded.follow_up_count(), 1);
  EXPECT_TRUE(responded.has_first_response_time());
  EXPECT_TRUE(responded.deadlines().has_auto_complete_at());

  // The complainant replies: back to IN_PROGRESS.
  v1::PublicComplaint replied = Reply(a, a_secret, "Sudah Senin tapi belum selesai");
  EXPECT_EQ(replied.state(), v1::STATE_IN_PROGRESS);
  EXPECT_EQ(Get(pp_op_, a).state(), v1::STATE_IN_PROGRESS);
  responded = FollowUp(pp_admin_, a, "Akta sudah dapat diambil di loket 3");
  EXPECT_EQ(responded.state(), v1::STATE_RESPONDED);
  EXPECT_EQ(responded.follow_up_count(), 2);

  v1::Complaint completed = Complete(pp_admin_, a);
  EXPECT_EQ(completed.state(), v1::STATE_COMPLETED);
  EXPECT_TRUE(completed.has_complete_time());
  EXPECT_TRUE(completed.deadlines().has_reopen_until());
  EXPECT_EQ(Rate(a, a_secret, 4).rating(), 4);
  EXPECT_EQ(Get(pp_op_, a).rating(), 4);
  // Once per completion; a closed case takes no replies.
  v1::RateComplaintRequest rate_again;
  rate_again.set_tracking_code(a);
  rate_again.set_secret(a_secret);
  rate_again.set_rating(1);
  v1::RateComplaintResponse rate_again_resp;
  EXPECT_EQ(Call(&Stub::RateComplaint, complainant_, rate_again, &rate_again_resp).error_code(),
            StatusCode::FAILED_PRECONDITION);
  v1::ReplyToComplaintRequest closed_reply;
  closed_reply.set_tracking_code(a);
  closed_reply.set_secret(a_secret);
  closed_reply.set_message("Masih ada masalah");
  v1::ReplyToComplaintResponse closed_reply_resp;
  grpc::Status closed =
      Call(&Stub::ReplyToComplaint, complainant_, closed_reply, &closed_reply_resp);
  EXPECT_EQ(closed.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(closed.error_message(), HasSubstr("COMPLETED"));
  v1::PublicComplaint reopened = Reopen(a, a_secret);
  EXPECT_EQ(reopened.state(), v1::STATE_IN_PROGRESS);
  EXPECT_EQ(reopened.rating(), 0);
  v1::Complaint a_now = Get(pp_op_, a);
  EXPECT_EQ(a_now.reopen_count(), 1);
  EXPECT_EQ(a_now.revision(), 10);
  ASSERT_FALSE(HasFailure());

  // B: filed by the public on the web; held for more information, the reply completes the file.
  v1::FileComplaintResponse b_filed = File(
      public_,
      FileReq("web-form-b-0001", v1::CHANNEL_WEB, kPpService, "Petugas meminta biaya untuk akta"));
  const std::string b = b_filed.tracking_code();
  EXPECT_EQ(Get(pp_op_, b).channel_name(), "public");
  v1::HoldComplaintRequest hold;
  hold.set_id(b);
  hold.set_message("Mohon sebutkan tanggal dan loket pelayanan");
  v1::Complaint held = Must(&Stub::HoldComplaint, pp_op_, hold).complaint();
  EXPECT_EQ(held.state(), v1::STATE_ON_HOLD);
  EXPECT_TRUE(held.deadlines().has_auto_archive_at());
  v1::TrackComplaintResponse b_tracked = Track(b, b_filed.secret());
  EXPECT_EQ(b_tracked.complaint().state(), v1::STATE_ON_HOLD);
  ASSERT_EQ(b_tracked.history_size(), 2);
  EXPECT_EQ(b_tracked.history(1).message(), "Mohon sebutkan tanggal dan loket pelayanan");
  EXPECT_EQ(Reply(b, b_filed.secret(), "Tanggal 2, loket 1").state(), v1::STATE_RECEIVED);

  // C: a duplicate of A, archived with a link to it.
  v1::FileComplaintResponse c_filed =
      File(sms_, FileReq("sms-msg-000002", v1::CHANNEL_SMS, kPpService,
                         "Akta kelahiran anak saya belum terbit (kirim ulang)"));
  const std::string c = c_filed.tracking_code();
  v1::ArchiveComplaintRequest archive;
  archive.set_id(c);
  archive.set_reason(v1::ARCHIVE_REASON_DUPLICATE);
  archive.set_duplicate_of(a);
  v1::Complaint archived = Must(&Stub::ArchiveComplaint, pp_op_, archive).complaint();
  EXPECT_EQ(archived.state(), v1::STATE_ARCHIVED);
  EXPECT_EQ(archived.archive_reason(), v1::ARCHIVE_REASON_DUPLICATE);
  EXPECT_EQ(archived.duplicate_of(), a);

  // D: not Padang Pariaman's matter: forwarded to Kota Bogor, which disposes it; escalated
  // and resumed.
  v1::FileComplaintResponse d_filed =
      File(public_, FileReq("web-form-d-0001", v1::CHANNEL_MOBILE_APP, kPpService,
                            "Izin bangunan rumah saya di Bogor tidak diproses"));
  const std::string d = d_filed.tracking_code();
  Verify(pp_op_, d);
  v1::Complaint forwarded = Forward(pp_admin_, d, kBogor);
  EXPECT_EQ(forwarded.id(), d);
  EXPECT_EQ(forwarded.state(), v1::STATE_FORWARDED);
  EXPECT_EQ(forwarded.agency_id(), kBogor);
  EXPECT_THAT(forwarded.previous_agency_ids(), ElementsAre(kPp));
  EXPECT_EQ(TryGet(pp_admin_, d).error_code(), StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(TryGet(pp_op_, d).error_code(), StatusCode::PERMISSION_DENIED);
  v1::StartWorkRequest pp_start;
  pp_start.set_id(d);
  v1::StartWorkResponse ignored;
  EXPECT_EQ(Call(&Stub::StartWork, pp_op_, pp_start, &ignored).error_code(),
            StatusCode::PERMISSION_DENIED);
  v1::Complaint d_bogor = Get(bogor_op_, d);
  EXPECT_EQ(d_bogor.id(), d);
  EXPECT_EQ(d_bogor.state(), v1::STATE_FORWARDED);
  v1::Complaint d_disposed = Dispose(bogor_op_, d, kBogorUnit);
  EXPECT_EQ(d_disposed.state(), v1::STATE_DISPOSED);
  EXPECT_EQ(d_disposed.unit_id(), kBogorUnit);
  v1::TrackComplaintResponse d_tracked = Track(d, d_filed.secret());
  EXPECT_EQ(d_tracked.complaint().agency_id(), kBogor);
  v1::EscalateComplaintRequest escalate;
  escalate.set_id(d);
  escalate.set_reason("Kepala dinas minta ditangani langsung");
  EXPECT_EQ(Must(&Stub::EscalateComplaint, bogor_admin_, escalate).complaint().state(),
            v1::STATE_ESCALATED);
  v1::ResumeComplaintRequest resume;
  resume.set_id(d);
  resume.set_resolve_within_working_days(5);
  resume.set_note("Koordinator: selesaikan dalam 5 hari kerja");
  v1::Complaint resumed = Must(&Stub::ResumeComplaint, coordinator_, resume).complaint();
  EXPECT_EQ(resumed.state(), v1::STATE_IN_PROGRESS);
  EXPECT_TRUE(resumed.deadlines().has_resolve_by());

  // E: the channel knows no service id: unrouted until a coordinator routes it.
  v1::FileComplaintRequest e_req =
      FileReq("sms-msg-000003", v1::CHANNEL_SMS, "", "Pengurusan PBG di Bogor berbelit");
  e_req.set_target_text("DPMPTSP Kota Bogor, persetujuan bangunan gedung");
  v1::FileComplaintResponse e_filed = File(sms_, e_req);
  const std::string e = e_filed.tracking_code();
  EXPECT_TRUE(e_filed.complaint().agency_id().empty());
  v1::Complaint e_got = Get(coordinator_, e);
  EXPECT_TRUE(e_got.agency_id().empty());
  EXPECT_FALSE(e_got.routing_note().empty());
  v1::ListComplaintsRequest unrouted;
  unrouted.set_unrouted(true);
  EXPECT_THAT(Ids(ListAll(coordinator_, unrouted).complaints()), ElementsAre(e));
  v1::RouteComplaintRequest route;
  route.set_id(e);
  route.set_unit_id(kBogorUnit);
  route.set_reason("Sasaran jelas dari teks");
  route.set_expected_revision(e_got.revision());
  v1::Complaint routed = Must(&Stub::RouteComplaint, coordinator_, route).complaint();
  EXPECT_EQ(routed.agency_id(), kBogor);
  EXPECT_EQ(routed.unit_id(), kBogorUnit);
  EXPECT_EQ(routed.state(), v1::STATE_RECEIVED);
  EXPECT_TRUE(routed.routing_note().empty());
  EXPECT_THAT(Ids(ListAll(coordinator_, unrouted).complaints()), IsEmpty());
  EXPECT_EQ(Get(bogor_admin_, e).agency_id(), kBogor);
  ASSERT_FALSE(HasFailure());

  // Inboxes: filters and pagination, oldest filing first.
  v1::ListComplaintsRequest pp_inbox;
  pp_inbox.set_agency_id(kPp);
  int pages = 0;
  EXPECT_THAT(Ids(ListAll(pp_op_, pp_inbox, 1, &pages).complaints()), ElementsAre(a, b, c));
  EXPECT_GE(pages, 3);
  v1::ListComplaintsRequest own = pp_inbox;
  own.clear_agency_id();  // an agency caller's own agency by default
  EXPECT_THAT(Ids(ListAll(pp_admin_, own, 2).complaints()), ElementsAre(a, b, c));
  v1::ListComplaintsRequest by_state = pp_inbox;
  by_state.add_states(v1::STATE_IN_PROGRESS);
  EXPECT_THAT(Ids(ListAll(pp_op_, by_state, 1).complaints()), ElementsAre(a));
  v1::ListComplaintsRequest two_states = pp_inbox;
  two_states.add_states(v1::STATE_ARCHIVED);
  two_states.add_states(v1::STATE_RECEIVED);
  EXPECT_THAT(Ids(ListAll(pp_op_, two_states, 1).complaints()), ElementsAre(b, c));
  v1::ListComplaintsRequest by_channel = pp_inbox;
  by_channel.add_channels(v1::CHANNEL_SMS);
  EXPECT_THAT(Ids(ListAll(pp_op_, by_channel, 1).complaints()), ElementsAre(a, c));
  v1::ListComplaintsRequest by_unit;
  by_unit.set_agency_id(kPp);
  by_unit.set_unit_id(kPpUnit);
  by_unit.add_states(v1::STATE_RECEIVED);
  EXPECT_THAT(Ids(ListAll(pp_op_, by_unit).complaints()), ElementsAre(b));
  v1::ListComplaintsRequest after_b = pp_inbox;
  *after_b.mutable_filed_after() = Get(pp_op_, b).file_time();
  EXPECT_THAT(Ids(ListAll(pp_op_, after_b, 1).complaints()), ElementsAre(b, c));
  v1::ListComplaintsRequest before_b = pp_inbox;
  *before_b.mutable_filed_before() = Get(pp_op_, b).file_time();
  EXPECT_THAT(Ids(ListAll(pp_op_, before_b, 1).complaints()), ElementsAre(a));
  v1::ListComplaintsRequest bogor_inbox;
  bogor_inbox.set_agency_id(kBogor);
  EXPECT_THAT(Ids(ListAll(bogor_op_, bogor_inbox, 1).complaints()), ElementsAre(d, e));
  v1::ListComplaintsRequest other_agency;
  other_agency.set_agency_id(kBogor);
  v1::ListComplaintsResponse denied;
  EXPECT_EQ(Call(&Stub::ListComplaints, pp_op_, other_agency, &denied).error_code(),
            StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(CoordinatorIds(), ElementsAre(a, b, c, d, e));
  v1::ListComplaintsRequest coord_paged;
  EXPECT_THAT(Ids(ListAll(coordinator_, coord_paged, 2).complaints()), ElementsAre(a, b, c, d, e));
  v1::ListComplaintsRequest overdue;
  overdue.set_overdue_only(true);
  EXPECT_THAT(Ids(ListAll(coordinator_, overdue).complaints()), IsEmpty());
  // The public sees verified PUBLIC and ANONYMOUS cases only, in the public view.
  v1::ListComplaintsResponse public_list = ListAll(public_, v1::ListComplaintsRequest(), 1);
  EXPECT_THAT(public_list.complaints(), IsEmpty());
  EXPECT_THAT(Ids(public_list.public_complaints()), ElementsAre(a, d));
  ASSERT_GE(public_list.public_complaints_size(), 1);
  EXPECT_EQ(public_list.public_complaints(0).complainant_name(), "Yusuf Publik");

  // History: every step with its states and actors, oldest first.
  std::vector<v1::HistoryEntry> history = History(pp_op_, a);
  const std::vector<simpul::testing::HistoryStep> want = simpul::testing::ReopenedCaseHistory();

  ASSERT_EQ(history.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE(absl::StrCat("history entry ", i + 1, " ", history[i].action()));
    EXPECT_EQ(history[i].sequence(), static_cast<int>(i + 1));
    EXPECT_EQ(history[i].action(), want[i].action);
    EXPECT_EQ(history[i].from_state(), want[i].from);
    EXPECT_EQ(history[i].to_state(), want[i].to);
    EXPECT_EQ(history[i].actor_kind(), want[i].actor);
    if (i > 0) {
      EXPECT_GE(Millis(history[i].time()), Millis(history[i - 1].time()));
    }
  }
  EXPECT_EQ(history[0].actor(), "sms-gateway");
  EXPECT_EQ(history[1].actor(), "operator@pp");
  EXPECT_EQ(history[1].actor_agency_id(), kPp);
  EXPECT_EQ(history[4].message(), "Berkas sedang diproses, selesai Senin");
  EXPECT_EQ(history[5].actor(), "complainant");
  EXPECT_EQ(history[5].message(), "Sudah Senin tapi belum selesai");
  EXPECT_EQ(history[6].actor(), "admin@pp");
  EXPECT_EQ(history[8].rating(), 4);
  EXPECT_EQ(history[9].reason(), "Akta yang diterbitkan salah nama ibu");
  // The complainant's view has the same steps without internal actor names.
  v1::TrackComplaintResponse a_tracked = Track(a, a_secret);
  ASSERT_EQ(a_tracked.history_size(), static_cast<int>(want.size()));
  for (const auto& entry : a_tracked.history()) {
    EXPECT_TRUE(entry.actor().empty()) << entry.action() << " shows actor " << entry.actor();
  }
  std::vector<v1::HistoryEntry> d_history = History(bogor_admin_, d);
  std::vector<std::string> d_actions;
  for (const auto& h : d_history) d_actions.push_back(h.action());
  EXPECT_THAT(d_actions, ElementsAre("FileComplaint", "VerifyComplaint", "ForwardComplaint",
                                     "DisposeComplaint", "EscalateComplaint", "ResumeComplaint"));
  ASSERT_EQ(d_history.size(), 6u);
  EXPECT_EQ(d_history[2].to_agency_id(), kBogor);
  EXPECT_EQ(d_history[2].actor_agency_id(), kPp);
  EXPECT_EQ(d_history[5].actor_kind(), v1::ACTOR_KIND_COORDINATOR);
  std::vector<v1::HistoryEntry> e_history = History(coordinator_, e);
  ASSERT_EQ(e_history.size(), 2u);
  EXPECT_EQ(e_history[1].action(), "RouteComplaint");
  EXPECT_EQ(e_history[1].actor_kind(), v1::ACTOR_KIND_COORDINATOR);
  EXPECT_EQ(e_history[1].to_agency_id(), kBogor);

  // Every committed step is on the event stream, in order, once.
  std::map<std::string, std::vector<int>> sequences;
  std::string forward_previous;
  for (const auto& ev : ReadEvents()) {
    sequences[ev.event.complaint_id()].push_back(ev.event.sequence());
    EXPECT_EQ(ev.event.event_id(), absl::StrCat(ev.event.complaint_id(), "/", ev.event.sequence()));
    EXPECT_EQ(ev.event.payload_version(), 1);
    if (ev.event.action() == "ForwardComplaint") forward_previous = ev.event.previous_agency_id();
  }
  EXPECT_EQ(forward_previous, kPp);
  for (const std::string& id : {a, b, c, d, e}) {
    v1::GetComplaintHistoryRequest req;
    req.set_id(id);
    v1::GetComplaintHistoryResponse h;
    grpc::Status s = Call(&Stub::GetComplaintHistory, coordinator_, req, &h);
    ASSERT_TRUE(s.ok()) << s.error_message();
    std::vector<int> want_seq;
    for (int i = 1; i <= h.entries_size(); ++i) want_seq.push_back(i);
    EXPECT_THAT(sequences[id], ElementsAreArray(want_seq)) << id;
  }

  // The event feed: the coordinator reads the oldest retained event, the first filing.
  {
    auto ctx = simpul::testing::CallContext(coordinator_, absl::Seconds(10));
    v1::WatchComplaintEventsRequest req;
    req.set_cursor("0");
    auto reader = stub_->WatchComplaintEvents(ctx.get(), req);
    v1::WatchComplaintEventsResponse first;
    ASSERT_TRUE(reader->Read(&first));
    EXPECT_EQ(first.event().action(), "FileComplaint");
    EXPECT_FALSE(first.cursor().empty());
    ctx->TryCancel();
    (void)reader->Finish();
    Record(coordinator_.tag, v1::WatchComplaintEventsRequest::descriptor()->name(),
           grpc::Status::OK, first);
  }

  // Attachments: the filing channel uploads a photo, the agency lists, reads, publishes and
  // redacts it.
  {
    v1::FileComplaintRequest f_req =
        FileReq("sms-msg-attach1", v1::CHANNEL_SMS, kPpService, "Foto loket yang tutup");
    f_req.mutable_complainant()->set_name("Yusuf Publik");
    f_req.set_confidentiality(v1::CONFIDENTIALITY_PUBLIC);
    const std::string f = File(sms_, f_req).tracking_code();
    v1::UploadAttachmentRequest up;
    up.set_id(f);
    up.set_content(std::string("\xFF\xD8\xFF\xE0", 4) + "photo");
    const v1::Attachment photo = Must(&Stub::UploadAttachment, sms_, up).attachment();
    EXPECT_EQ(photo.media_type(), "image/jpeg");
    v1::ListAttachmentsRequest list;
    list.set_id(f);
    EXPECT_EQ(Must(&Stub::ListAttachments, pp_op_, list).attachments_size(), 1);
    v1::GetAttachmentRequest get;
    get.set_id(f);
    get.set_attachment_id(photo.id());
    EXPECT_EQ(Must(&Stub::GetAttachment, pp_op_, get).content(), up.content());
    v1::PublishAttachmentRequest publish;
    publish.set_id(f);
    publish.set_attachment_id(photo.id());
    publish.set_published(true);
    EXPECT_TRUE(Must(&Stub::PublishAttachment, pp_admin_, publish).attachment().published());
    v1::RedactAttachmentRequest redact;
    redact.set_id(f);
    redact.set_attachment_id(photo.id());
    redact.set_reason("wajah petugas terlihat");
    EXPECT_TRUE(Must(&Stub::RedactAttachment, pp_admin_, redact).attachment().redacted());
  }

  // Every RPC of the service succeeded at least once.
  const auto* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(kComplaintsService);
  ASSERT_NE(service, nullptr);
  std::set<std::string> succeeded;
  for (const auto& r : RecordedCopy()) {
    if (r.ok) succeeded.insert(r.method);
  }
  for (int i = 0; i < service->method_count(); ++i) {
    EXPECT_THAT(succeeded, Contains(service->method(i)->input_type()->name()))
        << service->method(i)->name() << " was never called successfully";
  }
  EXPECT_EQ(service->method_count(), 25);
  RecordProperty("runtime_ms", static_cast<int>((absl::Now() - start) / absl::Milliseconds(1)));
}

// ---------------------------------------------------------------------------------------
// 2. Errors over the wire

TEST_F(ComplaintsE2ETest, ErrorsOverTheWire) {
  v1::FileComplaintResponse filed = File(
      sms_, FileReq("sms-msg-err-001", v1::CHANNEL_SMS, kPpService, "Antrean terlalu panjang"));
  const std::string id = filed.tracking_code();
  ASSERT_FALSE(id.empty());
  const v1::Complaint before = Get(pp_op_, id);
  const size_t history_before = History(pp_op_, id).size();
  const size_t events_before = ReadEvents().size();
  ASSERT_EQ(history_before, 1u);

  auto expect_fields = [](const grpc::Status& s, StatusCode code, const std::string& field) {
    EXPECT_EQ(s.error_code(), code) << s.error_message();
    EXPECT_THAT(simpul::testing::FieldViolations(s), Contains(field)) << s.error_message();
  };

  // Bad filings: each names its field and files nothing.
  v1::FileComplaintResponse file_resp;
  v1::FileComplaintRequest empty = FileReq("sms-msg-err-002", v1::CHANNEL_SMS, kPpService, "");
  expect_fields(Call(&Stub::FileComplaint, sms_, empty, &file_resp), StatusCode::INVALID_ARGUMENT,
                "description");
  v1::FileComplaintRequest channel99 =
      FileReq("sms-msg-err-003", static_cast<v1::Channel>(99), kPpService, "Antrean");
  expect_fields(Call(&Stub::FileComplaint, sms_, channel99, &file_resp),
                StatusCode::INVALID_ARGUMENT, "channel");
  v1::FileComplaintRequest report99 =
      FileReq("sms-msg-err-004", v1::CHANNEL_SMS, kPpService, "Antrean");
  report99.set_report_type(static_cast<v1::ReportType>(99));
  expect_fields(Call(&Stub::FileComplaint, sms_, report99, &file_resp),
                StatusCode::INVALID_ARGUMENT, "report_type");
  v1::FileComplaintRequest unknown_service =
      FileReq("sms-msg-err-005", v1::CHANNEL_SMS, "layanan-tidak-ada", "Antrean");
  expect_fields(Call(&Stub::FileComplaint, sms_, unknown_service, &file_resp),
                StatusCode::INVALID_ARGUMENT, "service_id");
  v1::FileComplaintRequest no_target = FileReq("sms-msg-err-006", v1::CHANNEL_SMS, "", "Antrean");
  expect_fields(Call(&Stub::FileComplaint, sms_, no_target, &file_resp),
                StatusCode::INVALID_ARGUMENT, "service_id");
  v1::FileComplaintRequest bad_phone =
      FileReq("sms-msg-err-007", v1::CHANNEL_SMS, kPpService, "Antrean");
  bad_phone.mutable_complainant()->set_phone("call me maybe");
  expect_fields(Call(&Stub::FileComplaint, sms_, bad_phone, &file_resp),
                StatusCode::INVALID_ARGUMENT, "complainant.phone");
  v1::FileComplaintRequest short_key = FileReq("k", v1::CHANNEL_SMS, kPpService, "Antrean");
  expect_fields(Call(&Stub::FileComplaint, sms_, short_key, &file_resp),
                StatusCode::INVALID_ARGUMENT, "idempotency_key");
  // A complaint is filed within 30 days of the service.
  v1::FileComplaintRequest late =
      FileReq("sms-msg-err-010", v1::CHANNEL_SMS, kPpService, "Antrean");
  const absl::CivilDay long_ago =
      absl::ToCivilDay(absl::Now() - absl::Hours(24 * 40), absl::FixedTimeZone(7 * 3600));
  *late.mutable_service_date() = simpul::testing::MakeDate(static_cast<int>(long_ago.year()),
                                                           long_ago.month(), long_ago.day());
  expect_fields(Call(&Stub::FileComplaint, sms_, late, &file_resp), StatusCode::INVALID_ARGUMENT,
                "service_date");
  v1::FileComplaintRequest attachments =
      FileReq("sms-msg-err-011", v1::CHANNEL_SMS, kPpService, "Antrean");
  for (int i = 0; i < 11; ++i) {
    attachments.add_attachments()->set_uri(absl::StrCat("https://bukti.example.id/", i));
  }
  expect_fields(Call(&Stub::FileComplaint, sms_, attachments, &file_resp),
                StatusCode::INVALID_ARGUMENT, "attachments");
  // Several bad fields at once are all named.
  v1::FileComplaintRequest many = FileReq("sms-msg-err-008", static_cast<v1::Channel>(99), "", "");
  grpc::Status many_status = Call(&Stub::FileComplaint, sms_, many, &file_resp);
  EXPECT_EQ(many_status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(simpul::testing::FieldViolations(many_status),
              ::testing::IsSupersetOf({"channel", "description", "service_id"}));
  // The public files only through the web and the app.
  v1::FileComplaintRequest public_sms =
      FileReq("sms-msg-err-009", v1::CHANNEL_SMS, kPpService, "Antrean");
  EXPECT_EQ(Call(&Stub::FileComplaint, public_, public_sms, &file_resp).error_code(),
            StatusCode::PERMISSION_DENIED);
  // A token signed with another key is rejected, not downgraded to public.
  auto other_signer = simpul::testing::LocalIdentityKeys("simpul-complaints");
  common::v1::Principal forged;
  forged.set_role(common::v1::ROLE_PLATFORM_ADMIN);
  forged.set_subject("forger");
  Caller forger{"forger", simpul::testing::LocalToken(*other_signer, forged, "simpul-complaints")};
  v1::GetComplaintResponse get_resp;
  v1::GetComplaintRequest get_req;
  get_req.set_id(id);
  EXPECT_EQ(Call(&Stub::GetComplaint, forger, get_req, &get_resp).error_code(),
            StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(CoordinatorIds(), ElementsAre(id));

  // Illegal transition: FAILED_PRECONDITION naming the current state.
  v1::StartWorkRequest start;
  start.set_id(id);
  v1::StartWorkResponse start_resp;
  grpc::Status illegal = Call(&Stub::StartWork, pp_op_, start, &start_resp);
  EXPECT_EQ(illegal.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(illegal.error_message(), HasSubstr("RECEIVED"));
  v1::CompleteComplaintRequest complete;
  complete.set_id(id);
  v1::CompleteComplaintResponse complete_resp;
  grpc::Status illegal2 = Call(&Stub::CompleteComplaint, pp_op_, complete, &complete_resp);
  EXPECT_EQ(illegal2.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(illegal2.error_message(), HasSubstr("RECEIVED"));
  // The complainant rates a case that is not completed: the state is named too; a rating
  // of 6 is a bad field first.
  v1::RateComplaintRequest rate;
  rate.set_tracking_code(id);
  rate.set_secret(filed.secret());
  rate.set_rating(6);
  v1::RateComplaintResponse rate_resp;
  expect_fields(Call(&Stub::RateComplaint, complainant_, rate, &rate_resp),
                StatusCode::INVALID_ARGUMENT, "rating");
  rate.set_rating(5);
  grpc::Status early_rate = Call(&Stub::RateComplaint, complainant_, rate, &rate_resp);
  EXPECT_EQ(early_rate.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(early_rate.error_message(), HasSubstr("RECEIVED"));
  v1::ReplyToComplaintRequest empty_reply;
  empty_reply.set_tracking_code(id);
  empty_reply.set_secret(filed.secret());
  v1::ReplyToComplaintResponse reply_resp;
  expect_fields(Call(&Stub::ReplyToComplaint, complainant_, empty_reply, &reply_resp),
                StatusCode::INVALID_ARGUMENT, "message");

  // Wrong agency, no credentials, stale revision, unknown class.
  v1::VerifyComplaintRequest verify;
  verify.set_id(id);
  v1::VerifyComplaintResponse verify_resp;
  EXPECT_EQ(Call(&Stub::VerifyComplaint, bogor_admin_, verify, &verify_resp).error_code(),
            StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(TryGet(bogor_op_, id).error_code(), StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Call(&Stub::VerifyComplaint, public_, verify, &verify_resp).error_code(),
            StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Call(&Stub::VerifyComplaint, sms_, verify, &verify_resp).error_code(),
            StatusCode::PERMISSION_DENIED);
  v1::VerifyComplaintRequest stale = verify;
  stale.set_expected_revision(before.revision() + 5);
  EXPECT_EQ(Call(&Stub::VerifyComplaint, pp_op_, stale, &verify_resp).error_code(),
            StatusCode::ABORTED);
  // A stranger with a stale revision learns nothing about it: still PERMISSION_DENIED.
  EXPECT_EQ(Call(&Stub::VerifyComplaint, bogor_op_, stale, &verify_resp).error_code(),
            StatusCode::PERMISSION_DENIED);
  v1::VerifyComplaintRequest bad_class = verify;
  bad_class.set_resolution_class("berat");
  grpc::Status class_status = Call(&Stub::VerifyComplaint, pp_op_, bad_class, &verify_resp);
  expect_fields(class_status, StatusCode::INVALID_ARGUMENT, "resolution_class");
  EXPECT_THAT(
      class_status.error_message() + BadRequestOf(FromGrpcStatus(class_status)).DebugString(),
      HasSubstr("minor"));
  v1::VerifyComplaintRequest loosen = verify;
  loosen.set_confidentiality(v1::CONFIDENTIALITY_PUBLIC);  // filed without identity: ANONYMOUS
  expect_fields(Call(&Stub::VerifyComplaint, pp_op_, loosen, &verify_resp),
                StatusCode::INVALID_ARGUMENT, "confidentiality");
  v1::ForwardComplaintRequest forward;
  forward.set_id(id);
  forward.set_to_agency_id("kab-tidak-ada");
  forward.set_reason("Salah alamat");
  v1::ForwardComplaintResponse forward_resp;
  expect_fields(Call(&Stub::ForwardComplaint, pp_admin_, forward, &forward_resp),
                StatusCode::INVALID_ARGUMENT, "to_agency_id");
  v1::RouteComplaintRequest route;
  route.set_id(id);
  route.set_unit_id(kBogorUnit);
  v1::RouteComplaintResponse route_resp;
  EXPECT_EQ(Call(&Stub::RouteComplaint, pp_admin_, route, &route_resp).error_code(),
            StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Call(&Stub::RouteComplaint, coordinator_, route, &route_resp).error_code(),
            StatusCode::FAILED_PRECONDITION);  // already routed

  // Unknown and malformed tracking codes; a wrong secret looks exactly like an unknown code.
  EXPECT_EQ(TryGet(pp_op_, "00000-00000").error_code(), StatusCode::NOT_FOUND);
  grpc::Status malformed = TryGet(pp_op_, "not-a-code!");
  EXPECT_EQ(malformed.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(simpul::testing::FieldViolations(malformed), ElementsAre("id"));
  v1::TrackComplaintRequest track;
  track.set_tracking_code("00000-00000");
  track.set_secret(filed.secret());
  v1::TrackComplaintResponse track_resp;
  grpc::Status unknown_code = Call(&Stub::TrackComplaint, complainant_, track, &track_resp);
  EXPECT_EQ(unknown_code.error_code(), StatusCode::NOT_FOUND);
  track.set_tracking_code(id);
  track.set_secret("AAAA-BBBB-CCCC-DDDD");
  grpc::Status wrong_secret = Call(&Stub::TrackComplaint, complainant_, track, &track_resp);
  EXPECT_EQ(wrong_secret.error_code(), StatusCode::NOT_FOUND);
  EXPECT_FALSE(track_resp.has_complaint());
  v1::ReplyToComplaintRequest wrong_reply;
  wrong_reply.set_tracking_code(id);
  wrong_reply.set_secret("AAAA-BBBB-CCCC-DDDD");
  wrong_reply.set_message("Halo");
  EXPECT_EQ(Call(&Stub::ReplyToComplaint, complainant_, wrong_reply, &reply_resp).error_code(),
            StatusCode::NOT_FOUND);

  // A page token belongs to its query.
  for (int i = 0; i < 2; ++i) {
    File(sms_, FileReq(absl::StrCat("sms-msg-err-page-", i), v1::CHANNEL_SMS, kPpService,
                       "Antrean lagi"));
  }
  v1::ListComplaintsRequest paged;
  paged.set_agency_id(kPp);
  paged.mutable_page()->set_page_size(1);
  v1::ListComplaintsResponse first_page = Must(&Stub::ListComplaints, pp_op_, paged);
  ASSERT_FALSE(first_page.next_page_token().empty());
  v1::ListComplaintsRequest other_query = paged;
  other_query.add_states(v1::STATE_RECEIVED);
  other_query.mutable_page()->set_page_token(first_page.next_page_token());
  v1::ListComplaintsResponse page_resp;
  expect_fields(Call(&Stub::ListComplaints, pp_op_, other_query, &page_resp),
                StatusCode::INVALID_ARGUMENT, "page.page_token");
  v1::ListComplaintsRequest garbage = paged;
  garbage.mutable_page()->set_page_token("not-a-token");
  expect_fields(Call(&Stub::ListComplaints, pp_op_, garbage, &page_resp),
                StatusCode::INVALID_ARGUMENT, "page.page_token");
  v1::ListComplaintsRequest too_big = paged;
  too_big.mutable_page()->set_page_size(501);
  expect_fields(Call(&Stub::ListComplaints, pp_op_, too_big, &page_resp),
                StatusCode::INVALID_ARGUMENT, "page.page_size");

  // Nothing changed: revision, history and event stream as before.
  const v1::Complaint after = Get(pp_op_, id);
  EXPECT_EQ(after.revision(), before.revision());
  EXPECT_EQ(after.state(), v1::STATE_RECEIVED);
  EXPECT_EQ(History(pp_op_, id).size(), history_before);
  EXPECT_EQ(ReadEvents().size(), events_before + 2);  // the two filings for the page test
  EXPECT_EQ(CoordinatorIds().size(), 3u);
}

// ---------------------------------------------------------------------------------------
// 3. Idempotency over the wire

TEST_F(ComplaintsE2ETest, Idempotency) {
  v1::FileComplaintRequest req =
      FileReq("sms-1708-msg-778899", v1::CHANNEL_SMS, kPpService, "Loket tutup jam 11");
  v1::FileComplaintResponse first = File(sms_, req);
  v1::FileComplaintResponse again = File(sms_, req);
  ASSERT_FALSE(first.tracking_code().empty());
  EXPECT_FALSE(first.replayed());
  EXPECT_TRUE(again.replayed());
  EXPECT_EQ(again.tracking_code(), first.tracking_code());
  EXPECT_EQ(again.secret(), first.secret());
  // The same key with a different complaint is refused, naming the key.
  v1::FileComplaintRequest changed = req;
  changed.set_description("Sesuatu yang lain sama sekali");
  v1::FileComplaintResponse resp;
  grpc::Status reused = Call(&Stub::FileComplaint, sms_, changed, &resp);
  EXPECT_EQ(reused.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(simpul::testing::FieldViolations(reused), ElementsAre("idempotency_key"));
  // Keys are per channel: the e-mail gateway's key of the same spelling is another filing.
  v1::FileComplaintRequest other_channel = req;
  other_channel.set_channel(v1::CHANNEL_EMAIL);
  v1::FileComplaintResponse other = File(email_, other_channel);
  EXPECT_FALSE(other.replayed());
  EXPECT_NE(other.tracking_code(), first.tracking_code());

  // 16 concurrent filings with one key: one complaint, everyone gets its code.
  v1::FileComplaintRequest burst =
      FileReq("sms-1708-msg-burst-01", v1::CHANNEL_SMS, kPpService, "Pungutan liar di loket");
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  std::vector<grpc::Status> statuses(16);
  std::vector<v1::FileComplaintResponse> responses(16);
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&, i] {
      while (!go.load()) std::this_thread::yield();
      statuses[i] = Call(&Stub::FileComplaint, sms_, burst, &responses[i]);
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  std::set<std::string> codes;
  int fresh = 0;
  for (int i = 0; i < 16; ++i) {
    ASSERT_TRUE(statuses[i].ok()) << i << ": " << statuses[i].error_message();
    codes.insert(responses[i].tracking_code());
    fresh += !responses[i].replayed();
  }
  EXPECT_EQ(codes.size(), 1u);
  EXPECT_EQ(fresh, 1);
  const std::string burst_code = *codes.begin();

  // Exactly three complaints exist, with one filing event each.
  EXPECT_THAT(CoordinatorIds(), UnorderedElementsAreArray(
                                    {first.tracking_code(), other.tracking_code(), burst_code}));
  int filings = 0;
  for (const auto& ev : ReadEvents()) filings += ev.event.action() == "FileComplaint";
  EXPECT_EQ(filings, 3);
  EXPECT_EQ(Get(pp_op_, burst_code).revision(), 1);
}

// ---------------------------------------------------------------------------------------
// 4. Two (eight) handlers racing on one case

TEST_F(ComplaintsE2ETest, RaceOfTwoHandlers) {
  v1::FileComplaintResponse filed = File(
      sms_, FileReq("sms-msg-race-01", v1::CHANNEL_SMS, kPpService, "Formulir habis di loket"));
  const std::string id = filed.tracking_code();
  Verify(pp_op_, id);
  Dispose(pp_op_, id);
  const v1::Complaint started = StartWork(pp_op_, id);
  ASSERT_EQ(started.state(), v1::STATE_IN_PROGRESS);
  ASSERT_FALSE(HasFailure());

  auto race = [&](int64_t expected_revision, int* ok, int* aborted, int* other) {
    std::atomic<bool> go{false};
    std::atomic<int> n_ok{0}, n_aborted{0}, n_other{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i) {
      threads.emplace_back([&, i] {
        v1::PostFollowUpRequest req;
        req.set_id(id);
        req.set_expected_revision(expected_revision);
        req.set_message(absl::StrCat("Tindak lanjut petugas ", i));
        v1::PostFollowUpResponse resp;
        while (!go.load()) std::this_thread::yield();
        grpc::Status s = Call(&Stub::PostFollowUp, i % 2 ? pp_op_ : pp_admin_, req, &resp);
        if (s.ok()) {
          ++n_ok;
        } else if (s.error_code() == StatusCode::ABORTED) {
          ++n_aborted;
        } else {
          ++n_other;
          ADD_FAILURE() << s.error_code() << " " << s.error_message();
        }
      });
    }
    go = true;
    for (auto& t : threads) t.join();
    *ok = n_ok;
    *aborted = n_aborted;
    *other = n_other;
  };

  // Without expected_revision every call applies to the current state: no lost update.
  int ok = 0, aborted = 0, other = 0;
  race(0, &ok, &aborted, &other);
  EXPECT_GE(ok, 1);
  EXPECT_EQ(other, 0);
  v1::Complaint after = Get(pp_op_, id);
  EXPECT_EQ(after.follow_up_count(), ok);
  EXPECT_EQ(after.revision(), started.revision() + ok);
  int follow_ups = 0;
  for (const auto& h : History(pp_op_, id)) follow_ups += h.action() == "PostFollowUp";
  EXPECT_EQ(follow_ups, ok);
  RecordProperty("unconditional_ok", ok);

  // With expected_revision exactly one wins; the others are ABORTED and change nothing.
  int ok2 = 0, aborted2 = 0, other2 = 0;
  race(after.revision(), &ok2, &aborted2, &other2);
  EXPECT_EQ(ok2, 1);
  EXPECT_EQ(aborted2, 7);
  EXPECT_EQ(other2, 0);
  v1::Complaint final_state = Get(pp_op_, id);
  EXPECT_EQ(final_state.follow_up_count(), ok + 1);
  EXPECT_EQ(final_state.revision(), after.revision() + 1);
  int events = 0;
  for (const auto& ev : ReadEvents()) events += ev.event.complaint_id() == id;
  EXPECT_EQ(events, final_state.revision());
}

// ---------------------------------------------------------------------------------------
// 5. Confidentiality: identities never leak through responses, events, logs or Redis.

struct PlantedIdentity {
  std::string label;
  v1::Complainant complainant;
  // Forms to search for: the name, and the contact details (phone as given, its digit-only
  // forms, e-mail, address).
  std::vector<std::string> name_forms;
  std::vector<std::string> contact_forms;
};

PlantedIdentity Plant(const std::string& label, const std::string& name, const std::string& phone,
                      const std::string& email, const std::string& address) {
  PlantedIdentity p;
  p.label = label;
  p.complainant.set_name(name);
  p.complainant.set_phone(phone);
  p.complainant.set_email(email);
  p.complainant.set_address(address);
  p.name_forms = {name};
  std::string digits;
  for (char c : phone) {
    if (std::isdigit(static_cast<unsigned char>(c))) digits.push_back(c);
  }
  p.contact_forms = {phone, digits, email, address};
  if (absl::StartsWith(digits, "62")) {
    p.contact_forms.push_back(digits.substr(2));        // 81298765432
    p.contact_forms.push_back("0" + digits.substr(2));  // 081298765432
  }
  return p;
}

std::vector<std::string> AllForms(const PlantedIdentity& p) {
  std::vector<std::string> all = p.name_forms;
  all.insert(all.end(), p.contact_forms.begin(), p.contact_forms.end());
  return all;
}

// FoundIn returns those of `forms` that occur in `text`.
std::vector<std::string> FoundIn(const std::vector<std::string>& forms, const std::string& text) {
  std::vector<std::string> found;
  for (const auto& f : forms) {
    if (absl::StrContains(text, f)) found.push_back(f);
  }
  return found;
}

// KeysContaining returns the keys of a DumpKeyspace blob whose name or value holds one of
// `forms`.
std::set<std::string> KeysContaining(const std::string& keyspace,
                                     const std::vector<std::string>& forms) {
  std::set<std::string> keys;
  std::istringstream lines(keyspace);
  std::string line, key;
  while (std::getline(lines, line)) {
    if (absl::StartsWith(line, "KEY ")) key = line.substr(4);
    if (!FoundIn(forms, line).empty()) keys.insert(key);
  }
  return keys;
}

TEST_F(ComplaintsE2ETest, ConfidentialityScan) {
  const PlantedIdentity anon = Plant("ANONYMOUS", "Siti Planted Rahmawati", "+62 812 9876 5432",
                                     "siti.planted@example.id", "Jl. Planted Anonim No. 7");
  const PlantedIdentity secret = Plant("SECRET", "Bambang Hidden Sutrisno", "+62 811 2233 4455",
                                       "bambang.hidden@example.id", "Jl. Rahasia Tersembunyi 12");
  const PlantedIdentity open = Plant("PUBLIC", "Dewi Open Lestari", "+62 813 5566 7788",
                                     "dewi.open@example.id", "Jl. Terbuka Lestari 3");
  const PlantedIdentity fwd =
      Plant("SECRET-FORWARDED", "Agus Forwarded Wibowo", "+62 815 1122 3344", "agus.fwd@example.id",
            "Jl. Diteruskan Wibowo 9");
  const PlantedIdentity tight =
      Plant("SECRET-TIGHTENED", "Rina Tightened Kusuma", "+62 817 9988 7766",
            "rina.tight@example.id", "Jl. Diperketat Kusuma 5");
  const PlantedIdentity ptight =
      Plant("PUBLIC-TIGHTENED", "Hendra Unveiled Saputra", "+62 818 4455 6677",
            "hendra.unveiled@example.id", "Jl. Terbuka Lalu Tertutup 8");
  const std::vector<const PlantedIdentity*> everyone = {&anon, &secret, &open,
                                                        &fwd,  &tight,  &ptight};

  auto file = [&](const Caller& who, const std::string& key, v1::Channel channel,
                  const PlantedIdentity& p, v1::Confidentiality conf) {
    v1::FileComplaintRequest req =
        FileReq(key, channel, kPpService, "Petugas loket bersikap kasar dan meminta uang");
    *req.mutable_complainant() = p.complainant;
    req.set_confidentiality(conf);
    return File(who, req);
  };
  // A full lifecycle in Padang Pariaman, read by everyone at every step.
  auto read_all = [&](const std::string& id, const std::string& code, const std::string& s) {
    Track(code, s);
    v1::Complaint ignored;
    TryGet(pp_admin_, id, &ignored);
    TryGet(pp_op_, id, &ignored);
    TryGet(coordinator_, id, &ignored);
    TryGet(bogor_admin_, id, &ignored);
    TryGet(sms_, id, &ignored);
    TryGet(public_, id, &ignored);
    v1::GetComplaintHistoryRequest h;
    h.set_id(id);
    v1::GetComplaintHistoryResponse hr;
    for (const Caller* who : {&pp_op_, &coordinator_, &bogor_op_}) {
      Call(&Stub::GetComplaintHistory, *who, h, &hr);
    }
  };
  auto lifecycle = [&](const std::string& id, const std::string& s) {
    read_all(id, id, s);
    Verify(pp_op_, id, "normative");
    read_all(id, LowerNoDash(id), s);
    Dispose(pp_op_, id);
    StartWork(pp_op_, id);
    FollowUp(pp_op_, id, "Petugas sudah ditegur oleh kepala bidang");
    read_all(id, id, s);
    Reply(id, s, "Terima kasih, tapi uang belum dikembalikan");
    FollowUp(pp_admin_, id, "Uang sudah dikembalikan");
    Complete(pp_admin_, id);
    Rate(id, s, 5);
    read_all(id, id, s);
  };

  // ANONYMOUS through SMS (the channel knows the phone), SECRET by the public on the web,
  // PUBLIC through the e-mail gateway.
  v1::FileComplaintResponse anon_filed =
      file(sms_, "sms-conf-anon-01", v1::CHANNEL_SMS, anon, v1::CONFIDENTIALITY_ANONYMOUS);
  v1::FileComplaintResponse secret_filed =
      file(public_, "web-conf-secret-01", v1::CHANNEL_WEB, secret, v1::CONFIDENTIALITY_SECRET);
  v1::FileComplaintResponse open_filed =
      file(email_, "mail-conf-public-01", v1::CHANNEL_EMAIL, open, v1::CONFIDENTIALITY_PUBLIC);
  // Unspecified confidentiality with contact details: SECRET by default. Forwarded later.
  v1::FileComplaintResponse fwd_filed =
      file(partner_, "partner-conf-fwd-01", v1::CHANNEL_PARTNER_SYSTEM, fwd,
           v1::CONFIDENTIALITY_UNSPECIFIED);
  // SECRET by the complainant, tightened to ANONYMOUS by the verifier.
  v1::FileComplaintResponse tight_filed =
      file(public_, "app-conf-tight-01", v1::CHANNEL_MOBILE_APP, tight, v1::CONFIDENTIALITY_SECRET);
  // PUBLIC by the complainant, tightened to ANONYMOUS by the verifier.
  v1::FileComplaintResponse ptight_filed =
      file(email_, "mail-conf-ptight-01", v1::CHANNEL_EMAIL, ptight, v1::CONFIDENTIALITY_PUBLIC);
  // A channel retrying the ANONYMOUS filing gets the stored response again.
  v1::FileComplaintRequest anon_retry = FileReq("sms-conf-anon-01", v1::CHANNEL_SMS, kPpService,
                                                "Petugas loket bersikap kasar dan meminta uang");
  *anon_retry.mutable_complainant() = anon.complainant;
  anon_retry.set_confidentiality(v1::CONFIDENTIALITY_ANONYMOUS);
  EXPECT_TRUE(File(sms_, anon_retry).replayed());
  // Bad identity fields are rejected without echoing what was typed.
  v1::FileComplaintRequest bad_email =
      FileReq("sms-conf-bad-01", v1::CHANNEL_SMS, kPpService, "Petugas loket bersikap kasar");
  bad_email.mutable_complainant()->set_name(anon.complainant.name());
  bad_email.mutable_complainant()->set_email(anon.complainant.phone());
  bad_email.mutable_complainant()->set_phone(anon.complainant.name());
  bad_email.set_confidentiality(v1::CONFIDENTIALITY_ANONYMOUS);
  v1::FileComplaintResponse bad_resp;
  EXPECT_EQ(Call(&Stub::FileComplaint, sms_, bad_email, &bad_resp).error_code(),
            StatusCode::INVALID_ARGUMENT);
  ASSERT_FALSE(HasFailure());

  const std::string anon_id = anon_filed.tracking_code();
  const std::string secret_id = secret_filed.tracking_code();
  const std::string open_id = open_filed.tracking_code();
  const std::string fwd_id = fwd_filed.tracking_code();
  const std::string tight_id = tight_filed.tracking_code();
  const std::string ptight_id = ptight_filed.tracking_code();
  EXPECT_EQ(Get(pp_op_, anon_id).confidentiality(), v1::CONFIDENTIALITY_ANONYMOUS);
  EXPECT_EQ(Get(pp_op_, fwd_id).confidentiality(), v1::CONFIDENTIALITY_SECRET);

  lifecycle(anon_id, anon_filed.secret());
  lifecycle(secret_id, secret_filed.secret());
  lifecycle(open_id, open_filed.secret());
  // The PUBLIC case is reopened: one more round of reads while it is IN_PROGRESS.
  Reopen(open_id, open_filed.secret());
  read_all(open_id, open_id, open_filed.secret());

  // The forwarded case: Padang Pariaman sees the identity until it forwards the case.
  read_all(fwd_id, fwd_id, fwd_filed.secret());
  Verify(pp_op_, fwd_id, "minor");
  read_all(fwd_id, fwd_id, fwd_filed.secret());
  const size_t forwarded_at = RecordedCount();
  Forward(pp_admin_, fwd_id, kBogor, kBogorUnit);
  read_all(fwd_id, fwd_id, fwd_filed.secret());
  TryGet(bogor_op_, fwd_id);
  Dispose(bogor_op_, fwd_id);
  StartWork(bogor_op_, fwd_id);
  FollowUp(bogor_admin_, fwd_id, "Sudah ditindaklanjuti oleh DPMPTSP");
  Complete(bogor_admin_, fwd_id);
  read_all(fwd_id, fwd_id, fwd_filed.secret());

  // The tightened case: the identity is gone from the moment of verification.
  read_all(tight_id, tight_id, tight_filed.secret());
  const size_t tightened_at = RecordedCount();
  v1::Complaint tightened = Verify(pp_op_, tight_id, "", v1::CONFIDENTIALITY_ANONYMOUS);
  EXPECT_EQ(tightened.confidentiality(), v1::CONFIDENTIALITY_ANONYMOUS);
  read_all(tight_id, tight_id, tight_filed.secret());
  Dispose(pp_op_, tight_id);
  read_all(ptight_id, ptight_id, ptight_filed.secret());
  const size_t ptightened_at = RecordedCount();
  EXPECT_EQ(Verify(pp_op_, ptight_id, "", v1::CONFIDENTIALITY_ANONYMOUS).confidentiality(),
            v1::CONFIDENTIALITY_ANONYMOUS);
  read_all(ptight_id, ptight_id, ptight_filed.secret());
  Dispose(pp_op_, ptight_id);

  // Listings by everyone, in pages of 2 and in one page.
  for (int size : {2, 500}) {
    v1::ListComplaintsRequest pp_inbox;
    pp_inbox.set_agency_id(kPp);
    ListAll(pp_admin_, pp_inbox, size);
    ListAll(pp_op_, pp_inbox, size);
    v1::ListComplaintsRequest bogor_inbox;
    bogor_inbox.set_agency_id(kBogor);
    ListAll(bogor_admin_, bogor_inbox, size);
    ListAll(coordinator_, v1::ListComplaintsRequest(), size);
    ListAll(coordinator_, pp_inbox, size);
    ListAll(public_, v1::ListComplaintsRequest(), size);
  }
  v1::ListComplaintsResponse public_list = ListAll(public_, v1::ListComplaintsRequest(), 500);
  ASSERT_FALSE(HasFailure());

  // Non-vacuity: the identities are there for those who may see them.
  v1::Complaint secret_for_handler = Get(pp_op_, secret_id);
  EXPECT_EQ(secret_for_handler.complainant().name(), secret.complainant.name());
  EXPECT_EQ(secret_for_handler.complainant().phone(), secret.complainant.phone());
  v1::Complaint secret_for_coordinator = Get(coordinator_, secret_id);
  EXPECT_FALSE(secret_for_coordinator.has_complainant());
  EXPECT_TRUE(secret_for_coordinator.identity_withheld());
  v1::Complaint open_for_coordinator = Get(coordinator_, open_id);
  EXPECT_EQ(open_for_coordinator.complainant().phone(), open.complainant.phone());
  EXPECT_EQ(Get(bogor_op_, fwd_id).complainant().name(), fwd.complainant.name());
  v1::Complaint fwd_for_coordinator = Get(coordinator_, fwd_id);
  EXPECT_TRUE(fwd_for_coordinator.identity_withheld());
  v1::Complaint anon_for_handler = Get(pp_op_, anon_id);
  EXPECT_FALSE(anon_for_handler.has_complainant());
  EXPECT_FALSE(anon_for_handler.identity_withheld());  // nothing is kept to withhold
  EXPECT_FALSE(Get(pp_op_, tight_id).has_complainant());
  std::vector<std::string> public_ids = Ids(public_list.public_complaints());
  EXPECT_THAT(public_ids, Contains(open_id));
  EXPECT_THAT(public_ids, Contains(anon_id));
  EXPECT_THAT(public_ids, Not(Contains(secret_id)));
  EXPECT_THAT(public_ids, Not(Contains(fwd_id)));
  for (const auto& pc : public_list.public_complaints()) {
    EXPECT_EQ(pc.complainant_name(), pc.id() == open_id ? open.complainant.name() : "") << pc.id();
  }
  v1::TrackComplaintResponse open_tracked = Track(open_id, open_filed.secret());
  EXPECT_EQ(open_tracked.complaint().complainant_name(), open.complainant.name());

  // The scan of every response received in this test.
  const std::set<std::string> pp_tags = {"pp_admin", "pp_op"};
  const std::set<std::string> bogor_tags = {"bogor_admin", "bogor_op"};
  struct Rule {
    const PlantedIdentity* who;
    std::string case_id;
    // May `r` show the name / the contact details?
    std::function<bool(const Recorded&)> name_ok, contact_ok;
  };
  auto none = [](const Recorded&) { return false; };
  auto any = [](const Recorded&) { return true; };
  auto pp_only = [&](const Recorded& r) { return pp_tags.count(r.tag) > 0; };
  const std::vector<Rule> rules = {
      {&anon, anon_id, none, none},
      {&secret, secret_id, pp_only, pp_only},
      {&open, open_id, any,
       [&](const Recorded& r) { return pp_only(r) || r.tag == "coordinator"; }},
      {&fwd, fwd_id,
       [&](const Recorded& r) {
         return bogor_tags.count(r.tag) > 0 || (pp_only(r) && r.index < forwarded_at);
       },
       [&](const Recorded& r) {
         return bogor_tags.count(r.tag) > 0 || (pp_only(r) && r.index < forwarded_at);
       }},
      {&tight, tight_id, [&](const Recorded& r) { return pp_only(r) && r.index < tightened_at; },
       [&](const Recorded& r) { return pp_only(r) && r.index < tightened_at; }},
      {&ptight, ptight_id, [&](const Recorded& r) { return r.index < ptightened_at; },
       [&](const Recorded& r) {
         return (pp_only(r) || r.tag == "coordinator") && r.index < ptightened_at;
       }},
  };
  const std::vector<Recorded> recorded = RecordedCopy();
  std::map<std::string, std::set<std::string>> seen_by;  // label -> tags that saw the name
  int leaks = 0;
  for (const Recorded& r : recorded) {
    for (const Rule& rule : rules) {
      for (const std::string& f : FoundIn(rule.who->name_forms, r.text)) {
        seen_by[rule.who->label].insert(r.tag);
        if (!rule.name_ok(r) && ++leaks <= 20) {
          ADD_FAILURE() << rule.who->label << " name \"" << f << "\" leaked to " << r.tag
                        << " in response #" << r.index << " to " << r.method;
        }
      }
      for (const std::string& f : FoundIn(rule.who->contact_forms, r.text)) {
        if (!rule.contact_ok(r) && ++leaks <= 20) {
          ADD_FAILURE() << rule.who->label << " contact \"" << f << "\" leaked to " << r.tag
                        << " in response #" << r.index << " to " << r.method;
        }
      }
    }
  }
  EXPECT_EQ(leaks, 0);
  // The scan is not vacuous: allowed viewers did receive the identities.
  EXPECT_THAT(seen_by["SECRET"], ::testing::IsSupersetOf({"pp_admin", "pp_op"}));
  EXPECT_THAT(seen_by["PUBLIC"],
              ::testing::IsSupersetOf({"public", "complainant", "coordinator", "pp_op"}));
  EXPECT_THAT(seen_by["SECRET-FORWARDED"], ::testing::IsSupersetOf({"pp_op", "bogor_op"}));
  EXPECT_THAT(seen_by["SECRET-TIGHTENED"], Contains("pp_op"));
  EXPECT_THAT(seen_by["PUBLIC-TIGHTENED"], ::testing::IsSupersetOf({"complainant", "coordinator"}));
  EXPECT_GT(recorded.size(), 200u);

  // Events: no identity of any case, ever.
  std::vector<StreamEvent> events = ReadEvents();
  std::set<std::string> event_cases;
  for (const auto& ev : events) {
    event_cases.insert(ev.event.complaint_id());
    const std::string text = absl::StrCat(ev.raw, "\n", ev.event.DebugString());
    for (const PlantedIdentity* p : everyone) {
      EXPECT_THAT(FoundIn(AllForms(*p), text), IsEmpty())
          << p->label << " identity in event " << ev.event.event_id();
    }
  }
  EXPECT_THAT(event_cases,
              ::testing::IsSupersetOf({anon_id, secret_id, open_id, fwd_id, tight_id, ptight_id}));
  // 3 full lifecycles of 9 steps, a reopening, 7 steps forwarded, 3 + 3 tightened.
  EXPECT_EQ(events.size(), 3u * 9 + 1 + 7 + 3 + 3);

  // Logs: no identity in any line of either service's log; the log does mention the cases.
  const std::string complaints_log = ReadFile(complaints_->log_path());
  const std::string registry_log = ReadFile(registry_->log_path());
  for (const PlantedIdentity* p : everyone) {
    for (const auto& [name, log] :
         {std::pair{"complaints", &complaints_log}, std::pair{"registry", &registry_log}}) {
      std::istringstream lines(*log);
      std::string line;
      while (std::getline(lines, line)) {
        EXPECT_THAT(FoundIn(AllForms(*p), line), IsEmpty())
            << p->label << " identity in the " << name << " log: " << line;
      }
    }
  }
  for (const std::string& id : {anon_id, secret_id, open_id, fwd_id, tight_id, ptight_id}) {
    EXPECT_THAT(complaints_log, HasSubstr(id)) << "the log scan would not see this case";
  }

  // Redis: the ANONYMOUS identity is not stored at all, nor the tightened one any more; the
  // SECRET and PUBLIC ones are stored only sealed (AES-256-GCM, #13 point 4), so no form of
  // any identity is in clear. The scan does read the case records: their keys are there.
  int keys = 0;
  const std::string keyspace = DumpKeyspace(&keys);
  EXPECT_GT(keys, 10);
  EXPECT_THAT(KeysContaining(keyspace, AllForms(anon)), IsEmpty())
      << "ANONYMOUS identity stored in Redis";
  EXPECT_THAT(KeysContaining(keyspace, AllForms(tight)), IsEmpty())
      << "SECRET identity tightened to ANONYMOUS still stored in Redis";
  EXPECT_THAT(KeysContaining(keyspace, AllForms(ptight)), IsEmpty())
      << "PUBLIC identity tightened to ANONYMOUS still stored in Redis";
  EXPECT_THAT(KeysContaining(keyspace, AllForms(secret)), IsEmpty())
      << "SECRET identity stored in clear in Redis";
  EXPECT_THAT(KeysContaining(keyspace, AllForms(open)), IsEmpty())
      << "PUBLIC identity stored in clear in Redis";
  EXPECT_THAT(keyspace, HasSubstr("c:" + secret_id)) << "the scan does not read case records";
  // Nor in Redis's files (the AOF holds every write ever made).
  const std::string files = DataDirFiles();
  EXPECT_THAT(files, HasSubstr(secret_id)) << "the AOF scan is vacuous";
  for (const PlantedIdentity* p : {&anon, &secret, &open, &fwd, &tight, &ptight}) {
    EXPECT_THAT(FoundIn(AllForms(*p), files), IsEmpty()) << p->label << " identity in the AOF";
  }
  RecordProperty("responses_scanned", static_cast<int>(recorded.size()));
  RecordProperty("events_scanned", static_cast<int>(events.size()));
}

// ---------------------------------------------------------------------------------------
// 6. Durability across kill -9 of the service and of Redis

TEST_F(ComplaintsE2ETest, Durability) {
  struct Ack {
    std::string code, secret;
  };
  absl::Mutex mu;
  std::vector<Ack> acked;
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      for (int n = 0; !stop.load(); ++n) {
        v1::FileComplaintRequest req =
            FileReq(absl::StrCat("durable-", t, "-", n), v1::CHANNEL_SMS, kPpService,
                    absl::StrCat("Pengaduan nomor ", t, "/", n));
        v1::FileComplaintResponse resp;
        grpc::Status s = Call(&Stub::FileComplaint, sms_, req, &resp, absl::Seconds(2));
        if (s.ok()) {
          absl::MutexLock lock(&mu);
          acked.push_back({resp.tracking_code(), resp.secret()});
        } else {
          ++failures;
          absl::SleepFor(absl::Milliseconds(5));
        }
      }
    });
  }
  absl::SleepFor(absl::Milliseconds(1200));
  ASSERT_TRUE(complaints_->Stop(SIGKILL, absl::Seconds(5)).has_value());
  absl::SleepFor(absl::Milliseconds(800));
  stop = true;
  for (auto& c : clients) c.join();
  cluster_->redis().Kill();
  ASSERT_THAT(cluster_->redis().Restart(), IsOk());
  ASSERT_THAT(complaints_->Restart(), IsOk());

  ASSERT_GT(acked.size(), 20u) << "too few filings before the kill";
  int missing = 0;
  for (const Ack& ack : acked) {
    v1::TrackComplaintRequest req;
    req.set_tracking_code(ack.code);
    req.set_secret(ack.secret);
    v1::TrackComplaintResponse resp;
    grpc::Status s = Call(&Stub::TrackComplaint, complainant_, req, &resp);
    if (!s.ok() || resp.complaint().id() != ack.code) {
      if (++missing <= 10) ADD_FAILURE() << ack.code << ": " << s.error_message();
    }
  }
  EXPECT_EQ(missing, 0);
  // The inbox index survived too: every acknowledged code is listed.
  std::vector<std::string> listed = CoordinatorIds();
  std::set<std::string> listed_set(listed.begin(), listed.end());
  int unlisted = 0;
  for (const Ack& ack : acked) unlisted += listed_set.count(ack.code) == 0;
  EXPECT_EQ(unlisted, 0);
  // And each filing's event: a case and its event are committed together.
  std::set<std::string> filed_events;
  for (const auto& ev : ReadEvents()) {
    if (ev.event.action() == "FileComplaint") filed_events.insert(ev.event.complaint_id());
  }
  int without_event = 0;
  for (const Ack& ack : acked) without_event += filed_events.count(ack.code) == 0;
  EXPECT_EQ(without_event, 0);
  std::printf("[ DURABLE ] %zu acknowledged filings (%d failed during the kill), %d missing\n",
              acked.size(), failures.load(), missing);
  RecordProperty("acknowledged", static_cast<int>(acked.size()));
  RecordProperty("missing", missing);
}

// ---------------------------------------------------------------------------------------
// 7. The registry is down: filing still works, the case waits for a coordinator.

TEST_F(ComplaintsE2ETest, RegistryDown) {
  // A hung registry (stopped, connections open) costs one lookup deadline (2 s), no more.
  ASSERT_THAT(registry_->Pause(), IsOk());
  const absl::Time hung_start = absl::Now();
  v1::FileComplaintResponse hung_filed = File(
      sms_, FileReq("sms-msg-reghung-1", v1::CHANNEL_SMS, kPpService, "Registri tidak menjawab"));
  const absl::Duration hung_took = absl::Now() - hung_start;
  ASSERT_THAT(registry_->Resume(), IsOk());
  EXPECT_LT(hung_took, absl::Seconds(4)) << "filing waited for a hung registry";
  ASSERT_FALSE(hung_filed.tracking_code().empty());
  EXPECT_TRUE(hung_filed.complaint().agency_id().empty());
  EXPECT_FALSE(Get(coordinator_, hung_filed.tracking_code()).routing_note().empty());

  ASSERT_TRUE(registry_->Stop(SIGTERM, absl::Seconds(10)).has_value());
  v1::FileComplaintRequest req =
      FileReq("sms-msg-regdown-1", v1::CHANNEL_SMS, kPpService, "Server akta sedang gangguan");
  const absl::Time start = absl::Now();
  v1::FileComplaintResponse filed = File(sms_, req);
  const absl::Duration took = absl::Now() - start;
  EXPECT_LT(took, absl::Seconds(3)) << "filing waited for the registry";
  const std::string id = filed.tracking_code();
  ASSERT_FALSE(id.empty());
  v1::Complaint got = Get(coordinator_, id);
  EXPECT_EQ(got.state(), v1::STATE_RECEIVED);
  EXPECT_TRUE(got.agency_id().empty());
  EXPECT_EQ(got.service_id(), kPpService);
  EXPECT_FALSE(got.routing_note().empty());
  v1::ListComplaintsRequest unrouted;
  unrouted.set_unrouted(true);
  EXPECT_THAT(Ids(ListAll(coordinator_, unrouted).complaints()),
              ElementsAre(hung_filed.tracking_code(), id));
  // No agency handles it yet.
  EXPECT_EQ(TryGet(pp_op_, id).error_code(), StatusCode::PERMISSION_DENIED);
  v1::ListComplaintsRequest pp_inbox;
  pp_inbox.set_agency_id(kPp);
  EXPECT_THAT(Ids(ListAll(pp_op_, pp_inbox).complaints()), IsEmpty());
  // Routing needs the registry: UNAVAILABLE, quickly, and nothing changes.
  v1::RouteComplaintRequest route;
  route.set_id(id);
  route.set_service_id(kPpService);
  route.set_reason("Registri kembali");
  v1::RouteComplaintResponse routed;
  const absl::Time route_start = absl::Now();
  EXPECT_EQ(Call(&Stub::RouteComplaint, coordinator_, route, &routed).error_code(),
            StatusCode::UNAVAILABLE);
  EXPECT_LT(absl::Now() - route_start, absl::Seconds(3));
  EXPECT_EQ(Get(coordinator_, id).revision(), 1);

  ASSERT_THAT(registry_->Restart(), IsOk());
  // The router reconnects with backoff: retry for a bounded time.
  grpc::Status status;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  int attempts = 0;
  do {
    ++attempts;
    status = Call(&Stub::RouteComplaint, coordinator_, route, &routed);
    if (status.error_code() != StatusCode::UNAVAILABLE) break;
    absl::SleepFor(absl::Milliseconds(100));
  } while (absl::Now() < deadline);
  ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message() << " after "
                           << attempts << " attempts";
  EXPECT_EQ(routed.complaint().agency_id(), kPp);
  EXPECT_EQ(routed.complaint().unit_id(), kPpUnit);
  EXPECT_EQ(routed.complaint().standard_version_id(), standard_version_id_);
  EXPECT_EQ(routed.complaint().response_working_days(), 3);
  EXPECT_TRUE(routed.complaint().routing_note().empty());
  EXPECT_THAT(Ids(ListAll(coordinator_, unrouted).complaints()),
              ElementsAre(hung_filed.tracking_code()));
  EXPECT_THAT(Ids(ListAll(pp_op_, pp_inbox).complaints()), ElementsAre(id));
  // The standard's terms came with the route: its classes verify.
  EXPECT_EQ(Verify(pp_op_, id, "minor").resolution_working_days(), 2);
  RecordProperty("file_ms_registry_down", static_cast<int>(took / absl::Milliseconds(1)));
  RecordProperty("file_ms_registry_hung", static_cast<int>(hung_took / absl::Milliseconds(1)));
}

// ---------------------------------------------------------------------------------------
// 8. Health and graceful drain

TEST_F(ComplaintsE2ETest, HealthAndDrain) {
  EXPECT_TRUE(complaints_->WaitForHealth(simpul::testing::kServing, absl::Seconds(1)));
  EXPECT_TRUE(complaints_->WaitForHealth(simpul::testing::kServing, absl::Seconds(1), ""));
  // Health follows Redis.
  cluster_->redis().Kill();
  EXPECT_TRUE(complaints_->WaitForHealth(simpul::testing::kNotServing, absl::Seconds(10)));
  v1::FileComplaintResponse resp;
  const absl::Time down_start = absl::Now();
  grpc::Status down =
      Call(&Stub::FileComplaint, sms_,
           FileReq("sms-msg-health-1", v1::CHANNEL_SMS, kPpService, "Antrean"), &resp);
  EXPECT_EQ(down.error_code(), StatusCode::UNAVAILABLE) << down.error_message();
  EXPECT_LT(absl::Now() - down_start, absl::Seconds(5));
  ASSERT_THAT(cluster_->redis().Restart(), IsOk());
  EXPECT_TRUE(complaints_->WaitForHealth(simpul::testing::kServing));
  grpc::Status up;
  const absl::Time until = absl::Now() + absl::Seconds(10);
  for (;;) {
    up = Call(&Stub::FileComplaint, sms_,
              FileReq("sms-msg-health-2", v1::CHANNEL_SMS, kPpService, "Antrean"), &resp);
    if (up.ok() || absl::Now() >= until) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_TRUE(up.ok()) << up.error_message();

  // SIGTERM while two clients file: drains and exits 0 within the drain timeout (3 s); every
  // filing it acknowledged is kept.
  absl::Mutex mu;
  std::vector<std::pair<std::string, std::string>> acked;
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int t = 0; t < 2; ++t) {
    clients.emplace_back([&, t] {
      for (int n = 0; !stop.load(); ++n) {
        v1::FileComplaintResponse r;
        grpc::Status s = Call(&Stub::FileComplaint, sms_,
                              FileReq(absl::StrCat("drain-", t, "-", n), v1::CHANNEL_SMS,
                                      kPpService, "Antrean saat berhenti"),
                              &r, absl::Seconds(2));
        if (s.ok()) {
          absl::MutexLock lock(&mu);
          acked.emplace_back(r.tracking_code(), r.secret());
        } else {
          absl::SleepFor(absl::Milliseconds(5));
        }
      }
    });
  }
  absl::SleepFor(absl::Milliseconds(300));
  const absl::Time start = absl::Now();
  std::optional<int> exit_status = complaints_->Stop(SIGTERM, absl::Seconds(10));
  const absl::Duration took = absl::Now() - start;
  stop = true;
  for (auto& c : clients) c.join();
  ASSERT_TRUE(exit_status.has_value()) << "the service did not stop";
  EXPECT_TRUE(WIFEXITED(*exit_status)) << *exit_status;
  EXPECT_EQ(WEXITSTATUS(*exit_status), 0) << complaints_->Log();
  EXPECT_LT(took, absl::Seconds(3)) << complaints_->Log();
  EXPECT_THAT(complaints_->Log(), HasSubstr("simpul-complaints stopped"));
  ASSERT_THAT(complaints_->Restart(), IsOk());
  EXPECT_GT(acked.size(), 10u);
  int missing = 0;
  for (const auto& [code, secret] : acked) {
    v1::TrackComplaintRequest req;
    req.set_tracking_code(code);
    req.set_secret(secret);
    v1::TrackComplaintResponse resp;
    missing += !Call(&Stub::TrackComplaint, complainant_, req, &resp).ok();
  }
  EXPECT_EQ(missing, 0) << "of " << acked.size() << " filings acknowledged before SIGTERM";
  RecordProperty("drain_ms", static_cast<int>(took / absl::Milliseconds(1)));
}

// Redis Sentinel and acknowledged filings: a simpul-complaints whose redis_addr leads nowhere
// finds its Redis through sentinels; with redis_wait_replicas=1 and the replica stopped a
// filing is UNAVAILABLE, and its retry with the same idempotency key after the replica is back
// answers the first filing's tracking code (one case); after SENTINEL FAILOVER it files on the
// new master (its retries with one key file once) and still has every case.
// SeriesValue is the value of the series `series` (its name and labels exactly as /metrics
// prints them) in a Prometheus exposition, or -1 when it is not there.
double SeriesValue(const std::string& exposition, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(exposition, '\n')) {
    if (absl::ConsumePrefix(&line, series) && absl::ConsumePrefix(&line, " ")) {
      double value = -1;
      if (absl::SimpleAtod(line, &value)) return value;
    }
  }
  return -1;
}

TEST_F(ComplaintsE2ETest, SentinelFailoverAndAcknowledgedFilings) {
  simpul::testing::RedisSentinelSet::Options set_options;
  set_options.replicas = 2;
  set_options.sentinels = 3;
  auto set = simpul::testing::RedisSentinelSet::Start(set_options);
  ASSERT_THAT(set, IsOk());
  std::vector<std::string> sentinels;
  for (const auto& sentinel : (*set)->sentinels()) {
    sentinels.push_back(absl::StrCat("127.0.0.1:", sentinel->port()));
  }
  auto ha = cluster_->Start(
      simpul::testing::Binary::kComplaints,
      {.name = "complaints-ha",
       .flags = {absl::StrCat("--redis_addr=127.0.0.1:", simpul::testing::PickFreePort()),
                 absl::StrCat("--redis_sentinels=", absl::StrJoin(sentinels, ",")),
                 "--redis_wait_replicas=1", "--redis_wait_timeout=300ms",
                 "--registry_timeout=2s"}});
  ASSERT_THAT(ha, IsOk());
  auto stub = v1::Complaints::NewStub((*ha)->channel());
  auto file = [&](const v1::FileComplaintRequest& req, v1::FileComplaintResponse* resp) {
    auto ctx = simpul::testing::CallContext(sms_, absl::Seconds(10));
    return stub->FileComplaint(ctx.get(), req, resp);
  };

  v1::FileComplaintResponse first;
  ASSERT_TRUE(
      file(FileReq("sms-ha-0001", v1::CHANNEL_SMS, kPpService, "Lewat sentinel"), &first).ok());
  ASSERT_FALSE(first.tracking_code().empty());
  // The pool's poll of the master finds both replicas in sync (a gauge in /metrics).
  double in_sync = -1;
  for (const absl::Time until = absl::Now() + absl::Seconds(5); absl::Now() < until;) {
    in_sync = SeriesValue((*ha)->AdminGet("/metrics"), "simpul_redis_replicas_in_sync");
    if (in_sync == 2) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(in_sync, 2);

  // The replicas stop: written on the master, answered UNAVAILABLE.
  (*set)->servers()[1]->Pause();
  (*set)->servers()[2]->Pause();
  const v1::FileComplaintRequest req =
      FileReq("sms-ha-0002", v1::CHANNEL_SMS, kPpService, "Replika berhenti");
  v1::FileComplaintResponse refused;
  const absl::Time start = absl::Now();
  grpc::Status status = file(req, &refused);
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(status.error_code(), StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("same idempotency key"));
  EXPECT_LT(took, absl::Seconds(2));
  // The short WAIT is counted; the pool found the master once through the sentinels.
  const std::string before_failover = (*ha)->AdminGet("/metrics");
  EXPECT_EQ(SeriesValue(before_failover, "simpul_redis_wait_short_total"), 1) << before_failover;
  EXPECT_EQ(SeriesValue(before_failover, R"(simpul_redis_master_resolutions_total{result="ok"})"),
            1)
      << before_failover;
  (*set)->servers()[1]->Resume();
  (*set)->servers()[2]->Resume();
  ASSERT_THAT((*set)->WaitForReplicas(2, absl::Seconds(10)), IsOk());
  v1::FileComplaintResponse retried;
  ASSERT_TRUE(file(req, &retried).ok());
  const std::string once = retried.tracking_code();
  v1::FileComplaintResponse again;
  ASSERT_TRUE(file(req, &again).ok());
  EXPECT_EQ(again.tracking_code(), once);
  // One case for the key, whatever the number of attempts: the event stream holds two filings.
  absl::StatusOr<RedisReply> events = simpul::testing::RedisSentinelSet::Command(
      (*set)->servers()[0]->port(), {"XLEN", kEventStream});
  ASSERT_THAT(events, IsOk());
  EXPECT_EQ(events->integer, 2);

  // Failover: the client retries one filing with its key until it is acknowledged by the new
  // master and its replica.
  const absl::Time failover_start = absl::Now();
  ASSERT_THAT((*set)->Failover(), IsOk());
  const v1::FileComplaintRequest after_req =
      FileReq("sms-ha-after", v1::CHANNEL_SMS, kPpService, "Setelah failover");
  v1::FileComplaintResponse after;
  absl::Duration recovered = absl::InfiniteDuration();
  int n = 0;
  while (absl::Now() < failover_start + absl::Seconds(30)) {
    ++n;
    if (file(after_req, &after).ok()) {
      recovered = absl::Now() - failover_start;
      break;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  std::printf("simpul-complaints filing after SENTINEL FAILOVER: %s (%d attempts)\n",
              absl::FormatDuration(recovered).c_str(), n);
  ASSERT_LT(recovered, absl::Seconds(30));
  // The move to the new master shows in /metrics: announced by +switch-master, or found by
  // asking the sentinels again.
  const std::string after_failover = (*ha)->AdminGet("/metrics");
  EXPECT_GE(
      std::max(0.0, SeriesValue(after_failover, "simpul_redis_master_switches_total")) +
          SeriesValue(after_failover, R"(simpul_redis_master_resolutions_total{result="ok"})"),
      2)
      << after_failover;
  absl::StatusOr<int> master_port = (*set)->MasterPort();
  ASSERT_THAT(master_port, IsOk());
  absl::StatusOr<RedisReply> all_events =
      simpul::testing::RedisSentinelSet::Command(*master_port, {"XLEN", kEventStream});
  ASSERT_THAT(all_events, IsOk());
  EXPECT_EQ(all_events->integer, 3);  // the third filing once, however many attempts
  for (const std::string& id : {first.tracking_code(), once, after.tracking_code()}) {
    v1::GetComplaintRequest get;
    get.set_id(id);
    v1::GetComplaintResponse got;
    auto ctx = simpul::testing::CallContext(coordinator_, absl::Seconds(10));
    EXPECT_TRUE(stub->GetComplaint(ctx.get(), get, &got).ok()) << id;
  }
}

// ---- Event feeds (WatchComplaintEvents) and ListComplaints updated_since (issue #16) -------

namespace feed {

// Watch is one open WatchComplaintEvents stream.
struct Watch {
  std::unique_ptr<grpc::ClientContext> ctx;
  std::unique_ptr<grpc::ClientReader<v1::WatchComplaintEventsResponse>> reader;
  std::string start_cursor;  // the initial metadata's cursor
};

// Key is "<complaint id>/<action>" of a feed message, whichever view it is in.
std::string Key(const v1::WatchComplaintEventsResponse& r) {
  return r.has_event()
             ? absl::StrCat(r.event().complaint_id(), "/", r.event().action())
             : absl::StrCat(r.public_event().complaint_id(), "/", r.public_event().action());
}

// CursorLess orders two stream ids "<ms>-<seq>".
bool CursorLess(const std::string& a, const std::string& b) {
  auto parse = [](const std::string& c) {
    std::pair<uint64_t, uint64_t> id{0, 0};
    std::pair<std::string, std::string> parts = absl::StrSplit(c, absl::MaxSplits('-', 1));
    EXPECT_TRUE(absl::SimpleAtoi(parts.first, &id.first)) << c;
    EXPECT_TRUE(absl::SimpleAtoi(parts.second, &id.second)) << c;
    return id;
  };
  return parse(a) < parse(b);
}

}  // namespace feed

class ComplaintFeedE2ETest : public ComplaintsE2ETest {
 protected:
  feed::Watch Open(const Caller& who, const std::string& cursor) {
    feed::Watch w;
    w.ctx = simpul::testing::CallContext(who, absl::Seconds(60));
    v1::WatchComplaintEventsRequest req;
    req.set_cursor(cursor);
    w.reader = stub_->WatchComplaintEvents(w.ctx.get(), req);
    w.reader->WaitForInitialMetadata();
    const auto& initial = w.ctx->GetServerInitialMetadata();
    if (auto it = initial.find("x-simpul-cursor"); it != initial.end()) {
      w.start_cursor = std::string(it->second.data(), it->second.size());
    }
    return w;
  }

  // ReadUntil reads `w` until a message for `last` ("<id>/<action>") arrives (or `count`
  // messages when last is empty) and returns every message read.
  std::vector<v1::WatchComplaintEventsResponse> ReadUntil(feed::Watch& w, const std::string& last,
                                                          size_t count = 0) {
    std::vector<v1::WatchComplaintEventsResponse> out;
    v1::WatchComplaintEventsResponse r;
    while (w.reader->Read(&r)) {
      out.push_back(r);
      if (!last.empty() && feed::Key(r) == last) return out;
      if (last.empty() && out.size() == count) return out;
    }
    grpc::Status s = w.reader->Finish();
    ADD_FAILURE() << "stream ended before " << last << ": " << s.error_code() << " "
                  << s.error_message();
    return out;
  }

  static std::vector<std::string> Keys(const std::vector<v1::WatchComplaintEventsResponse>& rs) {
    std::vector<std::string> keys;
    for (const auto& r : rs) keys.push_back(feed::Key(r));
    return keys;
  }
};

TEST_F(ComplaintFeedE2ETest, EveryCallerGetsExactlyItsEventsInOrderAndResumesWithoutAGap) {
  feed::Watch coordinator = Open(coordinator_, "");
  feed::Watch pp = Open(pp_op_, "");
  feed::Watch bogor = Open(bogor_op_, "$");
  feed::Watch sms = Open(sms_, "");
  feed::Watch anyone = Open(public_, "");
  EXPECT_FALSE(coordinator.start_cursor.empty());
  EXPECT_EQ(sms.start_cursor, coordinator.start_cursor);

  // S1: SECRET, filed by SMS for Padang Pariaman; E1: anonymous, by e-mail for Padang Pariaman;
  // S2: anonymous, by SMS for Bogor.
  v1::FileComplaintRequest s1_req =
      FileReq("feed-s1-0001", v1::CHANNEL_SMS, kPpService, "Akta kelahiran belum terbit");
  s1_req.mutable_complainant()->set_name("Ratna Feedwati");
  s1_req.mutable_complainant()->set_phone("+62 812 7777 0001");
  const std::string s1 = File(sms_, s1_req).tracking_code();
  const std::string e1 = File(email_, FileReq("feed-e1-0001", v1::CHANNEL_EMAIL, kPpService,
                                              "Antrean akta tidak bergerak"))
                             .tracking_code();
  const std::string s2 = File(sms_, FileReq("feed-s2-0001", v1::CHANNEL_SMS, kBogorService,
                                            "Izin bangunan tidak diproses"))
                             .tracking_code();
  Verify(pp_op_, s1);
  Verify(pp_op_, e1);

  // The SMS channel reads three events and goes away.
  std::vector<v1::WatchComplaintEventsResponse> sms_first = ReadUntil(sms, "", 3);
  ASSERT_EQ(sms_first.size(), 3u);
  sms.ctx->TryCancel();
  (void)sms.reader->Finish();

  Verify(bogor_op_, s2);
  Forward(pp_admin_, s1, kBogor);
  // M: PUBLIC, by SMS for Padang Pariaman, verified, then forwarded to Bogor: the last event
  // of every feed below.
  v1::FileComplaintRequest m_req =
      FileReq("feed-m-00001", v1::CHANNEL_SMS, kPpService, "Petugas meminta biaya tambahan");
  m_req.mutable_complainant()->set_name("Budi Terbuka");
  m_req.set_confidentiality(v1::CONFIDENTIALITY_PUBLIC);
  const std::string m = File(sms_, m_req).tracking_code();
  Verify(pp_op_, m);
  Forward(pp_admin_, m, kBogor);
  const std::string last = absl::StrCat(m, "/ForwardComplaint");

  // The SMS channel comes back and resumes from the last cursor it saw.
  feed::Watch sms_again = Open(sms_, sms_first.back().cursor());
  EXPECT_EQ(sms_again.start_cursor, sms_first.back().cursor());
  std::vector<v1::WatchComplaintEventsResponse> sms_rest = ReadUntil(sms_again, last);

  auto f = [](const std::string& id, const char* action) { return absl::StrCat(id, "/", action); };
  const std::vector<std::string> all = {f(s1, "FileComplaint"),    f(e1, "FileComplaint"),
                                        f(s2, "FileComplaint"),    f(s1, "VerifyComplaint"),
                                        f(e1, "VerifyComplaint"),  f(s2, "VerifyComplaint"),
                                        f(s1, "ForwardComplaint"), f(m, "FileComplaint"),
                                        f(m, "VerifyComplaint"),   f(m, "ForwardComplaint")};
  std::vector<v1::WatchComplaintEventsResponse> coordinator_got = ReadUntil(coordinator, last);
  EXPECT_THAT(Keys(coordinator_got), ElementsAreArray(all));
  std::vector<v1::WatchComplaintEventsResponse> pp_got = ReadUntil(pp, last);
  EXPECT_THAT(Keys(pp_got), ElementsAre(f(s1, "FileComplaint"), f(e1, "FileComplaint"),
                                        f(s1, "VerifyComplaint"), f(e1, "VerifyComplaint"),
                                        f(s1, "ForwardComplaint"), f(m, "FileComplaint"),
                                        f(m, "VerifyComplaint"), f(m, "ForwardComplaint")));
  std::vector<v1::WatchComplaintEventsResponse> bogor_got = ReadUntil(bogor, last);
  EXPECT_THAT(Keys(bogor_got), ElementsAre(f(s2, "FileComplaint"), f(s2, "VerifyComplaint"),
                                           f(s1, "ForwardComplaint"), f(m, "ForwardComplaint")));
  std::vector<v1::WatchComplaintEventsResponse> sms_got = sms_first;
  sms_got.insert(sms_got.end(), sms_rest.begin(), sms_rest.end());
  // Resumed: no gap, no duplicate.
  EXPECT_THAT(Keys(sms_got), ElementsAre(f(s1, "FileComplaint"), f(s2, "FileComplaint"),
                                         f(s1, "VerifyComplaint"), f(s2, "VerifyComplaint"),
                                         f(s1, "ForwardComplaint"), f(m, "FileComplaint"),
                                         f(m, "VerifyComplaint"), f(m, "ForwardComplaint")));
  std::vector<v1::WatchComplaintEventsResponse> public_got = ReadUntil(anyone, last);
  EXPECT_THAT(Keys(public_got), ElementsAre(f(e1, "VerifyComplaint"), f(s2, "VerifyComplaint"),
                                            f(m, "VerifyComplaint"), f(m, "ForwardComplaint")));

  // Views: agency members and coordinators the full event, channels and the public the
  // public event; nobody an identity; cursors strictly increase and match the coordinator's.
  std::map<std::string, std::string> cursor_of;
  for (const auto& r : coordinator_got) cursor_of[feed::Key(r)] = r.cursor();
  for (const auto* got : {&coordinator_got, &pp_got, &bogor_got, &sms_got, &public_got}) {
    const bool full = got == &coordinator_got || got == &pp_got || got == &bogor_got;
    std::string previous;
    for (const auto& r : *got) {
      EXPECT_EQ(r.has_event(), full) << feed::Key(r);
      EXPECT_EQ(r.has_public_event(), !full) << feed::Key(r);
      EXPECT_EQ(r.cursor(), cursor_of[feed::Key(r)]) << feed::Key(r);
      EXPECT_TRUE(previous.empty() || feed::CursorLess(previous, r.cursor()))
          << previous << " then " << r.cursor();
      previous = r.cursor();
      const std::string bytes = r.SerializeAsString();
      for (const char* planted :
           {"Ratna Feedwati", "7777 0001", "Budi Terbuka", "Berkas lengkap", "Bukan kewenangan"}) {
        EXPECT_FALSE(absl::StrContains(bytes, planted)) << planted << " in " << r.DebugString();
      }
    }
  }
}

TEST_F(ComplaintFeedE2ETest, CursorErrorsAreClear) {
  auto fail_of = [&](const Caller& who, const std::string& cursor, const std::string& agency = "") {
    auto ctx = simpul::testing::CallContext(who, absl::Seconds(10));
    v1::WatchComplaintEventsRequest req;
    req.set_cursor(cursor);
    req.set_agency_id(agency);
    auto reader = stub_->WatchComplaintEvents(ctx.get(), req);
    v1::WatchComplaintEventsResponse r;
    while (reader->Read(&r)) {
    }
    return reader->Finish();
  };
  grpc::Status bad = fail_of(pp_op_, "garbage");
  EXPECT_EQ(bad.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(bad.error_message(), HasSubstr("cursor"));
  grpc::Status ahead = fail_of(pp_op_, "99999999999999-0");
  EXPECT_EQ(ahead.error_code(), StatusCode::OUT_OF_RANGE);
  grpc::Status other = fail_of(pp_op_, "", kBogor);
  EXPECT_EQ(other.error_code(), StatusCode::PERMISSION_DENIED);
}

TEST_F(ComplaintFeedE2ETest, UpdatedSinceListsEveryChangedCaseInAStableOrderWhileCasesChange) {
  // Three cases changed before T are not listed.
  std::vector<std::string> before;
  for (int i = 0; i < 3; ++i) {
    before.push_back(File(sms_, FileReq(absl::StrCat("upd-before-", 1000 + i), v1::CHANNEL_SMS,
                                        kPpService, "Sebelum T"))
                         .tracking_code());
  }
  absl::SleepFor(absl::Milliseconds(5));  // T is strictly after their update times
  const absl::Time t = absl::Now();
  std::vector<std::string> since;
  for (int i = 0; i < 24; ++i) {
    since.push_back(File(sms_, FileReq(absl::StrCat("upd-since-", 1000 + i), v1::CHANNEL_SMS,
                                       i % 3 == 0 ? kBogorService : kPpService, "Sesudah T"))
                        .tracking_code());
  }
  v1::ListComplaintsRequest req;
  *req.mutable_updated_since() =
      google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(t));
  req.mutable_page()->set_page_size(5);
  std::vector<std::pair<int64_t, std::string>> seen;  // (update ms, id) in listing order
  std::set<std::string> changed_while_listing;
  for (int page_no = 0; page_no < 100; ++page_no) {
    v1::ListComplaintsResponse page = Must(&Stub::ListComplaints, coordinator_, req);
    for (const auto& c : page.complaints()) {
      seen.emplace_back(Millis(c.update_time()), c.id());
      EXPECT_GE(TimeOf(c.update_time()), t) << c.id();
    }
    // Between pages, cases change: one already listed, one not listed yet.
    if (page_no < 3) {
      const std::string listed = page.complaints(0).id();
      const std::string ahead = since[since.size() - 1 - page_no];
      for (const std::string& id : {listed, ahead}) {
        Verify(Get(coordinator_, id).agency_id() == kPp ? pp_op_ : bogor_op_, id);
        changed_while_listing.insert(id);
      }
    }
    if (page.next_page_token().empty()) break;
    req.mutable_page()->set_page_token(page.next_page_token());
  }
  // A stable order: strictly increasing (update time, id) over all pages.
  for (size_t i = 1; i < seen.size(); ++i) EXPECT_LT(seen[i - 1], seen[i]) << i;
  std::multiset<std::string> ids;
  for (const auto& [ms, id] : seen) ids.insert(id);
  for (const std::string& id : since) {
    EXPECT_GE(ids.count(id), 1u) << id << " skipped";
    if (!changed_while_listing.contains(id)) EXPECT_EQ(ids.count(id), 1u) << id;
  }
  for (const std::string& id : before) EXPECT_EQ(ids.count(id), 0u) << id;

  // An agency lists only its own changed cases.
  v1::ListComplaintsRequest mine;
  *mine.mutable_updated_since() = *req.mutable_updated_since();
  mine.mutable_page()->set_page_size(100);
  v1::ListComplaintsResponse pp_page = Must(&Stub::ListComplaints, pp_op_, mine);
  EXPECT_EQ(pp_page.complaints_size(), 16);
  for (const auto& c : pp_page.complaints()) EXPECT_EQ(c.agency_id(), kPp);
  // A malformed instant is refused.
  mine.mutable_updated_since()->set_nanos(-1);
  v1::ListComplaintsResponse none;
  grpc::Status bad = Call(&Stub::ListComplaints, pp_op_, mine, &none);
  EXPECT_EQ(bad.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(bad.error_message(), HasSubstr("updated_since"));
}

}  // namespace
}  // namespace simpul::complaints
