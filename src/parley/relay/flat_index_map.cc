#include "parley/relay/flat_index_map.h"

#include <netinet/in.h>

#include <cstring>

namespace parley::relay {

AddressKey AddressKey::Of(const net::SocketAddress& address) {
  AddressKey key;
  const sockaddr* raw = address.sockaddr_ptr();
  if (address.is_ipv6()) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(raw);
    std::memcpy(&key.ip_high, v6->sin6_addr.s6_addr, 8);
    std::memcpy(&key.ip_low, v6->sin6_addr.s6_addr + 8, 8);
    key.rest =
        AF_INET6 | (uint64_t{ntohs(v6->sin6_port)} << 16) | (uint64_t{v6->sin6_scope_id} << 32);
  } else if (!address.empty()) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(raw);
    key.ip_high = v4->sin_addr.s_addr;
    key.rest = AF_INET | (uint64_t{ntohs(v4->sin_port)} << 16);
  }
  return key;
}

}  // namespace parley::relay
