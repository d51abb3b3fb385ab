// The packet log of a whole stream: every packet the sender produced, its RTP timestamp,
// when it was sent, when (or whether) it arrived, and its payload, so that a run can be
// inspected or its packets fed to a player again without the encoder and the network.
//
//   seq,rtp_ts,send_ms,arrival_ms,payload_hex    <- optional header line
//   # Opus, 20 ms frames                         <- '#' starts a comment
//   0,0,0,41.25,fc0b2f
//   1,960,20,-1,fcff01                           <- lost: arrival_ms < 0
//   2,1920,40,63.5,
//                                                   ^ an empty payload is allowed
//
// seq is an integer; rtp_ts an unsigned 32-bit integer (0..4294967295); send_ms a finite
// number >= 0; arrival_ms a finite number >= send_ms, or any negative number for a lost
// packet (written back as -1); payload_hex an even number of hex digits (either case;
// written in lower case). Numbers are written like the trace's (trace.h, csv.h): at most 3
// decimals, trailing zeros dropped, so writing what was read reproduces the same bytes.
//
// Errors are one line naming the line and the field:
//   "packet log line 4: payload_hex has an odd number of digits (5)".
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "parley/base/result.h"

namespace parley::lab {

struct LoggedPacket {
  int64_t seq = 0;
  uint32_t rtp_ts = 0;
  double send_ms = 0.0;
  double arrival_ms = -1.0;  // < 0: lost
  std::vector<uint8_t> payload;

  bool lost() const { return arrival_ms < 0; }
  bool operator==(const LoggedPacket&) const = default;
};

// The packets of a log text, in file order. A lost packet's arrival_ms reads as -1.
[[nodiscard]] Result<std::vector<LoggedPacket>> ParsePacketLog(std::string_view text);

// The text of `packets`, header line first. Precondition: finite times.
std::string FormatPacketLog(std::span<const LoggedPacket> packets);

// ParsePacketLog of a file; errors are prefixed with the path.
[[nodiscard]] Result<std::vector<LoggedPacket>> ReadPacketLogFile(const std::string& path);

// Writes FormatPacketLog(packets) to `path` through `path`.partial and a rename.
[[nodiscard]] Status WritePacketLogFile(const std::string& path,
                                        std::span<const LoggedPacket> packets);

}  // namespace parley::lab
