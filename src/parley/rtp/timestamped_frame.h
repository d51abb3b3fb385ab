// The timestamped frame and a stream of them for files and sockets.
//
// A timestamped frame is one Opus packet stamped with the wall-clock time it belongs to:
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |            timestamp: Unix epoch milliseconds, signed          |
//   |                 64-bit big-endian (two's complement)           |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |  Opus packet (TOC byte + frame data), 1..1500 bytes            :
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// A frame has no length of its own, so a byte stream carries each one as a record behind
// a 4-byte big-endian length (the frame's, not counting the length field):
//
//   +----------------+----------------------------+----------------+----------
//   | length (u32 BE)| timestamped frame (length) | length (u32 BE)| frame ...
//   +----------------+----------------------------+----------------+----------
//
// The length must be 9..1508: at least the timestamp and a TOC byte, at most the
// timestamp and the largest Opus packet parley's encoder emits (OpusAudioEncoder::
// kMaxPayloadBytes, 1500: one 1275-byte frame with room for the TOC and multi-frame
// headers, the size of an MTU). The bound lets a reader keep one fixed buffer and catch
// a corrupt or desynchronised length at once instead of waiting for gigabytes. There is
// no file header: a file is the concatenation of records, exactly as sent on a socket.
// The Opus bytes are not decoded here; ParseOpusPayload() checks them.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "parley/base/result.h"
#include "parley/codec/opus_codec.h"

namespace parley::rtp {

// Wall-clock time in whole milliseconds since the Unix epoch.
using EpochMs = std::chrono::sys_time<std::chrono::milliseconds>;

inline constexpr size_t kTimestampBytes = 8;
inline constexpr size_t kMaxTimestampedOpusBytes = codec::OpusAudioEncoder::kMaxPayloadBytes;
inline constexpr size_t kMinTimestampedFrameBytes = kTimestampBytes + 1;
inline constexpr size_t kMaxTimestampedFrameBytes = kTimestampBytes + kMaxTimestampedOpusBytes;
inline constexpr size_t kRecordLengthBytes = 4;
inline constexpr size_t kMaxTimestampedRecordBytes = kRecordLengthBytes + kMaxTimestampedFrameBytes;

// A frame as parsed: `opus` points into the bytes it was parsed from.
struct TimestampedFrame {
  EpochMs timestamp{};
  std::span<const uint8_t> opus;
};

// Parses one timestamped frame (no length prefix). Errors: fewer than 9 bytes, or more
// than kMaxTimestampedFrameBytes.
[[nodiscard]] Result<TimestampedFrame> ParseTimestampedFrame(std::span<const uint8_t> bytes);
// Writes timestamp + opus into `out`. Returns bytes written (8 + opus.size()). Errors: opus
// empty or longer than 1500 bytes, `out` too small.
[[nodiscard]] Result<size_t> WriteTimestampedFrame(EpochMs timestamp, std::span<const uint8_t> opus,
                                                   std::span<uint8_t> out);
// Writes one stream record (length + frame) into `out`; returns bytes written
// (12 + opus.size()). Same errors as WriteTimestampedFrame.
[[nodiscard]] Result<size_t> WriteTimestampedRecord(EpochMs timestamp,
                                                    std::span<const uint8_t> opus,
                                                    std::span<uint8_t> out);

// Reassembles records from a byte stream delivered in arbitrary pieces (socket reads,
// file blocks), with one fixed buffer of kMaxTimestampedRecordBytes:
//
//   while (!chunk.empty()) {
//     auto step = reader.Feed(chunk);        // consumes up to one record's bytes
//     if (!step) { ...corrupt stream...; break; }
//     chunk = chunk.subspan(step->consumed_bytes);
//     if (step->frame) use(*step->frame);     // valid until the next Feed()
//   }
//   Status end = reader.Finish();             // Error if the stream stopped mid-record
//
// A bad length (< 9 or > 1508) is an Error naming its stream offset; the reader then
// stays failed (every later call returns that Error): past a corrupt length there is no
// way to find the next record. Single-threaded; not copyable (it owns its buffer).
class TimestampedStreamReader {
 public:
  struct Step {
    size_t consumed_bytes = 0;
    std::optional<TimestampedFrame> frame;
  };

  TimestampedStreamReader() = default;
  TimestampedStreamReader(const TimestampedStreamReader&) = delete;
  TimestampedStreamReader& operator=(const TimestampedStreamReader&) = delete;

  // Consumes bytes from the front of `bytes` up to the end of the current record at most.
  [[nodiscard]] Result<Step> Feed(std::span<const uint8_t> bytes);
  // End of stream. Ok at a record boundary; otherwise an Error with the offset where the
  // incomplete record starts and how much of it arrived.
  [[nodiscard]] Status Finish() const;

  // Bytes consumed so far (the stream offset of the next byte).
  uint64_t offset() const { return offset_; }
  uint64_t frames_read() const { return frames_read_; }

 private:
  // Allocated by this.
  std::array<uint8_t, kMaxTimestampedRecordBytes> buffer_{};
  // Others.
  size_t have_bytes_ = 0;       // of the current record, length field included
  size_t record_bytes_ = 0;     // whole record, known once the length field is complete
  uint64_t record_offset_ = 0;  // stream offset where the current record starts
  uint64_t offset_ = 0;
  uint64_t frames_read_ = 0;
  std::optional<Error> failed_;
};

}  // namespace parley::rtp
