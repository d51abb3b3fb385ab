#include "parley/codec/registry.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "parley/testing/signals.h"

namespace parley::codec {
namespace {

std::string NameOf(const CodecInfo* codec) {
  return codec == nullptr ? "(none)" : std::string(codec->name);
}

TEST(RegistryTest, FindsCodecsByNameIgnoringCase) {
  EXPECT_EQ(NameOf(FindCodecByName("opus")), "opus");
  EXPECT_EQ(NameOf(FindCodecByName("OPUS")), "opus");
  EXPECT_EQ(NameOf(FindCodecByName("pcmu")), "PCMU");
  EXPECT_EQ(NameOf(FindCodecByName("PcMa")), "PCMA");
  EXPECT_EQ(NameOf(FindCodecByName("g722")), "G722");
  EXPECT_EQ(NameOf(FindCodecByName("l16")), "L16");
  EXPECT_EQ(NameOf(FindCodecByName("CODEC2")), "codec2");
  EXPECT_EQ(NameOf(FindCodecByName("g729")), "G729");
  EXPECT_EQ(NameOf(FindCodecByName("gsm")), "GSM");
  // Aliases.
  EXPECT_EQ(NameOf(FindCodecByName("ulaw")), "PCMU");
  EXPECT_EQ(NameOf(FindCodecByName("G711U")), "PCMU");
  EXPECT_EQ(NameOf(FindCodecByName("mulaw")), "PCMU");
  EXPECT_EQ(NameOf(FindCodecByName("alaw")), "PCMA");
  EXPECT_EQ(NameOf(FindCodecByName("g711a")), "PCMA");
  EXPECT_EQ(NameOf(FindCodecByName("G.722")), "G722");
  EXPECT_EQ(NameOf(FindCodecByName("g.729")), "G729");
  EXPECT_EQ(NameOf(FindCodecByName("GSM610")), "GSM");
  // Unknown: iLBC is not packaged for Debian, so parley does not carry it.
  EXPECT_EQ(FindCodecByName("iLBC"), nullptr);
  EXPECT_EQ(FindCodecByName(""), nullptr);
  EXPECT_EQ(FindCodecByName("pcm"), nullptr);
  EXPECT_EQ(FindCodecByName("pcmux"), nullptr);
}

TEST(RegistryTest, FindsStaticPayloadTypes) {
  EXPECT_EQ(NameOf(FindCodecByStaticPayloadType(0)), "PCMU");
  EXPECT_EQ(NameOf(FindCodecByStaticPayloadType(3)), "GSM");
  EXPECT_EQ(NameOf(FindCodecByStaticPayloadType(8)), "PCMA");
  EXPECT_EQ(NameOf(FindCodecByStaticPayloadType(9)), "G722");
  EXPECT_EQ(NameOf(FindCodecByStaticPayloadType(18)), "G729");
  EXPECT_EQ(FindCodecByStaticPayloadType(96), nullptr);
  EXPECT_EQ(FindCodecByStaticPayloadType(111), nullptr);  // Opus's usual PT is dynamic
  EXPECT_EQ(FindCodecByStaticPayloadType(-1), nullptr);
  EXPECT_EQ(FindCodecByStaticPayloadType(kDynamicPayloadType), nullptr);
  EXPECT_EQ(FindCodecByStaticPayloadType(10), nullptr);  // L16 stereo 44.1 kHz: not carried
}

TEST(RegistryTest, FindsRtpmaps) {
  EXPECT_EQ(NameOf(FindCodecByRtpmap("opus/48000/2")), "opus");
  EXPECT_EQ(FindCodecByRtpmap("opus/48000"), nullptr);  // RFC 7587: always "/2"
  EXPECT_EQ(FindCodecByRtpmap("opus/16000/2"), nullptr);
  EXPECT_EQ(NameOf(FindCodecByRtpmap("PCMU/8000")), "PCMU");
  EXPECT_EQ(NameOf(FindCodecByRtpmap("pcma/8000")), "PCMA");
  EXPECT_EQ(FindCodecByRtpmap("PCMU/16000"), nullptr);
  EXPECT_EQ(NameOf(FindCodecByRtpmap("G722/8000")), "G722");
  EXPECT_EQ(FindCodecByRtpmap("G722/16000"), nullptr);  // RFC 3551 4.5.2: the clock is 8000
  EXPECT_EQ(NameOf(FindCodecByRtpmap("L16/44100/2")), "L16");
  EXPECT_EQ(NameOf(FindCodecByRtpmap("L16/8000")), "L16");
  EXPECT_EQ(FindCodecByRtpmap("L16/48000/3"), nullptr);
  EXPECT_EQ(NameOf(FindCodecByRtpmap("G729/8000")), "G729");
  EXPECT_EQ(NameOf(FindCodecByRtpmap("GSM/8000")), "GSM");
  EXPECT_EQ(NameOf(FindCodecByRtpmap("codec2/8000")), "codec2");
  EXPECT_EQ(FindCodecByRtpmap("PCMU"), nullptr);
  EXPECT_EQ(FindCodecByRtpmap("PCMU/"), nullptr);
  EXPECT_EQ(FindCodecByRtpmap("PCMU/8000x"), nullptr);
  EXPECT_EQ(FindCodecByRtpmap("PCMU/8000/"), nullptr);
  EXPECT_EQ(FindCodecByRtpmap("PCMU/8000/2"), nullptr);
  EXPECT_EQ(FindCodecByRtpmap("speex/8000"), nullptr);
  EXPECT_EQ(FindCodecByRtpmap(""), nullptr);
}

TEST(RegistryTest, RtpmapStrings) {
  EXPECT_EQ(GetCodecInfo(CodecId::kOpus).Rtpmap(), "opus/48000/2");
  EXPECT_EQ(GetCodecInfo(CodecId::kPcmu).Rtpmap(), "PCMU/8000");
  EXPECT_EQ(GetCodecInfo(CodecId::kPcma).Rtpmap(), "PCMA/8000");
  EXPECT_EQ(GetCodecInfo(CodecId::kG722).Rtpmap(), "G722/8000");
  EXPECT_EQ(GetCodecInfo(CodecId::kL16).Rtpmap(), "L16/16000");
  EXPECT_EQ(GetCodecInfo(CodecId::kCodec2).Rtpmap(), "codec2/8000");
  EXPECT_EQ(GetCodecInfo(CodecId::kG729).Rtpmap(), "G729/8000");
  EXPECT_EQ(GetCodecInfo(CodecId::kGsm).Rtpmap(), "GSM/8000");
  for (const CodecInfo& codec : AllCodecs()) {
    EXPECT_EQ(FindCodecByRtpmap(codec.Rtpmap()), &codec) << codec.Rtpmap();
  }
}

TEST(RegistryTest, FindsFileExtensions) {
  EXPECT_EQ(NameOf(FindCodecByFileExtension("ul")), "PCMU");
  EXPECT_EQ(NameOf(FindCodecByFileExtension("UL")), "PCMU");
  EXPECT_EQ(NameOf(FindCodecByFileExtension("al")), "PCMA");
  EXPECT_EQ(NameOf(FindCodecByFileExtension("g722")), "G722");
  EXPECT_EQ(NameOf(FindCodecByFileExtension("l16")), "L16");
  EXPECT_EQ(NameOf(FindCodecByFileExtension("c2")), "codec2");
  EXPECT_EQ(NameOf(FindCodecByFileExtension("g729")), "G729");
  EXPECT_EQ(NameOf(FindCodecByFileExtension("gsm")), "GSM");
  EXPECT_EQ(NameOf(FindCodecByFileExtension("opus")), "opus");
  EXPECT_EQ(FindCodecByFileExtension("wav"), nullptr);
  EXPECT_EQ(FindCodecByFileExtension(".ul"), nullptr);  // without the dot
  EXPECT_EQ(FindCodecByFileExtension(""), nullptr);
}

TEST(RegistryTest, TableIsConsistent) {
  std::set<std::string> names, extensions;
  std::set<int> payload_types;
  for (const CodecInfo& codec : AllCodecs()) {
    SCOPED_TRACE(std::string(codec.name));
    EXPECT_EQ(&GetCodecInfo(codec.id), &codec);
    EXPECT_TRUE(names.insert(std::string(codec.name)).second);
    EXPECT_TRUE(extensions.insert(std::string(codec.file_extension)).second);
    EXPECT_TRUE(payload_types.insert(codec.default_payload_type).second);
    if (codec.static_payload_type != kDynamicPayloadType) {
      EXPECT_EQ(codec.default_payload_type, codec.static_payload_type);
      EXPECT_LT(codec.static_payload_type, 35);
    } else {
      EXPECT_GE(codec.default_payload_type, 96);
      EXPECT_LE(codec.default_payload_type, 127);
    }
    EXPECT_TRUE(codec.AcceptsFrameMs(codec.default_frame_ms));
    EXPECT_TRUE(codec.AcceptsFrameMs(codec.min_frame_ms));
    EXPECT_TRUE(codec.AcceptsFrameMs(codec.max_frame_ms));
    EXPECT_FALSE(codec.AcceptsFrameMs(0));
    EXPECT_FALSE(codec.AcceptsFrameMs(codec.max_frame_ms + codec.native_frame_ms));
    EXPECT_NE(codec.make_encoder, nullptr);
    EXPECT_NE(codec.make_decoder, nullptr);
  }
  EXPECT_EQ(AllCodecs().front().id, CodecId::kOpus);
  EXPECT_EQ(AllCodecs().size(), 8u);
}

TEST(RegistryTest, CreateEncoderRejectsBadChannelsAndFrameMs) {
  EncoderConfig config;
  config.channels = 2;
  auto bad = CreateEncoder(GetCodecInfo(CodecId::kPcmu), config);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("PCMU"), std::string::npos);
  EXPECT_NE(bad.error().message.find("channels 2"), std::string::npos) << bad.error().message;
  config.channels = 3;
  bad = CreateEncoder(GetCodecInfo(CodecId::kL16), config);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("channels 3"), std::string::npos) << bad.error().message;
  config.channels = 0;
  EXPECT_FALSE(CreateEncoder(GetCodecInfo(CodecId::kOpus), config).ok());

  config = {};
  config.frame_ms = 25;
  bad = CreateEncoder(GetCodecInfo(CodecId::kG722), config);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("25 ms"), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("10..120"), std::string::npos) << bad.error().message;
  config.frame_ms = 30;
  EXPECT_FALSE(CreateEncoder(GetCodecInfo(CodecId::kOpus), config).ok());
  EXPECT_TRUE(CreateEncoder(GetCodecInfo(CodecId::kPcma), config).ok());
  EXPECT_FALSE(CreateEncoder(GetCodecInfo(CodecId::kGsm), config).ok());
  config.frame_ms = 140;
  EXPECT_FALSE(CreateEncoder(GetCodecInfo(CodecId::kG729), config).ok());

  DecoderConfig decoder_config;
  decoder_config.channels = 2;
  auto bad_decoder = CreateDecoder(GetCodecInfo(CodecId::kGsm), decoder_config);
  ASSERT_FALSE(bad_decoder.ok());
  EXPECT_NE(bad_decoder.error().message.find("channels 2"), std::string::npos);
  EXPECT_TRUE(CreateDecoder(GetCodecInfo(CodecId::kOpus), decoder_config).ok());
}

TEST(RegistryTest, EveryCodecRoundTripsOneDefaultPacket) {
  for (const CodecInfo& codec : AllCodecs()) {
    SCOPED_TRACE(std::string(codec.name));
    auto encoder = CreateEncoder(codec, {});
    ASSERT_TRUE(encoder.ok()) << encoder.error().message;
    auto decoder = CreateDecoder(codec, {});
    ASSERT_TRUE(decoder.ok()) << decoder.error().message;
    AudioEncoder& enc = **encoder;
    AudioDecoder& dec = **decoder;
    EXPECT_EQ(&enc.info(), &codec);
    EXPECT_EQ(&dec.info(), &codec);
    EXPECT_EQ(enc.sample_rate_hz(), codec.sample_rate_hz);
    EXPECT_EQ(dec.sample_rate_hz(), codec.sample_rate_hz);
    EXPECT_EQ(enc.frame_ms(), codec.default_frame_ms);
    EXPECT_EQ(enc.bitrate_bps(), codec.default_bitrate_bps);
    EXPECT_EQ(enc.channels(), 1);

    const int frame = enc.frame_samples();
    EXPECT_EQ(frame, codec.sample_rate_hz / 1000 * codec.default_frame_ms);
    std::vector<int16_t> tone =
        testing::Tone(440, enc.sample_rate_hz(), double(frame) / enc.sample_rate_hz(), 0.3);
    tone.resize(size_t(frame));
    std::vector<uint8_t> payload(enc.max_payload_bytes());
    Result<size_t> bytes = enc.Encode(tone, payload);
    ASSERT_TRUE(bytes.ok()) << bytes.error().message;
    ASSERT_GT(*bytes, 0u);
    ASSERT_LE(*bytes, enc.max_payload_bytes());
    const std::span<const uint8_t> sent(payload.data(), *bytes);
    Result<int> samples = dec.PacketSamples(sent);
    ASSERT_TRUE(samples.ok()) << samples.error().message;
    EXPECT_EQ(*samples, frame);
    // An output one sample short: an Error, and nothing written past it.
    std::vector<int16_t> guarded(size_t(frame * dec.channels()) + 1, int16_t{0x5A5A});
    Result<int> short_out = dec.Decode(sent, std::span<int16_t>(guarded).first(guarded.size() - 2));
    EXPECT_FALSE(short_out.ok());
    EXPECT_EQ(guarded.back(), 0x5A5A);
    EXPECT_EQ(guarded[guarded.size() - 2], 0x5A5A);
    std::vector<int16_t> out(size_t(frame * dec.channels()));
    Result<int> decoded = dec.Decode(sent, out);
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    EXPECT_EQ(*decoded, frame);
  }
}

TEST(RegistryTest, EveryDecoderSurvivesGarbage) {
  std::mt19937 rng(11);
  for (const CodecInfo& codec : AllCodecs()) {
    SCOPED_TRACE(std::string(codec.name));
    auto decoder = CreateDecoder(codec, {});
    ASSERT_TRUE(decoder.ok());
    std::vector<int16_t> out(size_t(kMaxPacketSamples48k * kMaxChannels));
    for (int i = 0; i < 300; ++i) {
      std::vector<uint8_t> payload(rng() % 200);
      for (uint8_t& b : payload) b = static_cast<uint8_t>(rng());
      Result<int> samples = (*decoder)->PacketSamples(payload);
      Result<int> decoded = (*decoder)->Decode(payload, out);
      if (decoded.ok()) {
        ASSERT_TRUE(samples.ok());
        EXPECT_EQ(*decoded, *samples);
      } else {
        EXPECT_FALSE(decoded.error().message.empty());
      }
    }
  }
}

}  // namespace
}  // namespace parley::codec
