#include "parley/base/log.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace parley {
namespace {

// 2026-01-05T09:30:00Z.
const Clock::WallTime kWallStart{std::chrono::seconds(1'767'605'400)};

struct Captured {
  std::vector<std::string> lines;
  Logger::Sink sink() {
    return [this](std::string_view line) { lines.emplace_back(line); };
  }
};

TEST(LoggerTest, WritesOneJsonObjectPerLineWithTimeLevelEventAndFieldsInOrder) {
  SimulatedClock clock(kWallStart);
  clock.Advance(std::chrono::milliseconds(123));
  Captured out;
  Logger logger(LogLevel::kInfo, out.sink(), clock);
  logger.Info("participant_joined", {{"room", "standup"},
                                     {"participant_id", uint32_t{7}},
                                     {"delta", -3},
                                     {"ratio", 0.25},
                                     {"publish", true}});
  ASSERT_EQ(out.lines.size(), 1u);
  EXPECT_EQ(out.lines[0],
            R"({"ts":"2026-01-05T09:30:00.123Z","level":"info","event":"participant_joined",)"
            R"("room":"standup","participant_id":7,"delta":-3,"ratio":0.25,"publish":true})"
            "\n");
}

TEST(LoggerTest, LevelsBelowTheMinimumAreNotWritten) {
  Captured out;
  Logger logger(LogLevel::kWarn, out.sink());
  logger.Debug("a");
  logger.Info("b");
  logger.Warn("c");
  logger.Error("d");
  ASSERT_EQ(out.lines.size(), 2u);
  EXPECT_NE(out.lines[0].find(R"("level":"warn","event":"c")"), std::string::npos);
  EXPECT_NE(out.lines[1].find(R"("level":"error","event":"d")"), std::string::npos);
  EXPECT_FALSE(logger.enabled(LogLevel::kInfo));
}

TEST(LoggerTest, EscapesStringsAndReplacesBytesThatAreNotUtf8) {
  Captured out;
  Logger logger(LogLevel::kDebug, out.sink());
  const std::string odd = std::string("quote\" back\\ nl\n tab\t ctl\x01 é ") + "\xff\xc3" + " €";
  logger.Info("odd", {{"text", odd}});
  ASSERT_EQ(out.lines.size(), 1u);
  const std::string& line = out.lines[0];
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line";
  const nlohmann::json parsed = nlohmann::json::parse(line);
  EXPECT_EQ(parsed["text"], "quote\" back\\ nl\n tab\t ctl\x01 é \xEF\xBF\xBD\xEF\xBF\xBD €");
}

TEST(LoggerTest, LinesFromManyThreadsNeverInterleave) {
  Captured out;
  Logger logger(LogLevel::kInfo, out.sink());
  constexpr int kThreads = 4;
  constexpr int kLinesEach = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&logger, t] {
      for (int i = 0; i < kLinesEach; ++i) logger.Info("tick", {{"thread", t}, {"i", i}});
    });
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_EQ(out.lines.size(), static_cast<size_t>(kThreads * kLinesEach));
  for (const std::string& line : out.lines) {
    EXPECT_TRUE(nlohmann::json::accept(line)) << line;
  }
}

TEST(LoggerTest, ParsesLevelNames) {
  EXPECT_EQ(*ParseLogLevel("debug"), LogLevel::kDebug);
  EXPECT_EQ(*ParseLogLevel("error"), LogLevel::kError);
  const Result<LogLevel> bad = ParseLogLevel("verbose");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "log level 'verbose': expected debug, info, warn or error");
}

}  // namespace
}  // namespace parley
