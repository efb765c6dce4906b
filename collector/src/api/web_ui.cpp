#include "mingus/collector/api/web_ui.h"

#include <algorithm>
#include <memory>

#include "mingus/http/gzip.h"

namespace mingus::collector::api {

namespace {

// Only this origin: no inline script or style (the page builds its DOM from text nodes, and a
// policy is a second wall should that ever slip), no framing, no plugins.
constexpr std::string_view kPagePolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";

bool IsPage(std::string_view content_type) { return content_type.starts_with("text/html"); }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// If-None-Match uses the weak comparison: W/"x" matches "x"; "*" matches any.
bool NoneMatchHits(std::string_view header, std::string_view etag, std::string_view gzip_etag) {
  while (!header.empty()) {
    const auto comma = header.find(',');
    std::string_view tag = Trim(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    if (tag == "*") return true;
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag.empty()) continue;
    if (tag == etag || (!gzip_etag.empty() && tag == gzip_etag)) return true;
  }
  return false;
}

}  // namespace

std::string_view ContentTypeFor(std::string_view path) {
  const auto dot = path.rfind('.');
  const auto slash = path.rfind('/');
  if (path.empty() || path.back() == '/') return "text/html; charset=utf-8";  // "/": the page
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) {
    return "application/octet-stream";
  }
  const std::string_view ext = path.substr(dot + 1);
  if (ext == "html") return "text/html; charset=utf-8";
  if (ext == "js" || ext == "mjs") return "text/javascript; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "json" || ext == "map") return "application/json";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "png") return "image/png";
  if (ext == "ico") return "image/x-icon";
  if (ext == "txt") return "text/plain; charset=utf-8";
  if (ext == "woff2") return "font/woff2";
  return "application/octet-stream";
}

WebUi::WebUi(std::span<const WebAsset> assets) {
  files_.reserve(assets.size());
  for (const auto& asset : assets) {
    File file{.path = asset.path,
              .content_type = ContentTypeFor(asset.path),
              .data = asset.data,
              .etag = std::string(asset.etag)};
    const bool text = file.content_type.starts_with("text/") ||
                      file.content_type.starts_with("application/json") ||
                      file.content_type.starts_with("image/svg");
    if (text && asset.data.size() > 256) {
      std::string packed = http::GzipCompress(asset.data, 9);
      if (packed.size() < asset.data.size()) {
        file.gzip = std::move(packed);
        // A representation of its own: the same tag with a suffix inside the quotes.
        file.gzip_etag = file.etag.size() >= 2 && file.etag.back() == '"'
                             ? file.etag.substr(0, file.etag.size() - 1) + "-gzip\""
                             : file.etag + "-gzip";
      }
    }
    files_.push_back(std::move(file));
  }
  std::sort(files_.begin(), files_.end(),
            [](const File& a, const File& b) { return a.path < b.path; });
}

const WebUi::File* WebUi::Find(std::string_view path) const {
  const auto it =
      std::lower_bound(files_.begin(), files_.end(), path,
                       [](const File& file, std::string_view p) { return file.path < p; });
  return it != files_.end() && it->path == path ? &*it : nullptr;
}

http::Response WebUi::Serve(const http::Request& request) const {
  const File* file = Find(request.path);
  if (file == nullptr) {
    http::Response missing = http::Response::Text(404, "404 page not found\n");
    missing.headers.emplace_back("X-Content-Type-Options", "nosniff");
    return missing;
  }
  const bool gzip = !file->gzip.empty() && request.AcceptsGzip();
  http::Response response;
  response.content_type = std::string(file->content_type);
  response.headers = {{"ETag", gzip ? file->gzip_etag : file->etag},
                      {"Cache-Control", "no-cache"},
                      {"X-Content-Type-Options", "nosniff"}};
  if (!file->gzip.empty()) response.headers.emplace_back("Vary", "Accept-Encoding");
  if (IsPage(file->content_type)) {
    response.headers.emplace_back("Content-Security-Policy", std::string(kPagePolicy));
    response.headers.emplace_back("Referrer-Policy", "no-referrer");
  }
  if (NoneMatchHits(request.Header("if-none-match"), file->etag, file->gzip_etag)) {
    response.status = 304;
    return response;
  }
  response.status = 200;
  if (gzip) {
    response.body = file->gzip;
    response.headers.emplace_back("Content-Encoding", "gzip");
  } else {
    response.body = std::string(file->data);
  }
  return response;
}

void RegisterWebUi(http::Router& router, std::span<const WebAsset> assets) {
  auto ui = std::make_shared<const WebUi>(assets);
  router.Handle("GET", "/", [ui](const http::Request& request) { return ui->Serve(request); });
  router.HandlePrefix("GET", "/static/",
                      [ui](const http::Request& request) { return ui->Serve(request); });
}

}  // namespace mingus::collector::api
