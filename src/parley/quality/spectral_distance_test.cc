#include "parley/quality/spectral_distance.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <span>
#include <stdexcept>
#include <thread>
#include <vector>

#include "parley/testing/signals.h"
#include "parley/testing/speech.h"

namespace parley::quality {
namespace {

constexpr int kRate = 16000;
constexpr int kFrame = 320;  // 20 ms at 16 kHz

// `signal` plus white noise `snr_db` below its RMS level (uniform noise from a fixed seed).
std::vector<int16_t> WithNoise(const std::vector<int16_t>& signal, double snr_db, uint32_t seed) {
  double energy = 0.0;
  for (int16_t s : signal) energy += static_cast<double>(s) * s;
  const double signal_rms = std::sqrt(energy / static_cast<double>(signal.size()));
  // Uniform in [-a, a] has RMS a / sqrt(3).
  const double a = signal_rms * std::pow(10.0, -snr_db / 20.0) * std::sqrt(3.0);
  std::mt19937 rng(seed);
  std::vector<int16_t> out(signal.size());
  for (size_t i = 0; i < signal.size(); ++i) {
    const double u = rng() / 4294967295.0 * 2.0 - 1.0;
    out[i] = static_cast<int16_t>(std::clamp(std::lround(signal[i] + a * u), -32768L, 32767L));
  }
  return out;
}

TEST(SpectralDistanceTest, IdenticalSignalsAreZero) {
  const std::vector<int16_t> speech = testing::Speech(kRate);
  const SpectralDistanceSummary summary = MeanSpectralDistance(speech, speech, kRate);
  EXPECT_GT(summary.frames_compared, 50);
  EXPECT_EQ(summary.mean_db, 0.0);
  EXPECT_EQ(summary.max_db, 0.0);
}

// Uniform white noise at `rms_dbfs`, fixed seed.
std::vector<int16_t> WhiteNoise(size_t samples, double rms_dbfs, uint32_t seed) {
  const double a = 32768.0 * std::pow(10.0, rms_dbfs / 20.0) * std::sqrt(3.0);
  std::mt19937 rng(seed);
  std::vector<int16_t> out(samples);
  for (int16_t& s : out) s = static_cast<int16_t>(std::lround(a * (rng() / 4294967295.0 * 2 - 1)));
  return out;
}

TEST(SpectralDistanceTest, NoiseAt20DbBelowABroadbandSignalIsSmall) {
  // A flat-spectrum reference at -20 dBFS plus independent noise 20 dB lower: every bin
  // keeps its level within a few dB. Measured: 1.43 dB.
  const std::vector<int16_t> reference = WhiteNoise(kRate, -20.0, 3);
  const SpectralDistanceSummary summary =
      MeanSpectralDistance(reference, WithNoise(reference, 20.0, 4), kRate);
  std::printf("white noise + noise at -20 dB: LSD %.2f dB\n", summary.mean_db);
  EXPECT_GT(summary.mean_db, 0.1);
  EXPECT_LT(summary.mean_db, 2.0);
}

TEST(SpectralDistanceTest, NoiseOnSpeechGrowsWithItsLevel) {
  // Speech has a steep spectral tilt, so white noise 20 dB below its overall level still
  // covers its weak upper bins by tens of dB: LSD is large although SNR is 20 dB.
  // Measured: 20.0 dB at -20 dB, 8.9 dB at -40 dB, 2.3 dB at -60 dB.
  const std::vector<int16_t> speech = testing::Speech(kRate);
  const double at20 = MeanSpectralDistance(speech, WithNoise(speech, 20.0, 1), kRate).mean_db;
  const double at40 = MeanSpectralDistance(speech, WithNoise(speech, 40.0, 2), kRate).mean_db;
  const double at60 = MeanSpectralDistance(speech, WithNoise(speech, 60.0, 5), kRate).mean_db;
  std::printf("speech + white noise at -20/-40/-60 dB: LSD %.2f / %.2f / %.2f dB\n", at20, at40,
              at60);
  EXPECT_GT(at20, at40 + 5.0);
  EXPECT_GT(at40, at60 + 3.0);
  EXPECT_LT(at20, 30.0);
}

TEST(SpectralDistanceTest, SpeechAgainstSilenceIsLarge) {
  // Silence sits on the -90 dB floor; speech bins are up to 60 dB above it. Measured: 43.0 dB.
  const std::vector<int16_t> speech = testing::Speech(kRate);
  const std::vector<int16_t> silence(speech.size(), 0);
  const SpectralDistanceSummary summary = MeanSpectralDistance(speech, silence, kRate);
  std::printf("speech vs silence: LSD %.2f dB\n", summary.mean_db);
  EXPECT_GT(summary.mean_db, 30.0);
}

TEST(SpectralDistanceTest, DifferentTonesAreFarApart) {
  // 1 kHz and 2.5 kHz fall on bins 20 and 50 (50 Hz bins): each differs from the other by
  // ~90 dB (level over the floor) in the 3 bins of its window main lobe and agrees
  // elsewhere, so LSD ~ sqrt(6 x 90^2 / 161) ~ 17 dB. Measured: 18.8 dB.
  const std::vector<int16_t> a = testing::Tone(1000.0, kRate, 0.5);
  const std::vector<int16_t> b = testing::Tone(2500.0, kRate, 0.5);
  const double apart = MeanSpectralDistance(a, b, kRate).mean_db;
  std::printf("1 kHz vs 2.5 kHz: LSD %.2f dB\n", apart);
  EXPECT_GT(apart, 15.0);
  // The same tone 1 dB quieter differs by 1 dB where it has energy and hardly at all
  // elsewhere (both on the floor). Measured: 0.52 dB.
  const std::vector<int16_t> quieter = testing::Tone(1000.0, kRate, 0.5, 0.5 * 0.891251);
  const double level = MeanSpectralDistance(a, quieter, kRate).mean_db;
  std::printf("1 kHz vs the same 1 dB quieter: LSD %.2f dB\n", level);
  EXPECT_LT(level, 1.0);
}

TEST(SpectralDistanceTest, MaxFrequencyLimitsTheComparedBand) {
  // Reference: 500 Hz + 6 kHz; degraded: 500 Hz only (as through a 4 kHz low-pass).
  // Measured: 12.7 dB over the full band, 0.21 dB below 4 kHz.
  std::vector<int16_t> low = testing::Tone(500.0, kRate, 0.5, 0.3);
  const std::vector<int16_t> high = testing::Tone(6000.0, kRate, 0.5, 0.3);
  std::vector<int16_t> both(low.size());
  for (size_t i = 0; i < low.size(); ++i) both[i] = static_cast<int16_t>(low[i] + high[i]);
  SpectralDistanceConfig narrow;
  narrow.options.max_frequency_hz = 4000.0;
  const double full_band = MeanSpectralDistance(both, low, kRate).mean_db;
  const double below_4k = MeanSpectralDistance(both, low, kRate, narrow).mean_db;
  std::printf("0.5+6 kHz vs 0.5 kHz: LSD %.2f dB full band, %.2f dB below 4 kHz\n", full_band,
              below_4k);
  EXPECT_GT(full_band, 10.0);
  EXPECT_LT(below_4k, 1.0);
}

TEST(SpectralDistanceTest, SilentReferenceFramesAreSkipped) {
  // 0.5 s of silence, then 0.5 s of tone: with 20 ms frames every 10 ms, the 49 frames
  // wholly in the silence are skipped (the one straddling the edge is not silent).
  std::vector<int16_t> reference(kRate / 2, 0);
  const std::vector<int16_t> tone = testing::Tone(1000.0, kRate, 0.5);
  reference.insert(reference.end(), tone.begin(), tone.end());
  const SpectralDistanceSummary summary = MeanSpectralDistance(reference, reference, kRate);
  EXPECT_EQ(summary.frames_silent, 49);
  EXPECT_EQ(summary.frames_compared, 99 - 49);

  const std::vector<int16_t> silence(kRate, 0);
  const SpectralDistanceSummary none = MeanSpectralDistance(silence, tone, kRate);
  EXPECT_EQ(none.frames_compared, 0);
  EXPECT_TRUE(std::isnan(none.mean_db));
}

TEST(SpectralDistanceTest, FrameApiMatchesTheWholeSignalApi) {
  const std::vector<int16_t> speech = testing::Speech(kRate);
  const std::vector<int16_t> noisy = WithNoise(speech, 30.0, 6);
  SpectralDistance distance(kRate, kFrame);
  const size_t start = static_cast<size_t>(kRate);  // 1 s in, inside speech
  const std::span<const int16_t> ref = std::span(speech).subspan(start, kFrame);
  const std::span<const int16_t> deg = std::span(noisy).subspan(start, kFrame);
  ASSERT_GT(FrameLevelDbfs(ref), audio::kSilenceDbfs);
  // A signal of exactly one frame is compared as that one frame.
  EXPECT_DOUBLE_EQ(distance.FrameDb(ref, deg), MeanSpectralDistance(ref, deg, kRate).mean_db);
  EXPECT_EQ(distance.FrameDb(ref, ref), 0.0);
}

TEST(SpectralDistanceTest, MisuseThrows) {
  EXPECT_THROW(SpectralDistance(0, kFrame), std::invalid_argument);
  EXPECT_THROW(SpectralDistance(kRate, 8), std::invalid_argument);
  SpectralDistanceOptions beyond_nyquist;
  beyond_nyquist.max_frequency_hz = 9000.0;
  EXPECT_THROW(SpectralDistance(kRate, kFrame, beyond_nyquist), std::invalid_argument);
  SpectralDistance distance(kRate, kFrame);
  const std::vector<int16_t> short_frame(kFrame - 1, 0);
  const std::vector<int16_t> frame(kFrame, 0);
  EXPECT_THROW(distance.FrameDb(short_frame, frame), std::invalid_argument);
  SpectralDistanceConfig tiny;
  tiny.frame_ms = 0.5;
  EXPECT_THROW(MeanSpectralDistance(frame, frame, kRate, tiny), std::invalid_argument);
}

TEST(SpectralDistanceTest, InstancesOnSeveralThreadsAgree) {
  // Plans are made and destroyed concurrently; each thread's figure must be the one a
  // single thread computes.
  const std::vector<int16_t> speech = testing::Speech(kRate);
  const std::vector<int16_t> noisy = WithNoise(speech, 30.0, 8);
  const double expected = MeanSpectralDistance(speech, noisy, kRate).mean_db;
  std::vector<double> results(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < results.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 5; ++round) {
        results[t] = MeanSpectralDistance(speech, noisy, kRate).mean_db;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const double result : results) EXPECT_EQ(result, expected);
}

}  // namespace
}  // namespace parley::quality
