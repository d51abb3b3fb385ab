// The ITU-T G.107 E-model as parley uses it: a rating R (0..100) and a MOS estimate
// (1..4.5) for one direction of a call, from its mouth-to-ear delay, its packet loss and
// how bursty that loss is, and the codec's impairment factors (Ie, Bpl).
//
//   R   = 93.2 - Idd(Ta) - Ie_eff
//   Idd = 0                                                          Ta <= 100 ms
//       = 25 { (1 + X^6)^(1/6) - 3 (1 + (X/3)^6)^(1/6) + 2 },         Ta >  100 ms,
//         X = log2(Ta / 100)
//   Ie_eff = Ie + (95 - Ie) Ppl / (Ppl / BurstR + Bpl)                 (Ppl in percent)
//   MOS = 1 + 0.035 R + R (R - 60)(100 - R) 7e-6, 1 below R = 0, 4.5 above R = 100
//
// Simplifications, all deliberate:
// - 93.2 is G.107's R with every parameter at its default (Ro - Is with default loudness
//   ratings, circuit and room noise, sidetone and quantizing distortion; advantage
//   factor A = 0). None of those is measured by a VoIP endpoint, so they stay at default.
// - The echo terms Idte and Idle are taken at their zero-delay default values (already in
//   93.2) and do not grow with delay: parley's terminals are assumed echo-free (an echo
//   canceller or headset), so only the absolute-delay term Idd depends on Ta.
// - Narrowband scale: the model caps a wideband or fullband call at the quality of
//   clean G.711 (R 93.2). The wideband E-model (G.107.1, R up to 129) is not implemented.
// MOS here is G.107 Annex B's conversational-quality estimate (MOS_CQE). The polynomial
// dips to 0.99 for 0 < R < 6.5; it is clamped to 1 so the scale stays 1..4.5.
//
// Threading: pure functions and constant data; safe from any thread.
#pragma once

#include <cstdint>
#include <vector>

#include "parley/base/result.h"
#include "parley/codec/codec.h"

namespace parley::quality {

// R with every G.107 parameter at its default and no delay, loss or codec impairment.
inline constexpr double kDefaultR = 93.2;
// Mouth-to-ear delay up to which Idd is 0, in ms (G.107 mT default).
inline constexpr double kIddThresholdMs = 100.0;
// Bpl for any codec when lost packets are replaced by silence (zero insertion): G.113
// Appendix I's value for G.711 without concealment.
inline constexpr double kBplWithoutConcealment = 4.3;

// How a codec's distortion and its behaviour under loss lower R (G.113 Appendix I).
// The defaults are G.711 with concealment, the E-model's reference codec.
struct CodecImpairment {
  double ie = 0.0;    // equipment impairment factor without loss, R points, 0..95
  double bpl = 25.1;  // packet-loss robustness factor, > 0: higher = hides loss better
};

// The impairment of `id` at `bitrate_bps` (0: the codec's default bit rate; fixed-rate
// codecs ignore the rate). `plc` says whether lost packets are concealed (codec PLC or
// parley's playout concealment); without it Bpl is kBplWithoutConcealment. Values come
// from ITU-T G.113 Appendix I where it lists the codec; Opus, banded by bit rate, from
// published per-rate values brought onto this scale (emodel.cc, docs/lab.md); the others
// (G.722, L16, Codec2, and GSM-FR's Bpl) are parley's estimates, marked as such in the
// table. A rate between two published ones takes the row of the next higher. In-band FEC and RED
// are not part of Bpl: give ComputeEModel the loss left after recovery. Errors: negative bit rate;
// a codec id without a table entry.
[[nodiscard]] Result<CodecImpairment> CodecImpairmentFor(codec::CodecId id, int bitrate_bps,
                                                         bool plc);

struct EModelInput {
  double one_way_delay_ms = 0.0;     // mouth-to-ear delay Ta, ms, >= 0
  double packet_loss_percent = 0.0;  // Ppl, 0..100, after FEC/RED recovery
  double burst_ratio = 1.0;          // BurstR >= 1; 1 = random (independent) loss
  CodecImpairment codec;
};

struct EModelResult {
  double r = 0.0;       // transmission rating, kDefaultR at best; may be negative
  double mos = 0.0;     // 1..4.5
  double idd = 0.0;     // delay impairment, R points
  double ie_eff = 0.0;  // effective equipment impairment (codec + loss), R points
};

// Evaluates the model above. Its inputs are figures measured from outside data (a packet
// log, a peer's reports), so a value outside its range or NaN is an Error naming the field
// ("E-model: one_way_delay_ms must be finite and >= 0 (got -3773)"), never an exception.
[[nodiscard]] Result<EModelResult> ComputeEModel(const EModelInput& input);

// Idd for a mouth-to-ear delay in ms (0 up to kIddThresholdMs).
double DelayImpairment(double one_way_delay_ms);
// MOS (1..4.5) for a rating R, G.107 Annex B, clamped at 1 as described above.
double MosFromR(double r);

// G.107's burst ratio: the mean length of the observed loss bursts divided by the mean
// burst length random loss at the same rate would give. Random loss with probability p
// makes bursts of mean length 1 / (1 - p) (a burst continues with probability p), so
//   BurstR = mean_burst x (1 - p),  p = lost / packets, mean_burst = lost / bursts.
// `lost[i]` is true when packet i (in sequence order) was lost. Returns 1 when nothing or
// everything was lost (no ratio to form: at p = 1 random loss is one burst too), and for
// loss more spread out than random (ratio < 1), which G.107 does not define.
double BurstRatio(const std::vector<bool>& lost);
// The same from counts kept by a running statistic: packets expected, packets lost, and
// loss bursts (runs of consecutive lost packets). An Error naming the counts unless
// 0 <= lost_packets <= packets and bursts is 0 exactly when lost_packets is 0 and at most
// lost_packets otherwise.
[[nodiscard]] Result<double> BurstRatioFromCounts(int64_t packets, int64_t lost_packets,
                                                  int64_t bursts);

}  // namespace parley::quality
