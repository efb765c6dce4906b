#include "mingus/sql/fingerprint.h"

#include <gtest/gtest.h>

namespace mingus::sql {
namespace {

struct Case {
  const char* query;
  const char* fingerprint;
};

// Expected values are pt-fingerprint's output, except where the header documents a deliberate
// difference (marked here).
TEST(Fingerprint, AgreesWithPtFingerprint) {
  const Case cases[] = {
      {"SELECT * FROM users WHERE id = 42", "select * from users where id = ?"},
      {"select name, email from users where id in (1, 2, 3) and active = 1",
       "select name, email from users where id in(?+) and active = ?"},
      {"INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y'), (3, 'z')",
       "insert into t (a, b) values(?+)"},
      {"SELECT * FROM orders WHERE user_id = 7 ORDER BY created_at ASC LIMIT 10, 20",
       "select * from orders where user_id = ? order by created_at limit ?"},
      {"/* leading */ SELECT   a FROM  b WHERE c = \"str\" # hash comment",
       "select a from b where c = ?"},  // pt leaves a trailing space
      {"DELETE FROM sessions WHERE expires < 1700000000", "delete from sessions where expires < ?"},
      {"SELECT COUNT(*) FROM events WHERE created_at > '2024-01-01' GROUP BY day ORDER BY day DESC",
       "select count(*) from events where created_at > ? group by day order by day desc"},
      {"select * from users where email = $1 and id = $2",
       "select * from users where email = $? and id = $?"},
      {"SELECT x FROM y WHERE z = 1.5e3", "select x from y where z = ?"},
      {"SELECT * FROM t WHERE x = -1", "select * from t where x = ?"},
      {"select a from t where b is null and c = true limit 5 offset 10",
       "select a from t where b is ? and c = true limit ?"},
  };
  for (const auto& c : cases) EXPECT_EQ(Fingerprint(c.query), c.fingerprint) << c.query;
}

// pt-fingerprint's rules beyond literals, as pt-fingerprint 3.2 prints them.
TEST(Fingerprint, AgreesWithPtFingerprintOnItsOtherRules) {
  const Case cases[] = {
      {"CALL rewards_report(7, 20.00, @count)", "call rewards_report"},
      {"USE appdb", "use ?"},
      {"SELECT /*!40001 SQL_NO_CACHE */ * FROM `film`", "mysqldump"},
      {"REPLACE /*foo.bar:3/3*/ INTO checksums SELECT 1", "percona-toolkit"},
      {"administrator command: Ping", "administrator command: Ping"},
      {"/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */",
       "/*!? set @old_character_set_client=@@character_set_client */"},
      {"SELECT /*+ MAX_EXECUTION_TIME(1000) */ id FROM t", "select id from t"},
      {"INSERT INTO log (a, t) VALUES (1, NOW()), (2, NOW()), (3, NOW())",
       "insert into log (a, t) values (?, now())"},
      {"SELECT a FROM t WHERE id = 1 UNION ALL SELECT a FROM t WHERE id = 2 UNION ALL SELECT a "
       "FROM t WHERE id = 3",
       "select a from t where id = ? /*repeat union all*/"},
      {"SELECT a FROM t WHERE x = 1 UNION SELECT b FROM u WHERE x = 1",
       "select a from t where x = ? union select b from u where x = ?"},
      {"SELECT id FROM t ORDER BY a ASC, b DESC, c asc LIMIT 5 OFFSET 10",
       "select id from t order by a, b desc, c limit ?"},
      {"SELECT name FROM t WHERE id IN ('a', \"b\") AND k IN (?, ?)",
       "select name from t where id in(?+) and k in(?+)"},
      {"SELECT data #>> '{a,b}' FROM t", "select data #>> ? from t"},
      {"SELECT 1 FROM t WHERE b = 0xff AND c = x'0a' AND d = b'01'",
       "select ? from t where b = ? and c = ? and d = ?"},
      {"SELECT * FROM t WHERE a = ?1 AND b = :name AND c = %s AND d = %(d)s",
       "select * from t where a = ?? and b = :name and c = %s and d = %(d)s"},
  };
  for (const auto& c : cases) EXPECT_EQ(Fingerprint(c.query), c.fingerprint) << c.query;
}

TEST(Fingerprint, DeliberateDifferences) {
  EXPECT_EQ(Fingerprint("SELECT * FROM t1 WHERE a = 1"), "select * from t1 where a = ?");
  EXPECT_EQ(Fingerprint("UPDATE a SET b = b - 100.50 WHERE id = 3"),
            "update a set b = b - ? where id = ?");
  EXPECT_EQ(Fingerprint("SELECT 1 FROM t WHERE y = 'it''s'"), "select ? from t where y = ?");
  EXPECT_EQ(Fingerprint("SELECT a FROM b WHERE g = 0x1F"), "select a from b where g = ?");
  // The rest of shared/include/mingus/sql/fingerprint.h's list, one case each.
  EXPECT_EQ(Fingerprint("UPDATE t SET k=k+1 WHERE a->>'$.x' = 2"),
            "update t set k=k+? where a->>? = ?");
  EXPECT_EQ(Fingerprint("SELECT 1 FROM t WHERE p = 'C:\\\\' AND q = 2"),
            "select ? from t where p = ? and q = ?");
  EXPECT_EQ(Fingerprint("SELECT X'CAFE', B'01', N'x', E'\\n'"), "select ?, ?, ?, ?");
  EXPECT_EQ(Fingerprint("SELECT \"users\".* FROM \"users\" WHERE \"users\".\"Id\" = $1"),
            "select \"users\".* from \"users\" where \"users\".\"id\" = $?");
  EXPECT_EQ(Fingerprint("SELECT \"a\" FROM t WHERE b = \"x\""),
            "select ? from t where b = ?");  // MySQL strings
  EXPECT_EQ(
      Fingerprint(
          "SELECT * FROM t WHERE id IN ($1, $2, $3) AND s IN (%s, %s) AND u = ANY(ARRAY[1, 2])"),
      "select * from t where id in(?+) and s in(?+) and u = any(array[?+])");
  EXPECT_EQ(Fingerprint("INSERT INTO t (a) VALUES (1), (2) ON DUPLICATE KEY UPDATE a = VALUES(a)"),
            "insert into t (a) values(?+) on duplicate key update a = values(a)");
  EXPECT_EQ(Fingerprint("INSERT INTO t (a) VALUES ($1), ($2) RETURNING id"),
            "insert into t (a) values(?+) returning id");
  EXPECT_EQ(Fingerprint("SELECT a/**/FROM t /* trailing */"), "select a from t");
  EXPECT_EQ(Fingerprint("SELECT 1 -- it's a comment\nFROM t"), "select ? from t");
  EXPECT_EQ(Fingerprint("SELECT id FROM t ORDER BY a ASC, ascii_name"),
            "select id from t order by a, ascii_name");
  EXPECT_EQ(Fingerprint("CALL p(f(1))"), "call p");
  EXPECT_EQ(Fingerprint("SELECT a FROM t UNION SELECT a FROM tt"),
            "select a from t union select a from tt");
}

// Where the double quotes are names, and where they stay strings.
TEST(Fingerprint, DoubleQuotedNames) {
  EXPECT_EQ(Fingerprint("SELECT COUNT(*) AS \"n\" FROM \"Users\""),
            "select count(*) as \"n\" from \"users\"");
  EXPECT_EQ(Fingerprint("SELECT t.\"order\" FROM t"), "select t.\"order\" from t");
  EXPECT_EQ(Fingerprint("INSERT INTO \"t\" (\"a\") VALUES ('x')"),
            "insert into \"t\" (\"a\") values(?+)");
  EXPECT_EQ(Fingerprint("SELECT COUNT(*) AS \"n\" FROM t WHERE a = \"x\""),
            "select count(*) as ? from t where a = ?");
  EXPECT_EQ(Fingerprint("SELECT \"a\".5 FROM t"), "select ?? from t");  // a string and a number
  // The quotes were names only through a dropped row: strings then, as in the fingerprint.
  EXPECT_EQ(Fingerprint("INSERT INTO t VALUES (\"x\"), (\"a\".b)"), "insert into t values(?+)");
}

// A fingerprint is its own fingerprint (the fuzz target checks it on any input).
TEST(Fingerprint, IsItsOwnFingerprint) {
  for (const char* query : {
           "SELECT a FROM t WHERE id = 1 UNION ALL SELECT a FROM t WHERE id = 2", "CALL p(1)",
           "USE db", "INSERT INTO t VALUES (1, NOW()), (2, NOW()) RETURNING id",
           "SELECT \"a\".\"b\" FROM \"a\" WHERE \"a\".\"c\" IN ($1, $2) ORDER BY 1 ASC LIMIT 1, 2",
           "/*!50100 PARTITION BY RANGE (id) */", "SELECT x #- '{a}' FROM t",
           "select a - asc-1 from t order by a - asc-b",
           "SELECT 1 -#--c\n, \"t\".x FROM t",  // #- is no comment, nor the - after it
       }) {
    const std::string once = Fingerprint(query);
    EXPECT_EQ(Fingerprint(once), once) << query;
  }
}

TEST(Fingerprint, ValuesThatDifferShareOneFingerprint) {
  EXPECT_EQ(Fingerprint("SELECT * FROM users WHERE id IN (1,2,3)"),
            Fingerprint("select *\n  from users\twhere id in (7)"));
  EXPECT_EQ(Fingerprint("SELECT * FROM t WHERE s = 'a\\'b' -- note"),
            Fingerprint("SELECT * FROM t WHERE s = 'other'"));
}

TEST(Fingerprint, OddInputStaysBounded) {
  EXPECT_EQ(Fingerprint(""), "");
  EXPECT_EQ(Fingerprint("   "), "");
  EXPECT_EQ(Fingerprint("'unterminated"), "?");
  EXPECT_EQ(Fingerprint("/* unterminated"), "");
  EXPECT_EQ(Fingerprint("select `Weird Name` from x"), "select `weird name` from x");
}

}  // namespace
}  // namespace mingus::sql
