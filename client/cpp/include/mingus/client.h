#pragma once

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "mingus/client/clock.h"
#include "mingus/client/udp_sender.h"
#include "mingus/client/wire.h"

// The application's side of Mingus Monitor: events and metrics to the agent over UDP.
// Nothing here blocks or throws in the caller: a call formats one line and appends it to a
// bounded in-memory queue that a background thread packs into datagrams and sends. Whatever
// cannot be sent is dropped and counted (Client::Stats).
namespace mingus::client {

struct ClientOptions {
  std::string address = "127.0.0.1:8125";  // host:port or [v6]:port of the agent's UDP intake
  size_t max_queue_bytes = 1 << 20;        // lines beyond it are dropped (queue_full)
  std::chrono::milliseconds flush_interval{100};
  bool background_flush = true;  // false: only Flush() sends (tests)

  // The defaults with the address from MINGUS_AGENT_ADDR when it is set.
  static ClientOptions FromEnvironment() {
    ClientOptions options;
    if (const char* address = std::getenv("MINGUS_AGENT_ADDR"); address && *address) {
      options.address = address;
    }
    return options;
  }
};

// Counts of lines (one per call) by fate; truncated_lines were sent with a string cut short.
struct ClientStats {
  uint64_t sent_lines = 0, sent_datagrams = 0, dropped_queue_full = 0, dropped_unresolved = 0,
           dropped_send_failed = 0, dropped_oversized = 0, dropped_invalid_value = 0,
           truncated_lines = 0;
};

namespace detail {

// Records (one or more lines, each ending in '\n') in a byte buffer bounded by max_bytes, with
// each record's end offset so that the packer never splits one. Thread-safe.
class RecordQueue {
 public:
  explicit RecordQueue(size_t max_bytes) : max_bytes_(max_bytes) {}

  // Appends `record` and a '\n'; false when that would pass the bound. `crossed` is set when
  // this record took the queue past `wake_bytes` (time to wake the flusher early).
  bool Push(std::string_view record, size_t wake_bytes, bool& crossed) {
    std::lock_guard lock(mutex_);
    const size_t size = buffer_.size() + record.size() + 1;
    if (size > max_bytes_) return false;
    crossed = buffer_.size() < wake_bytes && size >= wake_bytes;
    buffer_.append(record);
    buffer_ += '\n';
    ends_.push_back(static_cast<uint32_t>(size));
    return true;
  }

  // Moves everything queued into (cleared) `buffer` and `ends`, keeping their capacity for reuse.
  void Take(std::string& buffer, std::vector<uint32_t>& ends) {
    buffer.clear();
    ends.clear();
    std::lock_guard lock(mutex_);
    buffer_.swap(buffer);
    ends_.swap(ends);
  }

 private:
  const size_t max_bytes_;
  std::mutex mutex_;
  std::string buffer_;
  std::vector<uint32_t> ends_;
};

inline std::string& Scratch() {
  thread_local std::string line;
  line.clear();
  return line;
}

}  // namespace detail

// Sends the application's events and metrics to one agent. Thread-safe: any thread may call
// anything; one client per process is enough (DefaultClient).
class Client {
 public:
  explicit Client(ClientOptions options = ClientOptions::FromEnvironment())
      : Client(options, std::make_unique<UdpSender>(options.address)) {}
  // `sender` replaces the UDP socket (tests); `clock` times the RAII timers.
  Client(ClientOptions options, std::unique_ptr<Sender> sender, const Clock& clock = DefaultClock())
      : options_(std::move(options)),
        sender_(std::move(sender)),
        clock_(clock),
        queue_(options_.max_queue_bytes) {
    if (options_.background_flush) flusher_ = std::thread([this] { FlushLoop(); });
  }
  // Sends what is still queued, then stops the flush thread.
  ~Client() {
    if (flusher_.joinable()) {
      {
        std::lock_guard lock(wake_mutex_);
        stopping_ = true;
      }
      wake_.notify_one();
      flusher_.join();
    }
    Flush();
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const Clock& clock() const { return clock_; }

  // --- StatsD lines (any StatsD name; tags become labels on the agent). An empty name, a NaN
  // or infinite value, or a negative count or time drops the line (dropped_invalid_value).
  void Count(std::string_view name, double value = 1, std::initializer_list<Tag> tags = {}) {
    if (name.empty() || !std::isfinite(value) || value < 0) return CountInvalid();
    Statsd(name, value, "c", tags);
  }
  // A gauge set to `value`. A negative value is sent as a reset to 0 and a delta in one
  // record, since a leading '-' alone means "decrease" in StatsD.
  void Gauge(std::string_view name, double value, std::initializer_list<Tag> tags = {}) {
    if (name.empty() || !std::isfinite(value)) return CountInvalid();
    std::string& line = detail::Scratch();
    bool truncated = false;
    if (value < 0) {
      truncated = wire::AppendStatsdLine(line, name, 0, "g", tags);
      line += '\n';
    }
    truncated |= wire::AppendStatsdLine(line, name, value, "g", tags);
    Enqueue(line, truncated);
  }
  void Timing(std::string_view name, double milliseconds, std::initializer_list<Tag> tags = {}) {
    if (name.empty() || !std::isfinite(milliseconds) || milliseconds < 0) return CountInvalid();
    Statsd(name, milliseconds, "ms", tags);
  }
  // The seed's alerting_system.update_metric: a gauge the alert rules can watch.
  void UpdateMetric(std::string_view name, double value) { Gauge(name, value); }

  // --- JSON events (DESIGN.md, "JSON events"). Durations in milliseconds; NaN, infinite or
  // negative quantities drop the event (dropped_invalid_value). Empty optional ids are left out.
  void RecordApiRequest(std::string_view endpoint, std::string_view method, int status,
                        double duration_ms, std::string_view user_id = {}) {
    if (!ValidDuration(duration_ms) || status < 100 || status > 599) return CountInvalid();
    Event("api", [&](wire::JsonLine& e) {
      e.Text("endpoint", endpoint).Text("method", method).Number("status", status);
      e.Number("duration_ms", duration_ms);
      if (!user_id.empty()) e.Text("user_id", user_id);
    });
  }
  void RecordDbQuery(std::string_view query, double duration_ms, std::optional<double> rows = {}) {
    if (!ValidDuration(duration_ms) || (rows && !ValidDuration(*rows))) return CountInvalid();
    Event("db", [&](wire::JsonLine& e) {
      e.Text("query", query).Number("duration_ms", duration_ms);
      if (rows) e.Number("rows", *rows);
    });
  }
  void RecordScore(std::string_view name, double duration_ms, std::optional<double> input_size,
                   bool cached, std::string_view user_id = {}) {
    if (!ValidDuration(duration_ms) || (input_size && !ValidDuration(*input_size))) {
      return CountInvalid();
    }
    Event("score", [&](wire::JsonLine& e) {
      e.Text("name", name).Number("duration_ms", duration_ms).Flag("cached", cached);
      if (input_size) e.Number("input_size", *input_size);
      if (!user_id.empty()) e.Text("user_id", user_id);
    });
  }
  void TrackUserEngagement(std::string_view user_id, std::string_view action,
                           std::string_view session_id = {},
                           std::optional<double> usage_time = {}) {
    if (usage_time && !ValidDuration(*usage_time)) return CountInvalid();
    Event("engagement", [&](wire::JsonLine& e) {
      e.Text("user_id", user_id).Text("action", action);
      if (!session_id.empty()) e.Text("session_id", session_id);
      if (usage_time) e.Number("usage_time", *usage_time);
    });
  }
  void TrackFeatureUsage(std::string_view user_id, std::string_view feature,
                         std::optional<double> usage_time = {}) {
    if (usage_time && !ValidDuration(*usage_time)) return CountInvalid();
    Event("feature", [&](wire::JsonLine& e) {
      e.Text("user_id", user_id).Text("feature", feature);
      if (usage_time) e.Number("usage_time", *usage_time);
    });
  }
  void TrackUserFeedback(std::string_view user_id, std::string_view kind, double rating,
                         std::string_view comment = {}) {
    if (!std::isfinite(rating)) return CountInvalid();
    Event("feedback", [&](wire::JsonLine& e) {
      e.Text("user_id", user_id).Text("kind", kind).Number("rating", rating);
      if (!comment.empty()) e.Text("comment", comment);
    });
  }
  void TrackUserMetric(std::string_view user_id, std::string_view metric, double value) {
    if (!std::isfinite(value)) return CountInvalid();
    Event("user_metric", [&](wire::JsonLine& e) {
      e.Text("user_id", user_id).Text("metric", metric).Number("value", value);
    });
  }
  void TrackUserInteraction(std::string_view user_id, std::string_view event_type,
                            std::string_view element_id, std::string_view page_url,
                            std::string_view session_id = {}) {
    Event("interaction", [&](wire::JsonLine& e) {
      e.Text("user_id", user_id).Text("event_type", event_type).Text("element_id", element_id);
      e.Text("page_url", page_url);
      if (!session_id.empty()) e.Text("session_id", session_id);
    });
  }
  // Experiments: see mingus/experiments.h for the assignment.
  void TrackExposure(std::string_view experiment, std::string_view variant,
                     std::string_view user_id) {
    Experiment(experiment, variant, user_id, "exposure");
  }
  void TrackConversion(std::string_view experiment, std::string_view variant,
                       std::string_view user_id) {
    Experiment(experiment, variant, user_id, "conversion");
  }
  void TrackCache(std::string_view cache, std::string_view result) {
    Event("cache", [&](wire::JsonLine& e) { e.Text("cache", cache).Text("result", result); });
  }

  // A line formatted beforehand (e.g. by wire::JsonLine, once, for a line sent often), without
  // its '\n'.
  void SendLine(std::string_view line) { Enqueue(line, false); }

  // Sends everything queued so far from the calling thread (the flush thread does this every
  // flush_interval). Blocks only behind a flush in progress.
  void Flush() {
    std::lock_guard lock(flush_mutex_);
    queue_.Take(batch_, ends_);
    wire::PackDatagrams(batch_, ends_, kMaxDatagramBytes,
                        [&](std::string_view datagram, size_t lines) {
                          switch (sender_->Send(datagram)) {
                            case SendStatus::kSent:
                              sent_lines_.fetch_add(lines, std::memory_order_relaxed);
                              sent_datagrams_.fetch_add(1, std::memory_order_relaxed);
                              break;
                            case SendStatus::kUnresolved:
                              dropped_unresolved_.fetch_add(lines, std::memory_order_relaxed);
                              break;
                            case SendStatus::kFailed:
                              dropped_send_failed_.fetch_add(lines, std::memory_order_relaxed);
                              break;
                          }
                        });
  }

  ClientStats Stats() const {
    const auto get = [](const std::atomic<uint64_t>& n) {
      return n.load(std::memory_order_relaxed);
    };
    return {.sent_lines = get(sent_lines_),
            .sent_datagrams = get(sent_datagrams_),
            .dropped_queue_full = get(dropped_queue_full_),
            .dropped_unresolved = get(dropped_unresolved_),
            .dropped_send_failed = get(dropped_send_failed_),
            .dropped_oversized = get(dropped_oversized_),
            .dropped_invalid_value = get(dropped_invalid_value_),
            .truncated_lines = get(truncated_lines_)};
  }

 private:
  // Enough queued to fill many datagrams: worth waking the flusher before its interval ends.
  static constexpr size_t kWakeBytes = 32 * 1024;

  static bool ValidDuration(double value) { return std::isfinite(value) && value >= 0; }
  void CountInvalid() { dropped_invalid_value_.fetch_add(1, std::memory_order_relaxed); }

  void Statsd(std::string_view name, double value, std::string_view type,
              std::initializer_list<Tag> tags) {
    std::string& line = detail::Scratch();
    const bool truncated = wire::AppendStatsdLine(line, name, value, type, tags);
    Enqueue(line, truncated);
  }
  template <typename Fill>
  void Event(std::string_view type, Fill&& fill) {
    std::string& line = detail::Scratch();
    wire::JsonLine event(line, type);
    fill(event);
    event.Finish();
    Enqueue(line, event.truncated());
  }
  void Experiment(std::string_view experiment, std::string_view variant, std::string_view user_id,
                  std::string_view what) {
    Event("experiment", [&](wire::JsonLine& e) {
      e.Text("experiment", experiment).Text("variant", variant).Text("user_id", user_id);
      e.Text("event", what);
    });
  }

  void Enqueue(std::string_view record, bool truncated) {
    // A record must fit one datagram with its '\n'.
    if (record.size() + 1 >= kMaxDatagramBytes) {
      dropped_oversized_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    bool crossed = false;
    if (!queue_.Push(record, kWakeBytes, crossed)) {
      dropped_queue_full_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (truncated) truncated_lines_.fetch_add(1, std::memory_order_relaxed);
    if (crossed) {
      {
        std::lock_guard lock(wake_mutex_);
        wake_requested_ = true;
      }
      wake_.notify_one();
    }
  }

  void FlushLoop() {
    std::unique_lock lock(wake_mutex_);
    while (!stopping_) {
      wake_.wait_for(lock, options_.flush_interval, [&] { return stopping_ || wake_requested_; });
      wake_requested_ = false;
      lock.unlock();
      Flush();
      lock.lock();
    }
  }

  const ClientOptions options_;
  const std::unique_ptr<Sender> sender_;
  const Clock& clock_;
  detail::RecordQueue queue_;

  std::mutex flush_mutex_;  // one Flush at a time: the sender and these buffers are its own
  std::string batch_;
  std::vector<uint32_t> ends_;

  std::mutex wake_mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool wake_requested_ = false;
  std::thread flusher_;

  std::atomic<uint64_t> sent_lines_{0}, sent_datagrams_{0}, dropped_queue_full_{0},
      dropped_unresolved_{0}, dropped_send_failed_{0}, dropped_oversized_{0},
      dropped_invalid_value_{0}, truncated_lines_{0};
};

// The process's client, configured from MINGUS_AGENT_ADDR on first use.
inline Client& DefaultClient() {
  static Client client;
  return client;
}

// RAII timers: each sends its event when it goes out of scope, timed by the client's clock.
class ApiTimer {
 public:
  ApiTimer(Client& client, std::string_view endpoint, std::string_view method,
           std::string_view user_id = {})
      : client_(client),
        endpoint_(endpoint),
        method_(method),
        user_id_(user_id),
        start_(client.clock().Now()) {}
  ~ApiTimer() { client_.RecordApiRequest(endpoint_, method_, status_, ElapsedMs(), user_id_); }
  ApiTimer(const ApiTimer&) = delete;
  ApiTimer& operator=(const ApiTimer&) = delete;

  void SetStatus(int status) { status_ = status; }

 private:
  double ElapsedMs() const {
    return std::chrono::duration<double, std::milli>(client_.clock().Now() - start_).count();
  }
  Client& client_;
  const std::string endpoint_, method_, user_id_;
  const std::chrono::steady_clock::time_point start_;
  int status_ = 200;
};

class DbTimer {
 public:
  DbTimer(Client& client, std::string_view query, std::optional<double> rows = {})
      : client_(client), query_(query), rows_(rows), start_(client.clock().Now()) {}
  ~DbTimer() {
    client_.RecordDbQuery(
        query_, std::chrono::duration<double, std::milli>(client_.clock().Now() - start_).count(),
        rows_);
  }
  DbTimer(const DbTimer&) = delete;
  DbTimer& operator=(const DbTimer&) = delete;

  void SetRows(double rows) { rows_ = rows; }

 private:
  Client& client_;
  const std::string query_;
  std::optional<double> rows_;
  const std::chrono::steady_clock::time_point start_;
};

class ScoreTimer {
 public:
  ScoreTimer(Client& client, std::string_view name, std::optional<double> input_size = {},
             std::string_view user_id = {})
      : client_(client),
        name_(name),
        user_id_(user_id),
        input_size_(input_size),
        start_(client.clock().Now()) {}
  ~ScoreTimer() {
    client_.RecordScore(
        name_, std::chrono::duration<double, std::milli>(client_.clock().Now() - start_).count(),
        input_size_, cached_, user_id_);
  }
  ScoreTimer(const ScoreTimer&) = delete;
  ScoreTimer& operator=(const ScoreTimer&) = delete;

  void SetCached(bool cached) { cached_ = cached; }

 private:
  Client& client_;
  const std::string name_, user_id_;
  const std::optional<double> input_size_;
  const std::chrono::steady_clock::time_point start_;
  bool cached_ = false;
};

}  // namespace mingus::client
