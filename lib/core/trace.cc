#include "core/trace.h"

namespace inlet {

std::string_view trace_point_name(TracePoint p) {
  switch (p) {
    case TracePoint::kLinkIn: return "link-in";
    case TracePoint::kArp: return "arp";
    case TracePoint::kIpIn: return "ipv4-in";
    case TracePoint::kIcmp: return "icmp";
    case TracePoint::kUdp: return "udp";
    case TracePoint::kTransportIn: return "transport-in";
    case TracePoint::kIpOut: return "ipv4-out";
    case TracePoint::kLinkOut: return "link-out";
    case TracePoint::kDrop: return "drop";
  }
  return "?";
}

}  // namespace inlet
