#pragma once

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace mingus::client {

enum class SendStatus { kSent, kUnresolved, kFailed };

// Where the client's datagrams go. Called from one thread at a time; must not block.
class Sender {
 public:
  virtual ~Sender() = default;
  virtual SendStatus Send(std::string_view datagram) = 0;
};

struct HostPort {
  std::string host, port;
};

// "host:port" or "[v6]:port" (the form of MINGUS_AGENT_ADDR); nullopt when malformed.
inline std::optional<HostPort> ParseAgentAddress(std::string_view address) {
  const auto colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == address.size()) {
    return std::nullopt;
  }
  std::string_view host = address.substr(0, colon);
  const std::string_view port = address.substr(colon + 1);
  for (const char c : port) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return std::nullopt;
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return std::nullopt;  // a bare IPv6 address: the port would be ambiguous
  }
  return HostPort{std::string(host), std::string(port)};
}

// A connected, non-blocking UDP socket to the agent. Resolving (which may ask DNS) happens on
// the first Send, i.e. on the client's flush thread, never in the application's; an address
// that does not resolve is retried at most once per `retry` meanwhile reporting kUnresolved.
// A connected socket also learns from ICMP that nobody listens (ECONNREFUSED: kFailed).
class UdpSender final : public Sender {
 public:
  explicit UdpSender(std::string address,
                     std::chrono::steady_clock::duration retry = std::chrono::seconds(1))
      : address_(std::move(address)), retry_(retry) {}
  ~UdpSender() override {
    if (fd_ >= 0) ::close(fd_);
  }
  UdpSender(const UdpSender&) = delete;
  UdpSender& operator=(const UdpSender&) = delete;

  SendStatus Send(std::string_view datagram) override {
    if (fd_ < 0 && !Connect()) return SendStatus::kUnresolved;
    const ssize_t sent = ::send(fd_, datagram.data(), datagram.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    return sent == static_cast<ssize_t>(datagram.size()) ? SendStatus::kSent : SendStatus::kFailed;
  }

 private:
  bool Connect() {
    const auto now = std::chrono::steady_clock::now();
    if (tried_ && now - last_try_ < retry_) return false;
    tried_ = true;
    last_try_ = now;
    const auto parsed = ParseAgentAddress(address_);
    if (!parsed) return false;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* found = nullptr;
    if (::getaddrinfo(parsed->host.c_str(), parsed->port.c_str(), &hints, &found) != 0)
      return false;
    for (const addrinfo* ai = found; ai != nullptr && fd_ < 0; ai = ai->ai_next) {
      const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) continue;
      if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
        fd_ = fd;
      } else {
        ::close(fd);
      }
    }
    ::freeaddrinfo(found);
    return fd_ >= 0;
  }

  const std::string address_;
  const std::chrono::steady_clock::duration retry_;
  int fd_ = -1;
  bool tried_ = false;
  std::chrono::steady_clock::time_point last_try_;
};

}  // namespace mingus::client
