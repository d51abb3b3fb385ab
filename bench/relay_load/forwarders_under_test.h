// What a benchmark phase sends its load through: parley's relay (MediaLoop + MediaRouter)
// or one of the baselines (baseline_forwarders.h), each on its own thread pinned to the
// relay core.
//
// The relay is set up as a server would be: participants added from the control thread
// (the caller's; AddParticipant is retried while the command queue is full, as the
// media thread drains it every batch or idle_wait), then every participant's hello round
// (hello, challenge, hello-with-cookie) made by the generator and acked.
// RelayUnderTest::Create measures the process's resident memory around each step
// (RelayMemory).
//
// Threading: create, read and destroy on the generator's thread; the forwarding runs on
// the pinned thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "baseline_forwarders.h"
#include "load_generator.h"
#include "parley/base/result.h"
#include "parley/relay/media_loop.h"
#include "parley/relay/media_router.h"
#include "pinned_thread.h"

namespace parley::relay_load {

struct ForwarderSnapshot {
  ForwarderCounts counts;
  uint64_t forwarded_inputs = 0;  // datagrams read and sent on (the relay's rtp_forwarded)
};

class ForwarderUnderTest {
 public:
  virtual ~ForwarderUnderTest() = default;
  virtual const net::SocketAddress& address() const = 0;
  virtual ForwarderSnapshot Snapshot() const = 0;
  // The forwarding thread (CPU time, pinning).
  virtual PinnedThread& thread() = 0;
  // Ok, or the error the forwarding loop stopped on (after StopAndJoin).
  virtual Status status() const { return Status::Ok(); }
};

// Resident memory (RSS) deltas, bytes.
struct RelayMemory {
  size_t participants = 0;
  size_t router_capacity = 0;    // MediaRouterConfig::max_participants
  int64_t router_construct = 0;  // the router's preallocated tables
  int64_t loop_create = 0;       // MediaLoop: socket, 64 receive buffers
  int64_t joins_and_hellos = 0;  // AddParticipant for all, every address latched
  int64_t total() const { return router_construct + loop_create + joins_and_hellos; }
};

// Error: the socket could not be bound, a participant could not be added, or some hello
// was not acked within `hello_timeout`.
[[nodiscard]] Result<std::unique_ptr<ForwarderUnderTest>> CreateRelay(
    LoadGenerator& generator, int core, std::chrono::nanoseconds hello_timeout,
    RelayMemory* memory);

[[nodiscard]] Result<std::unique_ptr<ForwarderUnderTest>> CreateBaseline(
    BaselineForwarder::Kind kind, const Layout& layout, int core);

}  // namespace parley::relay_load
