// Records what a participant hears (the mix of MediaReceiver) to a file, as the call goes.
//
//   .wav            16-bit PCM WAV, mono, at sample_rate_hz (48 kHz by default)
//   .opus .ogg .oga Ogg Opus (RFC 7845), mono, encoded with the `opus` settings
//
// Crash safety: a recording cut off by a killed process holds everything up to at most
// about one second before the end.
// - WAV: every flush_interval of audio the header's sizes are rewritten for the data so
//   far and the file is synced (libsndfile SFC_UPDATE_HEADER_NOW + sf_write_sync), so
//   any reader sees a well-formed file of that length.
// - Ogg Opus: the writer closes a page at least every second of audio and flushes each
//   (container/ogg_opus_writer.h); the last 20 ms packet waits for the next one.
// Close() finishes the file (final header, or the end-of-stream page with its end trim).
//
// Threading: one thread at a time. Not copyable.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "parley/base/result.h"
#include "parley/client/media_receiver.h"
#include "parley/codec/codec.h"

namespace parley::client {

enum class RecordingFormat { kWav, kOggOpus };

struct RecorderConfig {
  // Rate of the audio given to Write(): WAV 8000, 12000, 16000, 24000 or 48000 Hz; Ogg
  // Opus 48000 only. 48000: the mix's rate.
  int sample_rate_hz = 48000;
  // WAV: the longest stretch of audio between two header updates. 1 s. > 0.
  std::chrono::milliseconds flush_interval{1000};
  // Ogg Opus: the encoder, at 48 kHz mono. 64 kbit/s fullband, 20 ms: a mix of several
  // voices recorded close to what was heard (the "studio" rung of quality/profile.h).
  codec::EncoderConfig opus{.sample_rate_hz = 48000,
                            .channels = 1,
                            .frame_ms = 20,
                            .bitrate_bps = 64000,
                            .complexity = -1,
                            .fec = false,
                            .expected_loss_percent = 0,
                            .dtx = false};
};

class Recorder final : public MixSink {
 public:
  using Config = RecorderConfig;

  // The format for a file name: .wav, or .opus/.ogg/.oga (case-insensitive). Error for
  // any other extension, naming the ones accepted.
  [[nodiscard]] static Result<RecordingFormat> FormatForPath(const std::string& path);

  // Creates (truncates) `path`. Error: unknown extension, the file cannot be created, a
  // sample rate outside the list above, an encoder the Opus library refuses.
  [[nodiscard]] static Result<std::unique_ptr<Recorder>> Open(const std::string& path,
                                                              const Config& config = {});
  ~Recorder() override;  // closes when Close() was not called (errors are then lost)
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  // Appends mono samples at sample_rate_hz. Error after Close() or on a failed write.
  [[nodiscard]] Status Write(std::span<const int16_t> mono);
  // MixSink: Write(), keeping the first error for status() (the mix cannot wait).
  void OnMix(std::span<const int16_t> block) override;
  // Ok, or the first error OnMix met.
  [[nodiscard]] Status status() const { return status_; }

  // Finishes the file. Reports the first error met while recording, or the close's own.
  // Closing twice is an Error.
  [[nodiscard]] Status Close();

  RecordingFormat format() const { return format_; }
  const std::string& path() const { return path_; }
  int sample_rate_hz() const { return config_.sample_rate_hz; }
  // Samples written so far.
  int64_t frames_written() const { return frames_written_; }
  // Times the WAV header was rewritten and the file synced (0 for Ogg Opus).
  int64_t flushes() const { return flushes_; }

 private:
  struct Impl;
  Recorder(std::string path, RecordingFormat format, const Config& config,
           std::unique_ptr<Impl> impl);
  Status Flush();

  // Passed by argument.
  const std::string path_;
  const RecordingFormat format_;
  const Config config_;
  // Allocated by this.
  std::unique_ptr<Impl> impl_;
  // Others.
  Status status_;
  int64_t frames_written_ = 0;
  int64_t frames_since_flush_ = 0;
  int64_t flushes_ = 0;
  bool closed_ = false;
};

}  // namespace parley::client
