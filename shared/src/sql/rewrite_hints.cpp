#include "mingus/sql/rewrite_hints.h"

#include <fmt/format.h>

#include <algorithm>
#include <initializer_list>
#include <tuple>

#include "mingus/sql/tokens.h"

namespace mingus::sql {

namespace {

constexpr size_t kNone = std::string_view::npos;

using Kind = TokenKind;

// ---------------------------------------------------------------------------------- the query

struct Column {
  std::string qualifier, name;  // qualifier empty when none
  size_t first = 0, last = 0;   // token indexes
};

struct TableItem {
  std::string name, alias;  // alias empty when none
  size_t first = 0, last = 0;
  bool after_comma = false;  // joined by ',' rather than JOIN
  bool plain = true;         // a table's name, not a subquery or function
};

class Query {
 public:
  Query(std::string_view text, const HintContext& context)
      : text_(text), context_(context), t_(Tokenize(text)) {}

  std::vector<RewriteHint> Hints();

 private:
  bool Word(size_t i, std::string_view word) const {
    return i < t_.size() && t_[i].kind == Kind::kWord && t_[i].text == word;
  }
  bool Punct(size_t i, std::string_view text) const {
    return i < t_.size() && t_[i].kind == Kind::kPunct && t_[i].text == text;
  }
  bool IsName(size_t i) const {
    return i < t_.size() &&
           (t_[i].kind == Kind::kName || (t_[i].kind == Kind::kWord && !IsKeyword(t_[i].text)));
  }
  bool IsValue(size_t i) const {
    return i < t_.size() && (t_[i].kind == Kind::kString || t_[i].kind == Kind::kNumber ||
                             t_[i].kind == Kind::kPlaceholder || Word(i, "null") ||
                             Word(i, "true") || Word(i, "false"));
  }
  bool IsComparison(size_t i) const {
    return i < t_.size() &&
           ((t_[i].kind == Kind::kPunct &&
             OneOf(t_[i].text, {"=", "<", ">", "<=", ">=", "<>", "!="})) ||
            Word(i, "like") || Word(i, "ilike") || Word(i, "in") || Word(i, "between"));
  }
  // The matching ')' of the '(' at i, or the end.
  size_t Close(size_t i) const {
    for (size_t j = i + 1; j < t_.size(); ++j)
      if (t_[j].depth == t_[i].depth && Punct(j, ")")) return j;
    return t_.size();
  }
  // A column reference starting at i: name, qualifier.name or schema.table.name.
  std::optional<Column> ColumnAt(size_t i) const {
    if (!IsName(i) || Punct(i + 1, "(")) return std::nullopt;
    Column column{"", t_[i].text, i, i};
    while (Punct(column.last + 1, ".") && IsName(column.last + 2)) {
      column.qualifier = column.name;
      column.name = t_[column.last + 2].text;
      column.last += 2;
    }
    return column;
  }
  // A column reference ending at i.
  std::optional<Column> ColumnEndingAt(size_t i) const {
    if (i >= t_.size() || !IsName(i)) return std::nullopt;
    size_t first = i;
    while (first >= 2 && Punct(first - 1, ".") && IsName(first - 2)) first -= 2;
    auto column = ColumnAt(first);
    if (!column || column->last != i) return std::nullopt;
    return column;
  }
  // From i on, the first token at depth `depth` that is one of `words` or ';', or where the
  // enclosing parenthesis closes.
  size_t ClauseEnd(size_t i, int depth, std::initializer_list<std::string_view> words) const {
    for (; i < t_.size(); ++i) {
      if (t_[i].depth < depth) return i;  // the parenthesis around it closes
      if (t_[i].depth == depth &&
          (Punct(i, ";") || (t_[i].kind == Kind::kWord && OneOf(t_[i].text, words))))
        return i;
    }
    return t_.size();
  }
  size_t WhereEnd(size_t where) const {
    return ClauseEnd(where + 1, t_[where].depth,
                     {"group", "order", "limit", "having", "union", "intersect", "except", "for",
                      "returning", "window", "offset", "fetch"});
  }
  // The SELECT that token i belongs to (its depth or shallower): its index, or kNone.
  size_t SelectOf(size_t i) const;
  std::vector<TableItem> FromItems(size_t select) const;
  // The WHERE of the SELECT (or UPDATE or DELETE) at `select`, or kNone.
  size_t WhereOf(size_t select) const;
  // The table a column belongs to, by its qualifier or as the only (or first) table.
  std::string TableOf(const Column& column, size_t at) const;
  // The clause keyword (where, on, select, ...) governing token i.
  std::string_view ClauseOf(size_t i) const;
  std::string Text(size_t first, size_t last) const {  // tokens first..last as written
    return std::string(text_.substr(t_[first].begin, t_[last].end - t_[first].begin));
  }
  std::string Replaced(size_t first, size_t last, std::string_view with) const {
    return fmt::format("{}{}{}", text_.substr(0, t_[first].begin), with,
                       text_.substr(t_[last].end));
  }
  std::string Trimmed() const {  // the query without a trailing ';' and blanks
    std::string_view text = text_;
    while (!text.empty() && (IsSpace(text.back()) || text.back() == ';')) text.remove_suffix(1);
    return std::string(text);
  }

  std::optional<RewriteHint> SelectStar() const;
  std::optional<RewriteHint> LeadingWildcardLike() const;
  std::optional<RewriteHint> FunctionOnColumn() const;
  std::optional<RewriteHint> OrAcrossColumns() const;
  std::optional<RewriteHint> DeepOffset() const;
  std::optional<RewriteHint> NotInSubquery() const;
  std::optional<RewriteHint> MissingLimit() const;
  std::optional<RewriteHint> ImplicitCrossJoin() const;
  // The disjunction in [first, end) at depth `depth`, or inside a parenthesised group of it,
  // whose branches compare different columns: (first token, last token, branches' ranges).
  struct Disjunction {
    size_t first, last;
    bool parenthesised;
    std::vector<std::pair<size_t, size_t>> branches;
  };
  std::optional<Disjunction> FindDisjunction(size_t first, size_t end, int depth) const;

  std::string_view text_;
  const HintContext& context_;
  std::vector<Token> t_;
};

size_t Query::SelectOf(size_t i) const {
  int depth = i < t_.size() ? t_[i].depth : 0;
  for (size_t j = i + 1; j-- > 0;) {
    if (t_[j].depth < depth) depth = t_[j].depth;
    if (t_[j].depth == depth && t_[j].kind == Kind::kWord &&
        OneOf(t_[j].text, {"select", "update", "delete"}))
      return j;
  }
  return kNone;
}

std::vector<TableItem> Query::FromItems(size_t select) const {
  std::vector<TableItem> items;
  const int depth = t_[select].depth;
  size_t i = select + 1;
  if (Word(select, "update")) {
    i = select;  // UPDATE t ... SET: the table follows the word itself
  } else {
    while (i < t_.size() && !(t_[i].depth == depth && Word(i, "from"))) {
      if (t_[i].depth < depth || (t_[i].depth == depth && Punct(i, ";"))) return items;
      ++i;
    }
  }
  const size_t end = ClauseEnd(i + 1, depth,
                               {"where", "group", "order", "limit", "having", "union", "set",
                                "returning", "window", "for", "intersect", "except"});
  bool after_comma = false;
  for (size_t j = i + 1; j < end;) {
    TableItem item;
    item.first = j;
    item.after_comma = after_comma;
    if (Word(j, "lateral")) ++j;
    if (auto column = ColumnAt(j)) {  // schema.table reads as a column reference
      item.name = column->name;
      j = column->last + 1;
    } else {
      item.plain = false;
      if (Punct(j, "(")) {
        j = Close(j) + 1;
      } else {
        ++j;
        if (Punct(j, "(")) j = Close(j) + 1;
      }
    }
    if (Word(j, "as")) ++j;
    if (j < end && IsName(j) && !Punct(j + 1, ".")) item.alias = t_[j++].text;
    // Up to the next item: ',' or a JOIN (its ON or USING condition belongs to this item).
    while (j < end && !(t_[j].depth == depth && (Punct(j, ",") || Word(j, "join")))) ++j;
    item.last = j - 1;
    items.push_back(item);
    if (j >= end) break;
    after_comma = Punct(j, ",");
    ++j;
  }
  return items;
}

size_t Query::WhereOf(size_t select) const {
  const int depth = t_[select].depth;
  for (size_t i = select + 1; i < t_.size(); ++i) {
    if (t_[i].depth < depth || (t_[i].depth == depth && Punct(i, ";"))) return kNone;
    if (t_[i].depth == depth && t_[i].kind == Kind::kWord &&
        OneOf(t_[i].text, {"union", "intersect", "except", "select"}) && i != select)
      return kNone;
    if (t_[i].depth == depth && Word(i, "where")) return i;
  }
  return kNone;
}

std::string Query::TableOf(const Column& column, size_t at) const {
  const size_t select = SelectOf(at);
  if (select == kNone) return {};
  const auto items = FromItems(select);
  for (const auto& item : items) {
    if (!column.qualifier.empty() &&
        (item.alias == column.qualifier || item.name == column.qualifier))
      return item.name;
  }
  if (column.qualifier.empty() && !items.empty()) return items.front().name;
  return column.qualifier;
}

std::string_view Query::ClauseOf(size_t i) const {
  int depth = t_[i].depth;
  for (size_t j = i; j-- > 0;) {
    if (t_[j].depth < depth) depth = t_[j].depth;
    if (t_[j].depth == depth && t_[j].kind == Kind::kWord &&
        OneOf(t_[j].text, {"where", "on", "select", "from", "having", "group", "order", "set",
                           "values", "limit", "returning", "when", "using"}))
      return t_[j].text;
  }
  return {};
}

// ---------------------------------------------------------------------------------- the hints

std::optional<RewriteHint> Query::SelectStar() const {
  std::vector<std::pair<size_t, size_t>> stars;  // token ranges: * or t.*
  std::string table;
  for (size_t i = 0; i < t_.size(); ++i) {
    if (!Word(i, "select")) continue;
    if (i >= 2 && Punct(i - 1, "(") && Word(i - 2, "exists"))
      continue;  // EXISTS (SELECT * ...) reads no column
    const int depth = t_[i].depth;
    bool item_start = true;
    for (size_t j = i + 1; j < t_.size() && t_[j].depth >= depth; ++j) {
      if (t_[j].depth > depth) continue;
      if (Word(j, "from") || Punct(j, ";")) break;
      if (item_start && t_[j].kind == Kind::kWord &&
          OneOf(t_[j].text, {"distinct", "all", "sql_calc_found_rows", "sql_no_cache",
                             "straight_join", "high_priority", "distinctrow"}))
        continue;
      if (Punct(j, "*") && item_start) {
        stars.emplace_back(j, j);
      } else if (Punct(j, "*") && j >= 2 && Punct(j - 1, ".")) {
        if (auto column = ColumnEndingAt(j - 2);
            column && (column->first == i + 1 || Punct(column->first - 1, ",")))
          stars.emplace_back(column->first, j);
      }
      item_start = Punct(j, ",");
    }
    if (table.empty() && !stars.empty()) {
      const auto items = FromItems(i);
      if (!items.empty()) table = items.front().name;
    }
  }
  if (stars.empty()) return std::nullopt;
  std::string rewrite;
  size_t copied = 0;
  for (const auto& [first, last] : stars) {
    std::string qualifier = first == last ? "" : Text(first, last - 2) + ".";
    std::string star_table = table;
    if (!qualifier.empty()) star_table = TableOf(Column{t_[last - 2].text, "", first, last}, first);
    std::vector<std::string> columns;
    if (context_.columns) columns = context_.columns(star_table);
    std::string list;
    for (const auto& column : columns) list += (list.empty() ? "" : ", ") + qualifier + column;
    if (list.empty()) list = qualifier + "<the columns the caller reads>";
    rewrite += text_.substr(copied, t_[first].begin - copied);
    rewrite += list;
    copied = t_[last].end;
  }
  rewrite += text_.substr(copied);
  return RewriteHint{
      "select-star",
      "SELECT * reads and sends every column: wider rows, no index-only (covering) plans, and "
      "a result that changes when a column is added. Name the columns the caller reads.",
      rewrite};
}

std::optional<RewriteHint> Query::LeadingWildcardLike() const {
  for (size_t i = 0; i < t_.size(); ++i) {
    if (!Word(i, "like") && !Word(i, "ilike")) continue;
    size_t pattern = i + 1;
    if (Word(pattern, "concat") && Punct(pattern + 1, "(")) pattern += 2;
    if (pattern >= t_.size() || t_[pattern].kind != Kind::kString) continue;
    const std::string& text = t_[pattern].text;
    if (text.empty() || (text[0] != '%' && text[0] != '_')) continue;
    const size_t before = Word(i - 1, "not") ? i - 2 : i - 1;
    const auto column = i > 0 ? ColumnEndingAt(before) : std::nullopt;
    if (!column) continue;
    const std::string name = Text(column->first, column->last);
    const std::string table = TableOf(*column, i);
    const std::string inner = text.substr(1);
    std::string rewrite;
    if (pattern == i + 1 && inner.find_first_of("%_\\") == std::string::npos &&
        !Word(i - 1, "not")) {
      // '%suffix': search the reversed column from its start.
      const std::string reversed(inner.rbegin(), inner.rend());
      rewrite = fmt::format(
          "{}  -- with CREATE INDEX {}_{}_reversed ON {} ((reverse({})))",
          Replaced(column->first, pattern, fmt::format("reverse({}) LIKE '{}%'", name, reversed)),
          table, column->name, table, column->name);
    } else {
      std::string words = inner;
      while (!words.empty() && (words.back() == '%' || words.back() == '_')) words.pop_back();
      rewrite = fmt::format(
          "CREATE INDEX {0}_{1}_trgm ON {0} USING gin ({1} gin_trgm_ops)  -- PostgreSQL with "
          "pg_trgm: "
          "the same LIKE then uses the index; MySQL: CREATE FULLTEXT INDEX {0}_{1}_text ON {0} "
          "({1}) and "
          "MATCH({1}) AGAINST ('{2}'); SQLite: an FTS5 table over {1} and MATCH '{2}'",
          table, column->name, words);
    }
    return RewriteHint{
        "leading-wildcard-like",
        fmt::format(
            "{} {} '{}' starts with a wildcard: no B-tree index on {} can find where the matches "
            "begin, so every row is read and compared.",
            name, Text(i, i), text, column->name),
        rewrite};
  }
  return std::nullopt;
}

// "YYYY-MM-DD" plus one day, or empty.
std::string NextDay(std::string_view date) {
  if (date.size() != 10 || date[4] != '-' || date[7] != '-') return {};
  for (const size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (!IsDigit(date[i])) return {};
  int year = std::stoi(std::string(date.substr(0, 4)));
  int month = std::stoi(std::string(date.substr(5, 2)));
  int day = std::stoi(std::string(date.substr(8, 2)));
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  const int days[] = {31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1 || day > days[month - 1]) return {};
  if (++day > days[month - 1]) {
    day = 1;
    if (++month > 12) {
      month = 1;
      ++year;
    }
  }
  return fmt::format("{:04}-{:02}-{:02}", year, month, day);
}

std::optional<RewriteHint> Query::FunctionOnColumn() const {
  for (size_t i = 0; i + 1 < t_.size(); ++i) {
    // A call with a column as its first argument, fn(col, ...), or a cast, col::type.
    std::optional<Column> column;
    std::string function;
    size_t last = 0;
    if (t_[i].kind == Kind::kWord && !IsKeyword(t_[i].text) && Punct(i + 1, "(")) {
      function = t_[i].text;
      if (OneOf(function, {"count", "sum", "avg", "min", "max", "exists"})) continue;
      column = ColumnAt(i + 2);
      if (!column || !(Punct(column->last + 1, ")") || Punct(column->last + 1, ",") ||
                       Word(column->last + 1, "as")))
        continue;
      last = Close(i + 1);
      if (last >= t_.size()) continue;
    } else if (auto cast = ColumnAt(i);
               cast && Punct(cast->last + 1, "::") && cast->last + 2 < t_.size() &&
               t_[cast->last + 2].kind == Kind::kWord && (i == 0 || !Punct(i - 1, "."))) {
      column = cast;
      function = t_[cast->last + 2].text;
      last = cast->last + 2;
    } else {
      continue;
    }
    const std::string_view clause = ClauseOf(i);
    if (clause != "where" && clause != "on") continue;
    const bool compared_after = IsComparison(last + 1);
    const bool compared_before =
        i > 0 && IsComparison(i - 1) && !Word(i - 1, "in") && !Word(i - 1, "between");
    if (!compared_after && !compared_before) continue;
    const std::string table = TableOf(*column, i);
    if (context_.indexed && !context_.indexed(table, column->name)) continue;
    const std::string name = Text(column->first, column->last);
    const std::string expression = Text(i, last);
    std::string rewrite;
    if (compared_after && Punct(last + 1, "=") && IsValue(last + 2)) {
      const Token& value = t_[last + 2];
      if (function == "date" && value.kind == Kind::kString && !NextDay(value.text).empty()) {
        rewrite = Replaced(
            i, last + 2,
            fmt::format("{0} >= '{1}' AND {0} < '{2}'", name, value.text, NextDay(value.text)));
      } else if (function == "year" && value.kind == Kind::kNumber && value.text.size() == 4 &&
                 std::all_of(value.text.begin(), value.text.end(), IsDigit)) {
        const int year = std::stoi(value.text);
        rewrite =
            Replaced(i, last + 2,
                     fmt::format("{0} >= '{1}-01-01' AND {0} < '{2}-01-01'", name, year, year + 1));
      }
    }
    if (rewrite.empty()) {
      rewrite = fmt::format(
          "CREATE INDEX {0}_{1}_{2} ON {0} (({3}))  -- an index on the expression itself "
          "(PostgreSQL, SQLite, "
          "MySQL 8.0.13+); or compare the bare column {4} with a value transformed instead",
          table, function, column->name,
          LowerCopy(fmt::format(
              "{}{}{}", text_.substr(t_[i].begin, t_[column->first].begin - t_[i].begin),
              column->name,
              text_.substr(t_[column->last].end, t_[last].end - t_[column->last].end))),
          name);
    }
    return RewriteHint{
        "function-on-column",
        fmt::format("{} computes on the column {}, so an index on {} cannot be used to find the "
                    "rows: the expression is computed for every row and compared.",
                    expression, name, column->name),
        rewrite};
  }
  return std::nullopt;
}

std::optional<Query::Disjunction> Query::FindDisjunction(size_t first, size_t end,
                                                         int depth) const {
  if (first >= end) return std::nullopt;
  // The branches at this depth.
  std::vector<std::pair<size_t, size_t>> branches;
  size_t from = first;
  for (size_t i = first; i < end; ++i) {
    if (t_[i].depth == depth && Word(i, "or")) {
      if (i > from) branches.emplace_back(from, i - 1);
      from = i + 1;
    }
  }
  if (from < end) branches.emplace_back(from, end - 1);
  if (branches.size() >= 2) {
    std::vector<std::string> keys;
    for (const auto& [a, b] : branches) {
      for (size_t i = a; i <= b; ++i) {
        if (auto column = ColumnAt(i)) {
          keys.push_back(column->name);
          break;
        }
      }
    }
    std::sort(keys.begin(), keys.end());
    if (std::unique(keys.begin(), keys.end()) - keys.begin() >= 2)
      return Disjunction{first, end - 1, false, branches};
  }
  // Parenthesised groups at this depth (not subqueries).
  for (size_t i = first; i < end; ++i) {
    if (t_[i].depth != depth || !Punct(i, "(") || Word(i + 1, "select")) continue;
    const size_t close = Close(i);
    if (close >= t_.size()) break;  // never closed
    if (auto inner = FindDisjunction(i + 1, close, depth + 1)) {
      if (inner->first == i + 1 && inner->last + 1 == close && !inner->parenthesised) {
        inner->first = i;
        inner->last = close;
        inner->parenthesised = true;
      }
      return inner;
    }
    i = close;
  }
  return std::nullopt;
}

std::optional<RewriteHint> Query::OrAcrossColumns() const {
  for (size_t w = 0; w < t_.size(); ++w) {
    if (!Word(w, "where")) continue;
    const size_t end = WhereEnd(w);
    const auto found = FindDisjunction(w + 1, end, t_[w].depth);
    if (!found) continue;
    std::vector<std::string> columns;
    for (const auto& [a, b] : found->branches) {
      for (size_t i = a; i <= b; ++i) {
        if (auto column = ColumnAt(i)) {
          columns.push_back(Text(column->first, column->last));
          break;
        }
      }
    }
    std::string names;
    for (size_t i = 0; i < columns.size(); ++i)
      names += (i == 0 ? "" : i + 1 == columns.size() ? " and " : ", ") + columns[i];
    const std::string explanation = fmt::format(
        "The OR compares different columns ({}): one index cannot serve all its branches, so the "
        "database "
        "reads the whole table (or merges several index scans, at best).",
        names);
    const size_t statement = SelectOf(w);
    if (statement == kNone || !Word(statement, "select") || t_[statement].depth != 0 ||
        t_[w].depth != 0) {
      return RewriteHint{
          "or-across-columns", explanation,
          "Run one statement per branch, each able to use the index on its own column."};
    }
    // A UNION of one SELECT per branch; ORDER BY, LIMIT and the like once, after it.
    const std::string trimmed = Trimmed();
    std::string_view body = trimmed;
    std::string tail;
    for (size_t i = end; i < t_.size(); ++i) {
      if (t_[i].depth == 0 && t_[i].kind == Kind::kWord &&
          OneOf(t_[i].text, {"order", "limit", "offset", "fetch"})) {
        tail = std::string(body.substr(std::min(t_[i].begin, body.size())));
        body = body.substr(0, t_[i].begin);
        while (!body.empty() && IsSpace(body.back())) body.remove_suffix(1);
        break;
      }
    }
    std::string rewrite;
    for (const auto& [a, b] : found->branches) {
      std::string branch = Text(a, b);
      if (found->parenthesised) branch = "(" + branch + ")";
      std::string copy = fmt::format("{}{}{}", body.substr(0, t_[found->first].begin), branch,
                                     body.substr(std::min(t_[found->last].end, body.size())));
      rewrite += (rewrite.empty() ? "" : "\nUNION\n") + copy;
    }
    if (!tail.empty()) rewrite += "\n" + tail;
    return RewriteHint{"or-across-columns", explanation, rewrite};
  }
  return std::nullopt;
}

std::optional<RewriteHint> Query::DeepOffset() const {
  size_t offset = kNone, limit_comma = kNone;
  long long skipped = 0;
  for (size_t i = 0; i + 1 < t_.size(); ++i) {
    if (t_[i].depth != 0) continue;
    if (Word(i, "offset") && t_[i + 1].kind == Kind::kNumber) {
      offset = i;
    } else if (Word(i, "limit") && t_[i + 1].kind == Kind::kNumber && Punct(i + 2, ",") &&
               i + 3 < t_.size() && t_[i + 3].kind == Kind::kNumber) {
      limit_comma = i;
    } else {
      continue;
    }
    const std::string& number = t_[i + 1].text;
    skipped = std::all_of(number.begin(), number.end(), IsDigit) && number.size() < 18
                  ? std::stoll(number)
                  : 0;
    break;
  }
  if ((offset == kNone && limit_comma == kNone) || skipped < context_.deep_offset)
    return std::nullopt;
  // Keyset pagination on the first ORDER BY key.
  std::string key = "id";
  bool descending = false;
  size_t order = kNone, where = kNone, boundary = t_.size(), page = kNone;
  for (size_t i = 0; i < t_.size(); ++i) {
    if (t_[i].depth != 0) continue;
    if (Word(i, "where") && where == kNone) where = i;
    const bool clause =
        t_[i].kind == Kind::kWord && OneOf(t_[i].text, {"group", "having", "window", "order",
                                                        "limit", "offset", "fetch", "for"});
    if ((clause || Punct(i, ";")) && boundary == t_.size() && (where == kNone || i > where))
      boundary = i;
    if (t_[i].kind == Kind::kWord && OneOf(t_[i].text, {"limit", "offset", "fetch"}) &&
        page == kNone)
      page = i;
    if (Word(i, "order") && Word(i + 1, "by") && order == kNone) {
      order = i;
      if (auto column = ColumnAt(i + 2)) {
        key = Text(column->first, column->last);
        descending = Word(column->last + 1, "desc");
      }
    }
  }
  if (boundary == t_.size() || boundary == 0) return std::nullopt;
  // A WHERE with no condition before the clause that ends it (last, or after LIMIT): no edit
  // of the condition can be placed.
  if (where != kNone && where + 1 >= boundary) return std::nullopt;
  const std::string condition = fmt::format("{} {} ?", key, descending ? "<" : ">");
  // Edits of the text: (from, to, insert), in order.
  std::vector<std::tuple<size_t, size_t, std::string>> edits;
  if (where != kNone) {
    edits.emplace_back(t_[where + 1].begin, t_[where + 1].begin, "(");
    edits.emplace_back(t_[boundary - 1].end, t_[boundary - 1].end, ") AND " + condition);
  } else {
    edits.emplace_back(t_[boundary].begin, t_[boundary].begin, "WHERE " + condition + " ");
  }
  if (order == kNone && page != kNone)
    edits.emplace_back(t_[page].begin, t_[page].begin, "ORDER BY " + key + " ");
  if (offset != kNone) {
    size_t from = t_[offset].begin;
    while (from > 0 && IsSpace(text_[from - 1])) --from;
    edits.emplace_back(from, t_[offset + 1].end, "");
  } else {
    size_t to = t_[limit_comma + 2].end;
    while (to < text_.size() && IsSpace(text_[to])) ++to;
    edits.emplace_back(t_[limit_comma + 1].begin, to, "");
  }
  std::stable_sort(edits.begin(), edits.end(),
                   [](const auto& a, const auto& b) { return std::get<0>(a) < std::get<0>(b); });
  std::string rewrite;
  size_t copied = 0;
  for (const auto& [from, to, insert] : edits) {
    if (from < copied) continue;
    rewrite += text_.substr(copied, from - copied);
    rewrite += insert;
    copied = to;
  }
  rewrite += text_.substr(copied);
  return RewriteHint{
      "deep-offset",
      fmt::format(
          "OFFSET {} makes the database produce and throw away {} rows before the page it returns, "
          "more with every page. Continue from the last row of the previous page instead (keyset "
          "pagination: ? is that row's {}).",
          skipped, skipped, key),
      rewrite};
}

std::optional<RewriteHint> Query::NotInSubquery() const {
  for (size_t i = 1; i + 3 < t_.size(); ++i) {
    if (!Word(i, "not") || !Word(i + 1, "in") || !Punct(i + 2, "(") || !Word(i + 3, "select"))
      continue;
    const auto outer = ColumnEndingAt(i - 1);
    const size_t close = Close(i + 2);
    const std::string explanation =
        "NOT IN (SELECT ...) returns no row at all as soon as the subquery yields a NULL, and many "
        "planners "
        "run it as a scan of the subquery per row. NOT EXISTS means what is usually meant and "
        "becomes an "
        "anti-join.";
    const int depth = t_[i + 3].depth;
    // SELECT item FROM rest [WHERE condition], nothing else.
    size_t from = kNone, where = kNone;
    bool simple = outer.has_value() && close < t_.size();
    for (size_t j = i + 4; simple && j < close; ++j) {
      if (t_[j].depth != depth) continue;
      if (Word(j, "from") && from == kNone) from = j;
      if (Word(j, "where") && where == kNone) where = j;
      if (Punct(j, ",") && from == kNone) simple = false;
      if (t_[j].kind == Kind::kWord &&
          OneOf(t_[j].text, {"group", "having", "limit", "union", "order", "offset", "distinct"}))
        simple = false;
    }
    const auto item = ColumnAt(i + 4);
    if (!simple || from == kNone || !item || item->last + 1 != from) {
      return RewriteHint{
          "not-in-subquery", explanation,
          "Rewrite as NOT EXISTS (SELECT 1 FROM ... WHERE <its column> = <the outer column>)."};
    }
    // Qualified names, so that the condition reads the same inside the subquery.
    std::string outer_name = Text(outer->first, outer->last);
    if (outer->qualifier.empty()) {
      const size_t select = SelectOf(i);
      const auto items = select == kNone ? std::vector<TableItem>{} : FromItems(select);
      if (!items.empty())
        outer_name = (items.front().alias.empty() ? items.front().name : items.front().alias) +
                     "." + outer_name;
    }
    std::string item_name = Text(item->first, item->last);
    if (item->qualifier.empty()) {
      const auto items = FromItems(i + 3);
      if (!items.empty())
        item_name = (items.front().alias.empty() ? items.front().name : items.front().alias) + "." +
                    item_name;
    }
    const std::string condition = fmt::format("{} = {}", item_name, outer_name);
    const std::string sources = Text(from + 1, (where != kNone ? where : close) - 1);
    const std::string filter =
        where != kNone ? fmt::format("({}) AND {}", Text(where + 1, close - 1), condition)
                       : condition;
    return RewriteHint{
        "not-in-subquery", explanation,
        Replaced(outer->first, close,
                 fmt::format("NOT EXISTS (SELECT 1 FROM {} WHERE {})", sources, filter))};
  }
  return std::nullopt;
}

std::optional<RewriteHint> Query::MissingLimit() const {
  if (!context_.rows || *context_.rows < context_.large_result_rows || t_.empty())
    return std::nullopt;
  if (!Word(0, "select") && !Word(0, "with")) return std::nullopt;
  if (Word(0, "with")) {  // WITH ... SELECT: the statement's own SELECT at depth 0
    bool select = false;
    for (const auto& token : t_)
      select = select || (token.depth == 0 && token.kind == Kind::kWord && token.text == "select");
    if (!select) return std::nullopt;
  }
  size_t lock = kNone;
  for (size_t i = 0; i < t_.size(); ++i) {
    if (t_[i].depth != 0) continue;
    if (t_[i].kind == Kind::kWord && OneOf(t_[i].text, {"limit", "fetch", "top"}))
      return std::nullopt;
    if (Word(i, "for") && lock == kNone) lock = i;
  }
  const std::string body = Trimmed();
  const std::string rewrite = lock != kNone
                                  ? fmt::format("{}LIMIT 100 {}", text_.substr(0, t_[lock].begin),
                                                body.substr(t_[lock].begin))
                                  : body + " LIMIT 100";
  return RewriteHint{
      "missing-limit",
      fmt::format(
          "Each run returns about {:.0f} rows and nothing bounds them: all are read, sent and held "
          "by the caller. Ask for a page (and the next from where it ended) or aggregate in SQL.",
          *context_.rows),
      rewrite};
}

std::optional<RewriteHint> Query::ImplicitCrossJoin() const {
  for (size_t s = 0; s < t_.size(); ++s) {
    if (!Word(s, "select")) continue;
    const auto items = FromItems(s);
    const size_t where = WhereOf(s);
    const size_t where_end = where == kNone ? 0 : WhereEnd(where);
    for (size_t k = 1; k < items.size(); ++k) {
      if (!items[k].after_comma || !items[k].plain) continue;
      bool linked = false, unknown = false;
      const auto refers = [&](const Column& column, size_t first, size_t last) {
        for (size_t m = first; m <= last; ++m)
          if (items[m].plain &&
              (column.qualifier == items[m].name || column.qualifier == items[m].alias))
            return true;
        return false;
      };
      for (size_t i = where == kNone ? where_end : where + 1; i < where_end && !linked; ++i) {
        const auto left = ColumnAt(i);
        if (!left || !IsComparison(left->last + 1) || Word(left->last + 1, "in")) continue;
        const auto right = ColumnAt(left->last + 2);
        if (!right) continue;
        if (left->qualifier.empty() || right->qualifier.empty()) {
          unknown = true;
          continue;
        }
        linked = (refers(*left, k, k) && refers(*right, 0, k - 1)) ||
                 (refers(*right, k, k) && refers(*left, 0, k - 1));
      }
      if (linked || unknown) continue;
      const std::string item = Text(items[k].first, items[k].last);
      const TableItem& earlier = items[k - 1];
      const std::string earlier_name = earlier.alias.empty() ? earlier.name : earlier.alias;
      const std::string this_name = items[k].alias.empty() ? items[k].name : items[k].alias;
      size_t comma = items[k].first - 1;
      return RewriteHint{
          "implicit-cross-join",
          fmt::format(
              "{} is listed after a comma with no condition tying it to {}: every row of one is "
              "paired "
              "with every row of the other (a cross join), a result that grows as their product.",
              item, earlier_name),
          Replaced(comma, items[k].last,
                   fmt::format(" JOIN {} ON {}.<key> = {}.<key>", item, this_name, earlier_name)) +
              "  -- or CROSS JOIN, if every pairing is meant"};
    }
  }
  return std::nullopt;
}

std::vector<RewriteHint> Query::Hints() {
  std::vector<RewriteHint> hints;
  for (auto hint : {SelectStar(), LeadingWildcardLike(), FunctionOnColumn(), OrAcrossColumns(),
                    DeepOffset(), NotInSubquery(), MissingLimit(), ImplicitCrossJoin()}) {
    if (hint) hints.push_back(std::move(*hint));
  }
  return hints;
}

}  // namespace

std::vector<RewriteHint> RewriteHints(std::string_view query, const HintContext& context) {
  return Query(query, context).Hints();
}

}  // namespace mingus::sql
