#include "parley/playout/playout_engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <vector>

#include "parley/codec/opus_codec.h"
#include "parley/playout/playout_dsp_test_util.h"
#include "parley/testing/speech.h"

namespace parley::playout {
namespace {

constexpr int kRate = 48000;
constexpr int kBlock = kRate / 100;
constexpr int kPacketMs = 20;
constexpr int kPacketFrames = kRate * kPacketMs / 1000;

struct Stream {
  std::vector<std::vector<uint8_t>> packets;  // one per 20 ms, in order
};

Stream Encode(bool fec) {
  const std::vector<int16_t> speech = testing::Speech(kRate);
  codec::OpusSettings settings;
  settings.inband_fec = fec;
  settings.expected_loss_percent = fec ? 20 : 0;
  auto encoder = codec::OpusAudioEncoder::Create(kRate, 1, settings);
  EXPECT_TRUE(encoder.ok());
  Stream s;
  std::vector<uint8_t> buf(1500);
  for (size_t p = 0; p + kPacketFrames <= speech.size(); p += kPacketFrames) {
    auto n = (*encoder)->Encode(std::span(speech).subspan(p, kPacketFrames), buf);
    EXPECT_TRUE(n.ok());
    s.packets.emplace_back(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
  }
  return s;
}

// arrival_ms[i]: when packet i (sent at 20 i ms) arrives; nullopt = lost.
using Trace = std::vector<std::optional<int>>;

Trace Constant(size_t n, int delay_ms) {
  Trace t;
  for (size_t i = 0; i < n; ++i) t.push_back(static_cast<int>(i) * kPacketMs + delay_ms);
  return t;
}

struct Playback {
  std::vector<int16_t> out;
  std::vector<PlayoutEngine::BlockInfo> blocks;
  PlayoutStatistics stats;
  size_t start_block = 0;
};

PlayoutEngineConfig FixedConfig() {
  PlayoutEngineConfig config;
  config.delay = DelayManagerConfig::Fixed();
  return config;
}

Playback Play(const Stream& s, const Trace& trace, PlayoutEngineConfig config = {},
              int extra_ms = 400) {
  SimulatedClock clock;
  PlayoutEngine engine(clock, std::move(config));
  Playback run;
  int last_ms = 0;
  for (const auto& a : trace) last_ms = std::max(last_ms, a.value_or(0));
  std::vector<int16_t> block(kBlock);
  bool started = false;
  // Until the last packet has been played (then the stream has ended: not concealment).
  for (int t = 0; t <= last_ms + extra_ms; ++t) {
    if (t > last_ms && t % 10 == 0 && engine.buffered_ms() < 10) break;
    for (size_t i = 0; i < trace.size(); ++i) {
      if (trace[i] && *trace[i] == t) {
        const PlayoutEngine::Packet p{111, static_cast<uint16_t>(i),
                                      static_cast<uint32_t>(i * kPacketFrames), s.packets[i]};
        EXPECT_TRUE(engine.InsertPacket(p).ok());
      }
    }
    if (t % 10 == 0) {
      auto info = engine.Pull10ms(block);
      EXPECT_TRUE(info.ok());
      if (!started && info->operation != Operation::kSilence) {
        started = true;
        run.start_block = run.blocks.size();
      }
      run.blocks.push_back(*info);
      run.out.insert(run.out.end(), block.begin(), block.end());
      const Status st = engine.CheckInvariants();
      EXPECT_TRUE(st.ok()) << st.error().message;
    }
    clock.Advance(std::chrono::milliseconds(1));
  }
  run.stats = engine.stats();
  // Never 20 ms of hard zeros once started.
  int zeros = 0;
  for (size_t n = run.start_block * kBlock; n < run.out.size(); ++n) {
    zeros = run.out[n] == 0 ? zeros + 1 : 0;
    EXPECT_LT(zeros, 2 * kBlock) << "hard zeros at " << n;
    if (zeros >= 2 * kBlock) break;
  }
  return run;
}

std::vector<int16_t> PlainDecode(const Stream& s) {
  auto decoder = codec::OpusAudioDecoder::Create(kRate, 1);
  std::vector<int16_t> out, buf(5760);
  for (const auto& p : s.packets) {
    auto n = (*decoder)->Decode(p, buf);
    out.insert(out.end(), buf.begin(), buf.begin() + *n);
  }
  return out;
}

double Correlation(std::span<const int16_t> a, std::span<const int16_t> b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    ab += double(a[i]) * b[i];
    aa += double(a[i]) * a[i];
    bb += double(b[i]) * b[i];
  }
  return ab / std::sqrt(std::max(1.0, aa * bb));
}

TEST(PlayoutEngine, PerfectNetworkIsThePlainDecodeDelayed) {
  const Stream s = Encode(false);
  const Playback run = Play(s, Constant(s.packets.size(), 20), FixedConfig());
  const std::vector<int16_t> ref = PlainDecode(s);
  const size_t delay = run.start_block * kBlock;
  const auto played = std::span<const int16_t>(run.out).subspan(delay);
  const double c = Correlation(played.first(ref.size()), ref);
  std::printf("perfect: start %zu ms, correlation %.5f\n", delay / 48, c);
  EXPECT_GT(c, 0.99);
  EXPECT_EQ(run.stats.concealedSamples, 0u);
  EXPECT_EQ(run.stats.removedSamplesForAcceleration, 0u);

  // Adaptive: the delay falls from 60 ms by accelerating, still without concealment.
  const Playback adaptive = Play(s, Constant(s.packets.size(), 20));
  EXPECT_EQ(adaptive.stats.concealedSamples, 0u);
  EXPECT_GT(adaptive.stats.removedSamplesForAcceleration, 0u);
  std::printf("adaptive perfect: removed %llu, final target %.1f buffer %.1f ms\n",
              static_cast<unsigned long long>(adaptive.stats.removedSamplesForAcceleration),
              adaptive.blocks.back().target_delay_ms, adaptive.blocks.back().buffer_delay_ms);
}

TEST(PlayoutEngine, ReorderWithinTheTargetIsNotLoss) {
  const Stream s = Encode(false);
  Trace trace = Constant(s.packets.size(), 20);
  for (size_t i = 10; i + 1 < trace.size(); i += 7) std::swap(trace[i], trace[i + 1]);
  const Playback run = Play(s, trace);
  EXPECT_EQ(run.stats.concealedSamples, 0u);
  EXPECT_EQ(run.stats.late_packets, 0u);
}

TEST(PlayoutEngine, SingleLossIsRecoveredByFecBetterThanPlc) {
  const Stream fec = Encode(true);
  const Stream plain = Encode(false);
  // A voiced packet to lose.
  const std::vector<int16_t> speech = testing::Speech(kRate);
  size_t lost = 0;
  for (size_t i = 20; i < fec.packets.size(); ++i) {
    if (test::Rms(std::span(speech).subspan(i * kPacketFrames, kPacketFrames)) > 3000) {
      lost = i;
      break;
    }
  }
  ASSERT_GT(lost, 0u);
  auto error_db = [&](const Stream& s) {
    const Trace clean = Constant(s.packets.size(), 20);
    Trace lossy = clean;
    lossy[lost].reset();
    const Playback a = Play(s, clean, FixedConfig());
    const Playback b = Play(s, lossy, FixedConfig());
    EXPECT_EQ(a.start_block, b.start_block);
    const size_t at = a.start_block * kBlock + lost * kPacketFrames;
    double e = 0, r = 0;
    for (size_t n = at; n < at + kPacketFrames; ++n) {
      e += std::pow(double(a.out[n]) - b.out[n], 2);
      r += std::pow(double(a.out[n]), 2);
    }
    return std::make_pair(10 * std::log10(e / r), b.stats);
  };
  const auto [fec_db, fec_stats] = error_db(fec);
  const auto [plc_db, plc_stats] = error_db(plain);
  std::printf("single loss: error vs loss-free, FEC %.1f dB, PLC %.1f dB\n", fec_db, plc_db);
  EXPECT_GT(fec_stats.fecPacketsReceived, 0u);
  EXPECT_EQ(fec_stats.concealedSamples, 0u);
  EXPECT_GT(plc_stats.concealedSamples, 0u);
  EXPECT_LT(fec_db, plc_db - 3.0);
}

TEST(PlayoutEngine, BurstLossConcealsDecaysAndMergesWithoutClick) {
  const Stream s = Encode(false);
  Trace trace = Constant(s.packets.size(), 20);
  const size_t first = 60;
  for (size_t i = first; i < first + 10; ++i) trace[i].reset();  // 200 ms
  const Playback run = Play(s, trace, FixedConfig());
  EXPECT_EQ(run.stats.interruptionCount, 1u);
  EXPECT_GE(run.stats.concealedSamples, 200u * 48);
  EXPECT_LE(run.stats.concealedSamples, 240u * 48);
  // Decay: the concealment's last 50 ms are well below its first 20 ms. The audio after
  // it (Opus continues from its own concealment; Expand's would be merged) does not click.
  size_t c0 = 0, merge = 0;
  for (size_t b = 0; b < run.blocks.size(); ++b) {
    if (!c0 && run.blocks[b].operation == Operation::kExpand) c0 = b;
    if (c0 && run.blocks[b].operation != Operation::kExpand) {
      merge = b;
      break;
    }
  }
  ASSERT_GT(merge, c0);
  const auto out = std::span<const int16_t>(run.out);
  const double head = test::Rms(out.subspan(c0 * kBlock, 2 * kBlock));
  const double tail = test::Rms(out.subspan((merge - 5) * kBlock, 5 * kBlock));
  std::printf("burst: concealed %.1f ms, conceal %.0f -> %.0f rms, ",
              run.stats.concealedSamples / 48.0, head, tail);
  EXPECT_LT(tail, head * 0.25);
  const double click = test::ClickRatio(out, merge * kBlock, (merge + 1) * kBlock,
                                        out.subspan((merge + 1) * kBlock, 20 * kBlock));
  std::printf("merge click ratio %.2f\n", click);
  EXPECT_LE(click, 2.0);
}

TEST(PlayoutEngine, JitterSpikeRaisesTargetThenAccelerates) {
  const Stream s = Encode(false);
  Trace trace = Constant(s.packets.size(), 20);
  // A 300 ms stall at 1 s: packets sent in [1000, 1300) ms arrive together at 1320 ms.
  for (size_t i = 50; i < 65; ++i) trace[i] = 1320;
  const Playback run = Play(s, trace);
  double max_target = 0;
  for (const auto& b : run.blocks) max_target = std::max(max_target, b.target_delay_ms);
  const auto& st = run.stats;
  const double removed_fraction =
      double(st.removedSamplesForAcceleration) / double(st.totalSamplesReceived);
  std::printf(
      "spike: max target %.0f ms, final target %.1f buffer %.1f ms, removed %.1f %%, "
      "concealed %.0f ms\n",
      max_target, run.blocks.back().target_delay_ms, run.blocks.back().buffer_delay_ms,
      100 * removed_fraction, st.concealedSamples / 48.0);
  EXPECT_GT(max_target, 250);
  EXPECT_GT(st.removedSamplesForAcceleration, 0u);
  EXPECT_LE(removed_fraction, 0.105);
}

}  // namespace
}  // namespace parley::playout
