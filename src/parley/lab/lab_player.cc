#include "parley/lab/lab_player.h"

#include <fmt/format.h>

#include "parley/codec/registry.h"

namespace parley::lab {

std::string_view BlockKindName(BlockKind kind) {
  switch (kind) {
    case BlockKind::kNormal:
      return "normal";
    case BlockKind::kConceal:
      return "conceal";
    case BlockKind::kFec:
      return "fec";
    case BlockKind::kInsert:
      return "insert";
    case BlockKind::kRemove:
      return "remove";
    case BlockKind::kSilence:
      return "silence";
  }
  return "unknown";
}

Status CheckPlayableFormat(const StreamFormat& format) {
  if (format.codec == nullptr) return Error{"the stream has no codec"};
  const codec::CodecInfo& codec = *format.codec;
  const int rate = format.output_rate_hz;
  if (rate < 8000 || rate > 48000 || rate % 1000 != 0) {
    return Error{fmt::format("output rate {} Hz is not 8000..48000 in whole kHz", rate)};
  }
  if (codec.id != codec::CodecId::kOpus && rate != codec.sample_rate_hz) {
    return Error{fmt::format("{} plays at {} Hz, not {}", codec.name, codec.sample_rate_hz, rate)};
  }
  if (format.channels < 1 || format.channels > 2) {
    return Error{fmt::format("{} channels (1..2 are played)", format.channels)};
  }
  if (format.frame_ms < 1 || format.frame_ms > kMaxLabPacketMs) {
    return Error{
        fmt::format("packets of {} ms (1..{} ms are played)", format.frame_ms, kMaxLabPacketMs)};
  }
  return Status::Ok();
}

}  // namespace parley::lab
