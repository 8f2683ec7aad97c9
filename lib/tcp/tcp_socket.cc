// The application's side of a connection: copying and zero-copy reads, close.
#include "tcp/tcp_socket.h"

#include <algorithm>
#include <cstring>

#include "tcp/tcp_layer.h"

namespace inlet::tcp {

size_t TcpSocket::read(std::span<uint8_t> buf) {
  size_t copied = 0, freed = 0;
  while (copied < buf.size() && !rcv_queue_.empty()) {
    Packet* p = rcv_queue_.front();
    const size_t n = std::min<size_t>(buf.size() - copied, p->length());
    std::memcpy(buf.data() + copied, p->data_ptr(), n);  // the one copy
    copied += n;
    if (n == p->length()) {
      freed += p->truesize;
      rcv_queue_.pop_front().reset();
    } else {
      p->pull(static_cast<uint32_t>(n));
      rcv_queue_.shrink_bytes(n);
    }
  }
  if (copied > 0) layer_->socket_read(*this, copied, freed);
  return copied;
}

std::optional<ZeroCopyChunk> TcpSocket::read_zerocopy() {
  if (rcv_queue_.empty()) return std::nullopt;
  PacketRef p = rcv_queue_.pop_front();
  const size_t n = p->length();
  const size_t truesize = p->truesize;
  ZeroCopyChunk c{p->bytes(), std::move(p)};
  layer_->socket_read(*this, n, truesize);
  return c;
}

void TcpSocket::shutdown_write() { layer_->socket_shutdown_write(*this); }

void TcpSocket::close() { layer_->socket_close(*this); }

}  // namespace inlet::tcp
