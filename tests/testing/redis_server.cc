#include "tests/testing/redis_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/redis_auth.h"

namespace simpul::testing {
namespace {

// Answers is true when the server replies PONG and has finished loading its data (a sentinel:
// when it replies PONG).
bool Answers(int port, const std::string& user, const std::string& password, bool sentinel) {
  redisContext* ctx = redisConnectWithTimeout("127.0.0.1", port, timeval{0, 200000});
  if (ctx == nullptr) return false;
  bool ok = false;
  if (ctx->err == 0) {
    redisSetTimeout(ctx, timeval{1, 0});
    if (!password.empty()) {
      auto* auth =
          static_cast<redisReply*>(redisCommand(ctx, "AUTH %s %s", user.c_str(), password.c_str()));
      if (auth != nullptr) freeReplyObject(auth);
    }
    auto* pong = static_cast<redisReply*>(redisCommand(ctx, "PING"));
    if (sentinel) {
      // A sentinel with requirepass answers NOAUTH: up as well.
      ok = pong != nullptr &&
           ((pong->type == REDIS_REPLY_STATUS && std::strcmp(pong->str, "PONG") == 0) ||
            (pong->type == REDIS_REPLY_ERROR && std::strncmp(pong->str, "NOAUTH", 6) == 0));
    } else if (pong != nullptr && pong->type == REDIS_REPLY_STATUS &&
               std::strcmp(pong->str, "PONG") == 0) {
      auto* info = static_cast<redisReply*>(redisCommand(ctx, "INFO persistence"));
      ok = info != nullptr && info->type == REDIS_REPLY_STRING &&
           absl::StrContains(info->str, "loading:0");
      if (info != nullptr) freeReplyObject(info);
    }
    if (pong != nullptr) freeReplyObject(pong);
  }
  redisFree(ctx);
  return ok;
}

}  // namespace

int PickFreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

std::string MakeTempDir(const std::string& prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string templ =
      absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/", prefix, "XXXXXX");
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) return "";
  return std::string(buf.data());
}

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::Start(bool append_only) {
  return StartImpl(append_only, "");
}

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::StartWithConfig(
    const std::string& config_file) {
  if (config_file.empty()) return absl::InvalidArgumentError("config_file is empty");
  return StartImpl(true, config_file);
}

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::StartWithAcl(bool append_only) {
  return StartImpl(append_only, "", /*acl=*/true);
}

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::StartWithArgs(
    std::vector<std::string> extra_args) {
  return StartImpl(true, "", /*acl=*/false, std::move(extra_args));
}

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::StartSentinel(
    const std::string& sentinel_config) {
  if (sentinel_config.empty()) return absl::InvalidArgumentError("sentinel_config is empty");
  return StartImpl(false, "", /*acl=*/false, {}, sentinel_config);
}

absl::StatusOr<RedisOptions> RedisServer::PoolOptionsFor(const std::string& user) const {
  if (acl_dir_.empty()) {
    return absl::FailedPreconditionError("this Redis runs without ACL users (StartWithAcl)");
  }
  RedisOptions options;
  options.port = port_;
  if (absl::Status set =
          SetRedisCredentials(user, PasswordFile(user), "user", "password file", &options);
      !set.ok()) {
    return set;
  }
  return options;
}

absl::StatusOr<RedisServer::AclUsers> RedisServer::WriteAclUsers(const std::string& dir) {
  AclUsers acl{dir, ""};
  const std::string command =
      absl::StrCat("'", SIMPUL_REDIS_USERS_SCRIPT, "' '", acl.dir, "' 2>/dev/null");
  if (int rc = std::system(command.c_str()); rc != 0) {
    return absl::InternalError(absl::StrCat(command, " failed (status ", rc, ")"));
  }
  unsigned char raw[24];
  if (RAND_bytes(raw, sizeof(raw)) != 1) return absl::InternalError("RAND_bytes failed");
  acl.superuser_password =
      absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(raw), sizeof(raw)));
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(acl.superuser_password.data()),
         acl.superuser_password.size(), digest);
  std::ofstream out(acl.dir + "/users.acl", std::ios::app);
  out << "user " << kTestSuperuser << " on #"
      << absl::BytesToHexString(
             absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)))
      << " ~* &* +@all\n";
  out.close();
  if (!out) return absl::InternalError("cannot append the test superuser to " + acl.dir);
  return acl;
}

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::StartWithSharedAcl(
    const AclUsers& acl, std::vector<std::string> extra_args) {
  return StartImpl(true, "", /*acl=*/false, std::move(extra_args), "", &acl);
}

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::StartImpl(
    bool append_only, const std::string& config_file, bool acl, std::vector<std::string> extra_args,
    const std::string& sentinel_config, const AclUsers* shared_acl) {
  absl::Status last = absl::UnavailableError("redis-server did not start");
  // Another process may take the picked port before redis-server binds it: try a few.
  for (int attempt = 0; attempt < 3; ++attempt) {
    int port = PickFreePort();
    std::string dir = MakeTempDir("simpul-redis-");
    if (port == 0 || dir.empty()) return absl::InternalError("no free port or temporary directory");
    std::unique_ptr<RedisServer> server(new RedisServer(port, dir, append_only, config_file));
    server->extra_args_ = extra_args;
    if (!sentinel_config.empty()) {
      server->sentinel_ = true;
      server->config_file_ = dir + "/sentinel.conf";
      std::ofstream conf(server->config_file_);
      conf << sentinel_config << "\n";
      conf.close();
      if (!conf) return absl::InternalError("cannot write " + server->config_file_);
    }
    if (acl) {
      absl::StatusOr<AclUsers> written = WriteAclUsers(dir + "/redis-auth");
      if (!written.ok()) return written.status();
      server->acl_dir_ = written->dir;
      server->superuser_password_ = written->superuser_password;
    } else if (shared_acl != nullptr) {
      server->acl_dir_ = shared_acl->dir;
      server->superuser_password_ = shared_acl->superuser_password;
    }
    last = server->Launch();
    if (last.ok()) return server;
  }
  return last;
}

RedisServer::~RedisServer() {
  Kill();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

absl::Status RedisServer::Launch() {
  const std::string port = absl::StrCat(port_);
  const std::string logfile = absl::StrCat(dir_, "/redis.log");
  std::vector<std::string> args = {"redis-server"};
  if (!config_file_.empty()) args.push_back(config_file_);
  if (sentinel_) args.push_back("--sentinel");
  args.insert(args.end(), {"--port", port, "--bind", "127.0.0.1", "--dir", dir_});
  if (config_file_.empty()) {
    args.insert(args.end(), {"--appendonly", append_only_ ? "yes" : "no", "--appendfsync", "always",
                             "--save", ""});
  }
  if (!acl_dir_.empty()) args.insert(args.end(), {"--aclfile", acl_dir_ + "/users.acl"});
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  args.insert(args.end(), {"--daemonize", "no", "--logfile", logfile});
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      dup2(devnull, STDIN_FILENO);
      dup2(devnull, STDOUT_FILENO);
    }
    execvp("redis-server", argv.data());
    _exit(127);
  }
  pid_ = pid;

  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    int wstatus = 0;
    if (waitpid(pid_, &wstatus, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::UnavailableError(
          absl::StrCat("redis-server on port ", port_, " exited early; see ", logfile));
    }
    if (Answers(port_, kTestSuperuser, superuser_password_, sentinel_)) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(20));
  }
  Kill();
  return absl::DeadlineExceededError(
      absl::StrCat("redis-server on port ", port_, " did not answer PING within 10s"));
}

void RedisServer::Pause() {
  if (pid_ <= 0 || paused_) return;
  kill(pid_, SIGSTOP);
  paused_ = true;
}

void RedisServer::Resume() {
  if (pid_ <= 0 || !paused_) return;
  kill(pid_, SIGCONT);
  paused_ = false;
}

void RedisServer::Kill() {
  if (pid_ <= 0) return;
  paused_ = false;
  kill(pid_, SIGKILL);
  while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

absl::Status RedisServer::Restart() {
  Kill();
  return Launch();
}

}  // namespace simpul::testing
