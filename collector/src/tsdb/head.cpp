#include "mingus/collector/tsdb/head.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <iterator>
#include <mutex>

#include "mingus/common/fast_hash.h"

namespace mingus::collector::tsdb {

StatusOr<Labels> MakeLabels(std::vector<std::pair<std::string, std::string>> pairs) {
  std::sort(pairs.begin(), pairs.end());
  for (size_t i = 0; i < pairs.size(); ++i) {
    if (pairs[i].first.empty()) return Status::Error("empty label name");
    if (i > 0 && pairs[i].first == pairs[i - 1].first) {
      return Status::Error(fmt::format("duplicate label name {}", pairs[i].first));
    }
  }
  // Empty values mean "no label", as in Prometheus.
  std::erase_if(pairs, [](const auto& p) { return p.second.empty(); });
  return pairs;
}

StatusOr<Labels> ParseLabelsString(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> pairs;
  if (text.size() < 2 || text.front() != '{' || text.back() != '}')
    return Status::Error("not a label set");
  size_t i = 1;
  while (i < text.size() - 1) {
    const auto eq = text.find("=\"", i);
    if (eq == std::string_view::npos) return Status::Error("label without a value");
    std::string name(text.substr(i, eq - i));
    std::string value;
    size_t j = eq + 2;
    for (; j < text.size() - 1 && text[j] != '"'; ++j) {
      if (text[j] == '\\' && j + 1 < text.size()) {
        ++j;
        value.push_back(text[j] == 'n' ? '\n' : text[j]);
      } else {
        value.push_back(text[j]);
      }
    }
    if (j >= text.size() - 1) return Status::Error("unterminated label value");
    pairs.emplace_back(std::move(name), std::move(value));
    i = j + 1;
    if (text.substr(i, 2) == ", ") i += 2;
  }
  return MakeLabels(std::move(pairs));
}

std::string LabelsString(const Labels& labels) {
  std::string out = "{";
  for (const auto& [name, value] : labels) {
    if (out.size() > 1) out += ", ";
    out += name;
    out += "=\"";
    for (char c : value) {
      if (c == '"' || c == '\\') out.push_back('\\');
      if (c == '\n') {
        out += "\\n";
        continue;
      }
      out.push_back(c);
    }
    out += '"';
  }
  return out + "}";
}

StatusOr<Matcher> Matcher::Make(Op op, std::string name, std::string value) {
  Matcher matcher;
  matcher.op = op;
  matcher.name = std::move(name);
  matcher.value = std::move(value);
  if (op == Op::kRegex || op == Op::kNotRegex) {
    re2::RE2::Options options;
    options.set_log_errors(false);
    options.set_dot_nl(true);  // as Prometheus: "." matches newlines too
    auto regex = std::make_shared<const re2::RE2>(matcher.value, options);
    if (!regex->ok()) {
      return Status::Error(
          fmt::format("bad regular expression '{}': {}", matcher.value, regex->error()));
    }
    matcher.regex = std::move(regex);
  }
  return matcher;
}

bool Matcher::Matches(std::string_view label_value) const {
  switch (op) {
    case Op::kEqual:
      return label_value == value;
    case Op::kNotEqual:
      return label_value != value;
    case Op::kRegex:
      return re2::RE2::FullMatch(label_value, *regex);
    case Op::kNotRegex:
      return !re2::RE2::FullMatch(label_value, *regex);
  }
  return false;
}

uint64_t LabelsHash(const Labels& labels) {
  // Chained so that the boundaries count: ("ab", "c") and ("a", "bc") differ.
  uint64_t hash = 0;
  for (const auto& [name, value] : labels) {
    hash = XXH3_64bits_withSeed(name.data(), name.size(), hash);
    hash = XXH3_64bits_withSeed(value.data(), value.size(), hash);
  }
  return hash;
}

SeriesRef Head::GetOrCreate(const Labels& labels) {
  const uint64_t hash = hasher_(labels);
  {
    std::shared_lock lock(mutex_);
    if (const SeriesRef ref = FindLocked(labels, hash)) return ref;
  }
  std::unique_lock lock(mutex_);
  return GetOrCreateLocked(labels, hash);
}

SeriesRef Head::FindLocked(const Labels& labels, uint64_t hash) const {
  const auto it = by_hash_.find(hash);
  if (it == by_hash_.end()) return 0;
  if (series_.at(it->second).labels == labels) return it->second;
  if (colliding_.empty()) return 0;
  const auto other = colliding_.find(LabelsString(labels));
  return other == colliding_.end() ? 0 : other->second;
}

SeriesRef Head::GetOrCreateLocked(const Labels& labels, uint64_t hash) {
  if (const SeriesRef ref = FindLocked(labels, hash)) return ref;
  const SeriesRef ref = next_ref_++;
  auto series = std::make_unique<Series>();
  series->labels = PackedLabels(labels);
  series_.Insert(ref, std::move(series));
  if (!by_hash_.emplace(hash, ref).second) colliding_.emplace(LabelsString(labels), ref);
  for (const auto& [name, value] : labels) postings_[name][value].push_back(ref);
  return ref;
}

void Head::ForgetLocked(SeriesRef ref, const Labels& labels) {
  const uint64_t hash = hasher_(labels);
  const auto it = by_hash_.find(hash);
  if (it == by_hash_.end() || it->second != ref) {
    colliding_.erase(LabelsString(labels));
    return;
  }
  by_hash_.erase(it);
  // A colliding series with this hash takes the freed place, or lookups would miss it.
  for (auto other = colliding_.begin(); other != colliding_.end(); ++other) {
    if (other->second != ref && hasher_(series_.at(other->second).labels.Unpack()) == hash) {
      by_hash_.emplace(hash, other->second);
      colliding_.erase(other);
      return;
    }
  }
}

bool Head::Append(SeriesRef ref, int64_t t, double value) {
  std::unique_lock lock(mutex_);
  return AppendLocked(ref, t, value);
}

size_t Head::AppendMany(std::span<const PendingSample> samples) {
  // One sample for each of many series: each append waits on memory for its series and then
  // for its chunk's last byte, neither cached (perf: most of the scrape's time). So the series
  // kAhead samples on is fetched, and the chunk tail of the one half as far on, whose series
  // has arrived by then: the waits overlap instead of adding up.
  constexpr size_t kAhead = 16;
  const auto fetch_series = [&](size_t i) {
    if (i >= samples.size()) return;
    if (const Series* s = series_.Find(samples[i].series)) {
      for (size_t line = 0; line < sizeof(Series); line += 64)
        __builtin_prefetch(reinterpret_cast<const char*>(s) + line, 1);
    }
  };
  const auto fetch_tail = [&](size_t i) {
    if (i >= samples.size()) return;
    if (const Series* s = series_.Find(samples[i].series)) s->head.Prefetch();
  };
  std::unique_lock lock(mutex_);
  for (size_t i = 0; i < kAhead; ++i) fetch_series(i);
  size_t refused = 0;
  for (size_t i = 0; i < samples.size(); ++i) {
    fetch_series(i + kAhead);
    fetch_tail(i + kAhead / 2);
    const auto& sample = samples[i];
    refused += AppendLocked(sample.series, sample.timestamp_ms, sample.value) ? 0 : 1;
  }
  return refused;
}

bool Head::AppendLocked(SeriesRef ref, int64_t t, double value) {
  Series* found = series_.Find(ref);
  if (found == nullptr) return false;
  Series& s = *found;
  if (s.head.samples() > 0 && t <= s.head_max_t) return false;
  if (s.head.samples() == 0 && !s.closed.empty() && t <= s.closed.back().max_t) return false;
  if (s.head.samples() >= kSamplesPerChunk) {
    s.closed.push_back({s.head_min_t, s.head_max_t, s.head.Bytes()});
    s.head.Clear();
  }
  if (!s.head.Append(t, value)) return false;
  samples_appended_.fetch_add(1, std::memory_order_relaxed);
  if (s.head.samples() == 1) s.head_min_t = t;
  s.head_max_t = t;
  return true;
}

namespace {

// The refs of `a` also in `b`, both sorted. Binary search when `b` is much longer, as the
// postings of a metric name are against those of one path.
std::vector<SeriesRef> Intersect(const std::vector<SeriesRef>& a, const std::vector<SeriesRef>& b) {
  std::vector<SeriesRef> out;
  if (b.size() > 16 * a.size()) {
    auto from = b.begin();
    for (const SeriesRef ref : a) {
      from = std::lower_bound(from, b.end(), ref);
      if (from == b.end()) break;
      if (*from == ref) out.push_back(ref);
    }
  } else {
    std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  }
  return out;
}

}  // namespace

std::vector<SeriesRef> Head::Select(const std::vector<Matcher>& matchers) const {
  std::shared_lock lock(mutex_);
  // As Prometheus' PostingsForMatchers: a matcher that refuses the empty value can only match
  // series that have its label, so the candidates are the intersection of those matchers'
  // postings (equality lookups first, smallest first); a non-equality one takes the union of
  // the postings of the values it matches, unless the candidates are already fewer than the
  // label's values or than that union, when checking each candidate is cheaper. What remains is
  // checked label by label on each candidate.
  std::vector<const std::vector<SeriesRef>*> equal_postings;
  std::vector<const Matcher*> needs_label, check;
  for (const auto& m : matchers) {
    if (m.Matches("")) {
      if (postings_.contains(m.name)) check.push_back(&m);  // else every series lacks the label
      continue;
    }
    const auto name = postings_.find(m.name);
    if (name == postings_.end()) return {};
    if (m.op == Matcher::Op::kEqual) {
      const auto value = name->second.find(m.value);
      if (value == name->second.end()) return {};
      equal_postings.push_back(&value->second);
    } else {
      needs_label.push_back(&m);
    }
  }
  std::sort(equal_postings.begin(), equal_postings.end(),
            [](const auto* a, const auto* b) { return a->size() < b->size(); });
  std::optional<std::vector<SeriesRef>> candidates;
  for (const auto* postings : equal_postings) {
    candidates = candidates ? Intersect(*candidates, *postings) : *postings;
    if (candidates->empty()) return {};
  }
  for (const Matcher* m : needs_label) {
    const auto& values = postings_.find(m->name)->second;
    if (candidates && candidates->size() <= values.size()) {
      check.push_back(m);
      continue;
    }
    std::vector<const std::vector<SeriesRef>*> lists;
    size_t total = 0;
    for (const auto& [value, refs] : values) {
      if (m->Matches(value)) lists.push_back(&refs), total += refs.size();
    }
    if (candidates && candidates->size() <= total) {
      check.push_back(m);
      continue;
    }
    std::vector<SeriesRef> matching;
    matching.reserve(total);
    for (const auto* refs : lists) matching.insert(matching.end(), refs->begin(), refs->end());
    std::sort(matching.begin(), matching.end());
    candidates = candidates ? Intersect(*candidates, matching) : std::move(matching);
    if (candidates->empty()) return {};
  }
  if (!candidates) {
    candidates.emplace();
    candidates->reserve(series_.size());
    for (const auto& [ref, series] : series_) candidates->push_back(ref);
  }
  std::vector<std::pair<const PackedLabels*, SeriesRef>> selected;
  for (const SeriesRef ref : *candidates) {
    const PackedLabels& labels = series_.at(ref).labels;
    if (std::all_of(check.begin(), check.end(),
                    [&](const Matcher* m) { return m->Matches(labels.Get(m->name)); })) {
      selected.emplace_back(&labels, ref);
    }
  }
  std::sort(selected.begin(), selected.end(),
            [](const auto& a, const auto& b) { return *a.first < *b.first; });
  std::vector<SeriesRef> out;
  out.reserve(selected.size());
  for (const auto& [labels, ref] : selected) out.push_back(ref);
  return out;
}

Labels Head::LabelsOf(SeriesRef ref) const {
  std::shared_lock lock(mutex_);
  return series_.at(ref).labels.Unpack();
}

std::vector<Sample> Head::Samples(SeriesRef ref, int64_t min_t, int64_t max_t) const {
  std::shared_lock lock(mutex_);
  std::vector<Sample> out;
  const Series* found = series_.Find(ref);
  if (found == nullptr) return out;
  const Series& s = *found;
  const auto take = [&](XorChunkReader reader) {
    Sample sample;
    while (reader.Next(sample)) {
      if (sample.timestamp_ms > max_t) break;
      if (sample.timestamp_ms >= min_t) out.push_back(sample);
    }
  };
  for (const Chunk& chunk : s.closed) {
    if (chunk.max_t >= min_t && chunk.min_t <= max_t) take(XorChunkReader(chunk.bytes));
  }
  if (s.head.samples() > 0 && s.head_max_t >= min_t && s.head_min_t <= max_t) take(s.head.Reader());
  return out;
}

void Head::Truncate(int64_t min_t) {
  std::unique_lock lock(mutex_);
  std::vector<SeriesRef> emptied;
  for (const auto& [ref, s] : series_) {
    std::erase_if(s->closed, [&](const Chunk& c) { return c.max_t < min_t; });
    const bool head_old = s->head.samples() == 0 || s->head_max_t < min_t;
    if (!s->closed.empty() || !head_old) continue;
    const Labels labels = s->labels.Unpack();
    for (const auto& [name, value] : labels) {
      auto& refs = postings_[name][value];
      std::erase(refs, ref);
      if (refs.empty()) postings_[name].erase(value);
    }
    ForgetLocked(ref, labels);
    emptied.push_back(ref);
  }
  for (const SeriesRef ref : emptied) series_.Erase(ref);
}

size_t Head::series_count() const {
  std::shared_lock lock(mutex_);
  return series_.size();
}

std::vector<std::string> Head::LabelNames() const {
  std::shared_lock lock(mutex_);
  std::vector<std::string> names;
  for (const auto& [name, values] : postings_) {
    if (!values.empty()) names.push_back(name);
  }
  return names;
}

std::vector<std::string> Head::LabelValues(const std::string& name) const {
  std::shared_lock lock(mutex_);
  std::vector<std::string> values;
  if (const auto it = postings_.find(name); it != postings_.end()) {
    for (const auto& [value, refs] : it->second) values.push_back(value);
  }
  return values;
}

size_t Head::chunk_count() const {
  std::shared_lock lock(mutex_);
  size_t total = 0;
  for (const auto& [ref, s] : series_) total += s->closed.size() + (s->head.samples() > 0 ? 1 : 0);
  return total;
}

size_t Head::sample_count() const {
  std::shared_lock lock(mutex_);
  size_t total = 0;
  for (const auto& [ref, s] : series_) {
    for (const auto& c : s->closed) total += XorChunkSampleCount(c.bytes);
    total += s->head.samples();
  }
  return total;
}

std::vector<Head::UnflushedSeries> Head::ChunksToFlush(
    SeriesRef from, size_t limit, const std::function<bool(SeriesRef)>& wants_labels,
    SeriesRef& next) const {
  std::shared_lock lock(mutex_);
  std::vector<UnflushedSeries> out;
  next = 0;
  for (auto it = series_.From(from); it != series_.end(); ++it) {
    const auto [ref, s] = *it;
    if (out.size() == limit) {
      next = ref;
      break;
    }
    UnflushedSeries series;
    for (const Chunk& c : s->closed) {
      if (c.max_t <= s->closed_flushed_through) continue;
      series.closed.push_back({c.min_t, c.max_t, c.bytes});
      series.closed_through = c.max_t;
    }
    if (s->head.samples() > 0)
      series.open = StoredChunk{s->head_min_t, s->head_max_t, s->head.Bytes()};
    if (series.closed.empty() && !series.open) continue;
    series.ref = ref;
    if (wants_labels(ref)) series.labels = s->labels.Unpack();
    out.push_back(std::move(series));
  }
  return out;
}

void Head::MarkFlushed(SeriesRef ref, int64_t closed_through) {
  std::unique_lock lock(mutex_);
  Series* found = series_.Find(ref);
  if (found == nullptr) return;
  Series& s = *found;
  s.closed_flushed_through = std::max(s.closed_flushed_through, closed_through);
}

Status Head::RestoreChunk(const Labels& labels, StoredChunk chunk) {
  XorChunkReader reader(chunk.bytes);
  Sample sample, first, last;
  size_t count = 0;
  while (reader.Next(sample)) {
    if (count++ == 0) first = sample;
    last = sample;
  }
  if (reader.error() || count == 0 || first.timestamp_ms != chunk.min_t ||
      last.timestamp_ms != chunk.max_t) {
    return Status::Error(fmt::format("chunk [{}, {}] of {} does not decode", chunk.min_t,
                                     chunk.max_t, LabelsString(labels)));
  }
  std::unique_lock lock(mutex_);
  Series& s = series_.at(GetOrCreateLocked(labels, hasher_(labels)));
  const auto at = std::lower_bound(s.closed.begin(), s.closed.end(), chunk.min_t,
                                   [](const Chunk& c, int64_t t) { return c.min_t < t; });
  const bool overlaps = (at != s.closed.end() && at->min_t <= chunk.max_t) ||
                        (at != s.closed.begin() && std::prev(at)->max_t >= chunk.min_t) ||
                        (s.head.samples() > 0 && s.head_min_t <= chunk.max_t);
  if (overlaps) {
    return Status::Error(fmt::format("chunk [{}, {}] of {} overlaps another", chunk.min_t,
                                     chunk.max_t, LabelsString(labels)));
  }
  s.closed.insert(at, {chunk.min_t, chunk.max_t, std::move(chunk.bytes)});
  s.closed_flushed_through = std::max(s.closed_flushed_through, chunk.max_t);
  return OkStatus();
}

size_t Head::chunk_bytes() const {
  std::shared_lock lock(mutex_);
  size_t total = 0;
  for (const auto& [ref, s] : series_) {
    for (const auto& c : s->closed) total += c.bytes.size();
  }
  return total;
}

}  // namespace mingus::collector::tsdb
