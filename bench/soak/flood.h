// Unauthenticated garbage sent to the relay's media port from addresses that never
// joined: random bytes, RTP with the SSRCs real participants use, RTCP, hellos with
// participant ids that exist and secrets that do not, hellos-with-cookie with made-up
// cookies, and hello-acks. The relay must drop all of it and answer none of it.
//
// Sources: `sockets` UDP sockets, each bound to its own port on 0.0.0.0, each sending
// from 4,096 loopback addresses of 127.64.0.0/16 (IP_PKTINFO): many source addresses and
// ports. Every datagram any of them receives is counted (received()): whatever the relay
// sends to a flooding source lands there, so the soak's proof of "nothing sent back" is
// that count staying 0.
//
// Pacing: `rate_pps` in 64-datagram sendmmsg batches, the number due computed each
// millisecond; off until Enable(true). Datagrams come from a pool built at start (random
// content, fixed per run), so the flood costs the generator little beyond the system
// calls.
//
// Threading: its own thread (Start/Stop); Enable and counters from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>

#include "parley/base/result.h"
#include "parley/net/udp_socket.h"

namespace parley::soak {

struct FloodConfig {
  double rate_pps = 300'000;
  net::SocketAddress target;  // the relay's media address
  size_t sockets = 8;
  uint32_t max_participant_id = 3000;  // fake hellos name ids 1..this
  uint32_t ssrc_base = 0x50000000;     // fake RTP uses SSRCs in [base, base + ssrc_count)
  uint32_t ssrc_count = 3000;
  uint64_t seed = 1;
};

struct FloodCounters {
  uint64_t sent = 0;
  uint64_t refused = 0;   // sendmmsg took fewer than offered (socket buffer full)
  uint64_t received = 0;  // datagrams received by the flood's sockets: must stay 0
  uint64_t skipped = 0;   // not sent: the thread was > 100 ms behind
};

class Flood {
 public:
  [[nodiscard]] static Result<std::unique_ptr<Flood>> Create(const FloodConfig& config);
  ~Flood();
  Flood(const Flood&) = delete;
  Flood& operator=(const Flood&) = delete;

  void Start();
  void Stop();
  void Enable(bool on) { enabled_.store(on, std::memory_order_relaxed); }
  bool enabled() const { return enabled_.load(std::memory_order_relaxed); }
  FloodCounters counters() const;

 private:
  struct Impl;
  explicit Flood(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> enabled_{false};
};

}  // namespace parley::soak
