// Compound RTCP packets come from the network: ParseRtcpCompound must never crash, and
// whatever it accepts must be written back (same packet order and padding) and parse to
// an equal value, byte for byte the same the second time. The allocation-free reader
// (rtcp_report_view.h, the relay's) must never crash either, and on whatever the full
// parser accepts it must see the same SRs and RRs.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "parley/rtp/rtcp_packet.h"
#include "parley/rtp/rtcp_report_view.h"

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
  std::vector<RtcpReportView> views(8);
  const std::optional<size_t> reports = ReadRtcpReports(input, views);
  parley::Result<RtcpCompound> parsed = ParseRtcpCompound(input, rules);
  if (!parsed) return 0;
  Check(reports.has_value());
  size_t index = 0;
  for (const RtcpPacket& packet : parsed->packets) {
    const auto* sr = std::get_if<SenderReport>(&packet);
    const auto* rr = std::get_if<ReceiverReport>(&packet);
    if (sr == nullptr && rr == nullptr) continue;
    if (index < views.size()) {
      const RtcpReportView& view = views[index];
      const std::vector<ReportBlock>& blocks = sr ? sr->report_blocks : rr->report_blocks;
      Check(view.sender_report == (sr != nullptr));
      Check(view.ssrc == (sr ? sr->ssrc : rr->ssrc));
      Check(!sr || view.sender_info == sr->sender_info);
      Check(view.block_count == blocks.size());
      for (size_t b = 0; b < blocks.size(); ++b) Check(view.block(b) == blocks[b]);
    }
    ++index;
  }
  Check(*reports == index);
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
