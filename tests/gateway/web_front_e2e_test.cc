// The web front through the real simpul-gateway binary (issue #17), over HTTPS: --web_root
// with a small build directory serves the front's pages and assets (gzip copies, security
// headers, HSTS), an officer signs in with an API key and lists the agency's complaints with
// the session cookie alone, and a gateway whose web_root is missing refuses to start, naming it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/redis.h"
#include "gateway/api_keys.h"
#include "gmock/gmock.h"
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

using ::simpul::testing::Binary;
using ::simpul::testing::Caller;
using ::simpul::testing::HttpResponse;
using ::simpul::testing::HttpsConn;
using ::simpul::testing::IsOk;
using ::simpul::testing::ServiceCluster;
using ::simpul::testing::TestCertificates;
using ::simpul::testing::TlsClientOptions;
using ::testing::HasSubstr;

constexpr char kAgency[] = "kota-bogor";
constexpr char kUnit[] = "dpmptsp-kota-bogor";
constexpr char kService[] = "izin-usaha-kota-bogor";
constexpr char kIndex[] =
    "<!doctype html><title>Simpul</title><script src=\"/assets/main-AB12.js\">";

class WebFrontE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = ServiceCluster::Create();
    ASSERT_THAT(cluster, IsOk());
    cluster_ = *std::move(cluster);
    auto certs = TestCertificates::Create(cluster_->dir() + "/pki", {});
    ASSERT_THAT(certs, IsOk());
    certs_ = std::make_unique<TestCertificates>(*std::move(certs));
    web_root_ = cluster_->dir() + "/web";
    std::filesystem::create_directories(web_root_ + "/assets");
    std::ofstream(web_root_ + "/index.html") << kIndex;
    std::ofstream(web_root_ + "/assets/main-AB12.js") << "console.log('simpul')";
    std::ofstream(web_root_ + "/assets/main-AB12.js.gz") << "GZ-COPY";
    std::ofstream(web_root_ + "/openapi.json") << R"({"openapi": "3.1.0"})";

    pool_ = std::make_unique<RedisPool>(cluster_->redis().PoolOptions());
    auto keys = gateway::ApiKeyStore::Create(
        pool_.get(), gateway::ApiKeyStore::Options{.cache_ttl = absl::ZeroDuration()});
    ASSERT_TRUE(keys.ok()) << keys.status();
    keys_ = *std::move(keys);
    for (Binary binary : {Binary::kRegistry, Binary::kComplaints}) {
      ASSERT_THAT(cluster_->Start(binary, {.flags = {"--drain_timeout=1s"}}), IsOk());
    }
    auto gateway = cluster_->Start(
        Binary::kGateway,
        {.flags = {"--drain_timeout=1s", "--tls_cert_file=" + certs_->Cert("server"),
                   "--tls_key_file=" + certs_->Key("server"), "--web_root=" + web_root_,
                   "--rate_limits=public=1000/s burst 1000"},
         .wait_serving = false});
    ASSERT_THAT(gateway, IsOk());
    gateway_ = *gateway;
    port_ = gateway_->rest_port();
    ASSERT_GT(port_, 0);

    const Caller root{"root", cluster_->tokens().Token(common::v1::ROLE_PLATFORM_ADMIN)};
    registry_ = registry::v1::Registry::NewStub(cluster_->registry().channel());
    testing::RegistrySeeder seed(registry_.get());
    seed.CreateAgency(root, kAgency, registry::v1::AGENCY_KIND_CITY, "32.71");
    seed.CreateUnit(root, kUnit, kAgency, "Dinas Penanaman Modal");
    seed.CreateService(root, kService, kUnit, "Izin Usaha Mikro");
    seed.AdoptStandard(root, root, kService, testing::CompleteComponents());
    common::v1::Principal op;
    op.set_role(common::v1::ROLE_AGENCY_OPERATOR);
    op.set_agency_id(kAgency);
    auto issued = keys_->Issue(op, "web front e2e operator", "test:web");
    ASSERT_TRUE(issued.ok()) << issued.status();
    operator_key_ = issued->token;
    operator_subject_ = "key:" + issued->key.id();
    common::v1::Principal sms;
    sms.set_role(common::v1::ROLE_CHANNEL);
    sms.set_channel("sms-1708");
    sms.add_scope_agency_ids(kAgency);
    issued = keys_->Issue(sms, "web front e2e sms", "test:web");
    ASSERT_TRUE(issued.ok()) << issued.status();
    channel_key_ = issued->token;
  }

  TlsClientOptions Trusting() const { return {.ca_file = certs_->Cert("ca")}; }

  static void ExpectFrontHeaders(const HttpResponse& r) {
    EXPECT_THAT(r.Header("content-security-policy"), HasSubstr("default-src 'self'"));
    EXPECT_THAT(r.Header("content-security-policy"), HasSubstr("frame-ancestors 'none'"));
    EXPECT_EQ(r.Header("x-content-type-options"), "nosniff");
    EXPECT_EQ(r.Header("x-frame-options"), "DENY");
    EXPECT_EQ(r.Header("referrer-policy"), "same-origin");
    EXPECT_EQ(r.Header("cross-origin-opener-policy"), "same-origin");
    EXPECT_EQ(r.Header("strict-transport-security"), "max-age=31536000");
  }

  std::unique_ptr<ServiceCluster> cluster_;
  std::unique_ptr<TestCertificates> certs_;
  std::string web_root_;
  std::unique_ptr<RedisPool> pool_;
  std::unique_ptr<gateway::ApiKeyStore> keys_;
  std::unique_ptr<registry::v1::Registry::Stub> registry_;
  testing::ServiceProcess* gateway_ = nullptr;
  int port_ = 0;
  std::string operator_key_;
  std::string operator_subject_;
  std::string channel_key_;
};

TEST_F(WebFrontE2eTest, PagesAndAssetsAreServedOverHttps) {
  HttpsConn conn(port_, Trusting());
  HttpResponse index = conn.Do("GET", "/");
  ASSERT_EQ(index.status, 200) << index.body;
  EXPECT_EQ(index.body, kIndex);
  EXPECT_EQ(index.Header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(index.Header("cache-control"), "no-cache");
  ExpectFrontHeaders(index);

  HttpResponse page = conn.Do("GET", "/kinerja?lang=xx");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.body, kIndex);
  ExpectFrontHeaders(page);

  HttpResponse gz = conn.Do("GET", "/assets/main-AB12.js", "", {{"accept-encoding", "gzip, br"}});
  EXPECT_EQ(gz.status, 200);
  EXPECT_EQ(gz.body, "GZ-COPY");
  EXPECT_EQ(gz.Header("content-encoding"), "gzip");
  EXPECT_EQ(gz.Header("vary"), "Accept-Encoding");
  EXPECT_EQ(gz.Header("cache-control"), "public, max-age=31536000, immutable");
  HttpResponse again = conn.Do("GET", "/assets/main-AB12.js", "",
                               {{"accept-encoding", "gzip"}, {"if-none-match", gz.Header("etag")}});
  EXPECT_EQ(again.status, 304);
  EXPECT_EQ(conn.Do("GET", "/assets/main-AB12.js").body, "console.log('simpul')");

  HttpResponse api = conn.Do("GET", "/openapi.json");
  EXPECT_EQ(api.Header("content-type"), "application/json");
  HttpResponse missing = conn.Do("GET", "/assets/%2e%2e/%2e%2e/etc/passwd.js");
  EXPECT_EQ(missing.status, 404);
  ExpectFrontHeaders(missing);
  HttpResponse post = conn.Do("POST", "/kinerja", "{}");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.Header("allow"), "GET, HEAD");
  // The API is still the API.
  EXPECT_EQ(conn.Do("GET", "/v1/agencies/kota-bogor").status, 200);
  EXPECT_EQ(conn.Do("GET", "/v1/nothing-here").status, 404);

  // HEAD: the headers of GET, its length, no body (read raw: the client's parser expects one).
  HttpsConn raw(port_, Trusting());
  ASSERT_TRUE(
      raw.Send("HEAD /assets/main-AB12.js HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               "Connection: close\r\n\r\n"));
  raw.ReadUntil([](const std::string&) { return false; }, absl::Seconds(5));
  EXPECT_THAT(raw.data(), ::testing::StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(raw.data(), HasSubstr("Content-Length: 21\r\n"));
  EXPECT_THAT(raw.data(), HasSubstr("Content-Security-Policy: default-src 'self'"));
  EXPECT_THAT(raw.data(), ::testing::EndsWith("\r\n\r\n"));
}

TEST_F(WebFrontE2eTest, AnOfficerSignsInAndListsComplaintsWithTheCookieAlone) {
  HttpsConn conn(port_, Trusting());
  HttpResponse filed = conn.Do(
      "POST", "/v1/complaints",
      absl::StrCat(R"({"idempotency_key": "web-e2e-1", "report_type": "REPORT_TYPE_COMPLAINT", )",
                   R"("channel": "CHANNEL_SMS", "service_id": ")", kService,
                   R"(", "title": "Izin usaha belum terbit", )",
                   R"("description": "Izin usaha mikro kami belum terbit setelah dua minggu."})"),
      {{"authorization", "Bearer " + channel_key_}});
  ASSERT_EQ(filed.status, 201) << filed.body;

  HttpResponse signed_in =
      conn.Do("POST", "/web/session", absl::StrCat(R"({"api_key": ")", operator_key_, "\"}"));
  ASSERT_EQ(signed_in.status, 201) << signed_in.body;
  EXPECT_EQ(signed_in.Str("principal.subject"), operator_subject_);
  const std::string set_cookie = signed_in.Header("set-cookie");
  EXPECT_THAT(set_cookie, HasSubstr("; Path=/; HttpOnly; SameSite=Strict; Max-Age=28800; Secure"));
  const std::string cookie = set_cookie.substr(0, set_cookie.find(';'));  // "simpul_session=..."
  ExpectFrontHeaders(signed_in);

  HttpResponse listed =
      conn.Do("GET", absl::StrCat("/v1/complaints?agency_id=", kAgency), "", {{"cookie", cookie}});
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_EQ(listed.json.fields().at("complaints").list_value().values_size(), 1);
  ASSERT_FALSE(filed.Str("complaint.id").empty()) << filed.body;
  // The case's history is for officers only: the cookie makes the call the operator's.
  const std::string history =
      absl::StrCat("/v1/complaints/", filed.Str("complaint.id"), "/history");
  EXPECT_EQ(conn.Do("GET", history).status, 401);
  HttpResponse as_operator = conn.Do("GET", history, "", {{"cookie", cookie}});
  EXPECT_EQ(as_operator.status, 200) << as_operator.body;
  EXPECT_EQ(
      conn.Do("GET", history, "", {{"cookie", "simpul_session=" + std::string(43, 'A')}}).status,
      401);

  HttpResponse out = conn.Do("DELETE", "/web/session", "",
                             {{"cookie", cookie}, {"x-csrf-token", signed_in.Str("csrf_token")}});
  EXPECT_EQ(out.status, 204);
  EXPECT_THAT(out.Header("set-cookie"), HasSubstr("Max-Age=0; Secure"));
  // Signed out, the old cookie is a public caller's again, and the answer clears it.
  HttpResponse after = conn.Do("GET", history, "", {{"cookie", cookie}});
  EXPECT_EQ(after.status, 401);
  EXPECT_THAT(after.Header("set-cookie"), HasSubstr("simpul_session=; "));
}

TEST_F(WebFrontE2eTest, AMissingWebRootStopsTheStartNamingIt) {
  auto refused = cluster_->Start(
      Binary::kGateway, {.name = "gateway-no-web",
                         .flags = {"--drain_timeout=1s", "--web_root=" + web_root_ + "-missing"},
                         .wait_serving = false});
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(),
              HasSubstr(absl::StrCat("web_root: ", web_root_, "-missing is not a directory")));
}

}  // namespace
}  // namespace simpul
