// RED payloads (RFC 2198) come from the far end: splitting must never crash, the blocks it
// returns must lie inside the payload, and whatever splits must build back byte for byte.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "parley/rtp/red.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley::rtp;
  constexpr uint32_t kTimestamp = 0x00001000;
  const std::span<const uint8_t> payload(data, size);
  std::array<RedBlock, 8> blocks;
  auto count = ParseRedPayload(payload, kTimestamp, blocks);
  if (!count) return 0;
  for (size_t i = 0; i < *count; ++i) {
    const RedBlock& b = blocks[i];
    if (!b.data.empty() && (b.data.data() < data || b.data.data() + b.data.size() > data + size)) {
      std::abort();
    }
  }
  // Rebuild: redundant blocks longer than 1023 bytes cannot exist in a parsed payload.
  const std::span<const RedBlock> redundant(blocks.data(), *count - 1);
  std::vector<uint8_t> rebuilt(RedPayloadBytes(redundant, blocks[*count - 1]));
  auto bytes = BuildRedPayload(redundant, blocks[*count - 1], rebuilt);
  if (!bytes || *bytes != size || std::memcmp(rebuilt.data(), data, size) != 0) std::abort();
  return 0;
}
