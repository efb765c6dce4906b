#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

// What an index could do for a query: for each table each SELECT, UPDATE or DELETE of it reads,
// the columns compared with a value or joined on (equality), bounded (range), and sorted or
// grouped by. Read from the query's tokens (mingus/sql/tokens.h), not a full parser: a shape
// it cannot follow is reported as unreadable, with why, rather than guessed.
namespace mingus::collector::db {

struct TableAccess {
  std::string table;                  // lower-case, unquoted, without its schema
  std::vector<std::string> equality;  // c = v, c IN (...), c IS NULL; in query order
  std::vector<std::string> lists;     // those compared with several values: IN (v, w), IN (SELECT)
  std::vector<std::string> join;      // t.c = u.d, USING (c): compared with another table's rows
  std::vector<std::string> range;     // c < v, c >= v, c BETWEEN v AND w, ...
  std::vector<std::string> ordering;  // GROUP BY, or ORDER BY when there is no GROUP BY
  // A branch of conditions joined by OR (`a = 1 OR b = 2`): SQLite reads each branch through an
  // index of its own and merges the rows (MULTI-INDEX OR), so each branch is an access of its
  // own, with the conditions ANDed beside the OR and without the ordering (the merged rows are
  // sorted anyway). The ORs of a query are numbered from 1, their branches too; 0: no branch.
  int or_group = 0, or_branch = 0;
};

struct QueryShape {
  std::string operation;            // the statement's first word: select, insert, update, ...
  std::vector<std::string> tables;  // every table it names, once each, in order
  std::vector<TableAccess> accesses;
  std::string unreadable;  // why no index can be read from it; empty when it could be read
};

// Whether `table` has `column`, when the schema is known: resolves unqualified columns of a
// join. Unset: a column without qualifier belongs to the statement's first table.
using HasColumn = std::function<bool(std::string_view table, std::string_view column)>;

QueryShape ReadQueryShape(std::string_view query, const HasColumn& has_column = {});

// The query with every string and number literal replaced by '?', as written otherwise: a
// sample that shows the query's shape without the values (which may be personal data).
std::string MaskLiterals(std::string_view query);

}  // namespace mingus::collector::db
