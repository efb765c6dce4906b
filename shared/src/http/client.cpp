#include "mingus/http/client.h"

#include <fmt/format.h>
#include <zlib.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <sstream>

namespace mingus::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace asio = boost::asio;

std::string_view ClientResponse::Header(std::string_view lower_case_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_case_name) return value;
  }
  return {};
}

StatusOr<std::string> GunzipLimited(std::string_view data, size_t max_bytes) {
  z_stream stream{};
  if (inflateInit2(&stream, 15 + 16) != Z_OK) return Status::Error("gzip: cannot start inflate");
  std::string out;
  char buffer[64 * 1024];
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer);
    stream.avail_out = sizeof buffer;
    rc = inflate(&stream, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&stream);
      return Status::Error(fmt::format(
          "gzip: {}", stream.msg != nullptr ? stream.msg : "corrupt or truncated data"));
    }
    out.append(buffer, sizeof buffer - stream.avail_out);
    if (out.size() > max_bytes) {
      inflateEnd(&stream);
      return Status::Error(fmt::format("gzip: body larger than {} bytes", max_bytes));
    }
    if (rc == Z_OK && stream.avail_in == 0 && stream.avail_out != 0) {
      inflateEnd(&stream);
      return Status::Error("gzip: truncated data");
    }
  }
  inflateEnd(&stream);
  return out;
}

namespace {

// The URL as far as it can be shown: without "user:password@".
std::string WithoutUserinfo(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);
  const auto authority_start = scheme_end + 3;
  const auto authority_end = url.find_first_of("/?#", authority_start);
  const auto at = url.substr(0, authority_end).rfind('@');
  if (at == std::string_view::npos || at < authority_start) return std::string(url);
  return std::string(url.substr(0, authority_start)) + std::string(url.substr(at + 1));
}

std::string PercentDecode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() &&
        std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::string Base64(std::string_view data) {
  std::string out(beast::detail::base64::encoded_size(data.size()), '\0');
  out.resize(beast::detail::base64::encode(out.data(), data.data(), data.size()));
  return out;
}

bool HasHeader(const ClientOptions& options, std::string_view name) {
  for (const auto& header : options.headers) {
    if (beast::iequals(header.first, name)) return true;
  }
  return false;
}

// Feeds what the stream delivers into the parser until a whole response has arrived;
// `received` counts the bytes that came.
Status ReadResponse(net::Stream& stream, bhttp::response_parser<bhttp::string_body>& parser,
                    size_t& received) {
  std::string pending;
  char chunk[16 * 1024];
  beast::error_code ec;
  while (!parser.is_done()) {
    auto count = stream.ReadSome(chunk, sizeof chunk);
    if (!count.ok()) return count.status();
    if (*count == 0) {
      if (!parser.got_some()) return Status::Error("connection closed before a response");
      parser.put_eof(ec);
      if (ec)
        return Status::Error(ec == bhttp::error::partial_message
                                 ? "connection closed before the whole response"
                                 : ec.message());
      break;
    }
    received += *count;
    pending.append(chunk, *count);
    while (!pending.empty() && !parser.is_done()) {
      const size_t used = parser.put(asio::buffer(pending), ec);
      pending.erase(0, used);
      if (ec == bhttp::error::need_more) break;
      if (ec) return Status::Error(ec.message());
      if (used == 0) break;
    }
  }
  return OkStatus();
}

}  // namespace

StatusOr<ClientResponse> ReadClientResponse(net::Stream& stream, bool head, size_t max_body_bytes,
                                            size_t& received, bool& keep_alive) {
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(max_body_bytes);
  if (head) parser.skip(true);
  if (const Status read = ReadResponse(stream, parser, received); !read.ok()) return read;
  auto message = parser.release();
  keep_alive = message.keep_alive();
  ClientResponse out;
  out.status = static_cast<int>(message.result_int());
  for (const auto& field : message) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers.emplace_back(std::move(name), std::string(field.value()));
  }
  if (out.Header("content-encoding") == "gzip") {
    auto inflated = GunzipLimited(message.body(), max_body_bytes);
    if (!inflated.ok()) return inflated.status();
    out.body = std::move(inflated).value();
  } else {
    out.body = std::move(message.body());
  }
  return out;
}

std::string BasicAuthorization(std::string_view user, std::string_view password) {
  return "Basic " + Base64(std::string(user) + ":" + std::string(password));
}

std::string Url::ForDisplay(bool hide_target) const {
  return fmt::format("{}://{}{}", scheme, authority, hide_target ? "/..." : target);
}

StatusOr<Url> ParseUrl(std::string_view url) {
  Url out;
  const auto scheme_end = url.find("://");
  if (scheme_end != std::string_view::npos) {
    out.scheme = std::string(url.substr(0, scheme_end));
    for (char& c : out.scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (out.scheme != "http" && out.scheme != "https") {
    return Status::Error(
        fmt::format("{}: only http:// and https:// URLs are supported", WithoutUserinfo(url)));
  }
  std::string_view rest = url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find('#'));
  const auto authority_end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, authority_end);
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    out.userinfo = std::string(authority.substr(0, at));
    authority = authority.substr(at + 1);
  }
  out.authority = std::string(authority);
  auto endpoint = net::ParseEndpoint(authority, out.https() ? 443 : 80);
  if (!endpoint.ok()) {
    return Status::Error(fmt::format("{}: {}", WithoutUserinfo(url), endpoint.message()));
  }
  out.endpoint = std::move(endpoint).value();
  out.target =
      authority_end == std::string_view::npos ? "/" : std::string(rest.substr(authority_end));
  if (out.target.front() == '?') out.target.insert(0, "/");
  for (const char c : out.target) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      return Status::Error(fmt::format("{}: spaces or control characters in the path",
                                       out.ForDisplay(/*hide_target=*/true)));
    }
  }
  return out;
}

StatusOr<ClientResponse> HttpRequest(std::string_view method, const std::string& url,
                                     std::string_view body, const ClientOptions& options) {
  return KeepAliveClient().Request(method, url, body, options);
}

KeepAliveClient::KeepAliveClient() = default;
KeepAliveClient::~KeepAliveClient() = default;
KeepAliveClient::KeepAliveClient(KeepAliveClient&&) noexcept = default;
KeepAliveClient& KeepAliveClient::operator=(KeepAliveClient&&) noexcept = default;

StatusOr<ClientResponse> KeepAliveClient::Request(std::string_view method, const std::string& url,
                                                  std::string_view body,
                                                  const ClientOptions& options) {
  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  auto parsed = ParseUrl(url);
  if (!parsed.ok()) return parsed.status();
  const std::string shown = parsed->ForDisplay(options.secret_url);
  const auto fail = [&](std::string_view step, std::string_view reason) {
    connection_.reset();
    return Status::Error(fmt::format("{} {}: {}: {}", method, shown, step, reason));
  };
  const auto verb = bhttp::string_to_verb(method);
  if (verb == bhttp::verb::unknown) return fail("request", "unknown method");

  bhttp::request<bhttp::string_body> request{verb, parsed->target, 11};
  request.set(bhttp::field::host, parsed->authority);
  request.set(bhttp::field::user_agent, "mingus-collector");
  request.set(bhttp::field::accept,
              verb == bhttp::verb::get ? "text/plain;version=0.0.4;q=1,*/*;q=0.1" : "*/*");
  if (options.accept_gzip) request.set(bhttp::field::accept_encoding, "gzip");
  if (!parsed->userinfo.empty() && !HasHeader(options, "authorization")) {
    const auto colon = parsed->userinfo.find(':');
    const std::string user = PercentDecode(std::string_view(parsed->userinfo).substr(0, colon));
    const std::string password =
        colon == std::string::npos ? "" : PercentDecode(parsed->userinfo.substr(colon + 1));
    request.set(bhttp::field::authorization, BasicAuthorization(user, password));
  }
  for (const auto& [name, value] : options.headers) {
    // A line break in a header would start another header or the body: refused, value unshown.
    const bool bad = name.empty() || (name + value).find_first_of("\r\n") != std::string::npos;
    if (bad) return fail("request", fmt::format("bad header '{}'", name));
    request.set(name, value);
  }
  if (!body.empty() || verb == bhttp::verb::post || verb == bhttp::verb::put) {
    request.body() = std::string(body);
    request.prepare_payload();
  }
  std::ostringstream serialized;
  serialized << request;

  const std::string server =
      fmt::format("{}://{}:{} {}|{}|{}|{}|{}", parsed->scheme, parsed->endpoint.host,
                  parsed->endpoint.port, options.tls.ca_file, options.tls.server_name,
                  options.tls.insecure_skip_verify, options.tls.cert_file, options.tls.key_file);
  if (connected_to_ != server) connection_.reset();
  // At most two attempts: the second only when a kept connection turned out closed, and only
  // for a request that may be sent twice.
  const bool idempotent = verb == bhttp::verb::get || verb == bhttp::verb::head;
  for (bool reused = connection_ != nullptr;; reused = false) {
    if (reused) {
      connection_->SetDeadline(deadline);
    } else {
      auto opened = net::Connection::Open(parsed->endpoint.host, parsed->endpoint.port, deadline);
      if (!opened.ok()) return fail("connect", opened.message());
      connection_ = std::move(opened).value();
      connected_to_ = server;
      ++connections_opened_;
      if (parsed->https()) {
        if (const Status tls = connection_->StartTls(options.tls); !tls.ok()) {
          return fail("TLS handshake", tls.message());
        }
      }
    }
    size_t received = 0;
    Status exchanged = connection_->Write(serialized.str());
    const std::string_view step = exchanged.ok() ? "receive" : "send";
    if (exchanged.ok()) {
      bool keep_alive = false;
      auto response = ReadClientResponse(*connection_, verb == bhttp::verb::head,
                                         options.max_body_bytes, received, keep_alive);
      if (response.ok()) {
        if (!keep_alive) connection_.reset();
        return response;
      }
      exchanged = response.status();
    }
    if (reused && idempotent && received == 0 && std::chrono::steady_clock::now() < deadline) {
      connection_.reset();
      continue;
    }
    return fail(step, exchanged.message());
  }
}

}  // namespace mingus::http
