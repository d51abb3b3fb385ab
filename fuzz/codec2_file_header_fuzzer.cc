// The .c2 file header (codec2's c2enc format): parse must never crash, and whatever it
// accepts serializes back to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

#include "parley/codec/codec2_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley::codec;
  auto header = ParseCodec2FileHeader(std::span(data, size));
  if (!header) return 0;
  uint8_t out[kCodec2FileHeaderBytes];
  auto written = SerializeCodec2FileHeader(*header, out);
  if (!written || *written != kCodec2FileHeaderBytes ||
      std::memcmp(out, data, kCodec2FileHeaderBytes) != 0) {
    std::abort();
  }
  return 0;
}
