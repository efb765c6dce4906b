#pragma once

#include <string>
#include <string_view>

namespace mingus::sql {

// A query's fingerprint in the manner of percona-toolkit's pt-fingerprint: comments stripped,
// string, number and NULL literals replaced by '?', IN (...) and multi-row VALUES
// lists collapsed to (?+), LIMIT arguments folded, ASC dropped from ORDER BY, whitespace
// collapsed and everything lower-cased, so that queries differing only in values share one.
// Deliberate differences from pt-fingerprint 3.5, each a bug there: digits inside identifiers
// stay ("t1", not "t?"; pt needs --match-embedded-numbers), a binary minus stays an operator
// ("a - 1" is "a - ?", not "a ? ?"), 'it''s' is one literal (not "??"), a hex literal is one
// literal (not "?f"), no trailing space is left where a comment ended the query, and "--"
// starts a comment even without a blank after it, as in PostgreSQL and SQLite (MySQL reads
// "a--1" as a minus minus one; fingerprints of such queries differ).
std::string Fingerprint(std::string_view query);

// Appends to `out` instead of returning, for callers that reuse a buffer.
void AppendFingerprint(std::string_view query, std::string& out);

}  // namespace mingus::sql
