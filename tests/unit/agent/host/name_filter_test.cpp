#include "mingus/agent/host/name_filter.h"

#include <gtest/gtest.h>

#include "mingus/agent/host/collectors.h"

namespace mingus::agent::host {
namespace {

TEST(NameFilter, NodeExporterDefaultPatterns) {
  const NameFilter disks{std::regex(std::string(kDefaultDiskstatsDeviceExclude))};
  for (const char* partition : {"sda1", "vda2", "nvme0n1p1", "loop0", "ram3", "xvdb1"}) {
    EXPECT_TRUE(disks.Matches(partition)) << partition;
  }
  for (const char* disk : {"sda", "vda", "nvme0n1", "dm-0", "zram0", "md0"}) {
    EXPECT_FALSE(disks.Matches(disk)) << disk;
  }
  const NameFilter mounts{std::regex(std::string(kDefaultMountPointsExclude))};
  EXPECT_TRUE(mounts.Matches("/sys/fs/cgroup"));
  EXPECT_TRUE(mounts.Matches("/run"));
  EXPECT_TRUE(mounts.Matches("/var/lib/docker/overlay2/x"));
  EXPECT_FALSE(mounts.Matches("/"));
  EXPECT_FALSE(mounts.Matches("/runner"));
  EXPECT_FALSE(mounts.Matches("/var/lib/docker"));
}

TEST(NameFilter, AnswersStayRightPastTheMemoryLimit) {
  const NameFilter even{std::regex("[02468]$")};
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 10'000; ++i) {
      ASSERT_EQ(even.Matches("dev" + std::to_string(i)), i % 2 == 0) << i;
    }
  }
}

}  // namespace
}  // namespace mingus::agent::host
