#include "parley/relay/media_router.h"

#include <fmt/format.h>

#include <atomic>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "parley/relay/flat_index_map.h"
#include "parley/relay/spsc_queue.h"
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

// One writer (the media thread): a plain add, published without a locked instruction.
void Bump(std::atomic<uint64_t>& counter, uint64_t amount) {
  counter.store(counter.load(std::memory_order_relaxed) + amount, std::memory_order_relaxed);
}

// A participant as the media thread knows it; indexed by slot.
struct Participant {
  // Read per packet.
  uint32_t ssrc = 0;
  uint32_t room = kNone;  // room slot
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

// A room as the media thread knows it: the head of its participants' list.
struct Room {
  uint32_t first = kNone;
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
  uint32_t room = 0;  // room slot (kAdd)
  uint32_t participant_id = 0;
  uint32_t ssrc = 0;
  JoinSecret secret{};
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
        by_id(c.max_participants) {
    // Slots are handed out lowest first.
    for (size_t i = c.max_participants; i-- > 0;) {
      free_participant_slots.push_back(static_cast<uint32_t>(i));
      free_room_slots.push_back(static_cast<uint32_t>(i));
    }
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

  RouteResult RouteHello(const uint8_t* data, size_t size, const net::SocketAddress& from,
                         OutputSink& sink) {
    Hello hello;
    if (DecodeHello({data, size}, hello) != HelloFault::kNone || hello.type != HelloType::kHello) {
      return Drop(DropReason::kBadHello);
    }
    const uint32_t slot = by_id.Find(hello.participant_id);
    if (slot == by_id.kNotFound) return Drop(DropReason::kUnknownParticipant);
    Participant& p = participants[slot];
    if (!SecretsEqual(hello.secret, p.secret)) return Drop(DropReason::kBadSecret);

    const AddressKey key = AddressKey::Of(from);
    const uint32_t holder = by_address.Find(key);
    if (holder != slot) {
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

    const std::span<const uint8_t> payload(data, size);
    uint32_t copies = 0;
    for (uint32_t m = rooms[sender.room].first; m != kNone; m = participants[m].next_in_room) {
      const Participant& receiver = participants[m];
      if (m == slot || !receiver.latched || (!rtcp && !receiver.rights.subscribe)) continue;
      Emit(m, payload, receiver.address, sink);
      ++copies;
    }
    if (copies == 0) return DropFrom(slot, DropReason::kRoomEmpty);
    Bump(rtcp ? rtcp_forwarded : rtp_forwarded, 1);
    return RouteResult{RouteAction::kForwarded, DropReason::kNotRtp, copies};
  }

  void Apply(const Command& command) {
    Participant& p = participants[command.slot];
    CounterCells& cells = counters[command.slot];
    Room& room = rooms[command.kind == Command::Kind::kAdd ? command.room : p.room];
    if (command.kind == Command::Kind::kAdd) {
      p = Participant{};
      p.ssrc = command.ssrc;
      p.room = command.room;
      p.rights = command.rights;
      p.participant_id = command.participant_id;
      p.secret = command.secret;
      p.ack = SerializeHello(Hello{HelloType::kAck, command.participant_id, command.secret});
      // Newest first: order within a room does not matter to forwarding.
      p.next_in_room = room.first;
      if (room.first != kNone) participants[room.first].previous_in_room = command.slot;
      room.first = command.slot;
      (void)by_id.Insert(command.participant_id, command.slot);
      for (auto* cell : {&cells.packets_in, &cells.bytes_in, &cells.packets_out, &cells.bytes_out,
                         &cells.packets_dropped, &cells.latches}) {
        cell->store(0, std::memory_order_relaxed);
      }
      cells.owner.store(uint64_t{command.participant_id} + 1, std::memory_order_release);
      return;
    }
    cells.owner.store(0, std::memory_order_release);
    Unlatch(p);
    (void)by_id.Erase(p.participant_id);
    if (p.previous_in_room != kNone) {
      participants[p.previous_in_room].next_in_room = p.next_in_room;
    } else {
      room.first = p.next_in_room;
    }
    if (p.next_in_room != kNone) participants[p.next_in_room].previous_in_room = p.previous_in_room;
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
             Rights rights) {
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
    Command command;
    command.kind = Command::Kind::kAdd;
    command.rights = rights;
    command.slot = free_participant_slots.back();
    command.room = room_it != control_rooms.end() ? room_it->second.slot : free_room_slots.back();
    command.participant_id = participant_id;
    command.ssrc = ssrc;
    command.secret = secret;
    if (Status posted = Post(command); !posted) return posted;
    // Posted: commit the bookkeeping.
    free_participant_slots.pop_back();
    if (room_it == control_rooms.end()) {
      free_room_slots.pop_back();
      control_rooms.emplace(room_id, ControlRoom{command.room, 1});
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
  std::atomic<uint64_t> rtcp_forwarded{0};
  std::atomic<uint64_t> hellos_acked{0};
  std::atomic<uint64_t> copies_out{0};
  std::atomic<uint64_t> bytes_out{0};

  // --- Control side: owned by the control thread ---
  struct ControlParticipant {
    uint32_t slot;
    uint32_t room_id;
    uint32_t ssrc;
  };
  struct ControlRoom {
    uint32_t slot;
    size_t members;
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
  return config;
}

}  // namespace

MediaRouter::MediaRouter(const Config& config) : impl_(std::make_unique<Impl>(Validated(config))) {}

MediaRouter::~MediaRouter() = default;

Status MediaRouter::AddParticipant(uint32_t room_id, uint32_t participant_id, uint32_t ssrc,
                                   const JoinSecret& secret, Rights rights) {
  return impl_->Add(room_id, participant_id, ssrc, secret, rights);
}

Status MediaRouter::RemoveParticipant(uint32_t participant_id) {
  return impl_->Remove(participant_id);
}

std::optional<ParticipantCounters> MediaRouter::participant_counters(
    uint32_t participant_id) const {
  return impl_->Counters(participant_id);
}

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
  out.rtcp_forwarded = impl_->rtcp_forwarded.load(std::memory_order_relaxed);
  out.hellos_acked = impl_->hellos_acked.load(std::memory_order_relaxed);
  out.copies_out = impl_->copies_out.load(std::memory_order_relaxed);
  out.bytes_out = impl_->bytes_out.load(std::memory_order_relaxed);
  return out;
}

}  // namespace parley::relay
