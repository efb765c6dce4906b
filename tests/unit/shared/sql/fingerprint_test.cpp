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
      {"INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y'), (3, 'z')", "insert into t (a, b) values(?+)"},
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

TEST(Fingerprint, DeliberateDifferences) {
  EXPECT_EQ(Fingerprint("SELECT * FROM t1 WHERE a = 1"), "select * from t1 where a = ?");
  EXPECT_EQ(Fingerprint("UPDATE a SET b = b - 100.50 WHERE id = 3"),
            "update a set b = b - ? where id = ?");
  EXPECT_EQ(Fingerprint("SELECT 1 FROM t WHERE y = 'it''s'"), "select ? from t where y = ?");
  EXPECT_EQ(Fingerprint("SELECT a FROM b WHERE g = 0x1F"), "select a from b where g = ?");
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
