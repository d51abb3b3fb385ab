#include "parley/rtp/red.h"

#include <fmt/format.h>

#include <cstring>

namespace parley::rtp {
namespace {

constexpr uint8_t kFollowBit = 0x80;
constexpr uint8_t kPayloadTypeMask = 0x7F;

}  // namespace

size_t RedPayloadBytes(std::span<const RedBlock> redundant, const RedBlock& primary) {
  size_t bytes = kRedPrimaryHeaderBytes + primary.data.size();
  for (const RedBlock& block : redundant) bytes += kRedHeaderBytes + block.data.size();
  return bytes;
}

Result<size_t> BuildRedPayload(std::span<const RedBlock> redundant, const RedBlock& primary,
                               std::span<uint8_t> out) {
  if (primary.payload_type < 0 || primary.payload_type > kMaxRedPayloadType) {
    return Error{fmt::format("RED primary payload type {} out of range 0..{}", primary.payload_type,
                             kMaxRedPayloadType)};
  }
  for (size_t i = 0; i < redundant.size(); ++i) {
    const RedBlock& block = redundant[i];
    if (block.payload_type < 0 || block.payload_type > kMaxRedPayloadType) {
      return Error{fmt::format("RED block {} payload type {} out of range 0..{}", i,
                               block.payload_type, kMaxRedPayloadType)};
    }
    // Unsigned difference: a block "after" the primary wraps to a huge offset.
    const uint32_t offset = primary.rtp_timestamp - block.rtp_timestamp;
    if (offset > kMaxRedTimestampOffsetTicks) {
      return Error{
          fmt::format("RED block {} timestamp {} is {} ticks before primary {} (allowed 0..{})", i,
                      block.rtp_timestamp, static_cast<int32_t>(offset), primary.rtp_timestamp,
                      kMaxRedTimestampOffsetTicks)};
    }
    if (block.data.size() > kMaxRedBlockBytes) {
      return Error{
          fmt::format("RED block {} length {} > {}", i, block.data.size(), kMaxRedBlockBytes)};
    }
  }
  const size_t needed = RedPayloadBytes(redundant, primary);
  if (out.size() < needed) {
    return Error{fmt::format("RED buffer {} bytes < payload {}", out.size(), needed)};
  }
  uint8_t* p = out.data();
  for (const RedBlock& block : redundant) {
    const uint32_t offset = primary.rtp_timestamp - block.rtp_timestamp;
    const auto length = static_cast<uint32_t>(block.data.size());
    p[0] = static_cast<uint8_t>(kFollowBit | block.payload_type);
    p[1] = static_cast<uint8_t>(offset >> 6);
    p[2] = static_cast<uint8_t>(((offset & 0x3F) << 2) | (length >> 8));
    p[3] = static_cast<uint8_t>(length & 0xFF);
    p += kRedHeaderBytes;
  }
  *p++ = static_cast<uint8_t>(primary.payload_type);
  for (const RedBlock& block : redundant) {
    if (!block.data.empty()) std::memcpy(p, block.data.data(), block.data.size());
    p += block.data.size();
  }
  if (!primary.data.empty()) std::memcpy(p, primary.data.data(), primary.data.size());
  return needed;
}

Result<size_t> ParseRedPayload(std::span<const uint8_t> payload, uint32_t rtp_timestamp,
                               std::span<RedBlock> out) {
  // Pass 1: headers. Lengths are recorded in `out` as empty spans sized later.
  size_t offset = 0;
  size_t count = 0;
  size_t redundant_bytes = 0;
  while (true) {
    if (offset >= payload.size()) {
      return Error{fmt::format("RED header missing at offset {} (payload {} bytes)", offset,
                               payload.size())};
    }
    const uint8_t first = payload[offset];
    const bool follows = (first & kFollowBit) != 0;
    if (count == out.size()) {
      return Error{fmt::format("RED payload has more than {} blocks: header at offset {}",
                               out.size(), offset)};
    }
    RedBlock& block = out[count];
    block.payload_type = first & kPayloadTypeMask;
    if (!follows) {
      block.rtp_timestamp = rtp_timestamp;
      offset += kRedPrimaryHeaderBytes;
      ++count;
      break;
    }
    if (payload.size() - offset < kRedHeaderBytes) {
      return Error{fmt::format("RED header at offset {} cut short: {} of {} bytes", offset,
                               payload.size() - offset, kRedHeaderBytes)};
    }
    const uint32_t ts_offset = (uint32_t{payload[offset + 1]} << 6) | (payload[offset + 2] >> 2);
    const size_t length = (size_t{payload[offset + 2] & 0x03u} << 8) | payload[offset + 3];
    block.rtp_timestamp = rtp_timestamp - ts_offset;
    // Remember the length; the data position is known once all headers are read.
    block.data = std::span<const uint8_t>(payload.data(), length);
    redundant_bytes += length;
    offset += kRedHeaderBytes;
    ++count;
  }
  // Pass 2: data, in header order; the primary takes the remainder.
  const size_t headers_end = offset;
  if (payload.size() - headers_end < redundant_bytes) {
    return Error{
        fmt::format("RED block lengths {} bytes from offset {} run past the payload end {}",
                    redundant_bytes, headers_end, payload.size())};
  }
  size_t data_offset = headers_end;
  for (size_t i = 0; i + 1 < count; ++i) {
    const size_t length = out[i].data.size();
    out[i].data = payload.subspan(data_offset, length);
    data_offset += length;
  }
  out[count - 1].data = payload.subspan(data_offset);
  return count;
}

}  // namespace parley::rtp
