// When to send the next RTCP report: RFC 3550 §6.3 and Appendix A.7.
//
//   rtcp_bw   = session bandwidth x 5 %                                 (bytes/s)
//   if senders <= 25 % of members:   senders share 25 % of rtcp_bw, receivers 75 %,
//                                    n = senders or receivers (the group we are in)
//   else                             n = members, the whole rtcp_bw
//   Td        = max(Tmin, n x avg_rtcp_size / rtcp_bw)
//   Tmin      = 5 s (or 360 / session_bw_kbps s, the reduced minimum), halved before the
//               first report
//   T         = Td x U[0.5, 1.5] / (e - 3/2)    (randomised, then compensated for timer
//                                                reconsideration's bias to larger intervals)
//
// avg_rtcp_size is a moving average (1/16) of the compound packets sent and received,
// UDP and IP headers included. Timer reconsideration: when the timer fires, the interval is
// recomputed with the current membership; if tp + T is still in the future the report
// waits until then. Reverse reconsideration when members leave (BYE, timeout) pulls the
// next report in proportionally.
//
// Randomness comes from the caller's seeded generator, so tests are deterministic.
// Threading: not thread-safe.
#pragma once

#include <chrono>
#include <random>

#include "parley/base/clock.h"
#include "parley/base/result.h"

namespace parley::rtp {

struct RtcpSchedulerConfig {
  double session_bandwidth_bps = 64000;          // RTP session bandwidth (payload + headers); > 0
  double rtcp_fraction = 0.05;                   // of the session bandwidth given to RTCP
  double sender_fraction = 0.25;                 // of the RTCP bandwidth reserved for senders
  std::chrono::milliseconds min_interval{5000};  // Tmin
  bool reduced_minimum = false;                  // Tmin = 360 / session_bw_kbps s instead (§6.2)
  // Size of the first compound packet the application will send, IP + UDP included.
  int initial_avg_rtcp_bytes = 100;
};

// Validates `config`: positive bandwidth, fractions in (0, 1], positive minimum.
[[nodiscard]] Status ValidateRtcpSchedulerConfig(const RtcpSchedulerConfig& config);

class RtcpScheduler {
 public:
  // IP (20) + UDP (8) header bytes counted in every packet's size.
  static constexpr int kIpUdpOverheadBytes = 28;
  // e - 3/2: divides the randomised interval (A.7 COMPENSATION).
  static constexpr double kCompensation = 2.71828 - 1.5;

  // Precondition: ValidateRtcpSchedulerConfig(config).ok(). The first report is scheduled
  // at Now() + T computed with the halved minimum. `clock` and `rng` must outlive this.
  RtcpScheduler(const Clock& clock, std::mt19937_64& rng, RtcpSchedulerConfig config = {});
  RtcpScheduler(const RtcpScheduler&) = delete;
  RtcpScheduler& operator=(const RtcpScheduler&) = delete;

  // When the next report is due (tn).
  Clock::TimePoint NextReportTime() const { return next_report_; }
  // Called when the clock reaches NextReportTime(): applies timer reconsideration. Returns
  // true when a report should be sent now (then call OnReportSent()); false when the
  // interval grew and NextReportTime() moved later.
  bool OnTimer();
  // A compound packet of `packet_bytes` (RTCP bytes; IP/UDP are added) was sent now: tp =
  // now, the next report is scheduled one interval ahead.
  void OnReportSent(int packet_bytes);
  // A compound packet of `packet_bytes` was received: updates the average size.
  void OnReportReceived(int packet_bytes);

  // Session membership, ourselves included; members >= 1, 0 <= senders <= members. A
  // decrease applies reverse reconsideration to NextReportTime().
  void SetMembers(int members);
  void SetSenders(int senders);
  // Whether we sent RTP since the report before last (A.7 we_sent).
  void SetWeSent(bool we_sent) { we_sent_ = we_sent; }

  int members() const { return members_; }
  int senders() const { return senders_; }
  double avg_rtcp_bytes() const { return avg_rtcp_bytes_; }
  bool initial() const { return initial_; }
  // The deterministic interval Td (before randomisation and compensation) with the
  // current state.
  Clock::Duration DeterministicInterval() const;
  // A randomised, compensated interval T, drawing once from the generator.
  Clock::Duration DrawInterval();

 private:
  // Passed by argument.
  const Clock& clock_;
  std::mt19937_64& rng_;
  RtcpSchedulerConfig config_;
  // Others.
  int members_ = 1;
  int pmembers_ = 1;
  int senders_ = 0;
  bool we_sent_ = false;
  bool initial_ = true;
  double avg_rtcp_bytes_;
  Clock::TimePoint last_report_;  // tp
  Clock::TimePoint next_report_;  // tn
};

}  // namespace parley::rtp
