#include "parley/playout/stream_timeline.h"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <stdexcept>

namespace parley::playout {
namespace {

int64_t MsToTicks(std::chrono::milliseconds ms, int clock_rate_hz) {
  return ms.count() * clock_rate_hz / 1000;
}

// Differences that wrap with the 32-bit timestamp and the 16-bit sequence number.
int64_t TimestampDiff(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b); }
int64_t SequenceDiff(uint16_t a, uint16_t b) {
  return static_cast<int16_t>(static_cast<uint16_t>(a - b));
}

const StreamTimelineConfig& Validated(const StreamTimelineConfig& c) {
  if (c.clock_rate_hz <= 0 || c.early_tolerance.count() < 0 || c.late_tolerance.count() < 0 ||
      c.confirm_tolerance.count() < 0 || c.abandon_after < 1 || c.reorder_window < 1 ||
      c.reorder_window > 30000 || c.reference_period.count() <= 0) {
    throw std::invalid_argument("StreamTimeline: invalid config");
  }
  return c;
}

}  // namespace

StreamTimeline::StreamTimeline(Config config)
    : config_(Validated(config)),
      early_ticks_(MsToTicks(config_.early_tolerance, config_.clock_rate_hz)),
      late_ticks_(MsToTicks(config_.late_tolerance, config_.clock_rate_hz)),
      confirm_ticks_(MsToTicks(config_.confirm_tolerance, config_.clock_rate_hz)),
      period_ticks_(MsToTicks(config_.reference_period, config_.clock_rate_hz)) {}

int64_t StreamTimeline::Deviation(const Anchor& anchor, uint32_t rtp_timestamp,
                                  Clock::TimePoint time) const {
  const double elapsed_s = std::chrono::duration<double>(time - anchor.time).count();
  // The expected timestamp, kept in 32 bits so that the difference wraps with RTP's.
  const auto elapsed_ticks = static_cast<int64_t>(elapsed_s * config_.clock_rate_hz);
  const uint32_t expected = anchor.rtp_timestamp + static_cast<uint32_t>(elapsed_ticks);
  return TimestampDiff(rtp_timestamp, expected);
}

bool StreamTimeline::Consistent(const Timeline& timeline, const Arrival& arrival) const {
  if (arrival.ssrc && timeline.ssrc && *arrival.ssrc != *timeline.ssrc) return false;
  const int64_t deviation = Deviation(timeline.reference, arrival.rtp_timestamp, arrival.time);
  if (deviation < -late_ticks_ || deviation > early_ticks_) return false;
  // Sequence numbers and timestamps of one stream move together: reordering delays a packet
  // in both. A packet newer by one and older by the other (timestamps that went back while
  // sequence numbers went on), or far from every recent sequence number, is another stream.
  const int64_t sequence_ahead = SequenceDiff(arrival.sequence_number, timeline.newest_sequence);
  const int64_t timestamp_ahead = TimestampDiff(arrival.rtp_timestamp, timeline.newest_timestamp);
  if (sequence_ahead > config_.reorder_window || sequence_ahead < -config_.reorder_window) {
    return false;
  }
  return !(sequence_ahead > 0 && timestamp_ahead < 0) &&
         !(sequence_ahead < 0 && timestamp_ahead > 0);
}

bool StreamTimeline::Confirms(const Arrival& held, const Arrival& next) const {
  if (held.ssrc != next.ssrc) return false;
  const int64_t sequence_step = SequenceDiff(next.sequence_number, held.sequence_number);
  const int64_t timestamp_step = TimestampDiff(next.rtp_timestamp, held.rtp_timestamp);
  if (sequence_step < 1 || sequence_step > config_.reorder_window || timestamp_step <= 0) {
    return false;
  }
  const Anchor anchor{held.rtp_timestamp, held.time};
  const int64_t deviation = Deviation(anchor, next.rtp_timestamp, next.time);
  return deviation >= -confirm_ticks_ && deviation <= confirm_ticks_;
}

int64_t StreamTimeline::UnwrapTimestamp(uint32_t rtp_timestamp) const {
  return newest_timestamp_ + TimestampDiff(rtp_timestamp, static_cast<uint32_t>(newest_timestamp_));
}

int64_t StreamTimeline::UnwrapSequence(uint16_t sequence_number) const {
  return newest_sequence_ + SequenceDiff(sequence_number, static_cast<uint16_t>(newest_sequence_));
}

std::optional<uint32_t> StreamTimeline::RtpTimestampAt(int64_t engine_timestamp) const {
  for (size_t i = segment_count_; i-- > 0;) {
    const Segment& segment = segments_[(segment_head_ + i) % kMaxSegments];
    if (engine_timestamp >= segment.engine_start || i == 0) {
      if (engine_timestamp < segment.engine_start && segment_count_ == kMaxSegments) break;
      return static_cast<uint32_t>(engine_timestamp - segment.shift);
    }
  }
  return std::nullopt;
}

void StreamTimeline::AddSegment(int64_t engine_start) {
  if (segment_count_ == kMaxSegments) {
    segment_head_ = (segment_head_ + 1) % kMaxSegments;
    --segment_count_;
  }
  segments_[(segment_head_ + segment_count_) % kMaxSegments] = {engine_start, timestamp_shift_};
  ++segment_count_;
}

int64_t StreamTimeline::MapTimestamp(uint32_t rtp_timestamp) const {
  return UnwrapTimestamp(rtp_timestamp) + timestamp_shift_;
}

void StreamTimeline::Begin(const Arrival& arrival) {
  Timeline t;
  t.ssrc = arrival.ssrc;
  t.reference = t.period_best = {arrival.rtp_timestamp, arrival.time};
  t.period_start = arrival.rtp_timestamp;
  t.newest_sequence = arrival.sequence_number;
  t.newest_timestamp = arrival.rtp_timestamp;
  current_ = t;
}

void StreamTimeline::Observe(const Arrival& arrival) {
  Timeline& t = *current_;
  if (SequenceDiff(arrival.sequence_number, t.newest_sequence) > 0) {
    t.newest_sequence = arrival.sequence_number;
    t.newest_timestamp = arrival.rtp_timestamp;
  }
  // The reference is the fastest packet (largest offset) of the current and the previous
  // period of media time: it follows a route change within two periods, never a single
  // slow packet.
  if (TimestampDiff(arrival.rtp_timestamp, t.period_start) >= period_ticks_) {
    t.previous_best = t.period_best;
    t.has_previous = true;
    t.period_best = {arrival.rtp_timestamp, arrival.time};
    t.period_start = arrival.rtp_timestamp;
  } else if (Deviation(t.period_best, arrival.rtp_timestamp, arrival.time) > 0) {
    t.period_best = {arrival.rtp_timestamp, arrival.time};
  }
  t.reference = t.period_best;
  if (t.has_previous &&
      Deviation(t.period_best, t.previous_best.rtp_timestamp, t.previous_best.time) > 0) {
    t.reference = t.previous_best;
  }
}

StreamTimeline::Placement StreamTimeline::Accept(const Arrival& arrival) {
  const int64_t timestamp = UnwrapTimestamp(arrival.rtp_timestamp);
  const int64_t sequence = UnwrapSequence(arrival.sequence_number);
  newest_timestamp_ = std::max(newest_timestamp_, timestamp);
  newest_sequence_ = std::max(newest_sequence_, sequence);
  Observe(arrival);
  Placement p;
  p.verdict = Verdict::kCurrent;
  p.timestamp = timestamp + timestamp_shift_;
  p.sequence_number = sequence + sequence_shift_;
  highest_mapped_sequence_ = std::max(highest_mapped_sequence_, p.sequence_number);
  return p;
}

StreamTimeline::Placement StreamTimeline::Place(const Arrival& arrival, const Engine& engine) {
  if (!current_) {
    Begin(arrival);
    newest_timestamp_ = arrival.rtp_timestamp;
    newest_sequence_ = arrival.sequence_number;
    timestamp_shift_ = 0;
    sequence_shift_ = 0;
    highest_mapped_sequence_ = newest_sequence_;
    AddSegment(std::numeric_limits<int64_t>::min());
    return Accept(arrival);
  }
  const bool on_current = Consistent(*current_, arrival);
  const bool on_retired = retired_ && Consistent(*retired_, arrival);
  // Both fit (a restart that went back only a little): the sequence numbers tell.
  const bool nearer_retired =
      on_current && on_retired &&
      std::abs(SequenceDiff(arrival.sequence_number, retired_->newest_sequence)) <
          std::abs(SequenceDiff(arrival.sequence_number, current_->newest_sequence));
  if (on_current && !nearer_retired) {
    if (held_ && ++held_->current_since >= config_.abandon_after) {
      held_.reset();
      ++stats_.stray;
    }
    return Accept(arrival);
  }
  if (on_retired) {
    ++stats_.stale;
    return Placement{.verdict = Verdict::kStale};
  }
  if (!held_ || !Confirms(held_->arrival, arrival)) {
    if (held_) ++stats_.stray;
    held_ = Held{arrival, 0};
    return Placement{.verdict = Verdict::kHeld};
  }
  // A new timeline, confirmed. Its first packet (the held one) goes where the old timeline
  // expected audio arriving at that time, or after what is already played or buffered.
  const Arrival first = held_->arrival;
  held_.reset();
  const Anchor& reference = current_->reference;
  const double elapsed_s = std::chrono::duration<double>(first.time - reference.time).count();
  int64_t start = MapTimestamp(reference.rtp_timestamp) +
                  static_cast<int64_t>(elapsed_s * config_.clock_rate_hz);
  if (engine.content_end) start = std::max(start, *engine.content_end);
  const int64_t first_sequence = highest_mapped_sequence_ + 1;
  retired_ = current_;
  Begin(first);
  newest_timestamp_ = first.rtp_timestamp;
  newest_sequence_ = first.sequence_number;
  timestamp_shift_ = start - newest_timestamp_;
  sequence_shift_ = first_sequence - newest_sequence_;
  ++stats_.new_timelines;
  AddSegment(start);
  const Placement held_placement = Accept(first);
  Placement p = Accept(arrival);
  p.verdict = Verdict::kNewTimeline;
  p.held_timestamp = held_placement.timestamp;
  p.held_sequence_number = held_placement.sequence_number;
  return p;
}

}  // namespace parley::playout
