#include "parley/codec/decoder_bank.h"

#include <fmt/format.h>

#include <algorithm>

#include "parley/audio/audio_frame.h"
#include "parley/audio/resampler.h"
#include "parley/codec/codec2_codec.h"
#include "parley/codec/opus_codec.h"
#include "parley/codec/registry.h"

namespace parley::codec {

struct DecoderBank::Slot {
  Binding binding;
  std::unique_ptr<AudioDecoder> decoder;        // built on first packet
  std::unique_ptr<audio::Resampler> resampler;  // when the decoder's rate differs
};

DecoderBank::DecoderBank(Config config)
    : config_(config),
      decoded_(kMaxPacketSamples48k * kMaxChannels),
      remixed_(kMaxPacketSamples48k * kMaxChannels) {
  for (const CodecInfo& codec : AllCodecs()) {
    if (codec.static_payload_type >= 0) {
      (void)Map(codec.static_payload_type, Binding{&codec, 0, 1, 0});
    }
  }
}

DecoderBank::~DecoderBank() = default;

Status DecoderBank::Map(int payload_type, const Binding& binding) {
  if (payload_type < 0 || payload_type > 127) {
    return Error{fmt::format("payload type {} out of range (0..127)", payload_type)};
  }
  if (binding.codec == nullptr) return Error{"payload type binding without a codec"};
  slots_[payload_type] = std::make_unique<Slot>();
  slots_[payload_type]->binding = binding;
  if (current_payload_type_ == payload_type) current_payload_type_ = -1;
  return Status::Ok();
}

const DecoderBank::Binding* DecoderBank::Find(int payload_type) const {
  if (payload_type < 0 || payload_type > 127 || !slots_[payload_type]) return nullptr;
  return &slots_[payload_type]->binding;
}

Result<DecoderBank::Slot*> DecoderBank::SlotFor(int payload_type) {
  if (payload_type < 0 || payload_type > 127 || !slots_[payload_type]) {
    ++unknown_payload_type_packets_;
    return Error{fmt::format("unknown payload type {}", payload_type)};
  }
  Slot* slot = slots_[payload_type].get();
  if (slot->decoder) return slot;

  const Binding& b = slot->binding;
  DecoderConfig config;
  config.channels = b.channels;
  if (b.codec->id == CodecId::kOpus && IsOpusSampleRate(config_.output_rate_hz)) {
    config.sample_rate_hz = config_.output_rate_hz;  // libopus decodes straight to our rate
  } else {
    config.sample_rate_hz = b.sample_rate_hz;
  }
  auto decoder = b.codec->id == CodecId::kCodec2 ? CreateCodec2DecoderForMode(b.bitrate_bps, config)
                                                 : CreateDecoder(*b.codec, config);
  if (!decoder) return decoder.error();
  const int rate = (*decoder)->sample_rate_hz();
  if (rate != config_.output_rate_hz) {
    auto resampler =
        audio::Resampler::Create(rate, config_.output_rate_hz, config_.output_channels);
    if (!resampler) return resampler.error();
    slot->resampler = std::move(resampler).value();
  }
  slot->decoder = std::move(decoder).value();
  return slot;
}

Result<int> DecoderBank::Decode(int payload_type, std::span<const uint8_t> payload,
                                std::span<int16_t> out) {
  auto slot = SlotFor(payload_type);
  if (!slot) return slot.error();
  AudioDecoder& decoder = *(*slot)->decoder;
  if (payload_type != current_payload_type_) {
    if (current_payload_type_ >= 0) {
      ++switches_;
      // The decoder we return to holds the history of an earlier stretch of the stream.
      decoder.Reset();
      if ((*slot)->resampler) (*slot)->resampler->Reset();
    }
    current_payload_type_ = payload_type;
  }

  auto samples = decoder.Decode(payload, decoded_);
  if (!samples) {
    ++malformed_packets_;
    return Error{fmt::format("payload type {} ({}): {}", payload_type, decoder.info().name,
                             samples.error().message)};
  }
  const int frames = *samples;
  std::span<const int16_t> pcm(decoded_.data(), static_cast<size_t>(frames * decoder.channels()));
  if (decoder.channels() != config_.output_channels) {
    const auto out_size = static_cast<size_t>(frames * config_.output_channels);
    if (config_.output_channels == 1) {
      audio::DownmixToMono(pcm, decoder.channels(), std::span(remixed_).first(out_size));
    } else {
      audio::UpmixFromMono(pcm, config_.output_channels, std::span(remixed_).first(out_size));
    }
    pcm = std::span<const int16_t>(remixed_.data(), out_size);
  }
  if ((*slot)->resampler) {
    resampled_.clear();
    (*slot)->resampler->Process(pcm, resampled_);
    pcm = resampled_;
  }
  if (pcm.size() > out.size()) {
    return Error{fmt::format("output of {} samples < {} decoded", out.size(), pcm.size())};
  }
  std::copy(pcm.begin(), pcm.end(), out.begin());
  return static_cast<int>(pcm.size()) / config_.output_channels;
}

}  // namespace parley::codec
