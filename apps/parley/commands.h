// The parley command's subcommands. main.cc parses the command line (CLI11 lives in
// that one translation unit) and calls these; each returns the process exit code.
#pragma once

#include <string>

namespace parley::app {

struct TranscodeArgs {
  std::string input;
  std::string output;
  std::string codec;    // empty: taken from the output file's extension
  int bitrate_bps = 0;  // 0: codec default
  int frame_ms = 0;     // 0: codec default
  int complexity = -1;  // -1: codec default
  bool fec = false;
  int expected_loss_percent = 0;
  bool dtx = false;
  int raw_rate_hz = 0;          // raw L16 files: their sample rate (0: 16000)
  int raw_channels = 1;         // raw L16 files: their channel count
  bool accept_damaged = false;  // convert what is readable of a damaged input
  bool quiet = false;
};
int RunTranscode(const TranscodeArgs& args);

struct DemoArgs {
  std::string out_dir = "out/demo";
  std::string text;  // empty: the built-in passage
  std::string preset = "lte-handover";
  bool codecs = false;  // the codec tour instead of the lab call
};
// A lab call over a bad network with every player side by side (or, with `codecs`, the
// same phrase through every codec).
int RunDemo(const DemoArgs& args);
int RunCodecTour(const DemoArgs& args);

struct LabArgs {
  std::string input;   // IN.wav (not with --packets)
  std::string output;  // OUT.wav
  // Sender: a profile of the ladder, or explicit codec options over it.
  std::string profile = "good";
  std::string codec;  // empty: the profile's (Opus)
  int bitrate_bps = 0;
  int frame_ms = 0;
  int fec = -1;  // -1: the profile's; 0 off; 1 on
  int expected_loss_percent = -1;
  bool dtx = false;
  int red_blocks = -1;  // -1: the profile's
  // Network: a preset, with overrides, or a trace, or a packet log.
  std::string preset = "wifi";
  double loss_percent = -1;  // Bernoulli loss instead of the preset's loss
  double burst_packets = 0;  // with loss_percent: Gilbert-Elliott with this mean burst
  double delay_ms = -1;      // base delay
  double jitter_ms = -1;     // mean jitter (the preset's distribution, exponential if none)
  uint64_t seed = 1;
  std::string trace;
  std::string packets;  // packet log CSV
  int payload_type = -1;
  // Players and outputs.
  bool compare = false;
  double fixed_delay_ms = 60;
  bool no_plot = false;
  bool quiet = false;
  // Network: the jitter distribution replacing the preset's (uniform, exponential, pareto,
  // gamma; empty: the preset's) and gamma's shape (< 0: the default).
  std::string jitter_dist;
  double jitter_shape = -1;
  // Delay spikes replacing the preset's (< 0: the preset's).
  double spike_rate_per_s = -1;
  double spike_ms = -1;
  double spike_drain_ms = -1;
  // A P.862 scorer program to score every player with (empty: none); `pesq_source` names
  // where it came from for errors ("--pesq" or "PARLEY_PESQ").
  std::string pesq;
  std::string pesq_source = "--pesq";
};
// Exit code 1 on bad input (one line naming the file, line or field).
int RunLab(const LabArgs& args);
// The network presets and sender profiles, with what they model.
int RunListLabPresets();

int RunListCodecs();

struct OggInfoArgs {
  std::string file;
};
// Exit code 1 when the file cannot be read as Ogg Opus; defects alone do not fail.
int RunOggInfo(const OggInfoArgs& args);

struct RtpStreamsArgs {
  std::string capture;
  std::string pt_map;  // "111=opus,96=pcmu"; empty: static types and Opus detection only
};
// Lists the RTP streams of a capture; exit code 1 when it cannot be read.
int RunRtpStreams(const RtpStreamsArgs& args);

struct RtpExtractArgs {
  std::string capture;
  std::string output;  // .wav (decoded) or .opus (Opus packets copied)
  std::string ssrc;    // hexadecimal, with or without 0x; required with several streams
  std::string pt_map;
  bool quiet = false;
};
// Writes one stream to `output`; exit code 1 on failure (no output left behind).
int RunRtpExtract(const RtpExtractArgs& args);

}  // namespace parley::app
