// Trace: an optional per-packet hook each layer calls at its decision points
// (the demo prints it; a pcap tap can record it). Off by default: a null
// function pointer test per call site, nothing else.
#pragma once

#include <string_view>

#include "core/counters.h"
#include "core/features.h"
#include "core/packet.h"

namespace inlet {

enum class TracePoint : uint8_t { kLinkIn, kArp, kIpIn, kIcmp, kUdp, kTransportIn, kIpOut, kLinkOut, kDrop };

std::string_view trace_point_name(TracePoint p);

struct Trace {
  using Fn = void (*)(void* user, TracePoint point, const Packet& packet, std::string_view note);
  Fn fn = nullptr;
  void* user = nullptr;

  void operator()(TracePoint point, const Packet& packet, std::string_view note) const {
    if (fn != nullptr) [[unlikely]] fn(user, point, packet, note);
  }
  // A drop: the reason's name (when the text tables are built in) is looked
  // up only when a hook is set, so a drop costs nothing extra when tracing is off.
  void drop(const Packet& packet, DropReason reason) const {
    if (fn != nullptr) [[unlikely]] {
      fn(user, TracePoint::kDrop, packet,
         INLET_WITH_TEXT ? drop_reason_name(reason) : std::string_view());
    }
  }
  bool enabled() const { return fn != nullptr; }
};

}  // namespace inlet
