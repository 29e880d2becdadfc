#!/usr/bin/env bash
# scripts/test-all.sh — installs the Debian packages the build and tests need, builds with
# -Werror, runs the whole test suite, then the unit tests again under ASan+UBSan, then a
# short smoke run of every fuzz target. Run as root (integration tests create network
# namespaces). Used by the README's second command and by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

# build: compilers, cmake, libpcap (pcap link wrapper), cmocka (unit tests), libbpf, libcap-ng
# and libseccomp (plebnetd); clang + compiler-rt for the eBPF programs and the fuzzers.
# tests: tshark/tcpdump (captures), iproute2 (namespaces, veth, vxlan), util-linux (setpriv),
# socat, netcat-openbsd, curl, iputils-ping, ethtool, python3 (kernel-side peers); nginx-light,
# iperf3 and wrk (programs run under libplebnet-preload.so, and their kernel-side peers).
PACKAGES=(build-essential cmake pkg-config clang llvm libclang-rt-14-dev libpcap-dev
          libcmocka-dev libbpf-dev bpftool libcap-ng-dev libseccomp-dev linux-libc-dev
          tshark tcpdump iproute2 util-linux socat netcat-openbsd curl iputils-ping ethtool
          python3 nginx-light iperf3 wrk)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # tshark asks whether non-root users may capture: answer no, non-interactively.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

JOBS=$(nproc)
echo "== build (-Werror)"
cmake -S . -B build-ci -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPLEBNET_WERROR=ON >/dev/null
cmake --build build-ci -j"$JOBS"

echo "== all tests"
ctest --test-dir build-ci -j"$JOBS" --output-on-failure --timeout 900

echo "== unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DPLEBNET_WERROR=ON \
      -DPLEBNET_SANITIZE=address,undefined -DPLEBNET_BENCH=OFF >/dev/null
cmake --build build-asan -j"$JOBS"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan -L unit -j"$JOBS" --output-on-failure

if [ -f fuzz/CMakeLists.txt ]; then
  echo "== fuzz targets: build with clang and a short smoke run each"
  CC=clang cmake -S . -B build-fuzz -DPLEBNET_FUZZ=ON -DPLEBNET_TESTS=OFF -DPLEBNET_BENCH=OFF \
      -DPLEBNET_WERROR=ON >/dev/null
  cmake --build build-fuzz -j"$JOBS"
  for f in build-fuzz/fuzz/fuzz_*; do
    [ -x "$f" ] || continue
    "$f" -runs=20000 -seed=1 >/dev/null 2>"build-fuzz/$(basename "$f").log" ||
      { echo "fuzz smoke failed: $f"; tail -30 "build-fuzz/$(basename "$f").log"; exit 1; }
    echo "  $(basename "$f"): 20000 runs, no findings"
  done
fi
echo "== all passed"
