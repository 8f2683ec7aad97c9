// inlet-router: an IPv4 router (and optionally a bridge) between Linux TAP
// devices. Forwards with the FIB, answers ARP and ping, sends RFC 1812 ICMP
// errors, applies a filter rule file, and prints counters and the pool line
// at exit. Routes can be changed at run time: edit --routes-file, send SIGHUP.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "api/stack.h"
#include "examples/common/observability.h"
#include "ports/pcap/pcap_tap.h"
#include "ports/tap/tap_port.h"

namespace {

// (SIGUSR1, the counters, is examples/common's.)
volatile sig_atomic_t g_stop = 0;
volatile sig_atomic_t g_reload = 0;

void on_signal(int sig) {
  if (sig == SIGHUP) {
    g_reload = 1;
  } else {
    g_stop = 1;
  }
}

[[noreturn]] void usage(const std::string& msg) {
  if (!msg.empty()) std::fprintf(stderr, "inlet-router: %s\n", msg.c_str());
  std::fprintf(stderr,
               "usage: inlet-router --tap IFNAME=ADDR/PREFIX ... [--tap IFNAME] (no address: bridge port)\n"
               "         [--route 'PREFIX via GATEWAY [metric N]' | 'PREFIX dev IFNAME' |\n"
               "                  'blackhole|unreachable|prohibit PREFIX']...\n"
               "         [--routes-file FILE] (reloaded on SIGHUP)  [--bridge IF1,IF2[,...][=ADDR/PREFIX]]\n"
               "         [--rules FILE] [--mtu IFNAME=N] [--sysctl key=value]... [--seconds S]\n"
               "         [--pcap-dir DIR] [--vlan PARENT.VID=ADDR/PREFIX]... (802.1Q sub-interface)\n%s",
               inlet::examples::kCommonOptionsUsage);
  std::exit(2);
}

std::optional<inlet::link::InterfaceAddress> parse_prefix(const std::string& text) {
  const size_t slash = text.find('/');
  auto ip = inlet::wire::Ipv4Address::parse(text.substr(0, slash));
  if (!ip) return std::nullopt;
  int len = 32;
  if (slash != std::string::npos) {
    char* end = nullptr;
    len = static_cast<int>(std::strtol(text.c_str() + slash + 1, &end, 10));
    if (*end != '\0' || len < 0 || len > 32) return std::nullopt;
  }
  return inlet::link::InterfaceAddress{*ip, static_cast<uint8_t>(len)};
}

std::vector<std::string> words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// One route in `ip route` words: "10.0.0.0/8 via 192.0.2.1 [metric N]",
// "10.0.0.0/8 dev tap1", "blackhole 10.0.0.0/8" (also unreachable/prohibit).
absl::StatusOr<inlet::ip::FibRoute> parse_route(const std::string& text,
                                                const std::map<std::string, uint16_t>& ifindex) {
  std::vector<std::string> w = words(text);
  inlet::ip::FibRoute r;
  size_t i = 0;
  if (!w.empty() && (w[0] == "blackhole" || w[0] == "unreachable" || w[0] == "prohibit")) {
    r.type = w[0] == "blackhole"     ? inlet::ip::RouteType::kBlackhole
             : w[0] == "unreachable" ? inlet::ip::RouteType::kUnreachable
                                     : inlet::ip::RouteType::kProhibit;
    i = 1;
  }
  if (i >= w.size()) return absl::InvalidArgumentError("route '" + text + "': no prefix");
  const std::string prefix_text = w[i] == "default" ? "0.0.0.0/0" : w[i];
  auto prefix = parse_prefix(prefix_text);
  if (!prefix) return absl::InvalidArgumentError("route '" + text + "': bad prefix '" + w[i] + "'");
  r.prefix = prefix->address;
  r.prefix_length = prefix->prefix_length;
  for (++i; i < w.size(); ++i) {
    if (w[i] == "via" && i + 1 < w.size() && r.type == inlet::ip::RouteType::kUnicast) {
      auto gw = inlet::wire::Ipv4Address::parse(w[++i]);
      if (!gw) return absl::InvalidArgumentError("route '" + text + "': bad gateway '" + w[i] + "'");
      r.nexthops[0].gateway = *gw;
    } else if (w[i] == "dev" && i + 1 < w.size()) {
      auto it = ifindex.find(w[++i]);
      if (it == ifindex.end()) return absl::InvalidArgumentError("route '" + text + "': no device '" + w[i] + "'");
      r.nexthops[0].ifindex = it->second;
    } else if (w[i] == "metric" && i + 1 < w.size()) {
      r.metric = static_cast<uint32_t>(std::strtoul(w[++i].c_str(), nullptr, 10));
    } else {
      return absl::InvalidArgumentError("route '" + text + "': unexpected '" + w[i] + "'");
    }
  }
  if (r.type == inlet::ip::RouteType::kUnicast && r.nexthops[0].gateway.is_unspecified() &&
      r.nexthops[0].ifindex == 0) {
    return absl::InvalidArgumentError("route '" + text + "': needs 'via GATEWAY' or 'dev IFNAME'");
  }
  return r;
}

std::string read_file(const std::string& path, bool* ok) {
  std::ifstream in(path);
  *ok = static_cast<bool>(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

int main(int argc, char** argv) {
  struct TapArg {
    std::string name;
    std::optional<inlet::link::InterfaceAddress> addr;
  };
  std::vector<TapArg> taps;
  std::vector<std::string> routes, bridges, vlans;
  std::map<std::string, uint32_t> mtus;
  std::string rules_path, routes_file, pcap_dir;
  double seconds = 0;
  inlet::Tunables tunables;
  tunables.set(inlet::Tunable::kIpForward, 1);  // a router forwards (override with --sysctl)
  inlet::examples::CommonOptions common;
  common.tunables = &tunables;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    std::string error;
    switch (inlet::examples::parse_common_option(argc, argv, i, common, &error)) {
      case inlet::examples::OptionResult::kConsumed: continue;
      case inlet::examples::OptionResult::kError: usage(error);
      case inlet::examples::OptionResult::kNotCommon: break;
    }
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage("missing value after " + a);
      return argv[++i];
    };
    if (a == "--tap") {
      const std::string v = value();
      const size_t eq = v.find('=');
      TapArg t{v.substr(0, eq), std::nullopt};
      if (eq != std::string::npos) {
        t.addr = parse_prefix(v.substr(eq + 1));
        if (!t.addr) usage("bad --tap " + v);
      }
      taps.push_back(t);
    } else if (a == "--route") {
      routes.push_back(value());
    } else if (a == "--routes-file") {
      routes_file = value();
    } else if (a == "--bridge") {
      bridges.push_back(value());
    } else if (a == "--vlan") {
      vlans.push_back(value());
    } else if (a == "--rules") {
      rules_path = value();
    } else if (a == "--mtu") {
      const std::string v = value();
      const size_t eq = v.find('=');
      if (eq == std::string::npos) usage("bad --mtu " + v);
      mtus[v.substr(0, eq)] = static_cast<uint32_t>(std::atoi(v.c_str() + eq + 1));
    } else if (a == "--sysctl") {
      absl::Status s = tunables.set_assignment(value());
      if (!s.ok()) usage("--sysctl " + std::string(s.message()));
    } else if (a == "--seconds") {
      seconds = std::atof(value().c_str());
    } else if (a == "--pcap-dir") {
      pcap_dir = value();
    } else if (a == "-h" || a == "--help") {
      usage("");
    } else {
      usage("unknown option " + a);
    }
  }
  if (taps.empty()) usage("at least one --tap is required");

  inlet::examples::exit_if_listing_profiles(common);
  inlet::Stack stack(tunables);
  inlet::examples::Observability obs(common);
  if (absl::Status s = obs.attach(stack); !s.ok()) usage(std::string(s.message()));
  std::map<std::string, uint16_t> ifindex;
  for (const TapArg& t : taps) {
    auto tap = inlet::tap::TapPort::open(t.name);
    if (!tap.ok()) {
      std::fprintf(stderr, "inlet-router: %s\n", std::string(tap.status().message()).c_str());
      return 1;
    }
    std::unique_ptr<inlet::PortQueue> port = std::move(*tap);
    if (!pcap_dir.empty()) {
      auto tapped = inlet::pcap::PcapTap::wrap(std::move(port), pcap_dir + "/" + t.name + ".pcap");
      if (!tapped.ok()) {
        std::fprintf(stderr, "inlet-router: %s\n", std::string(tapped.status().message()).c_str());
        return 1;
      }
      port = std::move(*tapped);
    }
    inlet::InterfaceSpec spec;
    spec.name = t.name;
    if (auto m = mtus.find(t.name); m != mtus.end()) spec.mtu = m->second;
    if (t.addr) spec.addresses.push_back(*t.addr);
    auto iface = stack.add_interface(std::move(port), spec);
    if (!iface.ok()) {
      std::fprintf(stderr, "inlet-router: %s: %s\n", t.name.c_str(),
                   std::string(iface.status().message()).c_str());
      return 1;
    }
    ifindex[t.name] = (*iface)->ifindex();
    std::fprintf(stderr, "inlet-router: %s ifindex %u mac %s up\n", t.name.c_str(),
                 (*iface)->ifindex(), (*iface)->mac().to_string().c_str());
  }
  for (const std::string& b : bridges) {
    const size_t eq = b.find('=');
    std::vector<uint16_t> members;
    std::stringstream list(b.substr(0, eq));
    for (std::string m; std::getline(list, m, ',');) {
      auto it = ifindex.find(m);
      if (it == ifindex.end()) usage("--bridge: no --tap " + m);
      members.push_back(it->second);
    }
    inlet::BridgeSpec spec;
    if (eq != std::string::npos) {
      auto addr = parse_prefix(b.substr(eq + 1));
      if (!addr) usage("bad --bridge address " + b);
      spec.addresses.push_back(*addr);
    }
    auto br = stack.add_bridge(members, spec);
    if (!br.ok()) {
      std::fprintf(stderr, "inlet-router: --bridge %s: %s\n", b.c_str(), std::string(br.status().message()).c_str());
      return 1;
    }
    ifindex[(*br)->name()] = (*br)->ifindex();
  }
  // 802.1Q sub-interfaces, named "PARENT.VID" (as Linux's), after the
  // bridges so a bridge device can be a parent too.
  for (const std::string& v : vlans) {
    const size_t eq = v.find('=');
    const std::string name = v.substr(0, eq);
    const size_t dot = name.rfind('.');
    if (dot == std::string::npos || dot + 1 >= name.size()) usage("bad --vlan " + v + " (PARENT.VID[=ADDR/PREFIX])");
    auto parent = ifindex.find(name.substr(0, dot));
    if (parent == ifindex.end()) usage("--vlan: no interface " + name.substr(0, dot));
    char* end = nullptr;
    const long vid = std::strtol(name.c_str() + dot + 1, &end, 10);
    if (*end != '\0' || vid < 1 || vid > 4094) usage("bad VLAN id in --vlan " + v + " (1 to 4094)");
    inlet::VlanSpec spec;
    spec.name = name;
    if (auto m = mtus.find(name); m != mtus.end()) spec.mtu = m->second;
    if (eq != std::string::npos) {
      auto addr = parse_prefix(v.substr(eq + 1));
      if (!addr) usage("bad --vlan address " + v);
      spec.addresses.push_back(*addr);
    }
    auto sub = stack.add_vlan(parent->second, static_cast<uint16_t>(vid), spec);
    if (!sub.ok()) {
      std::fprintf(stderr, "inlet-router: --vlan %s: %s\n", v.c_str(), std::string(sub.status().message()).c_str());
      return 1;
    }
    ifindex[name] = (*sub)->ifindex();
    std::fprintf(stderr, "inlet-router: %s ifindex %u vid %ld up\n", name.c_str(), (*sub)->ifindex(), vid);
  }
  for (const std::string& r : routes) {
    auto route = parse_route(r, ifindex);
    absl::Status s = route.ok() ? stack.add_route(*route) : route.status();
    if (!s.ok()) {
      std::fprintf(stderr, "inlet-router: --route: %s\n", std::string(s.message()).c_str());
      return 1;
    }
  }
  // Routes from --routes-file: replaced as a set on every SIGHUP.
  std::vector<inlet::ip::FibRoute> file_routes;
  auto load_routes_file = [&]() -> bool {
    bool ok = false;
    const std::string text = read_file(routes_file, &ok);
    if (!ok) {
      std::fprintf(stderr, "inlet-router: cannot read %s\n", routes_file.c_str());
      return false;
    }
    std::vector<inlet::ip::FibRoute> parsed;
    std::istringstream lines(text);
    int n = 0;
    for (std::string line; std::getline(lines, line);) {
      ++n;
      const size_t hash = line.find('#');
      if (hash != std::string::npos) line.resize(hash);
      if (words(line).empty()) continue;
      auto route = parse_route(line, ifindex);
      if (!route.ok()) {
        std::fprintf(stderr, "inlet-router: %s line %d: %s\n", routes_file.c_str(), n,
                     std::string(route.status().message()).c_str());
        return false;  // nothing changes on a bad file
      }
      parsed.push_back(*route);
    }
    for (const auto& r : file_routes) (void)stack.remove_route(r.prefix, r.prefix_length, r.metric);
    file_routes.clear();
    for (const auto& r : parsed) {
      absl::Status s = stack.add_route(r);
      if (!s.ok()) {
        std::fprintf(stderr, "inlet-router: %s: %s\n", routes_file.c_str(), std::string(s.message()).c_str());
        continue;
      }
      file_routes.push_back(r);
    }
    std::fprintf(stderr, "inlet-router: %zu routes from %s\n", file_routes.size(), routes_file.c_str());
    return true;
  };
  if (!routes_file.empty() && !load_routes_file()) return 1;
  if (!rules_path.empty()) {
    bool ok = false;
    const std::string text = read_file(rules_path, &ok);
    if (!ok) usage("cannot read --rules " + rules_path);
    auto rules = inlet::filter::RuleSet::parse(text);
    absl::Status s = rules.ok() ? stack.set_filter(std::move(*rules)) : rules.status();
    if (!s.ok()) {
      std::fprintf(stderr, "inlet-router: %s: %s\n", rules_path.c_str(), std::string(s.message()).c_str());
      return 1;
    }
  }

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
  inlet::examples::Observability::install_sigusr1();
  std::fprintf(stderr, "inlet-router: forwarding\n");
  const absl::Time deadline =
      seconds > 0 ? stack.clock().now() + absl::Seconds(seconds) : absl::InfiniteFuture();
  while (!g_stop && stack.clock().now() < deadline) {
    stack.poll();
    if (!stack.has_work()) {
      stack.wait(std::min({absl::Milliseconds(100), deadline - stack.clock().now(),
                           obs.until_next_interval()}));
    }
    obs.tick();
    if (g_reload) {
      g_reload = 0;
      if (!routes_file.empty()) load_routes_file();
    }
  }
  if (inlet::filter::RuleSet* f = stack.filter()) std::printf("%s", f->to_text().c_str());
  stack.shutdown();
  std::fflush(stdout);
  obs.print_totals();
  std::printf("%s\n", stack.pool_line().c_str());
  if (absl::Status s = obs.finish(); !s.ok()) {
    std::fprintf(stderr, "inlet-router: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  return stack.pool().in_use() == 0 ? 0 : 3;
}
