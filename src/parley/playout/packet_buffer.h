// The packet buffer of the playout engine: encoded packets waiting to be decoded, kept in
// timestamp order whatever order they arrived in.
//
//   arrivals (any order)          buffer (ascending timestamp)          playout point
//   ts 60, 20, 40, 20(dup) ──>   [20][40][60]  ── PeekNext/PopNext ──>  played_until
//                                  ^ oldest                              (end of the audio
//                                                                        already emitted)
//
// Timestamps are unwrapped 64-bit values in the stream's clock units ("ticks": RTP clock
// units, e.g. 48000 per second for Opus; 1000 per second for the epoch-millisecond
// timestamped frames). Unwrap RTP's 32-bit timestamp and 16-bit sequence
// number with rtp::TimestampUnwrapper / rtp::SequenceNumberUnwrapper before inserting.
//
// Rules on Insert():
// - A packet whose timestamp is already buffered is a duplicate and is dropped, except
//   that a primary packet replaces a redundant copy (RED block or in-band FEC) of the same
//   timestamp, and a redundant copy never displaces what is there.
// - A packet that starts before the playout point (minus the gap tolerance) is late: its
//   audio was already emitted or concealed, so it is dropped. One that repeats the last
//   packet popped is counted as a duplicate instead.
// - The buffer is bounded by duration: when the span from the oldest buffered start to the
//   newest end exceeds max_buffer, the OLDEST packets are dropped until it fits (never a
//   flush; the newest packet always stays). A full slot pool drops the oldest too.
//
// Loss is a timestamp gap between the end of the audio played and the next packet's
// start, larger than the tolerance (0 for RTP, whose durations are exact; 2 ms for
// timestamped frames whose epoch-ms stamps jitter). Reordering is not loss: the gap is
// judged only when the next packet is about to be played, so a late-arriving middle packet
// that lands before then fills it.
//
// Memory is fixed at construction: max_packets slots of max_payload_bytes each; a
// payload is copied into its slot, and nothing is allocated per packet.
//
// Order is kept in a sorted ring of slot indices rather than a heap: packets arrive mostly
// in order, so an insert lands at the tail (a binary search, no shifting) and PopNext takes
// the head in O(1); a reordered packet shifts only the few indices after it. Unlike a heap,
// the sorted ring finds duplicates by binary search, visits packets in order (span,
// DiscardUpTo, the packet after the next for FEC) and drops the oldest in O(1).
//
// Threading: not thread-safe; the engine serialises calls. Not copyable (owns its pool).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "parley/base/clock.h"

namespace parley::playout {

// What the buffer knows of a packet besides its payload.
struct PacketInfo {
  int64_t timestamp = 0;        // unwrapped, in ticks of the stream clock
  int64_t sequence_number = 0;  // unwrapped (RTP); any increasing count otherwise
  uint8_t payload_type = 0;     // 0..127
  int64_t duration = 0;         // ticks of audio in the packet; 0 = unknown
  Clock::TimePoint arrival_time{};
  // A copy recovered from redundancy (a RED block or in-band FEC), used only when the
  // primary packet of the same timestamp is missing. False for the primary packet.
  bool is_redundant = false;
};

// A buffered packet: its info and its payload inside the buffer's pool. Valid until the
// next call that changes the buffer (Insert, PopNext, DiscardUpTo, Flush).
struct PacketView {
  PacketInfo info;
  std::span<const uint8_t> payload;
};

// A stretch of timestamps with no packet: lost (or not yet arrived) audio.
struct Gap {
  int64_t start = 0;     // ticks: where the missing audio begins
  int64_t duration = 0;  // ticks, > 0
};

// The gap between audio that ends at `played_until` and a packet starting at
// `next_timestamp`, or nullopt when they meet within `tolerance` ticks (either way).
std::optional<Gap> DetectGap(int64_t played_until, int64_t next_timestamp, int64_t tolerance);

struct PacketBufferConfig {
  // Ticks per second of the timestamps: the RTP clock rate, or 1000 for epoch-ms
  // timestamped frames. > 0.
  int clock_rate_hz = 48000;
  // Largest span of buffered audio (oldest start to newest end) before the oldest
  // packets are dropped. 2 s: above any sensible target delay (DelayManager's default
  // max_delay is 1 s), so it trims only a runaway buffer, e.g. after a stall that
  // delivered seconds of audio at once. > 0.
  std::chrono::milliseconds max_buffer{2000};
  // Slots in the pool: the most packets held at once. 200 x 10 ms packets is 2 s; with
  // smaller packets the span bound may not be reached before the pool is full, and the
  // oldest are dropped either way. 1..65535.
  int max_packets = 200;
  // Largest payload accepted; larger ones are rejected (kOversize). 1500: an MTU, the
  // largest Opus packet parley emits. > 0.
  size_t max_payload_bytes = 1500;
  // Timestamp differences up to this are not gaps (nor lateness): 0 for RTP, 2 ms for
  // timestamped frames (whose epoch-millisecond stamps jitter by a millisecond). >= 0.
  std::chrono::milliseconds gap_tolerance{0};
  // Duration assumed for a packet inserted with duration 0 before any packet of known
  // duration was seen (afterwards: the last known duration). > 0.
  std::chrono::milliseconds default_packet_duration{20};
};

class PacketBuffer {
 public:
  using Config = PacketBufferConfig;

  enum class InsertResult {
    kInserted,            // buffered
    kReplacedRedundant,   // a primary packet took the place of a redundant copy
    kDuplicate,           // same timestamp already buffered (or just played): dropped
    kLate,                // starts before the playout point: dropped
    kRedundantDiscarded,  // a redundant copy of a timestamp already buffered: dropped
    kOverflow,            // the packet was itself the oldest when trimming: dropped
    kOversize,            // payload larger than max_payload_bytes: dropped
  };
  struct InsertOutcome {
    InsertResult result = InsertResult::kInserted;
    int overflow_dropped = 0;  // OTHER packets dropped (oldest first) to stay bounded
  };

  // Counters since construction, by reason. Each dropped packet is counted once.
  struct Stats {
    uint64_t inserted = 0;             // accepted (kInserted + kReplacedRedundant)
    uint64_t popped = 0;               // returned by PopNext()
    uint64_t duplicates = 0;           // kDuplicate
    uint64_t late = 0;                 // kLate
    uint64_t overflow_dropped = 0;     // oldest dropped to bound the buffer (incl. kOverflow)
    uint64_t redundant_received = 0;   // inserts with is_redundant
    uint64_t redundant_discarded = 0;  // redundant copies dropped or replaced by a primary
    uint64_t oversize = 0;             // kOversize
    uint64_t discarded_old = 0;        // removed by DiscardUpTo()
    uint64_t flushed = 0;              // removed by Flush()
  };

  // Throws std::invalid_argument when `config` breaks a rule stated above (API misuse).
  explicit PacketBuffer(Config config = {});
  PacketBuffer(const PacketBuffer&) = delete;
  PacketBuffer& operator=(const PacketBuffer&) = delete;

  // Copies `payload` into the pool and places the packet by timestamp; see the rules above.
  // Never allocates.
  InsertOutcome Insert(const PacketInfo& info, std::span<const uint8_t> payload);

  // The packet with the smallest timestamp; nullopt when empty.
  std::optional<PacketView> PeekNext() const;
  // The index-th packet in timestamp order (0 = next). Precondition: index < size().
  PacketView At(size_t index) const;
  // Removes the next packet and moves the playout point to its end (timestamp + its
  // duration). Returns its info (the payload is released: decode from PeekNext() first);
  // nullopt when empty.
  std::optional<PacketInfo> PopNext();
  // Drops every packet that starts before `timestamp` (minus the tolerance) and moves the
  // playout point to `timestamp` if that is later: for the engine after it concealed or
  // accelerated past audio. Returns the packets dropped.
  size_t DiscardUpTo(int64_t timestamp);
  // Drops every packet; the playout point stays. Returns the packets dropped.
  size_t Flush();

  // Sets the playout point (the end of the audio emitted), e.g. to begin a stream at a
  // chosen timestamp. Packets are not touched.
  void SetPlayoutPoint(int64_t played_until) { played_until_ = played_until; }
  // Forgets the playout point and the last popped packet (a new stream).
  void ResetPlayoutPoint();
  // End (in ticks) of the audio already played; nullopt before the first PopNext(),
  // DiscardUpTo() or SetPlayoutPoint().
  std::optional<int64_t> played_until() const { return played_until_; }

  // The gap between the playout point and `next_timestamp`; nullopt when there is none
  // (within tolerance) or no playout point yet.
  std::optional<Gap> GapTo(int64_t next_timestamp) const;
  // GapTo(the next packet's timestamp); nullopt when empty.
  std::optional<Gap> GapToNext() const;

  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  // Ticks from the oldest packet's start to the newest packet's end (holes included);
  // 0 when empty.
  int64_t SpanTicks() const;
  // Ticks of audio held: the sum of the packets' durations (holes excluded).
  int64_t ContentTicks() const;
  // SpanTicks() in milliseconds.
  double SpanMs() const { return TicksToMs(SpanTicks()); }
  // Duration used for `info`: its own, else the last known one, else the default.
  int64_t DurationOf(const PacketInfo& info) const;

  double TicksToMs(int64_t ticks) const { return ticks * 1000.0 / config_.clock_rate_hz; }
  int64_t MsToTicks(std::chrono::milliseconds ms) const {
    return ms.count() * config_.clock_rate_hz / 1000;
  }

  const Stats& stats() const { return stats_; }
  const Config& config() const { return config_; }

 private:
  struct Slot {
    PacketInfo info;
    size_t payload_bytes = 0;
  };

  uint32_t SlotAt(size_t index) const { return order_[(head_ + index) % order_.size()]; }
  const PacketInfo& InfoAt(size_t index) const { return slots_[SlotAt(index)].info; }
  // First index whose timestamp is >= `timestamp` (count_ when none).
  size_t LowerBound(int64_t timestamp) const;
  void InsertAt(size_t index, uint32_t slot);
  void ReplaceSlotContent(uint32_t slot, const PacketInfo& info, std::span<const uint8_t> payload);
  // Removes the oldest packet and frees its slot.
  void DropFront();

  // Passed by argument.
  const Config config_;
  const int64_t tolerance_ticks_;
  const int64_t max_buffer_ticks_;
  const int64_t default_duration_ticks_;
  // Allocated by this, sized at construction.
  std::vector<uint8_t> pool_;    // max_packets x max_payload_bytes
  std::vector<Slot> slots_;      // max_packets
  std::vector<uint32_t> free_;   // stack of free slot indices
  std::vector<uint32_t> order_;  // ring of slot indices in ascending timestamp order
  // Others.
  size_t head_ = 0;   // ring index of the oldest packet
  size_t count_ = 0;  // packets buffered
  int64_t last_known_duration_ = 0;
  std::optional<int64_t> played_until_;
  std::optional<int64_t> last_popped_timestamp_;
  Stats stats_;
};

}  // namespace parley::playout
