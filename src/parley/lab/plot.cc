#include "parley/lab/plot.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <locale>
#include <sstream>
#include <string_view>
#include <system_error>

#include "parley/lab/child_process.h"

namespace parley::lab {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kGnuplot = "gnuplot";
constexpr std::string_view kNotFound = "gnuplot not found: install gnuplot-nox";
constexpr std::array<std::string_view, 8> kStyles = {"lines",  "points",  "linespoints", "steps",
                                                     "fsteps", "histeps", "impulses",    "dots"};
constexpr std::array<unsigned char, 8> kPngSignature = {0x89, 'P',  'N',  'G',
                                                        '\r', '\n', 0x1a, '\n'};
constexpr int kMinPixels = 64;
constexpr int kMaxPixels = 16384;
// Fixed side margins (character widths) so that stacked panels share their x positions
// whatever their tick labels; the legend goes below the plot for the same reason.
constexpr int kLeftMargin = 12;
constexpr int kRightMargin = 4;
// How much of gnuplot's complaint goes into the error message.
constexpr size_t kMaxErrorChars = 400;

// `text` as a gnuplot string expression that reads back literally. gnuplot scans a command
// line for macros (@name) and, outside single quotes, for backquoted shell commands before
// it parses quotes, and '' inside single quotes is unreliable; so the text goes into
// single-quoted pieces holding no character gnuplot might act on, and each such
// character is spliced in as sprintf("%c", code):  it's -> ('it' . sprintf("%c",39) . 's')
// A line break would end the command, so control characters become spaces.
std::string Quote(std::string_view text) {
  constexpr std::string_view kSpliced = "'\"`@#;$!\\";
  std::string out = "(";
  bool in_piece = false;
  bool first = true;
  const auto separate = [&] {
    if (!first) out += " . ";
    first = false;
  };
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (kSpliced.find(c) != std::string_view::npos) {
      if (in_piece) out += '\'';
      in_piece = false;
      separate();
      out += fmt::format("sprintf(\"%c\",{})", static_cast<int>(u));
      continue;
    }
    if (!in_piece) {
      separate();
      out += '\'';
      in_piece = true;
    }
    out += (u < 0x20 || u == 0x7f) ? ' ' : c;
  }
  if (in_piece) out += '\'';
  if (first) out += "''";
  out += ')';
  return out;
}

// A data value: the shortest form that reads back exactly; NaN for a gap.
std::string Number(double value) {
  return std::isfinite(value) ? fmt::format("{}", value) : std::string("NaN");
}

std::string Range(const std::optional<double>& low, const std::optional<double>& high) {
  return fmt::format("[{}:{}]", low ? Number(*low) : "*", high ? Number(*high) : "*");
}

std::string Describe(const PlotSpec& panel, size_t index) {
  return fmt::format("plot panel {} '{}'", index, panel.title);
}

Status CheckPanel(const PlotSpec& panel, size_t index) {
  const std::string where = Describe(panel, index);
  if (panel.width_px < kMinPixels || panel.width_px > kMaxPixels) {
    return Error{fmt::format("{}: width_px {} not in {}..{}", where, panel.width_px, kMinPixels,
                             kMaxPixels)};
  }
  if (panel.height_px < kMinPixels || panel.height_px > kMaxPixels) {
    return Error{fmt::format("{}: height_px {} not in {}..{}", where, panel.height_px, kMinPixels,
                             kMaxPixels)};
  }
  for (const auto* bound : {&panel.x_min, &panel.x_max, &panel.y_min, &panel.y_max}) {
    if (bound->has_value() && !std::isfinite(**bound)) {
      return Error{fmt::format("{}: axis range bounds must be finite", where)};
    }
  }
  if (panel.x_min && panel.x_max && *panel.x_min >= *panel.x_max) {
    return Error{fmt::format("{}: x_min {} >= x_max {}", where, *panel.x_min, *panel.x_max)};
  }
  if (panel.y_min && panel.y_max && *panel.y_min >= *panel.y_max) {
    return Error{fmt::format("{}: y_min {} >= y_max {}", where, *panel.y_min, *panel.y_max)};
  }
  for (size_t s = 0; s < panel.series.size(); ++s) {
    const TimeSeries& series = panel.series[s];
    if (series.x.size() != series.y.size()) {
      return Error{fmt::format("{}: series {} '{}': x has {} values, y has {}", where, s,
                               series.title, series.x.size(), series.y.size())};
    }
    if (std::find(kStyles.begin(), kStyles.end(), series.style) == kStyles.end()) {
      return Error{fmt::format("{}: series {} '{}': style '{}' is not one of {}", where, s,
                               series.title, series.style, fmt::join(kStyles, ", "))};
    }
    if (!(series.line_width > 0.0 && std::isfinite(series.line_width))) {
      return Error{fmt::format("{}: series {} '{}': line_width {} must be > 0", where, s,
                               series.title, series.line_width)};
    }
  }
  for (const auto& [start, end] : panel.shaded_intervals) {
    if (!std::isfinite(start) || !std::isfinite(end)) {
      return Error{fmt::format("{}: shaded interval [{}, {}] is not finite", where, start, end)};
    }
  }
  return Status::Ok();
}

// Sorted, with overlapping or touching intervals joined.
std::vector<std::pair<double, double>> MergedIntervals(
    const std::vector<std::pair<double, double>>& intervals) {
  std::vector<std::pair<double, double>> sorted;
  sorted.reserve(intervals.size());
  for (const auto& [a, b] : intervals) sorted.emplace_back(std::min(a, b), std::max(a, b));
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::pair<double, double>> merged;
  for (const auto& interval : sorted) {
    if (!merged.empty() && interval.first <= merged.back().second) {
      merged.back().second = std::max(merged.back().second, interval.second);
    } else {
      merged.push_back(interval);
    }
  }
  return merged;
}

bool HasValidPoint(const PlotSpec& panel) {
  for (const TimeSeries& series : panel.series) {
    for (size_t i = 0; i < series.x.size(); ++i) {
      if (std::isfinite(series.x[i]) && std::isfinite(series.y[i])) return true;
    }
  }
  return false;
}

void WritePanel(std::ostringstream& script, const PlotSpec& panel, size_t index) {
  // Data first: a datablock per series (one "NaN NaN" row keeps an empty series plottable).
  for (size_t s = 0; s < panel.series.size(); ++s) {
    const TimeSeries& series = panel.series[s];
    script << "$p" << index << "s" << s << " << EOD\n";
    for (size_t i = 0; i < series.x.size(); ++i) {
      script << Number(series.x[i]) << ' ' << Number(series.y[i]) << '\n';
    }
    if (series.x.empty()) script << "NaN NaN\n";
    script << "EOD\n";
  }

  const std::vector<std::pair<double, double>> bands = MergedIntervals(panel.shaded_intervals);
  std::optional<double> x_min = panel.x_min;
  std::optional<double> x_max = panel.x_max;
  std::optional<double> y_min = panel.y_min;
  std::optional<double> y_max = panel.y_max;
  // gnuplot refuses to autoscale an axis with no valid point; give it fixed ranges (the
  // bands' extent if any) so that an empty panel still draws its frame.
  if (!HasValidPoint(panel)) {
    const bool have_bands = !bands.empty() && bands.back().second > bands.front().first;
    if (!x_min) x_min = have_bands ? bands.front().first : 0.0;
    if (!x_max) x_max = have_bands ? bands.back().second : *x_min + 1.0;
    if (!y_min) y_min = 0.0;
    if (!y_max) y_max = *y_min + 1.0;
  }

  script << "unset object\n"
         << "set title " << Quote(panel.title) << '\n'
         << "set xlabel " << Quote(panel.x_label) << '\n'
         << "set ylabel " << Quote(panel.y_label) << '\n'
         << "set xrange " << Range(x_min, x_max) << '\n'
         << "set yrange " << Range(y_min, y_max) << '\n'
         << "set grid\n"
         << "set key below horizontal\n"
         << "set lmargin " << kLeftMargin << "\nset rmargin " << kRightMargin << '\n';
  int object = 1;
  for (const auto& [start, end] : bands) {
    script << "set object " << object++ << " rect from first " << Number(start)
           << ", graph 0 to first " << Number(end) << ", graph 1 behind fc rgb "
           << Quote(panel.shaded_color) << " fs solid 1.0 noborder\n";
  }

  std::vector<std::string> elements;
  for (size_t s = 0; s < panel.series.size(); ++s) {
    const TimeSeries& series = panel.series[s];
    std::string element = fmt::format("$p{}s{} using 1:2 with {} lw {}", index, s, series.style,
                                      Number(series.line_width));
    if (!series.color.empty()) element += " lc rgb " + Quote(series.color);
    element += series.title.empty() ? " notitle" : " title " + Quote(series.title);
    elements.push_back(std::move(element));
  }
  if (!bands.empty() && !panel.shaded_label.empty()) {
    elements.push_back("keyentry with boxes fc rgb " + Quote(panel.shaded_color) +
                       " fs solid 1.0 title " + Quote(panel.shaded_label));
  }
  if (panel.series.empty()) {
    // Something to plot: an undefined function draws nothing but the axes.
    elements.push_back("NaN notitle");
  }
  script << "plot " << fmt::format("{}", fmt::join(elements, ", \\\n     ")) << '\n';
}

std::string Script(std::span<const PlotSpec> panels, const std::string& png_path) {
  int width = 0;
  int height = 0;
  for (const PlotSpec& panel : panels) {
    width = std::max(width, panel.width_px);
    height += panel.height_px;
  }
  std::ostringstream script;
  script.imbue(std::locale::classic());  // no digit grouping in sizes, whatever the locale
  script << "set encoding utf8\n"
         << "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
         << "  set terminal pngcairo size " << width << ',' << height
         << " noenhanced font 'sans,10'\n"
         << "} else {\n"
         << "  set terminal png size " << width << ',' << height << " noenhanced\n"
         << "}\n"
         << "set output " << Quote(png_path) << '\n';
  const bool stacked = panels.size() > 1;
  if (stacked) script << "set multiplot\n";
  int above = 0;  // pixels taken by the panels drawn so far, from the top
  for (size_t i = 0; i < panels.size(); ++i) {
    if (stacked) {
      const double size = static_cast<double>(panels[i].height_px) / height;
      const double origin = 1.0 - static_cast<double>(above + panels[i].height_px) / height;
      script << "set origin 0," << Number(origin) << "\nset size 1," << Number(size) << '\n';
      above += panels[i].height_px;
    }
    WritePanel(script, panels[i], i);
  }
  if (stacked) script << "unset multiplot\n";
  script << "set output\n";  // closes the file so it is complete when gnuplot exits
  return script.str();
}

// Runs `gnuplot script` with stdin from /dev/null and stdout/stderr into `log_path`.
Result<ChildExit> RunGnuplot(const fs::path& script_path, const fs::path& log_path) {
  auto exit = RunChild(std::string(kGnuplot), {script_path.string()}, log_path);
  if (!exit.ok()) {
    if (!ProgramAvailable(std::string(kGnuplot))) return Error{std::string(kNotFound)};
    return Error{"plot: " + exit.error().message};
  }
  return exit;
}

// The first lines of gnuplot's output that say what went wrong. gnuplot echoes the
// offending command and marks the column with '^': only the lines that carry words count.
std::string GnuplotComplaint(const fs::path& log_path) {
  std::string text;
  std::ifstream log(log_path);
  std::string line;
  while (std::getline(log, line) && text.size() < kMaxErrorChars) {
    if (line.find_first_not_of(" \t^") == std::string::npos) continue;
    if (!text.empty()) text += " | ";
    text += line;
  }
  if (text.size() > kMaxErrorChars) text.resize(kMaxErrorChars);
  return text.empty() ? "no message" : text;
}

bool HasPngSignature(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::array<char, kPngSignature.size()> head{};
  if (!file.read(head.data(), head.size())) return false;
  return std::equal(head.begin(), head.end(), kPngSignature.begin(),
                    [](char a, unsigned char b) { return static_cast<unsigned char>(a) == b; });
}

}  // namespace

bool GnuplotAvailable() { return ProgramAvailable(std::string(kGnuplot)); }

Status RenderPlot(const PlotSpec& spec, const std::string& png_path) {
  return RenderPlots(std::span<const PlotSpec>(&spec, 1), png_path);
}

Status RenderPlots(std::span<const PlotSpec> panels, const std::string& png_path) {
  if (panels.empty()) return Error{fmt::format("plot {}: no panels to draw", png_path)};
  for (size_t i = 0; i < panels.size(); ++i) {
    if (Status status = CheckPanel(panels[i], i); !status.ok()) return status;
  }
  const fs::path output(png_path);
  if (output.filename().empty()) {
    return Error{fmt::format("plot {}: the path names no file", png_path)};
  }
  const fs::path dir = output.parent_path().empty() ? fs::path(".") : output.parent_path();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return Error{fmt::format("plot {}: directory {} does not exist", png_path, dir.string())};
  }
  if (!GnuplotAvailable()) return Error{std::string(kNotFound)};

  // A hidden name beside the output: ".<file>.XXXXXX".
  std::string hidden = ".";
  hidden += output.filename().string();
  hidden += ".";
  auto temp = TempDir::Create(dir, hidden);
  if (!temp.ok()) return Error{fmt::format("plot {}: {}", png_path, temp.error().message)};
  const fs::path script_path = temp->path() / "plot.gp";
  const fs::path log_path = temp->path() / "gnuplot.log";
  const fs::path drawn_path = temp->path() / "plot.png";
  {
    std::ofstream script(script_path);
    script << Script(panels, drawn_path.string());
    if (!script.flush()) {
      return Error{fmt::format("plot {}: cannot write {}", png_path, script_path.string())};
    }
  }

  const Result<ChildExit> exit = RunGnuplot(script_path, log_path);
  if (!exit.ok()) return exit.error();
  if (!exit->success()) {
    return Error{fmt::format("plot {}: gnuplot failed ({}): {}", png_path, exit->Describe(),
                             GnuplotComplaint(log_path))};
  }
  if (!HasPngSignature(drawn_path)) {
    return Error{
        fmt::format("plot {}: gnuplot wrote no PNG: {}", png_path, GnuplotComplaint(log_path))};
  }
  fs::rename(drawn_path, output, ec);
  if (ec) {
    return Error{
        fmt::format("plot {}: cannot move the plot into place: {}", png_path, ec.message())};
  }
  return Status::Ok();
}

}  // namespace parley::lab
