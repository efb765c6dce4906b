// The small text parsers the HTTP side and configuration share: request targets and query
// strings, Accept-Encoding, listen addresses and durations.
#include <cstddef>
#include <cstdint>
#include <string>

#include "mingus/common/address.h"
#include "mingus/common/duration.h"
#include "mingus/http/message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mingus;
  const std::string text(reinterpret_cast<const char*>(data), size);
  http::Request request = http::Request::Make("GET", text);
  request.headers.emplace_back("accept-encoding", text);
  (void)request.QueryParam("query");
  (void)request.AcceptsGzip();
  if (const auto address = ParseHostPort(text); address.ok()) (void)address->ToString();
  if (const auto duration = ParseDuration(text); duration.ok()) {
    // Whatever parses must format back to something that parses to the same value.
    const auto again = ParseDuration(FormatDuration(*duration));
    if (!again.ok() || *again != *duration) __builtin_trap();
  }
  return 0;
}
