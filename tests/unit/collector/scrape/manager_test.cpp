#include "mingus/collector/scrape/manager.h"

#include <gtest/gtest.h>

#include <string>

#include "fake_clock.h"

namespace mingus::collector::scrape {
namespace {

using std::chrono::milliseconds;

ScrapeConfig Job(std::string name, milliseconds interval, milliseconds timeout) {
  ScrapeConfig config;
  config.job_name = std::move(name);
  config.scrape_interval = interval;
  config.scrape_timeout = timeout;
  return config;
}

TEST(ScrapeManager, TheLongestTurnIsTheLongestIntervalAndTimeoutOfTheJobsApplied) {
  tsdb::Head head;
  testing::FakeClock clock;
  ScrapeManager manager(head, clock, 1);
  EXPECT_EQ(manager.LongestTurn(), milliseconds(0));
  manager.ApplyConfig({Job("a", milliseconds(15'000), milliseconds(10'000)),
                       Job("b", milliseconds(20'000), milliseconds(1'000))},
                      "");
  EXPECT_EQ(manager.LongestTurn(), milliseconds(25'000));
  manager.ApplyConfig({Job("b", milliseconds(60'000), milliseconds(30'000))}, "");
  EXPECT_EQ(manager.LongestTurn(), milliseconds(90'000));
}

}  // namespace
}  // namespace mingus::collector::scrape
