#include "parley/playout/decision_logic.h"

#include <algorithm>

namespace parley::playout {

const char* OperationName(Operation operation) {
  switch (operation) {
    case Operation::kSilence:
      return "silence";
    case Operation::kNormal:
      return "normal";
    case Operation::kFec:
      return "fec";
    case Operation::kExpand:
      return "expand";
    case Operation::kMerge:
      return "merge";
    case Operation::kAccelerate:
      return "accelerate";
    case Operation::kPreemptiveExpand:
      return "preemptive-expand";
    case Operation::kComfortNoise:
      return "comfort-noise";
    case Operation::kDiscardGap:
      return "discard-gap";
  }
  return "?";
}

double StretchMarginMs(double target_ms, const DecisionConfig& config, double packet_ms) {
  return std::max({config.min_margin_ms, config.margin_fraction * target_ms, packet_ms});
}

Operation Decide(const DecisionInput& in, const DecisionConfig& config) {
  if (!in.started && !in.should_start) return Operation::kSilence;

  const bool audio_ready = in.sync_ms >= in.block_ms || (in.has_packet && in.next_is_contiguous);
  if (audio_ready) {
    // A stretch needs its whole window of decoded (or contiguous) audio, and never right
    // after concealment: the merge splice comes first.
    // Past the margin a stretch starts; once started it goes on until the delay is back at
    // the target (hysteresis: one correction, not a stretch at every swing across the
    // margin's edge). In a pause the margin shrinks to quiet_margin_ms.
    const double full_margin = StretchMarginMs(in.target_ms, config, in.packet_ms);
    // (Only with the playout delay known: the buffer level swings by a packet between
    // arrivals, so against it a small margin would stretch back and forth.)
    const bool quiet = in.quiet && in.playout_delay_ms >= 0.0;
    const double margin = quiet ? config.quiet_margin_ms : full_margin;
    const double spare = in.level_floor_ms - in.block_ms;
    const double delay = SteeredDelayMs(in);
    if (in.stretch_allowed && !in.concealing) {
      const bool steered = in.playout_delay_ms >= 0.0;
      const double over = steered && in.last == Operation::kAccelerate ? 0.0 : full_margin;
      if (delay > in.target_ms + over && in.buffered_ms >= config.stretch_window_ms &&
          spare >= config.accelerate_spare_ms) {
        return Operation::kAccelerate;
      }
      // In speech a slowdown only for a large shortfall: a delay a little short of the
      // target is raised for free in the next pause, or by the concealment of the next
      // late packet, and a period inserted into speech is heard.
      const double short_margin =
          quiet || !steered ? margin : config.speech_decelerate_margins * margin;
      const double under = steered && in.last == Operation::kPreemptiveExpand ? 0.0 : short_margin;
      const bool draining = in.floor_complete && spare < config.min_spare_ms;
      if ((delay < in.target_ms - under || draining) &&
          in.buffered_ms >= config.min_decelerate_window_ms) {
        return Operation::kPreemptiveExpand;
      }
    }
    return Operation::kNormal;
  }
  if (in.sync_ms > 0 && !in.has_packet && !in.last_was_dtx) {
    // Some decoded audio left but less than a block: conceal the rest.
    return Operation::kExpand;
  }
  if (in.has_packet) {
    if (in.gap_after_overflow) return Operation::kDiscardGap;
    if (in.missing_packets == 0) return Operation::kComfortNoise;  // DTX: no loss signalled
    if (in.missing_packets == 1 && in.next_has_fec) return Operation::kFec;
    return Operation::kExpand;
  }
  return in.last_was_dtx ? Operation::kComfortNoise : Operation::kExpand;
}

}  // namespace parley::playout
