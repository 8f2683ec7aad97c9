#!/usr/bin/env bash
# busy_poll_bench.sh [BIN_DIR] — request/response latency over a TAP, inlet-sink
# in interrupt mode (net.core.busy_poll=0) against busy polling
# (net.core.busy_poll=USEC), in a network namespace of its own. Needs root
# (CAP_NET_ADMIN) and /dev/net/tun; prints "SKIP: reason" and exits 0
# otherwise. Not a ctest.
#
#   netns inlet-bench-bp-<pid>
#     TAP: kernel side 203.0.113.1/24  <==fd==>  inlet-sink 203.0.113.2/24
#
# The kernel is the client: inlet-rtt-probe (bench/tools/rtt_probe.cc) sends
# ICMP echo requests, one outstanding at a time, and times each reply with
# CLOCK_MONOTONIC. With a gap between a reply and the next request (GAPS, µs)
# inlet's queue has gone idle by the time the next request comes: that is
# where busy polling can matter (a queue that ran dry stays polled for
# busy_poll µs before its interrupt — here the TAP fd in poll() — is re-armed).
#
# Each round runs every mode once, in an order that rotates from round to
# round (the machine is shared: load drifts over all modes alike); each
# figure is the median over ROUNDS rounds, with the spread (min-max). The
# sink's CPU time during each probe run (/proc/PID/schedstat, else utime+stime
# from /proc/PID/stat) over the run's wall time is its CPU share: busy
# polling spends a core.
#
# Environment:
#   ROUNDS (5), COUNT samples per run (5000), WARMUP (300), GAPS ("0 200").
#   BUSY: the busy_poll values measured against 0 ("50 250"; inlet's
#     busy_poll is how long a queue that ran dry stays polled, so it helps a
#     request only when it spans the gap before it: 250 spans 200 µs).
#   HEADLINE_GAP (200), HEADLINE_BUSY (250): the runs the busy_poll_*/irq_*
#     figures come from.
#   PIN: 0 (the scheduler places both), split (inlet-sink on CPU 1, the probe
#     on CPU 0, with taskset) or same (both on CPU 1).
#   PROBE_SPIN: 1 makes the probe poll its socket without sleeping, which
#     takes its own wake-up out of the round trip (and spends a core).
#   SINK (BIN_DIR/inlet-sink): another inlet-sink build, for an experiment;
#   SINK_FLAGS: more inlet-sink options.
set -euo pipefail

BIN=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build/bin}
ROUNDS=${ROUNDS:-5}
COUNT=${COUNT:-5000}
WARMUP=${WARMUP:-300}
GAPS=${GAPS:-"0 200"}
BUSY=${BUSY:-"50 250"}
PIN=${PIN:-0}
PROBE_SPIN=${PROBE_SPIN:-0}
HEADLINE_GAP=${HEADLINE_GAP:-200}
HEADLINE_BUSY=${HEADLINE_BUSY:-250}
KERNEL_IP=203.0.113.1
INLET_IP=203.0.113.2
INLET_MAC=02:00:5e:10:00:43

skip() { echo "SKIP: $*"; exit 0; }
cap=$(awk '/^CapEff:/ {print $2}' /proc/self/status 2>/dev/null || true)
[ -n "$cap" ] || skip "cannot read the capability set from /proc/self/status"
(( (16#$cap >> 12) & 1 )) || skip "no CAP_NET_ADMIN (run as root)"
[ -c /dev/net/tun ] || skip "/dev/net/tun is missing (no TUN/TAP driver)"
command -v ip >/dev/null || skip "ip (iproute2) is not installed"
command -v timeout >/dev/null || skip "timeout (coreutils) is not installed"
SINK=${SINK:-$BIN/inlet-sink}
[ -x "$SINK" ] || skip "$SINK is not built (cmake --build ... --target inlet-sink)"
[ -x "$BIN/inlet-rtt-probe" ] || skip "$BIN/inlet-rtt-probe is not built (cmake --build ... --target inlet-rtt-probe)"
case "$PIN" in
  0) ;;
  split | same)
    command -v taskset >/dev/null || skip "PIN=$PIN needs taskset (util-linux)"
    [ "$(nproc)" -ge 2 ] || skip "PIN=$PIN needs two CPUs"
    ;;
  *) skip "PIN must be 0, split or same" ;;
esac
case "$ROUNDS$COUNT$WARMUP" in *[!0-9]*) skip "ROUNDS, COUNT and WARMUP must be numbers" ;; esac
if [ "$ROUNDS" -lt 1 ] || [ "$ROUNDS" -gt 50 ]; then skip "ROUNDS must be 1-50"; fi
TICK=$(getconf CLK_TCK)

NS="inlet-bench-bp-$$"
TAP="bp$$"
DIR=$(mktemp -d "${TMPDIR:-/tmp}/inlet-bench-bp.XXXXXX")
SINK_PID=""
NS_MADE=0
stop_sink() {
  [ -n "$SINK_PID" ] || return 0
  local i
  kill -TERM "$SINK_PID" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$SINK_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$SINK_PID" 2>/dev/null && kill -KILL "$SINK_PID" 2>/dev/null
  wait "$SINK_PID" 2>/dev/null || true
  SINK_PID=""
}
cleanup() {
  set +e
  stop_sink
  if [ "$NS_MADE" == 1 ]; then
    ip netns exec "$NS" ip link del "$TAP" 2>/dev/null
    ip netns del "$NS" 2>/dev/null
  fi
  rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

ip netns add "$NS" 2>"$DIR/netns.err" || skip "ip netns add failed: $(tr '\n' ' ' <"$DIR/netns.err")"
NS_MADE=1
ns() { local t=$1; shift; timeout -k 2 "$t" ip netns exec "$NS" "$@"; }
ns 5 sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 2>/dev/null || true
# The probe's ICMP datagram socket, for root inside this namespace (a new
# namespace allows none; without it the probe takes a raw socket).
ns 5 sysctl -qw net.ipv4.ping_group_range="0 0" 2>/dev/null || true
ns 5 ip tuntap add dev "$TAP" mode tap 2>"$DIR/tap.err" || skip "cannot create a TAP: $(tr '\n' ' ' <"$DIR/tap.err")"
ns 5 ip addr add "$KERNEL_IP/24" dev "$TAP"
ns 5 ip link set "$TAP" up
# No ARP on the measured path (a neighbour re-probe would be an outlier).
ns 5 ip neigh replace "$INLET_IP" lladdr "$INLET_MAC" dev "$TAP" nud permanent

SINK_PIN=()
PROBE_PIN=()
case "$PIN" in
  split) SINK_PIN=(taskset -c 1) PROBE_PIN=(taskset -c 0) ;;
  same) SINK_PIN=(taskset -c 1) PROBE_PIN=(taskset -c 1) ;;
esac
read -r -a SINK_EXTRA <<<"${SINK_FLAGS:-}"
PROBE_EXTRA=()
[ "$PROBE_SPIN" == 1 ] && PROBE_EXTRA=(--spin)

# start_sink BUSY_POLL_USEC: inlet-sink in the background, up within 10 s.
start_sink() {
  : >"$DIR/sink.out"
  : >"$DIR/sink.err"
  # `ip netns exec` execs the command: $! is inlet-sink's own PID.
  ip netns exec "$NS" "${SINK_PIN[@]}" "$SINK" --tap "$TAP" --addr "$INLET_IP/24" \
    --mac "$INLET_MAC" --seconds 600 --sysctl "net.core.busy_poll=$1" "${SINK_EXTRA[@]}" \
    >"$DIR/sink.out" 2>"$DIR/sink.err" &
  SINK_PID=$!
  local i
  for ((i = 0; i < 200; i++)); do
    grep -q " up\$" "$DIR/sink.err" && return 0
    kill -0 "$SINK_PID" 2>/dev/null || { cat "$DIR/sink.err" >&2; echo "inlet-sink failed" >&2; exit 1; }
    sleep 0.05
  done
  echo "inlet-sink did not come up within 10 s" >&2
  exit 1
}

# inlet-sink's CPU time so far, in ns: the first field of /proc/PID/schedstat
# (the scheduler's own count); without schedstats, utime+stime of
# /proc/PID/stat (fields 14 and 15, after the command name, which may hold
# spaces), whose clock ticks (10 ms) are coarse for a run of 0.1-1 s.
sink_cpu_ns() {
  if [ -r /proc/"$SINK_PID"/schedstat ]; then
    awk '{ printf "%d\n", $1 }' /proc/"$SINK_PID"/schedstat
  else
    sed 's/.*) //' /proc/"$SINK_PID"/stat | awk -v tick="$TICK" '{ printf "%d\n", ($12 + $13) * 1e9 / tick }'
  fi
}

# probe_run MODE BUSY GAP: one probe run against the running sink; appends
# "p50 p99 p999 lost cpu_pct" to $DIR/res_MODE_GAP.
probe_run() {
  local mode=$1 gap=$3 t0 t1 c0 c1 out deadline
  deadline=$((30 + (COUNT + WARMUP) * (gap + 1000) / 1000000))
  c0=$(sink_cpu_ns)
  t0=$(date +%s%N)
  if ! out=$(ns $((deadline + 10)) "${PROBE_PIN[@]}" "$BIN/inlet-rtt-probe" --dst "$INLET_IP" \
      --count "$COUNT" --warmup "$WARMUP" --gap-us "$gap" --timeout-ms 100 \
      --deadline-s "$deadline" --name x "${PROBE_EXTRA[@]}"); then
    echo "inlet-rtt-probe failed (mode $mode, gap $gap): $out" >&2
    exit 1
  fi
  t1=$(date +%s%N)
  c1=$(sink_cpu_ns)
  SOCKET_KIND=$(sed -n 's/.* socket=\([a-z]*\) .*/\1/p' <<<"$out")
  awk -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" '
    $1 == "figure" { v[$2] = $3 }
    END { printf "%s %s %s %s %.1f\n", v["x_p50_us"], v["x_p99_us"], v["x_p999_us"], v["x_lost"],
                 100 * (c1 - c0) / (t1 - t0) }' <<<"$out" >>"$DIR/res_${mode}_${gap}"
}

MODES=(irq)
declare -A MODE_BUSY=([irq]=0)
for b in $BUSY; do
  case "$b" in '' | *[!0-9]*) skip "BUSY values must be numbers (µs)" ;; esac
  MODES+=("bp$b")
  MODE_BUSY[bp$b]=$b
done
for g in $GAPS; do
  case "$g" in '' | *[!0-9]*) skip "GAPS values must be numbers (µs)" ;; esac
done

echo "busy_poll_bench: $(nproc) CPUs, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)," \
  "load $(cut -d' ' -f1-3 /proc/loadavg); kernel $(uname -r)"
echo "rounds=$ROUNDS count=$COUNT warmup=$WARMUP gaps_us=\"$GAPS\" busy_poll_us=\"$BUSY\"" \
  "pin=$PIN probe_spin=$PROBE_SPIN sink=$SINK ${SINK_FLAGS:-}"

SOCKET_KIND=""
n_modes=${#MODES[@]}
for ((r = 0; r < ROUNDS; r++)); do
  for ((k = 0; k < n_modes; k++)); do
    mode=${MODES[(k + r) % n_modes]}
    start_sink "${MODE_BUSY[$mode]}"
    for g in $GAPS; do
      probe_run "$mode" "${MODE_BUSY[$mode]}" "$g"
    done
    stop_sink
  done
  echo "round $((r + 1))/$ROUNDS done"
done
echo "probe socket: $SOCKET_KIND; the sink's CPU share is of one core (100 = a core busy)"

# spread FILE COLUMN: "median min max" of a column over the rounds.
spread() {
  awk -v c="$2" '{ print $c }' "$1" | sort -g | awk '
    { v[NR] = $1 }
    END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print m, v[1], v[NR] }'
}
med() { spread "$1" "$2" | cut -d' ' -f1; }

printf '\n%-6s %-7s %-22s %-22s %-10s %-6s %-16s\n' gap_us mode "p50 µs med (min-max)" \
  "p99 µs med (min-max)" "p99.9 med" lost "sink CPU % med"
for g in $GAPS; do
  for mode in "${MODES[@]}"; do
    f="$DIR/res_${mode}_${g}"
    read -r p50 p50lo p50hi < <(spread "$f" 1)
    read -r p99 p99lo p99hi < <(spread "$f" 2)
    lost=$(awk '{ n += $4 } END { print n + 0 }' "$f")
    printf '%-6s %-7s %-22s %-22s %-10s %-6s %-16s\n' "$g" "$mode" "$p50 ($p50lo-$p50hi)" \
      "$p99 ($p99lo-$p99hi)" "$(med "$f" 3)" "$lost" "$(med "$f" 5)"
  done
done

echo
for g in $GAPS; do
  for mode in "${MODES[@]}"; do
    f="$DIR/res_${mode}_${g}"
    echo "figure ${mode}_gap${g}_p50_us $(med "$f" 1) us"
    echo "figure ${mode}_gap${g}_p99_us $(med "$f" 2) us"
    echo "figure ${mode}_gap${g}_sink_cpu_pct $(med "$f" 5) %"
  done
done
hb="$DIR/res_bp${HEADLINE_BUSY}_${HEADLINE_GAP}"
hi="$DIR/res_irq_${HEADLINE_GAP}"
if [ -s "$hb" ] && [ -s "$hi" ]; then
  bp50=$(med "$hb" 1) bp99=$(med "$hb" 2) ir50=$(med "$hi" 1) ir99=$(med "$hi" 2)
  echo "headline: gap ${HEADLINE_GAP} µs, busy_poll ${HEADLINE_BUSY} µs against 0"
  echo "figure busy_poll_p50_us $bp50 us"
  echo "figure busy_poll_p99_us $bp99 us"
  echo "figure irq_p50_us $ir50 us"
  echo "figure irq_p99_us $ir99 us"
  echo "figure busy_poll_p50_ratio $(awk -v a="$bp50" -v b="$ir50" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }') x"
  echo "figure busy_poll_p99_ratio $(awk -v a="$bp99" -v b="$ir99" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }') x"
  echo "figure busy_poll_sink_cpu_pct $(med "$hb" 5) %"
  echo "figure irq_sink_cpu_pct $(med "$hi" 5) %"
else
  echo "no headline figures: HEADLINE_GAP=$HEADLINE_GAP / HEADLINE_BUSY=$HEADLINE_BUSY were not measured"
fi
