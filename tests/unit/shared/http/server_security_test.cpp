// The server with a web config: basic auth, response headers, TLS and mutual TLS, over real
// loopback sockets with the committed test certificates (tests/fixtures/web).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "eventually.h"
#include "fixtures.h"
#include "mingus/http/client.h"
#include "mingus/http/server.h"

namespace mingus::http {
namespace {

using ::mingus::testing::Eventually;
using ::testing::HasSubstr;

// bcrypt (cost 4) of "secret".
const std::string kHash = "$2b$04$ta3t.KsqHRFmqfCOvfqIrusVmlp9C6k3bn7s40xkhL5x0xHG94BAO";

std::string Fixture(std::string_view name) {
  return testing::FixturePath(std::string("web/") + std::string(name));
}

TlsServerConfig ServerTls() {
  TlsServerConfig tls;
  tls.cert_file = Fixture("server.pem");
  tls.key_file = Fixture("server-key.pem");
  return tls;
}

net::TlsOptions TrustingTestCa() {
  net::TlsOptions tls;
  tls.ca_file = Fixture("ca.pem");
  return tls;
}

class SecureServerTest : public ::testing::Test {
 protected:
  void StartWith(WebConfig web_config) {
    auto router = std::make_shared<Router>();
    router->Handle("GET", "/x", [](const Request&) { return Response::Text(200, "hello"); });
    router->Handle("POST", "/-/reload", [](const Request&) { return Response::Text(200, "ok"); });
    ServerOptions options;
    options.web_config = std::move(web_config);
    server_ = std::make_unique<Server>(std::move(options), router);
    const auto address = server_->Start();
    ASSERT_TRUE(address.ok()) << address.message();
    address_ = *address;
  }

  std::unique_ptr<Server> server_;
  std::string address_;
};

TEST_F(SecureServerTest, EveryRequestNeedsBasicAuthAndGetsTheHeaders) {
  WebConfig web;
  web.basic_auth_users = {{"alice", kHash}};
  web.headers = {{"X-Frame-Options", "deny"}, {"X-Content-Type-Options", "nosniff"}};
  StartWith(web);

  for (const std::string& credentials :
       {std::string(), std::string("alice:wrong@"), std::string("bob:secret@")}) {
    const auto refused = HttpGet("http://" + credentials + address_ + "/x");
    ASSERT_TRUE(refused.ok()) << refused.message();
    EXPECT_EQ(refused->status, 401) << credentials;
    EXPECT_THAT(refused->Header("www-authenticate"), HasSubstr("Basic"));
    EXPECT_EQ(refused->Header("x-frame-options"), "deny");
  }
  const auto post = HttpRequest("POST", "http://" + address_ + "/-/reload", "");
  ASSERT_TRUE(post.ok());
  EXPECT_EQ(post->status, 401);  // write endpoints too
  EXPECT_EQ(server_->auth_failures(), 4u);

  const auto allowed = HttpGet("http://alice:secret@" + address_ + "/x");
  ASSERT_TRUE(allowed.ok()) << allowed.message();
  EXPECT_EQ(allowed->status, 200);
  EXPECT_EQ(allowed->body, "hello");
  EXPECT_EQ(allowed->Header("x-frame-options"), "deny");
  EXPECT_EQ(allowed->Header("x-content-type-options"), "nosniff");
  // An unknown path is still 401 before 404: nothing is told to a client without credentials.
  const auto unknown = HttpGet("http://" + address_ + "/nothing");
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->status, 401);
  EXPECT_EQ(server_->auth_failures(), 5u);
}

TEST_F(SecureServerTest, ServesTlsToClientsThatTrustItsCa) {
  WebConfig web;
  web.tls = ServerTls();
  StartWith(web);
  ClientOptions options;
  options.tls = TrustingTestCa();
  const auto response = HttpGet("https://" + address_ + "/x", options);
  ASSERT_TRUE(response.ok()) << response.message();
  EXPECT_EQ(response->body, "hello");

  options.tls.ca_file = Fixture("other-ca.pem");
  const auto untrusted = HttpGet("https://" + address_ + "/x", options);
  ASSERT_FALSE(untrusted.ok());
  EXPECT_THAT(untrusted.message(), HasSubstr("certificate verify failed"));
  EXPECT_TRUE(Eventually([&] { return server_->tls_handshake_failures() >= 1; }));

  // Plain HTTP on the TLS port gets no answer and counts as a failed handshake.
  const uint64_t before = server_->tls_handshake_failures();
  ClientOptions quick;
  quick.timeout = std::chrono::seconds(2);
  const auto plain = HttpGet("http://" + address_ + "/x", quick);
  EXPECT_FALSE(plain.ok() && plain->status == 200);
  EXPECT_TRUE(Eventually([&] { return server_->tls_handshake_failures() > before; }));
}

TEST_F(SecureServerTest, MutualTlsNeedsAClientCertificateFromItsCa) {
  WebConfig web;
  web.tls = ServerTls();
  web.tls.client_auth = ClientAuth::kRequireAndVerifyClientCert;
  web.tls.client_ca_file = Fixture("ca.pem");
  StartWith(web);
  ClientOptions options;
  options.tls = TrustingTestCa();
  options.timeout = std::chrono::seconds(5);
  // TLS 1.3 sends the refusal after the client's handshake ends: the request fails.
  const auto without = HttpGet("https://" + address_ + "/x", options);
  EXPECT_FALSE(without.ok() && without->status == 200);
  EXPECT_TRUE(Eventually([&] { return server_->tls_handshake_failures() >= 1; }));

  options.tls.cert_file = Fixture("client.pem");
  options.tls.key_file = Fixture("client-key.pem");
  const auto with = HttpGet("https://" + address_ + "/x", options);
  ASSERT_TRUE(with.ok()) << with.message();
  EXPECT_EQ(with->status, 200);
}

TEST_F(SecureServerTest, TlsAndBasicAuthTogether) {
  WebConfig web;
  web.tls = ServerTls();
  web.basic_auth_users = {{"alice", kHash}};
  StartWith(web);
  ClientOptions options;
  options.tls = TrustingTestCa();
  EXPECT_EQ(HttpGet("https://" + address_ + "/x", options)->status, 401);
  EXPECT_EQ(HttpGet("https://alice:secret@" + address_ + "/x", options)->status, 200);
}

TEST(SecureServer, StartRefusesUnusableCertificatesNamingFileAndKey) {
  ServerOptions options;
  options.web_config.file = "web.yml";
  options.web_config.tls = ServerTls();
  options.web_config.tls.key_file = Fixture("client-key.pem");
  Server server(std::move(options), std::make_shared<Router>());
  const auto started = server.Start();
  ASSERT_FALSE(started.ok());
  EXPECT_THAT(started.message(), HasSubstr("web.yml: tls_server_config.key_file"));
}

}  // namespace
}  // namespace mingus::http
