// Unwrapping of RTP's wrapping counters into int64: the 16-bit sequence number and the
// 32-bit timestamp.
//
// Each value is placed at the unwrapped position nearest the last value unwrapped: a
// forward step of less than half the range is newer (possibly across a wrap), a backward
// step of less than half the range is an older, reordered packet (possibly from before a
// wrap) and does not move the reference backwards. A step of exactly half the range is
// taken as forward when the raw value is larger, as in WebRTC's IsNewerSequenceNumber.
//
// The first value unwraps to itself (0..65535 or 0..2^32-1); values older than it may be
// negative. Threading: one instance per stream, not thread-safe.
#pragma once

#include <cstdint>
#include <optional>

namespace parley::rtp {

class SequenceNumberUnwrapper {
 public:
  // The int64 position of `sequence_number`; packets counted from the first one seen.
  int64_t Unwrap(uint16_t sequence_number);
  // Like Unwrap() without updating the reference (the newest value seen).
  int64_t PeekUnwrap(uint16_t sequence_number) const;
  // The newest unwrapped value so far; nullopt before the first Unwrap().
  std::optional<int64_t> newest() const { return newest_; }
  void Reset() { newest_.reset(); }

 private:
  std::optional<int64_t> newest_;
};

class TimestampUnwrapper {
 public:
  // The int64 position of `timestamp`, in RTP clock units.
  int64_t Unwrap(uint32_t timestamp);
  int64_t PeekUnwrap(uint32_t timestamp) const;
  std::optional<int64_t> newest() const { return newest_; }
  void Reset() { newest_.reset(); }

 private:
  std::optional<int64_t> newest_;
};

}  // namespace parley::rtp
