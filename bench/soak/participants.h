// The soak's participants on the signaling side: one client::SignalingClient each (the
// client library's, with its own thread, WebSocket, join, and reconnection with back-off
// and jitter after the relay goes away), joined with a token minted for its room. What
// the relay answers is handed to the media load (media_load.h): the join's participant
// id, hello secret and media address start the hello handshake; a lost connection stops
// the session's media until it has rejoined.
//
// Threading: Join, Leave and counters from any thread, one call per participant at a
// time; the listeners run on the clients' threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "media_load.h"
#include "parley/base/result.h"
#include "parley/client/signaling_client.h"

namespace parley::soak {

struct SignalingTotals {
  std::atomic<uint64_t> joins{0};          // first joins accepted
  std::atomic<uint64_t> join_failures{0};  // first joins refused or failed
  std::atomic<uint64_t> rejoins{0};        // joins after a reconnection
  std::atomic<uint64_t> disconnects{0};
  std::atomic<uint64_t> gave_up{0};       // clients that stopped retrying (OnFailed)
  std::atomic<uint64_t> peer_events{0};   // peer_joined and peer_left heard
  std::atomic<uint64_t> relay_errors{0};  // error messages while joined
  std::atomic<uint64_t> bad_joined{0};    // joined with a media address we cannot read
};

struct ParticipantSetup {
  std::string url;           // the relay's ws:// URL
  std::string token_secret;  // to mint tokens
  int64_t token_expires_unix_s = 0;
};

// One participant's signaling.
class Participant final : public client::SignalingListener {
 public:
  Participant(const ParticipantSetup& setup, uint32_t session, size_t room, MediaLoad& media,
              SignalingTotals& totals);
  ~Participant() override;

  // Connects and joins (blocking). Error: refused or failed (counted).
  [[nodiscard]] Status Join();
  // Leaves and closes (blocking, at most the client's leave timeout).
  void Leave();

  uint32_t session() const { return session_; }

  void OnJoined(const session::Joined& joined, bool rejoined) override;
  void OnPeerJoined(const session::PeerInfo& peer) override;
  void OnPeerLeft(uint32_t participant_id) override;
  void OnRelayError(const session::ErrorMessage& error) override;
  void OnDisconnected(const std::string& reason, std::chrono::milliseconds retry_in) override;
  void OnFailed(const Error& error) override;

 private:
  const ParticipantSetup& setup_;
  const uint32_t session_;
  const size_t room_;
  MediaLoad& media_;
  SignalingTotals& totals_;
  std::unique_ptr<client::SignalingClient> client_;
};

std::string RoomName(size_t room);

}  // namespace parley::soak
