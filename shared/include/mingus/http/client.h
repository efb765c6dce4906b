#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mingus/common/status.h"
#include "mingus/net/connection.h"

namespace mingus::http {

struct ClientOptions {
  // The whole exchange: name lookup, connect, TLS handshake, send, receive.
  std::chrono::milliseconds timeout{10'000};
  size_t max_body_bytes = 64 << 20;  // after decompression
  bool accept_gzip = true;
  // Sent with every request; they replace the defaults of the same name (Accept,
  // User-Agent). Content-Type and Authorization (bearer or basic) are just headers here.
  std::vector<std::pair<std::string, std::string>> headers;
  net::TlsOptions tls;  // for https:// URLs: CA, server name, client certificate
  // The URL's path and query are a secret (a Slack webhook's are): errors show only
  // scheme://host:port/... then.
  bool secret_url = false;
};

struct ClientResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;                                          // decompressed
  std::string_view Header(std::string_view lower_case_name) const;
};

// An http:// or https:// URL split for dialling. The host may be an IP literal (IPv6 in
// brackets), localhost or a DNS name; the port defaults to 80 or 443.
struct Url {
  std::string scheme;    // "http" or "https"
  std::string userinfo;  // "user:password" as written (percent-encoded); a secret
  net::Endpoint endpoint;
  std::string authority;  // host[:port] as written, without userinfo: the Host header
  std::string target;     // path and query, "/" at least; the fragment dropped
  bool https() const { return scheme == "https"; }
  // scheme://authority/target, or scheme://authority/... when the path is a secret. Never
  // shows userinfo.
  std::string ForDisplay(bool hide_target = false) const;
};
StatusOr<Url> ParseUrl(std::string_view url);

// A blocking HTTP/1.1 request on Boost.Beast, one connection per call: spool pulls and
// notifications (scrapes keep theirs open with KeepAliveClient). https:// verifies the server's
// certificate (against the system's CA store or options.tls.ca_file) and its host name, and sends
// SNI. User info in the URL becomes basic auth unless an Authorization header is given. Errors name
// the method, the URL (without user info) and the step that failed: "POST https://127.0.0.1:8443/:
// TLS handshake: certificate verify failed (self-signed certificate)"; they never contain user info
// or header values. Any HTTP status is a response, not an error. Thread-safe (no shared state).
StatusOr<ClientResponse> HttpRequest(std::string_view method, const std::string& url,
                                     std::string_view body, const ClientOptions& options = {});

inline StatusOr<ClientResponse> HttpGet(const std::string& url, const ClientOptions& options = {}) {
  return HttpRequest("GET", url, {}, options);
}

// HttpRequest over a connection kept open between requests to the same server and TLS options
// (HTTP/1.1 keep-alive), as Prometheus keeps one per scrape target: no connect, handshake and
// close per request. A request on a kept connection that the server has closed meanwhile
// (idle timeout) is retried once on a new connection, as long as no byte of a response had
// arrived. Not thread-safe: one request at a time.
class KeepAliveClient {
 public:
  KeepAliveClient();
  ~KeepAliveClient();
  KeepAliveClient(KeepAliveClient&&) noexcept;
  KeepAliveClient& operator=(KeepAliveClient&&) noexcept;

  StatusOr<ClientResponse> Request(std::string_view method, const std::string& url,
                                   std::string_view body, const ClientOptions& options = {});
  StatusOr<ClientResponse> Get(const std::string& url, const ClientOptions& options = {}) {
    return Request("GET", url, {}, options);
  }
  // Connections opened since construction (for tests and benchmarks).
  uint64_t connections_opened() const { return connections_opened_; }

 private:
  std::unique_ptr<net::Connection> connection_;
  std::string connected_to_;  // scheme, host, port and TLS options of connection_
  uint64_t connections_opened_ = 0;
};

// What KeepAliveClient reads after sending a request, on its own, for tests and fuzzing of what
// servers answer: one response off `stream` through Beast's parser within max_body_bytes (no
// body for a HEAD's), names lower-cased, a gzip body inflated. `received` counts the bytes that
// came, `keep_alive` tells whether the connection may serve another request. Errors are bare
// reasons ("connection closed before the whole response"): the caller adds the request.
StatusOr<ClientResponse> ReadClientResponse(net::Stream& stream, bool head, size_t max_body_bytes,
                                            size_t& received, bool& keep_alive);

// The Authorization header's value for HTTP basic auth: "Basic base64(user:password)".
std::string BasicAuthorization(std::string_view user, std::string_view password);

// Inflates a gzip member; refuses output beyond max_bytes.
StatusOr<std::string> GunzipLimited(std::string_view data, size_t max_bytes);

}  // namespace mingus::http
