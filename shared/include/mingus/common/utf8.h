#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

// UTF-8 as Go reads and quotes it: alert templates (text/template, fmt's %q) and Alertmanager's
// group keys (strconv.Quote) must print what Prometheus and Alertmanager print.
namespace mingus::utf8 {

// The code point of the sequence at text[i] and its length; U+FFFD and length 0 for an invalid
// sequence (a bad lead or continuation byte, a truncated, overlong or surrogate form, or beyond
// U+10FFFF).
uint32_t DecodeRune(std::string_view text, size_t i, size_t& length);
bool IsValidUtf8(std::string_view text);
// Go's unicode.IsPrint, approximated: all but controls and a few invisible format characters.
bool IsPrintableRune(uint32_t rune);
// strconv's escape of a rune it does not print as is, inside `quote` quotes.
void AppendEscapedRune(uint32_t rune, char quote, std::string& out);
// strconv.Quote.
std::string QuoteGo(std::string_view text);

}  // namespace mingus::utf8
