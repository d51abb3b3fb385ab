// Ogg Opus reader: any bytes, read in memory through fmemopen, must never crash, hang or
// leak; whatever is accepted is also decoded (pre-skip, trimming, gap concealment).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "parley/container/ogg_opus_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley::container;
  if (size == 0) return 0;
  std::vector<uint8_t> bytes(data, data + size);
  FILE* file = fmemopen(bytes.data(), bytes.size(), "rb");
  if (file == nullptr) return 0;
  auto reader = OggOpusReader::Open(file, "fuzz");
  if (!reader) return 0;
  auto pcm = OggOpusPcmReader::Open(std::move(reader).value());
  if (!pcm) return 0;
  // Bounded: concealed gaps are capped, so the output is bounded by the input.
  while (true) {
    auto chunk = (*pcm)->Read();
    if (!chunk || chunk->empty()) break;
  }
  return 0;
}
