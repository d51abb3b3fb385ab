#include "parley/codec/config_check.h"

#include <gtest/gtest.h>

#include "parley/codec/registry.h"

namespace parley::codec {
namespace {

const CodecInfo& Pcmu() { return GetCodecInfo(CodecId::kPcmu); }

TEST(ConfigCheckTest, NamesTheFieldAndTheAllowedValues) {
  Status s = CheckOwnSampleRate(Pcmu(), 16000);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "PCMU: sample_rate_hz 16000 not supported (0 or 8000)");
  s = CheckChannels(Pcmu(), 2);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "PCMU: channels 2 not supported (1)");
  s = CheckChannels(GetCodecInfo(CodecId::kL16), 3);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "L16: channels 3 not supported (1..2)");
  s = CheckFrameMs(Pcmu(), 15);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "PCMU: frame_ms 15 not supported (10..120 in steps of 10)");
  s = CheckFixedBitrate(Pcmu(), 8000);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message,
            "PCMU: bitrate_bps 8000 not supported (0 or 64000: the codec has one rate)");
}

TEST(ConfigCheckTest, AcceptsDefaultsAndOwnValues) {
  EXPECT_TRUE(CheckOwnSampleRate(Pcmu(), 0).ok());
  EXPECT_TRUE(CheckOwnSampleRate(Pcmu(), 8000).ok());
  EXPECT_TRUE(CheckChannels(Pcmu(), 1).ok());
  EXPECT_TRUE(CheckFixedBitrate(Pcmu(), 0).ok());
  EXPECT_TRUE(CheckFixedBitrate(Pcmu(), 64000).ok());
  EXPECT_FALSE(CheckFrameMs(Pcmu(), 0).ok());
  EXPECT_EQ(*CheckFixedRateEncoderConfig(Pcmu(), {}), 20);
  EncoderConfig config;
  config.frame_ms = 60;
  EXPECT_EQ(*CheckFixedRateEncoderConfig(Pcmu(), config), 60);
  EXPECT_TRUE(CheckFixedRateDecoderConfig(Pcmu(), {}).ok());
  EXPECT_FALSE(CheckFixedRateDecoderConfig(Pcmu(), {8000, 2}).ok());
}

TEST(ConfigCheckTest, BufferChecks) {
  Status s = CheckEncodeBuffers(Pcmu(), 20, 1, 159, 160, 160, 160);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "PCMU: pcm holds 159 samples, expected 160 (20 ms x 1 channel)");
  s = CheckEncodeBuffers(Pcmu(), 20, 1, 160, 160, 100, 160);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "PCMU: output buffer 100 bytes < payload 160 bytes");
  EXPECT_TRUE(CheckEncodeBuffers(Pcmu(), 20, 1, 160, 160, 160, 160).ok());
  s = CheckOutputBuffer(Pcmu(), 10, 11);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "PCMU: output buffer 10 samples < 11 needed");
  EXPECT_TRUE(CheckOutputBuffer(Pcmu(), 11, 11).ok());
}

TEST(ConfigCheckTest, WholeFrames) {
  const CodecInfo& gsm = GetCodecInfo(CodecId::kGsm);
  EXPECT_EQ(*CheckWholeFrames(gsm, 66, 33), 2u);
  Result<size_t> r = CheckWholeFrames(gsm, 0, 33);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "GSM: empty payload");
  r = CheckWholeFrames(gsm, 34, 33);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "GSM: payload 34 bytes is not a multiple of the 33-byte frame");
  r = CheckWholeFrames(GetCodecInfo(CodecId::kCodec2), 15, 7, "1400");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "codec2 1400: payload 15 bytes is not a multiple of the 7-byte frame");
}

}  // namespace
}  // namespace parley::codec
