#include "ports/pcap/pcap_tap.h"

#include <time.h>

#include "core/buffer_pool.h"

namespace inlet::pcap {

absl::StatusOr<std::unique_ptr<PcapTap>> PcapTap::wrap(std::unique_ptr<PortQueue> inner,
                                                       const std::string& path) {
  auto writer = PcapWriter::create(path, kLinkEthernet);
  if (!writer.ok()) return writer.status();
  return std::unique_ptr<PcapTap>(new PcapTap(std::move(inner), std::move(*writer)));
}

PcapTap::PcapTap(std::unique_ptr<PortQueue> inner, PcapWriter writer)
    : inner_(std::move(inner)), writer_(std::move(writer)) {
  // Interrupts raised by the inner port reach whoever registered with us.
  inner_->set_interrupt_handler([this] { raise_interrupt(); });
}

void PcapTap::detach() {
  inner_->detach();
  (void)writer_.flush();
}

void PcapTap::record(std::span<const uint8_t> frame) {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);  // capture files carry wall-clock time
  (void)writer_.write(int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec, frame);
}

size_t PcapTap::rx_burst(std::span<PacketRef> out) {
  const size_t n = inner_->rx_burst(out);
  for (size_t i = 0; i < n; ++i) record(out[i]->bytes());
  return n;
}

size_t PcapTap::tx_burst(std::span<PacketRef> frames) {
  // One frame at a time, recorded while we still own its buffer. A refusal
  // (a full device queue) ends the burst; the retry next poll records the
  // frame again, as a capture of a retransmission would.
  size_t sent = 0;
  for (PacketRef& f : frames) {
    if (f->chain == nullptr) {
      record(f->bytes());
    } else {
      record(std::span<const uint8_t>(gather_.data(), copy_frame(*f, gather_)));
    }
    if (inner_->tx_burst(std::span<PacketRef>(&f, 1)) == 0) break;
    ++sent;
  }
  return sent;
}

}  // namespace inlet::pcap
