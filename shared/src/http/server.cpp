#include "mingus/http/server.h"

#include <atomic>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "mingus/common/address.h"
#include "mingus/http/gzip.h"

namespace mingus::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

struct Server::Impl {
  Impl(ServerOptions opts, std::shared_ptr<const Router> r)
      : options(std::move(opts)), router(std::move(r)) {}

  void Accept();

  const ServerOptions options;
  const std::shared_ptr<const Router> router;
  std::atomic<size_t> open_connections{0};
  std::atomic<uint64_t> refused{0};
  std::atomic<uint64_t> rejected{0};
  std::vector<std::thread> threads;
  bool running = false;
  // Sessions owned by pending handlers die with the io_context and touch the counters above
  // in their destructors, so the io_context is declared after them.
  net::io_context ioc;
  std::optional<tcp::acceptor> acceptor;
  std::optional<net::steady_timer> accept_retry;
};

namespace {

bool IsDisconnect(const beast::error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == net::error::eof ||
         ec == net::error::connection_reset || ec == net::error::operation_aborted ||
         ec == net::error::broken_pipe;
}

Request ToRequest(bhttp::request<bhttp::string_body>&& in) {
  Request request = Request::Make(std::string(in.method_string()), std::string(in.target()));
  request.headers.reserve(8);
  for (const auto& field : in) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    request.headers.emplace_back(std::move(name), std::string(field.value()));
  }
  request.body = std::move(in.body());
  return request;
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, Server::Impl& server) : stream_(std::move(socket)), server_(server) {}
  ~Session() { server_.open_connections.fetch_sub(1, std::memory_order_relaxed); }

  void Start() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::ReadRequest, shared_from_this()));
  }

 private:
  void ReadRequest() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(server_.options.max_header_bytes));
    parser_->body_limit(server_.options.max_body_bytes);
    stream_.expires_after(server_.options.read_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, size_t) {
    if (ec == beast::error::timeout) {
      // Idle keep-alive connections time out normally; a half-sent request is a slow client,
      // whether its bytes were parsed, buffered, or are still waiting in the socket.
      beast::error_code ignored;
      if (parser_->got_some() || buffer_.size() > 0 || stream_.socket().available(ignored) > 0) {
        server_.rejected.fetch_add(1, std::memory_order_relaxed);
      }
      return Close();
    }
    if (IsDisconnect(ec)) return Close();
    if (ec) {
      server_.rejected.fetch_add(1, std::memory_order_relaxed);
      const int status = ec == bhttp::error::header_limit ? 431
                         : ec == bhttp::error::body_limit ? 413
                                                          : 400;
      return Send(Response::JsonError(status, "bad request: " + ec.message()), 11, false, false);
    }
    auto message = parser_->release();
    const bool keep_alive = message.keep_alive();
    const unsigned version = message.version();
    const Request request = ToRequest(std::move(message));
    Response response = server_.router->Route(request);
    const bool gzip = response.compressible && request.AcceptsGzip();
    Send(std::move(response), version, keep_alive, gzip, request.method == "HEAD");
  }

  void Send(Response&& response, unsigned version, bool keep_alive, bool gzip,
            bool head = false) {
    auto& out = response_.emplace(static_cast<bhttp::status>(response.status), version);
    out.set(bhttp::field::server, "mingus");
    out.set(bhttp::field::content_type, response.content_type);
    for (auto& [name, value] : response.headers) out.set(name, value);
    if (gzip) {
      out.body() = GzipCompress(response.body);
      out.set(bhttp::field::content_encoding, "gzip");
      out.set(bhttp::field::vary, "Accept-Encoding");
    } else {
      out.body() = std::move(response.body);
    }
    out.keep_alive(keep_alive);
    out.prepare_payload();
    if (head) out.body().clear();
    stream_.expires_after(server_.options.write_timeout);
    bhttp::async_write(stream_, out,
                       beast::bind_front_handler(&Session::OnWrite, shared_from_this(), keep_alive));
  }

  void OnWrite(bool keep_alive, beast::error_code ec, size_t) {
    response_.reset();
    if (ec || !keep_alive) return Close();
    ReadRequest();
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  Server::Impl& server_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::response<bhttp::string_body>> response_;
};

}  // namespace

void Server::Impl::Accept() {
  acceptor->async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted) return;
    if (ec) {
      // Typically EMFILE: wait instead of spinning, the limit may lift as connections close.
      spdlog::warn("accept failed: {}", ec.message());
      accept_retry->expires_after(std::chrono::milliseconds(100));
      accept_retry->async_wait([this](beast::error_code wait_ec) {
        if (!wait_ec) Accept();
      });
      return;
    }
    if (open_connections.load(std::memory_order_relaxed) >= options.max_connections) {
      refused.fetch_add(1, std::memory_order_relaxed);
      beast::error_code ignored;
      socket.close(ignored);
    } else {
      open_connections.fetch_add(1, std::memory_order_relaxed);
      std::make_shared<Session>(std::move(socket), *this)->Start();
    }
    Accept();
  });
}

Server::Server(ServerOptions options, std::shared_ptr<const Router> router)
    : impl_(std::make_shared<Impl>(std::move(options), std::move(router))) {}

Server::~Server() { Stop(); }

StatusOr<std::string> Server::Start() {
  const auto address = ParseHostPort(impl_->options.listen_address);
  if (!address.ok()) return address.status();
  beast::error_code ec;
  const auto ip = net::ip::make_address(address->host, ec);
  if (ec) return Status::Error(fmt::format("listen address '{}': {}", address->host, ec.message()));
  const tcp::endpoint endpoint(ip, address->port);
  auto& acceptor = impl_->acceptor.emplace(impl_->ioc);
  impl_->accept_retry.emplace(impl_->ioc);
  const auto fail = [&](std::string_view step) {
    return Status::Error(fmt::format("listen on {}: {}: {}", address->ToString(), step, ec.message()));
  };
  if (acceptor.open(endpoint.protocol(), ec)) return fail("open");
  if (acceptor.set_option(net::socket_base::reuse_address(true), ec)) return fail("setsockopt");
  if (acceptor.bind(endpoint, ec)) return fail("bind");
  if (acceptor.listen(net::socket_base::max_listen_connections, ec)) return fail("listen");
  const auto bound = acceptor.local_endpoint(ec);
  if (ec) return fail("getsockname");

  impl_->Accept();
  impl_->running = true;
  for (int i = 0; i < std::max(1, impl_->options.threads); ++i) {
    impl_->threads.emplace_back([impl = impl_.get()] { impl->ioc.run(); });
  }
  return HostPort{bound.address().to_string(), bound.port()}.ToString();
}

void Server::Stop() {
  if (!impl_->running) return;
  impl_->running = false;
  impl_->ioc.stop();
  for (auto& thread : impl_->threads) thread.join();
  impl_->threads.clear();
  // No thread runs the io_context any more, so the acceptor may be closed from here.
  beast::error_code ignored;
  impl_->acceptor->close(ignored);
}

uint64_t Server::refused_connections() const { return impl_->refused.load(); }
uint64_t Server::rejected_requests() const { return impl_->rejected.load(); }

}  // namespace mingus::http
