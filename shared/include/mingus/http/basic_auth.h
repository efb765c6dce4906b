#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>

namespace mingus::http {

// Whether `password` is the one `hash` (bcrypt, as in basic_auth_users) was made from; libxcrypt's
// crypt_rn, which reads $2y$, $2b$ and $2a$. Costs tens of milliseconds at cost 10, by design.
bool BcryptMatches(std::string_view password, const std::string& hash);

// HTTP basic authentication against basic_auth_users, as exporter-toolkit does it: a user that
// does not exist costs a bcrypt check too (a decoy against the configured hash), so that timing
// does not tell names apart, and a successful check is remembered (by a SHA-256 digest of the
// user, hash and password, never the password itself) so that a scraper does not pay bcrypt on
// every request. The memory is bounded: when full it is cleared. Thread-safe; bcrypt checks run
// one at a time, so that bad passwords can take one thread's worth of CPU at most.
class BasicAuth {
 public:
  using HashCheck = std::function<bool(std::string_view password, const std::string& hash)>;
  static constexpr size_t kMaxRemembered = 100;

  explicit BasicAuth(std::map<std::string, std::string> users, HashCheck check = BcryptMatches);

  // `authorization` is the request's Authorization header ("Basic base64(user:password)").
  bool Allows(std::string_view authorization);

 private:
  const std::map<std::string, std::string> users_;
  const HashCheck check_;
  std::mutex check_mutex_;  // one bcrypt at a time
  std::mutex remembered_mutex_;
  std::unordered_set<std::string> remembered_;
};

}  // namespace mingus::http
