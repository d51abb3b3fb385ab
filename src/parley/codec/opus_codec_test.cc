#include "parley/codec/opus_codec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "parley/audio/similarity.h"
#include "parley/testing/signals.h"
#include "parley/testing/speech.h"

namespace parley::codec {
namespace {

constexpr int kRate = 48000;

std::unique_ptr<OpusAudioEncoder> MakeEncoder(const OpusSettings& settings, int channels = 1) {
  auto encoder = OpusAudioEncoder::Create(kRate, channels, settings);
  EXPECT_TRUE(encoder.ok()) << encoder.error().message;
  return std::move(encoder).value();
}

std::unique_ptr<OpusAudioDecoder> MakeDecoder(int channels = 1) {
  auto decoder = OpusAudioDecoder::Create(kRate, channels);
  EXPECT_TRUE(decoder.ok()) << decoder.error().message;
  return std::move(decoder).value();
}

// Encodes `pcm` (mono) packet by packet; a trailing partial frame is dropped.
std::vector<std::vector<uint8_t>> EncodeAll(OpusAudioEncoder& encoder,
                                            const std::vector<int16_t>& pcm) {
  std::vector<std::vector<uint8_t>> packets;
  std::vector<uint8_t> buffer(OpusAudioEncoder::kMaxPayloadBytes);
  const size_t frame = encoder.frame_samples();
  for (size_t pos = 0; pos + frame <= pcm.size(); pos += frame) {
    auto bytes = encoder.Encode(std::span(pcm).subspan(pos, frame), buffer);
    EXPECT_TRUE(bytes.ok()) << bytes.error().message;
    packets.emplace_back(buffer.begin(), buffer.begin() + static_cast<long>(*bytes));
  }
  return packets;
}

std::vector<int16_t> DecodeAll(OpusAudioDecoder& decoder,
                               const std::vector<std::vector<uint8_t>>& packets) {
  std::vector<int16_t> out;
  std::vector<int16_t> buffer(kMaxPacketSamples48k);
  for (const auto& packet : packets) {
    auto samples = decoder.Decode(packet, buffer);
    EXPECT_TRUE(samples.ok()) << samples.error().message;
    out.insert(out.end(), buffer.begin(), buffer.begin() + *samples);
  }
  return out;
}

double ErrorEnergy(std::span<const int16_t> a, std::span<const int16_t> b) {
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = double(a[i]) - double(b[i]);
    sum += d * d;
  }
  return sum;
}

struct RoundtripCase {
  int frame_ms;
  int bitrate_bps;
  double min_correlation;
};

void PrintTo(const RoundtripCase& c, std::ostream* os) {
  *os << c.frame_ms << " ms at " << c.bitrate_bps << " bps";
}

class OpusRoundtripTest : public ::testing::TestWithParam<RoundtripCase> {};

// Speech through encoder and decoder keeps its waveform: after removing the codec
// delay, the decoded signal correlates with the input. Opus is perceptual, so the
// bound rises with bitrate rather than demanding a near-exact waveform.
TEST_P(OpusRoundtripTest, SpeechSurvivesAtEveryFrameSize) {
  const RoundtripCase c = GetParam();
  const std::vector<int16_t> speech = testing::Speech(kRate, 0);
  OpusSettings settings;
  settings.frame_ms = c.frame_ms;
  settings.bitrate_bps = c.bitrate_bps;
  auto encoder = MakeEncoder(settings);
  auto decoder = MakeDecoder();
  const auto packets = EncodeAll(*encoder, speech);
  ASSERT_EQ(packets.size(), speech.size() / encoder->frame_samples());
  const std::vector<int16_t> decoded = DecodeAll(*decoder, packets);
  ASSERT_EQ(decoded.size(), packets.size() * encoder->frame_samples());

  const audio::Similarity sim = audio::CompareAligned(speech, decoded, kRate, kRate / 50);
  EXPECT_NEAR(sim.lag_samples, encoder->lookahead_samples(), 48)
      << "the codec delay is libopus' lookahead";
  EXPECT_GE(sim.correlation, c.min_correlation)
      << c.frame_ms << " ms at " << c.bitrate_bps << " bps";
}

INSTANTIATE_TEST_SUITE_P(
    FramesAndBitrates, OpusRoundtripTest,
    ::testing::Values(RoundtripCase{10, 16000, 0.80}, RoundtripCase{20, 16000, 0.80},
                      RoundtripCase{40, 16000, 0.80}, RoundtripCase{60, 16000, 0.80},
                      RoundtripCase{10, 32000, 0.90}, RoundtripCase{20, 32000, 0.90},
                      RoundtripCase{40, 32000, 0.90}, RoundtripCase{60, 32000, 0.90},
                      RoundtripCase{20, 64000, 0.95}),
    [](const ::testing::TestParamInfo<RoundtripCase>& param) {
      return std::to_string(param.param.frame_ms) + "ms_" +
             std::to_string(param.param.bitrate_bps / 1000) + "kbps";
    });

TEST(OpusCodecTest, StereoRoundtripKeepsChannelsApart) {
  const std::vector<int16_t> left = testing::Tone(440, kRate, 1.0, 0.4);
  const std::vector<int16_t> right = testing::Tone(1000, kRate, 1.0, 0.4);
  std::vector<int16_t> stereo(left.size() * 2);
  for (size_t i = 0; i < left.size(); ++i) {
    stereo[2 * i] = left[i];
    stereo[2 * i + 1] = right[i];
  }
  OpusSettings settings;
  settings.bitrate_bps = 96000;
  settings.application = OpusApplication::kAudio;
  auto encoder = MakeEncoder(settings, 2);
  auto decoder = MakeDecoder(2);
  std::vector<uint8_t> packet(OpusAudioEncoder::kMaxPayloadBytes);
  std::vector<int16_t> out(kMaxPacketSamples48k * 2);
  std::vector<int16_t> decoded;
  const size_t frame = encoder->frame_samples() * 2;
  for (size_t pos = 0; pos + frame <= stereo.size(); pos += frame) {
    auto bytes = encoder->Encode(std::span(stereo).subspan(pos, frame), packet);
    ASSERT_TRUE(bytes.ok());
    auto samples = decoder->Decode(std::span(packet).first(*bytes), out);
    ASSERT_TRUE(samples.ok());
    decoded.insert(decoded.end(), out.begin(), out.begin() + *samples * 2);
  }
  std::vector<int16_t> dec_left, dec_right;
  for (size_t i = 0; i + 1 < decoded.size(); i += 2) {
    dec_left.push_back(decoded[i]);
    dec_right.push_back(decoded[i + 1]);
  }
  EXPECT_GT(audio::CompareAligned(left, dec_left, kRate, 960).correlation, 0.95);
  EXPECT_GT(audio::CompareAligned(right, dec_right, kRate, 960).correlation, 0.95);
}

// After speech stops arriving, PLC keeps sound going (no hard zeros) and fades out.
TEST(OpusCodecTest, ConcealmentIsAudibleThenDecays) {
  const std::vector<int16_t> speech = testing::Speech(kRate, 0);
  auto encoder = MakeEncoder({});
  const auto packets = EncodeAll(*encoder, speech);
  // Stop right after the loudest packet, where PLC has a voiced signal to continue.
  auto loss_free = MakeDecoder();
  const std::vector<int16_t> reference = DecodeAll(*loss_free, packets);
  const size_t frame = encoder->frame_samples();
  size_t loudest = 0;
  double loudest_db = -200;
  for (size_t i = 0; i + 1 < packets.size() / 2; ++i) {
    const double db = testing::RmsDbfs(std::span(reference).subspan(i * frame, frame));
    if (db > loudest_db) {
      loudest_db = db;
      loudest = i;
    }
  }
  auto decoder = MakeDecoder();
  DecodeAll(*decoder, {packets.begin(), packets.begin() + static_cast<long>(loudest) + 1});
  ASSERT_TRUE(decoder->has_plc());
  std::vector<int16_t> concealed(kRate / 2);  // 500 ms
  auto samples = decoder->Conceal(static_cast<int>(concealed.size()), concealed);
  ASSERT_TRUE(samples.ok()) << samples.error().message;
  ASSERT_EQ(*samples, static_cast<int>(concealed.size()));

  const double first_db = testing::RmsDbfs(std::span(concealed).first(frame));
  const double last_db = testing::RmsDbfs(std::span(concealed).last(frame));
  EXPECT_GT(first_db, loudest_db - 20) << "the first concealed 20 ms continues the speech";
  EXPECT_LT(last_db, first_db - 20) << "long concealment fades instead of buzzing on";
}

TEST(OpusCodecTest, ConcealRejectsDurationsLibopusCannotProduce) {
  auto decoder = MakeDecoder();
  std::vector<int16_t> out(4800);
  EXPECT_FALSE(decoder->Conceal(100, out).ok());  // not a multiple of 2.5 ms (120 samples)
  EXPECT_FALSE(decoder->Conceal(0, out).ok());
  EXPECT_FALSE(decoder->Conceal(9600, out).ok());  // more than `out` holds
  EXPECT_TRUE(decoder->Conceal(480, out).ok());
}

// A lost packet recovered from the next packet's in-band FEC is closer to what the
// listener should have heard than codec PLC alone.
TEST(OpusCodecTest, FecRecoversLostFrameBetterThanPlc) {
  const std::vector<int16_t> speech = testing::Speech(kRate, 1);
  OpusSettings settings;
  settings.bitrate_bps = 32000;
  settings.inband_fec = true;
  settings.expected_loss_percent = 20;
  auto encoder = MakeEncoder(settings);
  const auto packets = EncodeAll(*encoder, speech);
  const int frame = encoder->frame_samples();

  auto loss_free = MakeDecoder();
  const std::vector<int16_t> reference = DecodeAll(*loss_free, packets);

  auto with_fec = MakeDecoder();
  auto with_plc = MakeDecoder();
  std::vector<int16_t> out(kMaxPacketSamples48k);
  double fec_error = 0;
  double plc_error = 0;
  double signal = 0;
  int recovered = 0;
  for (size_t i = 0; i < packets.size(); ++i) {
    const bool lost = i % 7 == 3 && i + 1 < packets.size();
    if (!lost) {
      ASSERT_TRUE(with_fec->Decode(packets[i], out).ok());
      ASSERT_TRUE(with_plc->Decode(packets[i], out).ok());
      continue;
    }
    const auto expected = std::span(reference).subspan(i * frame, frame);
    auto fec = with_fec->DecodeFec(packets[i + 1], frame, out);
    ASSERT_TRUE(fec.ok()) << fec.error().message;
    ASSERT_EQ(*fec, frame);
    fec_error += ErrorEnergy(expected, std::span(out).first(frame));
    auto plc = with_plc->Conceal(frame, out);
    ASSERT_TRUE(plc.ok());
    plc_error += ErrorEnergy(expected, std::span(out).first(frame));
    signal += ErrorEnergy(expected, std::vector<int16_t>(frame, 0));
    ++recovered;
  }
  ASSERT_GT(recovered, 10);
  const double fec_snr_db = 10 * std::log10(signal / fec_error);
  const double plc_snr_db = 10 * std::log10(signal / plc_error);
  EXPECT_GT(fec_snr_db, plc_snr_db + 3) << "FEC " << fec_snr_db << " dB, PLC " << plc_snr_db
                                        << " dB over " << recovered << " lost frames";
}

double MeanPacketBytes(const std::vector<std::vector<uint8_t>>& packets) {
  double total = 0;
  for (const auto& p : packets) total += static_cast<double>(p.size());
  return total / static_cast<double>(packets.size());
}

TEST(OpusCodecTest, BitrateChangeAtRunTimeChangesPacketSizes) {
  const std::vector<int16_t> speech = testing::Speech(kRate, 2);
  OpusSettings settings;
  settings.bitrate_bps = 12000;
  auto encoder = MakeEncoder(settings);
  const double low = MeanPacketBytes(EncodeAll(*encoder, speech));
  ASSERT_TRUE(encoder->SetBitrate(64000).ok());
  EXPECT_EQ(encoder->bitrate_bps(), 64000);
  const double high = MeanPacketBytes(EncodeAll(*encoder, speech));
  // 12 kbps at 20 ms is ~30 bytes a packet; 64 kbps is ~160.
  EXPECT_NEAR(low, 12000 / 8 / 50, 10);
  EXPECT_GT(high, 3.5 * low);
}

TEST(OpusCodecTest, EveryControlIsSettableAfterEncodingStarted) {
  const std::vector<int16_t> speech = testing::Speech(kRate, 0);
  auto encoder = MakeEncoder({});
  EncodeAll(*encoder, std::vector<int16_t>(speech.begin(), speech.begin() + kRate / 2));
  EXPECT_TRUE(encoder->SetComplexity(0).ok());
  EXPECT_TRUE(encoder->SetBitrateMode(OpusBitrateMode::kCbr).ok());
  EXPECT_TRUE(encoder->SetInbandFec(true).ok());
  EXPECT_TRUE(encoder->SetExpectedLossPercent(30).ok());
  EXPECT_TRUE(encoder->SetDtx(true).ok());
  EXPECT_TRUE(encoder->SetMaxBandwidth(OpusBandwidth::kNarrowband).ok());
  EXPECT_TRUE(encoder->SetSignal(OpusSignal::kVoice).ok());
  EXPECT_TRUE(encoder->SetFrameMs(60).ok());
  EXPECT_TRUE(encoder->SetApplication(OpusApplication::kRestrictedLowDelay).ok());
  EXPECT_EQ(encoder->settings().complexity, 0) << "re-initialisation keeps the settings";
  EXPECT_EQ(encoder->frame_samples(), 2880);
  // CBR at the same bitrate: every packet has the same size.
  ASSERT_TRUE(encoder->SetDtx(false).ok());
  const auto packets = EncodeAll(*encoder, speech);
  ASSERT_FALSE(packets.empty());
  for (const auto& p : packets) EXPECT_EQ(p.size(), packets.front().size());
  auto decoder = MakeDecoder();
  auto samples = decoder->PacketSamples(packets.front());
  ASSERT_TRUE(samples.ok());
  EXPECT_EQ(*samples, 2880);
}

TEST(OpusCodecTest, OutOfRangeSettingsAreRefusedWithTheField) {
  auto encoder = MakeEncoder({});
  const Status bitrate = encoder->SetBitrate(5000);
  ASSERT_FALSE(bitrate.ok());
  EXPECT_NE(bitrate.error().message.find("bitrate"), std::string::npos);
  EXPECT_FALSE(encoder->SetComplexity(11).ok());
  EXPECT_FALSE(encoder->SetFrameMs(30).ok());
  EXPECT_FALSE(encoder->SetExpectedLossPercent(101).ok());
  EXPECT_EQ(encoder->bitrate_bps(), 24000) << "a refused change leaves the setting alone";
  EXPECT_FALSE(OpusAudioEncoder::Create(44100, 1, {}).ok());
  EXPECT_FALSE(OpusAudioEncoder::Create(48000, 3, {}).ok());
  std::vector<uint8_t> out(1500);
  EXPECT_FALSE(encoder->Encode(std::vector<int16_t>(100), out).ok()) << "wrong frame size";
}

TEST(OpusCodecTest, DtxSendsNothingDuringSilence) {
  OpusSettings settings;
  settings.dtx = true;
  auto encoder = MakeEncoder(settings);
  const auto packets = EncodeAll(*encoder, std::vector<int16_t>(kRate * 2, 0));
  const auto empty =
      std::count_if(packets.begin(), packets.end(), [](const auto& p) { return p.empty(); });
  EXPECT_GT(empty, static_cast<long>(packets.size() * 8 / 10));
}

TEST(OpusCodecTest, MalformedPayloadsAreErrorsNotCrashes) {
  auto decoder = MakeDecoder();
  std::vector<int16_t> out(kMaxPacketSamples48k);
  EXPECT_FALSE(decoder->Decode({}, out).ok());
  EXPECT_FALSE(decoder->PacketSamples({}).ok());
  // TOC code 3 (arbitrary frame count) with a frame count of zero is invalid.
  const std::vector<uint8_t> bad = {0x03, 0x00};
  EXPECT_FALSE(decoder->Decode(bad, out).ok());
  EXPECT_FALSE(decoder->PacketSamples(bad).ok());
  // The decoder still works afterwards.
  auto encoder = MakeEncoder({});
  const auto packets = EncodeAll(*encoder, testing::Tone(500, kRate, 0.1));
  EXPECT_EQ(DecodeAll(*decoder, packets).size(), packets.size() * 960);
}

TEST(OpusCodecTest, DecodesAtAnyOpusRate) {
  auto encoder = MakeEncoder({});
  const auto packets = EncodeAll(*encoder, testing::Tone(500, kRate, 0.2));
  for (int rate : {8000, 12000, 16000, 24000}) {
    auto decoder = OpusAudioDecoder::Create(rate, 1);
    ASSERT_TRUE(decoder.ok());
    std::vector<int16_t> out(kMaxPacketSamples48k);
    auto samples = (*decoder)->Decode(packets[0], out);
    ASSERT_TRUE(samples.ok());
    EXPECT_EQ(*samples, rate / 50);
  }
}

}  // namespace
}  // namespace parley::codec
