#include "mingus/agent/intake/intake_stats.h"

#include <algorithm>

#include "mingus/metrics/family_builder.h"
#include "mingus/wire/json_event.h"
#include "mingus/wire/statsd.h"

namespace mingus::agent::intake {

const std::vector<std::string_view>& IntakeStats::Reasons() {
  static const std::vector<std::string_view> reasons = [] {
    std::vector<std::string_view> all;
    for (int e = 0; e <= static_cast<int>(wire::StatsdError::kEmptyName); ++e) {
      all.push_back(wire::ReasonName(static_cast<wire::StatsdError>(e)));
    }
    for (int e = 0; e <= static_cast<int>(wire::JsonEventError::kTooDeep); ++e) {
      all.push_back(wire::ReasonName(static_cast<wire::JsonEventError>(e)));
    }
    // The intake's own: a tag without "key:value", a name used with two metric types, a line
    // cut by the end of a datagram that was truncated, and anything else.
    for (std::string_view own : {"malformed_tag", "type_conflict", "truncated_datagram", "other"}) {
      all.push_back(own);
    }
    std::sort(all.begin(), all.end());
    all.erase(std::unique(all.begin(), all.end()), all.end());  // not_utf8 is in both parsers
    return all;
  }();
  return reasons;
}

IntakeStats::IntakeStats() {
  if (Reasons().size() > kMaxReasons) std::abort();  // a new reason needs a larger array
}

void IntakeStats::CountError(std::string_view reason) {
  const auto& reasons = Reasons();
  auto it = std::lower_bound(reasons.begin(), reasons.end(), reason);
  if (it == reasons.end() || *it != reason) it = std::lower_bound(reasons.begin(), reasons.end(), "other");
  errors_[static_cast<size_t>(it - reasons.begin())].fetch_add(1, std::memory_order_relaxed);
}

uint64_t IntakeStats::Errors(std::string_view reason) const {
  const auto& reasons = Reasons();
  const auto it = std::lower_bound(reasons.begin(), reasons.end(), reason);
  if (it == reasons.end() || *it != reason) return 0;
  return errors_[static_cast<size_t>(it - reasons.begin())].load();
}

void IntakeStats::AppendFamilies(std::vector<prometheus::MetricFamily>& out) const {
  using prometheus::MetricType;
  metrics::AddSample(metrics::AddFamily(out, "mingus_agent_udp_datagrams_total",
                                        "Datagrams received.", MetricType::Counter),
                     static_cast<double>(datagrams()));
  auto& lines = metrics::AddFamily(out, "mingus_agent_lines_total", "Lines received, by format.",
                                   MetricType::Counter);
  metrics::AddSample(lines, static_cast<double>(statsd_lines()), {{"format", "statsd"}});
  metrics::AddSample(lines, static_cast<double>(json_lines()), {{"format", "json"}});
  auto& errors = metrics::AddFamily(out, "mingus_agent_parse_errors_total",
                                    "Lines refused, by reason.", MetricType::Counter);
  const auto& reasons = Reasons();
  for (size_t i = 0; i < reasons.size(); ++i) {
    metrics::AddSample(errors, static_cast<double>(errors_[i].load()), {{"reason", reasons[i]}});
  }
}

}  // namespace mingus::agent::intake
