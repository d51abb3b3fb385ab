#include "parley/rtp/timestamped_frame.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <vector>

namespace parley::rtp {
namespace {

EpochMs Ms(int64_t ms) { return EpochMs(std::chrono::milliseconds(ms)); }

TEST(TimestampedFrameTest, WriteIsByteExactAndParsesBack) {
  const std::vector<uint8_t> opus = {0x08, 0xAA, 0xBB};
  std::array<uint8_t, 16> out{};
  Result<size_t> bytes = WriteTimestampedFrame(Ms(1'700'000'000'123), opus, out);
  ASSERT_TRUE(bytes.ok());
  ASSERT_EQ(*bytes, 11u);
  const std::vector<uint8_t> expected = {0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5,
                                         0x68, 0x7b, 0x08, 0xAA, 0xBB};
  EXPECT_EQ(std::vector<uint8_t>(out.begin(), out.begin() + 11), expected);

  Result<TimestampedFrame> frame = ParseTimestampedFrame(expected);
  ASSERT_TRUE(frame.ok());
  EXPECT_EQ(frame->timestamp, Ms(1'700'000'000'123));
  EXPECT_TRUE(std::equal(frame->opus.begin(), frame->opus.end(), opus.begin(), opus.end()));
}

TEST(TimestampedFrameTest, NegativeTimestampRoundTrips) {
  const std::vector<uint8_t> opus = {0x08};
  std::array<uint8_t, 9> out{};
  ASSERT_TRUE(WriteTimestampedFrame(Ms(-5), opus, out).ok());
  EXPECT_EQ(out[0], 0xFF);
  Result<TimestampedFrame> frame = ParseTimestampedFrame(out);
  ASSERT_TRUE(frame.ok());
  EXPECT_EQ(frame->timestamp, Ms(-5));
}

TEST(TimestampedFrameTest, FrameSizeLimits) {
  std::vector<uint8_t> big(kMaxTimestampedFrameBytes + 1);
  EXPECT_FALSE(ParseTimestampedFrame(big).ok());
  big.pop_back();
  EXPECT_TRUE(ParseTimestampedFrame(big).ok());
  Result<TimestampedFrame> small = ParseTimestampedFrame(std::vector<uint8_t>(8));
  ASSERT_FALSE(small.ok());
  EXPECT_NE(small.error().message.find("offset 8"), std::string::npos);

  std::vector<uint8_t> out(4096);
  EXPECT_FALSE(WriteTimestampedFrame(Ms(0), {}, out).ok());
  EXPECT_FALSE(
      WriteTimestampedFrame(Ms(0), std::vector<uint8_t>(kMaxTimestampedOpusBytes + 1), out).ok());
  EXPECT_FALSE(
      WriteTimestampedRecord(Ms(0), std::vector<uint8_t>(10), std::span(out).first(21)).ok());
  EXPECT_TRUE(
      WriteTimestampedRecord(Ms(0), std::vector<uint8_t>(10), std::span(out).first(22)).ok());
}

struct Stream {
  std::vector<uint8_t> bytes;
  std::vector<size_t> record_offsets;
};

// Three records: a tiny, a typical and a maximum-size Opus packet.
Stream MakeStream() {
  Stream stream;
  const std::array<size_t, 3> sizes = {1, 80, kMaxTimestampedOpusBytes};
  for (size_t i = 0; i < sizes.size(); ++i) {
    std::vector<uint8_t> opus(sizes[i]);
    for (size_t k = 0; k < opus.size(); ++k) opus[k] = static_cast<uint8_t>(k * 31 + i);
    std::vector<uint8_t> record(kMaxTimestampedRecordBytes);
    Result<size_t> bytes =
        WriteTimestampedRecord(Ms(1000 + 20 * static_cast<int64_t>(i)), opus, record);
    EXPECT_TRUE(bytes.ok());
    stream.record_offsets.push_back(stream.bytes.size());
    stream.bytes.insert(stream.bytes.end(), record.begin(),
                        record.begin() + static_cast<long>(*bytes));
  }
  return stream;
}

struct Read {
  int64_t timestamp_ms;
  std::vector<uint8_t> opus;
  friend bool operator==(const Read&, const Read&) = default;
};

// Feeds `pieces` in order; returns the frames, and the Finish() status via `end`.
std::vector<Read> FeedAll(TimestampedStreamReader& reader,
                          const std::vector<std::span<const uint8_t>>& pieces, Status* end) {
  std::vector<Read> frames;
  for (std::span<const uint8_t> chunk : pieces) {
    while (!chunk.empty()) {
      Result<TimestampedStreamReader::Step> step = reader.Feed(chunk);
      if (!step.ok()) {
        *end = step.error();
        return frames;
      }
      EXPECT_GT(step->consumed_bytes, 0u);
      chunk = chunk.subspan(step->consumed_bytes);
      if (step->frame) {
        frames.push_back(
            {step->frame->timestamp.time_since_epoch().count(),
             std::vector<uint8_t>(step->frame->opus.begin(), step->frame->opus.end())});
      }
    }
  }
  *end = reader.Finish();
  return frames;
}

TEST(TimestampedStreamTest, EverySplitPointGivesTheSameFrames) {
  const Stream stream = MakeStream();
  const std::span<const uint8_t> all(stream.bytes);
  TimestampedStreamReader whole_reader;
  Status end;
  const std::vector<Read> whole = FeedAll(whole_reader, {all}, &end);
  ASSERT_TRUE(end.ok());
  ASSERT_EQ(whole.size(), 3u);
  EXPECT_EQ(whole[1].timestamp_ms, 1020);
  EXPECT_EQ(whole[2].opus.size(), kMaxTimestampedOpusBytes);

  for (size_t split = 0; split <= all.size(); ++split) {
    TimestampedStreamReader reader;
    Status split_end;
    EXPECT_EQ(FeedAll(reader, {all.first(split), all.subspan(split)}, &split_end), whole) << split;
    EXPECT_TRUE(split_end.ok()) << split;
  }
  // And one byte at a time.
  std::vector<std::span<const uint8_t>> bytes;
  for (size_t i = 0; i < all.size(); ++i) bytes.push_back(all.subspan(i, 1));
  TimestampedStreamReader reader;
  EXPECT_EQ(FeedAll(reader, bytes, &end), whole);
  EXPECT_TRUE(end.ok());
  EXPECT_EQ(reader.offset(), all.size());
  EXPECT_EQ(reader.frames_read(), 3u);
}

TEST(TimestampedStreamTest, TruncationReportsWhereTheIncompleteRecordStarts) {
  const Stream stream = MakeStream();
  const size_t third = stream.record_offsets[2];
  for (size_t cut : {third + 1, third + 4, third + 20, stream.bytes.size() - 1}) {
    TimestampedStreamReader reader;
    Status end;
    const std::vector<Read> frames =
        FeedAll(reader, {std::span<const uint8_t>(stream.bytes).first(cut)}, &end);
    EXPECT_EQ(frames.size(), 2u);
    ASSERT_FALSE(end.ok());
    EXPECT_NE(end.error().message.find("offset " + std::to_string(third)), std::string::npos)
        << end.error().message;
  }
}

TEST(TimestampedStreamTest, CorruptLengthsAreErrorsWithOffset) {
  const Stream stream = MakeStream();
  const size_t second = stream.record_offsets[1];
  for (uint32_t bad : {0u, 8u, uint32_t{kMaxTimestampedFrameBytes + 1}, 0xFFFFFFFFu}) {
    std::vector<uint8_t> bytes = stream.bytes;
    for (size_t i = 0; i < 4; ++i) bytes[second + i] = static_cast<uint8_t>(bad >> (24 - 8 * i));
    TimestampedStreamReader reader;
    Status end;
    const std::vector<Read> frames = FeedAll(reader, {bytes}, &end);
    EXPECT_EQ(frames.size(), 1u);
    ASSERT_FALSE(end.ok());
    EXPECT_NE(end.error().message.find("offset " + std::to_string(second)), std::string::npos)
        << end.error().message;
    // The reader stays failed.
    EXPECT_FALSE(reader.Feed(bytes).ok());
    EXPECT_FALSE(reader.Finish().ok());
  }
}

}  // namespace
}  // namespace parley::rtp
