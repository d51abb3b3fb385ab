#include "parley/lab/lab_player.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "parley/base/random.h"
#include "parley/codec/registry.h"
#include "parley/testing/speech.h"

namespace parley::lab {
namespace {

constexpr int kRate = 48000;
constexpr int kBlock = kRate / 100;
constexpr int kPacketMs = 20;
constexpr int kPacketFrames = kRate * kPacketMs / 1000;
// RTP numbering that wraps within the first seconds, so every player's unwrapping is used.
constexpr uint32_t kFirstTimestamp = 0xFFFF0000u;  // wraps after 65536 ticks (1.37 s)
constexpr uint16_t kFirstSequence = 65500;
constexpr double kNetworkDelayMs = 30;

// Opus 20 ms packets of speech0, and their plain in-order decode (the reference).
struct Stream {
  std::vector<std::vector<uint8_t>> packets;
  std::vector<int16_t> reference;
  int64_t end_ticks() const { return static_cast<int64_t>(packets.size()) * kPacketFrames; }
};

Stream Encode(bool fec) {
  const codec::CodecInfo& opus = codec::GetCodecInfo(codec::CodecId::kOpus);
  auto encoder = codec::CreateEncoder(opus, {.sample_rate_hz = kRate,
                                             .channels = 1,
                                             .frame_ms = kPacketMs,
                                             .bitrate_bps = 24000,
                                             .fec = fec,
                                             .expected_loss_percent = fec ? 10 : 0});
  auto decoder = codec::CreateDecoder(opus, {.sample_rate_hz = kRate, .channels = 1});
  EXPECT_TRUE(encoder.ok() && decoder.ok());
  const std::vector<int16_t> speech = testing::Speech(kRate, 0);
  Stream s;
  std::vector<uint8_t> payload(1500);
  std::vector<int16_t> pcm(kPacketFrames);
  for (size_t at = 0; at + kPacketFrames <= speech.size(); at += kPacketFrames) {
    auto n = (*encoder)->Encode(std::span(speech).subspan(at, kPacketFrames), payload);
    EXPECT_TRUE(n.ok());
    s.packets.emplace_back(payload.begin(), payload.begin() + static_cast<std::ptrdiff_t>(*n));
    auto decoded = (*decoder)->Decode(s.packets.back(), pcm);
    EXPECT_TRUE(decoded.ok());
    s.reference.insert(s.reference.end(), pcm.begin(), pcm.end());
  }
  return s;
}

const Stream& PlainStream() {
  static const Stream stream = Encode(false);
  return stream;
}
const Stream& FecStream() {
  static const Stream stream = Encode(true);
  return stream;
}

// The loudest packet of the reference in [from, to): speech, where a loss matters.
size_t LoudPacket(const Stream& s, size_t from = 20, size_t to = 80) {
  size_t best = from;
  double best_energy = -1;
  for (size_t p = from; p < to; ++p) {
    double energy = 0;
    for (int n = 0; n < kPacketFrames; ++n) {
      const double v = s.reference[p * kPacketFrames + static_cast<size_t>(n)];
      energy += v * v;
    }
    if (energy > best_energy) {
      best_energy = energy;
      best = p;
    }
  }
  return best;
}

StreamFormat Format() {
  return StreamFormat{.codec = &codec::GetCodecInfo(codec::CodecId::kOpus),
                      .payload_type = 111,
                      .output_rate_hz = kRate,
                      .channels = 1,
                      .frame_ms = kPacketMs,
                      .first_timestamp = kFirstTimestamp};
}

enum class Kind { kEngine, kFixedZero, kFixedPlc, kSpeex };

std::string KindName(Kind kind) {
  switch (kind) {
    case Kind::kEngine:
      return "Engine";
    case Kind::kFixedZero:
      return "FixedZero";
    case Kind::kFixedPlc:
      return "FixedPlc";
    case Kind::kSpeex:
      return "Speex";
  }
  return "";
}

std::unique_ptr<LabPlayer> Make(Kind kind, const Clock& clock, double fixed_delay_ms) {
  switch (kind) {
    case Kind::kEngine:
      return MakeEnginePlayer(clock, Format());
    case Kind::kFixedZero:
      return MakeFixedPlayer(clock, Format(), fixed_delay_ms, false);
    case Kind::kFixedPlc:
      return MakeFixedPlayer(clock, Format(), fixed_delay_ms, true);
    case Kind::kSpeex:
      return MakeSpeexPlayer(clock, Format());
  }
  return nullptr;
}

// Packet `packet` arrives at `ms` (after the first packet was sent).
struct Arrival {
  size_t packet = 0;
  double ms = 0;
};

// Every packet i at 20 i + delay ms; `lost` never arrive, `late` arrive `extra_ms` later.
std::vector<Arrival> Steady(const Stream& s, std::vector<size_t> lost = {},
                            std::optional<size_t> late = std::nullopt, double extra_ms = 0) {
  std::vector<Arrival> arrivals;
  for (size_t i = 0; i < s.packets.size(); ++i) {
    if (std::ranges::find(lost, i) != lost.end()) continue;
    const double ms = static_cast<double>(i) * kPacketMs + kNetworkDelayMs +
                      (late && *late == i ? extra_ms : 0.0);
    arrivals.push_back({i, ms});
  }
  std::ranges::stable_sort(arrivals, {}, &Arrival::ms);
  return arrivals;
}

struct Playback {
  std::vector<int16_t> out;
  std::vector<PlayedBlock> blocks;
  PlayerCounters counters;
  size_t first_played = 0;  // index of the first block after the silence before start
};

// Plays `arrivals` through a player on a simulated clock (pull every 10 ms, packets
// arriving at the same instant as a pull go first) until the block before the stream's
// last 10 ms was played, so that no concealment after the stream's end is counted.
Playback Play(Kind kind, const Stream& s, const std::vector<Arrival>& arrivals,
              double fixed_delay_ms = 60) {
  SimulatedClock clock;
  const Clock::TimePoint start = clock.Now();
  auto player = Make(kind, clock, fixed_delay_ms);
  Playback run;
  std::vector<int16_t> block(kBlock);
  size_t next = 0;
  bool started = false;
  // The engine's media positions move off the 10 ms grid when it stretches: stop at the
  // first block that ends within the stream's last 10 ms.
  const int64_t last_block_ticks = s.end_ticks() - 2 * kBlock;
  for (int t_ms = 0; t_ms < 10'000; t_ms += 10) {
    while (next < arrivals.size() && arrivals[next].ms <= t_ms) {
      const Arrival& a = arrivals[next++];
      const auto at = start + std::chrono::duration_cast<Clock::Duration>(
                                  std::chrono::duration<double, std::milli>(a.ms));
      if (at > clock.Now()) clock.Advance(at - clock.Now());
      player->Insert(
          {.payload_type = 111,
           .sequence_number = static_cast<uint16_t>(kFirstSequence + a.packet),
           .timestamp = static_cast<uint32_t>(kFirstTimestamp + a.packet * kPacketFrames),
           .payload = s.packets[a.packet]});
    }
    clock.Advance(start + std::chrono::milliseconds(t_ms) - clock.Now());
    const PlayedBlock played = player->Pull10ms(block);
    if (!started && played.kind != BlockKind::kSilence) {
      started = true;
      run.first_played = run.blocks.size();
    }
    run.blocks.push_back(played);
    run.out.insert(run.out.end(), block.begin(), block.end());
    if (played.media_ts >= last_block_ticks) break;
  }
  run.counters = player->counters();
  return run;
}

int ConcealBlocks(const Playback& run) {
  return static_cast<int>(std::ranges::count(run.blocks, BlockKind::kConceal, &PlayedBlock::kind));
}

// What every player's counters and block log must agree on.
void ExpectConsistent(const Playback& run, const std::string& who) {
  SCOPED_TRACE(who);
  const PlayerCounters& c = run.counters;
  // Silence before start only, and uncounted; then one counted block per pull.
  for (size_t b = 0; b < run.blocks.size(); ++b) {
    EXPECT_EQ(run.blocks[b].kind == BlockKind::kSilence, b < run.first_played) << "block " << b;
    if (b < run.first_played) {
      EXPECT_EQ(run.blocks[b].media_ts, -1);
    }
  }
  EXPECT_EQ(c.emitted_samples,
            static_cast<uint64_t>(kBlock) * (run.blocks.size() - run.first_played));
  EXPECT_LE(c.concealed_samples, c.emitted_samples);
  EXPECT_LE(c.zero_filled_samples, c.concealed_samples);
  EXPECT_LE(c.interruption_seconds, static_cast<double>(c.concealed_samples) / kRate + 1e-9);
  // The block log labels a block by what most of it is: within a block per concealment run.
  int runs = 0;
  for (size_t b = 1; b < run.blocks.size(); ++b) {
    if (run.blocks[b].kind == BlockKind::kConceal &&
        run.blocks[b - 1].kind != BlockKind::kConceal) {
      ++runs;
    }
  }
  EXPECT_LE(std::abs(static_cast<int64_t>(ConcealBlocks(run)) * kBlock -
                     static_cast<int64_t>(c.concealed_samples)),
            static_cast<int64_t>(kBlock) * (runs + 1));
}

// Pearson correlation of the played blocks of `kinds` with the reference at their media
// position.
double AlignedCorrelation(const Playback& run, const Stream& s, std::vector<BlockKind> kinds) {
  double sxy = 0, sxx = 0, syy = 0, sx = 0, sy = 0, n = 0;
  for (size_t b = run.first_played; b < run.blocks.size(); ++b) {
    const PlayedBlock& block = run.blocks[b];
    if (std::ranges::find(kinds, block.kind) == kinds.end()) continue;
    for (int i = 0; i < kBlock; ++i) {
      const int64_t at = block.media_ts + i;
      if (at < 0 || at >= static_cast<int64_t>(s.reference.size())) continue;
      const double x = s.reference[static_cast<size_t>(at)];
      const double y = run.out[b * kBlock + static_cast<size_t>(i)];
      sxy += x * y;
      sxx += x * x;
      syy += y * y;
      sx += x;
      sy += y;
      n += 1;
    }
  }
  const double cov = sxy - sx * sy / n;
  return cov / std::sqrt((sxx - sx * sx / n) * (syy - sy * sy / n));
}

TEST(LabPlayerTest, BlockKindNames) {
  EXPECT_EQ(BlockKindName(BlockKind::kNormal), "normal");
  EXPECT_EQ(BlockKindName(BlockKind::kConceal), "conceal");
  EXPECT_EQ(BlockKindName(BlockKind::kFec), "fec");
  EXPECT_EQ(BlockKindName(BlockKind::kInsert), "insert");
  EXPECT_EQ(BlockKindName(BlockKind::kRemove), "remove");
  EXPECT_EQ(BlockKindName(BlockKind::kSilence), "silence");
}

class EveryPlayer : public ::testing::TestWithParam<Kind> {};

INSTANTIATE_TEST_SUITE_P(LabPlayerTest, EveryPlayer,
                         ::testing::Values(Kind::kEngine, Kind::kFixedZero, Kind::kFixedPlc,
                                           Kind::kSpeex),
                         [](const auto& param_info) { return KindName(param_info.param); });

TEST_P(EveryPlayer, PerfectNetworkPlaysTheDecodedStream) {
  const Stream& s = PlainStream();
  const Playback run = Play(GetParam(), s, Steady(s));
  ExpectConsistent(run, KindName(GetParam()));
  EXPECT_EQ(run.counters.concealed_samples, 0u);
  EXPECT_EQ(run.counters.late_packets, 0u);
  EXPECT_EQ(run.counters.discarded_packets, 0u);
  EXPECT_EQ(ConcealBlocks(run), 0);
  // The first block played starts the stream; the fixed players play it exactly as the
  // reference decoder did (same decoder, same order), so their correlation is 1.
  EXPECT_EQ(run.blocks[run.first_played].media_ts, 0);
  const double correlation = AlignedCorrelation(run, s, {BlockKind::kNormal});
  EXPECT_GT(correlation, 0.99);
  std::printf("[ measured ] %s, perfect network: correlation %.5f, first audio after %zu ms\n",
              KindName(GetParam()).c_str(), correlation, run.first_played * 10);
}

TEST(LabPlayerTest, FixedPlayersStartAfterTheirDelayAndHoldIt) {
  const Stream& s = PlainStream();
  const Playback run = Play(Kind::kFixedZero, s, Steady(s), 60);
  // First packet at 30 ms, due 60 ms later: the pull at 90 ms plays it.
  EXPECT_EQ(run.first_played, 9u);
  for (size_t b = run.first_played; b < run.blocks.size(); ++b) {
    EXPECT_EQ(run.blocks[b].media_ts, static_cast<int64_t>(b - run.first_played) * kBlock);
    EXPECT_EQ(run.blocks[b].target_delay_ms, 60.0);
  }
}

TEST(LabPlayerTest, FixedPlayerStartsWithAnOvertakenFirstPacketThatIsStillInTime) {
  const Stream& s = PlainStream();
  std::vector<Arrival> arrivals = Steady(s);
  arrivals[0].ms = arrivals[1].ms + 5;  // packet 1 first (at 50 ms), then packet 0
  std::ranges::stable_sort(arrivals, {}, &Arrival::ms);
  const Playback run = Play(Kind::kFixedZero, s, arrivals, 60);
  ExpectConsistent(run, "fixed");
  EXPECT_EQ(run.counters.late_packets, 0u);
  EXPECT_EQ(run.counters.concealed_samples, 0u);
  // Packet 1 came at 50 ms and is due 60 ms later; packet 0 is due 20 ms before it.
  EXPECT_EQ(run.first_played, 9u);
  EXPECT_EQ(run.blocks[run.first_played].media_ts, 0);
}

TEST_P(EveryPlayer, OneLostPacketIsConcealed) {
  const Stream& s = PlainStream();
  const size_t lost = LoudPacket(s);
  const Playback run = Play(GetParam(), s, Steady(s, {lost}));
  ExpectConsistent(run, KindName(GetParam()));
  const PlayerCounters& c = run.counters;
  EXPECT_EQ(c.late_packets, 0u);
  EXPECT_EQ(c.interruptions, 0u);
  switch (GetParam()) {
    case Kind::kFixedZero: {
      // Exactly the lost packet's 20 ms, as hard zeros, in the two blocks it covers.
      EXPECT_EQ(c.zero_filled_samples, static_cast<uint64_t>(kPacketFrames));
      EXPECT_EQ(c.concealed_samples, static_cast<uint64_t>(kPacketFrames));
      ASSERT_EQ(ConcealBlocks(run), 2);
      for (size_t b = run.first_played; b < run.blocks.size(); ++b) {
        if (run.blocks[b].kind != BlockKind::kConceal) continue;
        EXPECT_EQ(run.blocks[b].media_ts / kPacketFrames, static_cast<int64_t>(lost));
        EXPECT_TRUE(std::all_of(run.out.begin() + static_cast<std::ptrdiff_t>(b * kBlock),
                                run.out.begin() + static_cast<std::ptrdiff_t>((b + 1) * kBlock),
                                [](int16_t v) { return v == 0; }));
      }
      break;
    }
    case Kind::kFixedPlc:
      EXPECT_EQ(c.zero_filled_samples, 0u);
      EXPECT_EQ(c.concealed_samples, static_cast<uint64_t>(kPacketFrames));
      EXPECT_EQ(ConcealBlocks(run), 2);
      break;
    case Kind::kEngine:
    case Kind::kSpeex:
      EXPECT_EQ(c.zero_filled_samples, 0u);
      EXPECT_GE(c.concealed_samples, static_cast<uint64_t>(kPacketFrames));
      EXPECT_GE(ConcealBlocks(run), 2);
      break;
  }
  std::printf("[ measured ] %s, one loss: concealed %llu samples, %d conceal blocks\n",
              KindName(GetParam()).c_str(), static_cast<unsigned long long>(c.concealed_samples),
              ConcealBlocks(run));
}

TEST(LabPlayerTest, LatePacketIsDroppedByFixedBufferAndPlayedByEngine) {
  const Stream& s = PlainStream();
  // Packet 10 comes 25 ms after its turn in the stream: later than a 20 ms fixed buffer
  // waits, within the engine's delay (its target is 60 ms at start, falling by at most
  // 40 ms/s; it starts once the target is buffered, a packet arriving as it plays).
  const auto arrivals = Steady(s, {}, 10, 25);
  const Playback fixed = Play(Kind::kFixedPlc, s, arrivals, 20);
  ExpectConsistent(fixed, "fixed");
  EXPECT_EQ(fixed.counters.late_packets, 1u);
  EXPECT_EQ(fixed.counters.concealed_samples, static_cast<uint64_t>(kPacketFrames));

  const Playback engine = Play(Kind::kEngine, s, arrivals);
  ExpectConsistent(engine, "engine");
  EXPECT_EQ(engine.counters.late_packets, 0u);
  EXPECT_EQ(engine.counters.concealed_samples, 0u);
  EXPECT_GT(engine.blocks[20].target_delay_ms, 25.0);
}

TEST(LabPlayerTest, SpeexAdaptsToJitter) {
  const Stream& s = PlainStream();
  Random random(7);
  std::vector<Arrival> arrivals;
  for (size_t i = 0; i < s.packets.size(); ++i) {
    arrivals.push_back({i, static_cast<double>(i) * kPacketMs + kNetworkDelayMs +
                               std::floor(random.Uniform(0, 60))});
  }
  std::ranges::stable_sort(arrivals, {}, &Arrival::ms);
  const Playback run = Play(Kind::kSpeex, s, arrivals);
  ExpectConsistent(run, "speex");
  const PlayerCounters& c = run.counters;
  const double concealed_percent =
      100.0 * static_cast<double>(c.concealed_samples) / static_cast<double>(c.emitted_samples);
  std::printf("[ measured ] speex, 0-60 ms uniform jitter: concealed %.1f %%, late %llu of %zu\n",
              concealed_percent, static_cast<unsigned long long>(c.late_packets), s.packets.size());
  EXPECT_EQ(c.zero_filled_samples, 0u);
  // Measured: 1.2 %, the 40 ms speex inserts early on to grow its delay; the late packet
  // is packet 0, overtaken by packet 1, which speex started with.
  EXPECT_LE(concealed_percent, 3.0);
  EXPECT_LE(c.late_packets, s.packets.size() / 10);
  // It grew its delay to absorb the jitter (mid-stream; at the end it has run dry).
  EXPECT_GT(run.blocks[run.blocks.size() / 2].target_delay_ms, 20.0);
}

// The comparison the lab makes, on one jittered trace with 3 % loss: every player's
// counters stay consistent, and the figures are printed for the record.
TEST(LabPlayerTest, EveryPlayerOnOneImpairedTrace) {
  const Stream& s = PlainStream();
  Random random(11);
  std::vector<Arrival> arrivals;
  for (size_t i = 0; i < s.packets.size(); ++i) {
    if (i > 0 && random.Bernoulli(0.03)) continue;
    arrivals.push_back({i, static_cast<double>(i) * kPacketMs + kNetworkDelayMs +
                               std::floor(random.Exponential(15))});
  }
  std::ranges::stable_sort(arrivals, {}, &Arrival::ms);
  for (Kind kind : {Kind::kEngine, Kind::kFixedZero, Kind::kFixedPlc, Kind::kSpeex}) {
    const Playback run = Play(kind, s, arrivals);
    ExpectConsistent(run, KindName(kind));
    const PlayerCounters& c = run.counters;
    std::printf(
        "[ measured ] %-9s lost %zu, exp. jitter 15 ms: concealed %.1f %%, zero %.1f %%, "
        "late %llu\n",
        KindName(kind).c_str(), s.packets.size() - arrivals.size(),
        100.0 * static_cast<double>(c.concealed_samples) / static_cast<double>(c.emitted_samples),
        100.0 * static_cast<double>(c.zero_filled_samples) / static_cast<double>(c.emitted_samples),
        static_cast<unsigned long long>(c.late_packets));
    if (kind != Kind::kFixedZero) {
      EXPECT_EQ(c.zero_filled_samples, 0u) << KindName(kind);
    }
  }
}

TEST(LabPlayerTest, EngineRecoversALostPacketFromInBandFec) {
  const Stream& s = FecStream();
  // Early in the call, while the engine's target (60 ms at start) still holds the packet
  // after the lost one when the loss is due; on a perfect network the target falls to a
  // few ms later, and then the next packet comes too late for FEC.
  const size_t lost = LoudPacket(s, 10, 30);
  const Playback run = Play(Kind::kEngine, s, Steady(s, {lost}));
  ExpectConsistent(run, "engine");
  EXPECT_EQ(run.counters.fec_recoveries, 1u);
  EXPECT_EQ(std::ranges::count(run.blocks, BlockKind::kFec, &PlayedBlock::kind), 1);
  EXPECT_EQ(run.counters.concealed_samples, 0u);
}

TEST(LabPlayerTest, BaselinesCountLongGapsAsInterruptions) {
  const Stream& s = PlainStream();
  std::vector<size_t> lost;
  for (size_t i = 40; i < 50; ++i) lost.push_back(i);  // 200 ms
  for (Kind kind : {Kind::kFixedZero, Kind::kFixedPlc}) {
    const Playback run = Play(kind, s, Steady(s, lost));
    ExpectConsistent(run, KindName(kind));
    EXPECT_EQ(run.counters.concealed_samples, 10u * kPacketFrames);
    EXPECT_EQ(run.counters.interruptions, 1u);
    EXPECT_NEAR(run.counters.interruption_seconds, 0.2, 1e-9);
  }
  const Playback zero = Play(Kind::kFixedZero, s, Steady(s, lost));
  EXPECT_EQ(zero.counters.zero_filled_samples, 10u * kPacketFrames);
}

TEST(LabPlayerTest, MediaPositionCountsFromTheSendersFirstPacket) {
  const Stream& s = PlainStream();
  for (Kind kind : {Kind::kEngine, Kind::kFixedZero, Kind::kSpeex}) {
    const Playback run = Play(kind, s, Steady(s, {0}));
    ExpectConsistent(run, KindName(kind));
    // Packet 0 never came; playout starts with packet 1, 20 ms into the stream.
    EXPECT_EQ(run.blocks[run.first_played].media_ts, kPacketFrames) << KindName(kind);
  }
}

TEST(LabPlayerTest, FixedPlayerDiscardsDuplicatesAndForeignPackets) {
  const Stream& s = PlainStream();
  SimulatedClock clock;
  auto player = MakeFixedPlayer(clock, Format(), 60, true);
  const auto packet = [&](size_t i, uint8_t pt = 111) {
    return playout::PlayoutEngine::Packet{
        .payload_type = pt,
        .sequence_number = static_cast<uint16_t>(i),
        .timestamp = static_cast<uint32_t>(kFirstTimestamp + i * kPacketFrames),
        .payload = s.packets[i]};
  };
  player->Insert(packet(0));
  player->Insert(packet(1));
  player->Insert(packet(1));      // duplicate
  player->Insert(packet(2, 96));  // another payload type
  auto odd = packet(3);
  odd.timestamp += 7;  // off the 20 ms grid
  player->Insert(odd);
  EXPECT_EQ(player->counters().discarded_packets, 3u);
  EXPECT_EQ(player->counters().late_packets, 0u);
}

TEST(LabPlayerTest, BaselinesPlayOtherCodecsOnlyAtTheirOwnRate) {
  SimulatedClock clock;
  StreamFormat pcmu{.codec = &codec::GetCodecInfo(codec::CodecId::kPcmu),
                    .payload_type = 0,
                    .output_rate_hz = kRate,
                    .channels = 1,
                    .frame_ms = 20,
                    .first_timestamp = std::nullopt};
  EXPECT_THROW(MakeFixedPlayer(clock, pcmu, 60, false), std::invalid_argument);
  EXPECT_THROW(MakeSpeexPlayer(clock, pcmu), std::invalid_argument);
  pcmu.output_rate_hz = 8000;
  EXPECT_NO_THROW(MakeFixedPlayer(clock, pcmu, 60, true));
  EXPECT_NO_THROW(MakeSpeexPlayer(clock, pcmu));
}

}  // namespace
}  // namespace parley::lab
