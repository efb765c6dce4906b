#include "mingus/config/daemon.h"

#include <fmt/format.h>
#include <malloc.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <cctype>
#include <csignal>
#include <cstdlib>

#include "mingus/common/address.h"
#include "mingus/logging/logging.h"
#include "mingus/version.h"

namespace mingus::config {

namespace {

void ReadSize(MapReader& reader, std::string_view key, size_t& out, int64_t min, int64_t max) {
  int64_t value = static_cast<int64_t>(out);
  reader.Read(key, value, min, max);
  out = static_cast<size_t>(value);
}

}  // namespace

void ReadWebSection(MapReader& top, http::ServerOptions& web) {
  MapReader reader = top.Map("web");
  reader.Read("listen_address", web.listen_address);
  reader.Check("listen_address", ParseHostPort(web.listen_address).status());
  ReadSize(reader, "max_connections", web.max_connections, 1, 100'000);
  ReadSize(reader, "max_header_bytes", web.max_header_bytes, 1024, 1 << 20);
  reader.Read("read_timeout", web.read_timeout);
  reader.Read("idle_timeout", web.idle_timeout);
  reader.Read("write_timeout", web.write_timeout);
  int64_t threads = web.threads;
  reader.Read("threads", threads, 1, 64);
  web.threads = static_cast<int>(threads);
  reader.Finish();
}

void ReadLogSection(MapReader& top, LogConfig& log) {
  MapReader reader = top.Map("log");
  reader.Read("level", log.level);
  reader.Check("level", logging::ParseLevel(log.level).status());
  reader.Read("format", log.format);
  reader.Check("format", logging::ParseFormat(log.format).status());
  reader.Finish();
}

void ValidateDaemonConfig(const http::ServerOptions& web, const LogConfig& log,
                          const std::string& file) {
  const auto check = [&](std::string_view what, const Status& status) {
    if (!status.ok()) throw ConfigError(fmt::format("{}: {}: {}", file, what, status.message()));
  };
  check("web.listen_address", ParseHostPort(web.listen_address).status());
  check("log.level", logging::ParseLevel(log.level).status());
  check("log.format", logging::ParseFormat(log.format).status());
}

void DaemonFlags::RegisterDaemonFlags(FlagSet& flags, std::string_view program,
                                      std::string_view default_listen_address,
                                      std::string_view storage_help,
                                      std::string_view default_storage_path) {
  flags.String("config.file",
               fmt::format("{} configuration file (without one, built-in defaults).", program),
               &config_file);
  flags.String("web.listen-address", "Address to serve /metrics and the API on.", &listen_address,
               std::string(default_listen_address));
  flags.String("web.config.file",
               "Path to a web configuration file (exporter-toolkit's format, as node_exporter's) "
               "that can enable TLS, basic authentication and response headers.",
               &web_config_file);
  flags.String("storage.path", std::string(storage_help), &storage_path,
               std::string(default_storage_path));
  flags.String("log.level", "Only log messages of this level or above: debug, info, warn, error.",
               &log_level, "info");
  flags.String("log.format", "Log format: logfmt or json.", &log_format, "logfmt");
}

void DaemonFlags::ApplyDaemonFlags(http::ServerOptions& web, std::string& storage_path_out,
                                   LogConfig& log) const {
  if (listen_address) web.listen_address = *listen_address;
  if (web_config_file && !web_config_file->empty()) {
    web.web_config = http::LoadWebConfig(*web_config_file);
  }
  if (storage_path) storage_path_out = *storage_path;
  if (log_level) log.level = *log_level;
  if (log_format) log.format = *log_format;
}

std::optional<int> HandleCommandLine(FlagSet& flags, std::string_view program, int argc, const char* const* argv) {
  const auto outcome = flags.Parse(argc, argv, nullptr);
  if (!outcome.ok()) {
    fmt::print(stderr, "{}: {}; try --help\n", program, outcome.message());
    return kExitBadUsage;
  }
  if (*outcome == FlagSet::Outcome::kHelp) {
    fmt::print("{}", flags.Usage());
    return 0;
  }
  if (*outcome == FlagSet::Outcome::kVersion) {
    fmt::print("{}, version {} (revision: {})\n", program, kVersion, kRevision);
    return 0;
  }
  return std::nullopt;
}

namespace {
sigset_t DaemonSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  for (int signal : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&signals, signal);
  return signals;
}
}  // namespace

void BlockDaemonSignals() {
  const sigset_t signals = DaemonSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

void WaitForShutdown(const std::function<void()>& reload, const std::function<void()>& refused) {
  const sigset_t signals = DaemonSignals();
  for (;;) {
    int signal = 0;
    if (sigwait(&signals, &signal) != 0) continue;
    if (signal != SIGHUP) {
      spdlog::info("received {}, shutting down", signal == SIGINT ? "SIGINT" : "SIGTERM");
      return;
    }
    try {
      reload();
      spdlog::info("configuration reloaded");
    } catch (const ConfigError& e) {
      refused();
      spdlog::error("reload refused, keeping the running configuration: {}", e.what());
    }
  }
}

Environment ProcessEnvironment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

std::optional<int> CapMallocArenas(const Environment& environment) {
  if (environment("MALLOC_ARENA_MAX")) return std::nullopt;
  mallopt(M_ARENA_MAX, kDaemonMallocArenas);
  return kDaemonMallocArenas;
}

std::optional<bool> EnvironmentFlag(const Environment& environment, std::string_view name) {
  const auto value = environment(name);
  if (!value) return std::nullopt;
  std::string lower;
  for (char c : *value)
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (lower == "true" || lower == "1" || lower == "yes" || lower == "on") return true;
  if (lower == "false" || lower == "0" || lower == "no" || lower == "off") return false;
  throw ConfigError(
      fmt::format("environment variable {}='{}': expected true or false", name, *value));
}

}  // namespace mingus::config
