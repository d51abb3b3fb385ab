// The relay's MediaRouter driven through whole sessions: the input is a program of steps
// (joins and leaves on the control side, the media side applying them, batches' ticks on a
// simulated clock, and datagrams from a handful of addresses: hellos made with the real
// format and secrets, hellos echoing cookies the relay sent (to that address or another),
// mutated hellos, RTP and RTCP with chosen SSRCs, garbage). A model kept beside the router
// predicts, from what the router was told and what it emitted, what each datagram must
// do, and every emission is checked:
//
// - no reflection: media and reports go only to an address latched by a participant that
//   is present (its removal applied means nothing more goes there), latching happens only
//   by echoing, from that address, a cookie the relay sent to that address for that
//   participant, within the cookie's lifetime (accepted for at least cookie_lifetime,
//   refused after twice that);
// - no amplification: the only answer to a datagram is one ack or challenge, to its
//   sender, never longer than it; over the run, an address never latched has received at
//   most as many datagrams and bytes as it sent;
// - forwarding is exact: RTP from a latched publisher with its own SSRC goes, unchanged
//   (the same bytes, not a copy), to exactly the other latched subscribers of its room;
//   RTCP from it is terminated (nothing sent on); everything else is dropped, answering
//   nothing;
// - the control side refuses exactly what its contract refuses (id present, SSRC used in
//   the room, relay or room full, SRTP key not the room's, queue full), and the latched
//   addresses the router reports are the model's after every step.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include "fuzz_input.h"
#include "parley/base/clock.h"
#include "parley/net/udp_socket.h"
#include "parley/relay/hello.h"
#include "parley/relay/media_router.h"
#include "parley/rtp/big_endian.h"
#include "parley/rtp/rtcp_report_view.h"
#include "parley/rtp/srtp_session.h"

namespace {

using parley::Clock;
using parley::fuzz::FuzzInput;
using parley::net::SocketAddress;
using namespace parley::relay;

constexpr size_t kMaxSteps = 300;
constexpr uint32_t kIds = 8;  // participant ids 1..8
constexpr size_t kMaxParticipants = 6;
constexpr size_t kMaxPerRoom = 4;
constexpr size_t kQueueCapacity = 4;  // a power of two: exact
constexpr uint32_t kSrtpRoom = 3;     // rooms 1 and 2 are plain
constexpr uint32_t kRelaySsrc = 0x5E1A7000;
constexpr std::chrono::milliseconds kCookieLifetime{10'000};
constexpr size_t kAddresses = 6;

JoinSecret SecretOf(uint32_t id) {
  JoinSecret secret;
  secret.fill(static_cast<uint8_t>(0x10 + id));
  return secret;
}

SocketAddress AddressOf(size_t index) {
  return index == kAddresses - 1
             ? SocketAddress::Loopback(true, 5001)
             : SocketAddress::Loopback(false, static_cast<uint16_t>(5001 + index));
}

parley::rtp::SrtpKeyMaterial RoomKey(uint8_t fill) {
  std::array<uint8_t, 16> key;
  std::array<uint8_t, 14> salt;
  key.fill(fill);
  salt.fill(static_cast<uint8_t>(fill + 1));
  auto material =
      parley::rtp::MakeSrtpKeyMaterial(parley::rtp::SrtpProfile::kAesCm128HmacSha1_80, key, salt);
  if (!material) std::abort();
  return *material;
}

struct Emitted {
  const uint8_t* data;
  size_t size;
  SocketAddress to;
};

class RecordingSink : public OutputSink {
 public:
  void Emit(std::span<const uint8_t> payload, const SocketAddress& to) override {
    sent.push_back({payload.data(), payload.size(), to});
  }
  std::vector<Emitted> sent;
};

struct ModelParticipant {
  uint32_t room = 0;
  uint32_t ssrc = 0;
  Rights rights;
};

struct IssuedCookie {
  uint32_t participant_id;
  size_t address;
  Clock::TimePoint first;
  Clock::TimePoint last;
};

class Harness {
 public:
  explicit Harness(FuzzInput& in) : in_(in), router_(Config()) {
    FUZZ_CHECK(router_.relay_ssrc() == kRelaySsrc);
  }

  void Run() {
    Tick(0);
    for (size_t step = 0; step < kMaxSteps && !in_.empty(); ++step) {
      const uint8_t op = in_.Byte();
      switch (op % 16) {
        case 0:
          Join(op >> 4);
          break;
        case 1:
          Leave();
          break;
        case 2:
          Apply();
          break;
        case 3:
          Tick(in_.Byte());
          break;
        case 4:
          SendHello(false, op >> 4);
          break;
        case 5:
          SendHello(true, op >> 4);
          break;
        case 6:
          SendMutatedHello();
          break;
        case 7:
        case 8:
        case 12:
          SendRtp(op >> 4);
          break;
        case 9:
          SendRtcp(op >> 4);
          break;
        case 10:
          SendGarbage();
          break;
        case 13:
          Apply();
          break;
        case 14:
          Tick(in_.Byte());
          break;
        default: {
          // RTP with participant 1's SSRC from any address (latched or not).
          const uint8_t bytes[] = {0x80, 0x6F, 0, 1, 0, 0, 0, 0, 0, 0, 0x10, 0x01};
          Route(bytes, in_.Byte() % kAddresses);
          break;
        }
      }
      CheckLatches();
    }
  }

 private:
  static MediaRouterConfig Config() {
    MediaRouterConfig config{.max_participants = kMaxParticipants,
                             .max_participants_per_room = kMaxPerRoom,
                             .command_queue_capacity = kQueueCapacity,
                             .cookie_lifetime = kCookieLifetime};
    HelloCookieKey key;
    key.fill(0x5C);
    config.cookie_key = key;
    config.rtcp.relay_ssrc = kRelaySsrc;
    config.rtcp.report_interval = std::chrono::milliseconds(500);
    return config;
  }

  // --- Control side ---------------------------------------------------------------------

  void Join(uint8_t choice) {
    const uint32_t id = 1 + in_.Byte() % kIds;
    const uint32_t room = 1 + choice % 3;
    uint32_t ssrc = 0;
    switch ((choice >> 2) & 3) {
      case 0:
        ssrc = 0x1000 + id;
        break;
      case 1:
        ssrc = 0x2000;
        break;  // shared: collides within a room
      case 2:
        ssrc = kRelaySsrc;
        break;
      default:
        ssrc = in_.U32();
        break;
    }
    const uint8_t rights_bits = in_.Byte();
    const Rights rights{.publish = (rights_bits & 1) == 0, .subscribe = (rights_bits & 2) == 0};
    std::optional<parley::rtp::SrtpKeyMaterial> key;
    if (room == kSrtpRoom) key = RoomKey(0x33);
    if (rights_bits & 4) key = (rights_bits & 8) ? std::optional(RoomKey(0x44)) : std::nullopt;
    const uint32_t clock_rate = (rights_bits & 0x10) ? 0 : 48000;

    bool expect_ok = clock_rate != 0 && !control_.contains(id) &&
                     control_.size() < kMaxParticipants && pending_ < kQueueCapacity &&
                     !(key && ssrc == kRelaySsrc);
    size_t members = 0;
    for (const auto& [other, p] : control_) {
      if (p.room != room) continue;
      ++members;
      if (p.ssrc == ssrc) expect_ok = false;
    }
    if (members >= kMaxPerRoom) expect_ok = false;
    if (members > 0 && control_room_key_[room] != key) expect_ok = false;

    const parley::Status status =
        router_.AddParticipant(room, id, ssrc, SecretOf(id), rights, clock_rate, key);
    FUZZ_CHECK(status.ok() == expect_ok);
    if (!status.ok()) return;
    if (members == 0) control_room_key_[room] = key;
    control_[id] = {room, ssrc, rights};
    commands_.push_back({true, id, {room, ssrc, rights}});
    ++pending_;
  }

  void Leave() {
    const uint32_t id = 1 + in_.Byte() % kIds;
    const bool expect_ok = control_.contains(id) && pending_ < kQueueCapacity;
    FUZZ_CHECK(router_.RemoveParticipant(id).ok() == expect_ok);
    if (!expect_ok) return;
    control_.erase(id);
    commands_.push_back({false, id, {}});
    ++pending_;
  }

  // --- Media side -----------------------------------------------------------------------

  void Apply() {
    FUZZ_CHECK(router_.ApplyPendingCommands() == pending_);
    for (const Command& c : commands_) {
      if (c.add) {
        applied_[c.id] = c.participant;
      } else {
        applied_.erase(c.id);
        latched_.erase(c.id);
      }
    }
    commands_.clear();
    pending_ = 0;
  }

  void Tick(uint8_t tens_of_ms) {
    now_ += std::chrono::milliseconds(10 * tens_of_ms);
    sink_.sent.clear();
    router_.Tick(now_,
                 Clock::WallTime(std::chrono::seconds(1'700'000'000)) + now_.time_since_epoch(),
                 sink_);
    std::array<int, kAddresses> reports{};
    for (const Emitted& e : sink_.sent) {
      const size_t to = IndexOf(e.to);
      FUZZ_CHECK(LatchedBy(to).has_value());  // reports only to a present, latched participant
      FUZZ_CHECK(++reports[to] == 1);         // one report per participant per batch at most
      Count(to, e.size);
    }
  }

  // Hellos of a participant id (right secret unless the choice says otherwise), from one
  // of the addresses; with a cookie: the latest one sent to a chosen address for that id,
  // so it is echoed from its own address or from another.
  void SendHello(bool with_cookie, uint8_t choice) {
    const uint32_t id = 1 + in_.Byte() % kIds;
    const size_t from = in_.Byte() % kAddresses;
    Hello hello{HelloType::kHello, id, SecretOf(choice & 8 ? id + 1 : id), {}};
    if (!with_cookie) {
      const auto bytes = SerializeHello(hello);
      Route(bytes, from);
      return;
    }
    const size_t cookie_address = (choice & 4) ? in_.Byte() % kAddresses : from;
    const auto latest = latest_cookie_.find({id, cookie_address});
    if (latest != latest_cookie_.end()) hello.cookie = latest->second;
    if (choice & 2) hello.cookie[in_.Byte() % hello.cookie.size()] ^= 1;  // a forgery
    const auto bytes = SerializeHelloWithCookie(hello);
    Route(bytes, from);
  }

  void SendMutatedHello() {
    const uint32_t id = 1 + in_.Byte() % kIds;
    const size_t from = in_.Byte() % kAddresses;
    Hello hello{HelloType::kHello, id, SecretOf(id), {}};
    const auto latest = latest_cookie_.find({id, from});
    if (latest != latest_cookie_.end()) hello.cookie = latest->second;
    auto bytes = SerializeHelloWithCookie(hello);
    const size_t size = 1 + in_.Byte() % bytes.size();
    for (int n = in_.Byte() % 4; n > 0; --n) bytes[in_.Byte() % bytes.size()] ^= in_.Byte();
    Route(std::span<const uint8_t>(bytes).first(size), from);
  }

  void SendRtp(uint8_t choice) {
    const size_t from = in_.Byte() % kAddresses;
    const uint32_t ssrc = SsrcChoice(choice);
    std::array<uint8_t, 12 + 64> packet{};
    packet[0] = 0x80;
    packet[1] = (choice & 8) ? 0x6F : 0xEF;  // payload type 111, with or without the marker
    packet[2] = static_cast<uint8_t>(step_ >> 8);
    packet[3] = static_cast<uint8_t>(step_);
    ++step_;
    parley::rtp::WriteBe32(packet.data() + 8, ssrc);
    const auto payload = in_.Bytes(64);
    std::copy(payload.begin(), payload.end(), packet.begin() + 12);
    const size_t size = (choice & 4) ? in_.Byte() % 12 : 12 + payload.size();  // maybe cut short
    Route(std::span<const uint8_t>(packet).first(size), from);
  }

  void SendRtcp(uint8_t choice) {
    const size_t from = in_.Byte() % kAddresses;
    const uint32_t ssrc = SsrcChoice(choice);
    std::array<uint8_t, 256> packet{};
    size_t size = 0;
    if (choice & 8) {
      parley::rtp::ReportBlock block{};
      block.ssrc = kRelaySsrc;
      block.fraction_lost = in_.Byte();
      block.cumulative_lost = in_.Byte();
      block.extended_highest_sequence = in_.U16();
      block.jitter = in_.Byte();
      block.last_sr = in_.U32();
      block.delay_since_last_sr = in_.U16();
      size = parley::rtp::WriteReceiverReport(packet, ssrc, std::span(&block, 1));
    } else {
      const auto bytes = in_.Bytes(packet.size() - 8);
      packet[0] = 0x80;
      packet[1] = static_cast<uint8_t>(200 + (choice & 7));
      parley::rtp::WriteBe32(packet.data() + 4, ssrc);
      std::copy(bytes.begin(), bytes.end(), packet.begin() + 8);
      size = 8 + bytes.size();
    }
    Route(std::span<const uint8_t>(packet).first(size), from);
  }

  void SendGarbage() {
    const size_t from = in_.Byte() % kAddresses;
    const auto bytes = in_.Bytes(200);
    garbage_.assign(bytes.begin(), bytes.end());  // a heap copy of exactly its size
    Route(garbage_, from);
  }

  uint32_t SsrcChoice(uint8_t choice) {
    switch (choice & 3) {
      case 0:
      case 1: {
        // The SSRC of the participant latched at some address, if any.
        const uint32_t id = 1 + in_.Byte() % kIds;
        const auto it = applied_.find(id);
        return it != applied_.end() ? it->second.ssrc : 0x1000 + id;
      }
      case 2:
        return 0x2000;
      default:
        return in_.U32();
    }
  }

  // --- The model's verdict on one datagram, and the checks of what the router did -------

  void Route(std::span<const uint8_t> datagram, size_t from) {
    sink_.sent.clear();
    ledger_[from].in_datagrams += 1;
    ledger_[from].in_bytes += datagram.size();
    const RouteResult result =
        router_.Route(datagram.data(), datagram.size(), AddressOf(from), sink_);
    FUZZ_CHECK(result.copies == sink_.sent.size());
    for (const Emitted& e : sink_.sent) Count(IndexOf(e.to), e.size);

    if (!datagram.empty() && datagram[0] == kHelloMarker) {
      CheckHello(datagram, from, result);
      return;
    }
    const std::optional<uint32_t> sender = LatchedBy(from);
    const bool version2 = !datagram.empty() && (datagram[0] >> 6) == 2;
    const bool rtcp =
        datagram.size() >= 2 && (datagram[1] & 0x7F) >= 64 && (datagram[1] & 0x7F) <= 95;
    const size_t min_size = rtcp ? 8 : 12;
    const bool own_ssrc =
        sender && version2 && datagram.size() >= min_size &&
        parley::rtp::ReadBe32(datagram.data() + (rtcp ? 4 : 8)) == applied_.at(*sender).ssrc;
    if (own_ssrc && rtcp) {
      FUZZ_CHECK(result.action == RouteAction::kTerminated && sink_.sent.empty());
      return;
    }
    if (!own_ssrc || !applied_.at(*sender).rights.publish) {
      FUZZ_CHECK(result.action == RouteAction::kDropped && sink_.sent.empty());
      return;
    }
    // RTP from a latched publisher: to exactly the other latched subscribers of its room.
    std::vector<size_t> expected;
    for (const auto& [id, p] : applied_) {
      if (id == *sender || p.room != applied_.at(*sender).room || !p.rights.subscribe) continue;
      if (const auto it = latched_.find(id); it != latched_.end()) expected.push_back(it->second);
    }
    if (expected.empty()) {
      FUZZ_CHECK(result.action == RouteAction::kDropped && result.reason == DropReason::kRoomEmpty);
      FUZZ_CHECK(sink_.sent.empty());
      return;
    }
    FUZZ_CHECK(result.action == RouteAction::kForwarded);
    FUZZ_CHECK(sink_.sent.size() == expected.size());
    for (const Emitted& e : sink_.sent) {
      FUZZ_CHECK(e.data == datagram.data() && e.size == datagram.size());
      const auto it = std::find(expected.begin(), expected.end(), IndexOf(e.to));
      FUZZ_CHECK(it != expected.end());
      expected.erase(it);
    }
  }

  void CheckHello(std::span<const uint8_t> datagram, size_t from, const RouteResult& result) {
    Hello hello;
    const bool valid =
        DecodeHello(datagram, hello) == HelloFault::kNone &&
        (hello.type == HelloType::kHello || hello.type == HelloType::kHelloWithCookie);
    const auto participant = applied_.find(hello.participant_id);
    if (!valid || participant == applied_.end() || hello.secret != SecretOf(hello.participant_id)) {
      FUZZ_CHECK(result.action == RouteAction::kDropped && sink_.sent.empty());
      return;
    }
    // A valid hello of a present participant: exactly one answer, to the sender, no longer.
    FUZZ_CHECK(sink_.sent.size() == 1);
    const Emitted& answer = sink_.sent[0];
    FUZZ_CHECK(IndexOf(answer.to) == from && answer.size == kHelloBytes &&
               answer.size <= datagram.size());
    Hello decoded;
    FUZZ_CHECK(DecodeHello({answer.data, answer.size}, decoded) == HelloFault::kNone);
    FUZZ_CHECK(decoded.participant_id == hello.participant_id);
    const uint32_t id = hello.participant_id;
    const auto latched = latched_.find(id);
    if (latched != latched_.end() && latched->second == from) {
      // Keep-alive from its own address.
      FUZZ_CHECK(result.action == RouteAction::kHelloAcked && decoded.type == HelloType::kAck);
      return;
    }
    std::optional<bool> cookie_good;  // nullopt: inside the window where either is right
    if (hello.type == HelloType::kHelloWithCookie) {
      const auto issued = issued_.find(hello.cookie);
      if (issued == issued_.end() || issued->second.participant_id != id ||
          issued->second.address != from || now_ - issued->second.first >= 2 * kCookieLifetime) {
        cookie_good = false;
      } else if (now_ - issued->second.last < kCookieLifetime) {
        cookie_good = true;
      }
    } else {
      cookie_good = false;
    }
    if (result.action == RouteAction::kHelloAcked) {
      FUZZ_CHECK(cookie_good != false && decoded.type == HelloType::kAck);
      // The address moves to this participant; whoever held it loses it.
      for (auto it = latched_.begin(); it != latched_.end();) {
        it = it->second == from ? latched_.erase(it) : std::next(it);
      }
      latched_[id] = from;
      ever_latched_[from] = true;
      return;
    }
    FUZZ_CHECK(result.action == RouteAction::kChallenged && cookie_good != true);
    FUZZ_CHECK(decoded.type == HelloType::kChallenge);
    FUZZ_CHECK((result.reason == DropReason::kBadCookie) ==
               (hello.type == HelloType::kHelloWithCookie));
    auto [it, inserted] = issued_.try_emplace(decoded.cookie, IssuedCookie{id, from, now_, now_});
    if (!inserted) {
      // The same cookie again (same epoch): for the same participant and address only.
      FUZZ_CHECK(it->second.participant_id == id && it->second.address == from);
      it->second.last = now_;
    }
    latest_cookie_[{id, from}] = decoded.cookie;
  }

  // --- Bookkeeping ----------------------------------------------------------------------

  std::optional<uint32_t> LatchedBy(size_t address) const {
    for (const auto& [id, a] : latched_) {
      if (a == address) return id;
    }
    return std::nullopt;
  }

  static size_t IndexOf(const SocketAddress& address) {
    for (size_t i = 0; i < kAddresses; ++i) {
      if (AddressOf(i) == address) return i;
    }
    parley::fuzz::Fail("an emission to an address that never sent anything", __LINE__);
  }

  // Bytes sent to an address: one never latched gets no more than it sent.
  void Count(size_t to, size_t bytes) {
    Ledger& l = ledger_[to];
    l.out_datagrams += 1;
    l.out_bytes += bytes;
    if (!ever_latched_[to]) {
      FUZZ_CHECK(l.out_datagrams <= l.in_datagrams && l.out_bytes <= l.in_bytes);
    }
  }

  void CheckLatches() const {
    for (uint32_t id = 1; id <= kIds; ++id) {
      const std::optional<SocketAddress> address = router_.latched_address(id);
      const auto it = latched_.find(id);
      FUZZ_CHECK(address.has_value() == (it != latched_.end()));
      if (address) FUZZ_CHECK(*address == AddressOf(it->second));
    }
  }

  struct Command {
    bool add;
    uint32_t id;
    ModelParticipant participant;
  };
  struct Ledger {
    uint64_t in_datagrams = 0, in_bytes = 0, out_datagrams = 0, out_bytes = 0;
  };

  FuzzInput& in_;
  MediaRouter router_;
  RecordingSink sink_;
  Clock::TimePoint now_{std::chrono::seconds(1)};
  // Control side (as told) and media side (as applied).
  std::map<uint32_t, ModelParticipant> control_;
  std::array<std::optional<parley::rtp::SrtpKeyMaterial>, 4> control_room_key_{};
  std::vector<Command> commands_;
  size_t pending_ = 0;
  std::map<uint32_t, ModelParticipant> applied_;
  std::map<uint32_t, size_t> latched_;  // participant id -> address index
  std::array<bool, kAddresses> ever_latched_{};
  std::array<Ledger, kAddresses> ledger_{};
  std::map<HelloCookie, IssuedCookie> issued_;
  std::map<std::pair<uint32_t, size_t>, HelloCookie> latest_cookie_;
  std::vector<uint8_t> garbage_;
  uint16_t step_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return parley::fuzz::RunProgram<Harness>(data, size);
}
