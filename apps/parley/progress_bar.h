// A one-line progress bar on stderr for long work (transcoding, lab runs).
// Drawn only when stderr is a terminal, so logs and pipes stay clean.
#pragma once

#include <string>

namespace parley::app {

class ProgressBar {
 public:
  // `label` leads the line; `total_seconds` is the media duration the work covers.
  ProgressBar(std::string label, double total_seconds);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // fraction in [0, 1]. Redraws at most every 1 % to keep the terminal cheap.
  void Update(double fraction);
  // Completes the line (100 %) and moves to the next one.
  void Finish();

  // Bars appear for media longer than this (shorter work finishes before anyone looks).
  static constexpr double kMinSeconds = 3.0;

 private:
  void Draw(double fraction);

  std::string label_;
  double total_seconds_;
  bool enabled_;
  int last_percent_ = -1;
  bool finished_ = false;
};

}  // namespace parley::app
