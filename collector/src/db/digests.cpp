#include "mingus/collector/db/digests.h"

#include <algorithm>
#include <cmath>

#include "mingus/collector/db/query_shape.h"
#include "mingus/sql/fingerprint.h"

namespace mingus::collector::db {

void DigestBuilder::Add(const DbEvent& event) {
  ++events_;
  std::string fingerprint = sql::Fingerprint(event.query);
  auto [found, added] = entries_.try_emplace(fingerprint);
  Entry& entry = found->second;
  Digest& digest = entry.digest;
  if (added) {
    digest.fingerprint = fingerprint;
    const QueryShape shape = ReadQueryShape(event.query);
    digest.operation = shape.operation;
    digest.tables = shape.tables;
    digest.first_seen_ms = digest.last_seen_ms = event.time_ms;
  }
  ++digest.count;
  digest.total_ms += event.duration_ms;
  if (event.duration_ms >= options_.slow_ms) ++digest.slow_count;
  if (added || event.duration_ms > digest.max_ms) {
    digest.max_ms = event.duration_ms;
    digest.sample = event.query;
  }
  if (event.rows) {
    digest.rows_total = digest.rows_total.value_or(0) + *event.rows;
    ++entry.runs_with_rows;
  }
  digest.first_seen_ms = std::min(digest.first_seen_ms, event.time_ms);
  digest.last_seen_ms = std::max(digest.last_seen_ms, event.time_ms);
  entry.durations.push_back(event.duration_ms);
  if (!event.request_id.empty()) {
    auto& runs = per_request_[{std::move(fingerprint), event.request_id}];
    ++runs.runs;
    runs.total_ms += event.duration_ms;
  }
}

std::vector<Digest> DigestBuilder::Digests() const {
  std::vector<Digest> digests;
  for (const auto& [fingerprint, entry] : entries_) {
    Digest digest = entry.digest;
    std::vector<double> durations = entry.durations;
    // Nearest rank: the smallest duration with at least 95% of the runs at or below it.
    const size_t rank =
        static_cast<size_t>(std::ceil(0.95 * static_cast<double>(durations.size())));
    std::nth_element(durations.begin(), durations.begin() + static_cast<std::ptrdiff_t>(rank - 1),
                     durations.end());
    digest.p95_ms = durations[rank - 1];
    digest.average_ms = digest.total_ms / static_cast<double>(digest.count);
    digest.slow = digest.p95_ms >= options_.slow_ms;
    if (digest.rows_total)
      digest.rows_average = *digest.rows_total / static_cast<double>(entry.runs_with_rows);
    digests.push_back(std::move(digest));
  }
  std::sort(digests.begin(), digests.end(), [](const Digest& a, const Digest& b) {
    return a.total_ms != b.total_ms ? a.total_ms > b.total_ms : a.fingerprint < b.fingerprint;
  });
  return digests;
}

std::vector<NPlusOne> DigestBuilder::NPlusOnes() const {
  std::map<std::string, NPlusOne> findings;
  for (const auto& [key, runs] : per_request_) {
    if (runs.runs < options_.n_plus_one_min) continue;
    NPlusOne& finding = findings[key.first];
    finding.fingerprint = key.first;
    ++finding.requests;
    if (runs.runs > finding.max_runs) {
      finding.max_runs = runs.runs;
      finding.example_request_id = key.second;
      finding.example_total_ms = runs.total_ms;
    }
  }
  std::vector<NPlusOne> out;
  for (auto& [fingerprint, finding] : findings) out.push_back(std::move(finding));
  std::sort(out.begin(), out.end(), [](const NPlusOne& a, const NPlusOne& b) {
    return a.max_runs != b.max_runs ? a.max_runs > b.max_runs : a.fingerprint < b.fingerprint;
  });
  return out;
}

StatusOr<int64_t> ReadDbEvents(sqlite::Database& db, int64_t since_ms, int64_t limit,
                               const std::function<void(const DbEvent&)>& event) {
  auto select = db.Prepare(
      "SELECT time_ms, query, duration_ms, rows, request_id FROM ("
      "  SELECT time_ms, query, duration_ms, rows, request_id, agent_id, cursor FROM events"
      "  WHERE type = 'db' AND time_ms >= ?1 ORDER BY time_ms DESC LIMIT ?2"
      ") ORDER BY time_ms, agent_id, cursor");
  if (!select.ok()) return select.status();
  select->Bind(1, since_ms).Bind(2, limit);
  int64_t count = 0;
  DbEvent row;
  while (select->Step()) {
    row.time_ms = select->Int(0);
    row.query = select->Text(1);
    row.duration_ms = select->Double(2);
    row.rows = select->IsNull(3) ? std::nullopt : std::optional<double>(select->Double(3));
    row.request_id = select->IsNull(4) ? "" : std::string(select->Text(4));
    event(row);
    ++count;
  }
  if (!select->status().ok()) return select->status();
  return count;
}

}  // namespace mingus::collector::db
