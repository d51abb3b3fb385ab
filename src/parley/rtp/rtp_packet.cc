#include "parley/rtp/rtp_packet.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "parley/rtp/big_endian.h"

namespace parley::rtp {
namespace {

constexpr size_t kExtensionHeaderBytes = 4;
constexpr size_t kMaxExtensionWords = 0xFFFF;

// One step through an RFC 8285 block. Padding is skipped. Returns false at the end of the
// element list (block end, stop ID, or a malformed element, which `*malformed` reports).
struct Step {
  bool has_element = false;
  HeaderExtension element;
  size_t next = 0;         // offset after the element
  bool malformed = false;  // element runs past the block end
  size_t element_offset = 0;
  size_t claimed_end = 0;
};

Step NextElement(ExtensionForm form, std::span<const uint8_t> block, size_t offset) {
  Step step;
  while (offset < block.size()) {
    const uint8_t first = block[offset];
    if (form == ExtensionForm::kOneByte) {
      const int id = first >> 4;
      const size_t length = static_cast<size_t>(first & 0x0F) + 1;
      if (first == 0) {  // padding
        ++offset;
        continue;
      }
      if (id == kOneByteExtensionStopId || id == 0) break;  // RFC 8285 §4.2: stop here
      if (offset + 1 + length > block.size()) {
        step.malformed = true;
        step.element_offset = offset;
        step.element.id = id;
        step.claimed_end = offset + 1 + length;
        break;
      }
      step.has_element = true;
      step.element = {id, block.subspan(offset + 1, length)};
      step.next = offset + 1 + length;
      return step;
    }
    if (first == 0) {  // two-byte padding is a single zero byte
      ++offset;
      continue;
    }
    if (offset + 2 > block.size()) {
      step.malformed = true;
      step.element_offset = offset;
      step.element.id = first;
      step.claimed_end = offset + 2;
      break;
    }
    const size_t length = block[offset + 1];
    if (offset + 2 + length > block.size()) {
      step.malformed = true;
      step.element_offset = offset;
      step.element.id = first;
      step.claimed_end = offset + 2 + length;
      break;
    }
    step.has_element = true;
    step.element = {first, block.subspan(offset + 2, length)};
    step.next = offset + 2 + length;
    return step;
  }
  return step;
}

bool FitsForm(ExtensionForm form, const HeaderExtension& e) {
  if (form == ExtensionForm::kOneByte) {
    return e.id >= 1 && e.id <= kOneByteExtensionMaxId && !e.data.empty() &&
           e.data.size() <= kOneByteExtensionMaxBytes;
  }
  return e.id >= 1 && e.id <= kTwoByteExtensionMaxId && e.data.size() <= kTwoByteExtensionMaxBytes;
}

size_t ElementsBytes(ExtensionForm form, std::span<const HeaderExtension> elements) {
  const size_t per_element = form == ExtensionForm::kOneByte ? 1 : 2;
  size_t bytes = 0;
  for (const HeaderExtension& e : elements) bytes += per_element + e.data.size();
  return bytes;
}

size_t RoundUp4(size_t n) { return (n + 3) & ~size_t{3}; }

size_t ExtensionBlockBytes(const RtpPacketFields& fields) {
  if (!fields.extensions.empty()) {
    return HeaderExtensionBlockSize(fields.extension_form, fields.extensions);
  }
  if (fields.raw_extension_profile) return kExtensionHeaderBytes + fields.raw_extension_data.size();
  return 0;
}

}  // namespace

std::optional<ExtensionForm> ExtensionFormOfProfile(uint16_t profile) {
  if (profile == kOneByteExtensionProfile) return ExtensionForm::kOneByte;
  if ((profile & kTwoByteExtensionProfileMask) == kTwoByteExtensionProfile) {
    return ExtensionForm::kTwoByte;
  }
  return std::nullopt;
}

// --- HeaderExtensionRange ------------------------------------------------------------

HeaderExtensionRange::Iterator::Iterator(ExtensionForm form, std::span<const uint8_t> block,
                                         size_t offset)
    : form_(form), block_(block), offset_(offset) {
  Advance();
}

void HeaderExtensionRange::Iterator::Advance() {
  if (offset_ > block_.size()) return;  // already at the end
  const Step step = NextElement(form_, block_, offset_);
  if (!step.has_element) {
    offset_ = block_.size() + 1;
    current_ = {};
    return;
  }
  current_ = step.element;
  offset_ = step.next;
}

HeaderExtensionRange::Iterator HeaderExtensionRange::begin() const {
  return Iterator(form_, block_, 0);
}

HeaderExtensionRange::Iterator HeaderExtensionRange::end() const {
  return Iterator(form_, block_, block_.size() + 1);
}

Status ValidateHeaderExtensions(ExtensionForm form, std::span<const uint8_t> block,
                                size_t base_offset) {
  size_t offset = 0;
  while (true) {
    const Step step = NextElement(form, block, offset);
    if (step.malformed) {
      return Error{fmt::format("header extension id {} at offset {}: ends at {} > block end {}",
                               step.element.id, base_offset + step.element_offset,
                               base_offset + step.claimed_end, base_offset + block.size())};
    }
    if (!step.has_element) return Status::Ok();
    offset = step.next;
  }
}

size_t HeaderExtensionBlockSize(ExtensionForm form, std::span<const HeaderExtension> elements) {
  return kExtensionHeaderBytes + RoundUp4(ElementsBytes(form, elements));
}

ExtensionForm SmallestExtensionForm(std::span<const HeaderExtension> elements) {
  const bool all_fit = std::all_of(elements.begin(), elements.end(), [](const HeaderExtension& e) {
    return FitsForm(ExtensionForm::kOneByte, e);
  });
  return all_fit ? ExtensionForm::kOneByte : ExtensionForm::kTwoByte;
}

Result<size_t> WriteHeaderExtensionBlock(ExtensionForm form,
                                         std::span<const HeaderExtension> elements,
                                         std::span<uint8_t> out, uint8_t two_byte_appbits) {
  for (const HeaderExtension& e : elements) {
    if (!FitsForm(form, e)) {
      return Error{fmt::format(
          "header extension id {} with {} bytes does not fit the {} form ({})", e.id, e.data.size(),
          form == ExtensionForm::kOneByte ? "one-byte" : "two-byte",
          form == ExtensionForm::kOneByte ? "id 1..14, 1..16 bytes" : "id 1..255, 0..255 bytes")};
    }
  }
  if (two_byte_appbits > 0x0F) {
    return Error{fmt::format("two-byte header extension appbits {} > 15", two_byte_appbits)};
  }
  const size_t size = HeaderExtensionBlockSize(form, elements);
  if ((size - kExtensionHeaderBytes) / 4 > kMaxExtensionWords) {
    return Error{fmt::format("header extension {} bytes > 65535 words", size)};
  }
  if (out.size() < size) {
    return Error{fmt::format("header extension needs {} bytes > buffer {}", size, out.size())};
  }
  const uint16_t profile = form == ExtensionForm::kOneByte
                               ? kOneByteExtensionProfile
                               : static_cast<uint16_t>(kTwoByteExtensionProfile | two_byte_appbits);
  WriteBe16(out.data(), profile);
  WriteBe16(out.data() + 2, static_cast<uint16_t>((size - kExtensionHeaderBytes) / 4));
  size_t pos = kExtensionHeaderBytes;
  for (const HeaderExtension& e : elements) {
    if (form == ExtensionForm::kOneByte) {
      out[pos++] = static_cast<uint8_t>((e.id << 4) | (e.data.size() - 1));
    } else {
      out[pos++] = static_cast<uint8_t>(e.id);
      out[pos++] = static_cast<uint8_t>(e.data.size());
    }
    if (!e.data.empty()) std::memcpy(out.data() + pos, e.data.data(), e.data.size());
    pos += e.data.size();
  }
  std::fill(out.begin() + static_cast<std::ptrdiff_t>(pos),
            out.begin() + static_cast<std::ptrdiff_t>(size), uint8_t{0});
  return size;
}

// --- RtpPacketView -------------------------------------------------------------------

uint16_t RtpPacketView::sequence_number() const { return ReadBe16(packet_.data() + 2); }
uint32_t RtpPacketView::timestamp() const { return ReadBe32(packet_.data() + 4); }
uint32_t RtpPacketView::ssrc() const { return ReadBe32(packet_.data() + 8); }
uint32_t RtpPacketView::csrc(size_t index) const {
  return ReadBe32(packet_.data() + kRtpFixedHeaderBytes + 4 * index);
}

std::optional<ExtensionForm> RtpPacketView::extension_form() const {
  if (!has_extension()) return std::nullopt;
  return ExtensionFormOfProfile(extension_profile_);
}

HeaderExtensionRange RtpPacketView::extensions() const {
  const std::optional<ExtensionForm> form = extension_form();
  if (!form) return {};
  return HeaderExtensionRange(*form, extension_data());
}

std::optional<std::span<const uint8_t>> RtpPacketView::FindExtension(int id) const {
  for (const HeaderExtension& e : extensions()) {
    if (e.id == id) return e.data;
  }
  return std::nullopt;
}

Result<RtpPacketView> ParseRtpPacket(std::span<const uint8_t> packet) {
  if (packet.size() < kRtpFixedHeaderBytes) {
    return Error{fmt::format("RTP header {} bytes < {}", packet.size(), kRtpFixedHeaderBytes)};
  }
  const int version = packet[0] >> 6;
  if (version != kRtpVersion) {
    return Error{fmt::format("RTP version {} != 2 at offset 0", version)};
  }
  RtpPacketView view;
  view.packet_ = packet;
  const size_t csrc_count = packet[0] & 0x0F;
  size_t header = kRtpFixedHeaderBytes + 4 * csrc_count;
  if (header > packet.size()) {
    return Error{fmt::format("RTP CSRC count {} needs {} bytes > packet {} at offset 0", csrc_count,
                             header, packet.size())};
  }
  if (view.has_extension()) {
    if (header + kExtensionHeaderBytes > packet.size()) {
      return Error{fmt::format("RTP extension header at offset {} needs 4 bytes > packet {}",
                               header, packet.size())};
    }
    view.extension_profile_ = ReadBe16(packet.data() + header);
    const size_t words = ReadBe16(packet.data() + header + 2);
    view.extension_offset_ = header + kExtensionHeaderBytes;
    view.extension_bytes_ = 4 * words;
    if (view.extension_offset_ + view.extension_bytes_ > packet.size()) {
      return Error{fmt::format("RTP extension length {} words at offset {} ends at {} > packet {}",
                               words, header + 2, view.extension_offset_ + view.extension_bytes_,
                               packet.size())};
    }
    header = view.extension_offset_ + view.extension_bytes_;
    if (const std::optional<ExtensionForm> form = ExtensionFormOfProfile(view.extension_profile_)) {
      Status valid = ValidateHeaderExtensions(*form, view.extension_data(), view.extension_offset_);
      if (!valid) return Error{"RTP " + valid.error().message};
    }
  } else {
    view.extension_offset_ = header;
  }
  view.header_bytes_ = header;
  if (view.has_padding()) {
    const size_t after_header = packet.size() - header;
    const size_t count = after_header == 0 ? 0 : packet.back();
    if (count == 0 || count > after_header) {
      return Error{fmt::format("RTP padding count {} > payload {} at offset {}", count,
                               after_header, packet.size() - 1)};
    }
    view.padding_bytes_ = count;
  }
  return view;
}

// --- Writing -------------------------------------------------------------------------

size_t RtpHeaderSize(const RtpPacketFields& fields) {
  return kRtpFixedHeaderBytes + 4 * fields.csrcs.size() + ExtensionBlockBytes(fields);
}

size_t RtpPacketSize(const RtpPacketFields& fields, size_t payload_bytes) {
  return RtpHeaderSize(fields) + payload_bytes + fields.padding_bytes;
}

Result<size_t> WriteRtpHeader(const RtpPacketFields& fields, std::span<uint8_t> out) {
  if (fields.payload_type > kMaxPayloadType) {
    return Error{fmt::format("RTP payload type {} > 127", fields.payload_type)};
  }
  if (fields.csrcs.size() > kMaxCsrcs) {
    return Error{fmt::format("RTP {} CSRCs > 15", fields.csrcs.size())};
  }
  const bool raw = fields.extensions.empty() && fields.raw_extension_profile.has_value();
  if (raw && (fields.raw_extension_data.size() % 4 != 0 ||
              fields.raw_extension_data.size() / 4 > kMaxExtensionWords)) {
    return Error{fmt::format("RTP raw extension {} bytes: not a multiple of 4 up to 65535 words",
                             fields.raw_extension_data.size())};
  }
  const size_t header = RtpHeaderSize(fields);
  if (out.size() < header) {
    return Error{fmt::format("RTP header needs {} bytes > buffer {}", header, out.size())};
  }
  const bool extension = !fields.extensions.empty() || raw;
  out[0] = static_cast<uint8_t>((kRtpVersion << 6) | (fields.padding_bytes > 0 ? 0x20 : 0) |
                                (extension ? 0x10 : 0) | fields.csrcs.size());
  out[1] = static_cast<uint8_t>((fields.marker ? 0x80 : 0) | fields.payload_type);
  WriteBe16(out.data() + 2, fields.sequence_number);
  WriteBe32(out.data() + 4, fields.timestamp);
  WriteBe32(out.data() + 8, fields.ssrc);
  size_t pos = kRtpFixedHeaderBytes;
  for (const uint32_t csrc : fields.csrcs) {
    WriteBe32(out.data() + pos, csrc);
    pos += 4;
  }
  if (!fields.extensions.empty()) {
    Result<size_t> written = WriteHeaderExtensionBlock(fields.extension_form, fields.extensions,
                                                       out.subspan(pos), fields.two_byte_appbits);
    if (!written) return Error{"RTP " + written.error().message};
    pos += *written;
  } else if (raw) {
    WriteBe16(out.data() + pos, *fields.raw_extension_profile);
    WriteBe16(out.data() + pos + 2, static_cast<uint16_t>(fields.raw_extension_data.size() / 4));
    if (!fields.raw_extension_data.empty()) {
      std::memcpy(out.data() + pos + 4, fields.raw_extension_data.data(),
                  fields.raw_extension_data.size());
    }
    pos += kExtensionHeaderBytes + fields.raw_extension_data.size();
  }
  return pos;
}

Result<size_t> WriteRtpPacket(const RtpPacketFields& fields, std::span<const uint8_t> payload,
                              std::span<uint8_t> out) {
  const size_t total = RtpPacketSize(fields, payload.size());
  if (out.size() < total) {
    return Error{fmt::format("RTP packet needs {} bytes > buffer {}", total, out.size())};
  }
  Result<size_t> header = WriteRtpHeader(fields, out);
  if (!header) return header;
  size_t pos = *header;
  // memmove: the payload may already sit in `out` (encoded in place).
  if (!payload.empty()) std::memmove(out.data() + pos, payload.data(), payload.size());
  pos += payload.size();
  if (fields.padding_bytes > 0) {
    std::memset(out.data() + pos, 0, fields.padding_bytes - 1u);
    pos += fields.padding_bytes;
    out[pos - 1] = fields.padding_bytes;
  }
  return pos;
}

// --- Audio level ---------------------------------------------------------------------

Result<AudioLevel> ParseAudioLevel(std::span<const uint8_t> data) {
  if (data.empty()) return Error{"audio level extension: 0 bytes < 1"};
  return AudioLevel{(data[0] & 0x80) != 0, data[0] & 0x7F};
}

uint8_t EncodeAudioLevel(AudioLevel level) {
  const int dbov = std::clamp(level.level_dbov, 0, kAudioLevelSilenceDbov);
  return static_cast<uint8_t>((level.voice_activity ? 0x80 : 0) | dbov);
}

int AudioLevelDbov(std::span<const int16_t> samples) {
  if (samples.empty()) return kAudioLevelSilenceDbov;
  double sum_squares = 0;
  for (const int16_t s : samples) sum_squares += static_cast<double>(s) * s;
  // 0 dBov: a full-scale square wave; RMS relative to 32768.
  const double mean = sum_squares / static_cast<double>(samples.size()) / (32768.0 * 32768.0);
  if (mean <= 0) return kAudioLevelSilenceDbov;
  const double dbov = 10.0 * std::log10(mean);
  return std::clamp(static_cast<int>(std::lround(-dbov)), 0, kAudioLevelSilenceDbov);
}

}  // namespace parley::rtp
