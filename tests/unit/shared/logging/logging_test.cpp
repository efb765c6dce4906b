#include "mingus/logging/logging.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace mingus::logging {
namespace {

TEST(Logging, LogfmtQuotesOnlyWhenNeeded) {
  EXPECT_EQ(FormatRecord(Format::kLogfmt, "2026-01-02T03:04:05.006Z", "info", "stopped"),
            "ts=2026-01-02T03:04:05.006Z level=info msg=stopped\n");
  EXPECT_EQ(FormatRecord(Format::kLogfmt, "T", "warn", "bad \"x\"\nnext"),
            "ts=T level=warn msg=\"bad \\\"x\\\"\\nnext\"\n");
  EXPECT_EQ(FormatRecord(Format::kLogfmt, "T", "info", ""), "ts=T level=info msg=\"\"\n");
}

TEST(Logging, JsonIsOneObjectPerLine) {
  EXPECT_EQ(FormatRecord(Format::kJson, "T", "error", "a \"b\"\n"),
            "{\"ts\":\"T\",\"level\":\"error\",\"msg\":\"a \\\"b\\\"\\n\"}\n");
}

TEST(Logging, ParsesLevelsAndFormats) {
  EXPECT_EQ(*ParseLevel("warn"), spdlog::level::warn);
  EXPECT_EQ(ParseLevel("loud").message(), "log level 'loud': must be debug, info, warn or error");
  EXPECT_EQ(*ParseFormat("json"), Format::kJson);
  EXPECT_FALSE(ParseFormat("xml").ok());
}

}  // namespace
}  // namespace mingus::logging
