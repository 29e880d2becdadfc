#!/bin/bash
# test_plebnetd.sh — root-only integration test of plebnetd: the daemon runs in a fresh "host"
# namespace with an uplink bridge and a LAN peer namespace; unprivileged clients take leases,
# attack, and get counted by sniffers. Usage: test_plebnetd.sh PLEBNETD PNDT [PND_ECHO [PLEBNET]]
set -u
PLEBNETD=$1
PNDT_SRC=$2
ECHO_SRC=${3:-}
PLEBNET_SRC=${4:-}
if [ "$(id -u)" != 0 ]; then
    echo "SKIP: needs root"
    exit 0
fi

ID=$$_$RANDOM
H=pndtH$ID        # the daemon's host namespace
L=pndtL$ID        # the LAN peer
# Namespaces of earlier runs of this test that were killed before their trap ran.
for ns in $(ip netns list | awk '{print $1}' | grep -E '^pndt[HL][0-9]+_[0-9]+$'); do
    pid=${ns#pndt?}
    pid=${pid%_*}
    if ! kill -0 "$pid" 2>/dev/null; then
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    fi
done
# Temporary directories of earlier runs that were killed before their trap ran.
for d in /tmp/pndtest.*.*; do
    [ -d "$d" ] || continue
    pid=${d#/tmp/pndtest.}
    pid=${pid%%.*}
    kill -0 "$pid" 2>/dev/null || rm -rf "$d"
done
T=$(mktemp -d /tmp/pndtest.$$.XXXXXX)
chmod 755 "$T"
mkdir -m 1777 "$T/r"   # ready files, written by the unprivileged clients
FAILS=0
PASSES=0
DPID=
ATT=61001; VIC=61002; NOBODY_RULE=61003; OTHER=61004
LMAC=02:aa:00:00:00:01
LIP=10.77.0.1
HOSTIP=10.77.0.2
FOREIGN=10.77.0.99

cleanup() {
    [ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null
    for p in $(jobs -p); do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    ip netns del "$H" 2>/dev/null
    ip netns del "$L" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
trap "exit 1" TERM INT HUP

ok() { PASSES=$((PASSES + 1)); echo "ok   $*"; }
bad() { FAILS=$((FAILS + 1)); echo "FAIL $*"; }
# expect NAME GOT OP WANT (OP: eq ge le)
expect() {
    if [ "$2" -"$3" "$4" ] 2>/dev/null; then ok "$1 ($2 $3 $4)"; else bad "$1: got '$2', want $3 $4"; fi
}
count() { # count FILE TAG -> number after "rx TAG"
    awk -v t="$2" '$1 == "rx" && $2 == t { n = $3 } END { print n + 0 }' "$1"
}
as() { # as UID CMD... : run unprivileged inside the host namespace
    local u=$1
    shift
    ip netns exec "$H" setpriv --reuid="$u" --regid="$u" --clear-groups "$@"
}
as_exec() { # like as, but replaces the calling (background) subshell so $! is the client
    local u=$1
    shift
    exec ip netns exec "$H" setpriv --reuid="$u" --regid="$u" --clear-groups "$@"
}
alive() { # a pid that exists and is not a zombie
    [ -r /proc/"$1"/status ] && ! grep -q '^State:.Z' /proc/"$1"/status
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

cp "$PNDT_SRC" "$T/pndt" && chmod 755 "$T/pndt"
P=$T/pndt
[ -n "$ECHO_SRC" ] && cp "$ECHO_SRC" "$T/pnd_echo" && chmod 755 "$T/pnd_echo"

# ---- topology ----
ip netns add "$H" && ip netns add "$L" || { echo "FAIL: cannot create namespaces"; exit 1; }
ip -n "$H" link add br0 type bridge
ip -n "$H" link set br0 up
ip -n "$H" addr add $HOSTIP/24 dev br0
ip -n "$H" link add lanH type veth peer name lanL netns "$L"
ip -n "$H" link set lanH master br0 up
ip -n "$L" link set lanL address $LMAC up
ip -n "$L" addr add $LIP/24 dev lanL

cat > "$T/conf" <<EOF
# plebnetd integration test
socket $T/sock
chroot $T/empty
user nobody
max-leases-per-user 3
max-connections 64
request-timeout 1000
uplink br0
pool lan {
    uplink br0
    range 10.77.0.10-10.77.0.30
    address $HOSTIP        # the host's own address: must never be leased
    prefix 24
    gateway $LIP
    mtu 1500
    mac client 02:50:00:00:00:00/16
}
pool other {
    uplink br0
    range 10.77.0.40-10.77.0.41
    prefix 24
}
allow uid $ATT pool lan
allow uid $VIC pool lan
allow uid $OTHER pool other
EOF

# ---- 1. configuration checks ----
out=$("$PLEBNETD" --check-config -c "$T/conf" 2>&1)
expect "check-config accepts the test config" $? eq 0
printf 'uplink br0\npool x {\n uplink br0\n range 10.0.0.5-10.0.0.1\n}\n' > "$T/bad.conf"
out=$("$PLEBNETD" --check-config -c "$T/bad.conf" 2>&1)
rc=$?
expect "check-config rejects a bad config" $rc eq 1
if [ "$out" = "plebnetd: $T/bad.conf:4: range '10.0.0.5-10.0.0.1' ends before it starts" ]; then
    ok "error names file:line and the problem"
else bad "error message: $out"; fi

# ---- start the daemon ----
start_daemon() { # waits for a new "started" line (the log keeps those of earlier runs)
    local before
    before=$(grep -c started "$T/d.log" 2>/dev/null)
    ip netns exec "$H" "$PLEBNETD" --foreground -c "$T/conf" >> "$T/d.log" 2>&1 &
    DPID=$!
    for _ in $(seq 50); do
        [ "$(grep -c started "$T/d.log")" -gt "${before:-0}" ] && [ -S "$T/sock" ] && return 0
        sleep 0.1
    done
    echo "FAIL: daemon did not start"; cat "$T/d.log"; exit 1
}
start_daemon
EPID=$(pgrep -P "$DPID" | head -1)
# The engine drops privileges right after the fork: give it a moment.
for _ in $(seq 100); do [ "$(stat -c %u /proc/"$EPID" 2>/dev/null)" != 0 ] && break; sleep 0.02; done
sleep 0.1
expect "engine runs as nobody" "$(stat -c %u /proc/"$EPID")" eq "$(id -u nobody)"
grep -q '^CapEff:.0000000000000000' /proc/"$EPID"/status && ok "engine has no capabilities" || bad "engine capabilities"
grep -q '^NoNewPrivs:.1' /proc/"$EPID"/status && ok "engine no_new_privs" || bad "engine no_new_privs"
grep -q '^Seccomp:.2' /proc/"$EPID"/status && ok "engine seccomp filter" || bad "engine seccomp"
capeff=$(awk '/^CapEff/{print $2}' /proc/"$DPID"/status)
expect "parent keeps only NET_ADMIN, NET_RAW, SYS_ADMIN" "$((16#$capeff))" eq $(((1 << 12) | (1 << 13) | (1 << 21)))

# ---- 2. frames: attacker, victim (promiscuous), sniffer on the LAN ----
ip netns exec "$L" "$P" sniff lanL 5000 "$T/r/sniff.ready" > "$T/sniff.out" &
SNIFF=$!
as_exec $VIC "$P" lease "$T/sock" --promisc --count --hold 5000 --ready "$T/r/victim.ready" > "$T/victim.out" &
VICTIM=$!
for _ in $(seq 50); do [ -e "$T/r/victim.ready" ] && [ -e "$T/r/sniff.ready" ] && break; sleep 0.05; done
VMAC=$(awk '/^lease/{print $8}' "$T/victim.out")
VIP=$(awk '/^lease/{split($4, a, "/"); print a[1]}' "$T/victim.out")
if [ -n "$VMAC" ]; then ok "victim got a lease ($VIP $VMAC)"; else bad "victim lease: $(cat "$T/victim.out")"; fi
as $ATT "$P" lease "$T/sock" --attack $LMAC $LIP "$VMAC" "$VIP" $FOREIGN > "$T/att.out"
AIP=$(awk '/^lease/{split($4, a, "/"); print a[1]}' "$T/att.out")
AMAC=$(awk '/^lease/{print $8}' "$T/att.out")
# LAN -> leases: positive controls and frames the victim must not see.
lan() { ip netns exec "$L" "$P" send lanL $LMAC $LIP "$@"; }
lan "$VMAC" ip v_uni "$VIP"
lan ff:ff:ff:ff:ff:ff arp v_arp "$VIP"
lan 02:50:0a:4d:00:63 ip o_uni $FOREIGN
lan "$AMAC" ip a_uni "$AIP"
lan ff:ff:ff:ff:ff:ff ip o_bcast 10.77.0.255
lan ff:ff:ff:ff:ff:ff arp o_arp $FOREIGN
lan "$VMAC" ipv6 v_ipv6 "$VIP"
lan "$VMAC" vlan v_vlan "$VIP"
wait $SNIFF $VICTIM
for s in SO_DETACH_FILTER SO_ATTACH_FILTER SO_LOCK_FILTER=0; do
    r=$(awk -v s=$s '$1 == "sockopt" && $2 == s { $1 = $2 = ""; print }' "$T/att.out")
    if [ -n "$r" ] && ! echo "$r" | grep -q ALLOWED; then ok "$s refused:$r"; else bad "$s: '$r'"; fi
done
grep -q '^txring ok' "$T/att.out" && ok "TX ring variant ran" || bad "TX ring setup: $(grep txring "$T/att.out")"
for v in "" _qb _tx _vn; do
    expect "LAN receives legit IPv4 ok_ip$v (positive control)" "$(count "$T/sniff.out" ok_ip$v)" ge 1
    expect "LAN receives legit ARP ok_arp$v (positive control)" "$(count "$T/sniff.out" ok_arp$v)" ge 1
    expect "victim receives legit lease-to-lease ok_ipv$v" "$(count "$T/victim.out" ok_ipv$v)" ge 1
done
expect "LAN receives a legit large GSO frame (positive control)" "$(count "$T/sniff.out" gso_ok)" ge 1
zero=0
for v in "" _qb _tx _vn _st _rb; do
    for t in sp_smac sp_smacv sp_sip sp_sipv arp_sip arp_sha garp arp_rep arp_htype ipv6 etype vlan qinq dhcp; do
        n=$(($(count "$T/sniff.out" $t$v) + $(count "$T/victim.out" $t$v)))
        [ "$n" = 0 ] || bad "spoofed frame $t$v arrived $n times"
        zero=$((zero + 1))
    done
done
expect "spoofed GSO frame (foreign source IP)" "$(($(count "$T/sniff.out" gso_sip)))" eq 0
ok "$zero spoof cases checked (MAC, IP, ARP sender/gratuitous/reply/htype, IPv6, EtherType, 802.1Q, 802.1ad, DHCP server; plain, QDISC_BYPASS, TX ring, vnet_hdr, sendto other ifindex, rebind)"
expect "victim receives LAN unicast to it (positive control)" "$(count "$T/victim.out" v_uni)" ge 1
expect "victim receives ARP request for its IP (positive control)" "$(count "$T/victim.out" v_arp)" ge 1
for t in o_uni a_uni o_bcast o_arp v_ipv6 v_vlan ok_ip ok_arp; do
    expect "promiscuous victim does not receive $t" "$(count "$T/victim.out" $t)" eq 0
done
grep -q 'promisc on' "$T/victim.out" && ok "victim enabled promiscuous membership" || bad "victim promisc"
sleep 0.3
dropped=$(grep "released.*ip $AIP " "$T/d.log" | sed -n 's/.*from holder [0-9]* passed \([0-9]*\) dropped.*/\1/p' | tail -1)
expect "ingress filter counted the attacker's drops" "${dropped:-0}" ge 50

# ---- 2b. end to end: a libplebnet stack on a leased descriptor answers ping from the LAN ----
if [ -n "$ECHO_SRC" ] && ! command -v ping > /dev/null; then
    echo "skip end-to-end ping: no ping(8) (Debian package iputils-ping)"
elif [ -n "$ECHO_SRC" ]; then
    as_exec $ATT "$T/pnd_echo" "$T/sock" 4000 "$T/r/echo.ready" > "$T/echo.out" &
    ECHO=$!
    for _ in $(seq 60); do [ -e "$T/r/echo.ready" ] && break; sleep 0.05; done
    EIP=$(awk '/^lease/{print $3}' "$T/echo.out")
    ip netns exec "$L" ping -c 3 -i 0.2 -W 1 "$EIP" > "$T/ping.out" 2>&1
    got=$(awk '/received/{print $4}' "$T/ping.out")
    expect "LAN pings a libplebnet stack on a lease ($EIP)" "${got:-0}" eq 3
    wait $ECHO
    expect "the stack saw the echo requests" "$(awk '/^echo_requests/{print $2}' "$T/echo.out")" ge 3
    [ "${got:-0}" = 3 ] || { cat "$T/echo.out" "$T/ping.out"; ip -n "$L" neigh; }
fi

# ---- 2c. TCP through a lease, both ways: the broker link's RX ring and vnet_hdr segments ----
# lease -> LAN: the leased stack hands the kernel 64 KiB TCP segments (virtio_net_hdr GSO);
# LAN -> lease: Linux on L sends TSO frames that reach the packet socket whole (coalesced).
# The release log's per-lease frame counts show which sizes crossed the host-side filters.
if [ -n "$PLEBNET_SRC" ] && command -v socat > /dev/null; then
    cp "$PLEBNET_SRC" "$T/plebnet" && chmod 755 "$T/plebnet"
    TCPB=8388608
    head -c $TCPB /dev/urandom > "$T/tcp.data"
    chmod 644 "$T/tcp.data"
    TWANT=$(sha256sum < "$T/tcp.data" | awk '{print $1}')
    listening() { # listening NS PORT: waits (at most 2 s) for a kernel listener
        for _ in $(seq 100); do
            ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q LISTEN && return 0
            sleep 0.02
        done
        return 1
    }
    frames_of() { # frames_of IP from|to: frames the lease of IP passed, from its release line
        grep "released.*ip $1 " "$T/d.log" | tail -1 |
            sed -n "s/.*$2 holder \([0-9]*\) passed.*/\1/p"
    }
    ip netns exec "$L" timeout 30 socat -u TCP-LISTEN:7101,reuseaddr "OPEN:$T/tcp.out1,creat,trunc" &
    RP=$!
    listening "$L" 7101 || bad "socat on L did not listen"
    as $ATT timeout 30 "$T/plebnet" nc --link "broker:$T/sock" --addr 10.77.0.25/24 -w 10 \
        $LIP 7101 < "$T/tcp.data" 2> "$T/tcp1.err"
    wait $RP
    got=$(sha256sum < "$T/tcp.out1" | awk '{print $1}')
    [ "$got" = "$TWANT" ] && ok "8 MiB lease -> LAN over TCP, sha256 ok" ||
        bad "lease -> LAN: $(stat -c %s "$T/tcp.out1") of $TCPB bytes, $(head -3 "$T/tcp1.err")"
    sleep 0.2
    # 8 MiB in MSS-sized frames would be > 5,790; large segments make it a few hundred.
    expect "lease -> LAN used large segments (frames through the filter)" "$(frames_of 10.77.0.25 from)" le 2900
    as $ATT timeout 30 "$T/plebnet" nc -l --link "broker:$T/sock" --addr 10.77.0.26/24 -w 10 \
        7102 > "$T/r/tcp.out2" 2> "$T/tcp2.err" &
    NCL=$!
    sent=
    for _ in $(seq 20); do
        if ip netns exec "$L" timeout 30 socat -u "OPEN:$T/tcp.data" \
            TCP:10.77.0.26:7102,connect-timeout=1 2> /dev/null; then sent=1; break; fi
        sleep 0.1
    done
    wait $NCL
    got=$(sha256sum < "$T/r/tcp.out2" | awk '{print $1}')
    [ -n "$sent" ] && [ "$got" = "$TWANT" ] && ok "8 MiB LAN -> lease over TCP, sha256 ok" ||
        bad "LAN -> lease: $(stat -c %s "$T/r/tcp.out2") of $TCPB bytes, $(head -3 "$T/tcp2.err")"
    sleep 0.2
    expect "LAN -> lease arrived as coalesced frames (frames through the filter)" "$(frames_of 10.77.0.26 to)" le 2900
else
    echo "skip TCP through a lease: no plebnet binary given or no socat"
fi

# ---- 3. requests the policy must refuse ----
status_of() { awk '/^status/{ $1 = ""; sub(/^ [0-9]+ /, ""); print; exit }'; }
r=$(as $NOBODY_RULE "$P" lease "$T/sock" | status_of)
[ "$r" = "denied by policy" ] && ok "user without a rule: $r" || bad "no rule: '$r'"
r=$(as $ATT "$P" lease "$T/sock" --ip 10.77.0.200 | status_of)
[ "$r" = "denied by policy" ] && ok "address outside policy: $r" || bad "outside policy: '$r'"
r=$(as $ATT "$P" lease "$T/sock" --ip 10.77.0.40 | status_of)
[ "$r" = "denied by policy" ] && ok "another user's pool: $r" || bad "other pool: '$r'"
r=$(as $ATT "$P" lease "$T/sock" --ip $HOSTIP | status_of)
[ "$r" = "address in use" ] && ok "host's own address: $r" || bad "host address: '$r'"
r=$(as $ATT "$P" lease "$T/sock" --ip $LIP | status_of)
[ "$r" = "denied by policy" ] || [ "$r" = "address in use" ] && ok "gateway address: $r" || bad "gateway: '$r'"
r=$(as $ATT "$P" lease "$T/sock" --mac 02:51:00:00:00:01 | status_of)
[ "$r" = "MAC address not allowed" ] && ok "MAC outside the prefix: $r" || bad "MAC policy: '$r'"
r=$(as $ATT "$P" lease "$T/sock" --mac 03:50:00:00:00:01 | status_of)
[ "$r" = "MAC address not allowed" ] && ok "multicast MAC: $r" || bad "multicast MAC: '$r'"
r=$(as $ATT "$P" lease "$T/sock" --uplink br9 | status_of)
[ "$r" = "denied by policy" ] && ok "unknown uplink: $r" || bad "uplink: '$r'"
# Held leases: the victim's address, the same address twice, the per-user limit.
HOLD=
as_exec $VIC "$P" lease "$T/sock" --ip 10.77.0.20 --hold 8000 --ready "$T/r/h1" > "$T/h1.out" &
HOLD="$HOLD $!"
as_exec $ATT "$P" lease "$T/sock" --ip 10.77.0.21 --mac 02:50:00:00:00:21 --hold 8000 --ready "$T/r/h2" > "$T/h2.out" &
HOLD="$HOLD $!"
for _ in $(seq 60); do [ -e "$T/r/h1" ] && [ -e "$T/r/h2" ] && break; sleep 0.05; done
r=$(as $ATT "$P" lease "$T/sock" --ip 10.77.0.20 | status_of)
[ "$r" = "address in use" ] && ok "another user's leased address: $r" || bad "other's address: '$r'"
r=$(as $VIC "$P" lease "$T/sock" --ip 10.77.0.20 | status_of)
[ "$r" = "address in use" ] && ok "the same address twice: $r" || bad "same twice: '$r'"
r=$(as $VIC "$P" lease "$T/sock" --mac 02:50:00:00:00:21 | status_of)
[ "$r" = "MAC address in use" ] && ok "another lease's MAC: $r" || bad "MAC in use: '$r'"
as_exec $ATT "$P" lease "$T/sock" --hold 8000 --ready "$T/r/h3" > "$T/h3.out" &
HOLD="$HOLD $!"
as_exec $ATT "$P" lease "$T/sock" --hold 8000 --ready "$T/r/h4" > "$T/h4.out" &
HOLD="$HOLD $!"
for _ in $(seq 60); do [ -e "$T/r/h3" ] && [ -e "$T/r/h4" ] && break; sleep 0.05; done
r=$(as $ATT "$P" lease "$T/sock" | status_of)
[ "$r" = "lease limit reached" ] && ok "per-user limit (3): $r" || bad "limit: '$r' $(cat "$T"/h[1-4].out)"
# The root-only lease list sees the four held leases, with their counters.
ip netns exec "$H" "$P" list "$T/sock" > "$T/list.out"
expect "root lists the active leases" "$(awk '/^count/{print $2}' "$T/list.out")" eq 4
expect "list names each lease's device and uid" "$(grep -c "^entry [0-9a-f]* uid 6100[12] ip 10.77.0.[0-9]* dev pnd" "$T/list.out")" eq 4
if [ -n "$ECHO_SRC" ]; then
    expect "libplebnet's pn_broker_list sees them too" "$(ip netns exec "$H" "$T/pnd_echo" --list "$T/sock" | awk '/^count/{print $2}')" eq 4
fi
r=$(as $ATT "$P" list "$T/sock" | status_of)
[ "$r" = "denied by policy" ] && ok "non-root lease list: $r" || bad "non-root list: '$r'"
r=$(as $OTHER "$P" lease "$T/sock" --hold 10 | status_of)
r2=$(as $OTHER "$P" lease "$T/sock" --hold 10 | status_of)
[ "$r" = ok ] && [ "$r2" = ok ] && ok "leases are reusable after release" || bad "reuse: '$r' '$r2'"
kill $HOLD 2>/dev/null
wait $HOLD 2>/dev/null

# ---- 4. malformed requests and connection floods ----
t0=$(now_ms)
as $ATT "$P" garbage "$T/sock" 10000 7 > "$T/garbage.out"
grep -q '^reply OK' "$T/garbage.out" && bad "a malformed request was accepted: $(cat "$T/garbage.out")" || ok "10000 malformed requests: none accepted ($(tr '\n' ' ' < "$T/garbage.out")) in $(($(now_ms) - t0)) ms"
expect "malformed requests all answered" "$(awk '/^closed/{print $2}' "$T/garbage.out")" eq 0
(ulimit -n 4096; as $ATT "$P" flood "$T/sock" 1000) > "$T/flood.out"
conn=$(awk '{print $2}' "$T/flood.out"); busy=$(awk '{print $4}' "$T/flood.out")
expect "1000 parallel connects accepted" "${conn:-0}" eq 1000
expect "connections past max-connections get 'busy'" "${busy:-0}" ge 900
r=$(as $ATT "$P" lease "$T/sock" | status_of)
[ "$r" = ok ] && ok "daemon still serves after the floods" || bad "after floods: '$r'"
kill -0 "$DPID" && kill -0 "$EPID" && ok "parent and engine survived" || bad "a daemon process died"

# ---- 5. lifecycle ----
# Client SIGKILL: lease, veth and namespace gone within 1 s.
as_exec $ATT "$P" lease "$T/sock" --hold 20000 --ready "$T/r/k1" > "$T/k1.out" &
KPID=$!
for _ in $(seq 60); do [ -e "$T/r/k1" ] && break; sleep 0.05; done
KID=$(awk '/^lease/{print $2}' "$T/k1.out")
ip -n "$H" link show "pnd$KID" > /dev/null 2>&1 && ok "lease device pnd$KID exists" || bad "no device pnd$KID"
# The lease's namespace, as the kernel names it in H: the host-side veth's peer lives there,
# so H holds a namespace id for it (link-netnsid). The kernel removes that id from every
# namespace only when the namespace itself is freed (cleanup_net), i.e. after the last
# reference (a process, an fd, a socket, a device) is gone: a leaked reference keeps it listed.
KNSID=$(ip -n "$H" -d -o link show "pnd$KID" 2>/dev/null | sed -n 's/.* link-netnsid \([0-9]*\).*/\1/p')
has_nsid() { ip -n "$H" netns list-id | grep -q "^nsid $1 "; }
[ -n "$KNSID" ] && has_nsid "$KNSID" && ok "lease namespace listed in H as nsid $KNSID while held" ||
    bad "lease namespace id not found (link-netnsid '$KNSID')"
t0=$(now_ms)
# ip netns exec and setpriv exec, so $KPID is the client itself.
kill -9 "$KPID" 2>/dev/null
gone=
for _ in $(seq 100); do
    if ! ip -n "$H" link show "pnd$KID" > /dev/null 2>&1; then gone=$(($(now_ms) - t0)); break; fi
    sleep 0.01
done
expect "client SIGKILL -> device gone (ms)" "${gone:-99999}" le 1000
nsgone=
for _ in $(seq 200); do
    if [ -n "$KNSID" ] && ! has_nsid "$KNSID"; then nsgone=$(($(now_ms) - t0)); break; fi
    sleep 0.01
done
expect "client SIGKILL -> lease namespace freed, nsid $KNSID gone from H (ms)" "${nsgone:-99999}" le 1000
{ wait "$KPID"; } 2>/dev/null

# Daemon SIGKILL and restart: the old descriptor dies, no stale lease remains.
as_exec $ATT "$P" lease "$T/sock" --probe-dead --hold 8000 --ready "$T/r/k2" > "$T/k2.out" &
K2=$!
for _ in $(seq 60); do [ -e "$T/r/k2" ] && break; sleep 0.05; done
KID2=$(awk '/^lease/{print $2}' "$T/k2.out")
kill -9 "$DPID"
wait "$DPID" 2>/dev/null
for _ in $(seq 50); do alive "$EPID" || break; sleep 0.02; done
alive "$EPID" && bad "engine outlived the parent" || ok "engine exits with the parent"
ip -n "$H" link show "pnd$KID2" > /dev/null 2>&1 && ok "lease outlives a daemon crash (filters are kernel objects)" || bad "lease vanished with the daemon"
start_daemon
wait "$K2"
grep -q '^dead' "$T/k2.out" && ok "old descriptor dead after restart: $(grep '^dead' "$T/k2.out")" || bad "old descriptor still works: $(cat "$T/k2.out")"
n=$(ip -n "$H" -o link show | grep -c ' pnd[0-9a-f]\{8\}[:@]')
expect "no stale lease devices after restart" "$n" eq 0
grep -q 'removed leftover lease device' "$T/d.log" && ok "restart logged the leftover cleanup" || bad "no leftover cleanup logged"

# Lease/release cycles: no leaked descriptors, devices, filters or map entries.
lease_map_id() { # the pnd_leases map of the running daemon, from its start line
    grep started "$T/d.log" | tail -1 | sed -n 's/.*lease map id \([0-9]*\).*/\1/p'
}
# Issue 6 asks for 10,000 cycles; PND_TEST_CYCLES lowers it for quick local runs.
CYCLES=${PND_TEST_CYCLES:-10000}
DPID_FDS=$(ls /proc/"$DPID"/fd | wc -l)
NSIDS=$(ip -n "$H" netns list-id | grep -c '^nsid')
as $ATT "$P" cycles "$T/sock" "$CYCLES" > "$T/cycles.out"
cyc_ok=$(awk '{print $4}' "$T/cycles.out")
expect "$CYCLES lease/release cycles all granted ($(awk '{print $6 " ms, request->descriptor avg " $8 " ms"}' "$T/cycles.out"))" "${cyc_ok:-0}" eq "$CYCLES"
sleep 0.5
expect "lease cycles: parent fds unchanged" "$(ls /proc/"$DPID"/fd | wc -l)" eq "$DPID_FDS"
n=$(ip -n "$H" -o link show | grep -c ' pnd[0-9a-f]\{8\}[:@]')
expect "lease cycles: no devices left" "$n" eq 0
for _ in $(seq 200); do # namespaces are freed asynchronously (a workqueue): at most 2 s
    [ "$(ip -n "$H" netns list-id | grep -c '^nsid')" -le "$NSIDS" ] && break
    sleep 0.01
done
expect "lease cycles: every lease namespace freed (namespace ids in H, before $NSIDS)" "$(ip -n "$H" netns list-id | grep -c '^nsid')" eq "$NSIDS"
MAPID=$(lease_map_id)
if [ -n "$MAPID" ]; then
    expect "lease cycles: BPF lease map empty" "$(bpftool -j map dump id "$MAPID" | grep -o '"key"' | wc -l)" eq 0
else
    bad "could not find the daemon's pnd_leases map with bpftool"
fi

# Clean stop: SIGTERM removes the socket and every lease.
as_exec $ATT "$P" lease "$T/sock" --hold 5000 --ready "$T/r/k3" > /dev/null &
K3=$!
for _ in $(seq 60); do [ -e "$T/r/k3" ] && break; sleep 0.05; done
kill -TERM "$DPID"
wait "$DPID" 2>/dev/null
DPID=
[ ! -e "$T/sock" ] && ok "socket removed on SIGTERM" || bad "socket left behind"
n=$(ip -n "$H" -o link show | grep -c ' pnd[0-9a-f]\{8\}[:@]')
expect "SIGTERM tears every lease down" "$n" eq 0
wait $K3 2>/dev/null
expect "one log line per grant" "$(grep -c granted "$T/d.log")" ge 10

echo "passed $PASSES, failed $FAILS"
[ "$FAILS" = 0 ]
