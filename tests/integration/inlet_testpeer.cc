// inlet-testpeer: the kernel-side half of the integration tests. It sends
// datagrams through the kernel's own UDP socket (so Linux builds the headers
// and checksums) and hand-made Ethernet frames through an AF_PACKET socket
// (valid frames built with inlet's wire Reprs, then damaged in exactly one
// way). Each frame kind carries what inlet must count for it, so the test
// driver checks exact numbers rather than "something went up".
//
//   inlet-testpeer udp-send DST_IP PORT COUNT SIZES [--pattern] [--broadcast]
//                           [--expect-refused] [--src-port P]
//   inlet-testpeer raw-send IFNAME DST_MAC KIND... | all
//   inlet-testpeer kinds            the frames "all" sends, one a line, tab-separated:
//                                   name, drop reason, counters (+1 each), bytes, why
//   inlet-testpeer pattern-hex INDEX SIZE
//   inlet-testpeer tcp-send DST_IP PORT --bytes N --conns C [--seed S] [--fastopen] [--fast]
//                           [--hold-open MS] [--timeout S]
//                  C kernel TCP connections at once, each sending N bytes of a
//                  deterministic pseudo-random stream (seeded by S and the
//                  connection's index), half-closing, and waiting for the
//                  peer's FIN (so everything was taken). One line each:
//                    sent LOCAL_PORT bytes=N sha256=HEX
//                    info LOCAL_PORT retrans=N rtt_us=N ms=N
//                  then "tcp-send: conns=C bytes=N ms=N MBps=X retrans=N".
//                  --fast: the first 64 KiB chunk again and again, no sha256
//                  (sha256=-): for throughput runs that measure the receiver.
//                  --fastopen: sendto(MSG_FASTOPEN), one connection after the
//                  other (the first fetches the cookie, the next carry data in
//                  the SYN).
//   inlet-testpeer syn-flood DST_IP PORT --count N --rate R
//                  N SYNs from a raw socket, R a second, from spoofed sources
//                  192.0.2.100-199 (TEST-NET-1 only), random ports.
//   inlet-testpeer tcp-recv ADDR PORT [--conns C] [--timeout S]
//                  a kernel listener taking C connections, each read to its
//                  end and closed: "recv PEER_PORT bytes=N sha256=HEX" each
//                  (the other end of tcp-send, for traffic through a router).
//   inlet-testpeer vlan-ping IFNAME VID SRC_IP DST_IP [--via GW] [--count N] [--timeout-ms T]
//                  802.1Q-tagged ARP and echo requests from an AF_PACKET
//                  socket; reports the VID each answer came back with.
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <string_view>
#include <vector>

#include "examples/common/sha256.h"
#include "ports/sim/sim_peer.h"
#include "wire/arp.h"
#include "wire/checksum.h"
#include "wire/ethernet.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"
#include "wire/udp.h"
#include "wire/vlan.h"

namespace {

using inlet::sim::Frame;
using inlet::sim::SimPeer;
namespace wire = inlet::wire;

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "inlet-testpeer: %s\n", msg.c_str());
  std::exit(1);
}

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: inlet-testpeer udp-send DST_IP PORT COUNT SIZE[,SIZE...] [--pattern]\n"
               "                      [--broadcast] [--expect-refused] [--src-port P]\n"
               "       inlet-testpeer raw-send IFNAME DST_MAC KIND... | all\n"
               "       inlet-testpeer kinds\n"
               "       inlet-testpeer pattern-hex INDEX SIZE\n"
               "       inlet-testpeer tcp-send DST_IP PORT --bytes N --conns C [--seed S] [--fast]\n"
               "                      [--fastopen] [--hold-open MS] [--timeout S]\n"
               "       inlet-testpeer syn-flood DST_IP PORT --count N --rate R\n"
               "       inlet-testpeer tcp-recv ADDR PORT [--conns C] [--timeout S]\n"
               "       inlet-testpeer vlan-ping IFNAME VID SRC_IP DST_IP [--via GW] [--count N]\n"
               "                      [--timeout-ms T]\n");
  std::exit(2);
}

long parse_number(const std::string& text, long lo, long hi, const char* what) {
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (errno != 0 || end == text.c_str() || *end != '\0' || v < lo || v > hi) {
    die(std::string("bad ") + what + " '" + text + "'");
  }
  return v;
}

// The payload of datagram `index` with --pattern: position-dependent bytes,
// so a reordered, shifted or corrupted byte shows in a capture.
uint8_t pattern_byte(long index, size_t j) {
  return static_cast<uint8_t>((static_cast<unsigned long>(index) * 131u + j * 7u) % 251u);
}

// ---------------------------------------------------------------- udp-send

int udp_send(int argc, char** argv) {
  if (argc < 4) usage();
  const std::string dst_text = argv[0];
  in_addr dst{};
  if (inet_pton(AF_INET, dst_text.c_str(), &dst) != 1) die("bad DST_IP " + dst_text);
  const auto port = static_cast<uint16_t>(parse_number(argv[1], 1, 65535, "PORT"));
  const long count = parse_number(argv[2], 0, 1000000, "COUNT");
  std::vector<size_t> sizes;
  {
    std::string list = argv[3];
    size_t start = 0;
    while (start <= list.size()) {
      size_t comma = list.find(',', start);
      if (comma == std::string::npos) comma = list.size();
      sizes.push_back(static_cast<size_t>(
          parse_number(list.substr(start, comma - start), 0, 65507, "SIZE")));
      start = comma + 1;
    }
  }
  bool pattern = false, broadcast = false, expect_refused = false;
  long src_port = 0;
  for (int i = 4; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--pattern") {
      pattern = true;
    } else if (a == "--broadcast") {
      broadcast = true;
    } else if (a == "--expect-refused") {
      expect_refused = true;
    } else if (a == "--src-port" && i + 1 < argc) {
      src_port = parse_number(argv[++i], 1, 65535, "--src-port");
    } else {
      usage();
    }
  }

  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die(std::string("socket: ") + strerror(errno));
  const int one = 1;
  if (broadcast && setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one) < 0) {
    die(std::string("SO_BROADCAST: ") + strerror(errno));
  }
  if (src_port != 0) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_port = htons(static_cast<uint16_t>(src_port));
    if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) < 0) {
      die(std::string("bind: ") + strerror(errno));
    }
  }
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr = dst;
  // A connected socket is how the kernel hands an ICMP port unreachable back
  // to the application (as ECONNREFUSED, RFC 1122 4.1.3.3).
  if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) {
    die(std::string("connect: ") + strerror(errno));
  }
  std::vector<uint8_t> buf;
  unsigned long long bytes = 0;
  for (long i = 0; i < count; ++i) {
    const size_t n = sizes[static_cast<size_t>(i) % sizes.size()];
    buf.assign(n, 0x5a);
    if (pattern) {
      for (size_t j = 0; j < n; ++j) buf[j] = pattern_byte(i, j);
    }
    ssize_t w = send(fd, buf.data(), n, 0);
    if (w < 0) die("send #" + std::to_string(i) + ": " + strerror(errno));
    if (static_cast<size_t>(w) != n) die("short send #" + std::to_string(i));
    bytes += n;
  }
  std::printf("sent %ld datagrams %llu bytes\n", count, bytes);
  if (expect_refused) {
    // Bounded: the ICMP error comes back within milliseconds or not at all.
    pollfd p{fd, POLLIN | POLLERR, 0};
    const int r = poll(&p, 1, 3000);
    if (r <= 0) die("no ICMP port unreachable within 3 s (expected ECONNREFUSED)");
    uint8_t sink[16];
    const ssize_t got = recv(fd, sink, sizeof sink, MSG_DONTWAIT);
    if (got >= 0 || errno != ECONNREFUSED) {
      die(std::string("expected ECONNREFUSED, got ") + (got >= 0 ? "a datagram" : strerror(errno)));
    }
    std::printf("refused\n");
  }
  close(fd);
  return 0;
}

// ---------------------------------------------------------------- frames

struct Ctx {
  wire::MacAddress src_mac;  // the kernel side of the TAP
  wire::MacAddress dst_mac;  // inlet
  wire::Ipv4Address src_ip = wire::Ipv4Address::from_octets(192, 0, 2, 1);
  wire::Ipv4Address dst_ip = wire::Ipv4Address::from_octets(192, 0, 2, 2);
  uint16_t port = 7000;
};

constexpr size_t kL3 = wire::kEthernetHeaderLength;
constexpr size_t kL4 = kL3 + wire::kIpv4MinHeaderLength;  // for option-less headers
constexpr uint16_t kSrcPort = 40000;

std::vector<uint8_t> payload(size_t n = 32) {
  std::vector<uint8_t> p(n);
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>('a' + i % 26);
  return p;
}

// The reference frame every IPv4/UDP kind damages: 32 bytes to the bound port.
Frame good_udp(const Ctx& c, size_t n = 32) {
  return SimPeer(c.src_mac, c.src_ip).udp(c.dst_mac, c.dst_ip, kSrcPort, c.port, payload(n));
}

// Re-sums the first `len` bytes of the IPv4 header (even when IHL says otherwise).
void fix_ip_checksum(Frame& f, size_t len = wire::kIpv4MinHeaderLength) {
  wire::store_be16(&f[kL3 + 10], 0);
  wire::store_be16(&f[kL3 + 10], wire::internet_checksum(std::span(&f[kL3], len)));
}

Frame ethernet(const Ctx& c, wire::MacAddress dst, uint16_t type, std::span<const uint8_t> body) {
  Frame f(wire::kEthernetHeaderLength + body.size());
  wire::EthernetRepr{dst, c.src_mac, type}.emit(f);
  std::copy(body.begin(), body.end(), f.begin() + kL3);
  return f;
}

// An IPv4 frame from a Repr (options, fragment bits) around `body`.
Frame ipv4_frame(const Ctx& c, wire::Ipv4Repr repr, std::span<const uint8_t> body) {
  repr.payload_length = static_cast<uint16_t>(body.size());
  std::vector<uint8_t> dgram(repr.total_length());
  if (repr.emit(dgram) == 0) die("Ipv4Repr::emit failed");
  std::copy(body.begin(), body.end(), dgram.begin() + static_cast<long>(repr.header_length()));
  return ethernet(c, c.dst_mac, wire::ethertype::kIpv4, dgram);
}

std::vector<uint8_t> udp_datagram(const Ctx& c, wire::Ipv4Address src, uint16_t dport,
                                  size_t n = 32) {
  const std::vector<uint8_t> data = payload(n);
  wire::UdpRepr repr{kSrcPort, dport, static_cast<uint16_t>(n)};
  std::vector<uint8_t> d(repr.total_length());
  std::copy(data.begin(), data.end(), d.begin() + wire::kUdpHeaderLength);
  repr.emit(d, src, c.dst_ip);
  return d;
}

// Inserts an 802.1Q/802.1ad tag after the MAC addresses.
Frame insert_tag(Frame f, uint16_t tpid, uint16_t vid) {
  uint8_t tag[2 + wire::kVlanTagLength];
  wire::store_be16(tag, tpid);
  wire::VlanRepr{0, false, vid, wire::load_be16(&f[12])}.emit(std::span(tag + 2, 4));
  f.erase(f.begin() + 12, f.begin() + 14);
  f.insert(f.begin() + 12, tag, tag + sizeof tag);
  return f;
}

Frame arp_request(const Ctx& c) { return SimPeer(c.src_mac, c.src_ip).arp_request(c.dst_ip); }

struct Kind {
  const char* name;
  // What inlet must do, and whom it follows.
  const char* why;
  // The drop reason inlet must record ("-": none, the frame is consumed).
  const char* drop;
  // Counters that go up by exactly one.
  const char* counters;
  // Payload bytes the socket on port 7000 receives; -1 when it receives nothing.
  int delivered_bytes;
  Frame (*build)(const Ctx&);
};

const Kind kKinds[] = {
    // ---- delivered: odd but valid frames must arrive, with the right length
    {"valid-udp", "the reference datagram", "-", "IpInReceives IpInDelivers UdpInDatagrams", 32,
     [](const Ctx& c) { return good_udp(c); }},
    {"ethernet-padding",
     "bytes past the IPv4 total length are link padding (RFC 894), trimmed before UDP", "-",
     "IpInReceives IpInDelivers UdpInDatagrams", 32,
     [](const Ctx& c) {
       Frame f = good_udp(c);
       f.insert(f.end(), 20, 0xEE);
       return f;
     }},
    {"udp-zero-checksum", "RFC 768: a zero checksum means none was computed", "-",
     "IpInReceives IpInDelivers UdpInDatagrams", 32,
     [](const Ctx& c) {
       Frame f = good_udp(c);
       wire::store_be16(&f[kL4 + 6], 0);
       return f;
     }},
    {"ttl0-udp", "TTL is only checked when forwarding (Linux ip_local_deliver ignores it)", "-",
     "IpInReceives IpInDelivers UdpInDatagrams", 32,
     [](const Ctx& c) {
       Frame f = good_udp(c);
       f[kL3 + 8] = 0;
       fix_ip_checksum(f);
       return f;
     }},
    {"udp-with-ip-options",
     "a router alert option (RFC 2113) is well-formed: UDP starts after the 24-byte header", "-",
     "IpInReceives IpInDelivers UdpInDatagrams", 32,
     [](const Ctx& c) {
       const uint8_t opts[4] = {wire::ipv4opt::kRouterAlert, 4, 0, 0};
       wire::Ipv4Repr r{.src = c.src_ip, .dst = c.dst_ip, .protocol = wire::ipproto::kUdp};
       r.options = opts;
       return ipv4_frame(c, r, udp_datagram(c, c.src_ip, c.port));
     }},
    {"udp-shorter-than-ip-payload",
     "UDP length 28 in a 40-byte IP payload: the UDP length rules (RFC 768; Linux trims), the "
     "checksum covers 28 bytes and 20 payload bytes arrive",
     "-", "IpInReceives IpInDelivers UdpInDatagrams", 20,
     [](const Ctx& c) {
       std::vector<uint8_t> d = udp_datagram(c, c.src_ip, c.port, 20);
       d.insert(d.end(), 12, 0xCC);
       wire::Ipv4Repr r{.src = c.src_ip, .dst = c.dst_ip, .protocol = wire::ipproto::kUdp};
       return ipv4_frame(c, r, d);
     }},
    {"all-hosts-udp",
     "UDP to 224.0.0.1, which every host has joined (RFC 1112 4), reaches the wildcard socket",
     "-", "IpInReceives IpInDelivers IpExtInMcastPkts UdpInDatagrams", 32,
     [](const Ctx& c) {
       const auto all_hosts = wire::Ipv4Address::from_octets(224, 0, 0, 1);
       return SimPeer(c.src_mac, c.src_ip)
           .udp(wire::multicast_mac(all_hosts), all_hosts, kSrcPort, c.port, payload());
     }},
    {"vlan0-udp", "802.1Q 9.6: VID 0 is a priority tag; the frame belongs to the port", "-",
     "IpInReceives IpInDelivers UdpInDatagrams", 32,
     [](const Ctx& c) { return insert_tag(good_udp(c), wire::ethertype::kVlan, 0); }},

    // ---- link layer
    {"other-host", "unicast to another MAC (Linux PACKET_OTHERHOST)", "OTHER_HOST",
     "rx_otherhost_dropped", -1,
     [](const Ctx& c) {
       Frame f = good_udp(c);
       wire::MacAddress({0x02, 0x00, 0x5e, 0x10, 0x00, 0x99}).store(&f[0]);
       return f;
     }},
    {"oversize", "a 1514-byte frame on a 1400-byte-MTU interface", "FRAME_TOO_LONG",
     "rx_length_errors", -1, [](const Ctx& c) { return good_udp(c, 1472); }},
    {"ipv6", "no IPv6 handler (Linux counts rx_nohandler)", "IPV6_NOT_SUPPORTED", "rx_nohandler",
     -1,
     [](const Ctx& c) {
       uint8_t h[40] = {0x60, 0, 0, 0, 0, 0, 59 /* no next header */, 64};
       h[8 + 15] = 1;                // src ::1 (never mind: nobody looks)
       h[24] = 0xff, h[25] = 0x02;   // dst ff02::1
       h[24 + 15] = 1;
       return ethernet(c, c.dst_mac, wire::ethertype::kIpv6, h);
     }},
    {"unknown-ethertype", "EtherType 0x88B5 (local experimental): no handler", "UNKNOWN_ETHER_TYPE",
     "rx_nohandler", -1,
     [](const Ctx& c) { return ethernet(c, c.dst_mac, 0x88B5, payload(46)); }},
    {"llc-length-field", "an 802.3 length (< 0x0600) and LLC, not a type: no handler",
     "UNKNOWN_ETHER_TYPE", "rx_nohandler", -1,
     [](const Ctx& c) {
       std::vector<uint8_t> llc = payload(38);
       llc[0] = 0x42, llc[1] = 0x42, llc[2] = 0x03;  // STP's DSAP/SSAP/UI
       return ethernet(c, c.dst_mac, static_cast<uint16_t>(llc.size()), llc);
     }},
    {"vlan-truncated", "an 802.1Q EtherType with 2 of the tag's 4 bytes", "VLAN_MALFORMED",
     "rx_length_errors", -1,
     [](const Ctx& c) {
       const uint8_t half[2] = {0x00, 0x05};
       return ethernet(c, c.dst_mac, wire::ethertype::kVlan, half);
     }},
    {"vlan-stacked", "802.1ad S-tag over a C-tag: QinQ is not configured", "VLAN_STACKED",
     "rx_vlan_dropped", -1,
     [](const Ctx& c) {
       return insert_tag(insert_tag(good_udp(c), wire::ethertype::kVlan, 10),
                         wire::ethertype::kQinQ, 20);
     }},
    {"vlan-other-vid", "VID 100 on a port with no VLAN 100 (Linux: no vlan device)",
     "VLAN_NOT_CONFIGURED", "rx_vlan_dropped", -1,
     [](const Ctx& c) { return insert_tag(good_udp(c), wire::ethertype::kVlan, 100); }},

    // ---- ARP (RFC 826)
    {"arp-bad-hlen", "hardware address length 8 for Ethernet (Linux arp_rcv refuses)",
     "ARP_MALFORMED", "ArpInErrors", -1,
     [](const Ctx& c) {
       Frame f = arp_request(c);
       f[kL3 + 4] = 8;
       return f;
     }},
    {"arp-bad-htype", "hardware type 6 (IEEE 802) on Ethernet", "ARP_MALFORMED", "ArpInErrors", -1,
     [](const Ctx& c) {
       Frame f = arp_request(c);
       wire::store_be16(&f[kL3], 6);
       return f;
     }},
    {"arp-truncated", "20 of the 28 bytes of an Ethernet/IPv4 ARP packet", "ARP_MALFORMED",
     "ArpInErrors", -1,
     [](const Ctx& c) {
       Frame f = arp_request(c);
       f.resize(kL3 + 20);
       return f;
     }},
    {"arp-bad-op", "operation 3 (RARP request) is not ARP", "ARP_MALFORMED", "ArpInErrors", -1,
     [](const Ctx& c) {
       Frame f = arp_request(c);
       wire::store_be16(&f[kL3 + 6], 3);
       return f;
     }},
    {"arp-own-ip", "someone else claims our address (an RFC 5227 conflict)", "ARP_INVALID_SENDER",
     "ArpInErrors", -1,
     [](const Ctx& c) {
       Frame f = arp_request(c);
       c.dst_ip.store(&f[kL3 + 14]);
       return f;
     }},
    {"arp-multicast-sender", "a multicast sender hardware address (Linux arp_process ignores it)",
     "ARP_INVALID_SENDER", "ArpInErrors", -1,
     [](const Ctx& c) {
       Frame f = arp_request(c);
       wire::MacAddress({0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}).store(&f[kL3 + 8]);
       return f;
     }},

    // ---- IPv4 header (RFC 791, RFC 1122 3.2.1, Linux ip_rcv_core)
    {"runt-ipv4", "an Ethernet header and 6 bytes of IPv4", "IP_TOO_SHORT",
     "IpInReceives IpInHdrErrors", -1,
     [](const Ctx& c) {
       Frame f = good_udp(c);
       f.resize(kL3 + 6);
       return f;
     }},
    {"bad-version", "version 6 in an IPv4 EtherType frame (RFC 1122 3.2.1.1)", "IP_BAD_VERSION",
     "IpInReceives IpInHdrErrors", -1,
     [](const Ctx& c) {
       Frame f = good_udp(c);
       f[kL3] = 0x65;
       fix_ip_checksum(f);
       return f;
     }},
    {"ihl-below-5", "IHL 4: a header shorter than 20 bytes", "IP_BAD_IHL",
     "IpInReceives IpInHdrErrors", -1,
     [](const Ctx& c) {
       Frame f = good_udp(c);
       f[kL3] = 0x44;
       fix_ip_checksum(f);
       return f;
     }},
    {"ihl-beyond-frame", "IHL 15 (60 bytes) in a 40-byte datagram", "IP_BAD_IHL",
     "IpInReceives IpInHdrErrors", -1,
     [](const Ctx& c) {
       Frame f = good_udp(c, 12);
       f[kL3] = 0x4F;
       fix_ip_checksum(f);
       return f;
     }},
    {"total-length-below-ihl", "total length 19 < the 20-byte header", "IP_BAD_TOTAL_LENGTH",
     "IpInReceives IpInHdrErrors", -1,
     [](const Ctx& c) {
       Frame f = good_udp(c);
       wire::ipv4_set_total_length(std::span(&f[kL3], 20), 19);
       return f;
     }},
    {"total-length-beyond-frame", "total length 100 bytes past the frame (Linux: InTruncatedPkts)",
     "IP_TRUNCATED", "IpInReceives IpExtInTruncatedPkts", -1,
     [](const Ctx& c) {
       Frame f = good_udp(c);
       const auto total = static_cast<uint16_t>(f.size() - kL3 + 100);
       wire::ipv4_set_total_length(std::span(&f[kL3], 20), total);
       return f;
     }},
    {"bad-ip-checksum", "header checksum off (RFC 1122 3.2.1.2; Linux counts both counters)",
     "IP_BAD_CHECKSUM", "IpInReceives IpInHdrErrors IpExtInCsumErrors", -1,
     [](const Ctx& c) {
       Frame f = good_udp(c);
       f[kL3 + 10] ^= 0x5A;
       return f;
     }},
    {"bad-ip-options", "record route option with length 2 (Linux ip_options_compile refuses)",
     "IP_BAD_OPTIONS", "IpInReceives IpInHdrErrors", -1,
     [](const Ctx& c) {
       const uint8_t opts[2] = {wire::ipv4opt::kRecordRoute, 2};
       wire::Ipv4Repr r{.src = c.src_ip, .dst = c.dst_ip, .protocol = wire::ipproto::kUdp};
       r.options = opts;
       return ipv4_frame(c, r, udp_datagram(c, c.src_ip, c.port));
     }},
    {"martian-loopback-source", "source 127.0.0.1 on the wire (RFC 1812 5.3.7)",
     "IP_MARTIAN_SOURCE", "IpInReceives IpExtInMartianSrc", -1,
     [](const Ctx& c) {
       const auto lo = wire::Ipv4Address::from_octets(127, 0, 0, 1);
       return SimPeer(c.src_mac, lo).udp(c.dst_mac, c.dst_ip, kSrcPort, c.port, payload());
     }},
    {"martian-multicast-source", "source 224.0.0.9 (RFC 1122 3.2.1.3)", "IP_MARTIAN_SOURCE",
     "IpInReceives IpExtInMartianSrc", -1,
     [](const Ctx& c) {
       const auto mc = wire::Ipv4Address::from_octets(224, 0, 0, 9);
       return SimPeer(c.src_mac, mc).udp(c.dst_mac, c.dst_ip, kSrcPort, c.port, payload());
     }},
    {"land", "our own address as the source (Linux: martian unless accept_local)",
     "IP_MARTIAN_SOURCE", "IpInReceives IpExtInMartianSrc", -1,
     [](const Ctx& c) {
       return SimPeer(c.src_mac, c.dst_ip).udp(c.dst_mac, c.dst_ip, kSrcPort, c.port, payload());
     }},
    {"unicast-in-l2-broadcast",
     "our unicast address in a link broadcast: RFC 1122 3.3.6 SHOULD discard (Linux accepts "
     "unless drop_unicast_in_l2_multicast)",
     "IP_NOT_FOR_US", "IpInReceives IpInAddrErrors", -1,
     [](const Ctx& c) {
       return SimPeer(c.src_mac, c.src_ip)
           .udp(wire::kMacBroadcast, c.dst_ip, kSrcPort, c.port, payload());
     }},
    {"multicast-not-joined", "UDP to 224.0.0.251, a group inlet has not joined",
     "IP_MULTICAST_NOT_JOINED", "IpInReceives IpInAddrErrors", -1,
     [](const Ctx& c) {
       const auto group = wire::Ipv4Address::from_octets(224, 0, 0, 251);
       return SimPeer(c.src_mac, c.src_ip)
           .udp(wire::multicast_mac(group), group, kSrcPort, c.port, payload());
     }},
    {"not-for-us", "unicast to 192.0.2.99 on a host that does not forward (RFC 1122 3.2.1.3)",
     "IP_NOT_FOR_US", "IpInReceives IpInAddrErrors", -1,
     [](const Ctx& c) {
       const auto other = wire::Ipv4Address::from_octets(192, 0, 2, 99);
       Frame f = SimPeer(c.src_mac, c.src_ip).udp(c.dst_mac, other, kSrcPort, c.port, payload());
       return f;
     }},
    {"fragment-past-64k", "a fragment reaching past 65535 bytes (ping of death): refused",
     "IP_REASM_TOO_BIG", "IpInReceives IpReasmReqds IpReasmFails", -1,
     [](const Ctx& c) {
       wire::Ipv4Repr r{.src = c.src_ip, .dst = c.dst_ip, .protocol = wire::ipproto::kUdp};
       r.more_fragments = true;
       r.frag_offset = 65528;  // the largest offset: any data runs past 65535
       std::vector<uint8_t> d(48, 0x5a);
       return ipv4_frame(c, r, d);
     }},
    {"unknown-protocol", "protocol 253: RFC 1122 3.2.2.1 protocol unreachable back",
     "IP_UNKNOWN_PROTOCOL", "IpInReceives IpInUnknownProtos IcmpOutMsgs IcmpOutDestUnreachs "
     "IcmpMsgOutType3", -1,
     [](const Ctx& c) {
       return SimPeer(c.src_mac, c.src_ip).ipv4(c.dst_mac, c.dst_ip, 253, payload(20));
     }},

    // ---- UDP (RFC 768, RFC 1122 4.1.3, Linux __udp4_lib_rcv)
    {"bad-udp-checksum", "RFC 1122 4.1.3.4: silently discarded; Linux counts both counters",
     "UDP_BAD_CHECKSUM", "IpInReceives IpInDelivers UdpInErrors UdpInCsumErrors", -1,
     [](const Ctx& c) {
       Frame f = good_udp(c);
       uint16_t sum = wire::load_be16(&f[kL4 + 6]) ^ 0x5555;
       if (sum == 0) sum = 0x1111;  // zero would mean "no checksum"
       wire::store_be16(&f[kL4 + 6], sum);
       return f;
     }},
    {"udp-length-too-big", "UDP length 10 bytes past the IP payload (Linux: short_packet)",
     "UDP_BAD_LENGTH", "IpInReceives IpInDelivers UdpInErrors", -1,
     [](const Ctx& c) {
       Frame f = good_udp(c);
       wire::store_be16(&f[kL4 + 4], static_cast<uint16_t>(8 + 32 + 10));
       return f;
     }},
    {"udp-length-below-8", "UDP length 7, shorter than its own header", "UDP_BAD_LENGTH",
     "IpInReceives IpInDelivers UdpInErrors", -1,
     [](const Ctx& c) {
       Frame f = good_udp(c);
       wire::store_be16(&f[kL4 + 4], 7);
       return f;
     }},
    {"udp-truncated-header", "4 bytes of UDP header in the IP payload", "UDP_TOO_SHORT",
     "IpInReceives IpInDelivers UdpInErrors", -1,
     [](const Ctx& c) {
       return SimPeer(c.src_mac, c.src_ip)
           .ipv4(c.dst_mac, c.dst_ip, wire::ipproto::kUdp, std::vector<uint8_t>{0x9c, 0x40, 0x1b, 0x58});
     }},
    {"broadcast-closed-port",
     "broadcast to a port nobody listens on: no ICMP error (RFC 1122 3.2.2), UdpIgnoredMulti",
     "UDP_MULTICAST_NO_SOCKET", "IpInReceives IpInDelivers IpExtInBcastPkts UdpIgnoredMulti", -1,
     [](const Ctx& c) {
       const auto bcast = wire::Ipv4Address::from_octets(192, 0, 2, 255);
       return SimPeer(c.src_mac, c.src_ip)
           .udp(wire::kMacBroadcast, bcast, kSrcPort, static_cast<uint16_t>(c.port + 1), payload());
     }},
    {"udp-closed-port", "RFC 1122 4.1.3.1: port unreachable back", "UDP_NO_PORT",
     "IpInReceives IpInDelivers UdpNoPorts IcmpOutMsgs IcmpOutDestUnreachs IcmpMsgOutType3", -1,
     [](const Ctx& c) {
       return SimPeer(c.src_mac, c.src_ip)
           .udp(c.dst_mac, c.dst_ip, kSrcPort, static_cast<uint16_t>(c.port + 1), payload());
     }},

    // ---- ICMP (RFC 792, RFC 1122 3.2.2)
    {"icmp-bad-checksum", "echo request with a bad checksum: no reply (Linux counts both)",
     "ICMP_BAD_CHECKSUM", "IpInReceives IpInDelivers IcmpInMsgs IcmpInErrors IcmpInCsumErrors", -1,
     [](const Ctx& c) {
       Frame f = SimPeer(c.src_mac, c.src_ip).icmp_echo(c.dst_mac, c.dst_ip, 77, 1, payload(16));
       f[kL4 + 2] ^= 0x5A;
       return f;
     }},
    {"icmp-truncated", "4 bytes of ICMP, less than its 8-byte header", "ICMP_TOO_SHORT",
     "IpInReceives IpInDelivers IcmpInMsgs IcmpInErrors", -1,
     [](const Ctx& c) {
       return SimPeer(c.src_mac, c.src_ip)
           .ipv4(c.dst_mac, c.dst_ip, wire::ipproto::kIcmp, std::vector<uint8_t>{8, 0, 0xf7, 0xff});
     }},
    {"icmp-unsolicited-echo-reply", "an echo reply nobody asked for: counted, consumed", "-",
     "IpInReceives IpInDelivers IcmpInMsgs IcmpInEchoReps IcmpMsgInType0", -1,
     [](const Ctx& c) {
       const std::vector<uint8_t> data = payload(16);  // the Repr only points at it
       wire::IcmpRepr r = wire::IcmpRepr::echo_reply(77, 1, data);
       std::vector<uint8_t> msg(r.total_length());
       r.emit(msg);
       return SimPeer(c.src_mac, c.src_ip).ipv4(c.dst_mac, c.dst_ip, wire::ipproto::kIcmp, msg);
     }},
    {"icmp-unknown-type", "type 99: RFC 1122 3.2.2 unknown types MUST be silently discarded", "-",
     "IpInReceives IpInDelivers IcmpInMsgs", -1,
     [](const Ctx& c) {
       wire::IcmpRepr r{99, 0, 0, {}};
       std::vector<uint8_t> msg(r.total_length());
       r.emit(msg);
       return SimPeer(c.src_mac, c.src_ip).ipv4(c.dst_mac, c.dst_ip, wire::ipproto::kIcmp, msg);
     }},
};

// Frames for scenarios rather than for the garbage run: not part of "all" or
// of the "kinds" table, sent by name only.
const Kind kScenarioKinds[] = {
    {"echo-from-silent-host",
     "an echo request from 192.0.2.77, which answers no ARP: the reply waits in the "
     "unresolved queue, ARP gives up after mcast_solicit probes and drops it",
     "ARP_UNRESOLVED", "IpInReceives IpInDelivers IcmpInMsgs IcmpInEchos IcmpMsgInType8 "
     "IcmpOutMsgs IcmpOutEchoReps IcmpMsgOutType0 IpOutRequests ArpUnresolvedDiscards", -1,
     [](const Ctx& c) {
       const auto silent = wire::Ipv4Address::from_octets(192, 0, 2, 77);
       return SimPeer(c.src_mac, silent).icmp_echo(c.dst_mac, c.dst_ip, 78, 1, payload(16));
     }},
};

const Kind* find_kind(std::string_view name) {
  for (const Kind& k : kKinds) {
    if (name == k.name) return &k;
  }
  for (const Kind& k : kScenarioKinds) {
    if (name == k.name) return &k;
  }
  return nullptr;
}

int kinds() {
  for (const Kind& k : kKinds) {
    std::printf("%s\t%s\t%s\t%d\t%s\n", k.name, k.drop, k.counters, k.delivered_bytes, k.why);
  }
  return 0;
}

// ---------------------------------------------------------------- raw-send

int raw_send(int argc, char** argv) {
  if (argc < 3) usage();
  const std::string ifname = argv[0];
  auto dst_mac = wire::MacAddress::parse(argv[1]);
  if (!dst_mac) die(std::string("bad DST_MAC ") + argv[1]);
  std::vector<const Kind*> todo;
  for (int i = 2; i < argc; ++i) {
    if (std::string_view(argv[i]) == "all") {
      for (const Kind& k : kKinds) todo.push_back(&k);
      continue;
    }
    const Kind* k = find_kind(argv[i]);
    if (k == nullptr) die(std::string("unknown kind '") + argv[i] + "' (see: inlet-testpeer kinds)");
    todo.push_back(k);
  }

  const unsigned ifindex = if_nametoindex(ifname.c_str());
  if (ifindex == 0) die("no interface " + ifname);
  // Protocol 0: this socket sends only and never receives a copy of anything.
  const int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd < 0) die(std::string("socket(AF_PACKET): ") + strerror(errno));
  ifreq ifr{};
  std::snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname.c_str());
  if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) die(std::string("SIOCGIFHWADDR: ") + strerror(errno));

  Ctx ctx;
  ctx.src_mac = wire::MacAddress::load(reinterpret_cast<const uint8_t*>(ifr.ifr_hwaddr.sa_data));
  ctx.dst_mac = *dst_mac;
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_ifindex = static_cast<int>(ifindex);
  to.sll_protocol = 0;  // the kernel reads it from the frame's EtherType
  to.sll_halen = 6;
  dst_mac->store(to.sll_addr);
  for (const Kind* k : todo) {
    const Frame f = k->build(ctx);
    const ssize_t w = sendto(fd, f.data(), f.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    if (w < 0) die(std::string("send ") + k->name + ": " + strerror(errno));
    if (static_cast<size_t>(w) != f.size()) die(std::string("short send ") + k->name);
    std::printf("sent %-26s %4zu bytes\n", k->name, f.size());
  }
  close(fd);
  return 0;
}

int pattern_hex(int argc, char** argv) {
  if (argc != 2) usage();
  const long index = parse_number(argv[0], 0, 1000000, "INDEX");
  const long size = parse_number(argv[1], 0, 65507, "SIZE");
  for (long j = 0; j < size; ++j) std::printf("%02x", pattern_byte(index, static_cast<size_t>(j)));
  std::printf("\n");
  return 0;
}

// ---------------------------------------------------------------- tcp-send

using SteadyClock = std::chrono::steady_clock;

// The bytes connection `index` sends: splitmix64 seeded by (seed, index), in
// 8-byte words. Only the very last chunk of a stream may be shorter than a
// multiple of 8, so the stream depends on nothing but (seed, index, length).
class Stream {
 public:
  Stream(uint64_t seed, uint64_t index)
      : state_(seed * 0x9E3779B97F4A7C15ull ^ (index + 1) * 0xD1B54A32D192ED03ull) {}
  void fill(uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; i += 8) {
      const uint64_t v = next();
      memcpy(p + i, &v, std::min<size_t>(8, n - i));
    }
  }

 private:
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t state_;
};

constexpr size_t kChunk = 64 * 1024;  // a multiple of 8 (see Stream)

struct Conn {
  enum class State { kIdle, kConnecting, kSending, kHolding, kDraining, kDone, kFailed };
  explicit Conn(uint64_t seed, uint64_t index) : stream(seed, index) {}
  State state = State::kIdle;
  int fd = -1;
  uint16_t lport = 0;
  uint64_t generated = 0, sent = 0, syn_data = 0;
  std::vector<uint8_t> chunk;
  size_t off = 0;  // chunk[off..] is generated but not yet sent
  Stream stream;
  inlet::examples::Sha256 sha;
  SteadyClock::time_point start, hold_until, done_at;
  tcp_info info{};
  std::string error;
};

const char* conn_state_name(Conn::State s) {
  switch (s) {
    case Conn::State::kIdle: return "idle";
    case Conn::State::kConnecting: return "connecting";
    case Conn::State::kSending: return "sending";
    case Conn::State::kHolding: return "holding";
    case Conn::State::kDraining: return "waiting-for-fin";
    case Conn::State::kDone: return "done";
    case Conn::State::kFailed: return "failed";
  }
  return "?";
}

// tcp-send --fast: one pseudo-random chunk sent again and again, no sha256,
// so a throughput benchmark measures the receiver rather than this sender.
bool g_fast_send = false;

void refill(Conn& c, uint64_t total) {
  if (c.off < c.chunk.size() || c.generated >= total) return;
  const size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, total - c.generated));
  if (g_fast_send && c.generated > 0) {
    c.chunk.resize(n);  // the first chunk's bytes again
    c.generated += n;
    c.off = 0;
    return;
  }
  c.chunk.resize(n);
  c.stream.fill(c.chunk.data(), n);
  if (!g_fast_send) c.sha.update(std::span<const uint8_t>(c.chunk.data(), n));
  c.generated += n;
  c.off = 0;
}

void conn_fail(Conn& c, const std::string& why) {
  c.error = why;
  c.state = Conn::State::kFailed;
  if (c.fd >= 0) close(c.fd);
  c.fd = -1;
}

uint16_t local_port(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) < 0) return 0;
  return ntohs(a.sin_port);
}

tcp_info get_tcp_info(int fd) {
  tcp_info ti{};
  socklen_t len = sizeof ti;
  getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len);
  return ti;
}

void conn_start(Conn& c, const sockaddr_in& to, bool fastopen, uint64_t total) {
  c.start = SteadyClock::now();
  c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) die(std::string("socket: ") + strerror(errno));
  c.state = Conn::State::kConnecting;
  if (fastopen) {
    // With a cached cookie the SYN carries the first bytes and sendto says
    // how many; without one the kernel asks for a cookie (EINPROGRESS) and
    // the data follows the handshake.
    refill(c, total);
    const ssize_t w = sendto(c.fd, c.chunk.data(), c.chunk.size(), MSG_FASTOPEN | MSG_NOSIGNAL,
                             reinterpret_cast<const sockaddr*>(&to), sizeof to);
    if (w >= 0) {
      c.off += static_cast<size_t>(w);
      c.sent += static_cast<uint64_t>(w);
      c.syn_data = static_cast<uint64_t>(w);
    } else if (errno != EINPROGRESS) {
      conn_fail(c, std::string("sendto(MSG_FASTOPEN): ") + strerror(errno));
      return;
    }
  } else if (connect(c.fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) < 0 &&
             errno != EINPROGRESS) {
    conn_fail(c, std::string("connect: ") + strerror(errno));
    return;
  }
  c.lport = local_port(c.fd);
}

// Sends until the socket is full or the stream is all sent.
void conn_send(Conn& c, uint64_t total, int hold_open_ms) {
  for (;;) {
    refill(c, total);
    if (c.off == c.chunk.size()) break;  // everything sent
    const ssize_t w = send(c.fd, c.chunk.data() + c.off, c.chunk.size() - c.off, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      conn_fail(c, std::string("send: ") + strerror(errno));
      return;
    }
    c.off += static_cast<size_t>(w);
    c.sent += static_cast<uint64_t>(w);
  }
  c.hold_until = SteadyClock::now() + std::chrono::milliseconds(hold_open_ms);
  c.state = Conn::State::kHolding;
}

int tcp_send(int argc, char** argv) {
  if (argc < 2) usage();
  in_addr dst{};
  if (inet_pton(AF_INET, argv[0], &dst) != 1) die(std::string("bad DST_IP ") + argv[0]);
  const auto port = static_cast<uint16_t>(parse_number(argv[1], 1, 65535, "PORT"));
  uint64_t total = 1 << 20;
  long conns = 1, seed = 1, hold_open_ms = 0, timeout_s = 60;
  bool fastopen = false;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage();
      return argv[++i];
    };
    if (a == "--bytes") {
      total = static_cast<uint64_t>(parse_number(value(), 0, 1L << 40, "--bytes"));
    } else if (a == "--conns") {
      conns = parse_number(value(), 1, 10000, "--conns");
    } else if (a == "--seed") {
      seed = parse_number(value(), 0, 1L << 40, "--seed");
    } else if (a == "--fastopen") {
      fastopen = true;
    } else if (a == "--fast") {
      g_fast_send = true;
    } else if (a == "--hold-open") {
      hold_open_ms = parse_number(value(), 0, 600000, "--hold-open");
    } else if (a == "--timeout") {
      timeout_s = parse_number(value(), 1, 3600, "--timeout");
    } else {
      usage();
    }
  }
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr = dst;

  std::vector<Conn> cs;
  cs.reserve(static_cast<size_t>(conns));
  for (long i = 0; i < conns; ++i) cs.emplace_back(static_cast<uint64_t>(seed), static_cast<uint64_t>(i));
  const auto t0 = SteadyClock::now();
  const auto deadline = t0 + std::chrono::seconds(timeout_s);
  // Fast Open needs the previous connection's cookie: one at a time.
  size_t next = 0;
  auto start_more = [&] {
    while (next < cs.size()) {
      if (fastopen && next > 0 && cs[next - 1].state != Conn::State::kDone &&
          cs[next - 1].state != Conn::State::kFailed) {
        break;
      }
      conn_start(cs[next++], to, fastopen, total);
    }
  };
  start_more();
  std::vector<pollfd> pfds;
  std::vector<size_t> who;
  for (;;) {
    const auto now = SteadyClock::now();
    if (now >= deadline) break;
    pfds.clear();
    who.clear();
    auto wait_ms = std::chrono::milliseconds(100);
    bool active = next < cs.size();
    for (size_t i = 0; i < cs.size(); ++i) {
      Conn& c = cs[i];
      short ev = 0;
      switch (c.state) {
        case Conn::State::kConnecting:
        case Conn::State::kSending: ev = POLLOUT; break;
        case Conn::State::kDraining: ev = POLLIN; break;
        case Conn::State::kHolding:
          if (now >= c.hold_until) {
            shutdown(c.fd, SHUT_WR);
            c.state = Conn::State::kDraining;
            ev = POLLIN;
          } else {
            wait_ms = std::min(wait_ms, std::chrono::duration_cast<std::chrono::milliseconds>(
                                            c.hold_until - now) + std::chrono::milliseconds(1));
          }
          break;
        default: break;
      }
      if (c.state != Conn::State::kDone && c.state != Conn::State::kFailed && c.state != Conn::State::kIdle) {
        active = true;
      }
      if (ev != 0) {
        pfds.push_back({c.fd, ev, 0});
        who.push_back(i);
      }
    }
    if (!active) break;
    const int r = poll(pfds.data(), pfds.size(), static_cast<int>(wait_ms.count()));
    if (r < 0 && errno != EINTR) die(std::string("poll: ") + strerror(errno));
    for (size_t k = 0; r > 0 && k < pfds.size(); ++k) {
      if (pfds[k].revents == 0) continue;
      Conn& c = cs[who[k]];
      if (c.state == Conn::State::kConnecting) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          conn_fail(c, std::string("connect: ") + strerror(err));
          continue;
        }
        c.state = Conn::State::kSending;
      }
      if (c.state == Conn::State::kSending) {
        conn_send(c, total, static_cast<int>(hold_open_ms));
      } else if (c.state == Conn::State::kDraining) {
        uint8_t buf[4096];
        for (int reads = 0; reads < 64; ++reads) {
          const ssize_t n = recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
          if (n > 0) continue;  // the sink sends no data; ignore any
          if (n == 0) {         // the peer's FIN: it has taken every byte
            c.info = get_tcp_info(c.fd);
            close(c.fd);
            c.fd = -1;
            c.done_at = SteadyClock::now();
            c.state = Conn::State::kDone;
          } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            conn_fail(c, std::string("recv: ") + strerror(errno));
          }
          break;
        }
      }
    }
    start_more();
  }

  int failed = 0;
  uint64_t all_bytes = 0, all_retrans = 0;
  for (Conn& c : cs) {
    if (c.state == Conn::State::kDone) {
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(c.done_at - c.start).count();
      std::printf("sent %u bytes=%llu sha256=%s\n", c.lport, static_cast<unsigned long long>(c.sent),
                  g_fast_send ? "-" : c.sha.hex_digest().c_str());
      std::printf("info %u retrans=%u rtt_us=%u ms=%lld syn_data=%llu syn_data_acked=%d\n", c.lport,
                  c.info.tcpi_total_retrans, c.info.tcpi_rtt, static_cast<long long>(ms),
                  static_cast<unsigned long long>(c.syn_data),
                  (c.info.tcpi_options & TCPI_OPT_SYN_DATA) != 0 ? 1 : 0);
      all_bytes += c.sent;
      all_retrans += c.info.tcpi_total_retrans;
      continue;
    }
    ++failed;
    std::string what = c.error;
    if (c.fd >= 0) {
      const tcp_info ti = get_tcp_info(c.fd);
      what = "tcp state " + std::to_string(ti.tcpi_state) + " unacked=" + std::to_string(ti.tcpi_unacked) +
             " retrans=" + std::to_string(ti.tcpi_total_retrans) + " rto_us=" + std::to_string(ti.tcpi_rto) +
             " snd_cwnd=" + std::to_string(ti.tcpi_snd_cwnd);
      close(c.fd);
    }
    std::fprintf(stderr, "inlet-testpeer: connection %u %s after %llu of %llu bytes: %s\n", c.lport,
                 conn_state_name(c.state), static_cast<unsigned long long>(c.sent),
                 static_cast<unsigned long long>(total), what.empty() ? "timed out" : what.c_str());
  }
  const double secs = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  std::printf("tcp-send: conns=%ld done=%ld bytes=%llu ms=%.0f MBps=%.1f retrans=%llu\n", conns,
              conns - failed, static_cast<unsigned long long>(all_bytes), secs * 1000,
              static_cast<double>(all_bytes) / 1e6 / std::max(secs, 1e-6),
              static_cast<unsigned long long>(all_retrans));
  return failed == 0 ? 0 : 1;
}

// ---------------------------------------------------------------- syn-flood

volatile sig_atomic_t g_flood_stop = 0;
void on_flood_signal(int) { g_flood_stop = 1; }

int syn_flood(int argc, char** argv) {
  if (argc < 2) usage();
  auto dst = wire::Ipv4Address::parse(argv[0]);
  if (!dst) die(std::string("bad DST_IP ") + argv[0]);
  // Spoofed sources stay inside TEST-NET-1, and so must the target.
  if ((dst->value() & 0xFFFFFF00u) != 0xC0000200u) die("syn-flood only targets 192.0.2.0/24");
  const auto port = static_cast<uint16_t>(parse_number(argv[1], 1, 65535, "PORT"));
  long count = 1000, rate = 1000, seed = 1;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--count" && i + 1 < argc) {
      count = parse_number(argv[++i], 1, 1000000, "--count");
    } else if (a == "--rate" && i + 1 < argc) {
      rate = parse_number(argv[++i], 1, 1000000, "--rate");
    } else if (a == "--seed" && i + 1 < argc) {
      seed = parse_number(argv[++i], 0, 1L << 40, "--seed");
    } else {
      usage();
    }
  }
  // SIGTERM ends the flood early, still with its report.
  struct sigaction sa {};
  sa.sa_handler = on_flood_signal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  const int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);  // IP_HDRINCL implied
  if (fd < 0) die(std::string("socket(SOCK_RAW): ") + strerror(errno));
  std::mt19937_64 rng(static_cast<uint64_t>(seed));
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(dst->value());
  // A SYN as Linux sends one: MSS, SACK permitted, timestamps, window scale.
  constexpr size_t kIp = 20, kTcp = 40;
  uint8_t pkt[kIp + kTcp];
  const auto t0 = SteadyClock::now();
  // Bounded: three times the nominal duration, plus 5 s.
  const auto limit = t0 + std::chrono::milliseconds(count * 3000 / rate + 5000);
  long sent = 0, refused = 0;
  for (long i = 0; i < count && !g_flood_stop && SteadyClock::now() < limit; ++i) {
    const auto due = t0 + std::chrono::microseconds(i * 1000000 / rate);
    if (SteadyClock::now() < due) std::this_thread::sleep_until(due);
    const auto src = wire::Ipv4Address::from_octets(192, 0, 2, static_cast<uint8_t>(100 + rng() % 100));
    const auto sport = static_cast<uint16_t>(1024 + rng() % 64000);
    memset(pkt, 0, sizeof pkt);
    pkt[0] = 0x45;
    wire::store_be16(&pkt[2], kIp + kTcp);
    wire::store_be16(&pkt[4], static_cast<uint16_t>(rng()));
    wire::store_be16(&pkt[6], 0x4000);  // DF
    pkt[8] = 64;
    pkt[9] = wire::ipproto::kTcp;
    src.store(&pkt[12]);
    dst->store(&pkt[16]);
    wire::store_be16(&pkt[10], wire::internet_checksum(std::span<const uint8_t>(pkt, kIp)));
    uint8_t* t = pkt + kIp;
    wire::store_be16(&t[0], sport);
    wire::store_be16(&t[2], port);
    wire::store_be32(&t[4], static_cast<uint32_t>(rng()));
    t[12] = (kTcp / 4) << 4;
    t[13] = wire::tcpflag::kSyn;
    wire::store_be16(&t[14], 64240);
    const uint8_t opts[20] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 3, 7};
    memcpy(&t[20], opts, sizeof opts);
    wire::store_be32(&t[28], static_cast<uint32_t>(rng()));  // TSval
    const uint32_t pseudo = wire::ipv4_pseudo_header_sum(src, *dst, wire::ipproto::kTcp, kTcp);
    wire::store_be16(&t[16], wire::internet_checksum(std::span<const uint8_t>(t, kTcp), pseudo));
    if (sendto(fd, pkt, sizeof pkt, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) == sizeof pkt) {
      ++sent;
    } else {
      ++refused;  // ENOBUFS and the like: the flood is best effort
    }
  }
  close(fd);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - t0).count();
  std::printf("syn-flood: sent=%ld refused=%ld ms=%lld sources=192.0.2.100-199\n", sent, refused,
              static_cast<long long>(ms));
  return sent > 0 ? 0 : 1;
}


// ---------------------------------------------------------------- tcp-recv

// The receiving end for the router tests: a kernel listener on ADDR:PORT
// that takes CONNS connections (at once), reads each to its end, digests the
// bytes and closes (which is the FIN tcp-send waits for).
int tcp_recv(int argc, char** argv) {
  if (argc < 2) usage();
  in_addr addr{};
  if (inet_pton(AF_INET, argv[0], &addr) != 1) die(std::string("bad ADDR ") + argv[0]);
  const auto port = static_cast<uint16_t>(parse_number(argv[1], 1, 65535, "PORT"));
  long conns = 1, timeout_s = 60;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--conns" && i + 1 < argc) {
      conns = parse_number(argv[++i], 1, 10000, "--conns");
    } else if (a == "--timeout" && i + 1 < argc) {
      timeout_s = parse_number(argv[++i], 1, 3600, "--timeout");
    } else {
      usage();
    }
  }
  const int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (lfd < 0) die(std::string("socket: ") + strerror(errno));
  const int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_port = htons(port);
  local.sin_addr = addr;
  if (bind(lfd, reinterpret_cast<sockaddr*>(&local), sizeof local) < 0) die(std::string("bind: ") + strerror(errno));
  if (listen(lfd, 128) < 0) die(std::string("listen: ") + strerror(errno));
  std::fprintf(stderr, "tcp-recv: listening on %s:%u\n", argv[0], port);
  struct In {
    int fd;
    uint16_t peer_port;
    uint64_t bytes = 0;
    inlet::examples::Sha256 sha;
  };
  std::vector<In> ins;
  long accepted = 0, finished = 0;
  std::vector<uint8_t> buf(256 * 1024);
  const auto t0 = SteadyClock::now();
  const auto deadline = t0 + std::chrono::seconds(timeout_s);
  while (finished < conns && SteadyClock::now() < deadline) {
    std::vector<pollfd> pfds;
    pfds.push_back({lfd, static_cast<short>(accepted < conns ? POLLIN : 0), 0});
    for (const In& c : ins) pfds.push_back({c.fd, static_cast<short>(c.fd >= 0 ? POLLIN : 0), 0});
    const int r = poll(pfds.data(), pfds.size(), 100);
    if (r < 0 && errno != EINTR) die(std::string("poll: ") + strerror(errno));
    if (r <= 0) continue;
    if ((pfds[0].revents & POLLIN) != 0) {
      sockaddr_in from{};
      socklen_t len = sizeof from;
      const int fd = accept4(lfd, reinterpret_cast<sockaddr*>(&from), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd >= 0) {
        ins.push_back(In{fd, ntohs(from.sin_port)});
        ++accepted;
      }
    }
    for (size_t k = 1; k < pfds.size(); ++k) {
      if (pfds[k].revents == 0) continue;
      In& c = ins[k - 1];
      for (int reads = 0; reads < 64; ++reads) {
        const ssize_t n = recv(c.fd, buf.data(), buf.size(), 0);
        if (n > 0) {
          c.sha.update(std::span<const uint8_t>(buf.data(), static_cast<size_t>(n)));
          c.bytes += static_cast<uint64_t>(n);
          continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
          if (n < 0) std::fprintf(stderr, "tcp-recv: connection %u: %s\n", c.peer_port, strerror(errno));
          std::printf("recv %u bytes=%llu sha256=%s\n", c.peer_port, static_cast<unsigned long long>(c.bytes),
                      c.sha.hex_digest().c_str());
          std::fflush(stdout);
          close(c.fd);
          c.fd = -1;
          ++finished;
        }
        break;
      }
    }
  }
  close(lfd);
  const double secs = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  std::printf("tcp-recv: conns=%ld done=%ld secs=%.1f\n", conns, finished, secs);
  return finished == conns ? 0 : 1;
}

// ---------------------------------------------------------------- vlan-ping

// 802.1Q through an interface with no VLAN device (the kernel may have no
// 8021q module): tagged frames built here, sent and read on an AF_PACKET
// socket. The kernel strips a received tag into the packet's metadata
// (PACKET_AUXDATA tp_vlan_tci) whether or not 8021q is loaded, so the VID a
// reply carried is read from there (or from the frame, if still in it).
struct TaggedFrame {
  bool tagged = false;
  uint16_t vid = 0;
  std::vector<uint8_t> untagged;  // the frame with the tag taken out
};

bool read_tagged(int fd, TaggedFrame& out, int wait_ms) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, wait_ms) <= 0) return false;
  std::vector<uint8_t> buf(65536);
  uint8_t cbuf[CMSG_SPACE(sizeof(tpacket_auxdata))];
  sockaddr_ll from{};
  iovec iov{buf.data(), buf.size()};
  msghdr mh{};
  mh.msg_name = &from;
  mh.msg_namelen = sizeof from;
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = cbuf;
  mh.msg_controllen = sizeof cbuf;
  const ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
  if (n < 14) return false;
  if (from.sll_pkttype == PACKET_OUTGOING) return false;  // our own
  buf.resize(static_cast<size_t>(n));
  out = TaggedFrame{};
  for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c != nullptr; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA) continue;
    tpacket_auxdata aux{};
    memcpy(&aux, CMSG_DATA(c), sizeof aux);
    if ((aux.tp_status & TP_STATUS_VLAN_VALID) != 0) {
      out.tagged = true;
      out.vid = aux.tp_vlan_tci & 0x0fff;
    }
  }
  if (!out.tagged && n >= 18 && wire::load_be16(&buf[12]) == wire::ethertype::kVlan) {
    out.tagged = true;
    out.vid = wire::load_be16(&buf[14]) & 0x0fff;
    buf.erase(buf.begin() + 12, buf.begin() + 16);
  }
  out.untagged = std::move(buf);
  return true;
}

// vlan-ping IFNAME VID SRC_IP DST_IP [--via GW] [--count N] [--timeout-ms T]:
// a tagged ARP request for DST_IP (or GW), then N tagged echo requests to the MAC that
// answered (or to broadcast, if none did), answering tagged ARP requests for
// SRC_IP meanwhile. One line per reply; a summary line at the end.
int vlan_ping(int argc, char** argv) {
  if (argc < 4) usage();
  const std::string ifname = argv[0];
  const auto vid = static_cast<uint16_t>(parse_number(argv[1], 0, 4095, "VID"));
  auto src_ip = wire::Ipv4Address::parse(argv[2]);
  auto dst_ip = wire::Ipv4Address::parse(argv[3]);
  if (!src_ip || !dst_ip) die("bad SRC_IP or DST_IP");
  long count = 3, timeout_ms = 1000;
  std::optional<wire::Ipv4Address> via;
  for (int i = 4; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--via" && i + 1 < argc) {
      via = wire::Ipv4Address::parse(argv[++i]);
      if (!via) die(std::string("bad --via ") + argv[i]);
    } else if (a == "--count" && i + 1 < argc) {
      count = parse_number(argv[++i], 0, 1000, "--count");
    } else if (a == "--timeout-ms" && i + 1 < argc) {
      timeout_ms = parse_number(argv[++i], 1, 60000, "--timeout-ms");
    } else {
      usage();
    }
  }
  const unsigned ifindex = if_nametoindex(ifname.c_str());
  if (ifindex == 0) die("no interface " + ifname);
  const int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
  if (fd < 0) die(std::string("socket(AF_PACKET): ") + strerror(errno));
  sockaddr_ll bind_to{};
  bind_to.sll_family = AF_PACKET;
  bind_to.sll_protocol = htons(ETH_P_ALL);
  bind_to.sll_ifindex = static_cast<int>(ifindex);
  if (bind(fd, reinterpret_cast<sockaddr*>(&bind_to), sizeof bind_to) < 0) die(std::string("bind: ") + strerror(errno));
  const int one = 1;
  if (setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one) < 0) {
    die(std::string("PACKET_AUXDATA: ") + strerror(errno));
  }
  ifreq ifr{};
  std::snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname.c_str());
  if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) die(std::string("SIOCGIFHWADDR: ") + strerror(errno));
  const auto my_mac = wire::MacAddress::load(reinterpret_cast<const uint8_t*>(ifr.ifr_hwaddr.sa_data));
  const SimPeer me(my_mac, *src_ip);
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_ifindex = static_cast<int>(ifindex);
  auto send_frame = [&](const Frame& f) {
    if (sendto(fd, f.data(), f.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) {
      die(std::string("send: ") + strerror(errno));
    }
  };
  // The MAC the echos go to: DST_IP's, or the --via router's.
  const wire::Ipv4Address next_hop = via ? *via : *dst_ip;
  long arp_replies = 0, replies = 0, wrong_vid = 0, untagged = 0, arp_answered = 0;
  wire::MacAddress peer_mac({0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
  // Handles one received frame; true if it is what `want` asks for.
  auto handle = [&](const TaggedFrame& f, int want_arp, long want_seq) -> bool {
    const std::vector<uint8_t>& b = f.untagged;
    const uint16_t type = wire::load_be16(&b[12]);
    if (type == wire::ethertype::kArp && b.size() >= 14 + wire::kArpPacketLength) {
      auto arp = wire::ArpView::parse(std::span<const uint8_t>(b).subspan(14));
      if (!arp) return false;
      const wire::ArpRepr a = wire::ArpRepr::from(*arp);
      if (a.sender_ip != next_hop) return false;
      if (!f.tagged) { ++untagged; std::printf("untagged arp from %s\n", a.sender_ip.to_string().c_str()); return false; }
      if (f.vid != vid) { ++wrong_vid; std::printf("arp on vid %u\n", f.vid); return false; }
      if (a.operation == wire::ArpOperation::kRequest && a.target_ip == *src_ip) {
        send_frame(insert_tag(me.arp_reply(a.sender_mac, a.sender_ip), wire::ethertype::kVlan, vid));
        ++arp_answered;
        return false;
      }
      if (a.operation == wire::ArpOperation::kReply && a.target_ip == *src_ip) {
        peer_mac = a.sender_mac;
        ++arp_replies;
        std::printf("arp-reply vid=%u %s is-at %s\n", f.vid, a.sender_ip.to_string().c_str(),
                    a.sender_mac.to_string().c_str());
        return want_arp != 0;
      }
      return false;
    }
    if (type != wire::ethertype::kIpv4) return false;
    auto ip = wire::Ipv4View::parse(std::span<const uint8_t>(b).subspan(14));
    if (!ip || ip->src() != *dst_ip || ip->dst() != *src_ip || ip->protocol() != wire::ipproto::kIcmp) return false;
    auto icmp = wire::IcmpView::parse(ip->payload());
    if (!icmp || icmp->type() != wire::icmptype::kEchoReply) return false;
    const uint16_t seq = static_cast<uint16_t>(icmp->rest_of_header() & 0xffff);
    if (!f.tagged) { ++untagged; std::printf("untagged echo-reply seq=%u\n", seq); return false; }
    if (f.vid != vid) { ++wrong_vid; std::printf("echo-reply seq=%u on vid %u\n", seq, f.vid); return false; }
    std::printf("echo-reply vid=%u seq=%u from %s\n", f.vid, seq, ip->src().to_string().c_str());
    ++replies;
    return want_seq >= 0 && seq == want_seq;
  };
  auto wait_for = [&](int want_arp, long want_seq) {
    const auto until = SteadyClock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - SteadyClock::now()).count();
      if (left <= 0) return false;
      TaggedFrame f;
      if (read_tagged(fd, f, static_cast<int>(left)) && handle(f, want_arp, want_seq)) return true;
    }
  };
  send_frame(insert_tag(me.arp_request(next_hop), wire::ethertype::kVlan, vid));
  wait_for(1, -1);
  const std::vector<uint8_t> data = payload(56);
  for (long s = 1; s <= count; ++s) {
    send_frame(insert_tag(me.icmp_echo(peer_mac, *dst_ip, 0x7654, static_cast<uint16_t>(s), data),
                          wire::ethertype::kVlan, vid));
    wait_for(0, s);
  }
  close(fd);
  std::printf("vlan-ping: vid=%u arp_replies=%ld sent=%ld replies=%ld wrong_vid=%ld untagged=%ld arp_answered=%ld\n",
              vid, arp_replies, count, replies, wrong_vid, untagged, arp_answered);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) usage();
  const std::string_view cmd = argv[1];
  if (cmd == "udp-send") return udp_send(argc - 2, argv + 2);
  if (cmd == "raw-send") return raw_send(argc - 2, argv + 2);
  if (cmd == "kinds") return kinds();
  if (cmd == "pattern-hex") return pattern_hex(argc - 2, argv + 2);
  if (cmd == "tcp-send") return tcp_send(argc - 2, argv + 2);
  if (cmd == "syn-flood") return syn_flood(argc - 2, argv + 2);
  if (cmd == "tcp-recv") return tcp_recv(argc - 2, argv + 2);
  if (cmd == "vlan-ping") return vlan_ping(argc - 2, argv + 2);
  usage();
}
