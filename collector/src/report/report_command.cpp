#include "mingus/collector/report/report_command.h"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <filesystem>
#include <memory>
#include <optional>
#include <ostream>

#include "mingus/collector/events/event_store.h"
#include "mingus/collector/events/insights.h"
#include "mingus/collector/events/ux_report.h"
#include "mingus/common/file.h"
#include "mingus/config/daemon.h"
#include "mingus/config/yaml_reader.h"

namespace mingus::collector::report {

namespace {

// A report over business_intelligence.db: refused when the collector has not made one there,
// rather than creating an empty database where the user mistyped --storage.path. `kSections`:
// the parts of the configuration the report's Open takes after its day limit.
template <typename Report, auto... kSections>
StatusOr<http::Handler> OpenEventsReport(const CollectorConfig& config, const Clock& clock) {
  const std::string path = JoinPath(config.storage_path, events::kEventStoreFile);
  if (!std::filesystem::exists(path)) {
    return Status::Error(
        fmt::format("no event store at {}: no collector has run with storage.path {}", path,
                    config.storage_path));
  }
  auto report =
      Report::Open(path, clock, events::MaxReportDays(config.events), config.*kSections...);
  if (!report.ok()) return report.status();
  std::shared_ptr<Report> shared = std::move(report).value();
  return http::Handler([shared](const http::Request& request) { return shared->Serve(request); });
}

// The message of the handler's {"status":"error","error":"..."}, or the body as it is.
std::string ErrorMessage(const std::string& body) {
  boost::system::error_code error;
  const auto document = boost::json::parse(body, error);
  if (!error && document.is_object()) {
    if (const auto* message = document.as_object().if_contains("error");
        message != nullptr && message->is_string()) {
      return std::string(message->as_string());
    }
  }
  return body;
}

}  // namespace

const std::vector<ReportKind>& ReportKinds() {
  static const std::vector<ReportKind> kinds = {
      {"insights", "/api/monitoring/insights", {}, OpenEventsReport<events::Insights>},
      {"ux",
       "/api/monitoring/ux",
       {"page", "limit"},
       OpenEventsReport<events::UxReports, &CollectorConfig::ux>},
  };
  return kinds;
}

std::string ReportKindNames() {
  std::string names;
  for (const auto& kind : ReportKinds()) {
    names += fmt::format("{}{}", names.empty() ? "" : "|", kind.name);
  }
  return names;
}

int ReportCommand(const std::vector<std::string>& args, const Clock& clock, std::ostream& out,
                  std::ostream& err) {
  const ReportKind* kind = nullptr;
  for (const auto& known : ReportKinds()) {
    if (!args.empty() && args[0] == known.name) kind = &known;
  }
  if (kind == nullptr) {
    const std::string usage = fmt::format(
        "usage: mingus-collector report {} [--days=N] [--format=json|markdown] [<flags>]\n"
        "(mingus-collector report KIND --help lists the flags)\n",
        ReportKindNames());
    if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
      out << usage;
      return 0;
    }
    err << usage
        << (args.empty() || args[0].starts_with("-")
                ? ""
                : fmt::format("unknown report '{}'\n", args[0]));
    return config::kExitBadUsage;
  }

  const std::string program = fmt::format("mingus-collector report {}", kind->name);
  CollectorFlags daemon_flags;
  std::optional<std::string> days, format;
  std::vector<std::optional<std::string>> params(kind->params.size());
  config::FlagSet flags(program,
                        fmt::format("Prints the {} report that the collector serves at {}, from "
                                    "the stores in its storage.path.",
                                    kind->name, kind->path));
  daemon_flags.Register(flags);
  flags.String("days", "Days the report covers, ending today (UTC).", &days, "30");
  flags.String("format", "Output format: json (as the HTTP API) or markdown.", &format, "json");
  for (size_t i = 0; i < kind->params.size(); ++i) {
    flags.String(std::string(kind->params[i]),
                 fmt::format("The report's {} parameter.", kind->params[i]), &params[i]);
  }
  auto line = ParseSubcommand(program, flags, daemon_flags,
                              std::vector<std::string>(args.begin() + 1, args.end()), out, err);
  if (const int* done = std::get_if<int>(&line)) return *done;
  const CollectorConfig& config = std::get<CollectorConfig>(line);
  const std::string output = format.value_or("json");
  if (output != "json" && output != "markdown") {
    err << fmt::format("{}: --format: '{}' is neither json nor markdown\n", program, output);
    return config::kExitBadUsage;
  }
  auto handler = kind->open(config, clock);
  if (!handler.ok()) {
    err << fmt::format("{}: {}\n", program, handler.message());
    return 1;
  }
  std::string target =
      fmt::format("{}?days={}", kind->path, http::QueryEscape(days.value_or("30")));
  for (size_t i = 0; i < kind->params.size(); ++i) {
    if (params[i]) target += fmt::format("&{}={}", kind->params[i], http::QueryEscape(*params[i]));
  }
  const http::Response response = (*handler)(http::Request::Make("GET", target));
  if (response.status != 200) {
    err << fmt::format("{}: {}\n", program, ErrorMessage(response.body));
    return response.status == 400 ? config::kExitBadUsage : 1;
  }
  if (output == "json") {
    out << response.body << "\n";
    return 0;
  }
  const auto markdown = JsonReportToMarkdown(fmt::format("{} report", kind->name), response.body);
  if (!markdown.ok()) {
    err << fmt::format("{}: {}\n", program, markdown.message());
    return 1;
  }
  out << *markdown;
  return 0;
}

}  // namespace mingus::collector::report
