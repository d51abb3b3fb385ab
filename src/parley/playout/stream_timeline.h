// Which timeline an arriving RTP packet belongs to, and where it goes on the engine's own.
//
// A sender's RTP timestamps advance with its audio clock, so for one stream
// `timestamp - clock_rate x arrival` (the packet's "offset") stays within the network's
// jitter of a constant. Events break that: a sender that restarts (timestamps start again
// lower, often with a new SSRC and sequence numbers), a mixer that switches sources
// (timestamps leap forward), a sender that pauses its clock while muted, a corrupt or
// hostile packet far in the future or past. Followed blindly, a leap makes the packet
// buffer wait for audio that never comes or drop everything that follows as late (a
// call that goes mute); ignored, a restart is lost for good.
//
//   arrival ─> on the current timeline? ─ yes ─> kCurrent: mapped onto the engine's timeline
//                 │ no
//                 ├─ on the timeline just left? ─> kStale: the old stream's tail, dropped
//                 ├─ continues the held candidate? ─> kNewTimeline: switch, both mapped
//                 └─ otherwise ─> kHeld: kept aside as a candidate (a previous one is a stray)
//
// A packet is on the current timeline when its offset is within [-late_tolerance,
// +early_tolerance] of the fastest packet of the last 1-2 s of media (the reference), the
// SSRC (when the caller gives one) is the same, and its sequence number is near the newest
// and on the same side as its timestamp (reordering delays a packet in both; timestamps
// that went back while sequence numbers went on are a restart). A candidate becomes the new
// timeline only when a second packet confirms it (same SSRC, next in sequence and time,
// offsets within confirm_tolerance of each other): one stray packet is dropped and counted,
// never followed, and costs no audio. A held candidate that `abandon_after` current
// packets outlive is a stray.
//
// The engine's timeline is one continuous int64 line whatever the sender does: the new
// timeline is mapped so that its first packet lands where the old timeline expected audio
// arriving then (the delay stays what it was), or right after the audio already buffered
// or concealed if that is later (nothing is overwritten). Sequence numbers are mapped to
// continue the old ones. The packet buffer, the target delay and the decision logic
// therefore never see the event, only a stream that carries on.
//
// Pure logic over the caller's clock readings; no allocation. Not thread-safe.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>

#include "parley/base/clock.h"

namespace parley::playout {

struct StreamTimelineConfig {
  // RTP clock, ticks per second. > 0.
  int clock_rate_hz = 48000;
  // A packet up to this much earlier than the reference is the same stream (delay fell
  // after a spike longer than the reference's memory). More: a leap forward. 250 ms: far
  // above the swing of a delay that falls in steps, far below a source switch.
  std::chrono::milliseconds early_tolerance{250};
  // A packet up to this much later than the reference is the same stream, delayed (a
  // delay spike: the target follows it, acceleration takes it away). More: a sender whose
  // clock paused, or a leap back. 2 s: the packet buffer's bound.
  std::chrono::milliseconds late_tolerance{2000};
  // Offsets of the two packets that confirm a new timeline agree within this (jitter
  // between two consecutive packets).
  std::chrono::milliseconds confirm_tolerance{250};
  // Current packets after which a held candidate is a stray. 3: a restart's old stream
  // may still deliver a packet or two in flight between the new stream's first two.
  int abandon_after = 3;
  // Sequence numbers up to this far behind the newest are reordering (their packet may be
  // late); beyond, or ahead while the timestamp went back, they mark a new stream.
  int reorder_window = 100;
  // Media time per half of the reference's memory (the reference is the fastest packet of
  // the current and the previous period).
  std::chrono::milliseconds reference_period{1000};
};

class StreamTimeline {
 public:
  using Config = StreamTimelineConfig;

  struct Arrival {
    uint32_t rtp_timestamp = 0;
    uint16_t sequence_number = 0;
    std::optional<uint32_t> ssrc;  // when the caller knows it
    Clock::TimePoint time{};
  };
  // The engine's state, on its own timeline (ticks).
  struct Engine {
    // End of the audio played, concealed or buffered: a new timeline starts no earlier.
    // nullopt before any.
    std::optional<int64_t> content_end;
  };

  enum class Verdict {
    kCurrent,      // on the current timeline: use `timestamp`, `sequence_number`
    kHeld,         // kept as a candidate: the caller keeps the packet aside
    kNewTimeline,  // confirmed a candidate: the timeline switched; insert the held packet
                   // (held_timestamp, held_sequence_number) and this one
    kStale,        // the tail of the timeline just left: drop
  };
  struct Placement {
    Verdict verdict = Verdict::kCurrent;
    int64_t timestamp = 0;        // engine ticks (kCurrent, kNewTimeline)
    int64_t sequence_number = 0;  // engine sequence (kCurrent, kNewTimeline)
    int64_t held_timestamp = 0;   // kNewTimeline: where the held packet goes
    int64_t held_sequence_number = 0;
  };

  struct Stats {
    uint64_t new_timelines = 0;  // switches followed (the first timeline not counted)
    uint64_t stray = 0;          // candidates dropped unconfirmed
    uint64_t stale = 0;          // packets of a timeline already left
  };

  // Throws std::invalid_argument on a config that breaks a rule above (API misuse).
  explicit StreamTimeline(Config config = {});

  // Classifies a packet (the primary of a RED packet) and, unless held or stale, places
  // it on the engine's timeline. `engine` is read only to place a new timeline.
  Placement Place(const Arrival& arrival, const Engine& engine);
  // Engine ticks of another RTP timestamp of the current timeline (a RED block's), without
  // changing any state.
  int64_t MapTimestamp(uint32_t rtp_timestamp) const;

  // The sender's RTP timestamp of a position on the engine's timeline: through the
  // mapping of the timeline that placed it (the last kMaxSegments are remembered).
  // nullopt before the first packet or before the oldest remembered timeline.
  std::optional<uint32_t> RtpTimestampAt(int64_t engine_timestamp) const;

  // Whether a candidate is held (the caller's copy of it is still wanted).
  bool holding() const { return held_.has_value(); }
  const Stats& stats() const { return stats_; }

 private:
  // Where a timeline's fastest recent packet was: RTP timestamp and arrival.
  struct Anchor {
    uint32_t rtp_timestamp = 0;
    Clock::TimePoint time{};
  };
  struct Timeline {
    std::optional<uint32_t> ssrc;
    Anchor reference;      // the fastest of the two periods below
    Anchor period_best;    // fastest of the current period
    Anchor previous_best;  // fastest of the previous period
    bool has_previous = false;
    uint32_t period_start = 0;  // RTP timestamp where the current period began
    uint16_t newest_sequence = 0;
    uint32_t newest_timestamp = 0;  // of the packet with the newest sequence number
  };
  // Where a timeline begins on the engine's and how it maps there.
  struct Segment {
    int64_t engine_start = 0;
    int64_t shift = 0;  // engine = unwrapped RTP + shift
  };
  static constexpr size_t kMaxSegments = 8;
  struct Held {
    Arrival arrival;
    int current_since = 0;  // current packets since it was held
  };

  // Ticks by which `arrival` is ahead (> 0) or behind (< 0) of where `anchor` expects it.
  int64_t Deviation(const Anchor& anchor, uint32_t rtp_timestamp, Clock::TimePoint time) const;
  bool Consistent(const Timeline& timeline, const Arrival& arrival) const;
  bool Confirms(const Arrival& held, const Arrival& next) const;
  void Begin(const Arrival& arrival);
  void Observe(const Arrival& arrival);
  // Unwrapped relative to the newest accepted packet; no state changes.
  int64_t UnwrapTimestamp(uint32_t rtp_timestamp) const;
  int64_t UnwrapSequence(uint16_t sequence_number) const;
  Placement Accept(const Arrival& arrival);
  // Remembers that the current mapping begins at `engine_start`.
  void AddSegment(int64_t engine_start);

  // Passed by argument.
  const Config config_;
  const int64_t early_ticks_;
  const int64_t late_ticks_;
  const int64_t confirm_ticks_;
  const int64_t period_ticks_;
  // Others.
  std::optional<Timeline> current_;
  std::optional<Timeline> retired_;
  std::optional<Held> held_;
  // Mapping of the current timeline: engine = unwrapped + shift.
  int64_t newest_timestamp_ = 0;  // unwrapped RTP timestamp of the newest accepted packet
  int64_t newest_sequence_ = 0;   // unwrapped sequence number of the newest accepted packet
  int64_t timestamp_shift_ = 0;
  int64_t sequence_shift_ = 0;
  int64_t highest_mapped_sequence_ = 0;
  std::array<Segment, kMaxSegments> segments_{};  // ring, oldest first from segment_head_
  size_t segment_head_ = 0;
  size_t segment_count_ = 0;
  Stats stats_;
};

}  // namespace parley::playout
