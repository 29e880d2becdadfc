/* tests/wire/test_icmp.c — ICMPv4 codec (RFC 792): the kernel's echo request, echo reply and
 * port unreachable parse and re-emit byte for byte; truncation; checksum; rest field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "wire/bytes.h"
#include "wire/ethernet.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"
#include "golden_frames.h"

#define L3 (PN_ETH_HDR_LEN + PN_IPV4_HDR_LEN) /* ICMP offset in the golden frames */

static uint8_t *heap_copy(const uint8_t *src, size_t len)
{
    uint8_t *p = malloc(len ? len : 1);
    assert_non_null(p);
    memcpy(p, src, len);
    return p;
}

static int parse_copy(const uint8_t *src, size_t len, struct pn_icmp_repr *r, bool verify)
{
    uint8_t *p = heap_copy(src, len);
    int err = pn_icmp_parse(p, len, r, verify);
    free(p);
    return err;
}

/* Parses the ICMP message of a golden frame, checks the re-emitted bytes are identical. */
static void golden_roundtrip(const uint8_t *frame, size_t flen, struct pn_icmp_repr *r)
{
    size_t len = flen - L3;
    uint8_t *msg = heap_copy(frame + L3, len);
    assert_int_equal(pn_icmp_parse(msg, len, r, true), PN_WIRE_OK);
    assert_ptr_equal(r->data, msg + PN_ICMP_HDR_LEN);
    assert_int_equal(r->data_len, len - PN_ICMP_HDR_LEN);
    uint8_t *out = malloc(len);
    assert_non_null(out);
    assert_int_equal(pn_icmp_emit(r, out), len); /* copies data from msg */
    assert_memory_equal(out, frame + L3, len);
    free(out);
    free(msg);
    r->data = NULL; /* it pointed into freed memory */
}

static void test_golden_echo_request(void **state)
{
    (void)state;
    struct pn_icmp_repr r;
    golden_roundtrip(golden_icmp_echo_request, sizeof golden_icmp_echo_request, &r);
    assert_int_equal(r.type, PN_ICMP_ECHO_REQUEST);
    assert_int_equal(r.code, 0);
    assert_int_equal(r.id, 0x7fcf);
    assert_int_equal(r.seq, 1);
    assert_int_equal(r.rest, 0x7fcf0001);
    assert_int_equal(r.data_len, 56);
    const uint8_t *data = golden_icmp_echo_request + L3 + PN_ICMP_HDR_LEN;
    for (size_t i = 0; i < 56; i++)
        assert_int_equal(data[i], 0x10 + i);
}

static void test_golden_echo_reply(void **state)
{
    (void)state;
    struct pn_icmp_repr r;
    golden_roundtrip(golden_icmp_echo_reply, sizeof golden_icmp_echo_reply, &r);
    assert_int_equal(r.type, PN_ICMP_ECHO_REPLY);
    assert_int_equal(r.code, 0);
    assert_int_equal(r.id, 0x7fcf);
    assert_int_equal(r.seq, 1);
    assert_int_equal(r.data_len, 56);
}

static void test_golden_port_unreach(void **state)
{
    (void)state;
    struct pn_icmp_repr r;
    golden_roundtrip(golden_icmp_port_unreach, sizeof golden_icmp_port_unreach, &r);
    assert_int_equal(r.type, PN_ICMP_DEST_UNREACH);
    assert_int_equal(r.code, PN_ICMP_UNREACH_PORT);
    assert_int_equal(r.rest, 0);
    assert_int_equal(r.id, 0);
    assert_int_equal(r.seq, 0);
    /* The whole offending datagram is quoted: IP 20 + UDP 8 + "nobody home\n". */
    assert_int_equal(r.data_len, 40);
    const uint8_t *q = golden_icmp_port_unreach + L3 + PN_ICMP_HDR_LEN;
    assert_int_equal(q[0], 0x45);
    assert_int_equal(pn_get_be16(q + 20 + 2), 7001);
    assert_memory_equal(q + 28, "nobody home\n", 12);
}

static void test_truncated(void **state)
{
    (void)state;
    struct pn_icmp_repr r;
    for (size_t len = 0; len < PN_ICMP_HDR_LEN; len++)
        assert_int_equal(parse_copy(golden_icmp_echo_request + L3, len, &r, false),
                         PN_WIRE_TRUNCATED);
    /* A cut message is caught by the checksum (it covers everything). */
    for (size_t len = PN_ICMP_HDR_LEN; len < 64; len++)
        assert_int_equal(parse_copy(golden_icmp_echo_request + L3, len, &r, true),
                         PN_WIRE_BAD_CHECKSUM);
}

static void test_bad_checksum(void **state)
{
    (void)state;
    struct pn_icmp_repr r;
    uint8_t m[64];
    for (size_t i = 0; i < sizeof m; i++) {
        memcpy(m, golden_icmp_echo_reply + L3, sizeof m);
        m[i] ^= 0x20;
        assert_int_equal(parse_copy(m, sizeof m, &r, true), PN_WIRE_BAD_CHECKSUM);
        assert_int_equal(parse_copy(m, sizeof m, &r, false), PN_WIRE_OK);
    }
}

/* Odd-length data: the checksum pads with a zero byte, emit and parse agree. */
static void test_odd_length(void **state)
{
    (void)state;
    struct pn_icmp_repr r = {.type = PN_ICMP_ECHO_REQUEST,
                             .id = 0xbeef,
                             .seq = 0x1234,
                             .data = (const uint8_t *)"abc",
                             .data_len = 3};
    uint8_t out[11];
    assert_int_equal(pn_icmp_emit(&r, out), 11);
    /* by hand: 0800 + beef + 1234 + 6162 + 6300 = 0x19d85 -> 0x9d86 -> ~ = 0x6279 */
    static const uint8_t want[11] = {8, 0, 0x62, 0x79, 0xbe, 0xef, 0x12, 0x34, 'a', 'b', 'c'};
    assert_memory_equal(out, want, sizeof want);
    struct pn_icmp_repr back;
    assert_int_equal(parse_copy(out, sizeof out, &back, true), PN_WIRE_OK);
    assert_int_equal(back.id, 0xbeef);
    assert_int_equal(back.seq, 0x1234);
    assert_int_equal(back.data_len, 3);
}

/* Data already at buf + 8 is used in place; non-echo types write `rest` raw. */
static void test_emit_in_place_and_rest(void **state)
{
    (void)state;
    uint8_t out[8 + 28];
    for (size_t i = 0; i < 28; i++)
        out[8 + i] = (uint8_t)(0xa0 + i);
    struct pn_icmp_repr r = {.type = PN_ICMP_DEST_UNREACH,
                             .code = PN_ICMP_UNREACH_NEEDFRAG,
                             .id = 0x1111,
                             .seq = 0x2222, /* ignored for non-echo */
                             .rest = 1400,
                             .data = out + 8,
                             .data_len = 28};
    assert_int_equal(pn_icmp_emit(&r, out), sizeof out);
    assert_int_equal(out[0], 3);
    assert_int_equal(out[1], 4);
    assert_int_equal(pn_get_be32(out + 4), 1400); /* RFC 1191 next-hop MTU */
    for (size_t i = 0; i < 28; i++)
        assert_int_equal(out[8 + i], 0xa0 + i);
    struct pn_icmp_repr back;
    assert_int_equal(parse_copy(out, sizeof out, &back, true), PN_WIRE_OK);
    assert_int_equal(back.rest, 1400);
    assert_int_equal(back.id, 0);
    /* Echo types take id/seq and ignore rest. */
    r.type = PN_ICMP_ECHO_REPLY;
    r.code = 0;
    assert_int_equal(pn_icmp_emit(&r, out), sizeof out);
    assert_int_equal(pn_get_be32(out + 4), 0x11112222);
    /* Parameter problem: the pointer is the high byte of rest. */
    r.type = PN_ICMP_PARAM_PROBLEM;
    r.rest = 0x0c000000;
    pn_icmp_emit(&r, out);
    assert_int_equal(out[4], 12);
    /* No data at all. */
    r.type = PN_ICMP_ECHO_REQUEST;
    r.data = NULL;
    r.data_len = 0;
    assert_int_equal(pn_icmp_emit(&r, out), 8);
    assert_int_equal(parse_copy(out, 8, &back, true), PN_WIRE_OK);
    assert_int_equal(back.data_len, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_echo_request),    cmocka_unit_test(test_golden_echo_reply),
        cmocka_unit_test(test_golden_port_unreach),    cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_bad_checksum),           cmocka_unit_test(test_odd_length),
        cmocka_unit_test(test_emit_in_place_and_rest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
