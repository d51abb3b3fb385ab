#include "parley/codec/gsm_codec.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <vector>

#include "parley/audio/similarity.h"
#include "parley/codec/codec_test_util.h"
#include "parley/codec/registry.h"
#include "parley/testing/speech.h"

namespace parley::codec {
namespace {

constexpr int kRateHz = 8000;
constexpr int kMaxLagSamples = 160;
// RPE-LTP keeps the waveform fairly well (measured on the test speech: correlation 0.97,
// SNR 12 dB); no look-ahead, so no delay.
constexpr double kMinSpeechCorrelation = 0.9;
constexpr double kMinSpeechSnrDb = 8.0;

std::unique_ptr<AudioEncoder> MakeEncoder(int frame_ms = 20) {
  return test::MakeEncoder(CreateGsmEncoder, {.frame_ms = frame_ms});
}

std::unique_ptr<AudioDecoder> MakeDecoder() { return test::MakeDecoder(CreateGsmDecoder); }

TEST(GsmTest, SpeechRoundTrip) {
  for (int index = 0; index < testing::SpeechCount(); ++index) {
    const std::vector<int16_t> speech = testing::Speech(kRateHz, index);
    auto encoder = MakeEncoder(40);
    auto decoder = MakeDecoder();
    EXPECT_EQ(encoder->info().static_payload_type, 3);
    test::RoundTrip rt = test::EncodeDecode(*encoder, *decoder, speech);
    ASSERT_EQ(rt.decoded.size(), speech.size() / 320 * 320);
    for (size_t bytes : rt.payload_bytes) EXPECT_EQ(bytes, 66u);
    const audio::Similarity s = audio::CompareAligned(std::span(speech).first(rt.decoded.size()),
                                                      rt.decoded, kRateHz, kMaxLagSamples);
    std::printf("[ GSM ] speech %d: lag %d, correlation %.3f, SNR %.1f dB, segSNR %.1f dB\n", index,
                s.lag_samples, s.correlation, s.snr_db, s.segmental_snr_db);
    EXPECT_GT(s.correlation, kMinSpeechCorrelation) << "speech " << index;
    EXPECT_GT(s.snr_db, kMinSpeechSnrDb) << "speech " << index;
    EXPECT_EQ(s.lag_samples, 0) << "speech " << index;
  }
}

TEST(GsmTest, ThirtyThreeBytesPerTwentyMilliseconds) {
  auto encoder = MakeEncoder();
  for (int frame_ms = 20; frame_ms <= 120; frame_ms += 20) {
    ASSERT_TRUE(encoder->SetFrameMs(frame_ms).ok());
    EXPECT_EQ(encoder->max_payload_bytes(), size_t(frame_ms / 20 * 33));
    std::vector<int16_t> pcm(size_t(encoder->frame_samples()), 100);
    std::vector<uint8_t> out(encoder->max_payload_bytes());
    EXPECT_EQ(*encoder->Encode(pcm, out), size_t(frame_ms / 20 * 33));
    for (size_t f = 0; f < out.size(); f += 33) EXPECT_EQ(out[f] >> 4, 0xD);
  }
  EXPECT_FALSE(encoder->SetFrameMs(30).ok());
  EXPECT_FALSE(encoder->SetFrameMs(10).ok());
}

TEST(GsmTest, DecoderRejectsMalformedPayloads) {
  auto decoder = MakeDecoder();
  std::vector<int16_t> out(320);
  Result<int> r = decoder->PacketSamples(std::vector<uint8_t>(34));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("payload 34 bytes is not a multiple of the 33-byte frame"),
            std::string::npos)
      << r.error().message;
  std::vector<uint8_t> two(66, 0xD0);
  EXPECT_EQ(*decoder->PacketSamples(two), 320);
  EXPECT_EQ(*decoder->Decode(two, out), 320);
  two[33] = 0x20;
  r = decoder->Decode(two, out);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("offset 33"), std::string::npos) << r.error().message;
  EXPECT_FALSE(decoder->PacketSamples({}).ok());
  EXPECT_FALSE(decoder->has_plc());
}

TEST(GsmTest, GarbageWithTheSignatureDecodesWithoutHarm) {
  auto decoder = MakeDecoder();
  std::mt19937 rng(5);
  std::vector<int16_t> out(480);
  for (int i = 0; i < 200; ++i) {
    std::vector<uint8_t> payload(33 * (1 + rng() % 3));
    for (uint8_t& b : payload) b = static_cast<uint8_t>(rng());
    for (size_t f = 0; f < payload.size(); f += 33) payload[f] = (payload[f] & 0x0F) | 0xD0;
    ASSERT_TRUE(decoder->Decode(payload, out).ok());
  }
  decoder->Reset();
}

TEST(GsmTest, RejectsBadConfig) {
  EncoderConfig config;
  config.bitrate_bps = 13000;
  auto bad = CreateGsmEncoder(config);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("bitrate_bps 13000 not supported (0 or 13200"),
            std::string::npos);
  config = {};
  config.frame_ms = 10;
  bad = CreateGsmEncoder(config);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("20..120 in steps of 20"), std::string::npos)
      << bad.error().message;
  config = {};
  config.channels = 2;
  EXPECT_FALSE(CreateGsmEncoder(config).ok());
}

}  // namespace
}  // namespace parley::codec
