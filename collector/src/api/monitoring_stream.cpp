#include "mingus/collector/api/monitoring_stream.h"

#include <algorithm>

namespace mingus::collector::api {

DashboardStream::DashboardStream(MonitoringApi& api, Options options)
    : api_(api), options_(options) {}

DashboardStream::~DashboardStream() { Stop(); }

void DashboardStream::Register(http::Router& router) {
  router.Handle("GET", "/api/monitoring/stream",
                [this](const http::Request& request) { return Open(request); });
}

std::string DashboardStream::Event(std::string_view document) {
  std::string event = "event: dashboard\ndata: ";
  event += document;
  event += "\n\n";
  return event;
}

http::Response DashboardStream::Open(const http::Request&) {
  http::Response response;
  response.content_type = "text/event-stream";
  response.headers.emplace_back("Cache-Control", "no-cache");
  response.headers.emplace_back("X-Accel-Buffering", "no");  // nginx: do not buffer
  response.body = Event(api_.DashboardJson());
  response.on_stream = [this](std::shared_ptr<http::StreamWriter> writer) {
    std::lock_guard lock(mutex_);
    subscribers_.push_back(std::move(writer));
  };
  return response;
}

void DashboardStream::Send(const std::string& data) {
  std::lock_guard lock(mutex_);
  std::erase_if(subscribers_, [&](const auto& writer) { return !writer->Write(data); });
}

void DashboardStream::Publish() {
  {
    std::lock_guard lock(mutex_);
    std::erase_if(subscribers_, [](const auto& writer) { return !writer->open(); });
    if (subscribers_.empty()) return;  // nobody listens: compute nothing
  }
  Send(Event(api_.DashboardJson()));
}

void DashboardStream::Heartbeat() { Send(": keep-alive\n\n"); }

size_t DashboardStream::subscribers() const {
  std::lock_guard lock(mutex_);
  return static_cast<size_t>(std::count_if(subscribers_.begin(), subscribers_.end(),
                                           [](const auto& writer) { return writer->open(); }));
}

void DashboardStream::SetInterval(std::chrono::milliseconds interval) {
  {
    std::lock_guard lock(mutex_);
    options_.interval = interval;
  }
  wake_.notify_all();
}

void DashboardStream::Start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void DashboardStream::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    subscribers_.clear();
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void DashboardStream::Loop() {
  using Clock = std::chrono::steady_clock;
  std::unique_lock lock(mutex_);
  auto last_publish = Clock::now(), last_beat = Clock::now();
  while (!stopping_) {
    const auto next_publish = last_publish + options_.interval;
    const auto next_beat = last_beat + options_.heartbeat;
    wake_.wait_until(lock, std::min(next_publish, next_beat));
    if (stopping_) break;
    const auto now = Clock::now();
    if (now >= last_publish + options_.interval) {
      last_publish = last_beat = now;
      lock.unlock();
      Publish();
      lock.lock();
    } else if (now >= last_beat + options_.heartbeat) {
      last_beat = now;
      lock.unlock();
      Heartbeat();
      lock.lock();
    }
  }
}

}  // namespace mingus::collector::api
