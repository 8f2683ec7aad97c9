#!/usr/bin/env bash
# kernel_peer_test.sh TEST BIN_DIR — inlet against the Linux kernel over a TAP
# in a network namespace of its own (see lib.sh for the topology).
#
#   ping     kernel ping gets every reply, data intact, at 3 sizes; ARP resolves;
#            a broadcast ping is counted and ignored
#   arp      inlet resolves the kernel's address itself; a host that never
#            answers ARP costs mcast_solicit requests and one counted drop
#   udp      kernel UDP datagrams of known sizes arrive and are counted to the
#            byte, per port, broadcast included; a closed port answers ICMP
#   garbage  damaged frames of every kind from a raw socket are counted drops
#            (each under its reason and Linux counter); the stack still answers
#   pcap     inlet-sink --pcap writes a capture tshark reads, holding exactly
#            the frames the stack saw and sent, payloads byte for byte
#
# Exit 0 pass, 1 fail, 77 skipped (no CAP_NET_ADMIN, /dev/net/tun, netns, tool).
set -euo pipefail

IT_TEST=${1:?usage: kernel_peer_test.sh ping|arp|udp|garbage|pcap BIN_DIR}
IT_BIN=${2:?usage: kernel_peer_test.sh TEST BIN_DIR}
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for b in inlet-sink inlet-testpeer; do
  [ -x "$IT_BIN/$b" ] || it_die "$IT_BIN/$b is not built"
done
PEER="$IT_BIN/inlet-testpeer"
TSHARK=${INLET_IT_TSHARK:-tshark}  # overridable, to exercise the skip

# ---------------------------------------------------------------------- ping
test_ping() {
  command -v ping >/dev/null || it_skip "ping (iputils-ping) is not installed"
  it_setup p
  it_start_sink --udp "$IT_PORT"

  it_ping 5                 # 56 data bytes: ARP first, then echo
  it_ping 2 -s 1472         # 1500-byte datagrams: the MTU exactly
  it_ping 2 -s 0            # an 8-byte ICMP message, no data at all
  # Echo to the subnet broadcast is ignored (icmp_echo_ignore_broadcasts=1,
  # RFC 1122 3.2.2.6): counted, never answered.
  local bout
  bout=$(it_ns 10 ping -n -b -c 2 -i 0.2 -W 1 "$IT_BCAST_IP" 2>&1 || true)
  it_check "broadcast ping replies" "0 received" "$(grep -o '[0-9]* received' <<<"$bout")"
  # The kernel learnt inlet's MAC from inlet's ARP reply.
  it_check "kernel neighbour entry for $IT_INLET_IP" "lladdr $IT_INLET_MAC" \
    "$(it_ns 5 ip neigh show "$IT_INLET_IP" dev "$IT_TAP" | grep -o "lladdr [0-9a-f:]*" || true)"
  it_stop_sink

  local echos=9 ignored=2
  for c in IcmpInEchos IcmpMsgInType8 IcmpInMsgs IpInReceives IpInDelivers; do
    it_check_counter "$c" "$((echos + ignored))"
  done
  for c in IcmpOutEchoReps IcmpMsgOutType0 IcmpOutMsgs IpOutRequests; do
    it_check_counter "$c" "$echos"
  done
  it_check_counter IpExtInBcastPkts "$ignored"
  it_check_counter IcmpInIgnored "$ignored"
  it_check_counter IcmpInErrors 0
  it_check_counter IpInHdrErrors 0
  local arp_in arp_out
  arp_in=$(it_counter ArpInRequests)
  arp_out=$(it_counter ArpOutReplies)
  it_check "ArpInRequests >= 1" yes "$([ "$arp_in" -ge 1 ] && echo yes || echo "no ($arp_in)")"
  it_check "every ARP request answered (ArpOutReplies)" "$arp_in" "$arp_out"
  it_check "tx_packets = echo replies + ARP out" \
    "$((echos + arp_out + $(it_counter ArpOutRequests)))" "$(it_counter tx_packets)"
  it_check "drop reasons" "ICMP_ECHO_IGNORED=$ignored" "$(it_drops)"
  it_check_clean_exit
  it_finish
}

# ----------------------------------------------------------------------- arp
test_arp() {
  command -v ping >/dev/null || it_skip "ping (iputils-ping) is not installed"
  it_setup a
  # The kernel knows inlet's MAC and never asks: inlet has to resolve the
  # kernel's address itself to answer (RFC 826; the reply waits meanwhile).
  it_ns 5 ip neigh replace "$IT_INLET_IP" lladdr "$IT_INLET_MAC" dev "$IT_TAP" nud permanent
  local retrans_ms=100 solicit=3
  it_start_sink --udp "$IT_PORT" --sysctl net.ipv4.neigh.default.retrans_time_ms=$retrans_ms \
    --sysctl net.ipv4.neigh.default.mcast_solicit=$solicit
  it_ping 3
  # An echo request from 192.0.2.77, which nobody answers ARP for: after
  # mcast_solicit requests the held reply is dropped, and nothing leaks.
  it_ns 10 "$PEER" raw-send "$IT_TAP" "$IT_INLET_MAC" echo-from-silent-host | sed 's/^/  /'
  it_wait_counter ArpUnresolvedDiscards 1 10 ||
    it_check "held reply dropped within 10 s" "ArpUnresolvedDiscards 1" "not yet"
  it_stop_sink

  it_check_counter ArpInRequests 0
  it_check_counter ArpOutRequests $((1 + solicit))
  it_check_counter ArpInReplies 1
  it_check_counter ArpUnresolvedDiscards 1
  it_check_counter IcmpInEchos 4
  it_check_counter IcmpOutEchoReps 4
  it_check_counter tx_packets $((3 + 1 + solicit))
  it_check "drop reasons" "ARP_UNRESOLVED=1" "$(it_drops)"
  it_check_clean_exit
  it_finish
}

# ----------------------------------------------------------------------- udp
test_udp() {
  command -v ping >/dev/null || it_skip "ping (iputils-ping) is not installed"
  it_setup u
  it_start_sink --udp "$IT_PORT" --udp 7002

  it_ping 1  # resolves ARP both ways before the burst
  # 200 datagrams cycling through sizes from empty to the largest unfragmented.
  local sizes=(0 1 18 64 200 512 1000 1400 1472) n=200 expect_bytes=0 i
  for ((i = 0; i < n; i++)); do expect_bytes=$((expect_bytes + sizes[i % ${#sizes[@]}])); done
  local csv
  csv=$(IFS=,; echo "${sizes[*]}")
  it_ns 20 "$PEER" udp-send "$IT_INLET_IP" "$IT_PORT" "$n" "$csv" --pattern
  # A second socket: demultiplexed by port.
  it_ns 10 "$PEER" udp-send "$IT_INLET_IP" 7002 10 333 --pattern
  # Subnet-directed broadcast reaches a socket bound to the wildcard address.
  it_ns 10 "$PEER" udp-send "$IT_BCAST_IP" "$IT_PORT" 5 100 --broadcast
  # A closed port: inlet's ICMP port unreachable must be good enough for the
  # kernel to match it to the socket (ECONNREFUSED). It also comes back after
  # everything sent before it was processed, which makes it the barrier.
  it_ns 10 "$PEER" udp-send "$IT_INLET_IP" 7001 1 10 --expect-refused
  it_check_kernel_tx_dropped
  it_stop_sink

  it_check "udp $IT_PORT line" "datagrams=$((n + 5)) bytes=$((expect_bytes + 5 * 100))" \
    "$(it_udp_line "$IT_PORT")"
  it_check "udp 7002 line" "datagrams=10 bytes=3330" "$(it_udp_line 7002)"
  it_check_counter UdpInDatagrams $((n + 5 + 10))
  it_check_counter IpExtInBcastPkts 5
  it_check_counter IpInReceives $((1 + n + 10 + 5 + 1))
  it_check_counter UdpNoPorts 1
  it_check_counter IcmpOutDestUnreachs 1
  it_check_counter IcmpMsgOutType3 1
  it_check_counter UdpInErrors 0
  it_check_counter UdpInCsumErrors 0
  it_check_counter UdpRcvbufErrors 0
  it_check_counter IpReasmReqds 0
  it_check "drop reasons" "UDP_NO_PORT=1" "$(it_drops)"
  it_check_clean_exit
  it_finish
}

# ------------------------------------------------------------------- garbage
test_garbage() {
  command -v ping >/dev/null || it_skip "ping (iputils-ping) is not installed"
  it_setup g
  # MTU 1400 on inlet's side (1500 on the kernel's) makes a full-size kernel
  # frame an oversize one for inlet.
  it_start_sink --udp "$IT_PORT" --mtu 1400

  it_ping 2
  it_ns 20 "$PEER" raw-send "$IT_TAP" "$IT_INLET_MAC" all | sed 's/^/  /'
  # The stack still answers; the replies also prove every frame sent before
  # them has been processed (one FIFO queue, read in order).
  it_ping 3
  it_check_kernel_tx_dropped
  it_stop_sink

  # Expected values: each kind adds one to each of its counters and one drop
  # under its reason; the pings add to theirs.
  declare -A want=() want_drop=()
  local pings=5 delivered=0 delivered_bytes=0 name drop counters bytes c
  for c in IpInReceives IpInDelivers IcmpInMsgs IcmpInEchos IcmpMsgInType8 IcmpOutMsgs \
           IcmpOutEchoReps IcmpMsgOutType0; do
    want[$c]=$pings
  done
  local nkinds=0
  while IFS=$'\t' read -r name drop counters bytes _; do
    nkinds=$((nkinds + 1))
    for c in $counters; do want[$c]=$(( ${want[$c]:-0} + 1 )); done
    [ "$drop" == "-" ] || want_drop[$drop]=$(( ${want_drop[$drop]:-0} + 1 ))
    if [ "$bytes" -ge 0 ]; then
      delivered=$((delivered + 1))
      delivered_bytes=$((delivered_bytes + bytes))
    fi
  done < <("$PEER" kinds)
  it_log "$nkinds frame kinds, $delivered of them deliverable"
  [ "$nkinds" -gt 30 ] || it_die "inlet-testpeer kinds listed only $nkinds kinds"

  # Counters no kind should touch stay at zero.
  for c in rx_nobuf tx_dropped IpInDiscards UdpRcvbufErrors IcmpInIgnored; do
    want[$c]=${want[$c]:-0}
  done
  for c in $(printf '%s\n' "${!want[@]}" | sort); do
    it_check_counter "$c" "${want[$c]}"
  done
  # The kernel's own ARP requests (as many as it likes) are all answered; the
  # two invalid-sender kinds are well-formed requests that are counted but
  # must not be answered.
  it_check "ArpInRequests - ArpOutReplies" "${want_drop[ARP_INVALID_SENDER]:-0}" \
    "$(( $(it_counter ArpInRequests) - $(it_counter ArpOutReplies) ))"
  local expect_drops
  expect_drops=$(for r in "${!want_drop[@]}"; do echo "$r=${want_drop[$r]}"; done | sort | tr '\n' ' ' |
                 sed 's/ $//')
  it_check "drop reasons" "$expect_drops" "$(it_drops)"
  it_check "udp $IT_PORT line" "datagrams=$delivered bytes=$delivered_bytes" "$(it_udp_line "$IT_PORT")"
  it_check_clean_exit
  if [ "$IT_FAILURES" -ne 0 ]; then
    echo "---- the frames sent (kind, expected drop, counters +1 each) ----"
    "$PEER" kinds | awk -F'\t' '{ printf "  %-28s %-24s %s\n", $1, $2, $3 }'
  fi
  it_finish
}

# ---------------------------------------------------------------------- pcap
test_pcap() {
  command -v "$TSHARK" >/dev/null || it_skip "tshark is not installed (apt-get install tshark)"
  command -v ping >/dev/null || it_skip "ping (iputils-ping) is not installed"
  it_setup c
  local cap="$IT_DIR/sink.pcap"
  it_start_sink --udp "$IT_PORT" --pcap "$cap"

  it_ping 3
  local sizes=(100 300) n=10
  it_ns 10 "$PEER" udp-send "$IT_INLET_IP" "$IT_PORT" "$n" 100,300 --pattern
  it_ping 1  # the barrier: everything before it is in the capture
  it_stop_sink

  # One pass of tshark over the file; it must read every record without error.
  local fields
  if ! fields=$(timeout 30 "$TSHARK" -r "$cap" -n -T fields -E separator=/t -E occurrence=f \
                  -e frame.number -e eth.type -e icmp.type -e udp.dstport -e udp.payload \
                  -e _ws.malformed 2>"$IT_DIR/tshark.err"); then
    cat "$IT_DIR/tshark.err" >&2
    it_check "tshark -r exit status" 0 "non-zero"
    it_finish
  fi
  local frames
  frames=$(grep -c . <<<"$fields" || true)
  it_check "frames in capture = rx_packets + tx_packets" \
    "$(( $(it_counter rx_packets) + $(it_counter tx_packets) ))" "$frames"
  it_check "malformed frames (tshark)" 0 "$(awk -F'\t' '$6 != ""' <<<"$fields" | grep -c . || true)"
  it_check "echo requests in capture" 4 "$(awk -F'\t' '$3 == "8"' <<<"$fields" | grep -c . || true)"
  it_check "echo replies in capture" 4 "$(awk -F'\t' '$3 == "0"' <<<"$fields" | grep -c . || true)"
  it_check "ARP frames in capture >= 2" yes \
    "$([ "$(awk -F'\t' '$2 == "0x0806"' <<<"$fields" | grep -c . || true)" -ge 2 ] && echo yes || echo no)"
  # The UDP payloads, in order, byte for byte.
  local payloads i bad=0
  mapfile -t payloads < <(awk -F'\t' -v p="$IT_PORT" '$4 == p { print $5 }' <<<"$fields" | tr -d ':')
  it_check "UDP datagrams in capture" "$n" "${#payloads[@]}"
  for ((i = 0; i < ${#payloads[@]} && i < n; i++)); do
    if [ "${payloads[i]}" != "$("$PEER" pattern-hex "$i" "${sizes[i % 2]}")" ]; then
      echo "  datagram $i payload differs: ${payloads[i]:0:64}..."
      bad=$((bad + 1))
    fi
  done
  it_check "UDP payloads intact" 0 "$bad"
  it_check "udp $IT_PORT line" "datagrams=$n bytes=$((n * (100 + 300) / 2))" "$(it_udp_line "$IT_PORT")"
  it_check_clean_exit
  it_finish
}

it_require_privileges
case "$IT_TEST" in
  ping) test_ping ;;
  arp) test_arp ;;
  udp) test_udp ;;
  garbage) test_garbage ;;
  pcap) test_pcap ;;
  *) it_die "unknown test '$IT_TEST'" ;;
esac
