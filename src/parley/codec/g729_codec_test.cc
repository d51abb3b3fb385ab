#include "parley/codec/g729_codec.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <vector>

#include "parley/audio/similarity.h"
#include "parley/codec/codec_test_util.h"
#include "parley/codec/registry.h"
#include "parley/testing/signals.h"
#include "parley/testing/speech.h"

namespace parley::codec {
namespace {

constexpr int kRateHz = 8000;
constexpr int kMaxLagSamples = 160;
// The encoder's 5 ms look-ahead.
constexpr int kDelaySamples = 40;
// CELP matches the waveform only roughly (measured on the test speech: correlation
// 0.84, SNR 5 dB); these catch a broken codec, not a slightly worse one.
constexpr double kMinSpeechCorrelation = 0.75;
constexpr double kMinSpeechSnrDb = 3.0;

std::unique_ptr<AudioEncoder> MakeEncoder(int frame_ms = 20, bool dtx = false) {
  return test::MakeEncoder(CreateG729Encoder, {.frame_ms = frame_ms, .dtx = dtx});
}

std::unique_ptr<AudioDecoder> MakeDecoder() { return test::MakeDecoder(CreateG729Decoder); }

TEST(G729Test, TenBytesPerTenMilliseconds) {
  auto encoder = MakeEncoder();
  EXPECT_EQ(encoder->info().static_payload_type, 18);
  const std::vector<int16_t> tone = testing::Tone(300, kRateHz, 0.12, 0.3);
  for (int frame_ms = 10; frame_ms <= 120; frame_ms += 10) {
    ASSERT_TRUE(encoder->SetFrameMs(frame_ms).ok());
    std::vector<uint8_t> out(encoder->max_payload_bytes());
    Result<size_t> bytes =
        encoder->Encode(std::span(tone).first(size_t(encoder->frame_samples())), out);
    ASSERT_TRUE(bytes.ok());
    EXPECT_EQ(*bytes, size_t(frame_ms)) << frame_ms << " ms";
  }
}

TEST(G729Test, SpeechRoundTrip) {
  for (int index = 0; index < testing::SpeechCount(); ++index) {
    const std::vector<int16_t> speech = testing::Speech(kRateHz, index);
    auto encoder = MakeEncoder();
    auto decoder = MakeDecoder();
    test::RoundTrip rt = test::EncodeDecode(*encoder, *decoder, speech);
    ASSERT_EQ(rt.decoded.size(), speech.size() / 160 * 160);
    const audio::Similarity s = audio::CompareAligned(std::span(speech).first(rt.decoded.size()),
                                                      rt.decoded, kRateHz, kMaxLagSamples);
    std::printf("[ G.729 ] speech %d: lag %d, correlation %.3f, SNR %.1f dB, segSNR %.1f dB\n",
                index, s.lag_samples, s.correlation, s.snr_db, s.segmental_snr_db);
    EXPECT_GT(s.correlation, kMinSpeechCorrelation) << "speech " << index;
    EXPECT_GT(s.snr_db, kMinSpeechSnrDb) << "speech " << index;
    EXPECT_EQ(s.lag_samples, kDelaySamples) << "speech " << index;
  }
}

TEST(G729Test, ConcealmentAfterSpeechIsAudibleAndFades) {
  const std::vector<int16_t> speech = testing::Speech(kRateHz);
  size_t cut = 0;
  double loudest = -200;
  for (size_t offset = 1600; offset + 160 <= speech.size(); offset += 160) {
    const double level = testing::RmsDbfs(std::span(speech).subspan(offset, 160));
    if (level > loudest) loudest = level, cut = offset + 160;
  }
  auto encoder = MakeEncoder();
  auto decoder = MakeDecoder();
  ASSERT_TRUE(decoder->has_plc());
  test::RoundTrip rt = test::EncodeDecode(*encoder, *decoder, std::span(speech).first(cut));
  const double before = testing::RmsDbfs(std::span(rt.decoded).last(160));
  std::vector<double> levels;
  std::vector<int16_t> concealed(160);
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(*decoder->Conceal(160, concealed), 160);
    levels.push_back(testing::RmsDbfs(concealed));
  }
  std::printf("[ G.729 ] decoded %.1f dBFS before the loss; concealment per 20 ms:", before);
  for (double l : levels) std::printf(" %.1f", l);
  std::printf("\n");
  EXPECT_GT(levels[0], before - 12.0);
  EXPECT_LT(levels.back(), levels[0] - 10.0);
  // A partial frame, and decoding goes on afterwards.
  ASSERT_EQ(*decoder->Conceal(50, concealed), 50);
  std::vector<uint8_t> payload(20);
  ASSERT_TRUE(encoder->Encode(std::span(speech).subspan(cut, 160), payload).ok());
  EXPECT_EQ(*decoder->Decode(payload, concealed), 160);
  EXPECT_FALSE(decoder->Conceal(161, concealed).ok());
}

TEST(G729Test, DtxSendsSidOrNothingInSilence) {
  auto encoder = MakeEncoder(20, /*dtx=*/true);
  auto decoder = MakeDecoder();
  // Speech, then a second of faint noise: the VAD should stop sending full frames.
  std::vector<int16_t> pcm = testing::Speech(kRateHz);
  pcm.resize(pcm.size() / 160 * 160);
  std::mt19937 rng(1);
  std::normal_distribution<double> noise(0, 3.0);
  for (int i = 0; i < kRateHz; ++i) pcm.push_back(static_cast<int16_t>(noise(rng)));
  test::RoundTrip rt = test::EncodeDecode(*encoder, *decoder, pcm);
  int empty = 0, with_sid = 0, voice = 0;
  for (size_t bytes : rt.payload_bytes) {
    EXPECT_TRUE(bytes % 10 == 0 || bytes % 10 == 2) << bytes;
    if (bytes == 0) ++empty;
    if (bytes % 10 == 2) ++with_sid;
    if (bytes >= 10) ++voice;
  }
  std::printf("[ G.729 ] DTX: %d packets with voice, %d with a SID, %d empty of %zu\n", voice,
              with_sid, empty, rt.payload_bytes.size());
  EXPECT_GT(empty + with_sid, 25);  // most of the last 50 packets
  EXPECT_GT(voice, 0);
}

TEST(G729Test, PacketSamplesCountsVoiceAndSidFrames) {
  auto decoder = MakeDecoder();
  EXPECT_EQ(*decoder->PacketSamples(std::vector<uint8_t>(10)), 80);
  EXPECT_EQ(*decoder->PacketSamples(std::vector<uint8_t>(20)), 160);
  EXPECT_EQ(*decoder->PacketSamples(std::vector<uint8_t>(2)), 80);
  EXPECT_EQ(*decoder->PacketSamples(std::vector<uint8_t>(22)), 240);
  Result<int> r = decoder->PacketSamples(std::vector<uint8_t>(13));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("payload 13 bytes"), std::string::npos) << r.error().message;
  EXPECT_FALSE(decoder->PacketSamples(std::vector<uint8_t>(1)).ok());
  EXPECT_FALSE(decoder->PacketSamples({}).ok());
  std::vector<int16_t> out(159);
  EXPECT_FALSE(decoder->Decode(std::vector<uint8_t>(20), out).ok());
}

TEST(G729Test, GarbagePayloadsDecodeWithoutHarm) {
  auto decoder = MakeDecoder();
  std::mt19937 rng(3);
  std::vector<int16_t> out(960);
  for (int i = 0; i < 300; ++i) {
    std::vector<uint8_t> payload(size_t(rng() % 5) * 10 + (rng() % 2 ? 2 : 0));
    if (payload.empty()) continue;
    for (uint8_t& b : payload) b = static_cast<uint8_t>(rng());
    ASSERT_TRUE(decoder->Decode(payload, out).ok());
    if (i % 7 == 0) {
      ASSERT_TRUE(decoder->Conceal(80, out).ok());
    }
  }
  decoder->Reset();
}

TEST(G729Test, RejectsBadConfig) {
  EncoderConfig config;
  config.bitrate_bps = 6400;  // Annex D, not in bcg729
  auto bad = CreateG729Encoder(config);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("bitrate_bps 6400 not supported (0 or 8000"),
            std::string::npos)
      << bad.error().message;
  config = {};
  config.frame_ms = 15;
  EXPECT_FALSE(CreateG729Encoder(config).ok());
  config = {};
  config.sample_rate_hz = 16000;
  EXPECT_FALSE(CreateG729Encoder(config).ok());
}

}  // namespace
}  // namespace parley::codec
