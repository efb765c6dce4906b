#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "mingus/common/status.h"

namespace mingus::net {

// How a client checks the server it speaks TLS to. The defaults are the safe ones.
struct TlsOptions {
  std::string ca_file;      // PEM file of trusted CAs; empty: the system's CA store
  std::string server_name;  // SNI and the name the certificate must carry; empty: the host dialled
  bool insecure_skip_verify = false;  // accept any certificate; for tests and labs only
  // A client certificate and its key (PEM), for servers that ask for one (mutual TLS).
  std::string cert_file, key_file;
  friend bool operator==(const TlsOptions&, const TlsOptions&) = default;
};

// A byte stream to a server that can be upgraded to TLS in place (HTTPS, SMTP STARTTLS and
// SMTPS). Errors are short reasons ("connection refused", "timed out", "certificate verify
// failed (self-signed certificate)"): callers add the peer and the step. Blocking; one
// thread at a time.
class Stream {
 public:
  virtual ~Stream() = default;
  virtual Status Write(std::string_view data) = 0;
  // Reads at least one byte; 0 means the peer closed the connection cleanly.
  virtual StatusOr<size_t> ReadSome(char* buffer, size_t size) = 0;
  // The TLS handshake, with certificate and host name verification per `options`.
  virtual Status StartTls(const TlsOptions& options) = 0;
  virtual bool tls() const = 0;
};
using StreamPtr = std::unique_ptr<Stream>;

// A TCP connection with one deadline for everything done on it: resolving, connecting, the
// TLS handshake, writes and reads. Once the deadline passes, every call fails with "timed
// out". `host` is an IP literal, "localhost" or a DNS name (resolved with the system's
// resolver; a name lookup that hangs is abandoned at the deadline but its thread is joined
// when the connection goes away). The verification name for StartTls is `host` unless
// TlsOptions::server_name is set: IP literals are checked against the certificate's IP
// addresses, names against its DNS names (RFC 2818/6125, no partial wildcards), and SNI is
// sent for names only (RFC 6066).
class Connection final : public Stream {
 public:
  using Clock = std::chrono::steady_clock;
  static StatusOr<std::unique_ptr<Connection>> Open(std::string_view host, uint16_t port,
                                                    Clock::time_point deadline);
  ~Connection() override;

  Status Write(std::string_view data) override;
  StatusOr<size_t> ReadSome(char* buffer, size_t size) override;
  Status StartTls(const TlsOptions& options) override;
  bool tls() const override;
  // A new deadline for what is done next on the connection, as for a request on a kept-alive
  // connection. A connection that already timed out stays failed.
  void SetDeadline(Clock::time_point deadline);

 private:
  struct Impl;
  explicit Connection(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// True for "localhost" and loopback IP literals: peers that may hear a secret without TLS.
bool IsLoopbackHost(std::string_view host);

// Splits "host:port", "[v6]:port", or a bare host when default_port is not 0. The host may be
// a DNS name. Brackets are removed from IPv6 hosts.
struct Endpoint {
  std::string host;
  uint16_t port = 0;
  std::string ToString() const;  // brackets IPv6 hosts
};
StatusOr<Endpoint> ParseEndpoint(std::string_view address, uint16_t default_port = 0);

}  // namespace mingus::net
