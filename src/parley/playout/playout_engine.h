// The playout engine: RTP packets in, a steady 10 ms stream of audio out. It
// ties together the packet buffer, the target delay, the decoders and the DSP (time
// stretching, concealment, merge, comfort noise), choosing per block with
// decision_logic.h, and feeds the statistics recorder.
//
//   InsertPacket ─> unwrap ─> RED split ─> PacketBuffer ─┐        ┌─> decode / FEC ──┐
//                      └───> DelayManager::Update ─ target┴─Decide┼─> Expand (PLC) ──┼─> sync
//                                                                 └─> CNG            │ buffer
//   Pull10ms <── stretch (accelerate / preemptive expand) <── merge after concealment┘
//
// The sync buffer holds decoded audio not yet played (a packet is 20 ms, a block 10 ms).
// Every sample it emits is accounted to the recorder when it leaves, by where it came
// from (decoded, concealed, inserted by deceleration; removal is counted when it
// happens), so PlayoutStatisticsRecorder::CheckInvariants() holds after every block.
// Before playout starts the engine emits silence that is not counted as concealment
// (silence_before_start_frames()); once started it never emits hard zeros.
//
// Timestamps are unwrapped from RTP; every bound codec must use the same RTP clock and
// decode at the output rate (Opus decodes at any of its rates: 8/12/16/24/48 kHz).
//
// Threading: not thread-safe; one thread (or the caller's lock) serialises InsertPacket
// and Pull10ms. Per packet and per block: no allocation once constructed.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "parley/base/clock.h"
#include "parley/base/result.h"
#include "parley/codec/codec.h"
#include "parley/playout/comfort_noise.h"
#include "parley/playout/decision_logic.h"
#include "parley/playout/delay_manager.h"
#include "parley/playout/expand.h"
#include "parley/playout/merge.h"
#include "parley/playout/packet_buffer.h"
#include "parley/playout/playout_statistics.h"
#include "parley/playout/stream_timeline.h"
#include "parley/playout/time_stretch.h"
#include "parley/rtp/red.h"
#include "parley/rtp/rtp_packet.h"

namespace parley::playout {

struct PlayoutEngineConfig {
  // Output: 8000..48000 Hz, 1..2 channels. Blocks are 10 ms of it.
  int output_rate_hz = 48000;
  int channels = 1;
  // Payload type -> codec. Empty: Opus at 111 (the usual WebRTC binding).
  struct Binding {
    int payload_type = 111;  // 0..127
    const codec::CodecInfo* codec = nullptr;
  };
  std::vector<Binding> bindings;
  // RFC 2198 RED payload type (0..127), or -1 for none.
  int red_payload_type = -1;
  DelayManagerConfig delay;
  PacketBufferConfig buffer;  // clock_rate_hz is overridden by the codecs' RTP clock
  DecisionConfig decision;
  double stretch_max_fraction = 0.10;  // StretchBudget: at most 10 % of the played time
  uint64_t seed = 1;                   // concealment and comfort noise
};

class PlayoutEngine {
 public:
  using Config = PlayoutEngineConfig;

  // A packet, as an RTP header gives it.
  struct Packet {
    uint8_t payload_type = 0;
    uint16_t sequence_number = 0;
    uint32_t timestamp = 0;  // RTP clock units
    std::span<const uint8_t> payload;
  };

  // What a 10 ms block is made of.
  struct BlockInfo {
    Operation operation = Operation::kSilence;  // the decision (kMerge when one happened)
    // The block's first sample on the engine's timeline: unwrapped RTP ticks, continued
    // across timeline events (a new timeline is mapped to follow on; approximate after
    // stretching); 0 before start.
    int64_t media_timestamp = 0;
    // The sender's RTP timestamp of that sample (through the mapping of the timeline that
    // placed it): which packet's media is playing; 0 before start.
    uint32_t rtp_timestamp = 0;
    double target_delay_ms = 0;  // DelayManager target
    double buffer_delay_ms = 0;  // decoded + buffered audio before the block
    int frames_changed = 0;      // removed (accelerate) or inserted (decelerate, merge)
  };

  // Throws std::invalid_argument on a bad config (rate, channels, a codec that cannot
  // decode at the output rate, mixed RTP clocks).
  PlayoutEngine(const Clock& clock, Config config);
  ~PlayoutEngine();
  PlayoutEngine(const PlayoutEngine&) = delete;
  PlayoutEngine& operator=(const PlayoutEngine&) = delete;

  // Files a packet that arrived now (clock.Now()). RED payloads are split: their older
  // blocks are buffered as redundant copies that a primary replaces. Errors (unknown
  // payload type, malformed RED or codec payload, a packet of a timeline already left)
  // drop the packet; the engine stays usable.
  //
  // Timeline events (a sender restart, a new SSRC, timestamps that leap either way or
  // wrap, a sender clock paused while muted, one stray packet far out) are found by
  // StreamTimeline (stream_timeline.h): a packet off the current timeline is held until a
  // second packet confirms the new one, then both are mapped onto the engine's continuous
  // timeline, so the listener hears the new audio at the same delay as before; an
  // unconfirmed one is dropped and counted (stats().stray_packets).
  // `ssrc`: the sender's, when the caller knows it (an RTP packet's is used): a new one
  // starts a new timeline once a second packet confirms it.
  [[nodiscard]] Status InsertPacket(const Packet& packet,
                                    std::optional<uint32_t> ssrc = std::nullopt);
  [[nodiscard]] Status InsertPacket(const rtp::RtpPacketView& packet);

  // Writes exactly one 10 ms block (block_frames() x channels interleaved samples) into
  // `out`. Error only when `out` has the wrong size.
  [[nodiscard]] Result<BlockInfo> Pull10ms(std::span<int16_t> out);

  // Statistics so far (W3C names); valid until the next call.
  const PlayoutStatistics& stats();
  // Ok when the recorder's invariants hold.
  [[nodiscard]] Status CheckInvariants() const { return recorder_.CheckInvariants(); }

  int block_frames() const { return block_frames_; }
  double target_delay_ms() const { return delay_.target_ms(); }
  // Decoded plus buffered audio, ms.
  double buffered_ms() const;
  bool started() const { return started_; }
  // Silence emitted before playout started, samples per channel.
  int64_t silence_before_start_frames() const { return silence_before_start_frames_; }
  // In-band FEC recoveries (a subset of stats().fecPacketsReceived).
  int64_t fec_recoveries() const { return fec_recoveries_; }

 private:
  // kComfortNoise: DTX comfort noise, counted as played audio, not concealment.
  enum class SegmentKind { kNormal, kConcealed, kSilentConcealed, kInserted, kComfortNoise };
  // A run of samples in the sync buffer with one origin. `fed`: already in Expand's history.
  struct Segment {
    SegmentKind kind = SegmentKind::kNormal;
    int frames = 0;
    bool fed = false;
  };
  struct Decoder {
    const codec::CodecInfo* codec = nullptr;
    std::unique_ptr<codec::AudioDecoder> decoder;
  };

  // Largest number of RED blocks split per packet (RFC 2198 allows more; senders use 1-2).
  static constexpr size_t kMaxRedBlocks = 8;
  using RedBlocks = std::array<rtp::RedBlock, kMaxRedBlocks>;

  // Splits RED and checks the primary block can be decoded.
  Status Split(const Packet& packet, RedBlocks& blocks, size_t& count) const;
  // Buffers the blocks of a packet placed on the engine's timeline.
  void File(const RedBlocks& blocks, size_t count, int64_t primary_timestamp, int64_t sequence,
            Clock::TimePoint arrival);
  // End of the audio played, concealed or buffered (engine ticks); nullopt before any.
  std::optional<int64_t> ContentEnd() const;
  DecisionInput MakeDecisionInput() const;
  // Pops the next packet and appends its audio (merged after concealment). False when
  // nothing could be decoded (the packet is dropped either way).
  bool DecodeNext(Operation& op);
  // Of a packet that arrived after concealment began playing its time, the ticks to skip
  // (its start, already stood in for); 0 for a packet on time.
  int64_t LateTicksToSkip(const PacketInfo& next) const;
  bool RecoverWithFec(Operation& op);
  void AppendDecoded(std::span<const int16_t> audio, Operation& op);
  void Conceal(bool underflow);
  void ComfortNoiseBlock(int frames);
  // Decodes until `frames` are in the sync buffer or the next packet is not contiguous.
  void FillSync(int frames, Operation& op);
  // Removes or inserts a period at the front of the sync buffer: in a pause
  // (`quiet_limit_frames` > 0) at most that many frames (how far the delay is from the
  // target), in speech within the stretch budget.
  int Stretch(Operation op, int quiet_limit_frames);
  void Append(std::span<const int16_t> samples, SegmentKind kind, bool fed);
  void FeedPendingToExpand();
  void Emit(std::span<int16_t> out);
  int64_t FramesToTicks(int64_t frames) const;
  double FramesToMs(int64_t frames) const { return frames * 1000.0 / config_.output_rate_hz; }
  const Decoder* DecoderFor(int payload_type) const;

  // Passed by argument.
  const Clock& clock_;
  const Config config_;
  // Allocated by this.
  std::array<Decoder, 128> decoders_;
  PacketBuffer buffer_;
  DelayManager delay_;
  PlayoutStatisticsRecorder recorder_;
  Expand expand_;
  Merge merge_;
  TimeStretch stretch_;
  StretchBudget budget_;
  ComfortNoise comfort_;
  std::vector<int16_t> sync_;  // decoded, not yet played; front at index 0
  std::vector<int16_t> decoded_;
  std::vector<int16_t> scratch_;  // merge / stretch output
  std::vector<int16_t> preview_;  // Expand::Preview for the merge
  std::array<Segment, 16> segments_{};
  // Others.
  const int block_frames_;
  // Mean square (int16 units) below which a block is a pause: TimeStretch's low-energy
  // level, where it stretches whatever the signal.
  const double quiet_power_;
  const int channels_;
  int clock_rate_hz_ = 48000;
  StreamTimeline timeline_;
  std::optional<Packet> held_;         // payload in held_payload_
  std::vector<uint8_t> held_payload_;  // allocated at construction
  Clock::TimePoint held_arrival_{};
  int sync_frames_ = 0;
  int segment_count_ = 0;
  bool started_ = false;
  bool concealing_ = false;        // the sync buffer ends in concealment: merge the next decode
  bool codec_concealed_ = false;   // and all of it came from the codec's PLC
  bool last_was_dtx_ = false;      // the last packet was a DTX frame (<= 2 bytes)
  bool last_block_quiet_ = false;  // the last block emitted was below quiet_power_
  bool overflow_pending_ = false;
  int64_t concealed_ticks_ = 0;  // concealed since the playout point, RTP ticks
  std::optional<int64_t> last_sequence_;
  int last_payload_type_ = -1;
  Operation last_operation_ = Operation::kSilence;
  // Level floor for drift (DecisionConfig::floor_window_ms): min buffered_ms before a
  // block in the current and the previous window, blocks in the current one.
  double level_min_current_ = 1e9;
  double level_min_previous_ = 1e9;
  int level_window_blocks_ = 0;
  int64_t silence_before_start_frames_ = 0;
  int64_t fec_recoveries_ = 0;
  uint64_t late_skipped_ = 0;  // packets wholly past when they came (LateTicksToSkip)
  uint64_t red_redundant_received_ = 0;
  PlayoutStatistics stats_;
};

}  // namespace parley::playout
