// The C++ SDK's cost in the application's thread: a timer, an event and a cache hit, with the
// agent up (a loopback UDP socket drained by a thread) and down (a closed port), beside a plain
// StatsD client doing the same work (read the clock twice, format a timer line, sendto).
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "mingus/cache_manager.h"
#include "mingus/client.h"

namespace {

namespace mc = mingus::client;

// A UDP port on 127.0.0.1: with a thread reading everything sent to it ("agent up"), or bound
// and closed again so that nobody listens ("agent down").
class Agent {
 public:
  explicit Agent(bool up) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in address{.sin_family = AF_INET, .sin_port = 0, .sin_addr = {htonl(INADDR_LOOPBACK)}};
    ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    socklen_t length = sizeof address;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    address_ = address;
    if (!up) {
      ::close(fd_);
      fd_ = -1;
      return;
    }
    timeval timeout{.tv_sec = 0, .tv_usec = 100'000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    drain_ = std::thread([this] {
      char buffer[65536];
      while (!stop_.load()) (void)::recv(fd_, buffer, sizeof buffer, 0);
    });
  }
  ~Agent() {
    stop_.store(true);
    if (drain_.joinable()) drain_.join();
    if (fd_ >= 0) ::close(fd_);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(ntohs(address_.sin_port)); }
  const sockaddr_in& socket_address() const { return address_; }

 private:
  int fd_ = -1;
  sockaddr_in address_{};
  std::atomic<bool> stop_{false};
  std::thread drain_;
};

void ReportDrops(benchmark::State& state, const mc::Client& client) {
  const mc::ClientStats stats = client.Stats();
  const double lines = static_cast<double>(state.iterations());
  state.counters["queue_full"] = static_cast<double>(stats.dropped_queue_full) / lines;
  state.counters["send_failed"] = static_cast<double>(stats.dropped_send_failed) / lines;
}

void BM_ApiTimer(benchmark::State& state) {
  Agent agent(state.range(0) != 0);
  mc::Client client({.address = agent.address()});
  for (auto _ : state) {
    mc::ApiTimer timer(client, "/api/profile", "GET", "u1");
  }
  client.Flush();
  ReportDrops(state, client);
}
BENCHMARK(BM_ApiTimer)->ArgName("agent_up")->Arg(1)->Arg(0);

void BM_Event(benchmark::State& state) {
  Agent agent(state.range(0) != 0);
  mc::Client client({.address = agent.address()});
  for (auto _ : state) client.TrackFeatureUsage("u1", "budget", 2.5);
  client.Flush();
  ReportDrops(state, client);
}
BENCHMARK(BM_Event)->ArgName("agent_up")->Arg(1)->Arg(0);

void BM_CacheHit(benchmark::State& state) {
  Agent agent(state.range(0) != 0);
  mc::Client client({.address = agent.address()});
  mc::CacheManager<std::string> cache({.name = "profiles"}, mc::DefaultClock(), &client);
  cache.Set("user:1", "profile of user 1");
  for (auto _ : state) benchmark::DoNotOptimize(cache.Get("user:1"));
  client.Flush();
  ReportDrops(state, client);
}
BENCHMARK(BM_CacheHit)->ArgName("agent_up")->Arg(1)->Arg(0);

// The flush thread's side: packing and sending 10 000 queued api events, per line (one
// send per datagram of about 13 lines).
void BM_FlushPerLine(benchmark::State& state) {
  Agent agent(state.range(0) != 0);
  mc::Client client({.address = agent.address(), .background_flush = false});
  constexpr int kLines = 10'000;
  for (auto _ : state) {
    state.PauseTiming();
    for (int i = 0; i < kLines; ++i) client.RecordApiRequest("/api/profile", "GET", 200, 1.5, "u1");
    state.ResumeTiming();
    client.Flush();
  }
  state.counters["ns_per_line"] =
      benchmark::Counter(static_cast<double>(state.iterations() * kLines),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_FlushPerLine)->ArgName("agent_up")->Arg(1)->Arg(0);

// What a minimal StatsD client does for a timer: time, format one line, one sendto.
void BM_PlainStatsdTimer(benchmark::State& state) {
  Agent agent(state.range(0) != 0);
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  const sockaddr_in to = agent.socket_address();
  char line[128];
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    const int n = std::snprintf(line, sizeof line, "api.profile.GET.200:%.3f|ms|#user:u1\n", ms);
    benchmark::DoNotOptimize(
        ::sendto(fd, line, n, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to));
  }
  ::close(fd);
}
BENCHMARK(BM_PlainStatsdTimer)->ArgName("agent_up")->Arg(1)->Arg(0);

}  // namespace

BENCHMARK_MAIN();
