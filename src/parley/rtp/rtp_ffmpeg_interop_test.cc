// Interoperability: RTP packets written by ffmpeg's RTP muxer (libavformat) parse, and
// their sequence numbers and timestamps advance as RFC 3551 says for PCMU.
//
// ffmpeg must be installed: a missing ffmpeg fails the test, it is never skipped. The
// test is bounded in time: ffmpeg runs under `timeout 10`, and each receive waits at most
// that long (poll), without sleeps: on a busy machine ffmpeg may take seconds to start.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "parley/rtp/receive_statistics.h"
#include "parley/rtp/rtp_packet.h"

namespace parley::rtp {
namespace {

class UdpSocket {
 public:
  UdpSocket() : fd_(socket(AF_INET, SOCK_DGRAM, 0)) {}
  ~UdpSocket() {
    if (fd_ >= 0) close(fd_);
  }
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  // Binds 127.0.0.1 on a free port; returns the port or 0.
  int BindLoopback() {
    if (fd_ < 0) return 0;
    int buffer = 1 << 20;  // room for the whole burst ffmpeg sends without -re
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return 0;
    socklen_t length = sizeof addr;
    if (getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &length) != 0) return 0;
    return ntohs(addr.sin_port);
  }

  // One datagram, or an empty vector after `timeout_ms` without one.
  std::vector<uint8_t> Receive(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return {};
    std::vector<uint8_t> buffer(2048);
    const ssize_t n = recv(fd_, buffer.data(), buffer.size(), 0);
    buffer.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return buffer;
  }

 private:
  int fd_;
};

TEST(RtpFfmpegInteropTest, ParsesPcmuPacketsFromFfmpeg) {
  ASSERT_EQ(std::system("command -v ffmpeg > /dev/null 2>&1"), 0)
      << "ffmpeg is not installed; this interoperability test needs it (apt install ffmpeg)";
  UdpSocket socket;
  const int port = socket.BindLoopback();
  ASSERT_GT(port, 0);

  // One second of 440 Hz at 8 kHz in 160-sample frames: 50 PCMU packets of 20 ms.
  const std::string command =
      "timeout 10 ffmpeg -nostdin -hide_banner -loglevel error "
      "-f lavfi -i sine=frequency=440:duration=1:sample_rate=8000:samples_per_frame=160 "
      "-c:a pcm_mulaw -ar 8000 -ac 1 -f rtp rtp://127.0.0.1:" +
      std::to_string(port) + " > /dev/null 2>&1 &";
  ASSERT_EQ(std::system(command.c_str()), 0);

  std::vector<std::vector<uint8_t>> packets;
  while (packets.size() < 50) {
    std::vector<uint8_t> packet = socket.Receive(10'000);
    if (packet.empty()) break;
    packets.push_back(std::move(packet));
  }
  ASSERT_EQ(packets.size(), 50u) << "ffmpeg sent fewer packets than expected";

  ReceiveStatistics stats(ReceiveStatisticsConfig{.clock_rate_hz = 8000});
  std::optional<RtpPacketView> previous;
  size_t payload_bytes = 0;
  for (size_t i = 0; i < packets.size(); ++i) {
    SCOPED_TRACE(i);
    Result<RtpPacketView> p = ParseRtpPacket(packets[i]);
    ASSERT_TRUE(p.ok()) << p.error().message;
    EXPECT_EQ(p->payload_type(), 0);  // PCMU
    EXPECT_EQ(p->csrc_count(), 0u);
    EXPECT_FALSE(p->has_extension());
    EXPECT_FALSE(p->has_padding());
    EXPECT_EQ(p->payload().size(), 160u);
    payload_bytes += p->payload().size();
    if (previous) {
      EXPECT_EQ(p->ssrc(), previous->ssrc());
      EXPECT_EQ(p->sequence_number(), static_cast<uint16_t>(previous->sequence_number() + 1));
      EXPECT_EQ(p->timestamp(), previous->timestamp() + 160);
    }
    // Perfect arrival in RTP units: the timestamp itself.
    stats.OnRtpPacket(*p, p->timestamp());
    previous = *p;
  }
  EXPECT_EQ(payload_bytes, 8000u);  // one second of 8 kHz mu-law
  const SourceStatistics* source = stats.Find(previous->ssrc());
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(source->received(), 49u);  // the first packet was on probation (A.1)
  EXPECT_EQ(source->cumulative_lost(), 0);
  EXPECT_EQ(source->jitter_report(), 0u);
}

}  // namespace
}  // namespace parley::rtp
