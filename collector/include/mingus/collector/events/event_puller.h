#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "mingus/collector/events/event_store.h"
#include "mingus/collector/events/events_config.h"
#include "mingus/collector/scrape/target_client.h"
#include "mingus/common/clock.h"
#include "mingus/http/client.h"

namespace mingus::collector::events {

// An agent to pull from: a scrape target of one of the events jobs.
struct AgentTarget {
  std::string instance;  // its instance label: the agent's name in the store and in metrics
  std::string job;
  std::string address;          // host:port
  scrape::TargetClient client;  // its scrape job's scheme, TLS and credentials
  friend bool operator==(const AgentTarget&, const AgentTarget&) = default;
};

// GET `url` on the agent's own kept-alive connection with `options` (the pull timeout, and the
// target's TLS and credentials); tests replace it.
using FetchFunction = std::function<StatusOr<http::ClientResponse>(
    http::KeepAliveClient& client, const std::string& url, const http::ClientOptions& options)>;

// Pulls every agent's spool into the EventStore, each agent on its own schedule: every
// pull_interval, again at once while it has more than batch_limit waiting, and after a failure
// with exponential backoff up to max_backoff. Pulls run on `concurrency` worker threads, so a
// slow or unreachable agent holds one worker for at most pull_timeout and the others go on.
// Retention runs at start and hourly. Self-metrics: mingus_collector_events_*.
class EventPuller {
 public:
  // The scrape targets of every job; the puller keeps those of the configured jobs.
  using TargetSource = std::function<std::vector<AgentTarget>()>;

  EventPuller(EventStore& store, const Clock& clock, prometheus::Registry& registry,
              TargetSource targets, const EventsConfig& config, FetchFunction fetch = nullptr);
  ~EventPuller();

  // New jobs, intervals and limits; agents that are no longer targets stop being pulled.
  void Apply(const EventsConfig& config);
  void Start();
  void Stop();

  // The agents of the configured jobs, from the target source: new ones are added, gone ones
  // dropped (with their metrics). Called every second by the scheduler.
  void SyncTargets();

  // One pull of one agent (added by SyncTargets), now, on the calling thread: what the
  // workers run. `more` when the agent had more than one batch waiting.
  struct Outcome {
    bool ok = false;
    bool more = false;
    std::string error;
    StoreResult stored;
  };
  Outcome PullOnce(const std::string& instance);

  // Gauges read at scrape time: cursor and lag per agent, agents, the database's size.
  void AppendFamilies(std::vector<prometheus::MetricFamily>& out) const;

  // How long after `failures` consecutive failed pulls the agent is asked again.
  static std::chrono::milliseconds Backoff(std::chrono::milliseconds interval,
                                           std::chrono::milliseconds max, int failures);

 private:
  using SteadyTime = std::chrono::steady_clock::time_point;
  struct Agent;
  Outcome Pull(Agent& agent, const EventsConfig& config);
  void RemoveSeriesLocked(Agent& agent);
  void Schedule();
  void Work();
  void Maintain();

  EventStore& store_;
  const Clock& clock_;
  TargetSource targets_;
  FetchFunction fetch_;

  prometheus::Family<prometheus::Counter>& pulled_;
  prometheus::Family<prometheus::Counter>& pull_errors_;
  prometheus::Family<prometheus::Counter>& lost_;
  std::vector<prometheus::Counter*> stored_by_type_;
  std::vector<prometheus::Counter*> rejected_by_reason_;
  prometheus::Counter& duplicates_;
  prometheus::Counter& bad_records_;
  prometheus::Counter& deleted_;
  prometheus::Counter& spool_resets_;
  db::QueryTally db_queries_;

  mutable std::mutex mutex_;
  std::condition_variable wake_scheduler_, wake_workers_, wake_maintainer_;
  EventsConfig config_;
  std::map<std::string, std::shared_ptr<Agent>> agents_;  // by instance
  std::deque<std::shared_ptr<Agent>> due_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace mingus::collector::events
