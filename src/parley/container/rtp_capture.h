// RTP audio streams in a capture, like a network analyser's RTP player: find them, report
// loss and jitter, and extract one to WAV (decoded) or to Ogg Opus (packets copied).
//
// Detection is heuristic, as in Wireshark's "decode as RTP" without signalling:
// - a UDP payload is an RTP candidate when it parses as RTP version 2 (rtp_packet.h) and
//   its second byte is not 200..207 (RTCP multiplexed on the same port, RFC 5761 4);
// - a stream is a (source, destination, SSRC) triple with at least
//   RtpDetectionConfig::min_packets packets whose sequence numbers advance plausibly
//   (a step of 1..max_forward_step, or a reordering of at most max_backward_step) for at
//   least min_plausible_fraction of consecutive packets. Random UDP traffic (DNS, QUIC,
//   games) fails this even when its first byte happens to look like version 2.
// - codec: a static payload type from the codec registry (0 PCMU, 8 PCMA, 9 G722, ...);
//   a dynamic one from the user's map ("111=opus"), else Opus when every payload has a
//   valid TOC (rtp/opus_payload.h) and the timestamps advance by the TOC's 48 kHz
//   duration, else unknown. Codec 2 has no such signature: only the map names it.
//
// Statistics per stream: packets captured; duplicates and lost counted exactly from the
// set of extended sequence numbers (RFC 3550 A.1, which ReceiveStatistics implements,
// counts a duplicate as received and so hides a loss); interarrival jitter (A.8) through
// rtp::ReceiveStatistics fed with capture times converted to RTP clock units.
//
// Extraction orders the packets by extended sequence number (reordering undone,
// duplicates dropped) and places each at its RTP timestamp, so a gap lasts exactly what
// the timestamps say (never an assumed 20 ms). Lost audio, in WAV output, is concealed:
// Opus FEC (LBRR) from the packet after the gap for the last lost packet, the codec's
// own PLC (Opus, G.711 Appendix I, G.729) for the rest, and for codecs without PLC the
// last decoded packet repeated with a decaying gain (kRepeatDecayPerPacket down to
// kRepeatFloorGain) rather than zeros; a codec PLC that fades to silence within a long
// gap hands over to that repetition at the floor gain. This is an offline tool's
// concealment: the adaptive playout engine (merge, time-scale modification,
// comfort noise) comes later and will replace it. Ogg Opus output keeps the Opus
// packets as they were sent and fills each gap with MakeOpusGapPacket() packets, so the
// file lasts as long as the stream and any player conceals over the gap.
//
// Errors are one line naming the file; nothing throws on bad input. Threading: free
// functions, no shared state.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parley/base/result.h"
#include "parley/codec/codec.h"
#include "parley/container/pcap_reader.h"

namespace parley::container {

// Repeating the last packet for codecs without PLC: gain multiplied by this per packet
// repeated, never below the floor (a long gap stays faintly audible, not hard zero).
inline constexpr double kRepeatDecayPerPacket = 0.7;
inline constexpr double kRepeatFloorGain = 0.1;
// Codec PLC output with this many zero samples in a row has faded out (G.711 Appendix I
// does after 60 ms): the rest of the gap is repetition at kRepeatFloorGain.
inline constexpr int kPlcFadedOutZeroRun = 8;
// A timestamp jump beyond this is a restart of the sender's clock, not a gap to fill.
inline constexpr std::chrono::seconds kMaxFilledGap{60};

// Dynamic payload types bound to codecs by the user ("111=opus,96=pcmu").
using PayloadTypeMap = std::map<int, const codec::CodecInfo*>;

// Parses "PT=name[,PT=name...]" with PT 0..127 and a codec name the registry knows
// (case-insensitive, "opus", "pcmu", "codec2", ...). Empty text gives an empty map.
[[nodiscard]] Result<PayloadTypeMap> ParsePayloadTypeMap(std::string_view text);

struct RtpDetectionConfig {
  int min_packets = 5;                  // packets per (source, destination, SSRC)
  int max_forward_step = 100;           // sequence step still "in order" (losses between)
  int max_backward_step = 100;          // reordering depth still plausible
  double min_plausible_fraction = 0.8;  // of consecutive packet pairs, 0..1
  double min_opus_fraction = 0.95;      // payloads with a valid TOC to guess Opus
};

// How the codec of a stream was decided.
enum class CodecOrigin { kStaticPayloadType, kUserMap, kGuessedOpus, kUnknown };

struct RtpStreamInfo {
  uint32_t ssrc = 0;
  UdpEndpoint source;
  UdpEndpoint destination;
  int payload_type = 0;                     // the most frequent one
  const codec::CodecInfo* codec = nullptr;  // nullptr: unknown
  CodecOrigin codec_origin = CodecOrigin::kUnknown;
  int64_t packets = 0;                     // RTP packets captured, duplicates included
  int64_t duplicates = 0;                  // packets whose sequence number was already seen
  int64_t expected = 0;                    // highest - lowest extended sequence number + 1
  int64_t lost = 0;                        // expected - distinct sequence numbers
  int64_t other_payload_type_packets = 0;  // e.g. telephone-event, CN on the same SSRC
  // A.8 interarrival jitter (a timeline jump of 5 s or more is not jitter, see
  // rtp/receive_statistics.h); nullopt when the codec (so the RTP clock) is unknown.
  std::optional<std::chrono::microseconds> jitter;
  // Media time from the RTP timestamps: the steps between packets in sequence order (gaps
  // included), a step backwards or beyond kMaxFilledGap (a restart) counting as one
  // packet, plus the last packet's duration when known; capture time span when the clock
  // is unknown.
  std::chrono::microseconds duration{0};
  std::chrono::nanoseconds first_capture_time{0};  // since the Unix epoch
  std::chrono::nanoseconds last_capture_time{0};

  double loss_fraction() const {
    return expected > 0 ? static_cast<double>(lost) / static_cast<double>(expected) : 0.0;
  }
  // "PCMU", "opus", or "unknown".
  std::string CodecName() const;
};

struct CaptureScan {
  std::vector<RtpStreamInfo> streams;  // in order of first packet
  PcapStats pcap;
  int64_t rtcp_packets = 0;       // UDP payloads taken as RTCP (second byte 200..207)
  int64_t non_rtp_datagrams = 0;  // not RTP, or in a flow that failed the heuristics
};

// Reads the whole capture and returns the RTP streams found. Error when the file cannot
// be opened as a capture (with libpcap's reason); damage inside it is in `pcap`.
[[nodiscard]] Result<CaptureScan> FindRtpStreams(const std::string& path,
                                                 const PayloadTypeMap& payload_types = {},
                                                 const RtpDetectionConfig& config = {});
// Same, from an open reader (read to its end), e.g. over fmemopen.
[[nodiscard]] CaptureScan FindRtpStreams(PcapReader& reader,
                                         const PayloadTypeMap& payload_types = {},
                                         const RtpDetectionConfig& config = {});

struct ExtractOptions {
  std::string capture_path;
  // .wav: decoded at the codec's rate, mono (stereo for a stereo Opus stream).
  // .opus/.ogg/.oga: an Opus stream's packets copied into Ogg Opus, no transcoding.
  std::string output_path;
  std::optional<uint32_t> ssrc;  // required when the capture holds several streams
  PayloadTypeMap payload_types;
  RtpDetectionConfig detection;
};

struct ExtractSummary {
  RtpStreamInfo stream;
  bool ogg_passthrough = false;  // Opus packets copied, not decoded
  int sample_rate_hz = 0;        // of the WAV; 48000 for Ogg Opus
  int channels = 1;
  int64_t packets_written = 0;    // distinct packets of the stream's payload type
  int64_t samples_written = 0;    // per channel, at sample_rate_hz (Ogg: 48 kHz, after pre-skip)
  int64_t concealed_samples = 0;  // WAV: by PLC, FEC or repetition; Ogg: in gap packets
  int64_t fec_recovered_packets = 0;  // Opus: lost packets rebuilt from the next one's LBRR
  int64_t repeated_samples = 0;       // codecs without PLC: repetition with decay
  int64_t undecodable_packets = 0;    // payloads the decoder refused (concealed instead)
};

// Finds the stream (the only one, or options.ssrc) and writes it to options.output_path
// through "<output>.partial", renamed at the end: a failure leaves no output behind.
// Errors: no stream, several without --ssrc (the message lists them), an unknown SSRC or
// codec, Ogg output for a non-Opus stream, any read or write failure.
[[nodiscard]] Result<ExtractSummary> ExtractRtpStream(const ExtractOptions& options);

}  // namespace parley::container
