#include "parley/container/ogg_opus_writer.h"

#include <fmt/format.h>
#include <ogg/ogg.h>
#include <opus/opus.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "parley/codec/opus_codec.h"

namespace parley::container {
namespace {

constexpr int64_t kMaxPageSamples48k = kOggOpusGranuleRateHz * kMaxPageDuration.count() / 1000;
constexpr int kOpusHeadBytes = 19;

void PutLe16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v));
  out.push_back(static_cast<uint8_t>(v >> 8));
}
void PutLe32(std::vector<uint8_t>& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void PutBytes(std::vector<uint8_t>& out, std::string_view text) {
  out.insert(out.end(), text.begin(), text.end());
}

//  OpusHead (RFC 7845 5.1), little-endian:
//   0        8        9         10          12              16             18
//   +--------+--------+---------+-----------+---------------+--------------+---------+
//   |OpusHead|version |channels |pre-skip   |input rate (Hz)|output gain Q8|mapping  |
//   +--------+--------+---------+-----------+---------------+--------------+---------+
std::vector<uint8_t> OpusHead(const OggOpusWriterConfig& config) {
  std::vector<uint8_t> head;
  head.reserve(kOpusHeadBytes);
  PutBytes(head, "OpusHead");
  head.push_back(1);  // version
  head.push_back(static_cast<uint8_t>(config.channels));
  PutLe16(head, static_cast<uint16_t>(config.pre_skip_samples_48k));
  PutLe32(head, static_cast<uint32_t>(config.input_sample_rate_hz));
  PutLe16(head, 0);   // output gain
  head.push_back(0);  // channel mapping family 0: mono or stereo, no table
  return head;
}

// OpusTags (RFC 7845 5.2): magic, vendor string, comment count, comments; lengths LE32.
std::vector<uint8_t> OpusTags(const OggOpusWriterConfig& config) {
  std::vector<uint8_t> tags;
  PutBytes(tags, "OpusTags");
  const std::string vendor =
      config.vendor.empty() ? fmt::format("parley ({})", opus_get_version_string()) : config.vendor;
  PutLe32(tags, static_cast<uint32_t>(vendor.size()));
  PutBytes(tags, vendor);
  PutLe32(tags, static_cast<uint32_t>(config.comments.size()));
  for (const std::string& comment : config.comments) {
    PutLe32(tags, static_cast<uint32_t>(comment.size()));
    PutBytes(tags, comment);
  }
  return tags;
}

}  // namespace

struct OggOpusWriter::OggState {
  ogg_stream_state stream{};
  bool initialised = false;
  ~OggState() {
    if (initialised) ogg_stream_clear(&stream);
  }
};

Result<std::unique_ptr<OggOpusWriter>> OggOpusWriter::Open(const std::string& path,
                                                           OggOpusWriterConfig config) {
  if (config.channels != 1 && config.channels != 2) {
    return Error{
        fmt::format("'{}': Ogg Opus writer takes 1 or 2 channels, not {}", path, config.channels)};
  }
  if (config.pre_skip_samples_48k < 0 || config.pre_skip_samples_48k > 65535) {
    return Error{fmt::format("'{}': pre-skip {} outside 0..65535 samples", path,
                             config.pre_skip_samples_48k)};
  }
  if (config.input_sample_rate_hz < 0) {
    return Error{fmt::format("'{}': input sample rate {} Hz is negative", path,
                             config.input_sample_rate_hz)};
  }
  FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) {
    return Error{fmt::format("cannot create '{}': {}", path, std::strerror(errno))};
  }
  std::unique_ptr<OggOpusWriter> writer(new OggOpusWriter(path, file, std::move(config)));
  if (Status s = writer->WriteHeaders(); !s) return s.error();
  return writer;
}

OggOpusWriter::OggOpusWriter(std::string path, FILE* file, OggOpusWriterConfig config)
    : path_(std::move(path)),
      config_(std::move(config)),
      file_(file),
      ogg_(std::make_unique<OggState>()) {
  ogg_stream_init(&ogg_->stream, static_cast<int>(config_.serial));
  ogg_->initialised = true;
}

OggOpusWriter::~OggOpusWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

Status OggOpusWriter::WriteHeaders() {
  std::vector<uint8_t> head = OpusHead(config_);
  std::vector<uint8_t> tags = OpusTags(config_);
  ogg_packet packet{};
  packet.packet = head.data();
  packet.bytes = static_cast<long>(head.size());
  packet.b_o_s = 1;
  packet.granulepos = 0;
  packet.packetno = packet_number_++;
  ogg_stream_packetin(&ogg_->stream, &packet);
  if (Status s = WritePages(true); !s) return s;  // OpusHead alone on the first page
  packet = ogg_packet{};
  packet.packet = tags.data();
  packet.bytes = static_cast<long>(tags.size());
  packet.granulepos = 0;
  packet.packetno = packet_number_++;
  ogg_stream_packetin(&ogg_->stream, &packet);
  return WritePages(true);  // audio starts on a fresh page
}

Status OggOpusWriter::WritePacket(std::span<const uint8_t> packet, int samples_48k) {
  if (closed_) return Error{fmt::format("'{}': write after close", path_)};
  if (packet.empty()) {
    return Error{fmt::format("'{}': empty Opus packet (write a gap packet for DTX)", path_)};
  }
  if (samples_48k <= 0 || samples_48k > codec::kMaxPacketSamples48k) {
    return Error{fmt::format("'{}': packet of {} samples outside 1..{}", path_, samples_48k,
                             codec::kMaxPacketSamples48k)};
  }
  if (holding_) {
    if (Status s = SubmitHeld(submitted_granule_ + held_samples_48k_, false); !s) return s;
  }
  held_packet_.assign(packet.begin(), packet.end());
  held_samples_48k_ = samples_48k;
  holding_ = true;
  samples_48k_ += samples_48k;
  return Status::Ok();
}

Status OggOpusWriter::Flush() {
  if (closed_) return Error{fmt::format("'{}': flush after close", path_)};
  return WritePages(true);
}

Status OggOpusWriter::SubmitHeld(int64_t granule, bool end_of_stream) {
  ogg_packet packet{};
  packet.packet = held_packet_.data();
  packet.bytes = static_cast<long>(held_packet_.size());
  packet.e_o_s = end_of_stream ? 1 : 0;
  packet.granulepos = granule;
  packet.packetno = packet_number_++;
  if (ogg_stream_packetin(&ogg_->stream, &packet) != 0) {
    return Error{fmt::format("'{}': libogg refused packet {}", path_, packet_number_ - 1)};
  }
  submitted_granule_ += held_samples_48k_;
  holding_ = false;
  ++packets_;
  if (end_of_stream) return WritePages(true);
  if (Status s = WritePages(false); !s) return s;
  // Close the page once it holds a second of audio, so pages stay short and a cut-off
  // file loses at most that much.
  if (submitted_granule_ - last_page_granule_ >= kMaxPageSamples48k) return WritePages(true);
  return Status::Ok();
}

Status OggOpusWriter::WritePages(bool force) {
  ogg_page page;
  while (force ? ogg_stream_flush(&ogg_->stream, &page)
               : ogg_stream_pageout(&ogg_->stream, &page)) {
    if (Status s = WriteBytes(page.header, page.header_len); !s) return s;
    if (Status s = WriteBytes(page.body, page.body_len); !s) return s;
    ++pages_;
    const int64_t granule = ogg_page_granulepos(&page);
    if (granule > last_page_granule_) last_page_granule_ = granule;
  }
  if (std::fflush(file_) != 0) {
    return Error{fmt::format("'{}': write failed: {}", path_, std::strerror(errno))};
  }
  return Status::Ok();
}

Status OggOpusWriter::WriteBytes(const unsigned char* data, long size) {
  if (size > 0 &&
      std::fwrite(data, 1, static_cast<size_t>(size), file_) != static_cast<size_t>(size)) {
    return Error{
        fmt::format("'{}': write failed at offset {}: {}", path_, bytes_, std::strerror(errno))};
  }
  bytes_ += static_cast<uint64_t>(size);
  return Status::Ok();
}

Status OggOpusWriter::Close(int padding_samples_48k) {
  if (closed_) return Error{fmt::format("'{}': closed twice", path_)};
  closed_ = true;
  Status status;
  if (holding_) {
    if (padding_samples_48k < 0 || padding_samples_48k > held_samples_48k_) {
      status = Error{fmt::format("'{}': end padding {} outside 0..{} samples of the last packet",
                                 path_, padding_samples_48k, held_samples_48k_)};
      padding_samples_48k = 0;
    }
    samples_48k_ -= padding_samples_48k;
    Status s = SubmitHeld(submitted_granule_ + held_samples_48k_ - padding_samples_48k, true);
    if (status && !s) status = s;
  }
  const int closed = std::fclose(file_);
  file_ = nullptr;
  if (status && closed != 0) {
    status = Error{fmt::format("'{}': close failed: {}", path_, std::strerror(errno))};
  }
  return status;
}

Result<size_t> MakeOpusGapPacket(int samples_48k, int channels, std::span<uint8_t> out) {
  constexpr int k10Ms = 480;
  constexpr int k20Ms = 960;
  constexpr int kCeltFullband10MsConfig = 30;
  constexpr int kCeltFullband20MsConfig = 31;
  if (samples_48k <= 0 || samples_48k % k10Ms != 0 || samples_48k > codec::kMaxPacketSamples48k) {
    return Error{fmt::format("opus gap packet: {} samples is not a multiple of 10 ms up to 120 ms",
                             samples_48k)};
  }
  if (out.size() < 2) return Error{"opus gap packet: output buffer smaller than 2 bytes"};
  const bool twenty = samples_48k % k20Ms == 0;
  const int config = twenty ? kCeltFullband20MsConfig : kCeltFullband10MsConfig;
  const int frames = samples_48k / (twenty ? k20Ms : k10Ms);
  // TOC: config (5 bits) | stereo (1) | code 3 (2); then the frame count byte: CBR, no
  // padding, M frames sharing the zero bytes left.
  out[0] = static_cast<uint8_t>(config << 3 | (channels == 2 ? 1 : 0) << 2 | 3);
  out[1] = static_cast<uint8_t>(frames);
  return size_t{2};
}

OggOpusPcmWriter::OggOpusPcmWriter(std::unique_ptr<codec::OpusAudioEncoder> encoder,
                                   std::unique_ptr<OggOpusWriter> writer)
    : encoder_(std::move(encoder)),
      writer_(std::move(writer)),
      payload_(codec::OpusAudioEncoder::kMaxPayloadBytes) {
  pending_.reserve(static_cast<size_t>(encoder_->frame_samples() * encoder_->channels()));
}

OggOpusPcmWriter::~OggOpusPcmWriter() = default;

int OggOpusPcmWriter::channels() const { return encoder_->channels(); }

Result<std::unique_ptr<OggOpusPcmWriter>> OggOpusPcmWriter::Open(
    const std::string& path, int channels, int input_sample_rate_hz,
    const codec::EncoderConfig& encoder_config, std::vector<std::string> comments) {
  codec::EncoderConfig config = encoder_config;
  config.sample_rate_hz = kOggOpusGranuleRateHz;
  config.channels = channels;
  auto created = codec::CreateOpusEncoder(config);
  if (!created) return Error{fmt::format("'{}': {}", path, created.error().message)};
  std::unique_ptr<codec::OpusAudioEncoder> encoder(
      static_cast<codec::OpusAudioEncoder*>(created->release()));
  OggOpusWriterConfig writer_config;
  writer_config.channels = channels;
  writer_config.pre_skip_samples_48k = encoder->lookahead_samples();
  writer_config.input_sample_rate_hz = input_sample_rate_hz;
  writer_config.comments = std::move(comments);
  auto writer = OggOpusWriter::Open(path, std::move(writer_config));
  if (!writer) return writer.error();
  return std::unique_ptr<OggOpusPcmWriter>(
      new OggOpusPcmWriter(std::move(encoder), std::move(writer).value()));
}

Status OggOpusPcmWriter::Write(std::span<const int16_t> pcm_48k) {
  if (closed_) return Error{"ogg opus: write after close"};
  const size_t frame = static_cast<size_t>(encoder_->frame_samples() * encoder_->channels());
  input_samples_ += static_cast<int64_t>(pcm_48k.size());
  while (!pcm_48k.empty()) {
    const size_t take = std::min(frame - pending_.size(), pcm_48k.size());
    pending_.insert(pending_.end(), pcm_48k.begin(), pcm_48k.begin() + static_cast<long>(take));
    pcm_48k = pcm_48k.subspan(take);
    if (pending_.size() == frame) {
      if (Status s = EncodePending(); !s) return s;
    }
  }
  return Status::Ok();
}

Status OggOpusPcmWriter::Flush() {
  if (closed_) return Error{"ogg opus: flush after close"};
  return writer_->Flush();
}

Status OggOpusPcmWriter::EncodePending() {
  auto size = encoder_->Encode(pending_, payload_);
  pending_.clear();
  if (!size) return size.error();
  const int samples = encoder_->frame_samples();
  if (*size == 0) {
    // DTX: nothing to send on a network, but a file needs the time covered.
    size = MakeOpusGapPacket(samples, encoder_->channels(), payload_);
    if (!size) return size.error();
  }
  encoded_samples_ += samples;
  return writer_->WritePacket(std::span(payload_).first(*size), samples);
}

Status OggOpusPcmWriter::Close() {
  if (closed_) return Error{"ogg opus: closed twice"};
  closed_ = true;
  // The encoder holds back pre-skip samples of lookahead: keep feeding silence until the
  // packets cover pre-skip + every input sample, then trim the excess with the end granule.
  const int64_t target =
      input_samples_ / encoder_->channels() + writer_->config().pre_skip_samples_48k;
  const size_t frame = static_cast<size_t>(encoder_->frame_samples() * encoder_->channels());
  while (encoded_samples_ < target) {
    pending_.resize(frame, 0);
    if (Status s = EncodePending(); !s) {
      (void)writer_->Close();
      return s;
    }
  }
  return writer_->Close(static_cast<int>(encoded_samples_ - target));
}

}  // namespace parley::container
