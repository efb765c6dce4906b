#include "mingus/agent/agent.h"

#include <sstream>

#include <fmt/format.h>
#include <prometheus/text_serializer.h>
#include <spdlog/spdlog.h>

#include "mingus/logging/logging.h"
#include "mingus/metrics/family_builder.h"
#include "mingus/version.h"

namespace mingus::agent {

namespace {

constexpr std::string_view kExpositionContentType = "text/plain; version=0.0.4; charset=utf-8";

std::string IndexPage() {
  return fmt::format(R"(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Mingus Agent</title></head>
<body><h1>Mingus Agent</h1><p>Version {} ({})</p>
<ul><li><a href="/metrics">Metrics</a></li><li><a href="/-/healthy">Health</a></li>
<li><a href="/-/ready">Readiness</a></li></ul></body></html>
)",
                     kVersion, kRevision);
}

prometheus::Gauge& AddGauge(prometheus::Registry& registry, const std::string& name,
                            const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry).Add({});
}

}  // namespace

Agent::Agent(AgentConfig config, std::unique_ptr<host::SystemCalls> system)
    : config_(std::move(config)),
      system_(std::move(system)),
      registry_(std::make_shared<prometheus::Registry>()),
      collector_errors_(prometheus::BuildCounter()
                            .Name("mingus_agent_collector_errors_total")
                            .Help("Host collector runs that failed, by collector.")
                            .Register(*registry_)),
      reload_success_(AddGauge(*registry_, "mingus_agent_config_last_reload_successful",
                               "Whether the last configuration reload attempt was successful.")),
      reload_timestamp_(AddGauge(*registry_, "mingus_agent_config_last_reload_success_timestamp_seconds",
                                 "Timestamp of the last successful configuration reload.")),
      process_(config_.paths.procfs),
      router_(std::make_shared<http::Router>()) {
  prometheus::BuildGauge()
      .Name("mingus_agent_build_info")
      .Help("A metric with a constant '1' value labeled by version and revision of the agent.")
      .Register(*registry_)
      .Add({{"version", kVersion}, {"revision", kRevision}, {"compiler", __VERSION__}})
      .Set(1);
  reload_success_.Set(1);
  reload_timestamp_.SetToCurrentTime();
  host_metrics_ = std::make_shared<host::HostMetrics>(
      host::HostContext{config_.paths, system_.get()}, config_.collectors, collector_errors_);

  router_->Handle("GET", "/metrics", [this](const http::Request& r) { return ServeMetrics(r); });
  router_->Handle("GET", "/-/healthy", [](const http::Request&) {
    return http::Response::Text(200, "Mingus Agent is Healthy.\n");
  });
  router_->Handle("GET", "/-/ready", [](const http::Request&) {
    return http::Response::Text(200, "Mingus Agent is Ready.\n");
  });
  router_->Handle("GET", "/", [](const http::Request&) {
    http::Response response = http::Response::Text(200, IndexPage());
    response.content_type = "text/html; charset=utf-8";
    return response;
  });
}

Agent::~Agent() { Stop(); }

StatusOr<std::string> Agent::Start() {
  server_ = std::make_unique<http::Server>(config_.web, router_);
  return server_->Start();
}

void Agent::Stop() {
  if (server_) server_->Stop();
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
  }
  if (const auto level = logging::ParseLevel(config.log_level); level.ok()) spdlog::set_level(*level);
  config.web = config_.web;
  config_ = std::move(config);
  reload_success_.Set(1);
  reload_timestamp_.SetToCurrentTime();
}

void Agent::RecordFailedReload() { reload_success_.Set(0); }

http::Response Agent::ServeMetrics(const http::Request&) const {
  std::vector<prometheus::MetricFamily> families = host_metrics()->Collect();
  auto own = registry_->Collect();
  std::move(own.begin(), own.end(), std::back_inserter(families));
  auto process = process_.Collect();
  std::move(process.begin(), process.end(), std::back_inserter(families));
  if (server_) {
    std::vector<prometheus::MetricFamily> http;
    metrics::AddSample(metrics::AddFamily(http, "mingus_agent_http_connections_refused_total",
                                          "Connections closed at once because too many were open.",
                                          prometheus::MetricType::Counter),
                       static_cast<double>(server_->refused_connections()));
    metrics::AddSample(metrics::AddFamily(http, "mingus_agent_http_requests_rejected_total",
                                          "Requests refused as malformed, too large or too slow.",
                                          prometheus::MetricType::Counter),
                       static_cast<double>(server_->rejected_requests()));
    std::move(http.begin(), http.end(), std::back_inserter(families));
  }
  std::ostringstream body;
  prometheus::TextSerializer().Serialize(body, families);
  http::Response response = http::Response::Text(200, body.str());
  response.content_type = kExpositionContentType;
  response.compressible = true;
  return response;
}

}  // namespace mingus::agent
