// Playout foundation per packet: PacketBuffer insert + pop (in order, and with every
// fourth pair of packets swapped), and DelayManager::Update with 20 ms jitter.
//
//   ./build/release/bench/parley_bench --benchmark_filter='PacketBuffer|DelayManager'
#include <benchmark/benchmark.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <random>
#include <vector>

#include "parley/playout/delay_manager.h"
#include "parley/playout/packet_buffer.h"

namespace {

using namespace parley::playout;

constexpr int64_t kTicksPer20Ms = 960;  // 48 kHz
// 20 ms of Opus at 32 kbit/s.
constexpr size_t kPayloadBytes = 80;
// Packets kept buffered while measuring: a 100 ms target.
constexpr int64_t kDepth = 5;

PacketInfo Info(int64_t seq) {
  PacketInfo info;
  info.timestamp = seq * kTicksPer20Ms;
  info.sequence_number = seq;
  info.payload_type = 111;
  info.duration = kTicksPer20Ms;
  return info;
}

void BM_PacketBufferInsertPopInOrder(benchmark::State& state) {
  PacketBuffer buffer;
  std::array<uint8_t, kPayloadBytes> payload{};
  int64_t seq = 0;
  for (; seq < kDepth; ++seq) (void)buffer.Insert(Info(seq), payload);
  for (auto _ : state) {
    benchmark::DoNotOptimize(buffer.Insert(Info(seq++), payload));
    benchmark::DoNotOptimize(buffer.PeekNext()->payload.data());
    benchmark::DoNotOptimize(buffer.PopNext());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PacketBufferInsertPopInOrder);

void BM_PacketBufferInsertPopReordered(benchmark::State& state) {
  PacketBuffer buffer;
  std::array<uint8_t, kPayloadBytes> payload{};
  // Arrival order 0 1 3 2 4 5 7 6 ...: a quarter of the packets arrive after their
  // successor.
  auto arrival_seq = [](int64_t n) {
    const int64_t r = n % 4;
    return r == 2 ? n + 1 : r == 3 ? n - 1 : n;
  };
  int64_t n = 0;
  for (; n < kDepth; ++n) (void)buffer.Insert(Info(arrival_seq(n)), payload);
  for (auto _ : state) {
    benchmark::DoNotOptimize(buffer.Insert(Info(arrival_seq(n++)), payload));
    benchmark::DoNotOptimize(buffer.GapToNext());
    benchmark::DoNotOptimize(buffer.PopNext());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PacketBufferInsertPopReordered);

void BM_DelayManagerUpdate(benchmark::State& state) {
  constexpr size_t kTrace = 4096;  // precomputed jitter, cycled
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> jitter(0.0, 20.0);
  std::vector<double> jitter_ms(kTrace);
  for (double& j : jitter_ms) j = jitter(rng);
  DelayManager delay;
  int64_t i = 0;
  for (auto _ : state) {
    const double arrival_ms =
        static_cast<double>(i) * 20.0 + 40.0 + jitter_ms[static_cast<size_t>(i) % kTrace];
    const parley::Clock::TimePoint arrival(std::chrono::duration_cast<parley::Clock::Duration>(
        std::chrono::duration<double, std::milli>(arrival_ms)));
    benchmark::DoNotOptimize(delay.Update(i * kTicksPer20Ms, 48000, arrival));
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DelayManagerUpdate);

}  // namespace
