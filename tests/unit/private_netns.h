// For the unit tests that need the real kernel (root): runs a function in a
// forked child inside a network namespace of its own, so nothing it creates
// (TAPs, addresses, sockets) touches the host, and collects its exit code.
#pragma once

#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <utility>

namespace inlet::test {

// What became of the child.
struct NetnsRun {
  bool refused = false;  // unshare(CLONE_NEWNET) was refused: skip
  bool exited = false;   // it exited normally (else it died from a signal)
  int code = 0;          // its exit code when it exited: 0 is success
};

// Forks; the child enters a new network namespace and exits with fn()'s
// return value (0..255; 1 is taken to mean the unshare was refused).
template <class Fn>
NetnsRun run_in_private_netns(Fn&& fn) {
  NetnsRun r;
  const pid_t child = fork();
  if (child < 0) return r;
  if (child == 0) {
    if (unshare(CLONE_NEWNET) != 0) _exit(1);
    _exit(std::forward<Fn>(fn)());
  }
  int status = 0;
  if (waitpid(child, &status, 0) != child) return r;
  r.exited = WIFEXITED(status);
  r.code = r.exited ? WEXITSTATUS(status) : -1;
  r.refused = r.exited && r.code == 1;
  return r;
}

}  // namespace inlet::test
