// make_seeds: writes the fuzz targets' small seed corpora into
// fuzz/corpus/<target>/ — frames and scenarios as the unit tests build them.
//
// Build and run (./dev fuzz seeds does both):
//   g++ -std=c++20 -Ilib -I. fuzz/make_seeds.cc lib/wire/*.cc ports/sim/sim_peer.cc \
//       ports/pcap/pcap_file.cc lib/core/profiles.cc lib/core/tunables.cc $(absl libs) -o make_seeds
//   ./make_seeds fuzz/corpus
// Each file is named for what it holds; running it again rewrites the same
// bytes (no randomness but a fixed xorshift).
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/profiles.h"
#include "ports/pcap/pcap_file.h"
#include "ports/sim/sim_peer.h"
#include "wire/ethernet.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"
#include "wire/vlan.h"

namespace {
using namespace inlet;
using Bytes = std::vector<uint8_t>;
namespace fl = wire::tcpflag;

std::filesystem::path g_root;
int g_files = 0;

void write(const std::string& target, const std::string& name, const Bytes& bytes) {
  const auto dir = g_root / target;
  std::filesystem::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                                     static_cast<std::streamsize>(bytes.size()));
  ++g_files;
}
void write_text(const std::string& target, const std::string& name, std::string_view text) {
  write(target, name, Bytes(text.begin(), text.end()));
}

const wire::MacAddress kOurMac({2, 0, 0, 0, 0, 1});
const wire::Ipv4Address kOurIp(0xC0000202u);        // 192.0.2.2 (stack_frames: interface a)
const sim::SimPeer kPeer(wire::MacAddress({2, 0, 0, 0, 0, 9}), wire::Ipv4Address(0xC0000201u));

uint8_t stream_byte(uint32_t seq) { return static_cast<uint8_t>((seq * 2654435761u) >> 24); }

Bytes tcp_frame(uint32_t seq, uint32_t ack, uint8_t flags, const wire::TcpOptions& o, size_t len,
                uint16_t dport = 80) {
  wire::TcpRepr h;
  h.src_port = 40000;
  h.dst_port = dport;
  h.seq = seq;
  h.ack = ack;
  h.flags = flags;
  h.window = 65535;
  h.options = o;
  Bytes payload(len);
  for (size_t i = 0; i < len; ++i) payload[i] = stream_byte(seq + static_cast<uint32_t>(i));
  return kPeer.tcp(kOurMac, kOurIp, h, payload);
}

wire::TcpOptions syn_options() {
  wire::TcpOptions o;
  o.mss = 1460;
  o.window_scale = 7;
  o.sack_permitted = true;
  o.timestamps = wire::TcpTimestamps{1000, 0};
  return o;
}

Bytes vlan_tagged(const Bytes& frame, uint16_t vid) {
  Bytes out(frame.begin(), frame.begin() + 12);
  const uint8_t tag[4] = {0x81, 0x00, static_cast<uint8_t>(vid >> 8), static_cast<uint8_t>(vid)};
  out.insert(out.end(), tag, tag + 4);
  out.insert(out.end(), frame.begin() + 12, frame.end());
  return out;
}

// IPv4 with options (record route, timestamp), carrying an ICMP echo.
Bytes ipv4_with_options() {
  const uint8_t opts[] = {7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 68, 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  wire::IcmpRepr icmp = wire::IcmpRepr::echo_request(7, 1, {});
  Bytes msg(icmp.total_length());
  icmp.emit(msg);
  wire::Ipv4Repr ip;
  ip.src = kPeer.ip();
  ip.dst = kOurIp;
  ip.protocol = wire::ipproto::kIcmp;
  ip.options = opts;
  ip.payload_length = static_cast<uint16_t>(msg.size());
  Bytes dgram(ip.total_length());
  ip.emit(dgram);
  std::copy(msg.begin(), msg.end(), dgram.begin() + static_cast<ptrdiff_t>(ip.header_length()));
  Bytes frame(14);
  wire::EthernetRepr{kOurMac, kPeer.mac(), wire::ethertype::kIpv4}.emit(frame);
  frame.insert(frame.end(), dgram.begin(), dgram.end());
  return frame;
}

Bytes icmp_unreachable_quoting_tcp() {
  const Bytes offending = tcp_frame(1, 0, fl::kSyn, {}, 0);
  const std::span<const uint8_t> quote(offending.data() + 14, 28);
  wire::IcmpRepr icmp = wire::IcmpRepr::dest_unreachable(3, quote);
  Bytes msg(icmp.total_length());
  icmp.emit(msg);
  return kPeer.ipv4(kOurMac, kOurIp, wire::ipproto::kIcmp, msg);
}

// --- stack_frames_fuzz: records of [len_hi, len_lo, advance, frame] ---------
void add_record(Bytes& out, const Bytes& frame, uint8_t advance = 0) {
  out.push_back(static_cast<uint8_t>((frame.size() >> 8) & 0x3F));
  out.push_back(static_cast<uint8_t>(frame.size()));
  out.push_back(advance);
  out.insert(out.end(), frame.begin(), frame.end());
}

// As add_record, held in the RX ring to be polled with the next frame (a burst).
void add_held_record(Bytes& out, const Bytes& frame) {
  add_record(out, frame);
  out[out.size() - frame.size() - 3] |= 0x40;
}
// A frame scattered over buffers with offload metadata: checksum state
// `csum` (0 none, 1 unnecessary, 2 complete, 3 partial), gso_size, gso_segs.
void add_scattered_record(Bytes& out, const Bytes& frame, uint8_t csum, uint16_t gso_size, uint8_t gso_segs) {
  out.push_back(static_cast<uint8_t>(0x80 | ((frame.size() >> 8) & 0x3F)));
  out.push_back(static_cast<uint8_t>(frame.size()));
  out.push_back(csum);
  out.push_back(static_cast<uint8_t>(gso_size / 8));
  out.push_back(gso_segs);
  out.insert(out.end(), frame.begin(), frame.end());
}

// --- tcp_state_fuzz: the op language of fuzz/tcp_state_fuzz.cc ------------
struct Script {
  Bytes b;
  int kinds = 13;  // 15 when the knobs byte has 0x80: bursts and super-frames
  void knobs(uint8_t k) { kinds = (k & 0x80) ? 15 : 13; u8(k); }
  // The first op byte of kind `kind` (op % kinds; data ops are kinds 2..4)
  // whose `mask` bits equal `bits`.
  uint8_t op(int kind, uint8_t mask = 0, uint8_t bits = 0) const {
    for (int v = 0; v < 256; ++v) {
      const int k = v % kinds;
      const bool kind_ok = kind == 2 ? (k >= 2 && k <= 4) : k == kind;
      if (kind_ok && (v & mask) == bits) return static_cast<uint8_t>(v);
    }
    std::fprintf(stderr, "no op byte for kind %d mask %02x bits %02x\n", kind, mask, bits);
    std::exit(1);
  }
  void u8(uint8_t v) { b.push_back(v); }
  void u16(uint16_t v) { u8(static_cast<uint8_t>(v >> 8)); u8(static_cast<uint8_t>(v)); }
  void u32(uint32_t v) { u16(static_cast<uint16_t>(v >> 16)); u16(static_cast<uint16_t>(v)); }
  // SYN with MSS, window scale and SACK-permitted (options choice 0x07).
  void syn() { u8(op(0, 0xE0, 0)); u16(65535); u8(0x07); u16(1460); u8(7); }
  // The handshake's ACK, exact, no options.
  void ack() { u8(op(1, 0x70, 0)); u16(65535); u8(0); }
  // Data at the peer's next offset: `len` bytes (1..1460), PSH; window 65535, exact ACK.
  void data(uint16_t len, bool fin = false) {
    // 0x10|0x20 with delta 0: at the next offset; 0x40: long; bits 3..5: window 65535; low bits: exact ACK.
    const uint8_t o = op(2, 0xFC, static_cast<uint8_t>(0x78 | (fin ? 0x80 : 0)));
    u8(o); u8(0); u16(static_cast<uint16_t>(len - 1)); u8(fl::kPsh);
    if (fin) u8(0);
    u8(0);  // options
  }
  // Data relative to the stack's last ACK, `delta` * 97 bytes away.
  void data_at(int8_t delta, uint16_t len) {
    // 0x20: delta * 97; 0x10 clear: from the last ACK; 0x40: long; bits 3..5 = 5: window 29200.
    const uint8_t o = op(2, 0xFC, 0x68);
    u8(o); u8(static_cast<uint8_t>(delta)); u16(static_cast<uint16_t>(len - 1)); u8(0); u8(0);
  }
  void accept() { u8(op(11)); }
  void read() { u8(op(8, 0xC0, 0)); }
  void read_zerocopy() { u8(op(8, 0x80, 0x80)); }
  void advance(int index) { u8(op(7, 0x70, static_cast<uint8_t>(index << 4))); u8(0); }
  void close() { u8(op(10, 0x80, 0)); }
  void shutdown_write() { u8(op(10, 0x80, 0x80)); }
  void rst() { u8(op(6, 0x47, 0x00)); u8(0); u8(0); }
  // (extended language) A SYN with MSS, window scale, SACK-permitted and a
  // Fast Open option: `tfo` 0x10 a cookie request, 0x20 the cookie the stack
  // gave, 0x30 a forged one; `data` bytes on the SYN; `new_isn` starts a new
  // connection from the next port.
  void syn_fast_open(uint8_t tfo, uint16_t data, std::optional<uint32_t> new_isn = std::nullopt) {
    const uint8_t bits = static_cast<uint8_t>((new_isn ? 0x80 : 0) | (data > 0 ? 0x20 : 0));
    u8(op(0, 0xE0, bits));
    if (new_isn) u32(*new_isn);
    u16(65535); u8(static_cast<uint8_t>(0x07 | tfo)); u16(1460); u8(7);
    if (tfo == 0x30) { u8(8); for (int i = 0; i < 8; ++i) u8(static_cast<uint8_t>(0xA0 + i)); }
    if (data > 0) u16(data);
  }
  // `n` segments of `size` bytes from the peer's next offset in one poll;
  // `fault` as tcp_state_fuzz.cc's burst (0 none, 1 loss, 2 duplicate, 3 swap; bits 3..5 pick the victim).
  void burst(uint8_t n, uint16_t size, uint8_t fault) {
    u8(op(13, 0x0F, 0x08)); u8(static_cast<uint8_t>(n - 2)); u16(static_cast<uint16_t>(size - 1)); u8(0); u8(fault); u8(0);
  }
  // One `len`-byte segment at the next offset scattered over buffers; `meta`
  // bits 0..1 the checksum state, 0x30 damage a byte (at `damage_at`).
  void super_frame(uint16_t len, uint8_t meta, uint16_t damage_at = 0) {
    u8(op(14, 0x0F, 0x08)); u8(0); u16(static_cast<uint16_t>(len - 1)); u8(meta); u16(damage_at); u8(0);
  }
};

void tcp_state_seeds() {
  const std::string t = "tcp_state_fuzz";
  {
    Script s; s.knobs(0x07); s.u32(1000);
    s.syn(); s.ack(); s.accept(); s.data(100); s.data(200); s.read(); s.data(50, true); s.read(); s.close(); s.advance(6);
    write(t, "handshake_data_fin_close", s.b);
  }
  {
    Script s; s.knobs(0x07); s.u32(0xFFFFFF00u);  // the stream crosses 2^32
    s.syn(); s.ack(); s.accept(); s.data_at(3, 300); s.data_at(1, 200); s.data(97); s.read_zerocopy(); s.read(); s.advance(2);
    write(t, "out_of_order_near_wrap", s.b);
  }
  {
    Script s; s.knobs(0x01); s.u32(5);
    s.syn(); s.ack(); s.accept();
    for (int i = 0; i < 14; ++i) s.data(1400);  // past the 16 KiB receive buffer: zero window
    s.advance(4); s.advance(5); s.read(); s.data(1400); s.read(); s.shutdown_write(); s.data(10, true); s.advance(7);
    write(t, "zero_window_then_half_close", s.b);
  }
  {
    Script s; s.knobs(0x00); s.u32(77);
    s.syn(); s.ack(); s.accept(); s.data(10); s.rst(); s.advance(3);
    write(t, "reset_in_window", s.b);
  }
  {
    Script s; s.knobs(0x0F); s.u32(123456);
    s.syn(); s.advance(4); s.advance(4); s.syn(); s.ack(); s.accept(); s.close(); s.advance(7); s.advance(7);
    write(t, "synack_retransmit_then_close", s.b);
  }
  {
    Script s; s.knobs(0xA7); s.u32(4242);  // the extended ops; timestamps, SACK, window scaling, inlet.gro on
    s.syn(); s.ack(); s.accept(); s.burst(8, 1000, 0); s.read(); s.burst(6, 1448, 0x11); s.burst(5, 700, 0x0B);
    s.burst(4, 500, 0x02); s.read(); s.data(100); s.read(); s.close(); s.advance(6);
    write(t, "gro_bursts_loss_swap_duplicate", s.b);
  }
  {
    Script s; s.knobs(0x87); s.u32(0x7FFFFFF0u);
    s.syn(); s.ack(); s.accept(); s.super_frame(6000, 0); s.read(); s.super_frame(3000, 1); s.super_frame(4000, 0x30, 3999);
    s.super_frame(2500, 3); s.read(); s.super_frame(1, 2); s.read(); s.advance(3);
    write(t, "super_frames_offload_and_damage", s.b);
  }
  {
    // Fast Open on (knobs 0x40): a cookie request, a normal handshake; then a
    // new connection with the stack's cookie and 40 bytes on the SYN (below
    // 64: the harness takes the length modulo 64), read before the handshake
    // completes, then data that completes it; then one with a forged cookie.
    Script s; s.knobs(0xC7); s.u32(9000);
    s.syn_fast_open(0x10, 0); s.ack(); s.accept(); s.data(100); s.read(); s.close();
    s.syn_fast_open(0x20, 40, 50000); s.read(); s.data(200); s.read();
    s.syn_fast_open(0x30, 30, 70000); s.ack(); s.accept(); s.read(); s.advance(6);
    write(t, "fast_open_cookie_request_cookie_forged", s.b);
  }
}

uint64_t g_rng = 0x9E3779B97F4A7C15ull;
Bytes random_bytes(size_t n) {
  Bytes b(n);
  for (auto& x : b) {
    g_rng ^= g_rng << 13; g_rng ^= g_rng >> 7; g_rng ^= g_rng << 17;
    x = static_cast<uint8_t>(g_rng);
  }
  return b;
}

Bytes pcap_of(const std::vector<Bytes>& frames, bool nanosecond, bool swapped, uint32_t link = 1) {
  auto put32 = [&](Bytes& o, uint32_t v) {
    for (int i = 0; i < 4; ++i) o.push_back(static_cast<uint8_t>(swapped ? v >> (24 - 8 * i) : v >> (8 * i)));
  };
  auto put16 = [&](Bytes& o, uint16_t v) {
    o.push_back(static_cast<uint8_t>(swapped ? v >> 8 : v));
    o.push_back(static_cast<uint8_t>(swapped ? v : v >> 8));
  };
  Bytes o;
  put32(o, nanosecond ? 0xA1B23C4Du : 0xA1B2C3D4u);
  put16(o, 2); put16(o, 4); put32(o, 0); put32(o, 0); put32(o, 65535); put32(o, link);
  uint32_t ts = 1700000000;
  for (const Bytes& f : frames) {
    put32(o, ts++); put32(o, 1234); put32(o, static_cast<uint32_t>(f.size())); put32(o, static_cast<uint32_t>(f.size()));
    o.insert(o.end(), f.begin(), f.end());
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  g_root = argc > 1 ? argv[1] : "fuzz/corpus";
  const Bytes arp = kPeer.arp_request(kOurIp);
  const Bytes ping = kPeer.icmp_echo(kOurMac, kOurIp, 1, 1, Bytes(32, 0x61));
  const Bytes udp = kPeer.udp(kOurMac, kOurIp, 5000, 7000, Bytes(20, 0x62));
  const Bytes syn = tcp_frame(1000, 0, fl::kSyn, syn_options(), 0);
  const Bytes data = tcp_frame(1001, 1, fl::kAck | fl::kPsh, {}, 100);
  const Bytes ip_opts = ipv4_with_options();
  const Bytes unreach = icmp_unreachable_quoting_tcp();
  const Bytes vlan_syn = vlan_tagged(tcp_frame(5, 0, fl::kSyn, syn_options(), 0), 10);

  // wire_parsers_fuzz: one frame each.
  const std::string w = "wire_parsers_fuzz";
  write(w, "arp_request", arp);
  write(w, "icmp_echo", ping);
  write(w, "udp", udp);
  write(w, "tcp_syn_options", syn);
  write(w, "tcp_data", data);
  write(w, "ipv4_options_icmp", ip_opts);
  write(w, "icmp_unreachable_tcp_quote", unreach);
  write(w, "vlan_tcp_syn", vlan_syn);
  write(w, "qinq_arp", vlan_tagged(vlan_tagged(arp, 10), 20));
  {
    wire::TcpOptions o = syn_options();
    o.sack_permitted = false;
    o.add_sack({100, 200});
    o.add_sack({300, 400});
    write(w, "tcp_sack_blocks", tcp_frame(1001, 1, fl::kAck, o, 0));
  }

  // stack_frames_fuzz: short conversations with the configured stack.
  const std::string sf = "stack_frames_fuzz";
  {
    Bytes s;
    add_record(s, arp); add_record(s, syn, 1); add_record(s, tcp_frame(1001, 0, fl::kAck, {}, 0));
    add_record(s, data, 1); add_record(s, tcp_frame(1101, 0, fl::kAck | fl::kFin, {}, 0), 20);
    write(sf, "tcp_conversation", s);
  }
  {
    Bytes s;
    add_record(s, arp); add_record(s, ping); add_record(s, udp); add_record(s, ip_opts); add_record(s, unreach);
    write(sf, "arp_icmp_udp", s);
  }
  {
    Bytes s;
    add_record(s, vlan_tagged(arp, 10)); add_record(s, vlan_syn);
    add_record(s, kPeer.udp(kOurMac, wire::Ipv4Address(0x0A000001u), 5000, 9999, Bytes(8, 1)));  // forwarded, filtered
    add_record(s, tcp_frame(1, 0, fl::kSyn, {}, 0, 81));  // filtered port
    write(sf, "vlan_forward_filter", s);
  }

  {
    // A burst of two data segments GRO can merge, then a super-frame with
    // checksum-unnecessary offload and one with a lying gso_segs. Every third
    // record goes to the second port: a runt fills those places.
    Bytes s;
    const Bytes runt(10, 0);
    add_record(s, arp); add_record(s, syn, 1); add_record(s, runt); add_record(s, tcp_frame(1001, 0, fl::kAck, {}, 0));
    add_scattered_record(s, tcp_frame(1001, 1, fl::kAck, {}, 5000), 1, 1448, 4); add_record(s, runt);
    add_held_record(s, tcp_frame(6001, 1, fl::kAck, {}, 500)); add_record(s, tcp_frame(6501, 1, fl::kAck | fl::kPsh, {}, 500));
    add_record(s, runt);
    add_scattered_record(s, tcp_frame(7001, 1, fl::kAck | fl::kFin, {}, 3000), 0, 1448, 255);
    write(sf, "burst_and_super_frames", s);
  }

  tcp_state_seeds();

  // fib_diff_fuzz, ooo_diff_fuzz: the op streams are arbitrary bytes.
  for (size_t n : {64, 256, 1024}) {
    write("fib_diff_fuzz", "random_" + std::to_string(n), random_bytes(n));
    write("ooo_diff_fuzz", "random_" + std::to_string(n), random_bytes(n));
  }

  // text_parsers_fuzz: the profiles, sysctl lines, rule sets, addresses.
  const std::string tp = "text_parsers_fuzz";
  for (const TuningProfile& p : tuning_profiles()) {
    write_text(tp, "profile_" + std::string(p.name), p.text);
    write_text(tp, "profile_name_" + std::string(p.name), p.name);
  }
  write_text(tp, "sysctl_lines",
             "net.ipv4.tcp_rmem = 4096 131072 6291456\n-net.core.nope = 1\n; comment\n"
             "net.ipv4.tcp_sack=0\ninlet.pool.buffers = 512\nnet/ipv4/ip_forward = 1\n");
  write_text(tp, "rules_host",
             "policy input drop\npolicy forward drop\nprerouting count\n"
             "prerouting src 127.0.0.0/8 drop\ninput proto icmp accept\ninput proto tcp dport 22 accept\n"
             "input in sim0 proto udp dport 53 accept\ninput proto udp sport 67-68 dport 67-68 accept\n"
             "input proto tcp flags SYN,!ACK dport 1024-65535 drop\ninput proto 47 accept\n");
  write_text(tp, "rules_forward",
             "forward in lan0 src 10.0.0.0/8 accept\nforward dst 198.51.100.7 drop\n"
             "forward proto TCP flags rst,FIN count\n");
  write_text(tp, "address", "203.0.113.254");

  // pcap_reader_fuzz: both magics and byte orders, raw IPv4, a truncated file.
  const std::string pc = "pcap_reader_fuzz";
  const std::vector<Bytes> frames = {arp, syn, data, ping};
  write(pc, "usec_le", pcap_of(frames, false, false));
  write(pc, "nsec_be", pcap_of(frames, true, true));
  write(pc, "raw_ipv4", pcap_of({Bytes(syn.begin() + 14, syn.end())}, false, false, 101));
  Bytes cut = pcap_of(frames, false, false);
  cut.resize(cut.size() - 30);
  write(pc, "truncated_record", cut);

  std::printf("wrote %d seed files under %s\n", g_files, g_root.c_str());
  return 0;
}
