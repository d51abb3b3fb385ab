// The audio a baseline player (fixed buffer, speexdsp) has decoded or synthesized and not
// yet played, with the origin and media position of every run of samples, cut into the
// 10 ms blocks a LabPlayer emits.
//
// Every sample is accounted to a playout::PlayoutStatisticsRecorder as it leaves, the
// recorder the playout engine itself feeds: concealment events and interruptions (runs of
// >= 150 ms) are derived by the same code for the baselines as for the engine, so the
// lab compares like with like.
//
// Media positions are in sample frames at the output rate from the stream's origin
// (PlayedBlock::media_ts before the conversion to RTP ticks).
//
// Not thread-safe; fixed memory, no allocation after construction. Misuse (a block that
// is not there, audio that does not fit) throws std::logic_error.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "parley/lab/lab_player.h"
#include "parley/playout/playout_statistics.h"

namespace parley::lab {

// Where a run of samples came from.
enum class SampleOrigin {
  kDecoded,    // decoded from a packet
  kConcealed,  // synthesized: the codec's packet loss concealment
  kZeroFill,   // hard zeros standing in for missing audio
};

class OutputQueue {
 public:
  // `sample_rate_hz`: 8000..48000, a multiple of 100 (whole 10 ms blocks); `channels`
  // 1..2; `capacity_frames`: most sample frames held, at least one block. Throws
  // std::invalid_argument otherwise.
  OutputQueue(int sample_rate_hz, int channels, int capacity_frames);
  OutputQueue(const OutputQueue&) = delete;
  OutputQueue& operator=(const OutputQueue&) = delete;

  // Sample frames per 10 ms block.
  int block_frames() const { return block_frames_; }
  // Sample frames waiting / room left.
  int frames() const { return frames_; }
  int free_frames() const { return capacity_frames_ - frames_; }

  // Reserves `frames` (> 0) sample frames at the back for audio of `origin` whose first
  // sample is at media position `media_frames`; the caller writes them (interleaved) into
  // the span returned, valid until the next call. Throws std::logic_error when they do
  // not fit.
  std::span<int16_t> Append(int frames, SampleOrigin origin, int64_t media_frames);

  struct Block {
    // kConceal when most of the block's samples were concealed (PLC or zeros), else
    // kNormal: a 10 ms block is labelled by what most of it is, so the block log agrees
    // with the sample counters to within half a block per concealment event.
    BlockKind kind = BlockKind::kNormal;
    int64_t media_frames = 0;  // media position of the block's first sample
  };
  // Moves one block into `out` (block_frames() x channels samples) and reports its samples
  // to `recorder` (OnNormal / OnConcealed / OnZeroFill, then OnEmitted). Throws
  // std::logic_error when fewer than block_frames() frames are queued or `out` has the
  // wrong size.
  Block Emit(std::span<int16_t> out, playout::PlayoutStatisticsRecorder& recorder);

 private:
  // A run of samples with one origin and contiguous media positions.
  struct Segment {
    SampleOrigin origin = SampleOrigin::kDecoded;
    int frames = 0;
    int64_t media_frames = 0;
  };
  // Segments a queue of a packet or two plus a block ever needs, with room to spare.
  static constexpr size_t kMaxSegments = 32;

  // Allocated by this.
  std::vector<int16_t> samples_;  // front at index 0
  std::array<Segment, kMaxSegments> segments_{};
  // Others.
  const int channels_;
  const int block_frames_;
  const int capacity_frames_;
  int frames_ = 0;
  size_t segment_count_ = 0;
};

// The origin of PlayedBlock::media_ts in unwrapped RTP ticks, given the first timestamp a
// player received (which unwraps to itself, rtp::TimestampUnwrapper's convention):
// `format.first_timestamp` when the sender's is known, else that first one received.
int64_t MediaOriginTicks(uint32_t first_received, const StreamFormat& format);

}  // namespace parley::lab
