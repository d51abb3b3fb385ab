#include "parley/rtp/rtcp_packet.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "parley/rtp/big_endian.h"
#include "parley/rtp/rtcp_report_view.h"

namespace parley::rtp {
namespace {

constexpr int kRtcpVersion = 2;
constexpr size_t kMaxPacketBytes = 4 * (size_t{0xFFFF} + 1);  // 16-bit length in words - 1
constexpr size_t kMaxTextBytes = 255;

size_t RoundUp4(size_t n) { return (n + 3) & ~size_t{3}; }

const char* TypeName(uint8_t packet_type) {
  switch (packet_type) {
    case 200:
      return "SR";
    case 201:
      return "RR";
    case 202:
      return "SDES";
    case 203:
      return "BYE";
    case 204:
      return "APP";
    case 207:
      return "XR";
    default:
      return "packet";
  }
}

// Context for error messages: "RTCP SR at offset 28: ...".
struct Where {
  uint8_t packet_type;
  size_t offset;  // of the packet's first byte in the compound
  template <typename... Args>
  Error Fail(fmt::format_string<Args...> format, Args&&... args) const {
    return Error{fmt::format("RTCP {} at offset {}: {}", TypeName(packet_type), offset,
                             fmt::format(format, std::forward<Args>(args)...))};
  }
};

// Report blocks then the profile extension, from `pos` in `body` (packet offset 4).
Status ReadReportBlocks(const Where& where, std::span<const uint8_t> body, size_t pos, size_t count,
                        std::vector<ReportBlock>& blocks, std::vector<uint8_t>& extension) {
  const size_t needed = pos + kRtcpReportBlockBytes * count;
  if (body.size() < needed) {
    return where.Fail("{} bytes < {} for {} report blocks", body.size() + kRtcpHeaderBytes,
                      needed + kRtcpHeaderBytes, count);
  }
  blocks.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    blocks.push_back(ReadReportBlock(body.data() + pos));
    pos += kRtcpReportBlockBytes;
  }
  extension.assign(body.begin() + static_cast<std::ptrdiff_t>(pos), body.end());
  return Status::Ok();
}

Result<RtcpPacket> ParseSenderReport(const Where& where, size_t count,
                                     std::span<const uint8_t> body) {
  if (body.size() < 4 + kRtcpSenderInfoBytes) {
    return where.Fail("{} bytes < 28 for SSRC and sender info", body.size() + kRtcpHeaderBytes);
  }
  SenderReport sr;
  sr.ssrc = ReadBe32(body.data());
  sr.sender_info.ntp_timestamp = ReadBe64(body.data() + 4);
  sr.sender_info.rtp_timestamp = ReadBe32(body.data() + 12);
  sr.sender_info.packet_count = ReadBe32(body.data() + 16);
  sr.sender_info.octet_count = ReadBe32(body.data() + 20);
  Status blocks = ReadReportBlocks(where, body, 4 + kRtcpSenderInfoBytes, count, sr.report_blocks,
                                   sr.profile_extension);
  if (!blocks) return blocks.error();
  return RtcpPacket(std::move(sr));
}

Result<RtcpPacket> ParseReceiverReport(const Where& where, size_t count,
                                       std::span<const uint8_t> body) {
  if (body.size() < 4) {
    return where.Fail("{} bytes < 8 for SSRC", body.size() + kRtcpHeaderBytes);
  }
  ReceiverReport rr;
  rr.ssrc = ReadBe32(body.data());
  Status blocks = ReadReportBlocks(where, body, 4, count, rr.report_blocks, rr.profile_extension);
  if (!blocks) return blocks.error();
  return RtcpPacket(std::move(rr));
}

Result<RtcpPacket> ParseSdes(const Where& where, size_t count, std::span<const uint8_t> body) {
  SourceDescription sdes;
  sdes.chunks.reserve(count);
  size_t pos = 0;
  // Offsets in messages are in the packet (body starts at 4).
  auto at = [&](size_t body_pos) { return where.offset + kRtcpHeaderBytes + body_pos; };
  for (size_t c = 0; c < count; ++c) {
    if (pos + 4 > body.size()) {
      return where.Fail("chunk {} of {} at offset {}: no room for its SSRC", c + 1, count, at(pos));
    }
    SdesChunk chunk;
    chunk.ssrc = ReadBe32(body.data() + pos);
    pos += 4;
    while (true) {
      if (pos >= body.size()) {
        return where.Fail("chunk {} item at offset {}: packet ends before the end item", c + 1,
                          at(pos));
      }
      const uint8_t type = body[pos];
      if (type == 0) {
        // END: the null octet, then zeros up to the next 32-bit boundary.
        pos = RoundUp4(pos + 1);
        break;
      }
      if (pos + 2 > body.size()) {
        return where.Fail("item type {} at offset {}: no length byte", type, at(pos));
      }
      const size_t length = body[pos + 1];
      if (pos + 2 + length > body.size()) {
        return where.Fail("item type {} length {} at offset {} ends past packet end {}", type,
                          length, at(pos + 1), at(body.size()));
      }
      chunk.items.push_back(
          {static_cast<SdesType>(type),
           std::string(reinterpret_cast<const char*>(body.data() + pos + 2), length)});
      pos += 2 + length;
    }
    sdes.chunks.push_back(std::move(chunk));
  }
  if (pos != body.size()) {
    return where.Fail("{} bytes after {} chunks at offset {}", body.size() - pos, count, at(pos));
  }
  return RtcpPacket(std::move(sdes));
}

Result<RtcpPacket> ParseBye(const Where& where, size_t count, std::span<const uint8_t> body) {
  if (body.size() < 4 * count) {
    return where.Fail("{} bytes < {} for {} SSRCs", body.size() + kRtcpHeaderBytes,
                      4 * count + kRtcpHeaderBytes, count);
  }
  Bye bye;
  for (size_t i = 0; i < count; ++i) bye.ssrcs.push_back(ReadBe32(body.data() + 4 * i));
  size_t pos = 4 * count;
  if (pos < body.size()) {
    const size_t length = body[pos];
    if (pos + 1 + length > body.size()) {
      return where.Fail("reason length {} at offset {} ends past packet end {}", length,
                        where.offset + kRtcpHeaderBytes + pos,
                        where.offset + kRtcpHeaderBytes + body.size());
    }
    bye.reason.assign(reinterpret_cast<const char*>(body.data() + pos + 1), length);
  }
  return RtcpPacket(std::move(bye));
}

Result<RtcpPacket> ParseApp(const Where& where, size_t count, std::span<const uint8_t> body) {
  if (body.size() < 8) {
    return where.Fail("{} bytes < 12 for SSRC and name", body.size() + kRtcpHeaderBytes);
  }
  App app;
  app.subtype = static_cast<uint8_t>(count);
  app.ssrc = ReadBe32(body.data());
  std::memcpy(app.name.data(), body.data() + 4, 4);
  app.data.assign(body.begin() + 8, body.end());
  return RtcpPacket(std::move(app));
}

Result<RtcpPacket> ParseXr(const Where& where, std::span<const uint8_t> body) {
  if (body.size() < 4) return where.Fail("{} bytes < 8 for SSRC", body.size() + kRtcpHeaderBytes);
  ExtendedReport xr;
  xr.ssrc = ReadBe32(body.data());
  size_t pos = 4;
  while (pos < body.size()) {
    const size_t packet_pos = where.offset + kRtcpHeaderBytes + pos;
    if (pos + 4 > body.size()) {
      return where.Fail("block header at offset {}: {} bytes < 4", packet_pos, body.size() - pos);
    }
    const uint8_t type = body[pos];
    const size_t block_bytes = 4 + 4 * size_t{ReadBe16(body.data() + pos + 2)};
    if (pos + block_bytes > body.size()) {
      return where.Fail("block type {} length {} bytes at offset {} ends past packet end {}", type,
                        block_bytes, packet_pos, where.offset + kRtcpHeaderBytes + body.size());
    }
    const std::span<const uint8_t> block = body.subspan(pos, block_bytes);
    if (type == kXrVoipMetricsBlockType) {
      Result<VoipMetrics> metrics = ParseVoipMetrics(block, packet_pos);
      if (!metrics) return where.Fail("{}", metrics.error().message);
      xr.voip_metrics.push_back(*metrics);
    } else {
      xr.other_blocks.push_back(
          {type, block[1], std::vector<uint8_t>(block.begin() + 4, block.end())});
    }
    pos += block_bytes;
  }
  return RtcpPacket(std::move(xr));
}

// --- Writing -------------------------------------------------------------------------

size_t SizeOf(const SenderReport& sr) {
  return kRtcpHeaderBytes + 4 + kRtcpSenderInfoBytes +
         kRtcpReportBlockBytes * sr.report_blocks.size() + sr.profile_extension.size();
}
size_t SizeOf(const ReceiverReport& rr) {
  return kRtcpHeaderBytes + 4 + kRtcpReportBlockBytes * rr.report_blocks.size() +
         rr.profile_extension.size();
}
size_t SizeOf(const SourceDescription& sdes) {
  size_t bytes = kRtcpHeaderBytes;
  for (const SdesChunk& chunk : sdes.chunks) {
    size_t chunk_bytes = 4 + 1;  // SSRC, END
    for (const SdesItem& item : chunk.items) chunk_bytes += 2 + item.text.size();
    bytes += RoundUp4(chunk_bytes);
  }
  return bytes;
}
size_t SizeOf(const Bye& bye) {
  return kRtcpHeaderBytes + 4 * bye.ssrcs.size() +
         (bye.reason.empty() ? 0 : RoundUp4(1 + bye.reason.size()));
}
size_t SizeOf(const App& app) { return kRtcpHeaderBytes + 8 + app.data.size(); }
size_t SizeOf(const ExtendedReport& xr) {
  size_t bytes = kRtcpHeaderBytes + 4 + kXrVoipMetricsBlockBytes * xr.voip_metrics.size();
  for (const XrBlock& block : xr.other_blocks) bytes += 4 + block.contents.size();
  return bytes;
}
size_t SizeOf(const UnknownRtcpPacket& packet) { return kRtcpHeaderBytes + packet.body.size(); }

void WriteHeader(uint8_t* p, size_t count, uint8_t packet_type, size_t packet_bytes) {
  p[0] = static_cast<uint8_t>((kRtcpVersion << 6) | count);
  p[1] = packet_type;
  WriteBe16(p + 2, static_cast<uint16_t>(packet_bytes / 4 - 1));
}

Status CheckReports(const char* name, const std::vector<ReportBlock>& blocks,
                    const std::vector<uint8_t>& extension) {
  if (blocks.size() > kRtcpMaxCount) {
    return Error{fmt::format("RTCP {}: {} report blocks > 31", name, blocks.size())};
  }
  for (const ReportBlock& b : blocks) {
    if (b.cumulative_lost < -0x800000 || b.cumulative_lost > 0x7FFFFF) {
      return Error{fmt::format("RTCP {}: cumulative lost {} outside signed 24 bits", name,
                               b.cumulative_lost)};
    }
  }
  if (extension.size() % 4 != 0) {
    return Error{fmt::format("RTCP {}: profile extension {} bytes not a multiple of 4", name,
                             extension.size())};
  }
  return Status::Ok();
}

// Field checks before anything is written; sizes are checked by the caller.
Status Check(const SenderReport& sr) {
  return CheckReports("SR", sr.report_blocks, sr.profile_extension);
}
Status Check(const ReceiverReport& rr) {
  return CheckReports("RR", rr.report_blocks, rr.profile_extension);
}
Status Check(const SourceDescription& sdes) {
  if (sdes.chunks.size() > kRtcpMaxCount) {
    return Error{fmt::format("RTCP SDES: {} chunks > 31", sdes.chunks.size())};
  }
  for (const SdesChunk& chunk : sdes.chunks) {
    for (const SdesItem& item : chunk.items) {
      if (item.type == SdesType::kEnd) {
        return Error{fmt::format("RTCP SDES: item type 0 (END) in chunk {:#010x}", chunk.ssrc)};
      }
      if (item.text.size() > kMaxTextBytes) {
        return Error{fmt::format("RTCP SDES: item type {} text {} bytes > 255",
                                 static_cast<int>(item.type), item.text.size())};
      }
    }
  }
  return Status::Ok();
}
Status Check(const Bye& bye) {
  if (bye.ssrcs.size() > kRtcpMaxCount) {
    return Error{fmt::format("RTCP BYE: {} SSRCs > 31", bye.ssrcs.size())};
  }
  if (bye.reason.size() > kMaxTextBytes) {
    return Error{fmt::format("RTCP BYE: reason {} bytes > 255", bye.reason.size())};
  }
  return Status::Ok();
}
Status Check(const App& app) {
  if (app.subtype > kRtcpMaxCount) {
    return Error{fmt::format("RTCP APP: subtype {} > 31", app.subtype)};
  }
  if (app.data.size() % 4 != 0) {
    return Error{fmt::format("RTCP APP: data {} bytes not a multiple of 4", app.data.size())};
  }
  return Status::Ok();
}
Status Check(const ExtendedReport& xr) {
  for (const VoipMetrics& m : xr.voip_metrics) {
    if (static_cast<uint8_t>(m.plc) > 3 || static_cast<uint8_t>(m.jitter_buffer_mode) > 3 ||
        m.jitter_buffer_rate > 15) {
      return Error{fmt::format(
          "RTCP XR: VoIP Metrics RX config out of range (PLC {}, JBA {}, "
          "rate {})",
          static_cast<int>(m.plc), static_cast<int>(m.jitter_buffer_mode), m.jitter_buffer_rate)};
    }
  }
  for (const XrBlock& block : xr.other_blocks) {
    if (block.block_type == kXrVoipMetricsBlockType) {
      return Error{"RTCP XR: a type 7 block belongs in voip_metrics"};
    }
    if (block.contents.size() % 4 != 0 || block.contents.size() / 4 > 0xFFFF) {
      return Error{
          fmt::format("RTCP XR: block type {} contents {} bytes not a multiple of 4 "
                      "up to 65535 words",
                      block.block_type, block.contents.size())};
    }
  }
  return Status::Ok();
}
Status Check(const UnknownRtcpPacket& packet) {
  const uint8_t t = packet.packet_type;
  if ((t >= 200 && t <= 204) || t == 207) {
    return Error{fmt::format("RTCP packet type {} has its own struct", t)};
  }
  if (packet.count > kRtcpMaxCount) {
    return Error{fmt::format("RTCP packet type {}: count {} > 31", t, packet.count)};
  }
  if (packet.body.size() % 4 != 0) {
    return Error{fmt::format("RTCP packet type {}: body {} bytes not a multiple of 4", t,
                             packet.body.size())};
  }
  return Status::Ok();
}

void Write(const SenderReport& sr, uint8_t* p) {
  WriteHeader(p, sr.report_blocks.size(), 200, SizeOf(sr));
  WriteBe32(p + 4, sr.ssrc);
  WriteBe64(p + 8, sr.sender_info.ntp_timestamp);
  WriteBe32(p + 16, sr.sender_info.rtp_timestamp);
  WriteBe32(p + 20, sr.sender_info.packet_count);
  WriteBe32(p + 24, sr.sender_info.octet_count);
  p += 28;
  for (const ReportBlock& b : sr.report_blocks) {
    WriteReportBlock(p, b);
    p += kRtcpReportBlockBytes;
  }
  std::copy(sr.profile_extension.begin(), sr.profile_extension.end(), p);
}
void Write(const ReceiverReport& rr, uint8_t* p) {
  WriteHeader(p, rr.report_blocks.size(), 201, SizeOf(rr));
  WriteBe32(p + 4, rr.ssrc);
  p += 8;
  for (const ReportBlock& b : rr.report_blocks) {
    WriteReportBlock(p, b);
    p += kRtcpReportBlockBytes;
  }
  std::copy(rr.profile_extension.begin(), rr.profile_extension.end(), p);
}
void Write(const SourceDescription& sdes, uint8_t* p) {
  WriteHeader(p, sdes.chunks.size(), 202, SizeOf(sdes));
  size_t pos = kRtcpHeaderBytes;
  for (const SdesChunk& chunk : sdes.chunks) {
    WriteBe32(p + pos, chunk.ssrc);
    pos += 4;
    for (const SdesItem& item : chunk.items) {
      p[pos] = static_cast<uint8_t>(item.type);
      p[pos + 1] = static_cast<uint8_t>(item.text.size());
      std::memcpy(p + pos + 2, item.text.data(), item.text.size());
      pos += 2 + item.text.size();
    }
    // END and zero padding: at least one null octet, up to the 32-bit boundary.
    const size_t end = RoundUp4(pos + 1);
    std::memset(p + pos, 0, end - pos);
    pos = end;
  }
}
void Write(const Bye& bye, uint8_t* p) {
  const size_t size = SizeOf(bye);
  WriteHeader(p, bye.ssrcs.size(), 203, size);
  size_t pos = kRtcpHeaderBytes;
  for (const uint32_t ssrc : bye.ssrcs) {
    WriteBe32(p + pos, ssrc);
    pos += 4;
  }
  if (!bye.reason.empty()) {
    p[pos] = static_cast<uint8_t>(bye.reason.size());
    std::memcpy(p + pos + 1, bye.reason.data(), bye.reason.size());
    pos += 1 + bye.reason.size();
    std::memset(p + pos, 0, size - pos);
  }
}
void Write(const App& app, uint8_t* p) {
  WriteHeader(p, app.subtype, 204, SizeOf(app));
  WriteBe32(p + 4, app.ssrc);
  std::memcpy(p + 8, app.name.data(), 4);
  std::copy(app.data.begin(), app.data.end(), p + 12);
}
void Write(const ExtendedReport& xr, uint8_t* p) {
  WriteHeader(p, 0, 207, SizeOf(xr));
  WriteBe32(p + 4, xr.ssrc);
  p += 8;
  for (const VoipMetrics& m : xr.voip_metrics) {
    WriteVoipMetrics(m, std::span<uint8_t, kXrVoipMetricsBlockBytes>(p, kXrVoipMetricsBlockBytes));
    p += kXrVoipMetricsBlockBytes;
  }
  for (const XrBlock& block : xr.other_blocks) {
    p[0] = block.block_type;
    p[1] = block.type_specific;
    WriteBe16(p + 2, static_cast<uint16_t>(block.contents.size() / 4));
    std::copy(block.contents.begin(), block.contents.end(), p + 4);
    p += 4 + block.contents.size();
  }
}
void Write(const UnknownRtcpPacket& packet, uint8_t* p) {
  WriteHeader(p, packet.count, packet.packet_type, SizeOf(packet));
  std::copy(packet.body.begin(), packet.body.end(), p + kRtcpHeaderBytes);
}

bool IsReport(const RtcpPacket& packet) {
  return std::holds_alternative<SenderReport>(packet) ||
         std::holds_alternative<ReceiverReport>(packet);
}

}  // namespace

Result<RtcpCompound> ParseRtcpCompound(std::span<const uint8_t> bytes, RtcpParseRules rules) {
  if (bytes.empty()) return Error{"RTCP compound packet of 0 bytes"};
  RtcpCompound compound;
  size_t offset = 0;
  while (offset < bytes.size()) {
    RtcpFrame frame;
    const RtcpFramingFault fault = ReadRtcpFrame(bytes, offset, frame);
    const uint8_t* p = bytes.data() + offset;
    // Faults after kBadVersion have a whole header to name the packet by.
    const auto at = [&] { return Where{p[1], offset}; };
    switch (fault) {
      case RtcpFramingFault::kNone:
        break;
      case RtcpFramingFault::kEmpty:
      case RtcpFramingFault::kShortHeader:
        return Error{
            fmt::format("RTCP header at offset {}: {} bytes < 4", offset, bytes.size() - offset)};
      case RtcpFramingFault::kBadVersion:
        return Error{fmt::format("RTCP version {} != 2 at offset {}", p[0] >> 6, offset)};
      case RtcpFramingFault::kLengthOverrun:
        return at().Fail("length {} words ends at {} > compound {} bytes", ReadBe16(p + 2),
                         offset + 4 * (size_t{ReadBe16(p + 2)} + 1), bytes.size());
      case RtcpFramingFault::kPaddingNotLast:
        return at().Fail("padding (P) set on a packet that is not the last of the compound");
      case RtcpFramingFault::kBadPadding:
        return at().Fail("padding count {} at offset {}: not a multiple of 4 in 4..{}",
                         bytes.back(), bytes.size() - 1, 4 * size_t{ReadBe16(p + 2)});
    }
    const uint8_t packet_type = frame.packet_type;
    const size_t count = frame.count;
    const size_t packet_bytes = frame.packet_bytes;
    const Where where = at();
    if (compound.packets.empty() && rules.require_report_first && packet_type != 200 &&
        packet_type != 201) {
      return where.Fail("first packet type {} is not SR (200) or RR (201)", packet_type);
    }
    const std::span<const uint8_t> body = frame.body;
    compound.padding_bytes = frame.padding_bytes;
    Result<RtcpPacket> packet = Error{};
    switch (packet_type) {
      case 200:
        packet = ParseSenderReport(where, count, body);
        break;
      case 201:
        packet = ParseReceiverReport(where, count, body);
        break;
      case 202:
        packet = ParseSdes(where, count, body);
        break;
      case 203:
        packet = ParseBye(where, count, body);
        break;
      case 204:
        packet = ParseApp(where, count, body);
        break;
      case 207:
        packet = ParseXr(where, body);
        break;
      default:
        packet = RtcpPacket(UnknownRtcpPacket{packet_type, static_cast<uint8_t>(count),
                                              std::vector<uint8_t>(body.begin(), body.end())});
        break;
    }
    if (!packet) return packet.error();
    compound.packets.push_back(std::move(packet).value());
    offset += packet_bytes;
  }
  return compound;
}

size_t RtcpPacketSize(const RtcpPacket& packet) {
  return std::visit([](const auto& p) { return SizeOf(p); }, packet);
}

Result<size_t> WriteRtcpPacket(const RtcpPacket& packet, std::span<uint8_t> out) {
  Status valid = std::visit([](const auto& p) { return Check(p); }, packet);
  if (!valid) return valid.error();
  const size_t size = RtcpPacketSize(packet);
  if (size > kMaxPacketBytes) {
    return Error{fmt::format("RTCP packet of {} bytes > 65536 words", size)};
  }
  if (out.size() < size) {
    return Error{fmt::format("RTCP packet needs {} bytes > buffer {}", size, out.size())};
  }
  std::visit([&](const auto& p) { Write(p, out.data()); }, packet);
  return size;
}

size_t RtcpCompoundSize(const RtcpCompound& compound) {
  size_t size = compound.padding_bytes;
  for (const RtcpPacket& packet : compound.packets) size += RtcpPacketSize(packet);
  return size;
}

Result<size_t> WriteRtcpCompound(const RtcpCompound& compound, std::span<uint8_t> out,
                                 RtcpParseRules rules) {
  if (compound.packets.empty()) return Error{"RTCP compound: no packets"};
  if (rules.require_report_first && !IsReport(compound.packets.front())) {
    return Error{"RTCP compound: the first packet must be an SR or RR"};
  }
  if (compound.padding_bytes % 4 != 0 || compound.padding_bytes > 252) {
    return Error{fmt::format("RTCP compound: padding {} bytes not a multiple of 4 up to 252",
                             compound.padding_bytes)};
  }
  const size_t total = RtcpCompoundSize(compound);
  if (out.size() < total) {
    return Error{fmt::format("RTCP compound needs {} bytes > buffer {}", total, out.size())};
  }
  size_t pos = 0;
  size_t last_start = 0;
  for (const RtcpPacket& packet : compound.packets) {
    Result<size_t> written = WriteRtcpPacket(packet, out.subspan(pos));
    if (!written) return written;
    last_start = pos;
    pos += *written;
  }
  if (compound.padding_bytes > 0) {
    const size_t last_bytes = pos - last_start + compound.padding_bytes;
    if (last_bytes > kMaxPacketBytes) {
      return Error{"RTCP compound: padding makes the last packet exceed 65536 words"};
    }
    std::memset(out.data() + pos, 0, compound.padding_bytes - 1);
    pos += compound.padding_bytes;
    out[pos - 1] = static_cast<uint8_t>(compound.padding_bytes);
    out[last_start] |= 0x20;
    WriteBe16(out.data() + last_start + 2, static_cast<uint16_t>(last_bytes / 4 - 1));
  }
  return pos;
}

}  // namespace parley::rtp
