#include "parley/audio/audio_frame.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

namespace parley::audio {
namespace {

TEST(AudioFrameTest, CountsFramesPerChannelAndDuration) {
  const AudioFrame stereo({48000, 2}, std::vector<int16_t>(960));
  EXPECT_EQ(stereo.frames(), 480);
  EXPECT_EQ(stereo.channels(), 2);
  EXPECT_EQ(stereo.sample_rate_hz(), 48000);
  EXPECT_EQ(stereo.samples().size(), 960u);
  EXPECT_DOUBLE_EQ(stereo.duration_ms().count(), 10.0);

  const AudioFrame cd({44100, 1}, int64_t{441});
  EXPECT_DOUBLE_EQ(cd.duration_ms().count(), 10.0);
  EXPECT_EQ(cd.samples()[440], 0);
}

TEST(AudioFrameTest, RejectsPartialFramesAndBadFormats) {
  EXPECT_THROW(AudioFrame({48000, 2}, std::vector<int16_t>(3)), std::invalid_argument);
  EXPECT_THROW(AudioFrame({0, 1}, std::vector<int16_t>(3)), std::invalid_argument);
  EXPECT_THROW(AudioFrame({8000, 0}, std::vector<int16_t>{}), std::invalid_argument);
}

TEST(AudioFrameTest, TakeSamplesMovesThemOut) {
  AudioFrame frame({8000, 1}, std::vector<int16_t>{1, 2, 3});
  const std::vector<int16_t> samples = std::move(frame).TakeSamples();
  EXPECT_EQ(samples, (std::vector<int16_t>{1, 2, 3}));
}

TEST(AudioConversionTest, Int16ToFloatToInt16IsExactForEveryValue) {
  std::vector<int16_t> all;
  for (int v = -32768; v <= 32767; ++v) all.push_back(static_cast<int16_t>(v));
  std::vector<float> as_float(all.size());
  std::vector<int16_t> back(all.size());
  ToFloat(all, as_float);
  ToInt16(as_float, back);
  EXPECT_EQ(back, all);
  EXPECT_EQ(as_float.front(), -1.0f);
  EXPECT_LT(as_float.back(), 1.0f);
}

TEST(AudioConversionTest, FloatToInt16RoundsAndSaturates) {
  const std::vector<float> in = {0.0f,
                                 0.5f,
                                 -0.5f,
                                 1.0f,
                                 -1.0f,
                                 1.5f,
                                 -7.0f,
                                 0.4f / 32768,
                                 0.6f / 32768,
                                 -0.6f / 32768,
                                 std::numeric_limits<float>::infinity(),
                                 -std::numeric_limits<float>::infinity(),
                                 std::numeric_limits<float>::quiet_NaN()};
  std::vector<int16_t> out(in.size());
  ToInt16(in, out);
  EXPECT_EQ(out, (std::vector<int16_t>{0, 16384, -16384, 32767, -32768, 32767, -32768, 0, 1, -1,
                                       32767, -32768, 0}));
}

TEST(AudioConversionTest, MismatchedSpansAreMisuse) {
  std::vector<int16_t> i16(4);
  std::vector<float> f(3);
  EXPECT_THROW(ToFloat(i16, f), std::invalid_argument);
  EXPECT_THROW(ToInt16(f, i16), std::invalid_argument);
}

TEST(AudioConversionTest, FrameConversionKeepsFormat) {
  const AudioFrame frame({16000, 2}, std::vector<int16_t>{-32768, 16384, 0, 32767});
  const AudioFrameFloat as_float = ToFloat(frame);
  EXPECT_EQ(as_float.format(), frame.format());
  EXPECT_EQ(as_float.samples()[1], 0.5f);
  const AudioFrame back = ToInt16(as_float);
  EXPECT_EQ(back.format(), frame.format());
  EXPECT_TRUE(std::equal(back.samples().begin(), back.samples().end(), frame.samples().begin()));
}

std::vector<int16_t> Samples(const AudioFrame& frame) {
  return {frame.samples().begin(), frame.samples().end()};
}

TEST(AudioRemixTest, MonoToStereoDuplicates) {
  const AudioFrame mono({8000, 1}, std::vector<int16_t>{1, -2, 3});
  const AudioFrame stereo = RemixChannels(mono, 2);
  EXPECT_EQ(stereo.channels(), 2);
  EXPECT_EQ(stereo.sample_rate_hz(), 8000);
  EXPECT_EQ(Samples(stereo), (std::vector<int16_t>{1, 1, -2, -2, 3, 3}));
}

TEST(AudioRemixTest, StereoToMonoAveragesWithoutClipping) {
  const AudioFrame stereo({8000, 2}, std::vector<int16_t>{100, 200, 32767, 32767, -32768, -32768, 1,
                                                          0, -1, 0, 1000, -1000});
  const AudioFrame mono = RemixChannels(stereo, 1);
  EXPECT_EQ(mono.channels(), 1);
  // Halves round away from zero.
  EXPECT_EQ(Samples(mono), (std::vector<int16_t>{150, 32767, -32768, 1, -1, 0}));
}

TEST(AudioRemixTest, DuplicateThenAverageIsIdentity) {
  const AudioFrame mono({48000, 1}, std::vector<int16_t>{-32768, -1, 0, 1, 32767});
  EXPECT_EQ(Samples(RemixChannels(RemixChannels(mono, 2), 1)), Samples(mono));
}

TEST(AudioRemixTest, GeneralRuleFoldsAndRepeatsChannels) {
  // 4 -> 2: channels 0,2 -> L and 1,3 -> R.
  const AudioFrame quad({8000, 4}, std::vector<int16_t>{10, 20, 30, 40});
  EXPECT_EQ(Samples(RemixChannels(quad, 2)), (std::vector<int16_t>{20, 30}));
  // 3 -> 2: channels 0,2 -> L, channel 1 -> R.
  const AudioFrame three({8000, 3}, std::vector<int16_t>{10, 20, 31});
  EXPECT_EQ(Samples(RemixChannels(three, 2)), (std::vector<int16_t>{21, 20}));
  // 2 -> 4: L R L R.
  const AudioFrame stereo({8000, 2}, std::vector<int16_t>{5, 6});
  EXPECT_EQ(Samples(RemixChannels(stereo, 4)), (std::vector<int16_t>{5, 6, 5, 6}));
  // Same count: a copy.
  EXPECT_EQ(Samples(RemixChannels(stereo, 2)), (std::vector<int16_t>{5, 6}));
  EXPECT_THROW(RemixChannels(stereo, 0), std::invalid_argument);
}

TEST(AudioRemixTest, FloatFramesFollowTheSameRule) {
  const AudioFrameFloat stereo({8000, 2}, std::vector<float>{0.25f, 0.75f, -1.0f, 0.0f});
  const AudioFrameFloat mono = RemixChannels(stereo, 1);
  EXPECT_EQ(std::vector<float>(mono.samples().begin(), mono.samples().end()),
            (std::vector<float>{0.5f, -0.5f}));
}

TEST(AudioRemixTest, SpanVersionsMatchFrameVersions) {
  const std::vector<int16_t> stereo = {100, 200, -7, 8, 32767, 32766};
  std::vector<int16_t> mono(3);
  DownmixToMono(stereo, 2, mono);
  EXPECT_EQ(mono, Samples(RemixChannels(AudioFrame({8000, 2}, stereo), 1)));

  std::vector<int16_t> up(6);
  UpmixFromMono(mono, 2, up);
  EXPECT_EQ(up, Samples(RemixChannels(AudioFrame({8000, 1}, mono), 2)));

  std::vector<float> stereo_f = {0.5f, -0.5f, 1.0f, 0.0f};
  std::vector<float> mono_f(2);
  DownmixToMono(stereo_f, 2, mono_f);
  EXPECT_EQ(mono_f, (std::vector<float>{0.0f, 0.5f}));
  std::vector<float> up_f(4);
  UpmixFromMono(mono_f, 2, up_f);
  EXPECT_EQ(up_f, (std::vector<float>{0.0f, 0.0f, 0.5f, 0.5f}));

  std::vector<int16_t> wrong(2);
  EXPECT_THROW(DownmixToMono(stereo, 2, wrong), std::invalid_argument);
  EXPECT_THROW(UpmixFromMono(mono, 2, wrong), std::invalid_argument);
}

}  // namespace
}  // namespace parley::audio
