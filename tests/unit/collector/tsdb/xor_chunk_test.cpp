#include "mingus/collector/tsdb/xor_chunk.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

namespace mingus::collector::tsdb {
namespace {

std::vector<Sample> RoundTrip(const std::vector<Sample>& samples, size_t* bytes = nullptr) {
  XorChunkWriter writer;
  for (const auto& s : samples) EXPECT_TRUE(writer.Append(s.timestamp_ms, s.value));
  const std::string encoded = writer.Bytes();
  if (bytes != nullptr) *bytes = encoded.size();
  XorChunkReader reader(encoded);
  std::vector<Sample> out;
  Sample s;
  while (reader.Next(s)) out.push_back(s);
  EXPECT_FALSE(reader.error());
  return out;
}

TEST(XorChunk, RegularScrapesCompressWell) {
  std::vector<Sample> samples;
  double counter = 1000;
  for (int i = 0; i < 120; ++i) {
    counter += 3;
    samples.push_back({1'700'000'000'000 + i * 15'000, counter});
  }
  size_t bytes = 0;
  EXPECT_EQ(RoundTrip(samples, &bytes), samples);
  EXPECT_LT(bytes, 120u * 3);  // well under 3 bytes a sample, against 16 raw
}

// Chunks outlive the binary that wrote them (performance_metrics.db), so the encoding may not
// drift: these bytes were written by the encoder of revision a4715e5, which wrote a bit at a time.
TEST(XorChunk, WritesTheSameBytesAsEverBefore) {
  const std::vector<Sample> samples = {{1000, 1.0},   {16000, 1.0},        {31001, 2.5},
                                       {46000, -0.0}, {61000, 1e300},      {161000, 3.0},
                                       {161001, 3.0}, {5000000161001, 0.1}};
  XorChunkWriter writer;
  for (const auto& s : samples) ASSERT_TRUE(writer.Append(s.timestamp_ms, s.value));
  std::string hex;
  for (const unsigned char c : writer.Bytes()) hex += fmt::format("{:02x}", c);
  EXPECT_EQ(
      hex,
      "0008d00f3ff000000000000098754000e137ffb7ffd80ec006000707dfc6fc8791000eb3f0a60447c7fc8791"
      "000eb3f73cb0bc000012309ce53fff0fdfec66666666666680");
}

TEST(XorChunk, EveryTimestampClassAndAwkwardValue) {
  const std::vector<Sample> samples = {
      {-5, 0.0},
      {10, -0.0},
      {20, std::numeric_limits<double>::infinity()},
      {8'212, -std::numeric_limits<double>::infinity()},          // delta-of-delta 8182: 14 bits
      {16'404, std::numeric_limits<double>::max()},               // +8192 edge... 17 bits class
      {90'000, std::numeric_limits<double>::denorm_min()},        // 17/20 bits
      {700'000, 1e-300},                                          // 20 bits
      {9'000'000'000, 42},                                        // 64 bits
      {9'000'000'001, 42},                                        // unchanged value
      {9'000'000'002, std::numeric_limits<double>::lowest()},
  };
  EXPECT_EQ(RoundTrip(samples), samples);
}

TEST(XorChunk, ClearedWriterEncodesLikeANewOne) {
  // A series' next chunk reuses the writer: nothing of the last chunk may leak into it (its
  // timestamp, delta or XOR window would corrupt the first samples).
  XorChunkWriter reused, fresh;
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(reused.Append(1000 + i * 15'000, 1.0 / (i + 1)));
  reused.Clear();
  EXPECT_EQ(reused.samples(), 0u);
  for (int i = 0; i < 3; ++i) {
    const int64_t t = 500 + i * 10'000;  // earlier than the cleared chunk's samples
    ASSERT_TRUE(reused.Append(t, 42.5 * i));
    ASSERT_TRUE(fresh.Append(t, 42.5 * i));
  }
  EXPECT_EQ(reused.Bytes(), fresh.Bytes());
}

TEST(XorChunk, NaNStaysNaN) {
  const auto out = RoundTrip({{1, std::nan("")}, {2, 1}, {3, std::nan("")}});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_TRUE(std::isnan(out[0].value));
  EXPECT_TRUE(std::isnan(out[2].value));
}

TEST(XorChunk, RandomSeriesRoundTrip) {
  std::mt19937_64 random(42);
  for (int round = 0; round < 50; ++round) {
    std::vector<Sample> samples;
    int64_t t = static_cast<int64_t>(random() % 1'000'000'000);
    double v = 0;
    for (int i = 0; i < 200; ++i) {
      t += 1 + static_cast<int64_t>(random() % (round % 2 == 0 ? 100 : 10'000'000));
      v = random() % 3 == 0 ? v : std::bit_cast<double>(random() & 0x7fefffffffffffffULL);
      samples.push_back({t, v});
    }
    ASSERT_EQ(RoundTrip(samples), samples) << round;
  }
}

TEST(XorChunk, OutOfOrderAppendsAreRefused) {
  XorChunkWriter writer;
  EXPECT_TRUE(writer.Append(100, 1));
  EXPECT_FALSE(writer.Append(100, 2));
  EXPECT_FALSE(writer.Append(50, 2));
  EXPECT_EQ(writer.samples(), 1u);
}

TEST(XorChunk, DamagedChunksStopAtTheDamage) {
  XorChunkWriter writer;
  for (int i = 0; i < 10; ++i) writer.Append(i * 1000, i * 1.5);
  const std::string encoded = writer.Bytes();
  XorChunkReader truncated(std::string_view(encoded).substr(0, encoded.size() / 2));
  Sample s;
  size_t n = 0;
  while (truncated.Next(s)) ++n;
  EXPECT_LT(n, 10u);
  EXPECT_TRUE(truncated.error());
  XorChunkReader empty("");
  EXPECT_FALSE(empty.Next(s));
  EXPECT_FALSE(empty.error());
  XorChunkReader one_byte("x");
  EXPECT_TRUE(one_byte.error());
}

}  // namespace
}  // namespace mingus::collector::tsdb
