#include "mingus/collector/events/ab_test.h"

#include <boost/math/distributions/chi_squared.hpp>
#include <boost/math/distributions/normal.hpp>
#include <cmath>
#include <numeric>

namespace mingus::collector::events {

Comparison CompareProportions(const Proportion& control, const Proportion& treatment,
                              double confidence) {
  Comparison out;
  const double p_c = control.rate(), p_t = treatment.rate();
  out.absolute_lift = p_t - p_c;
  if (control.trials == 0 || treatment.trials == 0) return out;
  const boost::math::normal standard;
  const double n_c = static_cast<double>(control.trials);
  const double n_t = static_cast<double>(treatment.trials);
  const double z_crit = boost::math::quantile(standard, 0.5 + confidence / 2);
  const double se = std::sqrt(p_c * (1 - p_c) / n_c + p_t * (1 - p_t) / n_t);
  out.absolute_interval =
      Interval{out.absolute_lift - z_crit * se, out.absolute_lift + z_crit * se};
  if (control.successes > 0 && treatment.successes > 0) {
    const double ratio = p_t / p_c;
    const double log_se = std::sqrt(1.0 / static_cast<double>(treatment.successes) - 1.0 / n_t +
                                    1.0 / static_cast<double>(control.successes) - 1.0 / n_c);
    out.relative_lift = ratio - 1;
    out.relative_interval =
        Interval{ratio * std::exp(-z_crit * log_se) - 1, ratio * std::exp(z_crit * log_se) - 1};
  }
  const double pooled = static_cast<double>(control.successes + treatment.successes) / (n_c + n_t);
  const double pooled_se = std::sqrt(pooled * (1 - pooled) * (1 / n_c + 1 / n_t));
  if (pooled_se > 0) {
    out.z = out.absolute_lift / pooled_se;
    out.p_value = 2 * boost::math::cdf(boost::math::complement(standard, std::fabs(*out.z)));
  }
  return out;
}

std::optional<ChiSquareTest> GoodnessOfFit(const std::vector<int64_t>& observed,
                                           const std::vector<double>& weights) {
  if (observed.size() < 2 || observed.size() != weights.size()) return std::nullopt;
  const double total =
      static_cast<double>(std::accumulate(observed.begin(), observed.end(), int64_t{0}));
  const double weight_sum = std::accumulate(weights.begin(), weights.end(), 0.0);
  if (total <= 0 || weight_sum <= 0) return std::nullopt;
  ChiSquareTest out;
  out.degrees_of_freedom = static_cast<int64_t>(observed.size()) - 1;
  for (size_t i = 0; i < observed.size(); ++i) {
    const double expected = total * weights[i] / weight_sum;
    const double difference = static_cast<double>(observed[i]) - expected;
    out.chi_square += difference * difference / expected;
  }
  const boost::math::chi_squared distribution(static_cast<double>(out.degrees_of_freedom));
  out.p_value = boost::math::cdf(boost::math::complement(distribution, out.chi_square));
  return out;
}

}  // namespace mingus::collector::events
