// The lab's report: for each player of a lab call, the figures a calling
// engineer reads — delay, concealment, late loss, FEC, time stretching, interruptions, an
// E-model MOS (a network-level estimate) — an objective similarity of what was heard to
// the loss-free decode and, when a scorer is given, perceptual scores (PESQ, pesq.h); as
// JSON, as a readable table, as a per-block log and as plots.
//
// How each figure is measured:
//   delay          per played block (normal, fec, insert, remove): block start time minus
//                  the send time of the media it starts with (send -> playout, network and
//                  buffer; the codec's own delay is not included), that send time taken from
//                  the packet carrying the media (send_time_index.h), so that a sender's
//                  timeline jumping (timestamps leaping, restarting, wrapping) does not
//                  distort it. Mean and 95th percentile.
//   concealment    concealed samples / samples played after playout started.
//   late loss      packets that arrived but were dropped as too late / packets sent.
//   events         concealment events: runs of concealed blocks.
//   MOS            a network-level estimate: what delay and loss predict, blind to how
//                  concealment and time-stretching sound. ITU-T G.107 E-model
//                  (quality/emodel.h): mouth-to-ear delay = mean delay
//                  + packet duration + codec lookahead; loss = the concealed share (what
//                  the listener lost: network and late loss less what FEC and RED
//                  recovered), its burst ratio from concealed packets per event; the
//                  codec's Ie/Bpl (with PLC unless the player zero-fills).
//   similarity     per 10 ms block after start, against the loss-free decode at the
//                  block's media position (aligned within +-2.5 ms, the best match:
//                  stretching shifts media by up to a pitch period): segmental SNR
//                  (clamped -10..35 dB) and log-spectral distance, averaged over blocks
//                  whose reference is not silent (above -60 dBFS).
//   PESQ           ITU-T P.862.2 (wideband) and P.862 + P.862.1 (narrowband) MOS-LQO of
//                  what the listener heard against the sender's input, from an outside
//                  scorer (pesq.h says how the signals are aligned and prepared); absent
//                  unless one was given.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "parley/audio/audio_frame.h"
#include "parley/base/result.h"
#include "parley/lab/lab_call.h"

namespace parley::lab {

struct PlayerReport {
  std::string name;
  double delay_mean_ms = 0;
  double delay_p95_ms = 0;
  double concealment_percent = 0;
  uint64_t concealment_events = 0;
  double late_loss_percent = 0;
  double burst_ratio = 1;  // of the concealed audio, in packets
  uint64_t fec_recoveries = 0;
  double stretch_percent = 0;
  uint64_t interruptions = 0;
  double interruption_seconds = 0;
  double zero_fill_ms = 0;
  double mouth_to_ear_ms = 0;
  double r_factor = 0;
  double mos = 0;
  double segmental_snr_db = 0;
  double log_spectral_distance_db = 0;
  std::optional<double> pesq_wb;  // P.862.2 MOS-LQO, when scored
  std::optional<double> pesq_nb;  // P.862 + P.862.1 MOS-LQO, when scored
};

struct NetworkSummary {
  std::string description;  // preset name, "trace FILE" or "packet log FILE"
  int64_t packets_sent = 0;
  int64_t packets_lost = 0;        // never arrived
  int64_t packets_duplicated = 0;  // arrived more than once
  int64_t packets_reordered = 0;   // arrived after a packet sent later
  double network_delay_mean_ms = 0;
  double network_delay_p95_ms = 0;
};

struct LabReport {
  std::string input;   // the input file (or the built-in sample)
  std::string sender;  // e.g. "opus 24 kbps 20 ms fec (profile good)"
  double duration_s = 0;
  NetworkSummary network;
  std::vector<PlayerReport> players;
  std::string pesq_scorer;  // the scorer program the PESQ scores come from; empty: none
};

NetworkSummary SummarizeNetwork(const LabStream& stream, const std::vector<Delivery>& deliveries,
                                std::string description);

// Measures one player's run. `reference`: DecodeLossFree(stream). Errors (figures the
// E-model refuses) name the player.
[[nodiscard]] Result<PlayerReport> MeasurePlayer(const LabStream& stream, const PlayerRun& run,
                                                 const audio::AudioFrame& reference,
                                                 bool codec_plc);

// The report as JSON (stable field names, documented in docs/lab.md).
std::string ReportJson(const LabReport& report);
// The report as a table, one row per player; PESQ columns when the players were scored.
std::string ReportTable(const LabReport& report);
// The block log: `t_ms,dur_ms,media_ts,kind`, a header line first.
std::string BlockLogCsv(const PlayerRun& run);

// PNG plots with gnuplot: per player, the send->playout delay and the target delay over
// time, with concealment shaded and every packet's network delay as dots. One panel per
// player, stacked, on one scale.
[[nodiscard]] Status WriteDelayPlot(const LabStream& stream,
                                    const std::vector<Delivery>& deliveries,
                                    const std::vector<PlayerRun>& runs,
                                    const std::string& png_path);

}  // namespace parley::lab
