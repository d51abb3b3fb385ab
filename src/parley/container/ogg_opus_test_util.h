// Helpers shared by the Ogg Opus tests: files of pre-encoded speech, page boundaries,
// and byte surgery on pages. Test code only (included by *_test.cc files).
#pragma once

#include <gtest/gtest.h>
#include <ogg/ogg.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "parley/codec/opus_codec.h"
#include "parley/container/ogg_opus_writer.h"
#include "parley/testing/speech.h"

namespace parley::container::ogg_test {

struct EncodedSpeech {
  std::vector<std::vector<uint8_t>> packets;  // 20 ms each
  int lookahead_samples_48k = 0;
  std::vector<int16_t> pcm;  // the 48 kHz input, a whole number of packets
};

// Speech sample 0 at 48 kHz encoded into 20 ms Opus packets.
inline EncodedSpeech EncodeSpeech(int channels = 1) {
  EncodedSpeech out;
  std::vector<int16_t> mono = testing::Speech(48000, 0);
  mono.resize(mono.size() / 960 * 960);
  for (int16_t s : mono) {
    for (int c = 0; c < channels; ++c) out.pcm.push_back(s);
  }
  auto encoder = codec::OpusAudioEncoder::Create(48000, channels, {});
  EXPECT_TRUE(encoder.ok());
  out.lookahead_samples_48k = (*encoder)->lookahead_samples();
  std::vector<uint8_t> payload(codec::OpusAudioEncoder::kMaxPayloadBytes);
  const size_t frame = static_cast<size_t>(960 * channels);
  for (size_t i = 0; i + frame <= out.pcm.size(); i += frame) {
    auto size = (*encoder)->Encode(std::span(out.pcm).subspan(i, frame), payload);
    EXPECT_TRUE(size.ok());
    out.packets.emplace_back(payload.begin(), payload.begin() + static_cast<long>(*size));
  }
  return out;
}

// Writes `packets` (20 ms each) as an Ogg Opus file; the last `padding` samples trimmed.
inline void WriteFile(const std::string& path, const EncodedSpeech& speech, int padding = 0,
                      uint32_t serial = 0x7061726c, int channels = 1) {
  OggOpusWriterConfig config;
  config.channels = channels;
  config.pre_skip_samples_48k = speech.lookahead_samples_48k;
  config.serial = serial;
  config.comments = {"TITLE=speech"};
  auto writer = OggOpusWriter::Open(path, config);
  ASSERT_TRUE(writer.ok()) << writer.error().message;
  for (const auto& packet : speech.packets) ASSERT_TRUE((*writer)->WritePacket(packet, 960).ok());
  ASSERT_TRUE((*writer)->Close(padding).ok());
}

inline std::vector<uint8_t> ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void WriteBytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

struct PageSpan {
  size_t offset;
  size_t size;
  int64_t granule;
  int packets_completed;  // packets that end on this page
};

// Every page of an Ogg file, as libogg finds them.
inline std::vector<PageSpan> Pages(const std::vector<uint8_t>& bytes) {
  std::vector<PageSpan> pages;
  ogg_sync_state sync;
  ogg_sync_init(&sync);
  char* buffer = ogg_sync_buffer(&sync, static_cast<long>(bytes.size()));
  std::copy(bytes.begin(), bytes.end(), buffer);
  ogg_sync_wrote(&sync, static_cast<long>(bytes.size()));
  size_t offset = 0;
  ogg_page page;
  long n;
  while ((n = ogg_sync_pageseek(&sync, &page)) != 0) {
    if (n > 0) {
      pages.push_back(
          {offset, static_cast<size_t>(n), ogg_page_granulepos(&page), ogg_page_packets(&page)});
    }
    offset += static_cast<size_t>(n > 0 ? n : -n);
  }
  ogg_sync_clear(&sync);
  return pages;
}

}  // namespace parley::container::ogg_test
