// RAM footprint: what a stack allocates at set-up for a Tunables set (pool
// slabs and descriptors, TCP tables, neighbour table, FIB, reassembly, timer
// wheel, transmit rings, the Stack object), computed without building one.
#pragma once

#include <cstddef>
#include <string>

#include "core/tunables.h"

namespace inlet {

// Bytes by part. Figures are what the constructors request from the
// allocator (lib/core/alloc.h); allocator overhead and the application's own
// sockets (UDP receive rings, listeners: allocated at bind/listen) are not in it.
struct RamFootprint {
  size_t pool = 0;              // buffers x buffer_size (the slabs)
  size_t pool_metadata = 0;     // packet descriptors, slab refcounts, free list
  size_t tcp_connections = 0;   // TcpSocket slots (inlet.tcp.max_connections) + lists
  size_t tcp_requests = 0;      // SYN queue (tcp_max_syn_backlog)
  size_t tcp_time_wait = 0;     // TIME_WAIT table (tcp_max_tw_buckets)
  size_t tcp_table = 0;         // the 4-tuple hash table over all three
  size_t neighbours = 0;        // neighbour table, its index and unresolved-queue slots
  size_t fib = 0;               // routes (inlet.ip.fib_max_routes)
  size_t reassembly = 0;        // reassembly buffers and queues (ipfrag_high_thresh)
  size_t timer_wheel = 0;       // the wheel's slots
  size_t tx_rings = 0;          // inlet.tx_ring_size per interface
  size_t stack_object = 0;      // sizeof(Stack): layers, counters, ICMP host table

  size_t total() const {
    return pool + pool_metadata + tcp_connections + tcp_requests + tcp_time_wait + tcp_table +
           neighbours + fib + reassembly + timer_wheel + tx_rings + stack_object;
  }
  // Everything but the Stack object itself: what the allocator hands out.
  size_t allocated() const { return total() - stack_object; }
};

// The RAM a stack with `tunables` and `interfaces` port interfaces needs at
// set-up. Every table is sized from the tunables at construction and never
// grows, so this is also the steady state.
RamFootprint ram_footprint(const Tunables& tunables, size_t interfaces = 1);

// The small set the footprint documentation budgets (docs/footprint.md): 64
// buffers of 2 KiB, 8 connections, and tables to match — the table sizes of
// the `low-memory` tuning profile, set without parsing text.
Tunables small_footprint_tunables();

// One "part bytes" line per part and the total, for reports.
std::string ram_footprint_text(const RamFootprint& f);

}  // namespace inlet
