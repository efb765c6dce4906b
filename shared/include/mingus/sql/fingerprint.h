#pragma once

#include <string>
#include <string_view>

namespace mingus::sql {

// A query's fingerprint as percona-toolkit's pt-fingerprint makes it: comments stripped (not
// MySQL's /*!NNNNN ... */, which MySQL runs), string, number and NULL literals replaced by '?',
// IN (...) and multi-row VALUES lists collapsed to (?+), rows of an INSERT after the first
// dropped, SELECTs repeated through UNION collapsed to one and a /*repeat union*/, LIMIT
// arguments folded, ASC dropped from ORDER BY on, "CALL p(...)" reduced to "call p", "USE db" to
// "use ?", whitespace collapsed and everything lower-cased, so that queries differing only in
// values share one. One pass over the query, writing the fingerprint as it goes; a fingerprint is
// its own fingerprint.
//
// tests/integration/fingerprint_test.py holds it to pt-fingerprint 3.2 over the corpus in
// tests/fixtures/sql. Deliberate differences, each where pt is wrong or does not know the dialect:
// - digits inside names stay ("t1", "utf8mb4", "$1" aside; pt needs --match-embedded-numbers);
// - a sign belongs to a number only where no operand precedes it: "a - 1" is "a - ?", "k+1" is
//   "k+?" and "data->>'k'" is "data->>?" (pt: "a ? ?", "k?", "data?>>?");
// - 'it''s' is one literal, and so is 'C:\\' (pt: "??", and a run into the next literal);
// - hex and bit literals in any case (0x1F, X'0A', B'01') and N'...', E'...' are one literal;
// - double quotes around names are kept as names, lower-cased, where the query shows that it
//   quotes names so ("t"."c", t."c", "t".c, or after FROM, JOIN, INTO, UPDATE or TABLE, where
//   MySQL takes no string): Django, Rails, Prisma and SQLAlchemy on PostgreSQL and SQLite; pt
//   reads every "..." as a string, and "t"."c" as "??";
// - lists of placeholders ($1, %s, %(name)s, :name, @name, $name) collapse as lists of literals
//   do, and so does ARRAY[...] (pt keeps "in ($?, $?)" and "array[?, ?]");
// - of an INSERT's rows only the first goes, not what follows them: ON DUPLICATE KEY UPDATE,
//   ON CONFLICT, RETURNING stay (pt drops them with the rows); also for INSERT OR REPLACE and
//   after a leading comment, where pt keeps every row;
// - a comment is a blank: no trailing space where one ended the query, "a/**/b" is "a b";
// - "--" starts a comment even without a blank after it (PostgreSQL, SQLite; MySQL reads "a--1"
//   as a minus minus one), and a comment holding a quote is still one (pt keeps "-- don't");
//   '#' starts one too (MySQL) except in PostgreSQL's jsonb operators #> #>> #-;
// - ASC goes only as a word (pt turns "asc, ascii(x)" into ",ii(x)");
// - a SELECT repeated inside what pt's single UNION pass matched is collapsed too, and LIMIT
//   folds as often as it can at its first place, so that a fingerprint is its own fingerprint.
std::string Fingerprint(std::string_view query);

// Appends to `out` instead of returning, for callers that reuse a buffer: then the fingerprint
// allocates nothing but for queries with UNION.
void AppendFingerprint(std::string_view query, std::string& out);

}  // namespace mingus::sql
