#include "mingus/collector/db/query_shape.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "mingus/sql/tokens.h"

namespace mingus::collector::db {

namespace {

using sql::OneOf;
using sql::Token;
using sql::TokenKind;

constexpr size_t kNone = std::string_view::npos;

// A table a statement reads, as its FROM (or UPDATE) names it.
struct Source {
  std::string table, alias;
  TableAccess access;
};

// Conditions joined by OR at `depth`: the token ranges of the branches.
struct OrGroup {
  int depth = 0;
  std::vector<std::pair<size_t, size_t>> branches;
};

struct ColumnRef {
  std::string qualifier, name;
  size_t last = 0;  // its last token
};

void AddOnce(std::vector<std::string>& list, const std::string& item) {
  if (std::find(list.begin(), list.end(), item) == list.end()) list.push_back(item);
}

class Reader {
 public:
  Reader(std::string_view query, const HasColumn& has_column)
      : t_(sql::Tokenize(query)), has_column_(has_column) {}

  QueryShape Read();

 private:
  bool Word(size_t i, std::string_view word) const {
    return i < t_.size() && t_[i].kind == TokenKind::kWord && t_[i].text == word;
  }
  bool Punct(size_t i, std::string_view text) const {
    return i < t_.size() && t_[i].kind == TokenKind::kPunct && t_[i].text == text;
  }
  bool IsName(size_t i) const {
    return i < t_.size() && (t_[i].kind == TokenKind::kName ||
                             (t_[i].kind == TokenKind::kWord && !sql::IsKeyword(t_[i].text)));
  }
  // name, or qualifier.name (schema.table.name keeps the last two), not a call.
  std::optional<ColumnRef> ColumnAt(size_t i) const {
    if (!IsName(i) || Punct(i + 1, "(")) return std::nullopt;
    ColumnRef column{"", t_[i].text, i};
    while (Punct(column.last + 1, ".") && IsName(column.last + 2)) {
      column.qualifier = column.name;
      column.name = t_[column.last + 2].text;
      column.last += 2;
    }
    return column;
  }
  // The matching ')' of the '(' at i, or the end.
  size_t Close(size_t i) const {
    for (size_t j = i + 1; j < t_.size(); ++j)
      if (t_[j].depth == t_[i].depth && Punct(j, ")")) return j;
    return t_.size();
  }
  // From i on, the first token at `depth` that is one of `words` or ';', or where the
  // parenthesis around it closes.
  size_t ClauseEnd(size_t i, int depth, std::initializer_list<std::string_view> words) const {
    for (; i < t_.size(); ++i) {
      if (t_[i].depth < depth) return i;
      if (t_[i].depth == depth &&
          (Punct(i, ";") || (t_[i].kind == TokenKind::kWord && OneOf(t_[i].text, words))))
        return i;
    }
    return t_.size();
  }

  void ReadStatement(size_t at, QueryShape& shape);
  // FROM items from `first` to `end`: the tables, and the ranges of their ON conditions.
  void ReadSources(size_t first, size_t end, int depth, std::vector<Source>& sources,
                   std::vector<std::pair<size_t, size_t>>& conditions) const;
  // The conjuncts into `sources`; ORs into `alternatives`, or nowhere when it is null.
  void ReadConditions(size_t first, size_t end, int depth, std::vector<Source>& sources,
                      std::vector<OrGroup>* alternatives) const;
  void ReadConjunct(size_t first, size_t end, std::vector<Source>& sources) const;
  void ReadOrdering(size_t by, int depth, std::vector<Source>& sources) const;
  // The source a column belongs to; nullptr for a column of an enclosing statement.
  Source* SourceOf(const ColumnRef& column, std::vector<Source>& sources) const;

  std::vector<Token> t_;
  const HasColumn& has_column_;
  int or_groups_ = 0;  // numbered across the statements of the query
};

bool IsJoinWord(std::string_view word) {
  return OneOf(word, {"join", "inner", "left", "right", "full", "outer", "cross", "natural",
                      "straight_join"});
}

QueryShape Reader::Read() {
  QueryShape shape;
  if (t_.empty()) {
    shape.unreadable = "no statement: only blanks or comments";
    return shape;
  }
  const auto opens = std::count_if(t_.begin(), t_.end(), [](const Token& t) {
    return t.kind == TokenKind::kPunct && t.text == "(";
  });
  const auto closes = std::count_if(t_.begin(), t_.end(), [](const Token& t) {
    return t.kind == TokenKind::kPunct && t.text == ")";
  });
  if (opens != closes) {
    shape.unreadable = fmt::format("unbalanced parentheses ({} '(' and {} ')')", opens, closes);
    return shape;
  }
  shape.operation = t_[0].kind == TokenKind::kWord ? t_[0].text : "";
  for (size_t i = 0; i < t_.size(); ++i) {
    if (shape.operation == "with" && t_[i].depth == 0 && t_[i].kind == TokenKind::kWord &&
        OneOf(t_[i].text, {"select", "insert", "update", "delete"}))
      shape.operation = t_[i].text;
    // INSERT INTO t, INSERT IGNORE INTO t, INSERT OR REPLACE INTO t, REPLACE INTO t
    const bool insert_into =
        Word(i, "into") && ((i >= 1 && (Word(i - 1, "insert") || Word(i - 1, "replace"))) ||
                            (i >= 2 && Word(i - 2, "insert")));
    if (insert_into && IsName(i + 1)) {
      // INSERT INTO t (columns): the list is no call; schema.t names t.
      const bool qualified = Punct(i + 2, ".") && IsName(i + 3);
      AddOnce(shape.tables, t_[qualified ? i + 3 : i + 1].text);
    }
  }
  bool statements = false;
  for (size_t i = 0; i < t_.size(); ++i) {
    if (Word(i, "select") || Word(i, "update") ||
        (Word(i, "delete") && !(i > 0 && Word(i - 1, "on")))) {
      if (Word(i, "update") && i > 0 && (Word(i - 1, "key") || Word(i - 1, "do"))) continue;
      statements = true;
      ReadStatement(i, shape);
    }
  }
  if (!statements) {
    shape.unreadable =
        shape.operation.empty()
            ? "does not start with a statement's keyword"
            : fmt::format("{}: no SELECT, UPDATE or DELETE to read", shape.operation);
  } else if (shape.tables.empty()) {
    shape.unreadable = "reads no table";
  }
  return shape;
}

void Reader::ReadStatement(size_t at, QueryShape& shape) {
  const int depth = t_[at].depth;
  std::vector<Source> sources;
  std::vector<std::pair<size_t, size_t>> conditions;
  size_t from = kNone;
  if (Word(at, "update")) {
    from = at;
    if (Word(from + 1, "or")) from += 2;  // UPDATE OR IGNORE t
    if (Word(from + 1, "only")) ++from;   // UPDATE ONLY t
  } else {
    for (size_t i = at + 1; i < t_.size() && t_[i].depth >= depth; ++i) {
      if (t_[i].depth > depth) continue;
      if (Word(i, "from")) {
        from = i;
        break;
      }
      if (Punct(i, ";") || (t_[i].kind == TokenKind::kWord &&
                            OneOf(t_[i].text, {"where", "union", "intersect", "except"})))
        break;
    }
  }
  if (from == kNone) return;  // SELECT 1, SELECT now(): no table
  const size_t sources_end =
      ClauseEnd(from + 1, depth,
                {"where", "group", "order", "limit", "having", "union", "intersect", "except",
                 "window", "returning", "for", "offset", "fetch", "set"});
  ReadSources(from + 1, sources_end, depth, sources, conditions);
  for (const auto& source : sources) AddOnce(shape.tables, source.table);
  std::vector<OrGroup> alternatives;
  for (const auto& [first, end] : conditions)
    ReadConditions(first, end, depth, sources, &alternatives);

  for (size_t i = sources_end; i < t_.size() && t_[i].depth >= depth; ++i) {
    if (t_[i].depth > depth) continue;
    if (Punct(i, ";") || (t_[i].kind == TokenKind::kWord &&
                          OneOf(t_[i].text, {"union", "intersect", "except", "returning"})))
      break;
    if (Word(i, "where")) {
      ReadConditions(i + 1,
                     ClauseEnd(i + 1, depth,
                               {"group", "order", "limit", "having", "union", "intersect", "except",
                                "window", "returning", "for", "offset", "fetch"}),
                     depth, sources, &alternatives);
    }
  }
  // The branches start from what holds for every row (the ANDed conditions), before the
  // ordering is added to it.
  const std::vector<Source> conditioned = alternatives.empty() ? std::vector<Source>{} : sources;
  if (Word(at, "select")) {
    size_t order = kNone, group = kNone;
    for (size_t i = sources_end; i + 1 < t_.size() && t_[i].depth >= depth; ++i) {
      if (t_[i].depth > depth) continue;
      if (Punct(i, ";") ||
          (t_[i].kind == TokenKind::kWord && OneOf(t_[i].text, {"union", "intersect", "except"})))
        break;
      if (Word(i, "order") && Word(i + 1, "by")) order = i + 1;
      if (Word(i, "group") && Word(i + 1, "by")) group = i + 1;
    }
    // Grouping reads rows in the GROUP BY's order, whatever order the result is sorted in.
    if (order != kNone || group != kNone)
      ReadOrdering(group != kNone ? group : order, depth, sources);
  }
  for (auto& source : sources) {
    auto& access = source.access;
    if (access.equality.empty() && access.join.empty() && access.range.empty() &&
        access.ordering.empty())
      continue;
    access.table = source.table;
    shape.accesses.push_back(std::move(access));
  }
  for (const auto& group : alternatives) {
    const int number = ++or_groups_;
    for (size_t b = 0; b < group.branches.size(); ++b) {
      std::vector<Source> branch = conditioned;
      // An OR inside a branch would need a plan that merges within a merge: nothing read.
      ReadConditions(group.branches[b].first, group.branches[b].second, group.depth, branch,
                     nullptr);
      for (size_t k = 0; k < branch.size(); ++k) {
        auto& access = branch[k].access;
        const auto& base = conditioned[k].access;
        if (access.equality == base.equality && access.join == base.join &&
            access.range == base.range)
          continue;  // the branch says nothing of this table
        access.table = branch[k].table;
        access.or_group = number;
        access.or_branch = static_cast<int>(b) + 1;
        shape.accesses.push_back(std::move(access));
      }
    }
  }
}

void Reader::ReadSources(size_t first, size_t end, int depth, std::vector<Source>& sources,
                         std::vector<std::pair<size_t, size_t>>& conditions) const {
  size_t j = first;
  while (j < end) {
    while (j < end && (Punct(j, ",") || (t_[j].kind == TokenKind::kWord &&
                                         (IsJoinWord(t_[j].text) || Word(j, "lateral")))))
      ++j;
    if (j >= end) break;
    Source source;
    if (Punct(j, "(")) {
      j = Close(j) + 1;  // a subquery: read as a statement of its own
    } else if (auto name = ColumnAt(j)) {
      source.table = name->name;
      j = name->last + 1;
    } else {
      ++j;
      if (Punct(j, "(")) j = Close(j) + 1;  // a function's rows
    }
    if (Word(j, "as")) ++j;
    if (j < end && IsName(j) && !Punct(j + 1, ".")) source.alias = t_[j++].text;
    if (Word(j, "on")) {
      const size_t condition = j + 1;
      while (j < end &&
             !(t_[j].depth == depth &&
               (Punct(j, ",") || (t_[j].kind == TokenKind::kWord && IsJoinWord(t_[j].text)))))
        ++j;
      if (!source.table.empty()) conditions.emplace_back(condition, j);
    } else if (Word(j, "using") && Punct(j + 1, "(")) {
      const size_t close = Close(j + 1);
      for (size_t k = j + 2; k < close; ++k) {
        if (!IsName(k)) continue;
        if (!source.table.empty()) AddOnce(source.access.join, t_[k].text);
        if (!sources.empty() && !sources.back().table.empty())
          AddOnce(sources.back().access.join, t_[k].text);
      }
      j = close + 1;
    }
    if (!source.table.empty()) sources.push_back(std::move(source));
    while (j < end && !(t_[j].depth == depth && (Punct(j, ",") || (t_[j].kind == TokenKind::kWord &&
                                                                   IsJoinWord(t_[j].text)))))
      ++j;
  }
}

void Reader::ReadConditions(size_t first, size_t end, int depth, std::vector<Source>& sources,
                            std::vector<OrGroup>* alternatives) const {
  // Conditions joined by OR at this level need an index each and a plan that merges them: no
  // single index serves them, each branch is read on its own.
  OrGroup group{depth, {}};
  size_t branch = first;
  for (size_t i = first; i <= end; ++i) {
    if (i < end && !(t_[i].depth == depth && Word(i, "or"))) continue;
    if (branch < i) group.branches.emplace_back(branch, i);
    branch = i + 1;
  }
  if (group.branches.size() > 1) {
    if (alternatives != nullptr) alternatives->push_back(std::move(group));
    return;
  }
  size_t conjunct = first;
  bool between = false;
  for (size_t i = first; i <= end; ++i) {
    if (i < end && (t_[i].depth != depth || !Word(i, "and"))) {
      if (i < end && t_[i].depth == depth && Word(i, "between")) between = true;
      continue;
    }
    if (i < end && between) {  // BETWEEN v AND w: not a conjunction
      between = false;
      continue;
    }
    if (conjunct < i) {
      if (Punct(conjunct, "(") && Close(conjunct) + 1 == i) {
        ReadConditions(conjunct + 1, i - 1, depth + 1, sources, alternatives);
      } else {
        ReadConjunct(conjunct, i, sources);
      }
    }
    conjunct = i + 1;
  }
}

Source* Reader::SourceOf(const ColumnRef& column, std::vector<Source>& sources) const {
  if (!column.qualifier.empty()) {
    for (auto& source : sources)
      if (source.alias == column.qualifier ||
          (source.alias.empty() && source.table == column.qualifier))
        return &source;
    for (auto& source : sources)
      if (source.table == column.qualifier) return &source;
    return nullptr;
  }
  if (sources.size() == 1) return &sources.front();
  if (!has_column_) return sources.empty() ? nullptr : &sources.front();
  for (auto& source : sources)
    if (has_column_(source.table, column.name)) return &source;
  return nullptr;
}

void Reader::ReadConjunct(size_t first, size_t end, std::vector<Source>& sources) const {
  if (Word(first, "not") || Word(first, "exists")) return;
  auto left = ColumnAt(first);
  size_t op = left ? left->last + 1 : first + 1;
  if (!left) {
    // v = c, v < c: a single value before the operator, the column after it.
    const auto& value = t_[first];
    if (value.kind != TokenKind::kString && value.kind != TokenKind::kNumber &&
        value.kind != TokenKind::kPlaceholder)
      return;
    auto right = ColumnAt(first + 2);
    if (!right || right->last + 1 != end || op >= end) return;
    Source* source = SourceOf(*right, sources);
    if (source == nullptr) return;
    if (Punct(op, "=") || Punct(op, "=="))
      AddOnce(source->access.equality, right->name);
    else if (OneOf(t_[op].text, {"<", ">", "<=", ">="}) && t_[op].kind == TokenKind::kPunct)
      AddOnce(source->access.range, right->name);
    return;
  }
  if (op >= end) return;
  Source* source = SourceOf(*left, sources);
  auto right = ColumnAt(op + 1);
  Source* right_source = right && right->last + 1 == end ? SourceOf(*right, sources) : nullptr;
  const bool column_pair = right && right->last + 1 == end;
  if (Punct(op, "=") || Punct(op, "==")) {
    if (column_pair && source == right_source) return;  // a.x = a.y: no index finds it
    // Between two tables of this statement a join key; with a column of an enclosing
    // statement (correlated) a value.
    const bool join = source != nullptr && right_source != nullptr;
    if (source != nullptr)
      AddOnce(join ? source->access.join : source->access.equality, left->name);
    if (right_source != nullptr)
      AddOnce(join ? right_source->access.join : right_source->access.equality, right->name);
    return;
  }
  if (source == nullptr) return;
  if (Word(op, "in") || (Word(op, "is") && !Word(op + 1, "not"))) {
    AddOnce(source->access.equality, left->name);
    if (Word(op, "in") && Punct(op + 1, "(")) {
      const size_t close = Close(op + 1);
      bool several = Word(op + 2, "select");
      for (size_t i = op + 2; i < close && !several; ++i)
        several = t_[i].depth == t_[op + 1].depth + 1 && Punct(i, ",");
      if (several) AddOnce(source->access.lists, left->name);
    }
  } else if (Word(op, "between") || (t_[op].kind == TokenKind::kPunct &&
                                     OneOf(t_[op].text, {"<", ">", "<=", ">="}) && !column_pair)) {
    AddOnce(source->access.range, left->name);
  }
}

void Reader::ReadOrdering(size_t by, int depth, std::vector<Source>& sources) const {
  const size_t end = ClauseEnd(by + 1, depth,
                               {"limit", "offset", "fetch", "for", "having", "union", "intersect",
                                "except", "window", "order"});
  Source* owner = nullptr;
  std::vector<std::string> columns;
  for (size_t i = by + 1; i < end;) {
    auto column = ColumnAt(i);
    if (!column) return;  // an expression or a position: no plain index order
    Source* source = SourceOf(*column, sources);
    if (source == nullptr || (owner != nullptr && source != owner)) return;
    owner = source;
    columns.push_back(column->name);
    i = column->last + 1;
    while (i < end && !Punct(i, ",")) {
      if (!(t_[i].kind == TokenKind::kWord &&
            OneOf(t_[i].text, {"asc", "desc", "nulls", "first", "last", "collate"})) &&
          !(i > 0 && Word(i - 1, "collate")))
        return;
      ++i;
    }
    ++i;
  }
  if (owner == nullptr) return;
  for (const auto& column : columns) AddOnce(owner->access.ordering, column);
}

}  // namespace

QueryShape ReadQueryShape(std::string_view query, const HasColumn& has_column) {
  return Reader(query, has_column).Read();
}

std::string MaskLiterals(std::string_view query) {
  std::string out;
  size_t copied = 0;
  for (const auto& token : sql::Tokenize(query)) {
    if (token.kind != TokenKind::kString && token.kind != TokenKind::kNumber) continue;
    out.append(query.substr(copied, token.begin - copied));
    out.push_back('?');
    copied = token.end;
  }
  out.append(query.substr(copied));
  return out;
}

}  // namespace mingus::collector::db
