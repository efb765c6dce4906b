#include "mingus/client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <latch>
#include <limits>
#include <memory>
#include <string>

#include "sdk_fakes.h"

namespace mingus::client {
namespace {

using ::testing::ElementsAre;
using testing::FakeClock;
using testing::RecordingSender;

ClientOptions Manual(size_t max_queue_bytes = 1 << 20) {
  return {.address = "unused", .max_queue_bytes = max_queue_bytes, .background_flush = false};
}

class ClientTest : public ::testing::Test {
 protected:
  RecordingSender* sender_ = new RecordingSender;
  FakeClock clock_;
  Client client_{Manual(), std::unique_ptr<Sender>(sender_), clock_};
};

TEST_F(ClientTest, EachCallIsOneLineOfTheWireFormat) {
  client_.RecordApiRequest("/users/42", "GET", 200, 12.5, "u1");
  client_.RecordDbQuery("SELECT 1", 3, 1);
  client_.RecordScore("credit", 40, 10, true);
  client_.TrackUserEngagement("u3", "login", "s1", 30);
  client_.TrackFeatureUsage("u1", "budget");
  client_.TrackUserFeedback("u2", "nps", 9, "great");
  client_.TrackUserMetric("42", "savings", 125.5);
  client_.TrackUserInteraction("u1", "click", "signup", "/pricing", "s1");
  client_.TrackExposure("cta", "B", "u1");
  client_.TrackConversion("cta", "B", "u1");
  client_.TrackCache("scores", "hit");
  client_.Count("orders.placed", 2, {{"shop", "paris"}});
  client_.Timing("checkout.latency", 250);
  client_.UpdateMetric("queue.depth", 7);
  EXPECT_TRUE(sender_->datagrams.empty()) << "nothing is sent before a flush";
  client_.Flush();
  EXPECT_THAT(
      sender_->Lines(),
      ElementsAre(
          R"({"type":"api","endpoint":"/users/42","method":"GET","status":200,"duration_ms":12.5,"user_id":"u1"})",
          R"({"type":"db","query":"SELECT 1","duration_ms":3,"rows":1})",
          R"({"type":"score","name":"credit","duration_ms":40,"cached":true,"input_size":10})",
          R"({"type":"engagement","user_id":"u3","action":"login","session_id":"s1","usage_time":30})",
          R"({"type":"feature","user_id":"u1","feature":"budget"})",
          R"({"type":"feedback","user_id":"u2","kind":"nps","rating":9,"comment":"great"})",
          R"({"type":"user_metric","user_id":"42","metric":"savings","value":125.5})",
          R"({"type":"interaction","user_id":"u1","event_type":"click","element_id":"signup","page_url":"/pricing","session_id":"s1"})",
          R"({"type":"experiment","experiment":"cta","variant":"B","user_id":"u1","event":"exposure"})",
          R"({"type":"experiment","experiment":"cta","variant":"B","user_id":"u1","event":"conversion"})",
          R"({"type":"cache","cache":"scores","result":"hit"})", "orders.placed:2|c|#shop:paris",
          "checkout.latency:250|ms", "queue.depth:7|g"));
  EXPECT_EQ(sender_->datagrams.size(), 1u);
  const ClientStats stats = client_.Stats();
  EXPECT_EQ(stats.sent_lines, 14u);
  EXPECT_EQ(stats.sent_datagrams, 1u);
}

TEST_F(ClientTest, NegativeGaugeIsAResetAndADeltaInOneDatagram) {
  for (int i = 0; i < 60; ++i) client_.Count("filler.counter.with.a.long.name", i);
  client_.UpdateMetric("balance", -3.5);
  client_.Flush();
  bool found = false;
  for (const std::string& d : sender_->datagrams) {
    if (d.find("balance") == std::string::npos) continue;
    EXPECT_NE(d.find("balance:0|g\nbalance:-3.5|g\n"), std::string::npos) << d;
    found = true;
  }
  EXPECT_TRUE(found);
}

TEST_F(ClientTest, TimersMeasureWithTheClientsClock) {
  {
    ApiTimer timer(client_, "/pay", "POST", "u9");
    clock_.Advance(std::chrono::microseconds(1500));
    timer.SetStatus(503);
  }
  {
    DbTimer timer(client_, "UPDATE t SET a = 1");
    clock_.Advance(std::chrono::milliseconds(4));
    timer.SetRows(3);
  }
  {
    ScoreTimer timer(client_, "risk", 12, "u9");
    clock_.Advance(std::chrono::milliseconds(20));
  }
  client_.Flush();
  EXPECT_THAT(
      sender_->Lines(),
      ElementsAre(
          R"({"type":"api","endpoint":"/pay","method":"POST","status":503,"duration_ms":1.5,"user_id":"u9"})",
          R"({"type":"db","query":"UPDATE t SET a = 1","duration_ms":4,"rows":3})",
          R"({"type":"score","name":"risk","duration_ms":20,"cached":false,"input_size":12,"user_id":"u9"})"));
}

TEST_F(ClientTest, ImpossibleValuesAreDroppedAndCounted) {
  const double nan = std::nan(""), inf = std::numeric_limits<double>::infinity();
  client_.RecordApiRequest("/a", "GET", 200, nan);
  client_.RecordApiRequest("/a", "GET", 200, -1);
  client_.RecordApiRequest("/a", "GET", 42, 1);  // not an HTTP status
  client_.RecordDbQuery("SELECT 1", inf);
  client_.RecordScore("s", 1, -2, false);
  client_.TrackUserFeedback("u", "nps", nan);
  client_.TrackUserMetric("u", "m", inf);
  client_.TrackFeatureUsage("u", "f", -5);
  client_.Timing("t", nan);
  client_.Count("c", -1);
  client_.UpdateMetric("g", nan);
  client_.Count("", 1);  // the agent refuses an empty name
  client_.Flush();
  EXPECT_TRUE(sender_->datagrams.empty());
  EXPECT_EQ(client_.Stats().dropped_invalid_value, 12u);
}

TEST_F(ClientTest, HugeStringsAreTruncatedAndCounted) {
  client_.TrackUserFeedback("u1", "nps", 5, std::string(100'000, 'x'));
  client_.Flush();
  ASSERT_EQ(sender_->Lines().size(), 1u);
  EXPECT_LT(sender_->Lines()[0].size(), 600u);
  EXPECT_EQ(client_.Stats().truncated_lines, 1u);
  EXPECT_EQ(client_.Stats().sent_lines, 1u);
}

TEST_F(ClientTest, ALineThatCannotFitADatagramIsDroppedAndCounted) {
  // Every string within its own limit, but too many of them for one datagram.
  const std::string long_text(kMaxStringBytes, 'y');
  client_.TrackUserInteraction(long_text, long_text, long_text, long_text);
  client_.Flush();
  EXPECT_TRUE(sender_->datagrams.empty());
  EXPECT_EQ(client_.Stats().dropped_oversized, 1u);
}

TEST(ClientQueueTest, AFullQueueDropsAndCountsWithoutBlocking) {
  auto* sender = new RecordingSender;
  Client client(Manual(/*max_queue_bytes=*/100), std::unique_ptr<Sender>(sender));
  for (int i = 0; i < 10; ++i) client.Count("twenty.byte.line", 1);  // "twenty.byte.line:1|c\n"
  EXPECT_EQ(client.Stats().dropped_queue_full, 6u);
  client.Flush();
  EXPECT_EQ(sender->Lines().size(), 4u);
  // Flushing made room again.
  client.Count("twenty.byte.line", 1);
  EXPECT_EQ(client.Stats().dropped_queue_full, 6u);
}

// A sender stuck in its first Send (a kernel that never returns) holds up the flush thread only.
class StuckSender final : public Sender {
 public:
  SendStatus Send(std::string_view) override {
    if (!entered_once_.exchange(true)) entered.count_down();
    release.wait();
    return SendStatus::kSent;
  }
  std::latch entered{1}, release{1};

 private:
  std::atomic<bool> entered_once_{false};
};

TEST(ClientQueueTest, AStuckSendNeverBlocksTheCaller) {
  auto* stuck = new StuckSender;
  Client client({.address = "unused", .max_queue_bytes = 64 * 1024},
                std::unique_ptr<Sender>(stuck));
  for (int i = 0; i < 2000; ++i) client.Count("wake.the.flusher", i);  // past the wake-up
  stuck->entered.wait();
  // The flush thread is inside Send; the caller goes on, the queue fills, lines are counted.
  for (int i = 0; i < 10'000; ++i) client.TrackFeatureUsage("u1", "budget");
  EXPECT_GT(client.Stats().dropped_queue_full, 0u);
  stuck->release.count_down();
}

TEST(ClientQueueTest, SendFailuresCountTheLinesOfTheDatagram) {
  auto* sender = new RecordingSender;
  Client client(Manual(), std::unique_ptr<Sender>(sender));
  sender->status = SendStatus::kFailed;
  client.Count("a");
  client.Count("b");
  client.Flush();
  sender->status = SendStatus::kUnresolved;
  client.Count("c");
  client.Flush();
  const ClientStats stats = client.Stats();
  EXPECT_EQ(stats.dropped_send_failed, 2u);
  EXPECT_EQ(stats.dropped_unresolved, 1u);
  EXPECT_EQ(stats.sent_lines, 0u);
}

TEST(ClientQueueTest, TheBackgroundThreadFlushesAndTheDestructorSendsTheRest) {
  RecordingSender sender;
  {
    Client client({.address = "unused", .flush_interval = std::chrono::hours(1)},
                  std::make_unique<testing::ForwardingSender>(sender));
    // Enough to pass the wake-up threshold: the flusher wakes long before its interval.
    for (int i = 0; i < 2000; ++i) client.Count("wake.the.flusher", i);
    EXPECT_TRUE(sender.WaitForDatagram());
    client.Count("last.line");
  }
  EXPECT_EQ(sender.Lines().size(), 2001u);
  EXPECT_EQ(sender.Lines().back(), "last.line:1|c");
}

TEST(AgentAddressTest, HostPortForms) {
  const auto v4 = ParseAgentAddress("127.0.0.1:8125");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, "8125");
  const auto v6 = ParseAgentAddress("[::1]:9");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(ParseAgentAddress("agent.local:8125")->host, "agent.local");
  for (const char* bad : {"", "8125", ":8125", "host:", "host:12x", "::1:8125", "[]:1", "[::1:1"}) {
    EXPECT_FALSE(ParseAgentAddress(bad)) << bad;
  }
}

TEST(UdpSenderTest, AnAddressThatDoesNotResolveIsCountedNotThrown) {
  Client client({.address = "no-such-host.invalid:8125", .background_flush = false});
  client.Count("a");
  client.Flush();
  Client malformed({.address = "not an address", .background_flush = false});
  malformed.Count("a");
  malformed.Flush();
  EXPECT_EQ(client.Stats().dropped_unresolved, 1u);
  EXPECT_EQ(malformed.Stats().dropped_unresolved, 1u);
}

// A UDP port on loopback, bound and then closed: nobody listens there.
int ClosedPort() {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in address{.sin_family = AF_INET, .sin_port = 0, .sin_addr = {htonl(INADDR_LOOPBACK)}};
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

int BoundSocket(int& port) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in address{.sin_family = AF_INET, .sin_port = 0, .sin_addr = {htonl(INADDR_LOOPBACK)}};
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  port = ntohs(address.sin_port);
  return fd;
}

TEST(UdpSenderTest, DatagramsArriveOnLoopback) {
  int port = 0;
  const int fd = BoundSocket(port);
  UdpSender sender("127.0.0.1:" + std::to_string(port));
  EXPECT_EQ(sender.Send("hello:1|c\n"), SendStatus::kSent);
  char buffer[64];
  const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
  ::close(fd);
  EXPECT_EQ(std::string_view(buffer, n > 0 ? n : 0), "hello:1|c\n");
}

TEST(UdpSenderTest, AnAgentAwayIsSeenAsFailedSends) {
  UdpSender sender("127.0.0.1:" + std::to_string(ClosedPort()));
  // The first datagram leaves; the ICMP port-unreachable it causes fails a later one.
  int failed = 0;
  for (int i = 0; i < 10; ++i) failed += sender.Send("x:1|c\n") == SendStatus::kFailed;
  EXPECT_GT(failed, 0);
}

TEST(ClientOptionsTest, AddressFromTheEnvironment) {
  ::unsetenv("MINGUS_AGENT_ADDR");
  EXPECT_EQ(ClientOptions::FromEnvironment().address, "127.0.0.1:8125");
  ::setenv("MINGUS_AGENT_ADDR", "[::1]:9125", 1);
  EXPECT_EQ(ClientOptions::FromEnvironment().address, "[::1]:9125");
  ::unsetenv("MINGUS_AGENT_ADDR");
}

}  // namespace
}  // namespace mingus::client
