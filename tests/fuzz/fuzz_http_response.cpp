// What a server answers the collector's HTTP client (scrape targets, agents' event spools,
// webhooks and Alertmanager): the input is the bytes of the connection after the request, read
// as KeepAliveClient reads them (http::ReadClientResponse: Beast's response parser within the
// body limit, header names, gzip bodies inflated within the limit too). Any bytes give a response
// or an error; a crash, a sanitizer report or a body beyond the limit is a bug.
// The first byte: whether the request was a HEAD (bit 0), and the size of the reads the
// connection delivers (the other bits), since a response may arrive in any pieces.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mingus/http/client.h"

namespace {

using namespace mingus;

constexpr size_t kMaxBody = 64 << 10;

class ScriptedServer final : public net::Stream {
 public:
  ScriptedServer(std::string_view bytes, size_t read_size) : bytes_(bytes), read_size_(read_size) {}
  Status Write(std::string_view) override { return OkStatus(); }
  StatusOr<size_t> ReadSome(char* buffer, size_t size) override {
    const size_t count = std::min({size, read_size_, bytes_.size()});
    bytes_.copy(buffer, count);
    bytes_.remove_prefix(count);
    return count;
  }
  Status StartTls(const net::TlsOptions&) override { return OkStatus(); }
  bool tls() const override { return false; }

 private:
  std::string_view bytes_;
  const size_t read_size_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool head = (data[0] & 1) != 0;
  ScriptedServer server(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1),
                        1 + size_t{data[0]} * 64);
  size_t received = 0;
  bool keep_alive = false;
  const auto response = http::ReadClientResponse(server, head, kMaxBody, received, keep_alive);
  if (received > size - 1) __builtin_trap();
  if (response.ok() && response->body.size() > kMaxBody) __builtin_trap();
  return 0;
}
