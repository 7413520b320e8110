#include "tests/testing/service_cluster.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace simpul::testing {
namespace {

struct BinaryInfo {
  const char* path;
  const char* name;            // default process name
  const char* health_service;  // grpc.health.v1 name
  const char* addr_flag;       // the flag by which other binaries find it ("" for none)
};

const BinaryInfo& Info(Binary binary) {
  static const BinaryInfo kInfo[] = {
      {SIMPUL_REGISTRY_BIN, "registry", "simpul.registry.v1.Registry", "--registry_addr="},
      {SIMPUL_COMPLAINTS_BIN, "complaints", "simpul.complaints.v1.Complaints",
       "--complaints_addr="},
      {SIMPUL_MONITORING_BIN, "monitoring", "simpul.monitoring.v1.Monitoring",
       "--monitoring_addr="},
      {SIMPUL_GATEWAY_BIN, "gateway", "simpul.gateway.v1.GatewayAdmin", ""},
  };
  return kInfo[static_cast<int>(binary)];
}

// Backends are the services a binary calls.
std::vector<Binary> Backends(Binary binary) {
  switch (binary) {
    case Binary::kRegistry:
      return {};
    case Binary::kComplaints:
    case Binary::kMonitoring:
      return {Binary::kRegistry};
    case Binary::kGateway:
      return {Binary::kRegistry, Binary::kComplaints, Binary::kMonitoring};
  }
  return {};
}

std::string FlagName(const std::string& flag) { return flag.substr(0, flag.find('=') + 1); }

std::string ReadFrom(const std::string& path, std::streamoff offset) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(offset);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::streamoff FileSize(const std::string& path) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<std::streamoff>(size);
}

// IntField reads the integer field `key` of a JSON log line (0 when absent).
int IntField(const std::string& line, const std::string& key) {
  const std::string needle = absl::StrCat("\"", key, "\":");
  const size_t at = line.find(needle);
  if (at == std::string::npos) return 0;
  const size_t begin = at + needle.size();
  const size_t end = line.find_first_not_of("0123456789", begin);
  int value = 0;
  if (!absl::SimpleAtoi(line.substr(begin, end - begin), &value)) return 0;
  return value;
}

}  // namespace

void ReplaceFlags(std::vector<std::string>* argv, const std::vector<std::string>& flags) {
  for (const std::string& flag : flags) {
    const std::string name = FlagName(flag);
    std::erase_if(*argv, [&](const std::string& a) { return FlagName(a) == name; });
    argv->push_back(flag);
  }
}

// ---- ServiceProcess -------------------------------------------------------------------------

ServiceProcess::ServiceProcess(Binary binary, std::string path, std::string log_path,
                               std::vector<std::string> argv_without_ports,
                               std::vector<std::string> env, bool wait_serving,
                               const TokenMinter* tokens)
    : binary_(binary),
      path_(std::move(path)),
      log_path_(std::move(log_path)),
      health_service_(Info(binary).health_service),
      args_(std::move(argv_without_ports)),
      env_(std::move(env)),
      wait_serving_(wait_serving),
      tokens_(tokens) {}

ServiceProcess::~ServiceProcess() {
  // A binary that died on its own (a crash, a sanitizer report, a fatal error) makes the calls
  // of the test fail with UNAVAILABLE; its log says why, so show the end of it.
  if (child_ != nullptr && !stopped_by_test_ && !child_->running()) {
    const std::string log = Log();
    const size_t keep = 6000;
    std::cerr << log_path_ << ": the process exited on its own; its log ends with:\n"
              << (log.size() > keep ? log.substr(log.size() - keep) : log) << std::endl;
  }
}

std::string ServiceProcess::address() const { return absl::StrCat("127.0.0.1:", port_); }

std::shared_ptr<grpc::Channel> ServiceProcess::channel() {
  if (channel_ == nullptr) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 50);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 250);
    std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
    if (credentials_ != nullptr) {
      credentials = credentials_;
      args.SetSslTargetNameOverride(tls_name_);
      // gRPC gives a connection attempt max(backoff, min reconnect backoff) to complete: 50 ms
      // cuts a TLS handshake on a loaded machine short ("tcp handshaker shutdown") again and
      // again, and the channel never connects.
      args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 2000);
    }
    if (tokens_ != nullptr) {
      channel_ = grpc::experimental::CreateCustomChannelWithInterceptors(
          address(), credentials, args, tokens_->AudienceBindingInterceptors());
    } else {
      channel_ = grpc::CreateCustomChannel(address(), credentials, args);
    }
  }
  return channel_;
}

pid_t ServiceProcess::pid() const { return child_ != nullptr ? child_->pid() : -1; }

bool ServiceProcess::running() { return child_ != nullptr && child_->running(); }

std::string ServiceProcess::Log() const { return ReadFrom(log_path_, 0); }

absl::Status ServiceProcess::Kill() {
  if (!running()) return absl::OkStatus();
  stopped_by_test_ = true;
  if (!child_->Stop(SIGKILL, absl::Seconds(10)).has_value()) {
    return absl::DeadlineExceededError(absl::StrCat(log_path_, ": did not die of SIGKILL"));
  }
  return absl::OkStatus();
}

std::optional<int> ServiceProcess::Stop(int sig, absl::Duration timeout) {
  if (child_ == nullptr) return std::nullopt;
  stopped_by_test_ = true;
  return child_->Stop(sig, timeout);
}

absl::Status ServiceProcess::Pause() {
  if (!running() || kill(pid(), SIGSTOP) != 0) return absl::InternalError("SIGSTOP failed");
  return absl::OkStatus();
}

absl::Status ServiceProcess::Resume() {
  if (!running() || kill(pid(), SIGCONT) != 0) return absl::InternalError("SIGCONT failed");
  return absl::OkStatus();
}

std::vector<std::string> ServiceProcess::Argv() const {
  std::vector<std::string> argv = {path_, absl::StrCat("--listen=127.0.0.1:", port_),
                                   absl::StrCat("--admin_listen=127.0.0.1:", admin_port_)};
  if (binary_ == Binary::kGateway)
    argv.push_back(absl::StrCat("--rest_listen=127.0.0.1:", rest_port_));
  // A test's own listen flags (e.g. an empty --rest_listen) win.
  std::vector<std::string> args = args_;
  std::vector<std::string> out = {argv[0]};
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string name = FlagName(argv[i]);
    bool overridden = false;
    for (const std::string& a : args) overridden = overridden || FlagName(a) == name;
    if (!overridden) out.push_back(argv[i]);
  }
  out.insert(out.end(), args.begin(), args.end());
  return out;
}

absl::Status ServiceProcess::Launch() {
  // On a restart the ports are fixed: another process may hold one for a moment.
  const bool fixed_ports = port_ != 0;
  const absl::Time deadline =
      absl::Now() + (fixed_ports ? absl::Seconds(10) : absl::ZeroDuration());
  absl::Status status;
  do {
    status = LaunchOnce();
    if (status.ok() || !absl::IsUnavailable(status)) return status;
    absl::SleepFor(absl::Milliseconds(200));
  } while (absl::Now() < deadline);
  return status;
}

absl::Status ServiceProcess::LaunchOnce() {
  stopped_by_test_ = false;
  const std::streamoff offset = FileSize(log_path_);
  child_ = std::make_unique<ChildProcess>(Argv(), log_path_, env_);
  const std::string serving_line =
      absl::StrCat("\"msg\":\"simpul-", Info(binary_).name, " serving\"");
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  for (;;) {
    const std::string log = ReadFrom(log_path_, offset);
    const size_t at = log.find(serving_line);
    if (at != std::string::npos) {
      const size_t end = log.find('\n', at);
      if (end != std::string::npos) {
        const std::string line = log.substr(at, end - at);
        port_ = IntField(line, "port");
        admin_port_ = IntField(line, "admin_port");
        if (binary_ == Binary::kGateway) rest_port_ = IntField(line, "rest_port");
        break;
      }
    }
    if (!child_->running()) {
      return absl::UnavailableError(absl::StrCat(log_path_, ": exited before serving:\n", log));
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat(log_path_, ": no \"serving\" line within 20 s:\n", log));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  if (port_ == 0) return absl::InternalError(absl::StrCat(log_path_, ": no port logged"));
  if (wait_serving_ && !WaitForHealth(kServing)) {
    // Seen on a loaded machine with TLS: the process serves, but the test's channel stays in
    // TRANSIENT_FAILURE ("tcp handshaker shutdown") for 20 s. A new channel connects.
    const grpc_connectivity_state stuck = channel()->GetState(false);
    channel_ = nullptr;
    if (WaitForHealth(kServing, absl::Seconds(10))) {
      std::cerr << log_path_ << ": SERVING only on a new channel (the first one stayed in state "
                << stuck << ")" << std::endl;
      return absl::OkStatus();
    }
    // Say whether the health check answered at all (and what), or the channel never connected.
    auto stub = grpc::health::v1::Health::NewStub(channel());
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
    grpc::health::v1::HealthCheckRequest req;
    req.set_service(health_service_);
    grpc::health::v1::HealthCheckResponse resp;
    const grpc::Status last = stub->Check(&ctx, req, &resp);
    return absl::DeadlineExceededError(absl::StrCat(
        log_path_, ": not SERVING within 20 s (last health check: ",
        last.ok() ? absl::StrCat("status ", resp.status())
                  : absl::StrCat("code ", last.error_code(), " ", last.error_message()),
        "; channel state ", channel()->GetState(false), "):\n", ReadFrom(log_path_, offset)));
  }
  return absl::OkStatus();
}

absl::Status ServiceProcess::Restart(const std::vector<std::string>& extra_flags) {
  if (absl::Status killed = Kill(); !killed.ok()) return killed;
  ReplaceFlags(&args_, extra_flags);
  return Launch();
}

std::optional<ServingStatus> ServiceProcess::HealthStatus(std::optional<std::string> service) {
  auto stub = grpc::health::v1::Health::NewStub(channel());
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Milliseconds(500)));
  grpc::health::v1::HealthCheckRequest req;
  req.set_service(service.value_or(health_service_));
  grpc::health::v1::HealthCheckResponse resp;
  if (!stub->Check(&ctx, req, &resp).ok()) return std::nullopt;
  return resp.status();
}

bool ServiceProcess::WaitForHealth(ServingStatus want, absl::Duration timeout,
                                   std::optional<std::string> service) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    if (HealthStatus(service) == want) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(50));
  }
}

std::string ServiceProcess::AdminGet(const std::string& path, int* status) {
  if (status != nullptr) *status = 0;
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  timeval timeout{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(admin_port_));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string request =
        absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size())) {
      char buf[4096];
      ssize_t n;
      while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) response.append(buf, n);
    }
  }
  close(fd);
  const size_t body = response.find("\r\n\r\n");
  if (!absl::StartsWith(response, "HTTP/1.") || body == std::string::npos) return "";
  const size_t space = response.find(' ');
  if (status != nullptr) (void)absl::SimpleAtoi(response.substr(space + 1, 3), status);
  return response.substr(body + 4);
}

// ---- ServiceCluster -------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<ServiceCluster>> ServiceCluster::Create(Options options) {
  std::unique_ptr<ServiceCluster> cluster(new ServiceCluster());
  cluster->dir_ = MakeTempDir("simpul-e2e-");
  if (cluster->dir_.empty()) return absl::InternalError("no temporary directory");
  cluster->keys_dir_ = cluster->dir_ + "/keys";
  std::error_code ec;
  std::filesystem::create_directories(cluster->keys_dir_, ec);
  if (ec) return absl::InternalError("cannot create " + cluster->keys_dir_ + ": " + ec.message());
  if (absl::Status written = cluster->tokens_.WriteKeyFiles(cluster->keys_dir_); !written.ok()) {
    return written;
  }
  // The key complainants' identities are sealed with (simpul-complaints --pii_keys_file).
  cluster->pii_keys_file_ = cluster->dir_ + "/pii.keys";
  std::string pii_key;
  std::random_device random;
  while (pii_key.size() < 32) pii_key.push_back(static_cast<char>(random()));
  std::ofstream(cluster->pii_keys_file_) << "test1 " << absl::BytesToHexString(pii_key) << "\n";
  chmod(cluster->pii_keys_file_.c_str(), 0600);  // a key file only its owner may read
  if (options.internal_tls) {
    cluster->pki_dir_ = cluster->dir_ + "/pki";
    const std::string command =
        absl::StrCat(SIMPUL_PKI_SCRIPT, " '", cluster->pki_dir_,
                     "' simpul-registry simpul-complaints simpul-monitoring simpul-gateway "
                     "operator >/dev/null");
    if (std::system(command.c_str()) != 0) {
      return absl::InternalError(absl::StrCat("failed: ", command));
    }
  }
  if (options.sentinel_set.has_value()) {
    RedisSentinelSet::Options set_options = *options.sentinel_set;
    set_options.acl = set_options.acl || options.redis_acl;
    absl::StatusOr<std::unique_ptr<RedisSentinelSet>> set = RedisSentinelSet::Start(set_options);
    if (!set.ok()) return set.status();
    cluster->sentinel_set_ = *std::move(set);
    return cluster;
  }
  absl::StatusOr<std::unique_ptr<RedisServer>> redis =
      options.redis_acl ? RedisServer::StartWithAcl(options.redis_append_only)
                        : RedisServer::Start(options.redis_append_only);
  if (!redis.ok()) return redis.status();
  cluster->redis_ = *std::move(redis);
  return cluster;
}

ServiceCluster::~ServiceCluster() {
  while (!processes_.empty()) processes_.pop_back();
  redis_.reset();
  sentinel_set_.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

absl::StatusOr<ServiceProcess*> ServiceCluster::Start(Binary binary, ServiceOptions options) {
  const BinaryInfo& info = Info(binary);
  if (options.name.empty()) {
    int instances = 0;
    for (const auto& p : processes_) instances += p->binary() == binary;
    options.name = instances == 0 ? info.name : absl::StrCat(info.name, "-", instances + 1);
  }
  std::vector<std::string> args = {absl::StrCat(
      "--redis_addr=127.0.0.1:", options.redis_port != 0 ? options.redis_port : redis().port())};
  if (options.redis_port == 0 && sentinel_set_ != nullptr) {
    args.push_back("--redis_sentinels=" + sentinel_set_->SentinelAddresses());
    args.push_back("--redis_master_name=" + sentinel_set_->options().master_name);
    args.push_back("--redis_wait_replicas=1");
  }
  if (options.redis_port == 0 && !redis().acl_dir().empty()) {
    const std::string user = absl::StrCat("simpul-", info.name);
    args.push_back("--redis_user=" + user);
    args.push_back("--redis_password_file=" + RedisPasswordFile(user));
  }
  switch (binary) {
    case Binary::kRegistry:
      args.push_back("--identity_trusted_keys=" + keys_dir_ + "/registry.trusted");
      break;
    case Binary::kComplaints:
      args.push_back("--identity_trusted_keys=" + keys_dir_ + "/services.trusted");
      break;
    case Binary::kMonitoring:
      args.push_back("--identity_trusted_keys=" + keys_dir_ + "/services.trusted");
      args.push_back("--identity_private_key_file=" + keys_dir_ + "/monitoring.key");
      break;
    case Binary::kGateway:
      args.push_back("--identity_private_key_file=" + keys_dir_ + "/gateway.key");
      break;
  }
  if (binary == Binary::kComplaints || binary == Binary::kMonitoring ||
      binary == Binary::kRegistry) {
    args.push_back(std::string("--holidays_dir=") + SIMPUL_HOLIDAYS_DIR);
  }
  if (binary == Binary::kComplaints) args.push_back("--pii_keys_file=" + pii_keys_file_);
  if (binary == Binary::kGateway)
    args.push_back(std::string("--policy_file=") + SIMPUL_POLICY_FILE);
  for (Binary backend : Backends(binary)) {
    const std::vector<ServiceProcess*> started = Instances(backend);
    if (started.empty()) continue;
    std::vector<std::string> addresses;
    for (const ServiceProcess* p : started) {
      addresses.push_back(p->address());
      if (sentinel_set_ == nullptr) break;  // one Redis: the first instance only
    }
    args.push_back(absl::StrCat(Info(backend).addr_flag, absl::StrJoin(addresses, ",")));
  }
  const std::string tls_name = absl::StrCat("simpul-", info.name);
  if (!pki_dir_.empty()) {
    args.push_back(absl::StrCat("--internal_tls_cert_file=", pki_dir_, "/", tls_name, ".crt"));
    args.push_back(absl::StrCat("--internal_tls_key_file=", pki_dir_, "/", tls_name, ".key"));
    args.push_back(absl::StrCat("--internal_tls_ca_file=", pki_dir_, "/ca.crt"));
  }
  ReplaceFlags(&args, options.flags);
  auto process = std::make_unique<ServiceProcess>(
      binary, info.path, absl::StrCat(dir_, "/", options.name, ".log"), std::move(args),
      std::move(options.env), options.wait_serving, &tokens_);
  ServiceProcess* raw = process.get();
  // The gateway's own port is its public front: plaintext as without internal TLS.
  if (!pki_dir_.empty() && binary != Binary::kGateway) {
    raw->UseTls(TlsCredentials("operator"), tls_name);
  }
  processes_.push_back(std::move(process));
  if (absl::Status started = raw->Launch(); !started.ok()) return started;
  return raw;
}

std::shared_ptr<grpc::ChannelCredentials> ServiceCluster::TlsCredentials(
    const std::string& name) const {
  auto read = [](const std::string& path) { return ReadFrom(path, 0); };
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = read(pki_dir_ + "/ca.crt");
  options.pem_cert_chain = read(absl::StrCat(pki_dir_, "/", name, ".crt"));
  options.pem_private_key = read(absl::StrCat(pki_dir_, "/", name, ".key"));
  return grpc::SslCredentials(options);
}

std::string ServiceCluster::RedisPasswordFile(const std::string& user) const {
  if (sentinel_set_ != nullptr)
    return absl::StrCat(sentinel_set_->acl_users().dir, "/", user, ".password");
  return redis_->PasswordFile(user);
}

std::vector<ServiceProcess*> ServiceCluster::Instances(Binary binary) const {
  std::vector<ServiceProcess*> instances;
  for (const auto& p : processes_) {
    if (p->binary() == binary) instances.push_back(p.get());
  }
  return instances;
}

ServiceProcess& ServiceCluster::Get(Binary binary) {
  for (const auto& p : processes_) {
    if (p->binary() == binary) return *p;
  }
  std::abort();
}

}  // namespace simpul::testing
