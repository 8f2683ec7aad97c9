#include "ports/af_packet/af_packet_port.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "wire/checksum.h"

namespace inlet::af_packet {

namespace {

// The block header the kernel writes (struct tpacket_block_desc), rounded as
// the kernel rounds it (BLK_HDR_LEN): frames start after it.
constexpr uint32_t kBlockHeaderLength = (sizeof(tpacket_block_desc) + 7u) & ~7u;
constexpr uint32_t kEthernetHeaderLength = 14;
constexpr uint32_t kVlanTagLength = 4;
constexpr uint64_t kMaxRingBytes = uint64_t{1} << 30;
constexpr uint32_t kMaxRetireTimeoutMs = 1000;

bool is_power_of_two(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

uint16_t load_be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
void store_be16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

// TP_STATUS_CSUMNOTREADY: the sender was local (a veth peer, a TAP with
// offload), its TCP/UDP checksum field holds only the pseudo-header sum
// (CHECKSUM_PARTIAL) and nobody will ever fill it in. The kernel trusts such
// frames; we finish the checksum instead, so a frame forwarded onwards leaves
// with a correct one. Only IPv4 TCP/UDP, unfragmented, as the kernel offloads.
bool finish_partial_checksum(Packet& p) {
  std::span<uint8_t> f = p.bytes();
  if (f.size() < kEthernetHeaderLength) return false;
  uint32_t off = kEthernetHeaderLength;
  uint16_t type = load_be16(f.data() + 12);
  if (type == 0x8100 || type == 0x88A8) {
    if (f.size() < kEthernetHeaderLength + kVlanTagLength) return false;
    type = load_be16(f.data() + 16);
    off += kVlanTagLength;
  }
  if (type != 0x0800 || f.size() < off + 20u) return false;
  uint8_t* ip = f.data() + off;
  const uint32_t ihl = (ip[0] & 0x0Fu) * 4u;
  const uint32_t total = load_be16(ip + 2);
  if ((ip[0] >> 4) != 4 || ihl < 20 || total < ihl || off + total > f.size()) return false;
  if ((load_be16(ip + 6) & 0x3FFFu) != 0) return false;  // MF or a fragment offset
  uint32_t field = 0;
  uint32_t min_header = 0;
  if (ip[9] == 6) {
    field = 16;
    min_header = 20;
  } else if (ip[9] == 17) {
    field = 6;
    min_header = 8;
  } else {
    return false;
  }
  const uint32_t l4_length = total - ihl;
  if (l4_length < min_header) return false;
  uint8_t* l4 = ip + ihl;
  uint16_t sum = wire::internet_checksum(std::span<const uint8_t>(l4, l4_length));
  if (ip[9] == 17 && sum == 0) sum = 0xFFFF;  // RFC 768: zero means "none"
  store_be16(l4 + field, sum);
  return true;
}

void count(BufferPool& pool, Counter c) {
  if (Counters* counters = pool.counters()) counters->add(c);
}

}  // namespace

absl::StatusOr<RingGeometry> compute_ring_geometry(const AfPacketConfig& c, uint32_t page_size) {
  if (!is_power_of_two(page_size)) {
    return absl::InvalidArgumentError(
        absl::StrCat("page size ", page_size, " is not a power of two"));
  }
  if (c.block_size == 0 || c.block_size % page_size != 0) {
    return absl::InvalidArgumentError(absl::StrCat("tp_block_size ", c.block_size,
                                                   " must be a non-zero multiple of the page size ",
                                                   page_size));
  }
  if (!is_power_of_two(c.block_size)) {
    return absl::InvalidArgumentError(
        absl::StrCat("tp_block_size ", c.block_size,
                     " must be a power of two (the kernel allocates each block as 2^order pages)"));
  }
  const uint32_t min_frame = static_cast<uint32_t>(TPACKET3_HDRLEN) + kEthernetHeaderLength;
  if (c.frame_size < min_frame || c.frame_size % TPACKET_ALIGNMENT != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("tp_frame_size ", c.frame_size, " must be a multiple of ", TPACKET_ALIGNMENT,
                     " and at least ", min_frame, " (TPACKET3_HDRLEN + an Ethernet header)"));
  }
  if (c.frame_size > c.block_size - kBlockHeaderLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("tp_frame_size ", c.frame_size, " does not fit a block of ", c.block_size,
                     " bytes after its ", kBlockHeaderLength, "-byte header"));
  }
  if (c.block_count == 0) {
    return absl::InvalidArgumentError("tp_block_nr must be at least 1");
  }
  const uint64_t ring_bytes = uint64_t{c.block_size} * c.block_count;
  if (ring_bytes > kMaxRingBytes) {
    return absl::InvalidArgumentError(absl::StrCat("ring of ", c.block_count, " x ", c.block_size,
                                                   " bytes exceeds the 1 GiB limit"));
  }
  if (c.retire_timeout_ms > kMaxRetireTimeoutMs) {
    return absl::InvalidArgumentError(absl::StrCat("tp_retire_blk_tov ", c.retire_timeout_ms,
                                                   " ms is above ", kMaxRetireTimeoutMs, " ms"));
  }
  RingGeometry g;
  g.block_size = c.block_size;
  g.block_count = c.block_count;
  g.frame_size = c.frame_size;
  g.frames_per_block = c.block_size / c.frame_size;
  g.frame_count = g.frames_per_block * c.block_count;  // < 2^30 / 80: no overflow
  g.ring_bytes = ring_bytes;
  g.max_frame_len = c.block_size - kBlockHeaderLength;
  return g;
}

std::string format_stats(std::string_view ifname, const AfPacketStats& s) {
  return absl::StrFormat(
      "af_packet %s: rx_frames=%u rx_bytes=%u rx_blocks=%u rx_nobuf=%u rx_truncated=%u "
      "rx_oversize=%u rx_malformed=%u rx_csum_valid=%u rx_csum_completed=%u "
      "rx_csum_unfinished=%u rx_vlan_restored=%u rx_losing_blocks=%u rx_kernel_packets=%u "
      "rx_kernel_drops=%u rx_kernel_freezes=%u tx_frames=%u tx_bytes=%u tx_batches=%u "
      "tx_errors=%u tx_busy=%u",
      std::string(ifname), s.rx_frames, s.rx_bytes, s.rx_blocks, s.rx_nobuf, s.rx_truncated,
      s.rx_oversize, s.rx_malformed, s.rx_csum_valid, s.rx_csum_completed, s.rx_csum_unfinished,
      s.rx_vlan_restored, s.rx_losing_blocks, s.rx_kernel_packets, s.rx_kernel_drops,
      s.rx_kernel_freezes, s.tx_frames, s.tx_bytes, s.tx_batches, s.tx_errors, s.tx_busy);
}

// ------------------------------------------------------------ Tpacket3Ring

bool Tpacket3Ring::pending() const {
  if (base_ == nullptr) return false;
  if (in_block_) return true;
  auto* bd = reinterpret_cast<tpacket_block_desc*>(block_at(block_));
  return (__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) != 0;
}

void Tpacket3Ring::release_block(AfPacketStats& stats) {
  auto* bd = reinterpret_cast<tpacket_block_desc*>(block_at(block_));
  // Every frame has been copied out: the kernel may write the block again.
  __atomic_store_n(&bd->hdr.bh1.block_status, static_cast<uint32_t>(TP_STATUS_KERNEL),
                   __ATOMIC_RELEASE);
  ++stats.rx_blocks;
  block_ = (block_ + 1) % block_count_;
  in_block_ = false;
  frames_left_ = 0;
  frame_offset_ = 0;
}

Tpacket3Ring::Take Tpacket3Ring::take_frame(const uint8_t* hdr_bytes, BufferPool& pool,
                                            AfPacketStats& stats, PacketRef& out) {
  const auto* h = reinterpret_cast<const tpacket3_hdr*>(hdr_bytes);
  const uint32_t status = h->tp_status;
  const uint32_t snaplen = h->tp_snaplen;
  if (snaplen < h->tp_len) {
    // A GRO/GSO super-frame longer than a block's room: what is left is not
    // the frame the peer sent.
    ++stats.rx_truncated;
    count(pool, Counter::rx_length_errors);
    return Take::kDropped;
  }
  const bool vlan = (status & TP_STATUS_VLAN_VALID) != 0;
  if (snaplen < kEthernetHeaderLength) {
    ++stats.rx_malformed;
    count(pool, Counter::rx_length_errors);
    return Take::kDropped;
  }
  PacketRef p = pool.alloc();
  if (!p) {
    ++stats.rx_nobuf;
    count(pool, Counter::rx_nobuf);
    return Take::kNoBuffer;
  }
  const uint32_t length = snaplen + (vlan ? kVlanTagLength : 0);
  if (length > p->tailroom()) {
    ++stats.rx_oversize;
    count(pool, Counter::rx_length_errors);
    return Take::kDropped;  // `p` goes back to the pool unused
  }
  const uint8_t* frame = hdr_bytes + h->tp_mac;
  uint8_t* dst = p->put(length);
  if (vlan) {
    // The kernel took the 802.1Q tag out (skb_vlan_untag) and left it in the
    // header: put it back between the MACs and the EtherType, so the link
    // layer demultiplexes sub-interfaces as on any other port. Still one copy.
    const uint16_t tpid = (status & TP_STATUS_VLAN_TPID_VALID) != 0 && h->hv1.tp_vlan_tpid != 0
                              ? h->hv1.tp_vlan_tpid
                              : static_cast<uint16_t>(ETH_P_8021Q);
    std::memcpy(dst, frame, 12);
    store_be16(dst + 12, tpid);
    store_be16(dst + 14, static_cast<uint16_t>(h->hv1.tp_vlan_tci));
    std::memcpy(dst + 16, frame + 12, snaplen - 12);
    ++stats.rx_vlan_restored;
  } else {
    std::memcpy(dst, frame, snaplen);
  }
  p->flow_hash = h->hv1.tp_rxhash;
  if ((status & TP_STATUS_CSUM_VALID) != 0) {
    p->csum = ChecksumState::kUnnecessary;
    ++stats.rx_csum_valid;
  } else if ((status & TP_STATUS_CSUMNOTREADY) != 0) {
    if (finish_partial_checksum(*p)) {
      p->csum = ChecksumState::kUnnecessary;
      ++stats.rx_csum_completed;
    } else {
      ++stats.rx_csum_unfinished;  // left to the stack's own check
    }
  }
  ++stats.rx_frames;
  stats.rx_bytes += length;
  out = std::move(p);
  return Take::kDelivered;
}

size_t Tpacket3Ring::receive(std::span<PacketRef> out, BufferPool& pool, AfPacketStats& stats) {
  if (base_ == nullptr) return 0;
  size_t n = 0;
  while (n < out.size()) {
    uint8_t* block = block_at(block_);
    auto* bd = reinterpret_cast<tpacket_block_desc*>(block);
    if (!in_block_) {
      const uint32_t st = __atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE);
      if ((st & TP_STATUS_USER) == 0) break;
      if ((st & TP_STATUS_LOSING) != 0) ++stats.rx_losing_blocks;
      in_block_ = true;
      frames_left_ = bd->hdr.bh1.num_pkts;
      frame_offset_ = bd->hdr.bh1.offset_to_first_pkt;
    }
    if (frames_left_ == 0) {
      release_block(stats);
      continue;
    }
    // The kernel's word is trusted for data, not for bounds: a header that
    // points outside its block ends the block (counted), it is never followed.
    if (frame_offset_ < kBlockHeaderLength || frame_offset_ % 4 != 0 ||
        frame_offset_ > block_size_ - sizeof(tpacket3_hdr)) {
      ++stats.rx_malformed;
      release_block(stats);
      continue;
    }
    const uint8_t* hdr = block + frame_offset_;
    const auto* h = reinterpret_cast<const tpacket3_hdr*>(hdr);
    const uint64_t frame_end = uint64_t{frame_offset_} + h->tp_mac + h->tp_snaplen;
    if (h->tp_mac < sizeof(tpacket3_hdr) || frame_end > block_size_) {
      ++stats.rx_malformed;
      release_block(stats);
      continue;
    }
    const Take t = take_frame(hdr, pool, stats, out[n]);
    if (t == Take::kNoBuffer) break;  // resume at this very frame next poll
    if (t == Take::kDelivered) ++n;
    --frames_left_;
    const uint32_t next = h->tp_next_offset;
    if (frames_left_ == 0) {
      release_block(stats);
    } else if (next == 0 || next > block_size_ - frame_offset_) {
      ++stats.rx_malformed;
      release_block(stats);
    } else {
      frame_offset_ += next;
    }
  }
  return n;
}

// ------------------------------------------------------------ AfPacketPort

absl::StatusOr<std::unique_ptr<AfPacketPort>> AfPacketPort::open(const AfPacketConfig& config) {
  const std::string& ifname = config.ifname;
  if (ifname.empty() || ifname.size() >= IFNAMSIZ) {
    return absl::InvalidArgumentError(absl::StrCat("bad interface name '", ifname, "'"));
  }
  const long page = sysconf(_SC_PAGESIZE);
  absl::StatusOr<RingGeometry> geometry =
      compute_ring_geometry(config, page > 0 ? static_cast<uint32_t>(page) : 4096u);
  if (!geometry.ok()) return geometry.status();
  const unsigned index = if_nametoindex(ifname.c_str());
  if (index == 0) {
    return absl::NotFoundError(
        absl::StrCat("no interface named '", ifname, "' in this network namespace"));
  }

  std::unique_ptr<AfPacketPort> port(new AfPacketPort());
  port->ifname_ = ifname;
  port->ifindex_ = static_cast<int>(index);
  port->geometry_ = *geometry;
  // Protocol 0: nothing is queued to the socket until bind() names ETH_P_ALL,
  // after the ring exists.
  port->fd_ = ::socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (port->fd_ < 0) {
    const int err = errno;
    if (err == EPERM || err == EACCES) {
      return absl::PermissionDeniedError(absl::StrCat("socket(AF_PACKET): ", strerror(err),
                                                      " (an AF_PACKET port needs CAP_NET_RAW)"));
    }
    return absl::UnavailableError(absl::StrCat("socket(AF_PACKET): ", strerror(err)));
  }
  const int fd = port->fd_;
  auto fail = [&](absl::StatusCode code, const std::string& what) {
    return absl::Status(code, absl::StrCat(what, " on ", ifname, ": ", strerror(errno)));
  };

  ifreq ifr{};
  std::memcpy(ifr.ifr_name, ifname.data(), ifname.size());
  if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
    return fail(absl::StatusCode::kUnavailable, "SIOCGIFHWADDR");
  const auto hw_type = ifr.ifr_hwaddr.sa_family;
  if (hw_type != ARPHRD_ETHER && hw_type != ARPHRD_LOOPBACK) {
    return absl::FailedPreconditionError(
        absl::StrCat("interface ", ifname, " is not Ethernet (ARPHRD type ", hw_type, ")"));
  }
  const wire::MacAddress hw_mac =
      wire::MacAddress::load(reinterpret_cast<const uint8_t*>(ifr.ifr_hwaddr.sa_data));
  port->mac_ = config.mac.is_zero() ? hw_mac : config.mac;
  if (ioctl(fd, SIOCGIFMTU, &ifr) < 0) return fail(absl::StatusCode::kUnavailable, "SIOCGIFMTU");
  port->mtu_ = static_cast<uint32_t>(ifr.ifr_mtu);

  int version = TPACKET_V3;
  if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &version, sizeof(version)) < 0) {
    return fail(absl::StatusCode::kUnavailable, "PACKET_VERSION TPACKET_V3");
  }
  tpacket_req3 req{};
  req.tp_block_size = geometry->block_size;
  req.tp_block_nr = geometry->block_count;
  req.tp_frame_size = geometry->frame_size;
  req.tp_frame_nr = geometry->frame_count;
  req.tp_retire_blk_tov = config.retire_timeout_ms;
  req.tp_sizeof_priv = 0;
  req.tp_feature_req_word = TP_FT_REQ_FILL_RXHASH;
  if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) < 0) {
    return fail(absl::StatusCode::kResourceExhausted,
                absl::StrFormat("PACKET_RX_RING (%u blocks x %u bytes)", req.tp_block_nr,
                                req.tp_block_size));
  }
  void* map =
      mmap(nullptr, geometry->ring_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  if (map == MAP_FAILED) return fail(absl::StatusCode::kResourceExhausted, "mmap of the RX ring");
  port->map_ = map;
  port->map_len_ = geometry->ring_bytes;
  port->ring_ =
      Tpacket3Ring(static_cast<uint8_t*>(map), geometry->block_size, geometry->block_count);

  // Our own transmissions are not received back (Linux 4.20+).
  int one = 1;
  if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) < 0) {
    return fail(absl::StatusCode::kUnavailable, "PACKET_IGNORE_OUTGOING (needs Linux 4.20)");
  }
  if (config.qdisc_bypass &&
      setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) < 0) {
    return fail(absl::StatusCode::kUnavailable, "PACKET_QDISC_BYPASS");
  }
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = port->ifindex_;
  if (bind(fd, reinterpret_cast<const sockaddr*>(&sll), sizeof(sll)) < 0) {
    return fail(absl::StatusCode::kUnavailable, "bind");
  }
  if (config.promiscuous || port->mac_ != hw_mac) {
    packet_mreq mr{};
    mr.mr_ifindex = port->ifindex_;
    mr.mr_type = PACKET_MR_PROMISC;
    if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0) {
      return fail(absl::StatusCode::kUnavailable, "PACKET_ADD_MEMBERSHIP PACKET_MR_PROMISC");
    }
  }
  if (config.fanout_group) {
    const int arg = static_cast<int>(*config.fanout_group) | (PACKET_FANOUT_HASH << 16);
    if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg)) < 0) {
      return fail(absl::StatusCode::kUnavailable,
                  absl::StrCat("PACKET_FANOUT group ", *config.fanout_group));
    }
  }
  return port;
}

AfPacketPort::~AfPacketPort() {
  if (map_ != nullptr) munmap(map_, map_len_);
  if (fd_ >= 0) close(fd_);
}

void AfPacketPort::detach() {
  refresh_kernel_stats();
  pool_ = nullptr;
}

void AfPacketPort::refresh_kernel_stats() {
  if (fd_ < 0) return;
  tpacket_stats_v3 st{};
  socklen_t len = sizeof(st);
  if (getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &st, &len) < 0) return;
  stats_.rx_kernel_packets += st.tp_packets;
  stats_.rx_kernel_drops += st.tp_drops;
  stats_.rx_kernel_freezes += st.tp_freeze_q_cnt;
  if (pool_ != nullptr && st.tp_drops != 0) {
    if (Counters* c = pool_->counters()) c->add(Counter::rx_dropped, st.tp_drops);
  }
}

size_t AfPacketPort::rx_burst(std::span<PacketRef> out) {
  if (pool_ == nullptr) return 0;
  const uint64_t losing = stats_.rx_losing_blocks;
  const size_t n = ring_.receive(out, *pool_, stats_);
  if (stats_.rx_losing_blocks != losing) refresh_kernel_stats();
  return n;
}

size_t AfPacketPort::tx_burst(std::span<PacketRef> frames) {
  size_t done = 0;
  while (done < frames.size()) {
    // One sendmmsg for up to kTxBatch frames, each gathered from its chain.
    size_t batch = 0;
    bool too_long = false;
    for (; batch < std::min(kTxBatch, frames.size() - done); ++batch) {
      iovec* iov = &tx_iov_[batch * kTxIovPerFrame];
      size_t pieces = 0;
      const Packet* q = frames[done + batch].get();
      for (; q != nullptr && pieces < kTxIovPerFrame; q = q->chain) {
        iov[pieces].iov_base = const_cast<uint8_t*>(q->data_ptr());
        iov[pieces].iov_len = q->length();
        ++pieces;
      }
      if (q != nullptr) {
        too_long = true;
        break;
      }
      tx_msgs_[batch] = mmsghdr{};
      tx_msgs_[batch].msg_hdr.msg_iov = iov;
      tx_msgs_[batch].msg_hdr.msg_iovlen = pieces;
    }
    if (batch == 0 && too_long) {
      // More pieces than a frame may gather: refused, as a driver would.
      ++stats_.tx_errors;
      if (pool_ != nullptr) count(*pool_, Counter::tx_dropped);
      frames[done++].reset();
      continue;
    }
    const int sent = sendmmsg(fd_, tx_msgs_.data(), static_cast<unsigned>(batch), MSG_DONTWAIT);
    if (sent < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        ++stats_.tx_busy;  // the socket's send buffer is full: the stack keeps the frames
        break;
      }
      // The first frame of the batch was refused (ENOBUFS: the qdisc dropped
      // it; EMSGSIZE; ENETDOWN): it is gone, the rest go on.
      ++stats_.tx_errors;
      if (pool_ != nullptr) count(*pool_, Counter::tx_dropped);
      frames[done++].reset();
      continue;
    }
    ++stats_.tx_batches;
    for (int k = 0; k < sent; ++k) {
      ++stats_.tx_frames;
      stats_.tx_bytes += tx_msgs_[k].msg_len;
      frames[done + k].reset();
    }
    done += static_cast<size_t>(sent);
    // A short count: the next call reports the error of the frame at `done`.
  }
  return done;
}

}  // namespace inlet::af_packet
