// UDP over IPv4 and IPv6: an address type and a non-blocking datagram socket, the ground
// floor of everything in parley that talks to the network (the lab's impairment proxy,
// later the relay and the client).
//
// Addresses are numeric: "127.0.0.1:5000", "[::1]:5000", "0.0.0.0:0". Host names are not
// resolved (no DNS on the media path; "localhost" is rejected with a hint), and IPv6
// addresses need their brackets. Scoped link-local addresses ("fe80::1%eth0") are not
// accepted.
//
// Sockets are non-blocking from the start: a receive with nothing waiting returns an
// empty result instead of blocking; wait for data with net::Poller (poller.h) on fd().
// Every call that can fail returns a Result/Status whose message names the operation, the
// address and the system's reason ("bind 127.0.0.1:5000: Address already in use").
//
// Batches: ReceiveBatch and SendBatch move up to kMaxBatch datagrams per system call
// (recvmmsg/sendmmsg) into or out of buffers the caller owns; nothing is allocated per
// datagram. Their Try* forms report a failure as the system's errno instead of a message,
// so that a loop that outlives its errors (socket_error.h) allocates nothing even then.
//
// Fault injection: a socket makes its four datagram system calls through a
// DatagramSystemCalls when UdpSocketOptions::system_calls gives one (tests make receives
// and sends fail with chosen errnos that way); otherwise it calls the system directly, at
// the cost of one pointer test per call.
//
// Threading: a UdpSocket may be used from one thread at a time; SocketAddress is a value.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "parley/base/result.h"

namespace parley::net {

// An IPv4 or IPv6 address and a UDP port; or nothing (default-constructed: empty()).
class SocketAddress {
 public:
  SocketAddress() = default;

  // "a.b.c.d:port" or "[ipv6]:port", numeric only, port 0..65535. The error names the
  // part that is wrong and shows the expected form.
  [[nodiscard]] static Result<SocketAddress> Parse(std::string_view text);
  // From a sockaddr filled by the system; an address of another family gives empty().
  static SocketAddress FromSockaddr(const sockaddr* address, socklen_t length);
  // The unspecified address (0.0.0.0 or ::) of `like`'s family, port 0: what to bind to
  // for "any local address, any port" when talking to `like`.
  static SocketAddress WildcardFor(const SocketAddress& like);
  // 127.0.0.1 or ::1 at `port`.
  static SocketAddress Loopback(bool ipv6, uint16_t port);

  bool empty() const { return storage_.ss_family == AF_UNSPEC; }
  bool is_ipv6() const { return storage_.ss_family == AF_INET6; }
  // 0.0.0.0 or :: (whatever the port): fine to bind to, not a destination.
  bool is_unspecified() const;
  uint16_t port() const;
  // "127.0.0.1:5000", "[::1]:5000"; "-" when empty.
  std::string ToString() const;

  const sockaddr* sockaddr_ptr() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t sockaddr_length() const;

  // Same family, address, port (and IPv6 scope); padding and flow labels are ignored.
  friend bool operator==(const SocketAddress& a, const SocketAddress& b);

 private:
  sockaddr_storage storage_{};  // ss_family AF_UNSPEC, AF_INET or AF_INET6
};

// One datagram read by ReceiveFrom.
struct Datagram {
  size_t size = 0;         // bytes stored in the caller's buffer
  bool truncated = false;  // the datagram was larger than the buffer; the rest is lost
  SocketAddress from;
};

// One entry of ReceiveBatch: `buffer` is set by the caller, the rest by the call.
struct ReceiveSlot {
  std::span<uint8_t> buffer;
  size_t size = 0;
  bool truncated = false;
  SocketAddress from;
};

// One entry of SendBatch.
struct SendSlot {
  std::span<const uint8_t> payload;
  SocketAddress to;
};

// The system calls by which a UdpSocket moves datagrams, each with its system call's
// contract: the result, or -1 with errno set. Implemented by tests to inject failures;
// called from the socket's thread.
class DatagramSystemCalls {
 public:
  virtual ~DatagramSystemCalls() = default;
  virtual ssize_t RecvMsg(int fd, msghdr* message, int flags) = 0;
  virtual ssize_t SendTo(int fd, const void* data, size_t size, int flags, const sockaddr* to,
                         socklen_t to_length) = 0;
  virtual int RecvMmsg(int fd, mmsghdr* messages, unsigned count, int flags) = 0;
  virtual int SendMmsg(int fd, mmsghdr* messages, unsigned count, int flags) = 0;
};

struct UdpSocketOptions {
  // SO_RCVBUF / SO_SNDBUF in bytes; 0 keeps the system's default (net.core.rmem_default,
  // about 208 KiB on Linux). The kernel may cap the value (net.core.rmem_max). >= 0.
  int receive_buffer_bytes = 0;
  int send_buffer_bytes = 0;
  // Tests only: the calls to make instead of the system's (nullptr: the system's). Must
  // outlive the socket.
  DatagramSystemCalls* system_calls = nullptr;
};

// What TryReceiveBatch / TrySendBatch did: `count` datagrams moved, or, when
// `error_number` is not 0, the errno of the call that moved none.
struct BatchOutcome {
  size_t count = 0;
  int error_number = 0;
  bool ok() const { return error_number == 0; }
};

class UdpSocket {
 public:
  // Most datagrams ReceiveBatch / SendBatch move in one call; extra slots wait for the
  // next call. 64: enough to drain a 20 ms burst of a busy link in one go while the
  // per-call arrays stay small on the stack.
  static constexpr size_t kMaxBatch = 64;

  // A non-blocking socket of `address`'s family bound to `address` (port 0: the system
  // picks one; see local_address()). Error: the family is unsupported, the address is
  // not local, the port is taken.
  [[nodiscard]] static Result<UdpSocket> Bind(const SocketAddress& address,
                                              const UdpSocketOptions& options = {});

  // A closed socket (is_open() false), to be assigned a bound one.
  UdpSocket() = default;
  UdpSocket(UdpSocket&& other) noexcept;
  UdpSocket& operator=(UdpSocket&& other) noexcept;
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;
  ~UdpSocket();

  // The address the socket is bound to, with the port the system picked.
  const SocketAddress& local_address() const { return local_; }
  // For Poller; -1 after Close() or a move.
  int fd() const { return fd_; }
  bool is_open() const { return fd_ >= 0; }

  // Sends one datagram. Returns the bytes sent (all of `payload`). Error: unreachable
  // destination, family mismatch, send buffer full ("Resource temporarily unavailable":
  // the datagram is not sent), payload above the UDP maximum.
  [[nodiscard]] Result<size_t> SendTo(std::span<const uint8_t> payload, const SocketAddress& to);
  // Reads one waiting datagram into `buffer`; nullopt when none is waiting. A datagram
  // larger than `buffer` is cut (Datagram::truncated).
  [[nodiscard]] Result<std::optional<Datagram>> ReceiveFrom(std::span<uint8_t> buffer);

  // Reads up to min(slots.size(), kMaxBatch) waiting datagrams, one per slot, in arrival
  // order. Returns how many slots were filled (0: nothing waiting).
  [[nodiscard]] Result<size_t> ReceiveBatch(std::span<ReceiveSlot> slots);
  // Sends up to min(slots.size(), kMaxBatch) datagrams in order. Returns how many were
  // sent: fewer than asked when the send buffer filled (the rest are not sent); an error
  // only when the first one could not be sent.
  [[nodiscard]] Result<size_t> SendBatch(std::span<const SendSlot> slots);
  // The same, failing with the errno only (no message is built: nothing allocates).
  // ReceiveBatch's "nothing waiting" is a count of 0, never EAGAIN; a send buffer full
  // before the first datagram is EAGAIN.
  [[nodiscard]] BatchOutcome TryReceiveBatch(std::span<ReceiveSlot> slots);
  [[nodiscard]] BatchOutcome TrySendBatch(std::span<const SendSlot> slots);

  // Closes the socket now (the destructor does it otherwise). Idempotent.
  void Close();

 private:
  UdpSocket(int fd, const SocketAddress& local, DatagramSystemCalls* calls)
      : fd_(fd), local_(local), calls_(calls) {}

  int fd_ = -1;
  SocketAddress local_;
  DatagramSystemCalls* calls_ = nullptr;  // passed by argument; nullptr: the system's
};

}  // namespace parley::net
