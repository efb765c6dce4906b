#include "mingus/http/message.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>

#include "mingus/common/text.h"

namespace mingus::http {

namespace {
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else if (s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

Request Request::Make(std::string method, std::string target) {
  Request request;
  request.method = std::move(method);
  request.target = std::move(target);
  const auto question = request.target.find('?');
  request.path = PercentDecode(std::string_view(request.target).substr(0, question));
  if (question != std::string::npos) request.query = request.target.substr(question + 1);
  return request;
}

std::string QueryEscape(std::string_view s) {
  std::string out;
  for (const unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::string_view Request::Header(std::string_view lower_case_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_case_name) return value;
  }
  return {};
}

namespace {

void CollectFormValues(std::string_view encoded, std::string_view key,
                       std::vector<std::string>& out) {
  while (!encoded.empty()) {
    const auto amp = encoded.find('&');
    const std::string_view pair = encoded.substr(0, amp);
    const auto eq = pair.find('=');
    if (PercentDecode(pair.substr(0, eq)) == key) {
      out.push_back(eq == std::string_view::npos ? std::string()
                                                 : PercentDecode(pair.substr(eq + 1)));
    }
    if (amp == std::string_view::npos) break;
    encoded.remove_prefix(amp + 1);
  }
}

}  // namespace

std::optional<std::string> Request::QueryParam(std::string_view key) const {
  std::vector<std::string> values;
  CollectFormValues(query, key, values);
  if (values.empty()) return std::nullopt;
  return std::move(values.front());
}

std::vector<std::string> Request::Params(std::string_view key) const {
  std::vector<std::string> values;
  CollectFormValues(query, key, values);
  if (method == "POST" && Header("content-type").starts_with("application/x-www-form-urlencoded")) {
    CollectFormValues(body, key, values);
  }
  return values;
}

std::optional<std::string> Request::Param(std::string_view key) const {
  auto values = Params(key);
  if (values.empty()) return std::nullopt;
  return std::move(values.front());
}

bool Request::AcceptsGzip() const {
  // Accept-Encoding: gzip, deflate;q=0.5 -- a "gzip" token not weighted q=0 is acceptance.
  std::string_view rest = Header("accept-encoding");
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    const auto semi = item.find(';');
    std::string_view coding = item.substr(0, semi);
    while (!coding.empty() && coding.back() == ' ') coding.remove_suffix(1);
    if (coding == "gzip" || coding == "*") {
      const auto q = semi == std::string_view::npos ? semi : item.find("q=", semi);
      if (q == std::string_view::npos) return true;
      const auto weight = text::ParseDouble(text::Trim(item.substr(q + 2)));
      return !weight || *weight > 0;
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return false;
}

Response Response::Text(int status, std::string body) {
  Response response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

Response Response::Json(int status, std::string body) {
  Response response;
  response.status = status;
  response.content_type = "application/json";
  response.body = std::move(body);
  return response;
}

Response Response::JsonError(int status, std::string_view message) {
  return Json(status,
              boost::json::serialize(boost::json::object{{"status", "error"}, {"error", message}}));
}

void Router::Handle(std::string method, std::string path, Handler handler) {
  routes_[std::move(path)][std::move(method)] = std::move(handler);
}

void Router::HandlePrefix(std::string method, std::string prefix, Handler handler) {
  prefixes_[std::move(prefix)][std::move(method)] = std::move(handler);
}

Response Router::Route(const Request& request) const {
  const std::map<std::string, Handler>* methods = nullptr;
  if (const auto exact = routes_.find(request.path); exact != routes_.end()) {
    methods = &exact->second;
  } else {
    const auto prefix = std::find_if(prefixes_.begin(), prefixes_.end(), [&](const auto& route) {
      return request.path.starts_with(route.first);
    });
    if (prefix == prefixes_.end()) return Response::JsonError(404, "no such path: " + request.path);
    methods = &prefix->second;
  }
  auto by_method = methods->find(request.method);
  if (by_method == methods->end() && request.method == "HEAD") by_method = methods->find("GET");
  if (by_method == methods->end()) {
    std::string allowed;
    for (const auto& [method, unused] : *methods) {
      allowed += allowed.empty() ? method : ", " + method;
    }
    Response response = Response::JsonError(405, "method " + request.method + " not allowed");
    response.headers.emplace_back("Allow", allowed);
    return response;
  }
  return by_method->second(request);
}

}  // namespace mingus::http
