#include "parley/rtp/timestamped_frame.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace parley::rtp {
namespace {

void PutBigEndian(uint64_t value, size_t bytes, uint8_t* out) {
  for (size_t i = 0; i < bytes; ++i) out[i] = static_cast<uint8_t>(value >> (8 * (bytes - 1 - i)));
}

uint64_t GetBigEndian(const uint8_t* in, size_t bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < bytes; ++i) value = (value << 8) | in[i];
  return value;
}

Status CheckOpus(std::span<const uint8_t> opus) {
  if (opus.empty()) return Error{"timestamped frame: Opus packet empty"};
  if (opus.size() > kMaxTimestampedOpusBytes) {
    return Error{fmt::format("timestamped frame: Opus packet {} bytes > {}", opus.size(),
                             kMaxTimestampedOpusBytes)};
  }
  return Status::Ok();
}

}  // namespace

Result<TimestampedFrame> ParseTimestampedFrame(std::span<const uint8_t> bytes) {
  if (bytes.size() < kTimestampBytes) {
    return Error{fmt::format("timestamped frame {} bytes: 8-byte timestamp at offset 0 cut short",
                             bytes.size())};
  }
  if (bytes.size() < kMinTimestampedFrameBytes) {
    return Error{
        fmt::format("timestamped frame: Opus TOC byte missing at offset {}", kTimestampBytes)};
  }
  if (bytes.size() > kMaxTimestampedFrameBytes) {
    return Error{fmt::format("timestamped frame {} bytes > {}: Opus packet from offset {} too long",
                             bytes.size(), kMaxTimestampedFrameBytes, kTimestampBytes)};
  }
  TimestampedFrame frame;
  const auto ms = static_cast<int64_t>(GetBigEndian(bytes.data(), kTimestampBytes));
  frame.timestamp = EpochMs(std::chrono::milliseconds(ms));
  frame.opus = bytes.subspan(kTimestampBytes);
  return frame;
}

Result<size_t> WriteTimestampedFrame(EpochMs timestamp, std::span<const uint8_t> opus,
                                     std::span<uint8_t> out) {
  if (Status ok = CheckOpus(opus); !ok) return ok.error();
  const size_t bytes = kTimestampBytes + opus.size();
  if (out.size() < bytes) {
    return Error{fmt::format("timestamped frame buffer {} bytes < {}", out.size(), bytes)};
  }
  PutBigEndian(static_cast<uint64_t>(timestamp.time_since_epoch().count()), kTimestampBytes,
               out.data());
  std::memcpy(out.data() + kTimestampBytes, opus.data(), opus.size());
  return bytes;
}

Result<size_t> WriteTimestampedRecord(EpochMs timestamp, std::span<const uint8_t> opus,
                                      std::span<uint8_t> out) {
  if (out.size() < kRecordLengthBytes) {
    return Error{fmt::format("timestamped record buffer {} bytes < {}", out.size(),
                             kRecordLengthBytes + kTimestampBytes + opus.size())};
  }
  Result<size_t> frame = WriteTimestampedFrame(timestamp, opus, out.subspan(kRecordLengthBytes));
  if (!frame) return frame.error();
  PutBigEndian(*frame, kRecordLengthBytes, out.data());
  return kRecordLengthBytes + *frame;
}

Result<TimestampedStreamReader::Step> TimestampedStreamReader::Feed(
    std::span<const uint8_t> bytes) {
  if (failed_) return *failed_;
  Step step;
  // The length field first, then the frame it announces; copy no further than that.
  if (have_bytes_ < kRecordLengthBytes) {
    if (have_bytes_ == 0) record_offset_ = offset_;
    const size_t take = std::min(bytes.size(), kRecordLengthBytes - have_bytes_);
    std::memcpy(buffer_.data() + have_bytes_, bytes.data(), take);
    have_bytes_ += take;
    offset_ += take;
    step.consumed_bytes = take;
    bytes = bytes.subspan(take);
    if (have_bytes_ < kRecordLengthBytes) return step;
    const uint64_t length = GetBigEndian(buffer_.data(), kRecordLengthBytes);
    if (length < kMinTimestampedFrameBytes || length > kMaxTimestampedFrameBytes) {
      failed_ = Error{fmt::format(
          "timestamped stream: record length {} at offset {} out of range {}..{}", length,
          record_offset_, kMinTimestampedFrameBytes, kMaxTimestampedFrameBytes)};
      return *failed_;
    }
    record_bytes_ = kRecordLengthBytes + static_cast<size_t>(length);
  }
  const size_t take = std::min(bytes.size(), record_bytes_ - have_bytes_);
  if (take > 0) std::memcpy(buffer_.data() + have_bytes_, bytes.data(), take);
  have_bytes_ += take;
  offset_ += take;
  step.consumed_bytes += take;
  if (have_bytes_ < record_bytes_) return step;

  // Lengths were checked above, so the frame parses.
  Result<TimestampedFrame> frame = ParseTimestampedFrame(std::span<const uint8_t>(
      buffer_.data() + kRecordLengthBytes, record_bytes_ - kRecordLengthBytes));
  have_bytes_ = 0;
  record_bytes_ = 0;
  if (!frame) {
    failed_ = frame.error();
    return *failed_;
  }
  ++frames_read_;
  step.frame = *frame;
  return step;
}

Status TimestampedStreamReader::Finish() const {
  if (failed_) return *failed_;
  if (have_bytes_ == 0) return Status::Ok();
  if (have_bytes_ < kRecordLengthBytes) {
    return Error{
        fmt::format("timestamped stream truncated: record at offset {} has {} of {} length bytes",
                    record_offset_, have_bytes_, kRecordLengthBytes)};
  }
  return Error{fmt::format("timestamped stream truncated: record at offset {} has {} of {} bytes",
                           record_offset_, have_bytes_, record_bytes_)};
}

}  // namespace parley::rtp
