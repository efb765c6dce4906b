// Prometheus' template functions (prometheus/template/template.go, v2.42), with the same output.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <locale.h>
#include <wctype.h>

#include <algorithm>
#include <cmath>

#include "detail/template_program.h"
#include "mingus/common/duration.h"

namespace mingus::collector::rules::detail {

namespace {

// convertToFloat: float64, int, or a string that strconv.ParseFloat reads.
StatusOr<double> ToFloat(const Value& value) {
  switch (value.kind) {
    case Kind::kFloat:
      return value.number;
    case Kind::kInt:
      return static_cast<double>(value.integer);
    case Kind::kString:
      return ParseFloatGo(value.text);
    default:
      return Status::Error(fmt::format("can't convert {} to float", TypeName(value)));
  }
}

std::string Humanize(double v) {
  if (v == 0 || std::isnan(v) || std::isinf(v)) return FormatG4(v);
  const char* prefix = "";
  if (std::abs(v) >= 1) {
    for (const char* p : {"k", "M", "G", "T", "P", "E", "Z", "Y"}) {
      if (std::abs(v) < 1000) break;
      prefix = p;
      v /= 1000;
    }
  } else {
    for (const char* p : {"m", "u", "n", "p", "f", "a", "z", "y"}) {
      if (std::abs(v) >= 1) break;
      prefix = p;
      v *= 1000;
    }
  }
  return FormatG4(v) + prefix;
}

std::string Humanize1024(double v) {
  if (std::abs(v) <= 1 || std::isnan(v) || std::isinf(v)) return FormatG4(v);
  const char* prefix = "";
  for (const char* p : {"ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"}) {
    if (std::abs(v) < 1024) break;
    prefix = p;
    v /= 1024;
  }
  return FormatG4(v) + prefix;
}

std::string HumanizeDuration(double v) {
  if (std::isnan(v) || std::isinf(v)) return FormatG4(v);
  if (v == 0) return FormatG4(v) + "s";
  if (std::abs(v) >= 1) {
    const char* sign = v < 0 ? "-" : "";
    v = std::abs(v);
    // int64(v) of a value past the range is MinInt64 on amd64, where Prometheus runs.
    const int64_t duration = v >= 9223372036854775807.0 ? INT64_MIN : static_cast<int64_t>(v);
    const int64_t seconds = duration % 60, minutes = duration / 60 % 60;
    const int64_t hours = duration / 3600 % 24, days = duration / 86400;
    if (days != 0) return fmt::format("{}{}d {}h {}m {}s", sign, days, hours, minutes, seconds);
    if (hours != 0) return fmt::format("{}{}h {}m {}s", sign, hours, minutes, seconds);
    if (minutes != 0) return fmt::format("{}{}m {}s", sign, minutes, seconds);
    return sign + FormatG4(v) + "s";
  }
  const char* prefix = "";
  for (const char* p : {"m", "u", "n", "p", "f", "a", "z", "y"}) {
    if (std::abs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return FormatG4(v) + prefix + "s";
}

// floatToTime: seconds to the millisecond Prometheus keeps (model.TimeFromUnixNano).
StatusOr<int64_t> FloatToTimeMs(double v) {
  if (std::isnan(v) || std::isinf(v)) return Status::Error("value is NaN or Inf");
  const double nanos = v * 1e9;
  if (nanos > 9223372036854775807.0 || nanos < -9223372036854775808.0) {
    std::string text;
    AppendFloatV(v, text);
    return Status::Error(fmt::format(
        "{} cannot be represented as a nanoseconds timestamp since it overflows int64", text));
  }
  // int64(2^63) is MinInt64 on amd64, where Prometheus runs.
  const int64_t ns = nanos >= 9223372036854775807.0 ? INT64_MIN : static_cast<int64_t>(nanos);
  return ns / 1000000;
}

locale_t Utf8Locale() {
  static const locale_t locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(0));
  return locale;
}

// unicode.IsSpace beyond ASCII.
bool IsUnicodeSpace(uint32_t r) {
  return r == 0x85 || r == 0xA0 || r == 0x1680 || (r >= 0x2000 && r <= 0x200A) || r == 0x2028 ||
         r == 0x2029 || r == 0x202F || r == 0x205F || r == 0x3000;
}

// strings.Title's isSeparator.
bool IsSeparator(uint32_t r) {
  if (r < 0x80) return !(std::isalnum(static_cast<int>(r)) || r == '_');
  if (iswalnum_l(static_cast<wint_t>(r), Utf8Locale())) return false;
  return IsUnicodeSpace(r);
}

uint32_t ToTitle(uint32_t r) {
  // The Latin digraphs, whose title case differs from their upper case.
  for (const uint32_t first : {0x1C4u, 0x1C7u, 0x1CAu}) {
    if (r >= first && r < first + 3) return first + 1;
  }
  if (r >= 0x1F1 && r <= 0x1F3) return 0x1F2;
  return static_cast<uint32_t>(towupper_l(static_cast<wint_t>(r), Utf8Locale()));
}

enum class Case : uint8_t { kUpper, kLower, kTitle };

// strings.ToUpper / ToLower / Title: rune by rune, an invalid byte becoming U+FFFD.
StatusOr<Value> MapCase(const Value& value, Case mode) {
  const std::string_view text = value.text;
  const bool ascii = std::all_of(text.begin(), text.end(),
                                 [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (!ascii && Utf8Locale() == static_cast<locale_t>(0)) {
    return Status::Error("case mapping of non-ASCII text needs the C.UTF-8 locale");
  }
  std::string out;
  out.reserve(text.size());
  uint32_t previous = ' ';
  for (size_t i = 0; i < text.size();) {
    size_t length = 0;
    const uint32_t r = utf8::DecodeRune(text, i, length);
    i += std::max<size_t>(length, 1);
    uint32_t mapped = r;
    if (mode == Case::kTitle) {
      if (IsSeparator(previous))
        mapped = r < 0x80 ? static_cast<uint32_t>(std::toupper(static_cast<int>(r))) : ToTitle(r);
      previous = r;
    } else if (r < 0x80) {
      mapped = static_cast<uint32_t>(mode == Case::kUpper ? std::toupper(static_cast<int>(r))
                                                          : std::tolower(static_cast<int>(r)));
    } else {
      const auto wide = static_cast<wint_t>(r);
      mapped = static_cast<uint32_t>(mode == Case::kUpper ? towupper_l(wide, Utf8Locale())
                                                          : towlower_l(wide, Utf8Locale()));
    }
    AppendUtf8(mapped, out);
  }
  return Value::String(std::move(out));
}

// net.SplitHostPort; false where Go returns an error.
bool SplitHostPort(std::string_view hostport, std::string_view& host, std::string_view& port) {
  const size_t colon = hostport.rfind(':');
  if (colon == std::string_view::npos) return false;
  size_t j = 0, k = 0;
  if (!hostport.empty() && hostport[0] == '[') {
    const size_t end = hostport.find(']');
    if (end == std::string_view::npos || end + 1 != colon) return false;
    host = hostport.substr(1, end - 1);
    j = 1;
    k = end + 1;
  } else {
    host = hostport.substr(0, colon);
    if (host.find(':') != std::string_view::npos) return false;
  }
  if (hostport.find('[', j) != std::string_view::npos) return false;
  if (hostport.find(']', k) != std::string_view::npos) return false;
  port = hostport.substr(colon + 1);
  return true;
}

bool IsIp(std::string_view host) {
  const std::string text(host);
  unsigned char buffer[16];
  return inet_pton(AF_INET, text.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

std::string StripDomain(std::string_view hostport) {
  std::string_view host, port;
  if (!SplitHostPort(hostport, host, port)) {
    host = hostport;
    port = {};
  }
  if (IsIp(host)) return std::string(hostport);
  host = host.substr(0, host.find('.'));
  if (port.empty()) return std::string(host);
  return host.find(':') != std::string_view::npos ? fmt::format("[{}]:{}", host, port)
                                                  : fmt::format("{}:{}", host, port);
}

// url.URL's Path (unescaped) of the external URL.
std::string UrlPath(std::string_view url) {
  url = url.substr(0, url.find_first_of("?#"));
  if (const size_t scheme = url.find("://"); scheme != std::string_view::npos) {
    const size_t slash = url.find('/', scheme + 3);
    url = slash == std::string_view::npos ? std::string_view() : url.substr(slash);
  }
  std::string out;
  for (size_t i = 0; i < url.size(); ++i) {
    if (url[i] == '%' && i + 2 < url.size() &&
        std::isxdigit(static_cast<unsigned char>(url[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(url[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(url.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(url[i]);
    }
  }
  return out;
}

// regexp's extract: a group name or number after '$' ("1", "name", "{1}", "{name}").
bool ExtractGroupName(std::string_view text, std::string_view& name, size_t& consumed) {
  const bool brace = !text.empty() && text[0] == '{';
  size_t i = brace ? 1 : 0;
  const size_t start = i;
  while (i < text.size()) {
    size_t length = 0;
    const uint32_t r = utf8::DecodeRune(text, i, length);
    const bool word = r < 0x80 ? (std::isalnum(static_cast<int>(r)) || r == '_')
                               : length > 0 && Utf8Locale() != static_cast<locale_t>(0) &&
                                     iswalnum_l(static_cast<wint_t>(r), Utf8Locale());
    if (!word) break;
    i += length;
  }
  if (i == start) return false;
  name = text.substr(start, i - start);
  if (brace) {
    if (i >= text.size() || text[i] != '}') return false;
    ++i;
  }
  consumed = i;
  return true;
}

// regexp's Expand of a replacement template for one match.
void Expand(const re2::RE2& regex, std::string_view replacement, const re2::StringPiece* groups,
            int group_count, std::string& out) {
  while (!replacement.empty()) {
    const size_t dollar = replacement.find('$');
    out.append(replacement.substr(0, dollar));
    if (dollar == std::string_view::npos) return;
    replacement.remove_prefix(dollar + 1);
    if (!replacement.empty() && replacement[0] == '$') {
      out += '$';
      replacement.remove_prefix(1);
      continue;
    }
    std::string_view name;
    size_t consumed = 0;
    if (!ExtractGroupName(replacement, name, consumed)) {
      out += '$';
      continue;
    }
    replacement.remove_prefix(consumed);
    int number = 0;
    for (const char c : name) {
      if (c < '0' || c > '9' || number >= 100000000) {
        number = -1;
        break;
      }
      number = number * 10 + (c - '0');
    }
    if (name.size() > 1 && name[0] == '0') number = -1;
    if (number < 0) {
      const auto& names = regex.NamedCapturingGroups();
      const auto it = names.find(std::string(name));
      number = it == names.end() ? group_count : it->second;
    }
    if (number < group_count && groups[number].data() != nullptr) {
      out.append(groups[number].data(), groups[number].size());
    }
  }
}

StatusOr<Value> CallRegex(const FuncInfo& func, const std::vector<Value>& args,
                          std::shared_ptr<const re2::RE2> regex) {
  if (regex == nullptr) {
    auto compiled = CompileRegex(args[0].text);
    if (!compiled.ok()) {
      if (func.func == Func::kMatch) return compiled.status();
      return Status::Error(
          fmt::format("regexp: Compile(`{}`): {}", args[0].text, compiled.message()));
    }
    regex = std::move(*compiled);
  }
  const std::string_view text = args[func.func == Func::kMatch ? 1 : 2].text;
  const re2::StringPiece input(text.data(), text.size());
  if (func.func == Func::kMatch) return Value::Bool(re2::RE2::PartialMatch(input, *regex));
  // Regexp.ReplaceAllString: successive non-overlapping matches; an empty match right after a
  // match is not replaced.
  const std::string_view replacement = args[1].text;
  const int group_count = regex->NumberOfCapturingGroups() + 1;
  std::vector<re2::StringPiece> groups(static_cast<size_t>(group_count));
  std::string out;
  size_t last_end = 0, search = 0;
  while (search <= text.size()) {
    if (!regex->Match(input, search, text.size(), re2::RE2::UNANCHORED, groups.data(),
                      group_count)) {
      break;
    }
    const auto begin = static_cast<size_t>(groups[0].data() - text.data());
    const size_t end = begin + groups[0].size();
    out.append(text.substr(last_end, begin - last_end));
    if (end > last_end || begin == 0) Expand(*regex, replacement, groups.data(), group_count, out);
    last_end = end;
    size_t width = 0;
    if (search < text.size()) {
      utf8::DecodeRune(text, search, width);
      width = std::max<size_t>(width, 1);
    }
    if (search + width > end) {
      search += width;
    } else if (search + 1 > end) {
      ++search;
    } else {
      search = end;
    }
  }
  out.append(text.substr(last_end));
  return Value::String(std::move(out));
}

}  // namespace

StatusOr<std::shared_ptr<const re2::RE2>> CompileRegex(std::string_view pattern) {
  RE2::Options options;
  options.set_log_errors(false);
  auto regex =
      std::make_shared<const re2::RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!regex->ok()) return Status::Error("error parsing regexp: " + regex->error());
  return regex;
}

StatusOr<Value> CallPrometheus(const FuncInfo& func, std::vector<Value>& args,
                               const CallContext& context) {
  switch (func.func) {
    case Func::kHumanize:
    case Func::kHumanize1024:
    case Func::kHumanizeDuration:
    case Func::kHumanizePercentage:
    case Func::kHumanizeTimestamp:
    case Func::kToTime: {
      auto v = ToFloat(args[0]);
      if (!v.ok()) return v.status();
      switch (func.func) {
        case Func::kHumanize:
          return Value::String(Humanize(*v));
        case Func::kHumanize1024:
          return Value::String(Humanize1024(*v));
        case Func::kHumanizeDuration:
          return Value::String(HumanizeDuration(*v));
        case Func::kHumanizePercentage:
          return Value::String(FormatG4(*v * 100) + "%");
        default:
          break;
      }
      if (func.func == Func::kHumanizeTimestamp && (std::isnan(*v) || std::isinf(*v))) {
        return Value::String(FormatG4(*v));
      }
      auto ms = FloatToTimeMs(*v);
      if (!ms.ok()) return ms.status();
      if (func.func == Func::kToTime) return Value::Time(*ms);
      std::string text;
      AppendTime(*ms, text);
      return Value::String(std::move(text));
    }
    case Func::kQuery: {
      if (!context.data.query) return Status::Error("queries are not available here");
      auto result = context.data.query(args[0].text);
      if (!result.ok()) return result.status();
      return Value::Samples(
          std::make_shared<const std::vector<TemplateSample>>(std::move(*result)));
    }
    case Func::kFirst:
      if (args[0].is_nil() || args[0].samples().empty()) {
        return Status::Error("first() called on vector with no elements");
      }
      return Value::Sample(&args[0].samples()[0], args[0].owner);
    case Func::kLabel:
    case Func::kValue:
    case Func::kStrvalue: {
      const Value& sample = args[func.func == Func::kLabel ? 1 : 0];
      if (sample.is_nil() || sample.sample() == nullptr) {
        return Status::Error("runtime error: invalid memory address or nil pointer dereference");
      }
      if (func.func == Func::kValue) return Value::Float(sample.sample()->value);
      Value out = Value::Borrowed(LabelValue(
          sample.sample()->labels, func.func == Func::kLabel ? args[0].text : "__value__"));
      out.owner = sample.owner;
      return out;
    }
    case Func::kArgs: {
      ValueMap entries;
      for (size_t i = 0; i < args.size(); ++i)
        entries.emplace_back(fmt::format("arg{}", i), args[i]);
      return Value::Map(std::move(entries));
    }
    case Func::kMatch:
    case Func::kReReplaceAll:
      return CallRegex(func, args, context.command.regex);
    case Func::kSafeHtml: {
      Value out = args[0];
      out.kind = Kind::kHtml;
      return out;
    }
    case Func::kTitle:
      return MapCase(args[0], Case::kTitle);
    case Func::kToUpper:
      return MapCase(args[0], Case::kUpper);
    case Func::kToLower:
      return MapCase(args[0], Case::kLower);
    case Func::kGraphLink:
    case Func::kTableLink: {
      std::string out = "/graph?g0.expr=";
      QueryEscape(args[0].text, out);
      out += func.func == Func::kGraphLink ? "&g0.tab=0" : "&g0.tab=1";
      return Value::String(std::move(out));
    }
    case Func::kSortByLabel: {
      if (args[1].is_nil()) return args[1];
      auto sorted = std::make_shared<std::vector<TemplateSample>>(args[1].samples());
      const std::string_view label = args[0].text;
      std::stable_sort(sorted->begin(), sorted->end(), [label](const auto& a, const auto& b) {
        return LabelValue(a.labels, label) < LabelValue(b.labels, label);
      });
      return Value::Samples(std::move(sorted));
    }
    case Func::kStripPort: {
      std::string_view host, port;
      if (!SplitHostPort(args[0].text, host, port)) return args[0];
      Value out = Value::Borrowed(host);
      out.owner = args[0].owner;
      return out;
    }
    case Func::kStripDomain:
      return Value::String(StripDomain(args[0].text));
    case Func::kPathPrefix:
      return Value::String(UrlPath(context.data.external_url));
    case Func::kExternalUrl:
      return Value::Borrowed(context.data.external_url);
    case Func::kParseDuration: {
      const std::string_view text = args[0].text;
      if (text.empty()) return Status::Error("empty duration string");
      auto duration = ParseDuration(text);
      if (!duration.ok()) {
        if (duration.message().find("too large") != std::string::npos) {
          return Status::Error("duration out of range");
        }
        return Status::Error(fmt::format("not a valid duration string: {}", utf8::QuoteGo(text)));
      }
      return Value::Float(static_cast<double>(duration->count()) / 1000.0);
    }
    default:
      break;
  }
  return Status::Error("internal error: not a Prometheus function");
}

}  // namespace mingus::collector::rules::detail
