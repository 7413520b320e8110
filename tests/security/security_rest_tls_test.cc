// TLS on the gateway's REST/JSON and Open311 front (#13 point 5), end to end: the real
// simpul-gateway (ServiceCluster) with --tls_cert_file/--tls_key_file (the certificate of its
// gRPC port), --tls_client_ca_file and --client_certificates, in front of the real
// simpul-registry and simpul-complaints, and certificates made with the openssl command
// (tests/testing/test_certs.h). Over HTTPS: a registry read, a filing, Open311 and an NDJSON
// watch work; plaintext HTTP and a silent client get no answer and keep no connection slot; a
// listed client certificate acts as its principal on REST (and on gRPC), an unlisted one is 401,
// one of another CA does not get through the handshake. Prints the handshakes refused and the
// cost per request of HTTPS against plaintext.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/redis.h"
#include "gateway/api_keys.h"
#include "gmock/gmock.h"
#include "simpul/complaints/v1/complaints.grpc.pb.h"
#include "simpul/registry/v1/registry.grpc.pb.h"
#include "tests/testing/http_client.h"
#include "tests/testing/identity_tokens.h"
#include "tests/testing/registry_fixtures.h"
#include "tests/testing/registry_seed.h"
#include "tests/testing/service_cluster.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_certs.h"

namespace simpul {
namespace {

namespace net = boost::asio;
namespace cv1 = ::simpul::complaints::v1;
using ::simpul::testing::Binary;
using ::simpul::testing::Caller;
using ::simpul::testing::HttpResponse;
using ::simpul::testing::HttpsConn;
using ::simpul::testing::IsOk;
using ::simpul::testing::ServiceCluster;
using ::simpul::testing::ServiceProcess;
using ::simpul::testing::TestCertificates;
using ::simpul::testing::TlsClientOptions;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kAgency[] = "kota-bogor";
constexpr char kUnit[] = "dpmptsp-kota-bogor";
constexpr char kService[] = "izin-usaha-kota-bogor";
// Silent connections one address may hold: the per-address cap of the gateway under test.
constexpr int kPerAddressCap = 6;
// The timing loop makes hundreds of public calls from one address.
constexpr char kNoRateLimit[] = "--rate_limits=public=100000/s burst 100000";

// RawSocket is a plain TCP connection to the REST port: plaintext HTTP, or nothing at all.
class RawSocket {
 public:
  explicit RawSocket(int port) : socket_(ioc_) {
    socket_.connect(
        net::ip::tcp::endpoint(net::ip::address_v4::loopback(), static_cast<uint16_t>(port)));
    socket_.non_blocking(true);
  }
  void Send(const std::string& bytes) { net::write(socket_, net::buffer(bytes)); }
  // WaitClosed reads until the server closes (true) or `timeout` passes (false).
  bool WaitClosed(absl::Duration timeout) {
    const absl::Time until = absl::Now() + timeout;
    while (absl::Now() < until) {
      char buf[4096];
      boost::system::error_code ec;
      const size_t n = socket_.read_some(net::buffer(buf), ec);
      if (ec == net::error::would_block) {
        absl::SleepFor(absl::Milliseconds(10));
        continue;
      }
      if (ec) return true;
      data_.append(buf, n);
    }
    return false;
  }
  const std::string& data() const { return data_; }

 private:
  net::io_context ioc_;
  net::ip::tcp::socket socket_;
  std::string data_;
};

// OpenConnections reads the gateway's simpul_gateway_rest_connections_open gauge (-1: absent).
int OpenConnections(ServiceProcess& gateway) {
  constexpr char kGauge[] = "simpul_gateway_rest_connections_open ";
  const std::string metrics = gateway.AdminGet("/metrics");
  size_t at = metrics.find(std::string("\n") + kGauge);
  if (at == std::string::npos) return -1;
  at += 1 + sizeof kGauge - 1;
  return std::atoi(metrics.c_str() + at);
}

// WaitOpenConnections polls the gauge until it is `want`.
bool WaitOpenConnections(ServiceProcess& gateway, int want) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    if (OpenConnections(gateway) == want) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return false;
}

class RestTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = ServiceCluster::Create();
    ASSERT_THAT(cluster, IsOk());
    cluster_ = *std::move(cluster);
    auto certs = TestCertificates::Create(cluster_->dir() + "/pki", {"agency-bogor", "stranger"});
    ASSERT_THAT(certs, IsOk());
    certs_ = std::make_unique<TestCertificates>(*std::move(certs));
    auto fingerprint = certs_->Fingerprint("agency-bogor");
    ASSERT_THAT(fingerprint, IsOk());
    const std::string mapping = cluster_->dir() + "/client_certificates.json";
    std::ofstream(mapping) << absl::StrCat(
        R"({"certificates": [{"sha256": ")", *fingerprint,
        R"(", "label": "simbg-bogor", "principal": {"role": "ROLE_AGENCY_ADMIN", )",
        R"("agency_id": ")", kAgency, R"("}}]})");

    pool_ = std::make_unique<RedisPool>(cluster_->redis().PoolOptions());
    auto keys = gateway::ApiKeyStore::Create(
        pool_.get(), gateway::ApiKeyStore::Options{.cache_ttl = absl::ZeroDuration()});
    ASSERT_TRUE(keys.ok()) << keys.status();
    keys_ = *std::move(keys);

    for (Binary binary : {Binary::kRegistry, Binary::kComplaints}) {
      ASSERT_THAT(cluster_->Start(binary, {.flags = {"--drain_timeout=1s"}}), IsOk());
    }
    // The gRPC port serves TLS too: the cluster's health checks (plaintext) cannot reach it,
    // so the start waits for the listening line only.
    auto gateway = cluster_->Start(
        Binary::kGateway,
        {.flags = {"--drain_timeout=1s", "--tls_cert_file=" + certs_->Cert("server"),
                   "--tls_key_file=" + certs_->Key("server"),
                   "--tls_client_ca_file=" + certs_->Cert("ca"), "--client_certificates=" + mapping,
                   "--rest_read_timeout=1s",
                   absl::StrCat("--rest_max_connections_per_address=", kPerAddressCap),
                   kNoRateLimit},
         .wait_serving = false});
    ASSERT_THAT(gateway, IsOk());
    gateway_ = *gateway;
    port_ = gateway_->rest_port();
    ASSERT_GT(port_, 0);

    // The registry is seeded directly (the cluster's channel, identity tokens).
    root_ = Caller{"root", cluster_->tokens().Token(common::v1::ROLE_PLATFORM_ADMIN)};
    registry_ = registry::v1::Registry::NewStub(cluster_->registry().channel());
    testing::RegistrySeeder seed(registry_.get());
    seed.CreateAgency(root_, kAgency, registry::v1::AGENCY_KIND_CITY, "32.71");
    seed.CreateUnit(root_, kUnit, kAgency, "Dinas Penanaman Modal");
    seed.CreateService(root_, kService, kUnit, "Izin Usaha Mikro");
    seed.AdoptStandard(root_, root_, kService, testing::CompleteComponents());
    common::v1::Principal sms;
    sms.set_role(common::v1::ROLE_CHANNEL);
    sms.set_channel("sms-1708");
    sms.add_scope_agency_ids(kAgency);
    auto issued = keys_->Issue(sms, "rest tls test sms", "test:security");
    ASSERT_TRUE(issued.ok()) << issued.status();
    channel_key_ = issued->token;
    ASSERT_FALSE(HasFailure());
  }

  TlsClientOptions Trusting(const std::string& client = "") const {
    TlsClientOptions options{.ca_file = certs_->Cert("ca")};
    if (!client.empty()) {
      options.cert_file = certs_->Cert(client);
      options.key_file = certs_->Key(client);
    }
    return options;
  }

  // FileOverHttps files a complaint through POST /v1/complaints with the channel's key and
  // returns its tracking code ("" on failure).
  std::string FileOverHttps(HttpsConn& conn, const std::string& idempotency_key) {
    const HttpResponse r = conn.Do(
        "POST", "/v1/complaints",
        absl::StrCat(R"({"idempotency_key": ")", idempotency_key,
                     R"(", "report_type": "REPORT_TYPE_COMPLAINT", "channel": "CHANNEL_SMS", )",
                     R"("service_id": ")", kService, R"(", "title": "Izin usaha belum terbit", )",
                     R"("description": "Izin usaha mikro kami belum terbit setelah dua minggu.", )",
                     R"("complainant": {"name": "Siti Rahmawati", "phone": "+62 812-1111-2222"}})"),
        {{"authorization", "Bearer " + channel_key_}});
    EXPECT_EQ(r.status, 201) << r.body;
    return r.Str("tracking_code");
  }

  std::unique_ptr<ServiceCluster> cluster_;
  std::unique_ptr<TestCertificates> certs_;
  std::unique_ptr<RedisPool> pool_;
  std::unique_ptr<gateway::ApiKeyStore> keys_;
  std::unique_ptr<registry::v1::Registry::Stub> registry_;
  ServiceProcess* gateway_ = nullptr;
  int port_ = 0;
  Caller root_;
  std::string channel_key_;
};

TEST_F(RestTlsTest, RestOpen311AndAnNdjsonWatchWorkOverHttps) {
  HttpsConn conn(port_, Trusting());
  ASSERT_FALSE(conn.handshake()) << conn.handshake().message();
  // A registry read and a filing on one keep-alive connection.
  HttpResponse r = conn.Do("GET", absl::StrCat("/v1/agencies/", kAgency));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Str("agency.id"), kAgency);
  EXPECT_THAT(r.Header("strict-transport-security"), HasSubstr("max-age="));
  const std::string tracking_code = FileOverHttps(conn, "rest-tls-file-0001");
  EXPECT_FALSE(tracking_code.empty());

  // Open311: the service list and a request filed with the channel's key.
  r = conn.Do("GET", "/open311/v2/services.json");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, HasSubstr(kService));
  r = conn.Do("POST", "/open311/v2/requests.json",
              testing::FormEncode({{"api_key", channel_key_},
                                   {"service_code", kService},
                                   {"description", "Jalan menuju kantor DPMPTSP rusak parah."},
                                   {"first_name", "Budi"},
                                   {"email", "budi@contoh.test"}}),
              {{"content-type", "application/x-www-form-urlencoded"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(r.ItemStr(0, "service_request_id").empty()) << r.body;

  // An NDJSON watch: the event of an agency created after the headers arrives over TLS.
  HttpsConn watch(port_, Trusting());
  ASSERT_TRUE(watch.Send(
      "GET /v1/standards:watch?entity_types=ENTITY_TYPE_AGENCY HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_FALSE(
      watch.ReadUntil([](const std::string& d) { return d.find("\r\n\r\n") != std::string::npos; },
                      absl::Seconds(10)));
  EXPECT_THAT(watch.data(), StartsWith("HTTP/1.1 200"));
  EXPECT_THAT(watch.data(), HasSubstr("application/x-ndjson"));
  testing::RegistrySeeder seed(registry_.get());
  seed.CreateAgency(root_, "kota-depok", registry::v1::AGENCY_KIND_CITY, "32.76");
  watch.ReadUntil([](const std::string& d) { return d.find("kota-depok") != std::string::npos; },
                  absl::Seconds(10));
  EXPECT_THAT(watch.data(), HasSubstr("\"kota-depok\""));
}

TEST_F(RestTlsTest, PlaintextAndSilentClientsGetNoAnswerAndKeepNoSlot) {
  int refused = 0;
  // Plaintext HTTP to the HTTPS port: the handshake fails, the connection closes, no HTTP.
  RawSocket plain(port_);
  plain.Send("GET /v1/agencies HTTP/1.1\r\nHost: localhost\r\n\r\n");
  ASSERT_TRUE(plain.WaitClosed(absl::Seconds(5)));
  EXPECT_THAT(plain.data(), Not(HasSubstr("HTTP/1.")));
  ++refused;
  EXPECT_TRUE(WaitOpenConnections(*gateway_, 0)) << "it left nothing behind";

  // Clients that connect and never handshake fill the per-address cap ...
  std::vector<std::unique_ptr<RawSocket>> silent;
  for (int i = 0; i < kPerAddressCap; ++i) silent.push_back(std::make_unique<RawSocket>(port_));
  ASSERT_TRUE(WaitOpenConnections(*gateway_, kPerAddressCap));
  HttpsConn over_cap(port_, Trusting());
  EXPECT_EQ(over_cap.Do("GET", "/v1/agencies").status, -1) << "the cap is full";
  // ... and are closed after rest_read_timeout (1 s), which frees their slots.
  const absl::Time start = absl::Now();
  for (auto& s : silent) {
    EXPECT_TRUE(s->WaitClosed(absl::Seconds(5)));
    EXPECT_EQ(s->data(), "");
    ++refused;
  }
  const absl::Duration closed_after = absl::Now() - start;
  EXPECT_LT(closed_after, absl::Seconds(3));
  EXPECT_TRUE(WaitOpenConnections(*gateway_, 0));
  HttpsConn after(port_, Trusting());
  const HttpResponse r = after.Do("GET", "/v1/agencies");
  EXPECT_EQ(r.status, 200) << r.body;
  std::cout << "[security] REST TLS: " << refused << " handshakes refused (1 plaintext request, "
            << kPerAddressCap << " silent clients closed within "
            << absl::FormatDuration(closed_after) << " of a 1s read timeout); the cap of "
            << kPerAddressCap << " per address is free again" << std::endl;
}

TEST_F(RestTlsTest, AListedClientCertificateActsAsItsPrincipal) {
  HttpsConn filer(port_, Trusting());
  const std::string id = FileOverHttps(filer, "rest-tls-cert-0001");
  ASSERT_FALSE(id.empty());
  const std::string path = absl::StrCat("/v1/complaints/", id);

  // The agency system's certificate, without any key, reads its agency's case.
  HttpsConn agency(port_, Trusting("agency-bogor"));
  HttpResponse r = agency.Do("GET", path);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Str("complaint.id"), id);
  EXPECT_EQ(r.Str("complaint.complainant.name"), "Siti Rahmawati");
  // Open311 takes the certificate too: the new case, not publicly listed, is shown to it.
  const std::string open311_path = absl::StrCat("/open311/v2/requests/", id, ".json");
  r = agency.Do("GET", open311_path);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.ItemStr(0, "service_request_id"), id);

  // The same certificate on the gRPC port acts as the same principal.
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = "";
  {
    std::ifstream ca(certs_->Cert("ca")), cert(certs_->Cert("agency-bogor")),
        key(certs_->Key("agency-bogor"));
    std::stringstream a, c, k;
    a << ca.rdbuf();
    c << cert.rdbuf();
    k << key.rdbuf();
    tls.pem_root_certs = a.str();
    tls.pem_cert_chain = c.str();
    tls.pem_private_key = k.str();
  }
  auto complaints =
      cv1::Complaints::NewStub(grpc::CreateChannel(gateway_->address(), grpc::SslCredentials(tls)));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  cv1::GetComplaintRequest get;
  get.set_id(id);
  cv1::GetComplaintResponse got;
  const grpc::Status s = complaints->GetComplaint(&ctx, get, &got);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(got.complaint().id(), id);

  // No certificate: a public caller, who sees publicly listed cases; of a new one only that
  // it exists and its state, not its text nor its complainant.
  HttpsConn anonymous(port_, Trusting());
  r = anonymous.Do("GET", path);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Str("public_complaint.unlisted"), "true") << r.body;
  EXPECT_THAT(r.body, Not(HasSubstr("Siti"))) << r.body;
  r = anonymous.Do("GET", open311_path);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.ItemStr(0, "description"), "") << r.body;
  EXPECT_THAT(r.body, Not(HasSubstr("Siti"))) << r.body;
  // A certificate the CA signed but the gateway does not list: 401 as on the gRPC port.
  HttpsConn stranger(port_, Trusting("stranger"));
  r = stranger.Do("GET", path);
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_THAT(r.Str("message"), HasSubstr("not registered"));
  // A certificate of another CA does not get through the handshake, key or not.
  int refused = 0;
  for (int i = 0; i < 3; ++i) {
    HttpsConn outsider(port_, Trusting("outsider"));
    r = outsider.Do("GET", path, "", {{"authorization", "Bearer " + channel_key_}});
    EXPECT_EQ(r.status, -1) << r.body;
    if (r.status == -1) ++refused;
  }
  std::cout << "[security] REST TLS: the listed certificate read its case over REST and gRPC; "
            << "unlisted certificate 401; " << refused
            << " of 3 handshakes with a certificate of another CA refused" << std::endl;
}

// A key that is not the certificate's stops the gateway before it serves, naming the key and
// its file (gRPC alone reports only "cannot listen").
TEST_F(RestTlsTest, AKeyThatIsNotTheCertificatesStopsTheStart) {
  auto started =
      cluster_->Start(Binary::kGateway, {.name = "gateway-bad-key",
                                         .flags = {"--tls_cert_file=" + certs_->Cert("server"),
                                                   "--tls_key_file=" + certs_->Key("stranger")},
                                         .wait_serving = false});
  ASSERT_FALSE(started.ok());
  // The status quotes the log, where the message is JSON-escaped.
  const std::string log(started.status().message());
  EXPECT_THAT(log, HasSubstr("REST TLS: tls_key_file"));
  EXPECT_THAT(log, HasSubstr("stranger.key"));
  EXPECT_THAT(log, HasSubstr("key values mismatch"));
}

// An Open311 request watches its connection so that a client that leaves cancels the backend
// calls. Over TLS 1.3 the connection often reports readable with nothing to read (the client's
// Finished and its request arrive as two segments, both read with the request); the watch's
// peek then blocked the connection's thread until the client sent more, and about one request
// in ten hung until its client gave up. Each of these requests, on a new connection, must be
// answered at once.
TEST_F(RestTlsTest, Open311RequestsOnNewHttpsConnectionsAreAnsweredAtOnce) {
  constexpr int kRequests = 100;
  absl::Duration slowest;
  for (int i = 0; i < kRequests; ++i) {
    HttpsConn conn(port_, Trusting());
    const absl::Time start = absl::Now();
    const testing::HttpResponse r = conn.Do("GET", "/open311/v2/services.json");
    const absl::Duration took = absl::Now() - start;
    slowest = std::max(slowest, took);
    ASSERT_EQ(r.status, 200) << "request " << i << ": " << r.body;
    ASSERT_LT(took, absl::Seconds(2)) << "request " << i << " stalled";
  }
  std::cout << "[security] " << kRequests << " Open311 requests on new HTTPS connections, slowest "
            << absl::FormatDuration(slowest) << std::endl;
}

// The cost of TLS per request on this machine (not gated): a plaintext gateway next to the
// TLS one, the same read on one keep-alive connection each, and a new connection per request.
TEST_F(RestTlsTest, CostOfHttpsPerRequest) {
  auto plain =
      cluster_->Start(Binary::kGateway, {.name = "gateway-plain", .flags = {kNoRateLimit}});
  ASSERT_THAT(plain, IsOk());
  const int plain_port = (*plain)->rest_port();
  const std::string target = absl::StrCat("/v1/agencies/", kAgency);
  constexpr int kRequests = 300;
  constexpr int kConnections = 50;
  auto per = [](absl::Time start, int n) { return (absl::Now() - start) / n; };

  testing::HttpConn http(plain_port);
  HttpsConn https(port_, Trusting());
  for (int i = 0; i < 10; ++i) {  // warm both (read cache, connections to the registry)
    ASSERT_EQ(http.Do("GET", target).status, 200);
    ASSERT_EQ(https.Do("GET", target).status, 200);
  }
  absl::Time start = absl::Now();
  for (int i = 0; i < kRequests; ++i) ASSERT_EQ(http.Do("GET", target).status, 200);
  const absl::Duration http_keepalive = per(start, kRequests);
  start = absl::Now();
  for (int i = 0; i < kRequests; ++i) ASSERT_EQ(https.Do("GET", target).status, 200);
  const absl::Duration https_keepalive = per(start, kRequests);
  start = absl::Now();
  for (int i = 0; i < kConnections; ++i) {
    ASSERT_EQ(testing::HttpDo(plain_port, "GET", target).status, 200);
  }
  const absl::Duration http_new = per(start, kConnections);
  start = absl::Now();
  for (int i = 0; i < kConnections; ++i) {
    HttpsConn once(port_, Trusting());
    ASSERT_EQ(once.Do("GET", target).status, 200);
  }
  const absl::Duration https_new = per(start, kConnections);
  std::cout << "[security] REST TLS cost per GET " << target << ": keep-alive http "
            << absl::FormatDuration(http_keepalive) << ", https "
            << absl::FormatDuration(https_keepalive) << " (" << kRequests
            << " requests); new connection each: http " << absl::FormatDuration(http_new)
            << ", https " << absl::FormatDuration(https_new) << " (" << kConnections
            << " requests, TLS 1.3 handshake with P-256 certificates)" << std::endl;
}

}  // namespace
}  // namespace simpul
