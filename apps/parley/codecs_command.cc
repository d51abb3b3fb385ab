#include <fmt/format.h>

#include "commands.h"
#include "parley/codec/registry.h"

namespace parley::app {

int RunListCodecs() {
  fmt::print("{:<7} {:<15} {:>4} {:>8} {:>10} {:>6}  {}\n", "name", "rtpmap", "pt", "rate",
             "frames ms", "file", "description");
  for (const codec::CodecInfo& c : codec::AllCodecs()) {
    const std::string pt = c.static_payload_type >= 0 ? std::to_string(c.static_payload_type)
                                                      : fmt::format("{}*", c.default_payload_type);
    fmt::print("{:<7} {:<15} {:>4} {:>8} {:>10} {:>6}  {}\n", c.name, c.Rtpmap(), pt,
               c.sample_rate_hz, fmt::format("{}-{}", c.min_frame_ms, c.max_frame_ms),
               fmt::format(".{}", c.file_extension), c.description);
  }
  fmt::print(
      "\n* dynamic payload type (the default parley offers). Opus is stored in Ogg Opus (.opus) "
      "files.\n");
  return 0;
}

}  // namespace parley::app
