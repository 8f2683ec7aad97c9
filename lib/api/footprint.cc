// The set-up RAM of a stack, part by part, from the same formulas the
// constructors use (Stack, BufferPool, TcpLayer, NeighbourTable, Fib,
// Reassembler, TimerWheel, TxQueue). tests/unit/api_footprint_test.cc checks it against
// what a real stack asks of the allocator.
//
// Layering: this file reads the sizes of the layers' types, so it depends on
// them (api/stack.h); nothing below it depends on this file.
#include "api/footprint.h"

#include <algorithm>
#include <bit>
#include <utility>

#include "absl/container/internal/raw_hash_set.h"
#include "absl/strings/str_format.h"
#include "api/stack.h"

namespace inlet {

namespace {

size_t round_up(size_t n, size_t align) { return (n + align - 1) / align * align; }

// What absl's flat_hash_map::reserve(n) allocates: capacity for n elements at
// a 7/8 load factor, control bytes, then the slots (AllocSize), in units of the
// slot alignment.
size_t flat_hash_bytes(size_t n, size_t slot_size, size_t slot_align) {
  if (n == 0) return 0;
  namespace ci = absl::container_internal;
  const size_t capacity = ci::NormalizeCapacity(ci::GrowthToLowerboundCapacity(n));
  return round_up(ci::AllocSize(capacity, slot_size, slot_align), slot_align);
}

template <class K, class V>
size_t flat_hash_bytes_for(size_t n) {
  using Slot = std::pair<const K, V>;
  return flat_hash_bytes(n, sizeof(Slot), alignof(Slot));
}

size_t pool_metadata_bytes(size_t buffers, size_t descriptors) {
  return descriptors * sizeof(Packet) + buffers * sizeof(uint16_t) + buffers * sizeof(uint32_t);
}

}  // namespace

RamFootprint ram_footprint(const Tunables& t, size_t interfaces) {
  RamFootprint f;
  const auto get = [&t](Tunable k) { return static_cast<size_t>(t.get(k)); };

  // BufferPool: slabs, 2 descriptors a buffer, refcounts and the free stack.
  const size_t buffers = get(Tunable::kPoolBuffers);
  f.pool = buffers * get(Tunable::kPoolBufferSize);
  f.pool_metadata = pool_metadata_bytes(buffers, 2 * buffers);

  // TcpLayer: socket slots and the lists sized to them, the SYN queue, the
  // TIME_WAIT ring, and one 4-tuple table over all of them.
  const size_t conns = get(Tunable::kTcpMaxConnections);
  const size_t reqs = get(Tunable::kTcpMaxSynBacklog);
  const size_t tws = get(Tunable::kTcpMaxTimeWait);
  const tcp::TcpLayer::EntrySizes e = tcp::TcpLayer::entry_sizes();
  f.tcp_connections = conns * sizeof(tcp::TcpSocket) +
                      conns * sizeof(uint32_t) +             // free slots
                      3 * conns * sizeof(tcp::TcpSocket*);   // ack, ready, ready-out lists
  f.tcp_requests = reqs * e.request + reqs * sizeof(uint32_t);
  f.tcp_time_wait = std::max<size_t>(tws, 1) * e.time_wait;
  f.tcp_table = flat_hash_bytes(conns + reqs + tws, e.table_slot, e.table_slot_align);

  // NeighbourTable: entries, unres_qlen held packets each, free list, index.
  const size_t neigh = get(Tunable::kNeighGcThresh3);
  f.neighbours = neigh * sizeof(link::Neighbour) +
                 neigh * get(Tunable::kNeighUnresQlen) * sizeof(PacketRef) +
                 neigh * sizeof(uint32_t) + flat_hash_bytes_for<uint32_t, uint32_t>(neigh);

  // The FIB: allocated whole at construction; its own accounting (less the
  // object, which is inside the Stack).
  {
    ip::Fib probe(ip::FibConfig{.max_routes = static_cast<uint32_t>(get(Tunable::kFibMaxRoutes))});
    f.fib = probe.memory_bytes() - sizeof(ip::Fib);
  }

#if INLET_WITH_REASSEMBLY
  // Reassembler: one 64 KiB buffer per datagram in flight (high_thresh /
  // buffer size of them), with a pool of its own, queues and the index.
  const size_t n = get(Tunable::kIpfragHighThresh) / ip::Reassembler::kBufferSize;
  const size_t rbuf = std::max<size_t>(n, 1);
  f.reassembly = sizeof(BufferPool) + rbuf * ip::Reassembler::kBufferSize +
                 pool_metadata_bytes(rbuf, 2 * rbuf) + n * ip::Reassembler::queue_bytes() +
                 2 * (n == 0 ? 0 : std::bit_ceil(n)) * sizeof(void*) +  // two lists grown by push_back
 flat_hash_bytes(n, ip::Reassembler::map_slot_bytes(),
                                                         alignof(void*));
#endif

  f.timer_wheel = 1024 * sizeof(Timer*);  // TimerWheel's default slot count
  f.tx_rings = interfaces * std::max<size_t>(get(Tunable::kTxRingSize), 1) * sizeof(PacketRef);
  f.stack_object = sizeof(Stack);
  return f;
}

Tunables small_footprint_tunables() {
  Tunables t;
  t.set(Tunable::kPoolBuffers, 64);
  t.set(Tunable::kPoolBufferSize, 2048);
  t.set(Tunable::kTcpMaxConnections, 8);
  t.set(Tunable::kSomaxconn, 8);
  t.set(Tunable::kTcpMaxSynBacklog, 16);
  t.set(Tunable::kTcpMaxTimeWait, 16);
  t.set(Tunable::kRmemDefault, 16384);
  t.set(Tunable::kRmemMax, 16384);
  t.set(Tunable::kNeighGcThresh3, 32);
  t.set(Tunable::kNeighUnresQlen, 4);
  t.set(Tunable::kFibMaxRoutes, 64);
  t.set(Tunable::kBridgeFdbMax, 64);
  t.set(Tunable::kTxRingSize, 32);
  // One reassembly buffer (where reassembly is built in).
  t.set(Tunable::kIpfragHighThresh, 65724);
  t.set(Tunable::kIpfragLowThresh, 49152);
  return t;
}

std::string ram_footprint_text(const RamFootprint& f) {
  std::string out;
  const auto line = [&out](const char* part, size_t bytes) {
    out += absl::StrFormat("%-16s %10zu\n", part, bytes);
  };
  line("pool", f.pool);
  line("pool_metadata", f.pool_metadata);
  line("tcp_connections", f.tcp_connections);
  line("tcp_requests", f.tcp_requests);
  line("tcp_time_wait", f.tcp_time_wait);
  line("tcp_table", f.tcp_table);
  line("neighbours", f.neighbours);
  line("fib", f.fib);
  line("reassembly", f.reassembly);
  line("timer_wheel", f.timer_wheel);
  line("tx_rings", f.tx_rings);
  line("stack_object", f.stack_object);
  line("total", f.total());
  return out;
}

}  // namespace inlet
