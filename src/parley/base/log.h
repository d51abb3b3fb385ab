// Structured logs: one JSON object per line, for a log shipper to read.
//
//   {"ts":"2026-01-05T09:30:00.123Z","level":"info","event":"participant_joined",
//    "room":"standup","participant_id":7,"identity":"alice","ssrc":1234}
//
// (one line on the output). `ts` is the wall-clock time in UTC with milliseconds,
// `level` one of debug, info, warn, error, `event` a snake_case name, then the fields in
// the order given. Strings are escaped as JSON; bytes that are not UTF-8 become U+FFFD,
// so a peer's odd bytes can never break a line.
//
// Logs record what happens to connections, participants and rooms, never single media
// packets: nothing on the packet path calls a Logger.
//
// Threading: Log may be called from any thread; one mutex serialises the formatted lines,
// so lines never interleave. The sink runs under that mutex.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include "parley/base/clock.h"
#include "parley/base/result.h"

namespace parley {

enum class LogLevel : uint8_t { kDebug, kInfo, kWarn, kError };

// "debug", "info", "warn", "error".
std::string_view LogLevelName(LogLevel level);
// The level of a name above; Error lists the names.
[[nodiscard]] Result<LogLevel> ParseLogLevel(std::string_view name);

// One key and value of a log line. Keys are snake_case ASCII chosen by the code (never by
// a peer), and not "ts", "level" or "event".
struct LogField {
  using Value = std::variant<std::string_view, int64_t, uint64_t, double, bool>;

  LogField(std::string_view k, std::string_view v) : key(k), value(v) {}
  LogField(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  LogField(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  LogField(std::string_view k, bool v) : key(k), value(v) {}
  LogField(std::string_view k, double v) : key(k), value(v) {}
  template <typename T>
  requires(std::is_integral_v<T> && !std::is_same_v<T, bool>) LogField(std::string_view k, T v)
      : key(k),
        value(std::is_signed_v<T> ? Value(static_cast<int64_t>(v))
                                  : Value(static_cast<uint64_t>(v))) {}

  std::string_view key;
  Value value;  // string views must stay valid for the Log call only
};

class Logger {
 public:
  // Receives each line, '\n' included.
  using Sink = std::function<void(std::string_view line)>;

  // Lines at `min_level` and above go to stderr.
  explicit Logger(LogLevel min_level = LogLevel::kInfo);
  // Lines at `min_level` and above go to `sink`; `clock` (passed by argument, must outlive
  // the logger) gives `ts`.
  Logger(LogLevel min_level, Sink sink, const Clock& clock = SystemClock::Instance());
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  bool enabled(LogLevel level) const { return level >= min_level_; }

  void Log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields = {});
  void Debug(std::string_view event, std::initializer_list<LogField> fields = {}) {
    Log(LogLevel::kDebug, event, fields);
  }
  void Info(std::string_view event, std::initializer_list<LogField> fields = {}) {
    Log(LogLevel::kInfo, event, fields);
  }
  void Warn(std::string_view event, std::initializer_list<LogField> fields = {}) {
    Log(LogLevel::kWarn, event, fields);
  }
  void Error(std::string_view event, std::initializer_list<LogField> fields = {}) {
    Log(LogLevel::kError, event, fields);
  }

 private:
  // Passed by argument.
  const Clock& clock_;
  // Allocated by this.
  const LogLevel min_level_;
  Sink sink_;
  std::mutex mutex_;  // serialises sink_ calls
};

}  // namespace parley
