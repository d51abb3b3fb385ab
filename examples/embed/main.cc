// The smallest application on parley: encode a second of a 440 Hz tone with Opus at
// 24 kbit/s through the codec registry, decode it again, and print what came out.
#include <parley/codec/registry.h>

#include <cmath>
#include <cstdio>
#include <vector>

int main() {
  using namespace parley::codec;
  const CodecInfo* opus = FindCodecByName("opus");
  if (opus == nullptr) return 1;
  auto encoder = CreateEncoder(*opus, {});
  auto decoder = CreateDecoder(*opus, {});
  if (!encoder || !decoder) return 1;

  const int frame = (*encoder)->frame_samples();
  std::vector<int16_t> pcm(static_cast<size_t>(frame));
  std::vector<uint8_t> payload((*encoder)->max_payload_bytes());
  std::vector<int16_t> out(kMaxPacketSamples48k);
  size_t bytes = 0;
  int decoded = 0;
  for (int packet = 0; packet < 50; ++packet) {
    for (int i = 0; i < frame; ++i) {
      const double t = static_cast<double>(packet * frame + i) / (*encoder)->sample_rate_hz();
      pcm[static_cast<size_t>(i)] = static_cast<int16_t>(8000 * std::sin(2 * M_PI * 440 * t));
    }
    auto size = (*encoder)->Encode(pcm, payload);
    if (!size) return 1;
    bytes += *size;
    auto samples = (*decoder)->Decode(std::span(payload).first(*size), out);
    if (!samples) return 1;
    decoded += *samples;
  }
  std::printf("%s: 50 packets, %zu bytes, %d samples decoded\n", opus->Rtpmap().c_str(), bytes,
              decoded);
  return decoded == 48000 ? 0 : 1;
}
