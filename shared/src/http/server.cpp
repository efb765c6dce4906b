#include "mingus/http/server.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>
#include <vector>

#include "detail/tls_context.h"
#include "mingus/common/address.h"
#include "mingus/http/basic_auth.h"
#include "mingus/http/gzip.h"

namespace mingus::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {
// What the server and a stream's writer need of a session, over TCP or TLS alike.
class SessionBase : public std::enable_shared_from_this<SessionBase> {
 public:
  virtual ~SessionBase() = default;
  virtual void Close() = 0;
  virtual void EndStream() = 0;
  virtual void Post(std::string data) = 0;
};

// What a stream's writer shares with its session: whether it has ended, and the session to
// post writes to while it has not.
struct StreamState {
  std::mutex mutex;
  bool closed = false;
  std::weak_ptr<SessionBase> session;
};
}  // namespace

struct Server::Impl {
  Impl(ServerOptions opts, std::shared_ptr<const Router> r)
      : options(std::move(opts)), router(std::move(r)) {}

  void Accept();

  const ServerOptions options;
  const std::shared_ptr<const Router> router;
  std::atomic<size_t> open_connections{0};
  std::atomic<uint64_t> refused{0};
  std::atomic<uint64_t> rejected{0};
  std::atomic<uint64_t> auth_failures{0};
  std::atomic<uint64_t> tls_handshake_failures{0};
  std::shared_ptr<net::ssl::context> tls;  // null: plain HTTP
  std::optional<BasicAuth> auth;           // none: no credentials asked
  std::atomic<size_t> open_streams{0};
  std::mutex streams_mutex;
  std::vector<std::weak_ptr<StreamState>> streams;  // to end them at Stop()
  std::mutex sessions_mutex;
  std::unordered_set<SessionBase*> sessions;  // to close their connections at Stop()
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
         ec == net::error::broken_pipe || ec == net::ssl::error::stream_truncated;
}

// What a session does to its connection beneath HTTP (and TLS): over TCP, or in memory
// (Server::ServeInMemory), where nothing waits (the client's bytes are all there), so there is
// no deadline to keep, and there is no peer address.
void ExpireAfter(beast::tcp_stream& tcp, std::chrono::milliseconds timeout) {
  tcp.expires_after(timeout);
}
void ExpireNever(beast::tcp_stream& tcp) { tcp.expires_never(); }
std::string PeerOf(beast::tcp_stream& tcp) {
  beast::error_code ignored;
  const auto peer = tcp.socket().remote_endpoint(ignored);
  return ignored ? "a client" : HostPort{peer.address().to_string(), peer.port()}.ToString();
}
void Disconnect(beast::tcp_stream& tcp) {
  beast::error_code ignored;
  tcp.socket().shutdown(tcp::socket::shutdown_send, ignored);
  tcp.socket().close(ignored);
}
void ExpireAfter(beast::test::stream&, std::chrono::milliseconds) {}
void ExpireNever(beast::test::stream&) {}
std::string PeerOf(beast::test::stream&) { return "an in-memory client"; }
void Disconnect(beast::test::stream& memory) { memory.close(); }

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

// One connection: beast::tcp_stream for HTTP, beast::ssl_stream over it for HTTPS,
// beast::test::stream in memory.
template <typename Stream>
class Session final : public SessionBase {
  static constexpr bool kTls = std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>;

 public:
  // `connection` is the accepted socket or the in-memory stream; `tls_context...` is the
  // server's ssl::context for HTTPS, nothing otherwise.
  template <typename Connection, typename... TlsContext>
  Session(Connection&& connection, Server::Impl& server, TlsContext&... tls_context)
      : stream_(std::move(connection), tls_context...), server_(server) {
    std::lock_guard lock(server_.sessions_mutex);
    server_.sessions.insert(this);
  }
  ~Session() override {
    {
      std::lock_guard lock(server_.sessions_mutex);
      server_.sessions.erase(this);
    }
    server_.open_connections.fetch_sub(1, std::memory_order_relaxed);
  }

  void Start() {
    net::dispatch(stream_.get_executor(), [self = Self()] {
      if constexpr (kTls) {
        self->Handshake();
      } else {
        self->ReadRequest();
      }
    });
  }

 private:
  std::shared_ptr<Session> Self() { return std::static_pointer_cast<Session>(shared_from_this()); }
  auto& Transport() { return beast::get_lowest_layer(stream_); }

  // A client gets read_timeout for its handshake, as for a request.
  void Handshake() {
    ExpireAfter(Transport(), server_.options.read_timeout);
    stream_.async_handshake(net::ssl::stream_base::server,
                            beast::bind_front_handler(&Session::OnHandshake, Self()));
  }

  void OnHandshake(beast::error_code ec) {
    if (ec) {
      server_.tls_handshake_failures.fetch_add(1, std::memory_order_relaxed);
      spdlog::debug("TLS handshake with {} failed: {}", Peer(), ec.message());
      return Close();
    }
    ReadRequest();
  }

  std::string Peer() { return PeerOf(Transport()); }

  void ReadRequest() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(server_.options.max_header_bytes));
    parser_->body_limit(server_.options.max_body_bytes);
    ExpireAfter(Transport(), server_.options.read_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&Session::OnRead, Self()));
  }

  void OnRead(beast::error_code ec, size_t) {
    if (ec == beast::error::timeout) {
      // Idle keep-alive connections time out normally; a half-sent request is a slow client,
      // whether its bytes were parsed or only buffered. (What is still in the socket cannot be
      // asked: the timeout has closed it.)
      if (parser_->got_some() || buffer_.size() > 0) {
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
    if (server_.auth && !server_.auth->Allows(request.Header("authorization"))) {
      // Counted, and logged without the credentials.
      server_.auth_failures.fetch_add(1, std::memory_order_relaxed);
      spdlog::debug("{} {} from {}: no valid basic auth credentials", request.method, request.path,
                    Peer());
      Response denied = Response::Text(401, "Unauthorized\n");
      denied.headers.emplace_back("WWW-Authenticate", R"(Basic realm="mingus")");
      return Send(std::move(denied), version, keep_alive, false, request.method == "HEAD");
    }
    Response response = server_.router->Route(request);
    if (response.on_stream && request.method != "HEAD") {
      return StartStream(std::move(response), version);
    }
    response.on_stream = nullptr;
    const bool gzip = response.compressible && request.AcceptsGzip();
    Send(std::move(response), version, keep_alive, gzip, request.method == "HEAD");
  }

  void Send(Response&& response, unsigned version, bool keep_alive, bool gzip, bool head = false) {
    auto& out = response_.emplace(static_cast<bhttp::status>(response.status), version);
    out.set(bhttp::field::server, "mingus");
    out.set(bhttp::field::content_type, response.content_type);
    for (const auto& [name, value] : server_.options.web_config.headers) out.set(name, value);
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
    // A 304 has no body, and a Content-Length on it would have to be the 200's (RFC 9110 8.6).
    if (response.status == 304) out.erase(bhttp::field::content_length);
    if (head) out.body().clear();
    ExpireAfter(Transport(), server_.options.write_timeout);
    bhttp::async_write(stream_, out,
                       beast::bind_front_handler(&Session::OnWrite, Self(), keep_alive));
  }

  void OnWrite(bool keep_alive, beast::error_code ec, size_t) {
    response_.reset();
    if (ec || !keep_alive) return Close();
    WaitForRequest();
  }

  // Between keep-alive requests: up to idle_timeout for the next request's first bytes, then
  // read_timeout for the rest of it (ReadRequest), so that a slow client gains nothing here.
  void WaitForRequest() {
    if (buffer_.size() > 0) return ReadRequest();  // pipelined: it has begun already
    ExpireAfter(Transport(), server_.options.idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096),
                            beast::bind_front_handler(&Session::OnRequestBegun, Self()));
  }

  void OnRequestBegun(beast::error_code ec, size_t received) {
    if (ec) return Close();  // idle too long, or the client left
    buffer_.commit(received);
    ReadRequest();
  }

 public:
  // Without a TLS close_notify: the responses carry their length, so clients lose nothing.
  void Close() override { Disconnect(Transport()); }

 public:
  // ---- streamed responses: the head and body now, then what the writer is given, until the
  // client goes, falls behind, or the server stops. Runs on the session's strand except
  // EndStream from Server::Stop, which runs when no thread runs the io_context any more.

  void Post(std::string data) override {
    net::post(stream_.get_executor(), [self = Self(), data = std::move(data)]() mutable {
      self->Enqueue(std::move(data));
    });
  }

  void EndStream() override {
    if (stream_ended_) return;
    stream_ended_ = true;
    {
      std::lock_guard lock(stream_state_->mutex);
      stream_state_->closed = true;
    }
    server_.open_streams.fetch_sub(1, std::memory_order_relaxed);
    if (write_timer_) write_timer_->cancel();
    Close();
  }

 private:
  void StartStream(Response&& response, unsigned version) {
    const size_t open = server_.open_streams.fetch_add(1, std::memory_order_relaxed);
    if (open >= server_.options.max_streams) {
      server_.open_streams.fetch_sub(1, std::memory_order_relaxed);
      Response busy = Response::JsonError(503, "too many open streams");
      busy.headers.emplace_back("Retry-After", "5");
      return Send(std::move(busy), version, false, false);
    }
    stream_state_ = std::make_shared<StreamState>();
    stream_state_->session = weak_from_this();
    {
      std::lock_guard lock(server_.streams_mutex);
      std::erase_if(server_.streams, [](const auto& state) { return state.expired(); });
      server_.streams.push_back(stream_state_);
    }
    write_timer_.emplace(stream_.get_executor());
    ExpireNever(Transport());
    // No Content-Length and no chunking: the body ends with the connection, which every
    // HTTP/1.x client (and EventSource) reads as the end of the stream.
    const auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(response.status));
    std::string head = fmt::format(
        "HTTP/{}.{} {} {}\r\nServer: mingus\r\nContent-Type: {}\r\n", version / 10, version % 10,
        response.status, std::string_view(reason.data(), reason.size()), response.content_type);
    for (const auto& [name, value] : server_.options.web_config.headers) {
      head += fmt::format("{}: {}\r\n", name, value);
    }
    for (const auto& [name, value] : response.headers) {
      head += fmt::format("{}: {}\r\n", name, value);
    }
    head += "Connection: close\r\n\r\n";
    Enqueue(std::move(head) + response.body);
    WatchForClose();
    response.on_stream(std::make_shared<Writer>(stream_state_));
  }

  void Enqueue(std::string data) {
    if (stream_ended_ || data.empty()) return;
    if (queued_bytes_ + data.size() > server_.options.max_stream_buffer_bytes) {
      spdlog::debug("dropping a stream whose client is {} bytes behind", queued_bytes_);
      return EndStream();
    }
    queued_bytes_ += data.size();
    queue_.push_back(std::move(data));
    if (!writing_) WriteNext();
  }

  void WriteNext() {
    writing_ = true;
    const uint64_t write = ++writes_;
    write_timer_->expires_after(server_.options.write_timeout);
    write_timer_->async_wait([self = Self(), write](beast::error_code ec) {
      // The client has not taken this write in time.
      if (!ec && self->writing_ && self->writes_ == write) self->EndStream();
    });
    net::async_write(stream_, net::buffer(queue_.front()),
                     beast::bind_front_handler(&Session::OnStreamWrite, Self()));
  }

  void OnStreamWrite(beast::error_code ec, size_t) {
    writing_ = false;
    write_timer_->cancel();
    if (ec || stream_ended_) return EndStream();
    queued_bytes_ -= queue_.front().size();
    queue_.pop_front();
    if (!queue_.empty()) WriteNext();
  }

  // A stream's client sends nothing more; a read that ends is the client going away.
  void WatchForClose() {
    stream_.async_read_some(net::buffer(discard_), [self = Self()](beast::error_code ec, size_t) {
      if (ec || self->stream_ended_) return self->EndStream();
      self->WatchForClose();
    });
  }

  class Writer final : public StreamWriter {
   public:
    explicit Writer(std::shared_ptr<StreamState> state) : state_(std::move(state)) {}
    bool Write(std::string data) override {
      std::lock_guard lock(state_->mutex);
      if (state_->closed) return false;
      const auto session = state_->session.lock();
      if (!session) return false;
      session->Post(std::move(data));
      return true;
    }
    bool open() const override {
      std::lock_guard lock(state_->mutex);
      return !state_->closed;
    }

   private:
    std::shared_ptr<StreamState> state_;
  };

  Stream stream_;
  Server::Impl& server_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::response<bhttp::string_body>> response_;
  // A streamed response's state.
  std::shared_ptr<StreamState> stream_state_;
  std::optional<net::steady_timer> write_timer_;
  std::deque<std::string> queue_;
  size_t queued_bytes_ = 0;
  bool writing_ = false;
  uint64_t writes_ = 0;
  bool stream_ended_ = false;
  char discard_[512];
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
      if (tls) {
        std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(std::move(socket), *this,
                                                                        *tls)
            ->Start();
      } else {
        std::make_shared<Session<beast::tcp_stream>>(std::move(socket), *this)->Start();
      }
    }
    Accept();
  });
}

Server::Server(ServerOptions options, std::shared_ptr<const Router> router)
    : impl_(std::make_shared<Impl>(std::move(options), std::move(router))) {
  if (!impl_->options.web_config.basic_auth_users.empty()) {
    impl_->auth.emplace(impl_->options.web_config.basic_auth_users);
  }
}

Server::~Server() { Stop(); }

StatusOr<std::string> Server::Start() {
  const auto address = ParseHostPort(impl_->options.listen_address);
  if (!address.ok()) return address.status();
  const WebConfig& web_config = impl_->options.web_config;
  if (web_config.tls.enabled()) {
    auto context = detail::MakeServerTlsContext(web_config.tls);
    if (!context.ok()) {
      return Status::Error(
          fmt::format("{}: tls_server_config.{}", web_config.file, context.message()));
    }
    impl_->tls = std::move(context).value();
  }
  beast::error_code ec;
  const auto ip = net::ip::make_address(address->host, ec);
  if (ec) return Status::Error(fmt::format("listen address '{}': {}", address->host, ec.message()));
  const tcp::endpoint endpoint(ip, address->port);
  auto& acceptor = impl_->acceptor.emplace(impl_->ioc);
  impl_->accept_retry.emplace(impl_->ioc);
  const auto fail = [&](std::string_view step) {
    return Status::Error(
        fmt::format("listen on {}: {}: {}", address->ToString(), step, ec.message()));
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
  std::vector<std::shared_ptr<StreamState>> streams;
  {
    std::lock_guard lock(impl_->streams_mutex);
    for (const auto& weak : impl_->streams) {
      if (auto state = weak.lock()) streams.push_back(std::move(state));
    }
    impl_->streams.clear();
  }
  for (const auto& state : streams) {  // writers stop posting from now on
    std::lock_guard lock(state->mutex);
    state->closed = true;
  }
  impl_->ioc.stop();
  for (auto& thread : impl_->threads) thread.join();
  impl_->threads.clear();
  // No thread runs the io_context any more: close the streams' connections from here, so that
  // their clients see the end now rather than when the server is destroyed.
  for (const auto& state : streams) {
    if (auto session = state->session.lock()) session->EndStream();
  }
  // Kept-alive connections waiting for their next request would stay open until the
  // io_context is destroyed: close them too, so that their clients see the end now.
  {
    std::lock_guard lock(impl_->sessions_mutex);
    for (SessionBase* session : impl_->sessions) session->Close();
  }
  // No thread runs the io_context any more, so the acceptor may be closed from here.
  beast::error_code ignored;
  impl_->acceptor->close(ignored);
}

std::string Server::ServeInMemory(std::string_view received) {
  net::io_context ioc;
  beast::test::stream client(ioc), connection(ioc);
  client.connect(connection);
  connection.append(received);
  connection.close_remote();  // the session reads the end of the stream after the bytes
  impl_->open_connections.fetch_add(1, std::memory_order_relaxed);
  std::make_shared<Session<beast::test::stream>>(std::move(connection), *impl_)->Start();
  ioc.run();
  return std::string(client.str());
}

uint64_t Server::refused_connections() const { return impl_->refused.load(); }
uint64_t Server::rejected_requests() const { return impl_->rejected.load(); }
uint64_t Server::auth_failures() const { return impl_->auth_failures.load(); }
uint64_t Server::tls_handshake_failures() const { return impl_->tls_handshake_failures.load(); }
size_t Server::open_streams() const { return impl_->open_streams.load(); }

}  // namespace mingus::http
