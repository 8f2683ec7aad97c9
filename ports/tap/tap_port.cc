#include "ports/tap/tap_port.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace inlet::tap {

absl::StatusOr<int> open_tap_fd(const std::string& ifname, bool multi_queue, bool bring_up,
                                int extra_flags) {
  if (ifname.empty() || ifname.size() >= IFNAMSIZ) {
    return absl::InvalidArgumentError(absl::StrCat("bad interface name '", ifname, "'"));
  }
  int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("open /dev/net/tun: ", strerror(errno), " (needs CAP_NET_ADMIN)"));
  }
  ifreq ifr{};
  ifr.ifr_flags = static_cast<short>(IFF_TAP | IFF_NO_PI | extra_flags);
  if (multi_queue) ifr.ifr_flags |= IFF_MULTI_QUEUE;
  memcpy(ifr.ifr_name, ifname.data(), ifname.size());
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    close(fd);
    if (multi_queue && err == EINVAL) {
      return absl::UnavailableError(absl::StrCat(
          "TUNSETIFF ", ifname, " (multi-queue): ", strerror(err),
          " (an existing TAP must have been created with `ip tuntap add ... multi_queue`)"));
    }
    return absl::UnavailableError(absl::StrCat("TUNSETIFF ", ifname, ": ", strerror(err)));
  }
  // Without a virtio-net header nothing can say a checksum is left to us or
  // a frame is a TSO super-frame: clear offloads a vnet reader of the same
  // device (VnetTapPort) may have left on, or the kernel would keep sending
  // frames whose checksum it never filled in.
  if ((extra_flags & IFF_VNET_HDR) == 0) ioctl(fd, TUNSETOFFLOAD, 0u);
  if (bring_up) set_tap_up(ifname);
  return fd;
}

void set_tap_up(const std::string& ifname) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return;
  ifreq up{};
  memcpy(up.ifr_name, ifname.data(), std::min<size_t>(ifname.size(), IFNAMSIZ - 1));
  if (ioctl(s, SIOCGIFFLAGS, &up) == 0) {
    up.ifr_flags |= IFF_UP;
    ioctl(s, SIOCSIFFLAGS, &up);
  }
  close(s);
}

absl::StatusOr<std::unique_ptr<TapPort>> TapPort::open(const std::string& ifname, bool bring_up) {
  absl::StatusOr<int> fd = open_tap_fd(ifname, /*multi_queue=*/false, bring_up);
  if (!fd.ok()) return fd.status();
  return std::unique_ptr<TapPort>(new TapPort(*fd, ifname));
}

absl::StatusOr<std::vector<std::unique_ptr<TapPort>>> TapPort::open_queues(
    const std::string& ifname, int queues, bool bring_up) {
  if (queues < 1) return absl::InvalidArgumentError("a TAP needs at least one queue");
  std::vector<std::unique_ptr<TapPort>> ports;
  for (int i = 0; i < queues; ++i) {
    absl::StatusOr<int> fd = open_tap_fd(ifname, /*multi_queue=*/queues > 1, bring_up);
    if (!fd.ok()) return fd.status();  // the ports opened so far close their fds
    ports.push_back(std::unique_ptr<TapPort>(new TapPort(*fd, ifname)));
  }
  return ports;
}

TapPort::~TapPort() {
  if (fd_ >= 0) close(fd_);
}

bool TapPort::rx_pending() const {
  pollfd p{fd_, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

size_t TapPort::rx_burst(std::span<PacketRef> out) {
  if (pool_ == nullptr) return 0;
  size_t n = 0;
  while (n < out.size()) {
    PacketRef p = pool_->alloc();
    if (!p) {
      // Leave the frame in the kernel's queue: it is the ring, and we are out
      // of descriptors. The drop (if any) happens in the kernel's tx queue.
      ++stats_.rx_nobuf;
      if (Counters* c = pool_->counters()) c->add(Counter::rx_nobuf);
      break;
    }
    ssize_t got = ::read(fd_, p->data_ptr(), p->tailroom());
    if (got < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) ++stats_.rx_errors;
      break;
    }
    if (got == 0) break;
    p->tail += static_cast<uint32_t>(got);
    ++stats_.rx_frames;
    out[n++] = std::move(p);
  }
  return n;
}

size_t TapPort::tx_burst(std::span<PacketRef> frames) {
  size_t n = 0;
  for (; n < frames.size(); ++n) {
    const TapWrite w = write_tap_frame(fd_, *frames[n]);
    if (w == TapWrite::kBusy) {
      ++stats_.tx_busy;
      break;
    }
    ++(w == TapWrite::kSent ? stats_.tx_frames : stats_.tx_errors);
    frames[n].reset();
  }
  return n;
}

TapWrite write_tap_frame(int fd, const Packet& frame, const void* prefix, size_t prefix_len) {
  iovec iov[9];
  int cnt = 0;
  if (prefix != nullptr) iov[cnt++] = {const_cast<void*>(prefix), prefix_len};
  for (const Packet* q = &frame; q != nullptr && cnt < 9; q = q->chain) {
    iov[cnt++] = {const_cast<uint8_t*>(q->data_ptr()), q->length()};
  }
  const ssize_t w = cnt == 1 ? ::write(fd, iov[0].iov_base, iov[0].iov_len) : ::writev(fd, iov, cnt);
  if (w >= 0) return TapWrite::kSent;
  return errno == EAGAIN || errno == EWOULDBLOCK ? TapWrite::kBusy : TapWrite::kError;
}

}  // namespace inlet::tap
