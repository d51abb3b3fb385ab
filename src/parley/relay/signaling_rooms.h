// What the relay's signaling server does with its clients' messages, without sockets:
// joins (token, identity, limits, the router's media path), leaves, rooms, refusals and
// counters. The WebSocket server (signaling_server.h, which documents the protocol and
// the refusals) owns one and hands it every connection's frames; tests and the fuzzer
// drive it with connections of their own (SignalingPeer).
//
//   SignalingPeer (a connection) ──text/binary frame──> SignalingRooms ──> MediaRouter
//          ^                                                  │          (Add/Remove)
//          └───── Send(joined | error | peer_joined | peer_left), Close(code) ──┘
//
// Threading: not thread-safe; one thread (the server's) calls everything, and that thread
// is the router's control side.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "parley/base/clock.h"
#include "parley/base/log.h"
#include "parley/net/udp_socket.h"
#include "parley/relay/media_router.h"
#include "parley/rtp/srtp_session.h"
#include "parley/session/relay_config.h"
#include "parley/session/signaling.h"
#include "parley/session/token.h"

namespace parley::relay {

// session::ErrorCode and session::TokenError values, as array indices.
inline constexpr size_t kErrorCodeCount = static_cast<size_t>(session::ErrorCode::kInternal) + 1;
inline constexpr size_t kTokenErrorCount = static_cast<size_t>(session::TokenError::kExpired) + 1;

// Media of participants, summed over those present and those gone (MediaRouter's
// ParticipantCounters). A departed participant's last packets, between the relay's last
// look at its counters and its removal taking effect on the media thread, are not counted.
struct ParticipantTraffic {
  uint64_t packets_in = 0;
  uint64_t bytes_in = 0;
  uint64_t packets_out = 0;
  uint64_t bytes_out = 0;
  uint64_t packets_dropped = 0;
};

// The server's totals since Start, and its state now.
struct SignalingStats {
  uint64_t connections_accepted = 0;  // TCP connections accepted
  uint64_t connections_refused = 0;   // closed at once: max_connections were open
  uint64_t handshake_failures = 0;    // TLS or WebSocket handshake failed or timed out
  size_t connections_open = 0;        // accepted and not yet closed
  uint64_t joins = 0;                 // participants admitted
  uint64_t leaves = 0;                // participants removed (leave or connection closed)
  std::array<uint64_t, kErrorCodeCount> errors{};           // error messages sent, by code
  std::array<uint64_t, kTokenErrorCount> token_refusals{};  // joins refused, by TokenError
  uint64_t oversized_messages = 0;  // connections closed for a frame above 16 KiB
  size_t rooms = 0;
  size_t participants = 0;
  ParticipantTraffic traffic;

  uint64_t errors_for(session::ErrorCode code) const { return errors[static_cast<size_t>(code)]; }
  uint64_t token_refusals_for(session::TokenError error) const {
    return token_refusals[static_cast<size_t>(error)];
  }
};

// A participant the server admitted, as components that follow rooms (the recorder,
// recording.h) need to know it.
struct AdmittedParticipant {
  uint32_t room_id = 0;  // the router's id of the room
  std::string room;      // its name (a name, validation.h)
  int64_t session_start_unix_ms = 0;
  uint32_t participant_id = 0;
  std::string identity;  // the token's identity
  uint32_t ssrc = 0;
  Rights rights;
  std::vector<session::CodecCapability> codecs;  // from the join's capabilities
  std::optional<session::SrtpInfo> srtp;         // the room's key when SRTP is on
};

// Told of every admission and removal. Called on the server's thread (and on the thread
// calling Stop for the participants still present then); must return quickly, without
// I/O. OnParticipantAdmitted runs after MediaRouter::AddParticipant and before `joined`
// is sent, so it precedes any media of the participant; OnParticipantRemoved runs after
// the router's removal was posted.
class ParticipantListener {
 public:
  virtual ~ParticipantListener() = default;
  virtual void OnParticipantAdmitted(const AdmittedParticipant& participant) = 0;
  virtual void OnParticipantRemoved(uint32_t participant_id) = 0;
};

// WebSocket close codes (RFC 6455 7.4.1) the server closes a connection with.
enum class CloseCode : uint16_t {
  kNormal = 1000,           // after a leave
  kGoingAway = 1001,        // the relay shuts down
  kPolicyViolation = 1008,  // a join refused for its token or identity
};

// One client connection, as the rooms see it. The owner (the WebSocket server, a test)
// sets `id`, `remote` and `media_address`; the rest is the rooms' bookkeeping.
class SignalingPeer {
 public:
  SignalingPeer(uint64_t connection_id, net::SocketAddress remote_address, net::SocketAddress media)
      : id(connection_id), remote(remote_address), media_address(media) {}
  virtual ~SignalingPeer() = default;
  SignalingPeer(const SignalingPeer&) = delete;
  SignalingPeer& operator=(const SignalingPeer&) = delete;

  // Queues a text message; ignored once the connection is closing.
  virtual void Send(std::string text) = 0;
  // Closes after the queued messages (a handshake in progress is cut).
  virtual void Close(CloseCode code, std::string_view reason) = 0;

  const uint64_t id;
  const net::SocketAddress remote;
  // The relay's media address as this client is told it in `joined`.
  const net::SocketAddress media_address;
  // Set while the connection has a participant in a room.
  std::optional<uint32_t> participant_id;
  std::string room;
  size_t refusals_logged = 0;
};

struct SignalingRoomsOptions {
  // Refused messages logged per connection (all are counted). > 0.
  size_t max_logged_refusals = 3;
  // Told of joins and leaves (nullptr: nobody); must outlive the rooms.
  ParticipantListener* participant_listener = nullptr;
  // Called when a removal could not be posted to the router (its command queue was full):
  // the owner calls RetryRemovals() a little later, again while it returns true.
  std::function<void()> schedule_removal_retry;
};

class SignalingRooms {
 public:
  using Options = SignalingRoomsOptions;

  // Participants the relay holds at most, whatever max_rooms x max_participants_per_room
  // allows: it sizes the router's tables (a few hundred bytes each). A join beyond is
  // refused as relay_full.
  static constexpr size_t kMaxRelayParticipants = 65'536;

  // `config` already validated (SignalingServer::Start checks it); `srtp_profile` its
  // srtp_suite when config.srtp is on. `router`, `logger` and `clock` are passed by
  // argument and must outlive this.
  SignalingRooms(const session::RelayConfig& config, std::optional<rtp::SrtpProfile> srtp_profile,
                 MediaRouter& router, Logger& logger, const Clock& clock, Options options);
  SignalingRooms(const SignalingRooms&) = delete;
  SignalingRooms& operator=(const SignalingRooms&) = delete;

  // A text frame of `peer`: a join, a leave, or a refusal (an error message; some close).
  void OnText(SignalingPeer& peer, std::string_view text);
  // A binary frame: refused (bad_message), the connection stays open.
  void OnBinary(SignalingPeer& peer);
  // A frame above kMaxMessageBytes: counted and logged (the owner closes the connection).
  void OnOversized(SignalingPeer& peer);
  // The connection ended (`how`: "closed", "shutdown"): its participant leaves, if any.
  // Call before `peer` is destroyed.
  void OnClosed(SignalingPeer& peer, std::string_view how);
  // From now on frames are ignored and departures are not announced to the others.
  void BeginShutdown() { shutting_down_ = true; }
  // Retries the removals the router's full queue refused; true while some remain.
  bool RetryRemovals();

  // Counters and state now (the connection figures are the owner's, left 0).
  SignalingStats Stats() const;
  size_t room_count() const { return rooms_.size(); }
  size_t participant_count() const { return participant_count_; }
  // The participant ids in room `name`, in order of joining; empty for no such room.
  std::vector<uint32_t> RoomMembers(std::string_view name) const;

 private:
  // A client's room membership, as peers see it.
  struct Member {
    uint32_t participant_id = 0;
    std::string identity;
    uint32_t ssrc = 0;
    SignalingPeer* peer = nullptr;  // valid while the member is in the room
  };
  struct Room {
    uint32_t id = 0;  // the router's room id
    int64_t session_start_unix_ms = 0;
    std::optional<session::SrtpInfo> srtp;
    std::vector<Member> members;
  };

  void HandleJoin(SignalingPeer& peer, const session::Join& join);
  void HandleLeave(SignalingPeer& peer);
  void Refuse(SignalingPeer& peer, session::ErrorCode code, std::string message, bool close,
              std::string_view room = {});
  void RemoveMember(SignalingPeer& peer, std::string_view how);
  uint32_t NextParticipantId();
  uint32_t NextRoomId();
  std::optional<session::SrtpInfo> NewRoomSrtp();

  // Passed by argument.
  const session::RelayConfig config_;
  const std::optional<rtp::SrtpProfile> srtp_profile_;
  MediaRouter& router_;
  Logger& logger_;
  const Clock& clock_;
  const Options options_;
  // Others.
  std::unordered_map<std::string, Room> rooms_;
  std::unordered_set<uint32_t> participant_ids_;  // in the router (pending removals too)
  std::unordered_set<uint32_t> room_ids_;
  std::vector<uint32_t> pending_removals_;  // RemoveParticipant refused: queue full
  uint32_t next_participant_id_ = 1;
  uint32_t next_room_id_ = 1;
  size_t participant_count_ = 0;
  bool shutting_down_ = false;
  SignalingStats stats_;
  ParticipantTraffic departed_traffic_;
};

}  // namespace parley::relay
