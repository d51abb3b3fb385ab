#include "parley/net/socket_error.h"

#include <array>
#include <cerrno>

namespace parley::net {
namespace {

struct NamedErrno {
  int number;
  std::string_view name;
};

// The order is the metric's; "other" follows the last.
constexpr std::array<NamedErrno, kCountedErrnoCount - 1> kCounted = {{
    {EAGAIN, "EAGAIN"},
    {EINTR, "EINTR"},
    {ENOBUFS, "ENOBUFS"},
    {ENOMEM, "ENOMEM"},
    {ECONNREFUSED, "ECONNREFUSED"},
    {EHOSTUNREACH, "EHOSTUNREACH"},
    {ENETUNREACH, "ENETUNREACH"},
    {EHOSTDOWN, "EHOSTDOWN"},
    {ENETDOWN, "ENETDOWN"},
    {EMSGSIZE, "EMSGSIZE"},
    {EPERM, "EPERM"},
    {EACCES, "EACCES"},
    {EADDRNOTAVAIL, "EADDRNOTAVAIL"},
    {EAFNOSUPPORT, "EAFNOSUPPORT"},
    {ECONNRESET, "ECONNRESET"},
    {ETIMEDOUT, "ETIMEDOUT"},
    {EIO, "EIO"},
    {EPROTO, "EPROTO"},
    {EINVAL, "EINVAL"},
    {EOPNOTSUPP, "EOPNOTSUPP"},
    {EFAULT, "EFAULT"},
    {EBADF, "EBADF"},
    {ENOTSOCK, "ENOTSOCK"},
}};
constexpr size_t kOther = kCountedErrnoCount - 1;

}  // namespace

std::string_view SocketOpName(SocketOp op) {
  switch (op) {
    case SocketOp::kReceive:
      return "recv";
    case SocketOp::kSend:
      return "send";
    case SocketOp::kWait:
      return "poll";
  }
  return "unknown";
}

bool IsFatalSocketError(SocketOp op, int error_number) {
  if (error_number == EBADF || error_number == ENOTSOCK || error_number == EFAULT) return true;
  switch (op) {
    case SocketOp::kReceive:
      return error_number == EINVAL || error_number == EOPNOTSUPP;
    case SocketOp::kWait:
      return error_number == EINVAL;
    case SocketOp::kSend:
      return false;
  }
  return false;
}

size_t CountedErrnoIndex(int error_number) {
  for (size_t i = 0; i < kCounted.size(); ++i) {
    if (kCounted[i].number == error_number) return i;
  }
  return kOther;
}

std::string_view CountedErrnoName(size_t index) {
  return index < kCounted.size() ? kCounted[index].name : "other";
}

std::string_view ErrnoName(int error_number) {
  return CountedErrnoName(CountedErrnoIndex(error_number));
}

}  // namespace parley::net
