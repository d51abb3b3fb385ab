#include "parley/audio/audio_file.h"

#include <fmt/format.h>
#include <sndfile.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <utility>
#include <vector>

namespace parley::audio {
namespace {

// Frames per Read() call in ReadAudioFile().
constexpr int64_t kReadChunkFrames = 4096;
// Upper bound on what a header's frame count may make us reserve up front (64 Mi samples,
// 128 MiB); a lying header then costs nothing, longer files just grow the buffer.
constexpr int64_t kMaxReserveSamples = int64_t{1} << 26;

void CheckWholeFrames(size_t samples, int channels, const char* what) {
  if (samples % static_cast<size_t>(channels) != 0) {
    throw std::invalid_argument(
        fmt::format("{}: {} samples is not a multiple of {} channels", what, samples, channels));
  }
}

// libsndfile reads a cut-off file without complaint, sizing it by what is present, and
// notes the mismatch in its log as "data : <declared> (should be <present>)".
std::pair<int64_t, int64_t> DataChunkSizes(SNDFILE* file) {
  char log[4096] = {};
  sf_command(file, SFC_GET_LOG_INFO, log, sizeof(log));
  long long declared = 0;
  long long present = 0;
  for (const char* line = log; line != nullptr && *line != '\0';) {
    if (std::sscanf(line, "data : %lld (should be %lld)", &declared, &present) == 2) {
      return {declared, present};
    }
    line = std::strchr(line, '\n');
    if (line != nullptr) ++line;
  }
  return {0, 0};
}

}  // namespace

Result<AudioFileReader> AudioFileReader::Open(const std::string& path) {
  SF_INFO info{};
  SNDFILE* file = sf_open(path.c_str(), SFM_READ, &info);
  if (file == nullptr) {
    return Error{fmt::format("{}: {}", path, sf_strerror(nullptr))};
  }
  if (info.channels <= 0 || info.samplerate <= 0) {
    sf_close(file);
    return Error{fmt::format("{}: invalid format ({} Hz, {} channels)", path, info.samplerate,
                             info.channels)};
  }
  const auto [declared, present] = DataChunkSizes(file);
  AudioFileReader reader(path, file, AudioFormat{info.samplerate, info.channels},
                         static_cast<int64_t>(info.frames));
  reader.declared_data_bytes_ = declared;
  reader.present_data_bytes_ = present;
  return reader;
}

AudioFileReader::AudioFileReader(std::string path, sf_private_tag* file, AudioFormat format,
                                 int64_t frames)
    : path_(std::move(path)), file_(file), format_(format), total_frames_(frames) {}

AudioFileReader::AudioFileReader(AudioFileReader&& other) noexcept
    : path_(std::move(other.path_)),
      file_(std::exchange(other.file_, nullptr)),
      format_(other.format_),
      total_frames_(other.total_frames_),
      position_frames_(other.position_frames_),
      declared_data_bytes_(other.declared_data_bytes_),
      present_data_bytes_(other.present_data_bytes_),
      scratch_(std::move(other.scratch_)) {}

AudioFileReader& AudioFileReader::operator=(AudioFileReader&& other) noexcept {
  if (this != &other) {
    if (file_ != nullptr) sf_close(file_);
    path_ = std::move(other.path_);
    file_ = std::exchange(other.file_, nullptr);
    format_ = other.format_;
    total_frames_ = other.total_frames_;
    position_frames_ = other.position_frames_;
    declared_data_bytes_ = other.declared_data_bytes_;
    present_data_bytes_ = other.present_data_bytes_;
    scratch_ = std::move(other.scratch_);
  }
  return *this;
}

AudioFileReader::~AudioFileReader() {
  if (file_ != nullptr) sf_close(file_);
}

Result<int64_t> AudioFileReader::Read(std::span<int16_t> out) {
  CheckWholeFrames(out.size(), format_.channels, "AudioFileReader::Read");
  if (file_ == nullptr) return Error{fmt::format("{}: reader is closed", path_)};
  const auto wanted = static_cast<sf_count_t>(out.size() / static_cast<size_t>(format_.channels));
  // Read as float and convert here: libsndfile normalizes integer formats to [-1, 1)
  // (so 16-bit data comes back exact) but its own float -> short path either does not
  // scale float files at all or scales them to their peak.
  scratch_.resize(out.size());
  const sf_count_t got = sf_readf_float(file_, scratch_.data(), wanted);
  ToInt16(std::span<const float>(scratch_).first(static_cast<size_t>(got) * format_.channels),
          out.first(static_cast<size_t>(got) * format_.channels));
  if (got < wanted && sf_error(file_) != SF_ERR_NO_ERROR) {
    return Error{fmt::format("{}: read error at frame {}: {}", path_, position_frames_ + got,
                             sf_strerror(file_))};
  }
  position_frames_ += got;
  return static_cast<int64_t>(got);
}

Result<AudioFrame> ReadAudioFile(const std::string& path) {
  auto reader = AudioFileReader::Open(path);
  if (!reader.ok()) return reader.error();
  const int channels = reader->format().channels;
  std::vector<int16_t> samples;
  samples.reserve(static_cast<size_t>(
      std::clamp<int64_t>(reader->total_frames() * channels, 0, kMaxReserveSamples)));
  std::vector<int16_t> chunk(static_cast<size_t>(kReadChunkFrames * channels));
  while (true) {
    auto got = reader->Read(chunk);
    if (!got.ok()) return got.error();
    if (*got == 0) break;
    samples.insert(samples.end(), chunk.begin(), chunk.begin() + *got * channels);
  }
  return AudioFrame(reader->format(), std::move(samples));
}

Result<WavWriter> WavWriter::Open(const std::string& path, AudioFormat format) {
  if (format.sample_rate_hz <= 0 || format.channels <= 0) {
    return Error{fmt::format("{}: cannot write {} Hz, {} channels", path, format.sample_rate_hz,
                             format.channels)};
  }
  SF_INFO info{};
  info.samplerate = format.sample_rate_hz;
  info.channels = format.channels;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  if (sf_format_check(&info) == SF_FALSE) {
    return Error{fmt::format("{}: libsndfile cannot write WAV at {} Hz, {} channels", path,
                             format.sample_rate_hz, format.channels)};
  }
  SNDFILE* file = sf_open(path.c_str(), SFM_WRITE, &info);
  if (file == nullptr) {
    return Error{fmt::format("{}: {}", path, sf_strerror(nullptr))};
  }
  return WavWriter(path, file, format);
}

WavWriter::WavWriter(std::string path, sf_private_tag* file, AudioFormat format)
    : path_(std::move(path)), file_(file), format_(format) {}

WavWriter::WavWriter(WavWriter&& other) noexcept
    : path_(std::move(other.path_)),
      file_(std::exchange(other.file_, nullptr)),
      format_(other.format_),
      frames_written_(other.frames_written_) {}

WavWriter& WavWriter::operator=(WavWriter&& other) noexcept {
  if (this != &other) {
    if (file_ != nullptr) sf_close(file_);
    path_ = std::move(other.path_);
    file_ = std::exchange(other.file_, nullptr);
    format_ = other.format_;
    frames_written_ = other.frames_written_;
  }
  return *this;
}

WavWriter::~WavWriter() {
  if (file_ != nullptr) sf_close(file_);
}

Status WavWriter::Write(std::span<const int16_t> in) {
  CheckWholeFrames(in.size(), format_.channels, "WavWriter::Write");
  if (file_ == nullptr) return Error{fmt::format("{}: writer is closed", path_)};
  const auto frames = static_cast<sf_count_t>(in.size() / static_cast<size_t>(format_.channels));
  const sf_count_t written = sf_writef_short(file_, in.data(), frames);
  frames_written_ += written;
  if (written != frames) {
    return Error{fmt::format("{}: write failed at frame {}: {}", path_, frames_written_,
                             sf_strerror(file_))};
  }
  return Status::Ok();
}

Status WavWriter::Close() {
  if (file_ == nullptr) return Error{fmt::format("{}: writer is already closed", path_)};
  const int err = sf_close(std::exchange(file_, nullptr));
  if (err != 0) return Error{fmt::format("{}: close failed: {}", path_, sf_error_number(err))};
  return Status::Ok();
}

Status WriteWavFile(const std::string& path, const AudioFrame& frame) {
  auto writer = WavWriter::Open(path, frame.format());
  if (!writer.ok()) return writer.error();
  if (Status status = writer->Write(frame.samples()); !status.ok()) return status;
  return writer->Close();
}

}  // namespace parley::audio
