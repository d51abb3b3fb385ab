#include "parley/relay/media_loop.h"

#include <fmt/format.h>

#include <array>
#include <span>
#include <stdexcept>
#include <vector>

#include "parley/net/poller.h"

namespace parley::relay {
namespace {

constexpr size_t kBatch = net::UdpSocket::kMaxBatch;
constexpr size_t kMinDatagramBytes = 64;
constexpr size_t kMaxDatagramBytes = 65535;

void Bump(std::atomic<uint64_t>& counter, uint64_t amount) {
  counter.store(counter.load(std::memory_order_relaxed) + amount, std::memory_order_relaxed);
}

struct LoopCells {
  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> received{0};
  std::atomic<uint64_t> bytes_received{0};
  std::atomic<uint64_t> truncated{0};
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> send_failed{0};
  std::atomic<uint64_t> send_calls{0};
};

// Collects what the router emits and sends it kBatch at a time. Payload spans point into
// the receive buffers (or the router's acks), which stay put until Flush returns.
class BatchSink final : public OutputSink {
 public:
  BatchSink(net::UdpSocket& socket, LoopCells& cells) : socket_(socket), cells_(cells) {}

  void Emit(std::span<const uint8_t> payload, const net::SocketAddress& to) override {
    if (count_ == kBatch) Flush();
    slots_[count_].payload = payload;
    slots_[count_].to = to;
    ++count_;
  }

  void Flush() {
    size_t offset = 0;
    bool refused_last = false;
    while (offset < count_) {
      const std::span<const net::SendSlot> rest(slots_.data() + offset, count_ - offset);
      Result<size_t> sent = socket_.SendBatch(rest);
      Bump(cells_.send_calls, 1);
      if (sent && *sent > 0) {
        Bump(cells_.sent, *sent);
        offset += *sent;
        refused_last = false;
        continue;
      }
      // The first datagram of `rest` was refused. Once: skip it (its destination may be
      // the problem). Twice in a row: the socket is refusing; drop the rest.
      const size_t dropped = refused_last ? rest.size() : 1;
      Bump(cells_.send_failed, dropped);
      offset += dropped;
      refused_last = true;
    }
    count_ = 0;
  }

 private:
  net::UdpSocket& socket_;
  LoopCells& cells_;
  std::array<net::SendSlot, kBatch> slots_{};
  size_t count_ = 0;
};

const MediaLoopConfig& Validated(const MediaLoopConfig& config) {
  if (config.max_datagram_bytes < kMinDatagramBytes ||
      config.max_datagram_bytes > kMaxDatagramBytes) {
    throw std::invalid_argument(fmt::format("MediaLoop: max_datagram_bytes {} outside {}..{}",
                                            config.max_datagram_bytes, kMinDatagramBytes,
                                            kMaxDatagramBytes));
  }
  if (config.idle_wait.count() <= 0) {
    throw std::invalid_argument(
        fmt::format("MediaLoop: idle_wait {} ms must be > 0", config.idle_wait.count()));
  }
  return config;
}

}  // namespace

struct MediaLoop::Impl {
  Impl(net::UdpSocket bound, MediaRouter& r, const Config& c, const Clock& k)
      : config(c),
        router(r),
        clock(k),
        socket(std::move(bound)),
        buffers(kBatch * c.max_datagram_bytes),
        sink(socket, cells) {
    for (size_t i = 0; i < kBatch; ++i) {
      slots[i].buffer =
          std::span<uint8_t>(buffers).subspan(i * c.max_datagram_bytes, c.max_datagram_bytes);
    }
    poller.Add(socket.fd());
  }

  Result<size_t> RunOnce(std::chrono::nanoseconds timeout) {
    Result<size_t> received = socket.ReceiveBatch(slots);
    if (received && *received == 0 && timeout.count() > 0) {
      Result<int> ready = poller.Wait(timeout);
      if (!ready) return ready.error();
      if (*ready > 0) received = socket.ReceiveBatch(slots);
    }
    // Commands first: a join posted before its hello was sent is applied before the
    // hello is routed (and the queue drains even while the port is idle).
    router.ApplyPendingCommands();
    router.Tick(clock.Now(), clock.WallNow(), sink);
    // The RTCP reports the tick emitted go now: their bytes live in the router's arena
    // only until the next tick, and an idle or failing batch would not flush them.
    sink.Flush();
    if (!received) return received.error();
    const size_t count = *received;
    if (count == 0) return count;
    Bump(cells.batches, 1);
    Bump(cells.received, count);
    size_t bytes = 0;
    for (size_t i = 0; i < count; ++i) {
      const net::ReceiveSlot& slot = slots[i];
      bytes += slot.size;
      if (slot.truncated) {
        Bump(cells.truncated, 1);
        continue;
      }
      (void)router.Route(slot.buffer.data(), slot.size, slot.from, sink);
    }
    sink.Flush();
    Bump(cells.bytes_received, bytes);
    return count;
  }

  // --- Passed by argument ---
  const Config config;
  MediaRouter& router;
  const Clock& clock;

  // --- Allocated by this ---
  net::UdpSocket socket;
  net::Poller poller;
  std::vector<uint8_t> buffers;  // kBatch datagrams of max_datagram_bytes
  std::array<net::ReceiveSlot, kBatch> slots{};
  LoopCells cells;
  BatchSink sink;
};

Result<std::unique_ptr<MediaLoop>> MediaLoop::Create(const net::SocketAddress& bind,
                                                     MediaRouter& router, const Config& config,
                                                     const Clock& clock) {
  const Config& checked = Validated(config);
  Result<net::UdpSocket> socket = net::UdpSocket::Bind(bind, checked.socket);
  if (!socket) return Error{fmt::format("relay media port: {}", socket.error().message)};
  return std::unique_ptr<MediaLoop>(
      new MediaLoop(std::make_unique<Impl>(std::move(socket).value(), router, checked, clock)));
}

MediaLoop::MediaLoop(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

MediaLoop::~MediaLoop() = default;

const net::SocketAddress& MediaLoop::local_address() const { return impl_->socket.local_address(); }

Result<size_t> MediaLoop::RunOnce(std::chrono::nanoseconds timeout) {
  return impl_->RunOnce(timeout);
}

Status MediaLoop::Run(const std::atomic<bool>& stop) {
  while (!stop.load(std::memory_order_relaxed)) {
    Result<size_t> once = impl_->RunOnce(impl_->config.idle_wait);
    if (!once) return once.error();
  }
  return Status::Ok();
}

MediaLoopCounters MediaLoop::counters() const {
  const LoopCells& cells = impl_->cells;
  MediaLoopCounters out;
  out.batches = cells.batches.load(std::memory_order_relaxed);
  out.received = cells.received.load(std::memory_order_relaxed);
  out.bytes_received = cells.bytes_received.load(std::memory_order_relaxed);
  out.truncated = cells.truncated.load(std::memory_order_relaxed);
  out.sent = cells.sent.load(std::memory_order_relaxed);
  out.send_failed = cells.send_failed.load(std::memory_order_relaxed);
  out.send_calls = cells.send_calls.load(std::memory_order_relaxed);
  return out;
}

}  // namespace parley::relay
