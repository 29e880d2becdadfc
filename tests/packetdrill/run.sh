#!/usr/bin/env bash
# tests/packetdrill/run.sh — runs packetdrill scripts against plebnet through
# libplebnet-packetdrill.so and prints a pass/fail table. Not part of CI (packetdrill is not
# packaged); see docs/CONFORMANCE.md for how to build packetdrill and reproduce the table.
#
# usage: run.sh PACKETDRILL_BIN SCRIPT_DIR...
# environment:
#   PN_PD_SO       the adapter (default: build/tests/packetdrill/libplebnet-packetdrill.so)
#   PN_PD_FLAGS    --so_flags (default "linux": Linux's option order, IW10, RTO min 200 ms...)
#   PN_PD_TIMEOUT  seconds per script (default 60)
#   PN_PD_LOGDIR   where each script's output goes (default /tmp/plebnet-packetdrill-logs)
#
# Scripts run in a scratch copy of their directory in which ../common/defaults.sh and the
# commands scripts shell out to (sysctl, ip, tc, ethtool, nstat) are harmless stubs: they
# must never change the host (the stack under test is the adapter's, not the kernel's).
set -u
if [ $# -lt 2 ]; then
    echo "usage: $0 PACKETDRILL_BIN SCRIPT_DIR..." >&2
    exit 2
fi
pd=$(readlink -f "$1"); shift
here=$(cd "$(dirname "$0")" && pwd)
so=$(readlink -f "${PN_PD_SO:-$here/../../build/tests/packetdrill/libplebnet-packetdrill.so}")
flags=${PN_PD_FLAGS-linux}
tmo=${PN_PD_TIMEOUT:-60}
logdir=${PN_PD_LOGDIR:-/tmp/plebnet-packetdrill-logs}
[ -x "$pd" ] || { echo "no packetdrill binary at $pd" >&2; exit 2; }
[ -f "$so" ] || { echo "no adapter at $so (build it, or set PN_PD_SO)" >&2; exit 2; }
mkdir -p "$logdir"
scratch=$(mktemp -d)
trap 'if [ -f "$scratch/restore-files" ]; then xargs rm -f < "$scratch/restore-files"; fi; rm -rf "$scratch"' EXIT
# Scripts reach ../common/ or ../../common/: provide both (scratch/common, scratch/t/common).
mkdir -p "$scratch/bin" "$scratch/common" "$scratch/t"
for c in sysctl ip tc ethtool nstat; do
    printf '#!/bin/sh\nexit 0\n' > "$scratch/bin/$c"
    chmod +x "$scratch/bin/$c"
done
printf '#!/bin/sh\nexit 0\n' > "$scratch/common/defaults.sh"
# set_sysctls.py writes the restore script that cleanup commands run.
# The restore script removes itself when run; scripts that die first leave it behind, so
# the stub also lists it in $scratch/restore-files for the exit trap.
cat > "$scratch/common/set_sysctls.py" <<STUB
#!/bin/sh
f=/tmp/sysctl_restore_\${PACKETDRILL_PID}.sh
printf '#!/bin/sh\\nrm -f "\$0"\\n' > "\$f"
chmod +x "\$f"
echo "\$f" >> "$scratch/restore-files"
STUB
chmod +x "$scratch"/common/*
cp -r "$scratch/common" "$scratch/t/common"

# Prints the reason a script is Linux-only, or nothing.
skip_reason() {
    local f=$1
    case "$f" in
    *fastopen*) echo "TCP Fast Open (Linux feature, not implemented)"; return ;;
    *zerocopy*) echo "MSG_ZEROCOPY (Linux-only)"; return ;;
    *sendfile*) echo "sendfile (Linux-only)"; return ;;
    *md5*) echo "TCP MD5 signatures (RFC 2385, not implemented)"; return ;;
    esac
    if grep -q '%{' "$f"; then echo "TCP_INFO / Python %{ }% checks (Linux tcp_info)"; return; fi
    if grep -qE 'TCP_FASTOPEN|MSG_FASTOPEN|TFO' "$f"; then echo "TCP Fast Open"; return; fi
    if grep -qE 'MSG_ZEROCOPY|SO_ZEROCOPY'  "$f"; then echo "MSG_ZEROCOPY (Linux-only)"; return; fi
    if grep -qE 'sendfile\(' "$f"; then echo "sendfile (Linux-only)"; return; fi
    if grep -qE 'TCP_MD5SIG|md5' "$f"; then echo "TCP MD5 (RFC 2385, not implemented)"; return; fi
    if grep -qE 'TCP_INFO|TCP_CC_INFO|SO_TIMESTAMPING|TCP_INQ|TCP_ZEROCOPY' "$f"; then
        echo "Linux-only socket option (TCP_INFO/TIMESTAMPING/INQ)"; return; fi
}

pass=0; fail=0; skip=0
printf '%-58s %-7s %s\n' SCRIPT RESULT DETAIL
for dir in "$@"; do
    dir=$(readlink -f "$dir")
    name=$(basename "$dir")
    work="$scratch/t/$name"
    rm -rf "$work"
    cp -r "$dir" "$work"
    for f in "$work"/*.pkt; do
        [ -e "$f" ] || continue
        s="$name/$(basename "$f")"
        why=$(skip_reason "$f")
        if [ -n "$why" ]; then
            printf '%-58s %-7s %s\n' "$s" SKIP "$why"
            skip=$((skip + 1))
            continue
        fi
        log="$logdir/${s//\//_}.log"
        (cd "$work" && PATH="$scratch/bin:$PATH" timeout -k 5 "$tmo" "$pd" \
            --ip_version=ipv4 --local_ip=192.168.0.1 --remote_ip=192.0.2.1 \
            --so_filename="$so" --so_flags="$flags" "$(basename "$f")") > "$log" 2>&1
        rc=$?
        if [ $rc -eq 0 ]; then
            printf '%-58s %-7s\n' "$s" PASS
            pass=$((pass + 1))
        else
            if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
                detail="timeout after ${tmo}s"
            else
                detail=$(grep -m1 -E 'error|Error|expected|failed|assert' "$log" | cut -c1-160)
                detail=${detail#"$work/"}
            fi
            printf '%-58s %-7s %s\n' "$s" FAIL "$detail"
            fail=$((fail + 1))
        fi
    done
done
echo "passed $pass, failed $fail, skipped $skip (logs in $logdir)"
[ $fail -eq 0 ]
