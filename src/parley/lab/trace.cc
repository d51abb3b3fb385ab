#include "parley/lab/trace.h"

#include <fmt/format.h>

#include <array>
#include <cmath>

#include "parley/lab/csv.h"

namespace parley::lab {
namespace {

constexpr std::string_view kKind = "trace";
constexpr std::array<std::string_view, 3> kColumns = {"seq", "send_ms", "arrival_ms"};
constexpr std::string_view kLost = "lost";

// What the file keeps of a time, so that an in-memory trace replays exactly like the
// same trace written and read back.
double RoundToMicroseconds(double ms) { return std::round(ms * 1000.0) / 1000.0; }

Result<TraceEntry> ParseEntry(const csv::Record& record) {
  const std::string_view seq_text = record.fields[0];
  const std::string_view send_text = record.fields[1];
  const std::string_view arrival_text = record.fields[2];

  TraceEntry entry;
  const std::optional<int64_t> seq = csv::ParseInteger(seq_text);
  if (!seq) {
    return csv::LineError(kKind, record.line, fmt::format("seq '{}' is not an integer", seq_text));
  }
  entry.seq = *seq;

  Result<double> send_ms = csv::ParseMs(kKind, record.line, "send_ms", send_text);
  if (!send_ms) return send_ms.error();
  if (*send_ms < 0.0) {
    return csv::LineError(kKind, record.line, fmt::format("send_ms {} is negative", send_text));
  }
  entry.send_ms = *send_ms;

  if (arrival_text == kLost) return entry;
  Result<double> arrival_ms =
      csv::ParseMs(kKind, record.line, "arrival_ms", arrival_text, "a number or 'lost'");
  if (!arrival_ms) return arrival_ms.error();
  if (*arrival_ms < entry.send_ms) {
    return csv::LineError(
        kKind, record.line,
        fmt::format("arrival_ms {} is before send_ms {}", arrival_text, send_text));
  }
  entry.arrival_ms = *arrival_ms;
  return entry;
}

}  // namespace

Result<std::vector<TraceEntry>> ParseTrace(std::string_view text) {
  Result<std::vector<csv::Record>> records = csv::SplitRecords(text, kKind, kColumns);
  if (!records) return records.error();
  std::vector<TraceEntry> entries;
  entries.reserve(records->size());
  for (const csv::Record& record : *records) {
    Result<TraceEntry> entry = ParseEntry(record);
    if (!entry) return entry.error();
    entries.push_back(*entry);
  }
  return entries;
}

std::string FormatTrace(std::span<const TraceEntry> entries) {
  std::string text = csv::HeaderLine(kColumns);
  for (const TraceEntry& entry : entries) {
    text += fmt::format("{},", entry.seq);
    csv::AppendNumber(text, entry.send_ms);
    text += ',';
    if (entry.arrival_ms) {
      csv::AppendNumber(text, *entry.arrival_ms);
    } else {
      text += kLost;
    }
    text += '\n';
  }
  return text;
}

Result<std::vector<TraceEntry>> ReadTraceFile(const std::string& path) {
  Result<std::string> text = csv::ReadWholeFile(path);
  if (!text) return text.error();
  Result<std::vector<TraceEntry>> entries = ParseTrace(*text);
  if (!entries) return Error{fmt::format("{}: {}", path, entries.error().message)};
  return entries;
}

Status WriteTraceFile(const std::string& path, std::span<const TraceEntry> entries) {
  return csv::WriteFileAtomically(path, FormatTrace(entries));
}

std::vector<TraceEntry> FatesToTrace(int64_t seq, double send_ms, const PacketFate& fate) {
  std::vector<TraceEntry> entries;
  if (fate.lost()) {
    entries.push_back(TraceEntry{seq, RoundToMicroseconds(send_ms), std::nullopt});
    return entries;
  }
  for (double arrival_ms : fate.arrivals_ms) {
    entries.push_back(
        TraceEntry{seq, RoundToMicroseconds(send_ms), RoundToMicroseconds(arrival_ms)});
  }
  return entries;
}

}  // namespace parley::lab
