// The pcap file layer against the classic format as the pcap spec
// (draft-ietf-opsawg-pcap) and libpcap's sf-pcap.c define it, and against the
// shared captures when they are present.
#include "ports/pcap/pcap_file.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace inlet::pcap {
namespace {

namespace fs = std::filesystem;

TEST_SUITE_BEGIN("pcap_file");

// A scratch file under the system temp directory, removed at scope exit.
struct TempFile {
  explicit TempFile(const std::string& stem)
      : path((fs::temp_directory_path() /
              ("inlet_pcap_" + stem + "_" + std::to_string(::getpid()) + ".pcap"))
                 .string()) {}
  ~TempFile() {
    std::error_code ec;
    fs::remove(path, ec);
  }
  std::string path;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void spit(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 7);
  return v;
}

// Hand-built classic pcap in a chosen byte order: what another host's tcpdump wrote.
struct Crafter {
  bool big_endian;
  std::string out;

  void u16(uint16_t v) {
    if (big_endian) {
      out.push_back(static_cast<char>(v >> 8));
      out.push_back(static_cast<char>(v));
    } else {
      out.push_back(static_cast<char>(v));
      out.push_back(static_cast<char>(v >> 8));
    }
  }
  void u32(uint32_t v) {
    if (big_endian) {
      u16(static_cast<uint16_t>(v >> 16));
      u16(static_cast<uint16_t>(v));
    } else {
      u16(static_cast<uint16_t>(v));
      u16(static_cast<uint16_t>(v >> 16));
    }
  }
  void header(uint32_t magic, uint32_t snaplen, uint32_t link_type) {
    u32(magic);
    u16(2);
    u16(4);
    u32(0);
    u32(0);
    u32(snaplen);
    u32(link_type);
  }
  void record(uint32_t sec, uint32_t frac, const std::vector<uint8_t>& bytes,
              uint32_t orig_len) {
    record_header(sec, frac, static_cast<uint32_t>(bytes.size()), orig_len);
    out.append(bytes.begin(), bytes.end());
  }
  void record_header(uint32_t sec, uint32_t frac, uint32_t incl_len, uint32_t orig_len) {
    u32(sec);
    u32(frac);
    u32(incl_len);
    u32(orig_len);
  }
};

// Records as read; their `bytes` die with the next call, so keep `copies` to look at them.
std::vector<PcapReader::Record> read_all(PcapReader& r,
                                         std::vector<std::vector<uint8_t>>* copies = nullptr) {
  std::vector<PcapReader::Record> records;
  PcapReader::Record rec{};
  while (r.next(rec)) {
    records.push_back(rec);
    if (copies) copies->emplace_back(rec.bytes.begin(), rec.bytes.end());
  }
  return records;
}

bool host_is_little_endian() {
  const uint16_t one = 1;
  uint8_t first;
  std::memcpy(&first, &one, 1);
  return first == 1;
}

TEST_CASE("pcap spec §3/§5: PcapWriter output reads back record for record, to the nanosecond") {
  TempFile tmp("roundtrip");
  const std::vector<uint8_t> a = pattern(60, 1);
  const std::vector<uint8_t> b = pattern(1514, 2);
  const std::vector<uint8_t> empty;
  const int64_t t0 = 1'700'000'000'123'456'789;
  {
    auto w = PcapWriter::create(tmp.path);
    REQUIRE(w.ok());
    CHECK(w->write(t0, a).ok());
    CHECK(w->write(t0 + 1, b, 9000).ok());  // captured 1514 of a 9000-byte frame
    CHECK(w->write(0, empty).ok());
    CHECK(w->flush().ok());
    CHECK(w->records_written() == 3);
  }  // the destructor closes

  const std::string bytes = slurp(tmp.path);
  REQUIRE(bytes.size() == 24 + 3 * 16 + 60 + 1514);
  // Nanosecond magic, written in this host's order.
  const uint8_t magic_le[] = {0x4d, 0x3c, 0xb2, 0xa1};
  const bool written_le = std::memcmp(bytes.data(), magic_le, 4) == 0;
  CHECK(written_le == host_is_little_endian());

  auto r = PcapReader::open(tmp.path);
  REQUIRE(r.ok());
  CHECK(r->link_type() == kLinkEthernet);
  CHECK(r->snaplen() == kMaxRecordBytes);
  CHECK(r->nanosecond());
  CHECK_FALSE(r->byte_swapped());
  std::vector<std::vector<uint8_t>> copies;
  auto recs = read_all(*r, &copies);
  REQUIRE(recs.size() == 3);
  CHECK(recs[0].timestamp_ns == t0);
  CHECK(recs[0].original_length == 60);
  CHECK(copies[0] == a);
  CHECK(recs[1].timestamp_ns == t0 + 1);
  CHECK(recs[1].original_length == 9000);
  CHECK(copies[1] == b);
  CHECK(recs[2].timestamp_ns == 0);
  CHECK(copies[2].empty());
  CHECK(r->error().ok());
  CHECK(r->malformed_records() == 0);
  CHECK(r->records_read() == 3);
  PcapReader::Record rec{};
  CHECK_FALSE(r->next(rec));  // stays at the end

  // The in-memory path reads the same bytes the same way.
  auto m = PcapReader::from_bytes(bytes);
  REQUIRE(m.ok());
  CHECK(read_all(*m).size() == 3);
  CHECK(m->error().ok());
}

TEST_CASE("pcap spec §4: both magics in both byte orders") {
  const std::vector<uint8_t> f1 = pattern(42, 3);
  const std::vector<uint8_t> f2 = pattern(100, 4);
  for (bool big : {false, true}) {
    for (bool nano : {false, true}) {
      CAPTURE(big);
      CAPTURE(nano);
      Crafter c{big, {}};
      c.header(nano ? 0xa1b23c4d : 0xa1b2c3d4, 65535, kLinkIpv4);
      c.record(1'600'000'000, 999'999, f1, 42);
      c.record(1'600'000'001, 5, f2, 1500);
      auto r = PcapReader::from_bytes(c.out, "crafted");
      REQUIRE(r.ok());
      CHECK(r->byte_swapped() == (big == host_is_little_endian()));
      CHECK(r->nanosecond() == nano);
      CHECK(r->snaplen() == 65535);
      CHECK(r->link_type() == kLinkIpv4);
      std::vector<std::vector<uint8_t>> copies;
      auto recs = read_all(*r, &copies);
      REQUIRE(recs.size() == 2);
      const int64_t unit = nano ? 1 : 1000;
      CHECK(recs[0].timestamp_ns == 1'600'000'000LL * 1'000'000'000 + 999'999 * unit);
      CHECK(recs[1].timestamp_ns == 1'600'000'001LL * 1'000'000'000 + 5 * unit);
      CHECK(recs[0].original_length == 42);
      CHECK(recs[1].original_length == 1500);
      CHECK(copies[0] == f1);
      CHECK(copies[1] == f2);
      CHECK(r->error().ok());
    }
  }
}

TEST_CASE("a file cut at every length: clean end on a record boundary, an error inside one") {
  Crafter c{false, {}};
  c.header(0xa1b2c3d4, 262144, kLinkEthernet);
  c.record(1, 2, pattern(14, 5), 14);
  c.record(3, 4, {}, 0);  // an empty record is a boundary too
  c.record(5, 6, pattern(33, 6), 60);
  const std::string full = c.out;
  // Record boundaries: after the header and after each record.
  const std::vector<size_t> boundaries = {24, 24 + 16 + 14, 24 + 16 + 14 + 16,
                                          24 + 16 + 14 + 16 + 16 + 33};
  REQUIRE(full.size() == boundaries.back());

  TempFile tmp("truncated");
  for (size_t len = 0; len <= full.size(); ++len) {
    CAPTURE(len);
    const std::string cut = full.substr(0, len);
    spit(tmp.path, cut);
    for (bool from_file : {false, true}) {
      CAPTURE(from_file);
      auto r = from_file ? PcapReader::open(tmp.path) : PcapReader::from_bytes(cut);
      if (len < 24) {
        CHECK_FALSE(r.ok());
        CHECK(absl::IsInvalidArgument(r.status()));
        continue;
      }
      REQUIRE(r.ok());
      const auto recs = read_all(*r);
      size_t whole = 0;  // records wholly inside the cut
      bool on_boundary = false;
      for (size_t i = 0; i < boundaries.size(); ++i) {
        if (boundaries[i] <= len) whole = i;
        if (boundaries[i] == len) on_boundary = true;
      }
      CHECK(recs.size() == whole);
      if (on_boundary) {
        CHECK(r->error().ok());
        CHECK(r->malformed_records() == 0);
      } else {
        CHECK(absl::IsDataLoss(r->error()));
        CHECK(r->malformed_records() == 1);
        // The message names the file and the (1-based) record.
        CHECK(r->error().message().find("record " + std::to_string(whole + 1)) !=
              std::string::npos);
        if (from_file) CHECK(r->error().message().find(tmp.path) != std::string::npos);
      }
      PcapReader::Record rec{};
      CHECK_FALSE(r->next(rec));  // an error ends reading for good
      CHECK(r->malformed_records() == (on_boundary ? 0u : 1u));
    }
  }
}

TEST_CASE("an absurd incl_len stops the reader before it allocates") {
  SUBCASE("0xffffffff") {
    Crafter c{true, {}};
    c.header(0xa1b2c3d4, 65535, kLinkEthernet);
    c.record(1, 0, pattern(20, 1), 20);
    c.record_header(2, 0, 0xffffffff, 0xffffffff);
    c.out.append(100, 'x');
    auto r = PcapReader::from_bytes(c.out, "huge.pcap");
    REQUIRE(r.ok());
    CHECK(read_all(*r).size() == 1);
    CHECK(absl::IsDataLoss(r->error()));
    CHECK(r->malformed_records() == 1);
    CHECK(r->error().message().find("huge.pcap") != std::string::npos);
    CHECK(r->error().message().find("record 2") != std::string::npos);
  }
  SUBCASE("past snaplen + slack") {
    Crafter c{false, {}};
    c.header(0xa1b2c3d4, 100, kLinkEthernet);
    c.record_header(0, 0, 100 + kSnaplenSlack + 1, 2000);
    auto r = PcapReader::from_bytes(c.out);
    REQUIRE(r.ok());
    CHECK(r->record_limit() == 100 + kSnaplenSlack);
    CHECK(read_all(*r).empty());
    CHECK(absl::IsDataLoss(r->error()));
  }
  SUBCASE("past 256 KiB even when snaplen claims more") {
    Crafter c{false, {}};
    c.header(0xa1b2c3d4, 0x7fffffff, kLinkEthernet);
    c.record_header(0, 0, kMaxRecordBytes + 1, kMaxRecordBytes + 1);
    c.out.append(kMaxRecordBytes + 1, 'y');
    auto r = PcapReader::from_bytes(c.out);
    REQUIRE(r.ok());
    CHECK(r->record_limit() == kMaxRecordBytes);
    CHECK(read_all(*r).empty());
    CHECK(absl::IsDataLoss(r->error()));
  }
  SUBCASE("a little over snaplen is read, as libpcap does (tcpdump's fuzz files)") {
    Crafter c{false, {}};
    c.header(0xa1b2c3d4, 31, kLinkEthernet);
    c.record(0, 0, pattern(34, 9), 34);
    auto r = PcapReader::from_bytes(c.out);
    REQUIRE(r.ok());
    CHECK(read_all(*r).size() == 1);
    CHECK(r->error().ok());
  }
  SUBCASE("exactly 256 KiB is fine") {
    Crafter c{false, {}};
    c.header(0xa1b2c3d4, kMaxRecordBytes, kLinkEthernet);
    c.record(0, 0, pattern(kMaxRecordBytes, 1), kMaxRecordBytes);
    auto r = PcapReader::from_bytes(c.out);
    REQUIRE(r.ok());
    auto recs = read_all(*r);
    REQUIRE(recs.size() == 1);
    CHECK(r->error().ok());
  }
}

TEST_CASE("file headers that are not classic pcap are refused with a reason") {
  SUBCASE("pcapng") {
    // A Section Header Block: type 0x0a0d0d0a, length, byte-order magic 0x1a2b3c4d.
    const std::string shb("\x0a\x0d\x0d\x0a\x1c\x00\x00\x00\x4d\x3c\x2b\x1a\x01\x00\x00\x00"
                          "\xff\xff\xff\xff\xff\xff\xff\xff\x1c\x00\x00\x00",
                          28);
    auto r = PcapReader::from_bytes(shb, "capture.pcapng");
    REQUIRE_FALSE(r.ok());
    CHECK(absl::IsInvalidArgument(r.status()));
    CHECK(r.status().message() ==
          "capture.pcapng: pcapng is not supported; convert with editcap -F pcap");

    TempFile tmp("pcapng");
    spit(tmp.path, shb);
    auto f = PcapReader::open(tmp.path);
    REQUIRE_FALSE(f.ok());
    CHECK(f.status().message().find("pcapng is not supported") != std::string::npos);
  }
  SUBCASE("unknown magic") {
    auto r = PcapReader::from_bytes(std::string(24, 'A'));
    REQUIRE_FALSE(r.ok());
    CHECK(absl::IsInvalidArgument(r.status()));
    CHECK(r.status().message().find("not a pcap file") != std::string::npos);
  }
  SUBCASE("Kuznetzov's modified pcap") {
    Crafter c{false, {}};
    c.header(0xa1b2cd34, 65535, kLinkEthernet);
    auto r = PcapReader::from_bytes(c.out);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("modified") != std::string::npos);
  }
  SUBCASE("version other than 2") {
    Crafter c{false, {}};
    c.u32(0xa1b2c3d4);
    c.u16(1);
    c.u16(0);
    c.out.append(16, '\0');
    auto r = PcapReader::from_bytes(c.out);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("version 1.0") != std::string::npos);
  }
  SUBCASE("missing file") {
    auto r = PcapReader::open("/nonexistent/inlet/none.pcap");
    REQUIRE_FALSE(r.ok());
    CHECK(absl::IsNotFound(r.status()));
    CHECK(r.status().message().find("/nonexistent/inlet/none.pcap") != std::string::npos);
  }
}

TEST_CASE("pcap spec §4 LinkType: FCS bits are masked, DLT_RAW 12 and 14 read as LINKTYPE_RAW") {
  struct Case {
    uint32_t field;
    uint32_t link_type;
    uint32_t fcs;
  };
  for (const Case& k : {Case{1, kLinkEthernet, 0}, Case{12, kLinkRaw, 0}, Case{14, kLinkRaw, 0},
                        Case{101, kLinkRaw, 0}, Case{113, kLinkLinuxSll, 0},
                        Case{276, kLinkLinuxSll2, 0},
                        // F bit clear: the FCS nibble means nothing (tcpdump test files have it)
                        Case{0x30000001, kLinkEthernet, 0},
                        // F bit set, 2 sixteen-bit words: a 4-byte Ethernet FCS
                        Case{0x24000001, kLinkEthernet, 4}}) {
    CAPTURE(k.field);
    Crafter c{false, {}};
    c.header(0xa1b2c3d4, 65535, k.field);
    auto r = PcapReader::from_bytes(c.out);
    REQUIRE(r.ok());
    CHECK(r->link_type() == k.link_type);
    CHECK(r->raw_link_type() == k.field);
    CHECK(r->fcs_length() == k.fcs);
  }
}

TEST_CASE("PcapWriter: snaplen cuts, bad arguments are refused, closed writers say so") {
  TempFile tmp("writer");
  auto w = PcapWriter::create(tmp.path, kLinkRaw, 64);
  REQUIRE(w.ok());
  const std::vector<uint8_t> big = pattern(100, 1);
  CHECK(w->write(5, big).ok());
  CHECK(absl::IsInvalidArgument(w->write(-1, big)));
  CHECK(absl::IsInvalidArgument(w->write(int64_t{UINT32_MAX} * 1'000'000'000 + 1'000'000'000, big)));
  CHECK(w->write(int64_t{UINT32_MAX} * 1'000'000'000 + 999'999'999, big).ok());
  const absl::Status short_orig = w->write(1, big, 99);
  CHECK(absl::IsInvalidArgument(short_orig));
  CHECK(short_orig.message().find("record 3") != std::string::npos);
  CHECK(short_orig.message().find(tmp.path) != std::string::npos);

  PcapWriter moved = std::move(*w);
  CHECK(absl::IsFailedPrecondition(w->write(1, big)));  // NOLINT(bugprone-use-after-move)
  CHECK(moved.close().ok());
  CHECK(absl::IsFailedPrecondition(moved.write(1, big)));

  auto r = PcapReader::open(tmp.path);
  REQUIRE(r.ok());
  CHECK(r->link_type() == kLinkRaw);
  CHECK(r->snaplen() == 64);
  auto recs = read_all(*r);
  REQUIRE(recs.size() == 2);
  CHECK(r->error().ok());

  auto r2 = PcapReader::open(tmp.path);
  REQUIRE(r2.ok());
  PcapReader::Record rec{};
  REQUIRE(r2->next(rec));
  CHECK(rec.bytes.size() == 64);
  CHECK(rec.original_length == 100);
  CHECK(std::equal(rec.bytes.begin(), rec.bytes.end(), big.begin()));
  REQUIRE(r2->next(rec));
  CHECK(rec.timestamp_ns == int64_t{UINT32_MAX} * 1'000'000'000 + 999'999'999);

  CHECK(absl::IsInvalidArgument(PcapWriter::create(tmp.path, 1, 0).status()));
  CHECK(absl::IsInvalidArgument(PcapWriter::create(tmp.path, 1, kMaxRecordBytes + 1).status()));
  CHECK_FALSE(PcapWriter::create("/nonexistent/inlet/out.pcap").ok());
}

TEST_CASE("Linux cooked capture headers (LINKTYPE_LINUX_SLL / LINKTYPE_LINUX_SLL2)") {
  SUBCASE("SLL: packet type, ARPHRD, addr len, 8 addr bytes, protocol") {
    const std::vector<uint8_t> h = {0x00, 0x04,                    // outgoing
                                    0x00, 0x01,                    // ARPHRD_ETHER
                                    0x00, 0x06,                    // addr len
                                    1, 2, 3, 4, 5, 6, 0, 0,        // address
                                    0x08, 0x00,                    // IPv4
                                    0x45, 0x00};                   // network header
    auto s = parse_sll(h);
    REQUIRE(s.has_value());
    CHECK(s->packet_type == kSllOutgoing);
    CHECK(s->arphrd_type == 1);
    CHECK(s->protocol == 0x0800);
    CHECK(s->header_length == 16);
    for (size_t n = 0; n < 16; ++n) {
      CAPTURE(n);
      CHECK_FALSE(parse_sll(std::span(h).first(n)).has_value());
    }
    CHECK(parse_sll(std::span(h).first(16)).has_value());
  }
  SUBCASE("SLL2: protocol, reserved, ifindex, ARPHRD, packet type, addr len, 8 addr bytes") {
    const std::vector<uint8_t> h = {0x08, 0x06,                    // ARP
                                    0x00, 0x00,                    // reserved
                                    0x00, 0x00, 0x00, 0x02,        // ifindex
                                    0x03, 0x04,                    // ARPHRD_LOOPBACK (772)
                                    0x01,                          // broadcast
                                    0x06,                          // addr len
                                    1, 2, 3, 4, 5, 6, 0, 0};
    auto s = parse_sll2(h);
    REQUIRE(s.has_value());
    CHECK(s->packet_type == kSllBroadcast);
    CHECK(s->protocol == 0x0806);
    CHECK(s->arphrd_type == 772);
    CHECK(s->header_length == 20);
    for (size_t n = 0; n < 20; ++n) {
      CAPTURE(n);
      CHECK_FALSE(parse_sll2(std::span(h).first(n)).has_value());
    }
  }
}

#ifdef INLET_SHARED_DIR
// MANIFEST.tsv: file, bytes, frames (capinfos -c -M), ...
std::map<std::string, uint64_t> manifest_frames(const fs::path& manifest) {
  std::map<std::string, uint64_t> frames;
  std::ifstream in(manifest);
  std::string line;
  std::getline(in, line);  // column names
  while (std::getline(in, line)) {
    std::istringstream cols(line);
    std::string file, bytes, count;
    if (std::getline(cols, file, '\t') && std::getline(cols, bytes, '\t') &&
        std::getline(cols, count, '\t')) {
      frames[file] = std::stoull(count);
    }
  }
  return frames;
}

TEST_CASE("the shared curated captures read to a clean end with capinfos' frame counts") {
  const fs::path dir = fs::path(INLET_SHARED_DIR) / "captures" / "curated";
  if (!fs::is_directory(dir)) {
    MESSAGE("skipped: no curated captures at " << dir.string());
    return;
  }
  const auto frames = manifest_frames(dir / "MANIFEST.tsv");
  size_t files = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".pcap") continue;
    const std::string name = entry.path().filename().string();
    CAPTURE(name);
    ++files;
    auto r = PcapReader::open(entry.path().string());
    REQUIRE_MESSAGE(r.ok(), r.status().ToString());
    const size_t count = read_all(*r).size();
    // Either a clean end or a malformed-record error, never anything else.
    CHECK((r->error().ok() || absl::IsDataLoss(r->error())));
    if (auto it = frames.find(name); it != frames.end() && r->error().ok()) {
      CHECK(count == it->second);
    }
  }
  CHECK(files > 0);

  // Known files, by name: a SYN flood of 200 frames, and a Linux cooked capture.
  auto flood = PcapReader::open(
      (dir / "suricata-verify__firewall__tcp-session-syn-flood-drop-precedence__input.pcap")
          .string());
  if (flood.ok()) {
    CHECK(read_all(*flood).size() == 200);
    CHECK(flood->error().ok());
    CHECK(flood->link_type() == kLinkEthernet);
  }
  auto sll =
      PcapReader::open((dir / "suricata-verify__issue-3341-tcphdr-01__urgent11_cve_2019_12260.pcap")
                           .string());
  if (sll.ok()) {
    CHECK(sll->link_type() == kLinkLinuxSll);
    PcapReader::Record rec{};
    size_t ipv4_or_arp = 0, n = 0;
    while (sll->next(rec)) {
      ++n;
      auto info = parse_sll(rec.bytes);
      REQUIRE(info.has_value());
      if (info->protocol == 0x0800 || info->protocol == 0x0806) ++ipv4_or_arp;
    }
    CHECK(n == 10);
    CHECK(ipv4_or_arp == 10);
  }
}
#endif

TEST_SUITE_END();

}  // namespace
}  // namespace inlet::pcap
