#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "mingus/common/status.h"

namespace mingus {

// "127.0.0.1:9110", "[::1]:9110", "localhost:9110" or ":9110" (all interfaces, as in Go).
// The host must be an IP literal, "localhost" or empty: daemons never resolve names to bind.
struct HostPort {
  std::string host;  // IP literal; "0.0.0.0" for an empty host
  uint16_t port = 0;
  std::string ToString() const;  // brackets IPv6 hosts
};
StatusOr<HostPort> ParseHostPort(std::string_view address);

}  // namespace mingus
