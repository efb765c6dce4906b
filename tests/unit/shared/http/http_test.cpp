#include <zlib.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "mingus/http/gzip.h"
#include "mingus/http/message.h"

namespace mingus::http {
namespace {

using ::testing::HasSubstr;

std::string Gunzip(const std::string& data) {
  z_stream stream{};
  inflateInit2(&stream, 15 + 16);
  std::string out(1 << 20, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&stream, Z_FINISH), Z_STREAM_END);
  out.resize(stream.total_out);
  inflateEnd(&stream);
  return out;
}

TEST(Gzip, RoundTrips) {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 1\n";
  const std::string compressed = GzipCompress(text);
  EXPECT_LT(compressed.size(), text.size() / 10);
  EXPECT_EQ(Gunzip(compressed), text);
  EXPECT_EQ(Gunzip(GzipCompress("")), "");
}

TEST(Request, SplitsTargetAndDecodesQuery) {
  Request r = Request::Make("GET", "/api/v1/query?query=rate(x%5B5m%5D)&time=1.5&flag");
  EXPECT_EQ(r.path, "/api/v1/query");
  EXPECT_EQ(r.QueryParam("query"), "rate(x[5m])");
  EXPECT_EQ(r.QueryParam("time"), "1.5");
  EXPECT_EQ(r.QueryParam("flag"), "");
  EXPECT_EQ(r.QueryParam("absent"), std::nullopt);
  EXPECT_EQ(Request::Make("GET", "/a%20b").path, "/a b");
}

TEST(Request, AcceptsGzipHonoursWeights) {
  const auto with = [](std::string value) {
    Request r = Request::Make("GET", "/metrics");
    r.headers.emplace_back("accept-encoding", std::move(value));
    return r.AcceptsGzip();
  };
  EXPECT_TRUE(with("gzip"));
  EXPECT_TRUE(with("deflate, gzip;q=0.5"));
  EXPECT_TRUE(with("*"));
  EXPECT_FALSE(with("gzip;q=0"));
  EXPECT_FALSE(with("identity"));
  EXPECT_FALSE(Request::Make("GET", "/").AcceptsGzip());
}

TEST(Router, RoutesByPathAndMethod) {
  Router router;
  router.Handle("GET", "/metrics", [](const Request&) { return Response::Text(200, "ok"); });
  EXPECT_EQ(router.Route(Request::Make("GET", "/metrics?x=1")).body, "ok");
  EXPECT_EQ(router.Route(Request::Make("HEAD", "/metrics")).status, 200);

  const Response missing = router.Route(Request::Make("GET", "/nope"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.content_type, "application/json");
  EXPECT_EQ(missing.body, R"({"status":"error","error":"no such path: /nope"})");

  const Response wrong_method = router.Route(Request::Make("POST", "/metrics"));
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_THAT(wrong_method.body, HasSubstr("method POST not allowed"));
  ASSERT_EQ(wrong_method.headers.size(), 1u);
  EXPECT_EQ(wrong_method.headers[0].second, "GET");
}

}  // namespace
}  // namespace mingus::http
