#include "pktinfo_batch.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <linux/sock_diag.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace parley::relay_load {

Result<int> OpenPktinfoSocket(int buffer_bytes) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Error{fmt::format("socket: {}", std::strerror(errno))};
  for (const auto& [force, plain] :
       {std::pair{SO_RCVBUFFORCE, SO_RCVBUF}, std::pair{SO_SNDBUFFORCE, SO_SNDBUF}}) {
    if (::setsockopt(fd, SOL_SOCKET, force, &buffer_bytes, sizeof(buffer_bytes)) != 0) {
      (void)::setsockopt(fd, SOL_SOCKET, plain, &buffer_bytes, sizeof(buffer_bytes));
    }
  }
  const int on = 1;
  if (::setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on)) != 0) {
    Error error{fmt::format("IP_PKTINFO: {}", std::strerror(errno))};
    ::close(fd);
    return error;
  }
  sockaddr_in any{};
  any.sin_family = AF_INET;
  any.sin_addr.s_addr = htonl(INADDR_ANY);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&any), sizeof(any)) != 0) {
    Error error{fmt::format("bind 0.0.0.0:0: {}", std::strerror(errno))};
    ::close(fd);
    return error;
  }
  return fd;
}

uint16_t BoundPort(int fd) {
  sockaddr_in bound{};
  socklen_t length = sizeof(bound);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length) != 0) return 0;
  return ntohs(bound.sin_port);
}

uint64_t SocketDrops(int fd) {
  std::array<uint32_t, SK_MEMINFO_VARS> info{};
  socklen_t length = sizeof(info);
  if (::getsockopt(fd, SOL_SOCKET, SO_MEMINFO, info.data(), &length) != 0) return 0;
  return info[SK_MEMINFO_DROPS];
}

void WaitReadable(int fd, int64_t timeout_ns) {
  if (timeout_ns <= 0) return;
  pollfd entry{fd, POLLIN, 0};
  const timespec timeout{static_cast<time_t>(timeout_ns / 1'000'000'000),
                         static_cast<long>(timeout_ns % 1'000'000'000)};
  (void)::ppoll(&entry, 1, &timeout, nullptr);
}

PktinfoSendBatch::PktinfoSendBatch(size_t max_bytes)
    : stride_(max_bytes), buffers_(kPktinfoBatch * max_bytes) {
  for (size_t j = 0; j < kPktinfoBatch; ++j) {
    msghdr& out = messages_[j].msg_hdr;
    out.msg_name = &to_[j];
    out.msg_namelen = sizeof(sockaddr_in);
    out.msg_iov = &iov_[j];
    out.msg_iovlen = 1;
    out.msg_control = control_[j].bytes;
    out.msg_controllen = sizeof(control_[j].bytes);
    cmsghdr* header = CMSG_FIRSTHDR(&out);
    header->cmsg_level = IPPROTO_IP;
    header->cmsg_type = IP_PKTINFO;
    header->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
    pktinfo_[j] = reinterpret_cast<in_pktinfo*>(CMSG_DATA(header));
    *pktinfo_[j] = in_pktinfo{};
  }
}

uint8_t* PktinfoSendBatch::Queue(size_t j, uint32_t source_ipv4, const sockaddr_in& to,
                                 size_t bytes) {
  if (bytes > stride_) throw std::invalid_argument("PktinfoSendBatch: datagram above max_bytes");
  uint8_t* buffer = buffers_.data() + j * stride_;
  QueueExternal(j, source_ipv4, to, buffer, bytes);
  return buffer;
}

void PktinfoSendBatch::QueueExternal(size_t j, uint32_t source_ipv4, const sockaddr_in& to,
                                     const uint8_t* data, size_t bytes) {
  iov_[j].iov_base = const_cast<uint8_t*>(data);
  iov_[j].iov_len = bytes;
  to_[j] = to;
  pktinfo_[j]->ipi_spec_dst.s_addr = htonl(source_ipv4);
}

size_t PktinfoSendBatch::Flush(int fd, size_t count) {
  size_t done = 0;
  while (done < count) {
    const int sent = ::sendmmsg(fd, &messages_[done], static_cast<unsigned>(count - done), 0);
    if (sent <= 0) break;
    done += static_cast<size_t>(sent);
  }
  return done;
}

PktinfoReceiveBatch::PktinfoReceiveBatch() : buffers_(kPktinfoBatch * kMaxBytes) {
  for (size_t j = 0; j < kPktinfoBatch; ++j) {
    iov_[j].iov_base = buffers_.data() + j * kMaxBytes;
    iov_[j].iov_len = kMaxBytes;
    msghdr& in = messages_[j].msg_hdr;
    in.msg_iov = &iov_[j];
    in.msg_iovlen = 1;
    in.msg_control = control_[j].bytes;
  }
}

size_t PktinfoReceiveBatch::Receive(int fd) {
  for (size_t j = 0; j < kPktinfoBatch; ++j) {
    msghdr& in = messages_[j].msg_hdr;
    in.msg_controllen = sizeof(control_[j].bytes);
    in.msg_flags = 0;
  }
  const int count =
      ::recvmmsg(fd, messages_.data(), static_cast<unsigned>(kPktinfoBatch), MSG_DONTWAIT, nullptr);
  return count > 0 ? static_cast<size_t>(count) : 0;
}

std::optional<uint32_t> PktinfoReceiveBatch::destination_ipv4(size_t j) const {
  const msghdr& header = messages_[j].msg_hdr;
  for (const cmsghdr* c = CMSG_FIRSTHDR(&header); c != nullptr;
       c = CMSG_NXTHDR(const_cast<msghdr*>(&header), const_cast<cmsghdr*>(c))) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      in_pktinfo info;
      std::memcpy(&info, CMSG_DATA(c), sizeof(info));
      return ntohl(info.ipi_addr.s_addr);
    }
  }
  return std::nullopt;
}

}  // namespace parley::relay_load
