#include "mingus/collector/events/ux_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "mingus/collector/config.h"
#include "mingus/config/yaml_reader.h"

namespace mingus::collector::events {
namespace {

using ::testing::HasSubstr;

std::string ErrorOf(const std::string& yaml) {
  try {
    ParseCollectorConfig(yaml, "collector.yaml", {});
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "accepted";
}

TEST(UxConfig, ReadsFunnelsExperimentsAndWindows) {
  const CollectorConfig config = ParseCollectorConfig(R"(
ux:
  session_timeout: 15m
  rage_click_count: 4
  rage_click_window: 3s
  dead_click_window: 1500ms
  default_sample_size: 500
funnels:
  - name: signup
    steps:
      - page: /pricing
      - {name: Submitted, page: /signup, element: submit, event_type: click}
  - name: comeback
    within: 7d
    steps: [{element: open}, {page: /dashboard}]
experiments:
  - name: checkout_cta
    variants: {A: 1, B: 3}
    sample_size: 2000
  - name: colours
    control: blue
)",
                                                      "collector.yaml", {});
  const UxConfig& ux = config.ux;
  EXPECT_EQ(ux.session_timeout, std::chrono::minutes(15));
  EXPECT_EQ(ux.rage_click_count, 4);
  EXPECT_EQ(ux.rage_click_window, std::chrono::seconds(3));
  EXPECT_EQ(ux.dead_click_window, std::chrono::milliseconds(1500));
  EXPECT_EQ(ux.default_sample_size, 500);
  ASSERT_EQ(ux.funnels.size(), 2u);
  EXPECT_EQ(ux.funnels[0].within.count(), 0);
  EXPECT_EQ(ux.funnels[0].steps[0].name, "/pricing");
  EXPECT_EQ(ux.funnels[0].steps[1].name, "Submitted");
  EXPECT_EQ(ux.funnels[0].steps[1].event_type, "click");
  EXPECT_EQ(ux.funnels[1].within, std::chrono::days(7));
  EXPECT_EQ(ux.funnels[1].steps[0].name, "open");
  ASSERT_EQ(ux.experiments.size(), 2u);
  EXPECT_EQ(ux.experiments[0].control, "A");  // the first listed
  EXPECT_EQ(ux.experiments[0].variants,
            (std::vector<std::pair<std::string, double>>{{"A", 1}, {"B", 3}}));
  EXPECT_EQ(ux.experiments[0].sample_size, 2000);
  EXPECT_EQ(ux.experiments[1].control, "blue");
  EXPECT_TRUE(ux.experiments[1].variants.empty());

  const CollectorConfig defaults = ParseCollectorConfig("", "collector.yaml", {});
  EXPECT_EQ(defaults.ux.session_timeout, std::chrono::minutes(30));
  EXPECT_EQ(defaults.ux.rage_click_count, 3);
  EXPECT_EQ(defaults.ux.rage_click_window, std::chrono::seconds(2));
  EXPECT_TRUE(defaults.ux.funnels.empty());
}

TEST(UxConfig, ABadFunnelIsRefusedNamingTheFileFunnelAndStep) {
  const std::string bad_step = ErrorOf(R"(funnels:
  - name: signup
    steps:
      - page: /pricing
      - name: nothing to match
)");
  EXPECT_THAT(bad_step, HasSubstr("collector.yaml:5"));
  EXPECT_THAT(bad_step, HasSubstr("funnel 'signup' step 2: needs a page or an element"));
  EXPECT_THAT(ErrorOf("funnels:\n  - name: f\n    steps: [{page: /a}, {page: /b, color: red}]\n"),
              HasSubstr("funnels[0].steps[1].color"));
  EXPECT_THAT(ErrorOf("funnels:\n  - name: short\n    steps: [{page: /a}]\n"),
              HasSubstr("funnel 'short' has 1 steps; a funnel needs two or more"));
  EXPECT_THAT(ErrorOf("funnels:\n  - steps: [{page: /a}, {page: /b}]\n"),
              HasSubstr("funnel 1 has no name"));
  const std::string within =
      ErrorOf("funnels:\n  - name: w\n    within: forever\n    steps: [{page: /a}, {page: /b}]\n");
  EXPECT_THAT(within, HasSubstr("collector.yaml:3"));
  EXPECT_THAT(within, HasSubstr("funnel 'w': 'forever' is neither session nor a duration"));
  EXPECT_THAT(ErrorOf("funnels:\n  - {name: d, steps: [{page: /a}, {page: /b}]}\n"
                      "  - {name: d, steps: [{page: /a}, {page: /b}]}\n"),
              HasSubstr("funnel 'd' is defined twice"));
}

TEST(UxConfig, ABadExperimentOrWindowIsRefused) {
  EXPECT_THAT(ErrorOf("experiments:\n  - name: e\n    variants: {A: 1, B: 0}\n"),
              HasSubstr("experiments[0].variants.B: 0 is out of range [1, 1000000]"));
  EXPECT_THAT(ErrorOf("experiments:\n  - name: e\n    variants: {A: 1}\n"),
              HasSubstr("experiment 'e': plan two or more variants"));
  EXPECT_THAT(ErrorOf("experiments:\n  - name: e\n    variants: {A: 1, B: 1}\n    control: C\n"),
              HasSubstr("experiment 'e': 'C' is not one of its variants"));
  EXPECT_THAT(ErrorOf("experiments:\n  - name: e\n    sample_size: 0\n"),
              HasSubstr("experiments[0].sample_size"));
  EXPECT_THAT(ErrorOf("ux:\n  rage_click_window: 0s\n"),
              HasSubstr("ux.rage_click_window: must be above zero"));
  EXPECT_THAT(ErrorOf("ux:\n  rage_click_count: 1\n"), HasSubstr("ux.rage_click_count"));
  EXPECT_THAT(ErrorOf("ux:\n  typo: 1\n"), HasSubstr("ux.typo"));
}

}  // namespace
}  // namespace mingus::collector::events
