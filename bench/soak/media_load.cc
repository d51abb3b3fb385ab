#include "media_load.h"

#include <fmt/format.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <limits>
#include <optional>
#include <stdexcept>

#include "../relay_load/latency_histogram.h"
#include "../relay_load/pktinfo_batch.h"
#include "../relay_load/system_stats.h"
#include "parley/base/clock.h"
#include "parley/client/hello_handshake.h"
#include "parley/rtp/big_endian.h"

namespace parley::soak {
namespace {

using relay_load::MonotonicNs;

constexpr size_t kBatch = relay_load::kPktinfoBatch;
constexpr size_t kRtpHeaderBytes = 12;
constexpr uint8_t kRtpVersionByte = 0x80;
constexpr uint8_t kOpusPayloadType = 111;
constexpr uint32_t kTicksPer20Ms = 960;
constexpr uint32_t kMagic = 0x50534F4B;  // "PSOK"
// Payload layout after the RTP header (native byte order: the generator reads its own).
constexpr size_t kSessionOffset = kRtpHeaderBytes;
constexpr size_t kSeqOffset = kRtpHeaderBytes + 4;
constexpr size_t kStampOffset = kRtpHeaderBytes + 8;
constexpr size_t kMagicOffset = kRtpHeaderBytes + 16;
constexpr size_t kMinPayloadBytes = 20;
constexpr int64_t kTickNs = 1'000'000;
constexpr int64_t kMaxBehindNs = 100'000'000;
constexpr size_t kDrainBatches = 32;
constexpr uint32_t kOpen = std::numeric_limits<uint32_t>::max();
constexpr unsigned long kTimerSlackNs = 1000;

// One stream as its receiver counts it.
struct Stream {
  uint32_t sender = 0;
  uint32_t window_start = 0;  // sender sequence numbers [start, end) count
  uint32_t window_end = 0;    // kOpen while the window is open
  uint64_t expected = 0;      // over closed windows
  uint64_t received = 0;
};

enum class State : uint8_t { kIdle, kHandshake, kAcked, kLeft };

struct Session {
  Session(uint32_t id_in, size_t slot_in, size_t room_in)
      : id(id_in), slot(slot_in), room(room_in) {}
  uint32_t id;
  size_t slot;
  size_t room;
  State state = State::kIdle;
  client::HelloHandshake handshake;
  sockaddr_in relay{};
  uint32_t sent = 0;            // packets sent: the next sequence number
  bool listed = false;          // in the handshaking list
  std::vector<Stream> streams;  // as receiver, one per sender ever heard in a window

  Stream* StreamFrom(uint32_t sender) {
    for (Stream& s : streams) {
      if (s.sender == sender) return &s;
    }
    return nullptr;
  }
};

enum class CommandType { kAdd, kJoined, kDown, kLeave, kCloseAll };

struct Command {
  CommandType type;
  uint32_t session = 0;
  size_t slot = 0;
  size_t room = 0;
  uint32_t participant_id = 0;
  relay::JoinSecret secret{};
  sockaddr_in media{};
};

}  // namespace

struct MediaLoad::Impl {
  Impl(const MediaLoadConfig& c, int socket_fd)
      : config(c),
        fd(socket_fd),
        packet_bytes(kRtpHeaderBytes + c.payload_bytes),
        slot_session(c.slots, -1),
        send(std::max(packet_bytes, relay::kHelloWithCookieBytes)) {}
  ~Impl() { ::close(fd); }

  static uint32_t Ipv4Of(uint32_t session) { return kBaseIpv4 + session + 1; }

  // --- Commands (any thread) ---

  void Push(Command command) {
    std::lock_guard lock(commands_mutex);
    commands.push_back(command);
    commands_pending.store(true, std::memory_order_release);
  }

  void ApplyCommands(int64_t now) {
    if (!commands_pending.load(std::memory_order_acquire)) return;
    {
      std::lock_guard lock(commands_mutex);
      applying.swap(commands);
      commands_pending.store(false, std::memory_order_relaxed);
    }
    for (const Command& c : applying) Apply(c, now);
    applying.clear();
  }

  void Apply(const Command& c, int64_t now) {
    switch (c.type) {
      case CommandType::kAdd: {
        sessions.push_back(std::make_unique<Session>(c.session, c.slot, c.room));
        slot_session[c.slot] = static_cast<int64_t>(c.session);
        if (c.room >= rooms.size()) rooms.resize(c.room + 1);
        rooms[c.room].push_back(c.session);
        ++live;
        return;
      }
      case CommandType::kJoined: {
        Session& s = *sessions[c.session];
        if (s.state == State::kLeft) return;
        if (s.state == State::kAcked) GoDown(s);
        s.relay = c.media;
        s.handshake.Start(c.participant_id, c.secret, ToTimePoint(now));
        s.state = State::kHandshake;
        if (!s.listed) {
          s.listed = true;
          handshaking.push_back(s.id);
        }
        return;
      }
      case CommandType::kDown:
        GoDown(*sessions[c.session]);
        return;
      case CommandType::kLeave: {
        Session& s = *sessions[c.session];
        if (s.state == State::kLeft) return;
        GoDown(s);
        s.state = State::kLeft;
        if (slot_session[s.slot] == static_cast<int64_t>(s.id)) slot_session[s.slot] = -1;
        auto& members = rooms[s.room];
        members.erase(std::remove(members.begin(), members.end(), s.id), members.end());
        --live;
        return;
      }
      case CommandType::kCloseAll:
        for (size_t room = 0; room < rooms.size(); ++room) {
          for (uint32_t id : rooms[room]) GoDown(*sessions[id]);
        }
        return;
    }
  }

  static Clock::TimePoint ToTimePoint(int64_t ns) {
    return Clock::TimePoint(std::chrono::nanoseconds(ns));
  }

  // Stops sending and closes every window the session is an end of.
  void GoDown(Session& s) {
    if (s.state == State::kAcked) {
      --acked;
      for (uint32_t other : rooms[s.room]) {
        if (other == s.id) continue;
        Session& o = *sessions[other];
        CloseStream(s, o);
        CloseStream(o, s);
      }
    }
    if (s.state != State::kLeft) s.state = State::kIdle;
  }

  void OpenStream(const Session& sender, Session& receiver) {
    Stream* stream = receiver.StreamFrom(sender.id);
    if (stream == nullptr) {
      receiver.streams.push_back(Stream{sender.id, 0, 0, 0, 0});
      stream = &receiver.streams.back();
    } else if (stream->window_end == kOpen) {
      return;
    }
    stream->window_start = sender.sent;
    stream->window_end = kOpen;
  }

  void CloseStream(const Session& sender, Session& receiver) {
    Stream* stream = receiver.StreamFrom(sender.id);
    if (stream == nullptr || stream->window_end != kOpen) return;
    stream->window_end = sender.sent;
    stream->expected += stream->window_end - stream->window_start;
  }

  void OnAcked(Session& s) {
    s.state = State::kAcked;
    ++acked;
    for (uint32_t other : rooms[s.room]) {
      if (other == s.id) continue;
      Session& o = *sessions[other];
      if (o.state != State::kAcked) continue;
      OpenStream(s, o);
      OpenStream(o, s);
    }
  }

  // --- Sending ---

  uint8_t* Queue(size_t j, const Session& from, size_t bytes) {
    return send.Queue(j, Ipv4Of(from.id), from.relay, bytes);
  }

  size_t Flush(size_t count) {
    const size_t done = send.Flush(fd, count);
    send_refused += count - done;
    return done;
  }

  // Sends `count` slots' turns, round robin; slots without an acked session pass.
  void SendTurns(uint64_t count) {
    size_t queued = 0;
    const int64_t now = MonotonicNs();
    for (uint64_t turn = 0; turn < count; ++turn) {
      const size_t slot = cursor;
      cursor = cursor + 1 == slot_session.size() ? 0 : cursor + 1;
      const int64_t id = slot_session[slot];
      if (id < 0) continue;
      Session& s = *sessions[static_cast<size_t>(id)];
      if (s.state != State::kAcked) continue;
      uint8_t* p = Queue(queued, s, packet_bytes);
      std::memset(p, 0, packet_bytes);
      p[0] = kRtpVersionByte;
      p[1] = kOpusPayloadType;
      rtp::WriteBe16(p + 2, static_cast<uint16_t>(s.sent));
      rtp::WriteBe32(p + 4, s.sent * kTicksPer20Ms);
      rtp::WriteBe32(p + 8, SsrcOf(s.id));
      std::memcpy(p + kSessionOffset, &s.id, 4);
      std::memcpy(p + kSeqOffset, &s.sent, 4);
      std::memcpy(p + kStampOffset, &now, 8);
      std::memcpy(p + kMagicOffset, &kMagic, 4);
      ++s.sent;
      ++sent;
      if (++queued == kBatch) {
        Flush(queued);
        queued = 0;
      }
    }
    Flush(queued);
  }

  void SendHellos(int64_t now) {
    size_t queued = 0;
    const Clock::TimePoint at = ToTimePoint(now);
    size_t keep = 0;
    for (uint32_t id : handshaking) {
      Session& s = *sessions[id];
      if (s.state != State::kHandshake) {  // acked, down or left: off the list
        s.listed = false;
        continue;
      }
      std::optional<std::span<const uint8_t>> hello = s.handshake.HelloDue(at);
      if (!hello && s.handshake.state() == client::HelloHandshake::State::kFailed) {
        ++hello_failures;  // the relay said nothing for 5 s: start over (as a client would)
        s.handshake.Start(last_participant_id(s), last_secret(s), at);
        hello = s.handshake.HelloDue(at);
      }
      if (hello) {
        std::memcpy(Queue(queued, s, hello->size()), hello->data(), hello->size());
        ++hellos_sent;
        if (++queued == kBatch) {
          Flush(queued);
          queued = 0;
        }
      }
      handshaking[keep++] = id;
    }
    handshaking.resize(keep);
    Flush(queued);
  }

  // The handshake keeps its own copy of the id and secret; a restart after a failure
  // needs them again, kept here per session.
  uint32_t last_participant_id(const Session& s) const { return join_ids[s.id]; }
  const relay::JoinSecret& last_secret(const Session& s) const { return join_secrets[s.id]; }

  // --- Receiving ---

  size_t Drain(size_t max_batches) {
    return receive.Drain(fd, max_batches, [this](size_t j, int64_t now) { Handle(j, now); });
  }

  Session* ReceiverOf(size_t j) {
    const std::optional<uint32_t> ip = receive.destination_ipv4(j);
    if (!ip || *ip <= kBaseIpv4) return nullptr;
    const uint32_t id = *ip - kBaseIpv4 - 1;
    return id < sessions.size() ? sessions[id].get() : nullptr;
  }

  void Handle(size_t j, int64_t now) {
    const uint8_t* data = receive.data(j);
    const size_t size = receive.size(j);
    Session* receiver = ReceiverOf(j);
    if (receiver == nullptr || receive.truncated(j) || size == 0) {
      ++stray;
      return;
    }
    if (data[0] == relay::kHelloMarker) {
      if (size >= 3 && data[2] == static_cast<uint8_t>(relay::HelloType::kChallenge)) {
        ++challenges;
      }
      if (receiver->state == State::kHandshake && receiver->handshake.OnDatagram({data, size})) {
        ++acks;
        OnAcked(*receiver);
      }
      return;
    }
    if (size >= 2 && (data[0] >> 6) == 2 && data[1] >= 200 && data[1] <= 204) {
      ++rtcp_received;
      return;
    }
    uint32_t magic = 0;
    if (size != packet_bytes || (data[0] >> 6) != 2 ||
        (std::memcpy(&magic, data + kMagicOffset, 4), magic != kMagic)) {
      ++stray;
      return;
    }
    uint32_t sender = 0;
    uint32_t seq = 0;
    int64_t stamp = 0;
    std::memcpy(&sender, data + kSessionOffset, 4);
    std::memcpy(&seq, data + kSeqOffset, 4);
    std::memcpy(&stamp, data + kStampOffset, 8);
    ++received_rtp;
    if (sender >= sessions.size() || sender == receiver->id ||
        sessions[sender]->room != receiver->room) {
      ++misrouted;
      return;
    }
    latency.Add(now - stamp);
    Stream* stream = receiver->StreamFrom(sender);
    if (stream == nullptr || seq < stream->window_start || seq >= stream->window_end) {
      ++out_of_window;
      return;
    }
    ++stream->received;
  }

  void WaitReadable(int64_t timeout_ns) const { relay_load::WaitReadable(fd, timeout_ns); }
  uint64_t SocketDrops() const { return relay_load::SocketDrops(fd); }

  void Publish() {
    published_live.store(live, std::memory_order_relaxed);
    published_acked.store(acked, std::memory_order_relaxed);
    published_sent.store(sent, std::memory_order_relaxed);
    published_received.store(received_rtp, std::memory_order_relaxed);
  }

  void Run() {
    (void)::prctl(PR_SET_TIMERSLACK, kTimerSlackNs, 0, 0, 0);
    const double packets_per_ns =
        static_cast<double>(config.slots) * config.rate_pps / 1'000'000'000.0;
    const int64_t start = MonotonicNs();
    uint64_t scheduled = 0;
    int64_t next_tick = start;
    while (!stop.load(std::memory_order_acquire)) {
      int64_t now = MonotonicNs();
      ApplyCommands(now);
      if (now >= next_tick) {
        send_late_max_ns = std::max(send_late_max_ns, now - next_tick);
        auto due = static_cast<uint64_t>(static_cast<double>(now - start) * packets_per_ns);
        const auto max_behind =
            static_cast<uint64_t>(static_cast<double>(kMaxBehindNs) * packets_per_ns);
        if (due > scheduled + max_behind) {
          send_skipped += due - scheduled - max_behind;
          // The skipped turns are passed over in the round robin as if taken.
          const uint64_t skipped = due - scheduled - max_behind;
          cursor = (cursor + skipped) % slot_session.size();
          scheduled += skipped;
        }
        SendTurns(due - scheduled);
        scheduled = due;
        SendHellos(now);
        while (next_tick <= now) next_tick += kTickNs;
        Publish();
      }
      if (Drain(kDrainBatches) > 0) continue;
      now = MonotonicNs();
      WaitReadable(std::min(next_tick - now, kTickNs));
    }
    // Everything still open closes now; what is in flight lands during the drain.
    Apply(Command{CommandType::kCloseAll}, MonotonicNs());
    const int64_t drain_end = MonotonicNs() + 300'000'000;
    for (int64_t now = MonotonicNs(); now < drain_end; now = MonotonicNs()) {
      if (Drain(kDrainBatches) == 0) WaitReadable(std::min<int64_t>(drain_end - now, kTickNs));
    }
    Publish();
  }

  // --- Configuration and socket ---
  const MediaLoadConfig config;
  const int fd;
  const size_t packet_bytes;

  // --- Commands ---
  std::mutex commands_mutex;
  std::vector<Command> commands;  // guarded by commands_mutex
  std::atomic<bool> commands_pending{false};
  uint32_t next_session = 0;  // guarded by commands_mutex
  // Written by Joined() (any thread) before its command is pushed; read by the media
  // thread after. Sized up front: never reallocated while the load runs.
  std::vector<uint32_t> join_ids = std::vector<uint32_t>(kMaxSessions);
  std::vector<relay::JoinSecret> join_secrets = std::vector<relay::JoinSecret>(kMaxSessions);

  // --- The media thread's own ---
  std::vector<Command> applying;
  std::vector<std::unique_ptr<Session>> sessions;
  std::vector<int64_t> slot_session;         // the slot's session, -1 when none
  std::vector<std::vector<uint32_t>> rooms;  // sessions present (not left), by room
  std::vector<uint32_t> handshaking;
  size_t cursor = 0;
  uint64_t live = 0;
  uint64_t acked = 0;

  relay_load::PktinfoSendBatch send;
  relay_load::PktinfoReceiveBatch receive;

  relay_load::LatencyHistogram latency;
  uint64_t sent = 0;
  uint64_t send_refused = 0;
  uint64_t send_skipped = 0;
  uint64_t received_rtp = 0;
  uint64_t out_of_window = 0;
  uint64_t misrouted = 0;
  uint64_t rtcp_received = 0;
  uint64_t hellos_sent = 0;
  uint64_t acks = 0;
  uint64_t challenges = 0;
  uint64_t hello_failures = 0;
  uint64_t stray = 0;
  uint64_t drops_at_start = 0;
  int64_t send_late_max_ns = 0;

  std::atomic<uint64_t> published_live{0};
  std::atomic<uint64_t> published_acked{0};
  std::atomic<uint64_t> published_sent{0};
  std::atomic<uint64_t> published_received{0};

  std::atomic<bool> stop{false};
  std::thread thread;
};

Result<std::unique_ptr<MediaLoad>> MediaLoad::Create(const MediaLoadConfig& config) {
  if (config.payload_bytes < kMinPayloadBytes || config.payload_bytes > 1400) {
    throw std::invalid_argument(fmt::format("MediaLoad: payload_bytes {} outside {}..1400",
                                            config.payload_bytes, kMinPayloadBytes));
  }
  if (config.slots == 0 || !(config.rate_pps > 0)) {
    throw std::invalid_argument("MediaLoad: slots and rate_pps must be > 0");
  }
  Result<int> fd = relay_load::OpenPktinfoSocket(config.socket_buffer_bytes);
  if (!fd) return Error{fmt::format("media: {}", fd.error().message)};
  return std::unique_ptr<MediaLoad>(new MediaLoad(std::make_unique<Impl>(config, *fd)));
}

MediaLoad::MediaLoad(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

MediaLoad::~MediaLoad() { Stop(); }

void MediaLoad::Start() {
  impl_->drops_at_start = impl_->SocketDrops();
  impl_->thread = std::thread([this] { impl_->Run(); });
}

void MediaLoad::Stop() {
  impl_->stop.store(true, std::memory_order_release);
  if (impl_->thread.joinable()) impl_->thread.join();
}

uint32_t MediaLoad::AddSession(size_t slot, size_t room) {
  if (slot >= impl_->config.slots) throw std::out_of_range("MediaLoad: slot out of range");
  // Ids are taken and queued under one lock: the media thread adds sessions in id order.
  std::lock_guard lock(impl_->commands_mutex);
  const uint32_t id = impl_->next_session++;
  if (id >= kMaxSessions) throw std::length_error("MediaLoad: out of session addresses");
  impl_->commands.push_back(Command{CommandType::kAdd, id, slot, room});
  impl_->commands_pending.store(true, std::memory_order_release);
  return id;
}

void MediaLoad::Joined(uint32_t session, uint32_t participant_id, const relay::JoinSecret& secret,
                       const net::SocketAddress& media) {
  Command c{CommandType::kJoined, session};
  c.participant_id = participant_id;
  c.secret = secret;
  std::memcpy(&c.media, media.sockaddr_ptr(), sizeof(c.media));
  {
    // Under the queue's lock, so the media thread (which takes it before applying) sees
    // them.
    std::lock_guard lock(impl_->commands_mutex);
    impl_->join_ids[session] = participant_id;
    impl_->join_secrets[session] = secret;
  }
  impl_->Push(c);
}

void MediaLoad::Down(uint32_t session) { impl_->Push(Command{CommandType::kDown, session}); }

void MediaLoad::Leave(uint32_t session) { impl_->Push(Command{CommandType::kLeave, session}); }

void MediaLoad::CloseAllWindows() { impl_->Push(Command{CommandType::kCloseAll}); }

MediaCounters MediaLoad::counters() const {
  return {impl_->published_live.load(), impl_->published_acked.load(), impl_->published_sent.load(),
          impl_->published_received.load()};
}

MediaReport MediaLoad::Finish(uint64_t min_expected) const {
  const Impl& g = *impl_;
  MediaReport out;
  std::vector<double> shares;
  for (const auto& session : g.sessions) {
    for (const Stream& stream : session->streams) {
      const uint64_t expected = stream.expected;
      const uint64_t delivered = std::min(stream.received, expected);
      out.streams.expected += expected;
      out.streams.delivered += delivered;
      if (expected < min_expected || expected == 0) {
        ++out.streams.streams_short;
        continue;
      }
      shares.push_back(static_cast<double>(delivered) / static_cast<double>(expected));
    }
  }
  std::sort(shares.begin(), shares.end());
  out.streams.streams = shares.size();
  if (!shares.empty()) {
    out.streams.min = shares.front();
    out.streams.p1 = shares[shares.size() / 100];
    out.streams.p50 = shares[shares.size() / 2];
    const auto under = std::lower_bound(shares.begin(), shares.end(), 0.99) - shares.begin();
    out.streams.share_under_99 = static_cast<double>(under) / static_cast<double>(shares.size());
  }
  out.sessions = g.sessions.size();
  out.sent = g.sent;
  out.send_refused = g.send_refused;
  out.send_skipped = g.send_skipped;
  out.received_rtp = g.received_rtp;
  out.out_of_window = g.out_of_window;
  out.misrouted = g.misrouted;
  out.rtcp_received = g.rtcp_received;
  out.hellos_sent = g.hellos_sent;
  out.acks = g.acks;
  out.challenges = g.challenges;
  out.hello_failures = g.hello_failures;
  out.stray = g.stray;
  out.socket_drops = g.SocketDrops() - g.drops_at_start;
  out.latency_p50_us = g.latency.PercentileUs(0.50);
  out.latency_p99_us = g.latency.PercentileUs(0.99);
  out.latency_max_us = g.latency.max_us();
  out.send_late_max_us = g.send_late_max_ns / 1000;
  return out;
}

}  // namespace parley::soak
