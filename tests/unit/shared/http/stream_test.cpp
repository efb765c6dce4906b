// Streamed responses (Response::on_stream, as Server-Sent Events use them) over real loopback
// sockets: the head and first body, writes from other threads in order, the bounds on streams,
// slow and departed clients, and Stop() ending streams at once.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "eventually.h"
#include "mingus/common/address.h"
#include "mingus/http/server.h"

namespace mingus::http {
namespace {

using ::mingus::testing::Eventually;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

class Client {
 public:
  explicit Client(uint16_t port, int receive_buffer = 0) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    if (receive_buffer > 0) {
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Client() { Close(); }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  bool connected() const { return connected_; }
  void Send(std::string_view data) { ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL); }
  // Reads until `stop` appears in what was read so far, the peer closes, or the deadline.
  std::string Receive(std::string_view stop = "", int timeout_ms = 5000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      if (!stop.empty() && received_.find(stop) != std::string::npos) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      char buffer[65536];
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      received_.append(buffer, static_cast<size_t>(n));
    }
    return received_;
  }
  bool closed() const { return closed_; }

 private:
  int fd_;
  bool connected_ = false;
  bool closed_ = false;
  std::string received_;
};

class StreamTest : public ::testing::Test {
 protected:
  void StartServer(ServerOptions options = {}) {
    auto router = std::make_shared<Router>();
    router->Handle("GET", "/stream", [this](const Request&) {
      Response response;
      response.content_type = "text/event-stream";
      response.headers.emplace_back("Cache-Control", "no-cache");
      response.body = "event: hello\ndata: first\n\n";
      response.on_stream = [this](std::shared_ptr<StreamWriter> writer) {
        std::lock_guard lock(mutex_);
        writers_.push_back(std::move(writer));
        added_.notify_all();
      };
      return response;
    });
    router->Handle("GET", "/plain", [](const Request&) { return Response::Text(200, "plain"); });
    options.listen_address = "127.0.0.1:0";
    server_ = std::make_unique<Server>(options, router);
    const auto address = server_->Start();
    ASSERT_TRUE(address.ok()) << address.message();
    port_ = ParseHostPort(*address)->port;
  }
  // The writer of the n-th stream opened (0-based), once the server has handed it over.
  std::shared_ptr<StreamWriter> Writer(size_t n) {
    std::unique_lock lock(mutex_);
    added_.wait_for(lock, std::chrono::seconds(5), [&] { return writers_.size() > n; });
    return writers_.size() > n ? writers_[n] : nullptr;
  }

  static constexpr std::string_view kRequest = "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n";

  std::mutex mutex_;
  std::condition_variable added_;
  std::vector<std::shared_ptr<StreamWriter>> writers_;
  std::unique_ptr<Server> server_;
  uint16_t port_ = 0;
};

TEST_F(StreamTest, SendsTheHeadAndFirstBodyThenWhatIsWrittenInOrder) {
  StartServer();
  Client client(port_);
  client.Send(kRequest);
  const std::string head = client.Receive("data: first\n\n");
  EXPECT_THAT(head, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(head, HasSubstr("\r\nContent-Type: text/event-stream\r\n"));
  EXPECT_THAT(head, HasSubstr("\r\nCache-Control: no-cache\r\n"));
  EXPECT_THAT(head, HasSubstr("\r\nConnection: close\r\n"));
  EXPECT_THAT(head, Not(HasSubstr("Content-Length")));
  EXPECT_THAT(head, HasSubstr("\r\n\r\nevent: hello\ndata: first\n\n"));

  const auto writer = Writer(0);
  ASSERT_NE(writer, nullptr);
  EXPECT_EQ(server_->open_streams(), 1u);
  // Writes from two threads, each thread's in order.
  std::thread a([&] {
    for (int i = 0; i < 100; ++i) EXPECT_TRUE(writer->Write("a" + std::to_string(i) + "\n"));
  });
  std::thread b([&] {
    for (int i = 0; i < 100; ++i) EXPECT_TRUE(writer->Write("b" + std::to_string(i) + "\n"));
  });
  a.join();
  b.join();
  client.Receive("a99\n");
  const std::string body = client.Receive("b99\n").substr(head.size());
  for (const char* thread : {"a", "b"}) {
    size_t at = 0;
    for (int i = 0; i < 100; ++i) {
      const auto next = body.find(std::string(thread) + std::to_string(i) + "\n", at);
      ASSERT_NE(next, std::string::npos) << thread << i;
      at = next;
    }
  }
  EXPECT_FALSE(client.closed());
  EXPECT_TRUE(writer->open());
}

TEST_F(StreamTest, AClientThatLeavesEndsItsStream) {
  StartServer();
  {
    Client client(port_);
    client.Send(kRequest);
    client.Receive("data: first\n\n");
    ASSERT_NE(Writer(0), nullptr);
  }
  EXPECT_TRUE(Eventually([&] { return !Writer(0)->open(); }));
  EXPECT_FALSE(Writer(0)->Write("late\n"));
  EXPECT_TRUE(Eventually([&] { return server_->open_streams() == 0; }));
}

TEST_F(StreamTest, StreamsBeyondTheLimitGet503AndOtherRequestsGoOn) {
  ServerOptions options;
  options.max_streams = 1;
  StartServer(options);
  Client first(port_);
  first.Send(kRequest);
  first.Receive("data: first\n\n");
  ASSERT_NE(Writer(0), nullptr);
  Client second(port_);
  second.Send(kRequest);
  const std::string refused = second.Receive();
  EXPECT_THAT(refused, StartsWith("HTTP/1.1 503"));
  EXPECT_THAT(refused, HasSubstr("too many open streams"));
  EXPECT_TRUE(second.closed());
  Client plain(port_);
  plain.Send("GET /plain HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_THAT(plain.Receive("plain"), StartsWith("HTTP/1.1 200"));
  // Once the first stream ends, another may open.
  first.Close();
  EXPECT_TRUE(Eventually([&] { return server_->open_streams() == 0; }));
  Client third(port_);
  third.Send(kRequest);
  EXPECT_THAT(third.Receive("data: first\n\n"), StartsWith("HTTP/1.1 200"));
}

TEST_F(StreamTest, AClientThatDoesNotReadIsDroppedAfterTheWriteTimeout) {
  ServerOptions options;
  options.write_timeout = std::chrono::milliseconds(300);
  options.max_stream_buffer_bytes = 64 << 20;  // only the timeout can drop it here
  StartServer(options);
  Client client(port_, 4096);
  client.Send(kRequest);
  const auto writer = Writer(0);
  ASSERT_NE(writer, nullptr);
  const std::string chunk(64 * 1024, 'x');
  const auto start = std::chrono::steady_clock::now();
  // Far more than the socket buffers hold; the client never reads.
  for (int i = 0; i < 256 && writer->Write(chunk); ++i) {
  }
  EXPECT_TRUE(Eventually([&] { return !writer->open(); }, std::chrono::milliseconds(5000)));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_TRUE(Eventually([&] { return server_->open_streams() == 0; }));
}

TEST_F(StreamTest, AClientTooFarBehindIsDroppedAtOnce) {
  ServerOptions options;
  options.max_stream_buffer_bytes = 256 * 1024;
  StartServer(options);
  Client client(port_, 4096);
  client.Send(kRequest);
  const auto writer = Writer(0);
  ASSERT_NE(writer, nullptr);
  const std::string chunk(64 * 1024, 'x');
  for (int i = 0; i < 256 && writer->Write(chunk); ++i) {
  }
  EXPECT_TRUE(Eventually([&] { return !writer->open(); }, std::chrono::milliseconds(2000)));
}

TEST_F(StreamTest, StopEndsStreamsAtOnce) {
  StartServer();
  Client client(port_);
  client.Send(kRequest);
  client.Receive("data: first\n\n");
  const auto writer = Writer(0);
  ASSERT_NE(writer, nullptr);
  const auto start = std::chrono::steady_clock::now();
  server_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  client.Receive("", 2000);
  EXPECT_TRUE(client.closed());
  EXPECT_FALSE(writer->open());
  EXPECT_FALSE(writer->Write("after stop\n"));
  server_.reset();
  EXPECT_FALSE(writer->Write("after the server is gone\n"));
}

TEST_F(StreamTest, HeadGetsTheHeadWithoutAStream) {
  StartServer();
  Client client(port_);
  client.Send("HEAD /stream HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_THAT(client.Receive("\r\n\r\n"), StartsWith("HTTP/1.1 200"));
  EXPECT_EQ(server_->open_streams(), 0u);
  std::lock_guard lock(mutex_);
  EXPECT_TRUE(writers_.empty());
}

}  // namespace
}  // namespace mingus::http
