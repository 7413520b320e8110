#include "common/redis_auth.h"

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "common/redis_sentinel.h"
#include "common/secret_file.h"

namespace simpul {

namespace {
// A password file is small; anything bigger is not one.
constexpr size_t kMaxPasswordFileBytes = 4096;
}  // namespace

absl::StatusOr<std::string> ReadRedisPasswordFile(const std::string& path) {
  absl::StatusOr<std::string> read =
      ReadSecretFile(path, "the Redis password file", kMaxPasswordFileBytes);
  if (!read.ok()) return read.status();
  std::string content = *std::move(read);
  while (!content.empty() && (content.back() == '\n' || content.back() == '\r')) {
    content.pop_back();
  }
  if (content.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("the Redis password file ", path, " is empty"));
  }
  for (char ch : content) {
    if (absl::ascii_isspace(static_cast<unsigned char>(ch)) ||
        absl::ascii_iscntrl(static_cast<unsigned char>(ch))) {
      return absl::InvalidArgumentError(
          absl::StrCat("the Redis password file ", path,
                       " must hold one line without spaces or control characters"));
    }
  }
  return content;
}

absl::Status SetRedisCredentials(std::string_view user, const std::string& password_file,
                                 std::string_view user_source, std::string_view file_source,
                                 RedisOptions* options) {
  if (password_file.empty()) {
    if (!user.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(AbslView(user_source), " is '", AbslView(user), "' but ",
                       AbslView(file_source), " is not set: a Redis user needs its password file"));
    }
    options->user.clear();
    options->password.clear();
    return absl::OkStatus();
  }
  for (char ch : user) {
    if (absl::ascii_isspace(static_cast<unsigned char>(ch)) ||
        absl::ascii_iscntrl(static_cast<unsigned char>(ch))) {
      return absl::InvalidArgumentError(absl::StrCat(
          AbslView(user_source), ": a Redis user name has no spaces or control characters"));
    }
  }
  absl::StatusOr<std::string> password = ReadRedisPasswordFile(password_file);
  if (!password.ok()) {
    return absl::Status(password.status().code(),
                        absl::StrCat(AbslView(file_source), ": ", password.status().message()));
  }
  options->user = std::string(user);
  options->password = *std::move(password);
  return absl::OkStatus();
}

absl::Status SetRedisCredentialsFromEnv(RedisOptions* options) {
  const char* user = std::getenv(kRedisUserEnv);
  const char* file = std::getenv(kRedisPasswordFileEnv);
  return SetRedisCredentials(user != nullptr ? user : "", file != nullptr ? file : "",
                             kRedisUserEnv, kRedisPasswordFileEnv, options);
}

namespace {

// SettingName is the config key or environment variable of a setting "sentinels", ...
std::string SettingName(std::string_view setting, RedisSettingNames names) {
  if (names == RedisSettingNames::kConfigKeys) return absl::StrCat("redis_", AbslView(setting));
  return absl::StrCat("SIMPUL_REDIS_", absl::AsciiStrToUpper(AbslView(setting)));
}

std::string Env(const char* name, std::string_view fallback = "") {
  const char* value = std::getenv(name);
  return value != nullptr ? std::string(value) : std::string(fallback);
}

}  // namespace

absl::Status SetRedisSentinels(std::string_view sentinels, std::string_view master_name,
                               std::string_view sentinel_user,
                               const std::string& sentinel_password_file, RedisSettingNames names,
                               RedisOptions* options) {
  absl::StatusOr<std::vector<RedisAddress>> list = ParseRedisAddressList(sentinels);
  if (!list.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(SettingName("sentinels", names),
                     ": expected host:port,host:port,...: ", list.status().message()));
  }
  if (!list->empty() && master_name.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(SettingName("master_name", names),
                     " is empty: the sentinels need the name of the master to ask for"));
  }
  for (char ch : master_name) {
    if (absl::ascii_isspace(static_cast<unsigned char>(ch)) ||
        absl::ascii_iscntrl(static_cast<unsigned char>(ch))) {
      return absl::InvalidArgumentError(
          absl::StrCat(SettingName("master_name", names),
                       ": a master name has no spaces or control characters"));
    }
  }
  RedisOptions sentinel_auth;
  if (absl::Status set = SetRedisCredentials(
          sentinel_user, sentinel_password_file, SettingName("sentinel_user", names),
          SettingName("sentinel_password_file", names), &sentinel_auth);
      !set.ok()) {
    return set;
  }
  options->sentinels = *std::move(list);
  options->master_name = std::string(master_name);
  options->sentinel_user = std::move(sentinel_auth.user);
  options->sentinel_password = std::move(sentinel_auth.password);
  return absl::OkStatus();
}

absl::Status SetRedisWait(int64_t replicas, absl::Duration timeout, RedisSettingNames names,
                          RedisOptions* options) {
  if (replicas < 0 || replicas > 64) {
    return absl::InvalidArgumentError(absl::StrCat(SettingName("wait_replicas", names),
                                                   ": expected 0 (no WAIT) to 64 replicas, got ",
                                                   replicas));
  }
  if (timeout <= absl::ZeroDuration() || timeout == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(SettingName("wait_timeout", names),
                                                   ": expected a positive duration such as "
                                                   "500ms, got ",
                                                   absl::FormatDuration(timeout)));
  }
  options->wait_replicas = static_cast<int>(replicas);
  options->wait_timeout = timeout;
  return absl::OkStatus();
}

absl::Status SetRedisOptionsFromEnv(RedisOptions* options) {
  if (absl::Status set = SetRedisCredentialsFromEnv(options); !set.ok()) return set;
  if (absl::Status set =
          SetRedisSentinels(Env(kRedisSentinelsEnv), Env(kRedisMasterNameEnv, options->master_name),
                            Env(kRedisSentinelUserEnv), Env(kRedisSentinelPasswordFileEnv),
                            RedisSettingNames::kEnvironment, options);
      !set.ok()) {
    return set;
  }
  int64_t replicas = options->wait_replicas;
  const std::string replicas_text = Env(kRedisWaitReplicasEnv);
  if (!replicas_text.empty() && !absl::SimpleAtoi(replicas_text, &replicas)) {
    return absl::InvalidArgumentError(absl::StrCat(
        kRedisWaitReplicasEnv, ": expected a number of replicas, got \"", replicas_text, "\""));
  }
  absl::Duration timeout = options->wait_timeout;
  const std::string timeout_text = Env(kRedisWaitTimeoutEnv);
  if (!timeout_text.empty() && !absl::ParseDuration(timeout_text, &timeout)) {
    return absl::InvalidArgumentError(absl::StrCat(
        kRedisWaitTimeoutEnv, ": expected a duration such as 500ms, got \"", timeout_text, "\""));
  }
  return SetRedisWait(replicas, timeout, RedisSettingNames::kEnvironment, options);
}

}  // namespace simpul
