#include "parley/lab/trace.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "parley/base/random.h"
#include "parley/testing/files.h"

namespace parley::lab {
namespace {

using testing::TempPath;

std::string ErrorOf(std::string_view text) {
  Result<std::vector<TraceEntry>> parsed = ParseTrace(text);
  return parsed.ok() ? std::string("(parsed)") : parsed.error().message;
}

TEST(TraceTest, ParsesArrivalsLossesDuplicatesHeaderAndComments) {
  const std::string text =
      "# recorded by a test\n"
      "seq,send_ms,arrival_ms\n"
      "0,0,41.25\n"
      "\n"
      "1, 20 ,lost   # a comment after a record\r\n"
      "2,40,63.5\n"
      "2,40,68.5\n"
      "4,80,100";  // no final newline
  Result<std::vector<TraceEntry>> parsed = ParseTrace(text);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  const std::vector<TraceEntry> expected = {
      {0, 0.0, 41.25}, {1, 20.0, std::nullopt}, {2, 40.0, 63.5}, {2, 40.0, 68.5}, {4, 80.0, 100.0}};
  EXPECT_EQ(*parsed, expected);
  EXPECT_TRUE((*parsed)[1].lost());
}

TEST(TraceTest, EmptyTextAndHeaderOnlyAreEmptyTraces) {
  EXPECT_TRUE(ParseTrace("").value().empty());
  EXPECT_TRUE(ParseTrace("seq,send_ms,arrival_ms\n").value().empty());
}

TEST(TraceTest, FormatWritesHeaderAndTrimmedNumbers) {
  const std::vector<TraceEntry> entries = {{0, 0.0, 20.0},
                                           {1, 20.0, std::nullopt},
                                           {2, 40.0, 61.5},
                                           {3, 60.0, 80.125},
                                           {-7, 0.001, 0.002}};
  EXPECT_EQ(FormatTrace(entries),
            "seq,send_ms,arrival_ms\n"
            "0,0,20\n"
            "1,20,lost\n"
            "2,40,61.5\n"
            "3,60,80.125\n"
            "-7,0.001,0.002\n");
}

TEST(TraceTest, NumbersAreRoundedToTheMicrosecond) {
  const std::vector<TraceEntry> entries = {{0, 12.34449, 20.0006}, {1, 0.0004, 0.0004}};
  EXPECT_EQ(FormatTrace(entries), "seq,send_ms,arrival_ms\n0,12.344,20.001\n1,0,0\n");
}

// Values on the microsecond grid survive a write and a read exactly, and a read file is
// written back byte for byte.
TEST(TraceTest, RoundTripsExactlyOnTheMicrosecondGrid) {
  Random random(99);
  std::vector<TraceEntry> entries;
  double send_ms = 0.0;
  for (int64_t seq = 0; seq < 20'000; ++seq) {
    send_ms = std::round((send_ms + random.Uniform(0.0, 40.0)) * 1000.0) / 1000.0;
    TraceEntry entry{seq, send_ms, std::nullopt};
    if (!random.Bernoulli(0.1)) {
      entry.arrival_ms = std::round((send_ms + random.Exponential(50.0)) * 1000.0) / 1000.0;
    }
    entries.push_back(entry);
    if (random.Bernoulli(0.02)) entries.push_back(entry);
  }
  const std::string text = FormatTrace(entries);
  Result<std::vector<TraceEntry>> parsed = ParseTrace(text);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, entries);
  EXPECT_EQ(FormatTrace(*parsed), text);
}

TEST(TraceTest, WriteParseWriteIsByteIdenticalForAnyAcceptedText) {
  const std::string text = "5,1.23456789,2e3\n6,1e-4,lost\n7,0,-0\n8,3.9999999,4.0006\n";
  Result<std::vector<TraceEntry>> first = ParseTrace(text);
  ASSERT_TRUE(first.ok()) << first.error().message;
  const std::string written = FormatTrace(*first);
  EXPECT_EQ(written, "seq,send_ms,arrival_ms\n5,1.235,2000\n6,0,lost\n7,0,0\n8,4,4.001\n");
  Result<std::vector<TraceEntry>> second = ParseTrace(written);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(FormatTrace(*second), written);
}

TEST(TraceTest, ErrorsNameTheLineAndTheField) {
  EXPECT_EQ(ErrorOf("0,0,20\n1,20,40\n\n# c\n2,40,60\n3,60,80\n4,80,abc\n"),
            "trace line 7: arrival_ms 'abc' is not a number or 'lost'");
  EXPECT_EQ(ErrorOf("seq,send_ms,arrival_ms\n0,0\n"),
            "trace line 2: 2 fields, expected 3 (seq,send_ms,arrival_ms)");
  EXPECT_EQ(ErrorOf("0,0,20,5\n"), "trace line 1: 4 fields, expected 3 (seq,send_ms,arrival_ms)");
  EXPECT_EQ(ErrorOf("1.5,0,20\n"), "trace line 1: seq '1.5' is not an integer");
  EXPECT_EQ(ErrorOf("x,0,20\n"), "trace line 1: seq 'x' is not an integer");
  EXPECT_EQ(ErrorOf("99999999999999999999,0,20\n"),
            "trace line 1: seq '99999999999999999999' is not an integer");
  EXPECT_EQ(ErrorOf("1,-5,20\n"), "trace line 1: send_ms -5 is negative");
  EXPECT_EQ(ErrorOf("1,,20\n"), "trace line 1: send_ms '' is not a number");
  EXPECT_EQ(ErrorOf("1,nan,20\n"), "trace line 1: send_ms 'nan' is not a number");
  EXPECT_EQ(ErrorOf("1,inf,20\n"),
            "trace line 1: send_ms 'inf' is out of range (+-1000000000000 ms)");
  EXPECT_EQ(ErrorOf("1,1e300,20\n"),
            "trace line 1: send_ms '1e300' is out of range (+-1000000000000 ms)");
  EXPECT_EQ(ErrorOf("1,0x10,20\n"), "trace line 1: send_ms '0x10' is not a number");
  EXPECT_EQ(ErrorOf("1,30,20\n"), "trace line 1: arrival_ms 20 is before send_ms 30");
  EXPECT_EQ(ErrorOf("1,30,LOST\n"), "trace line 1: arrival_ms 'LOST' is not a number or 'lost'");
  // A header anywhere but first is a bad record.
  EXPECT_EQ(ErrorOf("0,0,20\nseq,send_ms,arrival_ms\n"),
            "trace line 2: seq 'seq' is not an integer");
}

TEST(TraceTest, FatesBecomeOneLinePerArrivalOnTheMicrosecondGrid) {
  PacketFate lost;
  EXPECT_EQ(FatesToTrace(3, 60.0, lost), (std::vector<TraceEntry>{{3, 60.0, std::nullopt}}));
  PacketFate twice;
  twice.arrivals_ms = {81.23456, 86.23456};
  EXPECT_EQ(FatesToTrace(4, 80.0, twice),
            (std::vector<TraceEntry>{{4, 80.0, 81.235}, {4, 80.0, 86.235}}));
}

TEST(TraceTest, ModelRunRecordedToAFileReplaysIdentically) {
  Result<ImpairmentConfig> config = FindNetworkPreset("bad");
  ASSERT_TRUE(config.ok());
  ImpairmentModel model(*config);
  std::vector<TraceEntry> recorded;
  for (int64_t seq = 0; seq < 3000; ++seq) {
    const double send_ms = static_cast<double>(seq) * 20.0;
    for (const TraceEntry& entry : FatesToTrace(seq, send_ms, model.Next(send_ms, 120))) {
      recorded.push_back(entry);
    }
  }
  const std::string path = TempPath("trace_replay");
  ASSERT_TRUE(WriteTraceFile(path, recorded).ok());
  EXPECT_FALSE(std::filesystem::exists(path + ".partial"));
  Result<std::vector<TraceEntry>> read = ReadTraceFile(path);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(*read, recorded);
  std::filesystem::remove(path);
}

TEST(TraceTest, FileErrorsNameThePath) {
  const std::string missing = TempPath("no_such_dir") + "/t.csv";
  Result<std::vector<TraceEntry>> read = ReadTraceFile(missing);
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.error().message.find(missing), std::string::npos) << read.error().message;
  const Status written = WriteTraceFile(missing, {});
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.error().message.find(missing), std::string::npos) << written.error().message;

  const std::string bad = TempPath("bad_trace");
  std::FILE* file = std::fopen(bad.c_str(), "w");
  ASSERT_NE(file, nullptr);
  std::fputs("0,0,20\n1,20,x\n", file);
  std::fclose(file);
  read = ReadTraceFile(bad);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().message, bad + ": trace line 2: arrival_ms 'x' is not a number or 'lost'");
  std::filesystem::remove(bad);
}

}  // namespace
}  // namespace parley::lab
