/* A sendmmsg load generator for the intake benchmarks.
 * usage: udp_blast HOST PORT SECONDS RATE LINES_PER_DATAGRAM LINE...
 * Sends datagrams of LINES_PER_DATAGRAM lines (cycling through the LINE arguments) to
 * HOST:PORT for SECONDS, at RATE datagrams a second (0: as fast as it can), in batches of 64.
 * Prints "sent_datagrams sent_lines" on exit. Loopback only: HOST must be 127.0.0.1. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  if (argc < 7 || strcmp(argv[1], "127.0.0.1") != 0) {
    fprintf(stderr, "usage: udp_blast 127.0.0.1 PORT SECONDS RATE LINES_PER_DATAGRAM LINE...\n");
    return 2;
  }
  const int port = atoi(argv[2]);
  const double seconds = atof(argv[3]), rate = atof(argv[4]);
  const int per_datagram = atoi(argv[5]);
  char** lines = argv + 6;
  const int line_count = argc - 6;

  /* BATCH distinct datagrams, built once. */
  static char payload[BATCH][65507];
  struct iovec iov[BATCH];
  struct mmsghdr msgs[BATCH];
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  int next_line = 0;
  for (int b = 0; b < BATCH; ++b) {
    size_t len = 0;
    for (int l = 0; l < per_datagram; ++l) {
      const char* line = lines[next_line++ % line_count];
      len += (size_t)snprintf(payload[b] + len, sizeof payload[b] - len, "%s\n", line);
    }
    iov[b].iov_base = payload[b];
    iov[b].iov_len = len;
    memset(&msgs[b], 0, sizeof msgs[b]);
    msgs[b].msg_hdr.msg_iov = &iov[b];
    msgs[b].msg_hdr.msg_iovlen = 1;
    msgs[b].msg_hdr.msg_name = &to;
    msgs[b].msg_hdr.msg_namelen = sizeof to;
  }
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  int sndbuf = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);

  unsigned long long sent = 0;
  const double start = now();
  for (;;) {
    const double elapsed = now() - start;
    if (elapsed >= seconds) break;
    if (rate > 0 && sent > elapsed * rate) {
      struct timespec pause = {0, 20000};
      nanosleep(&pause, NULL);
      continue;
    }
    const int n = sendmmsg(fd, msgs, BATCH, 0);
    if (n > 0) sent += (unsigned long long)n;
  }
  printf("%llu %llu\n", sent, sent * (unsigned long long)per_datagram);
  return 0;
}
