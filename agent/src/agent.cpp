#include "mingus/agent/agent.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "mingus/common/file.h"
#include "mingus/common/text.h"
#include "mingus/http/daemon_routes.h"
#include "mingus/logging/logging.h"
#include "mingus/metrics/family_builder.h"

namespace mingus::agent {

namespace {

}  // namespace

namespace {
// Features whose distinct users are counted, and query fingerprints whose cost is kept.
constexpr size_t kMaxTrackedFeatures = 1000;
constexpr size_t kTopFingerprints = 50;

// A LineProcessor that keeps the mapping it was made with alive.
class MappedLineProcessor : public intake::LineProcessor {
 public:
  MappedLineProcessor(std::shared_ptr<const intake::MappingConfig> mapping, intake::MetricStore& store,
                      intake::EventAggregates& aggregates, intake::IntakeStats& stats,
                      intake::EventSink* sink)
      : LineProcessor(*mapping, store, aggregates, stats, sink), mapping_(std::move(mapping)) {}

 private:
  std::shared_ptr<const intake::MappingConfig> mapping_;
};
}  // namespace

Agent::Agent(AgentConfig config, std::unique_ptr<host::SystemCalls> system, const Clock& clock)
    : config_(std::move(config)),
      system_(std::move(system)),
      registry_(std::make_shared<prometheus::Registry>()),
      collector_errors_(prometheus::BuildCounter()
                            .Name("mingus_agent_collector_errors_total")
                            .Help("Host collector runs that failed, by collector.")
                            .Register(*registry_)),
      reload_success_(metrics::AddGauge(*registry_, "mingus_agent_config_last_reload_successful",
                               "Whether the last configuration reload attempt was successful.")),
      reload_timestamp_(metrics::AddGauge(*registry_, "mingus_agent_config_last_reload_success_timestamp_seconds",
                                 "Timestamp of the last successful configuration reload.")),
      process_(config_.paths.procfs),
      mapping_(std::make_shared<intake::MappingConfig>(config_.statsd.mapping)),
      store_(clock, static_cast<size_t>(config_.statsd.max_series_per_metric)),
      aggregates_(clock, kMaxTrackedFeatures, kTopFingerprints),
      router_(std::make_shared<http::Router>()) {
  metrics::AddBuildInfo(*registry_, "agent");
  reload_success_.Set(1);
  reload_timestamp_.SetToCurrentTime();
  host_metrics_ = std::make_shared<host::HostMetrics>(
      host::HostContext{config_.paths, system_.get()}, config_.collectors, collector_errors_);

  router_->Handle("GET", "/metrics", [this](const http::Request& r) { return ServeMetrics(r); });
  router_->Handle("GET", "/api/v1/events", [this](const http::Request& r) { return ServeEvents(r); });
  http::AddDaemonRoutes(*router_, "Mingus Agent", {{"/metrics", "Metrics"}, {"/-/healthy", "Health"}, {"/-/ready", "Readiness"}});
}

Agent::~Agent() { Stop(); }

StatusOr<Agent::Addresses> Agent::Start() {
  Addresses addresses;
  auto spool =
      spool::EventSpool::Open({.directory = JoinPath(config_.storage_path, "spool"),
                               .segment_bytes = static_cast<uint64_t>(config_.spool_segment_bytes),
                               .max_bytes = static_cast<uint64_t>(config_.spool_max_bytes)});
  if (!spool.ok()) return spool.status();
  spool_ = std::move(spool).value();
  spool_flusher_ = std::thread([this] {
    std::unique_lock lock(flusher_mutex_);
    while (!flusher_wake_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; })) {
      if (const Status status = spool_->Flush(); !status.ok()) {
        spdlog::warn("event spool: {}", status.message());
      }
    }
  });
  if (!config_.statsd.listen_udp.empty()) {
    receiver_ = std::make_unique<intake::UdpReceiver>(
        intake::ReceiverOptions{.listen_udp = config_.statsd.listen_udp,
                                .threads = config_.statsd.receive_threads,
                                .receive_buffer_bytes = static_cast<int>(config_.statsd.receive_buffer_bytes),
                                .procfs = config_.paths.procfs},
        [this] { return MakeLineProcessor(); });
    auto udp = receiver_->Start();
    if (!udp.ok()) return udp.status();
    addresses.udp = *udp;
  }
  server_ = std::make_unique<http::Server>(config_.web, router_);
  auto http = server_->Start();
  if (!http.ok()) return http.status();
  addresses.http = *http;
  return addresses;
}

void Agent::Stop() {
  if (server_) server_->Stop();
  if (receiver_) receiver_->Stop();
  {
    std::lock_guard lock(flusher_mutex_);
    stopping_ = true;
  }
  flusher_wake_.notify_all();
  if (spool_flusher_.joinable()) spool_flusher_.join();
  if (spool_) (void)spool_->Flush();
}

http::Response Agent::ServeEvents(const http::Request& request) {
  if (!spool_) return http::Response::JsonError(503, "the event spool is not open");
  const auto number = [&](std::string_view key, uint64_t fallback, uint64_t max) -> StatusOr<uint64_t> {
    const auto text = request.QueryParam(key);
    if (!text) return fallback;
    const auto value = text::ParseUint64(*text);
    if (!value || *value > max) {
      return Status::Error(fmt::format("{}: '{}' is not a whole number from 0 to {}", key, *text, max));
    }
    return *value;
  };
  const auto after = number("after", 0, UINT64_MAX);
  if (!after.ok()) return http::Response::JsonError(400, after.message());
  const auto limit = number("limit", 1000, 10'000);
  if (!limit.ok()) return http::Response::JsonError(400, limit.message());
  const auto batch = spool_->Read(*after, *limit);
  if (!batch.ok()) return http::Response::JsonError(500, batch.message());
  std::string body;
  for (const auto& record : batch->records) {
    body += record;
    body.push_back('\n');
  }
  http::Response response = http::Response::Text(200, std::move(body));
  response.content_type = "application/x-ndjson";
  response.compressible = true;
  response.headers.emplace_back("X-Mingus-Last-Cursor", std::to_string(batch->last_cursor));
  response.headers.emplace_back("X-Mingus-Lost-Events", std::to_string(batch->lost));
  response.headers.emplace_back("X-Mingus-Spool-Id", spool_->id());
  return response;
}

std::unique_ptr<intake::LineProcessor> Agent::MakeLineProcessor() {
  std::shared_ptr<const intake::MappingConfig> mapping;
  {
    std::lock_guard lock(host_metrics_mutex_);
    mapping = mapping_;
  }
  return std::make_unique<MappedLineProcessor>(std::move(mapping), store_, aggregates_, intake_stats_,
                                               spool_.get());
}

void Agent::AppendIntakeFamilies(std::vector<prometheus::MetricFamily>& out) {
  using prometheus::MetricType;
  // The intake's counters are read first: they move once a datagram's lines are applied, so
  // whatever datagram they count is already in the metrics collected after them.
  std::vector<prometheus::MetricFamily> intake_counters;
  intake_stats_.AppendFamilies(intake_counters);
  auto app = store_.Collect();
  std::move(app.begin(), app.end(), std::back_inserter(out));
  aggregates_.AppendFamilies(out);
  std::move(intake_counters.begin(), intake_counters.end(), std::back_inserter(out));
  auto& dropped = metrics::AddFamily(out, "mingus_agent_series_dropped_total",
                                     "Series refused because their metric reached its cardinality cap.",
                                     MetricType::Counter);
  for (const auto& [metric, count] : store_.DroppedSeries()) {
    metrics::AddSample(dropped, static_cast<double>(count), {{"metric", metric}});
  }
  if (spool_) {
    metrics::AddSample(metrics::AddFamily(out, "mingus_agent_spool_bytes", "Bytes held in the event spool.",
                                          MetricType::Gauge),
                       static_cast<double>(spool_->held_bytes()));
    metrics::AddSample(metrics::AddFamily(out, "mingus_agent_spool_events", "Events held in the event spool.",
                                          MetricType::Gauge),
                       static_cast<double>(spool_->held_events()));
    metrics::AddSample(metrics::AddFamily(out, "mingus_agent_spool_dropped_events_total",
                                          "Events deleted unread because the spool was full.",
                                          MetricType::Counter),
                       static_cast<double>(spool_->dropped_events()));
    metrics::AddSample(metrics::AddFamily(out, "mingus_agent_spool_write_errors_total",
                                          "Failed writes to the event spool.", MetricType::Counter),
                       static_cast<double>(spool_->write_errors()));
  }
  if (receiver_) {
    metrics::AddSample(metrics::AddFamily(out, "mingus_agent_udp_kernel_drops_total",
                                          "Datagrams the kernel dropped on the intake sockets.",
                                          MetricType::Counter),
                       static_cast<double>(receiver_->KernelDrops()));
    metrics::AddSample(metrics::AddFamily(out, "mingus_agent_udp_receive_buffer_bytes",
                                          "Receive buffer the kernel granted each intake socket.",
                                          MetricType::Gauge),
                       receiver_->granted_receive_buffer_bytes() / 2.0);
  }
}

std::shared_ptr<const host::HostMetrics> Agent::host_metrics() const {
  std::lock_guard lock(host_metrics_mutex_);
  return host_metrics_;
}

void Agent::Reload(AgentConfig config) {
  if (config.web.listen_address != config_.web.listen_address) {
    spdlog::warn("web.listen_address changed to {}; it takes effect at the next restart",
                 config.web.listen_address);
  }
  auto fresh = std::make_shared<host::HostMetrics>(host::HostContext{config.paths, system_.get()},
                                                   config.collectors, collector_errors_);
  {
    std::lock_guard lock(host_metrics_mutex_);
    host_metrics_ = std::move(fresh);
    mapping_ = std::make_shared<intake::MappingConfig>(config.statsd.mapping);
  }
  if (receiver_) receiver_->Refresh();
  if (const auto level = logging::ParseLevel(config.log.level); level.ok()) spdlog::set_level(*level);
  config.web = config_.web;
  config.statsd.listen_udp = config_.statsd.listen_udp;
  config_ = std::move(config);
  reload_success_.Set(1);
  reload_timestamp_.SetToCurrentTime();
}

void Agent::RecordFailedReload() { reload_success_.Set(0); }

http::Response Agent::ServeMetrics(const http::Request&) {
  std::vector<prometheus::MetricFamily> families = host_metrics()->Collect();
  auto own = registry_->Collect();
  std::move(own.begin(), own.end(), std::back_inserter(families));
  AppendIntakeFamilies(families);
  auto process = process_.Collect();
  std::move(process.begin(), process.end(), std::back_inserter(families));
  if (server_) http::AppendServerFamilies(families, "mingus_agent", *server_);
  return http::ExpositionResponse(families);
}

}  // namespace mingus::agent
