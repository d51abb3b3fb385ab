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
  std::string text;  // empty: the built-in phrase
};
int RunDemo(const DemoArgs& args);

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
