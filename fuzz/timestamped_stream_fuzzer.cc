// A timestamped stream arrives from sockets and files in pieces. The
// first input byte seeds the chunk sizes; the frames read must not depend on them.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "parley/rtp/timestamped_frame.h"

namespace {

struct Outcome {
  std::vector<int64_t> timestamps;
  std::vector<size_t> sizes;
  bool ok = false;
};

Outcome Read(std::span<const uint8_t> stream, uint32_t seed) {
  parley::rtp::TimestampedStreamReader reader;
  Outcome outcome;
  size_t pos = 0;
  while (pos < stream.size()) {
    seed = seed * 1103515245u + 12345u;
    const size_t chunk = seed == 0 ? stream.size() : 1 + (seed >> 16) % 64;
    std::span<const uint8_t> piece = stream.subspan(pos, std::min(chunk, stream.size() - pos));
    pos += piece.size();
    while (!piece.empty()) {
      auto step = reader.Feed(piece);
      if (!step) return outcome;
      if (step->consumed_bytes == 0) std::abort();  // no progress on non-empty input
      piece = piece.subspan(step->consumed_bytes);
      if (step->frame) {
        outcome.timestamps.push_back(step->frame->timestamp.time_since_epoch().count());
        outcome.sizes.push_back(step->frame->opus.size());
      }
    }
  }
  outcome.ok = reader.Finish().ok();
  return outcome;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::span<const uint8_t> stream(data + 1, size - 1);
  const Outcome chunked = Read(stream, data[0] + 1);
  const Outcome whole = Read(stream, 0);
  if (chunked.timestamps != whole.timestamps || chunked.sizes != whole.sizes ||
      chunked.ok != whole.ok) {
    std::abort();
  }
  (void)parley::rtp::ParseTimestampedFrame(stream);
  return 0;
}
