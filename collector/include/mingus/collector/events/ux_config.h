#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace mingus::config {
class MapReader;
}

// collector.yaml's `funnels:`, `experiments:` and `ux:` sections: what the UX report
// (GET /api/monitoring/ux, `mingus-collector report ux`) counts, and how. docs/ux.md defines
// every figure.
namespace mingus::collector::events {

// One step of a funnel: the interaction events it matches. Every field given must match.
struct FunnelStep {
  std::string name;        // as the report shows it; default: what the step matches
  std::string page;        // page_url
  std::string element;     // element_id
  std::string event_type;  // e.g. click; empty: any
};

struct FunnelConfig {
  std::string name;
  std::vector<FunnelStep> steps;  // two or more, in order
  // Zero: the steps must happen in one session. Otherwise in any of the user's sessions, each
  // within this long of the user's first step.
  std::chrono::milliseconds within{0};
};

struct ExperimentConfig {
  std::string name;
  // The planned split: variants and their weights, as the SDKs assign them. Empty: the
  // variants seen, with equal weights.
  std::vector<std::pair<std::string, double>> variants;
  std::string control;      // default: the first variant listed, else the first by name
  int64_t sample_size = 0;  // exposed users each variant needs; 0: ux.default_sample_size
};

struct UxConfig {
  // A user's interactions more than this apart start a new session, even with one session_id.
  std::chrono::milliseconds session_timeout{30 * 60'000};
  // rage_click_count clicks on one element within rage_click_window (inclusive) in one session.
  int64_t rage_click_count = 3;
  std::chrono::milliseconds rage_click_window{2'000};
  // A click with no other event of its session within this long (a click on the same element
  // does not count) is dead.
  std::chrono::milliseconds dead_click_window{2'000};
  // The planned sample size of experiments that do not set sample_size.
  int64_t default_sample_size = 1'000;
  std::vector<FunnelConfig> funnels;
  std::vector<ExperimentConfig> experiments;
};

// Reads the `ux:`, `funnels:` and `experiments:` keys of collector.yaml's top mapping into
// `out`; throws config::ConfigError naming the file, line, key, and the funnel and step (or
// experiment) at fault.
void ReadUxConfig(config::MapReader& top, UxConfig& out);

}  // namespace mingus::collector::events
