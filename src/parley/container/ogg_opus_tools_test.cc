// Ogg Opus against the reference tools: files parley writes pass opusinfo and decode in
// opusdec and ffmpeg; files opusenc writes are read by parley with the duration opusinfo
// reports. The tools are a build dependency of the tests (opus-tools, ffmpeg): a missing
// tool fails the test, it never skips.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "parley/audio/audio_file.h"
#include "parley/container/ogg_opus_reader.h"
#include "parley/container/ogg_opus_test_util.h"
#include "parley/container/ogg_opus_writer.h"
#include "parley/testing/speech.h"

namespace parley::container {
namespace {

namespace fs = std::filesystem;

// Every external run is bounded by this.
constexpr int kToolTimeoutSeconds = 30;
// One 20 ms frame at 48 kHz: the tolerance on decoded durations.
constexpr double kFrameSeconds = 0.020;

class OggOpusToolsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) / "parley_ogg_tools_test" / info->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    for (const char* tool : {"opusinfo", "opusdec", "opusenc", "ffmpeg", "timeout"}) {
      ASSERT_EQ(std::system(("command -v " + std::string(tool) + " >/dev/null").c_str()), 0)
          << tool << " is missing: install opus-tools and ffmpeg (the tests need them)";
    }
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string PathFor(const std::string& name) const { return (dir_ / name).string(); }

  // Runs `command` with a time limit; returns its exit status, its output (stdout and
  // stderr) in `output`.
  int Run(const std::string& command, std::string* output = nullptr) {
    const std::string log = PathFor("tool.log");
    const std::string line =
        "timeout " + std::to_string(kToolTimeoutSeconds) + " " + command + " >'" + log + "' 2>&1";
    const int status = std::system(line.c_str());
    if (output != nullptr) {
      std::ifstream in(log);
      std::stringstream text;
      text << in.rdbuf();
      *output = text.str();
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  static double WavSeconds(const std::string& path) {
    auto audio = audio::ReadAudioFile(path);
    EXPECT_TRUE(audio.ok()) << path;
    return audio ? audio->duration_ms().count() / 1000.0 : -1;
  }

  fs::path dir_;
};

TEST_F(OggOpusToolsTest, ParleyFilePassesOpusinfoAndDecodesInOpusdecAndFfmpeg) {
  const std::vector<int16_t> speech = testing::Speech(48000, 0);
  const double seconds = static_cast<double>(speech.size()) / 48000;
  for (int channels : {1, 2}) {
    std::vector<int16_t> pcm;
    for (int16_t s : speech) {
      for (int c = 0; c < channels; ++c) pcm.push_back(s);
    }
    const std::string path = PathFor("parley" + std::to_string(channels) + ".opus");
    auto writer = OggOpusPcmWriter::Open(path, channels, 48000, {}, {"TITLE=parley test"});
    ASSERT_TRUE(writer.ok()) << writer.error().message;
    ASSERT_TRUE((*writer)->Write(pcm).ok());
    ASSERT_TRUE((*writer)->Close().ok());

    std::string output;
    ASSERT_EQ(Run("opusinfo '" + path + "'", &output), 0) << output;
    EXPECT_EQ(output.find("WARNING"), std::string::npos) << output;
    EXPECT_EQ(output.find("ERROR"), std::string::npos) << output;
    EXPECT_EQ(output.find("rror"), std::string::npos) << output;
    EXPECT_NE(output.find("Channels: " + std::to_string(channels)), std::string::npos) << output;

    const std::string opusdec_wav = PathFor("opusdec.wav");
    ASSERT_EQ(Run("opusdec --rate 48000 '" + path + "' '" + opusdec_wav + "'", &output), 0)
        << output;
    EXPECT_NEAR(WavSeconds(opusdec_wav), seconds, kFrameSeconds);

    const std::string ffmpeg_wav = PathFor("ffmpeg.wav");
    ASSERT_EQ(Run("ffmpeg -nostdin -v error -y -i '" + path + "' -ar 48000 '" + ffmpeg_wav + "'",
                  &output),
              0)
        << output;
    EXPECT_NEAR(WavSeconds(ffmpeg_wav), seconds, kFrameSeconds);
  }
}

TEST_F(OggOpusToolsTest, OpusencFileIsReadWithTheDurationOpusinfoReports) {
  const std::string wav = PathFor("speech.wav");
  const std::vector<int16_t> speech = testing::Speech(16000, 1);
  ASSERT_TRUE(audio::WriteWavFile(wav, audio::AudioFrame({16000, 1}, speech)).ok());
  const std::string opus = PathFor("opusenc.opus");
  std::string output;
  ASSERT_EQ(Run("opusenc --quiet --bitrate 20 '" + wav + "' '" + opus + "'", &output), 0) << output;
  ASSERT_EQ(Run("opusinfo '" + opus + "'", &output), 0) << output;
  // "Playback length: 0m:03.438s"
  const std::string label = "Playback length: ";
  const size_t at = output.find(label);
  ASSERT_NE(at, std::string::npos) << output;
  int minutes = 0;
  double secs = 0;
  ASSERT_EQ(std::sscanf(output.c_str() + at + label.size(), "%dm:%lfs", &minutes, &secs), 2)
      << output;
  const double opusinfo_seconds = minutes * 60 + secs;

  auto info = InspectOggOpus(opus);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_NEAR(info->duration_seconds, opusinfo_seconds, 0.0011);  // opusinfo prints ms
  EXPECT_EQ(info->head.input_sample_rate_hz, 16000u);
  EXPECT_NE(info->tags.vendor.find("libopus"), std::string::npos);
  EXPECT_EQ(info->stats.defect_count, 0);
  EXPECT_TRUE(info->stats.end_of_stream);

  auto reader = OggOpusPcmReader::Open(opus);
  ASSERT_TRUE(reader.ok());
  int64_t samples = 0;
  while (true) {
    auto chunk = (*reader)->Read();
    ASSERT_TRUE(chunk.ok()) << chunk.error().message;
    if (chunk->empty()) break;
    samples += static_cast<int64_t>(chunk->size());
  }
  EXPECT_EQ(samples, static_cast<int64_t>(speech.size()) * 3) << "16 kHz input, 48 kHz output";
}

TEST_F(OggOpusToolsTest, ConcatenatedOpusencFilesAreRejectedAsChained) {
  const std::string wav = PathFor("speech.wav");
  ASSERT_TRUE(
      audio::WriteWavFile(wav, audio::AudioFrame({16000, 1}, testing::Speech(16000, 0))).ok());
  ASSERT_EQ(Run("opusenc --quiet '" + wav + "' '" + PathFor("a.opus") + "'"), 0);
  ASSERT_EQ(Run("opusenc --quiet '" + wav + "' '" + PathFor("b.opus") + "'"), 0);
  std::vector<uint8_t> chained = ogg_test::ReadBytes(PathFor("a.opus"));
  const std::vector<uint8_t> second = ogg_test::ReadBytes(PathFor("b.opus"));
  chained.insert(chained.end(), second.begin(), second.end());
  ogg_test::WriteBytes(PathFor("ab.opus"), chained);
  auto info = InspectOggOpus(PathFor("ab.opus"));
  ASSERT_FALSE(info.ok());
  EXPECT_NE(info.error().message.find("chained stream at offset " +
                                      std::to_string(fs::file_size(PathFor("a.opus")))),
            std::string::npos)
      << info.error().message;
}

}  // namespace
}  // namespace parley::container
