// The relay's end of RTCP on every link. A participant's RTCP stops at the relay (nothing
// of it is forwarded); the relay reports to each participant itself, as an SFU does, so
// it knows every link's loss, jitter and round-trip time: the inputs of the quality
// judge.
//
// What the relay sends each participant P, about every report_interval (randomised
// 0.5..1.5x, RFC 3550 §6.3, so that reports of a room do not bunch), one compound packet:
//
//   RR   sender: the relay's SSRC; one report block about P's own stream (its uplink:
//        fraction and cumulative lost, jitter, LSR/DLSR echoing P's latest SR, from
//        which P gets its round-trip time); no block before P's RTP has been validated
//   SR   one per other publisher Q of the room whose stream P receives (at most 31):
//        SSRC = Q's, NTP = the relay's wall clock now, RTP timestamp = Q's latest one
//        extrapolated to now with Q's clock rate, Q's packet and payload octet counts as
//        the relay received them. P's receiver reports about Q then carry the LSR of these
//        SRs, and the relay times the round trip to P from them.
//   SDES CNAME of the relay's SSRC.
//
// What the relay reads from P's RTCP (only SR/RR whose sender SSRC is P's; the rest of
// the compound is framed and skipped):
//   SR    P's NTP time, for the LSR/DLSR of the relay's next block about P's stream;
//   blocks about a peer Q's SSRC: the downlink relay -> P (fraction lost, jitter in Q's
//         clock) and, when LSR is set, RTT = now - LSR - DLSR (RFC 3550 §6.4.1), all in
//         the relay's own clock, so no clock needs to agree with P's.
// A compound whose framing is broken is counted as malformed and ignored whole.
//
// Uplink figures are observed when the relay makes its block about P (once per report);
// downlink and RTT when P's report arrives (the worst block of the report: one
// observation per link per report).
//
// Memory: sized at construction for max_participants; nothing is allocated afterwards.
// Threading: the media thread calls everything but link_stats() and histograms(), which
// any thread may call (relaxed atomics with one writer; each value exact, the set not
// one instant).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "parley/base/clock.h"
#include "parley/base/histogram.h"
#include "parley/base/random.h"

namespace parley::relay {

struct RtcpTerminatorConfig {
  // Mean time between two reports to one participant. 1 s: fresh enough for a judge that
  // acts within seconds; about 100 bytes per second per link, under 1 % of a 24 kb/s
  // voice stream (RFC 3550 allows 5 %). 100 ms..60 s.
  std::chrono::milliseconds report_interval{1000};
  // The relay's SSRC in its RR and SDES. 0: drawn from the seed.
  uint32_t relay_ssrc = 0;
  // CNAME of the relay's SSRC; 1..255 bytes.
  std::string cname = "parley-relay";
  // Seeds the report timing (and the SSRC when relay_ssrc is 0): runs are repeatable.
  uint64_t seed = 1;
};

// One participant's link as the latest reports describe it. A figure whose `has_` flag is
// false has not been measured yet.
struct LinkStats {
  bool has_uplink = false;        // the relay has validated P's RTP and reported on it
  double uplink_loss = 0;         // fraction lost, 0..1, over the latest report interval
  int64_t uplink_lost = 0;        // cumulative packets lost (negative: duplicates)
  double uplink_jitter_ms = 0;    // RFC 3550 interarrival jitter
  bool has_downlink = false;      // P has reported on a stream the relay sends it
  double downlink_loss = 0;       // worst stream of P's latest report, 0..1
  double downlink_jitter_ms = 0;  // worst stream of P's latest report
  bool has_rtt = false;
  double rtt_ms = 0;              // latest
  uint64_t reports_sent = 0;      // compound packets the relay sent P
  uint64_t reports_received = 0;  // SR/RR from P
  uint64_t malformed = 0;         // RTCP compounds from P with broken framing
};

// LinkHistograms read at one moment.
struct LinkDistributions {
  HistogramSnapshot uplink_loss;
  HistogramSnapshot downlink_loss;
  HistogramSnapshot uplink_jitter;
  HistogramSnapshot downlink_jitter;
  HistogramSnapshot rtt;
};

// Distributions over every link since start: one observation per report (above).
struct LinkHistograms {
  Histogram uplink_loss{0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0};           // fraction
  Histogram downlink_loss{0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0};         // fraction
  Histogram uplink_jitter{0.002, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32};  // seconds
  Histogram downlink_jitter{0.002, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32};
  Histogram rtt{0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6};  // seconds

  LinkDistributions Snapshot() const;
};

class RtcpTerminator {
 public:
  using Config = RtcpTerminatorConfig;

  // A peer of the participant being served, as the router knows it.
  struct Peer {
    uint32_t slot = 0;
    bool sends_to_participant = false;  // its RTP is forwarded to the participant
  };

  // Throws std::invalid_argument for a Config outside its documented ranges.
  RtcpTerminator(size_t max_participants, const Config& config = {});
  ~RtcpTerminator();
  RtcpTerminator(const RtcpTerminator&) = delete;
  RtcpTerminator& operator=(const RtcpTerminator&) = delete;

  // --- Media thread ---

  // A participant takes `slot` (slot < max_participants), sending `ssrc` with an RTP
  // clock of `clock_rate_hz` (> 0); its first report is due within half an interval.
  void Add(uint32_t slot, uint32_t ssrc, uint32_t clock_rate_hz, Clock::TimePoint now);
  void Remove(uint32_t slot);
  // An RTP packet the router accepted from `slot` (12 bytes at least, the SSRC checked).
  void OnRtp(uint32_t slot, std::span<const uint8_t> packet, Clock::TimePoint arrival);
  // An RTCP compound the router accepted from `slot`. `peers`: the other members of its
  // room. False when the compound is malformed (counted).
  bool OnRtcp(uint32_t slot, std::span<const uint8_t> compound, std::span<const Peer> peers,
              Clock::TimePoint now, Clock::WallTime wall_now);
  // True when `slot`'s next report is due.
  bool ReportDue(uint32_t slot, Clock::TimePoint now) const;
  // Writes `slot`'s report (above) into `out` and schedules the next one. Returns the
  // bytes written; 0 when `out` is smaller than MaxReportBytes() (nothing scheduled).
  size_t WriteReport(uint32_t slot, std::span<const Peer> peers, Clock::TimePoint now,
                     Clock::WallTime wall_now, std::span<uint8_t> out);
  // The largest report WriteReport writes.
  size_t MaxReportBytes() const;

  uint32_t relay_ssrc() const { return relay_ssrc_; }

  // --- Any thread ---

  // The link of whoever holds `slot` now (all zero for a free slot).
  LinkStats link_stats(uint32_t slot) const;
  const LinkHistograms& histograms() const { return histograms_; }

 private:
  struct Link;
  struct Cells;

  void PublishUplink(uint32_t slot, double loss, int64_t lost, double jitter_ms);

  const Config config_;
  uint32_t relay_ssrc_ = 0;
  Random rng_;
  std::unique_ptr<Link[]> links_;
  std::unique_ptr<Cells[]> cells_;
  LinkHistograms histograms_;
};

}  // namespace parley::relay
