#include "relay_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "../relay_load/system_stats.h"
#include "parley/relay/test_http_client.h"

namespace parley::soak {
namespace {

constexpr auto kPoll = std::chrono::milliseconds(10);
constexpr size_t kSecretBytes = 48;

std::string RandomSecret() {
  // Hex of 48 random bytes: 96 characters, far above the 32 bytes a secret needs.
  std::random_device device;
  std::string out;
  for (size_t i = 0; i < kSecretBytes; ++i) out += fmt::format("{:02x}", device() & 0xFF);
  return out;
}

std::string LastLine(const std::string& text) {
  const size_t end = text.find_last_not_of('\n');
  if (end == std::string::npos) return "";
  const size_t start = text.rfind('\n', end);
  return text.substr(start == std::string::npos ? 0 : start + 1,
                     end - (start == std::string::npos ? 0 : start + 1) + 1);
}

std::string ReadFrom(const std::string& path, std::streamoff offset) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(offset);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::streamoff FileSize(const std::string& path) {
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  return error ? 0 : static_cast<std::streamoff>(size);
}

// "ws://127.0.0.1:1234" or "127.0.0.1:1234" -> the address.
Result<net::SocketAddress> AddressOf(const nlohmann::json& line, const char* key) {
  if (!line.contains(key) || !line[key].is_string()) {
    return Error{fmt::format("relay_started has no '{}'", key)};
  }
  std::string text = line[key].get<std::string>();
  if (const size_t scheme = text.find("://"); scheme != std::string::npos) {
    text = text.substr(scheme + 3);
  }
  return net::SocketAddress::Parse(text);
}

std::string Describe(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with code {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return fmt::format("killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  }
  return fmt::format("status {:#x}", status);
}

}  // namespace

Result<RelayProcess> RelayProcess::Create(const RelayProcessConfig& config) {
  std::error_code error;
  std::filesystem::create_directories(config.directory, error);
  if (error) return Error{fmt::format("{}: {}", config.directory, error.message())};
  RelayProcess out;
  out.binary_ = config.binary;
  out.config_path_ = config.directory + "/relay.json";
  out.log_path_ = config.directory + "/relay.log";
  out.token_secret_ = RandomSecret();
  const nlohmann::json json = {{"token_secret", out.token_secret_},
                               {"listen_signaling", "127.0.0.1:0"},
                               {"listen_media", "127.0.0.1:0"},
                               {"metrics_listen", "127.0.0.1:0"},
                               {"max_rooms", config.max_rooms},
                               {"max_participants_per_room", config.max_participants_per_room}};
  std::ofstream file(out.config_path_, std::ios::trunc);
  file << json.dump(2) << "\n";
  file.close();
  if (!file) return Error{fmt::format("{}: cannot write", out.config_path_)};
  ::chmod(out.config_path_.c_str(), 0600);
  // A fresh log per run.
  std::ofstream(out.log_path_, std::ios::trunc).close();
  if (::access(out.binary_.c_str(), X_OK) != 0) {
    return Error{fmt::format("{}: not an executable ({})", out.binary_, std::strerror(errno))};
  }
  return out;
}

RelayProcess::RelayProcess(RelayProcess&& other) noexcept
    : binary_(std::move(other.binary_)),
      config_path_(std::move(other.config_path_)),
      log_path_(std::move(other.log_path_)),
      token_secret_(std::move(other.token_secret_)),
      pid_(std::exchange(other.pid_, -1)),
      started_once_(other.started_once_),
      signaling_(other.signaling_),
      media_(other.media_),
      metrics_(other.metrics_) {}

RelayProcess::~RelayProcess() { Kill(); }

Status RelayProcess::Start(std::chrono::milliseconds timeout) {
  if (running()) return Error{"relay: already running"};
  const std::string any = "127.0.0.1:0";
  const std::string signaling = started_once_ ? signaling_.ToString() : any;
  const std::string media = started_once_ ? media_.ToString() : any;
  const std::string metrics = started_once_ ? metrics_.ToString() : any;
  std::vector<std::string> args = {
      binary_,          "relay", "--config",         config_path_, "--listen-signaling", signaling,
      "--listen-media", media,   "--metrics-listen", metrics,      "--log-level",        "info"};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  const int log = ::open(log_path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (log < 0) return Error{fmt::format("{}: {}", log_path_, std::strerror(errno))};
  const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  const std::streamoff offset = FileSize(log_path_);
  // Between fork and exec only async-signal-safe calls: the tool runs many threads.
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(log, 2);
    // Nothing else of the tool's (its sockets above all) leaks into the relay.
    ::close_range(3, ~0U, 0);
    // A relay whose tool died (killed, crashed) is not left running on its own.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(log);
  if (null >= 0) ::close(null);
  if (pid < 0) return Error{fmt::format("fork: {}", std::strerror(errno))};
  pid_ = pid;

  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const std::string text = ReadFrom(log_path_, offset);
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
      if (line.find("\"relay_started\"") == std::string::npos) continue;
      const nlohmann::json json = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (json.is_discarded()) return Error{fmt::format("relay: unreadable log line: {}", line)};
      Result<net::SocketAddress> s = AddressOf(json, "signaling");
      Result<net::SocketAddress> m = AddressOf(json, "media");
      Result<net::SocketAddress> h = AddressOf(json, "metrics");
      if (!s || !m || !h) return Error{fmt::format("relay: relay_started: {}", line)};
      signaling_ = *s;
      media_ = *m;
      metrics_ = *h;
      started_once_ = true;
      return Status::Ok();
    }
    std::string how;
    if (ExitedUnexpectedly(how)) {
      return Error{fmt::format("relay {} before starting; its log: {}", how, LastLine(text))};
    }
    if (std::chrono::steady_clock::now() > deadline) {
      Kill();
      return Error{fmt::format("relay: no relay_started within {} ms; its log: {}", timeout.count(),
                               LastLine(text))};
    }
    std::this_thread::sleep_for(kPoll);
  }
}

void RelayProcess::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

int RelayProcess::Terminate(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    const pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) break;
    if (std::chrono::steady_clock::now() > deadline) {
      Kill();
      return -1;
    }
    std::this_thread::sleep_for(kPoll);
  }
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool RelayProcess::ExitedUnexpectedly(std::string& how) {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) != pid_) return false;
  pid_ = -1;
  how = Describe(status);
  return true;
}

int64_t RelayProcess::resident_bytes() const {
  if (pid_ <= 0) return 0;
  return relay_load::ReadResidentBytesOf(fmt::format("/proc/{}/statm", pid_));
}

int64_t RelayProcess::cpu_ticks() const {
  if (pid_ <= 0) return 0;
  const relay_load::StatTicks ticks = relay_load::ReadStatTicks(fmt::format("/proc/{}/stat", pid_));
  return ticks.user + ticks.system;
}

uint64_t RelayProcess::media_socket_drops() const {
  if (pid_ <= 0 || media_.is_ipv6()) return 0;
  sockaddr_in address{};
  std::memcpy(&address, media_.sockaddr_ptr(), sizeof(address));
  // The kernel prints the address as the hex of its 32 bits in memory, the port in host
  // order: 127.0.0.1:5000 is "0100007F:1388".
  const std::string wanted =
      fmt::format("{:08X}:{:04X}", address.sin_addr.s_addr, ntohs(address.sin_port));
  std::ifstream in(fmt::format("/proc/{}/net/udp", pid_));
  std::string line;
  std::getline(in, line);  // the header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local, field;
    fields >> slot >> local;
    if (local != wanted) continue;
    uint64_t drops = 0;
    while (fields >> field) {
      try {
        drops = std::stoull(field);  // the last column
      } catch (const std::exception&) {
        drops = 0;
      }
    }
    return drops;
  }
  return 0;
}

Result<Metrics> RelayProcess::ScrapeMetrics() const {
  if (pid_ <= 0) return Error{"metrics: the relay is not running"};
  relay::testing::HttpReply reply;
  try {
    reply = relay::testing::HttpGet(metrics_, "/metrics");
  } catch (const std::exception& e) {
    return Error{fmt::format("metrics: {}", e.what())};
  }
  if (reply.status != 200) {
    return Error{fmt::format("metrics: GET /metrics answered {}", reply.status)};
  }
  Metrics out;
  std::istringstream lines(reply.body);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    if (space == std::string::npos) continue;
    try {
      out[line.substr(0, space)] = std::stod(line.substr(space + 1));
    } catch (const std::exception&) {
      // A value that is not a number (none today): skipped, not fatal to the soak.
    }
  }
  return out;
}

double SumMetric(const Metrics& metrics, const std::string& name) {
  double total = 0;
  for (auto it = metrics.lower_bound(name); it != metrics.end(); ++it) {
    const std::string& key = it->first;
    if (key.compare(0, name.size(), name) != 0) break;
    if (key.size() == name.size() || key[name.size()] == '{') total += it->second;
  }
  return total;
}

}  // namespace parley::soak
