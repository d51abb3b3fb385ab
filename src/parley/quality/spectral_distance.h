// Log-spectral distance (LSD) between a reference and a degraded signal, in dB: how far
// apart their short-time power spectra are, frame by frame. 0 for identical frames; a few
// dB for a mild degradation; tens of dB when one side is silent or a different sound.
// An objective figure for the lab report beside SNR (audio/similarity.h); it is not a
// perceptual score.
//
//   frame (N samples) --x Hann--> FFT (FFTW, single precision) --> P[k] = |X[k]|^2 / sum w^2
//   LSD = sqrt( mean over k in 0..K of (10 log10(P_ref[k] + eps) - 10 log10(P_deg[k] + eps))^2 )
//
// Samples are taken as fractions of int16 full scale, so P is a power per bin relative to
// full scale (white noise of RMS level L dBFS has P ~ L dB in every bin). eps is the
// power floor (floor_dbfs): bins below it on both sides count as equal, which keeps
// inaudible differences deep in the noise from dominating the mean. K is the bin of
// max_frequency_hz (Nyquist by default).
//
// The signals must already be aligned (find the codec delay first, e.g. with
// audio::CompareAligned's lag_samples).
//
// Threading: a SpectralDistance is used by one thread at a time; separate instances may
// run on separate threads (FFTW plan creation and destruction, which FFTW does not make
// thread-safe, are serialised inside). MeanSpectralDistance is safe from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "parley/audio/similarity.h"

namespace parley::quality {

struct SpectralDistanceOptions {
  // Power floor added to every bin, dB relative to full scale per bin. -90 dB is 10 dB
  // above int16 rounding noise (-101 dB per bin): rounding differences between two
  // signals barely register, while speech bins (-30..-90 dB) all count.
  double floor_dbfs = -90.0;
  // Highest frequency compared, Hz; 0 = Nyquist. E.g. 4000 to compare a narrowband path
  // only where it can carry audio.
  double max_frequency_hz = 0.0;
};

// LSD of single frames. Holds its FFT plan and buffers: nothing is allocated per frame.
class SpectralDistance {
 public:
  // Throws std::invalid_argument unless sample_rate_hz > 0, frame_samples >= 16,
  // options.max_frequency_hz is in 0..sample_rate_hz / 2 and floor_dbfs is finite.
  SpectralDistance(int sample_rate_hz, int frame_samples, SpectralDistanceOptions options = {});
  ~SpectralDistance();
  SpectralDistance(const SpectralDistance&) = delete;
  SpectralDistance& operator=(const SpectralDistance&) = delete;

  int sample_rate_hz() const { return sample_rate_hz_; }
  int frame_samples() const { return frame_samples_; }

  // The LSD between one reference frame and one degraded frame, dB (>= 0). Both must hold
  // exactly frame_samples() mono samples; throws std::invalid_argument otherwise.
  double FrameDb(std::span<const int16_t> reference, std::span<const int16_t> degraded);

 private:
  struct Fft;

  // Writes the floored power spectrum of `frame` in dB, bins_ values, to `power_db`.
  void PowerDb(std::span<const int16_t> frame, double* power_db);

  // passed by argument
  int sample_rate_hz_;
  int frame_samples_;
  SpectralDistanceOptions options_;
  // allocated by this
  std::unique_ptr<Fft> fft_;  // FFTW plan and its aligned buffers
  std::unique_ptr<float[]> window_;
  std::unique_ptr<double[]> reference_db_;
  std::unique_ptr<double[]> degraded_db_;
  // others
  int bins_ = 0;  // bins compared: 0..bins_ - 1
  double floor_power_ = 0.0;
  double window_power_ = 0.0;  // sum of w^2
};

// RMS level of `frame` in dB relative to int16 full scale (a full-scale square wave is
// 0 dBFS); -200 for digital silence or an empty frame.
double FrameLevelDbfs(std::span<const int16_t> frame);

struct SpectralDistanceConfig {
  double frame_ms = 20.0;  // analysis frame
  double hop_ms = 10.0;    // step between frames (half-overlapping Hann frames)
  // Frames whose reference is quieter than this are skipped: the distance between two
  // near-silences says nothing about the audio.
  double silence_dbfs = audio::kSilenceDbfs;
  SpectralDistanceOptions options;
};

struct SpectralDistanceSummary {
  double mean_db = 0.0;     // mean LSD over compared frames; NaN if none was compared
  double max_db = 0.0;      // worst compared frame; NaN if none
  int frames_compared = 0;  // frames whose reference is not silent
  int frames_silent = 0;    // frames skipped for a silent reference
};

// The LSD over the common length of two aligned mono signals, frame by frame (a final
// partial frame is left out). Throws std::invalid_argument if sample_rate_hz <= 0 or the
// config gives a frame under 16 samples or a hop under 1 sample.
SpectralDistanceSummary MeanSpectralDistance(std::span<const int16_t> reference,
                                             std::span<const int16_t> degraded, int sample_rate_hz,
                                             const SpectralDistanceConfig& config = {});

}  // namespace parley::quality
