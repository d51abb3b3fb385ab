// `parley relay` as a program: the built binary (PARLEY_CLI) killed with SIGKILL in the
// middle of a recorded call, and the command's exit when its media socket dies.
//
// Every wait is a bounded poll (the relay's log pipe read with a timeout, kDeadline at
// most); nothing sleeps for a fixed time. Ports: the relay binds port 0 and its
// relay_started log line gives the ports it got.
#include "relay_command.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "parley/audio/audio_file.h"
#include "parley/base/log.h"
#include "parley/client/call.h"
#include "parley/container/ogg_opus_reader.h"
#include "parley/relay/relay.h"
#include "parley/session/token.h"
#include "parley/testing/socket_faults.h"
#include "parley/testing/speech.h"

namespace parley::app {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

// Bounds each wait; a working relay is far quicker.
constexpr std::chrono::seconds kDeadline{20};
const std::string kSecret = "relay-command-test-secret-0123456789abcdef-012345";
constexpr int kRate = 48000;

int64_t UnixMsNow() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// `parley relay` in a child process, its stderr (the JSON log) on a pipe read with
// timeouts. The destructor kills it if it still runs.
class RelayProcess {
 public:
  ~RelayProcess() {
    if (pid_ > 0) Kill9();
    if (fd_ >= 0) close(fd_);
  }

  // Starts it; true once its relay_started line has come (within kDeadline).
  bool Start(const std::vector<std::string>& args) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return false;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], STDERR_FILENO);
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(PARLEY_CLI));
      for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
      argv.push_back(nullptr);
      execv(PARLEY_CLI, argv.data());
      _exit(127);
    }
    close(fds[1]);
    fd_ = fds[0];
    if (pid_ < 0) return false;
    const auto deadline = steady_clock::now() + kDeadline;
    while (!Event("relay_started")) {
      if (steady_clock::now() > deadline || !Read(milliseconds(100))) return false;
    }
    return true;
  }

  // Reads what the log pipe holds, waiting up to `wait` for the first bytes: the relay
  // never blocks on a full pipe, and this is the test's poll interval. False at EOF.
  bool Read(milliseconds wait) {
    pollfd p{fd_, POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(wait.count()));
    if (ready <= 0) return ready == 0 || errno == EINTR;
    char buffer[4096];
    const ssize_t n = read(fd_, buffer, sizeof buffer);
    if (n <= 0) return false;
    pending_.append(buffer, static_cast<size_t>(n));
    for (size_t end; (end = pending_.find('\n')) != std::string::npos;) {
      lines_.push_back(pending_.substr(0, end));
      pending_.erase(0, end + 1);
    }
    return true;
  }

  // The first log line of `event`, parsed.
  std::optional<nlohmann::json> Event(std::string_view event) const {
    for (const std::string& line : lines_) {
      const nlohmann::json parsed = nlohmann::json::parse(line, nullptr, false);
      if (!parsed.is_discarded() && parsed.value("event", "") == event) return parsed;
    }
    return std::nullopt;
  }
  std::string Log() const {
    std::string all;
    for (const std::string& line : lines_) all += line + "\n";
    return all;
  }

  // SIGKILL and reap; returns the wait status.
  int Kill9() {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  std::string pending_;
  std::vector<std::string> lines_;
};

// What a recording holds as read with the reader's tolerance of damage: its tags, its
// duration, and every defect.
struct Readable {
  bool opened = false;
  std::string open_error;
  std::map<std::string, std::string> tags;
  double packet_seconds = 0;  // from the packets' durations
  double decoded_seconds = 0;
  std::vector<container::OggDefect> defects;
};

std::map<std::string, std::string> TagsOf(const container::OggOpusReader& reader) {
  std::map<std::string, std::string> tags;
  for (const std::string& comment : reader.tags().comments) {
    const size_t equals = comment.find('=');
    if (equals != std::string::npos) tags[comment.substr(0, equals)] = comment.substr(equals + 1);
  }
  return tags;
}

// Its packets only (cheap: no decoding), for the poll while the relay writes.
double PacketSeconds(const fs::path& path) {
  auto reader = container::OggOpusReader::Open(path.string());
  if (!reader) return 0;
  int64_t samples = 0;
  for (;;) {
    auto packet = (*reader)->ReadPacket();
    if (!packet || !*packet) break;
    samples += (**packet).valid_samples_48k;
  }
  return static_cast<double>(samples) / kRate;
}

// Decoded whole, as `parley transcode --accept-damaged` reads a damaged file.
Readable Decode(const fs::path& path) {
  Readable out;
  auto reader = container::OggOpusPcmReader::Open(path.string());
  if (!reader) {
    out.open_error = reader.error().message;
    return out;
  }
  out.opened = true;
  out.tags = TagsOf((*reader)->reader());
  int64_t samples = 0;
  for (;;) {
    auto chunk = (*reader)->Read();
    if (!chunk || chunk->empty()) break;
    samples += static_cast<int64_t>(chunk->size()) / (*reader)->channels();
  }
  out.decoded_seconds = static_cast<double>(samples) / kRate;
  out.packet_seconds = static_cast<double>((*reader)->reader().duration_samples_48k()) / kRate;
  out.defects = (*reader)->reader().stats().defects;
  return out;
}

// The .opus files under `dir`, by file name.
std::map<std::string, fs::path> Recordings(const fs::path& dir) {
  std::map<std::string, fs::path> files;
  std::error_code error;
  for (auto it = fs::recursive_directory_iterator(dir, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (it->path().extension() == ".opus") files[it->path().filename().string()] = it->path();
  }
  return files;
}

// A relay killed with SIGKILL never finishes its files, and yet every one is readable up
// to its last flush. Figures of the recorder (recording.h) that bound what is missing:
//   participant file: the flush interval (500 ms), the writer's poll (10 ms), the packet
//     it holds back (20 ms); the mix also its delay behind the clock (200 ms).
// Beyond those, kSchedulingSlack for a recorder thread that a busy 2-core machine runs
// late, so at most about a second is missing; and nothing before it may be damaged.
TEST(RelayCommandTest, KillNineDuringRecordingLeavesEveryFileReadable) {
  constexpr double kFlushInterval = 0.5;
  constexpr double kWriterPoll = 0.01;
  constexpr double kHeldPacket = 0.02;
  constexpr double kMixDelay = 0.2;
  constexpr double kSchedulingSlack = 0.45;
  constexpr double kMinFlushedSeconds = 2.0;

  const fs::path dir =
      fs::path(::testing::TempDir()) / ("parley_relay_kill9_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path recordings = dir / "recordings";
  const fs::path config_path = dir / "relay.json";
  {
    std::ofstream config(config_path);
    config << nlohmann::json{{"token_secret", kSecret},
                             {"listen_signaling", "127.0.0.1:0"},
                             {"listen_media", "127.0.0.1:0"},
                             {"recording_dir", recordings.string()}}
                  .dump();
  }
  RelayProcess relay;
  ASSERT_TRUE(relay.Start({"relay", "--config", config_path.string(), "--metrics-listen", "off"}))
      << relay.Log();
  const std::string signaling = relay.Event("relay_started")->value("signaling", "");
  ASSERT_TRUE(signaling.starts_with("ws://127.0.0.1:")) << signaling;

  // Two speakers, each sending a clip over and over until the kill.
  const std::vector<std::string> names = {"alice", "bob"};
  std::vector<std::unique_ptr<client::Call>> calls;
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string clip_path = (dir / (names[i] + ".wav")).string();
    ASSERT_TRUE(audio::WriteWavFile(
        clip_path, audio::AudioFrame({kRate, 1}, testing::Speech(kRate, static_cast<int>(i)))));
    client::CallConfig call;
    call.relay_url = signaling + "/";
    call.room = "standup";
    call.token =
        session::MintToken({.room = "standup",
                            .identity = names[i],
                            .expires_unix_s = UnixMsNow() / 1000 + 3600,
                            .rights = session::Rights::kPublish | session::Rights::kSubscribe},
                           kSecret);
    call.identity = names[i];
    call.send_path = clip_path;
    call.loop = true;
    auto created = client::Call::Create(std::move(call));
    ASSERT_TRUE(created) << created.error().message;
    calls.push_back(std::move(created).value());
  }
  for (auto& call : calls) ASSERT_TRUE(call->Start()) << relay.Log();

  // Until every file (two participants and the mix) has kMinFlushedSeconds on disk.
  const auto deadline = steady_clock::now() + kDeadline;
  auto flushed_enough = [&] {
    const auto files = Recordings(recordings);
    return files.size() == names.size() + 1 &&
           std::all_of(files.begin(), files.end(), [&](const auto& file) {
             return PacketSeconds(file.second) >= kMinFlushedSeconds;
           });
  };
  while (!flushed_enough()) {
    ASSERT_LT(steady_clock::now(), deadline) << "recordings did not grow\n" << relay.Log();
    ASSERT_TRUE(relay.Read(milliseconds(100))) << "the relay exited\n" << relay.Log();
  }

  // What each speaker had sent at the kill, in seconds of audio.
  std::map<std::string, double> sent_seconds;
  for (size_t i = 0; i < names.size(); ++i) {
    const client::MediaSenderStats sender = calls[i]->Stats().sender;
    const uint64_t packets = sender.packets_produced + sender.packets_skipped;
    ASSERT_GT(packets, 0u);
    const double packet_seconds =
        std::chrono::duration<double>(sender.media_time).count() / static_cast<double>(packets);
    sent_seconds[names[i]] = static_cast<double>(sender.packets_sent) * packet_seconds;
  }
  const int64_t kill_unix_ms = UnixMsNow();
  const int status = relay.Kill9();
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  calls.clear();  // they lose the relay; their Leave() is bounded

  const auto files = Recordings(recordings);
  ASSERT_EQ(files.size(), names.size() + 1);
  for (const auto& [name, path] : files) {
    SCOPED_TRACE(name);
    const Readable file = Decode(path);
    ASSERT_TRUE(file.opened) << file.open_error;
    // Unfinished: no end-of-stream page, maybe a page cut short; nothing else.
    for (const container::OggDefect& defect : file.defects) {
      EXPECT_TRUE(defect.kind == container::OggDefectKind::kNoEndOfStream ||
                  defect.kind == container::OggDefectKind::kTruncated)
          << defect.message;
    }
    EXPECT_NEAR(file.decoded_seconds, file.packet_seconds, 0.03) << "decodes as it is timed";
    double expected = 0;
    double allowed_missing = 0;
    if (name == "mix.opus") {
      // Time 0 is the room's start; the mix follows the wall clock mix_delay behind.
      expected =
          static_cast<double>(kill_unix_ms - std::stoll(file.tags.at("START_UNIX_MS"))) / 1000.0 -
          kMixDelay;
      allowed_missing = kFlushInterval + kWriterPoll + kSchedulingSlack;
    } else {
      const std::string identity = file.tags.at("IDENTITY");
      ASSERT_TRUE(sent_seconds.contains(identity)) << identity;
      expected = sent_seconds[identity];
      allowed_missing = kFlushInterval + kWriterPoll + kHeldPacket + kSchedulingSlack;
    }
    RecordProperty(name + "_missing_s", std::to_string(expected - file.decoded_seconds));
    EXPECT_GE(file.decoded_seconds, expected - allowed_missing)
        << "expected about " << expected << " s";
    EXPECT_GE(PacketSeconds(path), kMinFlushedSeconds) << "files only grow";
  }
  fs::remove_all(dir);
}

// A media socket that dies (here: receives fail with EBADF, as on a closed descriptor)
// ends the command with exit code 1 and a log line saying why, instead of serving
// signaling with no media plane.
TEST(RelayCommandTest, ExitsNonZeroWhenTheMediaSocketFails) {
  std::vector<std::string> lines;
  std::mutex mutex;
  Logger logger(LogLevel::kInfo, [&](std::string_view line) {
    std::lock_guard lock(mutex);
    lines.emplace_back(line);
  });
  testing::SocketFaults faults;
  relay::RelayOptions options;
  options.media_loop.socket.system_calls = &faults;
  options.media_loop.idle_wait = milliseconds(5);
  session::RelayConfig config;
  config.token_secret = kSecret;
  config.listen_signaling = "127.0.0.1:0";
  config.listen_media = "127.0.0.1:0";
  config.metrics_listen = "";
  relay::Relay relay(config, logger, options);
  ASSERT_TRUE(relay.Start());
  faults.FailReceives(EBADF, 1);

  sigset_t none;  // no signal comes: only the failure ends the wait
  sigemptyset(&none);
  sigaddset(&none, SIGUSR2);
  EXPECT_EQ(ServeRelay(relay, logger, none), 1);
  EXPECT_EQ(faults.receives_failed(), 1u);

  std::lock_guard lock(mutex);
  std::vector<std::string> events;
  for (const std::string& line : lines)
    events.push_back(nlohmann::json::parse(line)["event"].get<std::string>());
  const auto failed = std::find(events.begin(), events.end(), "media_loop_failed");
  const auto exiting = std::find(events.begin(), events.end(), "relay_exiting");
  ASSERT_NE(failed, events.end());
  ASSERT_NE(exiting, events.end());
  EXPECT_LT(failed, exiting);
  const nlohmann::json exit_line = nlohmann::json::parse(lines[exiting - events.begin()]);
  EXPECT_EQ(exit_line["level"], "error");
  EXPECT_EQ(exit_line["exit_code"], 1);
  EXPECT_NE(exit_line["error"].get<std::string>().find("(EBADF)"), std::string::npos)
      << exit_line.dump();
  EXPECT_NE(std::find(events.begin(), events.end(), "relay_stopped"), events.end());
}

}  // namespace
}  // namespace parley::app
