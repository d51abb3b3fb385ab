#include "parley/lab/lab_run.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "parley/audio/audio_file.h"
#include "parley/audio/resampler.h"
#include "parley/lab/pesq.h"

namespace parley::lab {
namespace {

namespace fs = std::filesystem;

bool PlaysWithPlc(PlayerKind kind) { return kind != PlayerKind::kFixedZeroFill; }

Status WriteTextFile(const std::string& path, const std::string& text) {
  const std::string partial = path + ".partial";
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    if (!out) return Error{"cannot write '" + partial + "'"};
    out << text;
    if (!out.flush()) return Error{"writing '" + partial + "' failed"};
  }
  std::error_code ec;
  fs::rename(partial, path, ec);
  if (ec) return Error{"cannot rename '" + partial + "' to '" + path + "': " + ec.message()};
  return Status::Ok();
}

Status WriteWav(const std::string& path, const audio::AudioFrame& frame) {
  // libsndfile picks the format from the extension: keep .wav at the end.
  const std::string partial = path + ".partial.wav";
  if (Status s = audio::WriteWavFile(partial, frame); !s.ok()) return s;
  std::error_code ec;
  fs::rename(partial, path, ec);
  if (ec) return Error{"cannot rename '" + partial + "' to '" + path + "': " + ec.message()};
  return Status::Ok();
}

// OUT.wav -> OUT<suffix> (OUT.blocks.csv, OUT.speex-jb.wav, ...).
std::string Beside(const std::string& out_wav, const std::string& suffix) {
  fs::path path(out_wav);
  const std::string stem = path.has_extension() ? path.stem().string() : path.filename().string();
  return (path.parent_path() / (stem + suffix)).string();
}

// "<label>: <message>", so that an error about the stream or the network names its file.
Error Labelled(const std::string& label, const Error& error) {
  if (label.empty()) return error;
  return Error{label + ": " + error.message};
}

}  // namespace

Result<audio::AudioFrame> ReadLabInput(const std::string& path) {
  auto input = audio::ReadAudioFile(path);
  if (!input.ok()) return input.error();
  if (!audio::Resampler::IsSupportedRate(input->sample_rate_hz())) {
    std::string rates;
    for (int rate : audio::Resampler::SupportedRatesHz()) {
      rates += (rates.empty() ? "" : ", ") + std::to_string(rate);
    }
    return Error{path + ": sample rate " + std::to_string(input->sample_rate_hz()) +
                 " Hz is not supported (" + rates + ")"};
  }
  if (input->frames() == 0) return Error{path + ": no audio in the file"};
  return input;
}

Result<LabRunResult> RunLab(const LabRunConfig& config,
                            const std::function<void(double)>& progress) {
  if (config.players.empty()) return Error{"no player to run"};
  if (!config.pesq_scorer.empty() && config.packet_log) {
    return Error{"PESQ scores against the sender's input, and a packet log has none"};
  }
  LabRunResult result;
  std::string network = config.network_label;
  if (config.packet_log) {
    StreamFormat format = config.log_format;
    format.output_rate_hz = config.output_rate_hz;
    auto logged = StreamFromPacketLog(*config.packet_log, format);
    if (!logged.ok()) return Labelled(config.input_label, logged.error());
    result.stream = std::move(logged->stream);
    result.deliveries = std::move(logged->deliveries);
  } else {
    auto stream = EncodeStream(config.input, config.sender, config.output_rate_hz);
    if (!stream.ok()) return stream.error();
    result.stream = std::move(*stream);
    if (config.trace) {
      auto deliveries = ApplyTrace(result.stream, *config.trace);
      if (!deliveries.ok()) return Labelled(config.network_label, deliveries.error());
      result.deliveries = std::move(*deliveries);
      result.trace = *config.trace;
    } else {
      Impaired impaired = ImpairStream(result.stream, config.model);
      result.deliveries = std::move(impaired.deliveries);
      result.trace = std::move(impaired.trace);
    }
  }
  if (Status playable = CheckPlayableFormat(result.stream.format); !playable) {
    return Labelled(config.input_label, playable.error());
  }
  if (progress) progress(0.05);

  auto reference = DecodeLossFree(result.stream);
  if (!reference.ok()) return reference.error();

  LabReport& report = result.report;
  report.input = config.input_label;
  report.sender = config.sender_label;
  report.duration_s = result.stream.duration_ms / 1000.0;
  report.network = SummarizeNetwork(result.stream, result.deliveries, network);
  const bool scoring = !config.pesq_scorer.empty();
  // Scoring takes about as long as playing (two scorer runs per player).
  const double play_share = scoring ? 0.5 : 0.95;
  const double steps = static_cast<double>(config.players.size());
  for (size_t i = 0; i < config.players.size(); ++i) {
    const PlayerKind kind = config.players[i];
    PlayerRun run = PlayStream(result.stream, result.deliveries, kind, config.play);
    auto measured = MeasurePlayer(result.stream, run, *reference, PlaysWithPlc(kind));
    if (!measured.ok()) return measured.error();
    report.players.push_back(std::move(*measured));
    result.runs.push_back(std::move(run));
    if (progress) progress(0.05 + play_share * static_cast<double>(i + 1) / steps);
  }
  if (scoring) {
    auto scores = ScorePlayers(config.pesq_scorer, config.input, result.stream, result.runs);
    if (!scores.ok()) return scores.error();
    for (size_t i = 0; i < scores->size(); ++i) {
      report.players[i].pesq_wb = (*scores)[i].wideband;
      report.players[i].pesq_nb = (*scores)[i].narrowband;
    }
    report.pesq_scorer = config.pesq_scorer;
    if (progress) progress(1.0);
  }
  return result;
}

Result<std::vector<std::string>> WriteLabOutputs(const LabRunResult& result,
                                                 const std::string& out_wav, bool plots) {
  std::vector<std::string> files;
  for (size_t i = 0; i < result.runs.size(); ++i) {
    const PlayerRun& run = result.runs[i];
    const std::string wav = i == 0 ? out_wav : Beside(out_wav, "." + run.name + ".wav");
    const std::string blocks =
        Beside(out_wav, i == 0 ? ".blocks.csv" : "." + run.name + ".blocks.csv");
    if (Status s = WriteWav(wav, run.output); !s.ok()) return s.error();
    if (Status s = WriteTextFile(blocks, BlockLogCsv(run)); !s.ok()) return s.error();
    files.push_back(wav);
    files.push_back(blocks);
  }
  if (!result.trace.empty()) {
    const std::string trace = Beside(out_wav, ".trace.csv");
    if (Status s = WriteTraceFile(trace, result.trace); !s.ok()) return s.error();
    files.push_back(trace);
  }
  const std::string json = Beside(out_wav, ".report.json");
  if (Status s = WriteTextFile(json, ReportJson(result.report)); !s.ok()) return s.error();
  files.push_back(json);
  if (plots) {
    const std::string png = Beside(out_wav, ".delay.png");
    if (Status s = WriteDelayPlot(result.stream, result.deliveries, result.runs, png); !s.ok())
      return s.error();
    files.push_back(png);
  }
  return files;
}

}  // namespace parley::lab
