// What a participant hears: every peer's RTP stream in its own playout engine, pulled
// every 10 ms and mixed.
//
//   datagram ─> neither RTP nor RTCP (hello-acks, noise) ──> counted, dropped
//             ─> SRTP session set (SetSrtp): SRTCP / SRTP unprotected first (in a copy);
//                one that fails authentication or the replay check ──> counted, dropped
//             ─> RTCP ──> the RtcpSession when one is given (dropped otherwise); counted
//             ─> RTP ─┬─ own SSRC ──> dropped (a participant never hears itself)
//                     └─ SSRC ──> that peer's PlayoutEngine (created on its first packet),
//                                 and the RtcpSession's statistics of that SSRC
//   Pull10ms: each engine's 10 ms block, summed with saturation ──> out, and the MixSink
//
// Peers: at most max_peers streams at once (each engine holds its buffers and decoder);
// a packet of a new SSRC beyond that is dropped and counted. A peer that sent nothing for
// peer_timeout is removed (its slot freed); RemovePeer() removes one at once (the relay
// said it left). SetPeerIdentity() names a stream for the statistics.
//
// Each engine is parley's adaptive jitter buffer (playout/playout_engine.h) with Opus at
// payload type 111 and RED at 63 by default; its W3C statistics are the peer's.
//
// Threading: not thread-safe; one thread (or the caller's lock) calls everything. Per
// packet and per block: no allocation, except when a peer's engine is created (and, with
// SRTP, libsrtp's stream for an SSRC heard for the first time).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "parley/audio/mix_limiter.h"
#include "parley/base/clock.h"
#include "parley/base/result.h"
#include "parley/playout/playout_engine.h"
#include "parley/rtp/receive_statistics.h"
#include "parley/rtp/srtp_session.h"

namespace parley::client {

class RtcpSession;  // rtcp_session.h

// Receives the mixed audio: one 10 ms mono block per Pull10ms, valid during the call.
class MixSink {
 public:
  virtual ~MixSink() = default;
  virtual void OnMix(std::span<const int16_t> block) = 0;
};

struct MediaReceiverConfig {
  // The participant's own SSRC: its packets (echoed by a misconfigured relay, or looped
  // back) are never played.
  uint32_t own_ssrc = 0;
  // Streams played at once. 16: the relay's default room size less oneself.
  // 1..session::kMaxRoomParticipants.
  size_t max_peers = 16;
  // A peer silent this long is removed. 30 s: far beyond any network outage a call rides
  // out, short enough that a departed peer's slot comes back. > 0.
  std::chrono::milliseconds peer_timeout{30000};
  // Per-peer engine; output must be mono (channels 1). Its bindings default to Opus at
  // 111; RED at 63 matches MediaSenderConfig::red_payload_type.
  playout::PlayoutEngineConfig engine = DefaultEngineConfig();

  static playout::PlayoutEngineConfig DefaultEngineConfig() {
    playout::PlayoutEngineConfig config;
    config.red_payload_type = 63;
    return config;
  }
};

// One peer's stream as received and played.
struct PeerStats {
  uint32_t ssrc = 0;
  std::string identity;           // from SetPeerIdentity; empty when unknown
  uint64_t packets_received = 0;  // RTP packets given to its engine
  uint64_t bytes_received = 0;
  uint64_t packets_rejected = 0;  // the engine refused them (unknown payload type, bad payload)
  // RFC 3550 A.3 cumulative loss (negative: duplicates) and A.8 interarrival jitter.
  int64_t packets_lost = 0;
  double jitter_ms = 0;
  double target_delay_ms = 0;  // the engine's target now
  double buffered_ms = 0;      // decoded plus buffered audio now
  int level_dbov = 127;        // RFC 6464 level of its last 10 ms block played (127: silence)
  playout::PlayoutStatistics playout;  // W3C inbound-rtp audio counters
};

struct ReceiverCounters {
  uint64_t datagrams = 0;     // given to OnDatagram
  uint64_t rtp_packets = 0;   // RTP given to a peer's engine
  uint64_t rtcp_packets = 0;  // RTCP: to the RtcpSession, or dropped without one
  uint64_t own_ssrc = 0;      // RTP with the own SSRC, dropped
  uint64_t not_rtp = 0;       // neither RTP nor RTCP (hello-acks, STUN, noise), dropped
  uint64_t malformed = 0;     // RTP version but not a valid RTP packet, dropped
  // SRTP on: SRTP or SRTCP that failed authentication, the replay check or unprotecting
  // (the session's stats say which), or above 2048 bytes, dropped.
  uint64_t undecryptable = 0;
  uint64_t peers_refused = 0;  // packets of a new SSRC beyond max_peers, dropped
  uint64_t peers_created = 0;
  uint64_t peers_removed = 0;   // by RemovePeer or the idle timeout
  uint64_t blocks_mixed = 0;    // Pull10ms calls
  uint64_t limited_blocks = 0;  // 10 ms mixes turned down to fit 16 bits (audio/mix_limiter.h)
};

class MediaReceiver {
 public:
  using Config = MediaReceiverConfig;

  // What OnDatagram did with a datagram.
  enum class Verdict { kPlayed, kRtcp, kOwnSsrc, kNotRtp, kMalformed, kRefused, kUndecryptable };

  // `clock` (arrival times of packets), `sink` and `rtcp` (each may be null) must outlive
  // the receiver. `rtcp` gets every RTCP datagram and every RTP packet given to a peer's
  // engine. Throws std::invalid_argument for a Config outside its documented ranges or an
  // engine config the PlayoutEngine refuses.
  MediaReceiver(const Clock& clock, Config config, MixSink* sink = nullptr,
                RtcpSession* rtcp = nullptr);
  ~MediaReceiver();
  MediaReceiver(const MediaReceiver&) = delete;
  MediaReceiver& operator=(const MediaReceiver&) = delete;

  // A datagram that arrived now (clock.Now()). Never fails: the verdict says what became
  // of it, and the counters count it.
  Verdict OnDatagram(std::span<const uint8_t> datagram);

  // From now on every RTP/RTCP datagram is SRTP/SRTCP, unprotected with `srtp` before it
  // is read (a datagram that is not is undecryptable). nullptr: plain RTP and RTCP again.
  // `srtp` is not owned and must outlive its use; the caller replaces it (a new key) by
  // calling this again.
  void SetSrtp(rtp::SrtpInboundSession* srtp) { srtp_ = srtp; }

  // Writes the next 10 ms of the mix into `out` (block_frames() mono samples) and hands it
  // to the sink. Silence when nobody is there. Removes peers idle for peer_timeout first.
  // Throws std::invalid_argument when `out` has the wrong size (API misuse).
  void Pull10ms(std::span<int16_t> out);

  // Forgets the stream of `ssrc` (the relay said the peer left). False when unknown.
  bool RemovePeer(uint32_t ssrc);
  // Names the stream of `ssrc` in the statistics; remembered for an SSRC not heard yet.
  void SetPeerIdentity(uint32_t ssrc, std::string identity);

  // Every peer's statistics (allocates: for reporting, not for the 10 ms path).
  std::vector<PeerStats> peer_stats();
  size_t peer_count() const { return peers_.size(); }
  const ReceiverCounters& counters() const { return counters_; }
  int block_frames() const { return block_frames_; }
  int output_rate_hz() const { return config_.engine.output_rate_hz; }

 private:
  struct Peer;
  Peer* FindPeer(uint32_t ssrc);
  std::string TakeIdentity(uint32_t ssrc);

  // Passed by argument.
  const Clock& clock_;
  const Config config_;
  MixSink* const sink_;
  RtcpSession* const rtcp_;
  // Allocated by this.
  std::vector<std::unique_ptr<Peer>> peers_;
  std::vector<int32_t> accumulator_;
  audio::MixLimiter limiter_;
  std::vector<std::pair<uint32_t, std::string>> pending_identities_;
  std::vector<uint8_t> plain_;  // SRTP: where a datagram is unprotected
  // Others.
  rtp::SrtpInboundSession* srtp_ = nullptr;
  const int block_frames_;
  ReceiverCounters counters_;
};

}  // namespace parley::client
