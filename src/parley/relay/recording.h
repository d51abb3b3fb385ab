// Recording of rooms (recording_dir, session/relay_config.h): each participant's audio as
// it arrived, in an Ogg Opus file of its own, and each room's mix, in one more.
//
//   <recording_dir>/<room>/<start>/<participant_id>-<identity>.opus   one per participant
//   <recording_dir>/<room>/<start>/mix.opus                            one per room
//
// <start> is the room's session start (its first join) in UTC, "20260105T093000Z"; when
// that folder exists already (a room closed and reopened within the second, a relay
// restarted) "-2", "-3"... is appended, so no recording is ever overwritten. Room names and
// identities are names (session/validation.h: A-Z a-z 0-9 . _ -); one made only of dots
// is written with '_' in their place, so it cannot name a parent folder. A participant
// without an identity is "<participant_id>-ssrc<ssrc>.opus". A participant who leaves and
// joins again has a new participant id, so a new file.
//
// Participant file: the Opus packets of its RTP, byte for byte (no transcoding), from its
// first Opus packet on. Granule positions follow the RTP timestamps (48 kHz for Opus,
// RFC 7587): a gap (loss, DTX, a pause) is written as Opus gap packets of its duration
// (container/ogg_opus_writer.h, MakeOpusGapPacket), so time in the file is time in the
// call. RED (RFC 2198) carrying Opus is unpacked: the primary is written, and a redundant
// block fills its slot when the packet it repeats was lost. A packet older than what the
// file holds (reordered, duplicate) is dropped (kLate); a timestamp jump that the arrival
// times contradict by over kMaxTimestampLead (a sender restarted its stream) continues the
// file at the arrival-time distance instead. Pre-skip 0: the packets are a sender's,
// joined mid-stream, and time 0 is the first one. OpusTags carry ROOM, PARTICIPANT_ID,
// IDENTITY, SSRC, START_UNIX_MS (wall time of the first packet) and ROOM_OFFSET_MS (from
// the room's start, which is time 0 of the mix).
//
// Codecs: the participant's join capabilities say which payload types are Opus ("opus")
// and RED ("red"; when none is named, config.red_payload_type, the client's binding). A
// participant with no Opus at all is refused: no file, a `recording_refused` warning,
// participants_refused counted, its packets dropped as kNotOpus; it is not decoded either,
// so it is not in the mix. Packets of another payload type from an Opus participant
// (telephone-event, another codec) are dropped as kNotOpus; their time stays a gap.
//
// SRTP rooms: the relay holds each room's key (it hands it out), so the recorder
// unprotects its copy of each packet; what fails authentication or replay is kUndecryptable.
//
// Mix: Ogg Opus (the encoder of Config::mix_encoder, 48 kHz mono, 64 kbit/s by default),
// the format of the participant files and about a twentieth of the size of 16-bit WAV
// (a room's hour: some 29 MB instead of 345 MB). Each participant's packets go through a
// playout engine of its own (playout/playout_engine.h: jitter buffer, concealment), fed
// with their arrival times on a clock whose zero is the room's start; every 10 ms of that
// clock, each engine's block is summed, as the client's MediaReceiver sums its peers, and
// then limited (audio/mix_limiter.h): when the sum would exceed kMixCeiling the block's gain drops
// at once and recovers over about 200 ms, so the mix never clips. Time 0 is the room's start (its
// first join); the mix runs until its last participant leaves, plus the audio still buffered (at
// most kMixTail). It lags the call by Config::mix_delay, the margin for packets still in the queue:
// one that comes later than that plays as a late packet (jitter).
//
// Flush: every Config::flush_interval of the recorder's clock (500 ms), each open file's
// packets are put on a page and flushed (OggOpusWriter::Flush), so a reader opening a file
// mid-call gets everything up to under a second ago (the flush interval and the writer's
// poll interval; the mix also mix_delay). The writer holds a file's last packet back until
// another follows; when a participant has sent nothing for a flush interval, the first
// 10 ms of its pause are written as a gap, which puts that packet on the page too. A
// participant's file is finished when it leaves, a mix when its room's last participant
// leaves; Stop() (and the destructor) drain the queue and finish every file: end-of-stream
// page, end granule.
//
// Errors: a folder or file that cannot be created, a write or close that fails (disk full)
// is logged once per file (`recording_failed`, warn) and counted in errors; that file takes
// nothing more (its packets count as kFileError) and the call goes on, as do the other files.
//
// Threading:
// - media thread: OnRtp (RtpTap). Never blocks, locks or allocates: the packet is copied
//   into a free slot of a pool allocated at construction (queue_packets slots of
//   max_packet_bytes) and the slot handed to the writer through a lock-free SPSC queue;
//   free slots come back through another. No free slot: dropped, counted (kQueueFull).
// - signaling thread: OnParticipantAdmitted / OnParticipantRemoved (ParticipantListener):
//   a small mutex-guarded list, never touched by the media thread.
// - writer: the thread Start() runs, or the caller of Poll() when none was started. All
//   files, decoders and encoders live there.
// - Start, Poll and Stop from one controlling thread; counters() from any thread (relaxed
//   atomics: each value exact, the set not one instant).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "parley/base/clock.h"
#include "parley/base/log.h"
#include "parley/base/result.h"
#include "parley/codec/codec.h"
#include "parley/relay/media_router.h"
#include "parley/relay/signaling_server.h"

namespace parley::relay {

// A timestamp step this much longer than the arrival times allow is a stream restart, not
// a pause (see above).
inline constexpr std::chrono::seconds kMaxTimestampLead{2};
// Peak of the mix after limiting, below full scale (-1.7 dBFS) so that the Opus encoding
// of a limited peak does not clip either (it overshoots by up to some 8 %).
inline constexpr int kMixCeiling = 27'000;
// Audio played out of a departed participant's engine (or every engine, when the room
// closes) after the leave, at most: what was still in its jitter buffer.
inline constexpr std::chrono::milliseconds kMixTail{1000};

// Why an accepted RTP packet was not recorded in its participant's file.
enum class RecordingDrop : uint8_t {
  kQueueFull,           // no free slot: the writer fell behind
  kOversized,           // longer than Config::max_packet_bytes
  kUnknownParticipant,  // no admission known (its last packets after it left)
  kNotOpus,             // payload type neither Opus nor RED, or a participant without Opus
  kMalformed,           // not valid RTP, Opus or RED
  kUndecryptable,       // SRTP room: authentication or replay check failed
  kLate,                // older than what its file holds (reordered or duplicate)
  kFileError,           // its file could not be created or written
};
inline constexpr size_t kRecordingDropCount = 8;

// "queue_full", "oversized", "unknown_participant", "not_opus", "malformed",
// "undecryptable", "late", "file_error": metric labels.
std::string_view RecordingDropName(RecordingDrop reason);

// The recorder's totals since construction.
struct RecordingCounters {
  uint64_t packets_recorded = 0;                        // RTP packets written to a participant file
  std::array<uint64_t, kRecordingDropCount> dropped{};  // indexed by RecordingDrop
  uint64_t participants_refused = 0;                    // no Opus in their codecs: not recorded
  uint64_t files_opened = 0;                            // participant files and mixes created
  uint64_t files_open = 0;                              // open now
  uint64_t bytes_written = 0;                           // to all files
  uint64_t errors = 0;  // folders or files not created, writes or closes failed

  uint64_t dropped_for(RecordingDrop reason) const { return dropped[static_cast<size_t>(reason)]; }
  uint64_t dropped_total() const;
};

struct RoomRecorderConfig {
  // Where recordings go (recording_dir); created when missing. Required.
  std::string directory;
  // Packets between the media thread and the writer: the pool's slots. 4096: two seconds
  // of 40 speaking participants at 50 packets/s, far beyond a writer's pause. 1..2^20.
  size_t queue_packets = 4096;
  // Bytes per slot: the longest packet recorded, SRTP tag included. 1500: any media
  // packet on an Ethernet path (Opus's largest is 1275 bytes + headers). 12..65535.
  size_t max_packet_bytes = 1500;
  // How often each open file is flushed (recorder clock). 500 ms, so a reader is never a
  // second behind. > 0.
  std::chrono::milliseconds flush_interval{500};
  // How often the writer thread looks at the queue. 10 ms: a few packets per participant
  // per pass. > 0.
  std::chrono::milliseconds poll_interval{10};
  // How far behind the recorder's clock the mix is made when no packet drives it. 200 ms:
  // a packet spends microseconds in the queue, but a busy machine can stall the writer.
  // >= 0.
  std::chrono::milliseconds mix_delay{200};
  // RED's payload type when the capabilities name none: the client's
  // (MediaSenderConfig::red_payload_type). -1: none. -1..127.
  int red_payload_type = 63;
  // The mix's encoder (its rate and channels are forced to 48 kHz mono). 64 kbit/s
  // fullband, 20 ms: a mix of voices kept close to what was heard, as the client's
  // recorder does.
  codec::EncoderConfig mix_encoder{.sample_rate_hz = 48000,
                                   .channels = 1,
                                   .frame_ms = 20,
                                   .bitrate_bps = 64000,
                                   .complexity = -1,
                                   .fec = false,
                                   .expected_loss_percent = 0,
                                   .dtx = false};
};

class RoomRecorder final : public RtpTap, public ParticipantListener {
 public:
  using Config = RoomRecorderConfig;

  // Creates config.directory (and its parents) when missing. `logger` and `clock` (the
  // media loop's: arrival times are on it) are passed by argument and must outlive the
  // recorder. Error: the folder cannot be created or is not a folder. Throws
  // std::invalid_argument for a Config outside its documented ranges.
  [[nodiscard]] static Result<std::unique_ptr<RoomRecorder>> Create(
      const Config& config, Logger& logger, const Clock& clock = SystemClock::Instance());
  ~RoomRecorder() override;  // Stop()
  RoomRecorder(const RoomRecorder&) = delete;
  RoomRecorder& operator=(const RoomRecorder&) = delete;

  // Starts the writer thread. Throws std::logic_error when started twice or after Stop.
  void Start();
  // One writer pass on the calling thread, for a recorder not started (tests, a tool):
  // takes joins and leaves, writes every queued packet, advances the mixes to the clock
  // less mix_delay, flushes what is due. Returns the packets taken from the queue. Throws
  // std::logic_error while the writer thread runs or after Stop.
  size_t Poll();
  // Stops the writer thread, writes what is queued and finishes every file; idempotent.
  // Packets offered afterwards are not recorded.
  void Stop();

  // RtpTap (media thread).
  void OnRtp(uint32_t room_id, uint32_t participant_id, std::span<const uint8_t> packet,
             Clock::TimePoint arrival) override;
  // ParticipantListener (signaling thread).
  void OnParticipantAdmitted(const AdmittedParticipant& participant) override;
  void OnParticipantRemoved(uint32_t participant_id) override;

  RecordingCounters counters() const;
  const std::string& directory() const;

 private:
  struct Impl;
  explicit RoomRecorder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::relay
