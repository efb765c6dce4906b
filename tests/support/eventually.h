#pragma once

#include <chrono>
#include <thread>

namespace mingus::testing {

// Waits for a condition that another thread makes true (a server's counter, a closed
// connection), polling until `timeout`; returns its last value.
template <typename Predicate>
bool Eventually(Predicate predicate,
                std::chrono::milliseconds timeout = std::chrono::milliseconds(10000)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return predicate();
}

}  // namespace mingus::testing
