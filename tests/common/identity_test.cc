#include "common/identity.h"

#include <fstream>
#include <string>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace simpul {
namespace {

const std::string kKey = "0123456789abcdef0123456789abcdef";  // 32 bytes
const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

common::v1::Principal AgencyAdmin(absl::Time expire) {
  common::v1::Principal p;
  p.set_subject("key-17");
  p.set_role(common::v1::ROLE_AGENCY_ADMIN);
  p.set_agency_id("dukcapil-jakarta");
  p.mutable_expire_time()->set_seconds(absl::ToUnixSeconds(expire));
  return p;
}

TEST(IdentitySignerTest, SignVerifyRoundTrip) {
  auto signer = IdentitySigner::Create(kKey);
  ASSERT_TRUE(signer.ok()) << signer.status();
  common::v1::Principal in = AgencyAdmin(kNow + absl::Hours(1));
  std::string token = signer->Sign(in);
  auto out = signer->Verify(token, kNow);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->SerializeAsString(), in.SerializeAsString());
}

TEST(IdentitySignerTest, TokenWithoutExpiryVerifies) {
  auto signer = IdentitySigner::Create(kKey);
  ASSERT_TRUE(signer.ok());
  common::v1::Principal in;
  in.set_subject("dashboard");
  in.set_role(common::v1::ROLE_DASHBOARD);
  EXPECT_TRUE(signer->Verify(signer->Sign(in), kNow).ok());
}

TEST(IdentitySignerTest, TamperedBodyIsRejected) {
  auto signer = IdentitySigner::Create(kKey);
  ASSERT_TRUE(signer.ok());
  std::string token = signer->Sign(AgencyAdmin(kNow + absl::Hours(1)));
  size_t dot = token.find('.');
  common::v1::Principal forged = AgencyAdmin(kNow + absl::Hours(1));
  forged.set_role(common::v1::ROLE_PLATFORM_ADMIN);
  std::string forged_token =
      absl::WebSafeBase64Escape(forged.SerializeAsString()) + token.substr(dot);
  auto out = signer->Verify(forged_token, kNow);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kUnauthenticated);
}

TEST(IdentitySignerTest, TamperedMacIsRejected) {
  auto signer = IdentitySigner::Create(kKey);
  ASSERT_TRUE(signer.ok());
  std::string token = signer->Sign(AgencyAdmin(kNow + absl::Hours(1)));
  std::string tampered = token;
  char& last = tampered[tampered.size() - 2];
  last = last == 'A' ? 'B' : 'A';
  EXPECT_EQ(signer->Verify(tampered, kNow).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(signer->Verify(token.substr(0, token.find('.') + 1), kNow).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(IdentitySignerTest, OtherKeyIsRejected) {
  auto signer = IdentitySigner::Create(kKey);
  auto other = IdentitySigner::Create("another key that is long enough!!");
  ASSERT_TRUE(signer.ok());
  ASSERT_TRUE(other.ok());
  std::string token = signer->Sign(AgencyAdmin(kNow + absl::Hours(1)));
  EXPECT_EQ(other->Verify(token, kNow).status().code(), absl::StatusCode::kUnauthenticated);
}

TEST(IdentitySignerTest, MalformedTokenIsRejected) {
  auto signer = IdentitySigner::Create(kKey);
  ASSERT_TRUE(signer.ok());
  for (const char* token : {"", "no-dot", "!!!.???", "."}) {
    EXPECT_EQ(signer->Verify(token, kNow).status().code(), absl::StatusCode::kUnauthenticated)
        << token;
  }
}

TEST(IdentitySignerTest, ExpiredIsRejected) {
  auto signer = IdentitySigner::Create(kKey);
  ASSERT_TRUE(signer.ok());
  std::string token = signer->Sign(AgencyAdmin(kNow));
  EXPECT_TRUE(signer->Verify(token, kNow - absl::Seconds(1)).ok());
  EXPECT_EQ(signer->Verify(token, kNow).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(signer->Verify(token, kNow + absl::Hours(1)).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(IdentitySignerTest, ShortKeyIsRejected) {
  auto signer = IdentitySigner::Create(std::string(31, 'k'));
  EXPECT_EQ(signer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(IdentitySigner::Create(std::string(32, 'k')).ok());
}

TEST(IdentitySignerTest, KeyFileIsTrimmed) {
  std::string path = ::testing::TempDir() + "/identity_key";
  {
    std::ofstream out(path, std::ios::binary);
    out << kKey << "\n";
  }
  auto from_file = IdentitySigner::FromKeyFile(path);
  auto direct = IdentitySigner::Create(kKey);
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  ASSERT_TRUE(direct.ok());
  std::string token = from_file->Sign(AgencyAdmin(kNow + absl::Hours(1)));
  EXPECT_TRUE(direct->Verify(token, kNow).ok());

  EXPECT_EQ(IdentitySigner::FromKeyFile(path + ".missing").status().code(),
            absl::StatusCode::kNotFound);
  {
    std::ofstream out(path, std::ios::binary);
    out << "short\n";
  }
  EXPECT_EQ(IdentitySigner::FromKeyFile(path).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(IdentityTest, Roles) {
  Identity pub = Identity::Public();
  EXPECT_TRUE(pub.is_public());
  EXPECT_EQ(pub.subject(), "public");
  EXPECT_FALSE(pub.IsAgencyMember(""));

  Identity admin{AgencyAdmin(kNow)};
  EXPECT_FALSE(admin.is_public());
  EXPECT_EQ(admin.subject(), "key-17");
  EXPECT_TRUE(admin.IsAgencyAdmin("dukcapil-jakarta"));
  EXPECT_TRUE(admin.IsAgencyMember("dukcapil-jakarta"));
  EXPECT_FALSE(admin.IsAgencyMember("other"));
  EXPECT_FALSE(admin.is_platform_admin());

  Identity op = admin;
  op.principal.set_role(common::v1::ROLE_AGENCY_OPERATOR);
  EXPECT_TRUE(op.IsAgencyMember("dukcapil-jakarta"));
  EXPECT_FALSE(op.IsAgencyAdmin("dukcapil-jakarta"));
}

}  // namespace
}  // namespace simpul
