// Unit tests of the webhook rules without network or Redis (services/complaints/webhook_policy.h):
// signatures, the URL and address allow-list, the retry schedule and its cut-off.
#include "services/complaints/webhook_policy.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace simpul::complaints {
namespace {

using ::simpul::testing::IsOk;
using ::simpul::testing::StatusIs;
using ::testing::HasSubstr;

// Computed independently: printf '%s' '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test
constexpr char kKnownSignature[] =
    "38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789";

TEST(WebhookSignatureTest, MatchesAKnownVector) {
  EXPECT_EQ(WebhookSignature("whsec_test", 1700000000, R"({"a":1})"), kKnownSignature);
  EXPECT_EQ(WebhookSignatureHeader({"whsec_test"}, 1700000000, R"({"a":1})"),
            std::string("t=1700000000,v1=") + kKnownSignature);
}

TEST(WebhookSignatureTest, RotationSendsBothSignaturesAndEitherVerifies) {
  const std::string body = R"({"cursor":"1-0"})";
  const std::string header = WebhookSignatureHeader({"new-secret", "old-secret"}, 1700000000, body);
  EXPECT_THAT(header, HasSubstr(",v1=" + WebhookSignature("new-secret", 1700000000, body)));
  EXPECT_THAT(header, HasSubstr(",v1=" + WebhookSignature("old-secret", 1700000000, body)));
  const absl::Time now = absl::FromUnixSeconds(1700000010);
  EXPECT_THAT(VerifyWebhookSignature(header, "new-secret", body, now), IsOk());
  EXPECT_THAT(VerifyWebhookSignature(header, "old-secret", body, now), IsOk());
  EXPECT_THAT(VerifyWebhookSignature(header, "other", body, now),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST(WebhookSignatureTest, VerificationRejectsTamperingReplayAndMalformedHeaders) {
  const std::string body = R"({"a":1})";
  const std::string header = WebhookSignatureHeader({"s"}, 1700000000, body);
  const absl::Time t = absl::FromUnixSeconds(1700000000);
  EXPECT_THAT(VerifyWebhookSignature(header, "s", R"({"a":2})", t),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(VerifyWebhookSignature(header, "s", body, t + absl::Minutes(5)), IsOk());
  EXPECT_THAT(VerifyWebhookSignature(header, "s", body, t + absl::Minutes(5) + absl::Seconds(1)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_THAT(VerifyWebhookSignature(header, "s", body, t - absl::Minutes(6)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_THAT(VerifyWebhookSignature("v1=abc", "s", body, t),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(VerifyWebhookSignature("t=x,v1=abc", "s", body, t),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // A truncated signature never matches (no prefix compare).
  EXPECT_THAT(VerifyWebhookSignature(header.substr(0, header.size() - 2), "s", body, t),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST(WebhookUrlTest, ParsesHttpsUrlsAndRefusesEverythingElse) {
  const WebhookUrlPolicy policy;
  auto url = ParseWebhookUrl("https://Hooks.Example.ORG:8443/simpul/in?x=1", policy);
  ASSERT_THAT(url.status(), IsOk());
  EXPECT_TRUE(url->https);
  EXPECT_EQ(url->host, "hooks.example.org");
  EXPECT_EQ(url->port, 8443);
  EXPECT_EQ(url->target, "/simpul/in?x=1");
  auto bare = ParseWebhookUrl("https://example.org", policy);
  ASSERT_THAT(bare.status(), IsOk());
  EXPECT_EQ(bare->port, 443);
  EXPECT_EQ(bare->target, "/");
  auto v6 = ParseWebhookUrl("https://[2001:db8::1]:9000/x", policy);
  ASSERT_THAT(v6.status(), IsOk());
  EXPECT_EQ(v6->host, "2001:db8::1");

  for (const char* bad :
       {"", "http://example.org/", "ftp://example.org/", "example.org",
        "https://user:pw@example.org/", "https://example.org/#frag", "https:///path",
        "https://example.org:0/", "https://example.org:70000/", "https://exa mple.org/",
        "https://[::1/x", "https://[nothost]/", "https://exa_mple.org/"}) {
    EXPECT_THAT(ParseWebhookUrl(bad, policy), StatusIs(absl::StatusCode::kInvalidArgument)) << bad;
  }
  EXPECT_THAT(ParseWebhookUrl("https://example.org/" + std::string(3000, 'a'), policy),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at most 2048")));
  WebhookUrlPolicy http_ok;
  http_ok.allow_http = true;
  auto plain = ParseWebhookUrl("http://127.0.0.1:8080/in", http_ok);
  ASSERT_THAT(plain.status(), IsOk());
  EXPECT_FALSE(plain->https);
  EXPECT_EQ(plain->port, 8080);
}

TEST(WebhookAddressTest, EveryPrivateAndSpecialRangeIsForbidden) {
  for (const char* ip : {"0.0.0.0",
                         "10.0.0.1",
                         "10.255.255.255",
                         "100.64.0.1",
                         "100.127.255.254",
                         "127.0.0.1",
                         "127.1.2.3",
                         "169.254.169.254",
                         "172.16.0.1",
                         "172.31.255.255",
                         "192.0.0.8",
                         "192.168.1.1",
                         "198.18.0.1",
                         "224.0.0.251",
                         "239.255.255.250",
                         "255.255.255.255",
                         "::",
                         "::1",
                         "fc00::1",
                         "fd12:3456::1",
                         "fe80::1",
                         "febf::1",
                         "fec0::1",
                         "ff02::1",
                         "::ffff:127.0.0.1",
                         "::ffff:10.0.0.1",
                         "::ffff:169.254.169.254",
                         "64:ff9b::a00:1"}) {
    EXPECT_TRUE(ForbiddenAddressReason(ip).has_value()) << ip;
  }
  for (const char* ip :
       {"8.8.8.8", "1.1.1.1", "100.63.255.255", "100.128.0.0", "172.15.255.255", "172.32.0.0",
        "192.169.0.1", "169.253.255.255", "2001:4860:4860::8888", "::ffff:8.8.8.8"}) {
    EXPECT_EQ(ForbiddenAddressReason(ip), std::nullopt) << ip;
  }
  EXPECT_EQ(ForbiddenAddressReason("example.org"), "not an IP address");
  EXPECT_THAT(*ForbiddenAddressReason("169.254.169.254"), HasSubstr("link-local"));
}

TEST(WebhookAddressTest, AllowListsAdmitNamedNetworksAndHostsOnly) {
  WebhookUrlPolicy policy;
  EXPECT_THAT(CheckWebhookAddresses(policy, "example.org", {"93.184.216.34"}), IsOk());
  // A name resolving to a private address is refused like the address itself; one private
  // address among public ones is enough (the connection could pick it).
  EXPECT_THAT(CheckWebhookAddresses(policy, "localhost", {"127.0.0.1"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("loopback")));
  EXPECT_THAT(CheckWebhookAddresses(policy, "mixed.example", {"93.184.216.34", "10.1.2.3"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("10.1.2.3")));
  EXPECT_THAT(CheckWebhookAddresses(policy, "nowhere.example", {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no address")));

  policy.allow_cidrs = {"127.0.0.1/32", "fd00::/8"};
  EXPECT_THAT(CheckWebhookAddresses(policy, "localhost", {"127.0.0.1"}), IsOk());
  EXPECT_THAT(CheckWebhookAddresses(policy, "127.0.0.2", {"127.0.0.2"}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(CheckWebhookAddresses(policy, "x", {"fd00::5"}), IsOk());
  EXPECT_THAT(CheckWebhookAddresses(policy, "x", {"fe80::5"}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  policy.allow_hosts = {"internal.partner"};
  EXPECT_THAT(CheckWebhookAddresses(policy, "internal.partner", {"10.9.9.9"}), IsOk());

  EXPECT_THAT(ValidateWebhookUrlPolicy(policy), IsOk());
  policy.allow_cidrs.push_back("10.0.0.0/33");
  EXPECT_THAT(ValidateWebhookUrlPolicy(policy),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("10.0.0.0/33")));
}

TEST(WebhookRetryTest, BackoffDoublesUpToTheCapAndStopsAfterTheWindow) {
  WebhookRetryPolicy policy;  // 10 s doubling, capped at 1 h, 24 h window
  policy.jitter = 0;
  const absl::Time first = absl::FromUnixSeconds(1700000000);
  std::vector<absl::Duration> waits;
  absl::Time now = first;
  int failed = 0;
  while (true) {
    ++failed;
    std::optional<absl::Time> next = NextWebhookAttempt(policy, first, failed, now, 7);
    if (!next) break;
    waits.push_back(*next - now);
    now = *next;  // a fake clock: the attempt fails at once
  }
  ASSERT_GE(waits.size(), 10u);
  EXPECT_EQ(waits[0], absl::Seconds(10));
  EXPECT_EQ(waits[1], absl::Seconds(20));
  EXPECT_EQ(waits[2], absl::Seconds(40));
  EXPECT_EQ(waits[8], absl::Seconds(2560));
  EXPECT_EQ(waits[9], absl::Hours(1));  // 5120 s capped
  EXPECT_EQ(waits.back(), absl::Hours(1));
  // The last attempt lies within the window and one more wait would leave it.
  EXPECT_LE(now, first + absl::Hours(24));
  EXPECT_GT(now + absl::Hours(1), first + absl::Hours(24));
  // 10+20+...+2560 = 5110 s, then hourly: 1 + 9 + 22 attempts.
  EXPECT_EQ(waits.size(), 9u + 22u);
}

TEST(WebhookRetryTest, JitterStaysWithinItsBoundsAndIsReproducible) {
  WebhookRetryPolicy policy;
  const absl::Time first = absl::FromUnixSeconds(1700000000);
  for (uint64_t seed = 0; seed < 50; ++seed) {
    auto a = NextWebhookAttempt(policy, first, 3, first, seed);
    ASSERT_TRUE(a.has_value());
    EXPECT_GE(*a - first, absl::Seconds(32));  // 40 s +- 20 %
    EXPECT_LE(*a - first, absl::Seconds(48));
    EXPECT_EQ(a, NextWebhookAttempt(policy, first, 3, first, seed));
  }
  // Milliseconds for tests: the same rules at another scale.
  WebhookRetryPolicy fast{.initial = absl::Milliseconds(20),
                          .max = absl::Milliseconds(100),
                          .jitter = 0,
                          .window = absl::Seconds(1)};
  EXPECT_EQ(*NextWebhookAttempt(fast, first, 1, first, 0), first + absl::Milliseconds(20));
  EXPECT_FALSE(NextWebhookAttempt(fast, first, 5, first + absl::Milliseconds(950), 0));
}

}  // namespace
}  // namespace simpul::complaints
