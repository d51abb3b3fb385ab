// What the lab plays a call through: parley's playout engine or one of the baselines it
// is compared with (fixed buffers, the speexdsp jitter buffer), behind one interface so
// that `parley lab --compare` feeds each the same packets at the same instants.
//
// The lab drives a player with a simulated clock: Insert() when a packet arrives,
// Pull10ms() every 10 ms; each block reports what it is made of.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "parley/base/clock.h"
#include "parley/base/result.h"
#include "parley/codec/codec.h"
#include "parley/playout/playout_engine.h"

namespace parley::lab {

// What a 10 ms output block is, for the block log (`t_ms,dur_ms,media_ts,kind`).
enum class BlockKind {
  kNormal,   // decoded audio (merge after concealment included)
  kConceal,  // concealment: codec PLC, expand, comfort noise, zero fill
  kFec,      // recovered from redundancy (Opus in-band FEC)
  kInsert,   // decoded audio slowed down (samples inserted)
  kRemove,   // decoded audio sped up (samples removed)
  kSilence,  // before playout started
};
std::string_view BlockKindName(BlockKind kind);

struct PlayedBlock {
  BlockKind kind = BlockKind::kSilence;
  // Media position of the block's first sample, RTP ticks from the stream's first
  // timestamp (unwrapped); -1 before playout starts.
  int64_t media_ts = -1;
  // The sender's RTP timestamp of the block's first sample (what the packet carrying it
  // said); empty before playout starts. The key to that packet's send time
  // (send_time_index.h): a player that moves timestamps onto a timeline of its own maps
  // them back here.
  std::optional<uint32_t> rtp_timestamp;
  double target_delay_ms = 0.0;  // the player's target (fixed players: their fixed delay)
};

// Counters every player keeps, in samples per channel at the output rate unless stated.
struct PlayerCounters {
  uint64_t emitted_samples = 0;
  uint64_t concealed_samples = 0;
  uint64_t zero_filled_samples = 0;  // hard zeros (part of concealed)
  uint64_t inserted_samples = 0;
  uint64_t removed_samples = 0;
  uint64_t late_packets = 0;       // arrived after their audio was due: dropped
  uint64_t discarded_packets = 0;  // dropped for any other reason (overflow, duplicate)
  uint64_t fec_recoveries = 0;     // packets recovered from redundancy
  uint64_t interruptions = 0;      // concealment runs >= 150 ms
  double interruption_seconds = 0;
};

// The stream a player receives: one codec at one payload type.
struct StreamFormat {
  const codec::CodecInfo* codec = nullptr;
  int payload_type = 111;
  int output_rate_hz = 48000;
  int channels = 1;
  int frame_ms = 20;  // packet duration the sender uses (fixed players size their slots)
  // RTP timestamp of the sender's first packet: the origin of PlayedBlock::media_ts. Unset:
  // the first packet received, which is off by the lost packets' audio when the stream's
  // first packets are lost.
  std::optional<uint32_t> first_timestamp;
};

// Longest packet the lab's players take, ms (Opus's 120 ms).
inline constexpr int kMaxLabPacketMs = 120;

// Ok when every player below can play `format`, else an Error saying what is wrong: a
// codec is needed; the output rate must be 8000..48000 Hz in whole kHz and one the codec
// decodes at (Opus: any of its rates, the others their own); 1..2 channels; a packet
// duration of 1..kMaxLabPacketMs whole ms. The factories below take only such formats and
// throw std::invalid_argument otherwise (a program error): a format built from outside
// input (a packet log) is checked with this first.
[[nodiscard]] Status CheckPlayableFormat(const StreamFormat& format);

class LabPlayer {
 public:
  virtual ~LabPlayer() = default;
  virtual std::string_view name() const = 0;
  // A packet arrived now (the player's clock). Bad packets are counted, never fatal.
  virtual void Insert(const playout::PlayoutEngine::Packet& packet) = 0;
  // Writes one 10 ms block (output_rate_hz / 100 x channels samples).
  virtual PlayedBlock Pull10ms(std::span<int16_t> out) = 0;
  virtual PlayerCounters counters() const = 0;
};

// parley's adaptive playout engine (playout/playout_engine.h) with `config`'s rate,
// channels and bindings set from `format`.
std::unique_ptr<LabPlayer> MakeEnginePlayer(const Clock& clock, const StreamFormat& format,
                                            playout::PlayoutEngineConfig config = {});

// A fixed buffer: the packet with timestamp ts is due `delay_ms` + (ts - ts0) / clock rate
// after the first packet (ts0) arrived; playout starts at the first pull at or after that
// packet's due time and then runs at exactly that delay. A packet that is not there when
// its slot is due is lost (late packets dropped). The hole is filled with zeros
// (`codec_plc` false: the simple WebSocket client) or with the codec's PLC (zeros when
// it has none). Opus decodes at any output rate; other codecs only at their own (else
// std::invalid_argument).
std::unique_ptr<LabPlayer> MakeFixedPlayer(const Clock& clock, const StreamFormat& format,
                                           double delay_ms, bool codec_plc);

// The speexdsp jitter buffer (speex/speex_jitter.h), used as its documentation shows:
// put on arrival, get + tick every frame, the codec's PLC when it reports a missing packet.
std::unique_ptr<LabPlayer> MakeSpeexPlayer(const Clock& clock, const StreamFormat& format);

}  // namespace parley::lab
