#!/usr/bin/env bash
# tests/integration/preload_dns.sh — name resolution under the preload shim goes through
# plebnet (preload/dns.c): a tiny authoritative DNS server (lib/dns_server.py) runs in the
# kernel namespace of a vxlan_pair at 10.77.0.1; programs run under `plebnet run` (as
# nobody) in the plebnet namespace, where the kernel itself cannot even reach 10.77.0.1.
# Checks:
#   1. a Python probe (getaddrinfo with and without AI_CANONNAME, gethostbyname_ex,
#      gethostbyaddr, getnameinfo) prints the same lines under the shim as glibc prints on
#      kernel sockets in the kernel namespace: A records, a CNAME chain, a name whose answer
#      is too big for UDP (TC, retried over TCP), SERVFAIL, NODATA, NXDOMAIN, a search
#      domain, /etc/hosts names and aliases, reverse lookups, numeric forms;
#   2. the server saw the shim's queries from 10.77.0.2 (plebnet's address) and none from
#      192.168.77.2 (the namespace's kernel address), and the TC name over TCP;
#   3. numeric addresses and /etc/hosts names cause no DNS traffic at all;
#   4. getent ahostsv4 (getaddrinfo from a glibc program) gives glibc's output, and is clean
#      under valgrind (our nodes are freed by glibc's freeaddrinfo) when valgrind exists;
#   5. curl fetches a file by name from a kernel-side http server;
#   6. an unreachable server gives EAI_AGAIN (bounded by timeout:1 attempts:2);
#   7. without a stack (no PLEBNET_LINK), /etc/hosts names resolve, DNS names fail with
#      EAI_AGAIN and one log line, and nothing is sent.
# Needs root (namespaces, /etc/netns): iproute2, python3, curl, getent, setpriv, ethtool.
# Usage: preload_dns.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
bin="$build/plebnet"
here=$(cd "$(dirname "$0")" && pwd)
fail() { echo "FAIL: $*"; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root to create network namespaces"
for t in ip python3 curl getent setpriv timeout ethtool; do
  command -v $t >/dev/null || fail "missing tool: $t"
done
[ -f "$build/libplebnet-preload.so" ] || fail "no $build/libplebnet-preload.so"

. "$here/lib/vxlan_pair.sh"
vxlan_pair_setup dn 755
# `ip netns exec` bind-mounts /etc/netns/NAME/* over /etc: each namespace gets our
# resolv.conf, hosts and nsswitch.conf (files, then dns), removed again on exit.
cleanup() {
  vxlan_pair_cleanup
  rm -rf "/etc/netns/$nsk" "/etc/netns/$nsp"
}
trap cleanup EXIT
for ns in "$nsk" "$nsp"; do
  mkdir -p "/etc/netns/$ns"
  printf 'nameserver 10.77.0.1\nsearch search.test\noptions timeout:2 attempts:2\n' \
    >"/etc/netns/$ns/resolv.conf"
  printf '127.0.0.1 localhost\n10.77.0.7 hosty.test hostalias\n10.77.0.8 multihost\n10.77.0.9 multihost\n' \
    >"/etc/netns/$ns/hosts"
  printf 'hosts: files dns\nservices: files\n' >"/etc/netns/$ns/nsswitch.conf"
done
# The unreachable server: an address on the link that nobody has.
printf 'nameserver 10.77.0.99\noptions timeout:1 attempts:2\n' >"$work/dead.conf"
chmod 644 "$work/dead.conf"

{
  echo "web.test A 10.77.0.1"
  echo "alias.test CNAME web.test"
  echo "chain.test CNAME alias.test"
  echo "multi.test A 10.77.0.21"
  echo "multi.test A 10.77.0.22"
  echo "fail.test SERVFAIL"
  echo "nodata.test PTR web.test"
  echo "web.search.test A 10.77.0.30"
  echo "1.0.77.10.in-addr.arpa PTR web.test"
  echo "30.0.77.10.in-addr.arpa SERVFAIL"
  for i in $(seq 1 40); do echo "big.test A 10.77.1.$i"; done # > 512 octets: TC
} >"$work/zone"
# Started with `ip netns exec` itself (not the kns function, whose subshell would be what
# $! names) so that the EXIT trap's kill reaches timeout, which passes it on.
ip netns exec "$nsk" timeout 300 python3 "$here/lib/dns_server.py" --addr 10.77.0.1 \
  --zone "$work/zone" --time-limit 280 >"$work/dns.log" 2>"$work/dns.err" &
pids+=($!)
for _ in $(seq 100); do grep -q READY "$work/dns.log" && break; sleep 0.1; done
grep -q READY "$work/dns.log" || { cat "$work/dns.err"; fail "dns_server did not start"; }
queries() { grep -c '^QUERY' "$work/dns.log" || true; }

mkdir -p "$work/www"
head -c 100000 /dev/urandom >"$work/www/file"
ip netns exec "$nsk" timeout 300 python3 -m http.server 8080 --bind 10.77.0.1 \
  --directory "$work/www" >/dev/null 2>&1 &
pids+=($!)

PL=(--link "vxlan:192.168.77.1,vni=42" --addr 10.77.0.2/24)
shim() { pleb timeout 60 "$bin" run "${PL[@]}" -- "$@"; }

# ---- the probe: one line per check, the same text expected on both sides ----
cat >"$work/probe.py" <<'EOF'
import socket, sys
def show(label, f, *a):
    try:
        r = f(*a)
        if label.startswith("gai"):
            r = sorted({(fa.name, t.name, p, sa, cn) for fa, t, p, cn, sa in r})
        elif isinstance(r, tuple) and len(r) == 3 and isinstance(r[1], list):
            r = (r[0], sorted(r[1]), sorted(r[2]))
        print(label, r)
    except (socket.gaierror, socket.herror) as e:
        print(label, type(e).__name__, e.errno)
    except (OSError, UnicodeError) as e:
        print(label, type(e).__name__, e)
    sys.stdout.flush()
mode = sys.argv[1]
for n in sys.argv[2:]:
    if mode == "names":
        show("gai4 " + n, socket.getaddrinfo, n, 80, socket.AF_INET, socket.SOCK_STREAM)
        show("gai-canon " + n, socket.getaddrinfo, n, "http", 0, 0, 0, socket.AI_CANONNAME)
        show("ghbn " + n, socket.gethostbyname_ex, n)
    else:
        show("ghba " + n, socket.gethostbyaddr, n)
        show("gni " + n, socket.getnameinfo, (n, 53), socket.NI_DGRAM)
        show("gni-namereqd " + n, socket.getnameinfo, (n, 80), socket.NI_NAMEREQD)
EOF
chmod 644 "$work/probe.py"
NAMES=(web.test alias.test chain.test multi.test big.test fail.test nodata.test nx.test web
       hosty.test hostalias multihost localhost WEB.TEST web.test. 0x0a4d0001)
ADDRS=(10.77.0.1 10.77.0.7 10.77.0.30 10.77.0.55)
NUMERIC=(10.77.0.1 10.77.1 012.77.0.1 hosty.test hostalias localhost multihost)

kns python3 "$work/probe.py" names "${NAMES[@]}" >"$work/k_names" 2>&1
kns python3 "$work/probe.py" addrs "${ADDRS[@]}" >"$work/k_addrs" 2>&1
kns python3 "$work/probe.py" names "${NUMERIC[@]}" >"$work/k_numeric" 2>&1
kernel_queries=$(queries)

# ---- 3. numeric and /etc/hosts: no DNS traffic ----
shim python3 "$work/probe.py" names "${NUMERIC[@]}" >"$work/s_numeric" 2>&1 ||
  { cat "$work/s_numeric"; fail "probe (numeric) under the shim failed"; }
diff -u "$work/k_numeric" "$work/s_numeric" || fail "numeric/hosts lookups differ from glibc's"
[ "$(queries)" = "$kernel_queries" ] || fail "numeric or /etc/hosts lookups sent DNS queries"
echo "ok numeric addresses and /etc/hosts names: glibc's results, no DNS traffic"

# ---- 1. the probe under the shim matches glibc on kernel sockets ----
shim python3 "$work/probe.py" names "${NAMES[@]}" >"$work/s_names" 2>&1 ||
  { cat "$work/s_names"; fail "probe (names) under the shim failed"; }
diff -u "$work/k_names" "$work/s_names" || fail "forward lookups differ from glibc's"
shim python3 "$work/probe.py" addrs "${ADDRS[@]}" >"$work/s_addrs" 2>&1 ||
  { cat "$work/s_addrs"; fail "probe (addrs) under the shim failed"; }
diff -u "$work/k_addrs" "$work/s_addrs" || fail "reverse lookups differ from glibc's"
grep -q "^gai4 nx.test gaierror -2$" "$work/s_names" || fail "NXDOMAIN is not EAI_NONAME"
grep -q "^gai4 big.test .*10.77.1.40" "$work/s_names" || fail "the TC name did not resolve"
echo "ok $(wc -l <"$work/s_names") forward and $(wc -l <"$work/s_addrs") reverse checks equal glibc's"

# ---- 2. where the queries came from ----
awk -v n="$kernel_queries" 'NR > n + 1' "$work/dns.log" | grep '^QUERY' >"$work/shim_queries" || true
[ -s "$work/shim_queries" ] || fail "the server saw no query from the shim"
if grep -v '^QUERY [a-z]* 10\.77\.0\.2 ' "$work/shim_queries"; then
  fail "queries above did not come from plebnet's 10.77.0.2"
fi
grep -q '^QUERY tcp 10\.77\.0\.2 [0-9]* big\.test A$' "$work/shim_queries" ||
  fail "big.test was not retried over TCP"
grep -q '^QUERY udp 10\.77\.0\.2 [0-9]* web\.search\.test A$' "$work/shim_queries" ||
  fail "the search domain was not used"
udp=$(awk '$2 == "udp"' "$work/shim_queries" | wc -l)
ports=$(awk '$2 == "udp" {print $4}' "$work/shim_queries" | sort -u | wc -l)
echo "ok $(wc -l <"$work/shim_queries") queries from 10.77.0.2 ($udp over UDP from $ports distinct source ports), big.test over TCP"

# ---- 4. getent (glibc's own program) and freeaddrinfo compatibility ----
for n in alias.test web.test hosty.test; do
  kns getent ahostsv4 "$n" >"$work/k_getent" || true
  shim getent ahostsv4 "$n" >"$work/s_getent" || true
  [ -s "$work/k_getent" ] || fail "getent ahostsv4 $n found nothing on the kernel side"
  diff -u "$work/k_getent" "$work/s_getent" || fail "getent ahostsv4 $n differs"
done
echo "ok getent ahostsv4 under the shim prints what it prints on the kernel"
if command -v valgrind >/dev/null; then
  shim valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=9 \
    getent ahostsv4 alias.test >"$work/vg.out" 2>&1 || { cat "$work/vg.out"; fail "valgrind: errors"; }
  echo "ok valgrind: getent ahostsv4 (our nodes, glibc's freeaddrinfo) has no errors"
else
  echo "skip valgrind not installed"
fi

# ---- 5. curl by name ----
shim curl -sS --max-time 30 "http://web.test:8080/file" >"$work/got" 2>"$work/curl.err" ||
  { cat "$work/curl.err"; fail "curl http://web.test:8080/file failed"; }
cmp -s "$work/got" "$work/www/file" || fail "curl: file differs"
echo "ok curl fetched http://web.test:8080/file by name"

# ---- 6. unreachable server: EAI_AGAIN, bounded by timeout * attempts ----
t0=$(date +%s.%N)
pleb env PLEBNET_RESOLV_CONF="$work/dead.conf" timeout 60 "$bin" run "${PL[@]}" -- \
  python3 "$work/probe.py" names nosuch.test >"$work/s_dead" 2>&1 || true
t1=$(date +%s.%N)
grep -q '^gai4 nosuch.test gaierror -3$' "$work/s_dead" || { cat "$work/s_dead"; fail "unreachable server: not EAI_AGAIN"; }
echo "ok unreachable server: EAI_AGAIN ($(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s for 3 lookups, timeout:1 attempts:2)"

# ---- 7. no stack: hosts only, DNS names EAI_AGAIN with one log line, nothing sent ----
before=$(queries)
pleb env -u PLEBNET_LINK LD_PRELOAD="$build/libplebnet-preload.so" \
  python3 "$work/probe.py" names hosty.test web.test >"$work/s_nostack" 2>"$work/nostack.err" || true
grep -q '^gai4 hosty.test .*10.77.0.7' "$work/s_nostack" || fail "no stack: /etc/hosts name did not resolve"
grep -q '^gai4 web.test gaierror -3$' "$work/s_nostack" || { cat "$work/s_nostack"; fail "no stack: DNS name is not EAI_AGAIN"; }
[ "$(grep -c 'no plebnet stack' "$work/nostack.err")" = 1 ] ||
  { cat "$work/nostack.err"; fail "no stack: expected exactly one log line"; }
[ "$(queries)" = "$before" ] || fail "no stack: a DNS query was sent anyway"
echo "ok no stack: /etc/hosts works, DNS names give EAI_AGAIN with one log line, nothing sent"
echo "PASS preload_dns"
