// mingus-agent: host metrics and application events for one app instance, on /metrics.
#include <csignal>
#include <cstdio>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "mingus/agent/agent.h"
#include "mingus/config/yaml_reader.h"
#include "mingus/logging/logging.h"
#include "mingus/version.h"

namespace {

constexpr int kExitBadUsage = 2;

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
  const auto outcome = flags.Parse(argc, argv, nullptr);
  if (!outcome.ok()) {
    fmt::print(stderr, "mingus-agent: {}; try --help\n", outcome.message());
    return kExitBadUsage;
  }
  if (*outcome == config::FlagSet::Outcome::kHelp) {
    fmt::print("{}", flags.Usage());
    return 0;
  }
  if (*outcome == config::FlagSet::Outcome::kVersion) {
    fmt::print("mingus-agent, version {} (revision: {})\n", kVersion, kRevision);
    return 0;
  }

  const auto environment = config::ProcessEnvironment();
  agent::AgentConfig config;
  try {
    config = agent::LoadAgentConfig(flag_values, environment);
  } catch (const config::ConfigError& e) {
    fmt::print(stderr, "mingus-agent: bad configuration: {}\n", e.what());
    return kExitBadUsage;
  }
  SetupLogging(config);

  // Signals are taken synchronously by this thread; the server threads inherit the mask.
  sigset_t signals;
  sigemptyset(&signals);
  for (int signal : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&signals, signal);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  const SystemClock clock;
  agent::Agent agent(config, agent::host::MakeRealSystemCalls(), clock);
  const auto addresses = agent.Start();
  if (!addresses.ok()) {
    spdlog::error("cannot start: {}", addresses.message());
    return 1;
  }
  if (!addresses->udp.empty()) spdlog::info("receiving StatsD and JSON events on udp://{}", addresses->udp);
  spdlog::info("mingus-agent {} listening on http://{}", kVersion, addresses->http);

  for (;;) {
    int signal = 0;
    if (sigwait(&signals, &signal) != 0) continue;
    if (signal != SIGHUP) {
      spdlog::info("received {}, shutting down", signal == SIGINT ? "SIGINT" : "SIGTERM");
      break;
    }
    try {
      agent.Reload(agent::LoadAgentConfig(flag_values, environment));
      spdlog::info("configuration reloaded");
    } catch (const config::ConfigError& e) {
      agent.RecordFailedReload();
      spdlog::error("reload refused, keeping the running configuration: {}", e.what());
    }
  }
  agent.Stop();
  spdlog::info("stopped");
  return 0;
}
