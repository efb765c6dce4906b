// mingus-collector: scrapes agents, stores their series and answers PromQL.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>

#include "mingus/collector/collector.h"
#include "mingus/config/yaml_reader.h"
#include "mingus/logging/logging.h"
#include "mingus/version.h"

namespace {

constexpr int kExitBadUsage = 2;

}  // namespace

int main(int argc, char** argv) {
  using namespace mingus;
  collector::CollectorFlags flag_values;
  config::FlagSet flags(
      "mingus-collector",
      "Mingus Monitor collector: scrapes agents, stores series and answers PromQL.");
  flag_values.Register(flags);
  const auto outcome = flags.Parse(argc, argv, nullptr);
  if (!outcome.ok()) {
    fmt::print(stderr, "mingus-collector: {}; try --help\n", outcome.message());
    return kExitBadUsage;
  }
  if (*outcome == config::FlagSet::Outcome::kHelp) {
    fmt::print("{}", flags.Usage());
    return 0;
  }
  if (*outcome == config::FlagSet::Outcome::kVersion) {
    fmt::print("mingus-collector, version {} (revision: {})\n", kVersion, kRevision);
    return 0;
  }

  collector::CollectorConfig config;
  try {
    config = collector::LoadCollectorConfig(flag_values);
  } catch (const config::ConfigError& e) {
    fmt::print(stderr, "mingus-collector: bad configuration: {}\n", e.what());
    return kExitBadUsage;
  }
  logging::Setup("mingus-collector", *logging::ParseLevel(config.log.level),
                 *logging::ParseFormat(config.log.format));

  // Signals are taken synchronously by this thread; every other thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  for (int signal : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&signals, signal);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  const SystemClock clock;
  collector::Collector collector(config, clock);
  const auto address = collector.Start();
  if (!address.ok()) {
    spdlog::error("cannot start: {}", address.message());
    return 1;
  }
  spdlog::info("mingus-collector {} listening on http://{}", kVersion, *address);

  for (;;) {
    int signal = 0;
    if (sigwait(&signals, &signal) != 0) continue;
    if (signal != SIGHUP) {
      spdlog::info("received {}, shutting down", signal == SIGINT ? "SIGINT" : "SIGTERM");
      break;
    }
    try {
      collector.Reload(collector::LoadCollectorConfig(flag_values));
      spdlog::info("configuration reloaded");
    } catch (const config::ConfigError& e) {
      collector.RecordFailedReload();
      spdlog::error("reload refused, keeping the running configuration: {}", e.what());
    }
  }
  collector.Stop();
  spdlog::info("stopped");
  return 0;
}
