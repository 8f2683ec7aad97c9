#include "ports/pcap/pcap_file.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_format.h"

namespace inlet::pcap {
namespace {

constexpr uint32_t kMagicMicro = 0xa1b2c3d4;
constexpr uint32_t kMagicNano = 0xa1b23c4d;
constexpr uint32_t kMagicPcapng = 0x0a0d0d0a;  // Section Header Block type: palindromic
constexpr uint32_t kMagicModified = 0xa1b2cd34;  // Kuznetzov's patched libpcap
constexpr size_t kFileHeaderBytes = 24;
constexpr size_t kRecordHeaderBytes = 16;

// LinkType field layout (pcap spec §4): bits 0-25 link type, bit 26 "FCS length
// present", bits 28-31 FCS length in 16-bit words.
constexpr uint32_t kLinkTypeMask = 0x03ffffff;
constexpr uint32_t kFcsPresent = 0x04000000;

uint32_t bswap32(uint32_t v) { return __builtin_bswap32(v); }
uint16_t bswap16(uint16_t v) { return __builtin_bswap16(v); }

uint32_t load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
uint16_t load16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
void store32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, sizeof v); }
void store16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, sizeof v); }

uint16_t load_be16(const uint8_t* p) {
  return static_cast<uint16_t>((uint16_t{p[0]} << 8) | p[1]);
}

// errno can be 0 after a short fwrite or a stdio error; never turn that into OK.
absl::Status errno_status(int err, const std::string& what) {
  if (err == 0) return absl::UnknownError(what);
  return absl::ErrnoToStatus(err, what);
}

}  // namespace

// ---------------------------------------------------------------- PcapReader

void PcapReader::FileCloser::operator()(std::FILE* f) const { std::fclose(f); }

PcapReader::PcapReader(PcapReader&&) noexcept = default;
PcapReader& PcapReader::operator=(PcapReader&&) noexcept = default;
PcapReader::~PcapReader() = default;

absl::StatusOr<PcapReader> PcapReader::open(const std::string& path) {
  PcapReader reader;
  reader.name_ = path;
  reader.file_.reset(std::fopen(path.c_str(), "rb"));
  if (!reader.file_) return errno_status(errno, absl::StrFormat("%s: cannot open", path));
  if (absl::Status s = reader.read_file_header(); !s.ok()) return s;
  return reader;
}

absl::StatusOr<PcapReader> PcapReader::from_bytes(std::string bytes, std::string name) {
  PcapReader reader;
  reader.name_ = std::move(name);
  reader.memory_ = std::move(bytes);
  if (absl::Status s = reader.read_file_header(); !s.ok()) return s;
  return reader;
}

size_t PcapReader::read_bytes(uint8_t* dst, size_t n) {
  size_t got;
  if (file_) {
    got = std::fread(dst, 1, n, file_.get());
  } else {
    const size_t left = memory_pos_ < memory_.size() ? memory_.size() - memory_pos_ : 0;
    got = std::min(n, left);
    if (got > 0) std::memcpy(dst, memory_.data() + memory_pos_, got);
    memory_pos_ += got;
  }
  offset_ += got;
  return got;
}

absl::Status PcapReader::read_file_header() {
  uint8_t h[kFileHeaderBytes];
  const size_t got = read_bytes(h, sizeof h);
  if (got >= 4) {
    const uint32_t magic = load32(h);
    if (magic == kMagicPcapng) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: pcapng is not supported; convert with editcap -F pcap", name_));
    }
    if (magic == kMagicMicro || magic == kMagicNano) {
      swapped_ = false;
    } else if (bswap32(magic) == kMagicMicro || bswap32(magic) == kMagicNano) {
      swapped_ = true;
    } else if (magic == kMagicModified || bswap32(magic) == kMagicModified) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: modified (Kuznetzov) pcap is not supported; convert with editcap -F pcap",
          name_));
    } else {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: not a pcap file (magic 0x%08x)", name_, magic));
    }
    nanosecond_ = (swapped_ ? bswap32(magic) : magic) == kMagicNano;
  }
  if (got < sizeof h) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: truncated pcap file header (%d of %d bytes)", name_, got, sizeof h));
  }
  auto u16 = [&](size_t at) { return swapped_ ? bswap16(load16(h + at)) : load16(h + at); };
  auto u32 = [&](size_t at) { return swapped_ ? bswap32(load32(h + at)) : load32(h + at); };
  const uint16_t major = u16(4);
  const uint16_t minor = u16(6);
  // thiszone (8) and sigfigs (12) are always 0 in practice and unused by readers.
  snaplen_ = u32(16);
  raw_link_type_ = u32(20);
  if (major != 2) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: unsupported pcap version %d.%d (only 2.x)", name_, major, minor));
  }
  link_type_ = normalize_link_type(raw_link_type_ & kLinkTypeMask);
  fcs_length_ = (raw_link_type_ & kFcsPresent) ? ((raw_link_type_ >> 28) * 2) : 0;
  // A snaplen of 0 or one past the maximum means "unknown" (libpcap does the same).
  const uint64_t snap =
      (snaplen_ == 0 || snaplen_ > kMaxRecordBytes) ? kMaxRecordBytes : snaplen_;
  record_limit_ = static_cast<uint32_t>(
      std::min<uint64_t>(kMaxRecordBytes, snap + kSnaplenSlack));
  return absl::OkStatus();
}

bool PcapReader::fail(absl::Status status) {
  error_ = std::move(status);
  ++malformed_records_;
  done_ = true;
  return false;
}

bool PcapReader::next(Record& out) {
  if (done_) return false;
  const uint64_t index = records_read_ + 1;  // 1-based, as tshark numbers frames
  const uint64_t at = offset_;
  uint8_t h[kRecordHeaderBytes];
  const size_t got = read_bytes(h, sizeof h);
  if (got == 0) {
    if (file_ && std::ferror(file_.get())) {
      error_ = errno_status(errno, absl::StrFormat("%s: read error before record %d at byte "
                                                  "offset %d", name_, index, at));
    }
    done_ = true;  // clean end: EOF on a record boundary
    return false;
  }
  if (got < sizeof h) {
    return fail(absl::DataLossError(absl::StrFormat(
        "%s: record %d at byte offset %d: truncated record header (%d of %d bytes)", name_,
        index, at, got, sizeof h)));
  }
  auto u32 = [&](size_t off) { return swapped_ ? bswap32(load32(h + off)) : load32(h + off); };
  const uint32_t ts_sec = u32(0);
  const uint32_t ts_frac = u32(4);
  const uint32_t incl_len = u32(8);
  const uint32_t orig_len = u32(12);
  if (incl_len > record_limit_) {
    return fail(absl::DataLossError(absl::StrFormat(
        "%s: record %d at byte offset %d: captured length %d exceeds the limit of %d "
        "(snaplen %d)",
        name_, index, at, incl_len, record_limit_, snaplen_)));
  }
  buffer_.resize(incl_len);  // never beyond kMaxRecordBytes: capacity stays bounded
  const size_t body = incl_len > 0 ? read_bytes(buffer_.data(), incl_len) : 0;
  if (body < incl_len) {
    return fail(absl::DataLossError(absl::StrFormat(
        "%s: record %d at byte offset %d: truncated record body (%d of %d bytes)", name_,
        index, at, body, incl_len)));
  }
  // Both factors fit: 2^32 s * 1e9 < 2^63. An out-of-range fraction (corrupt
  // files have them) is kept as written rather than rejected, like libpcap.
  out.timestamp_ns = int64_t{ts_sec} * 1'000'000'000 +
                     (nanosecond_ ? int64_t{ts_frac} : int64_t{ts_frac} * 1000);
  out.original_length = orig_len;
  out.bytes = std::span<const uint8_t>(buffer_.data(), incl_len);
  ++records_read_;
  return true;
}

// ---------------------------------------------------------------- PcapWriter

void PcapWriter::FileCloser::operator()(std::FILE* f) const { std::fclose(f); }

PcapWriter::PcapWriter(PcapWriter&&) noexcept = default;
PcapWriter& PcapWriter::operator=(PcapWriter&&) noexcept = default;
PcapWriter::~PcapWriter() = default;

absl::StatusOr<PcapWriter> PcapWriter::create(const std::string& path, uint32_t link_type,
                                              uint32_t snaplen) {
  if (snaplen == 0 || snaplen > kMaxRecordBytes) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: snaplen %d is outside 1..%d", path, snaplen, kMaxRecordBytes));
  }
  PcapWriter writer;
  writer.path_ = path;
  writer.link_type_ = link_type;
  writer.snaplen_ = snaplen;
  writer.file_.reset(std::fopen(path.c_str(), "wb"));
  if (!writer.file_) return errno_status(errno, absl::StrFormat("%s: cannot create", path));

  uint8_t h[kFileHeaderBytes];
  store32(h + 0, kMagicNano);  // host order: readers detect the order from the magic
  store16(h + 4, 2);           // version 2.4
  store16(h + 6, 4);
  store32(h + 8, 0);           // thiszone: timestamps are UTC
  store32(h + 12, 0);          // sigfigs
  store32(h + 16, snaplen);
  store32(h + 20, link_type);
  if (std::fwrite(h, 1, sizeof h, writer.file_.get()) != sizeof h) {
    return errno_status(errno, absl::StrFormat("%s: cannot write the file header", path));
  }
  return writer;
}

absl::Status PcapWriter::write(int64_t timestamp_ns, std::span<const uint8_t> frame,
                               uint32_t original_length) {
  const uint64_t index = records_written_ + 1;
  if (!file_) {
    return absl::FailedPreconditionError(
        absl::StrFormat("%s: record %d: writer is closed", path_, index));
  }
  constexpr int64_t kNsPerSec = 1'000'000'000;
  if (timestamp_ns < 0 || timestamp_ns / kNsPerSec > int64_t{UINT32_MAX}) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: record %d: timestamp %d ns does not fit pcap's unsigned 32-bit seconds", path_,
        index, timestamp_ns));
  }
  if (frame.size() > UINT32_MAX) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: record %d: frame of %d bytes", path_, index, frame.size()));
  }
  const auto frame_len = static_cast<uint32_t>(frame.size());
  if (original_length == 0) original_length = frame_len;
  if (original_length < frame_len) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: record %d: original length %d is shorter than the %d bytes given", path_, index,
        original_length, frame_len));
  }
  const uint32_t incl_len = std::min(frame_len, snaplen_);

  uint8_t h[kRecordHeaderBytes];
  store32(h + 0, static_cast<uint32_t>(timestamp_ns / kNsPerSec));
  store32(h + 4, static_cast<uint32_t>(timestamp_ns % kNsPerSec));
  store32(h + 8, incl_len);
  store32(h + 12, original_length);
  if (std::fwrite(h, 1, sizeof h, file_.get()) != sizeof h ||
      (incl_len > 0 && std::fwrite(frame.data(), 1, incl_len, file_.get()) != incl_len)) {
    return errno_status(errno, absl::StrFormat("%s: record %d: write failed", path_, index));
  }
  ++records_written_;
  return absl::OkStatus();
}

absl::Status PcapWriter::flush() {
  if (!file_) return absl::FailedPreconditionError(path_ + ": writer is closed");
  if (std::fflush(file_.get()) != 0) {
    return errno_status(errno, absl::StrFormat("%s: flush failed", path_));
  }
  return absl::OkStatus();
}

absl::Status PcapWriter::close() {
  if (!file_) return absl::OkStatus();
  const int rc = std::fclose(file_.release());
  if (rc != 0) return errno_status(errno, absl::StrFormat("%s: close failed", path_));
  return absl::OkStatus();
}

// ---------------------------------------------------------------- Linux cooked

std::optional<SllInfo> parse_sll(std::span<const uint8_t> frame) {
  constexpr size_t kLen = 16;
  if (frame.size() < kLen) return std::nullopt;
  const uint8_t* p = frame.data();
  return SllInfo{
      .packet_type = load_be16(p + 0),
      .protocol = load_be16(p + 14),
      .header_length = kLen,
      .arphrd_type = load_be16(p + 2),
  };
}

std::optional<SllInfo> parse_sll2(std::span<const uint8_t> frame) {
  constexpr size_t kLen = 20;
  if (frame.size() < kLen) return std::nullopt;
  const uint8_t* p = frame.data();
  return SllInfo{
      .packet_type = p[10],
      .protocol = load_be16(p + 0),
      .header_length = kLen,
      .arphrd_type = load_be16(p + 8),
  };
}

}  // namespace inlet::pcap
