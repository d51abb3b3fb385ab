#include "parley/playout/playout_engine.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "parley/codec/registry.h"
#include "parley/rtp/opus_payload.h"
#include "parley/rtp/red.h"

namespace parley::playout {
namespace {

// Opus DTX frames: a TOC byte and at most one more (RFC 6716 3.1: no audio data).
constexpr size_t kMaxDtxPayloadBytes = 2;
// Sync buffer capacity: a 120 ms packet, a 40 ms stretch window, merge search and slack.
constexpr int kSyncCapacityMs = 300;
constexpr int kMaxPacketMs = 120;
// A packet held off the stream's timeline is copied: an MTU's worth, RED included.
constexpr size_t kMaxHeldPayloadBytes = 1500;
// Comfort noise never goes below Expand's default floor: the background tracker follows
// the quietest 10 ms played, digital silence included, and noise below about -90 dBFS
// rounds to hard zeros in int16.
constexpr double kMinComfortNoiseDbfs = -70.0;
// Speech after DTX comfort noise fades in over 5 ms: the noise it follows is unrelated to
// it, so there is nothing to merge with, and a hard onset clicks.
constexpr int kDtxFadeInMs = 5;

// Whether an Opus packet carries in-band FEC (LBRR) for the frame before it (RFC 6716
// 4.2.3: after the VAD flag of each SILK frame comes the LBRR flag; the first bits of the
// range coder are plain bits). CELT-only packets carry none. In a multi-frame packet
// (codes 1-3) the first frame's flags count: its LBRR is what DecodeFec uses.
bool OpusHasLbrr(std::span<const uint8_t> payload) {
  const auto parsed = rtp::ParseOpusPayload(payload);
  if (!parsed.ok() || parsed->mode == rtp::OpusMode::kCelt) return false;
  size_t frames_bytes = parsed->padding_bytes;
  for (int f = 0; f < parsed->frame_count; ++f) {
    frames_bytes += static_cast<size_t>(parsed->frame_bytes[static_cast<size_t>(f)]);
  }
  if (parsed->frame_bytes[0] < 1 || frames_bytes > payload.size()) return false;
  const uint8_t first = payload[payload.size() - frames_bytes];
  const int silk_frames = std::max(1, parsed->frame_samples_48k / 960);  // 20 ms each
  return ((first >> (7 - silk_frames)) & 0x1) != 0;
}

PlayoutEngineConfig Validated(PlayoutEngineConfig config) {
  if (config.output_rate_hz < 8000 || config.output_rate_hz > 48000 ||
      config.output_rate_hz % 100 != 0) {
    throw std::invalid_argument("PlayoutEngine: output_rate_hz " +
                                std::to_string(config.output_rate_hz) + " not in 8000..48000");
  }
  if (config.channels < 1 || config.channels > codec::kMaxChannels) {
    throw std::invalid_argument("PlayoutEngine: channels must be 1..2");
  }
  if (config.bindings.empty()) {
    config.bindings.push_back({111, &codec::GetCodecInfo(codec::CodecId::kOpus)});
  }
  if (config.red_payload_type > 127) {
    throw std::invalid_argument("PlayoutEngine: red_payload_type > 127");
  }
  int clock = 0;
  for (const auto& b : config.bindings) {
    if (b.payload_type < 0 || b.payload_type > 127 || b.codec == nullptr) {
      throw std::invalid_argument("PlayoutEngine: binding needs a payload type 0..127 and a codec");
    }
    if (clock != 0 && b.codec->rtp_clock_rate_hz != clock) {
      throw std::invalid_argument("PlayoutEngine: codecs with different RTP clocks");
    }
    clock = b.codec->rtp_clock_rate_hz;
  }
  config.buffer.clock_rate_hz = clock;
  config.buffer.max_buffer = std::max(config.buffer.max_buffer, config.delay.max_buffer);
  return config;
}

ExpandConfig MakeExpandConfig(const PlayoutEngineConfig& c) {
  ExpandConfig e;
  e.format = {c.output_rate_hz, c.channels};
  e.seed = c.seed;
  return e;
}

}  // namespace

PlayoutEngine::PlayoutEngine(const Clock& clock, Config config)
    : clock_(clock),
      config_(Validated(std::move(config))),
      buffer_(config_.buffer),
      delay_(config_.delay),
      recorder_(config_.output_rate_hz),
      expand_(MakeExpandConfig(config_)),
      merge_(MergeConfig{.format = {config_.output_rate_hz, config_.channels}}),
      stretch_(TimeStretchConfig{.format = {config_.output_rate_hz, config_.channels}}),
      budget_(StretchBudget::Config{.sample_rate_hz = config_.output_rate_hz,
                                    .max_fraction = config_.stretch_max_fraction}),
      comfort_(ComfortNoiseConfig{.format = {config_.output_rate_hz, config_.channels},
                                  .seed = config_.seed + 1,
                                  .lpc_order = 0}),
      block_frames_(config_.output_rate_hz / 100),
      quiet_power_(std::pow(10.0, stretch_.config().low_energy_dbfs / 10.0) * 32768.0 * 32768.0),
      channels_(config_.channels),
      clock_rate_hz_(config_.buffer.clock_rate_hz),
      timeline_(StreamTimelineConfig{.clock_rate_hz = config_.buffer.clock_rate_hz}) {
  for (const auto& b : config_.bindings) {
    auto decoder = codec::CreateDecoder(
        *b.codec, codec::DecoderConfig{.sample_rate_hz = config_.output_rate_hz,
                                       .channels = config_.channels});
    if (!decoder.ok() || (*decoder)->sample_rate_hz() != config_.output_rate_hz) {
      throw std::invalid_argument("PlayoutEngine: " + std::string(b.codec->name) +
                                  " cannot decode at " + std::to_string(config_.output_rate_hz) +
                                  " Hz");
    }
    decoders_[static_cast<size_t>(b.payload_type)] = {b.codec, std::move(*decoder)};
  }
  const size_t max_packet =
      static_cast<size_t>(config_.output_rate_hz / 1000 * kMaxPacketMs * channels_);
  sync_.assign(static_cast<size_t>(config_.output_rate_hz / 1000 * kSyncCapacityMs * channels_), 0);
  decoded_.assign(max_packet, 0);
  scratch_.assign(
      max_packet +
          static_cast<size_t>((merge_.search_frames() + stretch_.max_lag_frames()) * channels_),
      0);
  preview_.assign(static_cast<size_t>(merge_.required_continuation_frames() * channels_), 0);
  held_payload_.assign(kMaxHeldPayloadBytes, 0);
}

PlayoutEngine::~PlayoutEngine() = default;

const PlayoutEngine::Decoder* PlayoutEngine::DecoderFor(int payload_type) const {
  if (payload_type < 0 || payload_type > 127) return nullptr;
  const Decoder& d = decoders_[static_cast<size_t>(payload_type)];
  return d.decoder ? &d : nullptr;
}

int64_t PlayoutEngine::FramesToTicks(int64_t frames) const {
  return frames * clock_rate_hz_ / config_.output_rate_hz;
}

double PlayoutEngine::buffered_ms() const {
  return FramesToMs(sync_frames_) + buffer_.TicksToMs(buffer_.ContentTicks());
}

Status PlayoutEngine::InsertPacket(const rtp::RtpPacketView& packet) {
  return InsertPacket(
      Packet{packet.payload_type(), packet.sequence_number(), packet.timestamp(), packet.payload()},
      packet.ssrc());
}

std::optional<int64_t> PlayoutEngine::ContentEnd() const {
  std::optional<int64_t> end;
  if (const auto played = buffer_.played_until()) end = *played + concealed_ticks_;
  if (!buffer_.empty()) {
    const PacketInfo& last = buffer_.At(buffer_.size() - 1).info;
    const int64_t last_end = last.timestamp + buffer_.DurationOf(last);
    end = end ? std::max(*end, last_end) : last_end;
  }
  return end;
}

Status PlayoutEngine::Split(const Packet& packet, RedBlocks& blocks, size_t& count) const {
  count = 1;
  blocks[0] = {packet.payload_type, packet.timestamp, packet.payload};
  if (config_.red_payload_type >= 0 && packet.payload_type == config_.red_payload_type) {
    auto parsed = rtp::ParseRedPayload(packet.payload, packet.timestamp, blocks);
    if (!parsed.ok()) return Error{"RED packet dropped: " + parsed.error().message};
    count = *parsed;
    if (count == 0 || blocks[count - 1].data.empty()) {
      return Error{"RED packet dropped: no primary block"};
    }
  }
  const rtp::RedBlock& primary = blocks[count - 1];
  const Decoder* decoder = DecoderFor(primary.payload_type);
  if (decoder == nullptr)
    return Error{"unknown payload type " + std::to_string(primary.payload_type)};
  auto samples = decoder->decoder->PacketSamples(primary.data);
  if (!samples.ok()) return Error{"payload dropped: " + samples.error().message};
  return Status::Ok();
}

Status PlayoutEngine::InsertPacket(const Packet& packet, std::optional<uint32_t> ssrc) {
  RedBlocks blocks;
  size_t count = 0;
  if (Status split = Split(packet, blocks, count); !split.ok()) return split;
  const Clock::TimePoint now = clock_.Now();
  const StreamTimeline::Arrival arrival{blocks[count - 1].rtp_timestamp, packet.sequence_number,
                                        ssrc, now};
  const StreamTimeline::Placement placement = timeline_.Place(arrival, {ContentEnd()});
  switch (placement.verdict) {
    case StreamTimeline::Verdict::kCurrent:
      File(blocks, count, placement.timestamp, placement.sequence_number, now);
      return Status::Ok();
    case StreamTimeline::Verdict::kStale:
      return Error{"packet of a timeline already left dropped (timestamp " +
                   std::to_string(packet.timestamp) + ")"};
    case StreamTimeline::Verdict::kHeld:
      // Kept aside until a second packet confirms its timeline (or it turns out a stray).
      if (packet.payload.size() > held_payload_.size()) {
        held_.reset();  // a confirmation then files only the packet that confirms
        return Error{"packet off the stream's timeline dropped: too large to hold"};
      }
      std::copy(packet.payload.begin(), packet.payload.end(), held_payload_.begin());
      held_ = packet;
      held_->payload = std::span<const uint8_t>(held_payload_).first(packet.payload.size());
      held_arrival_ = now;
      return Status::Ok();
    case StreamTimeline::Verdict::kNewTimeline:
      if (held_) {
        RedBlocks held_blocks;
        size_t held_count = 0;
        if (Split(*held_, held_blocks, held_count).ok()) {
          File(held_blocks, held_count, placement.held_timestamp, placement.held_sequence_number,
               held_arrival_);
        }
        held_.reset();
      }
      File(blocks, count, placement.timestamp, placement.sequence_number, now);
      return Status::Ok();
  }
  return Status::Ok();
}

void PlayoutEngine::File(const RedBlocks& blocks, size_t count, int64_t primary_timestamp,
                         int64_t sequence, Clock::TimePoint arrival) {
  const rtp::RedBlock& primary = blocks[count - 1];
  // Redundant blocks first (oldest first), then the primary that may replace none of them.
  for (size_t i = 0; i < count; ++i) {
    const rtp::RedBlock& block = blocks[i];
    const bool redundant = i + 1 < count;
    const Decoder* decoder = DecoderFor(block.payload_type);
    if (decoder == nullptr) continue;  // the primary's was checked by Split
    auto samples = decoder->decoder->PacketSamples(block.data);
    if (!samples.ok()) continue;
    PacketInfo info;
    // A block's offset from the primary, wrapping with RTP's 32-bit timestamps.
    info.timestamp =
        primary_timestamp + static_cast<int32_t>(block.rtp_timestamp - primary.rtp_timestamp);
    info.sequence_number = sequence - static_cast<int64_t>(count - 1 - i);
    info.payload_type = static_cast<uint8_t>(block.payload_type);
    info.duration = FramesToTicks(*samples);
    info.arrival_time = arrival;
    info.is_redundant = redundant;
    if (redundant) ++red_redundant_received_;
    const PacketBuffer::InsertOutcome outcome = buffer_.Insert(info, block.data);
    if (outcome.overflow_dropped > 0 || outcome.result == PacketBuffer::InsertResult::kOverflow) {
      overflow_pending_ = true;
    }
    const bool accepted = outcome.result == PacketBuffer::InsertResult::kInserted ||
                          outcome.result == PacketBuffer::InsertResult::kReplacedRedundant;
    // A packet too late to play is measured all the same: it is the tail the target has to
    // cover, and leaving it out would make the target blind to exactly the packets it lost.
    const bool late = outcome.result == PacketBuffer::InsertResult::kLate;
    if ((accepted || late) && !redundant) delay_.Update(info.timestamp, clock_rate_hz_, arrival);
  }
}

DecisionInput PlayoutEngine::MakeDecisionInput() const {
  DecisionInput in;
  in.started = started_;
  in.block_ms = FramesToMs(block_frames_);
  in.sync_ms = FramesToMs(sync_frames_);
  in.buffered_ms = buffered_ms();
  in.target_ms = delay_.target_ms();
  // Adaptive playout steers how late the next sample plays; a fixed buffer, what it holds.
  const auto played = buffer_.played_until();
  if (delay_.mode() == DelayMode::kAdaptive && played) {
    const int64_t position = *played + concealed_ticks_ - FramesToTicks(sync_frames_);
    in.playout_delay_ms = delay_.PlayoutDelayMs(position, clock_.Now()).value_or(-1.0);
  }
  if (!started_) in.should_start = delay_.ShouldStartPlayout(in.buffered_ms, clock_.Now());
  in.concealing = concealing_;
  in.last_was_dtx = last_was_dtx_;
  // A pause counts only where the playout delay is steered (adaptive): see Decide.
  in.quiet = last_block_quiet_ && in.playout_delay_ms >= 0.0;
  in.stretch_allowed = budget_.available_frames() > 0 || in.quiet;
  in.last = last_operation_;
  in.gap_after_overflow = overflow_pending_;
  const auto next = buffer_.PeekNext();
  in.has_packet = next.has_value();
  // The next packet's duration, else the last one's (the level swings by a packet).
  in.packet_ms = buffer_.TicksToMs(buffer_.DurationOf(next ? next->info : PacketInfo{}));
  if (next) {
    const auto gap = buffer_.GapToNext();
    // A gap already covered by concealment is closed: the packet is next.
    in.next_is_contiguous = !gap || concealed_ticks_ >= gap->duration;
    in.missing_packets =
        last_sequence_ ? std::max<int64_t>(0, next->info.sequence_number - *last_sequence_ - 1) : 0;
    if (gap && in.missing_packets == 0 && next->info.is_redundant) in.missing_packets = 1;
    const Decoder* decoder = DecoderFor(next->info.payload_type);
    in.next_has_fec = gap && decoder != nullptr && decoder->decoder->has_fec() &&
                      !next->info.is_redundant && gap->duration == buffer_.DurationOf(next->info) &&
                      (decoder->codec->id != codec::CodecId::kOpus || OpusHasLbrr(next->payload));
  }
  return in;
}

void PlayoutEngine::Append(std::span<const int16_t> samples, SegmentKind kind, bool fed) {
  const int capacity = static_cast<int>(sync_.size()) / channels_;
  const int frames =
      std::min(static_cast<int>(samples.size()) / channels_, capacity - sync_frames_);
  if (frames <= 0) return;
  std::copy_n(samples.begin(), frames * channels_,
              sync_.begin() + static_cast<std::ptrdiff_t>(sync_frames_ * channels_));
  sync_frames_ += frames;
  if (segment_count_ > 0) {
    Segment& last = segments_[static_cast<size_t>(segment_count_ - 1)];
    if (last.kind == kind && last.fed == fed) {
      last.frames += frames;
      return;
    }
  }
  if (segment_count_ == static_cast<int>(segments_.size())) {
    segments_[static_cast<size_t>(segment_count_ - 1)].frames += frames;  // cannot happen
    return;
  }
  segments_[static_cast<size_t>(segment_count_++)] = {kind, frames, fed};
}

void PlayoutEngine::FeedPendingToExpand() {
  int pos = 0;
  for (int i = 0; i < segment_count_; ++i) {
    Segment& s = segments_[static_cast<size_t>(i)];
    if (!s.fed) {
      expand_.AppendPlayed(std::span<const int16_t>(sync_).subspan(
          static_cast<size_t>(pos * channels_), static_cast<size_t>(s.frames * channels_)));
      s.fed = true;
    }
    pos += s.frames;
  }
}

void PlayoutEngine::AppendDecoded(std::span<const int16_t> audio, Operation& op) {
  const int frames = static_cast<int>(audio.size()) / channels_;
  // After the codec's own concealment the decoder continues its signal itself (Opus
  // cross-fades from its PLC into the next frame): the audio follows on as it is, at the
  // time it belongs to. After Expand's, Merge aligns and splices.
  if (concealing_ && !codec_concealed_ &&
      frames * 2 >= merge_.required_continuation_frames() - merge_.search_frames()) {
    expand_.Preview(preview_);
    const MergeResult m = merge_.Run(preview_, audio, expand_.voiced_gain(), scratch_);
    Append(std::span<const int16_t>(scratch_).first(
               static_cast<size_t>(m.inserted_frames * channels_)),
           SegmentKind::kConcealed, false);
    Append(std::span<const int16_t>(scratch_).subspan(
               static_cast<size_t>(m.inserted_frames * channels_),
               static_cast<size_t>((m.frames_written - m.inserted_frames) * channels_)),
           SegmentKind::kNormal, false);
    op = Operation::kMerge;
  } else {
    Append(audio, SegmentKind::kNormal, false);
  }
  concealing_ = false;
  concealed_ticks_ = 0;
}

int64_t PlayoutEngine::LateTicksToSkip(const PacketInfo& next) const {
  const auto played = buffer_.played_until();
  if (!played || !concealing_ || last_was_dtx_) return 0;
  // Concealment has already played `overlap` of this packet's time: the packet came late.
  const int64_t content_end = *played + concealed_ticks_;
  const int64_t overlap = content_end - next.timestamp;
  if (overlap <= 0) return 0;
  // Playing the packet whole would add `overlap` to the delay. Take what brings the delay
  // up to the target (a delay that has to grow, grows here, where concealment already
  // stands in for the audio) and skip the rest, so that one packet beyond the target's
  // quantile costs its concealment and nothing more: the playout keeps its timing.
  const int64_t position = content_end - FramesToTicks(sync_frames_);
  const double delay_ms = delay_.PlayoutDelayMs(position, clock_.Now()).value_or(0.0);
  const double grow_ms = std::clamp(delay_.target_ms() - delay_ms, 0.0, buffer_.TicksToMs(overlap));
  return overlap - static_cast<int64_t>(grow_ms * clock_rate_hz_ / 1000.0);
}

bool PlayoutEngine::DecodeNext(Operation& op) {
  const auto next = buffer_.PeekNext();
  if (!next) return false;
  const int64_t duration_ticks = buffer_.DurationOf(next->info);
  const int64_t skip_ticks = LateTicksToSkip(next->info);
  if (skip_ticks >= duration_ticks) {
    // Wholly covered by the concealment already played: too late to be heard.
    const int64_t content_end = *buffer_.played_until() + concealed_ticks_;
    (void)buffer_.PopNext();
    ++late_skipped_;
    concealed_ticks_ = std::max<int64_t>(0, content_end - *buffer_.played_until());
    return true;
  }
  // A gap covered by concealment (or DTX comfort noise): move the playout point over it.
  if (buffer_.GapToNext()) buffer_.DiscardUpTo(next->info.timestamp);
  const Decoder* decoder = DecoderFor(next->info.payload_type);
  last_sequence_ = next->info.sequence_number;
  const Clock::Duration waited = clock_.Now() - next->info.arrival_time;
  if (decoder != nullptr && decoder->codec->id == codec::CodecId::kOpus &&
      next->payload.size() <= kMaxDtxPayloadBytes) {
    // A DTX frame: comfort noise for its duration, not a decode.
    (void)buffer_.PopNext();
    last_was_dtx_ = true;
    ComfortNoiseBlock(static_cast<int>(duration_ticks * config_.output_rate_hz / clock_rate_hz_));
    return true;
  }
  if (decoder == nullptr) {
    (void)buffer_.PopNext();
    return false;
  }
  auto decoded = decoder->decoder->Decode(next->payload, decoded_);
  last_payload_type_ = next->info.payload_type;
  (void)buffer_.PopNext();
  if (!decoded.ok()) return false;
  last_was_dtx_ = false;
  const int skip =
      std::min(*decoded, static_cast<int>(skip_ticks * config_.output_rate_hz / clock_rate_hz_));
  const int frames = *decoded - skip;
  recorder_.OnJitterBufferEmitted(
      static_cast<uint64_t>(frames), waited,
      std::chrono::duration_cast<Clock::Duration>(
          std::chrono::duration<double, std::milli>(delay_.target_ms())),
      std::chrono::duration_cast<Clock::Duration>(config_.delay.min_delay));
  if (last_operation_ == Operation::kComfortNoise) {
    const int fade = std::min(frames, config_.output_rate_hz / 1000 * kDtxFadeInMs);
    for (int n = 0; n < fade; ++n) {
      for (int c = 0; c < channels_; ++c) {
        int16_t& v = decoded_[static_cast<size_t>((skip + n) * channels_ + c)];
        v = static_cast<int16_t>(v * (n + 1) / (fade + 1));
      }
    }
  }
  AppendDecoded(std::span<const int16_t>(decoded_).subspan(static_cast<size_t>(skip * channels_),
                                                           static_cast<size_t>(frames * channels_)),
                op);
  return true;
}

bool PlayoutEngine::RecoverWithFec(Operation& op) {
  const auto next = buffer_.PeekNext();
  const auto gap = buffer_.GapToNext();
  if (!next || !gap) return false;
  const Decoder* decoder = DecoderFor(next->info.payload_type);
  if (decoder == nullptr) return false;
  const int frames = static_cast<int>(gap->duration * config_.output_rate_hz / clock_rate_hz_);
  auto recovered = decoder->decoder->DecodeFec(next->payload, frames, decoded_);
  if (!recovered.ok()) return false;
  ++fec_recoveries_;
  last_payload_type_ = next->info.payload_type;
  buffer_.DiscardUpTo(next->info.timestamp);
  AppendDecoded(
      std::span<const int16_t>(decoded_).first(static_cast<size_t>(*recovered * channels_)), op);
  op = Operation::kFec;
  return true;
}

void PlayoutEngine::Conceal(bool underflow) {
  if (underflow) recorder_.OnUnderflow();
  FeedPendingToExpand();
  const std::span<int16_t> block =
      std::span<int16_t>(decoded_).first(static_cast<size_t>(block_frames_ * channels_));
  const Decoder* decoder = DecoderFor(last_payload_type_);
  ConcealResult r;
  bool done = false;
  if (decoder != nullptr && decoder->decoder->has_plc()) {
    auto plc = decoder->decoder->Conceal(block_frames_, block);
    if (plc.ok() && *plc == block_frames_) {
      r = expand_.ShapeCodecPlc(block);
      done = true;
    }
  }
  if (!done) r = expand_.ConcealFromHistory(block);
  // One block of Expand's in the event and the splice is Merge's to make.
  codec_concealed_ = done && (codec_concealed_ || !concealing_);
  const size_t voiced = static_cast<size_t>((r.frames - r.silent_frames) * channels_);
  Append(std::span<const int16_t>(block).first(voiced), SegmentKind::kConcealed, true);
  Append(std::span<const int16_t>(block).subspan(voiced,
                                                 static_cast<size_t>(r.silent_frames * channels_)),
         SegmentKind::kSilentConcealed, true);
  concealing_ = true;
  concealed_ticks_ += FramesToTicks(block_frames_);
}

void PlayoutEngine::ComfortNoiseBlock(int frames) {
  FeedPendingToExpand();
  comfort_.SetLevelDbfs(std::max(expand_.background_dbfs(), kMinComfortNoiseDbfs));
  int left = frames;
  while (left > 0) {
    const int n = std::min(left, block_frames_);
    const auto block = std::span<int16_t>(scratch_).first(static_cast<size_t>(n * channels_));
    comfort_.Generate(block);
    Append(block, SegmentKind::kComfortNoise, true);
    left -= n;
  }
  concealed_ticks_ += FramesToTicks(frames);
}

void PlayoutEngine::FillSync(int frames, Operation& op) {
  while (sync_frames_ < frames) {
    const DecisionInput in = MakeDecisionInput();
    if (!in.has_packet || !in.next_is_contiguous) break;
    if (!DecodeNext(op) && buffer_.empty()) break;
  }
}

int PlayoutEngine::Stretch(Operation op, int quiet_limit_frames) {
  // Only decoded audio at the front, with the window in it.
  if (segment_count_ == 0 || segments_[0].kind != SegmentKind::kNormal) return 0;
  const int window = std::min(
      {segments_[0].frames, sync_frames_,
       static_cast<int>(config_.decision.stretch_window_ms * config_.output_rate_hz / 1000)});
  if (window <
      static_cast<int>(config_.decision.min_decelerate_window_ms * config_.output_rate_hz / 1000)) {
    return 0;
  }
  const auto in = std::span<const int16_t>(sync_).first(static_cast<size_t>(window * channels_));
  // A pause is stretched freely (nothing to hear) but never past the target, which would
  // only have to be undone; speech within the budget, a whole period at a time.
  const int budget =
      quiet_limit_frames > 0 ? quiet_limit_frames : static_cast<int>(budget_.available_frames());
  const int rest = (sync_frames_ - window) * channels_;
  if (op == Operation::kAccelerate) {
    const StretchResult r = stretch_.Accelerate(in, scratch_, budget);
    if (r.frames_changed == 0) return 0;
    std::copy_n(scratch_.begin(), r.frames_written * channels_, sync_.begin());
    std::memmove(sync_.data() + r.frames_written * channels_, sync_.data() + window * channels_,
                 static_cast<size_t>(rest) * sizeof(int16_t));
    sync_frames_ -= r.frames_changed;
    segments_[0].frames -= r.frames_changed;
    recorder_.OnNormal(static_cast<uint64_t>(r.frames_changed));
    recorder_.OnAccelerate(static_cast<uint64_t>(r.frames_changed));
    if (!r.low_energy) budget_.OnStretched(r.frames_changed);
    return r.frames_changed;
  }
  const int capacity = static_cast<int>(sync_.size()) / channels_;
  const StretchResult r = stretch_.PreemptiveExpand(in, scratch_, budget);
  if (r.frames_changed == 0 || sync_frames_ + r.frames_changed > capacity ||
      segment_count_ == static_cast<int>(segments_.size())) {
    return 0;
  }
  std::memmove(sync_.data() + r.frames_written * channels_, sync_.data() + window * channels_,
               static_cast<size_t>(rest) * sizeof(int16_t));
  std::copy_n(scratch_.begin(), r.frames_written * channels_, sync_.begin());
  sync_frames_ += r.frames_changed;
  // The inserted period goes first in the accounting; which samples are "the inserted
  // ones" is a convention, the counts are exact.
  std::copy_backward(segments_.begin(), segments_.begin() + segment_count_,
                     segments_.begin() + segment_count_ + 1);
  segments_[0] = {SegmentKind::kInserted, r.frames_changed, segments_[1].fed};
  ++segment_count_;
  if (!r.low_energy) budget_.OnStretched(r.frames_changed);
  return r.frames_changed;
}

void PlayoutEngine::Emit(std::span<int16_t> out) {
  // Concealment to fill the block when the sync buffer falls short.
  while (sync_frames_ < block_frames_) Conceal(false);
  std::copy_n(sync_.begin(), block_frames_ * channels_, out.begin());
  int pos = 0;
  int left = block_frames_;
  while (left > 0) {
    Segment& s = segments_[0];
    const int n = std::min(left, s.frames);
    const auto part = std::span<const int16_t>(sync_).subspan(static_cast<size_t>(pos * channels_),
                                                              static_cast<size_t>(n * channels_));
    switch (s.kind) {
      case SegmentKind::kNormal:
        recorder_.OnNormal(static_cast<uint64_t>(n));
        break;
      case SegmentKind::kConcealed:
        recorder_.OnConcealed(static_cast<uint64_t>(n), false);
        break;
      case SegmentKind::kSilentConcealed:
        recorder_.OnConcealed(static_cast<uint64_t>(n), true);
        break;
      case SegmentKind::kComfortNoise:
        // DTX is the sender's choice, not loss: its comfort noise is the stream's audio
        // (libwebrtc does not count CNG in concealedSamples either).
        recorder_.OnNormal(static_cast<uint64_t>(n));
        break;
      case SegmentKind::kInserted:
        recorder_.OnDecelerate(static_cast<uint64_t>(n));
        break;
    }
    if (!s.fed) expand_.AppendPlayed(part);
    pos += n;
    left -= n;
    s.frames -= n;
    if (s.frames == 0) {
      std::copy(segments_.begin() + 1, segments_.begin() + segment_count_, segments_.begin());
      --segment_count_;
    }
  }
  double power = 0.0;
  for (const int16_t v : out.first(static_cast<size_t>(block_frames_ * channels_))) {
    power += static_cast<double>(v) * v;
  }
  last_block_quiet_ = power / (block_frames_ * channels_) < quiet_power_;
  recorder_.OnEmitted(static_cast<uint64_t>(block_frames_));
  budget_.OnPlayed(block_frames_);
  sync_frames_ -= block_frames_;
  std::memmove(sync_.data(), sync_.data() + block_frames_ * channels_,
               static_cast<size_t>(sync_frames_ * channels_) * sizeof(int16_t));
}

Result<PlayoutEngine::BlockInfo> PlayoutEngine::Pull10ms(std::span<int16_t> out) {
  if (out.size() != static_cast<size_t>(block_frames_ * channels_)) {
    return Error{"Pull10ms: out holds " + std::to_string(out.size()) + " samples, needs " +
                 std::to_string(block_frames_ * channels_)};
  }
  DecisionInput in = MakeDecisionInput();
  if (started_) {
    level_min_current_ = std::min(level_min_current_, in.buffered_ms);
    if (++level_window_blocks_ * in.block_ms >= config_.decision.floor_window_ms) {
      level_min_previous_ = level_min_current_;
      level_min_current_ = 1e9;
      level_window_blocks_ = 0;
    }
  }
  in.level_floor_ms = std::min(level_min_current_, level_min_previous_);
  in.floor_complete = level_min_previous_ < 1e9;
  Operation op = Decide(in, config_.decision);
  BlockInfo info;
  info.target_delay_ms = in.target_ms;
  info.buffer_delay_ms = in.buffered_ms;
  if (op == Operation::kSilence) {
    std::fill(out.begin(), out.end(), int16_t{0});
    silence_before_start_frames_ += block_frames_;
    info.operation = op;
    return info;
  }
  started_ = true;
  const int window_frames =
      static_cast<int>(config_.decision.stretch_window_ms * config_.output_rate_hz / 1000);
  switch (op) {
    case Operation::kNormal:
      FillSync(block_frames_, op);
      break;
    case Operation::kAccelerate:
    case Operation::kPreemptiveExpand: {
      FillSync(window_frames, op);
      if (op == Operation::kMerge) break;  // a splice came first; stretch next time
      const double off_target_ms = std::abs(SteeredDelayMs(in) - in.target_ms);
      info.frames_changed = Stretch(
          op, in.quiet
                  ? std::max(1, static_cast<int>(off_target_ms * config_.output_rate_hz / 1000.0))
                  : 0);
      if (info.frames_changed == 0) op = Operation::kNormal;
      FillSync(block_frames_, op);
      break;
    }
    case Operation::kFec:
      if (!RecoverWithFec(op)) {
        Conceal(false);
        op = Operation::kExpand;
      }
      FillSync(block_frames_, op);
      break;
    case Operation::kDiscardGap:
      if (const auto next = buffer_.PeekNext()) buffer_.DiscardUpTo(next->info.timestamp);
      overflow_pending_ = false;
      op = Operation::kNormal;
      FillSync(block_frames_, op);
      break;
    case Operation::kComfortNoise:
      ComfortNoiseBlock(block_frames_ - std::min(sync_frames_, block_frames_));
      break;
    case Operation::kExpand:
    default:
      while (sync_frames_ < block_frames_) Conceal(!in.has_packet);
      break;
  }
  const int64_t played = buffer_.played_until().value_or(0);
  // Concealment stands in for media after the playout point: count it, so the position
  // keeps moving through a gap as the listener's timeline does.
  info.media_timestamp = played + concealed_ticks_ - FramesToTicks(sync_frames_);
  info.rtp_timestamp = timeline_.RtpTimestampAt(info.media_timestamp).value_or(0);
  if (op == Operation::kAccelerate || op == Operation::kPreemptiveExpand) {
    // A stretch shifts every later level by what it removed or inserted.
    const double shift_ms =
        (op == Operation::kAccelerate ? -1 : 1) * FramesToMs(info.frames_changed);
    if (level_min_current_ < 1e9) level_min_current_ += shift_ms;
    if (level_min_previous_ < 1e9) level_min_previous_ += shift_ms;
  } else if (op == Operation::kExpand) {
    // Concealment moves the level unpredictably: measure the floor afresh.
    level_min_current_ = level_min_previous_ = 1e9;
    level_window_blocks_ = 0;
  }
  Emit(out);
  recorder_.SetPacketCounts(buffer_.stats());
  info.operation = op;
  last_operation_ = op;
  return info;
}

const PlayoutStatistics& PlayoutEngine::stats() {
  stats_ = recorder_.stats();
  stats_.fecPacketsReceived = red_redundant_received_ + static_cast<uint64_t>(fec_recoveries_);
  stats_.fecPacketsDiscarded = buffer_.stats().redundant_discarded;
  const StreamTimeline::Stats& timeline = timeline_.stats();
  stats_.new_timelines = timeline.new_timelines;
  stats_.stray_packets = timeline.stray;
  stats_.stale_packets = timeline.stale;
  // Dropped by the jitter buffer for arriving too early (a stray) or too late (stale).
  stats_.packetsDiscarded += timeline.stray + timeline.stale + late_skipped_;
  return stats_;
}

}  // namespace parley::playout
