// Tuning-profile benchmark: what each profile (lib/core/profiles.h) and single
// knobs change, measured in one process through the sim port.
//
// Sections (all by default; name some on the command line to run only those):
//  profiles  per profile and for the defaults: heap allocated at set-up
//            (mallinfo2), allocations, BufferPool bytes; TCP in-order receive
//            (ns per 1460-byte segment, ACKs per segment; 16 frames per poll,
//            as low-memory's ring is 16 descriptors); a ping round trip (ns).
//            Real clock, so busy_poll expires as it would in use.
//  memory    set-up heap each set-up knob saves at its low-memory value.
//  napi      netdev_budget x dev_weight: a 1024-frame UDP burst on one port and
//            a TCP request on another; time and frames from the start of
//            polling to the request's wake-up (TCP wakes the application at
//            the end of a poll), the longest poll() and ns per frame to drain
//            it all; the cost of a poll() that finds nothing, with busy_poll.
//  rmem      tcp_rmem max and the pool behind it, in virtual time: a sender
//            limited only by inlet's window (RTT 10 ms, SACK, lost segments
//            resent one RTT later) with several loss patterns: goodput,
//            largest window, peak buffers, drops.
//  delack    inlet.tcp.delack_ms: ACKs per segment and mean ACK delay for
//            100-byte segments every 5 ms (virtual time), quick ACKs.
//  pool      inlet.pool.buffers: datagrams lost in a 2048-datagram burst with
//            an application that reads after every 8th poll.
// Wall-clock figures are medians of kRuns runs with ratios to the default in
// the same process; virtual-time ones are deterministic (one run). Prints
// tables and `figure NAME VALUE UNIT` lines, and the heap allocations per
// packet of the timed TCP and ping loops (allocs_per_packet_profiles).
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "alloc_counter.h"
#include "api/stack.h"
#include "core/profiles.h"
#include "ports/sim/sim_peer.h"
#include "ports/sim/sim_port.h"
#include "wire/ethernet.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"

namespace {

using SteadyClock = std::chrono::steady_clock;
using namespace inlet;
using Frame = std::vector<uint8_t>;

constexpr uint32_t kMss = 1460;
constexpr int kRuns = 5;

double ns_since(SteadyClock::time_point t0) {
  return std::chrono::duration<double, std::nano>(SteadyClock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

void figure(const std::string& name, double value, const char* unit) {
  std::printf("figure %s %.6g %s\n", name.c_str(), value, unit);
}

Tunables profile_tunables(const std::string& name) {
  Tunables t;
  if (!name.empty()) {
    const absl::Status s = apply_tuning_profile(t, name);
    if (!s.ok()) {
      std::printf("ERROR: %s\n", s.ToString().c_str());
      std::exit(1);
    }
  }
  return t;
}

Tunables with(Tunables t, const char* assignment) {
  const absl::Status s = t.set_assignment(assignment);
  if (!s.ok()) {
    std::printf("ERROR: %s: %s\n", assignment, s.ToString().c_str());
    std::exit(1);
  }
  return t;
}

// One port of a stack with the scripted host at the other end of its cable.
struct Link {
  sim::SimPort* nic = nullptr;
  wire::MacAddress mac;  // inlet's
  wire::Ipv4Address ip;  // inlet's
  sim::SimPeer peer;
};

Link add_link(Stack& stack, const char* name, const char* inlet_ip, const char* peer_ip,
              const char* peer_mac, uint32_t ring) {
  auto port = std::make_unique<sim::SimPort>(
      sim::SimPortConfig{.name = name, .rx_ring_size = ring, .tx_ring_size = 1024});
  Link l{port.get(), {}, *wire::Ipv4Address::parse(inlet_ip),
         sim::SimPeer(*wire::MacAddress::parse(peer_mac), *wire::Ipv4Address::parse(peer_ip))};
  auto iface = stack.add_interface(std::move(port), {.name = name, .addresses = {{l.ip, 24}}});
  if (!iface.ok()) {
    std::printf("ERROR: add_interface: %s\n", iface.status().ToString().c_str());
    std::exit(1);
  }
  l.mac = (*iface)->mac();
  l.nic->wire_receive(l.peer.arp_request(l.ip));  // the peer announces itself
  while (stack.poll() > 0) {
  }
  l.nic->wire_collect([](std::span<const uint8_t>) {});
  return l;
}

// Polls until a round finds nothing (has_work() would spin forever with
// busy_poll on a manual clock: the queue never goes idle long enough).
uint32_t poll_dry(Stack& stack) {
  uint32_t total = 0;
  for (int i = 0; i < 100000; ++i) {
    const uint32_t n = stack.poll();
    total += n;
    if (n == 0) break;
  }
  return total;
}

// The sending side of one TCP connection: its sequence space, the window
// inlet offers and what inlet has SACKed (a scoreboard of ranges).
struct Sender {
  Stack* stack = nullptr;
  Link* link = nullptr;
  uint16_t port = 0;
  tcp::TcpSocket* sock = nullptr;
  uint32_t isn = 0;     // our first data byte
  uint32_t nxt = 0;     // next new byte
  uint32_t una = 0;     // inlet's cumulative ACK
  uint32_t ack = 0;     // inlet's sequence (we acknowledge its SYN)
  uint32_t right_edge = 0;
  uint8_t rcv_wscale = 0;
  uint32_t max_window = 0;
  uint64_t acks = 0;
  std::map<uint32_t, uint32_t> sacked;  // offset from isn: left -> right
  std::vector<uint8_t> payload = std::vector<uint8_t>(kMss, 0x5A);

  Frame segment(uint32_t seq, uint32_t len) const {
    wire::TcpRepr h;
    h.src_port = port;
    h.dst_port = 5001;
    h.seq = seq;
    h.ack = ack;
    h.flags = wire::tcpflag::kAck;
    h.window = 65535;
    return link->peer.tcp(link->mac, link->ip, h,
                          std::span<const uint8_t>(payload).first(std::min<uint32_t>(len, kMss)));
  }

  // Reads one frame inlet sent, if it is for this connection.
  void on_frame(const wire::TcpView& t) {
    if (t.dst_port() != port || !t.ack_flag()) return;
    ++acks;
    if (static_cast<int32_t>(t.ack() - una) > 0) una = t.ack();
    const uint32_t edge = t.ack() + (uint32_t{t.window()} << rcv_wscale);
    if (static_cast<int32_t>(edge - right_edge) > 0) right_edge = edge;
    max_window = std::max(max_window, edge - t.ack());
    for (const wire::TcpSackBlock& b : t.options().sack()) {
      uint32_t l = b.left - isn, r = b.right - isn;
      auto it = sacked.upper_bound(l);
      if (it != sacked.begin() && std::prev(it)->second >= l) {
        --it;
        l = it->first;
        r = std::max(r, it->second);
      }
      while (it != sacked.end() && it->first <= r) {
        r = std::max(r, it->second);
        it = sacked.erase(it);
      }
      sacked[l] = r;
    }
    const uint32_t una_off = una - isn;
    while (!sacked.empty() && sacked.begin()->second <= una_off) sacked.erase(sacked.begin());
  }
  bool is_sacked(uint32_t off, uint32_t len) const {
    auto it = sacked.upper_bound(off);
    if (it == sacked.begin()) return false;
    --it;
    return it->first <= off && it->second >= off + len;
  }
};

// Reads everything `link`'s port transmitted and hands TCP segments to `senders`.
void collect(Link& link, std::vector<Sender*> senders) {
  link.nic->wire_collect([&](std::span<const uint8_t> f) {
    auto eth = wire::EthernetView::parse(f);
    if (!eth.ok() || eth->ethertype() != wire::ethertype::kIpv4) return;
    auto v4 = wire::Ipv4View::parse(eth->payload());
    if (!v4.ok() || v4->protocol() != wire::ipproto::kTcp) return;
    auto t = wire::TcpView::parse(v4->payload());
    if (!t.ok()) return;
    for (Sender* s : senders) s->on_frame(*t);
  });
}

// Opens a connection from `port` to inlet's listener on 5001 (SACK, window
// scale 7, no timestamps) and returns the accepted socket's sender.
Sender connect(Stack& stack, Link& link, tcp::TcpListener* listener, uint16_t port) {
  Sender s;
  s.stack = &stack;
  s.link = &link;
  s.port = port;
  wire::TcpRepr syn;
  syn.src_port = port;
  syn.dst_port = 5001;
  syn.seq = 1000u * port;
  syn.flags = wire::tcpflag::kSyn;
  syn.window = 65535;
  syn.options.mss = kMss;
  syn.options.window_scale = 7;
  syn.options.sack_permitted = true;
  link.nic->wire_receive(link.peer.tcp(link.mac, link.ip, syn, {}));
  poll_dry(stack);
  link.nic->wire_collect([&](std::span<const uint8_t> f) {
    auto eth = wire::EthernetView::parse(f);
    auto v4 = wire::Ipv4View::parse(eth->payload());
    auto t = wire::TcpView::parse(v4->payload());
    if (!t.ok() || !t->syn()) return;
    s.ack = t->seq() + 1;
    s.rcv_wscale = t->options().window_scale.value_or(0);
    s.right_edge = syn.seq + 1 + t->window();  // never scaled in a SYN-ACK
  });
  s.isn = s.nxt = s.una = syn.seq + 1;
  link.nic->wire_receive(s.segment(s.nxt, 0));
  poll_dry(stack);
  s.sock = listener->accept();
  if (s.sock == nullptr) {
    std::printf("ERROR: no connection from port %u\n", port);
    std::exit(1);
  }
  return s;
}

size_t drain(tcp::TcpSocket* sock, std::vector<uint8_t>& buf) {
  size_t total = 0;
  while (size_t got = sock->read(buf)) total += got;
  return total;
}

// ---------------------------------------------------------------------------
// Per profile: set-up memory, TCP in-order receive, ping.

struct ProfileResult {
  std::string name;
  double setup_heap_bytes = 0;
  double setup_allocs = 0;
  double pool_bytes = 0;
  double tcp_ns_per_seg = 0;
  double acks_per_seg = 0;
  double ping_ns = 0;
  double irqs_per_ping = 0;  // sim-port interrupts (eventfd writes) per ping
  double ping_manual_ns = 0;  // the same on a manual clock (time stands still)
};

// A stack as an application would set it up with this tunables: one port
// (ring of 16 descriptors), a listener.
struct World {
  ManualClock clock;
  std::unique_ptr<Stack> stack;
  std::optional<Link> link;
  tcp::TcpListener* listener = nullptr;
  // `real_time`: CLOCK_MONOTONIC, so busy_poll expires as it would in use.
  explicit World(const Tunables& t, uint32_t ring = 16, bool real_time = false) {
    stack = std::make_unique<Stack>(t, real_time ? nullptr : &clock);
    link = add_link(*stack, "sim0", "192.0.2.2", "192.0.2.1", "02:00:00:00:00:01", ring);
    listener = *stack->tcp_listen(wire::kIpv4Any, 5001, 8);
  }
  ~World() { stack->shutdown(); }
};

void measure_setup_once(const Tunables& t, ProfileResult& r) {
  const struct mallinfo2 before = mallinfo2();
  const uint64_t a0 = bench::allocations();
  {
    World w(t);
    const struct mallinfo2 after = mallinfo2();
    r.setup_heap_bytes = static_cast<double>((after.uordblks + after.hblkhd) -
                                             (before.uordblks + before.hblkhd));
    r.setup_allocs = static_cast<double>(bench::allocations() - a0);
    r.pool_bytes = static_cast<double>(w.stack->pool().capacity()) * w.stack->pool().buffer_size();
  }
}

// Median of 3 (the heap's own bookkeeping moves a few KiB between runs).
void measure_setup(const Tunables& t, ProfileResult& r) {
  std::vector<double> heap, allocs;
  for (int i = 0; i < 3; ++i) {
    measure_setup_once(t, r);
    heap.push_back(r.setup_heap_bytes);
    allocs.push_back(r.setup_allocs);
  }
  r.setup_heap_bytes = median(heap);
  r.setup_allocs = median(allocs);
}

// Heap allocations per packet in the timed loops of tcp_in_order() and
// ping_round_trip(), the largest seen (printed as allocs_per_packet_profiles).
double g_max_allocs_per_packet = 0;
void note_allocs(uint64_t allocations, size_t packets) {
  g_max_allocs_per_packet =
      std::max(g_max_allocs_per_packet, static_cast<double>(allocations) / static_cast<double>(packets));
}

// In-order bulk within the offered window, 16 segments per poll; returns ns
// per segment (stack + application read, frames built outside the timing).
double tcp_in_order(const Tunables& t, size_t segments, double* acks_per_seg) {
  World w(t, 16, true);
  Sender s = connect(*w.stack, *w.link, w.listener, 40000);
  std::vector<uint8_t> buf(256 * 1024);
  std::vector<Frame> burst;
  double ns = 0;
  const uint64_t out0 = w.stack->counters().get(Counter::TcpOutSegs);
  size_t sent = 0;
  uint64_t allocations = 0;
  for (int guard = 0; sent < segments && guard < 10000000; ++guard) {
    const int32_t room = static_cast<int32_t>(s.right_edge - s.nxt);
    const size_t k = std::min<size_t>({16, room > 0 ? static_cast<size_t>(room) / kMss : 0,
                                       segments - sent});
    burst.clear();
    for (size_t i = 0; i < k; ++i) {
      burst.push_back(s.segment(s.nxt, kMss));
      s.nxt += kMss;
    }
    const uint64_t a0 = bench::allocations();
    const auto t0 = SteadyClock::now();
    for (const Frame& f : burst) w.link->nic->wire_receive(f);
    poll_dry(*w.stack);
    drain(s.sock, buf);
    poll_dry(*w.stack);  // the window update a read earns
    ns += ns_since(t0);
    allocations += bench::allocations() - a0;
    collect(*w.link, {&s});
    sent += k;
  }
  if (s.sock->bytes_read() != uint64_t{kMss} * segments) {
    std::printf("ERROR: read %llu of %llu bytes\n",
                static_cast<unsigned long long>(s.sock->bytes_read()),
                static_cast<unsigned long long>(uint64_t{kMss} * segments));
    std::exit(1);
  }
  *acks_per_seg =
      static_cast<double>(w.stack->counters().get(Counter::TcpOutSegs) - out0) / segments;
  note_allocs(allocations, segments);
  return ns / segments;
}

double ping_round_trip(const Tunables& t, int pings, double* irqs_per_ping = nullptr,
                       bool real_time = true) {
  World w(t, 16, real_time);
  const uint64_t irq0 = w.link->nic->stats().interrupts;
  const uint8_t data[56] = {};
  std::vector<Frame> echoes;
  for (int i = 0; i < pings; ++i) {
    echoes.push_back(w.link->peer.icmp_echo(w.link->mac, w.link->ip, 7, static_cast<uint16_t>(i), data));
  }
  size_t replies = 0;
  const uint64_t a0 = bench::allocations();
  const auto t0 = SteadyClock::now();
  for (const Frame& e : echoes) {
    w.link->nic->wire_receive(e);
    poll_dry(*w.stack);
    replies += w.link->nic->wire_collect([](std::span<const uint8_t>) {});
  }
  const double ns = ns_since(t0) / pings;
  note_allocs(bench::allocations() - a0, static_cast<size_t>(pings));
  if (irqs_per_ping != nullptr) {
    *irqs_per_ping = static_cast<double>(w.link->nic->stats().interrupts - irq0) / pings;
  }
  if (replies != static_cast<size_t>(pings)) {
    std::printf("ERROR: %zu replies to %d pings\n", replies, pings);
    std::exit(1);
  }
  return ns;
}

// ---------------------------------------------------------------------------
// netdev_budget x dev_weight: wake-up latency behind a burst on another queue.

struct LatencyResult {
  double wake_ns = 0;        // start of polling -> the request's data_ready
  double wake_frames = 0;    // frames processed by then
  double max_poll_ns = 0;    // longest single poll()
  double drain_ns_per_frame = 0;
  double polls = 0;
};

LatencyResult budget_latency(const Tunables& t, int trials) {
  ManualClock clock;
  Stack stack(t, &clock);
  Link bulk = add_link(stack, "sim0", "192.0.2.2", "192.0.2.1", "02:00:00:00:00:01", 2048);
  Link req = add_link(stack, "sim1", "198.51.100.2", "198.51.100.1", "02:00:00:00:00:02", 2048);
  auto* udp = *stack.udp_bind(wire::kIpv4Any, 7000, 64u << 20);
  auto* listener = *stack.tcp_listen(wire::kIpv4Any, 5001, 8);
  Sender s = connect(stack, req, listener, 41000);
  bool woken = false;
  SteadyClock::time_point woke_at;
  s.sock->set_data_ready([&](tcp::TcpSocket&) {
    if (!woken) woke_at = SteadyClock::now();
    woken = true;
  });
  const std::vector<uint8_t> datagram(1000, 0x11);
  const Frame bulk_frame = bulk.peer.udp(bulk.mac, bulk.ip, 9000, 7000, datagram);
  std::vector<uint8_t> buf(256 * 1024);
  std::vector<double> wake_ns, wake_frames, max_poll, drain_per_frame, polls;
  constexpr int kBurst = 1024;
  for (int trial = 0; trial < trials; ++trial) {
    for (int i = 0; i < kBurst; ++i) bulk.nic->wire_receive(bulk_frame);
    const Frame request = s.segment(s.nxt, 100);
    s.nxt += 100;
    req.nic->wire_receive(request);
    woken = false;
    uint32_t frames = 0, frames_at_wake = 0, n_polls = 0;
    double longest = 0;
    const auto t0 = SteadyClock::now();
    for (int i = 0; i < 100000; ++i) {
      const auto p0 = SteadyClock::now();
      const uint32_t n = stack.poll();
      longest = std::max(longest, ns_since(p0));
      ++n_polls;
      frames += n;
      if (woken && frames_at_wake == 0) frames_at_wake = frames;
      while (udp->recv(buf)) {
      }
      if (n == 0) break;
    }
    drain_per_frame.push_back(ns_since(t0) / (kBurst + 1));
    drain(s.sock, buf);
    collect(req, {&s});
    if (!woken) {
      std::printf("ERROR: the request never woke the application\n");
      std::exit(1);
    }
    wake_ns.push_back(std::chrono::duration<double, std::nano>(woke_at - t0).count());
    wake_frames.push_back(frames_at_wake);
    max_poll.push_back(longest);
    polls.push_back(n_polls);
  }
  stack.shutdown();
  return {median(wake_ns), median(wake_frames), median(max_poll), median(drain_per_frame), median(polls)};
}

// ns per poll() that finds nothing, with the queue idle (interrupt armed) or
// kept on the poll list by busy_poll.
double idle_poll_ns(const Tunables& t, int polls) {
  World w(t);
  poll_dry(*w.stack);
  const auto t0 = SteadyClock::now();
  for (int i = 0; i < polls; ++i) w.stack->poll();
  return ns_since(t0) / polls;
}

// ---------------------------------------------------------------------------
// tcp_rmem under loss, virtual time: rounds of one RTT.

struct WindowResult {
  double goodput_mbit = 0;  // application bytes per virtual second
  double max_window = 0;
  double ofo_drops = 0;
  double rx_nobuf = 0;
  double retransmitted = 0;
  double peak_buffers = 0;
  double wall_ns_per_seg = 0;
};

// Losses: every `every`-th new segment, and/or the first new segment of every
// `edge_rounds`-th round (a hole at the left edge of a whole window).
struct Loss {
  const char* label;
  uint32_t every = 0;
  int edge_rounds = 0;
};

WindowResult window_under_loss(const Tunables& t, const Loss& loss, int rounds) {
  constexpr absl::Duration kRtt = absl::Milliseconds(10);
  World w(t, 16);  // low-memory's ring: at most 16 descriptors of its 64 buffers
  Sender s = connect(*w.stack, *w.link, w.listener, 42000);
  std::vector<uint8_t> buf(1 << 20);
  uint64_t delivered = 0, new_segments = 0, resent = 0, injected = 0;
  uint32_t peak = 0;
  std::vector<Frame> chunk;
  double wall = 0;
  const uint64_t nobuf0 = w.link->nic->stats().rx_nobuf;
  auto flush = [&] {
    const auto t0 = SteadyClock::now();
    for (const Frame& f : chunk) w.link->nic->wire_receive(f);
    poll_dry(*w.stack);
    peak = std::max(peak, w.stack->pool().in_use());
    delivered += drain(s.sock, buf);
    poll_dry(*w.stack);
    wall += ns_since(t0);
    injected += chunk.size();
    chunk.clear();
    collect(*w.link, {&s});
  };
  for (int r = 0; r < rounds; ++r) {
    // What the sender knows at the start of the round: ACKs sent during a
    // round arrive one RTT later, so they count from the next round on.
    const Sender known = s;
    // Whatever inlet neither acknowledged nor SACKed is lost: send it again.
    for (uint32_t off = known.una - known.isn; off < known.nxt - known.isn; off += kMss) {
      const uint32_t len = std::min(kMss, (known.nxt - known.isn) - off);
      if (known.is_sacked(off, len)) continue;
      chunk.push_back(s.segment(s.isn + off, len));
      ++resent;
      if (chunk.size() == 16) flush();
    }
    // New data up to the window inlet offered, less the losses.
    bool first = true;
    while (static_cast<int32_t>(known.right_edge - s.nxt) >= static_cast<int32_t>(kMss)) {
      ++new_segments;
      const bool lost = (loss.every != 0 && new_segments % loss.every == 0) ||
                        (first && loss.edge_rounds != 0 && r % loss.edge_rounds == loss.edge_rounds - 1);
      first = false;
      if (!lost) chunk.push_back(s.segment(s.nxt, kMss));
      s.nxt += kMss;
      if (chunk.size() == 16) flush();
    }
    if (!chunk.empty()) flush();
    w.clock.advance(kRtt);
    poll_dry(*w.stack);  // timers (delayed ACKs) due by now
    collect(*w.link, {&s});
    if (std::getenv("PROFILES_BENCH_DEBUG") != nullptr) {
      std::printf("  round %d: una+%u nxt+%u edge+%u sacked ranges %zu delivered %llu resent %llu\n", r,
                  s.una - s.isn, s.nxt - s.isn, s.right_edge - s.isn, s.sacked.size(),
                  static_cast<unsigned long long>(delivered), static_cast<unsigned long long>(resent));
    }
  }
  WindowResult res;
  res.goodput_mbit = static_cast<double>(delivered) * 8 / (absl::ToDoubleSeconds(kRtt) * rounds) / 1e6;
  res.max_window = s.max_window;
  res.ofo_drops = static_cast<double>(w.stack->counters().get(Counter::TcpExtTCPOFODrop));
  res.rx_nobuf = static_cast<double>(w.link->nic->stats().rx_nobuf - nobuf0);
  res.retransmitted = static_cast<double>(resent);
  res.peak_buffers = peak;
  res.wall_ns_per_seg = injected > 0 ? wall / static_cast<double>(injected) : 0;
  return res;
}

// ---------------------------------------------------------------------------
// inlet.tcp.delack_ms: a stream of 100-byte segments every 5 ms.

struct DelackResult {
  double acks_per_seg = 0;
  double mean_ack_delay_ms = 0;
  double quick_acks = 0;
};

DelackResult delack(const Tunables& t, int segments) {
  World w(t);
  Sender s = connect(*w.stack, *w.link, w.listener, 43000);
  std::vector<uint8_t> buf(4096);
  const uint64_t quick0 = w.stack->counters().get(Counter::TcpExtTCPQuickAck);
  constexpr int kWarmup = 20;  // past the quick-ack segments of the start
  std::vector<std::pair<uint32_t, int>> pending;  // (end sequence, arrival ms) of measured segments
  size_t next_pending = 0;
  int now_ms = 0;
  double delay_sum = 0;
  int delays = 0;
  uint64_t acks0 = 0;
  auto step = [&] {
    poll_dry(*w.stack);
    drain(s.sock, buf);
    poll_dry(*w.stack);
    collect(*w.link, {&s});
    for (; next_pending < pending.size() &&
           static_cast<int32_t>(s.una - pending[next_pending].first) >= 0;
         ++next_pending) {
      delay_sum += now_ms - pending[next_pending].second;
      ++delays;
    }
  };
  for (int i = 0; i < kWarmup + segments; ++i) {
    if (i == kWarmup) acks0 = s.acks;
    w.link->nic->wire_receive(s.segment(s.nxt, 100));
    s.nxt += 100;
    if (i >= kWarmup) pending.emplace_back(s.nxt, now_ms);
    for (int ms = 0; ms < 5; ++ms) {
      step();
      w.clock.advance(absl::Milliseconds(1));
      ++now_ms;
    }
  }
  const uint64_t acks_measured = s.acks - acks0;
  for (int ms = 0; ms < 1000 && next_pending < pending.size(); ++ms) {
    step();
    w.clock.advance(absl::Milliseconds(1));
    ++now_ms;
  }
  DelackResult r;
  r.acks_per_seg = static_cast<double>(acks_measured) / segments;
  r.mean_ack_delay_ms = delays > 0 ? delay_sum / delays : -1;
  r.quick_acks = static_cast<double>(w.stack->counters().get(Counter::TcpExtTCPQuickAck) - quick0);
  return r;
}

// ---------------------------------------------------------------------------
// inlet.pool.buffers: a 2048-datagram burst, ring of 64, a reader that reads
// after every 8th poll.

double pool_burst_loss(const Tunables& t, uint64_t* nobuf) {
  ManualClock clock;
  Stack stack(t, &clock);
  Link l = add_link(stack, "sim0", "192.0.2.2", "192.0.2.1", "02:00:00:00:00:01", 64);
  auto* udp = *stack.udp_bind(wire::kIpv4Any, 7000, 64u << 20);
  const std::vector<uint8_t> datagram(1000, 0x22);
  const Frame f = l.peer.udp(l.mac, l.ip, 9000, 7000, datagram);
  std::vector<uint8_t> buf(2048);
  constexpr int kBurst = 2048;
  uint64_t got = 0;
  const uint64_t nobuf0 = l.nic->stats().rx_nobuf;
  int polls = 0;
  for (int sent = 0; sent < kBurst;) {
    for (int i = 0; i < 64 && sent < kBurst; ++i, ++sent) l.nic->wire_receive(f);
    stack.poll();
    if (++polls % 8 == 0) {
      while (udp->recv(buf)) ++got;
    }
  }
  for (int i = 0; i < 100; ++i) {
    stack.poll();
    while (udp->recv(buf)) ++got;
  }
  *nobuf = l.nic->stats().rx_nobuf - nobuf0;
  stack.shutdown();
  return 100.0 * static_cast<double>(kBurst - got) / kBurst;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  // Sections to run (all by default): profiles memory napi rmem delack pool.
  auto wanted = [&](const char* section) {
    if (argc < 2) return true;
    for (int i = 1; i < argc; ++i) {
      if (std::string(argv[i]) == section) return true;
    }
    return false;
  };
  const auto start = SteadyClock::now();
  std::printf("inlet profiles benchmark (sim port, one process; wall-clock figures are medians of %d runs, "
              "%d for the per-profile table)\n\n",
              kRuns, 9);

  // --- per profile -----------------------------------------------------------
  const std::vector<std::string> profiles = {"", "network-latency", "network-throughput", "low-memory"};
  if (wanted("profiles")) {
    ProfileResult warm;
    measure_setup(Tunables(), warm);  // first-use allocations of the process are not the stack's
  }
  std::vector<ProfileResult> results;
  constexpr size_t kSegments = 40000;
  constexpr int kProfileRuns = 9;
  if (wanted("profiles")) {
    // Runs interleave the profiles, so the machine's load drifts over all alike.
    std::vector<Tunables> tunables;
    std::vector<std::vector<double>> tcp(profiles.size()), acks(profiles.size()), ping(profiles.size()),
        irq(profiles.size()), ping_manual(profiles.size());
    for (const std::string& p : profiles) {
      tunables.push_back(profile_tunables(p));
      ProfileResult r;
      r.name = p.empty() ? "default" : p;
      measure_setup(tunables.back(), r);
      double a = 0;
      tcp_in_order(tunables.back(), 2000, &a);  // warm-up
      results.push_back(r);
    }
    for (int run = 0; run < kProfileRuns; ++run) {
      for (size_t i = 0; i < profiles.size(); ++i) {
        double a = 0;
        tcp[i].push_back(tcp_in_order(tunables[i], kSegments, &a));
        acks[i].push_back(a);
        double irqs = 0;
        ping[i].push_back(ping_round_trip(tunables[i], 5000, &irqs));
        irq[i].push_back(irqs);
        ping_manual[i].push_back(ping_round_trip(tunables[i], 5000, nullptr, false));
      }
    }
    for (size_t i = 0; i < profiles.size(); ++i) {
      results[i].tcp_ns_per_seg = median(tcp[i]);
      results[i].acks_per_seg = median(acks[i]);
      results[i].ping_ns = median(ping[i]);
      results[i].irqs_per_ping = median(irq[i]);
      results[i].ping_manual_ns = median(ping_manual[i]);
    }
  }
  if (wanted("profiles")) {
  const ProfileResult& base = results[0];
  std::printf("%-20s %12s %8s %12s %14s %9s %10s %9s %9s %19s\n", "profile", "setup heap", "allocs",
              "pool bytes", "tcp ns/seg", "ACKs/seg", "ping ns", "x default", "irq/ping", "ping(manual clock)");
  for (const ProfileResult& r : results) {
    std::printf("%-20s %10.2f MiB %8.0f %8.2f MiB %8.1f (x%.2f) %9.3f %10.0f %8.2f %9.3f %10.0f (x%.2f)\n", r.name.c_str(),
                r.setup_heap_bytes / (1 << 20), r.setup_allocs, r.pool_bytes / (1 << 20), r.tcp_ns_per_seg,
                r.tcp_ns_per_seg / base.tcp_ns_per_seg, r.acks_per_seg, r.ping_ns, r.ping_ns / base.ping_ns,
                r.irqs_per_ping, r.ping_manual_ns, r.ping_manual_ns / base.ping_manual_ns);
    figure("profile." + r.name + ".ping_manual_clock", r.ping_manual_ns, "ns");
    figure("profile." + r.name + ".interrupts_per_ping", r.irqs_per_ping, "interrupts");
    figure("profile." + r.name + ".setup_heap", r.setup_heap_bytes, "bytes");
    figure("profile." + r.name + ".setup_allocations", r.setup_allocs, "allocations");
    figure("profile." + r.name + ".pool", r.pool_bytes, "bytes");
    figure("profile." + r.name + ".tcp_in_order", r.tcp_ns_per_seg, "ns/segment");
    figure("profile." + r.name + ".tcp_in_order_ratio", r.tcp_ns_per_seg / base.tcp_ns_per_seg, "x");
    figure("profile." + r.name + ".acks_per_segment", r.acks_per_seg, "ACKs/segment");
    figure("profile." + r.name + ".ping", r.ping_ns, "ns");
    figure("profile." + r.name + ".ping_ratio", r.ping_ns / base.ping_ns, "x");
  }
  }

  // --- set-up memory of single knobs ------------------------------------------------
  if (wanted("memory")) {
    std::printf("\nset-up heap per knob: default vs the knob alone at its low-memory value\n");
    ProfileResult def;
    measure_setup(Tunables(), def);  // warm-up: first-use allocations of the process
    measure_setup(Tunables(), def);
    const char* knobs[] = {
        "inlet.pool.buffers=64",          "inlet.tcp.max_connections=8",
        "net.ipv4.tcp_max_tw_buckets=16", "net.ipv4.tcp_max_syn_backlog=16",
        "net.ipv4.ipfrag_high_thresh=65724", "net.ipv4.neigh.default.gc_thresh3=32",
        "net.ipv4.neigh.default.unres_qlen=4", "inlet.ip.fib_max_routes=64",
        "inlet.tx_ring_size=32",          "net.ipv4.tcp_rmem=4096 8192 16384",
    };
    for (const char* k : knobs) {
      ProfileResult r;
      measure_setup(with(Tunables(), k), r);
      const double saved = def.setup_heap_bytes - r.setup_heap_bytes;
      if (def.setup_heap_bytes <= 0) {
        std::printf("%-40s: mallinfo2 reports nothing here (malloc replaced, e.g. by valgrind)\n", k);
        continue;
      }
      std::printf("%-40s saves %12.0f bytes (%.1f%% of the default set-up)\n", k, saved,
                  100 * saved / def.setup_heap_bytes);
      std::string name = k;
      name = name.substr(0, name.find('='));
      figure("memory." + name + ".saved", saved, "bytes");
    }
  }

  // --- netdev_budget x dev_weight ----------------------------------------------
  if (wanted("napi")) {
  std::printf("\nnetdev_budget / dev_weight: 1024 UDP frames on sim0, then a TCP request on sim1\n");
  std::printf("%-8s %-7s %12s %12s %14s %12s %7s\n", "budget", "weight", "wake us", "wake frames",
              "longest poll us", "drain ns/fr", "polls");
  struct Bw {
    int budget, weight;
  };
  const Bw grid[] = {{300, 64}, {16, 64}, {64, 64}, {1024, 64}, {64, 16}, {300, 16}, {600, 128}};
  LatencyResult lat_base;
  for (const Bw& g : grid) {
    Tunables t;
    t.set(Tunable::kNetdevBudget, g.budget);
    t.set(Tunable::kDevWeight, g.weight);
    t.set(Tunable::kNetdevBudgetUsecs, 10000000);  // a manual clock: no time limit in play
    t.set(Tunable::kPoolBuffers, 8192);
    t = with(t, "net.core.rmem_max=67108864");  // the UDP socket holds a whole burst
    budget_latency(t, 10);  // warm-up
    std::vector<LatencyResult> runs;
    for (int run = 0; run < kRuns; ++run) runs.push_back(budget_latency(t, 40));
    auto med = [&](double LatencyResult::*m) {
      std::vector<double> v;
      for (const LatencyResult& x : runs) v.push_back(x.*m);
      return median(v);
    };
    const LatencyResult r{med(&LatencyResult::wake_ns), med(&LatencyResult::wake_frames),
                          med(&LatencyResult::max_poll_ns), med(&LatencyResult::drain_ns_per_frame),
                          med(&LatencyResult::polls)};
    if (g.budget == 300 && g.weight == 64) lat_base = r;
    std::printf("%-8d %-7d %12.1f %12.0f %14.1f %12.1f %7.0f   wake x%.2f drain x%.2f\n", g.budget,
                g.weight, r.wake_ns / 1e3, r.wake_frames, r.max_poll_ns / 1e3, r.drain_ns_per_frame,
                r.polls, r.wake_ns / lat_base.wake_ns, r.drain_ns_per_frame / lat_base.drain_ns_per_frame);
    const std::string k = "budget" + std::to_string(g.budget) + "_weight" + std::to_string(g.weight);
    figure("napi." + k + ".wake", r.wake_ns, "ns");
    figure("napi." + k + ".wake_frames", r.wake_frames, "frames");
    figure("napi." + k + ".longest_poll", r.max_poll_ns, "ns");
    figure("napi." + k + ".drain", r.drain_ns_per_frame, "ns/frame");
  }
  {
    std::vector<double> idle0, idle50;
    for (int run = 0; run < kRuns; ++run) {
      idle0.push_back(idle_poll_ns(Tunables(), 200000));
      idle50.push_back(idle_poll_ns(with(Tunables(), "net.core.busy_poll=50"), 200000));
    }
    std::printf("idle poll(): busy_poll=0 %.1f ns, busy_poll=50 %.1f ns (the queue stays on the poll list)\n",
                median(idle0), median(idle50));
    figure("napi.idle_poll.busy_poll0", median(idle0), "ns");
    figure("napi.idle_poll.busy_poll50", median(idle50), "ns");
  }

  }

  // --- tcp_rmem under loss (virtual time) ------------------------------------------
  if (wanted("rmem")) {
  std::printf("\ntcp_rmem: window-limited sender, RTT 10 ms, 40 rounds, SACK, virtual time (deterministic)\n");
  std::printf("%-44s %-10s %9s %11s %8s %8s %8s %8s\n", "configuration", "loss", "Mbit/s", "max window",
              "peak buf", "OFO drop", "rx_nobuf", "resent");
  struct Wc {
    const char* name;
    Tunables t;
  };
  const Wc windows[] = {
      {"tcp_rmem max 256 KiB", with(Tunables(), "net.ipv4.tcp_rmem=4096 131072 262144")},
      {"tcp_rmem max 1 MiB", with(Tunables(), "net.ipv4.tcp_rmem=4096 131072 1048576")},
      {"default (tcp_rmem max 6 MiB, 4096 buffers)", Tunables()},
      {"tcp_rmem max 16 MiB, 4096 buffers",
       with(with(Tunables(), "net.ipv4.tcp_rmem=4096 131072 16777216"), "net.core.rmem_max=16777216")},
      {"network-throughput (16 MiB, 16384 buffers)", profile_tunables("network-throughput")},
      {"low-memory (16 KiB, 64 buffers)", profile_tunables("low-memory")},
      {"default, tcp_moderate_rcvbuf=0", with(Tunables(), "net.ipv4.tcp_moderate_rcvbuf=0")},
      {"default, tcp_window_scaling=0", with(Tunables(), "net.ipv4.tcp_window_scaling=0")},
      {"default, tcp_sack=0", with(Tunables(), "net.ipv4.tcp_sack=0")},
  };
  const Loss losses[] = {{"none"}, {"1in5000", 5000}, {"1in200", 200}, {"edge/10rtt", 0, 10}};
  struct Row {
    std::string name;
    size_t loss;
    WindowResult r;
  };
  std::vector<Row> rows;
  double goodput_base[std::size(losses)] = {};
  for (const Wc& c : windows) {
    for (size_t i = 0; i < std::size(losses); ++i) {
      rows.push_back({c.name, i, window_under_loss(c.t, losses[i], 40)});
      if (rows.back().name.rfind("default (", 0) == 0) goodput_base[i] = rows.back().r.goodput_mbit;
    }
  }
  for (const Row& row : rows) {
    const WindowResult& r = row.r;
    const double ratio = r.goodput_mbit / goodput_base[row.loss];
    std::printf("%-44s %-10s %9.1f %9.0f K %8.0f %8.0f %8.0f %8.0f  x%.2f\n", row.name.c_str(),
                losses[row.loss].label, r.goodput_mbit, r.max_window / 1024, r.peak_buffers, r.ofo_drops,
                r.rx_nobuf, r.retransmitted, ratio);
    std::string k = row.name.substr(0, row.name.find(" ("));
    for (char& ch : k) {
      if (ch == ' ' || ch == ',' || ch == '=') ch = '_';
    }
    std::string label = losses[row.loss].label;
    for (char& ch : label) {
      if (ch == '/') ch = '_';
    }
    k += ".loss_" + label;
    figure("rmem." + k + ".goodput", r.goodput_mbit, "Mbit/s");
    figure("rmem." + k + ".goodput_ratio", ratio, "x");
    figure("rmem." + k + ".max_window", r.max_window, "bytes");
    figure("rmem." + k + ".peak_buffers", r.peak_buffers, "buffers");
    figure("rmem." + k + ".rx_nobuf", r.rx_nobuf, "frames");
  }
  }

  // --- delayed ACK ----------------------------------------------------------------
  if (wanted("delack")) {
  std::printf("\ninlet.tcp.delack_ms: 100-byte segments every 5 ms (virtual time), 200 after 20 warm-up\n");
  std::printf("%-10s %10s %16s %12s\n", "delack_ms", "ACKs/seg", "mean ACK delay", "quick ACKs");
  for (int ms : {1, 4, 10, 40, 200}) {
    Tunables t;
    t.set(Tunable::kTcpDelackMs, ms);
    const DelackResult r = delack(t, 200);
    std::printf("%-10d %10.3f %13.2f ms %12.0f\n", ms, r.acks_per_seg, r.mean_ack_delay_ms, r.quick_acks);
    figure("delack.ms" + std::to_string(ms) + ".acks_per_segment", r.acks_per_seg, "ACKs/segment");
    figure("delack.ms" + std::to_string(ms) + ".mean_ack_delay", r.mean_ack_delay_ms, "ms");
    figure("delack.ms" + std::to_string(ms) + ".quick_acks", r.quick_acks, "ACKs");
  }

  }

  // --- pool size -------------------------------------------------------------------
  if (wanted("pool")) {
  std::printf("\ninlet.pool.buffers: 2048 x 1000-byte UDP burst, ring 64, reader every 8th poll\n");
  std::printf("%-10s %10s %10s\n", "buffers", "lost %", "rx_nobuf");
  for (int buffers : {128, 256, 512, 640, 1024, 4096}) {
    Tunables t = with(Tunables(), "net.core.rmem_max=67108864");
    t.set(Tunable::kPoolBuffers, buffers);
    uint64_t nobuf = 0;
    const double lost = pool_burst_loss(t, &nobuf);
    std::printf("%-10d %9.1f%% %10llu\n", buffers, lost, static_cast<unsigned long long>(nobuf));
    figure("pool.buffers" + std::to_string(buffers) + ".burst_loss", lost, "%");
  }

  }

  std::printf("\ntotal %.1f s\n", ns_since(start) / 1e9);
  if (wanted("profiles")) figure("allocs_per_packet_profiles", g_max_allocs_per_packet, "allocs");
  return 0;
}
