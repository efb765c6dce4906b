#include "mingus/collector/db/query_shape.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace mingus::collector::db {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const TableAccess* AccessTo(const QueryShape& shape, std::string_view table) {
  for (const auto& access : shape.accesses)
    if (access.table == table) return &access;
  return nullptr;
}

TEST(QueryShape, EqualityRangeAndOrderingOfOneTable) {
  const auto shape = ReadQueryShape(
      "SELECT id, total FROM orders WHERE user_id = 42 AND status IN ('paid', 'sent') AND "
      "created_at >= '2026-01-01' ORDER BY created_at DESC LIMIT 20");
  EXPECT_EQ(shape.operation, "select");
  EXPECT_THAT(shape.tables, ElementsAre("orders"));
  const auto* orders = AccessTo(shape, "orders");
  ASSERT_NE(orders, nullptr);
  EXPECT_THAT(orders->equality, ElementsAre("user_id", "status"));
  EXPECT_THAT(orders->range, ElementsAre("created_at"));
  EXPECT_THAT(orders->ordering, ElementsAre("created_at"));
  EXPECT_THAT(shape.unreadable, IsEmpty());
}

TEST(QueryShape, BetweenIsOneRangeNotAConjunction) {
  const auto shape =
      ReadQueryShape("select * from t where a between ? and ? and b = ? and c is null");
  const auto* t = AccessTo(shape, "t");
  ASSERT_NE(t, nullptr);
  EXPECT_THAT(t->range, ElementsAre("a"));
  EXPECT_THAT(t->equality, ElementsAre("b", "c"));
}

TEST(QueryShape, ValueBeforeTheColumn) {
  const auto shape = ReadQueryShape("SELECT 1 FROM t WHERE 5 < price AND 'x' = kind");
  const auto* t = AccessTo(shape, "t");
  ASSERT_NE(t, nullptr);
  EXPECT_THAT(t->equality, ElementsAre("kind"));
  EXPECT_THAT(t->range, ElementsAre("price"));
}

TEST(QueryShape, JoinKeysBelongToBothTablesByAliasAndSchema) {
  const auto has_column = [](std::string_view table, std::string_view column) {
    return (table == "orders" && column == "status") || (table == "users" && column == "country");
  };
  const auto shape = ReadQueryShape(
      "SELECT u.name, o.total FROM users AS u JOIN orders o ON o.user_id = u.id "
      "WHERE status = 'paid' AND country = ?",
      has_column);
  EXPECT_THAT(shape.tables, ElementsAre("users", "orders"));
  const auto* users = AccessTo(shape, "users");
  const auto* orders = AccessTo(shape, "orders");
  ASSERT_NE(users, nullptr);
  ASSERT_NE(orders, nullptr);
  EXPECT_THAT(users->equality, ElementsAre("country"));
  EXPECT_THAT(users->join, ElementsAre("id"));
  EXPECT_THAT(orders->equality, ElementsAre("status"));
  EXPECT_THAT(orders->join, ElementsAre("user_id"));
}

TEST(QueryShape, UsingJoinAndGroupByBeforeOrderBy) {
  const auto shape = ReadQueryShape(
      "SELECT p.category, count(*) FROM products p JOIN stock USING (product_id) "
      "GROUP BY p.category ORDER BY count(*) DESC");
  const auto* products = AccessTo(shape, "products");
  const auto* stock = AccessTo(shape, "stock");
  ASSERT_NE(products, nullptr);
  ASSERT_NE(stock, nullptr);
  EXPECT_THAT(products->join, ElementsAre("product_id"));
  EXPECT_THAT(products->ordering, ElementsAre("category"));
  EXPECT_THAT(stock->join, ElementsAre("product_id"));
}

TEST(QueryShape, SubqueriesAreStatementsOfTheirOwnAndCorrelationIsAValue) {
  const auto shape = ReadQueryShape(
      "SELECT name FROM users u WHERE EXISTS (SELECT 1 FROM orders o WHERE o.user_id = u.id "
      "AND o.total > 100) AND u.id IN (SELECT user_id FROM sessions WHERE device = 'ios')");
  EXPECT_THAT(shape.tables, ElementsAre("users", "orders", "sessions"));
  const auto* orders = AccessTo(shape, "orders");
  ASSERT_NE(orders, nullptr);
  EXPECT_THAT(orders->equality, ElementsAre("user_id"));
  EXPECT_THAT(orders->range, ElementsAre("total"));
  const auto* users = AccessTo(shape, "users");
  ASSERT_NE(users, nullptr);
  EXPECT_THAT(users->equality, ElementsAre("id"));
  const auto* sessions = AccessTo(shape, "sessions");
  ASSERT_NE(sessions, nullptr);
  EXPECT_THAT(sessions->equality, ElementsAre("device"));
}

TEST(QueryShape, ColumnsComparedWithSeveralValues) {
  const auto shape = ReadQueryShape(
      "SELECT * FROM t WHERE a IN (1, 2) AND b IN (3) AND c IN (SELECT x FROM u) AND d = 4 "
      "AND e IN (f(1, 2))");
  const auto* t = AccessTo(shape, "t");
  ASSERT_NE(t, nullptr);
  EXPECT_THAT(t->equality, ElementsAre("a", "b", "c", "d", "e"));
  EXPECT_THAT(t->lists, ElementsAre("a", "c"));
}

TEST(QueryShape, UpdateAndDeleteConditions) {
  auto shape = ReadQueryShape("UPDATE accounts SET balance = balance - 5 WHERE owner = ?");
  EXPECT_EQ(shape.operation, "update");
  ASSERT_NE(AccessTo(shape, "accounts"), nullptr);
  EXPECT_THAT(AccessTo(shape, "accounts")->equality, ElementsAre("owner"));
  shape = ReadQueryShape("DELETE FROM sessions WHERE expires_at < now()");
  EXPECT_EQ(shape.operation, "delete");
  ASSERT_NE(AccessTo(shape, "sessions"), nullptr);
  EXPECT_THAT(AccessTo(shape, "sessions")->range, ElementsAre("expires_at"));
}

TEST(QueryShape, WhatNoIndexServes) {
  // Negations, a column compared with another of its table, expressions.
  const auto shape = ReadQueryShape(
      "SELECT * FROM t WHERE c <> 3 AND d NOT IN (1) AND e = f AND lower(g) = 'x' ORDER BY h + 1");
  EXPECT_THAT(shape.tables, ElementsAre("t"));
  EXPECT_THAT(shape.accesses, IsEmpty());
  EXPECT_THAT(shape.unreadable, IsEmpty());
}

TEST(QueryShape, EachBranchOfAnOrIsAnAccessOfItsOwn) {
  auto shape = ReadQueryShape("SELECT * FROM t WHERE a = 1 OR b = 2 ORDER BY c");
  ASSERT_EQ(shape.accesses.size(), 3u);
  // What holds for every row: only the ordering.
  EXPECT_THAT(shape.accesses[0].ordering, ElementsAre("c"));
  EXPECT_EQ(shape.accesses[0].or_group, 0);
  // Each branch without the ordering: the merged rows are sorted anyway.
  EXPECT_THAT(shape.accesses[1].equality, ElementsAre("a"));
  EXPECT_THAT(shape.accesses[1].ordering, IsEmpty());
  EXPECT_EQ(shape.accesses[1].or_group, 1);
  EXPECT_EQ(shape.accesses[1].or_branch, 1);
  EXPECT_THAT(shape.accesses[2].equality, ElementsAre("b"));
  EXPECT_EQ(shape.accesses[2].or_group, 1);
  EXPECT_EQ(shape.accesses[2].or_branch, 2);

  // The conditions ANDed beside the OR go into every branch; a branch may be a conjunction.
  shape = ReadQueryShape("SELECT * FROM t WHERE x = 5 AND (a = 1 OR (b = 2 AND c > 3))");
  ASSERT_EQ(shape.accesses.size(), 3u);
  EXPECT_THAT(shape.accesses[0].equality, ElementsAre("x"));
  EXPECT_THAT(shape.accesses[1].equality, ElementsAre("x", "a"));
  EXPECT_THAT(shape.accesses[2].equality, ElementsAre("x", "b"));
  EXPECT_THAT(shape.accesses[2].range, ElementsAre("c"));

  // A branch names the table it is on; one with an OR inside it gives nothing.
  const auto has_column = [](std::string_view table, std::string_view column) {
    return (table == "u" && column == "email") || (table == "s" && column == "ip");
  };
  shape = ReadQueryShape(
      "SELECT * FROM u JOIN s ON s.u_id = u.id WHERE email = 'e' OR ip = 'i' OR (a = 1 OR b = 2)",
      has_column);
  std::vector<std::string> branches;
  for (const auto& access : shape.accesses)
    if (access.or_group != 0)
      branches.push_back(
          fmt::format("{}:{}:{}", access.or_branch, access.table, fmt::join(access.equality, ",")));
  EXPECT_THAT(branches, ElementsAre("1:u:email", "2:s:ip"));
}

TEST(QueryShape, OrderingAcrossTablesIsNoIndexOrder) {
  const auto shape =
      ReadQueryShape("SELECT * FROM a JOIN b ON a.id = b.a_id ORDER BY a.created, b.rank");
  for (const auto& access : shape.accesses) EXPECT_THAT(access.ordering, IsEmpty());
}

TEST(QueryShape, UnreadableQueriesSayWhy) {
  EXPECT_THAT(ReadQueryShape("  -- only a comment\n").unreadable, HasSubstr("only blanks"));
  EXPECT_THAT(ReadQueryShape("SELECT * FROM t WHERE (a = 1").unreadable,
              HasSubstr("unbalanced parentheses"));
  const auto insert = ReadQueryShape("INSERT INTO logs (at, line) VALUES (?, ?)");
  EXPECT_THAT(insert.unreadable, HasSubstr("insert: no SELECT, UPDATE or DELETE"));
  EXPECT_THAT(insert.tables, ElementsAre("logs"));
  EXPECT_THAT(ReadQueryShape("SELECT now()").unreadable, HasSubstr("reads no table"));
  EXPECT_THAT(ReadQueryShape("42 is not sql").unreadable, HasSubstr("statement's keyword"));
}

TEST(QueryShape, UpsertTailIsNotAnUpdate) {
  const auto shape = ReadQueryShape(
      "INSERT INTO counters (k, n) VALUES (?, 1) ON CONFLICT (k) DO UPDATE SET n = n + 1");
  EXPECT_EQ(shape.operation, "insert");
  EXPECT_THAT(shape.unreadable, HasSubstr("insert"));
}

TEST(MaskLiterals, ReplacesStringsAndNumbersOnly) {
  EXPECT_EQ(MaskLiterals("SELECT a FROM t1 WHERE b = 'it''s' AND c > 10.5 AND d = ?"),
            "SELECT a FROM t1 WHERE b = ? AND c > ? AND d = ?");
  EXPECT_EQ(MaskLiterals("SELECT \"Col\" FROM t -- no literal"),
            "SELECT \"Col\" FROM t -- no literal");
}

}  // namespace
}  // namespace mingus::collector::db
