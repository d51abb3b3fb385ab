// Audio files through libsndfile: read anything it reads (WAV, AIFF, FLAC, Ogg Vorbis,
// AU, CAF, ...) as int16, write 16-bit PCM WAV. Whole-file helpers for short files and
// streaming classes for long ones (so a tool can report progress).
//
// Errors never throw: they come back as an Error naming the path and libsndfile's reason
// ("in.wav: File contains data in an unknown format."), and for read errors the frame
// offset. Samples are converted as ToInt16() does: float files are taken as [-1, 1] and
// clipped beyond, 24/32-bit PCM is rounded to 16 bits.
//
// Threading: a reader or writer is used by one thread at a time.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "parley/audio/audio_frame.h"
#include "parley/base/result.h"

struct sf_private_tag;

namespace parley::audio {

// The whole file as interleaved int16 at its own rate and channel count.
[[nodiscard]] Result<AudioFrame> ReadAudioFile(const std::string& path);

// Writes `frame` as a 16-bit PCM WAV file, replacing `path`.
[[nodiscard]] Status WriteWavFile(const std::string& path, const AudioFrame& frame);

// Streaming reader. Move-only; the file closes when the reader is destroyed.
class AudioFileReader {
 public:
  [[nodiscard]] static Result<AudioFileReader> Open(const std::string& path);

  AudioFileReader(AudioFileReader&& other) noexcept;
  AudioFileReader& operator=(AudioFileReader&& other) noexcept;
  AudioFileReader(const AudioFileReader&) = delete;
  AudioFileReader& operator=(const AudioFileReader&) = delete;
  ~AudioFileReader();

  const AudioFormat& format() const { return format_; }
  // Frames (samples per channel) in the file, from its header.
  int64_t total_frames() const { return total_frames_; }
  // Frames returned by Read() so far: position / total_frames() is the progress.
  int64_t position_frames() const { return position_frames_; }
  const std::string& path() const { return path_; }
  // True when the header declares more audio than the file holds (a recording cut off
  // mid-write): Read() still delivers every whole frame present, and the caller decides
  // whether a cut-off file is acceptable. declared_data_bytes() is what the header
  // promised, present_data_bytes() what is there.
  bool truncated() const { return declared_data_bytes_ > present_data_bytes_; }
  int64_t declared_data_bytes() const { return declared_data_bytes_; }
  int64_t present_data_bytes() const { return present_data_bytes_; }

  // Reads up to out.size() / channels frames into `out` (interleaved); out.size() must be
  // a multiple of the channel count (std::invalid_argument otherwise). Returns the frames
  // read: fewer than asked only at the end of the file, 0 once it is reached. An Error
  // names the path and the frame offset.
  [[nodiscard]] Result<int64_t> Read(std::span<int16_t> out);

 private:
  AudioFileReader(std::string path, sf_private_tag* file, AudioFormat format, int64_t frames);

  // Passed by argument.
  std::string path_;
  // Allocated by this; null once moved from.
  sf_private_tag* file_ = nullptr;
  // Others.
  AudioFormat format_;
  int64_t total_frames_ = 0;
  int64_t position_frames_ = 0;
  int64_t declared_data_bytes_ = 0;
  int64_t present_data_bytes_ = 0;
  // Float buffer for libsndfile; grows to the largest Read() and stays.
  std::vector<float> scratch_;
};

// Streaming 16-bit PCM WAV writer. Move-only. Close() reports whether everything reached
// the disk; destruction closes too but cannot report.
class WavWriter {
 public:
  // Creates or truncates `path`.
  [[nodiscard]] static Result<WavWriter> Open(const std::string& path, AudioFormat format);

  WavWriter(WavWriter&& other) noexcept;
  WavWriter& operator=(WavWriter&& other) noexcept;
  WavWriter(const WavWriter&) = delete;
  WavWriter& operator=(const WavWriter&) = delete;
  ~WavWriter();

  const AudioFormat& format() const { return format_; }
  int64_t frames_written() const { return frames_written_; }
  const std::string& path() const { return path_; }

  // Appends interleaved samples; in.size() must be a multiple of the channel count
  // (std::invalid_argument otherwise). Error after Close() or on a write failure.
  [[nodiscard]] Status Write(std::span<const int16_t> in);
  // Finishes the header and closes the file. Closing twice is an Error.
  [[nodiscard]] Status Close();

 private:
  WavWriter(std::string path, sf_private_tag* file, AudioFormat format);

  // Passed by argument.
  std::string path_;
  // Allocated by this; null once closed or moved from.
  sf_private_tag* file_ = nullptr;
  // Others.
  AudioFormat format_;
  int64_t frames_written_ = 0;
};

}  // namespace parley::audio
