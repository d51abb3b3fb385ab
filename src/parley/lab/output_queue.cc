#include "parley/lab/output_queue.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

namespace parley::lab {

OutputQueue::OutputQueue(int sample_rate_hz, int channels, int capacity_frames)
    : channels_(channels), block_frames_(sample_rate_hz / 100), capacity_frames_(capacity_frames) {
  if (sample_rate_hz < 8000 || sample_rate_hz > 48000 || sample_rate_hz % 100 != 0) {
    throw std::invalid_argument("OutputQueue: sample_rate_hz " + std::to_string(sample_rate_hz) +
                                " not in 8000..48000 or not a multiple of 100");
  }
  if (channels < 1 || channels > 2) {
    throw std::invalid_argument("OutputQueue: channels must be 1..2");
  }
  if (capacity_frames < block_frames_) {
    throw std::invalid_argument("OutputQueue: capacity_frames " + std::to_string(capacity_frames) +
                                " < one block (" + std::to_string(block_frames_) + ")");
  }
  samples_.assign(static_cast<size_t>(capacity_frames) * static_cast<size_t>(channels), 0);
}

std::span<int16_t> OutputQueue::Append(int frames, SampleOrigin origin, int64_t media_frames) {
  if (frames <= 0 || frames > free_frames()) {
    throw std::logic_error("OutputQueue::Append: " + std::to_string(frames) + " frames, room for " +
                           std::to_string(free_frames()));
  }
  bool merged = false;
  if (segment_count_ > 0) {
    Segment& last = segments_[segment_count_ - 1];
    if (last.origin == origin && last.media_frames + last.frames == media_frames) {
      last.frames += frames;
      merged = true;
    }
  }
  if (!merged) {
    if (segment_count_ == segments_.size()) {
      throw std::logic_error("OutputQueue::Append: more than " + std::to_string(kMaxSegments) +
                             " runs queued");
    }
    segments_[segment_count_++] = {origin, frames, media_frames};
  }
  const auto at = static_cast<size_t>(frames_ * channels_);
  frames_ += frames;
  return std::span<int16_t>(samples_).subspan(at, static_cast<size_t>(frames * channels_));
}

OutputQueue::Block OutputQueue::Emit(std::span<int16_t> out,
                                     playout::PlayoutStatisticsRecorder& recorder) {
  if (frames_ < block_frames_ || out.size() != static_cast<size_t>(block_frames_ * channels_)) {
    throw std::logic_error("OutputQueue::Emit: " + std::to_string(frames_) +
                           " frames queued, out holds " + std::to_string(out.size()) +
                           " samples; a block is " + std::to_string(block_frames_) + " frames");
  }
  Block block;
  block.media_frames = segments_[0].media_frames;
  std::copy_n(samples_.begin(), block_frames_ * channels_, out.begin());
  int concealed = 0;
  int left = block_frames_;
  while (left > 0) {
    Segment& s = segments_[0];
    const int n = std::min(left, s.frames);
    switch (s.origin) {
      case SampleOrigin::kDecoded:
        recorder.OnNormal(static_cast<uint64_t>(n));
        break;
      case SampleOrigin::kConcealed:
        recorder.OnConcealed(static_cast<uint64_t>(n), false);
        concealed += n;
        break;
      case SampleOrigin::kZeroFill:
        recorder.OnZeroFill(static_cast<uint64_t>(n));
        concealed += n;
        break;
    }
    left -= n;
    s.frames -= n;
    s.media_frames += n;
    if (s.frames == 0) {
      std::copy(segments_.begin() + 1,
                segments_.begin() + static_cast<std::ptrdiff_t>(segment_count_), segments_.begin());
      --segment_count_;
    }
  }
  recorder.OnEmitted(static_cast<uint64_t>(block_frames_));
  frames_ -= block_frames_;
  std::memmove(samples_.data(), samples_.data() + block_frames_ * channels_,
               static_cast<size_t>(frames_ * channels_) * sizeof(int16_t));
  block.kind = concealed * 2 > block_frames_ ? BlockKind::kConceal : BlockKind::kNormal;
  return block;
}

int64_t MediaOriginTicks(uint32_t first_received, const StreamFormat& format) {
  const auto first = static_cast<int64_t>(first_received);
  if (!format.first_timestamp) return first;
  // The sender's first packet precedes the first one received by less than 2^31 ticks.
  return first - static_cast<int32_t>(first_received - *format.first_timestamp);
}

}  // namespace parley::lab
