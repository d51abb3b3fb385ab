// The demo: what parley can do today, end to end, on a fresh machine.
//
// `parley demo`: a passage synthesized with espeak-ng is sent as a call (Opus, the
// ladder's call-start profile) over a bad network preset and played through parley's
// playout engine and the baselines side by side; the comparison table is printed and
// every listener's audio, block log, trace, report and plot are written.
//
// `parley demo --codecs`: a phrase through every codec parley carries (Opus at the
// quality ladder's profiles, G.711, G.722, L16, GSM, G.729, Codec 2), decoded again,
// written as WAV files and compared with what went in.
#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <numeric>
#include <vector>

#include "commands.h"
#include "parley/audio/audio_file.h"
#include "parley/audio/resampler.h"
#include "parley/audio/similarity.h"
#include "parley/codec/codec2_codec.h"
#include "parley/codec/registry.h"

namespace parley::app {
namespace {

constexpr const char* kDefaultPassage =
    "Hello, this is parley. You are listening to a call that crossed a bad network: packets "
    "arrived late, out of order, or not at all. Every listener here heard the same packets at "
    "the same moments. The first one adapts its buffer, stretches time where nobody can hear it, "
    "and conceals what was lost. The others wait a fixed time, or use the speex jitter buffer. "
    "Listen to each file, and compare the numbers in the table.";

constexpr const char* kDefaultPhrase =
    "Hello, this is parley. Every codec gets the same sentence, so you can hear and measure "
    "what each one keeps.";

struct DemoCodec {
  std::string label;  // file name and table row
  codec::CodecId id;
  codec::EncoderConfig config;
};

std::vector<DemoCodec> DemoCodecs() {
  auto opus = [](std::string label, int bitrate, int frame_ms, bool fec) {
    codec::EncoderConfig c;
    c.bitrate_bps = bitrate;
    c.frame_ms = frame_ms;
    c.fec = fec;
    c.expected_loss_percent = fec ? 10 : 0;
    return DemoCodec{std::move(label), codec::CodecId::kOpus, c};
  };
  auto plain = [](std::string label, codec::CodecId id, int bitrate = 0) {
    codec::EncoderConfig c;
    c.bitrate_bps = bitrate;
    return DemoCodec{std::move(label), id, c};
  };
  return {
      opus("opus-studio-64k", 64000, 20, false),
      opus("opus-good-24k-fec", 24000, 20, true),
      opus("opus-degraded-12k-40ms-fec", 12000, 40, true),
      opus("opus-critical-6k-60ms", 6000, 60, false),
      plain("pcmu", codec::CodecId::kPcmu),
      plain("pcma", codec::CodecId::kPcma),
      plain("g722", codec::CodecId::kG722),
      plain("l16-16k", codec::CodecId::kL16),
      plain("gsm", codec::CodecId::kGsm),
      plain("g729", codec::CodecId::kG729),
      plain("codec2-3200", codec::CodecId::kCodec2, 3200),
      plain("codec2-1200", codec::CodecId::kCodec2, 1200),
  };
}

struct RoundTrip {
  std::vector<int16_t> decoded;
  size_t payload_bytes = 0;
  size_t packets = 0;
};

Result<RoundTrip> EncodeDecode(const DemoCodec& demo, const std::vector<int16_t>& pcm) {
  const codec::CodecInfo& info = codec::GetCodecInfo(demo.id);
  auto encoder = codec::CreateEncoder(info, demo.config);
  if (!encoder) return encoder.error();
  codec::DecoderConfig decoder_config;
  decoder_config.sample_rate_hz = (*encoder)->sample_rate_hz();
  auto decoder = demo.id == codec::CodecId::kCodec2
                     ? codec::CreateCodec2DecoderForMode(demo.config.bitrate_bps, decoder_config)
                     : codec::CreateDecoder(info, decoder_config);
  if (!decoder) return decoder.error();

  RoundTrip trip;
  std::vector<uint8_t> payload((*encoder)->max_payload_bytes());
  std::vector<int16_t> out(codec::kMaxPacketSamples48k);
  const size_t frame = static_cast<size_t>((*encoder)->frame_samples());
  std::vector<int16_t> padded = pcm;
  padded.resize((pcm.size() + frame - 1) / frame * frame, 0);
  for (size_t pos = 0; pos < padded.size(); pos += frame) {
    auto size = (*encoder)->Encode(std::span(padded).subspan(pos, frame), payload);
    if (!size) return size.error();
    trip.payload_bytes += *size;
    ++trip.packets;
    auto samples = (*decoder)->Decode(std::span(payload).first(*size), out);
    if (!samples) return samples.error();
    trip.decoded.insert(trip.decoded.end(), out.begin(), out.begin() + *samples);
  }
  return trip;
}

// Synthesizes `text` into `out_dir`/source.wav with espeak-ng.
Result<audio::AudioFrame> Synthesize(const std::string& out_dir, const std::string& text,
                                     std::string& source_path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) return Error{"cannot create '" + out_dir + "': " + ec.message()};
  source_path = (fs::path(out_dir) / "source.wav").string();
  // espeak-ng takes the phrase as one argument; quote it for the shell.
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  quoted += "'";
  const std::string command =
      fmt::format("espeak-ng -v en-us -s 150 -w '{}' {} 2>/dev/null", source_path, quoted);
  if (std::system(command.c_str()) != 0) {
    return Error{"espeak-ng failed (is it installed? ./run installs it)"};
  }
  auto source = audio::ReadAudioFile(source_path);
  if (!source) return source.error();
  fmt::print("Synthesized {:.2f} s of speech with espeak-ng: {}\n\n",
             source->duration_ms().count() / 1000, source_path);
  return source;
}

}  // namespace

int RunDemo(const DemoArgs& args) {
  if (args.codecs) return RunCodecTour(args);
  std::string source_path;
  auto source =
      Synthesize(args.out_dir, args.text.empty() ? kDefaultPassage : args.text, source_path);
  if (!source) {
    fmt::print(stderr, "parley demo: {}\n", source.error().message);
    return 1;
  }
  LabArgs lab;
  lab.input = source_path;
  lab.output = (std::filesystem::path(args.out_dir) / "call.wav").string();
  lab.preset = args.preset;
  lab.compare = true;
  fmt::print(
      "A call over the '{}' network, played by parley and by the baselines on the same "
      "packets:\n\n",
      args.preset);
  const int code = RunLab(lab);
  if (code == 0) {
    fmt::print("\nListen: {}/call.wav (parley) and call.<player>.wav; plot: call.delay.png.\n",
               args.out_dir);
  }
  return code;
}

int RunCodecTour(const DemoArgs& args) {
  namespace fs = std::filesystem;
  std::string source_path;
  auto source =
      Synthesize(args.out_dir, args.text.empty() ? kDefaultPhrase : args.text, source_path);
  if (!source) {
    fmt::print(stderr, "parley demo: {}\n", source.error().message);
    return 1;
  }

  fmt::print("{:<27} {:>6} {:>9} {:>8} {:>9} {:>7} {:>7} {:>8}\n", "codec", "kHz", "kbit/s",
             "bytes", "B/packet", "delay", "corr", "segSNR");
  fmt::print("{:<27} {:>6} {:>9} {:>8} {:>9} {:>7} {:>7} {:>8}\n", "", "", "(payload)", "", "",
             "ms", "", "dB");
  for (const DemoCodec& demo : DemoCodecs()) {
    const codec::CodecInfo& info = codec::GetCodecInfo(demo.id);
    const int rate = info.sample_rate_hz;
    const audio::AudioFrame reference = audio::Resample(*source, rate);
    const std::vector<int16_t> pcm(reference.samples().begin(), reference.samples().end());
    auto trip = EncodeDecode(demo, pcm);
    if (!trip) {
      fmt::print(stderr, "parley demo: {}: {}\n", demo.label, trip.error().message);
      return 1;
    }
    const audio::Similarity sim = audio::CompareAligned(pcm, trip->decoded, rate, rate / 25);
    const std::string wav_path = (fs::path(args.out_dir) / (demo.label + ".wav")).string();
    if (Status s = audio::WriteWavFile(wav_path, audio::AudioFrame({rate, 1}, trip->decoded)); !s) {
      fmt::print(stderr, "parley demo: {}\n", s.error().message);
      return 1;
    }
    const double seconds = static_cast<double>(pcm.size()) / rate;
    fmt::print("{:<27} {:>6.1f} {:>9.1f} {:>8} {:>9.1f} {:>7.1f} {:>7.3f} {:>8.1f}\n", demo.label,
               rate / 1000.0, static_cast<double>(trip->payload_bytes) * 8 / seconds / 1000,
               trip->payload_bytes,
               static_cast<double>(trip->payload_bytes) / static_cast<double>(trip->packets),
               1000.0 * sim.lag_samples / rate, sim.correlation, sim.segmental_snr_db);
  }
  fmt::print(
      "\ncorr: waveform correlation with the input after removing the codec delay; segSNR: "
      "segmental SNR.\nBoth are waveform measures: vocoders (Codec 2) and low-rate Opus keep "
      "the voice, not the waveform,\nso listen to the files too. Decoded audio is in {}/\n",
      args.out_dir);
  return 0;
}

}  // namespace parley::app
