# shellcheck shell=bash
# shellcheck disable=SC2034  # the constants are for the scripts that source this
# lib.sh — set-up, teardown and assertions shared by the kernel-peer tests.
#
# Topology (everything inside a namespace this run creates and deletes):
#
#   netns inlet-it-<test>-<pid>
#     TAP it<t><pid>: kernel side 192.0.2.1/24  <==fd==>  inlet-sink 192.0.2.2/24
#
# The kernel is the peer: ping, kernel UDP sockets and AF_PACKET frames from
# inlet-testpeer leave through the TAP; inlet-sink reads them from the fd.
# Only addresses of TEST-NET-1 (192.0.2.0/24, RFC 5737) are used.

IT_KERNEL_IP=192.0.2.1
IT_INLET_IP=192.0.2.2
IT_BCAST_IP=192.0.2.255
IT_INLET_MAC=02:00:5e:10:00:01
IT_PORT=7000

IT_NS=""
IT_TAP=""
IT_DIR=""
IT_BIN=${IT_BIN:-}  # set by the caller before sourcing
IT_SINK_PID=""
IT_SINK_RC=""
IT_BG_PIDS=()  # other background processes of this run (it_bg_add), ended at cleanup
IT_FAILURES=0
IT_STARTED=$SECONDS

it_log() { printf '[%s +%ss] %s\n' "${IT_TEST:-it}" "$((SECONDS - IT_STARTED))" "$*"; }
it_skip() { echo "SKIP: $*"; exit 77; }
it_die() { echo "FAIL: $*" >&2; exit 1; }

# A failed check is reported and counted; the test goes on so that one run
# shows every wrong number, and fails at the end (it_finish).
it_check() {  # it_check DESCRIPTION EXPECTED ACTUAL
  if [ "$2" == "$3" ]; then
    printf '  ok   %-44s %s\n' "$1" "$3"
  else
    printf '  FAIL %-44s expected %s, got %s\n' "$1" "$2" "$3"
    IT_FAILURES=$((IT_FAILURES + 1))
  fi
}

it_finish() {
  if [ "$IT_FAILURES" -ne 0 ]; then
    echo "---- inlet-sink stdout ----"; cat "$IT_DIR/sink.out" 2>/dev/null || true
    echo "---- inlet-sink stderr ----"; cat "$IT_DIR/sink.err" 2>/dev/null || true
    it_die "$IT_FAILURES check(s) failed"
  fi
  it_log "PASS"
}

# Skips (exit 77) unless this process may create namespaces and TAP devices.
it_require_privileges() {
  local cap
  cap=$(awk '/^CapEff:/ {print $2}' /proc/self/status 2>/dev/null || true)
  [ -n "$cap" ] || it_skip "cannot read the capability set from /proc/self/status"
  # CAP_NET_ADMIN is capability bit 12.
  (( (16#$cap >> 12) & 1 )) || it_skip "no CAP_NET_ADMIN (run as root to test against the kernel)"
  [ -c /dev/net/tun ] || it_skip "/dev/net/tun is missing (no TUN/TAP driver)"
  command -v ip >/dev/null || it_skip "ip (iproute2) is not installed"
  command -v timeout >/dev/null || it_skip "timeout (coreutils) is not installed"
}

# it_bg_add PID: a background process to end (by its PID) at cleanup.
it_bg_add() { IT_BG_PIDS+=("$1"); }

# Once reaped, a PID may belong to someone else: it leaves the list.
it_bg_forget() {
  local keep=() p
  for p in "${IT_BG_PIDS[@]}"; do [ "$p" == "$1" ] || keep+=("$p"); done
  IT_BG_PIDS=("${keep[@]}")
}

# it_bg_wait PID: waits for a background process of this run; its exit code.
it_bg_wait() {
  local rc=0
  wait "$1" || rc=$?
  it_bg_forget "$1"
  return "$rc"
}

# it_bg_stop PID: SIGTERM, at most 5 s to exit, then SIGKILL; reaps it.
# Returns the process's exit code (or 137 after SIGKILL).
it_bg_stop() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  it_bg_wait "$pid"
}

it_cleanup() {
  local rc=$?
  set +e
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
    echo "FAIL: ${IT_TEST:-test} stopped with exit code $rc (messages above)" >&2
  fi
  local bg
  for bg in "${IT_BG_PIDS[@]}"; do
    it_bg_stop "$bg"
  done
  if [ -n "$IT_SINK_PID" ] && kill -0 "$IT_SINK_PID" 2>/dev/null; then
    kill -TERM "$IT_SINK_PID" 2>/dev/null
    local i
    for ((i = 0; i < 50; i++)); do
      kill -0 "$IT_SINK_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$IT_SINK_PID" 2>/dev/null && kill -KILL "$IT_SINK_PID" 2>/dev/null
    wait "$IT_SINK_PID" 2>/dev/null
  fi
  if [ -n "$IT_NS" ]; then
    # Deleting the namespace deletes the TAP in it; delete it first anyway so
    # nothing outlives the run even if the namespace lingers (a stray process).
    [ -n "$IT_TAP" ] && ip netns exec "$IT_NS" ip link del "$IT_TAP" 2>/dev/null
    ip netns del "$IT_NS" 2>/dev/null
  fi
  [ -n "$IT_DIR" ] && rm -rf "$IT_DIR"
  exit "$rc"
}

# it_setup TEST_LETTER: namespace, TAP (kernel side 192.0.2.1/24, up), no IPv6
# (so the kernel sends no router solicitations or MLD reports of its own).
it_setup() {
  local letter=$1
  IT_DIR=$(mktemp -d "${TMPDIR:-/tmp}/inlet-it.XXXXXX")
  trap it_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM HUP
  local ns="inlet-it-$IT_TEST-$$"
  if ! ip netns add "$ns" 2>"$IT_DIR/netns.err"; then
    it_skip "ip netns add failed: $(tr '\n' ' ' <"$IT_DIR/netns.err")"
  fi
  IT_NS=$ns
  IT_TAP="it$letter$$"
  if [ -d /proc/sys/net/ipv6 ]; then
    ip netns exec "$IT_NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
      net.ipv6.conf.default.disable_ipv6=1 >/dev/null
  fi
  if ! ip netns exec "$IT_NS" ip tuntap add dev "$IT_TAP" mode tap 2>"$IT_DIR/tap.err"; then
    it_skip "cannot create a TAP device: $(tr '\n' ' ' <"$IT_DIR/tap.err")"
  fi
  ip netns exec "$IT_NS" ip addr add "$IT_KERNEL_IP/24" dev "$IT_TAP"
  ip netns exec "$IT_NS" ip link set "$IT_TAP" up
  it_log "namespace $IT_NS, TAP $IT_TAP"
}

# Runs a command in the namespace, bounded in time.
it_ns() {  # it_ns SECONDS CMD...
  local t=$1
  shift
  timeout -k 2 "$t" ip netns exec "$IT_NS" "$@"
}

# it_start_sink [EXTRA OPTIONS...]: starts inlet-sink on the TAP in the
# background and waits (at most 10 s) for its "up" line.
it_start_sink() {
  : >"$IT_DIR/sink.out"
  : >"$IT_DIR/sink.err"
  ip netns exec "$IT_NS" "$IT_BIN/inlet-sink" --tap "$IT_TAP" --addr "$IT_INLET_IP/24" \
    --mac "$IT_INLET_MAC" --seconds 45 "$@" >"$IT_DIR/sink.out" 2>"$IT_DIR/sink.err" &
  IT_SINK_PID=$!
  local i
  for ((i = 0; i < 200; i++)); do
    if grep -q "^inlet-sink: $IT_TAP mac $IT_INLET_MAC up\$" "$IT_DIR/sink.err"; then
      it_log "inlet-sink up (pid $IT_SINK_PID)"
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

# Stops inlet-sink with SIGTERM (at most 10 s), records its exit code and
# checks that it printed its exit report.
it_stop_sink() {
  kill -TERM "$IT_SINK_PID"
  local i
  for ((i = 0; i < 100; i++)); do
    kill -0 "$IT_SINK_PID" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$IT_SINK_PID" 2>/dev/null; then
    kill -KILL "$IT_SINK_PID"
    wait "$IT_SINK_PID" 2>/dev/null || true
    IT_SINK_PID=""
    it_die "inlet-sink did not exit within 10 s of SIGTERM"
  fi
  IT_SINK_RC=0
  wait "$IT_SINK_PID" || IT_SINK_RC=$?
  IT_SINK_PID=""
  grep -q '^#kernel$' "$IT_DIR/sink.out" || it_die "inlet-sink printed no counters: $(cat "$IT_DIR/sink.err")"
  grep -q '^pool: ' "$IT_DIR/sink.out" || it_die "inlet-sink printed no pool line"
  # Sanitizer reports go to stderr; any of them is a failure.
  if grep -Eq 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$IT_DIR/sink.err"; then
    cat "$IT_DIR/sink.err" >&2
    it_die "inlet-sink reported a sanitizer error"
  fi
}

# The sink's exit report: from its last "#kernel" line on (SIGUSR1 dumps, if
# any, come before it). The "udp PORT" lines precede it.
it_report() {
  # sed reads to the end (no early q): tac must not die of SIGPIPE on a long
  # report, which pipefail would turn into the test's exit code (141).
  tac "$IT_DIR/sink.out" | sed -n '1,/^#kernel$/p' | tac
}

# The value of an nstat counter in the sink's exit report (0 when absent:
# nstat prints non-zero counters only).
it_counter() {
  it_report | awk -v name="$1" '$1 == name && NF == 3 { v = $2 } END { print v + 0 }'
}

# it_wait_counter NAME VALUE SECONDS: asks the running sink for its counters
# (SIGUSR1) every 0.1 s until NAME has reached VALUE; false after SECONDS.
it_wait_counter() {
  local name=$1 value=$2 tries=$(($3 * 10)) i
  for ((i = 0; i < tries; i++)); do
    kill -USR1 "$IT_SINK_PID"
    sleep 0.1
    if awk -v name="$name" -v value="$value" \
         '$1 == name && NF == 3 && $2 >= value { found = 1 } END { exit !found }' "$IT_DIR/sink.out"
    then
      return 0
    fi
  done
  return 1
}

it_check_counter() {  # it_check_counter NAME EXPECTED
  it_check "$1" "$2" "$(it_counter "$1")"
}

# "datagrams=N bytes=M" of the sink's line for a UDP port.
it_udp_line() {
  sed -n "s/^udp $1 \\(datagrams=[0-9]* bytes=[0-9]*\\)\$/\\1/p" "$IT_DIR/sink.out"
}

# The drop-reason lines ("drop REASON N"), sorted, as "REASON=N" words.
it_drops() {
  it_report | awk '$1 == "drop" && NF == 3 { print $2 "=" $3 }' | sort | tr '\n' ' ' | sed 's/ $//'
}

# Exit code 0, every buffer back in the pool, no allocation failure.
it_check_clean_exit() {
  it_check "inlet-sink exit code" 0 "$IT_SINK_RC"
  local line
  line=$(grep '^pool: ' "$IT_DIR/sink.out" | tail -n 1)
  it_check "pool in_use at exit" "in_use=0" "$(grep -o 'in_use=[0-9]*' <<<"$line")"
  it_check "pool alloc_failures" "alloc_failures=0" "$(grep -o 'alloc_failures=[0-9]*' <<<"$line")"
}

# Frames the kernel dropped on its side of the TAP (a full queue while inlet
# was not reading): a loss that is not inlet's, but would skew every count.
it_check_kernel_tx_dropped() {
  local dropped
  dropped=$(it_ns 5 ip -s link show "$IT_TAP" | awk 'tx { print $4; exit } $1 == "TX:" { tx = 1 }')
  it_check "kernel TAP TX dropped (lost before inlet)" 0 "$dropped"
}

# it_ping COUNT [PING OPTIONS...]: COUNT echo requests from the kernel; all
# must be answered with intact data (iputils checks the echoed bytes).
it_ping() {
  local count=$1
  shift
  local out what="ping -c $count${*:+ $*}"
  if ! out=$(it_ns 15 ping -n -c "$count" -i 0.2 -W 2 "$@" "$IT_INLET_IP" 2>&1); then
    echo "$out"
    it_check "$what" "all answered" "ping failed"
    return 0
  fi
  it_check "$what: replies" "$count received" "$(grep -o '[0-9]* received' <<<"$out")"
  if grep -q 'wrong data byte\|DUP!\|BAD CHECKSUM' <<<"$out"; then
    echo "$out"
    it_check "$what: reply data" "intact" "damaged or duplicated"
  fi
}
