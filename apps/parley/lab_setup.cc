#include "lab_setup.h"

#include <fmt/format.h>

#include "parley/codec/registry.h"
#include "parley/lab/child_process.h"
#include "parley/quality/profile.h"

namespace parley::app {
namespace {

Status ApplyNetwork(const LabArgs& args, lab::LabRunConfig& config) {
  lab::NetworkOverrides overrides;
  if (args.loss_percent >= 0) overrides.loss_percent = args.loss_percent;
  if (args.burst_packets > 1) overrides.burst_packets = args.burst_packets;
  if (args.delay_ms >= 0) overrides.delay_ms = args.delay_ms;
  if (args.jitter_ms >= 0) overrides.jitter_ms = args.jitter_ms;
  if (!args.jitter_dist.empty()) {
    auto distribution = lab::ParseJitterDistribution(args.jitter_dist);
    if (!distribution) return Error{"--jitter-dist: " + distribution.error().message};
    overrides.jitter_distribution = *distribution;
  }
  if (args.jitter_shape >= 0) overrides.jitter_shape = args.jitter_shape;
  if (args.spike_rate_per_s >= 0) overrides.spike_rate_per_s = args.spike_rate_per_s;
  if (args.spike_ms >= 0) overrides.spike_ms = args.spike_ms;
  if (args.spike_drain_ms >= 0) overrides.spike_drain_ms = args.spike_drain_ms;
  overrides.seed = args.seed;
  auto model = lab::ResolveNetwork(args.preset, overrides, &config.network_label);
  if (!model.ok()) return model.error();
  config.model = *model;
  return Status::Ok();
}

Status ApplySender(const LabArgs& args, lab::LabRunConfig& config) {
  auto profile = quality::FindProfile(args.profile);
  if (!profile.ok()) return profile.error();
  lab::SenderConfig sender;
  sender.codec = &codec::GetCodecInfo(profile->codec);
  sender.encoder = quality::EncoderConfigFor(*profile);
  sender.red_blocks = profile->red_blocks;
  std::string label = fmt::format("profile {}", profile->name);
  if (!args.codec.empty()) {
    const codec::CodecInfo* codec = codec::FindCodecByName(args.codec);
    if (codec == nullptr)
      return Error{"--codec: unknown codec '" + args.codec + "' (see 'parley codecs')"};
    if (codec != sender.codec) {
      sender.codec = codec;
      sender.encoder = codec::EncoderConfig{};  // the codec's defaults
      label = "";
    }
  }
  if (args.bitrate_bps > 0) sender.encoder.bitrate_bps = args.bitrate_bps;
  if (args.frame_ms > 0) sender.encoder.frame_ms = args.frame_ms;
  if (args.fec >= 0) sender.encoder.fec = args.fec != 0;
  if (args.expected_loss_percent >= 0)
    sender.encoder.expected_loss_percent = args.expected_loss_percent;
  if (args.dtx) sender.encoder.dtx = true;
  if (args.red_blocks >= 0) sender.red_blocks = args.red_blocks;
  if (args.payload_type >= 0) sender.payload_type = args.payload_type;
  const codec::CodecInfo& codec = *sender.codec;
  const int bitrate =
      sender.encoder.bitrate_bps > 0 ? sender.encoder.bitrate_bps : codec.default_bitrate_bps;
  const int frame_ms =
      sender.encoder.frame_ms > 0 ? sender.encoder.frame_ms : codec.default_frame_ms;
  std::string protection;
  if (sender.encoder.fec) protection += " FEC";
  if (sender.red_blocks > 0) protection += fmt::format(" RED x{}", sender.red_blocks);
  if (sender.encoder.dtx) protection += " DTX";
  config.sender_label = fmt::format("{} {:g} kbps {} ms{}{}", codec.name, bitrate / 1000.0,
                                    frame_ms, protection, label.empty() ? "" : " (" + label + ")");
  config.sender = sender;
  // The engine decodes at its output rate: Opus decodes at any rate, the others only at
  // their own.
  config.output_rate_hz = codec.id == codec::CodecId::kOpus ? 48000 : codec.sample_rate_hz;
  return Status::Ok();
}

}  // namespace

Result<lab::LabRunConfig> MakeLabRunConfig(const LabArgs& args) {
  lab::LabRunConfig config;
  if (Status s = ApplySender(args, config); !s.ok()) return s.error();
  if (!args.packets.empty()) {
    auto log = lab::ReadPacketLogFile(args.packets);
    if (!log.ok()) return log.error();
    config.packet_log = std::move(*log);
    config.log_format.codec = config.sender.codec;
    config.log_format.payload_type = config.sender.payload_type;
    config.input_label = args.packets;
    config.network_label = "packet log " + args.packets;
    config.sender_label = fmt::format("{} (from the packet log)", config.sender.codec->name);
  } else {
    if (args.input.empty()) return Error{"an input WAV is needed (or --packets LOG.csv)"};
    auto input = lab::ReadLabInput(args.input);
    if (!input.ok()) return input.error();
    config.input = std::move(*input);
    config.input_label = args.input;
    if (!args.trace.empty()) {
      auto trace = lab::ReadTraceFile(args.trace);
      if (!trace.ok()) return trace.error();
      config.trace = std::move(*trace);
      config.network_label = "trace " + args.trace;
    } else if (Status s = ApplyNetwork(args, config); !s.ok()) {
      return s.error();
    }
  }
  config.players = {lab::PlayerKind::kParley};
  if (args.compare) {
    config.players.push_back(lab::PlayerKind::kSpeex);
    config.players.push_back(lab::PlayerKind::kFixedPlc);
    config.players.push_back(lab::PlayerKind::kFixedZeroFill);
  }
  config.play.fixed_delay_ms = args.fixed_delay_ms;
  config.play.engine.seed = args.seed;
  if (!args.pesq.empty()) {
    // Checked before the call is played, so that a wrong path costs no waiting.
    if (config.packet_log) {
      return Error{args.pesq_source +
                   ": PESQ scores against the sender's input, and a packet log has none"};
    }
    if (!lab::ProgramAvailable(args.pesq)) {
      return Error{fmt::format("{}: PESQ scorer '{}' not found or not executable", args.pesq_source,
                               args.pesq)};
    }
    config.pesq_scorer = args.pesq;
  }
  return config;
}

}  // namespace parley::app
