#include "mingus/collector/events/event_puller.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "mingus/common/text.h"
#include "mingus/metrics/family_builder.h"

namespace mingus::collector::events {

namespace {

// How often the targets are re-read and retention runs.
constexpr std::chrono::seconds kSyncEvery{1};
constexpr std::chrono::hours kRetentionEvery{1};

prometheus::Counter& AddCounter(prometheus::Registry& registry, const std::string& name,
                                const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry).Add({});
}

prometheus::Family<prometheus::Counter>& AddCounterFamily(prometheus::Registry& registry,
                                                          const std::string& name,
                                                          const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry);
}

StatusOr<http::ClientResponse> DefaultFetch(http::KeepAliveClient& client, const std::string& url,
                                            const http::ClientOptions& options) {
  return client.Get(url, options);
}

}  // namespace

struct EventPuller::Agent {
  AgentTarget target;
  http::KeepAliveClient client;  // used by one worker at a time (`running`)
  SteadyTime next{};
  int failures = 0;
  bool running = false;
  bool removed = false;  // no longer a target: its series go when its running pull ends
  std::string last_error;
  bool cursor_known = false;
  std::string spool_id;  // of the spool `cursor` counts in ("" until an agent names one)
  std::atomic<uint64_t> cursor{0};
  // When the spool was last read to its end (Unix ms); first seen, until then.
  std::atomic<int64_t> caught_up_ms{0};
  prometheus::Counter* pulled = nullptr;
  prometheus::Counter* errors = nullptr;
  prometheus::Counter* lost = nullptr;
};

EventPuller::EventPuller(EventStore& store, const Clock& clock, prometheus::Registry& registry,
                         TargetSource targets, const EventsConfig& config, FetchFunction fetch)
    : store_(store),
      clock_(clock),
      targets_(std::move(targets)),
      fetch_(fetch ? std::move(fetch) : FetchFunction(DefaultFetch)),
      pulled_(AddCounterFamily(registry, "mingus_collector_events_pulled_total",
                               "Events received from each agent's spool (stored, duplicate or "
                               "set aside).")),
      pull_errors_(AddCounterFamily(registry, "mingus_collector_events_pull_errors_total",
                                    "Failed pulls of an agent's events: unreachable, timed out, "
                                    "an HTTP error, or the store failed.")),
      lost_(AddCounterFamily(registry, "mingus_collector_events_lost_total",
                             "Events an agent dropped (its spool was full) before they were "
                             "pulled.")),
      duplicates_(AddCounter(registry, "mingus_collector_events_duplicates_total",
                             "Events pulled again that were already stored.")),
      bad_records_(AddCounter(registry, "mingus_collector_events_bad_records_total",
                              "Lines of an agent's response that were not a spool record.")),
      deleted_(AddCounter(registry, "mingus_collector_events_retention_deleted_total",
                          "Events (and events set aside) deleted by retention.")),
      spool_resets_(AddCounter(registry, "mingus_collector_events_spool_resets_total",
                               "Agents found with a new event spool (wiped or replaced), pulled "
                               "again from its beginning.")),
      config_(config) {
  auto& stored = AddCounterFamily(registry, "mingus_collector_events_stored_total",
                                  "Events stored in business_intelligence.db, by type.");
  for (size_t i = 0; i < wire::kEventTypeCount; ++i) {
    stored_by_type_.push_back(
        &stored.Add({{"type", std::string(wire::EventTypeName(static_cast<wire::EventType>(i)))}}));
  }
  auto& rejected =
      AddCounterFamily(registry, "mingus_collector_events_rejected_total",
                       "Events set aside in rejected_events instead of stored, by reason.");
  for (size_t i = 0; i < kRejectionCount; ++i) {
    rejected_by_reason_.push_back(
        &rejected.Add({{"reason", std::string(RejectionName(static_cast<Rejection>(i)))}}));
  }
}

EventPuller::~EventPuller() { Stop(); }

std::chrono::milliseconds EventPuller::Backoff(std::chrono::milliseconds interval,
                                               std::chrono::milliseconds max, int failures) {
  auto wait = interval;
  for (int i = 1; i < failures && wait < max; ++i) wait *= 2;
  return std::min(wait, max);
}

void EventPuller::Apply(const EventsConfig& config) {
  {
    std::lock_guard lock(mutex_);
    config_ = config;
  }
  SyncTargets();
  wake_scheduler_.notify_all();
}

void EventPuller::SyncTargets() {
  std::vector<AgentTarget> all = targets_();
  std::lock_guard lock(mutex_);
  const std::set<std::string> jobs(config_.jobs.begin(), config_.jobs.end());
  std::map<std::string, std::shared_ptr<Agent>> wanted;
  for (auto& target : all) {
    if (!jobs.contains(target.job) || wanted.contains(target.instance)) continue;
    const auto existing = agents_.find(target.instance);
    if (existing != agents_.end() && existing->second->target == target) {
      wanted.emplace(target.instance, existing->second);
      continue;
    }
    auto agent = std::make_shared<Agent>();
    if (existing != agents_.end()) {  // moved to another address: same cursor, new connection
      agent->pulled = existing->second->pulled;
      agent->errors = existing->second->errors;
      agent->lost = existing->second->lost;
    } else {
      agent->pulled = &pulled_.Add({{"agent", target.instance}});
      agent->errors = &pull_errors_.Add({{"agent", target.instance}});
      agent->lost = &lost_.Add({{"agent", target.instance}});
    }
    agent->target = std::move(target);
    agent->next = std::chrono::steady_clock::now();
    agent->caught_up_ms = UnixMillis(clock_);
    wanted.emplace(agent->target.instance, std::move(agent));
  }
  std::swap(agents_, wanted);
  for (auto& [instance, agent] : wanted) {  // the agents before
    if (agents_.contains(instance)) continue;
    // A pull still running drops the agent's series when it ends.
    if (agent->running) {
      agent->removed = true;
    } else {
      RemoveSeriesLocked(*agent);
    }
  }
}

void EventPuller::RemoveSeriesLocked(Agent& agent) {
  if (agents_.contains(agent.target.instance)) return;  // back meanwhile, sharing the series
  pulled_.Remove(agent.pulled);
  pull_errors_.Remove(agent.errors);
  lost_.Remove(agent.lost);
}

EventPuller::Outcome EventPuller::PullOnce(const std::string& instance) {
  std::shared_ptr<Agent> agent;
  EventsConfig config;
  {
    std::lock_guard lock(mutex_);
    const auto it = agents_.find(instance);
    if (it == agents_.end()) return {.error = fmt::format("no agent {}", instance)};
    agent = it->second;
    config = config_;
  }
  return Pull(*agent, config);
}

EventPuller::Outcome EventPuller::Pull(Agent& agent, const EventsConfig& config) {
  Outcome outcome;
  const auto fail = [&](std::string error) {
    agent.errors->Increment();
    outcome.error = std::move(error);
    return outcome;
  };
  if (!agent.cursor_known) {
    const auto cursor = store_.Cursor(agent.target.instance);
    if (!cursor.ok()) return fail(cursor.message());
    agent.cursor = cursor->cursor;
    agent.spool_id = cursor->spool_id;
    agent.cursor_known = true;
  }
  const std::string url = agent.target.client.Url(
      agent.target.address,
      fmt::format("/api/v1/events?after={}&limit={}", agent.cursor.load(), config.batch_limit));
  http::ClientOptions options;
  options.timeout = config.pull_timeout;
  agent.target.client.ApplyTo(options);
  const auto response = fetch_(agent.client, url, options);
  if (!response.ok()) return fail(response.message());
  if (response->status != 200) {
    return fail(
        fmt::format("GET {}: HTTP {}: {}", url, response->status, response->body.substr(0, 200)));
  }
  const auto last_cursor = text::ParseUint64(response->Header("x-mingus-last-cursor"));
  if (!last_cursor) {
    return fail(fmt::format("GET {}: no X-Mingus-Last-Cursor header: not a mingus-agent?", url));
  }
  const uint64_t lost = text::ParseUint64(response->Header("x-mingus-lost-events")).value_or(0);
  const std::string spool_id(response->Header("x-mingus-spool-id"));
  if (!spool_id.empty() && !agent.spool_id.empty() && spool_id != agent.spool_id) {
    // Wiped or replaced: its cursors start again at 1, and what we asked after the old cursor
    // skipped the new spool's first events. Ask it again from its beginning, at once.
    spdlog::warn("agent {} has a new event spool ({}, was {}): pulling it from its beginning",
                 agent.target.instance, spool_id, agent.spool_id);
    spool_resets_.Increment();
    agent.spool_id = spool_id;
    agent.cursor = 0;
    outcome.ok = true;
    outcome.more = true;
    return outcome;
  }
  std::vector<std::string_view> records;
  text::ForEachLine(response->body, [&](std::string_view line) {
    if (!line.empty()) records.push_back(line);
  });
  const auto stored = store_.Store(agent.target.instance, spool_id, records, *last_cursor, lost);
  if (!stored.ok()) return fail(fmt::format("storing the events of {}: {}", url, stored.message()));

  outcome.ok = true;
  outcome.stored = *stored;
  outcome.more = records.size() >= static_cast<size_t>(config.batch_limit);
  agent.cursor = stored->cursor;
  if (!spool_id.empty()) agent.spool_id = spool_id;
  if (!outcome.more) agent.caught_up_ms = UnixMillis(clock_);
  agent.pulled->Increment(static_cast<double>(records.size()));
  if (lost > 0) {
    agent.lost->Increment(static_cast<double>(lost));
    spdlog::warn("agent {} dropped {} events (its spool was full) before they were pulled",
                 agent.target.instance, lost);
  }
  for (size_t i = 0; i < stored->stored_by_type.size(); ++i) {
    if (stored->stored_by_type[i] > 0)
      stored_by_type_[i]->Increment(static_cast<double>(stored->stored_by_type[i]));
  }
  for (const auto& [fingerprint, runs] : stored->db_by_fingerprint)
    db_queries_.Add(fingerprint, runs);
  for (size_t i = 0; i < stored->rejected.size(); ++i) {
    if (stored->rejected[i] > 0)
      rejected_by_reason_[i]->Increment(static_cast<double>(stored->rejected[i]));
  }
  if (stored->duplicates > 0) duplicates_.Increment(static_cast<double>(stored->duplicates));
  if (stored->bad_records > 0) {
    bad_records_.Increment(static_cast<double>(stored->bad_records));
    spdlog::warn("{}: {} lines were not spool records", url, stored->bad_records);
  }
  return outcome;
}

void EventPuller::Start() {
  std::lock_guard lock(mutex_);
  if (!threads_.empty()) return;
  stopping_ = false;
  threads_.emplace_back([this] { Schedule(); });
  threads_.emplace_back([this] { Maintain(); });
  for (int64_t i = 0; i < config_.concurrency; ++i) threads_.emplace_back([this] { Work(); });
}

void EventPuller::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_scheduler_.notify_all();
  wake_workers_.notify_all();
  wake_maintainer_.notify_all();
  for (auto& thread : threads_) thread.join();
  threads_.clear();
  due_.clear();
}

void EventPuller::Schedule() {
  SteadyTime next_sync{};
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    SteadyTime now = std::chrono::steady_clock::now();
    if (now >= next_sync) {
      lock.unlock();
      SyncTargets();
      lock.lock();
      next_sync = now + kSyncEvery;
    }
    SteadyTime wake = next_sync;
    for (auto& [instance, agent] : agents_) {
      if (agent->running) continue;
      if (agent->next <= now) {
        agent->running = true;
        due_.push_back(agent);
        wake_workers_.notify_one();
        continue;
      }
      wake = std::min(wake, agent->next);
    }
    wake_scheduler_.wait_until(lock, wake);
  }
}

void EventPuller::Work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_workers_.wait(lock, [this] { return stopping_ || !due_.empty(); });
    if (stopping_) return;
    std::shared_ptr<Agent> agent = std::move(due_.front());
    due_.pop_front();
    const EventsConfig config = config_;
    lock.unlock();
    const Outcome outcome = Pull(*agent, config);
    lock.lock();
    const auto now = std::chrono::steady_clock::now();
    // Logged when an agent's state or error changes, not at every failed pull.
    if (!outcome.ok) {
      if (agent->failures == 0 || agent->last_error != outcome.error) {
        spdlog::warn("pulling the events of agent {} (job {}) failed: {}; retrying with backoff",
                     agent->target.instance, agent->target.job, outcome.error);
      }
      ++agent->failures;
      agent->last_error = outcome.error;
      agent->next = now + Backoff(config.pull_interval, config.max_backoff, agent->failures);
    } else {
      if (agent->failures > 0) {
        spdlog::info("pulling the events of agent {} (job {}) succeeds again",
                     agent->target.instance, agent->target.job);
      }
      agent->failures = 0;
      agent->last_error.clear();
      agent->next = outcome.more ? now : now + config.pull_interval;
    }
    agent->running = false;
    if (agent->removed) RemoveSeriesLocked(*agent);
    wake_scheduler_.notify_all();
  }
}

void EventPuller::Maintain() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    const auto deleted = store_.ApplyRetention();
    if (!deleted.ok()) {
      spdlog::warn("event retention: {}", deleted.message());
    } else {
      deleted_.Increment(static_cast<double>(deleted->events + deleted->rejected));
      if (deleted->events + deleted->rejected + deleted->rollup_rows > 0) {
        spdlog::info("event retention deleted {} events, {} set aside and {} rollup rows",
                     deleted->events, deleted->rejected, deleted->rollup_rows);
      }
    }
    lock.lock();
    wake_maintainer_.wait_for(lock, kRetentionEvery, [this] { return stopping_; });
  }
}

void EventPuller::AppendFamilies(std::vector<prometheus::MetricFamily>& out) const {
  using prometheus::MetricType;
  std::vector<std::shared_ptr<Agent>> agents;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [instance, agent] : agents_) agents.push_back(agent);
  }
  const int64_t now_ms = UnixMillis(clock_);
  metrics::AddSample(metrics::AddFamily(out, "mingus_collector_events_agents",
                                        "Agents whose events are pulled.", MetricType::Gauge),
                     static_cast<double>(agents.size()));
  metrics::AddSample(
      metrics::AddFamily(out, "mingus_collector_events_db_bytes",
                         "Bytes of business_intelligence.db and its write-ahead log.",
                         MetricType::Gauge),
      static_cast<double>(store_.DiskBytes()));
  metrics::AddSample(
      metrics::AddFamily(
          out, "mingus_collector_events_distinct_cache_entries",
          "Users and sessions whose days seen are held in memory (events.distinct_cache "
          "bounds them).",
          MetricType::Gauge),
      static_cast<double>(store_.DistinctCacheEntries()));
  auto& cursor = metrics::AddFamily(
      out, "mingus_collector_events_cursor",
      "The last cursor of each agent's spool that is stored (or set aside).", MetricType::Gauge);
  for (const auto& agent : agents) {
    metrics::AddSample(cursor, static_cast<double>(agent->cursor.load()),
                       {{"agent", agent->target.instance}});
  }
  auto& lag = metrics::AddFamily(
      out, "mingus_collector_events_lag_seconds",
      "Seconds since each agent's spool was last read to its end (since it was first seen, "
      "until then).",
      MetricType::Gauge);
  for (const auto& agent : agents) {
    metrics::AddSample(lag, static_cast<double>(now_ms - agent->caught_up_ms.load()) / 1000,
                       {{"agent", agent->target.instance}});
  }
  db_queries_.AppendFamilies(out);
}

}  // namespace mingus::collector::events
