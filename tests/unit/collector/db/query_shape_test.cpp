#include "mingus/collector/db/query_shape.h"

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
  // OR across columns, negations, a column compared with another of its table, expressions.
  const auto shape = ReadQueryShape(
      "SELECT * FROM t WHERE (a = 1 OR b = 2) AND c <> 3 AND d NOT IN (1) AND e = f AND "
      "lower(g) = 'x' ORDER BY h + 1");
  EXPECT_THAT(shape.tables, ElementsAre("t"));
  EXPECT_THAT(shape.accesses, IsEmpty());
  EXPECT_THAT(shape.unreadable, IsEmpty());
  const auto ors = ReadQueryShape("SELECT * FROM t WHERE a = 1 OR b = 2");
  EXPECT_THAT(ors.accesses, IsEmpty());
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
