// The relay's one translation unit with Boost.Beast's HTTP (without the WebSocket).
#include "parley/relay/http_endpoint.h"

#include <fmt/format.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstring>
#include <exception>
#include <optional>
#include <stdexcept>
#include <thread>

namespace parley::relay {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr uint32_t kMaxHeaderBytes = 8 * 1024;
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};

class Endpoint;

class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
 public:
  HttpConnection(Endpoint& endpoint, tcp::socket socket);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  void Read();

 private:
  void OnRead(const beast::error_code& error);
  void Close();

  Endpoint& endpoint_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> parser_;
  http::response<http::string_body> response_;
};

class Endpoint {
 public:
  Endpoint(HttpEndpoint::Handler handler, Logger& logger, const HttpEndpointOptions& options)
      : handler_(std::move(handler)),
        logger_(logger),
        options_(options),
        acceptor_(ioc_),
        accept_retry_timer_(ioc_) {}
  ~Endpoint() { Stop(); }

  Status Open(const net::SocketAddress& bind) {
    tcp::endpoint endpoint;
    std::memcpy(endpoint.data(), bind.sockaddr_ptr(), bind.sockaddr_length());
    endpoint.resize(bind.sockaddr_length());
    beast::error_code error;
    acceptor_.open(endpoint.protocol(), error);
    if (!error) acceptor_.set_option(asio::socket_base::reuse_address(true), error);
    if (!error) acceptor_.bind(endpoint, error);
    if (!error) acceptor_.listen(asio::socket_base::max_listen_connections, error);
    if (error) return Error{fmt::format("bind {}: {}", bind.ToString(), error.message())};
    const tcp::endpoint local = acceptor_.local_endpoint();
    local_address_ =
        net::SocketAddress::FromSockaddr(local.data(), static_cast<socklen_t>(local.size()));
    Accept();
    thread_ = std::thread([this] { ioc_.run(); });
    return Status::Ok();
  }

  void Stop() {
    if (!thread_.joinable()) return;
    asio::post(ioc_, [this] {
      beast::error_code ignored;
      acceptor_.close(ignored);
      ioc_.stop();
    });
    thread_.join();
  }

  const net::SocketAddress& local_address() const { return local_address_; }
  const HttpEndpointOptions& options() const { return options_; }
  Logger& logger() { return logger_; }

  HttpResponse Answer(std::string_view target) {
    try {
      return handler_(target);
    } catch (const std::exception& error) {
      logger_.Error("http_handler_failed",
                    {{"target", target.substr(0, 100)}, {"error", error.what()}});
      return HttpResponse{.status = 500, .body = "internal error\n"};
    }
  }
  void OnClosed() { --open_connections_; }

 private:
  void Accept() {
    acceptor_.async_accept([this](const beast::error_code& error, tcp::socket socket) {
      if (error == asio::error::operation_aborted) return;
      if (error) {
        logger_.Warn("http_accept_failed", {{"error", error.message()}});
        accept_retry_timer_.expires_after(kAcceptRetryDelay);
        accept_retry_timer_.async_wait([this](const beast::error_code& wait_error) {
          if (!wait_error) Accept();
        });
        return;
      }
      if (open_connections_ < options_.max_connections) {
        ++open_connections_;
        std::make_shared<HttpConnection>(*this, std::move(socket))->Read();
      }
      Accept();
    });
  }

  // Passed by argument.
  HttpEndpoint::Handler handler_;
  Logger& logger_;
  const HttpEndpointOptions options_;
  // Allocated by this. Declared before the io_context, which destroys the connections it
  // still holds when it goes.
  size_t open_connections_ = 0;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  asio::steady_timer accept_retry_timer_;
  net::SocketAddress local_address_;
  std::thread thread_;
};

HttpConnection::HttpConnection(Endpoint& endpoint, tcp::socket socket)
    : endpoint_(endpoint), stream_(std::move(socket)) {}

HttpConnection::~HttpConnection() { endpoint_.OnClosed(); }

void HttpConnection::Read() {
  parser_.emplace();
  parser_->header_limit(kMaxHeaderBytes);
  stream_.expires_after(endpoint_.options().request_timeout);
  http::async_read(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](const beast::error_code& error, size_t) { self->OnRead(error); });
}

void HttpConnection::OnRead(const beast::error_code& error) {
  if (error) return Close();
  const http::request<http::empty_body>& request = parser_->get();
  const bool head = request.method() == http::verb::head;
  HttpResponse answer;
  if (request.method() != http::verb::get && !head) {
    answer = HttpResponse{.status = 405, .body = "method not allowed: GET or HEAD\n"};
  } else {
    const auto target = request.target();
    answer = endpoint_.Answer(std::string_view(target.data(), target.size()));
  }
  response_ = {};
  response_.version(request.version());
  response_.result(static_cast<unsigned>(answer.status));
  response_.set(http::field::server, "parley-relay");
  response_.set(http::field::content_type, answer.content_type);
  response_.set(http::field::cache_control, "no-store");
  if (answer.status == 405) response_.set(http::field::allow, "GET, HEAD");
  response_.keep_alive(request.keep_alive());
  response_.body() = std::move(answer.body);
  response_.prepare_payload();
  if (head) response_.body().clear();  // Content-Length stays that of the GET answer
  http::async_write(stream_, response_,
                    [self = shared_from_this()](const beast::error_code& write_error, size_t) {
                      if (write_error || !self->response_.keep_alive()) return self->Close();
                      self->Read();
                    });
}

void HttpConnection::Close() {
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream_.close();
}

}  // namespace

struct HttpEndpoint::Impl {
  Impl(Handler handler, Logger& logger, const Options& options)
      : endpoint(std::move(handler), logger, options) {}
  Endpoint endpoint;
};

Result<std::unique_ptr<HttpEndpoint>> HttpEndpoint::Start(const net::SocketAddress& bind,
                                                          Handler handler, Logger& logger,
                                                          const Options& options) {
  if (!handler) throw std::invalid_argument("HttpEndpoint: empty handler");
  if (options.request_timeout.count() <= 0 || options.max_connections == 0) {
    throw std::invalid_argument("HttpEndpointOptions: request_timeout and max_connections > 0");
  }
  auto impl = std::make_unique<Impl>(std::move(handler), logger, options);
  Status opened = impl->endpoint.Open(bind);
  if (!opened) return opened.error();
  return std::unique_ptr<HttpEndpoint>(new HttpEndpoint(std::move(impl)));
}

HttpEndpoint::HttpEndpoint(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpEndpoint::~HttpEndpoint() { Stop(); }

const net::SocketAddress& HttpEndpoint::local_address() const {
  return impl_->endpoint.local_address();
}

void HttpEndpoint::Stop() { impl_->endpoint.Stop(); }

}  // namespace parley::relay
