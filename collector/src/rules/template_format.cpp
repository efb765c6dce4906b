// Go's fmt as far as alert templates use it: Sprintf's verbs %v %s %q %d %x %X %o %b %c %e %E
// %f %F %g %G %t %% with the flags - + space 0, width and precision; Sprint and Sprintln.
#include <fmt/format.h>

#include <cmath>
#include <cstdio>

#include "detail/template_program.h"

namespace mingus::collector::rules::detail {

namespace {

struct Spec {
  bool minus = false, plus = false, zero = false, space = false, sharp = false;
  bool plus_v = false;  // %+v: struct field names
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

std::string QuoteRune(int64_t value) {
  const bool valid = value >= 0 && value <= 0x10FFFF && !(value >= 0xD800 && value < 0xE000);
  const uint32_t rune = valid ? static_cast<uint32_t>(value) : 0xFFFD;
  std::string out = "'";
  if (utf8::IsPrintableRune(rune) && rune != '\'' && rune != '\\') {
    AppendUtf8(rune, out);
  } else {
    utf8::AppendEscapedRune(rune, '\'', out);
  }
  return out + "'";
}

}  // namespace

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
  const bool valid = value >= 0 && value <= 0x10FFFF && !(value >= 0xD800 && value < 0xE000);
  if (spec.verb == 'c' || spec.verb == 'q' || spec.verb == 'U') {
    if (spec.verb == 'q') {
      out += QuoteRune(value);
    } else if (spec.verb == 'c') {
      AppendUtf8(valid ? static_cast<uint32_t>(value) : 0xFFFD, out);
    } else {
      fmt::format_to(std::back_inserter(out), "U+{:04X}", static_cast<uint64_t>(value));
    }
    Pad(out, start, spec, Fill::kZeros);
    return;
  }
  // fmt's fmtInteger: %03d zero-extends the digits to the width less the sign, %.3d to the
  // precision (then the width pads with spaces); the # prefix comes on top.
  const int base = spec.verb == 'x' || spec.verb == 'X'   ? 16
                   : spec.verb == 'o' || spec.verb == 'O' ? 8
                   : spec.verb == 'b'                     ? 2
                                                          : 10;
  const char* digit_chars = spec.verb == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
  const bool negative = value < 0;
  int precision = spec.precision;
  if (precision < 0 && spec.zero && spec.width > 0 && !spec.minus) {
    precision = spec.width - (negative || spec.plus || spec.space ? 1 : 0);
  }
  uint64_t magnitude = negative ? 0 - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
  std::string digits;
  while (magnitude > 0) {
    digits.push_back(digit_chars[magnitude % static_cast<uint64_t>(base)]);
    magnitude /= static_cast<uint64_t>(base);
  }
  if (digits.empty() && !(spec.precision == 0 && value == 0)) digits.push_back('0');
  while (precision > 0 && digits.size() < static_cast<size_t>(precision)) digits.push_back('0');
  if (spec.verb == 'O') {
    digits += "o0";
  } else if (spec.sharp && base == 16) {
    digits += spec.verb == 'X' ? "X0" : "x0";
  } else if (spec.sharp && base == 8 && digits.back() != '0') {
    digits.push_back('0');
  }
  if (negative) {
    digits.push_back('-');
  } else if (spec.plus) {
    digits.push_back('+');
  } else if (spec.space) {
    digits.push_back(' ');
  }
  out.append(digits.rbegin(), digits.rend());
  Pad(out, start, spec, Fill::kSpaces);
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

// %x of a float: C's %a with Go's two-digit exponent ("0x1.8p+01").
void FormatHexFloat(const Spec& spec, double value, std::string& out) {
  const size_t start = out.size();
  if (std::isnan(value) || std::isinf(value)) {
    Spec g = spec;
    g.verb = 'g';
    FormatFloat(g, value, out);
    return;
  }
  if (spec.plus && !std::signbit(value)) {
    out += '+';
  } else if (spec.space && !std::signbit(value)) {
    out += ' ';
  }
  char buffer[64];
  if (spec.precision >= 0) {
    std::snprintf(buffer, sizeof buffer, spec.verb == 'X' ? "%.*A" : "%.*a", spec.precision, value);
  } else {
    std::snprintf(buffer, sizeof buffer, spec.verb == 'X' ? "%A" : "%a", value);
  }
  std::string text = buffer;
  const size_t p = text.find_first_of("pP");
  if (p != std::string::npos && text.size() - p == 3) text.insert(p + 2, 1, '0');  // p+1 -> p+01
  out += text;
  Pad(out, start, spec, Fill::kZerosAfterSign);
}

void FormatString(const Spec& spec, std::string_view text, std::string& out) {
  const size_t start = out.size();
  if (spec.verb == 'x' || spec.verb == 'X') {
    if (spec.precision >= 0) text = text.substr(0, static_cast<size_t>(spec.precision));
    const char* digits = spec.verb == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
    for (size_t i = 0; i < text.size(); ++i) {
      if (spec.space && i > 0) out += ' ';
      if (spec.sharp && (i == 0 || spec.space)) out += spec.verb == 'X' ? "0X" : "0x";
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
  out += spec.verb == 'q' ? utf8::QuoteGo(text) : std::string(text);
  Pad(out, start, spec, Fill::kZeros);
}

void FormatLabels(const Spec& spec, const tsdb::Labels& labels, std::string& out) {
  out += "map[";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ' ';
    (void)FormatValue(spec, Value::Borrowed(labels[i].first), out, 1);
    out += ':';
    (void)FormatValue(spec, Value::Borrowed(labels[i].second), out, 1);
  }
  out += ']';
}

Status FormatValue(const Spec& spec, const Value& value, std::string& out, int depth) {
  const char verb = spec.verb;
  const bool string_verb = verb == 'v' || verb == 's' || verb == 'q' || verb == 'x' || verb == 'X';
  if (verb == 'T') {
    FormatString(spec, TypeName(value), out);
    return OkStatus();
  }
  if (spec.sharp && value.kind != Kind::kInt &&
      !(value.is_stringish() && (verb == 'x' || verb == 'X'))) {
    return Status::Error(
        fmt::format("printf flag # with %{} of a {} is not supported", verb, TypeName(value)));
  }
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
      if (std::string_view("vdxXoObcqU").find(verb) != std::string_view::npos) {
        FormatInt(spec, value.integer, out);
      } else {
        BadVerb(spec, value, out, depth);
      }
      return OkStatus();
    case Kind::kFloat:
      if (std::string_view("veEfFgG").find(verb) != std::string_view::npos) {
        FormatFloat(spec, value.number, out);
      } else if ((verb == 'x' || verb == 'X') && std::fpclassify(value.number) != FP_SUBNORMAL) {
        FormatHexFloat(spec, value.number, out);
      } else if (verb == 'x' || verb == 'X' || verb == 'b') {
        return Status::Error(fmt::format("printf verb %{} of this float64 is not supported", verb));
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
    case Kind::kLabels:
      FormatLabels(spec, value.labels(), out);
      return OkStatus();
    case Kind::kMap:
      out += "map[";
      for (size_t i = 0; i < value.map().size(); ++i) {
        if (i > 0) out += ' ';
        (void)FormatValue(spec, Value::Borrowed(value.map()[i].first), out, depth + 1);
        out += ':';
        if (Status s = FormatValue(spec, value.map()[i].second, out, depth + 1); !s.ok()) return s;
      }
      out += ']';
      return OkStatus();
    case Kind::kSample: {
      if (value.sample() == nullptr || depth > 0) return AppendV(value, out, depth == 0);
      out += "&{";
      if (spec.plus_v) out += "Labels:";
      FormatLabels(spec, value.sample()->labels, out);
      out += spec.plus_v ? " Value:" : " ";
      (void)FormatValue(spec, Value::Float(value.sample()->value), out, 1);
      out += '}';
      return OkStatus();
    }
    case Kind::kRoot: {
      const TemplateData& data = value.root();
      out += spec.plus_v ? "{Labels:" : "{";
      FormatLabels(spec, data.labels != nullptr ? *data.labels : tsdb::Labels{}, out);
      out += spec.plus_v ? " ExternalLabels:" : " ";
      FormatLabels(spec, data.external_labels != nullptr ? *data.external_labels : tsdb::Labels{},
                   out);
      out += spec.plus_v ? " ExternalURL:" : " ";
      (void)FormatValue(spec, Value::Borrowed(data.external_url), out, 1);
      out += spec.plus_v ? " Value:" : " ";
      (void)FormatValue(spec, Value::Float(data.value), out, 1);
      out += '}';
      return OkStatus();
    }
    case Kind::kSamples:
      return AppendV(value, out, depth == 0);
    case Kind::kKV:
      FormatLabels(spec, value.labels(), out);
      return OkStatus();
    case Kind::kStrings:
    case Kind::kAmData:
    case Kind::kAlerts:
    case Kind::kAlert:
    case Kind::kPairs:
    case Kind::kPair:
      // Alertmanager's composite values: %v as {{.}} prints them; other verbs are rare enough.
      if (verb != 'v' || spec.plus_v || spec.minus || spec.width >= 0) {
        return Status::Error(
            fmt::format("printf verb %{} of a {} is not supported", verb, TypeName(value)));
      }
      return AppendV(value, out, depth == 0);
  }
  return OkStatus();
}

// Reads the flags, width and precision after a '%' at format[i]; stops at the verb. Refuses
// what is not implemented (Go prints every other verb as a bad verb: %!z(int=1)).
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
    } else if (c == '#') {
      spec.sharp = true;
    } else {
      break;
    }
  }
  bool too_large = false;
  const auto read_number = [&](int& into) {
    if (i < format.size() && format[i] >= '0' && format[i] <= '9') {
      into = 0;
      while (i < format.size() && format[i] >= '0' && format[i] <= '9') {
        into = std::min(into * 10 + (format[i++] - '0'), 1000000);
        too_large = too_large || into > 10000;
      }
    }
  };
  const auto refuse = [](char c) {
    return Status::Error(fmt::format("printf: '{}' in a format is not supported", c));
  };
  if (i < format.size() && (format[i] == '*' || format[i] == '[')) return refuse(format[i]);
  read_number(spec.width);
  if (i + 1 < format.size() && format[i] == '.') {
    ++i;
    if (format[i] == '*' || format[i] == '[') return refuse(format[i]);
    spec.precision = 0;
    read_number(spec.precision);
  }
  if (too_large) return Status::Error("printf: a width or precision above 10000 is not supported");
  if (i >= format.size()) return OkStatus();
  const char verb = format[i];
  if (verb == 'p' || verb == '[' || static_cast<unsigned char>(verb) >= 0x80) {
    return Status::Error(fmt::format("printf: verb %{} is not supported", verb));
  }
  if (spec.sharp && std::string_view("xXoO").find(verb) == std::string_view::npos) {
    return Status::Error(fmt::format("printf: flag # with %{} is not supported", verb));
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
    if (spec.verb == 'v') {  // %+v names struct fields rather than signing numbers
      spec.plus_v = spec.plus;
      spec.plus = false;
    }
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

Status Sprint(const std::vector<Value>& args, SprintMode mode, std::string& out) {
  // fmt.Sprint puts spaces between operands when neither is a string, Sprintln between all.
  // html, js and urlquery first make each operand printable as {{.}} does: nil becomes the
  // string "<no value>", a sample loses fmt's "&".
  const bool printable = mode == SprintMode::kPrintable;
  bool previous_string = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const bool is_string = args[i].is_stringish() || (printable && args[i].is_nil());
    if (i > 0 && (mode == SprintMode::kLine || (!is_string && !previous_string))) out += ' ';
    Status status = printable ? AppendPrint(args[i], out) : FormatValue(Spec{}, args[i], out, 0);
    if (!status.ok()) return status;
    previous_string = is_string;
  }
  if (mode == SprintMode::kLine) out += '\n';
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
