#include "parley/lab/csv.h"

#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

namespace parley::lab::csv {
namespace {

std::string_view Trim(std::string_view text) {
  const size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return {};
  const size_t end = text.find_last_not_of(" \t");
  return text.substr(begin, end - begin + 1);
}

// Splits at ',' into trimmed fields.
std::vector<std::string_view> SplitFields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  while (true) {
    const size_t comma = line.find(',', start);
    fields.push_back(Trim(line.substr(start, comma - start)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return fields;
}

bool IsHeader(const std::vector<std::string_view>& fields,
              std::span<const std::string_view> columns) {
  if (fields.size() != columns.size()) return false;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (fields[i] != columns[i]) return false;
  }
  return true;
}

std::string JoinColumns(std::span<const std::string_view> columns) {
  std::string joined;
  for (std::string_view column : columns) {
    if (!joined.empty()) joined += ',';
    joined += column;
  }
  return joined;
}

}  // namespace

Result<std::vector<Record>> SplitRecords(std::string_view text, std::string_view kind,
                                         std::span<const std::string_view> columns) {
  std::vector<Record> records;
  int line_number = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    line = Trim(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    std::vector<std::string_view> fields = SplitFields(line);
    if (records.empty() && IsHeader(fields, columns)) continue;
    if (fields.size() != columns.size()) {
      return LineError(kind, line_number,
                       fmt::format("{} fields, expected {} ({})", fields.size(), columns.size(),
                                   JoinColumns(columns)));
    }
    records.push_back(Record{line_number, std::move(fields)});
  }
  return records;
}

Error LineError(std::string_view kind, int line, std::string_view message) {
  return Error{fmt::format("{} line {}: {}", kind, line, message)};
}

std::optional<int64_t> ParseInteger(std::string_view text) {
  int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) {
    return std::nullopt;
  }
  return value;
}

Result<double> ParseMs(std::string_view kind, int line, std::string_view field,
                       std::string_view text, std::string_view expected) {
  double value = 0.0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error == std::errc::invalid_argument || end != text.data() + text.size() ||
      std::isnan(value)) {
    return LineError(kind, line, fmt::format("{} '{}' is not {}", field, text, expected));
  }
  if (error == std::errc::result_out_of_range || !std::isfinite(value) ||
      std::fabs(value) > kMaxMs) {
    return LineError(kind, line,
                     fmt::format("{} '{}' is out of range (+-{:.0f} ms)", field, text, kMaxMs));
  }
  return value;
}

void AppendNumber(std::string& out, double value) {
  // Fixed notation of the largest double takes 309 digits, plus sign, point and decimals.
  char buffer[320];
  const auto result =
      std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::fixed, 3);
  std::string_view text(buffer, static_cast<size_t>(result.ptr - buffer));
  if (text.find('.') != std::string_view::npos) {
    text = text.substr(0, text.find_last_not_of('0') + 1);
    if (text.back() == '.') text.remove_suffix(1);
  }
  if (text == "-0") text = "0";
  out += text;
}

std::string HeaderLine(std::span<const std::string_view> columns) {
  return JoinColumns(columns) + '\n';
}

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return Error{fmt::format("cannot open '{}': {}", path, std::strerror(errno))};
  }
  std::ostringstream contents;
  contents << file.rdbuf();
  if (file.bad()) return Error{fmt::format("cannot read '{}'", path)};
  return std::move(contents).str();
}

Status WriteFileAtomically(const std::string& path, std::string_view contents) {
  const std::string partial = path + ".partial";
  std::FILE* file = std::fopen(partial.c_str(), "wb");
  if (file == nullptr) {
    return Error{fmt::format("cannot create '{}': {}", partial, std::strerror(errno))};
  }
  const bool written = std::fwrite(contents.data(), 1, contents.size(), file) == contents.size();
  const int write_errno = errno;
  const bool closed = std::fclose(file) == 0;
  if (!written || !closed) {
    std::remove(partial.c_str());
    return Error{fmt::format("cannot write '{}': {}", partial,
                             std::strerror(written ? errno : write_errno))};
  }
  if (std::rename(partial.c_str(), path.c_str()) != 0) {
    const int rename_errno = errno;
    std::remove(partial.c_str());
    return Error{
        fmt::format("cannot rename '{}' to '{}': {}", partial, path, std::strerror(rename_errno))};
  }
  return Status::Ok();
}

}  // namespace parley::lab::csv
