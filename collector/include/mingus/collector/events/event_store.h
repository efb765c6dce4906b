#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mingus/collector/db/query_tally.h"
#include "mingus/common/clock.h"
#include "mingus/common/status.h"
#include "mingus/sqlite/database.h"
#include "mingus/wire/json_event.h"

// business_intelligence.db: the analytics events pulled from the agents' spools, each agent's
// cursor, the events set aside, and daily rollups. docs/events.md describes the tables.
namespace mingus::collector::events {

// The file in the collector's storage.path.
inline constexpr std::string_view kEventStoreFile = "business_intelligence.db";

// YYYY-MM-DD of a Unix time in milliseconds, in UTC: the days of the rollups and reports.
std::string DayOf(int64_t unix_ms);

// An error naming the first of `tables` that the store lacks, and what to do: a store that no
// collector of this version has opened yet, whose EventStore::Open would add the table (the UX
// tables filled from the stored events). A report refuses it rather than add the table itself: an
// older collector may still be writing there, and the events it stores after would be missing from
// the table for good.
Status RequireTables(sqlite::Database& db, std::initializer_list<std::string_view> tables);

// A score event is accurate when |predicted - actual| <= kAccurateWithin * |actual|: the
// daily_accuracy rollup counts them, the insights report shows their share.
inline constexpr double kAccurateWithin = 0.1;

// One line of an agent's GET /api/v1/events: {"cursor":N,"received":MS,"event":{...}}.
struct SpoolRecord {
  uint64_t cursor = 0;
  int64_t received_ms = 0;
  std::string_view event;  // the event's JSON, as the app sent it
};
// The agent writes these lines itself, so anything else is a broken response.
std::optional<SpoolRecord> ParseSpoolRecord(std::string_view line);

// Why an event was set aside rather than stored: the `reason` label of
// mingus_collector_events_rejected_total and the reason column of rejected_events.
enum class Rejection : uint8_t {
  kMalformed,           // not JSON, not an object, not UTF-8, nested too deep
  kUnknownType,         // no type, or not one DESIGN.md lists
  kMissingField,        // a field the type requires
  kWrongFieldType,      // e.g. a string where a number belongs
  kNegativeDuration,    // duration_ms below zero
  kNegativeValue,       // rows, input_size, usage_time or cost below zero
  kBadStatus,           // an HTTP status outside 100..599 or not whole
  kBadExperimentEvent,  // an experiment event other than exposure or conversion
  kBadFieldValue,       // any other impossible value (a number too large to be finite)
  kRatingOutOfRange,    // see CheckEvent
  kFutureTimestamp,     // ts further ahead than max_future_skew
  kTooOld,              // event time before the retention window
};
inline constexpr size_t kRejectionCount = 12;
std::string_view RejectionName(Rejection reason);  // "negative_duration", ...

// The limits an event is held to, beyond its wire schema.
struct CheckOptions {
  int64_t now_ms = 0;
  std::chrono::milliseconds retention{90ll * 86'400'000};
  std::chrono::milliseconds max_future_skew{60 * 60'000};
};
struct Verdict {
  std::optional<Rejection> rejection;  // none: store it
  std::string detail;                  // the field or value at fault
  int64_t time_ms = 0;                 // event time: its ts, else when the agent received it
};
// Parses `json` into `out` and decides whether it is stored. Ratings: kind "nps" 0 to 10 and
// whole, "csat" 1 to 5, any other kind 0 to 10.
Verdict CheckEvent(wire::JsonEventParser& parser, std::string_view json, int64_t received_ms,
                   const CheckOptions& options, wire::JsonEvent& out);

struct StoreOptions {
  std::chrono::milliseconds retention{90ll * 86'400'000};
  std::chrono::milliseconds rollup_retention{400ll * 86'400'000};
  std::chrono::milliseconds max_future_skew{60 * 60'000};
  // Users and sessions whose days seen (distinct_days) are kept in memory, each a hundred bytes
  // or so; those changed are written back when they are three quarters of it.
  size_t distinct_cache = 500'000;
  size_t retention_chunk = 20'000;  // rows retention deletes under the store's lock at a time
};

// What one Store call did.
struct StoreResult {
  uint64_t stored = 0;       // events new to the store
  uint64_t duplicates = 0;   // events at or before the agent's cursor, or already stored
  uint64_t bad_records = 0;  // lines that were not a spool record (skipped)
  uint64_t cursor = 0;       // the agent's cursor after this pull
  std::array<uint64_t, wire::kEventTypeCount> stored_by_type{};
  std::array<uint64_t, kRejectionCount> rejected{};  // newly set aside, by Rejection
  std::map<std::string, db::QueryRuns> db_by_fingerprint;  // the db events stored
};

// What retention deleted; rollup_rows counts what was derived from events (the rollups, the
// distinct_days of who was not seen since, negative_comments, the UX report's ux_interactions
// and ux_experiments).
struct RetentionResult {
  uint64_t events = 0, rejected = 0, rollup_rows = 0;
};

class DistinctDays;

struct AgentCursor {
  uint64_t cursor = 0;  // the last event stored or set aside; pulls ask after it
  uint64_t lost = 0;    // events the agent dropped (its spool was full) before we pulled them
  int64_t last_stored_ms = 0;
  std::string spool_id;  // the agent's spool these cursors count in
};

// Thread-safe: calls are serialised on one connection.
class EventStore {
 public:
  static StatusOr<std::unique_ptr<EventStore>> Open(const std::string& path, StoreOptions options,
                                                    const Clock& clock);
  ~EventStore();

  // Where the agent's next pull starts, in its latest spool; 0 for an agent not seen before.
  StatusOr<AgentCursor> Cursor(const std::string& agent);
  // Every agent's cursor in its latest spool, by agent (its instance label).
  StatusOr<std::map<std::string, AgentCursor>> Cursors();

  // Stores one pull of `agent` in one transaction: the records (spool lines) after its cursor,
  // each either as an event (with its rollups) or set aside with its reason, and the cursor
  // moved to last_cursor (the agent's X-Mingus-Last-Cursor) with `lost` added to its count. A
  // record at or before the stored cursor is a duplicate and changes nothing, so repeating a
  // pull (the collector crashed before its commit, or after) stores each event once.
  // `spool_id` (X-Mingus-Spool-Id, "" when the agent sends none) names the spool the cursors
  // count in: a new id for a known agent starts a new cursor at 0, so the caller must have
  // asked that spool from its beginning.
  StatusOr<StoreResult> Store(const std::string& agent, const std::string& spool_id,
                              const std::vector<std::string_view>& records, uint64_t last_cursor,
                              uint64_t lost);

  // Deletes events and events set aside whose time is before now - retention, and rollup days
  // before now - rollup_retention.
  StatusOr<RetentionResult> ApplyRetention();

  void SetOptions(const StoreOptions& options);
  // The file and its write-ahead log.
  uint64_t DiskBytes() const;
  // Users and sessions whose days seen are in memory (at most about StoreOptions::distinct_cache
  // and one pull's); read without waiting for a store.
  size_t DistinctCacheEntries() const { return distinct_entries_; }
  const std::string& moved_aside() const { return db_->moved_aside(); }
  const std::string& path() const { return db_->path(); }

 private:
  EventStore(std::unique_ptr<sqlite::Database> db, StoreOptions options, const Clock& clock);
  StatusOr<std::pair<int64_t, AgentCursor>> AgentRowLocked(const std::string& agent,
                                                           const std::string& spool_id);
  StatusOr<StoreResult> StoreLocked(const std::string& agent, const std::string& spool_id,
                                    const std::vector<std::string_view>& records,
                                    uint64_t last_cursor, uint64_t lost);
  // Deletes the distinct_days of those last seen before `before_day`, adding them to `deleted`.
  Status ForgetDistinctDays(int64_t before_day, uint64_t& deleted);

  mutable std::mutex mutex_;
  std::unique_ptr<sqlite::Database> db_;
  StoreOptions options_;
  const Clock& clock_;
  wire::JsonEventParser parser_;
  std::unique_ptr<DistinctDays> distinct_;  // distinct_days in memory; uses db_
  std::atomic<size_t> distinct_entries_{0};  // distinct_'s size after the last store
};

}  // namespace mingus::collector::events
