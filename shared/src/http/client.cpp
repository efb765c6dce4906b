#include "mingus/http/client.h"

#include <zlib.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include "mingus/common/address.h"

namespace mingus::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

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
      return Status::Error(fmt::format("gzip: {}", stream.msg != nullptr ? stream.msg : "corrupt or truncated data"));
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

StatusOr<ClientResponse> HttpGet(const std::string& url, const ClientOptions& options) {
  constexpr std::string_view kScheme = "http://";
  if (url.compare(0, kScheme.size(), kScheme) != 0) {
    return Status::Error(fmt::format("{}: only http:// URLs are supported", url));
  }
  const std::string_view rest = std::string_view(url).substr(kScheme.size());
  const auto slash = rest.find('/');
  const auto address = ParseHostPort(rest.substr(0, slash));
  if (!address.ok()) return Status::Error(fmt::format("{}: {}", url, address.message()));
  const std::string target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));

  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  beast::error_code ec;
  const auto ip = net::ip::make_address(address->host, ec);
  if (ec) return Status::Error(fmt::format("{}: {}", url, ec.message()));
  const auto fail = [&](std::string_view step, const beast::error_code& error) {
    return Status::Error(fmt::format("GET {}: {}: {}", url, step,
                                     error == beast::error::timeout ? "timed out" : error.message()));
  };

  bhttp::request<bhttp::empty_body> request{bhttp::verb::get, target, 11};
  request.set(bhttp::field::host, address->ToString());
  request.set(bhttp::field::user_agent, "mingus-collector");
  request.set(bhttp::field::accept, "text/plain;version=0.0.4;q=1,*/*;q=0.1");
  if (options.accept_gzip) request.set(bhttp::field::accept_encoding, "gzip");
  for (const auto& [name, value] : options.headers) request.set(name, value);

  // One deadline for the whole exchange, run on this thread's io_context.
  ClientResponse out;
  beast::error_code result;
  const char* step = "connect";
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(options.max_body_bytes);
  stream.expires_after(options.timeout);
  stream.async_connect(tcp::endpoint(ip, address->port), [&](beast::error_code connect_ec) {
    if (connect_ec) {
      result = connect_ec;
      return;
    }
    step = "send";
    bhttp::async_write(stream, request, [&](beast::error_code write_ec, size_t) {
      if (write_ec) {
        result = write_ec;
        return;
      }
      step = "receive";
      bhttp::async_read(stream, buffer, parser, [&](beast::error_code read_ec, size_t) { result = read_ec; });
    });
  });
  ioc.run();
  if (result) return fail(step, result);

  auto message = parser.release();
  out.status = static_cast<int>(message.result_int());
  for (const auto& field : message) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers.emplace_back(std::move(name), std::string(field.value()));
  }
  if (out.Header("content-encoding") == "gzip") {
    auto inflated = GunzipLimited(message.body(), options.max_body_bytes);
    if (!inflated.ok()) return Status::Error(fmt::format("GET {}: {}", url, inflated.message()));
    out.body = std::move(inflated).value();
  } else {
    out.body = std::move(message.body());
  }
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  return out;
}

}  // namespace mingus::http
