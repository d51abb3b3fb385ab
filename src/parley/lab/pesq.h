// Perceptual scores of what each player's listener heard: ITU-T P.862.2 wideband and
// P.862 narrowband (mapped by P.862.1) MOS-LQO, computed by an outside scorer program. The
// E-model of the report sees only delay and loss; a perceptual score also hears how
// concealment sounds, merges that click and time-stretching inside speech.
//
// parley carries no scorer: the user names one (`parley lab --pesq PATH`), and it runs as
// a child process (child_process.h: no shell). Its contract:
//   SCORER --wb REF16.wav DEG16.wav   16 kHz mono WAVs -> P.862.2 MOS-LQO
//   SCORER --nb REF8.wav DEG8.wav     8 kHz mono WAVs  -> P.862 + P.862.1 MOS-LQO
// printing one line on stdout that starts with the score, exit status 0; anything else
// (not found, a non-zero exit, a signal, no number first) is an Error naming the scorer,
// the player and the band.
//
// What is scored, so that scores compare with those made by hand the same way:
//   reference  the sender's input, mono, resampled to 16 kHz (8 kHz for NB) like
//              `sox IN.wav -R -D -r 16000 REF16.wav rate -v` (sox_resample.h);
//   degraded   the player's output (the lab's output rate), shifted so that it starts
//              where the media starts: by the player's initial send -> playout delay (that
//              of its first normal block) and the codec's delay (Opus: 312 samples at
//              48 kHz, 6.5 ms; other codecs: 0), then cut or padded with silence to the
//              reference's duration, then resampled the same way (and cut or padded to the
//              reference's exact length once more, against rounding).
// The scorer's files go to a private temporary directory, removed in every case.
//
// Threading: independent calls may run on different threads. Blocks for the scorer's runs
// (two per player): for reports, never on a media path.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "parley/audio/audio_frame.h"
#include "parley/base/result.h"
#include "parley/codec/codec.h"
#include "parley/lab/lab_call.h"

namespace parley::lab {

// The decoder's delay of Opus at 48 kHz (libopus's lookahead: 2.5 ms plus 4 ms of delay
// compensation): decoded sample n + 312 is input sample n.
inline constexpr int kOpusDelaySamples48k = 312;

// The rates the scorer takes.
inline constexpr int kPesqWidebandRateHz = 16000;
inline constexpr int kPesqNarrowbandRateHz = 8000;

enum class PesqBand { kWideband, kNarrowband };
// "wb", "nb": the band's scorer flag without its dashes.
std::string_view PesqBandName(PesqBand band);

struct PesqScores {
  double wideband = 0;    // P.862.2 MOS-LQO
  double narrowband = 0;  // P.862 + P.862.1 MOS-LQO
};

// How far the decoded audio of `codec` lags its input, in samples at `rate_hz`: Opus's
// 312 samples at 48 kHz scaled to the rate; 0 for the other codecs (none states a delay).
int CodecDelaySamples(const codec::CodecInfo& codec, int rate_hz);

// Where input sample 0 plays in `run.output`, in output samples: the send -> playout delay
// of the player's first normal block (its time minus the send time of the media it starts
// with, send_time_index.h) plus the codec's delay. A player that played no normal block is
// aligned on its first block of decoded media of any kind (fec, insert, remove). Error: the
// player played no media at all.
[[nodiscard]] Result<int64_t> MediaStartSample(const LabStream& stream, const PlayerRun& run);

// `signal[start, start + length)`, with silence wherever that reaches outside the signal.
std::vector<int16_t> CutOrPad(std::span<const int16_t> signal, int64_t start, size_t length);

// The degraded signal of `run` at the stream's output rate: its output from
// MediaStartSample on, `length` samples (the reference's duration at that rate).
[[nodiscard]] Result<std::vector<int16_t>> DegradedForScoring(const LabStream& stream,
                                                              const PlayerRun& run, size_t length);

// The score at the start of a scorer's output: the first token must be a number (decimal,
// not NaN or infinite) within -0.5..5 (PESQ's raw range and every MOS-LQO mapping's).
// Error: no such number (the message quotes the start of the output).
[[nodiscard]] Result<double> ParseScorerOutput(std::string_view output);

// Runs `scorer --wb|--nb REF DEG` once, its stdout and stderr kept in `work_dir`. Errors
// name the scorer and say what went wrong (not found, exit status with the start of its
// stderr, or an output that is no score).
[[nodiscard]] Result<double> RunScorer(const std::string& scorer, PesqBand band,
                                       const std::string& reference_wav,
                                       const std::string& degraded_wav,
                                       const std::string& work_dir);

// Scores each of `runs` against `input` (the sender's input, any rate, any channels) with
// `scorer`, both bands. Errors name the scorer and the player ("PESQ scorer /x/pesq,
// player speexdsp (wb): exit status 1: cannot open ..."); the temporary directory (in the
// system's, TMPDIR) is removed whatever happens.
[[nodiscard]] Result<std::vector<PesqScores>> ScorePlayers(const std::string& scorer,
                                                           const audio::AudioFrame& input,
                                                           const LabStream& stream,
                                                           std::span<const PlayerRun> runs);

}  // namespace parley::lab
