#include "parley/client/hello_handshake.h"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <vector>

#include "parley/relay/media_router.h"

namespace parley::client {
namespace {

using std::chrono::milliseconds;

constexpr uint32_t kParticipant = 7;
constexpr relay::JoinSecret kSecret = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

std::array<uint8_t, relay::kHelloBytes> Ack(uint32_t participant, const relay::JoinSecret& secret) {
  return relay::SerializeHello({relay::HelloType::kAck, participant, secret, {}});
}

relay::HelloCookie Cookie(uint8_t seed) {
  relay::HelloCookie cookie{};
  for (size_t i = 0; i < cookie.size(); ++i) cookie[i] = static_cast<uint8_t>(seed + i);
  return cookie;
}

std::array<uint8_t, relay::kHelloBytes> Challenge(uint32_t participant,
                                                  const relay::HelloCookie& cookie) {
  return relay::SerializeHello({relay::HelloType::kChallenge, participant, {}, cookie});
}

// The hello in `bytes`, parsed (must be valid).
relay::Hello Parsed(std::span<const uint8_t> bytes) {
  auto parsed = relay::ParseHello(bytes);
  EXPECT_TRUE(parsed) << parsed.error().message;
  return parsed ? *parsed : relay::Hello{};
}

// Drives the handshake over `duration` in 10 ms steps; returns the times (ms) a hello went out.
std::vector<int64_t> Drive(HelloHandshake& handshake, SimulatedClock& clock,
                           milliseconds duration) {
  std::vector<int64_t> sent;
  const auto end = clock.Now() + duration;
  while (clock.Now() < end) {
    if (handshake.HelloDue(clock.Now())) {
      sent.push_back(
          std::chrono::duration_cast<milliseconds>(clock.Now().time_since_epoch()).count());
    }
    clock.Advance(milliseconds(10));
  }
  return sent;
}

TEST(HelloHandshakeTest, ResendsEvery200MsUntilAcked) {
  SimulatedClock clock;
  HelloHandshake handshake;
  handshake.Start(kParticipant, kSecret, clock.Now());
  EXPECT_EQ(handshake.state(), HelloHandshake::State::kWaiting);

  EXPECT_EQ(Drive(handshake, clock, milliseconds(700)), (std::vector<int64_t>{0, 200, 400, 600}));
  // The hello is the relay's format with our id and secret.
  HelloHandshake probe;
  probe.Start(kParticipant, kSecret, clock.Now());
  auto bytes = probe.HelloDue(clock.Now());
  ASSERT_TRUE(bytes);
  auto parsed = relay::ParseHello(*bytes);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->type, relay::HelloType::kHello);
  EXPECT_EQ(parsed->participant_id, kParticipant);
  EXPECT_EQ(parsed->secret, kSecret);

  EXPECT_TRUE(handshake.OnDatagram(Ack(kParticipant, kSecret)));
  EXPECT_TRUE(handshake.acked());
  EXPECT_TRUE(Drive(handshake, clock, milliseconds(1000)).empty());  // no more hellos
  EXPECT_FALSE(handshake.next_deadline());
  EXPECT_EQ(handshake.hellos_sent(), 4);
  EXPECT_TRUE(handshake.status());
}

TEST(HelloHandshakeTest, IgnoresStaleAcksAndOtherDatagrams) {
  SimulatedClock clock;
  HelloHandshake handshake;
  handshake.Start(kParticipant, kSecret, clock.Now());
  relay::JoinSecret other = kSecret;
  other[15] ^= 1;
  EXPECT_FALSE(handshake.OnDatagram(Ack(kParticipant, other)));        // an earlier join's secret
  EXPECT_FALSE(handshake.OnDatagram(Ack(kParticipant + 1, kSecret)));  // another participant
  // Our own hello echoed back is not an ack.
  EXPECT_FALSE(handshake.OnDatagram(
      relay::SerializeHello({relay::HelloType::kHello, kParticipant, kSecret, {}})));
  const std::array<uint8_t, 12> rtp = {0x80, 111, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9};
  EXPECT_FALSE(handshake.OnDatagram(rtp));
  EXPECT_EQ(handshake.state(), HelloHandshake::State::kWaiting);
}

TEST(HelloHandshakeTest, GivesUpAfterFiveSecondsWithAnError) {
  SimulatedClock clock;
  HelloHandshake handshake;
  handshake.Start(kParticipant, kSecret, clock.Now());
  const auto sent = Drive(handshake, clock, milliseconds(6000));
  EXPECT_EQ(sent.size(), 25u);  // 0, 200, ..., 4800 ms
  EXPECT_EQ(sent.back(), 4800);
  EXPECT_EQ(handshake.state(), HelloHandshake::State::kFailed);
  ASSERT_FALSE(handshake.status());
  EXPECT_NE(handshake.status().error().message.find("no hello-ack"), std::string::npos);
  EXPECT_NE(handshake.status().error().message.find("25 hellos"), std::string::npos);
  // A late ack does not revive it.
  EXPECT_FALSE(handshake.OnDatagram(Ack(kParticipant, kSecret)));
}

TEST(HelloHandshakeTest, RestartAfterRejoinNeedsTheNewAck) {
  SimulatedClock clock;
  HelloHandshake handshake;
  handshake.Start(kParticipant, kSecret, clock.Now());
  ASSERT_TRUE(handshake.OnDatagram(Ack(kParticipant, kSecret)));
  relay::JoinSecret fresh = kSecret;
  fresh[0] = 99;
  handshake.Start(kParticipant + 5, fresh, clock.Now());
  EXPECT_EQ(handshake.state(), HelloHandshake::State::kWaiting);
  EXPECT_TRUE(handshake.HelloDue(clock.Now()));
  EXPECT_FALSE(handshake.OnDatagram(Ack(kParticipant, kSecret)));  // the old join's ack
  EXPECT_TRUE(handshake.OnDatagram(Ack(kParticipant + 5, fresh)));
}

TEST(HelloHandshakeTest, AnswersAChallengeAtOnceAndResendsWithTheLatestCookie) {
  SimulatedClock clock;
  HelloHandshake handshake;
  handshake.Start(kParticipant, kSecret, clock.Now());
  auto first = handshake.HelloDue(clock.Now());
  ASSERT_TRUE(first);
  EXPECT_EQ(first->size(), relay::kHelloBytes);  // no cookie yet: the plain hello

  // The challenge 30 ms later: not an ack, but the hello-with-cookie is due at once.
  clock.Advance(milliseconds(30));
  EXPECT_FALSE(handshake.OnDatagram(Challenge(kParticipant, Cookie(1))));
  EXPECT_EQ(handshake.state(), HelloHandshake::State::kWaiting);
  ASSERT_TRUE(handshake.next_deadline());
  EXPECT_LE(*handshake.next_deadline(), clock.Now());
  auto reply = handshake.HelloDue(clock.Now());
  ASSERT_TRUE(reply);
  ASSERT_EQ(reply->size(), relay::kHelloWithCookieBytes);
  const relay::Hello with_cookie = Parsed(*reply);
  EXPECT_EQ(with_cookie.type, relay::HelloType::kHelloWithCookie);
  EXPECT_EQ(with_cookie.participant_id, kParticipant);
  EXPECT_EQ(with_cookie.secret, kSecret);
  EXPECT_EQ(with_cookie.cookie, Cookie(1));
  EXPECT_FALSE(handshake.HelloDue(clock.Now()));  // once: the next waits for the grid
  EXPECT_EQ(*handshake.next_deadline(), clock.Now() + milliseconds(170));

  // The resend at 200 ms carries the cookie; a newer challenge replaces it.
  clock.Advance(milliseconds(170));
  auto resend = handshake.HelloDue(clock.Now());
  ASSERT_TRUE(resend);
  EXPECT_EQ(Parsed(*resend).cookie, Cookie(1));
  clock.Advance(milliseconds(20));
  EXPECT_FALSE(handshake.OnDatagram(Challenge(kParticipant, Cookie(2))));
  auto second_reply = handshake.HelloDue(clock.Now());
  ASSERT_TRUE(second_reply);
  EXPECT_EQ(Parsed(*second_reply).cookie, Cookie(2));
  clock.Advance(milliseconds(180));  // 400 ms: the grid from the first hello is kept
  auto later = handshake.HelloDue(clock.Now());
  ASSERT_TRUE(later);
  EXPECT_EQ(Parsed(*later).cookie, Cookie(2));

  EXPECT_TRUE(handshake.OnDatagram(Ack(kParticipant, kSecret)));
  EXPECT_TRUE(handshake.acked());
  EXPECT_EQ(handshake.hellos_sent(), 5);
  EXPECT_EQ(handshake.challenges_received(), 2);
  // After the ack a challenge changes nothing and makes nothing due.
  EXPECT_FALSE(handshake.OnDatagram(Challenge(kParticipant, Cookie(3))));
  EXPECT_TRUE(handshake.acked());
  EXPECT_FALSE(handshake.HelloDue(clock.Now()));
}

TEST(HelloHandshakeTest, IgnoresChallengesForAnotherParticipantAndForgetsCookiesOnRestart) {
  SimulatedClock clock;
  HelloHandshake handshake;
  handshake.Start(kParticipant, kSecret, clock.Now());
  ASSERT_TRUE(handshake.HelloDue(clock.Now()));
  EXPECT_FALSE(handshake.OnDatagram(Challenge(kParticipant + 1, Cookie(1))));
  EXPECT_FALSE(handshake.HelloDue(clock.Now()));  // nothing due: not our challenge
  EXPECT_EQ(handshake.challenges_received(), 0);

  EXPECT_FALSE(handshake.OnDatagram(Challenge(kParticipant, Cookie(1))));
  ASSERT_TRUE(handshake.HelloDue(clock.Now()));
  // A rejoin starts over with the plain hello: the cookie was for the old join.
  handshake.Start(kParticipant + 5, kSecret, clock.Now());
  auto fresh = handshake.HelloDue(clock.Now());
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->size(), relay::kHelloBytes);
  EXPECT_EQ(handshake.challenges_received(), 0);
}

// The client's handshake against the relay's router, datagrams passed by hand with the
// source address the relay would see: the whole round latches in two hellos, and a NAT
// rebinding between the challenge and the reply recovers through a fresh challenge.
TEST(HelloHandshakeTest, LatchesAtTheRelayRouterThroughTheChallenge) {
  struct Sink final : relay::OutputSink {
    void Emit(std::span<const uint8_t> payload, const net::SocketAddress& to) override {
      sent.emplace_back(std::vector<uint8_t>(payload.begin(), payload.end()), to);
    }
    std::vector<std::pair<std::vector<uint8_t>, net::SocketAddress>> sent;
  };
  SimulatedClock clock;
  relay::MediaRouter router;
  ASSERT_TRUE(router.AddParticipant(1, kParticipant, 0x1234, kSecret));
  router.ApplyPendingCommands();
  HelloHandshake handshake;
  handshake.Start(kParticipant, kSecret, clock.Now());

  // One exchange: what is due goes to the router from `from`; the answers come back.
  net::SocketAddress from = net::SocketAddress::Loopback(false, 40000);
  const auto exchange = [&] {
    Sink sink;
    router.Tick(clock.Now(), clock.WallNow(), sink);
    sink.sent.clear();
    auto hello = handshake.HelloDue(clock.Now());
    if (!hello) return;
    (void)router.Route(hello->data(), hello->size(), from, sink);
    for (const auto& [payload, to] : sink.sent) {
      EXPECT_EQ(to, from);
      EXPECT_LE(payload.size(), hello->size());  // never more than was sent
      (void)handshake.OnDatagram(payload);
    }
  };
  exchange();  // hello -> challenge
  EXPECT_FALSE(handshake.acked());
  EXPECT_FALSE(router.latched_address(kParticipant));
  from = net::SocketAddress::Loopback(false, 40001);  // the NAT moved the mapping
  exchange();  // hello-with-cookie from the new port -> refused, fresh challenge
  EXPECT_FALSE(handshake.acked());
  EXPECT_EQ(router.counters().dropped_for(relay::DropReason::kBadCookie), 1u);
  exchange();  // hello-with-cookie, fresh cookie -> ack
  EXPECT_TRUE(handshake.acked());
  EXPECT_EQ(router.latched_address(kParticipant), from);
  EXPECT_EQ(handshake.hellos_sent(), 3);
  EXPECT_EQ(clock.Now().time_since_epoch().count(), 0);  // all at once: no resend waited
}

TEST(HelloHandshakeTest, RejectsBadConfig) {
  EXPECT_THROW(HelloHandshake({.resend_interval = milliseconds(0)}), std::invalid_argument);
  EXPECT_THROW(
      HelloHandshake({.resend_interval = milliseconds(300), .give_up_after = milliseconds(100)}),
      std::invalid_argument);
}

}  // namespace
}  // namespace parley::client
