#!/usr/bin/env bash
# tests/integration/preload_core.sh — the preload shim's core (preload/sockcalls.c,
# fdcalls.c, mirror.c, fdtable.c, core.c) against Linux's own behaviour:
# tests/preload/probe_core runs twice against the same peer (a python server at 10.77.0.1 in
# the kernel namespace of a vxlan pair, see lib/vxlan_pair.sh): first on the kernel's
# sockets inside that namespace, then under libplebnet-preload.so, unprivileged, in the
# plebnet namespace. Passes when neither run prints a FAIL line and their "val" lines
# (values that must be Linux's) are identical. Also checks that programs that never open an
# AF_INET socket run unaffected without any PLEBNET_* variable, and that socket(AF_INET)
# then fails with one clear line.
# Needs root (namespaces): iproute2, python3, ethtool, util-linux (setpriv), timeout, ss.
# Usage: preload_core.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
shim="$build/libplebnet-preload.so"
probe="$build/tests/preload/probe_core"
fail() { echo "FAIL: $*"; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root to create network namespaces"
for t in ip python3 setpriv timeout ethtool ss; do
  command -v $t >/dev/null || fail "missing tool: $t"
done
[ -f "$shim" ] || fail "no $shim (build the preload target)"
[ -x "$probe" ] || fail "no $probe"

# 0. Without configuration: no effect on programs without AF_INET sockets.
out=$(env -u PLEBNET_LINK LD_PRELOAD="$shim" ls / 2>&1) || fail "ls under the shim failed"
echo "$out" | grep -q plebnet-preload && fail "ls under the shim logged: $out"
out=$(env -u PLEBNET_LINK LD_PRELOAD="$shim" python3 -c 'print(1)' 2>&1)
[ "$out" = 1 ] || fail "python3 under the shim printed: $out"
err=$(env -u PLEBNET_LINK LD_PRELOAD="$shim" python3 -c '
import socket
try:
    socket.socket()
    print("created")
except OSError as e:
    print("errno", e.errno)' 2>&1 >/dev/null)
res=$(env -u PLEBNET_LINK LD_PRELOAD="$shim" python3 -c '
import socket
try:
    socket.socket()
    print("created")
except OSError as e:
    print("errno", e.errno)' 2>/dev/null)
[ "$res" = "errno 100" ] || fail "socket(AF_INET) without PLEBNET_LINK: want ENETDOWN, got '$res'"
[ "$(echo "$err" | grep -c 'PLEBNET_LINK is not set')" = 1 ] ||
  fail "want one line naming PLEBNET_LINK, got: $err"
echo "ok unconfigured: ls/python unaffected, socket() -> ENETDOWN with one line"

. "$(dirname "$0")/lib/vxlan_pair.sh"
vxlan_pair_setup co 755

# The peer: one command line per TCP connection on 7100 (see probe_core.c), a UDP echo on
# 7103; nothing listens on 7109 (connection refused).
cat >"$work/peer.py" <<'EOF'
import socket, struct, sys, threading, time

def handle(c, addr):
    try:
        line = b""
        while not line.endswith(b"\n"):
            b = c.recv(1)
            if not b:
                return
            line += b
        cmd = line.decode().split()
        if cmd[0] == "ECHO":
            while True:
                d = c.recv(65536)
                if not d:
                    break
                c.sendall(d)
            c.shutdown(socket.SHUT_WR)
        elif cmd[0] == "HOLD":
            c.settimeout(30)
            c.recv(1)
        elif cmd[0] == "RESET":
            time.sleep(0.1)
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif cmd[0] == "CONNECT":
            # connect back to the prober: once after a pause (so its accept blocks first),
            # then once more on "AGAIN"
            time.sleep(0.3)
            b = socket.create_connection((addr[0], int(cmd[1])), timeout=10)
            time.sleep(0.3)
            b.sendall(b"hello")
            c.settimeout(30)
            more = c.recv(6)
            if more.startswith(b"AGAIN"):
                b2 = socket.create_connection((addr[0], int(cmd[1])), timeout=10)
                time.sleep(0.5)
                b2.close()
            time.sleep(0.5)
            b.close()
    except OSError:
        pass
    finally:
        c.close()

def udp_echo(u):
    while True:
        d, a = u.recvfrom(65536)
        u.sendto(d, a)

ip = sys.argv[1]
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind((ip, 7103))
threading.Thread(target=udp_echo, args=(u,), daemon=True).start()
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((ip, 7100))
l.listen(64)
while True:
    c, a = l.accept()
    threading.Thread(target=handle, args=(c, a), daemon=True).start()
EOF
kns timeout 300 python3 "$work/peer.py" 10.77.0.1 >"$work/peer.log" 2>&1 &
pids+=($!)
for _ in $(seq 200); do
  kns ss -Hntl "sport = :7100" | grep -q . && break
  sleep 0.05
done
kns ss -Hntl "sport = :7100" | grep -q . || { cat "$work/peer.log"; fail "peer did not start"; }

# 1. kernel sockets, as nobody too (the kernel namespace reaches the peer over loopback
# at 10.77.0.1, and the peer connects back to 10.77.0.1).
kns setpriv --reuid=nobody --regid=nogroup --clear-groups \
  timeout 120 "$probe" 10.77.0.1 kernel >"$work/kernel.out" 2>"$work/kernel.err" ||
  { cat "$work/kernel.out" "$work/kernel.err"; fail "probe_core on kernel sockets exited non-zero"; }

# 2. the same probe through the shim.
pleb env LD_PRELOAD="$shim" PLEBNET_LINK="vxlan:192.168.77.1,vni=42" PLEBNET_ADDR=10.77.0.2/24 \
  timeout 120 "$probe" 10.77.0.1 shim >"$work/shim.out" 2>"$work/shim.err" ||
  { cat "$work/shim.out" "$work/shim.err"; fail "probe_core under the shim exited non-zero"; }

rc=0
for run in kernel shim; do
  grep -q '^done$' "$work/$run.out" || { echo "$run run did not finish"; rc=1; }
  if grep '^FAIL' "$work/$run.out" | sed "s/^/$run: /"; then rc=1; fi
done
grep '^val ' "$work/kernel.out" | sort >"$work/kernel.val"
grep '^val ' "$work/shim.out" | sort >"$work/shim.val"
if ! diff -u "$work/kernel.val" "$work/shim.val" >"$work/val.diff"; then
  echo "values that differ from Linux's (- kernel, + shim):"
  grep '^[-+]val' "$work/val.diff" || true
  rc=1
fi
# The fork checks must have logged their one line each.
grep -q 'inherited across fork' "$work/shim.err" || { echo "no log line for the fork child"; rc=1; }
nok=$(grep -c '^ok ' "$work/shim.out" || true)
nval=$(wc -l <"$work/shim.val")
echo "shim: $nok checks ok, $nval values equal to Linux's"
grep '^info ' "$work/kernel.out" | sed 's/^/kernel /'
grep '^info ' "$work/shim.out" | sed 's/^/shim   /'
if [ -s "$work/shim.err" ]; then
  echo "shim stderr:"
  sed 's/^/  /' "$work/shim.err"
fi
[ "$rc" = 0 ] || fail "the shim's core differs from Linux's"
echo "PASS preload_core"
