#include "mingus/agent/host/procfs.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fixtures.h"

namespace mingus::agent::host {
namespace {

using ::testing::HasSubstr;
using mingus::testing::ReadFixture;

TEST(ParseProcStat, ReadsEveryCpuAndCounterOfARealMachine) {
  const auto stat = ParseProcStat(ReadFixture("proc/stat"));
  ASSERT_TRUE(stat.ok()) << stat.message();
  ASSERT_EQ(stat->cpus.size(), 2u);
  EXPECT_EQ(stat->cpus[0].cpu, "0");
  EXPECT_EQ(stat->cpus[0].ticks[0], 8567u);    // user
  EXPECT_EQ(stat->cpus[0].ticks[2], 1717u);    // system
  EXPECT_EQ(stat->cpus[0].ticks[3], 228362u);  // idle
  EXPECT_EQ(stat->cpus[1].cpu, "1");
  EXPECT_EQ(stat->cpus[1].ticks[4], 1142u);  // iowait
  EXPECT_EQ(stat->cpus[1].ticks[7], 16u);    // steal
  EXPECT_EQ(stat->boot_time, 1795884559u);
  EXPECT_EQ(stat->context_switches, 400229u);
  EXPECT_EQ(stat->interrupts, 261218u);
  EXPECT_EQ(stat->forks, 4540u);
  EXPECT_EQ(stat->procs_running, 1u);
  EXPECT_EQ(stat->procs_blocked, 0u);
}

TEST(ParseProcStat, OldKernelsWithFourCountersLeaveTheRestZero) {
  const auto stat = ParseProcStat("cpu 1 2 3 4\ncpu0 1 2 3 4\nbtime 7\n");
  ASSERT_TRUE(stat.ok()) << stat.message();
  EXPECT_EQ(stat->cpus[0].ticks[3], 4u);
  EXPECT_EQ(stat->cpus[0].ticks[4], 0u);
}

TEST(ParseProcStat, RefusesDamageWithLineAndReason) {
  EXPECT_THAT(ParseProcStat("cpu0 1 2\nbtime 1\n").message(), HasSubstr("line 1"));
  EXPECT_THAT(ParseProcStat("cpu0 1 2 3 4\ncpu1 1 x 3 4\nbtime 1\n").message(),
              HasSubstr("stat: line 2: bad counter 'x'"));
  EXPECT_THAT(ParseProcStat("cpuX 1 2 3 4\nbtime 1\n").message(), HasSubstr("bad cpu name"));
  EXPECT_THAT(ParseProcStat("cpu0 1 2 3 4\n").message(), HasSubstr("no btime"));
  EXPECT_THAT(ParseProcStat("btime 1\n").message(), HasSubstr("no per-cpu lines"));
  EXPECT_THAT(ParseProcStat("cpu0 1 2 3 4\nbtime\n").message(), HasSubstr("bad value for 'btime'"));
  EXPECT_FALSE(ParseProcStat("").ok());
}

TEST(ParseMeminfo, NamesAndUnitsFollowNodeExporter) {
  const auto fields = ParseMeminfo(ReadFixture("proc/meminfo"));
  ASSERT_TRUE(fields.ok()) << fields.message();
  EXPECT_EQ(fields->size(), 54u);
  const auto find = [&](std::string_view name) -> double {
    for (const auto& f : *fields) {
      if (f.name == name) return f.value;
    }
    ADD_FAILURE() << "no field " << name;
    return -1;
  };
  EXPECT_EQ(find("MemTotal_bytes"), 24684092.0 * 1024);
  EXPECT_EQ(find("MemAvailable_bytes"), 24323136.0 * 1024);
  EXPECT_EQ(find("Active_anon_bytes"), 1508.0 * 1024);
  EXPECT_EQ(find("HugePages_Total"), 0);  // no unit: no _bytes, no scaling
}

TEST(ParseMeminfo, RefusesGarbage) {
  EXPECT_THAT(ParseMeminfo("MemTotal: 12 kB\nMemFree: abc kB\n").message(),
              HasSubstr("meminfo: line 2: bad value"));
  EXPECT_THAT(ParseMeminfo("MemTotal: 12 MB\n").message(), HasSubstr("bad value"));
  EXPECT_THAT(ParseMeminfo("MemTotal 12 kB\n").message(), HasSubstr("expected 'Name: value [kB]'"));
  EXPECT_THAT(ParseMeminfo("MemTotal:\n").message(), HasSubstr("line 1"));
  EXPECT_FALSE(ParseMeminfo("").ok());
}

TEST(ParseLoadavg, ReadsTheThreeAverages) {
  const auto load = ParseLoadavg(ReadFixture("proc/loadavg"));
  ASSERT_TRUE(load.ok()) << load.message();
  EXPECT_DOUBLE_EQ(load->load1, 0.77);
  EXPECT_DOUBLE_EQ(load->load5, 0.43);
  EXPECT_DOUBLE_EQ(load->load15, 0.17);
  EXPECT_FALSE(ParseLoadavg("").ok());
  EXPECT_FALSE(ParseLoadavg("0.1 0.2").ok());
  EXPECT_FALSE(ParseLoadavg("0.1 x 0.3 1/2 3").ok());
  EXPECT_FALSE(ParseLoadavg("-1 0 0 1/2 3").ok());
}

TEST(ParseNetDev, ReadsEveryDeviceAndColumn) {
  const auto devices = ParseNetDev(ReadFixture("proc/net/dev"));
  ASSERT_TRUE(devices.ok()) << devices.message();
  ASSERT_EQ(devices->size(), 4u);
  EXPECT_EQ((*devices)[0].name, "lo");
  EXPECT_EQ((*devices)[3].name, "eth0");
  EXPECT_EQ((*devices)[3].counters[0], 57738429u);  // receive_bytes
  EXPECT_EQ((*devices)[3].counters[1], 1210u);      // receive_packets
  EXPECT_EQ((*devices)[3].counters[8], 58535u);     // transmit_bytes
  EXPECT_EQ((*devices)[3].counters[9], 739u);       // transmit_packets
}

TEST(ParseNetDev, LongCountersTouchingTheColon) {
  const auto devices = ParseNetDev("h1\nh2\n  eth0:12345678901 1 0 0 0 0 0 0 9 1 0 0 0 0 0 0\n");
  ASSERT_TRUE(devices.ok()) << devices.message();
  EXPECT_EQ((*devices)[0].name, "eth0");
  EXPECT_EQ((*devices)[0].counters[0], 12345678901u);
  EXPECT_EQ((*devices)[0].counters[8], 9u);
}

TEST(ParseNetDev, RefusesDamage) {
  const std::string header = "Inter-| Receive | Transmit\n face |bytes ...\n";
  EXPECT_THAT(ParseNetDev(header + "eth0 1 2 3\n").message(), HasSubstr("net/dev: line 3: no ':'"));
  EXPECT_THAT(ParseNetDev(header + "eth0: 1 2 3\n").message(), HasSubstr("expected 16 counters, got 3"));
  EXPECT_THAT(ParseNetDev(header + "eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 -1\n").message(),
              HasSubstr("bad counter '-1'"));
  EXPECT_THAT(ParseNetDev("Inter-|").message(), HasSubstr("truncated header"));
}

TEST(ParseDiskstats, ReadsAllThreeKernelLayouts) {
  const auto disks = ParseDiskstats(ReadFixture("proc/diskstats"));
  ASSERT_TRUE(disks.ok()) << disks.message();
  ASSERT_EQ(disks->size(), 11u);
  const DiskStats& vda = (*disks)[8];
  EXPECT_EQ(vda.name, "vda");
  EXPECT_EQ(vda.major, 254u);
  EXPECT_EQ(vda.field_count, 17u);
  EXPECT_EQ(vda.fields[0], 36909u);
  EXPECT_EQ(vda.fields[16], 42u);
  const DiskStats& sda = (*disks)[10];
  EXPECT_EQ(sda.name, "sda");
  EXPECT_EQ(sda.field_count, 11u);
  EXPECT_EQ(sda.fields[10], 3610u);
}

TEST(ParseDiskstats, RefusesDamage) {
  EXPECT_THAT(ParseDiskstats("8 0 sda 1 2 3\n").message(), HasSubstr("diskstats: line 1: expected 14, 18 or 20"));
  EXPECT_THAT(ParseDiskstats("8 x sda 1 2 3 4 5 6 7 8 9 10 11\n").message(), HasSubstr("major/minor"));
  EXPECT_THAT(ParseDiskstats("8 0 sda 1 2 3 4 5 6 7 8 9 10 1.5\n").message(), HasSubstr("bad counter"));
}

TEST(ParseMounts, DecodesEscapesAndReadOnlyFlags) {
  const auto mounts = ParseMounts(ReadFixture("proc/1/mounts"));
  ASSERT_TRUE(mounts.ok()) << mounts.message();
  const Mount& root = (*mounts)[5];
  EXPECT_EQ(root.device, "/dev/vda");
  EXPECT_EQ(root.mount_point, "/");
  EXPECT_EQ(root.fs_type, "ext4");
  EXPECT_FALSE(root.read_only);
  const Mount& media = (*mounts)[mounts->size() - 3];
  EXPECT_EQ(media.mount_point, "/srv/media files");
  const Mount& boot = (*mounts)[mounts->size() - 2];
  EXPECT_EQ(boot.mount_point, "/boot");
  EXPECT_TRUE(boot.read_only);
  EXPECT_THAT(ParseMounts("/dev/sda1 /\n").message(), HasSubstr("mounts: line 1"));
  EXPECT_FALSE(ParseMounts("").ok());
}

TEST(ParseUdevData, PicksTheDiskInfoProperties) {
  const UdevDiskProperties props = ParseUdevData(ReadFixture("rootfs/run/udev/data/b254:0"));
  EXPECT_EQ(props.path, "pci-0000:00:05.0");
  EXPECT_EQ(props.model, "QEMU HARDDISK");
  EXPECT_EQ(props.serial, "mingus-root");
  EXPECT_EQ(props.revision, "2.5+");
  EXPECT_EQ(props.wwn, "0x5000c500a1b2c3d4");
}

}  // namespace
}  // namespace mingus::agent::host
