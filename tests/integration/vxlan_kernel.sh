#!/usr/bin/env bash
# tests/integration/vxlan_kernel.sh — the Linux kernel as a real VXLAN peer (RFC 7348): two
# network namespaces made here, joined by a veth pair; one holds a kernel `vxlan` device
# (VNI 42, 10.77.0.1/24), the other runs plebnet UNPRIVILEGED (setpriv nobody) with
# --link vxlan:... --addr 10.77.0.2/24. Checks: plebnet ping -> kernel, kernel ping ->
# plebnet, UDP both ways between `plebnet nc -u` and socat, the underlay capture decodes as
# VXLAN VNI 42 in both directions with zero malformed frames, and the inner pcap too; TCP
# both ways between `plebnet nc` and socat (32 MiB, sha256), window scaling and timestamps
# in the SYNs of both sides (SACK-permitted is printed, not required yet).
# Needs root (to make the namespaces), iproute2, iputils-ping, socat, tshark, ethtool.
# Usage: vxlan_kernel.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
bin="$build/plebnet"
fail() { echo "FAIL: $*"; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root to create network namespaces"
for t in ip ping socat tshark setpriv timeout ethtool; do
  command -v $t >/dev/null || fail "missing tool: $t"
done

. "$(dirname "$0")/lib/vxlan_pair.sh"
vxlan_pair_setup vx 777
LINK="vxlan:192.168.77.1,vni=42"
MAC=02:70:6e:77:00:02   # one MAC for every plebnet process, so the kernel sees one host

# ---- underlay capture on the plebnet side's veth ----
ip netns exec "$nsp" tshark -q -i "$vp" -w "$work/underlay.pcapng" -f "udp port 4789" \
  -a duration:50 >/dev/null 2>"$work/tshark.err" &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/underlay.pcapng" ] && break; sleep 0.1; done
[ -s "$work/underlay.pcapng" ] || { cat "$work/tshark.err"; fail "tshark did not start"; }
sleep 0.3

# 1. plebnet pings the kernel (link and address from the environment this time).
PLEBNET_LINK="$LINK" PLEBNET_ADDR=10.77.0.2/24 PLEBNET_MAC=$MAC \
  pleb timeout 20 "$bin" ping -v -c 3 -i 0.2 -W 2 10.77.0.1 >"$work/ping1.out" 2>"$work/ping1.err" ||
  { cat "$work/ping1.out" "$work/ping1.err"; fail "plebnet ping 10.77.0.1 exited non-zero"; }
cat "$work/ping1.out"
grep -q "3 packets transmitted, 3 received, 0% packet loss" "$work/ping1.out" || fail "plebnet ping: replies missing"
grep -q "icmp_seq=3 time=" "$work/ping1.out" || fail "plebnet ping: reply lines"
grep -q "vxlan: local 0.0.0.0:4789 vni 42" "$work/ping1.err" || { cat "$work/ping1.err"; fail "ping -v stats"; }

# 2. A plebnet UDP listener; the kernel pings it, then talks UDP to it through socat.
printf 'reply from plebnet\n' >"$work/reply.txt"
pleb timeout 25 "$bin" nc -u -l -q 2 -w 8 -v --link "$LINK" --addr 10.77.0.2/24 --mac $MAC \
  --pcap "$work/inner.pcap" 9000 <"$work/reply.txt" >"$work/nc_l.out" 2>"$work/nc_l.err" &
lpid=$!
pids+=($lpid)
sleep 0.5
kns ip neigh flush dev vx0   # make the kernel ask: plebnet must answer ARP
kns timeout 20 ping -c 3 -i 0.2 -W 2 10.77.0.2 >"$work/ping2.out" ||
  { cat "$work/ping2.out"; fail "kernel ping 10.77.0.2 failed"; }
cat "$work/ping2.out"
grep -q "3 packets transmitted, 3 received" "$work/ping2.out" || fail "kernel ping: replies missing"
grep -q "ttl=64" "$work/ping2.out" || fail "kernel ping: TTL 64 from plebnet"
printf 'hello from kernel\n' | kns timeout 10 socat -t 3 - UDP4:10.77.0.2:9000 >"$work/socat1.out" ||
  fail "socat to plebnet failed"
wait "$lpid" || { cat "$work/nc_l.err"; fail "plebnet nc -u -l exited non-zero"; }
grep -qx "hello from kernel" "$work/nc_l.out" || { cat "$work/nc_l.out" "$work/nc_l.err"; fail "plebnet did not receive the kernel's datagram"; }
grep -qx "reply from plebnet" "$work/socat1.out" || { cat "$work/socat1.out"; fail "kernel did not receive plebnet's reply"; }
grep -q "udp_rx " "$work/nc_l.err" || fail "nc -v stats"
echo "UDP kernel -> plebnet listener and back: ok"

# 3. plebnet's UDP client to a socat echo service in the kernel namespace.
kns timeout 15 socat -T 5 UDP4-LISTEN:9001 EXEC:cat >/dev/null 2>&1 &
pids+=($!)
sleep 0.3
printf 'hello from plebnet\n' |
  pleb timeout 15 "$bin" nc -u -q 2 --link "$LINK" --addr 10.77.0.2/24 --mac $MAC 10.77.0.1 9001 >"$work/nc_c.out" ||
  fail "plebnet nc -u client exited non-zero"
grep -qx "hello from plebnet" "$work/nc_c.out" || { cat "$work/nc_c.out"; fail "no echo from the kernel side"; }
echo "UDP plebnet -> kernel echo and back: ok"

# 4. The underlay capture: VXLAN with VNI 42 both ways, nothing malformed.
kill -INT "${pids[0]}" 2>/dev/null || true
wait "${pids[0]}" 2>/dev/null || true
cap="$work/underlay.pcapng"
total=$(tshark -r "$cap" 2>/dev/null | wc -l)
from_k=$(tshark -r "$cap" -Y 'vxlan.vni == 42 && ip.src == 192.168.77.1' 2>/dev/null | wc -l)
from_p=$(tshark -r "$cap" -Y 'vxlan.vni == 42 && ip.src == 192.168.77.2 && udp.srcport == 4789' 2>/dev/null | wc -l)
bad=$(tshark -r "$cap" -Y '_ws.malformed || _ws.expert.severity >= error' 2>/dev/null | wc -l)
echo "underlay capture: $total frames, $from_k from the kernel, $from_p from plebnet, $bad malformed"
[ "$total" -ge 20 ] || fail "underlay capture has only $total frames"
[ "$from_k" -ge 8 ] && [ "$from_p" -ge 8 ] || fail "VXLAN VNI 42 frames missing in one direction"
[ "$bad" = 0 ] || { tshark -r "$cap" -Y '_ws.malformed || _ws.expert.severity >= error'; fail "malformed frames"; }
inner_icmp=$(tshark -r "$cap" -Y 'vxlan && icmp.type == 0 && ip.src == 10.77.0.2' 2>/dev/null | wc -l)
[ "$inner_icmp" -ge 3 ] || fail "plebnet's echo replies not seen inside VXLAN"
tshark -r "$cap" -Y 'vxlan && arp.opcode == 2' 2>/dev/null | grep -q "10.77.0.2 is at $MAC" ||
  fail "plebnet's ARP reply not seen"
tshark -r "$cap" -Y 'vxlan && arp.opcode == 2' 2>/dev/null | grep -q "10.77.0.1 is at" ||
  fail "the kernel's ARP reply not seen"
ibad=$(tshark -r "$work/inner.pcap" -Y '_ws.malformed || _ws.expert.severity >= error' 2>/dev/null | wc -l)
[ "$ibad" = 0 ] || fail "inner pcap: $ibad malformed frames"
[ "$(tshark -r "$work/inner.pcap" -Y 'udp.port == 9000' 2>/dev/null | wc -l)" -ge 2 ] || fail "inner pcap: UDP missing"

# 5. TCP both ways against the kernel's TCP (socat), 32 MiB each, sha256 equal; the SYNs
# (captured inside VXLAN, headers only) show window scaling and timestamps.
head -c 33554432 /dev/urandom >"$work/data"
sum=$(sha256sum <"$work/data")
ip netns exec "$nsp" tshark -q -i "$vp" -s 200 -w "$work/tcp.pcapng" -f "udp port 4789" \
  -a duration:50 >/dev/null 2>"$work/tshark2.err" &
cpid=$!
pids+=($cpid)
for _ in $(seq 100); do [ -s "$work/tcp.pcapng" ] && break; sleep 0.1; done
sleep 0.3
pleb timeout 40 "$bin" nc -l --link "$LINK" --addr 10.77.0.2/24 --mac $MAC 5001 </dev/null \
  >"$work/tcp_p.out" 2>"$work/tcp_p.err" &
ppid=$!
pids+=($ppid)
sleep 0.3
t0=$(date +%s.%N)
kns timeout 40 socat -u FILE:"$work/data" TCP4:10.77.0.2:5001 || fail "socat -> plebnet nc -l failed"
wait "$ppid" || { cat "$work/tcp_p.err"; fail "plebnet nc -l exited non-zero"; }
t1=$(date +%s.%N)
[ "$(sha256sum <"$work/tcp_p.out")" = "$sum" ] || fail "kernel -> plebnet TCP: $(wc -c <"$work/tcp_p.out") bytes, sha256 differs"
kns timeout 40 socat -u TCP4-LISTEN:5002 CREATE:"$work/tcp_k.out" &
kpid=$!
pids+=($kpid)
sleep 0.3
pleb timeout 40 "$bin" nc --link "$LINK" --addr 10.77.0.2/24 --mac $MAC 10.77.0.1 5002 <"$work/data" ||
  fail "plebnet nc -> kernel exited non-zero"
wait "$kpid" || fail "socat TCP listener failed"
t2=$(date +%s.%N)
[ "$(sha256sum <"$work/tcp_k.out")" = "$sum" ] || fail "plebnet -> kernel TCP: $(wc -c <"$work/tcp_k.out") bytes, sha256 differs"
awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN { printf "TCP 32 MiB kernel -> plebnet %.2f s, plebnet -> kernel %.2f s: sha256 equal\n", b - a, c - b }'
kill -INT "$cpid" 2>/dev/null || true
wait "$cpid" 2>/dev/null || true
# Fields of the inner (last) IP header; SACK-permitted is reported, not yet required.
syns=$(tshark -r "$work/tcp.pcapng" -Y 'tcp.flags.syn == 1' -T fields -E occurrence=l \
  -e ip.src -e tcp.flags.ack -e tcp.options.wscale.shift -e tcp.options.timestamp.tsval \
  -e tcp.options.sack_perm 2>/dev/null)
echo "SYNs (src, ack, wscale, tsval, sack_perm):"
echo "$syns"
for src in 10.77.0.1 10.77.0.2; do
  echo "$syns" | awk -F'\t' -v s="$src" '$1 == s && $3 != "" && $4 != "" { ok = 1 } END { exit !ok }' ||
    fail "SYN from $src lacks window scaling or timestamps"
done

echo "vxlan_kernel integration: all checks passed"
