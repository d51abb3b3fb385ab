#include <fmt/format.h>

#include <memory>

#include "commands.h"
#include "parley/container/transcoder.h"
#include "progress_bar.h"

namespace parley::app {
namespace {

class ProgressListener final : public container::TranscodeListener {
 public:
  explicit ProgressListener(std::string label) : label_(std::move(label)) {}
  void OnStart(double total_seconds) override {
    bar_ = std::make_unique<ProgressBar>(label_, total_seconds);
    total_seconds_ = total_seconds;
  }
  void OnProgress(double done_seconds) override {
    if (bar_ && total_seconds_ > 0) bar_->Update(done_seconds / total_seconds_);
  }
  void Finish() {
    if (bar_) bar_->Finish();
  }

 private:
  std::string label_;
  std::unique_ptr<ProgressBar> bar_;
  double total_seconds_ = 0;
};

}  // namespace

int RunTranscode(const TranscodeArgs& args) {
  container::TranscodeOptions options;
  options.input_path = args.input;
  options.output_path = args.output;
  options.codec_name = args.codec;
  options.encoder.bitrate_bps = args.bitrate_bps;
  options.encoder.frame_ms = args.frame_ms;
  options.encoder.complexity = args.complexity;
  options.encoder.fec = args.fec;
  options.encoder.expected_loss_percent = args.expected_loss_percent;
  options.encoder.dtx = args.dtx;
  options.raw_sample_rate_hz = args.raw_rate_hz;
  options.raw_channels = args.raw_channels;
  options.accept_damaged_input = args.accept_damaged;

  ProgressListener progress("transcode");
  auto summary = container::Transcode(options, args.quiet ? nullptr : &progress);
  if (!summary) {
    fmt::print(stderr, "parley transcode: {}\n", summary.error().message);
    return 1;
  }
  progress.Finish();
  for (const std::string& warning : summary->warnings) {
    fmt::print(stderr, "parley transcode: warning: {}\n", warning);
  }
  if (!args.quiet) {
    std::string rate;
    if (summary->packets > 0) {
      rate = fmt::format(", {} packets, {:.1f} kbit/s", summary->packets,
                         summary->payload_bitrate_bps / 1000);
    }
    fmt::print("{} ({}, {:.2f} s) -> {} ({}): {} bytes{}\n", args.input, summary->input_description,
               summary->duration_seconds, args.output, summary->output_description,
               summary->output_bytes, rate);
  }
  return 0;
}

}  // namespace parley::app
