#include "parley/client/hello_handshake.h"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <vector>

namespace parley::client {
namespace {

using std::chrono::milliseconds;

constexpr uint32_t kParticipant = 7;
constexpr relay::JoinSecret kSecret = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

std::array<uint8_t, relay::kHelloBytes> Ack(uint32_t participant, const relay::JoinSecret& secret) {
  return relay::SerializeHello({relay::HelloType::kAck, participant, secret});
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
      relay::SerializeHello({relay::HelloType::kHello, kParticipant, kSecret})));
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

TEST(HelloHandshakeTest, RejectsBadConfig) {
  EXPECT_THROW(HelloHandshake({.resend_interval = milliseconds(0)}), std::invalid_argument);
  EXPECT_THROW(
      HelloHandshake({.resend_interval = milliseconds(300), .give_up_after = milliseconds(100)}),
      std::invalid_argument);
}

}  // namespace
}  // namespace parley::client
