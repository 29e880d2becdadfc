/* tests/wire/test_tcp.c — TCP header and option codec (RFC 9293 §3.1/§3.2, RFC 7323,
 * RFC 2018): the kernel's SYNs, ACKs, data and SACK segments parse to the expected fields
 * and re-emit byte for byte in the Linux layout; malformed options; both emit layouts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "plebnet/addr.h"
#include "wire/bytes.h"
#include "wire/checksum.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"
#include "golden_frames.h"

#define A PN_IP4(10, 200, 0, 1)
#define B PN_IP4(10, 200, 0, 2)
#define L3 (PN_ETH_HDR_LEN + PN_IPV4_HDR_LEN)

/* ---- helpers ---- */

static uint64_t rng_state = 9293;
static uint32_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

/* Parses a heap copy of exactly len bytes, so ASan sees any read past the end. */
static int parse_copy(const uint8_t *src, size_t len, uint32_t s, uint32_t d, struct pn_tcp_repr *r,
                      bool verify)
{
    uint8_t *p = malloc(len ? len : 1);
    assert_non_null(p);
    memcpy(p, src, len);
    int err = pn_tcp_parse(p, len, s, d, r, verify);
    free(p);
    if (err == PN_WIRE_OK)
        r->payload = NULL; /* it pointed into the freed copy */
    return err;
}

struct golden_seg {
    const uint8_t *seg;
    size_t len;
    uint32_t src, dst;
};

static struct golden_seg golden_seg(const uint8_t *frame, size_t flen)
{
    struct golden_seg g = {frame + L3, flen - L3, pn_get_be32(frame + PN_ETH_HDR_LEN + 12),
                           pn_get_be32(frame + PN_ETH_HDR_LEN + 16)};
    assert_int_equal(frame[PN_ETH_HDR_LEN + 9], PN_IP_PROTO_TCP);
    return g;
}

/* Field-by-field equality (struct padding is not compared), payload bytes included. */
static void assert_repr_equal(const struct pn_tcp_repr *a, const struct pn_tcp_repr *b)
{
    assert_int_equal(a->src_port, b->src_port);
    assert_int_equal(a->dst_port, b->dst_port);
    assert_int_equal(a->seq, b->seq);
    assert_int_equal(a->ack, b->ack);
    assert_int_equal(a->flags, b->flags);
    assert_int_equal(a->window, b->window);
    assert_int_equal(a->urgent, b->urgent);
    assert_int_equal(a->hdr_len, b->hdr_len);
    assert_int_equal(a->has_mss, b->has_mss);
    assert_int_equal(a->mss, b->mss);
    assert_int_equal(a->has_wscale, b->has_wscale);
    assert_int_equal(a->wscale, b->wscale);
    assert_int_equal(a->sack_permitted, b->sack_permitted);
    assert_int_equal(a->has_ts, b->has_ts);
    assert_int_equal(a->ts_val, b->ts_val);
    assert_int_equal(a->ts_ecr, b->ts_ecr);
    assert_int_equal(a->sack_count, b->sack_count);
    for (size_t i = 0; i < a->sack_count && i < PN_TCP_MAX_SACK; i++) {
        assert_int_equal(a->sack[i].left, b->sack[i].left);
        assert_int_equal(a->sack[i].right, b->sack[i].right);
    }
    assert_int_equal(a->payload_len, b->payload_len);
    if (a->payload_len > 0)
        assert_memory_equal(a->payload, b->payload, a->payload_len);
}

/* Parses a golden segment (checksum verified), re-emits it in the Linux layout and checks
 * every byte; returns the repr. */
static struct pn_tcp_repr golden_roundtrip(const uint8_t *frame, size_t flen)
{
    struct golden_seg g = golden_seg(frame, flen);
    struct pn_tcp_repr r;
    assert_int_equal(pn_tcp_parse(g.seg, g.len, g.src, g.dst, &r, true), PN_WIRE_OK);
    assert_ptr_equal(r.payload, g.seg + r.hdr_len);
    assert_int_equal(r.payload_len, g.len - r.hdr_len);
    assert_int_equal(pn_tcp_options_len(&r, PN_TCP_OPTS_LINUX), r.hdr_len - PN_TCP_HDR_LEN);
    uint8_t *out = malloc(g.len);
    assert_non_null(out);
    memset(out, 0xee, g.len);
    memcpy(out + r.hdr_len, r.payload, r.payload_len);
    assert_int_equal(pn_tcp_emit(&r, PN_TCP_OPTS_LINUX, out, g.src, g.dst, r.payload_len),
                     r.hdr_len);
    assert_memory_equal(out, g.seg, g.len);
    free(out);
    return r;
}

/* Builds a segment: the golden SYN's fixed header, the given options (padded with EOL to
 * a multiple of 4 by the caller), payload_len 0x61 bytes, correct checksum. */
static size_t build_seg(uint8_t *buf, const uint8_t *opt, size_t optlen, size_t payload_len)
{
    struct golden_seg g = golden_seg(golden_tcp_syn_ts, sizeof golden_tcp_syn_ts);
    assert_true(optlen % 4 == 0 && optlen <= 40);
    memcpy(buf, g.seg, PN_TCP_HDR_LEN);
    if (optlen > 0)
        memcpy(buf + PN_TCP_HDR_LEN, opt, optlen);
    size_t hl = PN_TCP_HDR_LEN + optlen;
    memset(buf + hl, 0x61, payload_len);
    buf[12] = (uint8_t)(hl / 4 << 4);
    pn_put_be16(buf + 16, 0);
    uint16_t len = (uint16_t)(hl + payload_len);
    pn_put_be16(buf + 16, pn_csum_finish(pn_csum_add(
                              pn_csum_pseudo_ipv4(A, B, PN_IP_PROTO_TCP, len), buf, len)));
    return len;
}

/* ---- golden kernel segments ---- */

static void test_golden_syn_ts(void **state)
{
    (void)state;
    struct pn_tcp_repr r = golden_roundtrip(golden_tcp_syn_ts, sizeof golden_tcp_syn_ts);
    assert_int_equal(r.src_port, 40080);
    assert_int_equal(r.dst_port, 8080);
    assert_int_equal(r.seq, 601557309u);
    assert_int_equal(r.ack, 0);
    assert_int_equal(r.flags, PN_TCP_SYN);
    assert_int_equal(r.window, 64240);
    assert_int_equal(r.urgent, 0);
    assert_int_equal(r.hdr_len, 40);
    assert_true(r.has_mss);
    assert_int_equal(r.mss, 1460);
    assert_true(r.sack_permitted);
    assert_true(r.has_ts);
    assert_int_equal(r.ts_val, 1194020349u);
    assert_int_equal(r.ts_ecr, 0);
    assert_true(r.has_wscale);
    assert_int_equal(r.wscale, 10);
    assert_int_equal(r.sack_count, 0);
    assert_int_equal(r.payload_len, 0);
}

static void test_golden_synack_ts(void **state)
{
    (void)state;
    struct pn_tcp_repr r = golden_roundtrip(golden_tcp_synack_ts, sizeof golden_tcp_synack_ts);
    assert_int_equal(r.src_port, 8080);
    assert_int_equal(r.dst_port, 40080);
    assert_int_equal(r.seq, 841800037u);
    assert_int_equal(r.ack, 601557310u);
    assert_int_equal(r.flags, PN_TCP_SYN | PN_TCP_ACK);
    assert_int_equal(r.window, 65500);
    assert_int_equal(r.mss, 112);
    assert_true(r.sack_permitted);
    assert_int_equal(r.ts_val, 2450921262u);
    assert_int_equal(r.ts_ecr, 1194020349u);
    assert_int_equal(r.wscale, 10);
}

static void test_golden_ack_data_fin_ts(void **state)
{
    (void)state;
    struct pn_tcp_repr r = golden_roundtrip(golden_tcp_ack_ts, sizeof golden_tcp_ack_ts);
    assert_int_equal(r.flags, PN_TCP_ACK);
    assert_int_equal(r.seq, 601557310u);
    assert_int_equal(r.ack, 841800038u);
    assert_int_equal(r.window, 63);
    assert_int_equal(r.hdr_len, 32);
    assert_false(r.has_mss);
    assert_false(r.has_wscale);
    assert_false(r.sack_permitted);
    assert_true(r.has_ts);
    assert_int_equal(r.ts_val, 1194020349u);
    assert_int_equal(r.ts_ecr, 2450921262u);
    assert_int_equal(r.payload_len, 0);

    r = golden_roundtrip(golden_tcp_data_ts, sizeof golden_tcp_data_ts);
    assert_int_equal(r.flags, PN_TCP_ACK);
    assert_int_equal(r.seq, 601557310u);
    assert_int_equal(r.ack, 841800038u);
    assert_int_equal(r.ts_val, 1194020350u);
    assert_int_equal(r.ts_ecr, 2450921262u);
    assert_int_equal(r.payload_len, 100);
    for (size_t i = 0; i < 100; i++)
        assert_int_equal(r.payload[i], 'A');

    r = golden_roundtrip(golden_tcp_fin_ts, sizeof golden_tcp_fin_ts);
    assert_int_equal(r.flags, PN_TCP_FIN | PN_TCP_ACK);
    assert_int_equal(r.seq, 601558110u);
    assert_int_equal(r.ts_val, 1194021850u);
    assert_int_equal(r.ts_ecr, 2450922741u);
}

static void test_golden_sack_ts(void **state)
{
    (void)state;
    struct pn_tcp_repr r = golden_roundtrip(golden_tcp_sack1_ts, sizeof golden_tcp_sack1_ts);
    assert_int_equal(r.flags, PN_TCP_ACK);
    assert_int_equal(r.ack, 601557410u);
    assert_int_equal(r.hdr_len, 44);
    assert_true(r.has_ts);
    assert_int_equal(r.ts_val, 2450921263u);
    assert_int_equal(r.sack_count, 1);
    assert_int_equal(r.sack[0].left, 601557510u);
    assert_int_equal(r.sack[0].right, 601557610u);

    r = golden_roundtrip(golden_tcp_sack3_ts, sizeof golden_tcp_sack3_ts);
    assert_int_equal(r.seq, 841800038u);
    assert_int_equal(r.ack, 601557410u);
    assert_int_equal(r.window, 64);
    assert_int_equal(r.hdr_len, 60);
    assert_int_equal(r.ts_val, 2450921263u);
    assert_int_equal(r.ts_ecr, 1194020350u);
    assert_int_equal(r.sack_count, 3);
    static const struct pn_tcp_sack_block want[3] = {
        {601557910u, 601558110u}, {601557710u, 601557810u}, {601557510u, 601557610u}};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(r.sack[i].left, want[i].left);
        assert_int_equal(r.sack[i].right, want[i].right);
    }
}

static void test_golden_no_timestamps(void **state)
{
    (void)state;
    struct pn_tcp_repr r = golden_roundtrip(golden_tcp_syn_nots, sizeof golden_tcp_syn_nots);
    assert_int_equal(r.src_port, 40081);
    assert_int_equal(r.seq, 1841202728u);
    assert_int_equal(r.flags, PN_TCP_SYN);
    assert_int_equal(r.hdr_len, 32);
    assert_int_equal(r.mss, 1460);
    assert_true(r.sack_permitted);
    assert_false(r.has_ts);
    assert_int_equal(r.wscale, 10);

    r = golden_roundtrip(golden_tcp_synack_nots, sizeof golden_tcp_synack_nots);
    assert_int_equal(r.seq, 2715531058u);
    assert_int_equal(r.ack, 1841202729u);
    assert_int_equal(r.mss, 100);
    assert_true(r.sack_permitted);
    assert_false(r.has_ts);

    r = golden_roundtrip(golden_tcp_data_nots, sizeof golden_tcp_data_nots);
    assert_int_equal(r.hdr_len, 20);
    assert_int_equal(r.payload_len, 100);
    assert_int_equal(r.payload[99], 'a');
    assert_int_equal(pn_tcp_options_len(&r, PN_TCP_OPTS_COMPACT), 0);

    r = golden_roundtrip(golden_tcp_sack4_nots, sizeof golden_tcp_sack4_nots);
    assert_int_equal(r.seq, 2715531059u);
    assert_int_equal(r.ack, 1841202829u);
    assert_int_equal(r.hdr_len, 56);
    assert_false(r.has_ts);
    assert_int_equal(r.sack_count, 4);
    static const struct pn_tcp_sack_block want[4] = {{1841203529u, 1841203729u},
                                                     {1841203329u, 1841203429u},
                                                     {1841203129u, 1841203229u},
                                                     {1841202929u, 1841203029u}};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(r.sack[i].left, want[i].left);
        assert_int_equal(r.sack[i].right, want[i].right);
    }
}

/* Every golden TCP segment: Linux layout byte-identical; compact layout parses back to the
 * same repr and is never longer. */
static void test_golden_all(void **state)
{
    (void)state;
    size_t n = 0;
    for (size_t i = 0; i < PN_GOLDEN_COUNT; i++) {
        const uint8_t *f = golden_frames[i].data;
        if (pn_get_be16(f + 12) != PN_ETHERTYPE_IPV4 || f[PN_ETH_HDR_LEN + 9] != PN_IP_PROTO_TCP)
            continue;
        n++;
        struct pn_tcp_repr r = golden_roundtrip(f, golden_frames[i].len);
        struct golden_seg g = golden_seg(f, golden_frames[i].len);
        size_t clen = pn_tcp_options_len(&r, PN_TCP_OPTS_COMPACT);
        assert_true(clen <= pn_tcp_options_len(&r, PN_TCP_OPTS_LINUX)); /* same blocks here */
        uint8_t out[PN_TCP_MAX_HDR_LEN + 100];
        memcpy(out + PN_TCP_HDR_LEN + clen, r.payload, r.payload_len);
        assert_int_equal(pn_tcp_emit(&r, PN_TCP_OPTS_COMPACT, out, g.src, g.dst, r.payload_len),
                         PN_TCP_HDR_LEN + clen);
        struct pn_tcp_repr back;
        assert_int_equal(
            pn_tcp_parse(out, PN_TCP_HDR_LEN + clen + r.payload_len, g.src, g.dst, &back, true),
            PN_WIRE_OK);
        back.hdr_len = r.hdr_len;
        assert_repr_equal(&back, &r);
    }
    assert_int_equal(n, 11);
}

/* ---- the documented checks ---- */

static void test_truncated(void **state)
{
    (void)state;
    struct pn_tcp_repr r;
    struct golden_seg g = golden_seg(golden_tcp_data_ts, sizeof golden_tcp_data_ts);
    for (size_t len = 0; len < PN_TCP_HDR_LEN; len++)
        assert_int_equal(parse_copy(g.seg, len, g.src, g.dst, &r, true), PN_WIRE_TRUNCATED);
    /* 20..31 bytes: the data offset (32 bytes) runs past the end. */
    for (size_t len = PN_TCP_HDR_LEN; len < 32; len++)
        assert_int_equal(parse_copy(g.seg, len, g.src, g.dst, &r, true), PN_WIRE_BAD_HDR_LEN);
    /* A cut payload is caught by the checksum, and parses shorter without it. */
    for (size_t len = 32; len < g.len; len++) {
        assert_int_equal(parse_copy(g.seg, len, g.src, g.dst, &r, true), PN_WIRE_BAD_CHECKSUM);
        assert_int_equal(parse_copy(g.seg, len, g.src, g.dst, &r, false), PN_WIRE_OK);
        assert_int_equal(r.payload_len, len - 32);
    }
}

static void test_bad_data_offset(void **state)
{
    (void)state;
    uint8_t s[60];
    struct pn_tcp_repr r;
    for (uint8_t doff = 0; doff < 5; doff++) {
        size_t len = build_seg(s, NULL, 0, 20);
        s[12] = (uint8_t)(doff << 4);
        assert_int_equal(parse_copy(s, len, A, B, &r, false), PN_WIRE_BAD_HDR_LEN);
    }
    size_t len = build_seg(s, NULL, 0, 20); /* 40 bytes */
    s[12] = 0xf0;                           /* 60 */
    assert_int_equal(parse_copy(s, len, A, B, &r, false), PN_WIRE_BAD_HDR_LEN);
    s[12] = 0xa0; /* 40: all "options", bytes 0x61 = unknown kind, length 0x61: overrun */
    assert_int_equal(parse_copy(s, len, A, B, &r, false), PN_WIRE_BAD_OPTION);
}

static void test_too_long(void **state)
{
    (void)state;
    uint8_t *s = calloc(1, 65536);
    assert_non_null(s);
    struct pn_tcp_repr r;
    s[12] = 0x50;
    assert_int_equal(pn_tcp_parse(s, 65536, A, B, &r, false), PN_WIRE_BAD_LENGTH);
    assert_int_equal(pn_tcp_parse(s, 65535, A, B, &r, false), PN_WIRE_OK);
    assert_int_equal(r.payload_len, 65515);
    free(s);
}

static void test_bad_checksum(void **state)
{
    (void)state;
    struct golden_seg g = golden_seg(golden_tcp_sack3_ts, sizeof golden_tcp_sack3_ts);
    uint8_t s[60];
    struct pn_tcp_repr r;
    assert_int_equal(g.len, sizeof s);
    for (size_t i = 0; i < sizeof s; i++) {
        memcpy(s, g.seg, sizeof s);
        s[i] ^= 0x01; /* byte 12 bit 0 is NS: covered, but otherwise ignored */
        assert_int_equal(parse_copy(s, sizeof s, g.src, g.dst, &r, true), PN_WIRE_BAD_CHECKSUM);
    }
    /* The pseudo-header is covered. */
    assert_int_equal(parse_copy(g.seg, g.len, g.src, g.dst + 1, &r, true), PN_WIRE_BAD_CHECKSUM);
    assert_int_equal(parse_copy(g.seg, g.len, g.src + 0x10000, g.dst, &r, true),
                     PN_WIRE_BAD_CHECKSUM);
    assert_int_equal(parse_copy(g.seg, g.len, g.src, g.dst + 1, &r, false), PN_WIRE_OK);
}

/* The NS bit and the reserved bits of byte 12 do not leak into flags or the offset. */
static void test_reserved_bits_ignored(void **state)
{
    (void)state;
    struct golden_seg g = golden_seg(golden_tcp_ack_ts, sizeof golden_tcp_ack_ts);
    uint8_t s[32];
    struct pn_tcp_repr r;
    memcpy(s, g.seg, sizeof s);
    s[12] |= 0x0f;
    s[13] = 0xff;
    assert_int_equal(parse_copy(s, sizeof s, g.src, g.dst, &r, false), PN_WIRE_OK);
    assert_int_equal(r.hdr_len, 32);
    assert_int_equal(r.flags, 0xff);
}

struct opt_case {
    const char *what;
    uint8_t len; /* option bytes used; padded with EOL to a multiple of 4 */
    uint8_t opt[40];
    int want;
};

static const struct opt_case opt_cases[] = {
    {"unknown kind, length 0", 4, {0x1e, 0, 0, 0}, PN_WIRE_BAD_OPTION},
    {"MSS, length 0", 4, {2, 0, 0, 0}, PN_WIRE_BAD_OPTION},
    {"unknown kind, length 1", 4, {0x1e, 1, 0, 0}, PN_WIRE_BAD_OPTION},
    {"SACK-perm, length 1", 4, {1, 1, 4, 1}, PN_WIRE_BAD_OPTION},
    {"overrun by one", 4, {1, 0x1e, 4, 0}, PN_WIRE_BAD_OPTION},
    {"overrun by a lot", 8, {1, 1, 0x1e, 200, 0, 0, 0, 0}, PN_WIRE_BAD_OPTION},
    {"MSS cut by the data offset", 4, {1, 1, 2, 4}, PN_WIRE_BAD_OPTION},
    {"kind in the last byte, no length", 4, {1, 1, 1, 0x1e}, PN_WIRE_BAD_OPTION},
    {"TS cut after its length", 8, {1, 1, 1, 1, 1, 1, 8, 10}, PN_WIRE_BAD_OPTION},
    {"MSS length 3", 4, {2, 3, 5, 1}, PN_WIRE_BAD_OPTION},
    {"MSS length 5", 8, {2, 5, 5, 0xb4, 0, 1, 1, 1}, PN_WIRE_BAD_OPTION},
    {"WS length 2", 4, {3, 2, 1, 1}, PN_WIRE_BAD_OPTION},
    {"WS length 4", 4, {3, 4, 7, 0}, PN_WIRE_BAD_OPTION},
    {"SACK-perm length 3", 4, {4, 3, 0, 1}, PN_WIRE_BAD_OPTION},
    {"TS length 8", 8, {8, 8, 0, 0, 0, 1, 0, 0}, PN_WIRE_BAD_OPTION},
    {"TS length 12", 12, {8, 12, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0}, PN_WIRE_BAD_OPTION},
    {"SACK length 2 (no block)", 4, {5, 2, 1, 1}, PN_WIRE_BAD_OPTION},
    {"SACK length 2+7", 12, {5, 9, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1}, PN_WIRE_BAD_OPTION},
    {"SACK length 2+9", 12, {5, 11, 0, 0, 0, 1, 0, 0, 0, 2, 9, 1}, PN_WIRE_BAD_OPTION},
    {"5 SACK blocks (length 42)", 40, {5, 42}, PN_WIRE_BAD_OPTION},
    {"good option then length 0", 8, {2, 4, 5, 0xb4, 0x1e, 0, 0, 0}, PN_WIRE_BAD_OPTION},
    /* accepted */
    {"NOPs", 4, {1, 1, 1, 1}, PN_WIRE_OK},
    {"EOL then garbage", 8, {1, 0, 0x1e, 0, 2, 3, 0xff, 0xff}, PN_WIRE_OK},
    {"unknown kind skipped", 8, {0x1e, 4, 0xff, 0xff, 0xfd, 2, 1, 0}, PN_WIRE_OK},
    {"unknown kind filling 40", 40, {0xfe, 40}, PN_WIRE_OK},
    {"4 SACK blocks", 36, {1, 1, 5, 34}, PN_WIRE_OK},
    {"TS + 3 SACK blocks, no padding", 36, {8, 10, 0, 0, 0, 0, 0, 0, 0, 0, 5, 26}, PN_WIRE_OK},
};

/* Malformed option lengths are BAD_OPTION and leave *out untouched; valid lists parse.
 * Each case runs with no payload too, so the options end the (exact-size) buffer and
 * ASan sees a read past them. */
static void test_option_lengths(void **state)
{
    (void)state;
    for (size_t i = 0; i < 2 * sizeof opt_cases / sizeof opt_cases[0]; i++) {
        const struct opt_case *c = &opt_cases[i / 2];
        size_t plen = (i & 1) ? 3 : 0;
        uint8_t opt[40] = {0}, s[PN_TCP_MAX_HDR_LEN + 3];
        memcpy(opt, c->opt, c->len);
        size_t optlen = (c->len + 3u) & ~3u;
        size_t len = build_seg(s, opt, optlen, plen);
        struct pn_tcp_repr r, sentinel;
        memset(&r, 0xab, sizeof r);
        memcpy(&sentinel, &r, sizeof r);
        int err = parse_copy(s, len, A, B, &r, true);
        if (err != c->want)
            fail_msg("%s: got %d, want %d", c->what, err, c->want);
        if (err != PN_WIRE_OK)
            assert_memory_equal(&r, &sentinel, sizeof r);
        else
            assert_int_equal(r.payload_len, plen);
    }
}

static void test_option_values(void **state)
{
    (void)state;
    uint8_t s[PN_TCP_MAX_HDR_LEN];
    struct pn_tcp_repr r;
    /* Repeated MSS: the last wins. WS 15 is reported raw (the caller clamps). */
    static const uint8_t rep[12] = {2, 4, 0, 100, 2, 4, 0xff, 0xff, 1, 3, 3, 15};
    size_t len = build_seg(s, rep, sizeof rep, 0);
    assert_int_equal(parse_copy(s, len, A, B, &r, true), PN_WIRE_OK);
    assert_true(r.has_mss);
    assert_int_equal(r.mss, 0xffff);
    assert_true(r.has_wscale);
    assert_int_equal(r.wscale, 15);
    assert_false(r.has_ts);
    assert_false(r.sack_permitted);
    /* 4 SACK blocks, values in order, wrapping sequence numbers kept raw. */
    uint8_t sack[36] = {1, 1, 5, 34};
    for (size_t i = 0; i < 8; i++)
        pn_put_be32(sack + 4 + 4 * i, 0xfffffff0u + (uint32_t)i * 8);
    len = build_seg(s, sack, sizeof sack, 0);
    assert_int_equal(parse_copy(s, len, A, B, &r, true), PN_WIRE_OK);
    assert_int_equal(r.sack_count, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(r.sack[i].left, 0xfffffff0u + (uint32_t)i * 16);
        assert_int_equal(r.sack[i].right, 0xfffffff0u + (uint32_t)i * 16 + 8);
    }
    /* Options after EOL are not parsed. */
    static const uint8_t eol[8] = {0, 2, 4, 5, 0xb4, 0, 0, 0};
    len = build_seg(s, eol, sizeof eol, 0);
    assert_int_equal(parse_copy(s, len, A, B, &r, true), PN_WIRE_OK);
    assert_false(r.has_mss);
}

/* ---- emit ---- */

static struct pn_tcp_repr base_repr(void)
{
    struct pn_tcp_repr r;
    memset(&r, 0, sizeof r);
    r.src_port = 0x1234;
    r.dst_port = 80;
    r.seq = 0x01020304;
    r.ack = 0xa0b0c0d0;
    r.flags = PN_TCP_ACK;
    r.window = 0x4321;
    r.urgent = 0;
    r.ts_val = 0x11223344;
    r.ts_ecr = 0x55667788;
    for (uint32_t i = 0; i < PN_TCP_MAX_SACK; i++) {
        r.sack[i].left = 0x1000 * (i + 1);
        r.sack[i].right = 0x1000 * (i + 1) + 0x100;
    }
    return r;
}

/* Emits r in layout with 5 payload bytes, checks the options are exactly want, checks the
 * fixed header and that the segment verifies. */
static void check_emit(const struct pn_tcp_repr *r, enum pn_tcp_opt_layout layout,
                       const uint8_t *want, size_t want_len)
{
    uint8_t s[PN_TCP_MAX_HDR_LEN + 5 + 1];
    assert_int_equal(pn_tcp_options_len(r, layout), want_len);
    memset(s, 0xee, sizeof s);
    size_t hl = PN_TCP_HDR_LEN + want_len;
    memcpy(s + hl, "hello", 5);
    assert_int_equal(pn_tcp_emit(r, layout, s, A, B, 5), hl);
    assert_memory_equal(s + PN_TCP_HDR_LEN, want, want_len);
    assert_memory_equal(s + hl, "hello\xee", 6); /* payload untouched, nothing written past */
    assert_int_equal(pn_get_be16(s), r->src_port);
    assert_int_equal(pn_get_be16(s + 2), r->dst_port);
    assert_int_equal(pn_get_be32(s + 4), r->seq);
    assert_int_equal(pn_get_be32(s + 8), r->ack);
    assert_int_equal(s[12], hl / 4 << 4);
    assert_int_equal(s[13], r->flags);
    assert_int_equal(pn_get_be16(s + 14), r->window);
    assert_int_equal(pn_get_be16(s + 18), r->urgent);
    struct pn_tcp_repr back;
    assert_int_equal(pn_tcp_parse(s, hl + 5, A, B, &back, true), PN_WIRE_OK);
    assert_int_equal(back.payload_len, 5);
}

#define TSB 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88
#define SACK1 0, 0, 0x10, 0, 0, 0, 0x11, 0
#define SACK2 0, 0, 0x20, 0, 0, 0, 0x21, 0
#define SACK3 0, 0, 0x30, 0, 0, 0, 0x31, 0
#define SACK4 0, 0, 0x40, 0, 0, 0, 0x41, 0

static void test_emit_linux(void **state)
{
    (void)state;
    struct pn_tcp_repr r = base_repr();
    check_emit(&r, PN_TCP_OPTS_LINUX, NULL, 0);

    r.flags = PN_TCP_SYN;
    r.has_mss = true;
    r.mss = 1460;
    check_emit(&r, PN_TCP_OPTS_LINUX, (const uint8_t[]){2, 4, 5, 0xb4}, 4);
    r.sack_permitted = r.has_ts = r.has_wscale = true;
    r.wscale = 7;
    check_emit(&r, PN_TCP_OPTS_LINUX,
               (const uint8_t[]){2, 4, 5, 0xb4, 4, 2, 8, 10, TSB, 1, 3, 3, 7}, 20);
    r.has_ts = false; /* SACK-perm without TS */
    check_emit(&r, PN_TCP_OPTS_LINUX, (const uint8_t[]){2, 4, 5, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7}, 12);
    r.has_ts = true; /* TS without SACK-perm */
    r.sack_permitted = false;
    check_emit(&r, PN_TCP_OPTS_LINUX,
               (const uint8_t[]){2, 4, 5, 0xb4, 1, 1, 8, 10, TSB, 1, 3, 3, 7}, 20);
    r.has_mss = r.has_ts = false;
    r.sack_permitted = true;
    check_emit(&r, PN_TCP_OPTS_LINUX, (const uint8_t[]){1, 1, 4, 2, 1, 3, 3, 7}, 8);

    r = base_repr();
    r.has_ts = true;
    check_emit(&r, PN_TCP_OPTS_LINUX, (const uint8_t[]){1, 1, 8, 10, TSB}, 12);
    r.sack_count = 1;
    check_emit(&r, PN_TCP_OPTS_LINUX, (const uint8_t[]){1, 1, 8, 10, TSB, 1, 1, 5, 10, SACK1}, 24);
    r.sack_count = 3;
    check_emit(&r, PN_TCP_OPTS_LINUX,
               (const uint8_t[]){1, 1, 8, 10, TSB, 1, 1, 5, 26, SACK1, SACK2, SACK3}, 40);
    r.sack_count = 4; /* the 4th does not fit beside TS: dropped */
    check_emit(&r, PN_TCP_OPTS_LINUX,
               (const uint8_t[]){1, 1, 8, 10, TSB, 1, 1, 5, 26, SACK1, SACK2, SACK3}, 40);
    r.has_ts = false;
    check_emit(&r, PN_TCP_OPTS_LINUX, (const uint8_t[]){1, 1, 5, 34, SACK1, SACK2, SACK3, SACK4},
               36);
    r.sack_count = 200; /* nonsense count: clamped to the array */
    check_emit(&r, PN_TCP_OPTS_LINUX, (const uint8_t[]){1, 1, 5, 34, SACK1, SACK2, SACK3, SACK4},
               36);
    /* Everything: 20 bytes of SYN options leave room for 2 blocks. */
    r.sack_count = 4;
    r.has_mss = r.has_ts = r.sack_permitted = r.has_wscale = true;
    r.mss = 536;
    r.wscale = 14;
    check_emit(
        &r, PN_TCP_OPTS_LINUX,
        (const uint8_t[]){2, 4, 2, 0x18, 4, 2, 8, 10, TSB, 1, 3, 3, 14, 1, 1, 5, 18, SACK1, SACK2},
        40);
    /* MSS + WS + 4 blocks: 8 bytes leave 32: 3 blocks (4 + 24). */
    r.has_ts = r.sack_permitted = false;
    check_emit(&r, PN_TCP_OPTS_LINUX,
               (const uint8_t[]){2, 4, 2, 0x18, 1, 3, 3, 14, 1, 1, 5, 26, SACK1, SACK2, SACK3}, 36);
}

static void test_emit_compact(void **state)
{
    (void)state;
    struct pn_tcp_repr r = base_repr();
    check_emit(&r, PN_TCP_OPTS_COMPACT, NULL, 0);
    r.flags = PN_TCP_SYN;
    r.has_mss = r.sack_permitted = r.has_ts = r.has_wscale = true;
    r.mss = 1460;
    r.wscale = 7;
    check_emit(&r, PN_TCP_OPTS_COMPACT,
               (const uint8_t[]){2, 4, 5, 0xb4, 4, 2, 8, 10, TSB, 3, 3, 7, 0}, 20);
    r.has_mss = r.has_ts = r.has_wscale = false;
    check_emit(&r, PN_TCP_OPTS_COMPACT, (const uint8_t[]){4, 2, 0, 0}, 4);
    r.sack_permitted = false;
    r.has_wscale = true;
    check_emit(&r, PN_TCP_OPTS_COMPACT, (const uint8_t[]){3, 3, 7, 0}, 4);

    r = base_repr();
    r.has_ts = true;
    check_emit(&r, PN_TCP_OPTS_COMPACT, (const uint8_t[]){8, 10, TSB, 0, 0}, 12);
    r.sack_count = 2;
    check_emit(&r, PN_TCP_OPTS_COMPACT, (const uint8_t[]){8, 10, TSB, 5, 18, SACK1, SACK2}, 28);
    r.sack_count = 4; /* 10 + 2 + 3 * 8 = 36: the 4th is dropped */
    check_emit(&r, PN_TCP_OPTS_COMPACT, (const uint8_t[]){8, 10, TSB, 5, 26, SACK1, SACK2, SACK3},
               36);
    r.has_ts = false;
    check_emit(&r, PN_TCP_OPTS_COMPACT, (const uint8_t[]){5, 34, SACK1, SACK2, SACK3, SACK4, 0, 0},
               36);
    /* Everything: 19 bytes + 2 blocks (18) = 37 -> 40; Linux also fits only 2. */
    r.has_mss = r.has_ts = r.sack_permitted = r.has_wscale = true;
    r.mss = 536;
    r.wscale = 14;
    check_emit(
        &r, PN_TCP_OPTS_COMPACT,
        (const uint8_t[]){2, 4, 2, 0x18, 4, 2, 8, 10, TSB, 3, 3, 14, 5, 18, SACK1, SACK2, 0, 0, 0},
        40);
}

/* How many SACK blocks each layout must keep, computed independently of tcp.c. */
static size_t expect_blocks(const struct pn_tcp_repr *r, enum pn_tcp_opt_layout layout)
{
    int room, base;
    if (layout == PN_TCP_OPTS_LINUX) {
        int ts_sp = 0; /* TS (with SACK-perm fused in), or SACK-perm alone */
        if (r->has_ts)
            ts_sp = 12;
        else if (r->sack_permitted)
            ts_sp = 4;
        room = 40 - (r->has_mss ? 4 : 0) - ts_sp - (r->has_wscale ? 4 : 0);
        base = 4;
    } else {
        room = 40 - (r->has_mss ? 4 : 0) - (r->sack_permitted ? 2 : 0) - (r->has_ts ? 10 : 0) -
               (r->has_wscale ? 3 : 0);
        base = 2;
    }
    int fit = room >= base + 8 ? (room - base) / 8 : 0;
    return (size_t)(r->sack_count < fit ? r->sack_count : fit);
}

/* Random reprs (fixed seed) emitted in both layouts parse back to the same repr, minus
 * the SACK blocks that could not fit. */
static void test_emit_parse_random(void **state)
{
    (void)state;
    uint8_t s[PN_TCP_MAX_HDR_LEN + 64];
    for (int iter = 0; iter < 50000; iter++) {
        struct pn_tcp_repr r;
        memset(&r, 0, sizeof r);
        r.src_port = (uint16_t)rng_next();
        r.dst_port = (uint16_t)rng_next();
        r.seq = rng_next();
        r.ack = rng_next();
        r.flags = (uint8_t)rng_next();
        r.window = (uint16_t)rng_next();
        r.urgent = (uint16_t)rng_next();
        uint32_t bits = rng_next();
        r.has_mss = bits & 1;
        r.mss = r.has_mss ? (uint16_t)rng_next() : 0;
        r.has_wscale = bits & 2;
        r.wscale = r.has_wscale ? (uint8_t)rng_next() : 0;
        r.sack_permitted = bits & 4;
        r.has_ts = bits & 8;
        if (r.has_ts) {
            r.ts_val = rng_next();
            r.ts_ecr = rng_next();
        }
        r.sack_count = (uint8_t)((bits >> 4) % 5);
        for (size_t i = 0; i < r.sack_count; i++) {
            r.sack[i].left = rng_next();
            r.sack[i].right = rng_next();
        }
        size_t plen = (bits >> 8) % 64;
        for (int lay = 0; lay < 2; lay++) {
            enum pn_tcp_opt_layout layout = lay ? PN_TCP_OPTS_COMPACT : PN_TCP_OPTS_LINUX;
            size_t olen = pn_tcp_options_len(&r, layout);
            assert_true(olen % 4 == 0 && olen <= 40);
            for (size_t i = 0; i < plen; i++)
                s[PN_TCP_HDR_LEN + olen + i] = (uint8_t)(i * 31);
            assert_int_equal(pn_tcp_emit(&r, layout, s, A, B, plen), PN_TCP_HDR_LEN + olen);
            struct pn_tcp_repr back;
            assert_int_equal(pn_tcp_parse(s, PN_TCP_HDR_LEN + olen + plen, A, B, &back, true),
                             PN_WIRE_OK);
            struct pn_tcp_repr want = r;
            want.sack_count = (uint8_t)expect_blocks(&r, layout);
            want.hdr_len = (uint8_t)(PN_TCP_HDR_LEN + olen);
            want.payload = s + want.hdr_len;
            want.payload_len = plen;
            assert_repr_equal(&back, &want);
            assert_ptr_equal(back.payload, want.payload);
        }
        /* With the blocks Linux keeps, compact is never longer (it may keep one more). */
        struct pn_tcp_repr same = r;
        same.sack_count = (uint8_t)expect_blocks(&r, PN_TCP_OPTS_LINUX);
        assert_true(pn_tcp_options_len(&same, PN_TCP_OPTS_COMPACT) <=
                    pn_tcp_options_len(&r, PN_TCP_OPTS_LINUX));
        assert_true(expect_blocks(&r, PN_TCP_OPTS_COMPACT) >= expect_blocks(&r, PN_TCP_OPTS_LINUX));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_syn_ts),
        cmocka_unit_test(test_golden_synack_ts),
        cmocka_unit_test(test_golden_ack_data_fin_ts),
        cmocka_unit_test(test_golden_sack_ts),
        cmocka_unit_test(test_golden_no_timestamps),
        cmocka_unit_test(test_golden_all),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_bad_data_offset),
        cmocka_unit_test(test_too_long),
        cmocka_unit_test(test_bad_checksum),
        cmocka_unit_test(test_reserved_bits_ignored),
        cmocka_unit_test(test_option_lengths),
        cmocka_unit_test(test_option_values),
        cmocka_unit_test(test_emit_linux),
        cmocka_unit_test(test_emit_compact),
        cmocka_unit_test(test_emit_parse_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
