// The speexdsp jitter buffer (libspeexdsp, <speex/speex_jitter.h>) as a baseline, used the
// way its documentation and its own client code use it:
//
//   on arrival:            jitter_buffer_put(packet: timestamp, span)
//   when audio runs dry:   jitter_buffer_get(desired span = one packet)
//                            JITTER_BUFFER_OK         -> decode the packet
//                            JITTER_BUFFER_MISSING    -> the codec's PLC for the span
//                            JITTER_BUFFER_INSERTION  -> the codec's PLC for the span (speex
//                                                        asks for a frame to be inserted to
//                                                        grow its delay)
//                          jitter_buffer_tick()      (once per get: speex's clock)
//
// Settings: speexdsp's defaults (jitter_buffer_init(step) with step = concealment size =
// one packet; margin 0; max late rate 4 %; automatic latency trade-off) and its automatic
// delay adjustment in jitter_buffer_tick(). speex's own Speex client calls
// jitter_buffer_update_delay() only during silence, judged by the Speex decoder's activity
// measure, which other codecs do not have; calling it at all turns the automatic
// adjustment off, so it is not called and JITTER_BUFFER_SET_MARGIN stays at its default.
//
// Units. Timestamps given to speex are milliseconds of media from the stream's origin
// (RTP ticks x 1000 / clock rate): speex clamps its arrival timings to +-32767 units, which
// in 48 kHz ticks would cap its delay at 0.68 s; in ms it is 32 s. Packet durations are whole
// ms for every codec and frame size the lab uses.
//
// speex has no notion of wall time: it starts playing the first packet at the first get,
// with no buffer, and grows its delay by insertions as packets arrive late, shrinks it by
// skipping a packet's span when every packet comes early. Before the first packet arrives
// the player emits silence (kSilence), like the others.
//
// Counters. Insertions are concealment (synthesized audio stands in for media that is not
// there) and, being how speex slows down, inserted_samples as well. Audio speex skips when
// it shrinks its delay is removed_samples; those samples were never decoded (blocks that
// follow a skip are kRemove). Neither is part of the recorder's per-sample balance. late_packets:
// packets whose whole span was behind speex's play pointer when they arrived (speex drops them, or
// keeps them until its next clean-up, never to play them). discarded_packets: other packets put and
// never returned (speex's delay reduction skipped them, its 200-packet store overflowed,
// duplicates), plus packets that are not this stream's.
//
// target_delay_ms: speex exposes no target. It starts with no buffer and moves its delay
// only by insertions and skips, so the delay it chose is their balance: inserted minus
// skipped ms since the start, over the delay of the first packet played. (The audio it
// holds, JITTER_BUFFER_GET_AVAILABLE_COUNT packets, swings by the arrival jitter itself
// from pull to pull: it says how full the buffer is, not what speex aims at.)
//
// speex copies each packet it keeps (its documented default); this player allocates
// nothing per packet itself.
#include <speex/speex_jitter.h>

#include <algorithm>
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

// Longest packet accepted.
constexpr int kMaxPacketMs = kMaxLabPacketMs;
// Largest payload accepted (an MTU; L16 at high rates is not a speex-baseline case).
constexpr size_t kMaxPayloadBytes = 1500;
// speex resynchronizes on the next put after this many gets in a row found nothing
// (jitter.c: lost_count > 20); the late test is skipped then.
constexpr int kSpeexResyncMisses = 20;

struct JitterBufferDeleter {
  void operator()(JitterBuffer* jitter) const { jitter_buffer_destroy(jitter); }
};

std::unique_ptr<codec::AudioDecoder> MakeDecoder(const StreamFormat& format) {
  if (format.codec == nullptr) throw std::invalid_argument("speex player: format.codec is null");
  if (format.codec->id != codec::CodecId::kOpus &&
      format.output_rate_hz != format.codec->sample_rate_hz) {
    throw std::invalid_argument("speex player: " + std::string(format.codec->name) + " plays at " +
                                std::to_string(format.codec->sample_rate_hz) + " Hz, not " +
                                std::to_string(format.output_rate_hz));
  }
  if (format.frame_ms <= 0 || format.frame_ms > kMaxPacketMs) {
    throw std::invalid_argument("speex player: frame_ms " + std::to_string(format.frame_ms) +
                                " not in 1.." + std::to_string(kMaxPacketMs));
  }
  auto decoder = codec::CreateDecoder(
      *format.codec, {.sample_rate_hz = format.output_rate_hz, .channels = format.channels});
  if (!decoder.ok()) throw std::invalid_argument("speex player: " + decoder.error().message);
  if ((*decoder)->sample_rate_hz() != format.output_rate_hz) {
    throw std::invalid_argument("speex player: " + std::string(format.codec->name) +
                                " cannot decode at " + std::to_string(format.output_rate_hz) +
                                " Hz");
  }
  return std::move(*decoder);
}

class SpeexPlayer final : public LabPlayer {
 public:
  explicit SpeexPlayer(const StreamFormat& format)
      : format_(format),
        frames_per_ms_(format.output_rate_hz / 1000),
        decoder_(MakeDecoder(format)),
        jitter_(jitter_buffer_init(format.frame_ms)),
        queue_(format.output_rate_hz, format.channels,
               (2 * kMaxPacketMs + 10) * format.output_rate_hz / 1000),
        recorder_(format.output_rate_hz) {
    if (!jitter_) throw std::runtime_error("speex player: jitter_buffer_init failed");
    if (format.output_rate_hz % 1000 != 0) {
      throw std::invalid_argument("speex player: output_rate_hz " +
                                  std::to_string(format.output_rate_hz) + " is not whole kHz");
    }
    payload_.assign(kMaxPayloadBytes, 0);
    pcm_.assign(static_cast<size_t>(kMaxPacketMs * frames_per_ms_ * format.channels), 0);
    concealed_.assign(pcm_.size(), 0);
  }

  std::string_view name() const override { return "speexdsp"; }

  void Insert(const playout::PlayoutEngine::Packet& packet) override {
    if (packet.payload_type != format_.payload_type || packet.payload.empty() ||
        packet.payload.size() > kMaxPayloadBytes) {
      ++rejected_packets_;
      return;
    }
    const auto samples = decoder_->PacketSamples(packet.payload);
    if (!samples.ok() || *samples <= 0 || *samples % frames_per_ms_ != 0 ||
        *samples / frames_per_ms_ > kMaxPacketMs) {
      ++rejected_packets_;
      return;
    }
    const int64_t ts = unwrapper_.Unwrap(packet.timestamp);
    if (!origin_ticks_) origin_ticks_ = MediaOriginTicks(packet.timestamp, format_);
    const int64_t media_ms = (ts - *origin_ticks_) * 1000 / format_.codec->rtp_clock_rate_hz;
    const int span_ms = *samples / frames_per_ms_;
    if (playing_ && miss_streak_ <= kSpeexResyncMisses) {
      const auto pointer =
          static_cast<uint32_t>(jitter_buffer_get_pointer_timestamp(jitter_.get()));
      if (static_cast<int32_t>(static_cast<uint32_t>(media_ms + span_ms) - pointer) <= 0) {
        ++late_packets_;
      } else {
        ++accepted_packets_;
      }
    } else {
      ++accepted_packets_;
    }
    // Late packets are put too: speex learns its delay from their timing.
    JitterBufferPacket p{};
    p.data = const_cast<char*>(reinterpret_cast<const char*>(packet.payload.data()));
    p.len = static_cast<spx_uint32_t>(packet.payload.size());
    p.timestamp = static_cast<spx_uint32_t>(media_ms);
    p.span = static_cast<spx_uint32_t>(span_ms);
    p.sequence = packet.sequence_number;
    jitter_buffer_put(jitter_.get(), &p);
    received_ = true;
  }

  PlayedBlock Pull10ms(std::span<int16_t> out) override {
    if (out.size() != static_cast<size_t>(queue_.block_frames() * format_.channels)) {
      throw std::invalid_argument("speex player: Pull10ms needs " +
                                  std::to_string(queue_.block_frames() * format_.channels) +
                                  " samples, got " + std::to_string(out.size()));
    }
    PlayedBlock block;
    if (!received_) {
      std::fill(out.begin(), out.end(), int16_t{0});
      return block;
    }
    while (queue_.frames() < queue_.block_frames()) Refill();
    const OutputQueue::Block emitted = queue_.Emit(out, recorder_);
    block.kind = emitted.kind;
    if (skipped_ && block.kind == BlockKind::kNormal) {
      block.kind = BlockKind::kRemove;
      skipped_ = false;
    }
    block.media_ts =
        emitted.media_frames * format_.codec->rtp_clock_rate_hz / format_.output_rate_hz;
    block.rtp_timestamp = static_cast<uint32_t>(origin_ticks_.value_or(0) + block.media_ts);
    block.target_delay_ms = static_cast<double>(inserted_frames_) / frames_per_ms_ -
                            static_cast<double>(skipped_frames_) / frames_per_ms_;
    return block;
  }

  PlayerCounters counters() const override {
    const playout::PlayoutStatistics& s = recorder_.stats();
    PlayerCounters c;
    c.emitted_samples = s.totalSamplesReceived;
    c.concealed_samples = s.concealedSamples;
    c.zero_filled_samples = s.zero_filled_samples;
    c.inserted_samples = inserted_frames_;
    c.removed_samples = skipped_frames_ + trimmed_frames_;
    c.late_packets = late_packets_;
    spx_int32_t available = 0;
    jitter_buffer_ctl(jitter_.get(), JITTER_BUFFER_GET_AVAILABLE_COUNT, &available);
    const uint64_t pending = returned_packets_ + static_cast<uint64_t>(std::max(available, 0));
    c.discarded_packets =
        rejected_packets_ + (accepted_packets_ > pending ? accepted_packets_ - pending : 0);
    c.interruptions = s.interruptionCount;
    c.interruption_seconds = s.totalInterruptionDuration;
    return c;
  }

 private:
  // One get (and tick), or the next piece of a concealment span, into the queue.
  void Refill() {
    if (conceal_left_ms_ > 0) {
      const int ms = std::min(conceal_left_ms_, format_.frame_ms);
      Conceal(ms, conceal_media_ms_);
      conceal_left_ms_ -= ms;
      conceal_media_ms_ += ms;
      return;
    }
    JitterBufferPacket p{};
    p.data = reinterpret_cast<char*>(payload_.data());
    p.len = static_cast<spx_uint32_t>(payload_.size());
    spx_int32_t offset_ms = 0;
    const int result = jitter_buffer_get(jitter_.get(), &p, format_.frame_ms, &offset_ms);
    playing_ = true;
    // The media position speex is at: the packet's, or the concealed span's start.
    const auto media_ms = static_cast<int64_t>(static_cast<int32_t>(p.timestamp));
    const int span_ms =
        static_cast<int32_t>(p.span) > 0 ? static_cast<int>(p.span) : format_.frame_ms;
    if (result == JITTER_BUFFER_OK) {
      miss_streak_ = 0;
      ++returned_packets_;
      if (!PlayDecoded(p, media_ms, static_cast<int>(offset_ms))) {
        StartConcealing(span_ms, media_ms);
      }
    } else {
      // MISSING, INSERTION, or an internal error: conceal the span speex reports.
      ++miss_streak_;
      if (result == JITTER_BUFFER_INSERTION) {
        inserted_frames_ += static_cast<uint64_t>(span_ms) * static_cast<uint64_t>(frames_per_ms_);
      }
      StartConcealing(span_ms, media_ms);
    }
    const int32_t before = jitter_buffer_get_pointer_timestamp(jitter_.get());
    jitter_buffer_tick(jitter_.get());
    const int32_t skipped_ms = jitter_buffer_get_pointer_timestamp(jitter_.get()) - before;
    if (skipped_ms > 0) {
      skipped_frames_ += static_cast<uint64_t>(skipped_ms) * static_cast<uint64_t>(frames_per_ms_);
      skipped_ = true;
    }
  }

  // Decodes the packet speex returned. `offset_ms`: where it starts relative to the play
  // pointer (speex may return an older packet that overlaps it: its head is skipped).
  bool PlayDecoded(const JitterBufferPacket& p, int64_t media_ms, int offset_ms) {
    const auto decoded = decoder_->Decode(
        std::span<const uint8_t>(payload_).first(std::min<size_t>(p.len, payload_.size())), pcm_);
    if (!decoded.ok() || *decoded <= 0) return false;
    // A packet that starts inside the span asked for: conceal the lead-in first.
    if (offset_ms > 0) Conceal(std::min(offset_ms, kMaxPacketMs), media_ms - offset_ms);
    const int skip = std::min(*decoded, std::max(0, -offset_ms) * frames_per_ms_);
    if (skip > 0) trimmed_frames_ += static_cast<uint64_t>(skip);
    const int frames = *decoded - skip;
    if (frames <= 0) return true;
    const auto src =
        std::span<const int16_t>(pcm_).subspan(static_cast<size_t>(skip * format_.channels),
                                               static_cast<size_t>(frames * format_.channels));
    std::ranges::copy(
        src,
        queue_.Append(frames, SampleOrigin::kDecoded, media_ms * frames_per_ms_ + skip).begin());
    return true;
  }

  void StartConcealing(int ms, int64_t media_ms) {
    conceal_left_ms_ = ms;
    conceal_media_ms_ = media_ms;
  }

  // `ms` of the codec's PLC (zeros when it has none or refuses the length) into the queue.
  void Conceal(int ms, int64_t media_ms) {
    const int frames = ms * frames_per_ms_;
    const int64_t media = media_ms * frames_per_ms_;
    const auto pcm =
        std::span<int16_t>(concealed_).first(static_cast<size_t>(frames * format_.channels));
    if (decoder_->has_plc()) {
      const auto concealed = decoder_->Conceal(frames, pcm);
      if (concealed.ok() && *concealed == frames) {
        std::ranges::copy(pcm, queue_.Append(frames, SampleOrigin::kConcealed, media).begin());
        return;
      }
    }
    std::ranges::fill(queue_.Append(frames, SampleOrigin::kZeroFill, media), int16_t{0});
  }

  // Passed by argument.
  const StreamFormat format_;
  const int frames_per_ms_;  // sample frames per ms at the output rate
  // Allocated by this.
  std::unique_ptr<codec::AudioDecoder> decoder_;
  std::unique_ptr<JitterBuffer, JitterBufferDeleter> jitter_;
  std::vector<uint8_t> payload_;    // what jitter_buffer_get copies out
  std::vector<int16_t> pcm_;        // one packet decoded
  std::vector<int16_t> concealed_;  // a piece of concealment
  OutputQueue queue_;
  playout::PlayoutStatisticsRecorder recorder_;
  // Others.
  rtp::TimestampUnwrapper unwrapper_;
  std::optional<int64_t> origin_ticks_;
  bool received_ = false;  // a packet was put: playout runs from the next pull
  bool playing_ = false;   // jitter_buffer_get was called: its pointer is meaningful
  bool skipped_ = false;   // speex skipped audio since the last block
  int miss_streak_ = 0;    // gets in a row that returned no packet
  int conceal_left_ms_ = 0;
  int64_t conceal_media_ms_ = 0;
  uint64_t rejected_packets_ = 0;
  uint64_t accepted_packets_ = 0;  // put and not late
  uint64_t returned_packets_ = 0;
  uint64_t late_packets_ = 0;
  uint64_t inserted_frames_ = 0;  // concealment speex asked for to grow its delay
  uint64_t skipped_frames_ = 0;   // media speex jumped over to shrink its delay
  uint64_t trimmed_frames_ = 0;   // heads of packets that overlapped audio already played
};

}  // namespace

// speex keeps its own time, counted in get/tick calls: the clock is not needed.
std::unique_ptr<LabPlayer> MakeSpeexPlayer([[maybe_unused]] const Clock& clock,
                                           const StreamFormat& format) {
  return std::make_unique<SpeexPlayer>(format);
}

}  // namespace parley::lab
