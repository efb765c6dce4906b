#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mingus/http/message.h"

// The web dashboard's files, embedded into the binary at build time (cmake/web_assets.cmake: the
// page from collector/web/src plus uPlot from the npm registry), served at / and /static/...
namespace mingus::collector::api {

// One embedded file.
struct WebAsset {
  std::string_view path;  // the URL path: "/" or "/static/app.js"
  std::string_view data;
  std::string_view etag;  // a strong validator, quoted: "\"3f2a...\""
};

// Every embedded file (generated: web_assets.cpp in the build directory).
std::span<const WebAsset> EmbeddedWebAssets();

// Content-Type by the path's extension; text types in UTF-8. Unknown: application/octet-stream.
std::string_view ContentTypeFor(std::string_view path);

// Serves `assets` by exact path, with ETag and If-None-Match (304), Cache-Control: no-cache (the
// browser revalidates, so a new build shows at once), a gzip copy made once at construction for
// clients that accept it, and a Content-Security-Policy on pages that allows only this origin.
// Immutable after construction: thread-safe.
class WebUi {
 public:
  explicit WebUi(std::span<const WebAsset> assets);

  // 200, 304, or a 404 for a path that is not embedded.
  http::Response Serve(const http::Request& request) const;

 private:
  struct File {
    std::string_view path;
    std::string_view content_type;
    std::string_view data;
    std::string gzip;  // empty when gzip would not be smaller
    std::string etag;
    std::string gzip_etag;
  };
  const File* Find(std::string_view path) const;

  std::vector<File> files_;  // sorted by path
};

// GET (and so HEAD) / and every /static/... path from a WebUi of `assets` that the routes own;
// replaces a / registered before (the daemons' plain index page).
void RegisterWebUi(http::Router& router, std::span<const WebAsset> assets = EmbeddedWebAssets());

}  // namespace mingus::collector::api
