#include "parley/relay/media_router.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "parley/rtp/big_endian.h"

namespace parley::relay {
namespace {

using net::SocketAddress;

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
    ASSERT_TRUE(router.AddParticipant(room, id, id, Secret(static_cast<uint8_t>(id)), rights));
    router.ApplyPendingCommands();
    const RouteResult r = Send(HelloBytes(id, Secret(static_cast<uint8_t>(id))), Addr(1000 + id));
    ASSERT_EQ(r.action, RouteAction::kHelloAcked);
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
};

TEST_F(RouterTest, HelloLatchesTheAddressAndIsAckedWithTheSameSize) {
  ASSERT_TRUE(router.AddParticipant(kRoom, 7, 0x77, Secret(7)));
  EXPECT_EQ(router.ApplyPendingCommands(), 1u);
  EXPECT_FALSE(router.latched_address(7));

  const auto hello = HelloBytes(7, Secret(7));
  const RouteResult r = Send(hello, Addr(5000));
  EXPECT_EQ(r.action, RouteAction::kHelloAcked);
  ASSERT_EQ(sink.emitted.size(), 1u);
  EXPECT_EQ(sink.emitted[0].payload, HelloBytes(7, Secret(7), HelloType::kAck));
  EXPECT_EQ(sink.emitted[0].payload.size(), hello.size());  // no amplification
  EXPECT_EQ(sink.emitted[0].to, Addr(5000));
  EXPECT_EQ(router.latched_address(7), Addr(5000));

  // A repeated hello (the client resends until acked) is acked again, still one latch.
  EXPECT_EQ(Send(hello, Addr(5000)).action, RouteAction::kHelloAcked);
  EXPECT_EQ(sink.emitted.size(), 2u);
  const auto counters = router.participant_counters(7);
  ASSERT_TRUE(counters);
  EXPECT_EQ(counters->latches, 1u);
  EXPECT_EQ(counters->packets_in, 2u);
  EXPECT_EQ(counters->packets_out, 2u);
  EXPECT_EQ(counters->bytes_out, 2 * kHelloBytes);
  EXPECT_EQ(router.counters().hellos_acked, 2u);
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
  EXPECT_EQ(Dropped(DropReason::kBadHello), 3u);
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
  EXPECT_EQ(router.participant_counters(0xA)->bytes_in, kHelloBytes + packet.size());
  EXPECT_EQ(router.participant_counters(0xB)->bytes_out, kHelloBytes + packet.size());

  sink.emitted.clear();
  const RouteResult report = Send(Rtcp(0xC), Addr(1000 + 0xC));
  EXPECT_EQ(report.action, RouteAction::kForwarded);
  EXPECT_EQ(sink.ports(), (std::set<uint16_t>{1000 + 0xA, 1000 + 0xB}));
  EXPECT_EQ(router.counters().rtcp_forwarded, 1u);
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

TEST_F(RouterTest, RightsGateRtpButNotRtcp) {
  Join(0xA);                                                      // publishes and subscribes
  Join(0xB, kRoom, Rights{.publish = true, .subscribe = false});  // a speaker that hears no one
  Join(0xC, kRoom, Rights{.publish = false, .subscribe = true});  // a listener
  sink.emitted.clear();

  EXPECT_EQ(Send(Rtp(0xA), Addr(1000 + 0xA)).copies, 1u);
  EXPECT_EQ(sink.ports(), (std::set<uint16_t>{1000 + 0xC}));
  sink.emitted.clear();

  EXPECT_EQ(Send(Rtp(0xC), Addr(1000 + 0xC)).reason, DropReason::kNotPublisher);
  EXPECT_TRUE(sink.emitted.empty());

  // The listener's receiver reports still reach the publishers.
  EXPECT_EQ(Send(Rtcp(0xC), Addr(1000 + 0xC)).copies, 2u);
  EXPECT_EQ(sink.ports(), (std::set<uint16_t>{1000 + 0xA, 1000 + 0xB}));
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
  // forwarded as RTCP and refused as RTP.
  for (uint8_t second : {63, 64, 95, 96, 64 | 0x80, 95 | 0x80, 96 | 0x80}) {
    auto packet = Rtp(0xDEAD, second);
    rtp::WriteBe32(packet.data() + 4, 0xA);
    const bool rtcp = (second & 0x7F) >= 64 && (second & 0x7F) <= 95;
    const RouteResult r = Send(packet, a);
    EXPECT_EQ(r.action, rtcp ? RouteAction::kForwarded : RouteAction::kDropped) << int{second};
  }
  EXPECT_EQ(Dropped(DropReason::kTooShort), 4u);
  EXPECT_EQ(Dropped(DropReason::kNotRtp), 4u);
}

TEST_F(RouterTest, ANewHelloMovesTheLatchAndForgetsTheOldAddress) {
  JoinThree();
  const SocketAddress rebound = Addr(2000);
  EXPECT_EQ(Send(HelloBytes(0xA, Secret(0xA)), rebound).action, RouteAction::kHelloAcked);
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
  // B's NAT mapping now belongs to C (C hellos from B's address).
  EXPECT_EQ(Send(HelloBytes(0xC, Secret(0xC)), Addr(1000 + 0xB)).action, RouteAction::kHelloAcked);
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

TEST(MediaRouterConfigTest, RejectsOutOfRangeConfig) {
  EXPECT_THROW(MediaRouter(MediaRouterConfig{.max_participants = 0}), std::invalid_argument);
  EXPECT_THROW(
      MediaRouter(MediaRouterConfig{.max_participants = 4, .max_participants_per_room = 5}),
      std::invalid_argument);
  EXPECT_THROW(MediaRouter(MediaRouterConfig{.command_queue_capacity = 0}), std::invalid_argument);
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
}

// The control side on its own thread posting joins and leaves while the media thread
// applies them and routes hellos: every join that was accepted becomes latchable, in
// order, with no lock between the two.
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
      all_acked = all_acked && (r.action == RouteAction::kHelloAcked ||
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
  EXPECT_GE(router.counters().hellos_acked, 1u);
}

}  // namespace
}  // namespace parley::relay
