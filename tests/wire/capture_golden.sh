#!/bin/bash
# tests/wire/capture_golden.sh — captures the real Linux-kernel frames behind golden_frames.h
# between two throw-away network namespaces joined by a veth pair. Needs root. Run once:
#   bash tests/wire/capture_golden.sh /tmp/golden.pcap
#   tshark -r /tmp/golden.pcap   # pick frames, then (see the comments in golden_frames.h):
#   python3 tests/wire/pcap2c.py /tmp/golden.pcap "$(uname -r)" 'N:name:description'... \
#       > tests/wire/golden_frames.h
# No traffic leaves the two namespaces; both are deleted on any exit.
set -euo pipefail

OUT=${1:-/tmp/pnwire_golden.pcap}
A=pnwire_a_$$
B=pnwire_b_$$
PIDS=()

cleanup() {
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    ip netns del "$A" 2>/dev/null || true
    ip netns del "$B" 2>/dev/null || true
}
trap cleanup EXIT

inA() { ip netns exec "$A" "$@"; }
inB() { ip netns exec "$B" "$@"; }

ip netns add "$A"
ip netns add "$B"
for ns in "$A" "$B"; do
    # No IPv6 (router solicitations, MLD) so the capture holds only what we send.
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
    ip -n "$ns" link set lo up
done
ip -n "$A" link add va address 02:00:00:00:00:0a type veth peer name vb address 02:00:00:00:00:0b netns "$B"
ip -n "$A" addr add 10.200.0.1/24 dev va
ip -n "$B" addr add 10.200.0.2/24 dev vb
for pair in "$A va" "$B vb"; do
    set -- $pair
    # Software checksums and real MTU-sized segments: with offloads on, the captured
    # checksums would be partial and TCP segments could exceed the MTU.
    ip netns exec "$1" ethtool -K "$2" tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
    ip -n "$1" link set "$2" up
done
sleep 1

inA tcpdump -i va -U -s 0 -w "$OUT" 'arp or ip' 2>/dev/null &
PIDS+=($!)
sleep 1

# 1. ICMP echo request (kernel ping socket) and the kernel's echo reply; the first packet
#    also triggers the ARP request from A and the ARP reply from B.
inA sysctl -qw net.ipv4.ping_group_range="0 2147483647"
inA python3 - <<'EOF'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
payload = bytes(range(0x10, 0x10 + 56))
s.sendto(b"\x08\x00\x00\x00\x00\x00\x00\x01" + payload, ("10.200.0.2", 0))
s.settimeout(2)
print("echo reply", len(s.recv(2048)))
EOF

# 2. UDP: one datagram to an open port, one to a closed port (the kernel answers with ICMP
#    port unreachable), and a 3000-byte datagram that A fragments over the 1500-byte MTU.
inB python3 - <<'EOF' &
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.200.0.2", 7000))
s.settimeout(5)
for _ in range(2):
    print("udp got", len(s.recv(65535)))
EOF
PIDS+=($!)
sleep 0.5
inA python3 - <<'EOF'
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.200.0.1", 5000))
s.sendto(b"hello, plebnet\n", ("10.200.0.2", 7000))
time.sleep(0.2)
s.sendto(b"nobody home\n", ("10.200.0.2", 7001))
time.sleep(0.2)
s.sendto(bytes(i & 0xff for i in range(3000)), ("10.200.0.2", 7000))
time.sleep(0.2)
EOF
sleep 0.5

# 3. TCP with SACK: B's listener clamps the MSS it advertises so that A's single send()
#    leaves as back-to-back 100-byte segments, one letter each (TSval/TSecr take 12 of the
#    112 bytes in connection 1); a tc filter drops the ones
#    whose payload starts with the marked letters on B's ingress (a drop on A's egress
#    would be reported to A's TCP, which then does not count the segment as sent), so B's
#    kernel answers with SACK blocks.
#    Connection 1 uses timestamps, connection 2 does not, which gives the other Linux
#    option layouts and 4 SACK blocks.
# The kernel here has no act_gact or netem, so the drop is a classic-BPF cls_bpf program in
# direct-action mode compiled by tcpdump: its "accept" return (the snap length) becomes
# TC_ACT_SHOT (2), its "reject" return 0 stays TC_ACT_OK.
drop_payloads() { # payload-prefix bytes (hex) of the segments to drop
    local expr="" b
    for b in "$@"; do
        expr="${expr:+$expr or }tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x$b$b$b$b"
    done
    local code
    code=$(tcpdump -y EN10MB -ddd "$expr" | sed 's/^6 0 0 [1-9][0-9]*$/6 0 0 2/' | paste -sd,)
    inB tc filter add dev vb ingress prio 1 bpf da bytecode "$code"
}
inB tc qdisc add dev vb clsact
drop_payloads 42 44 46 # B, D, F

tcp_server() { # port, advertised MSS
    inB python3 - "$1" "$2" <<'EOF'
import socket, sys
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, int(sys.argv[2]))
l.bind(("10.200.0.2", int(sys.argv[1])))
l.listen(1)
l.settimeout(10)
c, _ = l.accept()
c.settimeout(10)
n = 0
while True:
    d = c.recv(65536)
    if not d:
        break
    n += len(d)
print("tcp got", n)
c.close()
EOF
}
tcp_client() { # port, first letter, count
    inA python3 - "$@" <<'EOF'
import socket, sys, time
port, first, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
s = socket.socket()
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.bind(("10.200.0.1", 40000 + port % 100))
s.connect(("10.200.0.2", port))
s.send(b"".join(bytes([ord(first) + i]) * 100 for i in range(count)))
time.sleep(1.5)
s.close()
time.sleep(0.5)
EOF
}

tcp_server 8080 112 &
PIDS+=($!)
sleep 0.5
tcp_client 8080 A 8 &
CLIENT=$!
PIDS+=($CLIENT)
sleep 1
inB tc filter del dev vb ingress prio 1 # let the retransmissions through
wait "$CLIENT"
sleep 0.5

drop_payloads 62 64 66 68 # b, d, f, h
inA sysctl -qw net.ipv4.tcp_timestamps=0
tcp_server 8081 100 &
PIDS+=($!)
sleep 0.5
tcp_client 8081 a 10 &
CLIENT=$!
PIDS+=($CLIENT)
sleep 1
inB tc filter del dev vb ingress prio 1
wait "$CLIENT"
sleep 1

echo "kernel $(uname -r), $(date -u +%Y-%m-%d)" >&2
