#include "parley/playout/expand.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "parley/audio/similarity.h"
#include "parley/playout/playout_dsp_test_util.h"
#include "parley/testing/signals.h"
#include "parley/testing/speech.h"

namespace parley::playout {
namespace {

// Speech with a steady background at `noise_rms` (int16 units) added.
std::vector<int16_t> NoisySpeech(int rate, double noise_rms) {
  std::vector<int16_t> speech = testing::Speech(rate);
  std::mt19937 rng(11);
  std::normal_distribution<double> dist(0.0, noise_rms);
  for (auto& v : speech) v = static_cast<int16_t>(std::clamp(v + dist(rng), -32768.0, 32767.0));
  return speech;
}

// Feeds `history` to `expand` in 10 ms blocks.
void Play(Expand& expand, std::span<const int16_t> history, int rate) {
  const size_t block = static_cast<size_t>(rate / 100);
  for (size_t p = 0; p < history.size(); p += block) {
    expand.AppendPlayed(history.subspan(p, std::min(block, history.size() - p)));
  }
}

// Concealment of `gap_ms` after speech[0..end), in 10 ms calls.
std::vector<int16_t> Conceal(Expand& expand, int rate, int gap_ms) {
  const size_t block = static_cast<size_t>(rate / 100);
  std::vector<int16_t> out(block * static_cast<size_t>(gap_ms / 10));
  for (size_t p = 0; p < out.size(); p += block) {
    (void)expand.ConcealFromHistory(std::span<int16_t>(out).subspan(p, block));
  }
  return out;
}

TEST(Expand, ShortGapContinuesTheWaveform) {
  for (int rate : {16000, 48000}) {
    const std::vector<int16_t> speech = testing::Speech(rate);
    const int block = rate * 40 / 1000;
    // Voiced points: the 40 ms before them is periodic.
    const std::vector<size_t> voiced = test::VoicedBlocks(speech, rate, block, block, 0.95);
    ASSERT_GE(voiced.size(), 5u);
    const size_t five_ms = static_cast<size_t>(rate / 200);
    double sum = 0.0;
    int count = 0;
    for (size_t start : voiced) {
      // Lost in the middle of the voiced block: history and lost audio are both voiced.
      const size_t end = start + static_cast<size_t>(block / 2);
      if (end < static_cast<size_t>(rate / 10) || end + five_ms > speech.size()) continue;
      Expand expand({.format = {rate, 1}});
      Play(expand, std::span<const int16_t>(speech).first(end), rate);
      std::vector<int16_t> out(static_cast<size_t>(rate / 100));
      const ConcealResult r = expand.ConcealFromHistory(out);
      EXPECT_EQ(r.frames, rate / 100);
      EXPECT_EQ(r.silent_frames, 0);
      EXPECT_EQ(expand.phase(), ConcealmentPhase::kShort);
      const audio::Similarity s =
          audio::CompareAligned(std::span<const int16_t>(speech).subspan(end, five_ms),
                                std::span<const int16_t>(out).first(five_ms), rate, 0);
      sum += s.correlation;
      ++count;
      // The first concealed sample follows the last played one without a click.
      std::vector<int16_t> joined(speech.begin() + static_cast<std::ptrdiff_t>(end - five_ms),
                                  speech.begin() + static_cast<std::ptrdiff_t>(end));
      joined.insert(joined.end(), out.begin(), out.end());
      EXPECT_LE(test::ClickRatio(joined, five_ms, joined.size(),
                                 std::span<const int16_t>(speech).subspan(
                                     end - static_cast<size_t>(block), static_cast<size_t>(block))),
                2.0)
          << "at " << end;
    }
    ASSERT_GT(count, 5);
    const double mean = sum / count;
    std::printf(
        "expand %d Hz: mean correlation of the first 5 ms with the lost speech %.3f over "
        "%d points\n",
        rate, mean, count);
    EXPECT_GE(mean, 0.8) << rate;
  }
}

TEST(Expand, MediumGapDecaysAndIsNeverZero) {
  const int rate = 16000;
  const std::vector<int16_t> speech = testing::Speech(rate);
  const std::vector<size_t> voiced = test::VoicedBlocks(speech, rate, 640, 640, 0.95);
  ASSERT_FALSE(voiced.empty());
  const size_t end = voiced[voiced.size() / 2] + 320;
  Expand expand({.format = {rate, 1}});
  Play(expand, std::span<const int16_t>(speech).first(end), rate);
  const std::vector<int16_t> out = Conceal(expand, rate, 120);
  EXPECT_GT(expand.lag_frames(), 0);
  EXPECT_EQ(expand.phase(), ConcealmentPhase::kLong);
  const size_t seg = static_cast<size_t>(rate / 50);  // 20 ms
  double previous = testing::RmsDbfs(std::span<const int16_t>(out).subspan(seg, seg));
  std::printf("expand decay (dBFS per 20 ms):");
  for (size_t p = 0; p + seg <= out.size(); p += seg) {
    const double level = testing::RmsDbfs(std::span<const int16_t>(out).subspan(p, seg));
    std::printf(" %.1f", level);
    EXPECT_GT(level, -80.0);  // never zero
    if (p >= 2 * seg) {
      EXPECT_LE(level, previous + 1.0) << "segment at " << p;
      previous = level;
    }
  }
  std::printf("\n");
  // -6 dB per 20 ms: after 100 ms, at least 18 dB below the first 20 ms.
  EXPECT_LT(testing::RmsDbfs(std::span<const int16_t>(out).subspan(5 * seg, seg)),
            testing::RmsDbfs(std::span<const int16_t>(out).first(seg)) - 18.0);
}

TEST(Expand, LongGapEndsAtTheBackgroundLevel) {
  const int rate = 48000;
  const double background_rms = 100.0;  // about -50 dBFS
  const std::vector<int16_t> speech = NoisySpeech(rate, background_rms);
  const double background_dbfs = 20.0 * std::log10(background_rms / 32768.0);
  const std::vector<size_t> voiced = test::VoicedBlocks(speech, rate, 1920, 1920, 0.9);
  ASSERT_FALSE(voiced.empty());
  const size_t end = voiced.back() + 960;
  Expand expand({.format = {rate, 1}});
  Play(expand, std::span<const int16_t>(speech).first(end), rate);
  const double history_dbfs =
      testing::RmsDbfs(std::span<const int16_t>(speech).subspan(end - 4800, 4800));
  std::vector<int16_t> out(static_cast<size_t>(rate * 3 / 10));  // 300 ms in one call
  const ConcealResult r = expand.ConcealFromHistory(out);
  EXPECT_EQ(expand.phase(), ConcealmentPhase::kLong);
  EXPECT_EQ(expand.voiced_gain(), 0.0);
  // Silent from 140 ms on (long gap 120 + fade 20).
  EXPECT_EQ(r.silent_frames, rate * 16 / 100);
  const double tail =
      testing::RmsDbfs(std::span<const int16_t>(out).last(static_cast<size_t>(rate / 10)));
  std::printf(
      "expand long gap: background %.1f dBFS (estimate %.1f), comfort %.1f, history "
      "%.1f\n",
      background_dbfs, expand.background_dbfs(), tail, history_dbfs);
  EXPECT_NEAR(tail, background_dbfs, 3.0);
  EXPECT_LT(tail, history_dbfs);
}

TEST(Expand, ComfortNoiseOverDigitalSilenceStaysAtTheFloor) {
  const int rate = 16000;
  Expand expand({.format = {rate, 1}});
  const std::vector<int16_t> tone = testing::Tone(200.0, rate, 0.1, 0.3);
  Play(expand, tone, rate);
  std::vector<int16_t> silence(1600);
  Play(expand, silence, rate);  // background estimate: digital zero
  const std::vector<int16_t> out = Conceal(expand, rate, 200);
  EXPECT_NEAR(testing::RmsDbfs(std::span<const int16_t>(out).last(1600)), -70.0, 1.5);
  // Without any history at all: comfort noise at the floor, never zeros.
  Expand empty({.format = {rate, 1}});
  const std::vector<int16_t> from_nothing = Conceal(empty, rate, 50);
  EXPECT_EQ(empty.lag_frames(), 0);
  EXPECT_NEAR(testing::RmsDbfs(from_nothing), -70.0, 1.5);
}

TEST(Expand, PreviewIsWhatTheNextConcealmentPlays) {
  const int rate = 48000;
  const std::vector<int16_t> speech = testing::Speech(rate);
  Expand expand({.format = {rate, 1}});
  Play(expand, std::span<const int16_t>(speech).first(speech.size() / 2), rate);
  std::vector<int16_t> preview(960);
  std::vector<int16_t> played(960);
  for (int call = 0; call < 8; ++call) {  // into the medium and long phases
    expand.Preview(preview);
    (void)expand.ConcealFromHistory(played);
    EXPECT_EQ(preview, played) << "call " << call;
  }
}

TEST(Expand, DeterministicAndEndsWithRealAudio) {
  const int rate = 16000;
  const std::vector<int16_t> speech = testing::Speech(rate);
  const auto run = [&] {
    Expand expand({.format = {rate, 1}, .seed = 4});
    Play(expand, std::span<const int16_t>(speech).first(8000), rate);
    return Conceal(expand, rate, 200);
  };
  EXPECT_EQ(run(), run());
  Expand expand({.format = {rate, 1}});
  Play(expand, std::span<const int16_t>(speech).first(8000), rate);
  (void)Conceal(expand, rate, 30);
  EXPECT_TRUE(expand.in_event());
  EXPECT_EQ(expand.event_frames(), 480);
  EXPECT_EQ(expand.phase(), ConcealmentPhase::kMedium);
  expand.AppendPlayed(std::span<const int16_t>(speech).subspan(8000, 160));
  EXPECT_FALSE(expand.in_event());
  EXPECT_EQ(expand.phase(), ConcealmentPhase::kNone);
}

TEST(Expand, ShapeCodecPlcAppliesTheSameEnvelope) {
  const int rate = 16000;
  const std::vector<int16_t> tone = testing::Tone(300.0, rate, 0.4, 0.3);
  Expand expand({.format = {rate, 1}});
  Play(expand, std::span<const int16_t>(tone).first(1600), rate);
  std::vector<int16_t> plc(tone.begin() + 1600, tone.begin() + 1600 + 320 * 15);  // 300 ms
  for (size_t p = 0; p < plc.size(); p += 160) {
    (void)expand.ShapeCodecPlc(std::span<int16_t>(plc).subspan(p, 160));
  }
  // First 20 ms untouched, then decaying, at the end comfort noise only (a steady tone
  // never shows a pause, so the comfort level is the cap below the recent level).
  EXPECT_TRUE(std::equal(plc.begin(), plc.begin() + 320, tone.begin() + 1600));
  const double at20 = testing::RmsDbfs(std::span<const int16_t>(plc).subspan(320, 320));
  const double at60 = testing::RmsDbfs(std::span<const int16_t>(plc).subspan(960, 320));
  EXPECT_GT(at20 - at60, 6.0);
  EXPECT_EQ(expand.voiced_gain(), 0.0);
  EXPECT_NEAR(testing::RmsDbfs(std::span<const int16_t>(plc).last(1600)),
              expand.comfort_level_dbfs(), 2.0);
  EXPECT_NEAR(expand.comfort_level_dbfs(), testing::RmsDbfs(tone) - 20.0, 0.5);
}

TEST(Expand, StereoConcealsBothChannels) {
  const int rate = 16000;
  const std::vector<int16_t> tone = testing::Tone(200.0, rate, 0.1, 0.3);
  std::vector<int16_t> stereo(tone.size() * 2);
  for (size_t i = 0; i < tone.size(); ++i) {
    stereo[2 * i] = tone[i];
    stereo[2 * i + 1] = static_cast<int16_t>(tone[i] / 2);
  }
  Expand expand({.format = {rate, 2}});
  expand.AppendPlayed(stereo);
  std::vector<int16_t> out(320);
  (void)expand.ConcealFromHistory(out);
  for (size_t i = 0; i < out.size(); i += 2) EXPECT_NEAR(out[i] / 2, out[i + 1], 1);
  EXPECT_GT(test::Rms(out), 5000.0);
}

TEST(Expand, RejectsMisuse) {
  EXPECT_THROW(Expand({.format = {16000, 9}}), std::invalid_argument);
  EXPECT_THROW(Expand({.history_ms = 30.0}), std::invalid_argument);
  Expand expand({.format = {16000, 2}});
  std::vector<int16_t> odd(3);
  EXPECT_THROW(expand.AppendPlayed(odd), std::invalid_argument);
  EXPECT_THROW((void)expand.ConcealFromHistory(odd), std::invalid_argument);
}

}  // namespace
}  // namespace parley::playout
