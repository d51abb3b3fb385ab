#include "participants.h"

#include <fmt/format.h>

#include "parley/session/token.h"

namespace parley::soak {

std::string RoomName(size_t room) { return fmt::format("soak-{}", room); }

Participant::Participant(const ParticipantSetup& setup, uint32_t session, size_t room,
                         MediaLoad& media, SignalingTotals& totals)
    : setup_(setup), session_(session), room_(room), media_(media), totals_(totals) {
  client::SignalingClientConfig config;
  config.url = setup.url;
  // Each client draws its own back-off jitter, as separate machines would.
  config.backoff.seed = uint64_t{session} + 1;
  client_ = std::make_unique<client::SignalingClient>(config, *this);
}

Participant::~Participant() { Leave(); }

Status Participant::Join() {
  session::Join join;
  join.room = RoomName(room_);
  join.identity = fmt::format("p{}", session_);
  join.token = session::MintToken({join.room, join.identity, setup_.token_expires_unix_s,
                                   session::Rights::kPublish | session::Rights::kSubscribe},
                                  setup_.token_secret);
  join.ssrc = MediaLoad::SsrcOf(session_);
  join.capabilities.codecs.push_back({"opus", 48000, 2, 111});
  Result<session::Joined> joined = client_->Join(join);
  if (!joined) {
    totals_.join_failures.fetch_add(1, std::memory_order_relaxed);
    return joined.error();
  }
  totals_.joins.fetch_add(1, std::memory_order_relaxed);
  return Status::Ok();
}

void Participant::Leave() {
  if (client_) client_->Leave();
}

void Participant::OnJoined(const session::Joined& joined, bool rejoined) {
  if (rejoined) totals_.rejoins.fetch_add(1, std::memory_order_relaxed);
  Result<net::SocketAddress> media = net::SocketAddress::Parse(joined.media.address);
  if (!media || media->is_ipv6()) {
    totals_.bad_joined.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  media_.Joined(session_, joined.participant_id, joined.media.hello_secret, *media);
}

void Participant::OnPeerJoined(const session::PeerInfo& /*peer*/) {
  totals_.peer_events.fetch_add(1, std::memory_order_relaxed);
}

void Participant::OnPeerLeft(uint32_t /*participant_id*/) {
  totals_.peer_events.fetch_add(1, std::memory_order_relaxed);
}

void Participant::OnRelayError(const session::ErrorMessage& /*error*/) {
  totals_.relay_errors.fetch_add(1, std::memory_order_relaxed);
}

void Participant::OnDisconnected(const std::string& /*reason*/,
                                 std::chrono::milliseconds /*retry_in*/) {
  totals_.disconnects.fetch_add(1, std::memory_order_relaxed);
  media_.Down(session_);
}

void Participant::OnFailed(const Error& /*error*/) {
  totals_.gave_up.fetch_add(1, std::memory_order_relaxed);
  media_.Down(session_);
}

}  // namespace parley::soak
