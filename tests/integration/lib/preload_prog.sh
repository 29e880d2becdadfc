# tests/integration/lib/preload_prog.sh — sourced by the preload_prog*.sh program tests
# (not a test by itself). Builds a vxlan_pair (lib/vxlan_pair.sh) and defines how the
# "plebnet side" programs run:
#   prun CMD...  runs CMD unprivileged (nobody) in the plebnet namespace under
#                `plebnet run --link vxlan:192.168.77.1,vni=42 --addr 10.77.0.2/24 --`, so its
#                IPv4 sockets live on the plebnet stack; the kernel side (kns CMD) runs in
#                the kernel namespace behind the Linux vxlan device at 10.77.0.1.
# The plebnet namespace has no route to 10.77.0.0/24 and no address in it: a socket that
# escaped the shim could neither reach 10.77.0.1 (ENETUNREACH) nor bind 10.77.0.2
# (EADDRNOTAVAIL), so a passing check went through the plebnet stack.
#
# PN_PRELOAD_NO_SHIM=1 checks the harness itself: prun runs CMD without `plebnet run`, on
# the plebnet namespace's kernel stack, and the addresses become the veth's (KA 192.168.77.1,
# PA 192.168.77.2): the same commands, servers and checks, with kernel sockets on both ends.
#
# preload_prog_setup TAG: sets build, bin, KA (kernel side address), PA (plebnet side
# address), SHIM (1 or 0), work (mode 777: nobody writes its outputs there), plus
# everything vxlan_pair_setup sets.

fail() { echo "FAIL: $*"; exit 1; }

preload_prog_setup() {
  local tag=$1
  [ "$(id -u)" = 0 ] || fail "needs root to create network namespaces"
  for t in ip setpriv timeout ethtool sha256sum ss; do
    command -v "$t" >/dev/null || fail "missing tool: $t"
  done
  bin="$build/plebnet"
  [ -x "$bin" ] || fail "no plebnet binary in $build"
  if [ "${PN_PRELOAD_NO_SHIM:-0}" = 1 ]; then
    SHIM=0 KA=192.168.77.1 PA=192.168.77.2
    echo "PN_PRELOAD_NO_SHIM=1: harness check, kernel sockets on both sides (veth $KA <-> $PA)"
  else
    SHIM=1 KA=10.77.0.1 PA=10.77.0.2
    [ -r "$build/libplebnet-preload.so" ] || fail "no libplebnet-preload.so in $build"
  fi
  # A real python, not a pyenv shim script in root's home that nobody cannot read.
  PY=/usr/bin/python3
  [ -x "$PY" ] || PY=$(command -v python3)
  . "$(dirname "${BASH_SOURCE[0]}")/vxlan_pair.sh"
  vxlan_pair_setup "$tag" 777
  PL=(--link "vxlan:192.168.77.1,vni=42" --addr 10.77.0.2/24 --mac 02:70:6e:77:00:02)
}

# prun [-t SECS] CMD...: CMD as nobody in the plebnet namespace, through the shim (see
# above); -t kills it after SECS (timeout(1) runs outside, so only CMD carries the shim;
# ip netns exec, setpriv and plebnet run all exec, so the pid timeout signals is CMD's).
# In a subshell (a background job, a pipeline) prun execs, so that the pid in $! / pids is
# the program itself and the EXIT trap's kill reaches it.
prun() {
  local t=()
  if [ "$1" = -t ]; then t=(timeout "$2"); shift 2; fi
  if [ "$BASHPID" != "$$" ]; then t=(exec "${t[@]}"); fi
  if [ "$SHIM" = 1 ]; then
    "${t[@]}" ip netns exec "$nsp" setpriv --reuid=nobody --regid=nogroup --clear-groups \
      "$bin" run "${PL[@]}" -- "$@"
  else
    "${t[@]}" ip netns exec "$nsp" setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"
  fi
}

# kx CMD...: kns (CMD in the kernel namespace, as root), but in a subshell it execs, so that
# a background server's $! is the server and the EXIT trap's kill reaches it.
kx() {
  if [ "$BASHPID" != "$$" ]; then exec ip netns exec "$nsk" "$@"; fi
  ip netns exec "$nsk" "$@"
}

# stop PID: ends a background program and waits for it. Only one shim process at a time can
# run in the plebnet namespace: each one's vxlan link binds UDP port 4789 there, where the
# kernel's vxlan device sends.
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# wait_sock NS -t|-u PORT: until a kernel socket in NS listens on PORT (at most 10 s).
wait_sock() {
  for _ in $(seq 200); do
    ip netns exec "$1" ss -Hn "$2"l "sport = :$3" | grep -q . && return 0
    sleep 0.05
  done
  fail "nothing listens on $2 port $3 in $1"
}

# wait_file FILE REGEX WHAT: until FILE has a line matching REGEX (a server's own "listening"
# message: the only sign of a listener on the plebnet stack, which `ss` cannot see).
wait_file() {
  for _ in $(seq 200); do
    grep -qE "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "--- $1:"; cat "$1" 2>/dev/null || true
  fail "$3 did not start (no '$2' within 10 s)"
}

# wait_tcp HOST PORT [PID]: until the kernel namespace can connect to HOST:PORT (a server that
# takes any number of connections). Returns 1 after 10 s, or once process PID has ended.
wait_tcp() {
  for _ in $(seq 100); do
    [ -z "${3:-}" ] || kill -0 "$3" 2>/dev/null || return 1
    kx timeout 1 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# shim_lines FILE: the shim's own lines in FILE (for failure reports).
shim_lines() { grep -a "plebnet-preload:" "$1" 2>/dev/null | head -20 || true; }

# sum FILE: the sha256 of FILE.
sum() { sha256sum <"$1" | cut -d' ' -f1; }
