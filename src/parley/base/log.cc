#include "parley/base/log.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace parley {
namespace {

// Length of the valid UTF-8 sequence at text[i], or 0 when the bytes there are not one
// (overlong forms, surrogates and code points above U+10FFFF included).
size_t Utf8SequenceLength(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
  const uint8_t lead = byte(i);
  size_t length = 0;
  uint8_t second_low = 0x80;
  uint8_t second_high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) second_low = 0xA0;   // overlong
    if (lead == 0xED) second_high = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) second_low = 0x90;   // overlong
    if (lead == 0xF4) second_high = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < second_low || byte(i + 1) > second_high) return 0;
  for (size_t k = 2; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  }
  return length;
}

void AppendJsonString(std::string& out, std::string_view text) {
  out += '"';
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<uint8_t>(text[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          if (c < 0x20 || c == 0x7F) {
            fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    const size_t length = Utf8SequenceLength(text, i);
    if (length == 0) {
      out += "\\ufffd";
      ++i;
    } else {
      out.append(text.substr(i, length));
      i += length;
    }
  }
  out += '"';
}

void AppendValue(std::string& out, const LogField::Value& value) {
  if (const auto* text = std::get_if<std::string_view>(&value)) {
    AppendJsonString(out, *text);
  } else if (const auto* signed_value = std::get_if<int64_t>(&value)) {
    fmt::format_to(std::back_inserter(out), "{}", *signed_value);
  } else if (const auto* unsigned_value = std::get_if<uint64_t>(&value)) {
    fmt::format_to(std::back_inserter(out), "{}", *unsigned_value);
  } else if (const auto* real = std::get_if<double>(&value)) {
    // JSON has no NaN or infinity.
    if (std::isfinite(*real)) {
      fmt::format_to(std::back_inserter(out), "{}", *real);
    } else {
      out += "null";
    }
  } else {
    out += std::get<bool>(value) ? "true" : "false";
  }
}

// "2026-01-05T09:30:00.123Z".
void AppendTimestamp(std::string& out, Clock::WallTime now) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
  const auto seconds =
      static_cast<std::time_t>(std::chrono::floor<std::chrono::seconds>(ms).count());
  const auto millis = static_cast<int>(ms.count() - int64_t{seconds} * 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  fmt::format_to(std::back_inserter(out), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 millis);
}

void WriteToStderr(std::string_view line) {
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace

std::string_view LogLevelName(LogLevel level) {
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
  return "unknown";
}

Result<LogLevel> ParseLogLevel(std::string_view name) {
  for (LogLevel level : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    if (name == LogLevelName(level)) return level;
  }
  return Error{
      fmt::format("log level '{}': expected debug, info, warn or error", name.substr(0, 40))};
}

Logger::Logger(LogLevel min_level) : Logger(min_level, WriteToStderr) {}

Logger::Logger(LogLevel min_level, Sink sink, const Clock& clock)
    : clock_(clock), min_level_(min_level), sink_(std::move(sink)) {}

void Logger::Log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields) {
  if (!enabled(level)) return;
  std::string line;
  line.reserve(128);
  line += "{\"ts\":\"";
  AppendTimestamp(line, clock_.WallNow());
  line += "\",\"level\":\"";
  line += LogLevelName(level);
  line += "\",\"event\":";
  AppendJsonString(line, event);
  for (const LogField& field : fields) {
    line += ',';
    AppendJsonString(line, field.key);
    line += ':';
    AppendValue(line, field.value);
  }
  line += "}\n";
  std::lock_guard lock(mutex_);
  sink_(line);
}

}  // namespace parley
