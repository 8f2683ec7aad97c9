// Capture at trace points (ports/pcap/trace_capture.h): a ping recorded at
// link-in (whole Ethernet frames), ipv4-in and ipv4-out (cooked SLL records
// holding the datagram) and drop, read back with PcapReader. The tshark
// read-back is in tests/integration/obs_test.sh.
#include <doctest/doctest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "ports/pcap/trace_capture.h"
#include "stack_fixture.h"

namespace inlet::stack_test {
namespace {

TEST_SUITE_BEGIN("obs_capture");

std::string temp_path(const char* tag) {
  return "/tmp/inlet-obs-capture-" + std::to_string(getpid()) + "-" + tag + ".pcap";
}

std::vector<Bytes> read_all(const std::string& path, uint32_t* link_type) {
  auto reader = pcap::PcapReader::open(path);
  REQUIRE(reader.ok());
  *link_type = reader->link_type();
  std::vector<Bytes> out;
  pcap::PcapReader::Record r;
  while (reader->next(r)) out.emplace_back(r.bytes.begin(), r.bytes.end());
  CHECK(reader->error().ok());
  return out;
}

TEST_CASE("trace point names parse; link points write Ethernet, others SLL") {
  CHECK(pcap::parse_trace_point("ipv4-in") == TracePoint::kIpIn);
  CHECK(pcap::parse_trace_point("drop") == TracePoint::kDrop);
  CHECK_FALSE(pcap::parse_trace_point("ipv6-in").has_value());
  CHECK(pcap::trace_capture_link_type(TracePoint::kLinkIn) == pcap::kLinkEthernet);
  CHECK(pcap::trace_capture_link_type(TracePoint::kIpOut) == pcap::kLinkLinuxSll);
  pcap::TraceCapture c;
  CHECK_FALSE(c.add_spec("nowhere").ok());
  CHECK_FALSE(c.add_spec("ipv6-in:/tmp/x.pcap").ok());
  CHECK_FALSE(c.add_spec("link-in:").ok());
  CHECK(c.empty());
}

TEST_CASE("a ping and a dropped frame, captured at four points") {
  const std::string link_in = temp_path("link-in"), ip_in = temp_path("ipv4-in"),
                    ip_out = temp_path("ipv4-out"), drops = temp_path("drop");
  StackHarness h;
  h.learn_peer();
  pcap::TraceCapture capture;
  REQUIRE(capture.add_spec("link-in:" + link_in).ok());
  REQUIRE(capture.add(TracePoint::kIpIn, ip_in).ok());
  REQUIRE(capture.add(TracePoint::kIpOut, ip_out).ok());
  REQUIRE(capture.add(TracePoint::kDrop, drops).ok());
  capture.set_clock(&h.clock());
  int chained = 0;
  capture.set_next({[](void* user, TracePoint, const Packet&, std::string_view) {
                      ++*static_cast<int*>(user);
                    },
                    &chained});
  h.stack().set_trace(capture.trace());

  const Bytes ping = h.peer().icmp_echo(h.our_mac(), h.our_ip(), 9, 1, bytes_of("capture"));
  Bytes bad = h.peer().udp(h.our_mac(), h.our_ip(), 5000, 7000, bytes_of("bad"));
  bad[kEth + 10] ^= 0xFF;
  const Bytes runt(10, 0xAB);
  REQUIRE(h.exchange(std::vector<Bytes>{ping, bad, runt}).size() == 1);
  h.finish();
  REQUIRE(capture.close().ok());
  CHECK(capture.write_errors() == 0);
  CHECK(chained > 0);  // the chained trace saw every point

  uint32_t lt = 0;
  const auto in_frames = read_all(link_in, &lt);
  CHECK(lt == pcap::kLinkEthernet);
  REQUIRE(in_frames.size() == 3);
  CHECK(in_frames[0] == ping);  // the frame exactly as it came in
  CHECK(in_frames[2] == runt);

  const auto ip_records = read_all(ip_in, &lt);
  CHECK(lt == pcap::kLinkLinuxSll);
  REQUIRE(ip_records.size() == 2);  // the runt never reached IPv4
  auto sll = pcap::parse_sll(ip_records[0]);
  REQUIRE(sll.has_value());
  CHECK(sll->protocol == 0x0800);
  CHECK(sll->packet_type == pcap::kSllHost);
  CHECK(Bytes(ip_records[0].begin() + 16, ip_records[0].end()) == Bytes(ping.begin() + kEth, ping.end()));

  const auto out_records = read_all(ip_out, &lt);
  REQUIRE(out_records.size() == 1);
  sll = pcap::parse_sll(out_records[0]);
  REQUIRE(sll.has_value());
  CHECK(sll->packet_type == pcap::kSllOutgoing);
  auto reply = wire::Ipv4View::parse(std::span<const uint8_t>(out_records[0]).subspan(16),
                                     wire::ChecksumMode::kVerify);
  REQUIRE(reply.ok());
  CHECK(reply->dst() == h.peer().ip());
  CHECK(reply->protocol() == wire::ipproto::kIcmp);

  // Drops: the bad checksum as its IPv4 datagram, the runt as the frame.
  const auto drop_records = read_all(drops, &lt);
  REQUIRE(drop_records.size() == 2);
  CHECK(pcap::parse_sll(drop_records[0])->protocol == 0x0800);
  CHECK(pcap::parse_sll(drop_records[1])->protocol == 0x6558);
  CHECK(Bytes(drop_records[1].begin() + 16, drop_records[1].end()) == runt);

  for (const std::string& p : {link_in, ip_in, ip_out, drops}) unlink(p.c_str());
}

}  // namespace
}  // namespace inlet::stack_test
