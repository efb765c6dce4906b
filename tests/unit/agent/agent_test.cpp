#include "mingus/agent/agent.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>

#include "fake_clock.h"
#include "eventually.h"
#include "fake_system.h"
#include "mingus/common/address.h"
#include "fixtures.h"

namespace mingus::agent {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using mingus::testing::FakeSystemCalls;
using mingus::testing::FakeClock;
using mingus::testing::FixturePath;

class AgentTest : public ::testing::Test {
 protected:
  FakeClock clock_;
};

AgentConfig FixtureConfig() {
  AgentConfig config =
      ParseAgentConfig("", "test", {}, [](std::string_view) { return std::optional<std::string>(); });
  config.paths = {FixturePath("proc"), FixturePath("sys"), FixturePath("rootfs")};
  return config;
}

TEST_F(AgentTest, MetricsEndpointServesHostProcessAndOwnFamilies) {
  Agent agent(FixtureConfig(), std::make_unique<FakeSystemCalls>(), clock_);
  const http::Response response = agent.router().Route(http::Request::Make("GET", "/metrics"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_TRUE(response.compressible);
  EXPECT_THAT(response.body, HasSubstr("# TYPE node_cpu_seconds_total counter\n"));
  EXPECT_THAT(response.body, HasSubstr("node_load1 0.77\n"));
  EXPECT_THAT(response.body, HasSubstr("process_max_fds 20000\n"));
  EXPECT_THAT(response.body, HasSubstr("mingus_agent_build_info{compiler="));
  EXPECT_THAT(response.body, HasSubstr("mingus_agent_collector_errors_total{collector=\"cpu\"} 0\n"));
  EXPECT_THAT(response.body, HasSubstr("mingus_agent_config_last_reload_successful 1\n"));
}

TEST_F(AgentTest, ReloadSwapsCollectorsAndFailedReloadIsVisible) {
  Agent agent(FixtureConfig(), std::make_unique<FakeSystemCalls>(), clock_);
  AgentConfig without_load = FixtureConfig();
  without_load.collectors.enabled["loadavg"] = false;
  agent.Reload(without_load);
  const auto scrape = [&] {
    return agent.router().Route(http::Request::Make("GET", "/metrics")).body;
  };
  EXPECT_THAT(scrape(), Not(HasSubstr("node_load1")));
  EXPECT_THAT(scrape(), HasSubstr("node_cpu_seconds_total"));
  agent.RecordFailedReload();
  EXPECT_THAT(scrape(), HasSubstr("mingus_agent_config_last_reload_successful 0\n"));
}

TEST_F(AgentTest, OtherEndpoints) {
  Agent agent(FixtureConfig(), std::make_unique<FakeSystemCalls>(), clock_);
  const auto get = [&](std::string path) { return agent.router().Route(http::Request::Make("GET", path)); };
  EXPECT_EQ(get("/-/healthy").status, 200);
  EXPECT_EQ(get("/-/ready").status, 200);
  EXPECT_THAT(get("/").body, HasSubstr("<a href=\"/metrics\">"));
  EXPECT_EQ(get("/").content_type, "text/html; charset=utf-8");
  const http::Response missing = get("/api/v2/nothing");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.content_type, "application/json");
}

TEST_F(AgentTest, UdpIntakeShowsOnMetrics) {
  AgentConfig config = FixtureConfig();
  config.web.listen_address = "127.0.0.1:0";
  config.statsd.listen_udp = "127.0.0.1:0";
  config.storage_path = ::testing::TempDir() + "/agent-intake-test";
  std::filesystem::remove_all(config.storage_path);
  Agent agent(config, std::make_unique<FakeSystemCalls>(), clock_);
  const auto addresses = agent.Start();
  ASSERT_TRUE(addresses.ok()) << addresses.message();
  const uint16_t port = ParseHostPort(addresses->udp)->port;
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const std::string datagram =
      "checkout.clicks:1|c|#page:cart\n"
      R"({"type":"cache","cache":"scores","result":"miss"})" "\n"
      "oops\n";
  ::sendto(fd, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  ::close(fd);
  // The receiver counts a datagram before it processes its lines.
  std::string body;
  mingus::testing::Eventually([&] {
    body = agent.router().Route(http::Request::Make("GET", "/metrics")).body;
    return body.find("mingus_agent_udp_datagrams_total 1") != std::string::npos &&
           body.find("mingus_agent_spool_events 1\n") != std::string::npos;
  });
  EXPECT_THAT(body, HasSubstr("checkout_clicks_total{page=\"cart\"} 1\n"));
  EXPECT_THAT(body, HasSubstr("mingus_cache_requests_total{cache=\"scores\",result=\"miss\"} 1\n"));
  EXPECT_THAT(body, HasSubstr("mingus_agent_parse_errors_total{reason=\"missing_value\"} 1\n"));
  EXPECT_THAT(body, HasSubstr("mingus_agent_lines_total{format=\"json\"} 1\n"));
  EXPECT_THAT(body, HasSubstr("mingus_agent_udp_kernel_drops_total 0\n"));
  EXPECT_THAT(body, HasSubstr("mingus_agent_spool_events 1\n"));

  const auto events = [&](std::string target) { return agent.router().Route(http::Request::Make("GET", target)); };
  const http::Response spooled = events("/api/v1/events?after=0");
  EXPECT_EQ(spooled.status, 200);
  EXPECT_EQ(spooled.content_type, "application/x-ndjson");
  EXPECT_EQ(spooled.body, R"({"cursor":1,"received":1800000000000,"event":{"type":"cache","cache":"scores","result":"miss"}})" "\n");
  EXPECT_EQ(events("/api/v1/events?after=1").body, "");
  const auto header = [&](std::string_view name) {
    for (const auto& [key, value] : spooled.headers) {
      if (key == name) return value;
    }
    return std::string("(none)");
  };
  EXPECT_EQ(header("X-Mingus-Last-Cursor"), "1");
  EXPECT_EQ(header("X-Mingus-Lost-Events"), "0");
  EXPECT_EQ(header("X-Mingus-Spool-Id").size(), 16u);
  EXPECT_EQ(events("/api/v1/events?after=-1").status, 400);
  EXPECT_THAT(events("/api/v1/events?limit=100000").body, HasSubstr("limit: '100000' is not a whole number"));
  agent.Stop();
  std::filesystem::remove_all(config.storage_path);
}

}  // namespace
}  // namespace mingus::agent
