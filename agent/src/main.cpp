// mingus-agent: host metrics and application events for one app instance, on /metrics.
#include <cstdio>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "mingus/agent/agent.h"
#include "mingus/config/daemon.h"
#include "mingus/config/yaml_reader.h"
#include "mingus/logging/logging.h"
#include "mingus/version.h"

namespace {

void SetupLogging(const mingus::agent::AgentConfig& config) {
  mingus::logging::Setup("mingus-agent", *mingus::logging::ParseLevel(config.log.level),
                         *mingus::logging::ParseFormat(config.log.format));
}

}  // namespace

int main(int argc, char** argv) {
  using namespace mingus;
  agent::AgentFlags flag_values;
  config::FlagSet flags("mingus-agent",
                        "Mingus Monitor agent: host metrics and application events on /metrics.");
  flag_values.Register(flags);
  if (const auto exit_status = config::HandleCommandLine(flags, "mingus-agent", argc, argv)) return *exit_status;

  const auto environment = config::ProcessEnvironment();
  config::CapMallocArenas(environment);
  agent::AgentConfig config;
  try {
    config = agent::LoadAgentConfig(flag_values, environment);
  } catch (const config::ConfigError& e) {
    fmt::print(stderr, "mingus-agent: bad configuration: {}\n", e.what());
    return config::kExitBadUsage;
  }
  SetupLogging(config);

  config::BlockDaemonSignals();
  const SystemClock clock;
  agent::Agent agent(config, agent::host::MakeRealSystemCalls(), clock);
  const auto addresses = agent.Start();
  if (!addresses.ok()) {
    spdlog::error("cannot start: {}", addresses.message());
    return 1;
  }
  if (!addresses->udp.empty()) spdlog::info("receiving StatsD and JSON events on udp://{}", addresses->udp);
  spdlog::info("mingus-agent {} listening on {}://{}", kVersion,
               config.web.web_config.tls.enabled() ? "https" : "http", addresses->http);

  config::WaitForShutdown([&] { agent.Reload(agent::LoadAgentConfig(flag_values, environment)); },
                          [&] { agent.RecordFailedReload(); });
  agent.Stop();
  spdlog::info("stopped");
  return 0;
}
