#include "parley/codec/codec2_codec.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <vector>

#include "parley/codec/codec_test_util.h"
#include "parley/codec/registry.h"
#include "parley/testing/signals.h"
#include "parley/testing/speech.h"

namespace parley::codec {
namespace {

constexpr size_t kEnvelopeBlock = 160;  // 20 ms at 8 kHz
constexpr int kMaxEnvelopeLagBlocks = 5;
// A vocoder does not keep the waveform (sample correlation is near 0), so these tests
// compare the 20 ms energy envelope instead: syllables must come out where they went in.
// Measured on the three test phrases: 3200 0.96..0.98, 1300 0.95..0.96, 700C 0.91..0.93.
constexpr double kMinEnvelopeCorrelation = 0.9;
constexpr double kMinEnvelopeCorrelation700C = 0.8;
constexpr double kMaxLevelChangeDb = 6.0;

std::unique_ptr<AudioEncoder> MakeEncoder(int bitrate_bps, int frame_ms = 40) {
  return test::MakeEncoder(CreateCodec2Encoder, {.frame_ms = frame_ms, .bitrate_bps = bitrate_bps});
}

// Best envelope correlation over decoder delays of 0..kMaxEnvelopeLagBlocks blocks.
double EnvelopeSimilarity(std::span<const int16_t> reference, std::span<const int16_t> decoded) {
  const std::vector<double> ref = test::EnvelopeDbfs(reference, kEnvelopeBlock);
  const std::vector<double> dec = test::EnvelopeDbfs(decoded, kEnvelopeBlock);
  double best = -1;
  for (int lag = 0; lag <= kMaxEnvelopeLagBlocks; ++lag) {
    const size_t n = std::min(ref.size(), dec.size() - size_t(lag));
    best = std::max(
        best, test::Correlation(std::span(ref).first(n), std::span(dec).subspan(size_t(lag), n)));
  }
  return best;
}

TEST(Codec2Test, ModesMatchLibcodec2) {
  // Creating each mode checks libcodec2's samples and bytes per frame against the table.
  for (const Codec2Mode& mode : Codec2Modes()) {
    auto encoder = MakeEncoder(mode.bitrate_bps, 120);
    EXPECT_EQ(encoder->bitrate_bps(), mode.bitrate_bps);
    EXPECT_EQ(encoder->max_payload_bytes(), size_t(120 / mode.frame_ms * mode.frame_bytes));
    auto decoder = CreateCodec2DecoderForMode(mode.bitrate_bps);
    ASSERT_TRUE(decoder.ok()) << decoder.error().message;
    EXPECT_EQ(FindCodec2ModeByNumber(mode.mode), &mode);
    EXPECT_EQ(FindCodec2ModeByBitrate(mode.bitrate_bps), &mode);
  }
  EXPECT_EQ(FindCodec2ModeByBitrate(700)->name, "700C");
  EXPECT_EQ(FindCodec2ModeByBitrate(450), nullptr);
  EXPECT_EQ(FindCodec2ModeByNumber(6), nullptr);  // 700 (not 700C): not in libcodec2 1.0
}

void ExpectSpeechSurvives(int bitrate_bps, double min_envelope_correlation, int index) {
  const std::vector<int16_t> speech = testing::Speech(8000, index);
  auto encoder = MakeEncoder(bitrate_bps);
  auto decoder = CreateCodec2DecoderForMode(bitrate_bps);
  ASSERT_TRUE(decoder.ok());
  test::RoundTrip rt = test::EncodeDecode(*encoder, **decoder, speech);
  const size_t whole = speech.size() / 320 * 320;
  ASSERT_EQ(rt.decoded.size(), whole);
  const auto& mode = *FindCodec2ModeByBitrate(bitrate_bps);
  for (size_t bytes : rt.payload_bytes) {
    EXPECT_EQ(bytes, size_t(40 / mode.frame_ms * mode.frame_bytes));
  }
  const std::span<const int16_t> reference = std::span(speech).first(whole);
  const double envelope = EnvelopeSimilarity(reference, rt.decoded);
  const double level_in = testing::RmsDbfs(reference);
  const double level_out = testing::RmsDbfs(rt.decoded);
  std::printf("[ Codec2 %s ] speech %d: envelope correlation %.3f, level %.1f -> %.1f dBFS\n",
              std::string(mode.name).c_str(), index, envelope, level_in, level_out);
  EXPECT_GT(envelope, min_envelope_correlation);
  EXPECT_NEAR(level_out, level_in, kMaxLevelChangeDb);
}

void ExpectSpeechSurvives(int bitrate_bps, double min_envelope_correlation) {
  for (int index = 0; index < testing::SpeechCount(); ++index) {
    ExpectSpeechSurvives(bitrate_bps, min_envelope_correlation, index);
  }
}

TEST(Codec2Test, SpeechSurvives3200) { ExpectSpeechSurvives(3200, kMinEnvelopeCorrelation); }
TEST(Codec2Test, SpeechSurvives1300) { ExpectSpeechSurvives(1300, kMinEnvelopeCorrelation); }
TEST(Codec2Test, SpeechSurvives700C) { ExpectSpeechSurvives(700, kMinEnvelopeCorrelation700C); }

TEST(Codec2Test, SetBitrateSwitchesModeAndPayloadSize) {
  auto encoder = MakeEncoder(3200, 40);
  std::vector<int16_t> pcm = testing::Tone(200, 8000, 0.04, 0.3);
  std::vector<uint8_t> out(64);
  EXPECT_EQ(*encoder->Encode(pcm, out), 16u);  // 2 x 8 bytes
  ASSERT_TRUE(encoder->SetBitrate(1300).ok());
  EXPECT_EQ(encoder->bitrate_bps(), 1300);
  EXPECT_EQ(*encoder->Encode(pcm, out), 7u);  // 1 x 7 bytes
  ASSERT_TRUE(encoder->SetBitrate(700).ok());
  EXPECT_EQ(*encoder->Encode(pcm, out), 4u);
  ASSERT_TRUE(encoder->SetBitrate(0).ok());  // the default, 3200
  EXPECT_EQ(encoder->bitrate_bps(), 3200);

  // 20 ms packets cannot carry a 40 ms mode.
  ASSERT_TRUE(encoder->SetFrameMs(20).ok());
  Status s = encoder->SetBitrate(1200);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("frame_ms 20 not supported at 1200 bit/s"), std::string::npos)
      << s.error().message;
  EXPECT_EQ(encoder->bitrate_bps(), 3200);
  s = encoder->SetBitrate(2000);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("bitrate_bps 2000"), std::string::npos);
  EXPECT_FALSE(MakeEncoder(2400, 20)->SetFrameMs(30).ok());
}

TEST(Codec2Test, RejectsBadConfig) {
  EncoderConfig config;
  config.bitrate_bps = 1200;
  config.frame_ms = 60;
  auto bad = CreateCodec2Encoder(config);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("40..120 in steps of 40"), std::string::npos)
      << bad.error().message;
  config = {};
  config.sample_rate_hz = 16000;
  EXPECT_FALSE(CreateCodec2Encoder(config).ok());
  EXPECT_FALSE(CreateCodec2DecoderForMode(1000).ok());
  EXPECT_FALSE(CreateCodec2Decoder({16000, 1}).ok());
}

TEST(Codec2Test, DecoderChecksPayloadLength) {
  auto decoder = CreateCodec2DecoderForMode(1400);
  ASSERT_TRUE(decoder.ok());
  const std::vector<uint8_t> payload(15, 0);
  Result<int> r = (*decoder)->PacketSamples(payload);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("payload 15 bytes is not a multiple of the 7-byte frame"),
            std::string::npos)
      << r.error().message;
  const std::vector<uint8_t> two(14, 0);
  EXPECT_EQ(*(*decoder)->PacketSamples(two), 640);
  EXPECT_FALSE((*decoder)->PacketSamples({}).ok());
}

TEST(Codec2Test, GarbagePayloadsDecodeWithoutHarm) {
  std::mt19937 rng(7);
  for (const Codec2Mode& mode : Codec2Modes()) {
    auto decoder = CreateCodec2DecoderForMode(mode.bitrate_bps);
    ASSERT_TRUE(decoder.ok());
    std::vector<int16_t> out(960);
    for (int i = 0; i < 50; ++i) {
      std::vector<uint8_t> payload(size_t(mode.frame_bytes) * (1 + rng() % 3));
      for (uint8_t& b : payload) b = static_cast<uint8_t>(rng());
      ASSERT_TRUE((*decoder)->Decode(payload, out).ok());
    }
    (*decoder)->Reset();
  }
}

TEST(Codec2Test, FileHeaderRoundTrip) {
  Result<Codec2FileHeader> header = MakeCodec2FileHeader(1300);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->mode, 4);
  EXPECT_EQ(header->version_major, 1);  // libcodec2 1.x
  std::vector<uint8_t> bytes(kCodec2FileHeaderBytes);
  ASSERT_EQ(*SerializeCodec2FileHeader(*header, bytes), kCodec2FileHeaderBytes);
  EXPECT_EQ(bytes[0], 0xc0);
  EXPECT_EQ(bytes[1], 0xde);
  EXPECT_EQ(bytes[2], 0xc2);
  EXPECT_EQ(bytes[5], 4);
  EXPECT_EQ(bytes[6], 0);
  Result<Codec2FileHeader> parsed = ParseCodec2FileHeader(bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->version_major, header->version_major);
  EXPECT_EQ(parsed->version_minor, header->version_minor);
  EXPECT_EQ(parsed->mode, 4);
  EXPECT_EQ(FindCodec2ModeByNumber(parsed->mode)->bitrate_bps, 1300);

  // As c2enc 1.0.5 writes "c2enc 700C in.raw out.c2", followed by frames.
  const std::vector<uint8_t> c2enc = {0xc0, 0xde, 0xc2, 1, 0, 8, 0, 0x12, 0x34};
  parsed = ParseCodec2FileHeader(c2enc);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(FindCodec2ModeByNumber(parsed->mode)->name, "700C");
  EXPECT_FALSE(MakeCodec2FileHeader(450).ok());
  std::vector<uint8_t> small(6);
  EXPECT_FALSE(SerializeCodec2FileHeader(*header, small).ok());
}

TEST(Codec2Test, FileHeaderRejectsBadInput) {
  std::vector<uint8_t> bytes = {0xc0, 0xde, 0xc3, 1, 0, 0, 0};
  Result<Codec2FileHeader> r = ParseCodec2FileHeader(bytes);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("offset 2"), std::string::npos) << r.error().message;
  bytes = {0x00, 0xde, 0xc2, 1, 0, 0, 0};
  r = ParseCodec2FileHeader(bytes);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("offset 0"), std::string::npos) << r.error().message;
  bytes = {0xc0, 0xde, 0xc2, 1, 0, 10, 0};  // 450: a libcodec2 mode parley does not carry
  r = ParseCodec2FileHeader(bytes);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("mode 10 at offset 5"), std::string::npos) << r.error().message;
  bytes = {0xc0, 0xde, 0xc2};
  r = ParseCodec2FileHeader(bytes);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("3 bytes < header 7 bytes"), std::string::npos);
  EXPECT_FALSE(ParseCodec2FileHeader({}).ok());
}

}  // namespace
}  // namespace parley::codec
