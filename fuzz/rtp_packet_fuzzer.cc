// RTP packets come from the network: ParseRtpPacket must never crash or read outside
// the input, and whatever it accepts must survive a write and re-parse with every field
// equal (RFC 8285 elements rewritten in the same form, other extensions copied verbatim).
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "parley/rtp/rtp_packet.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley::rtp;
  // A heap copy of exactly `size` bytes, so ASan sees any read past the end.
  const std::vector<uint8_t> input(data, data + size);
  parley::Result<RtpPacketView> parsed = ParseRtpPacket(input);
  if (!parsed) return 0;
  const RtpPacketView& p = *parsed;
  Check(p.header_bytes() + p.payload().size() + p.padding_bytes() == size);

  std::array<uint32_t, kMaxCsrcs> csrcs{};
  for (size_t i = 0; i < p.csrc_count(); ++i) csrcs[i] = p.csrc(i);
  std::vector<HeaderExtension> elements;
  for (const HeaderExtension& e : p.extensions()) elements.push_back(e);

  RtpPacketFields fields;
  fields.marker = p.marker();
  fields.payload_type = p.payload_type();
  fields.sequence_number = p.sequence_number();
  fields.timestamp = p.timestamp();
  fields.ssrc = p.ssrc();
  fields.csrcs = std::span<const uint32_t>(csrcs.data(), p.csrc_count());
  fields.padding_bytes = static_cast<uint8_t>(p.padding_bytes());
  const std::optional<ExtensionForm> form = p.extension_form();
  if (p.has_extension() && (!form || elements.empty())) {
    fields.raw_extension_profile = p.extension_profile();
    fields.raw_extension_data = p.extension_data();
  } else if (form) {
    fields.extensions = elements;
    fields.extension_form = *form;
    fields.two_byte_appbits = static_cast<uint8_t>(p.extension_profile() & 0x0F);
  }
  std::vector<uint8_t> out(RtpPacketSize(fields, p.payload().size()));
  parley::Result<size_t> written = WriteRtpPacket(fields, p.payload(), out);
  // A one-byte element of the input always fits the one-byte form again.
  Check(written.ok() && *written == out.size());

  parley::Result<RtpPacketView> again = ParseRtpPacket(out);
  Check(again.ok());
  const RtpPacketView& q = *again;
  Check(q.marker() == p.marker() && q.payload_type() == p.payload_type() &&
        q.sequence_number() == p.sequence_number() && q.timestamp() == p.timestamp() &&
        q.ssrc() == p.ssrc() && q.csrc_count() == p.csrc_count() &&
        q.padding_bytes() == p.padding_bytes() && q.has_extension() == p.has_extension());
  for (size_t i = 0; i < p.csrc_count(); ++i) Check(q.csrc(i) == p.csrc(i));
  Check(std::equal(q.payload().begin(), q.payload().end(), p.payload().begin(), p.payload().end()));
  size_t index = 0;
  for (const HeaderExtension& e : q.extensions()) {
    Check(index < elements.size() && e.id == elements[index].id &&
          std::equal(e.data.begin(), e.data.end(), elements[index].data.begin(),
                     elements[index].data.end()));
    ++index;
  }
  Check(index == elements.size());
  return 0;
}
