#include "parley/playout/decision_logic.h"

#include <gtest/gtest.h>

namespace parley::playout {
namespace {

DecisionInput Steady() {
  DecisionInput in;
  in.started = true;
  in.sync_ms = 10;
  in.buffered_ms = 60;
  in.target_ms = 60;
  in.has_packet = true;
  in.next_is_contiguous = true;
  in.stretch_allowed = true;
  in.last = Operation::kNormal;
  return in;
}

// With the playout delay known, it is what is steered, whatever the buffer level: the
// level swings with the jitter, the delay does not.
TEST(DecisionLogic, SteersThePlayoutDelayLeaningOnPausesAndHoldingACorrectionToTheTarget) {
  DecisionInput in = Steady();
  in.target_ms = 100;  // margin 25 ms
  in.buffered_ms = 200;
  in.level_floor_ms = 100;
  in.playout_delay_ms = 110;  // a full buffer but the delay near the target: nothing to do
  EXPECT_EQ(Decide(in), Operation::kNormal);
  in.playout_delay_ms = 126;
  EXPECT_EQ(Decide(in), Operation::kAccelerate);
  in.last = Operation::kAccelerate;  // once started, on to the target
  in.playout_delay_ms = 101;
  EXPECT_EQ(Decide(in), Operation::kAccelerate);
  in.playout_delay_ms = 100;
  EXPECT_EQ(Decide(in), Operation::kNormal);
  in.last = Operation::kNormal;
  // In a pause: the accelerate margin stays (a delay above the target costs only delay),
  in.quiet = true;
  in.playout_delay_ms = 120;
  EXPECT_EQ(Decide(in), Operation::kNormal);
  // a shortfall beyond 5 ms is made up (one below the target costs late packets).
  in.playout_delay_ms = 94;
  EXPECT_EQ(Decide(in), Operation::kPreemptiveExpand);
  // In speech a shortfall is made up only beyond two margins.
  in.quiet = false;
  EXPECT_EQ(Decide(in), Operation::kNormal);
  in.playout_delay_ms = 51;
  EXPECT_EQ(Decide(in), Operation::kNormal);
  in.playout_delay_ms = 49;
  EXPECT_EQ(Decide(in), Operation::kPreemptiveExpand);
  // A low buffer level alone (a packet about to arrive) is no reason to slow down.
  in.playout_delay_ms = 100;
  in.buffered_ms = 30;
  EXPECT_EQ(Decide(in), Operation::kNormal);
}

TEST(DecisionLogic, SilenceUntilStart) {
  DecisionInput in;
  EXPECT_EQ(Decide(in), Operation::kSilence);
  in.should_start = true;
  in.has_packet = true;
  in.next_is_contiguous = true;
  EXPECT_EQ(Decide(in), Operation::kNormal);
}

TEST(DecisionLogic, NormalNearTargetStretchFarFromIt) {
  DecisionInput in = Steady();
  EXPECT_EQ(Decide(in), Operation::kNormal);
  EXPECT_DOUBLE_EQ(StretchMarginMs(60), 20.0);
  EXPECT_DOUBLE_EQ(StretchMarginMs(200), 50.0);
  in.buffered_ms = 80;  // on the margin: not yet
  EXPECT_EQ(Decide(in), Operation::kNormal);
  in.buffered_ms = 81;
  EXPECT_EQ(Decide(in), Operation::kAccelerate);
  in.stretch_allowed = false;
  EXPECT_EQ(Decide(in), Operation::kNormal);
  in = Steady();
  in.buffered_ms = 30;
  EXPECT_EQ(Decide(in), Operation::kPreemptiveExpand);
  in.buffered_ms = 15;  // too little to stretch
  EXPECT_EQ(Decide(in), Operation::kNormal);
  in = Steady();
  in.buffered_ms = 200;
  in.concealing = true;  // merge first
  EXPECT_EQ(Decide(in), Operation::kNormal);
}

// Clock drift: the level floor over the last second decides when the instantaneous level
// (a 20 ms packet sawtooth) cannot.
TEST(DecisionLogic, LevelFloorDeceleratesADrainingBufferAndGuardsAcceleration) {
  DecisionInput in = Steady();
  in.target_ms = 10;
  in.buffered_ms = 29;     // within target + 20 ms: no stretch on the level alone
  in.level_floor_ms = 19;  // spare 9 ms < one block
  EXPECT_EQ(Decide(in), Operation::kNormal);  // a partial window decides nothing
  in.floor_complete = true;
  EXPECT_EQ(Decide(in), Operation::kPreemptiveExpand);
  in.level_floor_ms = 20;  // spare = min_spare_ms
  EXPECT_EQ(Decide(in), Operation::kNormal);
  // Accelerate only when removing a 20 ms period leaves a block of spare.
  in.buffered_ms = 45;
  in.level_floor_ms = 39;
  EXPECT_EQ(Decide(in), Operation::kNormal);
  in.level_floor_ms = 40;
  EXPECT_EQ(Decide(in), Operation::kAccelerate);
}

TEST(DecisionLogic, MissingPacket) {
  DecisionInput in = Steady();
  in.sync_ms = 0;
  in.next_is_contiguous = false;
  in.missing_packets = 1;
  in.next_has_fec = true;
  EXPECT_EQ(Decide(in), Operation::kFec);
  in.next_has_fec = false;
  EXPECT_EQ(Decide(in), Operation::kExpand);
  in.next_has_fec = true;
  in.missing_packets = 3;
  EXPECT_EQ(Decide(in), Operation::kExpand);
  in.missing_packets = 0;  // timestamps jump, sequence numbers do not: DTX
  EXPECT_EQ(Decide(in), Operation::kComfortNoise);
  in.missing_packets = 5;
  in.gap_after_overflow = true;
  EXPECT_EQ(Decide(in), Operation::kDiscardGap);
}

TEST(DecisionLogic, EmptyBuffer) {
  DecisionInput in = Steady();
  in.sync_ms = 0;
  in.has_packet = false;
  in.next_is_contiguous = false;
  EXPECT_EQ(Decide(in), Operation::kExpand);
  in.last_was_dtx = true;
  EXPECT_EQ(Decide(in), Operation::kComfortNoise);
  in.last_was_dtx = false;
  in.sync_ms = 5;  // part of a block left
  EXPECT_EQ(Decide(in), Operation::kExpand);
  in.sync_ms = 10;
  EXPECT_EQ(Decide(in), Operation::kNormal);
}

}  // namespace
}  // namespace parley::playout
