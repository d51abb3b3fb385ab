// Opus (RFC 6716) through libopus.
//
// Every encoder control libopus offers for voice is settable at run time on the
// same encoder; the next Encode() uses it. One exception is forced by libopus:
// the application (voip / audio / restricted-lowdelay) is fixed once a frame has
// been encoded, so changing it afterwards re-initialises the encoder state in
// place (same object, settings kept; the signal restarts as at a new stream).
//
// Decoder: normal decode, codec PLC for a requested duration, and recovery of a
// lost frame from the in-band FEC (LBRR) of the packet that follows it.
#pragma once

#include <memory>
#include <span>

#include "parley/codec/codec.h"

struct OpusEncoder;
struct OpusDecoder;

namespace parley::codec {

enum class OpusApplication { kVoip, kAudio, kRestrictedLowDelay };
enum class OpusBitrateMode { kVbr, kConstrainedVbr, kCbr };
// Audio bandwidth: narrowband 4 kHz, mediumband 6, wideband 8, super-wideband 12, fullband 20.
enum class OpusBandwidth { kNarrowband, kMediumband, kWideband, kSuperWideband, kFullband };
enum class OpusSignal { kAuto, kVoice, kMusic };

// Legal values are checked by the setters; defaults suit a voice call.
struct OpusSettings {
  OpusApplication application = OpusApplication::kVoip;
  int bitrate_bps = 24000;  // 6000..510000
  int complexity = 9;       // 0 (fastest) .. 10 (best)
  int frame_ms = 20;        // 10, 20, 40, 60, 80, 100, 120
  OpusBitrateMode bitrate_mode = OpusBitrateMode::kVbr;
  bool inband_fec = false;        // LBRR: a low-rate copy of the previous frame in each packet
  int expected_loss_percent = 0;  // 0..100; how much FEC the encoder spends
  bool dtx = false;               // send nothing during silence (packets <= 2 bytes are dropped)
  OpusBandwidth max_bandwidth = OpusBandwidth::kFullband;
  OpusSignal signal = OpusSignal::kAuto;
};

class OpusAudioEncoder final : public AudioEncoder {
 public:
  // sample_rate_hz: 8000, 12000, 16000, 24000 or 48000; channels: 1 or 2.
  static Result<std::unique_ptr<OpusAudioEncoder>> Create(int sample_rate_hz, int channels,
                                                          const OpusSettings& settings);
  ~OpusAudioEncoder() override;

  const CodecInfo& info() const override;
  int sample_rate_hz() const override { return sample_rate_hz_; }
  int channels() const override { return channels_; }
  int frame_ms() const override { return settings_.frame_ms; }
  int bitrate_bps() const override { return settings_.bitrate_bps; }
  size_t max_payload_bytes() const override { return kMaxPayloadBytes; }
  const OpusSettings& settings() const { return settings_; }
  // Encoder delay in samples per channel at sample_rate_hz() (libopus lookahead).
  int lookahead_samples() const;

  // Returns 0 for a DTX frame (nothing to send).
  [[nodiscard]] Result<size_t> Encode(std::span<const int16_t> pcm,
                                      std::span<uint8_t> out) override;

  [[nodiscard]] Status SetFrameMs(int frame_ms) override;
  [[nodiscard]] Status SetBitrate(int bitrate_bps) override;
  [[nodiscard]] Status SetComplexity(int complexity);
  [[nodiscard]] Status SetApplication(OpusApplication application);
  [[nodiscard]] Status SetBitrateMode(OpusBitrateMode mode);
  [[nodiscard]] Status SetInbandFec(bool enabled);
  [[nodiscard]] Status SetExpectedLossPercent(int percent);
  [[nodiscard]] Status SetDtx(bool enabled);
  [[nodiscard]] Status SetMaxBandwidth(OpusBandwidth bandwidth);
  [[nodiscard]] Status SetSignal(OpusSignal signal);
  // Applies every field of `settings`, validating all before changing any.
  [[nodiscard]] Status Apply(const OpusSettings& settings);

  // RFC 6716 3.2.1 recommends 1275 bytes per frame; 1500 covers a packet on any MTU.
  static constexpr size_t kMaxPayloadBytes = 1500;

 private:
  OpusAudioEncoder(int sample_rate_hz, int channels);
  Status ApplyAllToState();

  // Allocated by this.
  std::unique_ptr<uint8_t[]> state_memory_;
  ::OpusEncoder* state_ = nullptr;
  // Others.
  int sample_rate_hz_;
  int channels_;
  OpusSettings settings_;
  bool encoded_any_ = false;
};

class OpusAudioDecoder final : public AudioDecoder {
 public:
  // sample_rate_hz: 8000, 12000, 16000, 24000 or 48000 (any Opus stream decodes at any
  // of them); channels: 1 or 2.
  static Result<std::unique_ptr<OpusAudioDecoder>> Create(int sample_rate_hz, int channels);
  ~OpusAudioDecoder() override;

  const CodecInfo& info() const override;
  int sample_rate_hz() const override { return sample_rate_hz_; }
  int channels() const override { return channels_; }

  [[nodiscard]] Result<int> PacketSamples(std::span<const uint8_t> payload) const override;
  [[nodiscard]] Result<int> Decode(std::span<const uint8_t> payload,
                                   std::span<int16_t> out) override;
  bool has_plc() const override { return true; }
  // samples_per_channel must be a multiple of 2.5 ms; longer requests run in 20 ms steps.
  [[nodiscard]] Result<int> Conceal(int samples_per_channel, std::span<int16_t> out) override;
  bool has_fec() const override { return true; }
  [[nodiscard]] Result<int> DecodeFec(std::span<const uint8_t> next_payload,
                                      int samples_per_channel, std::span<int16_t> out) override;
  void Reset() override;

 private:
  OpusAudioDecoder(int sample_rate_hz, int channels);

  // Allocated by this.
  std::unique_ptr<uint8_t[]> state_memory_;
  ::OpusDecoder* state_ = nullptr;
  // Others.
  int sample_rate_hz_;
  int channels_;
};

// Registry factories: EncoderConfig/DecoderConfig mapped onto OpusSettings.
Result<std::unique_ptr<AudioEncoder>> CreateOpusEncoder(const EncoderConfig& config);
Result<std::unique_ptr<AudioDecoder>> CreateOpusDecoder(const DecoderConfig& config);

// Whether `rate_hz` is one libopus accepts for PCM in or out.
bool IsOpusSampleRate(int rate_hz);

}  // namespace parley::codec
