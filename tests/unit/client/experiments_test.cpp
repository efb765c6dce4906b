#include "mingus/experiments.h"

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "sdk_fakes.h"

namespace mingus::client {
namespace {

std::vector<std::string> Split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, separator)) parts.push_back(part);
  if (!text.empty() && text.back() == separator) parts.emplace_back();
  return parts;
}

// The vectors both SDKs are held to (docs/experiments.md).
TEST(ExperimentsTest, SharedVariantVectors) {
  std::ifstream file(MINGUS_FIXTURES_DIR "/sdk/variant_vectors.tsv");
  ASSERT_TRUE(file) << "tests/fixtures/sdk/variant_vectors.tsv";
  std::string line;
  int checked = 0;
  while (std::getline(file, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto columns = Split(line, '\t');
    ASSERT_EQ(columns.size(), 4u) << line;
    std::vector<Variant> variants;
    for (const std::string& spec : Split(columns[2], ',')) {
      const auto colon = spec.rfind(':');
      variants.push_back(
          {spec.substr(0, colon), static_cast<uint32_t>(std::stoul(spec.substr(colon + 1)))});
    }
    EXPECT_EQ(AssignVariant(columns[0], columns[1], variants), columns[3]) << line;
    ++checked;
  }
  EXPECT_GE(checked, 30);
}

TEST(ExperimentsTest, HashIsFnv1aOverExperimentZeroByteUser) {
  // FNV-1a 64 of the single byte 0x00 (empty experiment and user).
  EXPECT_EQ(ExperimentHash("", ""), 0xaf63bd4c8601b7dfull);
  EXPECT_NE(ExperimentHash("ab", "c"), ExperimentHash("a", "bc"));
}

TEST(ExperimentsTest, WeightsShareTheBuckets) {
  const std::vector<Variant> variants = {{"control", 3}, {"new", 1}};
  int control = 0;
  for (int user = 0; user < 20000; ++user) {
    control += AssignVariant("pricing", std::to_string(user), variants) == "control";
  }
  EXPECT_NEAR(control / 20000.0, 0.75, 0.02);
  EXPECT_EQ(AssignVariant("pricing", "u1", {}), "");
}

TEST(ExperimentsTest, ExposureAndConversionEventsNameTheAssignedVariant) {
  auto* sender = new testing::RecordingSender;
  Client client({.address = "unused", .background_flush = false}, std::unique_ptr<Sender>(sender));
  const Experiment experiment(client, "pricing_page", {{"control", 3}, {"new", 1}});
  EXPECT_EQ(experiment.Expose("1"), "new");  // from the vectors
  experiment.Convert("1");
  client.Flush();
  ASSERT_EQ(sender->Lines().size(), 2u);
  EXPECT_EQ(
      sender->Lines()[0],
      R"({"type":"experiment","experiment":"pricing_page","variant":"new","user_id":"1","event":"exposure"})");
  EXPECT_EQ(
      sender->Lines()[1],
      R"({"type":"experiment","experiment":"pricing_page","variant":"new","user_id":"1","event":"conversion"})");
}

}  // namespace
}  // namespace mingus::client
