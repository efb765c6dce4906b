#include "mingus/collector/notify/forwarder.h"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "mingus/common/duration.h"
#include "mingus/http/client.h"

namespace mingus::collector::notify {

namespace {

constexpr size_t kMaxQueue = 10'000;  // Prometheus' --alertmanager.notification-queue-capacity
constexpr size_t kBatch = 64;         // and its maximum batch size

boost::json::object LabelsJson(const Labels& labels) {
  boost::json::object out;
  for (const auto& [name, value] : labels) out[name] = value;
  return out;
}

}  // namespace

std::string PostableAlerts(const std::vector<NotifyAlert>& alerts) {
  boost::json::array out;
  for (const auto& alert : alerts) {
    out.push_back(boost::json::object{{"labels", LabelsJson(alert.labels)},
                                      {"annotations", LabelsJson(alert.annotations)},
                                      {"startsAt", FormatRfc3339(alert.starts_at_ms)},
                                      {"endsAt", FormatRfc3339(alert.ends_at_ms)},
                                      {"generatorURL", alert.generator_url}});
  }
  return boost::json::serialize(out);
}

AlertmanagerForwarder::AlertmanagerForwarder(std::vector<std::string> urls,
                                             prometheus::Registry& registry)
    : urls_(std::move(urls)),
      sent_(prometheus::BuildCounter()
                .Name("mingus_collector_alertmanager_alerts_sent_total")
                .Help("Alerts forwarded to each external Alertmanager.")
                .Register(registry)),
      errors_(prometheus::BuildCounter()
                  .Name("mingus_collector_alertmanager_errors_total")
                  .Help("Batches an external Alertmanager did not accept.")
                  .Register(registry)),
      dropped_(prometheus::BuildCounter()
                   .Name("mingus_collector_alertmanager_alerts_dropped_total")
                   .Help("Alerts dropped because the forwarding queue was full.")
                   .Register(registry)
                   .Add({})),
      thread_([this] { Loop(); }) {}

AlertmanagerForwarder::~AlertmanagerForwarder() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void AlertmanagerForwarder::Send(const std::vector<NotifyAlert>& alerts) {
  {
    std::lock_guard lock(mutex_);
    for (const auto& alert : alerts) {
      if (queue_.size() >= kMaxQueue) {
        queue_.pop_front();
        dropped_.Increment();
      }
      queue_.push_back(alert);
    }
  }
  wake_.notify_all();
}

void AlertmanagerForwarder::Loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    std::vector<NotifyAlert> batch;
    while (!queue_.empty() && batch.size() < kBatch) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    lock.unlock();
    const std::string body = PostableAlerts(batch);
    for (const auto& url : urls_) {
      http::ClientOptions options;
      options.headers.emplace_back("Content-Type", "application/json");
      const auto response = http::HttpRequest("POST", url + "/api/v2/alerts", body, options);
      if (response.ok() && response->status / 100 == 2) {
        sent_.Add({{"alertmanager", url}}).Increment(static_cast<double>(batch.size()));
      } else {
        errors_.Add({{"alertmanager", url}}).Increment();
        spdlog::warn(
            "forwarding {} alerts to {}: {}", batch.size(), url,
            response.ok() ? "HTTP status " + std::to_string(response->status) : response.message());
      }
    }
    lock.lock();
  }
}

}  // namespace mingus::collector::notify
