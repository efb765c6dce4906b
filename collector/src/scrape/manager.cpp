#include "mingus/collector/scrape/manager.h"

#include <spdlog/spdlog.h>

#include "mingus/common/hyperloglog.h"

namespace mingus::collector::scrape {

namespace {

using SteadyTime = std::chrono::steady_clock::time_point;
// How often file_sd files are checked for changes; a full re-read follows refresh_interval.
constexpr std::chrono::seconds kDiscoveryPoll{1};

}  // namespace

struct ScrapeManager::Loop {
  Loop(std::string job_name, Target target, tsdb::Head& head, const Clock& clock)
      : job(std::move(job_name)), scraper(std::move(target), head, clock) {}
  std::string job;
  TargetScraper scraper;
  SteadyTime next;
  ScrapeReport last;
  bool running = false;
  bool removed = false;  // stopped while a scrape ran: the worker ends its series
};

ScrapeManager::ScrapeManager(tsdb::Head& head, const Clock& clock, int concurrency,
                             ReportCallback on_report)
    : head_(head),
      clock_(clock),
      concurrency_(std::max(concurrency, 1)),
      on_report_(std::move(on_report)) {}

ScrapeManager::~ScrapeManager() { Stop(); }

std::vector<std::string> ScrapeManager::ApplyConfig(const std::vector<ScrapeConfig>& configs,
                                                    const std::string& base_directory) {
  std::lock_guard lock(mutex_);
  jobs_.clear();
  for (const auto& config : configs) {
    Job& job = jobs_[config.job_name];
    job.config = config;
    if (!config.file_sd_configs.empty()) {
      job.discovery = std::make_unique<FileDiscovery>(config.file_sd_configs, base_directory);
    }
  }
  std::vector<std::string> errors;
  for (auto& [name, job] : jobs_) {
    if (job.discovery) job.discovery->Refresh(std::chrono::steady_clock::now(), errors);
  }
  for (const auto& error : errors) spdlog::warn("{}", error);
  SyncTargetsLocked();
  next_discovery_ = std::chrono::steady_clock::now() + kDiscoveryPoll;
  wake_scheduler_.notify_all();
  return errors;
}

void ScrapeManager::SyncTargetsLocked() {
  std::map<std::string, std::shared_ptr<Loop>> wanted;
  for (const auto& [name, job] : jobs_) {
    std::vector<TargetGroup> groups = job.config.static_configs;
    if (job.discovery) {
      auto discovered = job.discovery->Groups();
      groups.insert(groups.end(), discovered.begin(), discovered.end());
    }
    for (auto& target : BuildTargets(job.config, groups)) {
      const std::string key = name + tsdb::LabelsString(target.labels);
      const auto existing = loops_.find(key);
      if (existing != loops_.end() && existing->second->scraper.target() == target) {
        wanted.emplace(key, existing->second);
        continue;
      }
      auto loop = std::make_shared<Loop>(name, std::move(target), head_, clock_);
      loop->next = FirstScrape(loop->scraper.target());
      wanted.emplace(key, std::move(loop));
    }
  }
  const int64_t now_ms = UnixMillis(clock_);
  for (auto& [key, loop] : loops_) {
    const auto kept = wanted.find(key);
    if (kept != wanted.end() && kept->second == loop) continue;
    if (loop->running) {
      loop->removed = true;
    } else {
      loop->scraper.MarkStale(now_ms);
    }
  }
  loops_ = std::move(wanted);
  std::vector<Turn> turns;
  turns.reserve(loops_.size());
  for (const auto& [key, loop] : loops_) turns.push_back({loop->next, loop});
  turns_ = decltype(turns_)(std::greater<>(), std::move(turns));
}

SteadyTime ScrapeManager::FirstScrape(const Target& target) const {
  const int64_t interval = std::max<int64_t>(target.interval.count(), 1);
  const auto offset = static_cast<int64_t>(StableHash64(tsdb::LabelsString(target.labels)) %
                                           static_cast<uint64_t>(interval));
  const int64_t wait = ((offset - UnixMillis(clock_) % interval) % interval + interval) % interval;
  return std::chrono::steady_clock::now() + std::chrono::milliseconds(wait);
}

void ScrapeManager::RefreshDiscoveryLocked(SteadyTime now) {
  if (now < next_discovery_) return;
  next_discovery_ = now + kDiscoveryPoll;
  bool changed = false;
  std::vector<std::string> errors;
  for (auto& [name, job] : jobs_) {
    if (job.discovery) changed |= job.discovery->Refresh(now, errors);
  }
  for (const auto& error : errors) spdlog::warn("{}", error);
  if (changed) SyncTargetsLocked();
}

void ScrapeManager::Start() {
  std::lock_guard lock(mutex_);
  if (!threads_.empty()) return;
  stopping_ = false;
  threads_.emplace_back([this] { Schedule(); });
  for (int i = 0; i < concurrency_; ++i) threads_.emplace_back([this] { Work(); });
}

void ScrapeManager::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_scheduler_.notify_all();
  wake_workers_.notify_all();
  for (auto& thread : threads_) thread.join();
  threads_.clear();
  due_.clear();
}

void ScrapeManager::Schedule() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    const SteadyTime now = std::chrono::steady_clock::now();
    RefreshDiscoveryLocked(now);
    while (!turns_.empty() && turns_.top().next <= now) {
      std::shared_ptr<Loop> loop = turns_.top().loop;
      turns_.pop();
      const auto interval = loop->scraper.target().interval;
      // Keep the phase; a turn that could not run (still scraping, or we were late) is skipped.
      const auto behind = (now - loop->next) / interval + 1;
      loop->next += interval * behind;
      if (!loop->running) {
        loop->running = true;
        due_.push_back(loop);
        wake_workers_.notify_one();
      }
      turns_.push({loop->next, std::move(loop)});
    }
    const SteadyTime wake =
        turns_.empty() ? next_discovery_ : std::min(next_discovery_, turns_.top().next);
    wake_scheduler_.wait_until(lock, wake);
  }
}

void ScrapeManager::Work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_workers_.wait(lock, [this] { return stopping_ || !due_.empty(); });
    if (stopping_) return;
    std::shared_ptr<Loop> loop = std::move(due_.front());
    due_.pop_front();
    lock.unlock();
    TargetStatus status{loop->job, loop->scraper.target(), loop->scraper.ScrapeOnce()};
    if (on_report_) on_report_(status);
    lock.lock();
    // Logged when a target's state or error changes, not at every failed scrape.
    const ScrapeReport& before = loop->last;
    if (!status.last.up &&
        (before.timestamp_ms == 0 || before.up || before.error != status.last.error)) {
      spdlog::warn("scrape of {} (job {}) failed: {}", status.target.Url(), status.job,
                   status.last.error);
    } else if (status.last.up && before.timestamp_ms != 0 && !before.up) {
      spdlog::info("scrape of {} (job {}) succeeds again", status.target.Url(), status.job);
    }
    loop->last = std::move(status.last);
    loop->running = false;
    if (loop->removed) loop->scraper.MarkStale(UnixMillis(clock_));
  }
}

std::vector<TargetStatus> ScrapeManager::Targets() const {
  std::lock_guard lock(mutex_);
  std::vector<TargetStatus> out;
  for (const auto& [key, loop] : loops_)
    out.push_back({loop->job, loop->scraper.target(), loop->last});
  return out;
}

std::chrono::milliseconds ScrapeManager::LongestTurn() const {
  std::lock_guard lock(mutex_);
  std::chrono::milliseconds longest{0};
  for (const auto& [name, job] : jobs_) {
    longest = std::max(longest, job.config.scrape_interval + job.config.scrape_timeout);
  }
  return longest;
}

}  // namespace mingus::collector::scrape
