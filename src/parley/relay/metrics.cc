#include "parley/relay/metrics.h"

#include <fmt/format.h>

#include <iterator>
#include <string_view>

namespace parley::relay {
namespace {

enum class Type { kCounter, kGauge, kHistogram };

std::string_view TypeName(Type type) {
  switch (type) {
    case Type::kCounter:
      return "counter";
    case Type::kGauge:
      return "gauge";
    case Type::kHistogram:
      return "histogram";
  }
  return "untyped";
}

class Writer {
 public:
  // HELP and TYPE lines of a family.
  void Family(std::string_view name, Type type, std::string_view help) {
    fmt::format_to(std::back_inserter(out_), "# HELP {} {}\n# TYPE {} {}\n", name, help, name,
                   TypeName(type));
  }
  void Sample(std::string_view name, uint64_t value) {
    fmt::format_to(std::back_inserter(out_), "{} {}\n", name, value);
  }
  void Sample(std::string_view name, double value) {
    fmt::format_to(std::back_inserter(out_), "{} {:.3f}\n", name, value);
  }
  // Label values are the code's own names (snake_case), never a peer's text: no escaping.
  void Sample(std::string_view name, std::string_view label, std::string_view label_value,
              uint64_t value) {
    fmt::format_to(std::back_inserter(out_), "{}{{{}=\"{}\"}} {}\n", name, label, label_value,
                   value);
  }
  void Sample(std::string_view name, std::string_view label1, std::string_view value1,
              std::string_view label2, std::string_view value2, uint64_t value) {
    fmt::format_to(std::back_inserter(out_), "{}{{{}=\"{}\",{}=\"{}\"}} {}\n", name, label1, value1,
                   label2, value2, value);
  }
  void Counter(std::string_view name, std::string_view help, uint64_t value) {
    Family(name, Type::kCounter, help);
    Sample(name, value);
  }
  void Gauge(std::string_view name, std::string_view help, uint64_t value) {
    Family(name, Type::kGauge, help);
    Sample(name, value);
  }

  // The samples of one histogram series: cumulative buckets (le), +Inf, sum and count.
  // `labels` is empty or `name="value",` pairs ending in a comma.
  void Histogram(std::string_view name, std::string_view labels, const HistogramSnapshot& h) {
    for (size_t i = 0; i < h.upper_bounds.size(); ++i) {
      fmt::format_to(std::back_inserter(out_), "{}_bucket{{{}le=\"{}\"}} {}\n", name, labels,
                     h.upper_bounds[i], h.cumulative[i]);
    }
    fmt::format_to(std::back_inserter(out_), "{}_bucket{{{}le=\"+Inf\"}} {}\n", name, labels,
                   h.count);
    const std::string_view bare = labels.empty() ? labels : labels.substr(0, labels.size() - 1);
    const std::string braces = bare.empty() ? "" : fmt::format("{{{}}}", bare);
    fmt::format_to(std::back_inserter(out_), "{}_sum{} {}\n{}_count{} {}\n", name, braces, h.sum,
                   name, braces, h.count);
  }

  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace

std::string FormatPrometheus(const RelayStats& stats) {
  const SignalingStats& s = stats.signaling;
  const RouterCounters& r = stats.router;
  const MediaLoopCounters& m = stats.media;
  Writer w;

  w.Family("parley_relay_uptime_seconds", Type::kGauge, "Seconds since the relay started.");
  w.Sample("parley_relay_uptime_seconds", stats.uptime_s);
  w.Gauge("parley_relay_rooms", "Rooms open now.", s.rooms);
  w.Gauge("parley_relay_participants", "Participants in rooms now.", s.participants);

  // Signaling.
  w.Gauge("parley_relay_signaling_connections", "Signaling connections open now.",
          s.connections_open);
  w.Counter("parley_relay_signaling_connections_total", "Signaling TCP connections accepted.",
            s.connections_accepted);
  w.Counter("parley_relay_signaling_connections_refused_total",
            "Signaling connections closed at once because the connection limit was reached.",
            s.connections_refused);
  w.Counter("parley_relay_signaling_handshake_failures_total",
            "Signaling connections whose TLS or WebSocket handshake failed or timed out.",
            s.handshake_failures);
  w.Counter("parley_relay_joins_total", "Participants admitted to a room.", s.joins);
  w.Counter("parley_relay_leaves_total",
            "Participants removed from a room (leave message or connection closed).", s.leaves);
  w.Family("parley_relay_signaling_errors_total", Type::kCounter,
           "Error messages sent to signaling clients, by error code.");
  for (size_t i = 0; i < kErrorCodeCount; ++i) {
    w.Sample("parley_relay_signaling_errors_total", "code",
             session::ErrorCodeName(static_cast<session::ErrorCode>(i)), s.errors[i]);
  }
  w.Family("parley_relay_token_refusals_total", Type::kCounter,
           "Joins refused for their token, by reason.");
  for (size_t i = 0; i < kTokenErrorCount; ++i) {
    w.Sample("parley_relay_token_refusals_total", "reason",
             session::TokenErrorName(static_cast<session::TokenError>(i)), s.token_refusals[i]);
  }
  w.Counter("parley_relay_signaling_oversized_messages_total",
            "Signaling connections closed for a message above 16 KiB.", s.oversized_messages);

  // Media socket.
  w.Counter("parley_relay_media_datagrams_received_total",
            "Datagrams read from the media socket (RTP, RTCP, hellos and anything else).",
            m.received);
  w.Counter("parley_relay_media_bytes_received_total",
            "UDP payload bytes read from the media socket, whatever the datagrams were.",
            m.bytes_received);
  w.Counter("parley_relay_media_datagrams_sent_total",
            "Datagrams the kernel accepted for sending from the media socket.", m.sent);
  w.Counter("parley_relay_media_bytes_sent_total",
            "UDP payload bytes the relay emitted on the media socket (forwarded media and acks).",
            r.bytes_out);
  w.Counter("parley_relay_media_send_failures_total",
            "Datagrams the kernel refused to send (buffer full, unreachable), dropped.",
            m.send_failed);
  w.Counter("parley_relay_media_truncated_total",
            "Datagrams larger than the receive buffer, dropped.", m.truncated);
  w.Counter("parley_relay_media_receive_batches_total",
            "Receive system calls that returned datagrams (datagrams per batch = received / "
            "batches).",
            m.batches);
  w.Counter("parley_relay_media_send_calls_total", "Send system calls (sendmmsg).", m.send_calls);
  w.Family("parley_relay_media_socket_errors_total", Type::kCounter,
           "Media socket calls that failed, by operation (recv, send, poll) and errno; the "
           "media loop goes on after all but a closed or invalid socket.");
  for (size_t op = 0; op < net::kSocketOpCount; ++op) {
    for (size_t e = 0; e < net::kCountedErrnoCount; ++e) {
      w.Sample("parley_relay_media_socket_errors_total", "op",
               net::SocketOpName(static_cast<net::SocketOp>(op)), "errno", net::CountedErrnoName(e),
               m.socket_errors[op][e]);
    }
  }

  // Routing.
  w.Counter("parley_relay_media_rtp_forwarded_total",
            "RTP packets accepted and forwarded (each counted once, whatever its copies).",
            r.rtp_forwarded);
  w.Counter("parley_relay_media_rtcp_received_total",
            "RTCP packets accepted from participants and read (RTCP ends at the relay).",
            r.rtcp_received);
  w.Counter("parley_relay_media_rtcp_malformed_total",
            "Accepted RTCP packets whose framing was broken, ignored.", r.rtcp_malformed);
  w.Counter("parley_relay_media_rtcp_undecryptable_total",
            "Accepted SRTCP packets (SRTP rooms) that failed authentication, the replay check "
            "or decryption, ignored.",
            r.rtcp_undecryptable);
  w.Counter("parley_relay_media_rtcp_reports_sent_total",
            "RTCP compound reports the relay sent participants (RR, SRs, SDES).",
            r.rtcp_reports_sent);
  w.Counter("parley_relay_media_rtcp_protect_failures_total",
            "RTCP reports for SRTP rooms not sent because SRTCP protection failed.",
            r.rtcp_protect_failures);
  w.Counter("parley_relay_media_hellos_acked_total",
            "Valid media hellos, each answered with an ack.", r.hellos_acked);
  w.Counter("parley_relay_media_hellos_challenged_total",
            "Valid media hellos from an address not latched to their participant, answered "
            "with a cookie challenge (first latches, NAT moves, forgeries).",
            r.hellos_challenged);
  w.Family("parley_relay_media_dropped_total", Type::kCounter,
           "Datagrams neither forwarded nor acked, by reason.");
  for (size_t i = 0; i < kDropReasonCount; ++i) {
    w.Sample("parley_relay_media_dropped_total", "reason",
             DropReasonName(static_cast<DropReason>(i)), r.dropped[i]);
  }

  // Links, from RTCP: one observation per report.
  const LinkDistributions& l = stats.links;
  w.Family("parley_relay_link_loss_ratio", Type::kHistogram,
           "Fraction of packets lost on a link over one RTCP report interval: uplink "
           "(participant to relay) as the relay counted it, downlink (relay to participant) as "
           "the participant reported it, worst stream.");
  w.Histogram("parley_relay_link_loss_ratio", "direction=\"uplink\",", l.uplink_loss);
  w.Histogram("parley_relay_link_loss_ratio", "direction=\"downlink\",", l.downlink_loss);
  w.Family("parley_relay_link_jitter_seconds", Type::kHistogram,
           "RFC 3550 interarrival jitter of a link at each RTCP report, by direction.");
  w.Histogram("parley_relay_link_jitter_seconds", "direction=\"uplink\",", l.uplink_jitter);
  w.Histogram("parley_relay_link_jitter_seconds", "direction=\"downlink\",", l.downlink_jitter);
  w.Family("parley_relay_link_rtt_seconds", Type::kHistogram,
           "Round-trip time between the relay and a participant, from its RTCP reports.");
  w.Histogram("parley_relay_link_rtt_seconds", "", l.rtt);

  // Participants' media.
  const ParticipantTraffic& t = s.traffic;
  w.Counter("parley_relay_participant_packets_received_total",
            "Datagrams received from participants' latched addresses, hellos included.",
            t.packets_in);
  w.Counter("parley_relay_participant_bytes_received_total",
            "UDP payload bytes received from participants' latched addresses.", t.bytes_in);
  w.Counter("parley_relay_participant_packets_sent_total",
            "Datagrams sent to participants: forwarded media and acks.", t.packets_out);
  w.Counter("parley_relay_participant_bytes_sent_total", "UDP payload bytes sent to participants.",
            t.bytes_out);
  w.Counter("parley_relay_participant_packets_dropped_total",
            "Datagrams from participants' latched addresses that were refused (SSRC, rights, "
            "nobody to receive them).",
            t.packets_dropped);

  // Recording (zero when recording_dir is not set).
  const RecordingCounters& rec = stats.recording;
  w.Counter("parley_relay_recording_packets_total",
            "RTP packets written to participants' recordings.", rec.packets_recorded);
  w.Family("parley_relay_recording_dropped_total", Type::kCounter,
           "RTP packets accepted for forwarding but not recorded, by reason.");
  for (size_t i = 0; i < kRecordingDropCount; ++i) {
    w.Sample("parley_relay_recording_dropped_total", "reason",
             RecordingDropName(static_cast<RecordingDrop>(i)), rec.dropped[i]);
  }
  w.Counter("parley_relay_recording_participants_refused_total",
            "Participants not recorded because none of their codecs is Opus.",
            rec.participants_refused);
  w.Counter("parley_relay_recording_files_total",
            "Recording files created (participants' and rooms' mixes).", rec.files_opened);
  w.Gauge("parley_relay_recording_files_open", "Recording files open now.", rec.files_open);
  w.Counter("parley_relay_recording_bytes_written_total", "Bytes written to recording files.",
            rec.bytes_written);
  w.Counter("parley_relay_recording_errors_total",
            "Recording folders or files that could not be created, and writes that failed.",
            rec.errors);
  return w.Take();
}

std::string FormatHealth(const RelayStats& stats) {
  return fmt::format(R"({{"status":"ok","uptime_s":{:.3f},"rooms":{},"participants":{}}})",
                     stats.uptime_s, stats.signaling.rooms, stats.signaling.participants) +
         "\n";
}

}  // namespace parley::relay
