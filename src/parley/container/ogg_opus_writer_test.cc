#include "parley/container/ogg_opus_writer.h"

#include <gtest/gtest.h>
#include <opus/opus.h>

#include <filesystem>
#include <string>
#include <vector>

#include "parley/audio/similarity.h"
#include "parley/container/ogg_opus_reader.h"
#include "parley/container/ogg_opus_test_util.h"

namespace parley::container {
namespace {

namespace fs = std::filesystem;
using ogg_test::EncodeSpeech;
using ogg_test::Pages;
using ogg_test::ReadBytes;

class OggOpusWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) / "parley_ogg_writer_test" / info->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string PathFor(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

TEST_F(OggOpusWriterTest, PacketsComeBackWithGranulesAndEndTrimming) {
  const auto speech = EncodeSpeech();
  const int padding = 500;
  ogg_test::WriteFile(PathFor("a.opus"), speech, padding);
  auto reader = OggOpusReader::Open(PathFor("a.opus"));
  ASSERT_TRUE(reader.ok()) << reader.error().message;
  EXPECT_EQ((*reader)->head().channels, 1);
  EXPECT_EQ((*reader)->head().pre_skip_samples_48k, speech.lookahead_samples_48k);
  EXPECT_EQ((*reader)->head().input_sample_rate_hz, 48000u);
  EXPECT_EQ((*reader)->head().mapping_family, 0);
  EXPECT_NE((*reader)->tags().vendor.find("parley"), std::string::npos);
  EXPECT_EQ((*reader)->tags().comments, std::vector<std::string>{"TITLE=speech"});
  size_t index = 0;
  int64_t total_valid = 0;
  while (true) {
    auto packet = (*reader)->ReadPacket();
    ASSERT_TRUE(packet.ok()) << packet.error().message;
    if (!*packet) break;
    ASSERT_LT(index, speech.packets.size());
    EXPECT_TRUE(std::equal((*packet)->data.begin(), (*packet)->data.end(),
                           speech.packets[index].begin(), speech.packets[index].end()));
    EXPECT_EQ((*packet)->samples_48k, 960);
    EXPECT_EQ((*packet)->end_granule_48k, static_cast<int64_t>(index + 1) * 960);
    total_valid += (*packet)->valid_samples_48k;
    ++index;
  }
  EXPECT_EQ(index, speech.packets.size());
  const int64_t samples = static_cast<int64_t>(speech.packets.size()) * 960;
  EXPECT_EQ(total_valid, samples - padding);
  const OggOpusStats& stats = (*reader)->stats();
  EXPECT_TRUE(stats.end_of_stream);
  EXPECT_EQ(stats.defect_count, 0);
  EXPECT_EQ(stats.last_granule_48k, samples - padding);
  EXPECT_EQ((*reader)->duration_samples_48k(), samples - padding - speech.lookahead_samples_48k);
}

TEST_F(OggOpusWriterTest, HeadersHaveTheirOwnPagesAndAudioPagesHoldAtMostOneSecond) {
  const auto speech = EncodeSpeech();
  ASSERT_GT(speech.packets.size(), 100u) << "more than 2 s of speech";
  ogg_test::WriteFile(PathFor("a.opus"), speech);
  const auto pages = Pages(ReadBytes(PathFor("a.opus")));
  ASSERT_GE(pages.size(), 5u);
  EXPECT_EQ(pages[0].packets_completed, 1) << "OpusHead alone";
  EXPECT_EQ(pages[0].granule, 0);
  EXPECT_EQ(pages[1].packets_completed, 1) << "OpusTags alone";
  EXPECT_EQ(pages[1].granule, 0);
  int64_t previous = 0;
  for (size_t i = 2; i < pages.size(); ++i) {
    EXPECT_LE(pages[i].granule - previous, 48000) << "page " << i;
    previous = pages[i].granule;
  }
  EXPECT_EQ(previous, static_cast<int64_t>(speech.packets.size()) * 960);
}

// A recording whose writer never closed (process killed) is readable up to its last
// complete page: every page reached the file when it was made.
TEST_F(OggOpusWriterTest, UnclosedRecordingIsReadableUpToItsLastPage) {
  const auto speech = EncodeSpeech();
  OggOpusWriterConfig config;
  config.pre_skip_samples_48k = speech.lookahead_samples_48k;
  auto writer = OggOpusWriter::Open(PathFor("live.opus"), config);
  ASSERT_TRUE(writer.ok());
  const size_t written = 130;  // 2.6 s: two full pages of 1 s on the file
  ASSERT_LE(written, speech.packets.size());
  for (size_t i = 0; i < written; ++i) {
    ASSERT_TRUE((*writer)->WritePacket(speech.packets[i], 960).ok());
  }
  fs::copy_file(PathFor("live.opus"), PathFor("snapshot.opus"));
  auto reader = OggOpusReader::Open(PathFor("snapshot.opus"));
  ASSERT_TRUE(reader.ok()) << reader.error().message;
  int64_t packets = 0;
  while (true) {
    auto packet = (*reader)->ReadPacket();
    ASSERT_TRUE(packet.ok());
    if (!*packet) break;
    ++packets;
  }
  EXPECT_GE(packets, 100) << "two pages of 1 s";
  EXPECT_LT(packets, static_cast<int64_t>(written));
  ASSERT_EQ((*reader)->stats().defect_count, 1);
  EXPECT_EQ((*reader)->stats().defects[0].kind, OggDefectKind::kNoEndOfStream);
  ASSERT_TRUE((*writer)->Close().ok());
}

// Flush puts a short page on the file at once: a recorder's reader sees the first words
// long before a second of audio fills a page. Only the held-back last packet is missing.
TEST_F(OggOpusWriterTest, FlushMakesEverythingButTheLastPacketReadable) {
  const auto speech = EncodeSpeech();
  auto writer = OggOpusWriter::Open(PathFor("flushed.opus"), {});
  ASSERT_TRUE(writer.ok());
  for (size_t i = 0; i < 10; ++i) {  // 200 ms: far from a full page
    ASSERT_TRUE((*writer)->WritePacket(speech.packets[i], 960).ok());
  }
  const int64_t pages_before = (*writer)->pages_written();
  ASSERT_TRUE((*writer)->Flush().ok());
  EXPECT_EQ((*writer)->pages_written(), pages_before + 1);
  ASSERT_TRUE((*writer)->Flush().ok());  // nothing new: no empty page
  EXPECT_EQ((*writer)->pages_written(), pages_before + 1);
  fs::copy_file(PathFor("flushed.opus"), PathFor("snapshot.opus"));
  auto reader = OggOpusReader::Open(PathFor("snapshot.opus"));
  ASSERT_TRUE(reader.ok()) << reader.error().message;
  int64_t packets = 0;
  while (true) {
    auto packet = (*reader)->ReadPacket();
    ASSERT_TRUE(packet.ok());
    if (!*packet) break;
    ++packets;
  }
  EXPECT_EQ(packets, 9);
  ASSERT_TRUE((*writer)->Close().ok());
  EXPECT_FALSE((*writer)->Flush().ok());
}

TEST_F(OggOpusWriterTest, PcmWriterRoundTripKeepsLengthAndAlignment) {
  const std::vector<int16_t> speech = testing::Speech(48000, 0);
  const size_t odd_length = speech.size() - 333;  // not a whole number of frames
  auto writer = OggOpusPcmWriter::Open(PathFor("pcm.opus"), 1, 16000, codec::EncoderConfig{});
  ASSERT_TRUE(writer.ok()) << writer.error().message;
  // Uneven chunks, as a resampler delivers them.
  for (size_t i = 0; i < odd_length; i += 777) {
    const size_t n = std::min<size_t>(777, odd_length - i);
    ASSERT_TRUE((*writer)->Write(std::span(speech).subspan(i, n)).ok());
  }
  ASSERT_TRUE((*writer)->Close().ok());
  EXPECT_FALSE((*writer)->Close().ok()) << "closing twice";

  auto reader = OggOpusPcmReader::Open(PathFor("pcm.opus"));
  ASSERT_TRUE(reader.ok()) << reader.error().message;
  EXPECT_EQ((*reader)->reader().head().input_sample_rate_hz, 16000u);
  std::vector<int16_t> decoded;
  while (true) {
    auto chunk = (*reader)->Read();
    ASSERT_TRUE(chunk.ok()) << chunk.error().message;
    if (chunk->empty()) break;
    decoded.insert(decoded.end(), chunk->begin(), chunk->end());
  }
  EXPECT_EQ(decoded.size(), odd_length) << "pre-skip and end trimming give the exact length";
  const auto similarity =
      audio::CompareAligned(std::span(speech).first(odd_length), decoded, 48000, 960);
  EXPECT_LE(similarity.lag_samples, 2) << "pre-skip removes the encoder delay";
  EXPECT_GT(similarity.correlation, 0.85);  // Opus 24 kbit/s keeps ~0.89 of the waveform
}

TEST_F(OggOpusWriterTest, DtxFramesBecomeGapPacketsThatKeepTheTimeline) {
  std::vector<int16_t> signal = testing::Speech(48000, 0);
  signal.resize(48000);
  signal.insert(signal.end(), 96000, 0);  // 2 s of digital silence: DTX
  codec::EncoderConfig config;
  config.dtx = true;
  auto writer = OggOpusPcmWriter::Open(PathFor("dtx.opus"), 1, 48000, config);
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Write(signal).ok());
  ASSERT_TRUE((*writer)->Close().ok());
  auto info = InspectOggOpus(PathFor("dtx.opus"));
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_DOUBLE_EQ(info->duration_seconds, 3.0);
  EXPECT_EQ(info->stats.defect_count, 0);
}

TEST_F(OggOpusWriterTest, GapPacketsAreValidOpusOfTheRequestedDuration) {
  uint8_t packet[2];
  for (int samples : {480, 960, 1920, 2880, 5760, 4320}) {
    for (int channels : {1, 2}) {
      auto size = MakeOpusGapPacket(samples, channels, packet);
      ASSERT_TRUE(size.ok()) << samples;
      EXPECT_EQ(opus_packet_get_nb_samples(packet, static_cast<opus_int32>(*size), 48000), samples);
      EXPECT_EQ(opus_packet_get_nb_channels(packet), channels);
      auto decoder = codec::OpusAudioDecoder::Create(48000, channels);
      ASSERT_TRUE(decoder.ok());
      std::vector<int16_t> out(static_cast<size_t>(samples * channels));
      auto decoded = (*decoder)->Decode(std::span(packet, *size), out);
      ASSERT_TRUE(decoded.ok()) << decoded.error().message;
      EXPECT_EQ(*decoded, samples);
    }
  }
  EXPECT_FALSE(MakeOpusGapPacket(100, 1, packet).ok());
  EXPECT_FALSE(MakeOpusGapPacket(6240, 1, packet).ok());
  EXPECT_FALSE(MakeOpusGapPacket(960, 1, std::span(packet, 1)).ok());
}

TEST_F(OggOpusWriterTest, MisuseIsAnError) {
  OggOpusWriterConfig config;
  config.channels = 3;
  EXPECT_FALSE(OggOpusWriter::Open(PathFor("x.opus"), config).ok());
  config.channels = 1;
  config.pre_skip_samples_48k = 70000;
  EXPECT_FALSE(OggOpusWriter::Open(PathFor("x.opus"), config).ok());
  EXPECT_FALSE(OggOpusWriter::Open(PathFor("no/such/dir/x.opus"), {}).ok());
  auto writer = OggOpusWriter::Open(PathFor("x.opus"), {});
  ASSERT_TRUE(writer.ok());
  const uint8_t packet[3] = {0xf8, 0xff, 0xfe};
  EXPECT_FALSE((*writer)->WritePacket({}, 960).ok());
  EXPECT_FALSE((*writer)->WritePacket(packet, 0).ok());
  ASSERT_TRUE((*writer)->WritePacket(packet, 960).ok());
  EXPECT_FALSE((*writer)->Close(961).ok()) << "padding longer than the last packet";
  EXPECT_FALSE((*writer)->WritePacket(packet, 960).ok()) << "after close";
}

}  // namespace
}  // namespace parley::container
