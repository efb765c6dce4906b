// The SQL fingerprint in process, as the agent runs it per db event: AppendFingerprint into a
// reused buffer over the corpus of tests/fixtures/sql (293 MySQL, PostgreSQL and SQLite queries),
// queries per second and bytes of SQL per second. tests/bench/fingerprint_vs_pt.py compares the
// `mingus-collector fingerprint` command with pt-fingerprint on the same corpus.
#include <benchmark/benchmark.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "mingus/sql/fingerprint.h"

namespace {

// The corpus files' queries: each starts at a "-- name: ID" line and runs to the next one.
std::vector<std::string> ReadCorpus() {
  std::vector<std::string> queries;
  for (const char* dialect : {"mysql", "postgresql", "sqlite"}) {
    std::ifstream file(std::string(MINGUS_FIXTURES_DIR) + "/sql/" + dialect + ".sql");
    std::string line, query;
    bool in_query = false;
    const auto flush = [&] {
      while (!query.empty() && (query.back() == '\n' || query.back() == ' ')) query.pop_back();
      if (in_query) queries.push_back(query);
      query.clear();
    };
    while (std::getline(file, line)) {
      if (line.rfind("-- name: ", 0) == 0) {
        flush();
        in_query = true;
      } else if (in_query) {
        query += line + "\n";
      }
    }
    flush();
  }
  return queries;
}

void BM_FingerprintCorpus(benchmark::State& state) {
  const std::vector<std::string> queries = ReadCorpus();
  size_t bytes = 0;
  for (const auto& q : queries) bytes += q.size();
  std::string out;
  for (auto _ : state) {
    for (const auto& q : queries) {
      out.clear();
      mingus::sql::AppendFingerprint(q, out);
      benchmark::DoNotOptimize(out.data());
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(queries.size()));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes));
  state.counters["queries"] = static_cast<double>(queries.size());
}
BENCHMARK(BM_FingerprintCorpus);

}  // namespace

BENCHMARK_MAIN();
