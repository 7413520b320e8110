// Unit tests of the web front's static files (gateway/rest/web_front.h), no server: loading,
// types, gzip negotiation, ETag/304, cache headers, the single-page fallback against 404,
// traversal attempts, methods, and the security headers on every answer.
#include "gateway/rest/web_front.h"

#include <filesystem>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace simpul::gateway {
namespace {

using ::simpul::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

std::map<std::string, std::string> Headers(const WebFront::Reply& r) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : r.headers) out[k] = v;
  return out;
}

std::string Body(const WebFront::Reply& r) { return r.body ? *r.body : ""; }

void ExpectSecurityHeaders(const WebFront::Reply& r) {
  auto h = Headers(r);
  EXPECT_EQ(h["Content-Security-Policy"],
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
            "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
            "frame-ancestors 'none'; form-action 'self'");
  EXPECT_EQ(h["X-Content-Type-Options"], "nosniff");
  EXPECT_EQ(h["Referrer-Policy"], "same-origin");
  EXPECT_EQ(h["X-Frame-Options"], "DENY");
  EXPECT_EQ(h["Cross-Origin-Opener-Policy"], "same-origin");
}

class WebFrontTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::make_unique<TempDir>("web_front");
    std::filesystem::create_directories(dir_->path() + "/assets");
    std::filesystem::create_directories(dir_->path() + "/.git");
    dir_->Write("index.html", "<!doctype html><title>Simpul</title>");
    dir_->Write("assets/main-AB12.js", "console.log('main')");
    dir_->Write("assets/main-AB12.js.gz", "GZIPPED-MAIN");
    dir_->Write("assets/app-CD34.css", "body{}");
    dir_->Write("openapi.json", "{\"openapi\":\"3.1.0\"}");
    dir_->Write("logo.svg", "<svg/>");
    dir_->Write(".env", "SECRET=1");
    dir_->Write(".git/config", "[core]");
    std::filesystem::create_symlink("/etc/passwd", dir_->path() + "/passwd.txt");
    auto front = WebFront::Load(dir_->path());
    ASSERT_TRUE(front.ok()) << front.status();
    front_ = *std::move(front);
  }

  WebFront::Reply Get(const std::string& path, const std::string& accept_encoding = "",
                      const std::string& if_none_match = "") {
    return front_->Serve("GET", path, accept_encoding, if_none_match);
  }

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<WebFront> front_;
};

TEST_F(WebFrontTest, ServesFilesWithTheirTypesAndCacheHeaders) {
  WebFront::Reply r = Get("/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Body(r), "<!doctype html><title>Simpul</title>");
  EXPECT_EQ(Headers(r)["Content-Type"], "text/html; charset=utf-8");
  EXPECT_EQ(Headers(r)["Cache-Control"], "no-cache");
  ExpectSecurityHeaders(r);

  r = Get("/assets/app-CD34.css");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Headers(r)["Content-Type"], "text/css; charset=utf-8");
  EXPECT_EQ(Headers(r)["Cache-Control"], "public, max-age=31536000, immutable");
  EXPECT_EQ(Headers(r).count("Vary"), 0u);  // no .gz copy

  r = Get("/openapi.json");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Headers(r)["Content-Type"], "application/json");
  EXPECT_EQ(Headers(r)["Cache-Control"], "no-cache");
  EXPECT_EQ(Body(r), "{\"openapi\":\"3.1.0\"}");

  EXPECT_EQ(Headers(Get("/logo.svg"))["Content-Type"], "image/svg+xml");
  EXPECT_EQ(WebContentType("a/b.JS"), "text/javascript; charset=utf-8");
  EXPECT_EQ(WebContentType("x.unknown"), "application/octet-stream");
  EXPECT_EQ(front_->files(), 6u);  // index, 2 js (one .gz), css, openapi, svg
}

TEST_F(WebFrontTest, GzipCopyOnlyWhenAccepted) {
  WebFront::Reply plain = Get("/assets/main-AB12.js");
  EXPECT_EQ(Body(plain), "console.log('main')");
  EXPECT_EQ(Headers(plain).count("Content-Encoding"), 0u);
  EXPECT_EQ(Headers(plain)["Vary"], "Accept-Encoding");
  EXPECT_EQ(Headers(plain)["Content-Type"], "text/javascript; charset=utf-8");

  WebFront::Reply gz = Get("/assets/main-AB12.js", "br, gzip;q=0.8, deflate");
  EXPECT_EQ(Body(gz), "GZIPPED-MAIN");
  EXPECT_EQ(Headers(gz)["Content-Encoding"], "gzip");
  EXPECT_EQ(Headers(gz)["Vary"], "Accept-Encoding");
  EXPECT_EQ(Headers(gz)["Content-Type"], "text/javascript; charset=utf-8");
  EXPECT_NE(Headers(gz)["ETag"], Headers(plain)["ETag"]);

  EXPECT_EQ(Body(Get("/assets/main-AB12.js", "gzip;q=0")), "console.log('main')");
  EXPECT_EQ(Body(Get("/assets/main-AB12.js", "identity")), "console.log('main')");
  EXPECT_EQ(Body(Get("/assets/main-AB12.js", "*")), "GZIPPED-MAIN");
  EXPECT_TRUE(AcceptsGzip("GZIP"));
  EXPECT_FALSE(AcceptsGzip("gzip; q=0.000"));
}

TEST_F(WebFrontTest, EtagAndIfNoneMatchAnswer304) {
  WebFront::Reply r = Get("/assets/app-CD34.css");
  const std::string etag = Headers(r)["ETag"];
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(etag.front(), '"');
  WebFront::Reply again = Get("/assets/app-CD34.css", "", etag);
  EXPECT_EQ(again.status, 304);
  EXPECT_EQ(again.body, nullptr);
  EXPECT_EQ(Headers(again)["ETag"], etag);
  ExpectSecurityHeaders(again);
  EXPECT_EQ(Get("/assets/app-CD34.css", "", absl::StrCat("\"other\", W/", etag)).status, 304);
  EXPECT_EQ(Get("/assets/app-CD34.css", "", "\"other\"").status, 200);
  // The gzip copy has its own validator.
  const std::string gz_etag = Headers(Get("/assets/main-AB12.js", "gzip"))["ETag"];
  EXPECT_EQ(Get("/assets/main-AB12.js", "gzip", gz_etag).status, 304);
  EXPECT_EQ(Get("/assets/main-AB12.js", "", gz_etag).status, 200);
}

TEST_F(WebFrontTest, PagesWithoutADotGetIndexAndMissingFilesAre404) {
  for (const char* page : {"/kinerja", "/standar/akta-kelahiran", "/petugas/pengaduan/abc",
                           "/pengaduan/baru", "/lacak", "/petugas/"}) {
    WebFront::Reply r = Get(page);
    EXPECT_EQ(r.status, 200) << page;
    EXPECT_EQ(Body(r), "<!doctype html><title>Simpul</title>") << page;
    EXPECT_EQ(Headers(r)["Cache-Control"], "no-cache") << page;
  }
  for (const char* missing : {"/assets/missing-XX.js", "/favicon.ico", "/standar/x.y"}) {
    WebFront::Reply r = Get(missing);
    EXPECT_EQ(r.status, 404) << missing;
    EXPECT_THAT(r.error.message(), HasSubstr("no file")) << missing;
    ExpectSecurityHeaders(r);
  }
}

TEST_F(WebFrontTest, TraversalDotfilesSymlinksAndNulNeverServeAFile) {
  for (const char* path :
       {"/../etc/passwd", "/assets/../../etc/passwd", "/%2e%2e/etc/passwd",
        "/%2E%2E%2Fetc%2Fpasswd", "/assets/%2e%2e/index.html", "//etc/passwd", "/.env",
        "/.git/config", "/%2eenv", "/assets/./main-AB12.js", "/passwd.txt"}) {
    WebFront::Reply r = Get(path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_THAT(Body(r), Not(HasSubstr("root:"))) << path;
    ExpectSecurityHeaders(r);
  }
  for (const char* path : {"/index.html%00.js", "/%00", "/a%zz", "/a%4", "/a\\..\\b"}) {
    WebFront::Reply r = Get(path);
    EXPECT_EQ(r.status, 400) << path;
    ExpectSecurityHeaders(r);
  }
}

TEST_F(WebFrontTest, HeadCarriesTheBodyForItsLengthAndOtherMethodsAre405) {
  WebFront::Reply head = front_->Serve("HEAD", "/assets/app-CD34.css", "", "");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(Body(head), "body{}");  // the server sends its length, not the bytes
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS", "PATCH"}) {
    WebFront::Reply r = front_->Serve(method, "/kinerja", "", "");
    EXPECT_EQ(r.status, 405) << method;
    EXPECT_EQ(Headers(r)["Allow"], "GET, HEAD");
    ExpectSecurityHeaders(r);
  }
}

TEST(WebFrontPathsTest, TheApiOpen311AndTheSessionAreNotTheFronts) {
  EXPECT_FALSE(WebFront::Handles("/v1/agencies"));
  EXPECT_FALSE(WebFront::Handles("/v1"));
  EXPECT_FALSE(WebFront::Handles("/open311/v2/services.json"));
  EXPECT_FALSE(WebFront::Handles("/web/session"));
  EXPECT_TRUE(WebFront::Handles("/"));
  EXPECT_TRUE(WebFront::Handles("/v1x"));
  EXPECT_TRUE(WebFront::Handles("/openapi.json"));
  EXPECT_TRUE(WebFront::Handles("/kinerja"));
}

TEST(WebFrontLoadTest, RefusesAMissingRootNoIndexAndTooManyBytes) {
  auto missing = WebFront::Load("/nonexistent/web-root");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(missing.status().message(), HasSubstr("/nonexistent/web-root"));

  TempDir empty("web_front_empty");
  empty.Write("app.js", "x");
  auto no_index = WebFront::Load(empty.path());
  EXPECT_THAT(no_index.status().message(), HasSubstr("no index.html"));

  TempDir big("web_front_big");
  big.Write("index.html", std::string(600, 'x'));
  big.Write("big.js", std::string(600, 'y'));
  auto over = WebFront::Load(big.path(), 1000);
  ASSERT_FALSE(over.ok());
  EXPECT_THAT(over.status().message(), HasSubstr("over the limit of 1000 bytes"));
  EXPECT_THAT(over.status().message(), HasSubstr(big.path()));
  EXPECT_TRUE(WebFront::Load(big.path(), 1200).ok());
}

}  // namespace
}  // namespace simpul::gateway
