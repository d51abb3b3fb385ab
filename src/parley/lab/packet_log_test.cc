#include "parley/lab/packet_log.h"

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
  Result<std::vector<LoggedPacket>> parsed = ParsePacketLog(text);
  return parsed.ok() ? std::string("(parsed)") : parsed.error().message;
}

TEST(PacketLogTest, ParsesPacketsLossesHeaderAndComments) {
  const std::string text =
      "seq,rtp_ts,send_ms,arrival_ms,payload_hex\n"
      "# Opus, 20 ms frames\n"
      "0,0,0,41.25,fc0B2f\n"
      "1,960,20,-1,fcff01\r\n"
      "\n"
      "2,4294967295,40,63.5,   # empty payload\n";
  Result<std::vector<LoggedPacket>> parsed = ParsePacketLog(text);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed->size(), 3u);
  const std::vector<LoggedPacket> expected = {
      {0, 0, 0.0, 41.25, {0xfc, 0x0b, 0x2f}},
      {1, 960, 20.0, -1.0, {0xfc, 0xff, 0x01}},
      {2, 4294967295u, 40.0, 63.5, {}},
  };
  EXPECT_EQ(*parsed, expected);
  EXPECT_FALSE((*parsed)[0].lost());
  EXPECT_TRUE((*parsed)[1].lost());
}

TEST(PacketLogTest, AnyNegativeArrivalIsALossWrittenAsMinusOne) {
  Result<std::vector<LoggedPacket>> parsed =
      ParsePacketLog("3,2880,60,-0.0001,00\n4,3840,80,-250,\n");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_TRUE((*parsed)[0].lost());
  EXPECT_EQ((*parsed)[0].arrival_ms, -1.0);
  EXPECT_EQ(FormatPacketLog(*parsed),
            "seq,rtp_ts,send_ms,arrival_ms,payload_hex\n3,2880,60,-1,00\n4,3840,80,-1,\n");
}

TEST(PacketLogTest, FormatWritesHeaderTrimmedNumbersAndLowerCaseHex) {
  const std::vector<LoggedPacket> packets = {
      {0, 123456, 0.0, 20.5, {0xAB, 0x00, 0x7f}},
      {1, 124416, 20.0, -1.0, {}},
      {2, 125376, 40.0, 60.0626, {0x01}},
  };
  EXPECT_EQ(FormatPacketLog(packets),
            "seq,rtp_ts,send_ms,arrival_ms,payload_hex\n"
            "0,123456,0,20.5,ab007f\n"
            "1,124416,20,-1,\n"
            "2,125376,40,60.063,01\n");
}

TEST(PacketLogTest, RoundTripsExactlyOnTheMicrosecondGrid) {
  Random random(5);
  std::vector<LoggedPacket> packets;
  for (int64_t seq = 0; seq < 5000; ++seq) {
    LoggedPacket packet;
    packet.seq = seq;
    packet.rtp_ts = static_cast<uint32_t>(random.NextU64());
    packet.send_ms = static_cast<double>(seq) * 20.0;
    if (!random.Bernoulli(0.1)) {
      packet.arrival_ms = std::round((packet.send_ms + random.Exponential(60.0)) * 1000.0) / 1000.0;
    }
    packet.payload.resize(static_cast<size_t>(random.UniformInt(0, 200)));
    for (uint8_t& byte : packet.payload) byte = static_cast<uint8_t>(random.NextU64());
    packets.push_back(std::move(packet));
  }
  const std::string text = FormatPacketLog(packets);
  Result<std::vector<LoggedPacket>> parsed = ParsePacketLog(text);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, packets);
  EXPECT_EQ(FormatPacketLog(*parsed), text);
}

TEST(PacketLogTest, ErrorsNameTheLineAndTheField) {
  EXPECT_EQ(ErrorOf("0,0,0,20,00\n1,960,20,40,abc\n"),
            "packet log line 2: payload_hex has an odd number of digits (3)");
  EXPECT_EQ(ErrorOf("0,0,0,20,00zz\n"),
            "packet log line 1: payload_hex digit 2 ('z') is not a hex digit");
  EXPECT_EQ(ErrorOf("0,0,0,20,0\x01\n"),
            "packet log line 1: payload_hex digit 1 (byte 0x01) is not a hex digit");
  EXPECT_EQ(ErrorOf("0,4294967296,0,20,00\n"),
            "packet log line 1: rtp_ts 4294967296 is out of 32-bit range (0..4294967295)");
  EXPECT_EQ(ErrorOf("0,-1,0,20,00\n"),
            "packet log line 1: rtp_ts -1 is out of 32-bit range (0..4294967295)");
  EXPECT_EQ(ErrorOf("0,1.5,0,20,00\n"), "packet log line 1: rtp_ts '1.5' is not an integer");
  EXPECT_EQ(ErrorOf("a,0,0,20,00\n"), "packet log line 1: seq 'a' is not an integer");
  EXPECT_EQ(ErrorOf("0,0,-3,20,00\n"), "packet log line 1: send_ms -3 is negative");
  EXPECT_EQ(ErrorOf("0,0,x,20,00\n"), "packet log line 1: send_ms 'x' is not a number");
  EXPECT_EQ(ErrorOf("0,0,0,lost,00\n"), "packet log line 1: arrival_ms 'lost' is not a number");
  EXPECT_EQ(ErrorOf("0,0,50,20,00\n"),
            "packet log line 1: arrival_ms 20 is before send_ms 50 (a negative arrival_ms marks "
            "a lost packet)");
  EXPECT_EQ(ErrorOf("\n\n0,0,0,20\n"),
            "packet log line 3: 4 fields, expected 5 "
            "(seq,rtp_ts,send_ms,arrival_ms,payload_hex)");
}

TEST(PacketLogTest, FilesRoundTripThroughAPartialFile) {
  const std::vector<LoggedPacket> packets = {{0, 0, 0.0, 33.0, {1, 2, 3}},
                                             {1, 960, 20.0, -1.0, {4}}};
  const std::string path = TempPath("packet_log");
  ASSERT_TRUE(WritePacketLogFile(path, packets).ok());
  EXPECT_FALSE(std::filesystem::exists(path + ".partial"));
  Result<std::vector<LoggedPacket>> read = ReadPacketLogFile(path);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(*read, packets);

  std::FILE* file = std::fopen(path.c_str(), "w");
  ASSERT_NE(file, nullptr);
  std::fputs("0,0,0,20,0g\n", file);
  std::fclose(file);
  read = ReadPacketLogFile(path);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().message,
            path + ": packet log line 1: payload_hex digit 1 ('g') is not a hex digit");
  std::filesystem::remove(path);

  read = ReadPacketLogFile(path);
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.error().message.find(path), std::string::npos) << read.error().message;
}

}  // namespace
}  // namespace parley::lab
