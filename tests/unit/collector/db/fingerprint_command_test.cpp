#include "mingus/collector/db/fingerprint_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

namespace mingus::collector::db {
namespace {

std::vector<std::string> Queries(std::string_view text) {
  std::vector<std::string> queries;
  ForEachQuery(text, [&](std::string_view q) { queries.emplace_back(q); });
  return queries;
}

TEST(ForEachQuery, SplitsWherePtFingerprintDoes) {
  EXPECT_THAT(Queries("SELECT 1;\nSELECT 'a;b'\nFROM t;\nSELECT 2"),
              testing::ElementsAre("SELECT 1", "SELECT 'a;b'\nFROM t", "SELECT 2"));
  EXPECT_THAT(Queries("SELECT 1;;\n"), testing::ElementsAre("SELECT 1;"));
  EXPECT_THAT(Queries(""), testing::ElementsAre());
}

struct Result {
  int status;
  std::string out, err;
};

Result Command(std::vector<std::string> args, const std::string& input = "") {
  std::istringstream in(input);
  std::ostringstream out, err;
  const int status = FingerprintCommand(args, in, out, err);
  return {status, out.str(), err.str()};
}

TEST(FingerprintCommand, QueryFlag) {
  EXPECT_EQ(Command({"--query", "SELECT * FROM t WHERE id IN (1, 2)"}).out,
            "select * from t where id in(?+)\n");
  EXPECT_EQ(Command({"--query=SELECT 1"}).out, "select ?\n");
  EXPECT_EQ(Command({"--query"}).status, 2);
}

TEST(FingerprintCommand, ReadsStandardInputALineAFingerprint) {
  const Result run =
      Command({}, "SELECT 1;\n-- only a comment;\nUPDATE t SET a = 'x'\n  WHERE id = 3;\n");
  EXPECT_EQ(run.status, 0);
  EXPECT_EQ(run.out, "select ?\nupdate t set a = ? where id = ?\n");
  EXPECT_EQ(Command({"-"}, "SELECT 2").out, "select ?\n");
}

TEST(FingerprintCommand, RefusesWhatItCannotRead) {
  EXPECT_EQ(Command({"/nonexistent/queries.sql"}).status, 1);
  EXPECT_EQ(Command({"--bogus"}).status, 2);
}

}  // namespace
}  // namespace mingus::collector::db
