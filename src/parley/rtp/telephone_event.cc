#include "parley/rtp/telephone_event.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace parley::rtp {
namespace {

constexpr uint8_t kEndBit = 0x80;
constexpr uint8_t kReservedBit = 0x40;
constexpr uint8_t kVolumeMask = 0x3F;
// A receiver reads at most this many blocks from one payload without allocating; RFC 4733
// packs a handful at most.
constexpr size_t kMaxBlocksPerPayload = 16;

// RTP time comparison modulo 2^32: `a` is at or after `b` when it is less than half the
// timestamp space ahead.
bool AtOrAfter(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) >= 0; }
bool After(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) > 0; }

uint32_t MsToTicks(std::chrono::milliseconds ms, int clock_rate_hz) {
  return static_cast<uint32_t>(ms.count() * int64_t{clock_rate_hz} / 1000);
}

}  // namespace

Result<size_t> ParseTelephoneEvents(std::span<const uint8_t> payload,
                                    std::span<TelephoneEvent> out) {
  if (payload.empty()) {
    return Error{"telephone-event payload empty: event block missing at offset 0"};
  }
  if (payload.size() % kTelephoneEventBytes != 0) {
    const size_t tail = payload.size() - payload.size() % kTelephoneEventBytes;
    return Error{fmt::format("telephone-event payload {} bytes: partial {}-byte block at offset {}",
                             payload.size(), payload.size() - tail, tail)};
  }
  const size_t count = payload.size() / kTelephoneEventBytes;
  if (count > out.size()) {
    return Error{fmt::format("telephone-event payload has {} blocks > {} at offset {}", count,
                             out.size(), out.size() * kTelephoneEventBytes)};
  }
  for (size_t i = 0; i < count; ++i) {
    const uint8_t* b = payload.data() + i * kTelephoneEventBytes;
    TelephoneEvent& e = out[i];
    e.event = b[0];
    e.end = (b[1] & kEndBit) != 0;
    e.reserved = (b[1] & kReservedBit) != 0;
    e.volume_dbm0 = b[1] & kVolumeMask;
    e.duration_ticks = static_cast<uint16_t>((b[2] << 8) | b[3]);
  }
  return count;
}

Result<TelephoneEvent> ParseTelephoneEvent(std::span<const uint8_t> payload) {
  // Validates the whole payload but decodes only the first block.
  const size_t whole_bytes = payload.size() - payload.size() % kTelephoneEventBytes;
  std::array<TelephoneEvent, 1> first;
  Result<size_t> count =
      ParseTelephoneEvents(payload.first(std::min(payload.size(), kTelephoneEventBytes)), first);
  if (!count) return count.error();
  if (whole_bytes != payload.size()) {
    Result<size_t> whole = ParseTelephoneEvents(payload, {});
    return whole.error();
  }
  return first[0];
}

Result<size_t> SerializeTelephoneEvent(const TelephoneEvent& event, std::span<uint8_t> out) {
  if (out.size() < kTelephoneEventBytes) {
    return Error{
        fmt::format("telephone-event buffer {} bytes < {}", out.size(), kTelephoneEventBytes)};
  }
  if (event.volume_dbm0 > kMaxTelephoneEventVolumeDbm0) {
    return Error{fmt::format("telephone-event volume {} > {} at offset 1", event.volume_dbm0,
                             kMaxTelephoneEventVolumeDbm0)};
  }
  out[0] = event.event;
  // R is sent as 0 whatever the struct says (§2.3.3).
  out[1] = static_cast<uint8_t>((event.end ? kEndBit : 0) | event.volume_dbm0);
  out[2] = static_cast<uint8_t>(event.duration_ticks >> 8);
  out[3] = static_cast<uint8_t>(event.duration_ticks & 0xFF);
  return kTelephoneEventBytes;
}

// ---------------------------------------------------------------------------------------
// Sender

Result<TelephoneEventSender> TelephoneEventSender::Create(
    const TelephoneEventSenderConfig& config) {
  if (config.clock_rate_hz <= 0) {
    return Error{fmt::format("telephone-event clock_rate_hz {} must be > 0", config.clock_rate_hz)};
  }
  const uint32_t interval = MsToTicks(config.update_interval, config.clock_rate_hz);
  if (config.update_interval.count() <= 0 || interval < 1 ||
      interval > kMaxTelephoneEventDurationTicks) {
    return Error{
        fmt::format("telephone-event update_interval {} ms out of range (1 tick..{} ticks)",
                    config.update_interval.count(), kMaxTelephoneEventDurationTicks)};
  }
  if (config.end_packet_count < 1) {
    return Error{
        fmt::format("telephone-event end_packet_count {} must be >= 1", config.end_packet_count)};
  }
  if (config.volume_dbm0 > kMaxTelephoneEventVolumeDbm0) {
    return Error{fmt::format("telephone-event volume_dbm0 {} > {}", config.volume_dbm0,
                             kMaxTelephoneEventVolumeDbm0)};
  }
  return TelephoneEventSender(config, interval);
}

TelephoneEventSender::TelephoneEventSender(const TelephoneEventSenderConfig& config,
                                           uint32_t interval_ticks)
    : config_(config), interval_ticks_(interval_ticks) {}

Status TelephoneEventSender::Start(uint8_t event, uint32_t start_ticks) {
  if (state_ != State::kIdle) {
    return Error{
        fmt::format("telephone-event {} still in progress; cannot start {}", event_, event)};
  }
  state_ = State::kActive;
  event_ = event;
  segment_start_ticks_ = start_ticks;
  next_update_ticks_ = start_ticks + interval_ticks_;
  last_update_ticks_ = start_ticks;
  end_packets_sent_ = 0;
  marker_pending_ = true;
  return Status::Ok();
}

Status TelephoneEventSender::Stop(uint32_t end_ticks) {
  if (state_ != State::kActive) return Error{"telephone-event Stop() without an active event"};
  state_ = State::kEnding;
  // An end before what was already reported (a late Stop) ends at the last update sent, so
  // the duration never shrinks.
  end_ticks_ = AtOrAfter(end_ticks, last_update_ticks_) ? end_ticks : last_update_ticks_;
  return Status::Ok();
}

TelephoneEventPacket TelephoneEventSender::MakePacket(uint32_t duration_ticks, bool end,
                                                      uint32_t send_at) {
  TelephoneEventPacket packet;
  packet.rtp_timestamp = segment_start_ticks_;
  packet.marker = marker_pending_;
  marker_pending_ = false;
  packet.send_at_ticks = send_at;
  packet.payload.event = event_;
  packet.payload.end = end;
  packet.payload.volume_dbm0 = config_.volume_dbm0;
  packet.payload.duration_ticks = static_cast<uint16_t>(duration_ticks);
  return packet;
}

std::optional<TelephoneEventPacket> TelephoneEventSender::Poll(uint32_t now_ticks) {
  if (state_ == State::kIdle) return std::nullopt;
  const bool update_due_before_end =
      state_ == State::kActive || After(end_ticks_, next_update_ticks_);
  if (update_due_before_end) {
    if (!AtOrAfter(now_ticks, next_update_ticks_)) return std::nullopt;
    const uint32_t due = next_update_ticks_;
    const uint32_t duration = due - segment_start_ticks_;
    TelephoneEventPacket packet = MakePacket(duration, false, due);
    last_update_ticks_ = due;
    if (duration >= kMaxTelephoneEventDurationTicks) {
      // §2.5.1.3: the segment is full; the event goes on in a new one starting here.
      segment_start_ticks_ = due;
    }
    const uint32_t segment_end = segment_start_ticks_ + kMaxTelephoneEventDurationTicks;
    next_update_ticks_ = due + interval_ticks_;
    if (After(next_update_ticks_, segment_end)) next_update_ticks_ = segment_end;
    return packet;
  }
  const uint32_t due = end_ticks_ + static_cast<uint32_t>(end_packets_sent_) * interval_ticks_;
  if (!AtOrAfter(now_ticks, due)) return std::nullopt;
  TelephoneEventPacket packet = MakePacket(end_ticks_ - segment_start_ticks_, true, due);
  if (++end_packets_sent_ == config_.end_packet_count) state_ = State::kIdle;
  return packet;
}

// ---------------------------------------------------------------------------------------
// Receiver

Result<TelephoneEventReceiver> TelephoneEventReceiver::Create(
    const TelephoneEventReceiverConfig& config, TelephoneEventListener* listener) {
  if (listener == nullptr) return Error{"telephone-event receiver needs a listener"};
  if (config.clock_rate_hz <= 0) {
    return Error{fmt::format("telephone-event clock_rate_hz {} must be > 0", config.clock_rate_hz)};
  }
  const uint32_t timeout = MsToTicks(config.end_timeout, config.clock_rate_hz);
  if (config.end_timeout.count() <= 0 || timeout < 1 || timeout > INT32_MAX) {
    return Error{
        fmt::format("telephone-event end_timeout {} ms out of range", config.end_timeout.count())};
  }
  return TelephoneEventReceiver(listener, timeout);
}

TelephoneEventReceiver::TelephoneEventReceiver(TelephoneEventListener* listener,
                                               uint32_t timeout_ticks)
    : listener_(listener), timeout_ticks_(timeout_ticks) {}

Status TelephoneEventReceiver::OnPacket(uint32_t rtp_timestamp, std::span<const uint8_t> payload) {
  std::array<TelephoneEvent, kMaxBlocksPerPayload> blocks;
  Result<size_t> count = ParseTelephoneEvents(payload, blocks);
  if (!count) return count.error();
  // Several blocks in one payload are taken as back-to-back events: each starts where the
  // previous one ended (events of unrelated start times travel in RED, see red.h).
  uint32_t start = rtp_timestamp;
  for (size_t i = 0; i < *count; ++i) {
    OnBlock(start, blocks[i]);
    start += blocks[i].duration_ticks;
  }
  return Status::Ok();
}

void TelephoneEventReceiver::OnBlock(uint32_t rtp_timestamp, const TelephoneEvent& block) {
  // Anything at or before the last reported event's final segment is a retransmitted end
  // packet or a late, reordered update of something already reported.
  if (has_watermark_ && !After(rtp_timestamp, watermark_ticks_)) {
    ++blocks_ignored_;
    return;
  }
  if (active_) {
    if (rtp_timestamp == segment_start_ticks_) {
      if (block.duration_ticks <= segment_duration_ticks_ && !block.end) ++blocks_ignored_;
      segment_duration_ticks_ = std::max<uint32_t>(segment_duration_ticks_, block.duration_ticks);
      if (block.end) {
        // The end packet's duration is final, even if an update claimed more.
        segment_duration_ticks_ = block.duration_ticks;
        Finish(true);
      }
      return;
    }
    if (!After(rtp_timestamp, segment_start_ticks_)) {
      ++blocks_ignored_;  // a late update of an earlier segment of this event
      return;
    }
    if (block.event == current_.event &&
        rtp_timestamp - segment_start_ticks_ == kMaxTelephoneEventDurationTicks) {
      // §2.5.1.3: the next segment of a long event.
      earlier_segments_ticks_ += kMaxTelephoneEventDurationTicks;
      segment_start_ticks_ = rtp_timestamp;
      segment_duration_ticks_ = block.duration_ticks;
      if (block.end) Finish(true);
      return;
    }
    // A newer event began before this one's end arrived: its end packets were lost.
    Finish(false);
  }
  active_ = true;
  current_ = ReceivedTelephoneEvent{};
  current_.event = block.event;
  current_.start_ticks = rtp_timestamp;
  current_.volume_dbm0 = block.volume_dbm0;
  segment_start_ticks_ = rtp_timestamp;
  segment_duration_ticks_ = block.duration_ticks;
  earlier_segments_ticks_ = 0;
  if (block.end) Finish(true);
}

void TelephoneEventReceiver::OnTime(uint32_t now_ticks) {
  if (!active_) return;
  const uint32_t last_instant = segment_start_ticks_ + segment_duration_ticks_;
  if (After(now_ticks, last_instant) && now_ticks - last_instant > timeout_ticks_) Finish(false);
}

void TelephoneEventReceiver::Finish(bool end_received) {
  current_.duration_ticks = earlier_segments_ticks_ + segment_duration_ticks_;
  current_.end_received = end_received;
  active_ = false;
  has_watermark_ = true;
  watermark_ticks_ = segment_start_ticks_;
  ++events_reported_;
  listener_->OnTelephoneEvent(current_);
}

}  // namespace parley::rtp
