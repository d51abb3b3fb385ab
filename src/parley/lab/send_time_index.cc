#include "parley/lab/send_time_index.h"

#include <algorithm>
#include <limits>

namespace parley::lab {

SendTimeIndex::SendTimeIndex(const LabStream& stream) {
  const int clock_hz =
      stream.format.codec != nullptr ? stream.format.codec->rtp_clock_rate_hz : 48000;
  ticks_per_ms_ = clock_hz / 1000.0;
  frame_ticks_ = static_cast<uint32_t>(
      std::max<int64_t>(1, int64_t{clock_hz} * stream.format.frame_ms / 1000));
  entries_.reserve(stream.packets.size());
  for (const SentPacket& packet : stream.packets)
    entries_.push_back({packet.rtp_ts, packet.send_ms});
  std::sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) {
    return a.rtp_ts != b.rtp_ts ? a.rtp_ts < b.rtp_ts : a.send_ms < b.send_ms;
  });
}

std::optional<double> SendTimeIndex::SendMs(uint32_t ts, double playout_ms) const {
  const Entry* sent_before = nullptr;  // the latest sent at or before playout_ms
  const Entry* earliest = nullptr;     // otherwise, the earliest sent
  const auto consider = [&](uint32_t from, uint32_t to) {
    auto it = std::lower_bound(entries_.begin(), entries_.end(), from,
                               [](const Entry& e, uint32_t value) { return e.rtp_ts < value; });
    for (; it != entries_.end() && it->rtp_ts <= to; ++it) {
      if (it->send_ms <= playout_ms && (!sent_before || it->send_ms >= sent_before->send_ms)) {
        sent_before = &*it;
      }
      if (!earliest || it->send_ms < earliest->send_ms) earliest = &*it;
    }
  };
  // The packets whose frame [rtp_ts, rtp_ts + frame_ticks) holds ts, across a wrap.
  const uint32_t lowest = ts - (frame_ticks_ - 1);
  if (lowest <= ts) {
    consider(lowest, ts);
  } else {
    consider(lowest, std::numeric_limits<uint32_t>::max());
    consider(0, ts);
  }
  const Entry* found = sent_before != nullptr ? sent_before : earliest;
  if (found == nullptr) return std::nullopt;
  return found->send_ms + static_cast<uint32_t>(ts - found->rtp_ts) / ticks_per_ms_;
}

}  // namespace parley::lab
