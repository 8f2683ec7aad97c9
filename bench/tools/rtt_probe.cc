// inlet-rtt-probe: the kernel side of a request/response latency benchmark.
// Sends ICMP echo requests to an address, one outstanding at a time, and
// measures each round trip with CLOCK_MONOTONIC; prints percentiles in µs,
// the loss count and `figure NAME VALUE UNIT` lines (bench/busy_poll_bench.sh).
//
// Sockets: an unprivileged ICMP datagram socket (socket(AF_INET, SOCK_DGRAM,
// IPPROTO_ICMP); needs the caller's group in net.ipv4.ping_group_range) or a
// raw ICMP socket (needs CAP_NET_RAW); --socket auto tries the first, then
// the second.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct Options {
  std::string destination;
  std::string name = "rtt";
  std::string socket_kind = "auto";  // dgram | raw | auto
  long count = 5000;
  long warmup = 200;
  long gap_us = 0;
  long timeout_ms = 100;
  long deadline_s = 60;
  long payload = 56;
  bool spin = false;      // wait for the reply with non-blocking receives (no sleep)
  bool spin_gap = false;  // wait out the gap spinning instead of sleeping
};

[[noreturn]] void usage(const char* message) {
  if (message != nullptr) std::fprintf(stderr, "inlet-rtt-probe: %s\n", message);
  std::fprintf(
      stderr,
      "usage: inlet-rtt-probe --dst A.B.C.D [--count N] [--warmup N] [--gap-us US]\n"
      "                       [--timeout-ms MS] [--deadline-s S] [--payload BYTES]\n"
      "                       [--socket auto|dgram|raw] [--spin] [--spin-gap] [--name PREFIX]\n"
      "  ICMP echo, one request outstanding; RTT by CLOCK_MONOTONIC from before\n"
      "  sendto() to after the reply's recv(). --warmup requests first (not counted),\n"
      "  then --count samples (default 5000), --gap-us between a reply and the next\n"
      "  request (default 0), --timeout-ms per request (a loss), --deadline-s overall.\n"
      "  --spin: poll the socket without sleeping (takes the probe's own wake-up out\n"
      "  of the figure); --spin-gap: the gap too.\n");
  std::exit(message != nullptr ? 2 : 0);
}

long parse_long(const std::string& flag, const char* value, long low, long high) {
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(value, &end, 10);
  if (errno != 0 || end == value || *end != '\0' || v < low || v > high) {
    usage(("bad value for " + flag + ": " + value).c_str());
  }
  return v;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help") usage(nullptr);
    if (a == "--spin") {
      o.spin = true;
      continue;
    }
    if (a == "--spin-gap") {
      o.spin_gap = true;
      continue;
    }
    if (i + 1 >= argc) usage(("missing value after " + a).c_str());
    const char* v = argv[++i];
    if (a == "--dst") {
      o.destination = v;
    } else if (a == "--name") {
      o.name = v;
    } else if (a == "--socket") {
      o.socket_kind = v;
      if (o.socket_kind != "auto" && o.socket_kind != "dgram" && o.socket_kind != "raw") {
        usage("--socket takes auto, dgram or raw");
      }
    } else if (a == "--count") {
      o.count = parse_long(a, v, 1, 10'000'000);
    } else if (a == "--warmup") {
      o.warmup = parse_long(a, v, 0, 1'000'000);
    } else if (a == "--gap-us") {
      o.gap_us = parse_long(a, v, 0, 10'000'000);
    } else if (a == "--timeout-ms") {
      o.timeout_ms = parse_long(a, v, 1, 60'000);
    } else if (a == "--deadline-s") {
      o.deadline_s = parse_long(a, v, 1, 86'400);
    } else if (a == "--payload") {
      o.payload = parse_long(a, v, 0, 1400);
    } else {
      usage(("unknown option " + a).c_str());
    }
  }
  if (o.destination.empty()) usage("--dst is required");
  return o;
}

int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

uint16_t icmp_checksum(const uint8_t* data, size_t length) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < length; i += 2) sum += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
  if (length % 2 != 0) sum += static_cast<uint32_t>(data[length - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return htons(static_cast<uint16_t>(~sum));
}

// One ICMP echo socket: a datagram ("ping") socket, where the kernel owns the
// identifier and the checksum, or a raw one, where the probe does.
class EchoSocket {
 public:
  bool open(const std::string& kind, std::string* error) {
    if (kind != "raw") {
      fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP);
      if (fd_ >= 0) {
        raw_ = false;
        return true;
      }
      *error = std::string("ICMP datagram socket: ") + std::strerror(errno) +
               " (net.ipv4.ping_group_range)";
      if (kind == "dgram") return false;
    }
    fd_ = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP);
    if (fd_ < 0) {
      *error += std::string(error->empty() ? "" : "; ") + "raw ICMP socket: " + std::strerror(errno);
      return false;
    }
    raw_ = true;
    // Only echo replies reach this socket (not the kernel's other ICMP).
    // (linux/icmp.h's ICMP_FILTER and struct icmp_filter: that header's
    // struct icmphdr clashes with glibc's.)
    constexpr int kIcmpFilter = 1;
    const uint32_t blocked_types = ~(1U << ICMP_ECHOREPLY);
    setsockopt(fd_, SOL_RAW, kIcmpFilter, &blocked_types, sizeof blocked_types);
    identifier_ = static_cast<uint16_t>(getpid() & 0xffff);
    return true;
  }
  ~EchoSocket() {
    if (fd_ >= 0) close(fd_);
  }
  int fd() const { return fd_; }
  bool raw() const { return raw_; }

  bool send(const sockaddr_in& to, uint16_t sequence, size_t payload) {
    uint8_t frame[1500] = {};
    icmphdr* h = reinterpret_cast<icmphdr*>(frame);
    h->type = ICMP_ECHO;
    h->code = 0;
    h->un.echo.id = htons(identifier_);  // a datagram socket puts its own
    h->un.echo.sequence = htons(sequence);
    for (size_t i = 0; i < payload; ++i) frame[sizeof(icmphdr) + i] = static_cast<uint8_t>(i);
    const size_t length = sizeof(icmphdr) + payload;
    if (raw_) h->checksum = icmp_checksum(frame, length);
    const ssize_t n = sendto(fd_, frame, length, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
    return n == static_cast<ssize_t>(length);
  }

  // One pending datagram: its echo sequence when it is a reply to us from
  // `from`, -1 for something else, -2 when nothing is queued.
  int receive(in_addr_t from) {
    uint8_t buffer[2048];
    sockaddr_in peer{};
    socklen_t peer_length = sizeof peer;
    const ssize_t n = recvfrom(fd_, buffer, sizeof buffer, MSG_DONTWAIT,
                               reinterpret_cast<sockaddr*>(&peer), &peer_length);
    if (n < 0) return -2;
    if (peer.sin_addr.s_addr != from) return -1;
    const uint8_t* icmp = buffer;
    size_t length = static_cast<size_t>(n);
    if (raw_) {  // a raw socket hands the IP header too
      if (length < sizeof(iphdr)) return -1;
      const size_t header = static_cast<size_t>(buffer[0] & 0x0f) * 4;
      if (header < sizeof(iphdr) || length < header) return -1;
      icmp += header;
      length -= header;
    }
    if (length < sizeof(icmphdr)) return -1;
    const icmphdr* h = reinterpret_cast<const icmphdr*>(icmp);
    if (h->type != ICMP_ECHOREPLY) return -1;
    if (raw_ && ntohs(h->un.echo.id) != identifier_) return -1;
    return ntohs(h->un.echo.sequence);
  }

 private:
  int fd_ = -1;
  bool raw_ = false;
  uint16_t identifier_ = 0;
};

void wait_until(int64_t until_ns, bool spin) {
  if (spin) {
    while (now_ns() < until_ns) {
    }
    return;
  }
  timespec ts{static_cast<time_t>(until_ns / 1'000'000'000), static_cast<long>(until_ns % 1'000'000'000)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

// Nearest-rank percentile of sorted samples.
double percentile(const std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return static_cast<double>(sorted[rank - 1]) / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  if (inet_pton(AF_INET, o.destination.c_str(), &to.sin_addr) != 1) usage("--dst: not an IPv4 address");

  // The gap is a sleep: without timer slack it ends when asked, not up to
  // 50 µs later (the default slack of a normal thread).
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);

  EchoSocket sock;
  std::string error;
  if (!sock.open(o.socket_kind, &error)) {
    std::fprintf(stderr, "inlet-rtt-probe: %s\n", error.c_str());
    return 1;
  }

  std::vector<int64_t> samples;
  samples.reserve(static_cast<size_t>(o.count));
  long lost = 0, stray = 0, send_errors = 0;
  const int64_t timeout_ns = o.timeout_ms * 1'000'000;
  const int64_t deadline = now_ns() + o.deadline_s * 1'000'000'000;
  bool deadline_hit = false;
  uint16_t sequence = 0;
  const long total = o.warmup + o.count;
  for (long i = 0; i < total; ++i) {
    if (now_ns() >= deadline) {
      deadline_hit = true;
      break;
    }
    ++sequence;
    // Replies that arrived late (after their timeout) are stale: drop them.
    while (sock.receive(to.sin_addr.s_addr) != -2) {
    }
    const int64_t sent = now_ns();
    if (!sock.send(to, sequence, static_cast<size_t>(o.payload))) {
      ++send_errors;
      if (i >= o.warmup) ++lost;
      wait_until(now_ns() + 1'000'000, false);  // e.g. ENOBUFS; do not spin on it
      continue;
    }
    int64_t received = -1;
    const int64_t give_up = sent + timeout_ns;
    while (received < 0) {
      const int got = sock.receive(to.sin_addr.s_addr);
      if (got == sequence) {
        received = now_ns();
        break;
      }
      if (got == -1 || got >= 0) {
        ++stray;
        continue;
      }
      const int64_t now = now_ns();
      if (now >= give_up) break;
      if (o.spin) continue;
      pollfd p{sock.fd(), POLLIN, 0};
      const int64_t left_ms = (give_up - now + 999'999) / 1'000'000;
      poll(&p, 1, static_cast<int>(left_ms));
    }
    if (i < o.warmup) {
      if (received >= 0 && o.gap_us > 0) wait_until(received + o.gap_us * 1000, o.spin_gap);
      continue;
    }
    if (received < 0) {
      ++lost;
      continue;
    }
    samples.push_back(received - sent);
    if (o.gap_us > 0) wait_until(received + o.gap_us * 1000, o.spin_gap);
  }

  std::vector<int64_t> sorted = samples;
  std::sort(sorted.begin(), sorted.end());
  double mean = 0;
  for (int64_t s : sorted) mean += static_cast<double>(s);
  mean = sorted.empty() ? 0 : mean / static_cast<double>(sorted.size()) / 1000.0;
  const double p50 = percentile(sorted, 50), p90 = percentile(sorted, 90);
  const double p99 = percentile(sorted, 99), p999 = percentile(sorted, 99.9);
  const double max = sorted.empty() ? 0 : static_cast<double>(sorted.back()) / 1000.0;
  std::printf("rtt_probe dst=%s socket=%s gap_us=%ld wait=%s samples=%zu lost=%ld stray=%ld "
              "send_errors=%ld%s\n",
              o.destination.c_str(), sock.raw() ? "raw" : "dgram", o.gap_us, o.spin ? "spin" : "poll",
              samples.size(), lost, stray, send_errors, deadline_hit ? " deadline=hit" : "");
  std::printf("rtt_us p50=%.2f p90=%.2f p99=%.2f p99.9=%.2f max=%.2f mean=%.2f\n", p50, p90, p99,
              p999, max, mean);
  const char* n = o.name.c_str();
  std::printf("figure %s_p50_us %.2f us\n", n, p50);
  std::printf("figure %s_p90_us %.2f us\n", n, p90);
  std::printf("figure %s_p99_us %.2f us\n", n, p99);
  std::printf("figure %s_p999_us %.2f us\n", n, p999);
  std::printf("figure %s_max_us %.2f us\n", n, max);
  std::printf("figure %s_lost %ld count\n", n, lost);
  return samples.empty() ? 1 : 0;
}
