// Compound RTCP packets come from the network: ParseRtcpCompound must never crash, and
// whatever it accepts must be written back (same packet order and padding) and parse to
// an equal value, byte for byte the same the second time.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "parley/rtp/rtcp_packet.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley::rtp;
  const std::vector<uint8_t> input(data, data + size);
  // The input length chooses the rule on the first packet, so both paths are explored.
  const RtcpParseRules rules{.require_report_first = size % 2 == 0};
  parley::Result<RtcpCompound> parsed = ParseRtcpCompound(input, rules);
  if (!parsed) return 0;
  std::vector<uint8_t> out(RtcpCompoundSize(*parsed));
  parley::Result<size_t> written = WriteRtcpCompound(*parsed, out, rules);
  Check(written.ok() && *written == out.size());
  parley::Result<RtcpCompound> again = ParseRtcpCompound(out, rules);
  Check(again.ok() && *again == *parsed);
  std::vector<uint8_t> out2(out.size());
  parley::Result<size_t> written2 = WriteRtcpCompound(*again, out2, rules);
  Check(written2.ok() && out2 == out);
  return 0;
}
