// RTP payload for redundant audio data, RED (RFC 2198): older encodings of the stream
// ride along with the current one, so that a receiver recovers a lost packet from the
// next one.
//
// Headers first, then the blocks' data in the same order. Every block but the last has a
// 4-byte header; the last one (the primary encoding) has a 1-byte header and takes the
// rest of the payload:
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |1|   block PT  |  timestamp offset         |   block length    |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |0|   block PT  |   (primary: PT only, F = 0, length implied)
//   +-+-+-+-+-+-+-+-+
//
// F = 1: another header follows. The timestamp offset (14 bits, RTP ticks) is subtracted
// from the packet's RTP timestamp to give the block's; the block length is 10 bits.
//
// Pure functions over caller buffers, no allocation; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "parley/base/result.h"

namespace parley::rtp {

inline constexpr uint32_t kMaxRedTimestampOffsetTicks = (1u << 14) - 1;  // 16383
inline constexpr size_t kMaxRedBlockBytes = (1u << 10) - 1;              // 1023
inline constexpr int kMaxRedPayloadType = 127;
inline constexpr size_t kRedHeaderBytes = 4;
inline constexpr size_t kRedPrimaryHeaderBytes = 1;

// One encoding inside a RED payload. `data` points into the payload it was parsed from
// (or, when building, into the caller's buffer).
struct RedBlock {
  int payload_type = 0;        // 0..127
  uint32_t rtp_timestamp = 0;  // absolute: the packet's timestamp minus the block's offset
  std::span<const uint8_t> data;
};

// Bytes a RED payload of these blocks needs.
size_t RedPayloadBytes(std::span<const RedBlock> redundant, const RedBlock& primary);

// Writes a RED payload into `out`: the redundant blocks in the given order (oldest first,
// by convention), then `primary`, whose rtp_timestamp is the RTP packet's. Returns bytes
// written. Errors: a payload type > 127, a redundant block later than the primary or more
// than 16383 ticks before it, a redundant block longer than 1023 bytes, `out` too small.
[[nodiscard]] Result<size_t> BuildRedPayload(std::span<const RedBlock> redundant,
                                             const RedBlock& primary, std::span<uint8_t> out);

// Splits a RED payload carried in an RTP packet with timestamp `rtp_timestamp` into `out`,
// in wire order (the primary last). Returns the number of blocks. Errors name the offset:
// a header cut short, block lengths running past the end of the payload, more blocks than
// `out` holds. The primary takes whatever follows the redundant data, and may be empty.
[[nodiscard]] Result<size_t> ParseRedPayload(std::span<const uint8_t> payload,
                                             uint32_t rtp_timestamp, std::span<RedBlock> out);

}  // namespace parley::rtp
