#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "mingus/common/status.h"
#include "mingus/http/message.h"
#include "mingus/http/web_config.h"

namespace mingus::http {

struct ServerOptions {
  std::string listen_address = "127.0.0.1:0";
  size_t max_header_bytes = 8 * 1024;
  size_t max_body_bytes = 1 << 20;
  // A connection that has not delivered a complete request by then is closed.
  std::chrono::milliseconds read_timeout{10'000};
  // A kept-alive connection may wait this long for its next request to start (then that request
  // has read_timeout to arrive whole): longer than scrape intervals, so that a scraper's
  // connection lives from one scrape to the next, as with Prometheus' 5 minutes.
  std::chrono::milliseconds idle_timeout{300'000};
  std::chrono::milliseconds write_timeout{30'000};
  size_t max_connections = 256;
  int threads = 2;
  // Streamed responses (Response::on_stream) open at once; more get 503. A stream whose
  // client stops reading is dropped when a write has waited write_timeout, or when this much
  // is queued for it.
  size_t max_streams = 64;
  size_t max_stream_buffer_bytes = 1 << 20;
  // TLS, basic auth and response headers from --web.config.file; plain HTTP without it.
  WebConfig web_config;
};

// A bounded HTTP/1.1 server on Boost.Beast: each request goes to the router, responses marked
// compressible are gzipped for clients that accept it. With a web config it speaks TLS, asks
// every request for basic auth (401 with WWW-Authenticate otherwise) and adds its headers.
// Thread-safe: the router's handlers run concurrently on `threads` threads and must be safe for
// that.
class Server {
 public:
  Server(ServerOptions options, std::shared_ptr<const Router> router);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds, listens and starts the threads; returns the bound address (port 0 picks one).
  StatusOr<std::string> Start();
  // Stops accepting, ends the streams (their clients see the connection close at once),
  // closes connections and joins the threads. Idempotent.
  void Stop();

  // Serves one connection in memory on the calling thread, with no socket and no need of
  // Start: the client sends `received` and closes its side; returns all the server wrote
  // before it closed the connection. The same parser, limits, basic auth, headers and router
  // as over TCP, without TLS and timeouts (nothing waits: all the input is there). For fuzzing.
  std::string ServeInMemory(std::string_view received);

  // Connections refused because max_connections were open, and requests refused as malformed,
  // too large or too slow since start.
  uint64_t refused_connections() const;
  uint64_t rejected_requests() const;
  // Requests refused for want of valid basic auth credentials, and TLS handshakes that failed
  // (a wrong protocol version, no or a bad client certificate, plain HTTP on a TLS port).
  uint64_t auth_failures() const;
  uint64_t tls_handshake_failures() const;
  // Streamed responses open now.
  size_t open_streams() const;

  struct Impl;  // public so the connection code can name it; defined in server.cpp only

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace mingus::http
