#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "mingus/config/flags.h"
#include "mingus/config/yaml_reader.h"
#include "mingus/http/server.h"

// The configuration both daemons share: the web server, logging and the environment.
namespace mingus::config {

// Reads the `web` section (listen_address, max_connections, max_header_bytes, read_timeout,
// write_timeout, threads) into `web`, keeping defaults for absent keys.
void ReadWebSection(MapReader& top, http::ServerOptions& web);

struct LogConfig {
  std::string level = "info";
  std::string format = "logfmt";
};
// Reads the `log` section (level, format), refusing unknown levels and formats.
void ReadLogSection(MapReader& top, LogConfig& log);
// Refuses a bad listen address or log setting that came from a flag, naming the key.
void ValidateDaemonConfig(const http::ServerOptions& web, const LogConfig& log,
                          const std::string& file);

// The flags both daemons take; unset ones leave the file's value.
struct DaemonFlags {
  std::optional<std::string> config_file, listen_address, web_config_file, storage_path, log_level,
      log_format;

  // Registers --config.file, --web.listen-address, --web.config.file, --storage.path,
  // --log.level, --log.format.
  void RegisterDaemonFlags(FlagSet& flags, std::string_view program,
                           std::string_view default_listen_address, std::string_view storage_help,
                           std::string_view default_storage_path);
  // Also reads the file of --web.config.file into web.web_config (http::LoadWebConfig), throwing
  // ConfigError naming that file and the key for a bad one.
  void ApplyDaemonFlags(http::ServerOptions& web, std::string& storage_path, LogConfig& log) const;
};

// Exit status for a bad flag or configuration, as Prometheus' daemons.
inline constexpr int kExitBadUsage = 2;

// main()'s handling of the command line: nullopt to run on, or the exit status after printing
// the usage (--help), the version (--version) or a bad flag's message.
std::optional<int> HandleCommandLine(FlagSet& flags, std::string_view program, int argc, const char* const* argv);

// Daemon signals: BlockDaemonSignals() (before any thread starts, so all inherit the mask)
// blocks SIGINT, SIGTERM and SIGHUP and ignores SIGPIPE; WaitForShutdown() then takes them on
// the calling thread, returning on SIGINT or SIGTERM. On SIGHUP it calls `reload`, which
// loads and applies the configuration or throws ConfigError; then the error is logged, the
// running configuration kept and `refused` called.
void BlockDaemonSignals();
void WaitForShutdown(const std::function<void()>& reload, const std::function<void()>& refused);

using Environment = std::function<std::optional<std::string>(std::string_view name)>;
Environment ProcessEnvironment();

// glibc gives each new thread an arena of its own, up to 8 per core, and memory freed in one
// arena serves only that arena's threads: in a soak hour the collector's resident size rose by
// 16 MiB after a full disk, ~30 % of the heap held free across 16 arenas, where with two arenas it
// stayed flat (BENCHMARKS.md, "Soak and faults"). Both daemons cap the arenas before their first
// thread starts, unless MALLOC_ARENA_MAX is set, which glibc reads itself and which then wins.
inline constexpr int kDaemonMallocArenas = 2;
// Returns the cap set, or nullopt when the environment sets its own.
std::optional<int> CapMallocArenas(const Environment& environment);
// A boolean environment variable (true/false, 1/0, yes/no, on/off); unset gives nullopt.
// Throws ConfigError for any other value.
std::optional<bool> EnvironmentFlag(const Environment& environment, std::string_view name);

}  // namespace mingus::config
