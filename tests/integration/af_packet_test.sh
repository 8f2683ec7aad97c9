#!/usr/bin/env bash
# af_packet_test.sh BIN_DIR — inlet on a real (virtual) Ethernet interface
# through AfPacketPort (ports/af_packet: TPACKET_V3 receive ring, sendmmsg),
# with the Linux kernel of another namespace as the peer:
#
#   netns inlet-it-afp-a-<pid>                 netns inlet-it-afp-b-<pid>
#     veth afa<pid>: up, NO kernel IPv4   <==>   veth afb<pid>: 192.0.2.2/24
#     inlet-sink --port-kind af_packet             ping, UDP and TCP senders
#                (192.0.2.1/24, the veth's MAC)    (inlet-testpeer)
#
# The kernel of namespace a has no address (and no IPv6), so it stays silent:
# every reply comes from inlet. Checked: ARP and ping answered from the
# kernel, 802.1Q tags (stripped by the kernel) restored, UDP datagrams delivered, a TCP transfer of several MB byte-exact
# (sha256) with its throughput, the port's counters in inlet-sink's exit
# report, the kernel of namespace a having sent nothing, and the pool empty
# at exit.
#
# The sender's veth gets gso_max_segs 1: without ethtool there is no other way
# to stop the kernel handing the veth 64 KB GSO super-frames, which a packet
# socket would see whole (inlet takes wire-sized frames; counted rx_truncated
# / rx_oversize otherwise). Checksum offload stays on: the frames arrive with
# TP_STATUS_CSUMNOTREADY and the port finishes their checksums.
#
# INLET_IT_AFP_MB (default 20) sets the TCP transfer's size; INLET_IT_AFP_RING
# (BLOCK_BYTES,BLOCKS,RETIRE_MS) the receive ring's geometry.
# Exit 0 pass, 1 fail, 77 skipped (no CAP_NET_ADMIN/CAP_NET_RAW, netns, tool).
set -euo pipefail

IT_BIN=${1:?usage: af_packet_test.sh BIN_DIR}
IT_TEST=af_packet
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for b in inlet-sink inlet-testpeer; do
  [ -x "$IT_BIN/$b" ] || it_die "$IT_BIN/$b is not built"
done
PEER="$IT_BIN/inlet-testpeer"
MB=${INLET_IT_AFP_MB:-20}
TCP_BYTES=$((MB * 1000 * 1000))
TCP_PORT=5001
UDP_COUNT=300
UDP_SIZES=1,100,1472
UDP_BYTES=$((UDP_COUNT / 3 * (1 + 100 + 1472)))
SEND_TIMEOUT=40

# inlet is 192.0.2.1 here, the kernel 192.0.2.2 (lib.sh's TAP tests have
# them the other way round).
INLET_IP=192.0.2.1
KERNEL_IP=192.0.2.2

require_privileges() {
  local cap
  cap=$(awk '/^CapEff:/ {print $2}' /proc/self/status 2>/dev/null || true)
  [ -n "$cap" ] || it_skip "cannot read the capability set from /proc/self/status"
  # CAP_NET_ADMIN is bit 12, CAP_NET_RAW bit 13.
  (( (16#$cap >> 12) & 1 )) || it_skip "no CAP_NET_ADMIN (run as root to make namespaces and veths)"
  (( (16#$cap >> 13) & 1 )) || it_skip "no CAP_NET_RAW (run as root to open AF_PACKET sockets)"
  command -v ip >/dev/null || it_skip "ip (iproute2) is not installed"
  command -v timeout >/dev/null || it_skip "timeout (coreutils) is not installed"
}

NS_A=""
VETH_A="afa$$"
VETH_B="afb$$"

# lib.sh's cleanup ends background processes and deletes IT_NS (namespace b,
# the kernel's); namespace a, where inlet-sink runs, is deleted here once the
# sink has been stopped.
afp_cleanup() {
  local rc=$?
  set +e
  if [ -n "$IT_SINK_PID" ] && kill -0 "$IT_SINK_PID" 2>/dev/null; then
    kill -TERM "$IT_SINK_PID" 2>/dev/null
    local i
    for ((i = 0; i < 50; i++)); do
      kill -0 "$IT_SINK_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$IT_SINK_PID" 2>/dev/null && kill -KILL "$IT_SINK_PID" 2>/dev/null
    wait "$IT_SINK_PID" 2>/dev/null
    IT_SINK_PID=""
  fi
  if [ -n "$NS_A" ]; then
    ip -n "$NS_A" link del "$VETH_A" 2>/dev/null
    ip netns del "$NS_A" 2>/dev/null
  fi
  (exit "$rc")
  it_cleanup
}

setup() {
  IT_DIR=$(mktemp -d "${TMPDIR:-/tmp}/inlet-it.XXXXXX")
  trap afp_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM HUP
  local a="inlet-it-afp-a-$$" b="inlet-it-afp-b-$$"
  ip netns add "$a" 2>"$IT_DIR/netns.err" || it_skip "ip netns add failed: $(tr '\n' ' ' <"$IT_DIR/netns.err")"
  NS_A=$a
  ip netns add "$b" 2>"$IT_DIR/netns.err" || it_skip "ip netns add failed: $(tr '\n' ' ' <"$IT_DIR/netns.err")"
  IT_NS=$b  # it_ns runs the kernel peer's commands
  local ns
  for ns in "$NS_A" "$IT_NS"; do
    if [ -d /proc/sys/net/ipv6 ]; then
      ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
        net.ipv6.conf.default.disable_ipv6=1 >/dev/null
    fi
    ip -n "$ns" link set lo up
  done
  if ! ip -n "$NS_A" link add "$VETH_A" gso_max_segs 1 type veth \
         peer name "$VETH_B" netns "$IT_NS" gso_max_segs 1 2>"$IT_DIR/veth.err"; then
    it_skip "cannot create a veth pair: $(tr '\n' ' ' <"$IT_DIR/veth.err")"
  fi
  ip -n "$NS_A" link set "$VETH_A" up  # no address: the kernel of a stays silent
  ip -n "$IT_NS" addr add "$KERNEL_IP/24" dev "$VETH_B"
  ip -n "$IT_NS" link set "$VETH_B" up
  it_log "namespaces $NS_A (inlet on $VETH_A) and $IT_NS (kernel on $VETH_B)"
}

INLET_MAC=""
start_sink() {
  : >"$IT_DIR/sink.out"
  : >"$IT_DIR/sink.err"
  ip netns exec "$NS_A" "$IT_BIN/inlet-sink" --port-kind af_packet --ifname "$VETH_A" \
    --addr "$INLET_IP/24" --udp "$IT_PORT" --tcp "$TCP_PORT" --seconds $((SEND_TIMEOUT + 30)) \
    ${INLET_IT_AFP_RING:+--af-packet-ring "$INLET_IT_AFP_RING"} >"$IT_DIR/sink.out" 2>"$IT_DIR/sink.err" &
  IT_SINK_PID=$!
  local i
  for ((i = 0; i < 200; i++)); do
    INLET_MAC=$(sed -n "s/^inlet-sink: $VETH_A mac \\([0-9a-f:]*\\) up\$/\\1/p" "$IT_DIR/sink.err")
    if [ -n "$INLET_MAC" ]; then
      it_log "inlet-sink up on AF_PACKET (pid $IT_SINK_PID, mac $INLET_MAC)"
      return 0
    fi
    if ! kill -0 "$IT_SINK_PID" 2>/dev/null; then
      cat "$IT_DIR/sink.err" >&2
      it_die "inlet-sink exited before coming up"
    fi
    sleep 0.05
  done
  cat "$IT_DIR/sink.err" >&2
  it_die "inlet-sink did not come up within 10 s"
}

# The value of FIELD=N on the sink's "af_packet IF:" line.
port_stat() {
  sed -n "s/^af_packet $VETH_A: .*\\b$1=\\([0-9]*\\).*/\\1/p" "$IT_DIR/sink.out" | tail -n 1
}
check_gt() {  # check_gt DESCRIPTION VALUE MIN
  it_check "$1 > $3" yes "$([ "${2:-0}" -gt "$3" ] && echo yes || echo "no (${2:-none})")"
}

require_privileges
setup

# The veth's own MAC is the one inlet must report (no --mac given).
VETH_MAC=$(ip -n "$NS_A" -o link show "$VETH_A" | sed -n 's/.*link\/ether \([0-9a-f:]*\) .*/\1/p')
start_sink
it_check "inlet's MAC is the interface's" "$VETH_MAC" "$INLET_MAC"

# --- ARP and ping from the kernel
it_log "ping from the kernel"
if out=$(it_ns 15 ping -n -c 5 -i 0.2 -W 2 "$INLET_IP" 2>&1); then
  it_check "ping -c 5: replies" "5 received" "$(grep -o '[0-9]* received' <<<"$out")"
else
  echo "$out"
  it_check "ping -c 5" "all answered" "ping failed"
fi
it_check "kernel's neighbour entry for inlet" "$VETH_MAC" \
  "$(it_ns 5 ip neigh show "$INLET_IP" dev "$VETH_B" | sed -n 's/.*lladdr \([0-9a-f:]*\).*/\1/p')"

# --- 802.1Q: the kernel strips the tag before the packet socket sees it; the
# port puts it back, so inlet (with no VLAN 10 sub-interface) must drop these
# tagged ARP and echo requests rather than answer them as untagged.
it_log "802.1Q VID 10 frames (inlet has no VLAN 10: dropped, not answered)"
VLAN_OUT=$(it_ns 10 "$PEER" vlan-ping "$VETH_B" 10 "$KERNEL_IP" "$INLET_IP" --count 2 \
  --timeout-ms 300 | grep '^vlan-ping:' || echo "vlan-ping failed")
it_check "tagged requests answered" "arp_replies=0 replies=0 untagged=0" \
  "$(grep -o 'arp_replies=[0-9]*' <<<"$VLAN_OUT") $(grep -o ' replies=[0-9]*' <<<"$VLAN_OUT" | tr -d ' ') $(grep -o 'untagged=[0-9]*' <<<"$VLAN_OUT")"

# --- UDP from kernel sockets
it_log "UDP: $UDP_COUNT datagrams of $UDP_SIZES bytes"
it_ns 20 "$PEER" udp-send "$INLET_IP" "$IT_PORT" "$UDP_COUNT" "$UDP_SIZES" --pattern \
  || it_check "udp-send" ok failed

# --- TCP from a kernel socket
it_log "TCP: $TCP_BYTES bytes from the kernel"
if ! it_ns $((SEND_TIMEOUT + 5)) "$PEER" tcp-send "$INLET_IP" "$TCP_PORT" --bytes "$TCP_BYTES" \
       --conns 1 --timeout "$SEND_TIMEOUT" >"$IT_DIR/send.out" 2>"$IT_DIR/send.err"; then
  sed 's/^/  /' "$IT_DIR/send.err" >&2
  it_check "kernel TCP connection delivered and closed" yes no
fi
SUMMARY=$(grep '^tcp-send:' "$IT_DIR/send.out" || echo 'tcp-send: no summary')
it_log "$SUMMARY"
# The kernel of namespace a sent nothing of its own (packet-socket frames do
# not go through its IP layer).
KERNEL_A_OUT=0
if command -v nstat >/dev/null; then
  KERNEL_A_OUT=$(ip netns exec "$NS_A" nstat -asz 2>/dev/null |
    awk '$1 == "IpOutRequests" { v = $2 } END { print v + 0 }')
fi

it_stop_sink
it_log "$(grep "^af_packet $VETH_A:" "$IT_DIR/sink.out" || echo 'no af_packet line')"

# --- checks on the exit report
it_check_counter IcmpInEchos 5
it_check_counter IcmpOutEchoReps 5
check_gt ArpOutReplies "$(it_counter ArpOutReplies)" 0
it_check "udp $IT_PORT line" "datagrams=$UDP_COUNT bytes=$UDP_BYTES" "$(it_udp_line "$IT_PORT")"
it_check_counter UdpInCsumErrors 0
it_check_counter TcpInCsumErrors 0
it_check_counter TcpPassiveOpens 1
it_check_counter TcpOutRsts 0

SENT=$(sed -n 's/^sent [0-9]* \(bytes=[0-9]* sha256=[0-9a-f]*\)$/\1/p' "$IT_DIR/send.out")
GOT=$(sed -n "s/^tcp $KERNEL_IP:[0-9]* \\(bytes=[0-9]* sha256=[0-9a-f]*\\)\$/\\1/p" "$IT_DIR/sink.out")
it_check "kernel sent" "bytes=$TCP_BYTES" "$(grep -o 'bytes=[0-9]*' <<<"$SENT" || echo none)"
it_check "inlet read the same bytes (length and sha256)" "${SENT:-nothing sent}" "${GOT:-nothing read}"
MBPS=$(sed -n 's/^tcp-send: .*\bMBps=\([0-9.]*\).*/\1/p' "$IT_DIR/send.out")
it_log "TCP throughput over AF_PACKET: ${MBPS:-?} MB/s"

it_check_counter rx_vlan_dropped 3
it_check "port rx_vlan_restored" 3 "$(port_stat rx_vlan_restored)"
check_gt "port rx_frames" "$(port_stat rx_frames)" $((TCP_BYTES / 1500))
check_gt "port tx_frames" "$(port_stat tx_frames)" 0
check_gt "port rx_blocks (handed back)" "$(port_stat rx_blocks)" 0
check_gt "port rx_csum_completed (CHECKSUM_PARTIAL)" "$(port_stat rx_csum_completed)" 0
it_check "port rx_truncated" 0 "$(port_stat rx_truncated)"
it_check "port rx_oversize" 0 "$(port_stat rx_oversize)"
it_check "port rx_malformed" 0 "$(port_stat rx_malformed)"
it_check "port tx_errors" 0 "$(port_stat tx_errors)"
it_log "ring drops (TCP recovers): rx_kernel_drops=$(port_stat rx_kernel_drops)" \
  "rx_losing_blocks=$(port_stat rx_losing_blocks) rx_nobuf=$(port_stat rx_nobuf)"
it_check "kernel of namespace a: IpOutRequests" 0 "$KERNEL_A_OUT"
it_check_clean_exit
it_finish
