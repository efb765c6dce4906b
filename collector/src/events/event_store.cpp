#include "mingus/collector/events/event_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <boost/container/small_vector.hpp>
#include <boost/unordered/unordered_flat_map.hpp>
#include <cmath>
#include <functional>
#include <tuple>

#include "mingus/collector/events/sentiment.h"
#include "mingus/common/fast_hash.h"
#include "mingus/common/text.h"
#include "mingus/sql/fingerprint.h"

namespace mingus::collector::events {

namespace {

using wire::EventType;
using wire::JsonEvent;

// The event's fields, one column each (NULL when the event has none), named as on the wire.
constexpr std::pair<std::string_view, std::string_view JsonEvent::*> kTextColumns[] = {
    {"user_id", &JsonEvent::user_id},
    {"session_id", &JsonEvent::session_id},
    {"request_id", &JsonEvent::request_id},
    {"endpoint", &JsonEvent::endpoint},
    {"method", &JsonEvent::method},
    {"query", &JsonEvent::query},
    {"name", &JsonEvent::name},
    {"action", &JsonEvent::action},
    {"feature", &JsonEvent::feature},
    {"kind", &JsonEvent::kind},
    {"comment", &JsonEvent::comment},
    {"metric", &JsonEvent::metric},
    {"event_type", &JsonEvent::event_type},
    {"element_id", &JsonEvent::element_id},
    {"page_url", &JsonEvent::page_url},
    {"experiment", &JsonEvent::experiment},
    {"variant", &JsonEvent::variant},
    {"event", &JsonEvent::event},
    {"cache", &JsonEvent::cache},
    {"result", &JsonEvent::result},
    {"source", &JsonEvent::source},
};
constexpr std::pair<std::string_view, std::optional<double> JsonEvent::*> kNumberColumns[] = {
    {"status", &JsonEvent::status},
    {"duration_ms", &JsonEvent::duration_ms},
    {"rows", &JsonEvent::rows},
    {"input_size", &JsonEvent::input_size},
    {"usage_time", &JsonEvent::usage_time},
    {"rating", &JsonEvent::rating},
    {"value", &JsonEvent::value},
    {"cost", &JsonEvent::cost},
    {"predicted", &JsonEvent::predicted},
    {"actual", &JsonEvent::actual},
};
// agent_id, cursor, time_ms, received_ms, type, then the text and number columns, then cached.
constexpr int kFirstTextParam = 6;
constexpr int kFirstNumberParam = kFirstTextParam + std::size(kTextColumns);
constexpr int kCachedParam = kFirstNumberParam + std::size(kNumberColumns);

std::string Schema() {
  std::string fields;
  for (const auto& [name, member] : kTextColumns) fields += fmt::format("  {} TEXT,\n", name);
  for (const auto& [name, member] : kNumberColumns)
    fields += fmt::format("  {} {},\n", name, name == "status" ? "INTEGER" : "REAL");
  return fmt::format(R"(
CREATE TABLE IF NOT EXISTS agents (
  agent_id INTEGER PRIMARY KEY,
  instance TEXT NOT NULL,                  -- the scrape target's instance label
  spool_id TEXT NOT NULL DEFAULT '',       -- the agent's X-Mingus-Spool-Id ('' if it sends none)
  cursor INTEGER NOT NULL DEFAULT 0,       -- the last event stored or set aside
  lost INTEGER NOT NULL DEFAULT 0,         -- dropped by the agent (spool full) before pulled
  last_stored_ms INTEGER NOT NULL DEFAULT 0,
  UNIQUE (instance, spool_id)              -- a wiped agent's new spool is a new row
);
CREATE TABLE IF NOT EXISTS events (
  agent_id INTEGER NOT NULL,
  cursor INTEGER NOT NULL,                 -- the agent's number for the event
  time_ms INTEGER NOT NULL,                -- event time: its ts, else when the agent received it
  received_ms INTEGER NOT NULL,            -- when the agent received it
  type TEXT NOT NULL,
{}  cached INTEGER,
  UNIQUE (agent_id, cursor)
);
CREATE INDEX IF NOT EXISTS events_by_time ON events (time_ms);
-- Only the types some reader reads raw by time (the database optimizer's digests): an index of
-- every type cost each stored event an insert for nothing.
DROP INDEX IF EXISTS events_by_type_time;
CREATE INDEX IF NOT EXISTS db_events_by_time ON events (time_ms) WHERE type = 'db';
CREATE TABLE IF NOT EXISTS rejected_events (
  agent_id INTEGER NOT NULL,
  cursor INTEGER NOT NULL,
  received_ms INTEGER NOT NULL,
  reason TEXT NOT NULL,                    -- mingus_collector_events_rejected_total's reason
  detail TEXT NOT NULL,                    -- the field or value at fault
  json TEXT NOT NULL,                      -- the event as sent
  PRIMARY KEY (agent_id, cursor)
);
CREATE INDEX IF NOT EXISTS rejected_by_received ON rejected_events (received_ms);
CREATE TABLE IF NOT EXISTS daily_rollups (
  day TEXT NOT NULL,                       -- YYYY-MM-DD (UTC) of time_ms
  type TEXT NOT NULL,
  key TEXT NOT NULL,                       -- per type, see docs/events.md; '' when none
  subkey TEXT NOT NULL,
  outcome TEXT NOT NULL,
  events INTEGER NOT NULL,
  value_count INTEGER NOT NULL,            -- events that had the type's value
  value_sum REAL NOT NULL,
  value_min REAL,
  value_max REAL,
  cost_sum REAL NOT NULL,                  -- data_source events' cost
  PRIMARY KEY (day, type, key, subkey, outcome)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS users (
  user_id TEXT PRIMARY KEY,
  first_ms INTEGER NOT NULL,               -- the user's first event time: a registration
  first_day TEXT NOT NULL                  -- YYYY-MM-DD (UTC) of first_ms
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS users_by_first_day ON users (first_day);
CREATE TABLE IF NOT EXISTS daily_users (
  day TEXT NOT NULL,
  user_id TEXT NOT NULL,
  events INTEGER NOT NULL,
  PRIMARY KEY (day, user_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS distinct_days (
  type TEXT NOT NULL,                      -- engagement or feature; '' for any type
  key TEXT NOT NULL,                       -- its action or feature; '' for any
  ident TEXT NOT NULL,                     -- user or session
  value TEXT NOT NULL,                     -- the user_id or session_id
  days BLOB NOT NULL,                      -- the days it was seen on, ascending (see DayList)
  last_day INTEGER NOT NULL,               -- the latest of them, days since 1970
  PRIMARY KEY (type, key, ident, value)
) WITHOUT ROWID;
-- distinct_days holds each agent's events up to `cursor`; the later ones' days are in the
-- collector's memory (EventStore), and read from the events again after a crash.
CREATE TABLE IF NOT EXISTS distinct_days_cursor (
  agent_id INTEGER PRIMARY KEY,
  cursor INTEGER NOT NULL
);
-- A new agent gets its row with its agents row, so one without is of a store written before
-- this table, whose distinct_days holds every event stored.
INSERT OR IGNORE INTO distinct_days_cursor (agent_id, cursor) SELECT agent_id, cursor FROM agents;
CREATE TABLE IF NOT EXISTS daily_distinct (
  day TEXT NOT NULL,
  type TEXT NOT NULL,
  key TEXT NOT NULL,
  ident TEXT NOT NULL,
  previous TEXT NOT NULL,                  -- the latest day before `day` they were seen on; ''
  idents INTEGER NOT NULL,                 -- seen on `day`, with that previous day
  PRIMARY KEY (type, key, ident, day, previous)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS daily_feedback (
  day TEXT NOT NULL,
  kind TEXT NOT NULL,
  rating REAL NOT NULL,
  sentiment INTEGER NOT NULL,              -- SentimentScore of the comment; 0 without one
  responses INTEGER NOT NULL,
  comments INTEGER NOT NULL,               -- of the responses, those with a comment
  PRIMARY KEY (day, kind, rating, sentiment)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS daily_accuracy (
  day TEXT NOT NULL,
  name TEXT NOT NULL,
  events INTEGER NOT NULL,                 -- score events with predicted and actual
  error_sum REAL NOT NULL,                 -- of |predicted - actual|
  accurate INTEGER NOT NULL,               -- within kAccurateWithin of actual
  PRIMARY KEY (day, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS negative_comments (
  time_ms INTEGER NOT NULL,
  score INTEGER NOT NULL,                  -- SentimentScore, below 0
  kind TEXT NOT NULL,
  rating REAL NOT NULL,
  comment TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS negative_comments_by_score ON negative_comments (score, time_ms DESC);
)",
                     fields);
}

// The UX report's inputs, copied from the events as they are stored: narrow rows in time order,
// so that a period is one run of contiguous pages. Read from the wide `events` rows, of which a
// tenth were interactions, 30 days at 10 million events cost a page read per row (4.8 s). `seq`
// is the event's rowid, the order stored, which breaks ties in time. A store written before
// them gets them filled from its events, in one transaction with their creation; the partial
// indexes of events by time that the report read through go.
constexpr std::string_view kUxTables = R"(
CREATE TABLE ux_interactions (
  time_ms INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  user_id TEXT,                            -- the event's fields, NULL when it has none
  session_id TEXT,
  event_type TEXT,
  element_id TEXT,
  page_url TEXT,
  PRIMARY KEY (time_ms, seq)
) WITHOUT ROWID;
CREATE TABLE ux_experiments (
  time_ms INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  experiment TEXT,
  variant TEXT,
  user_id TEXT,
  conversion INTEGER NOT NULL,             -- 1 for a conversion, 0 for an exposure
  PRIMARY KEY (time_ms, seq)
) WITHOUT ROWID;
INSERT INTO ux_interactions
SELECT time_ms, rowid, user_id, session_id, event_type, element_id, page_url FROM events
WHERE type = 'interaction';
INSERT INTO ux_experiments
SELECT time_ms, rowid, experiment, variant, user_id, event = 'conversion' FROM events
WHERE type = 'experiment';
DROP INDEX IF EXISTS interactions_by_time;
DROP INDEX IF EXISTS experiments_by_time;
)";

std::string InsertEventSql() {
  std::string columns = "agent_id, cursor, time_ms, received_ms, type";
  for (const auto& [name, member] : kTextColumns) columns += fmt::format(", {}", name);
  for (const auto& [name, member] : kNumberColumns) columns += fmt::format(", {}", name);
  columns += ", cached";
  std::string params;
  for (int i = 1; i <= kCachedParam; ++i) params += fmt::format("{}?{}", i == 1 ? "" : ", ", i);
  return fmt::format("INSERT INTO events ({}) VALUES ({}) ON CONFLICT DO NOTHING", columns, params);
}

// What one event adds to its day's rollup row: the dimensions and the type's value.
struct RollupKey {
  std::string day, type, key, subkey, outcome;
  auto operator<=>(const RollupKey&) const = default;
};
struct RollupSums {
  int64_t events = 0, value_count = 0;
  double value_sum = 0, value_min = 0, value_max = 0, cost_sum = 0;
};

RollupKey RollupKeyOf(const JsonEvent& e, std::string day) {
  RollupKey k{std::move(day), std::string(wire::EventTypeName(e.type)), "", "", ""};
  switch (e.type) {
    case EventType::kApi:
      k.key = e.endpoint;
      k.subkey = e.method;
      if (e.status) k.outcome = fmt::format("{}xx", static_cast<int>(*e.status) / 100);
      break;
    case EventType::kDb:
      k.key = sql::Fingerprint(e.query);
      break;
    case EventType::kScore:
      k.key = e.name;
      if (e.cached) k.outcome = *e.cached ? "cached" : "computed";
      break;
    case EventType::kEngagement:
      k.key = e.action;
      break;
    case EventType::kFeature:
      k.key = e.feature;
      break;
    case EventType::kFeedback:
      k.key = e.kind;
      break;
    case EventType::kUserMetric:
      k.key = e.metric;
      break;
    case EventType::kInteraction:
      k.key = e.page_url;
      k.subkey = e.element_id;
      k.outcome = e.event_type;
      break;
    case EventType::kExperiment:
      k.key = e.experiment;
      k.subkey = e.variant;
      k.outcome = e.event;
      break;
    case EventType::kCache:
      k.key = e.cache;
      k.outcome = e.result;
      break;
    case EventType::kDataSource:
      k.key = e.source;
      break;
  }
  return k;
}

// The number a type's rollup sums: a duration, a usage time, a rating or a value.
std::optional<double> RollupValueOf(const JsonEvent& e) {
  switch (e.type) {
    case EventType::kApi:
    case EventType::kDb:
    case EventType::kScore:
      return e.duration_ms;
    case EventType::kEngagement:
    case EventType::kFeature:
      return e.usage_time;
    case EventType::kFeedback:
      return e.rating;
    case EventType::kUserMetric:
    case EventType::kDataSource:
      return e.value;
    default:
      return std::nullopt;
  }
}

void Add(RollupSums& sums, const JsonEvent& e) {
  ++sums.events;
  if (const auto value = RollupValueOf(e)) {
    sums.value_min = sums.value_count == 0 ? *value : std::min(sums.value_min, *value);
    sums.value_max = sums.value_count == 0 ? *value : std::max(sums.value_max, *value);
    ++sums.value_count;
    sums.value_sum += *value;
  }
  if (e.cost) sums.cost_sum += *e.cost;
}

constexpr int64_t kDayMs = 86'400'000;

// The distinct counts an event is in, as (type, key, ident, value): its user among the users of
// any event, and for an action (engagement) or a feature its user and its session. Store and
// the replay of the events not yet written back (DistinctDays) both ask here, so that they count
// the same.
template <typename Fn>
void ForEachDistinct(std::string_view type, std::string_view key, std::string_view user,
                     std::string_view session, Fn&& fn) {
  if (!user.empty()) fn("", "", "user", user);
  if (type != "engagement" && type != "feature") return;
  if (!user.empty()) fn(type, key, "user", user);
  if (!session.empty()) fn(type, key, "session", session);
}

// A user or session of one (type, key, ident), which DistinctDays::Kind numbers so that a key
// in memory is a number and the id.
struct DistinctKey {
  uint32_t kind = 0;
  std::string value;
};
// An event's key, looked up without copying its id.
struct DistinctKeyView {
  uint32_t kind = 0;
  std::string_view value;
};
// Transparent, so that DistinctKey and DistinctKeyView find the same entries. XXH3 seeded
// with the kind is well mixed, as boost::unordered_flat_map takes it (is_avalanching).
struct DistinctKeyHash {
  using is_transparent = void;
  using is_avalanching = void;
  size_t operator()(const DistinctKeyView& key) const noexcept {
    return XXH3_64bits_withSeed(key.value.data(), key.value.size(), key.kind);
  }
  size_t operator()(const DistinctKey& key) const noexcept {
    return (*this)(DistinctKeyView{key.kind, key.value});
  }
};
struct DistinctKeyEqual {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return a.kind == b.kind && std::string_view(a.value) == std::string_view(b.value);
  }
};
// Days since 1970, ascending; most users and sessions are seen on a day or few, held inline.
using Days = boost::container::small_vector<int32_t, 3>;

// How many of one kind were seen on a day (days since 1970) whose previous day seen was
// `previous` (-1: none).
struct DistinctDay {
  uint32_t kind = 0;
  int32_t day = 0, previous = -1;
  auto operator<=>(const DistinctDay&) const = default;
};
// A count distinct over days first..last is then the sum over those days of the rows whose
// previous day is before first: each counts once, on its first day in the run. Events arrive
// in any order, so a day seen before the latest one splits a gap: `days` is all that was seen,
// and `changes` (when given) gets what adding `day` changes.
void AddDay(Days& days, int32_t day, uint32_t kind, std::map<DistinctDay, int64_t>* changes) {
  const auto at = std::lower_bound(days.begin(), days.end(), day);
  if (at != days.end() && *at == day) return;
  if (changes) {
    const int32_t previous = at == days.begin() ? -1 : *std::prev(at);
    if (at != days.end()) {
      --(*changes)[{kind, *at, previous}];
      ++(*changes)[{kind, *at, day}];
    }
    ++(*changes)[{kind, day, previous}];
  }
  days.insert(at, day);
}

// distinct_days.days: each day as 4 bytes, little-endian.
std::string DayList(const Days& days) {
  std::string out(days.size() * 4, '\0');
  for (size_t i = 0; i < days.size(); ++i) {
    const auto day = static_cast<uint32_t>(days[i]);
    for (size_t b = 0; b < 4; ++b) out[i * 4 + b] = static_cast<char>((day >> (8 * b)) & 0xff);
  }
  return out;
}
Days DaysOf(std::string_view list) {
  Days days(list.size() / 4);
  for (size_t i = 0; i < days.size(); ++i) {
    uint32_t day = 0;
    for (size_t b = 0; b < 4; ++b)
      day |= static_cast<uint32_t>(static_cast<unsigned char>(list[i * 4 + b])) << (8 * b);
    days[i] = static_cast<int32_t>(day);
  }
  return days;
}

constexpr std::string_view kReadDays =
    "SELECT days FROM distinct_days WHERE type = ?1 AND key = ?2 AND ident = ?3 AND value = ?4";

// DayOf of the days (since 1970) a pull meets, each formatted once: a pull spans a day or two, and
// formatting each event's and each rollup row's day was a few per cent of a store.
class DayNames {
 public:
  const std::string& operator()(int32_t day) {
    auto [at, added] = names_.try_emplace(day);
    if (added) at->second = DayOf(int64_t{day} * kDayMs);
    return at->second;
  }

 private:
  std::map<int32_t, std::string> names_;
};

// Which keys distinct_days may hold, so that a key it has not is known new without a read: most
// keys not in memory are new (an app that makes a session per visit, a user's first use of an
// action), and each read was a B-tree descent to a random page. A Bloom filter of 10 bits a key
// (about 1 % of false yeses at capacity, which only cost the read), blocked: a key's 7 bits are
// in one 64-byte block, one cache miss a lookup. No false noes, so every count stays exact.
class KeyFilter {
 public:
  void Reset(size_t capacity) {
    capacity_ = capacity;
    added_ = 0;
    blocks_.assign(capacity * 10 / 512 + 1, Block{});
  }
  bool MayHold(uint64_t hash) const {
    const Block& block = blocks_[BlockOf(hash)];
    uint64_t bits = Bits(hash);
    for (int i = 0; i < 7; ++i, bits >>= 9) {
      if (!(block[(bits >> 6) & 7] & (uint64_t{1} << (bits & 63)))) return false;
    }
    return true;
  }
  void Add(uint64_t hash) {
    Block& block = blocks_[BlockOf(hash)];
    uint64_t bits = Bits(hash);
    for (int i = 0; i < 7; ++i, bits >>= 9) block[(bits >> 6) & 7] |= uint64_t{1} << (bits & 63);
    ++added_;
  }
  // Built (Reset) for fewer keys than it now holds: false yeses grow past 1 %.
  bool full() const { return added_ > capacity_; }
  bool empty() const { return blocks_.empty(); }

 private:
  using Block = std::array<uint64_t, 8>;
  size_t BlockOf(uint64_t hash) const {
    return static_cast<size_t>(((hash >> 32) * blocks_.size()) >> 32);
  }
  // The probes from the hash's other half, spread over 63 bits by a multiplication.
  static uint64_t Bits(uint64_t hash) { return (hash & 0xffffffff) * 0x9E3779B97F4A7C15ull; }

  std::vector<Block> blocks_;
  size_t capacity_ = 0, added_ = 0;
};

}  // namespace

// distinct_days, as much of it in memory as StoreOptions::distinct_cache allows: a user or
// session seen again is looked up and updated here, not in the table (each of those was a
// lookup and a rewrite of a row on a random page), and what the stores added since (dirty) is
// written back in one go, in the table's order, when three quarters of the cache are dirty and
// before retention. distinct_days_cursor says up to which cursor of each agent the table holds
// the events; after a crash, or a store that failed, the events after it are read again
// (Replay), so the counts stay exact.
class DistinctDays {
 public:
  uint32_t Kind(std::string_view type, std::string_view key, std::string_view ident) {
    scratch_.assign(type).append(1, '\0').append(key).append(1, '\0').append(ident);
    if (const auto it = kind_ids_.find(scratch_); it != kind_ids_.end()) return it->second;
    const auto kind = static_cast<uint32_t>(kinds_.size());
    kinds_.push_back({std::string(type), std::string(key), std::string(ident)});
    is_session_.push_back(ident == "session");
    kind_ids_.emplace(scratch_, kind);
    return kind;
  }

  // The days of the events stored since the last write-back, back in memory after a start or
  // a Forget (their daily_distinct counts were stored with them). Before a store inserts its
  // events, which it would otherwise take for stored before.
  Status Replay(sqlite::Database& db) {
    if (filter_.empty() || filter_.full()) {
      if (Status status = BuildFilter(db); !status.ok()) return status;
    }
    if (replayed_) return OkStatus();
    auto read = db.Prepare(kReadDays);
    if (!read.ok()) return read.status();
    auto events = db.Prepare(R"(
SELECT e.type, CASE e.type WHEN 'engagement' THEN e.action ELSE e.feature END, e.user_id,
       e.session_id, e.time_ms
FROM events e JOIN distinct_days_cursor c ON e.agent_id = c.agent_id AND e.cursor > c.cursor)");
    if (!events.ok()) return events.status();
    Status failed;
    while (failed.ok() && events->Step()) {
      const auto day = static_cast<int32_t>(events->Int(4) / kDayMs);
      ForEachDistinct(events->Text(0), events->Text(1), events->Text(2), events->Text(3),
                      [&](std::string_view type, std::string_view key, std::string_view ident,
                          std::string_view value) {
                        if (failed.ok())
                          failed =
                              See(*read, {Kind(type, key, ident), value}, day, nullptr).status();
                      });
    }
    if (!failed.ok()) return failed;
    if (!events->status().ok()) return events->status();
    replayed_ = true;
    return OkStatus();
  }

  // Adds the day of an event to one of its keys (read with `read`, kReadDays, when not in
  // memory), and to `changes` what that changes in daily_distinct; returns the first day the
  // key was seen. Each event's keys come straight here (after Replay): gathering a pull's keys
  // first cost a second map of strings.
  StatusOr<int32_t> See(sqlite::Statement& read, const DistinctKeyView& key, int32_t day,
                        std::map<DistinctDay, int64_t>* changes) {
    auto found = Find(read, key);
    if (!found.ok()) return found.status();
    Entry& entry = **found;
    const size_t known = entry.days.size();
    AddDay(entry.days, day, key.kind, changes);
    if (entry.days.size() != known && !entry.dirty) {
      entry.dirty = true;
      ++dirty_;
    }
    return entry.days.front();
  }

  // Adds a pull's changes (See) to daily_distinct.
  Status Count(sqlite::Database& db, const std::map<DistinctDay, int64_t>& changes,
               DayNames& day_names) {
    auto count = db.Prepare(
        "INSERT INTO daily_distinct (day, type, key, ident, previous, idents) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO UPDATE SET idents = idents + "
        "excluded.idents");
    if (!count.ok()) return count.status();
    for (const auto& [key, change] : changes) {
      if (change == 0) continue;
      const auto& [type, of, ident] = kinds_[key.kind];
      count->Bind(1, day_names(key.day))
          .Bind(2, type)
          .Bind(3, of)
          .Bind(4, ident)
          .Bind(5, key.previous < 0 ? std::string_view("") : day_names(key.previous))
          .Bind(6, change);
      if (Status status = count->Run(); !status.ok()) return status;
    }
    return OkStatus();
  }

  // Three quarters rather than half: a user seen every day or two is rewritten once in a longer
  // stretch of days (11 to 13 % faster at 1 and 3 million events in the bench; seven eighths
  // left too few clean entries, and more keys were read again).
  bool WriteBackDue(size_t capacity) const { return dirty_ >= capacity * 3 / 4; }
  size_t size() const { return entries_.size(); }

  // Writes what is dirty to distinct_days and moves distinct_days_cursor to the agents'
  // cursors, in the caller's transaction (with the cursors it moves).
  Status WriteBack(sqlite::Database& db) {
    if (Status status = Replay(db); !status.ok()) return status;
    // In the table's order: each kind's place in it first, so that the sort compares a number
    // where it compared the kinds' three strings.
    std::vector<uint32_t> order(kinds_.size()), place(kinds_.size());
    for (uint32_t kind = 0; kind < order.size(); ++kind) order[kind] = kind;
    std::sort(order.begin(), order.end(),
              [this](uint32_t a, uint32_t b) { return kinds_[a] < kinds_[b]; });
    for (uint32_t at = 0; at < order.size(); ++at) place[order[at]] = at;
    std::vector<std::tuple<uint32_t, const DistinctKey*, Entry*>> dirty;
    dirty.reserve(dirty_);
    for (auto& [key, entry] : entries_) {
      if (entry.dirty) dirty.emplace_back(place[key.kind], &key, &entry);
    }
    std::sort(dirty.begin(), dirty.end(), [](const auto& a, const auto& b) {
      if (std::get<0>(a) != std::get<0>(b)) return std::get<0>(a) < std::get<0>(b);
      return std::get<1>(a)->value < std::get<1>(b)->value;
    });
    // An upsert finds the row once; REPLACE would delete it and insert it again.
    auto write = db.Prepare(
        "INSERT INTO distinct_days (type, key, ident, value, days, last_day) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
        "ON CONFLICT DO UPDATE SET days = excluded.days, last_day = excluded.last_day");
    if (!write.ok()) return write.status();
    for (const auto& [place_of_kind, key, entry] : dirty) {
      const auto& [type, of, ident] = kinds_[key->kind];
      write->Bind(1, type)
          .Bind(2, of)
          .Bind(3, ident)
          .Bind(4, key->value)
          .BindBlob(5, DayList(entry->days))
          .Bind(6, int64_t{entry->days.back()});
      if (Status status = write->Run(); !status.ok()) return status;
      entry->dirty = false;
    }
    dirty_ = 0;
    return db.Exec(
        "UPDATE distinct_days_cursor SET cursor = "
        "(SELECT cursor FROM agents WHERE agents.agent_id = distinct_days_cursor.agent_id)");
  }

  // After a commit: clean entries beyond `capacity` go, down to half of it, sessions first (a
  // session is rarely seen after its day or two, a user is every day they come back).
  void Trim(size_t capacity) {
    if (entries_.size() <= capacity) return;
    for (const bool sessions_only : {true, false}) {
      for (auto it = entries_.begin(); it != entries_.end() && entries_.size() > capacity / 2;) {
        const bool evict = !it->second.dirty && (!sessions_only || is_session_[it->first.kind]);
        if (evict) {
          entries_.erase(it++);  // erasing leaves the other entries where they are
        } else {
          ++it;
        }
      }
    }
  }

  // After a rollback (what is in memory may hold days that were not stored) and after
  // retention deleted rows: the next use reads the table and replays the events again.
  void Forget() {
    entries_.clear();
    dirty_ = 0;
    replayed_ = false;
  }

 private:
  struct Entry {
    Days days;  // every day seen: the table's and the dirty ones
    bool dirty = false;
  };

  // The key's entry, read from distinct_days when not in memory and maybe there (filter_); a
  // key it finds will be written back, so the filter gets it.
  StatusOr<Entry*> Find(sqlite::Statement& read, const DistinctKeyView& key) {
    if (const auto it = entries_.find(key); it != entries_.end()) return &it->second;
    const uint64_t hash = DistinctKeyHash()(key);
    Entry entry;
    if (filter_.MayHold(hash)) {
      const auto& [type, of, ident] = kinds_[key.kind];
      read.Bind(1, type).Bind(2, of).Bind(3, ident).Bind(4, key.value);
      if (read.Step()) entry.days = DaysOf(read.Blob(0));
      if (Status status = read.Run(); !status.ok()) return status;
    } else {
      filter_.Add(hash);
    }
    return &entries_.emplace(DistinctKey{key.kind, std::string(key.value)}, std::move(entry))
                .first->second;
  }

  // filter_ from every key of the table and in memory (the dirty ones are not in the table yet),
  // for twice as many keys as that (and at least kMinFilterKeys), so that it is rebuilt each time
  // the keys doubled: at the first store after a start, a scan of the table.
  Status BuildFilter(sqlite::Database& db) {
    auto count = db.Prepare("SELECT count(*) FROM distinct_days");
    if (!count.ok()) return count.status();
    if (!count->Step()) return count->status();
    filter_.Reset(2 * (static_cast<size_t>(count->Int(0)) + entries_.size()) + kMinFilterKeys);
    for (const auto& [key, entry] : entries_) filter_.Add(DistinctKeyHash()(key));
    auto keys = db.Prepare("SELECT type, key, ident, value FROM distinct_days");
    if (!keys.ok()) return keys.status();
    // In the table's order: a kind's rows are together, so it is looked up once (ident is
    // never '', so the first row looks its kind up).
    std::array<std::string, 3> of;
    uint32_t kind = 0;
    while (keys->Step()) {
      if (of[0] != keys->Text(0) || of[1] != keys->Text(1) || of[2] != keys->Text(2)) {
        for (int i = 0; i < 3; ++i) of[static_cast<size_t>(i)] = keys->Text(i);
        kind = Kind(of[0], of[1], of[2]);
      }
      filter_.Add(DistinctKeyHash()(DistinctKeyView{kind, keys->Text(3)}));
    }
    return keys->status();
  }

  std::vector<std::array<std::string, 3>> kinds_;          // type, key, ident of each kind
  std::vector<bool> is_session_;                           // of each kind
  std::map<std::string, uint32_t, std::less<>> kind_ids_;  // "type\0key\0ident" -> kind
  std::string scratch_;
  // Open addressing: most lookups miss the CPU's caches (500 000 entries), and std::unordered_map
  // took three or four misses each (bucket, node before, node, next node), this one or two.
  // Pointers to entries last until the next insertion.
  boost::unordered_flat_map<DistinctKey, Entry, DistinctKeyHash, DistinctKeyEqual> entries_;
  static constexpr size_t kMinFilterKeys = 1024;
  KeyFilter filter_;  // kept through Forget: a key retention deleted only costs a read
  size_t dirty_ = 0;
  bool replayed_ = false;
};

namespace {

struct FeedbackKey {
  std::string day, kind;
  double rating = 0;
  int sentiment = 0;
  auto operator<=>(const FeedbackKey&) const = default;
};
struct FeedbackSums {
  int64_t responses = 0, comments = 0;
};
struct AccuracySums {
  int64_t events = 0, accurate = 0;
  double error_sum = 0;
};

// What one pull adds to the rollups, summed in memory so that each row is written once.
struct PullRollups {
  std::map<RollupKey, RollupSums> rollups;
  // (day, user) -> events, the day in the key's kind: looked up without copying the user.
  boost::unordered_flat_map<DistinctKey, int64_t, DistinctKeyHash, DistinctKeyEqual> users;
  std::map<std::string, int64_t> first_seen;                     // user -> earliest time
  std::map<DistinctDay, int64_t> distinct;                       // daily_distinct changes
  std::map<FeedbackKey, FeedbackSums> feedback;
  std::map<std::pair<std::string, std::string>, AccuracySums> accuracy;  // (day, name)
  DayNames day_names;

  // `read_days` is kReadDays, for the distinct keys not in memory.
  Status AddEvent(const JsonEvent& e, int64_t time_ms, DistinctDays& distinct_days,
                  sqlite::Statement& read_days) {
    const auto day_number = static_cast<int32_t>(time_ms / kDayMs);  // within retention: >= 0
    std::string day = day_names(day_number);
    Status status;
    bool user_seen_before = false;  // on an earlier day
    ForEachDistinct(
        wire::EventTypeName(e.type), e.type == EventType::kEngagement ? e.action : e.feature,
        e.user_id, e.session_id,
        [&](std::string_view type, std::string_view key, std::string_view ident,
            std::string_view value) {
          if (!status.ok()) return;
          const auto first_day = distinct_days.See(
              read_days, {distinct_days.Kind(type, key, ident), value}, day_number, &distinct);
          if (!first_day.ok()) {
            status = first_day.status();
            return;
          }
          if (type.empty()) user_seen_before = *first_day < day_number;
        });
    if (!status.ok()) return status;
    if (!e.user_id.empty()) {
      const DistinctKeyView user{static_cast<uint32_t>(day_number), e.user_id};
      if (const auto seen = users.find(user); seen != users.end()) {
        ++seen->second;
      } else {
        users.emplace(DistinctKey{user.kind, std::string(user.value)}, 1);
      }
      // A user seen on an earlier day has an earlier first_ms in users, or in first_seen when
      // that day came in this pull: only the others need the row looked up (most of them).
      if (!user_seen_before) {
        const auto [seen, added] = first_seen.emplace(e.user_id, time_ms);
        if (!added) seen->second = std::min(seen->second, time_ms);
      }
    }
    if (e.type == EventType::kFeedback && e.rating) {
      const int sentiment = e.comment.empty() ? 0 : SentimentScore(e.comment);
      FeedbackSums& sums = feedback[{day, std::string(e.kind), *e.rating, sentiment}];
      ++sums.responses;
      if (!e.comment.empty()) ++sums.comments;
    }
    if (e.type == EventType::kScore && e.predicted && e.actual) {
      AccuracySums& sums = accuracy[{day, std::string(e.name)}];
      const double error = std::fabs(*e.predicted - *e.actual);
      ++sums.events;
      sums.error_sum += error;
      if (error <= kAccurateWithin * std::fabs(*e.actual)) ++sums.accurate;
    }
    Add(rollups[RollupKeyOf(e, std::move(day))], e);
    return OkStatus();
  }
};

Rejection FromParseError(wire::JsonEventError error, const JsonEvent& partial,
                         std::string_view field) {
  using wire::JsonEventError;
  switch (error) {
    case JsonEventError::kUnknownType:
      return Rejection::kUnknownType;
    case JsonEventError::kMissingField:
      return Rejection::kMissingField;
    case JsonEventError::kWrongFieldType:
      return Rejection::kWrongFieldType;
    case JsonEventError::kBadFieldValue:
      break;
    default:
      return Rejection::kMalformed;
  }
  // The parser stops at the first impossible value, with that field already filled in.
  const auto negative = [](const std::optional<double>& v) { return v && *v < 0; };
  if (field == "duration_ms" && negative(partial.duration_ms)) return Rejection::kNegativeDuration;
  for (const auto& [name, member] :
       {std::pair{"rows", &JsonEvent::rows}, std::pair{"input_size", &JsonEvent::input_size},
        std::pair{"usage_time", &JsonEvent::usage_time}, std::pair{"cost", &JsonEvent::cost}}) {
    if (field == name && negative(partial.*member)) return Rejection::kNegativeValue;
  }
  if (field == "status") return Rejection::kBadStatus;
  if (field == "event") return Rejection::kBadExperimentEvent;
  return Rejection::kBadFieldValue;
}

}  // namespace

std::string DayOf(int64_t unix_ms) {
  using namespace std::chrono;
  const year_month_day day{floor<days>(sys_time<milliseconds>(milliseconds(unix_ms)))};
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(day.year()),
                     static_cast<unsigned>(day.month()), static_cast<unsigned>(day.day()));
}

Status RequireTables(sqlite::Database& db, std::initializer_list<std::string_view> tables) {
  auto exists = db.Prepare("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?1");
  if (!exists.ok()) return exists.status();
  for (const std::string_view table : tables) {
    exists->Bind(1, table);
    const bool found = exists->Step() && exists->Int(0) > 0;
    if (!exists->status().ok()) return exists->status();
    exists->Reset();
    if (!found) {
      return Status::Error(fmt::format(
          "{} has no table {}: no collector of this version has opened it yet; start this "
          "version's collector on it once (it brings the store's tables up to date), then run "
          "the report again",
          db.path(), table));
    }
  }
  return OkStatus();
}

std::optional<SpoolRecord> ParseSpoolRecord(std::string_view line) {
  constexpr std::string_view kCursor = R"({"cursor":)", kReceived = R"(,"received":)",
                             kEvent = R"(,"event":)";
  SpoolRecord record;
  if (!line.starts_with(kCursor) || !line.ends_with('}')) return std::nullopt;
  line.remove_prefix(kCursor.size());
  const size_t received_at = line.find(kReceived);
  if (received_at == std::string_view::npos) return std::nullopt;
  const auto cursor = text::ParseUint64(line.substr(0, received_at));
  line.remove_prefix(received_at + kReceived.size());
  const size_t event_at = line.find(kEvent);
  if (event_at == std::string_view::npos) return std::nullopt;
  const auto received = text::ParseInt64(line.substr(0, event_at));
  if (!cursor || *cursor == 0 || !received) return std::nullopt;
  record.cursor = *cursor;
  record.received_ms = *received;
  record.event = line.substr(event_at + kEvent.size());
  record.event.remove_suffix(1);
  if (record.event.empty()) return std::nullopt;
  return record;
}

std::string_view RejectionName(Rejection reason) {
  switch (reason) {
    case Rejection::kMalformed:
      return "malformed";
    case Rejection::kUnknownType:
      return "unknown_type";
    case Rejection::kMissingField:
      return "missing_field";
    case Rejection::kWrongFieldType:
      return "wrong_field_type";
    case Rejection::kNegativeDuration:
      return "negative_duration";
    case Rejection::kNegativeValue:
      return "negative_value";
    case Rejection::kBadStatus:
      return "bad_status";
    case Rejection::kBadExperimentEvent:
      return "bad_experiment_event";
    case Rejection::kBadFieldValue:
      return "bad_field_value";
    case Rejection::kRatingOutOfRange:
      return "rating_out_of_range";
    case Rejection::kFutureTimestamp:
      return "future_timestamp";
    case Rejection::kTooOld:
      return "too_old";
  }
  return "unknown";
}

Verdict CheckEvent(wire::JsonEventParser& parser, std::string_view json, int64_t received_ms,
                   const CheckOptions& options, JsonEvent& out) {
  Verdict verdict;
  verdict.time_ms = received_ms;
  if (const auto error = parser.Parse(json, out)) {
    verdict.rejection = FromParseError(*error, out, parser.detail());
    verdict.detail = parser.detail().empty() ? std::string(wire::ReasonName(*error))
                                             : std::string(parser.detail());
    return verdict;
  }
  const auto reject = [&](Rejection reason, std::string detail) {
    verdict.rejection = reason;
    verdict.detail = std::move(detail);
    return verdict;
  };
  if (out.rating) {
    const double rating = *out.rating;
    const auto [low, high] = out.kind == "csat" ? std::pair{1.0, 5.0} : std::pair{0.0, 10.0};
    if (rating < low || rating > high || (out.kind == "nps" && std::floor(rating) != rating)) {
      return reject(Rejection::kRatingOutOfRange,
                    fmt::format("rating {} of kind {} is not in [{}, {}]{}", rating, out.kind, low,
                                high, out.kind == "nps" ? " and whole" : ""));
    }
  }
  if (out.ts) {
    // Seconds as sent; beyond int64 milliseconds it is far in the future or the past anyway.
    const double ms = std::clamp(*out.ts * 1000, -9.2e18, 9.2e18);
    verdict.time_ms = static_cast<int64_t>(std::floor(ms));
  }
  if (verdict.time_ms > options.now_ms + options.max_future_skew.count()) {
    return reject(Rejection::kFutureTimestamp,
                  fmt::format("event time {} is {:.0f}s ahead of the collector's clock",
                              static_cast<double>(verdict.time_ms) / 1000,
                              static_cast<double>(verdict.time_ms - options.now_ms) / 1000));
  }
  if (verdict.time_ms < options.now_ms - options.retention.count()) {
    return reject(Rejection::kTooOld, fmt::format("event time {} is before the retention window",
                                                  static_cast<double>(verdict.time_ms) / 1000));
  }
  return verdict;
}

EventStore::EventStore(std::unique_ptr<sqlite::Database> db, StoreOptions options,
                       const Clock& clock)
    : db_(std::move(db)),
      options_(options),
      clock_(clock),
      distinct_(std::make_unique<DistinctDays>()) {}

EventStore::~EventStore() = default;

StatusOr<std::unique_ptr<EventStore>> EventStore::Open(const std::string& path,
                                                       StoreOptions options, const Clock& clock) {
  auto db = sqlite::Database::Open(path);
  if (!db.ok()) return db.status();
  bool ux_tables_missing = false;
  {  // the statement ends here: a pending read of sqlite_master would lock out DROP INDEX
    auto ux_tables =
        (*db)->Prepare("SELECT count(*) FROM sqlite_master WHERE name = 'ux_interactions'");
    if (!ux_tables.ok()) return ux_tables.status();
    ux_tables_missing = ux_tables->Step() && ux_tables->Int(0) == 0;
    if (!ux_tables->status().ok()) return ux_tables->status();
  }
  if (Status status = (*db)->Exec(Schema()); !status.ok()) return status;
  if (ux_tables_missing) {
    sqlite::Transaction transaction(**db);
    if (!transaction.status().ok()) return transaction.status();
    if (Status status = (*db)->Exec(kUxTables); !status.ok()) return status;
    if (Status status = transaction.Commit(); !status.ok()) return status;
  }
  // A pull looks up and updates the distinct_days of thousands of users and sessions spread
  // over the table: 64 MB of pages (the default is 2 MB) keeps the users' part in memory.
  if (Status status = (*db)->Exec("PRAGMA cache_size = -65536"); !status.ok()) return status;
  return std::unique_ptr<EventStore>(new EventStore(std::move(db).value(), options, clock));
}

void EventStore::SetOptions(const StoreOptions& options) {
  std::lock_guard lock(mutex_);
  options_ = options;
}

namespace {

constexpr std::string_view kLatestRow =
    "SELECT agent_id, cursor, lost, last_stored_ms, spool_id FROM agents WHERE instance = ?1 "
    "ORDER BY agent_id DESC LIMIT 1";

Status WriteRollups(sqlite::Database& db, PullRollups& pull, DistinctDays& distinct) {
  auto rollup = db.Prepare(R"(
INSERT INTO daily_rollups (day, type, key, subkey, outcome, events, value_count, value_sum,
                           value_min, value_max, cost_sum)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
ON CONFLICT DO UPDATE SET
  events = events + excluded.events,
  value_count = value_count + excluded.value_count,
  value_sum = value_sum + excluded.value_sum,
  value_min = CASE WHEN value_min IS NULL THEN excluded.value_min
                   WHEN excluded.value_min IS NULL THEN value_min
                   ELSE min(value_min, excluded.value_min) END,
  value_max = CASE WHEN value_max IS NULL THEN excluded.value_max
                   WHEN excluded.value_max IS NULL THEN value_max
                   ELSE max(value_max, excluded.value_max) END,
  cost_sum = cost_sum + excluded.cost_sum)");
  if (!rollup.ok()) return rollup.status();
  for (const auto& [key, sums] : pull.rollups) {
    rollup->Bind(1, key.day)
        .Bind(2, key.type)
        .Bind(3, key.key)
        .Bind(4, key.subkey)
        .Bind(5, key.outcome)
        .Bind(6, sums.events)
        .Bind(7, sums.value_count)
        .Bind(8, sums.value_sum)
        .Bind(11, sums.cost_sum);
    if (sums.value_count > 0) rollup->Bind(9, sums.value_min).Bind(10, sums.value_max);
    if (Status status = rollup->Run(); !status.ok()) return status;
  }
  auto user = db.Prepare(
      "INSERT INTO daily_users (day, user_id, events) VALUES (?1, ?2, ?3) "
      "ON CONFLICT DO UPDATE SET events = events + excluded.events");
  if (!user.ok()) return user.status();
  // In the table's order, (day, user), so that the rows of a page are written together.
  std::vector<std::pair<const DistinctKey*, int64_t>> users;
  users.reserve(pull.users.size());
  for (const auto& [key, count] : pull.users) users.emplace_back(&key, count);
  std::sort(users.begin(), users.end(), [](const auto& a, const auto& b) {
    return std::tie(a.first->kind, a.first->value) < std::tie(b.first->kind, b.first->value);
  });
  for (const auto& [key, count] : users) {
    if (Status status = user->Bind(1, pull.day_names(static_cast<int32_t>(key->kind)))
                            .Bind(2, key->value)
                            .Bind(3, count)
                            .Run();
        !status.ok())
      return status;
  }
  // Only an earlier time rewrites the row (a row rewritten is a page written to the log).
  auto first = db.Prepare(
      "INSERT INTO users (user_id, first_ms, first_day) VALUES (?1, ?2, ?3) "
      "ON CONFLICT DO UPDATE SET first_ms = excluded.first_ms, first_day = excluded.first_day "
      "WHERE excluded.first_ms < first_ms");
  if (!first.ok()) return first.status();
  for (const auto& [user_id, time_ms] : pull.first_seen) {
    if (Status status = first->Bind(1, user_id)
                            .Bind(2, time_ms)
                            .Bind(3, pull.day_names(static_cast<int32_t>(time_ms / kDayMs)))
                            .Run();
        !status.ok())
      return status;
  }
  auto feedback = db.Prepare(
      "INSERT INTO daily_feedback (day, kind, rating, sentiment, responses, comments) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO UPDATE SET "
      "responses = responses + excluded.responses, comments = comments + excluded.comments");
  if (!feedback.ok()) return feedback.status();
  for (const auto& [key, sums] : pull.feedback) {
    if (Status status = feedback->Bind(1, key.day)
                            .Bind(2, key.kind)
                            .Bind(3, key.rating)
                            .Bind(4, int64_t{key.sentiment})
                            .Bind(5, sums.responses)
                            .Bind(6, sums.comments)
                            .Run();
        !status.ok())
      return status;
  }
  auto accuracy = db.Prepare(
      "INSERT INTO daily_accuracy (day, name, events, error_sum, accurate) "
      "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO UPDATE SET events = events + excluded.events, "
      "error_sum = error_sum + excluded.error_sum, accurate = accurate + excluded.accurate");
  if (!accuracy.ok()) return accuracy.status();
  for (const auto& [key, sums] : pull.accuracy) {
    if (Status status = accuracy->Bind(1, key.first)
                            .Bind(2, key.second)
                            .Bind(3, sums.events)
                            .Bind(4, sums.error_sum)
                            .Bind(5, sums.accurate)
                            .Run();
        !status.ok())
      return status;
  }
  return distinct.Count(db, pull.distinct, pull.day_names);
}

AgentCursor CursorOf(const sqlite::Statement& row) {
  return {static_cast<uint64_t>(row.Int(1)), static_cast<uint64_t>(row.Int(2)), row.Int(3),
          std::string(row.Text(4))};
}

}  // namespace

StatusOr<std::pair<int64_t, AgentCursor>> EventStore::AgentRowLocked(const std::string& agent,
                                                                     const std::string& spool_id) {
  auto latest = db_->Prepare(kLatestRow);
  if (!latest.ok()) return latest.status();
  latest->Bind(1, agent);
  if (latest->Step()) {
    std::pair row{latest->Int(0), CursorOf(*latest)};
    // The same spool; or an agent that names none; or one that names it for the first time
    // (upgraded, its spool kept).
    if (row.second.spool_id == spool_id || spool_id.empty()) return row;
    if (row.second.spool_id.empty()) {
      auto adopt = db_->Prepare("UPDATE agents SET spool_id = ?2 WHERE agent_id = ?1");
      if (!adopt.ok()) return adopt.status();
      if (Status status = adopt->Bind(1, row.first).Bind(2, spool_id).Run(); !status.ok())
        return status;
      row.second.spool_id = spool_id;
      return row;
    }
  } else if (!latest->status().ok()) {
    return latest->status();
  }
  // A new agent, or a new spool of a known one (its cursors start again at 1): a row of its
  // own, so that its cursors are not taken for the old spool's.
  auto insert = db_->Prepare("INSERT INTO agents (instance, spool_id) VALUES (?1, ?2)");
  if (!insert.ok()) return insert.status();
  if (Status status = insert->Bind(1, agent).Bind(2, spool_id).Run(); !status.ok()) return status;
  const int64_t agent_id = db_->LastInsertId();
  auto written = db_->Prepare("INSERT INTO distinct_days_cursor (agent_id, cursor) VALUES (?1, 0)");
  if (!written.ok()) return written.status();
  if (Status status = written->Bind(1, agent_id).Run(); !status.ok()) return status;
  return std::pair{agent_id, AgentCursor{0, 0, 0, spool_id}};
}

StatusOr<AgentCursor> EventStore::Cursor(const std::string& agent) {
  std::lock_guard lock(mutex_);
  auto latest = db_->Prepare(kLatestRow);
  if (!latest.ok()) return latest.status();
  latest->Bind(1, agent);
  if (!latest->Step()) {
    if (!latest->status().ok()) return latest->status();
    return AgentCursor{};
  }
  return CursorOf(*latest);
}

StatusOr<std::map<std::string, AgentCursor>> EventStore::Cursors() {
  std::lock_guard lock(mutex_);
  auto select = db_->Prepare(
      "SELECT instance, cursor, lost, last_stored_ms, spool_id FROM agents ORDER BY agent_id");
  if (!select.ok()) return select.status();
  std::map<std::string, AgentCursor> out;
  while (select->Step()) out[std::string(select->Text(0))] = CursorOf(*select);
  if (!select->status().ok()) return select->status();
  return out;
}

StatusOr<StoreResult> EventStore::Store(const std::string& agent, const std::string& spool_id,
                                        const std::vector<std::string_view>& records,
                                        uint64_t last_cursor, uint64_t lost) {
  std::lock_guard lock(mutex_);
  auto result = StoreLocked(agent, spool_id, records, last_cursor, lost);
  if (result.ok()) {
    distinct_->Trim(options_.distinct_cache);
  } else {
    distinct_->Forget();  // rolled back: the days it added in memory were not stored
  }
  distinct_entries_ = distinct_->size();
  return result;
}

StatusOr<StoreResult> EventStore::StoreLocked(const std::string& agent, const std::string& spool_id,
                                              const std::vector<std::string_view>& records,
                                              uint64_t last_cursor, uint64_t lost) {
  const int64_t now_ms = UnixMillis(clock_);
  const CheckOptions check{now_ms, options_.retention, options_.max_future_skew};
  sqlite::Transaction transaction(*db_);
  if (!transaction.status().ok()) return transaction.status();
  if (Status status = distinct_->Replay(*db_); !status.ok()) return status;
  auto row = AgentRowLocked(agent, spool_id);
  if (!row.ok()) return row.status();
  const auto [agent_id, before] = *row;

  static const std::string kInsertEvent = InsertEventSql();
  auto insert = db_->Prepare(kInsertEvent);
  if (!insert.ok()) return insert.status();
  auto reject = db_->Prepare(
      "INSERT INTO rejected_events (agent_id, cursor, received_ms, reason, detail, json) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING");
  if (!reject.ok()) return reject.status();

  auto negative = db_->Prepare(
      "INSERT INTO negative_comments (time_ms, score, kind, rating, comment) "
      "VALUES (?1, ?2, ?3, ?4, ?5)");
  if (!negative.ok()) return negative.status();
  auto read_days = db_->Prepare(kReadDays);
  if (!read_days.ok()) return read_days.status();
  auto ux_interaction = db_->Prepare(
      "INSERT INTO ux_interactions (time_ms, seq, user_id, session_id, event_type, element_id, "
      "page_url) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  if (!ux_interaction.ok()) return ux_interaction.status();
  auto ux_experiment = db_->Prepare(
      "INSERT INTO ux_experiments (time_ms, seq, experiment, variant, user_id, conversion) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  if (!ux_experiment.ok()) return ux_experiment.status();
  // NULL for a field the event has none of.
  const auto bind_text = [](sqlite::Statement& statement, int param, std::string_view text) {
    if (!text.empty()) statement.Bind(param, text);
  };

  StoreResult result;
  PullRollups pull;
  JsonEvent event;
  uint64_t newest = before.cursor;
  for (const std::string_view line : records) {
    const auto record = ParseSpoolRecord(line);
    if (!record) {
      ++result.bad_records;
      continue;
    }
    if (record->cursor <= before.cursor) {
      ++result.duplicates;
      continue;
    }
    newest = std::max(newest, record->cursor);
    const Verdict verdict = CheckEvent(parser_, record->event, record->received_ms, check, event);
    if (verdict.rejection) {
      reject->Bind(1, agent_id)
          .Bind(2, static_cast<int64_t>(record->cursor))
          .Bind(3, record->received_ms)
          .Bind(4, RejectionName(*verdict.rejection))
          .Bind(5, verdict.detail)
          .Bind(6, record->event);
      if (Status status = reject->Run(); !status.ok()) return status;
      if (db_->Changes() > 0) {
        ++result.rejected[static_cast<size_t>(*verdict.rejection)];
      } else {
        ++result.duplicates;
      }
      continue;
    }
    insert->Bind(1, agent_id)
        .Bind(2, static_cast<int64_t>(record->cursor))
        .Bind(3, verdict.time_ms)
        .Bind(4, record->received_ms)
        .Bind(5, wire::EventTypeName(event.type));
    int param = kFirstTextParam;
    for (const auto& [name, member] : kTextColumns) bind_text(*insert, param++, event.*member);
    for (const auto& [name, member] : kNumberColumns) {
      if (event.*member) insert->Bind(param, *(event.*member));
      ++param;
    }
    if (event.cached) insert->Bind(kCachedParam, int64_t{*event.cached ? 1 : 0});
    if (Status status = insert->Run(); !status.ok()) return status;
    if (db_->Changes() == 0) {
      ++result.duplicates;
      continue;
    }
    ++result.stored;
    ++result.stored_by_type[static_cast<size_t>(event.type)];
    if (event.type == EventType::kInteraction) {
      ux_interaction->Bind(1, verdict.time_ms).Bind(2, db_->LastInsertId());
      bind_text(*ux_interaction, 3, event.user_id);
      bind_text(*ux_interaction, 4, event.session_id);
      bind_text(*ux_interaction, 5, event.event_type);
      bind_text(*ux_interaction, 6, event.element_id);
      bind_text(*ux_interaction, 7, event.page_url);
      if (Status status = ux_interaction->Run(); !status.ok()) return status;
    } else if (event.type == EventType::kExperiment) {
      ux_experiment->Bind(1, verdict.time_ms)
          .Bind(2, db_->LastInsertId())
          .Bind(6, int64_t{event.event == "conversion" ? 1 : 0});
      bind_text(*ux_experiment, 3, event.experiment);
      bind_text(*ux_experiment, 4, event.variant);
      bind_text(*ux_experiment, 5, event.user_id);
      if (Status status = ux_experiment->Run(); !status.ok()) return status;
    }
    // Kept apart so that the report reads the few most negative, not every comment.
    if (event.type == EventType::kFeedback && !event.comment.empty()) {
      if (const int score = SentimentScore(event.comment); score < 0) {
        negative->Bind(1, verdict.time_ms)
            .Bind(2, int64_t{score})
            .Bind(3, event.kind)
            .Bind(4, event.rating.value_or(0))
            .Bind(5, event.comment);
        if (Status status = negative->Run(); !status.ok()) return status;
      }
    }
    if (Status status = pull.AddEvent(event, verdict.time_ms, *distinct_, *read_days); !status.ok())
      return status;
  }
  if (Status status = WriteRollups(*db_, pull, *distinct_); !status.ok()) return status;
  // The cursor moves past everything this pull covered: the records, and events the agent
  // skipped (dropped, or lines we could not read).
  auto cursor = db_->Prepare(
      "UPDATE agents SET cursor = ?2, lost = lost + ?3, last_stored_ms = ?4 WHERE agent_id = ?1");
  if (!cursor.ok()) return cursor.status();
  if (Status status = cursor->Bind(1, agent_id)
                          .Bind(2, static_cast<int64_t>(std::max(newest, last_cursor)))
                          .Bind(3, static_cast<int64_t>(lost))
                          .Bind(4, now_ms)
                          .Run();
      !status.ok())
    return status;
  if (distinct_->WriteBackDue(options_.distinct_cache)) {
    if (Status status = distinct_->WriteBack(*db_); !status.ok()) return status;
  }
  if (Status status = transaction.Commit(); !status.ok()) return status;
  result.cursor = std::max(newest, last_cursor);
  for (const auto& [key, sums] : pull.rollups) {
    if (key.type != wire::EventTypeName(EventType::kDb)) continue;
    auto& runs = result.db_by_fingerprint[key.key];
    runs.runs += static_cast<uint64_t>(sums.events);
    runs.seconds += sums.value_sum / 1000;
  }
  return result;
}

StatusOr<RetentionResult> EventStore::ApplyRetention() {
  RetentionResult result;
  int64_t events_before = 0, rollups_before = 0, chunk = 0;
  std::string rollup_day;
  {
    std::lock_guard lock(mutex_);
    const int64_t now_ms = UnixMillis(clock_);
    events_before = now_ms - options_.retention.count();
    rollups_before = now_ms - options_.rollup_retention.count();
    rollup_day = DayOf(rollups_before);
    chunk = static_cast<int64_t>(options_.retention_chunk);
  }
  // distinct_days first: its first chunk writes back the days of every event stored so far,
  // which are read from the events again after a crash, before old events go.
  if (Status status = ForgetDistinctDays(rollups_before / kDayMs, result.rollup_rows); !status.ok())
    return status;
  // In chunks, letting stores in between: a first run over a large backlog must not hold pulls.
  for (const auto& [sql, count] :
       {std::pair{"DELETE FROM events WHERE rowid IN "
                  "(SELECT rowid FROM events WHERE time_ms < ?1 LIMIT ?2)",
                  &result.events},
        std::pair{"DELETE FROM rejected_events WHERE rowid IN "
                  "(SELECT rowid FROM rejected_events WHERE received_ms < ?1 LIMIT ?2)",
                  &result.rejected},
        std::pair{"DELETE FROM negative_comments WHERE rowid IN "
                  "(SELECT rowid FROM negative_comments WHERE time_ms < ?1 LIMIT ?2)",
                  &result.rollup_rows},
        std::pair{"DELETE FROM ux_interactions WHERE (time_ms, seq) IN "
                  "(SELECT time_ms, seq FROM ux_interactions WHERE time_ms < ?1 LIMIT ?2)",
                  &result.rollup_rows},
        std::pair{"DELETE FROM ux_experiments WHERE (time_ms, seq) IN "
                  "(SELECT time_ms, seq FROM ux_experiments WHERE time_ms < ?1 LIMIT ?2)",
                  &result.rollup_rows}}) {
    for (;;) {
      std::lock_guard lock(mutex_);
      auto statement = db_->Prepare(sql);
      if (!statement.ok()) return statement.status();
      if (Status status = statement->Bind(1, events_before).Bind(2, chunk).Run(); !status.ok())
        return status;
      const int64_t changed = db_->Changes();
      *count += static_cast<uint64_t>(changed);
      if (changed < chunk) break;
    }
  }
  std::lock_guard lock(mutex_);
  for (const char* sql :
       {"DELETE FROM daily_rollups WHERE day < ?1", "DELETE FROM daily_users WHERE day < ?1",
        "DELETE FROM daily_distinct WHERE day < ?1", "DELETE FROM daily_feedback WHERE day < ?1",
        "DELETE FROM daily_accuracy WHERE day < ?1"}) {
    auto statement = db_->Prepare(sql);
    if (!statement.ok()) return statement.status();
    if (Status status = statement->Bind(1, rollup_day).Run(); !status.ok()) return status;
    result.rollup_rows += static_cast<uint64_t>(db_->Changes());
  }
  return result;
}

// Who was last seen before the rollups kept: a later day of theirs counts as a first one, which
// no report can tell apart (its days begin after rollup_day). In chunks of the table's key,
// letting stores in between: distinct_days has no index by last day (one would cost each store
// a second write per user and session). Each chunk writes back what is in memory first, so
// that the table is what it decides on, and forgets it after, as rows it held may be gone.
Status EventStore::ForgetDistinctDays(int64_t before_day, uint64_t& deleted) {
  std::array<std::string, 4> after;  // the last key of the chunk before; ident is never ''
  for (bool more = true; more;) {
    std::lock_guard lock(mutex_);
    Status status = [&]() -> Status {
      sqlite::Transaction transaction(*db_);
      if (!transaction.status().ok()) return transaction.status();
      if (Status status = distinct_->WriteBack(*db_); !status.ok()) return status;
      auto chunk = db_->Prepare(
          "SELECT type, key, ident, value, last_day FROM distinct_days "
          "WHERE (type, key, ident, value) > (?1, ?2, ?3, ?4) ORDER BY 1, 2, 3, 4 LIMIT ?5");
      if (!chunk.ok()) return chunk.status();
      for (int i = 0; i < 4; ++i) chunk->Bind(i + 1, after[static_cast<size_t>(i)]);
      chunk->Bind(5, static_cast<int64_t>(options_.retention_chunk));
      std::vector<std::array<std::string, 4>> expired;
      size_t rows = 0;
      while (chunk->Step()) {
        ++rows;
        for (int i = 0; i < 4; ++i) after[static_cast<size_t>(i)] = chunk->Text(i);
        if (chunk->Int(4) < before_day) expired.push_back(after);
      }
      if (!chunk->status().ok()) return chunk->status();
      more = rows == options_.retention_chunk;
      auto forget = db_->Prepare(
          "DELETE FROM distinct_days WHERE type = ?1 AND key = ?2 AND ident = ?3 AND value = ?4");
      if (!forget.ok()) return forget.status();
      for (const auto& key : expired) {
        for (int i = 0; i < 4; ++i) forget->Bind(i + 1, key[static_cast<size_t>(i)]);
        if (Status status = forget->Run(); !status.ok()) return status;
      }
      deleted += expired.size();
      return transaction.Commit();
    }();
    distinct_->Forget();
    distinct_entries_ = 0;
    if (!status.ok()) return status;
  }
  return OkStatus();
}

uint64_t EventStore::DiskBytes() const { return db_->DiskBytes(); }

}  // namespace mingus::collector::events
