// The relay benchmark's load: every participant of a Layout sends 20 ms RTP packets
// (12-byte header + 80-byte payload by default: Opus at 32 kbit/s) and receives what is
// forwarded to it, all through one UDP socket (layout.h says why one).
//
// Payload, after the RTP header (native byte order: the generator reads what it wrote):
//   bytes 0..7   send time, CLOCK_MONOTONIC ns, read just before the sendmmsg call
//   bytes 8..11  sender index
//   bytes 12..15 phase tag: packets left over from an earlier phase are not counted
//   rest         zero
//
// A phase runs in three parts: warm-up (load on, nothing counted), the measurement
// window [t0, t1) and the drain (sending stopped, late packets still received). A packet
// counts when its send time is inside the window; it is delivered if it arrives before
// the drain ends. One-way latency = arrival time (read once per recvmmsg batch) minus
// send time; both ends are this thread, so one clock.
//
// Targets: kForwarder sends everything to one address (the relay or a baseline), which
// must forward each packet to every other participant of the sender's room; kDirect
// sends each packet straight to one other participant (the next in the room), the
// baseline that shows what the generator's own send and receive path costs.
//
// Pacing (RunPaced): every participant sends `rate_pps`, all streams interleaved evenly
// (round robin, the total due computed from the elapsed time at each 1 ms tick), so the
// relay sees a smooth 150,000 packets/s at 1,000 rooms of 3, not bursts. RunSaturate
// sends 64-packet batches (round robin over participants) as fast as the thread can,
// draining its socket after each batch.
//
// Threading: one thread (the one that created it), which is also the control thread of
// the relay under test. The WindowObserver is called on that thread at t0 and t1.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "latency_histogram.h"
#include "layout.h"
#include "parley/base/result.h"
#include "parley/net/udp_socket.h"
#include "pktinfo_batch.h"

namespace parley::relay_load {

struct LoadConfig {
  size_t rooms = 1000;
  size_t per_room = 3;
  // Packets per second per participant. 50: 20 ms packets.
  double rate_pps = 50;
  // Bytes after the RTP header. 80: Opus at 32 kbit/s, 20 ms. 16..1400.
  size_t payload_bytes = 80;
  // The generator's socket buffers, set with SO_RCVBUFFORCE/SO_SNDBUFFORCE when the
  // process may (root), else capped by net.core.rmem_max/wmem_max. 16 MiB: it receives
  // twice what the relay receives.
  int socket_buffer_bytes = 16 << 20;
};

enum class Target { kForwarder, kDirect };

struct PhaseTiming {
  std::chrono::nanoseconds warmup{std::chrono::seconds(1)};
  std::chrono::nanoseconds window{std::chrono::seconds(10)};
  std::chrono::nanoseconds drain{std::chrono::milliseconds(200)};
};

// Told when the measurement window opens and closes, to read the forwarder's counters.
class WindowObserver {
 public:
  virtual ~WindowObserver() = default;
  virtual void OnWindowStart() = 0;
  virtual void OnWindowEnd() = 0;
};

struct PhaseStats {
  double window_s = 0;
  uint64_t sent = 0;        // packets sent in the window
  uint64_t expected = 0;    // sent x receivers per packet
  uint64_t delivered = 0;   // copies of window packets received by the end of the drain
  uint64_t sent_total = 0;  // packets sent in the whole phase (warm-up included)
  uint64_t send_refused = 0;
  uint64_t received_total = 0;  // RTP copies received in the whole phase
  uint64_t stray = 0;           // datagrams received that were not this phase's RTP
  double latency_p50_us = 0;
  double latency_p99_us = 0;
  double latency_max_us = 0;
  // Streams: one per (sender, receiver) pair. Share = delivered / sent in the window.
  size_t streams = 0;
  size_t streams_starved = 0;  // share 0: a stream the forwarder let die
  double min_stream_share = 0;
  double median_stream_share = 0;
  int64_t generator_cpu_ns = 0;  // this thread's CPU time in the window
  uint64_t generator_drops = 0;  // the kernel's drops on the generator's socket
  int64_t send_late_max_us = 0;  // RunPaced: the most a tick ran behind its schedule
};

class LoadGenerator {
 public:
  static constexpr size_t kBatch = kPktinfoBatch;

  // Binds 0.0.0.0:0 (the system picks the port). Error: the socket could not be set up.
  [[nodiscard]] static Result<std::unique_ptr<LoadGenerator>> Create(const LoadConfig& config);
  ~LoadGenerator();
  LoadGenerator(const LoadGenerator&) = delete;
  LoadGenerator& operator=(const LoadGenerator&) = delete;

  const Layout& layout() const { return layout_; }
  const LoadConfig& config() const { return config_; }
  // The socket's buffers as the kernel granted them (getsockopt; the kernel doubles the
  // request for its bookkeeping).
  int receive_buffer_bytes() const;

  // Sends every participant's hello to `relay` until each is acked, answering each
  // challenge at once with the hello-with-cookie (relay/hello.h); resends the missing
  // ones every 50 ms, with the latest cookie. Error: some were not acked within `timeout`
  // (names how many).
  [[nodiscard]] Status Handshake(const net::SocketAddress& relay, std::chrono::nanoseconds timeout);

  PhaseStats RunPaced(Target target, const net::SocketAddress& forwarder, const PhaseTiming& timing,
                      WindowObserver& observer);
  PhaseStats RunSaturate(const net::SocketAddress& forwarder, const PhaseTiming& timing,
                         WindowObserver& observer);

 private:
  struct Impl;
  explicit LoadGenerator(const LoadConfig& config, Layout layout, int fd);

  LoadConfig config_;
  Layout layout_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::relay_load
