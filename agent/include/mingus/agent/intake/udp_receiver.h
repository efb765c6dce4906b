#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "mingus/agent/intake/line_processor.h"
#include "mingus/common/status.h"

namespace mingus::agent::intake {

struct ReceiverOptions {
  std::string listen_udp = "127.0.0.1:8125";  // IPv4 or [IPv6]:port; port 0 picks one
  int threads = 2;                            // one SO_REUSEPORT socket each
  int receive_buffer_bytes = 8 << 20;         // SO_RCVBUF asked of the kernel
  std::string procfs = "/proc";               // for the kernel's drop counters
};

// Sums the drops column of /proc/net/udp or udp6 over the sockets bound to `port`.
uint64_t ParseUdpDrops(std::string_view proc_net_udp, uint16_t port);

// Receives datagrams on dedicated threads with recvmmsg, one socket per thread (SO_REUSEPORT,
// the kernel spreads senders), and hands each datagram to that thread's LineProcessor.
class UdpReceiver {
 public:
  // Makes a thread's processor; called again after Refresh (a configuration reload).
  using ProcessorFactory = std::function<std::unique_ptr<LineProcessor>()>;

  UdpReceiver(ReceiverOptions options, ProcessorFactory factory);
  ~UdpReceiver();
  UdpReceiver(const UdpReceiver&) = delete;
  UdpReceiver& operator=(const UdpReceiver&) = delete;

  // Binds and starts the threads; returns the bound address.
  StatusOr<std::string> Start();
  void Stop();
  // Every thread takes a fresh processor from the factory before its next batch.
  void Refresh() { generation_.fetch_add(1, std::memory_order_release); }

  // What the kernel granted for SO_RCVBUF (it doubles the request, and caps it by
  // net.core.rmem_max unless SO_RCVBUFFORCE is allowed).
  int granted_receive_buffer_bytes() const { return granted_buffer_; }
  // Datagrams the kernel dropped on our sockets (the drops column of /proc/net/udp{,6}).
  uint64_t KernelDrops() const;

 private:
  void Run(int fd);

  ReceiverOptions options_;
  ProcessorFactory factory_;
  std::vector<int> sockets_;
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
  bool ipv6_ = false;
  int granted_buffer_ = 0;
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stopping_{false};
};

}  // namespace mingus::agent::intake
