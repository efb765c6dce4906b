// The daemons' web security input: the exporter-toolkit web config file (--web.config.file) and
// the Authorization header that basic auth reads. The first byte picks which reads the rest.
// - Even: the file; any input either loads or is refused with a ConfigError naming the file; any
//   other exception or crash is a bug. Certificates are not loaded (that is OpenSSL's parsing of
//   files the operator made).
// - Odd: an Authorization header against basic_auth_users (with a stand-in for bcrypt, whose
//   cost is by design), asked twice: the second answer may come from the remembered successes
//   and must be the same; and the header as a bcrypt hash, checked for its shape.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "mingus/config/yaml_reader.h"
#include "mingus/http/basic_auth.h"
#include "mingus/http/web_config.h"

namespace {

using namespace mingus;

void FuzzFile(const std::string& text) {
  try {
    (void)http::ParseWebConfig(text, "web.yml");
  } catch (const config::ConfigError&) {
  }
}

void FuzzAuthorization(std::string_view header) {
  (void)http::CheckBcryptHash(header);
  const std::string hash = "$2y$10$stand.in";
  http::BasicAuth auth({{"ada", hash}}, [&](std::string_view password, const std::string& against) {
    return password == "lovelace" && against == hash;
  });
  const bool allowed = auth.Allows(header);
  if (auth.Allows(header) != allowed) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    FuzzFile(text);
  } else {
    FuzzAuthorization(text);
  }
  return 0;
}
