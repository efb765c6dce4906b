#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "mingus/client/clock.h"
#include "mingus/client/udp_sender.h"

namespace mingus::client::testing {

class FakeClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point Now() const override {
    std::lock_guard lock(mutex_);
    return now_;
  }
  void Advance(std::chrono::steady_clock::duration by) {
    std::lock_guard lock(mutex_);
    now_ += by;
  }

 private:
  mutable std::mutex mutex_;
  std::chrono::steady_clock::time_point now_{std::chrono::hours(1)};
};

// Keeps every datagram; answers `status` (kSent unless a test changes it).
class RecordingSender final : public Sender {
 public:
  SendStatus Send(std::string_view datagram) override {
    {
      std::lock_guard lock(mutex_);
      datagrams.emplace_back(datagram);
    }
    sent_.notify_all();
    return status;
  }
  // True once a datagram arrived (from another thread), false after a generous timeout.
  bool WaitForDatagram() {
    std::unique_lock lock(mutex_);
    return sent_.wait_for(lock, std::chrono::seconds(30), [&] { return !datagrams.empty(); });
  }
  // Every line of every datagram, in order.
  std::vector<std::string> Lines() const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> lines;
    for (std::string_view d : datagrams) {
      while (!d.empty()) {
        const auto end = d.find('\n');
        lines.emplace_back(d.substr(0, end));
        d.remove_prefix(end == std::string_view::npos ? d.size() : end + 1);
      }
    }
    return lines;
  }

  std::vector<std::string> datagrams;
  SendStatus status = SendStatus::kSent;

 private:
  mutable std::mutex mutex_;
  std::condition_variable sent_;
};

// Hands every datagram to a RecordingSender the test owns, to read after the client is gone.
class ForwardingSender final : public Sender {
 public:
  explicit ForwardingSender(RecordingSender& target) : target_(target) {}
  SendStatus Send(std::string_view datagram) override { return target_.Send(datagram); }

 private:
  RecordingSender& target_;
};

}  // namespace mingus::client::testing
