// parley call --relay URL --room R --token T ... | --peer IP:PORT --listen IP:PORT ...
#include "call_command.h"

#include <fmt/format.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include "parley/client/call.h"
#include "parley/quality/profile.h"
#include "stop_signal.h"

namespace parley::app {
namespace {

using std::chrono::milliseconds;

constexpr std::chrono::seconds kReportInterval{1};
// After a file sent once: how long to keep listening before leaving by ourselves.
constexpr std::chrono::seconds kTailAfterFile{2};
// How often the main thread looks at the call and the signal flag.
constexpr milliseconds kTurn{50};

double Seconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

// Concealed share of what `peer` played since `before` (its previous statistics, or none).
double ConcealedPercent(const client::PeerStats& peer, const client::PeerStats* before) {
  const auto& now = peer.playout;
  const uint64_t played =
      now.totalSamplesReceived - (before ? before->playout.totalSamplesReceived : 0);
  const uint64_t concealed = now.concealedSamples - (before ? before->playout.concealedSamples : 0);
  return played > 0 ? 100.0 * static_cast<double>(concealed) / static_cast<double>(played) : 0.0;
}

// Our RTCP figures about `ssrc`'s stream, or nullptr before its first packet reached them.
const client::DownlinkStats* FindDownlink(const client::CallStats& stats, uint32_t ssrc) {
  for (const client::DownlinkStats& downlink : stats.rtcp.downlinks) {
    if (downlink.ssrc == ssrc) return &downlink;
  }
  return nullptr;
}

std::string PeerLine(const client::PeerStats& peer, const client::PeerStats* before,
                     const client::DownlinkStats* downlink) {
  const std::string name = peer.identity.empty() ? fmt::format("{:08x}", peer.ssrc) : peer.identity;
  // Loss of the last RTCP interval: what our latest report about this stream said.
  const double loss_percent = downlink ? downlink->fraction_lost_percent : 0.0;
  return fmt::format(
      "{} {} lost {} loss {:.1f} % jitter {:.1f} ms buffer {:.0f} ms concealed {:.1f} % level "
      "-{} dBov",
      name, peer.packets_received, peer.packets_lost, loss_percent, peer.jitter_ms,
      peer.buffered_ms, ConcealedPercent(peer, before), peer.level_dbov);
}

// The link as RTCP measures it: the round trip, and our stream as the far end reported it
// for its last interval.
std::string LinkText(const client::RtcpSessionStats& rtcp) {
  std::string text = rtcp.rtt_samples > 0 ? fmt::format("rtt {:.1f} ms", rtcp.smoothed_rtt_ms)
                                          : std::string("rtt -");
  if (rtcp.uplink.reported) {
    text += fmt::format(" up loss {:.1f} % jitter {:.1f} ms", rtcp.uplink.fraction_lost_percent,
                        rtcp.uplink.jitter_ms);
  }
  return text;
}

const client::PeerStats* FindPeer(const client::CallStats& stats, uint32_t ssrc) {
  for (const client::PeerStats& peer : stats.peers) {
    if (peer.ssrc == ssrc) return &peer;
  }
  return nullptr;
}

void PrintLine(const client::CallStats& stats, const client::CallStats& previous,
               int sample_rate_hz) {
  std::string line = fmt::format("parley call: [{:6.1f} s] {}", Seconds(stats.elapsed),
                                 client::CallStateName(stats.state));
  if (stats.sending) {
    const double interval_s = Seconds(stats.elapsed - previous.elapsed);
    const double kbps = interval_s > 0 ? (stats.sender.bytes_sent - previous.sender.bytes_sent) *
                                             8.0 / interval_s / 1000.0
                                       : 0.0;
    line += fmt::format(" | sent {} ({:.1f} kbit/s){}", stats.sender.packets_sent, kbps,
                        stats.sending_finished ? " done" : "");
  }
  line += " | " + LinkText(stats.rtcp);
  if (stats.peers.empty()) line += " | nobody heard yet";
  // Concealment over the last interval: the whole call's share would hide a bad second.
  for (const client::PeerStats& peer : stats.peers) {
    line += " | " + PeerLine(peer, FindPeer(previous, peer.ssrc), FindDownlink(stats, peer.ssrc));
  }
  if (stats.recorded_frames > 0) {
    line +=
        fmt::format(" | rec {:.1f} s", static_cast<double>(stats.recorded_frames) / sample_rate_hz);
  }
  fmt::print(stderr, "{}\n", line);
}

void PrintSummary(const client::CallStats& stats) {
  fmt::print(stderr,
             "parley call: {:.1f} s, sent {} packets ({} skipped, {} send errors), {} rejoins; "
             "received {} RTP packets from {} peers ({} dropped: {} own SSRC, {} not RTP, {} "
             "malformed, {} over the peer limit)\n",
             Seconds(stats.elapsed), stats.sender.packets_sent, stats.sender.packets_skipped,
             stats.sender.send_errors, stats.rejoins, stats.receiver.rtp_packets,
             stats.receiver.peers_created,
             stats.receiver.own_ssrc + stats.receiver.not_rtp + stats.receiver.malformed +
                 stats.receiver.peers_refused,
             stats.receiver.own_ssrc, stats.receiver.not_rtp, stats.receiver.malformed,
             stats.receiver.peers_refused);
  const client::RtcpSessionStats& rtcp = stats.rtcp;
  fmt::print(stderr,
             "parley call: RTCP {} reports sent ({} SR), {} received ({} malformed); {}; "
             "{} RTT samples, latest {:.1f} ms; uplink loss {:.1f} % over the reports, {} "
             "lost\n",
             rtcp.reports_sent, rtcp.sender_reports_sent, rtcp.reports_received, rtcp.malformed,
             LinkText(rtcp), rtcp.rtt_samples, rtcp.rtt_ms, rtcp.uplink.loss_percent,
             rtcp.uplink.cumulative_lost);
  if (stats.srtp) {
    const rtp::SrtpStats& in = stats.srtp_received;
    fmt::print(stderr,
               "parley call: SRTP sent {} RTP / {} RTCP protected; received {} RTP / {} RTCP "
               "unprotected, refused {} (authentication), {} (replay), {} (other)\n",
               stats.srtp_sent.rtp_packets, stats.srtp_sent.rtcp_packets, in.rtp_packets,
               in.rtcp_packets, in.auth_failures, in.replays, in.other_failures);
  }
  for (const client::PeerStats& peer : stats.peers) {
    const auto& p = peer.playout;
    const double mean_delay_ms = p.jitterBufferEmittedCount > 0
                                     ? 1000.0 * p.jitterBufferDelay / p.jitterBufferEmittedCount
                                     : 0.0;
    fmt::print(stderr,
               "parley call:   {}: concealedSamples {}, concealmentEvents {}, "
               "insertedSamplesForDeceleration {}, removedSamplesForAcceleration {}, "
               "mean jitterBufferDelay {:.1f} ms, packetsDiscarded {}\n",
               PeerLine(peer, nullptr, FindDownlink(stats, peer.ssrc)), p.concealedSamples,
               p.concealmentEvents, p.insertedSamplesForDeceleration,
               p.removedSamplesForAcceleration, mean_delay_ms, p.packetsDiscarded);
  }
}

// The config for the arguments; an Error names the bad one.
Result<client::CallConfig> BuildConfig(const CallArgs& args) {
  client::CallConfig config;
  const bool relay = !args.relay.empty();
  const bool p2p = !args.peer.empty();
  if (relay == p2p) return Error{"give either --relay (with --room and --token) or --peer"};
  if (relay) {
    if (args.room.empty()) return Error{"--relay needs --room"};
    config.relay_url = args.relay;
    config.room = args.room;
    config.token = args.token;
    config.identity = args.identity;
    config.signaling.ca_file = args.ca_file;
    config.signaling.verify_peer = !args.insecure;
    if (!args.media_via.empty()) {
      auto via = net::SocketAddress::Parse(args.media_via);
      if (!via) return Error{"--media-via: " + via.error().message};
      config.media_via = *via;
    }
  } else {
    auto peer = net::SocketAddress::Parse(args.peer);
    if (!peer) return Error{"--peer: " + peer.error().message};
    config.peer = *peer;
    if (args.listen.empty()) return Error{"--peer needs --listen (the address the peer sends to)"};
  }
  if (!args.listen.empty()) {
    auto listen = net::SocketAddress::Parse(args.listen);
    if (!listen) return Error{"--listen: " + listen.error().message};
    config.listen = *listen;
  }
  if (!(args.duration_s >= 0))
    return Error{fmt::format("--duration {} is not >= 0", args.duration_s)};
  if (auto profile = quality::FindProfile(args.profile); !profile) {
    return Error{"--profile: " + profile.error().message};
  }
  config.send_path = args.send;
  config.loop = args.loop;
  config.record_path = args.record;
  config.profile = args.profile;
  return config;
}

}  // namespace

int RunCall(const CallArgs& args) {
  auto config = BuildConfig(args);
  if (!config) {
    fmt::print(stderr, "parley call: {}\n", config.error().message);
    return 1;
  }
  auto call = client::Call::Create(*config);
  if (!call) {
    fmt::print(stderr, "parley call: {}\n", call.error().message);
    return 1;
  }
  InstallStopSignalHandlers();
  if (Status started = (*call)->Start(); !started) {
    fmt::print(stderr, "parley call: {}\n", started.error().message);
    return 1;
  }
  client::CallStats previous = (*call)->Stats();
  if ((*call)->p2p()) {
    fmt::print(stderr, "parley call: P2P from {} to {}, SSRC {:08x}\n",
               previous.local_address.ToString(), previous.media_address.ToString(), previous.ssrc);
  } else {
    fmt::print(
        stderr,
        "parley call: joined room {} at {} as participant {}, SSRC {:08x}, media {} <-> {}\n",
        args.room, args.relay, previous.participant_id, previous.ssrc,
        previous.local_address.ToString(), previous.media_address.ToString());
  }

  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const bool bounded = args.duration_s > 0;
  const auto end = start + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(args.duration_s));
  const bool ends_with_file = !bounded && !args.send.empty() && !args.loop;
  std::optional<Clock::time_point> file_done;
  auto next_report = start + kReportInterval;
  const int record_rate = config->recorder.sample_rate_hz;
  while (!StopRequested()) {
    const auto now = Clock::now();
    if (bounded && now >= end) break;
    if (!(*call)->running()) break;  // failed: status() says why
    if (ends_with_file && (*call)->sending_finished()) {
      if (!file_done) file_done = now;
      if (now - *file_done >= kTailAfterFile) break;
    }
    if (now >= next_report) {
      const client::CallStats stats = (*call)->Stats();
      if (!args.quiet) PrintLine(stats, previous, record_rate);
      previous = stats;
      while (next_report <= now) next_report += kReportInterval;
    }
    std::this_thread::sleep_for(kTurn);
  }
  const client::CallStats final_stats = (*call)->Stats();
  const Status left = (*call)->Leave();
  PrintSummary(final_stats);
  if (!left) {
    fmt::print(stderr, "parley call: {}\n", left.error().message);
    return 1;
  }
  if (!args.record.empty()) {
    fmt::print(stderr, "parley call: recorded {:.1f} s to {}\n",
               static_cast<double>(final_stats.recorded_frames) / record_rate, args.record);
  }
  return 0;
}

}  // namespace parley::app
