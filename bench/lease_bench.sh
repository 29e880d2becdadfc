#!/bin/bash
# lease_bench.sh — plebnetd benchmark (root; prints figures, never asserts on time).
# Usage: bench/lease_bench.sh BUILD_DIR
#   BUILD_DIR holds plebnetd, plebnet and bench/plebnet-lease-cycles
#   (cmake --build BUILD_DIR builds them all).
# Environment: N (lease cycles, default 200), MIB (MiB per transfer, default 256, max 1024),
#   REPEAT (transfers per side, default 3), GAP (ms pause after each release in 1b, default 50),
#   MODES (broker link I/O modes to compare, values of PLEBNET_BROKER_IO, default
#   "plain rxring ring plain,novnet": the default recvmsg/sendmmsg with vnet_hdr large
#   segments, a TPACKET_V3 RX ring, RX+TX rings, and the first version's MTU-sized frames).
#
# Same topology as tests/daemon/test_plebnetd.sh: plebnetd runs in a fresh "host" namespace H
# with an uplink bridge br0; the LAN peer namespace L hangs off br0 by a veth pair. A third
# namespace K (a plain Linux host) joins br0 by its own veth pair. Everything lives in
# namespaces this script creates (unique names with $$) and is deleted by the EXIT trap.
#  1. request→descriptor latency: plebnet-lease-cycles, as an unprivileged user, runs N
#     sequential lease+release cycles in one process (no process startup in the figure);
#     back to back (each request also waits for the daemon to tear the previous lease down)
#     and, 1b, with a GAP ms pause after each release (the grant alone).
#  2. TCP throughput to a kernel socat on L: from a leased plebnet stack
#     (`plebnet nc --link broker:SOCK`, unprivileged) and from Linux TCP in K (socat), same
#     bridge, same receiver, alternated, REPEAT times each; sha256 of what arrives is checked.
#     Then Linux once more with TSO/GSO off on K's veth (MTU-sized frames, like plebnet's).
#  3. TCP throughput the other way: socat on L sends to `plebnet nc -l` on a lease, per mode
#     (Linux's TSO frames reach the packet socket whole: coalesced receive).
#  4. ping RTT from L to a leased stack (tests/daemon/pnd_echo, if built), per mode: the RX
#     ring hands frames over per block (retire timeout 1 ms), recvmsg per frame.
set -u
B=${1:?usage: lease_bench.sh BUILD_DIR}
N=${N:-200}
MIB=${MIB:-256}
REPEAT=${REPEAT:-3}
GAP=${GAP:-50}
MODES=${MODES:-plain rxring ring plain,novnet}
if [ "$(id -u)" != 0 ]; then
    echo "lease_bench: needs root (network namespaces, plebnetd)"
    exit 1
fi
[ "$MIB" -ge 1 ] && [ "$MIB" -le 1024 ] || { echo "lease_bench: MIB must be 1..1024"; exit 1; }
for f in "$B/plebnetd" "$B/plebnet" "$B/bench/plebnet-lease-cycles"; do
    [ -x "$f" ] || { echo "lease_bench: missing $f (build $B first)"; exit 1; }
done
command -v socat > /dev/null || { echo "lease_bench: needs socat"; exit 1; }

ID=$$_$RANDOM
H=pnlbH$ID   # plebnetd's host namespace (br0)
L=pnlbL$ID   # LAN peer: the kernel receiver
K=pnlbK$ID   # a plain Linux sender on the same bridge
# Namespaces and directories of earlier runs that were killed before their trap ran.
for ns in $(ip netns list | awk '{print $1}' | grep -E '^pnlb[HLK][0-9]+_[0-9]+$'); do
    pid=${ns#pnlb?}
    pid=${pid%_*}
    if ! kill -0 "$pid" 2>/dev/null; then
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    fi
done
for d in /dev/shm/pnlb.*.*; do
    [ -d "$d" ] || continue
    pid=${d#/dev/shm/pnlb.}
    pid=${pid%%.*}
    kill -0 "$pid" 2>/dev/null || rm -rf "$d"
done
# tmpfs: the transfers are written to files, not to a disk or through a hash in the pipe.
T=$(mktemp -d /dev/shm/pnlb.$$.XXXXXX)
chmod 755 "$T"
DPID=
CLIENT=61001
LIP=10.77.0.1
HOSTIP=10.77.0.2
KIP=10.77.0.3

cleanup() {
    [ -n "$DPID" ] && kill -TERM "$DPID" 2>/dev/null
    for p in $(jobs -p); do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    for ns in "$H" "$L" "$K"; do
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done
    rm -rf "$T"
}
trap cleanup EXIT
trap "exit 1" TERM INT HUP

as() { # as UID CMD... : run unprivileged inside the host namespace
    local u=$1
    shift
    ip netns exec "$H" setpriv --reuid="$u" --regid="$u" --clear-groups "$@"
}
now_ns() { date +%s%N; }
# bg CMD...: runs CMD in the background and waits for it, so that a signal runs the trap at
# once (bash defers traps while a foreground command runs); returns CMD's status.
bg() {
    "$@" 0<&0 &  # explicit: a background job would otherwise read /dev/null
    wait $!
}

cp "$B/plebnet" "$T/plebnet"
cp "$B/bench/plebnet-lease-cycles" "$T/lease-cycles"
chmod 755 "$T/plebnet" "$T/lease-cycles"

# ---- topology (as in tests/daemon/test_plebnetd.sh, plus K) ----
ip netns add "$H" && ip netns add "$L" && ip netns add "$K" ||
    { echo "lease_bench: cannot create namespaces"; exit 1; }
ip -n "$H" link set lo up
ip -n "$H" link add br0 type bridge
ip -n "$H" link set br0 up
ip -n "$H" addr add $HOSTIP/24 dev br0
ip -n "$H" link add lanH type veth peer name lanL netns "$L"
ip -n "$H" link set lanH master br0 up
ip -n "$L" link set lo up
ip -n "$L" link set lanL up
ip -n "$L" addr add $LIP/24 dev lanL
# A veth hands frames on with checksums left to offload (CHECKSUM_PARTIAL); the broker link
# asks the kernel (PACKET_AUXDATA, TP_STATUS_CSUMNOTREADY) and accepts them. TXOFF=1 makes
# the receiver compute its checksums instead, as the first version of this script had to.
[ "${TXOFF:-0}" = 1 ] && ip netns exec "$L" ethtool -K lanL tx off > /dev/null
ip -n "$H" link add kH type veth peer name kK netns "$K"
ip -n "$H" link set kH master br0 up
ip -n "$K" link set lo up
ip -n "$K" link set kK up
ip -n "$K" addr add $KIP/24 dev kK

cat > "$T/conf" <<EOF
# lease_bench.sh
socket $T/sock
chroot $T/empty
user nobody
max-leases-per-user 4
max-connections 64
request-timeout 1000
uplink br0
pool lan {
    uplink br0
    range 10.77.0.10-10.77.0.200
    address $HOSTIP
    prefix 24
    gateway $LIP
    mtu 1500
    mac client 02:50:00:00:00:00/16
}
allow uid $CLIENT pool lan
EOF
ip netns exec "$H" "$B/plebnetd" --foreground -c "$T/conf" > "$T/d.log" 2>&1 &
DPID=$!
for _ in $(seq 50); do
    grep -q started "$T/d.log" 2>/dev/null && [ -S "$T/sock" ] && break
    sleep 0.1
done
[ -S "$T/sock" ] || { echo "lease_bench: plebnetd did not start"; cat "$T/d.log"; exit 1; }
sleep 0.3 # the engine drops privileges right after its fork

echo "== machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPUs, kernel $(uname -r)"

# ---- 1. request→descriptor latency, leases per second ----
echo "== 1. lease+release cycles (N=$N, one unprivileged process, sequential)"
for m in $MODES; do
    bg as $CLIENT env PLEBNET_BROKER_IO="$m" timeout 300 "$T/lease-cycles" "$T/sock" "$N" > "$T/cyc.out"
    rc=$?
    echo "   [$m] $(cat "$T/cyc.out")"
    [ $rc = 0 ] || echo "   lease-cycles exit status $rc"
done
sleep 0.5
left=$(ip -n "$H" -o link show | grep -c ' pnd[0-9a-f]\{8\}[:@]')
echo "   lease devices left after the run: $left"
echo "== 1b. the same with a ${GAP}ms pause after each release (grant alone, no teardown queued)"
for m in $MODES; do
    bg as $CLIENT env PLEBNET_BROKER_IO="$m" timeout 300 "$T/lease-cycles" "$T/sock" "$N" "$GAP" > "$T/cyc.out"
    rc=$?
    echo "   [$m] $(sed 's/ wall_ms.*//' "$T/cyc.out")"
    [ $rc = 0 ] || echo "   lease-cycles exit status $rc"
done

# ---- 2. TCP throughput to the kernel receiver on L ----
echo "== 2. TCP throughput, $MIB MiB per transfer, to socat on L ($LIP), REPEAT=$REPEAT"
BYTES=$((MIB * 1048576))
bg head -c "$BYTES" /dev/urandom > "$T/data"
chmod 644 "$T/data"
WANT=$(sha256sum < "$T/data" | awk '{print $1}')
PORT=5000
# recv_start: socat on L writes one connection to $T/rx; waits until it listens.
recv_start() {
    PORT=$((PORT + 1))
    rm -f "$T/rx"
    ip netns exec "$L" timeout 120 socat -u TCP-LISTEN:$PORT,reuseaddr "OPEN:$T/rx,creat,trunc" &
    RPID=$!
    for _ in $(seq 100); do
        ip netns exec "$L" ss -Hltn "sport = :$PORT" | grep -q LISTEN && return 0
        sleep 0.02
    done
    echo "   receiver did not start"
    return 1
}
# recv_check NAME T_NS: waits for the receiver, checks size and sha256, prints Mbit/s.
recv_check() {
    wait "$RPID"
    local got size
    size=$(stat -c %s "$T/rx" 2>/dev/null || echo 0)
    got=$({ sha256sum < "$T/rx"; } 2>/dev/null | awk '{print $1}')
    if [ "$got" = "$WANT" ]; then
        MBPS=$(awk -v b="$BYTES" -v t="$2" 'BEGIN { printf "%.0f", b * 8 / t * 1000 }')
        printf '   %-10s %6s Mbit/s  (%d bytes in %d ms, sha256 ok)\n' "$1" "$MBPS" "$size" $(($2 / 1000000))
    else
        MBPS=
        echo "   $1: sha256 MISMATCH ($size of $BYTES bytes arrived)"
        [ "$1" = plebnet ] && sed "s/^/     nc: /" "$T/nc.err" | head -20
    fi
}
# Warm-up: K resolves L's address and the bridge learns both ports before anything is timed.
recv_start && head -c 65536 "$T/data" | ip netns exec "$K" timeout 10 socat -u - TCP:$LIP:$PORT
wait "$RPID" 2>/dev/null
declare -A PL
LX=
for i in $(seq "$REPEAT"); do
    # plebnet on a lease (unprivileged): lease, ARP, connect, send, half-close, exit; once per
    # broker link I/O mode.
    for m in $MODES; do
        if recv_start; then
            t0=$(now_ns)
            bg as $CLIENT env PLEBNET_BROKER_IO="$m" timeout 120 "$T/plebnet" nc -v \
                --link "broker:$T/sock" -w 20 $LIP $PORT < "$T/data" > /dev/null 2> "$T/nc.err"
            rc=$?
            t1=$(now_ns)
            [ $rc = 0 ] || { echo "   plebnet nc exit status $rc: $(head -3 "$T/nc.err")"; kill "$RPID" 2>/dev/null; }
            recv_check "plebnet[$m]" $((t1 - t0))
            PL[$m]="${PL[$m]:-} $MBPS"
            grep released "$T/d.log" | tail -1 | sed -n 's/.*; from holder \([0-9]*\) passed.*/     frames from the holder: \1/p'
        fi
    done
    # Linux TCP in K over the same bridge to the same receiver.
    if recv_start; then
        t0=$(now_ns)
        bg ip netns exec "$K" timeout 120 socat -u "OPEN:$T/data" TCP:$LIP:$PORT 2> "$T/k.err"
        rc=$?
        t1=$(now_ns)
        [ $rc = 0 ] || { echo "   socat exit status $rc: $(head -3 "$T/k.err")"; kill "$RPID" 2>/dev/null; }
        recv_check "linux" $((t1 - t0))
        LX="$LX $MBPS"
    fi
done
med() { echo "$@" | tr ' ' '\n' | grep . | sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)] }'; }
LM=$(med $LX)
echo "   runs (Mbit/s): linux:${LX:- none}"
for m in $MODES; do
    PM=$(med ${PL[$m]:-})
    echo "   runs (Mbit/s): plebnet[$m]:${PL[$m]:- none}"
    if [ -n "$PM" ] && [ -n "$LM" ]; then
        echo "   median: plebnet[$m] $PM Mbit/s, linux $LM Mbit/s, ratio plebnet/linux $(awk -v a="$PM" -v b="$LM" 'BEGIN { printf "%.2f", a / b }')x"
    else
        echo "   no ratio for $m: a side has no successful transfer"
    fi
done
PM=$(med ${PL[${MODES%% *}]:-})
# For reading the ratio: Linux again with segmentation offloads off on K's veth, so that it
# too puts MTU-sized frames on the bridge, as plebnet's packet socket does.
ip netns exec "$K" ethtool -K kK tso off gso off > /dev/null 2>&1
LN=
for i in $(seq "$REPEAT"); do
    if recv_start; then
        t0=$(now_ns)
        bg ip netns exec "$K" timeout 120 socat -u "OPEN:$T/data" TCP:$LIP:$PORT 2> "$T/k.err"
        rc=$?
        t1=$(now_ns)
        [ $rc = 0 ] || { echo "   socat exit status $rc: $(head -3 "$T/k.err")"; kill "$RPID" 2>/dev/null; }
        recv_check "linux-1500" $((t1 - t0))
        LN="$LN $MBPS"
    fi
done
LNM=$(med $LN)
[ -n "$LNM" ] && [ -n "$PM" ] &&
    echo "   linux with tso/gso off on K: median $LNM Mbit/s; plebnet[${MODES%% *}]/that $(awk -v a="$PM" -v b="$LNM" 'BEGIN { printf "%.2f", a / b }')x"

# ---- 3. LAN -> lease ----
echo "== 3. TCP throughput LAN -> lease, $MIB MiB per transfer, socat on L -> plebnet nc -l, REPEAT=$REPEAT"
mkdir -m 1777 "$T/w"
declare -A PR
for i in $(seq "$REPEAT"); do
    for m in $MODES; do
        PORT=$((PORT + 1))
        rm -f "$T/w/rx"
        as $CLIENT env PLEBNET_BROKER_IO="$m" timeout 120 "$T/plebnet" nc -l --link "broker:$T/sock" \
            --addr 10.77.0.50/24 -w 20 $PORT > "$T/w/rx" 2> "$T/ncl.err" &
        NPID=$!
        for _ in $(seq 100); do
            ip -n "$H" -o link show | grep -q ' pnd[0-9a-f]\{8\}[:@].*state UP' && break
            sleep 0.02
        done
        sleep 0.2 # the listener is set up right after the lease
        t0=$(now_ns)
        bg ip netns exec "$L" timeout 120 socat -u "OPEN:$T/data" TCP:10.77.0.50:$PORT,connect-timeout=5 2> "$T/l.err"
        wait $NPID
        t1=$(now_ns)
        got=$({ sha256sum < "$T/w/rx"; } 2>/dev/null | awk '{print $1}')
        if [ "$got" = "$WANT" ]; then
            MBPS=$(awk -v b="$BYTES" -v t="$((t1 - t0))" 'BEGIN { printf "%.0f", b * 8 / t * 1000 }')
            printf '   %-22s %6s Mbit/s  (sha256 ok)\n' "plebnet-rx[$m]" "$MBPS"
            PR[$m]="${PR[$m]:-} $MBPS"
        else
            echo "   plebnet-rx[$m]: sha256 MISMATCH ($(stat -c %s "$T/w/rx" 2>/dev/null) of $BYTES bytes): $(head -2 "$T/l.err" "$T/ncl.err" | tr '\n' ' ')"
        fi
        grep released "$T/d.log" | tail -1 | sed -n 's/.*; to holder \([0-9]*\) passed.*/     frames to the holder: \1/p'
    done
done
for m in $MODES; do
    echo "   median LAN -> lease [$m]: $(med ${PR[$m]:-}) Mbit/s (runs:${PR[$m]:- none})"
done

# ---- 4. ping RTT ----
if [ -x "$B/tests/daemon/pnd_echo" ] && command -v ping > /dev/null; then
    echo "== 4. ping from L to a leased stack (pnd_echo), 40 echoes 50 ms apart, per mode"
    cp "$B/tests/daemon/pnd_echo" "$T/pnd_echo" && chmod 755 "$T/pnd_echo"
    for m in $MODES; do
        rm -f "$T/w/echo.ready"
        as $CLIENT env PLEBNET_BROKER_IO="$m" "$T/pnd_echo" "$T/sock" 4000 "$T/w/echo.ready" > "$T/echo.out" &
        EP=$!
        for _ in $(seq 100); do [ -e "$T/w/echo.ready" ] && break; sleep 0.02; done
        EIP=$(awk '/^lease/{print $3}' "$T/echo.out")
        echo "   [$m] $(ip netns exec "$L" ping -q -c 40 -i 0.05 -W 1 "$EIP" | tail -2 | tr '\n' ' ')"
        wait $EP
    done
fi
# The lease's filter counters of the last plebnet transfer, from the daemon's release log.
grep released "$T/d.log" | tail -1 | sed 's/^/   last release: /'
