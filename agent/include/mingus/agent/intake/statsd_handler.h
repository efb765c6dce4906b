#pragma once

#include <boost/unordered/unordered_flat_map.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "mingus/agent/intake/intake_stats.h"
#include "mingus/agent/intake/mapping.h"
#include "mingus/agent/intake/metric_store.h"
#include "mingus/common/fast_hash.h"
#include "mingus/wire/statsd.h"

namespace mingus::agent::intake {

// Applies parsed StatsD lines to the store: mapping, tags as labels, sample rates, units.
// One per receive thread (not thread-safe). A line for a series seen before (the same type, name
// and tags) goes straight to that series through a per-thread cache: one hash lookup, no
// mapping, no label work, no allocation.
class StatsdHandler {
 public:
  StatsdHandler(const MappingConfig& mapping, MetricStore& store, IntakeStats& stats);
  void Handle(const wire::StatsdLine& line, int64_t now_ms);

 private:
  struct Mapped {
    bool drop = false;
    StoreFamily* family = nullptr;  // null: the name is taken by another metric type
    std::vector<std::pair<std::string, std::string>> labels;
    double scale = 1;
  };
  const Mapped& Lookup(const wire::StatsdLine& line);
  // Labels of the line (the rule's, then the tags') into labels_; false if a tag was malformed.
  bool BuildLabels(const Mapped& mapped, const wire::StatsdLine& line);
  bool Apply(const SeriesRef& series, double scale, const wire::StatsdLine& line, int64_t now_ms);

  struct KnownSeries {
    SeriesRef series;
    double scale;
  };

  static constexpr size_t kMaxCachedNames = 10'000;
  static constexpr size_t kMaxCachedSeries = 20'000;
  const MappingConfig& mapping_;
  MetricStore& store_;
  IntakeStats& stats_;
  std::unordered_map<std::string, Mapped> cache_;
  std::string cache_key_;
  // Open addressing: the lookup on every line is one probe in the common case.
  boost::unordered_flat_map<std::string, KnownSeries, FastHash, std::equal_to<>> series_cache_;
  std::string series_key_;
  std::string tag_names_;  // sanitised tag names of the current line, back to back
  struct Tag {
    size_t name_start, name_length;
    std::string_view value;
  };
  std::vector<Tag> tags_;
  std::vector<Label> labels_;
};

}  // namespace mingus::agent::intake
