#include "udp/udp_layer.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_format.h"
#include "wire/checksum.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"
#include "wire/udp.h"

namespace inlet::udp {

UdpSocket::UdpSocket(UdpEndpoint local, size_t rcvbuf, size_t slots)
    : local_(local), rcvbuf_(rcvbuf), ring_(std::max<size_t>(slots, 1)) {}

bool UdpSocket::enqueue(PacketRef& p) {
  // Linux's __udp_enqueue_schedule_skb: refuse once the charged memory would
  // pass the receive buffer (one datagram is always allowed into an empty queue).
  if ((count_ > 0 && queued_truesize_ + p->truesize > rcvbuf_) || count_ == ring_.size()) {
    return false;
  }
  queued_truesize_ += p->truesize;
  ring_[(head_ + count_) % ring_.size()] = std::move(p);
  ++count_;
  return true;
}

std::optional<UdpDatagramInfo> UdpSocket::recv(std::span<uint8_t> buf) {
  if (count_ == 0) return std::nullopt;
  PacketRef p = std::move(ring_[head_]);
  head_ = (head_ + 1) % ring_.size();
  --count_;
  queued_truesize_ -= p->truesize;
  // Addresses come from the headers still in the buffer (l3/l4 offsets).
  const uint8_t* ip = p->head + p->l3_offset;
  const uint8_t* udp = p->head + p->l4_offset;
  UdpDatagramInfo info;
  info.from = {wire::Ipv4Address::load(ip + 12), wire::load_be16(udp)};
  info.to = {wire::Ipv4Address::load(ip + 16), wire::load_be16(udp + 2)};
  info.length = p->length();
  info.copied = std::min(buf.size(), info.length);
  // The one copy; an empty buffer (just asking the length) may be null.
  if (info.copied > 0) std::memcpy(buf.data(), p->data_ptr(), info.copied);
  return info;
}

void UdpSocket::clear() {
  for (PacketRef& p : ring_) p.reset();
  head_ = count_ = queued_truesize_ = 0;
}

UdpLayer::UdpLayer(const Tunables& tunables, BufferPool& pool, Counters& counters,
                   const Trace& trace, ip::Ipv4Layer& ip)
    : tunables_(tunables), pool_(pool), counters_(counters), trace_(trace), ip_(ip) {
  ip_.register_transport(wire::ipproto::kUdp, this);
}

UdpLayer::~UdpLayer() { shutdown(); }

absl::StatusOr<UdpSocket*> UdpLayer::bind(wire::Ipv4Address address, uint16_t port,
                                          size_t rcvbuf) {
  if (port == 0) return absl::InvalidArgumentError("UDP port 0 cannot be bound");
  if (sockets_.contains(key(address, port)) || sockets_.contains(key(wire::kIpv4Any, port)) ||
      (address.is_unspecified() &&
       sockets_.any_of([&](const UdpSocket& s) { return s.local().port == port; }))) {
    return absl::AlreadyExistsError(absl::StrFormat("UDP port %u is in use", port));
  }
  if (rcvbuf == 0) rcvbuf = static_cast<size_t>(tunables_.get(Tunable::kRmemDefault));
  rcvbuf = std::min(rcvbuf, static_cast<size_t>(tunables_.get(Tunable::kRmemMax)));
  // Each datagram holds one pool buffer: the ring never needs more slots than
  // the receive buffer has room for buffers (plus the always-admitted first).
  const size_t slots = rcvbuf / pool_.buffer_size() + 1;
  // UdpSocket's constructor is the layer's only: it builds it in place.
  Unique<UdpSocket> sock = allocate_unique_with<UdpSocket>(
      [&](void* p) { return ::new (p) UdpSocket({address, port}, rcvbuf, slots); });
  return sockets_.insert(key(address, port), std::move(sock));
}

void UdpLayer::close(UdpSocket* socket) {
  if (socket == nullptr) return;
  socket->clear();
  sockets_.erase(key(socket->local().address, socket->local().port));
}

void UdpLayer::drop(PacketRef&& p, DropReason reason) {
  trace_.drop(*p, reason);
  pool_.free(std::move(p), reason);
}

void UdpLayer::receive(PacketRef p, const Ipv4Delivery& d) {
  trace_(TracePoint::kUdp, *p, "");
  auto udp = wire::UdpView::parse(p->bytes());
  if (!udp) {
    drop(std::move(p), udp.error() == wire::WireError::kTooShort ? DropReason::kUdpTooShort
                                                                 : DropReason::kUdpBadLength);
    return;
  }
  // RFC 1122 4.1.3.4: a datagram with a bad checksum is silently discarded.
  if (p->csum != ChecksumState::kUnnecessary && p->csum != ChecksumState::kPartial &&
      !udp->checksum_ok(d.src, d.dst)) {
    counters_.add(Counter::UdpInCsumErrors);
    drop(std::move(p), DropReason::kUdpBadChecksum);
    return;
  }
  const uint16_t dst_port = udp->dst_port();
  const uint16_t length = udp->length();
  UdpSocket* socket = sockets_.find(key(d.dst, dst_port));
  if (socket == nullptr) socket = sockets_.find(key(wire::kIpv4Any, dst_port));
  if (socket == nullptr) {
    if (d.broadcast || d.multicast) {
      drop(std::move(p), DropReason::kUdpMulticastNoSocket);
      return;
    }
    // RFC 1122 4.1.3.1: port unreachable (IP applies RFC 1122 3.2.2's rules
    // and the rate limit).
    ip_.send_icmp_error(*p, wire::icmptype::kDestUnreachable, wire::icmpcode::kPortUnreachable);
    drop(std::move(p), DropReason::kUdpNoPort);
    return;
  }
  UdpSocket& s = *socket;
  p->trim(length);
  p->pull(wire::kUdpHeaderLength);
  const uint32_t payload = p->length();
  if (!s.enqueue(p)) {
    counters_.add(Counter::UdpInErrors);  // Linux counts both, as here
    drop(std::move(p), DropReason::kUdpRcvbufFull);
    return;
  }
  counters_.add(Counter::UdpInDatagrams);
  ++s.received_datagrams_;
  s.received_bytes_ += payload;
  if (s.data_ready_) s.data_ready_(s);
}

bool UdpLayer::send(const UdpEndpoint& from, const UdpEndpoint& to,
                    std::span<const uint8_t> payload) {
  PacketRef p = pool_.alloc();
  if (!p) return false;
  if (payload.size() > p->tailroom() - wire::kUdpHeaderLength) {
    drop(std::move(p), DropReason::kIpOutTooBig);
    return false;
  }
  uint8_t* h = p->put(static_cast<uint32_t>(wire::kUdpHeaderLength + payload.size()));
  std::memcpy(h + wire::kUdpHeaderLength, payload.data(), payload.size());
  // The checksum covers the source address, so pick it now, as IP would.
  const wire::Ipv4Address src =
      from.address.is_unspecified() ? ip_.select_source(to.address) : from.address;
  wire::UdpRepr repr{from.port, to.port, static_cast<uint16_t>(payload.size())};
  repr.emit(std::span<uint8_t>(h, repr.total_length()), src, to.address);
  // Linux udp_sendmsg: a datagram with no route never counts as sent.
  if (!ip_.output(std::move(p), src, to.address, wire::ipproto::kUdp)) return false;
  counters_.add(Counter::UdpOutDatagrams);
  return true;
}

void UdpLayer::shutdown() {
  sockets_.for_each([](UdpSocket& s) { s.clear(); });
}

}  // namespace inlet::udp
