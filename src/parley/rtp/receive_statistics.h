// Receiver statistics per source, exactly as RFC 3550 Appendix A computes them, and what
// a reception report block (§6.4.1) needs.
//
// - A.1 source validation: a new source (or one that jumped) is on probation until
//   kMinSequential packets arrive in sequence. Afterwards a forward step below
//   max_dropout or a backward step below max_misorder counts as a packet (a duplicate
//   counts too: A.1 does not detect duplicates); any other step is a "bad" packet, not
//   counted, unless the next packet follows it in sequence, in which case the source is
//   taken to have restarted and its statistics begin again from there.
// - A.3 expected = extended highest - base + 1 (base: the sequence number that ended
//   probation); cumulative lost = expected - received, which duplicates can make
//   negative (clamped to signed 24 bits for the report); fraction lost over the interval
//   since the last report = lost_interval * 256 / expected_interval, 0 when the interval
//   lost nothing or less than nothing.
// - A.8 interarrival jitter, in RTP timestamp units: for consecutive packets i-1, i in
//   arrival order, D = (R_i - R_{i-1}) - (S_i - S_{i-1}) and J += (|D| - J) / 16, with R
//   the arrival time in RTP units and S the RTP timestamp. The first counted packet only
//   sets the reference (A.8's code would otherwise start from a transit of 0). A |D| of
//   kMaxJitterStepSeconds or more is the sender's timeline jumping (timestamps leaping
//   ahead or restarting), not network jitter: it moves the reference without touching J,
//   as libwebrtc does, so one jump does not report seconds of jitter for the next minute.
//
// Arrival times are given either in RTP clock units (the caller's own conversion) or as
// Clock::TimePoint, converted with the stream's clock rate.
// Threading: not thread-safe; one instance per receive path.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "parley/base/clock.h"
#include "parley/rtp/rtcp_packet.h"
#include "parley/rtp/rtp_packet.h"

namespace parley::rtp {

// Transit changes this large (in seconds of the stream's clock) are timeline jumps, not
// jitter (see A.8 above).
inline constexpr int kMaxJitterStepSeconds = 5;

struct ReceiveStatisticsConfig {
  int clock_rate_hz = 8000;  // RTP clock of the stream (48000 for Opus); > 0
  int min_sequential = 2;    // A.1 MIN_SEQUENTIAL: in-sequence packets ending probation
  int max_dropout = 3000;    // A.1 MAX_DROPOUT: largest forward jump still in sequence
  int max_misorder = 100;    // A.1 MAX_MISORDER: largest backward step still counted
};

// What OnPacket() made of a packet.
enum class PacketVerdict {
  kCounted,      // valid: counted in received, jitter updated
  kProbation,    // source not yet validated (A.1 probation)
  kBadSequence,  // a jump too large; ignored unless the next packet follows it
  kRestarted,    // the second packet after a jump: statistics restarted from it (counted)
};

// Statistics of one source (one SSRC).
class SourceStatistics {
 public:
  // Throws std::invalid_argument for a config out of range (API misuse): clock rate <= 0,
  // min_sequential < 1, max_dropout + max_misorder >= 65536.
  SourceStatistics(uint32_t ssrc, const ReceiveStatisticsConfig& config);

  // A packet with `sequence_number` and RTP `timestamp` arrived at `arrival_rtp` (RTP clock
  // units, any origin, wrapping modulo 2^32).
  PacketVerdict OnPacket(uint16_t sequence_number, uint32_t timestamp, uint32_t arrival_rtp);
  // Same with the arrival as a monotonic time point, converted with clock_rate_hz.
  PacketVerdict OnPacket(uint16_t sequence_number, uint32_t timestamp, Clock::TimePoint arrival);

  // An SR from this source arrived at `arrival`: remembered for LSR/DLSR.
  void OnSenderReport(uint64_t ntp_timestamp, Clock::TimePoint arrival);

  uint32_t ssrc() const { return ssrc_; }
  bool validated() const { return probation_ == 0 && received_ > 0; }
  // Packets counted since the (re)start, duplicates included (A.1 `received`).
  uint32_t received() const { return received_; }
  // cycles << 16 | max_seq.
  uint32_t extended_highest_sequence() const { return cycles_ + max_seq_; }
  // A.3 expected: extended highest - base + 1; 0 before validation.
  int64_t expected() const;
  // A.3 expected - received; negative when duplicates outnumber losses.
  int64_t cumulative_lost() const { return expected() - received_; }
  // cumulative_lost() clamped to the report's signed 24 bits.
  int32_t cumulative_lost_24() const;
  // A.8 jitter in RTP timestamp units (fractional); report value is its integer part.
  double jitter_rtp() const { return jitter_; }
  uint32_t jitter_report() const { return static_cast<uint32_t>(jitter_); }
  // Fraction lost since the last FillReportBlock(), in 1/256, without closing the interval.
  uint8_t PeekFractionLost() const;

  // The report block about this source at `now`: fraction lost over the interval since
  // the previous call (which this call closes, A.3), LSR and DLSR from the last SR.
  ReportBlock MakeReportBlock(Clock::TimePoint now);

 private:
  void InitSequence(uint16_t sequence_number);
  PacketVerdict UpdateSequence(uint16_t sequence_number);
  void UpdateJitter(uint32_t timestamp, uint32_t arrival_rtp);
  uint8_t FractionLost(int64_t expected_interval, int64_t received_interval) const;

  // Passed by argument.
  uint32_t ssrc_;
  ReceiveStatisticsConfig config_;
  // A.1 state, names as in the RFC.
  bool seen_any_ = false;
  uint16_t max_seq_ = 0;
  uint32_t cycles_ = 0;  // count of wraps << 16
  uint32_t base_seq_ = 0;
  uint32_t bad_seq_ = kNoBadSequence;
  int probation_ = 0;
  uint32_t received_ = 0;
  int64_t expected_prior_ = 0;
  uint32_t received_prior_ = 0;
  // A.8 state.
  bool have_transit_ = false;
  int32_t transit_ = 0;  // RTP units, modulo 2^32
  double jitter_ = 0;    // RTP units
  // LSR bookkeeping.
  std::optional<uint32_t> last_sr_compact_;
  Clock::TimePoint last_sr_arrival_{};

  static constexpr uint32_t kNoBadSequence = 65536 + 1;  // RTP_SEQ_MOD + 1: matches nothing
};

// Statistics of every source a receiver hears, keyed by SSRC.
class ReceiveStatistics {
 public:
  // Throws std::invalid_argument for a config out of range, as SourceStatistics.
  explicit ReceiveStatistics(ReceiveStatisticsConfig config = {});
  ReceiveStatistics(const ReceiveStatistics&) = delete;
  ReceiveStatistics& operator=(const ReceiveStatistics&) = delete;

  // Creates the source on its first packet (allocates then, not afterwards).
  PacketVerdict OnRtpPacket(const RtpPacketView& packet, Clock::TimePoint arrival);
  PacketVerdict OnRtpPacket(const RtpPacketView& packet, uint32_t arrival_rtp);
  void OnSenderReport(uint32_t ssrc, uint64_t ntp_timestamp, Clock::TimePoint arrival);

  // nullptr for a source not heard.
  const SourceStatistics* Find(uint32_t ssrc) const;
  // Report blocks for validated sources (at most `max_blocks`, 31 fit one packet), closing
  // each one's fraction-lost interval.
  std::vector<ReportBlock> MakeReportBlocks(Clock::TimePoint now, size_t max_blocks = 31);

 private:
  SourceStatistics& Source(uint32_t ssrc);

  ReceiveStatisticsConfig config_;
  std::unordered_map<uint32_t, SourceStatistics> sources_;
};

}  // namespace parley::rtp
