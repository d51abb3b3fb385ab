#include "progress_bar.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace parley::app {
namespace {
constexpr int kBarWidth = 30;
}

ProgressBar::ProgressBar(std::string label, double total_seconds)
    : label_(std::move(label)),
      total_seconds_(total_seconds),
      enabled_(total_seconds >= kMinSeconds && isatty(STDERR_FILENO) == 1) {}

ProgressBar::~ProgressBar() {
  // An abandoned bar (error path) still leaves the cursor on a fresh line.
  if (enabled_ && !finished_ && last_percent_ >= 0) std::fputc('\n', stderr);
}

void ProgressBar::Update(double fraction) {
  if (!enabled_ || finished_) return;
  const int percent = static_cast<int>(std::clamp(fraction, 0.0, 1.0) * 100);
  if (percent == last_percent_) return;
  last_percent_ = percent;
  Draw(fraction);
}

void ProgressBar::Finish() {
  if (!enabled_ || finished_) return;
  Draw(1.0);
  std::fputc('\n', stderr);
  finished_ = true;
}

void ProgressBar::Draw(double fraction) {
  fraction = std::clamp(fraction, 0.0, 1.0);
  const int filled = static_cast<int>(fraction * kBarWidth);
  fmt::print(stderr, "\r{} [{}{}] {:3d}%  {:.1f} / {:.1f} s", label_, std::string(filled, '#'),
             std::string(kBarWidth - filled, '.'), static_cast<int>(fraction * 100),
             fraction * total_seconds_, total_seconds_);
  std::fflush(stderr);
}

}  // namespace parley::app
