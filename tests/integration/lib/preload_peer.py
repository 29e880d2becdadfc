#!/usr/bin/env python3
# tests/integration/lib/preload_peer.py — the kernel-side peer of the nc.openbsd checks in
# tests/integration/preload_programs.sh (not a test by itself). One TCP connection, strictly
# sequenced so that no program's own exit rule can cut a transfer short:
#   1. receive until the other side's FIN, hashing what arrives;
#   2. send FILE, then close.
# (Debian's nc.openbsd quits as soon as the network side reaches end of file, even with its
# own input unsent, so the peer must not send its FIN before it got nc's.)
# Prints "<bytes received> <sha256>" on stdout when done; a listener first prints
# "listening" once it listens.
# Usage: preload_peer.py listen|connect HOST PORT FILE [TIMEOUT_S]
import hashlib
import socket
import sys


def main():
    if len(sys.argv) not in (5, 6) or sys.argv[1] not in ("listen", "connect"):
        sys.exit("usage: preload_peer.py listen|connect HOST PORT FILE [TIMEOUT_S]")
    mode, host, port, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    timeout = float(sys.argv[5]) if len(sys.argv) == 6 else 30.0
    with open(path, "rb") as f:
        data = f.read()
    if mode == "listen":
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((host, port))
        ls.listen(1)
        ls.settimeout(timeout)
        print("listening", flush=True)
        s, _ = ls.accept()
        ls.close()
    else:
        s = socket.create_connection((host, port), timeout=timeout)
    s.settimeout(timeout)
    h = hashlib.sha256()
    n = 0
    while True:
        b = s.recv(262144)
        if not b:
            break
        h.update(b)
        n += len(b)
    s.sendall(data)
    s.close()
    print(n, h.hexdigest(), flush=True)


if __name__ == "__main__":
    main()
