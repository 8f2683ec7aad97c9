// libFuzzer target: pcap::PcapReader over arbitrary bytes (from_bytes), the
// Linux cooked-header parsers on every record, and a write/read round trip
// through PcapWriter. Invariants: no record exceeds record_limit() (bounded
// memory whatever the headers claim); records_read counts the records handed
// out; a reader that stopped stays stopped, with at most one malformed record
// and an error only then; what PcapWriter writes of the records reads back
// byte for byte with the same timestamps and lengths.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "fuzz/fuzz_input.h"
#include "ports/pcap/pcap_file.h"

namespace {
using namespace inlet;

struct Kept {
  int64_t timestamp_ns;
  uint32_t original_length;
  std::vector<uint8_t> bytes;
};

constexpr size_t kMaxRecords = 4096;
constexpr size_t kMaxRoundTrip = 32;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto reader = pcap::PcapReader::from_bytes(std::string(reinterpret_cast<const char*>(data), size));
  if (!reader.ok()) return 0;
  FUZZ_CHECK(reader->record_limit() <= pcap::kMaxRecordBytes);
  std::vector<Kept> kept;
  pcap::PcapReader::Record rec;
  uint64_t n = 0;
  while (n < kMaxRecords && reader->next(rec)) {
    ++n;
    FUZZ_CHECK(reader->records_read() == n);
    FUZZ_CHECK(rec.bytes.size() <= reader->record_limit());
    if (auto sll = pcap::parse_sll(rec.bytes)) FUZZ_CHECK(sll->header_length == 16 && rec.bytes.size() >= 16);
    if (auto sll2 = pcap::parse_sll2(rec.bytes)) FUZZ_CHECK(sll2->header_length == 20 && rec.bytes.size() >= 20);
    if (kept.size() < kMaxRoundTrip && rec.timestamp_ns >= 0 && rec.timestamp_ns / 1000000000 < 0xFFFFFFFFll &&
        rec.original_length >= rec.bytes.size() && !rec.bytes.empty()) {
      kept.push_back({rec.timestamp_ns, rec.original_length, std::vector<uint8_t>(rec.bytes.begin(), rec.bytes.end())});
    }
  }
  if (n < kMaxRecords) {
    // Stopped: clean end, or one malformed record and an error; stays stopped.
    FUZZ_CHECK(reader->malformed_records() <= 1);
    FUZZ_CHECK(reader->error().ok() == (reader->malformed_records() == 0));
    FUZZ_CHECK(!reader->next(rec));
    FUZZ_CHECK(reader->records_read() == n);
  }
  if (kept.empty()) return 0;

  // Round trip what was read through the writer.
  static const std::string path = "/tmp/inlet-pcap-fuzz-" + std::to_string(getpid()) + ".pcap";
  {
    auto writer = pcap::PcapWriter::create(path, reader->link_type());
    FUZZ_CHECK(writer.ok());
    for (const Kept& k : kept) FUZZ_CHECK(writer->write(k.timestamp_ns, k.bytes, k.original_length).ok());
    FUZZ_CHECK(writer->close().ok());
  }
  auto back = pcap::PcapReader::open(path);
  FUZZ_CHECK(back.ok());
  FUZZ_CHECK(back->link_type() == reader->link_type());
  for (const Kept& k : kept) {
    FUZZ_CHECK(back->next(rec));
    FUZZ_CHECK(rec.timestamp_ns == k.timestamp_ns);
    FUZZ_CHECK(rec.original_length == k.original_length);
    FUZZ_CHECK(std::vector<uint8_t>(rec.bytes.begin(), rec.bytes.end()) == k.bytes);
  }
  FUZZ_CHECK(!back->next(rec) && back->error().ok());
  std::remove(path.c_str());
  return 0;
}
