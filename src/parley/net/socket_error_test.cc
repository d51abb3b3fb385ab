#include "parley/net/socket_error.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <set>
#include <string_view>

namespace parley::net {
namespace {

TEST(SocketErrorTest, OnlyAGoneSocketOrARefusedCallIsFatal) {
  for (SocketOp op : {SocketOp::kReceive, SocketOp::kSend, SocketOp::kWait}) {
    SCOPED_TRACE(SocketOpName(op));
    for (int fatal : {EBADF, ENOTSOCK, EFAULT}) EXPECT_TRUE(IsFatalSocketError(op, fatal));
    for (int transient : {EAGAIN, EINTR, ENOBUFS, ENOMEM, ECONNREFUSED, EHOSTUNREACH, ENETUNREACH,
                          EHOSTDOWN, ENETDOWN, EMSGSIZE, EPERM, EACCES, EADDRNOTAVAIL, EAFNOSUPPORT,
                          ECONNRESET, ETIMEDOUT, EIO, EPROTO, ENOSPC}) {
      EXPECT_FALSE(IsFatalSocketError(op, transient)) << ErrnoName(transient);
    }
  }
  // A receive or a wait that the kernel refuses as such is refused every time; a send's
  // EINVAL is about its destination (port 0), which a peer's forged address can cause.
  EXPECT_TRUE(IsFatalSocketError(SocketOp::kReceive, EINVAL));
  EXPECT_TRUE(IsFatalSocketError(SocketOp::kReceive, EOPNOTSUPP));
  EXPECT_TRUE(IsFatalSocketError(SocketOp::kWait, EINVAL));
  EXPECT_FALSE(IsFatalSocketError(SocketOp::kSend, EINVAL));
  EXPECT_FALSE(IsFatalSocketError(SocketOp::kSend, EOPNOTSUPP));
}

TEST(SocketErrorTest, CountedErrnosHaveDistinctNamesAndTheRestIsOther) {
  std::set<std::string_view> names;
  for (size_t i = 0; i < kCountedErrnoCount; ++i) names.insert(CountedErrnoName(i));
  EXPECT_EQ(names.size(), kCountedErrnoCount);
  EXPECT_EQ(CountedErrnoName(kCountedErrnoCount - 1), "other");
  EXPECT_EQ(ErrnoName(ENOBUFS), "ENOBUFS");
  EXPECT_EQ(ErrnoName(EWOULDBLOCK), "EAGAIN");
  EXPECT_EQ(ErrnoName(ENOSPC), "other");
  EXPECT_EQ(CountedErrnoIndex(ENOSPC), kCountedErrnoCount - 1);
  EXPECT_EQ(CountedErrnoName(CountedErrnoIndex(EBADF)), "EBADF");
  EXPECT_EQ(SocketOpName(SocketOp::kReceive), "recv");
  EXPECT_EQ(SocketOpName(SocketOp::kSend), "send");
  EXPECT_EQ(SocketOpName(SocketOp::kWait), "poll");
}

}  // namespace
}  // namespace parley::net
