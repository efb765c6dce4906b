#pragma once

#include <cstdint>
#include <optional>
#include <vector>

// The statistics of an A/B experiment's report: a treatment's conversion rate against the
// control's, and whether the exposures follow the planned split. docs/ux.md gives the formulas;
// tests/integration/ux_report_test.py checks them against scipy.
namespace mingus::collector::events {

struct Proportion {
  int64_t trials = 0;     // exposed users
  int64_t successes = 0;  // of them, converted
  double rate() const { return trials > 0 ? static_cast<double>(successes) / trials : 0; }
};

struct Interval {
  double low = 0, high = 0;
};

struct Comparison {
  double absolute_lift = 0;  // treatment rate - control rate
  // Wald (unpooled) interval of the difference; none unless both groups have exposures.
  std::optional<Interval> absolute_interval;
  // treatment rate / control rate - 1, and its interval from the log of the rate ratio (Katz):
  // none while either group has no conversions.
  std::optional<double> relative_lift;
  std::optional<Interval> relative_interval;
  // Two-proportion z-test with the pooled rate, two-sided; none when it is undefined (a group
  // without exposures, or a pooled rate of 0 or 1).
  std::optional<double> z, p_value;
};

// `confidence` is the intervals' level, e.g. 0.95.
Comparison CompareProportions(const Proportion& control, const Proportion& treatment,
                              double confidence);

struct ChiSquareTest {
  double chi_square = 0;
  int64_t degrees_of_freedom = 0;
  double p_value = 1;
};

// Pearson's goodness-of-fit test of `observed` counts against the shares of `weights` (same
// length, positive); none with fewer than two groups or no observations.
std::optional<ChiSquareTest> GoodnessOfFit(const std::vector<int64_t>& observed,
                                           const std::vector<double>& weights);

}  // namespace mingus::collector::events
