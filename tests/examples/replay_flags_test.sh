#!/usr/bin/env bash
# inlet-replay's --promisc and --clock (docs/hostile-input.md): a frame for a
# foreign MAC is dropped as other-host without --promisc and reaches the UDP
# socket with it; two fragments 60 s apart in the capture expire in
# reassembly under --clock capture (ipfrag_time 30 s) and are reassembled
# under --clock fast; a bad --clock value is a usage error.
#   replay_flags_test.sh BIN_DIR
set -uo pipefail
bin=$1
fail=0
check() {  # check NAME CONDITION-RESULT
  if [ "$2" = 0 ]; then echo "  ok   $1"; else echo "  FAIL $1"; fail=1; fi
}
command -v python3 >/dev/null || { echo "SKIP: python3 is needed to write the captures"; exit 77; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# write_pcap OUT KIND: a little-endian microsecond pcap (LINKTYPE_ETHERNET).
#   foreign: one UDP datagram 192.0.2.1:5000 -> 192.0.2.2:7000 for MAC 02:00:00:00:00:99
#   frags:   one UDP datagram to 02:00:5e:10:00:01 in two fragments, 60 s apart
write_pcap() {
  python3 - "$1" "$2" <<'PY'
import struct, sys
out, kind = sys.argv[1], sys.argv[2]
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF
def ipv4(payload, ident, frag_field):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, frag_field, 64, 17, 0,
                    bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2]))
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload
def eth(dst, payload):
    return dst + bytes.fromhex("020000000001") + b"\x08\x00" + payload
data = bytes(range(48))
udp = struct.pack("!HHHH", 5000, 7000, 8 + len(data), 0) + data  # checksum 0: none
records = []
if kind == "foreign":
    records.append((1000, eth(bytes.fromhex("020000000099"), ipv4(udp, 1, 0))))
else:
    ours = bytes.fromhex("02005e100001")
    records.append((1000, eth(ours, ipv4(udp[:32], 7, 0x2000))))          # MF, offset 0
    records.append((1060, eth(ours, ipv4(udp[32:], 7, 32 // 8))))         # last, offset 32
with open(out, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for sec, frame in records:
        f.write(struct.pack("<IIII", sec, 0, len(frame), len(frame)) + frame)
PY
}
write_pcap "$tmp/foreign.pcap" foreign || { echo "FAIL cannot write a capture"; exit 1; }
write_pcap "$tmp/frags.pcap" frags || { echo "FAIL cannot write a capture"; exit 1; }

# --promisc: without it the frame is another host's; with it, it is ours.
out=$("$bin/inlet-replay" "$tmp/foreign.pcap" --addr 192.0.2.2/24 --udp 7000 2>&1); rc=$?
check "without --promisc: exit 0" "$rc"
grep -q "^udp 7000 datagrams=0 " <<<"$out"; check "without --promisc: nothing reaches UDP" $?
grep -Eq "^rx_otherhost_dropped +1( |$)" <<<"$out"; check "without --promisc: rx_otherhost_dropped 1" $?
out=$("$bin/inlet-replay" "$tmp/foreign.pcap" --addr 192.0.2.2/24 --udp 7000 --promisc 2>&1); rc=$?
check "--promisc: exit 0" "$rc"
grep -q "^udp 7000 datagrams=1 bytes=48" <<<"$out"; check "--promisc: the datagram reaches UDP port 7000" $?
grep -q "^clock capture promisc" <<<"$out"; check "--promisc: named in the summary line" $?
# Another host's frame stays OTHERHOST: with forwarding on and an IP
# destination that is not ours, it is neither forwarded nor answered.
out=$("$bin/inlet-replay" "$tmp/foreign.pcap" --addr 192.0.2.3/24 --promisc \
      --sysctl net.ipv4.ip_forward=1 2>&1)
grep -Eq "^IpForwDatagrams " <<<"$out"; [ $? != 0 ]; check "--promisc + ip_forward: another host's datagram is not forwarded" $?
grep -Eq "^tx_packets " <<<"$out"; [ $? != 0 ]; check "--promisc + ip_forward: nothing transmitted" $?
grep -Eq "^IpInAddrErrors +1( |$)" <<<"$out"; check "--promisc + ip_forward: IpInAddrErrors 1" $?
# The frame is taken as it is: a capture at link-in keeps the foreign MAC.
"$bin/inlet-replay" "$tmp/foreign.pcap" --addr 192.0.2.2/24 --udp 7000 --promisc \
  --pcap-at "link-in:$tmp/linkin.pcap" >/dev/null 2>&1
dst=$(python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); print(d[40:46].hex())' "$tmp/linkin.pcap" 2>/dev/null)
[ "$dst" = 020000000099 ]; check "--promisc: link-in capture keeps the destination MAC ($dst)" $?
grep -Eq "^rx_otherhost_dropped " <<<"$out"; [ $? != 0 ]; check "--promisc: no rx_otherhost_dropped" $?

# --clock: the capture's 60 s gap outlasts ipfrag_time (30 s) only when
# protocol time follows the capture.
out=$("$bin/inlet-replay" "$tmp/frags.pcap" --addr 192.0.2.2/24 --udp 7000 --clock capture 2>&1); rc=$?
check "--clock capture: exit 0" "$rc"
grep -q "^clock capture" <<<"$out"; check "--clock capture: reported" $?
grep -q "^udp 7000 datagrams=0 " <<<"$out"; check "--clock capture: the first fragment expired, nothing delivered" $?
grep -Eq "^IpReasmTimeout +1( |$)" <<<"$out"; check "--clock capture: IpReasmTimeout 1" $?
out_default=$("$bin/inlet-replay" "$tmp/frags.pcap" --addr 192.0.2.2/24 --udp 7000 2>&1)
grep -q "^udp 7000 datagrams=0 " <<<"$out_default"; check "no --clock: capture time is the default" $?
out=$("$bin/inlet-replay" "$tmp/frags.pcap" --addr 192.0.2.2/24 --udp 7000 --clock fast 2>&1); rc=$?
check "--clock fast: exit 0" "$rc"
grep -q "^clock fast" <<<"$out"; check "--clock fast: reported" $?
grep -q "^udp 7000 datagrams=1 bytes=48" <<<"$out"; check "--clock fast: the fragments are reassembled and delivered" $?
grep -Eq "^IpReasmOKs +1( |$)" <<<"$out"; check "--clock fast: IpReasmOKs 1" $?

"$bin/inlet-replay" "$tmp/frags.pcap" --clock sometimes >/dev/null 2>&1; rc=$?
[ "$rc" = 2 ]; check "--clock sometimes: usage error (exit 2)" $?
help=$("$bin/inlet-replay" --help 2>&1)
grep -q -- "--clock capture" <<<"$help"; check "--help documents --clock" $?
grep -q -- "--promisc" <<<"$help"; check "--help documents --promisc" $?

exit $fail
