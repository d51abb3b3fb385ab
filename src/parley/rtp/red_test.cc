#include "parley/rtp/red.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <vector>

namespace parley::rtp {
namespace {

std::vector<uint8_t> Bytes(size_t n, uint8_t fill) { return std::vector<uint8_t>(n, fill); }

// Shaped like RFC 2198 §3's example (primary DVI4, PT 5; redundant LPC, PT 7); the RFC
// gives no bytes, so these are assembled by hand from its diagram, for a redundant block
// 160 ticks (20 ms at 8 kHz) older than the primary:
//   F=1 PT=7                     -> 1 0000111              = 0x87
//   offset 160 = 0b00000010100000 (14 bits), length 4 = 0b0000000100 (10 bits):
//   offset bits 13..6  00000010                             = 0x02
//   offset bits 5..0  100000, length bits 9..8 00 -> 10000000 = 0x80
//   length bits 7..0  00000100                              = 0x04
//   F=0 PT=5                                                = 0x05
TEST(RedTest, BuildIsByteExactAgainstHandAssembledHeaders) {
  const std::vector<uint8_t> redundant_data = {0xA1, 0xA2, 0xA3, 0xA4};
  const std::vector<uint8_t> primary_data = {0xB1, 0xB2, 0xB3};
  const std::array<RedBlock, 1> redundant = {RedBlock{7, 1000 - 160, redundant_data}};
  const RedBlock primary{5, 1000, primary_data};
  std::array<uint8_t, 64> out{};
  Result<size_t> bytes = BuildRedPayload(redundant, primary, out);
  ASSERT_TRUE(bytes.ok()) << bytes.error().message;
  const std::vector<uint8_t> expected = {0x87, 0x02, 0x80, 0x04, 0x05, 0xA1,
                                         0xA2, 0xA3, 0xA4, 0xB1, 0xB2, 0xB3};
  EXPECT_EQ(std::vector<uint8_t>(out.begin(), out.begin() + static_cast<long>(*bytes)), expected);
  EXPECT_EQ(RedPayloadBytes(redundant, primary), expected.size());

  std::array<RedBlock, 4> blocks;
  Result<size_t> count = ParseRedPayload(expected, 1000, blocks);
  ASSERT_TRUE(count.ok()) << count.error().message;
  ASSERT_EQ(*count, 2u);
  EXPECT_EQ(blocks[0].payload_type, 7);
  EXPECT_EQ(blocks[0].rtp_timestamp, 840u);
  EXPECT_EQ(std::vector<uint8_t>(blocks[0].data.begin(), blocks[0].data.end()), redundant_data);
  EXPECT_EQ(blocks[1].payload_type, 5);
  EXPECT_EQ(blocks[1].rtp_timestamp, 1000u);
  EXPECT_EQ(std::vector<uint8_t>(blocks[1].data.begin(), blocks[1].data.end()), primary_data);
}

TEST(RedTest, RoundTripsExtremesAndTimestampWrap) {
  const std::vector<uint8_t> a = Bytes(kMaxRedBlockBytes, 0x11);
  const std::vector<uint8_t> b = Bytes(0, 0);
  const std::vector<uint8_t> primary_data = Bytes(160, 0x33);
  const uint32_t ts = 100;  // redundant blocks sit before the 2^32 wrap
  const std::array<RedBlock, 2> redundant = {RedBlock{127, ts - kMaxRedTimestampOffsetTicks, a},
                                             RedBlock{96, ts - 960, b}};
  const RedBlock primary{111, ts, primary_data};
  std::vector<uint8_t> out(RedPayloadBytes(redundant, primary));
  Result<size_t> bytes = BuildRedPayload(redundant, primary, out);
  ASSERT_TRUE(bytes.ok()) << bytes.error().message;
  ASSERT_EQ(*bytes, out.size());

  std::array<RedBlock, 3> blocks;
  Result<size_t> count = ParseRedPayload(out, ts, blocks);
  ASSERT_TRUE(count.ok()) << count.error().message;
  ASSERT_EQ(*count, 3u);
  const std::array<const RedBlock*, 3> want = {&redundant[0], &redundant[1], &primary};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(blocks[i].payload_type, want[i]->payload_type) << i;
    EXPECT_EQ(blocks[i].rtp_timestamp, want[i]->rtp_timestamp) << i;
    EXPECT_TRUE(std::equal(blocks[i].data.begin(), blocks[i].data.end(), want[i]->data.begin(),
                           want[i]->data.end()))
        << i;
  }
}

TEST(RedTest, PrimaryOnly) {
  const std::vector<uint8_t> data = {1, 2, 3};
  std::array<uint8_t, 4> out{};
  Result<size_t> bytes = BuildRedPayload({}, RedBlock{9, 5, data}, out);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(out, (std::array<uint8_t, 4>{9, 1, 2, 3}));
}

TEST(RedTest, BuildRejectsOutOfRangeFields) {
  const std::vector<uint8_t> data = {1};
  const std::vector<uint8_t> too_long = Bytes(kMaxRedBlockBytes + 1, 0);
  std::array<uint8_t, 2048> out{};
  const RedBlock primary{0, 20000, data};
  auto build = [&](RedBlock block) {
    const std::array<RedBlock, 1> redundant = {block};
    return BuildRedPayload(redundant, primary, out);
  };
  EXPECT_TRUE(build(RedBlock{0, 20000 - kMaxRedTimestampOffsetTicks, data}).ok());
  EXPECT_FALSE(build(RedBlock{0, 20000 - kMaxRedTimestampOffsetTicks - 1, data}).ok());
  EXPECT_FALSE(build(RedBlock{0, 20001, data}).ok());  // after the primary
  EXPECT_FALSE(build(RedBlock{128, 19000, data}).ok());
  EXPECT_FALSE(build(RedBlock{-1, 19000, data}).ok());
  EXPECT_FALSE(build(RedBlock{0, 19000, too_long}).ok());
  EXPECT_FALSE(BuildRedPayload({}, RedBlock{128, 0, data}, out).ok());
  std::array<uint8_t, 6> small{};
  const std::array<RedBlock, 1> one = {RedBlock{0, 19000, data}};
  EXPECT_FALSE(BuildRedPayload(one, primary, small).ok());  // needs 4 + 1 + 1 + 1 = 7
}

TEST(RedTest, ParseErrorsNameTheOffset) {
  std::array<RedBlock, 4> blocks;
  auto error_of = [&](std::vector<uint8_t> payload) {
    Result<size_t> count = ParseRedPayload(payload, 1000, blocks);
    EXPECT_FALSE(count.ok());
    return count.ok() ? std::string() : count.error().message;
  };
  EXPECT_NE(error_of({}).find("offset 0"), std::string::npos);
  // A redundant header cut short after 2 bytes.
  EXPECT_NE(error_of({0x85, 0x02}).find("offset 0"), std::string::npos);
  // Redundant header complete but no primary header follows.
  EXPECT_NE(error_of({0x85, 0x02, 0x80, 0x00}).find("offset 4"), std::string::npos);
  // Length 4 announced, only 2 data bytes after the headers at offset 5.
  const std::string past_end = error_of({0x85, 0x02, 0x80, 0x04, 0x00, 0xA1, 0xA2});
  EXPECT_NE(past_end.find("offset 5"), std::string::npos) << past_end;
  // More blocks than the caller's array: 4 redundant headers + primary.
  std::vector<uint8_t> many;
  for (int i = 0; i < 4; ++i)
    for (uint8_t byte : {0x85, 0x00, 0x00, 0x00}) many.push_back(byte);
  many.push_back(0x00);
  EXPECT_NE(error_of(many).find("offset 16"), std::string::npos);
}

TEST(RedTest, EveryTruncationOfAValidPayloadIsHandled) {
  const std::vector<uint8_t> a = Bytes(20, 0xAA), b = Bytes(30, 0xBB), p = Bytes(40, 0xCC);
  const std::array<RedBlock, 2> redundant = {RedBlock{100, 40, a}, RedBlock{100, 60, b}};
  std::vector<uint8_t> payload(RedPayloadBytes(redundant, RedBlock{101, 80, p}));
  ASSERT_TRUE(BuildRedPayload(redundant, RedBlock{101, 80, p}, payload).ok());
  std::array<RedBlock, 3> blocks;
  const size_t headers_and_redundant = 4 + 4 + 1 + a.size() + b.size();
  for (size_t n = 0; n <= payload.size(); ++n) {
    Result<size_t> count = ParseRedPayload(std::span<const uint8_t>(payload.data(), n), 80, blocks);
    // A cut into the primary only shortens it; any earlier cut is an error.
    EXPECT_EQ(count.ok(), n >= headers_and_redundant) << n;
    if (count.ok()) {
      EXPECT_EQ(blocks[2].data.size(), n - headers_and_redundant);
    }
  }
}

}  // namespace
}  // namespace parley::rtp
