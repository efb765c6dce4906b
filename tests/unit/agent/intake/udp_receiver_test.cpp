// The receiver over real loopback sockets.
#include "mingus/agent/intake/udp_receiver.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include <gtest/gtest.h>

#include "fake_clock.h"
#include "mingus/common/address.h"

namespace mingus::agent::intake {
namespace {

using mingus::testing::FakeClock;

void SendUdp(uint16_t port, std::string_view payload, int family = AF_INET) {
  const int fd = ::socket(family, SOCK_DGRAM, 0);
  sockaddr_storage storage{};
  socklen_t length;
  if (family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&storage);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    a->sin6_addr = in6addr_loopback;
    length = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&storage);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    length = sizeof *a;
  }
  ::sendto(fd, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&storage), length);
  ::close(fd);
}

// Waits (bounded) for the receive threads to catch up with what was sent.
bool WaitFor(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

class UdpReceiverTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<UdpReceiver> MakeReceiver(std::string address) {
    return std::make_unique<UdpReceiver>(
        ReceiverOptions{.listen_udp = std::move(address), .threads = 2, .receive_buffer_bytes = 1 << 20},
        [this] {
          ++factory_calls_;
          return std::make_unique<LineProcessor>(mapping_, store_, aggregates_, stats_, nullptr);
        });
  }

  FakeClock clock_;
  MetricStore store_{clock_, 1000};
  EventAggregates aggregates_{clock_, 10, 10};
  IntakeStats stats_;
  MappingConfig mapping_;
  std::atomic<int> factory_calls_{0};
};

TEST_P(UdpReceiverTest, ReceivesManyLinesPerDatagramOnEverySocket) {
  auto receiver = MakeReceiver(GetParam());
  const auto address = receiver->Start();
  ASSERT_TRUE(address.ok()) << address.message();
  const uint16_t port = ParseHostPort(*address)->port;
  ASSERT_NE(port, 0);
  const int family = GetParam().front() == '[' ? AF_INET6 : AF_INET;
  for (int i = 0; i < 200; ++i) SendUdp(port, "a:1|c\nb:2|c\nbad\n", family);
  ASSERT_TRUE(WaitFor([&] { return stats_.datagrams() == 200; })) << stats_.datagrams();
  EXPECT_EQ(stats_.statsd_lines(), 600u);
  EXPECT_EQ(stats_.Errors("missing_value"), 200u);
  EXPECT_EQ(factory_calls_.load(), 2);
  EXPECT_GE(receiver->granted_receive_buffer_bytes(), 1 << 20);
  receiver->Refresh();
  SendUdp(port, "a:1|c", family);
  ASSERT_TRUE(WaitFor([&] { return stats_.datagrams() == 201; }));
  EXPECT_GE(factory_calls_.load(), 3);  // the thread that got it took a fresh processor
  receiver->Stop();
}

INSTANTIATE_TEST_SUITE_P(Loopback, UdpReceiverTest, ::testing::Values("127.0.0.1:0", "[::1]:0"),
                         [](const auto& info) { return info.param.front() == '[' ? "IPv6" : "IPv4"; });

TEST(UdpReceiver, BadAddressesAreRefused) {
  UdpReceiver receiver({.listen_udp = "not-an-address"}, [] { return nullptr; });
  EXPECT_FALSE(receiver.Start().ok());
}

TEST(UdpReceiver, KernelDropsComeFromProcNetUdp) {
  const std::string table =
      "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
      "  512: 0100007F:1FBD 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 31337 2 0000000000000000 17\n"
      "  513: 0100007F:1FBD 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 31339 2 0000000000000000 3\n"
      "  514: 0100007F:1FBE 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 31338 2 0000000000000000 99\n";
  EXPECT_EQ(ParseUdpDrops(table, 8125), 20u);  // both SO_REUSEPORT sockets of port 0x1FBD
  EXPECT_EQ(ParseUdpDrops(table, 8126), 99u);
  EXPECT_EQ(ParseUdpDrops(table, 9999), 0u);
  EXPECT_EQ(ParseUdpDrops("garbage\n", 8125), 0u);
}

}  // namespace
}  // namespace mingus::agent::intake
