#include "mingus/metrics/process_metrics.h"

#include <unistd.h>

#include <prometheus/metric_family.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fixtures.h"

namespace mingus::metrics {
namespace {

using ::testing::HasSubstr;
using mingus::testing::FixturePath;
using mingus::testing::ReadFixture;

TEST(ParseProcessStat, ReadsTheFieldsAfterTheCommandName) {
  const auto stat = ParseProcessStat(ReadFixture("proc/self/stat"));
  ASSERT_TRUE(stat.ok()) << stat.message();
  EXPECT_EQ(stat->start_ticks, 239115u);
  EXPECT_EQ(stat->virtual_bytes, 3133440u);
  EXPECT_EQ(stat->resident_pages, 397u);
  // A command name with spaces and parentheses does not shift the fields.
  const auto odd = ParseProcessStat(
      "7 (a) b (c)) S 1 1 1 0 -1 0 0 0 0 0 11 22 0 0 20 0 1 0 33 44 55 1 2 3 4");
  ASSERT_TRUE(odd.ok()) << odd.message();
  EXPECT_EQ(odd->utime_ticks, 11u);
  EXPECT_EQ(odd->stime_ticks, 22u);
  EXPECT_EQ(odd->start_ticks, 33u);
  EXPECT_EQ(odd->virtual_bytes, 44u);
  EXPECT_EQ(odd->resident_pages, 55u);
  EXPECT_THAT(ParseProcessStat("7 (a) S 1 2").message(), HasSubstr("fewer than 24"));
  EXPECT_THAT(ParseProcessStat("no parenthesis").message(), HasSubstr("no ')'"));
}

TEST(ParseProcessLimits, SoftLimitsAndUnlimited) {
  const auto limits = ParseProcessLimits(ReadFixture("proc/self/limits"));
  ASSERT_TRUE(limits.ok()) << limits.message();
  EXPECT_EQ(limits->max_open_files, 20000u);
  EXPECT_EQ(limits->max_address_space, UINT64_MAX);
  EXPECT_FALSE(ParseProcessLimits("Max open files  x  y files\nMax address space 1 1 bytes\n").ok());
  EXPECT_FALSE(ParseProcessLimits("").ok());
}

TEST(ProcessCollector, ExposesTheClientLibraryFamiliesFromTheFixtureTree) {
  const ProcessCollector collector(FixturePath("proc"));
  const auto families = collector.Collect();
  std::map<std::string, double> values;
  for (const auto& family : families) {
    ASSERT_EQ(family.metric.size(), 1u) << family.name;
    const auto& m = family.metric[0];
    values[family.name] = family.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
  }
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  EXPECT_EQ(values.size(), 7u);
  EXPECT_EQ(values["process_cpu_seconds_total"], 0);
  EXPECT_EQ(values["process_max_fds"], 20000);
  EXPECT_EQ(values["process_open_fds"], 4);
  EXPECT_EQ(values["process_resident_memory_bytes"], 397 * page);
  EXPECT_EQ(values["process_start_time_seconds"], 1795884559 + 2391.15);
  EXPECT_EQ(values["process_virtual_memory_bytes"], 3133440);
  EXPECT_EQ(values["process_virtual_memory_max_bytes"], static_cast<double>(UINT64_MAX));
}

TEST(ProcessCollector, BrokenFilesExposeNothing) {
  EXPECT_TRUE(ProcessCollector(FixturePath("broken/missing/proc")).Collect().empty());
}

TEST(ProcessCollector, ReadsTheRealProcess) {
  const auto families = ProcessCollector("/proc").Collect();
  EXPECT_EQ(families.size(), 7u);
}

}  // namespace
}  // namespace mingus::metrics
