/* wire/tcp.c — TCP header and option codec (RFC 9293 §3.1, §3.2; RFC 7323 §2, §3;
 * RFC 2018). Called by src/tcp/ for every segment in (parse) and out (emit). */
#include "wire/tcp.h"

#include <string.h>

#include "wire/bytes.h"
#include "wire/checksum.h"
#include "wire/ipv4.h"

#define TCP_MAX_OPT_LEN (PN_TCP_MAX_HDR_LEN - PN_TCP_HDR_LEN) /* 40 */

/* Option lengths (RFC 9293 §3.2, RFC 7323 §2.2 and §3.2, RFC 2018 §2 and §3). */
#define TCPOLEN_MSS 4u
#define TCPOLEN_WSCALE 3u
#define TCPOLEN_SACK_PERM 2u
#define TCPOLEN_TIMESTAMP 10u
#define TCPOLEN_SACK_BASE 2u
#define TCPOLEN_SACK_BLOCK 8u

/* RFC 9293 §3.2 / §3.1 "Options": walks the option list in opt[0..len) and fills the
 * option fields of r (which the caller zeroed). A repeated option overwrites the earlier
 * one; unknown kinds are skipped by their length. */
static int tcp_parse_options(const uint8_t *opt, size_t len, struct pn_tcp_repr *r)
{
    size_t i = 0;
    while (i < len) {
        uint8_t kind = opt[i];
        /* RFC 9293 §3.2: End of Option List; whatever follows is padding. */
        if (kind == PN_TCPOPT_EOL)
            break;
        /* RFC 9293 §3.2: No-Operation is a single octet, used for alignment. */
        if (kind == PN_TCPOPT_NOP) {
            i++;
            continue;
        }
        /* RFC 9293 §3.1: every other option has a length octet, which must be inside the
         * option space. */
        if (len - i < 2)
            return PN_WIRE_BAD_OPTION;
        uint8_t olen = opt[i + 1];
        /* The length counts kind and length octets, so < 2 is illegal; RFC 9293 §3.1
         * (MUST-7) asks us to be prepared for it, e.g. 0, which would loop forever. It
         * must not run past the data offset either. */
        if (olen < 2 || olen > len - i)
            return PN_WIRE_BAD_OPTION;
        const uint8_t *v = opt + i + 2;
        switch (kind) {
        case PN_TCPOPT_MSS:
            /* RFC 9293 §3.2: Maximum Segment Size, kind 2, length 4, 16-bit value. */
            if (olen != TCPOLEN_MSS)
                return PN_WIRE_BAD_OPTION;
            r->has_mss = true;
            r->mss = pn_get_be16(v);
            break;
        case PN_TCPOPT_WSCALE:
            /* RFC 7323 §2.2: Window Scale, kind 3, length 3, shift count. The clamp to 14
             * (§2.3) is the caller's: the raw value is reported. */
            if (olen != TCPOLEN_WSCALE)
                return PN_WIRE_BAD_OPTION;
            r->has_wscale = true;
            r->wscale = v[0];
            break;
        case PN_TCPOPT_SACK_PERM:
            /* RFC 2018 §2: SACK-Permitted, kind 4, length 2. */
            if (olen != TCPOLEN_SACK_PERM)
                return PN_WIRE_BAD_OPTION;
            r->sack_permitted = true;
            break;
        case PN_TCPOPT_TIMESTAMP:
            /* RFC 7323 §3.2: Timestamps, kind 8, length 10, TSval and TSecr. */
            if (olen != TCPOLEN_TIMESTAMP)
                return PN_WIRE_BAD_OPTION;
            r->has_ts = true;
            r->ts_val = pn_get_be32(v);
            r->ts_ecr = pn_get_be32(v + 4);
            break;
        case PN_TCPOPT_SACK: {
            /* RFC 2018 §3: kind 5, length 8n + 2 for n >= 1 blocks of (left, right). */
            if (olen < TCPOLEN_SACK_BASE + TCPOLEN_SACK_BLOCK ||
                (olen - TCPOLEN_SACK_BASE) % TCPOLEN_SACK_BLOCK != 0)
                return PN_WIRE_BAD_OPTION;
            size_t n = (olen - TCPOLEN_SACK_BASE) / TCPOLEN_SACK_BLOCK;
            /* RFC 2018 §3: at most 4 blocks fit in 40 option bytes (the overrun check
             * above already implies it; this keeps the array write obviously safe). */
            if (n > PN_TCP_MAX_SACK)
                return PN_WIRE_BAD_OPTION;
            for (size_t k = 0; k < n; k++) {
                r->sack[k].left = pn_get_be32(v + k * 8);
                r->sack[k].right = pn_get_be32(v + k * 8 + 4);
            }
            r->sack_count = (uint8_t)n;
            break;
        }
        default:
            /* RFC 9293 §3.1 (MUST-6): options we do not implement are ignored. */
            break;
        }
        i += olen;
    }
    return PN_WIRE_OK;
}

int pn_tcp_parse(const uint8_t *buf, size_t len, uint32_t src, uint32_t dst,
                 struct pn_tcp_repr *out, bool verify_csum)
{
    /* RFC 9293 §3.1: the fixed header is 20 octets. */
    if (len < PN_TCP_HDR_LEN)
        return PN_WIRE_TRUNCATED;
    /* RFC 9293 §3.1 "Data Offset": the header length in 32-bit words, at least 5; the
     * header with its options must be inside the segment. */
    size_t hdr_len = (size_t)(buf[12] >> 4) * 4;
    if (hdr_len < PN_TCP_HDR_LEN || hdr_len > len)
        return PN_WIRE_BAD_HDR_LEN;
    /* An IPv4 payload is at most 65535 octets and the pseudo-header's TCP length field
     * is 16 bits wide: a longer "segment" cannot be checksummed or real. */
    if (len > PN_IPV4_MAX_LEN)
        return PN_WIRE_BAD_LENGTH;
    /* RFC 9293 §3.1 "Checksum": over the pseudo-header, header and data; a segment that
     * includes its checksum sums to zero. */
    if (verify_csum) {
        uint32_t sum = pn_csum_pseudo_ipv4(src, dst, PN_IP_PROTO_TCP, (uint16_t)len);
        if (pn_csum_finish(pn_csum_add(sum, buf, len)) != 0)
            return PN_WIRE_BAD_CHECKSUM;
    }

    struct pn_tcp_repr r;
    memset(&r, 0, sizeof r);
    int err = tcp_parse_options(buf + PN_TCP_HDR_LEN, hdr_len - PN_TCP_HDR_LEN, &r);
    if (err != PN_WIRE_OK)
        return err;
    r.src_port = pn_get_be16(buf);
    r.dst_port = pn_get_be16(buf + 2);
    r.seq = pn_get_be32(buf + 4);
    r.ack = pn_get_be32(buf + 8);
    r.flags = buf[13]; /* CWR..FIN; the NS bit (byte 12, bit 0) is ignored */
    r.window = pn_get_be16(buf + 14);
    r.urgent = pn_get_be16(buf + 18);
    r.hdr_len = (uint8_t)hdr_len;
    r.payload = buf + hdr_len;
    r.payload_len = len - hdr_len;
    *out = r;
    return PN_WIRE_OK;
}

/* How many of r's SACK blocks fit in `room` option bytes when each SACK option costs
 * `base` bytes before its blocks. */
static size_t tcp_sack_fit(const struct pn_tcp_repr *r, size_t room, size_t base)
{
    size_t n = r->sack_count > PN_TCP_MAX_SACK ? PN_TCP_MAX_SACK : r->sack_count;
    if (room < base + TCPOLEN_SACK_BLOCK)
        return 0;
    size_t fit = (room - base) / TCPOLEN_SACK_BLOCK;
    return n < fit ? n : fit;
}

static uint8_t *tcp_put_sack_blocks(uint8_t *p, const struct pn_tcp_repr *r, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        pn_put_be32(p, r->sack[k].left);
        pn_put_be32(p + 4, r->sack[k].right);
        p += 8;
    }
    return p;
}

/* Linux's layout (net/ipv4/tcp_output.c, tcp_options_write): every option group is one
 * or more aligned 32-bit words, so no padding is ever needed:
 *   MSS               02 04 mm mm
 *   SACK-perm + TS    04 02 08 0a <tsval> <tsecr>    (both present)
 *   TS alone          01 01 08 0a <tsval> <tsecr>
 *   SACK-perm alone   01 01 04 02
 *   WS                01 03 03 ss
 *   SACK blocks       01 01 05 <2+8n> <blocks>       (n <= 4, or 3 beside TS)
 * Writes into o (40 bytes of room) and returns the length. */
static size_t tcp_options_linux(const struct pn_tcp_repr *r, uint8_t *o)
{
    uint8_t *p = o;
    if (r->has_mss) {
        p[0] = PN_TCPOPT_MSS;
        p[1] = TCPOLEN_MSS;
        pn_put_be16(p + 2, r->mss);
        p += 4;
    }
    if (r->has_ts) {
        if (r->sack_permitted) {
            p[0] = PN_TCPOPT_SACK_PERM;
            p[1] = TCPOLEN_SACK_PERM;
        } else {
            p[0] = PN_TCPOPT_NOP;
            p[1] = PN_TCPOPT_NOP;
        }
        p[2] = PN_TCPOPT_TIMESTAMP;
        p[3] = TCPOLEN_TIMESTAMP;
        pn_put_be32(p + 4, r->ts_val);
        pn_put_be32(p + 8, r->ts_ecr);
        p += 12;
    } else if (r->sack_permitted) {
        p[0] = PN_TCPOPT_NOP;
        p[1] = PN_TCPOPT_NOP;
        p[2] = PN_TCPOPT_SACK_PERM;
        p[3] = TCPOLEN_SACK_PERM;
        p += 4;
    }
    if (r->has_wscale) {
        p[0] = PN_TCPOPT_NOP;
        p[1] = PN_TCPOPT_WSCALE;
        p[2] = TCPOLEN_WSCALE;
        p[3] = r->wscale;
        p += 4;
    }
    size_t n = tcp_sack_fit(r, TCP_MAX_OPT_LEN - (size_t)(p - o), 4);
    if (n > 0) {
        p[0] = PN_TCPOPT_NOP;
        p[1] = PN_TCPOPT_NOP;
        p[2] = PN_TCPOPT_SACK;
        p[3] = (uint8_t)(TCPOLEN_SACK_BASE + n * TCPOLEN_SACK_BLOCK);
        p = tcp_put_sack_blocks(p + 4, r, n);
    }
    return (size_t)(p - o);
}

/* The compact layout: the fewest bytes. Options back to back with no NOPs, in the order
 * MSS, SACK-perm, TS, WS, SACK (so in a SYN with MSS the TS values are 32-bit aligned),
 * then EOL bytes up to a multiple of 4 (RFC 9293 §3.1 "Padding", zeros). For the same
 * SACK blocks never longer than the Linux layout (4 bytes shorter with TS + SACK); it
 * keeps every SACK block that any valid 40-byte option list could carry beside the same
 * options, which is one more than Linux's layout for some sets (e.g. MSS + TS). */
static size_t tcp_options_compact(const struct pn_tcp_repr *r, uint8_t *o)
{
    uint8_t *p = o;
    if (r->has_mss) {
        p[0] = PN_TCPOPT_MSS;
        p[1] = TCPOLEN_MSS;
        pn_put_be16(p + 2, r->mss);
        p += 4;
    }
    if (r->sack_permitted) {
        p[0] = PN_TCPOPT_SACK_PERM;
        p[1] = TCPOLEN_SACK_PERM;
        p += 2;
    }
    if (r->has_ts) {
        p[0] = PN_TCPOPT_TIMESTAMP;
        p[1] = TCPOLEN_TIMESTAMP;
        pn_put_be32(p + 2, r->ts_val);
        pn_put_be32(p + 6, r->ts_ecr);
        p += 10;
    }
    if (r->has_wscale) {
        p[0] = PN_TCPOPT_WSCALE;
        p[1] = TCPOLEN_WSCALE;
        p[2] = r->wscale;
        p += 3;
    }
    size_t n = tcp_sack_fit(r, TCP_MAX_OPT_LEN - (size_t)(p - o), TCPOLEN_SACK_BASE);
    if (n > 0) {
        p[0] = PN_TCPOPT_SACK;
        p[1] = (uint8_t)(TCPOLEN_SACK_BASE + n * TCPOLEN_SACK_BLOCK);
        p = tcp_put_sack_blocks(p + 2, r, n);
    }
    while ((p - o) % 4 != 0)
        *p++ = PN_TCPOPT_EOL;
    return (size_t)(p - o);
}

static size_t tcp_write_options(const struct pn_tcp_repr *r, enum pn_tcp_opt_layout layout,
                                uint8_t *o)
{
    return layout == PN_TCP_OPTS_COMPACT ? tcp_options_compact(r, o) : tcp_options_linux(r, o);
}

size_t pn_tcp_options_len(const struct pn_tcp_repr *r, enum pn_tcp_opt_layout layout)
{
    uint8_t scratch[TCP_MAX_OPT_LEN];
    return tcp_write_options(r, layout, scratch);
}

/* Writes the header and options with a zero checksum field; returns the header length. */
static size_t tcp_write_header(const struct pn_tcp_repr *r, enum pn_tcp_opt_layout layout,
                               uint8_t *buf)
{
    size_t hdr_len = PN_TCP_HDR_LEN + tcp_write_options(r, layout, buf + PN_TCP_HDR_LEN);
    pn_put_be16(buf, r->src_port);
    pn_put_be16(buf + 2, r->dst_port);
    pn_put_be32(buf + 4, r->seq);
    pn_put_be32(buf + 8, r->ack);
    buf[12] = (uint8_t)((hdr_len / 4) << 4); /* data offset; reserved bits and NS zero */
    buf[13] = r->flags;
    pn_put_be16(buf + 14, r->window);
    pn_put_be16(buf + 16, 0);
    pn_put_be16(buf + 18, r->urgent);
    return hdr_len;
}

size_t pn_tcp_emit_sum(const struct pn_tcp_repr *r, enum pn_tcp_opt_layout layout, uint8_t *buf,
                       uint32_t src, uint32_t dst, size_t payload_len, uint32_t payload_sum)
{
    size_t hdr_len = tcp_write_header(r, layout, buf);
    /* RFC 9293 §3.1 "Checksum": pseudo-header, header and data; the header length is a
     * multiple of 4, so the payload's own sum starts on a word boundary and just adds. */
    uint16_t seg_len = (uint16_t)(hdr_len + payload_len);
    uint32_t sum = pn_csum_pseudo_ipv4(src, dst, PN_IP_PROTO_TCP, seg_len);
    sum = pn_csum_add(sum, buf, hdr_len);
    uint64_t t = (uint64_t)sum + payload_sum;
    sum = (uint32_t)((t & 0xffffffffu) + (t >> 32));
    pn_put_be16(buf + 16, pn_csum_finish(sum));
    return hdr_len;
}

size_t pn_tcp_emit(const struct pn_tcp_repr *r, enum pn_tcp_opt_layout layout, uint8_t *buf,
                   uint32_t src, uint32_t dst, size_t payload_len)
{
    size_t hdr_len = PN_TCP_HDR_LEN + tcp_write_options(r, layout, buf + PN_TCP_HDR_LEN);
    pn_put_be16(buf, r->src_port);
    pn_put_be16(buf + 2, r->dst_port);
    pn_put_be32(buf + 4, r->seq);
    pn_put_be32(buf + 8, r->ack);
    buf[12] = (uint8_t)((hdr_len / 4) << 4); /* data offset; reserved bits and NS zero */
    buf[13] = r->flags;
    pn_put_be16(buf + 14, r->window);
    pn_put_be16(buf + 16, 0);
    pn_put_be16(buf + 18, r->urgent);
    /* RFC 9293 §3.1 "Checksum": pseudo-header (with the TCP length), header and data,
     * computed with the checksum field zero. */
    uint16_t seg_len = (uint16_t)(hdr_len + payload_len);
    uint32_t sum = pn_csum_pseudo_ipv4(src, dst, PN_IP_PROTO_TCP, seg_len);
    pn_put_be16(buf + 16, pn_csum_finish(pn_csum_add(sum, buf, hdr_len + payload_len)));
    return hdr_len;
}
