#include "parley/playout/merge.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "parley/playout/expand.h"
#include "parley/playout/playout_dsp_test_util.h"
#include "parley/testing/signals.h"
#include "parley/testing/speech.h"

namespace parley::playout {
namespace {

constexpr double kMaxClickRatio = 2.0;

struct Splice {
  std::vector<int16_t> played;  // concealment's last 10 ms, then the merge output
  size_t merge_start = 0;       // index in `played` of the first merged sample
  MergeResult result;
  double gain = 0.0;
};

// Plays speech[0..loss), conceals gap_ms, then merges speech[loss + gap..+20 ms).
Splice RunSplice(std::span<const int16_t> speech, int rate, size_t loss, int gap_ms) {
  const size_t block = static_cast<size_t>(rate / 100);
  Expand expand({.format = {rate, 1}});
  for (size_t p = loss - 10 * block; p < loss; p += block) {
    expand.AppendPlayed(speech.subspan(p, block));
  }
  std::vector<int16_t> concealed(block);
  for (int t = 0; t < gap_ms; t += 10) (void)expand.ConcealFromHistory(concealed);
  Merge merge({.format = {rate, 1}});
  std::vector<int16_t> continuation(static_cast<size_t>(merge.required_continuation_frames()));
  expand.Preview(continuation);
  const auto new_audio = speech.subspan(loss + static_cast<size_t>(gap_ms) * block / 10, 2 * block);
  std::vector<int16_t> out(new_audio.size() + static_cast<size_t>(merge.search_frames()));
  Splice splice;
  splice.gain = expand.voiced_gain();
  splice.result = merge.Run(continuation, new_audio, splice.gain, out);
  splice.played = concealed;
  splice.merge_start = splice.played.size();
  splice.played.insert(splice.played.end(), out.begin(),
                       out.begin() + splice.result.frames_written);
  return splice;
}

TEST(Merge, NoClickAtTheSpliceOnSpeech) {
  for (int rate : {16000, 48000}) {
    const std::vector<int16_t> speech = testing::Speech(rate);
    const size_t block = static_cast<size_t>(rate / 100);
    std::mt19937 rng(2024);
    std::uniform_int_distribution<size_t> where(10 * block, speech.size() - 20 * block);
    const std::array<int, 4> gaps = {10, 20, 40, 60};
    double worst = 0.0;
    double sum = 0.0;
    int faded = 0;
    int tested = 0;
    while (tested < 60) {
      const size_t loss = where(rng);
      const int gap_ms = gaps[static_cast<size_t>(tested) % gaps.size()];
      const size_t resume = loss + static_cast<size_t>(gap_ms) * block / 10;
      // The splice lands in speech: the real audio around it is not silence.
      const auto around = std::span<const int16_t>(speech).subspan(resume - 2 * block, 4 * block);
      if (test::Rms(around) < 300.0) continue;
      const Splice s = RunSplice(speech, rate, loss, gap_ms);
      faded += s.result.faded_in ? 1 : 0;
      const size_t end = s.merge_start + static_cast<size_t>(s.result.inserted_frames) +
                         static_cast<size_t>(rate / 200) + 1;  // through the 5 ms crossfade
      // The audio on both sides of the splice: the concealment heard before it and the
      // new audio after the crossfade. A click is a step steeper than anything in either.
      std::vector<int16_t> sides(s.played.begin(),
                                 s.played.begin() + static_cast<std::ptrdiff_t>(s.merge_start));
      sides.insert(sides.end(), s.played.begin() + static_cast<std::ptrdiff_t>(end),
                   s.played.end());
      const double click = test::ClickRatio(s.played, s.merge_start, end, sides);
      worst = std::max(worst, click);
      sum += click;
      EXPECT_LE(click, kMaxClickRatio) << rate << " Hz, loss at " << loss << ", gap " << gap_ms;
      ++tested;
    }
    std::printf("merge %d Hz: click ratio over %d splices: mean %.2f, worst %.2f\n", rate, tested,
                sum / tested, worst);
  }
}

TEST(Merge, FadesInAfterALongGap) {
  const int rate = 16000;
  const std::vector<int16_t> speech = testing::Speech(rate);
  const std::vector<size_t> voiced = test::VoicedBlocks(speech, rate, 640, 640, 0.9);
  ASSERT_FALSE(voiced.empty());
  const size_t loss = voiced[voiced.size() / 2] + 320;         // resumes mid-way in voiced speech
  const Splice s = RunSplice(speech, rate, loss - 3200, 200);  // resumes in voiced speech
  EXPECT_LT(s.gain, 0.25);
  ASSERT_TRUE(s.result.faded_in);
  EXPECT_EQ(s.result.inserted_frames, 0);
  const auto merged = std::span<const int16_t>(s.played).subspan(s.merge_start);
  const auto fresh = std::span<const int16_t>(speech).subspan(loss - 3200 + 3200, 320);
  // The first 2 ms are far below the new audio, the end (after 10 ms) is the new audio.
  EXPECT_LT(test::Rms(merged.first(32)), 0.3 * test::Rms(fresh.first(32)) + 10.0);
  EXPECT_TRUE(std::equal(merged.begin() + 160, merged.end(), fresh.begin() + 160));
  EXPECT_LE(test::ClickRatio(s.played, s.merge_start, s.merge_start + 161, fresh), kMaxClickRatio);
}

TEST(Merge, AlignsAToneContinuation) {
  const int rate = 16000;
  const std::vector<int16_t> tone = testing::Tone(200.0, rate, 0.1);  // period 80
  Merge merge({.format = {rate, 1}});
  // The new audio starts 30 samples into a cycle of the continuation.
  const std::span<const int16_t> continuation(
      tone.data(), static_cast<size_t>(merge.required_continuation_frames()));
  const std::span<const int16_t> fresh(tone.data() + 30, 320);
  std::vector<int16_t> out(320 + static_cast<size_t>(merge.search_frames()));
  const MergeResult r = merge.Run(continuation, fresh, 1.0, out);
  EXPECT_EQ(r.inserted_frames % 80, 30);
  EXPECT_GT(r.correlation, 0.99);
  EXPECT_EQ(r.frames_written, 320 + r.inserted_frames);
  EXPECT_LE(test::ClickRatio(out, 1, static_cast<size_t>(r.frames_written), tone), 1.1);
}

TEST(Merge, RejectsMisuse) {
  EXPECT_THROW(Merge({.format = {16000, 1}, .overlap_ms = 0.0}), std::invalid_argument);
  Merge merge({.format = {16000, 1}});
  std::vector<int16_t> short_continuation(10);
  std::vector<int16_t> fresh(160);
  std::vector<int16_t> out(1000);
  EXPECT_THROW((void)merge.Run(short_continuation, fresh, 1.0, out), std::invalid_argument);
}

}  // namespace
}  // namespace parley::playout
