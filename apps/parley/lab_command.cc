// parley lab: a call over a simulated network, played through parley's playout engine
// (and, with --compare, the baselines), with its report, block logs, trace and plots.
// A thin shell over parley::lab::RunLab.
#include <fmt/format.h>

#include "commands.h"
#include "lab_setup.h"
#include "parley/lab/lab_run.h"
#include "parley/quality/profile.h"
#include "progress_bar.h"

namespace parley::app {

int RunLab(const LabArgs& args) {
  auto config = MakeLabRunConfig(args);
  if (!config.ok()) {
    fmt::print(stderr, "parley lab: {}\n", config.error().message);
    return 1;
  }
  const double seconds = config->packet_log ? 0.0 : config->input.duration_ms().count() / 1000.0;
  std::optional<ProgressBar> bar;
  if (!args.quiet) bar.emplace("lab", seconds * static_cast<double>(config->players.size()));
  auto result = lab::RunLab(*config, [&](double fraction) {
    if (bar) bar->Update(fraction);
  });
  if (bar) bar->Finish();
  if (!result.ok()) {
    fmt::print(stderr, "parley lab: {}\n", result.error().message);
    return 1;
  }
  auto files = lab::WriteLabOutputs(*result, args.output, !args.no_plot);
  if (!files.ok()) {
    fmt::print(stderr, "parley lab: {}\n", files.error().message);
    return 1;
  }
  if (!args.quiet) {
    fmt::print("{}\n", lab::ReportTable(result->report));
    fmt::print("{}\n", kLabLegend);
    fmt::print("wrote:");
    for (const std::string& file : *files) fmt::print(" {}", file);
    fmt::print("\n");
  }
  return 0;
}

int RunListLabPresets() {
  fmt::print("Network presets (--preset):\n");
  for (const lab::NetworkPreset& preset : lab::NetworkPresets()) {
    fmt::print("  {:<14} {}\n", preset.name, preset.description);
  }
  fmt::print("\nSender profiles (--profile):\n");
  for (const quality::Profile& profile : quality::ProfileLadder()) {
    fmt::print("  {:<14} {}\n", profile.name, profile.description);
  }
  return 0;
}

}  // namespace parley::app
