// The playout engine's less travelled paths: RED, DTX comfort noise, buffer overflow,
// stereo, 10 and 60 ms packets, late packets. Same method as playout_engine_test.cc:
// Opus-encoded speech, synthetic arrival traces, a simulated clock, the recorder's
// invariants checked after every block.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <random>
#include <vector>

#include "parley/codec/opus_codec.h"
#include "parley/playout/playout_dsp_test_util.h"
#include "parley/playout/playout_engine.h"
#include "parley/rtp/red.h"
#include "parley/testing/speech.h"

namespace parley::playout {
namespace {

constexpr int kRate = 48000;
constexpr int kBlock = kRate / 100;
constexpr uint8_t kOpusPt = 111;
constexpr uint8_t kRedPt = 63;

struct EncodeOptions {
  int frame_ms = 20;
  int channels = 1;
  bool dtx = false;
};

// Encoded frames of `pcm` (interleaved); an empty payload is a frame the encoder did not
// send (DTX).
struct Stream {
  int frame_ms = 20;
  int channels = 1;
  std::vector<std::vector<uint8_t>> frames;
  int frame_frames() const { return kRate * frame_ms / 1000; }
};

Stream Encode(const std::vector<int16_t>& pcm, const EncodeOptions& o) {
  codec::OpusSettings settings;
  settings.frame_ms = o.frame_ms;
  settings.dtx = o.dtx;
  auto encoder = codec::OpusAudioEncoder::Create(kRate, o.channels, settings);
  EXPECT_TRUE(encoder.ok());
  Stream s{o.frame_ms, o.channels, {}};
  const size_t step = static_cast<size_t>(s.frame_frames() * o.channels);
  std::vector<uint8_t> buf(1500);
  for (size_t p = 0; p + step <= pcm.size(); p += step) {
    auto n = (*encoder)->Encode(std::span(pcm).subspan(p, step), buf);
    EXPECT_TRUE(n.ok());
    s.frames.emplace_back(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
  }
  return s;
}

std::vector<int16_t> PlainDecode(const Stream& s) {
  auto decoder = codec::OpusAudioDecoder::Create(kRate, s.channels);
  std::vector<int16_t> out, buf(static_cast<size_t>(5760 * s.channels));
  for (const auto& p : s.frames) {
    auto n = (*decoder)->Decode(p, buf);
    EXPECT_TRUE(n.ok());
    out.insert(out.end(), buf.begin(), buf.begin() + *n * s.channels);
  }
  return out;
}

// One RTP packet on the wire and when it arrives.
struct Sent {
  int arrival_ms = 0;
  uint8_t payload_type = kOpusPt;
  uint16_t sequence = 0;
  uint32_t timestamp = 0;
  std::vector<uint8_t> payload;
};

// Frame i as packet i, arriving at i x frame_ms + delay_ms.
std::vector<Sent> Packetize(const Stream& s, int delay_ms) {
  std::vector<Sent> out;
  for (size_t i = 0; i < s.frames.size(); ++i) {
    out.push_back({static_cast<int>(i) * s.frame_ms + delay_ms, kOpusPt, static_cast<uint16_t>(i),
                   static_cast<uint32_t>(i * s.frame_frames()), s.frames[i]});
  }
  return out;
}

// Packet i carries frame i as primary and frame i-1 as redundancy (RFC 2198).
std::vector<Sent> PacketizeRed(const Stream& s, int delay_ms) {
  std::vector<Sent> out = Packetize(s, delay_ms);
  for (size_t i = 0; i < out.size(); ++i) {
    const rtp::RedBlock primary{kOpusPt, out[i].timestamp, s.frames[i]};
    std::vector<rtp::RedBlock> redundant;
    if (i > 0) redundant.push_back({kOpusPt, out[i - 1].timestamp, s.frames[i - 1]});
    std::vector<uint8_t> payload(rtp::RedPayloadBytes(redundant, primary));
    auto n = rtp::BuildRedPayload(redundant, primary, payload);
    EXPECT_TRUE(n.ok());
    out[i].payload_type = kRedPt;
    out[i].payload = std::move(payload);
  }
  return out;
}

struct Playback {
  std::vector<int16_t> out;  // interleaved
  std::vector<PlayoutEngine::BlockInfo> blocks;
  PlayoutStatistics stats;
  size_t start_block = 0;
  // Samples from the start of playout.
  std::span<const int16_t> played(int channels) const {
    return std::span<const int16_t>(out).subspan(start_block * kBlock *
                                                 static_cast<size_t>(channels));
  }
};

PlayoutEngineConfig FixedConfig(int channels = 1) {
  PlayoutEngineConfig config;
  config.channels = channels;
  config.delay = DelayManagerConfig::Fixed();
  return config;
}

Playback Play(const std::vector<Sent>& sent, PlayoutEngineConfig config, int extra_ms = 400) {
  SimulatedClock clock;
  const int channels = config.channels;
  PlayoutEngine engine(clock, std::move(config));
  Playback run;
  int last_ms = 0;
  for (const auto& p : sent) last_ms = std::max(last_ms, p.arrival_ms);
  std::vector<int16_t> block(static_cast<size_t>(kBlock * channels));
  bool started = false;
  for (int t = 0; t <= last_ms + extra_ms; ++t) {
    if (t > last_ms && t % 10 == 0 && engine.buffered_ms() < 10) break;
    for (const auto& p : sent) {
      if (p.arrival_ms != t) continue;
      const PlayoutEngine::Packet packet{p.payload_type, p.sequence, p.timestamp, p.payload};
      EXPECT_TRUE(engine.InsertPacket(packet).ok());
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
  for (size_t n = run.start_block * kBlock * static_cast<size_t>(channels); n < run.out.size();
       ++n) {
    zeros = run.out[n] == 0 ? zeros + 1 : 0;
    EXPECT_LT(zeros, 2 * kBlock * channels) << "hard zeros at " << n;
    if (zeros >= 2 * kBlock * channels) break;
  }
  return run;
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

// The best correlation of `want` with `got` shifted by -max_lag..max_lag samples
// (stretching moves the timeline a little).
double AlignedCorrelation(std::span<const int16_t> got, size_t at, std::span<const int16_t> want,
                          int max_lag) {
  double best = -1;
  for (int lag = -max_lag; lag <= max_lag; ++lag) {
    const auto start = static_cast<ptrdiff_t>(at) + lag;
    if (start < 0 || static_cast<size_t>(start) + want.size() > got.size()) continue;
    best = std::max(best, Correlation(got.subspan(static_cast<size_t>(start), want.size()), want));
  }
  return best;
}

// Channel `c` of interleaved `x`.
std::vector<int16_t> Channel(std::span<const int16_t> x, int channels, int c) {
  std::vector<int16_t> out;
  for (size_t n = static_cast<size_t>(c); n < x.size(); n += static_cast<size_t>(channels)) {
    out.push_back(x[n]);
  }
  return out;
}

// A voiced packet index (RMS > 3000 in the speech) after `from`.
size_t VoicedPacket(const std::vector<int16_t>& speech, int frame_frames, size_t from) {
  const size_t f = static_cast<size_t>(frame_frames);
  for (size_t i = from; (i + 1) * f <= speech.size(); ++i) {
    if (test::Rms(std::span(speech).subspan(i * f, f)) > 3000) return i;
  }
  return 0;
}

// ---- RED ----

TEST(PlayoutEnginePaths, RedRecoversALostPrimaryFromTheNextPacket) {
  const std::vector<int16_t> speech = testing::Speech(kRate);
  const Stream s = Encode(speech, {});
  PlayoutEngineConfig config = FixedConfig();
  config.red_payload_type = kRedPt;
  const std::vector<Sent> clean = PacketizeRed(s, 20);
  const size_t lost = VoicedPacket(speech, s.frame_frames(), 20);
  ASSERT_GT(lost, 0u);
  std::vector<Sent> lossy = clean;
  lossy.erase(lossy.begin() + static_cast<std::ptrdiff_t>(lost));

  const Playback a = Play(clean, config);
  const Playback b = Play(lossy, config);
  EXPECT_EQ(a.stats.concealedSamples, 0u);
  EXPECT_EQ(b.stats.concealedSamples, 0u);
  EXPECT_GT(b.stats.fecPacketsReceived, 0u);
  // Every redundant copy of an already played packet is dropped, not counted late.
  EXPECT_EQ(a.stats.late_packets, 0u);
  EXPECT_EQ(b.stats.late_packets, 0u);
  // Every packet was played once, the lost one from its redundant copy (the same
  // encoding: its audio is the loss-free decode, within the stretching the missing
  // primary caused).
  const std::vector<int16_t> ref = PlainDecode(s);
  const size_t at = lost * static_cast<size_t>(s.frame_frames());
  const double c =
      AlignedCorrelation(b.played(1), at, std::span(ref).subspan(at, 2 * s.frame_frames()), 480);
  std::printf("RED loss of packet %zu: correlation with the loss-free decode %.5f\n", lost, c);
  EXPECT_GT(c, 0.99);
}

TEST(PlayoutEnginePaths, RedPrimaryArrivingAfterItsRedundantCopyReplacesIt) {
  const std::vector<int16_t> speech = testing::Speech(kRate);
  const Stream s = Encode(speech, {});
  PlayoutEngineConfig config = FixedConfig();
  config.red_payload_type = kRedPt;
  const std::vector<Sent> clean = PacketizeRed(s, 20);
  std::vector<Sent> swapped = clean;
  // Packet k+1 (carrying k) arrives 5 ms before packet k, both within the target.
  for (size_t k = 20; k + 1 < swapped.size(); k += 11) {
    swapped[k].arrival_ms = swapped[k + 1].arrival_ms + 5;
  }
  const Playback a = Play(clean, config);
  const Playback b = Play(swapped, config);
  EXPECT_EQ(b.stats.concealedSamples, 0u);
  EXPECT_EQ(b.stats.late_packets, 0u);
  // Each redundant copy is discarded once: dropped on arrival (a) or replaced (b).
  EXPECT_EQ(b.stats.fecPacketsDiscarded, a.stats.fecPacketsDiscarded);
}

TEST(PlayoutEnginePaths, RedDuplicatesDoNotPlayTwice) {
  const std::vector<int16_t> speech = testing::Speech(kRate);
  const Stream s = Encode(speech, {});
  PlayoutEngineConfig config = FixedConfig();
  config.red_payload_type = kRedPt;
  const std::vector<Sent> clean = PacketizeRed(s, 20);
  std::vector<Sent> doubled;
  for (const auto& p : clean) {
    doubled.push_back(p);
    doubled.push_back(p);
    doubled.back().arrival_ms += 3;  // the network duplicated it
  }
  const Playback a = Play(clean, config);
  const Playback b = Play(doubled, config);
  EXPECT_EQ(b.stats.concealedSamples, 0u);
  EXPECT_EQ(b.stats.totalSamplesReceived, a.stats.totalSamplesReceived);
  EXPECT_GT(b.stats.duplicate_packets, 0u);
  ASSERT_EQ(a.out.size(), b.out.size());
  EXPECT_TRUE(a.out == b.out);
}

// ---- DTX ----

TEST(PlayoutEnginePaths, DtxPlaysComfortNoiseAndResumesSpeechCleanly) {
  const std::vector<int16_t> speech = testing::Speech(kRate);
  // Speech, 2 s of quiet background (-60 dBFS white noise), speech again.
  std::vector<int16_t> pcm = speech;
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(0.0, 32768.0 * std::pow(10.0, -60.0 / 20));
  const size_t silence_begin = pcm.size();
  for (int n = 0; n < 2 * kRate; ++n) pcm.push_back(static_cast<int16_t>(std::lround(noise(rng))));
  const size_t silence_end = pcm.size();
  pcm.insert(pcm.end(), speech.begin(), speech.end());
  const Stream s = Encode(pcm, {.dtx = true});

  // The sender sends a frame's DTX marker (its 1-byte TOC, as libopus emits it) at the
  // start of each silent run, then nothing until the next real frame; sequence numbers
  // count only what is sent.
  std::vector<Sent> sent;
  uint16_t seq = 0;
  size_t dtx_frames = 0;
  for (size_t i = 0; i < s.frames.size(); ++i) {
    const uint32_t ts = static_cast<uint32_t>(i * s.frame_frames());
    const int arrival = static_cast<int>(i) * s.frame_ms + 20;
    if (!s.frames[i].empty()) {
      sent.push_back({arrival, kOpusPt, seq++, ts, s.frames[i]});
    } else {
      ++dtx_frames;
      if (i > 0 && !s.frames[i - 1].empty()) {
        sent.push_back(
            {arrival, kOpusPt, seq++, ts, {static_cast<uint8_t>(s.frames[i - 1][0] & 0xFC)}});
      }
    }
  }
  std::printf("DTX: %zu of %zu frames not sent\n", dtx_frames, s.frames.size());
  ASSERT_GT(dtx_frames, 50u);

  const Playback run = Play(sent, FixedConfig());
  const auto played = run.played(1);
  // The silent part of the output (skipping its edges).
  const size_t a = silence_begin + 300 * 48, b = silence_end - 100 * 48;
  ASSERT_LT(b, played.size());
  const auto quiet = played.subspan(a, b - a);
  int zero_run = 0, longest_zero_run = 0;
  for (int16_t v : quiet) {
    zero_run = v == 0 ? zero_run + 1 : 0;
    longest_zero_run = std::max(longest_zero_run, zero_run);
  }
  const double background =
      test::Rms(std::span(pcm).subspan(silence_begin, silence_end - silence_begin));
  const double level = test::Rms(quiet);
  size_t cn_blocks = 0;
  for (const auto& blk : run.blocks) cn_blocks += blk.operation == Operation::kComfortNoise;
  std::printf("DTX: comfort noise %zu blocks, rms %.1f vs background %.1f, longest zero run %d\n",
              cn_blocks, level, background, longest_zero_run);
  EXPECT_GT(cn_blocks, 100u);
  EXPECT_LT(longest_zero_run, 48);
  EXPECT_GT(level, background / 4);
  EXPECT_LT(level, background * 4);
  // DTX is the sender's choice, not loss: nothing concealed, no interruption.
  EXPECT_EQ(run.stats.concealedSamples, 0u);
  EXPECT_EQ(run.stats.interruptionCount, 0u);
  // The speech after the pause: no click where it resumes.
  size_t resume = 0;
  for (size_t blk = run.start_block + silence_begin / kBlock + 10; blk < run.blocks.size(); ++blk) {
    if (run.blocks[blk - 1].operation == Operation::kComfortNoise &&
        run.blocks[blk].operation != Operation::kComfortNoise) {
      resume = blk;
      break;
    }
  }
  ASSERT_GT(resume, 0u);
  const auto out = std::span<const int16_t>(run.out);
  const double click = test::ClickRatio(out, (resume - 1) * kBlock, (resume + 1) * kBlock,
                                        out.subspan((resume + 1) * kBlock, 30 * kBlock));
  std::printf("DTX: speech resumes at block %zu (%s), click ratio %.2f\n", resume,
              OperationName(run.blocks[resume].operation), click);
  EXPECT_LE(click, 2.0);
}

// ---- overflow ----

TEST(PlayoutEnginePaths, OverflowDropsTheOldestAndSkipsTheHole) {
  const std::vector<int16_t> speech = testing::Speech(kRate);
  std::vector<int16_t> pcm = speech;
  pcm.insert(pcm.end(), speech.begin(), speech.end());  // long enough for a 3 s burst
  const Stream s = Encode(pcm, {});
  std::vector<Sent> sent = Packetize(s, 20);
  // After 1 s, the next 3 s of packets (more than the 2 s max_buffer) arrive at once.
  const size_t first = 50, count = 150;
  ASSERT_LT(first + count, sent.size());
  for (size_t i = first; i < first + count; ++i) sent[i].arrival_ms = sent[first].arrival_ms;
  // The stream ends with the burst (later packets would come after a stream run 1 s ahead
  // of its schedule: the buffer would run dry waiting for them).
  sent.resize(first + count);
  const int kExtra = 4000;
  const Playback run = Play(sent, FixedConfig(), kExtra);
  std::printf("overflow: dropped %llu, discarded %llu, concealed %.1f ms, late %llu\n",
              static_cast<unsigned long long>(run.stats.overflow_dropped_packets),
              static_cast<unsigned long long>(run.stats.packetsDiscarded),
              run.stats.concealedSamples / 48.0,
              static_cast<unsigned long long>(run.stats.late_packets));
  EXPECT_GT(run.stats.overflow_dropped_packets, 0u);
  EXPECT_GE(run.stats.packetsDiscarded, run.stats.overflow_dropped_packets);
  // The hole is skipped, not concealed.
  EXPECT_LE(run.stats.concealedSamples, 20u * 48);
  // The media timestamp jumps over the hole once, then playback runs to the last packet.
  int64_t max_jump = 0;
  for (size_t k = run.start_block + 1; k < run.blocks.size(); ++k) {
    max_jump =
        std::max(max_jump, run.blocks[k].media_timestamp - run.blocks[k - 1].media_timestamp);
  }
  std::printf("overflow: media jump %.0f ms\n", max_jump / 48.0);
  EXPECT_GE(max_jump, 48 * 500);
  EXPECT_GE(run.blocks.back().media_timestamp,
            static_cast<int64_t>((sent.size() - 5) * static_cast<size_t>(s.frame_frames())));
}

// ---- stereo ----

TEST(PlayoutEnginePaths, StereoPerfectNetworkIsThePlainDecode) {
  const std::vector<int16_t> speech = testing::Speech(kRate);
  // Left: the speech; right: the speech 3 ms later at half level (a distinct channel).
  std::vector<int16_t> pcm(2 * speech.size());
  for (size_t n = 0; n < speech.size(); ++n) {
    pcm[2 * n] = speech[n];
    pcm[2 * n + 1] = static_cast<int16_t>(n >= 144 ? speech[n - 144] / 2 : 0);
  }
  const Stream s = Encode(pcm, {.channels = 2});
  const Playback run = Play(Packetize(s, 20), FixedConfig(2));
  const std::vector<int16_t> ref = PlainDecode(s);
  const auto played = run.played(2);
  ASSERT_GE(played.size(), ref.size());
  EXPECT_EQ(run.stats.concealedSamples, 0u);
  for (int c = 0; c < 2; ++c) {
    const auto got = Channel(played.first(ref.size()), 2, c);
    const auto want = Channel(ref, 2, c);
    const double corr = Correlation(got, want);
    std::printf("stereo channel %d: correlation %.5f\n", c, corr);
    EXPECT_GT(corr, 0.99);
  }
  EXPECT_TRUE(std::equal(ref.begin(), ref.end(), played.begin()));
}

// ---- 10 and 60 ms packets ----

class PlayoutEnginePacketSize : public ::testing::TestWithParam<int> {};

TEST_P(PlayoutEnginePacketSize, PerfectNetworkAndOneLoss) {
  const int frame_ms = GetParam();
  const std::vector<int16_t> speech = testing::Speech(kRate);
  const Stream s = Encode(speech, {.frame_ms = frame_ms});
  const std::vector<Sent> clean = Packetize(s, 20);
  const PlayoutEngineConfig config = FixedConfig();
  const Playback run = Play(clean, config);
  const std::vector<int16_t> ref = PlainDecode(s);
  // With 60 ms packets arriving just in time the level's floor is one block: the drift
  // rule slows down once or twice until a block of spare is there, then never again.
  // Compare each block with the reference at the block's own media position.
  std::vector<int16_t> played, expected;
  for (size_t k = run.start_block; k < run.blocks.size(); ++k) {
    const int64_t at = run.blocks[k].media_timestamp;
    if (at < 0 || at + kBlock > static_cast<int64_t>(ref.size())) continue;
    played.insert(played.end(), run.out.begin() + static_cast<std::ptrdiff_t>(k * kBlock),
                  run.out.begin() + static_cast<std::ptrdiff_t>((k + 1) * kBlock));
    expected.insert(expected.end(), ref.begin() + at, ref.begin() + at + kBlock);
  }
  const double c = Correlation(played, expected);
  // Slowed down while packets still came (after the last one the buffer drains, and the
  // rule rightly stretches what is left).
  int inserted = 0;
  const size_t last_arrival_block = static_cast<size_t>(clean.back().arrival_ms / 10);
  for (size_t k = 0; k < std::min(last_arrival_block, run.blocks.size()); ++k) {
    if (run.blocks[k].operation == Operation::kPreemptiveExpand) {
      inserted += run.blocks[k].frames_changed;
    }
  }
  std::printf("%d ms packets, perfect: correlation %.5f, inserted %.1f ms during the stream\n",
              frame_ms, c, inserted / 48.0);
  EXPECT_GT(c, 0.99);
  EXPECT_LE(inserted, 2 * kBlock * 2);  // at most 40 ms, at the start
  EXPECT_EQ(run.stats.removedSamplesForAcceleration, 0u);
  EXPECT_EQ(run.stats.concealedSamples, 0u);

  const size_t lost = VoicedPacket(speech, s.frame_frames(), 1000 / frame_ms);
  ASSERT_GT(lost, 0u);
  std::vector<Sent> lossy = clean;
  lossy.erase(lossy.begin() + static_cast<std::ptrdiff_t>(lost));
  const Playback b = Play(lossy, config);
  std::printf("%d ms packets, one loss: concealed %.1f ms, events %llu\n", frame_ms,
              b.stats.concealedSamples / 48.0,
              static_cast<unsigned long long>(b.stats.concealmentEvents));
  // The packet's duration, plus the continuation the merge inserted (< 10 ms); not
  // passed off as FEC (no LBRR in the stream).
  EXPECT_GE(b.stats.concealedSamples, static_cast<uint64_t>(s.frame_frames()));
  EXPECT_LT(b.stats.concealedSamples, static_cast<uint64_t>(s.frame_frames() + kBlock));
  EXPECT_EQ(b.stats.concealmentEvents, 1u);
  EXPECT_EQ(b.stats.fecPacketsReceived, 0u);
}

INSTANTIATE_TEST_SUITE_P(PlayoutEnginePaths, PlayoutEnginePacketSize, ::testing::Values(10, 60));

TEST(PlayoutEnginePaths, StretchMarginCoversOnePacket) {
  EXPECT_DOUBLE_EQ(StretchMarginMs(60.0, {}, 60.0), 60.0);
  EXPECT_DOUBLE_EQ(StretchMarginMs(60.0, {}, 10.0), 20.0);
  DecisionInput in;
  in.started = true;
  in.sync_ms = 30;
  in.buffered_ms = 30;  // a 60 ms packet just decoded, the next not yet arrived
  in.target_ms = 60;
  in.packet_ms = 60;
  in.stretch_allowed = true;
  EXPECT_EQ(Decide(in), Operation::kNormal);
  in.packet_ms = 20;
  EXPECT_EQ(Decide(in), Operation::kPreemptiveExpand);
}

// ---- late packets ----

TEST(PlayoutEnginePaths, LatePacketAfterItsSlotWasConcealedIsDropped) {
  const std::vector<int16_t> speech = testing::Speech(kRate);
  const Stream s = Encode(speech, {});
  const std::vector<Sent> clean = Packetize(s, 20);
  const size_t lost = VoicedPacket(speech, s.frame_frames(), 20);
  ASSERT_GT(lost, 0u);
  std::vector<Sent> late = clean;
  late[lost].arrival_ms += 200;  // long after its slot was played
  const Playback a = Play(clean, FixedConfig());
  const Playback b = Play(late, FixedConfig());
  EXPECT_EQ(b.stats.late_packets, 1u);
  EXPECT_GE(b.stats.packetsDiscarded, 1u);
  // One packet concealed, plus the continuation the merge inserted (< 10 ms).
  EXPECT_GE(b.stats.concealedSamples, static_cast<uint64_t>(s.frame_frames()));
  EXPECT_LT(b.stats.concealedSamples, static_cast<uint64_t>(s.frame_frames() + kBlock));
  // No double play: the late packet was dropped by the buffer (never decoded), and the
  // timeline is the loss-free one but for the merge's insertion.
  EXPECT_LE(b.out.size(), a.out.size() + kBlock);  // the merge inserted < 10 ms
  std::printf("late packet: concealed %.1f ms\n", b.stats.concealedSamples / 48.0);
}

// Adaptive playout: a packet that comes 30 ms after its turn, beyond the jitter the target
// covers, costs the concealment of its start and nothing else. The rest of it is played
// in its place, so the delay after it is the delay before it: the listener hears no
// shift that would have to be stretched back.
TEST(PlayoutEnginePaths, APacketBeyondTheTargetCostsItsConcealmentNotTheTiming) {
  const std::vector<int16_t> speech = testing::Speech(kRate);
  const Stream s = Encode(speech, {});
  const std::vector<Sent> clean = Packetize(s, 20);
  const size_t lost = VoicedPacket(speech, s.frame_frames(), 100);  // 2 s in: settled
  ASSERT_GT(lost, 0u);
  std::vector<Sent> late = clean;
  late[lost].arrival_ms += 30;
  const Playback run = Play(late, PlayoutEngineConfig{});
  auto delay_at_block = [&](size_t k) {
    return static_cast<double>(k) * 10.0 - run.blocks[k].media_timestamp / 48.0;
  };
  size_t first_concealed = 0;
  while (first_concealed < run.blocks.size() &&
         run.blocks[first_concealed].operation != Operation::kExpand) {
    ++first_concealed;
  }
  ASSERT_LT(first_concealed + 1, run.blocks.size());
  ASSERT_GT(first_concealed, 0u);
  size_t resumed = first_concealed;
  while (resumed < run.blocks.size() && run.blocks[resumed].operation == Operation::kExpand) {
    ++resumed;
  }
  ASSERT_LT(resumed, run.blocks.size());
  const double before = delay_at_block(first_concealed - 1);
  const double after = delay_at_block(resumed);
  std::printf("late packet: delay %.1f ms before, %.1f ms after, concealed %.1f ms\n", before,
              after, run.stats.concealedSamples / 48.0);
  EXPECT_NEAR(after, before, 1.0);
  EXPECT_GT(run.stats.concealedSamples, 0u);
  EXPECT_LE(run.stats.concealedSamples, static_cast<uint64_t>(s.frame_frames()));
}

// Packets that come too late to be played are still measured: they are the tail the
// target has to cover. One in ten 100 ms late (dropped as late at first) raises the
// target past 100 ms, after which they are played. (Measured only when the buffer kept
// them, the target never saw them and every one was lost.)
TEST(PlayoutEnginePaths, PacketsTooLateToPlayStillTeachTheTarget) {
  const std::vector<int16_t> speech = testing::Speech(kRate);
  const Stream s = Encode(speech, {});
  std::vector<Sent> late = Packetize(s, 20);
  for (size_t i = 50; i < late.size(); i += 10) late[i].arrival_ms += 100;
  const Playback run = Play(late, PlayoutEngineConfig{});
  const double final_target = run.blocks.back().target_delay_ms;
  std::printf("late tail: %llu late, final target %.1f ms\n",
              static_cast<unsigned long long>(run.stats.late_packets), final_target);
  EXPECT_GT(final_target, 100.0);
  EXPECT_GT(run.stats.late_packets + run.stats.packetsDiscarded, 0u);
  // Once the target covers them they are played: few are dropped as late.
  EXPECT_LT(run.stats.late_packets, (late.size() - 50) / 10 / 4);
}

}  // namespace
}  // namespace parley::playout
