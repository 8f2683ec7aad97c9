// Public captures through the whole stack (PcapReplayPort -> Stack on a
// ManualClock that follows the capture's timestamps). For every capture in
// the shared curated and tcpdump fuzz-seed sets: no crash, no leak, every
// record accounted for, counters consistent and monotonic. For a few curated
// captures whose contents are known (tshark / MANIFEST), the exact counters.
#include "core/features.h"
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <unistd.h>
#include <vector>

#include "absl/strings/str_format.h"
#include "api/stack.h"
#include "core/buffer_pool.h"
#include "ports/pcap/pcap_file.h"
#include "ports/pcap/pcap_replay_port.h"
#include "wire/arp.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/vlan.h"

namespace inlet::replay_test {
namespace {

namespace fs = std::filesystem;

TEST_SUITE_BEGIN("replay_captures");

const fs::path kCaptures = fs::path(INLET_SHARED_DIR) / "captures";
constexpr wire::MacAddress kDefaultMac{{0x02, 0x00, 0x5e, 0x10, 0x00, 0x01}};

struct Setup {
  wire::MacAddress mac = kDefaultMac;
  std::vector<link::InterfaceAddress> addresses;
  std::vector<uint16_t> udp_ports;
  uint32_t mtu = 1500;
  std::string tx_path;  // optional: a pcap of what the stack sent
};

using Values = std::array<uint64_t, kCounterCount>;

Values values_of(const Counters& c) {
  Values v{};
  for (size_t i = 0; i < kCounterCount; ++i) v[i] = c.get(static_cast<Counter>(i));
  return v;
}

uint64_t at(const Values& v, Counter c) { return v[static_cast<size_t>(c)]; }

struct Outcome {
  absl::Status open_status;
  pcap::ReplayStats stats;
  absl::Status reader_error;
  Values mid{};    // after about half the records
  Values end{};    // after the last, before shutdown
  uint32_t pool_in_use_after_shutdown = 0;
  uint32_t descriptors_in_use_after_shutdown = 0;
  size_t neighbours = 0;
  std::optional<link::Neighbour> neighbour;  // of Setup::addresses' first peer, if asked
};

// Replays `path` through a stack configured by `setup`, frame by frame, the
// clock following the capture. `expected_records` (from a first pass) places
// the middle checkpoint.
Outcome replay(const fs::path& path, const Setup& setup, uint64_t expected_records = 0,
               std::optional<wire::Ipv4Address> neighbour_of_interest = std::nullopt) {
  Outcome out;
  auto port = pcap::PcapReplayPort::open(path.string(), setup.mac, setup.tx_path);
  out.open_status = port.status();
  if (!port.ok()) return out;
  pcap::PcapReplayPort* replay = port->get();
  ManualClock clock;
  Stack stack(Tunables(), &clock);
  InterfaceSpec spec;
  spec.name = "pcap0";
  spec.mac = setup.mac;
  spec.mtu = setup.mtu;
  spec.addresses = setup.addresses;
  auto iface = stack.add_interface(std::move(*port), spec);
  REQUIRE(iface.ok());
  std::vector<udp::UdpSocket*> sockets;
  for (uint16_t p : setup.udp_ports) {
    auto s = stack.udp_bind(wire::kIpv4Any, p);
    REQUIRE(s.ok());
    sockets.push_back(*s);
  }
  replay->set_burst_limit(1);  // so the clock follows each record
  bool have_mid = false;
  uint8_t buf[2048];
  uint64_t polls = 0;
  while (!replay->done() || stack.has_work()) {
    // The clock moves to the next frame's capture time before the stack sees
    // it, so protocol timers (reassembly, ARP, TCP) follow the capture.
    if (std::optional<int64_t> next = replay->next_timestamp_ns()) {
      const absl::Time t = absl::FromUnixNanos(*next);
      if (t > clock.now()) clock.set(t);
    }
    stack.poll();
    if (!have_mid && replay->stats().records * 2 >= expected_records) {
      out.mid = values_of(stack.counters());
      have_mid = true;
    }
    if (++polls % 32 == 0) {
      for (udp::UdpSocket* s : sockets) {
        while (s->recv(buf)) {
        }
      }
    }
  }
  if (!have_mid) out.mid = values_of(stack.counters());
  out.end = values_of(stack.counters());
  out.stats = replay->stats();
  out.reader_error = replay->reader().error();
  out.neighbours = stack.link().neighbours().size();
  if (neighbour_of_interest) {
    if (const link::Neighbour* n = stack.link().neighbours().find(*neighbour_of_interest)) {
      out.neighbour = *n;
    }
  }
  stack.shutdown();
  out.pool_in_use_after_shutdown = stack.pool().in_use();
  out.descriptors_in_use_after_shutdown = stack.pool().descriptors_in_use();
  return out;
}

// The invariants every replay keeps, whatever the capture holds.
void check_invariants(const Outcome& o) {
  CHECK(o.pool_in_use_after_shutdown == 0);
  CHECK(o.descriptors_in_use_after_shutdown == 0);
  // Every record read was delivered or counted as not deliverable.
  CHECK(o.stats.delivered + o.stats.oversize + o.stats.unsupported == o.stats.records);
  // The link layer saw exactly the frames the port delivered.
  CHECK(at(o.end, Counter::rx_packets) == o.stats.delivered);
  CHECK(at(o.end, Counter::rx_nobuf) == 0);
  CHECK(at(o.end, Counter::IpInReceives) >= at(o.end, Counter::IpInDelivers));
  CHECK(at(o.end, Counter::rx_packets) >= at(o.end, Counter::IpInReceives));
  CHECK(at(o.end, Counter::tx_packets) == o.stats.transmitted);
  std::string went_back;
  for (size_t i = 0; i < kCounterCount; ++i) {
    if (o.end[i] < o.mid[i]) went_back += std::string(counter_name(static_cast<Counter>(i))) + " ";
  }
  CHECK(went_back == "");
}

// A first pass over a capture, as the stack would see its frames, to pick a
// MAC, addresses and UDP ports that let its traffic reach IP and UDP (as
// `inlet-replay --addr/--udp` would be told by hand).
struct Survey {
  absl::Status status;
  uint64_t records = 0;
  Setup setup;
};

Survey survey(const fs::path& path) {
  Survey s;
  auto port = pcap::PcapReplayPort::open(path.string(), kDefaultMac);
  s.status = port.status();
  if (!port.ok()) return s;
  BufferPoolConfig pc;
  pc.buffers = 64;
  BufferPool pool(pc);
  (*port)->attach(pool);
  struct Seen {
    wire::MacAddress dst;
    uint32_t ip_src = 0;
    uint32_t ip_dst = 0;
    int udp_dport = -1;
  };
  std::vector<Seen> seen;
  std::array<PacketRef, 32> batch;
  while (!(*port)->done()) {
    const size_t n = (*port)->rx_burst(batch);
    for (size_t i = 0; i < n; ++i) {
      std::span<const uint8_t> f = batch[i]->bytes();
      auto eth = wire::EthernetView::parse(f);
      if (eth.ok()) {
        Seen x{eth->dst()};
        uint16_t type = eth->ethertype();
        std::span<const uint8_t> l3 = eth->payload();
        if (type == wire::ethertype::kVlan) {
          if (auto tag = wire::VlanView::parse(l3); tag.ok()) {
            type = tag->ethertype();
            l3 = tag->payload();
          }
        }
        if (type == wire::ethertype::kIpv4 && l3.size() >= 20 && (l3[0] >> 4) == 4) {
          x.ip_src = wire::load_be32(l3.data() + 12);
          x.ip_dst = wire::load_be32(l3.data() + 16);
          const size_t ihl = size_t{l3[0] & 0x0Fu} * 4;
          if (l3[9] == wire::ipproto::kUdp && ihl >= 20 && l3.size() >= ihl + 4) {
            x.udp_dport = wire::load_be16(l3.data() + ihl + 2);
          }
        }
        seen.push_back(x);
      }
      batch[i].reset();
    }
  }
  s.records = (*port)->stats().records;
  (*port)->detach();

  std::map<wire::MacAddress, int> macs;
  for (const Seen& x : seen) {
    if (x.dst.is_unicast() && !x.dst.is_zero()) ++macs[x.dst];
  }
  if (!macs.empty()) {
    s.setup.mac = std::max_element(macs.begin(), macs.end(), [](const auto& a, const auto& b) {
                    return a.second < b.second;
                  })->first;
  }
  // Destinations of what reaches that MAC, but not addresses that also show
  // up there as sources (a capture of both directions on one link would
  // otherwise make both ends "ours", and every frame a martian).
  std::map<uint32_t, int> dsts;
  std::set<uint32_t> srcs;
  for (const Seen& x : seen) {
    if (x.dst != s.setup.mac && !x.dst.is_multicast()) continue;
    srcs.insert(x.ip_src);
    const wire::Ipv4Address a(x.ip_dst);
    if (x.ip_dst != 0 && a.is_unicast() && !a.is_loopback()) ++dsts[x.ip_dst];
  }
  for (uint32_t a : srcs) dsts.erase(a);
  std::vector<std::pair<int, uint32_t>> ranked;
  for (const auto& [a, n] : dsts) ranked.push_back({n, a});
  std::sort(ranked.rbegin(), ranked.rend());
  for (size_t i = 0; i < ranked.size() && i < 4; ++i) {
    const wire::Ipv4Address a(ranked[i].second);
    const uint8_t last = a.octets()[3];
    s.setup.addresses.push_back({a, static_cast<uint8_t>(last == 0 || last == 255 ? 32 : 24)});
  }
  std::map<int, int> ports;
  for (const Seen& x : seen) {
    if (x.udp_dport > 0 && (x.dst == s.setup.mac || x.dst.is_multicast())) ++ports[x.udp_dport];
  }
  std::vector<std::pair<int, int>> ranked_ports;
  for (const auto& [p, n] : ports) ranked_ports.push_back({n, p});
  std::sort(ranked_ports.rbegin(), ranked_ports.rend());
  for (size_t i = 0; i < ranked_ports.size() && i < 2; ++i) {
    s.setup.udp_ports.push_back(static_cast<uint16_t>(ranked_ports[i].second));
  }
  return s;
}

std::vector<fs::path> captures_under(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string ext = e.path().extension().string();
    if (e.is_regular_file() && (ext == ".pcap" || ext == ".pcapng")) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

void replay_directory(const fs::path& dir) {
  if (!fs::is_directory(dir)) {
    MESSAGE("skipped: no capture directory at " << dir.string());
    return;
  }
  const std::vector<fs::path> files = captures_under(dir);
  size_t replayed = 0;
  uint64_t frames = 0;
  Values totals{};
  std::vector<std::string> skipped;
  for (const fs::path& f : files) {
    const Survey s = survey(f);
    if (!s.status.ok()) {
      // pcapng (and anything else PcapReader refuses) is not replayable.
      skipped.push_back(f.filename().string());
      continue;
    }
    CAPTURE(f.filename().string());
    const Outcome o = replay(f, s.setup, s.records);
    REQUIRE(o.open_status.ok());
    CHECK(o.stats.records == s.records);
    check_invariants(o);
    ++replayed;
    frames += o.stats.records;
    for (size_t i = 0; i < kCounterCount; ++i) totals[i] += o.end[i];
  }
  std::string list;
  for (size_t i = 0; i < skipped.size(); ++i) list += (i == 0 ? "" : ", ") + skipped[i];
  MESSAGE(absl::StrFormat(
      "%s: replayed %d captures, %d records: rx_packets=%d IpInReceives=%d IpInDelivers=%d "
      "UdpInDatagrams=%d IcmpInMsgs=%d ArpInRequests=%d tx_packets=%d; skipped %d (not classic "
      "pcap): %s",
      dir.filename().string(), replayed, frames, at(totals, Counter::rx_packets),
      at(totals, Counter::IpInReceives), at(totals, Counter::IpInDelivers),
      at(totals, Counter::UdpInDatagrams), at(totals, Counter::IcmpInMsgs),
      at(totals, Counter::ArpInRequests), at(totals, Counter::tx_packets), skipped.size(), list));
}

TEST_CASE("replay: every curated capture keeps the stack's invariants") {
  replay_directory(kCaptures / "curated");
}

TEST_CASE("replay: every tcpdump fuzz-seed capture keeps the stack's invariants") {
  replay_directory(kCaptures / "fuzz-seeds" / "tcpdump");
}

// --- specific captures ---------------------------------------------------------------

std::optional<fs::path> curated(const char* name) {
  const fs::path p = kCaptures / "curated" / name;
  if (!fs::exists(p)) {
    MESSAGE("skipped: " << p.string() << " is not there");
    return std::nullopt;
  }
  return p;
}

wire::MacAddress mac(const char* s) { return *wire::MacAddress::parse(s); }
wire::Ipv4Address ip(const char* s) { return *wire::Ipv4Address::parse(s); }

// Counters that moved, other than the ones listed and the byte counters.
std::string others_moved(const Values& v, std::initializer_list<Counter> expected) {
  std::string out;
  for (size_t i = 0; i < kCounterCount; ++i) {
    const Counter c = static_cast<Counter>(i);
    if (v[i] == 0 || c == Counter::rx_bytes || c == Counter::tx_bytes ||
        c == Counter::IpExtInOctets || c == Counter::IpExtOutOctets) {
      continue;
    }
    if (std::find(expected.begin(), expected.end(), c) == expected.end()) {
      out += absl::StrFormat("%s=%d ", std::string(counter_name(c)), v[i]);
    }
  }
  return out;
}

TEST_CASE("replay zeek arp-who-has: the request for our address is answered, the other host's reply is not ours") {
  const auto path = curated("zeek__arp-who-has.pcap");
  if (!path) return;
  // Frame 1: 10.0.0.2 (78:31:c1:c6:3f:c2) asks who has 10.0.0.1; frame 2: the
  // real 10.0.0.1 (f8:ed:a5:c0:a4:f1) answers, unicast to the asker. We play 10.0.0.1.
  const std::string tx = (fs::temp_directory_path() /
                          absl::StrFormat("inlet_replay_arp_%d.pcap", static_cast<int>(::getpid())))
                             .string();
  Setup setup;
  setup.mac = mac("f8:ed:a5:c0:a4:f1");
  setup.addresses = {{ip("10.0.0.1"), 24}};
  setup.tx_path = tx;
  const Outcome o = replay(*path, setup, 2, ip("10.0.0.2"));
  REQUIRE(o.open_status.ok());
  check_invariants(o);
  CHECK(o.stats.records == 2);
  CHECK(at(o.end, Counter::rx_packets) == 2);
  CHECK(at(o.end, Counter::ArpInRequests) == 1);
  CHECK(at(o.end, Counter::ArpOutReplies) == 1);
  CHECK(at(o.end, Counter::tx_packets) == 1);
  CHECK(at(o.end, Counter::rx_otherhost_dropped) == 1);
  CHECK(others_moved(o.end, {Counter::rx_packets, Counter::ArpInRequests, Counter::ArpOutReplies,
                             Counter::tx_packets, Counter::rx_otherhost_dropped}) == "");
  CHECK(o.neighbours == 1);
  REQUIRE(o.neighbour.has_value());
  CHECK(o.neighbour->mac == mac("78:31:c1:c6:3f:c2"));

  // What we sent is the reply the real host sent (up to padding).
  auto reader = pcap::PcapReader::open(tx);
  REQUIRE(reader.ok());
  pcap::PcapReader::Record r;
  REQUIRE(reader->next(r));
  auto eth = wire::EthernetView::parse(r.bytes);
  REQUIRE(eth.ok());
  CHECK(eth->dst() == mac("78:31:c1:c6:3f:c2"));
  CHECK(eth->src() == setup.mac);
  auto arp = wire::ArpView::parse(eth->payload());
  REQUIRE(arp.ok());
  CHECK(arp->operation() == wire::ArpOperation::kReply);
  CHECK(arp->sender_ip() == ip("10.0.0.1"));
  CHECK(arp->sender_mac() == setup.mac);
  CHECK(arp->target_ip() == ip("10.0.0.2"));
  CHECK(arp->target_mac() == mac("78:31:c1:c6:3f:c2"));
  CHECK_FALSE(reader->next(r));
  std::error_code ec;
  fs::remove(tx, ec);
}

TEST_CASE("replay tcpdump ipv4_invalid_hdr_length: IHL 4 is IpInHdrErrors") {
  const auto path = curated("tcpdump__ipv4_invalid_hdr_length.pcap");
  if (!path) return;
  Setup setup;
  setup.mac = mac("c0:d6:82:36:03:2b");
  setup.addresses = {{ip("45.33.127.156"), 24}};
  const Outcome o = replay(*path, setup, 1);
  REQUIRE(o.open_status.ok());
  check_invariants(o);
  CHECK(at(o.end, Counter::IpInReceives) == 1);
  CHECK(at(o.end, Counter::IpInHdrErrors) == 1);
  CHECK(others_moved(o.end, {Counter::rx_packets, Counter::IpInReceives, Counter::IpInHdrErrors}) ==
        "");
}

TEST_CASE("replay suricata ipv4-truncated: a total length beyond the frame is IpExtInTruncatedPkts") {
  const auto path = curated("suricata-verify__ipv4-truncated__truncated.pcap");
  if (!path) return;
  // One 1530-byte frame (longer than MTU 1500 + 18, so a larger MTU lets it
  // reach IP) claiming a 65028-byte datagram.
  Setup setup;
  setup.mac = mac("50:eb:f6:7d:ea:54");
  setup.addresses = {{ip("10.16.1.11"), 24}};
  setup.mtu = 1600;
  const Outcome o = replay(*path, setup, 1);
  REQUIRE(o.open_status.ok());
  check_invariants(o);
  CHECK(at(o.end, Counter::IpInReceives) == 1);
  CHECK(at(o.end, Counter::IpExtInTruncatedPkts) == 1);
  CHECK(others_moved(o.end, {Counter::rx_packets, Counter::IpInReceives,
                             Counter::IpExtInTruncatedPkts}) == "");

  // At the default MTU the same frame is a link-level length error.
  setup.mtu = 1500;
  const Outcome small = replay(*path, setup, 1);
  check_invariants(small);
  CHECK(at(small.end, Counter::rx_length_errors) == 1);
  CHECK(at(small.end, Counter::IpInReceives) == 0);
}

TEST_CASE("replay zeek ip4-bad-chksum: a bad IPv4 header checksum is IpInHdrErrors + IpExtInCsumErrors") {
  const auto path = curated("zeek__chksums__ip4-bad-chksum.pcap");
  if (!path) return;
  const Outcome o = replay(*path, Setup{}, 1);  // sent to the broadcast MAC
  REQUIRE(o.open_status.ok());
  check_invariants(o);
  CHECK(at(o.end, Counter::IpInHdrErrors) == 1);
  CHECK(at(o.end, Counter::IpExtInCsumErrors) == 1);
  CHECK(others_moved(o.end, {Counter::rx_packets, Counter::IpInReceives, Counter::IpInHdrErrors,
                             Counter::IpExtInCsumErrors}) == "");
}

TEST_CASE("replay zeek ip4-icmp-bad-chksum: a bad ICMP checksum is IcmpInCsumErrors, and no reply") {
  const auto path = curated("zeek__chksums__ip4-icmp-bad-chksum.pcap");
  if (!path) return;
  Setup setup;
  setup.mac = mac("00:10:db:88:d2:ef");
  setup.addresses = {{ip("192.168.1.101"), 24}};
  const Outcome o = replay(*path, setup, 1);
  REQUIRE(o.open_status.ok());
  check_invariants(o);
  CHECK(at(o.end, Counter::IcmpInMsgs) == 1);
  CHECK(at(o.end, Counter::IcmpInCsumErrors) == 1);
  CHECK(at(o.end, Counter::IcmpInErrors) == 1);
  CHECK(o.stats.transmitted == 0);
  CHECK(others_moved(o.end, {Counter::rx_packets, Counter::IpInReceives, Counter::IpInDelivers,
                             Counter::IcmpInMsgs, Counter::IcmpInCsumErrors,
                             Counter::IcmpInErrors}) == "");
}

TEST_CASE("replay zeek icmp 5-pings: five echo requests reach ICMP; the replies on the wire are another host's") {
  const auto path = curated("zeek__icmp__5-pings.pcap");
  if (!path) return;
  // Requests 172.16.133.2 -> 172.217.11.78 to a6:83:e7:0c:90:64; the peer is
  // off-link and no gateway is configured, so our replies have no route.
  Setup setup;
  setup.mac = mac("a6:83:e7:0c:90:64");
  setup.addresses = {{ip("172.217.11.78"), 24}};
  const Outcome o = replay(*path, setup, 10);
  REQUIRE(o.open_status.ok());
  check_invariants(o);
  CHECK(at(o.end, Counter::rx_packets) == 10);
  CHECK(at(o.end, Counter::rx_otherhost_dropped) == 5);
  CHECK(at(o.end, Counter::IcmpInEchos) == 5);
  CHECK(at(o.end, Counter::IcmpMsgInType8) == 5);
  CHECK(at(o.end, Counter::IpOutNoRoutes) == 5);
  CHECK(at(o.end, Counter::IcmpOutEchoReps) == 0);
  CHECK(o.stats.transmitted == 0);
}

#if INLET_WITH_REASSEMBLY
TEST_CASE("replay zeek ipv4 fragmented-1: a third fragment overlapping the first discards the datagram") {
  const auto path = curated("zeek__ipv4__fragmented-1.pcap");
  if (!path) return;
  Setup setup;
  setup.mac = mac("00:60:97:12:2f:58");
  setup.addresses = {{ip("164.1.123.61"), 24}};
  setup.udp_ports = {137};
  const Outcome o = replay(*path, setup, 3);
  REQUIRE(o.open_status.ok());
  check_invariants(o);
  CHECK(at(o.end, Counter::IpInReceives) == 3);
  // Fragment 1 (offset 0, MF) and 2 (offset 48, the last) queue; fragment 3
  // — an offset-0 fragment reaching past the end fragment 2 fixed — is an
  // overlap that discards the whole datagram once (Linux since 4.18).
  CHECK(at(o.end, Counter::IpReasmReqds) == 3);
  CHECK(at(o.end, Counter::IpReasmTimeout) == 0);
  CHECK(at(o.end, Counter::IpReasmFails) == 1);
  CHECK(at(o.end, Counter::IpReasmOKs) == 0);
  CHECK(at(o.end, Counter::UdpInDatagrams) == 0);
  CHECK(others_moved(o.end, {Counter::rx_packets, Counter::IpInReceives, Counter::IpReasmReqds,
                             Counter::IpReasmFails, Counter::IpReasmTimeout}) == "");
}
#endif  // INLET_WITH_REASSEMBLY

struct OneCounterCase {
  const char* file;
  const char* what;
  const char* mac;
  const char* address;
  std::vector<std::pair<Counter, uint64_t>> expected;  // exact values after the replay
};

// Built without 802.1Q (INLET_WITH_VLAN=0), a tagged frame is one of an
// unknown EtherType.
constexpr Counter kTaggedDrop = INLET_WITH_VLAN ? Counter::rx_vlan_dropped : Counter::rx_nohandler;

TEST_CASE("replay: captures whose one malformation is known land on exactly their counters") {
  const std::vector<OneCounterCase> cases = {
      {"tcpdump__ipv4_invalid_total_length.pcap", "total length 85, 84 bytes captured",
       "c0:d6:82:36:03:2b", "45.33.127.156",
       {{Counter::rx_packets, 1}, {Counter::IpInReceives, 1}, {Counter::IpExtInTruncatedPkts, 1}}},
      {"tcpdump__ipv4_invalid_length.pcap", "19 bytes of IPv4 header", "c0:d6:82:36:03:2b",
       "45.33.127.156",
       {{Counter::rx_packets, 1}, {Counter::IpInReceives, 1}, {Counter::IpInHdrErrors, 1}}},
      {"zeek__q-in-q.pcap", "five double-tagged frames (VLAN 13 over 10)", "02:00:5e:10:00:01",
       "172.19.51.63", {{Counter::rx_packets, 5}, {kTaggedDrop, 5}}},
      {"zeek__icmp_dot1q.pcap", "VLAN 123: 10 frames for us or broadcast, 5 for another host",
       "00:19:06:ea:b8:c1", "192.168.123.1",
       {{Counter::rx_packets, 15}, {kTaggedDrop, 10}, {Counter::rx_otherhost_dropped, 5}}},
      {"tcpdump__arp-too-long-tha.pcap",
       "64 of 262144 bytes captured: an 802.1ad tag (VID 48) over ARP with hlen 14",
       "30:30:30:30:30:30", "10.0.0.1", {{Counter::rx_packets, 1}, {kTaggedDrop, 1}}},
  };
  for (const OneCounterCase& c : cases) {
    const std::string file = c.file, what = c.what;
    CAPTURE(file);
    CAPTURE(what);
    const auto path = curated(c.file);
    if (!path) continue;
    Setup setup;
    setup.mac = mac(c.mac);
    setup.addresses = {{ip(c.address), 24}};
    const Outcome o = replay(*path, setup, 1);
    REQUIRE(o.open_status.ok());
    check_invariants(o);
    std::string diff;
    for (size_t i = 0; i < kCounterCount; ++i) {
      const Counter k = static_cast<Counter>(i);
      if (k == Counter::rx_bytes || k == Counter::IpExtInOctets) continue;
      uint64_t want = 0;
      for (const auto& [ek, ev] : c.expected) {
        if (ek == k) want = ev;
      }
      if (o.end[i] != want) {
        diff += absl::StrFormat("%s=%d (want %d) ", std::string(counter_name(k)), o.end[i], want);
      }
    }
    CHECK(diff == "");
    CHECK(o.stats.transmitted == 0);
  }
}

TEST_SUITE_END();

}  // namespace
}  // namespace inlet::replay_test
