#include "parley/codec/decoder_bank.h"

#include <gtest/gtest.h>

#include <vector>

#include "parley/audio/resampler.h"
#include "parley/audio/similarity.h"
#include "parley/codec/registry.h"
#include "parley/testing/signals.h"
#include "parley/testing/speech.h"

namespace parley::codec {
namespace {

constexpr int kOutRate = 48000;

std::vector<uint8_t> EncodePacket(AudioEncoder& encoder, std::span<const int16_t> pcm) {
  std::vector<uint8_t> payload(encoder.max_payload_bytes());
  auto size = encoder.Encode(pcm, payload);
  EXPECT_TRUE(size.ok()) << size.error().message;
  payload.resize(*size);
  return payload;
}

std::unique_ptr<AudioEncoder> Encoder(CodecId id, int sample_rate_hz = 0) {
  EncoderConfig config;
  config.sample_rate_hz = sample_rate_hz;
  auto encoder = CreateEncoder(GetCodecInfo(id), config);
  EXPECT_TRUE(encoder.ok()) << encoder.error().message;
  return std::move(encoder).value();
}

// A sender switches codec every half second (PCMU -> Opus -> G.722 -> Opus ...); the
// bank follows each packet's payload type and the listener hears every stretch of speech
// at 48 kHz, with nothing dropped at the switches.
TEST(DecoderBankTest, FollowsPayloadTypeSwitchesMidStream) {
  const std::vector<int16_t> speech = testing::Speech(kOutRate, 0);
  DecoderBank bank({kOutRate, 1});
  ASSERT_TRUE(bank.Map(111, {&GetCodecInfo(CodecId::kOpus), 0, 1, 0}).ok());

  struct Leg {
    CodecId id;
    int payload_type;
  };
  const std::vector<Leg> legs = {{CodecId::kPcmu, 0}, {CodecId::kOpus, 111}, {CodecId::kG722, 9}};
  std::vector<std::unique_ptr<AudioEncoder>> encoders;
  std::vector<std::vector<int16_t>> inputs;  // the speech at each encoder's rate
  for (const Leg& leg : legs) {
    encoders.push_back(Encoder(leg.id));
    const audio::AudioFrame resampled = audio::Resample(audio::AudioFrame({kOutRate, 1}, speech),
                                                        encoders.back()->sample_rate_hz());
    inputs.emplace_back(resampled.samples().begin(), resampled.samples().end());
  }

  constexpr size_t kPacketsPerLeg = 25;
  const size_t packet_48k = kOutRate / 50;
  const size_t packets = speech.size() / packet_48k;
  std::vector<int16_t> heard;
  std::vector<size_t> leg_starts;  // where each leg's audio starts in `heard`
  std::vector<int16_t> out(packet_48k + DecoderBank::kResamplerSlack);
  int64_t expected_switches = 0;
  for (size_t p = 0; p < packets; ++p) {
    const size_t leg = (p / kPacketsPerLeg) % legs.size();
    if (p % kPacketsPerLeg == 0) {
      leg_starts.push_back(heard.size());
      if (p > 0) ++expected_switches;
    }
    AudioEncoder& encoder = *encoders[leg];
    const size_t frame = static_cast<size_t>(encoder.frame_samples());
    const auto payload = EncodePacket(encoder, std::span(inputs[leg]).subspan(p * frame, frame));
    auto samples = bank.Decode(legs[leg].payload_type, payload, out);
    ASSERT_TRUE(samples.ok()) << samples.error().message;
    heard.insert(heard.end(), out.begin(), out.begin() + *samples);
  }
  leg_starts.push_back(heard.size());
  EXPECT_EQ(bank.switches(), expected_switches);
  EXPECT_EQ(bank.current_payload_type(),
            legs[((packets - 1) / kPacketsPerLeg) % legs.size()].payload_type);
  // Nothing is lost across switches: the output is as long as the input, within the
  // resampler fill at each switch into an 8 or 16 kHz codec.
  EXPECT_NEAR(static_cast<double>(heard.size()), static_cast<double>(packets * packet_48k),
              static_cast<double>(expected_switches * DecoderBank::kResamplerSlack));
  // Every stretch is the speech that was sent in it (voiced stretches only: a silent
  // reference has no correlation to speak of).
  for (size_t i = 0; i + 1 < leg_starts.size(); ++i) {
    const size_t begin = i * kPacketsPerLeg * packet_48k;
    const size_t length = std::min(leg_starts[i + 1] - leg_starts[i], speech.size() - begin);
    const auto reference = std::span(speech).subspan(begin, length);
    if (testing::RmsDbfs(reference) < -40) continue;
    const auto degraded = std::span(heard).subspan(leg_starts[i], length);
    const audio::Similarity sim = audio::CompareAligned(reference, degraded, kOutRate, 960);
    EXPECT_GT(sim.correlation, 0.8)
        << "stretch " << i << " (" << GetCodecInfo(legs[i % legs.size()].id).name << ")";
  }
}

TEST(DecoderBankTest, UnknownPayloadTypeIsRefusedAndCounted) {
  DecoderBank bank({kOutRate, 1});
  std::vector<int16_t> out(4096);
  const std::vector<uint8_t> payload(160, 0xff);
  auto result = bank.Decode(96, payload, out);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("96"), std::string::npos);
  EXPECT_EQ(bank.unknown_payload_type_packets(), 1);
  EXPECT_FALSE(bank.Decode(200, payload, out).ok());
  EXPECT_EQ(bank.unknown_payload_type_packets(), 2);
  // The stream goes on with a known payload type.
  EXPECT_TRUE(bank.Decode(0, payload, out).ok());
}

TEST(DecoderBankTest, MalformedPayloadIsCountedAndTheStreamContinues) {
  DecoderBank bank({kOutRate, 1});
  ASSERT_TRUE(bank.Map(111, {&GetCodecInfo(CodecId::kOpus), 0, 1, 0}).ok());
  std::vector<int16_t> out(kMaxPacketSamples48k + DecoderBank::kResamplerSlack);
  EXPECT_FALSE(bank.Decode(111, std::vector<uint8_t>{0x03, 0x00}, out).ok());
  EXPECT_EQ(bank.malformed_packets(), 1);
  auto encoder = Encoder(CodecId::kOpus);
  const auto payload = EncodePacket(*encoder, testing::Tone(440, kOutRate, 0.02));
  auto samples = bank.Decode(111, payload, out);
  ASSERT_TRUE(samples.ok());
  EXPECT_EQ(*samples, 960);
}

TEST(DecoderBankTest, StaticPayloadTypesAreKnownAndDynamicOnesMapped) {
  DecoderBank bank({16000, 1});
  ASSERT_NE(bank.Find(0), nullptr);
  EXPECT_EQ(bank.Find(0)->codec->id, CodecId::kPcmu);
  EXPECT_EQ(bank.Find(8)->codec->id, CodecId::kPcma);
  EXPECT_EQ(bank.Find(9)->codec->id, CodecId::kG722);
  EXPECT_EQ(bank.Find(96), nullptr);
  EXPECT_FALSE(bank.Map(128, {&GetCodecInfo(CodecId::kOpus), 0, 1, 0}).ok());
  ASSERT_TRUE(bank.Map(96, {&GetCodecInfo(CodecId::kL16), 16000, 1, 0}).ok());
  // L16 at the output rate passes through exactly.
  const std::vector<int16_t> tone = testing::Tone(1000, 16000, 0.02);
  auto encoder = Encoder(CodecId::kL16, 16000);
  const auto payload = EncodePacket(*encoder, tone);
  std::vector<int16_t> out(320 + DecoderBank::kResamplerSlack);
  auto samples = bank.Decode(96, payload, out);
  ASSERT_TRUE(samples.ok()) << samples.error().message;
  ASSERT_EQ(*samples, 320);
  EXPECT_TRUE(std::equal(tone.begin(), tone.end(), out.begin()));
}

}  // namespace
}  // namespace parley::codec
