#include "mingus/collector/api/silences_api.h"

#include <fmt/format.h>

#include <boost/json.hpp>

#include "mingus/collector/api/prometheus_api.h"
#include "mingus/common/duration.h"

namespace mingus::collector::api {

namespace {

constexpr std::string_view kPrefix = "/api/monitoring/silences";

boost::json::object SilenceJson(const notify::Silence& silence, int64_t now) {
  boost::json::array matchers;
  for (const auto& matcher : silence.matchers) {
    using Type = notify::Matcher::Type;
    matchers.push_back(boost::json::object{
        {"name", matcher.name},
        {"value", matcher.value},
        {"isRegex", matcher.type == Type::kRegex || matcher.type == Type::kNotRegex},
        {"isEqual", matcher.type == Type::kEqual || matcher.type == Type::kRegex}});
  }
  const char* state = now < silence.starts_at_ms ? "pending"
                      : now < silence.ends_at_ms ? "active"
                                                 : "expired";
  return {{"id", silence.id},
          {"matchers", std::move(matchers)},
          {"startsAt", FormatRfc3339(silence.starts_at_ms)},
          {"endsAt", FormatRfc3339(silence.ends_at_ms)},
          {"updatedAt", FormatRfc3339(silence.updated_at_ms)},
          {"createdBy", silence.created_by},
          {"comment", silence.comment},
          {"status", boost::json::object{{"state", state}}}};
}

// Alertmanager's postable silence.
StatusOr<notify::Silence> ParseSilence(std::string_view body) {
  boost::system::error_code error;
  const boost::json::value root = boost::json::parse(body, error);
  if (error || !root.is_object()) return Status::Error("the body must be a JSON object");
  const auto& object = root.as_object();
  notify::Silence silence;
  const auto text = [&](std::string_view key) -> std::string {
    const auto* value = object.if_contains(key);
    return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string();
  };
  const auto* matchers = object.if_contains("matchers");
  if (matchers == nullptr || !matchers->is_array())
    return Status::Error("matchers: expected a list");
  for (const auto& item : matchers->as_array()) {
    const auto* m = item.if_object();
    if (m == nullptr || !m->contains("name") || !m->at("name").is_string() ||
        !m->contains("value") || !m->at("value").is_string()) {
      return Status::Error("matchers: each needs a string name and value");
    }
    const bool regex =
        m->contains("isRegex") && m->at("isRegex").is_bool() && m->at("isRegex").as_bool();
    const bool equal =
        !m->contains("isEqual") || !m->at("isEqual").is_bool() || m->at("isEqual").as_bool();
    using Type = notify::Matcher::Type;
    auto matcher = notify::Matcher::Make(
        regex ? (equal ? Type::kRegex : Type::kNotRegex) : (equal ? Type::kEqual : Type::kNotEqual),
        std::string(m->at("name").as_string()), std::string(m->at("value").as_string()));
    if (!matcher.ok()) return Status::Error(fmt::format("matchers: {}", matcher.message()));
    silence.matchers.push_back(std::move(*matcher));
  }
  for (const auto& [key, field] :
       {std::pair{"startsAt", &silence.starts_at_ms}, std::pair{"endsAt", &silence.ends_at_ms}}) {
    const std::string value = text(key);
    if (value.empty()) {
      if (std::string_view(key) == "endsAt") return Status::Error("endsAt is required");
      continue;
    }
    auto parsed = ParseTimeMs(value);
    if (!parsed.ok()) return Status::Error(fmt::format("{}: {}", key, parsed.message()));
    *field = *parsed;
  }
  silence.created_by = text("createdBy");
  silence.comment = text("comment");
  if (silence.created_by.empty()) return Status::Error("createdBy is required");
  return silence;
}

}  // namespace

void RegisterSilencesApi(http::Router& router, notify::Dispatcher& dispatcher, const Clock& clock) {
  router.Handle("GET", std::string(kPrefix), [&dispatcher, &clock](const http::Request&) {
    boost::json::array out;
    const int64_t now = UnixMillis(clock);
    for (const auto& silence : dispatcher.Silences()) out.push_back(SilenceJson(silence, now));
    return http::Response::Json(200, boost::json::serialize(out));
  });
  router.Handle("POST", std::string(kPrefix), [&dispatcher](const http::Request& request) {
    auto silence = ParseSilence(request.body);
    if (!silence.ok()) return http::Response::JsonError(400, silence.message());
    auto id = dispatcher.CreateSilence(std::move(*silence));
    if (!id.ok()) return http::Response::JsonError(400, id.message());
    return http::Response::Json(200,
                                boost::json::serialize(boost::json::object{{"silenceID", *id}}));
  });
  router.HandlePrefix("DELETE", std::string(kPrefix) + "/",
                      [&dispatcher](const http::Request& request) {
                        const std::string id = request.path.substr(kPrefix.size() + 1);
                        if (Status status = dispatcher.ExpireSilence(id); !status.ok()) {
                          return http::Response::JsonError(
                              status.message().find("not found") != std::string::npos ? 404 : 400,
                              status.message());
                        }
                        return http::Response::Json(200, "{}");
                      });
}

}  // namespace mingus::collector::api
