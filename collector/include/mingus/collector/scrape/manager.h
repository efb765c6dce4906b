#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <queue>
#include <string>
#include <thread>
#include <vector>

#include "mingus/collector/config.h"
#include "mingus/collector/scrape/discovery.h"
#include "mingus/collector/scrape/scraper.h"

namespace mingus::collector::scrape {

struct TargetStatus {
  std::string job;
  Target target;
  ScrapeReport last;  // timestamp_ms 0 until the first scrape
};

// Scrapes every target on its interval, at a fixed phase within the interval derived from a
// hash of its labels (so that many targets spread out, and a restart keeps each one's phase,
// as Prometheus does), on a pool of worker threads. A target still being scraped when it is
// due again skips that turn.
class ScrapeManager {
 public:
  using ReportCallback = std::function<void(const TargetStatus&)>;
  ScrapeManager(tsdb::Head& head, const Clock& clock, int concurrency,
                ReportCallback on_report = nullptr);
  ~ScrapeManager();

  // Replaces the scrape configs. Unchanged targets keep running (and their staleness state);
  // new ones start; removed ones stop, their series ending with staleness markers. Errors
  // reading file_sd files are logged and returned.
  std::vector<std::string> ApplyConfig(const std::vector<ScrapeConfig>& configs,
                                       const std::string& base_directory);
  void Start();
  void Stop();

  std::vector<TargetStatus> Targets() const;
  // The longest scrape_interval + scrape_timeout of the jobs: by then every target that answers
  // has been scraped.
  std::chrono::milliseconds LongestTurn() const;

 private:
  struct Loop;
  struct Job {
    ScrapeConfig config;
    std::unique_ptr<FileDiscovery> discovery;
  };
  void SyncTargetsLocked();
  void RefreshDiscoveryLocked(std::chrono::steady_clock::time_point now);
  void Schedule();
  void Work();
  std::chrono::steady_clock::time_point FirstScrape(const Target& target) const;

  tsdb::Head& head_;
  const Clock& clock_;
  const int concurrency_;
  ReportCallback on_report_;
  mutable std::mutex mutex_;
  std::condition_variable wake_scheduler_, wake_workers_;
  std::map<std::string, Job> jobs_;
  std::map<std::string, std::shared_ptr<Loop>> loops_;  // by job and target labels
  struct Turn {
    std::chrono::steady_clock::time_point next;
    std::shared_ptr<Loop> loop;
    bool operator>(const Turn& other) const { return next > other.next; }
  };
  // The loops by their next scrape, soonest first, rebuilt when the targets change: a wake-up
  // looks at the due ones only, where a walk over every loop at each wake-up (one per target
  // and interval, their phases being spread) took about 8 % of the collector's CPU at 200
  // targets.
  std::priority_queue<Turn, std::vector<Turn>, std::greater<>> turns_;
  std::deque<std::shared_ptr<Loop>> due_;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point next_discovery_{};
  std::vector<std::thread> threads_;
};

}  // namespace mingus::collector::scrape
