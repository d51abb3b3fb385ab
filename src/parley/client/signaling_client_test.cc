#include "parley/client/signaling_client.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "parley/relay/relay.h"
#include "parley/session/token.h"
#include "parley/testing/ports.h"

namespace parley::client {
namespace {

using std::chrono::milliseconds;

// Bounds every wait; on loopback each step takes milliseconds.
constexpr std::chrono::seconds kDeadline{5};
const std::string kSecret = "client-test-secret-0123456789abcdef-0123456789";

int64_t NowUnixS() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Token(const std::string& room, const std::string& identity,
                  const std::string& secret = kSecret) {
  return session::MintToken({.room = room,
                             .identity = identity,
                             .expires_unix_s = NowUnixS() + 3600,
                             .rights = session::Rights::kPublish | session::Rights::kSubscribe},
                            secret);
}

session::Join JoinFor(const std::string& identity, uint32_t ssrc,
                      const std::string& secret = kSecret) {
  session::Join join;
  join.room = "standup";
  join.token = Token("standup", identity, secret);
  join.ssrc = ssrc;
  join.capabilities.codecs.push_back({"opus", 48000, 2, 111});
  return join;
}

// Events as they come, with a wait for the one a test expects.
class Recording final : public SignalingListener {
 public:
  void OnJoined(const session::Joined& joined, bool rejoined) override {
    Add("joined" + std::string(rejoined ? " again" : ""), [&] { last_joined = joined; });
  }
  void OnPeerJoined(const session::PeerInfo& peer) override {
    Add("peer_joined " + peer.identity, [] {});
  }
  void OnPeerLeft(uint32_t participant_id) override {
    Add("peer_left " + std::to_string(participant_id), [] {});
  }
  void OnDisconnected(const std::string& /*reason*/, milliseconds retry_in) override {
    Add("disconnected", [&] { retries.push_back(retry_in); });
  }
  void OnFailed(const Error& error) override {
    Add("failed: " + error.message, [] {});
  }

  // Waits until an event equal to `event` has happened; false at the deadline.
  bool WaitFor(const std::string& event) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, kDeadline, [&] {
      for (const std::string& e : events_) {
        if (e == event) return true;
      }
      return false;
    });
  }
  std::vector<std::string> events() {
    std::lock_guard lock(mutex_);
    return events_;
  }

  session::Joined last_joined;
  std::vector<milliseconds> retries;

 private:
  void Add(std::string event, const std::function<void()>& record) {
    std::lock_guard lock(mutex_);
    record();
    events_.push_back(std::move(event));
    cv_.notify_all();
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::string> events_;
};

session::RelayConfig RelayConfigAt(const std::string& signaling = "127.0.0.1:0") {
  session::RelayConfig config;
  config.token_secret = kSecret;
  config.listen_signaling = signaling;
  config.listen_media = "127.0.0.1:0";
  config.metrics_listen = "";
  return config;
}

class SignalingClientTest : public ::testing::Test {
 protected:
  // Signaling on the port the fixture holds, so that a restarted relay finds it free.
  void SetUp() override { StartRelay(RelayConfigAt(signaling_address_)); }
  void StartRelay(const session::RelayConfig& config) {
    relay_ = std::make_unique<relay::Relay>(config, logger_);
    const Status started = relay_->Start();
    ASSERT_TRUE(started) << started.error().message;
  }
  SignalingClientConfig ClientConfig() {
    SignalingClientConfig config;
    config.url = "ws://" + relay_->signaling_address().ToString() + "/";
    config.backoff.initial = milliseconds(20);
    config.backoff.max = milliseconds(200);
    return config;
  }

  testing::TcpPortReservation signaling_port_;
  const std::string signaling_address_ = "127.0.0.1:" + std::to_string(signaling_port_.port());
  Logger logger_{LogLevel::kError, [](std::string_view) {}};
  std::unique_ptr<relay::Relay> relay_;
};

TEST_F(SignalingClientTest, JoinsAndHearsPeersComeAndGo) {
  Recording alice_events;
  SignalingClient alice(ClientConfig(), alice_events);
  auto joined = alice.Join(JoinFor("alice", 1111));
  ASSERT_TRUE(joined) << joined.error().message;
  EXPECT_EQ(joined->media.address, relay_->media_address().ToString());
  EXPECT_TRUE(joined->peers.empty());
  EXPECT_EQ(alice_events.events().front(), "joined");  // before Join returned

  Recording bob_events;
  auto bob = std::make_unique<SignalingClient>(ClientConfig(), bob_events);
  auto bob_joined = bob->Join(JoinFor("bob", 2222));
  ASSERT_TRUE(bob_joined) << bob_joined.error().message;
  ASSERT_EQ(bob_joined->peers.size(), 1u);
  EXPECT_EQ(bob_joined->peers[0].identity, "alice");
  EXPECT_EQ(bob_joined->peers[0].ssrc, 1111u);
  ASSERT_TRUE(alice_events.WaitFor("peer_joined bob"));

  bob->Leave();
  ASSERT_TRUE(alice_events.WaitFor("peer_left " + std::to_string(bob_joined->participant_id)));
  bob.reset();
  alice.Leave();
  EXPECT_EQ(alice.counters().joins, 1u);
  EXPECT_EQ(alice.counters().disconnects, 0u);
}

TEST_F(SignalingClientTest, ARefusedJoinIsAnErrorWithTheRelaysCode) {
  Recording events;
  SignalingClient client(ClientConfig(), events);
  auto joined =
      client.Join(JoinFor("mallory", 3333, "a-secret-the-relay-does-not-know-0123456789"));
  ASSERT_FALSE(joined);
  EXPECT_NE(joined.error().message.find("unauthorized"), std::string::npos)
      << joined.error().message;
  EXPECT_EQ(client.counters().refusals, 1u);
  EXPECT_TRUE(events.events().empty());  // the first failure is Join's to report
}

TEST_F(SignalingClientTest, AnUnreachableRelayFailsAtOnce) {
  Recording events;
  const testing::TcpPortReservation nobody_listens;
  const std::string address = "127.0.0.1:" + std::to_string(nobody_listens.port());
  SignalingClientConfig config = ClientConfig();
  config.url = "ws://" + address + "/";
  SignalingClient client(config, events);
  const auto started = std::chrono::steady_clock::now();
  auto joined = client.Join(JoinFor("alice", 1));
  ASSERT_FALSE(joined);
  EXPECT_NE(joined.error().message.find("connecting to " + address), std::string::npos)
      << joined.error().message;
  // The kernel refuses a connection to a closed loopback port at once: Join reports it
  // without waiting out its connect timeout (the bound leaves all of that timeout as
  // slack for a busy machine) and without retrying (no listener event).
  EXPECT_LT(std::chrono::steady_clock::now() - started, config.connect_timeout);
  EXPECT_TRUE(events.events().empty());
}

TEST_F(SignalingClientTest, ReconnectsWithBackoffWhenTheRelayRestarts) {
  Recording events;
  SignalingClient client(ClientConfig(), events);
  auto joined = client.Join(JoinFor("alice", 1111));
  ASSERT_TRUE(joined) << joined.error().message;
  relay_->Stop();
  ASSERT_TRUE(events.WaitFor("disconnected"));
  relay_.reset();
  StartRelay(RelayConfigAt(signaling_address_));  // the same signaling port, a new media port
  ASSERT_TRUE(events.WaitFor("joined again"));
  EXPECT_EQ(events.last_joined.media.address, relay_->media_address().ToString());
  EXPECT_EQ(client.counters().joins, 2u);
  EXPECT_GE(client.counters().disconnects, 1u);
  // The first retry waits at most the first back-off step.
  ASSERT_FALSE(events.retries.empty());
  EXPECT_LE(events.retries.front(), milliseconds(20));
  client.Leave();
}

TEST(WebSocketUrlTest, ParsesSchemesHostsPortsAndTargets) {
  auto plain = ParseWebSocketUrl("ws://relay.example.com:8443/signal?room=a");
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_FALSE(plain->tls);
  EXPECT_EQ(plain->host, "relay.example.com");
  EXPECT_EQ(plain->port, 8443);
  EXPECT_EQ(plain->target, "/signal?room=a");
  EXPECT_EQ(plain->HostHeader(), "relay.example.com:8443");

  auto tls = ParseWebSocketUrl("wss://[::1]");
  ASSERT_TRUE(tls) << tls.error().message;
  EXPECT_TRUE(tls->tls);
  EXPECT_EQ(tls->host, "::1");
  EXPECT_EQ(tls->port, 443);
  EXPECT_EQ(tls->target, "/");
  EXPECT_EQ(tls->HostHeader(), "[::1]:443");

  auto query = ParseWebSocketUrl("ws://10.0.0.1?x=1");
  ASSERT_TRUE(query);
  EXPECT_EQ(query->port, 80);
  EXPECT_EQ(query->target, "/?x=1");
}

TEST(WebSocketUrlTest, RefusesWhatItCannotUse) {
  for (const char* bad :
       {"http://host/", "ws://", "ws://:80/", "ws://host:0/", "ws://host:65536/", "ws://host:x/",
        "ws://user@host/", "ws://::1/", "ws://[::1/", "ws://host/#top"}) {
    auto url = ParseWebSocketUrl(bad);
    EXPECT_FALSE(url) << bad;
    if (!url) {
      EXPECT_NE(url.error().message.find(bad), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace parley::client
