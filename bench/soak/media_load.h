// The soak's media plane: every participant of the soak sends 20 ms RTP packets to the
// relay and receives what the relay forwards to it, after the media hello handshake of
// the client library (client/hello_handshake.h), all through one UDP socket.
//
// Addresses: each session (one participant's stay, from its join to its leave, across
// relay restarts) speaks from its own loopback address, 127.16.0.0 + session + 1, at the
// socket's one port (IP_PKTINFO picks the source address per datagram, as in the relay
// load benchmark's layout.h): about a million sessions fit, so no address is ever reused
// and a late packet can never be taken for another session's. To the relay they are as
// many distinct clients; to the generator, 64 datagrams per system call either way.
//
// Streams and their windows: a stream is one (sender, receiver) pair of a room. It is
// counted only while both ends have been acked by the relay (the relay then forwards
// every packet of one to the other): its window opens when the later of the two acks
// arrives and closes when either end leaves, loses its signaling connection, or the tool
// closes every window before it kills the relay. A packet is expected when its sender's
// sequence number lies inside one of the stream's windows; it is delivered when it
// arrives (however late, until Stop). Packets carry the sender's session, a per-session
// sequence number, the send time and a magic number after the RTP header.
//
// Pacing: every slot (a place in a room, held by one session at a time) sends `rate_pps`
// while its session is acked, slots interleaved round robin, the number due computed
// from the elapsed time each millisecond. When the thread falls more than 100 ms behind
// (descheduled on a busy machine), the missed packets are skipped, not sent in a burst,
// and counted (send_skipped): they are neither sent nor expected.
//
// Threading: one media thread (Start/Stop). The commands (AddSession, Joined, Down,
// Leave, CloseAllWindows) may come from any thread and are applied by the media thread
// within a millisecond; counters() from any thread; Finish() after Stop().
#pragma once

#include <netinet/in.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "parley/base/result.h"
#include "parley/net/udp_socket.h"
#include "parley/relay/hello.h"

namespace parley::soak {

struct MediaLoadConfig {
  size_t slots = 3000;  // participants at once
  double rate_pps = 50;
  size_t payload_bytes = 80;  // after the RTP header; >= 20
  int socket_buffer_bytes = 64 << 20;
};

// Live figures, readable while the load runs.
struct MediaCounters {
  uint64_t live = 0;   // sessions joined and not left
  uint64_t acked = 0;  // of those, acked by the relay (sending)
  uint64_t sent = 0;
  uint64_t received = 0;  // RTP copies received from peers
};

// The distribution of delivered / expected over streams.
struct StreamSummary {
  size_t streams = 0;        // with at least min_expected packets expected
  size_t streams_short = 0;  // with fewer (not in the distribution)
  double min = 0;
  double p1 = 0;
  double p50 = 0;
  double share_under_99 = 0;  // fraction of streams delivering < 99 %
  uint64_t expected = 0;      // over every stream, short ones included
  uint64_t delivered = 0;
};

struct MediaReport {
  StreamSummary streams;
  uint64_t sessions = 0;
  uint64_t sent = 0;
  uint64_t send_refused = 0;  // the kernel refused (socket buffer full)
  uint64_t send_skipped = 0;  // not sent: the thread was > 100 ms behind
  uint64_t received_rtp = 0;
  uint64_t out_of_window = 0;  // RTP from a room-mate outside any window (not counted)
  uint64_t misrouted = 0;      // RTP from a session of another room, or own: must be 0
  uint64_t rtcp_received = 0;  // the relay's reports
  uint64_t hellos_sent = 0;
  uint64_t acks = 0;
  uint64_t challenges = 0;
  uint64_t hello_failures = 0;  // handshakes with no ack in 5 s (then started again)
  uint64_t stray = 0;           // datagrams that are none of the above
  uint64_t socket_drops = 0;    // the kernel's drops on the generator's socket
  double latency_p50_us = 0;
  double latency_p99_us = 0;
  double latency_max_us = 0;
  int64_t send_late_max_us = 0;
};

class MediaLoad {
 public:
  static constexpr uint32_t kBaseIpv4 = 0x7F100000;  // 127.16.0.0
  static constexpr uint32_t kMaxSessions = (1u << 20) - 2;
  static constexpr uint32_t kSsrcBase = 0x50000000;
  static uint32_t SsrcOf(uint32_t session) { return kSsrcBase + session; }

  [[nodiscard]] static Result<std::unique_ptr<MediaLoad>> Create(const MediaLoadConfig& config);
  ~MediaLoad();  // stops
  MediaLoad(const MediaLoad&) = delete;
  MediaLoad& operator=(const MediaLoad&) = delete;

  void Start();
  // Stops the thread; windows still open are closed first.
  void Stop();

  // A new session for `slot` of `room` (the slot's former session, if any, must have
  // left). Returns its id, which fixes its address and SSRC. Throws std::length_error
  // beyond kMaxSessions.
  uint32_t AddSession(size_t slot, size_t room);
  // The relay accepted the session's join (first or after a reconnection): hello
  // handshake with these, then media.
  void Joined(uint32_t session, uint32_t participant_id, const relay::JoinSecret& secret,
              const net::SocketAddress& media);
  // Its signaling connection was lost: windows close, sending stops until Joined.
  void Down(uint32_t session);
  // It leaves for good: windows close, sending stops.
  void Leave(uint32_t session);
  // Every window closes and every session stops sending until its next Joined (before a
  // relay is killed: what was in flight still counts, nothing after).
  void CloseAllWindows();

  MediaCounters counters() const;
  // The report, streams with at least `min_expected` packets in the distribution.
  MediaReport Finish(uint64_t min_expected) const;

 private:
  struct Impl;
  explicit MediaLoad(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::soak
