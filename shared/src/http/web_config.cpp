#include "mingus/http/web_config.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>

#include "detail/tls_context.h"
#include "mingus/common/file.h"
#include "mingus/config/yaml_reader.h"

namespace mingus::http {

namespace {

using config::ConfigError;
using config::MapReader;

constexpr std::array<std::pair<std::string_view, ClientAuth>, 6> kClientAuthTypes = {{
    {"NoClientCert", ClientAuth::kNoClientCert},
    {"RequestClientCert", ClientAuth::kRequestClientCert},
    {"RequireAnyClientCert", ClientAuth::kRequireAnyClientCert},
    {"RequireClientCert", ClientAuth::kRequireAnyClientCert},  // exporter-toolkit's old name
    {"VerifyClientCertIfGiven", ClientAuth::kVerifyClientCertIfGiven},
    {"RequireAndVerifyClientCert", ClientAuth::kRequireAndVerifyClientCert},
}};

constexpr std::array<std::pair<std::string_view, int>, 4> kTlsVersions = {{
    {"TLS10", TLS1_VERSION},
    {"TLS11", TLS1_1_VERSION},
    {"TLS12", TLS1_2_VERSION},
    {"TLS13", TLS1_3_VERSION},
}};

// Go's curve names to OpenSSL's.
constexpr std::array<std::pair<std::string_view, std::string_view>, 4> kCurves = {{
    {"CurveP256", "P-256"},
    {"CurveP384", "P-384"},
    {"CurveP521", "P-521"},
    {"X25519", "X25519"},
}};

// The headers exporter-toolkit lets a web config set, and the values it allows (none: any).
struct AllowedHeader {
  std::string_view name;
  std::vector<std::string_view> values;
};
const std::array<AllowedHeader, 5>& AllowedHeaders() {
  static const std::array<AllowedHeader, 5> headers = {{
      {"Strict-Transport-Security", {}},
      {"X-Content-Type-Options", {"nosniff"}},
      {"X-Frame-Options", {"deny", "sameorigin"}},
      {"X-XSS-Protection", {}},
      {"Content-Security-Policy", {}},
  }};
  return headers;
}

template <typename Table>
std::string Names(const Table& table) {
  std::vector<std::string_view> names;
  for (const auto& entry : table) names.push_back(entry.first);
  return fmt::format("{}", fmt::join(names, ", "));
}

std::string VersionName(int version) {
  for (const auto& [name, value] : kTlsVersions) {
    if (value == version) return std::string(name);
  }
  return std::to_string(version);
}

void ReadVersion(MapReader& reader, std::string_view key, int& out) {
  std::string name;
  reader.Read(key, name);
  if (name.empty()) return;
  for (const auto& [known, value] : kTlsVersions) {
    if (known == name) {
      out = value;
      return;
    }
  }
  reader.Check(key, Status::Error(fmt::format("unknown TLS version '{}' (expected one of {})", name,
                                              Names(kTlsVersions))));
}

// A path from the file, taken from the file's folder when relative.
std::string FromFileFolder(const std::string& path, const std::string& file) {
  if (path.empty() || std::filesystem::path(path).is_absolute()) return path;
  return (std::filesystem::path(file).parent_path() / path).string();
}

void ReadTlsServerConfig(MapReader& top, const std::string& file, TlsServerConfig& tls) {
  MapReader reader = top.Map("tls_server_config");
  reader.Read("cert_file", tls.cert_file);
  reader.Read("key_file", tls.key_file);
  reader.Read("client_ca_file", tls.client_ca_file);
  std::string client_auth;
  reader.Read("client_auth_type", client_auth);
  if (!client_auth.empty()) {
    const auto found = std::find_if(kClientAuthTypes.begin(), kClientAuthTypes.end(),
                                    [&](const auto& entry) { return entry.first == client_auth; });
    reader.Check("client_auth_type", found != kClientAuthTypes.end()
                                         ? OkStatus()
                                         : Status::Error(fmt::format(
                                               "unknown client_auth_type '{}' (expected one of {})",
                                               client_auth, Names(kClientAuthTypes))));
    tls.client_auth = found->second;
  }
  ReadVersion(reader, "min_version", tls.min_version);
  ReadVersion(reader, "max_version", tls.max_version);
  if (tls.min_version > tls.max_version) {
    reader.Check("min_version", Status::Error(fmt::format("{} is above max_version {}",
                                                          VersionName(tls.min_version),
                                                          VersionName(tls.max_version))));
  }
  tls.cipher_suites = reader.Strings("cipher_suites");
  for (const auto& curve : reader.Strings("curve_preferences")) {
    const auto found = std::find_if(kCurves.begin(), kCurves.end(),
                                    [&](const auto& entry) { return entry.first == curve; });
    reader.Check("curve_preferences",
                 found != kCurves.end()
                     ? OkStatus()
                     : Status::Error(fmt::format("unknown curve '{}' (expected one of {})", curve,
                                                 Names(kCurves))));
    tls.curve_preferences.emplace_back(found->second);
  }
  reader.Read("prefer_server_cipher_suites", tls.prefer_server_cipher_suites);
  reader.Finish();
  if (!tls.client_ca_file.empty() && tls.client_auth == ClientAuth::kNoClientCert) {
    reader.Check("client_ca_file",
                 Status::Error("a client CA is set but client_auth_type is NoClientCert; set "
                               "client_auth_type: RequireAndVerifyClientCert"));
  }
  if (tls.enabled()) {
    if (tls.cert_file.empty()) reader.Check("cert_file", Status::Error("missing cert_file"));
    if (tls.key_file.empty()) reader.Check("key_file", Status::Error("missing key_file"));
  }
  tls.cert_file = FromFileFolder(tls.cert_file, file);
  tls.key_file = FromFileFolder(tls.key_file, file);
  tls.client_ca_file = FromFileFolder(tls.client_ca_file, file);
}

void ReadHttpServerConfig(MapReader& top, WebConfig& web) {
  MapReader reader = top.Map("http_server_config");
  reader.Read("http2", web.http2);
  const YAML::Node headers = reader.Node("headers");
  if (headers && !headers.IsNull()) {
    if (!headers.IsMap()) reader.Fail(headers, "headers", "expected a mapping of names to values");
    for (const auto& entry : headers) {
      const std::string name = config::ScalarText(entry.first);
      const std::string key = "headers." + name;
      const auto allowed =
          std::find_if(AllowedHeaders().begin(), AllowedHeaders().end(),
                       [&](const AllowedHeader& header) { return header.name == name; });
      if (allowed == AllowedHeaders().end()) {
        std::vector<std::string_view> names;
        for (const auto& header : AllowedHeaders()) names.push_back(header.name);
        reader.Fail(entry.first, key,
                    fmt::format("HTTP header '{}' can not be configured (only {})", name,
                                fmt::join(names, ", ")));
      }
      if (!entry.second.IsScalar()) reader.Fail(entry.second, key, "expected a string");
      const std::string value = entry.second.Scalar();
      if (value.find_first_of("\r\n") != std::string::npos) {
        reader.Fail(entry.second, key, "a line break in a header value");
      }
      const auto& values = allowed->values;
      if (!values.empty() && std::find(values.begin(), values.end(), value) == values.end()) {
        reader.Fail(entry.second, key,
                    fmt::format("'{}' is not one of {}", value, fmt::join(values, ", ")));
      }
      if (!value.empty()) web.headers.emplace_back(name, value);  // blank: unset, as theirs
    }
  }
  reader.Finish();
}

void ReadBasicAuthUsers(MapReader& top, WebConfig& web) {
  const YAML::Node users = top.Node("basic_auth_users");
  if (!users || users.IsNull()) return;
  if (!users.IsMap()) top.Fail(users, "basic_auth_users", "expected a mapping of users to hashes");
  for (const auto& entry : users) {
    const std::string user = config::ScalarText(entry.first);
    const std::string key = "basic_auth_users." + user;
    if (user.empty()) top.Fail(entry.first, "basic_auth_users", "a user name must not be empty");
    if (user.find(':') != std::string::npos) {
      top.Fail(entry.first, key, "a user name must not contain ':' (basic auth splits there)");
    }
    if (!entry.second.IsScalar()) top.Fail(entry.second, key, "expected a bcrypt hash");
    const std::string hash = entry.second.Scalar();
    // The hash is not shown: it is a secret too.
    if (const Status status = CheckBcryptHash(hash); !status.ok()) {
      top.Fail(entry.second, key, status.message());
    }
    web.basic_auth_users.emplace(user, hash);
  }
}

}  // namespace

Status CheckBcryptHash(std::string_view hash) {
  const auto fail = [] {
    return Status::Error(
        "not a bcrypt hash ($2y$, $2b$ or $2a$, a cost, then 53 characters: see htpasswd -nBC 10)");
  };
  if (hash.size() != 60 || hash[0] != '$' || hash[1] != '2' || hash[3] != '$' || hash[6] != '$')
    return fail();
  if (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y') return fail();
  if (!std::isdigit(static_cast<unsigned char>(hash[4])) ||
      !std::isdigit(static_cast<unsigned char>(hash[5])))
    return fail();
  const int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
  if (cost < 4 || cost > 31) {
    return Status::Error(fmt::format("bcrypt cost {} is outside 4 to 31", cost));
  }
  for (const char c : hash.substr(7)) {
    const bool base64 = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '/';
    if (!base64) return fail();
  }
  return OkStatus();
}

WebConfig ParseWebConfig(const std::string& yaml, const std::string& file) {
  WebConfig web;
  web.file = file;
  MapReader top(config::LoadString(yaml, file), file);
  ReadTlsServerConfig(top, file, web.tls);
  ReadHttpServerConfig(top, web);
  ReadBasicAuthUsers(top, web);
  top.Finish();
  return web;
}

WebConfig LoadWebConfig(const std::string& path) {
  const auto text = ReadFile(path, 1 << 20);
  if (!text.ok()) throw ConfigError(text.message());  // names the file
  WebConfig web = ParseWebConfig(*text, path);
  if (web.tls.enabled()) {
    const auto context = detail::MakeServerTlsContext(web.tls);
    if (!context.ok()) {
      throw ConfigError(fmt::format("{}: tls_server_config.{}", path, context.message()));
    }
  }
  return web;
}

}  // namespace mingus::http
