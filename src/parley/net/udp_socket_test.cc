#include "parley/net/udp_socket.h"

#include <gtest/gtest.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "parley/net/poller.h"
#include "parley/testing/socket_faults.h"

namespace parley::net {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// Loopback delivery is immediate in practice; 2 s only bounds a broken test.
constexpr milliseconds kDeadline{2000};

std::span<const uint8_t> Bytes(const std::string& text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

UdpSocket BindLoopback(bool ipv6 = false) {
  auto socket = UdpSocket::Bind(SocketAddress::Loopback(ipv6, 0));
  if (!socket) throw std::runtime_error(socket.error().message);
  return std::move(socket).value();
}

// Waits (poll, not sleep) for one datagram on `socket`, up to kDeadline.
std::optional<Datagram> ReceiveWithin(UdpSocket& socket, std::span<uint8_t> buffer) {
  Poller poller;
  poller.Add(socket.fd());
  const auto deadline = steady_clock::now() + kDeadline;
  while (steady_clock::now() < deadline) {
    auto datagram = socket.ReceiveFrom(buffer);
    if (!datagram) return std::nullopt;
    if (*datagram) return **datagram;
    if (!poller.Wait(deadline - steady_clock::now())) return std::nullopt;
  }
  return std::nullopt;
}

TEST(SocketAddressTest, ParsesNumericIpv4AndIpv6) {
  auto v4 = SocketAddress::Parse("127.0.0.1:5000");
  ASSERT_TRUE(v4) << v4.error().message;
  EXPECT_FALSE(v4->is_ipv6());
  EXPECT_EQ(v4->port(), 5000);
  EXPECT_EQ(v4->ToString(), "127.0.0.1:5000");
  EXPECT_EQ(*v4, SocketAddress::Loopback(false, 5000));

  auto v6 = SocketAddress::Parse("[::1]:65535");
  ASSERT_TRUE(v6) << v6.error().message;
  EXPECT_TRUE(v6->is_ipv6());
  EXPECT_EQ(v6->port(), 65535);
  EXPECT_EQ(v6->ToString(), "[::1]:65535");
  EXPECT_EQ(*v6, SocketAddress::Loopback(true, 65535));

  auto documentation = SocketAddress::Parse("[2001:db8::a:1]:0");
  ASSERT_TRUE(documentation);
  EXPECT_EQ(documentation->ToString(), "[2001:db8::a:1]:0");
  EXPECT_EQ(SocketAddress::Parse("0.0.0.0:0")->ToString(), "0.0.0.0:0");
}

TEST(SocketAddressTest, EqualityComparesFamilyAddressAndPort) {
  EXPECT_EQ(SocketAddress(), SocketAddress());
  EXPECT_TRUE(SocketAddress().empty());
  EXPECT_EQ(SocketAddress().ToString(), "-");
  EXPECT_NE(SocketAddress::Loopback(false, 1), SocketAddress::Loopback(false, 2));
  EXPECT_NE(SocketAddress::Loopback(false, 1), SocketAddress::Loopback(true, 1));
  EXPECT_NE(*SocketAddress::Parse("10.0.0.1:1"), *SocketAddress::Parse("10.0.0.2:1"));
  EXPECT_NE(SocketAddress::Loopback(false, 1), SocketAddress());
}

TEST(SocketAddressTest, WildcardKeepsTheFamily) {
  EXPECT_EQ(SocketAddress::WildcardFor(SocketAddress::Loopback(false, 9)).ToString(), "0.0.0.0:0");
  EXPECT_EQ(SocketAddress::WildcardFor(SocketAddress::Loopback(true, 9)).ToString(), "[::]:0");
  EXPECT_TRUE(SocketAddress::WildcardFor(SocketAddress()).empty());
  EXPECT_TRUE(SocketAddress::Parse("0.0.0.0:5")->is_unspecified());
  EXPECT_TRUE(SocketAddress::Parse("[::]:5")->is_unspecified());
  EXPECT_FALSE(SocketAddress::Loopback(false, 5).is_unspecified());
  EXPECT_FALSE(SocketAddress::Loopback(true, 5).is_unspecified());
  EXPECT_FALSE(SocketAddress().is_unspecified());
}

TEST(SocketAddressTest, RejectsMalformedAddressesNamingThePart) {
  const struct {
    const char* text;
    const char* reason;  // a substring the error must contain
  } cases[] = {
      {"localhost:5000", "not a numeric IPv4 address"},
      {"127.0.0.1", "has no port"},
      {"127.0.0.1:", "port '' is not a number"},
      {"127.0.0.1:70000", "port '70000' is not a number 0..65535"},
      {"127.0.0.1:50a", "port '50a'"},
      {"127.0.0.1:-1", "port '-1'"},
      {"1.2.3:5000", "'1.2.3' is not a numeric IPv4"},
      {"::1:5000", "needs brackets"},
      {"[::1", "without ']'"},
      {"[::1]5000", "no port after ']'"},
      {"[127.0.0.1]:5000", "not a numeric IPv6"},
      {"[fe80::1%eth0]:5000", "not a numeric IPv6"},
      {"", "has no port"},
  };
  for (const auto& c : cases) {
    auto parsed = SocketAddress::Parse(c.text);
    ASSERT_FALSE(parsed) << c.text;
    EXPECT_NE(parsed.error().message.find(c.reason), std::string::npos)
        << c.text << " -> " << parsed.error().message;
    EXPECT_NE(parsed.error().message.find(c.text), std::string::npos) << parsed.error().message;
  }
}

TEST(UdpSocketTest, SendsAndReceivesOnLoopback) {
  UdpSocket a = BindLoopback();
  UdpSocket b = BindLoopback();
  EXPECT_NE(a.local_address().port(), 0);  // the system picked a port
  EXPECT_NE(a.local_address(), b.local_address());

  std::array<uint8_t, 64> buffer{};
  auto nothing = b.ReceiveFrom(buffer);
  ASSERT_TRUE(nothing) << nothing.error().message;
  EXPECT_FALSE(*nothing);  // non-blocking: nothing waiting is not an error

  auto sent = a.SendTo(Bytes("hello"), b.local_address());
  ASSERT_TRUE(sent) << sent.error().message;
  EXPECT_EQ(*sent, 5u);
  std::optional<Datagram> datagram = ReceiveWithin(b, buffer);
  ASSERT_TRUE(datagram);
  EXPECT_EQ(datagram->size, 5u);
  EXPECT_FALSE(datagram->truncated);
  EXPECT_EQ(datagram->from, a.local_address());
  EXPECT_EQ(std::memcmp(buffer.data(), "hello", 5), 0);
}

TEST(UdpSocketTest, ReportsATruncatedDatagram) {
  UdpSocket a = BindLoopback();
  UdpSocket b = BindLoopback();
  const std::string big(100, 'x');
  ASSERT_TRUE(a.SendTo(Bytes(big), b.local_address()));
  std::array<uint8_t, 10> small{};
  std::optional<Datagram> datagram = ReceiveWithin(b, small);
  ASSERT_TRUE(datagram);
  EXPECT_TRUE(datagram->truncated);
  EXPECT_EQ(datagram->size, small.size());
}

TEST(UdpSocketTest, BatchesMoveSeveralDatagramsPerCall) {
  UdpSocket a = BindLoopback();
  UdpSocket b = BindLoopback();
  constexpr size_t kCount = 10;
  std::vector<std::string> payloads;
  for (size_t i = 0; i < kCount; ++i) payloads.push_back("datagram " + std::to_string(i));
  std::vector<SendSlot> outgoing;
  for (const std::string& p : payloads) outgoing.push_back({Bytes(p), b.local_address()});
  auto sent = a.SendBatch(outgoing);
  ASSERT_TRUE(sent) << sent.error().message;
  EXPECT_EQ(*sent, kCount);

  std::vector<std::array<uint8_t, 32>> buffers(16);
  std::vector<ReceiveSlot> slots(16);
  for (size_t i = 0; i < slots.size(); ++i) slots[i].buffer = buffers[i];
  Poller poller;
  poller.Add(b.fd());
  std::vector<std::string> received;
  const auto deadline = steady_clock::now() + kDeadline;
  while (received.size() < kCount && steady_clock::now() < deadline) {
    ASSERT_TRUE(poller.Wait(deadline - steady_clock::now()));
    auto count = b.ReceiveBatch(slots);
    ASSERT_TRUE(count) << count.error().message;
    for (size_t i = 0; i < *count; ++i) {
      EXPECT_EQ(slots[i].from, a.local_address());
      EXPECT_FALSE(slots[i].truncated);
      received.emplace_back(reinterpret_cast<const char*>(buffers[i].data()), slots[i].size);
    }
  }
  EXPECT_EQ(received, payloads);  // all of them, in order
  auto empty = b.ReceiveBatch(slots);
  ASSERT_TRUE(empty);
  EXPECT_EQ(*empty, 0u);
}

TEST(UdpSocketTest, BindErrorNamesTheAddressAndTheReason) {
  UdpSocket a = BindLoopback();
  auto second = UdpSocket::Bind(a.local_address());
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find("bind " + a.local_address().ToString()), std::string::npos)
      << second.error().message;
  EXPECT_NE(second.error().message.find("in use"), std::string::npos) << second.error().message;

  auto foreign = UdpSocket::Bind(*SocketAddress::Parse("192.0.2.1:0"));  // not this machine's
  ASSERT_FALSE(foreign);
  EXPECT_NE(foreign.error().message.find("192.0.2.1:0"), std::string::npos);
  EXPECT_FALSE(UdpSocket::Bind(SocketAddress()));
}

TEST(UdpSocketTest, MovingTransfersTheDescriptor) {
  UdpSocket a = BindLoopback();
  const int fd = a.fd();
  const SocketAddress address = a.local_address();
  UdpSocket b = std::move(a);
  EXPECT_FALSE(a.is_open());  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_EQ(b.fd(), fd);
  EXPECT_EQ(b.local_address(), address);
  UdpSocket c = BindLoopback();
  c = std::move(b);
  EXPECT_EQ(c.fd(), fd);
  c.Close();
  EXPECT_FALSE(c.is_open());
  c.Close();  // idempotent
}

TEST(UdpSocketTest, SendsAndReceivesOverIpv6Loopback) {
  auto probe = UdpSocket::Bind(SocketAddress::Loopback(true, 0));
  if (!probe) GTEST_SKIP() << "no IPv6 loopback on this machine: " << probe.error().message;
  UdpSocket a = std::move(probe).value();
  UdpSocket b = BindLoopback(/*ipv6=*/true);
  EXPECT_TRUE(b.local_address().is_ipv6());
  ASSERT_TRUE(a.SendTo(Bytes("over v6"), b.local_address()));
  std::array<uint8_t, 64> buffer{};
  std::optional<Datagram> datagram = ReceiveWithin(b, buffer);
  ASSERT_TRUE(datagram);
  EXPECT_EQ(datagram->size, 7u);
  EXPECT_EQ(datagram->from, a.local_address());
  EXPECT_EQ(datagram->from.ToString(), "[::1]:" + std::to_string(a.local_address().port()));
}

TEST(UdpSocketTest, SendToTheOtherFamilyFails) {
  UdpSocket v4 = BindLoopback();
  auto sent = v4.SendTo(Bytes("x"), SocketAddress::Loopback(true, 9));
  ASSERT_FALSE(sent);
  EXPECT_NE(sent.error().message.find("sendto [::1]:9"), std::string::npos) << sent.error().message;
}

// Failures injected through UdpSocketOptions::system_calls: the Try* calls give the
// errno, the others a message naming the call, the address and the reason; what was
// waiting is still there afterwards.
TEST(UdpSocketTest, InjectedFailuresReportTheirErrnoAndLoseNothingWaiting) {
  testing::SocketFaults faults;
  auto bound = UdpSocket::Bind(SocketAddress::Loopback(false, 0), {.system_calls = &faults});
  ASSERT_TRUE(bound);
  UdpSocket b = std::move(bound).value();
  UdpSocket a = BindLoopback();
  ASSERT_TRUE(a.SendTo(Bytes("hello"), b.local_address()));

  std::array<uint8_t, 32> buffer{};
  std::array<ReceiveSlot, 4> slots{};
  for (ReceiveSlot& slot : slots) slot.buffer = buffer;
  Poller poller;
  poller.Add(b.fd());
  ASSERT_TRUE(poller.Wait(kDeadline));
  faults.FailReceives(ENOBUFS, 1);
  faults.FailReceives(ECONNREFUSED, 1);
  const BatchOutcome first = b.TryReceiveBatch(slots);
  EXPECT_FALSE(first.ok());
  EXPECT_EQ(first.error_number, ENOBUFS);
  EXPECT_EQ(first.count, 0u);
  Result<size_t> second = b.ReceiveBatch(slots);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().message,
            "recvmmsg on " + b.local_address().ToString() + ": Connection refused");
  const BatchOutcome third = b.TryReceiveBatch(slots);
  ASSERT_TRUE(third.ok());
  ASSERT_EQ(third.count, 1u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(buffer.data()), slots[0].size), "hello");
  EXPECT_EQ(faults.receives_failed(), 2u);

  const std::string back = "back";
  const std::array<SendSlot, 1> out = {SendSlot{Bytes(back), a.local_address()}};
  faults.FailSends(EHOSTUNREACH, 1);
  const BatchOutcome refused = b.TrySendBatch(out);
  EXPECT_EQ(refused.error_number, EHOSTUNREACH);
  faults.FailSends(EPERM, 1);
  Result<size_t> refused_too = b.SendTo(Bytes("back"), a.local_address());
  ASSERT_FALSE(refused_too);
  EXPECT_EQ(refused_too.error().message,
            "sendto " + a.local_address().ToString() + ": Operation not permitted");
  const BatchOutcome sent = b.TrySendBatch(out);
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(sent.count, 1u);
  const std::optional<Datagram> got = ReceiveWithin(a, buffer);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->size, 4u) << "only the send that went through arrived";
  EXPECT_EQ(faults.pending(), 0u);
}

TEST(UdpSocketTest, NothingWaitingIsACountOfZeroNotAnError) {
  UdpSocket socket = BindLoopback();
  std::array<uint8_t, 32> buffer{};
  std::array<ReceiveSlot, 1> slots{};
  slots[0].buffer = buffer;
  const BatchOutcome none = socket.TryReceiveBatch(slots);
  EXPECT_TRUE(none.ok());
  EXPECT_EQ(none.count, 0u);
}

}  // namespace
}  // namespace parley::net
