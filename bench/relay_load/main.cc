// parley_relay_load: how many packets per second parley's relay forwards on one core,
// measured against a minimal recvmmsg/sendmmsg forwarder and a bare recvfrom/sendto loop
// in the same run, on the same core, under the same load.
//
//   parley_relay_load                         1,000 rooms x 3, 50 packets/s each, 10 s
//   parley_relay_load --saturate              as fast as the generator can send
//   parley_relay_load --rooms 10 --seconds 1  a few seconds; exit 1 if delivery < 90 %
//
// Layout: the forwarder under test runs on a thread pinned to --relay-cpu (default 0);
// the load generator, which is also the relay's control thread, on the main thread pinned
// to --gen-cpu (default 1). One process, so resident-memory deltas around the relay's
// setup give its memory per participant, and each thread's CPU clock its CPU time.
//
// Phases, each with warm-up, a measured window and a drain (load_generator.h):
//   paced:    direct (generator to itself, no forwarder: the latency baseline), then
//             relay, minimal, bare, each given the same paced load;
//   saturate: relay, minimal, bare, each sent as much as the generator can send.
// --repeat N runs the forwarder phases N times in rotated order; the summary takes the
// median. Output: a table on stdout, and everything in JSON with --json FILE.
//
// Exit status: 0; 1 when the relay delivered < 90 % of the paced load (or forwarded
// nothing when saturated), or setup failed; another non-zero code for bad arguments.
#include <fmt/format.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "forwarders_under_test.h"
#include "load_generator.h"
#include "system_stats.h"

namespace parley::relay_load {
namespace {

constexpr double kPassDelivered = 0.90;
constexpr auto kHelloTimeout = std::chrono::seconds(5);

struct Options {
  size_t rooms = 1000;
  size_t per_room = 3;
  double rate_pps = 50;
  size_t payload_bytes = 80;
  double seconds = 10;
  double warmup_s = -1;  // < 0: min(1 s, seconds / 4)
  int drain_ms = 200;
  bool saturate = false;
  bool both = false;
  int repeat = 1;
  double max_other_pct = 5;
  int retries = 0;
  int relay_cpu = 0;
  int gen_cpu = 1;
  std::vector<std::string> forwarders = {"relay", "minimal", "bare"};
  std::string json_path;
};

enum class Kind { kDirect, kRelay, kMinimal, kBare };

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kDirect:
      return "direct";
    case Kind::kRelay:
      return "relay";
    case Kind::kMinimal:
      return "minimal";
    case Kind::kBare:
      return "bare";
  }
  return "?";
}

// What is read at each edge of the measurement window.
struct Readings {
  int64_t at_ns = 0;
  ForwarderSnapshot forwarder;
  ThreadCpu forwarder_cpu;
  CoreTicks relay_core;
  CoreTicks gen_core;
};

class Recorder final : public WindowObserver {
 public:
  Recorder(ForwarderUnderTest* forwarder, int relay_cpu, int gen_cpu)
      : forwarder_(forwarder), relay_cpu_(relay_cpu), gen_cpu_(gen_cpu) {}
  void OnWindowStart() override { start = Read(); }
  void OnWindowEnd() override { end = Read(); }

  Readings start;
  Readings end;

 private:
  Readings Read() {
    Readings out;
    if (forwarder_ != nullptr) {
      out.forwarder = forwarder_->Snapshot();
      out.forwarder_cpu = forwarder_->thread().cpu();
    }
    out.relay_core = ReadCoreTicks(relay_cpu_);
    out.gen_core = ReadCoreTicks(gen_cpu_);
    out.at_ns = MonotonicNs();
    return out;
  }

  ForwarderUnderTest* forwarder_;
  int relay_cpu_;
  int gen_cpu_;
};

struct PhaseResult {
  Kind kind = Kind::kDirect;
  bool saturate = false;
  int repeat = 0;
  PhaseStats load;
  double window_s = 0;
  double delivered_fraction = 0;
  double gen_cpu_pct = 0;
  double relay_core_busy_pct = 0;
  double relay_core_softirq_pct = 0;
  double gen_core_busy_pct = 0;
  // The forwarder's (none for direct).
  bool pinned = false;
  double received_pps = 0;
  double forwarded_pps = 0;  // input datagrams read and sent on
  double sent_pps = 0;
  double mean_batch = 0;  // datagrams per receive call that returned any
  uint64_t send_failed = 0;
  double cpu_pct = 0;
  double user_pct = 0;
  double system_pct = 0;
  double forwarded_per_cpu_s = 0;  // forwarded_pps / CPU fraction: capacity per core
  uint64_t input_drops = 0;        // sent to the forwarder, never read by it (socket full)

  int attempt = 1;  // > 1: earlier attempts were disturbed and run again

  // Busy time of the forwarder's core outside its thread: other tenants, ksoftirqd.
  double other_pct() const {
    return kind == Kind::kDirect ? 0 : std::max(0.0, relay_core_busy_pct - cpu_pct);
  }
  // The same on the generator's core.
  double gen_other_pct() const { return std::max(0.0, gen_core_busy_pct - gen_cpu_pct); }
};

double Percent(int64_t part, int64_t whole) {
  return whole > 0 ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0;
}

PhaseResult Summarise(Kind kind, bool saturate, int repeat, const PhaseStats& load,
                      const Recorder& recorder, const ForwarderSnapshot& before,
                      const ForwarderSnapshot& after, bool pinned) {
  const Readings& a = recorder.start;
  const Readings& b = recorder.end;
  PhaseResult out;
  out.kind = kind;
  out.saturate = saturate;
  out.repeat = repeat;
  out.load = load;
  out.window_s = static_cast<double>(b.at_ns - a.at_ns) / 1e9;
  out.delivered_fraction =
      load.expected > 0 ? static_cast<double>(load.delivered) / static_cast<double>(load.expected)
                        : 0;
  out.gen_cpu_pct = static_cast<double>(load.generator_cpu_ns) / 1e7 / out.window_s;
  out.relay_core_busy_pct =
      Percent(b.relay_core.busy - a.relay_core.busy, b.relay_core.total - a.relay_core.total);
  out.relay_core_softirq_pct =
      Percent(b.relay_core.softirq - a.relay_core.softirq, b.relay_core.total - a.relay_core.total);
  out.gen_core_busy_pct =
      Percent(b.gen_core.busy - a.gen_core.busy, b.gen_core.total - a.gen_core.total);
  if (kind == Kind::kDirect) return out;
  out.pinned = pinned;
  const double seconds = out.window_s;
  out.received_pps =
      static_cast<double>(b.forwarder.counts.received - a.forwarder.counts.received) / seconds;
  out.forwarded_pps =
      static_cast<double>(b.forwarder.forwarded_inputs - a.forwarder.forwarded_inputs) / seconds;
  out.sent_pps = static_cast<double>(b.forwarder.counts.sent - a.forwarder.counts.sent) / seconds;
  const uint64_t batches = b.forwarder.counts.batches - a.forwarder.counts.batches;
  out.mean_batch =
      batches > 0 ? static_cast<double>(b.forwarder.counts.received - a.forwarder.counts.received) /
                        static_cast<double>(batches)
                  : 0;
  out.send_failed = after.counts.send_failed - before.counts.send_failed;
  const double cpu_s =
      static_cast<double>(b.forwarder_cpu.total_ns - a.forwarder_cpu.total_ns) / 1e9;
  out.cpu_pct = 100.0 * cpu_s / seconds;
  const double tick_s = 1.0 / static_cast<double>(TicksPerSecond());
  out.user_pct = 100.0 *
                 static_cast<double>(b.forwarder_cpu.user_ticks - a.forwarder_cpu.user_ticks) *
                 tick_s / seconds;
  out.system_pct =
      100.0 * static_cast<double>(b.forwarder_cpu.system_ticks - a.forwarder_cpu.system_ticks) *
      tick_s / seconds;
  out.forwarded_per_cpu_s = cpu_s > 0 ? out.forwarded_pps * seconds / cpu_s : 0;
  const uint64_t read = after.counts.received - before.counts.received;
  out.input_drops = load.sent_total > read ? load.sent_total - read : 0;
  return out;
}

Result<PhaseResult> RunPhase(Kind kind, bool saturate, int repeat, LoadGenerator& generator,
                             const Options& options, const PhaseTiming& timing,
                             std::optional<RelayMemory>& memory) {
  std::unique_ptr<ForwarderUnderTest> forwarder;
  if (kind == Kind::kRelay) {
    RelayMemory measured;
    Result<std::unique_ptr<ForwarderUnderTest>> relay =
        CreateRelay(generator, options.relay_cpu, kHelloTimeout, &measured);
    if (!relay) return relay.error();
    forwarder = std::move(relay).value();
    if (!memory) memory = measured;
  } else if (kind != Kind::kDirect) {
    const auto baseline =
        kind == Kind::kMinimal ? BaselineForwarder::Kind::kMinimal : BaselineForwarder::Kind::kBare;
    Result<std::unique_ptr<ForwarderUnderTest>> created =
        CreateBaseline(baseline, generator.layout(), options.relay_cpu);
    if (!created) return created.error();
    forwarder = std::move(created).value();
  }
  const ForwarderSnapshot before = forwarder ? forwarder->Snapshot() : ForwarderSnapshot{};
  Recorder recorder(forwarder.get(), options.relay_cpu, options.gen_cpu);
  const net::SocketAddress to = forwarder ? forwarder->address() : net::SocketAddress{};
  const PhaseStats load = saturate
                              ? generator.RunSaturate(to, timing, recorder)
                              : generator.RunPaced(forwarder ? Target::kForwarder : Target::kDirect,
                                                   to, timing, recorder);
  const ForwarderSnapshot after = forwarder ? forwarder->Snapshot() : ForwarderSnapshot{};
  const bool pinned = forwarder && forwarder->thread().pinned();
  if (forwarder) {
    forwarder->thread().StopAndJoin();
    if (Status status = forwarder->status(); !status) {
      return Error{fmt::format("{}: {}", KindName(kind), status.error().message)};
    }
  }
  return Summarise(kind, saturate, repeat, load, recorder, before, after, pinned);
}

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t middle = values.size() / 2;
  return values.size() % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

// The median over repeats of `field` for phases of `kind` in `saturate` mode.
template <typename Field>
double MedianOf(const std::vector<PhaseResult>& results, Kind kind, bool saturate, Field field) {
  std::vector<double> values;
  for (const PhaseResult& r : results) {
    if (r.kind == kind && r.saturate == saturate) values.push_back(field(r));
  }
  return Median(values);
}

double Ratio(double a, double b) { return b > 0 ? a / b : 0; }

void PrintPaced(const std::vector<PhaseResult>& results) {
  fmt::print(
      "\nPaced load. deliv = copies of the packets sent in the window that arrived; fwd CPU = "
      "the\nforwarder thread's CPU clock (usr/sys: /proc ticks); other = busy time of either core "
      "outside\nthe measured threads (other tenants; a phase above --max-other is run again, "
      "try > 1);\nbatch = datagrams per receive call; latency = arrival - send time, both at "
      "the generator.\n\n");
  fmt::print(
      "{:<8} {:>3} {:>3} {:>8} {:>8} {:>8} {:>7} {:>9} {:>5} {:>5} {:>6} {:>8} {:>8} "
      "{:>9}\n",
      "phase", "run", "try", "in pps", "out pps", "deliv %", "fwd CPU", "usr/sys %", "other",
      "batch", "gen %", "p50 µs", "p99 µs", "late max");
  for (const PhaseResult& r : results) {
    if (r.saturate) continue;
    const bool fwd = r.kind != Kind::kDirect;
    fmt::print(
        "{:<8} {:>3} {:>3} {:>8.0f} {:>8.0f} {:>8.3f} {:>7} {:>9} {:>5.1f} {:>5} {:>6.1f} "
        "{:>8.0f} {:>8.0f} {:>6} µs\n",
        KindName(r.kind), r.repeat + 1, r.attempt, static_cast<double>(r.load.sent) / r.window_s,
        fwd ? r.sent_pps : static_cast<double>(r.load.delivered) / r.window_s,
        100.0 * r.delivered_fraction, fwd ? fmt::format("{:.1f}", r.cpu_pct) : "-",
        fwd ? fmt::format("{:.0f}/{:.0f}", r.user_pct, r.system_pct) : "-",
        std::max(r.other_pct(), r.gen_other_pct()), fwd ? fmt::format("{:.1f}", r.mean_batch) : "-",
        r.gen_cpu_pct, r.load.latency_p50_us, r.load.latency_p99_us, r.load.send_late_max_us);
  }
}

void PrintSaturated(const std::vector<PhaseResult>& results) {
  fmt::print(
      "\nSaturation: the generator sends as fast as it can. fwd pps = input datagrams read and "
      "sent on;\nper CPU-s = fwd pps / the thread's CPU fraction; in drop = sent to the "
      "forwarder, dropped by the\nkernel (its socket full); share = per stream (sender -> "
      "receiver): delivered / sent.\n\n");
  fmt::print(
      "{:<8} {:>3} {:>3} {:>8} {:>8} {:>8} {:>7} {:>5} {:>5} {:>9} {:>7} {:>9} {:>9} "
      "{:>7} {:>6}\n",
      "phase", "run", "try", "offered", "fwd pps", "sends/s", "fwd CPU", "other", "batch",
      "per CPU-s", "in drop", "min share", "med share", "starved", "gen %");
  for (const PhaseResult& r : results) {
    if (!r.saturate) continue;
    const double offered = static_cast<double>(r.load.sent) / r.window_s;
    fmt::print(
        "{:<8} {:>3} {:>3} {:>8.0f} {:>8.0f} {:>8.0f} {:>7.1f} {:>5.1f} {:>5.1f} {:>9.0f} "
        "{:>6.1f}% {:>9.3f} {:>9.3f} {:>7} {:>6.1f}\n",
        KindName(r.kind), r.repeat + 1, r.attempt, offered, r.forwarded_pps, r.sent_pps, r.cpu_pct,
        std::max(r.other_pct(), r.gen_other_pct()), r.mean_batch, r.forwarded_per_cpu_s,
        Percent(static_cast<int64_t>(r.input_drops), static_cast<int64_t>(r.load.sent_total)),
        r.load.min_stream_share, r.load.median_stream_share, r.load.streams_starved, r.gen_cpu_pct);
  }
}

nlohmann::json PhaseJson(const PhaseResult& r) {
  const PhaseStats& s = r.load;
  nlohmann::json load = {
      {"sent", s.sent},
      {"expected", s.expected},
      {"delivered", s.delivered},
      {"delivered_fraction", r.delivered_fraction},
      {"sent_total", s.sent_total},
      {"send_refused", s.send_refused},
      {"received_total", s.received_total},
      {"stray", s.stray},
      {"latency_p50_us", s.latency_p50_us},
      {"latency_p99_us", s.latency_p99_us},
      {"latency_max_us", s.latency_max_us},
      {"streams", s.streams},
      {"streams_starved", s.streams_starved},
      {"min_stream_share", s.min_stream_share},
      {"median_stream_share", s.median_stream_share},
      {"generator_cpu_pct", r.gen_cpu_pct},
      {"generator_socket_drops", s.generator_drops},
      {"send_late_max_us", s.send_late_max_us},
  };
  nlohmann::json out = {{"phase", KindName(r.kind)},
                        {"mode", r.saturate ? "saturate" : "paced"},
                        {"repeat", r.repeat + 1},
                        {"window_s", r.window_s},
                        {"load", load},
                        {"attempt", r.attempt},
                        {"relay_core_busy_pct", r.relay_core_busy_pct},
                        {"relay_core_softirq_pct", r.relay_core_softirq_pct},
                        {"generator_core_busy_pct", r.gen_core_busy_pct},
                        {"generator_core_other_pct", r.gen_other_pct()}};
  if (r.kind != Kind::kDirect) {
    out["forwarder"] = {{"pinned", r.pinned},
                        {"received_pps", r.received_pps},
                        {"forwarded_pps", r.forwarded_pps},
                        {"sent_pps", r.sent_pps},
                        {"send_failed", r.send_failed},
                        {"mean_receive_batch", r.mean_batch},
                        {"cpu_pct", r.cpu_pct},
                        {"core_other_pct", r.other_pct()},
                        {"user_pct", r.user_pct},
                        {"system_pct", r.system_pct},
                        {"forwarded_per_cpu_second", r.forwarded_per_cpu_s},
                        {"input_drops", r.input_drops}};
  }
  return out;
}

int Main(const Options& options) {
  const MachineInfo machine = ReadMachineInfo();
  const std::string load_before = ReadLoadAverage();
  rlimit files{};
  (void)getrlimit(RLIMIT_NOFILE, &files);
  if (!PinCallingThread(options.gen_cpu)) {
    fmt::print(stderr, "parley_relay_load: could not pin the generator to CPU {}\n",
               options.gen_cpu);
  }
  if (options.relay_cpu == options.gen_cpu) {
    fmt::print(stderr,
               "parley_relay_load: relay and generator share CPU {}: figures will be "
               "about the pair, not the relay\n",
               options.relay_cpu);
  }

  LoadConfig load_config;
  load_config.rooms = options.rooms;
  load_config.per_room = options.per_room;
  load_config.rate_pps = options.rate_pps;
  load_config.payload_bytes = options.payload_bytes;
  Result<std::unique_ptr<LoadGenerator>> created = LoadGenerator::Create(load_config);
  if (!created) {
    fmt::print(stderr, "parley_relay_load: {}\n", created.error().message);
    return 1;
  }
  LoadGenerator& generator = **created;
  const Layout& layout = generator.layout();

  PhaseTiming timing;
  const double warmup =
      options.warmup_s >= 0 ? options.warmup_s : std::min(1.0, options.seconds / 4);
  timing.warmup =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(warmup));
  timing.window = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double>(options.seconds));
  timing.drain = std::chrono::milliseconds(options.drain_ms);

  fmt::print(
      "parley_relay_load: {} rooms x {} = {} participants, {} packets/s each, {} B "
      "datagrams (12 B RTP header + {} B)\n",
      layout.rooms(), layout.per_room(), layout.participants(), options.rate_pps,
      12 + options.payload_bytes, options.payload_bytes);
  fmt::print("machine: {}, {} cores, kernel {}; load average {}\n", machine.cpu_model,
             machine.cores, machine.kernel, load_before);
  fmt::print(
      "forwarder thread on CPU {}, generator (and relay control) on CPU {}; generator: one "
      "socket, participants by source address 127.16.x.y:{}, receive buffer {} KiB; "
      "net.core.rmem_max {} KiB; open files limit {} (hard {}), {} sockets used\n",
      options.relay_cpu, options.gen_cpu, layout.port(), generator.receive_buffer_bytes() / 1024,
      machine.rmem_max / 1024, files.rlim_cur, files.rlim_max, 2);
  fmt::print("phases: {:.2f} s warm-up, {:.2f} s window, {} ms drain\n", warmup, options.seconds,
             options.drain_ms);

  std::vector<bool> modes;
  if (!options.saturate || options.both) modes.push_back(false);
  if (options.saturate || options.both) modes.push_back(true);
  std::vector<Kind> forwarders;
  for (const Kind kind : {Kind::kRelay, Kind::kMinimal, Kind::kBare}) {
    if (std::find(options.forwarders.begin(), options.forwarders.end(), KindName(kind)) !=
        options.forwarders.end()) {
      forwarders.push_back(kind);
    }
  }

  std::vector<PhaseResult> results;
  std::optional<RelayMemory> memory;
  for (const bool saturate : modes) {
    for (int repeat = 0; repeat < options.repeat; ++repeat) {
      std::vector<Kind> order;
      if (!saturate) order.push_back(Kind::kDirect);
      for (size_t i = 0; i < forwarders.size(); ++i) {
        order.push_back(forwarders[(i + static_cast<size_t>(repeat)) % forwarders.size()]);
      }
      for (const Kind kind : order) {
        // Other tenants of the machine take a core now and then (a compiler); a phase
        // whose cores were busy outside the measured threads runs again.
        for (int attempt = 1;; ++attempt) {
          Result<PhaseResult> result =
              RunPhase(kind, saturate, repeat, generator, options, timing, memory);
          if (!result) {
            fmt::print(stderr, "parley_relay_load: {}\n", result.error().message);
            return 1;
          }
          result->attempt = attempt;
          const double other = std::max(result->other_pct(), result->gen_other_pct());
          const bool disturbed = other > options.max_other_pct;
          fmt::print(stderr, "  {} {} run {}{}\n", saturate ? "saturate" : "paced", KindName(kind),
                     repeat + 1,
                     disturbed ? fmt::format(": disturbed ({:.0f} % of a core busy outside the "
                                             "measured threads)",
                                             other)
                               : "");
          if (!disturbed || attempt > options.retries) {
            results.push_back(*result);
            break;
          }
        }
      }
    }
  }
  const std::string load_after = ReadLoadAverage();

  nlohmann::json summary;
  bool failed = false;
  if (!options.saturate || options.both) {
    PrintPaced(results);
    const auto p50 = [](const PhaseResult& r) { return r.load.latency_p50_us; };
    const auto p99 = [](const PhaseResult& r) { return r.load.latency_p99_us; };
    const auto cpu = [](const PhaseResult& r) { return r.cpu_pct; };
    const auto per_cpu = [](const PhaseResult& r) { return r.forwarded_per_cpu_s; };
    const auto delivered = [](const PhaseResult& r) { return r.delivered_fraction; };
    const double direct_p50 = MedianOf(results, Kind::kDirect, false, p50);
    const double direct_p99 = MedianOf(results, Kind::kDirect, false, p99);
    nlohmann::json paced;
    fmt::print(
        "\nmedians over {} run(s)      delivered   fwd CPU %   per CPU-s   added p50 / p99 "
        "µs (minus direct)\n",
        options.repeat);
    for (const Kind kind : forwarders) {
      const double added_p50 = MedianOf(results, kind, false, p50) - direct_p50;
      const double added_p99 = MedianOf(results, kind, false, p99) - direct_p99;
      fmt::print("  {:<24} {:>9.3f}% {:>10.1f} {:>11.0f}   {:>7.1f} / {:.1f}\n", KindName(kind),
                 100 * MedianOf(results, kind, false, delivered),
                 MedianOf(results, kind, false, cpu), MedianOf(results, kind, false, per_cpu),
                 added_p50, added_p99);
      paced[KindName(kind)] = {
          {"delivered_fraction", MedianOf(results, kind, false, delivered)},
          {"cpu_pct", MedianOf(results, kind, false, cpu)},
          {"forwarded_per_cpu_second", MedianOf(results, kind, false, per_cpu)},
          {"added_latency_p50_us", added_p50},
          {"added_latency_p99_us", added_p99}};
    }
    const double relay_per_cpu = MedianOf(results, Kind::kRelay, false, per_cpu);
    paced["direct"] = {{"latency_p50_us", direct_p50}, {"latency_p99_us", direct_p99}};
    paced["ratio_relay_to_minimal_per_cpu"] =
        Ratio(relay_per_cpu, MedianOf(results, Kind::kMinimal, false, per_cpu));
    paced["ratio_relay_to_bare_per_cpu"] =
        Ratio(relay_per_cpu, MedianOf(results, Kind::kBare, false, per_cpu));
    fmt::print("  packets per CPU-second, relay / minimal = {:.3f}, relay / bare = {:.3f}\n",
               paced["ratio_relay_to_minimal_per_cpu"].get<double>(),
               paced["ratio_relay_to_bare_per_cpu"].get<double>());
    for (const PhaseResult& r : results) {
      if (r.kind == Kind::kRelay && !r.saturate && r.delivered_fraction < kPassDelivered) {
        failed = true;
      }
    }
    summary["paced"] = paced;
  }
  if (options.saturate || options.both) {
    PrintSaturated(results);
    const auto fwd = [](const PhaseResult& r) { return r.forwarded_pps; };
    const auto sends = [](const PhaseResult& r) { return r.sent_pps; };
    const auto per_cpu = [](const PhaseResult& r) { return r.forwarded_per_cpu_s; };
    const auto min_share = [](const PhaseResult& r) { return r.load.min_stream_share; };
    nlohmann::json saturated;
    fmt::print("\nmedians over {} run(s)      fwd pps    sends/s   per CPU-s   min share\n",
               options.repeat);
    for (const Kind kind : forwarders) {
      fmt::print("  {:<22} {:>9.0f} {:>10.0f} {:>11.0f} {:>11.3f}\n", KindName(kind),
                 MedianOf(results, kind, true, fwd), MedianOf(results, kind, true, sends),
                 MedianOf(results, kind, true, per_cpu), MedianOf(results, kind, true, min_share));
      saturated[KindName(kind)] = {
          {"forwarded_pps", MedianOf(results, kind, true, fwd)},
          {"sent_pps", MedianOf(results, kind, true, sends)},
          {"forwarded_per_cpu_second", MedianOf(results, kind, true, per_cpu)},
          {"min_stream_share", MedianOf(results, kind, true, min_share)}};
    }
    const double relay_fwd = MedianOf(results, Kind::kRelay, true, fwd);
    saturated["ratio_relay_to_minimal"] =
        Ratio(relay_fwd, MedianOf(results, Kind::kMinimal, true, fwd));
    saturated["ratio_relay_to_bare"] = Ratio(relay_fwd, MedianOf(results, Kind::kBare, true, fwd));
    fmt::print("  forwarded packets/s, relay / minimal = {:.3f}, relay / bare = {:.3f}\n",
               saturated["ratio_relay_to_minimal"].get<double>(),
               saturated["ratio_relay_to_bare"].get<double>());
    if (relay_fwd <= 0) failed = true;
    summary["saturate"] = saturated;
  }
  if (memory) {
    const double participants = static_cast<double>(memory->participants);
    fmt::print(
        "\nrelay memory (RSS deltas): router tables {} KiB for {} slots ({:.0f} B/slot), "
        "media loop {} KiB, joins + hellos {} KiB;\n  total {:.0f} B per participant at {} "
        "participants\n",
        memory->router_construct / 1024, memory->router_capacity,
        static_cast<double>(memory->router_construct) /
            static_cast<double>(memory->router_capacity),
        memory->loop_create / 1024, memory->joins_and_hellos / 1024,
        static_cast<double>(memory->total()) / participants, memory->participants);
    summary["relay_memory"] = {
        {"participants", memory->participants},
        {"router_capacity", memory->router_capacity},
        {"router_construct_bytes", memory->router_construct},
        {"loop_create_bytes", memory->loop_create},
        {"joins_and_hellos_bytes", memory->joins_and_hellos},
        {"bytes_per_participant", static_cast<double>(memory->total()) / participants},
        {"router_bytes_per_slot", static_cast<double>(memory->router_construct) /
                                      static_cast<double>(memory->router_capacity)}};
  }
  fmt::print("load average after: {}\n", load_after);
  const auto disturbed = std::count_if(results.begin(), results.end(), [&](const PhaseResult& r) {
    return std::max(r.other_pct(), r.gen_other_pct()) > options.max_other_pct;
  });
  if (std::any_of(results.begin(), results.end(),
                  [](const PhaseResult& r) { return r.kind != Kind::kDirect && !r.pinned; })) {
    fmt::print("WARNING: a forwarder thread could not be pinned to CPU {}\n", options.relay_cpu);
  }
  if (disturbed > 0) {
    fmt::print(
        "WARNING: {} phase(s) ran while a core was more than {:.0f} % busy outside the "
        "measured threads (column other): their figures are not clean. Run again on a "
        "quiet machine, or with --retries N.\n",
        disturbed, options.max_other_pct);
  }
  if (failed) {
    fmt::print("FAILED: the relay delivered < {:.0f} % of the paced load, or forwarded nothing\n",
               100 * kPassDelivered);
  }

  if (!options.json_path.empty()) {
    nlohmann::json phases = nlohmann::json::array();
    for (const PhaseResult& r : results) phases.push_back(PhaseJson(r));
    const nlohmann::json document = {
        {"machine",
         {{"cpu_model", machine.cpu_model},
          {"cores", machine.cores},
          {"kernel", machine.kernel},
          {"rmem_max", machine.rmem_max},
          {"wmem_max", machine.wmem_max},
          {"load_average_before", load_before},
          {"load_average_after", load_after}}},
        {"config",
         {{"rooms", options.rooms},
          {"per_room", options.per_room},
          {"rate_pps", options.rate_pps},
          {"datagram_bytes", 12 + options.payload_bytes},
          {"window_s", options.seconds},
          {"warmup_s", warmup},
          {"drain_ms", options.drain_ms},
          {"repeat", options.repeat},
          {"relay_cpu", options.relay_cpu},
          {"generator_cpu", options.gen_cpu},
          {"generator_receive_buffer_bytes", generator.receive_buffer_bytes()}}},
        {"phases", phases},
        {"summary", summary},
        {"passed", !failed}};
    std::ofstream out(options.json_path);
    out << document.dump(2) << "\n";
    if (!out) {
      fmt::print(stderr, "parley_relay_load: could not write {}\n", options.json_path);
      return 1;
    }
  }
  return failed ? 1 : 0;
}

}  // namespace
}  // namespace parley::relay_load

int main(int argc, char** argv) {
  using parley::relay_load::Layout;
  parley::relay_load::Options options;
  CLI::App app{
      "parley_relay_load: the relay's forwarding rate on one core against a minimal "
      "recvmmsg/sendmmsg forwarder and a bare recvfrom/sendto loop"};
  app.add_option("--rooms", options.rooms, "Rooms (default 1000)")->check(CLI::Range(1, 20000));
  app.add_option("--per-room", options.per_room, "Participants per room (default 3)")
      ->check(CLI::Range(2, 32));
  app.add_option("--rate", options.rate_pps, "Packets/s per participant when paced (default 50)")
      ->check(CLI::Range(1.0, 1000.0));
  app.add_option("--payload", options.payload_bytes,
                 "Bytes after the 12-byte RTP header (default 80: Opus 32 kbit/s, 20 ms)")
      ->check(CLI::Range(16, 1400));
  app.add_option("--seconds", options.seconds, "Measured window per phase, s (default 10)")
      ->check(CLI::Range(0.1, 600.0));
  app.add_option("--warmup", options.warmup_s, "Warm-up per phase, s (default min(1, seconds / 4))")
      ->check(CLI::Range(0.0, 60.0));
  app.add_option("--drain-ms", options.drain_ms, "Drain after each window, ms (default 200)")
      ->check(CLI::Range(10, 10000));
  app.add_flag("--saturate", options.saturate,
               "Send as fast as possible instead of paced (saturation phases)");
  app.add_flag("--both", options.both, "Paced phases, then saturation phases");
  app.add_option("--repeat", options.repeat,
                 "Run the forwarder phases N times in rotated order (default 1)")
      ->check(CLI::Range(1, 20));
  app.add_option("--max-other", options.max_other_pct,
                 "A phase is disturbed when a core is busier than its measured thread by more "
                 "than this, % (default 5)")
      ->check(CLI::Range(0.0, 100.0));
  app.add_option("--retries", options.retries,
                 "Runs a disturbed phase again, at most this many times (default 0)")
      ->check(CLI::Range(0, 20));
  app.add_option("--relay-cpu", options.relay_cpu, "CPU for the forwarder thread (default 0)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--gen-cpu", options.gen_cpu, "CPU for the load generator (default 1)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--forwarders", options.forwarders,
                 "Which forwarders to measure (default relay minimal bare)")
      ->check(CLI::IsMember({"relay", "minimal", "bare"}))
      ->delimiter(',');
  app.add_option("--json", options.json_path, "Write every figure as JSON to this file");
  CLI11_PARSE(app, argc, argv);
  if (options.rooms * options.per_room > Layout::kMaxParticipants) {
    fmt::print(stderr, "parley_relay_load: {} x {} participants > {}\n", options.rooms,
               options.per_room, Layout::kMaxParticipants);
    return 2;
  }
  return parley::relay_load::Main(options);
}
