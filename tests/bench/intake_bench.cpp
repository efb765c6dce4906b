// The agent's in-process cost per line, outside the kernel: datagrams of 20 lines of the
// workloads of intake_vs_peers.py through a LineProcessor, on series that already exist,
// with the real clock and (for JSON events) the real on-disk spool.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "mingus/agent/intake/line_processor.h"
#include "mingus/agent/spool/event_spool.h"

namespace mingus::agent::intake {
namespace {

constexpr int kLinesPerDatagram = 20;

std::vector<std::string> Datagrams(const std::vector<std::string>& lines) {
  std::vector<std::string> datagrams;
  for (size_t first = 0; first < lines.size(); first += kLinesPerDatagram) {
    std::string& datagram = datagrams.emplace_back();
    for (size_t i = first; i < first + kLinesPerDatagram && i < lines.size(); ++i) {
      datagram += lines[i];
      datagram += '\n';
    }
  }
  return datagrams;
}

template <typename LineFn>
std::vector<std::string> Lines(LineFn line) {
  std::vector<std::string> lines;
  for (int i = 0; i < 100; ++i) lines.push_back(line(i));
  return lines;
}

void RunWorkload(benchmark::State& state, const std::vector<std::string>& lines, bool spool) {
  SystemClock clock;
  MetricStore store(clock, 10'000);
  EventAggregates aggregates(clock, 100, 3);
  IntakeStats stats;
  MappingConfig mapping;
  const auto directory = std::filesystem::temp_directory_path() /
                         ("mingus-intake-bench-" + std::to_string(::getpid()));
  std::unique_ptr<spool::EventSpool> sink;
  if (spool) sink = spool::EventSpool::Open({.directory = directory.string()}).value();
  LineProcessor processor(mapping, store, aggregates, stats, sink.get());
  const auto datagrams = Datagrams(lines);
  for (const auto& datagram : datagrams) processor.ProcessDatagram(datagram);  // the series exist
  size_t next = 0;
  for (auto _ : state) {
    processor.ProcessDatagram(datagrams[next]);
    next = next + 1 == datagrams.size() ? 0 : next + 1;
  }
  state.SetItemsProcessed(state.iterations() * kLinesPerDatagram);
  sink.reset();
  std::filesystem::remove_all(directory);
}

void BM_Counters(benchmark::State& state) {
  RunWorkload(state, Lines([](int i) { return "bench.counter" + std::to_string(i) + ":1|c"; }),
              false);
}
BENCHMARK(BM_Counters);

void BM_TaggedTimers(benchmark::State& state) {
  RunWorkload(state, Lines([](int i) {
                return "bench.timer:" + std::to_string(i % 50 + 1) + ".5|ms|#endpoint:/e" +
                       std::to_string(i % 10) + ",method:GET";
              }),
              false);
}
BENCHMARK(BM_TaggedTimers);

void BM_JsonApiEvents(benchmark::State& state) {
  RunWorkload(state, Lines([](int i) {
                return R"({"type": "api", "endpoint": "/users/)" + std::to_string(i) +
                       R"(", "method": "GET", "status": 200, "duration_ms": 12.5})";
              }),
              true);
}
BENCHMARK(BM_JsonApiEvents);

}  // namespace
}  // namespace mingus::agent::intake

BENCHMARK_MAIN();
