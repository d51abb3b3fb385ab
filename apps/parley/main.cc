// parley: one command for everything parley does. Each subcommand is a thin shell
// over the library (see commands.h).
#include <CLI/CLI.hpp>

#include "commands.h"

int main(int argc, char** argv) {
  CLI::App app{"parley: real-time voice media engine and relay"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(PARLEY_VERSION));

  parley::app::TranscodeArgs transcode;
  CLI::App* transcode_cmd = app.add_subcommand(
      "transcode",
      "Convert audio between WAV, Ogg Opus (.opus) and raw codec streams (.ul .al .g722 .l16 "
      ".gsm .g729 .c2)");
  transcode_cmd
      ->add_option("input", transcode.input,
                   "Input file (WAV or any format libsndfile "
                   "reads, or a raw codec stream)")
      ->required();
  transcode_cmd
      ->add_option("output", transcode.output,
                   "Output file; its extension picks the "
                   "format")
      ->required();
  transcode_cmd->add_option("--codec", transcode.codec,
                            "Output codec (must agree with the output extension; "
                            "see 'parley codecs')");
  transcode_cmd->add_option("--bitrate", transcode.bitrate_bps, "Target bitrate in bit/s")
      ->check(CLI::Range(0, 510000));
  transcode_cmd->add_option("--frame-ms", transcode.frame_ms, "Packet duration in ms")
      ->check(CLI::Range(0, 120));
  transcode_cmd->add_option("--complexity", transcode.complexity, "Opus complexity 0..10")
      ->check(CLI::Range(-1, 10));
  transcode_cmd->add_flag("--fec", transcode.fec, "Opus in-band forward error correction");
  transcode_cmd
      ->add_option("--loss", transcode.expected_loss_percent,
                   "Expected packet loss in percent (tunes Opus FEC)")
      ->check(CLI::Range(0, 100));
  transcode_cmd->add_flag("--dtx", transcode.dtx, "Discontinuous transmission");
  transcode_cmd->add_option("--raw-rate", transcode.raw_rate_hz,
                            "Sample rate of raw .l16 files in Hz (default 16000)");
  transcode_cmd
      ->add_option("--raw-channels", transcode.raw_channels,
                   "Channels of raw .l16 files (default 1)")
      ->check(CLI::Range(1, 2));
  transcode_cmd->add_flag("--accept-damaged", transcode.accept_damaged,
                          "Convert what is readable of a truncated or damaged input (its defects "
                          "are listed) instead of failing");
  transcode_cmd->add_flag("-q,--quiet", transcode.quiet, "No summary line, no progress bar");

  parley::app::DemoArgs demo;
  CLI::App* demo_cmd = app.add_subcommand(
      "demo", "Synthesize a phrase, send it through every codec, and compare what comes out");
  demo_cmd->add_option("--out", demo.out_dir, "Folder for the decoded WAV files")
      ->capture_default_str();
  demo_cmd->add_option("--text", demo.text, "Phrase to synthesize instead of the built-in one");

  CLI::App* codecs_cmd = app.add_subcommand("codecs", "List the codecs parley carries");

  CLI::App* ogg_cmd = app.add_subcommand("ogg", "Inspect Ogg Opus files");
  ogg_cmd->require_subcommand(1);
  parley::app::OggInfoArgs ogg_info;
  CLI::App* ogg_info_cmd = ogg_cmd->add_subcommand(
      "info", "Channels, pre-skip, duration, packets, pages, bitrate, tags and every defect");
  ogg_info_cmd->add_option("file", ogg_info.file, "Ogg Opus file (.opus)")->required();

  CLI::App* rtp_cmd = app.add_subcommand("rtp", "RTP audio streams in pcap captures");
  rtp_cmd->require_subcommand(1);
  parley::app::RtpStreamsArgs rtp_streams;
  CLI::App* rtp_streams_cmd = rtp_cmd->add_subcommand(
      "streams", "List the RTP streams: SSRC, addresses, payload type, codec, loss, jitter");
  rtp_streams_cmd->add_option("capture", rtp_streams.capture, "Capture file (.pcap, .pcapng)")
      ->required();
  rtp_streams_cmd->add_option("--pt-map", rtp_streams.pt_map,
                              "Codecs of dynamic payload types, e.g. 111=opus,96=codec2");
  parley::app::RtpExtractArgs rtp_extract;
  CLI::App* rtp_extract_cmd = rtp_cmd->add_subcommand(
      "extract", "Write one RTP stream to WAV (decoded, losses concealed) or Ogg Opus (copied)");
  rtp_extract_cmd->add_option("capture", rtp_extract.capture, "Capture file (.pcap, .pcapng)")
      ->required();
  rtp_extract_cmd->add_option("-o,--output", rtp_extract.output, "Output file: .wav or .opus")
      ->required();
  rtp_extract_cmd->add_option("--ssrc", rtp_extract.ssrc,
                              "SSRC of the stream (hex); needed when there are several");
  rtp_extract_cmd->add_option("--pt-map", rtp_extract.pt_map,
                              "Codecs of dynamic payload types, e.g. 111=opus,96=codec2");
  rtp_extract_cmd->add_flag("-q,--quiet", rtp_extract.quiet, "No summary line");

  CLI11_PARSE(app, argc, argv);

  if (transcode_cmd->parsed()) return parley::app::RunTranscode(transcode);
  if (demo_cmd->parsed()) return parley::app::RunDemo(demo);
  if (codecs_cmd->parsed()) return parley::app::RunListCodecs();
  if (ogg_info_cmd->parsed()) return parley::app::RunOggInfo(ogg_info);
  if (rtp_streams_cmd->parsed()) return parley::app::RunRtpStreams(rtp_streams);
  if (rtp_extract_cmd->parsed()) return parley::app::RunRtpExtract(rtp_extract);
  return 2;
}
