// parley ogg info FILE: what an Ogg Opus file holds and every defect found in it.
#include <fmt/format.h>

#include "commands.h"
#include "parley/container/ogg_opus_reader.h"

namespace parley::app {

int RunOggInfo(const OggInfoArgs& args) {
  auto info = container::InspectOggOpus(args.file);
  if (!info) {
    fmt::print(stderr, "parley ogg info: {}\n", info.error().message);
    return 1;
  }
  const container::OpusHead& head = info->head;
  fmt::print("{}\n", args.file);
  fmt::print("  channels:      {}\n", head.channels);
  fmt::print("  input rate:    {}\n", head.input_sample_rate_hz > 0
                                          ? fmt::format("{} Hz", head.input_sample_rate_hz)
                                          : std::string("unspecified"));
  fmt::print("  pre-skip:      {} samples ({:.2f} ms)\n", head.pre_skip_samples_48k,
             head.pre_skip_samples_48k / 48.0);
  if (head.output_gain_q8_db != 0) {
    fmt::print("  output gain:   {:.2f} dB\n", head.output_gain_q8_db / 256.0);
  }
  fmt::print("  duration:      {:.3f} s\n", info->duration_seconds);
  fmt::print("  packets:       {}\n", info->stats.packets);
  fmt::print("  pages:         {}\n", info->stats.pages);
  fmt::print("  bitrate:       {:.1f} kbit/s (audio payload)\n", info->bitrate_bps / 1000);
  fmt::print("  file size:     {} bytes\n", info->file_bytes);
  fmt::print("  vendor:        {}\n", info->tags.vendor);
  for (const std::string& comment : info->tags.comments) {
    fmt::print("  comment:       {}\n", comment);
  }
  fmt::print("  end of stream: {}\n", info->stats.end_of_stream ? "yes" : "no");
  fmt::print("  defects:       {}\n", info->stats.defect_count);
  for (const container::OggDefect& defect : info->stats.defects) {
    fmt::print("    {}\n", defect.message);
  }
  if (info->stats.defect_count > static_cast<int64_t>(info->stats.defects.size())) {
    fmt::print("    ... {} more\n",
               info->stats.defect_count - static_cast<int64_t>(info->stats.defects.size()));
  }
  return 0;
}

}  // namespace parley::app
