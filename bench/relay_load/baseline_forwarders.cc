#include "baseline_forwarders.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace parley::relay_load {
namespace {

constexpr size_t kBatch = 64;
constexpr size_t kDatagramBytes = 2048;  // MediaLoopConfig::max_datagram_bytes
constexpr int kSocketBufferBytes = 4 << 20;
constexpr int kIdleWaitMs = 50;

void Bump(std::atomic<uint64_t>& counter, uint64_t amount) {
  counter.store(counter.load(std::memory_order_relaxed) + amount, std::memory_order_relaxed);
}

}  // namespace

FanOutTable::FanOutTable(const Layout& layout)
    : senders_(layout.participants()), fan_out_(layout.per_room() - 1) {
  table_.reserve(senders_ * fan_out_);
  for (size_t sender = 0; sender < senders_; ++sender) {
    const size_t first = layout.first_in_room(layout.room_of(sender));
    for (size_t other = first; other < first + layout.per_room(); ++other) {
      if (other != sender) table_.push_back(layout.sockaddr_of(other));
    }
  }
}

Result<std::unique_ptr<BaselineForwarder>> BaselineForwarder::Create(Kind kind,
                                                                     const Layout& layout) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Error{fmt::format("baseline forwarder: socket: {}", std::strerror(errno))};
  (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kSocketBufferBytes, sizeof(kSocketBufferBytes));
  (void)::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &kSocketBufferBytes, sizeof(kSocketBufferBytes));
  // The bare loop blocks in recvfrom; the timeout lets it see the stop flag.
  const timeval wait{0, kIdleWaitMs * 1000};
  (void)::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait));
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(local);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof(local)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) != 0) {
    const int error = errno;
    ::close(fd);
    return Error{fmt::format("baseline forwarder: bind 127.0.0.1:0: {}", std::strerror(error))};
  }
  const net::SocketAddress address =
      net::SocketAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&local), length);
  return std::unique_ptr<BaselineForwarder>(new BaselineForwarder(kind, layout, fd, address));
}

BaselineForwarder::BaselineForwarder(Kind kind, const Layout& layout, int fd,
                                     net::SocketAddress address)
    : kind_(kind), table_(layout), fd_(fd), address_(address) {}

BaselineForwarder::~BaselineForwarder() { ::close(fd_); }

void BaselineForwarder::Run(const std::atomic<bool>& stop) {
  if (kind_ == Kind::kMinimal) {
    RunMinimal(stop);
  } else {
    RunBare(stop);
  }
}

ForwarderCounts BaselineForwarder::counts() const {
  return {batches_.load(std::memory_order_relaxed), received_.load(std::memory_order_relaxed),
          sent_.load(std::memory_order_relaxed), send_failed_.load(std::memory_order_relaxed)};
}

void BaselineForwarder::RunMinimal(const std::atomic<bool>& stop) {
  std::vector<uint8_t> buffers(kBatch * kDatagramBytes);
  std::array<mmsghdr, kBatch> in{};
  std::array<iovec, kBatch> in_io{};
  std::array<sockaddr_in, kBatch> from{};
  std::array<mmsghdr, kBatch> out{};
  std::array<iovec, kBatch> out_io{};
  for (size_t i = 0; i < kBatch; ++i) {
    in_io[i] = {buffers.data() + i * kDatagramBytes, kDatagramBytes};
    in[i].msg_hdr.msg_iov = &in_io[i];
    in[i].msg_hdr.msg_iovlen = 1;
    in[i].msg_hdr.msg_name = &from[i];
    out[i].msg_hdr.msg_iov = &out_io[i];
    out[i].msg_hdr.msg_iovlen = 1;
    out[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
  }
  size_t queued = 0;
  const auto flush = [&] {
    size_t done = 0;
    while (done < queued) {
      const int sent =
          ::sendmmsg(fd_, &out[done], static_cast<unsigned>(queued - done), MSG_DONTWAIT);
      if (sent <= 0) break;
      done += static_cast<size_t>(sent);
    }
    Bump(sent_, done);
    Bump(send_failed_, queued - done);
    queued = 0;
  };
  while (!stop.load(std::memory_order_relaxed)) {
    for (size_t i = 0; i < kBatch; ++i) in[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
    const int count = ::recvmmsg(fd_, in.data(), kBatch, MSG_DONTWAIT, nullptr);
    if (count <= 0) {
      pollfd entry{fd_, POLLIN, 0};
      (void)::poll(&entry, 1, kIdleWaitMs);
      continue;
    }
    Bump(batches_, 1);
    Bump(received_, static_cast<uint64_t>(count));
    for (int i = 0; i < count; ++i) {
      for (const sockaddr_in& to : table_.destinations(from[i].sin_addr)) {
        if (queued == kBatch) flush();
        out_io[queued] = {in_io[i].iov_base, in[i].msg_len};
        out[queued].msg_hdr.msg_name = const_cast<sockaddr_in*>(&to);
        ++queued;
      }
    }
    flush();
  }
}

void BaselineForwarder::RunBare(const std::atomic<bool>& stop) {
  std::array<uint8_t, kDatagramBytes> buffer{};
  while (!stop.load(std::memory_order_relaxed)) {
    sockaddr_in from{};
    socklen_t length = sizeof(from);
    const ssize_t size = ::recvfrom(fd_, buffer.data(), buffer.size(), 0,
                                    reinterpret_cast<sockaddr*>(&from), &length);
    if (size < 0) continue;  // the 50 ms timeout: look at the stop flag
    Bump(batches_, 1);
    Bump(received_, 1);
    for (const sockaddr_in& to : table_.destinations(from.sin_addr)) {
      const ssize_t sent = ::sendto(fd_, buffer.data(), static_cast<size_t>(size), 0,
                                    reinterpret_cast<const sockaddr*>(&to), sizeof(to));
      Bump(sent >= 0 ? sent_ : send_failed_, 1);
    }
  }
}

}  // namespace parley::relay_load
