// inlet-sink: the stack on a Linux TAP device (read/write per frame, or through
// io_uring with --port-kind uring), or a real interface with --port-kind
// af_packet. Answers ARP and ping, counts what arrives on each --udp port,
// digests every --tcp connection, and prints per-port and per-connection
// lines, the throughput line, counters (nstat format) and the pool line at
// exit (SIGINT/SIGTERM or after --seconds). With --queues N the TAP is
// multi-queue and each queue has its own Stack on its own thread.
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "api/stack.h"
#include "examples/common/observability.h"
#include "examples/common/sha256.h"
#include "ports/af_packet/af_packet_port.h"
#include "ports/pcap/pcap_tap.h"
#include "ports/tap/tap_port.h"
#include "ports/tap/vnet_port.h"
#if INLET_WITH_URING
#include "ports/uring/uring_port.h"
#endif

namespace {

// Written by the signal handler: sig_atomic_t is the type that is safe there.
// (SIGUSR1, the counters, is examples/common's.)
volatile sig_atomic_t g_stop = 0;

void on_signal(int) { g_stop = 1; }

[[noreturn]] void usage(const char* msg) {
  if (msg != nullptr) std::fprintf(stderr, "inlet-sink: %s\n", msg);
  std::fprintf(stderr,
               "usage: inlet-sink --tap IFNAME | --port-kind af_packet --ifname IFNAME\n"
               "                  [--port-kind tap|vnet|uring|af_packet] [--queues N]\n"
               "                  [--uring-rx auto|multishot|read|plain] [--uring-sqpoll]\n"
               "                  [--uring-defer-taskrun]   (IORING_SETUP_DEFER_TASKRUN, one queue)\n"
               "                  [--af-packet-ring BLOCK_BYTES,BLOCKS,RETIRE_MS]\n"
               "                  --addr A.B.C.D/P [--gateway IP] [--udp PORT]...\n"
               "                  [--seconds S] [--sysctl key=value]... [--pcap FILE]\n"
               "                  [--mac MAC] [--mtu N] [--tcp PORT]... [--sysctl-file FILE]\n"
               "                  [--busy-poll USEC] [--no-hash]\n"
               "  --port-kind tap    read(2)/write(2) per frame on the TAP (the default)\n"
               "  --port-kind vnet   the TAP with a virtio-net header, checksum offload and TSO:\n"
               "                     the kernel hands over 64 KiB TCP super-frames, taken as one\n"
               "                     unit (no offloads with net.ipv4.ip_forward=1)\n"
               "  --port-kind uring  io_uring on the TAP: multishot reads into a provided-buffer\n"
               "                     ring where the kernel has them (--uring-rx forces a\n"
               "                     fallback), --uring-sqpoll for a kernel submission thread\n"
               "  --queues N         a multi-queue TAP (IFF_MULTI_QUEUE): N stacks, one thread\n"
               "                     and one queue each, same MAC, addresses and sockets (tap, vnet, uring)\n"
               "  --busy-poll USEC   net.core.busy_poll: keep polling an idle queue USEC µs\n"
               "  --no-hash          no sha256 of TCP data (sha256=- in the tcp lines)\n"
               "  at exit: rx_gbps=<TCP+UDP payload Gbit/s from the first to the last byte\n"
               "  received> segments=<TcpInSegs> polls=<Stack::poll calls>, summed over queues,\n"
               "  then rx_payload bytes=<those bytes> seconds=<that time>\n%s",
               inlet::examples::kCommonOptionsUsage);
  std::exit(2);
}

bool parse_prefix(const std::string& text, inlet::link::InterfaceAddress* out) {
  size_t slash = text.find('/');
  auto ip = inlet::wire::Ipv4Address::parse(text.substr(0, slash));
  if (!ip) return false;
  int len = 32;
  if (slash != std::string::npos) {
    char* end = nullptr;
    len = static_cast<int>(std::strtol(text.c_str() + slash + 1, &end, 10));
    if (*end != '\0' || len < 0 || len > 32) return false;
  }
  *out = {*ip, static_cast<uint8_t>(len)};
  return true;
}

// The stacks of a multi-queue TAP share one MAC and address but each has its
// own neighbour table, and the kernel sends its ARP reply to the queue its
// hash picks (the tun flow table keeps the last queue an ARP frame came
// from), not always to the stack that asked: that stack would wait for its
// retransmit. ArpSharingPort copies every ARP reply a queue receives to the
// other queues (an inbox each, an eventfd to wake them); a stack that did not
// ask counts the copy as ARP_UNSOLICITED. ARP is rare: a mutex is enough.
class ArpSharingPort final : public inlet::PortQueue {
 public:
  ArpSharingPort(std::unique_ptr<inlet::PortQueue> inner, std::vector<ArpSharingPort*>* siblings)
      : inner_(std::move(inner)), siblings_(siblings) {
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    for (int fd : {inner_->interrupt_fd(), wake_fd_}) {
      if (fd < 0 || epoll_fd_ < 0) continue;
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.fd = fd;
      epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
    }
  }
  ~ArpSharingPort() override {
    if (wake_fd_ >= 0) close(wake_fd_);
    if (epoll_fd_ >= 0) close(epoll_fd_);
  }

  void attach(inlet::BufferPool& pool) override {
    pool_ = &pool;
    inner_->attach(pool);
  }
  void detach() override {
    inner_->detach();
    pool_ = nullptr;
  }
  size_t rx_burst(std::span<inlet::PacketRef> out) override {
    size_t n = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      while (n < out.size() && inbox_count_ > 0 && pool_ != nullptr) {
        inlet::PacketRef p = pool_->alloc();
        if (!p) break;
        const Copy& c = inbox_[inbox_head_];
        std::memcpy(p->put(c.length), c.bytes, c.length);
        inbox_head_ = (inbox_head_ + 1) % kInbox;
        --inbox_count_;
        out[n++] = std::move(p);
      }
    }
    const size_t got = inner_->rx_burst(out.subspan(n));
    for (size_t i = n; i < n + got; ++i) {
      if (is_arp_reply(*out[i])) {
        for (ArpSharingPort* sibling : *siblings_) {
          if (sibling != this) sibling->post(out[i]->bytes());
        }
      }
    }
    return n + got;
  }
  size_t tx_burst(std::span<inlet::PacketRef> frames) override { return inner_->tx_burst(frames); }
  void set_interrupt_enabled(bool enabled) override { inner_->set_interrupt_enabled(enabled); }
  bool rx_pending() const override {
    uint64_t count;
    [[maybe_unused]] ssize_t r = ::read(wake_fd_, &count, sizeof(count));
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (inbox_count_ > 0) return true;
    }
    return inner_->rx_pending();
  }
  // Readable when the inner port's fd or the inbox's eventfd is.
  int interrupt_fd() const override { return epoll_fd_; }
  std::string_view name() const override { return inner_->name(); }

 private:
  static constexpr size_t kInbox = 16;
  struct Copy {
    uint32_t length = 0;
    uint8_t bytes[96];
  };
  static bool is_arp_reply(const inlet::Packet& p) {
    const uint8_t* b = p.data_ptr();
    return p.length() >= 42 && b[12] == 0x08 && b[13] == 0x06 && b[20] == 0 && b[21] == 2;
  }
  void post(std::span<const uint8_t> frame) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (inbox_count_ == kInbox) return;  // dropped: the stack retransmits its request
      Copy& c = inbox_[(inbox_head_ + inbox_count_) % kInbox];
      c.length = static_cast<uint32_t>(std::min(frame.size(), sizeof(c.bytes)));
      std::memcpy(c.bytes, frame.data(), c.length);
      ++inbox_count_;
    }
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t w = ::write(wake_fd_, &one, sizeof(one));
  }

  std::unique_ptr<inlet::PortQueue> inner_;
  std::vector<ArpSharingPort*>* siblings_;
  inlet::BufferPool* pool_ = nullptr;
  int wake_fd_ = -1;
  int epoll_fd_ = -1;
  mutable std::mutex mu_;
  Copy inbox_[kInbox];
  size_t inbox_head_ = 0;
  size_t inbox_count_ = 0;
};

// TCP: accept everything, read everything, digest it, close on EOF.
struct Flow {
  std::string peer;
  uint64_t bytes = 0;
  inlet::examples::Sha256 sha;
  bool open = true;
};

// One context: a Stack on one port queue, its sockets and what it received.
// Touched only by its own thread until that thread is joined.
struct QueueContext {
  int index = 0;
  std::unique_ptr<inlet::Stack> stack;
  inlet::PortQueue* port = nullptr;  // owned by the stack
  inlet::tap::TapPort* tap = nullptr;
  inlet::tap::VnetTapPort* vnet = nullptr;
#if INLET_WITH_URING
  inlet::uring::UringPort* uring = nullptr;
#endif
  std::vector<inlet::udp::UdpSocket*> sockets;
  std::vector<std::unique_ptr<Flow>> flows;  // in accept order
  bool hash = true;
  uint64_t polls = 0;
  uint64_t payload_bytes = 0;  // TCP bytes read + UDP bytes received
  absl::Time first_rx = absl::InfiniteFuture();
  absl::Time last_rx = absl::InfinitePast();
  uint8_t scratch[65536];

  void note_payload(uint64_t n) {
    if (n == 0) return;
    const absl::Time now = stack->clock().now();
    if (payload_bytes == 0) first_rx = now;
    last_rx = now;
    payload_bytes += n;
  }

  void drain(inlet::tcp::TcpSocket& sock, Flow& f) {
    uint64_t got = 0;
    for (;;) {
      const size_t n = sock.read(scratch);
      if (n == 0) break;
      f.bytes += n;
      got += n;
      if (hash) f.sha.update(std::span<const uint8_t>(scratch, n));
    }
    note_payload(got);
    if ((sock.eof() || sock.was_reset()) && f.open) {
      f.open = false;
      sock.close();
    }
  }

  uint64_t rx_frames() const {
    if (tap != nullptr) return tap->stats().rx_frames;
    if (vnet != nullptr) return vnet->stats().rx_frames;
#if INLET_WITH_URING
    if (uring != nullptr) return uring->stats().rx_frames;
#endif
    return 0;
  }
};

// Sockets on every context: the same ports everywhere (a flow's queue is the
// kernel's choice).
absl::Status open_sockets(QueueContext& q, const std::vector<uint16_t>& udp_ports,
                          const std::vector<uint16_t>& tcp_ports) {
  inlet::Stack& stack = *q.stack;
  for (uint16_t p : udp_ports) {
    auto s = stack.udp_bind(inlet::wire::kIpv4Any, p);
    if (!s.ok()) return absl::Status(s.status().code(), absl::StrCat("--udp ", p, ": ", s.status().message()));
    // The application drains each datagram as it arrives (sk_data_ready).
    (*s)->set_data_ready([&q](inlet::udp::UdpSocket& sock) {
      uint64_t got = 0;
      while (auto n = sock.recv(q.scratch)) got += n->length;
      q.note_payload(got);
    });
    q.sockets.push_back(*s);
  }
  for (uint16_t p : tcp_ports) {
    auto l = stack.tcp_listen(inlet::wire::kIpv4Any, p, 4096);
    if (!l.ok()) return absl::Status(l.status().code(), absl::StrCat("--tcp ", p, ": ", l.status().message()));
    (*l)->set_fastopen_queue(256);
    (*l)->set_on_accept([&q](inlet::tcp::TcpListener& lst) {
      while (inlet::tcp::TcpSocket* sock = lst.accept()) {
        q.flows.push_back(std::make_unique<Flow>());
        Flow* f = q.flows.back().get();
        f->peer = sock->tuple().remote.to_string() + ":" + std::to_string(sock->tuple().remote_port);
        sock->set_data_ready([&q, f](inlet::tcp::TcpSocket& so) { q.drain(so, *f); });
        q.drain(*sock, *f);  // Fast Open data is there at accept
      }
    });
  }
  return absl::OkStatus();
}

// The receive loop of one context, until a signal or the deadline. Context 0
// also runs the reports (SIGUSR1, --stats-interval).
void run_queue(QueueContext& q, absl::Duration seconds, inlet::examples::Observability* obs) {
  inlet::Stack& stack = *q.stack;
  const absl::Time deadline = seconds > absl::ZeroDuration() ? stack.clock().now() + seconds
                                                             : absl::InfiniteFuture();
  while (!g_stop && stack.clock().now() < deadline) {
    const uint32_t frames = stack.poll();
    ++q.polls;
    if (!stack.has_work()) {
      absl::Duration wait = std::min(absl::Milliseconds(100), deadline - stack.clock().now());
      if (obs != nullptr) wait = std::min(wait, obs->until_next_interval());
      stack.wait(wait);
    } else if (frames == 0) {
      sched_yield();  // busy polling found nothing: let a thread woken on this CPU run
    }
    if (obs != nullptr) obs->tick();
  }
}

void die(const absl::Status& s, const char* what = nullptr) {
  std::fprintf(stderr, "inlet-sink: %s%s%s\n", what != nullptr ? what : "",
               what != nullptr ? ": " : "", std::string(s.message()).c_str());
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  std::string tap_name, pcap_path;
  std::string port_kind = "tap";  // or uring, af_packet (--ifname NAME)
  int queue_count = 1;
  std::string uring_rx = "auto";
  [[maybe_unused]] bool uring_sqpoll = false;  // used only with INLET_WITH_URING
  bool uring_defer = false;
  bool hash = true;
  inlet::af_packet::AfPacketPort* af_packet = nullptr;
  inlet::af_packet::AfPacketConfig af_packet_config;
  std::vector<inlet::link::InterfaceAddress> addrs;
  std::vector<uint16_t> udp_ports;
  std::vector<uint16_t> tcp_ports;
  std::vector<inlet::wire::Ipv4Address> gateways;
  double seconds = 0;
  uint32_t mtu = 1500;
  inlet::wire::MacAddress mac;
  inlet::Tunables tunables;
  inlet::examples::CommonOptions common;
  common.tunables = &tunables;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    std::string error;
    switch (inlet::examples::parse_common_option(argc, argv, i, common, &error)) {
      case inlet::examples::OptionResult::kConsumed: continue;
      case inlet::examples::OptionResult::kError: usage(error.c_str());
      case inlet::examples::OptionResult::kNotCommon: break;
    }
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value after " + a).c_str());
      return argv[++i];
    };
    if (a == "--tap") {
      tap_name = value();
    } else if (a == "--ifname") {  // with --port-kind af_packet
      tap_name = value();
    } else if (a == "--af-packet-ring") {  // BLOCK_BYTES,BLOCKS,RETIRE_MS
      std::string v = value();
      if (std::sscanf(v.c_str(), "%u,%u,%u", &af_packet_config.block_size,
                      &af_packet_config.block_count, &af_packet_config.retire_timeout_ms) != 3) {
        usage(("bad --af-packet-ring " + v).c_str());
      }
    } else if (a == "--port-kind") {
      port_kind = value();
      if (port_kind != "tap" && port_kind != "vnet" && port_kind != "af_packet" &&
          port_kind != "uring") {
        usage(("bad --port-kind " + port_kind).c_str());
      }
#if !INLET_WITH_URING
      if (port_kind == "uring") usage("--port-kind uring: built without liburing (INLET_WITH_URING=OFF)");
#endif
    } else if (a == "--queues") {
      std::string v = value();
      queue_count = std::atoi(v.c_str());
      if (queue_count < 1 || queue_count > 64) usage(("bad --queues " + v + " (1-64)").c_str());
    } else if (a == "--uring-rx") {
      uring_rx = value();
      if (uring_rx != "auto" && uring_rx != "multishot" && uring_rx != "read" && uring_rx != "plain") {
        usage(("bad --uring-rx " + uring_rx).c_str());
      }
    } else if (a == "--uring-sqpoll") {
      uring_sqpoll = true;
    } else if (a == "--uring-defer-taskrun") {
      uring_defer = true;
    } else if (a == "--busy-poll") {
      std::string v = value();
      absl::Status s = tunables.set_assignment("net.core.busy_poll=" + v);
      if (!s.ok()) usage(("--busy-poll " + std::string(s.message())).c_str());
    } else if (a == "--no-hash") {
      hash = false;
    } else if (a == "--addr") {
      inlet::link::InterfaceAddress ia;
      std::string v = value();
      if (!parse_prefix(v, &ia)) usage(("bad --addr " + v).c_str());
      addrs.push_back(ia);
    } else if (a == "--gateway") {
      std::string v = value();
      auto ip = inlet::wire::Ipv4Address::parse(v);
      if (!ip) usage(("bad --gateway " + v).c_str());
      gateways.push_back(*ip);
    } else if (a == "--udp") {
      std::string v = value();
      long port = std::strtol(v.c_str(), nullptr, 10);
      if (port <= 0 || port > 65535) usage(("bad --udp " + v).c_str());
      udp_ports.push_back(static_cast<uint16_t>(port));
    } else if (a == "--tcp") {
      std::string v = value();
      long port = std::strtol(v.c_str(), nullptr, 10);
      if (port <= 0 || port > 65535) usage(("bad --tcp " + v).c_str());
      tcp_ports.push_back(static_cast<uint16_t>(port));
    } else if (a == "--sysctl-file") {
      std::string v = value();
      absl::Status s = tunables.load_file(v);
      if (!s.ok()) usage(("--sysctl-file " + std::string(s.message())).c_str());
    } else if (a == "--seconds") {
      seconds = std::atof(value().c_str());
    } else if (a == "--sysctl") {
      std::string v = value();
      absl::Status s = tunables.set_assignment(v);
      if (!s.ok()) usage(("--sysctl " + std::string(s.message())).c_str());
    } else if (a == "--pcap") {
      pcap_path = value();
    } else if (a == "--mtu") {
      mtu = static_cast<uint32_t>(std::atoi(value().c_str()));
    } else if (a == "--mac") {
      std::string v = value();
      auto m = inlet::wire::MacAddress::parse(v);
      if (!m) usage(("bad --mac " + v).c_str());
      mac = *m;
    } else if (a == "-h" || a == "--help") {
      usage(nullptr);
    } else {
      usage(("unknown option " + a).c_str());
    }
  }
  if (tap_name.empty()) usage("--tap (or --port-kind af_packet --ifname) is required");
  if (addrs.empty()) usage("--addr is required");
  if (queue_count > 1) {
    if (port_kind == "af_packet") usage("--queues > 1 needs --port-kind tap, vnet or uring");
    // The contexts are shut down on the main thread, which a DEFER_TASKRUN
    // ring (bound to its polling thread) refuses.
    if (uring_defer) usage("--uring-defer-taskrun takes one queue (--queues 1)");
    // One capture file, one JSON report: those stay single-context.
    if (!pcap_path.empty() || !common.pcap_at.empty() || common.json) {
      usage("--pcap, --pcap-at and --json take one queue (--queues 1)");
    }
  }

  // The port queues, one per context.
  std::vector<ArpSharingPort*> arp_siblings;  // with --queues > 1; outlives the contexts
  std::vector<QueueContext> contexts(static_cast<size_t>(queue_count));
  std::vector<std::unique_ptr<inlet::PortQueue>> ports;
  std::string mode_line;
  if (port_kind == "af_packet") {
    // A real interface: its own MAC unless --mac names another (then promiscuous).
    af_packet_config.ifname = tap_name;
    af_packet_config.mac = mac;
    auto opened = inlet::af_packet::AfPacketPort::open(af_packet_config);
    if (!opened.ok()) die(opened.status());
    af_packet = opened->get();
    mac = af_packet->mac();
    ports.push_back(std::move(*opened));
#if INLET_WITH_URING
  } else if (port_kind == "uring") {
    inlet::uring::UringConfig config;
    config.ifname = tap_name;
    config.sqpoll = uring_sqpoll;
    config.defer_taskrun = uring_defer;
    if (uring_rx == "read") config.max_rx_mode = inlet::uring::RxMode::kRead;
    if (uring_rx == "plain") config.max_rx_mode = inlet::uring::RxMode::kPlainRead;
    auto opened = inlet::uring::UringPort::open_queues(config, queue_count);
    if (!opened.ok()) die(opened.status());
    if (uring_rx == "multishot" && (*opened)[0]->rx_mode() != inlet::uring::RxMode::kMultishot) {
      die(absl::UnavailableError("--uring-rx multishot: the kernel has no multishot read "
                                 "with buffer rings (" + (*opened)[0]->mode() + ")"));
    }
    mode_line = (*opened)[0]->mode();
    for (size_t i = 0; i < opened->size(); ++i) {
      contexts[i].uring = (*opened)[i].get();
      ports.push_back(std::move((*opened)[i]));
    }
#endif
  } else if (port_kind == "vnet") {
    // Offloads only for local delivery: with forwarding on (--sysctl
    // net.ipv4.ip_forward=1) inlet would pass on super-frames and unfilled
    // checksums it does not finish, so it asks for neither.
    inlet::tap::VnetTapConfig config;
    config.tso = config.csum = tunables.get(inlet::Tunable::kIpForward) == 0;
    auto opened = inlet::tap::VnetTapPort::open_queues(tap_name, queue_count, config);
    if (!opened.ok()) die(opened.status());
    mode_line = (*opened)[0]->mode() + (queue_count > 1 ? " multi-queue" : "");
    for (size_t i = 0; i < opened->size(); ++i) {
      contexts[i].vnet = (*opened)[i].get();
      ports.push_back(std::move((*opened)[i]));
    }
  } else {
    auto opened = inlet::tap::TapPort::open_queues(tap_name, queue_count);
    if (!opened.ok()) die(opened.status());
    mode_line = queue_count > 1 ? "read/write multi-queue" : "read/write";
    for (size_t i = 0; i < opened->size(); ++i) {
      contexts[i].tap = (*opened)[i].get();
      ports.push_back(std::move((*opened)[i]));
    }
  }
  if (queue_count > 1) {
    for (auto& port : ports) {
      auto shared = std::make_unique<ArpSharingPort>(std::move(port), &arp_siblings);
      arp_siblings.push_back(shared.get());
      port = std::move(shared);
    }
  }
  if (!pcap_path.empty()) {
    auto tapped = inlet::pcap::PcapTap::wrap(std::move(ports[0]), pcap_path);
    if (!tapped.ok()) die(tapped.status());
    ports[0] = std::move(*tapped);
  }

  inlet::examples::exit_if_listing_profiles(common);
  inlet::examples::Observability obs(common);
  for (QueueContext& q : contexts) {
    q.index = static_cast<int>(&q - contexts.data());
    q.hash = hash;
    q.stack = std::make_unique<inlet::Stack>(tunables);
    inlet::Stack& stack = *q.stack;
    if (q.index == 0) {
      if (absl::Status s = obs.attach(stack); !s.ok()) usage(std::string(s.message()).c_str());
    } else if (common.log_level) {
      stack.set_log(inlet::Log{&inlet::log_to_file, stderr, *common.log_level});
    }
    q.port = ports[q.index].get();
    auto iface = stack.add_interface(std::move(ports[q.index]),
                                     {.name = tap_name, .mac = mac, .mtu = mtu, .addresses = addrs});
    if (!iface.ok()) die(iface.status());
    mac = (*iface)->mac();  // every queue answers with the first one's MAC
    for (const auto& gw : gateways) {
      if (absl::Status s = stack.set_default_gateway(gw); !s.ok()) die(s, "--gateway");
    }
    if (absl::Status s = open_sockets(q, udp_ports, tcp_ports); !s.ok()) die(s);
  }

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  inlet::examples::Observability::install_sigusr1();
  if (!mode_line.empty()) {
    std::fprintf(stderr, "inlet-sink: port %s mode %s queues %d\n", port_kind.c_str(),
                 mode_line.c_str(), queue_count);
  }
  std::fprintf(stderr, "inlet-sink: %s mac %s up\n", tap_name.c_str(), mac.to_string().c_str());

  const absl::Duration run_for = seconds > 0 ? absl::Seconds(seconds) : absl::ZeroDuration();
  if (queue_count == 1) {
    run_queue(contexts[0], run_for, &obs);
  } else {
    std::vector<std::thread> threads;
    for (QueueContext& q : contexts) {
      threads.emplace_back(run_queue, std::ref(q), run_for, q.index == 0 ? &obs : nullptr);
    }
    for (std::thread& t : threads) t.join();
  }

  // Per port, the datagrams of every context together.
  for (size_t i = 0; i < udp_ports.size(); ++i) {
    uint64_t datagrams = 0, bytes = 0;
    for (const QueueContext& q : contexts) {
      datagrams += q.sockets[i]->received_datagrams();
      bytes += q.sockets[i]->received_bytes();
    }
    std::printf("udp %u datagrams=%llu bytes=%llu\n", udp_ports[i],
                static_cast<unsigned long long>(datagrams), static_cast<unsigned long long>(bytes));
  }
  for (const QueueContext& q : contexts) {
    for (const auto& f : q.flows) {
      std::printf("tcp %s bytes=%llu sha256=%s", f->peer.c_str(),
                  static_cast<unsigned long long>(f->bytes),
                  hash ? f->sha.hex_digest().c_str() : "-");
      if (queue_count > 1) std::printf(" queue=%d", q.index);
      std::printf("\n");
    }
  }
  // Throughput: payload over the time from the first to the last byte.
  uint64_t payload = 0, segments = 0, polls = 0;
  absl::Time first = absl::InfiniteFuture(), last = absl::InfinitePast();
  for (const QueueContext& q : contexts) {
    payload += q.payload_bytes;
    segments += q.stack->counters().get(inlet::Counter::TcpInSegs);
    polls += q.polls;
    first = std::min(first, q.first_rx);
    last = std::max(last, q.last_rx);
  }
  const double span = payload > 0 ? absl::ToDoubleSeconds(last - first) : 0;
  std::printf("rx_gbps=%.3f segments=%llu polls=%llu\n",
              span > 0 ? static_cast<double>(payload) * 8 / span / 1e9 : 0.0,
              static_cast<unsigned long long>(segments), static_cast<unsigned long long>(polls));
  // The same measure's raw parts (bench/tap_bench.sh derives packet rates).
  std::printf("rx_payload bytes=%llu seconds=%.6f\n", static_cast<unsigned long long>(payload), span);
  if (queue_count > 1) {
    for (const QueueContext& q : contexts) {
      std::printf("queue %d rx_frames=%llu segments=%llu polls=%llu connections=%zu\n", q.index,
                  static_cast<unsigned long long>(q.rx_frames()),
                  static_cast<unsigned long long>(q.stack->counters().get(inlet::Counter::TcpInSegs)),
                  static_cast<unsigned long long>(q.polls), q.flows.size());
    }
  }
  for (QueueContext& q : contexts) q.stack->shutdown();
  std::fflush(stdout);
  uint32_t in_use = 0;
  if (queue_count == 1) {
    obs.print_totals();
  } else {
    // The counters of every context summed, in the one-context format.
    inlet::Counters total;
    uint64_t established = 0;
    for (const QueueContext& q : contexts) {
      total.merge(q.stack->counters());
      established += q.stack->tcp().established_count();
    }
    total.set(inlet::Counter::TcpCurrEstab, established);
    std::string text = total.to_nstat(common.stats_zero);
    for (const QueueContext& q : contexts) {
      inlet::SoftnetStat softnet = q.stack->poller().stats();
      softnet.dropped = q.stack->counters().drops(inlet::DropReason::kPoolExhausted);
      text += inlet::softnet_line(softnet, q.index);
    }
    text += total.drop_reasons_text();
    std::fputs(text.c_str(), stdout);
  }
  if (af_packet != nullptr) {
    std::printf("%s\n", inlet::af_packet::format_stats(tap_name, af_packet->stats()).c_str());
  }
  for (const QueueContext& q : contexts) {
    if (q.vnet != nullptr) {
      const inlet::tap::VnetTapStats& st = q.vnet->stats();
      std::printf("vnet %s/%d: rx_frames=%llu rx_superframes=%llu rx_segments=%llu "
                  "rx_csum_partial=%llu rx_csum_valid=%llu rx_errors=%llu rx_nobuf=%llu "
                  "tx_frames=%llu tx_errors=%llu tx_busy=%llu\n",
                  tap_name.c_str(), q.index, static_cast<unsigned long long>(st.rx_frames),
                  static_cast<unsigned long long>(st.rx_superframes),
                  static_cast<unsigned long long>(st.rx_segments),
                  static_cast<unsigned long long>(st.rx_csum_partial),
                  static_cast<unsigned long long>(st.rx_csum_valid),
                  static_cast<unsigned long long>(st.rx_errors),
                  static_cast<unsigned long long>(st.rx_nobuf),
                  static_cast<unsigned long long>(st.tx_frames),
                  static_cast<unsigned long long>(st.tx_errors),
                  static_cast<unsigned long long>(st.tx_busy));
    }
  }
#if INLET_WITH_URING
  for (const QueueContext& q : contexts) {
    if (q.uring != nullptr) {
      std::printf("%s\n", inlet::uring::format_stats(absl::StrCat(tap_name, "/", q.index),
                                                     q.uring->mode(), q.uring->stats()).c_str());
    }
  }
#endif
  if (queue_count == 1) {
    std::printf("%s\n", contexts[0].stack->pool_line().c_str());
    in_use = contexts[0].stack->pool().in_use();
  } else {
    uint64_t capacity = 0, failures = 0;
    for (const QueueContext& q : contexts) {
      capacity += q.stack->pool().capacity();
      in_use += q.stack->pool().in_use();
      failures += q.stack->pool().alloc_failures();
    }
    std::printf("pool: capacity=%llu in_use=%u alloc_failures=%llu (%d pools)\n",
                static_cast<unsigned long long>(capacity), in_use,
                static_cast<unsigned long long>(failures), queue_count);
  }
  if (absl::Status s = obs.finish(); !s.ok()) {
    std::fprintf(stderr, "inlet-sink: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  return in_use == 0 ? 0 : 3;
}
