// RTCP reports without allocation: framing of a compound packet, reading its sender and
// receiver reports in place, and writing SR, RR and a CNAME-only SDES into a caller's
// buffer. For paths that handle RTCP from many links at once (the relay terminates RTCP
// for every participant on its media thread); rtcp_packet.h is the general form, with
// value types that own their contents, and is built on the framing here.
//
// Layouts: rtcp_packet.h. What is checked here is what a report reader relies on: each
// packet's version, its length against the bytes given, padding only on the last packet
// (its count a multiple of 4 within the packet), and for an SR or RR that the body holds
// the SSRC, the sender info (SR) and `count` report blocks. Other packet types are framed
// and skipped, not decoded.
//
// Threading: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "parley/rtp/rtcp_packet.h"

namespace parley::rtp {

// One packet of a compound as its header frames it.
struct RtcpFrame {
  size_t offset = 0;  // of the packet's first byte in the compound
  uint8_t packet_type = 0;
  uint8_t count = 0;              // the 5-bit field after P
  size_t packet_bytes = 0;        // header, body and padding
  std::span<const uint8_t> body;  // after the 4-byte header, padding removed
  size_t padding_bytes = 0;       // count byte included; 0 when P is clear
};

// Why a compound's framing is broken, checked in this order per packet.
enum class RtcpFramingFault : uint8_t {
  kNone,
  kEmpty,           // 0 bytes
  kShortHeader,     // fewer than 4 bytes left for a header
  kBadVersion,      // version bits not 2
  kLengthOverrun,   // the length field runs past the end of the compound
  kPaddingNotLast,  // P set on a packet that is not the last
  kBadPadding,      // padding count 0, not a multiple of 4, or larger than the body
};

// Frames the packet starting at `offset` of `compound` (offset < compound.size(), or 0 for
// an empty compound). Fills `frame` and returns kNone, or returns the fault (`frame` then
// unspecified). The next packet starts at offset + frame.packet_bytes.
[[nodiscard]] RtcpFramingFault ReadRtcpFrame(std::span<const uint8_t> compound, size_t offset,
                                             RtcpFrame& frame);

// An SR or RR read in place; `blocks` points into the compound given to ReadRtcpReports.
struct RtcpReportView {
  bool sender_report = false;
  uint32_t ssrc = 0;        // of the packet's sender
  SenderInfo sender_info;   // SR only
  uint8_t block_count = 0;  // report blocks
  std::span<const uint8_t> blocks;

  ReportBlock block(size_t index) const;  // index < block_count
};

// The SRs and RRs of `compound`, in order, into `out` (those beyond out.size() are
// checked but not stored). Returns how many the compound holds, or nullopt when its
// framing is broken or an SR/RR is shorter than its count says (nothing of it is then to
// be trusted). Does not require the first packet to be a report.
[[nodiscard]] std::optional<size_t> ReadRtcpReports(std::span<const uint8_t> compound,
                                                    std::span<RtcpReportView> out);

// 24 bytes of a report block at `p`, and back.
ReportBlock ReadReportBlock(const uint8_t* p);
void WriteReportBlock(uint8_t* p, const ReportBlock& block);

// Bytes of an SR / RR with `blocks` report blocks and no profile extension.
constexpr size_t SenderReportBytes(size_t blocks) {
  return kRtcpHeaderBytes + 4 + kRtcpSenderInfoBytes + blocks * kRtcpReportBlockBytes;
}
constexpr size_t ReceiverReportBytes(size_t blocks) {
  return kRtcpHeaderBytes + 4 + blocks * kRtcpReportBlockBytes;
}
// Bytes of an SDES packet with one chunk holding one CNAME of `cname_bytes`.
constexpr size_t CnameSdesBytes(size_t cname_bytes) {
  // header, SSRC, type + length + text, END, zero padding to 32 bits
  return kRtcpHeaderBytes + ((4 + 2 + cname_bytes + 1 + 3) & ~size_t{3});
}

// Write one packet at the start of `out`; return the bytes written, or 0 (nothing
// written) when `out` is too small, there are more than 31 blocks, or the CNAME is over
// 255 bytes.
size_t WriteSenderReport(std::span<uint8_t> out, uint32_t ssrc, const SenderInfo& info,
                         std::span<const ReportBlock> blocks);
size_t WriteReceiverReport(std::span<uint8_t> out, uint32_t ssrc,
                           std::span<const ReportBlock> blocks);
size_t WriteCnameSdes(std::span<uint8_t> out, uint32_t ssrc, std::string_view cname);

}  // namespace parley::rtp
