#include "parley/rtp/telephone_event.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <vector>

namespace parley::rtp {
namespace {

constexpr uint8_t kDigit5 = 5;
constexpr uint8_t kDigitStar = 10;

TEST(TelephoneEventTest, SerializeIsByteExact) {
  // Digit 5, end, -10 dBm0, 800 ticks (100 ms at 8 kHz).
  const TelephoneEvent event{kDigit5, true, false, 10, 800};
  std::array<uint8_t, 4> out{};
  Result<size_t> bytes = SerializeTelephoneEvent(event, out);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, 4u);
  EXPECT_EQ(out, (std::array<uint8_t, 4>{0x05, 0x8A, 0x03, 0x20}));

  Result<TelephoneEvent> parsed = ParseTelephoneEvent(out);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, event);
}

TEST(TelephoneEventTest, ReservedBitIsReadButNeverSent) {
  const std::array<uint8_t, 4> wire = {0x0B, 0x40 | 0x3F, 0x00, 0xA0};
  Result<TelephoneEvent> parsed = ParseTelephoneEvent(wire);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->event, 11);
  EXPECT_TRUE(parsed->reserved);
  EXPECT_FALSE(parsed->end);
  EXPECT_EQ(parsed->volume_dbm0, 63);
  EXPECT_EQ(parsed->duration_ticks, 160);
  std::array<uint8_t, 4> out{};
  ASSERT_TRUE(SerializeTelephoneEvent(*parsed, out).ok());
  EXPECT_EQ(out[1], 0x3F);
}

TEST(TelephoneEventTest, SerializeRejectsBadInput) {
  std::array<uint8_t, 3> small{};
  EXPECT_FALSE(SerializeTelephoneEvent(TelephoneEvent{}, small).ok());
  std::array<uint8_t, 4> out{};
  TelephoneEvent loud{};
  loud.volume_dbm0 = 64;
  EXPECT_FALSE(SerializeTelephoneEvent(loud, out).ok());
}

TEST(TelephoneEventTest, ParsesSeveralBlocksAndRejectsPartialOnes) {
  const std::vector<uint8_t> two = {0x01, 0x8A, 0x01, 0x90, 0x02, 0x0A, 0x00, 0xA0};
  std::array<TelephoneEvent, 4> out;
  Result<size_t> count = ParseTelephoneEvents(two, out);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 2u);
  EXPECT_EQ(out[0].event, 1);
  EXPECT_TRUE(out[0].end);
  EXPECT_EQ(out[0].duration_ticks, 400);
  EXPECT_EQ(out[1].event, 2);
  EXPECT_FALSE(out[1].end);

  std::vector<uint8_t> partial = two;
  partial.push_back(0x03);
  Result<size_t> bad = ParseTelephoneEvents(partial, out);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("offset 8"), std::string::npos) << bad.error().message;
  EXPECT_FALSE(ParseTelephoneEvent(partial).ok());

  std::array<TelephoneEvent, 1> one;
  EXPECT_FALSE(ParseTelephoneEvents(two, one).ok());
  Result<TelephoneEvent> first = ParseTelephoneEvent(two);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->event, 1);

  Result<size_t> empty = ParseTelephoneEvents({}, out);
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.error().message.find("offset 0"), std::string::npos);
}

TelephoneEventSender MakeSender(int clock_rate_hz = 8000) {
  TelephoneEventSenderConfig config;
  config.clock_rate_hz = clock_rate_hz;
  Result<TelephoneEventSender> sender = TelephoneEventSender::Create(config);
  EXPECT_TRUE(sender.ok());
  return std::move(sender).value();
}

// Polls every `step` ticks from `from` up to `to` (inclusive, modulo 2^32), collecting
// packets.
void PollRange(TelephoneEventSender& sender, uint32_t from, uint32_t to, uint32_t step,
               std::vector<TelephoneEventPacket>& out) {
  for (uint32_t elapsed = 0; elapsed <= to - from; elapsed += step) {
    while (auto packet = sender.Poll(from + elapsed)) out.push_back(*packet);
  }
}

TEST(TelephoneEventTest, SenderEmitsStartUpdatesAndThreeEndPackets) {
  TelephoneEventSender sender = MakeSender();
  ASSERT_EQ(sender.update_interval_ticks(), 400u);  // 50 ms at 8 kHz
  ASSERT_TRUE(sender.Start(kDigit5, 1000).ok());
  EXPECT_FALSE(sender.Poll(1000).has_value());
  EXPECT_FALSE(sender.Poll(1399).has_value());
  std::vector<TelephoneEventPacket> packets;
  PollRange(sender, 1400, 1800, 400, packets);
  ASSERT_TRUE(sender.Stop(2000).ok());
  PollRange(sender, 2000, 3000, 200, packets);

  const TelephoneEvent update1{kDigit5, false, false, 10, 400};
  const TelephoneEvent update2{kDigit5, false, false, 10, 800};
  const TelephoneEvent end{kDigit5, true, false, 10, 1000};
  const std::vector<TelephoneEventPacket> expected = {
      {1000, true, 1400, update1}, {1000, false, 1800, update2}, {1000, false, 2000, end},
      {1000, false, 2400, end},    {1000, false, 2800, end},
  };
  EXPECT_EQ(packets, expected);
  EXPECT_FALSE(sender.busy());
  EXPECT_FALSE(sender.Poll(5000).has_value());
}

TEST(TelephoneEventTest, SenderRefusesOverlappingEventsAndStrayStop) {
  TelephoneEventSender sender = MakeSender();
  EXPECT_FALSE(sender.Stop(10).ok());
  ASSERT_TRUE(sender.Start(1, 0).ok());
  EXPECT_FALSE(sender.Start(2, 10).ok());
  ASSERT_TRUE(sender.Stop(100).ok());
  EXPECT_FALSE(sender.Start(2, 100).ok());  // end packets still pending
  std::vector<TelephoneEventPacket> packets;
  PollRange(sender, 100, 1000, 100, packets);
  ASSERT_EQ(packets.size(), 3u);
  EXPECT_TRUE(packets[0].marker);  // the end packet is the first packet: it has the marker
  EXPECT_EQ(packets[0].payload.duration_ticks, 100);
  EXPECT_TRUE(sender.Start(2, 1000).ok());
}

TEST(TelephoneEventTest, SenderConfigIsValidated) {
  TelephoneEventSenderConfig config;
  config.clock_rate_hz = 0;
  EXPECT_FALSE(TelephoneEventSender::Create(config).ok());
  config = {};
  config.end_packet_count = 0;
  EXPECT_FALSE(TelephoneEventSender::Create(config).ok());
  config = {};
  config.volume_dbm0 = 70;
  EXPECT_FALSE(TelephoneEventSender::Create(config).ok());
  config = {};
  config.update_interval = std::chrono::milliseconds(0);
  EXPECT_FALSE(TelephoneEventSender::Create(config).ok());
}

class Collector : public TelephoneEventListener {
 public:
  void OnTelephoneEvent(const ReceivedTelephoneEvent& event) override { events.push_back(event); }
  std::vector<ReceivedTelephoneEvent> events;
};

TelephoneEventReceiver MakeReceiver(Collector& collector) {
  Result<TelephoneEventReceiver> receiver =
      TelephoneEventReceiver::Create(TelephoneEventReceiverConfig{}, &collector);
  EXPECT_TRUE(receiver.ok());
  return std::move(receiver).value();
}

std::array<uint8_t, 4> Wire(const TelephoneEvent& event) {
  std::array<uint8_t, 4> out{};
  EXPECT_TRUE(SerializeTelephoneEvent(event, out).ok());
  return out;
}

void Deliver(TelephoneEventReceiver& receiver, const TelephoneEventPacket& packet) {
  EXPECT_TRUE(receiver.OnPacket(packet.rtp_timestamp, Wire(packet.payload)).ok());
}

// The packets of one key press from the sender: start at `start`, `length` ticks.
std::vector<TelephoneEventPacket> KeyPress(uint8_t event, uint32_t start, uint32_t length) {
  TelephoneEventSender sender = MakeSender();
  EXPECT_TRUE(sender.Start(event, start).ok());
  std::vector<TelephoneEventPacket> packets;
  PollRange(sender, start, start + length - 1, 80, packets);
  EXPECT_TRUE(sender.Stop(start + length).ok());
  PollRange(sender, start + length, start + length + 2000, 80, packets);
  return packets;
}

TEST(TelephoneEventTest, ReceiverReportsOnceDespiteRetransmittedEnds) {
  Collector collector;
  TelephoneEventReceiver receiver = MakeReceiver(collector);
  const std::vector<TelephoneEventPacket> packets = KeyPress(kDigit5, 8000, 1000);
  ASSERT_EQ(packets.size(), 5u);  // updates at 400, 800; three ends at 1000
  for (const auto& packet : packets) Deliver(receiver, packet);
  ASSERT_EQ(collector.events.size(), 1u);
  EXPECT_EQ(collector.events[0], (ReceivedTelephoneEvent{kDigit5, 8000, 1000, 10, true}));
  EXPECT_EQ(receiver.blocks_ignored(), 2u);  // the two retransmitted ends
  receiver.OnTime(20000);
  EXPECT_EQ(collector.events.size(), 1u);
}

TEST(TelephoneEventTest, ReceiverHandlesReorderingAndDuplicates) {
  Collector collector;
  TelephoneEventReceiver receiver = MakeReceiver(collector);
  const std::vector<TelephoneEventPacket> p = KeyPress(kDigitStar, 100, 1000);
  // Update 2 before update 1, update 2 twice, first end, then a late update 1 again.
  for (size_t i : {1, 0, 1, 2, 0, 3, 4}) Deliver(receiver, p[i]);
  ASSERT_EQ(collector.events.size(), 1u);
  EXPECT_EQ(collector.events[0], (ReceivedTelephoneEvent{kDigitStar, 100, 1000, 10, true}));
}

TEST(TelephoneEventTest, ReceiverSurvivesLossOfStartAndSomeEnds) {
  Collector collector;
  TelephoneEventReceiver receiver = MakeReceiver(collector);
  const std::vector<TelephoneEventPacket> p = KeyPress(3, 500, 1000);
  // Start (marker) lost, first two end packets lost: the last end still reports.
  for (size_t i : {1, 4}) Deliver(receiver, p[i]);
  ASSERT_EQ(collector.events.size(), 1u);
  EXPECT_EQ(collector.events[0], (ReceivedTelephoneEvent{3, 500, 1000, 10, true}));
}

TEST(TelephoneEventTest, ReceiverTimesOutAnEventWhoseEndsWereAllLost) {
  Collector collector;
  TelephoneEventReceiver receiver = MakeReceiver(collector);
  const std::vector<TelephoneEventPacket> p = KeyPress(7, 0, 1000);
  Deliver(receiver, p[0]);
  Deliver(receiver, p[1]);  // last instant seen: 0 + 800
  // Timeout 250 ms = 2000 ticks at 8 kHz after tick 800.
  receiver.OnTime(2800);
  EXPECT_TRUE(collector.events.empty());
  receiver.OnTime(2801);
  ASSERT_EQ(collector.events.size(), 1u);
  EXPECT_EQ(collector.events[0], (ReceivedTelephoneEvent{7, 0, 800, 10, false}));
  // The end packets arriving after all are ignored: the event was reported.
  Deliver(receiver, p[2]);
  EXPECT_EQ(collector.events.size(), 1u);
}

TEST(TelephoneEventTest, NewEventEndsOneWhoseEndsWereLost) {
  Collector collector;
  TelephoneEventReceiver receiver = MakeReceiver(collector);
  const std::vector<TelephoneEventPacket> first = KeyPress(1, 0, 1000);
  const std::vector<TelephoneEventPacket> second = KeyPress(2, 1600, 1000);
  Deliver(receiver, first[0]);
  Deliver(receiver, first[1]);
  Deliver(receiver, second[0]);
  ASSERT_EQ(collector.events.size(), 1u);
  EXPECT_EQ(collector.events[0], (ReceivedTelephoneEvent{1, 0, 800, 10, false}));
  Deliver(receiver, first[2]);  // a late end of the first: ignored
  for (size_t i = 1; i < second.size(); ++i) Deliver(receiver, second[i]);
  ASSERT_EQ(collector.events.size(), 2u);
  EXPECT_EQ(collector.events[1], (ReceivedTelephoneEvent{2, 1600, 1000, 10, true}));
}

TEST(TelephoneEventTest, LongEventIsSplitIntoSegmentsAndJoinedAgain) {
  // 70000 ticks (8.75 s at 8 kHz) > 0xFFFF: two segments.
  const uint32_t start = 0xFFFF0000u;  // and across the 32-bit wrap
  const uint32_t length = 70000;
  const std::vector<TelephoneEventPacket> p = KeyPress(9, start, length);
  ASSERT_GT(p.size(), 3u);
  EXPECT_TRUE(p[0].marker);
  size_t boundary = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    if (i > 0) {
      EXPECT_FALSE(p[i].marker) << i;
    }
    if (p[i].payload.duration_ticks == kMaxTelephoneEventDurationTicks) boundary = i;
  }
  ASSERT_GT(boundary, 0u);
  EXPECT_EQ(p[boundary].rtp_timestamp, start);
  EXPECT_EQ(p[boundary + 1].rtp_timestamp, start + kMaxTelephoneEventDurationTicks);
  const TelephoneEventPacket& last = p.back();
  EXPECT_TRUE(last.payload.end);
  EXPECT_EQ(last.rtp_timestamp, start + kMaxTelephoneEventDurationTicks);
  EXPECT_EQ(last.payload.duration_ticks, length - kMaxTelephoneEventDurationTicks);

  Collector collector;
  TelephoneEventReceiver receiver = MakeReceiver(collector);
  for (const auto& packet : p) Deliver(receiver, packet);
  ASSERT_EQ(collector.events.size(), 1u);
  EXPECT_EQ(collector.events[0], (ReceivedTelephoneEvent{9, start, length, 10, true}));
}

TEST(TelephoneEventTest, ReceiverRejectsMalformedPayloadWithoutStateChange) {
  Collector collector;
  TelephoneEventReceiver receiver = MakeReceiver(collector);
  const std::array<uint8_t, 3> partial = {1, 0x80, 0};
  EXPECT_FALSE(receiver.OnPacket(0, partial).ok());
  receiver.OnTime(100000);
  EXPECT_TRUE(collector.events.empty());
}

TEST(TelephoneEventTest, SeveralBlocksInOnePayloadAreBackToBackEvents) {
  Collector collector;
  TelephoneEventReceiver receiver = MakeReceiver(collector);
  // Digit 1 for 400 ticks (ended), then digit 2 starting at +400, 160 ticks so far.
  const std::vector<uint8_t> payload = {0x01, 0x8A, 0x01, 0x90, 0x02, 0x0A, 0x00, 0xA0};
  ASSERT_TRUE(receiver.OnPacket(1000, payload).ok());
  ASSERT_EQ(collector.events.size(), 1u);
  EXPECT_EQ(collector.events[0], (ReceivedTelephoneEvent{1, 1000, 400, 10, true}));
  const std::array<uint8_t, 4> end2 = {0x02, 0x8A, 0x01, 0x40};
  ASSERT_TRUE(receiver.OnPacket(1400, end2).ok());
  ASSERT_EQ(collector.events.size(), 2u);
  EXPECT_EQ(collector.events[1], (ReceivedTelephoneEvent{2, 1400, 320, 10, true}));
}

TEST(TelephoneEventTest, ReceiverNeedsAListener) {
  EXPECT_FALSE(TelephoneEventReceiver::Create({}, nullptr).ok());
}

}  // namespace
}  // namespace parley::rtp
