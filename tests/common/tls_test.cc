// InternalTls::FromConfig: the internal_tls_* keys go all three together, and a file that
// cannot be used is named (with its key) at start.
#include "common/tls.h"

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace simpul {
namespace {

using ::simpul::testing::IsOk;
using ::simpul::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

class InternalTlsConfigTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/simpul-tls-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = new std::string(tmpl);
    ASSERT_EQ(std::system(absl::StrCat(SIMPUL_PKI_SCRIPT, " '", *dir_,
                                       "' simpul-registry operator >/dev/null")
                              .c_str()),
              0);
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }

  // Load parses `flags` against the common keys and reads the internal TLS files.
  static absl::StatusOr<std::unique_ptr<InternalTls>> Load(std::vector<std::string> flags) {
    flags.insert(flags.begin(), "simpul-test");
    std::vector<const char*> argv;
    for (const std::string& f : flags) argv.push_back(f.c_str());
    const char* env[] = {nullptr};
    auto config = Config::Parse("TEST", CommonServiceConfigKeys("127.0.0.1:0", "127.0.0.1:0"),
                                static_cast<int>(argv.size()), argv.data(), env);
    if (!config.ok()) return config.status();
    return InternalTls::FromConfig(*config);
  }
  static std::string File(const std::string& name) { return absl::StrCat(*dir_, "/", name); }

  static std::string* dir_;
};
std::string* InternalTlsConfigTest::dir_ = nullptr;

TEST_F(InternalTlsConfigTest, WithoutTheKeysItIsPlaintext) {
  auto tls = Load({});
  ASSERT_THAT(tls, IsOk());
  EXPECT_EQ(*tls, nullptr);
}

TEST_F(InternalTlsConfigTest, AllThreeFilesLoad) {
  auto tls = Load({"--internal_tls_cert_file=" + File("simpul-registry.crt"),
                   "--internal_tls_key_file=" + File("simpul-registry.key"),
                   "--internal_tls_ca_file=" + File("ca.crt"),
                   "--internal_tls_allowed_peers=simpul-gateway, operator"});
  ASSERT_THAT(tls, IsOk());
  ASSERT_NE(*tls, nullptr);
  EXPECT_THAT((*tls)->files().allowed_peers, ::testing::ElementsAre("operator", "simpul-gateway"));
  EXPECT_NE((*tls)->ServerCredentials(), nullptr);
  EXPECT_NE((*tls)->ChannelCredentials(), nullptr);
}

TEST_F(InternalTlsConfigTest, SomeOfTheKeysNameTheMissingOnes) {
  EXPECT_THAT(Load({"--internal_tls_cert_file=" + File("simpul-registry.crt")}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("missing: internal_tls_key_file, internal_tls_ca_file"))));
  EXPECT_THAT(
      Load({"--internal_tls_cert_file=" + File("simpul-registry.crt"),
            "--internal_tls_key_file=" + File("simpul-registry.key")}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("missing: internal_tls_ca_file")));
  EXPECT_THAT(Load({"--internal_tls_allowed_peers=simpul-gateway"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("internal_tls_allowed_peers needs internal_tls_cert_file")));
}

TEST_F(InternalTlsConfigTest, AnUnreadableFileIsNamedWithItsKey) {
  const std::string missing = File("no-such.key");
  EXPECT_THAT(
      Load({"--internal_tls_cert_file=" + File("simpul-registry.crt"),
            "--internal_tls_key_file=" + missing, "--internal_tls_ca_file=" + File("ca.crt")}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("internal_tls_key_file"), HasSubstr(missing))));
  // A file that is not PEM.
  EXPECT_THAT(Load({"--internal_tls_cert_file=" + File("simpul-registry.crt"),
                    "--internal_tls_key_file=" + File("simpul-registry.key"),
                    "--internal_tls_ca_file=" + File("ca.srl")}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("internal_tls_ca_file"), HasSubstr("no PEM data"))));
}

TEST_F(InternalTlsConfigTest, TheKeyOfAnotherCertificateIsRefused) {
  EXPECT_THAT(Load({"--internal_tls_cert_file=" + File("simpul-registry.crt"),
                    "--internal_tls_key_file=" + File("operator.key"),
                    "--internal_tls_ca_file=" + File("ca.crt")}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("internal_tls_key_file"), HasSubstr("is not the key of"))));
}

}  // namespace
}  // namespace simpul
