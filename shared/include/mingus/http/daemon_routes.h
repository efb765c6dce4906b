#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <prometheus/metric_family.h>

#include "mingus/http/message.h"
#include "mingus/http/server.h"

namespace mingus::http {

// The routes every daemon serves: /-/healthy and /-/ready ("<name> is Healthy.", as
// Prometheus words it) and an index page at / naming the version and linking `links`
// (path, title).
void AddDaemonRoutes(Router& router, std::string_view name, const std::vector<std::pair<std::string, std::string>>& links);

// A /metrics response: the families in the text format 0.0.4, gzip allowed.
Response ExpositionResponse(const std::vector<prometheus::MetricFamily>& families);

// PREFIX_http_connections_refused_total, PREFIX_http_requests_rejected_total,
// PREFIX_http_auth_failures_total and PREFIX_http_tls_handshake_failures_total of `server`.
void AppendServerFamilies(std::vector<prometheus::MetricFamily>& out, const std::string& prefix, const Server& server);

}  // namespace mingus::http
