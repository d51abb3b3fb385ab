// The impairment proxy (`parley impair`): the lab's network model applied to live UDP, so
// that two real endpoints on one machine talk through wifi, lte-handover or any other
// preset, for end-to-end tests on loopback.
//
//   client ─> listen socket ─> upstream model ─> delay queue ─> upstream socket ─> forward
//   client <─ listen socket <─ delay queue <─ downstream model <─ upstream socket <─ forward
//
// A point-to-point link: the first address that sends to `listen` becomes the client for
// the proxy's lifetime; datagrams from any other address (on either socket: `listen` from
// someone else, the upstream socket from anyone but `forward`) are dropped and counted as
// foreign. The upstream socket is bound to the wildcard address of `forward`'s family on
// a port the system picks, so the server sees the proxy as its peer.
//
// Each direction has its own ImpairmentModel (its own seed), deciding per datagram: lost,
// delivered at an arrival time, or delivered twice. Time is the injected Clock's, in ms
// since Start(): a datagram read at t with fate arrival a is sent on at the first
// RunOnce() at or after a. The bytes the model sees (for a bandwidth cap) are the UDP
// payload plus 28 (IPv4) or 48 (IPv6) bytes of IP and UDP header.
//
// Memory is fixed at construction: per direction, a pool of max_queued_datagrams slots of
// max_datagram_bytes each for datagrams waiting to be sent on, ordered by a min-heap on
// their due time (ties: arrival order). A copy that finds the pool full is dropped
// (queue_dropped); a datagram larger than a slot is dropped (oversize_dropped).
// The proxy's own path allocates nothing per datagram (the model's PacketFate carries a
// small vector of arrival times).
//
// Threading: not thread-safe; Start, RunOnce, Run, Stop and the accessors on one thread.
// Run's stop flag may be set from any thread or from a signal handler.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "parley/base/clock.h"
#include "parley/base/result.h"
#include "parley/lab/impairment.h"
#include "parley/net/poller.h"
#include "parley/net/udp_socket.h"

namespace parley::lab {

struct ImpairProxyConfig {
  // Where the client sends to. Port 0: the system picks one (see listen_address()).
  net::SocketAddress listen;
  // Where datagrams from the client go: a concrete address and port (not 0.0.0.0, not 0).
  net::SocketAddress forward;
  ImpairmentConfig upstream;    // client -> forward
  ImpairmentConfig downstream;  // forward -> client

  // Datagrams waiting in one direction's delay queue at most. 4096: 4 s of a 1000
  // datagram/s stream, far above what any preset's delay holds at voice rates (50/s).
  // 1..1'000'000.
  size_t max_queued_datagrams = 4096;
  // Largest UDP payload relayed, in bytes; also a pool slot's size, so each direction
  // holds max_queued_datagrams x this (6 MB at the defaults). 1500: an Ethernet MTU, more
  // than any voice packet. 1..65507.
  size_t max_datagram_bytes = 1500;
  // SO_RCVBUF and SO_SNDBUF of both sockets, bytes; 0: the system's default. 1 MiB
  // absorbs a burst while the proxy is busy releasing; the kernel caps it at
  // net.core.rmem_max. >= 0.
  int socket_buffer_bytes = 1 << 20;

  // The same model both ways, as a symmetric path: upstream gets `impairment`, downstream
  // the same with seed + 1 so the two directions do not lose the same datagrams.
  static ImpairProxyConfig BothWays(const net::SocketAddress& listen,
                                    const net::SocketAddress& forward,
                                    const ImpairmentConfig& impairment);

  // Ok, or an Error naming the first field out of range ("upstream.loss_rate ...").
  [[nodiscard]] Status Validate() const;
};

// Counters of one direction since Start(). Every datagram read from the expected peer is
// `received`; every copy the model made is forwarded, dropped or still queued:
//   received + duplicated = lost + forwarded + queue_dropped + send_errors + queued
struct ImpairDirectionStats {
  uint64_t received = 0;          // read from the peer and given to the model
  uint64_t forwarded = 0;         // copies sent on (second copies of duplicates included)
  uint64_t lost = 0;              // dropped by the model (loss or bandwidth cap)
  uint64_t duplicated = 0;        // second copies the model made
  uint64_t queue_dropped = 0;     // copies dropped: the delay queue was full
  uint64_t send_errors = 0;       // copies the system refused to send (buffer full, ...)
  uint64_t foreign_dropped = 0;   // from an address other than the peer (not in received)
  uint64_t oversize_dropped = 0;  // larger than max_datagram_bytes (not in received)
  uint64_t receive_errors = 0;    // failed reads (none expected on UDP; counted, not fatal)
  size_t queued = 0;              // copies waiting in the delay queue now
};

struct ImpairProxyStats {
  ImpairDirectionStats upstream;    // client -> forward
  ImpairDirectionStats downstream;  // forward -> client
};

class ImpairProxy {
 public:
  using Config = ImpairProxyConfig;

  // How long Run() waits at most between checks of its stop flag.
  static constexpr std::chrono::milliseconds kRunCheckInterval{50};

  // `clock` must outlive the proxy. Throws std::invalid_argument when config.Validate()
  // fails (API misuse: validate user input first). Allocates the pools; opens nothing.
  ImpairProxy(const Clock& clock, const Config& config);
  ImpairProxy(const ImpairProxy&) = delete;
  ImpairProxy& operator=(const ImpairProxy&) = delete;

  // Binds both sockets; the proxy's time starts here. Error: a bind failed (it names the
  // socket and the address). Throws std::logic_error when called twice.
  [[nodiscard]] Status Start();

  // One turn: waits up to `max_wait` (less when a queued datagram falls due sooner) for
  // datagrams, reads what is waiting, and sends on every queued datagram that is due.
  // Error: the wait itself failed (the proxy stays usable). Throws std::logic_error
  // before Start() or after Stop().
  [[nodiscard]] Status RunOnce(std::chrono::milliseconds max_wait);

  // RunOnce until `stop` is true (checked at least every kRunCheckInterval) or a wait
  // fails (its Error is returned).
  [[nodiscard]] Status Run(const std::atomic<bool>& stop);

  // Closes both sockets; queued datagrams are not sent (they stay counted in `queued`).
  // Idempotent.
  void Stop();

  // Bound addresses (ports resolved); empty before Start().
  const net::SocketAddress& listen_address() const { return listen_socket_.local_address(); }
  const net::SocketAddress& upstream_address() const { return upstream_socket_.local_address(); }
  // The client the link is bound to; empty until its first datagram.
  const net::SocketAddress& client() const { return client_; }

  ImpairProxyStats stats() const;
  const Config& config() const { return config_; }

 private:
  // A copy waiting in the delay queue.
  struct Queued {
    double due_ms = 0.0;  // proxy time at which it is sent on
    uint64_t order = 0;   // arrival order, to keep ties first-in first-out
    uint32_t slot = 0;    // index into the direction's pool
    uint32_t bytes = 0;
  };
  // One direction: its model, its delay queue and its counters.
  struct Direction {
    Direction(const ImpairmentConfig& impairment, size_t slots, size_t slot_bytes);
    ImpairmentModel model;
    std::vector<uint8_t> pool;         // slots x slot_bytes
    std::vector<uint32_t> free_slots;  // stack of free slot indices
    std::vector<Queued> heap;          // min-heap on (due_ms, order); capacity = slots
    uint64_t next_order = 0;
    ImpairDirectionStats stats;
  };

  double NowMs() const;
  // Reads what `socket` holds (at most kMaxBatchesPerTurn batches) into `direction`'s
  // queue. from_client: the listen socket (the first sender becomes the client); else the
  // upstream socket (only `forward` is accepted, and only once a client is known).
  void ReceiveInto(Direction& direction, net::UdpSocket& socket, bool from_client);
  // Gives one datagram to the model and queues its copies.
  void Admit(Direction& direction, std::span<const uint8_t> payload, double now_ms, bool ipv6);
  // Sends on every queued copy of `direction` due at `now_ms`.
  void Release(Direction& direction, net::UdpSocket& socket, const net::SocketAddress& to,
               double now_ms);
  // Time until the earliest queued copy is due (<= 0: due now); max_wait when none.
  std::chrono::nanoseconds WaitFor(std::chrono::milliseconds max_wait, double now_ms) const;

  // Passed by argument.
  const Clock& clock_;
  const Config config_;
  // Allocated by this.
  Direction upstream_;
  Direction downstream_;
  std::vector<uint8_t> receive_buffers_;  // kMaxBatch x max_datagram_bytes
  std::vector<net::ReceiveSlot> receive_slots_;
  net::UdpSocket listen_socket_;
  net::UdpSocket upstream_socket_;
  net::Poller poller_;
  // Others.
  enum class State { kCreated, kRunning, kStopped };
  State state_ = State::kCreated;
  Clock::TimePoint start_{};
  net::SocketAddress client_;
  size_t listen_index_ = 0;    // in poller_
  size_t upstream_index_ = 0;  // in poller_
};

}  // namespace parley::lab
