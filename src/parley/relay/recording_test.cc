// The recorder driven directly, on a simulated clock: synthetic Opus RTP (speech encoded by
// the codec layer) offered as the media thread would, the writer run with Poll(), and the
// files read back with the container layer's Ogg Opus reader.
#include "parley/relay/recording.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "parley/audio/similarity.h"
#include "parley/base/random.h"
#include "parley/codec/opus_codec.h"
#include "parley/container/ogg_opus_reader.h"
#include "parley/container/ogg_opus_writer.h"
#include "parley/rtp/red.h"
#include "parley/rtp/rtp_packet.h"
#include "parley/rtp/srtp_session.h"
#include "parley/testing/signals.h"
#include "parley/testing/speech.h"

namespace parley::relay {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr int kRate = 48000;
constexpr int kFrame = 960;  // 20 ms at 48 kHz
constexpr uint8_t kOpusPt = 111;
constexpr uint8_t kRedPt = 63;  // the recorder's default when the capabilities name none
// SimulatedClock's wall start (1,700,000,000 s) as the rooms' session start, and its UTC
// folder name.
constexpr int64_t kSessionStartMs = 1'700'000'000'000;
const std::string kStamp = "20231114T221320Z";

// Bounds of testing::Heard on the mix, with what was measured when they were set:
// - each of three equally loud voices, each about a third of the mix's energy: > 0.45
//   (measured 0.55..0.60; 1/sqrt(3) = 0.58 in theory);
// - speech that was not sent: < 0.35 (measured 0.18).
constexpr double kHeardInMixOfThree = 0.45;
constexpr double kNotHeard = 0.35;

// The first `seconds` of speech `index` at 48 kHz, a whole number of 20 ms frames.
std::vector<int16_t> Clip(int index, double seconds) {
  std::vector<int16_t> clip = testing::Speech(kRate, index);
  clip.resize(static_cast<size_t>(seconds * kRate) / kFrame * kFrame);
  return clip;
}

// `clip` scaled to a peak of 32000: as loud as a voice gets without clipping itself.
std::vector<int16_t> Loud(std::vector<int16_t> clip) {
  int peak = 1;
  for (int16_t x : clip) peak = std::max(peak, std::abs(static_cast<int>(x)));
  for (int16_t& x : clip) x = static_cast<int16_t>(std::lround(x * 32000.0 / peak));
  return clip;
}

// 20 ms Opus packets of 48 kHz mono `pcm`, as a client's encoder makes them.
std::vector<std::vector<uint8_t>> EncodeOpus(const std::vector<int16_t>& pcm) {
  auto encoder = codec::OpusAudioEncoder::Create(kRate, 1, {});
  EXPECT_TRUE(encoder.ok());
  std::vector<std::vector<uint8_t>> packets;
  std::vector<uint8_t> payload(codec::OpusAudioEncoder::kMaxPayloadBytes);
  for (size_t i = 0; i + kFrame <= pcm.size(); i += kFrame) {
    auto size = (*encoder)->Encode(std::span(pcm).subspan(i, kFrame), payload);
    EXPECT_TRUE(size.ok() && *size > 0);
    packets.emplace_back(payload.begin(), payload.begin() + static_cast<long>(*size));
  }
  return packets;
}

// An RTP packet, with tail room for an SRTP tag.
std::vector<uint8_t> Rtp(uint8_t payload_type, uint16_t sequence, uint32_t timestamp, uint32_t ssrc,
                         std::span<const uint8_t> payload) {
  rtp::RtpPacketFields fields;
  fields.payload_type = payload_type;
  fields.sequence_number = sequence;
  fields.timestamp = timestamp;
  fields.ssrc = ssrc;
  std::vector<uint8_t> out(rtp::RtpPacketSize(fields, payload.size()) +
                           rtp::kSrtpMaxRtpOverheadBytes);
  Result<size_t> size = rtp::WriteRtpPacket(fields, payload, out);
  EXPECT_TRUE(size.ok());
  out.resize(*size);
  return out;
}

AdmittedParticipant Member(
    uint32_t room_id, const std::string& room, uint32_t participant_id, const std::string& identity,
    uint32_t ssrc,
    std::vector<session::CodecCapability> codecs = {
        {.name = "opus", .clock_rate_hz = 48000, .channels = 2, .payload_type = kOpusPt}}) {
  return AdmittedParticipant{.room_id = room_id,
                             .room = room,
                             .session_start_unix_ms = kSessionStartMs,
                             .participant_id = participant_id,
                             .identity = identity,
                             .ssrc = ssrc,
                             .rights = {},
                             .codecs = std::move(codecs),
                             .srtp = std::nullopt};
}

struct FilePacket {
  std::vector<uint8_t> data;
  int64_t begin = 0;  // 48 kHz samples, pre-skip included
  int samples = 0;
};

struct FileContents {
  container::OpusHead head;
  container::OpusTags tags;
  container::OggOpusStats stats;
  std::vector<FilePacket> packets;
};

// Every packet the file holds so far (a file still being written reads up to its last
// flushed page).
FileContents ReadPackets(const fs::path& path) {
  FileContents contents;
  auto reader = container::OggOpusReader::Open(path.string());
  EXPECT_TRUE(reader.ok()) << path << ": " << (reader ? "" : reader.error().message);
  if (!reader) return contents;
  while (true) {
    auto packet = (*reader)->ReadPacket();
    EXPECT_TRUE(packet.ok());
    if (!packet.ok() || !*packet) break;
    contents.packets.push_back(
        FilePacket{.data = std::vector<uint8_t>((*packet)->data.begin(), (*packet)->data.end()),
                   .begin = (*packet)->begin_granule_48k(),
                   .samples = (*packet)->samples_48k});
  }
  contents.head = (*reader)->head();
  contents.tags = (*reader)->tags();
  contents.stats = (*reader)->stats();
  return contents;
}

std::vector<int16_t> DecodeFile(const fs::path& path) {
  auto reader = container::OggOpusPcmReader::Open(path.string());
  EXPECT_TRUE(reader.ok()) << path;
  std::vector<int16_t> pcm;
  if (!reader) return pcm;
  while (true) {
    auto chunk = (*reader)->Read();
    EXPECT_TRUE(chunk.ok());
    if (!chunk.ok() || chunk->empty()) break;
    pcm.insert(pcm.end(), chunk->begin(), chunk->end());
  }
  return pcm;
}

bool IsGapPacket(const FilePacket& packet) {
  std::array<uint8_t, 2> gap{};
  Result<size_t> size = container::MakeOpusGapPacket(packet.samples, 1, gap);
  return size.ok() && packet.data == std::vector<uint8_t>(gap.begin(), gap.begin() + *size);
}

class RoomRecorderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) / "parley_recording_test" / info->name();
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<RoomRecorder> MakeRecorder(RoomRecorderConfig config = {}) {
    config.directory = dir_.string();
    auto recorder = RoomRecorder::Create(config, logger_, clock_);
    EXPECT_TRUE(recorder.ok()) << recorder.error().message;
    return std::move(recorder).value();
  }

  // Moves the simulated clock to `t` after its start (never back).
  void At(Clock::Duration t) {
    const Clock::Duration now = clock_.Now().time_since_epoch();
    if (t > now) clock_.Advance(t - now);
  }

  fs::path Session(const std::string& room) const { return dir_ / room / kStamp; }

  std::vector<nlohmann::json> Events(std::string_view event) {
    std::lock_guard lock(mutex_);
    std::vector<nlohmann::json> found;
    for (const std::string& line : lines_) {
      nlohmann::json parsed = nlohmann::json::parse(line);
      if (parsed["event"] == event) found.push_back(std::move(parsed));
    }
    return found;
  }

  SimulatedClock clock_;
  std::mutex mutex_;
  std::vector<std::string> lines_;
  Logger logger_{LogLevel::kDebug,
                 [this](std::string_view line) {
                   std::lock_guard lock(mutex_);
                   lines_.emplace_back(line);
                 },
                 clock_};
  fs::path dir_;
};

// The file holds the payloads as they were sent, each at its RTP timestamp's place; lost
// packets and a 1 s pause stay that long, as gap packets; the timestamps wrap on the way.
TEST_F(RoomRecorderTest, ParticipantFileHoldsThePayloadsAsSentAndGapsAsTime) {
  auto recorder = MakeRecorder();
  recorder->OnParticipantAdmitted(Member(1, "standup", 7, "alice", 1111));
  const auto payloads = EncodeOpus(Clip(0, 2.0));
  ASSERT_EQ(payloads.size(), 100u);
  const uint32_t ts0 = 4'294'900'000u;           // wraps 70 ms in
  std::vector<std::pair<int64_t, size_t>> sent;  // file position, payload index
  for (size_t i = 0; i < payloads.size(); ++i) {
    if (i >= 40 && i < 50) continue;  // 200 ms lost
    const int64_t position = static_cast<int64_t>(i) * kFrame + (i >= 70 ? kRate : 0);  // 1 s pause
    At(milliseconds(100 + position / 48));
    recorder->OnRtp(1, 7,
                    Rtp(kOpusPt, static_cast<uint16_t>(i), ts0 + static_cast<uint32_t>(position),
                        1111, payloads[i]),
                    clock_.Now());
    recorder->Poll();
    sent.emplace_back(position, i);
  }
  recorder->OnParticipantRemoved(7);
  recorder->Poll();

  const fs::path path = Session("standup") / "7-alice.opus";
  const FileContents file = ReadPackets(path);
  EXPECT_TRUE(file.stats.end_of_stream);
  EXPECT_EQ(file.stats.defect_count, 0);
  EXPECT_EQ(file.head.pre_skip_samples_48k, 0);
  size_t next = 0;
  int64_t end = 0;
  for (const FilePacket& packet : file.packets) {
    EXPECT_EQ(packet.begin, end) << "contiguous";
    end = packet.begin + packet.samples;
    if (next < sent.size() && packet.begin == sent[next].first) {
      EXPECT_EQ(packet.data, payloads[sent[next].second]) << "payload " << sent[next].second;
      ++next;
    } else {
      EXPECT_TRUE(IsGapPacket(packet)) << "at " << packet.begin;
    }
  }
  EXPECT_EQ(next, sent.size());
  EXPECT_EQ(end, 100 * kFrame + kRate);
  const RecordingCounters counters = recorder->counters();
  EXPECT_EQ(counters.packets_recorded, 90u);
  EXPECT_EQ(counters.dropped_total(), 0u);

  // Decoded, the file is the sent packets' audio at their times, sample for sample, with
  // the decoder's concealment over the gaps, as a receiver would hear it.
  const std::vector<int16_t> decoded = DecodeFile(path);
  auto decoder = codec::OpusAudioDecoder::Create(kRate, 1);
  ASSERT_TRUE(decoder.ok());
  std::vector<int16_t> reference;
  std::vector<int16_t> out(static_cast<size_t>(kRate));
  for (const auto& [position, index] : sent) {
    if (position > static_cast<int64_t>(reference.size())) {
      const int missing = static_cast<int>(position - static_cast<int64_t>(reference.size()));
      auto concealed = (*decoder)->Conceal(missing, out);
      ASSERT_TRUE(concealed.ok());
      reference.insert(reference.end(), out.begin(), out.begin() + *concealed);
    }
    auto n = (*decoder)->Decode(payloads[index], out);
    ASSERT_TRUE(n.ok());
    reference.insert(reference.end(), out.begin(), out.begin() + *n);
  }
  ASSERT_EQ(decoded.size(), reference.size());
  EXPECT_TRUE(decoded == reference);
  const audio::Similarity similarity = audio::CompareAligned(reference, decoded, kRate, 0);
  RecordProperty("correlation_with_sent", std::to_string(similarity.correlation));
  EXPECT_GT(similarity.correlation, 0.99);
}

// A sender that restarts its stream (a new random timestamp) 1 s in does not leave hours
// of gap: the arrival times, 20 ms apart, say where the file goes on.
TEST_F(RoomRecorderTest, ATimestampLeapTheArrivalsContradictIsNotWrittenAsAGap) {
  auto recorder = MakeRecorder();
  recorder->OnParticipantAdmitted(Member(1, "standup", 7, "alice", 1111));
  const auto payloads = EncodeOpus(Clip(0, 2.0));
  for (size_t i = 0; i < payloads.size(); ++i) {
    At(milliseconds(100 + 20 * static_cast<int64_t>(i)));
    const uint32_t timestamp = static_cast<uint32_t>(i * kFrame) + (i >= 50 ? 0x6000'0000u : 0);
    recorder->OnRtp(1, 7, Rtp(kOpusPt, static_cast<uint16_t>(i), timestamp, 1111, payloads[i]),
                    clock_.Now());
    recorder->Poll();
  }
  recorder->Stop();
  const FileContents file = ReadPackets(Session("standup") / "7-alice.opus");
  ASSERT_EQ(file.packets.size(), payloads.size());
  EXPECT_EQ(file.packets.back().begin + file.packets.back().samples,
            static_cast<int64_t>(payloads.size()) * kFrame);
}

struct Voice {
  uint32_t participant_id;
  std::vector<int16_t> source;
  std::vector<std::vector<uint8_t>> packets;
  milliseconds start;
};

// Offers every voice's packets at 20 ms intervals from its start, with up to 15 ms of
// seeded arrival jitter, in arrival order, polling the writer after each.
void Speak(RoomRecorder& recorder, SimulatedClock& clock, uint32_t room_id,
           const std::vector<Voice>& voices, uint64_t seed) {
  struct Arrival {
    Clock::Duration at;
    const Voice* voice;
    size_t index;
  };
  Random random(seed);
  std::vector<Arrival> arrivals;
  for (const Voice& voice : voices) {
    for (size_t i = 0; i < voice.packets.size(); ++i) {
      const auto jitter = milliseconds(random.UniformInt(0, 15));
      arrivals.push_back(
          {voice.start + milliseconds(20 * static_cast<int64_t>(i)) + jitter, &voice, i});
    }
  }
  std::stable_sort(arrivals.begin(), arrivals.end(),
                   [](const Arrival& a, const Arrival& b) { return a.at < b.at; });
  for (const Arrival& arrival : arrivals) {
    const Clock::Duration now = clock.Now().time_since_epoch();
    if (arrival.at > now) clock.Advance(arrival.at - now);
    recorder.OnRtp(room_id, arrival.voice->participant_id,
                   Rtp(kOpusPt, static_cast<uint16_t>(arrival.index),
                       static_cast<uint32_t>(arrival.index * kFrame), arrival.voice->participant_id,
                       arrival.voice->packets[arrival.index]),
                   clock.Now());
    recorder.Poll();
  }
}

int PeakOf(const std::vector<int16_t>& pcm) {
  int peak = 0;
  for (int16_t x : pcm) peak = std::max(peak, std::abs(static_cast<int>(x)));
  return peak;
}

// The mix holds each of three voices (and not speech nobody sent), as long as the room
// lasted, without clipping.
TEST_F(RoomRecorderTest, MixHoldsEveryParticipant) {
  auto recorder = MakeRecorder();
  std::vector<Voice> voices;
  for (uint32_t i = 0; i < 3; ++i) {
    recorder->OnParticipantAdmitted(Member(1, "standup", i + 1, fmt::format("p{}", i), i + 1));
    Voice voice{.participant_id = i + 1,
                .source = Clip(static_cast<int>(i), 2.0),
                .packets = {},
                .start = milliseconds(100 + 30 * i)};
    voice.packets = EncodeOpus(voice.source);
    voices.push_back(std::move(voice));
  }
  Speak(*recorder, clock_, 1, voices, 7);
  At(milliseconds(2600));
  recorder->Poll();
  for (uint32_t i = 0; i < 3; ++i) recorder->OnParticipantRemoved(i + 1);
  recorder->Poll();

  const fs::path mix_path = Session("standup") / "mix.opus";
  const FileContents file = ReadPackets(mix_path);
  EXPECT_TRUE(file.stats.end_of_stream);
  EXPECT_EQ(file.stats.defect_count, 0);
  const std::vector<int16_t> mix = DecodeFile(mix_path);
  // From the room's start (the admissions, at 0) to the leaves at 2.6 s, plus what the
  // engines still held (they had played it all: nothing was sent after 2.2 s).
  EXPECT_GE(mix.size(), static_cast<size_t>(2.6 * kRate));
  EXPECT_LE(mix.size(), static_cast<size_t>(2.6 * kRate) + kRate / 10);
  std::string measured;
  for (const Voice& voice : voices) {
    const double heard = testing::Heard(mix, voice.source, kRate);
    measured += std::to_string(heard) + " ";
    EXPECT_GT(heard, kHeardInMixOfThree) << "participant " << voice.participant_id;
  }
  const std::vector<int16_t> speech = testing::Speech(kRate, 0);
  ASSERT_GE(speech.size(), static_cast<size_t>(3 * kRate));
  const std::vector<int16_t> unsent(speech.begin() + 2 * kRate, speech.end());
  const double not_sent = testing::Heard(mix, unsent, kRate);
  RecordProperty("heard_in_mix", measured);
  RecordProperty("heard_not_sent", std::to_string(not_sent));
  EXPECT_LT(not_sent, kNotHeard);
  EXPECT_LT(PeakOf(mix), 32767);
}

// A participant whose sender restarts mid-call (its timestamps and sequence numbers start
// again from lower values, as after a reconnect) is in the mix before and after: the
// recording's playout engine follows the new timeline instead of waiting for the old one.
TEST_F(RoomRecorderTest, MixFollowsASenderThatRestarts) {
  auto recorder = MakeRecorder();
  recorder->OnParticipantAdmitted(Member(1, "standup", 1, "p0", 1));
  const std::vector<int16_t> first = Clip(0, 2.0);
  const std::vector<int16_t> second = Clip(1, 2.0);
  const auto first_packets = EncodeOpus(first);
  const auto second_packets = EncodeOpus(second);
  auto send = [&](const std::vector<std::vector<uint8_t>>& packets, int64_t start_ms,
                  uint16_t sequence, uint32_t timestamp) {
    for (size_t i = 0; i < packets.size(); ++i) {
      At(milliseconds(start_ms + 20 * static_cast<int64_t>(i)));
      recorder->OnRtp(1, 1,
                      Rtp(kOpusPt, static_cast<uint16_t>(sequence + i),
                          timestamp + static_cast<uint32_t>(i * kFrame), 1, packets[i]),
                      clock_.Now());
      recorder->Poll();
    }
  };
  send(first_packets, 100, 40000, 3'000'000);
  send(second_packets, 100 + 20 * static_cast<int64_t>(first_packets.size()), 17, 5000);
  At(milliseconds(4600));
  recorder->Poll();
  recorder->OnParticipantRemoved(1);
  recorder->Poll();
  const std::vector<int16_t> mix = DecodeFile(Session("standup") / "mix.opus");
  EXPECT_GE(mix.size(), static_cast<size_t>(4.5 * kRate));
  // Heard searches an alignment up to 1.5 s: each clip against its part of the mix.
  const auto mix_first = std::span<const int16_t>(mix).first(static_cast<size_t>(2.3 * kRate));
  const auto mix_second = std::span<const int16_t>(mix).subspan(static_cast<size_t>(2.0 * kRate));
  const double heard_first = testing::Heard(mix_first, first, kRate);
  const double heard_second = testing::Heard(mix_second, second, kRate);
  RecordProperty("heard_before_restart", std::to_string(heard_first));
  RecordProperty("heard_after_restart", std::to_string(heard_second));
  EXPECT_GT(heard_first, kHeardInMixOfThree);
  EXPECT_GT(heard_second, kHeardInMixOfThree);
}

// Three voices each near full scale add up to about three times it: the limiter keeps the
// mix below full scale (no sample saturates after encoding and decoding), and each voice
// is still there.
TEST_F(RoomRecorderTest, MixOfLoudVoicesDoesNotClip) {
  auto recorder = MakeRecorder();
  std::vector<Voice> voices;
  for (uint32_t i = 0; i < 3; ++i) {
    recorder->OnParticipantAdmitted(Member(1, "loud", i + 1, fmt::format("p{}", i), i + 1));
    Voice voice{.participant_id = i + 1,
                .source = Loud(Clip(static_cast<int>(i), 2.0)),
                .packets = {},
                .start = milliseconds(100)};
    voice.packets = EncodeOpus(voice.source);
    voices.push_back(std::move(voice));
  }
  Speak(*recorder, clock_, 1, voices, 11);
  recorder->Stop();
  const std::vector<int16_t> mix = DecodeFile(Session("loud") / "mix.opus");
  ASSERT_FALSE(mix.empty());
  size_t saturated = 0;
  for (int16_t x : mix) saturated += (x == 32767 || x == -32768) ? 1 : 0;
  RecordProperty("mix_peak", std::to_string(PeakOf(mix)));
  EXPECT_EQ(saturated, 0u);
  EXPECT_GT(PeakOf(mix), 20000) << "limited, not silenced";
  for (const Voice& voice : voices) {
    EXPECT_GT(testing::Heard(mix, voice.source, kRate), kHeardInMixOfThree);
  }
}

// With no free slot the packet is dropped and counted at once (the media thread never
// waits); a packet above the slot size likewise. What was queued is recorded.
TEST_F(RoomRecorderTest, QueueOverflowIsCountedNotWaitedFor) {
  auto recorder = MakeRecorder({.directory = {}, .queue_packets = 8, .max_packet_bytes = 400});
  recorder->OnParticipantAdmitted(Member(1, "standup", 7, "alice", 1111));
  const auto payloads = EncodeOpus(Clip(0, 1.0));
  for (size_t i = 0; i < 20; ++i) {
    recorder->OnRtp(1, 7,
                    Rtp(kOpusPt, static_cast<uint16_t>(i), static_cast<uint32_t>(i * kFrame), 1111,
                        payloads[i]),
                    clock_.Now());
  }
  std::vector<uint8_t> oversized(401, 0x80);
  recorder->OnRtp(1, 7, oversized, clock_.Now());
  RecordingCounters counters = recorder->counters();
  EXPECT_EQ(counters.dropped_for(RecordingDrop::kQueueFull), 12u);
  EXPECT_EQ(counters.dropped_for(RecordingDrop::kOversized), 1u);
  EXPECT_EQ(counters.packets_recorded, 0u);

  EXPECT_EQ(recorder->Poll(), 8u);
  EXPECT_EQ(recorder->counters().packets_recorded, 8u);
  // The slots are free again.
  for (size_t i = 20; i < 28; ++i) {
    recorder->OnRtp(1, 7,
                    Rtp(kOpusPt, static_cast<uint16_t>(i), static_cast<uint32_t>(i * kFrame), 1111,
                        payloads[i]),
                    clock_.Now());
  }
  EXPECT_EQ(recorder->Poll(), 8u);
  counters = recorder->counters();
  EXPECT_EQ(counters.packets_recorded, 16u);
  EXPECT_EQ(counters.dropped_for(RecordingDrop::kQueueFull), 12u);
}

// Stop finishes every file of every room, whoever is still present: a reader parses each
// to its end-of-stream page without a defect.
TEST_F(RoomRecorderTest, StopFinishesEveryFile) {
  auto recorder = MakeRecorder();
  const auto payloads = EncodeOpus(Clip(1, 1.0));
  for (uint32_t room = 1; room <= 2; ++room) {
    for (uint32_t k = 0; k < 2; ++k) {
      const uint32_t id = room * 10 + k;
      recorder->OnParticipantAdmitted(Member(room, fmt::format("room{}", room), id, "", id));
    }
  }
  for (size_t i = 0; i < payloads.size(); ++i) {
    At(milliseconds(20 * static_cast<int64_t>(i)));
    for (uint32_t id : {10u, 11u, 20u, 21u}) {
      recorder->OnRtp(id / 10, id,
                      Rtp(kOpusPt, static_cast<uint16_t>(i), static_cast<uint32_t>(i * kFrame), id,
                          payloads[i]),
                      clock_.Now());
    }
    recorder->Poll();
  }
  EXPECT_EQ(recorder->counters().files_open, 6u);
  recorder->Stop();
  const RecordingCounters counters = recorder->counters();
  EXPECT_EQ(counters.files_open, 0u);
  EXPECT_EQ(counters.files_opened, 6u);
  EXPECT_EQ(counters.errors, 0u);
  uint64_t bytes = 0;
  for (uint32_t room = 1; room <= 2; ++room) {
    const fs::path session = Session(fmt::format("room{}", room));
    for (const std::string& name :
         {std::to_string(room * 10) + "-ssrc" + std::to_string(room * 10) + ".opus",
          std::to_string(room * 10 + 1) + "-ssrc" + std::to_string(room * 10 + 1) + ".opus",
          std::string("mix.opus")}) {
      SCOPED_TRACE(name);
      auto info = container::InspectOggOpus((session / name).string());
      ASSERT_TRUE(info.ok()) << info.error().message;
      EXPECT_TRUE(info->stats.end_of_stream);
      EXPECT_EQ(info->stats.defect_count, 0);
      EXPECT_GE(info->duration_seconds, 0.98);
      bytes += fs::file_size(session / name);
    }
  }
  EXPECT_EQ(counters.bytes_written, bytes);
  EXPECT_EQ(Events("recording_finished").size(), 6u);
}

// A reader opening the files while the call runs finds everything that arrived up to a
// second ago, in the participant's file and in the mix, also after the speaker fell silent
// (no packet drives the writer then, only the clock).
TEST_F(RoomRecorderTest, FilesAreReadableWithinASecondDuringTheCall) {
  auto recorder = MakeRecorder();
  recorder->OnParticipantAdmitted(Member(1, "standup", 7, "alice", 1111));
  const auto payloads = EncodeOpus(Clip(0, 3.0));
  const fs::path participant = Session("standup") / "7-alice.opus";
  const fs::path mix = Session("standup") / "mix.opus";
  // Speaks 0.5 s, is silent 1.5 s, speaks again; the writer polls every 10 ms.
  auto sent_at = [](size_t i) {
    return milliseconds(20 * static_cast<int64_t>(i) + (i >= 25 ? 1500 : 0));
  };
  size_t next = 0;
  size_t checks = 0;
  for (int64_t t = 0; t <= 4500; t += 10) {
    At(milliseconds(t));
    while (next < payloads.size() && sent_at(next) <= milliseconds(t)) {
      recorder->OnRtp(1, 7,
                      Rtp(kOpusPt, static_cast<uint16_t>(next),
                          static_cast<uint32_t>(next * kFrame), 1111, payloads[next]),
                      clock_.Now());
      ++next;
    }
    recorder->Poll();
    if (t % 250 != 0 || t < 1000) continue;
    SCOPED_TRACE(t);
    ++checks;
    // Every packet sent more than a second ago is in the file.
    size_t due = 0;
    while (due < next && sent_at(due) + milliseconds(1000) <= milliseconds(t)) ++due;
    const FileContents file = ReadPackets(participant);
    size_t audio_packets = 0;
    for (const FilePacket& packet : file.packets) audio_packets += IsGapPacket(packet) ? 0 : 1;
    EXPECT_GE(audio_packets, due);
    // The mix runs on the clock: at most a second behind it.
    auto reader = container::OggOpusReader::Open(mix.string());
    ASSERT_TRUE(reader.ok());
    while (true) {
      auto packet = (*reader)->ReadPacket();
      ASSERT_TRUE(packet.ok());
      if (!*packet) break;
    }
    EXPECT_GE((*reader)->duration_samples_48k(), (t - 1000) * kRate / 1000);
  }
  EXPECT_EQ(checks, 15u);
  recorder->Stop();
}

// A participant whose codecs hold no Opus is not recorded: it is logged and counted, its
// packets are dropped as not_opus, and the room (its mix) goes on.
TEST_F(RoomRecorderTest, ParticipantWithoutOpusIsRefusedLoggedAndCounted) {
  auto recorder = MakeRecorder();
  recorder->OnParticipantAdmitted(
      Member(1, "standup", 7, "bob", 2222,
             {{.name = "PCMU", .clock_rate_hz = 8000, .channels = 1, .payload_type = 0}}));
  const std::vector<uint8_t> pcmu(160, 0xFF);
  for (uint16_t i = 0; i < 10; ++i) {
    recorder->OnRtp(1, 7, Rtp(0, i, i * 160u, 2222, pcmu), clock_.Now());
  }
  recorder->Poll();
  recorder->Stop();
  const RecordingCounters counters = recorder->counters();
  EXPECT_EQ(counters.participants_refused, 1u);
  EXPECT_EQ(counters.dropped_for(RecordingDrop::kNotOpus), 10u);
  EXPECT_EQ(counters.packets_recorded, 0u);
  EXPECT_FALSE(fs::exists(Session("standup") / "7-bob.opus"));
  EXPECT_TRUE(fs::exists(Session("standup") / "mix.opus"));
  const auto refused = Events("recording_refused");
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0]["participant_id"], 7);
  EXPECT_EQ(refused[0]["codecs"], "PCMU/8000");
}

// A room whose folder cannot be made: each of its files logs its failure once and counts
// it, its packets are counted as file_error, and the other room is recorded as usual.
TEST_F(RoomRecorderTest, FolderThatCannotBeMadeIsLoggedOncePerFileAndTheCallGoesOn) {
  fs::create_directories(dir_);
  std::ofstream(dir_ / "blocked") << "a file where the room's folder would go";
  auto recorder = MakeRecorder();
  recorder->OnParticipantAdmitted(Member(1, "blocked", 7, "alice", 1));
  recorder->OnParticipantAdmitted(Member(1, "blocked", 8, "bob", 2));
  recorder->OnParticipantAdmitted(Member(2, "open", 9, "carol", 3));
  const auto payloads = EncodeOpus(Clip(0, 0.5));
  for (size_t i = 0; i < payloads.size(); ++i) {
    At(milliseconds(20 * static_cast<int64_t>(i)));
    for (uint32_t id : {7u, 8u, 9u}) {
      recorder->OnRtp(id == 9 ? 2 : 1, id,
                      Rtp(kOpusPt, static_cast<uint16_t>(i), static_cast<uint32_t>(i * kFrame),
                          id - 6, payloads[i]),
                      clock_.Now());
    }
    recorder->Poll();
  }
  recorder->Stop();
  const RecordingCounters counters = recorder->counters();
  EXPECT_EQ(counters.errors, 3u);  // blocked's mix and two participant files
  EXPECT_EQ(Events("recording_failed").size(), 3u);
  EXPECT_EQ(counters.dropped_for(RecordingDrop::kFileError), 2 * payloads.size());
  EXPECT_EQ(counters.packets_recorded, payloads.size());
  auto info = container::InspectOggOpus((Session("open") / "9-carol.opus").string());
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->stats.end_of_stream);
  EXPECT_EQ(info->stats.packets, static_cast<int64_t>(payloads.size()));
}

// A participant who leaves has a finished file at once, while the room and its mix go on.
TEST_F(RoomRecorderTest, LeaveFinishesTheParticipantsFileWhileTheRoomGoesOn) {
  auto recorder = MakeRecorder();
  recorder->OnParticipantAdmitted(Member(1, "standup", 7, "alice", 1));
  recorder->OnParticipantAdmitted(Member(1, "standup", 8, "bob", 2));
  const auto payloads = EncodeOpus(Clip(0, 1.0));
  for (size_t i = 0; i < payloads.size(); ++i) {
    At(milliseconds(20 * static_cast<int64_t>(i)));
    for (uint32_t id : {7u, 8u}) {
      recorder->OnRtp(1, id,
                      Rtp(kOpusPt, static_cast<uint16_t>(i), static_cast<uint32_t>(i * kFrame),
                          id - 6, payloads[i]),
                      clock_.Now());
    }
    recorder->Poll();
  }
  recorder->OnParticipantRemoved(7);
  recorder->Poll();
  EXPECT_EQ(recorder->counters().files_open, 2u);  // bob's and the mix
  auto info = container::InspectOggOpus((Session("standup") / "7-alice.opus").string());
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->stats.end_of_stream);
  EXPECT_EQ(info->stats.defect_count, 0);
  EXPECT_EQ(info->stats.packets, static_cast<int64_t>(payloads.size()));
  // Its last packets, still queued after the leave was seen, would count as unknown.
  recorder->OnRtp(1, 7, Rtp(kOpusPt, 999, 999 * kFrame, 1, payloads[0]), clock_.Now());
  recorder->Poll();
  EXPECT_EQ(recorder->counters().dropped_for(RecordingDrop::kUnknownParticipant), 1u);
  recorder->Stop();
}

// In an SRTP room the recorder unprotects its copy with the room's key: the file holds the
// plain payloads. A packet that fails authentication is counted, not written.
TEST_F(RoomRecorderTest, SrtpRoomIsRecordedInTheClear) {
  session::SrtpInfo srtp{.suite = "AES_CM_128_HMAC_SHA1_80", .key = {}};
  for (int i = 0; i < 30; ++i) srtp.key.push_back(static_cast<uint8_t>(7 * i + 1));
  auto material =
      rtp::MakeSrtpKeyMaterial(rtp::SrtpProfile::kAesCm128HmacSha1_80,
                               std::span(srtp.key).first(16), std::span(srtp.key).subspan(16));
  ASSERT_TRUE(material.ok());
  auto sender = rtp::SrtpOutboundSession::Create(*material);
  ASSERT_TRUE(sender.ok());

  auto recorder = MakeRecorder();
  AdmittedParticipant member = Member(1, "secret", 7, "alice", 1111);
  member.srtp = srtp;
  recorder->OnParticipantAdmitted(member);
  const auto payloads = EncodeOpus(Clip(2, 0.5));
  for (size_t i = 0; i < payloads.size(); ++i) {
    At(milliseconds(20 * static_cast<int64_t>(i)));
    std::vector<uint8_t> packet = Rtp(kOpusPt, static_cast<uint16_t>(i),
                                      static_cast<uint32_t>(i * kFrame), 1111, payloads[i]);
    const size_t plain = packet.size();
    packet.resize(plain + rtp::kSrtpMaxRtpOverheadBytes);
    auto protected_size = sender->ProtectRtp(packet, plain);
    ASSERT_TRUE(protected_size.ok());
    packet.resize(*protected_size);
    if (i == 10) packet[plain - 1] ^= 0x01;  // tampered: authentication fails
    recorder->OnRtp(1, 7, packet, clock_.Now());
    recorder->Poll();
  }
  recorder->Stop();
  EXPECT_EQ(recorder->counters().dropped_for(RecordingDrop::kUndecryptable), 1u);
  const FileContents file = ReadPackets(Session("secret") / "7-alice.opus");
  size_t matched = 0;
  for (const FilePacket& packet : file.packets) {
    const size_t index = static_cast<size_t>(packet.begin / kFrame);
    if (index < payloads.size() && packet.data == payloads[index]) ++matched;
  }
  EXPECT_EQ(matched, payloads.size() - 1);
}

// RED: the primary is written; when a packet is lost, the redundant copy the next packet
// carries fills its place, so the file has no gap.
TEST_F(RoomRecorderTest, RedundantCopyFillsALostPacketsPlace) {
  auto recorder = MakeRecorder();
  recorder->OnParticipantAdmitted(Member(1, "standup", 7, "alice", 1111));
  const auto payloads = EncodeOpus(Clip(1, 1.0));
  std::vector<uint8_t> red(2000);
  for (size_t i = 0; i < payloads.size(); ++i) {
    if (i == 20) continue;  // lost
    At(milliseconds(20 * static_cast<int64_t>(i)));
    const uint32_t timestamp = static_cast<uint32_t>(i * kFrame);
    const rtp::RedBlock primary{kOpusPt, timestamp, payloads[i]};
    std::vector<rtp::RedBlock> redundant;
    if (i > 0) redundant.push_back({kOpusPt, timestamp - kFrame, payloads[i - 1]});
    auto size = rtp::BuildRedPayload(redundant, primary, red);
    ASSERT_TRUE(size.ok());
    recorder->OnRtp(
        1, 7, Rtp(kRedPt, static_cast<uint16_t>(i), timestamp, 1111, std::span(red).first(*size)),
        clock_.Now());
    recorder->Poll();
  }
  recorder->Stop();
  const FileContents file = ReadPackets(Session("standup") / "7-alice.opus");
  ASSERT_EQ(file.packets.size(), payloads.size());
  for (size_t i = 0; i < payloads.size(); ++i) {
    EXPECT_EQ(file.packets[i].begin, static_cast<int64_t>(i) * kFrame);
    EXPECT_EQ(file.packets[i].data, payloads[i]) << i;
  }
  EXPECT_EQ(recorder->counters().packets_recorded, payloads.size() - 1);
}

// File names tell rooms, sessions and participants apart; tags say who and when.
TEST_F(RoomRecorderTest, NamesAndTagsTellRoomsSessionsAndParticipantsApart) {
  auto recorder = MakeRecorder();
  const auto payloads = EncodeOpus(Clip(0, 0.2));
  auto speak = [&](uint32_t room_id, uint32_t participant_id, uint32_t ssrc) {
    for (size_t i = 0; i < payloads.size(); ++i) {
      recorder->OnRtp(room_id, participant_id,
                      Rtp(kOpusPt, static_cast<uint16_t>(i), static_cast<uint32_t>(i * kFrame),
                          ssrc, payloads[i]),
                      clock_.Now());
    }
    recorder->Poll();
  };
  At(milliseconds(500));
  recorder->OnParticipantAdmitted(Member(1, "standup", 3, "alice", 10));
  recorder->OnParticipantAdmitted(Member(1, "standup", 4, "", 20));
  speak(1, 3, 10);
  speak(1, 4, 20);
  // The room closes and opens again within the same second: a second session folder.
  recorder->OnParticipantRemoved(3);
  recorder->OnParticipantRemoved(4);
  recorder->OnParticipantAdmitted(Member(2, "standup", 5, "alice", 10));
  speak(2, 5, 10);
  // A room name of dots cannot name a parent folder.
  recorder->OnParticipantAdmitted(Member(3, "..", 6, "dave", 30));
  speak(3, 6, 30);
  recorder->Stop();

  EXPECT_TRUE(fs::exists(Session("standup") / "3-alice.opus"));
  EXPECT_TRUE(fs::exists(Session("standup") / "4-ssrc20.opus"));
  EXPECT_TRUE(fs::exists(Session("standup") / "mix.opus"));
  EXPECT_TRUE(fs::exists(dir_ / "standup" / (kStamp + "-2") / "5-alice.opus"));
  EXPECT_TRUE(fs::exists(dir_ / "standup" / (kStamp + "-2") / "mix.opus"));
  EXPECT_TRUE(fs::exists(dir_ / "__" / kStamp / "6-dave.opus"));
  EXPECT_FALSE(fs::exists(dir_.parent_path() / kStamp));

  const FileContents file = ReadPackets(Session("standup") / "3-alice.opus");
  const std::vector<std::string> expected = {"ROOM=standup",
                                             "PARTICIPANT_ID=3",
                                             "IDENTITY=alice",
                                             "SSRC=10",
                                             "START_UNIX_MS=1700000000500",
                                             "ROOM_OFFSET_MS=0"};
  EXPECT_EQ(file.tags.comments, expected);
  const auto started = Events("recording_started");
  EXPECT_EQ(started.size(), 7u);  // 4 participants, 3 rooms' mixes
}

}  // namespace
}  // namespace parley::relay
