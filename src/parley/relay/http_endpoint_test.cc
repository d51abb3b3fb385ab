#include "parley/relay/http_endpoint.h"

#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "parley/relay/test_http_client.h"

namespace parley::relay {
namespace {

using testing::HttpExchange;
using testing::HttpGet;
using testing::HttpRequest;

class HttpEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = HttpEndpoint::Start(
        net::SocketAddress::Loopback(false, 0),
        [this](std::string_view target) {
          std::lock_guard lock(mutex_);
          targets_.emplace_back(target);
          if (target == "/missing") return HttpResponse{.status = 404, .body = "no\n"};
          return HttpResponse{.content_type = "application/json", .body = "{\"ok\":true}\n"};
        },
        logger_);
    ASSERT_TRUE(started) << started.error().message;
    endpoint_ = std::move(started).value();
    ASSERT_NE(endpoint_->local_address().port(), 0);
  }

  std::vector<std::string> targets() {
    std::lock_guard lock(mutex_);
    return targets_;
  }

  Logger logger_{LogLevel::kError, [](std::string_view) {}};
  std::unique_ptr<HttpEndpoint> endpoint_;
  std::mutex mutex_;
  std::vector<std::string> targets_;
};

TEST_F(HttpEndpointTest, GetAnswersWithTheHandlersStatusTypeAndBody) {
  const testing::HttpReply ok = HttpGet(endpoint_->local_address(), "/metrics?x=1");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "{\"ok\":true}\n");
  EXPECT_NE(ok.head.find("Content-Type: application/json"), std::string::npos) << ok.head;
  EXPECT_NE(ok.head.find("Content-Length: 12"), std::string::npos) << ok.head;

  const testing::HttpReply missing = HttpGet(endpoint_->local_address(), "/missing");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body, "no\n");
  // The handler sees the target as requested, query included.
  EXPECT_EQ(targets(), (std::vector<std::string>{"/metrics?x=1", "/missing"}));
}

TEST_F(HttpEndpointTest, HeadHasTheGetHeadersWithoutTheBody) {
  const testing::HttpReply head = HttpRequest(endpoint_->local_address(), "HEAD", "/healthz");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
  EXPECT_NE(head.head.find("Content-Length: 12"), std::string::npos) << head.head;
}

TEST_F(HttpEndpointTest, OtherMethodsGet405WithoutReachingTheHandler) {
  const testing::HttpReply post = HttpRequest(endpoint_->local_address(), "POST", "/metrics");
  EXPECT_EQ(post.status, 405);
  EXPECT_NE(post.head.find("Allow: GET, HEAD"), std::string::npos) << post.head;
  EXPECT_TRUE(targets().empty());
}

TEST_F(HttpEndpointTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  // Two pipelined requests; the second asks the server to close afterwards.
  const std::string response = HttpExchange(
      endpoint_->local_address(),
      "GET /a HTTP/1.1\r\nHost: t\r\n\r\nGET /b HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  size_t answers = 0;
  for (size_t at = response.find("HTTP/1.1 200"); at != std::string::npos;
       at = response.find("HTTP/1.1 200", at + 1)) {
    ++answers;
  }
  EXPECT_EQ(answers, 2u) << response;
  EXPECT_EQ(targets(), (std::vector<std::string>{"/a", "/b"}));
}

TEST_F(HttpEndpointTest, MalformedRequestIsClosedWithoutAnAnswer) {
  EXPECT_EQ(HttpExchange(endpoint_->local_address(), "NOT HTTP AT ALL\r\n\r\n"), "");
  EXPECT_TRUE(targets().empty());
}

TEST_F(HttpEndpointTest, StopClosesTheListener) {
  const net::SocketAddress address = endpoint_->local_address();
  endpoint_->Stop();
  endpoint_->Stop();  // idempotent
  EXPECT_EQ(HttpGet(address, "/metrics").status, 0);
}

TEST(HttpEndpointStartTest, BindFailureNamesTheAddress) {
  Logger logger(LogLevel::kError, [](std::string_view) {});
  auto first = HttpEndpoint::Start(
      net::SocketAddress::Loopback(false, 0), [](std::string_view) { return HttpResponse{}; },
      logger);
  ASSERT_TRUE(first);
  auto second = HttpEndpoint::Start((*first)->local_address(),
                                    [](std::string_view) { return HttpResponse{}; }, logger);
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find("bind " + (*first)->local_address().ToString()),
            std::string::npos)
      << second.error().message;
}

}  // namespace
}  // namespace parley::relay
