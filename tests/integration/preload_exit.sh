#!/usr/bin/env bash
# tests/integration/preload_exit.sh — a program under the shim that exits with data still
# queued in the plebnet stack must deliver it, as a kernel socket does (preload/exitdrain.c,
# docs/PRELOAD.md "Limitations"). The kernel side (lib/preload_prog.sh topology) runs a sink
# that writes each connection's bytes to a file and reports how the connection ended. Checks:
#   1. `socat -u FILE:8MiB TCP4:...` (write, close, exit at once), PN_EXIT_RUNS times (20):
#      every time byte-exact (sha256) and the sink sees EOF;
#   2. python3 sends 4 MiB with sendall and exits without closing its socket, while another
#      thread is blocked in recv() on a second plebnet connection: both reach EOF, the first
#      byte-exact;
#   3. SO_LINGER {1, 0}: close() and exit without close both give the kernel peer a RST
#      (ECONNRESET);
#   4. a forked child exits (exit(), so the shim's exit handler runs) while the parent's
#      connection is open: the child does not wait for it or close it; the parent sends more
#      afterwards and everything arrives byte-exact;
#   5. a bad PLEBNET_EXIT_LINGER gives one line and the default.
# Nothing asserts on time; every wait is bounded (timeouts only turn a hang into a failure).
# Needs root (namespaces): iproute2, socat, python3, ethtool, util-linux (setpriv).
# Usage: preload_exit.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
. "$(dirname "$0")/lib/preload_prog.sh"
command -v socat >/dev/null || fail "missing tool: socat"
preload_prog_setup ex
runs=${PN_EXIT_RUNS:-20}
port=9100

head -c 8388608 /dev/urandom >"$work/big"
head -c 4194304 /dev/urandom >"$work/mid"
head -c 1048576 /dev/urandom >"$work/part1"
head -c 1048576 /dev/urandom >"$work/part2"
cat "$work/part1" "$work/part2" >"$work/parts"
chmod 644 "$work/big" "$work/mid" "$work/part1" "$work/part2"

# The sink: one connection at a time, in accept order; connection N's bytes go to
# $work/conn.N and one line "N eof|reset|error:NAME|timeout BYTES" to $work/sink.log.
cat >"$work/sink.py" <<'EOF'
import socket, sys
ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((sys.argv[1], int(sys.argv[2])))
ls.listen(16)
n = 0
while True:
    c, _ = ls.accept()
    c.settimeout(60)
    n += 1
    got, how = 0, "eof"
    with open("%s/conn.%d" % (sys.argv[3], n), "wb") as f:
        while True:
            try:
                b = c.recv(1 << 16)
            except ConnectionResetError:
                how = "reset"; break
            except socket.timeout:
                how = "timeout"; break
            except OSError as e:
                how = "error:" + type(e).__name__; break
            if not b:
                break
            f.write(b)
            got += len(b)
    c.close()
    with open(sys.argv[3] + "/sink.log", "a") as log:
        log.write("%d %s %d\n" % (n, how, got))
EOF
: >"$work/sink.log"
kx timeout 900 "$PY" "$work/sink.py" "$KA" "$port" "$work" >"$work/sink.err" 2>&1 &
pids+=($!)
wait_sock "$nsk" -t "$port"
conn=0

# expect WHAT HOW [FILE]: the next connection ended as HOW (eof, reset) and, with FILE, holds
# exactly FILE's bytes. Waits at most 90 s for the sink's line.
expect() {
  local what=$1 how=$2 file=${3:-} line
  conn=$((conn + 1))
  for _ in $(seq 900); do
    line=$(grep -E "^$conn " "$work/sink.log" || true)
    [ -n "$line" ] && break
    sleep 0.1
  done
  [ -n "$line" ] || { cat "$work/sink.err"; fail "$what: the sink saw no end of connection $conn"; }
  set -- $line
  [ "$2" = "$how" ] || fail "$what: connection $conn ended '$2' after $3 bytes, want '$how'"
  if [ -n "$file" ]; then
    [ "$3" = "$(stat -c %s "$file")" ] && [ "$(sum "$work/conn.$conn")" = "$(sum "$file")" ] ||
      fail "$what: connection $conn got $3 bytes, not byte-exact $(stat -c %s "$file")"
  fi
}

# ---- 1. socat: write 8 MiB, close, exit at once ----
for i in $(seq "$runs"); do
  rc=0
  prun -t 120 socat -u "FILE:$work/big" "TCP4:$KA:$port" 2>"$work/socat.err" || rc=$?
  [ "$rc" = 0 ] || { cat "$work/socat.err"; fail "socat run $i: exit $rc"; }
  expect "socat run $i" eof "$work/big"
done
echo "socat -u FILE:8MiB TCP4 (close, exit): $runs/$runs byte-exact with EOF: ok"

# ---- 2. python: sendall 4 MiB, exit without closing, another thread blocked in recv ----
cat >"$work/noclose.py" <<'EOF'
import socket, sys, threading, time
a = socket.create_connection((sys.argv[1], int(sys.argv[2])))
b = socket.create_connection((sys.argv[1], int(sys.argv[2])))
threading.Thread(target=b.recv, args=(1,), daemon=True).start()
time.sleep(0.2)  # let the thread block in recv
a.sendall(open(sys.argv[3], "rb").read())
keep = (a.detach(), b.detach())  # the fds stay open: the process exit closes them
EOF
rc=0
prun -t 120 "$PY" "$work/noclose.py" "$KA" "$port" "$work/mid" 2>"$work/py.err" || rc=$?
[ "$rc" = 0 ] || { cat "$work/py.err"; fail "python sendall without close: exit $rc"; }
expect "python sendall 4 MiB, no close" eof "$work/mid"
expect "python, thread blocked in recv" eof
echo "python sendall 4 MiB and exit without close (a thread blocked in recv): byte-exact, EOF: ok"

# ---- 3. SO_LINGER {1, 0}: RST on close and at exit ----
cat >"$work/linger.py" <<'EOF'
import socket, struct, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
s.sendall(b"x" * 65536)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
if sys.argv[3] == "close":
    s.close()
else:
    keep = s.detach()
EOF
for mode in close exit; do
  rc=0
  prun -t 60 "$PY" "$work/linger.py" "$KA" "$port" "$mode" 2>"$work/py.err" || rc=$?
  [ "$rc" = 0 ] || { cat "$work/py.err"; fail "SO_LINGER 0 ($mode): exit $rc"; }
  expect "SO_LINGER {1,0} then $mode" reset
done
echo "SO_LINGER {1,0}: close and exit both reset the kernel peer (ECONNRESET): ok"

# ---- 4. fork: the child's exit neither waits for nor closes the parent's connection ----
cat >"$work/fork.py" <<'EOF'
import os, socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
s.sendall(open(sys.argv[3], "rb").read())
pid = os.fork()
if pid == 0:
    sys.exit(0)  # exit(): the shim's exit handler runs in the child
_, st = os.waitpid(pid, 0)
s.sendall(open(sys.argv[4], "rb").read())
s.close()
sys.exit(os.waitstatus_to_exitcode(st))
EOF
rc=0
# A limit far beyond the timeout: a child waiting for the parent's connection would hang.
PLEBNET_EXIT_LINGER=3600 prun -t 60 "$PY" "$work/fork.py" "$KA" "$port" "$work/part1" \
  "$work/part2" 2>"$work/py.err" || rc=$?
[ "$rc" = 0 ] || { cat "$work/py.err"; fail "fork: exit $rc (124: the child's exit hung)"; }
expect "fork, child exits, parent sends on" eof "$work/parts"
echo "fork: the child's exit leaves the parent's connection alone: ok"

# ---- 5. a bad PLEBNET_EXIT_LINGER: one line, the default ----
rc=0
PLEBNET_EXIT_LINGER=soon prun -t 60 "$PY" "$work/noclose.py" "$KA" "$port" "$work/part1" \
  2>"$work/py.err" || rc=$?
[ "$rc" = 0 ] && [ "$(grep -c "plebnet-preload: PLEBNET_EXIT_LINGER=soon" "$work/py.err")" = 1 ] ||
  { cat "$work/py.err"; fail "bad PLEBNET_EXIT_LINGER: exit $rc, want 0 and one line"; }
expect "bad PLEBNET_EXIT_LINGER" eof "$work/part1"
expect "bad PLEBNET_EXIT_LINGER, second connection" eof
echo "bad PLEBNET_EXIT_LINGER: one line, default used: ok"
echo "preload_exit: all ok"
