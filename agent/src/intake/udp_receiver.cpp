#include "mingus/agent/intake/udp_receiver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "mingus/common/address.h"
#include "mingus/common/file.h"
#include "mingus/common/text.h"

namespace mingus::agent::intake {

namespace {

constexpr size_t kBatch = 32;
constexpr size_t kMaxDatagram = 64 * 1024;

std::string Errno(std::string_view what) { return fmt::format("{}: {}", what, std::strerror(errno)); }

}  // namespace

UdpReceiver::UdpReceiver(ReceiverOptions options, ProcessorFactory factory)
    : options_(std::move(options)), factory_(std::move(factory)) {}

UdpReceiver::~UdpReceiver() { Stop(); }

StatusOr<std::string> UdpReceiver::Start() {
  const auto address = ParseHostPort(options_.listen_udp);
  if (!address.ok()) return address.status();
  sockaddr_storage storage{};
  socklen_t length = 0;
  ipv6_ = address->host.find(':') != std::string::npos;
  if (ipv6_) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&storage);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(address->port);
    inet_pton(AF_INET6, address->host.c_str(), &a->sin6_addr);
    length = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&storage);
    a->sin_family = AF_INET;
    a->sin_port = htons(address->port);
    inet_pton(AF_INET, address->host.c_str(), &a->sin_addr);
    length = sizeof *a;
  }
  for (int i = 0; i < std::max(1, options_.threads); ++i) {
    const int fd = ::socket(ipv6_ ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return Status::Error(Errno("socket"));
    sockets_.push_back(fd);
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    const int requested = options_.receive_buffer_bytes;
    // Root may exceed net.core.rmem_max; everyone else gets what the cap allows.
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &requested, sizeof requested) != 0) {
      ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &requested, sizeof requested);
    }
    socklen_t size = sizeof granted_buffer_;
    ::getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted_buffer_, &size);
    if (i > 0 || address->port != 0) {
      if (ipv6_) {
        reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port = htons(port_ != 0 ? port_ : address->port);
      } else {
        reinterpret_cast<sockaddr_in*>(&storage)->sin_port = htons(port_ != 0 ? port_ : address->port);
      }
    }
    if (::bind(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0) {
      return Status::Error(Errno(fmt::format("bind udp {}", address->ToString())));
    }
    if (port_ == 0) {
      sockaddr_storage bound{};
      socklen_t bound_length = sizeof bound;
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_length);
      port_ = ntohs(ipv6_ ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                          : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    }
  }
  // The kernel reports twice the usable size it granted.
  if (granted_buffer_ < 2 * options_.receive_buffer_bytes) {
    spdlog::warn("the kernel granted a UDP receive buffer of {} bytes instead of {}; raise "
                 "net.core.rmem_max or run with CAP_NET_ADMIN to avoid drops under load",
                 granted_buffer_ / 2, options_.receive_buffer_bytes);
  }
  for (const int fd : sockets_) threads_.emplace_back([this, fd] { Run(fd); });
  return HostPort{address->host, port_}.ToString();
}

void UdpReceiver::Stop() {
  stopping_.store(true, std::memory_order_release);
  // Linux wakes a reader blocked on a UDP socket when it is shut down (and every later read
  // returns at once), so no thread waits for a datagram that never comes.
  for (const int fd : sockets_) ::shutdown(fd, SHUT_RD);
  for (auto& thread : threads_) thread.join();
  threads_.clear();
  for (const int fd : sockets_) ::close(fd);
  sockets_.clear();
}

void UdpReceiver::Run(int fd) {
  // Fixed buffers for one batch, allocated once per thread.
  std::vector<char> buffers(kBatch * kMaxDatagram);
  std::array<iovec, kBatch> iovecs{};
  std::array<mmsghdr, kBatch> messages{};
  for (size_t i = 0; i < kBatch; ++i) {
    iovecs[i] = {buffers.data() + i * kMaxDatagram, kMaxDatagram};
    messages[i].msg_hdr.msg_iov = &iovecs[i];
    messages[i].msg_hdr.msg_iovlen = 1;
  }
  uint64_t generation = generation_.load(std::memory_order_acquire);
  std::unique_ptr<LineProcessor> processor = factory_();
  while (true) {
    // Blocks for the first datagram, then takes what else is queued: one system call per
    // wake-up, as a bare receiver makes (a non-blocking read, an empty read and a poll cost
    // three, which at one line per datagram was a third of the agent's CPU).
    const int n = ::recvmmsg(fd, messages.data(), kBatch, MSG_WAITFORONE, nullptr);
    // After Stop()'s shutdown the reads return empty datagrams: they are not traffic.
    if (stopping_.load(std::memory_order_acquire)) return;
    if (n < 0) {
      if (errno != EINTR) spdlog::error("recvmmsg: {}", std::strerror(errno));
      continue;
    }
    if (const uint64_t now = generation_.load(std::memory_order_acquire); now != generation) {
      generation = now;
      processor = factory_();
    }
    for (int i = 0; i < n; ++i) {
      const auto& header = messages[static_cast<size_t>(i)].msg_hdr;
      const size_t size = std::min<size_t>(messages[static_cast<size_t>(i)].msg_len, kMaxDatagram);
      processor->ProcessDatagram(std::string_view(static_cast<const char*>(header.msg_iov->iov_base), size),
                                 (header.msg_flags & MSG_TRUNC) != 0);
    }
  }
}

uint64_t ParseUdpDrops(std::string_view proc_net_udp, uint16_t port) {
  uint64_t drops = 0;
  const std::string suffix = fmt::format(":{:04X}", port);
  std::vector<std::string_view> fields;
  text::ForEachLine(proc_net_udp, [&](std::string_view line) {
    text::SplitFields(line, fields);
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
    if (fields.size() < 13 || !fields[1].ends_with(suffix)) return;
    if (const auto n = text::ParseUint64(fields[12])) drops += *n;
  });
  return drops;
}

uint64_t UdpReceiver::KernelDrops() const {
  if (port_ == 0) return 0;
  const auto content = ReadFile(JoinPath(options_.procfs, ipv6_ ? "net/udp6" : "net/udp"));
  return content.ok() ? ParseUdpDrops(*content, port_) : 0;
}

}  // namespace mingus::agent::intake
