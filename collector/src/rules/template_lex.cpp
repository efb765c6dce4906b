// The lexer of Go's text/template (text/template/parse/lex.go), with {{ }} delimiters: text,
// actions with trim markers, comments, and the tokens inside actions.
#include <fmt/format.h>

#include <algorithm>

#include "detail/template_program.h"

namespace mingus::collector::rules::detail {

namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool IsAlphaNumeric(char c) {
  return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

Tok Keyword(std::string_view word) {
  static constexpr std::pair<std::string_view, Tok> kKeywords[] = {
      {"if", Tok::kIf},
      {"else", Tok::kElse},
      {"end", Tok::kEnd},
      {"range", Tok::kRange},
      {"with", Tok::kWith},
      {"define", Tok::kDefine},
      {"template", Tok::kTemplate},
      {"block", Tok::kBlock},
      {"nil", Tok::kNil},
      {"break", Tok::kBreak},
      {"continue", Tok::kContinue},
      {"true", Tok::kBool},
      {"false", Tok::kBool},
  };
  for (const auto& [name, tok] : kKeywords) {
    if (name == word) return tok;
  }
  return Tok::kIdentifier;
}

class Lexer {
 public:
  Lexer(std::string_view text, std::string& error) : text_(text), error_(error) {}

  std::vector<Token> Run() {
    while (LexText() && LexAction()) {
    }
    return std::move(tokens_);
  }

 private:
  bool At(std::string_view prefix) const { return text_.substr(pos_, prefix.size()) == prefix; }
  char Peek(size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }
  bool AtEnd() const { return pos_ >= text_.size(); }

  void Emit(Tok type, size_t start) {
    tokens_.push_back({type, static_cast<uint32_t>(start), text_.substr(start, pos_ - start)});
  }
  bool Fail(size_t at, std::string message) {
    error_ = std::move(message);
    tokens_.push_back({Tok::kError, static_cast<uint32_t>(at), error_});
    return false;
  }
  // " -}}" (a trim marker) or "}}"; `trim` tells which.
  bool AtRightDelim(bool& trim) const {
    trim = IsSpace(Peek()) && Peek(1) == '-' && Peek(2) == '}' && Peek(3) == '}';
    return trim || (Peek() == '}' && Peek(1) == '}');
  }
  bool AtTerminator() const {
    const char c = Peek();
    bool trim = false;
    return AtEnd() || IsSpace(c) || c == '.' || c == ',' || c == '|' || c == ':' || c == ')' ||
           c == '(' || AtRightDelim(trim);
  }

  // Text up to the next "{{"; false at the end of the input.
  bool LexText() {
    const size_t start = pos_;
    const size_t delim = text_.find("{{", pos_);
    size_t stop = delim == std::string_view::npos ? text_.size() : delim;
    if (delim != std::string_view::npos && text_.size() > delim + 3 && text_[delim + 2] == '-' &&
        IsSpace(text_[delim + 3])) {
      while (stop > start && IsSpace(text_[stop - 1])) --stop;
    }
    if (stop > start) {
      tokens_.push_back(
          {Tok::kText, static_cast<uint32_t>(start), text_.substr(start, stop - start)});
    }
    if (delim == std::string_view::npos) {
      pos_ = text_.size();
      tokens_.push_back({Tok::kEof, static_cast<uint32_t>(pos_), {}});
      return false;
    }
    pos_ = delim;
    return true;
  }

  // From "{{" through "}}"; false on an error.
  bool LexAction() {
    const size_t delim = pos_;
    pos_ += 2;
    const bool left_trim = Peek() == '-' && IsSpace(Peek(1));
    if (text_.substr(pos_ + (left_trim ? 2 : 0), 2) == "/*") return LexComment(delim, left_trim);
    Emit(Tok::kLeftDelim, delim);
    if (left_trim) pos_ += 2;
    int paren_depth = 0;
    for (;;) {
      bool trim = false;
      if (AtRightDelim(trim)) {
        if (paren_depth > 0) return Fail(pos_, "unclosed left paren");
        return LexRightDelim(trim);
      }
      const size_t start = pos_;
      const char c = Peek();
      if (AtEnd()) return Fail(pos_, "unclosed action");
      if (IsSpace(c)) {
        // A space before " -}}" belongs to the delimiter.
        while (IsSpace(Peek()) && !AtRightDelim(trim)) ++pos_;
        if (pos_ > start) Emit(Tok::kSpace, start);
        continue;
      }
      ++pos_;
      switch (c) {
        case '=':
          Emit(Tok::kAssign, start);
          continue;
        case ':':
          if (Peek() != '=') return Fail(start, "expected :=");
          ++pos_;
          Emit(Tok::kDeclare, start);
          continue;
        case '|':
          Emit(Tok::kPipe, start);
          continue;
        case '"':
          if (!LexQuote('"', "unterminated quoted string")) return false;
          Emit(Tok::kString, start);
          continue;
        case '\'':
          if (!LexQuote('\'', "unterminated character constant")) return false;
          Emit(Tok::kCharConstant, start);
          continue;
        case '`': {
          const size_t close = text_.find('`', pos_);
          if (close == std::string_view::npos) return Fail(start, "unterminated raw quoted string");
          pos_ = close + 1;
          Emit(Tok::kRawString, start);
          continue;
        }
        case '$':
          if (!LexFieldOrVariable(start, Tok::kVariable)) return false;
          continue;
        case '(':
          ++paren_depth;
          Emit(Tok::kLeftParen, start);
          continue;
        case ')':
          if (--paren_depth < 0) return Fail(start, "unexpected right paren");
          Emit(Tok::kRightParen, start);
          continue;
        default:
          break;
      }
      if (c == '.' && !(Peek() >= '0' && Peek() <= '9')) {
        if (!LexFieldOrVariable(start, Tok::kField)) return false;
        continue;
      }
      if (c == '.' || c == '+' || c == '-' || (c >= '0' && c <= '9')) {
        pos_ = start;
        if (!LexNumber()) return false;
        Emit(Tok::kNumber, start);
        continue;
      }
      if (IsAlphaNumeric(c)) {
        while (IsAlphaNumeric(Peek())) ++pos_;
        if (!AtTerminator()) return Fail(pos_, fmt::format("bad character {}", Describe(Peek())));
        Emit(Keyword(text_.substr(start, pos_ - start)), start);
        continue;
      }
      if (static_cast<unsigned char>(c) < 0x80 && c >= 0x20 && c != 0x7f) {
        Emit(Tok::kChar, start);
        continue;
      }
      return Fail(start, fmt::format("unrecognized character in action: {}", Describe(c)));
    }
  }

  static std::string Describe(char c) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x80) return fmt::format("byte {:#04x} (only ASCII is supported in actions)", byte);
    if (byte >= 0x20 && byte < 0x7f) return fmt::format("U+{:04X} '{}'", byte, c);
    return fmt::format("U+{:04X}", byte);
  }

  bool LexRightDelim(bool trim) {
    const size_t start = pos_;
    pos_ += trim ? 4 : 2;
    Emit(Tok::kRightDelim, start);
    if (trim) {
      while (IsSpace(Peek())) ++pos_;
    }
    return true;
  }

  bool LexComment(size_t delim, bool left_trim) {
    pos_ += left_trim ? 4 : 2;
    const size_t close = text_.find("*/", pos_);
    if (close == std::string_view::npos) return Fail(delim, "unclosed comment");
    pos_ = close + 2;
    bool trim = false;
    if (!AtRightDelim(trim)) return Fail(delim, "comment ends before closing delimiter");
    pos_ += trim ? 4 : 2;
    if (trim) {
      while (IsSpace(Peek())) ++pos_;
    }
    return true;
  }

  bool LexQuote(char quote, const char* unterminated) {
    const size_t start = pos_ - 1;
    for (;;) {
      const char c = Peek();
      if (AtEnd() || c == '\n') return Fail(start, unterminated);
      ++pos_;
      if (c == '\\') {
        if (AtEnd() || Peek() == '\n') return Fail(start, unterminated);
        ++pos_;
      } else if (c == quote) {
        return true;
      }
    }
  }

  // "$", "$name", ".", ".name".
  bool LexFieldOrVariable(size_t start, Tok type) {
    if (AtTerminator()) {
      Emit(type == Tok::kVariable ? Tok::kVariable : Tok::kDot, start);
      return true;
    }
    while (IsAlphaNumeric(Peek())) ++pos_;
    if (!AtTerminator()) return Fail(pos_, fmt::format("bad character {}", Describe(Peek())));
    Emit(type, start);
    return true;
  }

  // Go's scanNumber: the syntax only; the parser reads the value.
  bool LexNumber() {
    const size_t start = pos_;
    const auto accept = [&](std::string_view valid) {
      if (!AtEnd() && valid.find(Peek()) != std::string_view::npos) {
        ++pos_;
        return true;
      }
      return false;
    };
    const auto accept_run = [&](std::string_view valid) {
      while (accept(valid)) {
      }
    };
    accept("+-");
    std::string_view digits = "0123456789_";
    if (accept("0")) {
      if (accept("xX")) {
        digits = "0123456789abcdefABCDEF_";
      } else if (accept("oO")) {
        digits = "01234567_";
      } else if (accept("bB")) {
        digits = "01_";
      }
    }
    accept_run(digits);
    if (accept(".")) accept_run(digits);
    if (digits.size() == 11 && accept("eE")) {
      accept("+-");
      accept_run("0123456789_");
    }
    if (digits.size() == 23 && accept("pP")) {
      accept("+-");
      accept_run("0123456789_");
    }
    accept("i");
    if (IsAlphaNumeric(Peek())) {
      ++pos_;
      return Fail(start,
                  fmt::format("bad number syntax: \"{}\"", text_.substr(start, pos_ - start)));
    }
    return true;
  }

  std::string_view text_;
  std::string& error_;
  size_t pos_ = 0;
  std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> Lex(std::string_view text, std::string& error) {
  return Lexer(text, error).Run();
}

std::string ErrorPrefix(const TemplateProgram& program, uint32_t offset) {
  const std::string_view text = program.text;
  offset = std::min<uint32_t>(offset, static_cast<uint32_t>(text.size()));
  const std::string_view before = text.substr(0, offset);
  const size_t line = static_cast<size_t>(std::count(before.begin(), before.end(), '\n')) + 1;
  const size_t line_start = before.rfind('\n');
  const size_t column = line_start == std::string_view::npos ? offset + 1 : offset - line_start;
  return fmt::format("template: {}:{}:{}: ", program.name, line, column);
}

}  // namespace mingus::collector::rules::detail
