// mingus-collector: scrapes agents, stores their series and answers PromQL.
#include <cstdio>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "mingus/collector/collector.h"
#include "mingus/config/daemon.h"
#include "mingus/config/yaml_reader.h"
#include "mingus/logging/logging.h"
#include "mingus/version.h"

int main(int argc, char** argv) {
  using namespace mingus;
  collector::CollectorFlags flag_values;
  config::FlagSet flags(
      "mingus-collector",
      "Mingus Monitor collector: scrapes agents, stores series and answers PromQL.");
  flag_values.Register(flags);
  if (const auto exit_status = config::HandleCommandLine(flags, "mingus-collector", argc, argv)) return *exit_status;

  collector::CollectorConfig config;
  try {
    config = collector::LoadCollectorConfig(flag_values);
  } catch (const config::ConfigError& e) {
    fmt::print(stderr, "mingus-collector: bad configuration: {}\n", e.what());
    return config::kExitBadUsage;
  }
  logging::Setup("mingus-collector", *logging::ParseLevel(config.log.level),
                 *logging::ParseFormat(config.log.format));

  config::BlockDaemonSignals();
  const SystemClock clock;
  collector::Collector collector(config, clock);
  const auto address = collector.Start();
  if (!address.ok()) {
    spdlog::error("cannot start: {}", address.message());
    return 1;
  }
  spdlog::info("mingus-collector {} listening on http://{}", kVersion, *address);

  config::WaitForShutdown([&] { collector.Reload(collector::LoadCollectorConfig(flag_values)); },
                          [&] { collector.RecordFailedReload(); });
  collector.Stop();
  spdlog::info("stopped");
  return 0;
}
