// Datagrams on the relay's media port come from anyone. The hello parser must never
// crash or read outside the input; the allocation-free and the message-building parses
// must agree; what they accept must serialise back to the same bytes. The same input is
// then routed by a MediaRouter holding two latched participants (ids 1 and 2, secrets
// of 0x11 and 0x22 bytes, SSRCs 0x1111 and 0x2222), from each of them and from a
// stranger: nothing may reach the stranger but the ack of a valid hello, a forward is
// the input itself (same pointer, same size), and only to the other participant.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "parley/relay/hello.h"
#include "parley/relay/media_router.h"

namespace {

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
  SocketAddress to;
};

class Sink : public OutputSink {
 public:
  void Emit(std::span<const uint8_t> payload, const SocketAddress& to) override {
    sent.push_back({payload.data(), payload.size(), to});
  }
  std::vector<Sent> sent;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A heap copy of exactly `size` bytes, so ASan sees any read past the end.
  const std::vector<uint8_t> input(data, data + size);

  Hello decoded;
  const HelloFault fault = DecodeHello(input, decoded);
  parley::Result<Hello> parsed = ParseHello(input);
  Check(parsed.ok() == (fault == HelloFault::kNone));
  if (parsed.ok()) {
    Check(*parsed == decoded && size == kHelloBytes);
    const auto bytes = SerializeHello(*parsed);
    Check(std::equal(bytes.begin(), bytes.end(), input.begin(), input.end()));
  }

  const SocketAddress addresses[] = {SocketAddress::Loopback(false, 1001),
                                     SocketAddress::Loopback(false, 1002),
                                     SocketAddress::Loopback(false, 4000)};
  const SocketAddress& stranger = addresses[2];
  for (const SocketAddress& from : addresses) {
    MediaRouter router(MediaRouterConfig{.max_participants = 4, .max_participants_per_room = 4});
    Check(router.AddParticipant(7, 1, 0x1111, Filled(0x11)).ok());
    Check(router.AddParticipant(7, 2, 0x2222, Filled(0x22)).ok());
    router.ApplyPendingCommands();
    Sink sink;
    for (uint32_t id : {1u, 2u}) {
      const auto hello =
          SerializeHello(Hello{HelloType::kHello, id, Filled(static_cast<uint8_t>(0x11 * id))});
      Check(router.Route(hello.data(), hello.size(), addresses[id - 1], sink).action ==
            RouteAction::kHelloAcked);
    }
    sink.sent.clear();

    const RouteResult result = router.Route(input.data(), input.size(), from, sink);
    Check(result.copies == sink.sent.size());
    switch (result.action) {
      case RouteAction::kHelloAcked:
        Check(fault == HelloFault::kNone && decoded.type == HelloType::kHello);
        Check(sink.sent.size() == 1 && sink.sent[0].size == kHelloBytes && sink.sent[0].to == from);
        break;
      case RouteAction::kForwarded:
        Check(!(from == stranger) && sink.sent.size() == 1);
        Check(sink.sent[0].data == input.data() && sink.sent[0].size == size);
        Check(!(sink.sent[0].to == from) && !(sink.sent[0].to == stranger));
        break;
      case RouteAction::kDropped:
        Check(sink.sent.empty());
        Check(router.counters().dropped_total() == 1);
        break;
    }
  }
  return 0;
}
