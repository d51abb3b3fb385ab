#include "parley/relay/media_router.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "parley/base/clock.h"
#include "parley/rtp/big_endian.h"
#include "parley/rtp/rtcp_packet.h"
#include "parley/rtp/srtp_session.h"

namespace parley::relay {
namespace {

using net::SocketAddress;
using std::chrono::milliseconds;
using std::chrono::seconds;

struct Emitted {
  std::vector<uint8_t> payload;
  const uint8_t* data;  // where the router pointed: forwarding must not copy
  SocketAddress to;
};

class RecordingSink : public OutputSink {
 public:
  void Emit(std::span<const uint8_t> payload, const SocketAddress& to) override {
    emitted.push_back({{payload.begin(), payload.end()}, payload.data(), to});
  }
  std::set<uint16_t> ports() const {
    std::set<uint16_t> out;
    for (const Emitted& e : emitted) out.insert(e.to.port());
    return out;
  }
  std::vector<Emitted> emitted;
};

JoinSecret Secret(uint8_t seed) {
  JoinSecret secret{};
  for (size_t i = 0; i < secret.size(); ++i) secret[i] = static_cast<uint8_t>(seed * 31 + i);
  return secret;
}

SocketAddress Addr(uint16_t port) { return SocketAddress::Loopback(false, port); }

std::vector<uint8_t> HelloBytes(uint32_t participant_id, const JoinSecret& secret,
                                HelloType type = HelloType::kHello) {
  const auto bytes = SerializeHello(Hello{type, participant_id, secret});
  return {bytes.begin(), bytes.end()};
}

std::vector<uint8_t> CookieHelloBytes(uint32_t participant_id, const JoinSecret& secret,
                                      const HelloCookie& cookie) {
  const auto bytes =
      SerializeHelloWithCookie(Hello{HelloType::kHelloWithCookie, participant_id, secret, cookie});
  return {bytes.begin(), bytes.end()};
}

// The challenge in `e`: a 24-byte hello-challenge (checked), decoded.
Hello ChallengeIn(const Emitted& e) {
  Hello challenge;
  EXPECT_EQ(DecodeHello(e.payload, challenge), HelloFault::kNone);
  EXPECT_EQ(challenge.type, HelloType::kChallenge);
  EXPECT_EQ(e.payload.size(), kHelloBytes);
  return challenge;
}

// A minimal RTP packet: version 2, `payload_type`, SSRC at offset 8, then `extra` bytes.
std::vector<uint8_t> Rtp(uint32_t ssrc, uint8_t payload_type = 111, size_t extra = 20) {
  std::vector<uint8_t> packet(12 + extra, 0);
  packet[0] = 0x80;
  packet[1] = payload_type;
  rtp::WriteBe32(packet.data() + 8, ssrc);
  for (size_t i = 12; i < packet.size(); ++i) packet[i] = static_cast<uint8_t>(i);
  return packet;
}

// An RTCP receiver report without blocks: packet type 201, sender SSRC at offset 4.
std::vector<uint8_t> Rtcp(uint32_t ssrc) {
  std::vector<uint8_t> packet = {0x80, 201, 0x00, 0x01, 0, 0, 0, 0};
  rtp::WriteBe32(packet.data() + 4, ssrc);
  return packet;
}

// Three participants A, B, C in room 1 with SSRCs 0xA, 0xB, 0xC, each latched from
// port 1000 + id; plus helpers to send from any address.
class RouterTest : public ::testing::Test {
 protected:
  static constexpr uint32_t kRoom = 1;

  void Join(uint32_t id, uint32_t room = kRoom, Rights rights = {}) {
    const auto key = room_keys.find(room);
    ASSERT_TRUE(router.AddParticipant(
        room, id, id, Secret(static_cast<uint8_t>(id)), rights, 48000,
        key == room_keys.end() ? std::nullopt : std::optional<rtp::SrtpKeyMaterial>(key->second)));
    router.ApplyPendingCommands();
    const RouteResult r = Latch(id, Secret(static_cast<uint8_t>(id)), Addr(1000 + id));
    ASSERT_EQ(r.action, RouteAction::kHelloAcked);
  }
  // The whole hello round from `from`, as a client does it: a hello, and when a challenge
  // comes back, the hello-with-cookie echoing it. Returns the last result (kHelloAcked:
  // latched).
  RouteResult Latch(uint32_t id, const JoinSecret& secret, const SocketAddress& from) {
    const RouteResult first = Send(HelloBytes(id, secret), from);
    if (first.action != RouteAction::kChallenged) return first;
    return Send(CookieHelloBytes(id, secret, ChallengeIn(sink.emitted.back()).cookie), from);
  }
  // Sets the router's batch time (the media loop does it once per batch).
  void SetTime(Clock::Duration since_start) {
    RecordingSink reports;  // whatever a tick emits is not what these tests look at
    router.Tick(Clock::TimePoint(since_start), Clock::WallTime(since_start), reports);
  }
  void JoinThree() {
    for (uint32_t id : {0xAu, 0xBu, 0xCu}) Join(id);
    sink.emitted.clear();
  }
  RouteResult Send(const std::vector<uint8_t>& datagram, const SocketAddress& from) {
    return router.Route(datagram.data(), datagram.size(), from, sink);
  }
  uint64_t Dropped(DropReason reason) const { return router.counters().dropped_for(reason); }

  MediaRouter router;
  RecordingSink sink;
  std::map<uint32_t, rtp::SrtpKeyMaterial> room_keys;  // rooms joined with SRTP
};

TEST_F(RouterTest, AFirstHelloIsChallengedAndOnlyTheEchoedCookieLatches) {
  ASSERT_TRUE(router.AddParticipant(kRoom, 7, 0x77, Secret(7)));
  EXPECT_EQ(router.ApplyPendingCommands(), 1u);
  EXPECT_FALSE(router.latched_address(7));

  // The hello: answered by a challenge of the same size, nothing latched.
  const auto hello = HelloBytes(7, Secret(7));
  const RouteResult challenged = Send(hello, Addr(5000));
  EXPECT_EQ(challenged.action, RouteAction::kChallenged);
  EXPECT_EQ(challenged.copies, 1u);
  ASSERT_EQ(sink.emitted.size(), 1u);
  EXPECT_EQ(sink.emitted[0].to, Addr(5000));
  EXPECT_EQ(sink.emitted[0].payload.size(), hello.size());  // no amplification
  const Hello challenge = ChallengeIn(sink.emitted[0]);
  EXPECT_EQ(challenge.participant_id, 7u);
  // The challenge never carries the secret (it may go to an unproven address).
  EXPECT_TRUE(std::search(sink.emitted[0].payload.begin(), sink.emitted[0].payload.end(),
                          Secret(7).begin(), Secret(7).end()) == sink.emitted[0].payload.end());
  EXPECT_FALSE(router.latched_address(7));
  // Media from that address is not the participant's yet.
  EXPECT_EQ(Send(Rtp(0x77), Addr(5000)).reason, DropReason::kUnknownSource);

  // The hello-with-cookie from the same address: latched and acked (24 bytes for 40).
  sink.emitted.clear();
  const auto with_cookie = CookieHelloBytes(7, Secret(7), challenge.cookie);
  EXPECT_EQ(Send(with_cookie, Addr(5000)).action, RouteAction::kHelloAcked);
  ASSERT_EQ(sink.emitted.size(), 1u);
  EXPECT_EQ(sink.emitted[0].payload, HelloBytes(7, Secret(7), HelloType::kAck));
  EXPECT_LT(sink.emitted[0].payload.size(), with_cookie.size());
  EXPECT_EQ(sink.emitted[0].to, Addr(5000));
  EXPECT_EQ(router.latched_address(7), Addr(5000));

  // Keep-alive: a plain hello from the latched address is acked at once, as is a
  // repeated hello-with-cookie (a resend that crossed the ack); still one latch.
  sink.emitted.clear();
  EXPECT_EQ(Send(hello, Addr(5000)).action, RouteAction::kHelloAcked);
  EXPECT_EQ(Send(with_cookie, Addr(5000)).action, RouteAction::kHelloAcked);
  ASSERT_EQ(sink.emitted.size(), 2u);
  EXPECT_EQ(sink.emitted[0].payload, HelloBytes(7, Secret(7), HelloType::kAck));
  const auto counters = router.participant_counters(7);
  ASSERT_TRUE(counters);
  EXPECT_EQ(counters->latches, 1u);
  EXPECT_EQ(counters->packets_in, 3u);   // from the latched address: the three hellos acked
  EXPECT_EQ(counters->packets_out, 3u);  // the acks; the challenge is not the participant's
  EXPECT_EQ(counters->bytes_out, 3 * kHelloBytes);
  const RouterCounters totals = router.counters();
  EXPECT_EQ(totals.hellos_acked, 3u);
  EXPECT_EQ(totals.hellos_challenged, 1u);
  EXPECT_EQ(totals.copies_out, 4u);
  EXPECT_EQ(totals.dropped_for(DropReason::kBadCookie), 0u);
}

// A participant holding a valid secret forges hellos with a victim's source address: the
// victim gets one 24-byte challenge per forged datagram, no latch moves, and no media
// reaches it.
TEST_F(RouterTest, AForgedHelloFromAVictimsAddressGetsOneChallengeAndNoMedia) {
  JoinThree();
  const SocketAddress victim = Addr(6666);
  const SocketAddress attacker = Addr(1000 + 0xA);  // A, with A's own secret
  size_t bytes_forged = 0;
  const auto forge = [&](const std::vector<uint8_t>& datagram) {
    bytes_forged += datagram.size();
    return Send(datagram, victim);
  };
  EXPECT_EQ(forge(HelloBytes(0xA, Secret(0xA))).action, RouteAction::kChallenged);
  // A hello-with-cookie with a made-up cookie, and with the cookie A obtained for its own
  // address: both refused as bad cookies.
  HelloCookie guessed{};
  guessed.fill(0x42);
  EXPECT_EQ(forge(CookieHelloBytes(0xA, Secret(0xA), guessed)).reason, DropReason::kBadCookie);
  ASSERT_EQ(Send(HelloBytes(0xA, Secret(0xA)), Addr(7777)).action, RouteAction::kChallenged);
  const HelloCookie own = ChallengeIn(sink.emitted.back()).cookie;
  sink.emitted.pop_back();
  EXPECT_EQ(forge(CookieHelloBytes(0xA, Secret(0xA), own)).reason, DropReason::kBadCookie);
  EXPECT_EQ(router.latched_address(0xA), attacker);
  EXPECT_EQ(Dropped(DropReason::kBadCookie), 2u);

  // Media keeps going to A's real address.
  EXPECT_EQ(Send(Rtp(0xB), Addr(1000 + 0xB)).copies, 2u);
  EXPECT_EQ(Send(Rtp(0xA), attacker).copies, 2u);
  size_t datagrams_to_victim = 0;
  size_t bytes_to_victim = 0;
  for (const Emitted& e : sink.emitted) {
    if (!(e.to == victim)) continue;
    ++datagrams_to_victim;
    bytes_to_victim += e.payload.size();
    EXPECT_EQ(ChallengeIn(e).participant_id, 0xAu);
  }
  EXPECT_EQ(datagrams_to_victim, 3u);  // one per forged datagram
  EXPECT_EQ(bytes_to_victim, 3 * kHelloBytes);
  EXPECT_LE(bytes_to_victim, bytes_forged);
}

TEST_F(RouterTest, ACookieIsValidForItsEpochAndTheNextOnly) {
  // Epochs of 10 s (the default). A challenge at 5 s (epoch 0).
  ASSERT_TRUE(router.AddParticipant(kRoom, 7, 0x77, Secret(7)));
  ASSERT_TRUE(router.AddParticipant(kRoom, 8, 0x88, Secret(8)));
  router.ApplyPendingCommands();
  SetTime(seconds(5));
  ASSERT_EQ(Send(HelloBytes(7, Secret(7)), Addr(5000)).action, RouteAction::kChallenged);
  const HelloCookie cookie_7 = ChallengeIn(sink.emitted.back()).cookie;
  ASSERT_EQ(Send(HelloBytes(8, Secret(8)), Addr(5001)).action, RouteAction::kChallenged);
  const HelloCookie cookie_8 = ChallengeIn(sink.emitted.back()).cookie;

  // Still accepted at 19.999 s (epoch 1, the next one).
  SetTime(milliseconds(19'999));
  EXPECT_EQ(Send(CookieHelloBytes(8, Secret(8), cookie_8), Addr(5001)).action,
            RouteAction::kHelloAcked);
  EXPECT_EQ(router.latched_address(8), Addr(5001));

  // Two epochs later (20 s): refused, counted, and answered with a fresh challenge whose
  // cookie then works.
  SetTime(seconds(20));
  sink.emitted.clear();
  const RouteResult stale = Send(CookieHelloBytes(7, Secret(7), cookie_7), Addr(5000));
  EXPECT_EQ(stale.action, RouteAction::kChallenged);
  EXPECT_EQ(stale.reason, DropReason::kBadCookie);
  EXPECT_EQ(Dropped(DropReason::kBadCookie), 1u);
  EXPECT_FALSE(router.latched_address(7));
  ASSERT_EQ(sink.emitted.size(), 1u);
  const HelloCookie fresh = ChallengeIn(sink.emitted[0]).cookie;
  EXPECT_NE(fresh, cookie_7);
  EXPECT_EQ(Send(CookieHelloBytes(7, Secret(7), fresh), Addr(5000)).action,
            RouteAction::kHelloAcked);
  EXPECT_EQ(router.latched_address(7), Addr(5000));
}

TEST_F(RouterTest, ACookieIsBoundToItsAddressAndParticipant) {
  ASSERT_TRUE(router.AddParticipant(kRoom, 7, 0x77, Secret(7)));
  ASSERT_TRUE(router.AddParticipant(kRoom, 8, 0x88, Secret(8)));
  router.ApplyPendingCommands();
  ASSERT_EQ(Send(HelloBytes(7, Secret(7)), Addr(5000)).action, RouteAction::kChallenged);
  const HelloCookie cookie = ChallengeIn(sink.emitted.back()).cookie;
  // Another port, another IP family, another participant (with its own right secret).
  EXPECT_EQ(Send(CookieHelloBytes(7, Secret(7), cookie), Addr(5001)).reason,
            DropReason::kBadCookie);
  EXPECT_EQ(
      Send(CookieHelloBytes(7, Secret(7), cookie), SocketAddress::Loopback(true, 5000)).reason,
      DropReason::kBadCookie);
  EXPECT_EQ(Send(CookieHelloBytes(8, Secret(8), cookie), Addr(5000)).reason,
            DropReason::kBadCookie);
  // A wrong secret is refused before any cookie work: no challenge goes back.
  const size_t emitted = sink.emitted.size();
  EXPECT_EQ(Send(CookieHelloBytes(7, Secret(9), cookie), Addr(5000)).reason,
            DropReason::kBadSecret);
  EXPECT_EQ(sink.emitted.size(), emitted);
  EXPECT_EQ(Dropped(DropReason::kBadCookie), 3u);
  EXPECT_FALSE(router.latched_address(7));
  EXPECT_FALSE(router.latched_address(8));
}

// With the same key, two routers make the same challenge: what tests and fuzzing rely on.
TEST_F(RouterTest, AConfiguredCookieKeyMakesChallengesReproducible) {
  HelloCookieKey key{};
  key.fill(0x5C);
  const MediaRouterConfig config{.cookie_key = key};
  std::vector<std::vector<uint8_t>> challenges;
  for (int i = 0; i < 2; ++i) {
    MediaRouter keyed(config);
    ASSERT_TRUE(keyed.AddParticipant(kRoom, 7, 0x77, Secret(7)));
    keyed.ApplyPendingCommands();
    const auto hello = HelloBytes(7, Secret(7));
    RecordingSink out;
    ASSERT_EQ(keyed.Route(hello.data(), hello.size(), Addr(5000), out).action,
              RouteAction::kChallenged);
    challenges.push_back(out.emitted.at(0).payload);
  }
  EXPECT_EQ(challenges[0], challenges[1]);
}

TEST_F(RouterTest, RefusesBadHellosWithoutAnswering) {
  ASSERT_TRUE(router.AddParticipant(kRoom, 7, 0x77, Secret(7)));
  // Not applied yet: the media side does not know participant 7.
  EXPECT_EQ(Send(HelloBytes(7, Secret(7)), Addr(5000)).reason, DropReason::kUnknownParticipant);
  router.ApplyPendingCommands();

  EXPECT_EQ(Send(HelloBytes(7, Secret(8)), Addr(5000)).reason, DropReason::kBadSecret);
  EXPECT_EQ(Send(HelloBytes(8, Secret(7)), Addr(5000)).reason, DropReason::kUnknownParticipant);
  // A hello-ack sent to the relay, and a malformed hello.
  EXPECT_EQ(Send(HelloBytes(7, Secret(7), HelloType::kAck), Addr(5000)).reason,
            DropReason::kBadHello);
  // A challenge sent to the relay is refused the same way (only the relay makes them).
  EXPECT_EQ(Send(HelloBytes(7, Secret(7), HelloType::kChallenge), Addr(5000)).reason,
            DropReason::kBadHello);
  auto bad_version = HelloBytes(7, Secret(7));
  bad_version[kHelloVersionOffset] = 9;
  EXPECT_EQ(Send(bad_version, Addr(5000)).reason, DropReason::kBadHello);
  auto cut = HelloBytes(7, Secret(7));
  cut.pop_back();
  EXPECT_EQ(Send(cut, Addr(5000)).reason, DropReason::kBadHello);

  EXPECT_TRUE(sink.emitted.empty());
  EXPECT_FALSE(router.latched_address(7));
  EXPECT_EQ(Dropped(DropReason::kBadSecret), 1u);
  EXPECT_EQ(Dropped(DropReason::kUnknownParticipant), 2u);
  EXPECT_EQ(Dropped(DropReason::kBadHello), 4u);
  EXPECT_EQ(router.participant_counters(7)->latches, 0u);
}

TEST_F(RouterTest, RtpFansOutToEveryOtherLatchedParticipantWithoutCopying) {
  JoinThree();
  const auto packet = Rtp(0xA);
  const RouteResult r = Send(packet, Addr(1000 + 0xA));
  EXPECT_EQ(r.action, RouteAction::kForwarded);
  EXPECT_EQ(r.copies, 2u);
  ASSERT_EQ(sink.emitted.size(), 2u);
  EXPECT_EQ(sink.ports(), (std::set<uint16_t>{1000 + 0xB, 1000 + 0xC}));
  for (const Emitted& e : sink.emitted) {
    EXPECT_EQ(e.payload, packet);
    EXPECT_EQ(e.data, packet.data());
  }
  EXPECT_EQ(router.counters().rtp_forwarded, 1u);
  // In: the hello-with-cookie that latched (the challenged hello came before the latch).
  // Out: the ack.
  EXPECT_EQ(router.participant_counters(0xA)->bytes_in, kHelloWithCookieBytes + packet.size());
  EXPECT_EQ(router.participant_counters(0xB)->bytes_out, kHelloBytes + packet.size());

  // RTCP ends at the relay: read, never forwarded (the relay reports itself, on Tick).
  sink.emitted.clear();
  const RouteResult report = Send(Rtcp(0xC), Addr(1000 + 0xC));
  EXPECT_EQ(report.action, RouteAction::kTerminated);
  EXPECT_EQ(report.copies, 0u);
  EXPECT_TRUE(sink.emitted.empty());
  EXPECT_EQ(router.counters().rtcp_received, 1u);
  EXPECT_EQ(router.counters().rtcp_malformed, 0u);
  EXPECT_EQ(router.link_stats(0xC)->reports_received, 1u);
}

TEST_F(RouterTest, TickSendsEachLatchedParticipantTheRelaysOwnReport) {
  JoinThree();
  const auto packet = Rtp(0xA);
  Send(packet, Addr(1000 + 0xA));
  sink.emitted.clear();
  // Within 1.5 report intervals every participant is due once at least.
  for (int ms = 10; ms <= 1500; ms += 10) {
    router.Tick(
        Clock::TimePoint(std::chrono::milliseconds(ms)),
        Clock::WallTime(std::chrono::seconds(1'700'000'000) + std::chrono::milliseconds(ms)), sink);
  }
  ASSERT_EQ(sink.ports(), (std::set<uint16_t>{1000 + 0xA, 1000 + 0xB, 1000 + 0xC}));
  EXPECT_EQ(router.counters().rtcp_reports_sent, sink.emitted.size());
  for (const Emitted& e : sink.emitted) {
    const Result<rtp::RtcpCompound> report = rtp::ParseRtcpCompound(e.payload);
    ASSERT_TRUE(report.ok()) << report.error().message;
    const auto& rr = std::get<rtp::ReceiverReport>(report->packets.front());
    EXPECT_EQ(rr.ssrc, router.relay_ssrc());
    // B and C hear A: their reports carry an SR for A's stream; A's does not.
    size_t sender_reports_for_a = 0;
    for (const rtp::RtcpPacket& p : report->packets) {
      if (const auto* sr = std::get_if<rtp::SenderReport>(&p)) {
        EXPECT_EQ(sr->ssrc, 0xAu);
        ++sender_reports_for_a;
      }
    }
    EXPECT_EQ(sender_reports_for_a, e.to.port() == 1000 + 0xA ? 0u : 1u) << e.to.port();
  }
  EXPECT_EQ(router.link_stats(0xB)->reports_sent,
            static_cast<uint64_t>(
                std::count_if(sink.emitted.begin(), sink.emitted.end(),
                              [](const Emitted& e) { return e.to.port() == 1000 + 0xB; })));
}

TEST_F(RouterTest, AParticipantNotYetLatchedReceivesNothing) {
  Join(0xA);
  ASSERT_TRUE(router.AddParticipant(kRoom, 0xB, 0xB, Secret(0xB)));
  router.ApplyPendingCommands();
  sink.emitted.clear();
  EXPECT_EQ(Send(Rtp(0xA), Addr(1000 + 0xA)).reason, DropReason::kRoomEmpty);
  EXPECT_TRUE(sink.emitted.empty());
  EXPECT_EQ(router.participant_counters(0xA)->packets_dropped, 1u);
}

TEST_F(RouterTest, RightsGateRtpAndEveryoneMayReport) {
  Join(0xA);                                                      // publishes and subscribes
  Join(0xB, kRoom, Rights{.publish = true, .subscribe = false});  // a speaker that hears no one
  Join(0xC, kRoom, Rights{.publish = false, .subscribe = true});  // a listener
  sink.emitted.clear();

  EXPECT_EQ(Send(Rtp(0xA), Addr(1000 + 0xA)).copies, 1u);
  EXPECT_EQ(sink.ports(), (std::set<uint16_t>{1000 + 0xC}));
  sink.emitted.clear();

  EXPECT_EQ(Send(Rtp(0xC), Addr(1000 + 0xC)).reason, DropReason::kNotPublisher);
  EXPECT_TRUE(sink.emitted.empty());

  // The listener's receiver reports are read by the relay (which reports to the
  // publishers itself).
  EXPECT_EQ(Send(Rtcp(0xC), Addr(1000 + 0xC)).action, RouteAction::kTerminated);
  EXPECT_EQ(router.link_stats(0xC)->reports_received, 1u);
}

TEST_F(RouterTest, DropsUnknownSourcesAndSpoofedSsrcs) {
  JoinThree();
  // A stranger using A's SSRC, and A using B's SSRC.
  EXPECT_EQ(Send(Rtp(0xA), Addr(9999)).reason, DropReason::kUnknownSource);
  EXPECT_EQ(Send(Rtcp(0xA), Addr(9999)).reason, DropReason::kUnknownSource);
  EXPECT_EQ(Send(Rtp(0xB), Addr(1000 + 0xA)).reason, DropReason::kSsrcMismatch);
  EXPECT_EQ(Send(Rtcp(0xB), Addr(1000 + 0xA)).reason, DropReason::kSsrcMismatch);
  EXPECT_TRUE(sink.emitted.empty());
  EXPECT_EQ(Dropped(DropReason::kUnknownSource), 2u);
  EXPECT_EQ(Dropped(DropReason::kSsrcMismatch), 2u);
  EXPECT_EQ(router.participant_counters(0xA)->packets_dropped, 2u);
  // The same address on IPv6 is another address.
  EXPECT_EQ(Send(Rtp(0xA), SocketAddress::Loopback(true, 1000 + 0xA)).reason,
            DropReason::kUnknownSource);
}

TEST_F(RouterTest, ClassifiesByFirstByteLengthAndRfc5761PayloadType) {
  JoinThree();
  const SocketAddress a = Addr(1000 + 0xA);
  EXPECT_EQ(Send({}, a).reason, DropReason::kTooShort);
  EXPECT_EQ(Send({0x80}, a).reason, DropReason::kTooShort);
  auto short_rtp = Rtp(0xA, 111, 0);
  short_rtp.pop_back();
  EXPECT_EQ(Send(short_rtp, a).reason, DropReason::kTooShort);
  auto short_rtcp = Rtcp(0xA);
  short_rtcp.pop_back();
  EXPECT_EQ(Send(short_rtcp, a).reason, DropReason::kTooShort);
  // STUN (0x00), DTLS (0x16), version 1 and version 3 "RTP".
  for (uint8_t first : {0x00, 0x16, 0x40, 0xC0}) {
    auto packet = Rtp(0xA);
    packet[0] = first;
    EXPECT_EQ(Send(packet, a).reason, DropReason::kNotRtp) << int{first};
  }
  // Payload types 64..95 (with or without the marker bit) are RTCP: the SSRC is read at
  // offset 4. A packet whose offset-4 word is A's SSRC and offset-8 word is not is
  // taken as RTCP and refused as RTP.
  for (uint8_t second : {63, 64, 95, 96, 64 | 0x80, 95 | 0x80, 96 | 0x80}) {
    auto packet = Rtp(0xDEAD, second);
    rtp::WriteBe32(packet.data() + 4, 0xA);
    const bool rtcp = (second & 0x7F) >= 64 && (second & 0x7F) <= 95;
    const RouteResult r = Send(packet, a);
    EXPECT_EQ(r.action, rtcp ? RouteAction::kTerminated : RouteAction::kDropped) << int{second};
  }
  EXPECT_EQ(Dropped(DropReason::kTooShort), 4u);
  EXPECT_EQ(Dropped(DropReason::kNotRtp), 4u);
}

TEST_F(RouterTest, ANewHelloMovesTheLatchAndForgetsTheOldAddress) {
  JoinThree();
  const SocketAddress rebound = Addr(2000);
  // NAT rebinding: the hello from the new address is challenged and the latch stays
  // where it was (media still flows there) until the cookie comes back from the new one.
  ASSERT_EQ(Send(HelloBytes(0xA, Secret(0xA)), rebound).action, RouteAction::kChallenged);
  const HelloCookie cookie = ChallengeIn(sink.emitted.back()).cookie;
  EXPECT_EQ(router.latched_address(0xA), Addr(1000 + 0xA));
  sink.emitted.clear();
  EXPECT_EQ(Send(Rtp(0xB), Addr(1000 + 0xB)).copies, 2u);
  EXPECT_EQ(sink.ports(), (std::set<uint16_t>{1000 + 0xA, 1000 + 0xC}));
  EXPECT_EQ(Send(CookieHelloBytes(0xA, Secret(0xA), cookie), rebound).action,
            RouteAction::kHelloAcked);
  EXPECT_EQ(router.latched_address(0xA), rebound);
  EXPECT_EQ(router.participant_counters(0xA)->latches, 2u);
  sink.emitted.clear();

  EXPECT_EQ(Send(Rtp(0xA), Addr(1000 + 0xA)).reason, DropReason::kUnknownSource);
  EXPECT_EQ(Send(Rtp(0xA), rebound).copies, 2u);
  sink.emitted.clear();
  EXPECT_EQ(Send(Rtp(0xB), Addr(1000 + 0xB)).copies, 2u);
  EXPECT_EQ(sink.ports(), (std::set<uint16_t>{2000, 1000 + 0xC}));

  // Without a valid hello, nothing moves.
  EXPECT_EQ(Send(HelloBytes(0xA, Secret(0xB)), Addr(3000)).reason, DropReason::kBadSecret);
  EXPECT_EQ(router.latched_address(0xA), rebound);
}

TEST_F(RouterTest, AnAddressTakenOverByAnotherParticipantUnlatchesTheFirst) {
  JoinThree();
  // B's NAT mapping now belongs to C (C hellos from B's address, and echoes the cookie).
  EXPECT_EQ(Latch(0xC, Secret(0xC), Addr(1000 + 0xB)).action, RouteAction::kHelloAcked);
  EXPECT_FALSE(router.latched_address(0xB));
  EXPECT_EQ(router.latched_address(0xC), Addr(1000 + 0xB));
  EXPECT_EQ(Send(Rtp(0xC), Addr(1000 + 0xC)).reason, DropReason::kUnknownSource);
  sink.emitted.clear();
  EXPECT_EQ(Send(Rtp(0xA), Addr(1000 + 0xA)).copies, 1u);  // B is no longer latched
}

TEST_F(RouterTest, RoomsAreIsolated) {
  JoinThree();
  Join(0xD, 2);
  sink.emitted.clear();
  for (uint32_t id : {0xAu, 0xBu, 0xCu}) Send(Rtp(id), Addr(1000 + id));
  for (const Emitted& e : sink.emitted) EXPECT_NE(e.to.port(), 1000 + 0xD);
  EXPECT_EQ(sink.emitted.size(), 6u);
  sink.emitted.clear();
  EXPECT_EQ(Send(Rtp(0xD), Addr(1000 + 0xD)).reason, DropReason::kRoomEmpty);
  EXPECT_TRUE(sink.emitted.empty());
  // The same SSRC may be used in another room.
  EXPECT_TRUE(router.AddParticipant(2, 0xE, 0xA, Secret(0xE)));
  EXPECT_EQ(router.room_count(), 2u);
}

TEST_F(RouterTest, RemovedParticipantsStopSendingAndReceiving) {
  JoinThree();
  ASSERT_TRUE(router.RemoveParticipant(0xB));
  EXPECT_EQ(router.participant_count(), 2u);
  EXPECT_FALSE(router.participant_counters(0xB));
  router.ApplyPendingCommands();
  EXPECT_FALSE(router.latched_address(0xB));
  EXPECT_EQ(Send(Rtp(0xB), Addr(1000 + 0xB)).reason, DropReason::kUnknownSource);
  EXPECT_EQ(Send(HelloBytes(0xB, Secret(0xB)), Addr(1000 + 0xB)).reason,
            DropReason::kUnknownParticipant);
  EXPECT_EQ(Send(Rtp(0xA), Addr(1000 + 0xA)).copies, 1u);

  ASSERT_TRUE(router.RemoveParticipant(0xA));
  ASSERT_TRUE(router.RemoveParticipant(0xC));
  EXPECT_EQ(router.room_count(), 0u);
  router.ApplyPendingCommands();
  // Rejoining starts from zero counters and reuses the freed slots.
  Join(0xB);
  EXPECT_EQ(router.participant_counters(0xB)->packets_in, 1u);
  EXPECT_EQ(router.room_count(), 1u);
}

TEST_F(RouterTest, ControlSideRefusesWhatCannotBeHonoured) {
  MediaRouter small(MediaRouterConfig{
      .max_participants = 3, .max_participants_per_room = 2, .command_queue_capacity = 2});
  ASSERT_TRUE(small.AddParticipant(1, 1, 100, Secret(1)));
  Status duplicate = small.AddParticipant(2, 1, 101, Secret(1));
  ASSERT_FALSE(duplicate);
  EXPECT_EQ(duplicate.error().message, "participant 1 is already in a room");
  Status ssrc = small.AddParticipant(1, 2, 100, Secret(2));
  ASSERT_FALSE(ssrc);
  EXPECT_EQ(ssrc.error().message, "SSRC 0x00000064 is already used in room 1");
  ASSERT_TRUE(small.AddParticipant(1, 2, 101, Secret(2)));
  // The queue (2) is full until the media side drains it.
  Status queue = small.AddParticipant(2, 3, 102, Secret(3));
  ASSERT_FALSE(queue);
  EXPECT_NE(queue.error().message.find("command queue full"), std::string::npos);
  EXPECT_EQ(small.participant_count(), 2u);
  EXPECT_EQ(small.ApplyPendingCommands(), 2u);
  Status room_full = small.AddParticipant(1, 3, 102, Secret(3));
  ASSERT_FALSE(room_full);
  EXPECT_EQ(room_full.error().message, "room 1 full: 2 participants (max_participants_per_room)");
  ASSERT_TRUE(small.AddParticipant(2, 3, 102, Secret(3)));
  Status relay_full = small.AddParticipant(3, 4, 103, Secret(4));
  ASSERT_FALSE(relay_full);
  EXPECT_EQ(relay_full.error().message, "relay full: 3 participants (max_participants)");
  Status unknown = small.RemoveParticipant(9);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message, "participant 9 is not in any room");
}

// The report scan walks the participants present, in slot order, however many the relay
// is sized for: the same joins, leaves and traffic give the same reports, byte for byte and
// in the same order (each report draws the next one's time from the router's generator,
// so the order is part of the behaviour), in a router for 40 as in one for 10,000.
TEST(MediaRouterReportsTest, ReportsDoNotDependOnTheConfiguredSize) {
  struct Report {
    int64_t at_ms;
    uint16_t port;
    std::vector<uint8_t> bytes;
    bool operator==(const Report&) const = default;
  };
  const auto run = [](size_t max_participants) {
    MediaRouterConfig config;
    config.max_participants = max_participants;
    config.max_participants_per_room = 4;
    config.cookie_key = HelloCookieKey{};
    MediaRouter router(config);
    RecordingSink sink;
    Clock::TimePoint now{};
    const auto tick = [&] {
      router.Tick(
          now, Clock::WallTime(std::chrono::seconds(1'700'000'000)) + now.time_since_epoch(), sink);
    };
    const auto send = [&](const std::vector<uint8_t>& datagram, uint32_t id) {
      return router.Route(datagram.data(), datagram.size(), Addr(static_cast<uint16_t>(2000 + id)),
                          sink);
    };
    const auto join = [&](uint32_t id) {
      ASSERT_TRUE(router.AddParticipant(id / 3, id, id, Secret(static_cast<uint8_t>(id))));
      router.ApplyPendingCommands();
      tick();
      ASSERT_EQ(send(HelloBytes(id, Secret(static_cast<uint8_t>(id))), id).action,
                RouteAction::kChallenged);
      const Hello challenge = ChallengeIn(sink.emitted.back());
      ASSERT_EQ(
          send(CookieHelloBytes(id, Secret(static_cast<uint8_t>(id)), challenge.cookie), id).action,
          RouteAction::kHelloAcked);
    };
    const auto leave = [&](uint32_t id) {
      ASSERT_TRUE(router.RemoveParticipant(id));
      router.ApplyPendingCommands();
    };
    for (uint32_t id = 3; id < 15; ++id) join(id);
    // Holes in the slots, then joins that take them: slots no longer in join order.
    for (uint32_t id : {4u, 7u, 11u}) leave(id);
    for (uint32_t id : {16u, 17u}) join(id);
    std::vector<Report> reports;
    for (int ms = 10; ms <= 5000; ms += 10) {
      now = Clock::TimePoint(milliseconds(ms));
      sink.emitted.clear();
      tick();
      if (ms % 20 == 0) {  // two speakers in 20 ms packets
        for (uint32_t id : {3u, 16u}) {
          auto packet = Rtp(id);
          rtp::WriteBe16(packet.data() + 2, static_cast<uint16_t>(ms / 20));
          rtp::WriteBe32(packet.data() + 4, static_cast<uint32_t>(ms * 48));
          (void)send(packet, id);
        }
      }
      if (ms == 2500) {
        leave(5);
        join(18);
      }
      // Reports, and the forwarded RTP (the hello round of the join above aside).
      for (const Emitted& e : sink.emitted) {
        if (e.payload.size() != kHelloBytes) reports.push_back({ms, e.to.port(), e.payload});
      }
    }
    return reports;
  };
  const std::vector<Report> small = run(40);
  const std::vector<Report> large = run(10'000);
  EXPECT_EQ(small, large);
  // Each participant present all along got a report about every second (0.5..1.5 s
  // apart, the first within 0.75 s).
  std::map<uint16_t, int> per_port;
  for (const Report& r : large) {
    const bool rtcp = r.bytes.size() > 1 && r.bytes[1] >= 200 && r.bytes[1] <= 204;
    if (rtcp) ++per_port[r.port];
  }
  for (uint32_t id : {3u, 6u, 8u, 16u, 17u}) {
    EXPECT_GE(per_port[static_cast<uint16_t>(2000 + id)], 3) << id;
    EXPECT_LE(per_port[static_cast<uint16_t>(2000 + id)], 10) << id;
  }
  EXPECT_EQ(per_port.count(2004), 0u) << "left before the first report was due";
}

TEST(MediaRouterConfigTest, RejectsOutOfRangeConfig) {
  EXPECT_THROW(MediaRouter(MediaRouterConfig{.max_participants = 0}), std::invalid_argument);
  EXPECT_THROW(
      MediaRouter(MediaRouterConfig{.max_participants = 4, .max_participants_per_room = 5}),
      std::invalid_argument);
  EXPECT_THROW(MediaRouter(MediaRouterConfig{.command_queue_capacity = 0}), std::invalid_argument);
  EXPECT_THROW(MediaRouter(MediaRouterConfig{.cookie_lifetime = milliseconds(0)}),
               std::invalid_argument);
}

TEST(MediaRouterConfigTest, DropReasonNamesAreDistinctLabels) {
  std::set<std::string_view> names;
  for (size_t i = 0; i < kDropReasonCount; ++i) {
    const std::string_view name = DropReasonName(static_cast<DropReason>(i));
    EXPECT_NE(name, "unknown");
    names.insert(name);
  }
  EXPECT_EQ(names.size(), kDropReasonCount);
  EXPECT_EQ(DropReasonName(DropReason::kUnknownSource), "unknown_source");
  EXPECT_EQ(DropReasonName(DropReason::kBadCookie), "bad_cookie");
}

// The control side on its own thread posting joins and leaves while the media thread
// applies them and routes hellos: every join that was accepted is known to the media
// side (its hello is challenged, not refused), in order, with no lock between the two.
TEST(MediaRouterThreadsTest, ControlThreadCommandsReachTheMediaThreadInOrder) {
  constexpr uint32_t kJoins = 2000;
  MediaRouter router(MediaRouterConfig{
      .max_participants = 64, .max_participants_per_room = 2, .command_queue_capacity = 16});
  std::atomic<uint32_t> joined{0};  // participants 0..joined-1 have been posted
  std::thread control([&] {
    for (uint32_t id = 0; id < kJoins; ++id) {
      // Keep at most 32 participants: remove the one 32 joins back.
      while (id >= 32 && !router.RemoveParticipant(id - 32)) std::this_thread::yield();
      while (!router.AddParticipant(id / 2, id, id, Secret(static_cast<uint8_t>(id))))
        std::this_thread::yield();
      joined.store(id + 1, std::memory_order_release);
    }
  });
  RecordingSink sink;
  uint32_t verified = 0;
  bool all_acked = true;
  while (verified < kJoins) {
    router.ApplyPendingCommands();
    // Once id's add is posted (and so applied by the drain above, or the next one),
    // its hello is accepted unless a later removal was applied too.
    if (verified < joined.load(std::memory_order_acquire)) {
      router.ApplyPendingCommands();
      const auto hello = HelloBytes(verified, Secret(static_cast<uint8_t>(verified)));
      const RouteResult r = router.Route(hello.data(), hello.size(), Addr(10000), sink);
      all_acked = all_acked && (r.action == RouteAction::kChallenged ||
                                (r.reason == DropReason::kUnknownParticipant &&
                                 joined.load(std::memory_order_acquire) >= verified + 32));
      ++verified;
    } else {
      std::this_thread::yield();
    }
  }
  control.join();
  router.ApplyPendingCommands();
  EXPECT_TRUE(all_acked);
  EXPECT_EQ(router.participant_count(), 32u);
  EXPECT_GE(router.counters().hellos_challenged, 1u);
}

// --- SRTP rooms ---------------------------------------------------------------------------

// A room key of AES_CM_128_HMAC_SHA1_80 (16 + 14 bytes) made from `seed`.
rtp::SrtpKeyMaterial RoomKey(uint8_t seed) {
  std::vector<uint8_t> key_then_salt(30);
  for (size_t i = 0; i < key_then_salt.size(); ++i) {
    key_then_salt[i] = static_cast<uint8_t>(seed * 17 + i);
  }
  Result<rtp::SrtpKeyMaterial> key =
      rtp::MakeSrtpKeyMaterial("AES_CM_128_HMAC_SHA1_80", key_then_salt);
  EXPECT_TRUE(key.ok());
  return *key;
}

// A participant's end of an SRTP room: protects what it sends, unprotects what it gets.
struct SrtpClient {
  explicit SrtpClient(const rtp::SrtpKeyMaterial& key)
      : out(std::move(rtp::SrtpOutboundSession::Create(key)).value()),
        in(std::move(rtp::SrtpInboundSession::Create(key)).value()) {}

  std::vector<uint8_t> ProtectRtcp(std::vector<uint8_t> plain) {
    const size_t size = plain.size();
    plain.resize(size + rtp::kSrtpMaxRtcpOverheadBytes);
    Result<size_t> bytes = out.ProtectRtcp(plain, size);
    EXPECT_TRUE(bytes.ok()) << bytes.error().message;
    plain.resize(bytes.ok() ? *bytes : 0);
    return plain;
  }
  std::vector<uint8_t> ProtectRtp(std::vector<uint8_t> plain) {
    const size_t size = plain.size();
    plain.resize(size + rtp::kSrtpMaxRtpOverheadBytes);
    Result<size_t> bytes = out.ProtectRtp(plain, size);
    EXPECT_TRUE(bytes.ok()) << bytes.error().message;
    plain.resize(bytes.ok() ? *bytes : 0);
    return plain;
  }
  // The plain compound, or an Error when it does not authenticate.
  Result<rtp::RtcpCompound> UnprotectRtcp(std::vector<uint8_t> wire) {
    Result<size_t> bytes = in.UnprotectRtcp(wire);
    if (!bytes) return bytes.error();
    wire.resize(*bytes);
    return rtp::ParseRtcpCompound(wire);
  }

  rtp::SrtpOutboundSession out;
  rtp::SrtpInboundSession in;
};

// RFC 3711 §3.4, AES-CM with HMAC-SHA1-80: ... | E (1 bit) + SRTCP index (31) | tag (10).
constexpr size_t kSrtcpTagBytes = 10;
bool SrtcpEncrypted(const std::vector<uint8_t>& wire) {
  return (wire[wire.size() - kSrtcpTagBytes - 4] & 0x80) != 0;
}
uint32_t SrtcpIndex(const std::vector<uint8_t>& wire) {
  return rtp::ReadBe32(wire.data() + wire.size() - kSrtcpTagBytes - 4) & 0x7FFFFFFFu;
}

// An RR from `ssrc` with one block about `about`: a quarter lost.
std::vector<uint8_t> RrAbout(uint32_t ssrc, uint32_t about) {
  rtp::ReceiverReport rr;
  rr.ssrc = ssrc;
  rr.report_blocks.push_back({.ssrc = about, .fraction_lost = 64});
  std::vector<uint8_t> bytes(rtp::RtcpPacketSize(rr));
  EXPECT_TRUE(rtp::WriteRtcpPacket(rr, bytes).ok());
  return bytes;
}

TEST_F(RouterTest, AnSrtpRoomReadsSrtcpAndIgnoresWhatDoesNotAuthenticate) {
  room_keys[kRoom] = RoomKey(1);
  JoinThree();
  SrtpClient a(RoomKey(1));
  SrtpClient c(RoomKey(1));
  // SRTP passes through untouched: the relay does not decrypt media.
  const std::vector<uint8_t> media = a.ProtectRtp(Rtp(0xA));
  EXPECT_EQ(Send(media, Addr(1000 + 0xA)).copies, 2u);
  for (const Emitted& e : sink.emitted) EXPECT_EQ(e.payload, media);

  // C's SRTCP receiver report about A's stream: read (the downlink A -> C is a quarter lost).
  const std::vector<uint8_t> report = c.ProtectRtcp(RrAbout(0xC, 0xA));
  EXPECT_EQ(Send(report, Addr(1000 + 0xC)).action, RouteAction::kTerminated);
  LinkStats link = *router.link_stats(0xC);
  EXPECT_EQ(link.reports_received, 1u);
  EXPECT_TRUE(link.has_downlink);
  EXPECT_DOUBLE_EQ(link.downlink_loss, 0.25);
  EXPECT_EQ(router.counters().rtcp_undecryptable, 0u);

  // A tampered copy of the next one, the same one replayed, and plain RTCP: counted and
  // ignored, none read.
  std::vector<uint8_t> tampered = c.ProtectRtcp(RrAbout(0xC, 0xA));
  tampered[12] ^= 0x01;
  EXPECT_EQ(Send(tampered, Addr(1000 + 0xC)).action, RouteAction::kTerminated);
  EXPECT_EQ(Send(report, Addr(1000 + 0xC)).action, RouteAction::kTerminated);
  EXPECT_EQ(Send(RrAbout(0xC, 0xA), Addr(1000 + 0xC)).action, RouteAction::kTerminated);
  // So is SRTCP under another room's key.
  SrtpClient stranger(RoomKey(2));
  EXPECT_EQ(Send(stranger.ProtectRtcp(RrAbout(0xC, 0xA)), Addr(1000 + 0xC)).action,
            RouteAction::kTerminated);
  const RouterCounters counters = router.counters();
  EXPECT_EQ(counters.rtcp_received, 5u);
  EXPECT_EQ(counters.rtcp_undecryptable, 4u);
  EXPECT_EQ(counters.rtcp_malformed, 0u);
  EXPECT_EQ(router.link_stats(0xC)->reports_received, 1u);
  EXPECT_EQ(router.participant_counters(0xC)->packets_out, 2u) << "an ack and A's packet only";
}

TEST_F(RouterTest, AnSrtpRoomsReportsAreSrtcpOfOneIndexSequenceForTheRoom) {
  room_keys[kRoom] = RoomKey(1);
  room_keys[2] = RoomKey(2);
  JoinThree();
  Join(0xD, 2);
  sink.emitted.clear();
  SrtpClient a(RoomKey(1));
  Send(a.ProtectRtp(Rtp(0xA)), Addr(1000 + 0xA));
  sink.emitted.clear();
  for (int ms = 10; ms <= 1500; ms += 10) {
    router.Tick(Clock::TimePoint(milliseconds(ms)),
                Clock::WallTime(seconds(1'700'000'000) + milliseconds(ms)), sink);
  }
  ASSERT_EQ(sink.ports(), (std::set<uint16_t>{1000 + 0xA, 1000 + 0xB, 1000 + 0xC, 1000 + 0xD}));
  EXPECT_EQ(router.counters().rtcp_reports_sent, sink.emitted.size());
  EXPECT_EQ(router.counters().rtcp_protect_failures, 0u);

  // Each participant unprotects what it receives with its room's key (its own session,
  // as a client has) and reads the relay's compound; nothing goes in the clear.
  std::map<uint16_t, SrtpClient> clients;
  for (uint32_t id : {0xAu, 0xBu, 0xCu}) {
    clients.emplace(static_cast<uint16_t>(1000 + id), RoomKey(1));
  }
  clients.emplace(1000 + 0xD, RoomKey(2));
  std::map<uint32_t, std::vector<uint32_t>> indexes;  // by room
  for (const Emitted& e : sink.emitted) {
    SCOPED_TRACE(e.to.port());
    EXPECT_FALSE(rtp::ParseRtcpCompound(e.payload).ok()) << "sent in the clear";
    EXPECT_TRUE(SrtcpEncrypted(e.payload));
    const uint32_t room = e.to.port() == 1000 + 0xD ? 2 : kRoom;
    indexes[room].push_back(SrtcpIndex(e.payload));
    if (room == kRoom) {
      SrtpClient other_room(RoomKey(2));
      EXPECT_FALSE(other_room.UnprotectRtcp(e.payload).ok()) << "another room's key opens it";
    }
    Result<rtp::RtcpCompound> report = clients.at(e.to.port()).UnprotectRtcp(e.payload);
    ASSERT_TRUE(report.ok()) << report.error().message;
    const auto& rr = std::get<rtp::ReceiverReport>(report->packets.front());
    EXPECT_EQ(rr.ssrc, router.relay_ssrc());
    const bool hears_a = e.to.port() == 1000 + 0xB || e.to.port() == 1000 + 0xC;
    EXPECT_EQ(report->packets.size(), hears_a ? 3u : 2u);  // RR, SR for A, SDES
  }
  // One outbound session per room: its reports take successive indexes 1, 2, 3, ...
  // whichever member they go to, so no two of them (same key, same SSRC) share a
  // keystream. Room 2 has its own key and its own sequence.
  ASSERT_GE(indexes[kRoom].size(), 3u);
  for (size_t i = 0; i < indexes[kRoom].size(); ++i) EXPECT_EQ(indexes[kRoom][i], i + 1);
  ASSERT_GE(indexes[2].size(), 1u);
  for (size_t i = 0; i < indexes[2].size(); ++i) EXPECT_EQ(indexes[2][i], i + 1);
}

TEST_F(RouterTest, AnSrtpRoomRefusesTheRelaysSsrcAndAnyOtherKey) {
  Status relay_ssrc =
      router.AddParticipant(kRoom, 1, router.relay_ssrc(), Secret(1), {}, 48000, RoomKey(1));
  ASSERT_FALSE(relay_ssrc);
  EXPECT_NE(relay_ssrc.error().message.find("relay's own RTCP SSRC"), std::string::npos);
  // Without SRTP the relay's SSRC is harmless (nothing is encrypted with a shared key).
  EXPECT_TRUE(router.AddParticipant(2, 2, router.relay_ssrc(), Secret(2)));

  ASSERT_TRUE(router.AddParticipant(kRoom, 3, 0x33, Secret(3), {}, 48000, RoomKey(1)));
  Status other_key = router.AddParticipant(kRoom, 4, 0x44, Secret(4), {}, 48000, RoomKey(9));
  ASSERT_FALSE(other_key);
  EXPECT_EQ(other_key.error().message, "participant 4: SRTP key differs from room 1's");
  Status no_key = router.AddParticipant(kRoom, 4, 0x44, Secret(4));
  ASSERT_FALSE(no_key);
  EXPECT_EQ(no_key.error().message, "participant 4: room 1 has SRTP: give its key");
  Status key_for_plain = router.AddParticipant(2, 4, 0x44, Secret(4), {}, 48000, RoomKey(1));
  ASSERT_FALSE(key_for_plain);
  EXPECT_EQ(key_for_plain.error().message, "participant 4: room 2 has no SRTP: give no key");
  EXPECT_TRUE(router.AddParticipant(kRoom, 4, 0x44, Secret(4), {}, 48000, RoomKey(1)));
  EXPECT_EQ(router.participant_count(), 3u);

  // A room that closed may reopen with a new key.
  ASSERT_TRUE(router.RemoveParticipant(3));
  ASSERT_TRUE(router.RemoveParticipant(4));
  EXPECT_TRUE(router.AddParticipant(kRoom, 5, 0x55, Secret(5), {}, 48000, RoomKey(7)));
}

// A participant that leaves and joins again with a fresh SRTCP sender (its index starts
// over) is read again: its stream in the room's inbound session went with it.
TEST_F(RouterTest, AnSrtpRoomForgetsALeaversSrtcpStream) {
  room_keys[kRoom] = RoomKey(1);
  JoinThree();
  {
    SrtpClient c(RoomKey(1));
    for (int i = 0; i < 3; ++i) Send(c.ProtectRtcp(Rtcp(0xC)), Addr(1000 + 0xC));
  }
  EXPECT_EQ(router.link_stats(0xC)->reports_received, 3u);
  ASSERT_TRUE(router.RemoveParticipant(0xC));
  router.ApplyPendingCommands();
  Join(0xC);
  SrtpClient c_again(RoomKey(1));
  Send(c_again.ProtectRtcp(Rtcp(0xC)), Addr(1000 + 0xC));
  EXPECT_EQ(router.link_stats(0xC)->reports_received, 1u);
  EXPECT_EQ(router.counters().rtcp_undecryptable, 0u);
}

}  // namespace
}  // namespace parley::relay
