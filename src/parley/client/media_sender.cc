#include "parley/client/media_sender.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

#include "parley/audio/audio_file.h"
#include "parley/audio/resampler.h"
#include "parley/client/rtcp_session.h"
#include "parley/codec/registry.h"
#include "parley/container/ogg_opus_reader.h"
#include "parley/rtp/red.h"
#include "parley/rtp/rtp_packet.h"

namespace parley::client {
namespace {

using std::chrono::nanoseconds;

// The RTP clock of Opus (RFC 7587) and the unit of Ogg Opus granule positions.
constexpr int kOpusRtpRateHz = 48000;
// RFC 2198 copies beyond this are not worth their bytes (quality/profile.h uses 0..1).
constexpr int kMaxRedBlocks = 4;

nanoseconds SamplesToTime(int64_t samples, int rate_hz) {
  return nanoseconds(samples * 1'000'000'000 / rate_hz);
}

// An Ogg Opus file starts with a page ("OggS", 27-byte header, one lacing byte for the
// 19-byte OpusHead) whose packet begins with "OpusHead" at offset 28.
bool LooksLikeOggOpus(const std::string& path) {
  FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return false;
  std::array<char, 36> head{};
  const size_t got = std::fread(head.data(), 1, head.size(), file);
  std::fclose(file);
  return got == head.size() && std::memcmp(head.data(), "OggS", 4) == 0 &&
         std::memcmp(head.data() + 28, "OpusHead", 8) == 0;
}

Status CheckConfig(const MediaSenderConfig& config) {
  if (config.payload_type < 96 || config.payload_type > 127) {
    return Error{"payload_type " + std::to_string(config.payload_type) +
                 " outside the dynamic range 96..127"};
  }
  if (config.red_payload_type < 0 || config.red_payload_type > rtp::kMaxRedPayloadType ||
      config.red_payload_type == config.payload_type) {
    return Error{"red_payload_type " + std::to_string(config.red_payload_type) +
                 " must be 0..127 and differ from payload_type"};
  }
  if (config.max_burst_packets < 1) {
    return Error{"max_burst_packets " + std::to_string(config.max_burst_packets) + " must be >= 1"};
  }
  return Status::Ok();
}

}  // namespace

// The packets' origin: PCM encoded frame by frame, or the packets of an Ogg Opus file.
struct MediaSender::Source {
  bool ogg = false;
  int payload_type = 111;
  int rtp_clock_rate_hz = kOpusRtpRateHz;

  // --- PCM ---
  std::unique_ptr<codec::AudioEncoder> encoder;
  std::vector<int16_t> pcm;  // mono, at the encoder's rate
  int frame_samples = 0;
  uint32_t frame_ticks = 0;
  nanoseconds frame_duration{0};
  std::vector<int16_t> frame;
  std::vector<uint8_t> payload;
  // RFC 2198: the last red_blocks payloads, oldest first, with their timestamps.
  int red_blocks = 0;
  int red_payload_type = -1;
  std::vector<std::vector<uint8_t>> history;
  std::vector<uint32_t> history_timestamps;
  int history_size = 0;
  std::vector<uint8_t> red;

  // --- Ogg Opus ---
  std::vector<std::vector<uint8_t>> packets;
  std::vector<int> packet_samples_48k;

  // Next sample (PCM) or packet (Ogg) to send, within the current pass.
  size_t position = 0;

  size_t length() const { return ogg ? packets.size() : pcm.size(); }
  nanoseconds duration_at(size_t index) const {
    return ogg ? SamplesToTime(packet_samples_48k[index], kOpusRtpRateHz) : frame_duration;
  }
  uint32_t ticks_at(size_t index) const {
    return ogg ? static_cast<uint32_t>(packet_samples_48k[index]) : frame_ticks;
  }
  size_t step() const { return ogg ? 1 : static_cast<size_t>(frame_samples); }
};

Result<std::unique_ptr<MediaSender>> MediaSender::OpenFile(const std::string& path,
                                                           const Config& config) {
  if (Status status = CheckConfig(config); !status)
    return Error{path + ": " + status.error().message};
  if (!LooksLikeOggOpus(path)) {
    auto audio = audio::ReadAudioFile(path);
    if (!audio) return audio.error();
    auto sender = FromAudio(*audio, config);
    if (!sender) return Error{path + ": " + sender.error().message};
    return sender;
  }
  auto reader = container::OggOpusReader::Open(path);
  if (!reader) return reader.error();
  auto source = std::make_unique<Source>();
  source->ogg = true;
  source->payload_type = config.payload_type;
  for (;;) {
    auto packet = (*reader)->ReadPacket();
    if (!packet) return packet.error();
    if (!*packet) break;
    if ((*packet)->samples_48k <= 0) continue;
    const auto data = (*packet)->data;
    source->packets.emplace_back(data.begin(), data.end());
    source->packet_samples_48k.push_back((*packet)->samples_48k);
  }
  if (source->packets.empty()) return Error{path + ": no Opus audio packets in the file"};
  return std::unique_ptr<MediaSender>(new MediaSender(config, std::move(source)));
}

Result<std::unique_ptr<MediaSender>> MediaSender::FromAudio(const audio::AudioFrame& audio,
                                                            const Config& config) {
  if (Status status = CheckConfig(config); !status) return status.error();
  auto profile = quality::FindProfile(config.profile);
  if (!profile) return profile.error();
  if (audio.empty()) return Error{"the audio is empty"};
  if (!audio::Resampler::IsSupportedRate(audio.sample_rate_hz())) {
    return Error{"sample rate " + std::to_string(audio.sample_rate_hz()) +
                 " Hz is not one the resampler takes"};
  }
  const codec::CodecInfo& codec = codec::GetCodecInfo(profile->codec);
  const codec::EncoderConfig encoder_config = quality::EncoderConfigFor(*profile);
  auto encoder = codec::CreateEncoder(codec, encoder_config);
  if (!encoder) return Error{"profile " + config.profile + ": " + encoder.error().message};
  if (profile->red_blocks > kMaxRedBlocks) {
    return Error{"profile " + config.profile + ": more than 4 RED blocks"};
  }

  auto source = std::make_unique<Source>();
  source->encoder = std::move(encoder).value();
  const audio::AudioFrame mono = audio.channels() == 1 ? audio : audio::RemixChannels(audio, 1);
  source->pcm = audio::Resample(mono, source->encoder->sample_rate_hz()).TakeSamples();
  source->frame_samples = source->encoder->frame_samples();
  source->frame_ticks =
      static_cast<uint32_t>(int64_t{codec.rtp_clock_rate_hz} * source->encoder->frame_ms() / 1000);
  source->frame_duration = std::chrono::milliseconds(source->encoder->frame_ms());
  source->frame.resize(static_cast<size_t>(source->frame_samples));
  source->payload.resize(source->encoder->max_payload_bytes());
  source->payload_type =
      codec.static_payload_type >= 0 ? codec.static_payload_type : config.payload_type;
  source->rtp_clock_rate_hz = codec.rtp_clock_rate_hz;
  source->red_blocks = profile->red_blocks;
  source->red_payload_type = config.red_payload_type;
  source->history.resize(static_cast<size_t>(source->red_blocks));
  for (auto& block : source->history) block.reserve(rtp::kMaxRedBlockBytes);
  source->history_timestamps.resize(static_cast<size_t>(source->red_blocks));
  source->red.resize(kMaxRtpPacketBytes);
  if (source->pcm.empty())
    return Error{"the audio is shorter than one sample at the encoder's rate"};
  return std::unique_ptr<MediaSender>(new MediaSender(config, std::move(source)));
}

MediaSender::MediaSender(const Config& config, std::unique_ptr<Source> source)
    : config_(config),
      source_(std::move(source)),
      sequence_(config.first_sequence),
      timestamp_(config.first_timestamp) {}

MediaSender::~MediaSender() = default;

void MediaSender::Start(Clock::TimePoint now) {
  start_ = now;
  scheduled_ = nanoseconds(0);
  started_ = true;
}

bool MediaSender::finished() const {
  return !config_.loop && source_->position >= source_->length();
}

nanoseconds MediaSender::NextDuration() const { return source_->duration_at(source_->position); }

int64_t MediaSender::PacketsDue(Clock::TimePoint now) const {
  if (!started_ || finished()) return 0;
  // Walks the schedule; bounded so a caller stalled for minutes pays little (it skips
  // the excess anyway).
  constexpr int64_t kMaxCounted = 100'000;
  Clock::TimePoint due = start_ + scheduled_;
  size_t position = source_->position;
  const size_t length = source_->length();
  int64_t count = 0;
  while (due <= now && count < kMaxCounted) {
    if (position >= length) {
      if (!config_.loop) break;
      position = 0;
    }
    ++count;
    due += source_->duration_at(position);
    position += source_->step();
  }
  return count;
}

std::optional<Clock::TimePoint> MediaSender::next_due() const {
  if (!started_ || finished()) return std::nullopt;
  return start_ + scheduled_;
}

int MediaSender::rtp_clock_rate_hz() const { return source_->rtp_clock_rate_hz; }

nanoseconds MediaSender::file_duration() const {
  if (source_->ogg) {
    int64_t samples = 0;
    for (int s : source_->packet_samples_48k) samples += s;
    return SamplesToTime(samples, kOpusRtpRateHz);
  }
  return SamplesToTime(static_cast<int64_t>(source_->pcm.size()),
                       source_->encoder->sample_rate_hz());
}

void MediaSender::Advance(bool produced) {
  const nanoseconds duration = NextDuration();
  timestamp_ += source_->ticks_at(source_->position);
  if (produced) {
    ++stats_.packets_produced;
    ++sequence_;
    first_packet_ = false;
  } else {
    ++stats_.packets_skipped;
  }
  scheduled_ += duration;
  stats_.media_time += duration;
  source_->position += source_->step();
  const size_t length = source_->length();
  if (config_.loop && source_->position >= length) {
    // PCM wraps sample-exactly: the next frame starts where this one's samples ended (a
    // file shorter than a frame wraps several times within one).
    stats_.loops += source_->position / length;
    source_->position %= length;
  }
}

void MediaSender::SkipPacket() {
  if (finished()) throw std::logic_error("MediaSender::SkipPacket after the end of the file");
  Advance(false);
}

int64_t MediaSender::SkipDue(Clock::TimePoint now) {
  const int64_t due = PacketsDue(now);
  for (int64_t i = 0; i < due; ++i) SkipPacket();
  return due;
}

Result<size_t> MediaSender::NextPacket(std::span<uint8_t> out) {
  if (finished()) throw std::logic_error("MediaSender::NextPacket after the end of the file");
  Source& s = *source_;
  rtp::RtpPacketFields fields;
  fields.marker = first_packet_;
  fields.sequence_number = sequence_;
  fields.timestamp = timestamp_;
  fields.ssrc = config_.ssrc;
  fields.payload_type = static_cast<uint8_t>(s.payload_type);

  std::span<const uint8_t> payload;
  if (s.ogg) {
    payload = s.packets[s.position];
  } else {
    // The frame: samples from `position`, wrapping when looping, zero-padded at the end
    // of a file sent once.
    const size_t length = s.pcm.size();
    for (size_t i = 0; i < s.frame.size(); ++i) {
      size_t index = s.position + i;
      if (index >= length && config_.loop) index %= length;
      s.frame[i] = index < length ? s.pcm[index] : int16_t{0};
    }
    auto bytes = s.encoder->Encode(s.frame, s.payload);
    if (!bytes) return Error{"encoding: " + bytes.error().message};
    payload = std::span<const uint8_t>(s.payload).first(*bytes);
    if (s.red_blocks > 0) {
      std::array<rtp::RedBlock, kMaxRedBlocks> redundant;
      size_t count = 0;
      for (int i = 0; i < s.history_size; ++i) {
        const auto& block = s.history[static_cast<size_t>(i)];
        if (block.empty() || block.size() > rtp::kMaxRedBlockBytes) continue;
        redundant[count++] = {s.payload_type, s.history_timestamps[static_cast<size_t>(i)], block};
      }
      const rtp::RedBlock primary{s.payload_type, timestamp_, payload};
      auto written = rtp::BuildRedPayload(std::span(redundant).first(count), primary, s.red);
      if (!written) return Error{"RED: " + written.error().message};
      // Remember this frame for the next packets, oldest first (no allocation: each
      // history entry was reserved at its largest size).
      if (s.history_size == s.red_blocks) {
        std::rotate(s.history.begin(), s.history.begin() + 1, s.history.end());
        std::rotate(s.history_timestamps.begin(), s.history_timestamps.begin() + 1,
                    s.history_timestamps.end());
        --s.history_size;
      }
      auto& slot = s.history[static_cast<size_t>(s.history_size)];
      slot.assign(payload.begin(), payload.end());
      s.history_timestamps[static_cast<size_t>(s.history_size)] = timestamp_;
      ++s.history_size;
      payload = std::span<const uint8_t>(s.red).first(*written);
      fields.payload_type = static_cast<uint8_t>(s.red_payload_type);
    }
  }
  auto size = rtp::WriteRtpPacket(fields, payload, out);
  if (!size) return size.error();
  last_payload_bytes_ = payload.size();
  Advance(true);
  return *size;
}

Result<int> MediaSender::SendDue(Clock::TimePoint now, net::UdpSocket& socket,
                                 const net::SocketAddress& to, RtcpSession* rtcp,
                                 rtp::SrtpOutboundSession* srtp) {
  int64_t due = PacketsDue(now);
  for (; due > config_.max_burst_packets; --due) SkipPacket();
  int sent = 0;
  for (int64_t i = 0; i < due; ++i) {
    const uint32_t timestamp = timestamp_;
    auto size = NextPacket(std::span(packet_).first(kMaxRtpPacketBytes));
    if (!size) return size.error();
    if (*size == 0) continue;
    size_t bytes = *size;
    if (srtp != nullptr) {
      const std::optional<size_t> protected_bytes = srtp->TryProtectRtp(packet_, bytes);
      if (!protected_bytes) {
        ++stats_.protect_failures;
        continue;
      }
      bytes = *protected_bytes;
    }
    auto result = socket.SendTo(std::span<const uint8_t>(packet_).first(bytes), to);
    if (!result) {
      ++stats_.send_errors;
      continue;
    }
    ++sent;
    ++stats_.packets_sent;
    stats_.bytes_sent += bytes;
    if (rtcp != nullptr) rtcp->OnRtpSent(timestamp, last_payload_bytes_, now);
  }
  return sent;
}

}  // namespace parley::client
