// Structured logging: one JSON object per line on stderr (or a test sink), with timestamp,
// level, service, message and typed fields. Never log a complainant's identity or a secret.
#ifndef SIMPUL_COMMON_LOGGING_H_
#define SIMPUL_COMMON_LOGGING_H_

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

#include "common/json.h"  // JsonEscape

namespace simpul {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

struct LogField {
  LogField(std::string_view k, std::string_view v) : key(k), value(std::string(v)) {}
  LogField(std::string_view k, const char* v) : key(k), value(std::string(v)) {}
  LogField(std::string_view k, const std::string& v) : key(k), value(v) {}
  LogField(std::string_view k, int v) : key(k), value(static_cast<int64_t>(v)) {}
  LogField(std::string_view k, int64_t v) : key(k), value(v) {}
  LogField(std::string_view k, uint64_t v) : key(k), value(static_cast<int64_t>(v)) {}
  LogField(std::string_view k, double v) : key(k), value(v) {}
  LogField(std::string_view k, bool v) : key(k), value(v) {}
  std::string_view key;
  std::variant<std::string, int64_t, double, bool> value;
};

// Log writes one line if `level` is at or above the minimum level.
void Log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields = {});

// Process-wide settings, set once at start (thread-safe).
void SetLogServiceName(std::string_view service);
void SetMinLogLevel(LogLevel level);
// ParseLogLevel accepts "debug", "info", "warn", "error".
bool ParseLogLevel(std::string_view text, LogLevel* level);
// SetLogSink redirects lines (without the trailing newline) to `sink`; nullptr restores stderr.
// The sink is called one line at a time under a lock and must not log itself.
void SetLogSink(std::function<void(std::string_view line)> sink);

}  // namespace simpul

#endif  // SIMPUL_COMMON_LOGGING_H_
