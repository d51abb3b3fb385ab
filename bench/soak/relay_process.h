// The relay under test as a child process: `parley relay` (the built binary) started on
// loopback with a configuration this writes (a fresh random token secret, limits sized to
// the load), killed and started again on the same ports, and watched from outside: its
// resident memory and CPU time from /proc, its counters from /metrics, its exit status.
//
// Ports: the first start binds port 0 for signaling, media and metrics and reads the
// ports the system picked from the relay's `relay_started` log line (the relay logs its
// bound addresses); every restart asks for those same ports, as a relay restarted in
// production comes back where its clients look for it. A restart may fail to bind when
// another program took a port in between (Start says so); the relay's listening sockets
// use SO_REUSEADDR, so its own lingering connections do not block it.
//
// Logs: the relay's stderr (JSON lines, info level) is appended to <dir>/relay.log.
// Threading: one controlling thread, which outlives the relay: the relay is killed when the
// thread that started it ends (PR_SET_PDEATHSIG), so a tool that dies leaves no relay behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>

#include "parley/base/result.h"
#include "parley/net/udp_socket.h"

namespace parley::soak {

struct RelayProcessConfig {
  std::string binary;     // the parley executable
  std::string directory;  // where relay.json and relay.log go (created)
  int max_rooms = 100;
  int max_participants_per_room = 16;
};

// The relay's counters and gauges from /metrics: "name{labels}" -> value.
using Metrics = std::map<std::string, double>;

class RelayProcess {
 public:
  // Writes <directory>/relay.json with a random 48-byte token secret. Error: the
  // directory or file could not be written.
  [[nodiscard]] static Result<RelayProcess> Create(const RelayProcessConfig& config);
  RelayProcess(RelayProcess&&) noexcept;
  RelayProcess& operator=(RelayProcess&&) = delete;
  ~RelayProcess();  // kills a relay still running

  // Starts the relay and waits (at most `timeout`) for its `relay_started` line. The first
  // start takes any free ports; later ones the same ports again. Error: it exited or said
  // nothing in time (the log's last line is quoted).
  [[nodiscard]] Status Start(std::chrono::milliseconds timeout);
  // SIGKILL and reap: the crash a restart simulates. No-op when not running.
  void Kill();
  // SIGTERM and wait (at most `timeout`, then SIGKILL). Returns the exit code (-1 when it
  // had to be killed, or died by a signal).
  int Terminate(std::chrono::milliseconds timeout);
  // Reaps the relay if it has exited on its own: true (and its status in `how`) once
  // when it did; the process is then no longer running.
  bool ExitedUnexpectedly(std::string& how);

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  const std::string& token_secret() const { return token_secret_; }
  std::string signaling_url() const { return "ws://" + signaling_.ToString() + "/"; }
  const net::SocketAddress& media_address() const { return media_; }
  const net::SocketAddress& metrics_address() const { return metrics_; }
  const std::string& log_path() const { return log_path_; }

  // Resident memory and CPU time (user + system, USER_HZ ticks) now; zeros when not
  // running.
  int64_t resident_bytes() const;
  int64_t cpu_ticks() const;
  // Datagrams the kernel dropped at the relay's media socket (its receive buffer full:
  // the relay did not read fast enough), from the "drops" column of /proc/<pid>/net/udp;
  // counts from this start of the relay. 0 when not running or not found.
  uint64_t media_socket_drops() const;
  // GET /metrics, parsed. Error: no answer, or not 200.
  [[nodiscard]] Result<Metrics> ScrapeMetrics() const;

 private:
  RelayProcess() = default;

  std::string binary_;
  std::string config_path_;
  std::string log_path_;
  std::string token_secret_;
  pid_t pid_ = -1;
  bool started_once_ = false;
  net::SocketAddress signaling_;
  net::SocketAddress media_;
  net::SocketAddress metrics_;
};

// `name{labels}` summed over labels: Sum(m, "parley_relay_media_dropped_total") adds every
// reason.
double SumMetric(const Metrics& metrics, const std::string& name);

}  // namespace parley::soak
