#include "parley/lab/sox_resample.h"

#include <fmt/format.h>
#include <soxr.h>

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace parley::lab {
namespace {

constexpr int kMaxRateHz = 1'000'000;

}  // namespace

Result<std::vector<int16_t>> ResampleLikeSox(std::span<const int16_t> mono, int from_hz,
                                             int to_hz) {
  if (from_hz <= 0 || to_hz <= 0 || from_hz > kMaxRateHz || to_hz > kMaxRateHz) {
    return Error{fmt::format("resampling {} Hz -> {} Hz: rates must be 1..{} Hz", from_hz, to_hz,
                             kMaxRateHz)};
  }
  if (from_hz == to_hz) return std::vector<int16_t>(mono.begin(), mono.end());
  const auto out_samples = static_cast<size_t>(
      std::llround(static_cast<double>(mono.size()) * to_hz / static_cast<double>(from_hz)));
  std::vector<int16_t> out(out_samples);
  if (mono.empty() || out.empty()) return out;

  // sox -R -D ... rate -v: SoX's very high quality (28-bit precision, 175 dB rejection),
  // linear phase, no dither on the 16-bit output.
  soxr_io_spec_t io = soxr_io_spec(SOXR_INT16_I, SOXR_INT16_I);
  io.flags |= SOXR_NO_DITHER;
  const soxr_quality_spec_t quality = soxr_quality_spec(SOXR_VHQ, SOXR_LINEAR_PHASE);
  const soxr_runtime_spec_t runtime = soxr_runtime_spec(1);  // one thread: the same every run
  size_t done = 0;
  const soxr_error_t error = soxr_oneshot(from_hz, to_hz, 1, mono.data(), mono.size(), nullptr,
                                          out.data(), out.size(), &done, &io, &quality, &runtime);
  if (error != nullptr) {
    return Error{fmt::format("resampling {} Hz -> {} Hz: libsoxr: {}", from_hz, to_hz, error)};
  }
  // soxr flushes its filter and gives the length asked for; were it ever less, the rest is
  // silence, so that the length stays the promised one.
  std::fill(out.begin() + static_cast<ptrdiff_t>(std::min(done, out.size())), out.end(), 0);
  return out;
}

}  // namespace parley::lab
