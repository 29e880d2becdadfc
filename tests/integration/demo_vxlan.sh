#!/usr/bin/env bash
# tests/integration/demo_vxlan.sh — `plebnet demo` as two unprivileged processes joined by the
# vxlan link over loopback UDP (127.0.0.0/8 only): role b serves, role a runs the ping, UDP
# echo and TCP (verified both ends) phases against it; both exit 0. Then B alone gives up
# after --timeout (exit 1), and bad role/link combinations are one-line usage errors (exit 2).
# Needs no root; tshark for the pcap check. Usage: demo_vxlan.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
bin="$build/plebnet"
work=$(mktemp -d /tmp/pn_demovx_XXXXXX)
chmod 777 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
# Waits (at most 10 s) until B has opened its services (its first line after them).
wait_b() {
  for _ in $(seq 200); do grep -q "^B serves on" "$1" 2>/dev/null && return 0; sleep 0.05; done
  cat "$1"; fail "role b did not start"
}
run_unpriv() {
  if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
    setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"
  else
    "$@"
  fi
}

# Two VTEPs on loopback addresses unique to this run, distinct ports as in docs/CLI.md.
n=$(( $$ % 250 + 1 ))
A=127.79.$n.1
B=127.79.$n.2
LA="vxlan:$B:4790,local=$A:4789"
LB="vxlan:$A:4789,local=$B:4790"

run_unpriv timeout 60 "$bin" demo --role b --link "$LB" --timeout 50 >"$work/b.out" 2>"$work/b.err" &
bpid=$!
pids+=($bpid)
wait_b "$work/b.out"
run_unpriv timeout 60 "$bin" demo --role a --link "$LA" --interval 0.02 --bytes 64Mi \
  --pcap "$work/a.pcap" >"$work/a.out" 2>"$work/a.err" ||
  { cat "$work/a.out" "$work/a.err" "$work/b.out"; fail "demo --role a exited non-zero"; }
wait "$bpid" || { cat "$work/b.out" "$work/b.err"; fail "demo --role b exited non-zero"; }
cat "$work/a.out"
cat "$work/b.out"
grep -q "A  10.0.0.1/24  02:70:6e:00:00:01" "$work/a.out" || fail "A's default address and MAC"
grep -q "B  10.0.0.2/24  02:70:6e:00:00:02" "$work/b.out" || fail "B's default address and MAC"
grep -q "5 packets transmitted, 5 received, 0% packet loss" "$work/a.out" || fail "pings"
grep -q "UDP echo: 3/3 datagrams echoed intact" "$work/a.out" || fail "udp echo"
grep -q "verified: 67108864 of 67108864 bytes" "$work/a.out" || fail "A: TCP not verified"
grep -q "verified: 67108864 of 67108864 bytes" "$work/b.out" || fail "B: TCP not verified"
grep -q "demo role a passed: 5/5 pings answered, 3/3 UDP echoes, TCP transfer verified" "$work/a.out" ||
  fail "A's summary"
grep -q "demo role b passed: 5 pings answered, 3 UDP datagrams echoed, TCP transfer verified" "$work/b.out" ||
  fail "B's summary"
grep -q "fdb_learned" "$work/a.out" || fail "A's vxlan counters"
# The pcap holds A's frames both ways: ARP, 5 echo replies, 6 UDP, TCP with a clean close.
malformed=$(tshark -r "$work/a.pcap" -Y '_ws.malformed || _ws.expert.severity >= error' 2>/dev/null | wc -l)
[ "$malformed" = 0 ] || fail "$malformed malformed frames in A's pcap"
[ "$(tshark -r "$work/a.pcap" -Y 'icmp.type == 0' 2>/dev/null | wc -l)" = 5 ] || fail "echo replies in pcap"
[ "$(tshark -r "$work/a.pcap" -Y 'udp.port == 7' 2>/dev/null | wc -l)" = 6 ] || fail "udp in pcap"
[ "$(tshark -r "$work/a.pcap" -Y 'tcp.flags.fin == 1' 2>/dev/null | wc -l)" = 2 ] || fail "FINs in pcap"
[ "$(tshark -r "$work/a.pcap" -Y 'tcp.flags.reset == 1' 2>/dev/null | wc -l)" = 0 ] || fail "RST in pcap"
echo "demo as two processes over loopback VXLAN: ok"

# Other addresses, from the command line and the environment; an empty transfer.
run_unpriv timeout 30 "$bin" demo --role b --link "$LB" --addr 10.9.0.20/24 --timeout 20 -q \
  >"$work/b2.out" 2>&1 &
bpid=$!
pids+=($bpid)
wait_b "$work/b2.out"
PLEBNET_LINK="$LA" PLEBNET_ADDR=10.9.0.10/24 run_unpriv timeout 30 "$bin" demo --role a \
  --peer 10.9.0.20 -c 2 -i 0.01 --bytes 0 -q >"$work/a2.out" 2>&1 ||
  { cat "$work/a2.out" "$work/b2.out"; fail "second run, role a"; }
wait "$bpid" || { cat "$work/b2.out"; fail "second run, role b"; }
grep -q "A  10.9.0.10/24" "$work/a2.out" || { cat "$work/a2.out"; fail "PLEBNET_ADDR"; }
grep -q "verified: 0 of 0 bytes" "$work/b2.out" || { cat "$work/b2.out"; fail "empty transfer"; }
echo "--addr, --peer, PLEBNET_LINK/PLEBNET_ADDR and an empty transfer: ok"

# B alone: gives up after --timeout, exit 1.
set +e
run_unpriv timeout 10 "$bin" demo --role b --link "$LB" --timeout 0.5 -q >"$work/b3.out" 2>&1
rc=$?
set -e
[ "$rc" = 1 ] || { cat "$work/b3.out"; fail "lonely B exited $rc, want 1"; }
grep -q "no connection from A within" "$work/b3.out" || { cat "$work/b3.out"; fail "lonely B message"; }

# Bad combinations: one line on stderr, exit 2.
check_usage() { # WANT plebnet-args...
  local want=$1; shift
  set +e
  env -u PLEBNET_LINK -u PLEBNET_ADDR "$bin" "$@" >"$work/o" 2>"$work/e" </dev/null
  local rc=$?
  set -e
  [ "$rc" = 2 ] || { cat "$work/e"; fail "'$*' exited $rc, want 2"; }
  [ "$(wc -l <"$work/e")" = 1 ] || { cat "$work/e"; fail "'$*' printed more than one line"; }
  grep -qF -- "$want" "$work/e" || { cat "$work/e"; fail "'$*': message lacks '$want'"; }
}
check_usage "give --role a or --role b" demo --link "$LA"
check_usage "not loop" demo --role a --link loop
check_usage "--role: 'c' is not a or b" demo --role c --link "$LA"
check_usage "--role b needs a link" demo --role b
check_usage "--peer: 'x' is not" demo --role a --link "$LA" --peer x
check_usage "go with --role" demo --addr 10.0.0.5/24
check_usage "--peer is this stack's own address" demo --role a --link "$LA" --peer 10.0.0.1
check_usage "bad remote address" demo --role a --link vxlan:1.2.3
check_usage "--timeout: 'soon'" demo --role b --link "$LB" --timeout soon
"$bin" demo --help | grep -q -- "--role a|b" || fail "demo --help"
echo "demo_vxlan integration: all checks passed"
