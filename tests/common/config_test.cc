#include "common/config.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace simpul {
namespace {

using ::testing::HasSubstr;

// Args holds argv/env arrays built from strings for Config::Parse.
class Args {
 public:
  Args(std::vector<std::string> argv, std::vector<std::string> env)
      : argv_(std::move(argv)), env_(std::move(env)) {
    argv_.insert(argv_.begin(), "simpul-test");
    for (const auto& a : argv_) argv_ptrs_.push_back(a.c_str());
    argv_ptrs_.push_back(nullptr);
    for (const auto& e : env_) env_ptrs_.push_back(e.c_str());
    env_ptrs_.push_back(nullptr);
  }
  int argc() const { return static_cast<int>(argv_.size()); }
  const char* const* argv() const { return argv_ptrs_.data(); }
  const char* const* env() const { return env_ptrs_.data(); }

 private:
  std::vector<std::string> argv_;
  std::vector<std::string> env_;
  std::vector<const char*> argv_ptrs_;
  std::vector<const char*> env_ptrs_;
};

std::vector<ConfigKey> TestKeys() {
  std::vector<ConfigKey> keys(5);
  keys[0].name = "name";
  keys[0].default_value = "default-name";
  keys[0].help = "a name";
  keys[1].name = "count";
  keys[1].type = ConfigType::kInt;
  keys[1].default_value = "3";
  keys[1].min_int = 1;
  keys[1].max_int = 10;
  keys[2].name = "verbose";
  keys[2].type = ConfigType::kBool;
  keys[2].default_value = "false";
  keys[3].name = "timeout";
  keys[3].type = ConfigType::kDuration;
  keys[3].default_value = "2s";
  keys[4].name = "listen";
  keys[4].type = ConfigType::kHostPort;
  keys[4].default_value = "127.0.0.1:8080";
  return keys;
}

absl::StatusOr<Config> ParseTest(std::vector<std::string> argv, std::vector<std::string> env) {
  Args args(std::move(argv), std::move(env));
  return Config::Parse("test", TestKeys(), args.argc(), args.argv(), args.env());
}

TEST(ConfigTest, DurationAtLeastRefusesShorterDurations) {
  const auto at_least_an_hour = DurationAtLeast(absl::Hours(1));
  EXPECT_TRUE(at_least_an_hour("1h").ok());
  EXPECT_TRUE(at_least_an_hour("9600h").ok());
  const absl::Status short_one = at_least_an_hour("59m");
  EXPECT_EQ(short_one.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(short_one.message(), "expected a duration of at least 1h");
  EXPECT_EQ(DurationAtLeast(absl::Milliseconds(1))("0s").message(),
            "expected a duration of at least 1ms");
  // Not a duration: the type check reports it, not this one.
  EXPECT_TRUE(at_least_an_hour("soon").ok());
}

TEST(ConfigTest, DefaultsApply) {
  auto config = ParseTest({}, {"PATH=/usr/bin", "HOME=/root"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->GetString("name"), "default-name");
  EXPECT_EQ(config->GetInt("count"), 3);
  EXPECT_FALSE(config->GetBool("verbose"));
  EXPECT_EQ(config->GetDuration("timeout"), absl::Seconds(2));
  EXPECT_EQ(config->GetHostPort("listen"), std::make_pair(std::string("127.0.0.1"), 8080));
}

TEST(ConfigTest, EnvironmentBeatsDefault) {
  auto config =
      ParseTest({}, {"SIMPUL_TEST_NAME=from-env", "SIMPUL_TEST_COUNT=7", "SIMPUL_TEST_VERBOSE=1",
                     "SIMPUL_TEST_TIMEOUT=250ms", "SIMPUL_TEST_LISTEN=[::1]:0"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->GetString("name"), "from-env");
  EXPECT_EQ(config->GetInt("count"), 7);
  EXPECT_TRUE(config->GetBool("verbose"));
  EXPECT_EQ(config->GetDuration("timeout"), absl::Milliseconds(250));
  EXPECT_EQ(config->GetHostPort("listen"), std::make_pair(std::string("::1"), 0));
  EXPECT_EQ(config->GetAddress("listen"), "[::1]:0");
}

TEST(ConfigTest, FlagsBeatEnvironment) {
  auto config =
      ParseTest({"--name=from-flag", "--count", "9", "--verbose", "--timeout=1m"},
                {"SIMPUL_TEST_NAME=from-env", "SIMPUL_TEST_COUNT=7", "SIMPUL_TEST_VERBOSE=false"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->GetString("name"), "from-flag");
  EXPECT_EQ(config->GetInt("count"), 9);
  EXPECT_TRUE(config->GetBool("verbose"));
  EXPECT_EQ(config->GetDuration("timeout"), absl::Minutes(1));
}

TEST(ConfigTest, EmptyStringFlagIsKept) {
  auto config = ParseTest({"--name="}, {"SIMPUL_TEST_NAME=from-env"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->GetString("name"), "");
}

TEST(ConfigTest, UnknownFlagIsRejectedByName) {
  auto config = ParseTest({"--cuont=3"}, {});
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("--cuont"));
}

TEST(ConfigTest, PositionalArgumentIsRejected) {
  auto config = ParseTest({"stray"}, {});
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("stray"));
}

TEST(ConfigTest, RepeatedFlagIsRejected) {
  auto config = ParseTest({"--count=2", "--count=3"}, {});
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("--count"));
}

TEST(ConfigTest, FlagWithoutValueIsRejected) {
  auto config = ParseTest({"--count"}, {});
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("--count"));
}

TEST(ConfigTest, UnknownPrefixedEnvironmentVariableIsRejectedByName) {
  auto config = ParseTest({}, {"SIMPUL_TEST_TIMEOUTT=3s"});
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("SIMPUL_TEST_TIMEOUTT"));
}

TEST(ConfigTest, OtherServicesVariablesAreIgnored) {
  auto config = ParseTest({}, {"SIMPUL_OTHER_NAME=x", "SIMPUL_TESTING=y", "TEST_NAME=z"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->GetString("name"), "default-name");
}

struct MalformedCase {
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::string key;
};

class MalformedValueTest : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedValueTest, IsRejectedNamingTheKey) {
  auto config = ParseTest(GetParam().argv, GetParam().env);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("config key " + GetParam().key));
}

INSTANTIATE_TEST_SUITE_P(
    Values, MalformedValueTest,
    ::testing::Values(MalformedCase{{"--count=three"}, {}, "count"},
                      MalformedCase{{"--count=4x"}, {}, "count"},
                      MalformedCase{{}, {"SIMPUL_TEST_COUNT="}, "count"},
                      MalformedCase{{"--count=0"}, {}, "count"},   // below min_int
                      MalformedCase{{"--count=11"}, {}, "count"},  // above max_int
                      MalformedCase{{"--count=99999999999999999999"}, {}, "count"},
                      MalformedCase{{"--verbose=yes"}, {}, "verbose"},
                      MalformedCase{{}, {"SIMPUL_TEST_VERBOSE=TRUE"}, "verbose"},
                      MalformedCase{{"--timeout=5"}, {}, "timeout"},
                      MalformedCase{{}, {"SIMPUL_TEST_TIMEOUT=soon"}, "timeout"},
                      MalformedCase{{"--timeout=inf"}, {}, "timeout"},
                      MalformedCase{{"--listen=localhost"}, {}, "listen"},
                      MalformedCase{{"--listen=:80"}, {}, "listen"},
                      MalformedCase{{"--listen=host:65536"}, {}, "listen"},
                      MalformedCase{{"--listen=host:-1"}, {}, "listen"},
                      MalformedCase{{"--listen=::1:80"}, {}, "listen"},
                      MalformedCase{{}, {"SIMPUL_TEST_LISTEN=host:port"}, "listen"}));

TEST(ConfigTest, IntBoundsAreInclusive) {
  auto low = ParseTest({"--count=1"}, {});
  ASSERT_TRUE(low.ok()) << low.status();
  EXPECT_EQ(low->GetInt("count"), 1);
  auto high = ParseTest({"--count=10"}, {});
  ASSERT_TRUE(high.ok()) << high.status();
  EXPECT_EQ(high->GetInt("count"), 10);
}

TEST(ConfigTest, BoundsMessageSaysWhatIsExpected) {
  auto config = ParseTest({"--count=11"}, {});
  EXPECT_THAT(config.status().message(), HasSubstr("[1, 10]"));
  EXPECT_THAT(config.status().message(), HasSubstr("\"11\""));
}

TEST(ConfigTest, CustomValidatorRunsAndIsNamed) {
  std::vector<ConfigKey> keys = TestKeys();
  keys[0].validate = [](std::string_view v) {
    return v.size() <= 4 ? absl::OkStatus() : absl::InvalidArgumentError("at most 4 characters");
  };
  keys[0].default_value = "ok";
  Args args({"--name=toolong"}, {});
  auto config = Config::Parse("test", keys, args.argc(), args.argv(), args.env());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("config key name"));
  EXPECT_THAT(config.status().message(), HasSubstr("at most 4 characters"));
}

TEST(ConfigTest, InvalidDefaultIsAnInternalError) {
  std::vector<ConfigKey> keys = TestKeys();
  keys[1].default_value = "many";
  Args args({}, {});
  auto config = Config::Parse("test", keys, args.argc(), args.argv(), args.env());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(config.status().message(), HasSubstr("count"));
}

TEST(ConfigTest, DuplicateKeyIsAnInternalError) {
  std::vector<ConfigKey> keys = TestKeys();
  keys.push_back(keys[0]);
  Args args({}, {});
  auto config = Config::Parse("test", keys, args.argc(), args.argv(), args.env());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInternal);
}

TEST(ConfigTest, HelpReturnsUsage) {
  auto config = ParseTest({"--help"}, {});
  EXPECT_EQ(config.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(config.status().message(), Config::Usage("test", TestKeys()));
  EXPECT_THAT(config.status().message(), HasSubstr("--count=<integer>"));
  EXPECT_THAT(config.status().message(), HasSubstr("SIMPUL_TEST_COUNT"));
  EXPECT_THAT(config.status().message(), HasSubstr("default \"default-name\""));
  EXPECT_THAT(config.status().message(), HasSubstr("a name"));
}

TEST(ConfigTest, WrongTypeGetterAborts) {
  auto config = ParseTest({}, {});
  ASSERT_TRUE(config.ok());
  EXPECT_DEATH(config->GetInt("name"), "wrong type");
  EXPECT_DEATH(config->GetString("missing"), "not declared");
}

TEST(ConfigTest, CommonServiceKeysParseWithDefaults) {
  std::vector<ConfigKey> keys = CommonServiceConfigKeys("127.0.0.1:50051", "127.0.0.1:9090");
  Args args({"--redis_pool_size=16", "--log_level=debug"}, {"SIMPUL_REGISTRY_WORKERS=8"});
  auto config = Config::Parse("registry", keys, args.argc(), args.argv(), args.env());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->GetHostPort("listen").second, 50051);
  EXPECT_EQ(config->GetHostPort("admin_listen").second, 9090);
  EXPECT_EQ(config->GetHostPort("redis_addr"), std::make_pair(std::string("127.0.0.1"), 6379));
  EXPECT_EQ(config->GetInt("redis_pool_size"), 16);
  EXPECT_EQ(config->GetDuration("redis_timeout"), absl::Seconds(2));
  EXPECT_EQ(config->GetString("identity_key_file"), "");
  EXPECT_EQ(config->GetDuration("drain_timeout"), absl::Seconds(10));
  EXPECT_EQ(config->GetString("log_level"), "debug");
  EXPECT_EQ(config->GetInt("workers"), 8);
}

TEST(ConfigTest, CommonServiceKeysValidate) {
  std::vector<ConfigKey> keys = CommonServiceConfigKeys("127.0.0.1:50051", "127.0.0.1:9090");
  for (const char* flag : {"--log_level=verbose", "--redis_timeout=0s", "--drain_timeout=-1s",
                           "--workers=0", "--redis_pool_size=0"}) {
    Args args({flag}, {});
    auto config = Config::Parse("registry", keys, args.argc(), args.argv(), args.env());
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << flag;
  }
}

}  // namespace
}  // namespace simpul
