#include "parley/relay/rtcp_terminator.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>

#include "parley/base/counter.h"
#include "parley/rtp/big_endian.h"
#include "parley/rtp/ntp_time.h"
#include "parley/rtp/receive_statistics.h"
#include "parley/rtp/rtcp_report_view.h"

namespace parley::relay {
namespace {

constexpr size_t kMaxSenderReports = rtp::kRtcpMaxCount;  // SRs about peers per compound
constexpr size_t kReportsReadPerCompound = 4;  // SR/RR of one compound looked at; more are rare
constexpr size_t kMaxCnameBytes = 255;

void Store(std::atomic<uint64_t>& cell, uint64_t value) {
  cell.store(value, std::memory_order_relaxed);
}

// Payload octets of an RTP packet (RFC 3550 SR octet count): after the fixed header, the
// CSRCs and the extension, before the padding. 0 when the header claims more than the
// packet holds (the relay forwards such a packet anyway: it checks only the SSRC).
uint32_t PayloadOctets(std::span<const uint8_t> packet) {
  size_t header = 12 + 4 * size_t{packet[0] & 0x0Fu};
  if ((packet[0] & 0x10) != 0) {
    if (packet.size() < header + 4) return 0;
    header += 4 + 4 * size_t{rtp::ReadBe16(packet.data() + header + 2)};
  }
  const size_t padding = (packet[0] & 0x20) != 0 ? packet.back() : 0;
  if (packet.size() < header + padding) return 0;
  return static_cast<uint32_t>(packet.size() - header - padding);
}

}  // namespace

// Media-thread state of one slot.
struct RtcpTerminator::Link {
  bool active = false;
  uint32_t ssrc = 0;
  uint32_t clock_rate_hz = 0;
  std::optional<rtp::SourceStatistics> uplink;
  // Its stream as the relay received it, for the SRs the relay sends about it.
  bool has_rtp = false;
  uint32_t last_rtp_timestamp = 0;
  Clock::TimePoint last_rtp_arrival{};
  uint32_t packets = 0;  // wrap modulo 2^32 as the SR fields do
  uint32_t octets = 0;
  Clock::TimePoint next_report{};
};

// What other threads read of one slot: figures stored as integers (micro-units).
struct alignas(64) RtcpTerminator::Cells {
  std::atomic<uint64_t> flags{0};  // bit 0 uplink, 1 downlink, 2 RTT
  std::atomic<uint64_t> uplink_loss_ppm{0};
  std::atomic<uint64_t> uplink_lost{0};  // int64 bits
  std::atomic<uint64_t> uplink_jitter_us{0};
  std::atomic<uint64_t> downlink_loss_ppm{0};
  std::atomic<uint64_t> downlink_jitter_us{0};
  std::atomic<uint64_t> rtt_us{0};
  std::atomic<uint64_t> reports_sent{0};
  std::atomic<uint64_t> reports_received{0};
  std::atomic<uint64_t> malformed{0};

  void Reset() {
    for (auto* cell :
         {&flags, &uplink_loss_ppm, &uplink_lost, &uplink_jitter_us, &downlink_loss_ppm,
          &downlink_jitter_us, &rtt_us, &reports_sent, &reports_received, &malformed}) {
      Store(*cell, 0);
    }
  }
  void SetFlag(uint64_t bit) { Store(flags, flags.load(std::memory_order_relaxed) | bit); }
};

namespace {

constexpr uint64_t kHasUplink = 1;
constexpr uint64_t kHasDownlink = 2;
constexpr uint64_t kHasRtt = 4;

uint64_t Micro(double value) { return static_cast<uint64_t>(std::llround(value * 1e6)); }

const RtcpTerminatorConfig& Validated(const RtcpTerminatorConfig& config) {
  using std::chrono::milliseconds;
  if (config.report_interval < milliseconds(100) || config.report_interval > milliseconds(60000)) {
    throw std::invalid_argument(
        fmt::format("RtcpTerminator: report_interval {} ms outside 100..60000",
                    config.report_interval.count()));
  }
  if (config.cname.empty() || config.cname.size() > kMaxCnameBytes) {
    throw std::invalid_argument(
        fmt::format("RtcpTerminator: cname of {} bytes outside 1..255", config.cname.size()));
  }
  return config;
}

}  // namespace

RtcpTerminator::RtcpTerminator(size_t max_participants, const Config& config)
    : config_(Validated(config)),
      rng_(config.seed),
      links_(std::make_unique<Link[]>(max_participants)),
      cells_(std::make_unique<Cells[]>(max_participants)) {
  relay_ssrc_ =
      config.relay_ssrc != 0 ? config.relay_ssrc : static_cast<uint32_t>(rng_.NextU64() >> 32) | 1u;
}

RtcpTerminator::~RtcpTerminator() = default;

void RtcpTerminator::Add(uint32_t slot, uint32_t ssrc, uint32_t clock_rate_hz,
                         Clock::TimePoint now) {
  Link& link = links_[slot];
  link = Link{};
  link.active = true;
  link.ssrc = ssrc;
  link.clock_rate_hz = clock_rate_hz;
  rtp::ReceiveStatisticsConfig stats;
  stats.clock_rate_hz = static_cast<int>(clock_rate_hz);
  link.uplink.emplace(ssrc, stats);
  // The first report soon (half an interval, randomised), as RFC 3550 halves its first.
  link.next_report = now + std::chrono::duration_cast<Clock::Duration>(
                               config_.report_interval * (0.25 + 0.5 * rng_.Uniform01()));
  cells_[slot].Reset();
}

void RtcpTerminator::Remove(uint32_t slot) {
  links_[slot] = Link{};
  cells_[slot].Reset();
}

void RtcpTerminator::OnRtp(uint32_t slot, std::span<const uint8_t> packet,
                           Clock::TimePoint arrival) {
  Link& link = links_[slot];
  if (!link.active) return;
  const uint16_t sequence = rtp::ReadBe16(packet.data() + 2);
  const uint32_t timestamp = rtp::ReadBe32(packet.data() + 4);
  link.uplink->OnPacket(sequence, timestamp, arrival);
  link.has_rtp = true;
  link.last_rtp_timestamp = timestamp;
  link.last_rtp_arrival = arrival;
  ++link.packets;
  link.octets += PayloadOctets(packet);
}

bool RtcpTerminator::OnRtcp(uint32_t slot, std::span<const uint8_t> compound,
                            std::span<const Peer> peers, Clock::TimePoint now,
                            Clock::WallTime wall_now) {
  Link& link = links_[slot];
  Cells& cells = cells_[slot];
  if (!link.active) return true;
  std::array<rtp::RtcpReportView, kReportsReadPerCompound> reports;
  const std::optional<size_t> count = rtp::ReadRtcpReports(compound, reports);
  if (!count) {
    Bump(cells.malformed);
    return false;
  }
  const uint32_t arrival_compact = rtp::CompactNtp(rtp::WallTimeToNtp(wall_now));
  for (size_t r = 0; r < std::min(*count, reports.size()); ++r) {
    const rtp::RtcpReportView& report = reports[r];
    if (report.ssrc != link.ssrc) continue;  // only what P says for itself
    Bump(cells.reports_received);
    if (report.sender_report) link.uplink->OnSenderReport(report.sender_info.ntp_timestamp, now);
    bool have_downlink = false;
    double worst_loss = 0;
    double worst_jitter_ms = 0;
    std::optional<Clock::Duration> rtt;
    for (size_t b = 0; b < report.block_count; ++b) {
      const rtp::ReportBlock block = report.block(b);
      const Link* source = nullptr;
      for (const Peer& peer : peers) {
        const Link& candidate = links_[peer.slot];
        if (peer.sends_to_participant && candidate.active && candidate.ssrc == block.ssrc) {
          source = &candidate;
          break;
        }
      }
      if (source == nullptr) continue;  // not a stream the relay sends P
      have_downlink = true;
      worst_loss = std::max(worst_loss, block.fraction_lost / 256.0);
      worst_jitter_ms = std::max(worst_jitter_ms, 1000.0 * block.jitter / source->clock_rate_hz);
      if (const auto measured =
              rtp::RoundTripTime(arrival_compact, block.last_sr, block.delay_since_last_sr)) {
        if (!rtt || *measured < *rtt) rtt = measured;
      }
    }
    if (have_downlink) {
      Store(cells.downlink_loss_ppm, Micro(worst_loss));
      Store(cells.downlink_jitter_us, Micro(worst_jitter_ms / 1000.0));
      cells.SetFlag(kHasDownlink);
      histograms_.downlink_loss.Observe(worst_loss);
      histograms_.downlink_jitter.Observe(worst_jitter_ms / 1000.0);
    }
    if (rtt) {
      const double seconds = std::chrono::duration<double>(*rtt).count();
      Store(cells.rtt_us, Micro(seconds));
      cells.SetFlag(kHasRtt);
      histograms_.rtt.Observe(seconds);
    }
  }
  return true;
}

bool RtcpTerminator::ReportDue(uint32_t slot, Clock::TimePoint now) const {
  const Link& link = links_[slot];
  return link.active && now >= link.next_report;
}

size_t RtcpTerminator::MaxReportBytes() const {
  return rtp::ReceiverReportBytes(1) + kMaxSenderReports * rtp::SenderReportBytes(0) +
         rtp::CnameSdesBytes(config_.cname.size());
}

size_t RtcpTerminator::WriteReport(uint32_t slot, std::span<const Peer> peers, Clock::TimePoint now,
                                   Clock::WallTime wall_now, std::span<uint8_t> out) {
  if (out.size() < MaxReportBytes()) return 0;
  Link& link = links_[slot];
  size_t pos = 0;

  // RR: the relay's block about P's own stream.
  std::array<rtp::ReportBlock, 1> uplink_block;
  size_t uplink_blocks = 0;
  if (link.uplink->validated()) {
    uplink_block[0] = link.uplink->MakeReportBlock(now);
    uplink_blocks = 1;
    const double loss = uplink_block[0].fraction_lost / 256.0;
    const double jitter_ms = 1000.0 * uplink_block[0].jitter / link.clock_rate_hz;
    PublishUplink(slot, loss, uplink_block[0].cumulative_lost, jitter_ms);
  }
  pos += rtp::WriteReceiverReport(out, relay_ssrc_, std::span(uplink_block).first(uplink_blocks));

  // SRs on behalf of the streams P receives.
  const uint64_t ntp = rtp::WallTimeToNtp(wall_now);
  size_t sender_reports = 0;
  for (const Peer& peer : peers) {
    if (sender_reports == kMaxSenderReports) break;
    const Link& source = links_[peer.slot];
    if (!peer.sends_to_participant || !source.active || !source.has_rtp) continue;
    const double elapsed_s = std::chrono::duration<double>(now - source.last_rtp_arrival).count();
    rtp::SenderInfo info;
    info.ntp_timestamp = ntp;
    info.rtp_timestamp = source.last_rtp_timestamp +
                         static_cast<uint32_t>(std::llround(elapsed_s * source.clock_rate_hz));
    info.packet_count = source.packets;
    info.octet_count = source.octets;
    pos += rtp::WriteSenderReport(out.subspan(pos), source.ssrc, info, {});
    ++sender_reports;
  }
  pos += rtp::WriteCnameSdes(out.subspan(pos), relay_ssrc_, config_.cname);

  const double factor = 0.5 + rng_.Uniform01();  // RFC 3550 §6.3.1: 0.5..1.5 x the interval
  link.next_report =
      now + std::chrono::duration_cast<Clock::Duration>(config_.report_interval * factor);
  Bump(cells_[slot].reports_sent);
  return pos;
}

void RtcpTerminator::PublishUplink(uint32_t slot, double loss, int64_t lost, double jitter_ms) {
  Cells& cells = cells_[slot];
  Store(cells.uplink_loss_ppm, Micro(loss));
  Store(cells.uplink_lost, static_cast<uint64_t>(lost));
  Store(cells.uplink_jitter_us, Micro(jitter_ms / 1000.0));
  cells.SetFlag(kHasUplink);
  histograms_.uplink_loss.Observe(loss);
  histograms_.uplink_jitter.Observe(jitter_ms / 1000.0);
}

LinkDistributions LinkHistograms::Snapshot() const {
  return {uplink_loss.Snapshot(), downlink_loss.Snapshot(), uplink_jitter.Snapshot(),
          downlink_jitter.Snapshot(), rtt.Snapshot()};
}

LinkStats RtcpTerminator::link_stats(uint32_t slot) const {
  const Cells& cells = cells_[slot];
  auto load = [](const std::atomic<uint64_t>& cell) {
    return cell.load(std::memory_order_relaxed);
  };
  const uint64_t flags = load(cells.flags);
  LinkStats out;
  out.has_uplink = (flags & kHasUplink) != 0;
  out.uplink_loss = load(cells.uplink_loss_ppm) / 1e6;
  out.uplink_lost = static_cast<int64_t>(load(cells.uplink_lost));
  out.uplink_jitter_ms = load(cells.uplink_jitter_us) / 1e3;
  out.has_downlink = (flags & kHasDownlink) != 0;
  out.downlink_loss = load(cells.downlink_loss_ppm) / 1e6;
  out.downlink_jitter_ms = load(cells.downlink_jitter_us) / 1e3;
  out.has_rtt = (flags & kHasRtt) != 0;
  out.rtt_ms = load(cells.rtt_us) / 1e3;
  out.reports_sent = load(cells.reports_sent);
  out.reports_received = load(cells.reports_received);
  out.malformed = load(cells.malformed);
  return out;
}

}  // namespace parley::relay
