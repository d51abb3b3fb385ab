// Playout statistics: the W3C webrtc-stats counters of an inbound audio stream
// (RTCInboundRtpStreamStats, https://www.w3.org/TR/webrtc-stats/), under their exact names,
// plus parley's own (underflows, zero fill, drops by reason), and the recorder the playout
// engine feeds every 10 ms block.
//
// Samples are counted per channel (sample frames), as libwebrtc reports them, at the
// output sample rate. Per block the engine reports what the block is made of, then what
// it emitted:
//
//   decoded 480, accelerate removed 120:  OnNormal(480); OnAccelerate(120); OnEmitted(360)
//   decoded 480, decelerate inserted 80:  OnNormal(480); OnDecelerate(80);  OnEmitted(560)
//   buffer empty, 480 concealed:          OnUnderflow(); OnConcealed(480, false); OnEmitted(480)
//
// so that, per sample, the invariant
//
//   totalSamplesReceived (emitted) = normal + concealed + inserted - removed
//
// holds after every block; CheckInvariants() verifies it and its companions.
// Concealment events and interruptions are derived, not reported: a concealed sample after
// a non-concealed one starts an event (W3C concealmentEvents), and an event that lasts
// >= 150 ms counts, when it ends, as an interruption (interruptionCount,
// totalInterruptionDuration).
//
// Threading: not thread-safe; the engine serialises calls (readers take a copy of
// stats() on the engine's thread). Not copyable.
#pragma once

#include <chrono>
#include <cstdint>

#include "parley/base/clock.h"
#include "parley/base/result.h"
#include "parley/playout/packet_buffer.h"

namespace parley::playout {

// Plain counters; W3C members keep their W3C names (camelCase) and units.
struct PlayoutStatistics {
  // --- W3C RTCInboundRtpStreamStats (audio) ---
  // Every sample played out, concealed ones included (W3C: "includes concealedSamples").
  uint64_t totalSamplesReceived = 0;
  // Samples synthesized instead of decoded (expand, codec PLC, zero fill, comfort noise
  // standing in for lost audio), silent ones included.
  uint64_t concealedSamples = 0;
  // Concealed samples that were silence (zeros or comfort noise at silence level).
  uint64_t silentConcealedSamples = 0;
  // Times a concealed sample followed a non-concealed one.
  uint64_t concealmentEvents = 0;
  // Samples added by time stretching (slow down) / removed (speed up).
  uint64_t insertedSamplesForDeceleration = 0;
  uint64_t removedSamplesForAcceleration = 0;
  // Seconds, summed over every sample leaving the jitter buffer: that sample's wait from
  // its packet's arrival to its emission. Average = jitterBufferDelay /
  // jitterBufferEmittedCount.
  double jitterBufferDelay = 0;
  // Seconds, summed per emitted sample like jitterBufferDelay: the target delay then.
  double jitterBufferTargetDelay = 0;
  // Seconds, summed per emitted sample: the minimum delay (the configured floor) then.
  double jitterBufferMinimumDelay = 0;
  // Samples that left the jitter buffer (decoded from packets), the divisor of the three
  // sums above.
  uint64_t jitterBufferEmittedCount = 0;
  // Packets the buffer dropped without playing them: late, overflow, DiscardUpTo(),
  // Flush() (W3C: late or early arrival; duplicates are not counted).
  uint64_t packetsDiscarded = 0;
  // Redundant copies (RED, in-band FEC) received, and those not used.
  uint64_t fecPacketsReceived = 0;
  uint64_t fecPacketsDiscarded = 0;
  // Concealment events of >= 150 ms: how many, and their total length in seconds.
  uint64_t interruptionCount = 0;
  double totalInterruptionDuration = 0;

  // --- parley ---
  // Decoded samples played (before time stretching changed their number).
  uint64_t normal_samples = 0;
  // Times the buffer had nothing when audio was due.
  uint64_t underflows = 0;
  // Runs of hard zeros (no concealment available) and their samples; part of concealed.
  uint64_t zero_fill_events = 0;
  uint64_t zero_filled_samples = 0;
  // Packet buffer drops by reason (copied from PacketBuffer::Stats).
  uint64_t late_packets = 0;
  uint64_t duplicate_packets = 0;
  uint64_t overflow_dropped_packets = 0;
  // Timeline events (stream_timeline.h): new timelines followed (sender restarts, new
  // SSRCs, leaps), packets dropped as strays (off the timeline, never confirmed) and as
  // stale (the tail of a timeline already left). Strays and stale packets are also in
  // packetsDiscarded.
  uint64_t new_timelines = 0;
  uint64_t stray_packets = 0;
  uint64_t stale_packets = 0;
};

class PlayoutStatisticsRecorder {
 public:
  // An interruption is a concealment event at least this long (W3C).
  static constexpr std::chrono::milliseconds kInterruptionThreshold{150};

  // `sample_rate_hz`: the output rate (> 0); throws std::invalid_argument otherwise.
  explicit PlayoutStatisticsRecorder(int sample_rate_hz);
  PlayoutStatisticsRecorder(const PlayoutStatisticsRecorder&) = delete;
  PlayoutStatisticsRecorder& operator=(const PlayoutStatisticsRecorder&) = delete;

  // The output rate changed (codec switch); > 0, throws std::invalid_argument otherwise.
  void SetSampleRate(int sample_rate_hz);

  // Decoded audio played (merge output of real audio included). Ends a concealment event.
  void OnNormal(uint64_t samples);
  // Synthesized audio; `silent` when it is silence. Starts an event after non-concealed
  // audio.
  void OnConcealed(uint64_t samples, bool silent);
  // Hard zeros: concealed and silent, and one zero-fill event per run of them.
  void OnZeroFill(uint64_t samples);
  // Samples added by slow-down / removed by speed-up. End a concealment event (they work
  // on decoded audio).
  void OnDecelerate(uint64_t inserted);
  void OnAccelerate(uint64_t removed);
  // Samples the block emitted (totalSamplesReceived).
  void OnEmitted(uint64_t samples);
  // `samples` decoded from a packet left the jitter buffer after waiting `buffer_delay`
  // since the packet arrived, while the target was `target_delay` and the minimum
  // `minimum_delay`: the W3C jitterBuffer* sums.
  void OnJitterBufferEmitted(uint64_t samples, Clock::Duration buffer_delay,
                             Clock::Duration target_delay, Clock::Duration minimum_delay);
  // The buffer had nothing to play when audio was due.
  void OnUnderflow() { ++stats_.underflows; }
  // Copies the packet buffer's drop counters.
  void SetPacketCounts(const PacketBuffer::Stats& buffer);

  // Ok when the counters agree: emitted = normal + concealed + inserted - removed,
  // silent <= concealed, zero-filled <= silent, events <= concealed samples, interruption
  // time <= concealed time. The Error names the first that fails, with the numbers.
  [[nodiscard]] Status CheckInvariants() const;

  const PlayoutStatistics& stats() const { return stats_; }
  // Samples of the concealment event in progress (0 when none).
  uint64_t current_concealment_samples() const { return run_samples_; }

 private:
  void EndConcealmentRun();

  // Others.
  int sample_rate_hz_;
  PlayoutStatistics stats_;
  bool concealing_ = false;    // the last sample reported was concealed
  bool zero_filling_ = false;  // the last sample reported was zero fill
  uint64_t run_samples_ = 0;   // of the concealment event in progress
  double run_seconds_ = 0;     // the same in seconds (the rate may change within it)
  double concealed_seconds_ = 0;
};

}  // namespace parley::playout
