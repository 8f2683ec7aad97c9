// libFuzzer target: the text parsers — Tunables::load (sysctl.conf text),
// Tunables::set_assignment, filter::RuleSet::parse, the tuning profiles and
// Ipv4Address::parse — over the same input. Invariants: a parse that fails
// changes nothing; what parses prints as text that parses back to the same
// thing (tunables' to_text, the rule set's rules_text and each rule's
// to_text), and the reparsed rule set gives the same verdicts.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/profiles.h"
#include "core/tunables.h"
#include "filter/filter.h"
#include "fuzz/fuzz_input.h"
#include "wire/ipv4.h"

namespace {
using namespace inlet;

void check_tunables(std::string_view text) {
  Tunables t;
  const std::string defaults = t.to_text();
  const absl::Status s = t.load(text);
  if (!s.ok()) {
    FUZZ_CHECK(t.to_text() == defaults);  // nothing changes on error
    return;
  }
  const std::string listed = t.to_text();
  Tunables again;
  FUZZ_CHECK(again.load(listed).ok());
  FUZZ_CHECK(again.to_text() == listed);
  // Each line on its own as `key=value`.
  size_t pos = 0;
  for (int lines = 0; pos < text.size() && lines < 64; ++lines) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    Tunables one;
    (void)one.set_assignment(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
}

void check_profiles(std::string_view text) {
  const std::string name(text.substr(0, text.find('\n')));
  Tunables t;
  const std::string before = t.to_text();
  const absl::Status s = apply_tuning_profile(t, name);
  FUZZ_CHECK(s.ok() == (find_tuning_profile(name) != nullptr));
  if (!s.ok()) FUZZ_CHECK(t.to_text() == before);
}

filter::FilterInput input_from(fuzz::FuzzInput& in) {
  filter::FilterInput f;
  f.ifindex = in.u8() % 4;
  f.src = wire::Ipv4Address(in.u32());
  f.dst = wire::Ipv4Address(in.u32());
  f.protocol = in.u8();
  f.tcp_flags = in.u8();
  f.sport = in.u16();
  f.dport = in.u16();
  f.has_ports = in.flag();
  f.length = in.u16();
  return f;
}

void check_rules(std::string_view text, const uint8_t* data, size_t size) {
  auto set = filter::RuleSet::parse(text);
  if (!set.ok()) return;
  const std::string canonical = set->rules_text();
  auto again = filter::RuleSet::parse(canonical);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->size() == set->size());
  FUZZ_CHECK(again->rules_text() == canonical);
  for (size_t i = 0; i < set->size() && i < 64; ++i) {
    const std::string one = set->rule(i).to_text();
    auto reparsed = filter::RuleSet::parse(one);
    FUZZ_CHECK(reparsed.ok() && reparsed->size() == 1);
    FUZZ_CHECK(reparsed->rule(0).to_text() == one);
  }
  (void)set->to_text();
  // Same verdicts from the original and the reparsed set.
  fuzz::FuzzInput in(data, size);
  for (int i = 0; i < 8; ++i) {
    const filter::FilterInput f = input_from(in);
    for (filter::Hook h : {filter::Hook::kPrerouting, filter::Hook::kInput, filter::Hook::kForward}) {
      FUZZ_CHECK(set->evaluate(h, f) == again->evaluate(h, f));
    }
  }
}

void check_address(std::string_view text) {
  const auto a = wire::Ipv4Address::parse(text.substr(0, text.find('\n')));
  if (!a) return;
  const std::string printed = a->to_string();
  const auto b = wire::Ipv4Address::parse(printed);
  FUZZ_CHECK(b.has_value() && *b == *a);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_tunables(text);
  check_profiles(text);
  check_rules(text, data, size);
  check_address(text);
  return 0;
}
