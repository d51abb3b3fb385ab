// The relay router's periodic work: one Tick (the media loop makes one per receive batch,
// at least one per idle wait) with its RTCP report scan, for a few participants present
// in a relay sized for many. The time advances by the scan interval (10 ms) per iteration,
// so every iteration scans; about one report in a hundred is due (a report a second per
// participant) and is written, as on a live relay.
//
//   ./build/release/bench/parley_bench --benchmark_filter=RouterTick
#include <benchmark/benchmark.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <span>

#include "parley/relay/hello.h"
#include "parley/relay/media_router.h"

namespace {

using parley::Clock;
using parley::net::SocketAddress;
using namespace parley::relay;

constexpr uint32_t kParticipantsPerRoom = 2;

// Counts what the router emits; keeps nothing (the reports' bytes live in the router).
class CountingSink : public OutputSink {
 public:
  void Emit(std::span<const uint8_t> /*payload*/, const SocketAddress& /*to*/) override {
    ++emitted;
  }
  size_t emitted = 0;
};

// Adds participant `id` and latches it from 127.0.0.1:(10000 + id) with the client's
// hello round (hello, challenge, hello-with-cookie). Aborts when it does not latch.
void JoinAndLatch(MediaRouter& router, uint32_t id, Clock::TimePoint now) {
  JoinSecret secret{};
  secret[0] = static_cast<uint8_t>(id);
  secret[1] = static_cast<uint8_t>(id >> 8);
  if (!router.AddParticipant(id / kParticipantsPerRoom, id, 0x1000 + id, secret)) std::abort();
  router.ApplyPendingCommands();
  const SocketAddress from = SocketAddress::Loopback(false, static_cast<uint16_t>(10000 + id));
  struct LastEmitted : OutputSink {
    void Emit(std::span<const uint8_t> payload, const SocketAddress&) override {
      if (payload.size() == kHelloBytes) std::copy(payload.begin(), payload.end(), bytes.begin());
    }
    std::array<uint8_t, kHelloBytes> bytes{};
  } answer;
  router.Tick(now, Clock::WallTime(now.time_since_epoch()), answer);
  const auto hello = SerializeHello(Hello{HelloType::kHello, id, secret});
  (void)router.Route(hello.data(), hello.size(), from, answer);
  Hello challenge;
  if (DecodeHello(answer.bytes, challenge) != HelloFault::kNone) std::abort();
  const auto echo =
      SerializeHelloWithCookie(Hello{HelloType::kHelloWithCookie, id, secret, challenge.cookie});
  if (router.Route(echo.data(), echo.size(), from, answer).action != RouteAction::kHelloAcked) {
    std::abort();
  }
}

// Arguments: participants configured (max_participants), participants present.
void BM_RouterTick(benchmark::State& state) {
  MediaRouterConfig config;
  config.max_participants = static_cast<size_t>(state.range(0));
  config.max_participants_per_room = kParticipantsPerRoom;
  MediaRouter router(config);
  Clock::TimePoint now{};
  for (uint32_t id = 0; id < static_cast<uint32_t>(state.range(1)); ++id) {
    JoinAndLatch(router, id, now);
  }
  CountingSink sink;
  for (auto _ : state) {
    now += std::chrono::milliseconds(10);
    router.Tick(now, Clock::WallTime(now.time_since_epoch()), sink);
    benchmark::ClobberMemory();
  }
  state.counters["reports_per_tick"] =
      static_cast<double>(sink.emitted) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_RouterTick)
    ->ArgNames({"configured", "active"})
    ->Args({100, 10})
    ->Args({10'000, 10})
    ->Args({65'536, 10})
    ->Args({10'000, 1'000});

}  // namespace
