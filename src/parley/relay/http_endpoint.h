// A small HTTP/1.1 server for operations: the relay's Prometheus metrics and health check
// (relay.h routes the paths). Not for the internet: it serves GET and HEAD, reads no
// request body, and answers each request with what one handler call returns.
//
//   request line and headers at most 8 KiB; a body, a malformed request or a slow one
//   (Options::request_timeout per request) closes the connection without an answer.
//   Keep-alive is honoured (Prometheus reuses its connection between scrapes).
//   Methods other than GET and HEAD: 405 without calling the handler. HEAD: the GET
//   answer without its body.
//
// Threading: the endpoint runs one thread of its own (an Asio io_context); the handler is
// called there, one request at a time, and must be safe to call from that thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "parley/base/log.h"
#include "parley/base/result.h"
#include "parley/net/udp_socket.h"

namespace parley::relay {

struct HttpResponse {
  int status = 200;  // 200, 404, 503...
  std::string content_type = "text/plain; charset=utf-8";
  std::string body{};
};

struct HttpEndpointOptions {
  // Time to receive one request and send its answer; an idle keep-alive connection is
  // closed after it too. 5 s: a scraper on the same network answers in milliseconds.
  std::chrono::milliseconds request_timeout{5'000};
  // Connections open at once; beyond, a new one is closed at once. 64: a few scrapers
  // and health checkers. > 0.
  size_t max_connections = 64;
};

class HttpEndpoint {
 public:
  using Options = HttpEndpointOptions;
  // The path and query as requested ("/metrics", "/healthz?verbose=1").
  using Handler = std::function<HttpResponse(std::string_view target)>;

  // Listens on TCP `bind` (port 0: any free port; see local_address()) and starts the
  // endpoint's thread. `logger` is passed by argument and must outlive the endpoint.
  // Error: the address cannot be bound. Throws std::invalid_argument for Options out of
  // range or an empty handler.
  [[nodiscard]] static Result<std::unique_ptr<HttpEndpoint>> Start(const net::SocketAddress& bind,
                                                                   Handler handler, Logger& logger,
                                                                   const Options& options = {});
  ~HttpEndpoint();  // Stop()
  HttpEndpoint(const HttpEndpoint&) = delete;
  HttpEndpoint& operator=(const HttpEndpoint&) = delete;

  const net::SocketAddress& local_address() const;

  // Closes the listener and every connection, and ends the thread; idempotent. A request
  // being answered is cut.
  void Stop();

 private:
  struct Impl;
  explicit HttpEndpoint(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::relay
