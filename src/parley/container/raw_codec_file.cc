#include "parley/container/raw_codec_file.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include "parley/codec/codec2_codec.h"
#include "parley/codec/registry.h"

namespace parley::container {

using codec::CodecId;

Result<RawFraming> GetRawFraming(const RawStreamFormat& format) {
  if (format.codec == nullptr) return Error{"raw stream: no codec given"};
  switch (format.codec->id) {
    case CodecId::kPcmu:
    case CodecId::kPcma:
      return RawFraming{1, 1, 0};
    case CodecId::kG722:
      return RawFraming{1, 2, 0};
    case CodecId::kL16: {
      if (format.channels < 1 || format.channels > 2) {
        return Error{fmt::format("raw L16: channels {} not supported (1 or 2)", format.channels)};
      }
      return RawFraming{2 * static_cast<size_t>(format.channels), 1, 0};
    }
    case CodecId::kGsm:
      return RawFraming{33, 160, 0};
    case CodecId::kG729:
      return RawFraming{10, 80, 0};
    case CodecId::kCodec2: {
      const int bitrate =
          format.bitrate_bps > 0 ? format.bitrate_bps : format.codec->default_bitrate_bps;
      const codec::Codec2Mode* mode = codec::FindCodec2ModeByBitrate(bitrate);
      if (mode == nullptr) {
        return Error{fmt::format("raw Codec 2: no mode for {} bit/s", bitrate)};
      }
      return RawFraming{static_cast<size_t>(mode->frame_bytes), mode->frame_ms * 8,
                        codec::kCodec2FileHeaderBytes};
    }
    case CodecId::kOpus:
      break;
  }
  return Error{fmt::format("{} has no raw stream form (Opus is stored in Ogg, RFC 7845)",
                           format.codec->name)};
}

bool IsRawCodecExtension(std::string_view extension) {
  const codec::CodecInfo* info = codec::FindCodecByFileExtension(extension);
  return info != nullptr && info->id != CodecId::kOpus;
}

// --- Reader --------------------------------------------------------------------

RawCodecReader::RawCodecReader(std::string path, FILE* file, RawStreamFormat format,
                               RawFraming framing, uint64_t file_bytes)
    : path_(std::move(path)),
      format_(format),
      framing_(framing),
      file_(file),
      payload_bytes_(file_bytes - framing.header_bytes) {}

RawCodecReader::~RawCodecReader() { std::fclose(file_); }

Result<std::unique_ptr<RawCodecReader>> RawCodecReader::Open(const std::string& path,
                                                             RawStreamFormat format) {
  FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return Error{fmt::format("cannot open '{}': {}", path, std::strerror(errno))};
  }
  std::fseek(file, 0, SEEK_END);
  const long size = std::ftell(file);
  std::fseek(file, 0, SEEK_SET);
  if (size < 0) {
    std::fclose(file);
    return Error{fmt::format("cannot read '{}': not a regular file", path)};
  }
  if (format.codec != nullptr && format.codec->id == CodecId::kCodec2) {
    uint8_t header_bytes[codec::kCodec2FileHeaderBytes] = {};
    const size_t got = std::fread(header_bytes, 1, sizeof(header_bytes), file);
    auto header = codec::ParseCodec2FileHeader(std::span(header_bytes, got));
    if (!header) {
      std::fclose(file);
      return Error{fmt::format("'{}': {}", path, header.error().message)};
    }
    format.bitrate_bps = codec::FindCodec2ModeByNumber(header->mode)->bitrate_bps;
  }
  auto framing = GetRawFraming(format);
  if (!framing) {
    std::fclose(file);
    return framing.error();
  }
  std::unique_ptr<RawCodecReader> reader(
      new RawCodecReader(path, file, format, *framing, static_cast<uint64_t>(size)));
  reader->offset_ = framing->header_bytes;
  return reader;
}

double RawCodecReader::duration_seconds() const {
  const uint64_t units = payload_bytes_ / framing_.unit_bytes;
  const int rate = format_.codec->id == CodecId::kL16 && format_.sample_rate_hz > 0
                       ? format_.sample_rate_hz
                       : format_.codec->sample_rate_hz;
  return static_cast<double>(units) * framing_.unit_samples / rate;
}

Result<std::span<const uint8_t>> RawCodecReader::ReadPacket(int packet_ms) {
  const int rate = format_.codec->id == CodecId::kL16 && format_.sample_rate_hz > 0
                       ? format_.sample_rate_hz
                       : format_.codec->sample_rate_hz;
  const int packet_samples = rate / 1000 * packet_ms;
  const size_t units = std::max(1, packet_samples / framing_.unit_samples);
  buffer_.resize(units * framing_.unit_bytes);
  const size_t got = std::fread(buffer_.data(), 1, buffer_.size(), file_);
  if (got < buffer_.size() && std::ferror(file_)) {
    return Error{
        fmt::format("cannot read '{}' at offset {}: {}", path_, offset_, std::strerror(errno))};
  }
  const size_t whole = got - got % framing_.unit_bytes;
  if (whole == 0 && got > 0) {
    truncated_ = true;
    return Error{
        fmt::format("'{}' is truncated: {} bytes at offset {} do not make a whole "
                    "{}-byte {} frame",
                    path_, got, offset_, framing_.unit_bytes, format_.codec->name)};
  }
  if (whole < got) {
    // Deliver the complete units now; the next call reports the cut-off frame.
    std::fseek(file_, -static_cast<long>(got - whole), SEEK_CUR);
  }
  offset_ += whole;
  return std::span<const uint8_t>(buffer_.data(), whole);
}

// --- Writer --------------------------------------------------------------------

RawCodecWriter::RawCodecWriter(std::string path, FILE* file)
    : path_(std::move(path)), file_(file) {}

RawCodecWriter::~RawCodecWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

Result<std::unique_ptr<RawCodecWriter>> RawCodecWriter::Open(const std::string& path,
                                                             RawStreamFormat format) {
  auto framing = GetRawFraming(format);
  if (!framing) return framing.error();
  FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) {
    return Error{fmt::format("cannot create '{}': {}", path, std::strerror(errno))};
  }
  std::unique_ptr<RawCodecWriter> writer(new RawCodecWriter(path, file));
  if (format.codec->id == CodecId::kCodec2) {
    const int bitrate =
        format.bitrate_bps > 0 ? format.bitrate_bps : format.codec->default_bitrate_bps;
    auto header = codec::MakeCodec2FileHeader(bitrate);
    if (!header) return header.error();
    uint8_t bytes[codec::kCodec2FileHeaderBytes];
    auto size = codec::SerializeCodec2FileHeader(*header, bytes);
    if (!size) return size.error();
    if (Status s = writer->Write(std::span(bytes, *size)); !s) return s.error();
  }
  return writer;
}

Status RawCodecWriter::Write(std::span<const uint8_t> payload) {
  if (file_ == nullptr) return Error{fmt::format("'{}' is already closed", path_)};
  if (std::fwrite(payload.data(), 1, payload.size(), file_) != payload.size()) {
    return Error{fmt::format("cannot write '{}': {}", path_, std::strerror(errno))};
  }
  bytes_written_ += payload.size();
  return Status::Ok();
}

Status RawCodecWriter::Close() {
  if (file_ == nullptr) return Status::Ok();
  const bool flushed = std::fflush(file_) == 0;
  const int saved_errno = errno;
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!flushed || !closed) {
    return Error{
        fmt::format("cannot write '{}': {}", path_, std::strerror(flushed ? errno : saved_errno))};
  }
  return Status::Ok();
}

}  // namespace parley::container
