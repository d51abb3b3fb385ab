#include "forwarders_under_test.h"

#include <fmt/format.h>

#include <algorithm>
#include <thread>

#include "system_stats.h"

namespace parley::relay_load {
namespace {

// How long the control side waits for the media thread to drain a full command queue
// before it retries an AddParticipant.
constexpr auto kQueueFullRetry = std::chrono::milliseconds(1);
constexpr auto kAddTimeout = std::chrono::seconds(10);

class RelayUnderTest final : public ForwarderUnderTest {
 public:
  RelayUnderTest(std::unique_ptr<relay::MediaRouter> router, std::unique_ptr<relay::MediaLoop> loop,
                 int core)
      : router_(std::move(router)),
        loop_(std::move(loop)),
        thread_(core, [this](const std::atomic<bool>& stop) { run_status_ = loop_->Run(stop); }) {}

  ~RelayUnderTest() override { thread_.StopAndJoin(); }

  const net::SocketAddress& address() const override { return loop_->local_address(); }
  ForwarderSnapshot Snapshot() const override {
    const relay::MediaLoopCounters loop = loop_->counters();
    ForwarderSnapshot out;
    out.counts = {loop.batches, loop.received, loop.sent, loop.send_failed};
    out.forwarded_inputs = router_->counters().rtp_forwarded;
    return out;
  }
  PinnedThread& thread() override { return thread_; }
  Status status() const override { return run_status_; }
  relay::MediaRouter& router() { return *router_; }

 private:
  std::unique_ptr<relay::MediaRouter> router_;
  std::unique_ptr<relay::MediaLoop> loop_;
  Status run_status_;
  PinnedThread thread_;  // last: stopped and joined before the loop and router go
};

class BaselineUnderTest final : public ForwarderUnderTest {
 public:
  BaselineUnderTest(std::unique_ptr<BaselineForwarder> forwarder, int core)
      : forwarder_(std::move(forwarder)),
        thread_(core, [this](const std::atomic<bool>& stop) { forwarder_->Run(stop); }) {}
  ~BaselineUnderTest() override { thread_.StopAndJoin(); }

  const net::SocketAddress& address() const override { return forwarder_->address(); }
  ForwarderSnapshot Snapshot() const override {
    ForwarderSnapshot out;
    out.counts = forwarder_->counts();
    out.forwarded_inputs = out.counts.received;
    return out;
  }
  PinnedThread& thread() override { return thread_; }

 private:
  std::unique_ptr<BaselineForwarder> forwarder_;
  PinnedThread thread_;
};

}  // namespace

Result<std::unique_ptr<ForwarderUnderTest>> CreateRelay(LoadGenerator& generator, int core,
                                                        std::chrono::nanoseconds hello_timeout,
                                                        RelayMemory* memory) {
  const Layout& layout = generator.layout();
  relay::MediaRouterConfig config;
  config.max_participants = std::max(config.max_participants, layout.participants());
  config.max_participants_per_room = std::max(config.max_participants_per_room, layout.per_room());

  const int64_t rss_start = ReadResidentBytes();
  auto router = std::make_unique<relay::MediaRouter>(config);
  const int64_t rss_router = ReadResidentBytes();
  Result<std::unique_ptr<relay::MediaLoop>> loop =
      relay::MediaLoop::Create(net::SocketAddress::Loopback(false, 0), *router);
  if (!loop) return loop.error();
  const int64_t rss_loop = ReadResidentBytes();
  auto relay = std::make_unique<RelayUnderTest>(std::move(router), std::move(loop).value(), core);

  const auto add_deadline = std::chrono::steady_clock::now() + kAddTimeout;
  for (size_t p = 0; p < layout.participants(); ++p) {
    for (;;) {
      Status added = relay->router().AddParticipant(layout.room_id(layout.room_of(p)),
                                                    layout.participant_id(p), layout.ssrc(p),
                                                    layout.join_secret(p));
      if (added) break;
      if (std::chrono::steady_clock::now() > add_deadline) {
        return Error{fmt::format("relay: participant {}: {}", p, added.error().message)};
      }
      std::this_thread::sleep_for(kQueueFullRetry);
    }
  }
  if (Status shaken = generator.Handshake(relay->address(), hello_timeout); !shaken) {
    return shaken.error();
  }
  if (memory != nullptr) {
    memory->participants = layout.participants();
    memory->router_capacity = config.max_participants;
    memory->router_construct = rss_router - rss_start;
    memory->loop_create = rss_loop - rss_router;
    memory->joins_and_hellos = ReadResidentBytes() - rss_loop;
  }
  return std::unique_ptr<ForwarderUnderTest>(std::move(relay));
}

Result<std::unique_ptr<ForwarderUnderTest>> CreateBaseline(BaselineForwarder::Kind kind,
                                                           const Layout& layout, int core) {
  Result<std::unique_ptr<BaselineForwarder>> forwarder = BaselineForwarder::Create(kind, layout);
  if (!forwarder) return forwarder.error();
  return std::unique_ptr<ForwarderUnderTest>(
      std::make_unique<BaselineUnderTest>(std::move(forwarder).value(), core));
}

}  // namespace parley::relay_load
