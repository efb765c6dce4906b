#include "mingus/collector/api/web_ui.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <regex>
#include <set>
#include <string>

namespace mingus::collector::api {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

std::string Header(const http::Response& response, std::string_view name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return "";
}

http::Request Get(std::string target,
                  std::vector<std::pair<std::string, std::string>> headers = {}) {
  http::Request request = http::Request::Make("GET", std::move(target));
  request.headers = std::move(headers);
  return request;
}

std::string Gunzip(const std::string& data) {
  z_stream stream{};
  EXPECT_EQ(inflateInit2(&stream, 16 + MAX_WBITS), Z_OK);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buffer[4096];
  int rc = Z_OK;
  while (rc == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer);
    stream.avail_out = sizeof buffer;
    rc = inflate(&stream, Z_NO_FLUSH);
    out.append(buffer, sizeof buffer - stream.avail_out);
  }
  EXPECT_EQ(rc, Z_STREAM_END);
  inflateEnd(&stream);
  return out;
}

const std::string kScript = "export const x = 1;\n" + std::string(2000, ' ') + "// padding\n";
const WebAsset kAssets[] = {
    {"/", "<!DOCTYPE html><title>t</title>", "\"page\""},
    {"/static/app.js", kScript, "\"script\""},
    {"/static/tiny.css", "a{}", "\"tiny\""},
    {"/static/icon.png", std::string_view("\x89PNG", 4), "\"icon\""},
};

TEST(ContentTypeFor, ByExtension) {
  EXPECT_EQ(ContentTypeFor("/"), "text/html; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("/static/index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("/static/app.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("/static/m.mjs"), "text/javascript; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("/static/vendor/uPlot.min.css"), "text/css; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("/static/favicon.svg"), "image/svg+xml");
  EXPECT_EQ(ContentTypeFor("/static/a.png"), "image/png");
  EXPECT_EQ(ContentTypeFor("/static/data.json"), "application/json");
  EXPECT_EQ(ContentTypeFor("/static/README"), "application/octet-stream");
  EXPECT_EQ(ContentTypeFor("/static.d/README"), "application/octet-stream");
}

TEST(WebUi, ServesEachFileWithItsTypeValidatorAndCachePolicy) {
  const WebUi ui(kAssets);
  const http::Response page = ui.Serve(Get("/"));
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.body, "<!DOCTYPE html><title>t</title>");
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(Header(page, "ETag"), "\"page\"");
  EXPECT_EQ(Header(page, "Cache-Control"), "no-cache");
  EXPECT_EQ(Header(page, "X-Content-Type-Options"), "nosniff");
  // Only this origin: no inline script, no CDN.
  EXPECT_THAT(Header(page, "Content-Security-Policy"), HasSubstr("script-src 'self';"));
  EXPECT_THAT(Header(page, "Content-Security-Policy"), HasSubstr("default-src 'self'"));
  EXPECT_THAT(Header(page, "Content-Security-Policy"), Not(HasSubstr("unsafe-inline")));

  const http::Response script = ui.Serve(Get("/static/app.js"));
  EXPECT_EQ(script.status, 200);
  EXPECT_EQ(script.body, kScript);
  EXPECT_EQ(script.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(Header(script, "Content-Security-Policy"), "");
  EXPECT_EQ(Header(script, "Vary"), "Accept-Encoding");

  const http::Response icon = ui.Serve(Get("/static/icon.png"));
  EXPECT_EQ(icon.body, std::string_view("\x89PNG", 4));
  EXPECT_EQ(icon.content_type, "image/png");
}

TEST(WebUi, UnknownPathsAre404) {
  const WebUi ui(kAssets);
  EXPECT_EQ(ui.Serve(Get("/static/nope.js")).status, 404);
  EXPECT_EQ(ui.Serve(Get("/static/")).status, 404);
  EXPECT_EQ(ui.Serve(Get("/static/app.js/")).status, 404);
  EXPECT_EQ(ui.Serve(Get("/static/../static/app.js")).status, 404);
}

TEST(WebUi, GzipsTextOnceForClientsThatAcceptIt) {
  const WebUi ui(kAssets);
  const http::Response packed = ui.Serve(Get("/static/app.js", {{"accept-encoding", "gzip, br"}}));
  EXPECT_EQ(packed.status, 200);
  EXPECT_EQ(Header(packed, "Content-Encoding"), "gzip");
  EXPECT_EQ(Header(packed, "ETag"), "\"script-gzip\"");
  EXPECT_LT(packed.body.size(), kScript.size());
  EXPECT_EQ(Gunzip(packed.body), kScript);
  // Already compressed: the server must not gzip it again.
  EXPECT_FALSE(packed.compressible);

  const http::Response refused = ui.Serve(Get("/static/app.js", {{"accept-encoding", "gzip;q=0"}}));
  EXPECT_EQ(Header(refused, "Content-Encoding"), "");
  EXPECT_EQ(refused.body, kScript);

  // Too small to gain: sent as is, and nothing varies.
  const http::Response tiny = ui.Serve(Get("/static/tiny.css", {{"accept-encoding", "gzip"}}));
  EXPECT_EQ(tiny.body, "a{}");
  EXPECT_EQ(Header(tiny, "Content-Encoding"), "");
  EXPECT_EQ(Header(tiny, "Vary"), "");
}

TEST(WebUi, IfNoneMatchAnswers304) {
  const WebUi ui(kAssets);
  for (const std::string tag :
       {"\"script\"", "W/\"script\"", "\"other\", \"script\"", "*", "\"script-gzip\""}) {
    const http::Response response = ui.Serve(Get("/static/app.js", {{"if-none-match", tag}}));
    EXPECT_EQ(response.status, 304) << tag;
    EXPECT_THAT(response.body, IsEmpty()) << tag;
    EXPECT_EQ(Header(response, "ETag"), "\"script\"") << tag;
    EXPECT_EQ(Header(response, "Cache-Control"), "no-cache") << tag;
  }
  for (const std::string tag : {"\"other\"", "\"scrip\"", "", "W/", "script"}) {
    EXPECT_EQ(ui.Serve(Get("/static/app.js", {{"if-none-match", tag}})).status, 200) << tag;
  }
  const http::Response gzip_revalidated = ui.Serve(
      Get("/static/app.js", {{"if-none-match", "\"script-gzip\""}, {"accept-encoding", "gzip"}}));
  EXPECT_EQ(gzip_revalidated.status, 304);
  EXPECT_EQ(Header(gzip_revalidated, "ETag"), "\"script-gzip\"");
}

TEST(RegisterWebUi, ReplacesTheIndexAndServesStaticPaths) {
  http::Router router;
  router.Handle("GET", "/",
                [](const http::Request&) { return http::Response::Text(200, "index"); });
  RegisterWebUi(router, kAssets);
  EXPECT_EQ(router.Route(Get("/")).body, "<!DOCTYPE html><title>t</title>");
  EXPECT_EQ(router.Route(Get("/static/app.js")).body, kScript);
  EXPECT_EQ(router.Route(http::Request::Make("HEAD", "/static/app.js")).status, 200);
  EXPECT_EQ(router.Route(Get("/static/missing.js")).status, 404);
  EXPECT_EQ(router.Route(http::Request::Make("POST", "/")).status, 405);
}

// The files the build embedded: the page, its modules and uPlot; every local reference of the
// page resolves to an embedded file, and nothing is loaded from another origin.
TEST(EmbeddedWebAssets, HoldThePageItsModulesAndUplot) {
  std::set<std::string> paths;
  for (const auto& asset : EmbeddedWebAssets()) {
    EXPECT_FALSE(asset.data.empty()) << asset.path;
    EXPECT_THAT(std::string(asset.etag), ::testing::MatchesRegex("\"[0-9a-f]{32}\"")) << asset.path;
    paths.insert(std::string(asset.path));
  }
  for (const char* path : {"/", "/static/app.js", "/static/lib.js", "/static/dom.js",
                           "/static/charts.js", "/static/dashboard.css", "/static/favicon.svg",
                           "/static/vendor/uPlot.iife.min.js", "/static/vendor/uPlot.min.css"}) {
    EXPECT_THAT(paths, Contains(path));
  }
  const WebUi ui(EmbeddedWebAssets());
  const std::regex page_reference(R"((?:src|href)="(/static/[^"]+)\")");
  const std::regex module_import(R"(from '\./([a-z_]+\.js)')");
  for (const auto& asset : EmbeddedWebAssets()) {
    if (asset.path.starts_with("/static/vendor/")) continue;  // uPlot's own banner names its site
    const std::string text(asset.data);
    // An SVG's namespace is a name, not a download.
    const std::string loaded =
        std::regex_replace(text, std::regex(R"(xmlns="http://www\.w3\.org/2000/svg")"), "");
    EXPECT_THAT(loaded, Not(HasSubstr("http://"))) << asset.path;
    EXPECT_THAT(loaded, Not(HasSubstr("https://"))) << asset.path;
    EXPECT_THAT(loaded, Not(HasSubstr("src=\"//"))) << asset.path;
    const std::regex& reference = asset.path == "/" ? page_reference : module_import;
    for (std::sregex_iterator it(text.begin(), text.end(), reference), end; it != end; ++it) {
      const std::string target = asset.path == "/" ? (*it)[1].str() : "/static/" + (*it)[1].str();
      EXPECT_EQ(ui.Serve(Get(target)).status, 200) << asset.path << " refers to " << target;
    }
  }
  const http::Response uplot = ui.Serve(Get("/static/vendor/uPlot.iife.min.js"));
  EXPECT_THAT(uplot.body, HasSubstr("var uPlot="));
  EXPECT_EQ(uplot.content_type, "text/javascript; charset=utf-8");
}

}  // namespace
}  // namespace mingus::collector::api
