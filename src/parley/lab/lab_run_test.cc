// RunLab's files: every listener's audio and block log, the replayable trace, the JSON
// report and the plot, all beside OUT.wav.
#include "parley/lab/lab_run.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "parley/audio/audio_file.h"
#include "parley/codec/registry.h"
#include "parley/lab/plot.h"
#include "parley/testing/speech.h"

namespace parley::lab {
namespace {

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(LabRunTest, WritesAudioLogsTraceReportAndPlotBesideTheOutput) {
  // The plot is part of what the lab promises: gnuplot must be there (./run installs it).
  ASSERT_TRUE(GnuplotAvailable()) << "gnuplot not found: install gnuplot-nox";
  const std::string dir = ::testing::TempDir() + "/lab_run_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);

  LabRunConfig config;
  config.input = audio::AudioFrame({48000, 1}, testing::Speech(48000, 1));
  config.input_label = "speech1";
  config.sender.codec = &codec::GetCodecInfo(codec::CodecId::kOpus);
  config.model.loss = LossModel::kBernoulli;
  config.model.loss_rate = 0.05;
  config.model.seed = 4;
  config.players = {PlayerKind::kParley, PlayerKind::kSpeex};
  auto result = RunLab(config);
  ASSERT_TRUE(result.ok()) << result.error().message;
  auto files = WriteLabOutputs(*result, dir + "/call.wav", true);
  ASSERT_TRUE(files.ok()) << files.error().message;

  for (const char* name :
       {"call.wav", "call.blocks.csv", "call.speexdsp.wav", "call.speexdsp.blocks.csv",
        "call.trace.csv", "call.report.json", "call.delay.png"}) {
    EXPECT_TRUE(std::filesystem::exists(dir + "/" + name)) << name;
  }
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    EXPECT_EQ(entry.path().string().find(".partial"), std::string::npos) << entry.path();
  }
  // OUT.wav is what the first player played, block for block.
  auto wav = audio::ReadAudioFile(dir + "/call.wav");
  ASSERT_TRUE(wav.ok());
  EXPECT_EQ(wav->frames(), static_cast<int64_t>(result->runs[0].blocks.size()) * 480);
  const std::string blocks = ReadText(dir + "/call.blocks.csv");
  EXPECT_EQ(blocks.rfind("t_ms,dur_ms,media_ts,kind\n0,10,-1,silence\n", 0), 0u)
      << blocks.substr(0, 80);
  // The JSON parses and carries each player's figures.
  const auto json = nlohmann::json::parse(ReadText(dir + "/call.report.json"));
  ASSERT_EQ(json["players"].size(), 2u);
  EXPECT_EQ(json["players"][0]["name"], "parley");
  EXPECT_EQ(json["players"][1]["name"], "speexdsp");
  EXPECT_EQ(json["network"]["packets_sent"], result->report.network.packets_sent);
  EXPECT_GT(json["players"][0]["mos"].get<double>(), 1.0);
  // The trace replays: every packet has its line.
  auto trace = ReadTraceFile(dir + "/call.trace.csv");
  ASSERT_TRUE(trace.ok()) << trace.error().message;
  EXPECT_EQ(trace->size(), result->trace.size());
}

}  // namespace
}  // namespace parley::lab
