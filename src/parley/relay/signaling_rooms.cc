#include "parley/relay/signaling_rooms.h"

#include <fmt/format.h>
#include <openssl/rand.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <utility>
#include <variant>

#include "parley/session/validation.h"

namespace parley::relay {
namespace {

using session::ErrorCode;

int64_t UnixMillis(Clock::WallTime time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

// `text` cut to `limit` bytes without splitting a UTF-8 sequence.
std::string CutUtf8(std::string text, size_t limit) {
  if (text.size() <= limit) return text;
  size_t end = limit;
  while (end > 0 && (static_cast<uint8_t>(text[end]) & 0xC0) == 0x80) --end;
  text.resize(end);
  return text;
}

void Add(ParticipantTraffic& total, const ParticipantCounters& counters) {
  total.packets_in += counters.packets_in;
  total.bytes_in += counters.bytes_in;
  total.packets_out += counters.packets_out;
  total.bytes_out += counters.bytes_out;
  total.packets_dropped += counters.packets_dropped;
}

}  // namespace

SignalingRooms::SignalingRooms(const session::RelayConfig& config,
                               std::optional<rtp::SrtpProfile> srtp_profile, MediaRouter& router,
                               Logger& logger, const Clock& clock, Options options)
    : config_(config),
      srtp_profile_(srtp_profile),
      router_(router),
      logger_(logger),
      clock_(clock),
      options_(std::move(options)) {}

void SignalingRooms::OnText(SignalingPeer& peer, std::string_view text) {
  if (shutting_down_) return;
  ErrorCode code = ErrorCode::kBadMessage;
  Result<session::ClientMessage> message = session::ParseClientMessage(text, &code);
  if (!message) {
    Refuse(peer, code, message.error().message, /*close=*/false);
    return;
  }
  if (const auto* join = std::get_if<session::Join>(&*message)) {
    HandleJoin(peer, *join);
  } else {
    HandleLeave(peer);
  }
}

void SignalingRooms::OnBinary(SignalingPeer& peer) {
  if (shutting_down_) return;
  Refuse(peer, ErrorCode::kBadMessage, "binary frame: messages are JSON in text frames",
         /*close=*/false);
}

void SignalingRooms::OnOversized(SignalingPeer& peer) {
  ++stats_.oversized_messages;
  if (peer.refusals_logged < options_.max_logged_refusals) {
    ++peer.refusals_logged;
    logger_.Warn("message_refused", {{"connection", peer.id},
                                     {"remote", peer.remote.ToString()},
                                     {"code", "bad_message"},
                                     {"message", fmt::format("message larger than {} bytes: closed",
                                                             session::kMaxMessageBytes)}});
  }
}

void SignalingRooms::Refuse(SignalingPeer& peer, ErrorCode code, std::string message, bool close,
                            std::string_view room) {
  ++stats_.errors[static_cast<size_t>(code)];
  message = CutUtf8(std::move(message), session::kMaxErrorMessageBytes);
  if (peer.refusals_logged < options_.max_logged_refusals) {
    ++peer.refusals_logged;
    logger_.Warn(room.empty() ? "message_refused" : "join_refused",
                 {{"connection", peer.id},
                  {"remote", peer.remote.ToString()},
                  {"room", room},
                  {"code", session::ErrorCodeName(code)},
                  {"message", message}});
  }
  peer.Send(session::Serialize(session::ErrorMessage{code, std::move(message)}));
  if (close) peer.Close(CloseCode::kPolicyViolation, session::ErrorCodeName(code));
}

void SignalingRooms::HandleJoin(SignalingPeer& peer, const session::Join& join) {
  if (peer.participant_id) {
    Refuse(peer, ErrorCode::kAlreadyJoined,
           fmt::format("this connection is in room {} already: one join per connection", peer.room),
           /*close=*/false, join.room);
    return;
  }
  const int64_t now_ms = UnixMillis(clock_.WallNow());
  const int64_t now_s =
      std::chrono::floor<std::chrono::seconds>(clock_.WallNow().time_since_epoch()).count();
  const session::TokenCheck check =
      session::VerifyToken(join.token, config_.token_secret, join.room, now_s);
  if (!check.ok()) {
    ++stats_.token_refusals[static_cast<size_t>(check.error)];
    Refuse(peer, session::ErrorCodeFor(check.error), check.message, /*close=*/true, join.room);
    return;
  }
  const session::TokenClaims& claims = *check.claims;
  if (!join.identity.empty() && join.identity != claims.identity) {
    Refuse(peer, ErrorCode::kForbidden,
           fmt::format("join.identity {} is not the token's identity {}",
                       session::Quote(join.identity), session::Quote(claims.identity)),
           /*close=*/true, join.room);
    return;
  }

  auto room_it = rooms_.find(join.room);
  if (room_it == rooms_.end()) {
    if (rooms_.size() >= static_cast<size_t>(config_.max_rooms)) {
      Refuse(peer, ErrorCode::kRelayFull,
             fmt::format("the relay has its maximum of {} rooms open", config_.max_rooms),
             /*close=*/false, join.room);
      return;
    }
  } else {
    const std::vector<Member>& members = room_it->second.members;
    if (members.size() >= static_cast<size_t>(config_.max_participants_per_room)) {
      Refuse(peer, ErrorCode::kRoomFull,
             fmt::format("room {} has its maximum of {} participants", join.room,
                         config_.max_participants_per_room),
             /*close=*/false, join.room);
      return;
    }
    const bool ssrc_taken = std::any_of(members.begin(), members.end(),
                                        [&](const Member& m) { return m.ssrc == join.ssrc; });
    if (ssrc_taken) {
      Refuse(peer, ErrorCode::kSsrcInUse,
             fmt::format("SSRC {} is used by another participant of room {}: pick another",
                         join.ssrc, join.room),
             /*close=*/false, join.room);
      return;
    }
  }
  if (srtp_profile_ && join.ssrc == router_.relay_ssrc()) {
    // Its SRTCP would share the key, the SSRC and so the keystream of the relay's own
    // reports (media_router.h, "SRTP rooms").
    Refuse(peer, ErrorCode::kSsrcInUse,
           fmt::format("SSRC {} is the relay's own RTCP SSRC: pick another", join.ssrc),
           /*close=*/false, join.room);
    return;
  }
  if (participant_ids_.size() >= kMaxRelayParticipants) {
    Refuse(peer, ErrorCode::kRelayFull,
           fmt::format("the relay holds its maximum of {} participants", kMaxRelayParticipants),
           /*close=*/false, join.room);
    return;
  }

  const bool new_room = room_it == rooms_.end();
  const uint32_t room_id = new_room ? NextRoomId() : room_it->second.id;
  const uint32_t participant_id = NextParticipantId();
  JoinSecret secret{};
  std::optional<session::SrtpInfo> srtp;
  try {
    secret = session::NewHelloSecret();
    if (new_room) srtp = NewRoomSrtp();
  } catch (const std::runtime_error& error) {
    logger_.Error("random_failed", {{"error", error.what()}});
    Refuse(peer, ErrorCode::kInternal, "the relay cannot make a join secret: try later",
           /*close=*/false, join.room);
    return;
  }
  const Rights rights{.publish = session::HasRights(claims.rights, session::Rights::kPublish),
                      .subscribe = session::HasRights(claims.rights, session::Rights::kSubscribe)};
  // The room's key for the router's SRTCP (made above for a new room; NewRoomSrtp and the
  // suite check at Start make it well-formed).
  const std::optional<session::SrtpInfo>& room_srtp = new_room ? srtp : room_it->second.srtp;
  std::optional<rtp::SrtpKeyMaterial> srtp_key;
  if (room_srtp) {
    Result<rtp::SrtpKeyMaterial> key = rtp::MakeSrtpKeyMaterial(room_srtp->suite, room_srtp->key);
    if (!key) {
      logger_.Error("media_path_failed", {{"room", join.room},
                                          {"participant_id", participant_id},
                                          {"error", key.error().message}});
      Refuse(peer, ErrorCode::kInternal, "the relay cannot use the room's SRTP key",
             /*close=*/false, join.room);
      return;
    }
    srtp_key = *key;
  }
  // The first codec (the client's preferred) gives the RTP clock of its stream for RTCP.
  const Status added =
      router_.AddParticipant(room_id, participant_id, join.ssrc, secret, rights,
                             join.capabilities.codecs.front().clock_rate_hz, srtp_key);
  if (!added) {
    logger_.Error("media_path_failed", {{"room", join.room},
                                        {"participant_id", participant_id},
                                        {"error", added.error().message}});
    Refuse(peer, ErrorCode::kInternal, "the relay is busy opening media paths: try again",
           /*close=*/false, join.room);
    return;
  }
  participant_ids_.insert(participant_id);
  if (new_room) {
    room_ids_.insert(room_id);
    room_it = rooms_
                  .emplace(join.room, Room{.id = room_id,
                                           .session_start_unix_ms = now_ms,
                                           .srtp = std::move(srtp),
                                           .members = {}})
                  .first;
    logger_.Info("room_opened", {{"room", join.room}, {"rooms", rooms_.size()}});
  }
  Room& room = room_it->second;
  if (options_.participant_listener != nullptr) {
    options_.participant_listener->OnParticipantAdmitted(
        AdmittedParticipant{.room_id = room.id,
                            .room = join.room,
                            .session_start_unix_ms = room.session_start_unix_ms,
                            .participant_id = participant_id,
                            .identity = claims.identity,
                            .ssrc = join.ssrc,
                            .rights = rights,
                            .codecs = join.capabilities.codecs,
                            .srtp = room.srtp});
  }

  session::Joined joined;
  joined.participant_id = participant_id;
  joined.session_start_unix_ms = room.session_start_unix_ms;
  joined.media.address = peer.media_address.ToString();
  joined.media.hello_secret = secret;
  joined.srtp = room.srtp;
  joined.peers.reserve(room.members.size());
  for (const Member& member : room.members) {
    joined.peers.push_back({member.participant_id, member.identity, member.ssrc});
  }
  peer.participant_id = participant_id;
  peer.room = join.room;
  peer.Send(session::Serialize(joined));

  const std::string note =
      session::Serialize(session::PeerJoined{{participant_id, claims.identity, join.ssrc}});
  for (const Member& member : room.members) member.peer->Send(note);
  room.members.push_back(Member{participant_id, claims.identity, join.ssrc, &peer});
  ++participant_count_;
  ++stats_.joins;
  logger_.Info("participant_joined", {{"room", join.room},
                                      {"participant_id", participant_id},
                                      {"identity", claims.identity},
                                      {"ssrc", join.ssrc},
                                      {"publish", rights.publish},
                                      {"subscribe", rights.subscribe},
                                      {"remote", peer.remote.ToString()},
                                      {"media", joined.media.address}});
}

void SignalingRooms::OnClosed(SignalingPeer& peer, std::string_view how) {
  if (peer.participant_id) RemoveMember(peer, how);
}

void SignalingRooms::HandleLeave(SignalingPeer& peer) {
  if (peer.participant_id) RemoveMember(peer, "leave");
  peer.Close(CloseCode::kNormal, "left");
}

void SignalingRooms::RemoveMember(SignalingPeer& peer, std::string_view how) {
  const uint32_t participant_id = *peer.participant_id;
  const std::string room_name = std::move(peer.room);
  peer.participant_id.reset();
  peer.room.clear();

  const std::optional<ParticipantCounters> counters = router_.participant_counters(participant_id);
  if (counters) Add(departed_traffic_, *counters);
  if (router_.RemoveParticipant(participant_id)) {
    participant_ids_.erase(participant_id);
  } else {
    // The command queue is full: the media thread has not caught up. The id stays taken
    // until the removal goes through.
    pending_removals_.push_back(participant_id);
    if (pending_removals_.size() == 1 && options_.schedule_removal_retry) {
      options_.schedule_removal_retry();
    }
  }
  --participant_count_;
  ++stats_.leaves;
  if (options_.participant_listener != nullptr) {
    options_.participant_listener->OnParticipantRemoved(participant_id);
  }

  auto room_it = rooms_.find(room_name);
  if (room_it != rooms_.end()) {
    Room& room = room_it->second;
    std::erase_if(room.members,
                  [&](const Member& member) { return member.participant_id == participant_id; });
    if (!shutting_down_) {
      const std::string note = session::Serialize(session::PeerLeft{participant_id});
      for (const Member& member : room.members) member.peer->Send(note);
    }
    if (room.members.empty()) {
      const double duration_s =
          static_cast<double>(UnixMillis(clock_.WallNow()) - room.session_start_unix_ms) / 1000.0;
      room_ids_.erase(room.id);
      rooms_.erase(room_it);
      logger_.Info("room_closed",
                   {{"room", room_name}, {"duration_s", duration_s}, {"rooms", rooms_.size()}});
    }
  }
  const ParticipantCounters traffic = counters.value_or(ParticipantCounters{});
  logger_.Info("participant_left", {{"room", room_name},
                                    {"participant_id", participant_id},
                                    {"how", how},
                                    {"packets_in", traffic.packets_in},
                                    {"bytes_in", traffic.bytes_in},
                                    {"packets_out", traffic.packets_out},
                                    {"bytes_out", traffic.bytes_out},
                                    {"packets_dropped", traffic.packets_dropped},
                                    {"latches", traffic.latches}});
}

uint32_t SignalingRooms::NextParticipantId() {
  for (;;) {
    const uint32_t id = next_participant_id_++;
    if (id != 0 && !participant_ids_.contains(id)) return id;
  }
}

uint32_t SignalingRooms::NextRoomId() {
  for (;;) {
    const uint32_t id = next_room_id_++;
    if (id != 0 && !room_ids_.contains(id)) return id;
  }
}

std::optional<session::SrtpInfo> SignalingRooms::NewRoomSrtp() {
  if (!srtp_profile_) return std::nullopt;
  session::SrtpInfo srtp;
  srtp.suite = config_.srtp_suite;
  srtp.key.resize(rtp::kSrtpMasterKeyBytes + rtp::SrtpMasterSaltBytes(*srtp_profile_));
  if (RAND_bytes(srtp.key.data(), static_cast<int>(srtp.key.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed: OpenSSL's random generator is not seeded");
  }
  return srtp;
}

bool SignalingRooms::RetryRemovals() {
  std::erase_if(pending_removals_, [this](uint32_t participant_id) {
    const bool gone = !router_.participant_counters(participant_id).has_value() ||
                      router_.RemoveParticipant(participant_id).ok();
    if (gone) participant_ids_.erase(participant_id);
    return gone;
  });
  return !pending_removals_.empty();
}

SignalingStats SignalingRooms::Stats() const {
  SignalingStats stats = stats_;
  stats.rooms = rooms_.size();
  stats.participants = participant_count_;
  stats.traffic = departed_traffic_;
  for (const auto& [name, room] : rooms_) {
    for (const Member& member : room.members) {
      if (auto counters = router_.participant_counters(member.participant_id)) {
        Add(stats.traffic, *counters);
      }
    }
  }
  return stats;
}

std::vector<uint32_t> SignalingRooms::RoomMembers(std::string_view name) const {
  std::vector<uint32_t> ids;
  const auto it = rooms_.find(std::string(name));
  if (it == rooms_.end()) return ids;
  for (const Member& member : it->second.members) ids.push_back(member.participant_id);
  return ids;
}

}  // namespace parley::relay
