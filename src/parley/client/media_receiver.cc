#include "parley/client/media_receiver.h"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <utility>

#include "parley/client/rtcp_session.h"
#include "parley/session/signaling.h"

namespace parley::client {
namespace {

constexpr uint8_t kRtpVersionBits = 0x80;  // version 2 in the top two bits
// RFC 5761 4: RTCP packet types 192..223 leave 64..95 in the low 7 bits of byte 1.
constexpr int kRtcpLowMin = 64;
constexpr int kRtcpLowMax = 95;
// SRTP datagrams are unprotected in a copy of this size: the call's receive buffer
// (larger datagrams never reach the receiver), far above a voice packet on any MTU.
constexpr size_t kMaxSrtpDatagramBytes = 2048;

bool IsRtpVersion2(std::span<const uint8_t> datagram) {
  return !datagram.empty() && (datagram[0] & 0xC0) == kRtpVersionBits;
}

bool IsRtcp(std::span<const uint8_t> datagram) {
  if (datagram.size() < 2) return false;
  const int low = datagram[1] & 0x7F;
  return low >= kRtcpLowMin && low <= kRtcpLowMax;
}

int RtpClockRate(const playout::PlayoutEngineConfig& config) {
  if (config.bindings.empty() || config.bindings.front().codec == nullptr) return 48000;
  return config.bindings.front().codec->rtp_clock_rate_hz;
}

}  // namespace

struct MediaReceiver::Peer {
  Peer(const Clock& clock, uint32_t ssrc_in, const playout::PlayoutEngineConfig& engine_config,
       int block_frames)
      : ssrc(ssrc_in),
        engine(clock, engine_config),
        statistics(ssrc_in,
                   rtp::ReceiveStatisticsConfig{.clock_rate_hz = RtpClockRate(engine_config)}),
        block(static_cast<size_t>(block_frames)) {}

  uint32_t ssrc;
  std::string identity;
  playout::PlayoutEngine engine;
  rtp::SourceStatistics statistics;
  std::vector<int16_t> block;
  Clock::TimePoint last_arrival{};
  uint64_t packets = 0;
  uint64_t bytes = 0;
  uint64_t rejected = 0;
  int level_dbov = rtp::kAudioLevelSilenceDbov;
};

MediaReceiver::MediaReceiver(const Clock& clock, Config config, MixSink* sink, RtcpSession* rtcp)
    : clock_(clock),
      config_(std::move(config)),
      sink_(sink),
      rtcp_(rtcp),
      block_frames_(config_.engine.output_rate_hz / 100) {
  if (config_.max_peers < 1 || config_.max_peers > session::kMaxRoomParticipants) {
    throw std::invalid_argument("MediaReceiverConfig.max_peers must be 1..100");
  }
  if (config_.peer_timeout.count() <= 0) {
    throw std::invalid_argument("MediaReceiverConfig.peer_timeout must be > 0");
  }
  if (config_.engine.channels != 1) {
    throw std::invalid_argument("MediaReceiverConfig.engine.channels must be 1 (the mix is mono)");
  }
  // Let the engine validate the rest now rather than at the first packet.
  playout::PlayoutEngine check(clock_, config_.engine);
  peers_.reserve(config_.max_peers);
  accumulator_.resize(static_cast<size_t>(block_frames_));
  plain_.resize(kMaxSrtpDatagramBytes);
}

MediaReceiver::~MediaReceiver() = default;

MediaReceiver::Peer* MediaReceiver::FindPeer(uint32_t ssrc) {
  for (auto& peer : peers_) {
    if (peer->ssrc == ssrc) return peer.get();
  }
  return nullptr;
}

std::string MediaReceiver::TakeIdentity(uint32_t ssrc) {
  for (auto it = pending_identities_.begin(); it != pending_identities_.end(); ++it) {
    if (it->first == ssrc) {
      std::string identity = std::move(it->second);
      pending_identities_.erase(it);
      return identity;
    }
  }
  return {};
}

MediaReceiver::Verdict MediaReceiver::OnDatagram(std::span<const uint8_t> wire) {
  ++counters_.datagrams;
  if (!IsRtpVersion2(wire)) {
    ++counters_.not_rtp;
    return Verdict::kNotRtp;
  }
  std::span<const uint8_t> datagram = wire;
  if (srtp_ != nullptr) {
    // The header that tells RTP from RTCP is in the clear in SRTP and SRTCP alike.
    if (wire.size() > plain_.size()) {
      ++counters_.undecryptable;
      return Verdict::kUndecryptable;
    }
    std::copy(wire.begin(), wire.end(), plain_.begin());
    const std::span<uint8_t> copy = std::span(plain_).first(wire.size());
    const std::optional<size_t> plain =
        IsRtcp(wire) ? srtp_->TryUnprotectRtcp(copy) : srtp_->TryUnprotectRtp(copy);
    if (!plain) {
      ++counters_.undecryptable;
      return Verdict::kUndecryptable;
    }
    datagram = copy.first(*plain);
  }
  if (IsRtcp(datagram)) {
    ++counters_.rtcp_packets;
    // A malformed compound is counted by the session; nothing more to do with it here.
    if (rtcp_ != nullptr) (void)rtcp_->OnRtcpReceived(datagram, clock_.Now());
    return Verdict::kRtcp;
  }
  auto packet = rtp::ParseRtpPacket(datagram);
  if (!packet) {
    ++counters_.malformed;
    return Verdict::kMalformed;
  }
  const uint32_t ssrc = packet->ssrc();
  if (ssrc == config_.own_ssrc) {
    ++counters_.own_ssrc;
    return Verdict::kOwnSsrc;
  }
  Peer* peer = FindPeer(ssrc);
  if (peer == nullptr) {
    if (peers_.size() >= config_.max_peers) {
      ++counters_.peers_refused;
      return Verdict::kRefused;
    }
    peers_.push_back(std::make_unique<Peer>(clock_, ssrc, config_.engine, block_frames_));
    peer = peers_.back().get();
    peer->identity = TakeIdentity(ssrc);
    ++counters_.peers_created;
  }
  const Clock::TimePoint now = clock_.Now();
  peer->last_arrival = now;
  ++peer->packets;
  peer->bytes += wire.size();
  peer->statistics.OnPacket(packet->sequence_number(), packet->timestamp(), now);
  if (rtcp_ != nullptr) {
    rtcp_->OnRtpReceived(ssrc, packet->sequence_number(), packet->timestamp(),
                         RtpClockRate(config_.engine), now);
  }
  if (!peer->engine.InsertPacket(*packet)) ++peer->rejected;
  ++counters_.rtp_packets;
  return Verdict::kPlayed;
}

void MediaReceiver::Pull10ms(std::span<int16_t> out) {
  if (out.size() != static_cast<size_t>(block_frames_)) {
    throw std::invalid_argument("MediaReceiver::Pull10ms: out must hold block_frames() samples");
  }
  const Clock::TimePoint now = clock_.Now();
  const size_t before = peers_.size();
  std::erase_if(peers_, [&](const std::unique_ptr<Peer>& peer) {
    return now - peer->last_arrival > config_.peer_timeout;
  });
  counters_.peers_removed += before - peers_.size();

  std::fill(accumulator_.begin(), accumulator_.end(), 0);
  for (auto& peer : peers_) {
    // Pull10ms fails only on a wrong block size, which Peer's construction rules out.
    auto info = peer->engine.Pull10ms(peer->block);
    if (!info) continue;
    for (size_t i = 0; i < accumulator_.size(); ++i) accumulator_[i] += peer->block[i];
    peer->level_dbov = rtp::AudioLevelDbov(peer->block);
  }
  if (limiter_.Apply(accumulator_, out)) ++counters_.limited_blocks;
  ++counters_.blocks_mixed;
  if (sink_ != nullptr) sink_->OnMix(out);
}

bool MediaReceiver::RemovePeer(uint32_t ssrc) {
  TakeIdentity(ssrc);
  const size_t before = peers_.size();
  std::erase_if(peers_, [&](const std::unique_ptr<Peer>& peer) { return peer->ssrc == ssrc; });
  const size_t removed = before - peers_.size();
  counters_.peers_removed += removed;
  return removed > 0;
}

void MediaReceiver::SetPeerIdentity(uint32_t ssrc, std::string identity) {
  if (Peer* peer = FindPeer(ssrc)) {
    peer->identity = std::move(identity);
    return;
  }
  for (auto& [pending_ssrc, name] : pending_identities_) {
    if (pending_ssrc == ssrc) {
      name = std::move(identity);
      return;
    }
  }
  // Bounded like a room: the oldest name goes first.
  if (pending_identities_.size() >= session::kMaxRoomParticipants) {
    pending_identities_.erase(pending_identities_.begin());
  }
  pending_identities_.emplace_back(ssrc, std::move(identity));
}

std::vector<PeerStats> MediaReceiver::peer_stats() {
  std::vector<PeerStats> result;
  result.reserve(peers_.size());
  for (auto& peer : peers_) {
    PeerStats stats;
    stats.ssrc = peer->ssrc;
    stats.identity = peer->identity;
    stats.packets_received = peer->packets;
    stats.bytes_received = peer->bytes;
    stats.packets_rejected = peer->rejected;
    stats.packets_lost = peer->statistics.cumulative_lost();
    stats.jitter_ms = peer->statistics.jitter_rtp() * 1000.0 / RtpClockRate(config_.engine);
    stats.target_delay_ms = peer->engine.target_delay_ms();
    stats.buffered_ms = peer->engine.buffered_ms();
    stats.level_dbov = peer->level_dbov;
    stats.playout = peer->engine.stats();
    result.push_back(std::move(stats));
  }
  return result;
}

}  // namespace parley::client
