// AfPacketPort: geometry rules, open() errors that need no privileges, the
// TPACKET_V3 ring walk over a ring written by the test, and (as root, in a
// private network namespace) a real ring on loopback.
#include "ports/af_packet/af_packet_port.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "core/buffer_pool.h"
#include "ports/sim/sim_peer.h"
#include "private_netns.h"
#include "wire/checksum.h"

namespace inlet::af_packet {
namespace {

constexpr uint32_t kPage = 4096;

bool contains(const absl::Status& s, const std::string& text) {
  return std::string(s.message()).find(text) != std::string::npos;
}

TEST_CASE("af_packet: default ring geometry") {
  auto g = compute_ring_geometry(AfPacketConfig{}, kPage);
  REQUIRE(g.ok());
  CHECK(g->block_size == 256u * 1024u);
  CHECK(g->block_count == 64u);
  CHECK(g->frames_per_block == 128u);
  CHECK(g->frame_count == 64u * 128u);
  CHECK(g->ring_bytes == 16u * 1024u * 1024u);
  CHECK(g->max_frame_len == 256u * 1024u - 48u);
}

TEST_CASE("af_packet: ring geometry rules name the field") {
  AfPacketConfig c;
  c.block_size = 6000;
  auto g = compute_ring_geometry(c, kPage);
  CHECK(g.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(contains(g.status(), "tp_block_size 6000"));

  c.block_size = 3 * kPage;  // page-aligned but not a power of two
  CHECK(contains(compute_ring_geometry(c, kPage).status(), "power of two"));

  c = AfPacketConfig{};
  c.frame_size = 2040;  // not a multiple of TPACKET_ALIGNMENT
  CHECK(contains(compute_ring_geometry(c, kPage).status(), "tp_frame_size 2040"));
  c.frame_size = 32;  // below TPACKET3_HDRLEN + Ethernet
  CHECK(contains(compute_ring_geometry(c, kPage).status(), "tp_frame_size 32"));
  c.block_size = kPage;
  c.frame_size = kPage;  // no room left for the block header
  CHECK(contains(compute_ring_geometry(c, kPage).status(), "does not fit a block"));

  c = AfPacketConfig{};
  c.block_count = 0;
  CHECK(contains(compute_ring_geometry(c, kPage).status(), "tp_block_nr"));
  c.block_count = 8192;  // 2 GiB of 256 KiB blocks
  CHECK(contains(compute_ring_geometry(c, kPage).status(), "1 GiB"));

  c = AfPacketConfig{};
  c.retire_timeout_ms = 5000;
  CHECK(contains(compute_ring_geometry(c, kPage).status(), "tp_retire_blk_tov"));

  c = AfPacketConfig{};
  c.block_size = 1 << 16;
  c.frame_size = 1 << 11;
  auto small = compute_ring_geometry(c, 1 << 16);  // 64 KiB pages (arm64, ppc64)
  REQUIRE(small.ok());
  CHECK(small->frames_per_block == 32u);
  CHECK_FALSE(compute_ring_geometry(c, 3000).ok());
}

TEST_CASE("af_packet: open() errors before any privilege is needed") {
  AfPacketConfig c;
  c.ifname = "inletnosuch0";
  auto missing = AfPacketPort::open(c);
  CHECK(missing.status().code() == absl::StatusCode::kNotFound);
  CHECK(contains(missing.status(), "no interface named 'inletnosuch0'"));

  c.ifname = "";
  CHECK(AfPacketPort::open(c).status().code() == absl::StatusCode::kInvalidArgument);
  c.ifname = "a-name-longer-than-ifnamsiz";
  CHECK(AfPacketPort::open(c).status().code() == absl::StatusCode::kInvalidArgument);

  c.ifname = "lo";
  c.block_size = 5000;  // geometry is checked before the socket is made
  auto bad = AfPacketPort::open(c);
  CHECK(bad.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(contains(bad.status(), "tp_block_size"));
}

TEST_CASE("af_packet: without CAP_NET_RAW open() says so") {
  // As root, a child drops to nobody (which clears the effective
  // capabilities) and reports what open() said; otherwise this process asks.
  auto code_without_privilege = []() {
    AfPacketConfig c;
    c.ifname = "lo";
    c.block_count = 2;
    auto r = AfPacketPort::open(c);
    if (r.ok()) return 0;  // the process still had CAP_NET_RAW
    if (r.status().code() == absl::StatusCode::kPermissionDenied &&
        contains(r.status(), "CAP_NET_RAW")) {
      return 1;
    }
    return 2;
  };
  if (geteuid() == 0) {
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0) _exit(3);
      _exit(code_without_privilege());
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 1);
  } else {
    const int code = code_without_privilege();
    CHECK(code != 2);  // 0: this user has CAP_NET_RAW after all
  }
}

// ---------------------------------------------------------------- the ring

// A TPACKET_V3 ring laid out as the kernel lays it out, written by the test.
class FakeRing {
 public:
  static constexpr uint32_t kBlockSize = 8192;
  static constexpr uint32_t kFirstFrame = 48;  // BLK_HDR_LEN
  static constexpr uint32_t kMacOffset = 80;   // after tpacket3_hdr + sockaddr_ll, aligned

  explicit FakeRing(uint32_t blocks)
      : blocks_(blocks),
        memory_(blocks * kBlockSize / 8),
        next_(blocks, kFirstFrame),
        last_(blocks, 0) {}
  uint8_t* base() { return reinterpret_cast<uint8_t*>(memory_.data()); }
  tpacket_block_desc* desc(uint32_t b) {
    return reinterpret_cast<tpacket_block_desc*>(base() + b * kBlockSize);
  }
  tpacket3_hdr* add(uint32_t b, const std::vector<uint8_t>& frame, uint32_t status,
                    uint32_t wire_len = 0) {
    uint8_t* block = base() + b * kBlockSize;
    auto* h = reinterpret_cast<tpacket3_hdr*>(block + next_[b]);
    std::memset(h, 0, sizeof(*h));
    h->tp_status = status;
    h->tp_snaplen = static_cast<uint32_t>(frame.size());
    h->tp_len = wire_len != 0 ? wire_len : static_cast<uint32_t>(frame.size());
    h->tp_mac = kMacOffset;
    h->hv1.tp_rxhash = 0xABCD0000u + desc(b)->hdr.bh1.num_pkts;
    std::memcpy(block + next_[b] + kMacOffset, frame.data(), frame.size());
    if (last_[b] != 0) {
      reinterpret_cast<tpacket3_hdr*>(block + last_[b])->tp_next_offset = next_[b] - last_[b];
    }
    last_[b] = next_[b];
    next_[b] += (kMacOffset + static_cast<uint32_t>(frame.size()) + 15u) & ~15u;
    desc(b)->hdr.bh1.num_pkts += 1;
    desc(b)->hdr.bh1.offset_to_first_pkt = kFirstFrame;
    return h;
  }
  void hand_to_user(uint32_t b) { desc(b)->hdr.bh1.block_status = TP_STATUS_USER; }
  uint32_t status(uint32_t b) { return desc(b)->hdr.bh1.block_status; }
  Tpacket3Ring ring() { return Tpacket3Ring(base(), kBlockSize, blocks_); }

 private:
  uint32_t blocks_;
  std::vector<uint64_t> memory_;  // zeroed: every block starts as the kernel's
  std::vector<uint32_t> next_;
  std::vector<uint32_t> last_;
};

const wire::MacAddress kOurMac({0x02, 0, 0x5e, 0x10, 0, 1});
const wire::Ipv4Address kPeerIp(0xC0000202);  // 192.0.2.2
const wire::Ipv4Address kOurIp(0xC0000201);   // 192.0.2.1

std::vector<uint8_t> udp_frame(size_t payload) {
  const sim::SimPeer peer(wire::MacAddress({0x02, 0, 0, 0, 0, 2}), kPeerIp);
  std::vector<uint8_t> data(payload);
  for (size_t i = 0; i < payload; ++i) data[i] = static_cast<uint8_t>(i * 7);
  return peer.udp(kOurMac, kOurIp, 4000, 7000, data);
}

std::vector<uint8_t> bytes_of(const PacketRef& p) {
  return std::vector<uint8_t>(p->data_ptr(), p->data_ptr() + p->length());
}

TEST_CASE("af_packet: the ring walk honours the budget and hands blocks back") {
  BufferPool pool(BufferPoolConfig{.buffers = 16});
  FakeRing fake(2);
  const auto plain = udp_frame(32);
  fake.add(0, plain, TP_STATUS_USER | TP_STATUS_CSUM_VALID);
  fake.add(0, udp_frame(64), TP_STATUS_USER);
  fake.add(0, udp_frame(48), TP_STATUS_USER, 70000);  // a truncated super-frame
  fake.add(0, udp_frame(16), TP_STATUS_USER);
  Tpacket3Ring ring = fake.ring();
  AfPacketStats stats;
  std::vector<PacketRef> out(8);

  CHECK_FALSE(ring.pending());  // block 0 still the kernel's
  CHECK(ring.receive(out, pool, stats) == 0);
  fake.hand_to_user(0);
  CHECK(ring.pending());

  // A budget of one: one frame, the block stays ours.
  CHECK(ring.receive(std::span<PacketRef>(out.data(), 1), pool, stats) == 1);
  CHECK(bytes_of(out[0]) == plain);
  CHECK(out[0]->csum == ChecksumState::kUnnecessary);
  CHECK(out[0]->flow_hash == 0xABCD0000u);
  CHECK(fake.status(0) == static_cast<uint32_t>(TP_STATUS_USER));
  CHECK(stats.rx_blocks == 0);
  CHECK(ring.pending());

  // The rest of the block: resumes at the second frame, drops the truncated one.
  CHECK(ring.receive(std::span<PacketRef>(out.data() + 1, 7), pool, stats) == 2);
  CHECK(out[1]->length() == udp_frame(64).size());
  CHECK(out[1]->csum == ChecksumState::kNone);
  CHECK(out[2]->length() == udp_frame(16).size());
  CHECK(stats.rx_truncated == 1);
  CHECK(stats.rx_frames == 3);
  CHECK(stats.rx_csum_valid == 1);
  CHECK(fake.status(0) == static_cast<uint32_t>(TP_STATUS_KERNEL));
  CHECK(stats.rx_blocks == 1);
  CHECK(ring.current_block() == 1);
  CHECK_FALSE(ring.pending());

  for (auto& p : out) p.reset();
  CHECK(pool.in_use() == 0);
}

TEST_CASE("af_packet: a stripped 802.1Q tag is put back") {
  BufferPool pool(BufferPoolConfig{.buffers = 4});
  FakeRing fake(1);
  const auto plain = udp_frame(40);
  tpacket3_hdr* h =
      fake.add(0, plain, TP_STATUS_USER | TP_STATUS_VLAN_VALID | TP_STATUS_VLAN_TPID_VALID);
  h->hv1.tp_vlan_tci = (5u << 13) | 10u;  // PCP 5, VID 10
  h->hv1.tp_vlan_tpid = 0x8100;
  fake.hand_to_user(0);
  Tpacket3Ring ring = fake.ring();
  AfPacketStats stats;
  std::vector<PacketRef> out(4);
  REQUIRE(ring.receive(out, pool, stats) == 1);
  std::vector<uint8_t> want(plain.begin(), plain.begin() + 12);
  for (uint8_t b : {0x81, 0x00, 0xA0, 0x0A}) want.push_back(b);
  want.insert(want.end(), plain.begin() + 12, plain.end());
  CHECK(bytes_of(out[0]) == want);
  CHECK(stats.rx_vlan_restored == 1);
  CHECK(stats.rx_bytes == plain.size() + 4);
}

TEST_CASE("af_packet: a partial checksum (TP_STATUS_CSUMNOTREADY) is finished") {
  BufferPool pool(BufferPoolConfig{.buffers = 4});
  FakeRing fake(1);
  const auto complete = udp_frame(101);  // odd length: the last byte is padded
  auto partial = complete;
  // CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum, as the
  // sender's stack left it for the device.
  const uint16_t udp_length = static_cast<uint16_t>(complete.size() - 34);
  const uint16_t pseudo =
      wire::checksum_fold(wire::ipv4_pseudo_header_sum(kPeerIp, kOurIp, 17, udp_length));
  partial[40] = static_cast<uint8_t>(pseudo >> 8);
  partial[41] = static_cast<uint8_t>(pseudo);
  REQUIRE(partial != complete);
  fake.add(0, partial, TP_STATUS_USER | TP_STATUS_CSUMNOTREADY);
  auto arp = sim::SimPeer(wire::MacAddress({0x02, 0, 0, 0, 0, 2}), kPeerIp).arp_request(kOurIp);
  fake.add(0, arp, TP_STATUS_USER | TP_STATUS_CSUMNOTREADY);  // nothing to finish
  fake.hand_to_user(0);
  Tpacket3Ring ring = fake.ring();
  AfPacketStats stats;
  std::vector<PacketRef> out(4);
  REQUIRE(ring.receive(out, pool, stats) == 2);
  CHECK(bytes_of(out[0]) == complete);
  CHECK(out[0]->csum == ChecksumState::kUnnecessary);
  CHECK(bytes_of(out[1]) == arp);
  CHECK(out[1]->csum == ChecksumState::kNone);
  CHECK(stats.rx_csum_completed == 1);
  CHECK(stats.rx_csum_unfinished == 1);
}

TEST_CASE("af_packet: no pool buffer leaves the frame in the ring") {
  BufferPool pool(BufferPoolConfig{.buffers = 1});
  FakeRing fake(1);
  fake.add(0, udp_frame(10), TP_STATUS_USER);
  fake.add(0, udp_frame(20), TP_STATUS_USER);
  fake.hand_to_user(0);
  Tpacket3Ring ring = fake.ring();
  AfPacketStats stats;
  std::vector<PacketRef> out(4);
  REQUIRE(ring.receive(out, pool, stats) == 1);  // the second frame finds no buffer
  CHECK(stats.rx_nobuf == 1);
  CHECK(ring.receive(std::span<PacketRef>(out.data() + 1, 3), pool, stats) == 0);
  CHECK(stats.rx_nobuf == 2);
  CHECK(fake.status(0) == static_cast<uint32_t>(TP_STATUS_USER));
  out[0].reset();
  REQUIRE(ring.receive(std::span<PacketRef>(out.data() + 1, 3), pool, stats) == 1);
  CHECK(out[1]->length() == udp_frame(20).size());
  CHECK(fake.status(0) == static_cast<uint32_t>(TP_STATUS_KERNEL));
}

TEST_CASE("af_packet: a frame header pointing outside its block ends the block") {
  BufferPool pool(BufferPoolConfig{.buffers = 4});
  FakeRing fake(2);
  fake.add(0, udp_frame(10), TP_STATUS_USER);
  tpacket3_hdr* second = fake.add(0, udp_frame(10), TP_STATUS_USER);
  second->tp_snaplen = FakeRing::kBlockSize;  // runs past the block's end
  fake.add(0, udp_frame(10), TP_STATUS_USER);
  fake.hand_to_user(0);
  fake.add(1, udp_frame(12), TP_STATUS_USER);
  fake.desc(1)->hdr.bh1.offset_to_first_pkt = FakeRing::kBlockSize - 8;
  fake.hand_to_user(1);
  Tpacket3Ring ring = fake.ring();
  AfPacketStats stats;
  std::vector<PacketRef> out(4);
  CHECK(ring.receive(out, pool, stats) == 1);
  CHECK(stats.rx_malformed == 2);
  CHECK(stats.rx_blocks == 2);
  CHECK(fake.status(0) == static_cast<uint32_t>(TP_STATUS_KERNEL));
  CHECK(fake.status(1) == static_cast<uint32_t>(TP_STATUS_KERNEL));
  out[0].reset();
  CHECK(pool.in_use() == 0);
}

TEST_CASE("af_packet: stats line lists every counter") {
  AfPacketStats s;
  s.rx_frames = 3;
  s.tx_busy = 2;
  const std::string line = format_stats("veth0", s);
  CHECK(line.rfind("af_packet veth0: rx_frames=3 ", 0) == 0);
  CHECK(line.find(" tx_busy=2") != std::string::npos);
  CHECK(line.find("rx_kernel_drops=0") != std::string::npos);
}

// Runs in a child that has its own network namespace: loopback up, a port on
// it, a frame in through a second packet socket and one out through the port.
// Returns 0, or the number of the step that failed.
int loopback_round_trip() {
  const int ctl = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ifreq ifr{};
  std::strcpy(ifr.ifr_name, "lo");
  if (ctl < 0 || ioctl(ctl, SIOCGIFFLAGS, &ifr) < 0) return 10;
  ifr.ifr_flags |= IFF_UP;
  if (ioctl(ctl, SIOCSIFFLAGS, &ifr) < 0) return 11;
  close(ctl);

  AfPacketConfig config;
  config.ifname = "lo";
  config.block_size = 64 * 1024;
  config.block_count = 4;
  auto opened = AfPacketPort::open(config);
  if (!opened.ok()) return 12;
  AfPacketPort& port = **opened;
  if (port.geometry().frame_count != 4u * 32u || port.mtu() == 0) return 13;
  BufferPool pool(BufferPoolConfig{.buffers = 8});
  port.attach(pool);

  const int raw = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
  if (raw < 0) return 14;
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_protocol = htons(ETH_P_ALL);
  to.sll_ifindex = port.ifindex();
  if (bind(raw, reinterpret_cast<sockaddr*>(&to), sizeof(to)) < 0) return 15;
  const std::vector<uint8_t> in_frame = udp_frame(100);
  if (sendto(raw, in_frame.data(), in_frame.size(), 0, reinterpret_cast<sockaddr*>(&to),
             sizeof(to)) != static_cast<ssize_t>(in_frame.size())) {
    return 16;
  }
  // The block is handed over when its retire timer (1 ms) fires.
  std::vector<PacketRef> out(4);
  size_t got = 0;
  for (int i = 0; i < 100 && got == 0; ++i) {
    pollfd p{port.interrupt_fd(), POLLIN, 0};
    ::poll(&p, 1, 20);
    got = port.rx_burst(out);
  }
  if (got != 1) return 17;
  if (bytes_of(out[0]) != in_frame) return 18;
  out[0].reset();
  if (port.stats().rx_blocks != 1 || port.rx_pending()) return 19;

  PacketRef tx = pool.alloc();
  const std::vector<uint8_t> out_frame = udp_frame(200);
  std::memcpy(tx->put(static_cast<uint32_t>(out_frame.size())), out_frame.data(), out_frame.size());
  std::vector<PacketRef> batch;
  batch.push_back(std::move(tx));
  if (port.tx_burst(batch) != 1 || batch[0] || port.stats().tx_frames != 1) return 20;
  std::vector<uint8_t> buffer(4096);
  bool seen = false;
  for (int i = 0; i < 10 && !seen; ++i) {
    pollfd p{raw, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const ssize_t n = recv(raw, buffer.data(), buffer.size(), 0);
    seen = n == static_cast<ssize_t>(out_frame.size()) &&
           std::memcmp(buffer.data(), out_frame.data(), out_frame.size()) == 0;
  }
  if (!seen) return 21;
  close(raw);
  port.detach();
  return pool.in_use() == 0 ? 0 : 22;
}

TEST_CASE("af_packet: a real ring on loopback (root, private namespace)") {
  if (geteuid() != 0) {
    MESSAGE("skipped: needs root to make a network namespace");
    return;
  }
  const test::NetnsRun run = test::run_in_private_netns([] { return loopback_round_trip(); });
  if (run.refused) {
    MESSAGE("skipped: unshare(CLONE_NEWNET) refused");
    return;
  }
  REQUIRE(run.exited);
  const int step = run.code;
  INFO("failed at step " << step << " of loopback_round_trip()");
  CHECK(step == 0);
}

}  // namespace
}  // namespace inlet::af_packet
