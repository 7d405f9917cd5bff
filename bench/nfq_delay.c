// nfq_delay: a fixed one-way delay for the packets of one NFQUEUE queue.
//
//   nfq_delay --queue N --delay-ms MS [--capacity PKTS] [--ready-file PATH] [--fifo PRIO]
//
// The kernel here has no sch_netem, so bench/netbed delays packets in user space:
// an iptables rule `-j NFQUEUE --queue-num N` hands each forwarded packet to this
// program, which notes its arrival time and issues the ACCEPT verdict MS
// milliseconds later. One queue per direction, one constant delay per queue, so
// packets leave in the order they arrived (a FIFO is a sorted queue when every
// packet waits the same time) and one NFQNL_MSG_VERDICT_BATCH message releases
// every packet that is due at once (the kernel accepts all ids <= the one given,
// in queue order). The packet bytes are never copied to user space (COPY_META).
//
// - Timing: CLOCK_MONOTONIC, a timerfd armed (absolute) at the head packet's due
//   time, timer slack 1 ns; ppoll with the signals unblocked only while waiting.
// - Bounded: at most --capacity packets are held (default 16384; the kernel's
//   queue is given the same bound). A packet arriving at a full queue is
//   dropped at once, like a router's tail drop, and counted.
// - SIGTERM/SIGINT: releases (accepts) every held packet, prints statistics on
//   stderr and exits 0. SIGUSR1 prints the statistics and goes on.
// - --fifo PRIO: SCHED_FIFO at PRIO (1-99), so a busy CPU does not add delay.
// - --ready-file: created once the queue is bound (for scripts to wait on).
//
// Build: cc -O2 -Wall -o nfq_delay nfq_delay.c -lnetfilter_queue -lmnl
// (Debian: libnetfilter-queue-dev libmnl-dev). Needs CAP_NET_ADMIN.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

struct held {
  uint32_t id;
  uint64_t due_ns;
};

static struct {
  struct held *ring;
  uint32_t cap, head, count;
  uint64_t delay_ns;
  uint32_t queue;
  // statistics
  uint64_t received, accepted, dropped_full, verdict_msgs, send_errors;
  uint32_t max_depth;
  uint64_t late_sum_ns, late_max_ns, late_n, late_over_1ms;
} st;

static volatile sig_atomic_t stop_requested, stats_requested;
static void on_signal(int sig) {
  if (sig == SIGUSR1) stats_requested = 1;
  else stop_requested = 1;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
  fprintf(stderr, "nfq_delay: %s: %s\n", what, strerror(errno));
  exit(1);
}

static struct mnl_socket *nl;
static unsigned portid;

static void send_or_die(struct nlmsghdr *nlh, const char *what) {
  if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) die(what);
}

// One verdict message: NF_ACCEPT for every queued id <= id (batch), or one id.
static void verdict(uint32_t id, int v, int batch) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh = nfq_nlmsg_put(buf, batch ? NFQNL_MSG_VERDICT_BATCH : NFQNL_MSG_VERDICT, st.queue);
  nfq_nlmsg_verdict_put(nlh, (int)id, v);
  if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) st.send_errors++;
  st.verdict_msgs++;
}

static int on_packet(const struct nlmsghdr *nlh, void *data) {
  uint64_t t = *(const uint64_t *)data;
  struct nlattr *attr[NFQA_MAX + 1] = {0};
  if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR]) return MNL_CB_OK;
  struct nfqnl_msg_packet_hdr *ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
  uint32_t id = ntohl(ph->packet_id);
  st.received++;
  if (st.count == st.cap) {  // tail drop
    verdict(id, NF_DROP, 0);
    st.dropped_full++;
    return MNL_CB_OK;
  }
  struct held *h = &st.ring[(st.head + st.count) % st.cap];
  h->id = id;
  h->due_ns = t + st.delay_ns;
  st.count++;
  if (st.count > st.max_depth) st.max_depth = st.count;
  return MNL_CB_OK;
}

// Accepts every held packet that is due (all of them when force), in one message.
static void release_due(int force) {
  uint64_t t = now_ns();
  uint32_t n = 0, last = 0;
  while (n < st.count) {
    struct held *h = &st.ring[(st.head + n) % st.cap];
    if (!force && h->due_ns > t) break;
    uint64_t late = t > h->due_ns ? t - h->due_ns : 0;
    st.late_sum_ns += late;
    st.late_n++;
    if (late > st.late_max_ns) st.late_max_ns = late;
    if (late > 1000000u) st.late_over_1ms++;
    last = h->id;
    n++;
  }
  if (n == 0) return;
  verdict(last, NF_ACCEPT, 1);
  st.accepted += n;
  st.head = (st.head + n) % st.cap;
  st.count -= n;
}

static void arm(int tfd) {
  struct itimerspec its = {0};
  if (st.count) {
    uint64_t due = st.ring[st.head].due_ns;
    its.it_value.tv_sec = (time_t)(due / 1000000000u);
    its.it_value.tv_nsec = (long)(due % 1000000000u);
    if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0) its.it_value.tv_nsec = 1;
  }
  if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0) die("timerfd_settime");
}

static void print_stats(void) {
  fprintf(stderr,
          "nfq_delay: queue %" PRIu32 " delay %.3f ms: received %" PRIu64 " accepted %" PRIu64
          " dropped_full %" PRIu64 " held_now %" PRIu32 " max_held %" PRIu32 " verdict_msgs %" PRIu64
          " send_errors %" PRIu64 " late_mean_us %.1f late_max_us %.1f late_over_1ms %" PRIu64 "\n",
          st.queue, (double)st.delay_ns / 1e6, st.received, st.accepted, st.dropped_full, st.count,
          st.max_depth, st.verdict_msgs, st.send_errors,
          st.late_n ? (double)st.late_sum_ns / (double)st.late_n / 1e3 : 0.0, (double)st.late_max_ns / 1e3, st.late_over_1ms);
}

static void usage(void) {
  fprintf(stderr, "usage: nfq_delay --queue N --delay-ms MS [--capacity PKTS] [--ready-file PATH] [--fifo PRIO]\n");
  exit(2);
}

int main(int argc, char **argv) {
  long queue = -1, cap = 16384, fifo = 0;
  double delay_ms = -1;
  const char *ready = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (i + 1 >= argc) usage();
    const char *v = argv[++i];
    char *end;
    if (!strcmp(a, "--queue")) queue = strtol(v, &end, 10);
    else if (!strcmp(a, "--delay-ms")) delay_ms = strtod(v, &end);
    else if (!strcmp(a, "--capacity")) cap = strtol(v, &end, 10);
    else if (!strcmp(a, "--fifo")) fifo = strtol(v, &end, 10);
    else if (!strcmp(a, "--ready-file")) { ready = v; continue; }
    else usage();
    if (*end) usage();
  }
  if (queue < 0 || queue > 65535 || delay_ms < 0 || delay_ms > 10000 || cap < 1 || cap > (1 << 22) || fifo < 0 ||
      fifo > 99)
    usage();
  st.queue = (uint32_t)queue;
  st.cap = (uint32_t)cap;
  st.delay_ns = (uint64_t)(delay_ms * 1e6 + 0.5);
  st.ring = calloc(st.cap, sizeof *st.ring);
  if (!st.ring) die("calloc");

  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  if (fifo) {
    struct sched_param sp = {.sched_priority = (int)fifo};
    if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0) die("sched_setscheduler(SCHED_FIFO)");
  }

  sigset_t block, waitmask;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGUSR1);
  sigprocmask(SIG_BLOCK, &block, &waitmask);
  struct sigaction sa = {0};
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGUSR1, &sa, NULL);

  nl = mnl_socket_open(NETLINK_NETFILTER);
  if (!nl) die("mnl_socket_open");
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) die("mnl_socket_bind");
  portid = mnl_socket_get_portid(nl);
  int fd = mnl_socket_get_fd(nl);
  int rcvbuf = 16 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  int one = 1;
  // Overruns show in /proc/net/netfilter/nfnetlink_queue; recv must not fail on them.
  setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof one);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);

  char buf[MNL_SOCKET_BUFFER_SIZE > 65536 ? MNL_SOCKET_BUFFER_SIZE : 65536];
  struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, st.queue);
  nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
  send_or_die(nlh, "bind queue (is another program bound to it?)");
  nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, st.queue);
  nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_META, 0);
  nfq_nlmsg_cfg_put_qmaxlen(nlh, st.cap);
  mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(NFQA_CFG_F_GSO));
  mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_GSO));
  send_or_die(nlh, "configure queue");

  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (tfd < 0) die("timerfd_create");

  if (ready) {
    int rf = open(ready, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (rf < 0) die("ready file");
    close(rf);
  }
  fprintf(stderr, "nfq_delay: queue %" PRIu32 " bound, delay %.3f ms, capacity %" PRIu32 "%s\n", st.queue,
          delay_ms, st.cap, fifo ? ", SCHED_FIFO" : "");

  struct pollfd pfd[2] = {{.fd = fd, .events = POLLIN}, {.fd = tfd, .events = POLLIN}};
  while (!stop_requested) {
    int r = ppoll(pfd, 2, NULL, &waitmask);
    if (r < 0) {
      if (errno != EINTR) die("ppoll");
    }
    if (stats_requested) {
      stats_requested = 0;
      print_stats();
    }
    if (stop_requested) break;
    if (r > 0 && (pfd[1].revents & POLLIN)) {
      uint64_t expirations;
      if (read(tfd, &expirations, sizeof expirations) < 0 && errno != EAGAIN) die("read timerfd");
    }
    if (r > 0 && (pfd[0].revents & POLLIN)) {
      // Drain what is there, bounded so due packets are never starved.
      for (int i = 0; i < 256; i++) {
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0) {
          if (errno == EAGAIN || errno == EWOULDBLOCK) break;
          if (errno == EINTR || errno == ENOBUFS) continue;
          die("recv");
        }
        uint64_t t = now_ns();
        if (mnl_cb_run(buf, (size_t)n, 0, portid, on_packet, &t) < 0 && errno != EINTR) {
          // An error message from the kernel (e.g. a verdict for an id it no
          // longer holds) is not fatal for a delay line.
          st.send_errors++;
        }
      }
    }
    release_due(0);
    arm(tfd);
  }
  release_due(1);
  print_stats();
  nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, st.queue);
  nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_UNBIND);
  mnl_socket_sendto(nl, nlh, nlh->nlmsg_len);
  mnl_socket_close(nl);
  free(st.ring);
  return 0;
}
