#include "common/config.h"

#include <cstdio>
#include <cstdlib>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/absl_compat.h"
#include "common/logging.h"

namespace simpul {
namespace {

std::string EnvName(std::string_view env_prefix, std::string_view key) {
  return absl::StrCat("SIMPUL_", absl::AsciiStrToUpper(AbslView(env_prefix)), "_",
                      absl::AsciiStrToUpper(AbslView(key)));
}

std::string_view TypeName(ConfigType type) {
  switch (type) {
    case ConfigType::kString:
      return "string";
    case ConfigType::kInt:
      return "integer";
    case ConfigType::kBool:
      return "true|false";
    case ConfigType::kDuration:
      return "duration";
    case ConfigType::kHostPort:
      return "host:port";
  }
  return "value";
}

// SplitHostPort parses "host:port" or "[v6]:port"; the host is returned without brackets.
bool SplitHostPort(absl::string_view text, std::string* host, int* port) {
  size_t colon = text.rfind(':');
  if (colon == absl::string_view::npos) return false;
  absl::string_view h = text.substr(0, colon);
  absl::string_view p = text.substr(colon + 1);
  if (absl::StartsWith(h, "[")) {
    if (!absl::EndsWith(h, "]") || h.size() < 3) return false;
    h = h.substr(1, h.size() - 2);
  } else if (absl::StrContains(h, ':')) {
    return false;  // an IPv6 host needs brackets
  }
  if (h.empty() || p.empty() || p.size() > 5) return false;
  for (char c : p) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  int value = 0;
  if (!absl::SimpleAtoi(p, &value) || value < 0 || value > 65535) return false;
  for (char c : h) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c)) || c == '/' || c == '[' || c == ']') {
      return false;
    }
  }
  *host = std::string(h);
  *port = value;
  return true;
}

bool ParseBool(absl::string_view text, bool* out) {
  if (text == "true" || text == "1") {
    *out = true;
    return true;
  }
  if (text == "false" || text == "0") {
    *out = false;
    return true;
  }
  return false;
}

// CheckValue type-checks `raw` for `key`; `source` says where the value came from.
absl::Status CheckValue(const ConfigKey& key, absl::string_view raw, absl::string_view source) {
  auto invalid = [&](absl::string_view expected) {
    return absl::InvalidArgumentError(absl::StrFormat("config key %s (%s): expected %s, got \"%s\"",
                                                      key.name, source, expected, raw));
  };
  switch (key.type) {
    case ConfigType::kString:
      break;
    case ConfigType::kInt: {
      int64_t v = 0;
      if (!absl::SimpleAtoi(raw, &v)) return invalid("a decimal integer");
      if (v < key.min_int || v > key.max_int) {
        return invalid(absl::StrCat("an integer in [", key.min_int, ", ", key.max_int, "]"));
      }
      break;
    }
    case ConfigType::kBool: {
      bool v = false;
      if (!ParseBool(raw, &v)) return invalid("true, false, 1 or 0");
      break;
    }
    case ConfigType::kDuration: {
      absl::Duration d;
      if (!absl::ParseDuration(raw, &d) || d == absl::InfiniteDuration() ||
          d == -absl::InfiniteDuration()) {
        return invalid("a duration such as 500ms, 2s or 1m");
      }
      break;
    }
    case ConfigType::kHostPort: {
      std::string host;
      int port = 0;
      if (!SplitHostPort(raw, &host, &port)) return invalid("host:port with port 0..65535");
      break;
    }
  }
  if (key.validate) {
    absl::Status s = key.validate(StdView(raw));
    if (!s.ok()) {
      return absl::InvalidArgumentError(absl::StrFormat("config key %s (%s): %s, got \"%s\"",
                                                        key.name, source, s.message(), raw));
    }
  }
  return absl::OkStatus();
}

[[noreturn]] void Die(std::string_view name, std::string_view why) {
  std::fprintf(stderr, "simpul::Config: key \"%.*s\" %.*s\n", static_cast<int>(name.size()),
               name.data(), static_cast<int>(why.size()), why.data());
  std::abort();
}

}  // namespace

std::function<absl::Status(std::string_view value)> DurationAtLeast(absl::Duration min) {
  return [min](std::string_view value) -> absl::Status {
    absl::Duration d;
    if (absl::ParseDuration(AbslView(value), &d) && d < min) {
      return absl::InvalidArgumentError(
          absl::StrCat("expected a duration of at least ", absl::FormatDuration(min)));
    }
    return absl::OkStatus();
  };
}

namespace {

absl::Status NonNegativeDuration(std::string_view value) {
  absl::Duration d;
  if (absl::ParseDuration(AbslView(value), &d) && d < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("expected a duration of zero or more");
  }
  return absl::OkStatus();
}

absl::Status PositiveDuration(std::string_view value) {
  absl::Duration d;
  if (absl::ParseDuration(AbslView(value), &d) && d <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("expected a positive duration");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Config> Config::Parse(std::string_view env_prefix,
                                     const std::vector<ConfigKey>& keys, int argc,
                                     const char* const* argv, const char* const* env) {
  std::map<std::string, const ConfigKey*, std::less<>> by_name;
  for (const ConfigKey& key : keys) {
    if (key.name.empty()) return absl::InternalError("config key with an empty name");
    if (!by_name.emplace(key.name, &key).second) {
      return absl::InternalError(absl::StrCat("config key \"", key.name, "\" declared twice"));
    }
  }

  Config config;
  for (const ConfigKey& key : keys) {
    absl::Status s = CheckValue(key, key.default_value, "default");
    if (!s.ok()) return absl::InternalError(s.message());
    config.values_[key.name] = Value{key.type, key.default_value};
  }

  // Environment variables override defaults.
  std::map<std::string, const ConfigKey*> by_env;
  for (const ConfigKey& key : keys) by_env[EnvName(env_prefix, key.name)] = &key;
  const std::string env_start =
      absl::StrCat("SIMPUL_", absl::AsciiStrToUpper(AbslView(env_prefix)), "_");
  for (const char* const* e = env; e != nullptr && *e != nullptr; ++e) {
    absl::string_view entry(*e);
    if (!absl::StartsWith(entry, env_start)) continue;
    size_t eq = entry.find('=');
    absl::string_view name = entry.substr(0, eq);
    absl::string_view value = eq == absl::string_view::npos ? "" : entry.substr(eq + 1);
    auto it = by_env.find(std::string(name));
    if (it == by_env.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown environment variable ", name, " (see --help)"));
    }
    const ConfigKey& key = *it->second;
    absl::Status s = CheckValue(key, value, absl::StrCat("environment ", name));
    if (!s.ok()) return s;
    config.values_[key.name].raw = std::string(value);
  }

  // Flags override the environment.
  std::set<std::string> seen_flags;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg(argv[i]);
    if (arg == "--help" || arg == "-help" || arg == "-h") {
      return absl::FailedPreconditionError(Usage(env_prefix, keys));
    }
    if (!absl::StartsWith(arg, "--") || arg.size() == 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument \"", arg, "\"; flags look like --key=value"));
    }
    absl::string_view body = arg.substr(2);
    size_t eq = body.find('=');
    absl::string_view name = body.substr(0, eq);
    auto it = by_name.find(StdView(name));
    if (it == by_name.end()) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name, " (see --help)"));
    }
    const ConfigKey& key = *it->second;
    std::string value;
    if (eq != absl::string_view::npos) {
      value = std::string(body.substr(eq + 1));
    } else if (key.type == ConfigType::kBool) {
      value = "true";
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return absl::InvalidArgumentError(absl::StrCat("flag --", name, " needs a value"));
    }
    if (!seen_flags.insert(key.name).second) {
      return absl::InvalidArgumentError(absl::StrCat("flag --", name, " given more than once"));
    }
    absl::Status s = CheckValue(key, value, absl::StrCat("flag --", name));
    if (!s.ok()) return s;
    config.values_[key.name].raw = std::move(value);
  }
  return config;
}

const Config::Value& Config::Find(std::string_view name, ConfigType type) const {
  auto it = values_.find(name);
  if (it == values_.end()) Die(name, "was not declared");
  if (it->second.type != type) Die(name, "is read with the wrong type");
  return it->second;
}

const std::string& Config::GetString(std::string_view name) const {
  return Find(name, ConfigType::kString).raw;
}

int64_t Config::GetInt(std::string_view name) const {
  int64_t v = 0;
  if (!absl::SimpleAtoi(Find(name, ConfigType::kInt).raw, &v)) Die(name, "is not an integer");
  return v;
}

bool Config::GetBool(std::string_view name) const {
  bool v = false;
  if (!ParseBool(Find(name, ConfigType::kBool).raw, &v)) Die(name, "is not a bool");
  return v;
}

absl::Duration Config::GetDuration(std::string_view name) const {
  absl::Duration d;
  if (!absl::ParseDuration(Find(name, ConfigType::kDuration).raw, &d)) {
    Die(name, "is not a duration");
  }
  return d;
}

std::pair<std::string, int> Config::GetHostPort(std::string_view name) const {
  std::string host;
  int port = 0;
  if (!SplitHostPort(Find(name, ConfigType::kHostPort).raw, &host, &port)) {
    Die(name, "is not host:port");
  }
  return {host, port};
}

const std::string& Config::GetAddress(std::string_view name) const {
  return Find(name, ConfigType::kHostPort).raw;
}

std::string Config::Usage(std::string_view env_prefix, const std::vector<ConfigKey>& keys) {
  std::string out =
      absl::StrCat("Each key is set by the flag --key=value, else the environment variable SIMPUL_",
                   absl::AsciiStrToUpper(AbslView(env_prefix)), "_KEY, else its default.\n\n");
  for (const ConfigKey& key : keys) {
    absl::StrAppend(&out, "  --", key.name, "=<", AbslView(TypeName(key.type)), ">  (",
                    EnvName(env_prefix, key.name), ", default \"", key.default_value, "\")\n");
    if (!key.help.empty()) absl::StrAppend(&out, "      ", key.help, "\n");
  }
  return out;
}

std::vector<ConfigKey> CommonServiceConfigKeys(std::string_view default_listen,
                                               std::string_view default_admin_listen) {
  auto key = [](std::string name, ConfigType type, std::string default_value, std::string help) {
    ConfigKey k;
    k.name = std::move(name);
    k.type = type;
    k.default_value = std::move(default_value);
    k.help = std::move(help);
    return k;
  };
  std::vector<ConfigKey> keys;
  keys.push_back(key("listen", ConfigType::kHostPort, std::string(default_listen),
                     "gRPC listen address (port 0 picks a free port)"));
  keys.push_back(key("admin_listen", ConfigType::kHostPort, std::string(default_admin_listen),
                     "HTTP admin address serving /metrics, /healthz and /readyz"));
  keys.push_back(
      key("redis_addr", ConfigType::kHostPort, "127.0.0.1:6379", "Redis server address"));
  keys.push_back(key("redis_pool_size", ConfigType::kInt, "8", "most Redis connections held open"));
  keys.back().min_int = 1;
  keys.back().max_int = 1024;
  keys.push_back(key("redis_timeout", ConfigType::kDuration, "2s", "timeout of one Redis command"));
  keys.back().validate = PositiveDuration;
  keys.push_back(key("identity_trusted_keys", ConfigType::kString, "",
                     "trusted-keys file: the Ed25519 public keys identity tokens are checked "
                     "with, each with its scope (none: public calls only)"));
  keys.push_back(key("identity_private_key_file", ConfigType::kString, "",
                     "Ed25519 private key (PEM) this process signs identity tokens with (the "
                     "gateway; a service that calls another)"));
  keys.push_back(key("identity_max_ttl", ConfigType::kDuration, "1h",
                     "identity tokens expiring further ahead than this are refused"));
  keys.back().validate = PositiveDuration;
  keys.push_back(key("identity_key_file", ConfigType::kString, "",
                     "retired (the shared HMAC key): an error if set"));
  keys.push_back(key("drain_timeout", ConfigType::kDuration, "10s",
                     "how long in-flight calls may finish after SIGTERM"));
  keys.back().validate = NonNegativeDuration;
  keys.push_back(key("log_level", ConfigType::kString, "info", "debug, info, warn or error"));
  keys.back().validate = [](std::string_view value) {
    LogLevel level;
    if (ParseLogLevel(value, &level)) return absl::OkStatus();
    return absl::InvalidArgumentError("expected debug, info, warn or error");
  };
  keys.push_back(
      key("workers", ConfigType::kInt, "4", "worker threads for blocking storage calls"));
  keys.back().min_int = 1;
  keys.back().max_int = 256;
  keys.push_back(key("redis_user", ConfigType::kString, "",
                     "Redis ACL user this process authenticates as (needs redis_password_file)"));
  keys.push_back(key("redis_password_file", ConfigType::kString, "",
                     "file holding the Redis password (mode 600; none: no AUTH)"));
  // Redis Sentinel and acknowledged writes (common/redis_auth.h, common/redis_sentinel.h).
  keys.push_back(key("redis_sentinels", ConfigType::kString, "",
                     "comma-separated host:port of Redis sentinels: the process asks them for "
                     "the master's address and asks again after a failover (empty: redis_addr)"));
  keys.push_back(key("redis_master_name", ConfigType::kString, "simpul",
                     "the name the sentinels monitor the Redis master under"));
  keys.push_back(key("redis_sentinel_user", ConfigType::kString, "",
                     "user the sentinels are asked as (needs redis_sentinel_password_file)"));
  keys.push_back(key("redis_sentinel_password_file", ConfigType::kString, "",
                     "file holding the sentinels' password (mode 600; none: no AUTH to them)"));
  keys.push_back(key("redis_wait_replicas", ConfigType::kInt, "0",
                     "acknowledged writes: a write is answered only once this many replicas "
                     "have it (WAIT), else UNAVAILABLE (0: no WAIT)"));
  keys.back().min_int = 0;
  keys.back().max_int = 64;
  keys.push_back(key("redis_wait_timeout", ConfigType::kDuration, "500ms",
                     "how long a write waits for redis_wait_replicas replicas"));
  keys.back().validate = PositiveDuration;
  // Mutual TLS between Simpul's components (common/tls.h).
  keys.push_back(key("internal_tls_cert_file", ConfigType::kString, "",
                     "PEM certificate of this process (deploy/pki); with internal_tls_key_file "
                     "and internal_tls_ca_file the gRPC port of a service serves mTLS only and "
                     "calls to other components use it (empty: plaintext)"));
  keys.push_back(key("internal_tls_key_file", ConfigType::kString, "",
                     "PEM private key of internal_tls_cert_file"));
  keys.push_back(key("internal_tls_ca_file", ConfigType::kString, "",
                     "PEM CA that signs the components' certificates: clients of the gRPC port "
                     "and the servers this process calls must present one it signed"));
  keys.push_back(key("internal_tls_allowed_peers", ConfigType::kString, "",
                     "comma-separated names (certificate subjectAltName) the gRPC port accepts "
                     "calls from, e.g. \"simpul-gateway,operator\"; empty: any certificate of "
                     "the CA"));
  return keys;
}

}  // namespace simpul
