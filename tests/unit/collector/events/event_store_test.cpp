#include "mingus/collector/events/event_store.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <tuple>

#include "fake_clock.h"
#include "temp_dir.h"

namespace mingus::collector::events {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

constexpr int64_t kDayMs = 86'400'000;

// One line as the agent serves it.
std::string Line(uint64_t cursor, int64_t received_ms, std::string_view event) {
  return fmt::format(R"({{"cursor":{},"received":{},"event":{}}})", cursor, received_ms, event);
}

std::vector<std::string_view> Views(const std::vector<std::string>& lines) {
  return {lines.begin(), lines.end()};
}

class EventStoreTest : public ::testing::Test {
 protected:
  EventStoreTest() : dir_("event-store") { Reopen(); }

  void Reopen() {
    store_.reset();
    auto store = EventStore::Open(path(), options_, clock_);
    ASSERT_TRUE(store.ok()) << store.message();
    store_ = std::move(store).value();
  }
  std::string path() const { return (dir_.path() / "business_intelligence.db").string(); }
  int64_t now_ms() const { return UnixMillis(clock_); }

  StoreResult Store(const std::string& agent, const std::vector<std::string>& lines,
                    uint64_t last_cursor, uint64_t lost = 0) {
    auto result = store_->Store(agent, "spool1", Views(lines), last_cursor, lost);
    EXPECT_TRUE(result.ok()) << result.message();
    return result.ok() ? *result : StoreResult{};
  }

  // Rows of a query run on a connection of its own, as text ("NULL" for null), one string per
  // row with columns separated by '|', as the sqlite3 tool prints them.
  std::vector<std::string> Rows(const std::string& sql) {
    auto db = sqlite::Database::Open(path());
    EXPECT_TRUE(db.ok()) << db.message();
    auto statement = (*db)->Prepare(sql);
    EXPECT_TRUE(statement.ok()) << statement.message();
    std::vector<std::string> rows;
    while (statement->Step()) {
      std::string row;
      for (int i = 0; i < statement->ColumnCount(); ++i) {
        if (i > 0) row += '|';
        row += statement->IsNull(i) ? "NULL" : std::string(statement->Text(i));
      }
      rows.push_back(std::move(row));
    }
    EXPECT_TRUE(statement->status().ok()) << statement->status().message();
    return rows;
  }
  int64_t Count(const std::string& sql) {
    const auto rows = Rows(sql);
    return rows.size() == 1 ? std::stoll(rows[0]) : -1;
  }

  testing::FakeClock clock_;
  testing::TempDir dir_;
  StoreOptions options_;
  std::unique_ptr<EventStore> store_;
};

TEST(SpoolRecord, ReadsTheAgentsLinesOnly) {
  const auto record = ParseSpoolRecord(R"({"cursor":42,"received":1700000000123,"event":{"a":1}})");
  ASSERT_TRUE(record);
  EXPECT_EQ(record->cursor, 42u);
  EXPECT_EQ(record->received_ms, 1'700'000'000'123);
  EXPECT_EQ(record->event, R"({"a":1})");
  for (const char* bad :
       {R"({"cursor":0,"received":1,"event":{}})", R"({"cursor":x,"received":1,"event":{}})",
        R"({"cursor":1,"received":1,"event":})", R"({"cursor":1,"event":{}})",
        R"({"received":1,"cursor":1,"event":{}})", "", "{}"}) {
    EXPECT_FALSE(ParseSpoolRecord(bad)) << bad;
  }
}

TEST_F(EventStoreTest, SaysWhatTheDbEventsOfAPullCostByFingerprint) {
  const int64_t t = now_ms();
  StoreResult result = Store(
      "a:1",
      {Line(1, t, R"({"type":"db","query":"SELECT * FROM t WHERE id = 1","duration_ms":40})"),
       Line(2, t - 86'400'000,
            R"({"type":"db","query":"select * from t where id = 22","duration_ms":0})"),
       Line(3, t, R"({"type":"db","query":"SELECT * FROM t WHERE id = 3","duration_ms":60})"),
       Line(4, t, R"({"type":"db","query":"DELETE FROM t","duration_ms":5})"),
       Line(5, t, R"({"type":"api","endpoint":"/a","method":"GET","status":200,"duration_ms":5})")},
      5);
  ASSERT_EQ(result.db_by_fingerprint.size(), 2u);
  // Over both days.
  const auto& select = result.db_by_fingerprint.at("select * from t where id = ?");
  EXPECT_EQ(select.runs, 3u);
  EXPECT_DOUBLE_EQ(select.seconds, 0.1);
  EXPECT_EQ(result.db_by_fingerprint.at("delete from t").runs, 1u);
  // Pulled again: nothing new stored, nothing to count.
  result = Store("a:1", {Line(4, t, R"({"type":"db","query":"DELETE FROM t","duration_ms":5})")},
                 5);
  EXPECT_TRUE(result.db_by_fingerprint.empty());
}

TEST_F(EventStoreTest, StoresEachEventOnceWhateverIsPulledAgain) {
  const int64_t t = now_ms();
  const std::vector<std::string> batch = {
      Line(1, t, R"({"type":"engagement","user_id":"u1","action":"login"})"),
      Line(2, t, R"({"type":"engagement","user_id":"u2","action":"login","usage_time":3})"),
      Line(3, t, R"({"type":"api","endpoint":"/a","method":"GET","status":200,"duration_ms":5})"),
  };
  StoreResult first = Store("a:1", batch, 3);
  EXPECT_EQ(first.stored, 3u);
  EXPECT_EQ(first.cursor, 3u);
  EXPECT_EQ(first.stored_by_type[static_cast<size_t>(wire::EventType::kEngagement)], 2u);
  // The same pull again (the agent answered it twice, or we crashed before reading the
  // commit), and one overlapping the next events.
  StoreResult again = Store("a:1", batch, 3);
  EXPECT_EQ(again.stored, 0u);
  EXPECT_EQ(again.duplicates, 3u);
  StoreResult overlap =
      Store("a:1", {batch[2], Line(4, t, R"({"type":"feature","user_id":"u1","feature":"x"})")}, 4);
  EXPECT_EQ(overlap.stored, 1u);
  EXPECT_EQ(overlap.duplicates, 1u);
  // The same cursors from another agent are other events.
  EXPECT_EQ(Store("b:1", batch, 3).stored, 3u);
  EXPECT_EQ(Count("SELECT count(*) FROM events"), 7);
  EXPECT_EQ(Count("SELECT count(*) FROM (SELECT DISTINCT agent_id, cursor FROM events)"), 7);
  EXPECT_EQ(Count("SELECT events FROM daily_rollups WHERE type = 'engagement' AND key = 'login'"),
            4);
  EXPECT_THAT(Rows("SELECT user_id, events FROM daily_users ORDER BY user_id"),
              ElementsAre("u1|3", "u2|2"));
}

TEST_F(EventStoreTest, CursorSurvivesReopenAndCoversLostAndUnreadableLines) {
  const int64_t t = now_ms();
  Store("a:1", {Line(5, t, R"({"type":"cache","cache":"c","result":"hit"})"), "garbage"}, 9,
        /*lost=*/4);
  auto cursor = store_->Cursor("a:1");
  ASSERT_TRUE(cursor.ok());
  EXPECT_EQ(cursor->cursor, 9u);  // the agent's last cursor, past what it skipped
  EXPECT_EQ(cursor->lost, 4u);
  EXPECT_EQ(cursor->last_stored_ms, t);
  Reopen();
  cursor = store_->Cursor("a:1");
  ASSERT_TRUE(cursor.ok());
  EXPECT_EQ(cursor->cursor, 9u);
  EXPECT_EQ(cursor->lost, 4u);
  EXPECT_EQ(store_->Cursor("unknown:1")->cursor, 0u);
  const auto all = store_->Cursors();
  ASSERT_TRUE(all.ok());
  EXPECT_THAT(*all, ElementsAre(Pair("a:1", ::testing::_)));
  // After the reopen a repeated pull still changes nothing.
  const StoreResult again =
      Store("a:1", {Line(5, t, R"({"type":"cache","cache":"c","result":"hit"})")}, 9);
  EXPECT_EQ(again.stored, 0u);
  EXPECT_EQ(again.duplicates, 1u);
  EXPECT_EQ(Count("SELECT count(*) FROM events"), 1);
  // A cursor never goes back.
  Store("a:1", {}, 2);
  EXPECT_EQ(store_->Cursor("a:1")->cursor, 9u);
}

TEST_F(EventStoreTest, ANewSpoolOfAnAgentCountsItsCursorsAfresh) {
  const int64_t t = now_ms();
  const auto lines = [&](std::initializer_list<int> sessions) {
    std::vector<std::string> out;
    uint64_t cursor = 0;
    for (int session : sessions) {
      out.push_back(Line(++cursor, t,
                         fmt::format(R"({{"type":"engagement","user_id":"u","action":"a",)"
                                     R"("session_id":"s{}"}})",
                                     session)));
    }
    return out;
  };
  const auto store = [&](const std::string& spool, const std::vector<std::string>& batch) {
    auto result = store_->Store("a:1", spool, Views(batch), batch.size(), 0);
    EXPECT_TRUE(result.ok()) << result.message();
    return result.ok() ? result->stored : 0;
  };
  // An agent that names no spool (older agents) and then names one: the same spool.
  EXPECT_EQ(store("", lines({1, 2})), 2u);
  EXPECT_EQ(store("old", lines({1, 2, 3})), 1u);
  EXPECT_EQ(store_->Cursor("a:1")->spool_id, "old");
  // Wiped: cursors 1, 2 again, other events.
  EXPECT_EQ(store("new", lines({4, 5})), 2u);
  EXPECT_EQ(store("new", lines({4, 5})), 0u);
  const auto cursor = store_->Cursor("a:1");
  EXPECT_EQ(cursor->cursor, 2u);
  EXPECT_EQ(cursor->spool_id, "new");
  EXPECT_THAT(Rows("SELECT session_id FROM events ORDER BY session_id"),
              ElementsAre("s1", "s2", "s3", "s4", "s5"));
  EXPECT_THAT(Rows("SELECT instance, spool_id, cursor FROM agents ORDER BY agent_id"),
              ElementsAre("a:1|old|3", "a:1|new|2"));
}

TEST_F(EventStoreTest, ImpossibleEventsAreSetAsideWithTheirReason) {
  const int64_t t = now_ms();
  const double now_s = static_cast<double>(t) / 1000;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"type":"signup","user_id":"u"})", "unknown_type"},
      {R"({"type":"api","endpoint":"/a","method":"GET","status":200,"duration_ms":-5})",
       "negative_duration"},
      {R"({"type":"feature","user_id":"u","feature":"f","usage_time":-1})", "negative_value"},
      {R"({"type":"feedback","user_id":"u","kind":"nps","rating":11})", "rating_out_of_range"},
      {R"({"type":"feedback","user_id":"u","kind":"nps","rating":7.5})", "rating_out_of_range"},
      {R"({"type":"feedback","user_id":"u","kind":"csat","rating":0})", "rating_out_of_range"},
      {R"({"type":"feedback","user_id":"u","kind":"stars","rating":-1})", "rating_out_of_range"},
      {fmt::format(R"({{"type":"engagement","user_id":"u","action":"a","ts":{}}})", now_s + 7200),
       "future_timestamp"},
      {fmt::format(R"({{"type":"engagement","user_id":"u","action":"a","ts":{}}})",
                   now_s - 91 * 86400),
       "too_old"},
      {R"({"type":"engagement","user_id":"u"})", "missing_field"},
      {R"({"type":"engagement","user_id":"u","action":5})", "wrong_field_type"},
      {R"({"type":"api","endpoint":"/a","method":"GET","status":700,"duration_ms":1})",
       "bad_status"},
      {R"({"type":"experiment","experiment":"e","variant":"a","user_id":"u","event":"view"})",
       "bad_experiment_event"},
      {R"({"type":"engagement",)", "malformed"},
  };
  std::vector<std::string> lines;
  for (size_t i = 0; i < cases.size(); ++i) lines.push_back(Line(i + 1, t, cases[i].first));
  // Good ones beside them, at the edges of what is allowed.
  lines.push_back(Line(100, t, R"({"type":"feedback","user_id":"u","kind":"nps","rating":0})"));
  lines.push_back(Line(101, t, R"({"type":"feedback","user_id":"u","kind":"csat","rating":5})"));
  lines.push_back(Line(
      102, t,
      fmt::format(R"({{"type":"engagement","user_id":"u","action":"a","ts":{}}})", now_s + 3000)));
  const StoreResult result = Store("a:1", lines, 102);
  EXPECT_EQ(result.stored, 3u);
  std::map<std::string, uint64_t> by_reason;
  for (size_t i = 0; i < kRejectionCount; ++i) {
    if (result.rejected[i] > 0)
      by_reason[std::string(RejectionName(static_cast<Rejection>(i)))] = result.rejected[i];
  }
  EXPECT_EQ(by_reason["rating_out_of_range"], 4u);
  EXPECT_EQ(by_reason.size(), 11u);  // all but bad_field_value; each but rating's once
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_THAT(Rows(fmt::format("SELECT reason FROM rejected_events WHERE cursor = {}", i + 1)),
                ElementsAre(cases[i].second))
        << cases[i].first;
  }
  EXPECT_THAT(Rows("SELECT detail, json FROM rejected_events WHERE cursor = 2"),
              ElementsAre(HasSubstr("duration_ms|{\"type\":\"api\"")));
  EXPECT_THAT(Rows("SELECT detail FROM rejected_events WHERE cursor = 4"),
              ElementsAre("rating 11 of kind nps is not in [0, 10] and whole"));
  EXPECT_EQ(Count("SELECT count(*) FROM events WHERE type = 'feedback'"), 2);
  // Pulled again: set aside once.
  const StoreResult again = Store("a:1", lines, 102);
  EXPECT_EQ(again.duplicates, lines.size());
  EXPECT_EQ(Count("SELECT count(*) FROM rejected_events"), static_cast<int64_t>(cases.size()));
}

TEST_F(EventStoreTest, RetentionDeletesOldEventsAndKeepsRollupsLonger) {
  options_.retention = std::chrono::milliseconds(10 * kDayMs);
  options_.rollup_retention = std::chrono::milliseconds(30 * kDayMs);
  Reopen();
  const int64_t t = now_ms();
  Store("a:1",
        {Line(1, t, R"({"type":"engagement","user_id":"u1","action":"old"})"),
         Line(2, t, R"({"type":"signup"})")},
        2);
  clock_.Advance(std::chrono::hours(24 * 5));
  Store("a:1", {Line(3, now_ms(), R"({"type":"engagement","user_id":"u2","action":"new"})")}, 3);
  clock_.Advance(std::chrono::hours(24 * 6));  // 11 days after the first, 6 after the second
  auto deleted = store_->ApplyRetention();
  ASSERT_TRUE(deleted.ok()) << deleted.message();
  EXPECT_EQ(deleted->events, 1u);
  EXPECT_EQ(deleted->rejected, 1u);
  EXPECT_EQ(deleted->rollup_rows, 0u);
  EXPECT_THAT(Rows("SELECT action FROM events"), ElementsAre("new"));
  EXPECT_EQ(Count("SELECT count(*) FROM rejected_events"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM daily_rollups"), 2);  // both days still summed up
  clock_.Advance(std::chrono::hours(24 * 20));                // 31 days after the first
  deleted = store_->ApplyRetention();
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->events, 1u);
  // The first day's rollup, its active user, u1 among the users of any event and of "old" that
  // day (daily_distinct), and the days u1 was seen on (distinct_days, twice).
  EXPECT_EQ(deleted->rollup_rows, 6u);
  EXPECT_THAT(Rows("SELECT key FROM daily_rollups"), ElementsAre("new"));
  EXPECT_THAT(Rows("SELECT user_id FROM daily_users"), ElementsAre("u2"));
  EXPECT_THAT(Rows("SELECT key FROM daily_distinct ORDER BY 1"), ElementsAre("", "new"));
  EXPECT_THAT(Rows("SELECT DISTINCT value FROM distinct_days"), ElementsAre("u2"));
}

// The UX report's copies of interactions and experiment events go with the events, in chunks.
TEST_F(EventStoreTest, RetentionDeletesTheUxReportsRowsWithTheEvents) {
  options_.retention = std::chrono::milliseconds(10 * kDayMs);
  options_.rollup_retention = std::chrono::milliseconds(30 * kDayMs);
  options_.retention_chunk = 1;
  Reopen();
  const auto ux_events = [&](uint64_t cursor, std::string_view user) {
    return std::vector<std::string>{
        Line(cursor, now_ms(),
             fmt::format(R"({{"type":"interaction","user_id":"{}","event_type":"click",)"
                         R"("element_id":"b","page_url":"/p"}})",
                         user)),
        Line(cursor + 1, now_ms(),
             fmt::format(R"({{"type":"experiment","experiment":"e","variant":"A",)"
                         R"("user_id":"{}","event":"conversion"}})",
                         user))};
  };
  Store("a:1", ux_events(1, "u1"), 2);
  clock_.Advance(std::chrono::hours(24 * 5));
  Store("a:1", ux_events(3, "u2"), 4);
  clock_.Advance(std::chrono::hours(24 * 6));  // 11 days after the first, 6 after the second
  const auto deleted = store_->ApplyRetention();
  ASSERT_TRUE(deleted.ok()) << deleted.message();
  EXPECT_EQ(deleted->events, 2u);
  EXPECT_EQ(deleted->rollup_rows, 2u);  // the two copies; the rollups are kept longer
  EXPECT_THAT(Rows("SELECT user_id FROM ux_interactions"), ElementsAre("u2"));
  EXPECT_THAT(Rows("SELECT user_id, conversion FROM ux_experiments"), ElementsAre("u2|1"));
}

// A store written before the UX report's tables gets them filled from its events when opened,
// and loses the partial indexes of events the report used to read through.
TEST_F(EventStoreTest, AStoreWrittenBeforeTheUxTablesGetsThemFilledAtOpen) {
  const int64_t t = now_ms();
  Store("a:1",
        {Line(1, t,
              R"({"type":"interaction","user_id":"u1","session_id":"s1","event_type":"click",)"
              R"("element_id":"b","page_url":"/p"})"),
         Line(2, t + 1,
              R"({"type":"interaction","user_id":"u1","event_type":"view","element_id":"c",)"
              R"("page_url":"/q"})"),
         Line(3, t + 2,
              R"({"type":"experiment","experiment":"e","variant":"A","user_id":"u1",)"
              R"("event":"exposure"})"),
         Line(4, t + 3, R"({"type":"engagement","user_id":"u1","action":"login"})")},
        4);
  store_.reset();
  {
    auto db = sqlite::Database::Open(path());
    ASSERT_TRUE(db.ok()) << db.message();
    const Status old_schema = (*db)->Exec(R"(
DROP TABLE ux_interactions;
DROP TABLE ux_experiments;
CREATE INDEX interactions_by_time ON events (time_ms) WHERE type = 'interaction';
CREATE INDEX experiments_by_time ON events (time_ms) WHERE type = 'experiment';)");
    ASSERT_TRUE(old_schema.ok()) << old_schema.message();
  }
  Reopen();
  const auto interactions = Rows(
      "SELECT time_ms - (SELECT min(time_ms) FROM events), seq, user_id, session_id, event_type, "
      "element_id, page_url FROM ux_interactions ORDER BY time_ms, seq");
  EXPECT_THAT(interactions, ElementsAre("0|1|u1|s1|click|b|/p", "1|2|u1|NULL|view|c|/q"));
  EXPECT_THAT(Rows("SELECT seq, experiment, variant, user_id, conversion FROM ux_experiments"),
              ElementsAre("3|e|A|u1|0"));
  EXPECT_EQ(Count("SELECT count(*) FROM sqlite_master "
                  "WHERE name IN ('interactions_by_time', 'experiments_by_time')"),
            0);
  Reopen();  // filled once
  EXPECT_EQ(Rows("SELECT time_ms - (SELECT min(time_ms) FROM events), seq, user_id, session_id, "
                 "event_type, element_id, page_url FROM ux_interactions ORDER BY time_ms, seq"),
            interactions);
}

// distinct_days goes by key, retention_chunk rows under the lock at a time, after the days held
// in memory are written back: whoever was last seen before rollup_retention goes.
TEST_F(EventStoreTest, RetentionForgetsInChunksWhoWasNotSeenSince) {
  options_.retention = std::chrono::milliseconds(10 * kDayMs);
  options_.rollup_retention = std::chrono::milliseconds(30 * kDayMs);
  options_.retention_chunk = 3;
  Reopen();
  const auto engagement = [](int user, std::string_view session) {
    return fmt::format(
        R"({{"type":"engagement","user_id":"u{}","action":"a","session_id":"{}{}"}})", user,
        session, user);
  };
  std::vector<std::string> lines;
  for (int user = 0; user < 10; ++user)
    lines.push_back(Line(lines.size() + 1, now_ms(), engagement(user, "s")));
  Store("a:1", lines, lines.size());
  clock_.Advance(std::chrono::hours(24 * 20));
  lines.clear();
  for (int user = 0; user < 3; ++user)
    lines.push_back(Line(11 + user, now_ms(), engagement(user, "t")));
  Store("a:1", lines, 13);                      // u0 to u2's new day is only in memory yet
  clock_.Advance(std::chrono::hours(24 * 15));  // 35 days after the first, 15 after the second
  auto deleted = store_->ApplyRetention();
  ASSERT_TRUE(deleted.ok()) << deleted.message();
  EXPECT_EQ(deleted->events, 13u);  // in 5 chunks
  EXPECT_THAT(Rows("SELECT type || ':' || key || ':' || ident, group_concat(value) FROM "
                   "(SELECT * FROM distinct_days ORDER BY value) GROUP BY 1 ORDER BY 1"),
              ElementsAre("::user|u0,u1,u2", "engagement:a:session|t0,t1,t2",
                          "engagement:a:user|u0,u1,u2"));
  EXPECT_EQ(Count("SELECT count(DISTINCT last_day) FROM distinct_days"), 1);
}

// The days seen of users and sessions stay in memory up to distinct_cache; beyond it, those
// written back go (sessions first) down to half of it, so memory stays bounded whatever comes.
TEST_F(EventStoreTest, TheDistinctCacheKeepsNoMoreThanItsBound) {
  std::vector<std::string> lines;
  for (int user = 0; user < 10; ++user) {
    lines.push_back(Line(lines.size() + 1, now_ms(),
                         fmt::format(R"({{"type":"engagement","user_id":"u{}","action":"a",)"
                                     R"("session_id":"s{}"}})",
                                     user, user)));
  }
  // Each event has three keys: its user, its user for the action, its session for the action.
  for (const auto& [cache, held] : {std::pair{size_t{500'000}, size_t{30}}, {8, 4}, {0, 0}}) {
    options_.distinct_cache = cache;
    Reopen();
    EXPECT_EQ(store_->DistinctCacheEntries(), 0u);
    Store("a:" + std::to_string(cache), lines, lines.size());
    EXPECT_EQ(store_->DistinctCacheEntries(), held) << "distinct_cache " << cache;
    EXPECT_THAT(Rows("SELECT idents FROM daily_distinct WHERE ident = 'session' AND key = 'a'"),
                ElementsAre("10"));
  }
}

// A user or session out of memory is read from distinct_days unless the store's filter of the
// table's keys says it is new: however many keys came since (the filter is rebuilt larger as they
// grow) and after a reopen (rebuilt from the table), none seen before may be taken for new.
TEST_F(EventStoreTest, UsersSeenBeforeAreKnownAgainOutOfMemory) {
  options_.distinct_cache = 100;
  Reopen();
  constexpr int kUsers = 3000;
  const auto day = [&](int64_t ago) { return DayOf(now_ms() - ago * kDayMs); };
  uint64_t cursor = 0;
  for (const int64_t ago : {3, 2, 1}) {
    std::vector<std::string> lines;
    for (int user = 0; user < kUsers; ++user) {
      lines.push_back(
          Line(++cursor, now_ms(),
               fmt::format(R"({{"type":"feature","user_id":"u{}","feature":"f","ts":{}}})", user,
                           (now_ms() - ago * kDayMs) / 1000)));
      if (lines.size() == 500) {
        Store("a:1", lines, cursor);
        lines.clear();
      }
    }
    if (ago == 2) Reopen();
  }
  EXPECT_THAT(Rows("SELECT day, previous, sum(idents) FROM daily_distinct WHERE ident = 'user' "
                   "GROUP BY 1, 2 ORDER BY 1, 2"),
              ElementsAre(fmt::format("{}||{}", day(3), 2 * kUsers),
                          fmt::format("{}|{}|{}", day(2), day(3), 2 * kUsers),
                          fmt::format("{}|{}|{}", day(1), day(2), 2 * kUsers)));
}

// Random events of every type over several days, stored in batches (some pulled twice); the
// rollups must be what plain SQL over the raw events says. The days seen of few users and
// sessions stay in memory, so they are written back and dropped every few pulls; and the store is
// reopened at times without writing them back, as after a crash.
TEST_F(EventStoreTest, RollupsAgreeWithPlainSqlOverTheRawEvents) {
  options_.distinct_cache = 6;
  Reopen();
  std::mt19937 rng(7);
  const auto pick = [&](std::initializer_list<const char*> options) {
    return std::data(options)[std::uniform_int_distribution<size_t>(0, options.size() - 1)(rng)];
  };
  const auto number = [&](int low, int high) {
    return std::uniform_int_distribution<int>(low, high)(rng);
  };
  const int64_t start_s = now_ms() / 1000 - 6 * 86400;
  uint64_t cursor = 0;
  for (int batch = 0; batch < 20; ++batch) {
    std::vector<std::string> lines;
    for (int i = 0; i < 50; ++i) {
      const std::string common =
          fmt::format(R"("user_id":"{}","ts":{})", pick({"u1", "u2", "u3", "u4"}),
                      start_s + number(0, 6 * 86400));
      std::string event;
      switch (number(0, 10)) {
        case 0:
          event = fmt::format(
              R"({{"type":"api",{},"endpoint":"{}","method":"{}","status":{},"duration_ms":{}}})",
              common, pick({"/a", "/b"}), pick({"GET", "POST"}), pick({"200", "404", "503"}),
              number(0, 900) / 10.0);
          break;
        case 1:
          event = fmt::format(R"({{"type":"db",{},"query":"{}","duration_ms":{},"rows":{}}})",
                              common, pick({"select * from t where id = ?", "delete from t"}),
                              number(1, 50), number(0, 9));
          break;
        case 2:
          event = fmt::format(R"({{"type":"score",{},"name":"{}","duration_ms":{}{}{}}})", common,
                              pick({"s1", "s2"}), number(1, 99),
                              pick({"", R"(,"cached":true)", R"(,"cached":false)"}),
                              number(0, 1) ? fmt::format(R"(,"predicted":{},"actual":{})",
                                                         number(80, 120) / 10.0, number(0, 12))
                                           : "");
          break;
        case 3:
          event = fmt::format(R"({{"type":"engagement",{},"action":"{}"{}{}}})", common,
                              pick({"login", "view"}), pick({"", R"(,"usage_time":12.5)"}),
                              pick({"", R"(,"session_id":"x1")", R"(,"session_id":"x2")",
                                    R"(,"session_id":"x3")"}));
          break;
        case 4:
          event = fmt::format(R"({{"type":"feature",{},"feature":"{}","usage_time":{}{}}})", common,
                              pick({"f1", "f2"}), number(0, 300),
                              pick({"", R"(,"session_id":"x1")", R"(,"session_id":"x4")"}));
          break;
        case 5:
          event = fmt::format(R"({{"type":"feedback",{},"kind":"{}","rating":{}{}}})", common,
                              pick({"nps", "csat"}), number(1, 5),
                              pick({"", R"(,"comment":"great")", R"(,"comment":"slow and buggy")",
                                    R"(,"comment":"not bad")"}));
          break;
        case 6:
          event = fmt::format(R"({{"type":"user_metric",{},"metric":"m","value":{}}})", common,
                              number(-50, 50));
          break;
        case 7:
          event = fmt::format(
              R"({{"type":"interaction",{},"event_type":"{}","element_id":"{}","page_url":"{}"}})",
              common, pick({"click", "view"}), pick({"b1", "b2"}), pick({"/p", "/q"}));
          break;
        case 8:
          event = fmt::format(
              R"({{"type":"experiment",{},"experiment":"e","variant":"{}","event":"{}"}})", common,
              pick({"A", "B"}), pick({"exposure", "conversion"}));
          break;
        case 9:
          event = fmt::format(R"({{"type":"cache","ts":{},"cache":"c","result":"{}"}})",
                              start_s + number(0, 6 * 86400), pick({"hit", "miss"}));
          break;
        default:
          event = fmt::format(
              R"({{"type":"data_source","ts":{},"source":"{}","cost":{},"value":{}}})",
              start_s + number(0, 6 * 86400), pick({"x", "y"}), number(0, 9), number(0, 99));
      }
      lines.push_back(Line(++cursor, now_ms(), event));
    }
    Store("a:1", lines, cursor);
    if (batch % 3 == 0) Store("a:1", lines, cursor);  // pulled again
    if (batch % 7 == 6) Reopen();
  }
  EXPECT_EQ(Count("SELECT count(*) FROM events"), 1000);
  EXPECT_EQ(Count("SELECT count(*) FROM rejected_events"), 0);
  const auto rollups = Rows(R"(
SELECT day, type, key, subkey, outcome, events, value_count, printf('%.6f', value_sum),
       value_min, value_max, printf('%.6f', cost_sum)
FROM daily_rollups ORDER BY 1, 2, 3, 4, 5)");
  const auto plain = Rows(R"(
SELECT date(time_ms / 1000, 'unixepoch') AS day, type,
       CASE type WHEN 'api' THEN endpoint WHEN 'db' THEN query WHEN 'score' THEN name
                 WHEN 'engagement' THEN action WHEN 'feature' THEN feature
                 WHEN 'feedback' THEN kind WHEN 'user_metric' THEN metric
                 WHEN 'interaction' THEN page_url WHEN 'experiment' THEN experiment
                 WHEN 'cache' THEN cache WHEN 'data_source' THEN source END AS key,
       CASE type WHEN 'api' THEN method WHEN 'interaction' THEN element_id
                 WHEN 'experiment' THEN variant ELSE '' END AS subkey,
       CASE type WHEN 'api' THEN (status / 100) || 'xx'
                 WHEN 'score' THEN CASE cached WHEN 1 THEN 'cached' WHEN 0 THEN 'computed'
                                               ELSE '' END
                 WHEN 'interaction' THEN event_type WHEN 'experiment' THEN event
                 WHEN 'cache' THEN result ELSE '' END AS outcome,
       count(*), count(v), printf('%.6f', coalesce(sum(v), 0)), min(v), max(v),
       printf('%.6f', coalesce(sum(cost), 0))
FROM (SELECT *, CASE WHEN type IN ('api', 'db', 'score') THEN duration_ms
                     WHEN type IN ('engagement', 'feature') THEN usage_time
                     WHEN type = 'feedback' THEN rating
                     WHEN type IN ('user_metric', 'data_source') THEN value END AS v
      FROM events)
GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5)");
  EXPECT_GT(rollups.size(), 100u);
  EXPECT_EQ(rollups, plain);
  EXPECT_EQ(Rows("SELECT day, user_id, events FROM daily_users ORDER BY 1, 2"),
            Rows("SELECT date(time_ms / 1000, 'unixepoch'), user_id, count(*) FROM events "
                 "WHERE user_id IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2"));
  // Registrations: each user's first event, though most events of a user (those after a day
  // already seen) no longer look their row up.
  EXPECT_EQ(Rows("SELECT user_id, first_ms, first_day FROM users ORDER BY 1"),
            Rows("SELECT user_id, min(time_ms), date(min(time_ms) / 1000, 'unixepoch') "
                 "FROM events WHERE user_id IS NOT NULL GROUP BY 1 ORDER BY 1"));
  // "great" scores 1, "slow and buggy" -2, "not bad" 1 (docs/insights.md).
  EXPECT_EQ(Rows("SELECT day, kind, rating, sum(responses), sum(comments), "
                 "sum(comments * sentiment) FROM daily_feedback GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"),
            Rows("SELECT date(time_ms / 1000, 'unixepoch'), kind, rating, count(*), "
                 "count(comment), sum(CASE comment WHEN 'slow and buggy' THEN -2 "
                 "WHEN 'great' THEN 1 WHEN 'not bad' THEN 1 ELSE 0 END) FROM events "
                 "WHERE type = 'feedback' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"));
  // The UX report's copies of interactions and experiment events, once each (some were pulled
  // twice), with the order stored.
  EXPECT_EQ(Rows("SELECT * FROM ux_interactions ORDER BY seq"),
            Rows("SELECT time_ms, rowid, user_id, session_id, event_type, element_id, page_url "
                 "FROM events WHERE type = 'interaction' ORDER BY rowid"));
  EXPECT_EQ(Rows("SELECT * FROM ux_experiments ORDER BY seq"),
            Rows("SELECT time_ms, rowid, experiment, variant, user_id, event = 'conversion' "
                 "FROM events WHERE type = 'experiment' ORDER BY rowid"));
  EXPECT_EQ(Rows("SELECT time_ms, score, kind, rating FROM negative_comments ORDER BY 1, 3, 4"),
            Rows("SELECT time_ms, -2, kind, rating FROM events "
                 "WHERE comment = 'slow and buggy' ORDER BY 1, 3, 4"));
  EXPECT_EQ(Rows("SELECT day, name, events, printf('%.6f', error_sum), accurate "
                 "FROM daily_accuracy ORDER BY 1, 2"),
            Rows("SELECT date(time_ms / 1000, 'unixepoch'), name, count(*), "
                 "printf('%.6f', sum(abs(predicted - actual))), "
                 "sum(abs(predicted - actual) <= 0.1 * abs(actual)) FROM events "
                 "WHERE type = 'score' AND predicted IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2"));
  // Users of any event, and users and sessions of each action and feature, distinct over every
  // run of days: the events came in no order of time, so days were added before known ones.
  constexpr std::string_view kSeen = R"(
WITH seen AS (
  SELECT time_ms, '' AS type, '' AS key, 'user' AS ident, user_id AS value FROM events
  UNION ALL SELECT time_ms, type, coalesce(action, feature), 'user', user_id FROM events
    WHERE type IN ('engagement', 'feature')
  UNION ALL SELECT time_ms, type, coalesce(action, feature), 'session', session_id FROM events
    WHERE type IN ('engagement', 'feature')))";
  const auto days =
      Rows("SELECT DISTINCT date(time_ms / 1000, 'unixepoch') FROM events ORDER BY 1");
  ASSERT_GE(days.size(), 7u);
  for (size_t first = 0; first < days.size(); ++first) {
    for (size_t last = first; last < days.size(); ++last) {
      const auto distinct = Rows(fmt::format(
          "SELECT type, key, ident, sum(idents) FROM daily_distinct WHERE day BETWEEN '{0}' AND "
          "'{1}' AND previous < '{0}' GROUP BY 1, 2, 3 HAVING sum(idents) > 0 ORDER BY 1, 2, 3",
          days[first], days[last]));
      const auto plain = Rows(fmt::format(R"({}
SELECT type, key, ident, count(DISTINCT value) FROM seen
WHERE value IS NOT NULL AND date(time_ms / 1000, 'unixepoch') BETWEEN '{}' AND '{}'
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3)",
                                          kSeen, days[first], days[last]));
      EXPECT_EQ(distinct, plain) << days[first] << " to " << days[last];
      // Over all days: users of any event, of 2 actions and 2 features, and their sessions.
      if (first == 0 && last + 1 == days.size()) {
        EXPECT_EQ(distinct.size(), 9u);
      }
    }
  }
  // Retention deletes none of it, but writes back what is in memory: each one's latest day.
  ASSERT_TRUE(store_->ApplyRetention().ok());
  EXPECT_EQ(Rows("SELECT type, key, ident, value, last_day FROM distinct_days ORDER BY 1, 2, 3, 4"),
            Rows(fmt::format("{} SELECT type, key, ident, value, max(time_ms / {}) FROM seen "
                             "WHERE value IS NOT NULL GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
                             kSeen, kDayMs)));
}

}  // namespace
}  // namespace mingus::collector::events
