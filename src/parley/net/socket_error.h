// What a failed receive, send or wait on a UDP socket means for the loop that made it:
// most errors concern one datagram, one destination or a passing shortage and the loop
// goes on; a few mean the socket itself is gone and nothing that loop does will work
// again. And a fixed table of the errors a UDP socket reports, so that a loop can count
// them by name without allocating.
//
// Classification (Linux, UDP):
//
//   fatal, every operation   EBADF, ENOTSOCK: the descriptor is closed or is not a socket.
//                            EFAULT: the loop handed the kernel memory it cannot read or
//                            write; a bug that every retry repeats.
//   fatal, receive only      EINVAL, EOPNOTSUPP: the call itself is refused (its flags or
//                            arguments), so every retry is; no datagram can be read.
//   fatal, wait only         EINVAL: the wait itself is refused (too many descriptors).
//   transient, the rest      among them EAGAIN (send buffer full), EINTR, ENOBUFS and
//                            ENOMEM (memory short for a moment), ECONNREFUSED,
//                            EHOSTUNREACH, ENETUNREACH, EHOSTDOWN, ENETDOWN (an ICMP error
//                            about an earlier datagram, reported on a later call), EMSGSIZE
//                            (one datagram over the path MTU), EPERM and EACCES (a firewall
//                            rule, a broadcast destination), EADDRNOTAVAIL and EAFNOSUPPORT
//                            (one destination the socket cannot reach), ECONNRESET,
//                            ETIMEDOUT, EIO, EPROTO, and send EINVAL (a destination with port 0: a
//                            peer's forged source address must not stop the relay).
//
// An errno not in the table is transient: a loop outlives what it does not know, and the
// count ("other") shows it.
//
// Pure functions; thread-safe; nothing allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace parley::net {

enum class SocketOp : uint8_t {
  kReceive,  // recvmsg / recvmmsg
  kSend,     // sendto / sendmmsg
  kWait,     // ppoll
};
inline constexpr size_t kSocketOpCount = 3;

// "recv", "send", "poll": metric labels.
std::string_view SocketOpName(SocketOp op);

// True when `error_number`, from `op`, means the socket can no longer be used (above).
bool IsFatalSocketError(SocketOp op, int error_number);

// The errors counted by name: index 0..kCountedErrnoCount - 2 for the errnos above,
// kCountedErrnoCount - 1 ("other") for any other.
inline constexpr size_t kCountedErrnoCount = 24;
size_t CountedErrnoIndex(int error_number);
// "EAGAIN", "ENOBUFS", ..., "other": the name of an index (metric labels).
std::string_view CountedErrnoName(size_t index);
// The errno's symbolic name when it is counted by name, else "other".
std::string_view ErrnoName(int error_number);

}  // namespace parley::net
