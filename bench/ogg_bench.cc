// Ogg Opus container throughput: writing and reading 20 ms Opus packets already encoded
// (the container's own cost, without the codec).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "parley/container/ogg_opus_reader.h"
#include "parley/container/ogg_opus_writer.h"

namespace {

using namespace parley::container;

// A plausible 24 kbit/s voice packet: 60 bytes with a valid 20 ms SILK-WB TOC.
std::vector<uint8_t> VoicePacket() {
  std::vector<uint8_t> packet(60, 0x5a);
  packet[0] = 0x48;  // config 9 (SILK WB 20 ms), mono, code 0
  return packet;
}

std::string TempPath(const char* name) {
  return (std::filesystem::temp_directory_path() / name).string();
}

constexpr int kPacketsPerFile = 3000;  // one minute of audio

void BM_OggOpusWrite(benchmark::State& state) {
  const std::vector<uint8_t> packet = VoicePacket();
  const std::string path = TempPath("parley_ogg_bench_write.opus");
  for (auto _ : state) {
    auto writer = OggOpusWriter::Open(path, {});
    if (!writer) {
      state.SkipWithError(writer.error().message.c_str());
      return;
    }
    for (int i = 0; i < kPacketsPerFile; ++i) {
      if (!(*writer)->WritePacket(packet, 960)) state.SkipWithError("write failed");
    }
    if (!(*writer)->Close()) state.SkipWithError("close failed");
  }
  state.SetItemsProcessed(state.iterations() * kPacketsPerFile);
  std::filesystem::remove(path);
}
BENCHMARK(BM_OggOpusWrite)->Unit(benchmark::kMillisecond);

void BM_OggOpusRead(benchmark::State& state) {
  const std::vector<uint8_t> packet = VoicePacket();
  const std::string path = TempPath("parley_ogg_bench_read.opus");
  {
    auto writer = OggOpusWriter::Open(path, {});
    for (int i = 0; i < kPacketsPerFile; ++i) (void)(*writer)->WritePacket(packet, 960);
    (void)(*writer)->Close();
  }
  for (auto _ : state) {
    auto reader = OggOpusReader::Open(path);
    if (!reader) {
      state.SkipWithError(reader.error().message.c_str());
      return;
    }
    int64_t packets = 0;
    while (true) {
      auto next = (*reader)->ReadPacket();
      if (!next || !*next) break;
      ++packets;
    }
    if (packets != kPacketsPerFile) state.SkipWithError("packets lost");
  }
  state.SetItemsProcessed(state.iterations() * kPacketsPerFile);
  std::filesystem::remove(path);
}
BENCHMARK(BM_OggOpusRead)->Unit(benchmark::kMillisecond);

}  // namespace
