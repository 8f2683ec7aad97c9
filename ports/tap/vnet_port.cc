#include "ports/tap/vnet_port.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <bit>

#include "absl/strings/str_cat.h"
#include "wire/bytes.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"
#include "wire/vlan.h"

namespace inlet::tap {
namespace {

// struct virtio_net_hdr and its constants (linux/virtio_net.h, which does not
// compile as C++: it has a member named `class`).
struct virtio_net_hdr {
  uint8_t flags;
  uint8_t gso_type;
  uint16_t hdr_len;
  uint16_t gso_size;
  uint16_t csum_start;
  uint16_t csum_offset;
};
static_assert(sizeof(virtio_net_hdr) == 10);
constexpr uint8_t VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
constexpr uint8_t VIRTIO_NET_HDR_F_DATA_VALID = 2;
constexpr uint8_t VIRTIO_NET_HDR_GSO_NONE = 0;
constexpr uint8_t VIRTIO_NET_HDR_GSO_TCPV4 = 1;
constexpr uint8_t VIRTIO_NET_HDR_GSO_ECN = 0x80;

// The header's fields are little-endian (TUNSETVNETLE on big-endian hosts).
uint16_t le16(uint16_t v) {
  return std::endian::native == std::endian::little ? v : wire::byteswap16(v);
}

// Where a frame's TCP payload starts (Ethernet, one optional 802.1Q tag,
// IPv4, TCP, options included), read with the checked wire views from its
// first buffer; 0 when the headers are not all there (the stack then drops
// the frame, counted).
uint32_t tcp_payload_offset(const Packet& p) {
  auto eth = wire::EthernetView::parse(p.bytes());
  if (!eth) return 0;
  uint16_t type = eth->ethertype();
  std::span<const uint8_t> l3 = eth->payload();
  if (type == wire::ethertype::kVlan) {
    auto tag = wire::VlanView::parse(l3);
    if (!tag) return 0;
    type = tag->ethertype();
    l3 = tag->payload();
  }
  if (type != wire::ethertype::kIpv4) return 0;
  const uint32_t l3_at = p.length() - static_cast<uint32_t>(l3.size());
  auto ip = wire::Ipv4View::parse_head(l3, p.frame_length() - l3_at, wire::ChecksumMode::kSkip);
  if (!ip) return 0;
  auto tcp = wire::TcpView::parse(l3.subspan(ip->header_length()));
  if (!tcp) return 0;
  return l3_at + static_cast<uint32_t>(ip->header_length() + tcp->header_length());
}

}  // namespace

absl::StatusOr<std::unique_ptr<VnetTapPort>> VnetTapPort::open(const std::string& ifname,
                                                               VnetTapConfig config) {
  absl::StatusOr<int> opened = open_tap_fd(ifname, config.multi_queue, /*bring_up=*/false, IFF_VNET_HDR);
  if (!opened.ok()) return opened.status();
  const int fd = *opened;
  auto fail = [&](const char* what) {
    const int err = errno;
    close(fd);
    return absl::UnavailableError(absl::StrCat(what, " ", ifname, ": ", strerror(err)));
  };
  int hdr_size = sizeof(virtio_net_hdr);
  if (ioctl(fd, TUNSETVNETHDRSZ, &hdr_size) < 0) return fail("TUNSETVNETHDRSZ");
  // The header's fields are little-endian on every host (a legacy TAP uses
  // the host's order otherwise: big-endian hosts need this).
  int little_endian = 1;
  if (std::endian::native != std::endian::little && ioctl(fd, TUNSETVNETLE, &little_endian) < 0) {
    return fail("TUNSETVNETLE");
  }
  if (!config.csum) config.tso = false;  // TSO needs checksum offload
  // TUN_F_CSUM: the kernel may send frames whose checksum it left to us
  // (CHECKSUM_PARTIAL). TSO_ECN: TSO frames with CWR set.
  unsigned offload = config.csum ? TUN_F_CSUM : 0u;
  if (config.tso) offload |= TUN_F_TSO4 | TUN_F_TSO_ECN;
  if (ioctl(fd, TUNSETOFFLOAD, offload) < 0) return fail("TUNSETOFFLOAD");
  // Up only once the offloads are set: no frame is queued before the kernel
  // knows the header and what it may hand over.
  if (config.bring_up) set_tap_up(ifname);
  return std::unique_ptr<VnetTapPort>(new VnetTapPort(fd, ifname, config));
}

absl::StatusOr<std::vector<std::unique_ptr<VnetTapPort>>> VnetTapPort::open_queues(
    const std::string& ifname, int queues, VnetTapConfig config) {
  if (queues < 1) return absl::InvalidArgumentError("a TAP needs at least one queue");
  config.multi_queue = queues > 1;
  std::vector<std::unique_ptr<VnetTapPort>> ports;
  for (int i = 0; i < queues; ++i) {
    auto port = open(ifname, config);
    if (!port.ok()) return port.status();
    ports.push_back(std::move(*port));
  }
  return ports;
}

VnetTapPort::~VnetTapPort() {
  detach();
  if (fd_ >= 0) {
    // The offloads belong to the device and outlive this fd: a later reader
    // without the header must not get partial checksums or TSO frames.
    ioctl(fd_, TUNSETOFFLOAD, 0u);
    close(fd_);
  }
}

std::string VnetTapPort::mode() const {
  return config_.tso ? "vnet tso csum" : config_.csum ? "vnet csum" : "vnet";
}

void VnetTapPort::attach(BufferPool& pool) {
  pool_ = &pool;
  buffer_capacity_ = pool.buffer_size() - pool.headroom();
  size_t slots = (kMaxFrame + buffer_capacity_ - 1) / buffer_capacity_;
  if (slots > kMaxScatter && config_.tso) {
    // Buffers too small for a 64 KiB frame in kMaxScatter pieces: no TSO
    // then (frames stay within the MTU, one buffer each).
    config_.tso = false;
    ioctl(fd_, TUNSETOFFLOAD, config_.csum ? TUN_F_CSUM : 0u);
  }
  if (!config_.tso) slots = 1;
  reserve_ = Vector<Packet*>(std::min(slots, kMaxScatter), nullptr);
  refill();
}

void VnetTapPort::detach() {
  for (Packet*& p : reserve_) {
    if (p != nullptr) PacketRef(std::exchange(p, nullptr)).reset();
  }
  pool_ = nullptr;
}

bool VnetTapPort::refill() {
  for (Packet*& p : reserve_) {
    if (p != nullptr) continue;
    PacketRef fresh = pool_->alloc();
    if (!fresh) return false;
    p = fresh.release();
  }
  return true;
}

bool VnetTapPort::rx_pending() const {
  pollfd p{fd_, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

size_t VnetTapPort::rx_burst(std::span<PacketRef> out) {
  if (pool_ == nullptr || reserve_.empty()) return 0;
  size_t n = 0;
  while (n < out.size()) {
    // A read needs every slot: a 64 KiB frame may come next. Without them
    // the frame stays in the kernel's queue (the kernel drops when it fills).
    if (!refill()) {
      ++stats_.rx_nobuf;
      if (Counters* c = pool_->counters()) c->add(Counter::rx_nobuf);
      break;
    }
    virtio_net_hdr hdr{};
    iovec iov[kMaxScatter + 1];
    iov[0] = {&hdr, sizeof hdr};
    const size_t slots = reserve_.size();
    for (size_t i = 0; i < slots; ++i) {
      Packet* p = reserve_[i];
      iov[i + 1] = {p->data_ptr(), buffer_capacity_};
    }
    const ssize_t got = ::readv(fd_, iov, static_cast<int>(slots + 1));
    if (got < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) ++stats_.rx_errors;
      break;
    }
    if (got <= static_cast<ssize_t>(sizeof hdr)) {
      ++stats_.rx_errors;  // a frame without a body
      continue;
    }
    uint32_t left = static_cast<uint32_t>(got - static_cast<ssize_t>(sizeof hdr));
    // Take the slots the frame filled, in order, as one chain.
    PacketRef head;
    Packet* last = nullptr;
    for (size_t i = 0; i < slots && left > 0; ++i) {
      Packet* p = std::exchange(reserve_[i], nullptr);
      const uint32_t take = std::min(left, buffer_capacity_);
      p->tail = p->data + take;
      left -= take;
      if (last == nullptr) {
        head = PacketRef(p);
      } else {
        last->chain = p;
      }
      last = p;
    }
    const uint8_t gso = hdr.gso_type & static_cast<uint8_t>(~VIRTIO_NET_HDR_GSO_ECN);
    if (gso != VIRTIO_NET_HDR_GSO_NONE && gso != VIRTIO_NET_HDR_GSO_TCPV4) {
      ++stats_.rx_errors;  // not offered (no UFO, no IPv6): dropped here
      continue;
    }
    if (hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
      head->csum = ChecksumState::kPartial;
      ++stats_.rx_csum_partial;
    } else if (hdr.flags & VIRTIO_NET_HDR_F_DATA_VALID) {
      head->csum = ChecksumState::kUnnecessary;
      ++stats_.rx_csum_valid;
    }
    if (gso == VIRTIO_NET_HDR_GSO_TCPV4 && le16(hdr.gso_size) > 0) {
      const uint16_t mss = le16(hdr.gso_size);
      const uint32_t payload_at = tcp_payload_offset(*head);
      const uint32_t payload = payload_at > 0 ? head->frame_length() - payload_at : 0;
      head->gso_size = mss;
      head->gso_segs = static_cast<uint16_t>(std::max<uint32_t>((payload + mss - 1) / mss, 1));
      ++stats_.rx_superframes;
      stats_.rx_segments += head->gso_segs;
    } else if (head->chain != nullptr) {
      ++stats_.rx_errors;  // larger than a slab without GSO: beyond any MTU we take
      continue;
    }
    ++stats_.rx_frames;
    out[n++] = std::move(head);
  }
  return n;
}

size_t VnetTapPort::tx_burst(std::span<PacketRef> frames) {
  // inlet computes every checksum it sends: the kernel need not check them.
  virtio_net_hdr hdr{};
  hdr.flags = VIRTIO_NET_HDR_F_DATA_VALID;
  size_t n = 0;
  for (; n < frames.size(); ++n) {
    const TapWrite w = write_tap_frame(fd_, *frames[n], &hdr, sizeof hdr);
    if (w == TapWrite::kBusy) {
      ++stats_.tx_busy;
      break;
    }
    ++(w == TapWrite::kSent ? stats_.tx_frames : stats_.tx_errors);
    frames[n].reset();
  }
  return n;
}

}  // namespace inlet::tap
