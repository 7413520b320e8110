#include "common/redis_auth.h"

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
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

}  // namespace simpul
