#!/usr/bin/env bash
# tests/integration/preload_prog_load.sh — servers under load on plebnet through
# `plebnet run` (libplebnet-preload.so), the Linux kernel as the peer over a kernel vxlan
# device (issue 7, item 6; docs/PRELOAD.md). The plebnet side runs UNPRIVILEGED (nobody);
# topology and PN_PRELOAD_NO_SHIM=1 (the harness's own check) in lib/preload_prog.sh.
#   1. nginx (master_process off, daemon off; config, pid, logs and temp files in the
#      scratch directory) under the shim on port 8080: kernel-side curl fetches a 32 MiB
#      file byte-exact, then `wrk -t2 -c50 -d30s` (PN_PROG_WRK_SECS) must see no socket
#      errors, no non-2xx answers and some requests; curl again afterwards (still serving);
#   2. iperf3 client under the shim against a kernel iperf3 server, both directions (-R);
#   3. iperf3 server under the shim against a kernel iperf3 client, both directions (-R).
#   Each iperf3 run lasts PN_PROG_IPERF_SECS (5) and must report, in its JSON, bytes
#   received and no error.
# Needs root (namespaces): iproute2, nginx (nginx-light), wrk, iperf3, jq, curl, ethtool,
# util-linux (setpriv). Usage: preload_prog_load.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
. "$(dirname "$0")/lib/preload_prog.sh"
for t in nginx wrk iperf3 jq curl; do command -v $t >/dev/null || fail "missing tool: $t"; done
preload_prog_setup pl
wrk_secs=${PN_PROG_WRK_SECS:-30}
ip_secs=${PN_PROG_IPERF_SECS:-5}

# ---- 1. nginx under the shim, kernel curl and wrk ----
ng="$work/nginx"
mkdir -p "$ng/www" "$ng/tmp"
head -c 33554432 /dev/urandom >"$ng/www/big"
printf 'plebnet nginx\n' >"$ng/www/index.html"
chmod -R a+rwX "$ng"
bigsum=$(sum "$ng/www/big")
cat >"$ng/nginx.conf" <<EOF
# written by preload_prog_load.sh: one process, in the foreground, everything in $ng
master_process off;
daemon off;
worker_processes 1;
pid $ng/nginx.pid;
error_log $ng/error.log warn;
events { worker_connections 512; }
http {
    access_log off;
    client_body_temp_path $ng/tmp/body;
    proxy_temp_path $ng/tmp/proxy;
    fastcgi_temp_path $ng/tmp/fastcgi;
    uwsgi_temp_path $ng/tmp/uwsgi;
    scgi_temp_path $ng/tmp/scgi;
    keepalive_requests 100000;
    server {
        listen $PA:8080;
        root $ng/www;
    }
}
EOF
prun -t $((wrk_secs + 120)) nginx -p "$ng" -e "$ng/error.log" -c "$ng/nginx.conf" \
  >"$ng/stdout" 2>"$ng/stderr" &
ngpid=$!
pids+=($ngpid)
nginx_fail() { cat "$ng/stderr" "$ng/error.log" 2>/dev/null | tail -20; fail "$*"; }
wait_tcp "$PA" 8080 "$ngpid" || nginx_fail "nginx (shim) does not accept connections on $PA:8080"
fetch_big() {
  kx timeout 60 curl -sS --fail -o "$work/ng.out" "http://$PA:8080/big" || nginx_fail "kernel curl <- nginx (shim) failed ($1)"
  [ "$(sum "$work/ng.out")" = "$bigsum" ] || nginx_fail "kernel curl <- nginx (shim): body differs ($1)"
}
fetch_big before
echo "nginx (shim) -> kernel curl: 32 MiB, sha256 equal"
kx timeout $((wrk_secs + 30)) wrk -t2 -c50 -d"${wrk_secs}s" --latency "http://$PA:8080/index.html" \
  >"$work/wrk.out" 2>&1 || { cat "$work/wrk.out"; nginx_fail "wrk against nginx (shim) failed"; }
cat "$work/wrk.out"
reqs=$(awk '/requests in/ { print $1 }' "$work/wrk.out")
[ -n "$reqs" ] && [ "$reqs" -gt 0 ] || nginx_fail "wrk completed no requests"
! grep -q "Socket errors" "$work/wrk.out" || nginx_fail "wrk saw socket errors"
! grep -q "Non-2xx" "$work/wrk.out" || nginx_fail "wrk saw non-2xx answers"
fetch_big after
stop "$ngpid"
echo "nginx (shim) under wrk -t2 -c50 -d${wrk_secs}s: $reqs requests, no errors, no non-2xx; still serving"

# ---- 2./3. iperf3 under the shim, client and server, both directions ----
# check_iperf FILE WHAT: iperf3's JSON has no error and says bytes were received.
check_iperf() {
  jq -e '(.error == null) and (.end.sum_received.bytes > 0)' "$1" >/dev/null 2>&1 ||
    { head -c 2000 "$1"; echo; fail "$2: no bytes received or an error in iperf3's JSON"; }
  echo "$2: $(jq -r '"\(.end.sum_received.bytes) bytes received, \(.end.sum_received.bits_per_second / 1e6 | floor) Mbit/s"' "$1")"
}
kx timeout $((4 * ip_secs + 60)) iperf3 -s -B "$KA" -p 5201 >"$work/ik.log" 2>&1 &
pids+=($!)
wait_sock "$nsk" -t 5201
for r in "" -R; do
  prun -t $((ip_secs + 30)) iperf3 -c "$KA" -p 5201 -t "$ip_secs" $r --json \
    >"$work/ic$r.json" 2>"$work/ic$r.err" || { cat "$work/ic$r.err"; head -c 2000 "$work/ic$r.json"; fail "iperf3 client (shim) $r failed"; }
  check_iperf "$work/ic$r.json" "iperf3 client (shim) -> kernel server${r:+ (-R, kernel sends)}"
done
prun -t $((4 * ip_secs + 60)) iperf3 -s -B "$PA" -p 5202 --forceflush >"$work/is.log" 2>&1 &
pids+=($!)
wait_file "$work/is.log" "Server listening on 5202" "iperf3 -s (shim)"
for r in "" -R; do
  kx timeout $((ip_secs + 30)) iperf3 -c "$PA" -p 5202 -t "$ip_secs" $r --json \
    >"$work/is$r.json" 2>&1 || { tail -20 "$work/is.log"; head -c 2000 "$work/is$r.json"; fail "kernel iperf3 client -> iperf3 server (shim) $r failed"; }
  check_iperf "$work/is$r.json" "kernel iperf3 client -> iperf3 server (shim)${r:+ (-R, shim sends)}"
done
echo "preload_prog_load integration: all checks passed"
