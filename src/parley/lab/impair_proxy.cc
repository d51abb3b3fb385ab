#include "parley/lab/impair_proxy.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace parley::lab {
namespace {

// IP + UDP header bytes a datagram carries on the wire, for the model's bandwidth cap.
constexpr int kIpv4UdpOverheadBytes = 20 + 8;
constexpr int kIpv6UdpOverheadBytes = 40 + 8;
// Batches read per socket per turn: bounds a turn under a flood, so due datagrams are
// not held back by reading (4 x 64 = 256 datagrams).
constexpr int kMaxBatchesPerTurn = 4;
constexpr size_t kMaxQueuedLimit = 1'000'000;
constexpr size_t kMaxUdpPayloadBytes = 65507;

// Min-heap order: the earliest due on top; ties in arrival order.
struct DueLater {
  template <typename Q>
  bool operator()(const Q& a, const Q& b) const {
    return a.due_ms != b.due_ms ? a.due_ms > b.due_ms : a.order > b.order;
  }
};

}  // namespace

ImpairProxyConfig ImpairProxyConfig::BothWays(const net::SocketAddress& listen,
                                              const net::SocketAddress& forward,
                                              const ImpairmentConfig& impairment) {
  ImpairProxyConfig config;
  config.listen = listen;
  config.forward = forward;
  config.upstream = impairment;
  config.downstream = impairment;
  config.downstream.seed = impairment.seed + 1;
  return config;
}

Status ImpairProxyConfig::Validate() const {
  if (listen.empty()) return Error{"listen: no address"};
  if (forward.empty()) return Error{"forward: no address"};
  if (forward.is_unspecified() || forward.port() == 0) {
    return Error{fmt::format("forward {}: needs a concrete address and a port other than 0",
                             forward.ToString())};
  }
  if (Status s = upstream.Validate(); !s) return Error{"upstream: " + s.error().message};
  if (Status s = downstream.Validate(); !s) return Error{"downstream: " + s.error().message};
  if (max_queued_datagrams < 1 || max_queued_datagrams > kMaxQueuedLimit) {
    return Error{
        fmt::format("max_queued_datagrams {} is not 1..{}", max_queued_datagrams, kMaxQueuedLimit)};
  }
  if (max_datagram_bytes < 1 || max_datagram_bytes > kMaxUdpPayloadBytes) {
    return Error{
        fmt::format("max_datagram_bytes {} is not 1..{}", max_datagram_bytes, kMaxUdpPayloadBytes)};
  }
  if (socket_buffer_bytes < 0) {
    return Error{fmt::format("socket_buffer_bytes {} < 0", socket_buffer_bytes)};
  }
  return Status::Ok();
}

ImpairProxy::Direction::Direction(const ImpairmentConfig& impairment, size_t slots,
                                  size_t slot_bytes)
    : model(impairment), pool(slots * slot_bytes), free_slots(slots) {
  // Slot 0 on top of the stack: the first datagrams fill the pool from its start.
  for (size_t i = 0; i < slots; ++i) free_slots[i] = static_cast<uint32_t>(slots - 1 - i);
  heap.reserve(slots);
}

namespace {
// Validates before the members are built, so a bad config throws before the pools exist.
const ImpairProxyConfig& Validated(const ImpairProxyConfig& config) {
  if (Status s = config.Validate(); !s) {
    throw std::invalid_argument("ImpairProxy: " + s.error().message);
  }
  return config;
}
}  // namespace

ImpairProxy::ImpairProxy(const Clock& clock, const Config& config)
    : clock_(clock),
      config_(Validated(config)),
      upstream_(config_.upstream, config_.max_queued_datagrams, config_.max_datagram_bytes),
      downstream_(config_.downstream, config_.max_queued_datagrams, config_.max_datagram_bytes),
      receive_buffers_(net::UdpSocket::kMaxBatch * config_.max_datagram_bytes),
      receive_slots_(net::UdpSocket::kMaxBatch) {
  for (size_t i = 0; i < receive_slots_.size(); ++i) {
    receive_slots_[i].buffer =
        std::span<uint8_t>(receive_buffers_)
            .subspan(i * config_.max_datagram_bytes, config_.max_datagram_bytes);
  }
}

Status ImpairProxy::Start() {
  if (state_ != State::kCreated) throw std::logic_error("ImpairProxy::Start called twice");
  net::UdpSocketOptions options;
  options.receive_buffer_bytes = config_.socket_buffer_bytes;
  options.send_buffer_bytes = config_.socket_buffer_bytes;
  auto listen = net::UdpSocket::Bind(config_.listen, options);
  if (!listen) return Error{"listen socket: " + listen.error().message};
  auto upstream = net::UdpSocket::Bind(net::SocketAddress::WildcardFor(config_.forward), options);
  if (!upstream) return Error{"upstream socket: " + upstream.error().message};
  listen_socket_ = std::move(listen).value();
  upstream_socket_ = std::move(upstream).value();
  listen_index_ = poller_.Add(listen_socket_.fd());
  upstream_index_ = poller_.Add(upstream_socket_.fd());
  start_ = clock_.Now();
  state_ = State::kRunning;
  return Status::Ok();
}

double ImpairProxy::NowMs() const {
  return std::chrono::duration<double, std::milli>(clock_.Now() - start_).count();
}

std::chrono::nanoseconds ImpairProxy::WaitFor(std::chrono::milliseconds max_wait,
                                              double now_ms) const {
  std::chrono::nanoseconds wait = max_wait;
  for (const Direction* direction : {&upstream_, &downstream_}) {
    if (direction->heap.empty()) continue;
    const double until_due_ms = direction->heap.front().due_ms - now_ms;
    // Rounded up, so the wake-up is not a hair before the due time (a wasted turn).
    const auto until_due = std::chrono::nanoseconds(
        static_cast<int64_t>(std::ceil(std::max(0.0, until_due_ms) * 1e6)));
    wait = std::min(wait, until_due);
  }
  return wait;
}

Status ImpairProxy::RunOnce(std::chrono::milliseconds max_wait) {
  if (state_ != State::kRunning) {
    throw std::logic_error("ImpairProxy::RunOnce before Start() or after Stop()");
  }
  auto ready = poller_.Wait(WaitFor(max_wait, NowMs()));
  if (!ready) return ready.error();
  if (poller_.readable(listen_index_)) ReceiveInto(upstream_, listen_socket_, true);
  if (poller_.readable(upstream_index_)) ReceiveInto(downstream_, upstream_socket_, false);
  const double now_ms = NowMs();
  Release(upstream_, upstream_socket_, config_.forward, now_ms);
  if (!client_.empty()) Release(downstream_, listen_socket_, client_, now_ms);
  return Status::Ok();
}

Status ImpairProxy::Run(const std::atomic<bool>& stop) {
  while (!stop.load(std::memory_order_relaxed)) {
    if (Status s = RunOnce(kRunCheckInterval); !s) return s;
  }
  return Status::Ok();
}

void ImpairProxy::Stop() {
  listen_socket_.Close();
  upstream_socket_.Close();
  if (state_ == State::kRunning) state_ = State::kStopped;
}

void ImpairProxy::ReceiveInto(Direction& direction, net::UdpSocket& socket, bool from_client) {
  for (int batch = 0; batch < kMaxBatchesPerTurn; ++batch) {
    auto count = socket.ReceiveBatch(receive_slots_);
    if (!count) {
      ++direction.stats.receive_errors;
      return;
    }
    // One reading of the clock per batch: the datagrams of a batch were waiting together.
    const double now_ms = NowMs();
    for (size_t i = 0; i < *count; ++i) {
      const net::ReceiveSlot& slot = receive_slots_[i];
      if (from_client && client_.empty()) client_ = slot.from;
      const bool from_peer =
          from_client ? slot.from == client_ : (slot.from == config_.forward && !client_.empty());
      if (!from_peer) {
        ++direction.stats.foreign_dropped;
      } else if (slot.truncated) {
        ++direction.stats.oversize_dropped;
      } else {
        Admit(direction, slot.buffer.first(slot.size), now_ms, slot.from.is_ipv6());
      }
    }
    if (*count < receive_slots_.size()) return;  // drained
  }
}

void ImpairProxy::Admit(Direction& direction, std::span<const uint8_t> payload, double now_ms,
                        bool ipv6) {
  ++direction.stats.received;
  const int overhead = ipv6 ? kIpv6UdpOverheadBytes : kIpv4UdpOverheadBytes;
  const PacketFate fate = direction.model.Next(now_ms, static_cast<int>(payload.size()) + overhead);
  if (fate.lost()) {
    ++direction.stats.lost;
    return;
  }
  direction.stats.duplicated += fate.arrivals_ms.size() - 1;
  for (const double arrival_ms : fate.arrivals_ms) {
    if (direction.free_slots.empty()) {
      ++direction.stats.queue_dropped;
      continue;
    }
    const uint32_t slot = direction.free_slots.back();
    direction.free_slots.pop_back();
    std::copy(payload.begin(), payload.end(),
              direction.pool.begin() + static_cast<ptrdiff_t>(slot * config_.max_datagram_bytes));
    direction.heap.push_back(
        Queued{arrival_ms, direction.next_order++, slot, static_cast<uint32_t>(payload.size())});
    std::push_heap(direction.heap.begin(), direction.heap.end(), DueLater{});
  }
}

void ImpairProxy::Release(Direction& direction, net::UdpSocket& socket,
                          const net::SocketAddress& to, double now_ms) {
  while (!direction.heap.empty() && direction.heap.front().due_ms <= now_ms) {
    std::pop_heap(direction.heap.begin(), direction.heap.end(), DueLater{});
    const Queued queued = direction.heap.back();
    direction.heap.pop_back();
    const auto payload = std::span<const uint8_t>(direction.pool)
                             .subspan(queued.slot * config_.max_datagram_bytes, queued.bytes);
    if (socket.SendTo(payload, to)) {
      ++direction.stats.forwarded;
    } else {
      ++direction.stats.send_errors;
    }
    direction.free_slots.push_back(queued.slot);
  }
}

ImpairProxyStats ImpairProxy::stats() const {
  ImpairProxyStats stats{upstream_.stats, downstream_.stats};
  stats.upstream.queued = upstream_.heap.size();
  stats.downstream.queued = downstream_.heap.size();
  return stats;
}

}  // namespace parley::lab
