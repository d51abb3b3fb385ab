#include "parley/container/rtp_capture.h"

#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <filesystem>
#include <string>
#include <vector>

#include "parley/audio/audio_file.h"
#include "parley/audio/similarity.h"
#include "parley/codec/registry.h"
#include "parley/container/ogg_opus_reader.h"
#include "parley/container/pcap_test_util.h"
#include "parley/testing/signals.h"

namespace parley::container {
namespace {

using namespace testing;  // NOLINT: the builders

constexpr uint32_t kSsrc = 0x1234ABCD;

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "rtp_capture_" + name;
}

ExtractOptions Options(const std::string& capture, const std::string& output) {
  ExtractOptions options;
  options.capture_path = capture;
  options.output_path = output;
  return options;
}

// Encodes `pcm` with `codec` in packets of `frame_ms`.
std::vector<Bytes> Encode(codec::CodecId id, std::span<const int16_t> pcm, int frame_ms,
                          bool fec = false) {
  codec::EncoderConfig config;
  config.frame_ms = frame_ms;
  config.fec = fec;
  config.expected_loss_percent = fec ? 20 : 0;
  auto encoder = codec::CreateEncoder(codec::GetCodecInfo(id), config);
  EXPECT_TRUE(encoder.ok()) << encoder.error().message;
  const size_t frame = static_cast<size_t>((*encoder)->frame_samples());
  std::vector<Bytes> packets;
  Bytes out((*encoder)->max_payload_bytes());
  for (size_t at = 0; at + frame <= pcm.size(); at += frame) {
    auto size = (*encoder)->Encode(pcm.subspan(at, frame), out);
    EXPECT_TRUE(size.ok());
    packets.emplace_back(out.begin(), out.begin() + static_cast<long>(*size));
  }
  return packets;
}

struct SentPacket {
  int index;  // packet number: sequence = first_sequence + index, timestamp = index * step
  int64_t arrival_us;
};

// RTP packets of `payloads` in the order and at the times of `sent`, over Ethernet/IPv4.
Bytes RtpCapture(const std::vector<Bytes>& payloads, const std::vector<SentPacket>& sent,
                 uint8_t payload_type, uint32_t timestamp_step, uint16_t first_sequence = 1000,
                 uint32_t first_timestamp = 4'000'000'000u) {
  std::vector<PcapRecord> records;
  for (const SentPacket& s : sent) {
    const Bytes rtp = Rtp(payload_type, static_cast<uint16_t>(first_sequence + s.index),
                          first_timestamp + static_cast<uint32_t>(s.index) * timestamp_step, kSsrc,
                          payloads[static_cast<size_t>(s.index)]);
    records.push_back({EthernetUdp(rtp), s.arrival_us});
  }
  return PcapFile(DLT_EN10MB, records);
}

std::vector<SentPacket> InOrder(int count, int64_t interval_us) {
  std::vector<SentPacket> sent;
  for (int i = 0; i < count; ++i) sent.push_back({i, 1'000'000 + i * interval_us});
  return sent;
}

// Longest run of consecutive exact zeros in `pcm`.
int LongestZeroRun(std::span<const int16_t> pcm) {
  int longest = 0;
  int run = 0;
  for (int16_t s : pcm) {
    run = s == 0 ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  return longest;
}

TEST(RtpCaptureTest, ParsesPayloadTypeMap) {
  auto map = ParsePayloadTypeMap("111=opus,96=PCMU,97=codec2");
  ASSERT_TRUE(map.ok()) << map.error().message;
  EXPECT_EQ(map->at(111)->id, codec::CodecId::kOpus);
  EXPECT_EQ(map->at(96)->id, codec::CodecId::kPcmu);
  EXPECT_EQ(map->at(97)->id, codec::CodecId::kCodec2);
  EXPECT_TRUE(ParsePayloadTypeMap("").ok());
  EXPECT_EQ(ParsePayloadTypeMap("128=opus").error().message,
            "payload type '128' in '128=opus' is not 0..127");
  EXPECT_EQ(ParsePayloadTypeMap("96=foo").error().message,
            "unknown codec 'foo' in '96=foo' (see 'parley codecs')");
  EXPECT_FALSE(ParsePayloadTypeMap("96").ok());
}

TEST(RtpCaptureTest, FindsPcmuStreamWithExactStatistics) {
  const auto tone = parley::testing::Tone(440, 8000, 1.0, 0.3);
  const auto payloads = Encode(codec::CodecId::kPcmu, tone, 20);
  ASSERT_EQ(payloads.size(), 50u);
  const std::string path = TempPath("pcmu.pcap");
  // Paced exactly at 20 ms: jitter 0.
  WriteFile(path, RtpCapture(payloads, InOrder(50, 20'000), 0, 160));
  auto scan = FindRtpStreams(path);
  ASSERT_TRUE(scan.ok()) << scan.error().message;
  ASSERT_EQ(scan->streams.size(), 1u);
  const RtpStreamInfo& s = scan->streams[0];
  EXPECT_EQ(s.ssrc, kSsrc);
  EXPECT_EQ(s.source.ToString(), "192.0.2.1:4000");
  EXPECT_EQ(s.destination.ToString(), "198.51.100.7:5004");
  EXPECT_EQ(s.payload_type, 0);
  EXPECT_EQ(s.CodecName(), "PCMU");
  EXPECT_EQ(s.codec_origin, CodecOrigin::kStaticPayloadType);
  EXPECT_EQ(s.packets, 50);
  EXPECT_EQ(s.lost, 0);
  EXPECT_EQ(s.duplicates, 0);
  ASSERT_TRUE(s.jitter.has_value());
  EXPECT_EQ(s.jitter->count(), 0);
  EXPECT_EQ(s.duration, std::chrono::seconds(1));
}

TEST(RtpCaptureTest, ReorderingDuplicatesAndLossAcrossSequenceWrap) {
  const auto tone = parley::testing::Tone(440, 8000, 1.0, 0.3);
  const auto payloads = Encode(codec::CodecId::kPcmu, tone, 20);
  std::vector<SentPacket> sent;
  int64_t t = 0;
  for (int i = 0; i < 50; ++i) {
    if (i == 7 || i == 20 || i == 21) continue;  // lost: 3
    sent.push_back({i, t += 20'000});
    if (i == 30 || i == 31) sent.push_back({i, t += 1000});  // duplicated: 2
  }
  std::swap(sent[10], sent[11]);  // reordered: 2 pairs
  std::swap(sent[40], sent[41]);
  const std::string path = TempPath("reorder.pcap");
  // First sequence 65530: the stream wraps at packet 6.
  WriteFile(path, RtpCapture(payloads, sent, 0, 160, 65530));
  auto scan = FindRtpStreams(path);
  ASSERT_TRUE(scan.ok()) << scan.error().message;
  ASSERT_EQ(scan->streams.size(), 1u);
  const RtpStreamInfo& s = scan->streams[0];
  EXPECT_EQ(s.packets, 49);
  EXPECT_EQ(s.expected, 50);
  EXPECT_EQ(s.lost, 3);
  EXPECT_EQ(s.duplicates, 2);
  EXPECT_NEAR(s.loss_fraction(), 0.06, 1e-9);

  // Extraction puts every packet at its timestamp: the full second, no hard zeros.
  ExtractOptions options = Options(path, TempPath("reorder.wav"));
  auto summary = ExtractRtpStream(options);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->packets_written, 47);
  EXPECT_EQ(summary->samples_written, 8000);
  EXPECT_EQ(summary->concealed_samples, 3 * 160);
  auto wav = audio::ReadAudioFile(options.output_path);
  ASSERT_TRUE(wav.ok());
  EXPECT_EQ(wav->frames(), 8000);
  EXPECT_LE(LongestZeroRun(wav->samples()), 2);
  // Outside the concealed packets the audio is the tone, sample for sample (G.711).
  const auto received = std::span(wav->samples()).subspan(0, 7 * 160);
  EXPECT_GT(parley::testing::SnrDb(std::span(tone).subspan(0, 7 * 160), received), 30);
  EXPECT_FALSE(std::filesystem::exists(options.output_path + ".partial"));
}

TEST(RtpCaptureTest, NonRtpUdpIsIgnored) {
  std::vector<PcapRecord> records;
  uint32_t seed = 1;
  for (int i = 0; i < 200; ++i) {
    Bytes junk(40 + i % 30);
    for (uint8_t& b : junk) b = static_cast<uint8_t>((seed = seed * 1103515245u + 12345u) >> 16);
    junk[0] = static_cast<uint8_t>(0x80 | (junk[0] & 0x3F));  // even "version 2" random bytes
    records.push_back({EthernetUdp(junk, 53, 53), i * 1000});
  }
  const std::string path = TempPath("junk.pcap");
  WriteFile(path, PcapFile(DLT_EN10MB, records));
  auto scan = FindRtpStreams(path);
  ASSERT_TRUE(scan.ok());
  EXPECT_TRUE(scan->streams.empty());
  EXPECT_EQ(scan->non_rtp_datagrams + scan->rtcp_packets, 200);
  ExtractOptions options = Options(path, TempPath("junk.wav"));
  auto extract = ExtractRtpStream(options);
  ASSERT_FALSE(extract.ok());
  EXPECT_NE(extract.error().message.find("no RTP stream found"), std::string::npos);
}

TEST(RtpCaptureTest, RtcpOnTheSamePortIsNotTakenForRtp) {
  const auto tone = parley::testing::Tone(440, 8000, 0.4, 0.3);
  const auto payloads = Encode(codec::CodecId::kPcmu, tone, 20);
  std::vector<PcapRecord> records;
  for (int i = 0; i < 20; ++i) {
    records.push_back({EthernetUdp(Rtp(0, static_cast<uint16_t>(i), 160u * i, kSsrc,
                                       payloads[static_cast<size_t>(i)])),
                       i * 20'000});
    // RTCP RR (PT 201) whose bytes 2..3 count up like a sequence number: rtcp-mux.
    Bytes rr = {0x81, 201, 0, static_cast<uint8_t>(i)};
    Put32(rr, 0x55555555);
    Append(rr, Bytes(24));
    records.push_back({EthernetUdp(rr), i * 20'000 + 5});
  }
  const std::string path = TempPath("rtcp.pcap");
  WriteFile(path, PcapFile(DLT_EN10MB, records));
  auto scan = FindRtpStreams(path);
  ASSERT_TRUE(scan.ok());
  ASSERT_EQ(scan->streams.size(), 1u);
  EXPECT_EQ(scan->streams[0].packets, 20);
  EXPECT_EQ(scan->rtcp_packets, 20);
}

TEST(RtpCaptureTest, GuessesOpusAndFollowsTheMapOtherwise) {
  const auto tone = parley::testing::Tone(440, 48000, 0.5, 0.3);
  const auto opus = Encode(codec::CodecId::kOpus, tone, 20);
  Bytes random_payload(40, 0x55);
  std::vector<Bytes> opaque(opus.size(), random_payload);
  std::vector<PcapRecord> records;
  for (size_t i = 0; i < opus.size(); ++i) {
    const auto index = static_cast<uint16_t>(i);
    records.push_back({EthernetUdp(Rtp(111, index, 960u * index, 1, opus[i]), 4000, 5004),
                       static_cast<int64_t>(i) * 20'000});
    // PT 96 with bytes that are not Opus (0x55: TOC config 10, code 1 with odd length).
    records.push_back({EthernetUdp(Rtp(96, index, 160u * index, 2, opaque[i]), 4002, 5006),
                       static_cast<int64_t>(i) * 20'000 + 10});
  }
  const std::string path = TempPath("guess.pcap");
  WriteFile(path, PcapFile(DLT_EN10MB, records));
  auto scan = FindRtpStreams(path);
  ASSERT_TRUE(scan.ok());
  ASSERT_EQ(scan->streams.size(), 2u);
  EXPECT_EQ(scan->streams[0].CodecName(), "opus");
  EXPECT_EQ(scan->streams[0].codec_origin, CodecOrigin::kGuessedOpus);
  EXPECT_EQ(scan->streams[0].duration, std::chrono::milliseconds(500));
  EXPECT_EQ(scan->streams[1].CodecName(), "unknown");
  EXPECT_FALSE(scan->streams[1].jitter.has_value());

  auto mapped = FindRtpStreams(path, *ParsePayloadTypeMap("96=pcma"));
  ASSERT_TRUE(mapped.ok());
  EXPECT_EQ(mapped->streams[1].CodecName(), "PCMA");
  EXPECT_EQ(mapped->streams[1].codec_origin, CodecOrigin::kUserMap);

  // Two streams: --ssrc is required and the error lists both.
  ExtractOptions options = Options(path, TempPath("guess.wav"));
  auto ambiguous = ExtractRtpStream(options);
  ASSERT_FALSE(ambiguous.ok());
  EXPECT_NE(ambiguous.error().message.find("holds 2 RTP streams: choose one with --ssrc"),
            std::string::npos);
  EXPECT_NE(ambiguous.error().message.find("0x00000001"), std::string::npos);
  EXPECT_NE(ambiguous.error().message.find("0x00000002"), std::string::npos);
  options.ssrc = 2;
  auto unknown = ExtractRtpStream(options);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("--pt-map 96=CODEC"), std::string::npos);
  options.ssrc = 1;
  auto opus_wav = ExtractRtpStream(options);
  ASSERT_TRUE(opus_wav.ok()) << opus_wav.error().message;
  EXPECT_EQ(opus_wav->sample_rate_hz, 48000);
  EXPECT_EQ(opus_wav->samples_written, 24000);
  EXPECT_FALSE(std::filesystem::exists(options.output_path + ".partial"));
}

TEST(RtpCaptureTest, GapsAreSizedFromTimestampsAndOpusUsesFecThenPlc) {
  // 60 ms Opus packets with FEC; packets 5, 6 and 12 lost.
  const auto tone = parley::testing::Tone(440, 48000, 1.2, 0.3);
  const auto opus = Encode(codec::CodecId::kOpus, tone, 60, true);
  ASSERT_EQ(opus.size(), 20u);
  std::vector<SentPacket> sent;
  for (int i = 0; i < 20; ++i) {
    if (i != 5 && i != 6 && i != 12) sent.push_back({i, i * 60'000});
  }
  const std::string path = TempPath("opus_gaps.pcap");
  WriteFile(path, RtpCapture(opus, sent, 111, 2880));
  ExtractOptions options = Options(path, TempPath("opus_gaps.wav"));
  auto summary = ExtractRtpStream(options);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->stream.lost, 3);
  EXPECT_EQ(summary->samples_written, 20 * 2880);  // 1.2 s: the gaps keep their length
  EXPECT_EQ(summary->concealed_samples, 3 * 2880);
  EXPECT_EQ(summary->fec_recovered_packets, 2);  // one per gap: the packet before the next
  auto wav = audio::ReadAudioFile(options.output_path);
  ASSERT_TRUE(wav.ok());
  EXPECT_LE(LongestZeroRun(std::span(wav->samples()).subspan(4800)), 2);

  // The same stream copied into Ogg Opus: gap packets keep the timeline.
  options.output_path = TempPath("opus_gaps.opus");
  auto ogg = ExtractRtpStream(options);
  ASSERT_TRUE(ogg.ok()) << ogg.error().message;
  EXPECT_TRUE(ogg->ogg_passthrough);
  EXPECT_EQ(ogg->packets_written, 17);
  EXPECT_EQ(ogg->concealed_samples, 3 * 2880);
  auto info = InspectOggOpus(options.output_path);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_NEAR(info->duration_seconds, 1.2 - 312.0 / 48000, 1e-6);
  EXPECT_EQ(info->stats.defect_count, 0);
}

TEST(RtpCaptureTest, CodecWithoutPlcRepeatsWithDecayInsteadOfZeros) {
  const auto tone = parley::testing::Tone(440, 16000, 1.0, 0.3);
  const auto g722 = Encode(codec::CodecId::kG722, tone, 20);
  std::vector<SentPacket> sent;
  for (int i = 0; i < 50; ++i) {
    if (i < 20 || i > 24) sent.push_back({i, i * 20'000});  // 100 ms lost
  }
  const std::string path = TempPath("g722.pcap");
  WriteFile(path, RtpCapture(g722, sent, 9, 160));  // G.722: 8 kHz RTP clock
  ExtractOptions options = Options(path, TempPath("g722.wav"));
  auto summary = ExtractRtpStream(options);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->sample_rate_hz, 16000);
  EXPECT_EQ(summary->samples_written, 16000);
  EXPECT_EQ(summary->repeated_samples, 5 * 320);
  auto wav = audio::ReadAudioFile(options.output_path);
  ASSERT_TRUE(wav.ok());
  EXPECT_LE(LongestZeroRun(std::span(wav->samples()).subspan(320)), 2);
  // The repetition fades: its last packet is quieter than its first.
  const auto gap = std::span(wav->samples()).subspan(20 * 320, 5 * 320);
  EXPECT_LT(parley::testing::RmsDbfs(gap.subspan(4 * 320, 320)),
            parley::testing::RmsDbfs(gap.subspan(0, 320)) - 6);
}

TEST(RtpCaptureTest, OggOutputOfANonOpusStreamFailsWithoutLeavingAFile) {
  const auto tone = parley::testing::Tone(440, 8000, 0.5, 0.3);
  const std::string path = TempPath("pcmu_ogg.pcap");
  WriteFile(path, RtpCapture(Encode(codec::CodecId::kPcmu, tone, 20), InOrder(25, 20'000), 0, 160));
  ExtractOptions options = Options(path, TempPath("pcmu.opus"));
  auto result = ExtractRtpStream(options);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("is PCMU, not Opus"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(options.output_path));
  EXPECT_FALSE(std::filesystem::exists(options.output_path + ".partial"));
}

}  // namespace
}  // namespace parley::container
