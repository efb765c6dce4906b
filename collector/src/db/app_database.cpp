#include "mingus/collector/db/app_database.h"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <random>

#include "mingus/sql/tokens.h"

namespace mingus::collector::db {

namespace {

// Instructions between two looks at the clock while a sample runs: well under a millisecond.
constexpr int kProgressInstructions = 1000;

// Timings closer than this factor are taken again (Verify), for up to kRounds rounds in all.
constexpr double kClose = 1.25;
constexpr int kRounds = 3;

// "SCAN t" with no index at all, or a sort the plan does in a temporary B-tree.
bool ShowsScan(const std::vector<std::string>& plan) {
  return std::any_of(plan.begin(), plan.end(), [](const std::string& line) {
    return (line.starts_with("SCAN ") && line.find(" USING ") == std::string::npos) ||
           line.starts_with("USE TEMP B-TREE");
  });
}

bool UsesIndex(const std::vector<std::string>& plan, const std::string& name) {
  const std::string mark = " INDEX " + name;
  return std::any_of(plan.begin(), plan.end(), [&](const std::string& line) {
    const size_t at = line.find(mark);
    return at != std::string::npos &&
           (at + mark.size() == line.size() || line[at + mark.size()] == ' ');
  });
}

// The CPU time of the calling thread: a run's time without the time the machine's other work
// kept it waiting, which on a busy machine swings a run's wall time several times over.
double ThreadCpuMs() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) * 1e3 + static_cast<double>(now.tv_nsec) / 1e6;
}

std::string Joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += (out.empty() ? "" : "; ") + line;
  return out;
}

}  // namespace

StatusOr<Schema> ReadSchema(sqlite::Database& db) {
  Schema schema;
  auto tables = db.Prepare(
      "SELECT name, sql LIKE '%WITHOUT ROWID%' FROM sqlite_schema "
      "WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name");
  if (!tables.ok()) return tables.status();
  auto columns = db.Prepare("SELECT name, type, pk FROM pragma_table_info(?1) ORDER BY cid");
  if (!columns.ok()) return columns.status();
  auto indexes = db.Prepare("SELECT name FROM pragma_index_list(?1) ORDER BY seq");
  if (!indexes.ok()) return indexes.status();
  auto index_columns =
      db.Prepare("SELECT coalesce(name, '') FROM pragma_index_info(?1) ORDER BY seqno");
  if (!index_columns.ok()) return index_columns.status();
  while (tables->Step()) {
    const std::string table(tables->Text(0));
    const std::string key = sql::LowerCopy(table);
    const bool without_rowid = tables->Int(1) != 0;
    auto& table_columns = schema.columns[key];
    auto& table_indexes = schema.indexes[key];
    std::vector<std::string> primary_key;
    std::string integer_key;
    columns->Bind(1, table);
    while (columns->Step()) {
      table_columns.push_back(sql::LowerCopy(columns->Text(0)));
      if (columns->Int(2) > 0) {
        primary_key.push_back(table_columns.back());
        if (sql::LowerCopy(columns->Text(1)) == "integer") integer_key = table_columns.back();
      }
    }
    if (!columns->status().ok()) return columns->status();
    columns->Reset();
    // An INTEGER PRIMARY KEY is the rowid: the table itself is its index.
    if (!without_rowid && primary_key.size() == 1 && !integer_key.empty())
      table_indexes.push_back({"rowid", {integer_key}});
    indexes->Bind(1, table);
    while (indexes->Step()) {
      ExistingIndex index{std::string(indexes->Text(0)), {}};
      index_columns->Bind(1, index.name);
      while (index_columns->Step()) index.columns.push_back(sql::LowerCopy(index_columns->Text(0)));
      if (!index_columns->status().ok()) return index_columns->status();
      index_columns->Reset();
      table_indexes.push_back(std::move(index));
    }
    if (!indexes->status().ok()) return indexes->status();
    indexes->Reset();
  }
  if (!tables->status().ok()) return tables->status();
  return schema;
}

AppDatabase::AppDatabase(std::string path, std::string copy_directory,
                         std::unique_ptr<sqlite::Database> copy, Schema schema,
                         const AppDatabaseOptions& options)
    : path_(std::move(path)),
      copy_directory_(std::move(copy_directory)),
      copy_(std::move(copy)),
      schema_(std::move(schema)),
      options_(options) {}

AppDatabase::~AppDatabase() {
  copy_.reset();
  std::error_code error;
  std::filesystem::remove_all(copy_directory_, error);
}

StatusOr<std::unique_ptr<AppDatabase>> AppDatabase::Open(const std::string& path,
                                                         const AppDatabaseOptions& options) {
  auto source = sqlite::Database::OpenExisting(path, sqlite::Database::Access::kReadOnly,
                                               options.busy_timeout);
  if (!source.ok()) return source.status();
  auto schema = ReadSchema(**source);
  if (!schema.ok()) return schema.status();
  std::error_code error;
  const std::filesystem::path scratch = options.scratch_directory.empty()
                                            ? std::filesystem::temp_directory_path(error)
                                            : std::filesystem::path(options.scratch_directory);
  const auto directory = scratch / fmt::format("mingus-db-advise-{:016x}",
                                               std::random_device{}() * 0x9e3779b97f4a7c15ull);
  if (!std::filesystem::create_directories(directory, error))
    return Status::Error(fmt::format("cannot create {} for the copy of {}: {}", directory.string(),
                                     path, error.message()));
  const std::string copy_path = (directory / "copy.db").string();
  if (Status status = (*source)->CopyTo(copy_path); !status.ok()) {
    std::filesystem::remove_all(directory, error);
    return status;
  }
  source->reset();
  auto copy = sqlite::Database::OpenExisting(copy_path, sqlite::Database::Access::kReadWrite,
                                             options.busy_timeout);
  if (!copy.ok()) {
    std::filesystem::remove_all(directory, error);
    return copy.status();
  }
  return std::unique_ptr<AppDatabase>(new AppDatabase(
      path, directory.string(), std::move(copy).value(), std::move(schema).value(), options));
}

StatusOr<std::vector<std::string>> AppDatabase::Plan(std::string_view sample) {
  auto explain = copy_->Prepare(fmt::format("EXPLAIN QUERY PLAN {}", sample));
  if (!explain.ok()) return explain.status();
  std::vector<std::string> lines;
  while (explain->Step()) lines.emplace_back(explain->Text(3));
  if (!explain->status().ok()) return explain->status();
  return lines;
}

StatusOr<AppDatabase::Timing> AppDatabase::Time(std::string_view sample) {
  static const SystemClock kSystemClock;
  const Clock& clock = options_.clock != nullptr ? *options_.clock : kSystemClock;
  std::vector<double> times;
  double total = 0;
  // The first run is not timed: it reads the pages into the cache, which the runs after it find
  // there, whichever of the two (without or with the index) ran first.
  const int runs = std::max(options_.runs, 1);
  const auto budget = static_cast<double>(options_.max_timing.count());
  for (int run = 0; run <= runs && (run <= 1 || total < budget); ++run) {
    sqlite::Transaction undo(*copy_);  // rolled back: a sample that writes leaves no trace
    if (!undo.status().ok()) return undo.status();
    auto statement = copy_->Prepare(sample);
    if (!statement.ok()) return statement.status();
    const auto deadline = clock.Now() + options_.sample_timeout;
    bool stopped = false;
    copy_->SetProgressHandler(kProgressInstructions, [&] {
      stopped = stopped || clock.Now() > deadline;
      return stopped;
    });
    const auto wall = std::chrono::steady_clock::now();
    const double cpu = ThreadCpuMs();
    while (statement->Step()) {
    }
    const double took = ThreadCpuMs() - cpu;
    const std::chrono::duration<double, std::milli> waited =
        std::chrono::steady_clock::now() - wall;
    copy_->SetProgressHandler(0, {});
    if (stopped) return Timing{static_cast<double>(options_.sample_timeout.count()), run + 1, true};
    if (!statement->status().ok()) return statement->status();
    total += waited.count();
    if (run > 0) times.push_back(took);
  }
  return Timing{*std::min_element(times.begin(), times.end()), static_cast<int>(times.size()),
                false};
}

Verification AppDatabase::Verify(const IndexSuggestion& suggestion, std::string_view sample,
                                 const std::vector<IndexSuggestion>& with) {
  Verification result;
  std::vector<const IndexSuggestion*> created;
  const auto drop = [&] {
    for (const auto* index : created)
      (void)copy_->Exec(fmt::format("DROP INDEX IF EXISTS {}", index->name));
    created.clear();
  };
  const auto fail = [&](std::string reason) {
    drop();
    result.reason = std::move(reason);
    return result;
  };
  const auto create = [&](const IndexSuggestion& index) {
    Status status = copy_->Exec(index.statement);
    if (status.ok()) created.push_back(&index);
    return status;
  };
  const auto capped = [&](const Timing& timing, std::string_view without_or_with) {
    result.capped = true;
    result.runs = timing.runs;
    return fail(fmt::format(
        "capped: a run of the sample {} the index took longer than sample_timeout ({} ms) and "
        "was stopped, so nothing was measured",
        without_or_with, options_.sample_timeout.count()));
  };
  for (const auto& other : with) {
    if (Status status = create(other); !status.ok())
      return fail(fmt::format("creating {} on the copy failed: {}", other.name, status.message()));
  }
  auto before = Plan(sample);
  if (!before.ok()) return fail("SQLite cannot plan the sample: " + before.message());
  result.plan_before = std::move(before).value();
  if (!ShowsScan(result.plan_before))
    return fail("the plan scans no table without an index: " + Joined(result.plan_before));
  // Timings within kClose of each other are taken again, in turns without and with the index,
  // for up to kRounds rounds, each side's least time over all of them: a gain that small is
  // within what a busy machine swings a few runs by, and the turns spread that swing over both.
  Timing slow, fast;
  for (int round = 0; round < kRounds; ++round) {
    if (round > 0) {
      if (fast.least_ms * kClose < slow.least_ms || slow.least_ms * kClose < fast.least_ms) break;
      (void)copy_->Exec(fmt::format("DROP INDEX IF EXISTS {}", suggestion.name));
      created.pop_back();
    }
    auto without = Time(sample);
    if (!without.ok()) return fail("the sample does not run: " + without.message());
    if (without->capped) return capped(*without, "without");
    if (Status status = create(suggestion); !status.ok())
      return fail("creating the index on the copy failed: " + status.message());
    if (round == 0) {
      auto after = Plan(sample);
      if (!after.ok())
        return fail("SQLite cannot plan the sample with the index: " + after.message());
      result.plan_after = std::move(after).value();
      if (!UsesIndex(result.plan_after, suggestion.name))
        return fail("the planner does not use it: " + Joined(result.plan_after));
    }
    auto with_index = Time(sample);
    if (!with_index.ok())
      return fail("the sample does not run with the index: " + with_index.message());
    if (with_index->capped) return capped(*with_index, "with");
    slow = round == 0 ? *without
                      : Timing{std::min(slow.least_ms, without->least_ms),
                               slow.runs + without->runs, false};
    fast = round == 0 ? *with_index
                      : Timing{std::min(fast.least_ms, with_index->least_ms),
                               fast.runs + with_index->runs, false};
  }
  drop();
  result.ms_before = slow.least_ms;
  result.ms_after = fast.least_ms;
  result.runs = std::min(slow.runs, fast.runs);
  // The planner can pick an index that makes the query slower (it has no statistics): only a
  // measured gain verifies it.
  if (result.ms_after >= result.ms_before)
    return fail(
        fmt::format("the planner uses it, but the sample ran no faster: {:.3f} ms -> "
                    "{:.3f} ms",
                    result.ms_before, result.ms_after));
  result.verified = true;
  std::vector<std::string> notes;
  if (!with.empty()) {
    std::string names;
    for (const auto& other : with) names += (names.empty() ? "" : ", ") + other.name;
    notes.push_back(fmt::format("measured beside {}, created before and after it", names));
  }
  const auto tokens = sql::Tokenize(sample);
  if (std::any_of(tokens.begin(), tokens.end(),
                  [](const sql::Token& t) { return t.kind == sql::TokenKind::kPlaceholder; }))
    notes.push_back("the sample has placeholders, run with NULLs: its times are indicative only");
  for (const auto& note : notes) result.reason += (result.reason.empty() ? "" : "; ") + note;
  return result;
}

StatusOr<std::vector<Applied>> ApplyIndexes(const std::string& path,
                                            const std::vector<IndexSuggestion>& suggestions,
                                            std::chrono::milliseconds busy_timeout) {
  auto db =
      sqlite::Database::OpenExisting(path, sqlite::Database::Access::kReadWrite, busy_timeout);
  if (!db.ok()) return db.status();
  std::vector<Applied> applied;
  for (const auto& suggestion : suggestions) {
    Applied one{suggestion.statement, OkStatus()};
    sqlite::Transaction transaction(**db);
    one.status = transaction.status();
    if (one.status.ok()) one.status = (*db)->Exec(suggestion.statement);
    if (one.status.ok()) one.status = transaction.Commit();
    applied.push_back(std::move(one));
  }
  return applied;
}

}  // namespace mingus::collector::db
