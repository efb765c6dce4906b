#include "mingus/collector/db/db_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>

#include "mingus/collector/db/query_shape.h"
#include "mingus/collector/db/query_tally.h"
#include "mingus/common/duration.h"

namespace mingus::collector::db {

namespace json = boost::json;

DigestOptions DigestOptionsOf(const DbOptimizerConfig& config) {
  return {static_cast<double>(config.slow_threshold.count()), config.n_plus_one_threshold};
}

AppDatabaseOptions AppDatabaseOptionsOf(const DbOptimizerConfig& config, const Clock& clock) {
  AppDatabaseOptions options;
  options.sample_timeout = config.sample_timeout;
  options.clock = &clock;
  return options;
}

DbReport BuildDbReport(std::vector<Digest> digests, std::vector<NPlusOne> n_plus_one,
                       const DbOptimizerConfig& config, AppDatabase* app) {
  DbReport report;
  for (const auto& digest : digests) report.events += digest.count;
  report.options = DigestOptionsOf(config);
  report.sqlite_path = config.sqlite_path;
  report.n_plus_one = std::move(n_plus_one);
  static const Schema kUnknown;
  const Schema& schema = app != nullptr ? app->schema() : kUnknown;
  sql::HintContext hints;
  hints.large_result_rows = static_cast<double>(config.large_result_rows);
  if (schema.Known()) {
    hints.indexed = [&schema](std::string_view table, std::string_view column) {
      const auto found = schema.indexes.find(std::string(table));
      if (found == schema.indexes.end()) return false;
      return std::any_of(found->second.begin(), found->second.end(), [&](const auto& index) {
        return !index.columns.empty() && index.columns.front() == column;
      });
    };
    hints.columns = [&schema](std::string_view table) {
      const auto found = schema.columns.find(std::string(table));
      return found != schema.columns.end() ? found->second : std::vector<std::string>{};
    };
  }
  const HasColumn has_column =
      schema.Known() ? HasColumn([&schema](std::string_view table, std::string_view column) {
        return schema.HasColumn(table, column);
      })
                     : HasColumn();
  int64_t verified = 0;
  for (auto& digest : digests) {
    FingerprintReport entry;
    hints.rows = digest.rows_average;
    entry.hints = sql::RewriteHints(
        config.mask_literals ? MaskLiterals(digest.sample) : digest.sample, hints);
    if (digest.slow) {
      const Advice advice = AdviseIndexes(ReadQueryShape(digest.sample, has_column), schema);
      entry.no_suggestion = advice.reason;
      const auto with_of = [&](const IndexSuggestion& index) {
        std::vector<IndexSuggestion> with;
        for (const auto& other : advice.suggestions)
          if (std::find(index.with.begin(), index.with.end(), other.name) != index.with.end())
            with.push_back(other);
        return with;
      };
      for (const auto& index : advice.suggestions) {
        SuggestionReport suggestion{index, std::nullopt};
        if (app != nullptr && verified < config.max_verified) {
          suggestion.verification = app->Verify(index, digest.sample, with_of(index));
          ++verified;
        }
        entry.suggestions.push_back(std::move(suggestion));
      }
      // The indexes of a join work together: one that gains nothing alone (the planner then
      // picks a join order the other tables have no index for) is measured again beside the
      // verified indexes of the query's other tables.
      std::vector<IndexSuggestion> verified_alone;
      for (const auto& suggestion : entry.suggestions)
        if (suggestion.verification && suggestion.verification->verified)
          verified_alone.push_back(suggestion.index);
      for (auto& suggestion : entry.suggestions) {
        auto& verification = suggestion.verification;
        if (!verification || verification->verified || verification->capped ||
            verified >= config.max_verified)
          continue;
        std::vector<IndexSuggestion> beside = with_of(suggestion.index);
        const size_t own = beside.size();
        for (const auto& other : verified_alone)
          if (other.table != suggestion.index.table) beside.push_back(other);
        if (beside.size() == own) continue;
        Verification again = app->Verify(suggestion.index, digest.sample, beside);
        ++verified;
        if (again.verified) verification = std::move(again);
      }
    }
    entry.digest = std::move(digest);
    report.fingerprints.push_back(std::move(entry));
  }
  return report;
}

namespace {

json::array Strings(const std::vector<std::string>& items) {
  json::array out;
  for (const auto& item : items) out.emplace_back(item);
  return out;
}

json::value Optional(const std::optional<double>& value) {
  return value ? json::value(*value) : json::value(nullptr);
}

}  // namespace

std::string DbReportJson(const DbReport& report, bool mask_literals) {
  json::array fingerprints;
  // A queries file's digests have no times: null, not the 0 ms of runs that never were.
  const auto timed = [&](json::value value) {
    return report.queries_file.empty() ? value : json::value(nullptr);
  };
  for (const auto& entry : report.fingerprints) {
    const Digest& d = entry.digest;
    json::array suggestions;
    for (const auto& suggestion : entry.suggestions) {
      json::object object{{"table", suggestion.index.table},
                          {"columns", Strings(suggestion.index.columns)},
                          {"equality_columns", suggestion.index.equality_columns},
                          {"name", suggestion.index.name},
                          {"statement", suggestion.index.statement},
                          {"with", Strings(suggestion.index.with)}};
      if (const auto& v = suggestion.verification) {
        object["verification"] =
            json::object{{"verified", v->verified},
                         {"reason", v->reason},
                         {"plan_before", Strings(v->plan_before)},
                         {"plan_after", Strings(v->plan_after)},
                         {"ms_before", v->ms_before},
                         {"ms_after", v->ms_after},
                         {"runs", v->runs},
                         {"capped", v->capped},
                         {"speedup", v->ms_after > 0 ? json::value(v->ms_before / v->ms_after)
                                                     : json::value(nullptr)}};
      } else {
        object["verification"] = nullptr;
      }
      suggestions.push_back(std::move(object));
    }
    json::array hints;
    for (const auto& hint : entry.hints) {
      hints.push_back(json::object{
          {"id", hint.id}, {"explanation", hint.explanation}, {"rewrite", hint.rewrite}});
    }
    fingerprints.push_back(
        json::object{{"fingerprint", d.fingerprint},
                     {"fingerprint_id", FingerprintId(d.fingerprint)},
                     {"operation", d.operation},
                     {"tables", Strings(d.tables)},
                     {"count", d.count},
                     {"slow_count", timed(d.slow_count)},
                     {"total_ms", timed(d.total_ms)},
                     {"average_ms", timed(d.average_ms)},
                     {"p95_ms", timed(d.p95_ms)},
                     {"max_ms", timed(d.max_ms)},
                     {"rows_total", Optional(d.rows_total)},
                     {"rows_average", Optional(d.rows_average)},
                     {"first_seen", timed(json::value(FormatRfc3339(d.first_seen_ms)))},
                     {"last_seen", timed(json::value(FormatRfc3339(d.last_seen_ms)))},
                     {"slow", d.slow},
                     {"sample", mask_literals ? MaskLiterals(d.sample) : d.sample},
                     {"suggestions", std::move(suggestions)},
                     {"no_suggestion", entry.no_suggestion},
                     {"hints", std::move(hints)}});
  }
  json::array n_plus_one;
  for (const auto& finding : report.n_plus_one) {
    n_plus_one.push_back(json::object{{"fingerprint", finding.fingerprint},
                                      {"requests", finding.requests},
                                      {"max_runs", finding.max_runs},
                                      {"example_request_id", finding.example_request_id},
                                      {"example_total_ms", finding.example_total_ms}});
  }
  const json::object out{
      {"generated", FormatRfc3339(report.generated_ms)},
      {"since", FormatRfc3339(report.since_ms)},
      {"events", report.events},
      {"queries_file",
       report.queries_file.empty() ? json::value(nullptr) : json::value(report.queries_file)},
      {"slow_threshold_ms", report.options.slow_ms},
      {"n_plus_one_threshold", report.options.n_plus_one_min},
      {"sqlite", report.sqlite_path.empty()
                     ? json::value(nullptr)
                     : json::value(json::object{{"path", report.sqlite_path},
                                                {"error", report.sqlite_error}})},
      {"fingerprints", std::move(fingerprints)},
      {"n_plus_one", std::move(n_plus_one)}};
  return json::serialize(out);
}

std::string DbReportSql(const DbReport& report, bool mask_literals) {
  std::string out;
  if (!report.sqlite_error.empty())
    out += fmt::format("-- {}: not verified: {}\n", report.sqlite_path, report.sqlite_error);
  for (const auto& entry : report.fingerprints) {
    for (const auto& suggestion : entry.suggestions) {
      const Digest& d = entry.digest;
      const std::string runs =
          report.queries_file.empty()
              ? fmt::format("{} runs, {:.1f} ms in all, p95 {:.1f} ms", d.count, d.total_ms,
                            d.p95_ms)
              : fmt::format("{} in {}, not timed", d.count, report.queries_file);
      out += fmt::format("-- {} ({})\n-- sample: {}\n", d.fingerprint, runs,
                         mask_literals ? MaskLiterals(d.sample) : d.sample);
      const auto& v = suggestion.verification;
      if (v && v->verified) {
        std::string before, after;
        for (const auto& line : v->plan_before) before += (before.empty() ? "" : "; ") + line;
        for (const auto& line : v->plan_after) after += (after.empty() ? "" : "; ") + line;
        out += fmt::format(
            "-- verified: plan before: {}\n--           plan after:  {}\n--           {:.3f} ms "
            "-> {:.3f} ms (least CPU time of {} runs){}\n{};\n\n",
            before, after, v->ms_before, v->ms_after, v->runs,
            v->reason.empty() ? "" : "; " + v->reason, suggestion.index.statement);
      } else {
        out +=
            fmt::format("-- not verified: {}\n-- {};\n\n",
                        v ? v->reason : "no database to verify it on", suggestion.index.statement);
      }
    }
  }
  return out;
}

StatusOr<std::pair<std::vector<Digest>, std::vector<NPlusOne>>> DigestsFromJson(
    std::string_view text) {
  boost::system::error_code error;
  const json::value parsed = json::parse(text, error);
  if (error) return Status::Error(fmt::format("the report is not JSON: {}", error.message()));
  try {
    std::vector<Digest> digests;
    for (const auto& item : parsed.at("fingerprints").as_array()) {
      const auto& o = item.as_object();
      Digest d;
      d.fingerprint = json::value_to<std::string>(o.at("fingerprint"));
      d.operation = json::value_to<std::string>(o.at("operation"));
      d.tables = json::value_to<std::vector<std::string>>(o.at("tables"));
      d.count = o.at("count").to_number<int64_t>();
      d.slow_count = o.at("slow_count").to_number<int64_t>();
      d.total_ms = o.at("total_ms").to_number<double>();
      d.average_ms = o.at("average_ms").to_number<double>();
      d.p95_ms = o.at("p95_ms").to_number<double>();
      d.max_ms = o.at("max_ms").to_number<double>();
      if (!o.at("rows_total").is_null()) d.rows_total = o.at("rows_total").to_number<double>();
      if (!o.at("rows_average").is_null())
        d.rows_average = o.at("rows_average").to_number<double>();
      d.slow = o.at("slow").as_bool();
      d.sample = json::value_to<std::string>(o.at("sample"));
      digests.push_back(std::move(d));
    }
    std::vector<NPlusOne> findings;
    for (const auto& item : parsed.at("n_plus_one").as_array()) {
      const auto& o = item.as_object();
      findings.push_back({json::value_to<std::string>(o.at("fingerprint")),
                          o.at("requests").to_number<int64_t>(),
                          o.at("max_runs").to_number<int64_t>(),
                          json::value_to<std::string>(o.at("example_request_id")),
                          o.at("example_total_ms").to_number<double>()});
    }
    return std::pair{std::move(digests), std::move(findings)};
  } catch (const std::exception& e) {
    return Status::Error(fmt::format("the report has not the shape of a db report: {}", e.what()));
  }
}

StatusOr<DbReport> ComputeDbReport(sqlite::Database& events, const DbOptimizerConfig& config,
                                   const AppDatabaseOptions& app_options, int64_t now_ms) {
  DigestBuilder digests(DigestOptionsOf(config));
  const int64_t since_ms = now_ms - config.window.count();
  auto read = ReadDbEvents(events, since_ms, config.max_events,
                           [&](const DbEvent& event) { digests.Add(event); });
  if (!read.ok()) return read.status();
  std::unique_ptr<AppDatabase> app;
  std::string app_error;
  if (!config.sqlite_path.empty()) {
    auto opened = AppDatabase::Open(config.sqlite_path, app_options);
    if (opened.ok()) {
      app = std::move(opened).value();
    } else {
      app_error = opened.message();
    }
  }
  DbReport report = BuildDbReport(digests.Digests(), digests.NPlusOnes(), config, app.get());
  report.generated_ms = now_ms;
  report.since_ms = since_ms;
  report.sqlite_error = std::move(app_error);
  return report;
}

StatusOr<std::unique_ptr<DbOptimizer>> DbOptimizer::Open(const std::string& store_path,
                                                         DbOptimizerConfig config,
                                                         const Clock& clock) {
  // The store's writer, EventStore, checks the file at its open: not read whole again here.
  auto db = sqlite::Database::Open(store_path, sqlite::Database::Check::kTrusted);
  if (!db.ok()) return db.status();
  return std::unique_ptr<DbOptimizer>(
      new DbOptimizer(std::move(db).value(), std::move(config), clock));
}

void DbOptimizer::SetConfig(const DbOptimizerConfig& config) {
  std::lock_guard lock(mutex_);
  config_ = config;
}

http::Response DbOptimizer::Serve(const http::Request& /*request*/) {
  std::lock_guard lock(mutex_);
  auto report =
      ComputeDbReport(*db_, config_, AppDatabaseOptionsOf(config_, clock_), UnixMillis(clock_));
  if (!report.ok()) return http::Response::JsonError(500, report.message());
  http::Response response = http::Response::Json(200, DbReportJson(*report, config_.mask_literals));
  response.compressible = true;
  return response;
}

}  // namespace mingus::collector::db
