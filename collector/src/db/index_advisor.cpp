#include "mingus/collector/db/index_advisor.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "mingus/sql/tokens.h"

namespace mingus::collector::db {

bool Schema::HasColumn(std::string_view table, std::string_view column) const {
  const auto found = columns.find(std::string(table));
  if (found == columns.end()) return false;
  return std::find(found->second.begin(), found->second.end(), column) != found->second.end();
}

bool Serves(const std::vector<std::string>& index, const IndexSuggestion& suggestion) {
  const auto& wanted = suggestion.columns;
  if (index.size() < wanted.size()) return false;
  const auto equality = static_cast<std::ptrdiff_t>(suggestion.equality_columns);
  std::multiset<std::string> leading(index.begin(), index.begin() + equality);
  if (leading != std::multiset<std::string>(wanted.begin(), wanted.begin() + equality))
    return false;
  return std::equal(wanted.begin() + equality, wanted.end(), index.begin() + equality);
}

std::string QuoteName(std::string_view name) {
  const bool plain = !name.empty() && !sql::IsDigit(name[0]) && !sql::IsKeyword(name) &&
                     std::all_of(name.begin(), name.end(), [](char c) {
                       return (c >= 'a' && c <= 'z') || sql::IsDigit(c) || c == '_';
                     });
  if (plain) return std::string(name);
  std::string quoted = "\"";
  for (const char c : name) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

namespace {

// One index: the equality columns, then `after` (a range column and the ordering, in the order
// the index should have them).
std::optional<IndexSuggestion> Build(const std::string& table,
                                     const std::vector<std::string>& equality,
                                     const std::vector<std::string>& after) {
  IndexSuggestion suggestion;
  suggestion.table = table;
  const auto add = [&](const std::string& column) {
    if (std::find(suggestion.columns.begin(), suggestion.columns.end(), column) ==
        suggestion.columns.end())
      suggestion.columns.push_back(column);
  };
  for (const auto& column : equality) add(column);
  suggestion.equality_columns = suggestion.columns.size();
  for (const auto& column : after) add(column);
  if (suggestion.columns.empty()) return std::nullopt;
  suggestion.name = "mingus_" + table;
  std::string list;
  for (const auto& column : suggestion.columns) {
    suggestion.name += "_" + column;
    list += (list.empty() ? "" : ", ") + QuoteName(column);
  }
  std::replace_if(
      suggestion.name.begin(), suggestion.name.end(),
      [](char c) { return !((c >= 'a' && c <= 'z') || sql::IsDigit(c) || c == '_'); }, '_');
  suggestion.statement = fmt::format("CREATE INDEX IF NOT EXISTS {} ON {} ({})", suggestion.name,
                                     QuoteName(table), list);
  return suggestion;
}

// The candidates for one table, as SQLite's .expert makes them: which one serves depends on the
// plan (the table read first, or looked up for each row of another; a range, or the ordering),
// so each goes to verification. With join keys (the table looked up per row of another) and
// without (the table read first); the range after the equalities, and where the ordering does
// not continue the range, the ordering and then the range.
std::vector<IndexSuggestion> Propose(const TableAccess& access, const Schema& schema) {
  const auto known = [&](const std::string& column) {
    return !schema.Known() || schema.HasColumn(access.table, column);
  };
  const auto known_only = [&](const std::vector<std::string>& columns) {
    std::vector<std::string> out;
    for (const auto& column : columns)
      if (known(column)) out.push_back(column);
    return out;
  };
  const std::vector<std::string> filters = known_only(access.equality);
  std::vector<std::string> with_join = filters;
  for (const auto& column : known_only(access.join))
    if (std::find(with_join.begin(), with_join.end(), column) == with_join.end())
      with_join.push_back(column);
  std::vector<std::vector<std::string>> equalities = {with_join};
  if (with_join.size() != filters.size()) equalities.push_back(filters);
  std::vector<IndexSuggestion> candidates;
  for (const auto& equality : equalities) {
    const auto fixed = [&](const std::string& column) {
      return std::find(equality.begin(), equality.end(), column) != equality.end();
    };
    std::string range;
    for (const auto& column : access.range) {
      if (known(column) && !fixed(column)) {
        range = column;
        break;
      }
    }
    // A column compared with = is constant in the result: no need to order by it. An ordering
    // with a column the schema lacks is no index order, nor one after a list of values (the
    // index is searched value by value, each value's rows in order, not all of them).
    const bool listed = std::any_of(access.lists.begin(), access.lists.end(), fixed);
    std::vector<std::string> ordering;
    for (const auto& column : listed ? std::vector<std::string>{} : access.ordering) {
      if (!known(column)) {
        ordering.clear();
        break;
      }
      if (!fixed(column)) ordering.push_back(column);
    }
    const bool continues = !ordering.empty() && ordering.front() == range;
    std::vector<std::string> after;
    if (!range.empty()) after.push_back(range);
    if (range.empty() || continues) after.insert(after.end(), ordering.begin(), ordering.end());
    if (auto index = Build(access.table, equality, after)) candidates.push_back(std::move(*index));
    // The other way round: the index gives the order, and the range column after it is checked
    // on the index's entries, so that only the rows in range are read from the table (none when
    // the query reads no other column of it).
    if (!range.empty() && !continues && !ordering.empty()) {
      after = ordering;
      after.push_back(range);
      if (auto index = Build(access.table, equality, after))
        candidates.push_back(std::move(*index));
    }
  }
  return candidates;
}

// A row found by its rowid (an INTEGER PRIMARY KEY compared with =) needs no other index.
bool ByRowid(const ExistingIndex& index, const IndexSuggestion& suggestion) {
  if (index.name != "rowid" || index.columns.size() != 1) return false;
  const auto end =
      suggestion.columns.begin() + static_cast<std::ptrdiff_t>(suggestion.equality_columns);
  return std::find(suggestion.columns.begin(), end, index.columns.front()) != end;
}

}  // namespace

Advice AdviseIndexes(const QueryShape& shape, const Schema& schema) {
  Advice advice;
  if (!shape.unreadable.empty()) {
    advice.reason = "the query could not be read: " + shape.unreadable;
    return advice;
  }
  std::vector<std::string> served, unknown;
  // Per access: the suggestions it added, and the index its first candidate is (a new one, or
  // "" when an existing index serves it): what each other branch of its OR needs beside it.
  std::vector<std::vector<size_t>> added(shape.accesses.size());
  std::vector<std::optional<std::string>> first(shape.accesses.size());
  for (size_t a = 0; a < shape.accesses.size(); ++a) {
    const auto& access = shape.accesses[a];
    if (schema.Known() && !schema.columns.contains(access.table)) {
      unknown.push_back(access.table);
      continue;
    }
    for (auto& suggestion : Propose(access, schema)) {
      const auto existing = schema.indexes.find(access.table);
      if (existing != schema.indexes.end()) {
        const auto serving = std::find_if(
            existing->second.begin(), existing->second.end(), [&](const ExistingIndex& index) {
              return Serves(index.columns, suggestion) || ByRowid(index, suggestion);
            });
        if (serving != existing->second.end()) {
          served.push_back(fmt::format("{} ({})", serving->name, suggestion.table));
          if (!first[a]) first[a] = "";
          continue;
        }
      }
      const auto duplicate = std::find_if(
          advice.suggestions.begin(), advice.suggestions.end(), [&](const auto& other) {
            return other.table == suggestion.table &&
                   other.columns.size() == suggestion.columns.size() &&
                   Serves(other.columns, suggestion);
          });
      if (!first[a])
        first[a] = duplicate != advice.suggestions.end() ? duplicate->name : suggestion.name;
      if (duplicate != advice.suggestions.end()) continue;
      added[a].push_back(advice.suggestions.size());
      advice.suggestions.push_back(std::move(suggestion));
    }
  }
  for (size_t a = 0; a < shape.accesses.size(); ++a) {
    const auto& access = shape.accesses[a];
    if (access.or_group == 0) continue;
    for (size_t b = 0; b < shape.accesses.size(); ++b) {
      const auto& other = shape.accesses[b];
      if (other.or_group != access.or_group || other.or_branch == access.or_branch ||
          other.table != access.table || !first[b] || first[b]->empty())
        continue;
      for (const size_t s : added[a]) {
        auto& with = advice.suggestions[s].with;
        if (*first[b] != advice.suggestions[s].name &&
            std::find(with.begin(), with.end(), *first[b]) == with.end())
          with.push_back(*first[b]);
      }
    }
  }
  if (advice.suggestions.empty()) {
    if (!served.empty()) {
      std::string names;
      for (const auto& name : served) names += (names.empty() ? "" : ", ") + name;
      advice.reason = "existing indexes already serve it: " + names;
    } else if (!unknown.empty()) {
      advice.reason = fmt::format("the schema has no table {}", unknown.front());
    } else {
      advice.reason = "no WHERE, JOIN, GROUP BY or ORDER BY column an index could serve";
    }
  }
  return advice;
}

}  // namespace mingus::collector::db
