#include "detail/tls_context.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <openssl/ssl.h>

#include <string_view>
#include <vector>

namespace mingus::http::detail {

namespace ssl = boost::asio::ssl;

namespace {

// Go's cipher suite names are the IANA ones, which OpenSSL knows as standard names. TLS 1.3
// suites are accepted and left alone, as Go ignores them in its configuration too.
Status SetCipherSuites(SSL_CTX* context, const std::vector<std::string>& names) {
  if (names.empty()) return OkStatus();
  SSL_CTX_set_cipher_list(context, "ALL:COMPLEMENTOFALL");
  const STACK_OF(SSL_CIPHER)* known = SSL_CTX_get_ciphers(context);
  std::vector<std::string> openssl_names;
  for (const auto& name : names) {
    const SSL_CIPHER* found = nullptr;
    for (int i = 0; i < sk_SSL_CIPHER_num(known); ++i) {
      const SSL_CIPHER* cipher = sk_SSL_CIPHER_value(known, i);
      const char* standard = SSL_CIPHER_standard_name(cipher);
      if (standard != nullptr && name == standard) found = cipher;
    }
    if (found == nullptr)
      return Status::Error(fmt::format("cipher_suites: unknown cipher '{}'", name));
    if (std::string_view(SSL_CIPHER_get_version(found)) != "TLSv1.3") {
      openssl_names.emplace_back(SSL_CIPHER_get_name(found));
    }
  }
  const std::string list = fmt::format("{}", fmt::join(openssl_names, ":"));
  if (!list.empty() && SSL_CTX_set_cipher_list(context, list.c_str()) != 1) {
    return Status::Error(fmt::format("cipher_suites: OpenSSL refuses '{}'", list));
  }
  return OkStatus();
}

int AcceptAnyCertificate(int, X509_STORE_CTX*) { return 1; }

Status SetClientAuth(ssl::context& context, const TlsServerConfig& config) {
  if (config.client_auth == ClientAuth::kNoClientCert) return OkStatus();
  SSL_CTX* handle = context.native_handle();
  boost::system::error_code ec;
  if (!config.client_ca_file.empty()) {
    context.load_verify_file(config.client_ca_file, ec);
    if (ec) {
      return Status::Error(
          fmt::format("client_ca_file: cannot load '{}': {}", config.client_ca_file, ec.message()));
    }
    // The CA names sent in the certificate request, so that a client picks the right certificate.
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(config.client_ca_file.c_str());
    if (names == nullptr) {
      return Status::Error(
          fmt::format("client_ca_file: no certificate in '{}'", config.client_ca_file));
    }
    SSL_CTX_set_client_CA_list(handle, names);
  } else {
    context.set_default_verify_paths(ec);
    if (ec) return Status::Error(fmt::format("cannot load the system CA store: {}", ec.message()));
  }
  const bool required = config.client_auth == ClientAuth::kRequireAnyClientCert ||
                        config.client_auth == ClientAuth::kRequireAndVerifyClientCert;
  const bool verified = config.client_auth == ClientAuth::kVerifyClientCertIfGiven ||
                        config.client_auth == ClientAuth::kRequireAndVerifyClientCert;
  const int mode = SSL_VERIFY_PEER | (required ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0);
  SSL_CTX_set_verify(handle, mode, verified ? nullptr : AcceptAnyCertificate);
  // Resumed sessions of verified clients need a context id, or OpenSSL fails their handshake.
  static constexpr unsigned char kSessionContext[] = "mingus";
  SSL_CTX_set_session_id_context(handle, kSessionContext, sizeof kSessionContext - 1);
  return OkStatus();
}

}  // namespace

StatusOr<std::shared_ptr<ssl::context>> MakeServerTlsContext(const TlsServerConfig& config) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* handle = context->native_handle();
  boost::system::error_code ec;
  context->use_certificate_chain_file(config.cert_file, ec);
  if (ec) {
    return Status::Error(
        fmt::format("cert_file: cannot load '{}': {}", config.cert_file, ec.message()));
  }
  context->use_private_key_file(config.key_file, ssl::context::pem, ec);
  if (ec) {
    return Status::Error(
        fmt::format("key_file: cannot load '{}': {}", config.key_file, ec.message()));
  }
  if (SSL_CTX_check_private_key(handle) != 1) {
    return Status::Error(fmt::format("key_file: '{}' is not the key of cert_file '{}'",
                                     config.key_file, config.cert_file));
  }
  if (SSL_CTX_set_min_proto_version(handle, config.min_version) != 1 ||
      SSL_CTX_set_max_proto_version(handle, config.max_version) != 1) {
    return Status::Error("min_version: OpenSSL refuses the versions");
  }
  if (config.prefer_server_cipher_suites)
    SSL_CTX_set_options(handle, SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (Status status = SetCipherSuites(handle, config.cipher_suites); !status.ok()) return status;
  if (!config.curve_preferences.empty()) {
    const std::string groups = fmt::format("{}", fmt::join(config.curve_preferences, ":"));
    if (SSL_CTX_set1_groups_list(handle, groups.c_str()) != 1) {
      return Status::Error(fmt::format("curve_preferences: OpenSSL refuses '{}'", groups));
    }
  }
  if (Status status = SetClientAuth(*context, config); !status.ok()) return status;
  return context;
}

}  // namespace mingus::http::detail
