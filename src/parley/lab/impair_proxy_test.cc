#include "parley/lab/impair_proxy.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <stdexcept>
#include <thread>
#include <vector>

namespace parley::lab {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// Every wait in these tests is a poll with a timeout; this only bounds a broken test.
constexpr milliseconds kDeadline{5000};
constexpr size_t kPayloadBytes = 32;

// A test datagram: a 4-byte big-endian sequence number, then bytes derived from it, so a
// damaged or mixed-up payload is seen.
std::array<uint8_t, kPayloadBytes> Payload(uint32_t seq) {
  std::array<uint8_t, kPayloadBytes> bytes{};
  for (int i = 0; i < 4; ++i) bytes[i] = static_cast<uint8_t>(seq >> (24 - 8 * i));
  for (size_t i = 4; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(seq * 7 + i);
  return bytes;
}

// The sequence number of a received payload; -1 when the payload is not intact.
int64_t SequenceOf(std::span<const uint8_t> payload) {
  if (payload.size() != kPayloadBytes) return -1;
  uint32_t seq = 0;
  for (int i = 0; i < 4; ++i) seq = (seq << 8) | payload[i];
  const auto expected = Payload(seq);
  return std::equal(expected.begin(), expected.end(), payload.begin()) ? seq : -1;
}

net::UdpSocket BindLoopback() {
  auto socket = net::UdpSocket::Bind(net::SocketAddress::Loopback(false, 0));
  if (!socket) throw std::runtime_error(socket.error().message);
  return std::move(socket).value();
}

// An endpoint on loopback that records the sequence numbers it receives (and when), and
// optionally echoes every datagram back to its sender.
struct Endpoint {
  net::UdpSocket socket = BindLoopback();
  bool echo = false;
  std::vector<int64_t> received;
  std::vector<steady_clock::time_point> received_at;

  void Drain() {
    std::array<uint8_t, 2048> buffer{};
    for (;;) {
      auto datagram = socket.ReceiveFrom(buffer);
      if (!datagram || !*datagram) return;
      const auto payload = std::span<const uint8_t>(buffer).first((*datagram)->size);
      received.push_back(SequenceOf(payload));
      received_at.push_back(steady_clock::now());
      if (echo) (void)socket.SendTo(payload, (*datagram)->from);
    }
  }
  void Send(uint32_t seq, const net::SocketAddress& to) {
    const auto payload = Payload(seq);
    ASSERT_TRUE(socket.SendTo(payload, to));
  }
};

// Turns the proxy and drains both endpoints until `done` or the deadline. Returns done().
bool PumpUntil(ImpairProxy& proxy, Endpoint& client, Endpoint& server,
               const std::function<bool()>& done) {
  const auto deadline = steady_clock::now() + kDeadline;
  while (!done()) {
    if (steady_clock::now() > deadline) return false;
    EXPECT_TRUE(proxy.RunOnce(milliseconds(1)));
    server.Drain();
    client.Drain();
  }
  return true;
}

void ExpectBalanced(const ImpairDirectionStats& s) {
  EXPECT_EQ(s.received + s.duplicated,
            s.lost + s.forwarded + s.queue_dropped + s.send_errors + s.queued);
}

ImpairmentConfig NoImpairment() {
  ImpairmentConfig config;
  config.base_delay_ms = 0.0;
  return config;
}

std::vector<int64_t> Range(int64_t n) {
  std::vector<int64_t> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

TEST(ImpairProxyTest, PerfectPresetDeliversEverythingInOrderBothWays) {
  auto perfect = FindNetworkPreset("perfect");
  ASSERT_TRUE(perfect) << perfect.error().message;
  Endpoint client;
  Endpoint server;
  server.echo = true;
  ImpairProxy proxy(SystemClock::Instance(),
                    ImpairProxyConfig::BothWays(net::SocketAddress::Loopback(false, 0),
                                                server.socket.local_address(), *perfect));
  ASSERT_TRUE(proxy.Start());
  EXPECT_NE(proxy.listen_address().port(), 0);

  constexpr int kCount = 100;
  for (uint32_t seq = 0; seq < kCount; ++seq) client.Send(seq, proxy.listen_address());
  ASSERT_TRUE(PumpUntil(proxy, client, server, [&] { return client.received.size() >= kCount; }));

  EXPECT_EQ(proxy.client(), client.socket.local_address());
  EXPECT_EQ(server.received, Range(kCount));  // in order, every payload intact
  EXPECT_EQ(client.received, Range(kCount));
  const ImpairProxyStats stats = proxy.stats();
  for (const ImpairDirectionStats& s : {stats.upstream, stats.downstream}) {
    EXPECT_EQ(s.received, kCount);
    EXPECT_EQ(s.forwarded, kCount);
    EXPECT_EQ(s.lost + s.duplicated + s.queue_dropped + s.send_errors + s.foreign_dropped, 0u);
    EXPECT_EQ(s.queued, 0u);
  }
}

TEST(ImpairProxyTest, BernoulliLossDropsExactlyTheModelsChoice) {
  ImpairmentConfig lossy = NoImpairment();
  lossy.loss = LossModel::kBernoulli;
  lossy.loss_rate = 0.2;
  lossy.seed = 42;
  Endpoint client;
  Endpoint server;
  server.echo = true;
  const ImpairProxyConfig config = ImpairProxyConfig::BothWays(
      net::SocketAddress::Loopback(false, 0), server.socket.local_address(), lossy);
  ImpairProxy proxy(SystemClock::Instance(), config);
  ASSERT_TRUE(proxy.Start());

  // The same models, run apart: Bernoulli loss draws do not depend on time or size.
  ImpairmentModel upstream_model(config.upstream);
  ImpairmentModel downstream_model(config.downstream);
  constexpr uint32_t kCount = 300;
  std::vector<int64_t> expected_at_server;
  for (uint32_t seq = 0; seq < kCount; ++seq) {
    if (!upstream_model.Next(0.0, 0).lost()) expected_at_server.push_back(seq);
  }
  std::vector<int64_t> expected_at_client;  // echoes cross the downstream model in order
  for (const int64_t seq : expected_at_server) {
    if (!downstream_model.Next(0.0, 0).lost()) expected_at_client.push_back(seq);
  }

  // In chunks, so no socket buffer on the way can overflow: any loss is the model's.
  constexpr uint32_t kChunk = 20;
  for (uint32_t seq = 0; seq < kCount; ++seq) {
    client.Send(seq, proxy.listen_address());
    if ((seq + 1) % kChunk == 0 || seq + 1 == kCount) {
      ASSERT_TRUE(PumpUntil(proxy, client, server,
                            [&] { return proxy.stats().upstream.received == seq + 1; }));
    }
  }
  ASSERT_TRUE(PumpUntil(proxy, client, server, [&] {
    return client.received.size() >= expected_at_client.size() &&
           proxy.stats().downstream.received == expected_at_server.size();
  }));

  EXPECT_EQ(server.received, expected_at_server);
  EXPECT_EQ(client.received, expected_at_client);
  const ImpairProxyStats stats = proxy.stats();
  EXPECT_EQ(stats.upstream.received, kCount);
  EXPECT_EQ(stats.upstream.forwarded, expected_at_server.size());
  EXPECT_EQ(stats.upstream.lost, kCount - expected_at_server.size());
  EXPECT_EQ(stats.downstream.forwarded, expected_at_client.size());
  // 20 % of 300 is 60; the seed's draw lands within a few standard deviations (6.9).
  EXPECT_NEAR(static_cast<double>(stats.upstream.lost), 60.0, 25.0);
  ExpectBalanced(stats.upstream);
  ExpectBalanced(stats.downstream);
}

TEST(ImpairProxyTest, BaseDelayHoldsEachDatagramAtLeastThatLong) {
  ImpairmentConfig delayed = NoImpairment();
  delayed.base_delay_ms = 30.0;
  Endpoint client;
  Endpoint server;
  ImpairProxy proxy(SystemClock::Instance(),
                    ImpairProxyConfig::BothWays(net::SocketAddress::Loopback(false, 0),
                                                server.socket.local_address(), delayed));
  ASSERT_TRUE(proxy.Start());

  constexpr int kCount = 5;
  std::vector<steady_clock::time_point> sent_at;
  for (uint32_t seq = 0; seq < kCount; ++seq) {
    sent_at.push_back(steady_clock::now());
    client.Send(seq, proxy.listen_address());
    // Spaced by the proxy's own turns, so each datagram has its own send time.
    ASSERT_TRUE(PumpUntil(proxy, client, server,
                          [&] { return proxy.stats().upstream.received == seq + 1; }));
  }
  ASSERT_TRUE(PumpUntil(proxy, client, server, [&] { return server.received.size() >= kCount; }));
  ASSERT_EQ(server.received, Range(kCount));
  for (int i = 0; i < kCount; ++i) {
    const auto transit = server.received_at[i] - sent_at[i];
    EXPECT_GE(transit, milliseconds(30)) << "datagram " << i;
    // Upper slack: a loaded CI machine may deschedule the test for a while.
    EXPECT_LE(transit, milliseconds(30 + 500)) << "datagram " << i;
  }
}

TEST(ImpairProxyTest, ReleasesOnTheInjectedClockAndBoundsTheQueue) {
  SimulatedClock clock;
  ImpairmentConfig delayed = NoImpairment();
  delayed.base_delay_ms = 30.0;
  Endpoint client;
  Endpoint server;
  ImpairProxyConfig config = ImpairProxyConfig::BothWays(net::SocketAddress::Loopback(false, 0),
                                                         server.socket.local_address(), delayed);
  config.max_queued_datagrams = 4;
  ImpairProxy proxy(clock, config);
  ASSERT_TRUE(proxy.Start());

  for (uint32_t seq = 0; seq < 6; ++seq) client.Send(seq, proxy.listen_address());
  ASSERT_TRUE(
      PumpUntil(proxy, client, server, [&] { return proxy.stats().upstream.received == 6; }));
  EXPECT_EQ(proxy.stats().upstream.queued, 4u);
  EXPECT_EQ(proxy.stats().upstream.queue_dropped, 2u);  // the two that found the pool full

  clock.Advance(milliseconds(29));
  ASSERT_TRUE(proxy.RunOnce(milliseconds(0)));
  EXPECT_EQ(proxy.stats().upstream.forwarded, 0u);  // not yet due
  clock.Advance(milliseconds(1));
  ASSERT_TRUE(proxy.RunOnce(milliseconds(0)));
  EXPECT_EQ(proxy.stats().upstream.forwarded, 4u);  // due at 30 ms exactly
  ASSERT_TRUE(PumpUntil(proxy, client, server, [&] { return server.received.size() >= 4; }));
  EXPECT_EQ(server.received, Range(4));
  ExpectBalanced(proxy.stats().upstream);
}

TEST(ImpairProxyTest, DuplicatesArriveTwiceTheCopyLater) {
  SimulatedClock clock;
  ImpairmentConfig doubling = NoImpairment();
  doubling.duplicate_rate = 1.0;
  doubling.duplicate_delay_ms = 5.0;
  Endpoint client;
  Endpoint server;
  ImpairProxy proxy(clock, ImpairProxyConfig::BothWays(net::SocketAddress::Loopback(false, 0),
                                                       server.socket.local_address(), doubling));
  ASSERT_TRUE(proxy.Start());
  for (uint32_t seq = 0; seq < 3; ++seq) client.Send(seq, proxy.listen_address());
  ASSERT_TRUE(PumpUntil(proxy, client, server, [&] { return server.received.size() >= 3; }));
  EXPECT_EQ(proxy.stats().upstream.queued, 3u);  // the copies, 5 ms later
  clock.Advance(milliseconds(5));
  ASSERT_TRUE(PumpUntil(proxy, client, server, [&] { return server.received.size() >= 6; }));
  EXPECT_EQ(server.received, (std::vector<int64_t>{0, 1, 2, 0, 1, 2}));
  EXPECT_EQ(proxy.stats().upstream.duplicated, 3u);
  EXPECT_EQ(proxy.stats().upstream.forwarded, 6u);
  ExpectBalanced(proxy.stats().upstream);
}

TEST(ImpairProxyTest, DropsAndCountsForeignSenders) {
  SimulatedClock clock;
  Endpoint client;
  Endpoint server;
  Endpoint stranger;
  ImpairProxy proxy(clock,
                    ImpairProxyConfig::BothWays(net::SocketAddress::Loopback(false, 0),
                                                server.socket.local_address(), NoImpairment()));
  ASSERT_TRUE(proxy.Start());
  EXPECT_TRUE(proxy.client().empty());

  client.Send(1, proxy.listen_address());
  ASSERT_TRUE(PumpUntil(proxy, client, server, [&] { return server.received.size() == 1; }));
  EXPECT_EQ(proxy.client(), client.socket.local_address());  // the first sender is the client
  stranger.Send(2, proxy.listen_address());                  // not the client
  stranger.Send(3, net::SocketAddress::Loopback(false, proxy.upstream_address().port()));
  ASSERT_TRUE(PumpUntil(proxy, client, server, [&] {
    const ImpairProxyStats s = proxy.stats();
    return s.upstream.foreign_dropped == 1 && s.downstream.foreign_dropped == 1;
  }));
  client.Send(4, proxy.listen_address());
  ASSERT_TRUE(PumpUntil(proxy, client, server, [&] { return server.received.size() == 2; }));
  EXPECT_EQ(server.received, (std::vector<int64_t>{1, 4}));
  EXPECT_TRUE(client.received.empty());
  EXPECT_EQ(proxy.stats().upstream.received, 2u);  // foreign datagrams are not received
}

TEST(ImpairProxyTest, DropsDatagramsLargerThanASlot) {
  SimulatedClock clock;
  Endpoint client;
  Endpoint server;
  ImpairProxyConfig config = ImpairProxyConfig::BothWays(
      net::SocketAddress::Loopback(false, 0), server.socket.local_address(), NoImpairment());
  config.max_datagram_bytes = kPayloadBytes;
  ImpairProxy proxy(clock, config);
  ASSERT_TRUE(proxy.Start());
  const std::array<uint8_t, kPayloadBytes + 1> big{};
  ASSERT_TRUE(client.socket.SendTo(big, proxy.listen_address()));
  client.Send(7, proxy.listen_address());  // exactly a slot: relayed
  ASSERT_TRUE(PumpUntil(proxy, client, server, [&] { return server.received.size() == 1; }));
  EXPECT_EQ(server.received, (std::vector<int64_t>{7}));
  EXPECT_EQ(proxy.stats().upstream.oversize_dropped, 1u);
  EXPECT_EQ(proxy.stats().upstream.received, 1u);
}

TEST(ImpairProxyTest, RunServesUntilTheStopFlag) {
  Endpoint client;
  Endpoint server;
  server.echo = true;
  ImpairProxy proxy(SystemClock::Instance(),
                    ImpairProxyConfig::BothWays(net::SocketAddress::Loopback(false, 0),
                                                server.socket.local_address(), NoImpairment()));
  ASSERT_TRUE(proxy.Start());
  const net::SocketAddress listen = proxy.listen_address();
  std::atomic<bool> stop{false};
  Status run_status;
  std::thread runner([&] { run_status = proxy.Run(stop); });

  client.Send(9, listen);
  net::Poller poller;
  const size_t server_index = poller.Add(server.socket.fd());
  const size_t client_index = poller.Add(client.socket.fd());
  const auto deadline = steady_clock::now() + kDeadline;
  while (client.received.empty() && steady_clock::now() < deadline) {
    ASSERT_TRUE(poller.Wait(milliseconds(50)));
    if (poller.readable(server_index)) server.Drain();
    if (poller.readable(client_index)) client.Drain();
  }
  stop = true;
  runner.join();  // within kRunCheckInterval
  EXPECT_TRUE(run_status);
  EXPECT_EQ(server.received, (std::vector<int64_t>{9}));
  EXPECT_EQ(client.received, (std::vector<int64_t>{9}));
  proxy.Stop();
  EXPECT_THROW((void)proxy.RunOnce(milliseconds(0)), std::logic_error);
}

TEST(ImpairProxyTest, ConfigErrorsNameTheField) {
  const net::SocketAddress any = net::SocketAddress::Loopback(false, 0);
  const net::SocketAddress server = net::SocketAddress::Loopback(false, 9);
  const auto error_of = [](const ImpairProxyConfig& config) {
    Status s = config.Validate();
    return s ? std::string() : s.error().message;
  };
  EXPECT_EQ(error_of(ImpairProxyConfig::BothWays(any, server, NoImpairment())), "");
  EXPECT_NE(error_of(ImpairProxyConfig::BothWays(any, net::SocketAddress::Loopback(false, 0),
                                                 NoImpairment()))
                .find("forward 127.0.0.1:0"),
            std::string::npos);
  EXPECT_NE(error_of(ImpairProxyConfig::BothWays(any, *net::SocketAddress::Parse("0.0.0.0:9"),
                                                 NoImpairment()))
                .find("forward 0.0.0.0:9"),
            std::string::npos);
  EXPECT_NE(error_of(ImpairProxyConfig::BothWays(net::SocketAddress(), server, NoImpairment()))
                .find("listen"),
            std::string::npos);
  ImpairProxyConfig config = ImpairProxyConfig::BothWays(any, server, NoImpairment());
  config.downstream.loss_rate = 2.0;
  EXPECT_NE(error_of(config).find("downstream: "), std::string::npos) << error_of(config);
  EXPECT_THROW(ImpairProxy(SystemClock::Instance(), config), std::invalid_argument);
  config = ImpairProxyConfig::BothWays(any, server, NoImpairment());
  config.max_queued_datagrams = 0;
  EXPECT_NE(error_of(config).find("max_queued_datagrams 0"), std::string::npos);
  config = ImpairProxyConfig::BothWays(any, server, NoImpairment());
  config.max_datagram_bytes = 70000;
  EXPECT_NE(error_of(config).find("max_datagram_bytes 70000"), std::string::npos);

  // Seeds differ per direction.
  config = ImpairProxyConfig::BothWays(any, server, NoImpairment());
  EXPECT_EQ(config.downstream.seed, config.upstream.seed + 1);
}

TEST(ImpairProxyTest, StartReportsABusyPortAndRefusesMisuse) {
  Endpoint occupant;
  ImpairProxy proxy(
      SystemClock::Instance(),
      ImpairProxyConfig::BothWays(occupant.socket.local_address(),
                                  net::SocketAddress::Loopback(false, 9), NoImpairment()));
  EXPECT_THROW((void)proxy.RunOnce(milliseconds(0)), std::logic_error);  // before Start
  Status started = proxy.Start();
  ASSERT_FALSE(started);
  EXPECT_NE(started.error().message.find("listen socket: bind " +
                                         occupant.socket.local_address().ToString()),
            std::string::npos)
      << started.error().message;
}

}  // namespace
}  // namespace parley::lab
