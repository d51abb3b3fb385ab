#include "parley/relay/media_loop.h"

#include <fmt/format.h>

#include <array>
#include <span>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <vector>

#include "parley/base/counter.h"
#include "parley/net/poller.h"

namespace parley::relay {
namespace {

constexpr size_t kBatch = net::UdpSocket::kMaxBatch;
constexpr size_t kMinDatagramBytes = 64;
constexpr size_t kMaxDatagramBytes = 65535;

struct LoopCells {
  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> received{0};
  std::atomic<uint64_t> bytes_received{0};
  std::atomic<uint64_t> truncated{0};
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> send_failed{0};
  std::atomic<uint64_t> send_calls{0};
  std::array<std::array<std::atomic<uint64_t>, net::kCountedErrnoCount>, net::kSocketOpCount>
      socket_errors{};
};

// The loop's socket errors: counted, reported to the listener at a bounded rate, and the
// first fatal one kept (the loop then ends). Media thread only, but for the counters.
class SocketErrorBook {
 public:
  SocketErrorBook(LoopCells& cells, const Clock& clock, Clock::Duration report_interval)
      : cells_(cells), clock_(clock), report_interval_(report_interval) {}

  void Note(net::SocketOp op, int error_number) {
    const size_t index = net::CountedErrnoIndex(error_number);
    std::atomic<uint64_t>& count = cells_.socket_errors[static_cast<size_t>(op)][index];
    Bump(count, 1);
    if (net::IsFatalSocketError(op, error_number)) {
      if (!fatal_) {
        fatal_ = true;
        fatal_op_ = op;
        fatal_errno_ = error_number;
      }
      return;
    }
    Pending& pending = pending_[static_cast<size_t>(op)][index];
    const Clock::TimePoint now = clock_.Now();
    if (pending.reported && now < pending.next_report) {
      ++pending.unreported;
      return;
    }
    const SocketErrorReport report{.op = op,
                                   .error_number = error_number,
                                   .unreported = pending.unreported,
                                   .total = count.load(std::memory_order_relaxed)};
    pending = Pending{.reported = true, .next_report = now + report_interval_, .unreported = 0};
    if (listener_ != nullptr) listener_->OnSocketError(report);
  }

  bool fatal() const { return fatal_; }
  // The fatal error as a message (allocates; once, as the loop ends).
  Error FatalError(const net::SocketAddress& local) const {
    std::string_view call = "recvmmsg on";
    if (fatal_op_ == net::SocketOp::kSend) call = "sendmmsg from";
    if (fatal_op_ == net::SocketOp::kWait) call = "ppoll on";
    return Error{fmt::format("media socket: {} {}: {} ({})", call, local.ToString(),
                             std::system_category().message(fatal_errno_),
                             net::ErrnoName(fatal_errno_))};
  }

  void set_listener(MediaLoopListener* listener) { listener_ = listener; }

 private:
  struct Pending {
    bool reported = false;  // a report was made (next_report is meaningful)
    Clock::TimePoint next_report{};
    uint64_t unreported = 0;
  };

  // Passed by argument.
  LoopCells& cells_;
  const Clock& clock_;
  const Clock::Duration report_interval_;
  MediaLoopListener* listener_ = nullptr;
  // Allocated by this.
  std::array<std::array<Pending, net::kCountedErrnoCount>, net::kSocketOpCount> pending_{};
  bool fatal_ = false;
  net::SocketOp fatal_op_ = net::SocketOp::kReceive;
  int fatal_errno_ = 0;
};

// Collects what the router emits and sends it kBatch at a time. Payload spans point into
// the receive buffers (or the router's acks), which stay put until Flush returns.
class BatchSink final : public OutputSink {
 public:
  BatchSink(net::UdpSocket& socket, LoopCells& cells, SocketErrorBook& errors)
      : socket_(socket), cells_(cells), errors_(errors) {}

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
      const net::BatchOutcome sent = socket_.TrySendBatch(rest);
      Bump(cells_.send_calls, 1);
      if (sent.ok() && sent.count > 0) {
        Bump(cells_.sent, sent.count);
        offset += sent.count;
        refused_last = false;
        continue;
      }
      if (!sent.ok()) errors_.Note(net::SocketOp::kSend, sent.error_number);
      // The first datagram of `rest` was refused. Once: skip it (its destination may be
      // the problem). Twice in a row, or the socket is gone: drop the rest.
      const size_t dropped = refused_last || errors_.fatal() ? rest.size() : 1;
      Bump(cells_.send_failed, dropped);
      offset += dropped;
      refused_last = true;
    }
    count_ = 0;
  }

 private:
  net::UdpSocket& socket_;
  LoopCells& cells_;
  SocketErrorBook& errors_;
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
  if (config.error_report_interval.count() <= 0) {
    throw std::invalid_argument(fmt::format("MediaLoop: error_report_interval {} ms must be > 0",
                                            config.error_report_interval.count()));
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
        errors(cells, k, c.error_report_interval),
        sink(socket, cells, errors) {
    for (size_t i = 0; i < kBatch; ++i) {
      slots[i].buffer =
          std::span<uint8_t>(buffers).subspan(i * c.max_datagram_bytes, c.max_datagram_bytes);
    }
    poller.Add(socket.fd());
    // The router's time starts now, not at the clock's epoch: joins applied by the first
    // batch are timed from it (their first RTCP report is due a fraction of an interval
    // later, not at once). Nobody is applied yet, so nothing is emitted.
    router.Tick(clock.Now(), clock.WallNow(), sink);
    sink.Flush();
  }

  // A batch, or none: a transient error is noted and reads as nothing waiting.
  size_t Receive() {
    const net::BatchOutcome received = socket.TryReceiveBatch(slots);
    if (received.ok()) return received.count;
    errors.Note(net::SocketOp::kReceive, received.error_number);
    return 0;
  }

  Result<size_t> RunOnce(std::chrono::nanoseconds timeout) {
    if (errors.fatal()) return errors.FatalError(socket.local_address());
    size_t count = Receive();
    // Nothing waiting, or a transient error: wait for the socket, so that an error that
    // lasts does not spin the loop (readable data ends the wait at once).
    if (count == 0 && !errors.fatal() && timeout.count() > 0) {
      const int ready = poller.TryWait(timeout);
      if (ready < 0) errors.Note(net::SocketOp::kWait, -ready);
      if (ready > 0) count = Receive();
    }
    if (errors.fatal()) return errors.FatalError(socket.local_address());
    // Commands first: a join posted before its hello was sent is applied before the
    // hello is routed (and the queue drains even while the port is idle).
    router.ApplyPendingCommands();
    router.Tick(clock.Now(), clock.WallNow(), sink);
    // The RTCP reports the tick emitted go now: their bytes live in the router's arena
    // only until the next tick, and an idle or failing batch would not flush them.
    sink.Flush();
    if (errors.fatal()) return errors.FatalError(socket.local_address());
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
    if (errors.fatal()) return errors.FatalError(socket.local_address());
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
  SocketErrorBook errors;
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

void MediaLoop::SetListener(MediaLoopListener* listener) { impl_->errors.set_listener(listener); }

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
  for (size_t op = 0; op < net::kSocketOpCount; ++op) {
    for (size_t e = 0; e < net::kCountedErrnoCount; ++e) {
      out.socket_errors[op][e] = cells.socket_errors[op][e].load(std::memory_order_relaxed);
    }
  }
  return out;
}

}  // namespace parley::relay
