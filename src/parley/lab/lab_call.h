// A lab call: speech in, encoded as a sender would, each packet given a fate by
// the impairment model (or a trace, or a recorded packet log), played through parley's
// playout engine and the baselines on a simulated clock: exactly what each listener hears.
//
//   input ─> EncodeStream ─> LabStream ─┬─ ImpairStream (model) ──┐
//                                       └─ ApplyTrace (trace) ────┴─> deliveries
//   deliveries ─> PlayStream(player) ─> PlayerRun (OUT audio + block log + counters)
//
// Timing convention (the same for every player): output sample 0 is wall-clock 0 ms of
// the trace (the first packet's send time is 0 ms); audio is pulled in fixed 10 ms blocks;
// the block starting at t uses only packets with arrival_ms <= t, each inserted with the
// clock at its own arrival time, in arrival order (ties in send order).
//
// Deterministic: the same input, settings and seed give bit-identical output.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "parley/audio/audio_frame.h"
#include "parley/base/result.h"
#include "parley/codec/codec.h"
#include "parley/lab/impairment.h"
#include "parley/lab/lab_player.h"
#include "parley/lab/packet_log.h"
#include "parley/lab/trace.h"

namespace parley::lab {

// The longest call the lab plays, ms: every player's output is held in memory (at 48 kHz
// an hour is 345 MB per player), so a trace or packet log reaching further (a stray
// arrival or send time hours away) is refused rather than played.
inline constexpr double kMaxLabCallMs = 3600e3;

struct SenderConfig {
  const codec::CodecInfo* codec = nullptr;  // null: Opus
  codec::EncoderConfig encoder;             // rate 0: the codec's own
  int payload_type = 111;
  // RFC 2198: each packet also carries the previous `red_blocks` frames (0: no RED), sent
  // with payload type `red_payload_type`.
  int red_blocks = 0;
  int red_payload_type = 63;
};

// One packet as the sender produced it.
struct SentPacket {
  int64_t seq = 0;               // from 0, one per packet sent (DTX silence sends nothing)
  uint32_t rtp_ts = 0;           // from 0, in the codec's RTP clock
  double send_ms = 0;            // sender's clock: media time of the packet's first sample
  std::vector<uint8_t> payload;  // the codec payload (primary)
  std::vector<uint8_t> red;      // the RED payload carrying it, when the sender uses RED
};

struct LabStream {
  StreamFormat format;  // codec, payload type, frame duration, the lab's output rate
  int red_payload_type = -1;
  std::vector<SentPacket> packets;
  double duration_ms = 0;  // of the input
};

// Encodes mono speech (any rate; resampled to the encoder's rate) into packets at
// `output_rate_hz` playout. Errors: an encoder the codec refuses, an unsupported rate.
Result<LabStream> EncodeStream(const audio::AudioFrame& input, const SenderConfig& sender,
                               int output_rate_hz = 48000);

// One arrival of one packet (a duplicated packet arrives twice).
struct Delivery {
  size_t packet = 0;  // index into LabStream::packets
  double arrival_ms = 0;
};

// A packet log (packet_log.h) as a stream, with its deliveries. The log's payloads are
// plain codec payloads of `format.codec` at `format.payload_type`.
struct LoggedStream {
  LabStream stream;
  std::vector<Delivery> deliveries;
};

// The fates of every packet under `model`, in arrival order, plus the trace that replays
// them. Wire size counted: payload + 12 (RTP) + 8 (UDP) + 20 (IPv4).
struct Impaired {
  std::vector<Delivery> deliveries;
  std::vector<TraceEntry> trace;
};
Impaired ImpairStream(const LabStream& stream, const ImpairmentConfig& model);

// The deliveries a trace prescribes. Errors: a packet of the stream missing from the trace
// (by seq), a trace seq beyond the stream, an arrival after kMaxLabCallMs.
Result<std::vector<Delivery>> ApplyTrace(const LabStream& stream,
                                         const std::vector<TraceEntry>& trace);

// A packet log's stream and deliveries (arrival_ms < 0: lost). Times are taken relative
// to the earliest send_ms, which becomes the call's 0 ms (a log may be stamped with any
// clock). A line repeating an earlier packet's seq, timestamp and payload is that packet
// arriving again (a duplicate), not another packet. The packet duration is the first one a payload
// tells that is a whole number of ms (1..kMaxLabPacketMs); the RTP timestamps are kept as logged,
// however they jump. Errors: an empty log, no payload that is a packet of the codec, a packet
// duration the lab does not play, a send or arrival more than kMaxLabCallMs after the first send
// (naming seq).
Result<LoggedStream> StreamFromPacketLog(const std::vector<LoggedPacket>& log,
                                         const StreamFormat& format);

// One row of the block log: `t_ms,dur_ms,media_ts,kind`.
struct BlockRecord {
  double t_ms = 0;
  PlayedBlock block;
};

struct PlayerRun {
  std::string name;
  audio::AudioFrame output;  // mono at the stream's output rate, from wall-clock 0
  std::vector<BlockRecord> blocks;
  PlayerCounters counters;
};

// Which players a run plays the call through.
enum class PlayerKind { kParley, kFixedZeroFill, kFixedPlc, kSpeex };

struct PlayOptions {
  double fixed_delay_ms = 60.0;  // the fixed baselines' buffer
  // How long the run lasts after the last arrival (so every buffer drains).
  double tail_ms = 500.0;
  playout::PlayoutEngineConfig engine;  // parley's settings (rate/bindings set from the stream)
};

// Plays `deliveries` through a player of `kind`, from wall-clock 0 until the player
// reaches the end of the media (the end of the last packet sent, by the sender's
// timestamps: PlayedBlock::rtp_timestamp) or `tail_ms` after the last arrival, whichever
// comes first; counters cover exactly the blocks played.
PlayerRun PlayStream(const LabStream& stream, const std::vector<Delivery>& deliveries,
                     PlayerKind kind, const PlayOptions& options = {});

// The loss-free decode: every packet decoded in order, mono at the output rate, placed at
// its media position (RTP ticks from the first packet, within +-2^31); what the listener
// would hear on a perfect network (minus its delay). The reference for similarity
// figures. A payload that does not decode, or media placed before the first packet or
// beyond kMaxLabCallMs, leaves silence there.
Result<audio::AudioFrame> DecodeLossFree(const LabStream& stream);

}  // namespace parley::lab
