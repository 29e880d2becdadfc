#!/usr/bin/env bash
# tests/integration/vxlan_cli.sh — two unprivileged plebnet processes joined by the vxlan
# link over loopback UDP (127.0.0.0/8 only): `plebnet ping` between them, `plebnet nc -u`
# in both directions, TCP (8 MiB, sha256; a refused port), -v counters, the environment
# vs the command line, and bad usage (one line on stderr, exit 2). Needs no root.
# Usage: vxlan_cli.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
bin="$build/plebnet"
work=$(mktemp -d /tmp/pn_vxcli_XXXXXX)
chmod 777 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
run_unpriv() {
  if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
    setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"
  else
    "$@"
  fi
}

# Two VTEPs on their own loopback addresses (unique per run), both on port 4789.
n=$(( $$ % 250 + 1 ))
A=127.78.$n.1
B=127.78.$n.2
LA="vxlan:$B,local=$A,vni=7"
LB="vxlan:$A,local=$B,vni=7"

# B: a UDP listener that also answers pings; it replies with one line.
printf 'pong from B\n' >"$work/b_in"
run_unpriv timeout 20 "$bin" nc -u -l -q 1 -w 8 -v --link "$LB" --addr 10.88.0.2/24 7777 \
  <"$work/b_in" >"$work/b_out" 2>"$work/b_err" &
bpid=$!
pids+=($bpid)
sleep 0.3

# A pings B (from the environment), then sends a datagram and reads the reply.
PLEBNET_LINK="$LA" PLEBNET_ADDR=10.88.0.1/24 \
  run_unpriv timeout 10 "$bin" ping -c 4 -i 0.05 -W 1 10.88.0.2 >"$work/ping.out" ||
  { cat "$work/ping.out"; fail "ping between two plebnet processes"; }
cat "$work/ping.out"
grep -q "4 packets transmitted, 4 received, 0% packet loss" "$work/ping.out" || fail "ping summary"
grep -q "^rtt min/avg/max/mdev = " "$work/ping.out" || fail "rtt line"
printf 'ping from A\n' |
  PLEBNET_LINK="vxlan:192.0.2.99" run_unpriv timeout 10 "$bin" nc -u -q 1 --link "$LA" \
    --addr 10.88.0.1/24 10.88.0.2 7777 >"$work/a_out" ||
  fail "nc -u client (the command line must win over PLEBNET_LINK)"
wait "$bpid" || { cat "$work/b_err"; fail "nc -u -l exited non-zero"; }
grep -qx "ping from A" "$work/b_out" || { cat "$work/b_out"; fail "B did not get A's datagram"; }
grep -qx "pong from B" "$work/a_out" || { cat "$work/a_out"; fail "A did not get B's reply"; }
grep -q "icmp_tx_echo_reply .* 4$" "$work/b_err" || { cat "$work/b_err"; fail "B's -v counters"; }
grep -q "fdb_learned" "$work/b_err" || fail "B's vxlan counters"
echo "ping and UDP both ways between two plebnet processes: ok"

# Nothing answers: exit 1, 100% loss.
set +e
run_unpriv timeout 10 "$bin" ping -c 2 -i 0.1 -W 0.3 --link "vxlan:$B:9,local=$A:0" \
  --addr 10.88.0.1/24 10.88.0.3 >"$work/o" 2>&1
rc=$?
set -e
[ "$rc" = 1 ] || { cat "$work/o"; fail "ping with no replies exited $rc, want 1"; }
grep -q "2 packets transmitted, 0 received" "$work/o" || fail "no-reply summary"

# Bad usage: one line on stderr naming the bad part, exit 2.
check_usage() { # WANT [VAR=value...] plebnet-args...
  local want=$1; shift
  local envs=()
  while [[ "${1:-}" =~ ^[A-Z_]+= ]]; do envs+=("$1"); shift; done
  set +e
  env "${envs[@]}" "$bin" "$@" >"$work/o" 2>"$work/e" </dev/null
  local rc=$?
  set -e
  [ "$rc" = 2 ] || { cat "$work/e"; fail "'$*' exited $rc, want 2"; }
  [ "$(wc -l <"$work/e")" = 1 ] || { cat "$work/e"; fail "'$*' printed more than one line"; }
  grep -qF -- "$want" "$work/e" || { cat "$work/e"; fail "'$*': message lacks '$want'"; }
}
L="--link vxlan:$B,local=$A:0"
check_usage "bad remote address '1.2.3'" ping --link vxlan:1.2.3 --addr 10.0.0.1/24 10.0.0.2
check_usage "bad vni '99999999'" ping --link "vxlan:$B,vni=99999999" --addr 10.0.0.1/24 10.0.0.2
check_usage "unknown parameter 'bogus'" nc -u --link "vxlan:$B,bogus=1" --addr 10.0.0.1/24 10.0.0.2 9
check_usage "unknown link type 'eth'" ping --link eth:0 --addr 10.0.0.1/24 10.0.0.2
check_usage "PLEBNET_LINK 'nope'" PLEBNET_LINK=nope ping --addr 10.0.0.1/24 10.0.0.2
check_usage "PLEBNET_ADDR: 'x'" PLEBNET_ADDR=x ping $L 10.0.0.2
check_usage "no link" PLEBNET_LINK= ping --addr 10.0.0.1/24 10.0.0.2
check_usage "no address" ping $L 10.0.0.2
check_usage "--addr: '10.0.0.1/40'" ping $L --addr 10.0.0.1/40 10.0.0.2
check_usage "--mac: 'zz'" ping $L --addr 10.0.0.1/24 --mac zz 10.0.0.2
check_usage "-c: '0'" ping $L --addr 10.0.0.1/24 -c 0 10.0.0.2
check_usage "no destination" ping $L --addr 10.0.0.1/24
check_usage "'10.0.0' is not an IPv4" ping $L --addr 10.0.0.1/24 10.0.0
check_usage "not supported yet" ping --link tap:tap0 --addr 10.0.0.1/24 10.0.0.2
# A broker link whose daemon is not running: one line naming the problem, exit 1.
set +e
"$bin" nc -u --link broker:"$work/no-such-plebnetd.sock" 10.0.0.2 9 >"$work/o" 2>"$work/e" </dev/null
rc=$?
set -e
[ "$rc" = 1 ] || { cat "$work/e"; fail "broker link without a daemon exited $rc, want 1"; }
[ "$(wc -l <"$work/e")" = 1 ] || { cat "$work/e"; fail "broker link error is not one line"; }
grep -q "broker" "$work/e" || { cat "$work/e"; fail "broker link error does not say broker"; }
check_usage "only 'plebnet demo'" ping --link loop --addr 10.0.0.1/24 10.0.0.2
check_usage "want ADDR and PORT" nc -u $L --addr 10.0.0.1/24 10.0.0.2
check_usage "'70000' is not a port" nc -u $L --addr 10.0.0.1/24 10.0.0.2 70000
check_usage "unknown option '--frob'" nc --frob
# TCP between the two processes: refused port, then 8 MiB one way with a half-close.
head -c 8388608 /dev/urandom >"$work/data"
run_unpriv timeout 30 "$bin" nc -l -v --link "$LB" --addr 10.88.0.2/24 8080 </dev/null \
  >"$work/tcp_out" 2>"$work/tcp_err" &
tpid=$!
pids+=($tpid)
sleep 0.3
set +e
run_unpriv timeout 10 "$bin" nc --link "$LA" --addr 10.88.0.1/24 10.88.0.2 9 </dev/null >/dev/null 2>"$work/e"
rc=$?
set -e
[ "$rc" = 1 ] && grep -q "connection to 10.88.0.2:9: connection refused" "$work/e" ||
  { cat "$work/e"; fail "nc to a closed TCP port: rc $rc"; }
run_unpriv timeout 30 "$bin" nc --link "$LA" --addr 10.88.0.1/24 10.88.0.2 8080 <"$work/data" ||
  fail "nc TCP client exited non-zero"
wait "$tpid" || { cat "$work/tcp_err"; fail "nc -l (TCP) exited non-zero"; }
[ "$(sha256sum <"$work/data")" = "$(sha256sum <"$work/tcp_out")" ] ||
  fail "TCP transfer corrupted ($(wc -c <"$work/tcp_out") bytes arrived)"
grep -q "tcp_passive_opens *1$" "$work/tcp_err" || { cat "$work/tcp_err"; fail "TCP counters"; }
echo "TCP 8 MiB between two plebnet processes: sha256 equal"
"$bin" ping --help | grep -q -- "--link SPEC" || fail "ping --help"
"$bin" nc --help | grep -q "PLEBNET_LINK" || fail "nc --help"
"$bin" --help | grep -q "nc " || fail "--help lists nc"
echo "vxlan_cli integration: all checks passed"
