#include "parley/net/poller.h"

#include <fmt/format.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <system_error>

namespace parley::net {

size_t Poller::Add(int fd) {
  if (fd < 0) throw std::invalid_argument(fmt::format("Poller::Add: fd {} < 0", fd));
  fds_.push_back(pollfd{fd, POLLIN, 0});
  return fds_.size() - 1;
}

Result<int> Poller::Wait(std::chrono::nanoseconds timeout) {
  const int ready = TryWait(timeout);
  if (ready < 0) {
    return Error{fmt::format("ppoll on {} sockets: {}", fds_.size(),
                             std::system_category().message(-ready))};
  }
  return ready;
}

int Poller::TryWait(std::chrono::nanoseconds timeout) {
  using std::chrono::nanoseconds;
  using std::chrono::seconds;
  const nanoseconds wait = std::max(timeout, nanoseconds(0));
  const auto whole_seconds = std::chrono::duration_cast<seconds>(wait);
  const timespec limit{static_cast<time_t>(whole_seconds.count()),
                       static_cast<long>((wait - whole_seconds).count())};
  for (pollfd& entry : fds_) entry.revents = 0;
  const int ready = ::ppoll(fds_.data(), fds_.size(), &limit, nullptr);
  if (ready < 0) return errno == EINTR ? 0 : -errno;
  return ready;
}

bool Poller::readable(size_t index) const {
  return (fds_.at(index).revents & (POLLIN | POLLERR | POLLHUP | POLLNVAL)) != 0;
}

}  // namespace parley::net
