#include "parley/rtp/opus_payload.h"

#include <gtest/gtest.h>
#include <opus/opus.h>

#include <cstdint>
#include <vector>

#include "parley/codec/opus_codec.h"

namespace parley::rtp {
namespace {

using codec::OpusBandwidth;

// TOC byte: config in the top 5 bits, stereo bit, frame count code.
constexpr uint8_t Toc(int config, bool stereo, int code) {
  return static_cast<uint8_t>((config << 3) | (stereo ? 0x04 : 0) | code);
}

TEST(OpusPayloadTest, Code0SilkNarrowband20ms) {
  const std::vector<uint8_t> payload = {Toc(1, false, 0), 0xAA, 0xBB, 0xCC};
  Result<OpusPacketInfo> info = ParseOpusPayload(payload);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->config, 1);
  EXPECT_EQ(info->mode, OpusMode::kSilk);
  EXPECT_EQ(info->bandwidth, OpusBandwidth::kNarrowband);
  EXPECT_FALSE(info->stereo);
  EXPECT_EQ(info->frame_count_code, 0);
  EXPECT_EQ(info->frame_count, 1);
  EXPECT_EQ(info->frame_samples_48k, 960);
  EXPECT_EQ(info->duration_samples_48k, 960);
  EXPECT_EQ(info->duration(), std::chrono::milliseconds(20));
  EXPECT_EQ(info->frame_bytes[0], 3);
  EXPECT_EQ(info->padding_bytes, 0u);
}

TEST(OpusPayloadTest, Code1TwoEqualCeltFullbandStereoFrames) {
  const std::vector<uint8_t> payload = {Toc(31, true, 1), 1, 2, 3, 4};
  Result<OpusPacketInfo> info = ParseOpusPayload(payload);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->mode, OpusMode::kCelt);
  EXPECT_EQ(info->bandwidth, OpusBandwidth::kFullband);
  EXPECT_TRUE(info->stereo);
  EXPECT_EQ(info->frame_count, 2);
  EXPECT_FALSE(info->vbr);
  EXPECT_EQ(info->duration_samples_48k, 1920);
  EXPECT_EQ(info->frame_bytes[0], 2);
  EXPECT_EQ(info->frame_bytes[1], 2);
}

TEST(OpusPayloadTest, Code1OddBodyIsRejected) {
  // R3: code 1 needs an even number of bytes after the TOC.
  const std::vector<uint8_t> payload = {Toc(31, false, 1), 1, 2, 3};
  Result<OpusPacketInfo> info = ParseOpusPayload(payload);
  ASSERT_FALSE(info.ok());
  EXPECT_NE(info.error().message.find("offset 1"), std::string::npos) << info.error().message;
}

TEST(OpusPayloadTest, Code2TwoFramesOfDifferentSizes) {
  const std::vector<uint8_t> payload = {Toc(13, false, 2), 3, 0xA, 0xA, 0xA, 0xB, 0xB};
  Result<OpusPacketInfo> info = ParseOpusPayload(payload);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->mode, OpusMode::kHybrid);
  EXPECT_EQ(info->bandwidth, OpusBandwidth::kSuperWideband);
  EXPECT_TRUE(info->vbr);
  EXPECT_EQ(info->frame_count, 2);
  EXPECT_EQ(info->frame_bytes[0], 3);
  EXPECT_EQ(info->frame_bytes[1], 2);
  EXPECT_EQ(info->duration_samples_48k, 1920);
}

TEST(OpusPayloadTest, Code2FirstLengthPastEndIsRejected) {
  const std::vector<uint8_t> payload = {Toc(13, false, 2), 9, 0xA, 0xA};
  EXPECT_FALSE(ParseOpusPayload(payload).ok());
}

TEST(OpusPayloadTest, Code3CbrThreeFrames) {
  // Count byte: v=0 p=0 M=3; 6 bytes split into three 2-byte frames.
  const std::vector<uint8_t> payload = {Toc(1, false, 3), 0x03, 1, 1, 2, 2, 3, 3};
  Result<OpusPacketInfo> info = ParseOpusPayload(payload);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->frame_count, 3);
  EXPECT_FALSE(info->vbr);
  EXPECT_EQ(info->duration_samples_48k, 2880);
  EXPECT_EQ(info->duration(), std::chrono::milliseconds(60));
}

TEST(OpusPayloadTest, Code3VbrWithPadding) {
  // v=1 p=1 M=2; padding length 2; first frame 1 byte; second frame takes the rest
  // before the 2 padding bytes.
  const std::vector<uint8_t> payload = {
      Toc(1, false, 3), 0xC2, 0x02, 0x01, 0xAA, 0xBB, 0xBB, 0x00, 0x00};
  Result<OpusPacketInfo> info = ParseOpusPayload(payload);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_TRUE(info->vbr);
  EXPECT_EQ(info->frame_count, 2);
  EXPECT_EQ(info->frame_bytes[0], 1);
  EXPECT_EQ(info->frame_bytes[1], 2);
  EXPECT_EQ(info->padding_bytes, 2u);
}

TEST(OpusPayloadTest, Code3ErrorsNameTheCountByte) {
  Result<OpusPacketInfo> missing = ParseOpusPayload(std::vector<uint8_t>{Toc(1, false, 3)});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("missing at offset 1"), std::string::npos);

  Result<OpusPacketInfo> zero = ParseOpusPayload(std::vector<uint8_t>{Toc(1, false, 3), 0x00});
  ASSERT_FALSE(zero.ok());
  EXPECT_NE(zero.error().message.find("frame count 0 at offset 1"), std::string::npos);

  // R5: 7 x 20 ms = 140 ms > 120 ms.
  std::vector<uint8_t> too_long = {Toc(1, false, 3), 0x07};
  too_long.resize(2 + 7, 0x11);
  Result<OpusPacketInfo> r5 = ParseOpusPayload(too_long);
  ASSERT_FALSE(r5.ok());
  EXPECT_NE(r5.error().message.find("120 ms"), std::string::npos) << r5.error().message;

  // 48 x 2.5 ms is exactly 120 ms: allowed.
  std::vector<uint8_t> max = {Toc(16, false, 3), 48};
  Result<OpusPacketInfo> ok = ParseOpusPayload(max);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->frame_count, 48);
  EXPECT_EQ(ok->duration_samples_48k, kMaxOpusPacketSamples48k);
}

TEST(OpusPayloadTest, EmptyPayloadNamesOffsetZero) {
  Result<OpusPacketInfo> info = ParseOpusPayload({});
  ASSERT_FALSE(info.ok());
  EXPECT_NE(info.error().message.find("offset 0"), std::string::npos);
}

TEST(OpusPayloadTest, ConfigTableAgreesWithLibopus) {
  for (int config = 0; config < 32; ++config) {
    const uint8_t toc = Toc(config, false, 0);
    static constexpr int kLibopusBandwidth[] = {
        OPUS_BANDWIDTH_NARROWBAND, OPUS_BANDWIDTH_MEDIUMBAND, OPUS_BANDWIDTH_WIDEBAND,
        OPUS_BANDWIDTH_SUPERWIDEBAND, OPUS_BANDWIDTH_FULLBAND};
    EXPECT_EQ(kLibopusBandwidth[static_cast<int>(OpusBandwidthOfConfig(config))],
              opus_packet_get_bandwidth(&toc))
        << "config " << config;
  }
  EXPECT_EQ(OpusModeOfConfig(11), OpusMode::kSilk);
  EXPECT_EQ(OpusModeOfConfig(12), OpusMode::kHybrid);
  EXPECT_EQ(OpusModeOfConfig(15), OpusMode::kHybrid);
  EXPECT_EQ(OpusModeOfConfig(16), OpusMode::kCelt);
}

// RFC 7587 §4.1: the timestamp advances at 48 kHz even for an 8 kHz stream.
TEST(OpusPayloadTest, EncodedNarrowbandPacketCountsAt48kHz) {
  codec::OpusSettings settings;
  settings.frame_ms = 20;
  auto encoder = codec::OpusAudioEncoder::Create(8000, 1, settings);
  ASSERT_TRUE(encoder.ok()) << encoder.error().message;
  std::vector<int16_t> pcm(160);
  for (size_t i = 0; i < pcm.size(); ++i) pcm[i] = static_cast<int16_t>((i % 40) * 500 - 10000);
  std::vector<uint8_t> out(codec::OpusAudioEncoder::kMaxPayloadBytes);
  Result<size_t> bytes = (*encoder)->Encode(pcm, out);
  ASSERT_TRUE(bytes.ok()) << bytes.error().message;
  out.resize(*bytes);
  Result<OpusPacketInfo> info = ParseOpusPayload(out);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->duration_samples_48k, 960);
  EXPECT_EQ(info->frame_count, 1);
}

}  // namespace
}  // namespace parley::rtp
