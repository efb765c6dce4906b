#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Rewrite hints for a slow query (issue 9): patterns that keep a database from using its indexes
// or make it do more work than the application needs, each with why and a suggested rewrite of
// the query. Read from the query's text by a tokenizer, not a full parser: text it cannot follow
// gives no hint rather than a wrong one.
namespace mingus::sql {

// What is known about the query's database and its runs; each part may be unknown.
struct HintContext {
  // Whether table.column leads an index (names lower-case, unquoted). Unset: the schema is
  // unknown, and a function on any column in a condition gets a hint.
  std::function<bool(std::string_view table, std::string_view column)> indexed;
  // A table's columns, for the rewrite of SELECT * (empty or unset: unknown).
  std::function<std::vector<std::string>(std::string_view table)> columns;
  // Rows the query returns per run (from its digest); unset: unknown, no missing-limit hint.
  std::optional<double> rows;
  double large_result_rows = 1000;  // missing-limit from this many rows per run
  long long deep_offset = 1000;     // deep-offset from this OFFSET on
};

struct RewriteHint {
  // One of: select-star, leading-wildcard-like, function-on-column, or-across-columns,
  // deep-offset, not-in-subquery, missing-limit, implicit-cross-join.
  std::string id;
  std::string explanation;  // what the query does and why it costs
  std::string rewrite;      // the query rewritten, or the statement to run, as a suggestion
};

// The hints for one query (a sample with its literals, or a fingerprint), at most one of each
// kind, in the order of the list above.
std::vector<RewriteHint> RewriteHints(std::string_view query, const HintContext& context = {});

}  // namespace mingus::sql
