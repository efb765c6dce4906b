// The insights and UX reports' load (issue 8, acceptance 3): N generated events go through
// EventStore::Store in pulls of --batch events, as the puller hands them over (spool lines, one
// transaction each), then Insights::Compute(--days) and UxReports::Compute(--days) run --runs
// times each. Prints the ingest rate and the median report times, in wall time and in this
// process' CPU time (which a busy shared machine distorts less).
//
//   insights_bench [--events 10000000] [--days 30] [--batch 5000] [--users 100000]
//                  [--history 60] [--runs 5] [--distinct-cache 500000] [--dir DIR]
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "mingus/collector/events/event_store.h"
#include "mingus/collector/events/insights.h"
#include "mingus/collector/events/ux_report.h"
#include "mingus/common/clock.h"

namespace {

using namespace mingus;
using namespace mingus::collector::events;
using Seconds = std::chrono::duration<double>;

constexpr int64_t kDayMs = 86'400'000;
constexpr std::string_view kPages[] = {"/home", "/pricing", "/signup", "/docs"};

double CpuSeconds() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

class FixedClock final : public Clock {
 public:
  explicit FixedClock(std::chrono::system_clock::time_point now) : now_(now) {}
  std::chrono::system_clock::time_point Now() const override { return now_; }

 private:
  std::chrono::system_clock::time_point now_;
};

// One event of a mix like an app's: mostly engagement and features, some scores, page
// interactions (the UX report's clicks and views, a session per user and day) and cache
// lookups, a little feedback, experiment and data source traffic.
std::string Event(std::mt19937_64& rng, int64_t users, int64_t ts_ms) {
  const auto user = std::uniform_int_distribution<int64_t>(0, users - 1)(rng);
  const double ts = static_cast<double>(ts_ms) / 1000;
  const int kind = std::uniform_int_distribution<int>(0, 99)(rng);
  const int pick = std::uniform_int_distribution<int>(0, 3)(rng);
  if (kind < 50) {
    return fmt::format(
        R"({{"type":"engagement","user_id":"u{}","action":"a{}","session_id":"s{}-{}","usage_time":{},"ts":{:.3f}}})",
        user, pick, user, ts_ms / kDayMs, kind, ts);
  }
  if (kind < 70) {
    return fmt::format(
        R"({{"type":"feature","user_id":"u{}","feature":"f{}","usage_time":{},"ts":{:.3f}}})", user,
        pick, kind, ts);
  }
  if (kind < 80) {
    return fmt::format(
        R"({{"type":"score","name":"credit","duration_ms":{},"user_id":"u{}","predicted":{},"actual":{},"ts":{:.3f}}})",
        kind, user, 600 + kind, 600 + pick * 10, ts);
  }
  if (kind < 83) {
    return fmt::format(
        R"({{"type":"feedback","user_id":"u{}","kind":"nps","rating":{},"comment":"{}","ts":{:.3f}}})",
        user, std::uniform_int_distribution<int>(0, 10)(rng), pick ? "great app" : "slow and buggy",
        ts);
  }
  if (kind < 85) {
    return fmt::format(
        R"({{"type":"data_source","source":"s{}","cost":0.5,"value":{},"ts":{:.3f}}})", pick,
        kind % 3, ts);
  }
  if (kind < 95) {
    return fmt::format(
        R"({{"type":"interaction","user_id":"u{}","session_id":"s{}-{}","event_type":"{}","element_id":"e{}","page_url":"{}","ts":{:.3f}}})",
        user, user, ts_ms / kDayMs, kind % 2 ? "click" : "view", kind % 5, kPages[pick], ts);
  }
  if (kind < 97) {
    return fmt::format(
        R"({{"type":"experiment","experiment":"checkout","variant":"{}","user_id":"u{}","event":"{}","ts":{:.3f}}})",
        user % 2 ? "b" : "a", user, pick ? "exposure" : "conversion", ts);
  }
  return fmt::format(R"({{"type":"cache","cache":"scores","result":"{}","ts":{:.3f}}})",
                     pick ? "hit" : "miss", ts);
}

// Runs `compute` (true on its first run) `runs` times and prints the median time, wall and CPU.
template <typename Fn>
bool TimeReport(std::string_view name, int64_t runs, Fn&& compute) {
  std::vector<double> times, cpu_times;
  for (int64_t run = 0; run < runs; ++run) {
    const auto start = std::chrono::steady_clock::now();
    const double start_cpu = CpuSeconds();
    const Status status = compute(run == 0);
    times.push_back(Seconds(std::chrono::steady_clock::now() - start).count());
    cpu_times.push_back(CpuSeconds() - start_cpu);
    if (!status.ok()) {
      fmt::print(stderr, "{}: {}\n", name, status.message());
      return false;
    }
  }
  std::sort(times.begin(), times.end());
  std::sort(cpu_times.begin(), cpu_times.end());
  fmt::print("{}: median {:.3f} s ({:.3f} s CPU) of {} runs (min {:.3f}, max {:.3f})\n", name,
             times[times.size() / 2], cpu_times[cpu_times.size() / 2], times.size(), times.front(),
             times.back());
  return true;
}

int64_t Flag(int argc, char** argv, const std::string& name, int64_t fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == "--" + name) return std::atoll(argv[i + 1]);
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t events = Flag(argc, argv, "events", 10'000'000);
  const int64_t days = Flag(argc, argv, "days", 30);
  const int64_t batch = Flag(argc, argv, "batch", 5'000);
  const int64_t users = Flag(argc, argv, "users", 100'000);
  const int64_t history = Flag(argc, argv, "history", 60);
  const int64_t runs = Flag(argc, argv, "runs", 5);
  StoreOptions options;
  options.distinct_cache = static_cast<size_t>(
      Flag(argc, argv, "distinct-cache", static_cast<int64_t>(options.distinct_cache)));
  std::string dir = (std::filesystem::temp_directory_path() / "mingus-insights-bench").string();
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--dir") dir = argv[i + 1];
  }
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/business_intelligence.db";

  const FixedClock clock(
      std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000)));
  const int64_t now_ms = UnixMillis(clock);
  auto store = EventStore::Open(path, options, clock);
  if (!store.ok()) {
    fmt::print(stderr, "{}\n", store.message());
    return 1;
  }
  // Event times spread evenly over `history` days ending now, in the order they happened.
  std::mt19937_64 rng(8);
  std::vector<std::string> lines;
  std::vector<std::string_view> views;
  Seconds storing{0};
  double storing_cpu = 0;
  uint64_t cursor = 0, stored = 0;
  for (int64_t at = 0; at < events; at += batch) {
    lines.clear();
    for (int64_t i = at; i < std::min(events, at + batch); ++i) {
      const int64_t ts_ms = now_ms - history * kDayMs + (i * history * kDayMs) / events;
      lines.push_back(fmt::format(R"({{"cursor":{},"received":{},"event":{}}})", ++cursor, ts_ms,
                                  Event(rng, users, ts_ms)));
    }
    views.assign(lines.begin(), lines.end());
    const auto start = std::chrono::steady_clock::now();
    const double start_cpu = CpuSeconds();
    const auto result = (*store)->Store("bench:1", "spool", views, cursor, 0);
    storing += std::chrono::steady_clock::now() - start;
    storing_cpu += CpuSeconds() - start_cpu;
    if (!result.ok()) {
      fmt::print(stderr, "store: {}\n", result.message());
      return 1;
    }
    stored += result->stored;
  }
  if (stored != static_cast<uint64_t>(events)) {
    fmt::print(stderr, "stored {} of {} events\n", stored, events);
    return 1;
  }
  fmt::print(
      "ingest: {} events in {:.1f} s of Store calls ({:.1f} s CPU): {:.0f} events/s, {:.0f} per "
      "CPU second ({} a transaction)\n",
      events, storing.count(), storing_cpu, static_cast<double>(events) / storing.count(),
      static_cast<double>(events) / storing_cpu, batch);
  fmt::print("database: {:.0f} MB with its WAL\n",
             static_cast<double>((*store)->DiskBytes()) / 1e6);

  auto insights = Insights::Open(path, clock, 400);
  if (!insights.ok()) {
    fmt::print(stderr, "{}\n", insights.message());
    return 1;
  }
  const bool insights_ok = TimeReport("report", runs, [&](bool first) {
    const auto report = (*insights)->Compute(days);
    if (report.ok() && first) {
      fmt::print("report over {} days: {} registrations, MAU {}, {} features, NPS {:.1f}\n", days,
                 report->registrations, report->mau, report->features.size(),
                 report->satisfaction.nps.score.value_or(0));
    }
    return report.status();
  });
  UxConfig ux_config;
  ux_config.funnels.push_back(
      {"signup",
       {{"", "/home", "", "view"}, {"", "/pricing", "", "click"}, {"", "/signup", "", "click"}},
       {}});
  ux_config.experiments.push_back({"checkout", {{"a", 1}, {"b", 1}}, "a", 0});
  auto ux = UxReports::Open(path, clock, 400, ux_config);
  if (!ux.ok()) {
    fmt::print(stderr, "{}\n", ux.message());
    return 1;
  }
  const bool ux_ok = TimeReport("ux report", runs, [&](bool first) {
    const auto report = (*ux)->Compute(days);
    if (report.ok() && first) {
      fmt::print("ux report over {} days: {} interactions, {} sessions, funnel entries {}\n", days,
                 report->interactions, report->sessions,
                 report->funnels.empty() ? 0 : report->funnels.front().entries);
    }
    return report.status();
  });
  std::filesystem::remove_all(dir);
  return insights_ok && ux_ok ? 0 : 1;
}
