#include "mingus/common/address.h"

#include <arpa/inet.h>

#include <fmt/format.h>

#include "mingus/common/text.h"

namespace mingus {

std::string HostPort::ToString() const {
  return host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port)
                                             : fmt::format("{}:{}", host, port);
}

StatusOr<HostPort> ParseHostPort(std::string_view address) {
  const auto colon = address.rfind(':');
  if (colon == std::string_view::npos) {
    return Status::Error(fmt::format("address '{}': missing ':port'", address));
  }
  std::string host(address.substr(0, colon));
  const auto port = text::ParseUint64(address.substr(colon + 1));
  if (!port || *port > 65535) {
    return Status::Error(fmt::format("address '{}': port must be a number from 0 to 65535", address));
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    return Status::Error(fmt::format("address '{}': put an IPv6 host in brackets", address));
  }
  if (host.empty()) host = "0.0.0.0";
  if (host == "localhost") host = "127.0.0.1";
  unsigned char buffer[sizeof(in6_addr)];
  if (inet_pton(AF_INET, host.c_str(), buffer) != 1 && inet_pton(AF_INET6, host.c_str(), buffer) != 1) {
    return Status::Error(fmt::format("address '{}': host must be an IP address or localhost", address));
  }
  return HostPort{std::move(host), static_cast<uint16_t>(*port)};
}

}  // namespace mingus
