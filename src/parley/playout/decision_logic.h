// The playout engine's choice for each 10 ms block (NetEq's DecisionLogic), as a pure
// function of what the engine sees: the decoded audio waiting, the packet buffer's next
// packets, the target delay and what it did last. No state, so every rule is unit-tested
// on its own.
//
// Rules, in order:
//   1. not started: silence until DelayManager::ShouldStartPlayout() (kSilence);
//   2. enough decoded audio for the block (or the next packet continues it): play it,
//      stretched when the level is far from the target:
//        level > target + margin  -> kAccelerate
//        level < target - margin  -> kPreemptiveExpand
//      margin = max(min_margin_ms, margin_fraction x target, packet duration): the level
//      swings by a packet between arrivals, so a smaller margin would stretch back and
//      forth with 40-60 ms packets;
//      (only with stretch budget left and the next 40 ms decodable, never right after
//      concealment, and decelerate only when something is buffered); the level floor
//      over the last second also decelerates a draining buffer (clock drift) and
//      vetoes an acceleration that could empty it (see DecisionConfig);
//   3. the next packet is missing but a later one is buffered:
//        the gap follows an overflow (the buffer dropped its oldest)   -> kDiscardGap;
//        the gap is DTX (sequence numbers contiguous)                  -> kComfortNoise;
//        exactly one packet missing, the next has in-band FEC           -> kFec;
//        otherwise                                                      -> kExpand;
//   4. nothing buffered: the last packet was DTX -> kComfortNoise, else kExpand.
// A decoded packet that follows concealment is spliced with Merge by the engine (its
// BlockInfo says kMerge); that is not a separate decision.
#pragma once

#include <cstdint>

namespace parley::playout {

enum class Operation {
  kSilence,           // before the start of playout: silence, not concealment
  kNormal,            // decoded audio
  kFec,               // a lost packet recovered from the next one's in-band FEC
  kExpand,            // concealment (codec PLC shaped by Expand, or Expand alone)
  kMerge,             // decoded audio spliced after concealment
  kAccelerate,        // decoded audio with a pitch period removed
  kPreemptiveExpand,  // decoded audio with a pitch period inserted (deceleration)
  kComfortNoise,      // DTX: noise at the background level
  kDiscardGap,        // skip the hole an overflow left, then play normally
};

const char* OperationName(Operation operation);

struct DecisionConfig {
  // Stretch when the level is off the target by more than max(min_margin_ms,
  // margin_fraction x target): 20 ms (one packet: less is the granularity of arrival)
  // and 25 % (proportional to the jitter the target covers), NetEq-like.
  double min_margin_ms = 20.0;
  double margin_fraction = 0.25;
  // Decoded audio a stretch works on: 40 ms gives the full 2.5-20 ms pitch range.
  double stretch_window_ms = 40.0;
  // Least audio a deceleration works on: 20 ms (lags up to 10 ms). Below the target the
  // buffer may not hold a whole stretch window.
  double min_decelerate_window_ms = 20.0;
  // Clock drift: the level floor (DecisionInput::level_floor_ms) is the lowest level seen
  // before a block over the last `floor_window_ms`; its spare is floor - block_ms. The
  // level at pull times moves in whole blocks (a packet arrives before a pull or after
  // it), so a slow sender shows no gradual fall: the spare sits below one block until the
  // arrival that crosses a pull finds the buffer empty. Below `min_spare_ms` (one block)
  // decelerate, whatever the target. Accelerate only with at least `accelerate_spare_ms`
  // of spare: min_spare_ms + the longest period removed (20 ms), so removing a period at
  // a peak of the packet sawtooth cannot empty a trough. 1 s: 50 packets of 20 ms.
  double floor_window_ms = 1000.0;
  // In a pause (DecisionInput::quiet) the delay is steered to within this of the target:
  // stretching silence cannot be heard, so the delay follows the target there and speech
  // is stretched only when it strays past the full margin.
  double quiet_margin_ms = 5.0;
  // In speech, with the playout delay steered, slow down only when the delay is short of
  // the target by this many margins: a little short is raised for free in the next pause
  // or by the concealment of the next late packet, while an inserted period is heard.
  double speech_decelerate_margins = 2.0;
  double min_spare_ms = 10.0;
  double accelerate_spare_ms = 30.0;
};

// What the engine knows before a block, in ms of audio unless stated.
struct DecisionInput {
  bool started = false;       // playout has begun
  bool should_start = false;  // DelayManager::ShouldStartPlayout() (when !started)
  double block_ms = 10.0;     // audio the block needs
  double sync_ms = 0.0;       // decoded, not yet played
  double buffered_ms = 0.0;   // sync_ms + the packet buffer's content
  double target_ms = 0.0;     // DelayManager target
  // How late the next sample plays (DelayManager::PlayoutDelayMs): what stretching steers
  // to the target. < 0: not known yet; buffered_ms stands in.
  double playout_delay_ms = -1.0;
  double packet_ms = 0.0;           // duration of the next packet (0: unknown)
  bool has_packet = false;          // the packet buffer is not empty
  bool next_is_contiguous = false;  // the next packet starts where the decoded audio ends
  int64_t missing_packets = 0;      // packets (by sequence number) missing before the next
  bool gap_after_overflow = false;  // the buffer dropped packets since the last block
  bool next_has_fec = false;        // the next packet's codec can recover the one before it
  bool last_was_dtx = false;        // the last packet decoded was a DTX frame
  bool concealing = false;          // the last block was concealment (expand / CNG)
  bool stretch_allowed = false;     // StretchBudget has credit left (or the audio is quiet)
  bool quiet = false;               // the last block played was a pause (below speech level)
  // Lowest buffered_ms before a block in the last floor_window_ms, partial window included;
  // `floor_complete`: a whole window was measured since the last stretch or concealment.
  double level_floor_ms = 1e9;
  bool floor_complete = false;
  Operation last = Operation::kSilence;
};

// What stretching steers to the target: the playout delay when known, else the level.
inline double SteeredDelayMs(const DecisionInput& in) {
  return in.playout_delay_ms >= 0.0 ? in.playout_delay_ms : in.buffered_ms;
}

// The operation for the next block. Pure.
Operation Decide(const DecisionInput& in, const DecisionConfig& config = {});

// The margin around the target inside which no stretching happens, ms: at least
// `packet_ms`, the packet duration (0: unknown).
double StretchMarginMs(double target_ms, const DecisionConfig& config = {}, double packet_ms = 0.0);

}  // namespace parley::playout
