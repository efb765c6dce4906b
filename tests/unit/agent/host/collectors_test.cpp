#include "mingus/agent/host/collectors.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "fake_system.h"
#include "fixtures.h"
#include "mingus/agent/config.h"
#include "mingus/agent/host/host_metrics.h"

namespace mingus::agent::host {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using mingus::testing::FakeSystemCalls;
using mingus::testing::FixturePath;
using mingus::testing::ReadFixture;

HostCollectorsConfig AllCollectors() {
  HostCollectorsConfig config;
  for (const auto& name : kHostCollectorNames) config.enabled[name] = true;
  config.filesystem_mount_points_exclude = kDefaultMountPointsExclude;
  config.filesystem_fs_types_exclude = kDefaultFsTypesExclude;
  config.netdev_device_exclude = kDefaultNetdevDeviceExclude;
  config.diskstats_device_exclude = kDefaultDiskstatsDeviceExclude;
  return config;
}

class HostCollectorsTest : public ::testing::Test {
 protected:
  HostCollectorsTest() {
    system_.statfs[FixturePath("rootfs/")] = {4096, 66053020, 61720215, 20749526, 16777216, 16348891};
    system_.statfs[FixturePath("rootfs/srv/media files")] = {4096, 1000, 500, 400, 100, 50};
    // /boot is deliberately absent: its statfs fails and it reports device_error 1.
  }

  HostContext Context(std::string_view proc = "proc") const {
    return HostContext{{FixturePath(proc), FixturePath("sys"), FixturePath("rootfs")}, &system_};
  }

  std::string Scrape(const HostContext& context, const HostCollectorsConfig& config) {
    HostMetrics metrics(context, config, errors_);
    auto families = metrics.Collect();
    // Durations are real time: leave them out of exact comparisons.
    std::erase_if(families, [](const auto& f) {
      return f.name == "mingus_agent_scrape_collector_duration_seconds";
    });
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, families);
    return out.str();
  }

  double Errors(const std::string& collector) {
    return errors_.Add({{"collector", collector}}).Value();
  }

  FakeSystemCalls system_;
  prometheus::Registry registry_;
  prometheus::Family<prometheus::Counter>& errors_ =
      prometheus::BuildCounter().Name("errors_total").Register(registry_);
};

// The whole exposition of every collector on the fixture tree, against a golden file in the
// manner of node_exporter's e2e-output.txt. MINGUS_UPDATE_GOLDEN=1 rewrites it after a
// deliberate change; review the diff.
TEST_F(HostCollectorsTest, FixtureTreeMatchesGoldenOutput) {
  const std::string actual = Scrape(Context(), AllCollectors());
  const std::string golden_path = FixturePath("e2e-output.txt");
  if (std::getenv("MINGUS_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(golden_path) << actual;
  }
  EXPECT_EQ(actual, ReadFixture("e2e-output.txt"));
}

TEST_F(HostCollectorsTest, ExactValuesFromTheFixtureTree) {
  const std::string out = Scrape(Context(), AllCollectors());
  EXPECT_THAT(out, HasSubstr("node_cpu_seconds_total{cpu=\"0\",mode=\"user\"} 85.67\n"));
  EXPECT_THAT(out, HasSubstr("node_cpu_seconds_total{cpu=\"1\",mode=\"iowait\"} 11.42\n"));
  EXPECT_THAT(out, HasSubstr("node_memory_MemTotal_bytes 25276510208\n"));
  EXPECT_THAT(out, HasSubstr("node_memory_HugePages_Total 0\n"));
  EXPECT_THAT(out, HasSubstr("node_load1 0.77\n"));
  EXPECT_THAT(out, HasSubstr("node_boot_time_seconds 1795884559\n"));
  EXPECT_THAT(out, HasSubstr("node_network_receive_bytes_total{device=\"eth0\"} 57738429\n"));
  EXPECT_THAT(out, Not(HasSubstr("device=\"lo\"")));  // excluded by default
  EXPECT_THAT(out, HasSubstr("node_disk_read_bytes_total{device=\"vda\"} 1746277376\n"));
  EXPECT_THAT(out, HasSubstr("node_disk_io_time_seconds_total{device=\"sda\"} 2.3\n"));
  EXPECT_THAT(out, Not(HasSubstr("device=\"loop0\"")));
  EXPECT_THAT(out, HasSubstr("node_disk_info{device=\"vda\",major=\"254\",minor=\"0\","
                             "path=\"pci-0000:00:05.0\",wwn=\"0x5000c500a1b2c3d4\","
                             "model=\"QEMU HARDDISK\",serial=\"mingus-root\",revision=\"2.5+\"} 1\n"));
  EXPECT_THAT(out, HasSubstr("node_filesystem_avail_bytes{device=\"/dev/vda\",fstype=\"ext4\","
                             "mountpoint=\"/\"} 84990058496\n"));
  EXPECT_THAT(out, HasSubstr("node_filesystem_files_free{device=\"/dev/vdc1\",fstype=\"xfs\","
                             "mountpoint=\"/srv/media files\"} 50\n"));
  EXPECT_THAT(out, HasSubstr("node_filesystem_device_error{device=\"/dev/vdb1\",fstype=\"ext4\","
                             "mountpoint=\"/boot\"} 1\n"));
  EXPECT_THAT(out, HasSubstr("node_filesystem_readonly{device=\"/dev/vdb1\",fstype=\"ext4\","
                             "mountpoint=\"/boot\"} 1\n"));
  EXPECT_THAT(out, Not(HasSubstr("node_filesystem_size_bytes{device=\"/dev/vdb1\"")));
  EXPECT_THAT(out, Not(HasSubstr("/var/lib/docker")));
  EXPECT_THAT(out, Not(HasSubstr("mountpoint=\"/sys/fs/cgroup")));
  EXPECT_THAT(out, HasSubstr("node_time_seconds 1795900000.25\n"));
  EXPECT_THAT(out, HasSubstr("node_time_zone_offset_seconds{time_zone=\"CET\"} 3600\n"));
  EXPECT_THAT(out, HasSubstr("node_time_clocksource_current_info{clocksource=\"tsc\",device=\"0\"} 1\n"));
  EXPECT_THAT(out, HasSubstr("node_uname_info{domainname=\"(none)\",machine=\"x86_64\","
                             "nodename=\"fixture-host\",release=\"6.1.0-13-amd64\""));
}

TEST_F(HostCollectorsTest, DisabledCollectorsExposeNothing) {
  HostCollectorsConfig config = AllCollectors();
  for (auto& [name, enabled] : config.enabled) enabled = name == "loadavg";
  const std::string out = Scrape(Context(), config);
  EXPECT_THAT(out, HasSubstr("node_load1 "));
  EXPECT_THAT(out, Not(HasSubstr("node_cpu")));
  EXPECT_THAT(out, Not(HasSubstr("collector=\"cpu\"")));
}

// Each broken fixture damages one file; the collectors reading it expose nothing (no partial
// family), count an error, and every other collector is untouched.
struct BrokenCase {
  std::string tree;                     // under tests/fixtures/broken/
  std::vector<std::string> collectors;  // the ones that must fail
  std::string family;                   // a family that must be absent
};

void PrintTo(const BrokenCase& broken, std::ostream* out) { *out << broken.tree; }

class BrokenFixtureTest : public HostCollectorsTest,
                          public ::testing::WithParamInterface<BrokenCase> {};

TEST_P(BrokenFixtureTest, FailingCollectorIsSkippedAndCounted) {
  const BrokenCase& broken = GetParam();
  const std::string out = Scrape(Context("broken/" + broken.tree + "/proc"), AllCollectors());
  EXPECT_THAT(out, Not(HasSubstr(broken.family)));
  for (const auto& name : kHostCollectorNames) {
    const bool should_fail =
        std::find(broken.collectors.begin(), broken.collectors.end(), name) != broken.collectors.end();
    EXPECT_EQ(Errors(name), should_fail ? 1 : 0) << name;
    EXPECT_THAT(out, HasSubstr("mingus_agent_scrape_collector_success{collector=\"" + name + "\"} " +
                               (should_fail ? "0" : "1")));
  }
  // Scraping again counts again: errors are per failed run.
  Scrape(Context("broken/" + broken.tree + "/proc"), AllCollectors());
  EXPECT_EQ(Errors(broken.collectors.front()), 2);
}

INSTANTIATE_TEST_SUITE_P(
    Broken, BrokenFixtureTest,
    ::testing::Values(
        BrokenCase{"stat_truncated", {"cpu", "stat"}, "node_cpu_seconds_total"},
        BrokenCase{"stat_garbled", {"cpu", "stat"}, "node_boot_time_seconds"},
        BrokenCase{"meminfo_garbled", {"meminfo"}, "node_memory_"},
        BrokenCase{"meminfo_truncated", {"meminfo"}, "node_memory_"},
        BrokenCase{"loadavg_empty", {"loadavg"}, "node_load1"},
        BrokenCase{"netdev_garbled", {"netdev"}, "node_network_"},
        BrokenCase{"diskstats_truncated", {"diskstats"}, "node_disk_"},
        BrokenCase{"mounts_garbled", {"filesystem"}, "node_filesystem_"},
        BrokenCase{"missing", {"cpu", "diskstats", "filesystem", "loadavg", "meminfo", "netdev", "stat"},
                   "node_cpu"}),
    [](const auto& info) { return info.param.tree; });

}  // namespace
}  // namespace mingus::agent::host
