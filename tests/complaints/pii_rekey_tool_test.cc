// The simpul-pii-rekey binary against a real redis-server: it seals identities an older version
// stored in clear and moves identities to the active key, reports counts, is idempotent, and
// exits 1 listing the cases it cannot open, 2 on a bad key file.
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/complaints/pii_crypto.h"
#include "services/complaints/redis_store.h"
#include "tests/testing/redis_fixture.h"

namespace simpul::complaints {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

v1::ComplaintRecord Case(const std::string& id, bool with_identity) {
  v1::ComplaintRecord r;
  v1::Complaint* c = r.mutable_complaint();
  c->set_id(id);
  c->set_state(v1::STATE_RECEIVED);
  c->set_description("Antrean tidak bergerak.");
  if (with_identity) {
    c->mutable_complainant()->set_name("Budi Legacy Santoso");
    c->mutable_complainant()->set_phone("+62 811 0000 9999");
  }
  c->mutable_file_time()->set_seconds(1717372800);
  c->set_revision(1);
  r.set_last_sequence(1);
  return r;
}

class PiiRekeyToolTest : public simpul::testing::RedisServerTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(RedisServerTest::SetUp());
    pool_ = std::make_unique<RedisPool>(ServerOptions());
    keys_ = ::testing::TempDir() + "/pii_rekey_tool_test.keys";
  }
  void TearDown() override { std::remove(keys_.c_str()); }

  void WriteKeys(const std::string& text) {
    std::ofstream(keys_) << text;
    chmod(keys_.c_str(), 0600);
  }

  // Run runs the tool with `flags`; returns its exit status, output in *out (stdout+stderr).
  int Run(const std::string& flags, std::string* out) {
    const std::string cmd =
        absl::StrCat(SIMPUL_PII_REKEY_BIN, " --redis_addr=127.0.0.1:", server_->port(),
                     " --pii_keys_file=", keys_, " --batch=4 ", flags, " 2>&1");
    FILE* p = popen(cmd.c_str(), "r");
    out->clear();
    char buf[4096];
    for (size_t n; (n = fread(buf, 1, sizeof(buf), p)) > 0;) out->append(buf, n);
    const int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::string AllValues() {
    std::string all;
    const RedisReply keys = Raw({"KEYS", "*"});
    for (const RedisReply& k : keys.elements) {
      if (Raw({"TYPE", k.str}).str == "string") absl::StrAppend(&all, Raw({"GET", k.str}).str);
    }
    return all;
  }

  std::string keys_;
};

TEST_F(PiiRekeyToolTest, SealsRotatesAndReports) {
  const std::string k1 = absl::BytesToHexString(std::string(32, '\x01'));
  const std::string k2 = absl::BytesToHexString(std::string(32, '\x02'));
  // Ten cases written in clear (as before issue #13), two of them without a complainant.
  RedisComplaintStore legacy(pool_.get(), {});
  for (int i = 0; i < 10; ++i) {
    CaseWrite w;
    w.after = Case(absl::StrFormat("SP-%04d", i), i < 8);
    w.entry.set_sequence(1);
    ASSERT_TRUE(legacy.Commit(w).ok());
  }
  ASSERT_THAT(AllValues(), HasSubstr("Budi Legacy Santoso"));

  std::string out;
  WriteKeys("k1 " + k1 + "\n");
  EXPECT_EQ(Run("", &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("scanned=10 sealed=8 rotated=0 current=0 no_identity=2"));
  EXPECT_THAT(out, HasSubstr("done: 8 re-sealed, 0 already current, 0 failed"));
  EXPECT_THAT(AllValues(), Not(HasSubstr("Budi")));
  EXPECT_THAT(AllValues(), Not(HasSubstr("0000 9999")));
  EXPECT_EQ(Run("", &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("done: 0 re-sealed, 8 already current"));

  // Rotation: two keys need the active one named; then everything moves to k2.
  WriteKeys("k1 " + k1 + "\nk2 " + k2 + "\n");
  EXPECT_EQ(Run("", &out), 2) << out;
  EXPECT_THAT(out, HasSubstr("pii_active_key_id"));
  EXPECT_EQ(Run("--pii_active_key_id=k2", &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("done: 8 re-sealed, 0 already current, 0 failed"));
  // k1 can go: k2 alone opens every case.
  WriteKeys("k2 " + k2 + "\n");
  PiiKeyring only_k2 = *PiiKeyring::FromFile(keys_, "");
  RedisComplaintStore store(pool_.get(), {.pii_keys = &only_k2});
  absl::StatusOr<std::optional<v1::ComplaintRecord>> got = store.Get("SP-0003");
  ASSERT_TRUE(got.ok() && got->has_value()) << got.status();
  EXPECT_EQ(got->value().complaint().complainant().name(), "Budi Legacy Santoso");

  // A key file without the key the data is under: every case listed, exit 1, nothing changed.
  WriteKeys("k3 " + k1 + "\n");
  const std::string before = AllValues();
  EXPECT_EQ(Run("", &out), 1) << out;
  EXPECT_THAT(out, HasSubstr("not re-sealed: identity of the case at key simpul:cmp:{c}:c:SP-"));
  EXPECT_THAT(out, HasSubstr("\"k2\", which is not in the key ring"));
  EXPECT_THAT(out, HasSubstr("0 re-sealed, 0 already current, 8 failed"));
  EXPECT_EQ(AllValues(), before);
  WriteKeys("k1 tooshort\n");
  EXPECT_EQ(Run("", &out), 2) << out;
  EXPECT_THAT(out, HasSubstr("line 1"));
}

}  // namespace
}  // namespace simpul::complaints
