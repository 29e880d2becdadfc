# tests/integration/lib/vxlan_pair.sh — sourced by the VXLAN interop tests (not a test by
# itself: CTest only runs tests/integration/*.sh). Builds two network namespaces joined by a
# veth pair: the kernel one holds a Linux `vxlan` device (VNI 42, 10.77.0.1/24, underlay
# 192.168.77.1), the plebnet one (underlay 192.168.77.2) is where plebnet runs unprivileged.
# Everything is deleted by an EXIT trap, also when the test fails.

# vxlan_pair_setup TAG MODE: TAG (two letters) keeps the names unique per test, MODE is the
# permission of the scratch directory $work. Sets nsk nsp vk vp work, the pids array (kill
# on exit whatever is added to it), and defines kns (run in the kernel namespace) and pleb
# (run as nobody in the plebnet namespace).
vxlan_pair_setup() {
  local tag=$1 mode=$2 id=$$
  nsk="pn${tag}k$id"
  nsp="pn${tag}p$id"
  vk="p${tag}k$id"
  vp="p${tag}p$id"
  work=$(mktemp -d "/tmp/pn_${tag}_XXXXXX")
  chmod "$mode" "$work"
  pids=()
  trap vxlan_pair_cleanup EXIT

  ip netns add "$nsk"
  ip netns add "$nsp"
  ip link add "$vk" netns "$nsk" type veth peer name "$vp" netns "$nsp"
  ip -n "$nsk" link set lo up
  ip -n "$nsp" link set lo up
  ip -n "$nsk" addr add 192.168.77.1/24 dev "$vk"
  ip -n "$nsp" addr add 192.168.77.2/24 dev "$vp"
  ip -n "$nsk" link set "$vk" up
  ip -n "$nsp" link set "$vp" up
  ip -n "$nsk" link add vx0 type vxlan id 42 dstport 4789 remote 192.168.77.2 \
     local 192.168.77.1 dev "$vk"
  ip -n "$nsk" addr add 10.77.0.1/24 dev vx0
  ip -n "$nsk" link set vx0 up
  # veth never finishes offloaded checksums: without this the kernel's inner UDP/TCP
  # checksums stay partial (pseudo-header only) inside the VXLAN payload, as no NIC
  # completes them, and plebnet rightly drops the datagrams and segments.
  ip netns exec "$nsk" ethtool -K vx0 tx off >/dev/null
}

vxlan_pair_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  # `kns CMD &` records the pid of a subshell, not of CMD: kill whatever still runs in
  # the namespaces so nothing outlives the test.
  local ns
  for ns in "$nsk" "$nsp"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  done
  ip netns del "$nsk" 2>/dev/null || true
  ip netns del "$nsp" 2>/dev/null || true
  rm -rf "$work"
}

kns() { ip netns exec "$nsk" "$@"; }
# plebnet runs as nobody inside the plebnet namespace: no privileges at all.
pleb() { ip netns exec "$nsp" setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
