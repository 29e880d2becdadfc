/* tests/wire/test_udp.c — UDP codec (RFC 768): the kernel's datagram and its fragmented
 * 3008-byte datagram (reassembled by hand) parse and re-emit byte for byte; truncation,
 * length field, checksum (incl. zero = none and computed 0 sent as 0xffff). */
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
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/udp.h"
#include "golden_frames.h"

#define A PN_IP4(10, 200, 0, 1)
#define B PN_IP4(10, 200, 0, 2)
#define L3 (PN_ETH_HDR_LEN + PN_IPV4_HDR_LEN)

static int parse_copy(const uint8_t *src, size_t len, uint32_t s, uint32_t d, struct pn_udp_repr *r,
                      bool verify)
{
    uint8_t *p = malloc(len ? len : 1);
    assert_non_null(p);
    memcpy(p, src, len);
    int err = pn_udp_parse(p, len, s, d, r, verify);
    free(p);
    return err;
}

static void test_golden_datagram(void **state)
{
    (void)state;
    const uint8_t *u = golden_udp + L3;
    size_t len = sizeof golden_udp - L3;
    struct pn_udp_repr r;
    assert_int_equal(len, 23);
    assert_int_equal(pn_udp_parse(u, len, A, B, &r, true), PN_WIRE_OK);
    assert_int_equal(r.src_port, 5000);
    assert_int_equal(r.dst_port, 7000);
    assert_int_equal(r.payload_len, 15);
    assert_ptr_equal(r.payload, u + 8);
    assert_memory_equal(r.payload, "hello, plebnet\n", 15);
    assert_true(r.has_checksum);
    uint8_t out[23];
    memcpy(out + 8, r.payload, r.payload_len);
    pn_udp_emit(&r, out, A, B);
    assert_memory_equal(out, u, len);
}

/* The three golden fragments, put together by offset, are one valid UDP datagram. */
static void test_golden_fragmented_datagram(void **state)
{
    (void)state;
    const uint8_t *frags[] = {golden_frag0, golden_frag1, golden_frag2};
    const size_t lens[] = {sizeof golden_frag0, sizeof golden_frag1, sizeof golden_frag2};
    uint8_t *dgram = calloc(1, 3008);
    assert_non_null(dgram);
    size_t total = 0;
    for (size_t i = 0; i < 3; i++) {
        struct pn_ipv4_repr ip;
        assert_int_equal(
            pn_ipv4_parse(frags[i] + PN_ETH_HDR_LEN, lens[i] - PN_ETH_HDR_LEN, &ip, true),
            PN_WIRE_OK);
        assert_true(ip.frag_off + ip.payload_len <= 3008);
        memcpy(dgram + ip.frag_off, frags[i] + L3, ip.payload_len);
        total += ip.payload_len;
    }
    assert_int_equal(total, 3008);
    struct pn_udp_repr r;
    assert_int_equal(pn_udp_parse(dgram, 3008, A, B, &r, true), PN_WIRE_OK);
    assert_int_equal(r.src_port, 5000);
    assert_int_equal(r.dst_port, 7000);
    assert_int_equal(r.payload_len, 3000);
    for (size_t i = 0; i < 3000; i++)
        assert_int_equal(r.payload[i], i & 0xff);
    uint8_t *out = malloc(3008);
    assert_non_null(out);
    memcpy(out + 8, r.payload, 3000);
    pn_udp_emit(&r, out, A, B);
    assert_memory_equal(out, dgram, 3008);
    dgram[3007] ^= 1;
    assert_int_equal(pn_udp_parse(dgram, 3008, A, B, &r, true), PN_WIRE_BAD_CHECKSUM);
    free(out);
    free(dgram);
}

static void test_truncated(void **state)
{
    (void)state;
    struct pn_udp_repr r;
    const uint8_t *u = golden_udp + L3;
    for (size_t len = 0; len < PN_UDP_HDR_LEN; len++)
        assert_int_equal(parse_copy(u, len, A, B, &r, true), PN_WIRE_TRUNCATED);
    /* 8..22 bytes: the length field (23) says more than arrived. */
    for (size_t len = PN_UDP_HDR_LEN; len < 23; len++)
        assert_int_equal(parse_copy(u, len, A, B, &r, true), PN_WIRE_BAD_LENGTH);
}

static void test_length_field(void **state)
{
    (void)state;
    uint8_t u[32];
    struct pn_udp_repr r;
    memset(u, 0xcc, sizeof u);
    memcpy(u, golden_udp + L3, 23);
    for (uint16_t l = 0; l < PN_UDP_HDR_LEN; l++) {
        pn_put_be16(u + 4, l);
        assert_int_equal(parse_copy(u, 23, A, B, &r, false), PN_WIRE_BAD_LENGTH);
    }
    pn_put_be16(u + 4, 24);
    assert_int_equal(parse_copy(u, 23, A, B, &r, false), PN_WIRE_BAD_LENGTH);
    /* A length field shorter than the IP payload: the extra bytes are ignored, and the
     * checksum covers only `length` bytes, so it still verifies. */
    pn_put_be16(u + 4, 23);
    assert_int_equal(parse_copy(u, sizeof u, A, B, &r, true), PN_WIRE_OK);
    assert_int_equal(r.payload_len, 15);
    /* Header only. */
    uint8_t h[8] = {0, 53, 0x30, 0x39, 0, 8, 0, 0};
    assert_int_equal(parse_copy(h, 8, A, B, &r, true), PN_WIRE_OK);
    assert_int_equal(r.src_port, 53);
    assert_int_equal(r.dst_port, 12345);
    assert_int_equal(r.payload_len, 0);
    assert_false(r.has_checksum);
}

static void test_checksum(void **state)
{
    (void)state;
    uint8_t u[23];
    struct pn_udp_repr r;
    for (size_t i = 0; i < sizeof u; i++) {
        if (i == 4 || i == 5)
            continue; /* the length field */
        memcpy(u, golden_udp + L3, sizeof u);
        u[i] ^= 0x04;
        assert_int_equal(parse_copy(u, sizeof u, A, B, &r, true), PN_WIRE_BAD_CHECKSUM);
        assert_int_equal(parse_copy(u, sizeof u, A, B, &r, false), PN_WIRE_OK);
    }
    memcpy(u, golden_udp + L3, sizeof u);
    /* The pseudo-header is covered: another destination fails. */
    assert_int_equal(parse_copy(u, sizeof u, A, PN_IP4(10, 200, 0, 3), &r, true),
                     PN_WIRE_BAD_CHECKSUM);
    /* A zero checksum means "none" (RFC 768): accepted even when verifying. */
    u[6] = u[7] = 0;
    u[10] ^= 0xff;
    assert_int_equal(parse_copy(u, sizeof u, A, B, &r, true), PN_WIRE_OK);
    assert_false(r.has_checksum);
}

/* RFC 768: a computed checksum of 0 is sent as 0xffff, and that verifies. */
static void test_emit_zero_checksum(void **state)
{
    (void)state;
    uint8_t u[10];
    struct pn_udp_repr r = {.src_port = 1, .dst_port = 2, .payload_len = 2};
    u[8] = u[9] = 0;
    pn_udp_emit(&r, u, A, B);
    uint16_t c = pn_get_be16(u + 6);
    /* Adding the old checksum as the payload word makes the sum -0: checksum 0. */
    pn_put_be16(u + 8, c);
    pn_udp_emit(&r, u, A, B);
    assert_int_equal(pn_get_be16(u + 6), 0xffff);
    assert_int_equal(parse_copy(u, sizeof u, A, B, &r, true), PN_WIRE_OK);
    assert_true(r.has_checksum);
}

static void test_emit_bytes(void **state)
{
    (void)state;
    uint8_t u[8 + 4 + 1];
    struct pn_udp_repr r = {.src_port = 0x1234, .dst_port = 53, .payload_len = 4};
    memcpy(u + 8, "ping", 4);
    u[12] = 0xee;
    pn_udp_emit(&r, u, PN_IP4(192, 0, 2, 1), PN_IP4(192, 0, 2, 2));
    /* by hand: c000+0201+c000+0202+0011+000c + 1234+0035+000c + 7069+6e67 = 0x27565
     * -> 0x7567 -> ~ = 0x8a98 */
    static const uint8_t want[13] = {0x12, 0x34, 0x00, 0x35, 0x00, 0x0c, 0x8a,
                                     0x98, 'p',  'i',  'n',  'g',  0xee};
    assert_memory_equal(u, want, sizeof want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_datagram), cmocka_unit_test(test_golden_fragmented_datagram),
        cmocka_unit_test(test_truncated),       cmocka_unit_test(test_length_field),
        cmocka_unit_test(test_checksum),        cmocka_unit_test(test_emit_zero_checksum),
        cmocka_unit_test(test_emit_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
