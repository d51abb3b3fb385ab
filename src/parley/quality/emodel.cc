#include "parley/quality/emodel.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cmath>
#include <stdexcept>

#include "parley/codec/registry.h"

namespace parley::quality {
namespace {

using codec::CodecId;

// One row of the impairment table: the codec at bit rates up to max_bitrate_bps (rows of a
// codec are in ascending max_bitrate_bps; the last one is open-ended).
struct ImpairmentRow {
  CodecId id;
  int max_bitrate_bps;
  double ie;
  double bpl_concealed;  // Bpl when lost packets are concealed
};

constexpr int kAnyRate = INT_MAX;

// Sources: "G.113" is ITU-T G.113 (11/2007) Appendix I, Tables I.1 (Ie) and I.3 (Bpl);
// "estimate" is parley's provisional value, to be replaced by figures the lab fits from
// its own runs. All values are on the narrowband R scale (see emodel.h), so a codec at
// least as good as clean G.711 gets Ie 0 even when it is wideband.
constexpr std::array<ImpairmentRow, 15> kImpairments = {{
    // G.711: G.113 (Ie 0; Bpl 25.1 with G.711 Appendix I concealment, 10 ms packets).
    {CodecId::kPcmu, kAnyRate, 0.0, 25.1},
    {CodecId::kPcma, kAnyRate, 0.0, 25.1},
    // L16: estimate. Uncompressed PCM has no coding distortion and, like G.711, no decoder
    // state, so concealment behaves as it does for G.711.
    {CodecId::kL16, kAnyRate, 0.0, 25.1},
    // G.722 64 kbps: estimate. Not worse than G.711 on the narrowband scale; parley's
    // decoder has no PLC of its own, so playout concealment (waveform-based, like G.711
    // Appendix I) gives the G.711 Bpl.
    {CodecId::kG722, kAnyRate, 0.0, 25.1},
    // G.729 Annex A (bcg729): G.113 (G.729A + VAD, 20 ms packets: Ie 11, Bpl 19.0).
    {CodecId::kG729, kAnyRate, 11.0, 19.0},
    // GSM 06.10 full rate: Ie 20 from G.113 Table I.1. G.113 gives no Bpl for it; estimate
    // 10, the G.113 value of GSM-EFR, whose frame substitution and muting are the same kind.
    {CodecId::kGsm, kAnyRate, 20.0, 10.0},
    // Codec 2: estimate. A low-rate vocoder, intelligible but clearly synthetic; informal
    // listening puts 3200 bps near MOS 3 (R ~ 58) and 700 bps near MOS 2 (R ~ 38). Bpl as
    // GSM-FR: a lost 20-40 ms vocoder frame is repeated and decayed by playout.
    {CodecId::kCodec2, 700, 55.0, 10.0},
    {CodecId::kCodec2, 1600, 44.0, 10.0},
    {CodecId::kCodec2, 2400, 38.0, 10.0},
    {CodecId::kCodec2, kAnyRate, 35.0, 10.0},
    // Opus: estimate by bit rate band (not in G.113). As we read the IETF codec working
    // group's listening tests (draft-ietf-codec-results), Opus at 8 kbps and below is on a
    // par with the narrowband CELP codecs of its rate, hence Ie near G.729A's 11; from
    // 12 kbps it is wideband and at or above G.722, which the narrowband scale can only
    // rate as G.711 (Ie -> 0 as the rate rises). SILK's concealment is LPC/pitch based
    // like G.729A's, so Bpl starts near its 19 at low rates and reaches G.711 Appendix I's
    // 25.1 where 20 ms frames carry enough detail for a clean extrapolation.
    {CodecId::kOpus, 8000, 12.0, 18.0},
    {CodecId::kOpus, 12000, 6.0, 20.0},
    {CodecId::kOpus, 16000, 3.0, 22.0},
    {CodecId::kOpus, 24000, 1.0, 24.0},
    {CodecId::kOpus, kAnyRate, 0.0, 25.1},
}};

void Require(bool condition, const char* what, double value) {
  if (!condition) throw std::invalid_argument(fmt::format("E-model: {} (got {})", what, value));
}

}  // namespace

Result<CodecImpairment> CodecImpairmentFor(codec::CodecId id, int bitrate_bps, bool plc) {
  if (bitrate_bps < 0) {
    return Error{
        fmt::format("bitrate_bps {} is negative (0 means the codec's default)", bitrate_bps)};
  }
  const bool known = std::any_of(kImpairments.begin(), kImpairments.end(),
                                 [id](const ImpairmentRow& row) { return row.id == id; });
  if (!known) {
    return Error{fmt::format("codec id {} has no E-model impairment entry", static_cast<int>(id))};
  }
  const int rate = bitrate_bps == 0 ? codec::GetCodecInfo(id).default_bitrate_bps : bitrate_bps;
  for (const ImpairmentRow& row : kImpairments) {
    if (row.id == id && rate <= row.max_bitrate_bps) {
      return CodecImpairment{row.ie, plc ? row.bpl_concealed : kBplWithoutConcealment};
    }
  }
  // Every codec's last row is open-ended, so a known codec always matches above.
  return Error{fmt::format("codec id {} has no entry for {} bps", static_cast<int>(id), rate)};
}

double DelayImpairment(double one_way_delay_ms) {
  if (one_way_delay_ms <= kIddThresholdMs) return 0.0;
  const double x = std::log2(one_way_delay_ms / kIddThresholdMs);
  return 25.0 * (std::pow(1.0 + std::pow(x, 6.0), 1.0 / 6.0) -
                 3.0 * std::pow(1.0 + std::pow(x / 3.0, 6.0), 1.0 / 6.0) + 2.0);
}

double MosFromR(double r) {
  if (r <= 0.0) return 1.0;
  if (r >= 100.0) return 4.5;
  return std::max(1.0, 1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7e-6);
}

EModelResult ComputeEModel(const EModelInput& input) {
  // Negated comparisons so that NaN fails every check.
  Require(input.one_way_delay_ms >= 0.0 && std::isfinite(input.one_way_delay_ms),
          "one_way_delay_ms must be finite and >= 0", input.one_way_delay_ms);
  Require(input.packet_loss_percent >= 0.0 && input.packet_loss_percent <= 100.0,
          "packet_loss_percent must be in 0..100", input.packet_loss_percent);
  Require(input.burst_ratio >= 1.0 && std::isfinite(input.burst_ratio),
          "burst_ratio must be finite and >= 1", input.burst_ratio);
  Require(input.codec.ie >= 0.0 && input.codec.ie <= 95.0, "codec.ie must be in 0..95",
          input.codec.ie);
  Require(input.codec.bpl > 0.0 && std::isfinite(input.codec.bpl),
          "codec.bpl must be finite and > 0", input.codec.bpl);

  EModelResult result;
  result.idd = DelayImpairment(input.one_way_delay_ms);
  const double ppl = input.packet_loss_percent;
  result.ie_eff =
      input.codec.ie + (95.0 - input.codec.ie) * ppl / (ppl / input.burst_ratio + input.codec.bpl);
  result.r = kDefaultR - result.idd - result.ie_eff;
  result.mos = MosFromR(result.r);
  return result;
}

double BurstRatioFromCounts(int64_t packets, int64_t lost_packets, int64_t bursts) {
  if (lost_packets < 0 || lost_packets > packets || bursts < 0 || bursts > lost_packets ||
      (lost_packets > 0 && bursts == 0)) {
    throw std::invalid_argument(
        fmt::format("BurstRatioFromCounts: inconsistent counts (packets {}, lost {}, bursts {})",
                    packets, lost_packets, bursts));
  }
  if (lost_packets == 0 || lost_packets == packets) return 1.0;
  const double p = static_cast<double>(lost_packets) / static_cast<double>(packets);
  const double mean_burst = static_cast<double>(lost_packets) / static_cast<double>(bursts);
  return std::max(1.0, mean_burst * (1.0 - p));
}

double BurstRatio(const std::vector<bool>& lost) {
  int64_t lost_packets = 0;
  int64_t bursts = 0;
  bool previous_lost = false;
  for (const bool is_lost : lost) {
    if (is_lost) {
      ++lost_packets;
      if (!previous_lost) ++bursts;
    }
    previous_lost = is_lost;
  }
  return BurstRatioFromCounts(static_cast<int64_t>(lost.size()), lost_packets, bursts);
}

}  // namespace parley::quality
