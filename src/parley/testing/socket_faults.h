// Fault injection for UDP sockets in tests: the socket's datagram system calls go to the
// system, except for failures scripted ahead ("the next 5 receives fail with ENOBUFS").
// Given to a socket through UdpSocketOptions::system_calls. Not part of the library.
//
// Threading: scripted from any thread (the test's) while the socket's thread makes the
// calls; a mutex guards the script.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>

#include "parley/net/udp_socket.h"

namespace parley::testing {

class SocketFaults final : public net::DatagramSystemCalls {
 public:
  // The next `count` receive calls (recvmsg, recvmmsg) fail with `error_number`, after
  // those already scripted; a call that fails reads nothing (what waits stays queued).
  void FailReceives(int error_number, size_t count);
  // The same for send calls (sendto, sendmmsg): nothing of a failed call is sent.
  void FailSends(int error_number, size_t count);

  // Calls that failed as scripted, and scripted failures not used yet.
  size_t receives_failed() const;
  size_t sends_failed() const;
  size_t pending() const;

  ssize_t RecvMsg(int fd, msghdr* message, int flags) override;
  ssize_t SendTo(int fd, const void* data, size_t size, int flags, const sockaddr* to,
                 socklen_t to_length) override;
  int RecvMmsg(int fd, mmsghdr* messages, unsigned count, int flags) override;
  int SendMmsg(int fd, mmsghdr* messages, unsigned count, int flags) override;

 private:
  struct Failure {
    int error_number;
    size_t left;
  };
  // The errno the next call of this kind must fail with, or 0 (the call goes through).
  int TakeFailure(std::deque<Failure>& script, size_t& failed);

  mutable std::mutex mutex_;
  std::deque<Failure> receive_script_;  // guarded by mutex_
  std::deque<Failure> send_script_;     // guarded by mutex_
  size_t receives_failed_ = 0;          // guarded by mutex_
  size_t sends_failed_ = 0;             // guarded by mutex_
};

}  // namespace parley::testing
