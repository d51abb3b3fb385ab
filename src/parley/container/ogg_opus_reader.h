// Ogg Opus reader (RFC 7845) on libogg.
//
// Pages are found and their CRCs checked by libogg (ogg_sync_pageseek); what cannot be read
// is not fatal but a defect with its byte offset, and reading goes on at the next good
// page:
//
//   bad CRC        a page whose checksum fails (a flipped byte); its packets are lost
//   lost sync      bytes that are not an Ogg page (garbage between pages)
//   missing data   a page sequence gap (pages lost before this one)
//   truncated      the file ends inside a page (a recording cut off): everything up to the
//                  last complete page has been delivered
//   no end         the last page is not marked end-of-stream
//   granule        a granule position that contradicts the packets' durations
//   bad packet     a packet whose TOC is not valid Opus
//
// Rejected, with an Error naming the file and offset: no OpusHead on the first page, an
// OpusHead of an unknown major version, zero channels, channel mapping families other
// than 0 (1 and 255 describe surround and ambisonic layouts parley does not decode),
// a bad OpusTags, chained streams (a second stream begins after the first one's data)
// and multiplexed streams (pages of two serial numbers interleaved).
//
// Timing (RFC 7845 4): a page's granule position is the 48 kHz sample position at which
// its last completed packet ends, pre-skip included. Each packet gets its end position
// and its duration from its TOC; on the end-of-stream page a granule position smaller
// than the packets' total trims the end (end trimming). The decoder (OggOpusPcmReader)
// discards the first pre-skip samples and the trimmed ones.
//
// Parsing never throws. Threading: one thread at a time.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "parley/base/result.h"
#include "parley/codec/codec.h"

namespace parley::codec {
class OpusAudioDecoder;
}

namespace parley::container {

// OpusHead (RFC 7845 5.1).
struct OpusHead {
  int version = 1;
  int channels = 1;
  int pre_skip_samples_48k = 0;
  uint32_t input_sample_rate_hz = 0;  // 0: unspecified
  int output_gain_q8_db = 0;          // Q7.8 dB, applied by the decoder
  int mapping_family = 0;
};

// OpusTags (RFC 7845 5.2).
struct OpusTags {
  std::string vendor;
  std::vector<std::string> comments;  // "KEY=value"
};

// Parses an OpusHead packet; the Error names the field ("OpusHead: version 16 ...").
[[nodiscard]] Result<OpusHead> ParseOpusHead(std::span<const uint8_t> packet);
// Parses an OpusTags packet; the Error names the field and its offset in the packet.
[[nodiscard]] Result<OpusTags> ParseOpusTags(std::span<const uint8_t> packet);

enum class OggDefectKind {
  kBadCrc,
  kLostSync,
  kMissingData,
  kTruncated,
  kNoEndOfStream,
  kGranule,
  kBadPacket,
};

struct OggDefect {
  OggDefectKind kind;
  uint64_t offset;      // byte offset in the file where it was found
  std::string message;  // one line, offset included
};

struct OggOpusPacket {
  std::span<const uint8_t> data;  // valid until the next ReadPacket()
  int64_t end_granule_48k = 0;    // position where the packet ends, pre-skip included
  int samples_48k = 0;            // duration from the TOC
  int valid_samples_48k = 0;      // samples_48k minus end trimming (last page only)
  uint64_t page_offset = 0;       // byte offset of the page the packet completes on

  int64_t begin_granule_48k() const { return end_granule_48k - samples_48k; }
};

struct OggOpusStats {
  int64_t pages = 0;               // good pages, headers included
  int64_t packets = 0;             // audio packets delivered
  uint64_t payload_bytes = 0;      // audio packet bytes delivered
  uint64_t bytes_read = 0;         // file bytes consumed so far
  int64_t first_granule_48k = -1;  // start position of the first audio packet
  int64_t last_granule_48k = -1;   // end position of the last audio packet (after trimming)
  bool end_of_stream = false;
  int64_t defect_count = 0;  // all defects, also those beyond kMaxDefectsKept
  std::vector<OggDefect> defects;
};

class OggOpusReader {
 public:
  // Keeps the first this many defects; defect_count keeps counting.
  static constexpr size_t kMaxDefectsKept = 1000;

  // Opens `path` and reads up to the end of OpusTags.
  [[nodiscard]] static Result<std::unique_ptr<OggOpusReader>> Open(const std::string& path);
  // Reads from `file` (which the reader closes), for in-memory input through fmemopen.
  // `name` labels messages.
  [[nodiscard]] static Result<std::unique_ptr<OggOpusReader>> Open(FILE* file, std::string name);
  ~OggOpusReader();
  OggOpusReader(const OggOpusReader&) = delete;
  OggOpusReader& operator=(const OggOpusReader&) = delete;

  const OpusHead& head() const { return head_; }
  const OpusTags& tags() const { return tags_; }
  const std::string& name() const { return name_; }

  // The next audio packet, or nullopt at the end of the file (defects found on the way are
  // in stats()). An Error for a chained or multiplexed stream or a read failure; packets
  // before it were delivered.
  [[nodiscard]] Result<std::optional<OggOpusPacket>> ReadPacket();

  const OggOpusStats& stats() const { return stats_; }
  // Audio duration from granule positions so far: last end - first start - pre-skip, in
  // 48 kHz samples (0 before any audio).
  int64_t duration_samples_48k() const;

 private:
  OggOpusReader(std::string name, FILE* file);
  Status ReadHeaders();
  // Next good page of our stream into page_; false at the end of the file.
  Result<bool> NextPage();
  // Pulls the packets completing on the current page into the queue, with their timing;
  // `already_in`: the page was already given to the stream.
  Status TakePackets(bool already_in);
  void AddDefect(OggDefectKind kind, uint64_t offset, std::string message);

  // Passed by argument.
  std::string name_;
  // Allocated by this.
  FILE* file_;
  struct OggState;
  std::unique_ptr<OggState> ogg_;
  struct Queued {
    size_t begin, size;
    int samples_48k;
    int64_t end_granule_48k;
    int valid_samples_48k;
  };
  std::vector<uint8_t> queue_bytes_;  // packets of the current page, back to back
  std::vector<Queued> queue_;
  size_t queue_next_ = 0;
  // Others.
  OpusHead head_;
  OpusTags tags_;
  OggOpusStats stats_;
  uint64_t page_offset_ = 0;    // offset of the page in page_
  uint64_t skip_start_ = 0;     // start of a run of skipped bytes
  uint64_t skipped_bytes_ = 0;  // length of that run (0: none open)
  bool skip_is_page_ = false;   // the run began at an "OggS" capture: a bad CRC
  int serial_ = 0;
  bool audio_started_ = false;  // a page beyond the headers was read
  bool need_resync_ = true;     // next page's timing comes from its own granule
  int64_t position_48k_ = 0;    // end of the last timed packet
  bool eof_ = false;            // fread found the end of the file
  bool eof_reported_ = false;   // ReadPacket() has returned the end
};

// Decodes an Ogg Opus file to interleaved PCM at 48 kHz with the file's channel count:
// pre-skip discarded, end trimmed, output gain applied, and gaps (pages lost to bad CRCs)
// concealed with Opus PLC up to kMaxConcealedGapSamples48k each.
class OggOpusPcmReader {
 public:
  static constexpr int64_t kMaxConcealedGapSamples48k = 10 * 48000;

  [[nodiscard]] static Result<std::unique_ptr<OggOpusPcmReader>> Open(const std::string& path);
  [[nodiscard]] static Result<std::unique_ptr<OggOpusPcmReader>> Open(
      std::unique_ptr<OggOpusReader> reader);
  ~OggOpusPcmReader();
  OggOpusPcmReader(const OggOpusPcmReader&) = delete;
  OggOpusPcmReader& operator=(const OggOpusPcmReader&) = delete;

  int channels() const { return reader_->head().channels; }
  const OggOpusReader& reader() const { return *reader_; }

  // The next chunk of PCM (at most 120 ms), empty at the end; valid until the next call.
  // An Error for a fatal reader error or an undecodable packet (named by offset).
  [[nodiscard]] Result<std::span<const int16_t>> Read();

 private:
  explicit OggOpusPcmReader(std::unique_ptr<OggOpusReader> reader,
                            std::unique_ptr<codec::OpusAudioDecoder> decoder);
  void ApplyGain(std::span<int16_t> pcm) const;

  // Allocated by this.
  std::unique_ptr<OggOpusReader> reader_;
  std::unique_ptr<codec::OpusAudioDecoder> decoder_;
  std::vector<int16_t> buffer_;
  // Others.
  int64_t position_48k_ = -1;  // where the next decoded sample sits; -1 before the first
  int64_t skip_samples_ = 0;   // pre-skip still to discard
  int64_t gap_left_48k_ = 0;   // concealment still owed before the pending packet
  std::optional<OggOpusPacket> pending_;
  double gain_ = 1.0;
};

// Everything `parley ogg info` shows, from reading the whole file.
struct OggOpusInfo {
  OpusHead head;
  OpusTags tags;
  OggOpusStats stats;
  double duration_seconds = 0;
  double bitrate_bps = 0;  // audio payload bits per second of audio
  uint64_t file_bytes = 0;
};

// Reads `path` to the end. An Error when it is not Ogg Opus or is rejected (chained,
// multiplexed); defects are in the result.
[[nodiscard]] Result<OggOpusInfo> InspectOggOpus(const std::string& path);

}  // namespace parley::container
