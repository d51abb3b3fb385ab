// parley: one command for everything parley does. Each subcommand is a thin shell
// over the library (see commands.h).
//
// Whatever goes wrong ends the same way: one line on stderr, "parley <command>: <what>",
// naming the file, option or value at fault, and exit code 1 (0 for --help and
// --version). A command line CLI11 refuses is reported on that one line too. Exceptions
// are not part of the contract: an escaped one is a bug, and the net below still turns it
// into one line ("internal error") and exit code 1, never an abort.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "call_command.h"
#include "commands.h"
#include "impair_command.h"
#include "parley/lab/impairment.h"
#include "relay_command.h"
#include "token_command.h"

namespace {

constexpr int kExitFailure = 1;

// "parley lab", "parley rtp extract": the command the user ran, as far as it was parsed.
std::string CommandName(const CLI::App& app) {
  std::string name = "parley";
  const CLI::App* command = &app;
  while (!command->get_subcommands().empty()) {
    command = command->get_subcommands().front();
    name += " " + command->get_name();
  }
  return name;
}

// One line: CLI11 messages may hold line breaks.
std::string OneLine(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

// A number option must be a finite number: CLI11 reads "nan" and "inf" as doubles, and
// NaN passes every range check (each comparison with it is false).
const CLI::Validator kFinite(
    [](std::string& input) -> std::string {
      char* end = nullptr;
      const double value = std::strtod(input.c_str(), &end);
      if (input.empty() || end != input.c_str() + input.size() || !std::isfinite(value)) {
        return "'" + input + "' is not a finite number";
      }
      return {};
    },
    "FINITE");

// Seeds and rates are >= 0 (CLI11 would wrap -1 into an unsigned seed; its own
// NonNegativeNumber prints the largest double in its message).
const CLI::Validator kNotNegative(
    [](std::string& input) -> std::string {
      const size_t first = input.find_first_not_of(" \t");
      if (first != std::string::npos && input[first] == '-') return "'" + input + "' is negative";
      return {};
    },
    "NOT NEGATIVE");

// What --jitter-dist takes (lab::ParseJitterDistribution's names).
const std::vector<std::string> kJitterDistributions = {"uniform", "exponential", "pareto", "gamma"};

// The commands there are, comma-separated, when `word` is none of them; nullopt when it is
// one.
std::optional<std::string> UnknownCommand(const CLI::App& app, const std::string& word) {
  std::string known;
  for (const CLI::App* command : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (command->check_name(word)) return std::nullopt;
    known += (known.empty() ? "" : ", ") + command->get_name();
  }
  return known;
}

// What an escaped exception says, from inside a catch block or a terminate handler.
std::string CurrentExceptionText() {
  try {
    throw;
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "an exception that is not a std::exception";
  }
}

// The net for an exception escaping a thread the command started (the relay's and the
// call's threads): one line and exit code 1 instead of an abort with a core.
[[noreturn]] void OnTerminate() {
  const std::string what =
      std::current_exception() ? CurrentExceptionText() : std::string("std::terminate called");
  fmt::print(stderr, "parley: internal error (a bug): {}\n", OneLine(what));
  std::_Exit(kExitFailure);
}

int Run(CLI::App& app, int argc, char** argv);

}  // namespace

int main(int argc, char** argv) {
  std::set_terminate(OnTerminate);
  CLI::App app{"parley: real-time voice media engine and relay"};
  try {
    return Run(app, argc, argv);
  } catch (...) {
    fmt::print(stderr, "{}: internal error (a bug): {}\n", CommandName(app),
               OneLine(CurrentExceptionText()));
    return kExitFailure;
  }
}

namespace {

int Run(CLI::App& app, int argc, char** argv) {
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
  transcode_cmd
      ->add_option("--raw-rate", transcode.raw_rate_hz,
                   "Sample rate of raw .l16 files in Hz (default 16000)")
      ->check(kNotNegative);
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
      "demo",
      "A lab call over a bad network: parley's playout and the baselines side by side (with "
      "--codecs: a phrase through every codec)");
  demo_cmd->add_option("--out", demo.out_dir, "Folder for the audio, logs, report and plot")
      ->capture_default_str();
  demo_cmd->add_option("--text", demo.text, "Text to synthesize instead of the built-in one");
  demo_cmd->add_option("--preset", demo.preset, "Network preset (see 'parley lab --presets')")
      ->capture_default_str();
  demo_cmd->add_flag("--codecs", demo.codecs,
                     "Send a phrase through every codec instead and compare what comes out");

  parley::app::LabArgs lab;
  bool list_presets = false;
  CLI::App* lab_cmd = app.add_subcommand(
      "lab",
      "Run a call offline: IN.wav -> encode -> simulated network -> playout -> OUT.wav, with a "
      "report, block logs, the packets' fates and a plot");
  lab_cmd->add_option("input", lab.input, "Speech to send (WAV or any format libsndfile reads)");
  lab_cmd->add_option("output", lab.output,
                      "What the listener hears (WAV); other files go beside it");
  lab_cmd->add_flag("--presets", list_presets, "List the network presets and profiles, then exit");
  lab_cmd
      ->add_option("--profile", lab.profile,
                   "Sender profile: studio, excellent, good, degraded, critical")
      ->capture_default_str();
  lab_cmd->add_option("--codec", lab.codec, "Codec instead of the profile's (see 'parley codecs')");
  lab_cmd->add_option("--bitrate", lab.bitrate_bps, "Target bitrate in bit/s")
      ->check(CLI::Range(0, 510000));
  lab_cmd->add_option("--frame-ms", lab.frame_ms, "Packet duration in ms")
      ->check(CLI::Range(0, 120));
  lab_cmd->add_option("--fec", lab.fec, "Opus in-band FEC: 1 on, 0 off (default: the profile's)")
      ->check(CLI::Range(0, 1));
  lab_cmd
      ->add_option("--expected-loss", lab.expected_loss_percent,
                   "Loss the Opus encoder expects, percent (tunes FEC)")
      ->check(CLI::Range(0, 100));
  lab_cmd->add_flag("--dtx", lab.dtx, "Discontinuous transmission");
  lab_cmd->add_option("--red", lab.red_blocks, "RFC 2198 redundant frames per packet (0..4)")
      ->check(CLI::Range(0, 4));
  lab_cmd->add_option("--preset", lab.preset, "Network preset")->capture_default_str();
  lab_cmd->add_option("--loss", lab.loss_percent, "Packet loss in percent, replacing the preset's")
      ->check(kFinite)
      ->check(CLI::Range(0.0, 100.0));
  lab_cmd
      ->add_option("--burst", lab.burst_packets,
                   "With --loss: mean loss burst in packets (Gilbert-Elliott)")
      ->check(kFinite)
      ->check(CLI::Range(1.0, 1000.0));
  lab_cmd->add_option("--delay", lab.delay_ms, "Base one-way delay in ms")
      ->check(kFinite)
      ->check(CLI::Range(0.0, 10000.0));
  lab_cmd->add_option("--jitter", lab.jitter_ms, "Mean jitter in ms")
      ->check(kFinite)
      ->check(CLI::Range(0.0, 10000.0));
  lab_cmd
      ->add_option("--jitter-dist", lab.jitter_dist,
                   "Jitter distribution replacing the preset's: uniform, exponential, pareto, "
                   "gamma (mean: --jitter)")
      ->check(CLI::IsMember(kJitterDistributions));
  lab_cmd
      ->add_option("--jitter-shape", lab.jitter_shape,
                   "Shape k of gamma jitter (default 2; standard deviation = mean / sqrt(k))")
      ->check(kFinite)
      ->check(CLI::Range(parley::lab::kMinJitterShape, parley::lab::kMaxJitterShape));
  lab_cmd
      ->add_option("--spike-rate", lab.spike_rate_per_s,
                   "Delay spikes per second (Poisson), replacing the preset's; 0: none")
      ->check(kFinite)
      ->check(CLI::Range(0.0, 100.0));
  lab_cmd->add_option("--spike-ms", lab.spike_ms, "Delay a spike adds at once, ms")
      ->check(kFinite)
      ->check(CLI::Range(0.0, 10000.0));
  lab_cmd
      ->add_option("--spike-drain", lab.spike_drain_ms, "Time a spike takes to drain back to 0, ms")
      ->check(kFinite)
      ->check(CLI::Range(0.0, 60000.0));
  lab_cmd->add_option("--seed", lab.seed, "Seed of the network model")
      ->capture_default_str()
      ->check(kNotNegative);
  lab_cmd->add_option("--trace", lab.trace,
                      "Replay the packets' fates from a trace (seq,send_ms,arrival_ms)");
  lab_cmd->add_option(
      "--packets", lab.packets,
      "Play a packet log (seq,rtp_ts,send_ms,arrival_ms,payload_hex) instead of encoding");
  lab_cmd->add_option("--pt", lab.payload_type, "RTP payload type of the stream")
      ->check(CLI::Range(0, 127));
  lab_cmd->add_flag(
      "--compare", lab.compare,
      "Also play through the baselines: speexdsp jitter buffer, fixed buffer with PLC, "
      "fixed buffer with zero fill");
  lab_cmd->add_option("--fixed-delay", lab.fixed_delay_ms, "The fixed buffers' delay in ms")
      ->check(kFinite)
      ->capture_default_str()
      ->check(CLI::Range(10.0, 2000.0));
  lab_cmd->add_option("--pesq", lab.pesq,
                      "Score every player with this ITU-T P.862 scorer program (PESQ-WB and "
                      "PESQ-NB; default: $PARLEY_PESQ when set)");
  lab_cmd->add_flag("--no-plot", lab.no_plot, "Skip the PNG plot (needs gnuplot)");
  lab_cmd->add_flag("-q,--quiet", lab.quiet, "No table, no progress bar");

  parley::app::ImpairArgs impair;
  CLI::App* impair_cmd = app.add_subcommand(
      "impair",
      "UDP proxy applying a network preset to both directions of a point-to-point link "
      "(end-to-end tests on loopback)");
  impair_cmd
      ->add_option("--listen", impair.listen,
                   "Address the client sends to, e.g. 127.0.0.1:5000 or [::1]:5000")
      ->required();
  impair_cmd->add_option("--forward", impair.forward, "Where its datagrams go (replies come back)")
      ->required();
  impair_cmd->add_option("--preset", impair.preset, "Network preset (see 'parley lab --presets')")
      ->capture_default_str();
  impair_cmd->add_option("--loss", impair.loss_percent, "Loss in percent, replacing the preset's")
      ->check(kFinite)
      ->check(CLI::Range(0.0, 100.0));
  impair_cmd
      ->add_option("--burst", impair.burst_packets,
                   "With --loss: mean loss burst in packets (Gilbert-Elliott)")
      ->check(kFinite)
      ->check(CLI::Range(1.0, 1000.0));
  impair_cmd->add_option("--delay", impair.delay_ms, "Base one-way delay in ms")
      ->check(kFinite)
      ->check(CLI::Range(0.0, 10000.0));
  impair_cmd->add_option("--jitter", impair.jitter_ms, "Mean jitter in ms")
      ->check(kFinite)
      ->check(CLI::Range(0.0, 10000.0));
  impair_cmd
      ->add_option("--jitter-dist", impair.jitter_dist,
                   "Jitter distribution replacing the preset's: uniform, exponential, pareto, "
                   "gamma (mean: --jitter)")
      ->check(CLI::IsMember(kJitterDistributions));
  impair_cmd
      ->add_option("--jitter-shape", impair.jitter_shape,
                   "Shape k of gamma jitter (default 2; standard deviation = mean / sqrt(k))")
      ->check(kFinite)
      ->check(CLI::Range(parley::lab::kMinJitterShape, parley::lab::kMaxJitterShape));
  impair_cmd
      ->add_option("--spike-rate", impair.spike_rate_per_s,
                   "Delay spikes per second (Poisson), replacing the preset's; 0: none")
      ->check(kFinite)
      ->check(CLI::Range(0.0, 100.0));
  impair_cmd->add_option("--spike-ms", impair.spike_ms, "Delay a spike adds at once, ms")
      ->check(kFinite)
      ->check(CLI::Range(0.0, 10000.0));
  impair_cmd
      ->add_option("--spike-drain", impair.spike_drain_ms,
                   "Time a spike takes to drain back to 0, ms")
      ->check(kFinite)
      ->check(CLI::Range(0.0, 60000.0));
  impair_cmd->add_option("--seed", impair.seed, "Seed of the upstream model (downstream: seed + 1)")
      ->check(kNotNegative);
  impair_cmd
      ->add_option("--duration", impair.duration_s, "Seconds to run; 0: until Ctrl-C or SIGTERM")
      ->check(kFinite)
      ->check(kNotNegative);

  parley::app::TokenArgs token;
  CLI::App* token_cmd = app.add_subcommand(
      "token", "Mint a join token for one identity in one room of the relay (printed on stdout)");
  CLI::Option* token_config_opt = token_cmd->add_option(
      "--config", token.config, "Relay config file (JSON) whose token_secret signs the token");
  token_cmd
      ->add_option("--secret-env", token.secret_env,
                   "Environment variable holding the secret, instead of --config")
      ->excludes(token_config_opt);
  token_cmd->add_option("--room", token.room, "Room the token admits to")->required();
  token_cmd->add_option("--identity", token.identity, "Identity of the participant")->required();
  token_cmd->add_option("--ttl", token.ttl_s, "Validity in seconds from now")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, parley::app::kMaxTtlS));
  token_cmd->add_option("--rights", token.rights, "Comma-separated: publish, subscribe, admin")
      ->delimiter(',')
      ->capture_default_str();

  parley::app::RelayArgs relay;
  CLI::App* relay_cmd = app.add_subcommand(
      "relay",
      "Run the relay (SFU): WebSocket signaling, UDP media forwarding, Prometheus metrics; until "
      "SIGINT or SIGTERM");
  relay_cmd->add_option("--config", relay.config, "Relay config file (JSON)")->required();
  relay_cmd->add_option("--listen-signaling", relay.listen_signaling,
                        "Override listen_signaling, e.g. 0.0.0.0:8443");
  relay_cmd->add_option("--listen-media", relay.listen_media,
                        "Override listen_media, e.g. 0.0.0.0:40000");
  relay_cmd->add_option("--metrics-listen", relay.metrics_listen,
                        "Override metrics_listen (ip:port), or 'off'");
  relay_cmd->add_option("--log-level", relay.log_level, "debug, info, warn or error")
      ->capture_default_str()
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));

  parley::app::CallArgs call;
  CLI::App* call_cmd = app.add_subcommand(
      "call",
      "Join a room of a relay (or call a peer directly), send a file, record what is heard, print "
      "live statistics");
  CLI::Option* call_relay_opt = call_cmd->add_option(
      "--relay", call.relay, "Relay signaling URL, ws://HOST:PORT or wss://HOST:PORT");
  call_cmd->add_option("--room", call.room, "Room to join (with --relay)");
  call_cmd->add_option("--token", call.token, "Join token from 'parley token' (with --relay)");
  call_cmd->add_option("--identity", call.identity, "Identity to show (must be the token's)");
  call_cmd->add_option("--ca-file", call.ca_file,
                       "wss://: PEM certificates to trust instead of the system's");
  call_cmd->add_flag("--insecure", call.insecure,
                     "wss://: do not verify the relay's certificate (tests only)");
  call_cmd->add_option("--media-via", call.media_via,
                       "Send media through this UDP address (e.g. 'parley impair') instead of the "
                       "relay's");
  CLI::Option* call_peer_opt = call_cmd->add_option(
      "--peer", call.peer, "P2P: the other end's IP:PORT (instead of --relay)");
  call_relay_opt->excludes(call_peer_opt);
  call_cmd->add_option("--listen", call.listen,
                       "Local IP:PORT to receive on (required with --peer)");
  call_cmd->add_option("--send", call.send, "WAV (any rate) or Ogg Opus file to send");
  call_cmd->add_flag("--loop", call.loop, "Send the file again and again");
  call_cmd->add_option("--record", call.record, "Record what is heard: OUT.wav or OUT.opus");
  call_cmd
      ->add_option("--duration", call.duration_s,
                   "Seconds to stay; 0: until Ctrl-C (or 2 s after a file sent once)")
      ->check(kFinite)
      ->check(kNotNegative);
  call_cmd
      ->add_option("--profile", call.profile,
                   "Sender profile: studio, excellent, good, degraded, critical")
      ->capture_default_str();
  call_cmd->add_flag("-q,--quiet", call.quiet, "No per-second statistics line");

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

  // CLI11 takes an unknown word for a stray argument ("A subcommand is required"): name it.
  if (argc > 1 && argv[1][0] != '-') {
    if (const std::optional<std::string> known = UnknownCommand(app, argv[1])) {
      fmt::print(stderr, "parley: unknown command '{}' (commands: {})\n", argv[1], *known);
      return kExitFailure;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "{}: {} (see --help)\n", CommandName(app), OneLine(e.what()));
    return kExitFailure;
  }

  if (transcode_cmd->parsed()) return parley::app::RunTranscode(transcode);
  if (demo_cmd->parsed()) return parley::app::RunDemo(demo);
  if (impair_cmd->parsed()) return parley::app::RunImpair(impair);
  if (token_cmd->parsed()) return parley::app::RunToken(token);
  if (call_cmd->parsed()) return parley::app::RunCall(call);
  if (relay_cmd->parsed()) return parley::app::RunRelay(relay);
  if (lab_cmd->parsed()) {
    if (list_presets) return parley::app::RunListLabPresets();
    // With a packet log there is no input WAV: the one file named is the output.
    if (!lab.packets.empty() && lab.output.empty()) std::swap(lab.input, lab.output);
    if (lab.output.empty()) {
      fmt::print(stderr, "parley lab: an output WAV is needed (parley lab IN.wav OUT.wav)\n");
      return kExitFailure;
    }
    if (lab.pesq.empty()) {
      const char* from_environment = std::getenv("PARLEY_PESQ");
      if (from_environment != nullptr && *from_environment != '\0') {
        lab.pesq = from_environment;
        lab.pesq_source = "PARLEY_PESQ";
      }
    }
    return parley::app::RunLab(lab);
  }
  if (codecs_cmd->parsed()) return parley::app::RunListCodecs();
  if (ogg_info_cmd->parsed()) return parley::app::RunOggInfo(ogg_info);
  if (rtp_streams_cmd->parsed()) return parley::app::RunRtpStreams(rtp_streams);
  if (rtp_extract_cmd->parsed()) return parley::app::RunRtpExtract(rtp_extract);
  return kExitFailure;
}

}  // namespace
