// inlet-nfq-impair: real wire faults on the Linux kernel's own TCP segments,
// for kernels without `tc netem`. An iptables rule in the test's namespace
// sends the kernel's segments toward inlet to NFQUEUE; this program gives
// each one its verdict: drop it, hold it back behind later ones (reordering)
// or for a while (delay), flip one bit of its payload and leave the checksum
// as it was (corruption), or send a second copy (duplication, through a raw
// socket, for kernels whose nft has no netdev egress `dup`). The kernel's
// sender has to recover from all of it, and inlet has to cope with what
// arrives.
//
// Delay: a segment whose verdict is pending still belongs to its socket, and
// TCP Small Queues lets a socket have only about a millisecond of its pacing
// rate below it; holding every segment 10 ms in the queue can then lock a
// connection at a tiny cwnd (it is never cwnd-limited, so cwnd never grows).
// A link does not do that, so by default a delayed segment is copied, its
// original dropped (released from the socket at once) and the copy sent
// after the delay through a raw socket (--delay-by reinject). --delay-by
// verdict holds the original instead.
//
//   inlet-nfq-impair --queue N [--seed S] [--drop P] [--reorder P] [--reorder-depth K]
//                    [--delay MS] [--delay-by reinject|verdict] [--corrupt P] [--dup P]
//                    [--dup-mark M]
//                    [--max-held N] [--seconds S]
//
// Probabilities are percentages. Only TCP segments that carry payload are
// impaired; the rest (handshakes, pure ACKs, FINs) pass at once, so opening
// and closing stay quick. Held packets are bounded (--max-held; reordering
// holds at most 64) and released on a timer, and everything still held is
// released on SIGTERM/SIGINT or after --seconds. At exit it prints its counts
// on stdout:
//   nfq-impair: seen=N data=N passed=N dropped=N reordered=N delayed=N
//               corrupted=N duplicated=N overflow=N bad_csum_in=N reinject_failed=N
// (one line; reinject_failed: delayed copies the raw socket refused, lost). bad_csum_in counts segments whose checksum was already wrong
// when queued (it must stay 0: the kernel completes checksums for NFQUEUE).
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <optional>
#include <random>
#include <string>
#include <vector>

extern "C" {
#include <libnetfilter_queue/libnetfilter_queue.h>
}

namespace {

using Clock = std::chrono::steady_clock;

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "inlet-nfq-impair: %s\n", msg.c_str());
  std::exit(1);
}

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: inlet-nfq-impair --queue N [--seed S] [--drop P] [--reorder P]\n"
               "                        [--reorder-depth K] [--delay MS] [--delay-by reinject|verdict]\n"
               "                        [--corrupt P] [--dup P] [--dup-mark M] [--max-held N]\n"
               "                        [--seconds S]\n"
               "  P are percentages; only TCP segments with payload are impaired\n");
  std::exit(2);
}

double parse_double(const char* text, double lo, double hi, const char* what) {
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text, &end);
  if (errno != 0 || end == text || *end != '\0' || !(v >= lo && v <= hi)) {
    die(std::string("bad ") + what + " '" + text + "'");
  }
  return v;
}

struct Options {
  int queue = -1;
  uint64_t seed = 1;
  double drop = 0, reorder = 0, corrupt = 0, dup = 0;
  int reorder_depth = 3;
  int delay_ms = 0;
  bool delay_reinject = true;
  uint32_t dup_mark = 0x7a;
  size_t max_held = 4096;
  double seconds = 60;
};

struct Counts {
  uint64_t seen = 0, data = 0, passed = 0, dropped = 0, reordered = 0, delayed = 0;
  uint64_t corrupted = 0, duplicated = 0, overflow = 0, bad_csum_in = 0, reinject_failed = 0;
};

// A packet whose verdict is pending, or (copy not empty) a copy of a dropped
// one, to send through the raw socket.
struct Held {
  uint32_t id;
  Clock::time_point release_at;
  uint64_t release_after;  // reordering: once this many later packets have passed
  std::vector<uint8_t> copy;
};

// The one's-complement sum (RFC 1071) over the TCP pseudo-header and segment.
bool tcp_checksum_ok(const uint8_t* ip, size_t ihl, size_t total) {
  uint32_t sum = 0;
  auto add = [&](const uint8_t* p, size_t n) {
    for (size_t i = 0; i + 1 < n; i += 2) sum += (uint32_t{p[i]} << 8) | p[i + 1];
    if (n & 1) sum += uint32_t{p[n - 1]} << 8;
  };
  add(ip + 12, 8);  // source and destination
  sum += IPPROTO_TCP;
  sum += static_cast<uint32_t>(total - ihl);
  add(ip + ihl, total - ihl);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum == 0xffff;
}

class Impairer {
 public:
  explicit Impairer(const Options& o) : o_(o), rng_(o.seed) {}

  void open() {
    h_ = nfq_open();
    if (h_ == nullptr) die(std::string("nfq_open: ") + strerror(errno) + " (needs CAP_NET_ADMIN and nfnetlink_queue)");
    nfq_unbind_pf(h_, AF_INET);  // harmless on kernels >= 3.8, needed before
    if (nfq_bind_pf(h_, AF_INET) < 0) die(std::string("nfq_bind_pf: ") + strerror(errno));
    qh_ = nfq_create_queue(h_, static_cast<uint16_t>(o_.queue), &Impairer::callback, this);
    if (qh_ == nullptr) die("nfq_create_queue " + std::to_string(o_.queue) + ": " + strerror(errno));
    if (nfq_set_mode(qh_, NFQNL_COPY_PACKET, 0xffff) < 0) die(std::string("nfq_set_mode: ") + strerror(errno));
    // Room for every held packet plus a burst; beyond it the kernel drops
    // (a loss the sender recovers from like any other).
    nfq_set_queue_maxlen(qh_, static_cast<uint32_t>(o_.max_held + 8192));
    fd_ = nfq_fd(h_);
    const int big = 16 << 20;
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
    const int one = 1;
    // A full socket buffer must not look like an error: the kernel then
    // drops the packet, which is one more loss.
    setsockopt(fd_, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof one);
    if (o_.dup > 0 || (o_.delay_ms > 0 && o_.delay_reinject)) {
      raw_ = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
      if (raw_ < 0) die(std::string("raw socket for --dup/--delay: ") + strerror(errno));
      // Copies go through POSTROUTING again; the rule skips this mark.
      if (setsockopt(raw_, SOL_SOCKET, SO_MARK, &o_.dup_mark, sizeof o_.dup_mark) < 0) {
        die(std::string("SO_MARK: ") + strerror(errno));
      }
    }
  }

  void run() {
    const auto end = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(o_.seconds * 1000));
    std::vector<char> buf(256 * 1024);
    std::fprintf(stderr, "inlet-nfq-impair: queue %d ready\n", o_.queue);
    while (!g_stop && Clock::now() < end) {
      int timeout_ms = 50;
      if (auto next = next_release()) {
        const auto d = std::chrono::duration_cast<std::chrono::milliseconds>(*next - Clock::now()).count();
        timeout_ms = static_cast<int>(std::clamp<int64_t>(d, 0, 50));
      }
      pollfd p{fd_, POLLIN, 0};
      const int r = poll(&p, 1, timeout_ms);
      if (r < 0 && errno != EINTR) die(std::string("poll: ") + strerror(errno));
      if (r > 0) {
        for (int i = 0; i < 256; ++i) {  // a bounded batch, then timers
          const ssize_t n = recv(fd_, buf.data(), buf.size(), MSG_DONTWAIT);
          if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ENOBUFS) break;
            die(std::string("recv: ") + strerror(errno));
          }
          nfq_handle_packet(h_, buf.data(), static_cast<int>(n));
        }
      }
      release_due(Clock::now());
    }
    // Everything still held goes out (late, as a very delayed packet would).
    release_due(Clock::time_point::max());
  }

  void close() {
    if (qh_ != nullptr) nfq_destroy_queue(qh_);
    if (h_ != nullptr) nfq_close(h_);
    if (raw_ >= 0) ::close(raw_);
  }

  const Counts& counts() const { return c_; }

 private:
  static int callback(nfq_q_handle* qh, nfgenmsg*, nfq_data* nfa, void* data) {
    auto* self = static_cast<Impairer*>(data);
    const nfqnl_msg_packet_hdr* ph = nfq_get_msg_packet_hdr(nfa);
    if (ph == nullptr) return 0;
    const uint32_t id = ntohl(ph->packet_id);
    unsigned char* pkt = nullptr;
    const int len = nfq_get_payload(nfa, &pkt);
    self->decide(qh, id, nfq_get_nfmark(nfa), pkt, len < 0 ? 0 : static_cast<size_t>(len));
    return 0;
  }

  bool roll(double percent) {
    return percent > 0 && std::uniform_real_distribution<double>(0, 100)(rng_) < percent;
  }

  void accept(uint32_t id) {
    nfq_set_verdict(qh_, id, NF_ACCEPT, 0, nullptr);
    ++verdicts_;
  }

  void decide(nfq_q_handle* qh, uint32_t id, uint32_t mark, const uint8_t* pkt, size_t len) {
    ++c_.seen;
    // Our own copies carry the mark; if a rule queues them anyway, they pass
    // (never a loop).
    if (mark == o_.dup_mark) {
      ++c_.passed;
      accept(id);
      return;
    }
    // IPv4, TCP, and the payload's place: anything else passes untouched.
    size_t ihl = 0, total = 0, doff = 0;
    bool data = false;
    if (len >= 20 && (pkt[0] >> 4) == 4 && pkt[9] == IPPROTO_TCP) {
      ihl = (pkt[0] & 0x0f) * 4u;
      total = (size_t{pkt[2]} << 8) | pkt[3];
      if (ihl >= 20 && total <= len && total >= ihl + 20) {
        doff = (pkt[ihl + 12] >> 4) * 4u;
        data = doff >= 20 && ihl + doff < total;
      }
    }
    if (!data) {
      ++c_.passed;
      accept(id);
      return;
    }
    ++c_.data;
    if (!tcp_checksum_ok(pkt, ihl, total)) ++c_.bad_csum_in;
    if (roll(o_.dup) && raw_ >= 0 && send_copy(pkt, total)) ++c_.duplicated;
    if (roll(o_.drop)) {
      ++c_.dropped;
      nfq_set_verdict(qh, id, NF_DROP, 0, nullptr);
      return;
    }
    if (roll(o_.corrupt)) {
      // One payload bit flipped, the checksum left as it was: the receiver
      // must find it (TcpInCsumErrors) and the sender retransmit.
      scratch_.assign(pkt, pkt + len);
      const size_t payload = total - ihl - doff;
      const size_t at = ihl + doff + std::uniform_int_distribution<size_t>(0, payload - 1)(rng_);
      scratch_[at] ^= static_cast<uint8_t>(1u << std::uniform_int_distribution<int>(0, 7)(rng_));
      ++c_.corrupted;
      nfq_set_verdict(qh, id, NF_ACCEPT, static_cast<uint32_t>(scratch_.size()), scratch_.data());
      ++verdicts_;
      return;
    }
    const auto now = Clock::now();
    if (roll(o_.reorder)) {
      if (reorder_held_.size() < 64) {
        ++c_.reordered;
        // Back in after reorder_depth later packets, or 40 ms at the latest.
        reorder_held_.push_back({id, now + std::chrono::milliseconds(40),
                                 verdicts_ + static_cast<uint64_t>(o_.reorder_depth), {}});
        return;
      }
      ++c_.overflow;
    }
    if (o_.delay_ms > 0) {
      if (delayed_.size() >= o_.max_held) {  // full: the oldest goes out early
        ++c_.overflow;
        release(delayed_.front());
        delayed_.pop_front();
      }
      ++c_.delayed;
      delayed_.push_back({id, now + std::chrono::milliseconds(o_.delay_ms), 0, {}});
      if (o_.delay_reinject) {
        delayed_.back().copy.assign(pkt, pkt + total);
        nfq_set_verdict(qh, id, NF_DROP, 0, nullptr);  // the socket is done with it
        ++verdicts_;
      }
      return;
    }
    ++c_.passed;
    accept(id);
    release_reordered(now);
  }

  void release_reordered(Clock::time_point now) {
    for (size_t i = 0; i < reorder_held_.size();) {
      const Held& h = reorder_held_[i];
      if (verdicts_ >= h.release_after || now >= h.release_at) {
        const uint32_t id = h.id;
        reorder_held_.erase(reorder_held_.begin() + static_cast<long>(i));
        accept(id);
      } else {
        ++i;
      }
    }
  }

  void release_due(Clock::time_point now) {
    while (!delayed_.empty() && delayed_.front().release_at <= now) {
      release(delayed_.front());
      delayed_.pop_front();
      release_reordered(Clock::now());
    }
    release_reordered(now);
  }

  bool send_copy(const uint8_t* pkt, size_t len) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    memcpy(&to.sin_addr, pkt + 16, 4);
    return sendto(raw_, pkt, len, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) ==
           static_cast<ssize_t>(len);
  }

  // A delayed packet leaves: its verdict, or its copy through the raw socket.
  void release(const Held& h) {
    if (h.copy.empty()) {
      accept(h.id);
      return;
    }
    if (!send_copy(h.copy.data(), h.copy.size())) ++c_.reinject_failed;
    ++verdicts_;
  }

  std::optional<Clock::time_point> next_release() const {
    std::optional<Clock::time_point> t;
    if (!delayed_.empty()) t = delayed_.front().release_at;
    for (const Held& h : reorder_held_) {
      if (!t || h.release_at < *t) t = h.release_at;
    }
    return t;
  }

  Options o_;
  std::mt19937_64 rng_;
  nfq_handle* h_ = nullptr;
  nfq_q_handle* qh_ = nullptr;
  int fd_ = -1;
  int raw_ = -1;
  Counts c_;
  uint64_t verdicts_ = 0;
  std::deque<Held> delayed_;
  std::vector<Held> reorder_held_;
  std::vector<uint8_t> scratch_;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage();
      return argv[++i];
    };
    if (a == "--queue") {
      o.queue = static_cast<int>(parse_double(value(), 0, 65535, "--queue"));
    } else if (a == "--seed") {
      o.seed = static_cast<uint64_t>(parse_double(value(), 0, 1e15, "--seed"));
    } else if (a == "--drop") {
      o.drop = parse_double(value(), 0, 100, "--drop");
    } else if (a == "--reorder") {
      o.reorder = parse_double(value(), 0, 100, "--reorder");
    } else if (a == "--reorder-depth") {
      o.reorder_depth = static_cast<int>(parse_double(value(), 1, 1000, "--reorder-depth"));
    } else if (a == "--delay") {
      o.delay_ms = static_cast<int>(parse_double(value(), 0, 10000, "--delay"));
    } else if (a == "--delay-by") {
      const std::string v = value();
      if (v != "reinject" && v != "verdict") usage();
      o.delay_reinject = v == "reinject";
    } else if (a == "--corrupt") {
      o.corrupt = parse_double(value(), 0, 100, "--corrupt");
    } else if (a == "--dup") {
      o.dup = parse_double(value(), 0, 100, "--dup");
    } else if (a == "--dup-mark") {
      o.dup_mark = static_cast<uint32_t>(parse_double(value(), 1, 4294967295.0, "--dup-mark"));
    } else if (a == "--max-held") {
      o.max_held = static_cast<size_t>(parse_double(value(), 1, 1 << 20, "--max-held"));
    } else if (a == "--seconds") {
      o.seconds = parse_double(value(), 0.1, 3600, "--seconds");
    } else {
      usage();
    }
  }
  if (o.queue < 0) usage();

  struct sigaction sa {};
  sa.sa_handler = on_signal;  // no SA_RESTART: poll() returns EINTR
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);

  Impairer imp(o);
  imp.open();
  imp.run();
  imp.close();
  const Counts& c = imp.counts();
  std::printf("nfq-impair: seen=%llu data=%llu passed=%llu dropped=%llu reordered=%llu delayed=%llu "
              "corrupted=%llu duplicated=%llu overflow=%llu bad_csum_in=%llu reinject_failed=%llu\n",
              static_cast<unsigned long long>(c.seen), static_cast<unsigned long long>(c.data),
              static_cast<unsigned long long>(c.passed), static_cast<unsigned long long>(c.dropped),
              static_cast<unsigned long long>(c.reordered), static_cast<unsigned long long>(c.delayed),
              static_cast<unsigned long long>(c.corrupted), static_cast<unsigned long long>(c.duplicated),
              static_cast<unsigned long long>(c.overflow), static_cast<unsigned long long>(c.bad_csum_in),
              static_cast<unsigned long long>(c.reinject_failed));
  return 0;
}
