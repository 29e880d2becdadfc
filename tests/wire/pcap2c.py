#!/usr/bin/env python3
"""tests/wire/pcap2c.py — turns chosen frames of a classic pcap file into the C arrays of
tests/wire/golden_frames.h. Standard library only.

usage: pcap2c.py FILE.pcap KERNEL 'N:name:description' ... > golden_frames.h
  N is the 1-based frame number (as tshark numbers them), name a C identifier suffix.
"""
import struct
import sys
import time


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        sys.exit("not a classic pcap file")
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    if linktype != 1:
        sys.exit("link type %d is not Ethernet" % linktype)
    frames, off = [], 24
    while off + 16 <= len(data):
        ts, _, incl, orig = struct.unpack(endian + "IIII", data[off:off + 16])
        if incl != orig:
            sys.exit("frame %d was truncated by the snap length" % (len(frames) + 1))
        frames.append((ts, data[off + 16:off + 16 + incl]))
        off += 16 + incl
    return frames


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    frames = read_pcap(sys.argv[1])
    kernel = sys.argv[2]
    picks = []
    for arg in sys.argv[3:]:
        num, name, desc = arg.split(":", 2)
        picks.append((int(num), name, desc))
    day = time.strftime("%Y-%m-%d", time.gmtime(frames[0][0]))
    out = sys.stdout.write
    out("/* tests/wire/golden_frames.h — real frames emitted by the Linux kernel, captured once\n")
    out(" * and frozen here as byte arrays for the wire codec tests (parse + re-emit).\n")
    out(" *\n")
    out(" * Made on %s with Linux %s by tests/wire/capture_golden.sh (as root):\n" % (day, kernel))
    out(" * two network namespaces (pnwire_a_$$, pnwire_b_$$) joined by a veth pair va/vb with\n")
    out(" * MACs 02:00:00:00:00:0a / 02:00:00:00:00:0b, addresses 10.200.0.1/24 and 10.200.0.2/24,\n")
    out(" * IPv6 disabled, offloads off (ethtool -K tx off rx off tso off gso off gro off), and\n")
    out(" * `tcpdump -i va -U -s 0 -w golden.pcap 'arp or ip'` inside namespace A, while:\n")
    out(" *  - a kernel ICMP ping socket in A sends one echo request (id chosen by the kernel,\n")
    out(" *    seq 1, 56 data bytes 0x10..0x47); this also triggers the ARP request and reply;\n")
    out(" *  - a UDP socket 10.200.0.1:5000 sends \"hello, plebnet\\n\" to 10.200.0.2:7000 (open),\n")
    out(" *    \"nobody home\\n\" to port 7001 (closed: B answers ICMP port unreachable), and\n")
    out(" *    3000 bytes (i & 0xff) to port 7000, which A fragments over the 1500-byte MTU;\n")
    out(" *  - TCP 10.200.0.1:40080 -> 10.200.0.2:8080 with timestamps, then 40081 -> 8081 with\n")
    out(" *    net.ipv4.tcp_timestamps=0 in A; B's listener sets TCP_MAXSEG (112, then 100) so\n")
    out(" *    that A's single send() of 100-byte letter runs ('A'..'H', 'a'..'j') leaves as one\n")
    out(" *    segment per letter, and a classic-BPF cls_bpf filter on vb ingress drops the\n")
    out(" *    B/D/F (b/d/f/h) segments so that B's kernel emits SACK blocks.\n")
    out(" * Then: python3 tests/wire/pcap2c.py golden.pcap %s <frame:name:description>...\n" % kernel)
    out(" * Frame numbers below are tshark's. Nothing here was hand-edited. */\n")
    out("#ifndef PN_TESTS_WIRE_GOLDEN_FRAMES_H\n#define PN_TESTS_WIRE_GOLDEN_FRAMES_H\n\n")
    out("#include <stddef.h>\n#include <stdint.h>\n\n")
    out("#define PN_GOLDEN_UNUSED __attribute__((unused))\n\n")
    for num, name, desc in picks:
        frame = frames[num - 1][1]
        out("/* frame %d: %s (%d bytes) */\n" % (num, desc, len(frame)))
        out("static const uint8_t golden_%s[%d] PN_GOLDEN_UNUSED = {\n" % (name, len(frame)))
        for i in range(0, len(frame), 12):
            out("    " + " ".join("0x%02x," % b for b in frame[i:i + 12]) + "\n")
        out("};\n\n")
    out("struct pn_golden_frame {\n    const char *name;\n    const uint8_t *data;\n    size_t len;\n};\n\n")
    out("/* Every frame above, in capture order. */\n")
    out("static const struct pn_golden_frame golden_frames[] PN_GOLDEN_UNUSED = {\n")
    for num, name, desc in picks:
        out("    {\"%s\", golden_%s, sizeof golden_%s},\n" % (name, name, name))
    out("};\n#define PN_GOLDEN_COUNT (sizeof golden_frames / sizeof golden_frames[0])\n\n")
    out("#endif\n")


if __name__ == "__main__":
    main()
