// SDP a=rtpmap values ("opus/48000/2") come from the far end: the lookup must never crash,
// and whatever it accepts names a codec whose own rtpmap it is (L16 may differ in rate).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "parley/codec/registry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley::codec;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const CodecInfo* codec = FindCodecByRtpmap(text);
  if (codec != nullptr && codec->id != CodecId::kL16 &&
      FindCodecByRtpmap(codec->Rtpmap()) != codec) {
    std::abort();
  }
  (void)FindCodecByName(text);
  (void)FindCodecByFileExtension(text);
  return 0;
}
