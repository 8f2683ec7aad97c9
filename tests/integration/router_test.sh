#!/usr/bin/env bash
# router_test.sh TEST BIN_DIR — inlet-router between two Linux namespaces.
#
#   netns R: inlet-router, holding the fds of two TAPs it created
#   netns A: TAP a<pid> (192.0.2.2/24, default via inlet's 192.0.2.1)
#   netns B: TAP b<pid> (198.51.100.2/24, default via inlet's 198.51.100.1)
#
# inlet-router creates both TAPs in R; once it is forwarding, their netdevs
# move to A and B (the fds stay with inlet), so every packet from A to B is
# read and written by inlet. Only TEST-NET addresses (RFC 5737), inside
# namespaces this run creates and deletes.
#
#   ping          pings cross both ways; IpForwDatagrams counts every echo
#                 request and reply; the pool is empty at exit
#   icmp          TTL 1 gets time exceeded, no route net unreachable, a
#                 prohibit route "packet filtered", an unreachable route host
#                 unreachable, a blackhole route nothing
#   tcp           a kernel TCP transfer from A to B crosses byte-exact
#   pmtu          --mtu on B's side: datagrams without DF are fragmented by
#                 inlet and arrive whole; TCP with DF gets fragmentation-needed,
#                 the kernel learns the path MTU and the transfer completes
#   route-change  a routes file, rewritten and reloaded with SIGHUP, changes
#                 where 203.0.113.0/24 goes; a bad file changes nothing
#   filter        a --rules file drops UDP to one port (FilterDrops, the rule's
#                 counters), counts ICMP, and lets the rest through
#   vlan          802.1Q-tagged ARP and echo to an inlet VLAN sub-interface
#                 come back with the same VID; routed to B and back too
#   bridge        A and B on one subnet through inlet's learning bridge
#
# INLET_IT_ROUTER_SCALE (percent, default 100) scales the transfer sizes, for
# the sanitizer build.
#
# Exit 0 pass, 1 fail, 77 skipped (no CAP_NET_ADMIN, /dev/net/tun, netns, tool).
set -euo pipefail

IT_TEST=${1:?usage: router_test.sh ping|icmp|tcp|pmtu|route-change|filter|vlan|bridge BIN_DIR}
IT_BIN=${2:?usage: router_test.sh TEST BIN_DIR}
IT_TEST=router-$IT_TEST  # names the namespaces and the log lines
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for b in inlet-router inlet-testpeer; do
  [ -x "$IT_BIN/$b" ] || it_die "$IT_BIN/$b is not built"
done
PEER="$IT_BIN/inlet-testpeer"
SCALE=${INLET_IT_ROUTER_SCALE:-100}
MB=$((1000 * 1000))
TAP_RING=10000     # tun drops rather than pushing back: a deep ring
SEND_TIMEOUT=40    # seconds for a whole tcp-send run (under the ctest TIMEOUT)

A_IP=192.0.2.2
R_A_IP=192.0.2.1
B_IP=198.51.100.2
R_B_IP=198.51.100.1
FAR_IP=203.0.113.2  # B's extra address (route-change)

NS_R="" NS_A="" NS_B=""
TA="a$$"  # the TAP towards A (named as inlet-router names it)
TB="b$$"
ROUTER_PID=""
ROUTER_RC=""

scaled() { echo $(($1 * SCALE / 100)); }

rt_cleanup() {
  local rc=$?
  set +e
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
    echo "FAIL: $IT_TEST stopped with exit code $rc (messages above)" >&2
  fi
  local bg
  for bg in "${IT_BG_PIDS[@]}"; do it_bg_stop "$bg" >/dev/null; done
  if [ -n "$ROUTER_PID" ]; then
    it_bg_stop "$ROUTER_PID" >/dev/null
  fi
  local ns
  for ns in "$NS_A" "$NS_B" "$NS_R"; do
    [ -n "$ns" ] && ip netns del "$ns" 2>/dev/null
  done
  [ -n "$IT_DIR" ] && rm -rf "$IT_DIR"
  exit "$rc"
}

rt_ns_add() {  # rt_ns_add SUFFIX: a namespace with lo up and no IPv6; its name
  local ns="inlet-it-$IT_TEST-$1-$$"
  if ! ip netns add "$ns" 2>"$IT_DIR/netns.err"; then
    it_skip "ip netns add failed: $(tr '\n' ' ' <"$IT_DIR/netns.err")"
  fi
  if [ -d /proc/sys/net/ipv6 ]; then
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
      net.ipv6.conf.default.disable_ipv6=1 >/dev/null
  fi
  ip -n "$ns" link set lo up
  echo "$ns"
}

rt_setup() {
  IT_DIR=$(mktemp -d "${TMPDIR:-/tmp}/inlet-it.XXXXXX")
  trap rt_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM HUP
  NS_R=$(rt_ns_add r)
  NS_A=$(rt_ns_add a)
  NS_B=$(rt_ns_add b)
  # Probe for TAP support here, so that a kernel without it skips.
  if ! ip netns exec "$NS_R" ip tuntap add dev "p$$" mode tap 2>"$IT_DIR/tap.err"; then
    it_skip "cannot create a TAP device: $(tr '\n' ' ' <"$IT_DIR/tap.err")"
  fi
  ip -n "$NS_R" link del "p$$"
  it_log "namespaces $NS_R (inlet-router), $NS_A, $NS_B"
}

in_a() { local t=$1; shift; timeout -k 2 "$t" ip netns exec "$NS_A" "$@"; }
in_b() { local t=$1; shift; timeout -k 2 "$t" ip netns exec "$NS_B" "$@"; }

# start_router [inlet-router options...]: in R, in the background; waits (at
# most 10 s) for "forwarding", then moves the TAPs out to A and B.
start_router() {
  : >"$IT_DIR/router.out"
  : >"$IT_DIR/router.err"
  ip netns exec "$NS_R" "$IT_BIN/inlet-router" --seconds 90 "$@" \
    >"$IT_DIR/router.out" 2>"$IT_DIR/router.err" &
  ROUTER_PID=$!
  local i
  for ((i = 0; i < 200; i++)); do
    grep -q '^inlet-router: forwarding$' "$IT_DIR/router.err" && break
    if ! kill -0 "$ROUTER_PID" 2>/dev/null; then
      cat "$IT_DIR/router.err" >&2
      ROUTER_PID=""
      it_die "inlet-router exited before forwarding"
    fi
    sleep 0.05
  done
  grep -q '^inlet-router: forwarding$' "$IT_DIR/router.err" || {
    cat "$IT_DIR/router.err" >&2
    it_die "inlet-router did not start forwarding within 10 s"
  }
  ip -n "$NS_R" link set "$TA" netns "$NS_A"
  ip -n "$NS_R" link set "$TB" netns "$NS_B"
  ip -n "$NS_A" link set "$TA" txqueuelen "$TAP_RING" up
  ip -n "$NS_B" link set "$TB" txqueuelen "$TAP_RING" up
  it_log "inlet-router forwarding (pid $ROUTER_PID): $*"
}

# The routed topology: A and B on their own subnets, inlet between.
routed_addresses() {
  ip -n "$NS_A" addr add "$A_IP/24" dev "$TA"
  ip -n "$NS_A" route add default via "$R_A_IP"
  ip -n "$NS_B" addr add "$B_IP/24" dev "$TB"
  ip -n "$NS_B" route add default via "$R_B_IP"
}

start_routed() {  # start_routed [more inlet-router options...]
  start_router --tap "$TA=$R_A_IP/24" --tap "$TB=$R_B_IP/24" "$@"
  routed_addresses
}

# Stops inlet-router with SIGTERM (at most 10 s) and checks its exit report.
stop_router() {
  kill -TERM "$ROUTER_PID"
  local i
  for ((i = 0; i < 100; i++)); do
    kill -0 "$ROUTER_PID" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$ROUTER_PID" 2>/dev/null; then
    it_die "inlet-router did not exit within 10 s of SIGTERM"  # rt_cleanup kills it
  fi
  ROUTER_RC=0
  wait "$ROUTER_PID" || ROUTER_RC=$?
  ROUTER_PID=""
  grep -q '^#kernel$' "$IT_DIR/router.out" || it_die "inlet-router printed no counters: $(cat "$IT_DIR/router.err")"
  grep -q '^pool: ' "$IT_DIR/router.out" || it_die "inlet-router printed no pool line"
  if grep -Eq 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$IT_DIR/router.err"; then
    cat "$IT_DIR/router.err" >&2
    it_die "inlet-router reported a sanitizer error"
  fi
}

# The exit report: from the last "#kernel" line on.
report() { tac "$IT_DIR/router.out" | sed '/^#kernel$/q' | tac; }
counter() { report | awk -v name="$1" '$1 == name && NF == 3 { v = $2 } END { print v + 0 }'; }
check_counter() { it_check "$1" "$2" "$(counter "$1")"; }
check_gt() {  # check_gt DESCRIPTION VALUE MIN
  it_check "$1 > $3" yes "$([ "$2" -gt "$3" ] && echo yes || echo "no ($2)")"
}
check_counter_ge() {  # check_counter_ge NAME MIN
  local v
  v=$(counter "$1")
  it_check "$1 >= $2" yes "$([ "$v" -ge "$2" ] && echo yes || echo "no ($v)")"
}
drops() { report | awk '$1 == "drop" && NF == 3 { print $2 "=" $3 }' | sort | tr '\n' ' ' | sed 's/ $//'; }
log_counters() {
  local c line=""
  for c in "$@"; do line+="$c=$(counter "$c") "; done
  it_log "${line% }"
}

# Exit code 0 (inlet-router exits 3 with buffers still out), pool empty.
check_clean_exit() {
  it_check "inlet-router exit code" 0 "$ROUTER_RC"
  local line
  line=$(grep '^pool: ' "$IT_DIR/router.out" | tail -n 1)
  it_check "pool in_use at exit" "in_use=0" "$(grep -o 'in_use=[0-9]*' <<<"$line")"
  it_check "pool alloc_failures" "alloc_failures=0" "$(grep -o 'alloc_failures=[0-9]*' <<<"$line")"
}

finish() {
  if [ "$IT_FAILURES" -ne 0 ]; then
    echo "---- inlet-router stdout ----"; cat "$IT_DIR/router.out" 2>/dev/null || true
    echo "---- inlet-router stderr ----"; cat "$IT_DIR/router.err" 2>/dev/null || true
    it_die "$IT_FAILURES check(s) failed"
  fi
  it_log "PASS"
}

# ping_from NS COUNT DST [ping options]: every echo answered, data intact.
ping_from() {
  local ns=$1 count=$2 dst=$3
  shift 3
  local out what="ping -c $count $dst${*:+ $*} (from ${ns##*-"$IT_TEST"-})"
  if ! out=$(timeout -k 2 20 ip netns exec "$ns" ping -n -c "$count" -i 0.2 -W 2 "$@" "$dst" 2>&1); then
    sed 's/^/    /' <<<"$out"
    it_check "$what" "all answered" "ping failed"
    return 0
  fi
  it_check "$what: replies" "$count received" "$(grep -o '[0-9]* received' <<<"$out")"
  if grep -q 'wrong data byte\|DUP!\|BAD CHECKSUM' <<<"$out"; then
    sed 's/^/    /' <<<"$out"
    it_check "$what: reply data" "intact" "damaged or duplicated"
  fi
}

# ping_error NS DST EXPECTED [ping options]: one echo that must fail with
# the ICMP error line EXPECTED ("From 192.0.2.1 icmp_seq=1 Time to live
# exceeded"); EXPECTED "" means no answer of any kind.
ping_error() {
  local ns=$1 dst=$2 want=$3
  shift 3
  local out
  out=$(timeout -k 2 10 ip netns exec "$ns" ping -n -c 1 -W 1 "$@" "$dst" 2>&1 || true)
  local got
  got=$(grep -E '^From |bytes from' <<<"$out" | sed 's/ *$//' | head -n 1 || true)
  it_check "ping $dst${*:+ $*}" "${want:-no answer}" "${got:-no answer}"
}

# tcp_transfer BYTES CONNS DST: tcp-recv in B, tcp-send from A; every
# connection byte-exact (length and sha256 on both sides).
tcp_transfer() {
  local bytes=$1 conns=$2 dst=$3 port=7000
  ip netns exec "$NS_B" "$PEER" tcp-recv "$dst" "$port" --conns "$conns" --timeout $((SEND_TIMEOUT + 10)) \
    >"$IT_DIR/recv.out" 2>"$IT_DIR/recv.err" &
  local recv_pid=$!
  it_bg_add "$recv_pid"
  local i
  for ((i = 0; i < 100; i++)); do
    grep -q '^tcp-recv: listening' "$IT_DIR/recv.err" && break
    sleep 0.05
  done
  it_log "kernel A -> kernel B: $conns connection(s) x $bytes bytes"
  if ! in_a $((SEND_TIMEOUT + 5)) "$PEER" tcp-send "$dst" "$port" --bytes "$bytes" --conns "$conns" \
         --timeout "$SEND_TIMEOUT" >"$IT_DIR/send.out" 2>"$IT_DIR/send.err"; then
    sed 's/^/  /' "$IT_DIR/send.err" >&2
    it_check "every kernel connection delivered and closed" yes no
  fi
  local rrc=0
  it_bg_wait "$recv_pid" || rrc=$?
  it_check "tcp-recv exit code" 0 "$rrc"
  [ "$rrc" -eq 0 ] || sed 's/^/  /' "$IT_DIR/recv.err" >&2
  it_log "$(grep '^tcp-send:' "$IT_DIR/send.out" || echo 'tcp-send: no summary')"
  # "sent PORT bytes=N sha256=H" against "recv PORT bytes=N sha256=H".
  local matched
  matched=$(awk 'FNR == NR { if ($1 == "recv") got[$2] = $3 " " $4; next }
                 $1 == "sent" && ($2 in got) && got[$2] == $3 " " $4 && $3 == want { n++ }
                 END { print n + 0 }' want="bytes=$bytes" "$IT_DIR/recv.out" "$IT_DIR/send.out")
  it_check "connections byte-exact (length and sha256)" "$conns" "$matched"
  if [ "$matched" != "$conns" ]; then
    sed 's/^/  sender:   /' "$IT_DIR/send.out"
    sed 's/^/  receiver: /' "$IT_DIR/recv.out"
  fi
}

# nstat counter of a namespace's kernel (absolute, history untouched).
kernel_counter() {
  timeout 5 ip netns exec "$1" nstat -asz 2>/dev/null |
    awk -v name="$2" '$1 == name && NF == 3 { v = $2 } END { print v + 0 }'
}

# ---------------------------------------------------------------------- ping
test_ping() {
  command -v ping >/dev/null || it_skip "ping (iputils-ping) is not installed"
  rt_setup
  start_routed
  ping_from "$NS_A" 5 "$B_IP"
  ping_from "$NS_B" 5 "$A_IP"
  ping_from "$NS_A" 2 "$B_IP" -s 1472   # 1500-byte datagrams: the MTU exactly
  ping_from "$NS_A" 2 "$R_B_IP"          # inlet's far address: local, not forwarded
  stop_router
  # Echo requests and replies, each forwarded once.
  check_counter IpForwDatagrams $(((5 + 5 + 2) * 2))
  check_counter IcmpInEchos 2
  check_counter IcmpOutEchoReps 2
  check_counter IpOutNoRoutes 0
  check_counter IpInHdrErrors 0
  check_counter IpOutDiscards 0
  # inlet resolved B itself (B learnt inlet from that request); A asked.
  check_counter_ge ArpInRequests 1
  it_check "every ARP request answered (ArpOutReplies)" "$(counter ArpInRequests)" "$(counter ArpOutReplies)"
  it_check "every ARP request of inlet's answered (ArpInReplies)" "$(counter ArpOutRequests)" "$(counter ArpInReplies)"
  it_check "drop reasons" "" "$(drops)"
  check_clean_exit
  finish
}

# ---------------------------------------------------------------------- icmp
test_icmp() {
  command -v ping >/dev/null || it_skip "ping (iputils-ping) is not installed"
  rt_setup
  # Within 203.0.113.0/24: one /26 of each route type; .9 matches none.
  start_routed --route 'prohibit 203.0.113.64/26' --route 'blackhole 203.0.113.128/26' \
    --route 'unreachable 203.0.113.192/26'
  ping_from "$NS_A" 1 "$B_IP"  # ARP on both sides first
  # RFC 1812 5.3.1: TTL 1 cannot be forwarded; the error comes from the
  # address of the interface the datagram came in on.
  ping_error "$NS_A" "$B_IP" "From $R_A_IP icmp_seq=1 Time to live exceeded" -t 1
  ping_error "$NS_A" 203.0.113.9 "From $R_A_IP icmp_seq=1 Destination Net Unreachable"
  ping_error "$NS_A" 203.0.113.70 "From $R_A_IP icmp_seq=1 Packet filtered"
  ping_error "$NS_A" 203.0.113.200 "From $R_A_IP icmp_seq=1 Destination Host Unreachable"
  ping_error "$NS_A" 203.0.113.130 ""  # blackhole: dropped without a word
  stop_router
  check_counter IcmpOutTimeExcds 1
  check_counter IcmpMsgOutType11 1
  check_counter IcmpOutDestUnreachs 3
  check_counter IcmpMsgOutType3 3
  check_counter IcmpOutMsgs 4
  check_counter IpOutNoRoutes 3      # no route, prohibit, unreachable
  check_counter IpOutDiscards 1      # blackhole
  check_counter IpInHdrErrors 1      # TTL exceeded
  check_counter IpForwDatagrams 2    # the first ping's request and reply
  it_check "drop reasons" \
    "IP_NO_ROUTE=1 IP_ROUTE_BLACKHOLE=1 IP_ROUTE_PROHIBIT=1 IP_ROUTE_UNREACHABLE=1 IP_TTL_EXCEEDED=1" "$(drops)"
  check_clean_exit
  finish
}

# ----------------------------------------------------------------------- tcp
test_tcp() {
  rt_setup
  start_routed
  local bytes
  bytes=$(scaled $((30 * MB)))
  tcp_transfer "$bytes" 1 "$B_IP"
  stop_router
  local fwd
  fwd=$(counter IpForwDatagrams)
  # At least one datagram per full-sized segment (the kernel's TSO/GSO is
  # cut to the TAP's MTU before it reaches inlet).
  check_gt IpForwDatagrams "$fwd" $((bytes / 1448))
  check_counter IpOutNoRoutes 0
  check_counter IpInHdrErrors 0
  log_counters IpForwDatagrams IpOutDiscards tx_dropped rx_dropped rx_nobuf
  check_clean_exit
  finish
}

# ---------------------------------------------------------------------- pmtu
test_pmtu() {
  command -v ping >/dev/null || it_skip "ping (iputils-ping) is not installed"
  rt_setup
  start_routed --mtu "$TB=1280"
  # B's link is 1280 bytes too (inlet drops longer frames), but B still
  # advertises an MSS of 1460, so that A's TCP does meet the narrow link.
  ip -n "$NS_B" route replace default via "$R_B_IP" mtu 1280 advmss 1460
  # Without DF (-M dont): 3000-byte datagrams leave A as fragments of 1500
  # bytes; inlet cuts each that is too big for B's side (RFC 791) and B
  # reassembles the whole (its reply, with the same data, proves it).
  # A small ping first: inlet holds only unres_qlen (3) datagrams for a
  # neighbour still resolving, and a fragmented datagram is 5 of them.
  ping_from "$NS_A" 1 "$B_IP"
  ping_from "$NS_A" 2 "$B_IP" -s 2972 -M dont
  it_check "B reassembled (kernel IpReasmOKs)" 2 "$(kernel_counter "$NS_B" IpReasmOKs)"
  # With DF (TCP, as the kernel sends it): fragmentation needed, the
  # kernel learns the MTU from inlet's ICMP (RFC 1191) and goes on.
  local bytes
  bytes=$(scaled $((5 * MB)))
  tcp_transfer "$bytes" 1 "$B_IP"
  local mtu
  mtu=$(ip -n "$NS_A" route get "$B_IP" | grep -o 'mtu [0-9]*' || echo "no mtu")
  it_check "A's route to B (learnt path MTU)" "mtu 1280" "$mtu"
  stop_router
  # Each ping: fragments of 1480+1480+20 payload bytes; the two big ones
  # are cut in two (1256 + 224 bytes of payload each).
  check_counter IpFragOKs 4
  check_counter IpFragCreates 8
  check_counter_ge IpFragFails 1
  check_counter_ge IcmpOutDestUnreachs 1
  it_check "IcmpOutDestUnreachs = IpFragFails - rate-limited" \
    "$(($(counter IpFragFails) - $(counter IcmpOutRateLimitHost) - $(counter IcmpOutRateLimitGlobal)))" \
    "$(counter IcmpOutDestUnreachs)"
  log_counters IpFragOKs IpFragCreates IpFragFails IcmpOutDestUnreachs IcmpOutRateLimitHost IpForwDatagrams
  check_clean_exit
  finish
}

# -------------------------------------------------------------- route-change
test_route_change() {
  command -v ping >/dev/null || it_skip "ping (iputils-ping) is not installed"
  rt_setup
  local routes="$IT_DIR/routes"
  echo "# no routes yet" >"$routes"
  start_routed --routes-file "$routes"
  ip -n "$NS_B" addr add "$FAR_IP/32" dev lo
  ping_error "$NS_A" "$FAR_IP" "From $R_A_IP icmp_seq=1 Destination Net Unreachable"

  reload() {  # reload N: SIGHUP; waits for the N-th "routes from" line (5 s)
    kill -HUP "$ROUTER_PID"
    local i
    for ((i = 0; i < 100; i++)); do
      [ "$(grep -c -e ' routes from ' -e "^inlet-router: $routes line" "$IT_DIR/router.err")" -ge "$1" ] && return 0
      sleep 0.05
    done
    it_check "inlet-router reloaded $routes" yes no
  }
  # wait_ping DST WANT: pings once a 0.2 s until the outcome is WANT
  # (reachable|unreachable), at most 5 s.
  wait_ping() {
    local i ok
    for ((i = 0; i < 25; i++)); do
      ok=unreachable
      in_a 3 ping -n -c 1 -W 1 "$1" >/dev/null 2>&1 && ok=reachable
      [ "$ok" == "$2" ] && break
      sleep 0.2
    done
    it_check "$1 after the reload" "$2" "$ok"
  }
  printf '# B answers for 203.0.113.2\n203.0.113.0/24 via %s\n' "$B_IP" >"$routes"
  reload 2
  wait_ping "$FAR_IP" reachable
  # A file with a mistake is refused whole: the routes stay as they were.
  printf '203.0.113.0/24 via %s\n203.0.113.0/33 via %s\n' "$B_IP" "$B_IP" >"$routes"
  reload 3
  it_check "a bad file is reported" 1 "$(grep -c "^inlet-router: $routes line 2: " "$IT_DIR/router.err")"
  wait_ping "$FAR_IP" reachable
  echo "" >"$routes"
  reload 4
  wait_ping "$FAR_IP" unreachable
  ping_error "$NS_A" "$FAR_IP" "From $R_A_IP icmp_seq=1 Destination Net Unreachable"
  stop_router
  it_check "reload lines" "1 routes from $routes,0 routes from $routes" \
    "$(sed -n 's/^inlet-router: \([0-9]* routes from .*\)/\1/p' "$IT_DIR/router.err" | tail -n +2 | paste -sd,)"
  check_counter_ge IpForwDatagrams 2
  check_counter_ge IpOutNoRoutes 2
  check_clean_exit
  finish
}

# -------------------------------------------------------------------- filter
test_filter() {
  command -v ping >/dev/null || it_skip "ping (iputils-ping) is not installed"
  command -v nstat >/dev/null || it_skip "nstat (iproute2) is not installed"
  rt_setup
  cat >"$IT_DIR/rules" <<'EOF'
# router.filter: UDP to port 9999 does not cross; ICMP is counted.
forward proto udp dport 9999 drop
forward proto icmp count
EOF
  start_routed --rules "$IT_DIR/rules"
  ping_from "$NS_A" 3 "$B_IP"
  # 5 datagrams of 100 bytes to 9999: dropped by inlet, B never sees them.
  in_a 10 "$PEER" udp-send "$B_IP" 9999 5 100 >/dev/null
  # One to 9998: it crosses, B has no socket there and answers port
  # unreachable, which crosses back (ECONNREFUSED in A).
  if ! in_a 10 "$PEER" udp-send "$B_IP" 9998 1 100 --expect-refused >"$IT_DIR/udp.out" 2>&1; then
    sed 's/^/    /' "$IT_DIR/udp.out"
    it_check "UDP to 9998 crosses and is refused by B" yes no
  fi
  it_check "B's UdpNoPorts (only the datagram to 9998)" 1 "$(kernel_counter "$NS_B" UdpNoPorts)"
  stop_router
  check_counter FilterDrops 5
  it_check "drop reasons" "NETFILTER_DROP=5" "$(drops)"
  # Forwarded: 3 requests + 3 replies, the datagram to 9998 and its error.
  check_counter IpForwDatagrams 8
  # The listing (iptables -L -v): packets and IP bytes per rule.
  it_check "drop rule: packets bytes" "5 640" \
    "$(awk '/ forward proto udp dport 9999 drop$/ { print $1, $2 }' "$IT_DIR/router.out")"
  it_check "count rule: packets" 7 \
    "$(awk '/ forward proto icmp count$/ { print $1 }' "$IT_DIR/router.out")"
  # A count rule decides nothing: the policy accepted all 8 forwarded.
  it_check "FORWARD policy ACCEPT packets" 8 \
    "$(sed -n 's/^Chain FORWARD (policy ACCEPT \([0-9]*\) packets.*/\1/p' "$IT_DIR/router.out")"
  check_clean_exit
  finish
}

# ---------------------------------------------------------------------- vlan
test_vlan() {
  command -v ping >/dev/null || it_skip "ping (iputils-ping) is not installed"
  rt_setup
  # VLAN 10 on A's port: 203.0.113.1/24 (A's end, 203.0.113.2, exists only
  # in the frames inlet-testpeer builds: this kernel needs no 8021q).
  start_routed --vlan "$TA.10=203.0.113.1/24"
  grep -q "^inlet-router: $TA.10 ifindex [0-9]* vid 10 up\$" "$IT_DIR/router.err" ||
    it_check "inlet-router: VLAN sub-interface up" yes no
  vlan_ping() {  # vlan_ping VID DST [options]: the summary line's fields
    in_a 20 "$PEER" vlan-ping "$TA" "$@" >"$IT_DIR/vlan.out" 2>&1 || cat "$IT_DIR/vlan.out" >&2
    sed -n 's/^vlan-ping: vid=[0-9]* //p' "$IT_DIR/vlan.out"
  }
  # inlet learns A's MAC from A's ARP request (as Linux does for a request
  # to one of its addresses), so it has nothing to ask: arp_answered=0.
  it_check "tagged ARP + 3 echos to 203.0.113.1 on VID 10" \
    "arp_replies=1 sent=3 replies=3 wrong_vid=0 untagged=0 arp_answered=0" \
    "$(vlan_ping 10 203.0.113.2 203.0.113.1 --count 3)"
  # Routed from VLAN 10 to B and back: the reply leaves inlet tagged again.
  it_check "tagged echo via 203.0.113.1 to B" \
    "arp_replies=1 sent=2 replies=2 wrong_vid=0 untagged=0 arp_answered=0" \
    "$(vlan_ping 10 203.0.113.2 "$B_IP" --via 203.0.113.1 --count 2)"
  # VID 11 is not configured: no answer to anything.
  it_check "VID 11 (not configured)" \
    "arp_replies=0 sent=1 replies=0 wrong_vid=0 untagged=0 arp_answered=0" \
    "$(vlan_ping 11 203.0.113.2 203.0.113.1 --count 1 --timeout-ms 500)"
  ping_from "$NS_A" 2 "$R_A_IP"  # the untagged parent still answers
  stop_router
  check_counter IcmpOutEchoReps $((3 + 2))
  check_counter IpForwDatagrams 4
  check_counter rx_vlan_dropped 2   # VID 11's ARP request and echo
  log_counters rx_vlan_dropped ArpInRequests ArpOutRequests ArpOutReplies
  check_clean_exit
  finish
}

# -------------------------------------------------------------------- bridge
test_bridge() {
  command -v ping >/dev/null || it_skip "ping (iputils-ping) is not installed"
  rt_setup
  start_router --tap "$TA" --tap "$TB" --bridge "$TA,$TB"
  ip -n "$NS_A" addr add 192.0.2.2/24 dev "$TA"
  ip -n "$NS_B" addr add 192.0.2.3/24 dev "$TB"
  ping_from "$NS_A" 5 192.0.2.3
  ping_from "$NS_B" 2 192.0.2.2
  local bytes
  bytes=$(scaled $((5 * MB)))
  tcp_transfer "$bytes" 1 192.0.2.3
  stop_router
  check_counter_ge BridgeFdbLearned 2
  check_gt BridgeForwarded "$(counter BridgeForwarded)" $((bytes / 1448))
  check_counter_ge BridgeFloods 1   # A's first ARP request (broadcast)
  check_counter IpForwDatagrams 0   # bridged, not routed
  check_counter IpInReceives 0      # the bridge device has no address
  log_counters BridgeFdbLearned BridgeForwarded BridgeFloods BridgeFiltered
  check_clean_exit
  finish
}

it_require_privileges
case "$IT_TEST" in
  router-ping) test_ping ;;
  router-icmp) test_icmp ;;
  router-tcp) test_tcp ;;
  router-pmtu) test_pmtu ;;
  router-route-change) test_route_change ;;
  router-filter) test_filter ;;
  router-vlan) test_vlan ;;
  router-bridge) test_bridge ;;
  *) it_die "unknown test $IT_TEST" ;;
esac
