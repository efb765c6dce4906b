// Go's fmt as far as alert templates use it: Sprintf's verbs %v %s %q %d %x %X %o %b %c %e %E
// %f %F %g %G %t %% with the flags - + space 0, width and precision; Sprint and Sprintln.
#include <fmt/format.h>

#include <cmath>
#include <cstdio>

#include "detail/template_program.h"

namespace mingus::collector::rules::detail {

namespace {

struct Spec {
  bool minus = false, plus = false, zero = false, space = false;
  int width = -1, precision = -1;
  char verb = 'v';
};

size_t RuneCount(std::string_view text) {
  size_t count = 0;
  for (const char c : text) count += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return count;
}

enum class Fill : uint8_t { kSpaces, kZerosAfterSign, kZeros };

// Pads what was appended to `out` since `start` to the width, by runes as Go does.
void Pad(std::string& out, size_t start, const Spec& spec, Fill fill_with) {
  const size_t length = RuneCount(std::string_view(out).substr(start));
  if (spec.width < 0 || length >= static_cast<size_t>(spec.width)) return;
  const size_t fill = static_cast<size_t>(spec.width) - length;
  if (spec.minus) {
    out.append(fill, ' ');
  } else if (spec.zero && fill_with != Fill::kSpaces) {
    const bool sign = fill_with == Fill::kZerosAfterSign && out.size() > start &&
                      (out[start] == '-' || out[start] == '+' || out[start] == ' ');
    out.insert(start + (sign ? 1 : 0), fill, '0');
  } else {
    out.insert(start, fill, ' ');
  }
}

void AppendEscapedRune(uint32_t rune, char quote, std::string& out) {
  switch (rune) {
    case '\a': out += "\\a"; return;
    case '\b': out += "\\b"; return;
    case '\f': out += "\\f"; return;
    case '\n': out += "\\n"; return;
    case '\r': out += "\\r"; return;
    case '\t': out += "\\t"; return;
    case '\v': out += "\\v"; return;
    case '\\': out += "\\\\"; return;
    default: break;
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

std::string QuoteRune(int64_t value) {
  const bool valid = value >= 0 && value <= 0x10FFFF && !(value >= 0xD800 && value < 0xE000);
  const uint32_t rune = valid ? static_cast<uint32_t>(value) : 0xFFFD;
  std::string out = "'";
  if (IsPrintableRune(rune) && rune != '\'' && rune != '\\') {
    AppendUtf8(rune, out);
  } else {
    AppendEscapedRune(rune, '\'', out);
  }
  return out + "'";
}

}  // namespace

bool IsPrintableRune(uint32_t rune) {
  if (rune < 0x20 || rune == 0x7f || (rune >= 0x80 && rune < 0xA0) || rune == 0xAD) return false;
  if ((rune >= 0x200B && rune <= 0x200F) || rune == 0x2028 || rune == 0x2029) return false;
  return rune != 0xFEFF && !(rune >= 0xD800 && rune < 0xE000) && rune <= 0x10FFFF;
}

// Decodes the UTF-8 sequence at text[i]; 0 length for an invalid byte.
uint32_t DecodeRune(std::string_view text, size_t i, size_t& length) {
  const auto c = static_cast<unsigned char>(text[i]);
  length = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
  if (length <= 1 || i + length > text.size()) {
    if (length != 1) length = 0;
    return c;
  }
  uint32_t rune = c & (0x7F >> length);
  for (size_t k = 1; k < length; ++k) {
    const auto next = static_cast<unsigned char>(text[i + k]);
    if ((next & 0xC0) != 0x80) {
      length = 0;
      return c;
    }
    rune = (rune << 6) | (next & 0x3F);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (rune < kMin[length] || rune > 0x10FFFF || (rune >= 0xD800 && rune < 0xE000)) length = 0;
  return rune;
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


namespace {

Status FormatValue(const Spec& spec, const Value& value, std::string& out, int depth);

void BadVerb(const Spec& spec, const Value& value, std::string& out, int depth) {
  fmt::format_to(std::back_inserter(out), "%!{}(", spec.verb);
  if (value.is_nil()) {
    out += "<nil>)";
    return;
  }
  out += TypeName(value);
  out += '=';
  Spec v = spec;
  v.verb = 'v';
  (void)FormatValue(v, value, out, depth);
  out += ')';
}

void FormatInt(const Spec& spec, int64_t value, std::string& out) {
  const size_t start = out.size();
  if (spec.verb == 'c' || spec.verb == 'q') {
    const bool valid = value >= 0 && value <= 0x10FFFF && !(value >= 0xD800 && value < 0xE000);
    if (spec.verb == 'q') {
      out += QuoteRune(value);
    } else {
      AppendUtf8(valid ? static_cast<uint32_t>(value) : 0xFFFD, out);
    }
    Pad(out, start, spec, Fill::kZeros);
    return;
  }
  const int base = spec.verb == 'x' || spec.verb == 'X' ? 16 : spec.verb == 'o' ? 8
                   : spec.verb == 'b'                   ? 2
                                                        : 10;
  const char* digit_chars = spec.verb == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
  uint64_t magnitude = value < 0 ? 0 - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
  std::string digits;
  while (magnitude > 0) {
    digits.insert(digits.begin(), digit_chars[magnitude % static_cast<uint64_t>(base)]);
    magnitude /= static_cast<uint64_t>(base);
  }
  if (spec.precision >= 0) {
    if (digits.size() < static_cast<size_t>(spec.precision)) {
      digits.insert(0, static_cast<size_t>(spec.precision) - digits.size(), '0');
    }
  } else if (digits.empty()) {
    digits.push_back('0');
  }
  if (value < 0) {
    out += '-';
  } else if (spec.plus) {
    out += '+';
  } else if (spec.space) {
    out += ' ';
  }
  out += digits;
  Pad(out, start, spec, spec.precision < 0 ? Fill::kZerosAfterSign : Fill::kSpaces);
}

void FormatFloat(const Spec& spec, double value, std::string& out) {
  const size_t start = out.size();
  const char verb = spec.verb == 'v' ? 'g' : spec.verb == 'F' ? 'f' : spec.verb;
  if (std::isnan(value) || std::isinf(value)) {
    // Go keeps Inf's sign, drops NaN's unless asked for, and never pads them with zeros.
    if (std::isnan(value)) {
      out += spec.plus ? "+NaN" : spec.space ? " NaN" : "NaN";
    } else {
      out += value < 0 ? "-Inf" : spec.space && !spec.plus ? " Inf" : "+Inf";
    }
    Pad(out, start, spec, Fill::kSpaces);
    return;
  }
  if (spec.plus && !std::signbit(value)) {
    out += '+';
  } else if (spec.space && !std::signbit(value)) {
    out += ' ';
  }
  if ((verb == 'g' || verb == 'G') && spec.precision < 0) {
    const size_t digits = out.size();
    AppendFloatV(value, out);
    if (verb == 'G') {
      for (size_t i = digits; i < out.size(); ++i) {
        if (out[i] == 'e') out[i] = 'E';
      }
    }
  } else {
    const int precision = spec.precision < 0 ? 6 : spec.precision;
    const char format[] = {'%', '.', '*', verb, '\0'};
    const int size = std::snprintf(nullptr, 0, format, precision, value);
    const size_t at = out.size();
    out.resize(at + static_cast<size_t>(size) + 1);
    std::snprintf(out.data() + at, static_cast<size_t>(size) + 1, format, precision, value);
    out.resize(at + static_cast<size_t>(size));
  }
  Pad(out, start, spec, Fill::kZerosAfterSign);
}

void FormatString(const Spec& spec, std::string_view text, std::string& out) {
  const size_t start = out.size();
  if (spec.verb == 'x' || spec.verb == 'X') {
    if (spec.precision >= 0) text = text.substr(0, static_cast<size_t>(spec.precision));
    const char* digits = spec.verb == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
    for (size_t i = 0; i < text.size(); ++i) {
      if (spec.space && i > 0) out += ' ';
      const auto byte = static_cast<unsigned char>(text[i]);
      out += digits[byte >> 4];
      out += digits[byte & 0x0F];
    }
    Pad(out, start, spec, Fill::kZeros);
    return;
  }
  if (spec.precision >= 0) {  // precision counts runes
    size_t runes = 0, end = 0;
    for (; end < text.size(); ++end) {
      if ((static_cast<unsigned char>(text[end]) & 0xC0) != 0x80 &&
          runes++ == static_cast<size_t>(spec.precision)) {
        break;
      }
    }
    text = text.substr(0, end);
  }
  out += spec.verb == 'q' ? QuoteGo(text) : std::string(text);
  Pad(out, start, spec, Fill::kZeros);
}

void FormatLabels(const Spec& spec, const tsdb::Labels& labels, std::string& out) {
  out += "map[";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ' ';
    FormatString(spec, labels[i].first, out);
    out += ':';
    FormatString(spec, labels[i].second, out);
  }
  out += ']';
}

Status FormatValue(const Spec& spec, const Value& value, std::string& out, int depth) {
  const char verb = spec.verb;
  const bool string_verb = verb == 'v' || verb == 's' || verb == 'q' || verb == 'x' || verb == 'X';
  switch (value.kind) {
    case Kind::kNil:
      if (verb == 'v') {
        const size_t start = out.size();
        out += "<nil>";
        Pad(out, start, spec, Fill::kZeros);
      } else {
        BadVerb(spec, value, out, depth);
      }
      return OkStatus();
    case Kind::kBool:
      if (verb == 'v' || verb == 't') {
        const size_t start = out.size();
        out += value.boolean ? "true" : "false";
        Pad(out, start, spec, Fill::kZeros);
      } else {
        BadVerb(spec, value, out, depth);
      }
      return OkStatus();
    case Kind::kInt:
      if (std::string_view("vdxXobcq").find(verb) != std::string_view::npos) {
        FormatInt(spec, value.integer, out);
      } else {
        BadVerb(spec, value, out, depth);
      }
      return OkStatus();
    case Kind::kFloat:
      if (std::string_view("veEfFgG").find(verb) != std::string_view::npos) {
        FormatFloat(spec, value.number, out);
      } else if (verb == 'x' || verb == 'X' || verb == 'b') {
        return Status::Error(fmt::format("printf verb %{} of a float64 is not supported", verb));
      } else {
        BadVerb(spec, value, out, depth);
      }
      return OkStatus();
    case Kind::kString:
    case Kind::kHtml:
      if (string_verb) {
        FormatString(spec, value.text, out);
      } else {
        BadVerb(spec, value, out, depth);
      }
      return OkStatus();
    case Kind::kTime: {
      std::string text;
      AppendTime(value.integer, text);
      if (!string_verb) return Status::Error(fmt::format("printf verb %{} of a time", verb));
      FormatString(spec, text, out);
      return OkStatus();
    }
    case Kind::kLabels: FormatLabels(spec, value.labels(), out); return OkStatus();
    case Kind::kMap:
      out += "map[";
      for (size_t i = 0; i < value.map().size(); ++i) {
        if (i > 0) out += ' ';
        FormatString(spec, value.map()[i].first, out);
        out += ':';
        if (Status s = FormatValue(spec, value.map()[i].second, out, depth + 1); !s.ok()) return s;
      }
      out += ']';
      return OkStatus();
    case Kind::kSample:
      if (value.sample() == nullptr || depth > 0) return AppendV(value, out, depth == 0);
      out += "&{";
      FormatLabels(spec, value.sample()->labels, out);
      out += ' ';
      if (Status s = FormatValue(spec, Value::Float(value.sample()->value), out, 1); !s.ok()) {
        return s;
      }
      out += '}';
      return OkStatus();
    case Kind::kSamples:
    case Kind::kRoot: {
      if (verb != 'v' && verb != 's') {
        return Status::Error(fmt::format("printf verb %{} of a {} is not supported", verb,
                                         TypeName(value)));
      }
      return AppendV(value, out, depth == 0);
    }
  }
  return OkStatus();
}

// Reads the flags, width and precision after a '%' at format[i]; stops at the verb.
Status ReadSpec(std::string_view format, size_t& i, Spec& spec) {
  for (; i < format.size(); ++i) {
    const char c = format[i];
    if (c == '-') {
      spec.minus = true;
      spec.zero = false;
    } else if (c == '0') {
      spec.zero = !spec.minus;
    } else if (c == '+') {
      spec.plus = true;
    } else if (c == ' ') {
      spec.space = true;
    } else if (c == '#' || c == '*' || c == '[') {
      return Status::Error(fmt::format("printf: '{}' in a format is not supported", c));
    } else {
      break;
    }
  }
  const auto read_number = [&](int& into) {
    if (i < format.size() && format[i] >= '0' && format[i] <= '9') {
      into = 0;
      while (i < format.size() && format[i] >= '0' && format[i] <= '9') {
        into = std::min(into * 10 + (format[i++] - '0'), 1000000);
      }
    }
  };
  read_number(spec.width);
  if (i + 1 < format.size() && format[i] == '.') {
    ++i;
    if (format[i] == '*' || format[i] == '[') {
      return Status::Error(fmt::format("printf: '{}' in a format is not supported", format[i]));
    }
    spec.precision = 0;
    read_number(spec.precision);
  }
  if (i < format.size() && format[i] != '%' &&
      std::string_view("vsqdxXobcfFeEgGt").find(format[i]) == std::string_view::npos) {
    return Status::Error(fmt::format("printf: verb %{} is not supported", format[i]));
  }
  return OkStatus();
}

}  // namespace

Status CheckFormat(std::string_view format) {
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') continue;
    Spec spec;
    if (Status status = ReadSpec(format, ++i, spec); !status.ok()) return status;
  }
  return OkStatus();
}

StatusOr<std::string> Sprintf(std::string_view format, const std::vector<Value>& args) {
  std::string out;
  size_t next_arg = 0;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') {
      out.push_back(format[i]);
      continue;
    }
    Spec spec;
    if (Status status = ReadSpec(format, ++i, spec); !status.ok()) return status;
    if (i >= format.size()) {
      out += "%!(NOVERB)";
      break;
    }
    spec.verb = format[i];
    if (spec.verb == '%') {
      out += '%';
    } else if (next_arg >= args.size()) {
      fmt::format_to(std::back_inserter(out), "%!{}(MISSING)", spec.verb);
    } else if (Status status = FormatValue(spec, args[next_arg++], out, 0); !status.ok()) {
      return status;
    }
  }
  if (next_arg < args.size()) {
    out += "%!(EXTRA ";
    for (size_t i = next_arg; i < args.size(); ++i) {
      if (i > next_arg) out += ", ";
      if (args[i].is_nil()) {
        out += "<nil>";
        continue;
      }
      out += TypeName(args[i]);
      out += '=';
      if (Status status = FormatValue(Spec{}, args[i], out, 0); !status.ok()) return status;
    }
    out += ')';
  }
  return out;
}

Status Sprint(const std::vector<Value>& args, bool line, std::string& out) {
  // Operands print as {{.}} does (nil as "<no value>", which then counts as a string); Sprint
  // puts spaces between operands when neither is a string, Sprintln between all.
  bool previous_string = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const bool is_string = args[i].is_stringish() || args[i].is_nil();
    if (i > 0 && (line || (!is_string && !previous_string))) out += ' ';
    if (Status status = AppendPrint(args[i], out); !status.ok()) return status;
    previous_string = is_string;
  }
  if (line) out += '\n';
  return OkStatus();
}

std::string FormatG4(double value) {
  std::string out;
  Spec spec;
  spec.verb = 'g';
  spec.precision = 4;
  FormatFloat(spec, value, out);
  return out;
}

}  // namespace mingus::collector::rules::detail
