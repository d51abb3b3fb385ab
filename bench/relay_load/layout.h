// Who the load generator pretends to be: `rooms` rooms of `per_room` participants, all on
// one UDP socket, told apart by their source IPv4 address.
//
// Participant i (0-based) is in room i / per_room and speaks from 127.16.0.0 + (i + 1) at
// the generator's one port: the whole of 127.0.0.0/8 is local on Linux, so a socket
// bound to 0.0.0.0 can send from any of these addresses (IP_PKTINFO) and receives what
// is sent to any of them. One socket instead of one per participant lets the generator
// move 64 participants' packets per system call in both directions, so that it is not
// the bottleneck of a benchmark about the relay; to the relay they are as many distinct
// source addresses as there are participants.
//
// Join data is a pure function of the index: participant id i + 1, SSRC 0x50000000 + i,
// room id room + 1, a secret from a fixed-seed generator (join_secret()).
//
// Threading: an immutable value after construction.
#pragma once

#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "parley/net/udp_socket.h"
#include "parley/relay/hello.h"

namespace parley::relay_load {

class Layout {
 public:
  static constexpr uint32_t kBaseIpv4 = 0x7F100000;  // 127.16.0.0
  static constexpr size_t kMaxParticipants = 65535;
  static constexpr uint32_t kSsrcBase = 0x50000000;

  // Throws std::invalid_argument when rooms * per_room is 0 or above kMaxParticipants, or
  // per_room < 2 (nobody to forward to).
  Layout(size_t rooms, size_t per_room, uint16_t port);

  size_t rooms() const { return rooms_; }
  size_t per_room() const { return per_room_; }
  size_t participants() const { return rooms_ * per_room_; }
  uint16_t port() const { return port_; }

  size_t room_of(size_t participant) const { return participant / per_room_; }
  size_t first_in_room(size_t room) const { return room * per_room_; }
  // Host byte order.
  uint32_t ipv4_of(size_t participant) const {
    return kBaseIpv4 + static_cast<uint32_t>(participant) + 1;
  }
  // The participant speaking from `ipv4` (host byte order), or nullopt.
  std::optional<size_t> participant_of(uint32_t ipv4) const;
  sockaddr_in sockaddr_of(size_t participant) const;
  net::SocketAddress address_of(size_t participant) const;

  uint32_t participant_id(size_t participant) const {
    return static_cast<uint32_t>(participant) + 1;
  }
  uint32_t room_id(size_t room) const { return static_cast<uint32_t>(room) + 1; }
  uint32_t ssrc(size_t participant) const { return kSsrcBase + static_cast<uint32_t>(participant); }
  const relay::JoinSecret& join_secret(size_t participant) const { return secrets_[participant]; }

 private:
  size_t rooms_;
  size_t per_room_;
  uint16_t port_;
  std::vector<relay::JoinSecret> secrets_;
};

}  // namespace parley::relay_load
