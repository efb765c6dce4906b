#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "mingus/agent/config.h"
#include "mingus/agent/host/host_metrics.h"
#include "mingus/agent/intake/event_handler.h"
#include "mingus/agent/intake/intake_stats.h"
#include "mingus/agent/intake/metric_store.h"
#include "mingus/agent/intake/udp_receiver.h"
#include "mingus/agent/spool/event_spool.h"
#include "mingus/common/clock.h"
#include "mingus/http/server.h"
#include "mingus/metrics/process_metrics.h"

namespace mingus::agent {

// The agent process minus main(): host metrics, the application intake, its own metrics and
// the HTTP endpoints.
class Agent {
 public:
  Agent(AgentConfig config, std::unique_ptr<host::SystemCalls> system, const Clock& clock);
  ~Agent();

  struct Addresses {
    std::string http;
    std::string udp;  // empty when the intake is off
  };
  // Starts serving; returns the bound addresses.
  StatusOr<Addresses> Start();
  void Stop();
  // Applies a new configuration (collectors, exclusions, StatsD mappings, log level). Listen
  // addresses and limits need a restart; a change to them is logged and otherwise ignored.
  void Reload(AgentConfig config);
  // Records a reload whose configuration was refused, keeping the running one.
  void RecordFailedReload();

  // The routes, exposed so tests can call the handlers without a socket.
  const http::Router& router() const { return *router_; }

 private:
  http::Response ServeMetrics(const http::Request& request);
  http::Response ServeEvents(const http::Request& request);
  std::shared_ptr<const host::HostMetrics> host_metrics() const;
  std::unique_ptr<intake::LineProcessor> MakeLineProcessor();
  void AppendIntakeFamilies(std::vector<prometheus::MetricFamily>& out);

  AgentConfig config_;
  std::unique_ptr<host::SystemCalls> system_;
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& collector_errors_;
  prometheus::Gauge& reload_success_;
  prometheus::Gauge& reload_timestamp_;
  metrics::ProcessCollector process_;
  mutable std::mutex host_metrics_mutex_;
  std::shared_ptr<const host::HostMetrics> host_metrics_;
  std::shared_ptr<const intake::MappingConfig> mapping_;  // guarded by host_metrics_mutex_
  intake::MetricStore store_;
  intake::EventAggregates aggregates_;
  intake::IntakeStats intake_stats_;
  std::unique_ptr<spool::EventSpool> spool_;
  std::unique_ptr<intake::UdpReceiver> receiver_;
  // Writes buffered spool events out every second, so a crash loses at most that much.
  std::thread spool_flusher_;
  std::mutex flusher_mutex_;
  std::condition_variable flusher_wake_;
  bool stopping_ = false;
  std::shared_ptr<http::Router> router_;
  std::unique_ptr<http::Server> server_;
};

}  // namespace mingus::agent
