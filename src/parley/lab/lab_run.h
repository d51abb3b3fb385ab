// A whole lab run as `parley lab` does it, so that everything the tool can do an
// application (or a test) can do too: encode or load the stream, give every packet its
// fate, play it through each player, measure, and write the files.
//
// Files written for OUT.wav (the first player's audio; the others' beside it):
//   OUT.wav, OUT.<player>.wav        what each listener hears (sample 0 = wall-clock 0 ms)
//   OUT.blocks.csv, OUT.<player>.blocks.csv   t_ms,dur_ms,media_ts,kind per 10 ms block
//   OUT.trace.csv                    the fate of every packet (replayable with --trace)
//   OUT.report.json                  the report (lab_report.h)
//   OUT.delay.png                    delay and target over time, concealment shaded
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "parley/audio/audio_frame.h"
#include "parley/base/result.h"
#include "parley/lab/lab_call.h"
#include "parley/lab/lab_report.h"

namespace parley::lab {

struct LabRunConfig {
  std::string input_label;  // for the report
  // The stream: `input` encoded with `sender`, or a recorded packet log.
  audio::AudioFrame input;
  SenderConfig sender;
  std::string sender_label;
  std::optional<std::vector<LoggedPacket>> packet_log;
  StreamFormat log_format;  // codec and payload type of the log's payloads
  // The network (ignored for a packet log, which carries its arrivals): a trace when
  // given, else the model.
  std::optional<std::vector<TraceEntry>> trace;
  ImpairmentConfig model;
  std::string network_label;
  // Players, the first is the one under test (OUT.wav).
  std::vector<PlayerKind> players = {PlayerKind::kParley};
  PlayOptions play;
  int output_rate_hz = 48000;
  // A P.862 scorer program (pesq.h): when set, every player is scored against `input` and
  // the report carries PESQ-WB and PESQ-NB. Not with a packet log (no input to score
  // against).
  std::string pesq_scorer;
};

struct LabRunResult {
  LabStream stream;
  std::vector<Delivery> deliveries;
  std::vector<TraceEntry> trace;  // the fates (model or trace runs; empty for a packet log)
  std::vector<PlayerRun> runs;
  LabReport report;
};

// Reads speech for a lab call: any file libsndfile reads, at a rate the resampler
// supports, not empty. Errors name the file ("in.wav: sample rate 11111 Hz is not
// supported (8000, ...)").
Result<audio::AudioFrame> ReadLabInput(const std::string& path);

// `progress` (optional) receives the fraction done, 0..1. Errors about the packet log
// start with `input_label`, about the trace with `network_label`; a scorer that fails
// gives an Error naming it and the player (no partial report).
Result<LabRunResult> RunLab(const LabRunConfig& config,
                            const std::function<void(double)>& progress = {});

// Writes the files listed above; returns their paths. `plots`: also OUT.delay.png (needs
// gnuplot). Files are written whole or not at all (.partial + rename).
Result<std::vector<std::string>> WriteLabOutputs(const LabRunResult& result,
                                                 const std::string& out_wav, bool plots);

}  // namespace parley::lab
