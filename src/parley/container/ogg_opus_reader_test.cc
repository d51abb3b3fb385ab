#include "parley/container/ogg_opus_reader.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "parley/container/ogg_opus_test_util.h"

namespace parley::container {
namespace {

namespace fs = std::filesystem;
using ogg_test::EncodeSpeech;
using ogg_test::Pages;
using ogg_test::ReadBytes;
using ogg_test::WriteBytes;

std::vector<uint8_t> Head(int version, int channels, int family, size_t size = 19) {
  std::vector<uint8_t> head = {'O',
                               'p',
                               'u',
                               's',
                               'H',
                               'e',
                               'a',
                               'd',
                               static_cast<uint8_t>(version),
                               static_cast<uint8_t>(channels),
                               0x38,
                               0x01,
                               0x80,
                               0xbb,
                               0,
                               0,
                               0,
                               0,
                               static_cast<uint8_t>(family)};
  head.resize(size, 0);
  return head;
}

TEST(OggOpusHeadTest, ValidHeadIsParsed) {
  auto head = ParseOpusHead(Head(1, 2, 0));
  ASSERT_TRUE(head.ok()) << head.error().message;
  EXPECT_EQ(head->channels, 2);
  EXPECT_EQ(head->pre_skip_samples_48k, 312);
  EXPECT_EQ(head->input_sample_rate_hz, 48000u);
  EXPECT_TRUE(ParseOpusHead(Head(15, 1, 0)).ok()) << "minor versions are compatible";
}

TEST(OggOpusHeadTest, InvalidHeadsAreRejectedWithTheReason) {
  struct Case {
    std::vector<uint8_t> bytes;
    std::string expect;
  };
  std::vector<uint8_t> bad_magic = Head(1, 1, 0);
  bad_magic[0] = 'X';
  const std::vector<Case> cases = {
      {bad_magic, "not 'OpusHead'"},
      {Head(1, 1, 0, 12), "12 bytes < 19"},
      {Head(16, 1, 0), "version 16"},
      {Head(1, 0, 0), "0 channels"},
      {Head(1, 3, 0), "3 channels with mapping family 0"},
      {Head(1, 6, 1, 27), "channel mapping family 1"},
      {Head(1, 4, 255, 25), "channel mapping family 255"},
  };
  for (const Case& c : cases) {
    auto head = ParseOpusHead(c.bytes);
    ASSERT_FALSE(head.ok()) << c.expect;
    EXPECT_NE(head.error().message.find(c.expect), std::string::npos) << head.error().message;
  }
}

TEST(OggOpusTagsTest, LengthsThatOverrunThePacketAreRejected) {
  std::vector<uint8_t> tags = {'O', 'p', 'u', 's', 'T', 'a', 'g', 's', 2, 0,   0,   0,  'h',
                               'i', 1,   0,   0,   0,   3,   0,   0,   0, 'A', '=', 'b'};
  auto ok = ParseOpusTags(tags);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->vendor, "hi");
  EXPECT_EQ(ok->comments, std::vector<std::string>{"A=b"});
  std::vector<uint8_t> long_vendor = tags;
  long_vendor[8] = 0xff;
  EXPECT_NE(ParseOpusTags(long_vendor).error().message.find("overruns"), std::string::npos);
  std::vector<uint8_t> many = tags;
  many[17] = 0x7f;  // 2^31 comments
  EXPECT_NE(ParseOpusTags(many).error().message.find("cannot fit"), std::string::npos);
  std::vector<uint8_t> cut(tags.begin(), tags.begin() + 20);
  EXPECT_FALSE(ParseOpusTags(cut).ok());
}

class OggOpusReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) / "parley_ogg_reader_test" / info->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    speech_ = EncodeSpeech();
    path_ = PathFor("speech.opus");
    ogg_test::WriteFile(path_, speech_, 200);
    bytes_ = ReadBytes(path_);
    pages_ = Pages(bytes_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string PathFor(const std::string& name) const { return (dir_ / name).string(); }

  struct ReadAll {
    int64_t packets = 0;
    OggOpusStats stats;
    std::string error;  // empty when every packet was read
  };
  static ReadAll Read(const std::string& path) {
    ReadAll result;
    auto reader = OggOpusReader::Open(path);
    if (!reader) {
      result.error = reader.error().message;
      return result;
    }
    while (true) {
      auto packet = (*reader)->ReadPacket();
      if (!packet) {
        result.error = packet.error().message;
        break;
      }
      if (!*packet) break;
      ++result.packets;
    }
    result.stats = (*reader)->stats();
    return result;
  }

  // Decoded length in samples (48 kHz).
  static int64_t DecodedSamples(const std::string& path) {
    auto reader = OggOpusPcmReader::Open(path);
    EXPECT_TRUE(reader.ok());
    if (!reader) return -1;
    int64_t samples = 0;
    while (true) {
      auto chunk = (*reader)->Read();
      EXPECT_TRUE(chunk.ok());
      if (!chunk || chunk->empty()) break;
      samples += static_cast<int64_t>(chunk->size());
    }
    return samples;
  }

  fs::path dir_;
  ogg_test::EncodedSpeech speech_;
  std::string path_;
  std::vector<uint8_t> bytes_;
  std::vector<ogg_test::PageSpan> pages_;
};

// Cut anywhere, the file gives every packet of its complete pages, then "truncated at
// offset N" where N is the start of the incomplete page.
TEST_F(OggOpusReaderTest, TruncatedFileIsReadUpToItsLastCompletePage) {
  ASSERT_GE(pages_.size(), 5u);
  for (size_t page = 2; page < pages_.size(); ++page) {
    for (size_t into : {size_t{1}, size_t{27}, pages_[page].size / 2, pages_[page].size - 1}) {
      const size_t cut = pages_[page].offset + into;
      const std::string path = PathFor("cut.opus");
      WriteBytes(path,
                 std::vector<uint8_t>(bytes_.begin(), bytes_.begin() + static_cast<long>(cut)));
      const ReadAll got = Read(path);
      ASSERT_TRUE(got.error.empty()) << got.error;
      int64_t expected = 0;
      for (size_t i = 2; i < page; ++i) expected += pages_[i].packets_completed;
      EXPECT_EQ(got.packets, expected) << "cut at " << cut;
      ASSERT_EQ(got.stats.defect_count, 2) << "cut at " << cut;
      EXPECT_EQ(got.stats.defects[0].kind, OggDefectKind::kTruncated);
      EXPECT_EQ(got.stats.defects[0].offset, pages_[page].offset);
      EXPECT_NE(got.stats.defects[0].message.find("truncated at offset " +
                                                  std::to_string(pages_[page].offset)),
                std::string::npos)
          << got.stats.defects[0].message;
      EXPECT_EQ(got.stats.defects[1].kind, OggDefectKind::kNoEndOfStream);
    }
  }
}

TEST_F(OggOpusReaderTest, FileCutInsideTheHeadersIsAnError) {
  for (size_t cut : {size_t{0}, size_t{10}, pages_[1].offset + 5}) {
    WriteBytes(PathFor("cut.opus"),
               std::vector<uint8_t>(bytes_.begin(), bytes_.begin() + static_cast<long>(cut)));
    const ReadAll got = Read(PathFor("cut.opus"));
    EXPECT_NE(got.error.find("cut.opus"), std::string::npos) << got.error;
  }
}

TEST_F(OggOpusReaderTest, FlippedByteIsABadCrcDefectAndTheGapIsConcealed) {
  const ogg_test::PageSpan& damaged = pages_[3];
  std::vector<uint8_t> bytes = bytes_;
  bytes[damaged.offset + damaged.size / 2] ^= 0x10;
  WriteBytes(PathFor("flip.opus"), bytes);
  const ReadAll got = Read(PathFor("flip.opus"));
  ASSERT_TRUE(got.error.empty()) << got.error;
  EXPECT_EQ(got.packets, static_cast<int64_t>(speech_.packets.size()) - damaged.packets_completed);
  ASSERT_GE(got.stats.defect_count, 1);
  EXPECT_EQ(got.stats.defects[0].kind, OggDefectKind::kBadCrc);
  EXPECT_EQ(got.stats.defects[0].offset, damaged.offset);
  EXPECT_NE(got.stats.defects[0].message.find("offset " + std::to_string(damaged.offset)),
            std::string::npos);
  // The packets of the lost page are concealed: the decoded length does not change.
  EXPECT_EQ(DecodedSamples(PathFor("flip.opus")), DecodedSamples(path_));
}

TEST_F(OggOpusReaderTest, GarbageBetweenPagesIsLostSync) {
  std::vector<uint8_t> bytes = bytes_;
  const size_t at = pages_[3].offset;
  bytes.insert(bytes.begin() + static_cast<long>(at), 100, 0x55);
  WriteBytes(PathFor("garbage.opus"), bytes);
  const ReadAll got = Read(PathFor("garbage.opus"));
  ASSERT_TRUE(got.error.empty()) << got.error;
  EXPECT_EQ(got.packets, static_cast<int64_t>(speech_.packets.size()));
  ASSERT_EQ(got.stats.defect_count, 1);
  EXPECT_EQ(got.stats.defects[0].kind, OggDefectKind::kLostSync);
  EXPECT_EQ(got.stats.defects[0].offset, at);
}

TEST_F(OggOpusReaderTest, PcmReaderTrimsPreSkipAndEnd) {
  const int64_t total = static_cast<int64_t>(speech_.packets.size()) * 960;
  EXPECT_EQ(DecodedSamples(path_), total - 200 - speech_.lookahead_samples_48k);
}

TEST_F(OggOpusReaderTest, ChainedFileIsRejected) {
  std::vector<uint8_t> chained = bytes_;
  chained.insert(chained.end(), bytes_.begin(), bytes_.end());
  WriteBytes(PathFor("chained.opus"), chained);
  const ReadAll got = Read(PathFor("chained.opus"));
  EXPECT_EQ(got.packets, static_cast<int64_t>(speech_.packets.size()));
  EXPECT_NE(got.error.find("chained stream at offset " + std::to_string(bytes_.size())),
            std::string::npos)
      << got.error;
  EXPECT_NE(got.error.find("chained.opus"), std::string::npos);
}

TEST_F(OggOpusReaderTest, MultiplexedFileIsRejected) {
  ogg_test::WriteFile(PathFor("other.opus"), speech_, 0, 0x1234);
  const std::vector<uint8_t> other = ReadBytes(PathFor("other.opus"));
  const auto other_pages = Pages(other);
  // Both BOS pages first, as a multiplexer writes them, then the rest interleaved.
  std::vector<uint8_t> muxed;
  auto append = [&](const std::vector<uint8_t>& from, const ogg_test::PageSpan& page) {
    muxed.insert(muxed.end(), from.begin() + static_cast<long>(page.offset),
                 from.begin() + static_cast<long>(page.offset + page.size));
  };
  for (size_t i = 0; i < std::max(pages_.size(), other_pages.size()); ++i) {
    if (i < pages_.size()) append(bytes_, pages_[i]);
    if (i < other_pages.size()) append(other, other_pages[i]);
  }
  WriteBytes(PathFor("muxed.opus"), muxed);
  const ReadAll got = Read(PathFor("muxed.opus"));
  EXPECT_NE(got.error.find("multiplexed streams at offset " + std::to_string(pages_[0].size)),
            std::string::npos)
      << got.error;
}

TEST_F(OggOpusReaderTest, SurroundMappingIsRejectedWithAClearMessage) {
  // Rewrite the OpusHead page with family 1, 6 channels, and a fresh CRC.
  std::vector<uint8_t> head = Head(1, 6, 1, 27);
  ogg_stream_state stream;
  ogg_stream_init(&stream, 99);
  ogg_packet packet{};
  packet.packet = head.data();
  packet.bytes = static_cast<long>(head.size());
  packet.b_o_s = 1;
  ogg_stream_packetin(&stream, &packet);
  ogg_page page;
  ASSERT_NE(ogg_stream_flush(&stream, &page), 0);
  std::vector<uint8_t> bytes(page.header, page.header + page.header_len);
  bytes.insert(bytes.end(), page.body, page.body + page.body_len);
  ogg_stream_clear(&stream);
  WriteBytes(PathFor("surround.opus"), bytes);
  const ReadAll got = Read(PathFor("surround.opus"));
  EXPECT_NE(got.error.find("channel mapping family 1 (6 channels) is not supported"),
            std::string::npos)
      << got.error;
}

TEST_F(OggOpusReaderTest, NonOggInputIsAnErrorNamingTheFile) {
  WriteBytes(PathFor("text.opus"), std::vector<uint8_t>(5000, 'x'));
  EXPECT_NE(Read(PathFor("text.opus")).error.find("text.opus' is not an Ogg file"),
            std::string::npos);
  EXPECT_NE(Read(PathFor("missing.opus")).error.find("cannot open"), std::string::npos);
}

TEST_F(OggOpusReaderTest, ReadsFromMemoryThroughFmemopen) {
  FILE* file = fmemopen(bytes_.data(), bytes_.size(), "rb");
  ASSERT_NE(file, nullptr);
  auto reader = OggOpusReader::Open(file, "memory");
  ASSERT_TRUE(reader.ok()) << reader.error().message;
  int64_t packets = 0;
  while (true) {
    auto packet = (*reader)->ReadPacket();
    ASSERT_TRUE(packet.ok());
    if (!*packet) break;
    ++packets;
  }
  EXPECT_EQ(packets, static_cast<int64_t>(speech_.packets.size()));
}

}  // namespace
}  // namespace parley::container
