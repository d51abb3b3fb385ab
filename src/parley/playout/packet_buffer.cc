#include "parley/playout/packet_buffer.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

namespace parley::playout {
namespace {

constexpr int kMaxSlots = 65535;

PacketBuffer::Config Validated(PacketBuffer::Config config) {
  auto fail = [](const std::string& what) {
    throw std::invalid_argument("PacketBuffer::Config: " + what);
  };
  if (config.clock_rate_hz <= 0) fail("clock_rate_hz must be > 0");
  if (config.max_buffer.count() <= 0) fail("max_buffer must be > 0");
  if (config.max_packets < 1 || config.max_packets > kMaxSlots) {
    fail("max_packets must be 1.." + std::to_string(kMaxSlots));
  }
  if (config.max_payload_bytes == 0) fail("max_payload_bytes must be > 0");
  if (config.gap_tolerance.count() < 0) fail("gap_tolerance must be >= 0");
  if (config.default_packet_duration.count() <= 0) fail("default_packet_duration must be > 0");
  return config;
}

int64_t ToTicks(std::chrono::milliseconds ms, int clock_rate_hz) {
  return ms.count() * clock_rate_hz / 1000;
}

}  // namespace

std::optional<Gap> DetectGap(int64_t played_until, int64_t next_timestamp, int64_t tolerance) {
  const int64_t missing = next_timestamp - played_until;
  if (missing <= tolerance) return std::nullopt;
  return Gap{played_until, missing};
}

PacketBuffer::PacketBuffer(Config config)
    : config_(Validated(config)),
      tolerance_ticks_(ToTicks(config_.gap_tolerance, config_.clock_rate_hz)),
      max_buffer_ticks_(ToTicks(config_.max_buffer, config_.clock_rate_hz)),
      default_duration_ticks_(
          std::max<int64_t>(1, ToTicks(config_.default_packet_duration, config_.clock_rate_hz))),
      pool_(static_cast<size_t>(config_.max_packets) * config_.max_payload_bytes),
      slots_(static_cast<size_t>(config_.max_packets)),
      order_(static_cast<size_t>(config_.max_packets)) {
  free_.reserve(slots_.size());
  for (size_t i = slots_.size(); i > 0; --i) free_.push_back(static_cast<uint32_t>(i - 1));
}

int64_t PacketBuffer::DurationOf(const PacketInfo& info) const {
  if (info.duration > 0) return info.duration;
  return last_known_duration_ > 0 ? last_known_duration_ : default_duration_ticks_;
}

size_t PacketBuffer::LowerBound(int64_t timestamp) const {
  // Most packets arrive in order: check the tail before searching.
  if (count_ == 0 || InfoAt(count_ - 1).timestamp < timestamp) return count_;
  size_t lo = 0;
  size_t hi = count_;
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (InfoAt(mid).timestamp < timestamp) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

void PacketBuffer::InsertAt(size_t index, uint32_t slot) {
  const size_t capacity = order_.size();
  // Shift the packets after `index` one place toward the tail (none for in-order arrivals).
  for (size_t i = count_; i > index; --i) {
    order_[(head_ + i) % capacity] = order_[(head_ + i - 1) % capacity];
  }
  order_[(head_ + index) % capacity] = slot;
  ++count_;
}

void PacketBuffer::ReplaceSlotContent(uint32_t slot, const PacketInfo& info,
                                      std::span<const uint8_t> payload) {
  slots_[slot].info = info;
  slots_[slot].payload_bytes = payload.size();
  if (!payload.empty()) {
    std::memcpy(pool_.data() + static_cast<size_t>(slot) * config_.max_payload_bytes,
                payload.data(), payload.size());
  }
}

void PacketBuffer::DropFront() {
  free_.push_back(order_[head_]);
  head_ = (head_ + 1) % order_.size();
  --count_;
}

PacketBuffer::InsertOutcome PacketBuffer::Insert(const PacketInfo& info,
                                                 std::span<const uint8_t> payload) {
  InsertOutcome outcome;
  if (info.is_redundant) ++stats_.redundant_received;
  if (payload.size() > config_.max_payload_bytes) {
    ++stats_.oversize;
    outcome.result = InsertResult::kOversize;
    return outcome;
  }
  if (played_until_ && info.timestamp + tolerance_ticks_ < *played_until_) {
    if (last_popped_timestamp_ && info.timestamp == *last_popped_timestamp_) {
      ++stats_.duplicates;
      outcome.result = InsertResult::kDuplicate;
    } else {
      ++stats_.late;
      outcome.result = InsertResult::kLate;
    }
    if (info.is_redundant) ++stats_.redundant_discarded;
    return outcome;
  }

  size_t index = LowerBound(info.timestamp);
  if (index < count_ && InfoAt(index).timestamp == info.timestamp) {
    const uint32_t slot = SlotAt(index);
    if (info.is_redundant) {
      ++stats_.redundant_discarded;
      outcome.result = InsertResult::kRedundantDiscarded;
      return outcome;
    }
    if (!slots_[slot].info.is_redundant) {
      ++stats_.duplicates;
      outcome.result = InsertResult::kDuplicate;
      return outcome;
    }
    // A primary takes the place of the redundant copy of its timestamp.
    ++stats_.redundant_discarded;
    ++stats_.inserted;
    ReplaceSlotContent(slot, info, payload);
    if (info.duration > 0) last_known_duration_ = info.duration;
    outcome.result = InsertResult::kReplacedRedundant;
    return outcome;
  }

  if (count_ == order_.size()) {
    // The pool is full: make room by dropping the oldest, unless that is this packet.
    ++stats_.overflow_dropped;
    if (index == 0) {
      outcome.result = InsertResult::kOverflow;
      if (info.is_redundant) ++stats_.redundant_discarded;
      return outcome;
    }
    if (InfoAt(0).is_redundant) ++stats_.redundant_discarded;
    DropFront();
    ++outcome.overflow_dropped;
    --index;
  }

  const uint32_t slot = free_.back();
  free_.pop_back();
  ReplaceSlotContent(slot, info, payload);
  if (info.duration > 0) last_known_duration_ = info.duration;
  InsertAt(index, slot);
  ++stats_.inserted;

  // Bound by duration: drop the oldest until the span fits; the newest always stays.
  size_t new_index = index;
  bool new_dropped = false;
  while (count_ > 1 && SpanTicks() > max_buffer_ticks_) {
    ++stats_.overflow_dropped;
    if (new_index == 0 && !new_dropped) {
      new_dropped = true;
      if (info.is_redundant) ++stats_.redundant_discarded;
    } else {
      ++outcome.overflow_dropped;
      if (InfoAt(0).is_redundant) ++stats_.redundant_discarded;
      if (!new_dropped) --new_index;
    }
    DropFront();
  }
  if (new_dropped) {
    --stats_.inserted;
    outcome.result = InsertResult::kOverflow;
  }
  return outcome;
}

std::optional<PacketView> PacketBuffer::PeekNext() const {
  if (count_ == 0) return std::nullopt;
  return At(0);
}

PacketView PacketBuffer::At(size_t index) const {
  const uint32_t slot = SlotAt(index);
  const Slot& s = slots_[slot];
  return PacketView{s.info, std::span<const uint8_t>(pool_.data() + static_cast<size_t>(slot) *
                                                                        config_.max_payload_bytes,
                                                     s.payload_bytes)};
}

std::optional<PacketInfo> PacketBuffer::PopNext() {
  if (count_ == 0) return std::nullopt;
  const PacketInfo info = InfoAt(0);
  DropFront();
  ++stats_.popped;
  const int64_t end = info.timestamp + DurationOf(info);
  played_until_ = played_until_ ? std::max(*played_until_, end) : end;
  last_popped_timestamp_ = info.timestamp;
  return info;
}

size_t PacketBuffer::DiscardUpTo(int64_t timestamp) {
  size_t dropped = 0;
  while (count_ > 0 && InfoAt(0).timestamp + tolerance_ticks_ < timestamp) {
    if (InfoAt(0).is_redundant) ++stats_.redundant_discarded;
    DropFront();
    ++dropped;
  }
  stats_.discarded_old += dropped;
  played_until_ = played_until_ ? std::max(*played_until_, timestamp) : timestamp;
  return dropped;
}

size_t PacketBuffer::Flush() {
  const size_t dropped = count_;
  while (count_ > 0) DropFront();
  stats_.flushed += dropped;
  return dropped;
}

void PacketBuffer::ResetPlayoutPoint() {
  played_until_.reset();
  last_popped_timestamp_.reset();
}

std::optional<Gap> PacketBuffer::GapTo(int64_t next_timestamp) const {
  if (!played_until_) return std::nullopt;
  return DetectGap(*played_until_, next_timestamp, tolerance_ticks_);
}

std::optional<Gap> PacketBuffer::GapToNext() const {
  if (count_ == 0) return std::nullopt;
  return GapTo(InfoAt(0).timestamp);
}

int64_t PacketBuffer::SpanTicks() const {
  if (count_ == 0) return 0;
  const PacketInfo& last = InfoAt(count_ - 1);
  return last.timestamp + DurationOf(last) - InfoAt(0).timestamp;
}

int64_t PacketBuffer::ContentTicks() const {
  int64_t sum = 0;
  for (size_t i = 0; i < count_; ++i) sum += DurationOf(InfoAt(i));
  return sum;
}

}  // namespace parley::playout
