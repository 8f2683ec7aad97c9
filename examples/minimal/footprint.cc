// inlet-footprint: the set-up RAM of a Tunables set, part by part
// (lib/api/footprint.h), as this build's configuration computes it.
//   inlet-footprint [default|small] [--sysctl key=value]... [--interfaces N]
// `small` starts from small_footprint_tunables() (64 buffers, 8 connections).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "api/footprint.h"

int main(int argc, char** argv) {
  inlet::Tunables t;
  size_t interfaces = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "default") == 0) {
      t = inlet::Tunables();
    } else if (std::strcmp(argv[i], "small") == 0) {
      t = inlet::small_footprint_tunables();
    } else if (std::strcmp(argv[i], "--sysctl") == 0 && i + 1 < argc) {
      if (absl::Status s = t.set_assignment(argv[++i]); !s.ok()) {
        std::fprintf(stderr, "inlet-footprint: %s\n", std::string(s.message()).c_str());
        return 2;
      }
    } else if (std::strcmp(argv[i], "--interfaces") == 0 && i + 1 < argc) {
      interfaces = static_cast<size_t>(std::strtoul(argv[++i], nullptr, 10));
    } else {
      std::fputs("usage: inlet-footprint [default|small] [--sysctl key=value]... [--interfaces N]\n",
                 stderr);
      return 2;
    }
  }
  std::fputs(inlet::ram_footprint_text(inlet::ram_footprint(t, interfaces)).c_str(), stdout);
  return 0;
}
