// Telephone-event payloads (RFC 4733) come from the far end. The input is a sequence of
// packets, each [4-byte RTP timestamp][1-byte length][payload], with occasional time
// steps; the receiver must never crash, and must report no more events than blocks fed.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "parley/rtp/telephone_event.h"

namespace {

class Counter : public parley::rtp::TelephoneEventListener {
 public:
  void OnTelephoneEvent(const parley::rtp::ReceivedTelephoneEvent& event) override {
    ++events;
    if (event.duration_ticks > 0xFFFFu * 1024u && event.end_received) std::abort();
  }
  uint64_t events = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley::rtp;
  std::span<const uint8_t> in(data, size);
  // The whole input as one payload, too.
  std::array<TelephoneEvent, 8> blocks;
  (void)ParseTelephoneEvents(in, blocks);
  if (auto first = ParseTelephoneEvent(in)) {
    std::array<uint8_t, 4> out{};
    if (!SerializeTelephoneEvent(*first, out)) std::abort();
  }

  Counter counter;
  auto receiver = TelephoneEventReceiver::Create({}, &counter);
  if (!receiver) std::abort();
  uint64_t blocks_fed = 0;
  while (in.size() >= 5) {
    const uint32_t timestamp =
        (uint32_t{in[0]} << 24) | (uint32_t{in[1]} << 16) | (uint32_t{in[2]} << 8) | in[3];
    const size_t length = in[4];
    in = in.subspan(5);
    if (length == 0xFF) {  // a clock tick instead of a packet
      receiver->OnTime(timestamp);
      continue;
    }
    const size_t take = length < in.size() ? length : in.size();
    if (receiver->OnPacket(timestamp, in.first(take)).ok()) blocks_fed += take / 4;
    in = in.subspan(take);
  }
  if (counter.events > blocks_fed) std::abort();
  return 0;
}
