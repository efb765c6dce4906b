#include "mingus/http/daemon_routes.h"

#include <sstream>

#include <fmt/format.h>
#include <prometheus/text_serializer.h>

#include "mingus/metrics/family_builder.h"

#include "mingus/version.h"

namespace mingus::http {

void AddDaemonRoutes(Router& router, std::string_view name, const std::vector<std::pair<std::string, std::string>>& links) {
  const std::string title(name);
  router.Handle("GET", "/-/healthy", [title](const Request&) { return Response::Text(200, title + " is Healthy.\n"); });
  router.Handle("GET", "/-/ready", [title](const Request&) { return Response::Text(200, title + " is Ready.\n"); });
  std::string items;
  for (const auto& [path, text] : links) items += fmt::format(R"(<li><a href="{}">{}</a></li>)", path, text);
  const std::string page = fmt::format(R"(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{0}</title></head>
<body><h1>{0}</h1><p>Version {1} ({2})</p>
<ul>{3}</ul></body></html>
)",
                                       title, kVersion, kRevision, items);
  router.Handle("GET", "/", [page](const Request&) {
    Response response = Response::Text(200, page);
    response.content_type = "text/html; charset=utf-8";
    return response;
  });
}

Response ExpositionResponse(const std::vector<prometheus::MetricFamily>& families) {
  std::ostringstream body;
  prometheus::TextSerializer().Serialize(body, families);
  Response response = Response::Text(200, body.str());
  response.content_type = "text/plain; version=0.0.4; charset=utf-8";
  response.compressible = true;
  return response;
}

void AppendServerFamilies(std::vector<prometheus::MetricFamily>& out, const std::string& prefix, const Server& server) {
  metrics::AddSample(metrics::AddFamily(out, prefix + "_http_connections_refused_total",
                                        "Connections closed at once because too many were open.",
                                        prometheus::MetricType::Counter),
                     static_cast<double>(server.refused_connections()));
  metrics::AddSample(metrics::AddFamily(out, prefix + "_http_requests_rejected_total",
                                        "Requests refused as malformed, too large or too slow.",
                                        prometheus::MetricType::Counter),
                     static_cast<double>(server.rejected_requests()));
  metrics::AddSample(metrics::AddFamily(out, prefix + "_http_auth_failures_total",
                                        "Requests refused with 401 for want of valid basic auth "
                                        "credentials (basic_auth_users of the web config).",
                                        prometheus::MetricType::Counter),
                     static_cast<double>(server.auth_failures()));
  metrics::AddSample(metrics::AddFamily(out, prefix + "_http_tls_handshake_failures_total",
                                        "TLS handshakes that failed: a refused protocol version, "
                                        "a missing or untrusted client certificate, plain HTTP.",
                                        prometheus::MetricType::Counter),
                     static_cast<double>(server.tls_handshake_failures()));
}

}  // namespace mingus::http
