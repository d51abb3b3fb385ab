// The client's RTCP endpoint (RFC 3550 §6) for its one link: to the relay, which
// terminates RTCP per link, or straight to the peer in P2P mode. It tells both ends the
// link's loss, jitter and round-trip time.
//
//   RTP sent ──────> OnRtpSent ────────┐ packet and octet counts, the RTP clock for SR
//   RTP received ──> OnRtpReceived ────┤ one rtp::SourceStatistics per peer SSRC (A.1/A.3/A.8)
//   RTCP received ─> OnRtcpReceived ───┤ SRs: LSR/DLSR for our blocks about their SSRC;
//                                      │ blocks about our SSRC: uplink figures and RTT
//   ReportDue(now) <───────────────────┘ when due: the compound packet to send
//
// What it sends, always with our own SSRC as the sender SSRC (a relay drops RTCP whose
// sender SSRC is not the participant's):
//
//   SR (we sent RTP since the report before last, RFC 3550 A.7 we_sent) or RR (we did not):
//       NTP = wall clock now, RTP timestamp = the last packet's plus the time since it was
//       sent, packet and payload octet counts; one report block per peer SSRC that sent
//       RTP since its previous block (at most 31, the oldest reported first)
//   SDES: one chunk, our SSRC, CNAME
//
// When: the first report half an interval after Start() times U[0.5, 1.5], then every
// report_interval times U[0.5, 1.5] (RFC 3550 §6.3.1's randomisation, from a seeded
// generator). The interval is fixed (1 s by default), as SFUs do per link, rather than
// rtp::RtcpScheduler's bandwidth share: a link has two members and RTCP is a few hundred
// bytes a second against 30 kbit/s of audio.
//
// Round-trip time (§6.4.1): a report block about our SSRC whose LSR is the compact NTP of
// one of the last 16 SRs we sent gives RTT = A - LSR - DLSR (rtp::RoundTripTime). A, the
// block's arrival, is taken as that SR's NTP plus the monotonic time since it was sent,
// so a step of the wall clock between the two does not show as RTT. A block whose LSR is
// 0 or matches no SR we sent (a relay restarted, a stale report) gives no sample.
//
// Uplink loss over the call: a reporter's successive blocks give lost and expected
// packets per interval (cumulative lost and extended highest sequence differences); their
// sums since its first block are loss_percent. A reporter whose figures go backwards (it
// restarted) starts a new sum. With several reporters (a relay forwarding RTCP rather
// than terminating it) UplinkStats follows the latest.
//
// Input from the network never throws: malformed RTCP is counted and returned as an
// Error. Peer SSRCs are bounded (max_sources); one silent for source_timeout is dropped.
//
// Time is injected: every event carries its monotonic time point; the clock only maps a
// time point to wall time for the SR's NTP timestamp. Threading: not thread-safe; one
// thread (or the caller's lock) calls everything. Not copyable.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "parley/base/clock.h"
#include "parley/base/random.h"
#include "parley/base/result.h"
#include "parley/rtp/receive_statistics.h"
#include "parley/rtp/rtcp_packet.h"

namespace parley::client {

// Room for any report RtcpSession writes: an SR with 31 blocks (772 bytes) and an SDES
// chunk with a 255-byte CNAME (268 bytes).
inline constexpr size_t kMaxRtcpReportBytes = 1040;

struct RtcpSessionConfig {
  uint32_t ssrc = 0;          // ours: the sender SSRC of every report; any value
  int clock_rate_hz = 48000;  // RTP clock of the stream we send (Opus: 48000); > 0
  std::string cname;          // SDES CNAME; 1..255 bytes
  // Mean interval between reports; each is drawn in [0.5, 1.5] x this. > 0.
  std::chrono::milliseconds report_interval{1000};
  uint64_t seed = 1;  // of the interval's randomisation
  // Peer SSRCs tracked at once; RTP or SRs of more are ignored (counted). A room's size
  // less oneself is enough. >= 1.
  size_t max_sources = 100;
  // A peer SSRC neither RTP nor SR has been heard from this long is forgotten. 30 s: as
  // MediaReceiver's peer_timeout. > 0.
  std::chrono::milliseconds source_timeout{30000};
  // Weight of a new sample in smoothed_rtt_ms (as TCP's SRTT, RFC 6298). (0, 1].
  double rtt_smoothing = 0.125;
};

// Our stream as the far end reported it (report blocks about our SSRC).
struct UplinkStats {
  bool reported = false;       // a block about our SSRC arrived
  uint32_t reporter_ssrc = 0;  // sender SSRC of the latest such block's packet
  uint64_t blocks = 0;         // blocks about our SSRC received
  // Loss over the interval of the latest block (its fraction lost), in percent.
  double fraction_lost_percent = 0;
  // Lost / expected over the reporter's intervals since its first block, in percent
  // (0 until it sent two); can be negative when duplicates outnumber losses.
  double loss_percent = 0;
  int32_t cumulative_lost = 0;  // as reported
  double jitter_ms = 0;         // the reported interarrival jitter
};

// A peer's stream as we receive it: what our report blocks about it say.
struct DownlinkStats {
  uint32_t ssrc = 0;
  uint32_t packets_received = 0;  // counted by A.1 since validation
  int64_t cumulative_lost = 0;    // A.3; negative when duplicates outnumber losses
  // cumulative_lost / expected, in percent (0 before validation).
  double loss_percent = 0;
  // The fraction lost our last block about it carried, in percent.
  double fraction_lost_percent = 0;
  double jitter_ms = 0;                 // A.8
  bool sender_report_received = false;  // an SR for it arrived (its blocks carry LSR)
};

struct RtcpSessionStats {
  UplinkStats uplink;
  std::vector<DownlinkStats> downlinks;  // ascending SSRC
  // Round-trip time: the latest sample and the smoothed one, in ms; 0 before the first.
  double rtt_ms = 0;
  double smoothed_rtt_ms = 0;
  uint64_t rtt_samples = 0;
  uint64_t reports_sent = 0;         // compound packets ReportDue returned
  uint64_t sender_reports_sent = 0;  // of those, with an SR
  uint64_t reports_received = 0;     // compound packets parsed
  uint64_t malformed = 0;            // datagrams ParseRtcpCompound refused
  uint64_t unmatched_lsr = 0;        // blocks about us giving no RTT: LSR 0 or no SR of ours
  uint64_t sources_refused = 0;      // RTP or SRs of a new SSRC beyond max_sources
  uint64_t packets_sent = 0;         // RTP, as OnRtpSent counted them
  uint64_t octets_sent = 0;          // RTP payload bytes
};

class RtcpSession {
 public:
  using Config = RtcpSessionConfig;

  // `clock` (wall time for the SR's NTP) must outlive the session. Throws
  // std::invalid_argument for a Config outside its documented ranges.
  RtcpSession(const Clock& clock, Config config);
  ~RtcpSession();
  RtcpSession(const RtcpSession&) = delete;
  RtcpSession& operator=(const RtcpSession&) = delete;

  // Begins reporting: the first report is due at `now` + report_interval/2 x U[0.5, 1.5].
  // Later calls do nothing (a report overdue after a pause goes out at the next ReportDue).
  void Start(Clock::TimePoint now);
  bool started() const { return next_report_.has_value(); }

  // An RTP packet of ours with RTP `timestamp` and `payload_bytes` left at `sent`.
  void OnRtpSent(uint32_t timestamp, size_t payload_bytes, Clock::TimePoint sent);
  // An RTP packet of peer `ssrc` arrived at `arrival`. `clock_rate_hz` (> 0) is its
  // stream's RTP clock, fixed by the source's first packet. Our own SSRC is ignored.
  // Allocates nothing once the source exists.
  void OnRtpReceived(uint32_t ssrc, uint16_t sequence_number, uint32_t timestamp, int clock_rate_hz,
                     Clock::TimePoint arrival);
  // A datagram of compound RTCP arrived at `arrival`. Error (counted in malformed) when
  // ParseRtcpCompound refuses it; nothing of it is used then.
  Status OnRtcpReceived(std::span<const uint8_t> datagram, Clock::TimePoint arrival);
  // Forgets peer `ssrc` (it left). False when unknown.
  bool RemoveSource(uint32_t ssrc);

  // When the next report is due; nullopt before Start().
  std::optional<Clock::TimePoint> next_report_time() const { return next_report_; }
  // The report, when one is due at `now` (started and now >= next_report_time()): the
  // next is scheduled from `now`, and the bytes stay valid until the next call. Empty
  // otherwise.
  std::span<const uint8_t> ReportDue(Clock::TimePoint now);

  // Allocates: for reporting, not for the packet path.
  RtcpSessionStats stats() const;
  const Config& config() const { return config_; }

 private:
  struct Source;
  struct Reporter;
  struct SentReport {
    uint64_t ntp = 0;
    Clock::TimePoint sent{};
  };

  Source* FindSource(uint32_t ssrc);
  Source* FindOrAddSource(uint32_t ssrc, Clock::TimePoint now);
  void OnSenderReport(uint32_t ssrc, uint64_t ntp, Clock::TimePoint arrival);
  void OnReportBlock(uint32_t reporter_ssrc, const rtp::ReportBlock& block,
                     Clock::TimePoint arrival);
  void ForgetSilentSources(Clock::TimePoint now);
  Clock::Duration DrawInterval(double scale);
  uint32_t RtpTimestampAt(Clock::TimePoint now) const;
  Clock::WallTime WallTimeAt(Clock::TimePoint now) const;

  // Passed by argument.
  const Clock& clock_;
  const Config config_;
  // Allocated by this.
  std::vector<Source> sources_;      // at most max_sources; reserved at construction
  std::vector<Reporter> reporters_;  // who sent blocks about us; at most max_sources
  std::vector<uint8_t> buffer_;      // the last report written
  // Others.
  Random random_;
  std::optional<Clock::TimePoint> next_report_;
  std::array<SentReport, 16> sent_reports_{};  // ring of our latest SRs
  size_t sent_report_count_ = 0;
  // RFC 3550 A.7 we_sent: packets sent at the last report and at the one before it.
  uint64_t packets_at_last_report_ = 0;
  uint64_t packets_at_report_before_last_ = 0;
  // The latest RTP packet sent: the SR's RTP timestamp is extrapolated from it.
  uint32_t last_sent_timestamp_ = 0;
  Clock::TimePoint last_sent_time_{};
  RtcpSessionStats stats_;  // its downlinks are filled by stats()
};

}  // namespace parley::client
