// NTP timestamps as RTCP carries them (RFC 3550 §4), and round-trip time from a
// report block's LSR and DLSR (§6.4.1).
//
//   64-bit NTP:  seconds since 1900-01-01 (32 bits) . fraction of a second (32 bits)
//   compact:     the middle 32 bits, 16.16 fixed point, units of 1/65536 s
//
// Round trip seen from the sender of an SR:
//
//   [10 Nov 1995 11:33:25.125 UTC]       [10 Nov 1995 11:33:36.5 UTC]
//   n                 SR(n)              A=b710:8000 (46864.500 s)
//   ---------------------------------------------------------------->
//                      v                 ^
//   ntp_sec =0xb44db705 v               ^ dlsr=0x0005:4000 (    5.250s)
//   ntp_frac=0x20000000  v             ^  lsr =0xb705:2000 (46853.125s)
//     (3024992005.125 s)  v           ^
//   r                      v         ^ RR(n)
//   ---------------------------------------------------------------->
//                          |<-DLSR->|
//                           (5.250 s)
//
//   A     0xb710:8000 (46864.500 s)
//   DLSR -0x0005:4000 (    5.250 s)
//   LSR  -0xb705:2000 (46853.125 s)
//   -------------------------------
//   delay 0x0006:2000 (    6.125 s)
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "parley/base/clock.h"

namespace parley::rtp {

// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
inline constexpr uint64_t kNtpUnixEpochOffsetSeconds = 2'208'988'800;

// 64-bit NTP timestamp: seconds in the high 32 bits, binary fraction in the low 32.
// Wraps in 2036 (era 1), which this mapping follows modulo 2^32 seconds.
uint64_t WallTimeToNtp(Clock::WallTime time);
// Inverse of WallTimeToNtp() for times in NTP era 0 or early era 1 (1968..2104).
Clock::WallTime NtpToWallTime(uint64_t ntp);
// The middle 32 bits (16.16 seconds), as LSR and the RTT arithmetic use them.
inline uint32_t CompactNtp(uint64_t ntp) { return static_cast<uint32_t>(ntp >> 16); }

// A duration in compact NTP units (1/65536 s), rounded to nearest; saturates at 2^32-1.
uint32_t DurationToCompactNtp(Clock::Duration duration);
Clock::Duration CompactNtpToDuration(uint32_t compact);

// RTT = A - LSR - DLSR (all compact NTP, modulo 2^32), where A is the arrival time of the
// report block carrying `last_sr` and `delay_since_last_sr`. nullopt when no SR was
// received yet (LSR 0) or the result is negative (clocks or DLSR inconsistent).
std::optional<Clock::Duration> RoundTripTime(uint32_t arrival_compact, uint32_t last_sr,
                                             uint32_t delay_since_last_sr);

}  // namespace parley::rtp
