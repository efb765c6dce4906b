#include "mingus/collector/db/db_advise_command.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <limits>
#include <ostream>
#include <sstream>

#include "mingus/collector/config.h"
#include "mingus/collector/db/db_report.h"
#include "mingus/collector/db/fingerprint_command.h"
#include "mingus/collector/events/event_store.h"
#include "mingus/common/file.h"
#include "mingus/config/daemon.h"
#include "mingus/http/client.h"

namespace mingus::collector::db {

namespace {

constexpr std::string_view kProgram = "mingus-collector db-advise";

// The digests of the queries in a file, each taken as one slow run.
StatusOr<DbReport> ReportOfQueries(const std::string& file, const DbOptimizerConfig& config,
                                   AppDatabase* app) {
  std::ifstream stream(file, std::ios::binary);
  if (!stream) return Status::Error(fmt::format("cannot read {}", file));
  std::ostringstream text;
  text << stream.rdbuf();
  DigestBuilder digests({0, config.n_plus_one_threshold});
  ForEachQuery(text.str(), [&](std::string_view query) { digests.Add({0, std::string(query)}); });
  DbReport report = BuildDbReport(digests.Digests(), digests.NPlusOnes(), config, app);
  report.queries_file = file;
  return report;
}

StatusOr<DbReport> ReportOfCollector(const std::string& url, const DbOptimizerConfig& config,
                                     AppDatabase* app) {
  const std::string target = fmt::format("{}/api/monitoring/db/report",
                                         url.ends_with('/') ? url.substr(0, url.size() - 1) : url);
  auto response = http::HttpGet(target);
  if (!response.ok()) return response.status();
  if (response->status != 200)
    return Status::Error(fmt::format("GET {}: status {}", target, response->status));
  auto digests = DigestsFromJson(response->body);
  if (!digests.ok()) return Status::Error(fmt::format("GET {}: {}", target, digests.message()));
  return BuildDbReport(std::move(digests->first), std::move(digests->second), config, app);
}

StatusOr<DbReport> ReportOfStore(const std::string& storage_path, const DbOptimizerConfig& config,
                                 AppDatabase* app, int64_t now_ms) {
  const std::string path = JoinPath(storage_path, events::kEventStoreFile);
  // Read only: a mistyped --storage.path must not leave an empty store behind.
  auto store = sqlite::Database::OpenExisting(path, sqlite::Database::Access::kReadOnly,
                                              std::chrono::milliseconds(5000));
  if (!store.ok()) return Status::Error(fmt::format("no event store: {}", store.message()));
  DigestBuilder digests(DigestOptionsOf(config));
  auto read = ReadDbEvents(**store, now_ms - config.window.count(), config.max_events,
                           [&](const DbEvent& event) { digests.Add(event); });
  if (!read.ok()) return read.status();
  DbReport report = BuildDbReport(digests.Digests(), digests.NPlusOnes(), config, app);
  report.since_ms = now_ms - config.window.count();
  return report;
}

}  // namespace

int DbAdviseCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                    const Clock& clock) {
  CollectorFlags daemon_flags;
  std::optional<std::string> collector_url, queries, sqlite_path, format;
  std::optional<bool> apply;
  config::FlagSet flags(
      std::string(kProgram),
      "Prints CREATE INDEX statements for the slow queries of the app's db events (from the "
      "collector's store in --storage.path, a running collector's --collector.url, or a "
      "--queries file), each verified on a copy of the app's SQLite database when there is one.");
  daemon_flags.Register(flags);
  flags.String("collector.url", "A running collector's URL: its /api/monitoring/db/report.",
               &collector_url);
  flags.String("queries",
               "A file of queries (each ending with ';' at the end of a line), each taken as a "
               "slow run, instead of the db events.",
               &queries);
  flags.String("sqlite",
               "The app's SQLite database: read only, for the schema and the verification on a "
               "copy (overrides db_optimizer.sqlite_path).",
               &sqlite_path);
  flags.Bool("apply",
             "Create the verified indexes on the --sqlite database, each in its own transaction.",
             &apply, "false");
  flags.String("format", "sql (CREATE INDEX statements with comments) or json (the report).",
               &format, "sql");
  auto line = ParseSubcommand(kProgram, flags, daemon_flags, args, out, err);
  if (const int* done = std::get_if<int>(&line)) return *done;
  const CollectorConfig& collector_config = std::get<CollectorConfig>(line);
  const std::string output = format.value_or("sql");
  const int sources =
      (collector_url ? 1 : 0) + (queries ? 1 : 0) + (daemon_flags.storage_path ? 1 : 0);
  if ((output != "sql" && output != "json") || sources > 1) {
    err << fmt::format("{}: {}; try --help\n", kProgram,
                       sources > 1 ? "give one of --storage.path, --collector.url and --queries"
                                   : fmt::format("--format: '{}' is neither sql nor json", output));
    return config::kExitBadUsage;
  }
  DbOptimizerConfig config = collector_config.db_optimizer;
  if (sqlite_path) config.sqlite_path = *sqlite_path;
  // max_verified bounds what one API request costs; asked here, every suggestion is checked.
  config.max_verified = std::numeric_limits<int64_t>::max();
  if (apply.value_or(false) && config.sqlite_path.empty()) {
    err << fmt::format("{}: --apply needs the app's database (--sqlite)\n", kProgram);
    return config::kExitBadUsage;
  }
  // The app's database is checked before anything else: a missing or locked one is reported
  // and nothing is created anywhere.
  std::unique_ptr<AppDatabase> app;
  if (!config.sqlite_path.empty()) {
    auto opened = AppDatabase::Open(config.sqlite_path, AppDatabaseOptionsOf(config, clock));
    if (!opened.ok()) {
      err << fmt::format("{}: the app's database: {}\n", kProgram, opened.message());
      return 1;
    }
    app = std::move(opened).value();
  }
  const int64_t now_ms = UnixMillis(clock);
  auto report = queries ? ReportOfQueries(*queries, config, app.get())
                : collector_url
                    ? ReportOfCollector(*collector_url, config, app.get())
                    : ReportOfStore(collector_config.storage_path, config, app.get(), now_ms);
  if (!report.ok()) {
    err << fmt::format("{}: {}\n", kProgram, report.message());
    return 1;
  }
  report->generated_ms = now_ms;
  out << (output == "json" ? DbReportJson(*report, config.mask_literals) + "\n"
                           : DbReportSql(*report, config.mask_literals));
  if (!apply.value_or(false)) return 0;

  std::vector<IndexSuggestion> verified;
  for (const auto& entry : report->fingerprints) {
    for (const auto& suggestion : entry.suggestions) {
      const bool again = std::any_of(verified.begin(), verified.end(), [&](const auto& other) {
        return other.name == suggestion.index.name;
      });
      if (suggestion.verification && suggestion.verification->verified && !again)
        verified.push_back(suggestion.index);
    }
  }
  app.reset();
  auto applied = ApplyIndexes(config.sqlite_path, verified, std::chrono::milliseconds(1000));
  if (!applied.ok()) {
    err << fmt::format("{}: --apply: {}\n", kProgram, applied.message());
    return 1;
  }
  int failed = 0;
  for (const auto& one : *applied) {
    if (one.status.ok()) {
      out << fmt::format("-- applied: {};\n", one.statement);
    } else {
      ++failed;
      err << fmt::format("{}: --apply: {}: {}\n", kProgram, one.statement, one.status.message());
    }
  }
  return failed == 0 ? 0 : 1;
}

}  // namespace mingus::collector::db
