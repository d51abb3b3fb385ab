#include "parley/client/rtcp_session.h"

#include <algorithm>
#include <stdexcept>
#include <utility>
#include <variant>

#include "parley/rtp/ntp_time.h"

namespace parley::client {
namespace {

using std::chrono::duration_cast;
using std::chrono::nanoseconds;

constexpr double kMinIntervalScale = 0.5;  // RFC 3550 §6.3.1: U[0.5, 1.5] x the interval
constexpr double kMaxIntervalScale = 1.5;
constexpr double kFirstReportScale = 0.5;  // the first report: half an interval (§6.2)
constexpr double kPercentPer256th = 100.0 / 256.0;
constexpr int64_t kNanosPerSecond = 1'000'000'000;

double ToMs(Clock::Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double RtpUnitsToMs(double units, int clock_rate_hz) { return units * 1000.0 / clock_rate_hz; }

}  // namespace

// A peer SSRC we hear.
struct RtcpSession::Source {
  uint32_t ssrc = 0;
  // From its first RTP packet, which fixes the clock rate.
  std::optional<rtp::SourceStatistics> statistics;
  int clock_rate_hz = 0;
  // An SR heard before any RTP: given to the statistics once they exist.
  std::optional<std::pair<uint64_t, Clock::TimePoint>> early_sender_report;
  bool sender_report_received = false;
  Clock::TimePoint last_heard{};     // RTP or SR
  Clock::TimePoint last_reported{};  // our last block about it
  uint64_t packets_since_block = 0;
  uint8_t last_fraction_lost = 0;
};

// Someone who sends blocks about our SSRC, and the sums for UplinkStats::loss_percent.
struct RtcpSession::Reporter {
  uint32_t ssrc = 0;
  uint32_t extended_highest = 0;  // of its previous block
  int32_t cumulative_lost = 0;    // of its previous block
  int64_t expected_sum = 0;
  int64_t lost_sum = 0;
  Clock::TimePoint last_heard{};
};

RtcpSession::RtcpSession(const Clock& clock, Config config)
    : clock_(clock),
      config_(std::move(config)),
      buffer_(kMaxRtcpReportBytes),
      random_(config_.seed) {
  if (config_.clock_rate_hz <= 0) {
    throw std::invalid_argument("RtcpSessionConfig.clock_rate_hz must be > 0");
  }
  if (config_.cname.empty() || config_.cname.size() > 255) {
    throw std::invalid_argument("RtcpSessionConfig.cname must be 1..255 bytes");
  }
  if (config_.report_interval.count() <= 0) {
    throw std::invalid_argument("RtcpSessionConfig.report_interval must be > 0");
  }
  if (config_.max_sources < 1) {
    throw std::invalid_argument("RtcpSessionConfig.max_sources must be >= 1");
  }
  if (config_.source_timeout.count() <= 0) {
    throw std::invalid_argument("RtcpSessionConfig.source_timeout must be > 0");
  }
  if (!(config_.rtt_smoothing > 0.0 && config_.rtt_smoothing <= 1.0)) {
    throw std::invalid_argument("RtcpSessionConfig.rtt_smoothing must be in (0, 1]");
  }
  sources_.reserve(config_.max_sources);
  reporters_.reserve(config_.max_sources);
}

RtcpSession::~RtcpSession() = default;

Clock::Duration RtcpSession::DrawInterval(double scale) {
  const double interval_ns =
      static_cast<double>(duration_cast<nanoseconds>(config_.report_interval).count());
  return nanoseconds(static_cast<int64_t>(interval_ns * scale *
                                          random_.Uniform(kMinIntervalScale, kMaxIntervalScale)));
}

void RtcpSession::Start(Clock::TimePoint now) {
  if (next_report_) return;
  next_report_ = now + DrawInterval(kFirstReportScale);
}

void RtcpSession::OnRtpSent(uint32_t timestamp, size_t payload_bytes, Clock::TimePoint sent) {
  ++stats_.packets_sent;
  stats_.octets_sent += payload_bytes;
  last_sent_timestamp_ = timestamp;
  last_sent_time_ = sent;
}

RtcpSession::Source* RtcpSession::FindSource(uint32_t ssrc) {
  for (Source& source : sources_) {
    if (source.ssrc == ssrc) return &source;
  }
  return nullptr;
}

RtcpSession::Source* RtcpSession::FindOrAddSource(uint32_t ssrc, Clock::TimePoint now) {
  if (Source* source = FindSource(ssrc)) return source;
  if (sources_.size() >= config_.max_sources) {
    ++stats_.sources_refused;
    return nullptr;
  }
  Source& source = sources_.emplace_back();
  source.ssrc = ssrc;
  source.last_heard = now;
  return &source;
}

void RtcpSession::OnRtpReceived(uint32_t ssrc, uint16_t sequence_number, uint32_t timestamp,
                                int clock_rate_hz, Clock::TimePoint arrival) {
  if (ssrc == config_.ssrc || clock_rate_hz <= 0) return;
  Source* source = FindOrAddSource(ssrc, arrival);
  if (source == nullptr) return;
  if (!source->statistics) {
    source->statistics.emplace(ssrc, rtp::ReceiveStatisticsConfig{.clock_rate_hz = clock_rate_hz});
    source->clock_rate_hz = clock_rate_hz;
    if (source->early_sender_report) {
      source->statistics->OnSenderReport(source->early_sender_report->first,
                                         source->early_sender_report->second);
      source->early_sender_report.reset();
    }
  }
  source->last_heard = arrival;
  const rtp::PacketVerdict verdict =
      source->statistics->OnPacket(sequence_number, timestamp, arrival);
  if (verdict == rtp::PacketVerdict::kCounted || verdict == rtp::PacketVerdict::kRestarted) {
    ++source->packets_since_block;
  }
}

void RtcpSession::OnSenderReport(uint32_t ssrc, uint64_t ntp, Clock::TimePoint arrival) {
  if (ssrc == config_.ssrc) return;
  Source* source = FindOrAddSource(ssrc, arrival);
  if (source == nullptr) return;
  source->last_heard = arrival;
  source->sender_report_received = true;
  if (source->statistics) {
    source->statistics->OnSenderReport(ntp, arrival);
  } else {
    source->early_sender_report.emplace(ntp, arrival);
  }
}

void RtcpSession::OnReportBlock(uint32_t reporter_ssrc, const rtp::ReportBlock& block,
                                Clock::TimePoint arrival) {
  UplinkStats& uplink = stats_.uplink;
  uplink.reported = true;
  uplink.reporter_ssrc = reporter_ssrc;
  ++uplink.blocks;
  uplink.fraction_lost_percent = block.fraction_lost * kPercentPer256th;
  uplink.cumulative_lost = block.cumulative_lost;
  uplink.jitter_ms = RtpUnitsToMs(block.jitter, config_.clock_rate_hz);

  // Loss over the call, from the differences between this reporter's blocks.
  auto reporter = std::find_if(reporters_.begin(), reporters_.end(),
                               [&](const Reporter& r) { return r.ssrc == reporter_ssrc; });
  if (reporter == reporters_.end() && reporters_.size() < config_.max_sources) {
    reporter = reporters_.insert(reporters_.end(),
                                 Reporter{.ssrc = reporter_ssrc,
                                          .extended_highest = block.extended_highest_sequence,
                                          .cumulative_lost = block.cumulative_lost});
  } else if (reporter != reporters_.end()) {
    // Read as signed: a reporter that restarted (or reordered reports) goes backwards.
    const int32_t expected =
        static_cast<int32_t>(block.extended_highest_sequence - reporter->extended_highest);
    const int64_t lost = int64_t{block.cumulative_lost} - reporter->cumulative_lost;
    if (expected < 0 || lost > expected) {
      reporter->expected_sum = 0;
      reporter->lost_sum = 0;
    } else {
      reporter->expected_sum += expected;
      reporter->lost_sum += lost;
    }
    reporter->extended_highest = block.extended_highest_sequence;
    reporter->cumulative_lost = block.cumulative_lost;
  }
  if (reporter != reporters_.end()) {
    reporter->last_heard = arrival;
    uplink.loss_percent = reporter->expected_sum > 0
                              ? 100.0 * static_cast<double>(reporter->lost_sum) /
                                    static_cast<double>(reporter->expected_sum)
                              : 0.0;
  }

  // Round trip: only against an SR we sent, so that a stale or foreign LSR gives nothing.
  const size_t remembered = std::min(sent_report_count_, sent_reports_.size());
  for (size_t i = 0; i < remembered && block.last_sr != 0; ++i) {
    const SentReport& sent = sent_reports_[i];
    if (rtp::CompactNtp(sent.ntp) != block.last_sr) continue;
    const uint32_t arrival_compact =
        rtp::CompactNtp(sent.ntp) + rtp::DurationToCompactNtp(arrival - sent.sent);
    const auto rtt = rtp::RoundTripTime(arrival_compact, block.last_sr, block.delay_since_last_sr);
    if (!rtt) break;
    stats_.rtt_ms = ToMs(*rtt);
    stats_.smoothed_rtt_ms =
        stats_.rtt_samples == 0
            ? stats_.rtt_ms
            : stats_.smoothed_rtt_ms +
                  config_.rtt_smoothing * (stats_.rtt_ms - stats_.smoothed_rtt_ms);
    ++stats_.rtt_samples;
    return;
  }
  ++stats_.unmatched_lsr;
}

Status RtcpSession::OnRtcpReceived(std::span<const uint8_t> datagram, Clock::TimePoint arrival) {
  auto compound = rtp::ParseRtcpCompound(datagram);
  if (!compound) {
    ++stats_.malformed;
    return compound.error();
  }
  ++stats_.reports_received;
  auto blocks = [&](uint32_t reporter, const std::vector<rtp::ReportBlock>& report_blocks) {
    for (const rtp::ReportBlock& block : report_blocks) {
      if (block.ssrc == config_.ssrc) OnReportBlock(reporter, block, arrival);
    }
  };
  for (const rtp::RtcpPacket& packet : compound->packets) {
    if (const auto* sr = std::get_if<rtp::SenderReport>(&packet)) {
      OnSenderReport(sr->ssrc, sr->sender_info.ntp_timestamp, arrival);
      blocks(sr->ssrc, sr->report_blocks);
    } else if (const auto* rr = std::get_if<rtp::ReceiverReport>(&packet)) {
      blocks(rr->ssrc, rr->report_blocks);
    } else if (const auto* bye = std::get_if<rtp::Bye>(&packet)) {
      for (uint32_t ssrc : bye->ssrcs) RemoveSource(ssrc);
    }
  }
  return Status::Ok();
}

bool RtcpSession::RemoveSource(uint32_t ssrc) {
  return std::erase_if(sources_, [&](const Source& source) { return source.ssrc == ssrc; }) > 0;
}

void RtcpSession::ForgetSilentSources(Clock::TimePoint now) {
  std::erase_if(sources_, [&](const Source& source) {
    return now - source.last_heard > config_.source_timeout;
  });
  std::erase_if(reporters_, [&](const Reporter& reporter) {
    return now - reporter.last_heard > config_.source_timeout;
  });
}

Clock::WallTime RtcpSession::WallTimeAt(Clock::TimePoint now) const {
  return clock_.WallNow() + (now - clock_.Now());
}

uint32_t RtcpSession::RtpTimestampAt(Clock::TimePoint now) const {
  // The media clock runs on from the last packet sent (§6.4.1: the RTP timestamp of the
  // SR's NTP instant, which need not be any packet's).
  const int64_t elapsed_ns = duration_cast<nanoseconds>(now - last_sent_time_).count();
  const int64_t ticks = elapsed_ns / kNanosPerSecond * config_.clock_rate_hz +
                        elapsed_ns % kNanosPerSecond * config_.clock_rate_hz / kNanosPerSecond;
  return last_sent_timestamp_ + static_cast<uint32_t>(ticks);
}

std::span<const uint8_t> RtcpSession::ReportDue(Clock::TimePoint now) {
  if (!next_report_ || now < *next_report_) return {};
  ForgetSilentSources(now);

  // Blocks for the sources heard since their last block, the longest unreported first,
  // so that beyond 31 sources each still gets its turn.
  std::vector<Source*> heard;
  for (Source& source : sources_) {
    if (source.statistics && source.statistics->validated() && source.packets_since_block > 0) {
      heard.push_back(&source);
    }
  }
  std::stable_sort(heard.begin(), heard.end(), [](const Source* a, const Source* b) {
    return a->last_reported < b->last_reported;
  });
  if (heard.size() > rtp::kRtcpMaxCount) heard.resize(rtp::kRtcpMaxCount);
  std::sort(heard.begin(), heard.end(),
            [](const Source* a, const Source* b) { return a->ssrc < b->ssrc; });
  std::vector<rtp::ReportBlock> blocks;
  blocks.reserve(heard.size());
  for (Source* source : heard) {
    blocks.push_back(source->statistics->MakeReportBlock(now));
    source->last_fraction_lost = blocks.back().fraction_lost;
    source->last_reported = now;
    source->packets_since_block = 0;
  }

  rtp::RtcpCompound compound;
  const bool we_sent = stats_.packets_sent > packets_at_report_before_last_;
  if (we_sent) {
    rtp::SenderReport sr;
    sr.ssrc = config_.ssrc;
    sr.sender_info.ntp_timestamp = rtp::WallTimeToNtp(WallTimeAt(now));
    sr.sender_info.rtp_timestamp = RtpTimestampAt(now);
    // Both counts wrap modulo 2^32 (§6.4.1).
    sr.sender_info.packet_count = static_cast<uint32_t>(stats_.packets_sent);
    sr.sender_info.octet_count = static_cast<uint32_t>(stats_.octets_sent);
    sr.report_blocks = std::move(blocks);
    sent_reports_[sent_report_count_ % sent_reports_.size()] = {sr.sender_info.ntp_timestamp, now};
    ++sent_report_count_;
    ++stats_.sender_reports_sent;
    compound.packets.emplace_back(std::move(sr));
  } else {
    rtp::ReceiverReport rr;
    rr.ssrc = config_.ssrc;
    rr.report_blocks = std::move(blocks);
    compound.packets.emplace_back(std::move(rr));
  }
  rtp::SourceDescription sdes;
  sdes.chunks.push_back({config_.ssrc, {{rtp::SdesType::kCname, config_.cname}}});
  compound.packets.emplace_back(std::move(sdes));

  packets_at_report_before_last_ = packets_at_last_report_;
  packets_at_last_report_ = stats_.packets_sent;
  next_report_ = now + DrawInterval(1.0);
  ++stats_.reports_sent;

  auto written = rtp::WriteRtcpCompound(compound, buffer_);
  // At most 31 blocks and a CNAME of at most 255 bytes always fit kMaxRtcpReportBytes.
  if (!written) throw std::logic_error("RtcpSession: writing a report: " + written.error().message);
  return std::span<const uint8_t>(buffer_).first(*written);
}

RtcpSessionStats RtcpSession::stats() const {
  RtcpSessionStats stats = stats_;
  stats.downlinks.reserve(sources_.size());
  for (const Source& source : sources_) {
    DownlinkStats downlink;
    downlink.ssrc = source.ssrc;
    downlink.sender_report_received = source.sender_report_received;
    downlink.fraction_lost_percent = source.last_fraction_lost * kPercentPer256th;
    if (source.statistics) {
      const rtp::SourceStatistics& s = *source.statistics;
      downlink.packets_received = s.received();
      downlink.cumulative_lost = s.cumulative_lost();
      const int64_t expected = s.expected();
      downlink.loss_percent = expected > 0 ? 100.0 * static_cast<double>(downlink.cumulative_lost) /
                                                 static_cast<double>(expected)
                                           : 0.0;
      downlink.jitter_ms = RtpUnitsToMs(s.jitter_rtp(), source.clock_rate_hz);
    }
    stats.downlinks.push_back(downlink);
  }
  std::sort(stats.downlinks.begin(), stats.downlinks.end(),
            [](const DownlinkStats& a, const DownlinkStats& b) { return a.ssrc < b.ssrc; });
  return stats;
}

}  // namespace parley::client
