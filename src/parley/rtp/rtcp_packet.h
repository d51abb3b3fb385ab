// RTCP packets (RFC 3550 §6): sender and receiver reports, source description, BYE, APP,
// extended reports (rtcp_xr.h), and compound packets of them.
//
// RTCP is a few packets per second, so these are value types that own their contents
// (vectors, strings); RTP's per-packet path is rtp_packet.h, which copies nothing.
//
// Common header of every RTCP packet:
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |V=2|P|  count  |      PT       |   length (32-bit words - 1)   |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// SR (PT=200, count = report blocks) and RR (PT=201):
//
//   |V=2|P|   RC    |   PT=SR=200   |             length            |  0
//   |                         SSRC of sender                        |  4
//   +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+  SR only:
//   |              NTP timestamp, most significant word             |  8
//   |             NTP timestamp, least significant word             | 12
//   |                         RTP timestamp                         | 16
//   |                     sender's packet count                     | 20
//   |                      sender's octet count                     | 24
//   +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
//   |                 SSRC_1 (SSRC of first source)                 |  report block,
//   | fraction lost |       cumulative number of packets lost       |  24 bytes,
//   |           extended highest sequence number received           |  RC of them
//   |                      interarrival jitter                      |
//   |                         last SR (LSR)                         |
//   |                   delay since last SR (DLSR)                  |
//   +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
//   |                  profile-specific extensions                  |
//
// SDES (PT=202, count = chunks): per chunk an SSRC, then items |type|length|text...|,
// ended by a zero type byte and zero padding to the next 32-bit boundary:
//
//   |V=2|P|    SC   |  PT=SDES=202  |             length            |
//   |                          SSRC/CSRC_1                          |
//   |   CNAME=1     |     length    | user and domain name        ...
//   ...             |   END = 0     |  zero padding to 32 bits      |
//
// BYE (PT=203, count = SSRCs), optional reason |length|text...| padded with zeros:
//
//   |V=2|P|    SC   |   PT=BYE=203  |             length            |
//   |                           SSRC/CSRC                           |
//   |     length    |               reason for leaving            ...
//
// APP (PT=204, count = subtype):
//
//   |V=2|P| subtype |   PT=APP=204  |             length            |
//   |                           SSRC/CSRC                           |
//   |                          name (ASCII)                         |
//   |                   application-dependent data                ...
//
// Compound packets (§6.1): packets back to back, each length checked; the first is an SR
// or RR (A.2); only the last may carry padding (P: last byte = padding count).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "parley/base/result.h"
#include "parley/rtp/rtcp_xr.h"

namespace parley::rtp {

inline constexpr size_t kRtcpHeaderBytes = 4;
inline constexpr size_t kRtcpReportBlockBytes = 24;
inline constexpr size_t kRtcpSenderInfoBytes = 20;
inline constexpr size_t kRtcpMaxCount = 31;  // the 5-bit count field

enum class RtcpPacketType : uint8_t {
  kSenderReport = 200,
  kReceiverReport = 201,
  kSourceDescription = 202,
  kBye = 203,
  kApp = 204,
  kExtendedReport = 207,
};

// One reception report (§6.4.1) about a source.
struct ReportBlock {
  uint32_t ssrc = 0;                       // the source reported on
  uint8_t fraction_lost = 0;               // since the last report, in 1/256
  int32_t cumulative_lost = 0;             // signed 24-bit: -8388608..8388607
  uint32_t extended_highest_sequence = 0;  // cycles << 16 | highest sequence number
  uint32_t jitter = 0;                     // interarrival jitter, RTP timestamp units
  uint32_t last_sr = 0;                    // LSR: compact NTP of the last SR; 0 = none yet
  uint32_t delay_since_last_sr = 0;        // DLSR in 1/65536 s
  bool operator==(const ReportBlock&) const = default;
};

struct SenderInfo {
  uint64_t ntp_timestamp = 0;  // 64-bit NTP (ntp_time.h)
  uint32_t rtp_timestamp = 0;  // same instant in RTP clock units
  uint32_t packet_count = 0;   // RTP packets sent since starting
  uint32_t octet_count = 0;    // RTP payload octets sent since starting
  bool operator==(const SenderInfo&) const = default;
};

struct SenderReport {
  uint32_t ssrc = 0;
  SenderInfo sender_info;
  std::vector<ReportBlock> report_blocks;  // at most 31
  std::vector<uint8_t> profile_extension;  // a multiple of 4 bytes
  bool operator==(const SenderReport&) const = default;
};

struct ReceiverReport {
  uint32_t ssrc = 0;
  std::vector<ReportBlock> report_blocks;  // at most 31
  std::vector<uint8_t> profile_extension;  // a multiple of 4 bytes
  bool operator==(const ReceiverReport&) const = default;
};

enum class SdesType : uint8_t {
  kEnd = 0,
  kCname = 1,
  kName = 2,
  kEmail = 3,
  kPhone = 4,
  kLoc = 5,
  kTool = 6,
  kNote = 7,
  kPriv = 8,  // text = prefix length byte, prefix, value (kept as is)
};

struct SdesItem {
  SdesType type = SdesType::kCname;  // any value 1..255; unknown types are kept
  std::string text;                  // 0..255 bytes, UTF-8, no terminator
  bool operator==(const SdesItem&) const = default;
};

struct SdesChunk {
  uint32_t ssrc = 0;
  std::vector<SdesItem> items;
  bool operator==(const SdesChunk&) const = default;
};

struct SourceDescription {
  std::vector<SdesChunk> chunks;  // at most 31
  bool operator==(const SourceDescription&) const = default;
};

struct Bye {
  std::vector<uint32_t> ssrcs;  // at most 31
  std::string reason;           // 0..255 bytes; empty: no reason field
  bool operator==(const Bye&) const = default;
};

struct App {
  uint8_t subtype = 0;  // 0..31
  uint32_t ssrc = 0;
  std::array<char, 4> name{};  // four ASCII characters
  std::vector<uint8_t> data;   // a multiple of 4 bytes
  bool operator==(const App&) const = default;
};

// A packet of a type not decoded here (RTPFB, PSFB, ...), kept whole.
struct UnknownRtcpPacket {
  uint8_t packet_type = 0;
  uint8_t count = 0;          // the 5-bit field after P
  std::vector<uint8_t> body;  // after the 4-byte header, a multiple of 4 bytes
  bool operator==(const UnknownRtcpPacket&) const = default;
};

using RtcpPacket = std::variant<SenderReport, ReceiverReport, SourceDescription, Bye, App,
                                ExtendedReport, UnknownRtcpPacket>;

struct RtcpCompound {
  std::vector<RtcpPacket> packets;
  // Padding bytes (count byte included) of the last packet, 0 when P was clear.
  size_t padding_bytes = 0;
  bool operator==(const RtcpCompound&) const = default;
};

struct RtcpParseRules {
  // RFC 3550 A.2: the first packet is an SR or RR. Off for reduced-size RTCP (RFC 5506).
  bool require_report_first = true;
};

// Parses a compound RTCP packet (one UDP payload). Each packet's version, length and
// contents are checked; padding is accepted only on the last. Errors name the packet,
// the field and the offset: "RTCP SR at offset 28: length 5 words < 6 for sender info".
[[nodiscard]] Result<RtcpCompound> ParseRtcpCompound(std::span<const uint8_t> bytes,
                                                     RtcpParseRules rules = {});

// Bytes WriteRtcpPacket() writes for `packet`.
size_t RtcpPacketSize(const RtcpPacket& packet);
// Writes one packet (header included, no padding). Error when a field is out of range
// (more than 31 blocks or chunks, an item over 255 bytes, unaligned data) or `out` is
// too small. Returns the bytes written.
[[nodiscard]] Result<size_t> WriteRtcpPacket(const RtcpPacket& packet, std::span<uint8_t> out);

// Writes the packets of `compound` back to back, SR/RR first when require_report_first,
// then padding on the last when compound.padding_bytes is 1..255. Returns the bytes written.
[[nodiscard]] Result<size_t> WriteRtcpCompound(const RtcpCompound& compound, std::span<uint8_t> out,
                                               RtcpParseRules rules = {});
size_t RtcpCompoundSize(const RtcpCompound& compound);

}  // namespace parley::rtp
