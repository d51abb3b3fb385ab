#include "parley/relay/media_loop.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <new>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "parley/net/poller.h"
#include "parley/net/socket_error.h"
#include "parley/rtp/big_endian.h"
#include "parley/testing/socket_faults.h"

// Counting operator new, to show that the media loop allocates nothing per datagram.
// It replaces the global one for the whole test binary (forwarding to malloc, as
// libstdc++'s does), counting only on a thread that asked. Sanitizer builds keep their
// own allocator, and the allocation test is skipped there.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define PARLEY_RELAY_COUNTS_NEW 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define PARLEY_RELAY_COUNTS_NEW 0
#endif
#endif
#ifndef PARLEY_RELAY_COUNTS_NEW
#define PARLEY_RELAY_COUNTS_NEW 1
#endif

namespace {
thread_local bool t_count_new = false;
thread_local size_t t_new_calls = 0;
}  // namespace

#if PARLEY_RELAY_COUNTS_NEW
// Out of line, so that the compiler does not pair this malloc with a delete's free at
// call sites (-Wmismatched-new-delete) as if they were the built-in operators.
__attribute__((noinline)) void* operator new(std::size_t size) {
  if (t_count_new) ++t_new_calls;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
__attribute__((noinline)) void operator delete(void* p) noexcept { std::free(p); }
__attribute__((noinline)) void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#endif

namespace parley::relay {
namespace {

using net::SocketAddress;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

// Every wait is a poll with a timeout; this only bounds a broken test.
constexpr milliseconds kDeadline{5000};
constexpr uint32_t kRoom = 1;
constexpr uint32_t kOtherRoom = 2;

JoinSecret Secret(uint32_t seed) {
  JoinSecret secret{};
  for (size_t i = 0; i < secret.size(); ++i) secret[i] = static_cast<uint8_t>(seed * 13 + i * 7);
  return secret;
}

net::UdpSocket BindLoopback() {
  auto socket = net::UdpSocket::Bind(SocketAddress::Loopback(false, 0));
  if (!socket) throw std::runtime_error(socket.error().message);
  return std::move(socket).value();
}

using Bytes = std::vector<uint8_t>;

// RTP with version 2, PT 111, the sender's SSRC, and a payload that names the sender
// and a sequence number, so any mix-up or damage shows.
Bytes Rtp(uint32_t ssrc, uint16_t seq, size_t payload_bytes = 60) {
  Bytes packet(12 + payload_bytes);
  packet[0] = 0x80;
  packet[1] = 111;
  rtp::WriteBe16(packet.data() + 2, seq);
  rtp::WriteBe32(packet.data() + 4, seq * 960u);
  rtp::WriteBe32(packet.data() + 8, ssrc);
  for (size_t i = 12; i < packet.size(); ++i) packet[i] = static_cast<uint8_t>(ssrc * 3 + seq + i);
  return packet;
}

// A participant's endpoint: its socket and what it has received.
struct Client {
  Client(uint32_t id_, uint32_t room_) : id(id_), room(room_), ssrc(0x5000 + id_) {}

  Bytes HelloBytes(const JoinSecret& with) const {
    const auto bytes = SerializeHello(Hello{HelloType::kHello, id, with});
    return {bytes.begin(), bytes.end()};
  }
  // The hello-with-cookie answering the challenge `challenge` (a datagram received).
  Bytes CookieHelloBytes(const JoinSecret& with, const Bytes& challenge) const {
    Hello parsed;
    EXPECT_EQ(DecodeHello(challenge, parsed), HelloFault::kNone);
    EXPECT_EQ(parsed.type, HelloType::kChallenge);
    const auto bytes =
        SerializeHelloWithCookie(Hello{HelloType::kHelloWithCookie, id, with, parsed.cookie});
    return {bytes.begin(), bytes.end()};
  }
  void Send(const Bytes& datagram, const SocketAddress& to) {
    ASSERT_TRUE(socket.SendTo(datagram, to));
  }
  // Reads everything waiting, without blocking.
  void Drain() {
    std::array<uint8_t, 2048> buffer{};
    for (;;) {
      auto datagram = socket.ReceiveFrom(buffer);
      if (!datagram || !*datagram) return;
      received.emplace_back(buffer.begin(), buffer.begin() + (*datagram)->size);
    }
  }

  uint32_t id;
  uint32_t room;
  uint32_t ssrc;
  net::UdpSocket socket = BindLoopback();
  std::vector<Bytes> received;
};

// Turns the loop on this thread and drains the clients until `done` or the deadline.
bool PumpUntil(MediaLoop& loop, std::vector<Client*> clients, const std::function<bool()>& done) {
  const auto deadline = steady_clock::now() + kDeadline;
  for (;;) {
    for (Client* c : clients) c->Drain();
    if (done()) return true;
    if (steady_clock::now() > deadline) return false;
    EXPECT_TRUE(loop.RunOnce(milliseconds(1)));
  }
}

// The loop's clock in these tests: it stands still unless a test moves it, so the
// router's RTCP reports (the first one 0.25..0.75 s after a join on this clock, then
// about every second) reach the clients only when a test lets them, however long the
// machine takes to run it. Real time drives only the waits for datagrams.
const Clock& StillClock() {
  static const SimulatedClock clock;
  return clock;
}

std::unique_ptr<MediaLoop> StartLoop(MediaRouter& router, const MediaLoopConfig& config = {},
                                     const Clock& clock = StillClock()) {
  auto loop = MediaLoop::Create(SocketAddress::Loopback(false, 0), router, config, clock);
  if (!loop) throw std::runtime_error(loop.error().message);
  return std::move(loop).value();
}

void AddAll(MediaRouter& router, const std::vector<Client*>& clients) {
  for (Client* c : clients) {
    ASSERT_TRUE(router.AddParticipant(c->room, c->id, c->ssrc, Secret(c->id)));
  }
}

// The hello round of every client (hello, challenge, hello-with-cookie), pumped until
// each holds its ack (and only that).
void LatchAll(MediaLoop& loop, const std::vector<Client*>& clients) {
  const auto each_received_one = [&] {
    return std::all_of(clients.begin(), clients.end(),
                       [](Client* c) { return !c->received.empty(); });
  };
  for (Client* c : clients) c->Send(c->HelloBytes(Secret(c->id)), loop.local_address());
  ASSERT_TRUE(PumpUntil(loop, clients, each_received_one));
  for (Client* c : clients) {
    ASSERT_EQ(c->received.size(), 1u) << "client " << c->id;
    c->Send(c->CookieHelloBytes(Secret(c->id), c->received[0]), loop.local_address());
    c->received.clear();
  }
  ASSERT_TRUE(PumpUntil(loop, clients, each_received_one));
  for (Client* c : clients) {
    const auto ack = SerializeHello(Hello{HelloType::kAck, c->id, Secret(c->id)});
    ASSERT_EQ(c->received.size(), 1u) << "client " << c->id;
    EXPECT_EQ(c->received[0], Bytes(ack.begin(), ack.end())) << "client " << c->id;
    c->received.clear();
  }
}

TEST(MediaLoopTest, ThreeParticipantsHearEachOtherAndNothingElseGetsThrough) {
  // Counts every datagram each client gets: the relay's first RTCP report (due a quarter
  // interval after a join at the earliest) must not come while a slow machine runs this.
  MediaRouter router(MediaRouterConfig{.rtcp = {.report_interval = std::chrono::seconds(60)}});
  auto loop = StartLoop(router);
  Client a(1, kRoom), b(2, kRoom), c(3, kRoom), d(4, kOtherRoom);
  const std::vector<Client*> room{&a, &b, &c};
  const std::vector<Client*> everyone{&a, &b, &c, &d};
  AddAll(router, everyone);
  LatchAll(*loop, everyone);

  constexpr uint16_t kPackets = 25;
  for (uint16_t seq = 0; seq < kPackets; ++seq) {
    for (Client* sender : room) sender->Send(Rtp(sender->ssrc, seq), loop->local_address());
  }
  ASSERT_TRUE(PumpUntil(*loop, everyone, [&] {
    return std::all_of(room.begin(), room.end(),
                       [&](Client* x) { return x->received.size() >= 2 * kPackets; });
  }));
  // Each receiver got every packet of the other two, byte-identical, once, and none of
  // its own: identified by (SSRC, sequence number), then compared whole.
  for (Client* receiver : room) {
    std::set<std::pair<uint32_t, uint16_t>> expected;
    for (Client* sender : room) {
      if (sender == receiver) continue;
      for (uint16_t seq = 0; seq < kPackets; ++seq) expected.insert({sender->ssrc, seq});
    }
    std::set<std::pair<uint32_t, uint16_t>> got;
    for (const Bytes& packet : receiver->received) {
      ASSERT_GE(packet.size(), 12u);
      const uint32_t ssrc = rtp::ReadBe32(packet.data() + 8);
      const uint16_t seq = rtp::ReadBe16(packet.data() + 2);
      EXPECT_EQ(packet, Rtp(ssrc, seq)) << "client " << receiver->id;
      got.insert({ssrc, seq});
    }
    EXPECT_EQ(receiver->received.size(), expected.size()) << "client " << receiver->id;
    EXPECT_EQ(got, expected) << "client " << receiver->id;
  }

  // A stranger with A's SSRC, a wrong-secret hello for A, and D alone in its room.
  Client stranger(99, kRoom);
  stranger.Send(Rtp(a.ssrc, 1000), loop->local_address());
  stranger.Send(stranger.HelloBytes(Secret(12345)), loop->local_address());
  Bytes wrong_secret = a.HelloBytes(Secret(12345));
  stranger.Send(wrong_secret, loop->local_address());
  d.Send(Rtp(d.ssrc, 0), loop->local_address());
  const uint64_t before = loop->counters().received;
  for (Client* x : everyone) x->received.clear();
  std::vector<Client*> all_five = everyone;
  all_five.push_back(&stranger);
  ASSERT_TRUE(PumpUntil(*loop, all_five, [&] { return loop->counters().received >= before + 4; }));
  // On loopback a datagram sent is queued at its receiver before the send returns, so
  // whatever the relay sent in answer is already there to drain.
  for (Client* x : all_five) {
    x->Drain();
    EXPECT_TRUE(x->received.empty()) << "client " << x->id << " got " << x->received.size();
  }
  const RouterCounters counters = router.counters();
  EXPECT_EQ(counters.dropped_for(DropReason::kUnknownSource), 1u);
  EXPECT_EQ(counters.dropped_for(DropReason::kUnknownParticipant), 1u);
  EXPECT_EQ(counters.dropped_for(DropReason::kBadSecret), 1u);
  EXPECT_EQ(counters.dropped_for(DropReason::kRoomEmpty), 1u);
  EXPECT_EQ(counters.dropped_total(), 4u);
  EXPECT_EQ(counters.rtp_forwarded, 3u * kPackets);
  EXPECT_EQ(router.latched_address(a.id), a.socket.local_address());

  const MediaLoopCounters loop_counters = loop->counters();
  EXPECT_EQ(loop_counters.sent, counters.copies_out);
  EXPECT_EQ(loop_counters.send_failed, 0u);
  EXPECT_EQ(loop_counters.truncated, 0u);
  EXPECT_EQ(router.participant_counters(b.id)->packets_out, 1 + 2u * kPackets);
}

// The loop on its own thread with Run(), joins posted from this thread while it runs
// (the control side), and a stop that ends it.
TEST(MediaLoopTest, RunsOnItsOwnThreadUntilStopped) {
  MediaRouter router;
  auto loop = StartLoop(router, MediaLoopConfig{.idle_wait = milliseconds(5)});
  std::atomic<bool> stop{false};
  Status result;
  std::thread media([&] { result = loop->Run(stop); });

  Client a(1, kRoom), b(2, kRoom);
  AddAll(router, {&a, &b});
  net::Poller poller;
  poller.Add(a.socket.fd());
  poller.Add(b.socket.fd());
  const auto wait_for = [&](Client& x, size_t count) {
    const auto deadline = steady_clock::now() + kDeadline;
    while (x.received.size() < count && steady_clock::now() < deadline) {
      (void)poller.Wait(milliseconds(10));
      x.Drain();
    }
    return x.received.size() >= count;
  };
  a.Send(a.HelloBytes(Secret(a.id)), loop->local_address());
  b.Send(b.HelloBytes(Secret(b.id)), loop->local_address());
  ASSERT_TRUE(wait_for(a, 1));  // the challenges
  ASSERT_TRUE(wait_for(b, 1));
  a.Send(a.CookieHelloBytes(Secret(a.id), a.received[0]), loop->local_address());
  b.Send(b.CookieHelloBytes(Secret(b.id), b.received[0]), loop->local_address());
  ASSERT_TRUE(wait_for(a, 2));  // the acks
  ASSERT_TRUE(wait_for(b, 2));
  a.Send(Rtp(a.ssrc, 7), loop->local_address());
  ASSERT_TRUE(wait_for(b, 3));
  EXPECT_EQ(b.received[2], Rtp(a.ssrc, 7));

  stop.store(true);
  media.join();
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(router.counters().rtp_forwarded, 1u);
}

TEST(MediaLoopTest, AllocatesNothingPerDatagramAfterWarmUp) {
#if !PARLEY_RELAY_COUNTS_NEW
  GTEST_SKIP() << "operator new is the sanitizer's in this build";
#endif
  // The counter sees an allocation (the volatile pointer keeps it from being elided).
  t_new_calls = 0;
  t_count_new = true;
  void* volatile probe = ::operator new(16);
  t_count_new = false;
  ::operator delete(probe);
  ASSERT_EQ(t_new_calls, 1u);

  MediaRouter router;
  SimulatedClock clock;
  auto loop = StartLoop(router, {}, clock);
  Client a(1, kRoom), b(2, kRoom), c(3, kRoom);
  const std::vector<Client*> room{&a, &b, &c};
  AddAll(router, room);
  LatchAll(*loop, room);

  // Warm-up: the first batch and the first send touch everything once.
  a.Send(Rtp(a.ssrc, 0), loop->local_address());
  ASSERT_TRUE(PumpUntil(*loop, room, [&] { return b.received.size() == 1; }));

  constexpr int kRounds = 100;
  constexpr uint16_t kPerRound = 40;  // more than one send batch of fan-out per round
  size_t datagrams = 0;
  size_t allocations = 0;
  for (int round = 0; round < kRounds; ++round) {
    // 100 ms of the loop's clock per round: 10 s in all, about 10 RTCP reports to each
    // participant, made in the counted region like the forwarding.
    clock.Advance(milliseconds(100));
    for (uint16_t i = 0; i < kPerRound; ++i) {
      Client* sender = room[i % room.size()];
      sender->Send(Rtp(sender->ssrc, static_cast<uint16_t>(round * kPerRound + i)),
                   loop->local_address());
    }
    size_t got = 0;
    while (got < kPerRound) {
      t_new_calls = 0;
      t_count_new = true;
      Result<size_t> once = loop->RunOnce(milliseconds(100));
      t_count_new = false;
      allocations += t_new_calls;
      ASSERT_TRUE(once && *once > 0);
      got += *once;
    }
    datagrams += got;
    for (Client* x : room) x->Drain();
  }
  EXPECT_EQ(datagrams, size_t{kRounds} * kPerRound);
  EXPECT_EQ(allocations, 0u) << "over " << datagrams << " datagrams";
  EXPECT_EQ(loop->counters().send_failed, 0u);
  // 3 challenges and 3 acks, then two copies of each RTP packet (warm-up included), and
  // the RTCP reports (at least 5 each in 10 s at intervals of 0.5..1.5 s).
  const RouterCounters counters = router.counters();
  EXPECT_GE(counters.rtcp_reports_sent, 3u * 5u);
  EXPECT_EQ(counters.copies_out - counters.rtcp_reports_sent, 6u + 2u * (1 + datagrams));
}

// The router's time starts when the loop is made: participants whose joins the first
// batch applies get their first RTCP report a fraction of an interval later (0.25..0.75
// of 1 s), not at once because the clock reads an hour since its epoch.
TEST(MediaLoopTest, JoinsAppliedByTheFirstBatchAreTimedFromNow) {
  SimulatedClock clock;
  clock.Advance(std::chrono::hours(1));
  MediaRouter router;
  auto loop = MediaLoop::Create(SocketAddress::Loopback(false, 0), router, {}, clock).value();
  Client a(1, kRoom), b(2, kRoom);
  AddAll(router, {&a, &b});
  LatchAll(*loop, {&a, &b});
  clock.Advance(milliseconds(200));
  ASSERT_TRUE(loop->RunOnce(milliseconds(0)));
  EXPECT_EQ(router.counters().rtcp_reports_sent, 0u);
  clock.Advance(milliseconds(600));
  ASSERT_TRUE(loop->RunOnce(milliseconds(0)));
  EXPECT_EQ(router.counters().rtcp_reports_sent, 2u);
}

TEST(MediaLoopTest, DropsTruncatedDatagrams) {
  MediaRouter router;
  auto loop = StartLoop(router, MediaLoopConfig{.max_datagram_bytes = 64});
  Client a(1, kRoom), b(2, kRoom);
  AddAll(router, {&a, &b});
  LatchAll(*loop, {&a, &b});
  a.Send(Rtp(a.ssrc, 1, 100), loop->local_address());  // 112 bytes > 64
  a.Send(Rtp(a.ssrc, 2, 40), loop->local_address());   // 52 bytes: fits
  // 4 hellos (2 each: hello, hello-with-cookie), then the 2 RTP packets.
  ASSERT_TRUE(PumpUntil(*loop, {&a, &b}, [&] { return loop->counters().received >= 6; }));
  b.Drain();
  ASSERT_EQ(b.received.size(), 1u);
  EXPECT_EQ(b.received[0], Rtp(a.ssrc, 2, 40));
  EXPECT_EQ(loop->counters().truncated, 1u);
  // Bytes as read: hellos of 24 and 40 bytes from each client, the cut datagram's 64
  // kept bytes and the 52 of the other.
  EXPECT_EQ(loop->counters().bytes_received, 2u * (24 + 40) + 64 + 52);
}

TEST(MediaLoopTest, IdleRunOnceReturnsZeroAfterItsTimeout) {
  MediaRouter router;
  auto loop = StartLoop(router);
  Result<size_t> once = loop->RunOnce(milliseconds(1));
  ASSERT_TRUE(once);
  EXPECT_EQ(*once, 0u);
  Result<size_t> no_wait = loop->RunOnce(milliseconds(0));
  ASSERT_TRUE(no_wait);
  EXPECT_EQ(*no_wait, 0u);
}

TEST(MediaLoopTest, CreateReportsATakenPortAndRefusesABadConfig) {
  MediaRouter router;
  auto first = StartLoop(router);
  auto second = MediaLoop::Create(first->local_address(), router);
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find("relay media port: bind 127.0.0.1:"), std::string::npos)
      << second.error().message;
  EXPECT_THROW((void)MediaLoop::Create(SocketAddress::Loopback(false, 0), router,
                                       MediaLoopConfig{.max_datagram_bytes = 10}),
               std::invalid_argument);
  EXPECT_THROW((void)MediaLoop::Create(SocketAddress::Loopback(false, 0), router,
                                       MediaLoopConfig{.idle_wait = milliseconds(0)}),
               std::invalid_argument);
}

// ---- Socket errors, injected -----------------------------------------------------------

// The listener's reports, kept. Reserved ahead: recording one allocates nothing, so the
// allocation count below sees the loop alone.
class ReportLog : public MediaLoopListener {
 public:
  ReportLog() { reports.reserve(1000); }
  void OnSocketError(const SocketErrorReport& report) override { reports.push_back(report); }
  size_t CountFor(net::SocketOp op, int error_number) const {
    return static_cast<size_t>(std::count_if(reports.begin(), reports.end(), [&](const auto& r) {
      return r.op == op && r.error_number == error_number;
    }));
  }
  std::vector<SocketErrorReport> reports;
};

// A loop on a simulated clock whose socket fails as `faults` says, with two latched
// participants a and b of one room.
class MediaLoopFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MediaLoopConfig config;
    config.socket.system_calls = &faults;
    loop = MediaLoop::Create(SocketAddress::Loopback(false, 0), router, config, clock).value();
    loop->SetListener(&log);
    AddAll(router, {&a, &b});
    LatchAll(*loop, {&a, &b});
  }
  // a sends one RTP packet; true once b has it (the loop forwards), whatever else b got
  // (the relay's RTCP reports, once the clock has moved).
  bool Forwards(uint16_t seq) {
    const Bytes packet = Rtp(a.ssrc, seq);
    a.Send(packet, loop->local_address());
    const bool got = PumpUntil(*loop, {&a, &b}, [&] {
      return std::find(b.received.begin(), b.received.end(), packet) != b.received.end();
    });
    b.received.clear();
    return got;
  }

  testing::SocketFaults faults;
  SimulatedClock clock;
  MediaRouter router;
  std::unique_ptr<MediaLoop> loop;
  ReportLog log;
  Client a{1, kRoom}, b{2, kRoom};
};

TEST_F(MediaLoopFaultTest, TransientReceiveErrorsAreCountedByErrnoAndForwardingGoesOn) {
  constexpr size_t kBurst = 20;
  const std::vector<int> transient = {EINTR,        ENOBUFS,     ENOMEM,   ECONNREFUSED,
                                      EHOSTUNREACH, ENETUNREACH, EMSGSIZE, EPERM,
                                      ECONNRESET,   EPROTO,      EIO,      ENETDOWN};
  uint16_t seq = 0;
  for (int error_number : transient) {
    SCOPED_TRACE(net::ErrnoName(error_number));
    faults.FailReceives(error_number, kBurst);
    for (size_t i = 0; i < kBurst; ++i) {
      Result<size_t> once = loop->RunOnce(milliseconds(0));
      ASSERT_TRUE(once) << once.error().message;
      EXPECT_EQ(*once, 0u);
    }
    EXPECT_EQ(faults.pending(), 0u);
    EXPECT_TRUE(Forwards(seq++));
    EXPECT_EQ(loop->counters().socket_errors_for(net::SocketOp::kReceive, error_number), kBurst);
    // One report for the burst: the first error, at once.
    ASSERT_EQ(log.CountFor(net::SocketOp::kReceive, error_number), 1u);
    EXPECT_EQ(log.reports.back().unreported, 0u);
    EXPECT_EQ(log.reports.back().total, 1u);
  }
  EXPECT_EQ(log.reports.size(), transient.size());
  EXPECT_EQ(router.counters().rtp_forwarded, transient.size());

  // A quarter of the interval later: counted, not reported. A whole interval after the
  // first report: one report carries what was not reported.
  clock.Advance(milliseconds(2'500));
  faults.FailReceives(ENOBUFS, kBurst);
  for (size_t i = 0; i < kBurst; ++i) ASSERT_TRUE(loop->RunOnce(milliseconds(0)));
  EXPECT_EQ(log.CountFor(net::SocketOp::kReceive, ENOBUFS), 1u);
  clock.Advance(MediaLoopConfig{}.error_report_interval);
  faults.FailReceives(ENOBUFS, 1);
  ASSERT_TRUE(loop->RunOnce(milliseconds(0)));
  ASSERT_EQ(log.CountFor(net::SocketOp::kReceive, ENOBUFS), 2u);
  EXPECT_EQ(log.reports.back().unreported, 2 * kBurst - 1);
  EXPECT_EQ(log.reports.back().total, 2 * kBurst + 1);
  EXPECT_TRUE(Forwards(seq++));
}

TEST_F(MediaLoopFaultTest, ALoopThatWaitsRidesOutAFailedReceive) {
  // With a timeout, a failed receive is followed by the wait (not a spin), and the
  // datagram that was waiting all along is read as soon as the error has passed.
  a.Send(Rtp(a.ssrc, 1), loop->local_address());
  faults.FailReceives(ENOMEM, 1);
  const auto deadline = steady_clock::now() + kDeadline;
  while (b.received.empty() && steady_clock::now() < deadline) {
    ASSERT_TRUE(loop->RunOnce(milliseconds(1)));
    b.Drain();
  }
  ASSERT_EQ(b.received.size(), 1u);
  EXPECT_EQ(b.received[0], Rtp(a.ssrc, 1));
  EXPECT_EQ(loop->counters().socket_errors_for(net::SocketOp::kReceive, ENOMEM), 1u);
}

TEST_F(MediaLoopFaultTest, SendErrorsAreCountedByErrnoAndDropOnlyTheirDatagram) {
  const std::vector<int> transient = {EAGAIN, ENOBUFS, EHOSTUNREACH, ENETUNREACH, EPERM,
                                      EACCES, EINVAL,  EMSGSIZE,     ECONNREFUSED};
  uint16_t seq = 0;
  for (int error_number : transient) {
    SCOPED_TRACE(net::ErrnoName(error_number));
    const uint64_t failed_before = loop->counters().send_failed;
    faults.FailSends(error_number, 1);
    a.Send(Rtp(a.ssrc, seq++), loop->local_address());
    ASSERT_TRUE(PumpUntil(*loop, {&a, &b}, [&] { return faults.pending() == 0; }));
    EXPECT_EQ(loop->counters().send_failed, failed_before + 1);
    EXPECT_EQ(loop->counters().socket_errors_for(net::SocketOp::kSend, error_number), 1u);
    EXPECT_EQ(log.CountFor(net::SocketOp::kSend, error_number), 1u);
    b.received.clear();
    EXPECT_TRUE(Forwards(seq++));
  }
  EXPECT_EQ(faults.sends_failed(), transient.size());
}

TEST_F(MediaLoopFaultTest, TransientErrorsAllocateNothing) {
#if !PARLEY_RELAY_COUNTS_NEW
  GTEST_SKIP() << "operator new is the sanitizer's in this build";
#endif
  ASSERT_TRUE(Forwards(0));  // warm-up
  size_t allocations = 0;
  for (int round = 0; round < 50; ++round) {
    faults.FailReceives(round % 2 == 0 ? ENOBUFS : ECONNREFUSED, 3);
    faults.FailSends(ENOBUFS, 1);
    a.Send(Rtp(a.ssrc, static_cast<uint16_t>(round + 1)), loop->local_address());
    for (int i = 0; i < 5; ++i) {
      t_new_calls = 0;
      t_count_new = true;
      Result<size_t> once = loop->RunOnce(milliseconds(0));
      t_count_new = false;
      allocations += t_new_calls;
      ASSERT_TRUE(once);
    }
    clock.Advance(milliseconds(500));  // two reports per errno over the run
    b.Drain();
  }
  EXPECT_EQ(allocations, 0u);
  EXPECT_EQ(faults.pending(), 0u);
  EXPECT_EQ(loop->counters().socket_errors_for(net::SocketOp::kReceive, ENOBUFS), 75u);
  EXPECT_EQ(loop->counters().socket_errors_for(net::SocketOp::kSend, ENOBUFS), 50u);
  EXPECT_EQ(log.CountFor(net::SocketOp::kReceive, ENOBUFS), 3u);  // at 0, 10 and 20 s
}

TEST_F(MediaLoopFaultTest, AClosedSocketEndsTheLoopWithItsError) {
  for (int error_number : {EBADF, ENOTSOCK}) {
    SCOPED_TRACE(net::ErrnoName(error_number));
    SimulatedClock own_clock;
    MediaRouter own_router;
    MediaLoopConfig config;
    config.socket.system_calls = &faults;
    config.idle_wait = milliseconds(1);
    auto failing =
        MediaLoop::Create(SocketAddress::Loopback(false, 0), own_router, config, own_clock).value();
    failing->SetListener(&log);
    faults.FailReceives(error_number, 1);
    std::atomic<bool> stop{false};
    const Status run = failing->Run(stop);  // returns by itself: nothing sets `stop`
    ASSERT_FALSE(run);
    EXPECT_NE(run.error().message.find("media socket: recvmmsg on 127.0.0.1:"), std::string::npos)
        << run.error().message;
    EXPECT_NE(run.error().message.find(std::string("(") +
                                       std::string(net::ErrnoName(error_number)) + ")"),
              std::string::npos)
        << run.error().message;
    EXPECT_EQ(failing->counters().socket_errors_for(net::SocketOp::kReceive, error_number), 1u);
    EXPECT_EQ(log.CountFor(net::SocketOp::kReceive, error_number), 0u) << "fatal: not a report";
    // Ended for good: RunOnce keeps saying so, and makes no more system calls.
    EXPECT_FALSE(failing->RunOnce(milliseconds(0)));
    EXPECT_EQ(faults.receives_failed(), error_number == EBADF ? 1u : 2u);
  }
}

TEST_F(MediaLoopFaultTest, ASendOnAClosedSocketEndsTheLoop) {
  faults.FailSends(EBADF, 1);
  a.Send(Rtp(a.ssrc, 1), loop->local_address());
  const auto deadline = steady_clock::now() + kDeadline;
  Result<size_t> once = size_t{0};
  while (once && steady_clock::now() < deadline) once = loop->RunOnce(milliseconds(1));
  ASSERT_FALSE(once);
  EXPECT_NE(once.error().message.find("sendmmsg from 127.0.0.1:"), std::string::npos)
      << once.error().message;
  EXPECT_NE(once.error().message.find("(EBADF)"), std::string::npos) << once.error().message;
  EXPECT_EQ(loop->counters().socket_errors_for(net::SocketOp::kSend, EBADF), 1u);
}

TEST(MediaLoopConfigTest, RefusesAZeroErrorReportInterval) {
  MediaRouter router;
  EXPECT_THROW((void)MediaLoop::Create(SocketAddress::Loopback(false, 0), router,
                                       MediaLoopConfig{.error_report_interval = milliseconds(0)}),
               std::invalid_argument);
}

}  // namespace
}  // namespace parley::relay
