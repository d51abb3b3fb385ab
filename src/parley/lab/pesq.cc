#include "parley/lab/pesq.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "parley/audio/audio_file.h"
#include "parley/lab/child_process.h"
#include "parley/lab/send_time_index.h"
#include "parley/lab/sox_resample.h"

namespace parley::lab {
namespace {

namespace fs = std::filesystem;

// PESQ's raw scale runs from -0.5 to 4.5; the MOS-LQO mappings (P.862.1, P.862.2) give
// 1..5. A number outside both is not a score.
constexpr double kMinScore = -0.5;
constexpr double kMaxScore = 5.0;
// How much of a scorer's output goes into an error message.
constexpr size_t kMaxQuotedChars = 200;

bool PlaysDecodedMedia(BlockKind kind) {
  return kind == BlockKind::kNormal || kind == BlockKind::kFec || kind == BlockKind::kInsert ||
         kind == BlockKind::kRemove;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

// `text` on one line, cut short, for an error message.
std::string Quoted(std::string_view text) {
  std::string out(text.substr(0, kMaxQuotedChars));
  for (char& c : out) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (text.size() > kMaxQuotedChars) out += "...";
  return out;
}

Status WriteMonoWav(const fs::path& path, std::vector<int16_t> samples, int rate_hz) {
  return audio::WriteWavFile(path.string(), audio::AudioFrame({rate_hz, 1}, std::move(samples)));
}

}  // namespace

std::string_view PesqBandName(PesqBand band) { return band == PesqBand::kWideband ? "wb" : "nb"; }

int CodecDelaySamples(const codec::CodecInfo& codec, int rate_hz) {
  if (codec.id != codec::CodecId::kOpus) return 0;
  return static_cast<int>(int64_t{kOpusDelaySamples48k} * rate_hz / 48000);
}

Result<int64_t> MediaStartSample(const LabStream& stream, const PlayerRun& run) {
  if (stream.format.codec == nullptr) return Error{"the stream has no codec"};
  const SendTimeIndex send_times(stream);
  // The first normal block, else the first block of decoded media of any kind.
  std::optional<double> delay_ms;
  for (const bool normal_only : {true, false}) {
    for (const BlockRecord& record : run.blocks) {
      const BlockKind kind = record.block.kind;
      if (normal_only ? kind != BlockKind::kNormal : !PlaysDecodedMedia(kind)) continue;
      if (!record.block.rtp_timestamp) continue;
      const std::optional<double> sent_ms =
          send_times.SendMs(*record.block.rtp_timestamp, record.t_ms);
      if (!sent_ms) continue;
      delay_ms = record.t_ms - *sent_ms;
      break;
    }
    if (delay_ms) break;
  }
  if (!delay_ms) return Error{fmt::format("player {} played no media to align on", run.name)};
  const int rate = stream.format.output_rate_hz;
  return std::llround(*delay_ms * rate / 1000.0) + CodecDelaySamples(*stream.format.codec, rate);
}

std::vector<int16_t> CutOrPad(std::span<const int16_t> signal, int64_t start, size_t length) {
  std::vector<int16_t> out(length, 0);
  const auto size = static_cast<int64_t>(signal.size());
  const auto end = start + static_cast<int64_t>(length);
  for (int64_t i = std::max<int64_t>(start, 0); i < std::min(end, size); ++i) {
    out[static_cast<size_t>(i - start)] = signal[static_cast<size_t>(i)];
  }
  return out;
}

Result<std::vector<int16_t>> DegradedForScoring(const LabStream& stream, const PlayerRun& run,
                                                size_t length) {
  auto start = MediaStartSample(stream, run);
  if (!start.ok()) return start.error();
  if (run.output.channels() != 1) {
    return Error{
        fmt::format("player {} played {} channels, not mono", run.name, run.output.channels())};
  }
  return CutOrPad(run.output.samples(), *start, length);
}

Result<double> ParseScorerOutput(std::string_view output) {
  size_t begin = 0;
  while (begin < output.size() && std::isspace(static_cast<unsigned char>(output[begin]))) ++begin;
  size_t end = begin;
  while (end < output.size() && !std::isspace(static_cast<unsigned char>(output[end]))) ++end;
  const std::string_view token = output.substr(begin, end - begin);
  double score = 0;
  // from_chars reads decimal numbers only: no "nan", "inf" or hexadecimal.
  const auto [stop, error] =
      std::from_chars(token.data(), token.data() + token.size(), score, std::chars_format::fixed);
  if (token.empty() || error != std::errc() || stop != token.data() + token.size()) {
    return Error{fmt::format("printed no score: '{}'", Quoted(output))};
  }
  if (!std::isfinite(score) || score < kMinScore || score > kMaxScore) {
    return Error{fmt::format("printed {}, not a score in {}..{}: '{}'", token, kMinScore, kMaxScore,
                             Quoted(output))};
  }
  return score;
}

Result<double> RunScorer(const std::string& scorer, PesqBand band, const std::string& reference_wav,
                         const std::string& degraded_wav, const std::string& work_dir) {
  const std::string flag = fmt::format("--{}", PesqBandName(band));
  const fs::path out_path = fs::path(work_dir) / fmt::format("scorer-{}.out", PesqBandName(band));
  const fs::path err_path = fs::path(work_dir) / fmt::format("scorer-{}.err", PesqBandName(band));
  auto exit = RunChild(scorer, {flag, reference_wav, degraded_wav}, out_path, err_path);
  if (!exit.ok()) return exit.error();
  if (!exit->success()) {
    std::string message = exit->Describe();
    const std::string complaint = FileExcerpt(err_path, kMaxQuotedChars);
    const std::string said = complaint.empty() ? FileExcerpt(out_path, kMaxQuotedChars) : complaint;
    if (!said.empty()) message += ": " + said;
    return Error{message};
  }
  return ParseScorerOutput(ReadFile(out_path));
}

Result<std::vector<PesqScores>> ScorePlayers(const std::string& scorer,
                                             const audio::AudioFrame& input,
                                             const LabStream& stream,
                                             std::span<const PlayerRun> runs) {
  const auto failed = [&scorer](std::string_view player, std::string_view what) {
    return Error{fmt::format("PESQ scorer {}, player {}: {}", scorer, player, what)};
  };
  if (input.frames() == 0) return Error{fmt::format("PESQ scorer {}: no input to score", scorer)};
  if (stream.format.codec == nullptr) {
    return Error{fmt::format("PESQ scorer {}: the stream has no codec", scorer)};
  }
  if (!ProgramAvailable(scorer)) {
    return Error{fmt::format("PESQ scorer {} not found or not executable", scorer)};
  }
  std::error_code ec;
  const fs::path system_temp = fs::temp_directory_path(ec);
  if (ec)
    return Error{fmt::format("PESQ scorer {}: no temporary directory: {}", scorer, ec.message())};
  auto temp = TempDir::Create(system_temp, "parley-pesq-");
  if (!temp.ok()) return Error{fmt::format("PESQ scorer {}: {}", scorer, temp.error().message)};

  // The reference, once per band.
  const audio::AudioFrame mono = input.channels() == 1 ? input : audio::RemixChannels(input, 1);
  const int input_rate = mono.sample_rate_hz();
  constexpr std::array<std::pair<PesqBand, int>, 2> kBands = {
      {{PesqBand::kWideband, kPesqWidebandRateHz}, {PesqBand::kNarrowband, kPesqNarrowbandRateHz}}};
  std::array<size_t, 2> reference_samples{};
  std::array<std::string, 2> reference_paths;
  for (size_t b = 0; b < kBands.size(); ++b) {
    const auto [band, rate] = kBands[b];
    auto reference = ResampleLikeSox(mono.samples(), input_rate, rate);
    if (!reference.ok()) return Error{fmt::format("PESQ reference: {}", reference.error().message)};
    reference_samples[b] = reference->size();
    reference_paths[b] =
        (temp->path() / fmt::format("reference.{}.wav", PesqBandName(band))).string();
    if (Status s = WriteMonoWav(reference_paths[b], std::move(*reference), rate); !s.ok()) {
      return Error{fmt::format("PESQ reference: {}", s.error().message)};
    }
  }

  const int output_rate = stream.format.output_rate_hz;
  const auto length = static_cast<size_t>(
      std::llround(static_cast<double>(mono.frames()) * output_rate / input_rate));
  std::vector<PesqScores> scores;
  scores.reserve(runs.size());
  for (const PlayerRun& run : runs) {
    auto degraded = DegradedForScoring(stream, run, length);
    if (!degraded.ok()) return failed(run.name, degraded.error().message);
    PesqScores player;
    for (size_t b = 0; b < kBands.size(); ++b) {
      const auto [band, rate] = kBands[b];
      const std::string_view band_name = PesqBandName(band);
      auto resampled = ResampleLikeSox(*degraded, output_rate, rate);
      if (!resampled.ok()) return failed(run.name, resampled.error().message);
      // Rounding may leave the two resampled lengths a sample apart: the reference's rules.
      std::vector<int16_t> exact = CutOrPad(*resampled, 0, reference_samples[b]);
      const fs::path degraded_path =
          temp->path() / fmt::format("degraded.{}.{}.wav", scores.size(), band_name);
      if (Status s = WriteMonoWav(degraded_path, std::move(exact), rate); !s.ok()) {
        return failed(run.name, s.error().message);
      }
      auto score = RunScorer(scorer, band, reference_paths[b], degraded_path.string(),
                             temp->path().string());
      if (!score.ok()) {
        return failed(fmt::format("{} ({})", run.name, band_name), score.error().message);
      }
      (band == PesqBand::kWideband ? player.wideband : player.narrowband) = *score;
    }
    scores.push_back(player);
  }
  return scores;
}

}  // namespace parley::lab
