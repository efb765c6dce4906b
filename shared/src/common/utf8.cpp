#include "mingus/common/utf8.h"

#include <fmt/format.h>

#include <cstring>
#include <iterator>

namespace mingus::utf8 {

namespace {

// U+FFFD, as Go's utf8.DecodeRune gives for an invalid sequence: never a letter, digit or
// separator, so a caller that classifies the rune before it looks at the length stops there
// (an overlong "\xc1\x83", decoded, is 'C': taken for a letter of zero bytes it hung the
// expansion of a reReplaceAll replacement, found by fuzz_rule_template).
uint32_t InvalidRune(size_t& length) {
  length = 0;
  return 0xFFFD;
}

}  // namespace

uint32_t DecodeRune(std::string_view text, size_t i, size_t& length) {
  const auto c = static_cast<unsigned char>(text[i]);
  length = c < 0x80             ? 1
           : (c & 0xE0) == 0xC0 ? 2
           : (c & 0xF0) == 0xE0 ? 3
           : (c & 0xF8) == 0xF0 ? 4
                                : 0;
  if (length == 1) return c;
  if (length == 0 || i + length > text.size()) return InvalidRune(length);
  uint32_t rune = c & (0x7F >> length);
  for (size_t k = 1; k < length; ++k) {
    const auto next = static_cast<unsigned char>(text[i + k]);
    if ((next & 0xC0) != 0x80) return InvalidRune(length);
    rune = (rune << 6) | (next & 0x3F);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (rune < kMin[length] || rune > 0x10FFFF || (rune >= 0xD800 && rune < 0xE000))
    return InvalidRune(length);
  return rune;
}

bool IsValidUtf8(std::string_view text) {
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    // Eight ASCII bytes at a time: StatsD lines and JSON events rarely hold anything else.
    if (uint64_t word; i + 8 <= n && (std::memcpy(&word, text.data() + i, 8),
                                      (word & 0x8080808080808080ull) == 0)) {
      i += 8;
      continue;
    }
    size_t length = 0;
    DecodeRune(text, i, length);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

bool IsPrintableRune(uint32_t rune) {
  if (rune < 0x20 || rune == 0x7f || (rune >= 0x80 && rune < 0xA0) || rune == 0xAD) return false;
  if ((rune >= 0x200B && rune <= 0x200F) || rune == 0x2028 || rune == 0x2029) return false;
  return rune != 0xFEFF && !(rune >= 0xD800 && rune < 0xE000) && rune <= 0x10FFFF;
}

void AppendEscapedRune(uint32_t rune, char quote, std::string& out) {
  switch (rune) {
    case '\a':
      out += "\\a";
      return;
    case '\b':
      out += "\\b";
      return;
    case '\f':
      out += "\\f";
      return;
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    case '\v':
      out += "\\v";
      return;
    case '\\':
      out += "\\\\";
      return;
    default:
      break;
  }
  if (rune == static_cast<uint32_t>(quote)) {
    out += '\\';
    out += quote;
  } else if (rune < 0x20 || rune == 0x7f) {
    fmt::format_to(std::back_inserter(out), "\\x{:02x}", rune);
  } else if (rune < 0x10000) {
    fmt::format_to(std::back_inserter(out), "\\u{:04x}", rune);
  } else {
    fmt::format_to(std::back_inserter(out), "\\U{:08x}", rune);
  }
}

std::string QuoteGo(std::string_view text) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size();) {
    size_t length = 0;
    const uint32_t rune = DecodeRune(text, i, length);
    if (length == 0) {
      fmt::format_to(std::back_inserter(out), "\\x{:02x}", static_cast<unsigned char>(text[i]));
      ++i;
      continue;
    }
    if (IsPrintableRune(rune) && rune != '"' && rune != '\\') {
      out.append(text.substr(i, length));
    } else {
      AppendEscapedRune(rune, '"', out);
    }
    i += length;
  }
  return out + "\"";
}

}  // namespace mingus::utf8
