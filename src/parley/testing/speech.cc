#include "parley/testing/speech.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "parley/audio/audio_file.h"
#include "parley/audio/audio_frame.h"
#include "parley/audio/resampler.h"

namespace parley::testing {
namespace {

constexpr int kSpeechCount = 3;

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "parley::testing::Speech: %s\n", message.c_str());
  std::fflush(stderr);
  std::abort();
}

// Decodes and resamples a file once per (rate, index); tests ask for the same few often.
std::vector<int16_t> Load(int sample_rate_hz, int index) {
  const std::string path = fmt::format("{}/speech/speech{}.wav", PARLEY_TESTDATA_DIR, index);
  auto file = audio::ReadAudioFile(path);
  if (!file.ok()) {
    Die(fmt::format("cannot load test speech ({}); see testdata/speech/README.md",
                    file.error().message));
  }
  audio::AudioFrame mono = audio::RemixChannels(*file, 1);
  if (!audio::Resampler::IsSupportedRate(sample_rate_hz)) {
    Die(fmt::format("unsupported sample rate {} Hz", sample_rate_hz));
  }
  return audio::Resample(mono, sample_rate_hz).TakeSamples();
}

}  // namespace

int SpeechCount() { return kSpeechCount; }

std::vector<int16_t> Speech(int sample_rate_hz, int index) {
  if (index < 0 || index >= kSpeechCount) {
    Die(fmt::format("index {} outside 0..{}", index, kSpeechCount - 1));
  }
  static std::mutex mutex;
  static std::map<std::pair<int, int>, std::vector<int16_t>> cache;
  std::lock_guard lock(mutex);
  auto it = cache.find({sample_rate_hz, index});
  if (it == cache.end()) {
    it = cache.emplace(std::pair{sample_rate_hz, index}, Load(sample_rate_hz, index)).first;
  }
  return it->second;
}

}  // namespace parley::testing
