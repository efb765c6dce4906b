#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// Plain request and response values: handlers are pure functions from one to the other, tested
// without sockets; Beast stays inside the server.
namespace mingus::http {

struct Request {
  std::string method;  // "GET"
  std::string target;  // "/api/v1/query?query=up"
  std::string path;    // "/api/v1/query", percent-decoded
  std::string query;   // "query=up", raw
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;

  // Builds method, target, path and query from a request line's target.
  static Request Make(std::string method, std::string target);
  std::string_view Header(std::string_view lower_case_name) const;
  // The first value of a query parameter, percent-decoded.
  std::optional<std::string> QueryParam(std::string_view key) const;
  // Every value of a parameter, from the query string and then, for a form POST
  // (application/x-www-form-urlencoded, as Grafana sends), from the body; percent-decoded.
  std::vector<std::string> Params(std::string_view key) const;
  std::optional<std::string> Param(std::string_view key) const;
  bool AcceptsGzip() const;
};

// The writing end of a streamed response (see Response::on_stream). Thread-safe: writes from
// any thread are sent in the order they were made.
class StreamWriter {
 public:
  virtual ~StreamWriter() = default;
  // Queues `data` for the client. False once the stream has ended (the client went away or
  // fell too far behind, or the server stopped); what is written then is dropped.
  virtual bool Write(std::string data) = 0;
  virtual bool open() const = 0;
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool compressible = false;  // the server may gzip it when the client accepts gzip
  // A streamed response (Server-Sent Events): when set, the server sends the status, the
  // headers and `body` without a length, keeps the connection open, and hands `on_stream` a
  // writer for what follows; the body ends when the connection does. See ServerOptions for
  // the bounds.
  std::function<void(std::shared_ptr<StreamWriter>)> on_stream;

  static Response Text(int status, std::string body);
  static Response Json(int status, std::string body);
  // {"status":"error","error":"..."}, the shape of Prometheus' API errors.
  static Response JsonError(int status, std::string_view message);
};

using Handler = std::function<Response(const Request&)>;

// Exact-path routing, then prefix routes (longest first); unknown paths get a JSON 404, known
// paths with another method a 405.
class Router {
 public:
  void Handle(std::string method, std::string path, Handler handler);
  // Every path starting with `prefix` (for paths with a parameter: /api/v1/label/NAME/values).
  void HandlePrefix(std::string method, std::string prefix, Handler handler);
  Response Route(const Request& request) const;

 private:
  std::map<std::string, std::map<std::string, Handler>, std::less<>> routes_;    // path -> method
  std::map<std::string, std::map<std::string, Handler>, std::greater<>> prefixes_;  // longest first
};

std::string PercentDecode(std::string_view s);
// Go's url.QueryEscape: for a query parameter's value (a space becomes '+').
std::string QueryEscape(std::string_view s);

}  // namespace mingus::http
