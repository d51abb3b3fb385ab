// The playout engine's cost per 10 ms of one Opus stream (48 kHz mono, 20 ms packets,
// perfect network: one Insert per 20 ms, one Pull10ms per 10 ms) against bare libopus
// decoding of the same packets. The ratio of the two is the engine's overhead.
//
// The two halves are also timed apart (manual time around each call): InsertPacket per
// packet and Pull10ms per block. BM_PlayoutEngineMemory reports the memory of one stream:
// sizeof(PlayoutEngine) plus the heap it owns, measured with glibc mallinfo2() (bytes in
// use) before and after constructing 64 engines.
//
//   ./build/release/bench/parley_bench --benchmark_filter=PlayoutEngine
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <vector>

#include "parley/audio/audio_file.h"
#include "parley/audio/resampler.h"
#include "parley/base/clock.h"
#include "parley/codec/opus_codec.h"
#include "parley/playout/playout_engine.h"

namespace {

constexpr int kRate = 48000;
constexpr int kPacketFrames = kRate / 50;

const std::vector<std::vector<uint8_t>>& Packets() {
  static const std::vector<std::vector<uint8_t>> packets = [] {
    auto file = parley::audio::ReadAudioFile(PARLEY_TESTDATA_DIR "/speech/speech0.wav");
    if (!file) std::abort();
    const std::vector<int16_t> speech = parley::audio::Resample(*file, kRate).TakeSamples();
    auto encoder = parley::codec::OpusAudioEncoder::Create(kRate, 1, {});
    if (!encoder.ok()) std::abort();
    std::vector<std::vector<uint8_t>> out;
    std::vector<uint8_t> buf(1500);
    for (size_t p = 0; p + kPacketFrames <= speech.size(); p += kPacketFrames) {
      auto n = (*encoder)->Encode(std::span(speech).subspan(p, kPacketFrames), buf);
      if (!n.ok()) std::abort();
      out.emplace_back(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
    }
    return out;
  }();
  return packets;
}

// Items are 10 ms blocks: the time per item is the cost per 10 ms.
void BM_BareOpusDecode(benchmark::State& state) {
  const auto& packets = Packets();
  auto decoder = parley::codec::OpusAudioDecoder::Create(kRate, 1);
  std::vector<int16_t> out(kPacketFrames);
  size_t i = 0;
  for (auto _ : state) {
    auto n = (*decoder)->Decode(packets[i % packets.size()], out);
    benchmark::DoNotOptimize(n);
    ++i;
  }
  state.SetItemsProcessed(static_cast<int64_t>(2 * i));
}
BENCHMARK(BM_BareOpusDecode);

// One Opus stream fed to an engine on a simulated clock: an insert per 20 ms packet and
// a pull per 10 ms. Each call returns the wall time it took, for the split benchmarks.
class EngineStream {
 public:
  double InsertNext() {
    const auto& p = packets_[seq_ % packets_.size()];
    const parley::playout::PlayoutEngine::Packet packet{111, static_cast<uint16_t>(seq_),
                                                        seq_ * kPacketFrames, p};
    const auto t0 = std::chrono::steady_clock::now();
    const auto status = engine_.InsertPacket(packet);
    const auto t1 = std::chrono::steady_clock::now();
    if (!status.ok()) std::abort();
    ++seq_;
    return std::chrono::duration<double>(t1 - t0).count();
  }
  double Pull() {
    const auto t0 = std::chrono::steady_clock::now();
    auto info = engine_.Pull10ms(block_);
    const auto t1 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(info);
    clock_.Advance(std::chrono::milliseconds(10));
    return std::chrono::duration<double>(t1 - t0).count();
  }
  int64_t packets_inserted() const { return seq_; }

 private:
  const std::vector<std::vector<uint8_t>>& packets_ = Packets();
  parley::SimulatedClock clock_;
  parley::playout::PlayoutEngine engine_{clock_, {}};
  std::vector<int16_t> block_ = std::vector<int16_t>(kRate / 100);
  uint32_t seq_ = 0;
};

// One packet (20 ms) and two pulls per iteration (items: 10 ms blocks).
void BM_PlayoutEngineOpus(benchmark::State& state) {
  EngineStream stream;
  for (auto _ : state) {
    stream.InsertNext();
    stream.Pull();
    stream.Pull();
  }
  state.SetItemsProcessed(2 * stream.packets_inserted());
}
BENCHMARK(BM_PlayoutEngineOpus);

// The same stream; the time is that of InsertPacket only (items: packets).
void BM_PlayoutEngineInsert(benchmark::State& state) {
  EngineStream stream;
  for (auto _ : state) {
    const double seconds = stream.InsertNext();
    stream.Pull();
    stream.Pull();
    state.SetIterationTime(seconds);
  }
  state.SetItemsProcessed(stream.packets_inserted());
}
BENCHMARK(BM_PlayoutEngineInsert)->UseManualTime();

// The same stream; the time is that of Pull10ms only (items: 10 ms blocks).
void BM_PlayoutEnginePull10ms(benchmark::State& state) {
  EngineStream stream;
  for (auto _ : state) {
    stream.InsertNext();
    state.SetIterationTime(stream.Pull() + stream.Pull());
  }
  state.SetItemsProcessed(2 * stream.packets_inserted());
}
BENCHMARK(BM_PlayoutEnginePull10ms)->UseManualTime();

// Memory per stream (default config: 48 kHz mono, Opus): counters, not a time.
void BM_PlayoutEngineMemory(benchmark::State& state) {
  constexpr int kEngines = 64;
  parley::SimulatedClock clock;
  double heap_per_engine = 0;
  for (auto _ : state) {
    std::vector<std::unique_ptr<parley::playout::PlayoutEngine>> engines;
    engines.reserve(kEngines);
    const size_t before = mallinfo2().uordblks;
    for (int i = 0; i < kEngines; ++i) {
      engines.push_back(std::make_unique<parley::playout::PlayoutEngine>(
          clock, parley::playout::PlayoutEngineConfig{}));
    }
    const size_t after = mallinfo2().uordblks;
    // Each engine's own allocation (sizeof) is part of the difference: take it out.
    heap_per_engine = (static_cast<double>(after) - static_cast<double>(before)) / kEngines -
                      static_cast<double>(sizeof(parley::playout::PlayoutEngine));
  }
  state.counters["sizeof_bytes"] = static_cast<double>(sizeof(parley::playout::PlayoutEngine));
  state.counters["heap_bytes"] = heap_per_engine;
  state.counters["total_bytes"] =
      heap_per_engine + static_cast<double>(sizeof(parley::playout::PlayoutEngine));
}
BENCHMARK(BM_PlayoutEngineMemory)->Iterations(3);

}  // namespace
