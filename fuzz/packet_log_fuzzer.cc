// Packet logs come from users and other tools: ParsePacketLog must never crash, and
// whatever it accepts must be written back to text that parses again to the same packets
// (same seqs, timestamps, losses and payloads), the second write byte for byte equal to
// the first.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "parley/lab/packet_log.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley::lab;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  parley::Result<std::vector<LoggedPacket>> parsed = ParsePacketLog(text);
  if (!parsed) {
    Check(!parsed.error().message.empty());
    return 0;
  }
  const std::string written = FormatPacketLog(*parsed);
  parley::Result<std::vector<LoggedPacket>> again = ParsePacketLog(written);
  Check(again.ok() && again->size() == parsed->size());
  for (size_t i = 0; i < parsed->size(); ++i) {
    const LoggedPacket& a = (*again)[i];
    const LoggedPacket& b = (*parsed)[i];
    Check(a.seq == b.seq && a.rtp_ts == b.rtp_ts && a.lost() == b.lost() && a.payload == b.payload);
  }
  Check(FormatPacketLog(*again) == written);
  return 0;
}
