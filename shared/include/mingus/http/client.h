#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "mingus/common/status.h"

namespace mingus::http {

struct ClientOptions {
  std::chrono::milliseconds timeout{10'000};  // the whole exchange: connect, send, receive
  size_t max_body_bytes = 64 << 20;           // after decompression
  bool accept_gzip = true;
  std::vector<std::pair<std::string, std::string>> headers;  // sent with every request
};

struct ClientResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;                                           // decompressed
  std::string_view Header(std::string_view lower_case_name) const;
};

// A blocking HTTP/1.1 GET on Boost.Beast, one connection per call: what scrapes and spool
// pulls need. `url` is http://HOST:PORT/PATH?QUERY with an IP or localhost host. Errors name
// the URL and the step that failed. Thread-safe (no shared state).
StatusOr<ClientResponse> HttpGet(const std::string& url, const ClientOptions& options = {});

// Inflates a gzip member; refuses output beyond max_bytes.
StatusOr<std::string> GunzipLimited(std::string_view data, size_t max_bytes);

}  // namespace mingus::http
