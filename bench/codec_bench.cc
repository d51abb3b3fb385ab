// Codec cost per 20 ms packet, and parley's Opus wrapper against libopus called
// directly on the same frames with the same settings (the wrapper's overhead).
//
//   ./run bench                       all benchmarks
//   ./run bench --benchmark_filter=Opus
#include <benchmark/benchmark.h>
#include <opus/opus.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <vector>

#include "parley/audio/audio_file.h"
#include "parley/audio/resampler.h"
#include "parley/codec/codec2_codec.h"
#include "parley/codec/opus_codec.h"
#include "parley/codec/registry.h"

namespace {

using namespace parley;

// Speech at `rate_hz`, looped from the test corpus so every codec sees real voice.
const std::vector<int16_t>& Speech(int rate_hz) {
  static std::map<int, std::vector<int16_t>> cache;
  auto it = cache.find(rate_hz);
  if (it != cache.end()) return it->second;
  auto file = audio::ReadAudioFile(PARLEY_TESTDATA_DIR "/speech/speech0.wav");
  if (!file) {
    std::fprintf(stderr, "bench: %s\n", file.error().message.c_str());
    std::abort();
  }
  const audio::AudioFrame resampled = audio::Resample(*file, rate_hz);
  return cache[rate_hz] =
             std::vector<int16_t>(resampled.samples().begin(), resampled.samples().end());
}

codec::EncoderConfig ConfigFor(codec::CodecId id) {
  codec::EncoderConfig config;
  config.frame_ms = 20;
  if (id == codec::CodecId::kCodec2) config.frame_ms = 40;
  return config;
}

std::unique_ptr<codec::AudioEncoder> MakeEncoder(codec::CodecId id) {
  auto encoder = codec::CreateEncoder(codec::GetCodecInfo(id), ConfigFor(id));
  if (!encoder) std::abort();
  return std::move(encoder).value();
}

// Encodes consecutive packets of speech, wrapping around at the end.
void BM_Encode(benchmark::State& state, codec::CodecId id) {
  auto encoder = MakeEncoder(id);
  const std::vector<int16_t>& pcm = Speech(encoder->sample_rate_hz());
  const size_t frame = static_cast<size_t>(encoder->frame_samples());
  std::vector<uint8_t> payload(encoder->max_payload_bytes());
  size_t pos = 0;
  for (auto _ : state) {
    if (pos + frame > pcm.size()) pos = 0;
    auto size = encoder->Encode(std::span(pcm).subspan(pos, frame), payload);
    benchmark::DoNotOptimize(size);
    pos += frame;
  }
  state.counters["ms_audio"] = encoder->frame_ms();
}

void BM_Decode(benchmark::State& state, codec::CodecId id) {
  auto encoder = MakeEncoder(id);
  const std::vector<int16_t>& pcm = Speech(encoder->sample_rate_hz());
  const size_t frame = static_cast<size_t>(encoder->frame_samples());
  std::vector<std::vector<uint8_t>> packets;
  std::vector<uint8_t> payload(encoder->max_payload_bytes());
  for (size_t pos = 0; pos + frame <= pcm.size(); pos += frame) {
    auto size = encoder->Encode(std::span(pcm).subspan(pos, frame), payload);
    packets.emplace_back(payload.begin(), payload.begin() + static_cast<long>(*size));
  }
  codec::DecoderConfig config;
  auto decoder = id == codec::CodecId::kCodec2
                     ? codec::CreateCodec2DecoderForMode(encoder->bitrate_bps(), config)
                     : codec::CreateDecoder(codec::GetCodecInfo(id), config);
  if (!decoder) std::abort();
  std::vector<int16_t> out(codec::kMaxPacketSamples48k);
  size_t i = 0;
  for (auto _ : state) {
    auto samples = (*decoder)->Decode(packets[i], out);
    benchmark::DoNotOptimize(samples);
    if (++i == packets.size()) i = 0;
  }
  state.counters["ms_audio"] = encoder->frame_ms();
}

#define PARLEY_CODEC_BENCH(Name, Id)                                    \
  BENCHMARK_CAPTURE(BM_Encode, Name, codec::CodecId::Id)->MinTime(0.3); \
  BENCHMARK_CAPTURE(BM_Decode, Name, codec::CodecId::Id)->MinTime(0.3)

PARLEY_CODEC_BENCH(opus_24k, kOpus);
PARLEY_CODEC_BENCH(pcmu, kPcmu);
PARLEY_CODEC_BENCH(pcma, kPcma);
PARLEY_CODEC_BENCH(g722, kG722);
PARLEY_CODEC_BENCH(l16, kL16);
PARLEY_CODEC_BENCH(gsm, kGsm);
PARLEY_CODEC_BENCH(g729, kG729);
PARLEY_CODEC_BENCH(codec2_3200, kCodec2);

// --- Opus: parley's wrapper against libopus directly --------------------------
//
// Same rate, channels, application and controls; same speech frames in the same
// order. The only difference is the code between the caller and opus_encode().

constexpr int kOpusRate = 48000;

// Twelve repetitions, reported as median and minimum: on a shared virtual machine the
// minimum is the run least disturbed by neighbours, and the two variants are compared on it.
void Repeated(benchmark::internal::Benchmark* b) {
  b->MinTime(0.5)->Repetitions(12)->ReportAggregatesOnly(true)->ComputeStatistics(
      "min", [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); });
}
constexpr int kOpusFrame = 960;  // 20 ms

void BM_OpusEncodeDirect(benchmark::State& state) {
  const std::vector<int16_t>& pcm = Speech(kOpusRate);
  int error = 0;
  OpusEncoder* encoder = opus_encoder_create(kOpusRate, 1, OPUS_APPLICATION_VOIP, &error);
  const codec::OpusSettings defaults;
  opus_encoder_ctl(encoder, OPUS_SET_BITRATE(defaults.bitrate_bps));
  opus_encoder_ctl(encoder, OPUS_SET_COMPLEXITY(defaults.complexity));
  opus_encoder_ctl(encoder, OPUS_SET_VBR(1));
  opus_encoder_ctl(encoder, OPUS_SET_VBR_CONSTRAINT(0));
  opus_encoder_ctl(encoder, OPUS_SET_INBAND_FEC(0));
  opus_encoder_ctl(encoder, OPUS_SET_PACKET_LOSS_PERC(0));
  opus_encoder_ctl(encoder, OPUS_SET_DTX(0));
  opus_encoder_ctl(encoder, OPUS_SET_MAX_BANDWIDTH(OPUS_BANDWIDTH_FULLBAND));
  opus_encoder_ctl(encoder, OPUS_SET_SIGNAL(OPUS_AUTO));
  std::vector<uint8_t> payload(1500);
  size_t pos = 0;
  for (auto _ : state) {
    if (pos + kOpusFrame > pcm.size()) pos = 0;
    benchmark::DoNotOptimize(
        opus_encode(encoder, pcm.data() + pos, kOpusFrame, payload.data(), 1500));
    pos += kOpusFrame;
  }
  opus_encoder_destroy(encoder);
}
BENCHMARK(BM_OpusEncodeDirect)->Apply(Repeated);

void BM_OpusEncodeParley(benchmark::State& state) {
  const std::vector<int16_t>& pcm = Speech(kOpusRate);
  auto encoder = codec::OpusAudioEncoder::Create(kOpusRate, 1, {});
  if (!encoder) std::abort();
  std::vector<uint8_t> payload(1500);
  size_t pos = 0;
  for (auto _ : state) {
    if (pos + kOpusFrame > pcm.size()) pos = 0;
    benchmark::DoNotOptimize((*encoder)->Encode(std::span(pcm).subspan(pos, kOpusFrame), payload));
    pos += kOpusFrame;
  }
}
BENCHMARK(BM_OpusEncodeParley)->Apply(Repeated);

std::vector<std::vector<uint8_t>> OpusPackets() {
  const std::vector<int16_t>& pcm = Speech(kOpusRate);
  auto encoder = codec::OpusAudioEncoder::Create(kOpusRate, 1, {});
  std::vector<std::vector<uint8_t>> packets;
  std::vector<uint8_t> payload(1500);
  for (size_t pos = 0; pos + kOpusFrame <= pcm.size(); pos += kOpusFrame) {
    auto size = (*encoder)->Encode(std::span(pcm).subspan(pos, kOpusFrame), payload);
    packets.emplace_back(payload.begin(), payload.begin() + static_cast<long>(*size));
  }
  return packets;
}

void BM_OpusDecodeDirect(benchmark::State& state) {
  const auto packets = OpusPackets();
  int error = 0;
  OpusDecoder* decoder = opus_decoder_create(kOpusRate, 1, &error);
  std::vector<int16_t> out(codec::kMaxPacketSamples48k);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(opus_decode(decoder, packets[i].data(),
                                         static_cast<opus_int32>(packets[i].size()), out.data(),
                                         static_cast<int>(out.size()), 0));
    if (++i == packets.size()) i = 0;
  }
  opus_decoder_destroy(decoder);
}
BENCHMARK(BM_OpusDecodeDirect)->Apply(Repeated);

void BM_OpusDecodeParley(benchmark::State& state) {
  const auto packets = OpusPackets();
  auto decoder = codec::OpusAudioDecoder::Create(kOpusRate, 1);
  if (!decoder) std::abort();
  std::vector<int16_t> out(codec::kMaxPacketSamples48k);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize((*decoder)->Decode(packets[i], out));
    if (++i == packets.size()) i = 0;
  }
}
BENCHMARK(BM_OpusDecodeParley)->Apply(Repeated);

// Resampling 20 ms of speech between the rates codecs need.
void BM_Resample(benchmark::State& state) {
  const int in_rate = static_cast<int>(state.range(0));
  const int out_rate = static_cast<int>(state.range(1));
  const std::vector<int16_t>& pcm = Speech(in_rate);
  auto resampler = audio::Resampler::Create(in_rate, out_rate, 1);
  if (!resampler) std::abort();
  const size_t frame = static_cast<size_t>(in_rate / 50);
  std::vector<int16_t> out;
  out.reserve(static_cast<size_t>(out_rate / 50 + 64));
  size_t pos = 0;
  for (auto _ : state) {
    if (pos + frame > pcm.size()) pos = 0;
    out.clear();
    (*resampler)->Process(std::span(pcm).subspan(pos, frame), out);
    benchmark::DoNotOptimize(out.data());
    pos += frame;
  }
}
BENCHMARK(BM_Resample)
    ->Args({48000, 8000})
    ->Args({8000, 48000})
    ->Args({48000, 16000})
    ->Args({44100, 48000})
    ->MinTime(0.3);

}  // namespace
