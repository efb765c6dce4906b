#include "mingus/sql/fingerprint.h"

#include <algorithm>
#include <array>
#include <initializer_list>

namespace mingus::sql {

namespace {

constexpr size_t kNone = std::string_view::npos;
// What pt-fingerprint puts where it collapsed repeated SELECTs of a UNION. Kept as they are when
// met in a query, so that a fingerprint is its own fingerprint.
constexpr std::string_view kRepeatUnion = "/*repeat union*/";
constexpr std::string_view kRepeatUnionAll = "/*repeat union all*/";

// Character classes, one table lookup each (the scan's inner loops run on them).
enum : unsigned char {
  kDigit = 1,
  kAlpha = 2,
  kUnderscore = 4,
  kHigh = 8,
  kDollar = 16,
  kSpace = 32
};
constexpr auto kClasses = [] {
  std::array<unsigned char, 256> classes{};
  for (int c = 0; c < 256; ++c) {
    if (c >= '0' && c <= '9') classes[c] = kDigit;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) classes[c] = kAlpha;
    if (c >= 0x80) classes[c] = kHigh;
  }
  classes['_'] = kUnderscore;
  classes['$'] = kDollar;
  for (const char c : {' ', '\t', '\n', '\r', '\f', '\v'})
    classes[static_cast<unsigned char>(c)] = kSpace;
  return classes;
}();
bool Is(char c, unsigned char classes) {
  return (kClasses[static_cast<unsigned char>(c)] & classes) != 0;
}

bool IsDigit(char c) { return Is(c, kDigit); }
bool IsHexDigit(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
// Perl's \w on bytes: where pt-fingerprint's \b boundaries fall.
bool IsPerlWord(char c) { return Is(c, kAlpha | kDigit | kUnderscore); }
bool IsIdentStart(char c) { return Is(c, kAlpha | kUnderscore | kHigh); }
bool IsIdentChar(char c) { return Is(c, kAlpha | kUnderscore | kHigh | kDigit | kDollar); }
bool IsSpace(char c) { return Is(c, kSpace); }
char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsLower(std::string_view text, std::string_view lower) {
  if (text.size() != lower.size()) return false;
  for (size_t i = 0; i < text.size(); ++i)
    if (Lower(text[i]) != lower[i]) return false;
  return true;
}

bool OneOf(std::string_view word, std::initializer_list<std::string_view> words) {
  for (const auto w : words)
    if (word == w) return true;
  return false;
}

// A quoted literal or identifier starting at q[i] (the quote): the index after it. A backslash
// escapes the next character and a doubled quote stands for one, in every kind of quote.
size_t SkipQuoted(std::string_view q, size_t i) {
  const char quote = q[i++];
  while (i < q.size()) {
    if (q[i] == '\\') {
      i += 2;
    } else if (q[i] == quote) {
      if (i + 1 < q.size() && q[i + 1] == quote) {
        i += 2;
      } else {
        return i + 1;
      }
    } else {
      ++i;
    }
  }
  return q.size();
}

size_t SkipBacktick(std::string_view q, size_t i) {
  const size_t end = q.find('`', i + 1);
  return end == kNone ? q.size() : end + 1;
}

// A number starting at q[i] (a digit, a '.' before a digit, or a sign before either).
size_t SkipNumber(std::string_view q, size_t i) {
  if (q[i] == '+' || q[i] == '-') ++i;
  if (q[i] == '0' && i + 1 < q.size()) {
    const char kind = Lower(q[i + 1]);
    if (kind == 'x' || kind == 'b') {
      size_t j = i + 2;
      while (j < q.size() && (kind == 'x' ? IsHexDigit(q[j]) : (q[j] == '0' || q[j] == '1'))) ++j;
      if (j > i + 2) return j;
    }
  }
  while (i < q.size() && (IsDigit(q[i]) || q[i] == '.')) ++i;
  if (i < q.size() && (q[i] == 'e' || q[i] == 'E')) {
    size_t j = i + 1;
    if (j < q.size() && (q[j] == '+' || q[j] == '-')) ++j;
    if (j < q.size() && IsDigit(q[j])) {
      i = j;
      while (i < q.size() && IsDigit(q[i])) ++i;
    }
  }
  return i;
}

// A comment starting at q[i]: the index after it, or kNone when none starts there. "--" needs no
// blank after it (as in PostgreSQL and SQLite); '#' is one (MySQL) unless it begins one of
// PostgreSQL's jsonb operators #> #>> #-. A /*! ... */ version comment is not one: MySQL runs
// what it holds, and pt-fingerprint keeps it.
size_t SkipComment(std::string_view q, size_t i) {
  const char c = q[i];
  const char next = i + 1 < q.size() ? q[i + 1] : '\0';
  if ((c == '-' && next == '-') || (c == '#' && next != '>' && next != '-')) {
    const size_t end = q.find('\n', i);
    return end == kNone ? q.size() : end;
  }
  if (c == '/' && next == '*') {
    if (i + 2 < q.size() && q[i + 2] == '!') return kNone;
    const std::string_view rest = q.substr(i);
    if (rest.starts_with(kRepeatUnion) || rest.starts_with(kRepeatUnionAll)) return kNone;
    const size_t end = q.find("*/", i + 2);
    return end == kNone ? q.size() : end + 2;
  }
  return kNone;
}

// Whether double-quoted names in this query are identifiers (ANSI SQL, PostgreSQL, SQLite) rather
// than strings (MySQL's default): when one is sure to be a name, as in "t"."c", t."c", "t".c or
// after FROM, JOIN, INTO, UPDATE or TABLE, none of which MySQL takes a string for. Called on a
// query and again on its fingerprint, so it reads both alike: comments are gaps, a literal,
// number or NULL ends a name.
bool UsesAnsiQuotes(std::string_view q) {
  enum Kind { kOther, kName, kKeyword, kDotAfterName };
  Kind last = kOther;
  size_t last_end = 0;
  size_t i = 0;
  while (i < q.size()) {
    const char c = q[i];
    if (IsSpace(c)) {
      ++i;
      continue;
    }
    if (const size_t end = SkipComment(q, i); end != kNone) {
      i = end;
      continue;
    }
    const size_t start = i;
    Kind kind = kOther;
    if (c == '"') {
      i = SkipQuoted(q, i);
      if (last == kKeyword || (last == kDotAfterName && last_end == start)) return true;
      if (i < q.size() && q[i] == '.' && !(i + 1 < q.size() && IsDigit(q[i + 1]))) return true;
      kind = kName;
    } else if (c == '`') {
      i = SkipBacktick(q, i);
      kind = kName;
    } else if (c == '\'') {
      i = SkipQuoted(q, i);
    } else if (IsDigit(c) || (c == '.' && i + 1 < q.size() && IsDigit(q[i + 1]))) {
      i = SkipNumber(q, i);
    } else if (IsIdentStart(c)) {
      while (i < q.size() && IsIdentChar(q[i])) ++i;
      const std::string_view word = q.substr(start, i - start);
      kind = EqualsLower(word, "null") ? kOther
             : EqualsLower(word, "from") || EqualsLower(word, "join") ||
                     EqualsLower(word, "into") || EqualsLower(word, "update") ||
                     EqualsLower(word, "table")
                 ? kKeyword
                 : kName;
    } else if (c == '.') {
      ++i;
      kind = (last == kName || last == kKeyword) && last_end == start ? kDotAfterName : kOther;
    } else if (c == '#') {
      i += 2;  // #- (#> and #>> are no comment either, and their > starts nothing): as the scan
               // reads it
    } else if (q.substr(i).starts_with(kRepeatUnionAll)) {
      i += kRepeatUnionAll.size();
    } else if (q.substr(i).starts_with(kRepeatUnion)) {
      i += kRepeatUnion.size();
    } else {
      ++i;
    }
    last = kind;
    last_end = i;
  }
  return false;
}

// An item of a list to collapse, as a fingerprint shows it: '?'s or a placeholder.
bool IsListItem(std::string_view item) {
  if (item.empty()) return true;
  if (item.find_first_not_of('?') == kNone || item == "$?" || item == "%s") return true;
  const auto name = [](std::string_view text) {
    if (text.empty() || !IsIdentStart(text[0])) return false;
    for (const char c : text)
      if (!IsIdentChar(c)) return false;
    return true;
  };
  if (item.starts_with("%(") && item.ends_with(")s")) return name(item.substr(2, item.size() - 4));
  return (item[0] == ':' || item[0] == '@' || item[0] == '$') && name(item.substr(1));
}

// pt-fingerprint's own markers: its checksum queries (/*db.tbl:1/4*/ anywhere in the query).
bool IsPerconaToolkitQuery(std::string_view q) {
  for (size_t at = q.find("/*"); at != kNone; at = q.find("/*", at + 2)) {
    size_t i = at + 2;
    const auto word = [&] {
      const size_t from = i;
      while (i < q.size() && IsPerlWord(q[i])) ++i;
      return i > from;
    };
    if (!word() || i >= q.size() || q[i++] != '.' || !word()) continue;
    if (i + 6 <= q.size() && q[i] == ':' && IsDigit(q[i + 1]) && q[i + 2] == '/' &&
        IsDigit(q[i + 3]) && q[i + 4] == '*' && q[i + 5] == '/')
      return true;
  }
  return false;
}

// The single pass over the query: tokens written to `out` as they are met, lists collapsed and
// extra INSERT rows dropped as their closing parenthesis goes by.
class Fingerprinter {
 public:
  Fingerprinter(std::string_view query, std::string& out, bool ansi_quotes)
      : q_(query), out_(out), start_(out.size()), ansi_quotes_(ansi_quotes) {}

  void Run();
  // Whether a word or an INSERT row was dropped or a UNION collapsed (which can take with it
  // what made the double quotes names).
  bool RemovedText() const { return removed_text_; }

 private:
  enum class Insert { kNo, kSeekValues, kSeekRow, kFirstRow, kAfterRow, kComma, kDropRow };

  void Emit(std::string_view text);
  // Any token but a parenthesis or comma.
  void Token(std::string_view text);
  void EmitQuotedName(size_t from, size_t to);
  void Word(size_t from, size_t to);
  void Open(char c);
  void Close(char c);
  void Comma();
  bool CollapseList(char close);
  bool SignIsUnary() const;
  size_t Placeholder(size_t i) const;
  void FoldLimit();
  void CollapseUnions();
  void CallAndUse();

  std::string_view q_;
  std::string& out_;
  const size_t start_;
  const bool ansi_quotes_;
  bool pending_space_ = false;
  bool removed_text_ = false;
  bool first_token_ = true;
  // The last '(' or '[' with no other inside it so far, and which closer ends it.
  size_t list_open_ = kNone;
  char list_close_ = 0;
  // Where the last collapsed list ended, so that "values (?), (?)" collapses as one.
  size_t chain_end_ = kNone;
  int depth_ = 0;
  Insert insert_ = Insert::kNo;
  size_t drop_mark_ = 0;
  bool drop_mark_space_ = false;
  bool last_was_order_ = false;
  bool order_by_seen_ = false;
  // Whether the words that the passes after the scan look for were written at all.
  bool saw_limit_ = false;
  bool saw_union_ = false;
};

void Fingerprinter::Emit(std::string_view text) {
  if (pending_space_ && out_.size() > start_) out_.push_back(' ');
  pending_space_ = false;
  out_.append(text);
  first_token_ = false;
  last_was_order_ = false;
}

void Fingerprinter::Token(std::string_view text) {
  if (insert_ == Insert::kSeekRow || insert_ == Insert::kAfterRow || insert_ == Insert::kComma)
    insert_ = Insert::kNo;
  Emit(text);
}

// A `name` or "name" as it is, lower-cased, its blanks collapsed.
void Fingerprinter::EmitQuotedName(size_t from, size_t to) {
  Token({});
  bool space = false;
  for (size_t i = from; i < to; ++i) {
    if (IsSpace(q_[i])) {
      if (!space) out_.push_back(' ');
      space = true;
    } else {
      out_.push_back(Lower(q_[i]));
      space = false;
    }
  }
}

void Fingerprinter::Word(size_t from, size_t to) {
  const std::string_view raw = q_.substr(from, to - from);
  if (EqualsLower(raw, "null")) return Token("?");
  // ASC goes from ORDER BY on (as in pt-fingerprint), the whole word only.
  if (order_by_seen_ && pending_space_ && EqualsLower(raw, "asc")) {
    removed_text_ = true;
    // Keep the blank where dropping the word would join "-" "-" or "/" "*" into a comment.
    pending_space_ = out_.size() > start_ && (out_.back() == '-' || out_.back() == '/');
    return;
  }
  const bool first = first_token_;
  const bool after_order = last_was_order_ && pending_space_;
  Token(raw);
  const size_t at = out_.size() - raw.size();
  for (char *c = out_.data() + at, *end = out_.data() + out_.size(); c != end; ++c) *c = Lower(*c);
  const std::string_view word = std::string_view(out_).substr(at);
  saw_limit_ = saw_limit_ || word == "limit";
  saw_union_ = saw_union_ || word == "union";
  if (first && (word == "insert" || word == "replace")) insert_ = Insert::kSeekValues;
  if (insert_ == Insert::kSeekValues && depth_ == 0 && (word == "values" || word == "value"))
    insert_ = Insert::kSeekRow;
  if (after_order && word == "by") order_by_seen_ = true;
  last_was_order_ = word == "order";
}

void Fingerprinter::Open(char c) {
  if (c == '(') {
    if (insert_ == Insert::kSeekRow) {
      insert_ = Insert::kFirstRow;
    } else if (insert_ == Insert::kComma) {
      insert_ = Insert::kDropRow;
    } else if (insert_ == Insert::kAfterRow) {
      // A row right after the last without a comma: dropped as well, as the list collapse
      // (pt's [\s,]* between rows) would take it in.
      drop_mark_ = out_.size();
      drop_mark_space_ = pending_space_;
      insert_ = Insert::kDropRow;
    }
    ++depth_;
  } else if (insert_ == Insert::kSeekRow || insert_ == Insert::kAfterRow ||
             insert_ == Insert::kComma) {
    insert_ = Insert::kNo;
  }
  Emit(std::string_view(&c, 1));
  list_open_ = out_.size() - 1;
  list_close_ = c == '(' ? ')' : ']';
}

void Fingerprinter::Close(char c) {
  if (c == ')' && depth_ > 0) --depth_;
  if (insert_ == Insert::kSeekRow || insert_ == Insert::kAfterRow || insert_ == Insert::kComma)
    insert_ = Insert::kNo;
  if (!CollapseList(c)) Emit(std::string_view(&c, 1));
  list_open_ = kNone;
  if (c != ')' || depth_ != 0) return;
  if (insert_ == Insert::kFirstRow) {
    insert_ = Insert::kAfterRow;
  } else if (insert_ == Insert::kDropRow) {
    // Rows after the first go, as in pt-fingerprint; what follows them stays.
    out_.resize(std::min(out_.size(), drop_mark_));
    pending_space_ = drop_mark_space_;
    removed_text_ = true;
    insert_ = Insert::kAfterRow;
  }
}

void Fingerprinter::Comma() {
  if (insert_ == Insert::kAfterRow) {
    drop_mark_ = out_.size();
    drop_mark_space_ = pending_space_;
    insert_ = Insert::kComma;
  }  // in kComma, another comma changes nothing: pt's [\s,]* between rows
  Emit(",");
}

// At a closing ')' or ']': "in (?, ?)" and "values (?, ?), (?, ?)" become "in(?+)" and
// "values(?+)", as pt-fingerprint's \b(in|values?)(?:[\s,]*\([\s?,]*\))+ does; also lists of
// placeholders ($1, %s, :name, ...) and "array[?, ?]". Returns whether it did.
bool Fingerprinter::CollapseList(char close) {
  if (list_open_ == kNone || list_close_ != close) return false;
  // Only values: '?' (literals, '?' placeholders; pt's [\s?,]*) and other placeholders, as the
  // fingerprint shows them ($?, %s, %(name)s, :name, @name, $name), between blanks and commas.
  const std::string_view items = std::string_view(out_).substr(list_open_ + 1);
  for (size_t from = 0; from < items.size();) {
    const size_t to = std::min(items.find_first_of(" ,", from), items.size());
    if (!IsListItem(items.substr(from, to - from))) return false;
    from = items.find_first_not_of(" ,", to);
  }
  size_t k = list_open_;
  while (k > start_ && (out_[k - 1] == ' ' || out_[k - 1] == ',')) --k;
  if (close == ')' && k == chain_end_) {
    out_.resize(chain_end_);
    pending_space_ = false;
    return true;
  }
  const auto keyword_before = [&](std::string_view keyword) {
    return k - start_ >= keyword.size() &&
           out_.compare(k - keyword.size(), keyword.size(), keyword) == 0 &&
           (k - keyword.size() == start_ || !IsPerlWord(out_[k - keyword.size() - 1]));
  };
  if (close == ')' ? !(keyword_before("in") || keyword_before("values") || keyword_before("value"))
                   : !keyword_before("array"))
    return false;
  out_.resize(k);
  out_.append(close == ')' ? "(?+)" : "[?+]");
  pending_space_ = false;
  if (close == ')') chain_end_ = out_.size();
  return true;
}

// A sign starts a number only where no operand precedes it: "x = -1", "(-1", ", +2", "limit -1".
bool Fingerprinter::SignIsUnary() const {
  size_t i = out_.size();
  if (i > start_ && out_[i - 1] == ' ') --i;
  if (i == start_) return true;
  const char prev = out_[i - 1];
  if (!(IsIdentChar(prev) || prev == '?' || prev == ')' || prev == ']' || prev == '`' ||
        prev == '"'))
    return true;
  size_t from = i;
  while (from > start_ && IsIdentChar(out_[from - 1])) --from;
  const std::string_view word = std::string_view(out_).substr(from, i - from);
  return OneOf(word, {"select", "where", "and",   "or",       "not",       "by",       "then",
                      "else",   "when",  "case",  "return",   "returning", "values",   "value",
                      "in",     "set",   "limit", "offset",   "between",   "interval", "like",
                      "having", "on",    "is",    "distinct", "all",       "any",      "some",
                      "fetch",  "first", "next",  "row",      "rows"});
}

// psycopg's %(name)s placeholder starting at q[i], read as one token (its parentheses open
// nothing): the index after it, or kNone. Not right after an operand ("5%(a)s" is a modulo), as
// written, so that the fingerprint reads the same.
size_t Fingerprinter::Placeholder(size_t i) const {
  if (q_[i] != '%' || i + 1 >= q_.size() || q_[i + 1] != '(') return kNone;
  if (!pending_space_ && out_.size() > start_) {
    const char prev = out_.back();
    if (IsIdentChar(prev) || std::string_view("?:@$%)]`\"").find(prev) != kNone) return kNone;
  }
  size_t close = i + 2;
  while (close < q_.size() && IsIdentChar(q_[close])) ++close;
  if (close > i + 2 && close + 1 < q_.size() && q_[close] == ')' && Lower(q_[close + 1]) == 's' &&
      !(close + 2 < q_.size() && IsIdentChar(q_[close + 2])))
    return close + 2;
  return kNone;
}

void Fingerprinter::Run() {
  size_t i = 0;
  const size_t n = q_.size();
  while (i < n) {
    const char c = q_[i];
    const char next = i + 1 < n ? q_[i + 1] : '\0';
    if (IsSpace(c)) {
      pending_space_ = true;
      ++i;
    } else if (const size_t end = (c == '-' || c == '#' || c == '/') ? SkipComment(q_, i) : kNone;
               end != kNone) {
      pending_space_ = true;
      i = end;
    } else if (c == '\'' || (c == '"' && !ansi_quotes_)) {
      i = SkipQuoted(q_, i);
      Token("?");
    } else if (c == '"') {
      const size_t end = SkipQuoted(q_, i);
      EmitQuotedName(i, end);
      i = end;
    } else if (c == '`') {
      const size_t end = SkipBacktick(q_, i);
      EmitQuotedName(i, end);
      i = end;
    } else if (IsDigit(c) || (c == '.' && IsDigit(next)) ||
               ((c == '-' || c == '+') &&
                (IsDigit(next) || (next == '.' && i + 2 < n && IsDigit(q_[i + 2]))) &&
                SignIsUnary())) {
      i = SkipNumber(q_, i);
      Token("?");
    } else if (IsIdentStart(c)) {
      size_t end = i;
      while (end < n && IsIdentChar(q_[end])) ++end;
      // X'0A', B'01', N'text', E'text\n': one literal, prefix and all.
      const char prefix = Lower(c);
      if (end == i + 1 && end < n && q_[end] == '\'' &&
          (prefix == 'x' || prefix == 'b' || prefix == 'n' || prefix == 'e')) {
        i = SkipQuoted(q_, end);
        Token("?");
      } else {
        Word(i, end);
        i = end;
      }
    } else if (c == '(' || c == '[') {
      Open(c);
      ++i;
    } else if (c == ')' || c == ']') {
      Close(c);
      ++i;
    } else if (c == ',') {
      Comma();
      ++i;
    } else if (c == '?') {
      Token("?");
      ++i;
    } else if (const size_t end = Placeholder(i); end != kNone) {
      Token({});
      for (size_t j = i; j < end; ++j) out_.push_back(Lower(q_[j]));
      i = end;
    } else if (c == '#' && next == '-') {
      Token("#-");  // PostgreSQL's operator: the '-' starts no number
      i += 2;
    } else if (c == '/' && q_.substr(i).starts_with(kRepeatUnionAll)) {
      Token(kRepeatUnionAll);
      i += kRepeatUnionAll.size();
    } else if (c == '/' && q_.substr(i).starts_with(kRepeatUnion)) {
      Token(kRepeatUnion);
      i += kRepeatUnion.size();
    } else {
      Token(q_.substr(i, 1));
      ++i;
    }
  }
  if (saw_limit_) FoldLimit();
  if (saw_union_) CollapseUnions();
  CallAndUse();
}

// "call p(?, ?)" becomes "call p" and "use db" "use ?", as pt-fingerprint does to the query
// (here to the fingerprint, so that the result is its own fingerprint). pt takes the name to the
// last '(' of that word ("call p(f" of "CALL p(f(1))"); here to the first.
void Fingerprinter::CallAndUse() {
  const std::string_view text = std::string_view(out_).substr(start_);
  if (text.starts_with("call ")) {
    std::string_view word = text.substr(5);
    word = word.substr(0, word.find(' '));
    const size_t paren = word.find('(');
    if (paren != kNone && paren > 0) {
      out_.resize(start_ + 5 + paren);
      removed_text_ = true;
    }
  } else if (text.starts_with("use ") && text.size() > 4 && text.find(' ', 4) == kNone) {
    out_.resize(start_);
    out_.append("use ?");
    removed_text_ = true;
  }
}

// pt-fingerprint's s/\blimit \?(?:, ?\?| offset \?)?/limit ?/ on the first match: "limit ?, ?"
// and "limit ? offset ?" become "limit ?" (repeatedly there, so that a fingerprint is its own).
void Fingerprinter::FoldLimit() {
  const std::string_view text = std::string_view(out_).substr(start_);
  size_t at = text.find("limit ?");
  while (at != kNone && at > 0 && IsPerlWord(text[at - 1])) at = text.find("limit ?", at + 1);
  if (at == kNone) return;
  const size_t from = at + 7;
  size_t to = from;
  for (;;) {
    if (text.substr(to).starts_with(", ?")) {
      to += 3;
    } else if (text.substr(to).starts_with(",?")) {
      to += 2;
    } else if (text.substr(to).starts_with(" offset ?")) {
      to += 9;
    } else {
      break;
    }
  }
  out_.erase(start_ + from, to - from);
}

// pt-fingerprint's s/\b(select\s.*?)(?:(\sunion(?:\sall)?)\s\1)+/$1 \/*repeat$2*\//g: a SELECT
// repeated word for word through a UNION keeps its first copy and a /*repeat union*/ marker.
// Repeated until nothing changes (pt's one pass can leave a repeat inside what it matched, and a
// fingerprint must be its own). Each pass compares at most a few times the text's length in
// characters; past that the unions stay as they are, so that adversarial input stays linear.
void Fingerprinter::CollapseUnions() {
  if (std::string_view(out_).substr(start_).find(" union ") == kNone) return;
  thread_local std::string scratch, original;
  bool changed_any = false;
  // Characters compared and candidates tried, over all passes.
  size_t budget = 16 * (out_.size() - start_) + 4096;
  const auto spend = [&](size_t cost) {
    if (cost > budget) return false;
    budget -= cost;
    return true;
  };
  for (;;) {
    const std::string_view text = std::string_view(out_).substr(start_);
    scratch.clear();
    size_t copied = 0;  // text[0, copied) is in scratch
    size_t pos = 0;
    bool changed = false;
    bool exhausted = false;
    for (;;) {
      // The next "select " at a word boundary, from pos.
      size_t s = text.find("select ", pos);
      while (s != kNone && s > 0 && IsPerlWord(text[s - 1])) s = text.find("select ", s + 1);
      if (s == kNone) break;
      size_t match_end = kNone;
      // Lazily: each " union" after it ends a candidate for the repeated part, text[s, e).
      for (size_t e = text.find(" union", s + 7); e != kNone && match_end == kNone;
           e = text.find(" union", e + 1)) {
        const std::string_view part = text.substr(s, e - s);
        // One repetition at `at` (" union all " or " union ", then the part again): its end.
        bool all = false;
        const auto repeat = [&](size_t at) -> size_t {
          for (const bool with_all : {true, false}) {
            const std::string_view separator = with_all ? " union all " : " union ";
            if (text.compare(at, separator.size(), separator) != 0) continue;
            const size_t copy = at + separator.size();
            if (!spend(std::min(part.size(), text.size() - copy) + 1)) {
              exhausted = true;
              return kNone;
            }
            // The copy must end where a token does (pt's regex has no \b there, and turns
            // "select a union select ab" into "select a /*repeat union*/b").
            const size_t end = copy + part.size();
            if (text.compare(copy, part.size(), part) == 0 &&
                (end == text.size() || std::string_view(" ),;]").find(text[end]) != kNone)) {
              all = with_all;
              return end;
            }
          }
          return kNone;
        };
        bool last_all = false;
        for (size_t end = repeat(e); end != kNone; end = repeat(end)) {
          match_end = end;
          last_all = all;
        }
        if (exhausted) break;
        if (match_end == kNone) continue;
        scratch.append(text.substr(copied, e - copied));
        scratch.push_back(' ');
        scratch.append(last_all ? kRepeatUnionAll : kRepeatUnion);
        copied = match_end;
        changed = true;
      }
      if (exhausted || !spend(1)) {
        exhausted = true;
        break;
      }
      pos = match_end == kNone ? s + 1 : match_end;
    }
    if (exhausted) {
      // As if nothing had been collapsed: the same text gives the same answer again.
      if (changed_any) {
        out_.resize(start_);
        out_.append(original);
      }
      return;
    }
    if (!changed) return;
    scratch.append(text.substr(copied));
    if (!changed_any) original.assign(text);
    out_.resize(start_);
    out_.append(scratch);
    changed_any = true;
    removed_text_ = true;
  }
}

}  // namespace

void AppendFingerprint(std::string_view query, std::string& out) {
  const size_t start = out.size();
  out.reserve(start + query.size() + 16);  // a fingerprint is hardly ever longer
  // pt-fingerprint's whole-query cases first.
  if (query.starts_with("SELECT /*!40001 SQL_NO_CACHE */ * FROM `")) {
    out.append("mysqldump");
    return;
  }
  if (IsPerconaToolkitQuery(query)) {
    out.append("percona-toolkit");
    return;
  }
  if (query.starts_with("administrator command: ")) {
    out.append(query);
    return;
  }
  bool ansi_quotes = query.find('"') != kNone && UsesAnsiQuotes(query);
  for (;;) {
    Fingerprinter fingerprinter(query, out, ansi_quotes);
    fingerprinter.Run();
    // What made the quotes names may have gone with a dropped row or repeated SELECT: then they
    // are read as strings, as the fingerprint itself would be.
    if (!ansi_quotes || !fingerprinter.RemovedText() ||
        UsesAnsiQuotes(std::string_view(out).substr(start)))
      return;
    out.resize(start);
    ansi_quotes = false;
  }
}

std::string Fingerprint(std::string_view query) {
  std::string out;
  AppendFingerprint(query, out);
  return out;
}

}  // namespace mingus::sql
