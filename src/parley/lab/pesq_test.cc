// Perceptual scoring without a real scorer: the alignment of each player's output is a
// pure function of its blocks and output; the scorer runs are exercised with fake scorers
// (shell scripts this test writes) that print a score, fail, or print garbage.
#include "parley/lab/pesq.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "parley/audio/audio_file.h"
#include "parley/codec/registry.h"
#include "parley/testing/files.h"
#include "parley/testing/speech.h"

namespace parley::lab {
namespace {

namespace fs = std::filesystem;

constexpr int kRate = 48000;

// 50 Opus packets of 20 ms, sent at their media time.
LabStream OpusStream() {
  LabStream stream;
  stream.format.codec = &codec::GetCodecInfo(codec::CodecId::kOpus);
  stream.format.output_rate_hz = kRate;
  stream.format.frame_ms = 20;
  stream.format.first_timestamp = 0;
  for (int i = 0; i < 50; ++i) {
    SentPacket packet;
    packet.seq = i;
    packet.rtp_ts = static_cast<uint32_t>(i * 960);
    packet.send_ms = i * 20.0;
    stream.packets.push_back(packet);
  }
  stream.duration_ms = 1000;
  return stream;
}

BlockRecord Block(double t_ms, BlockKind kind, std::optional<uint32_t> rtp_timestamp) {
  BlockRecord record;
  record.t_ms = t_ms;
  record.block.kind = kind;
  record.block.rtp_timestamp = rtp_timestamp;
  record.block.media_ts = rtp_timestamp ? static_cast<int64_t>(*rtp_timestamp) : -1;
  return record;
}

// A run whose output sample i holds i % 30000, so a sample tells where it came from.
PlayerRun RampRun(std::vector<BlockRecord> blocks, int64_t samples) {
  PlayerRun run;
  run.name = "ramp";
  std::vector<int16_t> output(static_cast<size_t>(samples));
  for (int64_t i = 0; i < samples; ++i)
    output[static_cast<size_t>(i)] = static_cast<int16_t>(i % 30000);
  run.output = audio::AudioFrame({kRate, 1}, std::move(output));
  run.blocks = std::move(blocks);
  return run;
}

TEST(PesqTest, CodecDelayIsOpusLookaheadScaledAndZeroForTheOthers) {
  const codec::CodecInfo& opus = codec::GetCodecInfo(codec::CodecId::kOpus);
  EXPECT_EQ(CodecDelaySamples(opus, 48000), 312);
  EXPECT_EQ(CodecDelaySamples(opus, 16000), 104);
  EXPECT_EQ(CodecDelaySamples(codec::GetCodecInfo(codec::CodecId::kPcmu), 8000), 0);
  EXPECT_EQ(CodecDelaySamples(codec::GetCodecInfo(codec::CodecId::kG722), 16000), 0);
}

TEST(PesqTest, DegradedStartsAtTheFirstNormalBlocksDelayPlusTheCodecDelay) {
  const LabStream stream = OpusStream();
  // Silence until 50 ms; a concealed block (not a normal one: skipped); then the first normal
  // block at 60 ms plays the media sent at 10 ms (the middle of packet 0): 50 ms of delay.
  std::vector<BlockRecord> blocks;
  for (int t = 0; t < 50; t += 10) blocks.push_back(Block(t, BlockKind::kSilence, std::nullopt));
  blocks.push_back(Block(50, BlockKind::kConceal, 0));
  blocks.push_back(Block(60, BlockKind::kNormal, 480));
  blocks.push_back(Block(70, BlockKind::kNormal, 960));
  const PlayerRun run = RampRun(blocks, 48000);

  auto start = MediaStartSample(stream, run);
  ASSERT_TRUE(start.ok()) << start.error().message;
  const int64_t expected_start = 50 * 48 + 312;  // 2712
  EXPECT_EQ(*start, expected_start);

  // The reference's length: 1 s at the output rate. The output ends before the degraded
  // signal does: the rest is silence.
  auto degraded = DegradedForScoring(stream, run, 48000);
  ASSERT_TRUE(degraded.ok()) << degraded.error().message;
  ASSERT_EQ(degraded->size(), 48000u);
  EXPECT_EQ((*degraded)[0], expected_start % 30000);
  EXPECT_EQ((*degraded)[1000], (expected_start + 1000) % 30000);
  const size_t played = static_cast<size_t>(48000 - expected_start);
  EXPECT_EQ((*degraded)[played - 1], 47999 % 30000);
  for (size_t i = played; i < degraded->size(); ++i) ASSERT_EQ((*degraded)[i], 0) << i;

  // Shorter than the output: cut.
  degraded = DegradedForScoring(stream, run, 100);
  ASSERT_TRUE(degraded.ok());
  ASSERT_EQ(degraded->size(), 100u);
  EXPECT_EQ(degraded->back(), expected_start + 99);
}

TEST(PesqTest, APlayerWithoutNormalBlocksIsAlignedOnItsFirstDecodedMedia) {
  const LabStream stream = OpusStream();
  // Recovered from FEC at 100 ms, the media of packet 1 (sent at 20 ms): 80 ms.
  const PlayerRun fec =
      RampRun({Block(90, BlockKind::kSilence, std::nullopt), Block(100, BlockKind::kFec, 960),
               Block(110, BlockKind::kInsert, 1440)},
              48000);
  auto start = MediaStartSample(stream, fec);
  ASSERT_TRUE(start.ok()) << start.error().message;
  EXPECT_EQ(*start, 80 * 48 + 312);

  const PlayerRun nothing = RampRun(
      {Block(0, BlockKind::kSilence, std::nullopt), Block(10, BlockKind::kConceal, std::nullopt)},
      48000);
  auto none = MediaStartSample(stream, nothing);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("ramp"), std::string::npos) << none.error().message;
}

TEST(PesqTest, CutOrPadFillsWhatLiesOutsideTheSignalWithSilence) {
  const std::vector<int16_t> signal = {1, 2, 3, 4};
  EXPECT_EQ(CutOrPad(signal, 1, 2), (std::vector<int16_t>{2, 3}));
  EXPECT_EQ(CutOrPad(signal, -2, 4), (std::vector<int16_t>{0, 0, 1, 2}));
  EXPECT_EQ(CutOrPad(signal, 3, 3), (std::vector<int16_t>{4, 0, 0}));
  EXPECT_EQ(CutOrPad(signal, 9, 2), (std::vector<int16_t>{0, 0}));
  EXPECT_TRUE(CutOrPad(signal, 0, 0).empty());
}

TEST(PesqTest, ScorerOutputMustStartWithAScore) {
  for (const auto& [text, score] :
       std::vector<std::pair<std::string, double>>{{"3.1234", 3.1234},
                                                   {"4.6439\n", 4.6439},
                                                   {"  2.5 MOS-LQO (P.862.2)\n", 2.5},
                                                   {"1\tnarrowband", 1.0},
                                                   {"-0.2", -0.2}}) {
    auto parsed = ParseScorerOutput(text);
    ASSERT_TRUE(parsed.ok()) << text << ": " << parsed.error().message;
    EXPECT_DOUBLE_EQ(*parsed, score) << text;
  }
  for (const std::string text :
       {"", "\n", "garbage", "MOS 3.1", "3.1x", "nan", "inf", "0x3", "7.5", "-3", "1e400"}) {
    auto parsed = ParseScorerOutput(text);
    EXPECT_FALSE(parsed.ok()) << "'" << text << "' gave " << (parsed.ok() ? *parsed : 0.0);
  }
  auto garbage = ParseScorerOutput("Segmentation fault\nmore");
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.error().message.find("Segmentation fault more"), std::string::npos)
      << garbage.error().message;
}

class PesqScorerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TempPath("pesq");
    fs::remove_all(dir_);
    fs::create_directories(dir_ + "/tmp");
    fs::create_directories(dir_ + "/seen");
    // The scoring's own temporary directory goes here, to be checked for leftovers.
    const char* tmpdir = std::getenv("TMPDIR");
    if (tmpdir != nullptr) saved_tmpdir_ = tmpdir;
    setenv("TMPDIR", (dir_ + "/tmp").c_str(), 1);
  }
  void TearDown() override {
    if (saved_tmpdir_) {
      setenv("TMPDIR", saved_tmpdir_->c_str(), 1);
    } else {
      unsetenv("TMPDIR");
    }
    fs::remove_all(dir_);
  }

  // A fake scorer: a shell script with `body` after a check of its arguments.
  std::string FakeScorer(const std::string& name, const std::string& body) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << "#!/bin/sh\n"
                        << "[ $# -eq 3 ] && [ -f \"$2\" ] && [ -f \"$3\" ] || exit 9\n"
                        << body << "\n";
    chmod(path.c_str(), 0755);
    return path;
  }

  bool TempLeftovers() const { return !fs::is_empty(dir_ + "/tmp"); }

  std::string dir_;
  std::optional<std::string> saved_tmpdir_;
};

TEST_F(PesqScorerTest, RunScorerReadsTheScoreOrSaysWhatWentWrong) {
  const std::string wav = dir_ + "/x.wav";
  ASSERT_TRUE(audio::WriteWavFile(wav, audio::AudioFrame({16000, 1}, int64_t{1600})).ok());

  const std::string good = FakeScorer("good", "[ \"$1\" = --wb ] && echo '3.1234 wb' || echo 2.5");
  auto score = RunScorer(good, PesqBand::kWideband, wav, wav, dir_);
  ASSERT_TRUE(score.ok()) << score.error().message;
  EXPECT_DOUBLE_EQ(*score, 3.1234);
  score = RunScorer(good, PesqBand::kNarrowband, wav, wav, dir_);
  ASSERT_TRUE(score.ok()) << score.error().message;
  EXPECT_DOUBLE_EQ(*score, 2.5);

  const std::string failing = FakeScorer("failing", "echo 'cannot open file' >&2; exit 1");
  score = RunScorer(failing, PesqBand::kWideband, wav, wav, dir_);
  ASSERT_FALSE(score.ok());
  EXPECT_NE(score.error().message.find("exit status 1: cannot open file"), std::string::npos)
      << score.error().message;

  const std::string garbage = FakeScorer("garbage", "echo 'no idea'");
  score = RunScorer(garbage, PesqBand::kWideband, wav, wav, dir_);
  ASSERT_FALSE(score.ok());
  EXPECT_NE(score.error().message.find("no idea"), std::string::npos) << score.error().message;

  score = RunScorer(dir_ + "/absent", PesqBand::kWideband, wav, wav, dir_);
  ASSERT_FALSE(score.ok());
  EXPECT_NE(score.error().message.find("absent not found"), std::string::npos)
      << score.error().message;
}

// Speech through the lab on a perfect network: what each player played, scored by a fake
// scorer that keeps the files it was given.
class PesqPlayersTest : public PesqScorerTest {
 protected:
  void SetUp() override {
    PesqScorerTest::SetUp();
    std::vector<int16_t> speech = testing::Speech(kRate, 0);
    speech.resize(3 * kRate);  // 3 s
    input_ = audio::AudioFrame({kRate, 1}, std::move(speech));
    SenderConfig sender;
    sender.codec = &codec::GetCodecInfo(codec::CodecId::kOpus);
    sender.encoder.bitrate_bps = 32000;
    sender.encoder.frame_ms = 20;
    auto stream = EncodeStream(input_, sender);
    ASSERT_TRUE(stream.ok()) << stream.error().message;
    stream_ = std::move(*stream);
    ImpairmentConfig perfect;
    perfect.base_delay_ms = 40;
    const Impaired impaired = ImpairStream(stream_, perfect);
    for (PlayerKind kind : {PlayerKind::kParley, PlayerKind::kFixedPlc}) {
      runs_.push_back(PlayStream(stream_, impaired.deliveries, kind));
    }
  }

  audio::AudioFrame input_;
  LabStream stream_;
  std::vector<PlayerRun> runs_;
};

// The lag (in samples, within +-max_lag) at which `b` best matches `a`.
int BestLag(const std::vector<int16_t>& a, const std::vector<int16_t>& b, int max_lag) {
  int best_lag = 0;
  double best = -1e300;
  for (int lag = -max_lag; lag <= max_lag; ++lag) {
    double sum = 0;
    for (size_t i = static_cast<size_t>(max_lag); i + static_cast<size_t>(max_lag) < a.size();
         ++i) {
      sum += static_cast<double>(a[i]) * b[static_cast<size_t>(static_cast<int64_t>(i) + lag)];
    }
    if (sum > best) {
      best = sum;
      best_lag = lag;
    }
  }
  return best_lag;
}

TEST_F(PesqPlayersTest, EveryPlayerIsScoredInBothBandsOnAlignedSignalsOfTheReferencesLength) {
  // Keeps a copy of each pair it scores, named after the band and the degraded file.
  const std::string scorer =
      FakeScorer("keeper", "b=$(basename \"$3\" .wav); cp \"$2\" " + dir_ +
                               "/seen/ref.$b.wav; cp \"$3\" " + dir_ + "/seen/deg.$b.wav\n" +
                               "case \"$1\" in --wb) echo '3.75 wb';; --nb) echo 2.25;; " +
                               "*) exit 2;; esac");
  auto scores = ScorePlayers(scorer, input_, stream_, runs_);
  ASSERT_TRUE(scores.ok()) << scores.error().message;
  ASSERT_EQ(scores->size(), 2u);
  for (const PesqScores& s : *scores) {
    EXPECT_DOUBLE_EQ(s.wideband, 3.75);
    EXPECT_DOUBLE_EQ(s.narrowband, 2.25);
  }
  EXPECT_FALSE(TempLeftovers());

  for (size_t player = 0; player < runs_.size(); ++player) {
    for (const auto& [band, rate] : {std::pair{"wb", 16000}, std::pair{"nb", 8000}}) {
      const std::string name = std::to_string(player) + "." + band;
      auto reference = audio::ReadAudioFile(dir_ + "/seen/ref.degraded." + name + ".wav");
      auto degraded = audio::ReadAudioFile(dir_ + "/seen/deg.degraded." + name + ".wav");
      ASSERT_TRUE(reference.ok() && degraded.ok()) << name;
      EXPECT_EQ(reference->sample_rate_hz(), rate);
      EXPECT_EQ(degraded->sample_rate_hz(), rate);
      EXPECT_EQ(reference->channels(), 1);
      EXPECT_EQ(reference->frames(), 3 * rate) << name;
      EXPECT_EQ(degraded->frames(), reference->frames()) << name;
      // Nothing was lost: the degraded speech lines up with the input, within a sample and
      // what the player stretched (parley comes down from its 60 ms start-up delay).
      const std::vector<int16_t> ref(reference->samples().begin(), reference->samples().end());
      const std::vector<int16_t> deg(degraded->samples().begin(), degraded->samples().end());
      const PlayerCounters& counters = runs_[player].counters;
      const int64_t stretched =
          static_cast<int64_t>(counters.removed_samples + counters.inserted_samples) * rate /
          stream_.format.output_rate_hz;
      EXPECT_LE(std::abs(BestLag(ref, deg, rate / 100)), 1 + stretched)
          << runs_[player].name << " " << band;
    }
  }
}

TEST_F(PesqPlayersTest, AFailingScorerNamesItselfAndThePlayerAndLeavesNothingBehind) {
  const std::string failing = FakeScorer("failing", "echo 'bad input' >&2; exit 1");
  auto scores = ScorePlayers(failing, input_, stream_, runs_);
  ASSERT_FALSE(scores.ok());
  const std::string& message = scores.error().message;
  EXPECT_NE(message.find(failing), std::string::npos) << message;
  EXPECT_NE(message.find("parley (wb)"), std::string::npos) << message;
  EXPECT_NE(message.find("bad input"), std::string::npos) << message;
  EXPECT_FALSE(TempLeftovers());

  // Garbage for the second player's narrowband score only.
  const std::string flaky =
      FakeScorer("flaky",
                 "case \"$3\" in *degraded.1.nb.wav) echo 'Floating point exception';; *) echo 3;; "
                 "esac");
  scores = ScorePlayers(flaky, input_, stream_, runs_);
  ASSERT_FALSE(scores.ok());
  EXPECT_NE(scores.error().message.find("fixed-60ms-plc (nb)"), std::string::npos)
      << scores.error().message;
  EXPECT_NE(scores.error().message.find("Floating point exception"), std::string::npos)
      << scores.error().message;
  EXPECT_FALSE(TempLeftovers());

  scores = ScorePlayers(dir_ + "/absent", input_, stream_, runs_);
  ASSERT_FALSE(scores.ok());
  EXPECT_NE(scores.error().message.find("absent not found"), std::string::npos)
      << scores.error().message;
}

}  // namespace
}  // namespace parley::lab
