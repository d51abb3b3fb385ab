#include "parley/relay/media_router.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "parley/base/counter.h"
#include "parley/base/spsc_queue.h"
#include "parley/relay/flat_index_map.h"
#include "parley/rtp/big_endian.h"

namespace parley::relay {
namespace {

constexpr uint32_t kNone = UINT32_MAX;
constexpr size_t kMaxParticipantsLimit = size_t{1} << 24;

constexpr size_t kRtpMinBytes = 12;  // fixed header, SSRC at 8
constexpr size_t kRtcpMinBytes = 8;  // common header + sender SSRC at 4
constexpr size_t kRtpSsrcOffset = 8;
constexpr size_t kRtcpSsrcOffset = 4;
constexpr uint8_t kRtcpFirstPayloadType = 64;  // RFC 5761 §4: 64..95 (192..223 with M)
constexpr uint8_t kRtcpLastPayloadType = 95;
constexpr uint32_t kMaxClockRateHz = 1'000'000;
// RTCP reports: how often Tick looks for due ones, and how many one look sends at most.
// 10 ms is far finer than the reports' randomised 0.5..1.5 s spread; 256 per look is
// 25,600 per second, reports for 25,000 participants at the default interval.
constexpr Clock::Duration kReportScanInterval = std::chrono::milliseconds(10);
constexpr size_t kReportSlots = 256;
// Challenges are built in a ring of this many buffers, each valid until the ring comes
// round: twice the datagrams of one receive batch, after which the media loop has sent
// them all (a batch's datagrams make at most one challenge each).
constexpr size_t kChallengeSlots = 2 * net::UdpSocket::kMaxBatch;
// SRTCP from a participant is unprotected in a copy of this size (Route's datagram is
// read-only): above any compound a client sends (client::kMaxRtcpReportBytes, 1040, plus
// the SRTCP trailer) and the media loop's 2048-byte datagrams. Larger: undecryptable.
constexpr size_t kSrtcpScratchBytes = 2048;

// A participant as the media thread knows it; indexed by slot.
struct Participant {
  // Read per packet.
  uint32_t ssrc = 0;
  uint32_t room = kNone;  // room slot
  uint32_t room_id = 0;   // as signaling named it (for the tap)
  uint32_t next_in_room = kNone;
  uint32_t previous_in_room = kNone;
  bool latched = false;
  Rights rights;
  net::SocketAddress address;  // valid when latched
  AddressKey address_key;
  // Read per hello.
  uint32_t participant_id = 0;
  JoinSecret secret{};
  std::array<uint8_t, kHelloBytes> ack{};
};

// A room as the media thread knows it: the head of its participants' list and, in an
// SRTP room, the sessions of its RTCP (see the header: one outbound session per room).
struct Room {
  uint32_t first = kNone;
  bool srtp = false;
  // Made when the room's first participant is applied; nullopt in an SRTP room only when
  // libsrtp could not make them (its RTCP is then undecryptable, its reports unsent).
  std::optional<rtp::SrtpInboundSession> srtcp_in;
  std::optional<rtp::SrtpOutboundSession> srtcp_out;
};

// A participant's counters, readable from other threads. `owner` is participant id + 1
// while the slot holds that participant (0: free), stored with release after the
// counters were reset, so a reader that sees its id sees that participant's counts.
struct alignas(64) CounterCells {
  std::atomic<uint64_t> owner{0};
  std::atomic<uint64_t> packets_in{0};
  std::atomic<uint64_t> bytes_in{0};
  std::atomic<uint64_t> packets_out{0};
  std::atomic<uint64_t> bytes_out{0};
  std::atomic<uint64_t> packets_dropped{0};
  std::atomic<uint64_t> latches{0};
};

struct Command {
  enum class Kind : uint8_t { kAdd, kRemove };
  Kind kind = Kind::kAdd;
  Rights rights;
  uint32_t slot = 0;
  uint32_t room = 0;           // room slot (kAdd)
  uint32_t room_id = 0;        // (kAdd)
  uint32_t clock_rate_hz = 0;  // (kAdd)
  uint32_t participant_id = 0;
  uint32_t ssrc = 0;
  JoinSecret secret{};
  // (kAdd) The room's SRTP key; applied when the addition creates the room.
  bool srtp = false;
  rtp::SrtpKeyMaterial srtp_key{};
};

}  // namespace

uint64_t RouterCounters::dropped_total() const {
  uint64_t total = 0;
  for (uint64_t count : dropped) total += count;
  return total;
}

std::string_view DropReasonName(DropReason reason) {
  switch (reason) {
    case DropReason::kTooShort:
      return "too_short";
    case DropReason::kNotRtp:
      return "not_rtp";
    case DropReason::kBadHello:
      return "bad_hello";
    case DropReason::kUnknownParticipant:
      return "unknown_participant";
    case DropReason::kBadSecret:
      return "bad_secret";
    case DropReason::kBadCookie:
      return "bad_cookie";
    case DropReason::kUnknownSource:
      return "unknown_source";
    case DropReason::kSsrcMismatch:
      return "ssrc_mismatch";
    case DropReason::kNotPublisher:
      return "not_publisher";
    case DropReason::kRoomEmpty:
      return "room_empty";
  }
  return "unknown";
}

struct MediaRouter::Impl {
  explicit Impl(const Config& c)
      : config(c),
        commands(c.command_queue_capacity),
        participants(c.max_participants),
        rooms(c.max_participants),  // a room exists only while it has a participant
        counters(std::make_unique<CounterCells[]>(c.max_participants)),
        by_address(c.max_participants),
        by_id(c.max_participants),
        rtcp_terminator(c.max_participants, c.rtcp),
        cookies(c.cookie_key ? *c.cookie_key : HelloCookieMaker::RandomKey(), c.cookie_lifetime) {
    peer_scratch.reserve(c.max_participants_per_room);
    active_slots.reserve(c.max_participants);  // never grows past: no allocation later
    report_arena.resize(kReportSlots * ReportSlotBytes());
    // Slots are handed out lowest first.
    for (size_t i = c.max_participants; i-- > 0;) {
      free_participant_slots.push_back(static_cast<uint32_t>(i));
      free_room_slots.push_back(static_cast<uint32_t>(i));
    }
  }

  // An arena slot: the largest report and room for the SRTCP trailer libsrtp may write.
  size_t ReportSlotBytes() const {
    return rtcp_terminator.MaxReportBytes() + rtp::kSrtpMaxRtcpOverheadBytes;
  }

  // --- Media side ---

  RouteResult Drop(DropReason reason) {
    Bump(dropped[static_cast<size_t>(reason)], 1);
    return RouteResult{RouteAction::kDropped, reason, 0};
  }

  // A drop of a packet from a latched participant: also on its own counters.
  RouteResult DropFrom(uint32_t slot, DropReason reason) {
    Bump(counters[slot].packets_dropped, 1);
    return Drop(reason);
  }

  void Emit(uint32_t slot, std::span<const uint8_t> payload, const net::SocketAddress& to,
            OutputSink& sink) {
    sink.Emit(payload, to);
    Bump(counters[slot].packets_out, 1);
    Bump(counters[slot].bytes_out, payload.size());
    Bump(copies_out, 1);
    Bump(bytes_out, payload.size());
  }

  void Unlatch(Participant& p) {
    if (!p.latched) return;
    by_address.Erase(p.address_key);
    p.latched = false;
  }

  // Answers a valid hello from an address not latched to its participant: a challenge
  // whose cookie only that address can echo. Counted as a bad cookie when the hello
  // carried one that failed (stale, made for another address, or forged): the fresh
  // challenge lets an honest client whose mapping moved, or whose cookie aged, recover.
  // Never longer than the hello it answers (24 bytes for 24 or 40).
  RouteResult Challenge(const Hello& hello, const AddressKey& key, const net::SocketAddress& from,
                        OutputSink& sink) {
    Hello challenge{HelloType::kChallenge, hello.participant_id, {}, {}};
    if (!cookies.Make(hello.participant_id, hello.secret, key, now, challenge.cookie)) {
      return Drop(DropReason::kBadCookie);  // OpenSSL failed: nothing to send
    }
    const bool refused_cookie = hello.type == HelloType::kHelloWithCookie;
    if (refused_cookie) Bump(dropped[static_cast<size_t>(DropReason::kBadCookie)], 1);
    std::array<uint8_t, kHelloBytes>& bytes = challenges[next_challenge];
    next_challenge = (next_challenge + 1) % kChallengeSlots;
    bytes = SerializeHello(challenge);
    sink.Emit(bytes, from);
    Bump(hellos_challenged, 1);
    Bump(copies_out, 1);
    Bump(bytes_out, bytes.size());
    return RouteResult{RouteAction::kChallenged,
                       refused_cookie ? DropReason::kBadCookie : DropReason::kNotRtp, 1};
  }

  RouteResult RouteHello(const uint8_t* data, size_t size, const net::SocketAddress& from,
                         OutputSink& sink) {
    Hello hello;
    if (DecodeHello({data, size}, hello) != HelloFault::kNone ||
        (hello.type != HelloType::kHello && hello.type != HelloType::kHelloWithCookie)) {
      return Drop(DropReason::kBadHello);
    }
    // The cheap refusals come first: no HMAC is computed for an unknown id or a wrong
    // secret, so only a holder of a valid secret can make the relay spend one.
    const uint32_t slot = by_id.Find(hello.participant_id);
    if (slot == by_id.kNotFound) return Drop(DropReason::kUnknownParticipant);
    Participant& p = participants[slot];
    if (!SecretsEqual(hello.secret, p.secret)) return Drop(DropReason::kBadSecret);

    const AddressKey key = AddressKey::Of(from);
    const uint32_t holder = by_address.Find(key);
    if (holder != slot) {
      // Not this participant's address (yet): it is latched only once it has echoed a
      // cookie made for it, proof that it receives what is sent there.
      if (hello.type != HelloType::kHelloWithCookie ||
          !cookies.Check(hello.cookie, hello.participant_id, p.secret, key, now)) {
        return Challenge(hello, key, from, sink);
      }
      // The address moves to this participant: whoever held it (a NAT reused the
      // mapping) loses it, and this participant's previous address is forgotten.
      if (holder != by_address.kNotFound) Unlatch(participants[holder]);
      Unlatch(p);
      // Cannot fail: at most one address per participant, and the table holds as many.
      (void)by_address.Insert(key, slot);
      p.latched = true;
      p.address = from;
      p.address_key = key;
      Bump(counters[slot].latches, 1);
    }
    Bump(counters[slot].packets_in, 1);
    Bump(counters[slot].bytes_in, size);
    Bump(hellos_acked, 1);
    Emit(slot, p.ack, from, sink);
    return RouteResult{RouteAction::kHelloAcked, DropReason::kNotRtp, 1};
  }

  RouteResult Route(const uint8_t* data, size_t size, const net::SocketAddress& from,
                    OutputSink& sink) {
    if (size == 0) return Drop(DropReason::kTooShort);
    const uint8_t first = data[0];
    if (first == kHelloMarker) return RouteHello(data, size, from, sink);
    if ((first >> 6) != 2) return Drop(DropReason::kNotRtp);
    if (size < 2) return Drop(DropReason::kTooShort);
    const uint8_t payload_type = data[1] & 0x7F;
    const bool rtcp = payload_type >= kRtcpFirstPayloadType && payload_type <= kRtcpLastPayloadType;
    if (size < (rtcp ? kRtcpMinBytes : kRtpMinBytes)) return Drop(DropReason::kTooShort);

    const uint32_t slot = by_address.Find(AddressKey::Of(from));
    if (slot == by_address.kNotFound) return Drop(DropReason::kUnknownSource);
    const Participant& sender = participants[slot];
    Bump(counters[slot].packets_in, 1);
    Bump(counters[slot].bytes_in, size);
    if (rtp::ReadBe32(data + (rtcp ? kRtcpSsrcOffset : kRtpSsrcOffset)) != sender.ssrc) {
      return DropFrom(slot, DropReason::kSsrcMismatch);
    }
    if (!rtcp && !sender.rights.publish) return DropFrom(slot, DropReason::kNotPublisher);
    const std::span<const uint8_t> packet(data, size);
    if (rtcp) {
      Bump(rtcp_received, 1);
      std::span<const uint8_t> compound = packet;
      if (Room& room = rooms[sender.room]; room.srtp) {
        const std::optional<size_t> plain = UnprotectRtcp(room, packet);
        if (!plain) {
          Bump(rtcp_undecryptable, 1);
          return RouteResult{RouteAction::kTerminated, DropReason::kNotRtp, 0};
        }
        compound = std::span<const uint8_t>(srtcp_scratch).first(*plain);
      }
      if (!rtcp_terminator.OnRtcp(slot, compound, GatherPeers(slot), now, wall_now)) {
        Bump(rtcp_malformed, 1);
      }
      return RouteResult{RouteAction::kTerminated, DropReason::kNotRtp, 0};
    }
    rtcp_terminator.OnRtp(slot, packet, now);
    if (rtp_tap != nullptr) rtp_tap->OnRtp(sender.room_id, sender.participant_id, packet, now);

    uint32_t copies = 0;
    for (uint32_t m = rooms[sender.room].first; m != kNone; m = participants[m].next_in_room) {
      const Participant& receiver = participants[m];
      if (m == slot || !receiver.latched || !receiver.rights.subscribe) continue;
      Emit(m, packet, receiver.address, sink);
      ++copies;
    }
    if (copies == 0) return DropFrom(slot, DropReason::kRoomEmpty);
    Bump(rtp_forwarded, 1);
    return RouteResult{RouteAction::kForwarded, DropReason::kNotRtp, copies};
  }

  // SRTCP from a member of `room`, authenticated and decrypted into srtcp_scratch: the
  // plain compound's length, or nullopt when it is refused (libsrtp counts why).
  std::optional<size_t> UnprotectRtcp(Room& room, std::span<const uint8_t> packet) {
    if (!room.srtcp_in || packet.size() > srtcp_scratch.size()) return std::nullopt;
    std::copy(packet.begin(), packet.end(), srtcp_scratch.begin());
    return room.srtcp_in->TryUnprotectRtcp(std::span(srtcp_scratch).first(packet.size()));
  }

  // The other members of `slot`'s room, and whether each one's RTP reaches it, into a
  // scratch list sized for the largest room (valid until the next call).
  std::span<const RtcpTerminator::Peer> GatherPeers(uint32_t slot) {
    const Participant& self = participants[slot];
    peer_scratch.clear();
    for (uint32_t m = rooms[self.room].first; m != kNone; m = participants[m].next_in_room) {
      if (m == slot) continue;
      peer_scratch.push_back(
          {m, self.rights.subscribe && participants[m].rights.publish && self.latched});
    }
    return peer_scratch;
  }

  // Sends the RTCP reports that are due, at most kReportSlots per call (the rest wait for
  // the next scan). Each is built in its own arena slot, which stays untouched until the
  // media loop has sent the batch. In an SRTP room the report is protected in its slot by
  // the room's one outbound session, so the reports of a room take successive SRTCP
  // indexes whoever they go to.
  void EmitDueReports(OutputSink& sink) {
    if (now < next_report_scan) return;
    next_report_scan = now + kReportScanInterval;
    const size_t slot_bytes = ReportSlotBytes();
    size_t written = 0;
    for (const uint32_t slot : active_slots) {
      if (written == kReportSlots) break;
      const Participant& p = participants[slot];
      if (!p.latched || !rtcp_terminator.ReportDue(slot, now)) continue;
      const std::span<uint8_t> out =
          std::span(report_arena).subspan(written * slot_bytes, slot_bytes);
      size_t bytes = rtcp_terminator.WriteReport(slot, GatherPeers(slot), now, wall_now, out);
      if (Room& room = rooms[p.room]; room.srtp) {
        // Never in the clear: without a session, or refused by libsrtp, it is not sent.
        const std::optional<size_t> protected_bytes =
            room.srtcp_out ? room.srtcp_out->TryProtectRtcp(out, bytes) : std::nullopt;
        if (!protected_bytes) {
          Bump(rtcp_protect_failures, 1);
          continue;
        }
        bytes = *protected_bytes;
      }
      Emit(slot, out.first(bytes), p.address, sink);
      Bump(rtcp_reports_sent, 1);
      ++written;
    }
  }

  // A new room's SRTCP sessions, from the key its first participant's command carries.
  static void OpenRoom(Room& room, const Command& command) {
    room = Room{};
    if (!command.srtp) return;
    room.srtp = true;
    Result<rtp::SrtpInboundSession> in = rtp::SrtpInboundSession::Create(command.srtp_key);
    Result<rtp::SrtpOutboundSession> out = rtp::SrtpOutboundSession::Create(command.srtp_key);
    // Both or neither: a room that can read but not answer, or the reverse, would only
    // half work; without them its RTCP is counted undecryptable and no report is sent.
    if (in && out) {
      room.srtcp_in.emplace(std::move(in).value());
      room.srtcp_out.emplace(std::move(out).value());
    }
  }

  void Apply(const Command& command) {
    Participant& p = participants[command.slot];
    CounterCells& cells = counters[command.slot];
    Room& room = rooms[command.kind == Command::Kind::kAdd ? command.room : p.room];
    if (command.kind == Command::Kind::kAdd) {
      if (room.first == kNone) OpenRoom(room, command);
      p = Participant{};
      p.ssrc = command.ssrc;
      p.room = command.room;
      p.room_id = command.room_id;
      p.rights = command.rights;
      p.participant_id = command.participant_id;
      p.secret = command.secret;
      p.ack = SerializeHello(Hello{HelloType::kAck, command.participant_id, command.secret});
      // Newest first: order within a room does not matter to forwarding.
      p.next_in_room = room.first;
      if (room.first != kNone) participants[room.first].previous_in_room = command.slot;
      room.first = command.slot;
      (void)by_id.Insert(command.participant_id, command.slot);
      active_slots.insert(std::lower_bound(active_slots.begin(), active_slots.end(), command.slot),
                          command.slot);
      rtcp_terminator.Add(command.slot, command.ssrc, command.clock_rate_hz, now);
      for (auto* cell : {&cells.packets_in, &cells.bytes_in, &cells.packets_out, &cells.bytes_out,
                         &cells.packets_dropped, &cells.latches}) {
        cell->store(0, std::memory_order_relaxed);
      }
      cells.owner.store(uint64_t{command.participant_id} + 1, std::memory_order_release);
      return;
    }
    cells.owner.store(0, std::memory_order_release);
    if (const auto it = std::lower_bound(active_slots.begin(), active_slots.end(), command.slot);
        it != active_slots.end() && *it == command.slot) {
      active_slots.erase(it);
    }
    rtcp_terminator.Remove(command.slot);
    Unlatch(p);
    (void)by_id.Erase(p.participant_id);
    if (p.previous_in_room != kNone) {
      participants[p.previous_in_room].next_in_room = p.next_in_room;
    } else {
      room.first = p.next_in_room;
    }
    if (p.next_in_room != kNone) participants[p.next_in_room].previous_in_room = p.previous_in_room;
    if (room.first == kNone) {
      room = Room{};  // its last participant: the sessions go with it
    } else if (room.srtcp_in) {
      (void)room.srtcp_in->RemoveSsrc(p.ssrc);  // false when it never sent SRTCP
    }
    p = Participant{};
  }

  // --- Control side ---

  Status Post(const Command& command) {
    if (!commands.TryPush(command)) {
      return Error{fmt::format(
          "relay media command queue full ({} pending): the media thread is not keeping up",
          commands.capacity())};
    }
    return Status::Ok();
  }

  Status Add(uint32_t room_id, uint32_t participant_id, uint32_t ssrc, const JoinSecret& secret,
             Rights rights, uint32_t clock_rate_hz,
             const std::optional<rtp::SrtpKeyMaterial>& srtp) {
    if (clock_rate_hz == 0 || clock_rate_hz > kMaxClockRateHz) {
      return Error{fmt::format("participant {}: RTP clock rate {} Hz outside 1..{}", participant_id,
                               clock_rate_hz, kMaxClockRateHz)};
    }
    if (control_participants.count(participant_id) > 0) {
      return Error{fmt::format("participant {} is already in a room", participant_id)};
    }
    const uint64_t room_ssrc = (uint64_t{room_id} << 32) | ssrc;
    if (control_ssrcs.count(room_ssrc) > 0) {
      return Error{fmt::format("SSRC {:#010x} is already used in room {}", ssrc, room_id)};
    }
    if (free_participant_slots.empty()) {
      return Error{
          fmt::format("relay full: {} participants (max_participants)", config.max_participants)};
    }
    const auto room_it = control_rooms.find(room_id);
    if (room_it != control_rooms.end() &&
        room_it->second.members >= config.max_participants_per_room) {
      return Error{fmt::format("room {} full: {} participants (max_participants_per_room)", room_id,
                               room_it->second.members)};
    }
    if (room_it != control_rooms.end() && room_it->second.srtp != srtp) {
      // A room has one key for its lifetime, or none.
      if (!srtp) {
        return Error{
            fmt::format("participant {}: room {} has SRTP: give its key", participant_id, room_id)};
      }
      if (!room_it->second.srtp) {
        return Error{fmt::format("participant {}: room {} has no SRTP: give no key", participant_id,
                                 room_id)};
      }
      return Error{
          fmt::format("participant {}: SRTP key differs from room {}'s", participant_id, room_id)};
    }
    if (srtp && ssrc == rtcp_terminator.relay_ssrc()) {
      return Error{fmt::format(
          "SSRC {:#010x} is the relay's own RTCP SSRC: in an SRTP room its SRTCP would reuse "
          "the keystream of the relay's reports",
          ssrc)};
    }
    Command command;
    command.kind = Command::Kind::kAdd;
    command.rights = rights;
    command.slot = free_participant_slots.back();
    command.room = room_it != control_rooms.end() ? room_it->second.slot : free_room_slots.back();
    command.room_id = room_id;
    command.clock_rate_hz = clock_rate_hz;
    command.participant_id = participant_id;
    command.ssrc = ssrc;
    command.secret = secret;
    command.srtp = srtp.has_value();
    if (srtp) command.srtp_key = *srtp;
    if (Status posted = Post(command); !posted) return posted;
    // Posted: commit the bookkeeping.
    free_participant_slots.pop_back();
    if (room_it == control_rooms.end()) {
      free_room_slots.pop_back();
      control_rooms.emplace(room_id, ControlRoom{command.room, 1, srtp});
    } else {
      ++room_it->second.members;
    }
    control_participants.emplace(participant_id, ControlParticipant{command.slot, room_id, ssrc});
    control_ssrcs.insert(room_ssrc);
    return Status::Ok();
  }

  Status Remove(uint32_t participant_id) {
    const auto it = control_participants.find(participant_id);
    if (it == control_participants.end()) {
      return Error{fmt::format("participant {} is not in any room", participant_id)};
    }
    const ControlParticipant participant = it->second;
    Command command;
    command.kind = Command::Kind::kRemove;
    command.slot = participant.slot;
    command.participant_id = participant_id;
    if (Status posted = Post(command); !posted) return posted;
    // A slot freed here is reused only by a later command, which the media thread
    // applies after this removal (the queue keeps order).
    control_participants.erase(it);
    control_ssrcs.erase((uint64_t{participant.room_id} << 32) | participant.ssrc);
    free_participant_slots.push_back(participant.slot);
    ControlRoom& room = control_rooms.at(participant.room_id);
    if (--room.members == 0) {
      free_room_slots.push_back(room.slot);
      control_rooms.erase(participant.room_id);
    }
    return Status::Ok();
  }

  std::optional<ParticipantCounters> Counters(uint32_t participant_id) const {
    const auto it = control_participants.find(participant_id);
    if (it == control_participants.end()) return std::nullopt;
    const CounterCells& cells = counters[it->second.slot];
    const uint64_t owner = uint64_t{participant_id} + 1;
    if (cells.owner.load(std::memory_order_acquire) != owner) return ParticipantCounters{};
    ParticipantCounters out;
    out.packets_in = cells.packets_in.load(std::memory_order_relaxed);
    out.bytes_in = cells.bytes_in.load(std::memory_order_relaxed);
    out.packets_out = cells.packets_out.load(std::memory_order_relaxed);
    out.bytes_out = cells.bytes_out.load(std::memory_order_relaxed);
    out.packets_dropped = cells.packets_dropped.load(std::memory_order_relaxed);
    out.latches = cells.latches.load(std::memory_order_relaxed);
    return out;
  }

  const Config config;

  // --- Shared: the command queue (control produces, media consumes) ---
  SpscQueue<Command> commands;

  // --- Media side: owned by the media thread ---
  std::vector<Participant> participants;                // by slot
  std::vector<Room> rooms;                              // by room slot
  std::unique_ptr<CounterCells[]> counters;             // by slot; written by the media thread only
  FlatIndexMap<AddressKey, AddressKeyHash> by_address;  // latched address -> slot
  FlatIndexMap<uint32_t, U32KeyHash> by_id;             // participant id -> slot
  std::array<std::atomic<uint64_t>, kDropReasonCount> dropped{};
  std::atomic<uint64_t> rtp_forwarded{0};
  std::atomic<uint64_t> rtcp_received{0};
  std::atomic<uint64_t> rtcp_malformed{0};
  std::atomic<uint64_t> rtcp_undecryptable{0};
  std::atomic<uint64_t> rtcp_reports_sent{0};
  std::atomic<uint64_t> rtcp_protect_failures{0};
  RtcpTerminator rtcp_terminator;
  std::vector<RtcpTerminator::Peer> peer_scratch;  // capacity: the largest room
  std::vector<uint8_t> report_arena;               // kReportSlots reports (ReportSlotBytes)
  std::array<uint8_t, kSrtcpScratchBytes> srtcp_scratch{};
  Clock::TimePoint next_report_scan{};
  // Slots of the participants present (applied additions): what the report scan walks,
  // so that a tick costs what is present, not what the relay is sized for. Kept in
  // ascending order, the order in which a walk over every slot meets them, because each
  // report draws the next one's time from the generator: the order is behaviour. Kept at
  // each addition and removal by a binary search and a move of the entries after it (at
  // most max_participants x 4 bytes); capacity reserved at construction.
  std::vector<uint32_t> active_slots;
  std::atomic<uint64_t> hellos_acked{0};
  std::atomic<uint64_t> hellos_challenged{0};
  std::atomic<uint64_t> copies_out{0};
  std::atomic<uint64_t> bytes_out{0};
  HelloCookieMaker cookies;
  std::array<std::array<uint8_t, kHelloBytes>, kChallengeSlots> challenges{};  // a ring
  size_t next_challenge = 0;
  RtpTap* rtp_tap = nullptr;
  Clock::TimePoint now{};  // of the batch being routed (Tick)
  Clock::WallTime wall_now{};

  // --- Control side: owned by the control thread ---
  struct ControlParticipant {
    uint32_t slot;
    uint32_t room_id;
    uint32_t ssrc;
  };
  struct ControlRoom {
    uint32_t slot;
    size_t members;
    std::optional<rtp::SrtpKeyMaterial> srtp;  // the room's key, from its first participant
  };
  std::unordered_map<uint32_t, ControlParticipant> control_participants;
  std::unordered_map<uint32_t, ControlRoom> control_rooms;
  std::unordered_set<uint64_t> control_ssrcs;    // room id << 32 | SSRC
  std::vector<uint32_t> free_participant_slots;  // lowest slot at the back
  std::vector<uint32_t> free_room_slots;
};

namespace {

const MediaRouterConfig& Validated(const MediaRouterConfig& config) {
  if (config.max_participants == 0 || config.max_participants > kMaxParticipantsLimit) {
    throw std::invalid_argument(fmt::format("MediaRouter: max_participants {} outside 1..{}",
                                            config.max_participants, kMaxParticipantsLimit));
  }
  if (config.max_participants_per_room == 0 ||
      config.max_participants_per_room > config.max_participants) {
    throw std::invalid_argument(
        fmt::format("MediaRouter: max_participants_per_room {} outside 1..max_participants {}",
                    config.max_participants_per_room, config.max_participants));
  }
  if (config.command_queue_capacity == 0) {
    throw std::invalid_argument("MediaRouter: command_queue_capacity must be > 0");
  }
  if (config.cookie_lifetime.count() <= 0) {
    throw std::invalid_argument(fmt::format("MediaRouter: cookie_lifetime {} ms must be > 0",
                                            config.cookie_lifetime.count()));
  }
  return config;
}

}  // namespace

MediaRouter::MediaRouter(const Config& config) : impl_(std::make_unique<Impl>(Validated(config))) {}

MediaRouter::~MediaRouter() = default;

Status MediaRouter::AddParticipant(uint32_t room_id, uint32_t participant_id, uint32_t ssrc,
                                   const JoinSecret& secret, Rights rights, uint32_t clock_rate_hz,
                                   const std::optional<rtp::SrtpKeyMaterial>& srtp) {
  return impl_->Add(room_id, participant_id, ssrc, secret, rights, clock_rate_hz, srtp);
}

Status MediaRouter::RemoveParticipant(uint32_t participant_id) {
  return impl_->Remove(participant_id);
}

std::optional<ParticipantCounters> MediaRouter::participant_counters(
    uint32_t participant_id) const {
  return impl_->Counters(participant_id);
}

std::optional<LinkStats> MediaRouter::link_stats(uint32_t participant_id) const {
  const auto it = impl_->control_participants.find(participant_id);
  if (it == impl_->control_participants.end()) return std::nullopt;
  const uint32_t slot = it->second.slot;
  const uint64_t owner = uint64_t{participant_id} + 1;
  if (impl_->counters[slot].owner.load(std::memory_order_acquire) != owner) return LinkStats{};
  return impl_->rtcp_terminator.link_stats(slot);
}

const LinkHistograms& MediaRouter::link_histograms() const {
  return impl_->rtcp_terminator.histograms();
}

uint32_t MediaRouter::relay_ssrc() const { return impl_->rtcp_terminator.relay_ssrc(); }

size_t MediaRouter::participant_count() const { return impl_->control_participants.size(); }

size_t MediaRouter::room_count() const { return impl_->control_rooms.size(); }

size_t MediaRouter::ApplyPendingCommands() {
  size_t applied = 0;
  Command command;
  while (impl_->commands.TryPop(command)) {
    impl_->Apply(command);
    ++applied;
  }
  return applied;
}

void MediaRouter::Tick(Clock::TimePoint now, Clock::WallTime wall_now, OutputSink& sink) {
  impl_->now = now;
  impl_->wall_now = wall_now;
  impl_->EmitDueReports(sink);
}

void MediaRouter::SetRtpTap(RtpTap* tap) { impl_->rtp_tap = tap; }

RouteResult MediaRouter::Route(const uint8_t* data, size_t size, const net::SocketAddress& from,
                               OutputSink& sink) {
  return impl_->Route(data, size, from, sink);
}

std::optional<net::SocketAddress> MediaRouter::latched_address(uint32_t participant_id) const {
  const uint32_t slot = impl_->by_id.Find(participant_id);
  if (slot == impl_->by_id.kNotFound || !impl_->participants[slot].latched) return std::nullopt;
  return impl_->participants[slot].address;
}

RouterCounters MediaRouter::counters() const {
  RouterCounters out;
  for (size_t i = 0; i < kDropReasonCount; ++i) {
    out.dropped[i] = impl_->dropped[i].load(std::memory_order_relaxed);
  }
  out.rtp_forwarded = impl_->rtp_forwarded.load(std::memory_order_relaxed);
  out.rtcp_received = impl_->rtcp_received.load(std::memory_order_relaxed);
  out.rtcp_malformed = impl_->rtcp_malformed.load(std::memory_order_relaxed);
  out.rtcp_undecryptable = impl_->rtcp_undecryptable.load(std::memory_order_relaxed);
  out.rtcp_reports_sent = impl_->rtcp_reports_sent.load(std::memory_order_relaxed);
  out.rtcp_protect_failures = impl_->rtcp_protect_failures.load(std::memory_order_relaxed);
  out.hellos_acked = impl_->hellos_acked.load(std::memory_order_relaxed);
  out.hellos_challenged = impl_->hellos_challenged.load(std::memory_order_relaxed);
  out.copies_out = impl_->copies_out.load(std::memory_order_relaxed);
  out.bytes_out = impl_->bytes_out.load(std::memory_order_relaxed);
  return out;
}

}  // namespace parley::relay
