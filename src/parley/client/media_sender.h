// What a participant sends: an audio file turned into a paced RTP stream.
//
//   WAV (any rate libsndfile reads) ─> mono ─> resample to the profile's rate ─> Opus ─┐
//   Ogg Opus file ─> its packets as they are (no re-encoding) ─────────────────────────┴─>
//     RTP (SSRC, sequence, timestamp; RFC 2198 RED when the profile asks for it)
//     ─> one packet per frame when the injected clock says it is due
//     ─> SRTP (when SendDue is given a session) ─> UdpSocket
//
// Pacing: Start(t0) anchors the schedule; packet k is due at t0 plus the media time of
// the packets before it (20 ms each for the "good" profile: 50 packets/s). Nothing sleeps
// here: the caller asks PacketsDue(now) and takes that many with NextPacket(), or lets
// SendDue() do both. A caller that wakes late gets the missed packets at once, up to
// max_burst_packets; beyond that the oldest are skipped (counted; their media time and
// RTP timestamps pass as for a live source, so the receiver sees a gap, not a time warp).
//
// Looping (Config::loop): the file restarts seamlessly (PCM wraps sample by sample; Ogg
// restarts at its first packet) and sequence numbers and timestamps keep counting, so the
// receiver sees one continuous stream. Sent once, a PCM file's last frame is padded with
// silence; finished() then becomes true.
//
// Memory: the file is decoded into memory at Open (mono, at the encoder's rate: 1.9 MB
// per minute at 16 kHz), so the media path never touches the disk. Per packet: no
// allocation.
//
// Threading: one thread at a time. Not copyable.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "parley/audio/audio_frame.h"
#include "parley/base/clock.h"
#include "parley/base/result.h"
#include "parley/codec/codec.h"
#include "parley/net/udp_socket.h"
#include "parley/quality/profile.h"
#include "parley/rtp/srtp_session.h"

namespace parley::client {

class RtcpSession;  // rtcp_session.h

// Room for any packet the sender writes: RTP header, RED headers and up to 4 frames.
inline constexpr size_t kMaxRtpPacketBytes = 8192;

struct MediaSenderConfig {
  // Profile of the encoder (quality/profile.h): "studio", "excellent", "good",
  // "degraded", "critical". Ignored for an Ogg Opus file, whose packets are sent as they are.
  std::string profile = "good";
  // RTP identity. Callers draw SSRC, first sequence number and first timestamp at random
  // (RFC 3550 5.1) so streams cannot be confused or predicted.
  uint32_t ssrc = 0;
  uint16_t first_sequence = 0;
  uint32_t first_timestamp = 0;
  int payload_type = 111;     // Opus's usual dynamic binding; 96..127
  int red_payload_type = 63;  // RFC 2198 RED, when the profile has red_blocks > 0; 0..127
  bool loop = false;          // restart the file at its end, forever
  // Most packets one SendDue() call sends when it is late; older due packets are skipped.
  // 10: 200 ms of 20 ms packets, what a jitter buffer absorbs as one burst. >= 1.
  int max_burst_packets = 10;
};

struct MediaSenderStats {
  uint64_t packets_produced = 0;  // written by NextPacket (SendDue included)
  uint64_t packets_sent = 0;      // of those, accepted by the socket in SendDue
  uint64_t bytes_sent = 0;        // datagram bytes of the packets sent (SRTP: tag included)
  uint64_t packets_skipped = 0;   // due but skipped: caller too late, or media path not ready
  uint64_t send_errors = 0;       // refused by the socket (e.g. its buffer was full)
  uint64_t protect_failures = 0;  // SRTP: refused by libsrtp (never sent in the clear)
  uint64_t loops = 0;             // times the file restarted
  std::chrono::nanoseconds media_time{0};  // of the packets produced or skipped
};

class MediaSender {
 public:
  using Config = MediaSenderConfig;

  // Opens `path`: an Ogg Opus file (recognised by its first page, whatever the name) or
  // anything libsndfile reads. Error: unreadable file, no audio, an unknown profile, a
  // sample rate the resampler does not take, a payload type out of range.
  [[nodiscard]] static Result<std::unique_ptr<MediaSender>> OpenFile(const std::string& path,
                                                                     const Config& config);
  // Sends `audio` (any channel count and supported rate) as a file would be sent.
  [[nodiscard]] static Result<std::unique_ptr<MediaSender>> FromAudio(
      const audio::AudioFrame& audio, const Config& config);
  ~MediaSender();
  MediaSender(const MediaSender&) = delete;
  MediaSender& operator=(const MediaSender&) = delete;

  // Anchors the schedule: the next packet is due at `now`. Calling it again re-anchors
  // (the stream continues where it was).
  void Start(Clock::TimePoint now);
  bool started() const { return started_; }
  // True once a file sent once has produced (or skipped) its last packet.
  bool finished() const;

  // Packets due at `now` not yet produced or skipped: 0 before Start() and once finished.
  int64_t PacketsDue(Clock::TimePoint now) const;
  // When the next packet is due; nullopt before Start() and once finished.
  std::optional<Clock::TimePoint> next_due() const;

  // Writes the next packet into `out` (kMaxRtpPacketBytes is always enough) and returns
  // its size, whether or not it is due. Error: the encoder failed or `out` is too small
  // (nothing advances then). Throws std::logic_error when finished() (API misuse).
  [[nodiscard]] Result<size_t> NextPacket(std::span<uint8_t> out);
  // Passes over the next packet without producing it (counted in packets_skipped).
  // Throws std::logic_error when finished().
  void SkipPacket();
  // Skips every packet due at `now`; returns how many. For a media path not ready yet.
  int64_t SkipDue(Clock::TimePoint now);

  // Sends every packet due at `now` to `to` (at most max_burst_packets; older ones are
  // skipped). Returns the packets the socket accepted, each also told to `rtcp` when
  // given (its SR counts and RTP clock). With `srtp`, each packet is protected in place
  // (SRTP, the tag appended; no allocation but libsrtp's stream on the first packet)
  // before it is sent; one that libsrtp refuses is counted in protect_failures and not
  // sent. A datagram the socket refuses is counted in send_errors and dropped, as a live
  // stream would; an Error only when the encoder fails.
  [[nodiscard]] Result<int> SendDue(Clock::TimePoint now, net::UdpSocket& socket,
                                    const net::SocketAddress& to, RtcpSession* rtcp = nullptr,
                                    rtp::SrtpOutboundSession* srtp = nullptr);

  const MediaSenderStats& stats() const { return stats_; }
  const Config& config() const { return config_; }
  uint32_t ssrc() const { return config_.ssrc; }
  // Duration of one pass through the file.
  std::chrono::nanoseconds file_duration() const;
  // Sequence number and RTP timestamp of the next packet.
  uint16_t next_sequence() const { return sequence_; }
  uint32_t next_timestamp() const { return timestamp_; }
  // RTP clock of the stream (48000 for Opus).
  int rtp_clock_rate_hz() const;

 private:
  struct Source;
  MediaSender(const Config& config, std::unique_ptr<Source> source);
  // Media time of the next packet.
  std::chrono::nanoseconds NextDuration() const;
  void Advance(bool produced);

  // Passed by argument.
  const Config config_;
  // Allocated by this.
  std::unique_ptr<Source> source_;
  // A packet and the tail room SRTP protection needs.
  std::array<uint8_t, kMaxRtpPacketBytes + rtp::kSrtpMaxRtpOverheadBytes> packet_{};
  // Others.
  MediaSenderStats stats_;
  Clock::TimePoint start_{};
  std::chrono::nanoseconds scheduled_{0};  // media time from start_ to the next packet
  uint16_t sequence_;
  uint32_t timestamp_;
  bool started_ = false;
  bool first_packet_ = true;       // marker bit (RFC 3551 4.1: start of a talkspurt)
  size_t last_payload_bytes_ = 0;  // of the packet NextPacket wrote last
};

}  // namespace parley::client
