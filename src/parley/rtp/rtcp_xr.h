// RTCP Extended Reports (XR, RFC 3611), packet type 207, and its VoIP Metrics report
// block (§4.7). Every block's header is parsed; VoIP Metrics blocks are decoded, blocks of
// other types are kept as raw bytes (skipped by their length), so they survive a round trip.
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |V=2|P|reserved |   PT=XR=207   |             length            |
//   |                              SSRC                             |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   :                         report blocks                         :
//
//   report block:  |      BT       | type-specific |  block length (words - 1)  |
//                  :             type-specific block contents                   :
//
//   VoIP Metrics (BT=7, block length 8):
//   +---------------+---------------+-------------------------------+
//   |     BT=7      |   reserved    |       block length = 8        |  0
//   |                        SSRC of source                         |  4
//   |   loss rate   | discard rate  | burst density |  gap density  |  8
//   |       burst duration          |         gap duration          | 12
//   |     round trip delay          |       end system delay        | 16
//   | signal level  |  noise level  |     RERL      |     Gmin      | 20
//   |   R factor    | ext. R factor |    MOS-LQ     |    MOS-CQ     | 24
//   |   RX config   |   reserved    |          JB nominal           | 28
//   |          JB maximum           |          JB abs max           | 32
//   +---------------+---------------+-------------------------------+
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "parley/base/result.h"

namespace parley::rtp {

inline constexpr uint8_t kXrVoipMetricsBlockType = 7;
inline constexpr size_t kXrVoipMetricsBlockBytes = 36;  // header included

// RFC 3611 §4.7.6: packet loss concealment in use.
enum class XrPlc : uint8_t { kUnspecified = 0, kDisabled = 1, kEnhanced = 2, kStandard = 3 };
// §4.7.6: jitter buffer adaptive.
enum class XrJitterBufferMode : uint8_t {
  kUnknown = 0,
  kReserved = 1,
  kNonAdaptive = 2,
  kAdaptive = 3
};

// Field values as on the wire, each in the unit RFC 3611 §4.7 gives it. "Unavailable"
// markers: 127 for signal/noise/RERL/R factors, 127 for MOS, 0 for rates/densities means 0.
struct VoipMetrics {
  uint32_t ssrc = 0;               // the source these metrics describe
  uint8_t loss_rate = 0;           // fraction lost in 1/256 (fixed point, 8 fractional bits)
  uint8_t discard_rate = 0;        // fraction discarded (late/early) in 1/256
  uint8_t burst_density = 0;       // fraction lost or discarded within bursts, 1/256
  uint8_t gap_density = 0;         // same within gaps, 1/256
  uint16_t burst_duration_ms = 0;  // mean burst length
  uint16_t gap_duration_ms = 0;    // mean gap length
  uint16_t round_trip_delay_ms = 0;
  uint16_t end_system_delay_ms = 0;
  int8_t signal_level_dbm = 127;  // dBm0 of the speech; 127: unavailable
  int8_t noise_level_dbm = 127;   // dBm0 of silence periods; 127: unavailable
  uint8_t rerl_db = 127;          // residual echo return loss; 127: unavailable
  uint8_t gmin = 16;              // gap threshold in packets (16 recommended)
  uint8_t r_factor = 127;         // ITU-T G.107 R, 0..100; 127: unavailable
  uint8_t ext_r_factor = 127;     // external R, 0..100; 127: unavailable
  uint8_t mos_lq = 127;           // MOS-LQ x 10 (10..50); 127: unavailable
  uint8_t mos_cq = 127;           // MOS-CQ x 10 (10..50); 127: unavailable
  XrPlc plc = XrPlc::kUnspecified;
  XrJitterBufferMode jitter_buffer_mode = XrJitterBufferMode::kUnknown;
  uint8_t jitter_buffer_rate = 0;  // 0..15: adaptation rate J (RFC 3611 §4.7.6)
  uint16_t jb_nominal_ms = 0;
  uint16_t jb_maximum_ms = 0;
  uint16_t jb_abs_max_ms = 0;

  bool operator==(const VoipMetrics&) const = default;
};

// A report block of a type this code does not decode, kept whole.
struct XrBlock {
  uint8_t block_type = 0;
  uint8_t type_specific = 0;
  std::vector<uint8_t> contents;  // after the 4-byte block header; a multiple of 4 bytes
  bool operator==(const XrBlock&) const = default;
};

struct ExtendedReport {
  uint32_t ssrc = 0;  // of the packet's sender
  std::vector<VoipMetrics> voip_metrics;
  std::vector<XrBlock> other_blocks;  // written after the VoIP Metrics blocks
  bool operator==(const ExtendedReport&) const = default;
};

// Decodes the 36 bytes of a VoIP Metrics block (header included). Error for another size
// or block length. `base_offset` places the block in the packet for the message.
[[nodiscard]] Result<VoipMetrics> ParseVoipMetrics(std::span<const uint8_t> block,
                                                   size_t base_offset = 0);
// Writes the 36-byte block; `out` must hold kXrVoipMetricsBlockBytes.
void WriteVoipMetrics(const VoipMetrics& metrics, std::span<uint8_t, kXrVoipMetricsBlockBytes> out);

}  // namespace parley::rtp
