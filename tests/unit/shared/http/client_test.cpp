// The client against the project's own server on loopback.
#include "mingus/http/client.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "mingus/common/address.h"
#include "mingus/http/gzip.h"
#include "mingus/http/server.h"

namespace mingus::http {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// A listening TCP socket on 127.0.0.1 that nothing serves yet: its fd (-1 on failure) and port.
std::pair<int, uint16_t> ListenOnLoopback() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 4) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
    ::close(fd);
    return {-1, 0};
  }
  return {fd, ntohs(addr.sin_port)};
}

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto router = std::make_shared<Router>();
    router->Handle("GET", "/metrics", [](const Request& r) {
      Response response =
          Response::Text(200, std::string(100'000, 'x') + std::string(r.Header("x-token")));
      response.compressible = true;
      return response;
    });
    router->Handle("POST", "/echo", [](const Request& r) {
      return Response::Text(202, std::string(r.Header("content-type")) + "|" +
                                     std::string(r.Header("authorization")) + "|" + r.body);
    });
    server_ = std::make_unique<Server>(ServerOptions{.listen_address = "127.0.0.1:0"}, router);
    base_ = "http://" + *server_->Start();
  }
  std::unique_ptr<Server> server_;
  std::string base_;
};

TEST_F(ClientTest, GetsAndInflatesGzip) {
  ClientOptions options;
  options.headers.emplace_back("X-Token", "!");
  const auto response = HttpGet(base_ + "/metrics", options);
  ASSERT_TRUE(response.ok()) << response.message();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->Header("content-encoding"), "gzip");
  EXPECT_EQ(response->body.size(), 100'001u);
  EXPECT_EQ(response->body.back(), '!');
}

TEST_F(ClientTest, StatusAndErrorsAreReported) {
  const auto missing = HttpGet(base_ + "/nope");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);
  ClientOptions small;
  small.max_body_bytes = 1000;
  EXPECT_THAT(HttpGet(base_ + "/metrics", small).message(), HasSubstr("larger than 1000 bytes"));
  small.accept_gzip = false;
  EXPECT_THAT(HttpGet(base_ + "/metrics", small).message(), HasSubstr("receive"));
  EXPECT_THAT(HttpGet("ftp://127.0.0.1:1/").message(), HasSubstr("only http:// and https://"));
  EXPECT_THAT(HttpGet("http://127.0.0.1:70000/").message(), HasSubstr("port must be"));
  EXPECT_THAT(HttpGet("https://127.0.0.1:1/x").message(),
              StartsWith("GET https://127.0.0.1:1/x: connect: "));
}

TEST_F(ClientTest, PostsWithHeadersAndUserInfoAsBasicAuth) {
  ClientOptions options;
  options.headers.emplace_back("Content-Type", "application/json");
  const std::string with_user = "http://alice:s%3Acret@" + base_.substr(7) + "/echo";
  const auto response = HttpRequest("POST", with_user, R"({"a":1})", options);
  ASSERT_TRUE(response.ok()) << response.message();
  EXPECT_EQ(response->status, 202);
  // alice:s:cret
  EXPECT_EQ(response->body, R"(application/json|Basic YWxpY2U6czpjcmV0|{"a":1})");
  options.headers.emplace_back("Authorization", "Bearer t0k3n");
  EXPECT_EQ(HttpRequest("POST", with_user, "x", options)->body, "application/json|Bearer t0k3n|x");
}

TEST_F(ClientTest, KeepAliveClientReusesItsConnection) {
  KeepAliveClient client;
  for (int i = 0; i < 3; ++i) {
    const auto response = client.Get(base_ + "/metrics");
    ASSERT_TRUE(response.ok()) << response.message();
    EXPECT_EQ(response->body.size(), 100'000u);
  }
  EXPECT_EQ(client.connections_opened(), 1u);
  // Another server (here: the same one by another name) is another connection.
  ASSERT_TRUE(
      client.Get("http://localhost:" + base_.substr(base_.rfind(':') + 1) + "/metrics").ok());
  EXPECT_EQ(client.connections_opened(), 2u);
}

// A server that answers one request per connection and then closes it, without saying so
// (as a server does at its idle timeout), and says "Connection: close" on the last.
TEST(Client, KeepAliveClientReconnectsWhenTheServerClosed) {
  const auto listening = ListenOnLoopback();  // not a structured binding: a lambda captures fd
  const int fd = listening.first;
  const uint16_t port = listening.second;
  ASSERT_GE(fd, 0);
  constexpr int kConnections = 3;
  std::thread server([fd] {
    for (int i = 0; i < kConnections; ++i) {
      const int peer = ::accept(fd, nullptr, nullptr);
      std::string request;
      char buffer[1024];
      while (request.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = ::read(peer, buffer, sizeof buffer);
        if (n <= 0) break;
        request.append(buffer, static_cast<size_t>(n));
      }
      const std::string reply = std::string("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n") +
                                (i == kConnections - 2 ? "Connection: close\r\n" : "") + "\r\n" +
                                std::to_string(i);
      (void)!::write(peer, reply.data(), reply.size());
      ::close(peer);
    }
  });
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/metrics";
  KeepAliveClient client;
  EXPECT_EQ(client.Get(url)->body, "0");
  // The kept connection is closed by now: the GET goes again on a new one.
  EXPECT_EQ(client.Get(url)->body, "1");
  EXPECT_EQ(client.connections_opened(), 2u);
  // "Connection: close" was said: the next request does not even try the old connection.
  EXPECT_EQ(client.Get(url)->body, "2");
  EXPECT_EQ(client.connections_opened(), 3u);
  server.join();
  ::close(fd);
}

TEST(Client, ErrorsNeverShowUserInfoOrSecretPaths) {
  ClientOptions options;
  options.timeout = std::chrono::milliseconds(500);
  options.headers.emplace_back("Authorization", "Bearer s3cret");
  const auto refused = HttpRequest("POST", "http://bob:pa55@127.0.0.1:1/hook", "{}", options);
  EXPECT_THAT(refused.message(), StartsWith("POST http://127.0.0.1:1/hook: connect: "));
  EXPECT_THAT(refused.message(), Not(HasSubstr("pa55")));
  EXPECT_THAT(refused.message(), Not(HasSubstr("s3cret")));
  options.secret_url = true;
  EXPECT_THAT(
      HttpRequest("POST", "https://127.0.0.1:1/services/T0/B0/XYZ", "{}", options).message(),
      StartsWith("POST https://127.0.0.1:1/...: connect: "));
  EXPECT_THAT(HttpGet("gopher://u:pa55@127.0.0.1/").message(), Not(HasSubstr("pa55")));
  options.headers = {{"X-Evil", "a\r\nInjected: 1"}};
  EXPECT_THAT(HttpGet("http://127.0.0.1:1/", options).message(), HasSubstr("bad header 'X-Evil'"));
}

TEST(Url, SplitsSchemeHostPortAndTarget) {
  const auto slack = ParseUrl("https://hooks.slack.com/services/T0/B0/XYZ#frag");
  ASSERT_TRUE(slack.ok()) << slack.message();
  EXPECT_TRUE(slack->https());
  EXPECT_EQ(slack->endpoint.host, "hooks.slack.com");
  EXPECT_EQ(slack->endpoint.port, 443);
  EXPECT_EQ(slack->authority, "hooks.slack.com");
  EXPECT_EQ(slack->target, "/services/T0/B0/XYZ");
  EXPECT_EQ(slack->ForDisplay(true), "https://hooks.slack.com/...");
  const auto v6 = ParseUrl("HTTP://u:p@[::1]:9190?x=1");
  ASSERT_TRUE(v6.ok()) << v6.message();
  EXPECT_EQ(v6->endpoint.host, "::1");
  EXPECT_EQ(v6->endpoint.port, 9190);
  EXPECT_EQ(v6->userinfo, "u:p");
  EXPECT_EQ(v6->target, "/?x=1");
  EXPECT_EQ(v6->ForDisplay(), "http://[::1]:9190/?x=1");
  EXPECT_EQ(ParseUrl("http://localhost/")->endpoint.port, 80);
  EXPECT_FALSE(ParseUrl("http://a b/").ok());
  EXPECT_FALSE(ParseUrl("http://127.0.0.1/a b").ok());
  EXPECT_FALSE(ParseUrl("http://[::1/").ok());
  EXPECT_FALSE(ParseUrl("http://::1/").ok());
  EXPECT_FALSE(ParseUrl("http://:80/").ok());
}

TEST(Client, RefusedAndSilentPeersFailInTime) {
  // A listening socket that never answers: connect succeeds (the backlog), the reply never comes.
  const auto listening = ListenOnLoopback();  // not a structured binding: a lambda captures fd
  const int fd = listening.first;
  const uint16_t port = listening.second;
  ASSERT_GE(fd, 0);
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/metrics";
  ClientOptions quick;
  quick.timeout = std::chrono::milliseconds(200);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THAT(HttpGet(url, quick).message(), HasSubstr("receive: timed out"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  ::close(fd);
  EXPECT_THAT(HttpGet(url, quick).message(), HasSubstr("connect"));  // nothing listens now
}

TEST(Gunzip, RefusesCorruptAndOversizedData) {
  const std::string packed = GzipCompress(std::string(10'000, 'a'));
  EXPECT_EQ(GunzipLimited(packed, 10'000)->size(), 10'000u);
  EXPECT_THAT(GunzipLimited(packed, 100).message(), HasSubstr("larger than 100 bytes"));
  EXPECT_FALSE(GunzipLimited(packed.substr(0, packed.size() / 2), 100'000).ok());
  EXPECT_FALSE(GunzipLimited("not gzip at all", 100).ok());
}

// A server's bytes, delivered a few at a time.
class PiecewiseStream final : public net::Stream {
 public:
  explicit PiecewiseStream(std::string bytes) : bytes_(std::move(bytes)) {}
  Status Write(std::string_view) override { return OkStatus(); }
  StatusOr<size_t> ReadSome(char* buffer, size_t size) override {
    const size_t count = std::min({size, size_t{3}, bytes_.size() - at_});
    bytes_.copy(buffer, count, at_);
    at_ += count;
    return count;
  }
  Status StartTls(const net::TlsOptions&) override { return OkStatus(); }
  bool tls() const override { return false; }

 private:
  std::string bytes_;
  size_t at_ = 0;
};

TEST(ReadClientResponse, ReadsAResponseArrivingInPieces) {
  const std::string body = GzipCompress("hello");
  const std::string bytes =
      "HTTP/1.1 200 OK\r\nX-Mingus-Last-Cursor: 7\r\nContent-Encoding: gzip\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  PiecewiseStream stream(bytes);
  size_t received = 0;
  bool keep_alive = false;
  const auto response = ReadClientResponse(stream, false, 1024, received, keep_alive);
  ASSERT_TRUE(response.ok()) << response.message();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->Header("x-mingus-last-cursor"), "7");
  EXPECT_EQ(response->body, "hello");
  EXPECT_TRUE(keep_alive);
  EXPECT_EQ(received, bytes.size());

  PiecewiseStream closing("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(ReadClientResponse(closing, false, 1024, received, keep_alive).ok());
  EXPECT_FALSE(keep_alive);
}

TEST(ReadClientResponse, RefusesCutAndOversizedResponses) {
  size_t received = 0;
  bool keep_alive = false;
  PiecewiseStream cut("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
  EXPECT_THAT(ReadClientResponse(cut, false, 1024, received, keep_alive).message(),
              HasSubstr("closed before the whole response"));
  PiecewiseStream big("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789");
  EXPECT_FALSE(ReadClientResponse(big, false, 5, received, keep_alive).ok());
  const std::string bomb = GzipCompress(std::string(10'000, 'x'));
  PiecewiseStream inflated("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: " +
                           std::to_string(bomb.size()) + "\r\n\r\n" + bomb);
  EXPECT_THAT(ReadClientResponse(inflated, false, 1024, received, keep_alive).message(),
              HasSubstr("larger than 1024 bytes"));
}

}  // namespace
}  // namespace mingus::http
