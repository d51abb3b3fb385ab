#include "parley/rtp/receive_statistics.h"

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

#include "parley/rtp/ntp_time.h"

namespace parley::rtp {
namespace {

constexpr uint32_t kSeqMod = 1u << 16;  // A.1 RTP_SEQ_MOD
constexpr int32_t kMaxCumulativeLost = 0x7FFFFF;
constexpr int32_t kMinCumulativeLost = -0x800000;

uint32_t ToRtpUnits(Clock::TimePoint t, int clock_rate_hz) {
  const int64_t ns = t.time_since_epoch().count();
  // ns * rate can overflow int64 after ~2 days at 48 kHz; split seconds and remainder.
  const int64_t seconds = ns / 1'000'000'000;
  const int64_t rest = ns % 1'000'000'000;
  const int64_t units = seconds * clock_rate_hz + rest * clock_rate_hz / 1'000'000'000;
  return static_cast<uint32_t>(units);
}

}  // namespace

SourceStatistics::SourceStatistics(uint32_t ssrc, const ReceiveStatisticsConfig& config)
    : ssrc_(ssrc), config_(config) {
  if (config.clock_rate_hz <= 0 || config.min_sequential < 1 || config.max_dropout <= 0 ||
      config.max_misorder <= 0 || config.max_dropout + config.max_misorder >= int{kSeqMod}) {
    throw std::invalid_argument("ReceiveStatisticsConfig out of range");
  }
  probation_ = config_.min_sequential;
}

void SourceStatistics::InitSequence(uint16_t sequence_number) {
  // A.1 init_seq().
  base_seq_ = sequence_number;
  max_seq_ = sequence_number;
  bad_seq_ = kNoBadSequence;
  cycles_ = 0;
  received_ = 0;
  received_prior_ = 0;
  expected_prior_ = 0;
}

PacketVerdict SourceStatistics::UpdateSequence(uint16_t seq) {
  // A.1 update_seq().
  const uint16_t udelta = static_cast<uint16_t>(seq - max_seq_);
  if (probation_ > 0) {
    if (seq == static_cast<uint16_t>(max_seq_ + 1)) {
      --probation_;
      max_seq_ = seq;
      if (probation_ == 0) {
        InitSequence(seq);
        ++received_;
        return PacketVerdict::kCounted;
      }
    } else {
      probation_ = config_.min_sequential - 1;
      max_seq_ = seq;
    }
    return PacketVerdict::kProbation;
  }
  PacketVerdict verdict = PacketVerdict::kCounted;
  if (udelta < config_.max_dropout) {
    if (seq < max_seq_) cycles_ += kSeqMod;  // in order, with permissible gap: wrapped
    max_seq_ = seq;
  } else if (udelta <= kSeqMod - static_cast<uint32_t>(config_.max_misorder)) {
    // A very large jump.
    if (seq == bad_seq_) {
      // Two sequential packets: the source restarted without telling us.
      InitSequence(seq);
      verdict = PacketVerdict::kRestarted;
    } else {
      bad_seq_ = (seq + 1u) & (kSeqMod - 1);
      return PacketVerdict::kBadSequence;
    }
  }
  // Otherwise a duplicate or reordered packet: counted, max_seq unchanged.
  ++received_;
  return verdict;
}

PacketVerdict SourceStatistics::OnPacket(uint16_t sequence_number, uint32_t timestamp,
                                         uint32_t arrival_rtp) {
  if (!seen_any_) {
    // A.1: a new source starts with max_seq = seq - 1, so its first packet is in sequence.
    seen_any_ = true;
    max_seq_ = static_cast<uint16_t>(sequence_number - 1);
  }
  const PacketVerdict verdict = UpdateSequence(sequence_number);
  if (verdict == PacketVerdict::kCounted || verdict == PacketVerdict::kRestarted) {
    UpdateJitter(timestamp, arrival_rtp);
  }
  return verdict;
}

PacketVerdict SourceStatistics::OnPacket(uint16_t sequence_number, uint32_t timestamp,
                                         Clock::TimePoint arrival) {
  return OnPacket(sequence_number, timestamp, ToRtpUnits(arrival, config_.clock_rate_hz));
}

void SourceStatistics::UpdateJitter(uint32_t timestamp, uint32_t arrival_rtp) {
  // A.8: transit differences modulo 2^32, read as signed.
  const int32_t transit = static_cast<int32_t>(arrival_rtp - timestamp);
  if (!have_transit_) {
    have_transit_ = true;
    transit_ = transit;
    return;
  }
  const int64_t d = std::llabs(static_cast<int64_t>(
      static_cast<int32_t>(static_cast<uint32_t>(transit) - static_cast<uint32_t>(transit_))));
  transit_ = transit;
  if (d >= int64_t{kMaxJitterStepSeconds} * config_.clock_rate_hz) return;  // a timeline jump
  jitter_ += (static_cast<double>(d) - jitter_) / 16.0;
}

void SourceStatistics::OnSenderReport(uint64_t ntp_timestamp, Clock::TimePoint arrival) {
  last_sr_compact_ = CompactNtp(ntp_timestamp);
  last_sr_arrival_ = arrival;
}

int64_t SourceStatistics::expected() const {
  if (!validated()) return 0;
  return static_cast<int64_t>(extended_highest_sequence()) - base_seq_ + 1;
}

int32_t SourceStatistics::cumulative_lost_24() const {
  return static_cast<int32_t>(
      std::clamp<int64_t>(cumulative_lost(), kMinCumulativeLost, kMaxCumulativeLost));
}

uint8_t SourceStatistics::FractionLost(int64_t expected_interval, int64_t received_interval) const {
  const int64_t lost_interval = expected_interval - received_interval;
  if (expected_interval == 0 || lost_interval <= 0) return 0;
  // At most 255: lost_interval <= expected_interval, equal only when nothing arrived,
  // which A.3 reports as 255 (1.0 does not fit 8 bits).
  return static_cast<uint8_t>(std::min<int64_t>((lost_interval << 8) / expected_interval, 255));
}

uint8_t SourceStatistics::PeekFractionLost() const {
  return FractionLost(expected() - expected_prior_,
                      static_cast<int64_t>(received_) - received_prior_);
}

ReportBlock SourceStatistics::MakeReportBlock(Clock::TimePoint now) {
  ReportBlock block;
  block.ssrc = ssrc_;
  block.fraction_lost = PeekFractionLost();
  expected_prior_ = expected();
  received_prior_ = received_;
  block.cumulative_lost = cumulative_lost_24();
  block.extended_highest_sequence = extended_highest_sequence();
  block.jitter = jitter_report();
  if (last_sr_compact_) {
    block.last_sr = *last_sr_compact_;
    block.delay_since_last_sr = DurationToCompactNtp(now - last_sr_arrival_);
  }
  return block;
}

// --- ReceiveStatistics ---------------------------------------------------------------

ReceiveStatistics::ReceiveStatistics(ReceiveStatisticsConfig config) : config_(config) {
  SourceStatistics check(0, config_);  // validates the config once, here
}

SourceStatistics& ReceiveStatistics::Source(uint32_t ssrc) {
  auto it = sources_.find(ssrc);
  if (it == sources_.end()) it = sources_.emplace(ssrc, SourceStatistics(ssrc, config_)).first;
  return it->second;
}

PacketVerdict ReceiveStatistics::OnRtpPacket(const RtpPacketView& packet,
                                             Clock::TimePoint arrival) {
  return Source(packet.ssrc()).OnPacket(packet.sequence_number(), packet.timestamp(), arrival);
}

PacketVerdict ReceiveStatistics::OnRtpPacket(const RtpPacketView& packet, uint32_t arrival_rtp) {
  return Source(packet.ssrc()).OnPacket(packet.sequence_number(), packet.timestamp(), arrival_rtp);
}

void ReceiveStatistics::OnSenderReport(uint32_t ssrc, uint64_t ntp_timestamp,
                                       Clock::TimePoint arrival) {
  Source(ssrc).OnSenderReport(ntp_timestamp, arrival);
}

const SourceStatistics* ReceiveStatistics::Find(uint32_t ssrc) const {
  auto it = sources_.find(ssrc);
  return it == sources_.end() ? nullptr : &it->second;
}

std::vector<ReportBlock> ReceiveStatistics::MakeReportBlocks(Clock::TimePoint now,
                                                             size_t max_blocks) {
  std::vector<ReportBlock> blocks;
  for (auto& [ssrc, source] : sources_) {
    if (blocks.size() >= max_blocks) break;
    if (source.validated()) blocks.push_back(source.MakeReportBlock(now));
  }
  // Stable order for callers and tests.
  std::sort(blocks.begin(), blocks.end(),
            [](const ReportBlock& a, const ReportBlock& b) { return a.ssrc < b.ssrc; });
  return blocks;
}

}  // namespace parley::rtp
