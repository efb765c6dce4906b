// cpp_sdk_client: a small application of the C++ SDK for the integration test
// (tests/integration/cpp_sdk_test.py). Sends a fixed set of calls to the agent named by
// MINGUS_AGENT_ADDR, flushes, and prints the client's counters as one JSON object on stdout.
// The set includes one call with a NaN timing (dropped) and one with a 100 000-byte comment
// (truncated).
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "mingus/cache_manager.h"
#include "mingus/client.h"
#include "mingus/experiments.h"
#include "mingus/score_optimizer.h"

namespace mc = mingus::client;

int main() {
  mc::Client client;
  {
    mc::CacheManager<std::string> profiles({.name = "profiles"}, mc::DefaultClock(), &client);
    mc::ScoreOptimizer<double> scores(client);
    const mc::Experiment experiment(client, "checkout_cta", {{"A", 1}, {"B", 1}});

    for (int status : {200, 200, 200, 503}) {
      mc::ApiTimer timer(client, "/api/profile", "GET", "u1");
      timer.SetStatus(status);
    }
    {
      mc::DbTimer timer(client, "SELECT * FROM users WHERE id = 42");
      timer.SetRows(1);
    }
    const std::vector<double> answers = {1, 2, 3};
    for (int i = 0; i < 2; ++i) {
      scores.Calculate("credit", answers, [](const std::vector<double>& a) { return a[0] + a[1]; });
    }
    for (int i = 0; i < 2; ++i) {
      profiles.GetOrCompute("user:1", [] { return std::string("profile"); });
    }
    client.TrackUserEngagement("u2", "login", "s1", 30);
    client.TrackFeatureUsage("u1", "budget", 20);
    client.TrackFeatureUsage("u2", "budget");
    client.TrackUserFeedback("u2", "nps", 9, std::string(100'000, 'x'));
    client.TrackUserMetric("u1", "savings", 125.5);
    client.TrackUserInteraction("u1", "click", "signup", "/pricing", "s1");
    experiment.Expose("u1");
    experiment.Convert("u1");
    client.Count("orders.placed", 2, {{"shop", "paris"}});
    client.UpdateMetric("queue.depth", 7);
    client.UpdateMetric("balance", -3.5);
    client.RecordApiRequest("/api/profile", "GET", 200, std::nan(""));
  }
  client.Flush();
  const mc::ClientStats s = client.Stats();
  std::printf(
      "{\"sent_lines\":%llu,\"sent_datagrams\":%llu,\"dropped_queue_full\":%llu,"
      "\"dropped_unresolved\":%llu,\"dropped_send_failed\":%llu,\"dropped_oversized\":%llu,"
      "\"dropped_invalid_value\":%llu,\"truncated_lines\":%llu}\n",
      static_cast<unsigned long long>(s.sent_lines),
      static_cast<unsigned long long>(s.sent_datagrams),
      static_cast<unsigned long long>(s.dropped_queue_full),
      static_cast<unsigned long long>(s.dropped_unresolved),
      static_cast<unsigned long long>(s.dropped_send_failed),
      static_cast<unsigned long long>(s.dropped_oversized),
      static_cast<unsigned long long>(s.dropped_invalid_value),
      static_cast<unsigned long long>(s.truncated_lines));
}
