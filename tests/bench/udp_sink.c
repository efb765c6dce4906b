/* udp_sink: the bare receiver of the intake benchmarks, the practical limit a StatsD
 * receiver can reach. recvmmsg in batches of 64 on a socket with an 8 MiB buffer, counting
 * datagrams and lines ('\n' bytes) and doing nothing else.
 *
 * usage: udp_sink PORT   (binds 127.0.0.1:PORT)
 * Prints "ready" once bound; "DATAGRAMS LINES" (the totals so far) on SIGUSR1, and again on
 * SIGTERM or SIGINT, then exits.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64
#define SIZE 65536

static volatile sig_atomic_t stop = 0, report = 0;
static void on_signal(int sig) {
  if (sig == SIGUSR1) {
    report = 1;
  } else {
    stop = 1;
  }
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: udp_sink PORT\n");
    return 2;
  }
  struct sigaction action = {.sa_handler = on_signal};  /* no SA_RESTART: recvmmsg returns */
  sigaction(SIGTERM, &action, NULL);
  sigaction(SIGINT, &action, NULL);
  sigaction(SIGUSR1, &action, NULL);

  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  int size = 8 << 20;
  /* Root may pass net.core.rmem_max; everyone else gets what it allows. */
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (bind(fd, (struct sockaddr*)&addr, sizeof addr) != 0) {
    perror("bind");
    return 1;
  }
  const struct timeval tick = {0, 100000}; /* wake up to look at the flags */
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
      const char* end = p + msgs[i].msg_len;
      while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        ++lines;
        ++p;
      }
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      perror("recvmmsg");
      return 1;
    }
    if (report) {
      report = 0;
      printf("%llu %llu\n", datagrams, lines);
      fflush(stdout);
    }
  }
  printf("%llu %llu\n", datagrams, lines);
  return 0;
}
