// The fixed-delay baselines: the simple WebSocket client (zero fill) and the same buffer
// with the codec's packet loss concealment.
//
// Timing. The playout clock starts when the first packet arrives (time T0, timestamp ts0):
// the packet with timestamp ts is due at T0 + delay + (ts - ts0) / clock rate. Playout
// starts at the first pull at or after the first packet's due time (or an older packet's,
// one overtaken on the way that still came before its own due time), then advances
// exactly 10 ms per pull, so the delay is delay_ms rounded up to the pull grid (at most
// one block more). A packet is late, counted and dropped, once the first sample of its
// audio has been played (or concealed): whatever arrives later cannot be used.
//
// Slots. Packets are kept encoded, one slot per packet of frame_ms, decoded in order when
// their turn comes (the decoder's state, and its PLC, need the stream in order). 60 slots,
// the most the simple client holds: a packet 60 slots ahead of the oldest waiting one
// takes its slot and the older is dropped (discarded). Packets of another duration, of
// another payload type or that do not parse are discarded: these players serve the lab's
// constant-frame streams.
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "parley/codec/registry.h"
#include "parley/lab/lab_player.h"
#include "parley/lab/output_queue.h"
#include "parley/rtp/sequence_unwrapper.h"

namespace parley::lab {
namespace {

// Packets held at most (the simple client's: 60 frames).
constexpr int kSlots = 60;
// Largest payload kept: an MTU, above any voice packet of the lab's codecs at 20 ms
// except L16 at high rates, which gets its own size (see SlotBytes).
constexpr size_t kMinSlotBytes = 1500;

std::unique_ptr<codec::AudioDecoder> MakeDecoder(const StreamFormat& format) {
  // Opus decodes at any of its rates; the lab plays other codecs at their own rate only.
  if (format.codec->id != codec::CodecId::kOpus &&
      format.output_rate_hz != format.codec->sample_rate_hz) {
    throw std::invalid_argument("fixed player: " + std::string(format.codec->name) + " plays at " +
                                std::to_string(format.codec->sample_rate_hz) + " Hz, not " +
                                std::to_string(format.output_rate_hz));
  }
  auto decoder = codec::CreateDecoder(
      *format.codec, {.sample_rate_hz = format.output_rate_hz, .channels = format.channels});
  if (!decoder.ok()) {
    throw std::invalid_argument("fixed player: " + decoder.error().message);
  }
  if ((*decoder)->sample_rate_hz() != format.output_rate_hz) {
    throw std::invalid_argument("fixed player: " + std::string(format.codec->name) +
                                " cannot decode at " + std::to_string(format.output_rate_hz) +
                                " Hz");
  }
  return std::move(*decoder);
}

int CheckedFrameMs(const StreamFormat& format) {
  if (format.codec == nullptr) throw std::invalid_argument("fixed player: format.codec is null");
  if (format.frame_ms <= 0 || format.output_rate_hz * format.frame_ms % 1000 != 0 ||
      format.codec->rtp_clock_rate_hz * format.frame_ms % 1000 != 0) {
    throw std::invalid_argument("fixed player: frame_ms " + std::to_string(format.frame_ms) +
                                " is not a whole number of samples");
  }
  return format.frame_ms;
}

size_t SlotBytes(const StreamFormat& format) {
  const size_t pcm_bytes = static_cast<size_t>(format.codec->sample_rate_hz) *
                           static_cast<size_t>(format.frame_ms) / 1000 *
                           static_cast<size_t>(format.channels) * sizeof(int16_t);
  return std::max(kMinSlotBytes, pcm_bytes);
}

class FixedPlayer final : public LabPlayer {
 public:
  FixedPlayer(const Clock& clock, const StreamFormat& format, double delay_ms, bool codec_plc)
      : clock_(clock),
        format_(format),
        delay_ms_(delay_ms),
        delay_(std::chrono::duration_cast<Clock::Duration>(
            std::chrono::duration<double, std::milli>(delay_ms))),
        codec_plc_(codec_plc),
        frame_ms_(CheckedFrameMs(format)),
        frame_ticks_(static_cast<int64_t>(format.codec->rtp_clock_rate_hz) * frame_ms_ / 1000),
        frame_out_(format.output_rate_hz * frame_ms_ / 1000),
        slot_bytes_(SlotBytes(format)),
        name_("fixed-" + std::to_string(static_cast<int>(std::lround(delay_ms))) + "ms-" +
              (codec_plc ? "plc" : "zero")),
        decoder_(MakeDecoder(format)),
        queue_(format.output_rate_hz, format.channels, frame_out_ + format.output_rate_hz / 100),
        recorder_(format.output_rate_hz) {
    if (!(delay_ms >= 0)) {
      throw std::invalid_argument("fixed player: delay_ms must be >= 0");
    }
    payloads_.assign(static_cast<size_t>(kSlots) * slot_bytes_, 0);
    pcm_.assign(static_cast<size_t>(frame_out_ * format.channels), 0);
  }

  std::string_view name() const override { return name_; }

  void Insert(const playout::PlayoutEngine::Packet& packet) override {
    if (packet.payload_type != format_.payload_type || packet.payload.size() > slot_bytes_) {
      ++discarded_packets_;
      return;
    }
    const auto samples = decoder_->PacketSamples(packet.payload);
    if (!samples.ok() || *samples != frame_out_) {
      ++discarded_packets_;
      return;
    }
    const int64_t ts = unwrapper_.Unwrap(packet.timestamp);
    const bool first = !origin_ticks_;
    if (first) origin_ticks_ = MediaOriginTicks(packet.timestamp, format_);
    const int64_t offset = ts - *origin_ticks_;
    if (offset % frame_ticks_ != 0) {  // not on the frame grid: not this stream's packet
      ++discarded_packets_;
      return;
    }
    const int64_t frame = offset / frame_ticks_;
    if (first) {
      first_arrival_ = clock_.Now();
      anchor_frame_ = frame;
      next_frame_ = frame;
    }
    // Before playout starts, a packet older than the first one (reordered) still plays if
    // its own due time has not come: playout then starts with it.
    if (!started_ && frame < next_frame_ && clock_.Now() < DueTime(frame)) next_frame_ = frame;
    if (frame < next_frame_) {
      ++late_packets_;
      return;
    }
    Slot& slot = slots_[SlotIndex(frame)];
    if (slot.frame >= next_frame_) {
      // Occupied by a packet still waiting: the same one again, or one kSlots away; the
      // older of the two goes.
      ++discarded_packets_;
      if (slot.frame >= frame) return;
    }
    slot.frame = frame;
    slot.bytes = packet.payload.size();
    std::copy(packet.payload.begin(), packet.payload.end(),
              payloads_.begin() + static_cast<std::ptrdiff_t>(SlotIndex(frame) * slot_bytes_));
  }

  PlayedBlock Pull10ms(std::span<int16_t> out) override {
    if (out.size() != static_cast<size_t>(queue_.block_frames() * format_.channels)) {
      throw std::invalid_argument("fixed player: Pull10ms needs " +
                                  std::to_string(queue_.block_frames() * format_.channels) +
                                  " samples, got " + std::to_string(out.size()));
    }
    PlayedBlock block;
    block.target_delay_ms = delay_ms_;
    if (!started_) {
      if (!first_arrival_ || clock_.Now() < DueTime(next_frame_)) {
        std::fill(out.begin(), out.end(), int16_t{0});
        return block;
      }
      started_ = true;
    }
    while (queue_.frames() < queue_.block_frames()) PlayNextFrame();
    const OutputQueue::Block emitted = queue_.Emit(out, recorder_);
    block.kind = emitted.kind;
    block.media_ts =
        emitted.media_frames * format_.codec->rtp_clock_rate_hz / format_.output_rate_hz;
    block.rtp_timestamp = static_cast<uint32_t>(origin_ticks_.value_or(0) + block.media_ts);
    return block;
  }

  PlayerCounters counters() const override {
    const playout::PlayoutStatistics& s = recorder_.stats();
    PlayerCounters c;
    c.emitted_samples = s.totalSamplesReceived;
    c.concealed_samples = s.concealedSamples;
    c.zero_filled_samples = s.zero_filled_samples;
    c.late_packets = late_packets_;
    c.discarded_packets = discarded_packets_;
    c.interruptions = s.interruptionCount;
    c.interruption_seconds = s.totalInterruptionDuration;
    return c;
  }

 private:
  struct Slot {
    int64_t frame = -1;  // frame index (from the origin) of the packet held; stale once played
    size_t bytes = 0;
  };

  static size_t SlotIndex(int64_t frame) {
    return static_cast<size_t>(((frame % kSlots) + kSlots) % kSlots);
  }

  // When the audio of `frame` is due: T0 + delay + (frame - the first packet's) x frame_ms.
  Clock::TimePoint DueTime(int64_t frame) const {
    return *first_arrival_ + delay_ +
           (frame - anchor_frame_) * std::chrono::milliseconds(frame_ms_);
  }

  // Decodes the next frame's packet into the queue, or conceals its absence.
  void PlayNextFrame() {
    const int64_t frame = next_frame_++;
    const int64_t media = frame * frame_out_;
    Slot& slot = slots_[SlotIndex(frame)];
    if (slot.frame == frame) {
      slot.frame = -1;
      const auto payload =
          std::span<const uint8_t>(payloads_).subspan(SlotIndex(frame) * slot_bytes_, slot.bytes);
      const auto decoded = decoder_->Decode(payload, pcm_);
      if (decoded.ok() && *decoded == frame_out_) {
        std::ranges::copy(pcm_, queue_.Append(frame_out_, SampleOrigin::kDecoded, media).begin());
        return;
      }
    }
    if (codec_plc_ && decoder_->has_plc()) {
      const auto concealed = decoder_->Conceal(frame_out_, pcm_);
      if (concealed.ok() && *concealed == frame_out_) {
        std::ranges::copy(pcm_, queue_.Append(frame_out_, SampleOrigin::kConcealed, media).begin());
        return;
      }
    }
    std::ranges::fill(queue_.Append(frame_out_, SampleOrigin::kZeroFill, media), int16_t{0});
  }

  // Passed by argument.
  const Clock& clock_;
  const StreamFormat format_;
  const double delay_ms_;
  const Clock::Duration delay_;
  const bool codec_plc_;
  // Derived from them.
  const int frame_ms_;
  const int64_t frame_ticks_;  // RTP ticks per packet
  const int frame_out_;        // sample frames per packet at the output rate
  const size_t slot_bytes_;
  const std::string name_;
  // Allocated by this.
  std::unique_ptr<codec::AudioDecoder> decoder_;
  std::vector<uint8_t> payloads_;  // kSlots x slot_bytes_
  std::vector<int16_t> pcm_;       // one frame, decoded or concealed
  std::array<Slot, kSlots> slots_{};
  OutputQueue queue_;
  playout::PlayoutStatisticsRecorder recorder_;
  // Others.
  rtp::TimestampUnwrapper unwrapper_;
  std::optional<int64_t> origin_ticks_;
  std::optional<Clock::TimePoint> first_arrival_;
  int64_t anchor_frame_ = 0;  // frame index of the first packet that arrived
  int64_t next_frame_ = 0;    // the next frame to play: earlier ones are late
  bool started_ = false;
  uint64_t late_packets_ = 0;
  uint64_t discarded_packets_ = 0;
};

}  // namespace

std::unique_ptr<LabPlayer> MakeFixedPlayer(const Clock& clock, const StreamFormat& format,
                                           double delay_ms, bool codec_plc) {
  return std::make_unique<FixedPlayer>(clock, format, delay_ms, codec_plc);
}

}  // namespace parley::lab
