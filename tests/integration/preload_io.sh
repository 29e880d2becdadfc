#!/usr/bin/env bash
# tests/integration/preload_io.sh — the preload shim's data path and socket options
# (preload/io.c, preload/sockopt.c) against Linux's own behaviour: tests/preload/probe_io runs
# twice against the same peer (a python server at 10.77.0.1 in the kernel namespace of a
# vxlan pair, see lib/vxlan_pair.sh): first on the kernel's sockets inside that namespace,
# then under libplebnet-preload.so, unprivileged, in the plebnet namespace. Passes when
# neither run prints a FAIL line and their "val" lines (values that must be Linux's) are
# identical; "info" lines are printed for the record.
# Needs root (namespaces): iproute2, python3, ethtool, util-linux (setpriv), timeout.
# Usage: preload_io.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
shim="$build/libplebnet-preload.so"
probe="$build/tests/preload/probe_io"
fail() { echo "FAIL: $*"; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root to create network namespaces"
for t in ip python3 setpriv timeout ethtool ss; do
  command -v $t >/dev/null || fail "missing tool: $t"
done
[ -f "$shim" ] || fail "no $shim (build the preload target)"
[ -x "$probe" ] || fail "no $probe"

. "$(dirname "$0")/lib/vxlan_pair.sh"
vxlan_pair_setup io 755

# The peer: one command line per TCP connection on 7000 (ECHO, HOLD, DRIP, RESET; see
# probe_io.c), a UDP echo on 7003; nothing listens on UDP 7009 (ICMP port unreachable).
cat >"$work/peer.py" <<'EOF'
import socket, struct, sys, threading, time

def handle(c):
    try:
        line = b""
        while not line.endswith(b"\n"):
            b = c.recv(1)
            if not b:
                return
            line += b
        cmd = line.decode().strip()
        if cmd == "ECHO":
            while True:
                d = c.recv(65536)
                if not d:
                    break
                c.sendall(d)
            c.shutdown(socket.SHUT_WR)
        elif cmd == "HOLD":
            time.sleep(30)
        elif cmd == "DRIP":
            c.sendall(b"hello"); time.sleep(0.3)
            c.sendall(b"world"); time.sleep(0.3)
            c.sendall(b"!")
        elif cmd == "RESET":
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
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
u.bind((ip, 7003))
threading.Thread(target=udp_echo, args=(u,), daemon=True).start()
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((ip, 7000))
l.listen(64)
while True:
    c, _ = l.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
EOF
kns timeout 300 python3 "$work/peer.py" 10.77.0.1 >"$work/peer.log" 2>&1 &
pids+=($!)
for _ in $(seq 200); do
  kns ss -Hntl "sport = :7000" | grep -q . && break
  sleep 0.05
done
kns ss -Hntl "sport = :7000" | grep -q . || { cat "$work/peer.log"; fail "peer did not start"; }

# 1. kernel sockets (as nobody too, so that permission-dependent answers compare).
kns setpriv --reuid=nobody --regid=nogroup --clear-groups \
  timeout 120 "$probe" 10.77.0.1 >"$work/kernel.out" 2>"$work/kernel.err" ||
  { cat "$work/kernel.out" "$work/kernel.err"; fail "probe_io on kernel sockets exited non-zero"; }

# 2. the same probe through the shim.
pleb env LD_PRELOAD="$shim" PLEBNET_LINK="vxlan:192.168.77.1,vni=42" PLEBNET_ADDR=10.77.0.2/24 \
  timeout 120 "$probe" 10.77.0.1 >"$work/shim.out" 2>"$work/shim.err" ||
  { cat "$work/shim.out" "$work/shim.err"; fail "probe_io under the shim exited non-zero"; }

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
nok=$(grep -c '^ok ' "$work/shim.out" || true)
nval=$(wc -l <"$work/shim.val")
echo "shim: $nok checks ok, $nval values equal to Linux's"
grep '^info ' "$work/kernel.out" | sed 's/^/kernel /'
grep '^info ' "$work/shim.out" | sed 's/^/shim   /'
if [ -s "$work/shim.err" ]; then
  echo "shim stderr:"
  sed 's/^/  /' "$work/shim.err"
fi
[ "$rc" = 0 ] || fail "the shim's data path or options differ from Linux's"
echo "PASS preload_io"
