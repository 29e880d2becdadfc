#!/usr/bin/env bash
# tests/integration/vxlan_tcp.sh — plebnet's TCP against the Linux kernel's TCP as a real peer,
# over a kernel `vxlan` device (RFC 7348). Two network namespaces made here, joined by a veth
# pair: one holds vx0 (VNI 42, 10.77.0.1/24) and the kernel-side programs, the other runs
# plebnet UNPRIVILEGED (setpriv nobody) with --link vxlan:... --addr 10.77.0.2/24. Checks:
#   1. 1 GiB (PN_TCP_BYTES to change) each way between `plebnet nc` and socat, sha256 equal;
#   2. curl in the kernel namespace fetches a file served through `plebnet nc -l`;
#   3. `plebnet nc` fetches a file from `python3 -m http.server` in the kernel namespace;
#   4. a capture of the handshakes (inside VXLAN): window scaling, SACK-permitted and
#      timestamps in the SYN and the SYN-ACK of both connections (plebnet -> kernel and
#      kernel -> plebnet).
# Needs root (to make the namespaces): iproute2, socat, curl, python3, tshark, ethtool,
# util-linux (setpriv). Usage: vxlan_tcp.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
bin="$build/plebnet"
fail() { echo "FAIL: $*"; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root to create network namespaces"
for t in ip socat curl python3 tshark setpriv timeout ethtool sha256sum; do
  command -v $t >/dev/null || fail "missing tool: $t"
done
bytes=${PN_TCP_BYTES:-1073741824}

. "$(dirname "$0")/lib/vxlan_pair.sh"
vxlan_pair_setup tc 755
PL=(--link "vxlan:192.168.77.1,vni=42" --addr 10.77.0.2/24 --mac 02:70:6e:77:00:02)
now() { date +%s.%N; }
# Waits (at most 10 s) until namespace $1 has a socket listening on $2 port $3 (-t or -u),
# so that no test depends on a fixed sleep under load.
wait_sock() {
  for _ in $(seq 200); do
    ip netns exec "$1" ss -Hn "$2"l "sport = :$3" | grep -q . && return 0
    sleep 0.05
  done
  fail "nothing listens on $2 port $3 in $1"
}
rate() { awk -v b="$1" -v s="$2" -v e="$3" 'BEGIN { t = e - s; printf "%.2f s, %.0f Mbit/s", t, b * 8 / t / 1e6 }'; }

# ---- handshake capture: only inner segments with SYN set (outer IPv4 20 + UDP 8 + VXLAN 8 +
# inner Ethernet 14 + inner IPv4 20 puts the inner TCP flags at byte 97), so it stays small
# during the bulk transfers. ----
ip netns exec "$nsp" tshark -q -i "$vp" -w "$work/syn.pcapng" \
  -f "udp port 4789 and ether[97] & 0x02 != 0" -a duration:170 >/dev/null 2>"$work/tshark.err" &
cpid=$!
pids+=($cpid)
for _ in $(seq 100); do [ -s "$work/syn.pcapng" ] && break; sleep 0.1; done
[ -s "$work/syn.pcapng" ] || { cat "$work/tshark.err"; fail "tshark did not start"; }
sleep 0.3

# ---- 1. bulk TCP both ways, sha256 equal; receivers hash the stream (no second copy) ----
head -c "$bytes" /dev/urandom >"$work/data"
chmod 644 "$work/data"
sum=$(sha256sum <"$work/data" | cut -d' ' -f1)
mib=$((bytes / 1048576))

# kernel (socat) -> plebnet nc -l
( pleb timeout 120 "$bin" nc -l "${PL[@]}" 5001 </dev/null 2>"$work/p1.err" | sha256sum >"$work/p1.sum"
  echo "${PIPESTATUS[0]}" >"$work/p1.rc" ) &
ppid=$!
pids+=($ppid)
wait_sock "$nsp" -u 4789
t0=$(now)
kns timeout 120 socat -u FILE:"$work/data" TCP4:10.77.0.2:5001 || fail "socat -> plebnet nc -l failed"
wait "$ppid" || true
t1=$(now)
[ "$(cat "$work/p1.rc")" = 0 ] || { cat "$work/p1.err"; fail "plebnet nc -l exited $(cat "$work/p1.rc")"; }
[ "$(cut -d' ' -f1 "$work/p1.sum")" = "$sum" ] || fail "kernel -> plebnet: sha256 differs"
echo "TCP $mib MiB kernel -> plebnet: $(rate "$bytes" "$t0" "$t1"), sha256 equal"

# plebnet nc -> kernel (socat listener)
( kns timeout 120 socat -u TCP4-LISTEN:5002,bind=10.77.0.1 - | sha256sum >"$work/k2.sum"
  echo "${PIPESTATUS[0]}" >"$work/k2.rc" ) &
kpid=$!
pids+=($kpid)
wait_sock "$nsk" -t 5002
t0=$(now)
pleb timeout 120 "$bin" nc -v "${PL[@]}" 10.77.0.1 5002 <"$work/data" 2>"$work/p2.err" ||
  { cat "$work/p2.err"; fail "plebnet nc -> kernel exited non-zero"; }
wait "$kpid" || true
t1=$(now)
[ "$(cat "$work/k2.rc")" = 0 ] || fail "socat TCP listener exited $(cat "$work/k2.rc")"
[ "$(cut -d' ' -f1 "$work/k2.sum")" = "$sum" ] || fail "plebnet -> kernel: sha256 differs"
echo "TCP $mib MiB plebnet -> kernel: $(rate "$bytes" "$t0" "$t1"), sha256 equal"
grep -E "tcp_(rx|tx)_(retrans|sack|dsack)|tcp_fast_retrans|tcp_timeouts|tcp_rto|retrans" "$work/p2.err" || true
rm -f "$work/data"

# ---- 2. curl (kernel) fetches a file served through plebnet nc -l ----
head -c 4194304 /dev/urandom >"$work/page"
psum=$(sha256sum <"$work/page" | cut -d' ' -f1)
{ printf 'HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %s\r\nConnection: close\r\n\r\n' \
    "$(stat -c %s "$work/page")"; cat "$work/page"; } >"$work/response"
chmod 644 "$work/response"
pleb timeout 30 "$bin" nc -l "${PL[@]}" 8080 <"$work/response" >"$work/request" 2>"$work/p3.err" &
ppid=$!
pids+=($ppid)
wait_sock "$nsp" -u 4789
kns timeout 30 curl -sS --fail -o "$work/curl.out" http://10.77.0.2:8080/page ||
  { cat "$work/p3.err"; fail "curl from plebnet nc -l failed"; }
wait "$ppid" || { cat "$work/p3.err"; fail "plebnet nc -l (HTTP) exited non-zero"; }
[ "$(sha256sum <"$work/curl.out" | cut -d' ' -f1)" = "$psum" ] || fail "curl: body differs"
grep -q "^GET /page HTTP/1.1" "$work/request" || { cat "$work/request"; fail "curl's request not seen by plebnet"; }
grep -qi "^User-Agent: curl/" "$work/request" || fail "curl's User-Agent not seen"
echo "curl (kernel) <- plebnet nc -l: 4 MiB body, sha256 equal"

# ---- 3. plebnet nc fetches from python3 -m http.server (kernel) ----
mkdir "$work/www"
cp "$work/page" "$work/www/blob"
kns timeout 60 python3 -m http.server 8000 --bind 10.77.0.1 --directory "$work/www" \
  >"$work/httpd.log" 2>&1 &
pids+=($!)
wait_sock "$nsk" -t 8000
printf 'GET /blob HTTP/1.0\r\nHost: 10.77.0.1:8000\r\nUser-Agent: plebnet-nc\r\n\r\n' |
  pleb timeout 30 "$bin" nc "${PL[@]}" 10.77.0.1 8000 >"$work/http.out" 2>"$work/p4.err" ||
  { cat "$work/p4.err"; fail "plebnet nc to python http.server exited non-zero"; }
head -c 200 "$work/http.out" | head -1 | grep -q "^HTTP/1.0 200 OK" ||
  { head -c 300 "$work/http.out"; fail "no 200 from http.server"; }
# The body starts after the first empty line (CRLF CRLF).
hlen=$(grep -abo $'\r$' "$work/http.out" | awk -F: 'NR > 1 && $1 == prev + 2 { print $1 + 2; exit } { prev = $1 }')
[ -n "$hlen" ] || fail "no end of headers in the response"
[ "$(tail -c +"$((hlen + 1))" "$work/http.out" | sha256sum | cut -d' ' -f1)" = "$psum" ] ||
  fail "plebnet nc <- http.server: body differs"
grep -q '"GET /blob HTTP/1.0" 200' "$work/httpd.log" || { cat "$work/httpd.log"; fail "http.server log"; }
echo "plebnet nc <- python3 http.server (kernel): 4 MiB body, sha256 equal"

# ---- 4. the handshakes: options in the SYN and SYN-ACK of both connections ----
sleep 0.5
kill -INT "$cpid" 2>/dev/null || true
wait "$cpid" 2>/dev/null || true
# Inner (last) IP/TCP header fields of every SYN and SYN-ACK.
tshark -r "$work/syn.pcapng" -Y 'tcp.flags.syn == 1' -T fields -E occurrence=l \
  -e ip.src -e ip.dst -e tcp.srcport -e tcp.dstport -e tcp.flags.ack -e tcp.options.mss_val \
  -e tcp.options.wscale.shift -e tcp.options.sack_perm -e tcp.options.timestamp.tsval \
  -e tcp.options.timestamp.tsecr 2>/dev/null >"$work/syns.txt"
echo "SYN / SYN-ACK (src, dst, sport, dport, ack, mss, wscale, sack_perm, tsval, tsecr):"
cat "$work/syns.txt"
check_syn() { # SRC ACK AWK-CONDITION DESCRIPTION
  awk -F'\t' -v s="$1" -v a="$2" "\$1 == s && \$5 == a && $3 && \$7 != \"\" && \$8 != \"\" && \$9 != \"\" { ok = 1 } END { exit !ok }" \
    "$work/syns.txt" || fail "$4 lacks window scaling, SACK-permitted or timestamps"
}
check_syn 10.77.0.1 0 '$4 == 5001' "the kernel's SYN (kernel -> plebnet)"
check_syn 10.77.0.2 1 '$3 == 5001' "plebnet's SYN-ACK (kernel -> plebnet)"
check_syn 10.77.0.2 0 '$4 == 5002' "plebnet's SYN (plebnet -> kernel)"
check_syn 10.77.0.1 1 '$3 == 5002' "the kernel's SYN-ACK (plebnet -> kernel)"
# A SYN-ACK's TSecr echoes its SYN's TSval: the peer accepted timestamps (RFC 7323 §3.2).
awk -F'\t' '$5 == 0 { ts[$1 " " $3] = $9 } $5 == 1 && ts[$2 " " $4] != "" && $10 == ts[$2 " " $4] { n++ }
  END { exit !(n >= 4) }' "$work/syns.txt" || fail "a SYN-ACK's TSecr does not echo its SYN's TSval"
echo "handshakes: window scaling, SACK-permitted and timestamps negotiated in both directions"
echo "vxlan_tcp integration: all checks passed"
