#include "parley/net/poller.h"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <stdexcept>
#include <string>

#include "parley/net/udp_socket.h"

namespace parley::net {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

UdpSocket BindLoopback() {
  auto socket = UdpSocket::Bind(SocketAddress::Loopback(false, 0));
  if (!socket) throw std::runtime_error(socket.error().message);
  return std::move(socket).value();
}

TEST(PollerTest, TimesOutWhenNothingArrives) {
  UdpSocket socket = BindLoopback();
  Poller poller;
  const size_t index = poller.Add(socket.fd());
  const auto start = steady_clock::now();
  auto ready = poller.Wait(milliseconds(20));
  const auto waited = steady_clock::now() - start;
  ASSERT_TRUE(ready) << ready.error().message;
  EXPECT_EQ(*ready, 0);
  EXPECT_FALSE(poller.readable(index));
  // The wait lasted the timeout (the kernel may end it up to its timer slack early: 1 ms
  // covers that), and a zero timeout only looks.
  EXPECT_GE(waited, milliseconds(19));
  auto look = poller.Wait(milliseconds(0));
  ASSERT_TRUE(look);
  EXPECT_EQ(*look, 0);
}

TEST(PollerTest, ReportsWhichSocketIsReadable) {
  UdpSocket a = BindLoopback();
  UdpSocket b = BindLoopback();
  UdpSocket sender = BindLoopback();
  Poller poller;
  const size_t index_a = poller.Add(a.fd());
  const size_t index_b = poller.Add(b.fd());
  EXPECT_EQ(poller.size(), 2u);

  const std::string text = "ping";
  const std::span<const uint8_t> payload(reinterpret_cast<const uint8_t*>(text.data()),
                                         text.size());
  ASSERT_TRUE(sender.SendTo(payload, b.local_address()));
  auto ready = poller.Wait(milliseconds(2000));  // returns as soon as the datagram is there
  ASSERT_TRUE(ready) << ready.error().message;
  EXPECT_EQ(*ready, 1);
  EXPECT_FALSE(poller.readable(index_a));
  EXPECT_TRUE(poller.readable(index_b));

  std::array<uint8_t, 16> buffer{};
  ASSERT_TRUE(b.ReceiveFrom(buffer));
  auto after = poller.Wait(milliseconds(0));
  ASSERT_TRUE(after);
  EXPECT_EQ(*after, 0);  // drained
}

TEST(PollerTest, RejectsANegativeDescriptor) {
  Poller poller;
  EXPECT_THROW(poller.Add(-1), std::invalid_argument);
}

}  // namespace
}  // namespace parley::net
