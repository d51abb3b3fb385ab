// PNG plots for the lab report, drawn by gnuplot (Debian: gnuplot-nox).
//
// A PlotSpec is one panel: titled axes, any number of x/y series and shaded x intervals
// (e.g. where the player concealed). RenderPlot draws one panel; RenderPlots stacks
// several vertically on one image with aligned left margins, so panels that share an x
// axis (time) line up.
//
// How: the data go inline into a gnuplot script (datablocks), written with a log file
// into a private temporary directory beside the output; gnuplot runs as a child process
// (posix_spawnp with an argument vector, no shell) and draws into that directory; the PNG
// is checked for its signature and renamed onto png_path, so a failed run never leaves a
// partial or stale image. The temporary directory is removed in every case.
// Text (titles, labels, colours) is passed literally: quotes, backslashes, backquotes
// (never run as commands) and gnuplot's enhanced-text characters (_ ^ @ { }) appear as
// written; line breaks become spaces.
// The terminal is pngcairo when gnuplot has it, else png.
//
// Errors: gnuplot missing ("gnuplot not found: install gnuplot-nox"), a directory of
// png_path that does not exist, a series whose x and y differ in length or whose style is
// unknown, gnuplot failing (its messages are quoted) or writing no PNG.
// Threading: independent calls may run on different threads (each has its own directory).
// Blocks until gnuplot exits: for reports, never on a media path.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "parley/base/result.h"

namespace parley::lab {

struct TimeSeries {
  std::string title;  // legend entry; empty = none
  std::vector<double> x;
  std::vector<double> y;  // same length as x; NaN or infinity leaves a gap in the line
  // gnuplot style: lines, points, linespoints, steps, fsteps, histeps, impulses, dots.
  std::string style = "lines";
  std::string color;  // "#rrggbb" or a gnuplot colour name; empty = next default colour
  double line_width = 1.5;
};

struct PlotSpec {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<TimeSeries> series;
  // [start, end] x intervals drawn as shaded bands behind the data (order does not matter;
  // overlapping or touching intervals are merged).
  std::vector<std::pair<double, double>> shaded_intervals;
  std::string shaded_label = "concealment";  // legend entry for the bands; empty = none
  std::string shaded_color = "#f4c7c3";
  // Axis ranges; unset = fitted to the data.
  std::optional<double> x_min, x_max, y_min, y_max;
  int width_px = 1200;
  int height_px = 500;  // for RenderPlots: this panel's share of the image height
};

// True when a `gnuplot` executable is on PATH.
bool GnuplotAvailable();

// Draws `spec` into the PNG file `png_path` (replaced if it exists).
[[nodiscard]] Status RenderPlot(const PlotSpec& spec, const std::string& png_path);

// Draws `panels` stacked top to bottom into one PNG: width is the widest panel's, height
// the sum of the panels' heights. Fails if `panels` is empty.
[[nodiscard]] Status RenderPlots(std::span<const PlotSpec> panels, const std::string& png_path);

}  // namespace parley::lab
