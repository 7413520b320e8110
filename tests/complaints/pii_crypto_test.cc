// Unit tests of PiiKeyring (services/complaints/pii_crypto.h): AES-256-GCM sealing of the
// complainant's identity, bound to its record id, with key ids for rotation.
#include "services/complaints/pii_crypto.h"

#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <string>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace simpul::complaints {
namespace {

using ::simpul::testing::IsOk;
using ::simpul::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kKeyA(32, 'a');
const std::string kKeyB(32, 'b');
constexpr char kPlain[] = "Siti Nurhaliza Testperson +62 812-3456-7890 siti@example.test";

PiiKeyring Ring(std::map<std::string, std::string> keys, std::string active) {
  absl::StatusOr<PiiKeyring> ring = PiiKeyring::Create(std::move(keys), std::move(active));
  EXPECT_THAT(ring.status(), IsOk());
  return *std::move(ring);
}

TEST(PiiKeyringTest, RoundTripHidesThePlaintextAndNamesTheKey) {
  PiiKeyring ring = Ring({{"k1", kKeyA}}, "");
  EXPECT_EQ(ring.active_key_id(), "k1");
  const std::string sealed = ring.Seal(kPlain, "case-1");
  EXPECT_THAT(sealed, Not(HasSubstr("Siti")));
  EXPECT_THAT(sealed, Not(HasSubstr("3456")));
  EXPECT_EQ(sealed.size(), 2 + 2 + 12 + sizeof(kPlain) - 1 + 16);
  EXPECT_EQ(*PiiKeyring::KeyIdOf(sealed), "k1");
  EXPECT_TRUE(PiiKeyring::LooksSealed(sealed));
  absl::StatusOr<std::string> opened = ring.Open(sealed, "case-1");
  ASSERT_THAT(opened.status(), IsOk());
  EXPECT_EQ(*opened, kPlain);
  // A fresh nonce per seal: the same plaintext never gives the same ciphertext.
  EXPECT_NE(ring.Seal(kPlain, "case-1"), sealed);
  EXPECT_EQ(*ring.Open(ring.Seal("", "case-1"), "case-1"), "");
}

TEST(PiiKeyringTest, WrongKeyFailsAuthentication) {
  const std::string sealed = Ring({{"k1", kKeyA}}, "").Seal(kPlain, "case-1");
  EXPECT_THAT(Ring({{"k1", kKeyB}}, "").Open(sealed, "case-1").status(),
              StatusIs(absl::StatusCode::kDataLoss));
}

TEST(PiiKeyringTest, WrongAadFailsAuthentication) {
  PiiKeyring ring = Ring({{"k1", kKeyA}}, "");
  const std::string sealed = ring.Seal(kPlain, "case-1");
  EXPECT_THAT(ring.Open(sealed, "case-2").status(), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(ring.Open(sealed, "").status(), StatusIs(absl::StatusCode::kDataLoss));
}

TEST(PiiKeyringTest, EveryTamperedByteFailsAuthentication) {
  PiiKeyring ring = Ring({{"k1", kKeyA}, {"k2", kKeyA}}, "k1");
  const std::string sealed = ring.Seal(kPlain, "case-1");
  // Byte 3 is the key id's '1': turned into '2' it names another key with the same bytes,
  // which must still fail (the header is authenticated). Then nonce, ciphertext and tag.
  for (size_t i = 3; i < sealed.size(); ++i) {
    std::string tampered = sealed;
    tampered[i] = static_cast<char>(tampered[i] ^ (i == 3 ? 0x03 : 0x01));
    absl::StatusOr<std::string> opened = ring.Open(tampered, "case-1");
    EXPECT_THAT(opened.status(), StatusIs(absl::StatusCode::kDataLoss)) << "byte " << i;
    EXPECT_THAT(opened.status().message(), Not(HasSubstr("Siti")));
  }
  // Truncated or not sealed at all.
  EXPECT_THAT(ring.Open(sealed.substr(0, sealed.size() - 1), "case-1").status(),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(ring.Open(sealed.substr(0, 10), "case-1").status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ring.Open(kPlain, "case-1").status(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_FALSE(PiiKeyring::LooksSealed(kPlain));
}

TEST(PiiKeyringTest, UnknownKeyIdIsNamed) {
  const std::string sealed = Ring({{"old", kKeyA}}, "").Seal(kPlain, "case-1");
  absl::StatusOr<std::string> opened = Ring({{"new", kKeyB}}, "").Open(sealed, "case-1");
  EXPECT_THAT(opened.status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("\"old\"")));
}

TEST(PiiKeyringTest, RotationKeepsOldKeysReadableAndSealsWithTheActiveOne) {
  const std::string old_sealed = Ring({{"k1", kKeyA}}, "").Seal(kPlain, "case-1");
  PiiKeyring rotated = Ring({{"k1", kKeyA}, {"k2", kKeyB}}, "k2");
  EXPECT_EQ(*rotated.Open(old_sealed, "case-1"), kPlain);
  const std::string new_sealed = rotated.Seal(kPlain, "case-1");
  EXPECT_EQ(*PiiKeyring::KeyIdOf(new_sealed), "k2");
  // Once k1 is retired, only what was re-sealed under k2 opens.
  PiiKeyring retired = Ring({{"k2", kKeyB}}, "");
  EXPECT_EQ(*retired.Open(new_sealed, "case-1"), kPlain);
  EXPECT_THAT(retired.Open(old_sealed, "case-1").status(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(PiiKeyringTest, CreateRejectsBadRings) {
  EXPECT_THAT(PiiKeyring::Create({}, "").status(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(PiiKeyring::Create({{"k1", std::string(31, 'a')}}, "").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("32 bytes")));
  EXPECT_THAT(PiiKeyring::Create({{"bad id", kKeyA}}, "").status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(PiiKeyring::Create({{"k1", kKeyA}, {"k2", kKeyB}}, "").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("pii_active_key_id")));
  EXPECT_THAT(PiiKeyring::Create({{"k1", kKeyA}}, "k9").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("k9")));
}

TEST(PiiKeyringTest, KeyFileParsing) {
  const std::string hex_a = absl::BytesToHexString(kKeyA);
  const std::string hex_b = absl::BytesToHexString(kKeyB);
  absl::StatusOr<std::map<std::string, std::string>> keys = PiiKeyring::ParseKeyFile(
      "# PII keys\n\nk1 " + hex_a + "\n  k2\t" + hex_b + "  # since 2026-12\n", "f");
  ASSERT_THAT(keys.status(), IsOk());
  EXPECT_EQ(keys->at("k1"), kKeyA);
  EXPECT_EQ(keys->at("k2"), kKeyB);
  EXPECT_THAT(PiiKeyring::ParseKeyFile("k1 " + hex_a.substr(2), "f").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("f line 1")));
  EXPECT_THAT(PiiKeyring::ParseKeyFile("k1 " + hex_a + "\nk1 " + hex_b, "f").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("twice")));
  EXPECT_THAT(PiiKeyring::ParseKeyFile("k1 zz" + hex_a.substr(2), "f").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("hex")));
  EXPECT_THAT(PiiKeyring::ParseKeyFile("# nothing\n", "f").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no key")));

  const std::string path = ::testing::TempDir() + "/pii_crypto_test.keys";
  std::ofstream(path) << "k1 " << hex_a << "\nk2 " << hex_b << "\n";
  chmod(path.c_str(), 0640);  // the group may read it: refused, naming the fix
  EXPECT_THAT(PiiKeyring::FromFile(path, "k2").status(),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("chmod 600")));
  chmod(path.c_str(), 0600);
  absl::StatusOr<PiiKeyring> ring = PiiKeyring::FromFile(path, "k2");
  ASSERT_THAT(ring.status(), IsOk());
  EXPECT_EQ(ring->active_key_id(), "k2");
  EXPECT_THAT(PiiKeyring::FromFile(path, "").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(path)));
  std::remove(path.c_str());
  EXPECT_THAT(PiiKeyring::FromFile(path, "").status(), StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace simpul::complaints
