#include "mingus/collector/collector.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <malloc.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>

#include "mingus/collector/api/silences_api.h"
#include "mingus/collector/api/web_ui.h"
#include "mingus/common/file.h"
#include "mingus/http/daemon_routes.h"
#include "mingus/logging/logging.h"
#include "mingus/metrics/family_builder.h"
#include "mingus/sqlite/memory.h"

namespace mingus::collector {

namespace {

constexpr std::string_view kStoreFile = "performance_metrics.db";
constexpr std::string_view kAlertStoreFile = "alerts.db";

events::StoreOptions EventStoreOptions(const events::EventsConfig& config) {
  return {.retention = config.retention,
          .rollup_retention = config.rollup_retention,
          .max_future_skew = config.max_future_skew,
          .distinct_cache = static_cast<size_t>(config.distinct_cache)};
}

prometheus::Counter& AddCounter(prometheus::Registry& registry, const std::string& name,
                                const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry).Add({});
}

prometheus::Histogram& AddHistogram(prometheus::Registry& registry, const std::string& name,
                                    const std::string& help) {
  return prometheus::BuildHistogram().Name(name).Help(help).Register(registry).Add(
      {}, prometheus::Histogram::BucketBoundaries{0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10});
}

}  // namespace

Collector::Collector(CollectorConfig config, const Clock& clock)
    : config_(std::move(config)),
      clock_(clock),
      registry_(std::make_shared<prometheus::Registry>()),
      reload_success_(
          metrics::AddGauge(*registry_, "mingus_collector_config_last_reload_successful",
                            "Whether the last configuration reload attempt was successful.")),
      reload_timestamp_(metrics::AddGauge(
          *registry_, "mingus_collector_config_last_reload_success_timestamp_seconds",
          "Timestamp of the last successful configuration reload.")),
      scrapes_(prometheus::BuildCounter()
                   .Name("mingus_collector_scrapes_total")
                   .Help("Target scrapes, by job and result (success or failure).")
                   .Register(*registry_)),
      scrape_duration_(AddHistogram(*registry_, "mingus_collector_scrape_duration_seconds",
                                    "Time to scrape and store one target.")),
      flushes_failed_(AddCounter(*registry_, "mingus_collector_store_flush_failures_total",
                                 "Flushes of the head to performance_metrics.db that failed.")),
      flush_duration_(AddHistogram(*registry_, "mingus_collector_store_flush_duration_seconds",
                                   "Time to flush the head to performance_metrics.db.")),
      corrupt_chunks_(AddCounter(*registry_, "mingus_collector_store_corrupt_chunks_total",
                                 "Stored chunks refused at load because they did not decode.")),
      process_("/proc"),
      engine_(head_, {.lookback_delta_ms = config_.lookback_delta.count(),
                      .max_samples = static_cast<size_t>(config_.query_max_samples)}),
      scrapes_manager_(
          head_, clock_, config_.scrape_concurrency,
          [this](const scrape::TargetStatus& status) {
            scrapes_.Add({{"job", status.job}, {"result", status.last.up ? "success" : "failure"}})
                .Increment();
            scrape_duration_.Observe(status.last.duration_seconds);
          }),
      rules_(head_, engine_, clock_, *registry_),
      api_(head_, engine_, clock_, &scrapes_manager_, &rules_, *registry_),
      monitoring_(engine_, clock_, &rules_, config_.dashboard, *registry_),
      stream_(monitoring_, {.interval = config_.evaluation_interval}),
      router_(std::make_shared<http::Router>()) {
  metrics::AddBuildInfo(*registry_, "collector");
  reload_success_.Set(1);
  reload_timestamp_.SetToCurrentTime();
  api_.Register(*router_);
  monitoring_.Register(*router_);
  stream_.Register(*router_);
  router_->Handle("GET", "/metrics", [this](const http::Request& r) { return ServeMetrics(r); });
  http::AddDaemonRoutes(*router_, "Mingus Collector",
                        {{"/metrics", "Metrics"},
                         {"/api/v1/targets", "Targets"},
                         {"/api/v1/rules", "Rules"},
                         {"/api/v1/alerts", "Alerts"},
                         {"/api/v1/query?query=up", "Query: up"},
                         {"/-/healthy", "Health"}});
  // The live dashboard replaces that index page at /; it links the same pages in its footer.
  api::RegisterWebUi(*router_);
  // As Prometheus' --web.enable-lifecycle: the same path as SIGHUP, through main's signal loop.
  for (const char* method : {"POST", "PUT"}) {
    router_->Handle(method, "/-/reload", [](const http::Request&) {
      ::kill(::getpid(), SIGHUP);
      return http::Response::Text(200, "Reloading configuration.\n");
    });
  }
}

Collector::~Collector() { Stop(); }

StatusOr<std::string> Collector::Start() {
  std::error_code error;
  std::filesystem::create_directories(config_.storage_path, error);
  if (error) {
    return Status::Error(fmt::format("cannot create the data directory {}: {}",
                                     config_.storage_path, error.message()));
  }
  const std::string store_path = JoinPath(config_.storage_path, std::string(kStoreFile));
  auto store = tsdb::ChunkStore::Open(store_path);
  if (!store.ok()) return store.status();
  store_ = std::move(store).value();
  const auto loaded = store_->Load(head_);
  if (!loaded.ok()) return loaded.status();
  if (!loaded->moved_aside.empty()) {
    spdlog::error("{} was corrupt: moved aside to {}, starting with an empty store", store_path,
                  loaded->moved_aside);
  }
  corrupt_chunks_.Increment(static_cast<double>(loaded->corrupt_chunks));
  spdlog::info("loaded {} series and {} chunks from {}{}", loaded->series, loaded->chunks,
               store_path,
               loaded->corrupt_chunks > 0
                   ? fmt::format(" ({} corrupt chunks refused)", loaded->corrupt_chunks)
                   : "");
  const std::string alert_store_path = JoinPath(config_.storage_path, std::string(kAlertStoreFile));
  auto alert_store = rules::AlertStore::Open(alert_store_path);
  if (!alert_store.ok()) return alert_store.status();
  if (!(*alert_store)->moved_aside().empty()) {
    spdlog::error("{} was corrupt: moved aside to {}, alert state starts afresh", alert_store_path,
                  (*alert_store)->moved_aside());
  }
  rules_.UseStore(std::move(alert_store).value());
  if (Status status = StartNotifier(); !status.ok()) return status;
  rules_.Apply(config_.rule_groups, RuleOptions());
  for (const auto& problem :
       scrapes_manager_.ApplyConfig(config_.scrape_configs, config_.base_directory)) {
    spdlog::warn("{}", problem);
  }
  scrapes_manager_.Start();
  rules_.WaitForFreshData(rules::FreshDataGate(
      [this](int64_t since_ms) {
        const auto targets = scrapes_manager_.Targets();
        return std::all_of(targets.begin(), targets.end(), [&](const auto& target) {
          return target.last.timestamp_ms >= since_ms;
        });
      },
      [this] { return scrapes_manager_.LongestTurn().count(); }));
  rules_.Start();
  if (Status status = StartEvents(); !status.ok()) return status;
  flusher_ = std::thread([this] { FlushLoop(); });
  server_ = std::make_unique<http::Server>(config_.web, router_);
  auto address = server_->Start();
  if (address.ok()) stream_.Start();
  return address;
}

void Collector::Stop() {
  if (server_) server_->Stop();
  stream_.Stop();
  if (event_puller_) event_puller_->Stop();
  scrapes_manager_.Stop();
  rules_.Stop();
  StopNotifier();
  {
    std::lock_guard lock(flusher_mutex_);
    stopping_ = true;
  }
  flusher_wake_.notify_all();
  if (flusher_.joinable()) {
    flusher_.join();
    FlushOnce();
  }
}

void Collector::FlushLoop() {
  std::unique_lock lock(flusher_mutex_);
  while (!flusher_wake_.wait_for(lock, config_.flush_interval, [this] { return stopping_; })) {
    lock.unlock();
    FlushOnce();
    // A flush frees what it allocated in batches, and glibc keeps freed memory for reuse (10
    // MiB more after stores that failed on a full disk, in the soak): give it back, so that
    // the resident size follows what is live.
    malloc_trim(0);
    lock.lock();
  }
}

void Collector::FlushOnce() {
  std::lock_guard lock(store_mutex_);
  if (!store_) return;
  const auto start = std::chrono::steady_clock::now();
  const int64_t keep_from = UnixMillis(clock_) - config_.retention.count();
  head_.Truncate(keep_from);
  const auto flushed = store_->Flush(head_);
  Status retention = store_->DeleteBefore(keep_from);
  flush_duration_.Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  if (!flushed.ok()) {
    flushes_failed_.Increment();
    spdlog::error("flushing the store: {}", flushed.message());
    return;
  }
  if (!retention.ok()) spdlog::warn("applying retention to the store: {}", retention.message());
  spdlog::debug("flushed {} chunks of {} series ({} bytes)", flushed->chunks, flushed->series,
                flushed->bytes);
}

void Collector::Reload(CollectorConfig config) {
  if (config.web.listen_address != config_.web.listen_address) {
    spdlog::warn("web.listen_address changed to {}; it takes effect at the next restart",
                 config.web.listen_address);
  }
  if (config.storage_path != config_.storage_path) {
    spdlog::warn("storage.path changed to {}; it takes effect at the next restart",
                 config.storage_path);
  }
  for (const auto& problem :
       scrapes_manager_.ApplyConfig(config.scrape_configs, config.base_directory)) {
    spdlog::warn("{}", problem);
  }
  if (const auto level = logging::ParseLevel(config.log.level); level.ok())
    spdlog::set_level(*level);
  config.web = config_.web;
  config.storage_path = config_.storage_path;
  {
    // The flusher thread reads flush_interval under flusher_mutex_ and retention under
    // store_mutex_; every other reader of config_ runs on this thread.
    std::scoped_lock lock(flusher_mutex_, store_mutex_);
    config_ = std::move(config);
  }
  rules_.Apply(config_.rule_groups, RuleOptions());
  monitoring_.Apply(config_.dashboard);
  if (db_optimizer_) db_optimizer_->SetConfig(config_.db_optimizer);
  if (event_puller_) {
    event_store_->SetOptions(EventStoreOptions(config_.events));
    event_puller_->Apply(config_.events);
    ux_->Apply(config_.ux);
  }
  stream_.SetInterval(config_.evaluation_interval);
  {
    std::lock_guard lock(notifier_mutex_);
    alert_labels_ = RuleOptions().external_labels;
    external_url_ = config_.external_url;
  }
  if (config_.notify && dispatcher_) {
    dispatcher_->Apply(*config_.notify);
    sender_->Apply(*config_.notify);
  } else if (config_.notify.has_value() != (dispatcher_ != nullptr)) {
    spdlog::warn("notify.yaml appeared or went away; notifications change at the next restart");
  }
  reload_success_.Set(1);
  reload_timestamp_.SetToCurrentTime();
}

Status Collector::StartEvents() {
  const std::string path = JoinPath(config_.storage_path, events::kEventStoreFile);
  auto store = events::EventStore::Open(path, EventStoreOptions(config_.events), clock_);
  if (!store.ok()) return store.status();
  if (!(*store)->moved_aside().empty()) {
    spdlog::error("{} was corrupt: moved aside to {}, events start afresh", path,
                  (*store)->moved_aside());
  }
  event_store_ = std::move(store).value();
  // Reports read on connections of their own beside the puller's writes.
  auto insights = events::Insights::Open(path, clock_, events::MaxReportDays(config_.events));
  if (!insights.ok()) return insights.status();
  insights_ = std::move(insights).value();
  router_->Handle("GET", "/api/monitoring/insights",
                  [this](const http::Request& r) { return insights_->Serve(r); });
  auto db_optimizer = db::DbOptimizer::Open(path, config_.db_optimizer, clock_);
  if (!db_optimizer.ok()) return db_optimizer.status();
  db_optimizer_ = std::move(db_optimizer).value();
  router_->Handle("GET", "/api/monitoring/db/report",
                  [this](const http::Request& r) { return db_optimizer_->Serve(r); });
  auto ux = events::UxReports::Open(path, clock_, events::MaxReportDays(config_.events),
                                    config_.ux);
  if (!ux.ok()) return ux.status();
  ux_ = std::move(ux).value();
  router_->Handle("GET", "/api/monitoring/ux",
                  [this](const http::Request& r) { return ux_->Serve(r); });
  // The agents are the scrape targets of the events jobs, as the scrape manager has them.
  event_puller_ = std::make_unique<events::EventPuller>(
      *event_store_, clock_, *registry_,
      [this] {
        std::vector<events::AgentTarget> agents;
        for (const auto& status : scrapes_manager_.Targets()) {
          const auto& labels = status.target.labels;
          const auto instance = std::find_if(labels.begin(), labels.end(), [](const auto& label) {
            return label.first == "instance";
          });
          agents.push_back({instance != labels.end() ? instance->second : status.target.address,
                            status.job, status.target.address, status.target.client});
        }
        return agents;
      },
      config_.events);
  event_puller_->Start();
  if (!config_.events.jobs.empty()) {
    spdlog::info("pulling analytics events from the targets of {} into {}",
                 fmt::join(config_.events.jobs, ", "), path);
  }
  return OkStatus();
}

Status Collector::StartNotifier() {
  {
    std::lock_guard lock(notifier_mutex_);
    alert_labels_ = RuleOptions().external_labels;
    external_url_ = config_.external_url;
  }
  rules_.SetAlertSink([this](const std::string&, std::vector<rules::AlertToSend> alerts) {
    SendAlerts(std::move(alerts));
  });
  if (!config_.alertmanagers.empty()) {
    forwarder_ = std::make_unique<notify::AlertmanagerForwarder>(config_.alertmanagers, *registry_);
  }
  if (!config_.notify) {
    spdlog::info("no notify.yaml: alerts are evaluated and shown, not sent");
    return OkStatus();
  }
  auto store =
      notify::NotifyStore::Open(JoinPath(config_.storage_path, std::string(kAlertStoreFile)));
  if (!store.ok()) return store.status();
  notify_store_ = std::move(store).value();
  sender_ = std::make_unique<notify::ConfiguredSender>(*config_.notify, registry_.get());
  dispatcher_ = std::make_unique<notify::Dispatcher>(
      *config_.notify, notify::DispatcherOptions{config_.external_url}, clock_, *notify_store_,
      [this] { deliverer_->Wake(); });
  deliverer_ = std::make_unique<notify::Deliverer>(
      *notify_store_, *sender_, clock_, *registry_, notify::DeliveryOptions{},
      [this](const std::string& key) { dispatcher_->ForgetLog(key); });
  api::RegisterSilencesApi(*router_, *dispatcher_, clock_);
  monitoring_.SetSilenceSource([this] { return dispatcher_->Silences(); });
  deliverer_->Start();
  notifier_stopping_ = false;
  notifier_ = std::thread([this] { NotifyLoop(); });
  spdlog::info("notifications per {}", config_.notify_config_file);
  return OkStatus();
}

void Collector::StopNotifier() {
  {
    std::lock_guard lock(notifier_mutex_);
    notifier_stopping_ = true;
  }
  notifier_wake_.notify_all();
  if (notifier_.joinable()) notifier_.join();
  if (deliverer_) deliverer_->Stop();
  forwarder_.reset();
}

void Collector::SendAlerts(std::vector<rules::AlertToSend> alerts) {
  if (!dispatcher_ && !forwarder_) return;
  std::vector<notify::NotifyAlert> out;
  out.reserve(alerts.size());
  {
    std::lock_guard lock(notifier_mutex_);
    for (auto& [alert, expr] : alerts) {
      notify::NotifyAlert sent;
      sent.labels = std::move(alert.labels);
      for (const auto& label : alert_labels_) {  // external labels, unless the alert has them
        const auto at =
            std::lower_bound(sent.labels.begin(), sent.labels.end(), label,
                             [](const auto& a, const auto& b) { return a.first < b.first; });
        if (at == sent.labels.end() || at->first != label.first) sent.labels.insert(at, label);
      }
      sent.annotations = std::move(alert.annotations);
      sent.starts_at_ms =
          alert.fired_at_ms != rules::kNever ? alert.fired_at_ms : alert.active_at_ms;
      sent.ends_at_ms =
          alert.resolved_at_ms != rules::kNever ? alert.resolved_at_ms : alert.valid_until_ms;
      sent.generator_url =
          fmt::format("{}/graph?g0.expr={}&g0.tab=1", external_url_, http::QueryEscape(expr));
      out.push_back(std::move(sent));
    }
    notifier_woken_ = true;
  }
  if (forwarder_) forwarder_->Send(out);
  if (!dispatcher_) return;
  dispatcher_->Put(out);
  notifier_wake_.notify_all();
}

void Collector::NotifyLoop() {
  std::unique_lock lock(notifier_mutex_);
  while (!notifier_stopping_) {
    notifier_woken_ = false;
    lock.unlock();
    const int64_t next = dispatcher_->Flush();
    lock.lock();
    const int64_t wait = std::clamp<int64_t>(next - UnixMillis(clock_), 10, 1000);
    notifier_wake_.wait_for(lock, std::chrono::milliseconds(wait),
                            [this] { return notifier_stopping_ || notifier_woken_; });
  }
}

rules::GroupOptions Collector::RuleOptions() const {
  rules::GroupOptions options;
  options.default_interval = config_.evaluation_interval;
  options.external_labels = config_.external_labels;
  std::sort(options.external_labels.begin(), options.external_labels.end());
  return options;
}

void Collector::RecordFailedReload() { reload_success_.Set(0); }

http::Response Collector::ServeMetrics(const http::Request&) {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  const auto gauge = [&](std::string name, std::string help, double value) {
    metrics::AddSample(
        metrics::AddFamily(families, std::move(name), std::move(help), MetricType::Gauge), value);
  };
  gauge("mingus_collector_head_series", "Series in the in-memory head.",
        static_cast<double>(head_.series_count()));
  metrics::AddSample(metrics::AddFamily(families, "mingus_collector_head_samples_appended_total",
                                        "Samples appended to the head.", MetricType::Counter),
                     static_cast<double>(head_.samples_appended()));
  gauge("mingus_collector_head_chunks", "Chunks in the in-memory head, closed and open.",
        static_cast<double>(head_.chunk_count()));
  gauge("mingus_collector_head_chunk_bytes", "Encoded bytes of the head's closed chunks.",
        static_cast<double>(head_.chunk_bytes()));
  size_t up = 0, targets = 0;
  for (const auto& target : scrapes_manager_.Targets()) {
    ++targets;
    up += target.last.up ? 1 : 0;
  }
  gauge("mingus_collector_targets", "Scrape targets configured or discovered.",
        static_cast<double>(targets));
  gauge("mingus_collector_targets_up", "Targets whose last scrape succeeded.",
        static_cast<double>(up));
  {
    std::lock_guard lock(store_mutex_);
    if (store_) {
      gauge("mingus_collector_store_bytes",
            "Bytes of performance_metrics.db and its write-ahead log.",
            static_cast<double>(store_->DiskBytes()));
    }
  }
  // Its page caches fill up to their cache_size as the databases grow, then stay: without this
  // figure that bounded growth cannot be told from a leak in the process' resident memory.
  gauge("mingus_collector_sqlite_memory_bytes",
        "Heap bytes SQLite holds: page caches, schemas and prepared statements of every database.",
        static_cast<double>(sqlite::MemoryUsed()));
  if (event_puller_) event_puller_->AppendFamilies(families);
  if (ux_) ux_->AppendFamilies(families);
  if (insights_) insights_->AppendFamilies(families);
  auto process = process_.Collect();
  std::move(process.begin(), process.end(), std::back_inserter(families));
  if (server_) http::AppendServerFamilies(families, "mingus_collector", *server_);
  return http::ExpositionResponse(families);
}

}  // namespace mingus::collector
