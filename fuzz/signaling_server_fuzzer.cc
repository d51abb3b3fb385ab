// The signaling server's handling of message sequences (SignalingRooms, the part of the
// server behind its WebSocket connections), driven by five fake connections: the input is
// a program of steps (joins with real tokens minted with the test secret, for chosen
// rooms, identities and SSRCs; tokens expired, forged, for another room, missing or
// malformed; identities not the token's; leaves; garbage, wrong versions, reserved types,
// mutated joins, binary and oversized frames; connections ending; the router's media
// thread applying commands; the removal retry timer firing; wall time passing; shutdown).
// The router is real, with a small command queue, so joins and removals meet its limits.
//
// A model beside it predicts each join's outcome (the participant id, or the error code
// and whether the connection is closed) from the server's documented rules, the router's
// limits included, and after every step checks:
// - every message a connection receives parses as a relay message; an error message goes
//   with each refusal, and the counters by code equal the error messages delivered;
// - room membership matches the joins and leaves: each joined connection is in its room
//   under its id, rooms and participant counts agree with the model, joins minus leaves
//   is the participant count, and the router holds exactly the participants present plus
//   the removals still waiting for room in its queue;
// - peer_joined / peer_left reach exactly the other members of the room, in order;
// - refusals for a token or an identity close the connection (1008), a leave closes it
//   (1000), other refusals leave it open; after shutdown nothing is answered.
// Hello secrets and SRTP keys are random (OpenSSL) but steer nothing checked here.
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "fuzz_input.h"
#include "parley/base/clock.h"
#include "parley/base/log.h"
#include "parley/relay/media_router.h"
#include "parley/relay/signaling_rooms.h"
#include "parley/session/signaling.h"
#include "parley/session/token.h"

namespace {

using parley::Logger;
using parley::LogLevel;
using parley::SimulatedClock;
using parley::fuzz::FuzzInput;
using parley::session::ErrorCode;
using namespace parley::relay;
namespace session = parley::session;

constexpr size_t kMaxSteps = 200;
constexpr size_t kPeers = 5;
constexpr int kMaxRooms = 2;
constexpr int kPerRoom = 3;
constexpr size_t kRouterParticipants = 8;
constexpr size_t kRouterPerRoom = 8;
constexpr size_t kQueueCapacity = 4;  // a power of two: exact
constexpr uint32_t kRelaySsrc = 0x5E1A7000;
constexpr std::string_view kSecret = "fuzzing-secret-of-at-least-32-bytes!";
constexpr int64_t kStartUnixS = 1'700'000'000;
constexpr int64_t kTokenLifetimeS = 60;
const std::array<std::string, 3> kRooms = {"alpha", "beta", "gamma"};
const std::array<std::string, 4> kIdentities = {"ann", "bob", "cid", "dan"};

// Tokens minted once: [room][identity][rights: publish+subscribe, subscribe only].
struct Tokens {
  std::string valid[3][4][2];
  std::string expired;  // room alpha, ann: expired at start
  std::string forged;   // room alpha, ann, another secret
};

const Tokens& MintedTokens() {
  static const Tokens tokens = [] {
    Tokens t;
    for (size_t r = 0; r < kRooms.size(); ++r) {
      for (size_t i = 0; i < kIdentities.size(); ++i) {
        for (int k = 0; k < 2; ++k) {
          t.valid[r][i][k] =
              session::MintToken({kRooms[r], kIdentities[i], kStartUnixS + kTokenLifetimeS,
                                  k == 0 ? session::Rights::kPublish | session::Rights::kSubscribe
                                         : session::Rights::kSubscribe},
                                 kSecret);
        }
      }
    }
    t.expired = session::MintToken(
        {kRooms[0], kIdentities[0], kStartUnixS - 1, session::Rights::kPublish}, kSecret);
    t.forged = session::MintToken(
        {kRooms[0], kIdentities[0], kStartUnixS + kTokenLifetimeS, session::Rights::kPublish},
        "another-secret-of-at-least-32-bytes!!");
    return t;
  }();
  return tokens;
}

class FakePeer final : public SignalingPeer {
 public:
  FakePeer(uint64_t id, parley::net::SocketAddress media)
      : SignalingPeer(id, parley::net::SocketAddress::Loopback(false, 30000 + id), media) {}
  void Send(std::string text) override {
    if (!closed) received.push_back(std::move(text));
  }
  void Close(CloseCode code, std::string_view) override {
    if (closed) return;
    closed = true;
    close_code = code;
  }
  std::vector<std::string> received;
  bool closed = false;
  CloseCode close_code = CloseCode::kNormal;
};

// A participant as the model sees it.
struct ModelMember {
  uint32_t id = 0;
  uint32_t ssrc = 0;
  size_t peer = 0;
};
struct ModelRoom {
  uint32_t id = 0;
  std::vector<ModelMember> members;  // in order of joining
};
struct PendingRemoval {
  uint32_t id;
  uint32_t room_id;
  uint32_t ssrc;
};

class Harness {
 public:
  explicit Harness(FuzzInput& in)
      : in_(in),
        clock_(parley::Clock::WallTime(std::chrono::seconds(kStartUnixS))),
        logger_(
            LogLevel::kError, [](std::string_view) {}, clock_),
        router_(RouterConfig()) {
    const uint8_t setup = in_.Byte();
    config_.token_secret = std::string(kSecret);
    config_.max_rooms = kMaxRooms;
    config_.max_participants_per_room = kPerRoom;
    config_.srtp = (setup & 1) != 0;
    std::optional<parley::rtp::SrtpProfile> profile;
    if (config_.srtp) profile = parley::rtp::SrtpProfile::kAesCm128HmacSha1_80;
    rooms_.emplace(config_, profile, router_, logger_, clock_,
                   SignalingRooms::Options{.max_logged_refusals = 3,
                                           .participant_listener = nullptr,
                                           .schedule_removal_retry = [this] { ++timer_arms_; }});
    for (size_t p = 0; p < kPeers; ++p) NewPeer(p);
  }

  void Run() {
    for (size_t step = 0; step < kMaxSteps && !in_.empty(); ++step) {
      const uint8_t op = in_.Byte();
      const size_t p = (op >> 4) % kPeers;
      const bool sends_frame = op % 16 < 8 || op % 16 == 14;
      if (peers_[p]->closed && sends_frame) {
        // A closed connection sends nothing more: it ends.
        End(p);
        continue;
      }
      switch (op % 16) {
        case 0:
        case 1:
        case 2:
          Join(p, false);
          break;
        case 3:
          Join(p, true);
          break;
        case 4:
          Leave(p);
          break;
        case 5:
          Text(p, Garbage());
          break;
        case 6:
          Binary(p);
          break;
        case 7:
          Oversized(p);
          break;
        case 8:
        case 9:
          End(p);
          break;
        case 10:
        case 11:
          Apply();
          break;
        case 12:
          Retry();
          break;
        case 13:
          clock_.Advance(std::chrono::seconds(in_.Byte() % 32));
          break;
        case 14:
          MutatedJoin(p);
          break;
        default:
          if ((op >> 4) == 15) {
            rooms_->BeginShutdown();
            shutting_down_ = true;
          } else {
            Apply();
          }
          break;
      }
      CheckState();
    }
    for (size_t p = 0; p < kPeers; ++p) End(p);  // every connection ends
    CheckState();
    FUZZ_CHECK(rooms_->participant_count() == 0 && rooms_->room_count() == 0);
  }

 private:
  static MediaRouterConfig RouterConfig() {
    MediaRouterConfig config{.max_participants = kRouterParticipants,
                             .max_participants_per_room = kRouterPerRoom,
                             .command_queue_capacity = kQueueCapacity};
    HelloCookieKey key;
    key.fill(0x5C);
    config.cookie_key = key;
    config.rtcp.relay_ssrc = kRelaySsrc;
    return config;
  }

  int64_t NowUnixS() const {
    return std::chrono::floor<std::chrono::seconds>(clock_.WallNow().time_since_epoch()).count();
  }

  void NewPeer(size_t p) {
    peers_[p] = std::make_unique<FakePeer>(next_connection_id_++,
                                           parley::net::SocketAddress::Loopback(false, 40000));
    seen_[p] = 0;
    member_of_[p].reset();
  }

  // --- Steps ----------------------------------------------------------------------------

  // A join built from choices; `bad_token`: expired, forged, missing or malformed instead.
  void Join(size_t p, bool bad_token) {
    const uint8_t a = in_.Byte();
    const uint8_t b = in_.Byte();
    const size_t room = a % kRooms.size();
    const size_t identity = (a >> 2) % kIdentities.size();
    const size_t token_room = (a & 0x40) ? (room + 1) % kRooms.size() : room;  // wrong room
    const int rights = (a >> 7) & 1;
    session::Join join;
    join.room = kRooms[room];
    const Tokens& tokens = MintedTokens();
    join.token = tokens.valid[token_room][identity][rights];
    if (bad_token) {
      switch (b & 3) {
        case 0:
          join.token = tokens.expired;
          break;
        case 1:
          join.token = tokens.forged;
          break;
        case 2:
          join.token = "";
          break;
        default:
          join.token = "not.a.token";
          break;
      }
    }
    switch ((b >> 2) & 3) {
      case 0:
        join.identity = "";
        break;
      case 1:
      case 2:
        join.identity = kIdentities[identity];
        break;
      default:
        join.identity = kIdentities[(identity + 1) % kIdentities.size()];
        break;
    }
    switch ((b >> 4) & 3) {
      case 0:
        join.ssrc = 1000 + static_cast<uint32_t>(identity);
        break;
      case 1:
        join.ssrc = 7;
        break;
      case 2:
        join.ssrc = kRelaySsrc;
        break;
      default:
        join.ssrc = in_.U32();
        break;
    }
    join.capabilities.codecs.push_back({"opus", 48000, 2, 111});
    SubmitJoin(p, join, session::Serialize(session::ClientMessage{join}));
  }

  // Sends `text` (which parses as `join`) on connection `p`, and checks the answer against
  // the server's rules in its order. The token's verdict is session::VerifyToken's (tested
  // and fuzzed on its own); what is checked here is what the rooms make of it.
  void SubmitJoin(size_t p, const session::Join& join, const std::string& text) {
    FakePeer& peer = *peers_[p];
    const size_t before = peer.received.size();
    rooms_->OnText(peer, text);
    if (shutting_down_) {
      FUZZ_CHECK(peer.received.size() == before && !peer.closed);
      return;
    }
    const Answer answer = Read(peer, before);

    std::optional<ErrorCode> expected;
    bool close = false;
    if (member_of_[p]) {
      expected = ErrorCode::kAlreadyJoined;
    } else if (const session::TokenCheck check =
                   session::VerifyToken(join.token, kSecret, join.room, NowUnixS());
               !check.ok()) {
      expected = session::ErrorCodeFor(check.error);
      close = true;
    } else if (!join.identity.empty() && join.identity != check.claims->identity) {
      expected = ErrorCode::kForbidden;
      close = true;
    } else {
      expected = LimitRefusal(join);
    }
    if (expected) {
      FUZZ_CHECK(answer.error == expected);
      FUZZ_CHECK(peer.closed == close);
      if (close) FUZZ_CHECK(peer.close_code == CloseCode::kPolicyViolation);
      return;
    }
    // Admitted, unless the router refuses (its queue full, or its tables: the removals
    // still waiting hold their places there). Either way the ids were drawn.
    const auto existing = model_rooms_.find(join.room);
    const uint32_t room_id = existing == model_rooms_.end() ? next_room_id_++ : existing->second.id;
    const uint32_t id = next_participant_id_++;
    if (RouterRefuses(room_id, join.ssrc)) {
      FUZZ_CHECK(answer.error == ErrorCode::kInternal && !peer.closed);
      return;
    }
    FUZZ_CHECK(!answer.error && answer.joined);
    FUZZ_CHECK(answer.joined->participant_id == id);
    FUZZ_CHECK(answer.joined->srtp.has_value() == config_.srtp);
    ModelRoom& model_room = model_rooms_[join.room];
    model_room.id = room_id;
    FUZZ_CHECK(answer.joined->peers.size() == model_room.members.size());
    for (size_t m = 0; m < model_room.members.size(); ++m) {
      FUZZ_CHECK(answer.joined->peers[m].participant_id == model_room.members[m].id);
      ExpectNote(model_room.members[m].peer, id, true);
    }
    model_room.members.push_back({id, join.ssrc, p});
    member_of_[p] = join.room;
    ++queued_;
    FUZZ_CHECK(peer.participant_id == id && !peer.closed);
  }

  // The signaling server's own limits, in its order.
  std::optional<ErrorCode> LimitRefusal(const session::Join& join) const {
    const auto it = model_rooms_.find(join.room);
    if (it == model_rooms_.end()) {
      if (model_rooms_.size() >= static_cast<size_t>(kMaxRooms)) return ErrorCode::kRelayFull;
    } else {
      if (it->second.members.size() >= static_cast<size_t>(kPerRoom)) return ErrorCode::kRoomFull;
      for (const ModelMember& m : it->second.members) {
        if (m.ssrc == join.ssrc) return ErrorCode::kSsrcInUse;
      }
    }
    if (config_.srtp && join.ssrc == kRelaySsrc) return ErrorCode::kSsrcInUse;
    return std::nullopt;
  }

  // MediaRouter::AddParticipant's refusals: queue full, relay or room full, SSRC in the
  // room (its room holds the members and the removals not yet posted).
  bool RouterRefuses(uint32_t room_id, uint32_t ssrc) const {
    if (queued_ >= kQueueCapacity) return true;
    size_t total = pending_.size();
    for (const auto& [name, room] : model_rooms_) total += room.members.size();
    if (total >= kRouterParticipants) return true;
    size_t in_room = 0;
    for (const PendingRemoval& r : pending_) {
      if (r.room_id != room_id) continue;
      ++in_room;
      if (r.ssrc == ssrc) return true;
    }
    for (const auto& [name, room] : model_rooms_) {
      if (room.id == room_id) in_room += room.members.size();
    }
    return in_room >= kRouterPerRoom;
  }

  void Leave(size_t p) {
    FakePeer& peer = *peers_[p];
    const size_t before = peer.received.size();
    rooms_->OnText(peer, session::Serialize(session::ClientMessage{session::Leave{}}));
    if (shutting_down_) {
      FUZZ_CHECK(peer.received.size() == before && !peer.closed);
      return;
    }
    FUZZ_CHECK(peer.received.size() == before);  // no answer: the connection closes
    FUZZ_CHECK(peer.closed && peer.close_code == CloseCode::kNormal);
    ModelRemove(p);
  }

  // A refused frame: one error message with `code`, the connection stays open.
  void ExpectRefusal(FakePeer& peer, size_t before, ErrorCode code) {
    if (shutting_down_) {
      FUZZ_CHECK(peer.received.size() == before);
      return;
    }
    const Answer answer = Read(peer, before);
    FUZZ_CHECK(answer.error == code && !peer.closed);
  }

  void Text(size_t p, const std::string& text) {
    FakePeer& peer = *peers_[p];
    const size_t before = peer.received.size();
    ErrorCode code = ErrorCode::kInternal;
    const auto parsed = session::ParseClientMessage(text, &code);
    if (parsed) {
      // Garbage that is a valid message after all (a mutation that kept the join valid).
      if (const auto* join = std::get_if<session::Join>(&*parsed)) {
        SubmitJoin(p, *join, text);
      } else {
        Leave(p);
      }
      return;
    }
    rooms_->OnText(peer, text);
    ExpectRefusal(peer, before, code);
  }

  std::string Garbage() {
    switch (in_.Byte() % 4) {
      case 0:
        return R"({"v":2,"type":"join","room":"alpha"})";
      case 1: {
        const auto reserved = session::ReservedMessageTypes();
        if (reserved.empty()) return R"({"v":1,"type":"quality"})";
        return std::string(R"({"v":1,"type":")") +
               std::string(reserved[in_.Byte() % reserved.size()]) + "\"}";
      }
      default: {
        const auto bytes = in_.Bytes(255);
        return std::string(bytes.begin(), bytes.end());
      }
    }
  }

  void MutatedJoin(size_t p) {
    session::Join join;
    join.room = kRooms[in_.Byte() % kRooms.size()];
    join.token = MintedTokens().valid[0][0][0];
    join.ssrc = 1;
    join.capabilities.codecs.push_back({"opus", 48000, 2, 111});
    std::string text = session::Serialize(session::ClientMessage{join});
    for (int n = 1 + in_.Byte() % 3; n > 0; --n) {
      text[in_.U16() % text.size()] = static_cast<char>(in_.Byte());
    }
    Text(p, text);
  }

  void Binary(size_t p) {
    FakePeer& peer = *peers_[p];
    const size_t before = peer.received.size();
    rooms_->OnBinary(peer);
    ExpectRefusal(peer, before, ErrorCode::kBadMessage);
  }

  // A frame above the limit: the WebSocket layer closes the connection (1009), and the
  // rooms count it; then the connection ends.
  void Oversized(size_t p) {
    FakePeer& peer = *peers_[p];
    const size_t before = peer.received.size();
    const uint64_t oversized = rooms_->Stats().oversized_messages;
    rooms_->OnOversized(peer);
    FUZZ_CHECK(peer.received.size() == before);
    FUZZ_CHECK(rooms_->Stats().oversized_messages == oversized + 1);
    ++oversized_;
    End(p);
  }

  // The connection ends (closed by either side, or dropped): its participant leaves.
  void End(size_t p) {
    rooms_->OnClosed(*peers_[p], "closed");
    ModelRemove(p);
    Collect(p);
    NewPeer(p);
  }

  void Apply() {
    FUZZ_CHECK(router_.ApplyPendingCommands() == queued_);
    queued_ = 0;
  }

  // The retry timer fires (only while armed, as in the server).
  void Retry() {
    if (!timer_armed_) return;
    const bool more = rooms_->RetryRemovals();
    std::erase_if(pending_, [&](const PendingRemoval&) {
      if (queued_ >= kQueueCapacity) return false;
      ++queued_;
      return true;
    });
    FUZZ_CHECK(more == !pending_.empty());
    timer_armed_ = more;
  }

  // --- The model ------------------------------------------------------------------------

  // The participant of connection `p` (if any) leaves: the others are told, and its
  // removal is posted to the router, or waits for room in the queue.
  void ModelRemove(size_t p) {
    if (!member_of_[p]) return;
    const std::string name = *member_of_[p];
    member_of_[p].reset();
    ModelRoom& room = model_rooms_[name];
    const auto it = std::find_if(room.members.begin(), room.members.end(),
                                 [&](const ModelMember& m) { return m.peer == p; });
    FUZZ_CHECK(it != room.members.end());
    const ModelMember gone = *it;
    room.members.erase(it);
    if (queued_ < kQueueCapacity) {
      ++queued_;
    } else {
      if (pending_.empty()) {
        ++expected_timer_arms_;
        timer_armed_ = true;
      }
      pending_.push_back({gone.id, room.id, gone.ssrc});
    }
    if (!shutting_down_) {
      for (const ModelMember& m : room.members) ExpectNote(m.peer, gone.id, false);
    }
    if (room.members.empty()) model_rooms_.erase(name);
    FUZZ_CHECK(!peers_[p]->participant_id);
  }

  struct Answer {
    std::optional<ErrorCode> error;
    std::optional<session::Joined> joined;
  };

  // The one message a connection got in answer to its frame (after `before`).
  Answer Read(FakePeer& peer, size_t before) {
    FUZZ_CHECK(peer.received.size() == before + 1);
    const size_t p = IndexOf(peer);
    Answer answer;
    auto message = session::ParseRelayMessage(peer.received.back(), nullptr);
    FUZZ_CHECK(message.ok());
    if (const auto* error = std::get_if<session::ErrorMessage>(&*message)) {
      answer.error = error->code;
      ++delivered_errors_[static_cast<size_t>(error->code)];
    } else {
      answer.joined = std::get<session::Joined>(*message);
    }
    seen_[p] = peer.received.size();
    return answer;
  }

  // Connection `p` must next have been told that `id` joined (or left).
  void ExpectNote(size_t p, uint32_t id, bool joined) {
    FakePeer& peer = *peers_[p];
    FUZZ_CHECK(peer.received.size() > seen_[p]);
    auto message = session::ParseRelayMessage(peer.received[seen_[p]++], nullptr);
    FUZZ_CHECK(message.ok());
    if (joined) {
      const auto* note = std::get_if<session::PeerJoined>(&*message);
      FUZZ_CHECK(note != nullptr && note->peer.participant_id == id);
    } else {
      const auto* note = std::get_if<session::PeerLeft>(&*message);
      FUZZ_CHECK(note != nullptr && note->participant_id == id);
    }
  }

  // Nothing unread is left on a connection that ends.
  void Collect(size_t p) { FUZZ_CHECK(peers_[p]->received.size() == seen_[p]); }

  size_t IndexOf(const FakePeer& peer) const {
    for (size_t p = 0; p < kPeers; ++p) {
      if (peers_[p].get() == &peer) return p;
    }
    parley::fuzz::Fail("unknown peer", __LINE__);
  }

  void CheckState() {
    size_t members = 0;
    for (const auto& [name, room] : model_rooms_) {
      std::vector<uint32_t> ids;
      for (const ModelMember& m : room.members) {
        ids.push_back(m.id);
        FUZZ_CHECK(peers_[m.peer]->participant_id == m.id && peers_[m.peer]->room == name);
      }
      FUZZ_CHECK(rooms_->RoomMembers(name) == ids);
      members += room.members.size();
    }
    for (size_t p = 0; p < kPeers; ++p) {
      FUZZ_CHECK(peers_[p]->participant_id.has_value() == member_of_[p].has_value());
      FUZZ_CHECK(peers_[p]->received.size() == seen_[p]);  // every message accounted
    }
    FUZZ_CHECK(rooms_->room_count() == model_rooms_.size());
    FUZZ_CHECK(rooms_->participant_count() == members);
    const SignalingStats stats = rooms_->Stats();
    FUZZ_CHECK(stats.joins - stats.leaves == members);
    FUZZ_CHECK(stats.rooms == model_rooms_.size() && stats.participants == members);
    FUZZ_CHECK(stats.errors == delivered_errors_);
    FUZZ_CHECK(stats.oversized_messages == oversized_);
    FUZZ_CHECK(router_.participant_count() == members + pending_.size());
    FUZZ_CHECK(timer_arms_ == expected_timer_arms_);
  }

  FuzzInput& in_;
  SimulatedClock clock_;
  Logger logger_;
  MediaRouter router_;
  parley::session::RelayConfig config_;
  std::optional<SignalingRooms> rooms_;
  std::array<std::unique_ptr<FakePeer>, kPeers> peers_;
  std::array<size_t, kPeers> seen_{};  // messages of each connection accounted so far
  std::array<std::optional<std::string>, kPeers> member_of_;
  uint64_t next_connection_id_ = 1;
  // The model.
  std::map<std::string, ModelRoom> model_rooms_;
  std::vector<PendingRemoval> pending_;
  size_t queued_ = 0;            // commands posted to the router, not yet applied
  int timer_arms_ = 0;           // times the rooms asked for the retry timer
  int expected_timer_arms_ = 0;  // times the model's pending removals went from none to one
  bool timer_armed_ = false;
  uint32_t next_participant_id_ = 1;
  uint32_t next_room_id_ = 1;
  std::array<uint64_t, kErrorCodeCount> delivered_errors_{};
  uint64_t oversized_ = 0;
  bool shutting_down_ = false;
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)MintedTokens();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return parley::fuzz::RunProgram<Harness>(data, size);
}
