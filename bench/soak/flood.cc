#include "flood.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <random>
#include <vector>

#include "../relay_load/system_stats.h"
#include "parley/relay/hello.h"
#include "parley/rtp/big_endian.h"

namespace parley::soak {
namespace {

using relay_load::MonotonicNs;

constexpr size_t kBatch = 64;
constexpr size_t kPool = 4096;
constexpr size_t kMaxDatagram = 1200;
constexpr uint32_t kSourceBase = 0x7F400000;  // 127.64.0.0
constexpr uint32_t kSources = 4096;
constexpr int64_t kTickNs = 1'000'000;
constexpr int64_t kMaxBehindNs = 100'000'000;

union PktinfoControl {
  cmsghdr align;
  char bytes[CMSG_SPACE(sizeof(in_pktinfo))];
};

// One garbage datagram of each kind in turn.
std::vector<uint8_t> MakeGarbage(size_t index, const FloodConfig& config, std::mt19937_64& rng) {
  auto byte = [&rng] { return static_cast<uint8_t>(rng()); };
  std::vector<uint8_t> out;
  switch (index % 6) {
    case 0: {  // random bytes, any length
      out.resize(1 + rng() % kMaxDatagram);
      for (uint8_t& b : out) b = byte();
      return out;
    }
    case 1: {  // RTP as a participant would send it, from the wrong address
      out.resize(12 + 80);
      for (uint8_t& b : out) b = byte();
      out[0] = 0x80;
      out[1] = 111;
      rtp::WriteBe32(out.data() + 8,
                     config.ssrc_base + static_cast<uint32_t>(rng() % config.ssrc_count));
      return out;
    }
    case 2: {  // RTCP receiver report
      out.resize(32);
      for (uint8_t& b : out) b = byte();
      out[0] = 0x81;
      out[1] = 201;
      rtp::WriteBe16(out.data() + 2, 7);
      return out;
    }
    case 3:    // a hello with a real participant id and a guessed secret
    case 4:    // a hello-with-cookie with a guessed secret and a made-up cookie
    case 5: {  // a hello-ack, as if from the relay
      relay::Hello hello;
      hello.type = index % 6 == 5 ? relay::HelloType::kAck : relay::HelloType::kHello;
      hello.participant_id = 1 + static_cast<uint32_t>(rng() % config.max_participant_id);
      for (uint8_t& b : hello.secret) b = byte();
      for (uint8_t& b : hello.cookie) b = byte();
      if (index % 6 == 4) {
        const auto bytes = relay::SerializeHelloWithCookie(hello);
        return {bytes.begin(), bytes.end()};
      }
      const auto bytes = relay::SerializeHello(hello);
      return {bytes.begin(), bytes.end()};
    }
  }
  return out;
}

}  // namespace

struct Flood::Impl {
  FloodConfig config;
  std::vector<int> fds;
  std::vector<std::vector<uint8_t>> pool;
  std::array<mmsghdr, kBatch> messages{};
  std::array<iovec, kBatch> iov{};
  std::array<PktinfoControl, kBatch> control{};
  std::array<in_pktinfo*, kBatch> pktinfo{};
  sockaddr_in target{};
  std::vector<uint8_t> receive_buffer = std::vector<uint8_t>(kBatch * 2048);
  std::array<mmsghdr, kBatch> receive_messages{};
  std::array<iovec, kBatch> receive_iov{};
  size_t next_pool = 0;
  uint32_t next_source = 0;
  size_t next_socket = 0;
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> refused{0};
  std::atomic<uint64_t> received{0};
  std::atomic<uint64_t> skipped{0};
  std::atomic<bool> stop{false};
  std::thread thread;

  ~Impl() {
    for (int fd : fds) ::close(fd);
  }

  void SendBatch(size_t count) {
    for (size_t j = 0; j < count; ++j) {
      const std::vector<uint8_t>& datagram = pool[next_pool];
      next_pool = (next_pool + 1) % pool.size();
      iov[j].iov_base = const_cast<uint8_t*>(datagram.data());
      iov[j].iov_len = datagram.size();
      pktinfo[j]->ipi_spec_dst.s_addr = htonl(kSourceBase + 1 + next_source);
      next_source = (next_source + 1) % kSources;
    }
    const int fd = fds[next_socket];
    next_socket = (next_socket + 1) % fds.size();
    size_t done = 0;
    while (done < count) {
      const int n = ::sendmmsg(fd, &messages[done], static_cast<unsigned>(count - done), 0);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    sent.fetch_add(done, std::memory_order_relaxed);
    refused.fetch_add(count - done, std::memory_order_relaxed);
  }

  void ReceiveAll() {
    for (int fd : fds) {
      for (;;) {
        for (size_t j = 0; j < kBatch; ++j) {
          receive_iov[j].iov_base = receive_buffer.data() + j * 2048;
          receive_iov[j].iov_len = 2048;
          receive_messages[j].msg_hdr = msghdr{};
          receive_messages[j].msg_hdr.msg_iov = &receive_iov[j];
          receive_messages[j].msg_hdr.msg_iovlen = 1;
        }
        const int n = ::recvmmsg(fd, receive_messages.data(), kBatch, MSG_DONTWAIT, nullptr);
        if (n <= 0) break;
        received.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
      }
    }
  }

  void Run(const std::atomic<bool>& enabled) {
    const double per_ns = config.rate_pps / 1e9;
    int64_t origin = MonotonicNs();
    uint64_t scheduled = 0;
    bool was_on = false;
    while (!stop.load(std::memory_order_acquire)) {
      const int64_t now = MonotonicNs();
      const bool on = enabled.load(std::memory_order_relaxed);
      if (on && !was_on) {  // the schedule starts when the flood does
        origin = now;
        scheduled = 0;
      }
      was_on = on;
      if (on) {
        auto due = static_cast<uint64_t>(static_cast<double>(now - origin) * per_ns);
        const auto max_behind = static_cast<uint64_t>(static_cast<double>(kMaxBehindNs) * per_ns);
        if (due > scheduled + max_behind) {
          skipped.fetch_add(due - scheduled - max_behind, std::memory_order_relaxed);
          scheduled = due - max_behind;
        }
        while (scheduled < due) {
          const size_t count = static_cast<size_t>(std::min<uint64_t>(kBatch, due - scheduled));
          SendBatch(count);
          scheduled += count;
        }
      }
      ReceiveAll();
      // Sleep to the next tick (the flood sockets are read each tick, so a datagram sent
      // to a flooding source is counted within a millisecond).
      const int64_t next = now + kTickNs;
      const int64_t wait = next - MonotonicNs();
      if (wait > 0) {
        const timespec ts{0, static_cast<long>(wait)};
        ::nanosleep(&ts, nullptr);
      }
    }
    ReceiveAll();
  }
};

Result<std::unique_ptr<Flood>> Flood::Create(const FloodConfig& config) {
  if (config.sockets == 0 || config.max_participant_id == 0 || config.ssrc_count == 0) {
    throw std::invalid_argument("Flood: sockets, max_participant_id and ssrc_count must be > 0");
  }
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  for (size_t i = 0; i < config.sockets; ++i) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return Error{fmt::format("flood: socket: {}", std::strerror(errno))};
    impl->fds.push_back(fd);
    const int on = 1;
    const int buffer = 4 << 20;
    (void)::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buffer, sizeof(buffer));
    sockaddr_in any{};
    any.sin_family = AF_INET;
    any.sin_addr.s_addr = htonl(INADDR_ANY);
    if (::setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on)) != 0 ||
        ::bind(fd, reinterpret_cast<const sockaddr*>(&any), sizeof(any)) != 0) {
      return Error{fmt::format("flood: socket setup: {}", std::strerror(errno))};
    }
  }
  std::mt19937_64 rng(config.seed);
  for (size_t i = 0; i < kPool; ++i) impl->pool.push_back(MakeGarbage(i, config, rng));
  std::memcpy(&impl->target, config.target.sockaddr_ptr(), sizeof(impl->target));
  for (size_t j = 0; j < kBatch; ++j) {
    msghdr& out = impl->messages[j].msg_hdr;
    out.msg_name = &impl->target;
    out.msg_namelen = sizeof(sockaddr_in);
    out.msg_iov = &impl->iov[j];
    out.msg_iovlen = 1;
    out.msg_control = impl->control[j].bytes;
    out.msg_controllen = sizeof(impl->control[j].bytes);
    cmsghdr* header = CMSG_FIRSTHDR(&out);
    header->cmsg_level = IPPROTO_IP;
    header->cmsg_type = IP_PKTINFO;
    header->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
    impl->pktinfo[j] = reinterpret_cast<in_pktinfo*>(CMSG_DATA(header));
    *impl->pktinfo[j] = in_pktinfo{};
  }
  return std::unique_ptr<Flood>(new Flood(std::move(impl)));
}

Flood::Flood(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Flood::~Flood() { Stop(); }

void Flood::Start() {
  impl_->thread = std::thread([this] { impl_->Run(enabled_); });
}

void Flood::Stop() {
  impl_->stop.store(true, std::memory_order_release);
  if (impl_->thread.joinable()) impl_->thread.join();
}

FloodCounters Flood::counters() const {
  return {impl_->sent.load(), impl_->refused.load(), impl_->received.load(), impl_->skipped.load()};
}

}  // namespace parley::soak
