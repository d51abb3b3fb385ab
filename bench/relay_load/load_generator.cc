#include "load_generator.h"

#include <fmt/format.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "parley/relay/hello.h"
#include "parley/rtp/big_endian.h"
#include "pktinfo_batch.h"
#include "system_stats.h"

namespace parley::relay_load {
namespace {

constexpr size_t kRtpHeaderBytes = 12;
constexpr uint8_t kRtpVersionByte = 0x80;  // V=2, no padding, extension or CSRC
constexpr uint8_t kOpusPayloadType = 111;
constexpr uint32_t kRtpClockHz = 48'000;
constexpr size_t kStampOffset = kRtpHeaderBytes;       // send time, ns
constexpr size_t kSenderOffset = kRtpHeaderBytes + 8;  // sender index
constexpr size_t kTagOffset = kRtpHeaderBytes + 12;    // phase tag
constexpr size_t kMinPayloadBytes = 16;
constexpr size_t kMaxPayloadBytes = 1400;
constexpr int64_t kTickNs = 1'000'000;
constexpr int64_t kHelloResendNs = 50'000'000;
// Receive batches in a row before the paced loop looks at its send schedule again:
// 2,048 datagrams, about 1 ms of receiving at full load.
constexpr size_t kPacedDrainBatches = 32;
constexpr size_t kSaturateDrainBatches = 1024;
// ppoll rounds its timeout up by the thread's timer slack (50 µs by default); 1 µs keeps
// the 1 ms ticks on time.
constexpr unsigned long kTimerSlackNs = 1000;

int64_t ThreadCpuNs() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

}  // namespace

struct LoadGenerator::Impl {
  Impl(const LoadConfig& c, const Layout& l, int socket_fd)
      : fd(socket_fd),
        layout(l),
        participants(l.participants()),
        packet_bytes(kRtpHeaderBytes + c.payload_bytes),
        rtp_ticks_per_packet(static_cast<uint32_t>(kRtpClockHz / c.rate_pps)),
        send(std::max(packet_bytes, relay::kHelloMaxBytes)),
        sequence(participants, 0),
        rtp_timestamp(participants, 0),
        acked(participants, 0),
        cookies(participants),
        has_cookie(participants, 0),
        reply_due(participants, 0),
        sent_in_window(participants, 0),
        delivered(participants * l.per_room(), 0) {
    replies.reserve(participants);
  }

  ~Impl() { ::close(fd); }

  // --- Sending ---

  // Fills send slot `j` with `bytes` from participant `sender` to `to`; returns its buffer.
  uint8_t* Queue(size_t j, size_t sender, size_t bytes, const sockaddr_in& to) {
    batch_sender[j] = sender;
    return send.Queue(j, layout.ipv4_of(sender), to, bytes);
  }

  // Sends slots 0..count; returns how many the kernel took.
  size_t Flush(size_t count) {
    const size_t done = send.Flush(fd, count);
    send_refused += count - done;
    return done;
  }

  // `count` RTP packets, the next participants in round-robin order, stamped now.
  void SendRtp(size_t count, Target target, const sockaddr_in& forwarder) {
    const int64_t now = MonotonicNs();
    for (size_t j = 0; j < count; ++j) {
      const size_t sender = cursor;
      cursor = cursor + 1 == participants ? 0 : cursor + 1;
      const sockaddr_in& to = target == Target::kForwarder ? forwarder : next_in_room(sender);
      uint8_t* packet = Queue(j, sender, packet_bytes, to);
      packet[0] = kRtpVersionByte;
      packet[1] = kOpusPayloadType;
      rtp::WriteBe16(packet + 2, sequence[sender]++);
      rtp::WriteBe32(packet + 4, rtp_timestamp[sender]);
      rtp_timestamp[sender] += rtp_ticks_per_packet;
      rtp::WriteBe32(packet + 8, layout.ssrc(sender));
      const auto sender32 = static_cast<uint32_t>(sender);
      std::memcpy(packet + kStampOffset, &now, sizeof(now));
      std::memcpy(packet + kSenderOffset, &sender32, sizeof(sender32));
      std::memcpy(packet + kTagOffset, &tag, sizeof(tag));
    }
    const size_t sent = Flush(count);
    sent_total += sent;
    if (now >= window_start && now < window_end) {
      for (size_t j = 0; j < sent; ++j) ++sent_in_window[batch_sender[j]];
    }
  }

  const sockaddr_in& next_in_room(size_t sender) {
    const size_t first = layout.first_in_room(layout.room_of(sender));
    const size_t next = first + (sender - first + 1) % layout.per_room();
    direct_to = layout.sockaddr_of(next);
    return direct_to;
  }

  // Queues participant `p`'s hello in slot `j`: the hello-with-cookie once a challenge
  // has come, the plain hello before.
  void QueueHello(size_t j, size_t p, const sockaddr_in& to) {
    relay::Hello hello{relay::HelloType::kHello, layout.participant_id(p), layout.join_secret(p),
                       cookies[p]};
    reply_due[p] = 0;
    if (has_cookie[p]) {
      const auto bytes = relay::SerializeHelloWithCookie(hello);
      std::memcpy(Queue(j, p, bytes.size(), to), bytes.data(), bytes.size());
      return;
    }
    const auto bytes = relay::SerializeHello(hello);
    std::memcpy(Queue(j, p, bytes.size(), to), bytes.data(), bytes.size());
  }

  // Answers every challenge received since the last call with its hello-with-cookie.
  void SendReplies(const sockaddr_in& to) {
    size_t queued = 0;
    for (size_t p : replies) {
      if (!reply_due[p] || acked[p]) continue;  // already answered by a resend, or done
      QueueHello(queued, p, to);
      if (++queued == kBatch) {
        (void)Flush(queued);
        queued = 0;
      }
    }
    (void)Flush(queued);
    replies.clear();
  }

  // --- Receiving ---

  size_t Drain(size_t max_batches) {
    return receive.Drain(fd, max_batches, [this](size_t j, int64_t now) { Handle(j, now); });
  }

  void Handle(size_t j, int64_t now) {
    const uint8_t* data = receive.data(j);
    const size_t size = receive.size(j);
    const std::optional<uint32_t> destination = receive.destination_ipv4(j);
    const std::optional<size_t> receiver =
        destination ? layout.participant_of(*destination) : std::nullopt;
    if (!receiver || receive.truncated(j) || size == 0) {
      ++stray;
      return;
    }
    if (data[0] == relay::kHelloMarker) {
      relay::Hello hello;
      if (relay::DecodeHello({data, size}, hello) != relay::HelloFault::kNone ||
          hello.participant_id != layout.participant_id(*receiver) || acked[*receiver]) {
        return;
      }
      if (hello.type == relay::HelloType::kChallenge) {
        // Answered at once (SendReplies), and every resend carries the latest cookie.
        cookies[*receiver] = hello.cookie;
        has_cookie[*receiver] = 1;
        if (!reply_due[*receiver]) {
          reply_due[*receiver] = 1;
          replies.push_back(*receiver);
        }
      } else if (hello.type == relay::HelloType::kAck) {
        acked[*receiver] = 1;
        ++acked_count;
      }
      return;
    }
    if (size != packet_bytes || (data[0] >> 6) != 2) {
      ++stray;
      return;
    }
    uint32_t packet_tag = 0;
    uint32_t sender = 0;
    int64_t stamp = 0;
    std::memcpy(&packet_tag, data + kTagOffset, sizeof(packet_tag));
    std::memcpy(&sender, data + kSenderOffset, sizeof(sender));
    std::memcpy(&stamp, data + kStampOffset, sizeof(stamp));
    if (packet_tag != tag || sender >= participants || sender == *receiver ||
        layout.room_of(sender) != layout.room_of(*receiver)) {
      ++stray;
      return;
    }
    ++received_total;
    if (stamp >= window_start && stamp < window_end) {
      ++delivered[*receiver * layout.per_room() + sender % layout.per_room()];
      latency.Add(now - stamp);
    }
  }

  void WaitReadable(int64_t timeout_ns) const { relay_load::WaitReadable(fd, timeout_ns); }
  uint64_t SocketDrops() const { return relay_load::SocketDrops(fd); }

  // --- Phases ---

  void BeginPhase(const PhaseTiming& timing) {
    ++tag;
    std::fill(sent_in_window.begin(), sent_in_window.end(), 0);
    std::fill(delivered.begin(), delivered.end(), 0);
    latency.Clear();
    sent_total = send_refused = received_total = stray = 0;
    window_opened = window_closed = false;
    phase_start = MonotonicNs();
    window_start = phase_start + timing.warmup.count();
    window_end = window_start + timing.window.count();
    phase_end = window_end + timing.drain.count();
    drops_at_start = SocketDrops();
  }

  // Calls the observer at the window's edges; true while the phase runs.
  bool Tick(int64_t now, WindowObserver& observer) {
    if (!window_opened && now >= window_start) {
      window_opened = true;
      observer.OnWindowStart();
      cpu_at_start = ThreadCpuNs();
    }
    if (window_opened && !window_closed && now >= window_end) {
      window_closed = true;
      observer.OnWindowEnd();
      cpu_at_end = ThreadCpuNs();
    }
    return now < phase_end;
  }

  // The next moment Tick has something to do.
  int64_t NextEdge(int64_t now) const {
    if (now < window_start) return window_start;
    if (now < window_end) return window_end;
    return phase_end;
  }

  PhaseStats Finish(Target target, const PhaseTiming& timing) {
    PhaseStats out;
    out.window_s = std::chrono::duration<double>(timing.window).count();
    out.sent_total = sent_total;
    out.send_refused = send_refused;
    out.received_total = received_total;
    out.stray = stray;
    out.latency_p50_us = latency.PercentileUs(0.50);
    out.latency_p99_us = latency.PercentileUs(0.99);
    out.latency_max_us = latency.max_us();
    out.generator_cpu_ns = cpu_at_end - cpu_at_start;
    out.generator_drops = SocketDrops() - drops_at_start;
    out.send_late_max_us = send_late_max_ns / 1000;

    std::vector<double> shares;
    shares.reserve(delivered.size());
    const size_t per_room = layout.per_room();
    for (size_t sender = 0; sender < participants; ++sender) {
      out.sent += sent_in_window[sender];
      const size_t first = layout.first_in_room(layout.room_of(sender));
      for (size_t receiver = first; receiver < first + per_room; ++receiver) {
        if (receiver == sender) continue;
        const bool receives =
            target == Target::kForwarder || receiver == first + (sender - first + 1) % per_room;
        if (!receives) continue;
        const uint64_t got = delivered[receiver * per_room + sender % per_room];
        out.expected += sent_in_window[sender];
        out.delivered += got;
        if (sent_in_window[sender] == 0) continue;
        shares.push_back(static_cast<double>(got) / static_cast<double>(sent_in_window[sender]));
        if (got == 0) ++out.streams_starved;
      }
    }
    out.streams = shares.size();
    if (!shares.empty()) {
      std::sort(shares.begin(), shares.end());
      out.min_stream_share = shares.front();
      out.median_stream_share = shares[shares.size() / 2];
    }
    return out;
  }

  // --- Passed by argument ---
  const int fd;
  const Layout& layout;

  // --- Allocated by this ---
  const size_t participants;
  const size_t packet_bytes;
  const uint32_t rtp_ticks_per_packet;
  PktinfoSendBatch send;
  PktinfoReceiveBatch receive;
  std::array<size_t, kBatch> batch_sender{};
  sockaddr_in direct_to{};

  std::vector<uint16_t> sequence;
  std::vector<uint32_t> rtp_timestamp;
  size_t cursor = 0;
  std::vector<uint8_t> acked;
  size_t acked_count = 0;
  std::vector<relay::HelloCookie> cookies;  // the latest challenge's, by participant
  std::vector<uint8_t> has_cookie;
  std::vector<uint8_t> reply_due;  // a challenge waits for its hello-with-cookie
  std::vector<size_t> replies;     // participants with reply_due set, in arrival order

  // The phase running.
  uint32_t tag = 0;
  int64_t phase_start = 0;
  int64_t window_start = 0;
  int64_t window_end = 0;
  int64_t phase_end = 0;
  bool window_opened = false;
  bool window_closed = false;
  int64_t cpu_at_start = 0;
  int64_t cpu_at_end = 0;
  uint64_t drops_at_start = 0;
  std::vector<uint64_t> sent_in_window;  // by sender
  std::vector<uint64_t> delivered;       // by receiver * per_room + sender % per_room
  LatencyHistogram latency;
  uint64_t sent_total = 0;
  uint64_t send_refused = 0;
  uint64_t received_total = 0;
  uint64_t stray = 0;
  int64_t send_late_max_ns = 0;
};

Result<std::unique_ptr<LoadGenerator>> LoadGenerator::Create(const LoadConfig& config) {
  if (config.payload_bytes < kMinPayloadBytes || config.payload_bytes > kMaxPayloadBytes) {
    throw std::invalid_argument(fmt::format("LoadGenerator: payload_bytes {} outside {}..{}",
                                            config.payload_bytes, kMinPayloadBytes,
                                            kMaxPayloadBytes));
  }
  if (!(config.rate_pps > 0)) {
    throw std::invalid_argument(
        fmt::format("LoadGenerator: rate_pps {} must be > 0", config.rate_pps));
  }
  Result<int> fd = OpenPktinfoSocket(config.socket_buffer_bytes);
  if (!fd) return Error{fmt::format("load generator: {}", fd.error().message)};
  (void)::prctl(PR_SET_TIMERSLACK, kTimerSlackNs, 0, 0, 0);
  Layout layout(config.rooms, config.per_room, BoundPort(*fd));
  return std::unique_ptr<LoadGenerator>(new LoadGenerator(config, std::move(layout), *fd));
}

LoadGenerator::LoadGenerator(const LoadConfig& config, Layout layout, int fd)
    : config_(config),
      layout_(std::move(layout)),
      impl_(std::make_unique<Impl>(config_, layout_, fd)) {}

LoadGenerator::~LoadGenerator() = default;

int LoadGenerator::receive_buffer_bytes() const {
  int value = 0;
  socklen_t length = sizeof(value);
  (void)::getsockopt(impl_->fd, SOL_SOCKET, SO_RCVBUF, &value, &length);
  return value;
}

Status LoadGenerator::Handshake(const net::SocketAddress& relay, std::chrono::nanoseconds timeout) {
  Impl& g = *impl_;
  sockaddr_in to{};
  std::memcpy(&to, relay.sockaddr_ptr(), sizeof(to));
  std::fill(g.acked.begin(), g.acked.end(), 0);
  g.acked_count = 0;
  std::fill(g.has_cookie.begin(), g.has_cookie.end(), 0);
  std::fill(g.reply_due.begin(), g.reply_due.end(), 0);
  g.replies.clear();
  const int64_t deadline = MonotonicNs() + timeout.count();
  while (g.acked_count < g.participants && MonotonicNs() < deadline) {
    size_t queued = 0;
    for (size_t p = 0; p < g.participants; ++p) {
      if (g.acked[p]) continue;
      g.QueueHello(queued, p, to);
      if (++queued == kBatch) {
        (void)g.Flush(queued);
        queued = 0;
        (void)g.Drain(kBatch);
      }
    }
    (void)g.Flush(queued);
    // The relay answers each first hello with a challenge: the replies go out as soon as
    // the challenges are read, within the same resend interval.
    const int64_t resend_at = std::min(MonotonicNs() + kHelloResendNs, deadline);
    for (int64_t now = MonotonicNs(); now < resend_at && g.acked_count < g.participants;
         now = MonotonicNs()) {
      g.SendReplies(to);
      if (g.Drain(kBatch) == 0 && g.replies.empty()) g.WaitReadable(resend_at - now);
    }
  }
  if (g.acked_count < g.participants) {
    return Error{
        fmt::format("hello: {} of {} participants not acked by the relay within {} ms",
                    g.participants - g.acked_count, g.participants,
                    std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count())};
  }
  return Status::Ok();
}

PhaseStats LoadGenerator::RunPaced(Target target, const net::SocketAddress& forwarder,
                                   const PhaseTiming& timing, WindowObserver& observer) {
  Impl& g = *impl_;
  sockaddr_in to{};
  if (target == Target::kForwarder) std::memcpy(&to, forwarder.sockaddr_ptr(), sizeof(to));
  g.BeginPhase(timing);
  g.send_late_max_ns = 0;
  const double packets_per_ns =
      static_cast<double>(g.participants) * config_.rate_pps / 1'000'000'000.0;
  uint64_t scheduled = 0;
  int64_t next_tick = g.phase_start;
  for (int64_t now = MonotonicNs(); g.Tick(now, observer); now = MonotonicNs()) {
    if (now < g.window_end && now >= next_tick) {
      g.send_late_max_ns = std::max(g.send_late_max_ns, now - next_tick);
      const auto due =
          static_cast<uint64_t>(static_cast<double>(now - g.phase_start) * packets_per_ns);
      while (scheduled < due) {
        const size_t count = static_cast<size_t>(std::min<uint64_t>(kBatch, due - scheduled));
        g.SendRtp(count, target, to);
        scheduled += count;
      }
      while (next_tick <= now) next_tick += kTickNs;
    }
    if (g.Drain(kPacedDrainBatches) > 0) continue;
    now = MonotonicNs();
    const int64_t wake =
        now < g.window_end ? std::min(next_tick, g.NextEdge(now)) : g.NextEdge(now);
    g.WaitReadable(wake - now);
  }
  return g.Finish(target, timing);
}

PhaseStats LoadGenerator::RunSaturate(const net::SocketAddress& forwarder,
                                      const PhaseTiming& timing, WindowObserver& observer) {
  Impl& g = *impl_;
  sockaddr_in to{};
  std::memcpy(&to, forwarder.sockaddr_ptr(), sizeof(to));
  g.BeginPhase(timing);
  g.send_late_max_ns = 0;
  for (int64_t now = MonotonicNs(); g.Tick(now, observer); now = MonotonicNs()) {
    if (now < g.window_end) {
      g.SendRtp(kBatch, Target::kForwarder, to);
      (void)g.Drain(kSaturateDrainBatches);
      continue;
    }
    if (g.Drain(kSaturateDrainBatches) == 0) g.WaitReadable(g.NextEdge(now) - now);
  }
  return g.Finish(Target::kForwarder, timing);
}

}  // namespace parley::relay_load
