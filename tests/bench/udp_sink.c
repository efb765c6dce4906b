/* The bare receiver: recvmmsg in batches of 64 on a socket with an 8 MiB buffer, counting
 * datagrams and lines and doing nothing else -- the practical limit a StatsD receiver can
 * reach. usage: udp_sink PORT; prints "datagrams lines" on SIGTERM. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64
#define SIZE 65536

static volatile sig_atomic_t stop = 0;
static void on_term(int sig) { (void)sig; stop = 1; }

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  signal(SIGTERM, on_term);
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  int size = 8 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (bind(fd, (struct sockaddr*)&addr, sizeof addr) != 0) {
    perror("bind");
    return 1;
  }
  struct timeval tick = {0, 100000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof tick);
  static char buffers[BATCH][SIZE];
  struct iovec iov[BATCH];
  struct mmsghdr msgs[BATCH];
  for (int i = 0; i < BATCH; ++i) {
    iov[i].iov_base = buffers[i];
    iov[i].iov_len = SIZE;
    memset(&msgs[i], 0, sizeof msgs[i]);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  unsigned long long datagrams = 0, lines = 0;
  printf("ready\n");
  fflush(stdout);
  while (!stop) {
    const int n = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
    for (int i = 0; i < n; ++i) {
      ++datagrams;
      const char* p = buffers[i];
      const unsigned len = msgs[i].msg_len;
      for (unsigned k = 0; k < len; ++k) lines += p[k] == '\n';
    }
  }
  printf("%llu %llu\n", datagrams, lines);
  return 0;
}
