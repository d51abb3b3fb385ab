// The relay's forwarding table: which source address belongs to which participant of
// which room, and where each RTP/RTCP packet goes. No sockets here (media_loop.h owns
// the socket), so every rule is testable with plain byte arrays.
//
// Per datagram, Route() decides, by the first byte (RFC 7983):
//
//   0x0E         hello (hello.h): participant id known, secret equal -> the source
//                address is latched to that participant, a hello-ack goes back to it.
//                A later valid hello from another address moves the latch there (NAT
//                rebinding); the old address is forgotten at once.
//   128..191     RTP or RTCP (version 2), told apart by RFC 5761: the second byte's low 7
//                bits in 64..95 (packet types 192..223) is RTCP. Accepted only from a
//                latched address, only with the participant's own SSRC (RTP: offset 8;
//                RTCP: the sender SSRC at offset 4), and RTP only from a participant with
//                the publish right. Forwarded unchanged to every other latched
//                participant of the room: RTP to those with the subscribe right, RTCP to
//                all (receiver reports must reach publishers from listen-only members).
//   anything     dropped and counted (DropReason). Nothing is ever sent to an address
//                that has not shown a join secret, and the only answer to a datagram is
//                an ack of the same size: no reflection, no amplification.
//
// The relay checks only what forwarding needs (version, length, SSRC); payloads,
// header extensions and SRTP authentication tags pass through untouched.
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
// - counters(): any thread. Counters are std::atomic<uint64_t> with one writer (the
//   media thread), updated with relaxed load + store (no locked read-modify-write on the
//   packet path) and read with relaxed loads: each value is exact and never torn, the
//   set is not one consistent instant.
//
// Memory: every table is sized from Config at construction; Route and
// ApplyPendingCommands never allocate.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "parley/base/result.h"
#include "parley/net/udp_socket.h"
#include "parley/relay/hello.h"

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
  kUnknownSource,       // RTP/RTCP from an address no participant has latched
  kSsrcMismatch,        // from a latched address, but another SSRC than the participant's
  kNotPublisher,        // RTP from a participant without the publish right
  kRoomEmpty,           // valid, but no other latched participant could receive it
};
inline constexpr size_t kDropReasonCount = 9;

// "too_short", "not_rtp", "bad_hello", "unknown_participant", "bad_secret",
// "unknown_source", "ssrc_mismatch", "not_publisher", "room_empty": metric labels.
std::string_view DropReasonName(DropReason reason);

enum class RouteAction : uint8_t {
  kForwarded,   // RTP/RTCP sent on to `copies` participants
  kHelloAcked,  // a hello latched (or confirmed) its address; one ack emitted
  kDropped,     // see `reason`
};

struct RouteResult {
  RouteAction action = RouteAction::kDropped;
  DropReason reason = DropReason::kNotRtp;  // meaningful for kDropped only
  uint32_t copies = 0;                      // datagrams emitted
};

// Where Route() puts the datagrams to send. `payload` points into the datagram given to
// Route() (forwarding) or into the router (an ack, valid until the next
// ApplyPendingCommands): keep the span, not a copy, until the batch is sent.
class OutputSink {
 public:
  virtual ~OutputSink() = default;
  virtual void Emit(std::span<const uint8_t> payload, const net::SocketAddress& to) = 0;
};

// One participant's traffic since it was added (a re-added id starts from 0).
struct ParticipantCounters {
  uint64_t packets_in = 0;       // datagrams from its latched address, hellos included
  uint64_t bytes_in = 0;         // UDP payload bytes
  uint64_t packets_out = 0;      // datagrams sent to it: forwarded media and acks
  uint64_t bytes_out = 0;        // UDP payload bytes
  uint64_t packets_dropped = 0;  // of packets_in: refused (SSRC, rights, nobody to receive)
  uint64_t latches = 0;          // addresses latched: 1 after its first hello, +1 per move
};

// The router's totals since construction.
struct RouterCounters {
  std::array<uint64_t, kDropReasonCount> dropped{};  // indexed by DropReason
  uint64_t rtp_forwarded = 0;   // RTP packets accepted and sent on (each counted once)
  uint64_t rtcp_forwarded = 0;  // RTCP packets accepted and sent on
  uint64_t hellos_acked = 0;
  uint64_t copies_out = 0;  // datagrams emitted, acks included
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
  [[nodiscard]] Status AddParticipant(uint32_t room_id, uint32_t participant_id, uint32_t ssrc,
                                      const JoinSecret& secret, Rights rights = {});
  // Removes a participant; its address is unlatched when the media thread applies it,
  // and its room disappears with its last participant. Error: unknown id, or the command
  // queue is full (nothing changes).
  [[nodiscard]] Status RemoveParticipant(uint32_t participant_id);
  // A participant's counters; nullopt for an id not present. All zero until the media
  // thread has applied its addition.
  std::optional<ParticipantCounters> participant_counters(uint32_t participant_id) const;
  // Participants and rooms as the control side sees them (including commands not yet
  // applied).
  size_t participant_count() const;
  size_t room_count() const;

  // --- Media side -----------------------------------------------------------------------

  // Applies every command posted so far, in order. Returns how many. Call between
  // batches: it may invalidate acks emitted before it.
  size_t ApplyPendingCommands();
  // Decides where `data[0..size)`, received from `from`, goes, and emits the datagrams
  // to send into `sink`. Never fails: a datagram is forwarded, acked or dropped.
  RouteResult Route(const uint8_t* data, size_t size, const net::SocketAddress& from,
                    OutputSink& sink);
  // The address latched for a participant; nullopt when none is (or the id is not
  // present). Media side.
  std::optional<net::SocketAddress> latched_address(uint32_t participant_id) const;

  // --- Any thread ------------------------------------------------------------------------

  RouterCounters counters() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::relay
