// parley's playout engine behind the LabPlayer interface: the engine decides, this adapter
// only translates its block info and W3C statistics into the lab's block log and counters.
#include <memory>
#include <optional>
#include <stdexcept>

#include "parley/lab/lab_player.h"
#include "parley/lab/output_queue.h"

namespace parley::lab {
namespace {

playout::PlayoutEngineConfig Configured(const StreamFormat& format,
                                        playout::PlayoutEngineConfig config) {
  config.output_rate_hz = format.output_rate_hz;
  config.channels = format.channels;
  config.bindings.clear();
  if (format.codec != nullptr) config.bindings.push_back({format.payload_type, format.codec});
  return config;
}

class EnginePlayer final : public LabPlayer {
 public:
  EnginePlayer(const Clock& clock, const StreamFormat& format, playout::PlayoutEngineConfig config)
      : format_(format),
        engine_(std::make_unique<playout::PlayoutEngine>(clock, Configured(format, config))) {}

  std::string_view name() const override { return "parley"; }

  void Insert(const playout::PlayoutEngine::Packet& packet) override {
    // The engine's unwrapper places the first timestamp it sees at its own value, so the
    // origin is known from the first packet on (see MediaOriginTicks).
    if (!origin_ticks_) origin_ticks_ = MediaOriginTicks(packet.timestamp, format_);
    if (!engine_->InsertPacket(packet).ok()) ++rejected_packets_;
  }

  PlayedBlock Pull10ms(std::span<int16_t> out) override {
    auto info = engine_->Pull10ms(out);
    if (!info.ok()) throw std::invalid_argument("EnginePlayer::Pull10ms: " + info.error().message);
    const playout::PlayoutStatistics& stats = engine_->stats();
    const uint64_t emitted = stats.totalSamplesReceived - last_emitted_;
    const uint64_t concealed = stats.concealedSamples - last_concealed_;
    last_emitted_ = stats.totalSamplesReceived;
    last_concealed_ = stats.concealedSamples;

    PlayedBlock block;
    block.target_delay_ms = info->target_delay_ms;
    if (info->operation == playout::Operation::kSilence) return block;
    block.media_ts = info->media_timestamp - origin_ticks_.value_or(0);
    // The engine's timeline continues across timeline events (a restart, a leap); the
    // engine maps each block back to the sender's timestamp.
    block.rtp_timestamp = info->rtp_timestamp;
    block.kind = KindOf(info->operation, concealed, emitted);
    return block;
  }

  PlayerCounters counters() const override {
    const playout::PlayoutStatistics& s = engine_->stats();
    PlayerCounters c;
    c.emitted_samples = s.totalSamplesReceived;
    c.concealed_samples = s.concealedSamples;
    c.zero_filled_samples = s.zero_filled_samples;
    c.inserted_samples = s.insertedSamplesForDeceleration;
    c.removed_samples = s.removedSamplesForAcceleration;
    c.late_packets = s.late_packets;
    // packetsDiscarded counts late packets too and, as W3C defines it, no duplicates.
    c.discarded_packets =
        s.packetsDiscarded - s.late_packets + s.duplicate_packets + rejected_packets_;
    c.fec_recoveries = static_cast<uint64_t>(engine_->fec_recoveries());
    c.interruptions = s.interruptionCount;
    c.interruption_seconds = s.totalInterruptionDuration;
    return c;
  }

 private:
  // The block log follows the engine's counters, so that conceal blocks x 10 ms agrees with
  // concealedSamples: a block most of whose samples the engine counted as concealed is a
  // conceal block, whatever the decision (an expand that found decoded audio left, a merge
  // whose splice is mostly concealment). Otherwise the decision names the block. DTX
  // comfort noise (kComfortNoise, which the engine chooses only after a DTX frame) is the
  // sender's choice, not loss: the engine counts it as played audio, not concealment,
  // like libwebrtc, and so does the block log (kNormal).
  static BlockKind KindOf(playout::Operation op, uint64_t concealed, uint64_t emitted) {
    if (concealed * 2 > emitted) return BlockKind::kConceal;
    switch (op) {
      case playout::Operation::kFec:
        return BlockKind::kFec;
      case playout::Operation::kAccelerate:
        return BlockKind::kRemove;
      case playout::Operation::kPreemptiveExpand:
        return BlockKind::kInsert;
      case playout::Operation::kSilence:
        return BlockKind::kSilence;
      case playout::Operation::kNormal:
      case playout::Operation::kMerge:
      case playout::Operation::kDiscardGap:
      case playout::Operation::kComfortNoise:
      case playout::Operation::kExpand:
        return BlockKind::kNormal;
    }
    return BlockKind::kNormal;
  }

  // Passed by argument.
  const StreamFormat format_;
  // Allocated by this (a pointer so that counters(), const, can refresh stats()).
  std::unique_ptr<playout::PlayoutEngine> engine_;
  // Others.
  std::optional<int64_t> origin_ticks_;
  uint64_t rejected_packets_ = 0;  // InsertPacket errors: unknown payload type, malformed
  uint64_t last_emitted_ = 0;
  uint64_t last_concealed_ = 0;
};

}  // namespace

std::unique_ptr<LabPlayer> MakeEnginePlayer(const Clock& clock, const StreamFormat& format,
                                            playout::PlayoutEngineConfig config) {
  return std::make_unique<EnginePlayer>(clock, format, std::move(config));
}

}  // namespace parley::lab
