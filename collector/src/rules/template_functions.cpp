// Go's text/template builtins (text/template/funcs.go) and the table of every function a
// template may call; Prometheus' own functions are in template_prometheus.cpp.
#include <fmt/format.h>

#include "detail/template_program.h"
#include "mingus/common/text.h"

namespace mingus::collector::rules::detail {

namespace {

constexpr Param A = Param::kAny, S = Param::kString, P = Param::kSample, Q = Param::kSamples,
                L = Param::kStrings;
constexpr uint8_t kRuleOnly = 1 << static_cast<int>(Dialect::kRule);
constexpr uint8_t kNotificationOnly = 1 << static_cast<int>(Dialect::kNotification);
constexpr uint8_t kBoth = kRuleOnly | kNotificationOnly;

constexpr FuncInfo kFuncs[] = {
    {"and", Func::kAnd, 1, -1, {A, A, A}, kBoth},
    {"or", Func::kOr, 1, -1, {A, A, A}, kBoth},
    {"not", Func::kNot, 1, 1, {A, A, A}, kBoth},
    {"eq", Func::kEq, 1, -1, {A, A, A}, kBoth},
    {"ne", Func::kNe, 2, 2, {A, A, A}, kBoth},
    {"lt", Func::kLt, 2, 2, {A, A, A}, kBoth},
    {"le", Func::kLe, 2, 2, {A, A, A}, kBoth},
    {"gt", Func::kGt, 2, 2, {A, A, A}, kBoth},
    {"ge", Func::kGe, 2, 2, {A, A, A}, kBoth},
    {"len", Func::kLen, 1, 1, {A, A, A}, kBoth},
    {"index", Func::kIndex, 1, -1, {A, A, A}, kBoth},
    {"print", Func::kPrint, 0, -1, {A, A, A}, kBoth},
    {"printf", Func::kPrintf, 1, -1, {S, A, A}, kBoth},
    {"println", Func::kPrintln, 0, -1, {A, A, A}, kBoth},
    {"html", Func::kHtml, 0, -1, {A, A, A}, kBoth},
    {"js", Func::kJs, 0, -1, {A, A, A}, kBoth},
    {"urlquery", Func::kUrlquery, 0, -1, {A, A, A}, kBoth},
    {"slice", Func::kSlice, 1, -1, {A, A, A}, kBoth},
    {"query", Func::kQuery, 1, 1, {S, A, A}, kRuleOnly},
    {"first", Func::kFirst, 1, 1, {Q, A, A}, kRuleOnly},
    {"label", Func::kLabel, 2, 2, {S, P, A}, kRuleOnly},
    {"value", Func::kValue, 1, 1, {P, A, A}, kRuleOnly},
    {"strvalue", Func::kStrvalue, 1, 1, {P, A, A}, kRuleOnly},
    {"args", Func::kArgs, 0, -1, {A, A, A}, kRuleOnly},
    {"reReplaceAll", Func::kReReplaceAll, 3, 3, {S, S, S}, kBoth},
    {"safeHtml", Func::kSafeHtml, 1, 1, {S, A, A}, kBoth},
    {"match", Func::kMatch, 2, 2, {S, S, A}, kBoth},
    {"title", Func::kTitle, 1, 1, {S, A, A}, kBoth},
    {"toUpper", Func::kToUpper, 1, 1, {S, A, A}, kBoth},
    {"toLower", Func::kToLower, 1, 1, {S, A, A}, kBoth},
    {"graphLink", Func::kGraphLink, 1, 1, {S, A, A}, kRuleOnly},
    {"tableLink", Func::kTableLink, 1, 1, {S, A, A}, kRuleOnly},
    {"sortByLabel", Func::kSortByLabel, 2, 2, {S, Q, A}, kRuleOnly},
    {"stripPort", Func::kStripPort, 1, 1, {S, A, A}, kRuleOnly},
    {"stripDomain", Func::kStripDomain, 1, 1, {S, A, A}, kRuleOnly},
    {"humanize", Func::kHumanize, 1, 1, {A, A, A}, kRuleOnly},
    {"humanize1024", Func::kHumanize1024, 1, 1, {A, A, A}, kRuleOnly},
    {"humanizeDuration", Func::kHumanizeDuration, 1, 1, {A, A, A}, kRuleOnly},
    {"humanizePercentage", Func::kHumanizePercentage, 1, 1, {A, A, A}, kRuleOnly},
    {"humanizeTimestamp", Func::kHumanizeTimestamp, 1, 1, {A, A, A}, kRuleOnly},
    {"toTime", Func::kToTime, 1, 1, {A, A, A}, kRuleOnly},
    {"pathPrefix", Func::kPathPrefix, 0, 0, {A, A, A}, kRuleOnly},
    {"externalURL", Func::kExternalUrl, 0, 0, {A, A, A}, kRuleOnly},
    {"parseDuration", Func::kParseDuration, 1, 1, {S, A, A}, kRuleOnly},
    // Alertmanager 0.25's DefaultFuncs besides the shared ones above (no humanize, date or tz).
    {"join", Func::kJoin, 2, 2, {S, L, A}, kNotificationOnly},
    {"stringSlice", Func::kStringSlice, 0, -1, {S, S, S}, kNotificationOnly},
};

// text/template's basicKind: what eq and lt can compare.
enum class Basic : uint8_t { kInvalid, kBool, kInt, kFloat, kString, kOther };

Basic BasicOf(const Value& value) {
  switch (value.kind) {
    case Kind::kNil:
      return Basic::kInvalid;
    case Kind::kBool:
      return Basic::kBool;
    case Kind::kInt:
      return Basic::kInt;
    case Kind::kFloat:
      return Basic::kFloat;
    case Kind::kString:
    case Kind::kHtml:
      return Basic::kString;
    default:
      return Basic::kOther;
  }
}

StatusOr<bool> Eq(const Value& a, const Value* others, size_t count) {
  if (count == 0) return Status::Error("missing argument for comparison");
  const Basic ka = BasicOf(a);
  for (size_t i = 0; i < count; ++i) {
    const Value& b = others[i];
    const Basic kb = BasicOf(b);
    bool truth = false;
    if (ka != kb) {
      if (ka != Basic::kInvalid && kb != Basic::kInvalid) {
        return Status::Error("incompatible types for comparison");
      }
    } else {
      switch (ka) {
        case Basic::kInvalid:
          truth = true;
          break;
        case Basic::kBool:
          truth = a.boolean == b.boolean;
          break;
        case Basic::kInt:
          truth = a.integer == b.integer;
          break;
        case Basic::kFloat:
          truth = a.number == b.number;
          break;
        case Basic::kString:
          truth = a.text == b.text;
          break;
        case Basic::kOther:
          if (a.kind == Kind::kSample && b.kind == Kind::kSample) {
            truth = a.sample() == b.sample();
          } else if (a.kind == Kind::kTime && b.kind == Kind::kTime) {
            truth = false;  // distinct *time.Time pointers
          } else {
            return Status::Error(fmt::format("non-comparable type {}", TypeName(b)));
          }
      }
    }
    if (truth) return true;
  }
  return false;
}

StatusOr<bool> Lt(const Value& a, const Value& b) {
  const Basic ka = BasicOf(a), kb = BasicOf(b);
  if (ka == Basic::kInvalid || ka == Basic::kOther || kb == Basic::kInvalid ||
      kb == Basic::kOther) {
    return Status::Error("invalid type for comparison");
  }
  if (ka != kb) return Status::Error("incompatible types for comparison");
  switch (ka) {
    case Basic::kInt:
      return a.integer < b.integer;
    case Basic::kFloat:
      return a.number < b.number;
    case Basic::kString:
      return a.text < b.text;
    default:
      return Status::Error("invalid type for comparison");
  }
}

StatusOr<Value> Compare(Func func, const std::vector<Value>& args) {
  if (func == Func::kEq || func == Func::kNe) {
    auto eq = Eq(args[0], args.data() + 1, args.size() - 1);
    if (!eq.ok()) return eq.status();
    return Value::Bool(func == Func::kEq ? *eq : !*eq);
  }
  auto lt = Lt(args[0], args[1]);
  if (!lt.ok()) return lt.status();
  if (func == Func::kLt) return Value::Bool(*lt);
  if (func == Func::kGe) return Value::Bool(!*lt);
  bool le = *lt;
  if (!le) {
    auto eq = Eq(args[0], &args[1], 1);
    if (!eq.ok()) return eq.status();
    le = *eq;
  }
  return Value::Bool(func == Func::kLe ? le : !le);
}

StatusOr<Value> Length(const Value& value) {
  switch (value.kind) {
    case Kind::kString:
    case Kind::kHtml:
      return Value::Int(static_cast<int64_t>(value.text.size()));
    case Kind::kLabels:
    case Kind::kKV:
    case Kind::kPairs:
      return Value::Int(static_cast<int64_t>(value.labels().size()));
    case Kind::kStrings:
      return Value::Int(static_cast<int64_t>(value.strings().size()));
    case Kind::kAlerts:
      return Value::Int(static_cast<int64_t>(value.alerts().size()));
    case Kind::kMap:
      return Value::Int(static_cast<int64_t>(value.map().size()));
    case Kind::kSamples:
      return Value::Int(static_cast<int64_t>(value.samples().size()));
    case Kind::kNil:
      return Status::Error("len of nil pointer");
    case Kind::kSample:
      if (value.sample() == nullptr) return Status::Error("len of nil pointer");
      return Status::Error("len of type template.sample");
    default:
      return Status::Error(fmt::format("len of type {}", TypeName(value)));
  }
}

// An element of a notification list ([]string, template.Alerts, template.Pairs).
StatusOr<Value> ListElement(const Value& list, const Value& index) {
  if (index.kind != Kind::kInt) {
    return Status::Error(
        index.is_nil() ? std::string("cannot index slice/array with nil")
                       : fmt::format("cannot index slice/array with type {}", TypeName(index)));
  }
  const size_t size = list.kind == Kind::kStrings  ? list.strings().size()
                      : list.kind == Kind::kAlerts ? list.alerts().size()
                                                   : list.labels().size();
  if (index.integer < 0 || static_cast<uint64_t>(index.integer) >= size) {
    return Status::Error(fmt::format("index out of range: {}", index.integer));
  }
  const auto at = static_cast<size_t>(index.integer);
  if (list.kind == Kind::kStrings) {
    Value out = Value::Borrowed(list.strings()[at]);
    out.owner = list.owner;
    return out;
  }
  if (list.kind == Kind::kAlerts) return Value::Alert(&list.alerts()[at], list.owner);
  return Value::Pair(&list.labels()[at], list.owner);
}

StatusOr<Value> Index(const std::vector<Value>& args) {
  Value item = args[0];
  if (item.is_nil()) return Status::Error("index of untyped nil");
  for (size_t i = 1; i < args.size(); ++i) {
    const Value& index = args[i];
    if (item.is_label_map() || item.kind == Kind::kMap) {
      if (!index.is_stringish()) {
        return Status::Error(
            index.is_nil() ? std::string("value is nil; should be of type string")
                           : fmt::format("value has type {}; should be string", TypeName(index)));
      }
      if (item.kind == Kind::kMap) {
        item = MapValue(item.map(), index.text);
      } else {
        Value label = Value::Borrowed(LabelValue(item.labels(), index.text));
        label.owner = item.owner;  // the labels may be a query result's
        item = std::move(label);
      }
      continue;
    }
    if (item.kind == Kind::kStrings || item.kind == Kind::kAlerts || item.kind == Kind::kPairs) {
      auto element = ListElement(item, index);
      if (!element.ok()) return element;
      item = std::move(*element);
      continue;
    }
    if (item.kind != Kind::kSamples && !item.is_stringish()) {
      if (item.kind == Kind::kSample && item.sample() == nullptr) {
        return Status::Error("index of nil pointer");
      }
      std::string_view type = TypeName(item);
      if (type.front() == '*') type.remove_prefix(1);
      return Status::Error(fmt::format("can't index item of type {}", type));
    }
    if (index.kind != Kind::kInt) {
      return Status::Error(
          index.is_nil() ? std::string("cannot index slice/array with nil")
                         : fmt::format("cannot index slice/array with type {}", TypeName(index)));
    }
    const size_t size = item.is_stringish() ? item.text.size() : item.samples().size();
    if (index.integer < 0 || static_cast<uint64_t>(index.integer) >= size) {
      return Status::Error(fmt::format("index out of range: {}", index.integer));
    }
    const auto at = static_cast<size_t>(index.integer);
    item = item.is_stringish() ? Value::Int(static_cast<unsigned char>(item.text[at]))
                               : Value::Sample(&item.samples()[at], item.owner);
  }
  return item;
}

StatusOr<Value> Slice(const std::vector<Value>& args) {
  const Value& item = args[0];
  if (item.is_nil()) return Status::Error("slice of untyped nil");
  const size_t count = args.size() - 1;
  if (count > 3) return Status::Error(fmt::format("too many slice indexes: {}", count));
  if (item.is_stringish() && count == 3) return Status::Error("cannot 3-index slice a string");
  if (!item.is_stringish() && item.kind != Kind::kSamples) {
    return Status::Error(fmt::format("can't slice item of type {}", TypeName(item)));
  }
  const size_t size = item.is_stringish() ? item.text.size() : item.samples().size();
  size_t bounds[3] = {0, size, size};
  for (size_t i = 0; i < count; ++i) {
    const Value& index = args[i + 1];
    if (index.kind != Kind::kInt) {
      return Status::Error(
          index.is_nil() ? std::string("cannot index slice/array with nil")
                         : fmt::format("cannot index slice/array with type {}", TypeName(index)));
    }
    if (index.integer < 0 || static_cast<uint64_t>(index.integer) > size) {
      return Status::Error(fmt::format("index out of range: {}", index.integer));
    }
    bounds[i] = static_cast<size_t>(index.integer);
  }
  for (size_t i = 0; i + 1 < std::max<size_t>(count, 2); ++i) {
    if (bounds[i] > bounds[i + 1]) {
      return Status::Error(fmt::format("invalid slice index: {} > {}", bounds[i], bounds[i + 1]));
    }
  }
  if (item.is_stringish()) {
    Value out = item;
    out.text = item.text.substr(bounds[0], bounds[1] - bounds[0]);
    return out;
  }
  const auto begin = item.samples().begin();
  return Value::Samples(std::make_shared<const std::vector<TemplateSample>>(
      begin + static_cast<std::ptrdiff_t>(bounds[0]),
      begin + static_cast<std::ptrdiff_t>(bounds[1])));
}

void JsEscape(std::string_view text, std::string& out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    switch (c) {
      case '\\':
        out += "\\\\";
        continue;
      case '\'':
        out += "\\'";
        continue;
      case '"':
        out += "\\\"";
        continue;
      case '<':
        out += "\\u003C";
        continue;
      case '>':
        out += "\\u003E";
        continue;
      case '&':
        out += "\\u0026";
        continue;
      case '=':
        out += "\\u003D";
        continue;
      default:
        break;
    }
    if (c < ' ') {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 0x0F];
    } else if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      size_t length = 0;
      const uint32_t rune = utf8::DecodeRune(text, i, length);
      if (length > 0 && !utf8::IsPrintableRune(rune)) {
        fmt::format_to(std::back_inserter(out), "\\u{:04X}", rune);
      } else {
        out.append(text.substr(i, std::max<size_t>(length, 1)));
      }
      i += std::max<size_t>(length, 1) - 1;
    }
  }
}

}  // namespace

void QueryEscape(std::string_view text, std::string& out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0x0F];
    }
  }
}

const FuncInfo* FindFunc(std::string_view name, Dialect dialect) {
  for (const FuncInfo& func : kFuncs) {
    if (func.name == name && (func.dialects & (1 << static_cast<int>(dialect))) != 0) return &func;
  }
  return nullptr;
}

Status CheckArgument(Param param, const Value& value) {
  switch (param) {
    case Param::kAny:
      return OkStatus();
    case Param::kString:
      if (value.kind == Kind::kString) return OkStatus();
      if (value.is_nil()) return Status::Error("invalid value; expected string");
      return Status::Error(
          fmt::format("wrong type for value; expected string; got {}", TypeName(value)));
    case Param::kStrings:
      if (value.is_nil() || value.kind == Kind::kStrings) return OkStatus();
      return Status::Error(
          fmt::format("wrong type for value; expected []string; got {}", TypeName(value)));
    case Param::kSample:
    case Param::kSamples: {
      const bool sample = param == Param::kSample;
      if (value.is_nil() || value.kind == (sample ? Kind::kSample : Kind::kSamples)) {
        return OkStatus();
      }
      return Status::Error(fmt::format("wrong type for value; expected {}; got {}",
                                       sample ? "*template.sample" : "template.queryResult",
                                       TypeName(value)));
    }
  }
  return OkStatus();
}

StatusOr<Value> CallBuiltin(const FuncInfo& func, std::vector<Value>& args) {
  switch (func.func) {
    case Func::kNot:
      return Value::Bool(!Truth(args[0]));
    case Func::kEq:
    case Func::kNe:
    case Func::kLt:
    case Func::kLe:
    case Func::kGt:
    case Func::kGe:
      return Compare(func.func, args);
    case Func::kLen:
      return Length(args[0]);
    case Func::kIndex:
      return Index(args);
    case Func::kSlice:
      return Slice(args);
    case Func::kPrintf: {
      auto text = Sprintf(args[0].text, std::vector<Value>(args.begin() + 1, args.end()));
      if (!text.ok()) return text.status();
      return Value::String(std::move(*text));
    }
    default:
      break;
  }
  // print, println, html, js, urlquery: the arguments as fmt.Sprint prints them.
  std::string text;
  const SprintMode mode = func.func == Func::kPrint     ? SprintMode::kPlain
                          : func.func == Func::kPrintln ? SprintMode::kLine
                                                        : SprintMode::kPrintable;
  if (Status status = Sprint(args, mode, text); !status.ok()) return status;
  if (func.func == Func::kPrint || func.func == Func::kPrintln)
    return Value::String(std::move(text));
  std::string out;
  if (func.func == Func::kHtml) text::AppendHtmlEscaped(text, out);
  if (func.func == Func::kJs) JsEscape(text, out);
  if (func.func == Func::kUrlquery) QueryEscape(text, out);
  return Value::String(std::move(out));
}

StatusOr<Value> CallAlertmanager(const FuncInfo& func, std::vector<Value>& args) {
  std::vector<std::string> strings;
  if (func.func == Func::kJoin) {
    // join inverts strings.Join's arguments for pipelines: {{ .Values | join ", " }}.
    if (args[1].is_nil()) return Value::Borrowed("");
    std::string out;
    const std::vector<std::string>& parts = args[1].strings();
    for (size_t i = 0; i < parts.size(); ++i) {
      if (i > 0) out += args[0].text;
      out += parts[i];
    }
    return Value::String(std::move(out));
  }
  for (size_t i = 0; i < args.size(); ++i) {
    if (Status status = CheckArgument(Param::kString, args[i]); !status.ok()) return status;
    strings.emplace_back(args[i].text);
  }
  return Value::Strings(std::move(strings));
}

StatusOr<Value> CallFunction(const FuncInfo& func, std::vector<Value>& args,
                             const CallContext& context) {
  for (size_t i = 0; i < args.size() && i < func.params.size(); ++i) {
    if (Status status = CheckArgument(func.params[i], args[i]); !status.ok()) return status;
  }
  StatusOr<Value> result = func.func <= Func::kSlice  ? CallBuiltin(func, args)
                           : func.func >= Func::kJoin ? CallAlertmanager(func, args)
                                                      : CallPrometheus(func, args, context);
  if (!result.ok())
    return Status::Error(fmt::format("error calling {}: {}", func.name, result.message()));
  return result;
}

Status CheckCall(const FuncInfo& func, Command& command, bool has_final) {
  const size_t explicit_args = command.args.size() - 1;
  const Value* first = explicit_args > 0 && command.args[1].kind == OperandKind::kLiteral
                           ? &command.args[1].literal
                           : nullptr;
  if (func.func == Func::kEq && explicit_args + (has_final ? 1 : 0) < 2) {
    return Status::Error("error calling eq: missing argument for comparison");
  }
  if (func.func == Func::kPrintf && first != nullptr && first->kind == Kind::kString) {
    if (Status status = CheckFormat(first->text); !status.ok()) return status;
  }
  if ((func.func == Func::kMatch || func.func == Func::kReReplaceAll) && first != nullptr &&
      first->kind == Kind::kString) {
    auto regex = CompileRegex(first->text);
    if (!regex.ok())
      return Status::Error(fmt::format("error calling {}: {}", func.name, regex.message()));
    command.regex = std::move(*regex);
  }
  return OkStatus();
}

}  // namespace mingus::collector::rules::detail
