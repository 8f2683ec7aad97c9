// The RAM footprint (lib/api/footprint.h) against what a real Stack asks of
// the allocator hook (lib/core/alloc.h) at set-up, part by part where a part
// can be read back (the pool, the FIB), and in total.
#include <doctest/doctest.h>

#include <cstdlib>
#include <memory>

#include "api/stack.h"
#include "core/alloc.h"
#include "core/features.h"
#include "api/footprint.h"

namespace inlet {
namespace {

// Counts the bytes live through the hook, forwarding to the default allocator.
struct CountingAllocator {
  size_t live = 0;
  size_t peak = 0;
  size_t calls = 0;
  Allocator hook{
      [](void* ctx, size_t size, size_t align) -> void* {
        auto* self = static_cast<CountingAllocator*>(ctx);
        self->live += size;
        self->peak = std::max(self->peak, self->live);
        ++self->calls;
        return default_allocator().allocate(default_allocator().ctx, size, align);
      },
      [](void* ctx, void* p, size_t size, size_t align) {
        static_cast<CountingAllocator*>(ctx)->live -= size;
        default_allocator().deallocate(default_allocator().ctx, p, size, align);
      },
      this};
};

// Installs `a` for the scope.
struct ScopedAllocator {
  explicit ScopedAllocator(const Allocator* a) : previous(set_allocator(a)) {}
  ~ScopedAllocator() { set_allocator(previous); }
  const Allocator* previous;
};

// What constructing a Stack with `t` allocates, the footprint beside it.
void check_against_stack(const Tunables& t) {
  CountingAllocator counter;
  const RamFootprint f = ram_footprint(t, 0);  // no interface: the constructor alone
  ScopedAllocator scoped(&counter.hook);
  auto stack = std::make_unique<Stack>(t);
  const size_t measured = counter.live;
  INFO("footprint:\n" << ram_footprint_text(f) << "measured by the hook: " << measured);
  MESSAGE("computed " << f.allocated() << " bytes allocated at set-up, the hook saw " << measured
                      << " in " << counter.calls << " allocations");
  // Parts that can be read back exactly.
  CHECK(f.pool == size_t{stack->pool().capacity()} * stack->pool().buffer_size());
  CHECK(f.fib == stack->ip().routes().memory_bytes() - sizeof(ip::Fib));
  CHECK(f.stack_object == sizeof(Stack));
  // The whole: every byte the constructors ask of the allocator is in a part.
  CHECK(f.allocated() == measured);
  stack.reset();
  CHECK(counter.live == 0);
}

TEST_SUITE("api.footprint") {

TEST_CASE("the footprint of the default tunables matches what a Stack allocates") {
  check_against_stack(Tunables());
}

TEST_CASE("the small set (64 buffers, 8 connections) matches what a Stack allocates") {
  check_against_stack(small_footprint_tunables());
}

TEST_CASE("the small set fits the documented 256 KiB budget, its pool 128 KiB of it") {
  const RamFootprint f = ram_footprint(small_footprint_tunables());
  CHECK(f.pool == 64 * 2048);
  // The budget (docs/footprint.md) is the minimal preset's: a linear route
  // table and no reassembly. The poptrie's direct-indexed table (~190 KiB
  // whatever the route count) and a 64 KiB reassembly buffer come on top.
  const size_t poptrie_and_reassembly = (INLET_WITH_FIB_POPTRIE ? f.fib : 0) + f.reassembly;
  CHECK(f.total() - poptrie_and_reassembly <= 256 * 1024);
  if (!INLET_WITH_FIB_POPTRIE && !INLET_WITH_REASSEMBLY) CHECK(f.total() <= 256 * 1024);
}

TEST_CASE("an interface adds its transmit ring: inlet.tx_ring_size PacketRefs") {
  const Tunables t = small_footprint_tunables();
  CHECK(ram_footprint(t, 2).tx_rings - ram_footprint(t, 1).tx_rings ==
        static_cast<size_t>(t.get(Tunable::kTxRingSize)) * sizeof(PacketRef));
}

TEST_CASE("every table grows with its tunable") {
  const Tunables base = small_footprint_tunables();
  const RamFootprint f0 = ram_footprint(base);
  Tunables more = base;
  more.set(Tunable::kTcpMaxConnections, 16);
  more.set(Tunable::kNeighGcThresh3, 64);
  more.set(Tunable::kPoolBuffers, 128);
  const RamFootprint f1 = ram_footprint(more);
  CHECK(f1.tcp_connections == 2 * f0.tcp_connections);
  CHECK(f1.neighbours > f0.neighbours);
  CHECK(f1.pool == 2 * f0.pool);
  CHECK(f1.tcp_table >= f0.tcp_table);
}

}  // TEST_SUITE

}  // namespace
}  // namespace inlet
