#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mingus/common/status.h"

// The web configuration file of Prometheus' exporter-toolkit (--web.config.file): TLS, basic auth
// and response headers, so that one file serves node_exporter, Prometheus and our daemons.
namespace mingus::http {

// Go's tls.ClientAuthType, by the names exporter-toolkit takes.
enum class ClientAuth {
  kNoClientCert,
  kRequestClientCert,
  kRequireAnyClientCert,
  kVerifyClientCertIfGiven,
  kRequireAndVerifyClientCert,
};

struct TlsServerConfig {
  // Relative paths are resolved from the web config file's folder, as exporter-toolkit does.
  std::string cert_file, key_file, client_ca_file;
  ClientAuth client_auth = ClientAuth::kNoClientCert;
  // OpenSSL's protocol versions (TLS1_2_VERSION = 0x0303, TLS1_3_VERSION = 0x0304).
  int min_version = 0x0303;
  int max_version = 0x0304;
  // IANA names as Go spells them (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256); TLS 1.2 and below.
  std::vector<std::string> cipher_suites;
  // OpenSSL group names (P-256, X25519), from Go's CurveP256, X25519, ...
  std::vector<std::string> curve_preferences;
  bool prefer_server_cipher_suites = true;

  // TLS is on once any of these is set; then cert_file and key_file are required.
  bool enabled() const {
    return !cert_file.empty() || !key_file.empty() || !client_ca_file.empty() ||
           client_auth != ClientAuth::kNoClientCert;
  }
};

struct WebConfig {
  std::string file;  // where it was read from, for messages; empty when there is none
  TlsServerConfig tls;
  // http_server_config.headers: set on every response. Only the five headers exporter-toolkit
  // allows, with its checks on their values.
  std::vector<std::pair<std::string, std::string>> headers;
  // http_server_config.http2 is accepted for compatibility; the server speaks HTTP/1.1 only.
  bool http2 = true;
  // basic_auth_users: user name to bcrypt hash. When not empty every request needs one of them.
  std::map<std::string, std::string> basic_auth_users;
};

// Parses the file's text; throws config::ConfigError naming the file, line and key for a bad
// value or an unknown key (exporter-toolkit reads it strictly too). Checks shapes and names, not
// the certificate files: see CheckTlsFiles.
WebConfig ParseWebConfig(const std::string& yaml, const std::string& file);
// Reads and parses the file, then loads its certificates and keys as the server will.
WebConfig LoadWebConfig(const std::string& path);

// Whether `hash` is a bcrypt hash ($2a$, $2b$ or $2y$, a cost from 4 to 31, 53 characters of
// salt and hash), as Go's bcrypt.Cost accepts them.
Status CheckBcryptHash(std::string_view hash);

}  // namespace mingus::http
