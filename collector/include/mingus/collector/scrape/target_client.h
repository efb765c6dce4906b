#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

#include "mingus/http/client.h"

namespace mingus::collector::scrape {

// How a scrape job reaches its targets, as Prometheus' scheme, tls_config, basic_auth and
// authorization (or bearer_token) say: used for the scrapes and for the event spool pulls of
// the same targets.
struct TargetClient {
  std::string scheme = "http";  // or https
  net::TlsOptions tls;
  // The Authorization header's value ("Basic ...", "Bearer ..."), empty for none. A secret:
  // never logged, never in an error.
  std::string authorization;

  std::string Url(std::string_view address, std::string_view path_and_query) const {
    return fmt::format("{}://{}{}", scheme, address, path_and_query);
  }
  void ApplyTo(http::ClientOptions& options) const {
    options.tls = tls;
    if (!authorization.empty()) options.headers.emplace_back("Authorization", authorization);
  }
  friend bool operator==(const TargetClient&, const TargetClient&) = default;
};

}  // namespace mingus::collector::scrape
