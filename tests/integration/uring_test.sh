#!/usr/bin/env bash
# uring_test.sh TEST BIN_DIR — inlet-sink on the io_uring TAP port
# (--port-kind uring) with the Linux kernel as the peer, in a network namespace
# of its own (see lib.sh).
#
#   basic   ARP and ping, 300 UDP datagrams, one 20 MB kernel TCP transfer
#           (sha256), the mode line, every buffer back in the pool at exit
#   mq      the same transfer as two parallel kernel connections into
#           --queues 2 (a multi-queue TAP, one stack per queue): both sha256
#           right; whether both queues carried a flow is reported
#   mq-tap  the same with --port-kind tap --queues 2 (read/write per frame)
#   vnet    the basic checks on --port-kind vnet (IFF_VNET_HDR, checksum
#           offload and TSO): the kernel's super-frames arrive and are counted
#   fallback  single-shot reads (--uring-rx read), plain read(2)
#           (--uring-rx plain), a kernel submission thread (--uring-sqpoll)
#           and DEFER_TASKRUN (--uring-defer-taskrun): ping, UDP and a 5 MB
#           transfer each
#
# INLET_IT_URING_MB (default 20) sets the transfer size (the sanitizer build
# moves less).
#
# Exit 0 pass, 1 fail, 77 skipped (no CAP_NET_ADMIN, /dev/net/tun, io_uring).
set -euo pipefail

IT_TEST=${1:?usage: uring_test.sh basic|mq|mq-tap|fallback|vnet BIN_DIR}
IT_BIN=${2:?usage: uring_test.sh TEST BIN_DIR}
IT_TEST=uring-$IT_TEST
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for b in inlet-sink inlet-testpeer; do
  [ -x "$IT_BIN/$b" ] || it_die "$IT_BIN/$b is not built"
done
PEER="$IT_BIN/inlet-testpeer"
MB=${INLET_IT_URING_MB:-20}
BYTES=$((MB * 1000 * 1000))
SEND_TIMEOUT=40

it_require_privileges
command -v ping >/dev/null || it_skip "ping (iputils-ping) is not installed"
if [ "$1" != vnet ] && [ -r /proc/sys/kernel/io_uring_disabled ] && [ "$(cat /proc/sys/kernel/io_uring_disabled)" != 0 ]; then
  it_skip "io_uring is disabled (kernel.io_uring_disabled=$(cat /proc/sys/kernel/io_uring_disabled))"
fi
SINK_HELP=$("$IT_BIN/inlet-sink" --port-kind uring --help 2>&1 || true)
if [ "$1" != vnet ] && { ! grep -q -- '--port-kind [a-z_|]*uring' <<<"$SINK_HELP" || grep -q 'built without liburing' <<<"$SINK_HELP"; }; then
  it_skip "inlet-sink was built without io_uring (INLET_WITH_URING=OFF)"
fi

# start_sink OPTIONS...: the sink on the uring port (or $PORT_KIND); skips
# when the kernel refuses io_uring itself (a seccomp filter, an old kernel).
PORT_KIND=uring
start_sink() {
  it_ns 5 ip link set "$IT_TAP" txqueuelen 10000
  if ! it_start_sink --port-kind "$PORT_KIND" --seconds $((SEND_TIMEOUT + 20)) "$@" 2>/dev/null; then
    if grep -q 'io_uring_setup' "$IT_DIR/sink.err"; then
      it_skip "io_uring refused: $(cat "$IT_DIR/sink.err")"
    fi
    cat "$IT_DIR/sink.err" >&2
    it_die "inlet-sink did not come up"
  fi
}

# The "inlet-sink: port KIND mode M queues N" line: M.
sink_mode() {
  sed -n "s/^inlet-sink: port $PORT_KIND mode \\(.*\\) queues .*/\\1/p" "$IT_DIR/sink.err"
}

# udp_burst COUNT: COUNT datagrams of cycling sizes to $IT_PORT; echoes the bytes.
udp_burst() {
  local n=$1 sizes=(0 1 64 200 512 1000 1472) expect=0 i csv
  for ((i = 0; i < n; i++)); do expect=$((expect + sizes[i % ${#sizes[@]}])); done
  csv=$(IFS=,; echo "${sizes[*]}")
  it_ns 20 "$PEER" udp-send "$IT_INLET_IP" "$IT_PORT" "$n" "$csv" --pattern >/dev/null
  echo "$expect"
}

# tcp_send CONNS BYTES: kernel connections, bounded; output in send.out.
tcp_send() {
  it_log "kernel client: $1 connection(s) x $2 bytes"
  if ! it_ns $((SEND_TIMEOUT + 5)) "$PEER" tcp-send "$IT_INLET_IP" "$IT_PORT" --bytes "$2" \
         --conns "$1" --timeout "$SEND_TIMEOUT" >"$IT_DIR/send.out" 2>"$IT_DIR/send.err"; then
    sed 's/^/  /' "$IT_DIR/send.err" >&2
    it_check "every kernel connection delivered and closed" yes no
  fi
  it_log "$(grep '^tcp-send:' "$IT_DIR/send.out" || echo 'tcp-send: no summary')"
}

# check_transfers CONNS BYTES: each kernel connection's length and sha256 is
# in a "tcp IP:PORT bytes=N sha256=H" line of the sink.
check_transfers() {
  local conns=$1 bytes=$2 matched=0 port sent_bytes sha
  while read -r _ port sent_bytes sha; do
    [ "$sent_bytes" == "bytes=$bytes" ] || it_check "connection $port length" "bytes=$bytes" "$sent_bytes"
    if grep -q "^tcp $IT_KERNEL_IP:$port $sent_bytes $sha\\b" "$IT_DIR/sink.out"; then
      matched=$((matched + 1))
    else
      echo "  connection $port: the kernel sent $sent_bytes $sha; the sink read:" \
        "$(grep "^tcp $IT_KERNEL_IP:$port " "$IT_DIR/sink.out" || echo nothing)"
    fi
  done < <(grep '^sent ' "$IT_DIR/send.out")
  it_check "connections byte-exact (length and sha256)" "$conns" "$matched"
  it_check "connections the sink reported" "$conns" "$(grep -c '^tcp ' "$IT_DIR/sink.out" || true)"
}

check_throughput_line() {
  local line
  line=$(grep '^rx_gbps=' "$IT_DIR/sink.out" || true)
  it_log "${line:-no throughput line}"
  it_check "throughput line printed" yes \
    "$(grep -Eq '^rx_gbps=[0-9.]+ segments=[0-9]+ polls=[0-9]+$' <<<"$line" && echo yes || echo no)"
  it_check "segments = TcpInSegs" "segments=$(it_counter TcpInSegs)" "$(grep -o 'segments=[0-9]*' <<<"$line")"
}

# The port's own line: "uring IF/Q mode=M rx_frames=N ...".
uring_stat() {  # uring_stat QUEUE FIELD
  sed -n "s/^uring [^ ]*\\/$1 .*\\b$2=\\([0-9]*\\).*/\\1/p" "$IT_DIR/sink.out"
}

# ---------------------------------------------------------------------- basic
# One sink: ping, UDP, TCP, pool; $1 = extra sink options, $2 = MB.
run_single() {
  local bytes=$(($2 * 1000 * 1000))
  # shellcheck disable=SC2086
  start_sink --udp "$IT_PORT" --tcp "$IT_PORT" $1
  local mode
  mode=$(sink_mode)
  it_log "io_uring mode: ${mode:-none printed}"
  it_check "mode line printed" yes "$([ -n "$mode" ] && echo yes || echo no)"
  it_ping 3
  local n=300 expect
  expect=$(udp_burst $n)
  it_ping 1  # the barrier: every datagram before it has been read
  tcp_send 1 "$bytes"
  it_stop_sink
  it_check "udp $IT_PORT line" "datagrams=$n bytes=$expect" "$(it_udp_line "$IT_PORT")"
  it_check_counter IcmpInEchos 4
  it_check_counter IcmpOutEchoReps 4
  it_check "every ARP request answered" "$(it_counter ArpInRequests)" "$(it_counter ArpOutReplies)"
  check_transfers 1 "$bytes"
  it_check_counter TcpPassiveOpens 1
  it_check_counter TcpOutRsts 0
  check_throughput_line
  it_check "port line: mode" "$mode" "$(sed -n 's/^uring [^ ]* mode=\([^ ]*\) .*/\1/p' "$IT_DIR/sink.out")"
  it_check "port rx_errors" 0 "$(uring_stat 0 rx_errors)"
  it_check "port tx_errors" 0 "$(uring_stat 0 tx_errors)"
  it_log "$(grep '^uring ' "$IT_DIR/sink.out")"
  it_check_clean_exit
  echo "$mode" >"$IT_DIR/mode"
}

test_basic() {
  it_setup r
  run_single "" "$MB"
  # This kernel (>= 6.7) should give multishot reads; older ones fall back.
  local mode kernel
  mode=$(cat "$IT_DIR/mode")
  kernel=$(uname -r | awk -F. '{ print $1 * 100 + $2 }')
  if [ "$kernel" -ge 607 ]; then
    it_check "mode on Linux $(uname -r)" "multishot+bufring" "$mode"
  fi
  it_finish
}

test_fallback() {
  it_setup f
  local opts want auto
  # What the kernel gives without options, for the SQPOLL run's expectation.
  start_sink
  auto=$(sink_mode)
  it_stop_sink
  for opts in "--uring-rx read" "--uring-rx plain" "--uring-sqpoll" "--uring-defer-taskrun"; do
    it_log "---- $opts"
    case "$opts" in
      *read) want="read+bufring" ;;
      *plain) want="read" ;;
      *sqpoll) want="$auto+sqpoll" ;;
      *defer-taskrun) want="$auto+defer" ;;
    esac
    run_single "$opts" 5
    it_check "mode with $opts" "$want" "$(cat "$IT_DIR/mode")"
    [ "$IT_FAILURES" -eq 0 ] || break
  done
  it_finish
}

# ------------------------------------------------------------------------- mq
test_mq() {
  it_setup q
  # A multi-queue TAP: lib.sh's is single-queue, so it is made again.
  it_ns 5 ip link del "$IT_TAP"
  if ! it_ns 5 ip tuntap add dev "$IT_TAP" mode tap multi_queue 2>"$IT_DIR/tap.err"; then
    it_skip "cannot create a multi-queue TAP: $(tr '\n' ' ' <"$IT_DIR/tap.err")"
  fi
  it_ns 5 ip addr add "$IT_KERNEL_IP/24" dev "$IT_TAP"
  it_ns 5 ip link set "$IT_TAP" up
  start_sink --tcp "$IT_PORT" --queues 2
  it_log "$PORT_KIND mode: $(sink_mode), queues 2"
  it_ping 3
  local half=$((BYTES / 2))
  tcp_send 2 "$half"
  it_stop_sink
  check_transfers 2 "$half"
  it_check_counter TcpPassiveOpens 2
  # Every stack resolves the kernel's address at once, whichever queue the
  # kernel's ARP reply lands on (inlet-sink shares ARP replies between its
  # queues): no SYN-ACK waits for a retransmit.
  it_check_counter TcpExtTCPSynRetrans 0
  it_check_counter TcpOutRsts 0
  check_throughput_line
  grep '^queue ' "$IT_DIR/sink.out" | sed 's/^/  /'
  # The kernel hashes each flow to a queue: two flows land on different
  # queues about half the time, so this is reported, not required.
  local with_flows
  with_flows=$(grep -c '^queue .* connections=[1-9]' "$IT_DIR/sink.out" || true)
  if [ "$with_flows" -eq 2 ]; then
    it_log "both queues carried a flow"
  else
    it_log "both flows hashed to one queue (reported, not a failure)"
  fi
  it_check "per-queue segments add up to TcpInSegs" "$(it_counter TcpInSegs)" \
    "$(awk '$1 == "queue" { split($4, a, "="); n += a[2] } END { print n + 0 }' "$IT_DIR/sink.out")"
  # Each connection stayed on one queue: it appears in exactly one queue's line.
  it_check "connections per queue add up" 2 \
    "$(grep '^queue ' "$IT_DIR/sink.out" | sed 's/.*connections=//' | paste -sd+ | bc)"
  it_check_clean_exit
  it_finish
}

# ----------------------------------------------------------------------- vnet
# The TAP with a virtio-net header and offloads (--port-kind vnet): the
# kernel sends TSO super-frames with the checksum left partial.
test_vnet() {
  it_setup v
  PORT_KIND=vnet
  start_sink --udp "$IT_PORT" --tcp "$IT_PORT"
  it_check "mode line" "vnet tso csum" "$(sink_mode)"
  it_ping 3
  local n=300 expect
  expect=$(udp_burst $n)
  it_ping 1
  tcp_send 1 "$BYTES"
  it_stop_sink
  it_check "udp $IT_PORT line" "datagrams=$n bytes=$expect" "$(it_udp_line "$IT_PORT")"
  it_check_counter IcmpInEchos 4
  it_check_counter IcmpOutEchoReps 4
  check_transfers 1 "$BYTES"
  it_check_counter TcpPassiveOpens 1
  it_check_counter TcpOutRsts 0
  it_check_counter TcpInCsumErrors 0
  check_throughput_line
  local line superframes segments
  line=$(grep '^vnet ' "$IT_DIR/sink.out" || true)
  it_log "$line"
  superframes=$(sed -n 's/.* rx_superframes=\([0-9]*\).*/\1/p' <<<"$line")
  segments=$(sed -n 's/.* rx_segments=\([0-9]*\).*/\1/p' <<<"$line")
  it_check "the kernel sent TSO super-frames" yes "$([ "${superframes:-0}" -gt 0 ] && echo yes || echo no)"
  it_check "several segments per super-frame" yes \
    "$([ "${segments:-0}" -gt "$((2 * ${superframes:-0}))" ] && echo yes || echo no)"
  it_check "port rx_errors" 0 "$(sed -n 's/.* rx_errors=\([0-9]*\).*/\1/p' <<<"$line")"
  it_check_clean_exit
  it_finish
}

case "${1}" in
  basic) test_basic ;;
  vnet) test_vnet ;;
  mq) test_mq ;;
  mq-tap) PORT_KIND=tap; test_mq ;;
  fallback) test_fallback ;;
  *) it_die "unknown test $1" ;;
esac
