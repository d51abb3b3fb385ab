#include "parley/rtp/rtp_packet.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

namespace parley::rtp {
namespace {

using Bytes = std::vector<uint8_t>;

// Assembled by hand from the RFC 3550 §5.1 and RFC 8285 §4.2 diagrams:
// V=2 P=1 X=1 CC=2, M=1 PT=111, seq 0x1234, ts 0xDEADBEEF, SSRC 0x11223344,
// CSRCs 0xAAAAAAAA 0xBBBBBBBB, one-byte extension (0xBEDE, 2 words) holding
// id 1 L=0 [0x85] (audio level: voice, -5 dBov) and id 3 L=2 [01 02 03], zero padding,
// payload CA FE BA BE, 4 bytes of padding (count 4).
const Bytes kHandPacket = {
    0xB2, 0xEF, 0x12, 0x34,  // V=2 P X CC=2 | M PT=111 | sequence
    0xDE, 0xAD, 0xBE, 0xEF,  // timestamp
    0x11, 0x22, 0x33, 0x44,  // SSRC
    0xAA, 0xAA, 0xAA, 0xAA,  // CSRC 1
    0xBB, 0xBB, 0xBB, 0xBB,  // CSRC 2
    0xBE, 0xDE, 0x00, 0x02,  // one-byte profile, 2 words
    0x10, 0x85, 0x32, 0x01,  // id 1 L 0 | level | id 3 L 2 | data...
    0x02, 0x03, 0x00, 0x00,  // ...data | zero padding
    0xCA, 0xFE, 0xBA, 0xBE,  // payload
    0x00, 0x00, 0x00, 0x04,  // padding, count 4
};

std::vector<int> Ids(const RtpPacketView& view) {
  std::vector<int> ids;
  for (const HeaderExtension& e : view.extensions()) ids.push_back(e.id);
  return ids;
}

// A view nobody parsed into (a member before the first packet) reads as an empty packet,
// never out of bounds (ASan would see it).
TEST(RtpPacketTest, DefaultViewIsAnEmptyPacket) {
  const RtpPacketView view;
  EXPECT_FALSE(view.marker());
  EXPECT_EQ(view.payload_type(), 0);
  EXPECT_EQ(view.sequence_number(), 0);
  EXPECT_EQ(view.timestamp(), 0u);
  EXPECT_EQ(view.ssrc(), 0u);
  EXPECT_EQ(view.csrc_count(), 0u);
  EXPECT_FALSE(view.has_padding());
  EXPECT_FALSE(view.has_extension());
  EXPECT_TRUE(view.extension_data().empty());
  EXPECT_FALSE(view.extension_form().has_value());
  EXPECT_FALSE(view.FindExtension(1).has_value());
  EXPECT_TRUE(view.payload().empty());
  EXPECT_EQ(view.header_bytes(), 12u);
  EXPECT_EQ(view.packet().size(), 12u);
}

TEST(RtpPacketTest, ParsesHandAssembledPacket) {
  Result<RtpPacketView> parsed = ParseRtpPacket(kHandPacket);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  const RtpPacketView& p = *parsed;
  EXPECT_TRUE(p.marker());
  EXPECT_EQ(p.payload_type(), 111);
  EXPECT_EQ(p.sequence_number(), 0x1234);
  EXPECT_EQ(p.timestamp(), 0xDEADBEEFu);
  EXPECT_EQ(p.ssrc(), 0x11223344u);
  ASSERT_EQ(p.csrc_count(), 2u);
  EXPECT_EQ(p.csrc(0), 0xAAAAAAAAu);
  EXPECT_EQ(p.csrc(1), 0xBBBBBBBBu);
  EXPECT_TRUE(p.has_extension());
  EXPECT_EQ(p.extension_profile(), kOneByteExtensionProfile);
  EXPECT_EQ(p.extension_form(), ExtensionForm::kOneByte);
  EXPECT_EQ(p.header_bytes(), 32u);
  EXPECT_TRUE(p.has_padding());
  EXPECT_EQ(p.padding_bytes(), 4u);
  EXPECT_EQ(Bytes(p.payload().begin(), p.payload().end()), (Bytes{0xCA, 0xFE, 0xBA, 0xBE}));
  // The payload is a view into the input, not a copy.
  EXPECT_EQ(p.payload().data(), kHandPacket.data() + 32);
  EXPECT_EQ(Ids(p), (std::vector<int>{1, 3}));
  auto level_bytes = p.FindExtension(1);
  ASSERT_TRUE(level_bytes.has_value());
  Result<AudioLevel> level = ParseAudioLevel(*level_bytes);
  ASSERT_TRUE(level.ok());
  EXPECT_EQ(*level, (AudioLevel{true, 5}));
  auto three = p.FindExtension(3);
  ASSERT_TRUE(three.has_value());
  EXPECT_EQ(Bytes(three->begin(), three->end()), (Bytes{1, 2, 3}));
  EXPECT_FALSE(p.FindExtension(2).has_value());
}

TEST(RtpPacketTest, WritesHandAssembledPacketByteExact) {
  const std::array<uint32_t, 2> csrcs = {0xAAAAAAAA, 0xBBBBBBBB};
  const std::array<uint8_t, 1> level = {EncodeAudioLevel({true, 5})};
  const std::array<uint8_t, 3> three = {1, 2, 3};
  const std::array<HeaderExtension, 2> extensions = {HeaderExtension{1, level},
                                                     HeaderExtension{3, three}};
  const std::array<uint8_t, 4> payload = {0xCA, 0xFE, 0xBA, 0xBE};
  RtpPacketFields fields;
  fields.marker = true;
  fields.payload_type = 111;
  fields.sequence_number = 0x1234;
  fields.timestamp = 0xDEADBEEF;
  fields.ssrc = 0x11223344;
  fields.csrcs = csrcs;
  fields.extensions = extensions;
  fields.padding_bytes = 4;
  EXPECT_EQ(RtpPacketSize(fields, payload.size()), kHandPacket.size());
  Bytes out(100, 0xEE);
  Result<size_t> written = WriteRtpPacket(fields, payload, out);
  ASSERT_TRUE(written.ok()) << written.error().message;
  out.resize(*written);
  EXPECT_EQ(out, kHandPacket);
}

TEST(RtpPacketTest, MinimalPacketHasNoExtensionOrPadding) {
  const Bytes packet = {0x80, 0x00, 0x00, 0x01, 0, 0, 0, 160, 0, 0, 0, 7, 0xFF};
  Result<RtpPacketView> p = ParseRtpPacket(packet);
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->marker());
  EXPECT_EQ(p->payload_type(), 0);
  EXPECT_EQ(p->timestamp(), 160u);
  EXPECT_FALSE(p->has_extension());
  EXPECT_FALSE(p->extension_form().has_value());
  EXPECT_TRUE(p->extensions().empty());
  EXPECT_EQ(p->payload().size(), 1u);
  EXPECT_EQ(p->padding_bytes(), 0u);
}

TEST(RtpPacketTest, PaddingBetweenOneByteElementsIsSkipped) {
  // id 2 L 0 [0x7F], two padding bytes, id 5 L 1 [0xAB 0xCD], then id 15: stop. The
  // bytes after id 15 would be malformed, yet must be ignored (RFC 8285 §4.2).
  const Bytes packet = {0x90, 0x60, 0,    1,    0,    0,    0,    1,    0,    0,    0,    1,
                        0xBE, 0xDE, 0x00, 0x02, 0x20, 0x7F, 0x00, 0x00, 0x51, 0xAB, 0xCD, 0xF0};
  Result<RtpPacketView> p = ParseRtpPacket(packet);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(Ids(*p), (std::vector<int>{2, 5}));
  const auto five = p->FindExtension(5);
  ASSERT_TRUE(five.has_value());
  EXPECT_EQ(Bytes(five->begin(), five->end()), (Bytes{0xAB, 0xCD}));
  EXPECT_TRUE(p->payload().empty());
}

TEST(RtpPacketTest, OneByteIdZeroWithLengthStopsParsing) {
  const Bytes packet = {0x90, 0x60, 0,    1,    0,    0,    0,    1,    0,    0,
                        0,    1,    0xBE, 0xDE, 0x00, 0x01, 0x10, 0x01, 0x03, 0x30};
  Result<RtpPacketView> p = ParseRtpPacket(packet);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(Ids(*p), (std::vector<int>{1}));
}

TEST(RtpPacketTest, TwoByteFormParsesAndWrites) {
  // Profile 0x1003 (appbits 3): id 200 length 0, padding, id 7 length 3 [9 8 7], padding.
  const Bytes packet = {0x90, 0x60, 0,    1,   0, 0, 0, 1, 0, 0, 0, 1,   0x10,
                        0x03, 0x00, 0x02, 200, 0, 0, 7, 3, 9, 8, 7, 0x42};
  Result<RtpPacketView> p = ParseRtpPacket(packet);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->extension_form(), ExtensionForm::kTwoByte);
  EXPECT_EQ(Ids(*p), (std::vector<int>{200, 7}));
  EXPECT_TRUE(p->FindExtension(200).has_value());
  EXPECT_TRUE(p->FindExtension(200)->empty());
  EXPECT_EQ(p->payload().size(), 1u);

  // Written back without the padding between elements: 200 0 | 7 3 9 8 7 | 0 pad.
  const std::array<uint8_t, 3> seven = {9, 8, 7};
  const std::array<HeaderExtension, 2> extensions = {HeaderExtension{200, {}},
                                                     HeaderExtension{7, seven}};
  RtpPacketFields fields;
  fields.payload_type = 0x60;
  fields.sequence_number = 1;
  fields.timestamp = 1;
  fields.ssrc = 1;
  fields.extensions = extensions;
  fields.extension_form = ExtensionForm::kTwoByte;
  fields.two_byte_appbits = 3;
  const std::array<uint8_t, 1> payload = {0x42};
  Bytes out(64);
  Result<size_t> written = WriteRtpPacket(fields, payload, out);
  ASSERT_TRUE(written.ok()) << written.error().message;
  out.resize(*written);
  EXPECT_EQ(out, (Bytes{0x90, 0x60, 0,    1,   0, 0, 0, 1, 0, 0, 0, 1,   0x10,
                        0x03, 0x00, 0x02, 200, 0, 7, 3, 9, 8, 7, 0, 0x42}));
}

TEST(RtpPacketTest, SmallestFormPicksTwoByteOnlyWhenNeeded) {
  const std::array<uint8_t, 16> sixteen{};
  const std::array<uint8_t, 17> seventeen{};
  const std::array<HeaderExtension, 2> fits = {HeaderExtension{14, sixteen},
                                               HeaderExtension{1, sixteen}};
  EXPECT_EQ(SmallestExtensionForm(fits), ExtensionForm::kOneByte);
  const std::array<HeaderExtension, 1> too_long = {HeaderExtension{1, seventeen}};
  EXPECT_EQ(SmallestExtensionForm(too_long), ExtensionForm::kTwoByte);
  const std::array<HeaderExtension, 1> big_id = {HeaderExtension{15, sixteen}};
  EXPECT_EQ(SmallestExtensionForm(big_id), ExtensionForm::kTwoByte);
  const std::array<HeaderExtension, 1> empty = {HeaderExtension{3, {}}};
  EXPECT_EQ(SmallestExtensionForm(empty), ExtensionForm::kTwoByte);
}

struct RoundTripCase {
  const char* name;
  size_t csrcs;
  ExtensionForm form;
  std::vector<std::pair<int, size_t>> elements;  // id, data bytes
  uint8_t padding;
  size_t payload;
};

TEST(RtpPacketTest, RoundTripsEveryShape) {
  const std::vector<RoundTripCase> cases = {
      {"plain", 0, ExtensionForm::kOneByte, {}, 0, 160},
      {"15 csrcs", 15, ExtensionForm::kOneByte, {}, 0, 20},
      {"one-byte", 1, ExtensionForm::kOneByte, {{1, 1}, {14, 16}, {7, 3}}, 0, 80},
      {"two-byte", 0, ExtensionForm::kTwoByte, {{255, 255}, {1, 0}, {16, 1}}, 0, 10},
      {"padding 255", 3, ExtensionForm::kOneByte, {{2, 2}}, 255, 1},
      {"empty payload padded", 0, ExtensionForm::kTwoByte, {{9, 4}}, 1, 0},
  };
  for (const RoundTripCase& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<uint32_t> csrcs;
    for (size_t i = 0; i < c.csrcs; ++i)
      csrcs.push_back(0x01000000u * static_cast<uint32_t>(i + 1));
    std::vector<Bytes> data;
    for (const auto& [id, bytes] : c.elements) {
      data.push_back(Bytes(bytes, static_cast<uint8_t>(id)));
    }
    std::vector<HeaderExtension> extensions;
    for (size_t i = 0; i < c.elements.size(); ++i) {
      extensions.push_back({c.elements[i].first, data[i]});
    }
    Bytes payload(c.payload);
    for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i * 7);
    RtpPacketFields fields;
    fields.marker = c.payload % 2 == 0;
    fields.payload_type = 96;
    fields.sequence_number = 65535;
    fields.timestamp = 0xFFFFFF00;
    fields.ssrc = 0xCAFEBABE;
    fields.csrcs = csrcs;
    fields.extensions = extensions;
    fields.extension_form = c.form;
    fields.padding_bytes = c.padding;
    Bytes out(RtpPacketSize(fields, payload.size()));
    Result<size_t> written = WriteRtpPacket(fields, payload, out);
    ASSERT_TRUE(written.ok()) << written.error().message;
    ASSERT_EQ(*written, out.size());

    Result<RtpPacketView> p = ParseRtpPacket(out);
    ASSERT_TRUE(p.ok()) << p.error().message;
    EXPECT_EQ(p->marker(), fields.marker);
    EXPECT_EQ(p->payload_type(), 96);
    EXPECT_EQ(p->sequence_number(), 65535);
    EXPECT_EQ(p->timestamp(), 0xFFFFFF00u);
    EXPECT_EQ(p->ssrc(), 0xCAFEBABEu);
    ASSERT_EQ(p->csrc_count(), csrcs.size());
    for (size_t i = 0; i < csrcs.size(); ++i) EXPECT_EQ(p->csrc(i), csrcs[i]);
    EXPECT_EQ(p->has_extension(), !extensions.empty());
    std::vector<std::pair<int, Bytes>> got;
    for (const HeaderExtension& e : p->extensions())
      got.push_back({e.id, Bytes(e.data.begin(), e.data.end())});
    ASSERT_EQ(got.size(), extensions.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].first, extensions[i].id);
      EXPECT_EQ(got[i].second, data[i]);
    }
    EXPECT_EQ(p->padding_bytes(), c.padding);
    EXPECT_EQ(Bytes(p->payload().begin(), p->payload().end()), payload);
  }
}

TEST(RtpPacketTest, RawExtensionOfAnotherProfileRoundTrips) {
  const std::array<uint8_t, 8> raw = {1, 2, 3, 4, 5, 6, 7, 8};
  RtpPacketFields fields;
  fields.raw_extension_profile = 0x0ABC;
  fields.raw_extension_data = raw;
  Bytes out(64);
  Result<size_t> written = WriteRtpPacket(fields, {}, out);
  ASSERT_TRUE(written.ok());
  Result<RtpPacketView> p = ParseRtpPacket(std::span(out).first(*written));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->extension_profile(), 0x0ABC);
  EXPECT_FALSE(p->extension_form().has_value());
  EXPECT_TRUE(p->extensions().empty());
  EXPECT_EQ(Bytes(p->extension_data().begin(), p->extension_data().end()),
            Bytes(raw.begin(), raw.end()));
}

TEST(RtpPacketTest, ErrorsNameFieldAndOffset) {
  EXPECT_EQ(ParseRtpPacket(Bytes(10, 0x80)).error().message, "RTP header 10 bytes < 12");
  Bytes v1(12, 0);
  v1[0] = 0x40;
  EXPECT_EQ(ParseRtpPacket(v1).error().message, "RTP version 1 != 2 at offset 0");
  Bytes csrc(12, 0);
  csrc[0] = 0x81;
  EXPECT_EQ(ParseRtpPacket(csrc).error().message,
            "RTP CSRC count 1 needs 16 bytes > packet 12 at offset 0");
  // 12-byte header, 20 payload bytes of which the last claims 200 bytes of padding.
  Bytes padded(32, 0);
  padded[0] = 0xA0;
  padded.back() = 200;
  EXPECT_EQ(ParseRtpPacket(padded).error().message,
            "RTP padding count 200 > payload 20 at offset 31");
  padded.back() = 0;
  EXPECT_EQ(ParseRtpPacket(padded).error().message,
            "RTP padding count 0 > payload 20 at offset 31");
  Bytes ext = {0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xBE, 0xDE, 0x00, 0x02, 0x10, 0, 0, 0};
  EXPECT_EQ(ParseRtpPacket(ext).error().message,
            "RTP extension length 2 words at offset 14 ends at 24 > packet 20");
  // Element id 2 claims 4 bytes at offset 17 but the block ends at 20.
  Bytes element = {0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xBE, 0xDE, 0x00, 0x01, 0, 0x23, 0, 0};
  EXPECT_EQ(ParseRtpPacket(element).error().message,
            "RTP header extension id 2 at offset 17: ends at 22 > block end 20");
}

TEST(RtpPacketTest, EveryTruncationIsRejectedOrConsistent) {
  for (size_t n = 0; n <= kHandPacket.size(); ++n) {
    SCOPED_TRACE(n);
    // A fresh heap copy of exactly n bytes, so ASan catches any read past the end.
    std::vector<uint8_t> prefix(kHandPacket.begin(), kHandPacket.begin() + static_cast<long>(n));
    Result<RtpPacketView> p = ParseRtpPacket(prefix);
    if (!p.ok()) continue;
    EXPECT_EQ(p->header_bytes() + p->payload().size() + p->padding_bytes(), n);
    for (const HeaderExtension& e : p->extensions()) EXPECT_GE(e.id, 1);
  }
  // Only the whole packet parses: the last byte is the padding count (4), and cut shorter
  // the byte in its place is 0 or points past the payload.
  EXPECT_TRUE(ParseRtpPacket(kHandPacket).ok());
  EXPECT_FALSE(ParseRtpPacket(std::span(kHandPacket).first(kHandPacket.size() - 1)).ok());
}

TEST(RtpPacketTest, WriterRejectsOutOfRangeFields) {
  Bytes out(256);
  RtpPacketFields fields;
  fields.payload_type = 128;
  EXPECT_FALSE(WriteRtpPacket(fields, {}, out).ok());
  fields.payload_type = 0;
  const std::vector<uint32_t> csrcs(16, 1);
  fields.csrcs = csrcs;
  EXPECT_FALSE(WriteRtpPacket(fields, {}, out).ok());
  fields.csrcs = {};
  const std::array<uint8_t, 1> one = {1};
  const std::array<HeaderExtension, 1> id15 = {HeaderExtension{15, one}};
  fields.extensions = id15;
  Result<size_t> bad_id = WriteRtpPacket(fields, {}, out);
  ASSERT_FALSE(bad_id.ok());
  EXPECT_NE(bad_id.error().message.find("id 15"), std::string::npos);
  fields.extension_form = ExtensionForm::kTwoByte;
  EXPECT_TRUE(WriteRtpPacket(fields, {}, out).ok());
  const std::array<uint8_t, 3> raw3 = {1, 2, 3};
  RtpPacketFields raw;
  raw.raw_extension_profile = 1;
  raw.raw_extension_data = raw3;
  EXPECT_FALSE(WriteRtpPacket(raw, {}, out).ok());
  RtpPacketFields small;
  Bytes tiny(11);
  EXPECT_EQ(WriteRtpPacket(small, {}, tiny).error().message,
            "RTP packet needs 12 bytes > buffer 11");
}

TEST(RtpAudioLevelTest, EncodesAndParses) {
  EXPECT_EQ(EncodeAudioLevel({true, 0}), 0x80);
  EXPECT_EQ(EncodeAudioLevel({false, 127}), 0x7F);
  EXPECT_EQ(EncodeAudioLevel({false, 300}), 0x7F);  // clamped
  EXPECT_EQ(EncodeAudioLevel({true, -4}), 0x80);
  const std::array<uint8_t, 1> byte = {0xAA};
  EXPECT_EQ(*ParseAudioLevel(byte), (AudioLevel{true, 0x2A}));
  EXPECT_FALSE(ParseAudioLevel({}).ok());
}

TEST(RtpAudioLevelTest, LevelOfSignals) {
  EXPECT_EQ(AudioLevelDbov(std::vector<int16_t>(160, 0)), 127);
  EXPECT_EQ(AudioLevelDbov({}), 127);
  // A full-scale square wave is 0 dBov by definition (RFC 6464 §3).
  std::vector<int16_t> square(160);
  for (size_t i = 0; i < square.size(); ++i) square[i] = i % 2 ? int16_t{-32768} : int16_t{32767};
  EXPECT_EQ(AudioLevelDbov(square), 0);
  // A sine of amplitude A has RMS A / sqrt(2): at A = 3277 (-20 dBFS peak), -23 dBov.
  std::vector<int16_t> sine(800);
  for (size_t i = 0; i < sine.size(); ++i) {
    sine[i] = static_cast<int16_t>(std::lround(3277 * std::sin(2 * M_PI * 400.0 * i / 8000.0)));
  }
  EXPECT_EQ(AudioLevelDbov(sine), 23);
}

}  // namespace
}  // namespace parley::rtp
