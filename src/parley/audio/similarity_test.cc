#include "parley/audio/similarity.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "parley/audio/resampler.h"
#include "parley/testing/speech.h"

namespace parley::audio {
namespace {

constexpr int kRateHz = 48000;
constexpr int kMaxLag = 2400;  // 50 ms at 48 kHz

std::vector<int16_t> Delayed(const std::vector<int16_t>& x, int delay) {
  std::vector<int16_t> out(static_cast<size_t>(delay), 0);
  out.insert(out.end(), x.begin(), x.end());
  return out;
}

// x plus white noise `noise_db` below x's power, fixed seed.
std::vector<int16_t> WithNoise(const std::vector<int16_t>& x, double noise_db) {
  double power = 0.0;
  for (int16_t s : x) power += static_cast<double>(s) * s;
  power /= x.size();
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(0.0, std::sqrt(power) * std::pow(10.0, -noise_db / 20));
  std::vector<int16_t> out(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    out[i] = static_cast<int16_t>(std::clamp(std::lround(x[i] + noise(rng)), -32768L, 32767L));
  }
  return out;
}

TEST(SimilarityTest, IdenticalSignalsAreAPerfectMatch) {
  const std::vector<int16_t> speech = parley::testing::Speech(kRateHz, 0);
  const Similarity s = CompareAligned(speech, speech, kRateHz, kMaxLag);
  EXPECT_EQ(s.lag_samples, 0);
  EXPECT_NEAR(s.correlation, 1.0, 1e-12);
  EXPECT_EQ(s.snr_db, kMaxSnrDb);
  EXPECT_EQ(s.segmental_snr_db, kMaxSegmentSnrDb);
}

TEST(SimilarityTest, FindsAnOpusLikeDelay) {
  const std::vector<int16_t> speech = parley::testing::Speech(kRateHz, 1);
  constexpr int kOpusDelay = 312;  // 6.5 ms at 48 kHz
  const Similarity s = CompareAligned(speech, Delayed(speech, kOpusDelay), kRateHz, kMaxLag);
  EXPECT_EQ(s.lag_samples, kOpusDelay);
  EXPECT_NEAR(s.correlation, 1.0, 1e-12);
  EXPECT_EQ(s.snr_db, kMaxSnrDb);
}

TEST(SimilarityTest, FindsDelaysAcrossTheWholeRange) {
  const std::vector<int16_t> speech = parley::testing::Speech(16000, 2);
  for (int delay : {0, 1, 5, 79, 160, 799, 800}) {
    const Similarity s = CompareAligned(speech, Delayed(speech, delay), 16000, 800);
    EXPECT_EQ(s.lag_samples, delay);
  }
}

TEST(SimilarityTest, MeasuresSnrOfANoisyDelayedCopy) {
  const std::vector<int16_t> speech = parley::testing::Speech(kRateHz, 2);
  const std::vector<int16_t> degraded = Delayed(WithNoise(speech, 20.0), 1000);
  const Similarity s = CompareAligned(speech, degraded, kRateHz, kMaxLag);
  EXPECT_EQ(s.lag_samples, 1000);
  EXPECT_NEAR(s.snr_db, 20.0, 0.5);
  EXPECT_GT(s.correlation, 0.99);
  // Noise is spread evenly while speech is not, so quiet segments score lower.
  EXPECT_LT(s.segmental_snr_db, s.snr_db);
  EXPECT_GT(s.segmental_snr_db, 0.0);
}

TEST(SimilarityTest, FindsTheDelayOfAResampledCopy) {
  const std::vector<int16_t> speech = parley::testing::Speech(kRateHz, 0);
  // A narrowband round trip (48 -> 8 -> 48 kHz) loses everything above 4 kHz.
  const AudioFrame narrow = Resample(Resample(AudioFrame({kRateHz, 1}, speech), 8000), kRateHz);
  const std::vector<int16_t> narrow_samples(narrow.samples().begin(), narrow.samples().end());
  const Similarity s = CompareAligned(speech, Delayed(narrow_samples, 437), kRateHz, kMaxLag);
  EXPECT_EQ(s.lag_samples, 437);
  EXPECT_GT(s.correlation, 0.9);
}

TEST(SimilarityTest, NoiseDoesNotCorrelateWithSpeech) {
  const std::vector<int16_t> speech = parley::testing::Speech(kRateHz, 0);
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> uniform(-8000, 8000);
  std::vector<int16_t> noise(speech.size());
  for (int16_t& s : noise) s = static_cast<int16_t>(uniform(rng));
  const Similarity s = CompareAligned(speech, noise, kRateHz, kMaxLag);
  EXPECT_LT(std::abs(s.correlation), 0.05);
  EXPECT_LT(s.snr_db, 0.0);
  EXPECT_LE(s.segmental_snr_db, 0.0);
}

TEST(SimilarityTest, DifferentSpeechDoesNotCorrelate) {
  const Similarity s = CompareAligned(parley::testing::Speech(kRateHz, 0),
                                      parley::testing::Speech(kRateHz, 1), kRateHz, kMaxLag);
  EXPECT_LT(std::abs(s.correlation), 0.2);
}

TEST(SimilarityTest, SilentReferenceSegmentsAreSkipped) {
  const std::vector<int16_t> speech = parley::testing::Speech(kRateHz, 0);
  std::vector<int16_t> reference(kRateHz / 2, 0);  // 0.5 s of silence, then speech
  reference.insert(reference.end(), speech.begin(), speech.end());
  std::vector<int16_t> degraded = reference;
  // Noise where the reference is silent: it hurts the overall SNR only a little and the
  // segmental SNR not at all.
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> uniform(-300, 300);
  for (int i = 0; i < kRateHz / 2; ++i) degraded[i] = static_cast<int16_t>(uniform(rng));
  const Similarity s = CompareAligned(reference, degraded, kRateHz, 0);
  EXPECT_EQ(s.segmental_snr_db, kMaxSegmentSnrDb);
  EXPECT_LT(s.snr_db, kMaxSnrDb);
}

TEST(SimilarityTest, AllSilentReferenceHasNoSegmentalSnr) {
  const std::vector<int16_t> silence(kRateHz, 0);
  const Similarity s = CompareAligned(silence, silence, kRateHz, 100);
  EXPECT_TRUE(std::isnan(s.segmental_snr_db));
  EXPECT_EQ(s.correlation, 0.0);
}

TEST(SimilarityTest, EmptyInputsAndBadArguments) {
  const std::vector<int16_t> empty;
  const std::vector<int16_t> some(100, 5);
  const Similarity s = CompareAligned(empty, some, kRateHz, 10);
  EXPECT_EQ(s.correlation, 0.0);
  EXPECT_TRUE(std::isnan(s.snr_db));
  EXPECT_THROW(CompareAligned(some, some, 0, 10), std::invalid_argument);
  EXPECT_THROW(CompareAligned(some, some, kRateHz, -1), std::invalid_argument);
}

}  // namespace
}  // namespace parley::audio
