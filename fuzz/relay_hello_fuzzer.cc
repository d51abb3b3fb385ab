// Datagrams on the relay's media port come from anyone. The hello parser must never
// crash or read outside the input; the allocation-free and the message-building parses
// must agree; what they accept (any of the four types) must serialise back to the same
// bytes. The same input is then routed by a MediaRouter (a fixed cookie key, so a crash
// replays) holding two participants latched through the full hello round (ids 1 and 2,
// secrets of 0x11 and 0x22 bytes, SSRCs 0x1111 and 0x2222, ports 1001 and 1002), from
// each of them and from a stranger (port 4000):
// - nothing is ever answered with more bytes than the input, and every answer (an ack or
//   a challenge) goes back to the sender only;
// - a challenge latches nothing; an ack means the sender is latched for that id;
// - a forward is the input itself (same pointer, same size), never to the sender or the
//   stranger; RTCP from a participant is taken by the relay (read for the link's
//   figures) and answered with nothing;
// - a challenged hello whose cookie is then taken from the challenge latches from that
//   address, and is refused from another (the valid-cookie path, which random bytes
//   cannot reach on their own).
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <span>
#include <vector>

#include "parley/base/clock.h"
#include "parley/relay/hello.h"
#include "parley/relay/media_router.h"

namespace {

using parley::Clock;
using parley::net::SocketAddress;
using namespace parley::relay;

void Check(bool condition) {
  if (!condition) std::abort();
}

JoinSecret Filled(uint8_t byte) {
  JoinSecret secret;
  secret.fill(byte);
  return secret;
}

struct Sent {
  const uint8_t* data;
  size_t size;
  std::vector<uint8_t> bytes;
  SocketAddress to;
};

class Sink : public OutputSink {
 public:
  void Emit(std::span<const uint8_t> payload, const SocketAddress& to) override {
    sent.push_back({payload.data(), payload.size(), {payload.begin(), payload.end()}, to});
  }
  std::vector<Sent> sent;
};

// The challenge in `sent` (checked: 24 bytes, type 3, for `participant_id`).
HelloCookie ChallengeCookie(const Sent& sent, uint32_t participant_id) {
  Hello challenge;
  Check(DecodeHello(sent.bytes, challenge) == HelloFault::kNone);
  Check(challenge.type == HelloType::kChallenge && challenge.participant_id == participant_id);
  Check(sent.size == kHelloBytes);
  return challenge.cookie;
}

std::vector<uint8_t> WithCookie(const Hello& hello, const HelloCookie& cookie) {
  Hello echoed = hello;
  echoed.cookie = cookie;
  const auto bytes = SerializeHelloWithCookie(echoed);
  return {bytes.begin(), bytes.end()};
}

MediaRouterConfig RouterConfig() {
  MediaRouterConfig config{.max_participants = 4, .max_participants_per_room = 4};
  HelloCookieKey key;
  key.fill(0x5C);
  config.cookie_key = key;
  return config;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A heap copy of exactly `size` bytes, so ASan sees any read past the end.
  const std::vector<uint8_t> input(data, data + size);

  Hello decoded;
  const HelloFault fault = DecodeHello(input, decoded);
  parley::Result<Hello> parsed = ParseHello(input);
  Check(parsed.ok() == (fault == HelloFault::kNone));
  if (parsed.ok()) {
    Check(*parsed == decoded && size == HelloSize(parsed->type));
    if (parsed->type == HelloType::kHelloWithCookie) {
      const auto bytes = SerializeHelloWithCookie(*parsed);
      Check(std::equal(bytes.begin(), bytes.end(), input.begin(), input.end()));
    } else {
      const auto bytes = SerializeHello(*parsed);
      Check(std::equal(bytes.begin(), bytes.end(), input.begin(), input.end()));
    }
  }

  const SocketAddress addresses[] = {SocketAddress::Loopback(false, 1001),
                                     SocketAddress::Loopback(false, 1002),
                                     SocketAddress::Loopback(false, 4000)};
  const SocketAddress& stranger = addresses[2];
  const Clock::TimePoint now(std::chrono::seconds(100));
  for (const SocketAddress& from : addresses) {
    MediaRouter router(RouterConfig());
    Check(router.AddParticipant(7, 1, 0x1111, Filled(0x11)).ok());
    Check(router.AddParticipant(7, 2, 0x2222, Filled(0x22)).ok());
    router.ApplyPendingCommands();
    Sink sink;
    router.Tick(now, Clock::WallTime(now.time_since_epoch()), sink);
    for (uint32_t id : {1u, 2u}) {
      const Hello hello{HelloType::kHello, id, Filled(static_cast<uint8_t>(0x11 * id)), {}};
      const auto bytes = SerializeHello(hello);
      sink.sent.clear();
      Check(router.Route(bytes.data(), bytes.size(), addresses[id - 1], sink).action ==
            RouteAction::kChallenged);
      const auto echo = WithCookie(hello, ChallengeCookie(sink.sent.at(0), id));
      Check(router.Route(echo.data(), echo.size(), addresses[id - 1], sink).action ==
            RouteAction::kHelloAcked);
    }
    Check(router.counters().dropped_total() == 0);
    sink.sent.clear();

    const RouteResult result = router.Route(input.data(), input.size(), from, sink);
    Check(result.copies == sink.sent.size());
    switch (result.action) {
      case RouteAction::kHelloAcked:
        Check(fault == HelloFault::kNone);
        Check(decoded.type == HelloType::kHello || decoded.type == HelloType::kHelloWithCookie);
        Check(sink.sent.size() == 1 && sink.sent[0].size == kHelloBytes && sink.sent[0].to == from);
        Check(router.latched_address(decoded.participant_id) == from);
        Check(router.counters().dropped_total() == 0);
        break;
      case RouteAction::kChallenged: {
        Check(fault == HelloFault::kNone);
        Check(decoded.type == HelloType::kHello || decoded.type == HelloType::kHelloWithCookie);
        Check(sink.sent.size() == 1 && sink.sent[0].to == from && sink.sent[0].size <= size);
        const HelloCookie cookie = ChallengeCookie(sink.sent[0], decoded.participant_id);
        // Nothing moved: each participant is still at its own address.
        Check(router.latched_address(1) == addresses[0]);
        Check(router.latched_address(2) == addresses[1]);
        const bool bad_cookie = result.reason == DropReason::kBadCookie;
        Check(bad_cookie == (decoded.type == HelloType::kHelloWithCookie));
        Check(router.counters().dropped_total() == (bad_cookie ? 1u : 0u));
        // The cookie echoed from another address is refused; from this one it latches.
        const auto echo = WithCookie(decoded, cookie);
        const SocketAddress elsewhere = SocketAddress::Loopback(false, 4001);  // never latched
        sink.sent.clear();
        const RouteResult moved = router.Route(echo.data(), echo.size(), elsewhere, sink);
        Check(moved.action == RouteAction::kChallenged && moved.reason == DropReason::kBadCookie);
        Check(sink.sent.size() == 1 && sink.sent[0].to == elsewhere);
        Check(router.Route(echo.data(), echo.size(), from, sink).action ==
              RouteAction::kHelloAcked);
        Check(router.latched_address(decoded.participant_id) == from);
        break;
      }
      case RouteAction::kForwarded:
        Check(!(from == stranger) && sink.sent.size() == 1);
        Check(sink.sent[0].data == input.data() && sink.sent[0].size == size);
        Check(!(sink.sent[0].to == from) && !(sink.sent[0].to == stranger));
        break;
      case RouteAction::kTerminated:
        // RTCP from a participant: read by the relay, answered with nothing, never sent on.
        Check(!(from == stranger) && sink.sent.empty());
        Check(router.counters().rtcp_received == 1);
        break;
      case RouteAction::kDropped:
        Check(sink.sent.empty());
        Check(router.counters().dropped_total() == 1);
        break;
    }
  }
  return 0;
}
