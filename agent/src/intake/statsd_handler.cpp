#include "mingus/agent/intake/statsd_handler.h"

#include <algorithm>

namespace mingus::agent::intake {

namespace {

bool IsValidLabelChar(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!first && c >= '0' && c <= '9');
}

// Appends the sanitised form of a tag name (see SanitizeLabelName) without allocating.
void AppendLabelName(std::string_view name, std::string& out) {
  size_t start = 0;
  while (start + 1 < name.size() && name[start] == '_' && name[start + 1] == '_') ++start;
  if (start < name.size() && name[start] >= '0' && name[start] <= '9') out.push_back('_');
  for (size_t i = start; i < name.size(); ++i) out.push_back(IsValidLabelChar(name[i], false) ? name[i] : '_');
}

}  // namespace

StatsdHandler::StatsdHandler(const MappingConfig& mapping, MetricStore& store, IntakeStats& stats)
    : mapping_(mapping), store_(store), stats_(stats) {
  cache_key_.reserve(256);
  tag_names_.reserve(4096);
  labels_.reserve(32);
}

const StatsdHandler::Mapped& StatsdHandler::Lookup(const wire::StatsdLine& line) {
  cache_key_.assign(1, static_cast<char>('0' + static_cast<int>(line.type)));
  cache_key_.append(line.name);
  if (const auto it = cache_.find(cache_key_); it != cache_.end()) return it->second;
  if (cache_.size() >= kMaxCachedNames) cache_.clear();
  MappedMetric mapped = MapStatsdName(mapping_, line.name, line.type);
  Mapped entry;
  entry.drop = mapped.drop;
  if (!mapped.drop) {
    entry.family = store_.Family(mapped.family);
    entry.labels = std::move(mapped.labels);
    entry.scale = mapped.scale;
  }
  return cache_.emplace(cache_key_, std::move(entry)).first->second;
}

void StatsdHandler::Handle(const wire::StatsdLine& line, int64_t now_ms) {
  // The series key: what tells one series from another before any mapping.
  series_key_.assign(1, static_cast<char>('0' + static_cast<int>(line.type)));
  series_key_.append(line.name);
  series_key_.push_back('|');
  series_key_.append(line.tags);
  if (const auto known = series_cache_.find(std::string_view(series_key_)); known != series_cache_.end()) {
    if (Apply(known->second.series, known->second.scale, line, now_ms)) return;
    series_cache_.erase(known);  // removed for idling since; resolve it again
  }

  const Mapped& mapped = Lookup(line);
  if (mapped.drop) return;
  if (mapped.family == nullptr) {
    stats_.CountError("type_conflict");
    return;
  }
  const bool tags_well_formed = BuildLabels(mapped, line);
  if (!tags_well_formed) stats_.CountError("malformed_tag");
  // A series refused by the cap is counted by the store. Resolving and updating are two steps,
  // so a removal may slip in between: then resolve again.
  for (int attempt = 0; attempt < 3; ++attempt) {
    const auto series = store_.Resolve(mapped.family, labels_, now_ms);
    if (!series) return;
    if (!Apply(*series, mapped.scale, line, now_ms)) continue;
    // A line with a malformed tag is not cached, so that each one is counted.
    if (tags_well_formed) {
      if (series_cache_.size() >= kMaxCachedSeries) series_cache_.clear();
      series_cache_.emplace(series_key_, KnownSeries{*series, mapped.scale});
    }
    return;
  }
}

bool StatsdHandler::BuildLabels(const Mapped& mapped, const wire::StatsdLine& line) {
  // Labels: the rule's, then the tags'; sorted by name, the rule's win a tie.
  labels_.clear();
  tag_names_.clear();
  for (const auto& [name, value] : mapped.labels) labels_.push_back({name, value});
  // Tag names are sanitised into one buffer first; views are taken once it stops growing.
  tags_.clear();
  const size_t malformed = wire::ForEachTag(line.tags, [&](std::string_view key, std::string_view value) {
    const size_t start = tag_names_.size();
    AppendLabelName(key, tag_names_);
    tags_.push_back({start, tag_names_.size() - start, value});
  });
  for (const auto& [start, length, value] : tags_) {
    const std::string_view name(tag_names_.data() + start, length);
    // "le" and "quantile" belong to histograms and summaries.
    if (name == "le" || name == "quantile") continue;
    labels_.push_back({name, value});
  }
  // An insertion sort: stable, few labels, and unlike std::stable_sort it allocates nothing.
  for (size_t i = 1; i < labels_.size(); ++i) {
    for (size_t j = i; j > 0 && labels_[j].name < labels_[j - 1].name; --j) std::swap(labels_[j], labels_[j - 1]);
  }
  // Equal names: keep the first, which is the rule's (the sort is stable).
  labels_.erase(std::unique(labels_.begin(), labels_.end(),
                            [](const Label& a, const Label& b) { return a.name == b.name; }),
                labels_.end());
  return malformed == 0;
}

bool StatsdHandler::Apply(const SeriesRef& series, double scale, const wire::StatsdLine& line,
                          int64_t now_ms) {
  const double weight = 1 / line.sample_rate;
  switch (line.type) {
    case wire::StatsdType::kCounter:
      return store_.Add(series, line.value * weight, now_ms);
    case wire::StatsdType::kGauge:
      return line.gauge_delta ? store_.Add(series, line.value, now_ms) : store_.Set(series, line.value, now_ms);
    case wire::StatsdType::kTimer:
    case wire::StatsdType::kHistogram:
    case wire::StatsdType::kDistribution:
      return store_.Observe(series, line.value * scale, weight, now_ms);
    case wire::StatsdType::kSet:
      return store_.AddMember(series, line.set_member, now_ms);
  }
  return false;
}

}  // namespace mingus::agent::intake
