// The relay's forwarding table: which source address belongs to which participant of
// which room, and where each RTP/RTCP packet goes. No sockets here (media_loop.h owns
// the socket), so every rule is testable with plain byte arrays.
//
// Per datagram, Route() decides, by the first byte (RFC 7983):
//
//   0x0E         hello (hello.h), refused unless its participant id is known and its
//                secret equal (checked before any cookie work). From the address latched
//                for that participant: acked (keep-alive). From any other address: a
//                hello-challenge with a cookie for that address goes back
//                (hello_cookie.h), and nothing is latched; only a hello-with-cookie
//                whose cookie the relay made for that address, in this or the previous
//                cookie epoch, latches it (or moves the latch there: NAT rebinding, the
//                old address forgotten at once) and is acked.
//   128..191     RTP or RTCP (version 2), told apart by RFC 5761: the second byte's low 7
//                bits in 64..95 (packet types 192..223) is RTCP. Accepted only from a
//                latched address, only with the participant's own SSRC (RTP: offset 8;
//                RTCP: the sender SSRC at offset 4), and RTP only from a participant with
//                the publish right. RTP is forwarded unchanged to every other latched
//                participant of the room with the subscribe right. RTCP is terminated:
//                read for the link's figures and never forwarded; the relay sends each
//                participant reports of its own (rtcp_terminator.h), emitted by Tick.
//                In an SRTP room (below) RTCP is SRTCP both ways.
//   anything     dropped and counted (DropReason). Media is sent only to addresses that
//                have shown a join secret and echoed a cookie sent to them, and the only
//                answers to a datagram are an ack or a challenge no longer than it: no
//                reflection of media, no amplification.
//
// The relay checks only what forwarding needs (version, length, SSRC); payloads,
// header extensions and SRTP authentication tags pass through untouched.
//
// SRTP rooms (AddParticipant with the room's key; every participant of a room passes the
// same key, or none). RTP is forwarded as it is: the relay does not decrypt it. RTCP is
// SRTCP: a participant's compound is authenticated and decrypted (in a copy) with the
// room's inbound session before it is read; one that fails (tag, replay, too short,
// over 2048 bytes) is counted (rtcp_undecryptable) and ignored. The relay's reports are
// protected as SRTCP with ONE outbound session per room, never one per participant:
// SRTCP's keystream depends on the key, the SSRC of the compound's first packet (the
// relay's RR: relay_ssrc()) and the SRTCP index, and all members share the key, so one
// index sequence for relay_ssrc() per room is what keeps every report's keystream
// distinct. For the same reason no participant of an SRTP room may send with
// relay_ssrc() (its SRTCP would reuse the relay's keystream): AddParticipant refuses it.
// A report that cannot be protected is not sent (rtcp_protect_failures): an SRTP room
// never gets RTCP in the clear. A participant's stream in the inbound session is
// forgotten when it is removed (rtp::SrtpInboundSession::RemoveSsrc), the room's
// sessions with the room. The index has 31 bits: 2^31 reports per room, two years of a
// 32-member room at one report per member per second.
//
// Threading. Two sides, one thread each:
// - control (the signaling thread): AddParticipant, RemoveParticipant,
//   participant_counters. Validates against its own bookkeeping (may allocate), then
//   posts a fixed-size command into a lock-free single-producer/single-consumer queue
//   (spsc_queue.h). Calls must be serialised by the caller.
// - media (the thread that owns the socket): ApplyPendingCommands between batches,
//   Route per datagram. The tables it reads are its own, so a packet takes no lock and
//   never waits for the control side; a command takes effect at the next
//   ApplyPendingCommands.
// - counters(), link_histograms(): any thread. Counters are std::atomic<uint64_t> with one writer
// (the
//   media thread), updated with relaxed load + store (no locked read-modify-write on the
//   packet path) and read with relaxed loads: each value is exact and never torn, the
//   set is not one consistent instant.
//
// Memory: every table is sized from Config at construction; ApplyPendingCommands and
// Route never allocate, but for a hello answered with a challenge or carrying a cookie:
// its HMAC allocates inside OpenSSL (hello_cookie.h), and in SRTP rooms: libsrtp
// allocates a room's two sessions when its first participant's addition is applied, and
// a stream per SSRC the first time it is used (a participant's first authentic SRTCP,
// the room's first report); removals free them. RTP, RTCP, keep-alive hellos and
// refused hellos allocate nothing.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "parley/base/clock.h"
#include "parley/base/result.h"
#include "parley/net/udp_socket.h"
#include "parley/relay/hello.h"
#include "parley/relay/hello_cookie.h"
#include "parley/relay/rtcp_terminator.h"
#include "parley/rtp/srtp_session.h"

namespace parley::relay {

// What a participant may do with media, from its join token.
struct Rights {
  bool publish = true;    // its RTP is forwarded
  bool subscribe = true;  // it receives the others' RTP
};

// Why a datagram was not forwarded.
enum class DropReason : uint8_t {
  kTooShort,            // RTP < 12 bytes, RTCP < 8 bytes (or empty)
  kNotRtp,              // first byte neither a hello nor RTP/RTCP version 2 (STUN, DTLS...)
  kBadHello,            // starts like a hello but malformed, or a hello-ack sent to the relay
  kUnknownParticipant,  // well-formed hello for a participant id the relay does not have
  kBadSecret,           // well-formed hello whose secret is not the participant's
  kBadCookie,           // hello-with-cookie (right secret) whose cookie is not valid for its
                        // source address now: stale, for another address, or forged
  kUnknownSource,       // RTP/RTCP from an address no participant has latched
  kSsrcMismatch,        // from a latched address, but another SSRC than the participant's
  kNotPublisher,        // RTP from a participant without the publish right
  kRoomEmpty,           // valid, but no other latched participant could receive it
};
inline constexpr size_t kDropReasonCount = 10;

// "too_short", "not_rtp", "bad_hello", "unknown_participant", "bad_secret", "bad_cookie",
// "unknown_source", "ssrc_mismatch", "not_publisher", "room_empty": metric labels.
std::string_view DropReasonName(DropReason reason);

enum class RouteAction : uint8_t {
  kForwarded,   // RTP/RTCP sent on to `copies` participants
  kHelloAcked,  // a hello latched (or confirmed) its address; one ack emitted
  kChallenged,  // a valid hello from an address not latched to it; one challenge emitted
  kTerminated,  // RTCP read by the relay (rtcp_terminator.h), not forwarded
  kDropped,     // see `reason`
};

struct RouteResult {
  RouteAction action = RouteAction::kDropped;
  // Meaningful for kDropped, and for kChallenged when it is kBadCookie (a hello-with-cookie
  // whose cookie was refused, answered with a fresh challenge).
  DropReason reason = DropReason::kNotRtp;
  uint32_t copies = 0;  // datagrams emitted
};

// Where Route() puts the datagrams to send. `payload` points into the datagram given to
// Route() (forwarding) or into the router (an ack, valid until the next
// ApplyPendingCommands; a challenge, valid for the next 127 challenges, more than one
// receive batch can make): keep the span, not a copy, until the batch is sent.
class OutputSink {
 public:
  virtual ~OutputSink() = default;
  virtual void Emit(std::span<const uint8_t> payload, const net::SocketAddress& to) = 0;
};

// Sees every RTP packet the router accepts (right address, SSRC and publish right), before
// it is forwarded, whether or not anyone receives it: the relay's recorder
// (recording.h) reads the room's media here. Called on the media thread, once per packet:
// it must not block, lock or allocate; `packet` is valid only during the call.
class RtpTap {
 public:
  virtual ~RtpTap() = default;
  virtual void OnRtp(uint32_t room_id, uint32_t participant_id, std::span<const uint8_t> packet,
                     Clock::TimePoint arrival) = 0;
};

// One participant's traffic since it was added (a re-added id starts from 0).
struct ParticipantCounters {
  uint64_t packets_in = 0;       // datagrams from its latched address, hellos included
  uint64_t bytes_in = 0;         // UDP payload bytes
  uint64_t packets_out = 0;      // datagrams sent to it: forwarded media and acks
  uint64_t bytes_out = 0;        // UDP payload bytes
  uint64_t packets_dropped = 0;  // of packets_in: refused (SSRC, rights, nobody to receive)
  uint64_t latches = 0;          // addresses latched: 1 after its first hello-with-cookie,
                                 // +1 per move (challenges are counted by the router only)
};

// The router's totals since construction.
struct RouterCounters {
  std::array<uint64_t, kDropReasonCount> dropped{};  // indexed by DropReason
  uint64_t rtp_forwarded = 0;   // RTP packets accepted and sent on (each counted once)
  uint64_t rtcp_received = 0;   // RTCP packets accepted and read (terminated, not forwarded)
  uint64_t rtcp_malformed = 0;  // of rtcp_received: broken framing, ignored
  // Of rtcp_received, SRTP rooms: SRTCP that failed authentication, the replay check or
  // unprotecting (tampered, another key, plain RTCP), ignored.
  uint64_t rtcp_undecryptable = 0;
  uint64_t rtcp_reports_sent = 0;  // compound reports the relay sent participants
  // SRTP rooms: reports written but not sent because SRTCP protection failed.
  uint64_t rtcp_protect_failures = 0;
  uint64_t hellos_acked = 0;
  uint64_t hellos_challenged = 0;  // challenges sent (first latches, moves, forgeries)
  uint64_t copies_out = 0;         // datagrams emitted, acks and challenges included
  uint64_t bytes_out = 0;

  uint64_t dropped_for(DropReason reason) const { return dropped[static_cast<size_t>(reason)]; }
  uint64_t dropped_total() const;
};

struct MediaRouterConfig {
  // Participants across all rooms at once; sizes every table (a few hundred bytes each).
  // 4096: 1,000 rooms of 3 with room to spare. 1..2^24.
  size_t max_participants = 4096;
  // Participants in one room. Each RTP packet costs one send per other member, so this
  // bounds a sender's fan-out. 32: a large voice conference. 1..max_participants.
  size_t max_participants_per_room = 32;
  // Commands the control side may post before the media thread applies them; beyond it
  // Add/RemoveParticipant fail (retry later). 1024: a burst of joins between two
  // batches. > 0.
  size_t command_queue_capacity = 1024;
  // Length of a hello-cookie epoch (hello_cookie.h): a cookie is accepted for at least
  // this long and at most twice this long after its challenge was sent, by the time of
  // the batch (Tick). 10 s: far beyond a round trip plus the client's resend interval,
  // short enough that a cookie seen on the path soon expires. > 0.
  std::chrono::milliseconds cookie_lifetime{10'000};
  // The key of the cookies' HMAC. nullopt (the default): 32 random bytes drawn at
  // construction, never shown. Set it only for reproducible tests and fuzzing.
  std::optional<HelloCookieKey> cookie_key{};
  // The relay's end of RTCP: report interval, SSRC, CNAME (rtcp_terminator.h).
  RtcpTerminatorConfig rtcp{};
};

class MediaRouter {
 public:
  using Config = MediaRouterConfig;

  // Throws std::invalid_argument when `config` breaks a documented range (API misuse).
  explicit MediaRouter(const Config& config = {});
  ~MediaRouter();
  MediaRouter(const MediaRouter&) = delete;
  MediaRouter& operator=(const MediaRouter&) = delete;

  // --- Control side ---------------------------------------------------------------------

  // Adds a participant to `room_id` (created on its first participant). It can latch an
  // address with a hello carrying `participant_id` and `secret` once the media thread
  // has applied the command. Error (nothing changes): the id is already present, `ssrc`
  // is already used in that room, the relay or the room is full, or the command queue is
  // full.
  // `clock_rate_hz` is the RTP clock of its stream (its first codec), for the jitter and
  // the timestamps of RTCP (1..1000000; outside: an error).
  // `srtp`: the room's SRTP master key and salt (above, "SRTP rooms"); the first
  // participant's addition fixes it for the room's lifetime. Error too: a key that is not
  // the room's (or one for a room without, none for a room with), or, with a key, `ssrc`
  // equal to relay_ssrc().
  [[nodiscard]] Status AddParticipant(uint32_t room_id, uint32_t participant_id, uint32_t ssrc,
                                      const JoinSecret& secret, Rights rights = {},
                                      uint32_t clock_rate_hz = 48000,
                                      const std::optional<rtp::SrtpKeyMaterial>& srtp = {});
  // Removes a participant; its address is unlatched when the media thread applies it,
  // and its room disappears with its last participant. Error: unknown id, or the command
  // queue is full (nothing changes).
  [[nodiscard]] Status RemoveParticipant(uint32_t participant_id);
  // A participant's counters; nullopt for an id not present. All zero until the media
  // thread has applied its addition.
  std::optional<ParticipantCounters> participant_counters(uint32_t participant_id) const;
  // A participant's link as RTCP measured it (rtcp_terminator.h); nullopt for an id not
  // present, all unmeasured until the media thread has applied its addition.
  std::optional<LinkStats> link_stats(uint32_t participant_id) const;
  // Participants and rooms as the control side sees them (including commands not yet
  // applied).
  size_t participant_count() const;
  size_t room_count() const;

  // --- Media side -----------------------------------------------------------------------

  // Applies every command posted so far, in order. Returns how many. Call between
  // batches: it may invalidate acks emitted before it.
  size_t ApplyPendingCommands();
  // The time of the batch about to be routed (read once per batch by the media loop:
  // arrival times of the packets, RTCP timing), and the moment to emit the RTCP reports
  // that are due into `sink` (rtcp_terminator.h). Call after ApplyPendingCommands and
  // before the batch's Route calls; times never go backwards. Its cost grows with the
  // participants present, not with max_participants: the report scan (every 10 ms) walks
  // only theirs, in slot order.
  void Tick(Clock::TimePoint now, Clock::WallTime wall_now, OutputSink& sink);
  // Installs the tap that sees accepted RTP (nullptr: none). Call before the media
  // thread starts; `tap` must outlive the router's use of it.
  void SetRtpTap(RtpTap* tap);
  // Decides where `data[0..size)`, received from `from`, goes, and emits the datagrams
  // to send into `sink`. Never fails: a datagram is forwarded, acked, challenged or
  // dropped.
  RouteResult Route(const uint8_t* data, size_t size, const net::SocketAddress& from,
                    OutputSink& sink);
  // The address latched for a participant; nullopt when none is (or the id is not
  // present). Media side.
  std::optional<net::SocketAddress> latched_address(uint32_t participant_id) const;

  // --- Any thread ------------------------------------------------------------------------

  RouterCounters counters() const;
  // Loss, jitter and RTT over every link since construction.
  const LinkHistograms& link_histograms() const;
  // The relay's SSRC in its RTCP, the same in every room (RtcpTerminatorConfig).
  uint32_t relay_ssrc() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::relay
