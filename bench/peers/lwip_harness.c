// lwIP side of `./dev bench --peers`: the scenarios of bench/tcp_rx.cc,
// bench/forward.cc and bench/rx_path.cc run through lwIP 2.1.3 in memory.
//
// One thread, NO_SYS, static pools. Frames are built outside the timed
// region, as inlet's benchmarks build theirs with SimPeer. Timed, per frame:
// pbuf_alloc(PBUF_POOL) and a copy of the frame into it (inlet's sim port
// DMA copy), ethernet_input and everything the stack does, the application's
// copy out of the pbuf chain (TCP, UDP), the link output (ACKs parsed to
// drive the sender, like bench/tcp_rx.cc's collect_acks; replies and
// forwarded frames counted). Frames are fed in bursts (64 for TCP, 256 for
// the rest) into a ring of pbufs first, then handed to the stack, as inlet's
// sim port fills its ring before a poll. Timed in this thread's CPU time, as
// inlet's benchmarks are; medians of 5 runs (`--quick`: 3 shorter runs, the
// same sizes as inlet's --quick).
//
// Before measuring, a self-test proves that lwIP drops a frame whose IPv4,
// TCP, UDP or ICMP checksum is wrong (unless built with
// INLET_PEERS_NO_CHECKSUM), and every run checks what arrived: bytes read,
// replies sent, frames forwarded.
//
// Output: one human line per scenario and `lwip NAME VALUE UNIT` lines that
// bench/peers/run.sh reads.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lwip/etharp.h"
#include "lwip/init.h"
#include "lwip/ip4_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"
#include "lwip/udp.h"
#include "netif/ethernet.h"

#define MSS 1460
#define WINDOW_SEGMENTS 718  // ~1 MiB of payload, as bench/tcp_rx.cc
#define TCP_BURST 64
#define PACKET_BURST 256
#define MAX_RUNS 5
#define MAX_FRAME 1514

// Sizes of bench/tcp_rx.cc, bench/rx_path.cc and bench/forward.cc; --quick
// takes their --quick sizes.
static size_t windows_per_run = 200;
static size_t rx_packets = 1000000;
static size_t forward_packets = 2000000;
static int run_count = MAX_RUNS;

// ---- time, lwIP's clock ------------------------------------------------

// This thread's CPU time: what inlet's benchmarks time with (ThreadCpuClock).
static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

// lwIP's millisecond clock (only its timer list reads it here).
u32_t sys_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (u32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

static int compare_doubles(const void* a, const void* b) {
  const double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

static double median(double* v, int n) {
  qsort(v, (size_t)n, sizeof v[0], compare_doubles);
  return v[n / 2];
}

static void fail(const char* what) {
  fprintf(stderr, "lwip harness: %s\n", what);
  exit(1);
}

// ---- frame building (outside the timed regions) --------------------------

typedef struct {
  uint8_t bytes[MAX_FRAME];
  uint16_t length;
} Frame;

static const uint8_t kPeerMac[6] = {0x02, 0, 0, 0, 0x00, 0x01};   // 192.0.2.1 on netif a
static const uint8_t kHostBMac[6] = {0x02, 0, 0, 0, 0x0b, 0x01};  // 198.51.100.2 on netif b
static const uint8_t kMacA[6] = {0x02, 0x00, 0x5e, 0x00, 0x0a, 0x02};
static const uint8_t kMacB[6] = {0x02, 0x00, 0x5e, 0x00, 0x0b, 0x02};
#define IP4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))
static const uint32_t kPeerIp = IP4(192, 0, 2, 1);
static const uint32_t kIpA = IP4(192, 0, 2, 2);
static const uint32_t kIpB = IP4(198, 51, 100, 1);
static const uint32_t kHostBIp = IP4(198, 51, 100, 2);
static const uint32_t kRoutedIp = IP4(203, 0, 113, 7);

static void put16(uint8_t* p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static void put32(uint8_t* p, uint32_t v) {
  put16(p, (uint16_t)(v >> 16));
  put16(p + 2, (uint16_t)v);
}
static uint16_t get16(const uint8_t* p) { return (uint16_t)((p[0] << 8) | p[1]); }
static uint32_t get32(const uint8_t* p) { return ((uint32_t)get16(p) << 16) | get16(p + 2); }

static uint32_t sum_bytes(const uint8_t* p, size_t n, uint32_t sum) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += get16(p + i);
  if (n & 1) sum += (uint32_t)p[n - 1] << 8;
  return sum;
}
static uint16_t fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}

// Ethernet + IPv4 header (20 bytes, TTL 64, ident 1, no DF, as SimPeer::ipv4)
// around `l4` of `l4_len` bytes; returns the frame length.
static uint16_t build_ipv4(Frame* f, const uint8_t* dst_mac, const uint8_t* src_mac, uint32_t src,
                           uint32_t dst, uint8_t proto, const uint8_t* l4, size_t l4_len) {
  uint8_t* e = f->bytes;
  memcpy(e, dst_mac, 6);
  memcpy(e + 6, src_mac, 6);
  put16(e + 12, 0x0800);
  uint8_t* ip = e + 14;
  memset(ip, 0, 20);
  ip[0] = 0x45;
  put16(ip + 2, (uint16_t)(20 + l4_len));
  put16(ip + 4, 1);
  ip[8] = 64;
  ip[9] = proto;
  put32(ip + 12, src);
  put32(ip + 16, dst);
  put16(ip + 10, fold(sum_bytes(ip, 20, 0)));
  memcpy(ip + 20, l4, l4_len);
  f->length = (uint16_t)(14 + 20 + l4_len);
  return f->length;
}

static uint32_t pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto, size_t len) {
  return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + (uint32_t)len;
}

static void build_tcp(Frame* f, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t window,
                      const uint8_t* options, size_t options_len, const uint8_t* payload,
                      size_t payload_len) {
  uint8_t seg[MAX_FRAME];
  const size_t hl = 20 + options_len;
  memset(seg, 0, hl);
  put16(seg, 40000);
  put16(seg + 2, 5001);
  put32(seg + 4, seq);
  put32(seg + 8, ack);
  seg[12] = (uint8_t)((hl / 4) << 4);
  seg[13] = flags;
  put16(seg + 14, window);
  memcpy(seg + 20, options, options_len);
  memcpy(seg + hl, payload, payload_len);
  const size_t len = hl + payload_len;
  put16(seg + 16, fold(sum_bytes(seg, len, pseudo_sum(kPeerIp, kIpA, 6, len))));
  build_ipv4(f, kMacA, kPeerMac, kPeerIp, kIpA, 6, seg, len);
}

static void build_udp(Frame* f, const uint8_t* dst_mac, uint32_t dst, uint16_t sport, uint16_t dport,
                      const uint8_t* data, size_t n) {
  uint8_t d[MAX_FRAME];
  put16(d, sport);
  put16(d + 2, dport);
  put16(d + 4, (uint16_t)(8 + n));
  put16(d + 6, 0);
  memcpy(d + 8, data, n);
  uint16_t c = fold(sum_bytes(d, 8 + n, pseudo_sum(kPeerIp, dst, 17, 8 + n)));
  put16(d + 6, c == 0 ? 0xffff : c);
  build_ipv4(f, dst_mac, kPeerMac, kPeerIp, dst, 17, d, 8 + n);
}

static void build_echo(Frame* f, const uint8_t* data, size_t n) {
  uint8_t m[MAX_FRAME];
  m[0] = 8;  // echo request
  m[1] = 0;
  put16(m + 2, 0);
  put16(m + 4, 1);  // ident
  put16(m + 6, 1);  // sequence
  memcpy(m + 8, data, n);
  put16(m + 2, fold(sum_bytes(m, 8 + n, 0)));
  build_ipv4(f, kMacA, kPeerMac, kPeerIp, kIpA, 1, m, 8 + n);
}

static void build_arp_request(Frame* f, const uint8_t* src_mac, uint32_t src_ip, uint32_t target) {
  uint8_t* e = f->bytes;
  memset(e, 0xff, 6);
  memcpy(e + 6, src_mac, 6);
  put16(e + 12, 0x0806);
  uint8_t* a = e + 14;
  put16(a, 1);
  put16(a + 2, 0x0800);
  a[4] = 6;
  a[5] = 4;
  put16(a + 6, 1);
  memcpy(a + 8, src_mac, 6);
  put32(a + 14, src_ip);
  memset(a + 18, 0, 6);
  put32(a + 24, target);
  f->length = 14 + 28;
}

// ---- the two netifs -----------------------------------------------------

static struct netif netif_a, netif_b;

// What the link output does with a frame: TCP mode reads ACKs (the sender's
// view of the window), other modes count.
static int tcp_mode;
static uint64_t tx_frames_a, tx_frames_b;
static uint32_t syn_ack_iss;
static uint8_t syn_ack_wscale;
static int syn_ack_seen;
static uint32_t right_edge;  // what lwIP's last ACK allows the sender

static void read_ack(const uint8_t* f, size_t len) {
  if (len < 54 || get16(f + 12) != 0x0800 || f[23] != 6) return;
  const uint8_t* ip = f + 14;
  const size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
  const uint8_t* t = ip + ihl;
  if (14 + ihl + 20 > len) return;
  const uint8_t flags = t[13];
  if (flags & 0x02) {  // SYN-ACK: initial sequence number and window scale
    syn_ack_iss = get32(t + 4);
    syn_ack_seen = 1;
    const size_t thl = (size_t)(t[12] >> 4) * 4;
    for (size_t i = 20; i < thl && 14 + ihl + i < len;) {
      const uint8_t kind = t[i];
      if (kind == 0) break;
      if (kind == 1) {
        ++i;
        continue;
      }
      if (i + 1 >= thl || t[i + 1] < 2) break;
      if (kind == 3) syn_ack_wscale = t[i + 2];
      i += t[i + 1];
    }
    return;
  }
  if (!(flags & 0x10)) return;
  const uint32_t edge = get32(t + 8) + ((uint32_t)get16(t + 14) << syn_ack_wscale);
  if ((int32_t)(edge - right_edge) > 0) right_edge = edge;
}

static err_t link_output(struct netif* n, struct pbuf* p) {
  if (n == &netif_b) {
    ++tx_frames_b;
    return ERR_OK;
  }
  ++tx_frames_a;
  if (tcp_mode) {
    if (p->next == NULL) {
      read_ack((const uint8_t*)p->payload, p->len);
    } else {
      uint8_t flat[128];
      const u16_t n_copied = pbuf_copy_partial(p, flat, sizeof flat, 0);
      read_ack(flat, n_copied);
    }
  }
  return ERR_OK;
}

static err_t netif_setup(struct netif* n) {
  n->name[0] = 's';
  n->name[1] = n == &netif_a ? 'a' : 'b';
  n->mtu = 1500;
  n->hwaddr_len = 6;
  memcpy(n->hwaddr, n == &netif_a ? kMacA : kMacB, 6);
  n->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_LINK_UP;
  n->output = etharp_output;
  n->linkoutput = link_output;
  return ERR_OK;
}

static void add_netif(struct netif* n, uint32_t ip, uint32_t gw) {
  ip4_addr_t addr, mask, gateway;
  IP4_ADDR(&addr, ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
  IP4_ADDR(&mask, 255, 255, 255, 0);
  IP4_ADDR(&gateway, gw >> 24, (gw >> 16) & 0xff, (gw >> 8) & 0xff, gw & 0xff);
  if (netif_add(n, &addr, &mask, &gateway, NULL, netif_setup, ethernet_input) == NULL) fail("netif_add");
  netif_set_up(n);
  netif_set_link_up(n);
}

// The "DMA" of a frame into a pool buffer, outside or inside timing.
static struct pbuf* rx_copy(const Frame* f) {
  struct pbuf* p = pbuf_alloc(PBUF_RAW, f->length, PBUF_POOL);
  if (p == NULL) fail("pbuf pool empty");
  pbuf_take(p, f->bytes, f->length);
  return p;
}

static void deliver(struct netif* n, struct pbuf* p) {
  if (n->input(p, n) != ERR_OK) pbuf_free(p);
}

static void deliver_frame(struct netif* n, const Frame* f) { deliver(n, rx_copy(f)); }

// ---- TCP receive (bench/tcp_rx.cc) ---------------------------------------

static struct tcp_pcb* conn;
static uint64_t read_bytes;
static uint8_t app_buf[256 * 1024];
static uint32_t snd_seq, snd_ack;
static Frame window_frames[WINDOW_SEGMENTS];
static uint8_t payload[MSS];

static err_t on_recv(void* arg, struct tcp_pcb* pcb, struct pbuf* p, err_t err) {
  (void)arg;
  (void)err;
  if (p == NULL) return ERR_OK;
  // lwIP hands at most 64 KiB per call (pbuf_split_64k): one copy into the
  // application's buffer, then the window is given back.
  const u16_t n = pbuf_copy_partial(p, app_buf, p->tot_len, 0);
  read_bytes += n;
  tcp_recved(pcb, n);
  pbuf_free(p);
  return ERR_OK;
}

static err_t on_accept(void* arg, struct tcp_pcb* pcb, err_t err) {
  (void)arg;
  if (err != ERR_OK || pcb == NULL) return ERR_VAL;
  conn = pcb;
  tcp_recv(pcb, on_recv);
  return ERR_OK;
}

enum Pattern { IN_ORDER, LATE_EVERY_50, REVERSED_WINDOW };

static void tcp_setup(void) {
  for (size_t i = 0; i < MSS; ++i) payload[i] = (uint8_t)(i * 7);
  struct tcp_pcb* l = tcp_new();
  if (l == NULL || tcp_bind(l, IP_ADDR_ANY, 5001) != ERR_OK) fail("tcp_bind");
  l = tcp_listen(l);
  if (l == NULL) fail("tcp_listen");
  tcp_accept(l, on_accept);
  tcp_mode = 1;  // from here on, frames out of a are read as ACKs
  // SYN: MSS 1460, SACK permitted, window scale 7 (bench/tcp_rx.cc's SYN);
  // the sequence space wraps during the run.
  static const uint8_t syn_options[12] = {2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7};
  Frame f;
  const uint32_t isn = 0xFFFF0000u;
  build_tcp(&f, isn, 0, 0x02, 65535, syn_options, sizeof syn_options, NULL, 0);
  deliver_frame(&netif_a, &f);
  if (!syn_ack_seen) fail("no SYN-ACK");
  snd_seq = isn + 1;
  snd_ack = syn_ack_iss + 1;
  right_edge = snd_seq + 65535;  // the SYN-ACK's window is never scaled
  build_tcp(&f, snd_seq, snd_ack, 0x10, 4096, NULL, 0, NULL, 0);
  deliver_frame(&netif_a, &f);
  if (conn == NULL) fail("connection not accepted");
  if (syn_ack_wscale != TCP_RCV_SCALE) fail("lwIP did not scale its window");
}

// A sender starts inside the SYN-ACK's 64 KiB and grows with the window
// lwIP advertises, in order, until a whole 1 MiB pattern fits.
static void open_window(void) {
  Frame f;
  for (int i = 0; i < 100000 && (int32_t)(right_edge - snd_seq) < WINDOW_SEGMENTS * MSS; ++i) {
    if ((int32_t)(right_edge - snd_seq) >= MSS) {
      build_tcp(&f, snd_seq, snd_ack, 0x10, 4096, NULL, 0, payload, MSS);
      deliver_frame(&netif_a, &f);
      snd_seq += MSS;
    } else {
      tcp_fasttmr();  // the delayed ACK a real sender would wait for
    }
  }
  tcp_fasttmr();
}

// Nanoseconds for n segments in `pattern`, whole windows at a time.
static double tcp_run(enum Pattern pattern, size_t n) {
  static size_t order[WINDOW_SEGMENTS];
  struct pbuf* ring[TCP_BURST];
  double ns = 0;
  for (size_t done = 0; done < n; done += WINDOW_SEGMENTS) {
    if ((int32_t)(right_edge - snd_seq) < (int32_t)(WINDOW_SEGMENTS * MSS)) {
      fprintf(stderr, "lwIP offers %d bytes, the pattern needs %d\n", (int32_t)(right_edge - snd_seq),
              WINDOW_SEGMENTS * MSS);
      exit(1);
    }
    for (size_t i = 0; i < WINDOW_SEGMENTS; ++i) {
      build_tcp(&window_frames[i], snd_seq + (uint32_t)(i * MSS), snd_ack, 0x10, 4096, NULL, 0, payload,
                MSS);
      order[i] = i;
    }
    if (pattern == LATE_EVERY_50) {
      // std::rotate(&order[i], &order[i + 1], &order[i + 9]): segment i after i+1..i+8.
      for (size_t i = 0; i + 8 < WINDOW_SEGMENTS; i += 50) {
        const size_t late = order[i];
        memmove(&order[i], &order[i + 1], 8 * sizeof order[0]);
        order[i + 8] = late;
      }
    } else if (pattern == REVERSED_WINDOW) {
      for (size_t i = 0; i < WINDOW_SEGMENTS; ++i) order[i] = WINDOW_SEGMENTS - 1 - i;
    }
    const double t0 = now_ns();
    for (size_t k = 0; k < WINDOW_SEGMENTS;) {
      const size_t end = k + TCP_BURST < WINDOW_SEGMENTS ? k + TCP_BURST : WINDOW_SEGMENTS;
      size_t filled = 0;
      for (; k < end; ++k) ring[filled++] = rx_copy(&window_frames[order[k]]);
      for (size_t i = 0; i < filled; ++i) deliver(&netif_a, ring[i]);
    }
    // What lwIP's main loop would do within 250 ms: send the delayed ACK.
    tcp_fasttmr();
    ns += now_ns() - t0;
    snd_seq += (uint32_t)(WINDOW_SEGMENTS * MSS);
    if (conn->ooseq != NULL || conn->rcv_nxt != snd_seq) fail("segments left out of order");
  }
  return ns;
}

// ---- UDP receive, ICMP echo, forwarding (bench/rx_path.cc, forward.cc) -----

static uint64_t udp_bytes;
static uint8_t udp_app_buf[2048];

static void on_udp(void* arg, struct udp_pcb* pcb, struct pbuf* p, const ip_addr_t* addr, u16_t port) {
  (void)arg;
  (void)pcb;
  (void)addr;
  (void)port;
  udp_bytes += pbuf_copy_partial(p, udp_app_buf, sizeof udp_app_buf, 0);
  pbuf_free(p);
}

enum PacketWork { POOL_ONLY, TO_STACK };

// ns per packet for `count` copies of `f` in bursts of PACKET_BURST.
static double packet_run(struct netif* in, const Frame* f, size_t count, enum PacketWork work) {
  struct pbuf* ring[PACKET_BURST];
  const double t0 = now_ns();
  for (size_t sent = 0; sent < count; sent += PACKET_BURST) {
    for (size_t i = 0; i < PACKET_BURST; ++i) ring[i] = rx_copy(f);
    if (work == TO_STACK) {
      for (size_t i = 0; i < PACKET_BURST; ++i) deliver(in, ring[i]);
    } else {
      for (size_t i = 0; i < PACKET_BURST; ++i) pbuf_free(ring[i]);
    }
  }
  return (now_ns() - t0) / (double)count;
}

static void report(const char* label, const char* name, double ns, int as_rate) {
  if (as_rate) {
    printf("%-34s %8.1f ns/pkt  %6.2f Mpps\n", label, ns, 1e3 / ns);
    printf("lwip %s %.2f Mpps\n", name, 1e3 / ns);
  } else {
    printf("%-34s %8.1f ns/seg  %6.2f Gbit/s  %5.2f Mseg/s\n", label, ns, MSS * 8 / ns, 1e3 / ns);
    printf("lwip %s %.1f ns\n", name, ns);
  }
}

// Frames with a wrong checksum must change nothing (the checks are on);
// with INLET_PEERS_NO_CHECKSUM this proves they are off instead.
static void checksum_self_test(const Frame* udp_small, const Frame* echo) {
  const int checking = CHECKSUM_CHECK_TCP && CHECKSUM_CHECK_UDP && CHECKSUM_CHECK_ICMP && CHECKSUM_CHECK_IP;
  Frame f;
  int accepted = 0;
  // TCP: the next in-order segment with one payload byte changed.
  build_tcp(&f, snd_seq, snd_ack, 0x10, 4096, NULL, 0, payload, MSS);
  f.bytes[f.length - 1] ^= 0x5a;
  const uint64_t read_before = read_bytes;
  deliver_frame(&netif_a, &f);
  tcp_fasttmr();
  if (read_bytes != read_before) {
    ++accepted;
    snd_seq += MSS;
  }
  // UDP and ICMP: one data byte changed.
  const uint64_t udp_before = udp_bytes;
  f = *udp_small;
  f.bytes[f.length - 1] ^= 0x5a;
  deliver_frame(&netif_a, &f);
  accepted += udp_bytes != udp_before;
  uint64_t tx_before = tx_frames_a;
  f = *echo;
  f.bytes[f.length - 1] ^= 0x5a;
  deliver_frame(&netif_a, &f);
  accepted += tx_frames_a != tx_before;
  // IPv4 header: the TTL changed, the header checksum left as it was.
  tx_before = tx_frames_a;
  f = *echo;
  f.bytes[14 + 8] ^= 0x01;
  deliver_frame(&netif_a, &f);
  accepted += tx_frames_a != tx_before;
  if (checking && accepted != 0) fail("a frame with a wrong checksum was accepted");
  if (!checking && accepted == 0) fail("checksum checks are off, yet every damaged frame was dropped");
  printf("checksum self-test: %s\n", checking ? "damaged TCP, UDP, ICMP and IPv4 frames dropped"
                                              : "checks off (damaged frames accepted)");
}

static void usage(void) {
  fprintf(stderr, "usage: lwip-harness [--quick]\n");
  exit(2);
}

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--quick") == 0) {
      windows_per_run = 60;
      rx_packets = 300000;
      forward_packets = 500000;
      run_count = 3;
    } else {
      usage();
    }
  }
  const size_t segments_per_run = windows_per_run * WINDOW_SEGMENTS;
  lwip_init();
  add_netif(&netif_a, kIpA, 0);
  add_netif(&netif_b, kIpB, kHostBIp);
  netif_set_default(&netif_b);  // the one route: everything off-link goes to 198.51.100.2
  // Both neighbours resolved before measuring.
  Frame f;
  build_arp_request(&f, kPeerMac, kPeerIp, kIpA);
  deliver_frame(&netif_a, &f);
  build_arp_request(&f, kHostBMac, kHostBIp, kIpB);
  deliver_frame(&netif_b, &f);
  struct udp_pcb* u = udp_new();
  if (u == NULL || udp_bind(u, IP_ADDR_ANY, 7000) != ERR_OK) fail("udp_bind");
  udp_recv(u, on_udp, NULL);
  uint8_t small[18];
  memset(small, 'x', sizeof small);
  Frame udp_small, echo, routed;
  build_udp(&udp_small, kMacA, kIpA, 5000, 7000, small, sizeof small);
  build_echo(&echo, small, sizeof small);
  memset(small, 'f', sizeof small);
  build_udp(&routed, kMacA, kRoutedIp, 4000, 9, small, sizeof small);
  if (routed.length != 60 || echo.length != 60 || udp_small.length != 60) fail("frame sizes differ from inlet's");

  // TCP.
  tcp_setup();
  open_window();
  checksum_self_test(&udp_small, &echo);
  const uint64_t opening = read_bytes;
  tcp_run(IN_ORDER, 20 * WINDOW_SEGMENTS);  // warm-up
  static const struct {
    const char* label;
    const char* name;
    enum Pattern pattern;
  } cases[] = {
      {"in order, copy", "tcp_inorder_ns_per_seg", IN_ORDER},
      {"1 in 50 late by 8, copy", "tcp_late1in50_ns_per_seg", LATE_EVERY_50},
      {"1 MiB window reversed, copy", "tcp_reversed_ns_per_seg", REVERSED_WINDOW},
  };
  enum { kCases = sizeof cases / sizeof cases[0] };
  double tcp_ns[kCases][MAX_RUNS];
  for (int r = 0; r < run_count; ++r) {
    for (int c = 0; c < kCases; ++c) {
      tcp_ns[c][r] = tcp_run(cases[c].pattern, segments_per_run) / (double)segments_per_run;
    }
  }
  tcp_mode = 0;
  const uint64_t expected =
      opening + (uint64_t)MSS * (20 + (uint64_t)run_count * kCases * windows_per_run) * WINDOW_SEGMENTS;
  if (read_bytes != expected) {
    fprintf(stderr, "read %llu bytes, expected %llu\n", (unsigned long long)read_bytes,
            (unsigned long long)expected);
    fail("TCP bytes lost");
  }

  // UDP, echo, forwarding.
  packet_run(&netif_a, &udp_small, rx_packets, TO_STACK);  // warm-up
  packet_run(&netif_a, &echo, rx_packets, TO_STACK);
  packet_run(&netif_a, &routed, forward_packets, TO_STACK);
  double base[MAX_RUNS], us[MAX_RUNS], ic[MAX_RUNS], fw[MAX_RUNS];
  const uint64_t udp0 = udp_bytes, echo0 = tx_frames_a, fw0 = tx_frames_b;
  for (int r = 0; r < run_count; ++r) {
    base[r] = packet_run(&netif_a, &udp_small, rx_packets, POOL_ONLY);
    us[r] = packet_run(&netif_a, &udp_small, rx_packets, TO_STACK);
    ic[r] = packet_run(&netif_a, &echo, rx_packets, TO_STACK);
    fw[r] = packet_run(&netif_a, &routed, forward_packets, TO_STACK);
  }
  // The loops send whole bursts (and divide by `count`, as inlet's do).
  const uint64_t rx_sent = (rx_packets + PACKET_BURST - 1) / PACKET_BURST * PACKET_BURST;
  const uint64_t fw_sent = (forward_packets + PACKET_BURST - 1) / PACKET_BURST * PACKET_BURST;
  if (udp_bytes - udp0 != (uint64_t)run_count * rx_sent * 18) fail("UDP datagrams lost");
  if (tx_frames_a - echo0 != (uint64_t)run_count * rx_sent) fail("echo replies missing");
  if (tx_frames_b - fw0 != (uint64_t)run_count * fw_sent) fail("forwarded frames missing");

  printf("lwIP %d.%d.%d harness: NO_SYS, static pools, MSS %d, OOSEQ+SACK, window %u scaled by 2^%d, "
         "checksums %s, CPU time, medians of %d runs\n",
         LWIP_VERSION_MAJOR, LWIP_VERSION_MINOR, LWIP_VERSION_REVISION, TCP_MSS, (unsigned)TCP_WND,
         TCP_RCV_SCALE, CHECKSUM_CHECK_TCP ? "verified" : "NOT verified", run_count);
  for (int c = 0; c < kCases; ++c) report(cases[c].label, cases[c].name, median(tcp_ns[c], run_count), 0);
  report("baseline: pbuf alloc + copy + free", "pbuf_pool_baseline_mpps", median(base, run_count), 1);
  report("udp rx 64B frame + copy", "udp64_rx_mpps", median(us, run_count), 1);
  report("icmp echo -> reply", "icmp_echo_mpps", median(ic, run_count), 1);
  report("forward, 1 route", "forward_1route_mpps", median(fw, run_count), 1);
  printf("read=%llu bytes, udp=%llu bytes, frames out of a=%llu (ACKs, replies), forwarded=%llu\n",
         (unsigned long long)read_bytes, (unsigned long long)udp_bytes, (unsigned long long)tx_frames_a,
         (unsigned long long)tx_frames_b);
  return 0;
}
