#!/usr/bin/env bash
# bench/vxlan_bench.sh — bulk TCP throughput over a Linux vxlan device (RFC 7348): plebnet <->
# Linux vs Linux <-> Linux, through the same kernel vxlan device in the same run, with the
# ratio. Prints figures; never asserts on time (docs/BENCHMARKS.md, "VXLAN").
#
# Topology (three network namespaces made here, deleted on exit):
#   K: vx0 10.77.0.1/24 (VNI 42, `ethtool -K vx0 tx off`, see docs/CLI.md) with two veths:
#      192.168.77.1 <-> P 192.168.77.2: plebnet (unprivileged) --link vxlan:192.168.77.1
#                                        --addr 10.77.0.2/24
#      192.168.78.1 <-> L 192.168.78.2: its own vxlan device vx0 10.77.0.3/24
#   K's vx0 floods to both underlay peers (bridge fdb), so K talks to P and L through one
#   device. Each run moves BYTES with socat on the Linux ends and `plebnet nc` on P:
#   K -> P vs K -> L (kernel sends) and P -> K vs L -> K (kernel receives).
#
# Usage (root): bench/vxlan_bench.sh BUILD_DIR
# Environment: BYTES (default 1073741824), REPEAT (default 3, the median is printed),
#   PEER_TXOFF=1 also turns off L's vx0 checksum offload (then L, like plebnet, sums in
#   software and sends MSS-sized frames), PERF=FILE records `perf record -g` of plebnet in
#   one extra run of each direction to FILE.{rx,tx}.
set -euo pipefail
build=$(cd "${1:?usage: vxlan_bench.sh BUILD_DIR}" && pwd)
bin="$build/plebnet"
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)"; exit 2; }
for t in ip socat setpriv ethtool bridge; do
  command -v $t >/dev/null || { echo "missing tool: $t"; exit 2; }
done
BYTES=${BYTES:-1073741824}
REPEAT=${REPEAT:-3}

id=$$
nk="pnbk$id" np="pnbp$id" nl="pnbl$id"
work=$(mktemp -d /tmp/pn_vxbench_XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  for n in "$nk" "$np" "$nl"; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

for n in "$nk" "$np" "$nl"; do ip netns add "$n"; ip -n "$n" link set lo up; done
ip link add "bkp$id" netns "$nk" type veth peer name "bpk$id" netns "$np"
ip link add "bkl$id" netns "$nk" type veth peer name "blk$id" netns "$nl"
ip -n "$nk" addr add 192.168.77.1/24 dev "bkp$id"
ip -n "$nk" addr add 192.168.78.1/24 dev "bkl$id"
ip -n "$np" addr add 192.168.77.2/24 dev "bpk$id"
ip -n "$nl" addr add 192.168.78.2/24 dev "blk$id"
for l in "$nk bkp$id" "$nk bkl$id" "$np bpk$id" "$nl blk$id"; do
  set -- $l; ip -n "$1" link set "$2" up
done
ip -n "$nk" link add vx0 type vxlan id 42 dstport 4789 nolearning
ip -n "$nk" link set vx0 up
ip netns exec "$nk" bridge fdb append 00:00:00:00:00:00 dev vx0 dst 192.168.77.2
ip netns exec "$nk" bridge fdb append 00:00:00:00:00:00 dev vx0 dst 192.168.78.2
# Unicast MACs learned nowhere (nolearning): pin them, as the flood entries would do anyway.
ip netns exec "$nk" bridge fdb add 02:70:6e:77:00:02 dev vx0 dst 192.168.77.2
ip -n "$nk" addr add 10.77.0.1/24 dev vx0
ip netns exec "$nk" ethtool -K vx0 tx off >/dev/null
ip -n "$nl" link add vx0 type vxlan id 42 dstport 4789 remote 192.168.78.1 local 192.168.78.2 dev "blk$id"
ip -n "$nl" addr add 10.77.0.3/24 dev vx0
ip -n "$nl" link set vx0 up
lmac=$(ip -n "$nl" -br link show vx0 | awk '{print $3}')
ip netns exec "$nk" bridge fdb add "$lmac" dev vx0 dst 192.168.78.2
[ "${PEER_TXOFF:-0}" = 1 ] && ip netns exec "$nl" ethtool -K vx0 tx off >/dev/null

kx() { ip netns exec "$nk" "$@"; }
lx() { ip netns exec "$nl" "$@"; }
px() { ip netns exec "$np" setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
PL=(--link "vxlan:192.168.77.1,vni=42" --addr 10.77.0.2/24 --mac 02:70:6e:77:00:02)
now() { date +%s.%N; }
# warm the neighbour caches both ways
kx ping -c 2 -i 0.2 -W 1 10.77.0.3 >/dev/null
px timeout 10 "$bin" ping -c 2 -i 0.2 -W 1 "${PL[@]}" 10.77.0.1 >/dev/null

# One run: prints the rate in Mbit/s (0 if it failed). $1 = kp|lk|pk|kl (sender, receiver).
run() {
  local port=$((5000 + RANDOM % 1000)) t0 t1 rpid
  case $1 in
  kp) px timeout 300 "$bin" nc -l "${PL[@]}" $port </dev/null >/dev/null 2>"$work/err" & rpid=$! ;;
  kl) lx timeout 300 socat -u TCP4-LISTEN:$port,bind=10.77.0.3 - >/dev/null & rpid=$! ;;
  pk | lk) kx timeout 300 socat -u TCP4-LISTEN:$port,bind=10.77.0.1 - >/dev/null & rpid=$! ;;
  esac
  pids+=($rpid)
  sleep 0.3
  t0=$(now)
  case $1 in
  kp) head -c "$BYTES" /dev/zero | kx timeout 300 socat -u - TCP4:10.77.0.2:$port ;;
  kl) head -c "$BYTES" /dev/zero | kx timeout 300 socat -u - TCP4:10.77.0.3:$port ;;
  pk) head -c "$BYTES" /dev/zero | px timeout 300 "$bin" nc "${PL[@]}" 10.77.0.1 $port ;;
  lk) head -c "$BYTES" /dev/zero | lx timeout 300 socat -u - TCP4:10.77.0.1:$port ;;
  esac
  local ok=$?
  wait "$rpid" || ok=1
  t1=$(now)
  [ "$ok" = 0 ] && awk -v b="$BYTES" -v s="$t0" -v e="$t1" 'BEGIN { printf "%.0f\n", b * 8 / (e - s) / 1e6 }' || echo 0
}
median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

declare -A res
for i in $(seq "$REPEAT"); do
  for k in kp kl pk lk; do res[$k]+="$(run $k) "; done
done
echo "vxlan bulk TCP, $BYTES bytes per run, median of $REPEAT runs, Mbit/s"
echo "  (K's vx0: tx checksum offload off; L's vx0: offload $([ "${PEER_TXOFF:-0}" = 1 ] && echo off || echo on))"
for spec in "kp kl K sends, to" "pk lk K receives, from"; do
  read -r a b label <<<"$spec"
  p=$(median <<<"${res[$a]}") l=$(median <<<"${res[$b]}")
  printf "  %-17s plebnet %6s  Linux %6s  ratio %s   [runs: plebnet %s| Linux %s]\n" "$label" "$p" "$l" \
    "$(awk -v a="$p" -v b="$l" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else printf "n/a" }')" \
    "${res[$a]}" "${res[$b]}"
done
if [ -n "${PERF:-}" ]; then
  # perf runs as root around the unprivileged plebnet (kernel and user stacks).
  kx socat -u TCP4-LISTEN:5998,bind=10.77.0.1 - >/dev/null &
  pids+=($!)
  sleep 0.3
  head -c "$BYTES" /dev/zero | ip netns exec "$np" perf record -q -g -o "$PERF.tx" -- \
    setpriv --reuid=nobody --regid=nogroup --clear-groups "$bin" nc "${PL[@]}" 10.77.0.1 5998
  ip netns exec "$np" perf record -q -g -o "$PERF.rx" -- setpriv --reuid=nobody \
    --regid=nogroup --clear-groups "$bin" nc -l "${PL[@]}" 5999 </dev/null >/dev/null &
  rp=$!
  pids+=($rp)
  sleep 0.5
  head -c "$BYTES" /dev/zero | kx socat -u - TCP4:10.77.0.2:5999
  wait "$rp" || true
  echo "perf data: $PERF.tx (plebnet sending), $PERF.rx (plebnet receiving)"
fi
