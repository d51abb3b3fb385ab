// The one translation unit of the relay that includes Boost.Beast's WebSocket (it is slow
// to compile): the connection template is instantiated twice, for ws:// and wss://, and
// everything else (rooms, joins, counters) is plain code in the Server class below.
#include "parley/relay/signaling_server.h"

#include <fmt/format.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <cstring>
#include <deque>
#include <future>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "parley/rtp/srtp_session.h"
#include "parley/session/validation.h"

namespace parley::relay {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using session::ErrorCode;

constexpr std::chrono::milliseconds kAcceptRetryDelay{100};
constexpr std::chrono::milliseconds kRemovalRetryDelay{20};
constexpr std::chrono::seconds kStatsWait{1};
constexpr int kMaxRooms = 100'000;  // relay_config.h

tcp::endpoint ToEndpoint(const net::SocketAddress& address) {
  tcp::endpoint endpoint;
  std::memcpy(endpoint.data(), address.sockaddr_ptr(), address.sockaddr_length());
  endpoint.resize(address.sockaddr_length());
  return endpoint;
}

net::SocketAddress FromEndpoint(const tcp::endpoint& endpoint) {
  return net::SocketAddress::FromSockaddr(endpoint.data(), static_cast<socklen_t>(endpoint.size()));
}

// The local address a client reached, with the media port: an IPv4 client of a dual-stack
// socket is given the IPv4 form, which its UDP socket can send to.
net::SocketAddress WithPort(const tcp::endpoint& local, uint16_t port) {
  asio::ip::address address = local.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  return FromEndpoint(tcp::endpoint(address, port));
}

int64_t UnixMillis(Clock::WallTime time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

// `text` cut to `limit` bytes without splitting a UTF-8 sequence.
std::string CutUtf8(std::string text, size_t limit) {
  if (text.size() <= limit) return text;
  size_t end = limit;
  while (end > 0 && (static_cast<uint8_t>(text[end]) & 0xC0) == 0x80) --end;
  text.resize(end);
  return text;
}

void Add(ParticipantTraffic& total, const ParticipantCounters& counters) {
  total.packets_in += counters.packets_in;
  total.bytes_in += counters.bytes_in;
  total.packets_out += counters.packets_out;
  total.bytes_out += counters.bytes_out;
  total.packets_dropped += counters.packets_dropped;
}

class Server;

// One WebSocket client, as the server's logic sees it. Everything runs on the server's
// thread.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Server& server, uint64_t connection_id, net::SocketAddress remote_address,
             tcp::endpoint local_endpoint)
      : server_(server),
        id(connection_id),
        remote(remote_address),
        local(std::move(local_endpoint)) {}
  virtual ~Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // TLS handshake when serving wss://, WebSocket handshake, then reading.
  virtual void Start() = 0;
  // Queues a text message; ignored once the connection is closing.
  virtual void Send(std::string text) = 0;
  // Sends a close frame after the queued messages (a handshake in progress is cut).
  virtual void Close(websocket::close_code code, std::string_view reason) = 0;

 protected:
  Server& server_;

 public:
  const uint64_t id;
  const net::SocketAddress remote;
  const tcp::endpoint local;
  // Set while the connection has a participant in a room.
  std::optional<uint32_t> participant_id;
  std::string room;
  size_t refusals_logged = 0;
};

// A client's room membership, as peers see it.
struct Member {
  uint32_t participant_id = 0;
  std::string identity;
  uint32_t ssrc = 0;
  Connection* connection = nullptr;  // the server's, valid while the member is in the room
};

struct Room {
  uint32_t id = 0;  // the router's room id
  int64_t session_start_unix_ms = 0;
  std::optional<session::SrtpInfo> srtp;
  std::vector<Member> members;
};

class Server {
 public:
  Server(const session::RelayConfig& config, const net::SocketAddress& media_address,
         MediaRouter& router, Logger& logger, const SignalingServerOptions& options,
         const Clock& clock)
      : config_(config),
        options_(options),
        media_address_(media_address),
        router_(router),
        logger_(logger),
        clock_(clock),
        acceptor_(ioc_),
        accept_retry_timer_(ioc_),
        removal_retry_timer_(ioc_),
        shutdown_timer_(ioc_) {}

  ~Server() { Stop(); }

  Status Open();
  void Run() {
    running_ = true;
    thread_ = std::thread([this] { ioc_.run(); });
  }
  void Stop();
  Result<SignalingStats> Stats();

  const net::SocketAddress& local_address() const { return local_address_; }
  bool tls() const { return ssl_context_.has_value(); }

  // --- Called by connections, on the server's thread. ---
  const SignalingServerOptions& options() const { return options_; }
  Logger& logger() { return logger_; }
  void OnOpen(Connection& connection);
  void OnText(Connection& connection, std::string_view text);
  void OnBinary(Connection& connection);
  void OnOversized(Connection& connection);
  void OnSlowReader(Connection& connection);
  void OnFinished(Connection& connection, bool opened, const beast::error_code& error);

 private:
  void Accept();
  void OnAccept(const beast::error_code& error, tcp::socket socket);
  void BeginShutdown();
  void HandleJoin(Connection& connection, const session::Join& join);
  void HandleLeave(Connection& connection);
  void Refuse(Connection& connection, ErrorCode code, std::string message, bool close,
              std::string_view room = {});
  void RemoveMember(Connection& connection, std::string_view how);
  void RetryRemovals();
  uint32_t NextParticipantId();
  uint32_t NextRoomId();
  std::optional<session::SrtpInfo> NewRoomSrtp();
  net::SocketAddress MediaAddressFor(const Connection& connection) const;
  SignalingStats CollectStats() const;

  // Passed by argument.
  const session::RelayConfig config_;
  const SignalingServerOptions options_;
  const net::SocketAddress media_address_;
  MediaRouter& router_;
  Logger& logger_;
  const Clock& clock_;

  // Allocated by this. The io_context is declared first so that it is destroyed last:
  // the sockets and timers below belong to it.
  asio::io_context ioc_;
  std::optional<ssl::context> ssl_context_;
  std::optional<rtp::SrtpProfile> srtp_profile_;
  std::optional<net::SocketAddress> public_media_address_;
  tcp::acceptor acceptor_;
  net::SocketAddress local_address_;
  asio::steady_timer accept_retry_timer_;
  asio::steady_timer removal_retry_timer_;
  asio::steady_timer shutdown_timer_;
  std::thread thread_;
  bool running_ = false;  // the thread runs (read by the caller's thread only)

  // Server-thread state.
  std::map<uint64_t, std::shared_ptr<Connection>> connections_;
  std::unordered_map<std::string, Room> rooms_;
  std::unordered_set<uint32_t> participant_ids_;  // in the router (pending removals too)
  std::unordered_set<uint32_t> room_ids_;
  std::vector<uint32_t> pending_removals_;  // RemoveParticipant refused: queue full
  uint64_t next_connection_id_ = 1;
  uint32_t next_participant_id_ = 1;
  uint32_t next_room_id_ = 1;
  size_t participant_count_ = 0;
  bool shutting_down_ = false;
  SignalingStats stats_;
  ParticipantTraffic departed_traffic_;
};

// ---- WebSocket connection, for ws:// (beast::tcp_stream) and wss:// -----------------------

template <typename NextLayer>
class WsConnection final : public Connection {
 public:
  static constexpr bool kTls = !std::is_same_v<NextLayer, beast::tcp_stream>;

  template <typename... StreamArgs>
  WsConnection(Server& server, uint64_t connection_id, net::SocketAddress remote_address,
               tcp::endpoint local_endpoint, StreamArgs&&... stream_args)
      : Connection(server, connection_id, remote_address, std::move(local_endpoint)),
        ws_(std::forward<StreamArgs>(stream_args)...) {}

  void Start() override {
    beast::get_lowest_layer(ws_).expires_after(server_.options().handshake_timeout);
    if constexpr (kTls) {
      ws_.next_layer().async_handshake(ssl::stream_base::server,
                                       [self = Self()](const beast::error_code& error) {
                                         if (error) return self->Finish(error);
                                         self->AcceptWebSocket();
                                       });
    } else {
      AcceptWebSocket();
    }
  }

  void Send(std::string text) override {
    if (state_ != State::kOpen) return;
    if (queue_.size() >= server_.options().max_queued_messages) {
      server_.OnSlowReader(*this);
      state_ = State::kClosing;
      beast::get_lowest_layer(ws_).close();
      return;
    }
    queue_.push_back(Outgoing{.text = std::move(text)});
    if (!writing_) WriteNext();
  }

  void Close(websocket::close_code code, std::string_view reason) override {
    if (state_ == State::kHandshake) {
      state_ = State::kClosing;
      beast::get_lowest_layer(ws_).close();
      return;
    }
    if (state_ != State::kOpen) return;
    state_ = State::kClosing;
    websocket::close_reason close_reason(code);
    close_reason.reason = std::string(reason.substr(0, 120));  // a close frame carries 123
    queue_.push_back(Outgoing{.close = true, .reason = std::move(close_reason)});
    if (!writing_) WriteNext();
  }

 private:
  enum class State { kHandshake, kOpen, kClosing, kFinished };

  struct Outgoing {
    std::string text{};
    bool close = false;
    websocket::close_reason reason{};
  };

  std::shared_ptr<WsConnection> Self() {
    return std::static_pointer_cast<WsConnection>(shared_from_this());
  }

  void AcceptWebSocket() {
    // The WebSocket stream has timeouts of its own from here on.
    beast::get_lowest_layer(ws_).expires_never();
    const SignalingServerOptions& options = server_.options();
    websocket::stream_base::timeout timeout{};
    timeout.handshake_timeout = options.handshake_timeout;
    timeout.idle_timeout = options.idle_timeout;
    timeout.keep_alive_pings = true;
    ws_.set_option(timeout);
    ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& response) {
      response.set(beast::http::field::server, "parley-relay");
    }));
    ws_.read_message_max(session::kMaxMessageBytes);
    ws_.async_accept([self = Self()](const beast::error_code& error) {
      if (error) return self->Finish(error);
      if (self->state_ != State::kHandshake) return self->Finish(error);
      self->state_ = State::kOpen;
      self->opened_ = true;
      self->server_.OnOpen(*self);
      self->Read();
    });
  }

  void Read() {
    ws_.async_read(
        buffer_, [self = Self()](const beast::error_code& error, size_t) { self->OnRead(error); });
  }

  void OnRead(const beast::error_code& error) {
    if (error) {
      if (error == websocket::error::message_too_big) server_.OnOversized(*this);
      return Finish(error);
    }
    if (state_ == State::kOpen) {
      if (ws_.got_text()) {
        const auto data = buffer_.cdata();
        server_.OnText(*this, std::string_view(static_cast<const char*>(data.data()), data.size()));
      } else {
        server_.OnBinary(*this);
      }
    }
    buffer_.consume(buffer_.size());
    // Reading goes on while closing: the client's close frame ends the read.
    Read();
  }

  void WriteNext() {
    writing_ = true;
    Outgoing& next = queue_.front();
    if (next.close) {
      ws_.async_close(next.reason, [self = Self()](const beast::error_code&) {
        self->writing_ = false;
        self->queue_.clear();
      });
      return;
    }
    ws_.text(true);
    ws_.async_write(asio::buffer(next.text),
                    [self = Self()](const beast::error_code& error, size_t) {
                      self->writing_ = false;
                      if (error) {
                        // The read side sees the failure too and finishes the connection.
                        self->queue_.clear();
                        return;
                      }
                      self->queue_.pop_front();
                      if (!self->queue_.empty()) self->WriteNext();
                    });
  }

  void Finish(const beast::error_code& error) {
    if (state_ == State::kFinished) return;
    state_ = State::kFinished;
    server_.OnFinished(*this, opened_, error);
  }

  websocket::stream<NextLayer> ws_;
  beast::flat_buffer buffer_;
  std::deque<Outgoing> queue_;
  State state_ = State::kHandshake;
  bool writing_ = false;
  bool opened_ = false;
};

using PlainConnection = WsConnection<beast::tcp_stream>;
using TlsConnection = WsConnection<beast::ssl_stream<beast::tcp_stream>>;

// ---- Server ---------------------------------------------------------------------------------

Status Server::Open() {
  if (config_.token_secret.size() < session::kMinSecretBytes) {
    return Error{fmt::format("token_secret: {} bytes < the {} required",
                             config_.token_secret.size(), session::kMinSecretBytes)};
  }
  if (config_.max_rooms < 1 || config_.max_rooms > kMaxRooms) {
    return Error{fmt::format("max_rooms: expected 1..{} (got {})", kMaxRooms, config_.max_rooms)};
  }
  if (config_.max_participants_per_room < 1 ||
      static_cast<size_t>(config_.max_participants_per_room) > session::kMaxRoomParticipants) {
    return Error{fmt::format("max_participants_per_room: expected 1..{} (got {})",
                             session::kMaxRoomParticipants, config_.max_participants_per_room)};
  }
  if (!config_.public_media_address.empty()) {
    Result<net::SocketAddress> address = net::SocketAddress::Parse(config_.public_media_address);
    if (!address) return Error{"public_media_address: " + address.error().message};
    if (address->is_unspecified() || address->port() == 0) {
      return Error{fmt::format("public_media_address: {} is not an address clients can reach",
                               config_.public_media_address)};
    }
    public_media_address_ = *address;
  }
  if (config_.srtp) {
    srtp_profile_ = rtp::SrtpProfileFromName(config_.srtp_suite);
    if (!srtp_profile_) {
      return Error{
          fmt::format("srtp_suite: {}: expected AES_CM_128_HMAC_SHA1_80 or AEAD_AES_128_GCM",
                      session::Quote(config_.srtp_suite))};
    }
  }
  if (config_.tls_cert.empty() != config_.tls_key.empty()) {
    return Error{"tls_cert and tls_key: give both (wss://) or neither (ws://)"};
  }
  if (!config_.tls_cert.empty()) {
    ssl::context& context = ssl_context_.emplace(ssl::context::tls_server);
    context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                        ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    beast::error_code error;
    context.use_certificate_chain_file(config_.tls_cert, error);
    if (error) return Error{fmt::format("tls_cert: {}: {}", config_.tls_cert, error.message())};
    context.use_private_key_file(config_.tls_key, ssl::context::pem, error);
    if (error) return Error{fmt::format("tls_key: {}: {}", config_.tls_key, error.message())};
    if (SSL_CTX_check_private_key(context.native_handle()) != 1) {
      return Error{fmt::format("tls_key: {} is not the key of the certificate in {}",
                               config_.tls_key, config_.tls_cert)};
    }
  }

  Result<net::SocketAddress> listen = net::SocketAddress::Parse(config_.listen_signaling);
  if (!listen) return Error{"listen_signaling: " + listen.error().message};
  const tcp::endpoint endpoint = ToEndpoint(*listen);
  beast::error_code error;
  acceptor_.open(endpoint.protocol(), error);
  if (!error) acceptor_.set_option(asio::socket_base::reuse_address(true), error);
  if (!error) acceptor_.bind(endpoint, error);
  if (!error) acceptor_.listen(asio::socket_base::max_listen_connections, error);
  if (error) {
    return Error{fmt::format("listen_signaling: bind {}: {}", listen->ToString(), error.message())};
  }
  local_address_ = FromEndpoint(acceptor_.local_endpoint());
  Accept();
  return Status::Ok();
}

void Server::Accept() {
  acceptor_.async_accept([this](const beast::error_code& error, tcp::socket socket) {
    OnAccept(error, std::move(socket));
  });
}

void Server::OnAccept(const beast::error_code& error, tcp::socket socket) {
  if (shutting_down_ || error == asio::error::operation_aborted) return;
  if (error) {
    // Out of file descriptors, usually: wait a little instead of spinning.
    logger_.Warn("accept_failed", {{"error", error.message()}});
    accept_retry_timer_.expires_after(kAcceptRetryDelay);
    accept_retry_timer_.async_wait([this](const beast::error_code& wait_error) {
      if (!wait_error && !shutting_down_) Accept();
    });
    return;
  }
  ++stats_.connections_accepted;
  beast::error_code endpoint_error;
  const tcp::endpoint remote = socket.remote_endpoint(endpoint_error);
  const tcp::endpoint local = socket.local_endpoint(endpoint_error);
  if (endpoint_error) {
    // Reset by the client before we looked: nothing to serve.
    Accept();
    return;
  }
  if (connections_.size() >= options_.max_connections) {
    ++stats_.connections_refused;
    logger_.Warn("connection_refused", {{"remote", FromEndpoint(remote).ToString()},
                                        {"reason", "max_connections"},
                                        {"max_connections", options_.max_connections}});
    socket.close(endpoint_error);
    Accept();
    return;
  }
  socket.set_option(tcp::no_delay(true), endpoint_error);
  const uint64_t id = next_connection_id_++;
  std::shared_ptr<Connection> connection;
  if (ssl_context_) {
    connection = std::make_shared<TlsConnection>(*this, id, FromEndpoint(remote), local,
                                                 std::move(socket), *ssl_context_);
  } else {
    connection = std::make_shared<PlainConnection>(*this, id, FromEndpoint(remote), local,
                                                   std::move(socket));
  }
  connections_.emplace(id, connection);
  connection->Start();
  Accept();
}

void Server::OnOpen(Connection& connection) {
  logger_.Debug(
      "connection_opened",
      {{"connection", connection.id}, {"remote", connection.remote.ToString()}, {"tls", tls()}});
}

void Server::OnText(Connection& connection, std::string_view text) {
  if (shutting_down_) return;
  ErrorCode code = ErrorCode::kBadMessage;
  Result<session::ClientMessage> message = session::ParseClientMessage(text, &code);
  if (!message) {
    Refuse(connection, code, message.error().message, /*close=*/false);
    return;
  }
  if (const auto* join = std::get_if<session::Join>(&*message)) {
    HandleJoin(connection, *join);
  } else {
    HandleLeave(connection);
  }
}

void Server::OnBinary(Connection& connection) {
  if (shutting_down_) return;
  Refuse(connection, ErrorCode::kBadMessage, "binary frame: messages are JSON in text frames",
         /*close=*/false);
}

void Server::OnOversized(Connection& connection) {
  ++stats_.oversized_messages;
  if (connection.refusals_logged < options_.max_logged_refusals) {
    ++connection.refusals_logged;
    logger_.Warn("message_refused", {{"connection", connection.id},
                                     {"remote", connection.remote.ToString()},
                                     {"code", "bad_message"},
                                     {"message", fmt::format("message larger than {} bytes: closed",
                                                             session::kMaxMessageBytes)}});
  }
}

void Server::OnSlowReader(Connection& connection) {
  logger_.Warn("connection_dropped", {{"connection", connection.id},
                                      {"remote", connection.remote.ToString()},
                                      {"reason", "client does not read its messages"},
                                      {"queued", options_.max_queued_messages}});
}

void Server::OnFinished(Connection& connection, bool opened, const beast::error_code& error) {
  // Keeps the connection alive until this returns.
  std::shared_ptr<Connection> keep = connection.shared_from_this();
  if (!opened) {
    ++stats_.handshake_failures;
    logger_.Debug("handshake_failed", {{"connection", connection.id},
                                       {"remote", connection.remote.ToString()},
                                       {"error", error.message()}});
  } else {
    if (connection.participant_id) RemoveMember(connection, "closed");
    logger_.Debug("connection_closed", {{"connection", connection.id},
                                        {"remote", connection.remote.ToString()},
                                        {"reason", error.message()}});
  }
  connections_.erase(connection.id);
  if (shutting_down_ && connections_.empty()) ioc_.stop();
}

void Server::Refuse(Connection& connection, ErrorCode code, std::string message, bool close,
                    std::string_view room) {
  ++stats_.errors[static_cast<size_t>(code)];
  message = CutUtf8(std::move(message), session::kMaxErrorMessageBytes);
  if (connection.refusals_logged < options_.max_logged_refusals) {
    ++connection.refusals_logged;
    logger_.Warn(room.empty() ? "message_refused" : "join_refused",
                 {{"connection", connection.id},
                  {"remote", connection.remote.ToString()},
                  {"room", room},
                  {"code", session::ErrorCodeName(code)},
                  {"message", message}});
  }
  connection.Send(session::Serialize(session::ErrorMessage{code, std::move(message)}));
  if (close) connection.Close(websocket::close_code::policy_error, session::ErrorCodeName(code));
}

void Server::HandleJoin(Connection& connection, const session::Join& join) {
  if (connection.participant_id) {
    Refuse(connection, ErrorCode::kAlreadyJoined,
           fmt::format("this connection is in room {} already: one join per connection",
                       connection.room),
           /*close=*/false, join.room);
    return;
  }
  const int64_t now_ms = UnixMillis(clock_.WallNow());
  const int64_t now_s =
      std::chrono::floor<std::chrono::seconds>(clock_.WallNow().time_since_epoch()).count();
  const session::TokenCheck check =
      session::VerifyToken(join.token, config_.token_secret, join.room, now_s);
  if (!check.ok()) {
    ++stats_.token_refusals[static_cast<size_t>(check.error)];
    Refuse(connection, session::ErrorCodeFor(check.error), check.message, /*close=*/true,
           join.room);
    return;
  }
  const session::TokenClaims& claims = *check.claims;
  if (!join.identity.empty() && join.identity != claims.identity) {
    Refuse(connection, ErrorCode::kForbidden,
           fmt::format("join.identity {} is not the token's identity {}",
                       session::Quote(join.identity), session::Quote(claims.identity)),
           /*close=*/true, join.room);
    return;
  }

  auto room_it = rooms_.find(join.room);
  if (room_it == rooms_.end()) {
    if (rooms_.size() >= static_cast<size_t>(config_.max_rooms)) {
      Refuse(connection, ErrorCode::kRelayFull,
             fmt::format("the relay has its maximum of {} rooms open", config_.max_rooms),
             /*close=*/false, join.room);
      return;
    }
  } else {
    const std::vector<Member>& members = room_it->second.members;
    if (members.size() >= static_cast<size_t>(config_.max_participants_per_room)) {
      Refuse(connection, ErrorCode::kRoomFull,
             fmt::format("room {} has its maximum of {} participants", join.room,
                         config_.max_participants_per_room),
             /*close=*/false, join.room);
      return;
    }
    const bool ssrc_taken = std::any_of(members.begin(), members.end(),
                                        [&](const Member& m) { return m.ssrc == join.ssrc; });
    if (ssrc_taken) {
      Refuse(connection, ErrorCode::kSsrcInUse,
             fmt::format("SSRC {} is used by another participant of room {}: pick another",
                         join.ssrc, join.room),
             /*close=*/false, join.room);
      return;
    }
  }
  if (srtp_profile_ && join.ssrc == router_.relay_ssrc()) {
    // Its SRTCP would share the key, the SSRC and so the keystream of the relay's own
    // reports (media_router.h, "SRTP rooms").
    Refuse(connection, ErrorCode::kSsrcInUse,
           fmt::format("SSRC {} is the relay's own RTCP SSRC: pick another", join.ssrc),
           /*close=*/false, join.room);
    return;
  }
  if (participant_ids_.size() >= SignalingServer::kMaxRelayParticipants) {
    Refuse(connection, ErrorCode::kRelayFull,
           fmt::format("the relay holds its maximum of {} participants",
                       SignalingServer::kMaxRelayParticipants),
           /*close=*/false, join.room);
    return;
  }

  const bool new_room = room_it == rooms_.end();
  const uint32_t room_id = new_room ? NextRoomId() : room_it->second.id;
  const uint32_t participant_id = NextParticipantId();
  JoinSecret secret{};
  std::optional<session::SrtpInfo> srtp;
  try {
    secret = session::NewHelloSecret();
    if (new_room) srtp = NewRoomSrtp();
  } catch (const std::runtime_error& error) {
    logger_.Error("random_failed", {{"error", error.what()}});
    Refuse(connection, ErrorCode::kInternal, "the relay cannot make a join secret: try later",
           /*close=*/false, join.room);
    return;
  }
  const Rights rights{.publish = session::HasRights(claims.rights, session::Rights::kPublish),
                      .subscribe = session::HasRights(claims.rights, session::Rights::kSubscribe)};
  // The room's key for the router's SRTCP (made above for a new room; NewRoomSrtp and the
  // suite check at Start make it well-formed).
  const std::optional<session::SrtpInfo>& room_srtp = new_room ? srtp : room_it->second.srtp;
  std::optional<rtp::SrtpKeyMaterial> srtp_key;
  if (room_srtp) {
    Result<rtp::SrtpKeyMaterial> key = rtp::MakeSrtpKeyMaterial(room_srtp->suite, room_srtp->key);
    if (!key) {
      logger_.Error("media_path_failed", {{"room", join.room},
                                          {"participant_id", participant_id},
                                          {"error", key.error().message}});
      Refuse(connection, ErrorCode::kInternal, "the relay cannot use the room's SRTP key",
             /*close=*/false, join.room);
      return;
    }
    srtp_key = *key;
  }
  // The first codec (the client's preferred) gives the RTP clock of its stream for RTCP.
  const Status added =
      router_.AddParticipant(room_id, participant_id, join.ssrc, secret, rights,
                             join.capabilities.codecs.front().clock_rate_hz, srtp_key);
  if (!added) {
    logger_.Error("media_path_failed", {{"room", join.room},
                                        {"participant_id", participant_id},
                                        {"error", added.error().message}});
    Refuse(connection, ErrorCode::kInternal, "the relay is busy opening media paths: try again",
           /*close=*/false, join.room);
    return;
  }
  participant_ids_.insert(participant_id);
  if (new_room) {
    room_ids_.insert(room_id);
    room_it = rooms_
                  .emplace(join.room, Room{.id = room_id,
                                           .session_start_unix_ms = now_ms,
                                           .srtp = std::move(srtp),
                                           .members = {}})
                  .first;
    logger_.Info("room_opened", {{"room", join.room}, {"rooms", rooms_.size()}});
  }
  Room& room = room_it->second;
  if (options_.participant_listener != nullptr) {
    options_.participant_listener->OnParticipantAdmitted(
        AdmittedParticipant{.room_id = room.id,
                            .room = join.room,
                            .session_start_unix_ms = room.session_start_unix_ms,
                            .participant_id = participant_id,
                            .identity = claims.identity,
                            .ssrc = join.ssrc,
                            .rights = rights,
                            .codecs = join.capabilities.codecs,
                            .srtp = room.srtp});
  }

  session::Joined joined;
  joined.participant_id = participant_id;
  joined.session_start_unix_ms = room.session_start_unix_ms;
  joined.media.address = MediaAddressFor(connection).ToString();
  joined.media.hello_secret = secret;
  joined.srtp = room.srtp;
  joined.peers.reserve(room.members.size());
  for (const Member& member : room.members) {
    joined.peers.push_back({member.participant_id, member.identity, member.ssrc});
  }
  connection.participant_id = participant_id;
  connection.room = join.room;
  connection.Send(session::Serialize(joined));

  const std::string note =
      session::Serialize(session::PeerJoined{{participant_id, claims.identity, join.ssrc}});
  for (const Member& member : room.members) member.connection->Send(note);
  room.members.push_back(Member{participant_id, claims.identity, join.ssrc, &connection});
  ++participant_count_;
  ++stats_.joins;
  logger_.Info("participant_joined", {{"room", join.room},
                                      {"participant_id", participant_id},
                                      {"identity", claims.identity},
                                      {"ssrc", join.ssrc},
                                      {"publish", rights.publish},
                                      {"subscribe", rights.subscribe},
                                      {"remote", connection.remote.ToString()},
                                      {"media", joined.media.address}});
}

void Server::HandleLeave(Connection& connection) {
  if (connection.participant_id) RemoveMember(connection, "leave");
  connection.Close(websocket::close_code::normal, "left");
}

void Server::RemoveMember(Connection& connection, std::string_view how) {
  const uint32_t participant_id = *connection.participant_id;
  const std::string room_name = std::move(connection.room);
  connection.participant_id.reset();
  connection.room.clear();

  const std::optional<ParticipantCounters> counters = router_.participant_counters(participant_id);
  if (counters) Add(departed_traffic_, *counters);
  if (router_.RemoveParticipant(participant_id)) {
    participant_ids_.erase(participant_id);
  } else {
    // The command queue is full: the media thread has not caught up. The id stays taken
    // until the removal goes through.
    pending_removals_.push_back(participant_id);
    if (pending_removals_.size() == 1) RetryRemovals();
  }
  --participant_count_;
  ++stats_.leaves;
  if (options_.participant_listener != nullptr) {
    options_.participant_listener->OnParticipantRemoved(participant_id);
  }

  auto room_it = rooms_.find(room_name);
  if (room_it != rooms_.end()) {
    Room& room = room_it->second;
    std::erase_if(room.members,
                  [&](const Member& member) { return member.participant_id == participant_id; });
    if (!shutting_down_) {
      const std::string note = session::Serialize(session::PeerLeft{participant_id});
      for (const Member& member : room.members) member.connection->Send(note);
    }
    if (room.members.empty()) {
      const double duration_s =
          static_cast<double>(UnixMillis(clock_.WallNow()) - room.session_start_unix_ms) / 1000.0;
      room_ids_.erase(room.id);
      rooms_.erase(room_it);
      logger_.Info("room_closed",
                   {{"room", room_name}, {"duration_s", duration_s}, {"rooms", rooms_.size()}});
    }
  }
  const ParticipantCounters traffic = counters.value_or(ParticipantCounters{});
  logger_.Info("participant_left", {{"room", room_name},
                                    {"participant_id", participant_id},
                                    {"how", how},
                                    {"packets_in", traffic.packets_in},
                                    {"bytes_in", traffic.bytes_in},
                                    {"packets_out", traffic.packets_out},
                                    {"bytes_out", traffic.bytes_out},
                                    {"packets_dropped", traffic.packets_dropped},
                                    {"latches", traffic.latches}});
}

void Server::RetryRemovals() {
  removal_retry_timer_.expires_after(kRemovalRetryDelay);
  removal_retry_timer_.async_wait([this](const beast::error_code& error) {
    if (error) return;
    std::erase_if(pending_removals_, [this](uint32_t participant_id) {
      const bool gone = !router_.participant_counters(participant_id).has_value() ||
                        router_.RemoveParticipant(participant_id).ok();
      if (gone) participant_ids_.erase(participant_id);
      return gone;
    });
    if (!pending_removals_.empty()) RetryRemovals();
  });
}

uint32_t Server::NextParticipantId() {
  for (;;) {
    const uint32_t id = next_participant_id_++;
    if (id != 0 && !participant_ids_.contains(id)) return id;
  }
}

uint32_t Server::NextRoomId() {
  for (;;) {
    const uint32_t id = next_room_id_++;
    if (id != 0 && !room_ids_.contains(id)) return id;
  }
}

std::optional<session::SrtpInfo> Server::NewRoomSrtp() {
  if (!srtp_profile_) return std::nullopt;
  session::SrtpInfo srtp;
  srtp.suite = config_.srtp_suite;
  srtp.key.resize(rtp::kSrtpMasterKeyBytes + rtp::SrtpMasterSaltBytes(*srtp_profile_));
  if (RAND_bytes(srtp.key.data(), static_cast<int>(srtp.key.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed: OpenSSL's random generator is not seeded");
  }
  return srtp;
}

net::SocketAddress Server::MediaAddressFor(const Connection& connection) const {
  if (public_media_address_) return *public_media_address_;
  if (!media_address_.is_unspecified()) return media_address_;
  return WithPort(connection.local, media_address_.port());
}

SignalingStats Server::CollectStats() const {
  SignalingStats stats = stats_;
  stats.connections_open = connections_.size();
  stats.rooms = rooms_.size();
  stats.participants = participant_count_;
  stats.traffic = departed_traffic_;
  for (const auto& [name, room] : rooms_) {
    for (const Member& member : room.members) {
      if (auto counters = router_.participant_counters(member.participant_id)) {
        Add(stats.traffic, *counters);
      }
    }
  }
  return stats;
}

Result<SignalingStats> Server::Stats() {
  if (!running_) return CollectStats();
  auto promise = std::make_shared<std::promise<SignalingStats>>();
  std::future<SignalingStats> future = promise->get_future();
  asio::post(ioc_, [this, promise] { promise->set_value(CollectStats()); });
  if (future.wait_for(kStatsWait) != std::future_status::ready) {
    return Error{"the signaling thread did not answer within 1 s"};
  }
  return future.get();
}

void Server::BeginShutdown() {
  shutting_down_ = true;
  beast::error_code ignored;
  acceptor_.close(ignored);
  accept_retry_timer_.cancel();
  removal_retry_timer_.cancel();
  logger_.Info("signaling_stopping",
               {{"connections", connections_.size()}, {"participants", participant_count_}});
  if (connections_.empty()) {
    ioc_.stop();
    return;
  }
  // Close may finish a connection (and erase it) only later, from a handler: iterate a copy.
  std::vector<std::shared_ptr<Connection>> open;
  for (const auto& [id, connection] : connections_) open.push_back(connection);
  for (const auto& connection : open) {
    connection->Close(websocket::close_code::going_away, "relay shutting down");
  }
  shutdown_timer_.expires_after(options_.shutdown_timeout);
  shutdown_timer_.async_wait([this](const beast::error_code& error) {
    if (error) return;
    logger_.Warn("shutdown_timeout", {{"connections_left", connections_.size()}});
    ioc_.stop();
  });
}

void Server::Stop() {
  if (!running_) return;
  asio::post(ioc_, [this] { BeginShutdown(); });
  thread_.join();
  running_ = false;
  // Connections that did not close in time: their participants leave the router now (the
  // server's thread has ended, so this thread is the control side).
  for (auto& [id, connection] : connections_) {
    if (connection->participant_id) RemoveMember(*connection, "shutdown");
  }
  connections_.clear();
}

}  // namespace

// ---- SignalingServer ------------------------------------------------------------------------

struct SignalingServer::Impl {
  Impl(const session::RelayConfig& config, const net::SocketAddress& media_address,
       MediaRouter& router, Logger& logger, const Options& options, const Clock& clock)
      : server(config, media_address, router, logger, options, clock) {}
  Server server;
};

Result<std::unique_ptr<SignalingServer>> SignalingServer::Start(
    const session::RelayConfig& config, const net::SocketAddress& media_address,
    MediaRouter& router, Logger& logger, const Options& options, const Clock& clock) {
  if (options.handshake_timeout.count() <= 0 || options.idle_timeout.count() <= 0 ||
      options.shutdown_timeout.count() < 0 || options.max_connections == 0 ||
      options.max_queued_messages == 0) {
    throw std::invalid_argument(
        "SignalingServerOptions: timeouts must be > 0 (shutdown >= 0), limits > 0");
  }
  auto impl = std::make_unique<Impl>(config, media_address, router, logger, options, clock);
  Status opened = impl->server.Open();
  if (!opened) return opened.error();
  impl->server.Run();
  return std::unique_ptr<SignalingServer>(new SignalingServer(std::move(impl)));
}

SignalingServer::SignalingServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SignalingServer::~SignalingServer() { Stop(); }

const net::SocketAddress& SignalingServer::local_address() const {
  return impl_->server.local_address();
}

bool SignalingServer::tls() const { return impl_->server.tls(); }

void SignalingServer::Stop() { impl_->server.Stop(); }

Result<SignalingStats> SignalingServer::stats() const { return impl_->server.Stats(); }

}  // namespace parley::relay
