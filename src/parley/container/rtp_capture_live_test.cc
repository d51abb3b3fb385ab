// Captures recorded at test time from a real sender: tcpdump on the loopback interface
// records what ffmpeg's RTP muxer sends, and the capture goes through stream detection
// and extraction.
//
// tcpdump and ffmpeg must be installed (and capturing on lo needs root or CAP_NET_RAW): a
// missing tool fails the test, it is never skipped. Bounded in time without sleeps: every
// wait is a poll() with a deadline (tcpdump start 10 s, the end marker 10 s, tcpdump exit
// 10 s, then SIGKILL), and ffmpeg runs under `timeout 20`.
//
// tcpdump runs in immediate mode (each packet delivered at once), which libpcap serves
// with a ring of one slot per snapshot length: -s 2048 with -B 8192 gives about 4000
// slots, so a burst from ffmpeg (sending without -re) is not dropped while tcpdump
// prints; its own "packets dropped by kernel" must be 0.
//
// How completeness is checked: after ffmpeg exits, the test sends one 7-byte UDP datagram
// (an end marker no RTP packet can be) to the same port. tcpdump runs with --print, so it
// prints each packet after writing it (-U flushes the file per packet); once the marker's
// line appears, every packet before it is in the file and tcpdump is stopped with SIGINT.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "parley/audio/audio_file.h"
#include "parley/audio/similarity.h"
#include "parley/container/ogg_opus_reader.h"
#include "parley/container/rtp_capture.h"
#include "parley/testing/signals.h"

namespace parley::container {
namespace {

constexpr int kToneHz = 440;
constexpr double kToneSeconds = 2.0;
constexpr double kLavfiSineAmplitude = 0.125;  // lavfi sine: 1/8 of full scale
constexpr char kEndMarker[] = "PARLEY!";       // 7 bytes: shorter than any RTP header
constexpr int kWaitMs = 10'000;

std::string TempPath(const std::string& name) { return ::testing::TempDir() + "rtp_live_" + name; }

ExtractOptions Options(const std::string& capture, const std::string& output) {
  ExtractOptions options;
  options.capture_path = capture;
  options.output_path = output;
  return options;
}

// A UDP socket bound to 127.0.0.1 on a free port: it gives the port and absorbs what
// ffmpeg sends (no ICMP port unreachable), and sends the end marker.
class LoopbackSocket {
 public:
  LoopbackSocket() : fd_(socket(AF_INET, SOCK_DGRAM, 0)) {
    addr_.sin_family = AF_INET;
    addr_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof addr_;
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&addr_), sizeof addr_) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr_), &length) != 0) {
      addr_.sin_port = 0;
    }
  }
  ~LoopbackSocket() {
    if (fd_ >= 0) close(fd_);
  }
  LoopbackSocket(const LoopbackSocket&) = delete;
  LoopbackSocket& operator=(const LoopbackSocket&) = delete;

  int port() const { return ntohs(addr_.sin_port); }
  bool SendToSelf(const char* data, size_t size) {
    return sendto(fd_, data, size, 0, reinterpret_cast<const sockaddr*>(&addr_), sizeof addr_) ==
           static_cast<ssize_t>(size);
  }

 private:
  int fd_;
  sockaddr_in addr_{};
};

// tcpdump in the background, its stdout and stderr on one pipe read with deadlines.
class Tcpdump {
 public:
  ~Tcpdump() { Stop(); }

  // Starts capturing `port` on lo into `path`; true once tcpdump says "listening on".
  bool Start(const std::string& path, int port) {
    int fds[2];
    if (pipe(fds) != 0) return false;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], STDOUT_FILENO);
      dup2(fds[1], STDERR_FILENO);
      close(fds[0]);
      close(fds[1]);
      const std::string filter = "udp port " + std::to_string(port);
      execlp("tcpdump", "tcpdump", "-i", "lo", "-n", "-l", "-U", "--immediate-mode", "-B", "8192",
             "-s", "2048", "--print", "-w", path.c_str(), filter.c_str(),
             static_cast<char*>(nullptr));
      _exit(127);
    }
    close(fds[1]);
    fd_ = fds[0];
    return pid_ > 0 && ReadUntil("listening on");
  }

  // Reads output until `text` appears; false at EOF or after kWaitMs.
  bool ReadUntil(const std::string& text) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kWaitMs);
    while (output_.find(text) == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{fd_, POLLIN, 0};
      if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
      char buffer[4096];
      const ssize_t n = read(fd_, buffer, sizeof buffer);
      if (n <= 0) return false;
      output_.append(buffer, static_cast<size_t>(n));
    }
    return true;
  }

  // SIGINT, then waits (bounded) for exit; SIGKILL if it does not stop.
  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGINT);
    ReadUntil("\x01never\x01");  // to EOF (tcpdump exited) or the deadline
    if (waitpid(pid_, nullptr, WNOHANG) == 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    close(fd_);
    pid_ = -1;
  }

  const std::string& output() const { return output_; }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  std::string output_;
};

void RequireTools() {
  ASSERT_EQ(std::system("command -v tcpdump > /dev/null 2>&1"), 0)
      << "tcpdump is not installed; this test needs it (apt install tcpdump)";
  ASSERT_EQ(std::system("command -v ffmpeg > /dev/null 2>&1"), 0)
      << "ffmpeg is not installed; this test needs it (apt install ffmpeg)";
}

// Records what `ffmpeg_output_args` sends to the loopback port into `path`.
void Record(const std::string& path, const std::string& ffmpeg_output_args) {
  LoopbackSocket socket;
  ASSERT_GT(socket.port(), 0);
  Tcpdump tcpdump;
  ASSERT_TRUE(tcpdump.Start(path, socket.port())) << "tcpdump did not start: " << tcpdump.output();
  const std::string command =
      "timeout 20 ffmpeg -nostdin -hide_banner -loglevel error " + ffmpeg_output_args +
      " -f rtp rtp://127.0.0.1:" + std::to_string(socket.port()) + " > /dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  ASSERT_TRUE(socket.SendToSelf(kEndMarker, sizeof kEndMarker - 1));
  ASSERT_TRUE(tcpdump.ReadUntil("length 7")) << "end marker not captured: " << tcpdump.output();
  tcpdump.Stop();
  // tcpdump's own count ("N packets captured", "N packets dropped by kernel") for failures.
  const size_t stats = tcpdump.output().find("packets captured");
  if (stats != std::string::npos) {
    const size_t line = tcpdump.output().rfind('\n', stats);
    std::printf("[ tcpdump  ] %s", tcpdump.output().substr(line + 1).c_str());
  }
  EXPECT_NE(tcpdump.output().find("\n0 packets dropped by kernel"), std::string::npos)
      << "tcpdump lost packets: "
      << tcpdump.output().substr(stats == std::string::npos ? 0 : stats);
}

// The capture without the records whose index is in `drop`, through libpcap's writer.
void RewriteWithout(const std::string& in, const std::string& out, std::vector<int> drop) {
  char error[PCAP_ERRBUF_SIZE];
  pcap_t* reader = pcap_open_offline(in.c_str(), error);
  ASSERT_NE(reader, nullptr) << error;
  pcap_dumper_t* dumper = pcap_dump_open(reader, out.c_str());
  ASSERT_NE(dumper, nullptr);
  pcap_pkthdr* header;
  const u_char* data;
  for (int index = 0; pcap_next_ex(reader, &header, &data) == 1; ++index) {
    if (std::find(drop.begin(), drop.end(), index) == drop.end()) {
      pcap_dump(reinterpret_cast<u_char*>(dumper), header, data);
    }
  }
  pcap_dump_close(dumper);
  pcap_close(reader);
}

int LongestZeroRun(std::span<const int16_t> pcm) {
  int longest = 0;
  int run = 0;
  for (int16_t s : pcm) {
    run = s == 0 ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  return longest;
}

// 2 s of 440 Hz at 8 kHz in 160-sample frames: ffmpeg sends 100 PCMU packets of 20 ms
// (PT 0). Without samples_per_frame lavfi makes 1024-sample frames at 44.1 kHz and the
// packets vary around 186 bytes; fixed frames make the count exact.
const char kPcmuArgs[] =
    "-f lavfi -i sine=frequency=440:duration=2:sample_rate=8000:samples_per_frame=160 "
    "-c:a pcm_mulaw -ar 8000 -ac 1 -seq 0";
constexpr int kPcmuPackets = 100;

TEST(RtpCaptureLiveTest, PcmuFromFfmpegIsFoundWhole) {
  RequireTools();
  const std::string capture = TempPath("pcmu.pcap");
  ASSERT_NO_FATAL_FAILURE(Record(capture, kPcmuArgs));
  auto scan = FindRtpStreams(capture);
  ASSERT_TRUE(scan.ok()) << scan.error().message;
  ASSERT_EQ(scan->streams.size(), 1u);
  const RtpStreamInfo& s = scan->streams[0];
  EXPECT_EQ(s.payload_type, 0);
  EXPECT_EQ(s.CodecName(), "PCMU");
  EXPECT_EQ(s.packets, kPcmuPackets);
  EXPECT_EQ(s.lost, 0);
  EXPECT_EQ(s.duplicates, 0);
  EXPECT_EQ(s.duration, std::chrono::seconds(2));
  EXPECT_EQ(scan->non_rtp_datagrams, 1);  // the end marker

  const std::string wav_path = TempPath("pcmu.wav");
  auto summary = ExtractRtpStream(Options(capture, wav_path));
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  auto wav = audio::ReadAudioFile(wav_path);
  ASSERT_TRUE(wav.ok());
  EXPECT_EQ(wav->sample_rate_hz(), 8000);
  EXPECT_EQ(wav->frames(), 16000);
  // G.711 of a -18 dBFS tone: SNR about 38 dB; at least 30 required.
  const auto tone = parley::testing::Tone(kToneHz, 8000, kToneSeconds, kLavfiSineAmplitude);
  const audio::Similarity similarity = audio::CompareAligned(tone, wav->samples(), 8000, 80);
  EXPECT_EQ(similarity.lag_samples, 0);
  EXPECT_GT(similarity.correlation, 0.999);
  EXPECT_GT(similarity.snr_db, 30.0);
  std::printf("[ measured ] PCMU from ffmpeg: %lld packets, jitter %.2f ms, SNR %.1f dB\n",
              static_cast<long long>(s.packets), s.jitter ? s.jitter->count() / 1000.0 : -1,
              similarity.snr_db);
}

TEST(RtpCaptureLiveTest, DroppedPacketsAreReportedAndConcealedToFullDuration) {
  RequireTools();
  const std::string capture = TempPath("pcmu_full.pcap");
  ASSERT_NO_FATAL_FAILURE(Record(capture, kPcmuArgs));
  const std::string damaged = TempPath("pcmu_dropped.pcap");
  ASSERT_NO_FATAL_FAILURE(RewriteWithout(capture, damaged, {10, 11, 12, 50, 77}));
  auto scan = FindRtpStreams(damaged);
  ASSERT_TRUE(scan.ok()) << scan.error().message;
  ASSERT_EQ(scan->streams.size(), 1u);
  EXPECT_EQ(scan->streams[0].packets, kPcmuPackets - 5);
  EXPECT_EQ(scan->streams[0].lost, 5);
  EXPECT_NEAR(scan->streams[0].loss_fraction(), 0.05, 1e-9);

  const std::string wav_path = TempPath("pcmu_dropped.wav");
  auto summary = ExtractRtpStream(Options(damaged, wav_path));
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->concealed_samples, 5 * 160);
  auto wav = audio::ReadAudioFile(wav_path);
  ASSERT_TRUE(wav.ok());
  EXPECT_EQ(wav->frames(), 16000);  // full duration: gaps sized from the timestamps
  EXPECT_LE(LongestZeroRun(wav->samples()), 2);
  // The concealed tone stays close to the original (G.711 Appendix I repeats the pitch).
  const auto tone = parley::testing::Tone(kToneHz, 8000, kToneSeconds, kLavfiSineAmplitude);
  const audio::Similarity similarity = audio::CompareAligned(tone, wav->samples(), 8000, 80);
  EXPECT_GT(similarity.correlation, 0.95);
  std::printf("[ measured ] PCMU with 5 of 100 packets dropped: correlation %.4f, SNR %.1f dB\n",
              similarity.correlation, similarity.snr_db);
}

TEST(RtpCaptureLiveTest, OpusFromFfmpegIsDetectedAndCopiedToOgg) {
  RequireTools();
  ASSERT_EQ(std::system("ffmpeg -hide_banner -encoders 2>/dev/null | grep -q libopus"), 0)
      << "this ffmpeg has no libopus encoder";
  const std::string capture = TempPath("opus.pcap");
  // libopus 20 ms frames: 2 s plus the 312-sample lookahead fill ceil(96312 / 960) = 101
  // packets; ffmpeg's RTP muxer uses dynamic PT 97.
  ASSERT_NO_FATAL_FAILURE(Record(capture,
                                 "-f lavfi -i sine=frequency=440:duration=2 -c:a libopus "
                                 "-ar 48000 -ac 1"));
  constexpr int kOpusPackets = 101;
  auto scan = FindRtpStreams(capture);
  ASSERT_TRUE(scan.ok()) << scan.error().message;
  ASSERT_EQ(scan->streams.size(), 1u);
  const RtpStreamInfo& s = scan->streams[0];
  EXPECT_EQ(s.payload_type, 97);
  EXPECT_EQ(s.CodecName(), "opus");
  EXPECT_EQ(s.codec_origin, CodecOrigin::kGuessedOpus);
  EXPECT_EQ(s.packets, kOpusPackets);
  EXPECT_EQ(s.lost, 0);

  const std::string ogg_path = TempPath("opus.opus");
  auto ogg = ExtractRtpStream(Options(capture, ogg_path));
  ASSERT_TRUE(ogg.ok()) << ogg.error().message;
  EXPECT_TRUE(ogg->ogg_passthrough);
  EXPECT_EQ(ogg->packets_written, kOpusPackets);
  auto info = InspectOggOpus(ogg_path);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->stats.defect_count, 0);
  EXPECT_EQ(info->stats.packets, kOpusPackets);
  EXPECT_NEAR(info->duration_seconds, kToneSeconds, 0.020);  // within one 20 ms frame
  if (std::system("command -v opusinfo > /dev/null 2>&1") == 0) {
    EXPECT_EQ(std::system(("opusinfo " + ogg_path + " > /dev/null 2>&1").c_str()), 0);
  }

  const std::string wav_path = TempPath("opus.wav");
  auto wav_summary = ExtractRtpStream(Options(capture, wav_path));
  ASSERT_TRUE(wav_summary.ok()) << wav_summary.error().message;
  auto wav = audio::ReadAudioFile(wav_path);
  ASSERT_TRUE(wav.ok());
  const auto tone = parley::testing::Tone(kToneHz, 48000, kToneSeconds, kLavfiSineAmplitude);
  const audio::Similarity similarity = audio::CompareAligned(tone, wav->samples(), 48000, 2400);
  EXPECT_GT(similarity.correlation, 0.99);
  std::printf("[ measured ] Opus from ffmpeg: %lld packets, Ogg %.4f s, correlation %.4f\n",
              static_cast<long long>(s.packets), info->duration_seconds, similarity.correlation);
}

}  // namespace
}  // namespace parley::container
