// Fuzz target: process configuration from flags and environment (common/config.h
// Config::Parse) with the keys every service shares plus an int with bounds, a bool and a
// duration. The input is lines: "E:NAME=VALUE" lines are environment entries, the others
// command-line arguments.
// Invariants: Parse never fails with INTERNAL (only INVALID_ARGUMENT, or FAILED_PRECONDITION
// for --help); on success every getter of every key works (a malformed value never gets
// through: the getters abort on one), ints are within their bounds, ports within 0..65535;
// and passing every value back as --key=value gives the same configuration.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_split.h"
#include "common/config.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

const std::vector<simpul::ConfigKey>& Keys() {
  static const std::vector<simpul::ConfigKey>* const keys = [] {
    auto* k = new std::vector<simpul::ConfigKey>(
        simpul::CommonServiceConfigKeys("127.0.0.1:7101", "127.0.0.1:9101"));
    k->push_back({.name = "max_items",
                  .type = simpul::ConfigType::kInt,
                  .default_value = "10",
                  .min_int = 1,
                  .max_int = 1000});
    k->push_back({.name = "strict", .type = simpul::ConfigType::kBool, .default_value = "false"});
    k->push_back({.name = "poll", .type = simpul::ConfigType::kDuration, .default_value = "250ms"});
    return k;
  }();
  return *keys;
}

// Values reads every key with the getter of its type (aborting on a malformed value) and
// renders it back as a flag.
std::vector<std::string> Values(const simpul::Config& config) {
  std::vector<std::string> out;
  for (const simpul::ConfigKey& key : Keys()) {
    std::string flag = "--" + key.name + "=";
    switch (key.type) {
      case simpul::ConfigType::kString:
        flag += config.GetString(key.name);
        break;
      case simpul::ConfigType::kInt: {
        const int64_t v = config.GetInt(key.name);
        FUZZ_CHECK(v >= key.min_int && v <= key.max_int);
        flag += std::to_string(v);
        break;
      }
      case simpul::ConfigType::kBool:
        flag += config.GetBool(key.name) ? "true" : "false";
        break;
      case simpul::ConfigType::kDuration:
        flag += absl::FormatDuration(config.GetDuration(key.name));
        break;
      case simpul::ConfigType::kHostPort: {
        const auto [host, port] = config.GetHostPort(key.name);
        FUZZ_CHECK(port >= 0 && port <= 65535);
        FUZZ_CHECK(!host.empty());
        flag += config.GetAddress(key.name);
        break;
      }
    }
    out.push_back(std::move(flag));
  }
  return out;
}

absl::StatusOr<simpul::Config> Parse(const std::vector<std::string>& args,
                                     const std::vector<std::string>& env) {
  std::vector<const char*> argv = {"simpul-fuzz"};
  for (const std::string& a : args) argv.push_back(a.c_str());
  std::vector<const char*> envp;
  for (const std::string& e : env) envp.push_back(e.c_str());
  envp.push_back(nullptr);
  return simpul::Config::Parse("fuzz", Keys(), static_cast<int>(argv.size()), argv.data(),
                               envp.data());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> args, env;
  for (absl::string_view line : absl::StrSplit(absl::string_view(in.data(), in.size()), '\n')) {
    // argv and environ entries are C strings: an embedded NUL ends them.
    std::string entry(line.substr(0, line.find('\0')));
    if (entry.rfind("E:", 0) == 0) {
      env.push_back(entry.substr(2));
    } else if (!line.empty()) {
      args.push_back(std::move(entry));
    }
  }
  if (args.size() > 64 || env.size() > 64) return 0;

  absl::StatusOr<simpul::Config> config = Parse(args, env);
  if (!config.ok()) {
    FUZZ_CHECK(config.status().code() == absl::StatusCode::kInvalidArgument ||
               config.status().code() == absl::StatusCode::kFailedPrecondition);
    FUZZ_CHECK(!config.status().message().empty());
    return 0;
  }
  const std::vector<std::string> values = Values(*config);
  absl::StatusOr<simpul::Config> again = Parse(values, {});
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(Values(*again) == values);
  return 0;
}
