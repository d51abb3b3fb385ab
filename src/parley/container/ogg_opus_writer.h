// Ogg Opus writer (RFC 7845) on libogg.
//
// File layout, as RFC 7845 section 3 requires:
//
//   page 0 (BOS)  OpusHead alone                  granule 0
//   page 1..      OpusTags (own page(s))           granule 0
//   pages         audio packets                    granule = samples decoded so far
//   last page     (EOS) last packet                granule = pre-skip + real samples
//
// Granule positions count 48 kHz samples per channel whatever the input rate was, as a
// decoder outputs them: the first pre-skip of them are the encoder's delay, so after the
// whole input they reach pre-skip + the input's length. The last
// page's granule position is the true end of the audio, so a decoder trims the padding
// the encoder added to fill the last packet (end trimming, RFC 7845 4.5).
//
// Robustness: a page is emitted at least every kMaxPageDuration of audio (RFC 7845
// recommends pages of at most about one second) and each page reaches the file at once
// (fflush), so a recording cut off by a killed process is readable up to its last complete
// page. The last packet is held back until the next one arrives or Close() is called,
// because only then is it known whether it ends the stream.
//
// Two writers: OggOpusWriter takes Opus packets already encoded (a relay records without
// transcoding); OggOpusPcmWriter encodes 48 kHz PCM with OpusAudioEncoder first.
//
// Threading: a writer is used by one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "parley/base/result.h"
#include "parley/codec/codec.h"

namespace parley::codec {
class OpusAudioEncoder;
}

namespace parley::container {

// A page is closed once it holds this much audio (RFC 7845 section 6: at most ~1 s).
inline constexpr std::chrono::milliseconds kMaxPageDuration{1000};
// Granule positions and pre-skip are in 48 kHz samples whatever the input rate.
inline constexpr int kOggOpusGranuleRateHz = 48000;

struct OggOpusWriterConfig {
  int channels = 1;                   // 1 or 2 (channel mapping family 0)
  int pre_skip_samples_48k = 312;     // encoder lookahead at 48 kHz (libopus: 312 = 6.5 ms)
  int input_sample_rate_hz = 48000;   // the rate of the original audio; informational
  uint32_t serial = 0x7061726c;       // Ogg stream serial number ("parl"); any value works
  std::string vendor;                 // empty: "parley (libopus x.y.z)"
  std::vector<std::string> comments;  // user comments, "KEY=value" (RFC 7845 5.2)
};

class OggOpusWriter {
 public:
  // Creates (truncates) `path` and writes OpusHead and OpusTags, each on its own page.
  [[nodiscard]] static Result<std::unique_ptr<OggOpusWriter>> Open(const std::string& path,
                                                                   OggOpusWriterConfig config);
  ~OggOpusWriter();
  OggOpusWriter(const OggOpusWriter&) = delete;
  OggOpusWriter& operator=(const OggOpusWriter&) = delete;

  // Appends one Opus packet that decodes to `samples_48k` samples per channel (a 20 ms
  // packet: 960). The packet must be at least one byte (a DTX gap is written as a packet
  // from MakeOpusGapPacket). Error after Close() or on a failed write.
  [[nodiscard]] Status WritePacket(std::span<const uint8_t> packet, int samples_48k);

  // Puts every packet handed to libogg so far on a page now, however short, and flushes
  // the file: a reader then sees all but the held-back last packet. For a recorder that
  // must stay readable within a bounded time whatever the pace of its audio (a speaker
  // who paused would otherwise leave the last words in an unfinished page). Nothing is
  // written when no packet waits for a page. Error after Close() or on a failed write.
  [[nodiscard]] Status Flush();

  // Writes the last packet on an end-of-stream page and closes the file. The last
  // `padding_samples_48k` samples of the last packet are padding (the encoder filled a
  // partial frame): the final granule position excludes them. Reports a failed write
  // that buffering had hidden. Closing twice is an Error.
  [[nodiscard]] Status Close(int padding_samples_48k = 0);

  const OggOpusWriterConfig& config() const { return config_; }
  int64_t packets_written() const { return packets_; }
  int64_t pages_written() const { return pages_; }
  // Bytes in the file so far (complete pages).
  uint64_t bytes_written() const { return bytes_; }
  // Samples per channel at 48 kHz in the packets written (end trimming applied once
  // closed): the granule position reached, pre-skip included.
  int64_t samples_written_48k() const { return samples_48k_; }

 private:
  OggOpusWriter(std::string path, FILE* file, OggOpusWriterConfig config);
  Status WriteHeaders();
  // Feeds the held-back packet to libogg with the given granule and end-of-stream flag.
  Status SubmitHeld(int64_t granule, bool end_of_stream);
  // Writes pages libogg has ready; with `force`, also the partial page.
  Status WritePages(bool force);
  Status WriteBytes(const unsigned char* data, long size);

  // Passed by argument.
  std::string path_;
  OggOpusWriterConfig config_;
  // Allocated by this.
  FILE* file_;
  struct OggState;
  std::unique_ptr<OggState> ogg_;
  std::vector<uint8_t> held_packet_;
  // Others.
  int held_samples_48k_ = 0;
  bool holding_ = false;
  int64_t samples_48k_ = 0;        // audio in packets handed to libogg and held
  int64_t last_page_granule_ = 0;  // granule of the last page written
  int64_t submitted_granule_ = 0;  // granule of the last packet handed to libogg
  int64_t packet_number_ = 0;
  int64_t packets_ = 0;
  int64_t pages_ = 0;
  uint64_t bytes_ = 0;
  bool closed_ = false;
};

// Encodes PCM with Opus and writes it as Ogg Opus. The pre-skip is the encoder's
// lookahead; a partial last frame is padded with silence and trimmed by the end granule.
class OggOpusPcmWriter {
 public:
  // `encoder`: Opus settings (bitrate, frame, complexity, FEC, DTX); its sample rate is
  // forced to 48 kHz and its channels to `channels`. `input_sample_rate_hz` is recorded in
  // OpusHead. Comments go to OpusTags.
  [[nodiscard]] static Result<std::unique_ptr<OggOpusPcmWriter>> Open(
      const std::string& path, int channels, int input_sample_rate_hz,
      const codec::EncoderConfig& encoder, std::vector<std::string> comments = {});
  ~OggOpusPcmWriter();
  OggOpusPcmWriter(const OggOpusPcmWriter&) = delete;
  OggOpusPcmWriter& operator=(const OggOpusPcmWriter&) = delete;

  // Appends interleaved 48 kHz PCM of any length (a multiple of the channel count).
  [[nodiscard]] Status Write(std::span<const int16_t> pcm_48k);
  // OggOpusWriter::Flush: the packets encoded so far reach the file (the PCM of a partial
  // frame waits for the rest of its frame).
  [[nodiscard]] Status Flush();
  // Encodes the partial last frame, writes the end-of-stream page and closes.
  [[nodiscard]] Status Close();

  const codec::OpusAudioEncoder& encoder() const { return *encoder_; }
  const OggOpusWriter& writer() const { return *writer_; }
  int channels() const;

 private:
  OggOpusPcmWriter(std::unique_ptr<codec::OpusAudioEncoder> encoder,
                   std::unique_ptr<OggOpusWriter> writer);
  Status EncodePending();

  // Allocated by this.
  std::unique_ptr<codec::OpusAudioEncoder> encoder_;
  std::unique_ptr<OggOpusWriter> writer_;
  std::vector<int16_t> pending_;
  std::vector<uint8_t> payload_;
  // Others.
  int64_t input_samples_ = 0;    // interleaved samples given to Write()
  int64_t encoded_samples_ = 0;  // samples per channel in packets written
  bool closed_ = false;
};

// Writes into `out` a valid Opus packet of `samples_48k` samples per channel whose frames
// are all empty (RFC 6716 3.2.5 code 3, zero-length frames): decoders conceal over it. For
// DTX periods and gaps in a recording. samples_48k: a multiple of 480 (10 ms), at most
// 5760 (120 ms). Returns the bytes written (2).
[[nodiscard]] Result<size_t> MakeOpusGapPacket(int samples_48k, int channels,
                                               std::span<uint8_t> out);

}  // namespace parley::container
