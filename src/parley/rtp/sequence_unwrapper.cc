#include "parley/rtp/sequence_unwrapper.h"

namespace parley::rtp {
namespace {

// Nearest position to `reference` whose low `Bits` bits are `value`.
template <int Bits>
int64_t Nearest(int64_t reference, uint64_t value) {
  constexpr int64_t kRange = int64_t{1} << Bits;
  constexpr int64_t kHalf = kRange / 2;
  constexpr uint64_t kMask = static_cast<uint64_t>(kRange - 1);
  const uint64_t ref_low = static_cast<uint64_t>(reference) & kMask;
  int64_t step = static_cast<int64_t>((value - ref_low) & kMask);  // 0..kRange-1 forward
  if (step > kHalf || (step == kHalf && value < ref_low)) step -= kRange;
  return reference + step;
}

}  // namespace

int64_t SequenceNumberUnwrapper::PeekUnwrap(uint16_t sequence_number) const {
  if (!newest_) return sequence_number;
  return Nearest<16>(*newest_, sequence_number);
}

int64_t SequenceNumberUnwrapper::Unwrap(uint16_t sequence_number) {
  const int64_t unwrapped = PeekUnwrap(sequence_number);
  if (!newest_ || unwrapped > *newest_) newest_ = unwrapped;
  return unwrapped;
}

int64_t TimestampUnwrapper::PeekUnwrap(uint32_t timestamp) const {
  if (!newest_) return timestamp;
  return Nearest<32>(*newest_, timestamp);
}

int64_t TimestampUnwrapper::Unwrap(uint32_t timestamp) {
  const int64_t unwrapped = PeekUnwrap(timestamp);
  if (!newest_ || unwrapped > *newest_) newest_ = unwrapped;
  return unwrapped;
}

}  // namespace parley::rtp
