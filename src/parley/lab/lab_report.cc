#include "parley/lab/lab_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>

#include "parley/lab/plot.h"
#include "parley/lab/send_time_index.h"
#include "parley/quality/emodel.h"
#include "parley/quality/spectral_distance.h"

namespace parley::lab {
namespace {

// Alignment search around a block's media position: stretching moves media by up to a
// pitch period, and media_ts of a stretched block is approximate by that much.
constexpr double kAlignSearchMs = 2.5;
constexpr double kSilenceDbfs = -60.0;
constexpr double kMinSegmentSnrDb = -10.0;
constexpr double kMaxSegmentSnrDb = 35.0;
// Above any codec's rate: where the payload bit rate handed to the E-model table stops.
constexpr double kMaxBitrateBps = 10e6;

// Algorithmic delay beyond the packet duration (encoder lookahead), ms. Opus: libopus
// reports 312 samples at 48 kHz (6.5 ms); the others' frames carry no lookahead that
// matters at this resolution except G.729 (5 ms).
double CodecLookaheadMs(codec::CodecId id) {
  switch (id) {
    case codec::CodecId::kOpus:
      return 6.5;
    case codec::CodecId::kG729:
      return 5.0;
    default:
      return 0.0;
  }
}

bool IsPlayed(BlockKind kind) {
  return kind == BlockKind::kNormal || kind == BlockKind::kFec || kind == BlockKind::kInsert ||
         kind == BlockKind::kRemove;
}

double Percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t index = static_cast<size_t>(std::ceil(q * static_cast<double>(values.size()))) - 1;
  return values[std::min(index, values.size() - 1)];
}

double Mean(const std::vector<double>& values) {
  if (values.empty()) return 0;
  double sum = 0;
  for (double v : values) sum += v;
  return sum / static_cast<double>(values.size());
}

double SegmentSnrDb(std::span<const int16_t> ref, std::span<const int16_t> deg) {
  double signal = 0;
  double noise = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double r = ref[i];
    const double d = r - deg[i];
    signal += r * r;
    noise += d * d;
  }
  if (noise <= 0) return kMaxSegmentSnrDb;
  return std::clamp(10 * std::log10(signal / noise), kMinSegmentSnrDb, kMaxSegmentSnrDb);
}

// A figure that may be absent: a number, or null.
nlohmann::ordered_json OptionalNumber(const std::optional<double>& value) {
  return value ? nlohmann::ordered_json(*value) : nlohmann::ordered_json(nullptr);
}

}  // namespace

NetworkSummary SummarizeNetwork(const LabStream& stream, const std::vector<Delivery>& deliveries,
                                std::string description) {
  NetworkSummary summary;
  summary.description = std::move(description);
  summary.packets_sent = static_cast<int64_t>(stream.packets.size());
  std::vector<int> arrivals(stream.packets.size(), 0);
  std::vector<double> delays;
  int64_t highest_seq_arrived = -1;
  for (const Delivery& delivery : deliveries) {
    const SentPacket& packet = stream.packets[delivery.packet];
    if (++arrivals[delivery.packet] == 2) ++summary.packets_duplicated;
    if (arrivals[delivery.packet] == 1) {
      delays.push_back(delivery.arrival_ms - packet.send_ms);
      if (packet.seq < highest_seq_arrived) ++summary.packets_reordered;
      highest_seq_arrived = std::max(highest_seq_arrived, packet.seq);
    }
  }
  for (int n : arrivals) summary.packets_lost += n == 0 ? 1 : 0;
  summary.network_delay_mean_ms = Mean(delays);
  summary.network_delay_p95_ms = Percentile(delays, 0.95);
  return summary;
}

Result<PlayerReport> MeasurePlayer(const LabStream& stream, const PlayerRun& run,
                                   const audio::AudioFrame& reference, bool codec_plc) {
  PlayerReport report;
  report.name = run.name;
  const codec::CodecInfo& codec = *stream.format.codec;
  const int rate = stream.format.output_rate_hz;
  const int block = rate / 100;

  // Delay per played block: from when its media was sent to when it plays.
  const SendTimeIndex send_times(stream);
  std::vector<double> delays;
  for (const BlockRecord& record : run.blocks) {
    if (!IsPlayed(record.block.kind) || !record.block.rtp_timestamp) continue;
    const std::optional<double> sent_ms =
        send_times.SendMs(*record.block.rtp_timestamp, record.t_ms);
    if (sent_ms) delays.push_back(record.t_ms - *sent_ms);
  }
  report.delay_mean_ms = Mean(delays);
  report.delay_p95_ms = Percentile(delays, 0.95);

  // Concealment events: runs of concealed blocks.
  bool in_event = false;
  for (const BlockRecord& record : run.blocks) {
    const bool concealed = record.block.kind == BlockKind::kConceal;
    if (concealed && !in_event) ++report.concealment_events;
    in_event = concealed;
  }
  const double sent = std::max<double>(1.0, static_cast<double>(stream.packets.size()));
  const PlayerCounters& c = run.counters;
  const double emitted = std::max<double>(1.0, static_cast<double>(c.emitted_samples));
  report.concealment_percent = 100.0 * static_cast<double>(c.concealed_samples) / emitted;
  // The loss the listener got, in packets: concealed audio (network loss, late loss, less
  // what FEC and RED recovered), in bursts as long as the concealment events.
  const double frame_samples = rate * stream.format.frame_ms / 1000.0;
  const auto packets_played = static_cast<int64_t>(std::llround(emitted / frame_samples));
  const auto packets_concealed = std::min<int64_t>(
      packets_played, static_cast<int64_t>(std::llround(c.concealed_samples / frame_samples)));
  const int64_t bursts = packets_concealed == 0
                             ? 0
                             : std::clamp<int64_t>(report.concealment_events, 1, packets_concealed);
  report.burst_ratio = 1.0;
  if (packets_played > 0) {
    auto ratio = quality::BurstRatioFromCounts(packets_played, packets_concealed, bursts);
    if (!ratio.ok()) return Error{run.name + ": " + ratio.error().message};
    report.burst_ratio = *ratio;
  }
  report.late_loss_percent = 100.0 * static_cast<double>(c.late_packets) / sent;
  report.fec_recoveries = c.fec_recoveries;
  report.stretch_percent =
      100.0 * static_cast<double>(c.inserted_samples + c.removed_samples) / emitted;
  report.interruptions = c.interruptions;
  report.interruption_seconds = c.interruption_seconds;
  report.zero_fill_ms = 1000.0 * static_cast<double>(c.zero_filled_samples) / rate;

  // E-model.
  quality::EModelInput emodel;
  // Media played ahead of its packet's send time (a log whose arrivals equal their sends)
  // can pull the mean below zero; the listener's delay is never negative.
  report.mouth_to_ear_ms =
      std::max(0.0, report.delay_mean_ms + stream.format.frame_ms + CodecLookaheadMs(codec.id));
  emodel.one_way_delay_ms = report.mouth_to_ear_ms;
  emodel.packet_loss_percent = std::clamp(report.concealment_percent, 0.0, 100.0);
  emodel.burst_ratio = report.burst_ratio;
  int bitrate = codec.default_bitrate_bps;
  if (!stream.packets.empty() && stream.duration_ms > 0) {
    double bytes = 0;
    for (const SentPacket& packet : stream.packets)
      bytes += static_cast<double>(packet.payload.size());
    // Clamped before the conversion: a log of huge payloads must not overflow an int.
    bitrate = static_cast<int>(std::min(bytes * 8 * 1000 / stream.duration_ms, kMaxBitrateBps));
  }
  auto impairment = quality::CodecImpairmentFor(codec.id, bitrate, codec_plc);
  if (impairment.ok()) emodel.codec = *impairment;
  auto r = quality::ComputeEModel(emodel);
  if (!r.ok()) return Error{run.name + ": " + r.error().message};
  report.r_factor = r->r;
  report.mos = r->mos;

  // Similarity per block against the loss-free decode at the block's media position.
  quality::SpectralDistance lsd(rate, block);
  const auto out = run.output.samples();
  const auto ref = reference.samples();
  const int search = static_cast<int>(kAlignSearchMs * rate / 1000);
  std::vector<double> snrs;
  std::vector<double> distances;
  for (size_t b = 0; b < run.blocks.size(); ++b) {
    const PlayedBlock& played_block = run.blocks[b].block;
    if (played_block.kind == BlockKind::kSilence || played_block.media_ts < 0) continue;
    const int64_t center = played_block.media_ts * rate / codec.rtp_clock_rate_hz;
    if (center < 0 || center + block > static_cast<int64_t>(ref.size())) continue;
    const auto ref_block = ref.subspan(static_cast<size_t>(center), static_cast<size_t>(block));
    if (quality::FrameLevelDbfs(ref_block) < kSilenceDbfs) continue;
    const auto out_block = out.subspan(b * static_cast<size_t>(block), static_cast<size_t>(block));
    double best = kMinSegmentSnrDb - 1;
    int64_t best_at = center;
    for (int lag = -search; lag <= search; ++lag) {
      const int64_t at = center + lag;
      if (at < 0 || at + block > static_cast<int64_t>(ref.size())) continue;
      const double snr =
          SegmentSnrDb(ref.subspan(static_cast<size_t>(at), static_cast<size_t>(block)), out_block);
      if (snr > best) {
        best = snr;
        best_at = at;
      }
    }
    snrs.push_back(std::max(best, kMinSegmentSnrDb));
    distances.push_back(lsd.FrameDb(
        ref.subspan(static_cast<size_t>(best_at), static_cast<size_t>(block)), out_block));
  }
  report.segmental_snr_db = Mean(snrs);
  report.log_spectral_distance_db = Mean(distances);
  return report;
}

std::string ReportJson(const LabReport& report) {
  nlohmann::ordered_json json;
  json["input"] = report.input;
  json["sender"] = report.sender;
  json["duration_s"] = report.duration_s;
  const NetworkSummary& n = report.network;
  json["network"] = {{"description", n.description},
                     {"packets_sent", n.packets_sent},
                     {"packets_lost", n.packets_lost},
                     {"packets_duplicated", n.packets_duplicated},
                     {"packets_reordered", n.packets_reordered},
                     {"delay_mean_ms", n.network_delay_mean_ms},
                     {"delay_p95_ms", n.network_delay_p95_ms}};
  json["players"] = nlohmann::ordered_json::array();
  for (const PlayerReport& p : report.players) {
    json["players"].push_back({{"name", p.name},
                               {"delay_mean_ms", p.delay_mean_ms},
                               {"delay_p95_ms", p.delay_p95_ms},
                               {"concealment_percent", p.concealment_percent},
                               {"late_loss_percent", p.late_loss_percent},
                               {"concealment_events", p.concealment_events},
                               {"burst_ratio", p.burst_ratio},
                               {"fec_recoveries", p.fec_recoveries},
                               {"stretch_percent", p.stretch_percent},
                               {"interruptions", p.interruptions},
                               {"interruption_seconds", p.interruption_seconds},
                               {"zero_fill_ms", p.zero_fill_ms},
                               {"mouth_to_ear_ms", p.mouth_to_ear_ms},
                               {"r_factor", p.r_factor},
                               {"mos", p.mos},
                               {"segmental_snr_db", p.segmental_snr_db},
                               {"log_spectral_distance_db", p.log_spectral_distance_db},
                               {"pesq_wb", OptionalNumber(p.pesq_wb)},
                               {"pesq_nb", OptionalNumber(p.pesq_nb)}});
  }
  json["pesq_scorer"] = report.pesq_scorer.empty() ? nlohmann::ordered_json(nullptr)
                                                   : nlohmann::ordered_json(report.pesq_scorer);
  return json.dump(2) + "\n";
}

std::string ReportTable(const LabReport& report) {
  const NetworkSummary& n = report.network;
  std::string text = fmt::format(
      "input   {} ({:.1f} s)\nsender  {}\nnetwork {}: {} packets, {} lost ({:.1f} %), {} "
      "duplicated, {} reordered, delay mean {:.0f} ms p95 {:.0f} ms\n\n",
      report.input, report.duration_s, report.sender, n.description, n.packets_sent, n.packets_lost,
      100.0 * static_cast<double>(n.packets_lost) / std::max<int64_t>(1, n.packets_sent),
      n.packets_duplicated, n.packets_reordered, n.network_delay_mean_ms, n.network_delay_p95_ms);
  // The E-model's MOS is labelled for what it is: a network-level estimate.
  constexpr const char* kRow =
      "{:<16} {:>6} {:>6} {:>7} {:>6} {:>6} {:>5} {:>7} {:>9} {:>6} {:>5} {:>6} {:>5}";
  constexpr const char* kPesqColumns = " {:>7} {:>7}";
  const bool scored = std::any_of(report.players.begin(), report.players.end(),
                                  [](const PlayerReport& p) { return p.pesq_wb || p.pesq_nb; });
  const auto pesq = [](const std::optional<double>& score) {
    return score ? fmt::format("{:.2f}", *score) : std::string("-");
  };
  text += fmt::format(kRow, "player", "delay", "p95", "conceal", "events", "late", "fec", "stretch",
                      "interrupt", "zeros", "E-MOS", "segSNR", "LSD");
  if (scored) text += fmt::format(kPesqColumns, "PESQ-WB", "PESQ-NB");
  text += "\n";
  text += fmt::format(kRow, "", "ms", "ms", "%", "", "%", "", "%", "n/s", "ms", "net", "dB", "dB");
  if (scored) text += fmt::format(kPesqColumns, "P.862.2", "P.862");
  text += "\n";
  for (const PlayerReport& p : report.players) {
    text += fmt::format(kRow, p.name, fmt::format("{:.0f}", p.delay_mean_ms),
                        fmt::format("{:.0f}", p.delay_p95_ms),
                        fmt::format("{:.2f}", p.concealment_percent), p.concealment_events,
                        fmt::format("{:.2f}", p.late_loss_percent), p.fec_recoveries,
                        fmt::format("{:.2f}", p.stretch_percent),
                        fmt::format("{}/{:.1f}", p.interruptions, p.interruption_seconds),
                        fmt::format("{:.0f}", p.zero_fill_ms), fmt::format("{:.2f}", p.mos),
                        fmt::format("{:.1f}", p.segmental_snr_db),
                        fmt::format("{:.1f}", p.log_spectral_distance_db));
    if (scored) text += fmt::format(kPesqColumns, pesq(p.pesq_wb), pesq(p.pesq_nb));
    text += "\n";
  }
  return text;
}

std::string BlockLogCsv(const PlayerRun& run) {
  std::string text = "t_ms,dur_ms,media_ts,kind\n";
  for (const BlockRecord& record : run.blocks) {
    text += fmt::format("{},10,{},{}\n", record.t_ms, record.block.media_ts,
                        BlockKindName(record.block.kind));
  }
  return text;
}

Status WriteDelayPlot(const LabStream& stream, const std::vector<Delivery>& deliveries,
                      const std::vector<PlayerRun>& runs, const std::string& png_path) {
  if (stream.packets.empty() || runs.empty()) return Error{"nothing to plot"};
  // Every packet's network delay, the same in each panel: what the players had to absorb.
  TimeSeries network{"network delay (arrival - send)", {}, {}, "dots", "#7f7f7f", 1.0};
  double y_max = 0;
  double x_max = 0;
  for (const Delivery& delivery : deliveries) {
    const SentPacket& packet = stream.packets[delivery.packet];
    network.x.push_back(delivery.arrival_ms / 1000.0);
    network.y.push_back(delivery.arrival_ms - packet.send_ms);
    y_max = std::max(y_max, network.y.back());
  }
  const SendTimeIndex send_times(stream);
  std::vector<PlotSpec> panels;
  for (const PlayerRun& run : runs) {
    PlotSpec panel;
    panel.title = run.name;
    panel.x_label = "call time (s)";
    panel.y_label = "delay (ms)";
    TimeSeries delay{"send -> playout", {}, {}, "lines", "#1f77b4", 1.5};
    TimeSeries target{"target (buffer)", {}, {}, "steps", "#2ca02c", 1.0};
    double conceal_start = -1;  // s; < 0: not concealing
    for (const BlockRecord& record : run.blocks) {
      const double t_s = record.t_ms / 1000.0;
      const PlayedBlock& block = record.block;
      if (block.kind != BlockKind::kSilence) {
        target.x.push_back(t_s);
        target.y.push_back(block.target_delay_ms);
      }
      if (IsPlayed(block.kind) && block.rtp_timestamp) {
        if (const std::optional<double> sent_ms =
                send_times.SendMs(*block.rtp_timestamp, record.t_ms)) {
          delay.x.push_back(t_s);
          delay.y.push_back(record.t_ms - *sent_ms);
        }
      }
      const bool concealing = block.kind == BlockKind::kConceal;
      if (concealing && conceal_start < 0) conceal_start = t_s;
      if (!concealing && conceal_start >= 0) {
        panel.shaded_intervals.emplace_back(conceal_start, t_s);
        conceal_start = -1;
      }
    }
    if (conceal_start >= 0) {
      panel.shaded_intervals.emplace_back(conceal_start, run.blocks.back().t_ms / 1000.0 + 0.01);
    }
    for (double y : delay.y) y_max = std::max(y_max, y);
    if (!run.blocks.empty()) x_max = std::max(x_max, run.blocks.back().t_ms / 1000.0 + 0.01);
    panel.series.push_back(network);
    panel.series.push_back(std::move(delay));
    panel.series.push_back(std::move(target));
    panel.height_px = 320;
    panels.push_back(std::move(panel));
  }
  // One scale for every panel, so the players compare at a glance.
  for (PlotSpec& panel : panels) {
    panel.x_min = 0;
    panel.x_max = x_max;
    panel.y_min = 0;
    panel.y_max = std::ceil(y_max * 1.1 / 10) * 10;
  }
  return RenderPlots(panels, png_path);
}

}  // namespace parley::lab
