#include "parley/container/transcoder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "parley/audio/audio_file.h"
#include "parley/audio/resampler.h"
#include "parley/audio/similarity.h"
#include "parley/testing/signals.h"
#include "parley/testing/speech.h"

namespace parley::container {
namespace {

namespace fs = std::filesystem;

class TranscodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) / "parley_transcode_test" / info->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    speech_path_ = PathFor("speech.wav");
    const std::vector<int16_t> speech = testing::Speech(22050, 0);
    ASSERT_TRUE(audio::WriteWavFile(speech_path_, audio::AudioFrame({22050, 1}, speech)).ok());
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string PathFor(const std::string& name) const { return (dir_ / name).string(); }

  Result<TranscodeSummary> Run(const std::string& in, const std::string& out,
                               codec::EncoderConfig encoder = {}) {
    TranscodeOptions options;
    options.input_path = in;
    options.output_path = out;
    options.encoder = encoder;
    return Transcode(options);
  }

  // Only the expected files are in the folder: no "*.partial" left behind.
  std::vector<std::string> Files() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_)) {
      names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  fs::path dir_;
  std::string speech_path_;
};

struct FormatCase {
  std::string extension;
  int rate_hz;
  double min_correlation;  // waveform codecs only; vocoders keep the voice, not the wave
};

void PrintTo(const FormatCase& c, std::ostream* os) { *os << "." << c.extension; }

class TranscodeFormatTest : public TranscodeTest,
                            public ::testing::WithParamInterface<FormatCase> {};

// WAV -> raw codec stream -> WAV keeps the duration (to within one packet of padding)
// and, for waveform codecs, the waveform.
TEST_P(TranscodeFormatTest, WavToRawAndBack) {
  const FormatCase c = GetParam();
  const std::string raw = PathFor("speech." + c.extension);
  const std::string back = PathFor("back.wav");
  auto there = Run(speech_path_, raw);
  ASSERT_TRUE(there.ok()) << there.error().message;
  EXPECT_GT(there->packets, 0);
  EXPECT_EQ(there->output_bytes, fs::file_size(raw));
  auto again = Run(raw, back);
  ASSERT_TRUE(again.ok()) << again.error().message;

  auto decoded = audio::ReadAudioFile(back);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->sample_rate_hz(), c.rate_hz);
  EXPECT_EQ(decoded->channels(), 1);
  const double in_seconds = static_cast<double>(testing::Speech(22050, 0).size()) / 22050;
  EXPECT_NEAR(decoded->duration_ms().count() / 1000, in_seconds, 0.041);
  if (c.min_correlation > 0) {
    const std::vector<int16_t> reference = testing::Speech(c.rate_hz, 0);
    const std::vector<int16_t> got(decoded->samples().begin(), decoded->samples().end());
    EXPECT_GT(audio::CompareAligned(reference, got, c.rate_hz, c.rate_hz / 50).correlation,
              c.min_correlation);
  } else {
    EXPECT_GT(testing::RmsDbfs(decoded->samples()), -40) << "speech-level output";
  }
  EXPECT_EQ(Files(), (std::vector<std::string>{"back.wav", "speech." + c.extension, "speech.wav"}));
}

INSTANTIATE_TEST_SUITE_P(
    EveryRawFormat, TranscodeFormatTest,
    ::testing::Values(FormatCase{"ul", 8000, 0.99}, FormatCase{"al", 8000, 0.99},
                      FormatCase{"g722", 16000, 0.99}, FormatCase{"l16", 16000, 0.999},
                      FormatCase{"gsm", 8000, 0.9}, FormatCase{"g729", 8000, 0.75},
                      FormatCase{"c2", 8000, 0.0}),
    [](const ::testing::TestParamInfo<FormatCase>& param) { return param.param.extension; });

TEST_F(TranscodeTest, StereoInputIsDownmixedAndResampled) {
  const std::string stereo_path = PathFor("stereo44k.wav");
  const std::vector<int16_t> tone = testing::Tone(700, 44100, 1.0, 0.3);
  std::vector<int16_t> stereo;
  for (int16_t s : tone) {
    stereo.push_back(s);
    stereo.push_back(s);
  }
  ASSERT_TRUE(audio::WriteWavFile(stereo_path, audio::AudioFrame({44100, 2}, stereo)).ok());
  auto result = Run(stereo_path, PathFor("tone.ul"));
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_NEAR(result->duration_seconds, 1.0, 1e-6);
  EXPECT_EQ(fs::file_size(PathFor("tone.ul")), 8000u);  // 50 packets of 160 bytes
  ASSERT_TRUE(Run(PathFor("tone.ul"), PathFor("tone.wav")).ok());
  auto decoded = audio::ReadAudioFile(PathFor("tone.wav"));
  ASSERT_TRUE(decoded.ok());
  const std::vector<int16_t> reference = testing::Tone(700, 8000, 1.0, 0.3);
  const std::vector<int16_t> got(decoded->samples().begin(), decoded->samples().end());
  // Skip the first and last 10 ms, where the resampler meets the file's edges.
  EXPECT_GT(
      testing::SnrDb(std::span(reference).subspan(80, 7840), std::span(got).subspan(80, 7840)), 30);
}

TEST_F(TranscodeTest, RawL16WithStatedRateAndChannelsIsExact) {
  std::vector<int16_t> stereo;
  const std::vector<int16_t> left = testing::Tone(300, 48000, 0.5, 0.5);
  const std::vector<int16_t> right = testing::Tone(900, 48000, 0.5, 0.5);
  for (size_t i = 0; i < left.size(); ++i) {
    stereo.push_back(left[i]);
    stereo.push_back(right[i]);
  }
  ASSERT_TRUE(audio::WriteWavFile(PathFor("in.wav"), audio::AudioFrame({48000, 2}, stereo)).ok());
  TranscodeOptions options;
  options.input_path = PathFor("in.wav");
  options.output_path = PathFor("in.l16");
  options.raw_sample_rate_hz = 48000;
  options.raw_channels = 2;
  ASSERT_TRUE(Transcode(options).ok());
  EXPECT_EQ(fs::file_size(PathFor("in.l16")), stereo.size() * 2);
  options.input_path = PathFor("in.l16");
  options.output_path = PathFor("out.wav");
  ASSERT_TRUE(Transcode(options).ok());
  auto back = audio::ReadAudioFile(PathFor("out.wav"));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->format(), (audio::AudioFormat{48000, 2}));
  EXPECT_TRUE(
      std::equal(stereo.begin(), stereo.end(), back->samples().begin(), back->samples().end()));
}

TEST_F(TranscodeTest, EncoderOptionsReachTheCodec) {
  codec::EncoderConfig low;
  low.bitrate_bps = 700;
  auto result = Run(speech_path_, PathFor("low.c2"), low);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_NE(result->output_description.find("700"), std::string::npos);
  EXPECT_LT(result->payload_bitrate_bps, 1000);
  codec::EncoderConfig long_packets;
  long_packets.frame_ms = 60;
  auto gsm = Run(speech_path_, PathFor("long.gsm"), long_packets);
  ASSERT_TRUE(gsm.ok());
  EXPECT_EQ(gsm->output_bytes % 99, 0u) << "three 33-byte frames per 60 ms packet";
}

TEST_F(TranscodeTest, BadInputsAreOneLineErrors) {
  struct Case {
    std::string in, out, codec, expect;
  };
  std::ofstream(PathFor("garbage.wav")) << "this is not audio";
  std::ofstream(PathFor("bad.c2")) << "not a codec2 file";
  const std::vector<Case> cases = {
      {PathFor("missing.wav"), PathFor("x.ul"), "", "missing.wav"},
      {PathFor("garbage.wav"), PathFor("x.ul"), "", "garbage.wav"},
      {speech_path_, PathFor("x.mp3"), "", "unsupported output format '.mp3'"},
      {speech_path_, PathFor("x.opus"), "pcmu", "does not match the output extension .opus"},
      {speech_path_, PathFor("x.mp3"), "opus", "needs an Ogg Opus output"},
      {PathFor("garbage.wav"), PathFor("x.opus"), "", "garbage.wav"},
      {speech_path_, PathFor("x.ul"), "pcma", "does not match"},
      {speech_path_, PathFor("x.ul"), "nosuch", "unknown codec 'nosuch'"},
      {speech_path_, PathFor("x.wav"), "pcmu", "raw stream output"},
      {PathFor("bad.c2"), PathFor("x.wav"), "", "bad.c2"},
      {speech_path_, speech_path_, "", "same file"},
  };
  for (const Case& c : cases) {
    TranscodeOptions options;
    options.input_path = c.in;
    options.output_path = c.out;
    options.codec_name = c.codec;
    auto result = Transcode(options);
    ASSERT_FALSE(result.ok()) << c.in << " -> " << c.out;
    EXPECT_NE(result.error().message.find(c.expect), std::string::npos) << result.error().message;
    EXPECT_EQ(result.error().message.find('\n'), std::string::npos) << "one line";
  }
  EXPECT_EQ(Files(), (std::vector<std::string>{"bad.c2", "garbage.wav", "speech.wav"}));
}

// WAV -> Ogg Opus -> WAV: the exact duration (pre-skip and end trimming), the waveform,
// and the encoder options applied.
TEST_F(TranscodeTest, WavToOggOpusAndBack) {
  codec::EncoderConfig config;
  config.bitrate_bps = 32000;
  config.frame_ms = 40;
  config.complexity = 5;
  auto there = Run(speech_path_, PathFor("speech.opus"), config);
  ASSERT_TRUE(there.ok()) << there.error().message;
  EXPECT_NE(there->output_description.find("Ogg Opus 32000 bit/s, 40 ms"), std::string::npos)
      << there->output_description;
  const double in_seconds = static_cast<double>(testing::Speech(22050, 0).size()) / 22050;
  EXPECT_EQ(there->packets, static_cast<int64_t>(std::ceil((in_seconds + 0.0065) / 0.040)));
  EXPECT_EQ(there->output_bytes, fs::file_size(PathFor("speech.opus")));
  EXPECT_NEAR(there->payload_bitrate_bps, 32000, 8000);

  auto back = Run(PathFor("speech.opus"), PathFor("back.wav"));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_TRUE(back->warnings.empty());
  EXPECT_NE(back->input_description.find("Ogg Opus mono (from 22050 Hz)"), std::string::npos)
      << back->input_description;
  auto decoded = audio::ReadAudioFile(PathFor("back.wav"));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->sample_rate_hz(), 48000);
  EXPECT_NEAR(decoded->duration_ms().count() / 1000, in_seconds, 1.0 / 22050 + 1e-6);
  const std::vector<int16_t> reference = testing::Speech(48000, 0);
  const std::vector<int16_t> got(decoded->samples().begin(), decoded->samples().end());
  const auto similarity = audio::CompareAligned(reference, got, 48000, 960);
  EXPECT_GT(similarity.correlation, 0.85);  // Opus 24 kbit/s keeps ~0.89 of the waveform
  EXPECT_LE(similarity.lag_samples, 48) << "pre-skip removed the encoder delay";
  EXPECT_EQ(Files(), (std::vector<std::string>{"back.wav", "speech.opus", "speech.wav"}));
}

TEST_F(TranscodeTest, StereoWavToOggOpusStaysStereo) {
  const std::vector<int16_t> tone = testing::Tone(500, 48000, 1.0, 0.3);
  std::vector<int16_t> stereo;
  for (int16_t s : tone) {
    stereo.push_back(s);
    stereo.push_back(static_cast<int16_t>(s / 2));
  }
  ASSERT_TRUE(audio::WriteWavFile(PathFor("st.wav"), audio::AudioFrame({48000, 2}, stereo)).ok());
  ASSERT_TRUE(Run(PathFor("st.wav"), PathFor("st.opus")).ok());
  auto back = Run(PathFor("st.opus"), PathFor("st_back.wav"));
  ASSERT_TRUE(back.ok()) << back.error().message;
  auto decoded = audio::ReadAudioFile(PathFor("st_back.wav"));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->format(), (audio::AudioFormat{48000, 2}));
  EXPECT_EQ(decoded->samples().size(), stereo.size());
}

// A damaged input fails by default, naming the damage; with accept_damaged_input what is
// readable converts and every defect is reported by offset. Same rule for every format.
TEST_F(TranscodeTest, DamagedInputFailsUnlessAcceptedThenConvertsWhatIsReadable) {
  ASSERT_TRUE(Run(speech_path_, PathFor("speech.opus")).ok());
  ASSERT_TRUE(Run(speech_path_, PathFor("speech.gsm")).ok());
  fs::resize_file(PathFor("speech.opus"), fs::file_size(PathFor("speech.opus")) - 100);
  fs::resize_file(PathFor("speech.gsm"), 33 * 30 + 11);
  fs::copy_file(speech_path_, PathFor("cut.wav"));
  fs::resize_file(PathFor("cut.wav"), 44 + 2 * 22050);  // the first second

  struct Case {
    std::string input, expect;
    double min_seconds, max_seconds;
  };
  const double in_seconds = static_cast<double>(testing::Speech(22050, 0).size()) / 22050;
  const std::vector<Case> cases = {
      {"speech.opus", "truncated at offset", 1.0, in_seconds - 0.01},
      {"speech.gsm", "offset 990", 0.6, 0.6},
      {"cut.wav", "truncated", 1.0, 1.0},
  };
  for (const Case& c : cases) {
    auto strict = Run(PathFor(c.input), PathFor("out.wav"));
    ASSERT_FALSE(strict.ok()) << c.input;
    EXPECT_NE(strict.error().message.find(c.expect), std::string::npos) << strict.error().message;
    EXPECT_NE(strict.error().message.find(c.input), std::string::npos);
    EXPECT_FALSE(fs::exists(PathFor("out.wav")));
    EXPECT_FALSE(fs::exists(PathFor("out.wav.partial")));

    TranscodeOptions options;
    options.input_path = PathFor(c.input);
    options.output_path = PathFor("out.wav");
    options.accept_damaged_input = true;
    auto lenient = Transcode(options);
    ASSERT_TRUE(lenient.ok()) << lenient.error().message;
    ASSERT_FALSE(lenient->warnings.empty()) << c.input;
    EXPECT_NE(lenient->warnings[0].find(c.expect), std::string::npos) << lenient->warnings[0];
    EXPECT_GE(lenient->duration_seconds, c.min_seconds - 1e-6) << c.input;
    EXPECT_LE(lenient->duration_seconds, c.max_seconds + 1e-6) << c.input;
    fs::remove(PathFor("out.wav"));
  }
}

TEST_F(TranscodeTest, ChainedOggOpusFailsAndLeavesNothing) {
  ASSERT_TRUE(Run(speech_path_, PathFor("a.opus")).ok());
  {
    std::ifstream in(PathFor("a.opus"), std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    std::ofstream out(PathFor("ab.opus"), std::ios::binary);
    out << bytes.str() << bytes.str();
  }
  auto result = Run(PathFor("ab.opus"), PathFor("ab.wav"));
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("chained stream"), std::string::npos)
      << result.error().message;
  EXPECT_EQ(Files(), (std::vector<std::string>{"a.opus", "ab.opus", "speech.wav"}));
}

TEST_F(TranscodeTest, ProgressIsReportedUpToTheWholeDuration) {
  struct Recorder : TranscodeListener {
    void OnStart(double total) override { total_seconds = total; }
    void OnProgress(double done) override {
      EXPECT_GE(done, last);
      last = done;
      ++calls;
    }
    double total_seconds = 0, last = 0;
    int calls = 0;
  } recorder;
  TranscodeOptions options;
  options.input_path = speech_path_;
  options.output_path = PathFor("x.g722");
  ASSERT_TRUE(Transcode(options, &recorder).ok());
  EXPECT_GT(recorder.calls, 100);
  EXPECT_NEAR(recorder.last, recorder.total_seconds, 1e-9);
}

}  // namespace
}  // namespace parley::container
