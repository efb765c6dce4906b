#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "mingus/collector/notify/notification.h"
#include "mingus/collector/notify/notify_store.h"
#include "mingus/common/clock.h"

namespace mingus::collector::notify {

struct SendResult {
  bool ok = false;
  bool retryable = true;  // network errors, timeouts, 5xx, SMTP 4xx; not 4xx or SMTP 5xx
  std::string error;      // never holds a secret
};

// Sends one notification through one integration ("webhook[0]") of a receiver. Implementations
// must be thread-safe: receivers are served on their own threads.
class Sender {
 public:
  virtual ~Sender() = default;
  virtual SendResult Send(const std::string& integration, const Notification& notification) = 0;
};

struct DeliveryOptions {
  int64_t first_retry_ms = 1'000;  // doubled at each retry, with +-20% jitter
  int64_t max_retry_ms = 60'000;
};

// Delivers the outbox: every notification is sent on its receiver's own thread (a receiver that
// hangs holds up no other), retried with exponential backoff and jitter until its deadline, and
// leaves the outbox only once delivered or given up. A notification still in the outbox after a
// crash is delivered after the restart.
class Deliverer {
 public:
  // `gave_up` hears the log key of each notification given up on (the dispatcher forgets it).
  Deliverer(NotifyStore& store, Sender& sender, const Clock& clock, prometheus::Registry& registry,
            DeliveryOptions options = {},
            std::function<void(const std::string&)> gave_up = nullptr);
  ~Deliverer();

  void Start();
  void Stop();
  // New notifications are in the outbox.
  void Wake();
  // Sends what is due now on the calling thread, one receiver after another (tests).
  void DeliverDueNow();
  size_t queued() const;

 private:
  struct Worker;
  void Schedule();
  void RunWorker(Worker& worker);
  // One attempt; updates the store and metrics. Returns false when it should be retried.
  void Attempt(OutboxEntry entry);
  int64_t Backoff(int64_t attempts);
  // Sets queued_ and the per-receiver gauges from an outbox read; mutex_ held.
  void CountQueued(const std::vector<OutboxEntry>& outbox);

  NotifyStore& store_;
  Sender& sender_;
  const Clock& clock_;
  DeliveryOptions options_;
  std::function<void(const std::string&)> gave_up_;
  prometheus::Family<prometheus::Counter>& sent_;
  prometheus::Family<prometheus::Counter>& failed_;
  prometheus::Family<prometheus::Counter>& retried_;
  prometheus::Family<prometheus::Gauge>& queue_length_;
  prometheus::Family<prometheus::Histogram>& latency_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool woken_ = false;
  std::set<int64_t> in_flight_;                             // outbox ids being sent
  std::map<std::string, std::unique_ptr<Worker>> workers_;  // by receiver
  std::thread scheduler_;
  size_t queued_ = 0;
  std::map<std::string, size_t> queued_by_receiver_;
};

}  // namespace mingus::collector::notify
