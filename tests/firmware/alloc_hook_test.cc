// inlet-alloc-hook-test: proves that a whole stack's memory comes through the
// embedder's allocator hook (lib/core/alloc.h). It installs a firmware-style
// static arena as the allocator, replaces the global operator new to count
// calls, and runs set-up (interface, routes, UDP socket, TCP listener),
// traffic over the sim port (ARP, ping, UDP both ways, a TCP transfer with
// close) and shutdown. Every call into the library runs inside a LibCall
// scope; the test harness (frame building and decoding, the "wire") runs
// outside it. Asserts: the arena saw allocations, its outstanding bytes are 0
// once the stack is destroyed, and the library made no global operator new
// call at all.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <optional>
#include <vector>

#include "api/stack.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "ports/sim/sim_peer.h"
#include "ports/sim/sim_port.h"
#include "wire/ethernet.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"
#include "wire/udp.h"

// --- global operator new, counted while the library runs --------------------

namespace {
bool g_in_library = false;
uint64_t g_library_news = 0;
size_t g_first_library_new_size = 0;

void note_new(size_t n) {
  if (!g_in_library) return;
  if (g_library_news++ == 0) g_first_library_new_size = n;
  // INLET_ALLOC_TEST_ABORT=1: stop at the first one, for a debugger's backtrace.
  if (std::getenv("INLET_ALLOC_TEST_ABORT") != nullptr) std::abort();
}

[[noreturn]] void out_of_memory() {
#if defined(__cpp_exceptions)
  throw std::bad_alloc();
#else
  std::abort();
#endif
}

void* counted_malloc(size_t n) {
  note_new(n);
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) out_of_memory();
  return p;
}
void* counted_aligned(size_t n, std::align_val_t a) {
  note_new(n);
  const size_t align = static_cast<size_t>(a);
  void* p = std::aligned_alloc(align, (n + align - 1) / align * align);
  if (p == nullptr) out_of_memory();
  return p;
}
}  // namespace

// Every form of the global operator new and delete is replaced, in pairs
// (malloc/aligned_alloc and free), so a sanitizer's own pair is not mixed in.
void* operator new(size_t n) { return counted_malloc(n); }
void* operator new[](size_t n) { return counted_malloc(n); }
void* operator new(size_t n, std::align_val_t a) { return counted_aligned(n, a); }
void* operator new[](size_t n, std::align_val_t a) { return counted_aligned(n, a); }
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  note_new(n);
  return std::malloc(n == 0 ? 1 : n);
}
void* operator new[](size_t n, const std::nothrow_t&) noexcept {
  note_new(n);
  return std::malloc(n == 0 ? 1 : n);
}
void* operator new(size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  note_new(n);
  const size_t align = static_cast<size_t>(a);
  return std::aligned_alloc(align, (n + align - 1) / align * align);
}
void* operator new[](size_t n, std::align_val_t a, const std::nothrow_t& t) noexcept {
  return operator new(n, a, t);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }

namespace {

using namespace inlet;

// Marks a call into the library: global operator new is counted inside.
struct LibCall {
  LibCall() { g_in_library = true; }
  ~LibCall() { g_in_library = false; }
};

// --- the embedder's allocator: a static arena, as firmware would have --------

struct Arena {
  uint8_t* base = nullptr;
  size_t capacity = 0;
  size_t top = 0;          // bump pointer; rolls back when the top block is freed
  size_t outstanding = 0;  // bytes handed out and not yet given back
  size_t peak = 0;
  uint64_t allocations = 0;
  uint64_t deallocations = 0;
  uint64_t foreign_frees = 0;  // pointers that did not come from the arena
};

alignas(64) uint8_t g_arena_memory[256u << 20];  // .bss: pages are touched only when used
Arena g_arena{g_arena_memory, sizeof g_arena_memory};

void* arena_allocate(void* ctx, size_t size, size_t align) {
  Arena& a = *static_cast<Arena*>(ctx);
  const size_t start = (a.top + align - 1) / align * align;
  if (start > a.capacity || size > a.capacity - start) return nullptr;
  a.top = start + size;
  a.outstanding += size;
  a.peak = std::max(a.peak, a.outstanding);
  ++a.allocations;
  if (std::getenv("INLET_ALLOC_TEST_VERBOSE") != nullptr) {
    std::fprintf(stderr, "hook: allocate %zu bytes (align %zu)\n", size, align);
  }
  return a.base + start;
}

void arena_deallocate(void* ctx, void* p, size_t size, size_t) {
  Arena& a = *static_cast<Arena*>(ctx);
  uint8_t* b = static_cast<uint8_t*>(p);
  if (b < a.base || b + size > a.base + a.capacity) {
    ++a.foreign_frees;
    return;
  }
  a.outstanding -= size;
  ++a.deallocations;
  if (static_cast<size_t>(b - a.base) + size == a.top) a.top = static_cast<size_t>(b - a.base);
  if (a.outstanding == 0) a.top = 0;
}

const Allocator g_arena_allocator{&arena_allocate, &arena_deallocate, &g_arena};

// --- checks -------------------------------------------------------------------

int g_failures = 0;
#define EXPECT(cond)                                                              \
  do {                                                                            \
    if (!(cond)) {                                                                \
      std::fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__, #cond);     \
      ++g_failures;                                                               \
    }                                                                             \
  } while (0)

using Frame = std::vector<uint8_t>;

wire::Ipv4Address addr(const char* s) { return *wire::Ipv4Address::parse(s); }

// One IPv4 frame the stack sent, decoded by the harness.
struct Sent {
  uint8_t protocol = 0;
  Frame l4;
  wire::Ipv4Address src, dst;
};
std::optional<Sent> ipv4_of(const Frame& f) {
  auto eth = wire::EthernetView::parse(f);
  if (!eth.ok() || eth->ethertype() != wire::ethertype::kIpv4) return std::nullopt;
  auto v = wire::Ipv4View::parse(eth->payload());
  if (!v.ok()) return std::nullopt;
  return Sent{v->protocol(), Frame(v->payload().begin(), v->payload().end()), v->src(), v->dst()};
}

}  // namespace

int main() {
  const wire::Ipv4Address our_ip = addr("192.0.2.2");
  const wire::Ipv4Address peer_ip = addr("192.0.2.1");
  const wire::MacAddress peer_mac({0x02, 0, 0, 0, 0, 0x01});
  sim::SimPeer peer(peer_mac, peer_ip);
  ManualClock clock;

  // Before any object of lib/ exists.
  set_allocator(&g_arena_allocator);

  // Harness-side set-up values (the embedder's own std containers).
  Tunables tunables;
  InterfaceSpec spec;
  spec.name = "sim0";
  spec.addresses = {{our_ip, 24}};
  // The port object is the embedder's (a std::unique_ptr<PortQueue>): its
  // storage comes from the global heap outside the measured scope; what the
  // port allocates itself (its rings) goes through the hook.
  void* port_storage = ::operator new(sizeof(sim::SimPort));

  std::optional<Stack> stack;
  sim::SimPort* port = nullptr;
  udp::UdpSocket* udp_socket = nullptr;
  tcp::TcpListener* listener = nullptr;
  link::Interface* iface = nullptr;
  {
    LibCall lib;
    stack.emplace(tunables, &clock);
    port = ::new (port_storage) sim::SimPort(sim::SimPortConfig{});
    auto added = stack->add_interface(std::unique_ptr<PortQueue>(port), std::move(spec));
    EXPECT(added.ok());
    iface = added.ok() ? *added : nullptr;
    EXPECT(stack->add_route(addr("203.0.113.0"), 24, peer_ip).ok());
    auto u = stack->udp_bind(wire::kIpv4Any, 7000);
    EXPECT(u.ok());
    udp_socket = u.ok() ? *u : nullptr;
    auto l = stack->tcp_listen(wire::kIpv4Any, 5001);
    EXPECT(l.ok());
    listener = l.ok() ? *l : nullptr;
  }
  if (iface == nullptr || udp_socket == nullptr || listener == nullptr) return 1;
  const wire::MacAddress our_mac = iface->mac();
  const size_t arena_after_setup = g_arena.outstanding;
  const uint64_t allocations_after_setup = g_arena.allocations;

  // Delivers frames (the NIC's DMA), polls (measured), collects what the stack sent.
  auto exchange = [&](const std::vector<Frame>& in) {
    for (const Frame& f : in) port->wire_receive(f);
    {
      LibCall lib;
      stack->poll();
    }
    std::vector<Frame> out;
    port->wire_collect([&](std::span<const uint8_t> f) { out.emplace_back(f.begin(), f.end()); });
    return out;
  };

  // ARP: the peer asks for us; we answer and learn it.
  std::vector<Frame> out = exchange({peer.arp_request(our_ip)});
  EXPECT(out.size() == 1);

  // Ping.
  const uint8_t ping_data[32] = {1, 2, 3};
  int echo_replies = 0;
  for (uint16_t seq = 1; seq <= 5; ++seq) {
    for (const Frame& f : exchange({peer.icmp_echo(our_mac, our_ip, 7, seq, ping_data)})) {
      auto s = ipv4_of(f);
      if (s && s->protocol == wire::ipproto::kIcmp && !s->l4.empty() &&
          s->l4[0] == wire::icmptype::kEchoReply) {
        ++echo_replies;
      }
    }
  }
  EXPECT(echo_replies == 5);

  // UDP in: 40 datagrams, read by the application.
  size_t udp_read = 0;
  for (int round = 0; round < 4; ++round) {
    std::vector<Frame> in;
    for (int i = 0; i < 10; ++i) {
      uint8_t payload[100];
      std::memset(payload, round * 10 + i, sizeof payload);
      in.push_back(peer.udp(our_mac, our_ip, 4000, 7000, payload));
    }
    exchange(in);
    LibCall lib;
    uint8_t buf[256];
    while (auto info = udp_socket->recv(buf)) udp_read += info->copied == 100 ? 1 : 0;
  }
  EXPECT(udp_read == 40);

  // UDP out: through the gateway route and the neighbour the ARP taught us.
  {
    const uint8_t hello[5] = {'h', 'e', 'l', 'l', 'o'};
    LibCall lib;
    EXPECT(stack->udp_send({our_ip, 7000}, {addr("203.0.113.9"), 9}, hello));
    stack->poll();
  }
  int udp_out = 0;
  port->wire_collect([&](std::span<const uint8_t> f) {
    auto s = ipv4_of(Frame(f.begin(), f.end()));
    if (s && s->protocol == wire::ipproto::kUdp && s->dst == addr("203.0.113.9")) ++udp_out;
  });
  EXPECT(udp_out == 1);

  // TCP: handshake, 256 KiB in order, the peer's FIN, our close.
  constexpr uint32_t kIss = 1000;
  constexpr size_t kSegment = 1000;
  constexpr size_t kTotal = 256 * 1024;
  wire::TcpRepr syn;
  syn.src_port = 40000;
  syn.dst_port = 5001;
  syn.seq = kIss;
  syn.flags = wire::tcpflag::kSyn;
  syn.window = 65535;
  syn.options.mss = 1460;
  syn.options.window_scale = 7;
  std::optional<uint32_t> our_iss;
  for (const Frame& f : exchange({peer.tcp(our_mac, our_ip, syn, {})})) {
    auto s = ipv4_of(f);
    if (!s || s->protocol != wire::ipproto::kTcp) continue;
    auto t = wire::TcpView::parse(s->l4);
    if (t.ok() && t->syn()) our_iss = t->seq();
  }
  EXPECT(our_iss.has_value());
  if (!our_iss) return 1;
  auto segment = [&](uint32_t seq, uint8_t flags, std::span<const uint8_t> payload) {
    wire::TcpRepr r;
    r.src_port = 40000;
    r.dst_port = 5001;
    r.seq = seq;
    r.ack = *our_iss + 1;
    r.flags = flags;
    r.window = 512;  // x 128
    return peer.tcp(our_mac, our_ip, r, payload);
  };
  exchange({segment(kIss + 1, wire::tcpflag::kAck, {})});
  tcp::TcpSocket* conn = nullptr;
  {
    LibCall lib;
    conn = listener->accept();
  }
  EXPECT(conn != nullptr);
  if (conn == nullptr) return 1;

  std::vector<uint8_t> stream(kTotal);
  for (size_t i = 0; i < kTotal; ++i) stream[i] = static_cast<uint8_t>((i * 2654435761u) >> 24);
  std::vector<uint8_t> received;
  received.reserve(kTotal);
  static uint8_t read_buf[65536];
  size_t sent = 0;
  int rounds = 0;
  while (sent < kTotal && rounds++ < 10000) {
    std::vector<Frame> burst;
    for (int i = 0; i < 16 && sent < kTotal; ++i) {
      const size_t n = std::min(kSegment, kTotal - sent);
      burst.push_back(segment(kIss + 1 + static_cast<uint32_t>(sent), wire::tcpflag::kAck,
                              std::span<const uint8_t>(stream.data() + sent, n)));
      sent += n;
    }
    exchange(burst);
    for (;;) {
      size_t n;
      {
        LibCall lib;
        n = conn->read(read_buf);
      }
      if (n == 0) break;
      for (size_t i = 0; i < n; ++i) received.push_back(read_buf[i]);  // reserved: no allocation
    }
    clock.advance(absl::Milliseconds(1));
  }
  exchange({segment(kIss + 1 + static_cast<uint32_t>(kTotal), wire::tcpflag::kFin | wire::tcpflag::kAck, {})});
  bool eof = false;
  {
    LibCall lib;
    while (conn->read(read_buf) > 0) {
    }
    eof = conn->eof();
    conn->close();  // our FIN
    stack->poll();
  }
  EXPECT(eof);
  EXPECT(received == stream);
  // The peer acknowledges our FIN: the connection is gone (LAST_ACK -> CLOSED).
  std::vector<Frame> fin_out;
  port->wire_collect([&](std::span<const uint8_t> f) { fin_out.emplace_back(f.begin(), f.end()); });
  exchange({segment(kIss + 2 + static_cast<uint32_t>(kTotal), wire::tcpflag::kAck, {})});

  // Timers: let delayed ACKs, neighbour ageing and the like run for a while.
  for (int i = 0; i < 200; ++i) {
    clock.advance(absl::Milliseconds(50));
    LibCall lib;
    stack->poll();
  }
  port->wire_collect([](std::span<const uint8_t>) {});

  // Traffic allocated nothing, not even through the hook: all of it was set-up.
  const uint64_t traffic_allocations = g_arena.allocations - allocations_after_setup;
  uint32_t in_use_after_shutdown = 1;
  {
    LibCall lib;
    stack->udp_close(udp_socket);
    stack->shutdown();
    in_use_after_shutdown = stack->pool().in_use();
    stack.reset();  // destroys the port too
  }

  std::printf("arena: allocations=%llu (during traffic: %llu) deallocations=%llu peak_bytes=%zu "
              "after_setup_bytes=%zu outstanding_bytes=%zu foreign_frees=%llu\n",
              static_cast<unsigned long long>(g_arena.allocations),
              static_cast<unsigned long long>(traffic_allocations),
              static_cast<unsigned long long>(g_arena.deallocations), g_arena.peak,
              arena_after_setup, g_arena.outstanding,
              static_cast<unsigned long long>(g_arena.foreign_frees));
  std::printf("library global operator new calls: %llu (first: %zu bytes)\n",
              static_cast<unsigned long long>(g_library_news), g_first_library_new_size);
  std::printf("traffic: echo_replies=%d udp_in=%zu udp_out=%d tcp_bytes=%zu\n", echo_replies,
              udp_read, udp_out, received.size());

  EXPECT(in_use_after_shutdown == 0);
  EXPECT(g_arena.allocations > 0);
  EXPECT(traffic_allocations == 0);
  EXPECT(g_arena.allocations == g_arena.deallocations);
  EXPECT(g_arena.outstanding == 0);
  EXPECT(g_arena.foreign_frees == 0);
  EXPECT(g_library_news == 0);
  set_allocator(nullptr);
  if (g_failures != 0) {
    std::fprintf(stderr, "%d check(s) failed\n", g_failures);
    return 1;
  }
  std::printf("ok\n");
  return 0;
}
