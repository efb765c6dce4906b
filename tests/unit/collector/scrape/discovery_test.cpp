#include "mingus/collector/scrape/discovery.h"

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "temp_dir.h"

namespace mingus::collector::scrape {
namespace {

using ::testing::HasSubstr;

TEST(ParseFileSd, ReadsJsonAndYamlGroups) {
  const auto json =
      ParseFileSd(R"([{"targets": ["10.0.0.1:9110", "10.0.0.2:9110"], "labels": {"env": "prod"}},
                                    {"targets": ["10.0.0.3:9110"]}])",
                  "a.json");
  ASSERT_TRUE(json.ok()) << json.message();
  ASSERT_EQ(json->size(), 2u);
  EXPECT_EQ((*json)[0].targets, (std::vector<std::string>{"10.0.0.1:9110", "10.0.0.2:9110"}));
  EXPECT_EQ((*json)[0].labels, (LabelPairs{{"env", "prod"}}));
  const auto yaml = ParseFileSd("- targets: ['h:1']\n  labels: {a: b}\n", "a.yml");
  ASSERT_TRUE(yaml.ok()) << yaml.message();
  EXPECT_EQ((*yaml)[0].targets, std::vector<std::string>{"h:1"});
  EXPECT_TRUE(ParseFileSd("", "empty.json")->empty());
}

TEST(ParseFileSd, RefusesMalformedFilesNamingFileAndLine) {
  EXPECT_THAT(ParseFileSd("{\"targets\": []}", "a.json").message(),
              HasSubstr("a.json:1:1: expected a list"));
  EXPECT_THAT(ParseFileSd("- targets: [x]\n", "a.yml").message(),
              HasSubstr("a.yml:1:13: target 'x' is not host:port"));
  EXPECT_THAT(ParseFileSd("- targets: []\n  lables: {}\n", "a.yml").message(),
              HasSubstr("unknown key 'lables'"));
  EXPECT_THAT(ParseFileSd("- labels: {'a-b': x}\n", "a.yml").message(),
              HasSubstr("bad label 'a-b'"));
  EXPECT_THAT(ParseFileSd("[{", "a.json").message(), HasSubstr("a.json:"));
  // Keys that are lists or mappings (found by fuzzing) are refused, not thrown.
  EXPECT_THAT(ParseFileSd("[{[targets]: 1}]", "a.json").message(), HasSubstr("unknown key ''"));
  EXPECT_THAT(ParseFileSd("[{labels: {[a]: b}}]", "a.json").message(), HasSubstr("bad label ''"));
}

TEST(BuildTargets, SetsJobAndInstanceAndDeduplicates) {
  ScrapeConfig config;
  config.job_name = "demo";
  config.scrape_interval = std::chrono::seconds(5);
  config.scrape_timeout = std::chrono::seconds(4);
  const std::vector<TargetGroup> groups = {
      {{"127.0.0.1:1", "127.0.0.1:2"}, {{"team", "web"}, {"job", "ignored"}}, ""},
      {{"127.0.0.1:1"}, {{"team", "web"}}, ""},                   // the same target again
      {{"127.0.0.1:3"}, {{"instance", "demo-host:10000"}}, ""}};  // instance set by the group
  const auto targets = BuildTargets(config, groups);
  ASSERT_EQ(targets.size(), 3u);
  EXPECT_EQ(tsdb::LabelsString(targets[0].labels),
            R"({instance="127.0.0.1:1", job="demo", team="web"})");
  EXPECT_EQ(targets[0].interval, std::chrono::seconds(5));
  EXPECT_EQ(targets[0].Url(), "http://127.0.0.1:1/metrics");
  EXPECT_EQ(tsdb::LabelsString(targets[2].labels), R"({instance="demo-host:10000", job="demo"})");
  EXPECT_EQ(targets[2].address, "127.0.0.1:3");
}

class FileDiscoveryTest : public ::testing::Test {
 protected:
  void SetUp() override { std::filesystem::create_directories(dir_ / "sd"); }
  void Write(const std::string& name, const std::string& content) {
    std::ofstream(dir_ / name) << content;
    // Distinct modification times even on coarse file systems.
    std::filesystem::last_write_time(
        dir_ / name, std::filesystem::file_time_type::clock::now() + std::chrono::seconds(++tick_));
  }
  mingus::testing::TempDir temp_{"mingus-sd"};
  const std::filesystem::path& dir_ = temp_.path();
  int tick_ = 0;
};

TEST_F(FileDiscoveryTest, FollowsChangesKeepsGroupsOfABrokenFileAndDropsDeletedOnes) {
  FileDiscovery discovery({{{"sd/*.json"}, std::chrono::minutes(5)}}, dir_.string());
  const auto now = std::chrono::steady_clock::now();
  std::vector<std::string> errors;
  EXPECT_FALSE(discovery.Refresh(now, errors));
  Write("sd/a.json", R"([{"targets": ["h:1"]}])");
  Write("sd/ignored.yml", R"([{"targets": ["h:9"]}])");
  EXPECT_TRUE(discovery.Refresh(now, errors));
  ASSERT_EQ(discovery.Groups().size(), 1u);
  EXPECT_FALSE(discovery.Refresh(now, errors));  // unchanged
  Write("sd/a.json", "[{\"targets\": [");
  EXPECT_FALSE(discovery.Refresh(now, errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], HasSubstr("a.json"));
  EXPECT_THAT(errors[0], HasSubstr("keeping its previous targets"));
  EXPECT_EQ(discovery.Groups()[0].targets, std::vector<std::string>{"h:1"});
  Write("sd/a.json", R"([{"targets": ["h:2"]}])");
  EXPECT_TRUE(discovery.Refresh(now, errors));
  EXPECT_EQ(discovery.Groups()[0].targets, std::vector<std::string>{"h:2"});
  std::filesystem::remove(dir_ / "sd/a.json");
  EXPECT_TRUE(discovery.Refresh(now, errors));
  EXPECT_TRUE(discovery.Groups().empty());
}

}  // namespace
}  // namespace mingus::collector::scrape
