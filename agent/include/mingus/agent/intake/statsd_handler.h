#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "mingus/agent/intake/intake_stats.h"
#include "mingus/agent/intake/mapping.h"
#include "mingus/agent/intake/metric_store.h"
#include "mingus/wire/statsd.h"

namespace mingus::agent::intake {

// Applies parsed StatsD lines to the store: mapping, tags as labels, sample rates, units.
// One per receive thread (not thread-safe); names already seen are mapped from a per-thread
// cache, so a line for a known series allocates nothing.
class StatsdHandler {
 public:
  StatsdHandler(const MappingConfig& mapping, MetricStore& store, IntakeStats& stats);
  void Handle(const wire::StatsdLine& line);

 private:
  struct Mapped {
    bool drop = false;
    StoreFamily* family = nullptr;  // null: the name is taken by another metric type
    std::vector<std::pair<std::string, std::string>> labels;
    double scale = 1;
  };
  const Mapped& Lookup(const wire::StatsdLine& line);

  static constexpr size_t kMaxCachedNames = 10'000;
  const MappingConfig& mapping_;
  MetricStore& store_;
  IntakeStats& stats_;
  std::unordered_map<std::string, Mapped> cache_;
  std::string cache_key_;
  std::string tag_names_;  // sanitised tag names of the current line, back to back
  struct Tag {
    size_t name_start, name_length;
    std::string_view value;
  };
  std::vector<Tag> tags_;
  std::vector<Label> labels_;
};

}  // namespace mingus::agent::intake
