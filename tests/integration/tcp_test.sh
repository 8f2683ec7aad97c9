#!/usr/bin/env bash
# tcp_test.sh TEST BIN_DIR — inlet's TCP receive path with the Linux kernel as
# the sender, over a TAP in a network namespace of its own (see lib.sh). Every
# connection is a kernel socket (inlet-testpeer tcp-send) sending a seeded
# pseudo-random stream; inlet-sink digests what it reads, and each connection's
# sha256 and length must match what the kernel was given.
#
#   clean     4 connections x 10 MB at once, no faults
#   loss      3 x 5 MB, 2 % of the kernel's data segments dropped (NFQUEUE)
#   reorder   3 x 5 MB, 5 % held back behind 3 later segments
#   delay     3 x 5 MB, every data segment held 10 ms
#   corrupt   3 x 5 MB, 0.5 % with one payload bit flipped, checksum untouched
#   dup       3 x 5 MB, 5 % duplicated (nft netdev egress `dup`, else NFQUEUE)
#   mixed     3 x 5 MB, 1 % loss, 3 % reordering, 0.3 % corruption, 3 % copies
#   fastopen  2 Fast Open connections: a cookie, then data in the SYN
#   synflood  10 MB while thousands of spoofed SYNs fill a 64-entry SYN queue
#   many      300 connections x 64 KB, all open at once
#
# This kernel may have no `tc netem`; it is used where present (loss, delay,
# reorder, corrupt, duplicate on the TAP's egress), otherwise the kernel's
# egress is impaired with an iptables mangle rule sending its segments to
# NFQUEUE and inlet-nfq-impair giving the verdicts (INLET_IT_IMPAIR=nfq forces
# that; it impairs only segments that carry payload, so handshakes are quick),
# and duplicates come from an nft netdev egress rule.
#
# INLET_IT_TCP_SCALE (percent, default 100) scales the byte counts, for the
# sanitizer build where the stack is several times slower.
#
# Exit 0 pass, 1 fail, 77 skipped (no CAP_NET_ADMIN, /dev/net/tun, netns, tool).
set -euo pipefail

IT_TEST=${1:?usage: tcp_test.sh clean|loss|reorder|delay|corrupt|dup|mixed|fastopen|synflood|many BIN_DIR}
IT_BIN=${2:?usage: tcp_test.sh TEST BIN_DIR}
IT_TEST=tcp-$IT_TEST  # names the namespace and the log lines
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for b in inlet-sink inlet-testpeer; do
  [ -x "$IT_BIN/$b" ] || it_die "$IT_BIN/$b is not built"
done
PEER="$IT_BIN/inlet-testpeer"
IMPAIR="$IT_BIN/inlet-nfq-impair"
TSHARK=${INLET_IT_TSHARK:-tshark}
SCALE=${INLET_IT_TCP_SCALE:-100}
MB=$((1000 * 1000))
QUEUE=7          # NFQUEUE number (queues are per namespace)
DUP_MARK=0x7a    # inlet-nfq-impair --dup copies carry it; the queue rule skips them
SEND_TIMEOUT=50  # seconds for a whole tcp-send run (under the ctest TIMEOUT)
TAP_RING=${INLET_IT_TAP_RING:-10000}

scaled() { echo $(($1 * SCALE / 100)); }

# inlet-sink outlives the slowest tcp-send run (lib.sh's default is 45 s).
# The TAP's ring (txqueuelen frames; tun drops, it does not push back) is
# made deep enough for the kernel's bursts: only the faults a test injects
# should lose segments. Drops there are still counted (log_kernel_tx_dropped).
start_sink() {
  it_ns 5 ip link set "$IT_TAP" txqueuelen "$TAP_RING"
  it_start_sink --seconds $((SEND_TIMEOUT + 20)) "$@"
}

# ------------------------------------------------------------------ helpers

# A check that a number is above a floor: "NAME > MIN" yes, or no (value).
check_gt() {  # check_gt DESCRIPTION VALUE MIN
  it_check "$1 > $3" yes "$([ "$2" -gt "$3" ] && echo yes || echo "no ($2)")"
}
check_counter_gt() { check_gt "$1" "$(it_counter "$1")" "$2"; }

# tcp_send CONNS BYTES [tcp-send options]: the kernel client, in the
# foreground and bounded; its output in $IT_DIR/send.out.
tcp_send() {
  local conns=$1 bytes=$2
  shift 2
  it_log "kernel client: $conns connection(s) x $bytes bytes${*:+ ($*)}"
  if ! it_ns $((SEND_TIMEOUT + 5)) "$PEER" tcp-send "$IT_INLET_IP" "$IT_PORT" --bytes "$bytes" \
         --conns "$conns" --timeout "$SEND_TIMEOUT" "$@" >"$IT_DIR/send.out" 2>"$IT_DIR/send.err"; then
    sed 's/^/  /' "$IT_DIR/send.err" >&2
    it_check "every kernel connection delivered and closed" yes no
  fi
  it_log "$(grep '^tcp-send:' "$IT_DIR/send.out" || echo 'tcp-send: no summary')"
  kernel_nstat_save
}

# The value of KEY=N in the tcp-send summary line.
send_summary() {
  sed -n "s/^tcp-send: .*\\b$1=\\([0-9.]*\\).*/\\1/p" "$IT_DIR/send.out"
}

# check_transfers CONNS BYTES: every connection the kernel completed is in
# inlet-sink's report with the same length and sha256, and nothing else is.
check_transfers() {
  local conns=$1 bytes=$2 result
  # One pass: the sink's "tcp IP:PORT bytes=N sha256=H" lines by port, then
  # each "sent PORT bytes=N sha256=H" of the kernel's side against them.
  result=$(awk -v ip="$IT_KERNEL_IP" -v want="bytes=$bytes" '
    FNR == NR { if ($1 == "tcp") { split($2, a, ":"); if (a[1] == ip) got[a[2]] = $3 " " $4 }; next }
    $1 != "sent" { next }
    {
      if ($3 != want) { printf "  connection %s: the kernel sent %s, not %s\n", $2, $3, want; bad++ }
      have = ($2 in got)  # before got[$2] is read, which would create it
      if (have && got[$2] == $3 " " $4) { ok++; next }
      printf "  connection %s: the kernel sent %s %s\n", $2, $3, $4
      printf "  connection %s: inlet-sink read %s\n", $2, have ? got[$2] : "nothing (no such connection)"
      bad++
    }
    END { printf "matched=%d bad=%d\n", ok, bad }' "$IT_DIR/sink.out" "$IT_DIR/send.out")
  grep -v '^matched=' <<<"$result" || true
  local matched wrong
  matched=$(sed -n 's/^matched=\([0-9]*\) .*/\1/p' <<<"$result")
  wrong=$(sed -n 's/.* bad=\([0-9]*\)$/\1/p' <<<"$result")
  it_check "connections byte-exact (length and sha256)" "$conns" "$matched"
  it_check "connections the sink reported" "$conns" "$(grep -c '^tcp ' "$IT_DIR/sink.out" || true)"
  [ "$wrong" -eq 0 ] || it_check "connections that differ" 0 "$wrong"
}

# The kernel client's own counters (its namespace's nstat), read once the
# transfer is over: how the sender saw inlet's ACKs, SACKs and D-SACKs.
kernel_nstat_save() {
  if command -v nstat >/dev/null; then
    it_ns 5 nstat -asz >"$IT_DIR/kernel.nstat" 2>/dev/null || : >"$IT_DIR/kernel.nstat"
  else
    : >"$IT_DIR/kernel.nstat"
  fi
}
kernel_counter() {
  awk -v name="$1" '$1 == name && NF == 3 { v = $2 } END { print v + 0 }' "$IT_DIR/kernel.nstat"
}
log_kernel_counters() {
  [ -s "$IT_DIR/kernel.nstat" ] || { it_log "kernel counters: nstat is not installed"; return 0; }
  local c line=""
  for c in TcpRetransSegs TcpExtTCPSackRecovery TcpExtTCPDSACKRecv TcpExtTCPDSACKOfoRecv \
           TcpExtTCPSACKReorder TcpExtTCPLossProbes TcpExtTCPTimeouts TcpExtTCPSpuriousRTOs \
           TcpExtTCPSACKReneging TcpExtTCPFastOpenActive; do
    line+="${c#TcpExt}=$(kernel_counter "$c") "
  done
  it_log "kernel client: ${line% }"
}

# TAP frames the kernel dropped on its side (a full device queue while inlet
# was not reading): logged, since TCP recovers from them like any loss.
log_kernel_tx_dropped() {
  local dropped
  dropped=$(it_ns 5 ip -s link show "$IT_TAP" | awk 'tx { print $4; exit } $1 == "TX:" { tx = 1 }')
  it_log "kernel TAP TX dropped: $dropped"
  KERNEL_TX_DROPPED=$dropped
}

# The counts every TCP test checks: each connection opened once, no resets
# from inlet, every buffer back in the pool.
check_common() {
  local conns=$1
  it_check_counter TcpPassiveOpens "$conns"
  if [ "${2:-}" == "--stray-resets" ]; then
    # A copy of the kernel's last ACK can arrive after that ACK closed the
    # connection (LAST_ACK -> CLOSED, no TIME_WAIT on the passive side): it
    # earns a reset, as from Linux. Those are the only resets allowed.
    it_check "TcpOutRsts (only for segments to no connection)" "$(it_counter TcpExtTCPNoSocket)" \
      "$(it_counter TcpOutRsts)"
  else
    it_check_counter TcpOutRsts 0
  fi
  it_check_counter TcpEstabResets 0
  it_check_clean_exit
}

log_counters() {
  local c line=""
  for c in "$@"; do line+="$c=$(it_counter "$c") "; done
  it_log "${line% }"
}

# ----------------------------------------------------------------- impairing

IPT=""
IPT_RULE=()
IMPAIR_PID=""
NETEM=0

# netem, where the kernel has it: everything on the TAP's egress.
have_netem() {
  [ "${INLET_IT_IMPAIR:-}" != "nfq" ] || return 1
  it_ns 5 tc qdisc add dev "$IT_TAP" root netem delay 0ms 2>/dev/null || return 1
  it_ns 5 tc qdisc del dev "$IT_TAP" root 2>/dev/null || true
}

# Finds an iptables that can queue the kernel's segments to user space.
require_nfqueue() {
  [ -x "$IMPAIR" ] || it_skip "inlet-nfq-impair is not built (libnetfilter_queue was not found at configure time)"
  local ipt
  IPT_RULE=(POSTROUTING -o "$IT_TAP" -p tcp --dport "$IT_PORT" -m mark ! --mark "$DUP_MARK"
            -j NFQUEUE --queue-num "$QUEUE" --queue-bypass)
  for ipt in iptables iptables-legacy; do
    command -v "$ipt" >/dev/null || continue
    if it_ns 5 "$ipt" -t mangle -A "${IPT_RULE[@]}" 2>"$IT_DIR/ipt.err"; then
      it_ns 5 "$ipt" -t mangle -D "${IPT_RULE[@]}"
      IPT=$ipt
      return 0
    fi
  done
  it_skip "no iptables can add an NFQUEUE rule in mangle POSTROUTING: $(tr '\n' ' ' <"$IT_DIR/ipt.err" 2>/dev/null)"
}

# start_impair [inlet-nfq-impair options]: the verdict program, then the rule
# that queues the kernel's segments to it.
start_impair() {
  : >"$IT_DIR/impair.out"
  : >"$IT_DIR/impair.err"
  ip netns exec "$IT_NS" "$IMPAIR" --queue "$QUEUE" --seed $$ --dup-mark "$DUP_MARK" --seconds 55 "$@" \
    >"$IT_DIR/impair.out" 2>"$IT_DIR/impair.err" &
  IMPAIR_PID=$!
  it_bg_add "$IMPAIR_PID"
  local i
  for ((i = 0; i < 100; i++)); do
    grep -q "queue $QUEUE ready" "$IT_DIR/impair.err" && break
    kill -0 "$IMPAIR_PID" 2>/dev/null || { cat "$IT_DIR/impair.err" >&2; it_die "inlet-nfq-impair exited at start"; }
    sleep 0.05
  done
  grep -q "queue $QUEUE ready" "$IT_DIR/impair.err" || it_die "inlet-nfq-impair did not bind queue $QUEUE within 5 s"
  it_ns 5 "$IPT" -t mangle -A "${IPT_RULE[@]}"
  it_log "impairing the kernel's data segments: inlet-nfq-impair $* ($IPT mangle POSTROUTING -> NFQUEUE $QUEUE)"
}

# stop_impair: rule out, program ended; its counts in IMP[...].
declare -A IMP=()
stop_impair() {
  it_ns 5 "$IPT" -t mangle -D "${IPT_RULE[@]}" || true
  it_bg_stop "$IMPAIR_PID" || it_check "inlet-nfq-impair exit code" 0 "non-zero"
  local kv
  # shellcheck disable=SC2013  # KEY=N words on one line
  for kv in $(sed -n 's/^nfq-impair: //p' "$IT_DIR/impair.out"); do IMP[${kv%%=*}]=${kv#*=}; done
  it_log "$(cat "$IT_DIR/impair.out")"
  it_check "data segments seen by inlet-nfq-impair > 0" yes "$([ "${IMP[data]:-0}" -gt 0 ] && echo yes || echo no)"
  # The kernel completes checksums before queueing (else corruption could
  # not be told from the original).
  it_check "segments with a bad checksum before impairing" 0 "${IMP[bad_csum_in]:-?}"
}

# --------------------------------------------------------------------- tests

test_clean() {
  it_setup k
  start_sink --tcp "$IT_PORT"
  local conns=4 bytes
  bytes=$(scaled $((10 * MB)))
  tcp_send "$conns" "$bytes"
  log_kernel_tx_dropped
  it_stop_sink
  check_transfers "$conns" "$bytes"
  check_common "$conns"
  it_check "kernel TAP TX dropped (lost before inlet)" 0 "$KERNEL_TX_DROPPED"
  # Nothing was lost, so nothing arrived out of order or twice.
  it_check_counter TcpExtTCPOFOQueue 0
  it_check_counter TcpInCsumErrors 0
  it_log "kernel retransmissions: $(send_summary retrans)"
  log_counters TcpInSegs TcpOutSegs TcpExtTCPHPHits TcpExtDelayedACKs TcpExtTCPQuickAck TcpExtTCPDSACKOldSent
  log_kernel_counters
  it_finish
}

# impaired_test NAME NETEM_ARGS -- NFQ_ARGS: 3 connections x 5 MB through the
# fault, then the checks every impaired run shares.
impaired_run() {
  local netem_args=$1 nfq_args=$2
  it_setup "$IMPAIR_LETTER"
  # Room for the out-of-order queue of a window full of holes.
  start_sink --tcp "$IT_PORT" --sysctl "net.ipv4.tcp_rmem=4096 262144 6291456"
  if have_netem; then
    NETEM=1
    # shellcheck disable=SC2086  # the arguments are words on purpose
    it_ns 5 tc qdisc add dev "$IT_TAP" root netem $netem_args
    it_log "impairing the TAP's egress: tc netem $netem_args"
  else
    require_nfqueue
    # shellcheck disable=SC2086
    start_impair $nfq_args
  fi
  CONNS=3
  BYTES=$(scaled $((5 * MB)))
  tcp_send "$CONNS" "$BYTES"
  if [ "$NETEM" -eq 1 ]; then it_ns 5 tc qdisc del dev "$IT_TAP" root || true; else stop_impair; fi
  log_kernel_tx_dropped
  it_stop_sink
  check_transfers "$CONNS" "$BYTES"
  check_common "$CONNS"
  it_log "kernel retransmissions: $(send_summary retrans), throughput $(send_summary MBps) MB/s"
  log_counters TcpInSegs TcpOutSegs TcpExtTCPOFOQueue TcpExtTCPOFOMerge TcpExtTCPOFODrop \
    TcpExtTCPDSACKOldSent TcpExtTCPDSACKOfoSent TcpExtPruneCalled TcpExtTCPRcvQDrop TcpInCsumErrors
  log_kernel_counters
}

test_loss() {
  IMPAIR_LETTER=l
  impaired_run "loss 2%" "--drop 2"
  [ "$NETEM" -eq 1 ] || check_gt "segments dropped" "${IMP[dropped]:-0}" 0
  check_gt "kernel retransmissions" "$(send_summary retrans)" 0
  # Retransmissions beyond the drops are spurious, and inlet D-SACKs them.
  # Many come from inlet's one ACK per poll: when a poll takes out-of-order
  # segments that touch more than 3 SACK blocks, some are never reported and
  # the kernel resends what inlet already holds.
  it_log "retransmitted $(send_summary retrans) for ${IMP[dropped]:-?} dropped; D-SACKed as old: $(it_counter TcpExtTCPDSACKOldSent)"
  # Every hole puts the segments after it into the out-of-order queue, and
  # the SACK blocks inlet sends for it drive the kernel's recovery.
  check_counter_gt TcpExtTCPOFOQueue 0
  if [ -s "$IT_DIR/kernel.nstat" ]; then
    check_gt "kernel TcpExtTCPSackRecovery (inlet's SACKs used)" "$(kernel_counter TcpExtTCPSackRecovery)" 0
  fi
  it_check_counter TcpInCsumErrors 0
  it_finish
}

test_reorder() {
  IMPAIR_LETTER=r
  impaired_run "delay 1ms reorder 95% 50%" "--reorder 5 --reorder-depth 3"
  [ "$NETEM" -eq 1 ] || check_gt "segments reordered" "${IMP[reordered]:-0}" 0
  [ "$NETEM" -eq 1 ] || it_check "segments dropped" 0 "${IMP[dropped]:-0}"
  check_counter_gt TcpExtTCPOFOQueue 0
  it_check_counter TcpInCsumErrors 0
  it_finish
}

test_delay() {
  IMPAIR_LETTER=d
  impaired_run "delay 10ms" "--delay 10"
  [ "$NETEM" -eq 1 ] || check_gt "segments delayed" "${IMP[delayed]:-0}" 0
  # The kernel's own RTT estimate proves the delay was on the path.
  local rtt min_rtt=""
  # shellcheck disable=SC2013  # one number a line
  for rtt in $(sed -n 's/^info .* rtt_us=\([0-9]*\).*/\1/p' "$IT_DIR/send.out"); do
    if [ -z "$min_rtt" ] || [ "$rtt" -lt "$min_rtt" ]; then min_rtt=$rtt; fi
  done
  it_check "kernel smoothed RTT >= 10 ms on every connection" yes \
    "$([ -n "$min_rtt" ] && [ "$min_rtt" -ge 10000 ] && echo yes || echo "no (${min_rtt:-none} us)")"
  it_check_counter TcpInCsumErrors 0
  it_finish
}

test_corrupt() {
  IMPAIR_LETTER=c
  impaired_run "corrupt 0.5%" "--corrupt 0.5"
  check_counter_gt TcpInCsumErrors 0
  if [ "$NETEM" -eq 0 ]; then
    check_gt "segments corrupted" "${IMP[corrupted]:-0}" 0
    # Every damaged segment reached inlet (none was lost in the TAP) and was
    # refused for its checksum, not taken as data.
    if [ "$KERNEL_TX_DROPPED" -eq 0 ]; then
      it_check "TcpInCsumErrors = segments corrupted" "${IMP[corrupted]:-0}" "$(it_counter TcpInCsumErrors)"
    fi
  fi
  it_check "TcpInErrs >= TcpInCsumErrors" yes \
    "$([ "$(it_counter TcpInErrs)" -ge "$(it_counter TcpInCsumErrors)" ] && echo yes || echo no)"
  check_gt "kernel retransmissions" "$(send_summary retrans)" 0
  it_finish
}

# start_dup PCT: duplicates PCT % of the kernel's segments toward inlet with
# an nft netdev egress rule; false when nft or the egress hook is missing.
start_dup() {
  local pct=$1
  command -v nft >/dev/null || return 1
  it_ns 5 nft -f - 2>"$IT_DIR/nft.err" <<EOF || return 1
table netdev inlet_dup {
  chain egress {
    type filter hook egress device "$IT_TAP" priority 0;
    ip protocol tcp tcp dport $IT_PORT numgen random mod 100 < $pct counter dup to "$IT_TAP";
  }
}
EOF
  DUP_NFT=1
  it_log "duplicating the kernel's segments: nft netdev egress, numgen random mod 100 < $pct, dup to $IT_TAP"
}

# stop_dup: the rule out; how many packets it duplicated in DUPS. GSO
# super-packets are duplicated whole (the egress hook runs before
# segmentation), so one hit can repeat up to 64 KB.
DUP_NFT=0
DUPS=""
stop_dup() {
  DUPS=$(it_ns 5 nft list table netdev inlet_dup | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
  it_ns 5 nft delete table netdev inlet_dup || true
}

# The D-SACK evidence a run with duplicates must show.
check_duplicates_seen() {
  # A copy of in-order data is old data: D-SACKed (RFC 2883 4.1); a copy of
  # out-of-order data merges into the queue.
  check_gt "TcpExtTCPDSACKOldSent + TcpExtTCPOFOMerge" \
    $(( $(it_counter TcpExtTCPDSACKOldSent) + $(it_counter TcpExtTCPOFOMerge) )) 0
  # The kernel parsed inlet's D-SACK blocks as D-SACKs (RFC 2883).
  if [ -s "$IT_DIR/kernel.nstat" ]; then
    check_gt "kernel TcpExtTCPDSACKRecv (inlet's D-SACKs taken)" "$(kernel_counter TcpExtTCPDSACKRecv)" 0
  fi
}

test_dup() {
  local pct=5 conns=3 bytes
  it_setup u
  start_sink --tcp "$IT_PORT" --sysctl "net.ipv4.tcp_rmem=4096 262144 6291456"
  if have_netem; then
    NETEM=1
    it_ns 5 tc qdisc add dev "$IT_TAP" root netem duplicate "$pct%"
    it_log "duplicating the kernel's segments: tc netem duplicate $pct%"
  elif ! start_dup "$pct"; then
    it_log "nft netdev egress dup unavailable ($(tr '\n' ' ' <"$IT_DIR/nft.err" 2>/dev/null)); duplicating from NFQUEUE"
    require_nfqueue
    start_impair --dup "$pct"
  fi
  bytes=$(scaled $((5 * MB)))
  tcp_send "$conns" "$bytes"
  if [ "$NETEM" -eq 1 ]; then
    it_ns 5 tc qdisc del dev "$IT_TAP" root || true
  elif [ "$DUP_NFT" -eq 1 ]; then
    stop_dup
    check_gt "packets duplicated (nft counter)" "${DUPS:-0}" 0
  else
    stop_impair
    check_gt "segments duplicated" "${IMP[duplicated]:-0}" 0
  fi
  log_kernel_tx_dropped
  it_stop_sink
  check_transfers "$conns" "$bytes"
  check_common "$conns" --stray-resets
  check_duplicates_seen
  it_check_counter TcpInCsumErrors 0
  log_counters TcpInSegs TcpOutSegs TcpExtTCPOFOQueue TcpExtTCPOFOMerge TcpExtTCPDSACKOldSent \
    TcpExtTCPDSACKOfoSent
  log_kernel_counters
  it_finish
}

# Every fault at once: holes, late segments, damaged ones and copies of
# segments already queued out of order (the OOO queue's merge paths).
test_mixed() {
  local conns=3 bytes
  it_setup x
  start_sink --tcp "$IT_PORT" --sysctl "net.ipv4.tcp_rmem=4096 262144 6291456"
  if have_netem; then
    NETEM=1
    it_ns 5 tc qdisc add dev "$IT_TAP" root netem loss 1% duplicate 3% corrupt 0.3% delay 1ms reorder 97% 50%
    it_log "impairing the TAP's egress: tc netem loss 1% duplicate 3% corrupt 0.3% delay 1ms reorder 97% 50%"
  else
    require_nfqueue
    if start_dup 3; then
      start_impair --drop 1 --reorder 3 --corrupt 0.3
    else
      start_impair --drop 1 --reorder 3 --corrupt 0.3 --dup 3
    fi
  fi
  bytes=$(scaled $((5 * MB)))
  tcp_send "$conns" "$bytes"
  if [ "$NETEM" -eq 1 ]; then
    it_ns 5 tc qdisc del dev "$IT_TAP" root || true
  else
    [ "$DUP_NFT" -eq 0 ] || stop_dup
    stop_impair
    check_gt "segments dropped" "${IMP[dropped]:-0}" 0
    check_gt "segments reordered" "${IMP[reordered]:-0}" 0
    check_gt "segments corrupted" "${IMP[corrupted]:-0}" 0
    check_gt "segments or packets duplicated" "$(( ${IMP[duplicated]:-0} + ${DUPS:-0} ))" 0
  fi
  log_kernel_tx_dropped
  it_stop_sink
  check_transfers "$conns" "$bytes"
  check_common "$conns" --stray-resets
  check_counter_gt TcpExtTCPOFOQueue 0
  check_counter_gt TcpInCsumErrors 0
  check_duplicates_seen
  it_log "kernel retransmissions: $(send_summary retrans), throughput $(send_summary MBps) MB/s"
  log_counters TcpInSegs TcpOutSegs TcpExtTCPOFOQueue TcpExtTCPOFOMerge TcpExtTCPOFODrop \
    TcpExtTCPDSACKOldSent TcpExtTCPDSACKOfoSent TcpExtPruneCalled TcpInCsumErrors
  log_kernel_counters
  it_finish
}

test_fastopen() {
  it_setup f
  # The kernel as a Fast Open client (bit 0); inlet as the server (0x2) with
  # cookies required (no 0x200): the first connection asks for a cookie, the
  # second sends data in its SYN with it.
  it_ns 5 sysctl -qw net.ipv4.tcp_fastopen=1
  local cap="$IT_DIR/sink.pcap" have_tshark=1
  command -v "$TSHARK" >/dev/null || have_tshark=0
  if [ "$have_tshark" -eq 1 ]; then
    start_sink --tcp "$IT_PORT" --sysctl net.ipv4.tcp_fastopen=3 --pcap "$cap"
  else
    it_log "tshark is not installed: the capture checks are left out"
    start_sink --tcp "$IT_PORT" --sysctl net.ipv4.tcp_fastopen=3
  fi
  local conns=2 bytes
  bytes=$(scaled $((1 * MB)))
  tcp_send "$conns" "$bytes" --fastopen
  it_stop_sink
  check_transfers "$conns" "$bytes"
  check_common "$conns"
  it_check_counter TcpExtTCPFastOpenCookieReqd 1
  it_check_counter TcpExtTCPFastOpenPassive 1
  it_check_counter TcpExtTCPFastOpenPassiveFail 0
  # The kernel's count of its Fast Open connections whose SYN data was taken.
  if [ -s "$IT_DIR/kernel.nstat" ]; then
    it_check "kernel TcpExtTCPFastOpenActive" 1 "$(kernel_counter TcpExtTCPFastOpenActive)"
  fi
  # The kernel's side: the second connection's sendto() put data in the SYN,
  # and the SYN-ACK acknowledged it (TCPI_OPT_SYN_DATA).
  local first second
  first=$(grep '^info ' "$IT_DIR/send.out" | sed -n 1p)
  second=$(grep '^info ' "$IT_DIR/send.out" | sed -n 2p)
  it_check "first connection: data in the SYN" "syn_data=0 syn_data_acked=0" \
    "$(grep -o 'syn_data=[0-9]* syn_data_acked=[01]' <<<"$first")"
  local syn_data
  syn_data=$(sed -n 's/.*syn_data=\([0-9]*\).*/\1/p' <<<"$second")
  check_gt "second connection: bytes in the SYN" "${syn_data:-0}" 0
  it_check "second connection: SYN data acknowledged (kernel TCP_INFO)" "syn_data_acked=1" \
    "$(grep -o 'syn_data_acked=[01]' <<<"$second")"

  if [ "$have_tshark" -eq 1 ]; then
    local fields port2
    port2=$(grep '^sent ' "$IT_DIR/send.out" | sed -n '2s/^sent \([0-9]*\) .*/\1/p')
    if ! fields=$(timeout 30 "$TSHARK" -r "$cap" -n -Y "tcp.port == $port2 && tcp.flags.syn == 1" \
                    -T fields -E separator=/t -e tcp.srcport -e tcp.flags.ack -e tcp.seq_raw \
                    -e tcp.ack_raw -e tcp.len -e tcp.options.tfo.cookie 2>"$IT_DIR/tshark.err"); then
      cat "$IT_DIR/tshark.err" >&2
      it_check "tshark -r exit status" 0 "non-zero"
    else
      local syn synack
      syn=$(awk -F'\t' -v p="$port2" '$1 == p && $2 == "0"' <<<"$fields" | head -n 1)
      synack=$(awk -F'\t' -v p="$IT_PORT" '$1 == p && $2 == "1"' <<<"$fields" | head -n 1)
      local syn_seq syn_len syn_cookie ack
      IFS=$'\t' read -r _ _ syn_seq _ syn_len syn_cookie <<<"$syn"
      IFS=$'\t' read -r _ _ _ ack _ _ <<<"$synack"
      it_check "capture: second SYN carries a cookie" yes "$([ -n "${syn_cookie:-}" ] && echo yes || echo no)"
      check_gt "capture: second SYN's payload bytes" "${syn_len:-0}" 0
      it_check "capture: SYN-ACK acknowledges the SYN and its data" \
        "$(( (${syn_seq:-0} + 1 + ${syn_len:-0}) % 4294967296 ))" "${ack:-none}"
      it_check "capture: second SYN's bytes = the kernel's sendto()" "${syn_data:-0}" "${syn_len:-0}"
    fi
  fi
  it_finish
}

test_synflood() {
  it_setup s
  # A 64-entry SYN queue that the flood fills: cookies from then on
  # (tcp_syncookies=1). The spoofed sources (192.0.2.100-199) have no owner,
  # so inlet's SYN-ACKs to them wait for ARP and die; no packet leaves the
  # namespace.
  start_sink --tcp "$IT_PORT" --sysctl net.ipv4.tcp_syncookies=1 \
    --sysctl net.ipv4.tcp_max_syn_backlog=64
  local count=6000 rate=4000
  it_log "SYN flood: $count SYNs at $rate/s from 192.0.2.100-199"
  # Not through it_ns: a function in the background would be a subshell, and
  # its PID not the one to signal.
  timeout -k 2 15 ip netns exec "$IT_NS" "$PEER" syn-flood "$IT_INLET_IP" "$IT_PORT" \
    --count "$count" --rate "$rate" --seed $$ >"$IT_DIR/flood.out" 2>"$IT_DIR/flood.err" &
  local flood=$!
  it_bg_add "$flood"
  # The transfer starts once the SYN queue is full and cookies go out.
  it_wait_counter TcpExtSyncookiesSent 1 10 || it_check "cookies sent within 10 s of the flood" yes no
  local bytes
  bytes=$(scaled $((10 * MB)))
  tcp_send 1 "$bytes"
  local overlapped=no
  kill -0 "$flood" 2>/dev/null && overlapped=yes
  it_log "the flood was still running when the transfer ended: $overlapped"
  # The flood ends by itself (bounded in count and time).
  local rc=0
  it_bg_wait "$flood" || rc=$?
  it_check "syn-flood exit code" 0 "$rc"
  it_log "$(cat "$IT_DIR/flood.out" "$IT_DIR/flood.err")"
  it_check "spoofed SYNs sent" "sent=$count" "$(grep -o 'sent=[0-9]*' "$IT_DIR/flood.out" || echo none)"
  it_stop_sink
  check_transfers 1 "$bytes"
  # The flood never completes a handshake: one passive open, the client's.
  it_check_counter TcpPassiveOpens 1
  it_check_counter TcpEstabResets 0
  check_counter_gt TcpExtSyncookiesSent 0
  check_counter_gt TcpExtTCPReqQFullDoCookies 0
  # tcp_syncookies=1: a cookie only ever because the queue was full.
  it_check "TcpExtSyncookiesSent = TcpExtTCPReqQFullDoCookies" "$(it_counter TcpExtTCPReqQFullDoCookies)" \
    "$(it_counter TcpExtSyncookiesSent)"
  it_check_counter TcpExtSyncookiesFailed 0
  it_check_counter TcpExtTCPReqQFullDrop 0
  it_log "the client's connection came through a cookie: TcpExtSyncookiesRecv=$(it_counter TcpExtSyncookiesRecv)"
  log_counters TcpInSegs TcpOutSegs TcpExtSyncookiesSent TcpExtListenDrops TcpExtListenOverflows \
    ArpOutRequests ArpUnresolvedDiscards
  log_kernel_counters
  it_check_clean_exit
  it_finish
}

test_many() {
  it_setup m
  local conns=300 bytes=$((64 * 1024))
  start_sink --tcp "$IT_PORT" --sysctl inlet.tcp.max_connections=1024 \
    --sysctl net.ipv4.tcp_max_syn_backlog=1024
  # Each connection stays open 1.5 s after its last byte: all 300 are
  # established at once, which the sink's TcpCurrEstab shows.
  it_log "kernel client: $conns connections x $bytes bytes, each held open 1.5 s"
  timeout -k 2 $((SEND_TIMEOUT + 5)) ip netns exec "$IT_NS" "$PEER" tcp-send "$IT_INLET_IP" \
    "$IT_PORT" --bytes "$bytes" --conns "$conns" --hold-open 1500 --timeout "$SEND_TIMEOUT" \
    >"$IT_DIR/send.out" 2>"$IT_DIR/send.err" &
  local client=$!
  it_bg_add "$client"
  if it_wait_counter TcpCurrEstab "$conns" 20; then
    it_check "TcpCurrEstab reached $conns (all open at once)" yes yes
  else
    it_check "TcpCurrEstab reached $conns (all open at once)" yes no
  fi
  local rc=0
  it_bg_wait "$client" || rc=$?
  [ "$rc" -eq 0 ] || { sed 's/^/  /' "$IT_DIR/send.err" >&2; it_check "tcp-send exit code" 0 "$rc"; }
  it_log "$(grep '^tcp-send:' "$IT_DIR/send.out" || echo 'tcp-send: no summary')"
  kernel_nstat_save
  log_kernel_tx_dropped
  it_stop_sink
  check_transfers "$conns" "$bytes"
  check_common "$conns"
  it_check "kernel TAP TX dropped (lost before inlet)" 0 "$KERNEL_TX_DROPPED"
  it_check_counter TcpExtSyncookiesSent 0
  it_check_counter TcpExtListenDrops 0
  it_check_counter TcpCurrEstab 0
  log_counters TcpInSegs TcpOutSegs TcpExtTW
  log_kernel_counters
  it_finish
}

it_require_privileges
case "${IT_TEST#tcp-}" in
  clean) test_clean ;;
  loss) test_loss ;;
  reorder) test_reorder ;;
  delay) test_delay ;;
  corrupt) test_corrupt ;;
  dup) test_dup ;;
  mixed) test_mixed ;;
  fastopen) test_fastopen ;;
  synflood) test_synflood ;;
  many) test_many ;;
  *) it_die "unknown test '$IT_TEST'" ;;
esac
