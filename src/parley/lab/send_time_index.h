// When the media a player plays was sent: the lab's delay figures (send -> playout) are
// measured per played block from the send time of the packet that carried its media, not
// from RTP timestamp arithmetic, which goes negative or absurd when the sender's timeline
// jumps (a timestamp leap forward, a restart at a lower timestamp, a stray packet far
// ahead, a wrap-around).
//
// A block's media is found by its RTP timestamp as the sender stamped it
// (PlayedBlock::rtp_timestamp): the packet whose frame covers it. When several do (a
// sender that restarted its timeline reuses timestamps), the one sent last at or before
// the block's playout time is taken, since media cannot play before it was sent.
//
// Immutable after construction; lookups are O(log packets).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "parley/lab/lab_call.h"

namespace parley::lab {

class SendTimeIndex {
 public:
  explicit SendTimeIndex(const LabStream& stream);

  // The send time, ms on the sender's clock, of the media at RTP timestamp `rtp_timestamp`
  // played at `playout_ms`: the carrying packet's send_ms plus the offset into its frame.
  // nullopt when no packet carries it.
  std::optional<double> SendMs(uint32_t rtp_timestamp, double playout_ms) const;

 private:
  struct Entry {
    uint32_t rtp_ts = 0;
    double send_ms = 0;
  };

  std::vector<Entry> entries_;  // sorted by rtp_ts, then send_ms
  uint32_t frame_ticks_ = 1;    // RTP ticks one packet covers
  double ticks_per_ms_ = 1;
};

}  // namespace parley::lab
