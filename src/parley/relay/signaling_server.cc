// The one translation unit of the relay that includes Boost.Beast's WebSocket (it is slow
// to compile): the connection template is instantiated twice, for ws:// and wss://. The
// Server class below accepts connections and hands their frames to SignalingRooms
// (signaling_rooms.h), where rooms, joins and counters are plain code.
#include "parley/relay/signaling_server.h"

#include <fmt/format.h>
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

class Server;

// One WebSocket client: a SignalingPeer whose frames the server hands to its rooms.
// Everything runs on the server's thread.
class Connection : public SignalingPeer, public std::enable_shared_from_this<Connection> {
 public:
  Connection(Server& server, uint64_t connection_id, net::SocketAddress remote_at,
             net::SocketAddress media_at)
      : SignalingPeer(connection_id, remote_at, media_at), server_(server) {}

  // TLS handshake when serving wss://, WebSocket handshake, then reading.
  virtual void Start() = 0;

 protected:
  Server& server_;
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
  void ScheduleRemovalRetry();
  net::SocketAddress MediaAddressFor(const tcp::endpoint& local) const;
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

  // Server-thread state. The rooms are made once the configuration is checked (Open).
  std::optional<SignalingRooms> rooms_;
  std::map<uint64_t, std::shared_ptr<Connection>> connections_;
  uint64_t next_connection_id_ = 1;
  bool shutting_down_ = false;
  SignalingStats stats_;  // the connection figures; the rest is the rooms'
};

// ---- WebSocket connection, for ws:// (beast::tcp_stream) and wss:// -----------------------

template <typename NextLayer>
class WsConnection final : public Connection {
 public:
  static constexpr bool kTls = !std::is_same_v<NextLayer, beast::tcp_stream>;

  template <typename... StreamArgs>
  WsConnection(Server& server, uint64_t connection_id, net::SocketAddress remote_at,
               net::SocketAddress media_at, StreamArgs&&... stream_args)
      : Connection(server, connection_id, remote_at, media_at),
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

  void Close(CloseCode code, std::string_view reason) override {
    if (state_ == State::kHandshake) {
      state_ = State::kClosing;
      beast::get_lowest_layer(ws_).close();
      return;
    }
    if (state_ != State::kOpen) return;
    state_ = State::kClosing;
    websocket::close_reason close_reason(static_cast<websocket::close_code>(code));
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
  rooms_.emplace(
      config_, srtp_profile_, router_, logger_, clock_,
      SignalingRooms::Options{.max_logged_refusals = options_.max_logged_refusals,
                              .participant_listener = options_.participant_listener,
                              .schedule_removal_retry = [this] { ScheduleRemovalRetry(); }});
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
    connection = std::make_shared<TlsConnection>(
        *this, id, FromEndpoint(remote), MediaAddressFor(local), std::move(socket), *ssl_context_);
  } else {
    connection = std::make_shared<PlainConnection>(*this, id, FromEndpoint(remote),
                                                   MediaAddressFor(local), std::move(socket));
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
  rooms_->OnText(connection, text);
}

void Server::OnBinary(Connection& connection) { rooms_->OnBinary(connection); }

void Server::OnOversized(Connection& connection) { rooms_->OnOversized(connection); }

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
    rooms_->OnClosed(connection, "closed");
    logger_.Debug("connection_closed", {{"connection", connection.id},
                                        {"remote", connection.remote.ToString()},
                                        {"reason", error.message()}});
  }
  connections_.erase(connection.id);
  if (shutting_down_ && connections_.empty()) ioc_.stop();
}

void Server::ScheduleRemovalRetry() {
  removal_retry_timer_.expires_after(kRemovalRetryDelay);
  removal_retry_timer_.async_wait([this](const beast::error_code& error) {
    if (!error && rooms_->RetryRemovals()) ScheduleRemovalRetry();
  });
}

net::SocketAddress Server::MediaAddressFor(const tcp::endpoint& local) const {
  if (public_media_address_) return *public_media_address_;
  if (!media_address_.is_unspecified()) return media_address_;
  return WithPort(local, media_address_.port());
}

SignalingStats Server::CollectStats() const {
  SignalingStats stats = rooms_->Stats();
  stats.connections_accepted = stats_.connections_accepted;
  stats.connections_refused = stats_.connections_refused;
  stats.handshake_failures = stats_.handshake_failures;
  stats.connections_open = connections_.size();
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
  rooms_->BeginShutdown();
  beast::error_code ignored;
  acceptor_.close(ignored);
  accept_retry_timer_.cancel();
  removal_retry_timer_.cancel();
  logger_.Info("signaling_stopping", {{"connections", connections_.size()},
                                      {"participants", rooms_->participant_count()}});
  if (connections_.empty()) {
    ioc_.stop();
    return;
  }
  // Close may finish a connection (and erase it) only later, from a handler: iterate a copy.
  std::vector<std::shared_ptr<Connection>> open;
  for (const auto& [id, connection] : connections_) open.push_back(connection);
  for (const auto& connection : open) {
    connection->Close(CloseCode::kGoingAway, "relay shutting down");
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
  for (auto& [id, connection] : connections_) rooms_->OnClosed(*connection, "shutdown");
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
