#include "common/identity.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace simpul {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);
constexpr char kRegistry[] = "simpul-registry";

std::string NewKey() {
  auto pem = IdentitySigner::GeneratePrivateKeyPem();
  EXPECT_TRUE(pem.ok()) << pem.status();
  return pem.value_or("");
}

std::string PublicOf(const std::string& private_pem) {
  auto pem = IdentitySigner::PublicKeyPemOf(private_pem);
  EXPECT_TRUE(pem.ok()) << pem.status();
  return pem.value_or("");
}

IdentitySigner SignerWith(const std::string& private_pem) {
  IdentitySigner signer;
  EXPECT_TRUE(signer.SetPrivateKeyPem(private_pem).ok());
  return signer;
}

common::v1::Principal AgencyAdmin() {
  common::v1::Principal p;
  p.set_subject("key-17");
  p.set_role(common::v1::ROLE_AGENCY_ADMIN);
  p.set_agency_id("dukcapil-jakarta");
  return p;
}

common::v1::Principal Service(const std::string& name,
                              common::v1::Role role = common::v1::ROLE_SERVICE) {
  common::v1::Principal p;
  p.set_subject(ServiceSubject(name));
  p.set_role(role);
  return p;
}

// The registry's keys, as deploy/run sets them: the gateway's key for people, the monitoring
// service's key for its service subject only.
class IdentityKeysTest : public ::testing::Test {
 protected:
  IdentityKeysTest()
      : gateway_key_(NewKey()),
        monitoring_key_(NewKey()),
        gateway_(SignerWith(gateway_key_)),
        monitoring_(SignerWith(monitoring_key_)),
        registry_(IdentitySigner::Options{.audience = kRegistry, .accept_service_role = true}) {
    EXPECT_TRUE(registry_.TrustPem(PublicOf(gateway_key_), IdentitySigner::kAnyPerson).ok());
    EXPECT_TRUE(
        registry_.TrustPem(PublicOf(monitoring_key_), ServiceSubject("simpul-monitoring")).ok());
  }

  std::string Sign(const IdentitySigner& signer, const common::v1::Principal& p,
                   const std::string& audience = kRegistry,
                   absl::Time expire = kNow + absl::Minutes(5)) {
    auto token = signer.Sign(p, audience, expire);
    EXPECT_TRUE(token.ok()) << token.status();
    return token.value_or("");
  }

  absl::StatusCode Code(const std::string& token) {
    return registry_.Verify(token, kNow).status().code();
  }

  std::string gateway_key_, monitoring_key_;
  IdentitySigner gateway_, monitoring_, registry_;
};

TEST_F(IdentityKeysTest, RoundTrip) {
  const std::string token = Sign(gateway_, AgencyAdmin());
  EXPECT_TRUE(absl::StartsWith(token, "v2." + gateway_.key_id() + ".")) << token;
  auto out = registry_.Verify(token, kNow);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->subject(), "key-17");
  EXPECT_EQ(out->role(), common::v1::ROLE_AGENCY_ADMIN);
  EXPECT_EQ(out->agency_id(), "dukcapil-jakarta");
  EXPECT_EQ(out->audience(), kRegistry);
  EXPECT_EQ(out->expire_time().seconds(), absl::ToUnixSeconds(kNow + absl::Minutes(5)));
}

TEST_F(IdentityKeysTest, KeyIdIsTheFingerprintOfThePublicKey) {
  auto id = IdentitySigner::KeyIdOfPublicKeyPem(PublicOf(gateway_key_));
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, gateway_.key_id());
  EXPECT_EQ(id->size(), 16u);
  EXPECT_NE(*id, monitoring_.key_id());
}

TEST_F(IdentityKeysTest, WrongKeyIsRefused) {
  // A key pair nobody trusts, and an untrusted key posing under the gateway's key id.
  IdentitySigner stranger = SignerWith(NewKey());
  EXPECT_EQ(Code(Sign(stranger, AgencyAdmin())), absl::StatusCode::kUnauthenticated);
  std::vector<std::string> parts = absl::StrSplit(Sign(stranger, AgencyAdmin()), '.');
  parts[1] = gateway_.key_id();
  auto out = registry_.Verify(absl::StrJoin(parts, "."), kNow);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StrContains(out.status().message(), "signature")) << out.status();
}

TEST_F(IdentityKeysTest, UnknownKeyIdIsRefused) {
  IdentitySigner stranger = SignerWith(NewKey());
  auto out = registry_.Verify(Sign(stranger, AgencyAdmin()), kNow);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StrContains(out.status().message(), "unknown key id")) << out.status();
}

TEST_F(IdentityKeysTest, WrongAudienceIsRefused) {
  auto out = registry_.Verify(Sign(gateway_, AgencyAdmin(), "simpul-complaints"), kNow);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StrContains(out.status().message(), "audience")) << out.status();
}

TEST_F(IdentityKeysTest, SignRequiresAnAudience) {
  EXPECT_EQ(gateway_.Sign(AgencyAdmin(), "", kNow + absl::Minutes(1)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(IdentitySigner().Sign(AgencyAdmin(), kRegistry, kNow).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(IdentityKeysTest, ExpiredAndTooFarAheadAreRefused) {
  const std::string token = Sign(gateway_, AgencyAdmin(), kRegistry, kNow + absl::Minutes(5));
  EXPECT_TRUE(registry_.Verify(token, kNow + absl::Minutes(5) - absl::Seconds(1)).ok());
  auto expired = registry_.Verify(token, kNow + absl::Minutes(5));
  EXPECT_EQ(expired.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StrContains(expired.status().message(), "expired")) << expired.status();

  // max_ttl 1h (+30s skew): 1h is fine, a day is not.
  EXPECT_TRUE(
      registry_.Verify(Sign(gateway_, AgencyAdmin(), kRegistry, kNow + absl::Hours(1)), kNow).ok());
  auto far =
      registry_.Verify(Sign(gateway_, AgencyAdmin(), kRegistry, kNow + absl::Hours(24)), kNow);
  EXPECT_EQ(far.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StrContains(far.status().message(), "ahead")) << far.status();
}

TEST_F(IdentityKeysTest, TamperedBodyOrSignatureIsRefused) {
  const std::string token = Sign(gateway_, AgencyAdmin());
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  common::v1::Principal forged = AgencyAdmin();
  forged.set_role(common::v1::ROLE_PLATFORM_ADMIN);
  forged.set_audience(kRegistry);
  forged.mutable_expire_time()->set_seconds(absl::ToUnixSeconds(kNow + absl::Minutes(5)));
  std::vector<std::string> body_swapped = parts;
  body_swapped[2] = absl::WebSafeBase64Escape(forged.SerializeAsString());
  EXPECT_EQ(Code(absl::StrJoin(body_swapped, ".")), absl::StatusCode::kUnauthenticated);

  std::string sig;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(parts[3], &sig));
  sig[10] ^= 1;
  std::vector<std::string> sig_flipped = parts;
  sig_flipped[3] = absl::WebSafeBase64Escape(sig);
  EXPECT_EQ(Code(absl::StrJoin(sig_flipped, ".")), absl::StatusCode::kUnauthenticated);

  for (const std::string& bad :
       {std::string(""), std::string("v2"), std::string("v2...."),
        std::string("v1.") + parts[1] + "." + parts[2] + "." + parts[3],
        parts[0] + "." + parts[1] + "." + parts[2], std::string(9000, 'a')}) {
    EXPECT_EQ(Code(bad), absl::StatusCode::kUnauthenticated) << bad.substr(0, 40);
  }
}

// Tokens the signing API never makes (no audience, no expiry) are refused even when a trusted
// key signed them: made here by signing the bytes as IdentitySigner does.
std::string RawToken(const std::string& private_pem, const std::string& key_id,
                     const common::v1::Principal& body) {
  std::string body_b64 = absl::WebSafeBase64Escape(body.SerializeAsString());
  std::string message =
      absl::StrCat(absl::string_view(kIdentityTokenDomain.data(), kIdentityTokenDomain.size()),
                   absl::string_view("\0", 1), key_id, ".", body_b64);
  BIO* bio = BIO_new_mem_buf(private_pem.data(), static_cast<int>(private_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  unsigned char sig[64];
  size_t len = sizeof(sig);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, key);
  EVP_DigestSign(ctx, sig, &len, reinterpret_cast<const unsigned char*>(message.data()),
                 message.size());
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  return absl::StrCat(
      "v2.", key_id, ".", body_b64, ".",
      absl::WebSafeBase64Escape(absl::string_view(reinterpret_cast<const char*>(sig), len)));
}

TEST_F(IdentityKeysTest, RawTokenMatchesSign) {
  // The hand-made token of a complete principal verifies: RawToken signs as Sign does.
  common::v1::Principal p = AgencyAdmin();
  p.set_audience(kRegistry);
  p.mutable_expire_time()->set_seconds(absl::ToUnixSeconds(kNow + absl::Minutes(5)));
  EXPECT_TRUE(registry_.Verify(RawToken(gateway_key_, gateway_.key_id(), p), kNow).ok());
}

TEST_F(IdentityKeysTest, MissingAudienceIsRefused) {
  common::v1::Principal p = AgencyAdmin();
  p.mutable_expire_time()->set_seconds(absl::ToUnixSeconds(kNow + absl::Minutes(5)));
  auto out = registry_.Verify(RawToken(gateway_key_, gateway_.key_id(), p), kNow);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StrContains(out.status().message(), "no audience")) << out.status();
}

TEST_F(IdentityKeysTest, MissingExpiryIsRefused) {
  common::v1::Principal p = AgencyAdmin();
  p.set_audience(kRegistry);
  auto out = registry_.Verify(RawToken(gateway_key_, gateway_.key_id(), p), kNow);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StrContains(out.status().message(), "no expiry")) << out.status();
}

TEST_F(IdentityKeysTest, ServiceKeySignsItsOwnServiceRoleOnly) {
  // Monitoring's own principal: accepted.
  auto own = registry_.Verify(Sign(monitoring_, Service("simpul-monitoring")), kNow);
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_TRUE(Identity{*own}.is_service());

  // Monitoring's key claiming more: platform admin, an agency admin, another service.
  for (const common::v1::Principal& claim :
       {Service("simpul-monitoring", common::v1::ROLE_PLATFORM_ADMIN), AgencyAdmin(),
        Service("simpul-gateway")}) {
    auto out = registry_.Verify(Sign(monitoring_, claim), kNow);
    EXPECT_EQ(out.status().code(), absl::StatusCode::kUnauthenticated) << claim.DebugString();
    EXPECT_TRUE(absl::StrContains(out.status().message(), "not trusted")) << out.status();
  }
  // The gateway's key is for people: it cannot pose as a service either.
  EXPECT_EQ(Code(Sign(gateway_, Service("simpul-monitoring"))), absl::StatusCode::kUnauthenticated);
}

TEST_F(IdentityKeysTest, ServiceRoleRefusedWhereNotAccepted) {
  IdentitySigner complaints(IdentitySigner::Options{.audience = "simpul-complaints"});
  ASSERT_TRUE(
      complaints.TrustPem(PublicOf(monitoring_key_), ServiceSubject("simpul-monitoring")).ok());
  auto out =
      complaints.Verify(Sign(monitoring_, Service("simpul-monitoring"), "simpul-complaints"), kNow);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StrContains(out.status().message(), "accepts no service-role")) << out.status();
}

TEST_F(IdentityKeysTest, OldSharedKeyTokenIsRefused) {
  // The retired format: base64(Principal).base64(HMAC-SHA256(shared key, body)).
  common::v1::Principal p = AgencyAdmin();
  p.set_role(common::v1::ROLE_PLATFORM_ADMIN);
  p.mutable_expire_time()->set_seconds(absl::ToUnixSeconds(kNow + absl::Minutes(5)));
  const std::string key = "0123456789abcdef0123456789abcdef";
  const std::string body = p.SerializeAsString();
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  const std::string token =
      absl::StrCat(absl::WebSafeBase64Escape(body), ".",
                   absl::WebSafeBase64Escape(std::string(reinterpret_cast<char*>(mac), len)));
  auto out = registry_.Verify(token, kNow);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StrContains(out.status().message(), "not a v2 token")) << out.status();
}

TEST_F(IdentityKeysTest, RotationTrustsOldAndNewKeys) {
  const std::string next_key = NewKey();
  IdentitySigner next = SignerWith(next_key);
  EXPECT_EQ(Code(Sign(next, AgencyAdmin())), absl::StatusCode::kUnauthenticated);
  ASSERT_TRUE(registry_.TrustPem(PublicOf(next_key), IdentitySigner::kAnyPerson).ok());
  EXPECT_TRUE(registry_.Verify(Sign(next, AgencyAdmin()), kNow).ok());
  EXPECT_TRUE(registry_.Verify(Sign(gateway_, AgencyAdmin()), kNow).ok());
}

TEST(IdentityKeyFilesTest, ClearErrorsForBadKeys) {
  const std::string dir = ::testing::TempDir();
  const std::string key = NewKey();
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir + "/" + name) << text;
    return dir + "/" + name;
  };
  IdentitySigner signer;
  EXPECT_EQ(signer.LoadPrivateKeyFile(dir + "/missing.key").code(), absl::StatusCode::kNotFound);
  absl::Status hex = signer.LoadPrivateKeyFile(write("hmac.key", "0123456789abcdef0123\n"));
  EXPECT_EQ(hex.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(hex.message(), "not a PEM private key")) << hex;
  // A public key where the private one belongs, and the other way round.
  EXPECT_FALSE(signer.LoadPrivateKeyFile(write("pub-as-private.key", PublicOf(key))).ok());
  EXPECT_FALSE(signer.TrustPem(key, IdentitySigner::kAnyPerson).ok());
  // An RSA key is the wrong type.
  EVP_PKEY* rsa = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
  ASSERT_NE(rsa, nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, rsa, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);  // NOLINT(runtime/int)
  absl::Status wrong_type = signer.SetPrivateKeyPem(std::string(data, len));
  BIO_free(bio);
  EVP_PKEY_free(rsa);
  EXPECT_EQ(wrong_type.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(wrong_type.message(), "RSA")) << wrong_type;

  ASSERT_TRUE(signer.LoadPrivateKeyFile(write("good.key", key)).ok());
  EXPECT_TRUE(signer.can_sign());
  write("good.pub", PublicOf(key));
  IdentitySigner verifier(IdentitySigner::Options{.audience = "simpul-complaints"});
  absl::Status bad_scope = verifier.LoadTrustedKeysFile(write("t1", "everyone good.pub\n"));
  EXPECT_EQ(bad_scope.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(bad_scope.message(), ":1:")) << bad_scope;
  EXPECT_FALSE(verifier.LoadTrustedKeysFile(write("t2", "any\n")).ok());
  EXPECT_FALSE(verifier.LoadTrustedKeysFile(write("t3", "any nowhere.pub\n")).ok());
  EXPECT_FALSE(verifier.LoadTrustedKeysFile(write("t4", "# nothing\n")).ok());
  ASSERT_TRUE(
      verifier.LoadTrustedKeysFile(write("t5", "# gateway\nany good.pub  # rotated\n")).ok());
  auto token = signer.Sign(AgencyAdmin(), "simpul-complaints", absl::Now() + absl::Minutes(1));
  ASSERT_TRUE(token.ok());
  EXPECT_TRUE(verifier.Verify(*token, absl::Now()).ok());
}

TEST(ServiceAudienceTest, FromServiceOrMethod) {
  EXPECT_EQ(ServiceAudience("simpul.registry.v1.Registry"), "simpul-registry");
  EXPECT_EQ(ServiceAudience("/simpul.complaints.v1.Complaints/FileComplaint"), "simpul-complaints");
  EXPECT_EQ(ServiceAudience("/simpul.monitoring.v1.Monitoring/Watch"), "simpul-monitoring");
  EXPECT_EQ(ServiceAudience("grpc.health.v1.Health"), "grpc.health.v1.Health");
}

TEST(TokenCacheTest, ReusesUntilAFifthOfTheTtlIsLeft) {
  IdentitySigner signer = SignerWith(NewKey());
  TokenCache cache(&signer, absl::Minutes(5));
  auto first = cache.Token(AgencyAdmin(), kRegistry, kNow);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*cache.Token(AgencyAdmin(), kRegistry, kNow + absl::Minutes(3)), *first);
  EXPECT_NE(*cache.Token(AgencyAdmin(), "simpul-complaints", kNow), *first);
  common::v1::Principal other = AgencyAdmin();
  other.set_agency_id("kota-bogor");
  EXPECT_NE(*cache.Token(other, kRegistry, kNow), *first);
  auto renewed = cache.Token(AgencyAdmin(), kRegistry, kNow + absl::Minutes(4) + absl::Seconds(1));
  ASSERT_TRUE(renewed.ok());
  EXPECT_NE(*renewed, *first);
}

// Prints the cost of signing and verifying (no assertion on time).
TEST(IdentityCostTest, SignAndVerify) {
  const std::string key = NewKey();
  IdentitySigner signer = SignerWith(key);
  IdentitySigner verifier(IdentitySigner::Options{.audience = kRegistry});
  ASSERT_TRUE(verifier.TrustPem(PublicOf(key), IdentitySigner::kAnyPerson).ok());
  constexpr int kRounds = 2000;
  const absl::Time expire = absl::Now() + absl::Minutes(5);
  std::vector<std::string> tokens(kRounds);
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kRounds; ++i) {
    common::v1::Principal p = AgencyAdmin();
    p.set_subject(absl::StrCat("key-", i));
    tokens[i] = *signer.Sign(p, kRegistry, expire);
  }
  auto signed_at = std::chrono::steady_clock::now();
  int ok = 0;
  for (int i = 0; i < kRounds; ++i) ok += verifier.Verify(tokens[i], absl::Now()).ok();
  auto verified_at = std::chrono::steady_clock::now();
  for (int i = 0; i < kRounds; ++i) ok += verifier.Verify(tokens[i], absl::Now()).ok();
  auto reverified_at = std::chrono::steady_clock::now();
  TokenCache cache(&signer, absl::Minutes(5));
  for (int i = 0; i < kRounds; ++i) (void)cache.Token(AgencyAdmin(), kRegistry, absl::Now());
  auto cached_at = std::chrono::steady_clock::now();
  EXPECT_EQ(ok, 2 * kRounds);
  auto us = [](auto d) { return std::chrono::duration<double, std::micro>(d).count() / kRounds; };
  std::printf(
      "identity token (%d rounds): sign %.1f us, verify %.1f us, verify again (remembered) "
      "%.2f us, gateway token cache hit %.2f us\n",
      kRounds, us(signed_at - start), us(verified_at - signed_at), us(reverified_at - verified_at),
      us(cached_at - reverified_at));
}

TEST_F(IdentityKeysTest, RememberedTokenStillExpires) {
  const std::string token = Sign(gateway_, AgencyAdmin(), kRegistry, kNow + absl::Minutes(5));
  ASSERT_TRUE(registry_.Verify(token, kNow).ok());
  ASSERT_TRUE(registry_.Verify(token, kNow).ok());  // remembered
  EXPECT_EQ(registry_.Verify(token, kNow + absl::Minutes(5)).status().code(),
            absl::StatusCode::kUnauthenticated);
  // Trusting another key forgets what was verified (a copy verified it under other keys).
  IdentitySigner copy = registry_;
  ASSERT_TRUE(copy.Verify(Sign(gateway_, AgencyAdmin()), kNow).ok());
}

TEST(IdentityTest, Roles) {
  Identity pub = Identity::Public();
  EXPECT_TRUE(pub.is_public());
  EXPECT_EQ(pub.subject(), "public");
  EXPECT_FALSE(pub.IsAgencyMember(""));

  Identity admin{AgencyAdmin()};
  EXPECT_FALSE(admin.is_public());
  EXPECT_EQ(admin.subject(), "key-17");
  EXPECT_TRUE(admin.IsAgencyAdmin("dukcapil-jakarta"));
  EXPECT_TRUE(admin.IsAgencyMember("dukcapil-jakarta"));
  EXPECT_FALSE(admin.IsAgencyMember("other"));
  EXPECT_FALSE(admin.is_platform_admin());
  EXPECT_FALSE(admin.is_service());

  Identity op = admin;
  op.principal.set_role(common::v1::ROLE_AGENCY_OPERATOR);
  EXPECT_TRUE(op.IsAgencyMember("dukcapil-jakarta"));
  EXPECT_FALSE(op.IsAgencyAdmin("dukcapil-jakarta"));

  Identity service{Service("simpul-monitoring")};
  EXPECT_TRUE(service.is_service());
  EXPECT_FALSE(service.is_platform_admin());
  EXPECT_FALSE(service.IsAgencyMember(""));
  EXPECT_EQ(service.subject(), "service:simpul-monitoring");
}

}  // namespace
}  // namespace simpul
