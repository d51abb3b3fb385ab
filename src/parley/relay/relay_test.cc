// End-to-end tests of the relay on loopback: WebSocket clients (a small Beast client
// below, the test binary's one WebSocket translation unit), UDP media clients, and the
// metrics endpoint. Every wait has a deadline (kDeadline); nothing sleeps.
#include "parley/relay/relay.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "parley/audio/audio_file.h"
#include "parley/client/call.h"
#include "parley/container/ogg_opus_reader.h"
#include "parley/net/poller.h"
#include "parley/relay/hello.h"
#include "parley/relay/test_http_client.h"
#include "parley/session/signaling.h"
#include "parley/session/token.h"
#include "parley/testing/signals.h"
#include "parley/testing/socket_faults.h"
#include "parley/testing/speech.h"

namespace parley::relay {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using session::ErrorCode;

// Bounds every wait; the tests finish in milliseconds when the relay works.
constexpr std::chrono::seconds kDeadline{5};
const std::string kSecret = "relay-test-secret-0123456789abcdef-0123456789";
const std::string kOtherSecret = "another-secret-that-did-not-sign-0123456789abc";

int64_t NowUnixS() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Token(const std::string& room, const std::string& identity, int64_t ttl_s = 3600,
                  const std::string& secret = kSecret,
                  session::Rights rights = session::Rights::kPublish |
                                           session::Rights::kSubscribe) {
  return session::MintToken(
      {.room = room, .identity = identity, .expires_unix_s = NowUnixS() + ttl_s, .rights = rights},
      secret);
}

std::string JoinText(const std::string& room, const std::string& token, uint32_t ssrc,
                     const std::string& identity = "") {
  session::Join join;
  join.room = room;
  join.token = token;
  join.identity = identity;
  join.ssrc = ssrc;
  join.capabilities.codecs = {
      {.name = "opus", .clock_rate_hz = 48000, .channels = 2, .payload_type = 111}};
  return session::Serialize(session::ClientMessage{join});
}

session::RelayConfig TestConfig() {
  session::RelayConfig config;
  config.token_secret = kSecret;
  config.listen_signaling = "127.0.0.1:0";
  config.listen_media = "127.0.0.1:0";
  config.metrics_listen = "127.0.0.1:0";
  return config;
}

// Log lines, kept for assertions.
class LogCapture {
 public:
  Logger& logger() { return logger_; }
  // The parsed lines whose event is `event`.
  std::vector<nlohmann::json> Events(std::string_view event) {
    std::lock_guard lock(mutex_);
    std::vector<nlohmann::json> found;
    for (const std::string& line : lines_) {
      nlohmann::json parsed = nlohmann::json::parse(line);
      if (parsed["event"] == event) found.push_back(std::move(parsed));
    }
    return found;
  }
  std::vector<std::string> lines() {
    std::lock_guard lock(mutex_);
    return lines_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> lines_;
  Logger logger_{LogLevel::kDebug, [this](std::string_view line) {
                   std::lock_guard lock(mutex_);
                   lines_.emplace_back(line);
                 }};
};

// ---- A WebSocket client: ws:// over beast::tcp_stream, wss:// over ssl_stream ------------

template <typename NextLayer>
class WsClient {
 public:
  static constexpr bool kTls = !std::is_same_v<NextLayer, beast::tcp_stream>;

  // Connected and upgraded, or the error of the step that failed.
  template <typename... StreamArgs>
  explicit WsClient(const net::SocketAddress& address, StreamArgs&... stream_args)
      : ws_(ioc_, stream_args...) {
    tcp::endpoint endpoint;
    std::memcpy(endpoint.data(), address.sockaddr_ptr(), address.sockaddr_length());
    endpoint.resize(address.sockaddr_length());
    error_ =
        Await([&](auto handler) { beast::get_lowest_layer(ws_).async_connect(endpoint, handler); });
    if (error_) return;
    if constexpr (kTls) {
      error_ = Await([&](auto handler) {
        ws_.next_layer().async_handshake(ssl::stream_base::client, handler);
      });
      if (error_) return;
    }
    error_ = Await([&](auto handler) { ws_.async_handshake(address.ToString(), "/", handler); });
  }

  // The error of the last failed step (connection, handshake, read); empty when open.
  const beast::error_code& error() const { return error_; }
  bool open() const { return !error_; }

  void Send(std::string_view text) {
    ws_.text(true);
    error_ = Await([&](auto handler) { ws_.async_write(asio::buffer(text), handler); });
  }
  void SendBinary(std::string_view bytes) {
    ws_.binary(true);
    error_ = Await([&](auto handler) { ws_.async_write(asio::buffer(bytes), handler); });
  }

  // The next text message; nullopt when the connection closed, failed or stayed silent
  // for kDeadline.
  std::optional<std::string> Receive() {
    buffer_.clear();
    error_ = Await([&](auto handler) { ws_.async_read(buffer_, handler); });
    if (error_) return std::nullopt;
    return beast::buffers_to_string(buffer_.cdata());
  }

  // The next message, parsed; a test failure (and an internal error) if none comes.
  session::RelayMessage ReceiveMessage() {
    std::optional<std::string> text = Receive();
    if (!text) {
      ADD_FAILURE() << "no message: " << error_.message();
      return session::ErrorMessage{ErrorCode::kInternal, "no message"};
    }
    Result<session::RelayMessage> message = session::ParseRelayMessage(*text);
    if (!message) {
      ADD_FAILURE() << "unparsable: " << *text << ": " << message.error().message;
      return session::ErrorMessage{ErrorCode::kInternal, "unparsable"};
    }
    return *message;
  }

  template <typename Message>
  Message Expect() {
    session::RelayMessage message = ReceiveMessage();
    if (auto* wanted = std::get_if<Message>(&message)) return *wanted;
    ADD_FAILURE() << "got another message: " << session::Serialize(message);
    return Message{};
  }

  // Reads until the relay closes the WebSocket; its close code (0 when it was not a clean
  // close within kDeadline).
  uint16_t WaitClosed() {
    while (Receive()) {
    }
    return error_ == websocket::error::closed ? static_cast<uint16_t>(ws_.reason().code) : 0;
  }

  void Close() {
    error_ = Await([&](auto handler) { ws_.async_close(websocket::close_code::normal, handler); });
  }
  // Drops the TCP connection without a close frame, as a crashed client would.
  void Abort() { beast::get_lowest_layer(ws_).close(); }

 private:
  // Starts `start(handler)` and runs the io_context until the handler ran or kDeadline
  // passed (the connection is then cut, and the error is timed_out).
  template <typename Start>
  beast::error_code Await(Start&& start) {
    std::optional<beast::error_code> result;
    start([&result](const beast::error_code& error, auto&&...) { result = error; });
    ioc_.restart();
    const auto deadline = std::chrono::steady_clock::now() + kDeadline;
    while (!result && ioc_.run_one_until(deadline) > 0) {
    }
    if (result) return *result;
    beast::get_lowest_layer(ws_).close();
    ioc_.restart();
    ioc_.run_for(std::chrono::seconds(1));
    return asio::error::timed_out;
  }

  asio::io_context ioc_;
  websocket::stream<NextLayer> ws_;
  beast::flat_buffer buffer_;
  beast::error_code error_;
};

using PlainClient = WsClient<beast::tcp_stream>;
using TlsClient = WsClient<beast::ssl_stream<beast::tcp_stream>>;

// ---- A UDP media client ---------------------------------------------------------------------

using Bytes = std::vector<uint8_t>;

Bytes Rtp(uint32_t ssrc, uint16_t sequence, uint8_t fill, size_t payload_bytes = 40) {
  Bytes packet(12 + payload_bytes, fill);
  packet[0] = 0x80;
  packet[1] = 111;
  packet[2] = static_cast<uint8_t>(sequence >> 8);
  packet[3] = static_cast<uint8_t>(sequence);
  for (int i = 0; i < 4; ++i) packet[4 + i] = 0;
  for (int i = 0; i < 4; ++i) packet[8 + i] = static_cast<uint8_t>(ssrc >> (24 - 8 * i));
  return packet;
}

class MediaClient {
 public:
  MediaClient() {
    auto bound = net::UdpSocket::Bind(net::SocketAddress::Loopback(false, 0));
    if (!bound) throw std::runtime_error(bound.error().message);
    socket_ = std::move(bound).value();
    poller_.Add(socket_.fd());
  }

  void SendTo(const Bytes& payload, const net::SocketAddress& to) {
    ASSERT_TRUE(socket_.SendTo(payload, to));
  }

  // The next datagram within kDeadline, RTCP excepted. The relay reports to a latched
  // participant on its own schedule (the first report 0.25..0.75 s after the join, then
  // about every second), so a test slowed down by a busy machine sees reports between
  // the datagrams it waits for; they are counted (rtcp_received) and passed over.
  std::optional<Bytes> Receive() {
    const auto deadline = std::chrono::steady_clock::now() + kDeadline;
    for (;;) {
      std::optional<Bytes> got = ReceiveWaiting();
      if (got) return got;
      const auto left = deadline - std::chrono::steady_clock::now();
      if (left <= std::chrono::nanoseconds::zero()) return std::nullopt;
      if (!poller_.Wait(left)) return std::nullopt;
    }
  }

  // The next datagram within kDeadline that is not the relay's RTCP (its reports come
  // about every second from a quarter second after the join, whenever a test is slow).
  std::optional<Bytes> ReceiveRtp() {
    for (;;) {
      std::optional<Bytes> got = Receive();
      const bool rtcp = got && got->size() > 1 && (*got)[1] >= 200 && (*got)[1] <= 204;
      if (!rtcp) return got;
    }
  }

  // Reads what is waiting without blocking: the relay's RTCP reports are counted, the
  // first other datagram is returned.
  std::optional<Bytes> ReceiveWaiting() {
    for (;;) {
      Bytes buffer(2048);
      auto got = socket_.ReceiveFrom(buffer);
      if (!got || !*got) return std::nullopt;
      buffer.resize((*got)->size);
      // RTCP: version 2, packet type 200..204 (RFC 5761 §4); RTP here is PT 111.
      if (buffer.size() >= 8 && buffer[1] >= 200 && buffer[1] <= 204) {
        ++rtcp_received_;
        rtcp_bytes_received_ += buffer.size();
        continue;
      }
      return buffer;
    }
  }

  // The relay's RTCP reports received so far, and their bytes.
  uint64_t rtcp_received() const { return rtcp_received_; }
  uint64_t rtcp_bytes_received() const { return rtcp_bytes_received_; }

  // The hello round of `joined`: its hello, the relay's challenge, the hello-with-cookie
  // echoing it, and the ack; true when the ack came back equal.
  bool Latch(const session::Joined& joined) {
    Result<net::SocketAddress> relay = net::SocketAddress::Parse(joined.media.address);
    if (!relay) return false;
    Hello hello{HelloType::kHello, joined.participant_id, joined.media.hello_secret};
    const auto bytes = SerializeHello(hello);
    SendTo(Bytes(bytes.begin(), bytes.end()), *relay);
    ++hellos_sent_;
    std::optional<Bytes> challenge = Receive();
    if (!challenge) return false;
    Result<Hello> challenged = ParseHello(*challenge);
    if (!challenged || challenged->type != HelloType::kChallenge) return false;
    hello.cookie = challenged->cookie;
    const auto with_cookie = SerializeHelloWithCookie(hello);
    SendTo(Bytes(with_cookie.begin(), with_cookie.end()), *relay);
    ++hellos_sent_;
    std::optional<Bytes> ack = Receive();
    if (!ack) return false;
    Result<Hello> parsed = ParseHello(*ack);
    const bool acked = parsed && parsed->type == HelloType::kAck &&
                       parsed->participant_id == joined.participant_id &&
                       parsed->secret == joined.media.hello_secret;
    if (acked) ++latches_;
    return acked;
  }

  // Hello datagrams sent (hellos and hellos-with-cookie), and the latches they made.
  size_t hellos_sent() const { return hellos_sent_; }
  size_t latches() const { return latches_; }

 private:
  net::UdpSocket socket_;
  net::Poller poller_;
  size_t hellos_sent_ = 0;
  size_t latches_ = 0;
  uint64_t rtcp_received_ = 0;
  uint64_t rtcp_bytes_received_ = 0;
};

// ---- Fixture --------------------------------------------------------------------------------

class RelayTest : public ::testing::Test {
 protected:
  void StartRelay(session::RelayConfig config = TestConfig()) {
    relay_ = std::make_unique<Relay>(std::move(config), log_.logger());
    const Status started = relay_->Start();
    ASSERT_TRUE(started) << started.error().message;
  }
  void SetUp() override { StartRelay(); }

  std::unique_ptr<PlainClient> Connect() {
    auto client = std::make_unique<PlainClient>(relay_->signaling_address());
    EXPECT_TRUE(client->open()) << client->error().message();
    return client;
  }

  RelayStats Stats() {
    Result<RelayStats> stats = relay_->stats();
    EXPECT_TRUE(stats) << stats.error().message;
    return stats ? *stats : RelayStats{};
  }

  // The stats once `done(stats)` holds, or when kDeadline has passed: for what the relay
  // counts on another thread after the client has seen the effect.
  template <typename Done>
  RelayStats StatsWhen(Done done) {
    const auto deadline = std::chrono::steady_clock::now() + kDeadline;
    RelayStats stats = Stats();
    while (!done(stats) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
      stats = Stats();
    }
    return stats;
  }

  // A connected client that has joined `room`.
  struct Participant {
    std::unique_ptr<PlainClient> ws;
    session::Joined joined;
    MediaClient media;
    uint32_t ssrc = 0;
  };
  std::unique_ptr<Participant> Join(const std::string& room, const std::string& identity,
                                    uint32_t ssrc) {
    auto participant = std::make_unique<Participant>();
    participant->ssrc = ssrc;
    participant->ws = Connect();
    participant->ws->Send(JoinText(room, Token(room, identity), ssrc));
    participant->joined = participant->ws->Expect<session::Joined>();
    return participant;
  }

  // alice (SSRC 1111) and bob (2222) in room standup, both latched; nullptr for one that
  // could not latch.
  std::pair<std::unique_ptr<Participant>, std::unique_ptr<Participant>> AliceAndBobLatched() {
    auto alice = Join("standup", "alice", 1111);
    auto bob = Join("standup", "bob", 2222);
    alice->ws->Expect<session::PeerJoined>();
    if (!alice->media.Latch(alice->joined)) alice.reset();
    if (!bob->media.Latch(bob->joined)) bob.reset();
    return {std::move(alice), std::move(bob)};
  }

  LogCapture log_;
  std::unique_ptr<Relay> relay_;
};

// ---- Tests ----------------------------------------------------------------------------------

TEST_F(RelayTest, TwoParticipantsJoinLatchAndHearEachOther) {
  const int64_t before_ms = NowUnixMs();
  auto alice = Join("standup", "alice", 1111);
  const int64_t after_ms = NowUnixMs();
  EXPECT_NE(alice->joined.participant_id, 0u);
  EXPECT_EQ(alice->joined.media.address, relay_->media_address().ToString());
  EXPECT_NE(alice->joined.media.hello_secret, session::MediaInfo{}.hello_secret);
  EXPECT_TRUE(alice->joined.peers.empty());
  EXPECT_FALSE(alice->joined.srtp.has_value());
  EXPECT_GE(alice->joined.session_start_unix_ms, before_ms);
  EXPECT_LE(alice->joined.session_start_unix_ms, after_ms);

  auto bob = Join("standup", "bob", 2222);
  EXPECT_NE(bob->joined.participant_id, alice->joined.participant_id);
  EXPECT_NE(bob->joined.media.hello_secret, alice->joined.media.hello_secret);
  EXPECT_EQ(bob->joined.session_start_unix_ms, alice->joined.session_start_unix_ms)
      << "the room's session start, not the join's";
  EXPECT_EQ(bob->joined.peers,
            (std::vector<session::PeerInfo>{{alice->joined.participant_id, "alice", 1111}}));
  const auto noticed = alice->ws->Expect<session::PeerJoined>();
  EXPECT_EQ(noticed.peer, (session::PeerInfo{bob->joined.participant_id, "bob", 2222}));

  ASSERT_TRUE(alice->media.Latch(alice->joined));
  ASSERT_TRUE(bob->media.Latch(bob->joined));

  const Bytes from_alice = Rtp(1111, 1, 0xA1);
  const Bytes from_bob = Rtp(2222, 1, 0xB0, 60);
  alice->media.SendTo(from_alice, relay_->media_address());
  EXPECT_EQ(bob->media.ReceiveRtp(), from_alice);
  bob->media.SendTo(from_bob, relay_->media_address());
  EXPECT_EQ(alice->media.ReceiveRtp(), from_bob);

  const RelayStats stats = Stats();
  EXPECT_EQ(stats.signaling.joins, 2u);
  EXPECT_EQ(stats.signaling.rooms, 1u);
  EXPECT_EQ(stats.signaling.participants, 2u);
  EXPECT_EQ(stats.router.hellos_acked, 2u);
  EXPECT_EQ(stats.router.rtp_forwarded, 2u);

  const auto joins = log_.Events("participant_joined");
  ASSERT_EQ(joins.size(), 2u);
  EXPECT_EQ(joins[0]["room"], "standup");
  EXPECT_EQ(joins[0]["identity"], "alice");
  EXPECT_EQ(joins[0]["participant_id"], alice->joined.participant_id);
  EXPECT_EQ(joins[0]["level"], "info");
  for (const std::string& line : log_.lines()) {
    EXPECT_TRUE(nlohmann::json::accept(line)) << line;
  }
}

TEST_F(RelayTest, MetricsAndHealthReportTheTraffic) {
  auto [alice, bob] = AliceAndBobLatched();
  ASSERT_TRUE(alice && bob);
  constexpr int kPackets = 5;
  constexpr size_t kRtpBytes = 12 + 40;
  for (int i = 0; i < kPackets; ++i) {
    alice->media.SendTo(Rtp(1111, static_cast<uint16_t>(i), 0xA1), relay_->media_address());
    ASSERT_TRUE(bob->media.ReceiveRtp());
  }
  // Noise from an address that never latched: dropped, counted by reason.
  MediaClient stranger;
  stranger.SendTo(Rtp(9999, 1, 0), relay_->media_address());
  // One refused token, to see the refusal counters move.
  auto intruder = Connect();
  intruder->Send(JoinText("standup", Token("standup", "mallory", 3600, kOtherSecret), 3333));
  EXPECT_EQ(intruder->Expect<session::ErrorMessage>().code, ErrorCode::kUnauthorized);
  EXPECT_EQ(intruder->WaitClosed(), 1008);

  // The relay counts on its own threads, and reports RTCP to alice and bob on its own
  // schedule (from 0.25..0.75 s after each join): poll the page (bounded) until it shows
  // every datagram of the test counted, the stranger's last, and the reports the clients
  // have received. A report is queued at its client before the relay's send returns and
  // counted after, so page and clients disagree only while a report is on its way; the
  // next look agrees (reports come about once a second).
  // Each hello got one 24-byte answer (a challenge, or the ack of a hello-with-cookie);
  // only the hellos-with-cookie came from a latched address.
  const uint64_t hellos = alice->media.hellos_sent() + bob->media.hellos_sent();
  const uint64_t latches = alice->media.latches() + bob->media.latches();
  const uint64_t expected_received = hellos + kPackets + 1;
  const uint64_t bytes_in = latches * kHelloWithCookieBytes + kPackets * kRtpBytes;
  const auto expected_lines = [&] {
    for (MediaClient* media : {&alice->media, &bob->media}) {
      EXPECT_FALSE(media->ReceiveWaiting()) << "a datagram other than RTCP";
    }
    const uint64_t reports = alice->media.rtcp_received() + bob->media.rtcp_received();
    const uint64_t report_bytes =
        alice->media.rtcp_bytes_received() + bob->media.rtcp_bytes_received();
    return std::vector<std::string>{
        "parley_relay_rooms 1",
        "parley_relay_participants 2",
        "parley_relay_joins_total 2",
        "parley_relay_signaling_errors_total{code=\"unauthorized\"} 1",
        "parley_relay_token_refusals_total{reason=\"forged\"} 1",
        "parley_relay_media_datagrams_received_total " + std::to_string(expected_received),
        "parley_relay_media_hellos_acked_total " + std::to_string(latches),
        "parley_relay_media_rtp_forwarded_total " + std::to_string(kPackets),
        "parley_relay_media_dropped_total{reason=\"unknown_source\"} 1",
        "parley_relay_media_rtcp_reports_sent_total " + std::to_string(reports),
        "parley_relay_media_datagrams_sent_total " + std::to_string(hellos + kPackets + reports),
        "parley_relay_media_bytes_sent_total " +
            std::to_string(hellos * kHelloBytes + kPackets * kRtpBytes + report_bytes),
        "parley_relay_participant_packets_received_total " + std::to_string(latches + kPackets),
        "parley_relay_participant_bytes_received_total " + std::to_string(bytes_in),
    };
  };
  const auto missing_from = [](const std::string& text, const std::vector<std::string>& lines) {
    std::vector<std::string> missing;
    for (const std::string& line : lines) {
      if (text.find("\n" + line + "\n") == std::string::npos) missing.push_back(line);
    }
    return missing;
  };
  testing::HttpReply metrics;
  std::vector<std::string> missing;
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  do {
    metrics = testing::HttpGet(relay_->metrics_address(), "/metrics");
    missing = missing_from(metrics.body, expected_lines());
  } while (!missing.empty() && std::chrono::steady_clock::now() < deadline);
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.head.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  for (const std::string& line : missing) {
    ADD_FAILURE() << "missing: " << line << "\n" << metrics.body;
  }
  RecordProperty("rtcp_reports",
                 std::to_string(alice->media.rtcp_received() + bob->media.rtcp_received()));

  const testing::HttpReply health = testing::HttpGet(relay_->metrics_address(), "/healthz");
  ASSERT_EQ(health.status, 200);
  const nlohmann::json body = nlohmann::json::parse(health.body);
  EXPECT_EQ(body["status"], "ok");
  EXPECT_EQ(body["rooms"], 1);
  EXPECT_EQ(body["participants"], 2);
  EXPECT_GT(body["uptime_s"].get<double>(), 0.0);

  EXPECT_EQ(testing::HttpGet(relay_->metrics_address(), "/other").status, 404);
}

TEST_F(RelayTest, BadTokensAreRefusedWithTheirCodeAndOpenNoMediaPath) {
  struct Case {
    const char* name;
    std::string token;
    ErrorCode code;
    session::TokenError reason;
  };
  const std::vector<Case> cases = {
      {"missing", "", ErrorCode::kUnauthorized, session::TokenError::kMissing},
      {"expired", Token("standup", "alice", -10), ErrorCode::kTokenExpired,
       session::TokenError::kExpired},
      {"forged", Token("standup", "alice", 3600, kOtherSecret), ErrorCode::kUnauthorized,
       session::TokenError::kForged},
      {"wrong room", Token("lobby", "alice"), ErrorCode::kUnauthorized,
       session::TokenError::kWrongRoom},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto client = Connect();
    client->Send(JoinText("standup", c.token, 1111));
    const auto error = client->Expect<session::ErrorMessage>();
    EXPECT_EQ(error.code, c.code);
    EXPECT_FALSE(error.message.empty());
    EXPECT_EQ(client->WaitClosed(), 1008) << "policy violation";
  }

  // No media path: a hello for the first id the relay would have given is unknown.
  MediaClient media;
  const auto hello = SerializeHello({HelloType::kHello, 1, JoinSecret{}});
  media.SendTo(Bytes(hello.begin(), hello.end()), relay_->media_address());
  const RelayStats stats = StatsWhen([](const RelayStats& current) {
    return current.router.dropped_for(DropReason::kUnknownParticipant) >= 1;
  });
  EXPECT_EQ(stats.signaling.joins, 0u);
  EXPECT_EQ(stats.signaling.participants, 0u);
  EXPECT_EQ(stats.signaling.rooms, 0u);
  EXPECT_EQ(stats.router.hellos_acked, 0u);
  EXPECT_EQ(stats.router.dropped_for(DropReason::kUnknownParticipant), 1u);
  EXPECT_EQ(stats.signaling.errors_for(ErrorCode::kUnauthorized), 3u);
  EXPECT_EQ(stats.signaling.errors_for(ErrorCode::kTokenExpired), 1u);
  for (const Case& c : cases) {
    EXPECT_EQ(stats.signaling.token_refusals_for(c.reason), 1u) << c.name;
  }
  EXPECT_EQ(log_.Events("join_refused").size(), cases.size());
}

TEST_F(RelayTest, IdentityOtherThanTheTokensIsForbidden) {
  auto client = Connect();
  client->Send(JoinText("standup", Token("standup", "alice"), 1111, "bob"));
  EXPECT_EQ(client->Expect<session::ErrorMessage>().code, ErrorCode::kForbidden);
  EXPECT_EQ(client->WaitClosed(), 1008);
  EXPECT_EQ(Stats().signaling.participants, 0u);
}

TEST_F(RelayTest, MalformedMessagesAreRefusedAndCountedWhileTheCallGoesOn) {
  auto [alice, bob] = AliceAndBobLatched();
  ASSERT_TRUE(alice && bob);

  auto noisy = Connect();
  noisy->Send("{not json");
  EXPECT_EQ(noisy->Expect<session::ErrorMessage>().code, ErrorCode::kBadMessage);
  noisy->Send(R"({"v":1,"type":"dance"})");
  EXPECT_EQ(noisy->Expect<session::ErrorMessage>().code, ErrorCode::kUnsupportedType);
  noisy->Send(R"({"v":2,"type":"join"})");
  EXPECT_EQ(noisy->Expect<session::ErrorMessage>().code, ErrorCode::kUnsupportedVersion);
  noisy->SendBinary("\x01\x02");
  EXPECT_EQ(noisy->Expect<session::ErrorMessage>().code, ErrorCode::kBadMessage);
  // A joined participant's bad message does not end its call either.
  alice->ws->Send(R"({"v":1,"type":"join","room":7})");
  EXPECT_EQ(alice->ws->Expect<session::ErrorMessage>().code, ErrorCode::kBadMessage);

  // The noisy connection is still open: it can join.
  noisy->Send(JoinText("standup", Token("standup", "carol"), 3333));
  const auto carol = noisy->Expect<session::Joined>();
  EXPECT_EQ(carol.peers.size(), 2u);

  const Bytes packet = Rtp(1111, 7, 0x77);
  alice->media.SendTo(packet, relay_->media_address());
  EXPECT_EQ(bob->media.ReceiveRtp(), packet);

  const RelayStats stats = Stats();
  EXPECT_EQ(stats.signaling.errors_for(ErrorCode::kBadMessage), 3u);
  EXPECT_EQ(stats.signaling.errors_for(ErrorCode::kUnsupportedType), 1u);
  EXPECT_EQ(stats.signaling.errors_for(ErrorCode::kUnsupportedVersion), 1u);
  EXPECT_EQ(stats.signaling.participants, 3u);
}

TEST_F(RelayTest, OversizedMessageClosesTheConnection) {
  auto client = Connect();
  client->Send(std::string(session::kMaxMessageBytes + 1, ' '));
  EXPECT_EQ(client->WaitClosed(), 1009) << "message too big";
  // The relay counts it when its side of the close is done, which may be after the client's.
  EXPECT_EQ(StatsWhen([](const RelayStats& stats) {
              return stats.signaling.oversized_messages >= 1;
            }).signaling.oversized_messages,
            1u);
}

TEST_F(RelayTest, LeaveTellsTheOthersAndClosesTheConnection) {
  auto alice = Join("standup", "alice", 1111);
  auto bob = Join("standup", "bob", 2222);
  alice->ws->Expect<session::PeerJoined>();
  alice->ws->Send(session::Serialize(session::ClientMessage{session::Leave{}}));
  EXPECT_EQ(alice->ws->WaitClosed(), 1000);
  EXPECT_EQ(bob->ws->Expect<session::PeerLeft>().participant_id, alice->joined.participant_id);

  // A client that vanishes without a close frame leaves too, and the room goes with it.
  auto carol = Join("standup", "carol", 3333);
  bob->ws->Expect<session::PeerJoined>();
  carol->ws->Abort();
  EXPECT_EQ(bob->ws->Expect<session::PeerLeft>().participant_id, carol->joined.participant_id);
  bob->ws->Close();
  const RelayStats stats =
      StatsWhen([](const RelayStats& current) { return current.signaling.rooms == 0; });
  EXPECT_EQ(stats.signaling.rooms, 0u);
  EXPECT_EQ(stats.signaling.participants, 0u);
  EXPECT_EQ(stats.signaling.leaves, 3u);
  EXPECT_EQ(log_.Events("room_closed").size(), 1u);
}

TEST_F(RelayTest, LimitsAreEnforcedWithTheirCodes) {
  session::RelayConfig config = TestConfig();
  config.max_rooms = 1;
  config.max_participants_per_room = 2;
  relay_.reset();
  StartRelay(config);

  auto alice = Join("standup", "alice", 1111);
  auto bob = Connect();
  bob->Send(JoinText("standup", Token("standup", "bob"), 1111));
  EXPECT_EQ(bob->Expect<session::ErrorMessage>().code, ErrorCode::kSsrcInUse);
  // Still open: another SSRC gets in.
  bob->Send(JoinText("standup", Token("standup", "bob"), 2222));
  bob->Expect<session::Joined>();
  bob->Send(JoinText("standup", Token("standup", "bob"), 2223));
  EXPECT_EQ(bob->Expect<session::ErrorMessage>().code, ErrorCode::kAlreadyJoined);

  auto carol = Connect();
  carol->Send(JoinText("standup", Token("standup", "carol"), 3333));
  EXPECT_EQ(carol->Expect<session::ErrorMessage>().code, ErrorCode::kRoomFull);
  carol->Send(JoinText("lobby", Token("lobby", "carol"), 3333));
  EXPECT_EQ(carol->Expect<session::ErrorMessage>().code, ErrorCode::kRelayFull);

  const RelayStats stats = Stats();
  EXPECT_EQ(stats.signaling.participants, 2u);
  EXPECT_EQ(stats.signaling.errors_for(ErrorCode::kRoomFull), 1u);
  EXPECT_EQ(stats.signaling.errors_for(ErrorCode::kRelayFull), 1u);
}

TEST_F(RelayTest, SrtpRoomKeyIsHandedToEveryParticipant) {
  session::RelayConfig config = TestConfig();
  config.srtp = true;
  config.srtp_suite = "AEAD_AES_128_GCM";
  relay_.reset();
  StartRelay(config);
  auto alice = Join("standup", "alice", 1111);
  auto bob = Join("standup", "bob", 2222);
  ASSERT_TRUE(alice->joined.srtp.has_value());
  EXPECT_EQ(alice->joined.srtp->suite, "AEAD_AES_128_GCM");
  EXPECT_EQ(alice->joined.srtp->key.size(), 28u);
  EXPECT_EQ(bob->joined.srtp, alice->joined.srtp) << "one key per room";
  auto other = Join("lobby", "carol", 1111);
  ASSERT_TRUE(other->joined.srtp.has_value());
  EXPECT_NE(other->joined.srtp->key, alice->joined.srtp->key);

  // The relay's own RTCP SSRC (drawn at Start) is refused: that participant's SRTCP
  // would reuse the keystream of the relay's reports. The connection stays open for
  // another SSRC.
  const uint32_t relay_ssrc = relay_->relay_ssrc();
  ASSERT_NE(relay_ssrc, 0u);
  auto dave = Connect();
  dave->Send(JoinText("standup", Token("standup", "dave"), relay_ssrc));
  const auto refused = dave->Expect<session::ErrorMessage>();
  EXPECT_EQ(refused.code, ErrorCode::kSsrcInUse);
  EXPECT_NE(refused.message.find("relay's own RTCP SSRC"), std::string::npos) << refused.message;
  dave->Send(JoinText("standup", Token("standup", "dave"), 4444));
  EXPECT_TRUE(dave->Expect<session::Joined>().srtp.has_value());
}

TEST_F(RelayTest, StopClosesWebSocketsWithGoingAwayAndLogs) {
  auto alice = Join("standup", "alice", 1111);
  // Stop waits for the client's answer to its close frame, which this thread gives.
  std::thread stopper([this] { relay_->Stop(); });
  EXPECT_EQ(alice->ws->WaitClosed(), 1001) << "going away";
  stopper.join();
  const RelayStats stats = Stats();
  EXPECT_EQ(stats.signaling.participants, 0u);
  EXPECT_EQ(stats.signaling.leaves, 1u);
  EXPECT_EQ(log_.Events("relay_stopped").size(), 1u);
  relay_->Stop();  // idempotent
}

// ---- Media socket errors, injected ----------------------------------------------------------

// The relay's media socket fails as faults_ says.
class RelayMediaErrorTest : public RelayTest {
 protected:
  void SetUp() override {
    RelayOptions options;
    options.media_loop.socket.system_calls = &faults_;
    options.media_loop.idle_wait = std::chrono::milliseconds(5);
    relay_ = std::make_unique<Relay>(TestConfig(), log_.logger(), options);
    const Status started = relay_->Start();
    ASSERT_TRUE(started) << started.error().message;
  }
  // The relay's threads use faults_: they end first.
  void TearDown() override { relay_.reset(); }

  // Until the media thread has made every scripted call fail (bounded).
  bool AllFaultsUsed() {
    const auto deadline = std::chrono::steady_clock::now() + kDeadline;
    while (faults_.pending() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    return faults_.pending() == 0;
  }
  std::string Metrics() { return testing::HttpGet(relay_->metrics_address(), "/metrics").body; }
  // Whether `client` receives `packet` within kDeadline (the relay's RTCP reports, and a
  // packet whose send the test let through, may come before it).
  static bool Hears(MediaClient& client, const Bytes& packet) {
    for (;;) {
      const std::optional<Bytes> got = client.Receive();
      if (!got) return false;
      if (*got == packet) return true;
    }
  }

  parley::testing::SocketFaults faults_;
};

TEST_F(RelayMediaErrorTest, TransientErrorsAreCountedLoggedSparinglyAndForwardingGoesOn) {
  auto [alice, bob] = AliceAndBobLatched();
  ASSERT_TRUE(alice && bob);

  constexpr size_t kBurst = 50;
  faults_.FailReceives(ENOBUFS, kBurst);
  faults_.FailReceives(ECONNREFUSED, kBurst);
  ASSERT_TRUE(AllFaultsUsed());
  const Bytes first = Rtp(1111, 1, 0xA1);
  alice->media.SendTo(first, relay_->media_address());
  EXPECT_TRUE(Hears(bob->media, first));

  // A send refused (a forwarded packet or an RTCP report): that datagram is lost, the
  // next ones go.
  faults_.FailSends(EHOSTUNREACH, 1);
  alice->media.SendTo(Rtp(1111, 2, 0xA2), relay_->media_address());
  ASSERT_TRUE(AllFaultsUsed());
  const Bytes third = Rtp(1111, 3, 0xA3);
  alice->media.SendTo(third, relay_->media_address());
  EXPECT_TRUE(Hears(bob->media, third));

  const std::string text = Metrics();
  for (const std::string& line : {
           "parley_relay_media_socket_errors_total{op=\"recv\",errno=\"ENOBUFS\"} " +
               std::to_string(kBurst),
           "parley_relay_media_socket_errors_total{op=\"recv\",errno=\"ECONNREFUSED\"} " +
               std::to_string(kBurst),
           std::string(
               "parley_relay_media_socket_errors_total{op=\"send\",errno=\"EHOSTUNREACH\"} 1"),
           std::string("parley_relay_media_socket_errors_total{op=\"recv\",errno=\"EBADF\"} 0"),
           std::string("parley_relay_media_socket_errors_total{op=\"poll\",errno=\"other\"} 0"),
           std::string("parley_relay_media_send_failures_total 1"),
       }) {
    EXPECT_NE(text.find("\n" + line + "\n"), std::string::npos) << "missing: " << line;
  }
  // One line per kind of error (within the 10 s interval), not one per error.
  const auto lines = log_.Events("media_socket_error");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["level"], "warn");
  EXPECT_EQ(lines[0]["op"], "recv");
  EXPECT_EQ(lines[0]["errno"], "ENOBUFS");
  EXPECT_EQ(lines[0]["error"], "No buffer space available");
  EXPECT_EQ(lines[0]["unreported"], 0);
  EXPECT_EQ(lines[0]["total"], 1);
  EXPECT_EQ(lines[1]["errno"], "ECONNREFUSED");
  EXPECT_EQ(lines[2]["op"], "send");
  EXPECT_EQ(lines[2]["errno"], "EHOSTUNREACH");
  EXPECT_FALSE(relay_->media_failure());
  EXPECT_EQ(testing::HttpGet(relay_->metrics_address(), "/healthz").status, 200);
}

TEST_F(RelayMediaErrorTest, AClosedSocketStopsTheMediaPlaneAndSaysSo) {
  faults_.FailReceives(EBADF, 1);
  ASSERT_TRUE(AllFaultsUsed());
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (!relay_->media_failure() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  const std::optional<Error> failure = relay_->media_failure();
  ASSERT_TRUE(failure);
  EXPECT_NE(failure->message.find("(EBADF)"), std::string::npos) << failure->message;
  const auto failed = log_.Events("media_loop_failed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0]["level"], "error");
  EXPECT_EQ(failed[0]["error"], failure->message);
  EXPECT_TRUE(log_.Events("media_socket_error").empty()) << "fatal: not a transient report";
  const testing::HttpReply health = testing::HttpGet(relay_->metrics_address(), "/healthz");
  EXPECT_EQ(health.status, 503);
  EXPECT_NE(health.body.find("media_failed"), std::string::npos);
  EXPECT_NE(
      Metrics().find("\nparley_relay_media_socket_errors_total{op=\"recv\",errno=\"EBADF\"} 1\n"),
      std::string::npos);
}

TEST(RelayStartTest, ErrorsNameTheSetting) {
  Logger quiet(LogLevel::kError, [](std::string_view) {});
  session::RelayConfig config = TestConfig();
  config.listen_media = "localhost:1";
  Relay relay(config, quiet);
  const Status started = relay.Start();
  ASSERT_FALSE(started);
  EXPECT_TRUE(started.error().message.starts_with("listen_media: ")) << started.error().message;

  config = TestConfig();
  config.tls_cert = "/nonexistent/cert.pem";
  config.tls_key = "/nonexistent/key.pem";
  Relay tls_relay(config, quiet);
  const Status tls_started = tls_relay.Start();
  ASSERT_FALSE(tls_started);
  EXPECT_TRUE(tls_started.error().message.starts_with("tls_cert: /nonexistent/cert.pem: "))
      << tls_started.error().message;
}

// ---- wss:// -----------------------------------------------------------------------------------

// A self-signed P-256 certificate for 127.0.0.1 and its key, written as PEM files in a
// fresh temporary folder (removed by the destructor).
class SelfSignedCertificate {
 public:
  SelfSignedCertificate() {
    char pattern[] = "/tmp/parley-relay-test-XXXXXX";
    if (mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    cert_path_ = (dir_ / "cert.pem").string();
    key_path_ = (dir_ / "key.pem").string();

    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* cert = X509_new();
    if (key == nullptr || cert == nullptr) throw std::runtime_error("OpenSSL allocation failed");
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509V3_CTX context;
    X509V3_set_ctx_nodb(&context);
    X509V3_set_ctx(&context, cert, cert, nullptr, nullptr, 0);
    X509_EXTENSION* san =
        X509V3_EXT_conf_nid(nullptr, &context, NID_subject_alt_name, "IP:127.0.0.1");
    X509_add_ext(cert, san, -1);
    X509_EXTENSION_free(san);
    const bool signed_ok = X509_sign(cert, key, EVP_sha256()) > 0;

    FILE* cert_file = std::fopen(cert_path_.c_str(), "w");
    FILE* key_file = std::fopen(key_path_.c_str(), "w");
    const bool written =
        cert_file != nullptr && key_file != nullptr && PEM_write_X509(cert_file, cert) == 1 &&
        PEM_write_PrivateKey(key_file, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
    if (cert_file != nullptr) std::fclose(cert_file);
    if (key_file != nullptr) std::fclose(key_file);
    X509_free(cert);
    EVP_PKEY_free(key);
    if (!signed_ok || !written) throw std::runtime_error("cannot write the test certificate");
  }
  ~SelfSignedCertificate() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  const std::string& cert_path() const { return cert_path_; }
  const std::string& key_path() const { return key_path_; }

 private:
  std::filesystem::path dir_;
  std::string cert_path_;
  std::string key_path_;
};

TEST(RelayTlsTest, WssJoinWorksWithTheConfiguredCertificate) {
  const SelfSignedCertificate certificate;
  session::RelayConfig config = TestConfig();
  config.tls_cert = certificate.cert_path();
  config.tls_key = certificate.key_path();
  LogCapture log;
  Relay relay(config, log.logger());
  const Status started = relay.Start();
  ASSERT_TRUE(started) << started.error().message;
  EXPECT_TRUE(relay.tls());
  ASSERT_EQ(log.Events("relay_started").size(), 1u);
  EXPECT_EQ(log.Events("relay_started")[0]["signaling"],
            "wss://" + relay.signaling_address().ToString());

  // The client trusts only the test certificate and checks that it names 127.0.0.1.
  ssl::context client_context(ssl::context::tls_client);
  client_context.load_verify_file(certificate.cert_path());
  client_context.set_verify_mode(ssl::verify_peer);
  TlsClient client(relay.signaling_address(), client_context);
  ASSERT_TRUE(client.open()) << client.error().message();
  client.Send(JoinText("standup", Token("standup", "alice"), 1111));
  const auto joined = client.Expect<session::Joined>();
  EXPECT_EQ(joined.media.address, relay.media_address().ToString());

  // Plain ws:// to the wss:// port fails its handshake and is counted.
  PlainClient plain(relay.signaling_address());
  EXPECT_FALSE(plain.open());
  Result<RelayStats> stats = relay.stats();
  ASSERT_TRUE(stats);
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (stats->signaling.handshake_failures < 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
    stats = relay.stats();
    ASSERT_TRUE(stats);
  }
  EXPECT_EQ(stats->signaling.handshake_failures, 1u);
  EXPECT_EQ(stats->signaling.participants, 1u);
}

// ---- Recording, end to end --------------------------------------------------------------

// Three clients (client::Call, as `parley call` runs) each send 2 s of speech through a
// relay that records, then leave; the relay stops. Each participant's file holds that
// participant's voice, the room's mix holds all three. Real time: about 3 s.
TEST(RelayRecordingTest, ThreeClientsAreRecordedEachAndMixed) {
  // Bounds of testing::Heard, with what was measured when they were set:
  // - a participant's own file, its packets as sent (Opus wideband, the "good" profile):
  //   > 0.8 (measured 0.87..0.92);
  // - each of three voices in the mix: > 0.4 (measured 0.49..0.61; 1/sqrt(3) = 0.58 in
  //   theory), where speech that is not there measures about 0.2.
  constexpr double kHeardInOwnFile = 0.8;
  constexpr double kHeardInMix = 0.4;
  constexpr int kRate = 48000;
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(::testing::TempDir()) / "parley_relay_recording_test";
  fs::remove_all(dir);
  session::RelayConfig config = TestConfig();
  config.metrics_listen = "";
  config.recording_dir = (dir / "recordings").string();
  LogCapture log;
  Relay relay(config, log.logger());
  ASSERT_TRUE(relay.Start());

  const std::vector<std::string> names = {"alice", "bob", "carol"};
  std::map<std::string, std::vector<int16_t>> sources;
  std::vector<std::unique_ptr<client::Call>> calls;
  for (size_t i = 0; i < names.size(); ++i) {
    std::vector<int16_t> clip = parley::testing::Speech(kRate, static_cast<int>(i));
    clip.resize(2 * kRate);
    const std::string clip_path = (dir / (names[i] + ".wav")).string();
    ASSERT_TRUE(audio::WriteWavFile(clip_path, audio::AudioFrame({kRate, 1}, clip)));
    sources[names[i]] = std::move(clip);
    client::CallConfig call;
    call.relay_url = "ws://" + relay.signaling_address().ToString() + "/";
    call.room = "standup";
    call.token = Token("standup", names[i]);
    call.identity = names[i];
    call.send_path = clip_path;
    auto created = client::Call::Create(std::move(call));
    ASSERT_TRUE(created) << created.error().message;
    calls.push_back(std::move(created).value());
  }
  for (auto& call : calls) ASSERT_TRUE(call->Start());
  const auto deadline = std::chrono::steady_clock::now() + 2 * kDeadline;
  auto all_sent = [&] {
    return std::all_of(calls.begin(), calls.end(),
                       [](const auto& call) { return call->sending_finished(); });
  };
  while (!all_sent() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(all_sent());
  for (auto& call : calls) ASSERT_TRUE(call->Leave());
  relay.Stop();
  // 3 x 100 packets of 20 ms, less any a sender skipped: a live source skips what a busy
  // machine kept its thread from sending in time (media_sender.h).
  uint64_t packets_sent = 0;
  for (auto& call : calls) packets_sent += call->Stats().sender.packets_sent;

  Result<RelayStats> stats = relay.stats();
  ASSERT_TRUE(stats);
  const RecordingCounters& recording = stats->recording;
  EXPECT_EQ(recording.files_opened, 4u);
  EXPECT_EQ(recording.files_open, 0u);
  EXPECT_EQ(recording.errors, 0u);
  // Up to 5 fewer, as before: the recorder drops (and counts) what it cannot place.
  EXPECT_GE(recording.packets_recorded + 5, packets_sent);
  EXPECT_LE(recording.packets_recorded, packets_sent);

  // One session folder: recordings/standup/<UTC start>/.
  const fs::path room = fs::path(config.recording_dir) / "standup";
  std::vector<fs::path> sessions;
  for (const auto& entry : fs::directory_iterator(room)) sessions.push_back(entry.path());
  ASSERT_EQ(sessions.size(), 1u);
  std::map<std::string, fs::path> files;
  for (const auto& entry : fs::directory_iterator(sessions[0])) {
    files[entry.path().filename().string()] = entry.path();
  }
  ASSERT_EQ(files.size(), 4u);

  auto decode = [](const fs::path& path) {
    std::vector<int16_t> pcm;
    auto reader = container::OggOpusPcmReader::Open(path.string());
    EXPECT_TRUE(reader) << path;
    if (!reader) return pcm;
    EXPECT_TRUE((*reader)->reader().stats().defects.empty());
    while (true) {
      auto chunk = (*reader)->Read();
      EXPECT_TRUE(chunk);
      if (!chunk || chunk->empty()) break;
      pcm.insert(pcm.end(), chunk->begin(), chunk->end());
    }
    EXPECT_TRUE((*reader)->reader().stats().end_of_stream) << path;
    return pcm;
  };
  ASSERT_TRUE(files.contains("mix.opus"));
  const std::vector<int16_t> mix = decode(files["mix.opus"]);
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    auto file = std::find_if(files.begin(), files.end(), [&](const auto& entry) {
      return entry.first.ends_with("-" + name + ".opus");
    });
    ASSERT_NE(file, files.end());
    const std::vector<int16_t> own = decode(file->second);
    EXPECT_NEAR(static_cast<double>(own.size()) / kRate, 2.0, 0.1);
    const double in_own = parley::testing::Heard(own, sources[name], kRate);
    const double in_mix = parley::testing::Heard(mix, sources[name], kRate);
    RecordProperty(name + "_in_own_file", std::to_string(in_own));
    RecordProperty(name + "_in_mix", std::to_string(in_mix));
    EXPECT_GT(in_own, kHeardInOwnFile);
    EXPECT_GT(in_mix, kHeardInMix);
    for (const std::string& other : names) {
      if (other == name) continue;
      EXPECT_LT(parley::testing::Heard(own, sources[other], kRate), 0.35) << "hears " << other;
    }
  }
  EXPECT_EQ(log.Events("recording_finished").size(), 4u);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace parley::relay
