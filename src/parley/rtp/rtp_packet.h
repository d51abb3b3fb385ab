// RTP packets (RFC 3550 §5.1): a view that parses a packet in place, without copying the
// payload, and a writer that assembles one into a caller-provided buffer. Header
// extensions in both RFC 8285 forms, and the client-to-mixer audio level (RFC 6464).
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |V=2|P|X|  CC   |M|     PT      |       sequence number         |  0
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                           timestamp                           |  4
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |           synchronization source (SSRC) identifier            |  8
//   +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
//   |       contributing source (CSRC) identifiers (CC of them)     | 12
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |   profile (0xBEDE / 0x100X)   |   length (32-bit words)       | if X
//   |                 extension data (length words)                 |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                            payload                            |
//   |                               +-------------------------------+
//   |                               | padding ...   | padding count | if P
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// RFC 8285 elements inside the extension data, padded with zero bytes between elements
// and at the end:
//
//   one-byte (profile 0xBEDE)        two-byte (profile 0x100X, X: 4 application bits)
//   +-+-+-+-+-+-+-+-+--------+        +---------------+---------------+--------+
//   |  ID   |  L    | L+1 B  |        |      ID       |    length     | length |
//   +-+-+-+-+-+-+-+-+--------+        +---------------+---------------+--------+
//   ID 1..14, 1..16 data bytes;        ID 1..255, 0..255 data bytes;
//   ID 0 (L 0) is one byte of          ID 0 is one byte of padding.
//   padding; ID 15 ends parsing.
//
// Threading: a view is a value over bytes it does not own; it is valid while they are.
// Parsing never throws; a packet is either fully valid or rejected with an Error that
// names the field and the byte offset.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "parley/base/result.h"

namespace parley::rtp {

inline constexpr int kRtpVersion = 2;
inline constexpr size_t kRtpFixedHeaderBytes = 12;
inline constexpr size_t kMaxCsrcs = 15;
inline constexpr uint8_t kMaxPayloadType = 127;

inline constexpr uint16_t kOneByteExtensionProfile = 0xBEDE;
// 0x1000..0x100F: the low 4 bits are "appbits", free for the application.
inline constexpr uint16_t kTwoByteExtensionProfile = 0x1000;
inline constexpr uint16_t kTwoByteExtensionProfileMask = 0xFFF0;
inline constexpr int kOneByteExtensionMaxId = 14;
inline constexpr int kOneByteExtensionStopId = 15;
inline constexpr size_t kOneByteExtensionMaxBytes = 16;
inline constexpr int kTwoByteExtensionMaxId = 255;
inline constexpr size_t kTwoByteExtensionMaxBytes = 255;

enum class ExtensionForm { kOneByte, kTwoByte };

// One RFC 8285 element: its local id and its value bytes.
struct HeaderExtension {
  int id = 0;
  std::span<const uint8_t> data;
};

// The form a profile field announces; nullopt for any other profile (not RFC 8285).
std::optional<ExtensionForm> ExtensionFormOfProfile(uint16_t profile);

// The elements of an RFC 8285 extension block (the bytes after the 4-byte profile/length
// word), in wire order, padding skipped. Iteration stops at the end, at a one-byte ID 15,
// or at anything malformed; ValidateHeaderExtensions() says whether the block is clean.
class HeaderExtensionRange {
 public:
  class Iterator {
   public:
    const HeaderExtension& operator*() const { return current_; }
    const HeaderExtension* operator->() const { return &current_; }
    Iterator& operator++() {
      Advance();
      return *this;
    }
    bool operator==(const Iterator& other) const { return offset_ == other.offset_; }

   private:
    friend class HeaderExtensionRange;
    Iterator(ExtensionForm form, std::span<const uint8_t> block, size_t offset);
    void Advance();

    ExtensionForm form_;
    std::span<const uint8_t> block_;
    size_t offset_;  // of the next element; block_.size() + 1 at the end
    HeaderExtension current_;
  };

  HeaderExtensionRange() = default;
  HeaderExtensionRange(ExtensionForm form, std::span<const uint8_t> block)
      : form_(form), block_(block) {}
  Iterator begin() const;
  Iterator end() const;
  bool empty() const { return begin() == end(); }

 private:
  ExtensionForm form_ = ExtensionForm::kOneByte;
  std::span<const uint8_t> block_;
};

// Ok when every element of `block` lies inside it. `base_offset` is the block's offset in
// the packet, for the error message ("extension id 3 length 4 at offset 17 > block end 20").
// A one-byte ID 15, or an ID 0 with a non-zero length, ends the block (RFC 8285 §4.2):
// what follows is ignored, not an error.
[[nodiscard]] Status ValidateHeaderExtensions(ExtensionForm form, std::span<const uint8_t> block,
                                              size_t base_offset = 0);

// Bytes WriteHeaderExtensionBlock() writes: 4-byte header + elements, padded to 4 bytes.
size_t HeaderExtensionBlockSize(ExtensionForm form, std::span<const HeaderExtension> elements);
// The one-byte form when every element fits it (ID 1..14, 1..16 bytes), else two-byte.
ExtensionForm SmallestExtensionForm(std::span<const HeaderExtension> elements);
// Writes the profile/length word, the elements and zero padding to a 4-byte boundary.
// Returns the bytes written; Error when an element does not fit the form (one-byte: ID
// 1..14, 1..16 bytes; two-byte: ID 1..255, 0..255 bytes) or `out` is too small.
// `two_byte_appbits` (0..15) goes in the low bits of the 0x100X profile.
[[nodiscard]] Result<size_t> WriteHeaderExtensionBlock(ExtensionForm form,
                                                       std::span<const HeaderExtension> elements,
                                                       std::span<uint8_t> out,
                                                       uint8_t two_byte_appbits = 0);

// A parsed RTP packet: accessors read the caller's bytes; nothing is copied.
class RtpPacketView {
 public:
  // An empty packet: every field 0, no CSRC, extension, padding or payload; packet() is a
  // 12-byte header of zeros. (Its accessors read that header, never out of bounds.)
  RtpPacketView() = default;

  bool marker() const { return (packet_[1] & 0x80) != 0; }
  uint8_t payload_type() const { return packet_[1] & 0x7F; }
  uint16_t sequence_number() const;
  uint32_t timestamp() const;  // RTP clock units
  uint32_t ssrc() const;
  size_t csrc_count() const { return packet_[0] & 0x0F; }
  // Precondition: index < csrc_count().
  uint32_t csrc(size_t index) const;

  bool has_padding() const { return (packet_[0] & 0x20) != 0; }
  // Padding bytes at the end of the packet, the count byte included (0 without P).
  size_t padding_bytes() const { return padding_bytes_; }

  bool has_extension() const { return (packet_[0] & 0x10) != 0; }
  // Profile-defined 16 bits of the extension header (0 without X).
  uint16_t extension_profile() const { return extension_profile_; }
  // The extension data after the profile/length word (empty without X).
  std::span<const uint8_t> extension_data() const {
    return packet_.subspan(extension_offset_, extension_bytes_);
  }
  // RFC 8285 form of the extension; nullopt without X or for another profile.
  std::optional<ExtensionForm> extension_form() const;
  // The RFC 8285 elements (empty without them). Validated by ParseRtpPacket().
  HeaderExtensionRange extensions() const;
  // The first element with `id`; nullopt when absent.
  std::optional<std::span<const uint8_t>> FindExtension(int id) const;

  // Bytes before the payload: 12 + 4 * CC + extension.
  size_t header_bytes() const { return header_bytes_; }
  std::span<const uint8_t> payload() const {
    return packet_.subspan(header_bytes_, packet_.size() - header_bytes_ - padding_bytes_);
  }
  // The whole packet as given to ParseRtpPacket().
  std::span<const uint8_t> packet() const { return packet_; }

 private:
  friend Result<RtpPacketView> ParseRtpPacket(std::span<const uint8_t> packet);

  static constexpr std::array<uint8_t, 12> kEmptyHeader{};

  std::span<const uint8_t> packet_ = kEmptyHeader;
  size_t header_bytes_ = kEmptyHeader.size();
  size_t padding_bytes_ = 0;
  size_t extension_offset_ = 0;
  size_t extension_bytes_ = 0;
  uint16_t extension_profile_ = 0;
};

// Parses `packet` (one UDP payload). Checks: at least 12 bytes, version 2, CSRC list and
// extension inside the packet, RFC 8285 elements inside their block, padding count
// 1..(bytes after the header). The view refers to `packet`'s bytes.
[[nodiscard]] Result<RtpPacketView> ParseRtpPacket(std::span<const uint8_t> packet);

// The header fields and extensions a writer puts on the wire; spans are the caller's.
struct RtpPacketFields {
  bool marker = false;
  uint8_t payload_type = 0;  // 0..127
  uint16_t sequence_number = 0;
  uint32_t timestamp = 0;  // RTP clock units
  uint32_t ssrc = 0;
  std::span<const uint32_t> csrcs;  // 0..15 of them
  // RFC 8285 elements (sets X when not empty), written in `extension_form`.
  std::span<const HeaderExtension> extensions;
  ExtensionForm extension_form = ExtensionForm::kOneByte;
  uint8_t two_byte_appbits = 0;  // 0..15, low bits of the 0x100X profile
  // Any other extension written verbatim, when `extensions` is empty: profile and data
  // (a multiple of 4 bytes, at most 65535 words).
  std::optional<uint16_t> raw_extension_profile;
  std::span<const uint8_t> raw_extension_data;
  // 0: no padding. 1..255: bytes appended after the payload (zeros, the last one holds
  // the count) and P set, e.g. to fill an SRTP block or hide the payload size.
  uint8_t padding_bytes = 0;
};

// Bytes WriteRtpHeader() writes for `fields` (fixed header, CSRCs, extension).
size_t RtpHeaderSize(const RtpPacketFields& fields);
// Bytes WriteRtpPacket() writes: header + payload + padding.
size_t RtpPacketSize(const RtpPacketFields& fields, size_t payload_bytes);

// Writes the header (everything before the payload) to the start of `out` and returns its
// size. A caller that encodes the payload in place writes it at that offset. Error for
// an out-of-range field or when `out` is too small; `out` is then unspecified.
[[nodiscard]] Result<size_t> WriteRtpHeader(const RtpPacketFields& fields, std::span<uint8_t> out);

// Writes a whole packet: header, `payload`, padding. Returns the packet size. `payload`
// may overlap `out` (it is moved, not copied blindly).
[[nodiscard]] Result<size_t> WriteRtpPacket(const RtpPacketFields& fields,
                                            std::span<const uint8_t> payload,
                                            std::span<uint8_t> out);

// --- Audio level, RFC 6464 --------------------------------------------------------------
//
//    0 1 2 3 4 5 6 7
//   +-+-+-+-+-+-+-+-+
//   |V|    level    |     level: 0..127, the audio level is -level dBov (127: silence)
//   +-+-+-+-+-+-+-+-+     V: voice activity, when negotiated (vad=on)

inline constexpr char kAudioLevelExtensionUri[] = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
inline constexpr int kAudioLevelSilenceDbov = 127;

struct AudioLevel {
  bool voice_activity = false;
  int level_dbov = kAudioLevelSilenceDbov;  // 0 (loudest) .. 127: means -level_dbov dBov
  bool operator==(const AudioLevel&) const = default;
};

// Reads the first byte of an audio level element; Error when `data` is empty.
[[nodiscard]] Result<AudioLevel> ParseAudioLevel(std::span<const uint8_t> data);
// The element's one byte; level_dbov is clamped to 0..127.
uint8_t EncodeAudioLevel(AudioLevel level);
// Level of `samples` per RFC 6464 Appendix A: RMS relative to full scale (int16 overload
// point), in whole -dBov, 0..127 (127 for digital silence).
int AudioLevelDbov(std::span<const int16_t> samples);

}  // namespace parley::rtp
