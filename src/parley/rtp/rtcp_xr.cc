#include "parley/rtp/rtcp_xr.h"

#include <fmt/format.h>

#include "parley/rtp/big_endian.h"

namespace parley::rtp {

Result<VoipMetrics> ParseVoipMetrics(std::span<const uint8_t> block, size_t base_offset) {
  if (block.size() != kXrVoipMetricsBlockBytes) {
    return Error{fmt::format("XR VoIP Metrics block at offset {}: {} bytes != 36", base_offset,
                             block.size())};
  }
  if (block[0] != kXrVoipMetricsBlockType) {
    return Error{
        fmt::format("XR block type {} != 7 (VoIP Metrics) at offset {}", block[0], base_offset)};
  }
  const uint16_t length = ReadBe16(block.data() + 2);
  if (length != 8) {
    return Error{
        fmt::format("XR VoIP Metrics block length {} != 8 at offset {}", length, base_offset + 2)};
  }
  const uint8_t* p = block.data();
  VoipMetrics m;
  m.ssrc = ReadBe32(p + 4);
  m.loss_rate = p[8];
  m.discard_rate = p[9];
  m.burst_density = p[10];
  m.gap_density = p[11];
  m.burst_duration_ms = ReadBe16(p + 12);
  m.gap_duration_ms = ReadBe16(p + 14);
  m.round_trip_delay_ms = ReadBe16(p + 16);
  m.end_system_delay_ms = ReadBe16(p + 18);
  m.signal_level_dbm = static_cast<int8_t>(p[20]);
  m.noise_level_dbm = static_cast<int8_t>(p[21]);
  m.rerl_db = p[22];
  m.gmin = p[23];
  m.r_factor = p[24];
  m.ext_r_factor = p[25];
  m.mos_lq = p[26];
  m.mos_cq = p[27];
  // RX config: PLC (2 bits) | JBA (2 bits) | JB rate (4 bits).
  m.plc = static_cast<XrPlc>(p[28] >> 6);
  m.jitter_buffer_mode = static_cast<XrJitterBufferMode>((p[28] >> 4) & 0x03);
  m.jitter_buffer_rate = p[28] & 0x0F;
  m.jb_nominal_ms = ReadBe16(p + 30);
  m.jb_maximum_ms = ReadBe16(p + 32);
  m.jb_abs_max_ms = ReadBe16(p + 34);
  return m;
}

void WriteVoipMetrics(const VoipMetrics& m, std::span<uint8_t, kXrVoipMetricsBlockBytes> out) {
  uint8_t* p = out.data();
  p[0] = kXrVoipMetricsBlockType;
  p[1] = 0;
  WriteBe16(p + 2, 8);
  WriteBe32(p + 4, m.ssrc);
  p[8] = m.loss_rate;
  p[9] = m.discard_rate;
  p[10] = m.burst_density;
  p[11] = m.gap_density;
  WriteBe16(p + 12, m.burst_duration_ms);
  WriteBe16(p + 14, m.gap_duration_ms);
  WriteBe16(p + 16, m.round_trip_delay_ms);
  WriteBe16(p + 18, m.end_system_delay_ms);
  p[20] = static_cast<uint8_t>(m.signal_level_dbm);
  p[21] = static_cast<uint8_t>(m.noise_level_dbm);
  p[22] = m.rerl_db;
  p[23] = m.gmin;
  p[24] = m.r_factor;
  p[25] = m.ext_r_factor;
  p[26] = m.mos_lq;
  p[27] = m.mos_cq;
  p[28] = static_cast<uint8_t>((static_cast<uint8_t>(m.plc) & 0x03) << 6 |
                               (static_cast<uint8_t>(m.jitter_buffer_mode) & 0x03) << 4 |
                               (m.jitter_buffer_rate & 0x0F));
  p[29] = 0;
  WriteBe16(p + 30, m.jb_nominal_ms);
  WriteBe16(p + 32, m.jb_maximum_ms);
  WriteBe16(p + 34, m.jb_abs_max_ms);
}

}  // namespace parley::rtp
