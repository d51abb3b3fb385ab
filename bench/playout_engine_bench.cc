// The playout engine's cost per 10 ms of one Opus stream (48 kHz mono, 20 ms packets,
// perfect network: one Insert per 20 ms, one Pull10ms per 10 ms) against bare libopus
// decoding of the same packets. The ratio of the two is the engine's overhead.
//
//   ./build/release/bench/parley_bench --benchmark_filter=PlayoutEngine
#include <benchmark/benchmark.h>

#include <cstdlib>
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

void BM_PlayoutEngineOpus(benchmark::State& state) {
  const auto& packets = Packets();
  parley::SimulatedClock clock;
  parley::playout::PlayoutEngine engine(clock, {});
  std::vector<int16_t> block(kRate / 100);
  uint32_t seq = 0;
  for (auto _ : state) {
    // One packet (20 ms) and two pulls per iteration.
    const auto& p = packets[seq % packets.size()];
    parley::playout::PlayoutEngine::Packet packet{111, static_cast<uint16_t>(seq),
                                                  seq * kPacketFrames, p};
    if (!engine.InsertPacket(packet).ok()) std::abort();
    ++seq;
    for (int k = 0; k < 2; ++k) {
      auto info = engine.Pull10ms(block);
      benchmark::DoNotOptimize(info);
      clock.Advance(std::chrono::milliseconds(10));
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(2 * seq));
}
BENCHMARK(BM_PlayoutEngineOpus);

}  // namespace
