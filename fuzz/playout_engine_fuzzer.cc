// The playout engine fed whole streams, as a receiver feeds it: the input is a program of
// steps (packets with chosen sequence numbers, timestamps and payloads, arrival times on a
// simulated clock, 10 ms pulls), so the fuzzer explores sequences of packets rather than
// single payloads. Payloads are real Opus packets (encoded once, at start-up, from a short
// voiced signal at 10, 20 and 60 ms per packet, with in-band FEC), their RED wrappings,
// DTX-sized frames, and garbage. A change of SSRC is what the client's receiver does with
// one: a new engine for the new stream, while the old stream's engine keeps being pulled
// (it conceals) and may still get stray packets of the old SSRC.
//
// After every pull, for every engine:
// - Pull10ms succeeds and fills the block; a block of the wrong size is refused;
// - CheckInvariants() holds, and every pulled sample is accounted once: silence before
//   start plus totalSamplesReceived is the samples pulled;
// - once started the engine never goes back to pre-start silence, and a stream made only
//   of real Opus packets of the (never silent) signal, their RED wrappings and DTX frames
//   never yields a block of hard zeros (garbage payloads may decode to digital silence:
//   not asserted for them);
// - the target delay stays within [min_delay, max_delay];
// - the buffered audio is bounded: the sync buffer (300 ms) plus the packet buffer, whose
//   span is bounded by max_buffer (2 s, the newest packet of at most 120 ms kept) for a
//   stream whose timestamps follow its packets' durations, and by max_packets x 120 ms
//   whatever the timestamps (overlapping packets are not duplicates).
#include <array>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "fuzz_input.h"
#include "parley/base/clock.h"
#include "parley/codec/registry.h"
#include "parley/playout/playout_engine.h"
#include "parley/rtp/red.h"

namespace {

using parley::SimulatedClock;
using parley::fuzz::FuzzInput;
using parley::playout::Operation;
using parley::playout::PlayoutEngine;

constexpr int kOpusPayloadType = 111;
constexpr int kRedPayloadType = 63;
constexpr int kRtpClockHz = 48000;
constexpr double kSyncCapacityMs = 300;  // playout_engine.cc: the sync buffer
constexpr double kMaxPacketMs = 120;     // Opus's longest packet
constexpr size_t kMaxSteps = 400;        // keeps one input fast
constexpr size_t kMaxStreams = 2;        // the current SSRC's engine and the previous one's

struct EncodedSet {
  int frame_ms = 0;
  std::vector<std::vector<uint8_t>> packets;
};

// One second of a voiced signal (a 150 Hz pulse-like tone whose level swings between
// -30 and -8 dBFS: never silent), encoded by parley's Opus encoder at each packet length.
const std::vector<EncodedSet>& OpusPackets() {
  static const std::vector<EncodedSet> sets = [] {
    constexpr int kRate = 48000;
    std::vector<int16_t> signal(kRate);
    uint32_t noise = 12345;
    for (int n = 0; n < kRate; ++n) {
      const double t = static_cast<double>(n) / kRate;
      const double envelope = 0.6 + 0.35 * std::sin(2 * M_PI * 3 * t);
      double v = 0;
      for (int h = 1; h <= 6; ++h) v += std::sin(2 * M_PI * 150 * h * t) / h;
      noise = noise * 1664525u + 1013904223u;
      v = 4000 * envelope * v + static_cast<double>(noise >> 24) - 128;
      signal[static_cast<size_t>(n)] = static_cast<int16_t>(v);
    }
    const auto& opus = parley::codec::GetCodecInfo(parley::codec::CodecId::kOpus);
    std::vector<EncodedSet> out;
    for (int frame_ms : {20, 10, 60}) {
      auto encoder = parley::codec::CreateEncoder(opus, {.sample_rate_hz = kRate,
                                                         .channels = 1,
                                                         .frame_ms = frame_ms,
                                                         .bitrate_bps = 24000,
                                                         .fec = true,
                                                         .expected_loss_percent = 20});
      if (!encoder) std::abort();
      EncodedSet set{frame_ms, {}};
      const int frame = kRate * frame_ms / 1000;
      std::vector<uint8_t> payload((*encoder)->max_payload_bytes());
      for (int start = 0; start + frame <= kRate; start += frame) {
        auto bytes = (*encoder)->Encode(std::span<const int16_t>(signal).subspan(
                                            static_cast<size_t>(start), static_cast<size_t>(frame)),
                                        payload);
        if (!bytes || *bytes <= 2) std::abort();  // no DTX: the signal is never silent
        set.packets.emplace_back(payload.begin(),
                                 payload.begin() + static_cast<std::ptrdiff_t>(*bytes));
      }
      out.push_back(std::move(set));
    }
    return out;
  }();
  return sets;
}

// One RTP stream (one SSRC) and the engine playing it, with what the fuzzer sent it.
struct Stream {
  std::unique_ptr<PlayoutEngine> engine;
  uint16_t sequence = 0;
  uint32_t timestamp = 0;
  size_t cursor = 0;                                   // next packet of the signal
  std::optional<std::pair<size_t, size_t>> last_real;  // (set, index) last sent, for RED
  uint32_t last_real_timestamp = 0;
  bool dirty = false;      // a garbage payload was accepted: digital silence is possible
  bool irregular = false;  // timestamps not following the packets' durations
  uint64_t pulls = 0;
  // A packet held back to arrive later (reordering).
  std::optional<PlayoutEngine::Packet> held;
  std::vector<uint8_t> held_payload;
  bool held_garbage = false;
};

class Harness {
 public:
  explicit Harness(FuzzInput& in) : in_(in) {
    const uint8_t setup = in.Byte();
    // Mostly narrow and wide band: the DSP costs grow with the rate, and the logic does not.
    static constexpr int kRates[] = {8000, 16000, 48000, 8000};
    config_.output_rate_hz = kRates[setup & 3];
    config_.channels = 1 + ((setup >> 2) & 1);
    config_.red_payload_type = (setup & 8) ? kRedPayloadType : -1;
    config_.seed = 1 + (setup >> 4);
    block_.resize(static_cast<size_t>(config_.output_rate_hz / 100 * config_.channels));
    NewStream();
  }

  void Run() {
    for (size_t step = 0; step < kMaxSteps && !in_.empty(); ++step) {
      const uint8_t op = in_.Byte();
      switch (op % 16) {
        case 0:
        case 1:
        case 2:
        case 3:
          SendReal(current(), op >> 4);
          break;
        case 4:  // a jump: sequence number and timestamp moved by chosen amounts
          current().sequence =
              static_cast<uint16_t>(current().sequence + static_cast<int8_t>(in_.Byte()));
          current().timestamp +=
              (op & 0x80) ? in_.U32() : static_cast<uint32_t>(static_cast<int16_t>(in_.U16()) * 48);
          current().cursor += in_.Byte() % 8;
          current().irregular = true;
          break;
        case 5:
          SendGarbage(current());
          break;
        case 6:
          SendDtx(current(), op >> 4);
          break;
        case 7:
          SendRed(current(), op >> 4);
          break;
        case 8:  // a new SSRC: a new engine; the old one stays (it is pulled, may get strays)
          NewStream();
          break;
        case 9:  // a stray packet of the previous SSRC
          if (streams_.size() > 1) SendReal(streams_.front(), op >> 4);
          break;
        case 10:  // time passes without a pull: packets bunch up
          clock_.Advance(std::chrono::milliseconds(in_.Byte()));
          break;
        case 11:  // the held packet arrives (late, or reordered)
          ReleaseHeld(current());
          break;
        case 12:  // a duplicate of the last real packet
          Duplicate(current());
          break;
        case 13:
          Pull(1 + (op >> 4) % 8);
          break;
        default:
          Pull(1);
          break;
      }
    }
    Pull(10);  // the end of the call: what was buffered plays or is concealed
  }

 private:
  Stream& current() { return streams_.back(); }

  void NewStream() {
    if (streams_.size() == kMaxStreams) streams_.erase(streams_.begin());
    Stream stream;
    stream.engine = std::make_unique<PlayoutEngine>(clock_, config_);
    stream.sequence = in_.U16();
    stream.timestamp = in_.U32();
    streams_.push_back(std::move(stream));
  }

  // Inserts, or holds the packet back when `hold` (it is released by a later step).
  void Insert(Stream& s, const PlayoutEngine::Packet& packet, bool garbage, bool hold) {
    if (hold && !s.held) {
      s.held_payload.assign(packet.payload.begin(), packet.payload.end());
      s.held = packet;
      s.held->payload = s.held_payload;
      s.held_garbage = garbage;
      return;
    }
    const parley::Status status = s.engine->InsertPacket(packet);
    if (garbage && status.ok()) s.dirty = true;
  }

  void SendReal(Stream& s, uint8_t choice) {
    const auto& sets = OpusPackets();
    const size_t set = choice % sets.size();
    const auto& packets = sets[set].packets;
    const size_t index = s.cursor++ % packets.size();
    s.last_real = {set, index};
    s.last_real_timestamp = s.timestamp;
    Insert(s, {kOpusPayloadType, s.sequence++, s.timestamp, packets[index]}, false,
           (choice & 8) != 0);
    s.timestamp += static_cast<uint32_t>(sets[set].frame_ms * kRtpClockHz / 1000);
  }

  void SendGarbage(Stream& s) {
    const uint8_t form = in_.Byte();
    const auto bytes = in_.Bytes(255);
    const int payload_type = (form & 1)   ? kOpusPayloadType
                             : (form & 2) ? kRedPayloadType
                                          : form >> 1;
    Insert(s, {static_cast<uint8_t>(payload_type & 0x7F), s.sequence++, s.timestamp, bytes}, true,
           (form & 0x80) != 0);
    s.timestamp += static_cast<uint32_t>(20 * kRtpClockHz / 1000);
    s.irregular = true;  // its duration is whatever the bytes say
  }

  // A DTX frame: the TOC byte of a real packet (and one more byte), standing for 20 ms.
  void SendDtx(Stream& s, uint8_t choice) {
    const auto& packets = OpusPackets()[0].packets;
    dtx_ = {packets[0][0], 0};
    const std::span<const uint8_t> payload(dtx_.data(), (choice & 1) ? 2 : 1);
    Insert(s, {kOpusPayloadType, s.sequence++, s.timestamp, payload}, false, (choice & 8) != 0);
    s.timestamp += static_cast<uint32_t>(20 * kRtpClockHz / 1000);
  }

  // A RED packet: the last real packet as the redundant block, the next one as primary
  // (as MediaSender sends them). Without RED configured it is an unknown payload type.
  void SendRed(Stream& s, uint8_t choice) {
    const auto& sets = OpusPackets();
    const size_t set = choice % sets.size();
    const auto& packets = sets[set].packets;
    const size_t index = s.cursor++ % packets.size();
    std::array<parley::rtp::RedBlock, 1> redundant;
    size_t redundant_count = 0;
    if (s.last_real &&
        s.timestamp - s.last_real_timestamp <= parley::rtp::kMaxRedTimestampOffsetTicks) {
      redundant[0] = {kOpusPayloadType, s.last_real_timestamp,
                      sets[s.last_real->first].packets[s.last_real->second]};
      redundant_count = 1;
    }
    const parley::rtp::RedBlock primary{kOpusPayloadType, s.timestamp, packets[index]};
    red_.resize(parley::rtp::RedPayloadBytes(std::span(redundant).first(redundant_count), primary));
    auto bytes =
        parley::rtp::BuildRedPayload(std::span(redundant).first(redundant_count), primary, red_);
    FUZZ_CHECK(bytes.ok());
    s.last_real = {set, index};
    s.last_real_timestamp = s.timestamp;
    Insert(s, {kRedPayloadType, s.sequence++, s.timestamp, std::span(red_).first(*bytes)}, false,
           (choice & 8) != 0);
    s.timestamp += static_cast<uint32_t>(sets[set].frame_ms * kRtpClockHz / 1000);
  }

  void ReleaseHeld(Stream& s) {
    if (!s.held) return;
    const PlayoutEngine::Packet packet = *s.held;
    s.held.reset();
    Insert(s, packet, s.held_garbage, false);
  }

  void Duplicate(Stream& s) {
    if (!s.last_real) return;
    const auto& set = OpusPackets()[s.last_real->first];
    Insert(s,
           {kOpusPayloadType, static_cast<uint16_t>(s.sequence - 1), s.last_real_timestamp,
            set.packets[s.last_real->second]},
           false, false);
  }

  void Pull(int blocks) {
    for (int b = 0; b < blocks; ++b) {
      clock_.Advance(std::chrono::milliseconds(10));
      for (Stream& s : streams_) PullOne(s);
    }
    // A block of the wrong size is refused, and changes nothing.
    std::vector<int16_t>& wrong = wrong_size_;
    wrong.resize(block_.size() + 1);
    FUZZ_CHECK(!current().engine->Pull10ms(wrong).ok());
  }

  void PullOne(Stream& s) {
    PlayoutEngine& engine = *s.engine;
    const bool was_started = engine.started();
    const auto info = engine.Pull10ms(block_);
    FUZZ_CHECK(info.ok());
    ++s.pulls;
    FUZZ_CHECK(engine.CheckInvariants().ok());
    const auto& stats = engine.stats();
    const uint64_t block_frames = static_cast<uint64_t>(engine.block_frames());
    FUZZ_CHECK(block_frames * static_cast<uint64_t>(config_.channels) == block_.size());
    FUZZ_CHECK(stats.totalSamplesReceived +
                   static_cast<uint64_t>(engine.silence_before_start_frames()) ==
               s.pulls * block_frames);
    if (was_started) FUZZ_CHECK(info->operation != Operation::kSilence);
    if (info->operation == Operation::kSilence) {
      FUZZ_CHECK(!engine.started());
      for (int16_t v : block_) FUZZ_CHECK(v == 0);
    } else {
      FUZZ_CHECK(engine.started());
      if (!s.dirty) {
        bool any = false;
        for (int16_t v : block_) any = any || v != 0;
        FUZZ_CHECK(any);
      }
    }
    const double min_ms = static_cast<double>(config_.delay.min_delay.count());
    const double max_ms = static_cast<double>(config_.delay.max_delay.count());
    FUZZ_CHECK(engine.target_delay_ms() >= min_ms && engine.target_delay_ms() <= max_ms);
    const double buffered = engine.buffered_ms();
    FUZZ_CHECK(buffered >= 0);
    FUZZ_CHECK(buffered <= kSyncCapacityMs + config_.buffer.max_packets * kMaxPacketMs);
    if (!s.irregular) {
      FUZZ_CHECK(buffered <= kSyncCapacityMs +
                                 static_cast<double>(config_.buffer.max_buffer.count()) +
                                 kMaxPacketMs);
    }
  }

  FuzzInput& in_;
  SimulatedClock clock_;
  PlayoutEngine::Config config_;
  std::vector<Stream> streams_;
  std::vector<int16_t> block_;
  std::vector<int16_t> wrong_size_;
  std::vector<uint8_t> red_;
  std::array<uint8_t, 2> dtx_{};
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)OpusPackets();  // encoded once, before the first input
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return parley::fuzz::RunProgram<Harness>(data, size);
}
