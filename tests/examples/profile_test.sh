#!/usr/bin/env bash
# The examples' --profile option (core/profiles.h through examples/common):
# a profile changes the stack the example builds, `list` names all three, an
# unknown name is a usage error, and a later --sysctl refines a profile.
#   profile_test.sh BIN_DIR
set -uo pipefail
bin=$1
fail=0
check() {  # check NAME CONDITION-RESULT
  if [ "$2" = 0 ]; then echo "  ok   $1"; else echo "  FAIL $1"; fail=1; fi
}

out=$("$bin/inlet-demo" --profile low-memory 2>&1); rc=$?
check "low-memory demo exits 0" "$rc"
grep -q "pool: capacity=64 in_use=0" <<<"$out"; check "low-memory: pool of 64 buffers, all returned" $?

out=$("$bin/inlet-demo" 2>&1)
grep -q "pool: capacity=256 in_use=0" <<<"$out"; check "no profile: the demo's own 256 buffers" $?

# Order matters, as with sysctl files: a later --sysctl refines the profile,
# a later profile overrides an earlier --sysctl. The demo's own frames, captured
# at link-in, are the replay's input.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin/inlet-demo" --pcap-at "link-in:$tmp/in.pcap" >/dev/null 2>&1
out=$("$bin/inlet-replay" "$tmp/in.pcap" --profile low-memory --sysctl inlet.pool.buffers=96 2>&1)
grep -q "pool: capacity=96 in_use=0" <<<"$out"; check "--sysctl after --profile refines it" $?
out=$("$bin/inlet-replay" "$tmp/in.pcap" --sysctl inlet.pool.buffers=96 --profile low-memory 2>&1)
grep -q "pool: capacity=64 in_use=0" <<<"$out"; check "--profile after --sysctl overrides it" $?

out=$("$bin/inlet-demo" --profile list 2>&1); rc=$?
check "--profile list exits 0" "$rc"
for p in network-latency network-throughput low-memory; do
  grep -q "^$p:" <<<"$out"; check "--profile list names $p" $?
done
grep -q "net.core.busy_poll = 50" <<<"$out"; check "network-latency sets busy_poll 50 (tuned)" $?

out=$("$bin/inlet-demo" --profile no-such-profile 2>&1); rc=$?
[ "$rc" = 2 ]; check "unknown profile is a usage error (exit 2)" $?
grep -q "valid: network-latency, network-throughput, low-memory" <<<"$out"; check "the error names the valid profiles" $?

exit $fail
