#include "mingus/wire/json_event.h"

#include <cmath>
#include <limits>

#include <boost/json/parse_options.hpp>

#include "mingus/wire/statsd.h"

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

// Integer ids are written back as decimal text into `scratch` so that 42 and "42" agree.
bool ReadId(const boost::json::value& v, std::string_view& out, std::string& scratch) {
  if (v.is_string()) {
    out = std::string_view(v.get_string().data(), v.get_string().size());
    return true;
  }
  if (v.is_int64() || v.is_uint64()) {
    scratch = v.is_int64() ? std::to_string(v.get_int64()) : std::to_string(v.get_uint64());
    out = scratch;
    return true;
  }
  return false;
}

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
  return options;
}
}  // namespace

JsonEventParser::JsonEventParser()
    : parser_(boost::json::storage_ptr(), ParseOptions(), parser_stack_.data(), parser_stack_.size()) {}

std::optional<JsonEventError> JsonEventParser::Parse(std::string_view line, JsonEvent& out) {
  detail_.clear();
  if (!IsValidUtf8(line)) return JsonEventError::kNotUtf8;
  value_.reset();
  parser_.reset();  // lets go of the old resource before it is replaced
  resource_.emplace(buffer_.data(), buffer_.size());
  parser_.reset(boost::json::storage_ptr(&*resource_));
  boost::system::error_code ec;
  parser_.write(line.data(), line.size(), ec);
  if (!ec) value_.emplace(parser_.release());
  if (ec == boost::json::error::too_deep) return JsonEventError::kTooDeep;
  if (ec) return JsonEventError::kSyntax;
  if (!value_->is_object()) return JsonEventError::kNotObject;
  const boost::json::object& object = value_->get_object();

  const auto* type = object.if_contains("type");
  const Schema* schema =
      type != nullptr && type->is_string()
          ? FindSchema(std::string_view(type->get_string().data(), type->get_string().size()))
          : nullptr;
  if (schema == nullptr) return JsonEventError::kUnknownType;
  out = JsonEvent{};
  out.type = schema->type;

  if (const auto* ts = object.if_contains("ts")) {
    if (!ts->is_number()) {
      detail_ = "ts";
      return JsonEventError::kWrongFieldType;
    }
    out.ts = ts->to_number<double>();
  }
  size_t ids_used = 0;
  for (const Field& field : schema->fields) {
    if (field.name.empty()) break;
    const auto* v = object.if_contains(field.name);
    if (v == nullptr || v->is_null()) {
      if (field.required) {
        detail_ = field.name;
        return JsonEventError::kMissingField;
      }
      continue;
    }
    bool ok = false;
    switch (field.kind) {
      case Kind::kString:
        ok = v->is_string();
        if (ok) out.*field.text = std::string_view(v->get_string().data(), v->get_string().size());
        break;
      case Kind::kId:
        ok = ReadId(*v, out.*field.text, id_text_[ids_used++]);
        break;
      case Kind::kNumber:
        ok = v->is_number();
        if (ok) out.*field.number = v->to_number<double>();
        break;
      case Kind::kBool:
        ok = v->is_bool();
        if (ok) out.*field.flag = v->get_bool();
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
