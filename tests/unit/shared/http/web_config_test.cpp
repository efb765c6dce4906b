// The web config file (exporter-toolkit's format): every key, every refusal.
#include "mingus/http/web_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "fixtures.h"
#include "mingus/config/yaml_reader.h"
#include "temp_dir.h"

namespace mingus::http {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

// A bcrypt hash (cost 4) of "secret".
constexpr std::string_view kHash = "$2b$04$ta3t.KsqHRFmqfCOvfqIrusVmlp9C6k3bn7s40xkhL5x0xHG94BAO";

std::string ErrorOf(const std::string& yaml) {
  try {
    ParseWebConfig(yaml, "/etc/mingus/web.yml");
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "no error";
}

std::string LoadErrorOf(const std::string& yaml) {
  testing::TempDir dir("web-config");
  const std::string path = (dir.path() / "web.yml").string();
  std::ofstream(path) << yaml;
  try {
    LoadWebConfig(path);
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "no error";
}

std::string Fixture(std::string_view name) {
  return testing::FixturePath(std::string("web/") + std::string(name));
}

TEST(WebConfig, AnEmptyFileIsPlainHttpWithoutAuth) {
  const WebConfig web = ParseWebConfig("", "web.yml");
  EXPECT_FALSE(web.tls.enabled());
  EXPECT_TRUE(web.basic_auth_users.empty());
  EXPECT_TRUE(web.headers.empty());
  EXPECT_EQ(web.tls.min_version, 0x0303);  // TLS12, exporter-toolkit's default
  EXPECT_EQ(web.tls.max_version, 0x0304);
}

TEST(WebConfig, ReadsEveryKey) {
  const WebConfig web = ParseWebConfig(R"(
tls_server_config:
  cert_file: server.pem
  key_file: /abs/server-key.pem
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.pem
  min_version: TLS13
  max_version: TLS13
  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]
  curve_preferences: [CurveP256, X25519, CurveP384, CurveP521]
  prefer_server_cipher_suites: false
http_server_config:
  http2: false
  headers:
    Strict-Transport-Security: max-age=31536000
    X-Content-Type-Options: nosniff
    X-Frame-Options: sameorigin
    X-XSS-Protection: "1; mode=block"
    Content-Security-Policy: ""
basic_auth_users:
  alice: )" + std::string(kHash) + R"(
  bob: )" + std::string(kHash) + "\n",
                                       "/etc/mingus/web.yml");
  EXPECT_EQ(web.file, "/etc/mingus/web.yml");
  // Relative paths are the file's folder's, as exporter-toolkit resolves them.
  EXPECT_EQ(web.tls.cert_file, "/etc/mingus/server.pem");
  EXPECT_EQ(web.tls.key_file, "/abs/server-key.pem");
  EXPECT_EQ(web.tls.client_ca_file, "/etc/mingus/ca.pem");
  EXPECT_EQ(web.tls.client_auth, ClientAuth::kRequireAndVerifyClientCert);
  EXPECT_EQ(web.tls.min_version, 0x0304);
  EXPECT_EQ(web.tls.max_version, 0x0304);
  EXPECT_EQ(web.tls.cipher_suites,
            std::vector<std::string>{"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"});
  EXPECT_EQ(web.tls.curve_preferences,
            (std::vector<std::string>{"P-256", "X25519", "P-384", "P-521"}));
  EXPECT_FALSE(web.tls.prefer_server_cipher_suites);
  EXPECT_FALSE(web.http2);
  // A blank value leaves the header unset, as exporter-toolkit does.
  EXPECT_EQ(web.headers, (std::vector<std::pair<std::string, std::string>>{
                             {"Strict-Transport-Security", "max-age=31536000"},
                             {"X-Content-Type-Options", "nosniff"},
                             {"X-Frame-Options", "sameorigin"},
                             {"X-XSS-Protection", "1; mode=block"}}));
  EXPECT_EQ(web.basic_auth_users.size(), 2u);
  EXPECT_EQ(web.basic_auth_users.at("alice"), kHash);
}

TEST(WebConfig, EveryClientAuthTypeIsKnown) {
  const std::pair<const char*, ClientAuth> types[] = {
      {"NoClientCert", ClientAuth::kNoClientCert},
      {"RequestClientCert", ClientAuth::kRequestClientCert},
      {"RequireAnyClientCert", ClientAuth::kRequireAnyClientCert},
      {"RequireClientCert", ClientAuth::kRequireAnyClientCert},
      {"VerifyClientCertIfGiven", ClientAuth::kVerifyClientCertIfGiven},
      {"RequireAndVerifyClientCert", ClientAuth::kRequireAndVerifyClientCert}};
  for (const auto& [name, type] : types) {
    const WebConfig web = ParseWebConfig(
        std::string("tls_server_config: {cert_file: c, key_file: k, client_auth_type: ") + name +
            "}",
        "web.yml");
    EXPECT_EQ(web.tls.client_auth, type) << name;
    EXPECT_TRUE(web.tls.enabled());
  }
}

TEST(WebConfig, RefusesBadValuesNamingFileLineAndKey) {
  const std::pair<std::string, std::string> cases[] = {
      {"tls_server_config: {cert_file: c, key_file: k, client_auth_type: Always}",
       "tls_server_config.client_auth_type: unknown client_auth_type 'Always'"},
      {"tls_server_config: {cert_file: c, key_file: k, min_version: TLS14}",
       "tls_server_config.min_version: unknown TLS version 'TLS14'"},
      {"tls_server_config: {cert_file: c, key_file: k, max_version: SSL3}",
       "tls_server_config.max_version: unknown TLS version 'SSL3'"},
      {"tls_server_config: {cert_file: c, key_file: k, min_version: TLS13, max_version: TLS12}",
       "tls_server_config.min_version: TLS13 is above max_version TLS12"},
      {"tls_server_config: {cert_file: c, key_file: k, curve_preferences: [P256]}",
       "tls_server_config.curve_preferences: unknown curve 'P256'"},
      {"tls_server_config: {cert_file: c, key_file: k, prefer_server_cipher_suites: yes}",
       "tls_server_config.prefer_server_cipher_suites: 'yes' is not a boolean"},
      {"tls_server_config: {cert_file: c, key_file: k, cipher_suites: TLS_AES_128_GCM_SHA256}",
       "tls_server_config.cipher_suites: expected a list"},
      {"tls_server_config: {cert_file: c}", "tls_server_config.key_file: missing key_file"},
      {"tls_server_config: {key_file: k}", "tls_server_config.cert_file: missing cert_file"},
      {"tls_server_config: {client_auth_type: RequireAndVerifyClientCert}",
       "tls_server_config.cert_file: missing cert_file"},
      {"tls_server_config: {cert_file: c, key_file: k, client_ca_file: ca.pem}",
       "tls_server_config.client_ca_file: a client CA is set but client_auth_type is "
       "NoClientCert"},
      {"http_server_config: {headers: {Server: mingus}}",
       "http_server_config.headers.Server: HTTP header 'Server' can not be configured"},
      {"http_server_config: {headers: {X-Frame-Options: allow}}",
       "http_server_config.headers.X-Frame-Options: 'allow' is not one of deny, sameorigin"},
      {"http_server_config: {headers: {X-Content-Type-Options: sniff}}",
       "http_server_config.headers.X-Content-Type-Options: 'sniff' is not one of nosniff"},
      {"http_server_config: {headers: {X-XSS-Protection: [1]}}",
       "http_server_config.headers.X-XSS-Protection: expected a string"},
      {"http_server_config: {headers: \"X-Frame-Options: deny\"}",
       "http_server_config.headers: expected a mapping"},
      {"http_server_config: {headers: {Content-Security-Policy: \"a\\r\\nSet-Cookie: x\"}}",
       "http_server_config.headers.Content-Security-Policy: a line break"},
      {"http_server_config: {http2: maybe}", "http_server_config.http2: 'maybe' is not a boolean"},
      {"basic_auth_users: {alice: secret}", "basic_auth_users.alice: not a bcrypt hash"},
      {"basic_auth_users: {alice: [x]}", "basic_auth_users.alice: expected a bcrypt hash"},
      {"basic_auth_users: [alice]", "basic_auth_users: expected a mapping of users to hashes"},
      {"basic_auth_users: {\"a:b\": " + std::string(kHash) + "}",
       "basic_auth_users.a:b: a user name must not contain ':'"},
      {"basic_auth_users: {\"\": " + std::string(kHash) + "}",
       "basic_auth_users: a user name must not be empty"},
      {"tls_server_config: [cert_file]", "tls_server_config: expected a mapping"},
      {"- a list", "top level: expected a mapping"},
      {"tls_server_config: {cert: inline}", "tls_server_config.cert: unknown key"},
      {"http_server_config: {compress: true}", "http_server_config.compress: unknown key"},
      {"rate_limit: {interval: 1s, burst: 20}", "rate_limit: unknown key"},
      {"basic_auth: {}", "basic_auth: unknown key"},
      {"tls_server_config: {cert_file: c", ": yaml: "},
  };
  for (const auto& [yaml, expected] : cases) {
    EXPECT_THAT(ErrorOf(yaml), AllOf(HasSubstr("/etc/mingus/web.yml"), HasSubstr(expected)))
        << yaml;
  }
  EXPECT_THAT(ErrorOf("\n\nbasic_auth_users: {alice: secret}"), HasSubstr("web.yml:3:"));
  // A wrong hash is a secret too: never shown.
  EXPECT_THAT(ErrorOf("basic_auth_users: {alice: hunter2}"), Not(HasSubstr("hunter2")));
}

TEST(WebConfig, BcryptHashesAreCheckedAsGoReadsThem) {
  EXPECT_TRUE(CheckBcryptHash(kHash).ok());
  std::string hash(kHash);
  for (const char variant : {'a', 'b', 'y'}) {
    hash[2] = variant;
    EXPECT_TRUE(CheckBcryptHash(hash).ok()) << hash;
  }
  hash[2] = 'x';
  EXPECT_FALSE(CheckBcryptHash(hash).ok());
  EXPECT_FALSE(CheckBcryptHash(std::string(kHash).substr(0, 59)).ok());
  EXPECT_FALSE(CheckBcryptHash(std::string(kHash) + "A").ok());
  EXPECT_FALSE(CheckBcryptHash("$1$abc$def").ok());  // MD5 crypt
  std::string bad_salt(kHash);
  bad_salt[10] = '!';
  EXPECT_FALSE(CheckBcryptHash(bad_salt).ok());
  std::string cost(kHash);
  cost[4] = '0';
  cost[5] = '3';
  EXPECT_THAT(CheckBcryptHash(cost).message(), HasSubstr("cost 3 is outside 4 to 31"));
  cost[4] = '3';
  cost[5] = '2';
  EXPECT_THAT(CheckBcryptHash(cost).message(), HasSubstr("cost 32"));
}

TEST(WebConfig, LoadingChecksTheCertificatesAsTheServerWill) {
  const std::string server =
      "{cert_file: " + Fixture("server.pem") + ", key_file: " + Fixture("server-key.pem");
  EXPECT_EQ(LoadErrorOf("tls_server_config: " + server + "}"), "no error");
  EXPECT_EQ(LoadErrorOf("tls_server_config: " + server +
                        ", client_auth_type: RequireAndVerifyClientCert, client_ca_file: " +
                        Fixture("ca.pem") + "}"),
            "no error");
  EXPECT_EQ(LoadErrorOf("tls_server_config: " + server +
                        ", cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "
                        "TLS_AES_128_GCM_SHA256], curve_preferences: [X25519, CurveP256]}"),
            "no error");
  EXPECT_THAT(LoadErrorOf("tls_server_config: " + server + ", cipher_suites: [TLS_FAST]}"),
              HasSubstr("tls_server_config.cipher_suites: unknown cipher 'TLS_FAST'"));
  EXPECT_THAT(LoadErrorOf("tls_server_config: {cert_file: missing.pem, key_file: k.pem}"),
              AllOf(HasSubstr("web.yml: tls_server_config.cert_file: cannot load"),
                    HasSubstr("missing.pem")));
  EXPECT_THAT(
      LoadErrorOf("tls_server_config: {cert_file: " + Fixture("server.pem") +
                  ", key_file: " + Fixture("client-key.pem") + "}"),
      AllOf(HasSubstr("tls_server_config.key_file: "), HasSubstr(Fixture("client-key.pem"))));
  EXPECT_THAT(LoadErrorOf("tls_server_config: " + server +
                          ", client_auth_type: RequireAndVerifyClientCert, client_ca_file: " +
                          Fixture("server-key.pem") + "}"),
              HasSubstr("tls_server_config.client_ca_file: "));
  try {
    LoadWebConfig("/nonexistent/web.yml");
    ADD_FAILURE() << "a missing file was accepted";
  } catch (const config::ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("/nonexistent/web.yml"));
  }
}

}  // namespace
}  // namespace mingus::http
