#include "mingus/collector/notify/deliverer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <random>

namespace mingus::collector::notify {

struct Deliverer::Worker {
  std::deque<OutboxEntry> queue;
  std::condition_variable wake;
  std::thread thread;
};

Deliverer::Deliverer(NotifyStore& store, Sender& sender, const Clock& clock,
                     prometheus::Registry& registry, DeliveryOptions options,
                     std::function<void(const std::string&)> gave_up)
    : store_(store),
      sender_(sender),
      clock_(clock),
      options_(options),
      gave_up_(std::move(gave_up)),
      sent_(prometheus::BuildCounter()
                .Name("mingus_collector_notifications_sent_total")
                .Help("Notifications delivered, by receiver and integration.")
                .Register(registry)),
      failed_(
          prometheus::BuildCounter()
              .Name("mingus_collector_notifications_failed_total")
              .Help("Notifications given up on (a permanent error, or retries past the deadline).")
              .Register(registry)),
      retried_(prometheus::BuildCounter()
                   .Name("mingus_collector_notifications_retried_total")
                   .Help("Delivery attempts that failed and were scheduled again.")
                   .Register(registry)),
      queue_length_(prometheus::BuildGauge()
                        .Name("mingus_collector_notifications_queued")
                        .Help("Notifications in the outbox, not yet delivered, by receiver.")
                        .Register(registry)),
      latency_(prometheus::BuildHistogram()
                   .Name("mingus_collector_notification_latency_seconds")
                   .Help("From a notification's acceptance into the outbox to its delivery.")
                   .Register(registry)) {}

Deliverer::~Deliverer() { Stop(); }

void Deliverer::Start() {
  std::lock_guard lock(mutex_);
  if (scheduler_.joinable()) return;
  stopping_ = false;
  scheduler_ = std::thread([this] { Schedule(); });
}

void Deliverer::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (auto& [receiver, worker] : workers_) worker->wake.notify_all();
  }
  wake_.notify_all();
  if (scheduler_.joinable()) scheduler_.join();
  std::map<std::string, std::unique_ptr<Worker>> workers;
  {
    std::lock_guard lock(mutex_);
    workers.swap(workers_);
  }
  for (auto& [receiver, worker] : workers) {
    if (worker->thread.joinable()) worker->thread.join();
  }
}

void Deliverer::Wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  wake_.notify_all();
}

size_t Deliverer::queued() const {
  std::lock_guard lock(mutex_);
  return queued_;
}

int64_t Deliverer::Backoff(int64_t attempts) {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  const int64_t base = std::min(options_.max_retry_ms,
                                options_.first_retry_ms << std::min<int64_t>(attempts - 1, 20));
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  return static_cast<int64_t>(static_cast<double>(base) * jitter(random));
}

void Deliverer::Attempt(OutboxEntry entry) {
  const prometheus::Labels labels{{"receiver", entry.receiver}, {"integration", entry.integration}};
  const auto notification = NotificationFromJson(entry.notification);
  SendResult result;
  if (notification.ok()) {
    result = sender_.Send(entry.integration, *notification);
  } else {
    result = {false, false, notification.message()};
  }
  const int64_t now = UnixMillis(clock_);
  Status stored;
  if (result.ok) {
    stored = store_.Delivered(entry.id);
    sent_.Add(labels).Increment();
    latency_
        .Add(labels,
             prometheus::Histogram::BucketBoundaries{0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60, 300})
        .Observe(static_cast<double>(now - entry.created_ms) / 1000);
  } else {
    const int64_t attempts = entry.attempts + 1;
    const int64_t next = now + Backoff(attempts);
    if (result.retryable && next < entry.deadline_ms) {
      if (attempts == 1 || entry.last_error != result.error) {
        spdlog::warn("receiver {} ({}): delivery failed, retrying: {}", entry.receiver,
                     entry.integration, result.error);
      }
      stored = store_.Retry(entry.id, attempts, next, result.error);
      retried_.Add(labels).Increment();
    } else {
      spdlog::error("receiver {} ({}): giving up on a notification for {} after {} attempts: {}",
                    entry.receiver, entry.integration,
                    notification.ok() ? notification->group_key : "?", attempts, result.error);
      stored = store_.GiveUp(entry);
      failed_.Add(labels).Increment();
      if (gave_up_) gave_up_(entry.log_key);
    }
  }
  if (!stored.ok())
    spdlog::error("receiver {}: updating the outbox: {}", entry.receiver, stored.message());
}

void Deliverer::DeliverDueNow() {
  auto outbox = store_.Outbox();
  if (!outbox.ok()) return;
  const int64_t now = UnixMillis(clock_);
  for (auto& entry : *outbox) {
    if (entry.next_attempt_ms <= now) Attempt(std::move(entry));
  }
  auto left = store_.Outbox();
  std::lock_guard lock(mutex_);
  CountQueued(left.ok() ? *left : std::vector<OutboxEntry>{});
}

void Deliverer::CountQueued(const std::vector<OutboxEntry>& outbox) {
  queued_ = outbox.size();
  std::map<std::string, size_t> by_receiver;
  for (const auto& entry : outbox) ++by_receiver[entry.receiver];
  // A receiver whose queue emptied reads 0 rather than vanishing.
  for (auto& entry : queued_by_receiver_) entry.second = 0;
  for (const auto& [receiver, count] : by_receiver) queued_by_receiver_[receiver] = count;
  for (const auto& [receiver, count] : queued_by_receiver_) {
    queue_length_.Add({{"receiver", receiver}}).Set(static_cast<double>(count));
  }
}

void Deliverer::RunWorker(Worker& worker) {
  std::unique_lock lock(mutex_);
  for (;;) {
    worker.wake.wait(lock, [&] { return stopping_ || !worker.queue.empty(); });
    if (stopping_) return;
    OutboxEntry entry = std::move(worker.queue.front());
    worker.queue.pop_front();
    const int64_t id = entry.id;
    lock.unlock();
    Attempt(std::move(entry));
    lock.lock();
    in_flight_.erase(id);
    woken_ = true;
    wake_.notify_all();
  }
}

void Deliverer::Schedule() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    woken_ = false;
    // Read under the lock: a worker that finishes between a read and the in_flight_ check below
    // would otherwise leave a stale entry that is sent again.
    auto outbox = store_.Outbox();
    const int64_t now = UnixMillis(clock_);
    int64_t next = now + 60'000;
    if (outbox.ok()) {
      CountQueued(*outbox);
      for (auto& entry : *outbox) {
        if (in_flight_.contains(entry.id)) continue;
        if (entry.next_attempt_ms > now) {
          next = std::min(next, entry.next_attempt_ms);
          continue;
        }
        auto& worker = workers_[entry.receiver];
        if (!worker) {
          worker = std::make_unique<Worker>();
          Worker* raw = worker.get();
          worker->thread = std::thread([this, raw] { RunWorker(*raw); });
        }
        in_flight_.insert(entry.id);
        worker->queue.push_back(std::move(entry));
        worker->wake.notify_one();
      }
    } else {
      spdlog::error("reading the notification outbox: {}", outbox.message());
      next = now + 5'000;
    }
    wake_.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(next - now, 10)),
                   [this] { return stopping_ || woken_; });
  }
}

}  // namespace mingus::collector::notify
