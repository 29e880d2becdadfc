#!/usr/bin/env bash
# tests/integration/demo.sh — `plebnet demo` works as an unprivileged user with no
# configuration, its pcap has zero malformed frames in tshark, and bad arguments give a
# one-line error with exit status 2. Usage: demo.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
bin="$build/plebnet"
work=$(mktemp -d /tmp/pn_demo_XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 777 "$work"
fail() { echo "FAIL: $*"; exit 1; }

# As an unprivileged user when we can switch to one, else as ourselves.
run_unpriv() {
  if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
    setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"
  else
    "$@"
  fi
}

run_unpriv "$bin" demo --interval 0.01 --pcap "$work/demo.pcap" >"$work/out.txt" 2>&1 ||
  { cat "$work/out.txt"; fail "demo exited non-zero"; }
cat "$work/out.txt"
grep -q "5 packets transmitted, 5 received, 0% packet loss" "$work/out.txt" || fail "pings"
grep -q "3/3 datagrams echoed intact" "$work/out.txt" || fail "udp echo"
grep -q "demo passed" "$work/out.txt" || fail "summary"

if command -v tshark >/dev/null; then
  # tshark refuses to run as root without a config tweak only for capture; reading is fine.
  frames=$(tshark -r "$work/demo.pcap" 2>/dev/null | wc -l)
  [ "$frames" -ge 14 ] || fail "pcap has only $frames frames"
  malformed=$(tshark -r "$work/demo.pcap" -Y '_ws.malformed || _ws.expert.severity >= error' 2>/dev/null | wc -l)
  [ "$malformed" = 0 ] || { tshark -r "$work/demo.pcap" -Y '_ws.malformed || _ws.expert.severity >= error'; fail "$malformed malformed frames"; }
  tshark -r "$work/demo.pcap" -Y 'arp.opcode == 2' 2>/dev/null | grep -q "is at 02:70:6e:00:00:02" || fail "no ARP reply in pcap"
  [ "$(tshark -r "$work/demo.pcap" -Y 'icmp.type == 0' 2>/dev/null | wc -l)" = 5 ] || fail "echo replies in pcap"
  [ "$(tshark -r "$work/demo.pcap" -Y 'udp.port == 7' 2>/dev/null | wc -l)" = 6 ] || fail "udp in pcap"
  echo "pcap: $frames frames, 0 malformed"
else
  echo "tshark missing: pcap not checked"; exit 1
fi

# Bad arguments: one line on stderr, exit 2.
for args in "demo --count 0" "demo --count x" "demo --bogus" "demo extra" "frobnicate" "--nope" "demo --pcap"; do
  set +e
  "$bin" $args >"$work/o" 2>"$work/e"
  rc=$?
  set -e
  [ "$rc" = 2 ] || fail "'plebnet $args' exited $rc, want 2"
  [ "$(wc -l <"$work/e")" = 1 ] || { cat "$work/e"; fail "'plebnet $args' printed more than one line"; }
done
"$bin" demo --pcap /nonexistent/x.pcap >/dev/null 2>"$work/e" && fail "unwritable pcap accepted"
grep -q "cannot write" "$work/e" || fail "unwritable pcap message"
"$bin" --help | grep -q demo || fail "--help"
"$bin" demo --help | grep -q -- "--pcap" || fail "demo --help"
"$bin" version | grep -q "plebnet 0" || fail "version"
echo "demo integration: all checks passed"
