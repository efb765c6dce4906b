#pragma once

#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "mingus/collector/config.h"
#include "mingus/common/clock.h"
#include "mingus/common/status.h"
#include "mingus/http/server.h"

// `mingus-collector report KIND`: the reports the collector serves over HTTP, printed from its
// stores without a running daemon (the stores are SQLite in WAL mode, so a running collector
// may be writing meanwhile).
namespace mingus::collector::report {

// A report the collector serves at `path`. The command asks the same handler the daemon runs,
// so both refuse the same bad parameters with the same message.
struct ReportKind {
  std::string_view name;                 // the KIND argument: "insights"
  std::string_view path;                 // "/api/monitoring/insights"
  std::vector<std::string_view> params;  // query parameters besides days, as --NAME=VALUE flags
  // The report's handler over the stores of `config` (its storage.path).
  std::function<StatusOr<http::Handler>(const CollectorConfig& config, const Clock& clock)> open;
};

// Every kind `report` knows: a new report is one more entry.
const std::vector<ReportKind>& ReportKinds();
// "insights|ux": the kinds' names, for usage texts.
std::string ReportKindNames();

// `report KIND [--days=N] [--format=json|markdown] [--NAME=VALUE...]` with the daemon's flags
// (--config.file, --storage.path, ...). Prints the report as the HTTP API gives it (json) or as
// Markdown tables. Returns the exit status: 0; 1 when the store cannot be read; 2 for a bad flag,
// configuration or parameter (the handler's 400), with the reason on `err`.
int ReportCommand(const std::vector<std::string>& args, const Clock& clock, std::ostream& out,
                  std::ostream& err);

// A report's JSON document as Markdown: `title` as the heading, scalars as a figure/value table,
// arrays of objects as tables (nested objects flattened into "a.b" columns), other objects as
// sections named by their key. An error when `json` is not a JSON object.
StatusOr<std::string> JsonReportToMarkdown(std::string_view title, std::string_view json);

}  // namespace mingus::collector::report
