#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>
#include <vector>

#include <prometheus/metric_family.h>

namespace mingus::agent::intake {

// The intake's own counters, updated lock-free on the hot path and exposed as
// mingus_agent_udp_datagrams_total, mingus_agent_lines_total{format} and
// mingus_agent_parse_errors_total{reason}. Thread-safe.
class IntakeStats {
 public:
  IntakeStats();

  void CountDatagram() { datagrams_.fetch_add(1, std::memory_order_relaxed); }
  void CountLines(uint64_t statsd, uint64_t json) {
    if (statsd != 0) statsd_lines_.fetch_add(statsd, std::memory_order_relaxed);
    if (json != 0) json_lines_.fetch_add(json, std::memory_order_relaxed);
  }
  // `reason` is one of kReasons (the StatsD and JSON parsers' reason names plus the
  // intake's own); others are counted as "other".
  void CountError(std::string_view reason);

  uint64_t Errors(std::string_view reason) const;
  uint64_t datagrams() const { return datagrams_.load(); }
  uint64_t statsd_lines() const { return statsd_lines_.load(); }
  uint64_t json_lines() const { return json_lines_.load(); }

  void AppendFamilies(std::vector<prometheus::MetricFamily>& out) const;

  static const std::vector<std::string_view>& Reasons();

 private:
  static constexpr size_t kMaxReasons = 40;
  std::atomic<uint64_t> datagrams_{0}, statsd_lines_{0}, json_lines_{0};
  std::array<std::atomic<uint64_t>, kMaxReasons> errors_{};
};

}  // namespace mingus::agent::intake
