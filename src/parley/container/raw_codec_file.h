// Raw codec stream files: codec payloads back to back with no framing, as telephony
// tools and codec reference programs write them.
//
//   .ul  .al    G.711 mu-law / A-law, one byte per 8 kHz sample
//   .g722       G.722 at 64 kbit/s, one byte per two 16 kHz samples
//   .l16        linear 16-bit big-endian PCM (rate and channels are not in the file)
//   .gsm        GSM 06.10, 33-byte frames of 20 ms (as sox reads and writes them)
//   .g729       G.729, 10-byte frames of 10 ms (as bcg729's test vectors)
//   .c2         Codec 2: the 7-byte c2enc header naming the mode, then frames
//
// A file that ends inside a frame is reported as truncated with the byte offset of the
// incomplete frame; everything before it is still delivered first.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "parley/base/result.h"
#include "parley/codec/codec.h"

namespace parley::container {

// What a raw file holds. Only L16 needs rate and channels from outside; Codec 2 files
// carry their mode in the header (bitrate_bps is taken from it when reading).
struct RawStreamFormat {
  const codec::CodecInfo* codec = nullptr;
  int sample_rate_hz = 0;  // L16 only: 0 -> the registry default
  int channels = 1;        // L16 only
  int bitrate_bps = 0;     // Codec 2 mode when writing; 0 -> codec default
};

// The smallest independently decodable unit of a raw stream.
struct RawFraming {
  size_t unit_bytes;    // bytes in one unit (1 for G.711, 33 for GSM, ...)
  int unit_samples;     // samples per channel the unit decodes to
  size_t header_bytes;  // bytes before the first unit (.c2: 7)
};

// Framing of `format`; Error for a codec that has no raw stream form (Opus needs Ogg).
[[nodiscard]] Result<RawFraming> GetRawFraming(const RawStreamFormat& format);

// True when `extension` (without the dot) names a raw codec stream.
bool IsRawCodecExtension(std::string_view extension);

class RawCodecReader {
 public:
  // Opens `path` as a stream of `format`. For .c2 the header is read and checked here.
  [[nodiscard]] static Result<std::unique_ptr<RawCodecReader>> Open(const std::string& path,
                                                                    RawStreamFormat format);
  ~RawCodecReader();
  RawCodecReader(const RawCodecReader&) = delete;
  RawCodecReader& operator=(const RawCodecReader&) = delete;

  // The next payload covering about `packet_ms` of audio (whole units). An empty span at
  // the end of the file; an Error when the file ends inside a unit (truncated) or a read
  // fails. The span stays valid until the next call.
  [[nodiscard]] Result<std::span<const uint8_t>> ReadPacket(int packet_ms = 20);

  const RawStreamFormat& format() const { return format_; }
  const RawFraming& framing() const { return framing_; }
  // Payload bytes in the file (after any header) and the audio they hold.
  uint64_t payload_bytes() const { return payload_bytes_; }
  double duration_seconds() const;
  // Byte offset of the next read in the file.
  uint64_t offset() const { return offset_; }
  // True once ReadPacket() has met the end of the file inside a unit.
  bool truncated() const { return truncated_; }

 private:
  RawCodecReader(std::string path, FILE* file, RawStreamFormat format, RawFraming framing,
                 uint64_t file_bytes);

  // Passed by argument.
  std::string path_;
  RawStreamFormat format_;
  RawFraming framing_;
  // Allocated by this.
  FILE* file_;
  std::vector<uint8_t> buffer_;
  // Others.
  uint64_t payload_bytes_;
  uint64_t offset_ = 0;
  bool truncated_ = false;
};

class RawCodecWriter {
 public:
  // Creates (truncates) `path`; writes the .c2 header when the codec is Codec 2.
  [[nodiscard]] static Result<std::unique_ptr<RawCodecWriter>> Open(const std::string& path,
                                                                    RawStreamFormat format);
  ~RawCodecWriter();
  RawCodecWriter(const RawCodecWriter&) = delete;
  RawCodecWriter& operator=(const RawCodecWriter&) = delete;

  [[nodiscard]] Status Write(std::span<const uint8_t> payload);
  // Flushes and closes; reports a failed write (disk full) that buffering had hidden.
  [[nodiscard]] Status Close();
  uint64_t bytes_written() const { return bytes_written_; }

 private:
  RawCodecWriter(std::string path, FILE* file);

  std::string path_;
  FILE* file_;
  uint64_t bytes_written_ = 0;
};

}  // namespace parley::container
