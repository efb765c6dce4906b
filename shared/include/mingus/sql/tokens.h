#pragma once

#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

// SQL text as tokens, for the readers of queries that need more than a fingerprint (rewrite
// hints, the database optimizer's index suggestions). Any dialect: MySQL, PostgreSQL, SQLite.
namespace mingus::sql {

enum class TokenKind { kWord, kName, kString, kNumber, kPlaceholder, kPunct };

struct Token {
  TokenKind kind;
  size_t begin, end;  // in the query
  int depth;          // parentheses around it (a parenthesis itself has the depth outside it)
  std::string text;   // words and quoted names lower-case and unquoted, strings' contents
                      // (backslash escapes kept as written), the rest as written
};

// Comments and blanks are dropped; every other byte belongs to a token.
std::vector<Token> Tokenize(std::string_view query);

// Words that are never a column's name.
bool IsKeyword(std::string_view word);

inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }
inline bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
inline char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
inline std::string LowerCopy(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = Lower(c);
  return out;
}
inline bool OneOf(std::string_view word, std::initializer_list<std::string_view> words) {
  return std::find(words.begin(), words.end(), word) != words.end();
}

}  // namespace mingus::sql
