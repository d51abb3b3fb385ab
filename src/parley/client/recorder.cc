#include "parley/client/recorder.h"

#include <sndfile.h>

#include <algorithm>
#include <cctype>
#include <utility>

#include "parley/container/ogg_opus_writer.h"

namespace parley::client {
namespace {

std::string LowerExtension(const std::string& path) {
  const size_t dot = path.find_last_of('.');
  const size_t slash = path.find_last_of('/');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return {};
  std::string extension = path.substr(dot + 1);
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return extension;
}

bool IsRecordingRate(int rate_hz) {
  return rate_hz == 8000 || rate_hz == 12000 || rate_hz == 16000 || rate_hz == 24000 ||
         rate_hz == 48000;
}

}  // namespace

struct Recorder::Impl {
  // WAV, written with libsndfile directly: audio::WavWriter has no way to update the
  // header mid-file, which crash safety needs.
  SNDFILE* wav = nullptr;
  std::unique_ptr<container::OggOpusPcmWriter> ogg;

  ~Impl() {
    if (wav != nullptr) sf_close(wav);
  }
};

Result<RecordingFormat> Recorder::FormatForPath(const std::string& path) {
  const std::string extension = LowerExtension(path);
  if (extension == "wav") return RecordingFormat::kWav;
  if (extension == "opus" || extension == "ogg" || extension == "oga") {
    return RecordingFormat::kOggOpus;
  }
  return Error{path + ": cannot tell the recording format from the extension '" + extension +
               "' (use .wav, or .opus/.ogg/.oga for Ogg Opus)"};
}

Result<std::unique_ptr<Recorder>> Recorder::Open(const std::string& path, const Config& config) {
  auto format = FormatForPath(path);
  if (!format) return format.error();
  if (!IsRecordingRate(config.sample_rate_hz)) {
    return Error{path + ": recording rate " + std::to_string(config.sample_rate_hz) +
                 " Hz (expected 8000, 12000, 16000, 24000 or 48000)"};
  }
  if (*format == RecordingFormat::kOggOpus && config.sample_rate_hz != 48000) {
    // The Ogg Opus writer takes 48 kHz input, as Opus decoders output it.
    return Error{path + ": Ogg Opus recordings take 48000 Hz audio (got " +
                 std::to_string(config.sample_rate_hz) + " Hz)"};
  }
  if (config.flush_interval.count() <= 0) return Error{path + ": flush_interval must be > 0"};
  auto impl = std::make_unique<Impl>();
  if (*format == RecordingFormat::kWav) {
    SF_INFO info{};
    info.samplerate = config.sample_rate_hz;
    info.channels = 1;
    info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    impl->wav = sf_open(path.c_str(), SFM_WRITE, &info);
    if (impl->wav == nullptr) return Error{path + ": " + sf_strerror(nullptr)};
  } else {
    auto writer = container::OggOpusPcmWriter::Open(path, 1, config.sample_rate_hz, config.opus,
                                                    {"ENCODER=parley call recorder"});
    if (!writer) return writer.error();
    impl->ogg = std::move(writer).value();
  }
  return std::unique_ptr<Recorder>(new Recorder(path, *format, config, std::move(impl)));
}

Recorder::Recorder(std::string path, RecordingFormat format, const Config& config,
                   std::unique_ptr<Impl> impl)
    : path_(std::move(path)), format_(format), config_(config), impl_(std::move(impl)) {}

Recorder::~Recorder() {
  if (!closed_) (void)Close();
}

Status Recorder::Write(std::span<const int16_t> mono) {
  if (closed_) return Error{path_ + ": recording already closed"};
  if (mono.empty()) return Status::Ok();
  if (format_ == RecordingFormat::kOggOpus) {
    if (Status status = impl_->ogg->Write(mono); !status) return status;
    frames_written_ += static_cast<int64_t>(mono.size());
    return Status::Ok();
  }
  const sf_count_t written =
      sf_write_short(impl_->wav, mono.data(), static_cast<sf_count_t>(mono.size()));
  if (written != static_cast<sf_count_t>(mono.size())) {
    return Error{path_ + ": write failed at frame " + std::to_string(frames_written_ + written) +
                 ": " + sf_strerror(impl_->wav)};
  }
  frames_written_ += written;
  frames_since_flush_ += written;
  const int64_t flush_frames =
      int64_t{config_.sample_rate_hz} * config_.flush_interval.count() / 1000;
  if (frames_since_flush_ >= flush_frames) return Flush();
  return Status::Ok();
}

Status Recorder::Flush() {
  frames_since_flush_ = 0;
  ++flushes_;
  // Rewrites the RIFF and data sizes for what is written so far, then syncs to disk.
  sf_command(impl_->wav, SFC_UPDATE_HEADER_NOW, nullptr, 0);
  sf_write_sync(impl_->wav);
  if (sf_error(impl_->wav) != SF_ERR_NO_ERROR) {
    return Error{path_ + ": flush failed: " + sf_strerror(impl_->wav)};
  }
  return Status::Ok();
}

void Recorder::OnMix(std::span<const int16_t> block) {
  if (!status_) return;
  if (Status status = Write(block); !status) status_ = status;
}

Status Recorder::Close() {
  if (closed_) return Error{path_ + ": recording already closed"};
  closed_ = true;
  Status result = status_;
  if (format_ == RecordingFormat::kOggOpus) {
    Status status = impl_->ogg->Close();
    if (result && !status) result = status;
    return result;
  }
  const int error = sf_close(impl_->wav);
  impl_->wav = nullptr;
  if (result && error != 0) result = Error{path_ + ": close failed: " + sf_error_number(error)};
  return result;
}

}  // namespace parley::client
