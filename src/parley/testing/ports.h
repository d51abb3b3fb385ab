// TCP ports for the unit tests that run servers on loopback. Not part of the library.
#pragma once

#include <cstdint>

namespace parley::testing {

// Holds a loopback TCP port the system picked (bound with SO_REUSEADDR, never listening)
// for as long as it lives. On Linux, while it is held:
// - a connection to the port is refused at once (nothing listens there unless a test
//   starts a server on it);
// - a server that binds it with SO_REUSEADDR (the relay's signaling and metrics
//   listeners do) can listen on it, stop, and listen on it again: a relay restarted "on
//   the same port" finds the port free, where a port released between the two runs could
//   have been taken by any process meanwhile;
// - no other socket gets it from a bind to port 0 or an outgoing connection.
class TcpPortReservation {
 public:
  // Throws std::runtime_error when no socket can be bound.
  TcpPortReservation();
  ~TcpPortReservation();
  TcpPortReservation(const TcpPortReservation&) = delete;
  TcpPortReservation& operator=(const TcpPortReservation&) = delete;

  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

}  // namespace parley::testing
