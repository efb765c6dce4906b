// The intake's hot path allocates nothing once a series exists: checked by counting every
// operator new in this test binary (which is why it is a binary of its own).
#include <atomic>
#include <cstdlib>
#include <new>

#include <gtest/gtest.h>

#include "fake_clock.h"
#include "mingus/agent/intake/line_processor.h"

namespace {
std::atomic<size_t> allocations{0};
}  // namespace

void* operator new(size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace mingus::agent::intake {
namespace {

TEST(IntakeHotPath, KnownSeriesCostNoAllocation) {
  mingus::testing::FakeClock clock;
  MetricStore store(clock, 10'000);
  EventAggregates aggregates(clock, 100, 50);
  IntakeStats stats;
  MappingConfig mapping;
  LineProcessor processor(mapping, store, aggregates, stats, nullptr);
  const std::string datagram =
      "api.hits:1|c|@0.5|#endpoint:/users,method:GET\n"
      "api.latency:12.5|ms|#endpoint:/users,method:GET\n"
      "queue.depth:+3|g\n"
      R"({"type":"api","endpoint":"/users/42","method":"GET","status":200,"duration_ms":12.5,"user_id":"u7"})" "\n"
      R"({"type":"cache","cache":"scores","result":"hit"})" "\n";
  for (int i = 0; i < 3; ++i) processor.ProcessDatagram(datagram);  // series and caches warm up
  const size_t before = allocations.load();
  for (int i = 0; i < 1000; ++i) processor.ProcessDatagram(datagram);
  EXPECT_EQ(allocations.load() - before, 0u);
  EXPECT_EQ(stats.statsd_lines(), 3u * 1003);
  EXPECT_EQ(stats.json_lines(), 2u * 1003);
}

}  // namespace
}  // namespace mingus::agent::intake
