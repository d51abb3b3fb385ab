#include "parley/rtp/ntp_time.h"

namespace parley::rtp {

using std::chrono::nanoseconds;

namespace {
constexpr int64_t kNanosPerSecond = 1'000'000'000;
}  // namespace

uint64_t WallTimeToNtp(Clock::WallTime time) {
  const int64_t ns = std::chrono::duration_cast<nanoseconds>(time.time_since_epoch()).count();
  int64_t seconds = ns / kNanosPerSecond;
  int64_t rest_ns = ns % kNanosPerSecond;
  if (rest_ns < 0) {
    rest_ns += kNanosPerSecond;
    --seconds;
  }
  const uint64_t ntp_seconds = static_cast<uint64_t>(seconds) + kNtpUnixEpochOffsetSeconds;
  // Fraction rounded to nearest: rest_ns * 2^32 / 1e9 fits in 64 bits (< 2^62).
  const uint64_t fraction =
      ((static_cast<uint64_t>(rest_ns) << 32) + kNanosPerSecond / 2) / kNanosPerSecond;
  return (ntp_seconds << 32) + fraction;  // a fraction rounded up to 2^32 carries
}

Clock::WallTime NtpToWallTime(uint64_t ntp) {
  uint64_t ntp_seconds = ntp >> 32;
  // Era 1 starts in 2036; seconds below 1968's value belong to it.
  constexpr uint64_t kEraOnePivot = 0x80000000u;
  int64_t unix_seconds =
      static_cast<int64_t>(ntp_seconds) - static_cast<int64_t>(kNtpUnixEpochOffsetSeconds);
  if (ntp_seconds < kEraOnePivot) unix_seconds += int64_t{1} << 32;
  const uint64_t fraction = ntp & 0xFFFFFFFFu;
  const int64_t ns = static_cast<int64_t>((fraction * kNanosPerSecond + (1ull << 31)) >> 32);
  return Clock::WallTime(nanoseconds(unix_seconds * kNanosPerSecond + ns));
}

uint32_t DurationToCompactNtp(Clock::Duration duration) {
  const int64_t ns = std::chrono::duration_cast<nanoseconds>(duration).count();
  if (ns <= 0) return 0;
  // ns * 65536 overflows int64 beyond ~1.6 days; such delays saturate anyway.
  constexpr int64_t kMaxNs = (int64_t{0xFFFFFFFF} * kNanosPerSecond) >> 16;
  if (ns >= kMaxNs) return 0xFFFFFFFFu;
  return static_cast<uint32_t>(((static_cast<uint64_t>(ns) << 16) + kNanosPerSecond / 2) /
                               kNanosPerSecond);
}

Clock::Duration CompactNtpToDuration(uint32_t compact) {
  return nanoseconds(static_cast<int64_t>((uint64_t{compact} * kNanosPerSecond + 0x8000) >> 16));
}

std::optional<Clock::Duration> RoundTripTime(uint32_t arrival_compact, uint32_t last_sr,
                                             uint32_t delay_since_last_sr) {
  if (last_sr == 0) return std::nullopt;
  const uint32_t rtt = arrival_compact - last_sr - delay_since_last_sr;
  if (rtt & 0x80000000u) return std::nullopt;  // negative
  return CompactNtpToDuration(rtt);
}

}  // namespace parley::rtp
