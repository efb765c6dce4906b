// A small application using the SDK: run an agent, then MINGUS_AGENT_ADDR=127.0.0.1:8125 this.
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "mingus/cache_manager.h"
#include "mingus/client.h"
#include "mingus/experiments.h"
#include "mingus/score_optimizer.h"

namespace mc = mingus::client;

namespace {

std::string LoadProfile(mc::Client& client, int user) {
  mc::DbTimer timer(client, "SELECT * FROM profiles WHERE user_id = ?", 1);
  return "profile of user " + std::to_string(user);
}

double CreditScore(const std::vector<double>& answers) {
  if (answers.empty()) throw std::invalid_argument("no answers");
  double sum = 0;
  for (const double a : answers) sum += a;
  return sum / static_cast<double>(answers.size());
}

}  // namespace

int main() {
  mc::Client client;  // MINGUS_AGENT_ADDR, default 127.0.0.1:8125
  mc::CacheManager<std::string> profiles({.name = "profiles", .max_size = 100}, mc::DefaultClock(),
                                         &client);
  auto cached_profile =
      mc::CachedFunction(profiles, "profile:", [&](int user) { return LoadProfile(client, user); });
  mc::Experiment checkout(client, "checkout_cta", {{"A", 1}, {"B", 1}});
  mc::ScoreOptimizer<double> scores(client);

  for (int user = 1; user <= 5; ++user) {
    const std::string id = std::to_string(user);
    mc::ApiTimer request(client, "/api/profile/" + id, "GET", id);
    const std::string profile = cached_profile(user % 3);  // repeats hit the cache
    client.TrackFeatureUsage(id, "profile", 2.5);
    if (checkout.Expose(id) == "B") checkout.Convert(id);
    std::printf("%s\n", profile.c_str());
  }
  const std::vector<std::vector<double>> answers = {{1, 2, 3}, {}, {4, 5}};
  const auto results = scores.ParallelBatch("credit", answers, CreditScore);
  for (const auto& item : results) {
    std::printf("%s\n", item.value ? std::to_string(*item.value).c_str() : item.error.c_str());
  }
  client.UpdateMetric("example.queue_depth", 3);
  client.Flush();
  const mc::ClientStats stats = client.Stats();
  std::printf("sent %llu lines in %llu datagrams, dropped %llu\n",
              static_cast<unsigned long long>(stats.sent_lines),
              static_cast<unsigned long long>(stats.sent_datagrams),
              static_cast<unsigned long long>(stats.dropped_send_failed + stats.dropped_unresolved +
                                              stats.dropped_queue_full));
}
