#!/usr/bin/env bash
# tests/integration/preload_programs.sh — unmodified programs on plebnet through
# `plebnet run` (libplebnet-preload.so), against the Linux kernel as the real peer over a
# kernel vxlan device (issue 7, item 6; docs/PRELOAD.md). The plebnet side runs
# UNPRIVILEGED (nobody) in its own namespace; see lib/preload_prog.sh for the topology and
# for PN_PRELOAD_NO_SHIM=1, which runs the same checks with kernel sockets on both sides
# (the harness's own check). Checks:
#   0. `plebnet run` itself: usage errors (exit 2, one line), a missing shim, a missing
#      command (127), LD_PRELOAD kept behind the shim, -v, the warning for a static program;
#   1. curl under the shim fetches 100 MB (PN_PROG_BIG_BYTES) from a kernel http server,
#      sha256 equal;
#   2. nc.openbsd under the shim as client and as listener, data both ways (sha256);
#   3. socat under the shim: TCP client and listener, UDP client and server (echo);
#   4. python3 -m http.server under the shim serving kernel-side curl, and python urllib
#      under the shim fetching from the kernel side (sha256);
#   5. a program asking for an unsupported socket option gets one
#      "plebnet-preload: unsupported: ..." line and a clear error, and does not hang.
# nginx+wrk and iperf3 are in preload_prog_load.sh. Needs root (namespaces): iproute2,
# curl, netcat-openbsd, socat, python3, ethtool, util-linux (setpriv).
# Usage: preload_programs.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
. "$(dirname "$0")/lib/preload_prog.sh"
for t in curl nc.openbsd socat; do command -v $t >/dev/null || fail "missing tool: $t"; done
preload_prog_setup pr
lib=$(cd "$(dirname "$0")/lib" && pwd)
big=${PN_PROG_BIG_BYTES:-104857600}

# ---- 0. plebnet run: its own errors and the environment it hands over ----
rc=0; "$bin" run --addr 10.9.0.2/24 -- true 2>"$work/e0" || rc=$?
[ "$rc" = 2 ] && [ "$(wc -l <"$work/e0")" = 1 ] && grep -q "no link" "$work/e0" ||
  { cat "$work/e0"; fail "run without a link: exit $rc, want 2 and one line"; }
rc=0; "$bin" run --link vxlan:192.0.2.1 --addr 10.9.0.2/24 --frob -- true 2>"$work/e0" || rc=$?
[ "$rc" = 2 ] && grep -q "unknown option '--frob'" "$work/e0" || fail "unknown option: exit $rc"
rc=0; PLEBNET_ADDR=10.9.0.300 "$bin" run --link vxlan:192.0.2.1 true 2>"$work/e0" || rc=$?
[ "$rc" = 2 ] && grep -q "PLEBNET_ADDR" "$work/e0" || fail "bad PLEBNET_ADDR: exit $rc"
rc=0; "$bin" run --link vxlan:192.0.2.1 --addr 10.9.0.2 2>"$work/e0" || rc=$?
[ "$rc" = 2 ] && grep -q "no command" "$work/e0" || fail "no command: exit $rc"
rc=0; PLEBNET_PRELOAD=/nonexistent/lib.so "$bin" run --link vxlan:192.0.2.1 --addr 10.9.0.2 true \
  2>"$work/e0" || rc=$?
[ "$rc" = 1 ] && [ "$(wc -l <"$work/e0")" = 1 ] && grep -q PLEBNET_PRELOAD "$work/e0" ||
  { cat "$work/e0"; fail "missing shim: exit $rc, want 1 and one line"; }
# Any loadable library stands in for the shim here: only the environment is looked at.
stand_in="$build/libplebnet.so"
[ -r "$stand_in" ] || stand_in=$(ls /lib/x86_64-linux-gnu/libz.so.1 /usr/lib/*/libz.so.1 2>/dev/null | head -1)
rc=0; PLEBNET_PRELOAD=$stand_in "$bin" run --link vxlan:192.0.2.1 --addr 10.9.0.2 \
  pn-no-such-command-$$ 2>"$work/e0" || rc=$?
[ "$rc" = 127 ] && grep -q "command not found" "$work/e0" || fail "missing command: exit $rc, want 127"
PLEBNET_PRELOAD=$stand_in LD_PRELOAD=/nonexistent-keep.so PLEBNET_GW=10.9.0.1 \
  "$bin" run -v --link vxlan:192.0.2.1,vni=7 --addr 10.9.0.2/16 -- env 2>"$work/e0" >"$work/env" || true
grep -qx "LD_PRELOAD=$(realpath "$stand_in"):/nonexistent-keep.so" "$work/env" ||
  { grep LD_PRELOAD "$work/env"; fail "LD_PRELOAD: want the shim, then what was there"; }
grep -qx "PLEBNET_LINK=vxlan:192.0.2.1,vni=7" "$work/env" && grep -qx "PLEBNET_ADDR=10.9.0.2/16" "$work/env" &&
  grep -qx "PLEBNET_GW=10.9.0.1" "$work/env" || { grep PLEBNET "$work/env"; fail "PLEBNET_* not handed to the command"; }
grep -q "^plebnet: run: LD_PRELOAD=.* exec env$" "$work/e0" || { cat "$work/e0"; fail "-v line"; }
# A statically linked program never sees LD_PRELOAD: run says so (and still runs it).
if printf 'int main(void) { return 3; }\n' | cc -static -x c -o "$work/static" - 2>/dev/null; then
  rc=0; PLEBNET_PRELOAD=$stand_in "$bin" run --link vxlan:192.0.2.1 --addr 10.9.0.2 "$work/static" \
    2>"$work/e0" || rc=$?
  [ "$rc" = 3 ] && grep -q "statically linked" "$work/e0" || { cat "$work/e0"; fail "static program: exit $rc, want 3 and a warning"; }
fi
echo "plebnet run: usage errors (2), missing shim (1), missing command (127), environment: ok"

# ---- 1. curl under the shim fetches a big file from a kernel http server ----
mkdir -m 755 "$work/kwww"
head -c "$big" /dev/urandom >"$work/kwww/big"
head -c 4194304 /dev/urandom >"$work/kwww/blob"
chmod 644 "$work/kwww/"*
bigsum=$(sum "$work/kwww/big")
blobsum=$(sum "$work/kwww/blob")
kx timeout 240 "$PY" -m http.server 8000 --bind "$KA" --directory "$work/kwww" \
  >"$work/khttp.log" 2>&1 &
pids+=($!)
wait_sock "$nsk" -t 8000
set +e
prun -t 120 curl -sS --fail --max-time 110 "http://$KA:8000/big" 2>"$work/curl.err" |
  sha256sum >"$work/curl.sum"
rc=${PIPESTATUS[0]}
set -e
[ "$rc" = 0 ] || { cat "$work/curl.err"; fail "curl (shim) <- kernel http.server: exit $rc"; }
[ "$(cut -d' ' -f1 "$work/curl.sum")" = "$bigsum" ] || fail "curl (shim): body of $big bytes differs"
echo "curl (shim) <- python3 http.server (kernel): $big bytes, sha256 equal"

# ---- 2. nc.openbsd under the shim: client, then listener; data both ways ----
head -c 8388608 /dev/urandom >"$work/ncA"
head -c 6291456 /dev/urandom >"$work/ncB"
chmod 644 "$work/ncA" "$work/ncB"
asum=$(sum "$work/ncA") bsum=$(sum "$work/ncB")
# client: sends A and half-closes (-N); the kernel peer hashes A, then answers with B.
kx timeout 60 "$PY" "$lib/preload_peer.py" listen "$KA" 5001 "$work/ncB" >"$work/peer1.out" &
kp=$!
pids+=($kp)
wait_sock "$nsk" -t 5001
prun -t 60 nc.openbsd -n -N "$KA" 5001 <"$work/ncA" >"$work/nc1.out" 2>"$work/nc1.err" ||
  { cat "$work/nc1.err"; fail "nc.openbsd client (shim) exited non-zero"; }
wait "$kp" || fail "kernel peer of the nc client failed"
[ "$(tail -1 "$work/peer1.out")" = "8388608 $asum" ] || { cat "$work/peer1.out"; fail "nc client -> kernel: data differs"; }
[ "$(sum "$work/nc1.out")" = "$bsum" ] || fail "kernel -> nc client: data differs"
echo "nc.openbsd client (shim) <-> kernel: 8 MiB out, 6 MiB back, sha256 equal"
# listener: sends B and half-closes; the kernel peer connects, hashes B, then sends A.
prun -t 60 nc.openbsd -n -v -l -N "$PA" 5002 <"$work/ncB" >"$work/nc2.out" 2>"$work/nc2.err" &
np=$!
pids+=($np)
wait_file "$work/nc2.err" "^Listening on" "nc.openbsd -l (shim)"
kx timeout 60 "$PY" "$lib/preload_peer.py" connect "$PA" 5002 "$work/ncA" >"$work/peer2.out" ||
  { cat "$work/nc2.err"; fail "kernel peer could not talk to nc.openbsd -l (shim)"; }
wait "$np" || { cat "$work/nc2.err"; fail "nc.openbsd -l (shim) exited non-zero"; }
[ "$(tail -1 "$work/peer2.out")" = "6291456 $bsum" ] || { cat "$work/peer2.out"; fail "nc listener -> kernel: data differs"; }
[ "$(sum "$work/nc2.out")" = "$asum" ] || fail "kernel -> nc listener: data differs"
echo "nc.openbsd -l (shim) <-> kernel: 6 MiB out, 8 MiB back, sha256 equal"

# ---- 3. socat under the shim: TCP both directions, UDP both directions ----
# socat writes everything, closes and exits at once: the data and FIN must still arrive
# (as they do from a kernel socket), so the kernel listener gets the whole file and EOF.
kx timeout 30 socat -u TCP4-LISTEN:5003,bind="$KA" CREATE:"$work/s1.out" 2>"$work/s1k.err" &
kp=$!
pids+=($kp)
wait_sock "$nsk" -t 5003
prun -t 60 socat -u FILE:"$work/ncA" TCP4:"$KA":5003 2>"$work/s1.err" ||
  { cat "$work/s1.err"; fail "socat TCP client (shim) failed"; }
rc=0; wait "$kp" || rc=$?
[ "$rc" = 0 ] && [ "$(sum "$work/s1.out")" = "$asum" ] || { cat "$work/s1k.err"; shim_lines "$work/s1.err"
  fail "socat TCP client (shim) -> kernel: the kernel got $(stat -c %s "$work/s1.out") of 8388608 bytes, listener exit $rc (124: no FIN within 30 s)"; }
( prun -t 60 socat -d -d -u TCP4-LISTEN:5004,bind="$PA" - 2>"$work/s2.err" | sha256sum >"$work/s2.sum" ) &
sp=$!
pids+=($sp)
wait_file "$work/s2.err" "listening on" "socat TCP4-LISTEN (shim)"
kx timeout 60 socat -u FILE:"$work/ncB" TCP4:"$PA":5004 || { cat "$work/s2.err"; fail "kernel socat -> socat listener (shim)"; }
wait "$sp" || true
[ "$(cut -d' ' -f1 "$work/s2.sum")" = "$bsum" ] || { shim_lines "$work/s2.err"; fail "kernel -> socat TCP listener (shim): data differs"; }
echo "socat TCP (shim) client and listener <-> kernel: 8 MiB and 6 MiB, sha256 equal"
printf 'udp line %s\n' 1 2 3 4 5 >"$work/udp.in"
# UDP client under the shim, kernel echo server (UDP4-LISTEN answers its first peer).
kx timeout 20 socat -T 5 UDP4-LISTEN:5005,bind="$KA" EXEC:cat >/dev/null 2>&1 &
pids+=($!)
wait_sock "$nsk" -u 5005
prun -t 20 socat -t 3 - UDP4:"$KA":5005 <"$work/udp.in" >"$work/u1.out" 2>"$work/u1.err" ||
  { cat "$work/u1.err"; fail "socat UDP client (shim) failed"; }
cmp -s "$work/udp.in" "$work/u1.out" || { cat "$work/u1.out"; fail "socat UDP client (shim): echo differs"; }
# UDP server under the shim (echo), kernel client.
prun -t 20 socat -d -d -T 5 UDP4-LISTEN:5006,bind="$PA" EXEC:cat 2>"$work/u2.err" &
up=$!
pids+=($up)
wait_file "$work/u2.err" "listening on" "socat UDP4-LISTEN (shim)"
kx timeout 20 socat -t 3 - UDP4:"$PA":5006 <"$work/udp.in" >"$work/u2.out" ||
  fail "kernel socat UDP client failed"
cmp -s "$work/udp.in" "$work/u2.out" || { cat "$work/u2.out"; shim_lines "$work/u2.err"; fail "socat UDP server (shim): echo differs"; }
stop "$up"
echo "socat UDP (shim) client and server <-> kernel: 5 datagrams echoed each way"

# ---- 4. python under the shim: http.server serving kernel curl; urllib fetching ----
mkdir -m 755 "$work/pwww"
cp "$work/kwww/blob" "$work/pwww/blob"
chmod 644 "$work/pwww/blob"
prun -t 60 "$PY" -u -m http.server 8001 --bind "$PA" --directory "$work/pwww" \
  >"$work/phttp.log" 2>&1 &
hp=$!
pids+=($hp)
wait_file "$work/phttp.log" "^Serving HTTP" "python3 -m http.server (shim)"
for i in 1 2 3; do
  kx timeout 30 curl -sS --fail -o "$work/pcurl.$i" "http://$PA:8001/blob" ||
    { cat "$work/phttp.log"; fail "kernel curl <- python http.server (shim), request $i"; }
  [ "$(sum "$work/pcurl.$i")" = "$blobsum" ] || fail "kernel curl <- python http.server (shim): body $i differs"
done
[ "$(grep -c '"GET /blob HTTP/1.1" 200' "$work/phttp.log")" = 3 ] || { cat "$work/phttp.log"; fail "http.server (shim) log"; }
stop "$hp"
echo "python3 -m http.server (shim) -> kernel curl: 3 x 4 MiB, sha256 equal"
prun -t 60 "$PY" -c '
import hashlib, sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=30) as r:
    print(r.status, hashlib.sha256(r.read()).hexdigest())
' "http://$KA:8000/blob" >"$work/urllib.out" 2>"$work/urllib.err" ||
  { cat "$work/urllib.err"; fail "python urllib (shim) failed"; }
[ "$(cat "$work/urllib.out")" = "200 $blobsum" ] || { cat "$work/urllib.out"; fail "python urllib (shim): body differs"; }
echo "python urllib (shim) <- kernel http.server: 4 MiB, sha256 equal"

# ---- 5. an unsupported socket option: one diagnostic line, a clear errno, no hang ----
if [ "$SHIM" = 1 ]; then
  # TCP_MD5SIG (RFC 2385 signatures) twice: the shim logs it once and fails with
  # ENOPROTOOPT; the program goes on (connects and exits) instead of hanging.
  rc=0
  prun -t 20 "$PY" -c '
import errno, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
for _ in range(2):
    try:
        s.setsockopt(socket.IPPROTO_TCP, 14, bytes(216))  # TCP_MD5SIG
        print("accepted")
    except OSError as e:
        print(errno.errorcode.get(e.errno, e.errno))
s.connect((sys.argv[1], 8000))
s.close()
print("done")
' "$KA" >"$work/unsup.out" 2>"$work/unsup.err" || rc=$?
  [ "$rc" = 0 ] || { cat "$work/unsup.err"; fail "python with an unsupported option: exit $rc (124 = hung)"; }
  n=$(grep -c "^plebnet-preload: unsupported: .*TCP_MD5SIG" "$work/unsup.err" || true)
  [ "$n" = 1 ] || { cat "$work/unsup.err"; fail "want exactly one 'plebnet-preload: unsupported: ...TCP_MD5SIG' line, got $n"; }
  [ "$(tr '\n' ' ' <"$work/unsup.out")" = "ENOPROTOOPT ENOPROTOOPT done " ] ||
    { cat "$work/unsup.out"; fail "unsupported option: want ENOPROTOOPT twice, then the connect"; }
  echo "unsupported option: $(grep "^plebnet-preload: unsupported" "$work/unsup.err"), ENOPROTOOPT, no hang"
fi
echo "preload_programs integration: all checks passed"
