#!/usr/bin/env bash
# bench/preload_bench.sh — unmodified programs through `plebnet run` (libplebnet-preload.so)
# vs the same programs on the Linux kernel's stack, over the same kernel vxlan device in the
# same run, with the ratio (issue 7, item 7). Prints figures; never asserts on time
# (docs/BENCHMARKS.md, "Preload").
#
# Topology (three network namespaces made here, deleted on exit), as in vxlan_bench.sh:
#   K: vx0 10.77.0.1/24 (VNI 42, `ethtool -K vx0 tx off`), the measuring side, with two veths:
#      192.168.77.1 <-> P 192.168.77.2: the program under `plebnet run` (unprivileged)
#                                        --link vxlan:192.168.77.1 --addr 10.77.0.2/24
#      192.168.78.1 <-> L 192.168.78.2: the same program (unprivileged) on the kernel's own
#                                        vxlan device vx0 10.77.0.3/24 (the baseline)
#   K's vx0 floods to both underlay peers, so K reaches P and L through one device; the
#   baseline is kernel <-> kernel over the same K vx0 and an identical veth.
# Runs (each bounded: SECS seconds, at most 10):
#   iperf3 -c from P (shim) vs from L (kernel) to `iperf3 -s` in K; then -R (K sends);
#   nginx (master_process off) in P (shim) vs in L (kernel), `wrk -t2 -c50 --latency` from K:
#   requests/s and p99 latency.
#
# Usage (root): bench/preload_bench.sh BUILD_DIR
# Environment: SECS (default 8, at most 10) per run; PEER_TXOFF=1 also turns off L's vx0
#   checksum offload (then L, like plebnet, sums in software and sends MSS-sized frames).
set -euo pipefail
build=$(cd "${1:?usage: preload_bench.sh BUILD_DIR}" && pwd)
bin="$build/plebnet"
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)"; exit 2; }
for t in ip setpriv ethtool bridge iperf3 nginx wrk jq; do
  command -v $t >/dev/null || { echo "missing tool: $t"; exit 2; }
done
[ -r "$build/libplebnet-preload.so" ] || { echo "no libplebnet-preload.so in $build"; exit 2; }
SECS=${SECS:-8}
[[ "$SECS" =~ ^[0-9]+$ ]] && [ "$SECS" -ge 1 ] && [ "$SECS" -le 10 ] ||
  { echo "SECS must be 1..10"; exit 2; }

id=$$
nk="pnpk$id" np="pnpp$id" nl="pnpl$id"
work=$(mktemp -d /tmp/pn_plbench_XXXXXX)
chmod 777 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  for n in "$nk" "$np" "$nl"; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

for n in "$nk" "$np" "$nl"; do ip netns add "$n"; ip -n "$n" link set lo up; done
ip link add "qkp$id" netns "$nk" type veth peer name "qpk$id" netns "$np"
ip link add "qkl$id" netns "$nk" type veth peer name "qlk$id" netns "$nl"
ip -n "$nk" addr add 192.168.77.1/24 dev "qkp$id"
ip -n "$nk" addr add 192.168.78.1/24 dev "qkl$id"
ip -n "$np" addr add 192.168.77.2/24 dev "qpk$id"
ip -n "$nl" addr add 192.168.78.2/24 dev "qlk$id"
for l in "$nk qkp$id" "$nk qkl$id" "$np qpk$id" "$nl qlk$id"; do
  set -- $l; ip -n "$1" link set "$2" up
done
ip -n "$nk" link add vx0 type vxlan id 42 dstport 4789 nolearning
ip -n "$nk" link set vx0 up
ip netns exec "$nk" bridge fdb append 00:00:00:00:00:00 dev vx0 dst 192.168.77.2
ip netns exec "$nk" bridge fdb append 00:00:00:00:00:00 dev vx0 dst 192.168.78.2
ip netns exec "$nk" bridge fdb add 02:70:6e:77:00:02 dev vx0 dst 192.168.77.2
ip -n "$nk" addr add 10.77.0.1/24 dev vx0
# veth never completes offloaded checksums, and plebnet drops partial ones (docs/CLI.md).
ip netns exec "$nk" ethtool -K vx0 tx off >/dev/null
ip -n "$nl" link add vx0 type vxlan id 42 dstport 4789 remote 192.168.78.1 local 192.168.78.2 dev "qlk$id"
ip -n "$nl" addr add 10.77.0.3/24 dev vx0
ip -n "$nl" link set vx0 up
lmac=$(ip -n "$nl" -br link show vx0 | awk '{print $3}')
ip netns exec "$nk" bridge fdb add "$lmac" dev vx0 dst 192.168.78.2
[ "${PEER_TXOFF:-0}" = 1 ] && ip netns exec "$nl" ethtool -K vx0 tx off >/dev/null

# Command prefixes (arrays, so that a background job's $! is the program itself and the EXIT
# trap's kill reaches it). The two contenders run as nobody: PX under the shim in P, LX on
# the kernel's stack in L; KX is the measuring side (root) in K.
NOBODY=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
PL=(--link "vxlan:192.168.77.1,vni=42" --addr 10.77.0.2/24 --mac 02:70:6e:77:00:02)
KX=(ip netns exec "$nk")
PX=(ip netns exec "$np" "${NOBODY[@]}" "$bin" run "${PL[@]}" --)
LX=(ip netns exec "$nl" "${NOBODY[@]}")
kx() { "${KX[@]}" "$@"; }
kx ping -c 2 -i 0.2 -W 1 10.77.0.3 >/dev/null
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2fx", a / b; else printf "n/a" }'; }

# ---- iperf3: Mbit/s received, per direction ----
"${KX[@]}" timeout $((4 * SECS + 60)) iperf3 -s -B 10.77.0.1 -p 5201 >"$work/iperf_s.log" 2>&1 &
pids+=($!)
sleep 0.5
# pre px|lx: sets the array `pre` to that contender's prefix.
pre() { if [ "$1" = px ]; then pre=("${PX[@]}"); else pre=("${LX[@]}"); fi; }
# iperf_run px|lx [-R]: prints Mbit/s (0 if it failed; the JSON's error on stderr)
iperf_run() {
  local who=$1 r=${2:-} out="$work/ip_$1${2:-}.json"
  pre "$who"
  "${pre[@]}" timeout $((SECS + 20)) iperf3 -c 10.77.0.1 -p 5201 -t "$SECS" $r --json >"$out" 2>/dev/null || true
  if jq -e '(.error == null) and (.end.sum_received.bytes > 0)' "$out" >/dev/null 2>&1; then
    jq -r '.end.sum_received.bits_per_second / 1e6 | floor' "$out"
  else
    echo "iperf3 $who $r failed: $(jq -r '.error // "no JSON"' "$out" 2>/dev/null | head -1)" >&2
    echo 0
  fi
}
ip_p_tx=$(iperf_run px) ip_l_tx=$(iperf_run lx)
ip_p_rx=$(iperf_run px -R) ip_l_rx=$(iperf_run lx -R)

# ---- nginx under wrk: requests/s and p99 latency ----
# nginx_conf DIR ADDR: one foreground process, everything inside DIR.
nginx_conf() {
  mkdir -p "$1/www" "$1/tmp"
  printf 'plebnet nginx\n' >"$1/www/index.html"
  cat >"$1/nginx.conf" <<EOF
master_process off;
daemon off;
worker_processes 1;
pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $1/tmp/body;
    proxy_temp_path $1/tmp/proxy;
    fastcgi_temp_path $1/tmp/fastcgi;
    uwsgi_temp_path $1/tmp/uwsgi;
    scgi_temp_path $1/tmp/scgi;
    keepalive_requests 1000000;
    server { listen $2:8080; root $1/www; }
}
EOF
  chmod -R a+rwX "$1"
}
# wrk_run px|lx ADDR: prints "requests/s p99_ms" ("0 0" if it failed)
wrk_run() {
  local who=$1 addr=$2 d="$work/ng_$1" np_pid ok=0
  nginx_conf "$d" "$addr"
  pre "$who"
  "${pre[@]}" timeout $((SECS + 40)) nginx -p "$d" -e "$d/error.log" -c "$d/nginx.conf" >/dev/null 2>"$d/stderr" &
  np_pid=$!
  pids+=($np_pid)
  for _ in $(seq 100); do
    kill -0 "$np_pid" 2>/dev/null || break
    kx timeout 1 bash -c "exec 3<>/dev/tcp/$addr/8080" 2>/dev/null && { ok=1; break; }
    sleep 0.1
  done
  if [ "$ok" = 1 ] && kx timeout $((SECS + 20)) wrk -t2 -c50 -d"${SECS}s" --latency \
      "http://$addr:8080/index.html" >"$d/wrk.out" 2>&1; then
    # wrk prints latencies as 812.00us / 1.62ms / 1.02s
    awk '/Requests\/sec:/ { rps = $2 }
         $1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
                       p99 = (u == "us") ? v / 1000 : (u == "s") ? v * 1000 : v }
         /Socket errors|Non-2xx/ { err = err $0 "; " }
         END { printf "%.0f %.2f\n", rps, p99; if (err != "") print "wrk: " err > "/dev/stderr" }' "$d/wrk.out"
  else
    echo "nginx/wrk $who failed: $(tail -3 "$d/stderr" "$d/wrk.out" 2>/dev/null | tr '\n' ' ')" >&2
    echo "0 0"
  fi
  kill "$np_pid" 2>/dev/null || true
  wait "$np_pid" 2>/dev/null || true
}
read -r ng_p_rps ng_p_p99 <<<"$(wrk_run px 10.77.0.2)"
read -r ng_l_rps ng_l_p99 <<<"$(wrk_run lx 10.77.0.3)"

echo "preload benchmark: programs under plebnet run (P) vs the kernel's stack (L), ${SECS} s per run"
echo "  path: K's vx0 (tx checksum offload off) <-> veth <-> P's plebnet vxlan link / L's kernel vx0"
echo "  (L's vx0 offload $([ "${PEER_TXOFF:-0}" = 1 ] && echo off || echo on)); programs run as nobody"
printf "  %-34s %12s %12s %8s\n" "" "plebnet run" "kernel" "ratio"
printf "  %-34s %12s %12s %8s\n" "iperf3 client sends, Mbit/s" "$ip_p_tx" "$ip_l_tx" "$(ratio "$ip_p_tx" "$ip_l_tx")"
printf "  %-34s %12s %12s %8s\n" "iperf3 -R (client receives), Mbit/s" "$ip_p_rx" "$ip_l_rx" "$(ratio "$ip_p_rx" "$ip_l_rx")"
printf "  %-34s %12s %12s %8s\n" "nginx under wrk -c50, requests/s" "$ng_p_rps" "$ng_l_rps" "$(ratio "$ng_p_rps" "$ng_l_rps")"
# For latency a ratio above 1 means plebnet is slower; printed as kernel/plebnet so that
# every ratio reads "fraction of the kernel's performance".
printf "  %-34s %12s %12s %8s\n" "nginx p99 latency, ms" "$ng_p_p99" "$ng_l_p99" "$(ratio "$ng_l_p99" "$ng_p_p99")"
echo "  (ratio = plebnet/kernel for throughput and requests/s, kernel/plebnet for latency: 1.00x = parity)"
