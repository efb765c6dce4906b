#include "mingus/agent/agent.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fake_system.h"
#include "fixtures.h"

namespace mingus::agent {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using mingus::testing::FakeSystemCalls;
using mingus::testing::FixturePath;

AgentConfig FixtureConfig() {
  AgentConfig config =
      ParseAgentConfig("", "test", {}, [](std::string_view) { return std::optional<std::string>(); });
  config.paths = {FixturePath("proc"), FixturePath("sys"), FixturePath("rootfs")};
  return config;
}

TEST(Agent, MetricsEndpointServesHostProcessAndOwnFamilies) {
  Agent agent(FixtureConfig(), std::make_unique<FakeSystemCalls>());
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

TEST(Agent, ReloadSwapsCollectorsAndFailedReloadIsVisible) {
  Agent agent(FixtureConfig(), std::make_unique<FakeSystemCalls>());
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

TEST(Agent, OtherEndpoints) {
  Agent agent(FixtureConfig(), std::make_unique<FakeSystemCalls>());
  const auto get = [&](std::string path) { return agent.router().Route(http::Request::Make("GET", path)); };
  EXPECT_EQ(get("/-/healthy").status, 200);
  EXPECT_EQ(get("/-/ready").status, 200);
  EXPECT_THAT(get("/").body, HasSubstr("<a href=\"/metrics\">"));
  EXPECT_EQ(get("/").content_type, "text/html; charset=utf-8");
  const http::Response missing = get("/api/v2/nothing");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.content_type, "application/json");
}

}  // namespace
}  // namespace mingus::agent
