#include "parley/container/rtp_capture.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <unordered_set>

#include "parley/audio/audio_file.h"
#include "parley/codec/registry.h"
#include "parley/container/ogg_opus_writer.h"
#include "parley/rtp/opus_payload.h"
#include "parley/rtp/receive_statistics.h"
#include "parley/rtp/rtp_packet.h"
#include "parley/rtp/sequence_unwrapper.h"

namespace parley::container {
namespace {

// RFC 5761 4: with RTP and RTCP on one port, RTCP packet types 200..207 sit where the
// RTP marker bit and payload types 72..79 would be; no RTP stream uses those.
constexpr int kMinRtcpPacketType = 200;
constexpr int kMaxRtcpPacketType = 207;
constexpr int kFirstDynamicPayloadType = 96;
// Timestamp steps that must match the Opus TOC duration for an Opus guess.
constexpr double kMinOpusStepFraction = 0.9;
// libopus encoder lookahead at 48 kHz: the pre-skip written for a captured stream, whose
// sender's own pre-skip is not signalled in RTP.
constexpr int kCapturedOpusPreSkip48k = 312;
// MakeOpusGapPacket granularity and limit (10 ms, 120 ms at 48 kHz).
constexpr int kGapPacketQuantum48k = 480;
constexpr int kMaxGapPacket48k = 5760;
// WAV output: concealment is produced in pieces of at most this (20 ms at 48 kHz).
constexpr int kConcealChunkMs = 20;

struct PacketRecord {
  int64_t arrival_ns = 0;
  uint32_t timestamp = 0;
  uint16_t sequence_number = 0;
  uint8_t payload_type = 0;
  int opus_samples_48k = 0;  // 0: not a valid Opus payload (or not checked)
};

struct FlowKey {
  UdpEndpoint source;
  UdpEndpoint destination;
  uint32_t ssrc = 0;
  auto operator<=>(const FlowKey&) const = default;
};

struct Flow {
  int64_t first_seen = 0;  // order of the first packet, for a stable listing
  std::vector<PacketRecord> packets;
};

bool LooksLikeRtcp(std::span<const uint8_t> payload) {
  return payload.size() >= 2 && (payload[0] >> 6) == rtp::kRtpVersion &&
         payload[1] >= kMinRtcpPacketType && payload[1] <= kMaxRtcpPacketType;
}

int MostFrequentPayloadType(const std::vector<PacketRecord>& packets) {
  std::array<int64_t, 128> counts{};
  for (const PacketRecord& p : packets) ++counts[p.payload_type];
  return static_cast<int>(std::max_element(counts.begin(), counts.end()) - counts.begin());
}

bool PlausibleSequence(const std::vector<PacketRecord>& packets, const RtpDetectionConfig& config) {
  if (static_cast<int64_t>(packets.size()) < config.min_packets) return false;
  int64_t pairs = 0;
  int64_t plausible = 0;
  for (size_t i = 1; i < packets.size(); ++i) {
    const int step =
        static_cast<int16_t>(packets[i].sequence_number - packets[i - 1].sequence_number);
    if (step == 0) continue;  // a duplicate says nothing either way
    ++pairs;
    if ((step > 0 && step <= config.max_forward_step) ||
        (step < 0 && -step <= config.max_backward_step)) {
      ++plausible;
    }
  }
  return pairs > 0 && static_cast<double>(plausible) >=
                          config.min_plausible_fraction * static_cast<double>(pairs);
}

// Opus when the payloads have valid TOCs and the timestamps step by their durations.
bool LooksLikeOpus(const std::vector<PacketRecord>& packets, int payload_type,
                   const RtpDetectionConfig& config) {
  int64_t total = 0;
  int64_t valid = 0;
  int64_t steps = 0;
  int64_t matching_steps = 0;
  const PacketRecord* previous = nullptr;
  for (const PacketRecord& p : packets) {
    if (p.payload_type != payload_type) continue;
    ++total;
    if (p.opus_samples_48k > 0) ++valid;
    if (previous != nullptr &&
        static_cast<uint16_t>(p.sequence_number - previous->sequence_number) == 1) {
      ++steps;
      if (previous->opus_samples_48k > 0 &&
          p.timestamp - previous->timestamp == static_cast<uint32_t>(previous->opus_samples_48k)) {
        ++matching_steps;
      }
    }
    previous = &p;
  }
  return total > 0 && steps > 0 &&
         static_cast<double>(valid) >= config.min_opus_fraction * static_cast<double>(total) &&
         static_cast<double>(matching_steps) >= kMinOpusStepFraction * static_cast<double>(steps);
}

// The most common timestamp step between packets consecutive in sequence: the packet
// duration in RTP units (0 when there is no such pair).
int64_t TypicalTimestampStep(const std::vector<PacketRecord>& packets, int payload_type) {
  std::map<uint32_t, int64_t> counts;
  const PacketRecord* previous = nullptr;
  for (const PacketRecord& p : packets) {
    if (p.payload_type != payload_type) continue;
    if (previous != nullptr &&
        static_cast<uint16_t>(p.sequence_number - previous->sequence_number) == 1) {
      const uint32_t step = p.timestamp - previous->timestamp;
      if (step > 0 && step < 0x80000000u) ++counts[step];
    }
    previous = &p;
  }
  int64_t best = 0;
  int64_t best_count = 0;
  for (const auto& [step, count] : counts) {
    if (count > best_count) {
      best = step;
      best_count = count;
    }
  }
  return best;
}

RtpStreamInfo Describe(const FlowKey& key, const std::vector<PacketRecord>& packets,
                       const PayloadTypeMap& payload_types, const RtpDetectionConfig& config) {
  RtpStreamInfo info;
  info.ssrc = key.ssrc;
  info.source = key.source;
  info.destination = key.destination;
  info.payload_type = MostFrequentPayloadType(packets);
  info.packets = static_cast<int64_t>(packets.size());
  info.first_capture_time = std::chrono::nanoseconds(packets.front().arrival_ns);
  info.last_capture_time = std::chrono::nanoseconds(packets.back().arrival_ns);

  if (auto it = payload_types.find(info.payload_type); it != payload_types.end()) {
    info.codec = it->second;
    info.codec_origin = CodecOrigin::kUserMap;
  } else if (const codec::CodecInfo* known =
                 codec::FindCodecByStaticPayloadType(info.payload_type)) {
    info.codec = known;
    info.codec_origin = CodecOrigin::kStaticPayloadType;
  } else if (info.payload_type >= kFirstDynamicPayloadType &&
             LooksLikeOpus(packets, info.payload_type, config)) {
    info.codec = &codec::GetCodecInfo(codec::CodecId::kOpus);
    info.codec_origin = CodecOrigin::kGuessedOpus;
  }

  // Sequence numbers (all payload types share them): exact loss and duplicates.
  rtp::SequenceNumberUnwrapper unwrapper;
  std::vector<int64_t> extended;
  extended.reserve(packets.size());
  for (const PacketRecord& p : packets) extended.push_back(unwrapper.Unwrap(p.sequence_number));
  std::vector<int64_t> distinct = extended;
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  info.expected = distinct.back() - distinct.front() + 1;
  info.lost = info.expected - static_cast<int64_t>(distinct.size());
  info.duplicates = info.packets - static_cast<int64_t>(distinct.size());

  for (const PacketRecord& p : packets) {
    if (p.payload_type != info.payload_type) ++info.other_payload_type_packets;
  }

  if (info.codec == nullptr) {
    info.duration = std::chrono::duration_cast<std::chrono::microseconds>(info.last_capture_time -
                                                                          info.first_capture_time);
    return info;
  }
  // A.8 jitter over the main payload type's distinct packets in arrival order, arrival
  // times in RTP units from the first packet's capture time.
  const int clock_hz = info.codec->rtp_clock_rate_hz;
  rtp::SourceStatistics statistics(
      info.ssrc, rtp::ReceiveStatisticsConfig{.clock_rate_hz = clock_hz, .min_sequential = 1});
  std::unordered_set<int64_t> seen;
  std::vector<std::pair<int64_t, uint32_t>> in_sequence;  // (extended seq, timestamp)
  const int64_t origin_ns = packets.front().arrival_ns;
  for (size_t i = 0; i < packets.size(); ++i) {
    const PacketRecord& p = packets[i];
    if (p.payload_type != info.payload_type || !seen.insert(extended[i]).second) continue;
    const long double arrival_rtp =
        static_cast<long double>(p.arrival_ns - origin_ns) * clock_hz / 1e9L;
    statistics.OnPacket(p.sequence_number, p.timestamp,
                        static_cast<uint32_t>(static_cast<uint64_t>(std::llround(arrival_rtp))));
    in_sequence.emplace_back(extended[i], p.timestamp);
  }
  info.jitter = std::chrono::microseconds(
      std::llround(statistics.jitter_rtp() * 1e6 / static_cast<double>(clock_hz)));
  // Media duration: the timestamp steps between packets in sequence order, gaps included;
  // a step backwards or beyond kMaxFilledGap (a sender restart, which extraction does not
  // fill either) counts as one packet, so that a restart does not make a stream last hours.
  std::sort(in_sequence.begin(), in_sequence.end());
  const int64_t packet_step = TypicalTimestampStep(packets, info.payload_type);
  const int64_t max_gap = int64_t{clock_hz} * kMaxFilledGap.count();
  int64_t span = packet_step;
  for (size_t i = 1; i < in_sequence.size(); ++i) {
    const int64_t step = static_cast<int32_t>(in_sequence[i].second - in_sequence[i - 1].second);
    span += step >= 0 && step <= max_gap ? step : packet_step;
  }
  info.duration = std::chrono::microseconds(span * 1'000'000 / clock_hz);
  return info;
}

std::string Extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  if (!ext.empty()) ext.erase(0, 1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

std::string DescribeStream(const RtpStreamInfo& s) {
  return fmt::format("0x{:08X} {} -> {} PT {} {}", s.ssrc, s.source.ToString(),
                     s.destination.ToString(), s.payload_type, s.CodecName());
}

// One packet of the stream being extracted: a copy of its payload.
struct StreamPacket {
  int64_t sequence = 0;   // extended
  int64_t timestamp = 0;  // unwrapped, RTP units
  std::vector<uint8_t> payload;
};

Result<std::vector<StreamPacket>> CollectPackets(const std::string& path,
                                                 const RtpStreamInfo& stream) {
  auto reader = PcapReader::Open(path);
  if (!reader) return reader.error();
  rtp::SequenceNumberUnwrapper sequences;
  rtp::TimestampUnwrapper timestamps;
  std::vector<StreamPacket> packets;
  while (std::optional<UdpDatagram> datagram = (*reader)->Next()) {
    if (datagram->source != stream.source || datagram->destination != stream.destination ||
        LooksLikeRtcp(datagram->payload)) {
      continue;
    }
    auto rtp = rtp::ParseRtpPacket(datagram->payload);
    if (!rtp || rtp->ssrc() != stream.ssrc) continue;
    const int64_t sequence = sequences.Unwrap(rtp->sequence_number());
    if (rtp->payload_type() != stream.payload_type) continue;
    const auto payload = rtp->payload();
    packets.push_back(StreamPacket{sequence, timestamps.Unwrap(rtp->timestamp()),
                                   std::vector<uint8_t>(payload.begin(), payload.end())});
  }
  // Sequence order undoes reordering; the first copy of a duplicate is kept.
  std::stable_sort(
      packets.begin(), packets.end(),
      [](const StreamPacket& a, const StreamPacket& b) { return a.sequence < b.sequence; });
  packets.erase(std::unique(packets.begin(), packets.end(),
                            [](const StreamPacket& a, const StreamPacket& b) {
                              return a.sequence == b.sequence;
                            }),
                packets.end());
  // Empty payloads (keep-alives) carry no audio.
  std::erase_if(packets, [](const StreamPacket& p) { return p.payload.empty(); });
  return packets;
}

// Decodes packets to WAV, concealing gaps sized from the RTP timestamps.
class WavExtractor {
 public:
  WavExtractor(std::unique_ptr<codec::AudioDecoder> decoder, audio::WavWriter writer,
               int rtp_clock_hz, ExtractSummary& summary)
      : decoder_(std::move(decoder)),
        writer_(std::move(writer)),
        summary_(summary),
        rtp_clock_hz_(rtp_clock_hz),
        rate_hz_(decoder_->sample_rate_hz()),
        channels_(decoder_->channels()),
        quantum_(decoder_->info().id == codec::CodecId::kOpus ? rate_hz_ / 400 : 1),
        chunk_(rate_hz_ / 1000 * kConcealChunkMs) {}

  Status Run(const std::vector<StreamPacket>& packets) {
    if (packets.empty()) return Status::Ok();
    int64_t origin = packets.front().timestamp;
    const int64_t max_gap = int64_t{rate_hz_} * kMaxFilledGap.count();
    for (size_t i = 0; i < packets.size(); ++i) {
      const StreamPacket& packet = packets[i];
      int64_t position = (packet.timestamp - origin) * rate_hz_ / rtp_clock_hz_;
      int64_t gap = position - written_;
      if (gap > max_gap || gap < -max_gap) {  // the sender's clock restarted: no fill
        origin = packet.timestamp - written_ * rtp_clock_hz_ / rate_hz_;
        position = written_;
        gap = 0;
      }
      if (gap > 0) {
        if (Status s = FillGap(gap, packet.payload); !s) return s;
      }
      auto samples = decoder_->PacketSamples(packet.payload);
      if (!samples || *samples <= 0) {
        ++summary_.undecodable_packets;  // its audio is concealed with the next gap
        continue;
      }
      buffer_.resize(static_cast<size_t>(*samples * channels_));
      auto decoded = decoder_->Decode(packet.payload, buffer_);
      if (!decoded) {
        ++summary_.undecodable_packets;
        continue;
      }
      ++summary_.packets_written;
      std::span<const int16_t> pcm(buffer_.data(), static_cast<size_t>(*decoded * channels_));
      last_packet_.assign(pcm.begin(), pcm.end());
      repeat_gain_ = 1.0;
      // A packet overlapping audio already written (timestamps stepping back): its tail.
      const int64_t overlap = written_ - position;
      if (overlap > 0) {
        pcm = pcm.subspan(std::min(pcm.size(), static_cast<size_t>(overlap * channels_)));
      }
      if (Status s = Write(pcm); !s) return s;
    }
    return Status::Ok();
  }

  Status Close() { return writer_.Close(); }
  int64_t written() const { return written_; }

 private:
  // `gap` samples per channel are missing before the packet `next`.
  Status FillGap(int64_t gap, std::span<const uint8_t> next) {
    summary_.concealed_samples += gap;
    // Opus LBRR in `next` rebuilds the packet just before it.
    int64_t fec = 0;
    if (decoder_->has_fec()) {
      auto next_samples = decoder_->PacketSamples(next);
      if (next_samples && *next_samples > 0) {
        fec = std::min<int64_t>(*next_samples, gap) / quantum_ * quantum_;
      }
    }
    int64_t plc = 0;
    if (decoder_->has_plc()) plc = (gap - fec) / quantum_ * quantum_;
    const int64_t repeat = gap - fec - plc;
    for (int64_t done = 0; done < plc;) {
      const int n = static_cast<int>(std::min<int64_t>(chunk_, plc - done));
      buffer_.resize(static_cast<size_t>(n * channels_));
      auto got = decoder_->Conceal(n, buffer_);
      if (!got || *got <= 0) return Repeat(plc - done + repeat, fec, next);
      std::span<const int16_t> pcm(buffer_.data(), static_cast<size_t>(*got * channels_));
      // A PLC that has faded to silence (G.711 Appendix I does after 60 ms) hands over to
      // repetition at the floor gain: no hard zeros inside the stream.
      const size_t faded = FadedOutAt(pcm);
      if (Status s = Write(pcm.first(faded)); !s) return s;
      done += static_cast<int64_t>(faded) / channels_;
      if (faded < pcm.size()) {
        repeat_gain_ = kRepeatFloorGain;
        return Repeat(plc - done + repeat, fec, next);
      }
    }
    return Repeat(repeat, fec, next);
  }

  // Repeats the last packet with decay for `samples`, then recovers `fec` samples.
  Status Repeat(int64_t samples, int64_t fec, std::span<const uint8_t> next) {
    summary_.repeated_samples += samples;
    std::vector<int16_t> piece;
    while (samples > 0) {
      const int64_t frames_available =
          last_packet_.empty() ? chunk_ : static_cast<int64_t>(last_packet_.size()) / channels_;
      const int64_t n = std::min(samples, frames_available);
      piece.assign(static_cast<size_t>(n * channels_), 0);
      if (!last_packet_.empty()) {
        repeat_gain_ = std::max(kRepeatFloorGain, repeat_gain_ * kRepeatDecayPerPacket);
        for (size_t k = 0; k < piece.size(); ++k) {
          piece[k] = static_cast<int16_t>(std::lround(last_packet_[k] * repeat_gain_));
        }
      }
      if (Status s = Write(piece); !s) return s;
      samples -= n;
    }
    if (fec > 0) {
      buffer_.resize(static_cast<size_t>(fec * channels_));
      auto got = decoder_->DecodeFec(next, static_cast<int>(fec), buffer_);
      if (!got || *got <= 0) {
        summary_.concealed_samples -= fec;  // counted again by the repetition
        return Repeat(fec, 0, next);
      }
      ++summary_.fec_recovered_packets;
      return Write(std::span<const int16_t>(buffer_.data(), static_cast<size_t>(*got * channels_)));
    }
    return Status::Ok();
  }

  // Where a run of kPlcFadedOutZeroRun zero samples per channel begins, or pcm.size().
  size_t FadedOutAt(std::span<const int16_t> pcm) const {
    const auto channels = static_cast<size_t>(channels_);
    const size_t run_needed = static_cast<size_t>(kPlcFadedOutZeroRun) * channels;
    size_t run = 0;
    for (size_t i = 0; i < pcm.size(); ++i) {
      run = pcm[i] == 0 ? run + 1 : 0;
      if (run == run_needed) return (i + 1 - run) / channels * channels;
    }
    return pcm.size();
  }

  Status Write(std::span<const int16_t> pcm) {
    if (pcm.empty()) return Status::Ok();
    written_ += static_cast<int64_t>(pcm.size()) / channels_;
    return writer_.Write(pcm);
  }

  // Allocated by this.
  std::unique_ptr<codec::AudioDecoder> decoder_;
  audio::WavWriter writer_;
  std::vector<int16_t> buffer_;
  std::vector<int16_t> last_packet_;
  // Passed by argument.
  ExtractSummary& summary_;
  // Others.
  const int rtp_clock_hz_;
  const int rate_hz_;
  const int channels_;
  const int quantum_;  // concealment granularity in samples (Opus: 2.5 ms)
  const int chunk_;
  int64_t written_ = 0;  // samples per channel
  double repeat_gain_ = 1.0;
};

Status ExtractWav(const std::vector<StreamPacket>& packets, const RtpStreamInfo& stream,
                  const std::string& path, ExtractSummary& summary) {
  codec::DecoderConfig config;
  config.channels = 1;
  if (stream.codec->id == codec::CodecId::kOpus) {
    auto info = rtp::ParseOpusPayload(packets.front().payload);
    if (info && info->stereo) config.channels = 2;
  }
  auto decoder = codec::CreateDecoder(*stream.codec, config);
  if (!decoder) return decoder.error();
  summary.sample_rate_hz = (*decoder)->sample_rate_hz();
  summary.channels = (*decoder)->channels();
  auto writer = audio::WavWriter::Open(path, {summary.sample_rate_hz, summary.channels});
  if (!writer) return writer.error();
  WavExtractor extractor(std::move(decoder).value(), std::move(writer).value(),
                         stream.codec->rtp_clock_rate_hz, summary);
  Status status = extractor.Run(packets);
  Status closed = extractor.Close();
  summary.samples_written = extractor.written();
  if (!status) return status;
  return closed;
}

Status ExtractOgg(const std::vector<StreamPacket>& packets, const std::string& path,
                  ExtractSummary& summary) {
  OggOpusWriterConfig config;
  auto first = rtp::ParseOpusPayload(packets.front().payload);
  config.channels = first && first->stereo ? 2 : 1;
  config.pre_skip_samples_48k = kCapturedOpusPreSkip48k;
  config.comments = {"ENCODER=parley rtp extract (packets copied from the capture)"};
  auto writer = OggOpusWriter::Open(path, config);
  if (!writer) return writer.error();
  summary.sample_rate_hz = kOggOpusGranuleRateHz;
  summary.channels = config.channels;
  int64_t origin = packets.front().timestamp;
  int64_t written = 0;  // 48 kHz samples in packets written
  const int64_t max_gap = int64_t{kOggOpusGranuleRateHz} * kMaxFilledGap.count();
  std::array<uint8_t, 8> gap_packet{};
  for (const StreamPacket& packet : packets) {
    auto info = rtp::ParseOpusPayload(packet.payload);
    if (!info) {
      ++summary.undecodable_packets;  // left out; the next gap covers its time
      continue;
    }
    int64_t gap = packet.timestamp - origin - written;
    if (gap > max_gap || gap < -max_gap) {
      origin = packet.timestamp - written;
      gap = 0;
    }
    // Whole 10 ms gap packets; a remainder under 10 ms stays in the next gap's count.
    for (int64_t fill = gap / kGapPacketQuantum48k * kGapPacketQuantum48k; fill > 0;) {
      const int n = static_cast<int>(std::min<int64_t>(fill, kMaxGapPacket48k));
      auto size = MakeOpusGapPacket(n, config.channels, gap_packet);
      if (!size) return size.error();
      if (Status s = (*writer)->WritePacket(std::span(gap_packet).first(*size), n); !s) return s;
      summary.concealed_samples += n;
      written += n;
      fill -= n;
    }
    if (gap + info->duration_samples_48k <= 0) continue;  // entirely behind: a stray copy
    if (Status s = (*writer)->WritePacket(packet.payload, info->duration_samples_48k); !s) {
      return s;
    }
    ++summary.packets_written;
    written += info->duration_samples_48k;
  }
  Status closed = (*writer)->Close();
  summary.samples_written = (*writer)->samples_written_48k() - config.pre_skip_samples_48k;
  return closed;
}

}  // namespace

std::string RtpStreamInfo::CodecName() const {
  return codec != nullptr ? std::string(codec->name) : std::string("unknown");
}

Result<PayloadTypeMap> ParsePayloadTypeMap(std::string_view text) {
  PayloadTypeMap map;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    const size_t equals = item.find('=');
    if (equals == std::string_view::npos || equals == 0) {
      return Error{fmt::format("payload type map item '{}' is not PT=codec (e.g. 111=opus)", item)};
    }
    int payload_type = 0;
    for (char c : item.substr(0, equals)) {
      if (c < '0' || c > '9' || payload_type > rtp::kMaxPayloadType) {
        payload_type = -1;
        break;
      }
      payload_type = payload_type * 10 + (c - '0');
    }
    if (payload_type < 0 || payload_type > rtp::kMaxPayloadType) {
      return Error{
          fmt::format("payload type '{}' in '{}' is not 0..127", item.substr(0, equals), item)};
    }
    const codec::CodecInfo* codec = codec::FindCodecByName(item.substr(equals + 1));
    if (codec == nullptr) {
      return Error{fmt::format("unknown codec '{}' in '{}' (see 'parley codecs')",
                               item.substr(equals + 1), item)};
    }
    map[payload_type] = codec;
  }
  return map;
}

CaptureScan FindRtpStreams(PcapReader& reader, const PayloadTypeMap& payload_types,
                           const RtpDetectionConfig& config) {
  CaptureScan scan;
  std::map<FlowKey, Flow> flows;
  int64_t rtp_candidates = 0;
  while (std::optional<UdpDatagram> datagram = reader.Next()) {
    if (LooksLikeRtcp(datagram->payload)) {
      ++scan.rtcp_packets;
      continue;
    }
    auto rtp = rtp::ParseRtpPacket(datagram->payload);
    if (!rtp) {
      ++scan.non_rtp_datagrams;
      continue;
    }
    PacketRecord record;
    record.arrival_ns = datagram->timestamp.count();
    record.timestamp = rtp->timestamp();
    record.sequence_number = rtp->sequence_number();
    record.payload_type = rtp->payload_type();
    if (codec::FindCodecByStaticPayloadType(record.payload_type) == nullptr) {
      if (auto opus = rtp::ParseOpusPayload(rtp->payload())) {
        record.opus_samples_48k = opus->duration_samples_48k;
      }
    }
    Flow& flow = flows[FlowKey{datagram->source, datagram->destination, rtp->ssrc()}];
    if (flow.packets.empty()) flow.first_seen = rtp_candidates;
    ++rtp_candidates;
    flow.packets.push_back(record);
  }
  std::vector<std::pair<int64_t, RtpStreamInfo>> found;
  for (const auto& [key, flow] : flows) {
    if (!PlausibleSequence(flow.packets, config)) {
      scan.non_rtp_datagrams += static_cast<int64_t>(flow.packets.size());
      continue;
    }
    found.emplace_back(flow.first_seen, Describe(key, flow.packets, payload_types, config));
  }
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [order, info] : found) scan.streams.push_back(std::move(info));
  scan.pcap = reader.stats();
  return scan;
}

Result<CaptureScan> FindRtpStreams(const std::string& path, const PayloadTypeMap& payload_types,
                                   const RtpDetectionConfig& config) {
  auto reader = PcapReader::Open(path);
  if (!reader) return reader.error();
  return FindRtpStreams(**reader, payload_types, config);
}

Result<ExtractSummary> ExtractRtpStream(const ExtractOptions& options) {
  const std::string ext = Extension(options.output_path);
  const bool ogg = ext == "opus" || ext == "ogg" || ext == "oga";
  if (!ogg && ext != "wav") {
    return Error{fmt::format("'{}': output must be .wav (decoded) or .opus (Opus packets copied)",
                             options.output_path)};
  }
  auto scan = FindRtpStreams(options.capture_path, options.payload_types, options.detection);
  if (!scan) return scan.error();
  const std::vector<RtpStreamInfo>& streams = scan->streams;
  if (streams.empty()) {
    return Error{fmt::format("no RTP stream found in '{}' ({} UDP datagrams)", options.capture_path,
                             scan->pcap.udp_datagrams)};
  }
  const RtpStreamInfo* chosen = nullptr;
  if (options.ssrc) {
    for (const RtpStreamInfo& s : streams) {
      if (s.ssrc == *options.ssrc) {
        if (chosen != nullptr) {
          return Error{fmt::format("SSRC 0x{:08X} appears in several flows of '{}' ({}; {})",
                                   s.ssrc, options.capture_path, DescribeStream(*chosen),
                                   DescribeStream(s))};
        }
        chosen = &s;
      }
    }
  } else if (streams.size() == 1) {
    chosen = &streams.front();
  }
  if (chosen == nullptr) {
    std::string list;
    for (const RtpStreamInfo& s : streams) {
      list += (list.empty() ? "" : "; ") + DescribeStream(s);
    }
    return Error{options.ssrc ? fmt::format("no stream with SSRC 0x{:08X} in '{}' (streams: {})",
                                            *options.ssrc, options.capture_path, list)
                              : fmt::format("'{}' holds {} RTP streams: choose one with --ssrc "
                                            "({})",
                                            options.capture_path, streams.size(), list)};
  }
  if (chosen->codec == nullptr) {
    return Error{fmt::format("the codec of stream {} is unknown: name it with --pt-map {}=CODEC",
                             DescribeStream(*chosen), chosen->payload_type)};
  }
  if (ogg && chosen->codec->id != codec::CodecId::kOpus) {
    return Error{
        fmt::format("stream {} is {}, not Opus: Ogg Opus output copies Opus packets; "
                    "extract to .wav instead",
                    DescribeStream(*chosen), chosen->codec->name)};
  }
  auto packets = CollectPackets(options.capture_path, *chosen);
  if (!packets) return packets.error();
  if (packets->empty()) {
    return Error{fmt::format("stream {} has no audio payload", DescribeStream(*chosen))};
  }

  ExtractSummary summary;
  summary.stream = *chosen;
  summary.ogg_passthrough = ogg;
  const std::string partial = options.output_path + ".partial";
  Status status = ogg ? ExtractOgg(*packets, partial, summary)
                      : ExtractWav(*packets, *chosen, partial, summary);
  std::error_code error;
  if (status) {
    std::filesystem::rename(partial, options.output_path, error);
    if (!error) return summary;
    status = Error{fmt::format("cannot rename '{}' to '{}': {}", partial, options.output_path,
                               error.message())};
  }
  std::filesystem::remove(partial, error);
  return status.error();
}

}  // namespace parley::container
