#include "parley/codec/opus_codec.h"

#include <fmt/format.h>
#include <opus/opus.h>

#include <algorithm>

#include "parley/codec/registry.h"

namespace parley::codec {
namespace {

constexpr int kMinBitrateBps = 6000;
constexpr int kMaxBitrateBps = 510000;
constexpr int kPlcStepMs = 20;

int ToOpus(OpusApplication application) {
  switch (application) {
    case OpusApplication::kVoip:
      return OPUS_APPLICATION_VOIP;
    case OpusApplication::kAudio:
      return OPUS_APPLICATION_AUDIO;
    case OpusApplication::kRestrictedLowDelay:
      return OPUS_APPLICATION_RESTRICTED_LOWDELAY;
  }
  return OPUS_APPLICATION_VOIP;
}

int ToOpus(OpusBandwidth bandwidth) {
  switch (bandwidth) {
    case OpusBandwidth::kNarrowband:
      return OPUS_BANDWIDTH_NARROWBAND;
    case OpusBandwidth::kMediumband:
      return OPUS_BANDWIDTH_MEDIUMBAND;
    case OpusBandwidth::kWideband:
      return OPUS_BANDWIDTH_WIDEBAND;
    case OpusBandwidth::kSuperWideband:
      return OPUS_BANDWIDTH_SUPERWIDEBAND;
    case OpusBandwidth::kFullband:
      return OPUS_BANDWIDTH_FULLBAND;
  }
  return OPUS_BANDWIDTH_FULLBAND;
}

int ToOpus(OpusSignal signal) {
  switch (signal) {
    case OpusSignal::kAuto:
      return OPUS_AUTO;
    case OpusSignal::kVoice:
      return OPUS_SIGNAL_VOICE;
    case OpusSignal::kMusic:
      return OPUS_SIGNAL_MUSIC;
  }
  return OPUS_AUTO;
}

Error OpusError(std::string_view what, int code) {
  return Error{fmt::format("opus: {}: {}", what, opus_strerror(code))};
}

Status CheckCtl(std::string_view what, int code) {
  if (code != OPUS_OK) return OpusError(what, code);
  return Status::Ok();
}

Status ValidateBitrate(int bitrate_bps) {
  if (bitrate_bps < kMinBitrateBps || bitrate_bps > kMaxBitrateBps) {
    return Error{fmt::format("opus: bitrate {} bps out of range ({}..{})", bitrate_bps,
                             kMinBitrateBps, kMaxBitrateBps)};
  }
  return Status::Ok();
}

Status ValidateFrameMs(int frame_ms) {
  if (!GetCodecInfo(CodecId::kOpus).AcceptsFrameMs(frame_ms)) {
    return Error{
        fmt::format("opus: frame duration {} ms not supported (10, 20, 40, 60, 80, 100, "
                    "120)",
                    frame_ms)};
  }
  return Status::Ok();
}

Status ValidateComplexity(int complexity) {
  if (complexity < 0 || complexity > 10) {
    return Error{fmt::format("opus: complexity {} out of range (0..10)", complexity)};
  }
  return Status::Ok();
}

Status ValidateLossPercent(int percent) {
  if (percent < 0 || percent > 100) {
    return Error{fmt::format("opus: expected loss {}% out of range (0..100)", percent)};
  }
  return Status::Ok();
}

Status ValidateFormat(int sample_rate_hz, int channels) {
  if (!IsOpusSampleRate(sample_rate_hz)) {
    return Error{
        fmt::format("opus: sample rate {} Hz not supported (8000, 12000, 16000, 24000, "
                    "48000)",
                    sample_rate_hz)};
  }
  if (channels != 1 && channels != 2) {
    return Error{fmt::format("opus: channels {} not supported (1 or 2)", channels)};
  }
  return Status::Ok();
}

}  // namespace

bool IsOpusSampleRate(int rate_hz) {
  return rate_hz == 8000 || rate_hz == 12000 || rate_hz == 16000 || rate_hz == 24000 ||
         rate_hz == 48000;
}

// --- Encoder -----------------------------------------------------------------

OpusAudioEncoder::OpusAudioEncoder(int sample_rate_hz, int channels)
    : state_memory_(std::make_unique<uint8_t[]>(opus_encoder_get_size(channels))),
      state_(reinterpret_cast<::OpusEncoder*>(state_memory_.get())),
      sample_rate_hz_(sample_rate_hz),
      channels_(channels) {}

OpusAudioEncoder::~OpusAudioEncoder() = default;

Result<std::unique_ptr<OpusAudioEncoder>> OpusAudioEncoder::Create(int sample_rate_hz, int channels,
                                                                   const OpusSettings& settings) {
  if (Status s = ValidateFormat(sample_rate_hz, channels); !s) return s.error();
  std::unique_ptr<OpusAudioEncoder> encoder(new OpusAudioEncoder(sample_rate_hz, channels));
  const int code =
      opus_encoder_init(encoder->state_, sample_rate_hz, channels, ToOpus(settings.application));
  if (code != OPUS_OK) return OpusError("encoder init", code);
  encoder->settings_.application = settings.application;
  if (Status s = encoder->Apply(settings); !s) return s.error();
  return encoder;
}

const CodecInfo& OpusAudioEncoder::info() const { return GetCodecInfo(CodecId::kOpus); }

int OpusAudioEncoder::lookahead_samples() const {
  opus_int32 lookahead = 0;
  opus_encoder_ctl(state_, OPUS_GET_LOOKAHEAD(&lookahead));
  return lookahead;
}

Result<size_t> OpusAudioEncoder::Encode(std::span<const int16_t> pcm, std::span<uint8_t> out) {
  const int samples = frame_samples();
  if (pcm.size() != static_cast<size_t>(samples * channels_)) {
    return Error{fmt::format("opus: encode needs {} samples ({} ms x {} ch), got {}",
                             samples * channels_, settings_.frame_ms, channels_, pcm.size())};
  }
  const opus_int32 capacity =
      static_cast<opus_int32>(std::min(out.size(), static_cast<size_t>(kMaxPayloadBytes)));
  const opus_int32 bytes = opus_encode(state_, pcm.data(), samples, out.data(), capacity);
  if (bytes < 0) return OpusError("encode", bytes);
  encoded_any_ = true;
  // With DTX on, libopus marks silent frames by returning a packet of at most 2 bytes:
  // those are not to be sent (RFC 7587 3.1.3).
  if (settings_.dtx && bytes <= 2) return size_t{0};
  return static_cast<size_t>(bytes);
}

Status OpusAudioEncoder::SetFrameMs(int frame_ms) {
  if (Status s = ValidateFrameMs(frame_ms); !s) return s;
  settings_.frame_ms = frame_ms;
  return Status::Ok();
}

Status OpusAudioEncoder::SetBitrate(int bitrate_bps) {
  if (Status s = ValidateBitrate(bitrate_bps); !s) return s;
  if (Status s = CheckCtl("set bitrate", opus_encoder_ctl(state_, OPUS_SET_BITRATE(bitrate_bps)));
      !s) {
    return s;
  }
  settings_.bitrate_bps = bitrate_bps;
  return Status::Ok();
}

Status OpusAudioEncoder::SetComplexity(int complexity) {
  if (Status s = ValidateComplexity(complexity); !s) return s;
  if (Status s =
          CheckCtl("set complexity", opus_encoder_ctl(state_, OPUS_SET_COMPLEXITY(complexity)));
      !s) {
    return s;
  }
  settings_.complexity = complexity;
  return Status::Ok();
}

Status OpusAudioEncoder::SetApplication(OpusApplication application) {
  if (application == settings_.application) return Status::Ok();
  if (!encoded_any_) {
    if (Status s = CheckCtl("set application",
                            opus_encoder_ctl(state_, OPUS_SET_APPLICATION(ToOpus(application))));
        !s) {
      return s;
    }
    settings_.application = application;
    return Status::Ok();
  }
  // libopus refuses a new application after the first frame; restart the state in place.
  const int code = opus_encoder_init(state_, sample_rate_hz_, channels_, ToOpus(application));
  if (code != OPUS_OK) return OpusError("encoder re-init", code);
  settings_.application = application;
  encoded_any_ = false;
  return ApplyAllToState();
}

Status OpusAudioEncoder::SetBitrateMode(OpusBitrateMode mode) {
  const int vbr = mode == OpusBitrateMode::kCbr ? 0 : 1;
  const int constrained = mode == OpusBitrateMode::kConstrainedVbr ? 1 : 0;
  if (Status s = CheckCtl("set vbr", opus_encoder_ctl(state_, OPUS_SET_VBR(vbr))); !s) return s;
  if (Status s = CheckCtl("set vbr constraint",
                          opus_encoder_ctl(state_, OPUS_SET_VBR_CONSTRAINT(constrained)));
      !s) {
    return s;
  }
  settings_.bitrate_mode = mode;
  return Status::Ok();
}

Status OpusAudioEncoder::SetInbandFec(bool enabled) {
  if (Status s = CheckCtl("set inband fec",
                          opus_encoder_ctl(state_, OPUS_SET_INBAND_FEC(enabled ? 1 : 0)));
      !s) {
    return s;
  }
  settings_.inband_fec = enabled;
  return Status::Ok();
}

Status OpusAudioEncoder::SetExpectedLossPercent(int percent) {
  if (Status s = ValidateLossPercent(percent); !s) return s;
  if (Status s =
          CheckCtl("set packet loss", opus_encoder_ctl(state_, OPUS_SET_PACKET_LOSS_PERC(percent)));
      !s) {
    return s;
  }
  settings_.expected_loss_percent = percent;
  return Status::Ok();
}

Status OpusAudioEncoder::SetDtx(bool enabled) {
  if (Status s = CheckCtl("set dtx", opus_encoder_ctl(state_, OPUS_SET_DTX(enabled ? 1 : 0))); !s) {
    return s;
  }
  settings_.dtx = enabled;
  return Status::Ok();
}

Status OpusAudioEncoder::SetMaxBandwidth(OpusBandwidth bandwidth) {
  if (Status s = CheckCtl("set max bandwidth",
                          opus_encoder_ctl(state_, OPUS_SET_MAX_BANDWIDTH(ToOpus(bandwidth))));
      !s) {
    return s;
  }
  settings_.max_bandwidth = bandwidth;
  return Status::Ok();
}

Status OpusAudioEncoder::SetSignal(OpusSignal signal) {
  if (Status s = CheckCtl("set signal", opus_encoder_ctl(state_, OPUS_SET_SIGNAL(ToOpus(signal))));
      !s) {
    return s;
  }
  settings_.signal = signal;
  return Status::Ok();
}

Status OpusAudioEncoder::Apply(const OpusSettings& settings) {
  // Validate everything first so a bad field leaves the encoder as it was.
  for (const Status& s :
       {ValidateBitrate(settings.bitrate_bps), ValidateComplexity(settings.complexity),
        ValidateFrameMs(settings.frame_ms), ValidateLossPercent(settings.expected_loss_percent)}) {
    if (!s) return s;
  }
  if (Status s = SetApplication(settings.application); !s) return s;
  settings_ = settings;
  return ApplyAllToState();
}

Status OpusAudioEncoder::ApplyAllToState() {
  const OpusSettings s = settings_;
  for (const Status& status :
       {SetBitrate(s.bitrate_bps), SetComplexity(s.complexity), SetBitrateMode(s.bitrate_mode),
        SetInbandFec(s.inband_fec), SetExpectedLossPercent(s.expected_loss_percent), SetDtx(s.dtx),
        SetMaxBandwidth(s.max_bandwidth), SetSignal(s.signal), SetFrameMs(s.frame_ms)}) {
    if (!status) return status;
  }
  return Status::Ok();
}

// --- Decoder -----------------------------------------------------------------

OpusAudioDecoder::OpusAudioDecoder(int sample_rate_hz, int channels)
    : state_memory_(std::make_unique<uint8_t[]>(opus_decoder_get_size(channels))),
      state_(reinterpret_cast<::OpusDecoder*>(state_memory_.get())),
      sample_rate_hz_(sample_rate_hz),
      channels_(channels) {}

OpusAudioDecoder::~OpusAudioDecoder() = default;

Result<std::unique_ptr<OpusAudioDecoder>> OpusAudioDecoder::Create(int sample_rate_hz,
                                                                   int channels) {
  if (Status s = ValidateFormat(sample_rate_hz, channels); !s) return s.error();
  std::unique_ptr<OpusAudioDecoder> decoder(new OpusAudioDecoder(sample_rate_hz, channels));
  const int code = opus_decoder_init(decoder->state_, sample_rate_hz, channels);
  if (code != OPUS_OK) return OpusError("decoder init", code);
  return decoder;
}

const CodecInfo& OpusAudioDecoder::info() const { return GetCodecInfo(CodecId::kOpus); }

Result<int> OpusAudioDecoder::PacketSamples(std::span<const uint8_t> payload) const {
  if (payload.empty()) return Error{"opus: empty payload"};
  const int samples = opus_packet_get_nb_samples(
      payload.data(), static_cast<opus_int32>(payload.size()), sample_rate_hz_);
  if (samples < 0) return OpusError("packet duration", samples);
  // Code 3 packets state their frame count; zero frames is malformed (RFC 6716 3.2.5).
  if (samples == 0) return Error{"opus: packet holds no frames"};
  return samples;
}

Result<int> OpusAudioDecoder::Decode(std::span<const uint8_t> payload, std::span<int16_t> out) {
  // An empty payload would make libopus conceal; a caller wanting PLC asks Conceal().
  if (payload.empty()) return Error{"opus: empty payload"};
  const int samples = opus_decode(state_, payload.data(), static_cast<opus_int32>(payload.size()),
                                  out.data(), static_cast<int>(out.size()) / channels_, 0);
  if (samples < 0) return OpusError(fmt::format("decode of {} bytes", payload.size()), samples);
  return samples;
}

Result<int> OpusAudioDecoder::Conceal(int samples_per_channel, std::span<int16_t> out) {
  // libopus conceals in multiples of 2.5 ms.
  const int quantum = sample_rate_hz_ / 400;
  if (samples_per_channel <= 0 || samples_per_channel % quantum != 0) {
    return Error{fmt::format("opus: concealment of {} samples is not a multiple of 2.5 ms ({})",
                             samples_per_channel, quantum)};
  }
  if (out.size() < static_cast<size_t>(samples_per_channel * channels_)) {
    return Error{fmt::format("opus: output of {} samples < {} requested", out.size(),
                             samples_per_channel * channels_)};
  }
  const int step = sample_rate_hz_ / 1000 * kPlcStepMs;
  int done = 0;
  while (done < samples_per_channel) {
    const int n = std::min(step, samples_per_channel - done);
    const int got = opus_decode(state_, nullptr, 0, out.data() + done * channels_, n, 0);
    if (got < 0) return OpusError("conceal", got);
    done += got;
  }
  return done;
}

Result<int> OpusAudioDecoder::DecodeFec(std::span<const uint8_t> next_payload,
                                        int samples_per_channel, std::span<int16_t> out) {
  if (next_payload.empty()) return Error{"opus: empty payload"};
  if (out.size() < static_cast<size_t>(samples_per_channel * channels_)) {
    return Error{fmt::format("opus: output of {} samples < {} requested", out.size(),
                             samples_per_channel * channels_)};
  }
  const int samples =
      opus_decode(state_, next_payload.data(), static_cast<opus_int32>(next_payload.size()),
                  out.data(), samples_per_channel, 1);
  if (samples < 0) return OpusError("fec decode", samples);
  return samples;
}

void OpusAudioDecoder::Reset() { opus_decoder_ctl(state_, OPUS_RESET_STATE); }

// --- Registry factories ------------------------------------------------------

Result<std::unique_ptr<AudioEncoder>> CreateOpusEncoder(const EncoderConfig& config) {
  const CodecInfo& info = GetCodecInfo(CodecId::kOpus);
  OpusSettings settings;
  settings.bitrate_bps = config.bitrate_bps > 0 ? config.bitrate_bps : info.default_bitrate_bps;
  settings.frame_ms = config.frame_ms > 0 ? config.frame_ms : info.default_frame_ms;
  if (config.complexity >= 0) settings.complexity = config.complexity;
  settings.inband_fec = config.fec;
  settings.expected_loss_percent = config.expected_loss_percent;
  settings.dtx = config.dtx;
  const int rate = config.sample_rate_hz > 0 ? config.sample_rate_hz : info.sample_rate_hz;
  auto encoder = OpusAudioEncoder::Create(rate, config.channels, settings);
  if (!encoder) return encoder.error();
  return std::unique_ptr<AudioEncoder>(std::move(encoder).value());
}

Result<std::unique_ptr<AudioDecoder>> CreateOpusDecoder(const DecoderConfig& config) {
  const int rate = config.sample_rate_hz > 0 ? config.sample_rate_hz
                                             : GetCodecInfo(CodecId::kOpus).sample_rate_hz;
  auto decoder = OpusAudioDecoder::Create(rate, config.channels);
  if (!decoder) return decoder.error();
  return std::unique_ptr<AudioDecoder>(std::move(decoder).value());
}

}  // namespace parley::codec
