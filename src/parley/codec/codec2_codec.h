// Codec 2 (David Rowe's low bit rate speech codec) through libcodec2.
//
// Audio: 8000 Hz mono. The bit rate selects the mode, and the mode fixes the native
// frame:
//
//   bit/s   mode (CODEC2_MODE_*)   native frame   bytes per frame
//   3200    0  "3200"              20 ms          8
//   2400    1  "2400"              20 ms          6
//   1600    2  "1600"              40 ms          8
//   1400    3  "1400"              40 ms          7
//   1300    4  "1300"              40 ms          7 (52 bits, last 4 padding)
//   1200    5  "1200"              40 ms          6
//    700    8  "700C"              40 ms          4 (28 bits, last 4 padding)
//
// A packet of frame_ms carries frame_ms / native frames back to back, so frame_ms must be
// a multiple of the mode's native frame (20..120 ms). SetBitrate() switches mode from the
// next packet (the codec state restarts).
//
// Nothing in a Codec 2 payload names its mode (3200 and 1600 frames are both 8 bytes), so
// the decoder is built for one mode: CreateCodec2Decoder() (the registry factory) decodes
// 3200 bit/s, CreateCodec2DecoderForMode() any other. Raw ".c2" files written by
// codec2's c2enc tool start with the 7-byte header below, which names the mode.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "parley/base/result.h"
#include "parley/codec/codec.h"

namespace parley::codec {

// One Codec 2 mode as parley carries it.
struct Codec2Mode {
  int bitrate_bps;        // nominal bit rate, 700..3200
  int mode;               // libcodec2's CODEC2_MODE_* number, as stored in .c2 headers
  std::string_view name;  // as c2enc spells it: "3200", ..., "700C"
  int frame_ms;           // native frame: 20 or 40
  int frame_bytes;        // bytes per native frame
};

// Every mode parley carries, highest bit rate first.
std::span<const Codec2Mode> Codec2Modes();
// The mode for a bit rate (3200, 2400, 1600, 1400, 1300, 1200, 700); nullptr otherwise.
const Codec2Mode* FindCodec2ModeByBitrate(int bitrate_bps);
// The mode for a CODEC2_MODE_* number (0..5, 8); nullptr otherwise.
const Codec2Mode* FindCodec2ModeByNumber(int mode);

// Registry factories. Encoder config: sample_rate_hz 0 or 8000, channels 1, bitrate_bps 0
// (3200) or one of the rates above, frame_ms 0 (40) or a multiple of the mode's native
// frame up to 120. Decoder config: sample_rate_hz 0 or 8000, channels 1; decodes 3200.
Result<std::unique_ptr<AudioEncoder>> CreateCodec2Encoder(const EncoderConfig& config);
Result<std::unique_ptr<AudioDecoder>> CreateCodec2Decoder(const DecoderConfig& config);
// A decoder for the mode of `bitrate_bps` (as for the encoder; 0 means 3200).
Result<std::unique_ptr<AudioDecoder>> CreateCodec2DecoderForMode(int bitrate_bps,
                                                                 const DecoderConfig& config = {});

// The header c2enc writes at the start of a ".c2" file (codec2 src/c2file.h):
//
//   offset  0    1    2    3              4              5     6
//          +----+----+----+--------------+--------------+-----+------+
//          | c0 | de | c2 | version major | version minor | mode | flags |
//          +----+----+----+--------------+--------------+-----+------+
//
// version: the libcodec2 version that wrote the file; mode: CODEC2_MODE_* number;
// flags: 0 (reserved). Codec 2 frames follow, back to back, with no other framing.
struct Codec2FileHeader {
  uint8_t version_major = 0;
  uint8_t version_minor = 0;
  uint8_t mode = 0;   // CODEC2_MODE_* number
  uint8_t flags = 0;  // reserved, 0
};

inline constexpr size_t kCodec2FileHeaderBytes = 7;
inline constexpr uint8_t kCodec2FileMagic[3] = {0xc0, 0xde, 0xc2};

// A header for `bitrate_bps`, stamped with the linked libcodec2's version (as c2enc does).
[[nodiscard]] Result<Codec2FileHeader> MakeCodec2FileHeader(int bitrate_bps);
// Parses the first kCodec2FileHeaderBytes of `bytes`. Fails, naming the offset, when the
// input is short, the magic is wrong or the mode is not one parley carries. Never throws.
[[nodiscard]] Result<Codec2FileHeader> ParseCodec2FileHeader(std::span<const uint8_t> bytes);
// Writes the header to the start of `out`; returns kCodec2FileHeaderBytes, or an Error
// when `out` is shorter.
[[nodiscard]] Result<size_t> SerializeCodec2FileHeader(const Codec2FileHeader& header,
                                                       std::span<uint8_t> out);

}  // namespace parley::codec
