// The relay's media thread: one UDP socket (RTP, RTCP and hellos on one port) driven in
// batches through a MediaRouter.
//
//   ReceiveBatch (recvmmsg, up to 64 datagrams into preallocated buffers)
//     -> MediaRouter::ApplyPendingCommands (joins and leaves posted since the last batch)
//     -> MediaRouter::Tick (the batch's time, read once; RTCP reports that are due,
//        sent at once)
//     -> MediaRouter::Route for each datagram: outgoing datagrams are queued as
//        (pointer into the receive buffer, destination): forwarding copies no payload
//     -> SendBatch (sendmmsg, 64 per call) of everything queued
//   and, when nothing is waiting, a ppoll on the socket with a timeout.
//
// Sending never blocks: a datagram the kernel refuses (send buffer full, unreachable
// destination) is counted in send_failed and dropped, as a router drops under overload.
// After one refusal the batch goes on; after two in a row the rest of the batch is
// dropped too, rather than spending a system call per datagram on a socket that is full.
//
// Socket errors (net/socket_error.h says which are which). A transient one (ENOBUFS,
// ECONNREFUSED from an ICMP error, EHOSTUNREACH, EPERM from a firewall, ...) is counted
// by operation and errno (MediaLoopCounters::socket_errors) and the loop goes on: a
// failed receive is treated as nothing waiting (the loop then waits for the socket, so a
// lasting error does not spin it), a failed send as a refusal (above). The listener hears
// of it at a bounded rate: the first error of an (operation, errno) pair at once, then at
// most one report per error_report_interval, carrying how many were not reported. Only a
// fatal one (the socket closed or invalid: EBADF, ENOTSOCK...) ends the loop: RunOnce and
// Run return it as an error, counted too, and the relay stops serving (relay.h).
//
// Memory: everything is allocated by Create; RunOnce and Run allocate nothing per
// datagram (media_loop_test counts operator new around them), transient errors included.
// The listener's report may allocate (a log line), at most once per (operation, errno)
// per error_report_interval; a fatal error builds a message.
//
// Threading: RunOnce/Run on one thread (the media thread), which is also the router's
// media side; counters() from any thread (relaxed atomics, one writer, as the router's).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "parley/base/clock.h"
#include "parley/base/result.h"
#include "parley/net/socket_error.h"
#include "parley/net/udp_socket.h"
#include "parley/relay/media_router.h"

namespace parley::relay {

struct MediaLoopConfig {
  // Receive buffer per datagram. A larger datagram is cut by the kernel, counted in
  // `truncated` and dropped. 2048: above any media datagram (<= 1472 bytes on a
  // 1500-byte MTU), so a cut one comes from something that is not a media client.
  // 64..65535.
  size_t max_datagram_bytes = 2048;
  // How long Run waits for a datagram before looking at its stop flag again: the most a
  // stop takes when the port is idle. > 0.
  std::chrono::milliseconds idle_wait{50};
  // Kernel socket buffers. 4 MiB each: the kernel charges about 1 KiB per small datagram
  // (its bookkeeping included), so some 4,000 datagrams, 25 ms at 150,000 packets/s, to
  // ride out a scheduling hiccup. The kernel caps the request at net.core.rmem_max /
  // wmem_max (often 208 KiB): raise those on a busy relay.
  net::UdpSocketOptions socket{.receive_buffer_bytes = 4 << 20, .send_buffer_bytes = 4 << 20};
  // At most one listener report per (operation, errno) per this long; the errors between
  // two reports are counted in the next. 10 s: a log line per kind of error per 10 s
  // whatever the error rate, and a new kind shows at once. > 0.
  std::chrono::milliseconds error_report_interval{10'000};
};

// A transient socket error, reported at a bounded rate (above).
struct SocketErrorReport {
  net::SocketOp op = net::SocketOp::kReceive;
  int error_number = 0;
  uint64_t unreported = 0;  // errors of this op and errno since the last report, not reported
  uint64_t total = 0;       // errors of this op and errno since Create, this one included
};

// Hears of the loop's transient socket errors, on the media thread. The relay logs them.
class MediaLoopListener {
 public:
  virtual ~MediaLoopListener() = default;
  virtual void OnSocketError(const SocketErrorReport& report) = 0;
};

// Socket errors by operation (net::SocketOp) and errno (net::CountedErrnoIndex).
using SocketErrorCounts =
    std::array<std::array<uint64_t, net::kCountedErrnoCount>, net::kSocketOpCount>;

// The loop's totals since Create.
struct MediaLoopCounters {
  uint64_t batches = 0;               // ReceiveBatch calls that returned datagrams
  uint64_t received = 0;              // datagrams read from the socket
  uint64_t bytes_received = 0;        // their UDP payload bytes (as read: a truncated one counts
                                      // the bytes kept)
  uint64_t truncated = 0;             // of received: larger than max_datagram_bytes, dropped
  uint64_t sent = 0;                  // datagrams the kernel accepted
  uint64_t send_failed = 0;           // datagrams the kernel refused, dropped
  uint64_t send_calls = 0;            // SendBatch calls
  SocketErrorCounts socket_errors{};  // transient and fatal, by op and errno

  uint64_t socket_errors_for(net::SocketOp op, int error_number) const {
    return socket_errors[static_cast<size_t>(op)][net::CountedErrnoIndex(error_number)];
  }
};

class MediaLoop {
 public:
  using Config = MediaLoopConfig;

  // Binds the media socket at `bind` (port 0: the system picks; see local_address()).
  // `router` and `clock` are passed by argument and must outlive the loop; the loop's
  // thread becomes the router's media side, and reads `clock` once per batch. Error: the socket
  // could not be bound. Throws std::invalid_argument for a Config outside its documented ranges.
  [[nodiscard]] static Result<std::unique_ptr<MediaLoop>> Create(
      const net::SocketAddress& bind, MediaRouter& router, const Config& config = {},
      const Clock& clock = SystemClock::Instance());
  ~MediaLoop();
  MediaLoop(const MediaLoop&) = delete;
  MediaLoop& operator=(const MediaLoop&) = delete;

  const net::SocketAddress& local_address() const;

  // Installs the listener of socket errors (nullptr: none). Call before the media thread
  // starts; `listener` must outlive the loop's use of it.
  void SetListener(MediaLoopListener* listener);

  // Reads one batch (waiting up to `timeout` for it when none is waiting; <= 0: does not
  // wait), applies pending router commands, routes and sends. Returns the datagrams
  // read: 0 when the timeout passed or a transient error replaced the batch (counted,
  // above). Error: a fatal socket error ("media socket: recvmmsg on 0.0.0.0:40000: Bad
  // file descriptor (EBADF)"); the loop cannot go on.
  [[nodiscard]] Result<size_t> RunOnce(std::chrono::nanoseconds timeout);
  // RunOnce(idle_wait) until `stop` is true (checked between batches; within idle_wait
  // when idle). Returns Ok when stopped, or the fatal socket error that ended it.
  [[nodiscard]] Status Run(const std::atomic<bool>& stop);

  MediaLoopCounters counters() const;

 private:
  struct Impl;
  explicit MediaLoop(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::relay
