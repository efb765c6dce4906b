// Basic auth against bcrypt hashes: real bcrypt, the decoy for unknown users, and the memory of
// successful checks, counted through a fake hash check.
#include "mingus/http/basic_auth.h"

#include <gtest/gtest.h>

#include "mingus/http/client.h"

namespace mingus::http {
namespace {

// bcrypt (cost 4) of "secret", as Python's bcrypt made it.
const std::string kHash = "$2b$04$ta3t.KsqHRFmqfCOvfqIrusVmlp9C6k3bn7s40xkhL5x0xHG94BAO";

// "user:password" as a client sends it (the password may hold colons).
std::string Basic(std::string_view credentials) {
  const auto colon = credentials.find(':');
  return BasicAuthorization(credentials.substr(0, colon), credentials.substr(colon + 1));
}

// A hash check that says yes when the password is the "hash", and counts its calls.
struct CountingCheck {
  int* calls;
  bool operator()(std::string_view password, const std::string& hash) const {
    ++*calls;
    return password == hash;
  }
};

TEST(Bcrypt, MatchesTheRightPasswordOnlyInEveryVariant) {
  EXPECT_TRUE(BcryptMatches("secret", kHash));
  EXPECT_FALSE(BcryptMatches("Secret", kHash));
  EXPECT_FALSE(BcryptMatches("", kHash));
  EXPECT_FALSE(BcryptMatches(std::string_view("secret\0x", 8), kHash));
  // htpasswd writes $2y$, older tools $2a$: the same algorithm for these passwords.
  for (const char variant : {'a', 'y'}) {
    std::string hash = kHash;
    hash[2] = variant;
    EXPECT_TRUE(BcryptMatches("secret", hash)) << hash;
  }
  EXPECT_FALSE(BcryptMatches("secret", "not a hash"));
}

TEST(BasicAuth, AllowsConfiguredUsersWithTheirPasswordsOnly) {
  BasicAuth auth({{"alice", kHash}});
  EXPECT_TRUE(auth.Allows(Basic("alice:secret")));
  EXPECT_TRUE(auth.Allows("basic " + Basic("alice:secret").substr(6)));  // scheme in any case
  EXPECT_FALSE(auth.Allows(Basic("alice:wrong")));
  EXPECT_FALSE(auth.Allows(Basic("bob:secret")));
  EXPECT_FALSE(auth.Allows("Basic YWxpY2U="));  // "alice", without a colon
  EXPECT_FALSE(auth.Allows(""));
  EXPECT_FALSE(auth.Allows("Bearer secret"));
  EXPECT_FALSE(auth.Allows("Basic !!!not-base64!!!"));
}

// Found by fuzz_web_config: credentials whose base64 lacks its padding ("YWxpY2U6c2VjcmV0MQ" is
// "alice:secret1") were decoded past the end of the buffer (heap-buffer-overflow under ASan).
TEST(BasicAuth, CredentialsWithoutPaddingAreDecodedWithinTheirBuffer) {
  int calls = 0;
  BasicAuth auth({{"alice", "secret1"}}, CountingCheck{&calls});
  EXPECT_TRUE(auth.Allows("Basic YWxpY2U6c2VjcmV0MQ"));
  EXPECT_FALSE(auth.Allows("Basic Y5WRhOmxodmVsYRhOmxodmVsWNl"));
  EXPECT_FALSE(auth.Allows("Basic YWxpY2U6c2VjcmV0M"));
}

TEST(BasicAuth, PasswordsMayContainColons) {
  int calls = 0;
  BasicAuth auth({{"alice", "pa:ss"}}, CountingCheck{&calls});
  EXPECT_TRUE(auth.Allows(Basic("alice:pa:ss")));
}

TEST(BasicAuth, RemembersSuccessfulChecksOnly) {
  int calls = 0;
  BasicAuth auth({{"alice", "right"}}, CountingCheck{&calls});
  EXPECT_TRUE(auth.Allows(Basic("alice:right")));
  EXPECT_TRUE(auth.Allows(Basic("alice:right")));
  EXPECT_EQ(calls, 1);  // the second request paid no hash check
  EXPECT_FALSE(auth.Allows(Basic("alice:wrong")));
  EXPECT_FALSE(auth.Allows(Basic("alice:wrong")));
  EXPECT_EQ(calls, 3);  // failures are checked every time
}

TEST(BasicAuth, UnknownUsersCostAHashCheckAndNeverPass) {
  int calls = 0;
  // The decoy is checked against a configured hash: even its password does not let them in.
  BasicAuth auth({{"alice", "right"}}, CountingCheck{&calls});
  EXPECT_FALSE(auth.Allows(Basic("mallory:right")));
  EXPECT_FALSE(auth.Allows(Basic("mallory:right")));
  EXPECT_EQ(calls, 2);
}

TEST(BasicAuth, MemoryIsBounded) {
  int calls = 0;
  std::map<std::string, std::string> users;
  for (size_t i = 0; i <= BasicAuth::kMaxRemembered; ++i) {
    users.emplace("user" + std::to_string(i), "password");
  }
  BasicAuth auth(users, CountingCheck{&calls});
  for (const auto& [user, password] : users) EXPECT_TRUE(auth.Allows(Basic(user + ":password")));
  EXPECT_EQ(calls, static_cast<int>(users.size()));
  // The last one came in after the memory was cleared; the first one has to be checked again.
  EXPECT_TRUE(auth.Allows(Basic(users.rbegin()->first + ":password")));
  EXPECT_EQ(calls, static_cast<int>(users.size()));
  EXPECT_TRUE(auth.Allows(Basic(users.begin()->first + ":password")));
  EXPECT_EQ(calls, static_cast<int>(users.size()) + 1);
}

TEST(BasicAuth, NoUsersAllowsNobody) {
  BasicAuth auth({});
  EXPECT_FALSE(auth.Allows(Basic("alice:secret")));
}

}  // namespace
}  // namespace mingus::http
