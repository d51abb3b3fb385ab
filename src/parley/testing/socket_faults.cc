#include "parley/testing/socket_faults.h"

#include <sys/socket.h>

#include <cerrno>

namespace parley::testing {

void SocketFaults::FailReceives(int error_number, size_t count) {
  std::lock_guard lock(mutex_);
  if (count > 0) receive_script_.push_back({error_number, count});
}

void SocketFaults::FailSends(int error_number, size_t count) {
  std::lock_guard lock(mutex_);
  if (count > 0) send_script_.push_back({error_number, count});
}

size_t SocketFaults::receives_failed() const {
  std::lock_guard lock(mutex_);
  return receives_failed_;
}

size_t SocketFaults::sends_failed() const {
  std::lock_guard lock(mutex_);
  return sends_failed_;
}

size_t SocketFaults::pending() const {
  std::lock_guard lock(mutex_);
  size_t left = 0;
  for (const Failure& f : receive_script_) left += f.left;
  for (const Failure& f : send_script_) left += f.left;
  return left;
}

int SocketFaults::TakeFailure(std::deque<Failure>& script, size_t& failed) {
  std::lock_guard lock(mutex_);
  if (script.empty()) return 0;
  const int error_number = script.front().error_number;
  if (--script.front().left == 0) script.pop_front();
  ++failed;
  return error_number;
}

ssize_t SocketFaults::RecvMsg(int fd, msghdr* message, int flags) {
  if (const int error_number = TakeFailure(receive_script_, receives_failed_)) {
    errno = error_number;
    return -1;
  }
  return ::recvmsg(fd, message, flags);
}

ssize_t SocketFaults::SendTo(int fd, const void* data, size_t size, int flags, const sockaddr* to,
                             socklen_t to_length) {
  if (const int error_number = TakeFailure(send_script_, sends_failed_)) {
    errno = error_number;
    return -1;
  }
  return ::sendto(fd, data, size, flags, to, to_length);
}

int SocketFaults::RecvMmsg(int fd, mmsghdr* messages, unsigned count, int flags) {
  if (const int error_number = TakeFailure(receive_script_, receives_failed_)) {
    errno = error_number;
    return -1;
  }
  return ::recvmmsg(fd, messages, count, flags, nullptr);
}

int SocketFaults::SendMmsg(int fd, mmsghdr* messages, unsigned count, int flags) {
  if (const int error_number = TakeFailure(send_script_, sends_failed_)) {
    errno = error_number;
    return -1;
  }
  return ::sendmmsg(fd, messages, count, flags);
}

}  // namespace parley::testing
