#include "parley/quality/emodel.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cmath>

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
// Opus as its comment says; "estimate" is parley's own judgement where no published
// value exists. All values are on the narrowband R scale (see emodel.h), so a codec at
// least as good as clean G.711 gets Ie 0 even when it is wideband.
constexpr std::array<ImpairmentRow, 21> kImpairments = {{
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
    // Opus (VBR, parley's default), from the per-bit-rate Ie and Bpl (random loss) that
    // Alahmadi, Pocta and Melvin derived for libopus (ACM TOMM 17(4), art. 133, 2021,
    // doi:10.1145/3458751; the authors' values as published with the paper, see
    // docs/lab.md "E-model values"), each on the scale of its band:
    // - narrowband rates (6..9 kbps): on this narrowband scale already, used as published;
    // - wideband (11..13 kbps, ITU-T G.107.1, R0 129) and super-wideband (14..40 kbps, the
    //   fullband scale of G.107.2, R0 148): every one of their Ie is below the distance
    //   between that scale's R0 and the narrowband 93.2 (35.8 and 54.8), so clean Opus is
    //   at least clean G.711 here: Ie 0. Their Bpl cannot be carried over as it is (the
    //   scales differ); Bpl is instead fitted so that the narrowband MOS falls with random
    //   loss of 1, 2, 3, 5 and 10 % as the source scale's MOS falls (least squares, grid of
    //   0.1; emodel_test.cc redoes the fit and checks these rows against it).
    {CodecId::kOpus, 6000, 23.0, 24.6},     // NB  6 kbps: Ie 23.00, Bpl 24.56
    {CodecId::kOpus, 7000, 21.3, 22.5},     // NB  7 kbps: Ie 21.26, Bpl 22.46
    {CodecId::kOpus, 8000, 16.0, 20.3},     // NB  8 kbps: Ie 16.02, Bpl 20.26
    {CodecId::kOpus, 10000, 11.7, 18.9},    // NB  9 kbps: Ie 11.74, Bpl 18.91
    {CodecId::kOpus, 11000, 0.0, 33.6},     // WB 11 kbps: Ie,wb 28.41, Bpl,wb 23.94
    {CodecId::kOpus, 12000, 0.0, 31.4},     // WB 12 kbps: Ie,wb 23.30, Bpl,wb 22.22
    {CodecId::kOpus, 13000, 0.0, 28.4},     // WB 13 kbps: Ie,wb 19.96, Bpl,wb 19.50
    {CodecId::kOpus, 16000, 0.0, 24.4},     // SWB 16 kbps: Ie,fb 30.16, Bpl,fb 11.83
    {CodecId::kOpus, 25000, 0.0, 22.8},     // SWB 25 kbps: Ie,fb 20.21, Bpl,fb 11.28
    {CodecId::kOpus, 31000, 0.0, 21.6},     // SWB 31 kbps: Ie,fb 16.83, Bpl,fb 10.44
    {CodecId::kOpus, kAnyRate, 0.0, 21.2},  // SWB 40 kbps: Ie,fb 10.67, Bpl,fb 9.79
}};

// Ok when `condition` holds, else an Error naming the field and the value given.
Status Require(bool condition, const char* what, double value) {
  if (condition) return Status::Ok();
  return Error{fmt::format("E-model: {} (got {})", what, value)};
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

Result<EModelResult> ComputeEModel(const EModelInput& input) {
  // Comparisons that NaN fails, so that NaN fails every check.
  for (const Status& check : {
           Require(input.one_way_delay_ms >= 0.0 && std::isfinite(input.one_way_delay_ms),
                   "one_way_delay_ms must be finite and >= 0", input.one_way_delay_ms),
           Require(input.packet_loss_percent >= 0.0 && input.packet_loss_percent <= 100.0,
                   "packet_loss_percent must be in 0..100", input.packet_loss_percent),
           Require(input.burst_ratio >= 1.0 && std::isfinite(input.burst_ratio),
                   "burst_ratio must be finite and >= 1", input.burst_ratio),
           Require(input.codec.ie >= 0.0 && input.codec.ie <= 95.0, "codec.ie must be in 0..95",
                   input.codec.ie),
           Require(input.codec.bpl > 0.0 && std::isfinite(input.codec.bpl),
                   "codec.bpl must be finite and > 0", input.codec.bpl),
       }) {
    if (!check) return check.error();
  }

  EModelResult result;
  result.idd = DelayImpairment(input.one_way_delay_ms);
  const double ppl = input.packet_loss_percent;
  result.ie_eff =
      input.codec.ie + (95.0 - input.codec.ie) * ppl / (ppl / input.burst_ratio + input.codec.bpl);
  result.r = kDefaultR - result.idd - result.ie_eff;
  result.mos = MosFromR(result.r);
  return result;
}

Result<double> BurstRatioFromCounts(int64_t packets, int64_t lost_packets, int64_t bursts) {
  if (lost_packets < 0 || lost_packets > packets || bursts < 0 || bursts > lost_packets ||
      (lost_packets > 0 && bursts == 0)) {
    return Error{fmt::format("burst ratio: inconsistent counts (packets {}, lost {}, bursts {})",
                             packets, lost_packets, bursts)};
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
  // Counted here, so always consistent.
  return BurstRatioFromCounts(static_cast<int64_t>(lost.size()), lost_packets, bursts).value();
}

}  // namespace parley::quality
