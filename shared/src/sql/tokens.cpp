#include "mingus/sql/tokens.h"

namespace mingus::sql {

namespace {

constexpr size_t kNone = std::string_view::npos;

bool IsIdentStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}
bool IsIdentChar(char c) { return IsIdentStart(c) || IsDigit(c) || c == '$'; }

}  // namespace

bool IsKeyword(std::string_view word) {
  return OneOf(
      word,
      {"select",    "from",  "where",     "and",     "or",      "not",    "in",       "is",
       "null",      "like",  "ilike",     "between", "exists",  "case",   "when",     "then",
       "else",      "end",   "as",        "on",      "join",    "inner",  "left",     "right",
       "full",      "outer", "cross",     "natural", "using",   "group",  "order",    "by",
       "having",    "limit", "offset",    "fetch",   "union",   "all",    "distinct", "any",
       "some",      "into",  "values",    "set",     "update",  "delete", "insert",   "with",
       "returning", "for",   "asc",       "desc",    "true",    "false",  "interval", "lateral",
       "window",    "over",  "partition", "escape",  "collate", "regexp", "similar"});
}

std::vector<Token> Tokenize(std::string_view q) {
  std::vector<Token> tokens;
  int depth = 0;
  size_t i = 0;
  const auto add = [&](TokenKind kind, size_t begin, size_t end, std::string text) {
    tokens.push_back({kind, begin, end, depth, std::move(text)});
  };
  while (i < q.size()) {
    const char c = q[i];
    const char next = i + 1 < q.size() ? q[i + 1] : '\0';
    const size_t begin = i;
    if (IsSpace(c)) {
      ++i;
    } else if ((c == '-' && next == '-') || (c == '#' && next != '>' && next != '-')) {
      const size_t end = q.find('\n', i);
      i = end == kNone ? q.size() : end;
    } else if (c == '/' && next == '*') {
      const size_t end = q.find("*/", i + 2);
      i = end == kNone ? q.size() : end + 2;
    } else if (c == '\'' || c == '"' || c == '`') {
      std::string text;
      ++i;
      while (i < q.size()) {
        if (q[i] == '\\' && c != '`' && i + 1 < q.size()) {
          text.append(q.substr(i, 2));  // kept escaped: '\_' in a LIKE is no wildcard
          i += 2;
        } else if (q[i] == c && i + 1 < q.size() && q[i + 1] == c) {
          text.push_back(c);
          i += 2;
        } else if (q[i] == c) {
          ++i;
          break;
        } else {
          text.push_back(q[i++]);
        }
      }
      if (c == '\'') {
        add(TokenKind::kString, begin, i, std::move(text));
      } else {
        add(TokenKind::kName, begin, i, LowerCopy(text));
      }
    } else if (IsDigit(c) || (c == '.' && IsDigit(next))) {
      while (i < q.size() && (IsIdentChar(q[i]) || q[i] == '.')) ++i;
      add(TokenKind::kNumber, begin, i, std::string(q.substr(begin, i - begin)));
    } else if (IsIdentStart(c)) {
      while (i < q.size() && IsIdentChar(q[i])) ++i;
      // E'...', N'...', X'...', B'...': the prefix goes with the string.
      if (i == begin + 1 && i < q.size() && q[i] == '\'' &&
          OneOf(std::string_view(&q[begin], 1), {"e", "E", "n", "N", "x", "X", "b", "B"}))
        continue;
      add(TokenKind::kWord, begin, i, LowerCopy(q.substr(begin, i - begin)));
    } else if (c == '?' || (c == '$' && IsDigit(next)) ||
               ((c == ':' || c == '@') && IsIdentStart(next) &&
                !(begin > 0 && q[begin - 1] == c))) {
      ++i;
      while (i < q.size() && IsIdentChar(q[i])) ++i;
      add(TokenKind::kPlaceholder, begin, i, std::string(q.substr(begin, i - begin)));
    } else if (c == '%' && next == 's') {  // psycopg's %s and %(name)s
      i += 2;
      add(TokenKind::kPlaceholder, begin, i, "%s");
    } else if (size_t close = i + 2; c == '%' && next == '(' && [&] {
                 while (close < q.size() && IsIdentChar(q[close])) ++close;
                 return q.substr(close).starts_with(")s");
               }()) {
      i = close + 2;
      add(TokenKind::kPlaceholder, begin, i, std::string(q.substr(begin, i - begin)));
    } else if (c == '(') {
      add(TokenKind::kPunct, begin, ++i, "(");
      ++depth;
    } else if (c == ')') {
      depth = std::max(0, depth - 1);
      add(TokenKind::kPunct, begin, ++i, ")");
    } else {
      size_t length = 1;
      for (std::string_view op : {"->>", "<=", ">=", "<>", "!=", "::", "||", "->"}) {
        if (q.substr(i).starts_with(op)) {
          length = op.size();
          break;
        }
      }
      i += length;
      add(TokenKind::kPunct, begin, i, std::string(q.substr(begin, length)));
    }
  }
  return tokens;
}

}  // namespace mingus::sql
