// For tests only: a blocking HTTP/1.1 client over a POSIX socket, with a receive and send
// timeout so that a broken server fails the test instead of hanging it. Header-only, so
// the tests that use it need no Beast of their own.
#pragma once

#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include "parley/net/udp_socket.h"

namespace parley::relay::testing {

struct HttpReply {
  int status = 0;    // 0: no answer
  std::string head;  // status line and headers
  std::string body;
};

// Sends `request` as it is and reads until the server closes (or 5 s pass). Returns what
// came back, unparsed.
inline std::string HttpExchange(const net::SocketAddress& address, std::string_view request) {
  const int fd = ::socket(address.is_ipv6() ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  timeval timeout{.tv_sec = 5, .tv_usec = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  std::string response;
  if (::connect(fd, address.sockaddr_ptr(), address.sockaddr_length()) == 0 &&
      ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size())) {
    char buffer[4096];
    for (;;) {
      const ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
      if (got <= 0) break;
      response.append(buffer, static_cast<size_t>(got));
    }
  }
  ::close(fd);
  return response;
}

// One request with Connection: close; the reply split into status, head and body.
inline HttpReply HttpRequest(const net::SocketAddress& address, std::string_view method,
                             std::string_view target) {
  std::string request(method);
  request.append(" ").append(target).append(" HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
  const std::string response = HttpExchange(address, request);
  HttpReply reply;
  const size_t end_of_head = response.find("\r\n\r\n");
  if (!response.starts_with("HTTP/1.1 ") || end_of_head == std::string::npos) return reply;
  reply.status = std::atoi(response.c_str() + 9);
  reply.head = response.substr(0, end_of_head);
  reply.body = response.substr(end_of_head + 4);
  return reply;
}

inline HttpReply HttpGet(const net::SocketAddress& address, std::string_view target) {
  return HttpRequest(address, "GET", target);
}

}  // namespace parley::relay::testing
