// Logging (core/log.h): the sink gets the messages at and above its level and
// nothing below; without a sink nothing is formatted and the library writes
// nothing to stdout or stderr; the stack logs its rare events (interface up
// or refused, the pool's first exhaustion, once).
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "core/log.h"
#include "stack_fixture.h"

namespace inlet::stack_test {
namespace {

TEST_SUITE_BEGIN("obs_log");

struct Collected {
  std::vector<std::pair<LogLevel, std::string>> messages;
  static void sink(void* user, LogLevel level, std::string_view message) {
    static_cast<Collected*>(user)->messages.emplace_back(level, std::string(message));
  }
  size_t count_containing(std::string_view text) const {
    size_t n = 0;
    for (const auto& [level, m] : messages) n += m.find(text) != std::string::npos ? 1 : 0;
    return n;
  }
};

TEST_CASE("levels parse and print as syslog names") {
  CHECK(parse_log_level("error") == LogLevel::kError);
  CHECK(parse_log_level("warn") == LogLevel::kWarning);
  CHECK(parse_log_level("warning") == LogLevel::kWarning);
  CHECK(parse_log_level("info") == LogLevel::kInfo);
  CHECK(parse_log_level("debug") == LogLevel::kDebug);
  CHECK_FALSE(parse_log_level("loud").has_value());
  CHECK(log_level_name(LogLevel::kWarning) == "warning");
}

TEST_CASE("the sink receives messages at and above its threshold only") {
  Collected c;
  Log log{&Collected::sink, &c, LogLevel::kWarning};
  log.error("e %d", 1);
  log.warning("w %s", "two");
  log.info("i %d", 3);
  log.debug("d %d", 4);
  REQUIRE(c.messages.size() == 2);
  CHECK(c.messages[0] == std::make_pair(LogLevel::kError, std::string("e 1")));
  CHECK(c.messages[1] == std::make_pair(LogLevel::kWarning, std::string("w two")));
  log.threshold = LogLevel::kDebug;
  log.debug("d %d", 5);
  CHECK(c.messages.back().second == "d 5");
}

TEST_CASE("without a sink nothing is formatted") {
  Log log;
  CHECK_FALSE(log.enabled(LogLevel::kError));
  log.error("%s", "nobody hears this");  // must not crash nor print
  Collected c;
  Log quiet{&Collected::sink, &c, LogLevel::kError};
  log.write(LogLevel::kError, "x");
  quiet.debug("%d", 1);
  CHECK(c.messages.empty());
}

TEST_CASE("the stack logs an interface coming up and one refused") {
  Collected c;
  Tunables t;
  ManualClock clock;
  Stack stack(t, &clock);
  stack.set_log({&Collected::sink, &c, LogLevel::kInfo});
  auto ok = stack.add_interface(std::make_unique<sim::SimPort>(sim::SimPortConfig{.name = "sim0"}),
                                {.name = "sim0", .addresses = {{ip("192.0.2.2"), 24}}});
  REQUIRE(ok.ok());
  auto refused = stack.add_interface(std::make_unique<sim::SimPort>(sim::SimPortConfig{.name = "sim1"}),
                                     {.name = "sim1", .mtu = 20});
  CHECK_FALSE(refused.ok());
  CHECK(c.count_containing("interface sim0 ifindex 1") == 1);
  CHECK(c.count_containing("interface sim1 refused: MTU 20") == 1);
  for (const auto& [level, m] : c.messages) {
    if (m.find("refused") != std::string::npos) CHECK(level == LogLevel::kWarning);
  }
  stack.shutdown();
}

TEST_CASE("the pool's first exhaustion is logged once, however many frames it drops") {
  Collected c;
  StackHarness h({.sysctls = {{Tunable::kPoolBuffers, 16}}, .rx_ring_size = 64});
  h.stack().set_log({&Collected::sink, &c, LogLevel::kWarning});
  auto sock = h.stack().udp_bind(wire::kIpv4Any, 7000, 1 << 20);
  REQUIRE(sock.ok());
  const Bytes payload = bytes_of("fill the pool");
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 40; ++i) {
      (void)h.nic().wire_receive(h.peer().udp(h.our_mac(), h.our_ip(), 5000, 7000, payload));
    }
    h.run();
  }
  REQUIRE(h.stack().pool().alloc_failures() > 0);
  CHECK(c.count_containing("buffer pool exhausted") == 1);
  h.finish();
}

TEST_CASE("by default the library prints nothing, even on errors") {
  std::fflush(stdout);
  std::fflush(stderr);
  char path[] = "/tmp/inlet-obs-log-XXXXXX";
  const int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  const int saved_out = dup(1), saved_err = dup(2);
  dup2(fd, 1);
  dup2(fd, 2);
  {
    StackHarness h({.sysctls = {{Tunable::kPoolBuffers, 16}}});
    (void)h.stack().add_interface(std::make_unique<sim::SimPort>(sim::SimPortConfig{.name = "bad"}),
                                  {.name = "bad", .mtu = 20});
    (void)h.stack().add_route(ip("203.0.113.0"), 24, ip("198.51.100.1"));
    for (int i = 0; i < 60; ++i) {
      (void)h.nic().wire_receive(h.peer().udp(h.our_mac(), h.our_ip(), 5000, 9, bytes_of("x")));
    }
    h.run();
    h.stack().shutdown();
  }
  std::fflush(stdout);
  std::fflush(stderr);
  dup2(saved_out, 1);
  dup2(saved_err, 2);
  close(saved_out);
  close(saved_err);
  const off_t written = lseek(fd, 0, SEEK_END);
  close(fd);
  unlink(path);
  CHECK(written == 0);
}

}  // namespace
}  // namespace inlet::stack_test
