#include "parley/rtp/rtcp_report_view.h"

#include <algorithm>
#include <cstring>

#include "parley/rtp/big_endian.h"

namespace parley::rtp {
namespace {

constexpr int kRtcpVersion = 2;
constexpr uint8_t kSenderReportType = 200;
constexpr uint8_t kReceiverReportType = 201;
constexpr uint8_t kSdesType = 202;
constexpr uint8_t kCnameItem = 1;
constexpr size_t kMaxCnameBytes = 255;

void WriteHeader(uint8_t* p, size_t count, uint8_t packet_type, size_t packet_bytes) {
  p[0] = static_cast<uint8_t>((kRtcpVersion << 6) | count);
  p[1] = packet_type;
  WriteBe16(p + 2, static_cast<uint16_t>(packet_bytes / 4 - 1));
}

}  // namespace

RtcpFramingFault ReadRtcpFrame(std::span<const uint8_t> compound, size_t offset, RtcpFrame& frame) {
  if (compound.empty()) return RtcpFramingFault::kEmpty;
  if (offset >= compound.size() || compound.size() - offset < kRtcpHeaderBytes) {
    return RtcpFramingFault::kShortHeader;
  }
  const uint8_t* p = compound.data() + offset;
  if ((p[0] >> 6) != kRtcpVersion) return RtcpFramingFault::kBadVersion;
  frame.offset = offset;
  frame.count = p[0] & 0x1F;
  frame.packet_type = p[1];
  frame.packet_bytes = 4 * (size_t{ReadBe16(p + 2)} + 1);
  if (frame.packet_bytes > compound.size() - offset) return RtcpFramingFault::kLengthOverrun;
  frame.body = compound.subspan(offset + kRtcpHeaderBytes, frame.packet_bytes - kRtcpHeaderBytes);
  frame.padding_bytes = 0;
  if ((p[0] & 0x20) != 0) {
    if (offset + frame.packet_bytes != compound.size()) return RtcpFramingFault::kPaddingNotLast;
    const size_t pad = compound.back();
    if (pad == 0 || pad % 4 != 0 || pad > frame.body.size()) return RtcpFramingFault::kBadPadding;
    frame.body = frame.body.first(frame.body.size() - pad);
    frame.padding_bytes = pad;
  }
  return RtcpFramingFault::kNone;
}

ReportBlock RtcpReportView::block(size_t index) const {
  return ReadReportBlock(blocks.data() + index * kRtcpReportBlockBytes);
}

std::optional<size_t> ReadRtcpReports(std::span<const uint8_t> compound,
                                      std::span<RtcpReportView> out) {
  size_t reports = 0;
  size_t offset = 0;
  RtcpFrame frame;
  do {
    if (ReadRtcpFrame(compound, offset, frame) != RtcpFramingFault::kNone) return std::nullopt;
    offset += frame.packet_bytes;
    const bool sender_report = frame.packet_type == kSenderReportType;
    if (!sender_report && frame.packet_type != kReceiverReportType) continue;
    const size_t fixed = 4 + (sender_report ? kRtcpSenderInfoBytes : 0);
    const size_t blocks_bytes = size_t{frame.count} * kRtcpReportBlockBytes;
    if (frame.body.size() < fixed + blocks_bytes) return std::nullopt;
    if (reports < out.size()) {
      RtcpReportView& view = out[reports];
      const uint8_t* b = frame.body.data();
      view.sender_report = sender_report;
      view.ssrc = ReadBe32(b);
      view.sender_info = SenderInfo{};
      if (sender_report) {
        view.sender_info.ntp_timestamp = ReadBe64(b + 4);
        view.sender_info.rtp_timestamp = ReadBe32(b + 12);
        view.sender_info.packet_count = ReadBe32(b + 16);
        view.sender_info.octet_count = ReadBe32(b + 20);
      }
      view.block_count = frame.count;
      view.blocks = frame.body.subspan(fixed, blocks_bytes);
    }
    ++reports;
  } while (offset < compound.size());
  return reports;
}

ReportBlock ReadReportBlock(const uint8_t* p) {
  ReportBlock b;
  b.ssrc = ReadBe32(p);
  b.fraction_lost = p[4];
  // Sign-extend the 24-bit two's complement count.
  const uint32_t lost = ReadBe24(p + 5);
  b.cumulative_lost = static_cast<int32_t>(lost << 8) >> 8;
  b.extended_highest_sequence = ReadBe32(p + 8);
  b.jitter = ReadBe32(p + 12);
  b.last_sr = ReadBe32(p + 16);
  b.delay_since_last_sr = ReadBe32(p + 20);
  return b;
}

void WriteReportBlock(uint8_t* p, const ReportBlock& b) {
  WriteBe32(p, b.ssrc);
  p[4] = b.fraction_lost;
  WriteBe24(p + 5, static_cast<uint32_t>(b.cumulative_lost) & 0xFFFFFF);
  WriteBe32(p + 8, b.extended_highest_sequence);
  WriteBe32(p + 12, b.jitter);
  WriteBe32(p + 16, b.last_sr);
  WriteBe32(p + 20, b.delay_since_last_sr);
}

size_t WriteSenderReport(std::span<uint8_t> out, uint32_t ssrc, const SenderInfo& info,
                         std::span<const ReportBlock> blocks) {
  const size_t bytes = SenderReportBytes(blocks.size());
  if (blocks.size() > kRtcpMaxCount || out.size() < bytes) return 0;
  uint8_t* p = out.data();
  WriteHeader(p, blocks.size(), kSenderReportType, bytes);
  WriteBe32(p + 4, ssrc);
  WriteBe64(p + 8, info.ntp_timestamp);
  WriteBe32(p + 16, info.rtp_timestamp);
  WriteBe32(p + 20, info.packet_count);
  WriteBe32(p + 24, info.octet_count);
  p += 28;
  for (const ReportBlock& block : blocks) {
    WriteReportBlock(p, block);
    p += kRtcpReportBlockBytes;
  }
  return bytes;
}

size_t WriteReceiverReport(std::span<uint8_t> out, uint32_t ssrc,
                           std::span<const ReportBlock> blocks) {
  const size_t bytes = ReceiverReportBytes(blocks.size());
  if (blocks.size() > kRtcpMaxCount || out.size() < bytes) return 0;
  uint8_t* p = out.data();
  WriteHeader(p, blocks.size(), kReceiverReportType, bytes);
  WriteBe32(p + 4, ssrc);
  p += 8;
  for (const ReportBlock& block : blocks) {
    WriteReportBlock(p, block);
    p += kRtcpReportBlockBytes;
  }
  return bytes;
}

size_t WriteCnameSdes(std::span<uint8_t> out, uint32_t ssrc, std::string_view cname) {
  const size_t bytes = CnameSdesBytes(cname.size());
  if (cname.size() > kMaxCnameBytes || out.size() < bytes) return 0;
  uint8_t* p = out.data();
  std::memset(p, 0, bytes);  // END and the padding after it are zeros
  WriteHeader(p, 1, kSdesType, bytes);
  WriteBe32(p + 4, ssrc);
  p[8] = kCnameItem;
  p[9] = static_cast<uint8_t>(cname.size());
  std::copy(cname.begin(), cname.end(), p + 10);
  return bytes;
}

}  // namespace parley::rtp
