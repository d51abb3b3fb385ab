// Any bytes as a payload for any decoder: the decoders of every codec must answer with
// audio or an Error, never crash or read out of bounds. The first byte picks the codec,
// the second the decoder's channel count; the rest is the payload.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "parley/codec/registry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley::codec;
  if (size < 2) return 0;
  const auto codecs = AllCodecs();
  const CodecInfo& codec = codecs[data[0] % codecs.size()];
  DecoderConfig config;
  config.channels = 1 + data[1] % codec.max_channels;
  auto decoder = CreateDecoder(codec, config);
  if (!decoder) return 0;
  const std::span<const uint8_t> payload(data + 2, size - 2);
  std::vector<int16_t> out(kMaxPacketSamples48k * kMaxChannels);
  auto samples = (*decoder)->PacketSamples(payload);
  if (samples && *samples * config.channels <= static_cast<int>(out.size())) {
    (void)(*decoder)->Decode(payload, out);
  }
  if ((*decoder)->has_fec()) {
    (void)(*decoder)->DecodeFec(payload, (*decoder)->sample_rate_hz() / 50, out);
  }
  if ((*decoder)->has_plc()) (void)(*decoder)->Conceal((*decoder)->sample_rate_hz() / 100, out);
  return 0;
}
