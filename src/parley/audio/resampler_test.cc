#include "parley/audio/resampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "parley/testing/signals.h"
#include "parley/testing/speech.h"

namespace parley::audio {
namespace {

using ::parley::testing::RmsDbfs;
using ::parley::testing::SnrDb;
using ::parley::testing::Tone;

// The spec's rates (C1), plus 12 kHz which Opus uses.
constexpr int kRatesHz[] = {8000, 12000, 16000, 24000, 32000, 44100, 48000};

// The middle of a signal, leaving out `edge` of it at each end (filter onset and tail).
std::span<const int16_t> Middle(std::span<const int16_t> x, double edge = 0.1) {
  const auto skip = static_cast<size_t>(x.size() * edge);
  return x.subspan(skip, x.size() - 2 * skip);
}

AudioFrame Mono(int rate_hz, std::vector<int16_t> samples) {
  return AudioFrame({rate_hz, 1}, std::move(samples));
}

// Frequency from the positive-going zero crossings (linearly interpolated) of `x`.
double MeasureFrequencyHz(std::span<const int16_t> x, int rate_hz) {
  double first = -1.0;
  double last = -1.0;
  int crossings = 0;
  for (size_t i = 1; i < x.size(); ++i) {
    if (x[i - 1] < 0 && x[i] >= 0) {
      const double t = (i - 1) + static_cast<double>(-x[i - 1]) / (x[i] - x[i - 1]);
      if (first < 0) first = t;
      last = t;
      ++crossings;
    }
  }
  if (crossings < 2) return 0.0;
  return (crossings - 1) * rate_hz / (last - first);
}

TEST(ResamplerTest, CreateRejectsBadParameters) {
  auto bad_rate = Resampler::Create(44000, 48000, 1);
  ASSERT_FALSE(bad_rate.ok());
  EXPECT_NE(bad_rate.error().message.find("44000"), std::string::npos);
  EXPECT_FALSE(Resampler::Create(48000, 8000, 0).ok());
  EXPECT_FALSE(Resampler::Create(48000, 8000, Resampler::kMaxChannels + 1).ok());
  EXPECT_FALSE(Resampler::Create(48000, 8000, 1, 11).ok());
  EXPECT_FALSE(Resampler::Create(48000, 8000, 1, -1).ok());
  EXPECT_TRUE(Resampler::Create(22050, 12000, 2, 0).ok());
  EXPECT_THROW(Resample(Mono(44000, {1, 2}), 48000), std::invalid_argument);
}

// A 1 kHz tone survives 48 -> 8 -> 48 kHz with SNR >= 40 dB.
TEST(ResamplerTest, ToneSurvives48kTo8kAndBackAbove40DbSnr) {
  const std::vector<int16_t> tone = Tone(1000, 48000, 1.0);
  const AudioFrame down = Resample(Mono(48000, tone), 8000);
  const AudioFrame back = Resample(down, 48000);
  ASSERT_EQ(back.samples().size(), tone.size());
  const double snr_db = SnrDb(Middle(tone), Middle(back.samples()));
  RecordProperty("snr_db", std::to_string(snr_db));
  EXPECT_GE(snr_db, 40.0);
}

// A 6 kHz tone is attenuated >= 40 dB on the way down to 8 kHz (it would alias
// to 2 kHz). Measured over the whole signal, onset included.
TEST(ResamplerTest, SixKilohertzToneIsAttenuatedAtLeast40DbGoingTo8k) {
  const std::vector<int16_t> tone = Tone(6000, 48000, 1.0);
  const AudioFrame down = Resample(Mono(48000, tone), 8000);
  const double attenuation_db = RmsDbfs(tone) - RmsDbfs(down.samples());
  RecordProperty("attenuation_db", std::to_string(attenuation_db));
  EXPECT_GE(attenuation_db, 40.0);
}

TEST(ResamplerTest, PassbandIsFlatUpTo85PercentOfNyquist) {
  const std::vector<int16_t> tone = Tone(3400, 48000, 0.5);
  const AudioFrame down = Resample(Mono(48000, tone), 8000);
  EXPECT_NEAR(RmsDbfs(Middle(down.samples())), RmsDbfs(Middle(tone)), 0.1);
}

class ResamplerPairTest : public ::testing::TestWithParam<std::tuple<int, int>> {};

// A 1 kHz tone keeps its frequency, level and timing between every pair of rates, and the
// output has exactly round(frames * out / in) frames.
TEST_P(ResamplerPairTest, PreservesToneFrequencyLevelAndLength) {
  const auto [in_rate, out_rate] = GetParam();
  const std::vector<int16_t> tone = Tone(1000, in_rate, 0.25);
  const AudioFrame out = Resample(Mono(in_rate, tone), out_rate);
  EXPECT_EQ(out.sample_rate_hz(), out_rate);
  EXPECT_EQ(out.frames(), std::lround(static_cast<double>(tone.size()) * out_rate / in_rate));

  EXPECT_NEAR(MeasureFrequencyHz(Middle(out.samples()), out_rate), 1000.0, 1.0);
  EXPECT_NEAR(RmsDbfs(Middle(out.samples())), RmsDbfs(Middle(tone)), 0.05);
  // Time-aligned: matches the tone generated directly at the output rate.
  const std::vector<int16_t> ideal = Tone(1000, out_rate, 0.25);
  ASSERT_EQ(ideal.size(), out.samples().size());
  EXPECT_GE(SnrDb(Middle(ideal), Middle(out.samples())), 60.0);
}

INSTANTIATE_TEST_SUITE_P(AllRatePairs, ResamplerPairTest,
                         ::testing::Combine(::testing::ValuesIn(kRatesHz),
                                            ::testing::ValuesIn(kRatesHz)),
                         [](const auto& param_info) {
                           return std::to_string(std::get<0>(param_info.param)) + "_to_" +
                                  std::to_string(std::get<1>(param_info.param));
                         });

// Feeds `in` in chunks of the sizes in `pattern` (frames, cycled), then flushes.
template <typename T>
std::vector<T> ProcessInChunks(Resampler& resampler, const std::vector<T>& in,
                               std::initializer_list<int> pattern) {
  std::vector<T> out;
  size_t pos = 0;
  auto size = pattern.begin();
  while (pos < in.size()) {
    const size_t n = std::min(in.size() - pos, static_cast<size_t>(*size) * resampler.channels());
    resampler.Process(std::span<const T>(in).subspan(pos, n), out);
    pos += n;
    if (++size == pattern.end()) size = pattern.begin();
  }
  resampler.Flush(out);
  return out;
}

TEST(ResamplerTest, StreamingInChunksEqualsWholeBuffer) {
  for (auto [in_rate, out_rate] : {std::pair{48000, 16000}, std::pair{44100, 48000},
                                   std::pair{8000, 48000}, std::pair{48000, 22050}}) {
    SCOPED_TRACE(std::to_string(in_rate) + " -> " + std::to_string(out_rate));
    const std::vector<int16_t> speech = parley::testing::Speech(in_rate, 0);
    auto whole = Resampler::Create(in_rate, out_rate, 1);
    ASSERT_TRUE(whole.ok());
    std::vector<int16_t> expected;
    (*whole)->Process(speech, expected);
    (*whole)->Flush(expected);

    auto chunked = Resampler::Create(in_rate, out_rate, 1);
    ASSERT_TRUE(chunked.ok());
    EXPECT_EQ(ProcessInChunks(**chunked, speech, {1, 7, 480, 441, 160, 3}), expected);

    // Flush reset the resampler: a second stream gives the same output again.
    EXPECT_EQ(ProcessInChunks(**chunked, speech, {960}), expected);
  }
}

TEST(ResamplerTest, AlignedStreamingEqualsWholeBufferHelper) {
  const std::vector<int16_t> speech = parley::testing::Speech(44100, 1);
  auto resampler = Resampler::Create(44100, 16000, 1, Resampler::kDefaultQuality,
                                     Resampler::Alignment::kAligned);
  ASSERT_TRUE(resampler.ok());
  const std::vector<int16_t> streamed = ProcessInChunks(**resampler, speech, {441});
  const AudioFrame whole = Resample(Mono(44100, speech), 16000);
  EXPECT_TRUE(
      std::equal(streamed.begin(), streamed.end(), whole.samples().begin(), whole.samples().end()));
}

TEST(ResamplerTest, DelayedOutputLagsAlignedOutputByOutputLatency) {
  const std::vector<int16_t> speech = parley::testing::Speech(48000, 0);
  auto delayed = Resampler::Create(48000, 16000, 1);
  ASSERT_TRUE(delayed.ok());
  const int latency = (*delayed)->output_latency_samples();
  EXPECT_EQ(latency, 40);  // quality 5: 40 samples at the lower rate
  EXPECT_EQ((*delayed)->input_latency_samples(), 120);
  EXPECT_DOUBLE_EQ((*delayed)->latency_ms().count(), 2.5);

  std::vector<int16_t> out;
  (*delayed)->Process(speech, out);
  (*delayed)->Flush(out);
  const AudioFrame aligned = Resample(Mono(48000, speech), 16000);
  ASSERT_EQ(out.size(), aligned.samples().size() + latency);
  for (int i = 0; i < latency; ++i) EXPECT_EQ(out[i], 0) << i;
  for (size_t i = 0; i < aligned.samples().size(); ++i) {
    ASSERT_NEAR(out[i + latency], aligned.samples()[i], 1) << i;
  }
}

TEST(ResamplerTest, FloatPathMatchesInt16Path) {
  const std::vector<int16_t> speech = parley::testing::Speech(16000, 2);
  std::vector<float> speech_float(speech.size());
  ToFloat(speech, speech_float);
  const AudioFrame out16 = Resample(Mono(16000, speech), 48000);
  const AudioFrameFloat out_float =
      Resample(AudioFrameFloat({16000, 1}, std::move(speech_float)), 48000);
  ASSERT_EQ(out_float.samples().size(), out16.samples().size());
  const AudioFrame converted = ToInt16(out_float);
  for (size_t i = 0; i < converted.samples().size(); ++i) {
    ASSERT_NEAR(converted.samples()[i], out16.samples()[i], 1) << i;
  }
}

TEST(ResamplerTest, StereoChannelsStayIndependent) {
  const std::vector<int16_t> tone = Tone(1000, 48000, 0.2);
  std::vector<int16_t> stereo(tone.size() * 2);  // tone left, silence right
  for (size_t i = 0; i < tone.size(); ++i) stereo[2 * i] = tone[i];
  const AudioFrame out = Resample(AudioFrame({48000, 2}, std::move(stereo)), 16000);
  const AudioFrame left_alone = Resample(Mono(48000, tone), 16000);
  ASSERT_EQ(out.frames(), left_alone.frames());
  for (int64_t i = 0; i < out.frames(); ++i) {
    ASSERT_EQ(out.samples()[2 * i], left_alone.samples()[i]) << i;
    ASSERT_EQ(out.samples()[2 * i + 1], 0) << i;
  }
}

TEST(ResamplerTest, ResetForgetsHistory) {
  const std::vector<int16_t> speech = parley::testing::Speech(24000, 0);
  auto resampler = Resampler::Create(24000, 8000, 1);
  ASSERT_TRUE(resampler.ok());
  std::vector<int16_t> first;
  (*resampler)->Process(speech, first);
  std::vector<int16_t> junk;
  (*resampler)->Process(Tone(440, 24000, 0.1), junk);
  (*resampler)->Reset();
  std::vector<int16_t> second;
  (*resampler)->Process(speech, second);
  EXPECT_EQ(second, first);
}

TEST(ResamplerTest, EqualRatesAreAnExactCopyWithoutDelay) {
  const std::vector<int16_t> speech = parley::testing::Speech(16000, 0);
  auto resampler = Resampler::Create(16000, 16000, 1);
  ASSERT_TRUE(resampler.ok());
  EXPECT_EQ((*resampler)->output_latency_samples(), 0);
  std::vector<int16_t> out;
  (*resampler)->Process(speech, out);
  (*resampler)->Flush(out);
  EXPECT_EQ(out, speech);
}

TEST(ResamplerTest, EmptyInputGivesEmptyOutput) {
  EXPECT_TRUE(Resample(Mono(48000, {}), 8000).empty());
  auto resampler = Resampler::Create(48000, 8000, 1);
  ASSERT_TRUE(resampler.ok());
  std::vector<int16_t> out;
  (*resampler)->Flush(out);
  EXPECT_TRUE(out.empty());
}

TEST(ResamplerTest, PartialFramesAreMisuse) {
  auto resampler = Resampler::Create(48000, 8000, 2);
  ASSERT_TRUE(resampler.ok());
  std::vector<int16_t> out;
  const std::vector<int16_t> odd(3);
  EXPECT_THROW((*resampler)->Process(odd, out), std::invalid_argument);
}

}  // namespace
}  // namespace parley::audio
