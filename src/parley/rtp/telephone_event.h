// DTMF and other telephone events over RTP (RFC 4733): the 4-byte event payload, a sender
// that turns one key press into the RFC's packet sequence, and a receiver that turns a
// lossy, reordered, duplicated packet sequence back into one report per event.
//
// Everything here counts in RTP timestamp units ("ticks") of the telephone-event clock,
// which RFC 4733 §2.1 wants equal to the audio's clock (8000 Hz for PCMU, 48000 Hz when
// paired with Opus). There is no wall clock: the caller says what media time it is.
//
// Threading: the sender and receiver are single-threaded state machines; the caller
// serialises calls. The payload functions are pure.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "parley/base/result.h"

namespace parley::rtp {

// One event block (RFC 4733 §2.3):
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |     event     |E|R| volume    |          duration             |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
struct TelephoneEvent {
  uint8_t event = 0;            // 0-9 digits, 10 '*', 11 '#', 12-15 A-D, 16 flash; up to 255
  bool end = false;             // E: this is the event's final report
  bool reserved = false;        // R: sent 0, ignored on receipt
  uint8_t volume_dbm0 = 0;      // power level as -dBm0, 0..63 (larger is quieter)
  uint16_t duration_ticks = 0;  // since the event's RTP timestamp, in RTP clock ticks

  friend bool operator==(const TelephoneEvent&, const TelephoneEvent&) = default;
};

inline constexpr size_t kTelephoneEventBytes = 4;
// §2.5.1.3: the duration field is 16 bits; longer events are sent in segments.
inline constexpr uint32_t kMaxTelephoneEventDurationTicks = 0xFFFF;
inline constexpr uint8_t kMaxTelephoneEventVolumeDbm0 = 63;

// Parses the payload's blocks into `out`, returning how many. Several blocks per payload
// are read (RFC 4733 §2.5.1.5), whole 4-byte blocks only: a payload that is empty, not a
// multiple of 4 bytes, or has more blocks than `out` holds is an Error naming the offset.
[[nodiscard]] Result<size_t> ParseTelephoneEvents(std::span<const uint8_t> payload,
                                                  std::span<TelephoneEvent> out);
// The first block of a payload (the common single-event case); the same errors except
// that any number of blocks is accepted.
[[nodiscard]] Result<TelephoneEvent> ParseTelephoneEvent(std::span<const uint8_t> payload);
// Writes one block into out[0..4). Returns bytes written (4), or an Error if `out` is
// shorter or volume_dbm0 > 63.
[[nodiscard]] Result<size_t> SerializeTelephoneEvent(const TelephoneEvent& event,
                                                     std::span<uint8_t> out);

// A packet the sender wants on the wire: RTP header fields plus the payload block.
struct TelephoneEventPacket {
  uint32_t rtp_timestamp = 0;  // the event segment's start, the same for all its updates
  bool marker = false;         // set on the first packet of an event only (§2.5.1.1)
  uint32_t send_at_ticks = 0;  // media time (RTP ticks) at which it is due
  TelephoneEvent payload;

  friend bool operator==(const TelephoneEventPacket&, const TelephoneEventPacket&) = default;
};

struct TelephoneEventSenderConfig {
  int clock_rate_hz = 8000;
  // §2.5.1.2: updates are sent every packetisation interval; 50 ms is the RFC's example.
  std::chrono::milliseconds update_interval{50};
  // §2.5.1.4: the final packet is sent three times in all.
  int end_packet_count = 3;
  uint8_t volume_dbm0 = 10;  // -10 dBm0, a typical DTMF level
};

// One key press at a time, driven by media time:
//
//   sender.Start(digit, ts);            // key down at RTP time ts
//   while (auto p = sender.Poll(now))   // every packetisation interval
//     send(*p);
//   sender.Stop(ts_up);                 // key up; Poll() then yields the end packets
//
// Packets for a segment carry its start as RTP timestamp and the duration so far. The
// first has the marker bit and is due one interval after the start, carrying that
// interval as duration (a start packet of duration 0 says nothing a receiver can play).
// An event longer than 0xFFFF ticks continues in a new segment starting where the
// previous one ended, without marker (§2.5.1.3). Not copyable.
class TelephoneEventSender {
 public:
  // Error if the config is out of range (rate <= 0, interval < 1 tick or > 0xFFFF ticks,
  // end_packet_count < 1, volume > 63).
  [[nodiscard]] static Result<TelephoneEventSender> Create(
      const TelephoneEventSenderConfig& config);

  TelephoneEventSender(TelephoneEventSender&&) = default;
  TelephoneEventSender& operator=(TelephoneEventSender&&) = default;
  TelephoneEventSender(const TelephoneEventSender&) = delete;
  TelephoneEventSender& operator=(const TelephoneEventSender&) = delete;

  // Begins `event` at RTP time `start_ticks`. Error while a previous event is not finished.
  [[nodiscard]] Status Start(uint8_t event, uint32_t start_ticks);
  // Ends the event at RTP time `end_ticks` (>= start). Error if none is active.
  [[nodiscard]] Status Stop(uint32_t end_ticks);
  // The next packet due at media time `now_ticks`, or nothing. Call until it returns
  // nothing: after a late call several packets may be due.
  [[nodiscard]] std::optional<TelephoneEventPacket> Poll(uint32_t now_ticks);
  // Whether an event is in progress (including its end packets not yet all polled).
  bool busy() const { return state_ != State::kIdle; }
  uint32_t update_interval_ticks() const { return interval_ticks_; }

 private:
  enum class State { kIdle, kActive, kEnding };
  TelephoneEventSender(const TelephoneEventSenderConfig& config, uint32_t interval_ticks);
  TelephoneEventPacket MakePacket(uint32_t duration_ticks, bool end, uint32_t send_at);

  // Passed by argument.
  TelephoneEventSenderConfig config_;
  uint32_t interval_ticks_;
  // Others.
  State state_ = State::kIdle;
  uint8_t event_ = 0;
  uint32_t segment_start_ticks_ = 0;  // RTP timestamp of the current segment
  uint32_t next_update_ticks_ = 0;    // media time the next update is due
  uint32_t last_update_ticks_ = 0;    // media time of the last update sent (start before any)
  uint32_t end_ticks_ = 0;            // media time of key up
  int end_packets_sent_ = 0;
  bool marker_pending_ = false;
};

// One event as the receiver understood it.
struct ReceivedTelephoneEvent {
  uint8_t event = 0;
  uint32_t start_ticks = 0;     // RTP timestamp of the event's first segment
  uint32_t duration_ticks = 0;  // whole event, all segments; may exceed 0xFFFF
  uint8_t volume_dbm0 = 0;
  // False when no end packet arrived: reported after a timeout, or when a newer event
  // started; duration_ticks is then the longest seen.
  bool end_received = false;

  friend bool operator==(const ReceivedTelephoneEvent&, const ReceivedTelephoneEvent&) = default;
};

class TelephoneEventListener {
 public:
  virtual ~TelephoneEventListener() = default;
  // Called once per event.
  virtual void OnTelephoneEvent(const ReceivedTelephoneEvent& event) = 0;
};

struct TelephoneEventReceiverConfig {
  int clock_rate_hz = 8000;
  // How long after the last known instant of an event (start + duration) the receiver
  // waits for more packets before reporting it without its end. Longer than the sender's
  // three end packets (3 x 50 ms) so that one surviving end packet still counts.
  std::chrono::milliseconds end_timeout{250};
};

// De-duplicates and reorders-away: repeated updates and the retransmitted end packets
// of an event produce one report; packets of an event already reported, or older than
// it, are dropped. Segments of a long event (§2.5.1.3) are joined into one report.
// Not copyable.
class TelephoneEventReceiver {
 public:
  // `listener` must outlive the receiver. Error if the config is out of range.
  [[nodiscard]] static Result<TelephoneEventReceiver> Create(
      const TelephoneEventReceiverConfig& config, TelephoneEventListener* listener);

  TelephoneEventReceiver(TelephoneEventReceiver&&) = default;
  TelephoneEventReceiver& operator=(TelephoneEventReceiver&&) = default;
  TelephoneEventReceiver(const TelephoneEventReceiver&) = delete;
  TelephoneEventReceiver& operator=(const TelephoneEventReceiver&) = delete;

  // One RTP packet of the telephone-event payload type. A malformed payload is an Error
  // and changes nothing. Multiple blocks in one payload are handled in order.
  [[nodiscard]] Status OnPacket(uint32_t rtp_timestamp, std::span<const uint8_t> payload);
  // The media time has reached `now_ticks` (the stream's RTP clock): reports an event
  // whose end packets were all lost once end_timeout has passed since its last instant.
  void OnTime(uint32_t now_ticks);

  // Events reported since creation.
  uint64_t events_reported() const { return events_reported_; }
  // Packets (blocks) ignored as duplicates or as late parts of a finished event.
  uint64_t blocks_ignored() const { return blocks_ignored_; }

 private:
  TelephoneEventReceiver(TelephoneEventListener* listener, uint32_t timeout_ticks);
  void OnBlock(uint32_t rtp_timestamp, const TelephoneEvent& block);
  void Finish(bool end_received);

  // Passed by argument.
  TelephoneEventListener* listener_;
  uint32_t timeout_ticks_;
  // Others.
  bool active_ = false;
  ReceivedTelephoneEvent current_;
  uint32_t segment_start_ticks_ = 0;     // RTP timestamp of the active segment
  uint32_t segment_duration_ticks_ = 0;  // longest duration seen in the active segment
  uint32_t earlier_segments_ticks_ = 0;  // sum of the finished segments before it
  // Timestamps at or before this belong to reported events (valid once has_watermark_).
  bool has_watermark_ = false;
  uint32_t watermark_ticks_ = 0;
  uint64_t events_reported_ = 0;
  uint64_t blocks_ignored_ = 0;
};

}  // namespace parley::rtp
