#include "parley/client/recorder.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "parley/audio/audio_file.h"
#include "parley/audio/similarity.h"
#include "parley/container/ogg_opus_reader.h"
#include "parley/testing/signals.h"

namespace parley::client {
namespace {

constexpr int kRate = 48000;
constexpr size_t kBlock = 480;

std::string Path(const std::string& name) {
  return ::testing::TempDir() + "/recorder_test_" + name;
}

// Writes `samples` in 10 ms blocks through the MixSink interface, as a call does.
void Feed(Recorder& recorder, const std::vector<int16_t>& samples) {
  for (size_t i = 0; i + kBlock <= samples.size(); i += kBlock) {
    recorder.OnMix(std::span<const int16_t>(samples).subspan(i, kBlock));
  }
}

std::vector<int16_t> ReadWav(const std::string& path, bool* truncated = nullptr) {
  auto reader = audio::AudioFileReader::Open(path);
  EXPECT_TRUE(reader) << reader.error().message;
  if (!reader) return {};
  if (truncated) *truncated = reader->truncated();
  std::vector<int16_t> samples(static_cast<size_t>(reader->total_frames()));
  auto read = reader->Read(samples);
  EXPECT_TRUE(read);
  samples.resize(static_cast<size_t>(*read));
  return samples;
}

TEST(RecorderTest, WavIsReadableWhileRecordingAndCompleteAfterClose) {
  const std::string path = Path("mix.wav");
  auto recorder = Recorder::Open(path);
  ASSERT_TRUE(recorder) << recorder.error().message;
  EXPECT_EQ((*recorder)->format(), RecordingFormat::kWav);
  const auto tone = testing::Tone(440.0, kRate, 1.5);
  Feed(**recorder, tone);
  ASSERT_TRUE((*recorder)->status());
  EXPECT_EQ((*recorder)->frames_written(), 72000);

  // Still open (as if the process died now): the header covers at least the first second,
  // and what it covers is the audio written.
  EXPECT_EQ((*recorder)->flushes(), 1);
  bool truncated = true;
  const auto partial = ReadWav(path, &truncated);
  EXPECT_FALSE(truncated);
  ASSERT_GE(partial.size(), 48000u);
  EXPECT_TRUE(std::equal(partial.begin(), partial.end(), tone.begin()));

  ASSERT_TRUE((*recorder)->Close());
  EXPECT_EQ(ReadWav(path), tone);
  EXPECT_FALSE((*recorder)->Close());  // twice
  EXPECT_FALSE((*recorder)->Write(tone));
}

TEST(RecorderTest, OggOpusIsReadableWhileRecordingAndDecodesAfterClose) {
  const std::string path = Path("mix.opus");
  auto recorder = Recorder::Open(path);
  ASSERT_TRUE(recorder) << recorder.error().message;
  EXPECT_EQ((*recorder)->format(), RecordingFormat::kOggOpus);
  const auto tone = testing::Tone(440.0, kRate, 2.5);
  Feed(**recorder, tone);

  {
    // Pages close at least every second of audio and reach the file at once.
    auto reader = container::OggOpusReader::Open(path);
    ASSERT_TRUE(reader) << reader.error().message;
    int64_t samples = 0;
    for (;;) {
      auto packet = (*reader)->ReadPacket();
      ASSERT_TRUE(packet);
      if (!*packet) break;
      samples += (*packet)->samples_48k;
    }
    EXPECT_GE(samples, 48000);
  }

  ASSERT_TRUE((*recorder)->Close());
  auto reader = container::OggOpusPcmReader::Open(path);
  ASSERT_TRUE(reader) << reader.error().message;
  std::vector<int16_t> decoded;
  for (;;) {
    auto chunk = (*reader)->Read();
    ASSERT_TRUE(chunk);
    if (chunk->empty()) break;
    decoded.insert(decoded.end(), chunk->begin(), chunk->end());
  }
  EXPECT_EQ(decoded.size(), tone.size());  // pre-skip and end trim applied
  const auto similarity = audio::CompareAligned(tone, decoded, kRate, 960);
  EXPECT_GT(similarity.correlation, 0.99);
}

TEST(RecorderTest, FormatComesFromTheExtension) {
  EXPECT_EQ(*Recorder::FormatForPath("a/b.WAV"), RecordingFormat::kWav);
  EXPECT_EQ(*Recorder::FormatForPath("call.ogg"), RecordingFormat::kOggOpus);
  EXPECT_EQ(*Recorder::FormatForPath("call.oga"), RecordingFormat::kOggOpus);
  auto unknown = Recorder::FormatForPath("dir.v2/call");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find(".wav"), std::string::npos);
  EXPECT_FALSE(Recorder::Open(Path("x.mp3")));
  EXPECT_FALSE(Recorder::Open(Path("x.opus"), {.sample_rate_hz = 16000}));
  EXPECT_FALSE(Recorder::Open(Path("x.wav"), {.sample_rate_hz = 44100}));
  EXPECT_FALSE(Recorder::Open("/nonexistent-dir/x.wav"));
}

}  // namespace
}  // namespace parley::client
