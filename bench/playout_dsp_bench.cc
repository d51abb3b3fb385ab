// Playout DSP per 10 ms block at 48 kHz mono, on speech: accelerate and preemptive
// expand (40 ms analysis block, as the engine passes), concealment from history, and a
// merge (alignment search + crossfade).
//
//   ./build/release/bench/parley_bench --benchmark_filter=PlayoutDsp
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <vector>

#include "parley/audio/audio_file.h"
#include "parley/audio/resampler.h"
#include "parley/playout/expand.h"
#include "parley/playout/merge.h"
#include "parley/playout/time_stretch.h"

namespace {

using namespace parley::playout;

constexpr int kRate = 48000;
constexpr size_t kBlock = kRate / 100;    // 10 ms
constexpr size_t kAnalysis = 4 * kBlock;  // 40 ms: lags up to 20 ms

const std::vector<int16_t>& Speech48k() {
  static const std::vector<int16_t> speech = [] {
    auto file = parley::audio::ReadAudioFile(PARLEY_TESTDATA_DIR "/speech/speech0.wav");
    if (!file) std::abort();
    return parley::audio::Resample(*file, kRate).TakeSamples();
  }();
  return speech;
}

// Each iteration works on the next block of speech, round robin.
template <typename Op>
void ForEachBlock(benchmark::State& state, size_t length, Op op) {
  const std::vector<int16_t>& speech = Speech48k();
  size_t pos = 0;
  for (auto _ : state) {
    if (pos + length > speech.size()) pos = 0;
    op(std::span<const int16_t>(speech.data() + pos, length));
    pos += kBlock;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_PlayoutDspAccelerate(benchmark::State& state) {
  TimeStretch stretch({.format = {kRate, 1}});
  std::vector<int16_t> out(kAnalysis);
  ForEachBlock(state, kAnalysis, [&](std::span<const int16_t> in) {
    benchmark::DoNotOptimize(stretch.Accelerate(in, out));
  });
}
BENCHMARK(BM_PlayoutDspAccelerate);

void BM_PlayoutDspPreemptiveExpand(benchmark::State& state) {
  TimeStretch stretch({.format = {kRate, 1}});
  std::vector<int16_t> out(kAnalysis + static_cast<size_t>(stretch.max_lag_frames()));
  ForEachBlock(state, kAnalysis, [&](std::span<const int16_t> in) {
    benchmark::DoNotOptimize(stretch.PreemptiveExpand(in, out));
  });
}
BENCHMARK(BM_PlayoutDspPreemptiveExpand);

// One 10 ms concealment block; each event is 60 ms (a new event every 6 blocks starts
// with the pitch analysis, as in a run of single losses).
void BM_PlayoutDspExpand(benchmark::State& state) {
  Expand expand({.format = {kRate, 1}});
  std::vector<int16_t> out(kBlock);
  int block = 0;
  ForEachBlock(state, kBlock, [&](std::span<const int16_t> in) {
    if (block++ % 6 == 0) expand.AppendPlayed(in);
    benchmark::DoNotOptimize(expand.ConcealFromHistory(out));
  });
}
BENCHMARK(BM_PlayoutDspExpand);

// Preview of the continuation plus the merge of a 10 ms block.
void BM_PlayoutDspMerge(benchmark::State& state) {
  Expand expand({.format = {kRate, 1}});
  Merge merge({.format = {kRate, 1}});
  std::vector<int16_t> continuation(static_cast<size_t>(merge.required_continuation_frames()));
  std::vector<int16_t> out(kBlock + static_cast<size_t>(merge.search_frames()));
  std::vector<int16_t> concealed(kBlock);
  const std::vector<int16_t>& speech = Speech48k();
  for (size_t p = speech.size() / 2; p < speech.size() / 2 + 10 * kBlock; p += kBlock) {
    expand.AppendPlayed(std::span<const int16_t>(speech.data() + p, kBlock));
  }
  (void)expand.ConcealFromHistory(concealed);
  ForEachBlock(state, kBlock, [&](std::span<const int16_t> in) {
    expand.Preview(continuation);
    benchmark::DoNotOptimize(merge.Run(continuation, in, 1.0, out));
  });
}
BENCHMARK(BM_PlayoutDspMerge);

}  // namespace
