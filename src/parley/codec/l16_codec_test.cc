#include "parley/codec/l16_codec.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "parley/codec/codec_test_util.h"
#include "parley/codec/registry.h"

namespace parley::codec {
namespace {

std::vector<int16_t> Noise(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> dist(-32768, 32767);
  std::vector<int16_t> v(n);
  for (int16_t& s : v) s = static_cast<int16_t>(dist(rng));
  return v;
}

TEST(L16Test, ExactRoundTripAtEveryRateAndChannelCount) {
  for (int rate : {8000, 16000, 24000, 32000, 44100, 48000}) {
    for (int channels : {1, 2}) {
      EncoderConfig config;
      config.sample_rate_hz = rate;
      config.channels = channels;
      config.frame_ms = 10;
      auto encoder = CreateL16Encoder(config);
      ASSERT_TRUE(encoder.ok()) << encoder.error().message;
      auto decoder = CreateL16Decoder({rate, channels});
      ASSERT_TRUE(decoder.ok()) << decoder.error().message;
      EXPECT_EQ((*encoder)->frame_samples(), rate / 100) << rate;  // 441 at 44.1 kHz
      EXPECT_EQ((*encoder)->bitrate_bps(), rate * channels * 16);
      const std::vector<int16_t> pcm = Noise(size_t(rate / 100 * channels * 7), uint32_t(rate));
      test::RoundTrip rt = test::EncodeDecode(**encoder, **decoder, pcm);
      EXPECT_EQ(rt.decoded, pcm) << rate << " Hz, " << channels << " ch";
      for (size_t bytes : rt.payload_bytes) EXPECT_EQ(bytes, size_t(rate / 100 * channels * 2));
    }
  }
}

TEST(L16Test, NetworkByteOrderInterleavedLeftFirst) {
  EncoderConfig config;
  config.sample_rate_hz = 8000;
  config.channels = 2;
  config.frame_ms = 10;
  auto encoder = CreateL16Encoder(config);
  ASSERT_TRUE(encoder.ok());
  std::vector<int16_t> pcm(160, 0);
  pcm[0] = 0x1234;                          // left
  pcm[1] = static_cast<int16_t>(-2);        // right: 0xfffe
  pcm[159] = static_cast<int16_t>(-32768);  // last right: 0x8000
  std::vector<uint8_t> out((*encoder)->max_payload_bytes());
  ASSERT_EQ(*(*encoder)->Encode(pcm, out), 320u);
  EXPECT_EQ(out[0], 0x12);
  EXPECT_EQ(out[1], 0x34);
  EXPECT_EQ(out[2], 0xff);
  EXPECT_EQ(out[3], 0xfe);
  EXPECT_EQ(out[318], 0x80);
  EXPECT_EQ(out[319], 0x00);
}

TEST(L16Test, MalformedPayloadsAreErrors) {
  auto mono = CreateL16Decoder({});
  ASSERT_TRUE(mono.ok());
  EXPECT_EQ((*mono)->sample_rate_hz(), 16000);
  const std::vector<uint8_t> odd(5, 0);
  Result<int> r = (*mono)->PacketSamples(odd);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("payload 5 bytes is not a multiple of 2"), std::string::npos)
      << r.error().message;
  std::vector<int16_t> out(8);
  EXPECT_FALSE((*mono)->Decode(odd, out).ok());
  EXPECT_FALSE((*mono)->PacketSamples({}).ok());

  auto stereo = CreateL16Decoder({48000, 2});
  ASSERT_TRUE(stereo.ok());
  const std::vector<uint8_t> six(6, 0);
  EXPECT_FALSE((*stereo)->PacketSamples(six).ok());
  const std::vector<uint8_t> eight(8, 0);
  EXPECT_EQ(*(*stereo)->PacketSamples(eight), 2);
  std::vector<int16_t> small(3);
  EXPECT_FALSE((*stereo)->Decode(eight, small).ok());
}

TEST(L16Test, RejectsBadConfig) {
  EncoderConfig config;
  config.sample_rate_hz = 22050;
  auto bad = CreateL16Encoder(config);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("sample_rate_hz 22050"), std::string::npos);
  EXPECT_NE(bad.error().message.find("44100"), std::string::npos) << bad.error().message;
  config = {};
  config.channels = 3;
  bad = CreateL16Encoder(config);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("channels 3 not supported (1..2)"), std::string::npos);
  config = {};
  config.bitrate_bps = 128000;
  EXPECT_FALSE(CreateL16Encoder(config).ok());
  config.bitrate_bps = 256000;
  EXPECT_TRUE(CreateL16Encoder(config).ok());
  EXPECT_FALSE(CreateL16Decoder({11025, 1}).ok());
  EXPECT_FALSE(CreateL16Decoder({16000, 0}).ok());
}

}  // namespace
}  // namespace parley::codec
