#include "layout.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <random>
#include <stdexcept>

namespace parley::relay_load {
namespace {

constexpr uint64_t kSecretSeed = 0x5EED'5EC4'E700ULL;

}  // namespace

Layout::Layout(size_t rooms, size_t per_room, uint16_t port)
    : rooms_(rooms), per_room_(per_room), port_(port) {
  if (per_room < 2) {
    throw std::invalid_argument(fmt::format("Layout: per_room {} < 2", per_room));
  }
  if (rooms == 0 || rooms * per_room > kMaxParticipants) {
    throw std::invalid_argument(fmt::format("Layout: {} rooms x {} outside 1..{} participants",
                                            rooms, per_room, kMaxParticipants));
  }
  std::mt19937_64 random(kSecretSeed);
  secrets_.resize(participants());
  for (relay::JoinSecret& secret : secrets_) {
    for (uint8_t& byte : secret) byte = static_cast<uint8_t>(random());
  }
}

std::optional<size_t> Layout::participant_of(uint32_t ipv4) const {
  if (ipv4 <= kBaseIpv4) return std::nullopt;
  const size_t index = ipv4 - kBaseIpv4 - 1;
  if (index >= participants()) return std::nullopt;
  return index;
}

sockaddr_in Layout::sockaddr_of(size_t participant) const {
  sockaddr_in out{};
  out.sin_family = AF_INET;
  out.sin_port = htons(port_);
  out.sin_addr.s_addr = htonl(ipv4_of(participant));
  return out;
}

net::SocketAddress Layout::address_of(size_t participant) const {
  const sockaddr_in raw = sockaddr_of(participant);
  return net::SocketAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&raw), sizeof(raw));
}

}  // namespace parley::relay_load
