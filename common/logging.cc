#include "common/logging.h"

#include <atomic>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/absl_compat.h"
#include "common/json.h"

namespace simpul {
namespace {

struct LogState {
  absl::Mutex mu;
  std::string service ABSL_GUARDED_BY(mu);
  std::function<void(std::string_view)> sink ABSL_GUARDED_BY(mu);
};

LogState& State() {
  static LogState* state = new LogState;
  return *state;
}

std::atomic<int> min_level{static_cast<int>(LogLevel::kInfo)};

std::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

void AppendDouble(std::string* out, double v) {
  if (!std::isfinite(v)) {
    out->append("null");
    return;
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, end);
}

}  // namespace

void Log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields) {
  if (static_cast<int>(level) < min_level.load(std::memory_order_relaxed)) return;
  std::string line = absl::StrCat(
      "{\"ts\":\"", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
      "\",\"level\":\"", AbslView(LevelName(level)), "\"");
  LogState& state = State();
  absl::MutexLock lock(&state.mu);
  absl::StrAppend(&line, ",\"service\":", JsonEscape(state.service),
                  ",\"msg\":", JsonEscape(message));
  for (const LogField& field : fields) {
    bool reserved =
        field.key == "ts" || field.key == "level" || field.key == "service" || field.key == "msg";
    absl::StrAppend(
        &line, ",",
        JsonEscape(reserved ? absl::StrCat("field_", AbslView(field.key)) : std::string(field.key)),
        ":");
    std::visit(
        [&line](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::string>) {
            AppendJsonEscaped(&line, v);
          } else if constexpr (std::is_same_v<T, bool>) {
            line.append(v ? "true" : "false");
          } else if constexpr (std::is_same_v<T, double>) {
            AppendDouble(&line, v);
          } else {
            absl::StrAppend(&line, v);
          }
        },
        field.value);
  }
  line.push_back('}');
  if (state.sink) {
    state.sink(line);
    return;
  }
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

void SetLogServiceName(std::string_view service) {
  LogState& state = State();
  absl::MutexLock lock(&state.mu);
  state.service = std::string(service);
}

void SetMinLogLevel(LogLevel level) {
  min_level.store(static_cast<int>(level), std::memory_order_relaxed);
}

bool ParseLogLevel(std::string_view text, LogLevel* level) {
  if (text == "debug") {
    *level = LogLevel::kDebug;
  } else if (text == "info") {
    *level = LogLevel::kInfo;
  } else if (text == "warn") {
    *level = LogLevel::kWarn;
  } else if (text == "error") {
    *level = LogLevel::kError;
  } else {
    return false;
  }
  return true;
}

void SetLogSink(std::function<void(std::string_view line)> sink) {
  LogState& state = State();
  absl::MutexLock lock(&state.mu);
  state.sink = std::move(sink);
}

}  // namespace simpul
