// parley rtp streams|extract CAPTURE: the RTP audio streams of a pcap capture, and one of
// them written to WAV or Ogg Opus (see container/rtp_capture.h).
#include <fmt/format.h>

#include <charconv>

#include "commands.h"
#include "parley/container/rtp_capture.h"

namespace parley::app {
namespace {

void PrintPcapWarnings(const container::PcapStats& stats, const char* command) {
  for (const std::string& warning : stats.warnings) {
    fmt::print(stderr, "parley rtp {}: warning: {}\n", command, warning);
  }
  if (!stats.read_error.empty()) {
    fmt::print(stderr, "parley rtp {}: warning: {}\n", command, stats.read_error);
  }
}

Result<uint32_t> ParseSsrc(std::string text) {
  if (text.starts_with("0x") || text.starts_with("0X")) text.erase(0, 2);
  uint32_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    return Error{
        fmt::format("--ssrc '{}' is not a 32-bit hexadecimal SSRC (e.g. 0x1234ABCD)", text)};
  }
  return value;
}

std::string FormatJitter(const container::RtpStreamInfo& s) {
  return s.jitter ? fmt::format("{:.2f}", s.jitter->count() / 1000.0) : std::string("-");
}

}  // namespace

int RunRtpStreams(const RtpStreamsArgs& args) {
  auto map = container::ParsePayloadTypeMap(args.pt_map);
  if (!map) {
    fmt::print(stderr, "parley rtp streams: --pt-map: {}\n", map.error().message);
    return 1;
  }
  auto scan = container::FindRtpStreams(args.capture, *map);
  if (!scan) {
    fmt::print(stderr, "parley rtp streams: {}\n", scan.error().message);
    return 1;
  }
  PrintPcapWarnings(scan->pcap, "streams");
  fmt::print("{:<10}  {:<45}  {:>3}  {:<7}  {:>7}  {:>5}  {:>6}  {:>9}  {:>10}\n", "SSRC",
             "source -> destination", "PT", "codec", "packets", "lost", "loss %", "jitter ms",
             "duration s");
  for (const container::RtpStreamInfo& s : scan->streams) {
    fmt::print("0x{:08X}  {:<45}  {:>3}  {:<7}  {:>7}  {:>5}  {:>6.2f}  {:>9}  {:>10.3f}\n", s.ssrc,
               fmt::format("{} -> {}", s.source.ToString(), s.destination.ToString()),
               s.payload_type, s.CodecName(), s.packets, s.lost, s.loss_fraction() * 100,
               FormatJitter(s), s.duration.count() / 1e6);
  }
  const container::PcapStats& p = scan->pcap;
  fmt::print(
      "{} streams; {} frames: {} UDP ({} RTCP, {} not RTP), {} not IP, {} not UDP, {} IP "
      "fragments, {} truncated, {} malformed\n",
      scan->streams.size(), p.frames, p.udp_datagrams, scan->rtcp_packets, scan->non_rtp_datagrams,
      p.not_ip, p.not_udp + p.ipv6_unsupported_extension, p.ip_fragments, p.truncated, p.malformed);
  return 0;
}

int RunRtpExtract(const RtpExtractArgs& args) {
  container::ExtractOptions options;
  options.capture_path = args.capture;
  options.output_path = args.output;
  auto map = container::ParsePayloadTypeMap(args.pt_map);
  if (!map) {
    fmt::print(stderr, "parley rtp extract: --pt-map: {}\n", map.error().message);
    return 1;
  }
  options.payload_types = std::move(map).value();
  if (!args.ssrc.empty()) {
    auto ssrc = ParseSsrc(args.ssrc);
    if (!ssrc) {
      fmt::print(stderr, "parley rtp extract: {}\n", ssrc.error().message);
      return 1;
    }
    options.ssrc = *ssrc;
  }
  auto summary = container::ExtractRtpStream(options);
  if (!summary) {
    fmt::print(stderr, "parley rtp extract: {}\n", summary.error().message);
    return 1;
  }
  if (!args.quiet) {
    const container::RtpStreamInfo& s = summary->stream;
    fmt::print(
        "{}: SSRC 0x{:08X} {} ({}), {} packets, {} lost, {} duplicates -> {} {:.3f} s{}{}\n",
        args.output, s.ssrc, s.CodecName(),
        summary->ogg_passthrough ? "Opus packets copied"
                                 : fmt::format("decoded at {} Hz", summary->sample_rate_hz),
        summary->packets_written, s.lost, s.duplicates,
        summary->ogg_passthrough ? "Ogg Opus" : "WAV",
        static_cast<double>(summary->samples_written) / summary->sample_rate_hz,
        summary->concealed_samples > 0
            ? fmt::format(", {:.3f} s concealed",
                          static_cast<double>(summary->concealed_samples) / summary->sample_rate_hz)
            : std::string(),
        summary->fec_recovered_packets > 0
            ? fmt::format(" ({} packets from FEC)", summary->fec_recovered_packets)
            : std::string());
  }
  return 0;
}

}  // namespace parley::app
