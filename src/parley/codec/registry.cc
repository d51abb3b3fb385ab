#include "parley/codec/registry.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

#include "parley/codec/codec2_codec.h"
#include "parley/codec/g711_codec.h"
#include "parley/codec/g722_codec.h"
#include "parley/codec/g729_codec.h"
#include "parley/codec/gsm_codec.h"
#include "parley/codec/l16_codec.h"
#include "parley/codec/opus_codec.h"

namespace parley::codec {
namespace {

// Payload types, clock rates and rtpmap channel counts follow RFC 3551 and RFC 7587.
const std::array<CodecInfo, 8> kCodecs = {{
    {CodecId::kOpus, "opus", "Opus (RFC 6716), 6-510 kbps, narrowband to fullband", 48000, 48000, 2,
     2, kDynamicPayloadType, 111, "minptime=10;useinbandfec=1", 20, 10, 120, 20, 24000, "opus",
     &CreateOpusEncoder, &CreateOpusDecoder},
    {CodecId::kPcmu, "PCMU", "G.711 mu-law, 64 kbps, 8 kHz", 8000, 8000, 1, 1, 0, 0, "", 10, 10,
     120, 20, 64000, "ul", &CreatePcmuEncoder, &CreatePcmuDecoder},
    {CodecId::kPcma, "PCMA", "G.711 A-law, 64 kbps, 8 kHz", 8000, 8000, 1, 1, 8, 8, "", 10, 10, 120,
     20, 64000, "al", &CreatePcmaEncoder, &CreatePcmaDecoder},
    {CodecId::kG722, "G722", "G.722 sub-band ADPCM, 64 kbps, 16 kHz audio on an 8 kHz RTP clock",
     8000, 16000, 1, 1, 9, 9, "", 10, 10, 120, 20, 64000, "g722", &CreateG722Encoder,
     &CreateG722Decoder},
    {CodecId::kL16, "L16", "linear 16-bit PCM, network byte order (RFC 3551 4.5.11)", 16000, 16000,
     1, 2, kDynamicPayloadType, 118, "", 10, 10, 120, 20, 256000, "l16", &CreateL16Encoder,
     &CreateL16Decoder},
    {CodecId::kCodec2, "codec2", "Codec 2, 0.7-3.2 kbps, 8 kHz", 8000, 8000, 1, 1,
     kDynamicPayloadType, 117, "", 20, 20, 120, 40, 3200, "c2", &CreateCodec2Encoder,
     &CreateCodec2Decoder},
    {CodecId::kG729, "G729", "G.729 Annex A (bcg729), 8 kbps, 8 kHz", 8000, 8000, 1, 1, 18, 18,
     "annexb=no", 10, 10, 120, 20, 8000, "g729", &CreateG729Encoder, &CreateG729Decoder},
    {CodecId::kGsm, "GSM", "GSM 06.10 full rate, 13 kbps, 8 kHz", 8000, 8000, 1, 1, 3, 3, "", 20,
     20, 120, 20, 13200, "gsm", &CreateGsmEncoder, &CreateGsmDecoder},
}};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

}  // namespace

std::span<const CodecInfo> AllCodecs() { return kCodecs; }

const CodecInfo& GetCodecInfo(CodecId id) {
  for (const CodecInfo& codec : kCodecs) {
    if (codec.id == id) return codec;
  }
  return kCodecs.front();  // unreachable: every CodecId has an entry
}

const CodecInfo* FindCodecByName(std::string_view name) {
  struct Alias {
    std::string_view alias;
    CodecId id;
  };
  static constexpr Alias kAliases[] = {
      {"ulaw", CodecId::kPcmu},  {"g711u", CodecId::kPcmu}, {"mulaw", CodecId::kPcmu},
      {"alaw", CodecId::kPcma},  {"g711a", CodecId::kPcma}, {"g.722", CodecId::kG722},
      {"g.729", CodecId::kG729}, {"gsm610", CodecId::kGsm},
  };
  for (const CodecInfo& codec : kCodecs) {
    if (EqualsIgnoreCase(codec.name, name)) return &codec;
  }
  for (const Alias& a : kAliases) {
    if (EqualsIgnoreCase(a.alias, name)) return &GetCodecInfo(a.id);
  }
  return nullptr;
}

const CodecInfo* FindCodecByStaticPayloadType(int payload_type) {
  if (payload_type < 0) return nullptr;
  for (const CodecInfo& codec : kCodecs) {
    if (codec.static_payload_type == payload_type) return &codec;
  }
  return nullptr;
}

const CodecInfo* FindCodecByRtpmap(std::string_view rtpmap) {
  // encoding name "/" clock rate [ "/" channels ]   (RFC 8866 6.6)
  const size_t slash = rtpmap.find('/');
  if (slash == std::string_view::npos) return nullptr;
  const CodecInfo* codec = FindCodecByName(rtpmap.substr(0, slash));
  if (codec == nullptr) return nullptr;
  std::string_view rest = rtpmap.substr(slash + 1);
  const size_t slash2 = rest.find('/');
  const std::string_view clock_text = rest.substr(0, slash2);
  int clock_hz = 0;
  auto [end, ec] =
      std::from_chars(clock_text.data(), clock_text.data() + clock_text.size(), clock_hz);
  if (ec != std::errc() || end != clock_text.data() + clock_text.size()) return nullptr;
  int channels = 1;
  if (slash2 != std::string_view::npos) {
    const std::string_view ch_text = rest.substr(slash2 + 1);
    auto [ch_end, ch_ec] =
        std::from_chars(ch_text.data(), ch_text.data() + ch_text.size(), channels);
    if (ch_ec != std::errc() || ch_end != ch_text.data() + ch_text.size()) return nullptr;
  }
  // L16 is described at any rate; every other codec has exactly one RTP clock.
  if (codec->id != CodecId::kL16 && clock_hz != codec->rtp_clock_rate_hz) return nullptr;
  if (codec->id == CodecId::kL16 ? channels > codec->max_channels
                                 : channels != codec->rtpmap_channels) {
    return nullptr;
  }
  return codec;
}

const CodecInfo* FindCodecByFileExtension(std::string_view extension) {
  for (const CodecInfo& codec : kCodecs) {
    if (EqualsIgnoreCase(codec.file_extension, extension)) return &codec;
  }
  return nullptr;
}

Result<std::unique_ptr<AudioEncoder>> CreateEncoder(const CodecInfo& codec,
                                                    const EncoderConfig& config) {
  if (config.channels < 1 || config.channels > codec.max_channels) {
    return Error{fmt::format("{}: channels {} not supported (1..{})", codec.name, config.channels,
                             codec.max_channels)};
  }
  if (config.frame_ms != 0 && !codec.AcceptsFrameMs(config.frame_ms)) {
    return Error{fmt::format("{}: frame duration {} ms not supported ({}..{} ms in steps of {} ms)",
                             codec.name, config.frame_ms, codec.min_frame_ms, codec.max_frame_ms,
                             codec.native_frame_ms)};
  }
  return codec.make_encoder(config);
}

Result<std::unique_ptr<AudioDecoder>> CreateDecoder(const CodecInfo& codec,
                                                    const DecoderConfig& config) {
  if (config.channels < 1 || config.channels > codec.max_channels) {
    return Error{fmt::format("{}: channels {} not supported (1..{})", codec.name, config.channels,
                             codec.max_channels)};
  }
  return codec.make_decoder(config);
}

}  // namespace parley::codec
