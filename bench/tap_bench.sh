#!/usr/bin/env bash
# tap_bench.sh [BIN_DIR] — inlet-sink's receive rate over a TAP with the Linux
# kernel as the sender, port kind against port kind, in a network namespace
# of its own (needs root; prints why and exits 77 otherwise). Not a ctest.
#
#   TCP, one flow of TCP_MB MB from a kernel socket (inlet-testpeer tcp-send
#   --fast: one chunk sent again and again, so the sender is cheap)
#   into inlet-sink --no-hash: plain TAP (read/write per frame), io_uring,
#   TAP --queues 2 with two flows (a multi-queue TAP, one stack per queue).
#   rx_gbps is inlet-sink's: payload over the time from its first to its
#   last received byte.
#   UDP, 64-byte frames (18-byte payload) from UDP_SENDERS kernel processes,
#   UDP_COUNT datagrams each, queued in the TAP while inlet-sink is stopped:
#   datagrams per second of inlet-sink's CPU time during the drain (the
#   figure: the machine is shared, so wall-clock rates swing with the load)
#   and per second of the drain's wall clock (`_wall_`), plain TAP against
#   io_uring.
#
# RUNS runs of each (default 5); prints every run, the median and the spread
# (min-max), then ratios and `figure NAME VALUE UNIT` lines. The machine is
# shared: the kernel sender, the kernel's TAP and inlet-sink share its cores,
# so the figures are what this box gave at that moment.
#
# Environment: RUNS, TCP_MB (default 200), UDP_COUNT (default 200000),
# UDP_SENDERS (default 2; UDP_COUNT x UDP_SENDERS frames are queued in the
# kernel at once, about 1 KB of memory each), URING_RX (auto|read|plain, default auto).
set -euo pipefail

BIN=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build/bin}
RUNS=${RUNS:-5}
TCP_MB=${TCP_MB:-200}
UDP_COUNT=${UDP_COUNT:-100000}
UDP_SENDERS=${UDP_SENDERS:-2}
URING_RX=${URING_RX:-auto}
KERNEL_IP=198.51.100.1
INLET_IP=198.51.100.2
INLET_MAC=02:00:5e:10:00:42
PORT=7000

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespace and TAP)"
[ -c /dev/net/tun ] || skip "/dev/net/tun is missing"
for b in inlet-sink inlet-testpeer; do
  [ -x "$BIN/$b" ] || skip "$BIN/$b is not built (cmake --build ... --target $b)"
done
HELP=$("$BIN/inlet-sink" --port-kind uring --help 2>&1 || true)
HAVE_URING=0
grep -q -- '--port-kind [a-z_|]*uring' <<<"$HELP" && ! grep -q 'built without liburing' <<<"$HELP" && [ "$(cat /proc/sys/kernel/io_uring_disabled 2>/dev/null || echo 0)" == 0 ] &&
  HAVE_URING=1
# The vnet port (IFF_VNET_HDR + offloads), when inlet-sink has it.
HAVE_VNET=0
grep -q -- '--port-kind [a-z_|]*vnet' <<<"$HELP" && HAVE_VNET=1

NS="inlet-bench-tap-$$"
TAP="bt$$"
DIR=$(mktemp -d "${TMPDIR:-/tmp}/inlet-bench.XXXXXX")
SINK_PID=""
cleanup() {
  set +e
  if [ -n "$SINK_PID" ]; then
    kill -TERM "$SINK_PID" 2>/dev/null
    sleep 0.5
    kill -KILL "$SINK_PID" 2>/dev/null
    wait "$SINK_PID" 2>/dev/null
  fi
  ip netns del "$NS" 2>/dev/null
  rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ip netns add "$NS" || skip "ip netns add failed"
ns() { local t=$1; shift; timeout -k 2 "$t" ip netns exec "$NS" "$@"; }
ns 5 sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 || true

# make_tap multi|single: the TAP again (a multi-queue one cannot be opened
# single-queue, and the other way round).
make_tap() {
  ns 5 ip link del "$TAP" 2>/dev/null || true
  if [ "$1" == multi ]; then
    ns 5 ip tuntap add dev "$TAP" mode tap multi_queue
  else
    ns 5 ip tuntap add dev "$TAP" mode tap
  fi
  ns 5 ip addr add "$KERNEL_IP/24" dev "$TAP"
  ns 5 ip link set "$TAP" up txqueuelen 10000
  ns 5 ip neigh replace "$INLET_IP" lladdr "$INLET_MAC" dev "$TAP" nud permanent
}

# start_sink KIND QUEUES: inlet-sink in the background, up within 10 s.
start_sink() {
  local kind=$1 queues=$2 extra=()
  [ "$kind" == uring ] && extra=(--uring-rx "$URING_RX")
  : >"$DIR/sink.out"
  : >"$DIR/sink.err"
  ip netns exec "$NS" "$BIN/inlet-sink" --port-kind "$kind" --tap "$TAP" --addr "$INLET_IP/24" \
    --mac "$INLET_MAC" --queues "$queues" --tcp "$PORT" --udp $((PORT + 1)) --no-hash \
    --seconds 120 "${extra[@]}" >"$DIR/sink.out" 2>"$DIR/sink.err" &
  SINK_PID=$!
  local i
  for ((i = 0; i < 200; i++)); do
    grep -q " up\$" "$DIR/sink.err" && return 0
    kill -0 "$SINK_PID" 2>/dev/null || { cat "$DIR/sink.err" >&2; echo "inlet-sink failed" >&2; exit 1; }
    sleep 0.05
  done
  echo "inlet-sink did not come up" >&2
  exit 1
}

stop_sink() {
  kill -TERM "$SINK_PID"
  wait "$SINK_PID" || true
  SINK_PID=""
}

# The CPU time (ns) of all of inlet-sink's threads so far.
sink_cpu_ns() {
  cat /proc/"$SINK_PID"/task/*/schedstat 2>/dev/null | awk '{ n += $1 } END { printf "%d\n", n }'
}

# tcp_run KIND QUEUES FLOWS: one run; prints Gbit/s, and appends inlet-sink's
# CPU time per received segment (ns) to $DIR/tcp_cpu_KIND_QUEUES.
tcp_run() {
  local kind=$1 queues=$2 flows=$3 cpu0 cpu1
  ns 5 ip link set "$TAP" txqueuelen 10000
  start_sink "$kind" "$queues"
  cpu0=$(sink_cpu_ns)
  ns 70 "$BIN/inlet-testpeer" tcp-send "$INLET_IP" "$PORT" --fast --bytes $((TCP_MB * 1000000 / flows)) \
    --conns "$flows" --timeout 60 >"$DIR/send.out" 2>&1 || { cat "$DIR/send.out" >&2; }
  cpu1=$(sink_cpu_ns)
  stop_sink
  local segs
  segs=$(sed -n 's/^rx_gbps=[0-9.]* segments=\([0-9]*\) .*/\1/p' "$DIR/sink.out")
  awk -v c="$((cpu1 - cpu0))" -v s="${segs:-0}" 'BEGIN { printf "%.0f\n", (s > 0 ? c / s : 0) }' \
    >>"$DIR/tcp_cpu_${kind}_$queues"
  sed -n 's/^rx_gbps=\([0-9.]*\) .*/\1/p' "$DIR/sink.out"
}
# The median of inlet-sink's CPU ns per segment over the runs of KIND QUEUES.
tcp_cpu() { mapfile -t v <"$DIR/tcp_cpu_$1_$2"; stats "${v[@]}" | cut -d' ' -f1 | cut -d. -f1; }

# udp_run KIND: one run; leaves "WALL CPU" in $DIR/udp: thousands of
# datagrams received per second of the drain (wall clock) and per second of
# inlet-sink's own CPU time (/proc/PID/schedstat: its thread, the kernel's
# TAP reads and io_uring's task work included).
# The senders are as slow as the receiver on a 2-CPU box, so the frames are
# queued first: inlet-sink is stopped (SIGSTOP) while the kernel fills the
# TAP's queue (txqueuelen holds them all), then continued; the drain runs
# from its first to its last received byte.
udp_run() {
  local kind=$1 pids=() i total=$((UDP_COUNT * UDP_SENDERS))
  ns 5 ip link set "$TAP" txqueuelen $((total + 1000))
  start_sink "$kind" 1
  kill -STOP "$SINK_PID"
  for ((i = 0; i < UDP_SENDERS; i++)); do
    ns 60 "$BIN/inlet-testpeer" udp-send "$INLET_IP" $((PORT + 1)) "$UDP_COUNT" 18 >/dev/null &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || true; done
  local cpu0 cpu1
  cpu0=$(cut -d' ' -f1 "/proc/$SINK_PID/schedstat")
  kill -CONT "$SINK_PID"
  # Drained when UdpInDatagrams (SIGUSR1 report) reaches the total or stops
  # growing; at most 30 s.
  local last=-1 now=0
  for ((i = 0; i < 300; i++)); do
    sleep 0.1
    kill -USR1 "$SINK_PID"
    sleep 0.05
    now=$(awk '$1 == "UdpInDatagrams" { v = $2 } END { print v + 0 }' "$DIR/sink.out")
    [ "$now" -ge "$total" ] && break
    [ "$now" -eq "$last" ] && [ "$now" -gt 0 ] && break
    last=$now
  done
  cpu1=$(cut -d' ' -f1 "/proc/$SINK_PID/schedstat")
  stop_sink
  local datagrams seconds
  datagrams=$(sed -n "s/^udp $((PORT + 1)) datagrams=\\([0-9]*\\) .*/\\1/p" "$DIR/sink.out")
  seconds=$(sed -n 's/^rx_payload bytes=[0-9]* seconds=\([0-9.]*\)$/\1/p' "$DIR/sink.out")
  [ "${datagrams:-0}" -ge "$total" ] || echo "  ($kind: $datagrams of $total datagrams received)" >&2
  awk -v d="${datagrams:-0}" -v s="${seconds:-0}" -v c="$((cpu1 - cpu0))" \
    'BEGIN { printf "%.1f %.1f\n", (s > 0 ? d / s / 1000 : 0), (c > 0 ? d / (c / 1e9) / 1000 : 0) }' >"$DIR/udp"
}
udp_wall() { udp_run "$1"; cut -d' ' -f1 "$DIR/udp"; cut -d' ' -f2 "$DIR/udp" >>"$DIR/udp_cpu_$1"; }

# stats V...: "median min max" of the values.
stats() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%.3f %.3f %.3f\n", m, v[1], v[NR] }'
}

declare -A MEDIAN=()
# measure NAME UNIT COMMAND...: RUNS runs, one line of results.
measure() {
  local name=$1 unit=$2 values=() r v
  shift 2
  for ((r = 0; r < RUNS; r++)); do
    # In this shell, not a $(...) subshell: the sink's PID and the EXIT trap stay ours.
    "$@" >"$DIR/value"
    v=$(cat "$DIR/value")
    values+=("${v:-0}")
  done
  read -r med lo hi < <(stats "${values[@]}")
  MEDIAN[$name]=$med
  printf '%-18s median %10s %-5s spread %s-%s   runs: %s\n' "$name" "$med" "$unit" "$lo" "$hi" "${values[*]}"
}

echo "tap_bench: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs," \
  "Linux $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "tap_bench: $RUNS runs each; TCP $TCP_MB MB a run; UDP $UDP_SENDERS x $UDP_COUNT datagrams of 18 bytes (64-byte frames)"

make_tap single
ns 5 ping -c 1 -W 2 "$INLET_IP" >/dev/null 2>&1 || true
measure tap_tcp_gbps Gbit/s tcp_run tap 1 1
if [ "$HAVE_URING" == 1 ]; then
  start_sink uring 1; stop_sink
  echo "io_uring mode: $(sed -n 's/^inlet-sink: port uring mode \(.*\) queues.*/\1/p' "$DIR/sink.err")"
  measure uring_tcp_gbps Gbit/s tcp_run uring 1 1
fi
# vnet: the TAP with IFF_VNET_HDR, checksum offload and TSO (64 KiB super-frames).
if [ "$HAVE_VNET" == 1 ]; then
  measure vnet_tcp_gbps Gbit/s tcp_run vnet 1 1
fi
# Each run records both rates; the wall-clock one is measured, the CPU one
# (the figure: robust on a loaded machine) read back from the same runs.
cpu_of() { mapfile -t v <"$DIR/udp_cpu_$1"; read -r med lo hi < <(stats "${v[@]}"); MEDIAN[$2]=$med
  printf '%-18s median %10s %-5s spread %s-%s   runs: %s\n' "$2" "$med" kpps "$lo" "$hi" "${v[*]}"; }
measure tap_udp64_wall_kpps kpps udp_wall tap
cpu_of tap tap_udp64_kpps
if [ "$HAVE_URING" == 1 ]; then
  measure uring_udp64_wall_kpps kpps udp_wall uring
  cpu_of uring uring_udp64_kpps
fi
make_tap multi
measure tap_mq2_tcp_gbps Gbit/s tcp_run tap 2 2

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f\n", (b > 0 ? a / b : 0) }'; }
MQ_RATIO=$(ratio "${MEDIAN[tap_mq2_tcp_gbps]}" "${MEDIAN[tap_tcp_gbps]}")
echo "ratio tap --queues 2 / tap: $MQ_RATIO (target >= 1.7)"
# Where the time goes: inlet-sink's own CPU per segment (the kernel's TAP
# reads in its context included). The rest of each run is the kernel sender.
echo "inlet-sink CPU per TCP segment (median): tap $(tcp_cpu tap 1) ns," \
  "$([ "$HAVE_URING" == 1 ] && echo "uring $(tcp_cpu uring 1) ns,") tap --queues 2 $(tcp_cpu tap 2) ns (all threads)"
if [ "$HAVE_URING" == 1 ]; then
  URING_PPS_RATIO=$(ratio "${MEDIAN[uring_udp64_kpps]}" "${MEDIAN[tap_udp64_kpps]}")
  echo "ratio uring / tap, 64-byte frames per CPU second: $URING_PPS_RATIO (target >= 1.3)"
  echo "ratio uring / tap, 64-byte frames per wall second: $(ratio "${MEDIAN[uring_udp64_wall_kpps]}" "${MEDIAN[tap_udp64_wall_kpps]}")"
  echo "ratio uring / tap, TCP: $(ratio "${MEDIAN[uring_tcp_gbps]}" "${MEDIAN[tap_tcp_gbps]}")"
fi

echo "figure tap_tcp_gbps ${MEDIAN[tap_tcp_gbps]} Gbit/s"
[ "$HAVE_URING" == 1 ] && echo "figure uring_tcp_gbps ${MEDIAN[uring_tcp_gbps]} Gbit/s"
if [ "$HAVE_VNET" == 1 ]; then
  echo "figure vnet_tcp_gbps ${MEDIAN[vnet_tcp_gbps]} Gbit/s"
  echo "figure vnet_over_tap_tcp_ratio $(ratio "${MEDIAN[vnet_tcp_gbps]}" "${MEDIAN[tap_tcp_gbps]}") x"
fi
echo "figure tap_mq2_tcp_gbps ${MEDIAN[tap_mq2_tcp_gbps]} Gbit/s"
echo "figure tap_udp64_kpps ${MEDIAN[tap_udp64_kpps]} kpps"
echo "figure tap_udp64_wall_kpps ${MEDIAN[tap_udp64_wall_kpps]} kpps"
if [ "$HAVE_URING" == 1 ]; then
  echo "figure uring_udp64_kpps ${MEDIAN[uring_udp64_kpps]} kpps"
  echo "figure uring_udp64_wall_kpps ${MEDIAN[uring_udp64_wall_kpps]} kpps"
  echo "figure uring_over_tap_pps_ratio $URING_PPS_RATIO x"
fi
echo "figure mq2_over_mq1_ratio $MQ_RATIO x"
