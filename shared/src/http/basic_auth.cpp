#include "mingus/http/basic_auth.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <boost/beast/core/detail/base64.hpp>
#include <cctype>
#include <cstdint>
#include <memory>

namespace mingus::http {

namespace {

namespace base64 = boost::beast::detail::base64;

// "Basic dXNlcjpwYXNz" to user and password; false for another scheme or malformed credentials.
bool SplitCredentials(std::string_view authorization, std::string& user, std::string& password) {
  constexpr std::string_view kScheme = "basic ";
  if (authorization.size() <= kScheme.size()) return false;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i]) return false;
  }
  std::string_view encoded = authorization.substr(kScheme.size());
  while (!encoded.empty() && encoded.front() == ' ') encoded.remove_prefix(1);
  // Beast's decoded_size rounds down to whole groups of four, but decode also writes the one or
  // two bytes of a last group without padding: room for a whole group more.
  std::string decoded(base64::decoded_size(encoded.size() + 3), '\0');
  const auto [written, read] = base64::decode(decoded.data(), encoded.data(), encoded.size());
  // Beast's decoder stops at the padding: only up to two '=' may follow.
  const std::string_view rest = encoded.substr(read);
  if (rest.size() > 2 || rest.find_first_not_of('=') != std::string_view::npos) return false;
  decoded.resize(written);
  const auto colon = decoded.find(':');
  if (colon == std::string::npos) return false;
  user = decoded.substr(0, colon);
  password = decoded.substr(colon + 1);
  return true;
}

std::string Sha256(std::string_view user, std::string_view hash, std::string_view password) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  EVP_DigestInit_ex(context, EVP_sha256(), nullptr);
  // Lengths first, so that ("ab", "c") and ("a", "bc") differ.
  for (const std::string_view part : {user, hash, password}) {
    const uint64_t length = part.size();
    EVP_DigestUpdate(context, &length, sizeof length);
    EVP_DigestUpdate(context, part.data(), part.size());
  }
  EVP_DigestFinal_ex(context, digest, &size);
  EVP_MD_CTX_free(context);
  return std::string(reinterpret_cast<const char*>(digest), size);
}

}  // namespace

bool BcryptMatches(std::string_view password, const std::string& hash) {
  if (password.find('\0') != std::string_view::npos) return false;
  const std::string phrase(password);
  auto data = std::make_unique<crypt_data>();
  const char* computed = crypt_rn(phrase.c_str(), hash.c_str(), data.get(), sizeof *data);
  return computed != nullptr && std::string_view(computed).size() == hash.size() &&
         CRYPTO_memcmp(computed, hash.data(), hash.size()) == 0;
}

BasicAuth::BasicAuth(std::map<std::string, std::string> users, HashCheck check)
    : users_(std::move(users)), check_(std::move(check)) {}

bool BasicAuth::Allows(std::string_view authorization) {
  std::string user, password;
  if (!SplitCredentials(authorization, user, password) || users_.empty()) return false;
  const auto found = users_.find(user);
  // An unknown user is checked against a configured hash too, and refused whatever the result.
  const std::string& hash = found != users_.end() ? found->second : users_.begin()->second;
  const std::string key = Sha256(user, hash, password);
  if (found != users_.end()) {
    std::lock_guard lock(remembered_mutex_);
    if (remembered_.contains(key)) return true;
  }
  bool matches = false;
  {
    std::lock_guard lock(check_mutex_);
    matches = check_(password, hash);
  }
  if (!matches || found == users_.end()) return false;
  std::lock_guard lock(remembered_mutex_);
  if (remembered_.size() >= kMaxRemembered) remembered_.clear();
  remembered_.insert(key);
  return true;
}

}  // namespace mingus::http
