// Every parley subcommand on hostile input: damaged and garbage files of every kind a
// command reads, packet logs whose sender's timeline jumps, impossible option values.
// The built binary runs as a child process (PARLEY_CLI), as a user would run it.
// Whatever it is given, it must end cleanly: exit code 0 when the input is legitimately
// fine, else 1 with exactly one line on stderr naming the input at fault; never an abort
// (a signal, exit code 134), never "terminate called", never the last-resort net's
// "internal error" (an exception that escaped is a bug even when the net catches it).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "parley/audio/audio_file.h"
#include "parley/codec/registry.h"
#include "parley/lab/lab_call.h"
#include "parley/lab/packet_log.h"
#include "parley/testing/files.h"
#include "parley/testing/speech.h"

namespace parley::app {
namespace {

namespace fs = std::filesystem;

constexpr int kRate = 48000;
// A child that has not ended by then is killed (SIGALRM) and the test fails: a command
// must not hang on bad input either. Far above any run here (under a second each).
constexpr unsigned kChildTimeoutS = 20;

struct Outcome {
  bool exited = false;  // false: ended by a signal
  int exit_code = -1;
  int signal = 0;
  std::string out;
  std::string err;

  std::string Describe() const {
    return (exited ? "exit code " + std::to_string(exit_code)
                   : "killed by signal " + std::to_string(signal)) +
           "\nstdout: " + out + "\nstderr: " + err;
  }
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteAll(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

class CommandsHostileTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testing::TempPath("commands_hostile"));
    fs::remove_all(*dir_);
    fs::create_directories(*dir_);
    // parley lab scores with $PARLEY_PESQ when it is set: the commands here run without
    // one unless a test sets it.
    unsetenv("PARLEY_PESQ");
    // 2 s of speech: the WAV every command that takes audio is given, and the packets of
    // every packet log.
    std::vector<int16_t> speech = testing::Speech(kRate, 0);
    speech.resize(2 * kRate);
    const audio::AudioFrame frame({kRate, 1}, speech);
    ASSERT_TRUE(audio::WriteWavFile(Path("speech.wav"), frame).ok());
    lab::SenderConfig sender;
    sender.codec = &codec::GetCodecInfo(codec::CodecId::kOpus);
    sender.encoder.bitrate_bps = 24000;
    sender.encoder.frame_ms = 20;
    auto stream = lab::EncodeStream(frame, sender);
    ASSERT_TRUE(stream.ok()) << stream.error().message;
    packets_ = new std::vector<lab::SentPacket>(std::move(stream->packets));
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
    delete packets_;
  }

  static std::string Path(const std::string& name) { return *dir_ + "/" + name; }

  // Runs `parley args...` with stdin from /dev/null, its output captured.
  static Outcome Run(const std::vector<std::string>& args) {
    const std::string out_path = Path("stdout.txt");
    const std::string err_path = Path("stderr.txt");
    std::vector<std::string> owned = {PARLEY_CLI};
    owned.insert(owned.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& arg : owned) argv.push_back(arg.data());
    argv.push_back(nullptr);
    const pid_t pid = fork();
    if (pid == 0) {
      const int in = open("/dev/null", O_RDONLY);
      const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (in < 0 || out < 0 || err < 0) _exit(126);
      dup2(in, STDIN_FILENO);
      dup2(out, STDOUT_FILENO);
      dup2(err, STDERR_FILENO);
      alarm(kChildTimeoutS);  // survives exec: a hung command is ended by SIGALRM
      execv(argv[0], argv.data());
      _exit(127);
    }
    Outcome outcome;
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) {
      outcome.err = "fork or waitpid failed";
      return outcome;
    }
    outcome.exited = WIFEXITED(status);
    outcome.exit_code = outcome.exited ? WEXITSTATUS(status) : -1;
    outcome.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    outcome.out = ReadAll(out_path);
    outcome.err = ReadAll(err_path);
    return outcome;
  }

  // Ended by itself, without an abort, a core or the last-resort net.
  static void ExpectNoCrash(const Outcome& o, const std::string& what) {
    EXPECT_TRUE(o.exited) << what << ": " << o.Describe();
    EXPECT_NE(o.exit_code, 134) << what << ": " << o.Describe();
    EXPECT_NE(o.exit_code, 139) << what << ": " << o.Describe();
    EXPECT_EQ(o.err.find("terminate called"), std::string::npos) << what << ": " << o.Describe();
    EXPECT_EQ(o.err.find("internal error"), std::string::npos) << what << ": " << o.Describe();
  }

  // Exit code 1 and exactly one line on stderr, naming `names`.
  static void ExpectOneLineError(const std::vector<std::string>& args, const std::string& names) {
    const Outcome o = Run(args);
    std::string what = "parley";
    for (const std::string& arg : args) what += " " + arg;
    ExpectNoCrash(o, what);
    const bool one_line =
        !o.err.empty() && o.err.back() == '\n' && std::count(o.err.begin(), o.err.end(), '\n') == 1;
    EXPECT_TRUE(o.exit_code == 1 && one_line && o.err.find(names) != std::string::npos)
        << what << "\n  expected exit code 1 and one line on stderr naming '" << names << "', got "
        << o.Describe();
  }

  // Exit code 0 (the input is legitimately fine).
  static Outcome ExpectSuccess(const std::vector<std::string>& args) {
    const Outcome o = Run(args);
    std::string what = "parley";
    for (const std::string& arg : args) what += " " + arg;
    ExpectNoCrash(o, what);
    EXPECT_EQ(o.exit_code, 0) << what << ": " << o.Describe();
    return o;
  }

  // Damaged versions of `good` (a file of kind `ext`): empty, cut short, random bytes.
  static std::vector<std::string> DamagedFiles(const std::string& good, const std::string& ext) {
    const std::string bytes = ReadAll(good);
    std::mt19937 rng(7);
    std::string garbage(3000, '\0');
    for (char& c : garbage) c = static_cast<char>(rng());
    const std::vector<std::pair<std::string, std::string>> files = {
        {"empty", ""},
        {"header-cut", bytes.substr(0, std::min<size_t>(bytes.size(), 11))},
        {"half", bytes.substr(0, bytes.size() / 2 + 1)},
        {"garbage", garbage},
    };
    std::vector<std::string> paths;
    for (const auto& [name, content] : files) {
      paths.push_back(Path(name + "." + ext));
      WriteAll(paths.back(), content);
    }
    return paths;
  }

  // A WAV header with impossible or extreme fields, then a few samples.
  static std::string OddWav(const std::string& name, uint16_t channels, uint32_t rate_hz,
                            uint16_t bits) {
    std::string wav = "RIFF";
    auto put = [&wav](uint64_t value, int bytes) {
      for (int i = 0; i < bytes; ++i) wav += static_cast<char>((value >> (8 * i)) & 0xff);
    };
    put(36 + 64, 4);
    wav += "WAVEfmt ";
    put(16, 4);
    put(1, 2);  // PCM
    put(channels, 2);
    put(rate_hz, 4);
    put(uint64_t{rate_hz} * channels * bits / 8, 4);
    put(channels * bits / 8, 2);
    put(bits, 2);
    wav += "data";
    put(64, 4);
    wav += std::string(64, '\x11');
    const std::string path = Path(name);
    WriteAll(path, wav);
    return path;
  }

  static std::vector<std::string> OddWavs() {
    return {OddWav("rate-max.wav", 1, 0xffffffffu, 16),
            OddWav("rate-1.wav", 1, 1, 16),
            OddWav("channels-max.wav", 0xffff, 48000, 16),
            OddWav("channels-0.wav", 0, 48000, 16),
            OddWav("bits-3.wav", 1, 48000, 3),
            OddWav("eight-channels.wav", 8, 48000, 16)};
  }

  // A packet log of the 2 s of speech: 20 ms Opus packets, each arriving 40 ms after it
  // was sent, the RTP timestamps from `first_ts`.
  static std::vector<lab::LoggedPacket> SpeechLog(uint32_t first_ts = 0) {
    std::vector<lab::LoggedPacket> log;
    for (const lab::SentPacket& p : *packets_) {
      log.push_back({p.seq, first_ts + p.rtp_ts, p.send_ms, p.send_ms + 40, p.payload});
    }
    return log;
  }

  static std::string WriteLog(const std::string& name, const std::vector<lab::LoggedPacket>& log) {
    const std::string path = Path(name);
    EXPECT_TRUE(lab::WritePacketLogFile(path, log).ok());
    return path;
  }

  // Plays `log` through every player; the figures must be ones a person can believe.
  static void ExpectSensibleLabRun(const std::string& log_path) {
    const std::string out = log_path + ".out.wav";
    ExpectSuccess({"lab", "--packets", log_path, out, "--compare", "--no-plot", "-q"});
    const std::string report_text = ReadAll(log_path + ".out.report.json");
    ASSERT_FALSE(report_text.empty()) << log_path;
    const auto report = nlohmann::json::parse(report_text, nullptr, false);
    ASSERT_FALSE(report.is_discarded()) << report_text;
    ASSERT_EQ(report["players"].size(), 4u) << report_text;
    const double call_ms = 1000.0 * report["duration_s"].get<double>();
    for (const auto& player : report["players"]) {
      const std::string name = player["name"].get<std::string>();
      for (const char* field : {"delay_mean_ms", "delay_p95_ms", "mouth_to_ear_ms", "mos",
                                "concealment_percent", "segmental_snr_db"}) {
        ASSERT_TRUE(player[field].is_number()) << log_path << " " << name << " " << field;
      }
      // Send -> playout: never negative, never longer than the run itself (the call and
      // the 500 ms the players get to drain).
      EXPECT_GE(player["delay_mean_ms"].get<double>(), 0.0) << log_path << " " << name;
      EXPECT_LE(player["delay_p95_ms"].get<double>(), call_ms + 510) << log_path << " " << name;
      EXPECT_GE(player["mos"].get<double>(), 1.0) << log_path << " " << name;
      EXPECT_LE(player["mos"].get<double>(), 4.5) << log_path << " " << name;
    }
  }

  static std::string* dir_;
  static std::vector<lab::SentPacket>* packets_;
};

// A little-endian pcap capture (Ethernet, IPv4, UDP) builder for RTP packets.
class PcapBuilder {
 public:
  PcapBuilder() {
    Put32(0xa1b2c3d4);
    Put16(2);
    Put16(4);
    Put32(0);
    Put32(0);
    Put32(65535);
    Put32(1);  // Ethernet
  }

  // One RTP packet of payload type 111 from port `port` at `at_ms` of capture time.
  void Add(double at_ms, uint16_t port, uint32_t ssrc, uint16_t seq, uint32_t ts,
           const std::vector<uint8_t>& payload) {
    std::string rtp = {'\x80', 111};
    Append16(rtp, seq);
    Append32(rtp, ts);
    Append32(rtp, ssrc);
    rtp.append(payload.begin(), payload.end());
    std::string udp;
    Append16(udp, port);
    Append16(udp, 6000);
    Append16(udp, static_cast<uint16_t>(8 + rtp.size()));
    Append16(udp, 0);  // no checksum
    std::string ip = {'\x45', 0};
    Append16(ip, static_cast<uint16_t>(20 + udp.size() + rtp.size()));
    ip += std::string("\0\0\x40\0\x40\x11\0\0\x7f\0\0\x01\x7f\0\0\x01", 16);
    uint32_t sum = 0;
    for (size_t i = 0; i < ip.size(); i += 2) {
      sum += (static_cast<uint8_t>(ip[i]) << 8) | static_cast<uint8_t>(ip[i + 1]);
    }
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
    ip[10] = static_cast<char>((~sum >> 8) & 0xff);
    ip[11] = static_cast<char>(~sum & 0xff);
    const std::string frame = std::string(12, '\x02') + "\x08" + '\0' + ip + udp + rtp;
    const auto us = static_cast<uint64_t>(at_ms * 1000);
    Put32(static_cast<uint32_t>(us / 1000000));
    Put32(static_cast<uint32_t>(us % 1000000));
    Put32(static_cast<uint32_t>(frame.size()));
    Put32(static_cast<uint32_t>(frame.size()));
    bytes_ += frame;
  }

  const std::string& bytes() const { return bytes_; }

 private:
  static void Append16(std::string& out, uint16_t v) {
    out += static_cast<char>(v >> 8);
    out += static_cast<char>(v & 0xff);
  }
  static void Append32(std::string& out, uint32_t v) {
    Append16(out, static_cast<uint16_t>(v >> 16));
    Append16(out, static_cast<uint16_t>(v & 0xffff));
  }
  void Put16(uint16_t v) {
    bytes_ += static_cast<char>(v & 0xff);
    bytes_ += static_cast<char>(v >> 8);
  }
  void Put32(uint32_t v) {
    Put16(static_cast<uint16_t>(v & 0xffff));
    Put16(static_cast<uint16_t>(v >> 16));
  }

  std::string bytes_;
};

std::string* CommandsHostileTest::dir_ = nullptr;
std::vector<lab::SentPacket>* CommandsHostileTest::packets_ = nullptr;

TEST_F(CommandsHostileTest, CommandLinesCliRefusesAreOneLineAndExitCodeOne) {
  ExpectOneLineError({}, "subcommand");
  ExpectOneLineError({"no-such-command"}, "no-such-command");
  ExpectOneLineError({"transcode", "--bogus", "a.wav", "b.wav"}, "--bogus");
  ExpectOneLineError({"transcode", Path("speech.wav")}, "output");
  ExpectOneLineError({"transcode", Path("speech.wav"), Path("x.wav"), "--bitrate"}, "--bitrate");
  ExpectOneLineError({"codecs", "extra"}, "extra");
  ExpectOneLineError({"ogg"}, "subcommand");
  ExpectSuccess({"--help"});
  ExpectSuccess({"--version"});
  ExpectSuccess({"codecs"});
}

TEST_F(CommandsHostileTest, TranscodeRefusesDamagedInputAndImpossibleOptions) {
  const std::string wav = Path("speech.wav");
  // The files to damage, each made from the good WAV.
  ExpectSuccess({"transcode", wav, Path("good.opus"), "-q"});
  ExpectSuccess({"transcode", wav, Path("good.g722"), "-q"});
  ExpectSuccess({"transcode", wav, Path("good.c2"), "-q"});
  ExpectSuccess({"transcode", wav, Path("good.gsm"), "-q"});
  for (const std::string ext : {"wav", "opus", "c2", "gsm"}) {
    const std::string good = ext == std::string("wav") ? wav : Path("good." + ext);
    for (const std::string& bad : DamagedFiles(good, ext)) {
      const Outcome o = Run({"transcode", bad, Path("out.wav"), "-q"});
      ExpectNoCrash(o, "transcode " + bad);
      if (o.exit_code != 0) ExpectOneLineError({"transcode", bad, Path("out.wav"), "-q"}, bad);
    }
  }
  for (const std::string& odd : OddWavs()) {
    for (const std::string out : {"out.wav", "out.opus", "out.g722"}) {
      const std::vector<std::string> args = {"transcode", odd, Path(out), "-q"};
      const Outcome o = Run(args);
      ExpectNoCrash(o, "transcode " + odd + " " + out);
      if (o.exit_code != 0) ExpectOneLineError(args, odd);
    }
  }
  ExpectOneLineError({"transcode", Path("missing.wav"), Path("out.wav")}, "missing.wav");
  ExpectOneLineError({"transcode", wav, Path("out.opus"), "--bitrate", "-5"}, "--bitrate");
  ExpectOneLineError({"transcode", wav, Path("out.opus"), "--bitrate", "99999999999"}, "--bitrate");
  ExpectOneLineError({"transcode", wav, Path("out.opus"), "--bitrate", "nan"}, "--bitrate");
  ExpectOneLineError({"transcode", wav, Path("out.opus"), "--frame-ms", "7"}, "7");
  ExpectOneLineError({"transcode", wav, Path("out.opus"), "--frame-ms", "-20"}, "--frame-ms");
  ExpectOneLineError({"transcode", wav, Path("out.opus"), "--loss", "150"}, "--loss");
  ExpectOneLineError({"transcode", wav, Path("out.opus"), "--codec", "nope"}, "nope");
  ExpectOneLineError({"transcode", wav, Path("out.c2"), "--bitrate", "1"}, "1");
  ExpectOneLineError({"transcode", wav, Path("out.xyz")}, "out.xyz");
  ExpectOneLineError({"transcode", wav, Path("no-such-dir/out.wav")}, "no-such-dir");
  // Raw L16 input: the rate and channels are options.
  ExpectSuccess({"transcode", wav, Path("good.l16"), "-q"});
  ExpectOneLineError({"transcode", Path("good.l16"), Path("out.wav"), "--raw-rate", "-1"},
                     "--raw-rate");
  for (const char* rate : {"7", "99999999", "2147483647"}) {
    ExpectOneLineError({"transcode", Path("good.l16"), Path("out.wav"), "--raw-rate", rate},
                       Path("good.l16"));
  }
  ExpectOneLineError({"transcode", Path("good.l16"), Path("out.wav"), "--raw-channels", "9"},
                     "--raw-channels");
  WriteAll(Path("odd.l16"), std::string(3, '\x01'));
  const Outcome odd = Run({"transcode", Path("odd.l16"), Path("out.wav"), "-q"});
  ExpectNoCrash(odd, "odd.l16");
  if (odd.exit_code != 0) {
    ExpectOneLineError({"transcode", Path("odd.l16"), Path("out.wav"), "-q"}, "odd.l16");
  }
}

TEST_F(CommandsHostileTest, OggInfoAndRtpRefuseDamagedFiles) {
  ExpectSuccess({"transcode", Path("speech.wav"), Path("info.opus"), "-q"});
  ExpectSuccess({"ogg", "info", Path("info.opus")});
  for (const std::string& bad : DamagedFiles(Path("info.opus"), "ogg")) {
    const Outcome o = Run({"ogg", "info", bad});
    ExpectNoCrash(o, "ogg info " + bad);
    if (o.exit_code != 0) ExpectOneLineError({"ogg", "info", bad}, bad);
  }
  ExpectOneLineError({"ogg", "info", Path("missing.opus")}, "missing.opus");

  // A capture: a pcap global header, then one record that claims more bytes than follow.
  std::string pcap("\xd4\xc3\xb2\xa1\x02\x00\x04\x00", 8);
  pcap += std::string(8, '\0');
  pcap += std::string("\xff\xff\x00\x00\x01\x00\x00\x00", 8);
  pcap += std::string(8, '\0') + std::string("\xe8\x03\x00\x00\xe8\x03\x00\x00", 8) + "short";
  WriteAll(Path("cut.pcap"), pcap);
  std::vector<std::string> captures = DamagedFiles(Path("cut.pcap"), "pcap");
  captures.push_back(Path("cut.pcap"));
  for (const std::string& bad : captures) {
    for (const std::string sub : {"streams", "extract"}) {
      std::vector<std::string> args = {"rtp", sub, bad};
      if (sub == "extract") args.insert(args.end(), {"-o", Path("rtp.wav")});
      const Outcome o = Run(args);
      ExpectNoCrash(o, "rtp " + sub + " " + bad);
      if (o.exit_code != 0) ExpectOneLineError(args, bad);
    }
  }
  ExpectOneLineError({"rtp", "extract", Path("cut.pcap"), "-o", Path("x.wav"), "--ssrc", "zz"},
                     "--ssrc");
  ExpectOneLineError(
      {"rtp", "extract", Path("cut.pcap"), "-o", Path("x.wav"), "--ssrc", "0x123456789"}, "--ssrc");
  for (const char* map : {"111=nope", "300=opus", "=", "111=opus,111", "-1=opus"}) {
    ExpectOneLineError({"rtp", "streams", Path("cut.pcap"), "--pt-map", map}, "--pt-map");
  }
}

TEST_F(CommandsHostileTest, LabPlaysPacketLogsWhoseSenderTimelineJumps) {
  // The case that aborted: the sender's timestamps jump 5 s forward mid-call while its
  // clock runs on (send times continuous).
  std::vector<lab::LoggedPacket> jump = SpeechLog();
  for (size_t i = 50; i < jump.size(); ++i) jump[i].rtp_ts += 5 * kRate;
  ExpectSensibleLabRun(WriteLog("jump.csv", jump));

  // A sender restart: timestamps start again, lower, mid-call.
  std::vector<lab::LoggedPacket> restart = SpeechLog(3'000'000'000u);
  for (size_t i = 50; i < restart.size(); ++i) {
    restart[i].rtp_ts = 1000 + static_cast<uint32_t>(i - 50) * 960;
  }
  ExpectSensibleLabRun(WriteLog("restart.csv", restart));

  // One stray packet 10 s in the future.
  std::vector<lab::LoggedPacket> stray = SpeechLog();
  stray[60].rtp_ts += 10 * kRate;
  ExpectSensibleLabRun(WriteLog("stray.csv", stray));

  // Timestamps wrapping around 2^32 after 40 packets.
  ExpectSensibleLabRun(WriteLog("wrap.csv", SpeechLog(0u - 40u * 960u)));

  // Bursts of duplicates: packets 30..59 arrive five times each.
  std::vector<lab::LoggedPacket> duplicates;
  for (const lab::LoggedPacket& packet : SpeechLog()) {
    duplicates.push_back(packet);
    if (packet.seq < 30 || packet.seq >= 60) continue;
    for (int copy = 1; copy < 5; ++copy) {
      duplicates.push_back(packet);
      duplicates.back().arrival_ms += copy;
    }
  }
  ExpectSensibleLabRun(WriteLog("duplicates.csv", duplicates));
  const auto report =
      nlohmann::json::parse(ReadAll(Path("duplicates.csv.out.report.json")), nullptr, false);
  EXPECT_EQ(report["network"]["packets_sent"], packets_->size());
  EXPECT_EQ(report["network"]["packets_duplicated"], 30);

  // A log stamped with a far-off clock (times start at 5e11 ms) and huge sequence numbers.
  std::vector<lab::LoggedPacket> far = SpeechLog();
  for (lab::LoggedPacket& packet : far) {
    packet.seq += int64_t{1} << 62;
    packet.send_ms += 5e11;
    packet.arrival_ms += 5e11;
  }
  ExpectSensibleLabRun(WriteLog("far-clock.csv", far));
}

TEST_F(CommandsHostileTest, RtpExtractsStreamsWhoseSenderTimelineJumps) {
  // One capture, one stream per timeline event, told apart by SSRC.
  PcapBuilder pcap;
  struct Stream {
    uint32_t ssrc;
    uint16_t port;
  };
  const Stream jump{0x1001, 5001}, restart{0x1002, 5002}, stray{0x1003, 5003}, wrap{0x1004, 5004},
      duplicates{0x1005, 5005};
  for (const lab::SentPacket& p : *packets_) {
    const double at = p.send_ms + 40;
    const auto seq = static_cast<uint16_t>(p.seq);
    const uint32_t ts = p.rtp_ts;
    pcap.Add(at, jump.port, jump.ssrc, seq, p.seq >= 50 ? ts + 5 * kRate : ts, p.payload);
    pcap.Add(at, restart.port, restart.ssrc, seq, p.seq >= 50 ? ts - 50 * 960 : 3'000'000'000u + ts,
             p.payload);
    pcap.Add(at, stray.port, stray.ssrc, seq, p.seq == 60 ? ts + 10 * kRate : ts, p.payload);
    pcap.Add(at, wrap.port, wrap.ssrc, static_cast<uint16_t>(65500 + p.seq), 0u - 40u * 960u + ts,
             p.payload);
    const int copies = p.seq >= 30 && p.seq < 60 ? 5 : 1;
    for (int copy = 0; copy < copies; ++copy) {
      pcap.Add(at + copy, duplicates.port, duplicates.ssrc, seq, ts, p.payload);
    }
  }
  const std::string capture = Path("timelines.pcap");
  WriteAll(capture, pcap.bytes());
  const Outcome streams = ExpectSuccess({"rtp", "streams", capture, "--pt-map", "111=opus"});
  EXPECT_NE(streams.out.find("5 streams"), std::string::npos) << streams.out;
  // The figures stay believable: packets arrive at a steady pace (no jitter to speak of),
  // and a stream lasts what its timestamps fill (2 s, plus the 5 s leap or the 10 s stray
  // filled as gaps; a restart is not hours of media).
  std::istringstream lines(streams.out);
  std::string line;
  int rows = 0;
  while (std::getline(lines, line)) {
    if (!line.starts_with("0x0000100")) continue;
    ++rows;
    std::istringstream fields(line);
    std::vector<std::string> columns;
    for (std::string field; fields >> field;) columns.push_back(field);
    ASSERT_GE(columns.size(), 4u) << line;
    const double duration_s = std::stod(columns[columns.size() - 1]);
    const double jitter_ms = std::stod(columns[columns.size() - 2]);
    EXPECT_LT(jitter_ms, 1.0) << line;
    EXPECT_GE(duration_s, 2.0) << line;
    EXPECT_LE(duration_s, 12.1) << line;
  }
  EXPECT_EQ(rows, 5) << streams.out;
  for (const Stream& stream : {jump, restart, stray, wrap, duplicates}) {
    const std::string ssrc = std::to_string(stream.ssrc);
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%08X", stream.ssrc);
    for (const std::string ext : {"wav", "opus"}) {
      std::vector<std::string> args = {
          "rtp",    "extract", capture,    "-o",       Path(std::string("rtp-") + hex + "." + ext),
          "--ssrc", hex,       "--pt-map", "111=opus", "-q"};
      const Outcome o = Run(args);
      ExpectNoCrash(o, std::string("rtp extract ") + hex + " " + ext);
      if (o.exit_code != 0) ExpectOneLineError(args, capture);
    }
  }
}

TEST_F(CommandsHostileTest, LabRefusesBrokenPacketLogsAndTracesNamingThem) {
  const std::string out = Path("lab-out.wav");
  auto refused = [&](const std::string& log) {
    ExpectOneLineError({"lab", "--packets", log, out, "--compare", "--no-plot", "-q"}, log);
  };
  // A packet arriving hours after the call: refused, not an hour of audio in memory.
  std::vector<lab::LoggedPacket> late = SpeechLog();
  late[20].arrival_ms = 9e11;
  refused(WriteLog("late.csv", late));
  std::vector<lab::LoggedPacket> sent_late = SpeechLog();
  sent_late[20].send_ms = 9e11;
  sent_late[20].arrival_ms = 9e11 + 40;
  refused(WriteLog("sent-late.csv", sent_late));

  const std::string good = WriteLog("good.csv", SpeechLog());
  const std::string text = ReadAll(good);
  const std::vector<std::pair<std::string, std::string>> broken = {
      {"empty.csv", ""},
      {"header-only.csv", "seq,rtp_ts,send_ms,arrival_ms,payload_hex\n"},
      {"cut.csv", text.substr(0, text.find('\n', text.size() / 2) + 1) + "50,48000"},
      {"nan.csv", "0,0,nan,20,fc\n"},
      {"inf.csv", "0,0,0,inf,fc\n"},
      {"negative.csv", "0,0,-20,20,fc\n"},
      {"huge.csv", "0,0,1e300,1e300,fc\n"},
      {"huge-seq.csv", "99999999999999999999,0,0,20,fc\n"},
      {"rtp-range.csv", "0,4294967296,0,20,fc\n"},
      {"odd-hex.csv", "0,0,0,20,fcf\n"},
      {"not-opus.csv", "0,0,0,20,\n1,960,20,40,\n"},
  };
  for (const auto& [name, content] : broken) {
    WriteAll(Path(name), content);
    refused(Path(name));
  }
  std::mt19937 rng(3);
  std::string garbage(5000, '\0');
  for (char& c : garbage) c = static_cast<char>(rng());
  WriteAll(Path("garbage.csv"), garbage);
  refused(Path("garbage.csv"));
  ExpectOneLineError({"lab", "--packets", Path("missing.csv"), out, "-q"}, "missing.csv");

  // Random payloads in a well-formed log: played (as Opus they mostly decode to
  // something) or refused, cleanly either way.
  std::vector<lab::LoggedPacket> noise = SpeechLog();
  for (lab::LoggedPacket& packet : noise) {
    for (uint8_t& byte : packet.payload) byte = static_cast<uint8_t>(rng());
  }
  const std::string noise_log = WriteLog("noise.csv", noise);
  const Outcome o = Run({"lab", "--packets", noise_log, out, "--compare", "--no-plot", "-q"});
  ExpectNoCrash(o, noise_log);
  if (o.exit_code != 0) {
    ExpectOneLineError({"lab", "--packets", noise_log, out, "--compare", "--no-plot", "-q"},
                       noise_log);
  }

  // Opus payloads read as another codec's: whatever each makes of them, cleanly.
  for (const char* codec : {"pcmu", "pcma", "g722", "l16", "gsm", "g729", "codec2"}) {
    const std::vector<std::string> args = {"lab", "--packets", good,        out, "--codec",
                                           codec, "--compare", "--no-plot", "-q"};
    const Outcome wrong = Run(args);
    ExpectNoCrash(wrong, std::string("lab --packets --codec ") + codec);
    if (wrong.exit_code != 0) ExpectOneLineError(args, good);
  }

  // Traces.
  const std::string wav = Path("speech.wav");
  const std::vector<std::pair<std::string, std::string>> traces = {
      {"t-empty.csv", ""},         {"t-cut.csv", "seq,send_ms,arrival_ms\n0,0,20\n1,20"},
      {"t-nan.csv", "0,0,nan\n"},  {"t-huge.csv", "0,0,1e300\n"},
      {"t-far.csv", "0,0,9e11\n"}, {"t-missing.csv", "0,0,20\n"},
      {"t-garbage.csv", garbage},
  };
  for (const auto& [name, content] : traces) {
    WriteAll(Path(name), content);
    ExpectOneLineError({"lab", wav, out, "--trace", Path(name), "--no-plot", "-q"}, Path(name));
  }
  // A trace for every packet of the WAV, one of them arriving an hour and more later.
  std::string far = "seq,send_ms,arrival_ms\n";
  for (size_t i = 0; i < packets_->size(); ++i) {
    far += std::to_string(i) + "," + std::to_string(i * 20) + "," +
           (i == 10 ? std::string("5e9") : std::to_string(i * 20 + 30)) + "\n";
  }
  WriteAll(Path("t-far-one.csv"), far);
  ExpectOneLineError({"lab", wav, out, "--trace", Path("t-far-one.csv"), "--no-plot", "-q"},
                     Path("t-far-one.csv"));
}

TEST_F(CommandsHostileTest, LabRefusesDamagedInputAndImpossibleOptions) {
  const std::string wav = Path("speech.wav");
  const std::string out = Path("opt-out.wav");
  for (const std::string& bad : DamagedFiles(wav, "wav")) {
    // Half a WAV is what libsndfile can read of it: played.
    const Outcome o = Run({"lab", bad, out, "--no-plot", "-q"});
    ExpectNoCrash(o, "lab " + bad);
    if (o.exit_code != 0) ExpectOneLineError({"lab", bad, out, "--no-plot", "-q"}, bad);
  }
  for (const std::string& odd : OddWavs()) {
    const std::vector<std::string> args = {"lab", odd, out, "--no-plot", "-q"};
    const Outcome o = Run(args);
    ExpectNoCrash(o, "lab " + odd);
    if (o.exit_code != 0) ExpectOneLineError(args, odd);
  }
  ExpectOneLineError({"lab", wav}, "output");
  ExpectOneLineError({"lab", "--packets"}, "--packets");
  const std::vector<std::pair<std::vector<std::string>, std::string>> options = {
      {{"--loss", "-1"}, "--loss"},
      {{"--loss", "150"}, "--loss"},
      {{"--loss", "nan"}, "--loss"},
      {{"--delay", "inf"}, "--delay"},
      {{"--delay", "-5"}, "--delay"},
      {{"--jitter", "nan"}, "--jitter"},
      {{"--burst", "0"}, "--burst"},
      {{"--burst", "nan"}, "--burst"},
      {{"--jitter-dist", "lognormal"}, "--jitter-dist"},
      {{"--jitter-shape", "0"}, "--jitter-shape"},
      {{"--jitter-shape", "nan"}, "--jitter-shape"},
      {{"--jitter-dist", "gamma", "--jitter-shape", "5000"}, "--jitter-shape"},
      {{"--jitter-shape", "3"}, "gamma"},  // the preset's jitter (wifi: Pareto) is not gamma
      {{"--jitter-dist", "gamma", "--jitter", "0"}, "gamma"},
      {{"--spike-rate", "-1"}, "--spike-rate"},
      {{"--spike-ms", "nan"}, "--spike-ms"},
      {{"--spike-drain", "1e9"}, "--spike-drain"},
      {{"--preset", "perfect", "--spike-rate", "1", "--spike-ms", "100"}, "spike_drain_ms"},
      {{"--fixed-delay", "nan"}, "--fixed-delay"},
      {{"--seed", "-1"}, "--seed"},
      {{"--pt", "300"}, "--pt"},
      {{"--bitrate", "-1"}, "--bitrate"},
      {{"--frame-ms", "7"}, "7"},
      {{"--frame-ms", "1000"}, "--frame-ms"},
      {{"--red", "9"}, "--red"},
      {{"--fec", "2"}, "--fec"},
      {{"--expected-loss", "101"}, "--expected-loss"},
      {{"--codec", "nope"}, "nope"},
      {{"--preset", "nope"}, "nope"},
      {{"--profile", "nope"}, "nope"},
  };
  for (const auto& [extra, names] : options) {
    std::vector<std::string> args = {"lab", wav, out, "--no-plot", "-q"};
    args.insert(args.end(), extra.begin(), extra.end());
    ExpectOneLineError(args, names);
  }
  ExpectOneLineError({"lab", wav, Path("no-such-dir/out.wav"), "--no-plot", "-q"}, "no-such-dir");
}

TEST_F(CommandsHostileTest, LabPlaysGammaJitterThatReorders) {
  const std::string out = Path("gamma-out.wav");
  ExpectSuccess({"lab", Path("speech.wav"), out, "--preset", "perfect", "--delay", "40", "--jitter",
                 "30", "--jitter-dist", "gamma", "--jitter-shape", "2", "--seed", "3", "--no-plot",
                 "-q"});
  const auto report = nlohmann::json::parse(ReadAll(Path("gamma-out.report.json")), nullptr, false);
  ASSERT_FALSE(report.is_discarded());
  EXPECT_EQ(report["network"]["description"],
            "perfect, base delay 40 ms, jitter 30 ms gamma (shape 2), seed 3");
  EXPECT_GT(report["network"]["packets_reordered"].get<int>(), 10);
}

// A fake P.862 scorer (no real one in CI): a script printing `output` and exiting with
// `exit_code`, whatever it is given.
std::string FakeScorer(const std::string& path, const std::string& output, int exit_code) {
  WriteAll(path, "#!/bin/sh\necho '" + output + "'\nexit " + std::to_string(exit_code) + "\n");
  fs::permissions(path, fs::perms::owner_all | fs::perms::group_read | fs::perms::others_read);
  return path;
}

TEST_F(CommandsHostileTest, LabScoresEveryPlayerWithTheScorerGivenAndReportsIt) {
  const std::string wav = Path("speech.wav");
  const std::string scorer = FakeScorer(Path("fake-pesq"), "3.1234 MOS-LQO", 0);
  const Outcome o =
      ExpectSuccess({"lab", wav, Path("pesq-out.wav"), "--compare", "--no-plot", "--pesq", scorer});
  EXPECT_NE(o.out.find("PESQ-WB"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("E-MOS"), std::string::npos) << o.out;
  const auto report = nlohmann::json::parse(ReadAll(Path("pesq-out.report.json")), nullptr, false);
  ASSERT_FALSE(report.is_discarded());
  EXPECT_EQ(report["pesq_scorer"], scorer);
  ASSERT_EQ(report["players"].size(), 4u);
  for (const auto& player : report["players"]) {
    EXPECT_DOUBLE_EQ(player["pesq_wb"].get<double>(), 3.1234) << player["name"];
    EXPECT_DOUBLE_EQ(player["pesq_nb"].get<double>(), 3.1234) << player["name"];
  }

  // The environment variable stands in for the option; without either, no scores.
  setenv("PARLEY_PESQ", scorer.c_str(), 1);
  ExpectSuccess({"lab", wav, Path("pesq-env.wav"), "--no-plot", "-q"});
  unsetenv("PARLEY_PESQ");
  const auto from_env =
      nlohmann::json::parse(ReadAll(Path("pesq-env.report.json")), nullptr, false);
  ASSERT_FALSE(from_env.is_discarded());
  EXPECT_DOUBLE_EQ(from_env["players"][0]["pesq_wb"].get<double>(), 3.1234);
  ExpectSuccess({"lab", wav, Path("pesq-none.wav"), "--no-plot", "-q"});
  const auto none = nlohmann::json::parse(ReadAll(Path("pesq-none.report.json")), nullptr, false);
  ASSERT_FALSE(none.is_discarded());
  EXPECT_TRUE(none["players"][0]["pesq_wb"].is_null());
  EXPECT_TRUE(none["pesq_scorer"].is_null());
}

TEST_F(CommandsHostileTest, LabRefusesAScorerThatIsMissingFailsOrPrintsGarbage) {
  const std::string wav = Path("speech.wav");
  const std::string out = Path("pesq-bad.wav");
  const auto expect_no_output = [&] {
    for (const char* name : {"pesq-bad.wav", "pesq-bad.report.json", "pesq-bad.blocks.csv"}) {
      EXPECT_FALSE(fs::exists(Path(name))) << name;
    }
  };
  ExpectOneLineError({"lab", wav, out, "--no-plot", "-q", "--pesq", Path("no-such-scorer")},
                     "no-such-scorer");
  expect_no_output();
  setenv("PARLEY_PESQ", Path("no-such-scorer-either").c_str(), 1);
  ExpectOneLineError({"lab", wav, out, "--no-plot", "-q"}, "PARLEY_PESQ");
  unsetenv("PARLEY_PESQ");
  ExpectOneLineError({"lab", wav, out, "--no-plot", "-q", "--pesq", *dir_}, *dir_);

  // Run, but failing or saying nothing a score can be read from: one line naming the
  // scorer and the player.
  const std::string failing = FakeScorer(Path("failing-pesq"), "cannot open file", 1);
  ExpectOneLineError({"lab", wav, out, "--no-plot", "-q", "--pesq", failing},
                     "failing-pesq, player parley (wb): exit status 1: cannot open file");
  const std::string garbage = FakeScorer(Path("garbage-pesq"), "Segmentation fault", 0);
  ExpectOneLineError({"lab", wav, out, "--compare", "--no-plot", "-q", "--pesq", garbage},
                     "garbage-pesq, player parley (wb): printed no score: 'Segmentation fault'");
  expect_no_output();

  // A packet log has no input to score against.
  const std::string log = WriteLog("pesq-log.csv", SpeechLog());
  ExpectOneLineError({"lab", "--packets", log, out, "--no-plot", "-q", "--pesq", failing},
                     "packet log");
}

TEST_F(CommandsHostileTest, ImpairCallTokenAndRelayRefuseBadAddressesValuesAndConfigs) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> impair = {
      {{"--listen", "127.0.0.1:99999", "--forward", "127.0.0.1:6000"}, "--listen"},
      {{"--listen", "garbage", "--forward", "127.0.0.1:6000"}, "--listen"},
      {{"--listen", "127.0.0.1:0", "--forward", "127.0.0.1:-1"}, "--forward"},
      {{"--listen", "127.0.0.1:0", "--forward", "127.0.0.1:6000", "--duration", "nan"},
       "--duration"},
      {{"--listen", "127.0.0.1:0", "--forward", "127.0.0.1:6000", "--duration", "-1"},
       "--duration"},
      {{"--listen", "127.0.0.1:0", "--forward", "127.0.0.1:6000", "--loss", "nan"}, "--loss"},
      {{"--listen", "127.0.0.1:0", "--forward", "127.0.0.1:6000", "--jitter", "inf"}, "--jitter"},
      {{"--listen", "127.0.0.1:0", "--forward", "127.0.0.1:6000", "--preset", "nope"}, "nope"},
      {{"--listen", "127.0.0.1:0", "--forward", "127.0.0.1:6000", "--jitter-dist", "nope"},
       "--jitter-dist"},
      {{"--listen", "127.0.0.1:0", "--forward", "127.0.0.1:6000", "--jitter-shape", "-1"},
       "--jitter-shape"},
      {{"--listen", "127.0.0.1:0"}, "--forward"},
  };
  for (const auto& [extra, names] : impair) {
    std::vector<std::string> args = {"impair"};
    args.insert(args.end(), extra.begin(), extra.end());
    ExpectOneLineError(args, names);
  }

  const std::vector<std::pair<std::vector<std::string>, std::string>> call = {
      {{"--peer", "127.0.0.1:70000", "--listen", "127.0.0.1:0"}, "--peer"},
      {{"--peer", "127.0.0.1:6002", "--listen", "nowhere"}, "--listen"},
      {{"--peer", "127.0.0.1:6002"}, "--listen"},
      {{"--peer", "127.0.0.1:6002", "--listen", "127.0.0.1:0", "--duration", "nan"}, "--duration"},
      {{"--peer", "127.0.0.1:6002", "--listen", "127.0.0.1:0", "--profile", "nope"}, "nope"},
      {{"--peer", "127.0.0.1:6002", "--listen", "127.0.0.1:0", "--send", Path("missing.wav"),
        "--duration", "1"},
       "missing.wav"},
      {{"--relay", "ws://127.0.0.1:1"}, "--room"},
      {{"--relay", "nonsense", "--room", "r", "--token", "t"}, "nonsense"},
      {{"--relay", "ws://127.0.0.1:", "--room", "r", "--token", "t"}, "ws://127.0.0.1:"},
      {{"--relay", "ws://[::1", "--room", "r", "--token", "t"}, "ws://[::1"},
      {{"--relay", "ws://h:99999", "--room", "r", "--token", "t"}, "99999"},
      {{}, "--relay"},
  };
  for (const auto& [extra, names] : call) {
    std::vector<std::string> args = {"call", "-q"};
    args.insert(args.end(), extra.begin(), extra.end());
    ExpectOneLineError(args, names);
  }

  // Relay configs: garbage, cut, empty, wrong types, addresses out of range.
  const std::string secret = "0123456789abcdef0123456789abcdef0123456789abcdef";
  const std::vector<std::pair<std::string, std::string>> configs = {
      {"c-empty.json", ""},
      {"c-cut.json", "{\"token_secret\": \"" + secret},
      {"c-garbage.json", "\x01\x02{{{\xff"},
      {"c-array.json", "[1, 2, 3]"},
      {"c-type.json", "{\"token_secret\": 5}"},
      {"c-short.json", "{\"token_secret\": \"short\"}"},
      {"c-port.json",
       "{\"token_secret\": \"" + secret + "\", \"listen_media\": \"127.0.0.1:65536\"}"},
      {"c-rooms.json", "{\"token_secret\": \"" + secret + "\", \"max_rooms\": 1e300}"},
      {"c-unknown.json", "{\"token_secret\": \"" + secret + "\", \"bogus\": 1}"},
  };
  for (const auto& [name, content] : configs) {
    WriteAll(Path(name), content);
    ExpectOneLineError({"relay", "--config", Path(name)}, name);
  }
  for (const auto& [name, content] : configs) {
    if (name == "c-port.json" || name == "c-rooms.json" || name == "c-unknown.json") continue;
    ExpectOneLineError({"token", "--config", Path(name), "--room", "r", "--identity", "a"}, name);
  }
  ExpectOneLineError({"relay", "--config", Path("missing.json")}, "missing.json");
  WriteAll(Path("c-good.json"), "{\"token_secret\": \"" + secret + "\"}");
  ExpectOneLineError({"relay", "--config", Path("c-good.json"), "--listen-media", "1.2.3.4:65536"},
                     "--listen-media");
  ExpectOneLineError({"relay", "--config", Path("c-good.json"), "--log-level", "loud"},
                     "--log-level");
  const std::vector<std::pair<std::vector<std::string>, std::string>> token = {
      {{"--ttl", "0"}, "--ttl"},
      {{"--ttl", "nan"}, "--ttl"},
      {{"--ttl", "99999999999999999999"}, "--ttl"},
      {{"--rights", "bogus"}, "bogus"},
      {{"--room", ""}, "--room"},
      {{"--identity", std::string(1000, 'x')}, "--identity"},
  };
  for (const auto& [extra, names] : token) {
    std::vector<std::string> args = {"token",      "--config", Path("c-good.json"), "--room", "r",
                                     "--identity", "a"};
    args.insert(args.end(), extra.begin(), extra.end());
    ExpectOneLineError(args, names);
  }
  ExpectSuccess({"token", "--config", Path("c-good.json"), "--room", "r", "--identity", "a"});
}

TEST_F(CommandsHostileTest, DemoRefusesAPlaceItCannotWriteAndAnUnknownPreset) {
  WriteAll(Path("a-file"), "x");
  ExpectOneLineError({"demo", "--out", Path("a-file/demo"), "--text", "hi"}, "a-file");
  ExpectOneLineError({"demo", "--out", Path("demo"), "--text", "hi", "--preset", "nope"}, "nope");
}

}  // namespace
}  // namespace parley::app
