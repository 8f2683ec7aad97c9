// VnetTapPort against the real kernel (root, a private network namespace):
// the kernel's TCP sends into a TAP with IFF_VNET_HDR and TSO offered, so it
// hands over 64 KiB super-frames with CHECKSUM_PARTIAL; inlet must take them
// as chains and read back every byte in order.
#include "ports/tap/vnet_port.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <vector>

#include "api/stack.h"
#include "private_netns.h"

namespace inlet::tap {
namespace {

uint8_t pattern_byte(uint64_t i) { return static_cast<uint8_t>((i * 2654435761u) >> 13); }

// In the child, inside its own namespace. Returns 0 or the failing step;
// writes the port's counters to `report_fd` for the parent to check.
int kernel_sends_through_vnet(int report_fd) {
  Tunables t;
  if (!t.set_assignment("net.ipv4.tcp_rmem=4096 1048576 4194304").ok()) return 2;
  Stack stack(t);
  auto port = VnetTapPort::open("vnet0", {.tso = true});
  if (!port.ok()) return 3;
  VnetTapPort* vnet = port->get();
  auto iface = stack.add_interface(std::move(*port),
                                   {.addresses = {{*wire::Ipv4Address::parse("192.0.2.2"), 24}}});
  if (!iface.ok()) return 4;
  if (std::system("ip addr add 192.0.2.1/24 dev vnet0 && ip link set vnet0 up") != 0) return 5;
  auto listener = stack.tcp_listen(wire::kIpv4Any, 5001);
  if (!listener.ok()) return 6;

  const int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(5001);
  inet_pton(AF_INET, "192.0.2.2", &to.sin_addr);
  if (connect(s, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0 && errno != EINPROGRESS) return 7;

  constexpr uint64_t kTotal = 8 << 20;
  std::vector<uint8_t> out(256 * 1024), in(256 * 1024);
  uint64_t sent = 0, received = 0;
  bool intact = true;
  tcp::TcpSocket* sock = nullptr;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (received < kTotal && std::chrono::steady_clock::now() < deadline) {
    if (sent < kTotal) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(out.size(), kTotal - sent));
      for (size_t i = 0; i < n; ++i) out[i] = pattern_byte(sent + i);
      const ssize_t w = send(s, out.data(), n, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (w > 0) sent += static_cast<uint64_t>(w);
    }
    stack.poll();
    if (sock == nullptr && (*listener)->acceptable()) sock = (*listener)->accept();
    if (sock != nullptr) {
      while (size_t got = sock->read(in)) {
        for (size_t i = 0; i < got; ++i) intact = intact && in[i] == pattern_byte(received + i);
        received += got;
      }
    }
    stack.poll();  // the window update the read earns
    stack.wait(absl::Milliseconds(1));
  }
  close(s);
  const VnetTapStats st = vnet->stats();
  const uint64_t report[] = {received, intact ? 1u : 0u, st.rx_superframes, st.rx_segments,
                             st.rx_csum_partial, st.rx_errors};
  if (write(report_fd, report, sizeof report) != static_cast<ssize_t>(sizeof report)) return 8;
  stack.shutdown();
  if (stack.pool().in_use() != 0) return 9;
  return received == kTotal ? 0 : 10;
}

TEST_CASE("vnet TAP: the kernel's TSO super-frames arrive as chains and the stream is intact "
          "(root, private namespace)") {
  if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) != 0) {
    MESSAGE("skipped: needs root and /dev/net/tun to make a namespace and a TAP");
    return;
  }
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  // The child reports through the pipe; its write end is closed here once
  // forked so the read below ends when the child does.
  uint64_t report[6] = {};
  ssize_t got = 0;
  const test::NetnsRun run = test::run_in_private_netns([&] {
    close(fds[0]);
    return kernel_sends_through_vnet(fds[1]);
  });
  close(fds[1]);
  got = read(fds[0], report, sizeof report);
  close(fds[0]);
  if (run.refused) {
    MESSAGE("skipped: unshare(CLONE_NEWNET) refused");
    return;
  }
  REQUIRE(run.exited);
  const int step = run.code;
  INFO("failed at step " << step << " of kernel_sends_through_vnet()");
  REQUIRE(got == static_cast<ssize_t>(sizeof report));
  INFO("received=" << report[0] << " superframes=" << report[2] << " segments=" << report[3]
                   << " csum_partial=" << report[4] << " errors=" << report[5]);
  MESSAGE("vnet: received=" << report[0] << " superframes=" << report[2] << " segments="
                            << report[3] << " csum_partial=" << report[4]);
  CHECK(step == 0);
  CHECK(report[1] == 1);        // every byte in order
  CHECK(report[2] > 0);         // the kernel did use TSO
  CHECK(report[3] > report[2]); // and its frames carried several segments each
  CHECK(report[4] > 0);         // with the checksum left to the receiver
  CHECK(report[5] == 0);
}

}  // namespace
}  // namespace inlet::tap
