/* tests/wire/test_ipv4.c — IPv4 header codec (RFC 791): golden kernel packets parse to the
 * expected fields and re-emit byte for byte; each documented check, in its order. */
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
#include "golden_frames.h"

#define A PN_IP4(10, 200, 0, 1)
#define B PN_IP4(10, 200, 0, 2)

/* Parses a heap copy of exactly len bytes, so ASan sees any read past the end. */
static int parse_copy(const uint8_t *src, size_t len, struct pn_ipv4_repr *r, bool verify)
{
    uint8_t *p = malloc(len ? len : 1);
    assert_non_null(p);
    memcpy(p, src, len);
    int err = pn_ipv4_parse(p, len, r, verify);
    free(p);
    return err;
}

/* Recomputes the header checksum of the header at p. */
static void fix_csum(uint8_t *p)
{
    size_t hl = (size_t)(p[0] & 0x0f) * 4;
    pn_put_be16(p + 10, 0);
    pn_put_be16(p + 10, pn_csum_finish(pn_csum_add(0, p, hl)));
}

static void test_golden_echo_request(void **state)
{
    (void)state;
    struct pn_ipv4_repr r;
    const uint8_t *ip = golden_icmp_echo_request + PN_ETH_HDR_LEN;
    assert_int_equal(parse_copy(ip, 84, &r, true), PN_WIRE_OK);
    assert_int_equal(r.src, A);
    assert_int_equal(r.dst, B);
    assert_int_equal(r.proto, PN_IP_PROTO_ICMP);
    assert_int_equal(r.ttl, 64);
    assert_int_equal(r.tos, 0);
    assert_int_equal(r.id, 0xbf43);
    assert_true(r.df);
    assert_false(r.mf);
    assert_int_equal(r.frag_off, 0);
    assert_int_equal(r.hdr_len, 20);
    assert_int_equal(r.payload_len, 64);
}

static void test_golden_port_unreach(void **state)
{
    (void)state;
    struct pn_ipv4_repr r;
    const uint8_t *ip = golden_icmp_port_unreach + PN_ETH_HDR_LEN;
    assert_int_equal(parse_copy(ip, sizeof golden_icmp_port_unreach - PN_ETH_HDR_LEN, &r, true),
                     PN_WIRE_OK);
    assert_int_equal(r.src, B);
    assert_int_equal(r.dst, A);
    assert_int_equal(r.tos, 0xc0); /* Linux sends ICMP errors as CS6 */
    assert_int_equal(r.id, 0xf2a2);
    assert_false(r.df);
    assert_int_equal(r.payload_len, 48);
}

/* The three fragments of the 3008-byte UDP datagram (RFC 791 §3.2). */
static void test_golden_fragments(void **state)
{
    (void)state;
    const struct {
        const uint8_t *f;
        size_t len;
        bool mf;
        uint16_t off, plen;
    } frags[] = {
        {golden_frag0, sizeof golden_frag0, true, 0, 1480},
        {golden_frag1, sizeof golden_frag1, true, 1480, 1480},
        {golden_frag2, sizeof golden_frag2, false, 2960, 48},
    };
    for (size_t i = 0; i < 3; i++) {
        struct pn_ipv4_repr r;
        assert_int_equal(
            parse_copy(frags[i].f + PN_ETH_HDR_LEN, frags[i].len - PN_ETH_HDR_LEN, &r, true),
            PN_WIRE_OK);
        assert_int_equal(r.id, 0x5821);
        assert_int_equal(r.proto, PN_IP_PROTO_UDP);
        assert_false(r.df);
        assert_int_equal(r.mf, frags[i].mf);
        assert_int_equal(r.frag_off, frags[i].off);
        assert_int_equal(r.payload_len, frags[i].plen);
    }
}

/* Every golden IPv4 packet: parse with checksum, re-emit, identical 20 bytes. */
static void test_golden_roundtrip(void **state)
{
    (void)state;
    size_t n = 0;
    for (size_t i = 0; i < PN_GOLDEN_COUNT; i++) {
        const uint8_t *f = golden_frames[i].data;
        if (pn_get_be16(f + 12) != PN_ETHERTYPE_IPV4)
            continue;
        struct pn_ipv4_repr r;
        uint8_t out[PN_IPV4_HDR_LEN];
        size_t len = golden_frames[i].len - PN_ETH_HDR_LEN;
        assert_int_equal(parse_copy(f + PN_ETH_HDR_LEN, len, &r, true), PN_WIRE_OK);
        assert_int_equal(r.hdr_len + r.payload_len, len);
        pn_ipv4_emit(&r, out);
        assert_memory_equal(out, f + PN_ETH_HDR_LEN, PN_IPV4_HDR_LEN);
        n++;
    }
    assert_int_equal(n, PN_GOLDEN_COUNT - 2);
}

/* Shorter than 20 bytes: TRUNCATED; 20 up to total length - 1: the total length field
 * says more than arrived, BAD_LENGTH. */
static void test_truncated(void **state)
{
    (void)state;
    struct pn_ipv4_repr r;
    const uint8_t *ip = golden_icmp_echo_request + PN_ETH_HDR_LEN;
    for (size_t len = 0; len < PN_IPV4_HDR_LEN; len++)
        assert_int_equal(parse_copy(ip, len, &r, true), PN_WIRE_TRUNCATED);
    for (size_t len = PN_IPV4_HDR_LEN; len < 84; len++)
        assert_int_equal(parse_copy(ip, len, &r, true), PN_WIRE_BAD_LENGTH);
    assert_int_equal(parse_copy(ip, 84, &r, true), PN_WIRE_OK);
}

/* Link padding past the total length is allowed and excluded from the payload. */
static void test_padding(void **state)
{
    (void)state;
    uint8_t p[60];
    struct pn_ipv4_repr r;
    memset(p, 0, sizeof p);
    memcpy(p, golden_udp + PN_ETH_HDR_LEN, sizeof golden_udp - PN_ETH_HDR_LEN); /* 43 bytes */
    assert_int_equal(parse_copy(p, sizeof p, &r, true), PN_WIRE_OK);
    assert_int_equal(r.payload_len, 23);
}

static void test_bad_version(void **state)
{
    (void)state;
    uint8_t p[84];
    struct pn_ipv4_repr r;
    memcpy(p, golden_icmp_echo_request + PN_ETH_HDR_LEN, sizeof p);
    static const uint8_t versions[] = {0x05, 0x65, 0x45 ^ 0xf0, 0x35};
    for (size_t i = 0; i < sizeof versions; i++) {
        p[0] = versions[i];
        fix_csum(p);
        assert_int_equal(parse_copy(p, sizeof p, &r, true), PN_WIRE_BAD_VERSION);
    }
}

static void test_bad_ihl(void **state)
{
    (void)state;
    uint8_t p[84];
    struct pn_ipv4_repr r;
    for (uint8_t ihl = 0; ihl < 5; ihl++) {
        memcpy(p, golden_icmp_echo_request + PN_ETH_HDR_LEN, sizeof p);
        p[0] = (uint8_t)(0x40 | ihl);
        assert_int_equal(parse_copy(p, sizeof p, &r, false), PN_WIRE_BAD_HDR_LEN);
    }
    /* IHL 15 (60 bytes) in a 40-byte buffer. */
    memcpy(p, golden_icmp_echo_request + PN_ETH_HDR_LEN, sizeof p);
    p[0] = 0x4f;
    assert_int_equal(parse_copy(p, 40, &r, false), PN_WIRE_BAD_HDR_LEN);
    /* IHL 6 in exactly 20 bytes. */
    p[0] = 0x46;
    assert_int_equal(parse_copy(p, 20, &r, false), PN_WIRE_BAD_HDR_LEN);
}

static void test_bad_total_length(void **state)
{
    (void)state;
    uint8_t p[84];
    struct pn_ipv4_repr r;
    memcpy(p, golden_icmp_echo_request + PN_ETH_HDR_LEN, sizeof p);
    static const uint16_t bad[] = {0, 1, 19, 85, 0xffff};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pn_put_be16(p + 2, bad[i]);
        fix_csum(p);
        assert_int_equal(parse_copy(p, sizeof p, &r, true), PN_WIRE_BAD_LENGTH);
    }
    /* Total length smaller than the header with options. */
    p[0] = 0x46;
    pn_put_be16(p + 2, 20);
    p[20] = 1, p[21] = 1, p[22] = 1, p[23] = 0;
    fix_csum(p);
    assert_int_equal(parse_copy(p, sizeof p, &r, true), PN_WIRE_BAD_LENGTH);
    /* A header-only packet is fine. */
    p[0] = 0x45;
    pn_put_be16(p + 2, 20);
    fix_csum(p);
    assert_int_equal(parse_copy(p, sizeof p, &r, true), PN_WIRE_OK);
    assert_int_equal(r.payload_len, 0);
}

static void test_bad_checksum(void **state)
{
    (void)state;
    uint8_t p[84];
    struct pn_ipv4_repr r;
    for (size_t byte = 0; byte < PN_IPV4_HDR_LEN; byte++) {
        if (byte == 0 || byte == 2 || byte == 3 || byte == 6)
            continue; /* those would trip an earlier or later check */
        memcpy(p, golden_icmp_echo_request + PN_ETH_HDR_LEN, sizeof p);
        p[byte] ^= 0x01;
        assert_int_equal(parse_copy(p, sizeof p, &r, true), PN_WIRE_BAD_CHECKSUM);
        assert_int_equal(parse_copy(p, sizeof p, &r, false), PN_WIRE_OK);
    }
    /* The payload is not covered by the header checksum. */
    memcpy(p, golden_icmp_echo_request + PN_ETH_HDR_LEN, sizeof p);
    p[50] ^= 0xff;
    assert_int_equal(parse_copy(p, sizeof p, &r, true), PN_WIRE_OK);
}

/* Builds a 20 + optlen byte header (optlen a multiple of 4) with the given options and a
 * correct checksum, total length = header, and returns the parse result. */
static int parse_with_options(const uint8_t *opt, size_t optlen, struct pn_ipv4_repr *r)
{
    uint8_t p[PN_IPV4_MAX_HDR_LEN];
    memcpy(p, golden_udp + PN_ETH_HDR_LEN, PN_IPV4_HDR_LEN);
    memcpy(p + PN_IPV4_HDR_LEN, opt, optlen);
    p[0] = (uint8_t)(0x40 | (PN_IPV4_HDR_LEN + optlen) / 4);
    pn_put_be16(p + 2, (uint16_t)(PN_IPV4_HDR_LEN + optlen));
    fix_csum(p);
    return parse_copy(p, PN_IPV4_HDR_LEN + optlen, r, true);
}

static void test_options(void **state)
{
    (void)state;
    struct pn_ipv4_repr r;
    static const uint8_t nops[] = {1, 1, 1, 0};
    static const uint8_t eol_garbage[] = {0, 0xff, 0x00, 0x07};
    static const uint8_t router_alert[] = {0x94, 4, 0, 0};
    static const uint8_t rr[] = {7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0}; /* record route */
    static const uint8_t full[40] = {0x44, 40, 5}; /* timestamp option filling all 40 */
    static const uint8_t len0[] = {0x94, 0, 0, 0};
    static const uint8_t len1[] = {1, 0x94, 1, 0};
    static const uint8_t overrun[] = {1, 0x94, 4, 0};
    static const uint8_t overrun_big[8] = {7, 39};
    static const uint8_t no_len_byte[] = {1, 1, 1, 0x94};
    static const uint8_t full41[40] = {0x44, 41};

    assert_int_equal(parse_with_options(nops, 4, &r), PN_WIRE_OK);
    assert_int_equal(r.hdr_len, 24);
    assert_int_equal(r.payload_len, 0);
    assert_int_equal(parse_with_options(eol_garbage, 4, &r), PN_WIRE_OK);
    assert_int_equal(parse_with_options(router_alert, 4, &r), PN_WIRE_OK);
    assert_int_equal(parse_with_options(rr, 12, &r), PN_WIRE_OK);
    assert_int_equal(r.hdr_len, 32);
    assert_int_equal(parse_with_options(full, 40, &r), PN_WIRE_OK);
    assert_int_equal(r.hdr_len, 60);
    assert_int_equal(parse_with_options(len0, 4, &r), PN_WIRE_BAD_OPTION);
    assert_int_equal(parse_with_options(len1, 4, &r), PN_WIRE_BAD_OPTION);
    assert_int_equal(parse_with_options(overrun, 4, &r), PN_WIRE_BAD_OPTION);
    assert_int_equal(parse_with_options(overrun_big, 8, &r), PN_WIRE_BAD_OPTION);
    assert_int_equal(parse_with_options(no_len_byte, 4, &r), PN_WIRE_BAD_OPTION);
    assert_int_equal(parse_with_options(full41, 40, &r), PN_WIRE_BAD_OPTION);
}

/* RFC 791 §3.2: fragment offset + payload must stay within 65535 bytes. */
static void test_bad_frag(void **state)
{
    (void)state;
    uint8_t p[28];
    struct pn_ipv4_repr r;
    memcpy(p, golden_udp + PN_ETH_HDR_LEN, sizeof p);
    pn_put_be16(p + 2, 28);     /* 8 bytes of payload */
    pn_put_be16(p + 6, 0x1fff); /* offset 65528 */
    fix_csum(p);
    assert_int_equal(parse_copy(p, sizeof p, &r, true), PN_WIRE_BAD_FRAG);
    pn_put_be16(p + 2, 27); /* 7 bytes: ends exactly at 65535 */
    fix_csum(p);
    assert_int_equal(parse_copy(p, sizeof p, &r, true), PN_WIRE_OK);
    assert_int_equal(r.frag_off, 65528);
    assert_int_equal(r.payload_len, 7);
    assert_false(r.mf);
    assert_false(r.df);
}

/* RFC 791 §3.1: the reserved flag bit must be zero. */
static void test_reserved_flag(void **state)
{
    (void)state;
    uint8_t p[84];
    struct pn_ipv4_repr r;
    memcpy(p, golden_icmp_echo_request + PN_ETH_HDR_LEN, sizeof p);
    p[6] |= 0x80;
    fix_csum(p);
    assert_int_equal(parse_copy(p, sizeof p, &r, true), PN_WIRE_BAD_FIELD);
}

/* The checks run in the documented order. */
static void test_check_order(void **state)
{
    (void)state;
    uint8_t p[84];
    struct pn_ipv4_repr r;
    memcpy(p, golden_icmp_echo_request + PN_ETH_HDR_LEN, sizeof p);
    p[0] = 0x65; /* bad version, bad checksum */
    assert_int_equal(parse_copy(p, sizeof p, &r, true), PN_WIRE_BAD_VERSION);
    p[0] = 0x44; /* bad IHL, bad checksum */
    assert_int_equal(parse_copy(p, sizeof p, &r, true), PN_WIRE_BAD_HDR_LEN);
    p[0] = 0x45;
    pn_put_be16(p + 2, 90); /* bad length, bad checksum */
    assert_int_equal(parse_copy(p, sizeof p, &r, true), PN_WIRE_BAD_LENGTH);
    pn_put_be16(p + 2, 84);
    p[6] |= 0x80; /* reserved bit, bad checksum */
    assert_int_equal(parse_copy(p, sizeof p, &r, true), PN_WIRE_BAD_CHECKSUM);
    assert_int_equal(parse_copy(p, sizeof p, &r, false), PN_WIRE_BAD_FIELD);
}

static void test_emit_bytes(void **state)
{
    (void)state;
    struct pn_ipv4_repr r = {.src = PN_IP4(192, 0, 2, 1),
                             .dst = PN_IP4(198, 51, 100, 7),
                             .proto = PN_IP_PROTO_TCP,
                             .ttl = 63,
                             .tos = 0x2e << 2 | 1,
                             .id = 0x1234,
                             .df = false,
                             .mf = true,
                             .frag_off = 1480,
                             .hdr_len = 44, /* ignored */
                             .payload_len = 1480};
    uint8_t out[PN_IPV4_HDR_LEN + 1];
    memset(out, 0x5a, sizeof out);
    pn_ipv4_emit(&r, out);
    static const uint8_t want[PN_IPV4_HDR_LEN + 1] = {
        0x45, 0xb9, 0x05, 0xdc, 0x12, 0x34, 0x20, 0xb9, 0x3f, 0x06, 0x56,
        0x3a, 0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x07, 0x5a}; /* checksum by hand */
    assert_memory_equal(out, want, sizeof want);
    /* And it parses back (payload not present: parse a header-only view). */
    struct pn_ipv4_repr back;
    uint8_t big[PN_IPV4_HDR_LEN + 1480] = {0};
    memcpy(big, out, PN_IPV4_HDR_LEN);
    assert_int_equal(parse_copy(big, sizeof big, &back, true), PN_WIRE_OK);
    assert_int_equal(back.frag_off, 1480);
    assert_true(back.mf);
    assert_int_equal(back.tos, r.tos);
    /* DF. */
    r.df = true;
    r.mf = false;
    r.frag_off = 0;
    pn_ipv4_emit(&r, out);
    assert_int_equal(pn_get_be16(out + 6), 0x4000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_echo_request),
        cmocka_unit_test(test_golden_port_unreach),
        cmocka_unit_test(test_golden_fragments),
        cmocka_unit_test(test_golden_roundtrip),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_padding),
        cmocka_unit_test(test_bad_version),
        cmocka_unit_test(test_bad_ihl),
        cmocka_unit_test(test_bad_total_length),
        cmocka_unit_test(test_bad_checksum),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_bad_frag),
        cmocka_unit_test(test_reserved_flag),
        cmocka_unit_test(test_check_order),
        cmocka_unit_test(test_emit_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
