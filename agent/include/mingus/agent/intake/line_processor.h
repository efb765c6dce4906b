#pragma once

#include <string_view>

#include "mingus/agent/intake/event_handler.h"
#include "mingus/agent/intake/intake_stats.h"
#include "mingus/agent/intake/statsd_handler.h"
#include "mingus/wire/json_event.h"

namespace mingus::agent::intake {

// Where accepted JSON events go beside the metrics (the event spool). Thread-safe.
class EventSink {
 public:
  virtual ~EventSink() = default;
  // received_ms: when the datagram holding the line was read (one clock reading for all).
  virtual void Append(std::string_view json_line, int64_t received_ms) = 0;
};

// Splits a datagram into lines and hands each to the StatsD or the JSON path; a bad line is
// counted by reason and the rest of the datagram goes on. One per receive thread.
class LineProcessor {
 public:
  LineProcessor(const MappingConfig& mapping, MetricStore& store, EventAggregates& aggregates,
                IntakeStats& stats, EventSink* sink);
  // The agent's receive threads own theirs through this class, and the agent's keeps its
  // mapping alive in a member of its own.
  virtual ~LineProcessor() = default;
  LineProcessor(const LineProcessor&) = delete;
  LineProcessor& operator=(const LineProcessor&) = delete;
  void ProcessDatagram(std::string_view datagram, bool truncated = false);
  void ProcessLine(std::string_view line);

 private:
  struct LineCounts {
    uint64_t statsd = 0, json = 0;
  };
  void Dispatch(std::string_view line, int64_t now_ms, LineCounts& counts);

  MetricStore& store_;
  IntakeStats& stats_;
  EventSink* sink_;
  StatsdHandler statsd_;
  EventHandler events_;
  wire::JsonEventParser json_;
  wire::JsonEvent event_;
};

}  // namespace mingus::agent::intake
