// The lab's trace file: the exact fate of every packet of a run, to record a run of the
// impairment model and replay it later (or replay a fate measured on a real network).
//
//   seq,send_ms,arrival_ms        <- optional header line
//   # comment                     <- '#' starts a comment, on its own line or after a record
//   0,0,41.25
//   1,20,lost                     <- never arrived
//   2,40,63.5
//   2,40,68.5                     <- duplicated: one line per arrival, same seq
//
// seq is an integer (the sender's packet count; lines need not be in seq order). send_ms
// and arrival_ms are milliseconds on the sender's clock, finite, send_ms >= 0 and
// arrival_ms >= send_ms, or the word `lost`. Numbers are written with at most 3 decimals
// (1 us), trailing zeros dropped, so writing what was read reproduces the same bytes.
// Blank lines are ignored; the shared dialect is described in csv.h.
//
// Errors are one line naming the line and the field:
//   "trace line 7: arrival_ms 'abc' is not a number or 'lost'".
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "parley/base/result.h"
#include "parley/lab/impairment.h"

namespace parley::lab {

struct TraceEntry {
  int64_t seq = 0;
  double send_ms = 0.0;
  std::optional<double> arrival_ms;  // empty: lost

  bool lost() const { return !arrival_ms.has_value(); }
  bool operator==(const TraceEntry&) const = default;
};

// The entries of a trace text, in file order.
[[nodiscard]] Result<std::vector<TraceEntry>> ParseTrace(std::string_view text);

// The text of `entries`, header line first. Precondition: finite times.
std::string FormatTrace(std::span<const TraceEntry> entries);

// ParseTrace of a file; errors are prefixed with the path.
[[nodiscard]] Result<std::vector<TraceEntry>> ReadTraceFile(const std::string& path);

// Writes FormatTrace(entries) to `path` through `path`.partial and a rename, so that the
// file is either the old one or complete.
[[nodiscard]] Status WriteTraceFile(const std::string& path, std::span<const TraceEntry> entries);

// The trace lines of one packet's fate: one lost entry, or one entry per arrival, times
// rounded to the microsecond as the file keeps them (so replaying the returned entries
// and replaying them after a write and a read give the same run).
std::vector<TraceEntry> FatesToTrace(int64_t seq, double send_ms, const PacketFate& fate);

}  // namespace parley::lab
