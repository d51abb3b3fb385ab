#include "parley/relay/recording.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "parley/audio/mix_limiter.h"
#include "parley/base/counter.h"
#include "parley/base/spsc_queue.h"
#include "parley/codec/registry.h"
#include "parley/container/ogg_opus_writer.h"
#include "parley/playout/playout_engine.h"
#include "parley/rtp/opus_payload.h"
#include "parley/rtp/red.h"
#include "parley/rtp/rtp_packet.h"
#include "parley/rtp/sequence_unwrapper.h"
#include "parley/rtp/srtp_session.h"

namespace parley::relay {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr int kRate = 48000;  // Opus's RTP clock, the engines' and the mix's rate
constexpr int kBlockFrames = kRate / 100;
constexpr milliseconds kBlock{10};
// Gap packets cover multiples of 10 ms, at most 120 ms each (MakeOpusGapPacket).
constexpr int64_t kGapQuantum = kRate / 100;
constexpr int64_t kMaxGapPacket = rtp::kMaxOpusPacketSamples48k;
// A timestamp this far behind the end of its file is a restarted stream, not a late packet.
constexpr int64_t kMaxBackwardTicks = int64_t{10} * kRate;
constexpr int64_t kMaxTimestampLeadTicks = int64_t{kMaxTimestampLead.count()} * kRate;
constexpr size_t kMaxQueuePackets = size_t{1} << 20;
constexpr size_t kMinPacketBytes = 12;  // an RTP header
constexpr size_t kMaxPacketBytes = 65535;
// RED blocks looked at per packet; a sender repeats one or two older frames.
constexpr size_t kMaxRedBlocks = 8;
// Suffixes tried for a session folder that exists already.
constexpr int kMaxFolderSuffix = 1000;
// An engine holding less than a block has played what it had.
constexpr double kDrainedMs = 10.0;
const std::string kMixFileName = "mix.opus";

void Lower(std::atomic<uint64_t>& gauge) {
  gauge.store(gauge.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
}

// A name as a file name: characters outside A-Z a-z 0-9 . _ - become '_' (signaling admits
// none, this is a second guard), and a name of dots only ("..") becomes underscores.
std::string FileSafe(std::string_view name) {
  std::string out;
  for (char c : name) {
    const bool keep =
        std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
    out.push_back(keep ? c : '_');
  }
  if (out.find_first_not_of('.') == std::string::npos) {
    std::replace(out.begin(), out.end(), '.', '_');
    if (out.empty()) out = "_";
  }
  return out;
}

// "20260105T093000Z" for a Unix time in milliseconds.
std::string UtcStamp(int64_t unix_ms) {
  const std::time_t seconds = static_cast<std::time_t>(std::max<int64_t>(unix_ms, 0) / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  const size_t n = std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &utc);
  return std::string(text, n);
}

int64_t Millis(Clock::Duration duration) {
  return std::chrono::duration_cast<milliseconds>(duration).count();
}

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// A packet waiting for the writer: its bytes are in the pool's slot `slot`.
struct QueuedPacket {
  Clock::TimePoint arrival{};
  uint32_t room_id = 0;
  uint32_t participant_id = 0;
  uint32_t slot = 0;
  uint32_t size = 0;
};

struct Event {
  enum class Kind { kAdmitted, kRemoved };
  Kind kind = Kind::kAdmitted;
  Clock::TimePoint at{};
  uint32_t participant_id = 0;
  AdmittedParticipant participant;  // kAdmitted
};

// A file's bookkeeping beside its writer.
struct FileState {
  std::string path;
  Clock::TimePoint last_flush{};
  uint64_t bytes_reported = 0;
  bool failed = false;  // logged once; takes nothing more
};

struct Room;

struct Participant {
  AdmittedParticipant info;
  Room* room = nullptr;
  std::array<bool, 128> is_opus{};
  int red_payload_type = -1;
  bool refused = false;  // no Opus among its codecs
  bool present = true;   // false once removed: its engine plays out what it holds
  Clock::TimePoint left_at{};
  // Its file.
  std::unique_ptr<container::OggOpusWriter> writer;
  FileState file;
  rtp::TimestampUnwrapper unwrapper;
  int64_t origin = 0;        // unwrapped RTP timestamp at the file's position 0
  int64_t file_samples = 0;  // 48 kHz samples in the file, gaps included
  int channels = 1;
  Clock::TimePoint last_arrival{};  // of the last packet written
  int last_duration = 0;            // its samples
  bool pause_written = false;       // 10 ms of the pause since then are in the file
  // Its voice in the mix.
  std::unique_ptr<playout::PlayoutEngine> engine;
  bool engine_failed = false;  // logged; not in the mix
};

struct Room {
  uint32_t id = 0;
  std::string name;
  int64_t start_unix_ms = 0;
  Clock::TimePoint start{};       // recorder clock: time 0 of the mix
  SimulatedClock media_clock;     // the engines' clock: time since `start`
  Clock::TimePoint next_block{};  // when the next 10 ms of mix is pulled
  std::string folder;             // made when the first file opens
  std::optional<std::string> folder_error;
  std::optional<rtp::SrtpInboundSession> srtp;
  bool srtp_unusable = false;  // SRTP on, but no session could be made
  std::unique_ptr<container::OggOpusPcmWriter> mix;
  FileState mix_file;
  audio::MixLimiter limiter{audio::MixLimiterConfig{.ceiling = kMixCeiling}};
  // Present participants and departed ones whose engine still plays.
  std::vector<std::unique_ptr<Participant>> participants;
  size_t present = 0;
};

enum class WriteOutcome { kWritten, kSkipped, kLate, kFailed };

}  // namespace

std::string_view RecordingDropName(RecordingDrop reason) {
  switch (reason) {
    case RecordingDrop::kQueueFull:
      return "queue_full";
    case RecordingDrop::kOversized:
      return "oversized";
    case RecordingDrop::kUnknownParticipant:
      return "unknown_participant";
    case RecordingDrop::kNotOpus:
      return "not_opus";
    case RecordingDrop::kMalformed:
      return "malformed";
    case RecordingDrop::kUndecryptable:
      return "undecryptable";
    case RecordingDrop::kLate:
      return "late";
    case RecordingDrop::kFileError:
      return "file_error";
  }
  return "unknown";
}

uint64_t RecordingCounters::dropped_total() const {
  uint64_t total = 0;
  for (uint64_t n : dropped) total += n;
  return total;
}

struct RoomRecorder::Impl {
  Impl(const Config& recorder_config, Logger& recorder_logger, const Clock& recorder_clock)
      : config(recorder_config),
        logger(recorder_logger),
        clock(recorder_clock),
        pool(std::make_unique<uint8_t[]>(config.queue_packets * config.max_packet_bytes)),
        filled(config.queue_packets),
        free_slots(config.queue_packets),
        sum(kBlockFrames),
        engine_block(kBlockFrames),
        mixed(kBlockFrames) {
    for (uint32_t slot = 0; slot < config.queue_packets; ++slot) (void)free_slots.TryPush(slot);
  }

  // --- Media thread ---------------------------------------------------------------------

  void Offer(uint32_t room_id, uint32_t participant_id, std::span<const uint8_t> packet,
             Clock::TimePoint arrival) {
    if (packet.size() > config.max_packet_bytes) return Drop(RecordingDrop::kOversized);
    uint32_t slot = 0;
    if (!free_slots.TryPop(slot)) return Drop(RecordingDrop::kQueueFull);
    std::memcpy(pool.get() + size_t{slot} * config.max_packet_bytes, packet.data(), packet.size());
    // Cannot fail: the queue holds as many entries as there are slots.
    (void)filled.TryPush(QueuedPacket{.arrival = arrival,
                                      .room_id = room_id,
                                      .participant_id = participant_id,
                                      .slot = slot,
                                      .size = static_cast<uint32_t>(packet.size())});
  }

  // --- Signaling thread -----------------------------------------------------------------

  void Post(Event event) {
    std::lock_guard lock(events_mutex);
    events.push_back(std::move(event));
  }

  // --- Writer ---------------------------------------------------------------------------

  size_t Pass() {
    TakeEvents();
    size_t taken = 0;
    QueuedPacket packet;
    while (filled.TryPop(packet)) {
      Handle(packet);
      (void)free_slots.TryPush(packet.slot);  // cannot fail: the slot came from there
      ++taken;
    }
    // Removals wait until the packets queued before them are written.
    ApplyRemovals();
    const Clock::TimePoint now = clock.Now();
    for (auto& [id, room] : rooms) AdvanceMix(*room, now - config.mix_delay);
    FlushDue(now);
    return taken;
  }

  void FinishAll() {
    const Clock::TimePoint now = clock.Now();
    std::vector<uint32_t> present;
    for (const auto& [id, participant] : participants) present.push_back(id);
    for (uint32_t id : present) removals.push_back({id, now});
    ApplyRemovals();
    // Each room closed with its last participant; this only guards that none outlives Stop.
    while (!rooms.empty()) CloseRoom(*rooms.begin()->second, now);
  }

  void TakeEvents() {
    {
      std::lock_guard lock(events_mutex);
      incoming.swap(events);
    }
    for (Event& event : incoming) {
      if (event.kind == Event::Kind::kAdmitted) {
        Admit(std::move(event.participant), event.at);
      } else {
        removals.push_back({event.participant_id, event.at});
      }
    }
    incoming.clear();
  }

  void Admit(AdmittedParticipant info, Clock::TimePoint at) {
    auto room_it = rooms.find(info.room_id);
    if (room_it == rooms.end()) room_it = rooms.emplace(info.room_id, OpenRoom(info, at)).first;
    Room& room = *room_it->second;
    auto participant = std::make_unique<Participant>();
    Participant& p = *participant;
    p.room = &room;
    for (const session::CodecCapability& codec : info.codecs) {
      if (codec.payload_type < 0 || codec.payload_type > rtp::kMaxPayloadType) continue;
      const codec::CodecInfo* known = codec::FindCodecByName(codec.name);
      if (known != nullptr && known->id == codec::CodecId::kOpus) {
        p.is_opus[static_cast<size_t>(codec.payload_type)] = true;
      } else if (EqualsIgnoringCase(codec.name, "red")) {
        p.red_payload_type = codec.payload_type;
      }
    }
    if (p.red_payload_type < 0 && config.red_payload_type >= 0 &&
        !p.is_opus[static_cast<size_t>(config.red_payload_type)]) {
      p.red_payload_type = config.red_payload_type;
    }
    p.refused = std::none_of(p.is_opus.begin(), p.is_opus.end(), [](bool b) { return b; });
    p.info = std::move(info);
    if (p.refused) {
      Bump(participants_refused);
      std::string codecs;
      for (const session::CodecCapability& codec : p.info.codecs) {
        codecs +=
            fmt::format("{}{}/{}", codecs.empty() ? "" : " ", codec.name, codec.clock_rate_hz);
      }
      logger.Warn("recording_refused", {{"room", room.name},
                                        {"participant_id", p.info.participant_id},
                                        {"identity", p.info.identity},
                                        {"codecs", codecs},
                                        {"reason", "no Opus among its codecs"}});
    }
    participants[p.info.participant_id] = &p;
    ++room.present;
    room.participants.push_back(std::move(participant));
  }

  std::unique_ptr<Room> OpenRoom(const AdmittedParticipant& info, Clock::TimePoint at) {
    auto room = std::make_unique<Room>();
    room->id = info.room_id;
    room->name = info.room;
    room->start_unix_ms = info.session_start_unix_ms;
    room->start = at;
    room->next_block = at;
    if (info.srtp) {
      Result<rtp::SrtpInboundSession> session = MakeSrtp(*info.srtp);
      if (session) {
        room->srtp.emplace(std::move(session).value());
      } else {
        room->srtp_unusable = true;
        Bump(errors);
        logger.Warn("recording_failed",
                    {{"room", room->name}, {"error", "SRTP: " + session.error().message}});
      }
    }
    OpenMix(*room);
    return room;
  }

  static Result<rtp::SrtpInboundSession> MakeSrtp(const session::SrtpInfo& srtp) {
    Result<rtp::SrtpKeyMaterial> material = rtp::MakeSrtpKeyMaterial(srtp.suite, srtp.key);
    if (!material) return material.error();
    return rtp::SrtpInboundSession::Create(*material);
  }

  // The room's session folder, made on first use; nullopt (and the reason in
  // room.folder_error) when it cannot be made.
  std::optional<std::string> Folder(Room& room) {
    if (!room.folder.empty()) return room.folder;
    if (room.folder_error) return std::nullopt;
    const fs::path base =
        fs::path(config.directory) / FileSafe(room.name) / UtcStamp(room.start_unix_ms);
    fs::path folder = base;
    std::error_code error;
    for (int suffix = 2; fs::exists(folder, error) && suffix <= kMaxFolderSuffix; ++suffix) {
      folder = base.string() + "-" + std::to_string(suffix);
    }
    if (fs::exists(folder, error)) {
      room.folder_error = fmt::format("'{}': {} sessions of this room exist already", base.string(),
                                      kMaxFolderSuffix);
      return std::nullopt;
    }
    if (!fs::create_directories(folder, error) || error) {
      room.folder_error = fmt::format("cannot create '{}': {}", folder.string(),
                                      error ? error.message() : "it exists");
      return std::nullopt;
    }
    room.folder = folder.string();
    return room.folder;
  }

  void OpenMix(Room& room) {
    const std::optional<std::string> folder = Folder(room);
    if (!folder) return Fail(room.mix_file, room, nullptr, *room.folder_error);
    room.mix_file.path = (fs::path(*folder) / kMixFileName).string();
    Result<std::unique_ptr<container::OggOpusPcmWriter>> mix = container::OggOpusPcmWriter::Open(
        room.mix_file.path, 1, kRate, config.mix_encoder,
        {"ROOM=" + room.name, fmt::format("START_UNIX_MS={}", room.start_unix_ms),
         "ENCODER=parley relay mix"});
    if (!mix) return Fail(room.mix_file, room, nullptr, mix.error().message);
    room.mix = std::move(mix).value();
    Opened(room.mix_file, room, nullptr);
    Account(room.mix_file, room.mix->writer().bytes_written());
  }

  bool OpenParticipantFile(Participant& p, bool stereo, Clock::TimePoint arrival) {
    Room& room = *p.room;
    const std::optional<std::string> folder = Folder(room);
    if (!folder) {
      Fail(p.file, room, &p, *room.folder_error);
      return false;
    }
    const std::string who =
        p.info.identity.empty() ? fmt::format("ssrc{}", p.info.ssrc) : FileSafe(p.info.identity);
    p.file.path =
        (fs::path(*folder) / fmt::format("{}-{}.opus", p.info.participant_id, who)).string();
    const Clock::TimePoint now = clock.Now();
    const int64_t first_unix_ms =
        std::chrono::duration_cast<milliseconds>(clock.WallNow().time_since_epoch()).count() -
        Millis(now - arrival);
    container::OggOpusWriterConfig writer_config;
    writer_config.channels = stereo ? 2 : 1;
    writer_config.pre_skip_samples_48k = 0;
    writer_config.input_sample_rate_hz = 0;  // unknown: the sender's
    writer_config.vendor = "parley relay (packets as received)";
    writer_config.comments = {"ROOM=" + room.name,
                              fmt::format("PARTICIPANT_ID={}", p.info.participant_id),
                              "IDENTITY=" + p.info.identity,
                              fmt::format("SSRC={}", p.info.ssrc),
                              fmt::format("START_UNIX_MS={}", first_unix_ms),
                              fmt::format("ROOM_OFFSET_MS={}", Millis(arrival - room.start))};
    Result<std::unique_ptr<container::OggOpusWriter>> writer =
        container::OggOpusWriter::Open(p.file.path, std::move(writer_config));
    if (!writer) {
      Fail(p.file, room, &p, writer.error().message);
      return false;
    }
    p.writer = std::move(writer).value();
    p.channels = stereo ? 2 : 1;
    Opened(p.file, room, &p);
    Account(p.file, p.writer->bytes_written());
    return true;
  }

  // `p`: the participant whose file it is; nullptr for the room's mix.
  void Opened(FileState& file, const Room& room, const Participant* p) {
    file.last_flush = clock.Now();
    Bump(files_opened);
    Bump(files_open);
    if (p == nullptr) {
      logger.Info("recording_started", {{"room", room.name}, {"file", "mix"}, {"path", file.path}});
    } else {
      logger.Info("recording_started", {{"room", room.name},
                                        {"file", "participant"},
                                        {"participant_id", p->info.participant_id},
                                        {"path", file.path}});
    }
  }

  // Logs the file's first failure and counts it; the file takes nothing more.
  void Fail(FileState& file, const Room& room, const Participant* p, const std::string& error) {
    if (file.failed) return;
    file.failed = true;
    Bump(errors);
    if (p == nullptr) {
      logger.Warn("recording_failed",
                  {{"room", room.name}, {"file", "mix"}, {"path", file.path}, {"error", error}});
    } else {
      logger.Warn("recording_failed", {{"room", room.name},
                                       {"file", "participant"},
                                       {"participant_id", p->info.participant_id},
                                       {"path", file.path},
                                       {"error", error}});
    }
  }

  void Finished(const FileState& file, const Room& room, const Participant* p, double duration_s) {
    if (p == nullptr) {
      logger.Info("recording_finished", {{"room", room.name},
                                         {"file", "mix"},
                                         {"path", file.path},
                                         {"duration_s", duration_s},
                                         {"bytes", file.bytes_reported}});
    } else {
      logger.Info("recording_finished", {{"room", room.name},
                                         {"file", "participant"},
                                         {"participant_id", p->info.participant_id},
                                         {"path", file.path},
                                         {"duration_s", duration_s},
                                         {"bytes", file.bytes_reported}});
    }
  }

  void Account(FileState& file, uint64_t bytes) {
    if (bytes > file.bytes_reported) Bump(bytes_written, bytes - file.bytes_reported);
    file.bytes_reported = bytes;
  }

  // Ends a participant's file after a failed write: closed, never reopened.
  void AbandonParticipantFile(Participant& p, const std::string& error) {
    Fail(p.file, *p.room, &p, error);
    if (p.writer) {
      (void)p.writer->Close();
      p.writer.reset();
      Lower(files_open);
    }
  }

  void AbandonMix(Room& room, const std::string& error) {
    Fail(room.mix_file, room, nullptr, error);
    if (room.mix) {
      (void)room.mix->Close();
      room.mix.reset();
      Lower(files_open);
    }
    // Nothing left to mix for: the engines stop too.
    for (auto& p : room.participants) p->engine.reset();
  }

  void Handle(const QueuedPacket& queued) {
    auto found = participants.find(queued.participant_id);
    if (found == participants.end()) {
      // Its admission may have been posted after this pass took the events.
      TakeEvents();
      found = participants.find(queued.participant_id);
    }
    if (found == participants.end() || found->second->room->id != queued.room_id) {
      return Drop(RecordingDrop::kUnknownParticipant);
    }
    Participant& p = *found->second;
    Room& room = *p.room;
    std::span<uint8_t> bytes(pool.get() + size_t{queued.slot} * config.max_packet_bytes,
                             queued.size);
    if (room.srtp_unusable) return Drop(RecordingDrop::kUndecryptable);
    if (room.srtp) {
      Result<size_t> length = room.srtp->UnprotectRtp(bytes);
      if (!length) return Drop(RecordingDrop::kUndecryptable);
      bytes = bytes.first(*length);
    }
    Result<rtp::RtpPacketView> view = rtp::ParseRtpPacket(bytes);
    if (!view) return Drop(RecordingDrop::kMalformed);
    AdvanceMix(room, queued.arrival);
    if (p.refused) return Drop(RecordingDrop::kNotOpus);
    WriteToFile(p, *view, queued.arrival);
    FeedEngine(p, *view, queued.arrival);
  }

  void WriteToFile(Participant& p, const rtp::RtpPacketView& packet, Clock::TimePoint arrival) {
    const int payload_type = packet.payload_type();
    std::array<rtp::RedBlock, kMaxRedBlocks> blocks;
    size_t count = 0;
    if (p.is_opus[static_cast<size_t>(payload_type)]) {
      blocks[0] = rtp::RedBlock{payload_type, packet.timestamp(), packet.payload()};
      count = 1;
    } else if (payload_type == p.red_payload_type) {
      Result<size_t> parsed = rtp::ParseRedPayload(packet.payload(), packet.timestamp(), blocks);
      if (!parsed) return Drop(RecordingDrop::kMalformed);
      count = *parsed;
    } else {
      return Drop(RecordingDrop::kNotOpus);
    }
    if (p.file.failed) return Drop(RecordingDrop::kFileError);

    // Blocks oldest first, the primary last; redundant ones only fill holes.
    WriteOutcome primary = WriteOutcome::kSkipped;
    for (size_t i = 0; i < count; ++i) {
      const bool is_primary = i + 1 == count;
      const rtp::RedBlock& block = blocks[i];
      if (!p.is_opus[static_cast<size_t>(block.payload_type)]) {
        if (is_primary) return Drop(RecordingDrop::kNotOpus);
        continue;
      }
      Result<rtp::OpusPacketInfo> info = rtp::ParseOpusPayload(block.data);
      if (!info) continue;
      const WriteOutcome outcome = WriteOpus(p, block, *info, arrival, is_primary);
      if (outcome == WriteOutcome::kFailed) return Drop(RecordingDrop::kFileError);
      if (is_primary) primary = outcome;
    }
    if (p.writer) p.last_arrival = arrival;
    if (primary == WriteOutcome::kWritten) {
      Bump(packets_recorded);
    } else if (primary == WriteOutcome::kLate) {
      Drop(RecordingDrop::kLate);
    } else {
      Drop(RecordingDrop::kMalformed);  // the primary was not valid Opus
    }
  }

  // Writes one Opus frame at its timestamp's place in the file, after a gap for any time
  // missing before it. A redundant (RED) copy is written only into a hole.
  WriteOutcome WriteOpus(Participant& p, const rtp::RedBlock& block,
                         const rtp::OpusPacketInfo& info, Clock::TimePoint arrival, bool primary) {
    if (!p.writer) {
      if (!primary) return WriteOutcome::kSkipped;
      if (!OpenParticipantFile(p, info.stereo, arrival)) return WriteOutcome::kFailed;
      p.origin = p.unwrapper.Unwrap(block.rtp_timestamp);
      p.file_samples = 0;
      p.last_arrival = arrival;
      p.last_duration = 0;
    }
    const int64_t timestamp = p.unwrapper.Unwrap(block.rtp_timestamp);
    int64_t position = timestamp - p.origin;
    // The gap the arrival times show: their distance less the last packet's audio.
    const int64_t since_last =
        std::chrono::duration_cast<std::chrono::microseconds>(arrival - p.last_arrival).count() *
        kRate / 1'000'000;
    const int64_t by_arrival = std::max<int64_t>(0, since_last - p.last_duration);
    if (position < p.file_samples) {
      if (!primary) return WriteOutcome::kSkipped;
      if (p.file_samples - position <= kMaxBackwardTicks) return WriteOutcome::kLate;
      // The sender restarted its stream lower down: go on at the arrival-time distance.
      position = p.file_samples + by_arrival;
      p.origin = timestamp - position;
    } else if (position - p.file_samples > by_arrival + kMaxTimestampLeadTicks) {
      // A leap the arrival times do not back: a restarted stream, not a pause.
      position = p.file_samples + by_arrival;
      p.origin = timestamp - position;
    }
    if (!WriteGap(p, position - p.file_samples)) return WriteOutcome::kFailed;
    if (Status written = p.writer->WritePacket(block.data, info.duration_samples_48k); !written) {
      AbandonParticipantFile(p, written.error().message);
      return WriteOutcome::kFailed;
    }
    p.file_samples += info.duration_samples_48k;
    p.last_duration = info.duration_samples_48k;
    p.pause_written = false;
    Account(p.file, p.writer->bytes_written());
    return WriteOutcome::kWritten;
  }

  // Writes `gap` samples of gap packets in whole 10 ms steps: a remainder below 10 ms is
  // left out, without accumulating (the next gap is measured from the timestamps again).
  // False when the write failed (the file is then abandoned).
  bool WriteGap(Participant& p, int64_t gap) {
    std::array<uint8_t, 2> gap_packet{};
    while (gap >= kGapQuantum) {
      const int samples =
          static_cast<int>(std::min(gap / kGapQuantum * kGapQuantum, kMaxGapPacket));
      Result<size_t> size = container::MakeOpusGapPacket(samples, p.channels, gap_packet);
      Status written = size ? p.writer->WritePacket(std::span(gap_packet).first(*size), samples)
                            : Status(size.error());
      if (!written) {
        AbandonParticipantFile(p, written.error().message);
        return false;
      }
      p.file_samples += samples;
      gap -= samples;
    }
    return true;
  }

  void FeedEngine(Participant& p, const rtp::RtpPacketView& packet, Clock::TimePoint arrival) {
    Room& room = *p.room;
    if (!room.mix || p.engine_failed) return;
    const int payload_type = packet.payload_type();
    if (!p.is_opus[static_cast<size_t>(payload_type)] && payload_type != p.red_payload_type) return;
    if (!p.engine) {
      playout::PlayoutEngineConfig engine_config;
      engine_config.output_rate_hz = kRate;
      engine_config.channels = 1;
      const codec::CodecInfo& opus = codec::GetCodecInfo(codec::CodecId::kOpus);
      for (int pt = 0; pt <= rtp::kMaxPayloadType; ++pt) {
        if (p.is_opus[static_cast<size_t>(pt)]) engine_config.bindings.push_back({pt, &opus});
      }
      engine_config.red_payload_type = p.red_payload_type;
      engine_config.seed = p.info.participant_id;
      try {
        p.engine = std::make_unique<playout::PlayoutEngine>(room.media_clock, engine_config);
      } catch (const std::invalid_argument& error) {
        // The bindings come from the participant's capabilities; a set the engine refuses
        // leaves this voice out of the mix, once, with the reason.
        p.engine_failed = true;
        Bump(errors);
        logger.Warn("recording_failed",
                    {{"room", room.name},
                     {"file", "mix"},
                     {"participant_id", p.info.participant_id},
                     {"error", fmt::format("playout engine: {}", error.what())}});
        return;
      }
    }
    SetRoomTime(room, arrival);
    // Refused packets (a payload the decoder rejects) are the engine's to count.
    (void)p.engine->InsertPacket(packet);
  }

  static void SetRoomTime(Room& room, Clock::TimePoint time) {
    const Clock::Duration target = time - room.start;
    const Clock::Duration now = room.media_clock.Now().time_since_epoch();
    if (target > now) room.media_clock.Advance(target - now);
  }

  void AdvanceMix(Room& room, Clock::TimePoint until) {
    while (room.next_block <= until) MixBlock(room);
  }

  // Pulls the next 10 ms of every engine, mixes, encodes; then drops the engines of
  // departed participants that have played what they held.
  void MixBlock(Room& room) {
    SetRoomTime(room, room.next_block);
    std::fill(sum.begin(), sum.end(), 0);
    for (auto& p : room.participants) {
      if (!p->engine) continue;
      // Pull10ms fails only on a wrong block size, which the engine's config rules out.
      if (!p->engine->Pull10ms(engine_block)) continue;
      for (size_t i = 0; i < sum.size(); ++i) sum[i] += engine_block[i];
    }
    if (room.mix) {
      (void)room.limiter.Apply(sum, mixed);
      if (Status written = room.mix->Write(mixed); !written) {
        AbandonMix(room, written.error().message);
      } else {
        Account(room.mix_file, room.mix->writer().bytes_written());
      }
    }
    room.next_block += kBlock;
    std::erase_if(room.participants, [&](const std::unique_ptr<Participant>& p) {
      if (p->present) return false;
      return !p->engine || p->engine->buffered_ms() < kDrainedMs ||
             room.next_block - p->left_at >= kMixTail;
    });
  }

  void ApplyRemovals() {
    for (size_t i = 0; i < removals.size(); ++i) {
      const auto [participant_id, at] = removals[i];
      auto found = participants.find(participant_id);
      if (found == participants.end()) continue;
      Participant& p = *found->second;
      Room& room = *p.room;
      participants.erase(found);
      FinishParticipantFile(p);
      p.present = false;
      p.left_at = at;
      --room.present;
      if (room.present == 0) CloseRoom(room, at);
    }
    removals.clear();
  }

  void FinishParticipantFile(Participant& p) {
    if (!p.writer) return;
    Status closed = p.writer->Close();
    Account(p.file, p.writer->bytes_written());
    Lower(files_open);
    if (!closed) {
      Fail(p.file, *p.room, &p, closed.error().message);
    } else {
      Finished(p.file, *p.room, &p, static_cast<double>(p.file_samples) / kRate);
    }
    p.writer.reset();
  }

  // The room's last participant left at `at`: the mix runs to then, plus what the engines
  // still hold (kMixTail at most), and is finished; the room is forgotten.
  void CloseRoom(Room& room, Clock::TimePoint at) {
    for (auto& p : room.participants) {
      if (p->present) {
        participants.erase(p->info.participant_id);
        FinishParticipantFile(*p);
        p->present = false;
        p->left_at = at;
      }
    }
    room.present = 0;
    AdvanceMix(room, at);
    while (!room.participants.empty() && room.mix) MixBlock(room);
    if (room.mix) {
      Status closed = room.mix->Close();
      Account(room.mix_file, room.mix->writer().bytes_written());
      Lower(files_open);
      if (!closed) {
        Fail(room.mix_file, room, nullptr, closed.error().message);
      } else {
        Finished(room.mix_file, room, nullptr,
                 static_cast<double>(Millis(room.next_block - room.start)) / 1000.0);
      }
      room.mix.reset();
    }
    rooms.erase(room.id);
  }

  void FlushDue(Clock::TimePoint now) {
    for (auto& [id, room] : rooms) {
      if (room->mix && now - room->mix_file.last_flush >= config.flush_interval) {
        room->mix_file.last_flush = now;
        if (Status flushed = room->mix->Flush(); !flushed) {
          AbandonMix(*room, flushed.error().message);
        } else {
          Account(room->mix_file, room->mix->writer().bytes_written());
        }
      }
      for (auto& p : room->participants) {
        if (!p->writer || now - p->file.last_flush < config.flush_interval) continue;
        p->file.last_flush = now;
        // A speaker who paused: the first 10 ms of the pause push the last packet, which
        // the writer holds back until another follows, onto the page. The pause is at
        // least flush_interval long by the arrival times, so the timestamps of the next
        // packet will place it after these 10 ms.
        if (!p->pause_written && now - p->last_arrival >= config.flush_interval) {
          p->pause_written = true;
          if (!WriteGap(*p, kGapQuantum)) continue;
        }
        if (Status flushed = p->writer->Flush(); !flushed) {
          AbandonParticipantFile(*p, flushed.error().message);
        } else {
          Account(p->file, p->writer->bytes_written());
        }
      }
    }
  }

  void Drop(RecordingDrop reason) { Bump(dropped[static_cast<size_t>(reason)]); }

  RecordingCounters Counters() const {
    RecordingCounters c;
    c.packets_recorded = packets_recorded.load(std::memory_order_relaxed);
    for (size_t i = 0; i < kRecordingDropCount; ++i) {
      c.dropped[i] = dropped[i].load(std::memory_order_relaxed);
    }
    c.participants_refused = participants_refused.load(std::memory_order_relaxed);
    c.files_opened = files_opened.load(std::memory_order_relaxed);
    c.files_open = files_open.load(std::memory_order_relaxed);
    c.bytes_written = bytes_written.load(std::memory_order_relaxed);
    c.errors = errors.load(std::memory_order_relaxed);
    return c;
  }

  // Passed by argument.
  const Config config;
  Logger& logger;
  const Clock& clock;

  // Allocated by this. The pool's slots travel media -> writer in `filled` and back in
  // `free_slots`.
  std::unique_ptr<uint8_t[]> pool;
  SpscQueue<QueuedPacket> filled;
  SpscQueue<uint32_t> free_slots;
  std::mutex events_mutex;
  std::vector<Event> events;  // guarded by events_mutex
  // Writer state.
  std::vector<Event> incoming;
  std::vector<std::pair<uint32_t, Clock::TimePoint>> removals;
  std::unordered_map<uint32_t, std::unique_ptr<Room>> rooms;
  std::unordered_map<uint32_t, Participant*> participants;  // present ones
  std::vector<int32_t> sum;
  std::vector<int16_t> engine_block;
  std::vector<int16_t> mixed;
  // The writer thread.
  std::thread thread;
  std::mutex wake_mutex;
  std::condition_variable wake;
  bool stop_requested = false;  // guarded by wake_mutex
  bool started = false;
  bool stopped = false;

  // Counters, one writer each: kQueueFull and kOversized the media thread's, the rest the
  // writer's.
  std::atomic<uint64_t> packets_recorded{0};
  std::array<std::atomic<uint64_t>, kRecordingDropCount> dropped{};
  std::atomic<uint64_t> participants_refused{0};
  std::atomic<uint64_t> files_opened{0};
  std::atomic<uint64_t> files_open{0};
  std::atomic<uint64_t> bytes_written{0};
  std::atomic<uint64_t> errors{0};
};

Result<std::unique_ptr<RoomRecorder>> RoomRecorder::Create(const Config& config, Logger& logger,
                                                           const Clock& clock) {
  if (config.queue_packets == 0 || config.queue_packets > kMaxQueuePackets ||
      config.max_packet_bytes < kMinPacketBytes || config.max_packet_bytes > kMaxPacketBytes ||
      config.flush_interval.count() <= 0 || config.poll_interval.count() <= 0 ||
      config.mix_delay.count() < 0 || config.red_payload_type < -1 ||
      config.red_payload_type > rtp::kMaxPayloadType) {
    throw std::invalid_argument(
        "RoomRecorderConfig: queue_packets 1..2^20, max_packet_bytes 12..65535, intervals > 0, "
        "mix_delay >= 0, red_payload_type -1..127");
  }
  if (config.directory.empty()) return Error{"recording_dir: empty"};
  std::error_code error;
  fs::create_directories(config.directory, error);
  if (error) {
    return Error{
        fmt::format("recording_dir: cannot create '{}': {}", config.directory, error.message())};
  }
  if (!fs::is_directory(config.directory, error)) {
    return Error{fmt::format("recording_dir: '{}' is not a folder", config.directory)};
  }
  return std::unique_ptr<RoomRecorder>(
      new RoomRecorder(std::make_unique<Impl>(config, logger, clock)));
}

RoomRecorder::RoomRecorder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RoomRecorder::~RoomRecorder() { Stop(); }

void RoomRecorder::Start() {
  if (impl_->started || impl_->stopped) {
    throw std::logic_error("RoomRecorder::Start: started twice or after Stop");
  }
  impl_->started = true;
  impl_->thread = std::thread([impl = impl_.get()] {
    std::unique_lock lock(impl->wake_mutex);
    while (!impl->stop_requested) {
      lock.unlock();
      impl->Pass();
      lock.lock();
      impl->wake.wait_for(lock, impl->config.poll_interval,
                          [impl] { return impl->stop_requested; });
    }
  });
}

size_t RoomRecorder::Poll() {
  if (impl_->started || impl_->stopped) {
    throw std::logic_error("RoomRecorder::Poll: the writer thread runs, or the recorder stopped");
  }
  return impl_->Pass();
}

void RoomRecorder::Stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  if (impl_->thread.joinable()) {
    {
      std::lock_guard lock(impl_->wake_mutex);
      impl_->stop_requested = true;
    }
    impl_->wake.notify_all();
    impl_->thread.join();
  }
  // The writer's state is this thread's now.
  impl_->Pass();
  impl_->FinishAll();
}

void RoomRecorder::OnRtp(uint32_t room_id, uint32_t participant_id, std::span<const uint8_t> packet,
                         Clock::TimePoint arrival) {
  impl_->Offer(room_id, participant_id, packet, arrival);
}

void RoomRecorder::OnParticipantAdmitted(const AdmittedParticipant& participant) {
  impl_->Post(Event{.kind = Event::Kind::kAdmitted,
                    .at = impl_->clock.Now(),
                    .participant_id = participant.participant_id,
                    .participant = participant});
}

void RoomRecorder::OnParticipantRemoved(uint32_t participant_id) {
  impl_->Post(Event{.kind = Event::Kind::kRemoved,
                    .at = impl_->clock.Now(),
                    .participant_id = participant_id,
                    .participant = {}});
}

RecordingCounters RoomRecorder::counters() const { return impl_->Counters(); }

const std::string& RoomRecorder::directory() const { return impl_->config.directory; }

}  // namespace parley::relay
