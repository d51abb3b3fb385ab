#include "parley/container/transcoder.h"

#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <vector>

#include "parley/audio/audio_file.h"
#include "parley/audio/audio_frame.h"
#include "parley/audio/resampler.h"
#include "parley/codec/codec2_codec.h"
#include "parley/codec/opus_codec.h"
#include "parley/codec/registry.h"
#include "parley/container/ogg_opus_reader.h"
#include "parley/container/ogg_opus_writer.h"
#include "parley/container/raw_codec_file.h"

namespace parley::container {
namespace {

using audio::AudioFormat;

constexpr int kChunkMs = 20;

std::string Extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  if (!ext.empty()) ext.erase(0, 1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

bool IsOggExtension(const std::string& ext) {
  return ext == "opus" || ext == "ogg" || ext == "oga";
}

std::string ChannelsText(int channels) {
  return channels == 1 ? "mono" : channels == 2 ? "stereo" : fmt::format("{} ch", channels);
}

// Produces PCM in chunks; an empty chunk means the end.
class PcmSource {
 public:
  virtual ~PcmSource() = default;
  virtual AudioFormat format() const = 0;
  virtual double duration_seconds() const = 0;
  virtual std::string description() const = 0;
  virtual Result<std::span<const int16_t>> Read() = 0;
  // Damage read around (Ogg defects), once the end was reached.
  virtual std::vector<std::string> warnings() const { return {}; }
};

class AudioFileSource final : public PcmSource {
 public:
  explicit AudioFileSource(audio::AudioFileReader reader)
      : reader_(std::move(reader)),
        buffer_(static_cast<size_t>(reader_.format().sample_rate_hz / 1000 * kChunkMs *
                                    reader_.format().channels)) {}
  AudioFormat format() const override { return reader_.format(); }
  double duration_seconds() const override {
    return static_cast<double>(reader_.total_frames()) / reader_.format().sample_rate_hz;
  }
  std::string description() const override {
    return fmt::format("{} Hz {}", reader_.format().sample_rate_hz,
                       ChannelsText(reader_.format().channels));
  }
  Result<std::span<const int16_t>> Read() override {
    auto frames = reader_.Read(buffer_);
    if (!frames) return frames.error();
    return std::span<const int16_t>(buffer_.data(),
                                    static_cast<size_t>(*frames * reader_.format().channels));
  }
  std::vector<std::string> warnings() const override {
    if (!reader_.truncated()) return {};
    return {
        fmt::format("'{}' is truncated: its header declares {} bytes of audio, the file "
                    "holds {}",
                    reader_.path(), reader_.declared_data_bytes(), reader_.present_data_bytes())};
  }

 private:
  audio::AudioFileReader reader_;
  std::vector<int16_t> buffer_;
};

class RawDecodeSource final : public PcmSource {
 public:
  RawDecodeSource(std::unique_ptr<RawCodecReader> reader,
                  std::unique_ptr<codec::AudioDecoder> decoder)
      : reader_(std::move(reader)),
        decoder_(std::move(decoder)),
        buffer_(static_cast<size_t>(codec::kMaxPacketSamples48k * codec::kMaxChannels)) {}
  AudioFormat format() const override { return {decoder_->sample_rate_hz(), decoder_->channels()}; }
  double duration_seconds() const override { return reader_->duration_seconds(); }
  std::string description() const override {
    std::string text = fmt::format("{} raw stream", reader_->format().codec->name);
    if (reader_->format().codec->id == codec::CodecId::kCodec2) {
      text += fmt::format(" ({} bit/s)", reader_->format().bitrate_bps);
    }
    return text;
  }
  Result<std::span<const int16_t>> Read() override {
    auto payload = reader_->ReadPacket(kChunkMs);
    if (!payload) {
      if (!reader_->truncated()) return payload.error();
      truncation_ = payload.error().message;  // every whole frame before it was delivered
      return std::span<const int16_t>();
    }
    if (payload->empty()) return std::span<const int16_t>();
    auto samples = decoder_->Decode(*payload, buffer_);
    if (!samples) {
      return Error{fmt::format("cannot decode packet at offset {}: {}",
                               reader_->offset() - payload->size(), samples.error().message)};
    }
    return std::span<const int16_t>(buffer_.data(),
                                    static_cast<size_t>(*samples * decoder_->channels()));
  }
  std::vector<std::string> warnings() const override {
    if (truncation_.empty()) return {};
    return {truncation_};
  }

 private:
  std::string truncation_;
  std::unique_ptr<RawCodecReader> reader_;
  std::unique_ptr<codec::AudioDecoder> decoder_;
  std::vector<int16_t> buffer_;
};

// Ogg Opus decoded at 48 kHz: pre-skip and end trimming applied by OggOpusPcmReader.
class OggOpusSource final : public PcmSource {
 public:
  explicit OggOpusSource(std::unique_ptr<OggOpusPcmReader> reader) : reader_(std::move(reader)) {}
  AudioFormat format() const override { return {kOggOpusGranuleRateHz, reader_->channels()}; }
  double duration_seconds() const override { return 0; }  // known only once read
  std::string description() const override {
    const OpusHead& head = reader_->reader().head();
    std::string text = fmt::format("Ogg Opus {}", ChannelsText(head.channels));
    if (head.input_sample_rate_hz > 0)
      text += fmt::format(" (from {} Hz)", head.input_sample_rate_hz);
    return text;
  }
  Result<std::span<const int16_t>> Read() override { return reader_->Read(); }
  std::vector<std::string> warnings() const override {
    std::vector<std::string> lines;
    const OggOpusStats& stats = reader_->reader().stats();
    for (const OggDefect& defect : stats.defects) {
      lines.push_back(fmt::format("'{}': {}", reader_->reader().name(), defect.message));
    }
    if (stats.defect_count > static_cast<int64_t>(stats.defects.size())) {
      lines.push_back(fmt::format("'{}': {} more defects", reader_->reader().name(),
                                  stats.defect_count - static_cast<int64_t>(stats.defects.size())));
    }
    return lines;
  }

 private:
  std::unique_ptr<OggOpusPcmReader> reader_;
};

// Consumes PCM in its own format.
class PcmSink {
 public:
  virtual ~PcmSink() = default;
  virtual AudioFormat format() const = 0;
  virtual std::string description() const = 0;
  virtual Status Write(std::span<const int16_t> pcm) = 0;
  // Ends the stream (encoders pad the last packet with silence) and closes the file.
  virtual Status Finish() = 0;
  virtual uint64_t bytes() const = 0;
  virtual int64_t packets() const { return 0; }
};

class WavSink final : public PcmSink {
 public:
  explicit WavSink(audio::WavWriter writer) : writer_(std::move(writer)) {}
  AudioFormat format() const override { return writer_.format(); }
  std::string description() const override {
    return fmt::format("WAV {} Hz {}", writer_.format().sample_rate_hz,
                       ChannelsText(writer_.format().channels));
  }
  Status Write(std::span<const int16_t> pcm) override { return writer_.Write(pcm); }
  Status Finish() override { return writer_.Close(); }
  uint64_t bytes() const override {
    return static_cast<uint64_t>(writer_.frames_written()) * writer_.format().channels * 2 + 44;
  }

 private:
  audio::WavWriter writer_;
};

class EncodeSink final : public PcmSink {
 public:
  EncodeSink(std::unique_ptr<codec::AudioEncoder> encoder, std::unique_ptr<RawCodecWriter> writer)
      : encoder_(std::move(encoder)),
        writer_(std::move(writer)),
        payload_(encoder_->max_payload_bytes()) {
    pending_.reserve(static_cast<size_t>(encoder_->frame_samples() * encoder_->channels()));
  }
  AudioFormat format() const override { return {encoder_->sample_rate_hz(), encoder_->channels()}; }
  std::string description() const override {
    return fmt::format("{} {} bit/s, {} ms packets", encoder_->info().name, encoder_->bitrate_bps(),
                       encoder_->frame_ms());
  }
  Status Write(std::span<const int16_t> pcm) override {
    const size_t frame = static_cast<size_t>(encoder_->frame_samples() * encoder_->channels());
    while (!pcm.empty()) {
      const size_t take = std::min(frame - pending_.size(), pcm.size());
      pending_.insert(pending_.end(), pcm.begin(), pcm.begin() + static_cast<long>(take));
      pcm = pcm.subspan(take);
      if (pending_.size() == frame) {
        if (Status s = EncodePending(); !s) return s;
      }
    }
    return Status::Ok();
  }
  Status Finish() override {
    if (!pending_.empty()) {
      pending_.resize(static_cast<size_t>(encoder_->frame_samples() * encoder_->channels()), 0);
      if (Status s = EncodePending(); !s) return s;
    }
    return writer_->Close();
  }
  uint64_t bytes() const override { return writer_->bytes_written(); }
  int64_t packets() const override { return packets_; }

 private:
  Status EncodePending() {
    auto size = encoder_->Encode(pending_, payload_);
    pending_.clear();
    if (!size) return size.error();
    ++packets_;
    return writer_->Write(std::span(payload_).first(*size));
  }

  std::unique_ptr<codec::AudioEncoder> encoder_;
  std::unique_ptr<RawCodecWriter> writer_;
  std::vector<uint8_t> payload_;
  std::vector<int16_t> pending_;
  int64_t packets_ = 0;
};

RawStreamFormat RawFormatFor(const codec::CodecInfo* codec, const TranscodeOptions& options) {
  RawStreamFormat format;
  format.codec = codec;
  format.sample_rate_hz =
      options.raw_sample_rate_hz > 0 ? options.raw_sample_rate_hz : codec->sample_rate_hz;
  format.channels = codec->id == codec::CodecId::kL16 ? options.raw_channels : 1;
  format.bitrate_bps = options.encoder.bitrate_bps;
  return format;
}

// Encodes 48 kHz PCM into Ogg Opus; the writer pads and trims the last packet.
class OggOpusSink final : public PcmSink {
 public:
  explicit OggOpusSink(std::unique_ptr<OggOpusPcmWriter> writer) : writer_(std::move(writer)) {}
  AudioFormat format() const override { return {kOggOpusGranuleRateHz, writer_->channels()}; }
  std::string description() const override {
    return fmt::format("Ogg Opus {} bit/s, {} ms packets", writer_->encoder().bitrate_bps(),
                       writer_->encoder().frame_ms());
  }
  Status Write(std::span<const int16_t> pcm) override { return writer_->Write(pcm); }
  Status Finish() override { return writer_->Close(); }
  uint64_t bytes() const override { return writer_->writer().bytes_written(); }
  int64_t packets() const override { return writer_->writer().packets_written(); }

 private:
  std::unique_ptr<OggOpusPcmWriter> writer_;
};

const char* kSupported =
    ".wav (or any file libsndfile reads, as input), .opus/.ogg (Ogg Opus), .ul .al "
    ".g722 .l16 .gsm .g729 .c2";

Result<std::unique_ptr<PcmSource>> OpenSource(const TranscodeOptions& options) {
  const std::string ext = Extension(options.input_path);
  if (IsRawCodecExtension(ext)) {
    const codec::CodecInfo* codec = codec::FindCodecByFileExtension(ext);
    auto reader = RawCodecReader::Open(options.input_path, RawFormatFor(codec, options));
    if (!reader) return reader.error();
    const RawStreamFormat& format = (*reader)->format();
    codec::DecoderConfig config;
    config.sample_rate_hz = codec->id == codec::CodecId::kL16 ? format.sample_rate_hz : 0;
    config.channels = format.channels;
    auto decoder = codec->id == codec::CodecId::kCodec2
                       ? codec::CreateCodec2DecoderForMode(format.bitrate_bps, config)
                       : codec::CreateDecoder(*codec, config);
    if (!decoder) return decoder.error();
    return std::unique_ptr<PcmSource>(
        std::make_unique<RawDecodeSource>(std::move(reader).value(), std::move(decoder).value()));
  }
  if (IsOggExtension(ext)) {
    auto reader = OggOpusPcmReader::Open(options.input_path);
    if (!reader) return reader.error();
    return std::unique_ptr<PcmSource>(std::make_unique<OggOpusSource>(std::move(reader).value()));
  }
  auto reader = audio::AudioFileReader::Open(options.input_path);
  if (!reader) return reader.error();
  return std::unique_ptr<PcmSource>(std::make_unique<AudioFileSource>(std::move(reader).value()));
}

Result<std::unique_ptr<PcmSink>> OpenSink(const TranscodeOptions& options, const std::string& path,
                                          AudioFormat input) {
  const std::string ext = Extension(options.output_path);
  const codec::CodecInfo* named = nullptr;
  if (!options.codec_name.empty()) {
    named = codec::FindCodecByName(options.codec_name);
    if (named == nullptr) {
      return Error{fmt::format("unknown codec '{}' (see 'parley codecs')", options.codec_name)};
    }
  }
  if (ext == "wav") {
    if (named != nullptr) {
      return Error{fmt::format("--codec {} needs a raw stream output (.{}), not .wav", named->name,
                               named->file_extension)};
    }
    auto writer = audio::WavWriter::Open(path, input);
    if (!writer) return writer.error();
    return std::unique_ptr<PcmSink>(std::make_unique<WavSink>(std::move(writer).value()));
  }
  if (IsOggExtension(ext)) {
    if (named != nullptr && named->id != codec::CodecId::kOpus) {
      return Error{fmt::format("--codec {} does not match the output extension .{} (Ogg Opus)",
                               named->name, ext)};
    }
    auto writer = OggOpusPcmWriter::Open(path, std::min(input.channels, codec::kMaxChannels),
                                         input.sample_rate_hz, options.encoder);
    if (!writer) return writer.error();
    return std::unique_ptr<PcmSink>(std::make_unique<OggOpusSink>(std::move(writer).value()));
  }
  if (!IsRawCodecExtension(ext)) {
    if (named && named->id == codec::CodecId::kOpus) {
      return Error{fmt::format("--codec opus needs an Ogg Opus output (.opus), not .{}", ext)};
    }
    return Error{fmt::format("'{}': unsupported output format '.{}' (supported: {})",
                             options.output_path, ext, kSupported)};
  }
  const codec::CodecInfo* codec = codec::FindCodecByFileExtension(ext);
  if (named != nullptr && named != codec) {
    return Error{fmt::format("--codec {} does not match the output extension .{} ({})", named->name,
                             ext, codec->name)};
  }
  codec::EncoderConfig config = options.encoder;
  const RawStreamFormat raw = RawFormatFor(codec, options);
  config.channels = raw.channels;
  config.sample_rate_hz = codec->id == codec::CodecId::kL16 ? raw.sample_rate_hz : 0;
  auto encoder = codec::CreateEncoder(*codec, config);
  if (!encoder) return encoder.error();
  auto writer = RawCodecWriter::Open(path, raw);
  if (!writer) return writer.error();
  return std::unique_ptr<PcmSink>(
      std::make_unique<EncodeSink>(std::move(encoder).value(), std::move(writer).value()));
}

// Converts channel count and rate between source and sink, chunk by chunk.
class FormatConverter {
 public:
  static Result<FormatConverter> Create(AudioFormat in, AudioFormat out) {
    FormatConverter converter(in, out);
    if (in.sample_rate_hz != out.sample_rate_hz) {
      auto resampler = audio::Resampler::Create(in.sample_rate_hz, out.sample_rate_hz, out.channels,
                                                audio::Resampler::kDefaultQuality,
                                                audio::Resampler::Alignment::kAligned);
      if (!resampler) return resampler.error();
      converter.resampler_ = std::move(resampler).value();
    }
    return converter;
  }

  // Returns the converted chunk (valid until the next call).
  std::span<const int16_t> Convert(std::span<const int16_t> in) {
    std::span<const int16_t> remixed = Remix(in);
    if (!resampler_) return remixed;
    resampled_.clear();
    resampler_->Process(remixed, resampled_);
    return resampled_;
  }
  std::span<const int16_t> Flush() {
    resampled_.clear();
    if (resampler_) resampler_->Flush(resampled_);
    return resampled_;
  }

 private:
  FormatConverter(AudioFormat in, AudioFormat out) : in_(in), out_(out) {}

  std::span<const int16_t> Remix(std::span<const int16_t> in) {
    if (in_.channels == out_.channels) return in;
    const size_t frames = in.size() / static_cast<size_t>(in_.channels);
    mono_.resize(frames);
    audio::DownmixToMono(in, in_.channels, mono_);
    if (out_.channels == 1) return mono_;
    remixed_.resize(frames * static_cast<size_t>(out_.channels));
    audio::UpmixFromMono(mono_, out_.channels, remixed_);
    return remixed_;
  }

  AudioFormat in_;
  AudioFormat out_;
  std::unique_ptr<audio::Resampler> resampler_;
  std::vector<int16_t> mono_;
  std::vector<int16_t> remixed_;
  std::vector<int16_t> resampled_;
};

// An error about the input names the input file: readers put the path in their messages,
// decoders and decoder settings (a raw stream's rate) do not.
Error AboutInput(const TranscodeOptions& options, const Error& error) {
  if (error.message.find(options.input_path) != std::string::npos) return error;
  return Error{fmt::format("'{}': {}", options.input_path, error.message)};
}

Result<TranscodeSummary> Run(const TranscodeOptions& options, const std::string& partial_path,
                             TranscodeListener* listener) {
  auto source = OpenSource(options);
  if (!source) return AboutInput(options, source.error());
  auto sink = OpenSink(options, partial_path, (*source)->format());
  if (!sink) return sink.error();
  auto converter = FormatConverter::Create((*source)->format(), (*sink)->format());
  if (!converter) return AboutInput(options, converter.error());

  const double total = (*source)->duration_seconds();
  if (listener) listener->OnStart(total);
  const double input_rate = (*source)->format().sample_rate_hz;
  const int input_channels = (*source)->format().channels;
  int64_t input_frames = 0;
  while (true) {
    auto chunk = (*source)->Read();
    if (!chunk) return AboutInput(options, chunk.error());
    if (chunk->empty()) break;
    input_frames += static_cast<int64_t>(chunk->size()) / input_channels;
    if (Status s = (*sink)->Write(converter->Convert(*chunk)); !s) return s.error();
    if (listener) listener->OnProgress(static_cast<double>(input_frames) / input_rate);
  }
  // Damage is known once the input has been read through. Unless the caller accepts it,
  // a damaged input fails the conversion (and no output appears).
  std::vector<std::string> warnings = (*source)->warnings();
  if (!warnings.empty() && !options.accept_damaged_input) {
    std::string message = warnings.front();
    if (warnings.size() > 1) {
      message += fmt::format(" (and {} more defect{})", warnings.size() - 1,
                             warnings.size() > 2 ? "s" : "");
    }
    return AboutInput(options, Error{message + "; --accept-damaged converts what is readable"});
  }
  if (Status s = (*sink)->Write(converter->Flush()); !s) return s.error();
  if (Status s = (*sink)->Finish(); !s) return s.error();

  TranscodeSummary summary;
  summary.input_description = (*source)->description();
  summary.output_description = (*sink)->description();
  summary.duration_seconds = static_cast<double>(input_frames) / input_rate;
  summary.output_bytes = (*sink)->bytes();
  summary.packets = (*sink)->packets();
  summary.warnings = std::move(warnings);
  if (summary.packets > 0 && summary.duration_seconds > 0) {
    summary.payload_bitrate_bps =
        static_cast<double>(summary.output_bytes) * 8 / summary.duration_seconds;
  }
  return summary;
}

}  // namespace

Result<TranscodeSummary> Transcode(const TranscodeOptions& options, TranscodeListener* listener) {
  if (options.input_path == options.output_path) {
    return Error{fmt::format("'{}': input and output are the same file", options.input_path)};
  }
  const std::string partial = options.output_path + ".partial";
  auto summary = Run(options, partial, listener);
  std::error_code ec;
  if (!summary) {
    std::filesystem::remove(partial, ec);
    return summary.error();
  }
  std::filesystem::rename(partial, options.output_path, ec);
  if (ec) {
    std::filesystem::remove(partial, ec);
    return Error{fmt::format("cannot create '{}': {}", options.output_path, ec.message())};
  }
  return summary;
}

}  // namespace parley::container
