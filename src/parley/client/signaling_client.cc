// The one translation unit of the client that includes Boost.Beast (it compiles slowly):
// keep every WebSocket detail here.
#include "parley/client/signaling_client.h"

#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <utility>
#include <variant>

namespace parley::client {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

// Completion tokens that return (error_code, result...) instead of throwing.
constexpr auto kUse = asio::as_tuple(asio::use_awaitable);

using PlainStream = websocket::stream<beast::tcp_stream>;
using TlsStream = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

// Refusals a later attempt may not meet: the relay is busy or broken, or still holds the
// participant of the connection that was lost (ssrc_in_use) until it notices.
bool Retryable(session::ErrorCode code) {
  switch (code) {
    case session::ErrorCode::kInternal:
    case session::ErrorCode::kRelayFull:
    case session::ErrorCode::kRoomFull:
    case session::ErrorCode::kSsrcInUse:
      return true;
    default:
      return false;
  }
}

// How one session (connect, join, messages) ended.
struct Outcome {
  bool joined = false;
  std::string reason;
  std::optional<session::ErrorMessage> refusal;
};

bool AllDigits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

std::string WebSocketUrl::HostHeader() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<WebSocketUrl> ParseWebSocketUrl(std::string_view text) {
  const std::string quoted = "signaling URL '" + std::string(text) + "'";
  WebSocketUrl url;
  std::string_view rest;
  if (text.starts_with("ws://")) {
    rest = text.substr(5);
    url.port = 80;
  } else if (text.starts_with("wss://")) {
    url.tls = true;
    rest = text.substr(6);
    url.port = 443;
  } else {
    return Error{quoted + ": expected ws://host:port/path or wss://host:port/path"};
  }
  if (rest.find('#') != std::string_view::npos)
    return Error{quoted + ": a fragment (#) is not allowed"};
  const size_t path_start = rest.find_first_of("/?");
  const std::string_view authority = rest.substr(0, path_start);
  if (path_start == std::string_view::npos) {
    url.target = "/";
  } else {
    url.target = std::string(rest.substr(path_start));
    if (url.target.front() == '?') url.target.insert(0, "/");
  }
  if (authority.find('@') != std::string_view::npos) {
    return Error{quoted + ": user information (user@host) is not supported"};
  }
  std::string_view host;
  std::string_view port_text;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return Error{quoted + ": IPv6 address without ']'"};
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Error{quoted + ": expected ':port' after ']'"};
      port_text = after.substr(1);
      has_port = true;
    }
  } else {
    const size_t colon = authority.rfind(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      has_port = true;
    }
    if (host.find(':') != std::string_view::npos) {
      return Error{quoted + ": an IPv6 address needs brackets, e.g. ws://[::1]:8443/"};
    }
  }
  if (host.empty()) return Error{quoted + ": the host is empty"};
  if (has_port) {
    if (!AllDigits(port_text) || port_text.size() > 5 || std::stoi(std::string(port_text)) < 1 ||
        std::stoi(std::string(port_text)) > 65535) {
      return Error{quoted + ": port '" + std::string(port_text) + "' is not 1..65535"};
    }
    url.port = static_cast<uint16_t>(std::stoi(std::string(port_text)));
  }
  url.host = std::string(host);
  return url;
}

struct SignalingClient::Impl {
  Impl(Config config_in, SignalingListener& listener_in)
      : config(std::move(config_in)), listener(listener_in) {}

  asio::awaitable<void> Run();
  template <typename Stream>
  asio::awaitable<Outcome> RunSession();
  template <typename Stream>
  asio::awaitable<void> LeaveAndClose(std::shared_ptr<Stream> ws);
  void ReportFirst(Result<session::Joined> result);
  void MarkDone();

  // Declared before the io_context so that they outlive the coroutine frames it destroys
  // when it is destroyed with work still pending.
  // Passed by argument.
  const Config config;
  SignalingListener& listener;
  // Others (set by Join before the thread starts).
  WebSocketUrl url;
  std::string join_text;
  std::unique_ptr<asio::ssl::context> tls;
  // The io thread's own.
  bool leaving = false;
  bool ever_joined = false;
  bool join_sent = false;  // of the current session: `leave` may follow
  std::function<void()> stop_session;
  // Join()'s and Leave()'s wait.
  std::mutex mutex;
  std::condition_variable cv;
  std::optional<Result<session::Joined>> first;
  bool done = false;
  // Counters, any thread.
  std::atomic<uint64_t> connects{0};
  std::atomic<uint64_t> joins{0};
  std::atomic<uint64_t> disconnects{0};
  std::atomic<uint64_t> refusals{0};
  std::atomic<uint64_t> relay_errors{0};
  std::atomic<uint64_t> ignored{0};

  asio::io_context ioc{1};
  // Declared after the io_context: destroyed before it, as Asio requires.
  asio::steady_timer retry_timer{ioc};
  std::thread thread;
};

void SignalingClient::Impl::ReportFirst(Result<session::Joined> result) {
  std::lock_guard lock(mutex);
  if (!first) first.emplace(std::move(result));
  cv.notify_all();
}

void SignalingClient::Impl::MarkDone() {
  std::lock_guard lock(mutex);
  done = true;
  if (!first) first.emplace(Error{"signaling stopped before the relay answered"});
  cv.notify_all();
}

template <typename Stream>
asio::awaitable<void> SignalingClient::Impl::LeaveAndClose(std::shared_ptr<Stream> ws) {
  const std::string text = session::Serialize(session::Leave{});
  auto wrote = co_await ws->async_write(asio::buffer(text), kUse);
  if (std::get<0>(wrote)) {
    beast::get_lowest_layer(*ws).cancel();
    co_return;
  }
  auto closed = co_await ws->async_close(websocket::close_code::normal, kUse);
  if (std::get<0>(closed)) beast::get_lowest_layer(*ws).cancel();
}

template <typename Stream>
asio::awaitable<Outcome> SignalingClient::Impl::RunSession() {
  constexpr bool kTls = std::is_same_v<Stream, TlsStream>;
  Outcome outcome;
  std::shared_ptr<Stream> ws;
  if constexpr (kTls) {
    ws = std::make_shared<Stream>(ioc, *tls);
  } else {
    ws = std::make_shared<Stream>(ioc);
  }
  auto& lowest = beast::get_lowest_layer(*ws);
  join_sent = false;
  const std::weak_ptr<Stream> weak = ws;
  // How Leave() stops this session: before the join is out, by cancelling what is under
  // way; after, with `leave` and a close handshake.
  stop_session = [this, weak] {
    auto stream = weak.lock();
    if (!stream) return;
    if (join_sent) {
      asio::co_spawn(ioc, LeaveAndClose(stream), [](std::exception_ptr) {});
    } else {
      beast::get_lowest_layer(*stream).cancel();
    }
  };
  struct Cleanup {
    Impl* impl;
    ~Cleanup() {
      impl->stop_session = nullptr;
      impl->join_sent = false;
    }
  } cleanup{this};
  const std::string where = url.HostHeader();

  tcp::resolver resolver(ioc);
  auto resolved = co_await resolver.async_resolve(url.host, std::to_string(url.port), kUse);
  if (std::get<0>(resolved)) {
    outcome.reason = "resolving " + url.host + ": " + std::get<0>(resolved).message();
    co_return outcome;
  }
  if (leaving) co_return outcome;
  lowest.expires_after(config.connect_timeout);
  auto connected = co_await lowest.async_connect(std::get<1>(resolved), kUse);
  if (std::get<0>(connected)) {
    outcome.reason = "connecting to " + where + ": " + std::get<0>(connected).message();
    co_return outcome;
  }
  if constexpr (kTls) {
    // SNI carries host names only (RFC 6066 3): a literal address is not sent.
    beast::error_code not_an_address;
    asio::ip::make_address(url.host, not_an_address);
    if (not_an_address &&
        !SSL_set_tlsext_host_name(ws->next_layer().native_handle(), url.host.c_str())) {
      outcome.reason = "TLS with " + where + ": cannot set the server name (SNI)";
      co_return outcome;
    }
    if (config.verify_peer) {
      ws->next_layer().set_verify_callback(asio::ssl::host_name_verification(url.host));
    }
    auto handshake =
        co_await ws->next_layer().async_handshake(asio::ssl::stream_base::client, kUse);
    if (std::get<0>(handshake)) {
      outcome.reason = "TLS handshake with " + where + ": " + std::get<0>(handshake).message();
      co_return outcome;
    }
  }
  ws->set_option(websocket::stream_base::decorator([](websocket::request_type& request) {
    request.set(beast::http::field::user_agent, "parley-call");
  }));
  ws->read_message_max(session::kMaxMessageBytes);
  auto upgraded = co_await ws->async_handshake(url.HostHeader(), url.target, kUse);
  if (std::get<0>(upgraded)) {
    outcome.reason =
        "WebSocket handshake with " + where + url.target + ": " + std::get<0>(upgraded).message();
    co_return outcome;
  }
  ++connects;
  if (leaving) co_return outcome;
  ws->text(true);

  lowest.expires_after(config.join_timeout);
  auto wrote = co_await ws->async_write(asio::buffer(join_text), kUse);
  if (std::get<0>(wrote)) {
    outcome.reason = "sending join to " + where + ": " + std::get<0>(wrote).message();
    co_return outcome;
  }
  join_sent = true;

  beast::flat_buffer buffer;
  for (;;) {
    auto read = co_await ws->async_read(buffer, kUse);
    const beast::error_code error = std::get<0>(read);
    if (error) {
      if (error == websocket::error::closed) {
        const std::string said(ws->reason().reason.c_str());
        outcome.reason = "the relay closed the connection" + (said.empty() ? "" : ": " + said);
      } else if (error == beast::error::timeout) {
        outcome.reason = outcome.joined ? "no sign of life from the relay for " +
                                              std::to_string(config.idle_timeout.count()) + " ms"
                                        : "no answer to join within " +
                                              std::to_string(config.join_timeout.count()) + " ms";
      } else {
        outcome.reason = "connection to " + where + " lost: " + error.message();
      }
      co_return outcome;
    }
    const std::string text = beast::buffers_to_string(buffer.data());
    buffer.consume(buffer.size());
    auto message = session::ParseRelayMessage(text);
    if (!message) {
      ++ignored;
      continue;
    }
    if (const auto* joined = std::get_if<session::Joined>(&*message)) {
      if (outcome.joined) {
        ++ignored;
        continue;
      }
      outcome.joined = true;
      // From here the WebSocket's own timeouts watch the connection (the TCP stream's
      // must then be off, as Beast requires): pings when idle, a dead relay detected.
      lowest.expires_never();
      ws->set_option(
          websocket::stream_base::timeout{config.connect_timeout, config.idle_timeout, true});
      ++joins;
      const bool rejoined = ever_joined;
      ever_joined = true;
      listener.OnJoined(*joined, rejoined);
      if (!rejoined) ReportFirst(*joined);
    } else if (const auto* refused = std::get_if<session::ErrorMessage>(&*message)) {
      if (outcome.joined) {
        ++relay_errors;
        listener.OnRelayError(*refused);
        continue;
      }
      ++refusals;
      outcome.refusal = *refused;
      outcome.reason =
          "the relay refused the join: " + std::string(session::ErrorCodeName(refused->code)) +
          ": " + refused->message;
      // A Leave() from now on cancels the close rather than writing beside it.
      join_sent = false;
      if (!leaving) co_await ws->async_close(websocket::close_code::normal, kUse);
      co_return outcome;
    } else if (!outcome.joined) {
      ++ignored;  // peer events before `joined` break the protocol's order
    } else if (const auto* peer_joined = std::get_if<session::PeerJoined>(&*message)) {
      listener.OnPeerJoined(peer_joined->peer);
    } else if (const auto* peer_left = std::get_if<session::PeerLeft>(&*message)) {
      listener.OnPeerLeft(peer_left->participant_id);
    }
  }
}

asio::awaitable<void> SignalingClient::Impl::Run() {
  Backoff backoff(config.backoff);
  for (;;) {
    // Not a ?: expression: GCC 12 destroys the temporaries of a co_await inside one twice.
    Outcome outcome;
    if (url.tls) {
      outcome = co_await RunSession<TlsStream>();
    } else {
      outcome = co_await RunSession<PlainStream>();
    }
    if (leaving) break;
    if (!ever_joined) {
      ReportFirst(Error{outcome.reason.empty() ? "signaling failed" : outcome.reason});
      break;
    }
    if (outcome.joined) {
      ++disconnects;
      backoff.Reset();
    }
    if (outcome.refusal && !Retryable(outcome.refusal->code)) {
      listener.OnFailed(Error{outcome.reason});
      break;
    }
    if (!config.reconnect) {
      listener.OnFailed(Error{outcome.reason + " (reconnecting is off)"});
      break;
    }
    const std::chrono::milliseconds delay = backoff.NextDelay();
    listener.OnDisconnected(outcome.reason, delay);
    retry_timer.expires_after(delay);
    co_await retry_timer.async_wait(kUse);
    if (leaving) break;
  }
}

SignalingClient::SignalingClient(Config config, SignalingListener& listener) {
  if (config.connect_timeout.count() <= 0 || config.join_timeout.count() <= 0 ||
      config.idle_timeout.count() <= 0 || config.leave_timeout.count() <= 0) {
    throw std::invalid_argument("SignalingClientConfig: every timeout must be > 0");
  }
  Backoff check(config.backoff);  // throws for a bad back-off config
  impl_ = std::make_unique<Impl>(std::move(config), listener);
}

SignalingClient::~SignalingClient() { Leave(); }

Result<session::Joined> SignalingClient::Join(const session::Join& join) {
  Impl& impl = *impl_;
  if (impl.thread.joinable() || impl.done)
    throw std::logic_error("SignalingClient::Join called twice");
  auto url = ParseWebSocketUrl(impl.config.url);
  if (!url) return url.error();
  impl.url = *url;
  try {
    impl.join_text = session::Serialize(join);
  } catch (const std::invalid_argument& error) {
    return Error{std::string("join: ") + error.what()};
  }
  if (impl.url.tls) {
    impl.tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    beast::error_code error;
    if (!impl.config.ca_file.empty()) {
      impl.tls->load_verify_file(impl.config.ca_file, error);
    } else {
      impl.tls->set_default_verify_paths(error);
    }
    if (error) return Error{"TLS trust store " + impl.config.ca_file + ": " + error.message()};
    impl.tls->set_verify_mode(impl.config.verify_peer ? asio::ssl::verify_peer
                                                      : asio::ssl::verify_none);
  }
  asio::co_spawn(impl.ioc, impl.Run(), [&impl](std::exception_ptr failure) {
    if (failure) {
      std::string what = "signaling failed";
      try {
        std::rethrow_exception(failure);
      } catch (const std::exception& error) {
        what += std::string(": ") + error.what();
      } catch (...) {
      }
      if (impl.ever_joined) impl.listener.OnFailed(Error{what});
      impl.ReportFirst(Error{what});
    }
    impl.MarkDone();
  });
  impl.thread = std::thread([&impl] { impl.ioc.run(); });

  std::optional<Result<session::Joined>> outcome;
  {
    std::unique_lock lock(impl.mutex);
    // Every step has its own timeout; this bound only guards against a bug in them.
    const auto bound =
        impl.config.connect_timeout + impl.config.join_timeout + std::chrono::seconds(2);
    impl.cv.wait_for(lock, bound, [&] { return impl.first.has_value(); });
    outcome = impl.first;
  }
  if (!outcome) {
    Leave();
    return Error{"no answer from the relay at " + impl.config.url};
  }
  if (!outcome->ok()) Leave();
  return *outcome;
}

void SignalingClient::Leave() {
  Impl& impl = *impl_;
  if (!impl.thread.joinable()) return;
  asio::post(impl.ioc, [&impl] {
    impl.leaving = true;
    impl.retry_timer.cancel();
    if (impl.stop_session) impl.stop_session();
  });
  {
    std::unique_lock lock(impl.mutex);
    impl.cv.wait_for(lock, impl.config.leave_timeout, [&] { return impl.done; });
  }
  impl.ioc.stop();
  impl.thread.join();
}

SignalingCounters SignalingClient::counters() const {
  const Impl& impl = *impl_;
  return {impl.connects.load(), impl.joins.load(),        impl.disconnects.load(),
          impl.refusals.load(), impl.relay_errors.load(), impl.ignored.load()};
}

}  // namespace parley::client
