#include "parley/net/udp_socket.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <system_error>

namespace parley::net {
namespace {

constexpr std::string_view kExpectedForm = "expected host:port, e.g. 127.0.0.1:5000 or [::1]:5000";

// The system's reason for the last failure, read before anything else can change errno.
std::string SystemReason(int error_number) { return std::system_category().message(error_number); }

Error SystemError(std::string_view operation, const SocketAddress& address, int error_number) {
  return Error{fmt::format("{} {}: {}", operation, address.ToString(), SystemReason(error_number))};
}

bool WouldBlock(int error_number) { return error_number == EAGAIN || error_number == EWOULDBLOCK; }

Result<uint16_t> ParsePort(std::string_view port, std::string_view text) {
  unsigned value = 0;
  const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || error != std::errc() || end != port.data() + port.size() || value > 65535) {
    return Error{fmt::format("address '{}': port '{}' is not a number 0..65535", text, port)};
  }
  return static_cast<uint16_t>(value);
}

}  // namespace

Result<SocketAddress> SocketAddress::Parse(std::string_view text) {
  std::string_view host;
  std::string_view port;
  const bool bracketed = text.starts_with('[');
  if (bracketed) {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return Error{fmt::format("address '{}': '[' without ']' ({})", text, kExpectedForm)};
    }
    host = text.substr(1, close - 1);
    if (close + 1 >= text.size() || text[close + 1] != ':') {
      return Error{fmt::format("address '{}' has no port after ']' ({})", text, kExpectedForm)};
    }
    port = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return Error{fmt::format("address '{}' has no port ({})", text, kExpectedForm)};
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return Error{
          fmt::format("address '{}': an IPv6 address needs brackets ({})", text, kExpectedForm)};
    }
  }
  auto port_number = ParsePort(port, text);
  if (!port_number) return port_number.error();

  // inet_pton needs a terminated string; an address is at most 45 characters.
  const std::string host_string(host);
  SocketAddress address;
  if (bracketed) {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&address.storage_);
    if (inet_pton(AF_INET6, host_string.c_str(), &v6->sin6_addr) != 1) {
      return Error{fmt::format("address '{}': '{}' is not a numeric IPv6 address", text, host)};
    }
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(*port_number);
  } else {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&address.storage_);
    if (inet_pton(AF_INET, host_string.c_str(), &v4->sin_addr) != 1) {
      return Error{fmt::format(
          "address '{}': '{}' is not a numeric IPv4 address (names are not resolved: use "
          "127.0.0.1 or [::1] for this machine)",
          text, host)};
    }
    v4->sin_family = AF_INET;
    v4->sin_port = htons(*port_number);
  }
  return address;
}

SocketAddress SocketAddress::FromSockaddr(const sockaddr* address, socklen_t length) {
  SocketAddress result;
  if (address == nullptr) return result;
  if (address->sa_family == AF_INET && length >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    std::memcpy(&result.storage_, address, sizeof(sockaddr_in));
  } else if (address->sa_family == AF_INET6 &&
             length >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    std::memcpy(&result.storage_, address, sizeof(sockaddr_in6));
  }
  return result;
}

SocketAddress SocketAddress::WildcardFor(const SocketAddress& like) {
  SocketAddress result;
  if (like.is_ipv6()) {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&result.storage_);
    v6->sin6_family = AF_INET6;
    v6->sin6_addr = in6addr_any;
  } else if (!like.empty()) {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&result.storage_);
    v4->sin_family = AF_INET;
    v4->sin_addr.s_addr = htonl(INADDR_ANY);
  }
  return result;
}

SocketAddress SocketAddress::Loopback(bool ipv6, uint16_t port) {
  SocketAddress result;
  if (ipv6) {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&result.storage_);
    v6->sin6_family = AF_INET6;
    v6->sin6_addr = in6addr_loopback;
    v6->sin6_port = htons(port);
  } else {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&result.storage_);
    v4->sin_family = AF_INET;
    v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    v4->sin_port = htons(port);
  }
  return result;
}

uint16_t SocketAddress::port() const {
  if (is_ipv6()) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  if (!empty()) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  return 0;
}

bool SocketAddress::is_unspecified() const {
  if (is_ipv6()) {
    return IN6_IS_ADDR_UNSPECIFIED(&reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr);
  }
  if (!empty()) {
    return reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr.s_addr == htonl(INADDR_ANY);
  }
  return false;
}

socklen_t SocketAddress::sockaddr_length() const {
  if (is_ipv6()) return sizeof(sockaddr_in6);
  if (!empty()) return sizeof(sockaddr_in);
  return 0;
}

std::string SocketAddress::ToString() const {
  std::array<char, INET6_ADDRSTRLEN> host{};
  if (is_ipv6()) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&storage_);
    inet_ntop(AF_INET6, &v6->sin6_addr, host.data(), host.size());
    return fmt::format("[{}]:{}", host.data(), port());
  }
  if (!empty()) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&storage_);
    inet_ntop(AF_INET, &v4->sin_addr, host.data(), host.size());
    return fmt::format("{}:{}", host.data(), port());
  }
  return "-";
}

bool operator==(const SocketAddress& a, const SocketAddress& b) {
  if (a.storage_.ss_family != b.storage_.ss_family) return false;
  if (a.is_ipv6()) {
    const auto* x = reinterpret_cast<const sockaddr_in6*>(&a.storage_);
    const auto* y = reinterpret_cast<const sockaddr_in6*>(&b.storage_);
    return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
           std::memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(in6_addr)) == 0;
  }
  if (a.empty()) return true;
  const auto* x = reinterpret_cast<const sockaddr_in*>(&a.storage_);
  const auto* y = reinterpret_cast<const sockaddr_in*>(&b.storage_);
  return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
}

Result<UdpSocket> UdpSocket::Bind(const SocketAddress& address, const UdpSocketOptions& options) {
  if (address.empty()) return Error{"bind: no address given"};
  const int fd = ::socket(address.is_ipv6() ? AF_INET6 : AF_INET,
                          SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return SystemError("socket for", address, errno);
  // From here the socket owns fd: every early return closes it.
  UdpSocket socket(fd, address, options.system_calls);
  const auto set_buffer = [&](int option, int bytes, std::string_view name) -> Status {
    if (bytes <= 0) return Status::Ok();
    if (::setsockopt(fd, SOL_SOCKET, option, &bytes, sizeof(bytes)) != 0) {
      return SystemError(fmt::format("{} {} bytes on", name, bytes), address, errno);
    }
    return Status::Ok();
  };
  if (Status s = set_buffer(SO_RCVBUF, options.receive_buffer_bytes, "SO_RCVBUF"); !s) {
    return s.error();
  }
  if (Status s = set_buffer(SO_SNDBUF, options.send_buffer_bytes, "SO_SNDBUF"); !s) {
    return s.error();
  }
  if (::bind(fd, address.sockaddr_ptr(), address.sockaddr_length()) != 0) {
    return SystemError("bind", address, errno);
  }
  sockaddr_storage bound{};
  socklen_t length = sizeof(bound);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length) != 0) {
    return SystemError("getsockname of", address, errno);
  }
  socket.local_ = SocketAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&bound), length);
  return socket;
}

UdpSocket::UdpSocket(UdpSocket&& other) noexcept
    : fd_(other.fd_), local_(other.local_), calls_(other.calls_) {
  other.fd_ = -1;
}

UdpSocket& UdpSocket::operator=(UdpSocket&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = other.fd_;
    local_ = other.local_;
    calls_ = other.calls_;
    other.fd_ = -1;
  }
  return *this;
}

UdpSocket::~UdpSocket() { Close(); }

void UdpSocket::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Result<size_t> UdpSocket::SendTo(std::span<const uint8_t> payload, const SocketAddress& to) {
  const ssize_t sent = calls_ == nullptr ? ::sendto(fd_, payload.data(), payload.size(), 0,
                                                    to.sockaddr_ptr(), to.sockaddr_length())
                                         : calls_->SendTo(fd_, payload.data(), payload.size(), 0,
                                                          to.sockaddr_ptr(), to.sockaddr_length());
  if (sent < 0) return SystemError("sendto", to, errno);
  return static_cast<size_t>(sent);
}

Result<std::optional<Datagram>> UdpSocket::ReceiveFrom(std::span<uint8_t> buffer) {
  sockaddr_storage from{};
  iovec io{buffer.data(), buffer.size()};
  msghdr message{};
  message.msg_name = &from;
  message.msg_namelen = sizeof(from);
  message.msg_iov = &io;
  message.msg_iovlen = 1;
  const ssize_t received = calls_ == nullptr ? ::recvmsg(fd_, &message, MSG_DONTWAIT)
                                             : calls_->RecvMsg(fd_, &message, MSG_DONTWAIT);
  if (received < 0) {
    if (WouldBlock(errno)) return std::optional<Datagram>();
    return SystemError("recvmsg on", local_, errno);
  }
  Datagram datagram;
  datagram.size = static_cast<size_t>(received);
  datagram.truncated = (message.msg_flags & MSG_TRUNC) != 0;
  datagram.from =
      SocketAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&from), message.msg_namelen);
  return std::optional<Datagram>(datagram);
}

Result<size_t> UdpSocket::ReceiveBatch(std::span<ReceiveSlot> slots) {
  const BatchOutcome outcome = TryReceiveBatch(slots);
  if (!outcome.ok()) return SystemError("recvmmsg on", local_, outcome.error_number);
  return outcome.count;
}

Result<size_t> UdpSocket::SendBatch(std::span<const SendSlot> slots) {
  const BatchOutcome outcome = TrySendBatch(slots);
  if (!outcome.ok()) return SystemError("sendmmsg to", slots[0].to, outcome.error_number);
  return outcome.count;
}

BatchOutcome UdpSocket::TryReceiveBatch(std::span<ReceiveSlot> slots) {
  const size_t count = std::min(slots.size(), kMaxBatch);
  if (count == 0) return {};
  // Left uninitialised (13 KB a call if zeroed): the first `count` headers are set here,
  // the kernel fills the addresses and lengths of the messages it returns.
  std::array<mmsghdr, kMaxBatch> messages;
  std::array<iovec, kMaxBatch> io;
  std::array<sockaddr_storage, kMaxBatch> from;
  for (size_t i = 0; i < count; ++i) {
    messages[i] = {};
    io[i] = {slots[i].buffer.data(), slots[i].buffer.size()};
    messages[i].msg_hdr.msg_name = &from[i];
    messages[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    messages[i].msg_hdr.msg_iov = &io[i];
    messages[i].msg_hdr.msg_iovlen = 1;
  }
  const unsigned wanted = static_cast<unsigned>(count);
  const int received = calls_ == nullptr
                           ? ::recvmmsg(fd_, messages.data(), wanted, MSG_DONTWAIT, nullptr)
                           : calls_->RecvMmsg(fd_, messages.data(), wanted, MSG_DONTWAIT);
  if (received < 0) {
    const int error_number = errno;
    if (WouldBlock(error_number)) return {};
    return {.count = 0, .error_number = error_number};
  }
  for (int i = 0; i < received; ++i) {
    const msghdr& header = messages[i].msg_hdr;
    slots[i].size = messages[i].msg_len;
    slots[i].truncated = (header.msg_flags & MSG_TRUNC) != 0;
    slots[i].from = SocketAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&from[i]),
                                                header.msg_namelen);
  }
  return {.count = static_cast<size_t>(received)};
}

BatchOutcome UdpSocket::TrySendBatch(std::span<const SendSlot> slots) {
  const size_t count = std::min(slots.size(), kMaxBatch);
  if (count == 0) return {};
  // Only the first `count` entries are set (and read): no zeroing of the whole batch.
  std::array<mmsghdr, kMaxBatch> messages;
  std::array<iovec, kMaxBatch> io;
  for (size_t i = 0; i < count; ++i) {
    messages[i] = {};
    // sendmmsg does not write through these pointers; the casts only fit its signature.
    io[i] = {const_cast<uint8_t*>(slots[i].payload.data()), slots[i].payload.size()};
    messages[i].msg_hdr.msg_name = const_cast<sockaddr*>(slots[i].to.sockaddr_ptr());
    messages[i].msg_hdr.msg_namelen = slots[i].to.sockaddr_length();
    messages[i].msg_hdr.msg_iov = &io[i];
    messages[i].msg_hdr.msg_iovlen = 1;
  }
  const unsigned wanted = static_cast<unsigned>(count);
  const int sent = calls_ == nullptr ? ::sendmmsg(fd_, messages.data(), wanted, 0)
                                     : calls_->SendMmsg(fd_, messages.data(), wanted, 0);
  if (sent < 0) return {.count = 0, .error_number = errno};
  return {.count = static_cast<size_t>(sent)};
}

}  // namespace parley::net
