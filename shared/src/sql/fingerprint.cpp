#include "mingus/sql/fingerprint.h"

#include <cctype>

namespace mingus::sql {

namespace {

bool IsIdentStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || static_cast<unsigned char>(c) >= 0x80;
}
bool IsIdentChar(char c) {
  return IsIdentStart(c) || std::isdigit(static_cast<unsigned char>(c)) || c == '$';
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
char Lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

// The last word written to `out` (lower case), or empty.
std::string_view LastWord(const std::string& out, size_t end) {
  size_t start = end;
  while (start > 0 && IsIdentChar(out[start - 1])) --start;
  return std::string_view(out).substr(start, end - start);
}

// A sign starts a number only where no operand precedes it: "x = -1", "(-1", ", +2".
bool SignIsUnary(const std::string& out) {
  size_t i = out.size();
  while (i > 0 && out[i - 1] == ' ') --i;
  if (i == 0) return true;
  const char prev = out[i - 1];
  if (IsIdentChar(prev) || prev == '?' || prev == ')' || prev == '`' || prev == ']') {
    // ...unless that word is a keyword after which an operand comes.
    const std::string_view word = LastWord(out, i);
    return word == "select" || word == "where" || word == "and" || word == "or" || word == "not" ||
           word == "by" || word == "then" || word == "else" || word == "when" || word == "return" ||
           word == "values" || word == "in" || word == "set" || word == "limit" || word == "offset";
  }
  return true;
}

// Skips a quoted literal starting at query[i] (the quote); returns the index after it.
size_t SkipQuoted(std::string_view query, size_t i) {
  const char quote = query[i++];
  while (i < query.size()) {
    if (query[i] == '\\') {
      i += 2;
    } else if (query[i] == quote) {
      if (i + 1 < query.size() && query[i + 1] == quote) {
        i += 2;  // a doubled quote inside the literal
      } else {
        return i + 1;
      }
    } else {
      ++i;
    }
  }
  return query.size();
}

size_t SkipNumber(std::string_view query, size_t i) {
  if (query[i] == '+' || query[i] == '-') ++i;
  if (query[i] == '0' && i + 1 < query.size() && (query[i + 1] == 'x' || query[i + 1] == 'X')) {
    i += 2;
    while (i < query.size() && std::isxdigit(static_cast<unsigned char>(query[i]))) ++i;
    return i;
  }
  while (i < query.size() && (IsDigit(query[i]) || query[i] == '.')) ++i;
  if (i < query.size() && (query[i] == 'e' || query[i] == 'E')) {
    size_t j = i + 1;
    if (j < query.size() && (query[j] == '+' || query[j] == '-')) ++j;
    if (j < query.size() && IsDigit(query[j])) {
      i = j;
      while (i < query.size() && IsDigit(query[i])) ++i;
    }
  }
  return i;
}

// "in (?, ?)" and "values (?, ?), (?, ?)" become "in(?+)" and "values(?+)".
void CollapseLists(std::string& out) {
  std::string result;
  result.reserve(out.size());
  size_t i = 0;
  while (i < out.size()) {
    if (IsIdentStart(out[i]) && (i == 0 || !IsIdentChar(out[i - 1]))) {
      size_t end = i;
      while (end < out.size() && IsIdentChar(out[end])) ++end;
      const std::string_view word = std::string_view(out).substr(i, end - i);
      result.append(word);
      if (word == "in" || word == "values" || word == "value") {
        size_t j = end, matched_end = 0;
        for (;;) {
          size_t k = j;
          while (k < out.size() && (out[k] == ' ' || out[k] == ',')) ++k;
          if (k >= out.size() || out[k] != '(') break;
          size_t close = k + 1;
          while (close < out.size() && (out[close] == '?' || out[close] == ',' || out[close] == ' ')) ++close;
          if (close >= out.size() || out[close] != ')') break;
          j = matched_end = close + 1;
        }
        if (matched_end != 0) {
          result.append("(?+)");
          end = matched_end;
        }
      }
      i = end;
    } else {
      result.push_back(out[i++]);
    }
  }
  out.swap(result);
}

// " asc" after "order by" goes; then "limit ?, ?" and "limit ? offset ?" become "limit ?"
// (in this order, so that a fingerprint is its own fingerprint).
void FoldLimitAndAsc(std::string& out) {
  if (const auto order_by = out.find("order by "); order_by != std::string::npos) {
    size_t pos = order_by;
    while ((pos = out.find(" asc", pos)) != std::string::npos) {
      const size_t end = pos + 4;
      if (end == out.size() || !IsIdentChar(out[end])) {
        // Keep the blank where dropping it would join "-" "-" or "/" "*" into a comment.
        const bool joins_comment = pos > 0 && end < out.size() &&
                                   ((out[pos - 1] == '-' && out[end] == '-') ||
                                    (out[pos - 1] == '/' && out[end] == '*'));
        out.erase(joins_comment ? pos + 1 : pos, joins_comment ? 3 : 4);
      } else {
        pos = end;
      }
    }
  }
  size_t limit = 0;
  while ((limit = out.find("limit ?", limit)) != std::string::npos) {
    const size_t after = limit + 7;
    if (limit == 0 || !IsIdentChar(out[limit - 1])) {
      bool folded = true;
      while (folded) {
        folded = false;
        for (std::string_view tail : {", ?", ",?", " offset ?"}) {
          if (out.compare(after, tail.size(), tail) == 0) {
            out.erase(after, tail.size());
            folded = true;
          }
        }
      }
    }
    limit = after;
  }
}

}  // namespace

void AppendFingerprint(std::string_view query, std::string& out) {
  const size_t start = out.size();
  std::string body;
  body.reserve(query.size());
  bool pending_space = false;
  const auto emit = [&](std::string_view text) {
    if (pending_space && !body.empty()) body.push_back(' ');
    pending_space = false;
    body.append(text);
  };
  size_t i = 0;
  while (i < query.size()) {
    const char c = query[i];
    if (IsSpace(c)) {
      pending_space = true;
      ++i;
    } else if (c == '#' || (c == '-' && i + 1 < query.size() && query[i + 1] == '-')) {
      while (i < query.size() && query[i] != '\n') ++i;  // a comment to the end of the line
      pending_space = true;
    } else if (c == '/' && i + 1 < query.size() && query[i + 1] == '*') {
      const auto end = query.find("*/", i + 2);
      i = end == std::string_view::npos ? query.size() : end + 2;
      pending_space = true;
    } else if (c == '\'' || c == '"') {
      i = SkipQuoted(query, i);
      emit("?");
    } else if (c == '`') {
      const auto end = query.find('`', i + 1);
      const size_t stop = end == std::string_view::npos ? query.size() : end + 1;
      std::string ident(query.substr(i, stop - i));
      for (char& ch : ident) ch = Lower(ch);
      emit(ident);
      i = stop;
    } else if (IsDigit(c) || ((c == '+' || c == '-' || c == '.') && i + 1 < query.size() &&
                              IsDigit(query[i + 1]) && (c == '.' || SignIsUnary(body)))) {
      i = SkipNumber(query, i);
      emit("?");
    } else if (IsIdentStart(c)) {
      size_t end = i;
      while (end < query.size() && IsIdentChar(query[end])) ++end;
      std::string word(query.substr(i, end - i));
      for (char& ch : word) ch = Lower(ch);
      emit(word == "null" ? "?" : word);
      i = end;
    } else {
      emit(std::string_view(&query[i], 1));
      ++i;
    }
  }
  // ASC goes first: "in (?, ? asc)" only becomes a list to collapse once it has gone.
  FoldLimitAndAsc(body);
  CollapseLists(body);
  out.resize(start);
  out.append(body);
}

std::string Fingerprint(std::string_view query) {
  std::string out;
  AppendFingerprint(query, out);
  return out;
}

}  // namespace mingus::sql
