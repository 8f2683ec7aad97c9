// UDP (RFC 768, RFC 1122 4.1.3): bound sockets with bounded receive queues of
// packet references (the payload is copied once, when the application reads),
// a data-ready callback and a poll-style readability check. Port unreachable
// goes back through IP for datagrams nobody is bound to.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "core/alloc.h"
#include "core/buffer_pool.h"
#include "core/counters.h"
#include "core/layers.h"
#include "core/owner_map.h"
#include "core/trace.h"
#include "core/tunables.h"
#include "ip/ipv4_layer.h"

namespace inlet::udp {

struct UdpEndpoint {
  wire::Ipv4Address address;
  uint16_t port = 0;
};

// What recv() reports about one datagram.
struct UdpDatagramInfo {
  UdpEndpoint from;
  UdpEndpoint to;
  size_t length = 0;     // the datagram's full payload length
  size_t copied = 0;     // bytes written to the caller's buffer (<= length: MSG_TRUNC)
};

class UdpLayer;

class UdpSocket {
 public:
  // Copies the oldest datagram into `buf` (truncating, as recv without
  // MSG_TRUNC would) and releases it; nullopt when the queue is empty.
  std::optional<UdpDatagramInfo> recv(std::span<uint8_t> buf);
  // poll(POLLIN): a datagram is waiting.
  bool readable() const { return count_ > 0; }
  size_t queued_datagrams() const { return count_; }
  size_t queued_bytes() const { return queued_truesize_; }
  size_t receive_buffer() const { return rcvbuf_; }
  const UdpEndpoint& local() const { return local_; }
  // sk_data_ready: called after each datagram is queued.
  void set_data_ready(absl::AnyInvocable<void(UdpSocket&)> cb) { data_ready_ = std::move(cb); }

  // Lifetime totals, for applications that report per-port figures.
  uint64_t received_datagrams() const { return received_datagrams_; }
  uint64_t received_bytes() const { return received_bytes_; }

 private:
  friend class UdpLayer;
  UdpSocket(UdpEndpoint local, size_t rcvbuf, size_t slots);
  bool enqueue(PacketRef& p);  // false when the receive buffer is full
  void clear();

  UdpEndpoint local_;
  size_t rcvbuf_;
  Vector<PacketRef> ring_;  // sized at bind: never grows
  size_t head_ = 0;
  size_t count_ = 0;
  size_t queued_truesize_ = 0;
  uint64_t received_datagrams_ = 0;
  uint64_t received_bytes_ = 0;
  absl::AnyInvocable<void(UdpSocket&)> data_ready_;
};

class UdpLayer final : public TransportReceiver {
 public:
  UdpLayer(const Tunables& tunables, BufferPool& pool, Counters& counters, const Trace& trace,
           ip::Ipv4Layer& ip);
  ~UdpLayer() override;

  // Binds `port` on `address` (0.0.0.0 = every local address). The receive
  // buffer defaults to net.core.rmem_default; datagrams are charged their
  // buffer's truesize, as Linux does. Errors: port 0, address or port in use.
  absl::StatusOr<UdpSocket*> bind(wire::Ipv4Address address, uint16_t port,
                                  size_t rcvbuf = 0);
  void close(UdpSocket* socket);

  void receive(PacketRef packet, const Ipv4Delivery& delivery) override;
  // Sends one datagram (copying `payload` into a pool buffer). False when the
  // pool is empty, it does not fit, or there is no route (all counted).
  bool send(const UdpEndpoint& from, const UdpEndpoint& to, std::span<const uint8_t> payload);

  // Returns every queued buffer to the pool.
  void shutdown();

 private:
  static uint64_t key(wire::Ipv4Address a, uint16_t port) {
    return (uint64_t{a.value()} << 16) | port;
  }
  void drop(PacketRef&& p, DropReason reason);

  const Tunables& tunables_;
  BufferPool& pool_;
  Counters& counters_;
  const Trace& trace_;
  ip::Ipv4Layer& ip_;
  OwnerMap<UdpSocket> sockets_;
};

}  // namespace inlet::udp
