// The classic pcap file format, as bytes only: PcapReader walks the records of
// a capture (both byte orders, µs and ns magic) with bounded memory, PcapWriter
// writes files tshark reads, and parse_sll/parse_sll2 decode Linux cooked headers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace inlet::pcap {

// Link types (tcpdump.org/linktypes.html), as PcapReader::link_type() reports them.
inline constexpr uint32_t kLinkEthernet = 1;    // LINKTYPE_ETHERNET
inline constexpr uint32_t kLinkRaw = 101;       // LINKTYPE_RAW: IPv4 or IPv6, by version nibble
inline constexpr uint32_t kLinkLinuxSll = 113;  // LINKTYPE_LINUX_SLL (16-byte cooked header)
inline constexpr uint32_t kLinkIpv4 = 228;      // LINKTYPE_IPV4
inline constexpr uint32_t kLinkLinuxSll2 = 276; // LINKTYPE_LINUX_SLL2 (20-byte cooked header)

// DLT_RAW is 12 on most systems and 14 on OpenBSD, and old captures wrote the
// DLT value into the file; libpcap reads both as LINKTYPE_RAW, and so do we.
constexpr uint32_t normalize_link_type(uint32_t link_type) {
  return (link_type == 12 || link_type == 14) ? kLinkRaw : link_type;
}

// No record is ever larger than this (libpcap's MAXIMUM_SNAPLEN); it bounds the
// reader's one buffer, whatever a corrupt header claims.
inline constexpr uint32_t kMaxRecordBytes = 256 * 1024;
// How far a record may exceed the header's snaplen before it counts as corrupt.
// libpcap accepts oversize records (old Solaris bufmod wrote wrong snaplens, and
// tcpdump's own test files do it); one IPv4 datagram of slack keeps those readable
// while a garbage length still stops the reader at once.
inline constexpr uint32_t kSnaplenSlack = 65535;

class PcapReader {
 public:
  struct Record {
    int64_t timestamp_ns;             // since the Unix epoch, from either magic
    uint32_t original_length;         // orig_len: the frame's length on the wire
    std::span<const uint8_t> bytes;   // incl_len bytes; valid until the next next()
  };

  // Opens a classic pcap file and reads its 24-byte header. pcapng, unknown
  // magic, a short header or a major version other than 2 are InvalidArgument.
  static absl::StatusOr<PcapReader> open(const std::string& path);
  // The same over an in-memory copy of a file (tests, fuzzers); `name` is what
  // error messages call it.
  static absl::StatusOr<PcapReader> from_bytes(std::string bytes,
                                               std::string name = "<memory>");

  PcapReader(PcapReader&&) noexcept;
  PcapReader& operator=(PcapReader&&) noexcept;
  PcapReader(const PcapReader&) = delete;
  PcapReader& operator=(const PcapReader&) = delete;
  ~PcapReader();

  // The next record into `out`; false at the end. A clean end (EOF exactly on a
  // record boundary) leaves error() OK; a truncated header or body, or an
  // incl_len over the limit, sets error() (DataLoss, naming file, record and
  // offset), counts one malformed record and ends reading for good.
  bool next(Record& out);

  // Link type with the FCS bits masked off and DLT_RAW (12, 14) read as kLinkRaw.
  uint32_t link_type() const { return link_type_; }
  // The header's LinkType field as written, including FCS-length bits.
  uint32_t raw_link_type() const { return raw_link_type_; }
  // Bytes of FCS at the end of every record, when the header says so (else 0).
  uint32_t fcs_length() const { return fcs_length_; }
  uint32_t snaplen() const { return snaplen_; }
  bool nanosecond() const { return nanosecond_; }
  bool byte_swapped() const { return swapped_; }
  // Largest incl_len accepted: min(kMaxRecordBytes, snaplen + kSnaplenSlack).
  uint32_t record_limit() const { return record_limit_; }

  uint64_t records_read() const { return records_read_; }
  uint64_t malformed_records() const { return malformed_records_; }
  const absl::Status& error() const { return error_; }
  const std::string& name() const { return name_; }

 private:
  struct FileCloser {
    void operator()(std::FILE* f) const;
  };

  PcapReader() = default;
  absl::Status read_file_header();
  // Up to `n` bytes into `dst`; fewer only at end of input.
  size_t read_bytes(uint8_t* dst, size_t n);
  bool fail(absl::Status status);

  std::string name_;
  std::unique_ptr<std::FILE, FileCloser> file_;  // set when reading a file
  std::string memory_;                           // otherwise, the bytes themselves
  size_t memory_pos_ = 0;
  uint64_t offset_ = 0;                          // bytes consumed, for messages

  std::vector<uint8_t> buffer_;                  // one record, <= kMaxRecordBytes
  uint32_t link_type_ = 0;
  uint32_t raw_link_type_ = 0;
  uint32_t fcs_length_ = 0;
  uint32_t snaplen_ = 0;
  uint32_t record_limit_ = kMaxRecordBytes;
  bool nanosecond_ = false;
  bool swapped_ = false;
  bool done_ = false;

  uint64_t records_read_ = 0;
  uint64_t malformed_records_ = 0;
  absl::Status error_;
};

// Writes classic pcap with the nanosecond magic (0xa1b23c4d) in host byte order.
class PcapWriter {
 public:
  // Creates (truncates) `path` and writes the file header. snaplen must be in
  // 1..kMaxRecordBytes so that every file written here reads back here.
  static absl::StatusOr<PcapWriter> create(const std::string& path,
                                           uint32_t link_type = kLinkEthernet,
                                           uint32_t snaplen = kMaxRecordBytes);

  PcapWriter(PcapWriter&&) noexcept;
  PcapWriter& operator=(PcapWriter&&) noexcept;
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;
  ~PcapWriter();  // closes, dropping any error; call close() to see it

  // One record. Bytes past snaplen are cut, as a capture would; original_length
  // 0 means frame.size(), and one smaller than frame.size() is InvalidArgument,
  // as is a timestamp before 1970 or after the 32-bit seconds field (2106).
  absl::Status write(int64_t timestamp_ns, std::span<const uint8_t> frame,
                     uint32_t original_length = 0);
  absl::Status flush();
  absl::Status close();

  uint64_t records_written() const { return records_written_; }
  uint32_t link_type() const { return link_type_; }
  uint32_t snaplen() const { return snaplen_; }
  const std::string& path() const { return path_; }

 private:
  struct FileCloser {
    void operator()(std::FILE* f) const;
  };

  PcapWriter() = default;

  std::string path_;
  std::unique_ptr<std::FILE, FileCloser> file_;
  uint32_t link_type_ = kLinkEthernet;
  uint32_t snaplen_ = kMaxRecordBytes;
  uint64_t records_written_ = 0;
};

// Linux cooked capture (tcpdump -i any). Packet types as the kernel's PACKET_*.
inline constexpr uint16_t kSllHost = 0;       // addressed to this host
inline constexpr uint16_t kSllBroadcast = 1;
inline constexpr uint16_t kSllMulticast = 2;
inline constexpr uint16_t kSllOtherHost = 3;  // seen promiscuously
inline constexpr uint16_t kSllOutgoing = 4;   // sent by this host: not receive traffic

struct SllInfo {
  uint16_t packet_type;   // kSll*
  uint16_t protocol;      // ethertype (host order) for ARPHRD_ETHER-like devices
  size_t header_length;   // 16 (SLL) or 20 (SLL2): where the network header starts
  uint16_t arphrd_type;   // device type (1 = Ethernet, 772 = loopback, 824 = netlink…)
};

// LINKTYPE_LINUX_SLL: packet type(2) ARPHRD(2) addr len(2) addr(8) protocol(2),
// big-endian. nullopt when shorter than 16 bytes.
std::optional<SllInfo> parse_sll(std::span<const uint8_t> frame);
// LINKTYPE_LINUX_SLL2: protocol(2) reserved(2) ifindex(4) ARPHRD(2) packet
// type(1) addr len(1) addr(8), big-endian. nullopt when shorter than 20 bytes.
std::optional<SllInfo> parse_sll2(std::span<const uint8_t> frame);

}  // namespace inlet::pcap
