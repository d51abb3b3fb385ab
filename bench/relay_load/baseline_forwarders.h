// The two forwarders the relay is measured against, on the same core with the same load:
//
//   MinimalForwarder  recvmmsg 64 -> for each datagram, its fixed destinations -> sendmmsg
//                     64 at a time; ppoll when nothing waits. The relay's loop (media_loop.h)
//                     without the router: no hello, no address hash, no SSRC or rights
//                     check, no counters per participant.
//   BareForwarder     recvfrom one datagram (blocking, 50 ms timeout to see the stop flag)
//                     -> sendto once per destination. A system call per datagram.
//
// Both look the destinations up in a FanOutTable: an array indexed by the sender's place
// in the Layout (its source address minus the layout's base), holding the others of its
// room. Datagrams from an address outside the layout are read and dropped.
//
// Sockets: IPv4, bound to 127.0.0.1:0, 4 MiB buffers (what MediaLoopConfig asks for).
// Threading: Run on one thread; counters() from any (relaxed atomics, one writer).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "layout.h"
#include "parley/base/result.h"
#include "parley/net/udp_socket.h"

namespace parley::relay_load {

class FanOutTable {
 public:
  explicit FanOutTable(const Layout& layout);
  // The destinations of a datagram from `source` (network byte order); empty when the
  // source is not a participant.
  std::span<const sockaddr_in> destinations(in_addr source) const {
    const uint32_t index = ntohl(source.s_addr) - Layout::kBaseIpv4 - 1;
    if (index >= senders_) return {};
    return {&table_[index * fan_out_], fan_out_};
  }

 private:
  size_t senders_;
  size_t fan_out_;
  std::vector<sockaddr_in> table_;  // fan_out_ per sender
};

struct ForwarderCounts {
  uint64_t batches = 0;  // receive calls that returned datagrams
  uint64_t received = 0;
  uint64_t sent = 0;
  uint64_t send_failed = 0;
};

class BaselineForwarder {
 public:
  enum class Kind { kMinimal, kBare };

  // Error: the socket could not be bound.
  [[nodiscard]] static Result<std::unique_ptr<BaselineForwarder>> Create(Kind kind,
                                                                         const Layout& layout);
  ~BaselineForwarder();
  BaselineForwarder(const BaselineForwarder&) = delete;
  BaselineForwarder& operator=(const BaselineForwarder&) = delete;

  const net::SocketAddress& address() const { return address_; }
  // Forwards until `stop` is true (seen within 50 ms when idle).
  void Run(const std::atomic<bool>& stop);
  ForwarderCounts counts() const;

 private:
  BaselineForwarder(Kind kind, const Layout& layout, int fd, net::SocketAddress address);
  void RunMinimal(const std::atomic<bool>& stop);
  void RunBare(const std::atomic<bool>& stop);

  const Kind kind_;
  const FanOutTable table_;
  const int fd_;
  const net::SocketAddress address_;
  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> received_{0};
  std::atomic<uint64_t> sent_{0};
  std::atomic<uint64_t> send_failed_{0};
};

}  // namespace parley::relay_load
