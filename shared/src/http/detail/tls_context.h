#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>

#include "mingus/common/status.h"
#include "mingus/http/web_config.h"

namespace mingus::http::detail {

// The server's TLS context for `config`: its certificate and key, client certificate policy and
// CAs, protocol versions, cipher suites and curves. An error names the key of tls_server_config
// whose value failed ("cert_file: cannot load 'x.pem': no such file").
StatusOr<std::shared_ptr<boost::asio::ssl::context>> MakeServerTlsContext(
    const TlsServerConfig& config);

}  // namespace mingus::http::detail
