#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>


// Application events sent as one JSON object per line (a line starting with '{'), see DESIGN.md.
namespace mingus::wire {

enum class EventType : uint8_t {
  kApi, kDb, kScore, kEngagement, kFeature, kFeedback, kUserMetric, kInteraction, kExperiment,
  kCache, kDataSource,
};
inline constexpr size_t kEventTypeCount = 11;
std::string_view EventTypeName(EventType type);  // "api", "db", ... as on the wire

// Every field any event type has. Which ones a type requires or accepts is in the parser's
// schema; the others stay empty. Views point into the parser's storage and live until its
// next Parse.
struct JsonEvent {
  EventType type = EventType::kApi;
  std::optional<double> ts;  // unix seconds, when the client gave one
  std::string_view endpoint, method, query, name, user_id, session_id, request_id, action,
      feature, kind, comment, metric, event_type, element_id, page_url, experiment, variant,
      event, cache, result, source;
  std::optional<double> status, duration_ms, rows, input_size, usage_time, rating, value, cost,
      predicted, actual;
  std::optional<bool> cached;
};

// Why a line was refused: the `reason` label of mingus_agent_parse_errors_total.
enum class JsonEventError : uint8_t {
  kSyntax,           // not JSON, or trailing bytes after the object
  kNotObject,
  kNotUtf8,
  kUnknownType,      // no "type", or not one of the event types
  kMissingField,
  kWrongFieldType,
  kBadFieldValue,    // e.g. a negative duration, an experiment event other than exposure/conversion
  kTooDeep,
};
std::string_view ReasonName(JsonEventError error);

// Parses one line into a JsonEvent. Events are flat objects, so the parser reads the line as
// a stream of tokens (Boost.JSON's basic_parser) and keeps only the top-level members, in
// buffers it reuses: no document is built and a typical event costs no heap allocation. A
// parser serves one thread. Unknown fields are ignored; of duplicate keys the last wins.
// `detail` names the offending field on error.
class JsonEventParser {
 public:
  JsonEventParser();
  ~JsonEventParser();
  JsonEventParser(const JsonEventParser&) = delete;
  JsonEventParser& operator=(const JsonEventParser&) = delete;

  std::optional<JsonEventError> Parse(std::string_view line, JsonEvent& out);
  std::string_view detail() const { return detail_; }

 private:
  struct Tokens;
  std::unique_ptr<Tokens> tokens_;
  std::array<std::string, 2> id_text_;  // integer ids as text; no schema has more than two ids
  std::string detail_;
};

}  // namespace mingus::wire
