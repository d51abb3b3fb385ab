#include "parley/client/media_sender.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "parley/audio/audio_file.h"
#include "parley/client/rtcp_session.h"
#include "parley/codec/opus_codec.h"
#include "parley/container/ogg_opus_reader.h"
#include "parley/container/ogg_opus_writer.h"
#include "parley/net/poller.h"
#include "parley/rtp/red.h"
#include "parley/rtp/rtp_packet.h"
#include "parley/rtp/srtp_session.h"
#include "parley/testing/signals.h"

namespace parley::client {
namespace {

using std::chrono::milliseconds;

audio::AudioFrame ToneAudio(double seconds, int rate_hz = 16000) {
  return audio::AudioFrame({rate_hz, 1}, testing::Tone(440.0, rate_hz, seconds));
}

std::unique_ptr<MediaSender> MakeSender(const audio::AudioFrame& audio, MediaSenderConfig config) {
  auto sender = MediaSender::FromAudio(audio, config);
  if (!sender) throw std::runtime_error(sender.error().message);
  return std::move(sender).value();
}

struct Sent {
  int64_t at_ms = 0;
  std::vector<uint8_t> bytes;
};

// Steps the clock in 1 ms increments for `duration`, taking every packet as it falls due.
std::vector<Sent> DrainFor(MediaSender& sender, SimulatedClock& clock, milliseconds duration) {
  std::vector<Sent> sent;
  std::array<uint8_t, kMaxRtpPacketBytes> buffer{};
  const auto end = clock.Now() + duration;
  while (clock.Now() < end) {
    for (int64_t n = sender.PacketsDue(clock.Now()); n > 0; --n) {
      auto size = sender.NextPacket(buffer);
      EXPECT_TRUE(size) << size.error().message;
      sent.push_back(
          {std::chrono::duration_cast<milliseconds>(clock.Now().time_since_epoch()).count(),
           std::vector<uint8_t>(buffer.begin(), buffer.begin() + static_cast<ptrdiff_t>(*size))});
    }
    clock.Advance(milliseconds(1));
  }
  return sent;
}

rtp::RtpPacketView Parse(const std::vector<uint8_t>& bytes) {
  auto packet = rtp::ParseRtpPacket(bytes);
  if (!packet) throw std::runtime_error(packet.error().message);
  return *packet;
}

TEST(MediaSenderTest, PacesFiftyPacketsPerSecondOnTheInjectedClock) {
  SimulatedClock clock;
  auto sender = MakeSender(ToneAudio(3.0), {.ssrc = 0x1234});
  EXPECT_EQ(sender->PacketsDue(clock.Now()), 0);  // nothing before Start
  sender->Start(clock.Now());
  EXPECT_EQ(sender->PacketsDue(clock.Now()), 1);  // the first packet is due at once
  EXPECT_EQ(sender->PacketsDue(clock.Now() + milliseconds(999)), 50);

  const auto sent = DrainFor(*sender, clock, milliseconds(1000));
  ASSERT_EQ(sent.size(), 50u);
  for (size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(sent[i].at_ms, static_cast<int64_t>(i) * 20) << "packet " << i;
  }
  EXPECT_EQ(*sender->next_due(), clock.Now());
  EXPECT_EQ(sender->stats().packets_produced, 50u);
  EXPECT_EQ(sender->stats().media_time, milliseconds(1000));
}

TEST(MediaSenderTest, PacketsAreOpusRtpThatDecodesToTwentyMilliseconds) {
  SimulatedClock clock;
  auto sender = MakeSender(ToneAudio(1.0), {.ssrc = 0xCAFE, .payload_type = 111});
  sender->Start(clock.Now());
  const auto sent = DrainFor(*sender, clock, milliseconds(100));
  ASSERT_EQ(sent.size(), 5u);
  auto decoder = codec::OpusAudioDecoder::Create(48000, 1);
  ASSERT_TRUE(decoder);
  std::vector<int16_t> pcm(5760);
  for (size_t i = 0; i < sent.size(); ++i) {
    const auto packet = Parse(sent[i].bytes);
    EXPECT_EQ(packet.ssrc(), 0xCAFEu);
    EXPECT_EQ(packet.payload_type(), 111);
    EXPECT_EQ(packet.marker(), i == 0);  // start of the talkspurt only
    auto samples = (*decoder)->Decode(packet.payload(), pcm);
    ASSERT_TRUE(samples) << samples.error().message;
    EXPECT_EQ(*samples, 960);
  }
}

TEST(MediaSenderTest, SequenceAndTimestampContinueAcrossLoopsAndWrap) {
  SimulatedClock clock;
  // 110 ms: 5.5 frames of 20 ms, so the loop seam falls inside a frame.
  auto sender = MakeSender(
      ToneAudio(0.110),
      {.ssrc = 7, .first_sequence = 65533, .first_timestamp = 0xFFFFFC00u, .loop = true});
  sender->Start(clock.Now());
  const auto sent = DrainFor(*sender, clock, milliseconds(600));
  ASSERT_EQ(sent.size(), 30u);
  EXPECT_FALSE(sender->finished());
  for (size_t i = 0; i < sent.size(); ++i) {
    const auto packet = Parse(sent[i].bytes);
    EXPECT_EQ(packet.sequence_number(), static_cast<uint16_t>(65533 + i)) << i;
    EXPECT_EQ(packet.timestamp(), static_cast<uint32_t>(0xFFFFFC00u + 960 * i)) << i;
  }
  // 30 frames x 20 ms = 600 ms of a 110 ms file: it restarted 5 times.
  EXPECT_EQ(sender->stats().loops, 5u);
}

TEST(MediaSenderTest, SentOnceItEndsAfterThePaddedLastFrame) {
  SimulatedClock clock;
  auto sender = MakeSender(ToneAudio(0.110), {.ssrc = 7});
  sender->Start(clock.Now());
  const auto sent = DrainFor(*sender, clock, milliseconds(1000));
  EXPECT_EQ(sent.size(), 6u);  // 5.5 frames, the last padded with silence
  EXPECT_TRUE(sender->finished());
  EXPECT_EQ(sender->PacketsDue(clock.Now() + milliseconds(5000)), 0);
  EXPECT_FALSE(sender->next_due());
  std::array<uint8_t, kMaxRtpPacketBytes> buffer{};
  EXPECT_THROW((void)sender->NextPacket(buffer), std::logic_error);
}

TEST(MediaSenderTest, ALateCallerGetsABoundedBurstAndTheTimelineIsKept) {
  auto receiver = net::UdpSocket::Bind(net::SocketAddress::Loopback(false, 0));
  auto socket = net::UdpSocket::Bind(net::SocketAddress::Loopback(false, 0));
  ASSERT_TRUE(receiver && socket);
  SimulatedClock clock;
  auto sender =
      MakeSender(ToneAudio(3.0),
                 {.ssrc = 9, .first_sequence = 100, .first_timestamp = 0, .max_burst_packets = 10});
  sender->Start(clock.Now());
  clock.Advance(milliseconds(1000));  // 51 packets due (0, 20, ..., 1000 ms)
  auto sent = sender->SendDue(clock.Now(), *socket, receiver->local_address());
  ASSERT_TRUE(sent) << sent.error().message;
  EXPECT_EQ(*sent, 10);
  EXPECT_EQ(sender->stats().packets_skipped, 41u);
  EXPECT_EQ(sender->stats().packets_sent, 10u);

  net::Poller poller;
  poller.Add(receiver->fd());
  std::array<uint8_t, 2048> buffer{};
  std::vector<rtp::RtpPacketView> got;
  std::vector<std::vector<uint8_t>> storage;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (storage.size() < 10 && std::chrono::steady_clock::now() < deadline) {
    auto datagram = receiver->ReceiveFrom(buffer);
    ASSERT_TRUE(datagram);
    if (*datagram) {
      storage.emplace_back(buffer.begin(),
                           buffer.begin() + static_cast<ptrdiff_t>((*datagram)->size));
    } else {
      ASSERT_TRUE(poller.Wait(milliseconds(100)));
    }
  }
  ASSERT_EQ(storage.size(), 10u);
  for (size_t i = 0; i < storage.size(); ++i) {
    const auto packet = Parse(storage[i]);
    // Sequence numbers stay contiguous (nothing was sent in between); timestamps jumped
    // over the skipped 41 frames, as a live source's would.
    EXPECT_EQ(packet.sequence_number(), 100 + i);
    EXPECT_EQ(packet.timestamp(), 960u * (41 + i));
  }
  EXPECT_EQ(sender->PacketsDue(clock.Now()), 0);
}

// Reads `count` datagrams from `socket` (2 s at most).
std::vector<std::vector<uint8_t>> Receive(net::UdpSocket& socket, size_t count) {
  net::Poller poller;
  poller.Add(socket.fd());
  std::array<uint8_t, 2048> buffer{};
  std::vector<std::vector<uint8_t>> got;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (got.size() < count && std::chrono::steady_clock::now() < deadline) {
    auto datagram = socket.ReceiveFrom(buffer);
    if (!datagram) break;
    if (*datagram) {
      got.emplace_back(buffer.begin(), buffer.begin() + static_cast<ptrdiff_t>((*datagram)->size));
    } else if (!poller.Wait(milliseconds(100))) {
      break;
    }
  }
  return got;
}

TEST(MediaSenderTest, WithSrtpEveryPacketLeavesProtectedAndOpensToThePlainOne) {
  auto receiver = net::UdpSocket::Bind(net::SocketAddress::Loopback(false, 0));
  auto socket = net::UdpSocket::Bind(net::SocketAddress::Loopback(false, 0));
  ASSERT_TRUE(receiver && socket);
  std::vector<uint8_t> key_then_salt(30);
  for (size_t i = 0; i < key_then_salt.size(); ++i) key_then_salt[i] = static_cast<uint8_t>(3 * i);
  const Result<rtp::SrtpKeyMaterial> key =
      rtp::MakeSrtpKeyMaterial("AES_CM_128_HMAC_SHA1_80", key_then_salt);
  ASSERT_TRUE(key.ok());
  Result<rtp::SrtpOutboundSession> out = rtp::SrtpOutboundSession::Create(*key);
  Result<rtp::SrtpInboundSession> in = rtp::SrtpInboundSession::Create(*key);
  ASSERT_TRUE(out.ok() && in.ok());

  // Two senders of the same stream: one writes plain RTP, the other sends SRTP.
  const MediaSenderConfig config{.ssrc = 0x5EC, .first_sequence = 65530, .first_timestamp = 7};
  auto plain = MakeSender(ToneAudio(1.0), config);
  auto secure = MakeSender(ToneAudio(1.0), config);
  SimulatedClock clock;
  const Clock::TimePoint start = clock.Now();
  plain->Start(start);
  secure->Start(start);
  const std::vector<Sent> expected = DrainFor(*plain, clock, milliseconds(200));
  ASSERT_EQ(expected.size(), 10u);  // due at 0, 20, ..., 180 ms, across the sequence wrap
  auto sent = secure->SendDue(start + milliseconds(180), *socket, receiver->local_address(),
                              nullptr, &*out);
  ASSERT_TRUE(sent) << sent.error().message;
  ASSERT_EQ(*sent, 10);

  const std::vector<std::vector<uint8_t>> wire = Receive(*receiver, 10);
  ASSERT_EQ(wire.size(), 10u);
  size_t bytes = 0;
  for (size_t i = 0; i < wire.size(); ++i) {
    SCOPED_TRACE(i);
    // 10 bytes of HMAC-SHA1-80 tag; the header stays readable, the payload does not.
    ASSERT_EQ(wire[i].size(), expected[i].bytes.size() + 10);
    EXPECT_TRUE(std::equal(wire[i].begin(), wire[i].begin() + 12, expected[i].bytes.begin()));
    EXPECT_FALSE(
        std::equal(expected[i].bytes.begin() + 12, expected[i].bytes.end(), wire[i].begin() + 12));
    std::vector<uint8_t> opened = wire[i];
    Result<size_t> length = in->UnprotectRtp(opened);
    ASSERT_TRUE(length.ok()) << length.error().message;
    opened.resize(*length);
    EXPECT_EQ(opened, expected[i].bytes);
    bytes += wire[i].size();
  }
  EXPECT_EQ(secure->stats().bytes_sent, bytes);
  EXPECT_EQ(secure->stats().protect_failures, 0u);
  EXPECT_EQ(out->stats().rtp_packets, 10u);
}

TEST(MediaSenderTest, PacketsTheSocketTookAreCountedInTheRtcpSendersReport) {
  auto receiver = net::UdpSocket::Bind(net::SocketAddress::Loopback(false, 0));
  auto socket = net::UdpSocket::Bind(net::SocketAddress::Loopback(false, 0));
  ASSERT_TRUE(receiver && socket);
  SimulatedClock clock;
  auto sender = MakeSender(ToneAudio(3.0), {.ssrc = 9, .first_timestamp = 1000});
  RtcpSession rtcp(clock, {.ssrc = 9, .clock_rate_hz = sender->rtp_clock_rate_hz(), .cname = "s"});
  EXPECT_EQ(sender->rtp_clock_rate_hz(), 48000);
  sender->Start(clock.Now());
  rtcp.Start(clock.Now());
  for (int i = 0; i < 10; ++i) {
    auto sent = sender->SendDue(clock.Now(), *socket, receiver->local_address(), &rtcp);
    ASSERT_TRUE(sent) << sent.error().message;
    clock.Advance(milliseconds(20));
  }
  clock.Advance(milliseconds(800));  // past the first report's latest time (0.75 s)
  const auto report = rtcp.ReportDue(clock.Now());
  auto compound = rtp::ParseRtcpCompound(report);
  ASSERT_TRUE(compound) << compound.error().message;
  const auto& sr = std::get<rtp::SenderReport>(compound->packets[0]);
  EXPECT_EQ(sr.ssrc, 9u);
  EXPECT_EQ(sr.sender_info.packet_count, 10u);
  // Payload octets: the RTP bytes less a 12-byte header each.
  EXPECT_EQ(sr.sender_info.octet_count, sender->stats().bytes_sent - 10 * 12);
  // The last packet (timestamp 1000 + 9 x 960) left at 180 ms; the SR is 800 ms + 20 ms later.
  EXPECT_EQ(sr.sender_info.rtp_timestamp, 1000u + 9 * 960 + 820 * 48);
}

TEST(MediaSenderTest, DegradedProfileCarriesThePreviousFrameInRed) {
  SimulatedClock clock;
  auto sender = MakeSender(ToneAudio(1.0), {.profile = "degraded", .ssrc = 3});
  sender->Start(clock.Now());
  const auto sent = DrainFor(*sender, clock, milliseconds(200));  // 40 ms frames
  ASSERT_EQ(sent.size(), 5u);
  std::vector<std::vector<uint8_t>> primaries;
  for (size_t i = 0; i < sent.size(); ++i) {
    const auto packet = Parse(sent[i].bytes);
    EXPECT_EQ(packet.payload_type(), 63);
    std::array<rtp::RedBlock, 4> blocks;
    auto count = rtp::ParseRedPayload(packet.payload(), packet.timestamp(), blocks);
    ASSERT_TRUE(count) << count.error().message;
    ASSERT_EQ(*count, i == 0 ? 1u : 2u) << i;
    const rtp::RedBlock& primary = blocks[*count - 1];
    EXPECT_EQ(primary.payload_type, 111);
    if (i > 0) {
      // The redundant block is the previous packet's primary, 40 ms (1920 ticks) earlier.
      EXPECT_EQ(std::vector<uint8_t>(blocks[0].data.begin(), blocks[0].data.end()),
                primaries.back());
      EXPECT_EQ(packet.timestamp() - blocks[0].rtp_timestamp, 1920u);
    }
    primaries.emplace_back(primary.data.begin(), primary.data.end());
  }
}

class MediaSenderFileTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) {
    return ::testing::TempDir() + "/media_sender_test_" + name;
  }
};

TEST_F(MediaSenderFileTest, OggOpusPacketsAreSentAsTheyAre) {
  const std::string path = Path("tone.opus");
  {
    auto writer = container::OggOpusPcmWriter::Open(path, 1, 48000, {.bitrate_bps = 32000});
    ASSERT_TRUE(writer) << writer.error().message;
    ASSERT_TRUE((*writer)->Write(testing::Tone(440.0, 48000, 0.5)));
    ASSERT_TRUE((*writer)->Close());
  }
  std::vector<std::vector<uint8_t>> expected;
  {
    auto reader = container::OggOpusReader::Open(path);
    ASSERT_TRUE(reader);
    for (;;) {
      auto packet = (*reader)->ReadPacket();
      ASSERT_TRUE(packet);
      if (!*packet) break;
      expected.emplace_back((*packet)->data.begin(), (*packet)->data.end());
    }
  }
  // 500 ms of audio plus the encoder's 6.5 ms pre-skip: 26 packets of 20 ms.
  ASSERT_EQ(expected.size(), 26u);

  auto sender =
      MediaSender::OpenFile(path, {.profile = "critical", .ssrc = 5, .first_timestamp = 10});
  ASSERT_TRUE(sender) << sender.error().message;
  EXPECT_EQ((*sender)->file_duration(), milliseconds(520));
  SimulatedClock clock;
  (*sender)->Start(clock.Now());
  const auto sent = DrainFor(**sender, clock, milliseconds(1000));
  ASSERT_EQ(sent.size(), expected.size());  // the profile does not apply: no re-encoding
  for (size_t i = 0; i < sent.size(); ++i) {
    const auto packet = Parse(sent[i].bytes);
    EXPECT_EQ(std::vector<uint8_t>(packet.payload().begin(), packet.payload().end()), expected[i]);
    EXPECT_EQ(packet.timestamp(), 10u + 960u * i);
    EXPECT_EQ(packet.payload_type(), 111);
  }
  EXPECT_TRUE((*sender)->finished());
}

TEST_F(MediaSenderFileTest, WavAtAnyRateIsResampledToTheProfile) {
  const std::string path = Path("tone44k.wav");
  ASSERT_TRUE(audio::WriteWavFile(path, ToneAudio(1.0, 44100)));
  auto sender = MediaSender::OpenFile(path, {.ssrc = 5});
  ASSERT_TRUE(sender) << sender.error().message;
  EXPECT_EQ((*sender)->file_duration(), milliseconds(1000));
  SimulatedClock clock;
  (*sender)->Start(clock.Now());
  EXPECT_EQ(DrainFor(**sender, clock, milliseconds(2000)).size(), 50u);
}

TEST_F(MediaSenderFileTest, BadInputIsAnErrorNamingIt) {
  auto missing = MediaSender::OpenFile(Path("does_not_exist.wav"), {});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("does_not_exist.wav"), std::string::npos);

  auto profile = MediaSender::FromAudio(ToneAudio(0.1), {.profile = "ultra"});
  ASSERT_FALSE(profile);
  EXPECT_NE(profile.error().message.find("ultra"), std::string::npos);

  auto payload_type = MediaSender::FromAudio(ToneAudio(0.1), {.payload_type = 50});
  ASSERT_FALSE(payload_type);
  EXPECT_NE(payload_type.error().message.find("payload_type 50"), std::string::npos);

  auto empty = MediaSender::FromAudio(audio::AudioFrame({16000, 1}, std::vector<int16_t>{}), {});
  EXPECT_FALSE(empty);
}

}  // namespace
}  // namespace parley::client
