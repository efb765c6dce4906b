#include "mingus/collector/db/index_advisor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace mingus::collector::db {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

Advice Advise(std::string_view query, const Schema& schema = {}) {
  return AdviseIndexes(
      ReadQueryShape(
          query, [&](std::string_view t, std::string_view c) { return schema.HasColumn(t, c); }),
      schema);
}

TEST(IndexAdvisor, EqualityThenRangeOrTheOrderingItDoesNotContinueThenTheRange) {
  const auto advice =
      Advise("SELECT * FROM orders WHERE created_at > ? AND user_id = ? ORDER BY total");
  ASSERT_THAT(advice.suggestions, SizeIs(2));
  const auto& index = advice.suggestions[0];
  EXPECT_THAT(index.columns, ElementsAre("user_id", "created_at"));
  EXPECT_EQ(index.equality_columns, 1u);
  EXPECT_EQ(index.name, "mingus_orders_user_id_created_at");
  EXPECT_EQ(index.statement,
            "CREATE INDEX IF NOT EXISTS mingus_orders_user_id_created_at ON orders (user_id, "
            "created_at)");
  // The plan may read by the range or in the ORDER BY's order: verification tells. In that
  // order, the range is checked on the index before a row is read.
  EXPECT_THAT(advice.suggestions[1].columns, ElementsAre("user_id", "total", "created_at"));
  EXPECT_EQ(advice.suggestions[1].equality_columns, 1u);
}

TEST(IndexAdvisor, OrderingContinuesTheEqualitiesOrTheRange) {
  EXPECT_THAT(Advise("SELECT * FROM t WHERE a = ? ORDER BY b, c").suggestions[0].columns,
              ElementsAre("a", "b", "c"));
  EXPECT_THAT(Advise("SELECT * FROM t WHERE a = ? AND b > ? ORDER BY b").suggestions[0].columns,
              ElementsAre("a", "b"));
  // A column fixed by = need not be ordered by.
  EXPECT_THAT(Advise("SELECT * FROM t WHERE a = ? ORDER BY a, b").suggestions[0].columns,
              ElementsAre("a", "b"));
}

TEST(IndexAdvisor, NoOrderingAfterAListOfValues) {
  // Searched value by value, the rows come in created_at order per user only: SQLite sorts.
  auto advice = Advise("SELECT * FROM feedback WHERE user_id IN (1, 2) ORDER BY created_at");
  ASSERT_THAT(advice.suggestions, SizeIs(1));
  EXPECT_THAT(advice.suggestions[0].columns, ElementsAre("user_id"));
  // One value is an equality like any other.
  advice = Advise("SELECT * FROM feedback WHERE user_id IN (1) ORDER BY created_at");
  EXPECT_THAT(advice.suggestions[0].columns, ElementsAre("user_id", "created_at"));
  // A range after the list still narrows each value's search.
  advice = Advise("SELECT * FROM t WHERE a IN (1, 2) AND b > 3 ORDER BY c");
  EXPECT_THAT(advice.suggestions[0].columns, ElementsAre("a", "b"));
}

TEST(IndexAdvisor, JoinedTablesGetIndexesWithAndWithoutTheJoinKeys) {
  const auto advice =
      Advise("SELECT * FROM users u JOIN orders o ON o.user_id = u.id WHERE u.country = ?");
  // users read first (by country) or looked up per order (by id and country); orders looked up
  // per user.
  ASSERT_THAT(advice.suggestions, SizeIs(3));
  EXPECT_THAT(advice.suggestions[0].columns, ElementsAre("country", "id"));
  EXPECT_THAT(advice.suggestions[1].columns, ElementsAre("country"));
  EXPECT_THAT(advice.suggestions[2].columns, ElementsAre("user_id"));
}

TEST(IndexAdvisor, TheSchemaDropsWhatAnIndexAlreadyServesAndUnknownColumns) {
  Schema schema;
  schema.columns["users"] = {"id", "email", "country", "created"};
  schema.columns["orders"] = {"id", "user_id", "total"};
  schema.indexes["users"] = {{"rowid", {"id"}}, {"users_country_email", {"country", "email"}}};
  // Equality columns in another order are the same index for the query.
  auto advice = Advise("SELECT * FROM users WHERE email = ? AND country = ?", schema);
  EXPECT_THAT(advice.suggestions, IsEmpty());
  EXPECT_THAT(advice.reason, HasSubstr("users_country_email"));
  // The join key on the rowid needs nothing; orders.user_id does. nonsense is no column.
  advice = Advise("SELECT * FROM users JOIN orders ON orders.user_id = users.id WHERE nonsense = 1",
                  schema);
  ASSERT_THAT(advice.suggestions, SizeIs(1));
  EXPECT_THAT(advice.suggestions[0].columns, ElementsAre("user_id"));
  advice = Advise("SELECT * FROM users WHERE id = ?", schema);
  EXPECT_THAT(advice.suggestions, IsEmpty());
  EXPECT_THAT(advice.reason, HasSubstr("rowid"));
  advice = Advise("SELECT * FROM ghosts WHERE a = 1", schema);
  EXPECT_THAT(advice.reason, HasSubstr("no table ghosts"));
}

TEST(IndexAdvisor, AnOrAcrossColumnsGetsAnIndexPerBranchEachWithTheOthers) {
  auto advice = Advise("SELECT * FROM sessions WHERE user_id = ? OR ip = ? OR token = ?");
  ASSERT_THAT(advice.suggestions, SizeIs(3));
  EXPECT_THAT(advice.suggestions[0].columns, ElementsAre("user_id"));
  EXPECT_THAT(advice.suggestions[0].with,
              ElementsAre("mingus_sessions_ip", "mingus_sessions_token"));
  EXPECT_THAT(advice.suggestions[1].with,
              ElementsAre("mingus_sessions_user_id", "mingus_sessions_token"));
  // A branch an existing index serves needs nothing beside the others.
  Schema schema;
  schema.columns["users"] = {"id", "email", "referral"};
  schema.indexes["users"] = {{"rowid", {"id"}}, {"users_email", {"email"}}};
  advice = Advise("SELECT id FROM users WHERE email = ? OR referral = ?", schema);
  ASSERT_THAT(advice.suggestions, SizeIs(1));
  EXPECT_THAT(advice.suggestions[0].columns, ElementsAre("referral"));
  EXPECT_THAT(advice.suggestions[0].with, IsEmpty());
  // Branches on two tables are no MULTI-INDEX OR: each stands alone.
  advice = Advise("SELECT * FROM a JOIN b ON b.a_id = a.id WHERE a.x = 1 OR b.y = 2");
  for (const auto& suggestion : advice.suggestions) EXPECT_THAT(suggestion.with, IsEmpty());
}

TEST(IndexAdvisor, OneSuggestionForTwoReadsOfATable) {
  const auto advice = Advise(
      "SELECT * FROM t WHERE a = 1 AND b = 2 UNION ALL SELECT * FROM t WHERE b = 3 AND a = 4");
  EXPECT_THAT(advice.suggestions, SizeIs(1));
}

TEST(IndexAdvisor, NoSuggestionSaysWhy) {
  EXPECT_THAT(Advise("SELECT * FROM t").reason, HasSubstr("no WHERE, JOIN, GROUP BY or ORDER BY"));
  EXPECT_THAT(Advise("SELECT * FROM t WHERE (a = 1").reason,
              HasSubstr("could not be read: unbalanced parentheses"));
}

TEST(IndexAdvisor, ServesComparesTheEqualityPrefixAsASet) {
  IndexSuggestion suggestion;
  suggestion.columns = {"a", "b", "c"};
  suggestion.equality_columns = 2;
  EXPECT_TRUE(Serves({"b", "a", "c"}, suggestion));
  EXPECT_TRUE(Serves({"a", "b", "c", "d"}, suggestion));
  EXPECT_FALSE(Serves({"a", "c", "b"}, suggestion));
  EXPECT_FALSE(Serves({"a", "b"}, suggestion));
}

TEST(IndexAdvisor, QuotesNamesThatNeedIt) {
  EXPECT_EQ(QuoteName("user_id"), "user_id");
  EXPECT_EQ(QuoteName("order"), "\"order\"");
  EXPECT_EQ(QuoteName("my \"col\""), "\"my \"\"col\"\"\"");
}

}  // namespace
}  // namespace mingus::collector::db
