#include "parley/lab/plot.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

namespace parley::lab {
namespace {

namespace fs = std::filesystem;

// A PNG of a few hundred pixels with text and lines compresses to several kB; an empty
// or truncated file is far below this.
constexpr uintmax_t kMinPngBytes = 2000;

class PlotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!GnuplotAvailable()) GTEST_SKIP() << "gnuplot not installed (Debian: gnuplot-nox)";
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) / "parley_plot_test" / info->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // True when `path` starts with the 8-byte PNG signature.
  static bool IsPng(const fs::path& path) {
    std::ifstream file(path, std::ios::binary);
    std::array<unsigned char, 8> head{};
    file.read(reinterpret_cast<char*>(head.data()), head.size());
    constexpr std::array<unsigned char, 8> kSignature = {0x89, 'P',  'N',  'G',
                                                         '\r', '\n', 0x1a, '\n'};
    return file && head == kSignature;
  }

  // Only the output file is left in the directory: the temporary one is gone.
  size_t EntriesInDir() const {
    return static_cast<size_t>(std::distance(fs::directory_iterator(dir_), {}));
  }

  fs::path dir_;
};

PlotSpec DelayPlot() {
  PlotSpec spec;
  spec.title = "Playout delay";
  spec.x_label = "time (s)";
  spec.y_label = "delay (ms)";
  TimeSeries delay;
  delay.title = "delay";
  TimeSeries target;
  target.title = "target";
  target.style = "steps";
  target.color = "#d62728";
  for (int i = 0; i < 200; ++i) {
    const double t = i * 0.05;
    delay.x.push_back(t);
    delay.y.push_back(60.0 + 20.0 * std::sin(t));
    target.x.push_back(t);
    target.y.push_back(i < 100 ? 60.0 : 80.0);
  }
  delay.y[50] = std::numeric_limits<double>::quiet_NaN();  // a gap in the line
  spec.series = {delay, target};
  spec.shaded_intervals = {{2.0, 2.4}, {6.1, 6.3}, {2.3, 2.6}};
  spec.width_px = 600;
  spec.height_px = 300;
  return spec;
}

TEST_F(PlotTest, RendersAPngWithSeriesAndShadedIntervals) {
  const fs::path png = dir_ / "delay.png";
  const Status status = RenderPlot(DelayPlot(), png.string());
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_TRUE(IsPng(png));
  EXPECT_GT(fs::file_size(png), kMinPngBytes);
  EXPECT_EQ(EntriesInDir(), 1u);
}

TEST_F(PlotTest, TextWithQuotesAndGnuplotSpecialsIsPassedLiterally) {
  // gnuplot runs backquoted text as a shell command and expands @name macros: neither
  // may happen to a title.
  const fs::path touched = dir_ / "touched";
  PlotSpec spec = DelayPlot();
  spec.title =
      "it's \"quoted\" \\n a_b ^c @d {e} $f # g\nsecond line `touch " + touched.string() + "`";
  spec.series[0].title = "player 'A'; system(\"touch " + touched.string() + "\")";
  spec.x_label = "'";
  spec.y_label = "";
  spec.series[1].title = "\xc3\xa9t\xc3\xa9 (UTF-8)";
  const fs::path png = dir_ / "it's `quoted`.png";
  const Status status = RenderPlot(spec, png.string());
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_TRUE(IsPng(png));
  EXPECT_FALSE(fs::exists(touched));
}

TEST_F(PlotTest, StacksPanelsVertically) {
  std::vector<PlotSpec> panels = {DelayPlot(), DelayPlot(), DelayPlot()};
  panels[1].title = "player B";
  panels[2].series.clear();  // an empty panel still draws its axes
  panels[2].shaded_intervals.clear();
  const fs::path png = dir_ / "stacked.png";
  const Status status = RenderPlots(panels, png.string());
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_TRUE(IsPng(png));
  // PNG IHDR: width and height, big-endian, at bytes 16..23.
  std::ifstream file(png, std::ios::binary);
  std::array<unsigned char, 24> head{};
  file.read(reinterpret_cast<char*>(head.data()), head.size());
  const uint32_t width = (head[16] << 24) | (head[17] << 16) | (head[18] << 8) | head[19];
  const uint32_t height = (head[20] << 24) | (head[21] << 16) | (head[22] << 8) | head[23];
  EXPECT_EQ(width, 600u);
  EXPECT_EQ(height, 900u);
}

TEST_F(PlotTest, SeriesWithoutValidPointsStillRenders) {
  PlotSpec spec;
  spec.title = "nothing yet";
  TimeSeries empty;
  empty.title = "empty";
  TimeSeries undefined;
  undefined.title = "undefined";
  undefined.x = {1.0, 2.0};
  undefined.y = {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()};
  spec.series = {empty, undefined};
  spec.shaded_intervals = {{0.5, 1.5}};
  const fs::path png = dir_ / "empty.png";
  const Status status = RenderPlot(spec, png.string());
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_TRUE(IsPng(png));
}

TEST_F(PlotTest, ReplacesAnExistingFile) {
  const fs::path png = dir_ / "again.png";
  std::ofstream(png) << "old";
  ASSERT_TRUE(RenderPlot(DelayPlot(), png.string()).ok());
  EXPECT_TRUE(IsPng(png));
}

TEST_F(PlotTest, MissingDirectoryIsAClearError) {
  const fs::path png = dir_ / "no" / "such" / "dir" / "plot.png";
  const Status status = RenderPlot(DelayPlot(), png.string());
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("does not exist"), std::string::npos)
      << status.error().message;
  EXPECT_NE(status.error().message.find((dir_ / "no" / "such" / "dir").string()),
            std::string::npos);
}

TEST_F(PlotTest, MissingGnuplotIsNamed) {
  // PATH pointing at an empty directory hides gnuplot from this process only; restored
  // before any assertion can end the test.
  const char* saved = std::getenv("PATH");
  const std::string original = saved != nullptr ? saved : "";
  ::setenv("PATH", dir_.c_str(), 1);
  const bool available = GnuplotAvailable();
  const Status status = RenderPlot(DelayPlot(), (dir_ / "none.png").string());
  ::setenv("PATH", original.c_str(), 1);
  EXPECT_FALSE(available);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message, "gnuplot not found: install gnuplot-nox");
}

TEST_F(PlotTest, BadSpecsAreRejectedBeforeGnuplotRuns) {
  const fs::path png = dir_ / "bad.png";
  PlotSpec mismatched = DelayPlot();
  mismatched.series[1].y.pop_back();
  Status status = RenderPlot(mismatched, png.string());
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("series 1 'target': x has 200 values, y has 199"),
            std::string::npos)
      << status.error().message;

  PlotSpec bad_style = DelayPlot();
  bad_style.series[0].style = "lines; system('rm -rf /')";
  status = RenderPlot(bad_style, png.string());
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("style"), std::string::npos);

  EXPECT_FALSE(RenderPlots({}, png.string()).ok());
  EXPECT_FALSE(fs::exists(png));
}

TEST_F(PlotTest, GnuplotErrorsAreReported) {
  PlotSpec spec = DelayPlot();
  spec.series[0].color = "no-such-colour";
  const fs::path png = dir_ / "failed.png";
  const Status status = RenderPlot(spec, png.string());
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("gnuplot failed"), std::string::npos)
      << status.error().message;
  EXPECT_FALSE(fs::exists(png));
  EXPECT_EQ(EntriesInDir(), 0u);
}

}  // namespace
}  // namespace parley::lab
