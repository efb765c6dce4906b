// mingus-collector: scrapes agents, stores their series and answers PromQL.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>
#include <string_view>

#include "mingus/collector/collector.h"
#include "mingus/collector/db/db_advise_command.h"
#include "mingus/collector/db/fingerprint_command.h"
#include "mingus/collector/report/report_command.h"
#include "mingus/collector/rules/rule_test.h"
#include "mingus/config/daemon.h"
#include "mingus/config/yaml_reader.h"
#include "mingus/logging/logging.h"
#include "mingus/version.h"

namespace {

// `mingus-collector check-rules FILE...` and `test-rules FILE...`, as promtool's, and
// `fingerprint [--query Q | FILE...]`, as pt-fingerprint, and `report KIND`; nullopt when argv
// names no subcommand.
std::optional<int> RunSubcommand(int argc, char** argv, const mingus::Clock& clock) {
  using namespace mingus::collector::rules;
  if (argc < 2) return std::nullopt;
  const std::string_view command = argv[1];
  if (command == "fingerprint") {
    std::ios::sync_with_stdio(false);
    return mingus::collector::db::FingerprintCommand({argv + 2, argv + argc}, std::cin, std::cout,
                                                     std::cerr);
  }
  if (command == "report") {
    return mingus::collector::report::ReportCommand({argv + 2, argv + argc}, clock, std::cout,
                                                    std::cerr);
  }
  if (command == "db-advise") {
    return mingus::collector::db::DbAdviseCommand({argv + 2, argv + argc}, std::cout, std::cerr,
                                                  mingus::SystemClock());
  }
  if (command != "check-rules" && command != "test-rules") return std::nullopt;
  const std::vector<std::string> files(argv + 2, argv + argc);
  if (files.empty()) {
    fmt::print(stderr, "usage: mingus-collector {} FILE...\n", command);
    return mingus::config::kExitBadUsage;
  }
  return command == "check-rules" ? CheckRuleFiles(files, std::cout, std::cerr)
                                  : TestRuleFiles(files, std::cout, std::cerr);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace mingus;
  const SystemClock clock;
  if (const auto exit_status = RunSubcommand(argc, argv, clock)) return *exit_status;
  collector::CollectorFlags flag_values;
  config::FlagSet flags(
      "mingus-collector",
      fmt::format(
          "Mingus Monitor collector: scrapes agents, stores series, answers PromQL and evaluates "
          "alert rules.\n\nAlso: mingus-collector check-rules FILE... and test-rules FILE..., as "
          "promtool's check rules and test rules; mingus-collector fingerprint [--query Q | "
          "FILE...], as pt-fingerprint; mingus-collector report {} --days N --format "
          "json|markdown, the reports the API serves, from the stores in --storage.path; "
          "mingus-collector db-advise [--sqlite APP.db] [--apply], the indexes the database "
          "optimizer suggests, as CREATE INDEX statements.",
          collector::report::ReportKindNames()));
  flag_values.Register(flags);
  if (const auto exit_status = config::HandleCommandLine(flags, "mingus-collector", argc, argv))
    return *exit_status;

  config::CapMallocArenas(config::ProcessEnvironment());
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
  collector::Collector collector(config, clock);
  const auto address = collector.Start();
  if (!address.ok()) {
    spdlog::error("cannot start: {}", address.message());
    return 1;
  }
  spdlog::info("mingus-collector {} listening on {}://{}", kVersion,
               config.web.web_config.tls.enabled() ? "https" : "http", *address);

  config::WaitForShutdown([&] { collector.Reload(collector::LoadCollectorConfig(flag_values)); },
                          [&] { collector.RecordFailedReload(); });
  collector.Stop();
  spdlog::info("stopped");
  return 0;
}
