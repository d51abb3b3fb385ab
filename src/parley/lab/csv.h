// The small CSV dialect shared by the lab's text files (trace.h, packet_log.h), so that
// they read, write and report errors the same way. Internal to the lab layer.
//
// A file is lines separated by '\n' (a '\r' before it is ignored). On each line, '#'
// starts a comment that runs to the end of the line; what is left is trimmed of spaces
// and tabs, and an empty line is skipped. Fields are separated by ',' and trimmed too. The
// first record may be a header repeating the column names; it is skipped.
//
// Numbers are written with at most 3 decimals and no trailing zeros ("20", "20.5",
// "20.125"): milliseconds to the microsecond. Read numbers must be finite, plain decimals
// (an exponent is accepted, hexadecimal and inf/nan are not) and within +-kMaxMs, which
// keeps every value exact to 3 decimals in a double, so that writing what was read and
// reading it back yields the same bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "parley/base/result.h"

namespace parley::lab::csv {

// About 31 years in milliseconds.
inline constexpr double kMaxMs = 1e12;

// One data line: its number in the file (1-based) and its trimmed fields (views into the
// parsed text).
struct Record {
  int line = 0;
  std::vector<std::string_view> fields;
};

// The records of `text`, each with exactly columns.size() fields, the header line (if
// any) left out. Errors name `kind` and the line ("trace line 3: 2 fields, expected 3
// (seq,send_ms,arrival_ms)").
[[nodiscard]] Result<std::vector<Record>> SplitRecords(std::string_view text, std::string_view kind,
                                                       std::span<const std::string_view> columns);

// "<kind> line <line>: <message>".
Error LineError(std::string_view kind, int line, std::string_view message);

// A plain decimal integer (optional '-'), or nullopt.
std::optional<int64_t> ParseInteger(std::string_view text);

// A finite number within +-kMaxMs, or an error naming the line and the field:
// "trace line 7: send_ms 'abc' is not a number" (`expected` replaces "a number" for a
// column that also takes a word).
[[nodiscard]] Result<double> ParseMs(std::string_view kind, int line, std::string_view field,
                                     std::string_view text, std::string_view expected = "a number");

// Appends `value` with at most 3 decimals, trailing zeros and a lone minus on zero
// dropped. Precondition: finite.
void AppendNumber(std::string& out, double value);

// The header line "a,b,c\n" for the given columns.
std::string HeaderLine(std::span<const std::string_view> columns);

// The whole file, or an error naming the path and the system's reason.
[[nodiscard]] Result<std::string> ReadWholeFile(const std::string& path);

// Writes `contents` to `path` + ".partial" and renames it over `path`, so that a reader
// never sees half a file. The partial file is removed on failure.
[[nodiscard]] Status WriteFileAtomically(const std::string& path, std::string_view contents);

}  // namespace parley::lab::csv
