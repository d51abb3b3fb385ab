// parley_soak: the relay as a process, under a realistic load for minutes, with churn,
// restarts and a flood of garbage; reports delivery per stream, the relay's memory over
// time, its counters, crashes, what the flood costs it, and proof that nothing went back
// to the flood.
//
//   parley_soak                                   3,000 participants x 50 packets/s, 10 min
//   parley_soak --duration 20s --participants 200 --restart-at 10s --flood-phase 5s
//
// What runs (all on loopback):
// - the relay: `parley relay` (the built binary), started with a generated configuration
//   and token secret on ports the system picks (relay_process.h); killed (SIGKILL) and
//   started again on the same ports at each --restart-at time; at the end stopped with
//   SIGTERM, which must end it with exit code 0. An exit the tool did not cause is a
//   crash: counted, and the relay is started again.
// - participants in rooms of --room-min..--room-max (sizes taken in turn): each joins over
//   the relay's WebSocket with a token (the client library's SignalingClient, one per
//   participant, reconnecting with back-off after a restart), does the media hello
//   handshake (client/hello_handshake.h) and sends --rate RTP packets/s (media_load.h);
// - churn: every second, --churn participants leave (media stops, windows close, then
//   `leave` 200 ms later) and as many new ones join in their places;
// - the flood (flood.h): --flood-factor x the participants' packet rate of garbage from
//   addresses that never joined, on in every second --flood-phase (off, on, off, ...).
//
// Measured:
// - delivered / expected per stream (sender, receiver), counted only while both ends are
//   acked by the relay (media_load.h): restarts are not in it, they are reported as
//   recovery times (kill -> relay listening again -> every participant acked again);
// - the relay's resident memory every 10 s, and its slope after --warmup in each life of
//   the relay (a leak shows as growth under constant load and churn);
// - the relay's CPU time (user + system, from /proc) every second; the flood's cost is the
//   mean with flood minus the mean without, over seconds away from phase edges, restarts
//   and the warm-up;
// - the relay's /metrics counters, summed over its lives (each scraped just before its
//   kill and at the end);
// - datagrams received by the flood's sockets (must be 0), and the relay's datagrams sent
//   against those the participants received.
//
// Exit status: 0 when every check passes (no crash, relay exit 0, nothing to the flood,
// no packet delivered to the wrong room, every participant back after each restart,
// delivery at least --min-delivered overall and --min-median for the median stream); 1
// when one fails or setup fails; 2 for bad arguments. Text report on stdout, everything in
// JSON with --json FILE.
#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "../relay_load/system_stats.h"
#include "flood.h"
#include "media_load.h"
#include "participants.h"
#include "relay_process.h"

#ifndef PARLEY_SOAK_RELAY_BINARY
#define PARLEY_SOAK_RELAY_BINARY "parley"
#endif

namespace parley::soak {
namespace {

using Clock = std::chrono::steady_clock;
using Seconds = std::chrono::duration<double>;

constexpr auto kRelayStartTimeout = std::chrono::seconds(10);
constexpr auto kLeaveGuard = std::chrono::milliseconds(200);
constexpr double kRssPeriodS = 10;
// Seconds of CPU samples left out after a flood phase starts or ends.
constexpr double kPhaseEdgeS = 2;
// Seconds after a recovery before CPU samples count again.
constexpr double kAfterRecoveryS = 5;
constexpr double kRecoveryTimeoutS = 90;

struct Options {
  size_t participants = 3000;
  size_t room_min = 3;
  size_t room_max = 5;
  double rate_pps = 50;
  size_t payload_bytes = 80;
  std::string duration = "10m";
  std::string warmup = "30s";
  double churn_per_s = -1;  // < 0: 1 % of the participants
  std::vector<std::string> restart_at = {"4m", "7m"};
  std::string restart_down = "1s";
  double flood_factor = 2;
  std::string flood_phase = "30s";
  int join_threads = 8;
  double min_delivered = 0.95;
  double min_median = 0.98;
  uint64_t min_stream_packets = 50;
  std::string relay_binary = PARLEY_SOAK_RELAY_BINARY;
  std::string work_dir;
  std::string json_path;
};

// "10m", "20s", "1500ms", "30" (seconds). Error names the text.
Result<double> ParseSeconds(const std::string& text) {
  double value = 0;
  size_t used = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    return Error{fmt::format("'{}': expected a duration such as 20s, 10m, 500ms", text)};
  }
  const std::string unit = text.substr(used);
  if (unit.empty() || unit == "s") return value;
  if (unit == "ms") return value / 1000;
  if (unit == "m" || unit == "min") return value * 60;
  if (unit == "h") return value * 3600;
  return Error{fmt::format("'{}': unknown unit '{}' (ms, s, m, h)", text, unit)};
}

double Since(Clock::time_point start) { return Seconds(Clock::now() - start).count(); }

// Room of each slot: sizes room_min, room_min + 1, ..., room_max in turn; a last room
// smaller than 2 joins the one before.
std::vector<size_t> AssignRooms(const Options& o, size_t& rooms) {
  std::vector<size_t> room_of;
  size_t size = o.room_min;
  rooms = 0;
  while (room_of.size() < o.participants) {
    const size_t take = std::min(size, o.participants - room_of.size());
    const size_t room = take < 2 && rooms > 0 ? rooms - 1 : rooms++;
    room_of.insert(room_of.end(), take, room);
    size = size == o.room_max ? o.room_min : size + 1;
  }
  return room_of;
}

struct CpuSample {
  double t = 0;
  double cpu_pct = 0;        // of one core, over the second before t
  uint64_t relay_drops = 0;  // the kernel's at the relay's media socket, in that second
  bool flood = false;
  bool counted = false;  // away from edges, restarts and the warm-up
};

struct RssSample {
  double t = 0;
  int life = 0;  // which start of the relay
  double mb = 0;
};

struct Restart {
  double at = 0;            // run time of the kill
  double planned = 0;       // run time it was scheduled for
  bool crash = false;       // the relay died on its own
  double down_s = 0;        // kill -> relay listening again
  double first_ack_s = -1;  // kill -> first participant acked again
  double half_s = -1;       // kill -> half of them
  double p99_s = -1;        // kill -> 99 %
  double all_s = -1;        // kill -> every live participant acked (-1: not within timeout)
  std::string error;
};

// Lines of the report, printed as they come and kept.
void Say(const std::string& line) {
  fmt::print("{}\n", line);
  std::fflush(stdout);
}

// Least-squares slope of y over x.
double Slope(const std::vector<std::pair<double, double>>& points) {
  if (points.size() < 2) return 0;
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (const auto& [x, y] : points) {
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  const double n = static_cast<double>(points.size());
  const double den = n * sxx - sx * sx;
  return den != 0 ? (n * sxy - sx * sy) / den : 0;
}

class Soak {
 public:
  explicit Soak(Options options) : o_(std::move(options)) {}

  int Run();

 private:
  Status Setup();
  void JoinAll();
  void ChurnLoop();
  void ChurnOnce(std::mt19937_64& rng);
  std::unique_ptr<Participant> NewParticipant(size_t slot);
  void RestartRelay(double planned, bool crash, const std::string& how);
  void TrackRecovery(Restart& restart, Clock::time_point killed);
  void ScrapeInto(std::map<std::string, double>& totals);
  void SampleSecond(double t, bool in_restart);
  int Report();

  Options o_;
  double duration_s_ = 0;
  double warmup_s_ = 0;
  double flood_phase_s_ = 0;
  double restart_down_s_ = 0;
  std::vector<double> restart_at_s_;
  size_t rooms_ = 0;
  std::vector<size_t> room_of_;
  double churn_per_s_ = 0;

  std::optional<RelayProcess> relay_;
  std::unique_ptr<MediaLoad> media_;
  std::unique_ptr<Flood> flood_;
  ParticipantSetup setup_;
  SignalingTotals totals_;

  // Slots' participants; guarded by slots_mutex_ (churn thread and main thread).
  std::mutex slots_mutex_;
  std::vector<std::unique_ptr<Participant>> slots_;

  // Held by the churn thread while it churns and by the main thread while the relay is
  // down: no join is attempted against a dead relay on purpose.
  std::mutex churn_mutex_;
  std::atomic<bool> stop_churn_{false};
  std::atomic<uint64_t> churned_{0};
  std::atomic<uint64_t> churn_join_failures_{0};

  Clock::time_point run_start_;
  int life_ = 1;
  std::vector<double> life_started_at_ = {0};  // run time of each start of the relay
  std::map<std::string, double> metrics_totals_;
  std::vector<std::map<std::string, double>> metrics_lives_;
  std::vector<CpuSample> cpu_;
  std::vector<RssSample> rss_;
  std::vector<Restart> restarts_;
  int crashes_ = 0;
  uint64_t relay_input_drops_ = 0;  // the kernel's, at the relay's media socket
  int relay_exit_code_ = -1;
  double setup_s_ = 0;
  int64_t last_ticks_ = 0;
  uint64_t last_drops_ = 0;    // the relay's media socket's drop count at the last sample
  double no_count_until_ = 0;  // run time before which CPU samples are not counted
};

Status Soak::Setup() {
  Result<double> duration = ParseSeconds(o_.duration);
  Result<double> warmup = ParseSeconds(o_.warmup);
  Result<double> phase = ParseSeconds(o_.flood_phase);
  Result<double> down = ParseSeconds(o_.restart_down);
  for (const Result<double>* r : {&duration, &warmup, &phase, &down}) {
    if (!*r) return r->error();
  }
  duration_s_ = *duration;
  warmup_s_ = *warmup;
  flood_phase_s_ = *phase;
  restart_down_s_ = *down;
  for (const std::string& text : o_.restart_at) {
    Result<double> at = ParseSeconds(text);
    if (!at) return at.error();
    if (*at <= 0 || *at >= duration_s_) {
      return Error{fmt::format("--restart-at {}: outside the run (0, {} s)", text, duration_s_)};
    }
    restart_at_s_.push_back(*at);
  }
  std::sort(restart_at_s_.begin(), restart_at_s_.end());
  if (duration_s_ <= 0 || flood_phase_s_ <= 0) return Error{"duration and flood phase must be > 0"};
  churn_per_s_ = o_.churn_per_s >= 0 ? o_.churn_per_s : static_cast<double>(o_.participants) / 100;
  room_of_ = AssignRooms(o_, rooms_);

  // Thousands of WebSockets, each with its client's own descriptors.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &files);
  }
  if (o_.work_dir.empty()) {
    char pattern[] = "/tmp/parley-soak-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) return Error{"mkdtemp failed"};
    o_.work_dir = pattern;
  }
  Result<RelayProcess> relay =
      RelayProcess::Create({o_.relay_binary, o_.work_dir, static_cast<int>(rooms_ + 16),
                            static_cast<int>(o_.room_max + 1)});
  if (!relay) return relay.error();
  relay_.emplace(std::move(relay).value());
  if (Status started = relay_->Start(kRelayStartTimeout); !started) return started;
  Say(fmt::format("relay: pid {}, signaling {}, media {}, metrics {} (log {})", relay_->pid(),
                  relay_->signaling_url(), relay_->media_address().ToString(),
                  relay_->metrics_address().ToString(), relay_->log_path()));

  Result<std::unique_ptr<MediaLoad>> media =
      MediaLoad::Create({o_.participants, o_.rate_pps, o_.payload_bytes});
  if (!media) return media.error();
  media_ = std::move(media).value();
  FloodConfig flood;
  flood.rate_pps = o_.flood_factor * static_cast<double>(o_.participants) * o_.rate_pps;
  flood.target = relay_->media_address();
  flood.max_participant_id = static_cast<uint32_t>(o_.participants * 3);
  flood.ssrc_count = static_cast<uint32_t>(o_.participants * 3);
  if (flood.rate_pps > 0) {
    Result<std::unique_ptr<Flood>> created = Flood::Create(flood);
    if (!created) return created.error();
    flood_ = std::move(created).value();
  }
  setup_.url = relay_->signaling_url();
  setup_.token_secret = relay_->token_secret();
  setup_.token_expires_unix_s =
      static_cast<int64_t>(std::time(nullptr)) + static_cast<int64_t>(duration_s_) + 3600;
  slots_.resize(o_.participants);
  return Status::Ok();
}

std::unique_ptr<Participant> Soak::NewParticipant(size_t slot) {
  const uint32_t session = media_->AddSession(slot, room_of_[slot]);
  return std::make_unique<Participant>(setup_, session, room_of_[slot], *media_, totals_);
}

void Soak::JoinAll() {
  std::atomic<size_t> next{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < o_.join_threads; ++t) {
    threads.emplace_back([&] {
      for (size_t slot = next++; slot < o_.participants; slot = next++) {
        // A first join that fails (the relay busy with thousands at once) is tried again
        // by a new participant in the same place, a few times.
        for (int attempt = 0; attempt < 5; ++attempt) {
          std::unique_ptr<Participant> p = NewParticipant(slot);
          if (p->Join()) {
            std::lock_guard lock(slots_mutex_);
            slots_[slot] = std::move(p);
            break;
          }
          media_->Leave(p->session());
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
}

void Soak::ChurnOnce(std::mt19937_64& rng) {
  const auto count = static_cast<size_t>(churn_per_s_);
  const double fraction = churn_per_s_ - static_cast<double>(count);
  const size_t n = count + (std::uniform_real_distribution<double>(0, 1)(rng) < fraction ? 1 : 0);
  std::vector<size_t> chosen;
  std::vector<std::unique_ptr<Participant>> leaving;
  {
    std::lock_guard lock(slots_mutex_);
    // Empty places (a join that failed) are filled first.
    for (size_t slot = 0; slot < slots_.size() && chosen.size() < n; ++slot) {
      if (!slots_[slot]) chosen.push_back(slot);
    }
    while (chosen.size() < std::min(n, slots_.size())) {
      const size_t slot = rng() % slots_.size();
      if (std::find(chosen.begin(), chosen.end(), slot) != chosen.end()) continue;
      chosen.push_back(slot);
      if (slots_[slot]) {
        media_->Leave(slots_[slot]->session());
        leaving.push_back(std::move(slots_[slot]));
      }
    }
  }
  // What the leavers' peers had in flight to them lands before the relay hears `leave`.
  std::this_thread::sleep_for(kLeaveGuard);
  for (auto& p : leaving) p->Leave();
  leaving.clear();
  for (size_t slot : chosen) {
    if (stop_churn_.load()) return;
    std::unique_ptr<Participant> p = NewParticipant(slot);
    if (!p->Join()) {
      churn_join_failures_.fetch_add(1);
      media_->Leave(p->session());
      continue;
    }
    churned_.fetch_add(1);
    std::lock_guard lock(slots_mutex_);
    slots_[slot] = std::move(p);
  }
}

void Soak::ChurnLoop() {
  std::mt19937_64 rng(12345);
  auto next = Clock::now();
  while (!stop_churn_.load()) {
    next += std::chrono::seconds(1);
    {
      std::lock_guard lock(churn_mutex_);
      if (stop_churn_.load()) break;
      if (churn_per_s_ > 0) ChurnOnce(rng);
    }
    std::this_thread::sleep_until(next);
  }
}

void Soak::ScrapeInto(std::map<std::string, double>& totals) {
  relay_input_drops_ += relay_->media_socket_drops();
  Result<Metrics> scraped = relay_->ScrapeMetrics();
  if (!scraped) {
    Say(fmt::format("warning: {}", scraped.error().message));
    return;
  }
  metrics_lives_.push_back(*scraped);
  for (const auto& [name, value] : *scraped) {
    // Counters add up over the relay's lives; gauges and histograms are left out.
    if (name.find("_total") == std::string::npos) continue;
    totals[name] += value;
  }
}

void Soak::TrackRecovery(Restart& restart, Clock::time_point killed) {
  const auto deadline =
      killed + std::chrono::duration_cast<Clock::duration>(Seconds(kRecoveryTimeoutS));
  while (Clock::now() < deadline) {
    const MediaCounters c = media_->counters();
    const double t = Seconds(Clock::now() - killed).count();
    const double share =
        c.live > 0 ? static_cast<double>(c.acked) / static_cast<double>(c.live) : 1;
    if (restart.first_ack_s < 0 && c.acked > 0) restart.first_ack_s = t;
    if (restart.half_s < 0 && share >= 0.5) restart.half_s = t;
    if (restart.p99_s < 0 && share >= 0.99) restart.p99_s = t;
    if (c.acked == c.live && c.live > 0) {
      restart.all_s = t;
      return;
    }
    // The per-second samples go on meanwhile (no CPU sample counts during recovery).
    const double run_t = Since(run_start_);
    if (run_t >= static_cast<double>(cpu_.size() + 1)) SampleSecond(run_t, true);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void Soak::RestartRelay(double planned, bool crash, const std::string& how) {
  Restart restart;
  restart.planned = planned;
  restart.crash = crash;
  std::unique_lock churn(churn_mutex_);
  if (!crash) {
    ScrapeInto(metrics_totals_);
    rss_.push_back({Since(run_start_), life_, static_cast<double>(relay_->resident_bytes()) / 1e6});
    media_->CloseAllWindows();
    std::this_thread::sleep_for(kLeaveGuard);
  } else {
    Say(fmt::format("t={:.1f}s: the relay {} (crash)", Since(run_start_), how));
    media_->CloseAllWindows();
  }
  const auto killed = Clock::now();
  restart.at = Since(run_start_);
  relay_->Kill();
  std::this_thread::sleep_for(Seconds(restart_down_s_));
  const Status started = relay_->Start(kRelayStartTimeout);
  restart.down_s = Seconds(Clock::now() - killed).count();
  ++life_;
  life_started_at_.push_back(Since(run_start_));
  last_ticks_ = relay_->cpu_ticks();
  last_drops_ = 0;  // a new socket
  churn.unlock();
  if (!started) {
    restart.error = started.error().message;
    Say(fmt::format("t={:.1f}s: restart failed: {}", restart.at, restart.error));
    restarts_.push_back(restart);
    return;
  }
  TrackRecovery(restart, killed);
  no_count_until_ = Since(run_start_) + kAfterRecoveryS;
  Say(fmt::format(
      "t={:.1f}s: relay {} (pid {}): listening again after {:.2f} s; participants acked "
      "again: first {:.2f} s, half {:.2f} s, 99 % {:.2f} s, all {:.2f} s after the kill",
      restart.at, crash ? "crashed, started again" : "killed and started again", relay_->pid(),
      restart.down_s, restart.first_ack_s, restart.half_s, restart.p99_s, restart.all_s));
  restarts_.push_back(restart);
}

void Soak::SampleSecond(double t, bool in_restart) {
  const int64_t ticks = relay_->cpu_ticks();
  const double seconds = cpu_.empty() ? t : t - cpu_.back().t;
  CpuSample sample;
  sample.t = t;
  sample.cpu_pct = seconds > 0 && ticks >= last_ticks_
                       ? 100.0 * static_cast<double>(ticks - last_ticks_) /
                             static_cast<double>(relay_load::TicksPerSecond()) / seconds
                       : 0;
  last_ticks_ = ticks;
  const uint64_t drops = relay_->media_socket_drops();
  sample.relay_drops = drops >= last_drops_ ? drops - last_drops_ : 0;
  last_drops_ = drops;
  sample.flood = flood_ && flood_->enabled();
  const double phase_pos = std::fmod(t, flood_phase_s_);
  // The second that ends at t began at t - 1: both inside one phase, clear of its start.
  const double edge = std::min(kPhaseEdgeS, flood_phase_s_ / 4);
  sample.counted = !in_restart && t >= warmup_s_ && t >= no_count_until_ && phase_pos >= 1 + edge &&
                   flood_phase_s_ - phase_pos >= 0.05;
  cpu_.push_back(sample);
  // Flood phases: off, on, off, on...
  if (flood_) {
    const bool on = static_cast<int64_t>(t / flood_phase_s_) % 2 == 1;
    flood_->Enable(on);
  }
  if (static_cast<int64_t>(t) % static_cast<int64_t>(kRssPeriodS) == 0) {
    rss_.push_back({t, life_, static_cast<double>(relay_->resident_bytes()) / 1e6});
  }
  if (static_cast<int64_t>(t) % 10 == 0) {
    const MediaCounters c = media_->counters();
    const FloodCounters f = flood_ ? flood_->counters() : FloodCounters{};
    Say(fmt::format(
        "t={:4.0f}s relay cpu {:5.1f} %  rss {:6.1f} MB  live {} acked {}  sent {} received {}  "
        "flood {} sent {} (back to it: {})  churned {}",
        t, sample.cpu_pct, rss_.empty() ? 0.0 : rss_.back().mb, c.live, c.acked, c.sent, c.received,
        sample.flood ? "on " : "off", f.sent, f.received, churned_.load()));
  }
}

int Soak::Run() {
  if (Status ok = Setup(); !ok) {
    fmt::print(stderr, "parley_soak: {}\n", ok.error().message);
    return 1;
  }
  Say(
      fmt::format("soak: {} participants in {} rooms of {}..{}, {} packets/s each ({} packets/s "
                  "in), {} s, churn {}/s, restarts at {}, flood x{} in {} s phases",
                  o_.participants, rooms_, o_.room_min, o_.room_max, o_.rate_pps,
                  static_cast<double>(o_.participants) * o_.rate_pps, duration_s_, churn_per_s_,
                  o_.restart_at.empty() ? "none" : fmt::format("{}", fmt::join(o_.restart_at, ",")),
                  o_.flood_factor, flood_phase_s_));
  media_->Start();
  if (flood_) flood_->Start();
  const auto setup_start = Clock::now();
  JoinAll();
  // Every participant acked before the clock starts (bounded).
  const auto acked_by = Clock::now() + std::chrono::seconds(60);
  while (Clock::now() < acked_by) {
    const MediaCounters c = media_->counters();
    if (c.live > 0 && c.acked == c.live) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  setup_s_ = Since(setup_start);
  const MediaCounters joined = media_->counters();
  Say(fmt::format("setup: {} of {} participants joined and acked in {:.1f} s", joined.acked,
                  o_.participants, setup_s_));

  run_start_ = Clock::now();
  last_ticks_ = relay_->cpu_ticks();
  std::thread churn([this] { ChurnLoop(); });
  size_t next_restart = 0;
  for (double t = Since(run_start_); t < duration_s_; t = Since(run_start_)) {
    std::string how;
    if (relay_->ExitedUnexpectedly(how)) {
      ++crashes_;
      RestartRelay(t, true, how);
      continue;
    }
    if (next_restart < restart_at_s_.size() && t >= restart_at_s_[next_restart]) {
      RestartRelay(restart_at_s_[next_restart++], false, "");
      continue;
    }
    if (t >= static_cast<double>(cpu_.size() + 1)) SampleSecond(t, false);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (flood_) flood_->Enable(false);
  stop_churn_.store(true);
  churn.join();
  // The media stops (windows close, what is in flight lands) before the last scrape, so
  // that the relay's counters and the participants' agree.
  media_->Stop();
  if (flood_) flood_->Stop();
  std::string how;
  if (relay_->ExitedUnexpectedly(how)) {
    ++crashes_;
    Say(fmt::format("the relay {} (crash) before the end", how));
  } else {
    ScrapeInto(metrics_totals_);
    rss_.push_back({Since(run_start_), life_, static_cast<double>(relay_->resident_bytes()) / 1e6});
  }
  {
    // Leave in parallel: each waits for its close handshake.
    std::vector<std::thread> leavers;
    std::atomic<size_t> next{0};
    for (int t = 0; t < o_.join_threads; ++t) {
      leavers.emplace_back([&] {
        for (size_t i = next++; i < slots_.size(); i = next++) {
          if (slots_[i]) slots_[i]->Leave();
        }
      });
    }
    for (std::thread& t : leavers) t.join();
    slots_.clear();
  }
  if (relay_->running()) relay_exit_code_ = relay_->Terminate(std::chrono::seconds(15));
  return Report();
}

int Soak::Report() {
  const MediaReport m = media_->Finish(o_.min_stream_packets);
  const FloodCounters f = flood_ ? flood_->counters() : FloodCounters{};
  nlohmann::json json;
  const relay_load::MachineInfo machine = relay_load::ReadMachineInfo();
  json["machine"] = {{"cpu", machine.cpu_model},
                     {"cores", machine.cores},
                     {"kernel", machine.kernel},
                     {"load_average_end", relay_load::ReadLoadAverage()}};
  json["options"] = {{"participants", o_.participants},   {"room_min", o_.room_min},
                     {"room_max", o_.room_max},           {"rooms", rooms_},
                     {"rate_pps", o_.rate_pps},           {"payload_bytes", o_.payload_bytes},
                     {"duration_s", duration_s_},         {"warmup_s", warmup_s_},
                     {"churn_per_s", churn_per_s_},       {"restart_at_s", restart_at_s_},
                     {"restart_down_s", restart_down_s_}, {"flood_factor", o_.flood_factor},
                     {"flood_phase_s", flood_phase_s_}};

  Say("");
  Say("== delivery (streams counted while both ends are acked; restarts excluded) ==");
  const double overall = m.streams.expected > 0 ? static_cast<double>(m.streams.delivered) /
                                                      static_cast<double>(m.streams.expected)
                                                : 0;
  Say(fmt::format("streams: {} with >= {} packets expected ({} shorter, in the total only)",
                  m.streams.streams, o_.min_stream_packets, m.streams.streams_short));
  Say(
      fmt::format("delivered per stream: min {:.4f}  p1 {:.4f}  p50 {:.4f};  under 99 %: {:.2f} % "
                  "of streams",
                  m.streams.min, m.streams.p1, m.streams.p50, 100 * m.streams.share_under_99));
  Say(fmt::format("overall: {} of {} expected copies delivered ({:.4f})", m.streams.delivered,
                  m.streams.expected, overall));
  Say(fmt::format("latency one way: p50 {:.0f} us, p99 {:.0f} us, max {:.0f} us", m.latency_p50_us,
                  m.latency_p99_us, m.latency_max_us));
  Say(fmt::format(
      "generator: {} sessions, {} packets sent, {} refused by its socket, {} skipped "
      "(> 100 ms behind), latest tick {} us late; {} dropped by its socket",
      m.sessions, m.sent, m.send_refused, m.send_skipped, m.send_late_max_us, m.socket_drops));
  Say(
      fmt::format("received: {} RTP ({} outside windows, {} misrouted), {} RTCP, {} acks, {} "
                  "challenges, {} stray; hellos sent {}, handshakes timed out {}",
                  m.received_rtp, m.out_of_window, m.misrouted, m.rtcp_received, m.acks,
                  m.challenges, m.stray, m.hellos_sent, m.hello_failures));
  json["delivery"] = {{"streams", m.streams.streams},
                      {"streams_short", m.streams.streams_short},
                      {"min", m.streams.min},
                      {"p1", m.streams.p1},
                      {"p50", m.streams.p50},
                      {"share_under_99", m.streams.share_under_99},
                      {"expected", m.streams.expected},
                      {"delivered", m.streams.delivered},
                      {"overall", overall},
                      {"latency_p50_us", m.latency_p50_us},
                      {"latency_p99_us", m.latency_p99_us},
                      {"latency_max_us", m.latency_max_us}};
  json["generator"] = {{"sessions", m.sessions},
                       {"sent", m.sent},
                       {"send_refused", m.send_refused},
                       {"send_skipped", m.send_skipped},
                       {"socket_drops", m.socket_drops},
                       {"received_rtp", m.received_rtp},
                       {"out_of_window", m.out_of_window},
                       {"misrouted", m.misrouted},
                       {"rtcp_received", m.rtcp_received},
                       {"acks", m.acks},
                       {"challenges", m.challenges},
                       {"stray", m.stray},
                       {"hellos_sent", m.hellos_sent},
                       {"hello_failures", m.hello_failures},
                       {"send_late_max_us", m.send_late_max_us}};

  Say("");
  Say("== signaling and churn ==");
  Say(
      fmt::format("setup {:.1f} s; joins {} (refused or failed {}), churned in {} (failed {}), "
                  "rejoins after restarts {}, disconnects {}, gave up {}, peer events {}, relay "
                  "errors {}",
                  setup_s_, totals_.joins.load(), totals_.join_failures.load(), churned_.load(),
                  churn_join_failures_.load(), totals_.rejoins.load(), totals_.disconnects.load(),
                  totals_.gave_up.load(), totals_.peer_events.load(), totals_.relay_errors.load()));
  json["signaling"] = {{"setup_s", setup_s_},
                       {"joins", totals_.joins.load()},
                       {"join_failures", totals_.join_failures.load()},
                       {"churned_in", churned_.load()},
                       {"churn_join_failures", churn_join_failures_.load()},
                       {"rejoins", totals_.rejoins.load()},
                       {"disconnects", totals_.disconnects.load()},
                       {"gave_up", totals_.gave_up.load()},
                       {"peer_events", totals_.peer_events.load()},
                       {"relay_errors", totals_.relay_errors.load()}};

  Say("");
  Say("== restarts (recovery: times after the kill) ==");
  bool recovered = true;
  nlohmann::json restarts = nlohmann::json::array();
  for (const Restart& r : restarts_) {
    Say(
        fmt::format("t={:.1f}s {}: listening again {:.2f} s, first ack {:.2f} s, half {:.2f} s, "
                    "99 % {:.2f} s, all {:.2f} s{}",
                    r.at, r.crash ? "crash" : "kill", r.down_s, r.first_ack_s, r.half_s, r.p99_s,
                    r.all_s, r.error.empty() ? "" : " error: " + r.error));
    if (r.all_s < 0) recovered = false;
    restarts.push_back({{"at_s", r.at},
                        {"crash", r.crash},
                        {"down_s", r.down_s},
                        {"first_ack_s", r.first_ack_s},
                        {"half_s", r.half_s},
                        {"p99_s", r.p99_s},
                        {"all_s", r.all_s},
                        {"error", r.error}});
  }
  json["restarts"] = restarts;

  Say("");
  Say("== relay memory (RSS every 10 s; slope after the warm-up, per life of the relay) ==");
  nlohmann::json rss = nlohmann::json::array();
  std::string series;
  std::map<int, std::vector<std::pair<double, double>>> lives;
  for (const RssSample& s : rss_) {
    rss.push_back({{"t_s", s.t}, {"life", s.life}, {"mb", s.mb}});
    series += fmt::format(" {:.0f}s:{:.1f}", s.t, s.mb);
    const double started = life_started_at_[static_cast<size_t>(s.life - 1)];
    if (s.t - started >= warmup_s_ && s.mb > 0) lives[s.life].push_back({s.t, s.mb});
  }
  Say(fmt::format("series (MB):{}", series));
  nlohmann::json slopes = nlohmann::json::array();
  for (const auto& [life, points] : lives) {
    const double slope = Slope(points) * 60;
    Say(fmt::format("life {}: {} samples after warm-up, {:.1f} -> {:.1f} MB, slope {:+.3f} MB/min",
                    life, points.size(), points.front().second, points.back().second, slope));
    slopes.push_back({{"life", life},
                      {"samples", points.size()},
                      {"first_mb", points.front().second},
                      {"last_mb", points.back().second},
                      {"slope_mb_per_min", slope}});
  }
  json["rss"] = {{"series", rss}, {"slopes", slopes}};

  Say("");
  Say("== relay CPU and the flood ==");
  double on_sum = 0, off_sum = 0;
  int on_n = 0, off_n = 0;
  uint64_t drops_on = 0, drops_off = 0;
  int seconds_on = 0, seconds_off = 0;
  for (const CpuSample& s : cpu_) {
    (s.flood ? drops_on : drops_off) += s.relay_drops;
    ++(s.flood ? seconds_on : seconds_off);
    if (!s.counted) continue;
    (s.flood ? on_sum : off_sum) += s.cpu_pct;
    ++(s.flood ? on_n : off_n);
  }
  const double on_mean = on_n > 0 ? on_sum / on_n : 0;
  const double off_mean = off_n > 0 ? off_sum / off_n : 0;
  const double flood_pps = o_.flood_factor * static_cast<double>(o_.participants) * o_.rate_pps;
  if (on_n > 0 && off_n > 0) {
    Say(
        fmt::format("relay CPU (user + system, % of one core): without flood {:.1f} % ({} s), "
                    "with flood {:.1f} % ({} s): the flood ({:.0f} datagrams/s) costs {:+.1f} % "
                    "of a core",
                    off_mean, off_n, on_mean, on_n, flood_pps, on_mean - off_mean));
  } else {
    Say(
        fmt::format("relay CPU (user + system, % of one core): {:.1f} % over {} s without flood, "
                    "{:.1f} % over {} s with flood (a comparison needs seconds of both)",
                    off_mean, off_n, on_mean, on_n));
  }
  Say(
      fmt::format("kernel drops at the relay's media socket: {} in {} s without flood, {} in {} s "
                  "with flood",
                  drops_off, seconds_off, drops_on, seconds_on));
  Say(
      fmt::format("flood: {} datagrams sent ({} refused, {} skipped); datagrams received by the "
                  "flooding sources: {}",
                  f.sent, f.refused, f.skipped, f.received));
  nlohmann::json cpu = nlohmann::json::array();
  for (const CpuSample& s : cpu_) {
    cpu.push_back({{"t_s", s.t},
                   {"pct", s.cpu_pct},
                   {"relay_socket_drops", s.relay_drops},
                   {"flood", s.flood},
                   {"counted", s.counted}});
  }
  json["cpu"] = {{"without_flood_pct", off_mean},
                 {"without_flood_s", off_n},
                 {"with_flood_pct", on_mean},
                 {"with_flood_s", on_n},
                 {"flood_cost_pct", on_mean - off_mean},
                 {"flood_pps", flood_pps},
                 {"samples", cpu}};
  json["relay_socket_drops_by_flood"] = {{"without_flood", drops_off},
                                         {"without_flood_s", seconds_off},
                                         {"with_flood", drops_on},
                                         {"with_flood_s", seconds_on}};
  json["flood"] = {{"sent", f.sent},
                   {"refused", f.refused},
                   {"skipped", f.skipped},
                   {"received_by_flood_sources", f.received}};

  Say("");
  Say("== relay counters (/metrics, summed over the relay's lives) ==");
  const auto& t = metrics_totals_;
  auto get = [&t](const std::string& name) { return SumMetric(t, name); };
  const double relay_sent = get("parley_relay_media_datagrams_sent_total");
  const double generator_received = static_cast<double>(m.received_rtp + m.rtcp_received + m.acks +
                                                        m.challenges + m.stray + m.socket_drops);
  for (const auto& [name, value] : t) {
    if (value != 0 &&
        (name.find("dropped") != std::string::npos || name.find("errors") != std::string::npos ||
         name.find("failures") != std::string::npos || name.find("refus") != std::string::npos ||
         name.find("truncated") != std::string::npos ||
         name.find("malformed") != std::string::npos)) {
      Say(fmt::format("  {} = {:.0f}", name, value));
    }
  }
  Say(
      fmt::format("relay: {:.0f} joins, {:.0f} leaves, {:.0f} RTP forwarded, {:.0f} datagrams "
                  "sent ({:.0f} to participants), {:.0f} send failures, {:.0f} hellos challenged",
                  get("parley_relay_joins_total"), get("parley_relay_leaves_total"),
                  get("parley_relay_media_rtp_forwarded_total"), relay_sent,
                  get("parley_relay_participant_packets_sent_total"),
                  get("parley_relay_media_send_failures_total"),
                  get("parley_relay_media_hellos_challenged_total")));
  Say(
      fmt::format("datagrams the relay sent: {:.0f}; received by the participants' socket "
                  "(or dropped by it): {:.0f}; difference {:+.0f} (the relay's last 200 ms "
                  "before each kill are not scraped)",
                  relay_sent, generator_received, relay_sent - generator_received));
  Say(
      fmt::format("dropped by the kernel at the relay's media socket (receive buffer full: the "
                  "relay did not read in time): {}; received by the relay {:.0f} of {} sent to it "
                  "by the participants and the flood",
                  relay_input_drops_, get("parley_relay_media_datagrams_received_total"),
                  m.sent + m.hellos_sent + f.sent));
  json["metrics_totals"] = t;
  json["relay_media_socket_drops"] = relay_input_drops_;
  json["relay_sent_vs_participants_received"] = {{"relay_sent", relay_sent},
                                                 {"participants_received", generator_received}};

  Say("");
  Say("== checks ==");
  struct Check {
    std::string name;
    bool ok;
  };
  const std::vector<Check> checks = {
      {"no crash", crashes_ == 0},
      {"relay exit code 0 after SIGTERM", relay_exit_code_ == 0},
      {"nothing received by the flooding sources", f.received == 0},
      {"no packet delivered to another room", m.misrouted == 0},
      {"every participant acked again after each restart", recovered},
      {fmt::format("overall delivered >= {}", o_.min_delivered), overall >= o_.min_delivered},
      {fmt::format("median stream delivered >= {}", o_.min_median),
       m.streams.streams > 0 && m.streams.p50 >= o_.min_median},
  };
  bool all = true;
  nlohmann::json checks_json;
  for (const Check& c : checks) {
    Say(fmt::format("  [{}] {}", c.ok ? "ok" : "FAILED", c.name));
    checks_json[c.name] = c.ok;
    all = all && c.ok;
  }
  json["checks"] = checks_json;
  json["crashes"] = crashes_;
  json["relay_exit_code"] = relay_exit_code_;
  Say(fmt::format("work directory (relay.json, relay.log): {}", o_.work_dir));
  if (!o_.json_path.empty()) {
    std::ofstream out(o_.json_path);
    out << json.dump(2) << "\n";
    if (!out) fmt::print(stderr, "parley_soak: cannot write {}\n", o_.json_path);
  }
  return all ? 0 : 1;
}

}  // namespace
}  // namespace parley::soak

int main(int argc, char** argv) {
  parley::soak::Options o;
  CLI::App app{"parley_soak: the relay process under load, churn, restarts and a flood"};
  app.add_option("--participants", o.participants, "Participants at once (default 3000)")
      ->check(CLI::Range(2, 60000));
  app.add_option("--room-min", o.room_min, "Smallest room (default 3)")->check(CLI::Range(2, 99));
  app.add_option("--room-max", o.room_max, "Largest room (default 5)")->check(CLI::Range(2, 99));
  app.add_option("--rate", o.rate_pps, "Packets/s per participant (default 50)")
      ->check(CLI::Range(1.0, 1000.0));
  app.add_option("--payload", o.payload_bytes, "Bytes after the RTP header (default 80)")
      ->check(CLI::Range(20, 1400));
  app.add_option("--duration", o.duration, "Run time after setup: 10m, 20s... (default 10m)");
  app.add_option("--warmup", o.warmup,
                 "Left out of the CPU comparison and the RSS slope (default 30s)");
  app.add_option("--churn", o.churn_per_s,
                 "Participants leaving (and as many joining) per second (default 1 % of them)")
      ->check(CLI::Range(0.0, 10000.0));
  app.add_option("--restart-at", o.restart_at,
                 "Run times at which the relay is killed and started again (default 4m,7m; "
                 "'none' for no restart)")
      ->delimiter(',');
  app.add_option("--restart-down", o.restart_down,
                 "How long the relay stays dead at a restart (default 1s)");
  app.add_option("--flood-factor", o.flood_factor,
                 "Garbage datagrams/s as a multiple of the participants' packets/s (default 2; "
                 "0: no flood)")
      ->check(CLI::Range(0.0, 100.0));
  app.add_option("--flood-phase", o.flood_phase,
                 "Flood off, then on, for this long each, in turn (default 30s)");
  app.add_option("--join-threads", o.join_threads, "Joins in parallel at setup (default 8)")
      ->check(CLI::Range(1, 64));
  app.add_option("--min-delivered", o.min_delivered,
                 "Check: overall delivered share at least this (default 0.95)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--min-median", o.min_median,
                 "Check: the median stream's delivered share at least this (default 0.98)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--min-stream-packets", o.min_stream_packets,
                 "Streams with fewer packets expected are left out of the distribution "
                 "(default 50)");
  app.add_option("--relay-binary", o.relay_binary,
                 "The parley executable (default: the built one)");
  app.add_option("--work-dir", o.work_dir,
                 "Where relay.json and relay.log go (default a new "
                 "/tmp/parley-soak-XXXXXX)");
  app.add_option("--json", o.json_path, "Write every figure as JSON to this file");
  CLI11_PARSE(app, argc, argv);
  if (o.room_min > o.room_max) {
    fmt::print(stderr, "parley_soak: --room-min {} > --room-max {}\n", o.room_min, o.room_max);
    return 2;
  }
  if (o.restart_at.size() == 1 && o.restart_at[0] == "none") o.restart_at.clear();
  try {
    parley::soak::Soak soak(o);
    return soak.Run();
  } catch (const std::exception& e) {
    fmt::print(stderr, "parley_soak: {}\n", e.what());
    return 1;
  }
}
