#!/usr/bin/env python3
# tests/integration/lib/dns_server.py — a tiny authoritative DNS server (RFC 1035, python3
# stdlib only) for the preload shim's resolver tests (tests/integration/preload_dns.sh).
# Serves a fixed zone over UDP and TCP (RFC 7766, 2-octet length prefix) on port 53 of the
# address given, logs every query as one line "QUERY <udp|tcp> <src-ip> <src-port> <name>
# <type>" on stdout, and exits after --time-limit seconds.
#
# Zone lines (file with --zone, or --record arguments), one record each, '#' comments:
#   NAME A 10.77.0.1          NAME CNAME TARGET        NAME PTR TARGET
#   NAME SERVFAIL             (every query for NAME gets rcode SERVFAIL)
# A name that has records, but none of the asked type (nor a CNAME), gets NODATA (NOERROR
# with no answers); a name that has none gets NXDOMAIN, with the AA bit set. A UDP reply
# longer than 512 octets is replaced by a truncated one (TC set, question only), so the
# client must retry over TCP (RFC 1035 §4.2.1).
import argparse
import select
import socket
import struct
import sys
import time

TYPES = {"A": 1, "CNAME": 5, "PTR": 12, "AAAA": 28}
TYPE_NAMES = {v: k for k, v in TYPES.items()}


def norm(name):
    return name.rstrip(".").lower()


def load_zone(lines):
    zone = {}  # name -> list of (type, value); "SERVFAIL" as a pseudo type
    for raw in lines:
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        name, rtype = norm(parts[0]), parts[1].upper()
        if rtype == "SERVFAIL":
            zone.setdefault(name, []).append(("SERVFAIL", None))
        elif rtype in ("A", "CNAME", "PTR") and len(parts) == 3:
            zone.setdefault(name, []).append((rtype, parts[2]))
        else:
            sys.exit(f"dns_server: bad zone line: {raw.strip()!r}")
    return zone


def encode_name(name):
    out = b""
    for label in norm(name).split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def read_name(msg, off):
    """Uncompressed or compressed question name; returns (text, next offset)."""
    labels, jumped, end, hops = [], False, off, 0
    while True:
        if off >= len(msg):
            raise ValueError("truncated name")
        n = msg[off]
        if n & 0xC0 == 0xC0:
            if off + 1 >= len(msg) or hops > 64:
                raise ValueError("bad pointer")
            if not jumped:
                end = off + 2
            off, jumped, hops = ((n & 0x3F) << 8) | msg[off + 1], True, hops + 1
            continue
        if n == 0:
            return ".".join(labels), (end if jumped else off + 1)
        labels.append(msg[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += n + 1


def rr(name, rtype, value):
    if rtype == "A":
        rdata = socket.inet_aton(value)
    else:
        rdata = encode_name(value)
    return encode_name(name) + struct.pack("!HHIH", TYPES[rtype], 1, 300, len(rdata)) + rdata


def answer(zone, query):
    """Builds the reply to one query message, or None for one that is not a query."""
    if len(query) < 12:
        return None, None, None
    qid, flags, qd = struct.unpack("!HHH", query[:6])
    if flags & 0x8000 or qd != 1:
        return None, None, None
    qname, off = read_name(query, 12)
    qtype, qclass = struct.unpack("!HH", query[off:off + 4])
    question = query[12:off + 4]
    rd = flags & 0x0100
    answers, rcode = [], 0
    name = norm(qname)
    recs = zone.get(name)
    if recs is None:
        rcode = 3  # NXDOMAIN
    elif any(t == "SERVFAIL" for t, _ in recs):
        rcode = 2
    else:
        for _ in range(16):  # follow CNAMEs inside the zone
            recs = zone.get(name, [])
            cname = [v for t, v in recs if t == "CNAME"]
            if cname and qtype != TYPES["CNAME"]:
                answers.append(rr(name, "CNAME", cname[0]))
                name = norm(cname[0])
                continue
            answers += [rr(name, t, v) for t, v in recs if TYPES.get(t) == qtype]
            break
    aa = 0x0400 if rcode != 2 else 0
    hdr = struct.pack("!HHHHHH", qid, 0x8000 | aa | rd | 0x0080 | rcode, 1, len(answers), 0, 0)
    return hdr + question + b"".join(answers), qname, TYPE_NAMES.get(qtype, str(qtype))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", required=True)
    ap.add_argument("--port", type=int, default=53)
    ap.add_argument("--zone", help="zone file")
    ap.add_argument("--record", action="append", default=[], help='"NAME TYPE VALUE"')
    ap.add_argument("--time-limit", type=float, default=120)
    args = ap.parse_args()
    lines = list(args.record)
    if args.zone:
        with open(args.zone) as f:
            lines += f.readlines()
    zone = load_zone(lines)

    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((args.addr, args.port))
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind((args.addr, args.port))
    tcp.listen(16)
    print(f"READY {args.addr} {args.port}", flush=True)

    def log(proto, src, qname, qtype):
        print(f"QUERY {proto} {src[0]} {src[1]} {qname} {qtype}", flush=True)

    end = time.monotonic() + args.time_limit
    while time.monotonic() < end:
        ready, _, _ = select.select([udp, tcp], [], [], max(0.0, min(1.0, end - time.monotonic())))
        if udp in ready:
            msg, src = udp.recvfrom(4096)
            try:
                reply, qname, qtype = answer(zone, msg)
            except (ValueError, struct.error):
                continue
            if reply is None:
                continue
            log("udp", src, qname, qtype)
            if len(reply) > 512:  # RFC 1035 §4.2.1: truncate, set TC
                qend = 12 + len(encode_name(qname)) + 4
                flags = struct.unpack("!H", reply[2:4])[0] | 0x0200
                reply = reply[:2] + struct.pack("!HHHHH", flags, 1, 0, 0, 0) + reply[12:qend]
            udp.sendto(reply, src)
        if tcp in ready:
            conn, src = tcp.accept()
            conn.settimeout(2)
            buf = b""
            try:  # RFC 7766 §6.2.1: several queries may share one connection
                while True:
                    while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
                        n = struct.unpack("!H", buf[:2])[0]
                        msg, buf = buf[2:2 + n], buf[2 + n:]
                        reply, qname, qtype = answer(zone, msg)
                        if reply is not None:
                            log("tcp", src, qname, qtype)
                            conn.sendall(struct.pack("!H", len(reply)) + reply)
                    chunk = conn.recv(65535)
                    if not chunk:
                        break
                    buf += chunk
            except (OSError, ValueError, struct.error):
                pass
            finally:
                conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
