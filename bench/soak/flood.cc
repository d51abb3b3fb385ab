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

#include "../relay_load/pktinfo_batch.h"
#include "../relay_load/system_stats.h"
#include "parley/relay/hello.h"
#include "parley/rtp/big_endian.h"

namespace parley::soak {
namespace {

using relay_load::MonotonicNs;

constexpr size_t kBatch = relay_load::kPktinfoBatch;
constexpr size_t kPool = 4096;
constexpr size_t kMaxDatagram = 1200;
constexpr uint32_t kSourceBase = 0x7F400000;  // 127.64.0.0
constexpr uint32_t kSources = 4096;
constexpr int64_t kTickNs = 1'000'000;
constexpr int64_t kMaxBehindNs = 100'000'000;

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
  relay_load::PktinfoSendBatch send{0};  // the pool's datagrams, not copied
  relay_load::PktinfoReceiveBatch receive;
  sockaddr_in target{};
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
      send.QueueExternal(j, kSourceBase + 1 + next_source, target, datagram.data(),
                         datagram.size());
      next_source = (next_source + 1) % kSources;
    }
    const int fd = fds[next_socket];
    next_socket = (next_socket + 1) % fds.size();
    const size_t done = send.Flush(fd, count);
    sent.fetch_add(done, std::memory_order_relaxed);
    refused.fetch_add(count - done, std::memory_order_relaxed);
  }

  void ReceiveAll() {
    for (int fd : fds) {
      for (size_t n = receive.Receive(fd); n > 0; n = receive.Receive(fd)) {
        received.fetch_add(n, std::memory_order_relaxed);
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
    Result<int> fd = relay_load::OpenPktinfoSocket(4 << 20);
    if (!fd) return Error{fmt::format("flood: {}", fd.error().message)};
    impl->fds.push_back(*fd);
  }
  std::mt19937_64 rng(config.seed);
  for (size_t i = 0; i < kPool; ++i) impl->pool.push_back(MakeGarbage(i, config, rng));
  std::memcpy(&impl->target, config.target.sockaddr_ptr(), sizeof(impl->target));
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
