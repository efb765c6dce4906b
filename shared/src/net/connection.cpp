#include "mingus/net/connection.h"

#include <fmt/format.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

#include "mingus/common/text.h"

namespace mingus::net {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

std::string Describe(const error_code& error) {
  if (error == asio::error::timed_out) return "timed out";
  if (error == asio::error::eof) return "connection closed by the peer";
  if (error == ssl::error::stream_truncated) return "connection closed by the peer";
  return error.message();
}

bool IsIpLiteral(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

struct Connection::Impl {
  asio::io_context ioc;
  tcp::socket socket{ioc};
  std::unique_ptr<ssl::context> context;
  std::unique_ptr<ssl::stream<tcp::socket&>> tls;
  std::string host;
  Clock::time_point deadline;
  bool expired = false;

  // Runs one asynchronous operation on this thread until it completes or the deadline passes;
  // then `cancel` stops it (closing the socket by default) and the result is timed_out.
  // `start` receives a completion callback taking the error code.
  template <typename Start, typename Cancel>
  error_code Run(Start&& start, Cancel&& cancel) {
    if (expired) return asio::error::timed_out;
    error_code result = asio::error::would_block;
    bool done = false;
    start([&result, &done](const error_code& ec) {
      result = ec;
      done = true;
    });
    ioc.restart();
    ioc.run_until(deadline);
    if (!done) {
      cancel();
      ioc.restart();
      ioc.run();  // lets the cancelled operation finish
      expired = true;
      return asio::error::timed_out;
    }
    return result;
  }
  template <typename Start>
  error_code Run(Start&& start) {
    return Run(std::forward<Start>(start), [this] {
      error_code ignored;
      socket.close(ignored);
    });
  }
};

Connection::Connection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Connection::~Connection() = default;

void Connection::SetDeadline(Clock::time_point deadline) { impl_->deadline = deadline; }

StatusOr<std::unique_ptr<Connection>> Connection::Open(std::string_view host, uint16_t port,
                                                       Clock::time_point deadline) {
  auto impl = std::make_unique<Impl>();
  impl->host = std::string(host);
  impl->deadline = deadline;
  tcp::resolver::results_type endpoints;
  error_code ec;
  const auto ip = asio::ip::make_address(impl->host, ec);
  if (!ec) {
    endpoints = tcp::resolver::results_type::create(tcp::endpoint(ip, port), impl->host,
                                                    std::to_string(port));
  } else {
    tcp::resolver resolver(impl->ioc);
    ec = impl->Run(
        [&](auto done) {
          resolver.async_resolve(impl->host, std::to_string(port),
                                 [&endpoints, done](const error_code& e, auto results) {
                                   endpoints = std::move(results);
                                   done(e);
                                 });
        },
        [&resolver] { resolver.cancel(); });
    if (ec) return Status::Error(fmt::format("resolve {}: {}", host, Describe(ec)));
  }
  ec = impl->Run([&](auto done) {
    asio::async_connect(impl->socket, endpoints,
                        [done](const error_code& e, const tcp::endpoint&) { done(e); });
  });
  if (ec) return Status::Error(Describe(ec));
  impl->socket.set_option(tcp::no_delay(true), ec);
  return std::unique_ptr<Connection>(new Connection(std::move(impl)));
}

Status Connection::Write(std::string_view data) {
  const auto ec = impl_->Run([&](auto done) {
    const auto buffer = asio::buffer(data.data(), data.size());
    auto handler = [done](const error_code& e, size_t) { done(e); };
    if (impl_->tls) {
      asio::async_write(*impl_->tls, buffer, handler);
    } else {
      asio::async_write(impl_->socket, buffer, handler);
    }
  });
  return ec ? Status::Error(Describe(ec)) : OkStatus();
}

StatusOr<size_t> Connection::ReadSome(char* buffer, size_t size) {
  size_t count = 0;
  const auto ec = impl_->Run([&](auto done) {
    auto handler = [&count, done](const error_code& e, size_t n) {
      count = n;
      done(e);
    };
    if (impl_->tls) {
      impl_->tls->async_read_some(asio::buffer(buffer, size), handler);
    } else {
      impl_->socket.async_read_some(asio::buffer(buffer, size), handler);
    }
  });
  // A peer that closes a TLS connection without close_notify is common (Python's ssl module
  // does it); the caller's framing (Content-Length, SMTP replies) tells truncation apart.
  if (ec == asio::error::eof || ec == ssl::error::stream_truncated) return size_t{0};
  if (ec) return Status::Error(Describe(ec));
  return count;
}

Status Connection::StartTls(const TlsOptions& options) {
  if (impl_->tls) return Status::Error("TLS is already active");
  auto context = std::make_unique<ssl::context>(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION);
  error_code ec;
  if (options.insecure_skip_verify) {
    context->set_verify_mode(ssl::verify_none);
  } else {
    context->set_verify_mode(ssl::verify_peer);
    if (options.ca_file.empty()) {
      context->set_default_verify_paths(ec);
      if (ec)
        return Status::Error(fmt::format("cannot load the system CA store: {}", Describe(ec)));
    } else {
      context->load_verify_file(options.ca_file, ec);
      if (ec) {
        return Status::Error(
            fmt::format("cannot load CA file '{}': {}", options.ca_file, Describe(ec)));
      }
    }
  }
  if (!options.cert_file.empty()) {
    context->use_certificate_chain_file(options.cert_file, ec);
    if (ec) {
      return Status::Error(
          fmt::format("cannot load certificate '{}': {}", options.cert_file, Describe(ec)));
    }
    context->use_private_key_file(options.key_file, ssl::context::pem, ec);
    if (ec) {
      return Status::Error(fmt::format("cannot load key '{}': {}", options.key_file, Describe(ec)));
    }
  }
  impl_->context = std::move(context);
  impl_->tls = std::make_unique<ssl::stream<tcp::socket&>>(impl_->socket, *impl_->context);
  SSL* handle = impl_->tls->native_handle();
  const std::string& name = options.server_name.empty() ? impl_->host : options.server_name;
  const bool ip_literal = IsIpLiteral(name);
  if (!options.insecure_skip_verify) {
    const int set = ip_literal ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(handle), name.c_str())
                               : SSL_set1_host(handle, name.c_str());
    if (set != 1) return Status::Error(fmt::format("cannot verify against name '{}'", name));
    SSL_set_hostflags(handle, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  }
  if (!ip_literal && SSL_set_tlsext_host_name(handle, name.c_str()) != 1) {
    return Status::Error(fmt::format("cannot send server name '{}'", name));
  }
  ec = impl_->Run([&](auto done) {
    impl_->tls->async_handshake(ssl::stream_base::client, [done](const error_code& e) { done(e); });
  });
  if (!ec) return OkStatus();
  const long verify = SSL_get_verify_result(handle);
  if (ec != asio::error::timed_out && verify != X509_V_OK) {
    return Status::Error(
        fmt::format("certificate verify failed ({})", X509_verify_cert_error_string(verify)));
  }
  return Status::Error(Describe(ec));
}

bool Connection::tls() const { return impl_->tls != nullptr; }

bool IsLoopbackHost(std::string_view host) {
  if (host == "localhost") return true;
  error_code ec;
  const auto ip = asio::ip::make_address(std::string(host), ec);
  return !ec && ip.is_loopback();
}

std::string Endpoint::ToString() const {
  return host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port)
                                             : fmt::format("{}:{}", host, port);
}

StatusOr<Endpoint> ParseEndpoint(std::string_view address, uint16_t default_port) {
  Endpoint out;
  std::string_view port_text;
  bool has_port = false;
  if (!address.empty() && address.front() == '[') {
    const auto close = address.find(']');
    if (close == std::string_view::npos) {
      return Status::Error(fmt::format("address '{}': missing ']'", address));
    }
    out.host = std::string(address.substr(1, close - 1));
    const auto rest = address.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return Status::Error(fmt::format("address '{}': expected ':port' after ']'", address));
      }
      port_text = rest.substr(1);
      has_port = true;
    }
    if (!IsIpLiteral(out.host)) {
      return Status::Error(fmt::format("address '{}': not an IPv6 address in brackets", address));
    }
  } else {
    const auto colon = address.find(':');
    if (colon != std::string_view::npos && address.find(':', colon + 1) != std::string_view::npos) {
      return Status::Error(fmt::format("address '{}': put an IPv6 host in brackets", address));
    }
    out.host = std::string(address.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = address.substr(colon + 1);
      has_port = true;
    }
    if (out.host.empty()) return Status::Error(fmt::format("address '{}': missing host", address));
    for (const char c : out.host) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_';
      if (!ok) {
        return Status::Error(
            fmt::format("address '{}': host is neither a name nor an IP address", address));
      }
    }
  }
  if (!has_port) {
    if (default_port == 0)
      return Status::Error(fmt::format("address '{}': missing ':port'", address));
    out.port = default_port;
    return out;
  }
  const auto port = text::ParseUint64(port_text);
  if (!port || *port == 0 || *port > 65535) {
    return Status::Error(
        fmt::format("address '{}': port must be a number from 1 to 65535", address));
  }
  out.port = static_cast<uint16_t>(*port);
  return out;
}

}  // namespace mingus::net
