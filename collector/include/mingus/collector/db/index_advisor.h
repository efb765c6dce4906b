#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mingus/collector/db/query_shape.h"

// Index suggestions from a query's shape: for each table it reads, equality columns first, then
// one range column, then the ordering when the index can deliver it; none where an index of the
// schema already starts with those columns.
namespace mingus::collector::db {

struct ExistingIndex {
  std::string name;
  std::vector<std::string> columns;  // lower-case; an expression column is ""
};

// What is known of the application's schema (lower-case names). Empty: unknown.
struct Schema {
  std::map<std::string, std::vector<std::string>> columns;    // by table
  std::map<std::string, std::vector<ExistingIndex>> indexes;  // by table; the rowid too
  bool HasColumn(std::string_view table, std::string_view column) const;
  bool Known() const { return !columns.empty(); }
};

struct IndexSuggestion {
  std::string table;
  std::vector<std::string> columns;
  size_t equality_columns = 0;  // the first columns, in any order: each is compared with =
  std::string name;             // mingus_<table>_<columns...>
  std::string statement;        // CREATE INDEX IF NOT EXISTS ...
  // For a branch of an OR across columns: the suggestions (by name, of the same advice) for the
  // other branches on the same table, which the planner needs beside this one to read the
  // branches by an index each; none where an existing index serves a branch.
  std::vector<std::string> with;
};

// An index serves a suggestion when its first columns are the suggestion's (the equality ones in
// any order), so that it is redundant.
bool Serves(const std::vector<std::string>& index, const IndexSuggestion& suggestion);

struct Advice {
  std::vector<IndexSuggestion> suggestions;
  std::string reason;  // why there is none, when there is none
};

// With a known schema, columns and tables it does not have are left out, and suggestions an
// existing index serves are dropped.
Advice AdviseIndexes(const QueryShape& shape, const Schema& schema);

// Quotes a name for SQL when it needs it ("order", "my table").
std::string QuoteName(std::string_view name);

}  // namespace mingus::collector::db
