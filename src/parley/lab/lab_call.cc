#include "parley/lab/lab_call.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <map>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "parley/audio/resampler.h"
#include "parley/base/clock.h"
#include "parley/codec/registry.h"
#include "parley/rtp/red.h"

namespace parley::lab {
namespace {

// IPv4 + UDP + RTP headers: what a packet costs on the wire beyond its payload.
constexpr int kHeaderBytes = 20 + 8 + 12;

const codec::CodecInfo& CodecOrOpus(const codec::CodecInfo* codec) {
  return codec != nullptr ? *codec : codec::GetCodecInfo(codec::CodecId::kOpus);
}

std::chrono::nanoseconds Ms(double ms) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double, std::milli>(ms));
}

void SortByArrival(std::vector<Delivery>& deliveries) {
  std::stable_sort(deliveries.begin(), deliveries.end(), [](const Delivery& a, const Delivery& b) {
    return a.arrival_ms < b.arrival_ms;
  });
}

std::unique_ptr<LabPlayer> MakePlayer(const Clock& clock, const LabStream& stream, PlayerKind kind,
                                      const PlayOptions& options) {
  switch (kind) {
    case PlayerKind::kParley: {
      playout::PlayoutEngineConfig config = options.engine;
      config.red_payload_type = stream.red_payload_type;
      return MakeEnginePlayer(clock, stream.format, config);
    }
    case PlayerKind::kFixedZeroFill:
      return MakeFixedPlayer(clock, stream.format, options.fixed_delay_ms, false);
    case PlayerKind::kFixedPlc:
      return MakeFixedPlayer(clock, stream.format, options.fixed_delay_ms, true);
    case PlayerKind::kSpeex:
      return MakeSpeexPlayer(clock, stream.format);
  }
  throw std::invalid_argument("unknown player kind");
}

}  // namespace

Result<LabStream> EncodeStream(const audio::AudioFrame& input, const SenderConfig& sender,
                               int output_rate_hz) {
  const codec::CodecInfo& codec = CodecOrOpus(sender.codec);
  codec::EncoderConfig config = sender.encoder;
  config.channels = 1;
  if (config.sample_rate_hz <= 0) config.sample_rate_hz = codec.sample_rate_hz;
  if (config.frame_ms <= 0) config.frame_ms = codec.default_frame_ms;
  if (sender.red_blocks < 0 || sender.red_blocks > 4) {
    return Error{"red_blocks " + std::to_string(sender.red_blocks) + " outside 0..4"};
  }
  if (!audio::Resampler::IsSupportedRate(config.sample_rate_hz) ||
      !audio::Resampler::IsSupportedRate(input.sample_rate_hz())) {
    return Error{"unsupported sample rate " + std::to_string(input.sample_rate_hz()) + " -> " +
                 std::to_string(config.sample_rate_hz) + " Hz"};
  }
  auto encoder = codec::CreateEncoder(codec, config);
  if (!encoder.ok()) return encoder.error();

  const audio::AudioFrame mono = input.channels() == 1 ? input : audio::RemixChannels(input, 1);
  const audio::AudioFrame pcm = audio::Resample(mono, config.sample_rate_hz);

  LabStream stream;
  stream.format.codec = &codec;
  stream.format.payload_type = sender.payload_type;
  stream.format.output_rate_hz = output_rate_hz;
  stream.format.channels = 1;
  stream.format.frame_ms = config.frame_ms;
  stream.red_payload_type = sender.red_blocks > 0 ? sender.red_payload_type : -1;
  stream.duration_ms = input.duration_ms().count();

  stream.format.first_timestamp = 0;
  const int frame_samples = (*encoder)->frame_samples();
  const uint32_t frame_ticks =
      static_cast<uint32_t>(int64_t{codec.rtp_clock_rate_hz} * config.frame_ms / 1000);
  std::vector<int16_t> frame(static_cast<size_t>(frame_samples));
  std::vector<uint8_t> out((*encoder)->max_payload_bytes());
  std::deque<const SentPacket*> history;  // the last red_blocks packets, oldest first
  const auto samples = pcm.samples();
  const int64_t frames = (pcm.frames() + frame_samples - 1) / frame_samples;
  stream.packets.reserve(static_cast<size_t>(frames));
  for (int64_t i = 0; i < frames; ++i) {
    const size_t begin = static_cast<size_t>(i * frame_samples);
    const size_t n = std::min(frame.size(), samples.size() - begin);
    std::fill(frame.begin(), frame.end(), int16_t{0});
    std::copy_n(samples.begin() + static_cast<ptrdiff_t>(begin), n, frame.begin());
    auto bytes = (*encoder)->Encode(frame, out);
    if (!bytes.ok())
      return Error{"encoding frame " + std::to_string(i) + ": " + bytes.error().message};
    if (*bytes == 0) continue;  // DTX: nothing sent
    SentPacket packet;
    packet.seq = static_cast<int64_t>(stream.packets.size());
    packet.rtp_ts = static_cast<uint32_t>(i) * frame_ticks;
    packet.send_ms = static_cast<double>(i) * config.frame_ms;
    packet.payload.assign(out.begin(), out.begin() + static_cast<ptrdiff_t>(*bytes));
    if (sender.red_blocks > 0) {
      std::vector<rtp::RedBlock> redundant;
      for (const SentPacket* old : history) {
        if (packet.rtp_ts - old->rtp_ts > rtp::kMaxRedTimestampOffsetTicks ||
            old->payload.size() > rtp::kMaxRedBlockBytes) {
          continue;
        }
        redundant.push_back({sender.payload_type, old->rtp_ts, old->payload});
      }
      const rtp::RedBlock primary{sender.payload_type, packet.rtp_ts, packet.payload};
      packet.red.resize(rtp::RedPayloadBytes(redundant, primary));
      auto written = rtp::BuildRedPayload(redundant, primary, packet.red);
      if (!written.ok())
        return Error{"RED frame " + std::to_string(i) + ": " + written.error().message};
      packet.red.resize(*written);
    }
    stream.packets.push_back(std::move(packet));
    if (sender.red_blocks > 0) {
      // Pointers into a vector stay valid: reserved for every frame above.
      history.push_back(&stream.packets.back());
      if (static_cast<int>(history.size()) > sender.red_blocks) history.pop_front();
    }
  }
  return stream;
}

Impaired ImpairStream(const LabStream& stream, const ImpairmentConfig& model_config) {
  ImpairmentModel model(model_config);
  Impaired result;
  for (size_t i = 0; i < stream.packets.size(); ++i) {
    const SentPacket& packet = stream.packets[i];
    const size_t payload = packet.red.empty() ? packet.payload.size() : packet.red.size();
    const PacketFate fate = model.Next(packet.send_ms, static_cast<int>(payload) + kHeaderBytes);
    // Through the trace's own rounding (1 us), so that replaying the written trace is
    // exactly this run.
    for (const TraceEntry& entry : FatesToTrace(packet.seq, packet.send_ms, fate)) {
      if (entry.arrival_ms) result.deliveries.push_back({i, *entry.arrival_ms});
      result.trace.push_back(entry);
    }
  }
  SortByArrival(result.deliveries);
  return result;
}

Result<std::vector<Delivery>> ApplyTrace(const LabStream& stream,
                                         const std::vector<TraceEntry>& trace) {
  std::map<int64_t, size_t> index;
  for (size_t i = 0; i < stream.packets.size(); ++i) index[stream.packets[i].seq] = i;
  std::vector<bool> seen(stream.packets.size(), false);
  std::vector<Delivery> deliveries;
  for (const TraceEntry& entry : trace) {
    auto it = index.find(entry.seq);
    if (it == index.end()) {
      return Error{"trace seq " + std::to_string(entry.seq) + ": the stream has no such packet (" +
                   std::to_string(stream.packets.size()) + " packets, seq 0.." +
                   std::to_string(stream.packets.empty() ? 0 : stream.packets.back().seq) + ")"};
    }
    seen[it->second] = true;
    if (entry.arrival_ms && *entry.arrival_ms > kMaxLabCallMs) {
      return Error{fmt::format("trace seq {}: arrival_ms {} is beyond the {:.0f} s the lab plays",
                               entry.seq, *entry.arrival_ms, kMaxLabCallMs / 1000)};
    }
    if (entry.arrival_ms) deliveries.push_back({it->second, *entry.arrival_ms});
  }
  for (size_t i = 0; i < seen.size(); ++i) {
    if (!seen[i]) {
      return Error{"trace has no line for seq " + std::to_string(stream.packets[i].seq) +
                   " (every packet needs its fate: an arrival or 'lost')"};
    }
  }
  SortByArrival(deliveries);
  return deliveries;
}

Result<LoggedStream> StreamFromPacketLog(const std::vector<LoggedPacket>& log,
                                         const StreamFormat& format) {
  if (log.empty()) return Error{"packet log is empty"};
  const codec::CodecInfo& codec = CodecOrOpus(format.codec);
  codec::DecoderConfig decoder_config;
  decoder_config.sample_rate_hz = format.output_rate_hz;
  auto decoder = codec::CreateDecoder(codec, decoder_config);
  if (!decoder.ok()) return decoder.error();

  LoggedStream result;
  LabStream& stream = result.stream;
  stream.format = format;
  stream.format.codec = &codec;
  stream.format.channels = 1;
  // The packet duration, from the first packet that tells one the lab plays.
  std::optional<std::string> odd_duration;  // the first duration that is not whole ms
  bool found = false;
  for (const LoggedPacket& packet : log) {
    auto samples = (*decoder)->PacketSamples(packet.payload);
    if (!samples.ok() || *samples <= 0) continue;
    const int64_t ms_x1000 = int64_t{*samples} * 1000;
    const int64_t frame_ms = ms_x1000 / format.output_rate_hz;
    if (ms_x1000 % format.output_rate_hz != 0 || frame_ms > kMaxLabPacketMs) {
      if (!odd_duration) {
        odd_duration = fmt::format("packet seq {} lasts {:g} ms", packet.seq,
                                   static_cast<double>(ms_x1000) / format.output_rate_hz);
      }
      continue;
    }
    stream.format.frame_ms = static_cast<int>(frame_ms);
    found = true;
    break;
  }
  if (!found) {
    if (odd_duration) {
      return Error{fmt::format("{}: the lab plays packets of 1..{} whole ms", *odd_duration,
                               kMaxLabPacketMs)};
    }
    return Error{fmt::format("no payload of the packet log is a {} packet", codec.name)};
  }

  // The earliest send is the call's 0 ms.
  double first_send_ms = log.front().send_ms;
  for (const LoggedPacket& entry : log) first_send_ms = std::min(first_send_ms, entry.send_ms);
  stream.packets.reserve(log.size());
  std::unordered_map<int64_t, size_t> last_with_seq;  // seq -> index in stream.packets
  double last_send_ms = 0;
  for (const LoggedPacket& entry : log) {
    const double latest_ms = (entry.lost() ? entry.send_ms : entry.arrival_ms) - first_send_ms;
    if (latest_ms > kMaxLabCallMs) {
      return Error{fmt::format(
          "packet seq {}: {} {} ms is {:.0f} s after the first send, beyond the {:.0f} s the "
          "lab plays",
          entry.seq, entry.lost() ? "send_ms" : "arrival_ms",
          entry.lost() ? entry.send_ms : entry.arrival_ms, latest_ms / 1000, kMaxLabCallMs / 1000)};
    }
    // A line repeating a packet (seq, timestamp and payload) is that packet arriving again.
    const auto seen = last_with_seq.find(entry.seq);
    const bool duplicate = seen != last_with_seq.end() &&
                           stream.packets[seen->second].rtp_ts == entry.rtp_ts &&
                           stream.packets[seen->second].payload == entry.payload;
    const size_t index = duplicate ? seen->second : stream.packets.size();
    if (!entry.lost()) result.deliveries.push_back({index, entry.arrival_ms - first_send_ms});
    if (duplicate) continue;
    SentPacket packet;
    packet.seq = entry.seq;
    packet.rtp_ts = entry.rtp_ts;
    packet.send_ms = entry.send_ms - first_send_ms;
    packet.payload = entry.payload;
    last_send_ms = std::max(last_send_ms, packet.send_ms);
    last_with_seq[entry.seq] = index;
    stream.packets.push_back(std::move(packet));
  }
  stream.duration_ms = last_send_ms + stream.format.frame_ms;
  stream.format.first_timestamp = stream.packets.front().rtp_ts;
  SortByArrival(result.deliveries);
  return result;
}

PlayerRun PlayStream(const LabStream& stream, const std::vector<Delivery>& deliveries,
                     PlayerKind kind, const PlayOptions& options) {
  SimulatedClock clock;
  const auto start = clock.Now();
  auto player = MakePlayer(clock, stream, kind, options);
  const int rate = stream.format.output_rate_hz;
  const int block = rate / 100;

  double last_ms = stream.duration_ms;
  for (const Delivery& delivery : deliveries) last_ms = std::max(last_ms, delivery.arrival_ms);
  const int64_t blocks = static_cast<int64_t>(std::ceil((last_ms + options.tail_ms) / 10.0));

  // The end of the media: a block reaching past it is (partly) tail, concealment of
  // nothing, so the run stops before it and counts only up to there.
  // Judged on the sender's timestamps (PlayedBlock::rtp_timestamp) against the last
  // packet sent, once it has been sent: a timeline that leaps, restarts (even onto
  // timestamps used before) or holds a stray packet far ahead ends where its last packet
  // does.
  const SentPacket* last_sent = nullptr;
  for (const SentPacket& packet : stream.packets) {
    if (last_sent == nullptr || packet.send_ms >= last_sent->send_ms) last_sent = &packet;
  }
  const int64_t frame_ticks =
      int64_t{stream.format.codec->rtp_clock_rate_hz} * stream.format.frame_ms / 1000;
  // How far past the last packet's end a block may start and still be its tail (a block
  // further ahead is on another timeline).
  const int64_t tail_window_ticks = stream.format.codec->rtp_clock_rate_hz;
  const int64_t block_ticks = stream.format.codec->rtp_clock_rate_hz / 100;

  PlayerRun run;
  run.name = std::string(player->name());
  std::vector<int16_t> samples(static_cast<size_t>(blocks * block));
  run.blocks.reserve(static_cast<size_t>(blocks));
  run.counters = player->counters();
  size_t next = 0;
  for (int64_t b = 0; b < blocks; ++b) {
    const double t_ms = static_cast<double>(b) * 10.0;
    while (next < deliveries.size() && deliveries[next].arrival_ms <= t_ms) {
      const Delivery& delivery = deliveries[next++];
      const auto at = start + Ms(delivery.arrival_ms);
      if (at > clock.Now()) clock.Advance(at - clock.Now());
      const SentPacket& packet = stream.packets[delivery.packet];
      const bool red = kind == PlayerKind::kParley && !packet.red.empty();
      playout::PlayoutEngine::Packet wire;
      wire.payload_type =
          static_cast<uint8_t>(red ? stream.red_payload_type : stream.format.payload_type);
      wire.sequence_number = static_cast<uint16_t>(packet.seq);
      wire.timestamp = packet.rtp_ts;
      wire.payload = red ? std::span<const uint8_t>(packet.red) : packet.payload;
      player->Insert(wire);
    }
    const auto at = start + Ms(t_ms);
    if (at > clock.Now()) clock.Advance(at - clock.Now());
    std::span<int16_t> out(samples.data() + b * block, static_cast<size_t>(block));
    const PlayedBlock played = player->Pull10ms(out);
    if (last_sent != nullptr && played.rtp_timestamp && t_ms >= last_sent->send_ms) {
      const int64_t from_last = static_cast<int32_t>(*played.rtp_timestamp - last_sent->rtp_ts);
      if (from_last >= 0 && from_last + block_ticks > frame_ticks &&
          from_last < frame_ticks + tail_window_ticks) {
        break;
      }
    }
    run.blocks.push_back({t_ms, played});
    run.counters = player->counters();
  }
  samples.resize(run.blocks.size() * static_cast<size_t>(block));
  run.output = audio::AudioFrame({rate, 1}, std::move(samples));
  return run;
}

Result<audio::AudioFrame> DecodeLossFree(const LabStream& stream) {
  const codec::CodecInfo& codec = CodecOrOpus(stream.format.codec);
  codec::DecoderConfig config;
  config.sample_rate_hz = stream.format.output_rate_hz;
  auto decoder = codec::CreateDecoder(codec, config);
  if (!decoder.ok()) return decoder.error();
  const int rate = stream.format.output_rate_hz;
  if (stream.packets.empty()) {
    return audio::AudioFrame(
        {rate, 1}, std::vector<int16_t>(static_cast<size_t>(
                       std::ceil(std::min(stream.duration_ms, kMaxLabCallMs) * rate / 1000.0))));
  }
  // Media positions in output samples from the first packet (offsets within 2^31 ticks of
  // it: over 12 hours at 48 kHz), so that a sender's timestamps jumping ahead still find
  // their reference; never beyond the longest call the lab plays.
  const uint32_t first_ts = stream.packets.front().rtp_ts;
  const auto limit = static_cast<int64_t>(kMaxLabCallMs * rate / 1000.0);
  const auto at_of = [&](const SentPacket& packet) {
    const int64_t ticks = static_cast<int32_t>(packet.rtp_ts - first_ts);
    return ticks * rate / codec.rtp_clock_rate_hz;
  };
  const int64_t max_packet = int64_t{rate} * kMaxLabPacketMs / 1000;
  const int64_t frame = int64_t{rate} * stream.format.frame_ms / 1000;
  int64_t total = static_cast<int64_t>(std::ceil(stream.duration_ms * rate / 1000.0));
  for (const SentPacket& packet : stream.packets) total = std::max(total, at_of(packet) + frame);
  std::vector<int16_t> out(static_cast<size_t>(std::clamp<int64_t>(total, 0, limit)), 0);
  std::vector<int16_t> decoded(static_cast<size_t>(max_packet));
  for (const SentPacket& packet : stream.packets) {
    auto n = (*decoder)->Decode(packet.payload, decoded);
    if (!n.ok()) continue;  // not a packet of the codec: silence in the reference
    const int64_t at = at_of(packet);
    for (int i = 0; i < *n; ++i) {
      const int64_t pos = at + i;
      if (pos >= 0 && pos < static_cast<int64_t>(out.size()))
        out[static_cast<size_t>(pos)] = decoded[i];
    }
  }
  return audio::AudioFrame({rate, 1}, std::move(out));
}

}  // namespace parley::lab
