#!/usr/bin/env bash
# obs_test.sh TEST BIN_DIR — runtime observability of the examples
# (docs/observability.md).
#
#   capture  inlet-demo --pcap-at at two trace points (link-in: Ethernet,
#            ipv4-out: cooked SLL) and drop; tshark reads every file back:
#            packet counts and decoded fields (no root needed; skips without
#            tshark)
#   replay   the link-in capture replayed through inlet-replay with --json and
#            --stats-interval in capture time: every report line is one JSON
#            object, the deltas add up to the totals (no root needed)
#   sink     inlet-sink on a TAP, pinged by the kernel, with --stats-interval:
#            nstat-format deltas add up to the exit totals; SIGUSR1 prints
#            the totals; --json; --log-level info logs the interface
#
# Exit 0 pass, 1 fail, 77 skipped (a missing tool, or no CAP_NET_ADMIN for sink).
set -euo pipefail

IT_TEST=${1:?usage: obs_test.sh capture|replay|sink BIN_DIR}
IT_BIN=${2:?usage: obs_test.sh TEST BIN_DIR}
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TSHARK=${INLET_IT_TSHARK:-tshark}  # overridable, to exercise the skip

# A private scratch directory, removed at exit (the sink test uses lib.sh's).
obs_scratch() {
  IT_DIR=$(mktemp -d "${TMPDIR:-/tmp}/inlet-obs.XXXXXX")
  trap it_cleanup EXIT
}

# The frames inlet-demo feeds its stack (examples/demo/demo.cc): ARP request,
# ping, UDP to 7000, UDP to closed port 9, a bad IPv4 checksum, an IPv6
# frame, a runt.
DEMO_FRAMES=7

# Every non-empty line of FILE is one JSON object with a "kernel" object.
json_lines_ok() {
  python3 - "$1" <<'PY'
import json, sys
n = 0
for line in open(sys.argv[1]):
    if not line.startswith("{"):
        continue
    obj = json.loads(line)
    assert isinstance(obj["kernel"], dict), line
    assert obj["inlet"]["report"] in ("total", "delta"), line
    n += 1
print(n)
PY
}

# ------------------------------------------------------------------ capture
test_capture() {
  [ -x "$IT_BIN/inlet-demo" ] || it_die "$IT_BIN/inlet-demo is not built"
  command -v "$TSHARK" >/dev/null || it_skip "$TSHARK (tshark) is not installed: cannot read the captures back"
  obs_scratch
  "$IT_BIN/inlet-demo" --pcap-at "link-in:$IT_DIR/link-in.pcap" \
    --pcap-at "ipv4-out:$IT_DIR/ipv4-out.pcap" --pcap-at "drop:$IT_DIR/drop.pcap" \
    >"$IT_DIR/demo.out" 2>"$IT_DIR/demo.err" || it_die "inlet-demo failed: $(cat "$IT_DIR/demo.err")"

  local fields
  fields=$(timeout 60 "$TSHARK" -r "$IT_DIR/link-in.pcap" -T fields -e frame.protocols -e eth.type 2>/dev/null)
  it_check "link-in: frames (tshark)" "$DEMO_FRAMES" "$(grep -c . <<<"$fields")"
  it_check "link-in: ARP frames" 1 "$(grep -c 'eth:ethertype:arp' <<<"$fields" || true)"
  it_check "link-in: first frame's ethertype" "0x0806" "$(head -n 1 <<<"$fields" | cut -f2)"

  # ipv4-out: the echo reply and the port unreachable, as cooked records.
  fields=$(timeout 60 "$TSHARK" -r "$IT_DIR/ipv4-out.pcap" -T fields -e sll.pkttype -e ip.src -e ip.dst \
    -e icmp.type -e icmp.code 2>/dev/null)
  it_check "ipv4-out: datagrams (tshark)" 2 "$(grep -c . <<<"$fields")"
  it_check "ipv4-out: echo reply" "4 192.0.2.2 192.0.2.1 0 0" "$(sed -n 1p <<<"$fields" | tr '\t' ' ')"
  # The port unreachable quotes the datagram: tshark shows both headers.
  it_check "ipv4-out: port unreachable" "3,3" \
    "$(sed -n 2p <<<"$fields" | cut -f4 | tr -d ' ')$(sed -n 2p <<<"$fields" | cut -f5 | sed 's/^/,/')"

  # drop: the closed port and the bad checksum as IPv4, the IPv6 frame by its
  # ethertype, the runt as a whole Ethernet frame.
  fields=$(timeout 60 "$TSHARK" -r "$IT_DIR/drop.pcap" -T fields -e sll.etype -e udp.dstport 2>/dev/null)
  it_check "drop: records (tshark)" 4 "$(grep -c . <<<"$fields")"
  it_check "drop: protocols" "0x0800 0x0800 0x86dd 0x6558" "$(cut -f1 <<<"$fields" | tr '\n' ' ' | sed 's/ $//')"
  it_check "drop: first is the closed port" 9 "$(sed -n 1p <<<"$fields" | cut -f2)"
  it_check "malformed records at ipv4-out (tshark)" 0 \
    "$(timeout 60 "$TSHARK" -r "$IT_DIR/ipv4-out.pcap" -Y _ws.malformed 2>/dev/null | grep -c . || true)"
  # The demo's own report is unchanged by the captures.
  it_check "demo: IpInReceives" 4 "$(awk '$1 == "IpInReceives" && NF == 3 { print $2 }' "$IT_DIR/demo.out")"
  it_finish
}

# ------------------------------------------------------------------- replay
test_replay() {
  for b in inlet-demo inlet-replay; do
    [ -x "$IT_BIN/$b" ] || it_die "$IT_BIN/$b is not built"
  done
  command -v python3 >/dev/null || it_skip "python3 is not installed: cannot parse the JSON reports"
  obs_scratch
  "$IT_BIN/inlet-demo" --pcap-at "link-in:$IT_DIR/in.pcap" >/dev/null 2>&1 || it_die "inlet-demo failed"
  # The demo's frames are 10 ms apart in virtual time: a 15 ms interval in
  # capture time gives several deltas.
  "$IT_BIN/inlet-replay" "$IT_DIR/in.pcap" --addr 192.0.2.2/24 --udp 7000 --mac 02:00:5e:10:00:01 \
    --json --stats-interval 0.015 >"$IT_DIR/replay.out" 2>"$IT_DIR/replay.err" ||
    it_die "inlet-replay failed: $(cat "$IT_DIR/replay.err")"
  local objects deltas
  objects=$(json_lines_ok "$IT_DIR/replay.out") || it_die "a report line is not JSON: $(cat "$IT_DIR/replay.out")"
  deltas=$(grep -c '"report":"delta"' "$IT_DIR/replay.out" || true)
  it_check "JSON reports = deltas + 1 total" "$((deltas + 1))" "$objects"
  it_check "some deltas" yes "$([ "$deltas" -ge 2 ] && echo yes || echo no)"
  local sums
  sums=$(python3 - "$IT_DIR/replay.out" <<'PY'
import json, sys
delta = {}
total = None
for line in open(sys.argv[1]):
    if not line.startswith("{"):
        continue
    o = json.loads(line)
    if o["inlet"]["report"] == "delta":
        for k, v in o["kernel"].items():
            delta[k] = delta.get(k, 0) + v
    else:
        total = o["kernel"]
# Frames after the last interval are in the total only: deltas <= total.
ok = all(delta.get(k, 0) <= v for k, v in total.items()) and set(delta) <= set(total)
print(total.get("rx_packets", 0), total.get("IcmpInEchos", 0), total.get("UdpInDatagrams", 0), "ok" if ok else "deltas exceed totals")
PY
)
  it_check "totals rx_packets IcmpInEchos UdpInDatagrams" "$DEMO_FRAMES 1 1 ok" "$sums"
  it_check "pool line after the JSON" "in_use=0" "$(grep -o 'in_use=[0-9]*' <(tail -n 1 "$IT_DIR/replay.out"))"
  it_finish
}

# --------------------------------------------------------------------- sink
# Sum of counter NAME over the nstat-format delta reports (every "#kernel"
# block but the last, which is the exit totals) and in the last block.
sum_deltas() {
  awk -v name="$1" '/^#kernel$/ { blocks++ } { line[NR] = $0; blk[NR] = blocks }
    END { for (i = 1; i <= NR; i++) { split(line[i], f, " ");
            if (f[1] == name && blk[i] < blocks) s += f[2] } print s + 0 }' "$2"
}

test_sink() {
  for b in inlet-sink; do
    [ -x "$IT_BIN/$b" ] || it_die "$IT_BIN/$b is not built"
  done
  command -v ping >/dev/null || it_skip "ping (iputils-ping) is not installed"
  it_require_privileges
  it_setup o
  it_start_sink --udp "$IT_PORT" --stats-interval 0.2 --log-level info
  it_ping 4
  sleep 0.5   # at least one interval after the last reply
  it_stop_sink
  it_check_clean_exit
  it_check "exit IcmpInEchos" 4 "$(it_counter IcmpInEchos)"
  it_check "IcmpInEchos summed over the deltas" 4 "$(sum_deltas IcmpInEchos "$IT_DIR/sink.out")"
  it_check "delta reports" yes "$([ "$(grep -c '^#kernel$' "$IT_DIR/sink.out")" -ge 3 ] && echo yes || echo no)"
  it_check "log: interface up (info)" 1 \
    "$(grep -c "^inlet: info: interface $IT_TAP ifindex 1 mac $IT_INLET_MAC mtu 1500 up\$" "$IT_DIR/sink.err" || true)"

  # JSON and SIGUSR1: the totals on request, one object a line.
  if command -v python3 >/dev/null; then
    it_start_sink --udp "$IT_PORT" --json
    it_ping 2
    kill -USR1 "$IT_SINK_PID"
    local i
    for ((i = 0; i < 50; i++)); do
      grep -q '"report":"total"' "$IT_DIR/sink.out" && break
      sleep 0.1
    done
    it_check "SIGUSR1: a JSON total" 1 "$(grep -c '"report":"total"' "$IT_DIR/sink.out" || true)"
    it_check "SIGUSR1 total: IcmpInEchos" 2 \
      "$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["kernel"].get("IcmpInEchos", 0))' "$IT_DIR/sink.out")"
    # Stopping prints the JSON totals too (it_stop_sink wants "#kernel": not here).
    kill -TERM "$IT_SINK_PID"
    it_bg_wait "$IT_SINK_PID" || true
    IT_SINK_PID=""
    it_check "JSON reports at exit" 2 "$(json_lines_ok "$IT_DIR/sink.out")"
    it_check "log default (warning): nothing" 0 "$(grep -c '^inlet: ' "$IT_DIR/sink.err" || true)"
  else
    it_log "python3 is not installed: JSON part skipped"
  fi
  it_finish
}

case "$IT_TEST" in
  capture) test_capture ;;
  replay) test_replay ;;
  sink) test_sink ;;
  *) it_die "unknown test $IT_TEST" ;;
esac
