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
