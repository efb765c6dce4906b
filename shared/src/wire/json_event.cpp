#include "mingus/wire/json_event.h"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parse_options.hpp>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "mingus/common/utf8.h"

namespace mingus::wire {

namespace {

enum class Kind : uint8_t { kString, kNumber, kBool, kId /* string or integer */ };

struct Field {
  std::string_view name;
  Kind kind;
  bool required;
  std::string_view JsonEvent::*text = nullptr;
  std::optional<double> JsonEvent::*number = nullptr;
  std::optional<bool> JsonEvent::*flag = nullptr;
};

constexpr Field Text(std::string_view name, bool required, std::string_view JsonEvent::*m) {
  return {name, Kind::kString, required, m, nullptr, nullptr};
}
constexpr Field Id(std::string_view name, bool required, std::string_view JsonEvent::*m) {
  return {name, Kind::kId, required, m, nullptr, nullptr};
}
constexpr Field Number(std::string_view name, bool required, std::optional<double> JsonEvent::*m) {
  return {name, Kind::kNumber, required, nullptr, m, nullptr};
}
constexpr Field Flag(std::string_view name, bool required, std::optional<bool> JsonEvent::*m) {
  return {name, Kind::kBool, required, nullptr, nullptr, m};
}

struct Schema {
  std::string_view type_name;
  EventType type;
  std::array<Field, 8> fields;  // unused slots have an empty name
};

using E = JsonEvent;
// The wire schema of DESIGN.md; user ids may be strings or integers.
const std::array<Schema, kEventTypeCount> kSchemas = {{
    {"api", EventType::kApi,
     {Text("endpoint", true, &E::endpoint), Text("method", true, &E::method),
      Number("status", true, &E::status), Number("duration_ms", true, &E::duration_ms),
      Id("user_id", false, &E::user_id), Id("request_id", false, &E::request_id)}},
    {"db", EventType::kDb,
     {Text("query", true, &E::query), Number("duration_ms", true, &E::duration_ms),
      Number("rows", false, &E::rows), Id("request_id", false, &E::request_id),
      Id("user_id", false, &E::user_id)}},
    {"score", EventType::kScore,
     {Text("name", true, &E::name), Number("duration_ms", true, &E::duration_ms),
      Number("input_size", false, &E::input_size), Flag("cached", false, &E::cached),
      Id("user_id", false, &E::user_id), Number("predicted", false, &E::predicted),
      Number("actual", false, &E::actual)}},
    {"engagement", EventType::kEngagement,
     {Id("user_id", true, &E::user_id), Text("action", true, &E::action),
      Id("session_id", false, &E::session_id), Number("usage_time", false, &E::usage_time)}},
    {"feature", EventType::kFeature,
     {Id("user_id", true, &E::user_id), Text("feature", true, &E::feature),
      Id("session_id", false, &E::session_id), Number("usage_time", false, &E::usage_time)}},
    {"feedback", EventType::kFeedback,
     {Id("user_id", true, &E::user_id), Text("kind", true, &E::kind),
      Number("rating", true, &E::rating), Text("comment", false, &E::comment)}},
    {"user_metric", EventType::kUserMetric,
     {Id("user_id", true, &E::user_id), Text("metric", true, &E::metric),
      Number("value", true, &E::value)}},
    {"interaction", EventType::kInteraction,
     {Id("user_id", true, &E::user_id), Text("event_type", true, &E::event_type),
      Text("element_id", true, &E::element_id), Text("page_url", true, &E::page_url),
      Id("session_id", false, &E::session_id)}},
    {"experiment", EventType::kExperiment,
     {Text("experiment", true, &E::experiment), Text("variant", true, &E::variant),
      Id("user_id", true, &E::user_id), Text("event", true, &E::event)}},
    {"cache", EventType::kCache,
     {Text("cache", true, &E::cache), Text("result", true, &E::result)}},
    {"data_source", EventType::kDataSource,
     {Text("source", true, &E::source), Number("cost", true, &E::cost),
      Number("value", true, &E::value)}},
}};

const Schema* FindSchema(std::string_view type) {
  for (const auto& schema : kSchemas) {
    if (schema.type_name == type) return &schema;
  }
  return nullptr;
}

// A top-level member of the event object; nested objects and arrays are only noted.
struct Member {
  enum class Kind : uint8_t { kString, kInt64, kUint64, kDouble, kBool, kNull, kNested };
  std::string_view key;
  Kind kind = Kind::kNull;
  std::string_view text;  // strings
  int64_t int64 = 0;
  uint64_t uint64 = 0;
  double number = 0;  // every number, as a double
  bool flag = false;

  bool is_number() const { return kind == Kind::kInt64 || kind == Kind::kUint64 || kind == Kind::kDouble; }
};

// Integer ids are written back as decimal text into `scratch` so that 42 and "42" agree.
bool ReadId(const Member& v, std::string_view& out, std::string& scratch) {
  switch (v.kind) {
    case Member::Kind::kString:
      out = v.text;
      return true;
    case Member::Kind::kInt64:
      scratch = std::to_string(v.int64);
      out = scratch;
      return true;
    case Member::Kind::kUint64:
      scratch = std::to_string(v.uint64);
      out = scratch;
      return true;
    default:
      return false;
  }
}

// The basic_parser handler: collects the top-level members of an object. Keys and strings
// are copied into `text`, reserved to the line's size beforehand (unescaping never makes a
// string longer), so the views into it stay valid.
struct MemberCollector {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);
  using error_code = boost::system::error_code;
  using string_view = boost::json::string_view;

  std::string text;
  size_t text_start = 0;
  std::vector<Member> members;
  std::string_view key;
  int depth = 0;
  bool is_object = false;

  void Reset(size_t line_size) {
    text.clear();
    if (text.capacity() < line_size) text.reserve(line_size);
    text_start = 0;
    members.clear();
    depth = 0;
    is_object = false;
  }
  bool AtTop() const { return is_object && depth == 1; }
  std::string_view Take() {
    const std::string_view taken(text.data() + text_start, text.size() - text_start);
    text_start = text.size();
    return taken;
  }
  Member& Add(Member::Kind kind) {
    Member& member = members.emplace_back();
    member.key = key;
    member.kind = kind;
    return member;
  }

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_object_begin(error_code&) {
    if (depth == 0) is_object = true;
    if (AtTop()) Add(Member::Kind::kNested);
    ++depth;
    return true;
  }
  bool on_object_end(std::size_t, error_code&) {
    --depth;
    return true;
  }
  bool on_array_begin(error_code&) {
    if (AtTop()) Add(Member::Kind::kNested);
    ++depth;
    return true;
  }
  bool on_array_end(std::size_t, error_code&) {
    --depth;
    return true;
  }
  bool on_key_part(string_view s, std::size_t, error_code&) {
    if (AtTop()) text.append(s.data(), s.size());
    return true;
  }
  bool on_key(string_view s, std::size_t, error_code&) {
    if (AtTop()) {
      text.append(s.data(), s.size());
      key = Take();
    }
    return true;
  }
  bool on_string_part(string_view s, std::size_t, error_code&) {
    if (AtTop()) text.append(s.data(), s.size());
    return true;
  }
  bool on_string(string_view s, std::size_t, error_code&) {
    if (AtTop()) {
      text.append(s.data(), s.size());
      Add(Member::Kind::kString).text = Take();
    }
    return true;
  }
  bool on_number_part(string_view, error_code&) { return true; }
  bool on_int64(int64_t value, string_view, error_code&) {
    if (AtTop()) {
      Member& member = Add(Member::Kind::kInt64);
      member.int64 = value;
      member.number = static_cast<double>(value);
    }
    return true;
  }
  bool on_uint64(uint64_t value, string_view, error_code&) {
    if (AtTop()) {
      Member& member = Add(Member::Kind::kUint64);
      member.uint64 = value;
      member.number = static_cast<double>(value);
    }
    return true;
  }
  bool on_double(double value, string_view, error_code&) {
    if (AtTop()) Add(Member::Kind::kDouble).number = value;
    return true;
  }
  bool on_bool(bool value, error_code&) {
    if (AtTop()) Add(Member::Kind::kBool).flag = value;
    return true;
  }
  bool on_null(error_code&) {
    if (AtTop()) Add(Member::Kind::kNull);
    return true;
  }
  bool on_comment_part(string_view, error_code&) { return true; }
  bool on_comment(string_view, error_code&) { return true; }

  // The last member of that name (JSON leaves duplicates open; the last wins, as in browsers).
  const Member* Find(std::string_view name) const {
    for (auto it = members.rbegin(); it != members.rend(); ++it) {
      if (it->key == name) return &*it;
    }
    return nullptr;
  }
};

}  // namespace

std::string_view EventTypeName(EventType type) {
  return kSchemas[static_cast<size_t>(type)].type_name;
}

std::string_view ReasonName(JsonEventError error) {
  switch (error) {
    case JsonEventError::kSyntax: return "json_syntax";
    case JsonEventError::kNotObject: return "json_not_object";
    case JsonEventError::kNotUtf8: return "not_utf8";
    case JsonEventError::kUnknownType: return "unknown_event_type";
    case JsonEventError::kMissingField: return "missing_field";
    case JsonEventError::kWrongFieldType: return "wrong_field_type";
    case JsonEventError::kBadFieldValue: return "bad_field_value";
    case JsonEventError::kTooDeep: return "json_too_deep";
  }
  return "unknown";
}

namespace {
boost::json::parse_options ParseOptions() {
  boost::json::parse_options options;
  options.max_depth = 8;
  // Parse() checks the whole line with utf8::IsValidUtf8 first (its ASCII fast path is cheaper), so
  // a second check of every string by the parser would only cost time.
  options.allow_invalid_utf8 = true;
  return options;
}
}  // namespace

struct JsonEventParser::Tokens {
  Tokens() : parser(ParseOptions()) { parser.handler().members.reserve(32); }
  boost::json::basic_parser<MemberCollector> parser;
};

JsonEventParser::JsonEventParser() : tokens_(std::make_unique<Tokens>()) {}
JsonEventParser::~JsonEventParser() = default;

std::optional<JsonEventError> JsonEventParser::Parse(std::string_view line, JsonEvent& out) {
  detail_.clear();
  if (!utf8::IsValidUtf8(line)) return JsonEventError::kNotUtf8;
  auto& parser = tokens_->parser;
  MemberCollector& object = parser.handler();
  parser.reset();
  object.Reset(line.size());
  boost::system::error_code ec;
  const size_t consumed = parser.write_some(false, line.data(), line.size(), ec);
  if (ec == boost::json::error::too_deep) return JsonEventError::kTooDeep;
  if (ec || consumed != line.size()) return JsonEventError::kSyntax;
  if (!object.is_object) return JsonEventError::kNotObject;

  const Member* type = object.Find("type");
  const Schema* schema =
      type != nullptr && type->kind == Member::Kind::kString ? FindSchema(type->text) : nullptr;
  if (schema == nullptr) return JsonEventError::kUnknownType;
  out = JsonEvent{};
  out.type = schema->type;

  if (const Member* ts = object.Find("ts")) {
    if (!ts->is_number()) {
      detail_ = "ts";
      return JsonEventError::kWrongFieldType;
    }
    out.ts = ts->number;
  }
  size_t ids_used = 0;
  for (const Field& field : schema->fields) {
    if (field.name.empty()) break;
    const Member* v = object.Find(field.name);
    if (v == nullptr || v->kind == Member::Kind::kNull) {
      if (field.required) {
        detail_ = field.name;
        return JsonEventError::kMissingField;
      }
      continue;
    }
    bool ok = false;
    switch (field.kind) {
      case Kind::kString:
        ok = v->kind == Member::Kind::kString;
        if (ok) out.*field.text = v->text;
        break;
      case Kind::kId:
        ok = ReadId(*v, out.*field.text, id_text_[ids_used++]);
        break;
      case Kind::kNumber:
        ok = v->is_number();
        if (ok) out.*field.number = v->number;
        break;
      case Kind::kBool:
        ok = v->kind == Member::Kind::kBool;
        if (ok) out.*field.flag = v->flag;
        break;
    }
    if (!ok) {
      detail_ = field.name;
      return JsonEventError::kWrongFieldType;
    }
  }
  const auto bad = [&](std::string_view field) {
    detail_ = field;
    return JsonEventError::kBadFieldValue;
  };
  if (out.duration_ms && !(*out.duration_ms >= 0)) return bad("duration_ms");
  if (out.status && (*out.status < 100 || *out.status > 599 || std::floor(*out.status) != *out.status)) {
    return bad("status");
  }
  if (out.type == EventType::kExperiment && out.event != "exposure" && out.event != "conversion") {
    return bad("event");
  }
  // Quantities that cannot be negative. (JSON has no NaN or Inf literal; huge numbers
  // that overflow to Inf are refused too.)
  static constexpr std::pair<std::string_view, std::optional<double> JsonEvent::*> kNonNegative[] = {
      {"rows", &JsonEvent::rows}, {"input_size", &JsonEvent::input_size},
      {"usage_time", &JsonEvent::usage_time}, {"cost", &JsonEvent::cost}};
  for (const auto& [name, member] : kNonNegative) {
    if (out.*member && !(*(out.*member) >= 0)) return bad(name);
  }
  static constexpr std::pair<std::string_view, std::optional<double> JsonEvent::*> kFinite[] = {
      {"rating", &JsonEvent::rating}, {"value", &JsonEvent::value},
      {"predicted", &JsonEvent::predicted}, {"actual", &JsonEvent::actual},
      {"duration_ms", &JsonEvent::duration_ms}, {"usage_time", &JsonEvent::usage_time},
      {"cost", &JsonEvent::cost}, {"ts", &JsonEvent::ts}};
  for (const auto& [name, member] : kFinite) {
    if (out.*member && !std::isfinite(*(out.*member))) return bad(name);
  }
  return std::nullopt;
}

}  // namespace mingus::wire
