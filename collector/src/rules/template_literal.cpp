// Literals inside actions as Go reads them: strconv.Unquote for strings, strconv.UnquoteChar
// for character constants, and text/template's number rules (parse.newNumber, idealConstant).
#include <fmt/format.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "detail/template_program.h"

namespace mingus::collector::rules::detail {

namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// One character or escape at s[i] of a literal quoted with `quote`, appended to `out`; sets
// `rune` to its code point (a byte's value for \x and octal escapes). False when malformed.
bool UnquoteOne(std::string_view s, size_t& i, char quote, std::string& out, uint32_t& rune) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c != '\\') {
    size_t length = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    length = std::min(length, s.size() - i);
    rune = c < 0x80 ? c : c >= 0xF0 ? c & 0x07 : c >= 0xE0 ? c & 0x0F : c & 0x1F;
    for (size_t k = 1; k < length; ++k) rune = (rune << 6) | (s[i + k] & 0x3F);
    out.append(s.substr(i, length));
    i += length;
    return true;
  }
  if (++i >= s.size()) return false;
  const char e = s[i++];
  switch (e) {
    case 'a':
      rune = '\a';
      break;
    case 'b':
      rune = '\b';
      break;
    case 'f':
      rune = '\f';
      break;
    case 'n':
      rune = '\n';
      break;
    case 'r':
      rune = '\r';
      break;
    case 't':
      rune = '\t';
      break;
    case 'v':
      rune = '\v';
      break;
    case '\\':
      rune = '\\';
      break;
    case '\'':
    case '"':
      if (e != quote) return false;
      rune = static_cast<unsigned char>(e);
      break;
    case 'x':
    case 'u':
    case 'U': {
      const size_t digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
      if (i + digits > s.size()) return false;
      rune = 0;
      for (size_t k = 0; k < digits; ++k) {
        const int digit = HexDigit(s[i + k]);
        if (digit < 0) return false;
        rune = rune * 16 + static_cast<uint32_t>(digit);
      }
      i += digits;
      if (e == 'x') {
        out.push_back(static_cast<char>(rune));
        return true;
      }
      if (rune > 0x10FFFF || (rune >= 0xD800 && rune < 0xE000)) return false;
      AppendUtf8(rune, out);
      return true;
    }
    default:
      if (e < '0' || e > '7' || i + 2 > s.size()) return false;
      rune = static_cast<uint32_t>(e - '0');
      for (size_t k = 0; k < 2; ++k) {
        if (s[i + k] < '0' || s[i + k] > '7') return false;
        rune = rune * 8 + static_cast<uint32_t>(s[i + k] - '0');
      }
      i += 2;
      if (rune > 255) return false;
      out.push_back(static_cast<char>(rune));
      return true;
  }
  out.push_back(static_cast<char>(rune));
  return true;
}

// Go's underscoreOK: underscores only between digits, or between a base prefix and a digit;
// `out` gets the text without them.
bool StripUnderscores(std::string_view s, std::string& out) {
  char saw = '^';
  size_t i = 0;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) out.push_back(s[i++]);
  bool hex = false;
  if (s.size() >= i + 2 && s[i] == '0' &&
      std::string_view("bBoOxX").find(s[i + 1]) != std::string_view::npos) {
    hex = (s[i + 1] | 0x20) == 'x';
    out.append(s.substr(i, 2));
    i += 2;
    saw = '0';
  }
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if ((c >= '0' && c <= '9') || (hex && std::isxdigit(static_cast<unsigned char>(c)))) {
      saw = '0';
      out.push_back(c);
    } else if (c == '_') {
      if (saw != '0') return false;
      saw = '_';
    } else {
      if (saw == '_') return false;
      saw = '!';
      out.push_back(c);
    }
  }
  return saw != '_';
}

// strconv.ParseInt(text, 0, 64) without underscores; `overflow` when the syntax is an integer's.
bool ParseInt(std::string_view text, int64_t& value, bool& overflow) {
  overflow = false;
  bool negative = false;
  if (!text.empty() && (text[0] == '+' || text[0] == '-')) {
    negative = text[0] == '-';
    text.remove_prefix(1);
  }
  int base = 10;
  if (text.size() > 1 && text[0] == '0') {
    const char p = static_cast<char>(text[1] | 0x20);
    base = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 8;
    text.remove_prefix(p == 'x' || p == 'o' || p == 'b' ? 2 : 1);
  }
  if (text.empty()) return false;
  // The magnitude, in up to 64 bits; past them the syntax is an integer's that overflows.
  uint64_t magnitude = 0;
  for (const char c : text) {
    const int digit = HexDigit(c);
    if (digit < 0 || digit >= base) return false;
    const auto b = static_cast<uint64_t>(base);
    if (magnitude > (UINT64_MAX - static_cast<uint64_t>(digit)) / b) overflow = true;
    magnitude = magnitude * b + static_cast<uint64_t>(digit);
  }
  const uint64_t limit = static_cast<uint64_t>(INT64_MAX) + (negative ? 1 : 0);
  if (overflow || magnitude > limit) {
    overflow = true;
    return false;
  }
  value = negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
  return true;
}

}  // namespace

void AppendUtf8(uint32_t rune, std::string& out) {
  if (rune < 0x80) {
    out.push_back(static_cast<char>(rune));
  } else if (rune < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (rune >> 6)));
    out.push_back(static_cast<char>(0x80 | (rune & 0x3F)));
  } else if (rune < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (rune >> 12)));
    out.push_back(static_cast<char>(0x80 | ((rune >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (rune & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (rune >> 18)));
    out.push_back(static_cast<char>(0x80 | ((rune >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((rune >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (rune & 0x3F)));
  }
}

StatusOr<std::string> UnquoteGo(std::string_view literal) {
  if (literal.size() >= 2 && literal.front() == '`' && literal.back() == '`') {
    std::string out;
    for (const char c : literal.substr(1, literal.size() - 2)) {
      if (c != '\r') out.push_back(c);  // as Go's Unquote does
    }
    return out;
  }
  if (literal.size() < 2 || literal.front() != '"' || literal.back() != '"') {
    return Status::Error(fmt::format("invalid syntax: {}", literal));
  }
  const std::string_view body = literal.substr(1, literal.size() - 2);
  std::string out;
  uint32_t rune = 0;
  for (size_t i = 0; i < body.size();) {
    if (!UnquoteOne(body, i, '"', out, rune)) {
      return Status::Error(fmt::format("invalid syntax: bad escape in {}", literal));
    }
  }
  return out;
}

StatusOr<Value> NumberLiteral(std::string_view text, bool char_constant) {
  if (char_constant) {
    const std::string_view body = text.substr(1, text.size() - 2);
    std::string scratch;
    uint32_t rune = 0;
    size_t i = 0;
    if (body.empty() || !UnquoteOne(body, i, '\'', scratch, rune) || i != body.size()) {
      return Status::Error(fmt::format("malformed character constant: {}", text));
    }
    return Value::Int(rune);
  }
  if (!text.empty() && text.back() == 'i') {
    return Status::Error(fmt::format("complex number {} is not supported", text));
  }
  std::string clean;
  if (!StripUnderscores(text, clean)) {
    return Status::Error(fmt::format("illegal number syntax: \"{}\"", text));
  }
  const bool hex = clean.find_first_of("xX") != std::string::npos;
  const bool float_syntax = clean.find_first_of(hex ? ".pP" : ".eEpP") != std::string::npos;
  int64_t integer = 0;
  bool overflow = false;
  if (!float_syntax && ParseInt(clean, integer, overflow)) return Value::Int(integer);
  if (overflow) return Status::Error(fmt::format("{} overflows int", text));
  // A float; hexadecimal ones need a p exponent, as in Go.
  if (!float_syntax || (hex && clean.find_first_of("pP") == std::string::npos)) {
    return Status::Error(fmt::format("illegal number syntax: \"{}\"", text));
  }
  for (const char c : clean) {
    if (!isxdigit(static_cast<unsigned char>(c)) &&
        std::string_view("+-.xXpPeE").find(c) == std::string_view::npos) {
      return Status::Error(fmt::format("illegal number syntax: \"{}\"", text));
    }
  }
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(clean.c_str(), &end);
  if (end != clean.c_str() + clean.size() ||
      clean.find_first_of("0123456789") == std::string::npos) {
    return Status::Error(fmt::format("illegal number syntax: \"{}\"", text));
  }
  if (errno == ERANGE && std::abs(value) > 1) {
    return Status::Error(fmt::format("number {} is out of range", text));
  }
  return Value::Float(value);
}

}  // namespace mingus::collector::rules::detail

namespace mingus::collector::rules::detail {

StatusOr<double> ParseFloatGo(std::string_view text) {
  const auto fail = [&](std::string_view why) {
    return Status::Error(
        fmt::format("strconv.ParseFloat: parsing {}: {}", utf8::QuoteGo(text), why));
  };
  std::string_view rest = text;
  const bool negative = !rest.empty() && rest[0] == '-';
  const bool sign = !rest.empty() && (rest[0] == '-' || rest[0] == '+');
  if (sign) rest.remove_prefix(1);
  const auto equals_lower = [](std::string_view a, std::string_view lower) {
    if (a.size() != lower.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if ((a[i] | 0x20) != lower[i]) return false;
    }
    return true;
  };
  if (equals_lower(rest, "inf") || equals_lower(rest, "infinity")) {
    return negative ? -HUGE_VAL : HUGE_VAL;
  }
  if (!sign && equals_lower(rest, "nan")) return std::nan("");
  // The syntax of a Go float: decimal with an optional e exponent, or hexadecimal with a
  // mandatory p exponent; underscores only between digits.
  const bool hex = rest.size() > 1 && rest[0] == '0' && (rest[1] | 0x20) == 'x';
  size_t i = hex ? 2 : 0, digits = 0;
  const auto is_digit = [&](char c) {
    return hex ? std::isxdigit(static_cast<unsigned char>(c)) != 0 : (c >= '0' && c <= '9');
  };
  for (bool dot = false; i < rest.size(); ++i) {
    if (is_digit(rest[i])) {
      ++digits;
    } else if (rest[i] == '.' && !dot) {
      dot = true;
    } else if (rest[i] != '_') {
      break;
    }
  }
  if (digits == 0) return fail("invalid syntax");
  if (i < rest.size() && (rest[i] | 0x20) == (hex ? 'p' : 'e')) {
    ++i;
    if (i < rest.size() && (rest[i] == '+' || rest[i] == '-')) ++i;
    if (i >= rest.size() || rest[i] < '0' || rest[i] > '9') return fail("invalid syntax");
    while (i < rest.size() && ((rest[i] >= '0' && rest[i] <= '9') || rest[i] == '_')) ++i;
  } else if (hex) {
    return fail("invalid syntax");
  }
  std::string clean;
  if (i != rest.size() || !StripUnderscores(text, clean)) return fail("invalid syntax");
  errno = 0;
  const double value = std::strtod(clean.c_str(), nullptr);
  if (errno == ERANGE && std::isinf(value)) return fail("value out of range");
  return value;
}

}  // namespace mingus::collector::rules::detail
