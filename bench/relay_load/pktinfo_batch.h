// Datagrams moved 64 at a time (sendmmsg, recvmmsg) through one UDP socket that speaks
// for many loopback addresses: each datagram sent names its source address (IP_PKTINFO),
// each datagram received says which local address it was sent to. The load generators of
// the relay benchmark and of the soak (bench/soak) are built on it, so that the generator
// is not the bottleneck of a measurement about the relay.
//
// Threading: one thread per batch object; the free functions are pure system calls.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "parley/base/result.h"
#include "system_stats.h"

namespace parley::relay_load {

inline constexpr size_t kPktinfoBatch = 64;

// A non-blocking UDP socket bound to 0.0.0.0:0 with IP_PKTINFO on, its buffers set to
// `buffer_bytes` (SO_RCVBUFFORCE/SO_SNDBUFFORCE when the process may, as root, else the
// plain request, capped by net.core.rmem_max/wmem_max). Error names the step that failed.
[[nodiscard]] Result<int> OpenPktinfoSocket(int buffer_bytes);

// The port `fd` is bound to (host order); 0 when unknown.
uint16_t BoundPort(int fd);

// The kernel's count of datagrams dropped at `fd` (SO_MEMINFO); 0 when unknown.
uint64_t SocketDrops(int fd);

// Waits until `fd` is readable or `timeout_ns` passed (ppoll); returns at once for <= 0.
void WaitReadable(int fd, int64_t timeout_ns);

class PktinfoSendBatch {
 public:
  // Slots of up to `max_bytes` each, owned by the batch.
  explicit PktinfoSendBatch(size_t max_bytes);
  PktinfoSendBatch(const PktinfoSendBatch&) = delete;
  PktinfoSendBatch& operator=(const PktinfoSendBatch&) = delete;

  // Fills slot `j` (< kPktinfoBatch) with a datagram of `bytes` (<= max_bytes) from
  // `source_ipv4` (host order) to `to`; returns its buffer to write the bytes into.
  uint8_t* Queue(size_t j, uint32_t source_ipv4, const sockaddr_in& to, size_t bytes);
  // The same for bytes the caller keeps alive until Flush returns (not copied).
  void QueueExternal(size_t j, uint32_t source_ipv4, const sockaddr_in& to, const uint8_t* data,
                     size_t bytes);
  // Sends slots [0, count) on `fd`; returns how many the kernel took (the rest were
  // refused: buffer full).
  size_t Flush(int fd, size_t count);

 private:
  union Control {
    cmsghdr align;
    char bytes[CMSG_SPACE(sizeof(in_pktinfo))];
  };
  size_t stride_;
  std::vector<uint8_t> buffers_;
  std::array<mmsghdr, kPktinfoBatch> messages_{};
  std::array<iovec, kPktinfoBatch> iov_{};
  std::array<sockaddr_in, kPktinfoBatch> to_{};
  std::array<Control, kPktinfoBatch> control_{};
  std::array<in_pktinfo*, kPktinfoBatch> pktinfo_{};
};

class PktinfoReceiveBatch {
 public:
  // Datagrams above this are cut and flagged truncated.
  static constexpr size_t kMaxBytes = 2048;

  PktinfoReceiveBatch();
  PktinfoReceiveBatch(const PktinfoReceiveBatch&) = delete;
  PktinfoReceiveBatch& operator=(const PktinfoReceiveBatch&) = delete;

  // One recvmmsg without waiting; returns the datagrams read (0: none waiting).
  size_t Receive(int fd);

  // Receive()s until the socket is empty or `max_batches` batches were read, calling
  // handle(j, now_ns) for each datagram j of each batch (now_ns: CLOCK_MONOTONIC, read
  // once per batch); returns the datagrams read.
  template <typename Handler>
  size_t Drain(int fd, size_t max_batches, Handler&& handle) {
    size_t total = 0;
    for (size_t i = 0; i < max_batches; ++i) {
      const size_t count = Receive(fd);
      if (count == 0) break;
      const int64_t now = MonotonicNs();
      for (size_t j = 0; j < count; ++j) handle(j, now);
      total += count;
      if (count < kPktinfoBatch) break;
    }
    return total;
  }

  const uint8_t* data(size_t j) const {
    return static_cast<const uint8_t*>(messages_[j].msg_hdr.msg_iov->iov_base);
  }
  size_t size(size_t j) const { return messages_[j].msg_len; }
  bool truncated(size_t j) const { return (messages_[j].msg_hdr.msg_flags & MSG_TRUNC) != 0; }
  // The local address datagram `j` was sent to (host order), from its IP_PKTINFO.
  std::optional<uint32_t> destination_ipv4(size_t j) const;

 private:
  union Control {
    cmsghdr align;
    char bytes[CMSG_SPACE(sizeof(in_pktinfo))];
  };
  std::vector<uint8_t> buffers_;
  std::array<mmsghdr, kPktinfoBatch> messages_{};
  std::array<iovec, kPktinfoBatch> iov_{};
  std::array<Control, kPktinfoBatch> control_{};
};

}  // namespace parley::relay_load
