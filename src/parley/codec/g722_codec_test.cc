#include "parley/codec/g722_codec.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <vector>

#include "parley/audio/similarity.h"
#include "parley/codec/codec_test_util.h"
#include "parley/codec/registry.h"
#include "parley/testing/signals.h"
#include "parley/testing/speech.h"

namespace parley::codec {
namespace {

constexpr int kRateHz = 16000;
// The QMF analysis and synthesis filters (24 taps each) delay the output by 22 samples.
constexpr int kDelaySamples = 22;
constexpr int kMaxLagSamples = 160;

// Thresholds for the 64 kbit/s mode. Measured: tone correlation 0.9998, SNR 35 dB;
// the three test phrases correlation 0.998..0.999, SNR 24..29 dB.
constexpr double kMinToneCorrelation = 0.999;
constexpr double kMinToneSnrDb = 30.0;
constexpr double kMinSpeechCorrelation = 0.995;
constexpr double kMinSpeechSnrDb = 20.0;

std::unique_ptr<AudioEncoder> MakeEncoder(int frame_ms = 20) {
  return test::MakeEncoder(CreateG722Encoder, {.frame_ms = frame_ms});
}

std::unique_ptr<AudioDecoder> MakeDecoder() { return test::MakeDecoder(CreateG722Decoder); }

TEST(G722Test, SixteenKilohertzAudioOnAnEightKilohertzClock) {
  auto encoder = MakeEncoder();
  EXPECT_EQ(encoder->sample_rate_hz(), 16000);
  EXPECT_EQ(encoder->info().rtp_clock_rate_hz, 8000);
  EXPECT_EQ(encoder->info().static_payload_type, 9);
  EXPECT_EQ(encoder->bitrate_bps(), 64000);
  for (int frame_ms = 10; frame_ms <= 120; frame_ms += 10) {
    ASSERT_TRUE(encoder->SetFrameMs(frame_ms).ok());
    EXPECT_EQ(encoder->frame_samples(), frame_ms * 16);
    std::vector<int16_t> pcm(static_cast<size_t>(encoder->frame_samples()));
    std::vector<uint8_t> out(encoder->max_payload_bytes());
    Result<size_t> bytes = encoder->Encode(pcm, out);
    ASSERT_TRUE(bytes.ok());
    EXPECT_EQ(*bytes, size_t(frame_ms * 8)) << frame_ms << " ms";
    EXPECT_EQ(*MakeDecoder()->PacketSamples(std::span(out).first(*bytes)), frame_ms * 16);
  }
}

TEST(G722Test, ToneRoundTrip) {
  const std::vector<int16_t> tone = testing::Tone(1000, kRateHz, 1.0, 0.5);
  auto encoder = MakeEncoder();
  auto decoder = MakeDecoder();
  test::RoundTrip rt = test::EncodeDecode(*encoder, *decoder, tone);
  ASSERT_EQ(rt.decoded.size(), tone.size());
  const audio::Similarity s = audio::CompareAligned(tone, rt.decoded, kRateHz, kMaxLagSamples);
  std::printf("[ G.722 ] 1 kHz tone: lag %d, correlation %.5f, SNR %.1f dB\n", s.lag_samples,
              s.correlation, s.snr_db);
  EXPECT_GT(s.correlation, kMinToneCorrelation);
  EXPECT_GT(s.snr_db, kMinToneSnrDb);
  EXPECT_EQ(s.lag_samples, kDelaySamples);
}

TEST(G722Test, SpeechRoundTrip) {
  for (int index = 0; index < testing::SpeechCount(); ++index) {
    const std::vector<int16_t> speech = testing::Speech(kRateHz, index);
    auto encoder = MakeEncoder();
    auto decoder = MakeDecoder();
    test::RoundTrip rt = test::EncodeDecode(*encoder, *decoder, speech);
    ASSERT_EQ(rt.decoded.size(), speech.size() / 320 * 320);
    const audio::Similarity s = audio::CompareAligned(std::span(speech).first(rt.decoded.size()),
                                                      rt.decoded, kRateHz, kMaxLagSamples);
    std::printf("[ G.722 ] speech %d: lag %d, correlation %.4f, SNR %.1f dB, segSNR %.1f dB\n",
                index, s.lag_samples, s.correlation, s.snr_db, s.segmental_snr_db);
    EXPECT_GT(s.correlation, kMinSpeechCorrelation) << "speech " << index;
    EXPECT_GT(s.snr_db, kMinSpeechSnrDb) << "speech " << index;
    EXPECT_EQ(s.lag_samples, kDelaySamples) << "speech " << index;
  }
}

TEST(G722Test, ResetRestartsTheDecoder) {
  const std::vector<int16_t> tone = testing::Tone(440, kRateHz, 0.02, 0.3);
  auto encoder = MakeEncoder();
  std::vector<uint8_t> payload(encoder->max_payload_bytes());
  ASSERT_TRUE(encoder->Encode(tone, payload).ok());
  auto decoder = MakeDecoder();
  std::vector<int16_t> first(320), again(320);
  ASSERT_TRUE(decoder->Decode(payload, first).ok());
  decoder->Reset();
  ASSERT_TRUE(decoder->Decode(payload, again).ok());
  EXPECT_EQ(first, again);
}

TEST(G722Test, RejectsBadConfigAndBuffers) {
  EncoderConfig config;
  config.sample_rate_hz = 8000;
  auto bad = CreateG722Encoder(config);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("sample_rate_hz 8000 not supported (0 or 16000)"),
            std::string::npos)
      << bad.error().message;
  config = {};
  config.bitrate_bps = 48000;  // spandsp has 48/56 kbit/s modes, RTP's G722 is 64 only
  EXPECT_FALSE(CreateG722Encoder(config).ok());
  config = {};
  config.frame_ms = 130;
  EXPECT_FALSE(CreateG722Encoder(config).ok());

  auto decoder = MakeDecoder();
  EXPECT_FALSE(decoder->PacketSamples({}).ok());
  const std::vector<uint8_t> payload(7, 0x55);
  EXPECT_EQ(*decoder->PacketSamples(payload), 14);
  std::vector<int16_t> out(13);
  EXPECT_FALSE(decoder->Decode(payload, out).ok());
  out.resize(14);
  EXPECT_EQ(*decoder->Decode(payload, out), 14);
  EXPECT_FALSE(decoder->has_plc());
}

}  // namespace
}  // namespace parley::codec
