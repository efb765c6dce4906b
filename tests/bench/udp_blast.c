/* udp_blast: a sendmmsg load generator for the intake benchmarks.
 *
 * usage: udp_blast [-f PAYLOAD_FILE] HOST PORT SECONDS RATE LINES_PER_DATAGRAM [LINE...]
 *
 * Sends datagrams of LINES_PER_DATAGRAM '\n'-terminated lines to HOST:PORT for SECONDS, at
 * RATE datagrams a second (0: flat out), with sendmmsg in batches of up to 64. The lines
 * are the non-empty lines of PAYLOAD_FILE followed by the LINE arguments, used in turn;
 * enough distinct datagrams are built up front to use every line, then sent round robin.
 * HOST must be a loopback address (127.0.0.0/8 or ::1): this tool never sends elsewhere.
 * Pin it with taskset. On exit it prints one line: "DATAGRAMS LINES SECONDS" sent.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_BATCH 64
#define MAX_DATAGRAM 65507
#define MAX_DATAGRAMS 4096 /* distinct datagrams built up front */

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void usage(void) {
  fprintf(stderr, "usage: udp_blast [-f PAYLOAD_FILE] HOST PORT SECONDS RATE LINES_PER_DATAGRAM [LINE...]\n");
  exit(2);
}

/* Appends the non-empty lines of path to *lines (a growing array of strings). */
static void read_lines(const char* path, char*** lines, size_t* count) {
  FILE* f = fopen(path, "r");
  if (f == NULL) {
    perror(path);
    exit(2);
  }
  char* line = NULL;
  size_t cap = 0;
  ssize_t len;
  while ((len = getline(&line, &cap, f)) >= 0) {
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
    if (len == 0) continue;
    *lines = realloc(*lines, (*count + 1) * sizeof **lines);
    (*lines)[(*count)++] = strdup(line);
  }
  free(line);
  fclose(f);
}

/* Resolves a numeric loopback address; exits on anything else. */
static socklen_t loopback_address(const char* host, const char* port, struct sockaddr_storage* out) {
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM,
                           .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
  struct addrinfo* found = NULL;
  if (getaddrinfo(host, port, &hints, &found) != 0 || found == NULL) usage();
  int loopback = 0;
  if (found->ai_family == AF_INET) {
    const struct sockaddr_in* a = (const struct sockaddr_in*)found->ai_addr;
    loopback = (ntohl(a->sin_addr.s_addr) >> 24) == 127;
  } else if (found->ai_family == AF_INET6) {
    loopback = IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6*)found->ai_addr)->sin6_addr);
  }
  if (!loopback) {
    fprintf(stderr, "udp_blast: %s is not a loopback address; refusing\n", host);
    exit(2);
  }
  const socklen_t len = found->ai_addrlen;
  memcpy(out, found->ai_addr, len);
  freeaddrinfo(found);
  return len;
}

int main(int argc, char** argv) {
  char** lines = NULL;
  size_t line_count = 0;
  int opt;
  while ((opt = getopt(argc, argv, "f:")) != -1) {
    if (opt != 'f') usage();
    read_lines(optarg, &lines, &line_count);
  }
  if (argc - optind < 5) usage();
  const char* host = argv[optind];
  const char* port = argv[optind + 1];
  const double seconds = atof(argv[optind + 2]);
  const double rate = atof(argv[optind + 3]);
  const int per_datagram = atoi(argv[optind + 4]);
  for (int i = optind + 5; i < argc; ++i) {
    lines = realloc(lines, (line_count + 1) * sizeof *lines);
    lines[line_count++] = argv[i];
  }
  if (line_count == 0 || per_datagram < 1 || seconds <= 0 || rate < 0) usage();

  struct sockaddr_storage to;
  const socklen_t to_len = loopback_address(host, port, &to);

  /* Enough distinct datagrams to use every line once, rounded up to whole batches. */
  size_t datagram_count = (line_count + (size_t)per_datagram - 1) / (size_t)per_datagram;
  datagram_count = (datagram_count + MAX_BATCH - 1) / MAX_BATCH * MAX_BATCH;
  if (datagram_count > MAX_DATAGRAMS) datagram_count = MAX_DATAGRAMS;
  struct iovec* iov = calloc(datagram_count, sizeof *iov);
  struct mmsghdr* msgs = calloc(datagram_count, sizeof *msgs);
  size_t next_line = 0;
  for (size_t d = 0; d < datagram_count; ++d) {
    char* buffer = malloc(MAX_DATAGRAM);
    size_t len = 0;
    for (int l = 0; l < per_datagram; ++l) {
      const char* line = lines[next_line++ % line_count];
      const size_t n = strlen(line);
      if (len + n + 1 > MAX_DATAGRAM) {
        fprintf(stderr, "udp_blast: %d lines do not fit in one datagram\n", per_datagram);
        return 2;
      }
      memcpy(buffer + len, line, n);
      buffer[len + n] = '\n';
      len += n + 1;
    }
    iov[d].iov_base = buffer;
    iov[d].iov_len = len;
    msgs[d].msg_hdr.msg_iov = &iov[d];
    msgs[d].msg_hdr.msg_iovlen = 1;
    msgs[d].msg_hdr.msg_name = &to;
    msgs[d].msg_hdr.msg_namelen = to_len;
  }

  const int fd = socket(to.ss_family, SOCK_DGRAM, 0);
  if (fd < 0) {
    perror("socket");
    return 1;
  }
  const int sndbuf = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);

  /* At a fixed rate, send about half a millisecond's worth at a time so that bursts stay
   * small against the receiver's buffer; flat out, whole batches. */
  int batch = rate > 0 ? (int)(rate / 2000) : MAX_BATCH;
  if (batch < 1) batch = 1;
  if (batch > MAX_BATCH) batch = MAX_BATCH;

  unsigned long long sent = 0;
  size_t ring = 0;
  const double start = now();
  double elapsed = 0;
  for (;;) {
    elapsed = now() - start;
    if (elapsed >= seconds) break;
    if (rate > 0 && (double)sent >= elapsed * rate) {
      const struct timespec pause = {0, 20000};
      nanosleep(&pause, NULL);
      continue;
    }
    unsigned int n = (unsigned int)batch;
    if (ring + n > datagram_count) n = (unsigned int)(datagram_count - ring);
    const int done = sendmmsg(fd, msgs + ring, n, 0);
    if (done < 0) {
      if (errno == EINTR || errno == ENOBUFS || errno == EAGAIN) continue;
      perror("sendmmsg");
      return 1;
    }
    sent += (unsigned long long)done;
    ring = (ring + (size_t)done) % datagram_count;
  }
  printf("%llu %llu %.3f\n", sent, sent * (unsigned long long)per_datagram, elapsed);
  return 0;
}
