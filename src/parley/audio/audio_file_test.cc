#include "parley/audio/audio_file.h"

#include <gtest/gtest.h>
#include <sndfile.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "parley/testing/signals.h"
#include "parley/testing/speech.h"

namespace parley::audio {
namespace {

namespace fs = std::filesystem;

// A fresh directory per test under GoogleTest's temp dir.
class WavFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) / "parley_audio_file_test" / info->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string PathFor(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

AudioFrame StereoTestFrame() {
  std::vector<int16_t> samples;
  const std::vector<int16_t> left = parley::testing::Tone(440, 48000, 0.3);
  const std::vector<int16_t> right = parley::testing::Tone(1000, 48000, 0.3, 0.9);
  for (size_t i = 0; i < left.size(); ++i) {
    samples.push_back(left[i]);
    samples.push_back(right[i]);
  }
  samples[0] = -32768;  // the extremes survive too
  samples[1] = 32767;
  return AudioFrame({48000, 2}, std::move(samples));
}

bool SameSamples(const AudioFrame& a, const AudioFrame& b) {
  return a.format() == b.format() &&
         std::equal(a.samples().begin(), a.samples().end(), b.samples().begin(), b.samples().end());
}

TEST_F(WavFileTest, WriteThenReadRoundTripsExactly) {
  const AudioFrame frame = StereoTestFrame();
  const std::string path = PathFor("stereo.wav");
  ASSERT_TRUE(WriteWavFile(path, frame).ok());
  auto read = ReadAudioFile(path);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_TRUE(SameSamples(*read, frame));
  // 16-bit PCM: a 44-byte header plus two bytes per sample.
  EXPECT_EQ(fs::file_size(path), 44u + 2 * frame.samples().size());
}

TEST_F(WavFileTest, StreamingWriterAndReaderRoundTripWithProgress) {
  const AudioFrame frame = StereoTestFrame();
  const std::string path = PathFor("streamed.wav");
  {
    auto writer = WavWriter::Open(path, frame.format());
    ASSERT_TRUE(writer.ok()) << writer.error().message;
    const auto samples = frame.samples();
    for (size_t pos = 0; pos < samples.size(); pos += 2 * 1000) {
      const size_t n = std::min<size_t>(2 * 1000, samples.size() - pos);
      ASSERT_TRUE(writer->Write(samples.subspan(pos, n)).ok());
    }
    EXPECT_EQ(writer->frames_written(), frame.frames());
    ASSERT_TRUE(writer->Close().ok());
    EXPECT_FALSE(writer->Close().ok());
    const std::vector<int16_t> more(2);
    const Status late = writer->Write(more);
    ASSERT_FALSE(late.ok());
    EXPECT_NE(late.error().message.find(path), std::string::npos);
  }

  auto reader = AudioFileReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.error().message;
  EXPECT_EQ(reader->format(), frame.format());
  EXPECT_EQ(reader->total_frames(), frame.frames());
  std::vector<int16_t> all;
  std::vector<int16_t> chunk(2 * 4096);
  while (true) {
    auto got = reader->Read(chunk);
    ASSERT_TRUE(got.ok()) << got.error().message;
    if (*got == 0) break;
    all.insert(all.end(), chunk.begin(), chunk.begin() + 2 * *got);
    EXPECT_EQ(reader->position_frames(), static_cast<int64_t>(all.size() / 2));
  }
  EXPECT_TRUE(SameSamples(AudioFrame(frame.format(), all), frame));
}

TEST_F(WavFileTest, MovedReaderStillReads) {
  const AudioFrame frame = StereoTestFrame();
  const std::string path = PathFor("moved.wav");
  ASSERT_TRUE(WriteWavFile(path, frame).ok());
  auto opened = AudioFileReader::Open(path);
  ASSERT_TRUE(opened.ok());
  AudioFileReader reader = std::move(*opened);
  std::vector<int16_t> two_frames(4);
  auto got = reader.Read(two_frames);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, 2);
  EXPECT_EQ(two_frames[0], -32768);
}

TEST_F(WavFileTest, MissingFileErrorNamesThePath) {
  const std::string path = PathFor("does_not_exist.wav");
  auto read = ReadAudioFile(path);
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.error().message.find(path), std::string::npos) << read.error().message;
}

TEST_F(WavFileTest, GarbageFileErrorNamesThePathAndReason) {
  const std::string path = PathFor("garbage.wav");
  std::mt19937 rng(42);
  std::ofstream(path, std::ios::binary) << std::string(4000, 'x') << rng();
  auto read = ReadAudioFile(path);
  ASSERT_FALSE(read.ok());
  const std::string& message = read.error().message;
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_GT(message.size(), path.size() + 10) << "no reason given: " << message;
}

TEST_F(WavFileTest, TruncatedHeaderIsAnError) {
  const std::string path = PathFor("truncated_header.wav");
  ASSERT_TRUE(WriteWavFile(path, StereoTestFrame()).ok());
  fs::resize_file(path, 30);
  auto read = ReadAudioFile(path);
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.error().message.find(path), std::string::npos) << read.error().message;
}

TEST_F(WavFileTest, TruncatedDataKeepsEverySampleThatIsThere) {
  const AudioFrame frame = StereoTestFrame();
  const std::string path = PathFor("truncated_data.wav");
  ASSERT_TRUE(WriteWavFile(path, frame).ok());
  constexpr int64_t kKeptFrames = 1000;
  fs::resize_file(path, 44 + kKeptFrames * 2 * 2);
  auto read = ReadAudioFile(path);
  ASSERT_TRUE(read.ok()) << read.error().message;
  ASSERT_EQ(read->frames(), kKeptFrames);
  auto reader = AudioFileReader::Open(path);
  ASSERT_TRUE(reader.ok());
  EXPECT_TRUE(reader->truncated()) << "a cut-off file is flagged, not silently shortened";
  EXPECT_EQ(reader->present_data_bytes(), kKeptFrames * 2 * 2);
  EXPECT_EQ(reader->declared_data_bytes(), frame.frames() * 2 * 2);
  EXPECT_TRUE(std::equal(read->samples().begin(), read->samples().end(), frame.samples().begin()));
}

TEST_F(WavFileTest, CompleteFileIsNotTruncated) {
  const std::string path = PathFor("complete.wav");
  ASSERT_TRUE(WriteWavFile(path, StereoTestFrame()).ok());
  auto reader = AudioFileReader::Open(path);
  ASSERT_TRUE(reader.ok());
  EXPECT_FALSE(reader->truncated());
}

TEST_F(WavFileTest, UnwritablePathErrorNamesThePath) {
  const std::string path = PathFor("no/such/dir/out.wav");
  const Status status = WriteWavFile(path, StereoTestFrame());
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find(path), std::string::npos) << status.error().message;
}

TEST_F(WavFileTest, FloatFilesAreScaledAndClipped) {
  const std::string path = PathFor("float.wav");
  SF_INFO info{};
  info.samplerate = 16000;
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
  SNDFILE* file = sf_open(path.c_str(), SFM_WRITE, &info);
  ASSERT_NE(file, nullptr);
  const float samples[] = {0.0f, 0.5f, -1.0f, 1.5f, -3.0f};
  ASSERT_EQ(sf_writef_float(file, samples, 5), 5);
  sf_close(file);

  auto read = ReadAudioFile(path);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read->sample_rate_hz(), 16000);
  EXPECT_EQ(std::vector<int16_t>(read->samples().begin(), read->samples().end()),
            (std::vector<int16_t>{0, 16384, -32768, 32767, -32768}));
}

TEST(AudioFileTest, SpeechSamplesAreShortMonoPhrases) {
  ASSERT_EQ(parley::testing::SpeechCount(), 3);
  for (int i = 0; i < parley::testing::SpeechCount(); ++i) {
    const std::vector<int16_t> speech = parley::testing::Speech(16000, i);
    EXPECT_GE(speech.size(), 16000u * 5 / 2) << i;
    EXPECT_LE(speech.size(), 16000u * 4) << i;
    EXPECT_GT(parley::testing::RmsDbfs(speech), -30.0) << i;
  }
}

TEST(AudioFileDeathTest, MissingSpeechSampleAbortsWithAMessage) {
  EXPECT_DEATH(parley::testing::Speech(16000, 3), "index 3 outside 0..2");
}

}  // namespace
}  // namespace parley::audio
