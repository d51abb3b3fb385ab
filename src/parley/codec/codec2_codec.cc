#include "parley/codec/codec2_codec.h"

#include <codec2/codec2.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "parley/codec/config_check.h"
#include "parley/codec/fixed_rate_codec.h"
#include "parley/codec/registry.h"

namespace parley::codec {
namespace {

constexpr int kSampleRateHz = 8000;
constexpr int kSamplesPerMs = kSampleRateHz / 1000;
constexpr int kDefaultBitrateBps = 3200;
constexpr int kMaxFrameSamples = 40 * kSamplesPerMs;  // the longest native frame

constexpr std::array<Codec2Mode, 7> kModes = {{
    {3200, CODEC2_MODE_3200, "3200", 20, 8},
    {2400, CODEC2_MODE_2400, "2400", 20, 6},
    {1600, CODEC2_MODE_1600, "1600", 40, 8},
    {1400, CODEC2_MODE_1400, "1400", 40, 7},
    {1300, CODEC2_MODE_1300, "1300", 40, 7},
    {1200, CODEC2_MODE_1200, "1200", 40, 6},
    {700, CODEC2_MODE_700C, "700C", 40, 4},
}};

const CodecInfo& Info() { return GetCodecInfo(CodecId::kCodec2); }

Error UnknownBitrate(int bitrate_bps) {
  return Error{
      fmt::format("codec2: bitrate_bps {} not supported (0 = {}, or 3200, 2400, 1600, "
                  "1400, 1300, 1200, 700)",
                  bitrate_bps, kDefaultBitrateBps)};
}

Status CheckFrameMsForMode(const Codec2Mode& mode, int frame_ms) {
  if (frame_ms < mode.frame_ms || frame_ms > Info().max_frame_ms || frame_ms % mode.frame_ms != 0) {
    return Error{
        fmt::format("codec2: frame_ms {} not supported at {} bit/s ({}..{} in steps of "
                    "{})",
                    frame_ms, mode.bitrate_bps, mode.frame_ms, Info().max_frame_ms, mode.frame_ms)};
  }
  return Status::Ok();
}

struct Codec2Deleter {
  void operator()(CODEC2* s) const { codec2_destroy(s); }
};
using Codec2State = std::unique_ptr<CODEC2, Codec2Deleter>;

// A libcodec2 state for `mode`, checked against the table above.
Result<Codec2State> MakeState(const Codec2Mode& mode) {
  Codec2State state(codec2_create(mode.mode));
  if (!state) {
    return Error{fmt::format("codec2: libcodec2 could not create mode {}", mode.name)};
  }
  if (codec2_samples_per_frame(state.get()) != mode.frame_ms * kSamplesPerMs ||
      codec2_bytes_per_frame(state.get()) != mode.frame_bytes) {
    return Error{fmt::format(
        "codec2: libcodec2 mode {} has {} samples / {} bytes per frame, "
        "expected {} / {}",
        mode.name, codec2_samples_per_frame(state.get()), codec2_bytes_per_frame(state.get()),
        mode.frame_ms * kSamplesPerMs, mode.frame_bytes)};
  }
  return state;
}

class Codec2Encoder final : public AudioEncoder {
 public:
  Codec2Encoder(Codec2State state, const Codec2Mode& mode, int frame_ms)
      : state_(std::move(state)), mode_(&mode), frame_ms_(frame_ms) {}

  const CodecInfo& info() const override { return Info(); }
  int sample_rate_hz() const override { return kSampleRateHz; }
  int channels() const override { return 1; }
  int frame_ms() const override { return frame_ms_; }
  int bitrate_bps() const override { return mode_->bitrate_bps; }
  size_t max_payload_bytes() const override {
    return static_cast<size_t>(frame_ms_ / mode_->frame_ms * mode_->frame_bytes);
  }

  Result<size_t> Encode(std::span<const int16_t> pcm, std::span<uint8_t> out) override {
    if (Status s = CheckEncodeBuffers(Info(), frame_ms_, 1, pcm.size(),
                                      static_cast<size_t>(frame_samples()), out.size(),
                                      max_payload_bytes());
        !s) {
      return s.error();
    }
    const int frames = frame_ms_ / mode_->frame_ms;
    const int native_samples = mode_->frame_ms * kSamplesPerMs;
    for (int f = 0; f < frames; ++f) {
      // codec2_encode() takes a non-const pointer; it reads the input only.
      std::copy_n(pcm.begin() + f * native_samples, native_samples, frame_.begin());
      codec2_encode(state_.get(), out.data() + f * mode_->frame_bytes, frame_.data());
    }
    return max_payload_bytes();
  }

  Status SetFrameMs(int frame_ms) override {
    if (Status s = CheckFrameMsForMode(*mode_, frame_ms); !s) return s;
    frame_ms_ = frame_ms;
    return Status::Ok();
  }

  // Switches mode: a new libcodec2 state (allocates; not a per-packet call).
  Status SetBitrate(int bitrate_bps) override {
    const Codec2Mode* mode =
        FindCodec2ModeByBitrate(bitrate_bps == 0 ? kDefaultBitrateBps : bitrate_bps);
    if (mode == nullptr) return UnknownBitrate(bitrate_bps);
    if (mode == mode_) return Status::Ok();
    if (Status s = CheckFrameMsForMode(*mode, frame_ms_); !s) return s;
    Result<Codec2State> state = MakeState(*mode);
    if (!state) return state.error();
    state_ = std::move(*state);
    mode_ = mode;
    return Status::Ok();
  }

 private:
  // Allocated by this.
  Codec2State state_;
  std::array<short, kMaxFrameSamples> frame_{};
  // Others.
  const Codec2Mode* mode_;  // points into kModes
  int frame_ms_;
};

class Codec2Decoder final : public FixedRateDecoder {
 public:
  Codec2Decoder(Codec2State state, const Codec2Mode& mode)
      : FixedRateDecoder(Info()), state_(std::move(state)), mode_(&mode) {}

  Result<int> PacketSamples(std::span<const uint8_t> payload) const override {
    Result<size_t> frames = CheckWholeFrames(Info(), payload.size(),
                                             static_cast<size_t>(mode_->frame_bytes), mode_->name);
    if (!frames) return frames.error();
    return static_cast<int>(*frames) * mode_->frame_ms * kSamplesPerMs;
  }

  Result<int> Decode(std::span<const uint8_t> payload, std::span<int16_t> out) override {
    Result<int> samples = CheckDecodeInput(payload, out);
    if (!samples) return samples;
    const size_t frames = payload.size() / static_cast<size_t>(mode_->frame_bytes);
    const int native_samples = mode_->frame_ms * kSamplesPerMs;
    for (size_t f = 0; f < frames; ++f) {
      codec2_decode(state_.get(), out.data() + f * native_samples,
                    payload.data() + f * mode_->frame_bytes);
    }
    return samples;
  }

  void Reset() override {
    // libcodec2 has no reset; a fresh state is the only clean one (allocates, off the packet
    // path).
    if (Result<Codec2State> fresh = MakeState(*mode_); fresh) state_ = std::move(*fresh);
  }

 private:
  // Allocated by this.
  Codec2State state_;
  // Others.
  const Codec2Mode* mode_;  // points into kModes
};

}  // namespace

std::span<const Codec2Mode> Codec2Modes() { return kModes; }

const Codec2Mode* FindCodec2ModeByBitrate(int bitrate_bps) {
  for (const Codec2Mode& mode : kModes) {
    if (mode.bitrate_bps == bitrate_bps) return &mode;
  }
  return nullptr;
}

const Codec2Mode* FindCodec2ModeByNumber(int mode_number) {
  for (const Codec2Mode& mode : kModes) {
    if (mode.mode == mode_number) return &mode;
  }
  return nullptr;
}

Result<std::unique_ptr<AudioEncoder>> CreateCodec2Encoder(const EncoderConfig& config) {
  if (Status s = CheckOwnSampleRate(Info(), config.sample_rate_hz); !s) return s.error();
  if (Status s = CheckChannels(Info(), config.channels); !s) return s.error();
  const Codec2Mode* mode =
      FindCodec2ModeByBitrate(config.bitrate_bps == 0 ? kDefaultBitrateBps : config.bitrate_bps);
  if (mode == nullptr) return UnknownBitrate(config.bitrate_bps);
  const int frame_ms = config.frame_ms == 0 ? Info().default_frame_ms : config.frame_ms;
  if (Status s = CheckFrameMsForMode(*mode, frame_ms); !s) return s.error();
  Result<Codec2State> state = MakeState(*mode);
  if (!state) return state.error();
  return std::unique_ptr<AudioEncoder>(
      std::make_unique<Codec2Encoder>(std::move(*state), *mode, frame_ms));
}

Result<std::unique_ptr<AudioDecoder>> CreateCodec2Decoder(const DecoderConfig& config) {
  return CreateCodec2DecoderForMode(kDefaultBitrateBps, config);
}

Result<std::unique_ptr<AudioDecoder>> CreateCodec2DecoderForMode(int bitrate_bps,
                                                                 const DecoderConfig& config) {
  if (Status s = CheckFixedRateDecoderConfig(Info(), config); !s) return s.error();
  const Codec2Mode* mode =
      FindCodec2ModeByBitrate(bitrate_bps == 0 ? kDefaultBitrateBps : bitrate_bps);
  if (mode == nullptr) return UnknownBitrate(bitrate_bps);
  Result<Codec2State> state = MakeState(*mode);
  if (!state) return state.error();
  return std::unique_ptr<AudioDecoder>(std::make_unique<Codec2Decoder>(std::move(*state), *mode));
}

Result<Codec2FileHeader> MakeCodec2FileHeader(int bitrate_bps) {
  const Codec2Mode* mode = FindCodec2ModeByBitrate(bitrate_bps);
  if (mode == nullptr) return UnknownBitrate(bitrate_bps);
  return Codec2FileHeader{CODEC2_VERSION_MAJOR, CODEC2_VERSION_MINOR,
                          static_cast<uint8_t>(mode->mode), 0};
}

Result<Codec2FileHeader> ParseCodec2FileHeader(std::span<const uint8_t> bytes) {
  // Offsets of the fields in the diagram in codec2_codec.h.
  constexpr size_t kVersionMajorOffset = 3;
  constexpr size_t kVersionMinorOffset = 4;
  constexpr size_t kModeOffset = 5;
  constexpr size_t kFlagsOffset = 6;
  if (bytes.size() < kCodec2FileHeaderBytes) {
    return Error{
        fmt::format("c2 header: {} bytes < header {} bytes", bytes.size(), kCodec2FileHeaderBytes)};
  }
  for (size_t i = 0; i < std::size(kCodec2FileMagic); ++i) {
    if (bytes[i] != kCodec2FileMagic[i]) {
      return Error{
          fmt::format("c2 header: byte 0x{:02x} at offset {} is not the magic "
                      "c0 de c2 (expected 0x{:02x})",
                      bytes[i], i, kCodec2FileMagic[i])};
    }
  }
  const uint8_t mode = bytes[kModeOffset];
  if (FindCodec2ModeByNumber(mode) == nullptr) {
    return Error{
        fmt::format("c2 header: mode {} at offset {} not supported (0=3200, 1=2400, "
                    "2=1600, 3=1400, 4=1300, 5=1200, 8=700C)",
                    mode, kModeOffset)};
  }
  return Codec2FileHeader{bytes[kVersionMajorOffset], bytes[kVersionMinorOffset], mode,
                          bytes[kFlagsOffset]};
}

Result<size_t> SerializeCodec2FileHeader(const Codec2FileHeader& header, std::span<uint8_t> out) {
  if (out.size() < kCodec2FileHeaderBytes) {
    return Error{fmt::format("c2 header: output buffer {} bytes < header {} bytes", out.size(),
                             kCodec2FileHeaderBytes)};
  }
  std::copy(std::begin(kCodec2FileMagic), std::end(kCodec2FileMagic), out.begin());
  out[3] = header.version_major;
  out[4] = header.version_minor;
  out[5] = header.mode;
  out[6] = header.flags;
  return kCodec2FileHeaderBytes;
}

}  // namespace parley::codec
