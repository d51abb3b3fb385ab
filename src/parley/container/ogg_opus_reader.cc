#include "parley/container/ogg_opus_reader.h"

#include <fmt/format.h>
#include <ogg/ogg.h>
#include <opus/opus.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>

#include "parley/codec/opus_codec.h"

namespace parley::container {
namespace {

constexpr int kGranuleRateHz = 48000;
constexpr size_t kOpusHeadBytes = 19;
constexpr size_t kMagicBytes = 8;
constexpr long kReadChunkBytes = 16384;
constexpr int kConcealStepSamples48k = 960;  // 20 ms
constexpr int kConcealGranule48k = 120;      // libopus conceals multiples of 2.5 ms

uint16_t Le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | p[1] << 8); }
uint32_t Le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

std::string Printable(std::span<const uint8_t> bytes) {
  std::string text;
  for (uint8_t b : bytes.first(std::min<size_t>(bytes.size(), kMagicBytes))) {
    text += (b >= 0x20 && b < 0x7f) ? static_cast<char>(b) : '.';
  }
  return text;
}

}  // namespace

//  OpusHead (RFC 7845 5.1), little-endian:
//   0          8         9          10          12               16              18
//   +----------+---------+----------+-----------+----------------+---------------+---------+
//   | OpusHead | version | channels | pre-skip  | input rate Hz  | output gain Q8| mapping |
//   +----------+---------+----------+-----------+----------------+---------------+---------+
//   (family != 0: stream count, coupled count, channel mapping table follow)
Result<OpusHead> ParseOpusHead(std::span<const uint8_t> packet) {
  if (packet.size() < kMagicBytes || std::memcmp(packet.data(), "OpusHead", kMagicBytes) != 0) {
    return Error{fmt::format("not Ogg Opus: first packet starts with '{}', not 'OpusHead'",
                             Printable(packet))};
  }
  if (packet.size() < kOpusHeadBytes) {
    return Error{fmt::format("OpusHead: {} bytes < {}", packet.size(), kOpusHeadBytes)};
  }
  OpusHead head;
  head.version = packet[8];
  if (head.version >> 4 != 0) {
    return Error{fmt::format("OpusHead: version {} (major {}) is not supported (major 0 only)",
                             head.version, head.version >> 4)};
  }
  head.channels = packet[9];
  head.pre_skip_samples_48k = Le16(&packet[10]);
  head.input_sample_rate_hz = Le32(&packet[12]);
  head.output_gain_q8_db = static_cast<int16_t>(Le16(&packet[16]));
  head.mapping_family = packet[18];
  if (head.channels == 0) return Error{"OpusHead: 0 channels"};
  if (head.mapping_family != 0) {
    return Error{fmt::format(
        "OpusHead: channel mapping family {} ({} channels) is not supported; parley reads "
        "mono and stereo files (family 0) only",
        head.mapping_family, head.channels)};
  }
  if (head.channels > 2) {
    return Error{
        fmt::format("OpusHead: {} channels with mapping family 0 (must be 1 or 2)", head.channels)};
  }
  return head;
}

//  OpusTags (RFC 7845 5.2), lengths little-endian 32-bit:
//   "OpusTags" | vendor length | vendor | comment count | (length | comment) ...
Result<OpusTags> ParseOpusTags(std::span<const uint8_t> packet) {
  if (packet.size() < kMagicBytes || std::memcmp(packet.data(), "OpusTags", kMagicBytes) != 0) {
    return Error{fmt::format("second packet starts with '{}', not 'OpusTags'", Printable(packet))};
  }
  size_t offset = kMagicBytes;
  auto read_string = [&](const char* what, std::string& out) -> Status {
    if (packet.size() - offset < 4) {
      return Error{fmt::format("OpusTags: {} length at offset {} cut off ({} bytes)", what, offset,
                               packet.size())};
    }
    const uint32_t length = Le32(&packet[offset]);
    offset += 4;
    if (length > packet.size() - offset) {
      return Error{fmt::format("OpusTags: {} of {} bytes at offset {} overruns the {}-byte packet",
                               what, length, offset, packet.size())};
    }
    out.assign(reinterpret_cast<const char*>(&packet[offset]), length);
    offset += length;
    return Status::Ok();
  };
  OpusTags tags;
  if (Status s = read_string("vendor string", tags.vendor); !s) return s.error();
  if (packet.size() - offset < 4) {
    return Error{fmt::format("OpusTags: comment count at offset {} cut off", offset)};
  }
  const uint32_t count = Le32(&packet[offset]);
  offset += 4;
  if (count > (packet.size() - offset) / 4) {
    return Error{fmt::format("OpusTags: {} comments cannot fit in the {} bytes after offset {}",
                             count, packet.size() - offset, offset)};
  }
  tags.comments.resize(count);
  for (std::string& comment : tags.comments) {
    if (Status s = read_string("comment", comment); !s) return s.error();
  }
  return tags;
}

struct OggOpusReader::OggState {
  ogg_sync_state sync{};
  ogg_stream_state stream{};
  ogg_page page{};
  bool stream_initialised = false;
  OggState() { ogg_sync_init(&sync); }
  ~OggState() {
    ogg_sync_clear(&sync);
    if (stream_initialised) ogg_stream_clear(&stream);
  }
};

Result<std::unique_ptr<OggOpusReader>> OggOpusReader::Open(const std::string& path) {
  FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return Error{fmt::format("cannot open '{}': {}", path, std::strerror(errno))};
  }
  return Open(file, path);
}

Result<std::unique_ptr<OggOpusReader>> OggOpusReader::Open(FILE* file, std::string name) {
  std::unique_ptr<OggOpusReader> reader(new OggOpusReader(std::move(name), file));
  if (Status s = reader->ReadHeaders(); !s) return s.error();
  return reader;
}

OggOpusReader::OggOpusReader(std::string name, FILE* file)
    : name_(std::move(name)), file_(file), ogg_(std::make_unique<OggState>()) {}

OggOpusReader::~OggOpusReader() {
  if (file_ != nullptr) std::fclose(file_);
}

void OggOpusReader::AddDefect(OggDefectKind kind, uint64_t offset, std::string message) {
  ++stats_.defect_count;
  if (stats_.defects.size() < kMaxDefectsKept) {
    stats_.defects.push_back({kind, offset, std::move(message)});
  }
}

int64_t OggOpusReader::duration_samples_48k() const {
  if (stats_.first_granule_48k < 0) return 0;
  return std::max<int64_t>(
      0, stats_.last_granule_48k - stats_.first_granule_48k - head_.pre_skip_samples_48k);
}

Result<bool> OggOpusReader::NextPage() {
  ogg_sync_state& sync = ogg_->sync;
  auto close_skip_run = [&] {
    if (skipped_bytes_ == 0) return;
    if (skip_is_page_) {
      AddDefect(OggDefectKind::kBadCrc, skip_start_,
                fmt::format("bad CRC: page at offset {} dropped ({} bytes skipped)", skip_start_,
                            skipped_bytes_));
    } else {
      AddDefect(OggDefectKind::kLostSync, skip_start_,
                fmt::format("lost sync at offset {}: {} bytes that are not an Ogg page skipped",
                            skip_start_, skipped_bytes_));
    }
    skipped_bytes_ = 0;
  };
  while (true) {
    const long available = sync.fill - sync.returned;
    const bool at_capture =
        available >= 4 && std::memcmp(sync.data + sync.returned, "OggS", 4) == 0;
    const long n = ogg_sync_pageseek(&sync, &ogg_->page);
    if (n > 0) {
      close_skip_run();
      page_offset_ = stats_.bytes_read;
      stats_.bytes_read += static_cast<uint64_t>(n);
      const ogg_page& page = ogg_->page;
      const bool bos = ogg_page_bos(&page) != 0;
      if (ogg_->stream_initialised) {
        if (bos && audio_started_) {
          return Error{fmt::format(
              "'{}': chained stream at offset {}: a second Ogg stream (serial {:#x}) begins "
              "after the first one's audio; parley reads single-stream files only",
              name_, page_offset_, static_cast<uint32_t>(ogg_page_serialno(&page)))};
        }
        if (ogg_page_serialno(&page) != serial_ || bos) {
          return Error{fmt::format(
              "'{}': multiplexed streams at offset {}: a page of serial {:#x} among those of "
              "{:#x}; parley reads single-stream Ogg Opus files only",
              name_, page_offset_, static_cast<uint32_t>(ogg_page_serialno(&page)),
              static_cast<uint32_t>(serial_))};
        }
      }
      ++stats_.pages;
      return true;
    }
    if (n < 0) {
      if (skipped_bytes_ == 0) {
        skip_start_ = stats_.bytes_read;
        skip_is_page_ = at_capture;
      }
      skipped_bytes_ += static_cast<uint64_t>(-n);
      stats_.bytes_read += static_cast<uint64_t>(-n);
      continue;
    }
    if (eof_) {
      close_skip_run();
      const long left = sync.fill - sync.returned;
      if (left > 0) {
        AddDefect(OggDefectKind::kTruncated, stats_.bytes_read,
                  fmt::format("truncated at offset {}: the file ends inside a page ({} bytes of "
                              "it present)",
                              stats_.bytes_read, left));
        stats_.bytes_read += static_cast<uint64_t>(left);
        ogg_sync_reset(&sync);
      }
      return false;
    }
    char* buffer = ogg_sync_buffer(&sync, kReadChunkBytes);
    if (buffer == nullptr) return Error{fmt::format("'{}': out of memory", name_)};
    const size_t got = std::fread(buffer, 1, kReadChunkBytes, file_);
    if (std::ferror(file_)) {
      return Error{fmt::format("'{}': read failed at offset {}: {}", name_,
                               stats_.bytes_read + static_cast<uint64_t>(available),
                               std::strerror(errno))};
    }
    ogg_sync_wrote(&sync, static_cast<long>(got));
    if (got == 0) eof_ = true;
  }
}

Status OggOpusReader::ReadHeaders() {
  auto first = NextPage();
  if (!first) return first.error();
  if (!*first) {
    return Error{fmt::format("'{}' is not an Ogg file: no Ogg page in its {} bytes", name_,
                             stats_.bytes_read)};
  }
  ogg_page& page = ogg_->page;
  if (!ogg_page_bos(&page)) {
    return Error{fmt::format(
        "'{}': the first page (offset {}) does not begin a stream; the file was cut from the "
        "middle of a recording",
        name_, page_offset_)};
  }
  serial_ = ogg_page_serialno(&page);
  ogg_stream_init(&ogg_->stream, serial_);
  ogg_->stream_initialised = true;
  ogg_stream_pagein(&ogg_->stream, &page);
  ogg_packet packet;
  if (ogg_stream_packetout(&ogg_->stream, &packet) != 1) {
    return Error{fmt::format("'{}': the first page (offset {}) holds no complete packet", name_,
                             page_offset_)};
  }
  auto head = ParseOpusHead(std::span(packet.packet, static_cast<size_t>(packet.bytes)));
  if (!head) {
    return Error{
        fmt::format("'{}': {} (page at offset {})", name_, head.error().message, page_offset_)};
  }
  head_ = *head;
  if (ogg_stream_packetout(&ogg_->stream, &packet) != 0 || ogg_page_continued(&page) ||
      ogg_->stream.body_fill > ogg_->stream.body_returned) {
    return Error{fmt::format("'{}': the OpusHead page (offset {}) holds more than OpusHead", name_,
                             page_offset_)};
  }
  // OpusTags: may span pages; the page it ends on should hold nothing else.
  while (true) {
    auto more = NextPage();
    if (!more) return more.error();
    if (!*more) {
      return Error{fmt::format("'{}': the file ends at offset {} before OpusTags", name_,
                               stats_.bytes_read)};
    }
    ogg_stream_pagein(&ogg_->stream, &page);
    const int got = ogg_stream_packetout(&ogg_->stream, &packet);
    if (got < 0) {
      return Error{fmt::format("'{}': OpusTags is damaged (data missing before offset {})", name_,
                               page_offset_)};
    }
    if (got == 1) break;
  }
  auto tags = ParseOpusTags(std::span(packet.packet, static_cast<size_t>(packet.bytes)));
  if (!tags) {
    return Error{
        fmt::format("'{}': {} (page at offset {})", name_, tags.error().message, page_offset_)};
  }
  tags_ = std::move(tags).value();
  // Audio that shares the OpusTags page (against RFC 7845 3) is still read.
  return TakePackets(/*already_in=*/true);
}

Status OggOpusReader::TakePackets(bool already_in) {
  ogg_page& page = ogg_->page;
  if (!already_in) ogg_stream_pagein(&ogg_->stream, &page);
  queue_bytes_.clear();
  queue_.clear();
  queue_next_ = 0;
  bool dropped = false;
  ogg_packet packet;
  int index = 0;
  while (true) {
    const int got = ogg_stream_packetout(&ogg_->stream, &packet);
    if (got == 0) break;
    if (got < 0) {
      AddDefect(OggDefectKind::kMissingData, page_offset_,
                fmt::format("missing data before the page at offset {} (page sequence gap)",
                            page_offset_));
      need_resync_ = true;
      continue;
    }
    ++index;
    const int samples =
        packet.bytes > 0 ? opus_packet_get_nb_samples(
                               packet.packet, static_cast<opus_int32>(packet.bytes), kGranuleRateHz)
                         : OPUS_BAD_ARG;
    if (samples <= 0 || samples > codec::kMaxPacketSamples48k) {
      AddDefect(OggDefectKind::kBadPacket, page_offset_,
                fmt::format("packet {} of the page at offset {} is not valid Opus ({} bytes)",
                            index, page_offset_, packet.bytes));
      dropped = true;
      continue;
    }
    queue_.push_back({queue_bytes_.size(), static_cast<size_t>(packet.bytes), samples, 0, 0});
    queue_bytes_.insert(queue_bytes_.end(), packet.packet, packet.packet + packet.bytes);
  }
  const bool eos = ogg_page_eos(&page) != 0;
  if (eos) stats_.end_of_stream = true;
  if (queue_.empty()) return Status::Ok();

  const int64_t granule = ogg_page_granulepos(&page);
  int64_t sum = 0;
  for (const Queued& q : queue_) sum += q.samples_48k;
  int64_t start = position_48k_;
  if (granule >= 0) {
    if (need_resync_ || dropped) {
      start = granule - sum;
      if (start < 0) {
        if (!eos) {
          AddDefect(OggDefectKind::kGranule, page_offset_,
                    fmt::format("page at offset {}: granule position {} is less than its "
                                "packets' {} samples",
                                page_offset_, granule, sum));
        }
        start = 0;
      }
    } else if (granule > start + sum) {
      AddDefect(OggDefectKind::kGranule, page_offset_,
                fmt::format("page at offset {}: granule position {} is {} samples past its "
                            "packets (a gap)",
                            page_offset_, granule, granule - start - sum));
      start = granule - sum;
    } else if (granule < start + sum && !eos) {
      AddDefect(OggDefectKind::kGranule, page_offset_,
                fmt::format("page at offset {}: granule position {} is {} samples behind its "
                            "packets",
                            page_offset_, granule, start + sum - granule));
    }
    need_resync_ = false;
  }
  const int64_t limit = eos && granule >= 0 ? granule : std::numeric_limits<int64_t>::max();
  int64_t position = start;
  for (Queued& q : queue_) {
    const int64_t end = position + q.samples_48k;
    q.end_granule_48k = end;
    q.valid_samples_48k =
        static_cast<int>(std::clamp<int64_t>(std::min(end, limit) - position, 0, q.samples_48k));
    position = end;
  }
  position_48k_ = position;
  if (stats_.first_granule_48k < 0) stats_.first_granule_48k = start;
  stats_.last_granule_48k = std::min(position, limit);
  return Status::Ok();
}

Result<std::optional<OggOpusPacket>> OggOpusReader::ReadPacket() {
  while (queue_next_ >= queue_.size()) {
    if (eof_reported_) return std::optional<OggOpusPacket>();
    auto more = NextPage();
    if (!more) return more.error();
    if (!*more) {
      eof_reported_ = true;
      if (!stats_.end_of_stream) {
        AddDefect(OggDefectKind::kNoEndOfStream, stats_.bytes_read,
                  fmt::format("no end-of-stream page: the stream stops at offset {} (recording "
                              "cut off?)",
                              stats_.bytes_read));
      }
      return std::optional<OggOpusPacket>();
    }
    if (stats_.end_of_stream) {
      AddDefect(
          OggDefectKind::kGranule, page_offset_,
          fmt::format("page at offset {} after the end-of-stream page ignored", page_offset_));
      continue;
    }
    audio_started_ = true;
    if (Status s = TakePackets(false); !s) return s.error();
  }
  const Queued& q = queue_[queue_next_++];
  ++stats_.packets;
  stats_.payload_bytes += q.size;
  OggOpusPacket packet;
  packet.data = std::span<const uint8_t>(queue_bytes_.data() + q.begin, q.size);
  packet.end_granule_48k = q.end_granule_48k;
  packet.samples_48k = q.samples_48k;
  packet.valid_samples_48k = q.valid_samples_48k;
  packet.page_offset = page_offset_;
  return std::optional<OggOpusPacket>(packet);
}

// ---------------------------------------------------------------------------------------

Result<std::unique_ptr<OggOpusPcmReader>> OggOpusPcmReader::Open(const std::string& path) {
  auto reader = OggOpusReader::Open(path);
  if (!reader) return reader.error();
  return Open(std::move(reader).value());
}

Result<std::unique_ptr<OggOpusPcmReader>> OggOpusPcmReader::Open(
    std::unique_ptr<OggOpusReader> reader) {
  auto decoder = codec::OpusAudioDecoder::Create(kGranuleRateHz, reader->head().channels);
  if (!decoder) return Error{fmt::format("'{}': {}", reader->name(), decoder.error().message)};
  return std::unique_ptr<OggOpusPcmReader>(
      new OggOpusPcmReader(std::move(reader), std::move(decoder).value()));
}

OggOpusPcmReader::OggOpusPcmReader(std::unique_ptr<OggOpusReader> reader,
                                   std::unique_ptr<codec::OpusAudioDecoder> decoder)
    : reader_(std::move(reader)),
      decoder_(std::move(decoder)),
      buffer_(static_cast<size_t>(codec::kMaxPacketSamples48k * codec::kMaxChannels)) {
  gain_ = std::pow(10.0, reader_->head().output_gain_q8_db / (20.0 * 256.0));
}

OggOpusPcmReader::~OggOpusPcmReader() = default;

void OggOpusPcmReader::ApplyGain(std::span<int16_t> pcm) const {
  if (reader_->head().output_gain_q8_db == 0) return;
  for (int16_t& s : pcm) {
    s = static_cast<int16_t>(std::clamp(std::lround(s * gain_), -32768L, 32767L));
  }
}

Result<std::span<const int16_t>> OggOpusPcmReader::Read() {
  const int channels = reader_->head().channels;
  while (true) {
    int first = 0;  // first sample of buffer_ to hand out
    int count = 0;  // samples per channel in buffer_
    if (gap_left_48k_ > 0) {
      const int want = static_cast<int>(std::min<int64_t>(gap_left_48k_, kConcealStepSamples48k));
      const int rounded = (want + kConcealGranule48k - 1) / kConcealGranule48k * kConcealGranule48k;
      auto concealed = decoder_->Conceal(rounded, buffer_);
      if (!concealed) {
        return Error{fmt::format("'{}': cannot conceal a gap: {}", reader_->name(),
                                 concealed.error().message)};
      }
      count = want;
      gap_left_48k_ -= want;
      position_48k_ += want;
    } else if (pending_) {
      const OggOpusPacket& packet = *pending_;
      auto decoded = decoder_->Decode(packet.data, buffer_);
      if (!decoded) {
        return Error{fmt::format("'{}': cannot decode the packet on the page at offset {}: {}",
                                 reader_->name(), packet.page_offset, decoded.error().message)};
      }
      const int64_t begin = packet.begin_granule_48k();
      count = std::min(*decoded, packet.valid_samples_48k);
      // A packet overlapping audio already delivered (a granule step backwards) gives only
      // its new part.
      if (position_48k_ > begin)
        first = static_cast<int>(std::min<int64_t>(position_48k_ - begin, count));
      position_48k_ = std::max(position_48k_, packet.end_granule_48k);
      pending_.reset();
    } else {
      auto next = reader_->ReadPacket();
      if (!next) return next.error();
      if (!*next) return std::span<const int16_t>();
      const OggOpusPacket& packet = **next;
      if (position_48k_ < 0) {
        position_48k_ = packet.begin_granule_48k();
        skip_samples_ = reader_->head().pre_skip_samples_48k;
      } else if (packet.begin_granule_48k() > position_48k_) {
        const int64_t gap = packet.begin_granule_48k() - position_48k_;
        if (gap <= kMaxConcealedGapSamples48k) {
          gap_left_48k_ = gap;
        } else {
          position_48k_ = packet.begin_granule_48k();
        }
      }
      pending_ = packet;
      continue;
    }
    const int drop = static_cast<int>(std::min<int64_t>(skip_samples_, count - first));
    skip_samples_ -= drop;
    first += drop;
    if (count > first) {
      std::span<int16_t> out(buffer_.data() + static_cast<size_t>(first * channels),
                             static_cast<size_t>((count - first) * channels));
      ApplyGain(out);
      return std::span<const int16_t>(out);
    }
  }
}

Result<OggOpusInfo> InspectOggOpus(const std::string& path) {
  auto reader = OggOpusReader::Open(path);
  if (!reader) return reader.error();
  while (true) {
    auto packet = (*reader)->ReadPacket();
    if (!packet) return packet.error();
    if (!*packet) break;
  }
  OggOpusInfo info;
  info.head = (*reader)->head();
  info.tags = (*reader)->tags();
  info.stats = (*reader)->stats();
  info.duration_seconds = static_cast<double>((*reader)->duration_samples_48k()) / kGranuleRateHz;
  info.file_bytes = info.stats.bytes_read;
  if (info.duration_seconds > 0) {
    info.bitrate_bps = static_cast<double>(info.stats.payload_bytes) * 8 / info.duration_seconds;
  }
  return info;
}

}  // namespace parley::container
