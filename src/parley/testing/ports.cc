#include "parley/testing/ports.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace parley::testing {

TcpPortReservation::TcpPortReservation() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
  const auto fail = [this](const char* step) {
    const std::string reason = std::strerror(errno);
    if (fd_ >= 0) ::close(fd_);
    throw std::runtime_error(std::string("TcpPortReservation: ") + step + ": " + reason);
  };
  if (fd_ < 0) fail("socket");
  const int on = 1;
  if (::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0) fail("SO_REUSEADDR");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (::bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    fail("bind 127.0.0.1:0");
  }
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    fail("getsockname");
  }
  port_ = ntohs(address.sin_port);
}

TcpPortReservation::~TcpPortReservation() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace parley::testing
