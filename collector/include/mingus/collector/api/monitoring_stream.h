#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "mingus/collector/api/monitoring_api.h"
#include "mingus/http/message.h"

namespace mingus::collector::api {

// GET /api/monitoring/stream: Server-Sent Events. Each client gets the dashboard document on
// connect, then one event every `interval` (the rule evaluation interval), as
//   event: dashboard\ndata: <the /api/monitoring/dashboard document on one line>\n\n
// and a comment line (": keep-alive") every `heartbeat` between them. The document is computed
// once per round for every client (and shares the API's cache). Thread-safe.
class DashboardStream {
 public:
  struct Options {
    std::chrono::milliseconds interval{15'000};
    std::chrono::milliseconds heartbeat{15'000};
  };

  DashboardStream(MonitoringApi& api, Options options);
  ~DashboardStream();
  DashboardStream(const DashboardStream&) = delete;
  DashboardStream& operator=(const DashboardStream&) = delete;

  void Register(http::Router& router);
  // The thread that publishes every interval; Stop() ends it (the server ends the streams).
  void Start();
  void Stop();
  void SetInterval(std::chrono::milliseconds interval);

  http::Response Open(const http::Request& request);
  // Sends the current document to every client now; drops the clients that went away.
  void Publish();
  void Heartbeat();
  size_t subscribers() const;

  static std::string Event(std::string_view document);

 private:
  void Loop();
  void Send(const std::string& data);

  MonitoringApi& api_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  Options options_;
  std::vector<std::shared_ptr<http::StreamWriter>> subscribers_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace mingus::collector::api
