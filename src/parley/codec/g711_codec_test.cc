#include "parley/codec/g711_codec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "parley/codec/codec_test_util.h"
#include "parley/codec/registry.h"
#include "parley/testing/signals.h"
#include "parley/testing/speech.h"

namespace parley::codec {
namespace {

// An independent G.711 written from the Recommendation's tables, not from spandsp: each
// law is 2 x 128 quantisation intervals on a uniform scale (mu-law: 14-bit, A-law:
// 13-bit), listed by their lower decision value and decoded to the interval's midpoint.
// Encoding searches the decision values; spandsp computes segments with bit tricks.
//
// int16 input is reduced to the uniform scale by its top 14 (13) bits, negative values by
// their ones' complement (~x), as the ITU-T G.191 reference software does.
namespace reference {

struct Interval {
  int lower;  // decision value: first uniform magnitude in the interval
  int width;
};

// mu-law (G.711 Table 2a): segment s = 0..7 has 16 intervals of width 2^(s+1); segment
// s starts at 32 * 2^s - 33 (the first interval of segment 0 is the half-interval [0, 1)).
std::array<Interval, 128> MuIntervals() {
  std::array<Interval, 128> t{};
  for (int n = 0; n < 128; ++n) {
    const int s = n / 16, k = n % 16, width = 2 << s;
    t[n] = {std::max(0, (32 << s) - 33 + k * width), width};
  }
  t[0].width = 1;
  return t;
}

// A-law (G.711 Table 1a): segments 0 and 1 have 16 intervals of width 2 from 0 and 32;
// segment s >= 2 starts at 16 * 2^s with width 2^s.
std::array<Interval, 128> AIntervals() {
  std::array<Interval, 128> t{};
  for (int n = 0; n < 128; ++n) {
    const int s = n / 16, k = n % 16;
    const int width = s == 0 ? 2 : 1 << s;
    t[n] = {s == 0 ? 2 * k : (16 << s) + k * width, width};
  }
  return t;
}

// Index of the interval holding `magnitude` (the last one whose decision value <= it).
int IntervalOf(const std::array<Interval, 128>& t, int magnitude) {
  auto it = std::upper_bound(t.begin(), t.end(), magnitude,
                             [](int m, const Interval& i) { return m < i.lower; });
  return static_cast<int>(it - t.begin()) - 1;
}

// Reconstruction value: the interval's midpoint (0 for mu-law's zero half-interval).
int Midpoint(const Interval& i) { return i.lower == 0 && i.width == 1 ? 0 : i.lower + i.width / 2; }

uint8_t MuEncode(int16_t x) {
  static const auto t = MuIntervals();
  const int magnitude = (x >= 0 ? x : ~x) >> 2;
  const int n = IntervalOf(t, magnitude);
  // Bit 7 set for positive; the 7 magnitude bits are sent inverted.
  return static_cast<uint8_t>((x >= 0 ? 0x80 : 0x00) | (0x7F - n));
}

int16_t MuDecode(uint8_t code) {
  static const auto t = MuIntervals();
  const int value = Midpoint(t[0x7F - (code & 0x7F)]) * 4;
  return static_cast<int16_t>(code & 0x80 ? value : -value);
}

uint8_t AEncode(int16_t x) {
  static const auto t = AIntervals();
  const int magnitude = (x >= 0 ? x : ~x) >> 3;
  const int n = IntervalOf(t, magnitude);
  // Bit 7 set for positive; even bits inverted (0x55) on the line.
  return static_cast<uint8_t>(((x >= 0 ? 0x80 : 0x00) | n) ^ 0x55);
}

int16_t ADecode(uint8_t code) {
  static const auto t = AIntervals();
  const uint8_t c = code ^ 0x55;
  const int value = Midpoint(t[c & 0x7F]) * 8;
  return static_cast<int16_t>(c & 0x80 ? value : -value);
}

}  // namespace reference

std::unique_ptr<AudioEncoder> MakeEncoder(CodecId id, int frame_ms = 20) {
  return test::MakeEncoder(id == CodecId::kPcmu ? CreatePcmuEncoder : CreatePcmaEncoder,
                           {.frame_ms = frame_ms});
}

std::unique_ptr<AudioDecoder> MakeDecoder(CodecId id) {
  return test::MakeDecoder(id == CodecId::kPcmu ? CreatePcmuDecoder : CreatePcmaDecoder);
}

// Every int16 value, in 20 ms packets (the last one padded with zeros).
std::vector<uint8_t> EncodeAllInt16(AudioEncoder& encoder) {
  std::vector<int16_t> all;
  for (int x = -32768; x <= 32767; ++x) all.push_back(static_cast<int16_t>(x));
  const size_t packet = static_cast<size_t>(encoder.frame_samples());
  all.resize((all.size() + packet - 1) / packet * packet, 0);
  std::vector<uint8_t> codes(all.size());
  for (size_t offset = 0; offset < all.size(); offset += packet) {
    Result<size_t> bytes =
        encoder.Encode(std::span(all).subspan(offset, packet), std::span(codes).subspan(offset));
    EXPECT_TRUE(bytes.ok());
    EXPECT_EQ(*bytes, packet);
  }
  codes.resize(65536);
  return codes;
}

std::vector<int16_t> DecodeAllCodes(AudioDecoder& decoder) {
  std::vector<uint8_t> codes(256);
  for (int c = 0; c < 256; ++c) codes[c] = static_cast<uint8_t>(c);
  std::vector<int16_t> out(256);
  Result<int> samples = decoder.Decode(codes, out);
  EXPECT_TRUE(samples.ok());
  EXPECT_EQ(*samples, 256);
  return out;
}

TEST(G711Test, ReferenceMatchesPublishedTableValues) {
  // The reference itself, against values printed in G.711 and countless tables.
  EXPECT_EQ(reference::MuDecode(0xFF), 0);
  EXPECT_EQ(reference::MuDecode(0x7F), 0);
  EXPECT_EQ(reference::MuDecode(0xFE), 8);
  EXPECT_EQ(reference::MuDecode(0xEF), 132);
  EXPECT_EQ(reference::MuDecode(0x80), 32124);
  EXPECT_EQ(reference::MuDecode(0x00), -32124);
  EXPECT_EQ(reference::ADecode(0xD5), 8);
  EXPECT_EQ(reference::ADecode(0x55), -8);
  EXPECT_EQ(reference::ADecode(0xD4), 24);
  EXPECT_EQ(reference::ADecode(0xAA), 32256);
  EXPECT_EQ(reference::ADecode(0x2A), -32256);
}

TEST(G711Test, PcmuEncodesEveryInt16LikeTheReference) {
  auto encoder = MakeEncoder(CodecId::kPcmu);
  const std::vector<uint8_t> codes = EncodeAllInt16(*encoder);
  int mismatches = 0;
  for (int x = -32768; x <= 32767; ++x) {
    const uint8_t expected = reference::MuEncode(static_cast<int16_t>(x));
    if (codes[x + 32768] != expected && ++mismatches <= 5) {
      ADD_FAILURE() << "mu-law " << x << ": got 0x" << std::hex << int(codes[x + 32768])
                    << ", reference 0x" << int(expected) << std::dec;
    }
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(G711Test, PcmaEncodesEveryInt16LikeTheReference) {
  auto encoder = MakeEncoder(CodecId::kPcma);
  const std::vector<uint8_t> codes = EncodeAllInt16(*encoder);
  int mismatches = 0;
  for (int x = -32768; x <= 32767; ++x) {
    const uint8_t expected = reference::AEncode(static_cast<int16_t>(x));
    if (codes[x + 32768] != expected && ++mismatches <= 5) {
      ADD_FAILURE() << "A-law " << x << ": got 0x" << std::hex << int(codes[x + 32768])
                    << ", reference 0x" << int(expected) << std::dec;
    }
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(G711Test, DecodesEveryCodeLikeTheReference) {
  auto mu = MakeDecoder(CodecId::kPcmu);
  auto a = MakeDecoder(CodecId::kPcma);
  const std::vector<int16_t> mu_out = DecodeAllCodes(*mu);
  const std::vector<int16_t> a_out = DecodeAllCodes(*a);
  for (int c = 0; c < 256; ++c) {
    EXPECT_EQ(mu_out[c], reference::MuDecode(static_cast<uint8_t>(c))) << "mu-law code " << c;
    EXPECT_EQ(a_out[c], reference::ADecode(static_cast<uint8_t>(c))) << "A-law code " << c;
  }
}

TEST(G711Test, SpotValuesAndInt16Convention) {
  auto mu = MakeEncoder(CodecId::kPcmu, 10);
  auto a = MakeEncoder(CodecId::kPcma, 10);
  std::vector<int16_t> pcm(80, 0);
  const int16_t inputs[] = {0, -1, 4, -4, -5, 32767, -32768, 16, -16, -17};
  std::copy(std::begin(inputs), std::end(inputs), pcm.begin());
  std::vector<uint8_t> mu_codes(80), a_codes(80);
  ASSERT_TRUE(mu->Encode(pcm, mu_codes).ok());
  ASSERT_TRUE(a->Encode(pcm, a_codes).ok());
  // mu-law: -4 is the ones' complement of 3, in the zero interval like +3 (G.191);
  // -5 mirrors +4.
  const uint8_t mu_expected[] = {0xFF, 0x7F, 0xFE, 0x7F, 0x7E, 0x80, 0x00, 0xFD, 0x7D, 0x7D};
  // A-law: -16 is ~15, in the first interval like +15; -17 mirrors +16.
  const uint8_t a_expected[] = {0xD5, 0x55, 0xD5, 0x55, 0x55, 0xAA, 0x2A, 0xD4, 0x55, 0x54};
  for (size_t i = 0; i < std::size(inputs); ++i) {
    EXPECT_EQ(mu_codes[i], mu_expected[i]) << "mu-law input " << inputs[i];
    EXPECT_EQ(a_codes[i], a_expected[i]) << "A-law input " << inputs[i];
  }
}

TEST(G711Test, QuantiserIsSymmetricAboutMinusHalf) {
  // x and ~x = -x - 1 differ only in the sign bit, for every int16 and both laws.
  for (CodecId id : {CodecId::kPcmu, CodecId::kPcma}) {
    auto encoder = MakeEncoder(id);
    const std::vector<uint8_t> codes = EncodeAllInt16(*encoder);
    for (int x = 0; x <= 32767; ++x) {
      ASSERT_EQ(codes[x + 32768] ^ 0x80, codes[~x + 32768]) << "input " << x;
    }
  }
}

TEST(G711Test, PacketSizesAndConfigValidation) {
  for (int frame_ms = 10; frame_ms <= 120; frame_ms += 10) {
    auto encoder = MakeEncoder(CodecId::kPcmu, frame_ms);
    EXPECT_EQ(encoder->frame_samples(), frame_ms * 8);
    EXPECT_EQ(encoder->max_payload_bytes(), size_t(frame_ms * 8));
  }
  EncoderConfig config;
  config.frame_ms = 25;
  Result<std::unique_ptr<AudioEncoder>> bad = CreatePcmuEncoder(config);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("frame_ms 25"), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("10..120 in steps of 10"), std::string::npos);

  config = {};
  config.sample_rate_hz = 16000;
  bad = CreatePcmaEncoder(config);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("sample_rate_hz 16000"), std::string::npos);
  EXPECT_NE(bad.error().message.find("8000"), std::string::npos);

  config = {};
  config.channels = 2;
  EXPECT_FALSE(CreatePcmuEncoder(config).ok());
  config = {};
  config.bitrate_bps = 56000;
  bad = CreatePcmuEncoder(config);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("bitrate_bps 56000"), std::string::npos);
  config.bitrate_bps = 64000;
  EXPECT_TRUE(CreatePcmuEncoder(config).ok());

  DecoderConfig decoder_config;
  decoder_config.sample_rate_hz = 48000;
  EXPECT_FALSE(CreatePcmuDecoder(decoder_config).ok());

  auto encoder = MakeEncoder(CodecId::kPcma);
  EXPECT_FALSE(encoder->SetFrameMs(15).ok());
  EXPECT_EQ(encoder->frame_ms(), 20);
  EXPECT_TRUE(encoder->SetFrameMs(120).ok());
  EXPECT_EQ(encoder->frame_samples(), 960);
  EXPECT_FALSE(encoder->SetBitrate(32000).ok());
  EXPECT_TRUE(encoder->SetBitrate(64000).ok());
  std::vector<int16_t> pcm(100);
  std::vector<uint8_t> out(2000);
  Result<size_t> wrong = encoder->Encode(pcm, out);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message.find("100 samples, expected 960"), std::string::npos)
      << wrong.error().message;
}

TEST(G711Test, DecoderTakesAnyLengthAndChecksItsOutput) {
  auto decoder = MakeDecoder(CodecId::kPcmu);
  const std::vector<uint8_t> payload(37, 0xFF);
  EXPECT_EQ(*decoder->PacketSamples(payload), 37);
  std::vector<int16_t> out(36);
  EXPECT_FALSE(decoder->Decode(payload, out).ok());
  out.resize(37);
  EXPECT_EQ(*decoder->Decode(payload, out), 37);
  EXPECT_FALSE(decoder->PacketSamples({}).ok());
  // Longer than the PLC history (and than any RTP packet parley sends).
  const std::vector<uint8_t> long_payload(4000, 0x80);
  std::vector<int16_t> long_out(4000);
  EXPECT_EQ(*decoder->Decode(long_payload, long_out), 4000);
  EXPECT_EQ(long_out[3999], 32124);
  EXPECT_EQ(*decoder->Conceal(4000, long_out), 4000);
  decoder->Reset();
  EXPECT_EQ(decoder->info().static_payload_type, 0);
  EXPECT_EQ(MakeDecoder(CodecId::kPcma)->info().static_payload_type, 8);
}

// Decodes `pcm` in 20 ms packets through `decoder` and returns the last packet decoded.
std::vector<int16_t> Feed(CodecId id, AudioDecoder& decoder, std::span<const int16_t> pcm) {
  auto encoder = MakeEncoder(id);
  std::vector<uint8_t> payload(160);
  std::vector<int16_t> out(160);
  for (size_t offset = 0; offset + 160 <= pcm.size(); offset += 160) {
    EXPECT_TRUE(encoder->Encode(pcm.subspan(offset, 160), payload).ok());
    EXPECT_TRUE(decoder.Decode(payload, out).ok());
  }
  return out;
}

TEST(G711Test, ConcealmentContinuesATone) {
  for (CodecId id : {CodecId::kPcmu, CodecId::kPcma}) {
    auto decoder = MakeDecoder(id);
    ASSERT_TRUE(decoder->has_plc());
    const std::vector<int16_t> tone = testing::Tone(300, 8000, 0.2, 0.5);
    const std::vector<int16_t> last = Feed(id, *decoder, tone);
    const double level_dbfs = testing::RmsDbfs(last);
    // 10 ms at a time for 200 ms: near full level at first, then a fade that reaches
    // silence at 50 ms (spandsp's plc).
    std::vector<double> levels;
    std::vector<int16_t> concealed(80);
    for (int i = 0; i < 20; ++i) {
      ASSERT_EQ(*decoder->Conceal(80, concealed), 80);
      levels.push_back(testing::RmsDbfs(concealed));
    }
    EXPECT_GT(levels[0], level_dbfs - 3.0) << "first 10 ms of concealment";
    for (size_t i = 1; i < levels.size(); ++i) EXPECT_LE(levels[i], levels[i - 1] + 0.5) << i;
    EXPECT_LT(levels[3], level_dbfs - 6.0) << "30..40 ms into the loss";
    for (size_t i = 5; i < levels.size(); ++i) EXPECT_LT(levels[i], -90.0) << i * 10 << " ms";
    std::printf("[ G.711 ] tone %.1f dBFS; concealment per 10 ms:", level_dbfs);
    for (double l : levels) std::printf(" %.1f", l);
    std::printf("\n");
  }
}

TEST(G711Test, ConcealmentAfterSpeechIsSpeechLevel) {
  const std::vector<int16_t> speech = testing::Speech(8000);
  // Cut at the loudest 20 ms packet after the first 200 ms, so the loss hits a vowel.
  size_t cut = 0;
  double loudest = -200;
  for (size_t offset = 1600; offset + 160 <= speech.size(); offset += 160) {
    const double level = testing::RmsDbfs(std::span(speech).subspan(offset, 160));
    if (level > loudest) loudest = level, cut = offset + 160;
  }
  auto decoder = MakeDecoder(CodecId::kPcmu);
  Feed(CodecId::kPcmu, *decoder, std::span(speech).first(cut));
  std::vector<int16_t> concealed(160);
  ASSERT_EQ(*decoder->Conceal(160, concealed), 160);
  EXPECT_GT(testing::RmsDbfs(concealed), loudest - 12.0);
  std::printf("[ G.711 ] speech %.1f dBFS before the loss, first 20 ms concealed %.1f dBFS\n",
              loudest, testing::RmsDbfs(concealed));
  EXPECT_FALSE(decoder->Conceal(0, concealed).ok());
  EXPECT_FALSE(decoder->Conceal(161, concealed).ok());
}

TEST(G711Test, RoundTripOfSpeechIsWithinG711Precision) {
  const std::vector<int16_t> speech = testing::Speech(8000);
  for (CodecId id : {CodecId::kPcmu, CodecId::kPcma}) {
    auto encoder = MakeEncoder(id);
    auto decoder = MakeDecoder(id);
    test::RoundTrip rt = test::EncodeDecode(*encoder, *decoder, speech);
    ASSERT_EQ(rt.decoded.size(), speech.size() / 160 * 160);
    const double snr = testing::SnrDb(std::span(speech).first(rt.decoded.size()), rt.decoded);
    // Log PCM: about 6 dB per bit over 8 bits minus the companding loss, ~35-38 dB on speech.
    EXPECT_GT(snr, 30.0);
    std::printf("[ G.711 ] %s speech SNR %.1f dB\n", std::string(encoder->info().name).c_str(),
                snr);
  }
}

}  // namespace
}  // namespace parley::codec
