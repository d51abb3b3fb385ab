// Concealment of missing audio (NetEq's Expand), by gap length:
//
//   short  (event time < short_gap_ms, 20 ms: one packet): pitch-period repetition of
//          the last played audio at full level;
//   medium (< long_gap_ms, 120 ms): the repetition decays by decay_db_per_20ms (6 dB per
//          20 ms) and each repeated cycle takes a slightly random period (+-2 %) and
//          starts one or two periods back, so the repetition does not buzz; comfort
//          noise fills in power-complementarily (g_v^2 + g_n^2 = 1), so the total level
//          falls monotonically from the speech level to the background level;
//   long   (>= long_gap_ms): the repetition fades out linearly over fade_out_ms and the
//          output is comfort noise at the background level (never digital zero: at least
//          comfort_floor_dbfs, at most the level of the history minus
//          comfort_below_recent_db). Samples from then on
//          are "silent concealment" (W3C silentConcealedSamples).
//
// Repetition: cycles of the last played audio are overlap-added with a raised-cosine
// crossfade of a quarter period; the first cycle starts one period back and is offset
// (fading over the overlap) so its first sample follows the last played one with the
// signal's own slope.
//
// The engine feeds every block it plays that did not come from this class to
// AppendPlayed() (decoded, stretched, merged audio); the conceal calls record their own
// output. Real audio ends the concealment event. When the decoder has its own PLC the
// engine passes its output through ShapeCodecPlc(), which applies the same envelope and
// noise, so both paths behave alike over time.
//
// Samples: int16, mono or interleaved (analysis on the channel average). Not thread-safe;
// no allocation after construction. Misuse throws std::invalid_argument.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "parley/audio/audio_frame.h"
#include "parley/playout/comfort_noise.h"
#include "parley/playout/pitch.h"

namespace parley::playout {

struct ExpandConfig {
  audio::AudioFormat format{16000, 1};  // 8000..48000 Hz, 1..8 channels
  // Played audio kept for analysis: enough for two 20 ms periods plus overlap, and for a
  // background estimate over several 10 ms blocks.
  double history_ms = 100.0;
  double min_lag_ms = 2.5;
  double max_lag_ms = 20.0;
  double short_gap_ms = 20.0;      // full-level repetition (one packet)
  double decay_db_per_20ms = 6.0;  // after short_gap_ms
  double long_gap_ms = 120.0;      // then fade the repetition out...
  double fade_out_ms = 20.0;       // ...over this long, leaving comfort noise
  double comfort_floor_dbfs = -70.0;
  // The comfort noise stays at least this far below the recent level: a background
  // estimate that has not yet seen a pause (loss early in a call, a steady tone) must not
  // turn concealment into loud hiss. Real backgrounds sit further below speech.
  double comfort_below_recent_db = 20.0;
  // Random change of the repeated period in medium gaps, as a fraction of the period.
  double lag_jitter = 0.02;
  // Comfort noise spectral shaping order (0: white).
  int comfort_lpc_order = 10;
  uint64_t seed = 1;
};

enum class ConcealmentPhase { kNone, kShort, kMedium, kLong };

struct ConcealResult {
  int frames = 0;         // samples per channel written
  int silent_frames = 0;  // of which comfort noise only (W3C silentConcealedSamples)
};

class Expand {
 public:
  static constexpr int kMaxChannels = 8;

  explicit Expand(const ExpandConfig& config);
  Expand(const Expand&) = delete;
  Expand& operator=(const Expand&) = delete;

  // Records audio that was played (not produced by this class): ends any concealment
  // event. Interleaved; any length (longer than the history keeps its end).
  void AppendPlayed(std::span<const int16_t> samples);

  // Writes out.size() / channels samples per channel continuing the played audio.
  // Starts a concealment event if none is running.
  ConcealResult ConcealFromHistory(std::span<int16_t> out);
  // Applies the concealment envelope to codec PLC output in place (gain g_v, comfort
  // noise g_n), and records it as played. Starts an event if none is running.
  ConcealResult ShapeCodecPlc(std::span<int16_t> samples);
  // Writes what the next ConcealFromHistory() would, without advancing: the signal a
  // Merge splices new audio against.
  void Preview(std::span<int16_t> out);

  // Forgets history and any event.
  void Reset();

  bool in_event() const { return event_.active; }
  // Samples per channel concealed in the current event.
  int64_t event_frames() const { return event_.frames; }
  ConcealmentPhase phase() const;
  // Gain of the repeated signal for the next concealed sample, 1..0 (1 outside events).
  double voiced_gain() const;
  // Level of the comfort noise of the current event, dBFS (0 outside events).
  double comfort_level_dbfs() const { return event_.active ? event_.comfort_dbfs : 0.0; }
  // Running background (noise floor) estimate of the played audio, dBFS.
  double background_dbfs() const;
  // Period repeated in the current event, samples per channel (0: none, noise only).
  int lag_frames() const { return event_.lag; }

 private:
  struct Event {
    bool active = false;
    int64_t frames = 0;  // concealed so far
    int lag = 0;         // base period; 0 when the history had none usable
    int overlap = 0;     // crossfade between cycles
    int grain_length = 0;
    int grain_start = 0;  // source frame of the current cycle's first output sample
    int grain_pos = 0;
    bool first_grain = true;
    uint32_t rng = 1;
    double comfort_dbfs = 0.0;
    std::array<float, kMaxChannels> first_offset{};
    ComfortNoise::State noise;
  };

  void StartEvent();
  void NextGrain();
  double VoicedGain(int64_t t, bool has_signal) const;
  ConcealResult Generate(std::span<int16_t> samples, bool codec_plc, bool commit);
  void AppendHistory(std::span<const int16_t> samples);
  void TrackBackground(std::span<const int16_t> samples);

  // Passed by argument.
  const ExpandConfig config_;
  const int channels_;
  const int history_frames_;
  const int block_frames_;  // 10 ms
  const int short_frames_;
  const int long_frames_;
  const int fade_frames_;
  const double decay_db_per_frame_;
  // Allocated by this.
  std::vector<int16_t> history_;  // last history_frames_ played, oldest first
  std::vector<int16_t> source_;   // history frozen at the start of the event
  std::vector<float> mono_;       // analysis scratch
  std::vector<float> noise_;      // one block of comfort noise
  PitchEstimator pitch_;
  ComfortNoise comfort_;
  // Others.
  int history_filled_ = 0;  // frames
  int source_frames_ = 0;
  Event event_;
  double background_power_ = -1.0;  // mean square, int16 units; < 0: no estimate yet
  double block_energy_ = 0.0;
  int block_filled_ = 0;
};

}  // namespace parley::playout
