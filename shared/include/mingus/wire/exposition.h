#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mingus/common/status.h"

// The Prometheus text exposition format 0.0.4, as scraped from agents and exporters (the
// OpenMetrics text format's "# EOF" and exemplars are accepted too).
namespace mingus::wire {

struct ExpositionLabel {
  std::string_view name, value;  // value unescaped; valid during the callback only
};

struct ExpositionSample {
  std::string_view series;  // the name and labels as written: a cache key for the series
  std::string_view name;
  std::span<const ExpositionLabel> labels;  // in the order written; none for a known series
  double value = 0;
  std::optional<int64_t> timestamp_ms;
};

enum class ExpositionType { kUntyped, kCounter, kGauge, kHistogram, kSummary };

struct ExpositionCallbacks {
  std::function<void(const ExpositionSample&)> sample;
  // Optional, called with each sample's series as written before its name and labels are
  // checked and read: true when the caller has seen these very bytes in an earlier body (they
  // passed the same checks then); the sample then comes without its labels.
  std::function<bool(std::string_view series)> known;
  std::function<void(std::string_view family, ExpositionType type)> type;      // optional
  std::function<void(std::string_view family, std::string_view help)> help;    // optional, unescaped
};

// Parses a whole body, calling back for each sample in order. Stops at the first malformed
// line and returns "line N: REASON"; samples before it have been delivered. Not thread-safe
// per parser; keep one per scraping thread to reuse its buffers.
class ExpositionParser {
 public:
  Status Parse(std::string_view body, const ExpositionCallbacks& callbacks);

 private:
  Status ParseSample(std::string_view line, const ExpositionCallbacks& callbacks);
  // The rest of a sample line once its series (line[0, series_end)) is read.
  Status ParseValueAndTimestamp(std::string_view line, size_t series_end, ExpositionSample& sample,
                                const ExpositionCallbacks& callbacks);
  Status ParseComment(std::string_view line, const ExpositionCallbacks& callbacks);

  std::vector<ExpositionLabel> labels_;
  std::string unescaped_;  // label values that had escapes, back to back
  struct UnescapedSpan {
    size_t label, start, length;
  };
  std::vector<UnescapedSpan> unescaped_spans_;
  std::vector<std::string_view> fields_;
  std::vector<std::string> typed_;  // families whose TYPE was given, to refuse a second one
};

bool IsValidMetricName(std::string_view name);
bool IsValidLabelName(std::string_view name);

}  // namespace mingus::wire
