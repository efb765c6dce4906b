// Encoding and decoding one chunk of 120 regular scrapes (30 minutes at 15 s).
#include <benchmark/benchmark.h>

#include "mingus/collector/tsdb/xor_chunk.h"

namespace {

using mingus::collector::tsdb::XorChunkReader;
using mingus::collector::tsdb::XorChunkWriter;

void BM_XorChunkEncode(benchmark::State& state) {
  for (auto _ : state) {
    XorChunkWriter writer;
    for (int i = 0; i < 120; ++i) writer.Append(1'700'000'000'000 + i * 15'000, 1000 + i * 3.5);
    benchmark::DoNotOptimize(writer.Bytes());
  }
  state.SetItemsProcessed(state.iterations() * 120);
}
BENCHMARK(BM_XorChunkEncode);

void BM_XorChunkDecode(benchmark::State& state) {
  XorChunkWriter writer;
  for (int i = 0; i < 120; ++i) writer.Append(1'700'000'000'000 + i * 15'000, 1000 + i * 3.5);
  const std::string bytes = writer.Bytes();
  state.counters["bytes_per_sample"] = static_cast<double>(bytes.size()) / 120;
  for (auto _ : state) {
    XorChunkReader reader(bytes);
    mingus::collector::tsdb::Sample sample;
    while (reader.Next(sample)) benchmark::DoNotOptimize(sample);
  }
  state.SetItemsProcessed(state.iterations() * 120);
}
BENCHMARK(BM_XorChunkDecode);

}  // namespace

BENCHMARK_MAIN();
