// File-to-file transcoding: audio files (anything libsndfile reads; WAV written), Ogg Opus
// (.opus/.ogg/.oga, ogg_opus_reader.h / ogg_opus_writer.h) and raw codec streams
// (raw_codec_file.h), in any direction, with channel remixing and resampling in between.
//
// Ogg Opus input is decoded at 48 kHz with pre-skip and end trimming applied.
//
// Damaged input (a WAV or raw stream cut off mid-frame, Ogg pages with bad CRCs or a file
// cut off mid-page) fails the conversion with the first defect and its byte offset, unless
// accept_damaged_input is set: then what is readable is converted (Ogg gaps concealed)
// and every defect is listed in TranscodeSummary::warnings. A cut-off recording can so be
// recovered knowingly, never silently.
// Ogg Opus output keeps the input's channels (mono or stereo; more are downmixed) and
// records the input rate in OpusHead.
//
// The output appears only when the whole conversion succeeded: it is written to
// "<output>.partial" and renamed at the end, and the partial file is removed on any
// error, so a failed run never leaves a half-written file under the requested name.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "parley/base/result.h"
#include "parley/codec/codec.h"

namespace parley::container {

struct TranscodeOptions {
  std::string input_path;
  std::string output_path;       // extension picks the format: .wav, .opus or a raw stream
  std::string codec_name;        // optional; must agree with a raw output's extension
  codec::EncoderConfig encoder;  // bitrate, frame, complexity, FEC, DTX (channels/rate ignored)
  int raw_sample_rate_hz = 0;    // raw .l16 input or output: its rate (0: 16000)
  int raw_channels = 1;          // raw .l16 input or output: its channels
  bool accept_damaged_input = false;  // convert what is readable of a damaged input
};

struct TranscodeSummary {
  std::string input_description;   // "WAV 22050 Hz mono", "PCMU raw stream"
  std::string output_description;  // "G722 64000 bit/s, 20 ms packets"
  double duration_seconds = 0;     // audio converted
  uint64_t output_bytes = 0;
  int64_t packets = 0;                // codec packets written (0 for WAV output)
  double payload_bitrate_bps = 0;     // codec payload bytes * 8 / duration (0 for WAV output)
                                      // (Ogg Opus: file bytes, page overhead included)
  std::vector<std::string> warnings;  // input damage read around, one line each, with offsets
};

// Told how far the work has come, for progress bars.
class TranscodeListener {
 public:
  virtual ~TranscodeListener() = default;
  // Called once the input is open, before any conversion.
  virtual void OnStart(double total_seconds) = 0;
  // Media seconds converted so far.
  virtual void OnProgress(double done_seconds) = 0;
};

// Converts options.input_path to options.output_path. Errors are one line naming the
// file and, for truncated input, the byte offset.
[[nodiscard]] Result<TranscodeSummary> Transcode(const TranscodeOptions& options,
                                                 TranscodeListener* listener = nullptr);

}  // namespace parley::container
