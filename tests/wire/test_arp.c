/* tests/wire/test_arp.c — ARP (RFC 826) codec: the kernel's request and reply parse and
 * re-emit byte for byte; truncation; wrong htype/ptype/hlen/plen/op; padding ignored. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "plebnet/addr.h"
#include "wire/arp.h"
#include "wire/ethernet.h"
#include "golden_frames.h"

static const struct pn_mac mac_a = {{0x02, 0x00, 0x00, 0x00, 0x00, 0x0a}};
static const struct pn_mac mac_b = {{0x02, 0x00, 0x00, 0x00, 0x00, 0x0b}};
static const struct pn_mac mac_zero = {{0}};

static int parse_copy(const uint8_t *src, size_t len, struct pn_arp_repr *r)
{
    uint8_t *p = malloc(len ? len : 1);
    assert_non_null(p);
    memcpy(p, src, len);
    int err = pn_arp_parse(p, len, r);
    free(p);
    return err;
}

static void test_golden_request(void **state)
{
    (void)state;
    struct pn_arp_repr r;
    const uint8_t *arp = golden_arp_request + PN_ETH_HDR_LEN;
    assert_int_equal(parse_copy(arp, PN_ARP_LEN, &r), PN_WIRE_OK);
    assert_int_equal(r.op, PN_ARP_OP_REQUEST);
    assert_memory_equal(r.sha.b, mac_a.b, 6);
    assert_int_equal(r.spa, PN_IP4(10, 200, 0, 1));
    assert_memory_equal(r.tha.b, mac_zero.b, 6);
    assert_int_equal(r.tpa, PN_IP4(10, 200, 0, 2));
    uint8_t out[PN_ARP_LEN];
    pn_arp_emit(&r, out);
    assert_memory_equal(out, arp, PN_ARP_LEN);
}

static void test_golden_reply(void **state)
{
    (void)state;
    struct pn_arp_repr r;
    const uint8_t *arp = golden_arp_reply + PN_ETH_HDR_LEN;
    assert_int_equal(parse_copy(arp, PN_ARP_LEN, &r), PN_WIRE_OK);
    assert_int_equal(r.op, PN_ARP_OP_REPLY);
    assert_memory_equal(r.sha.b, mac_b.b, 6);
    assert_int_equal(r.spa, PN_IP4(10, 200, 0, 2));
    assert_memory_equal(r.tha.b, mac_a.b, 6);
    assert_int_equal(r.tpa, PN_IP4(10, 200, 0, 1));
    /* The whole frame, Ethernet header included, re-emits identically. */
    uint8_t out[sizeof golden_arp_reply];
    struct pn_eth_repr e;
    assert_int_equal(pn_eth_parse(golden_arp_reply, sizeof golden_arp_reply, &e), PN_WIRE_OK);
    pn_eth_emit(&e, out);
    pn_arp_emit(&r, out + PN_ETH_HDR_LEN);
    assert_memory_equal(out, golden_arp_reply, sizeof golden_arp_reply);
}

static void test_truncated(void **state)
{
    (void)state;
    struct pn_arp_repr r;
    const uint8_t *arp = golden_arp_request + PN_ETH_HDR_LEN;
    for (size_t len = 0; len < PN_ARP_LEN; len++)
        assert_int_equal(parse_copy(arp, len, &r), PN_WIRE_TRUNCATED);
}

/* Minimum-size Ethernet padding after the 28 bytes is ignored. */
static void test_padding_ignored(void **state)
{
    (void)state;
    uint8_t p[46];
    struct pn_arp_repr r;
    memset(p, 0xa5, sizeof p);
    memcpy(p, golden_arp_reply + PN_ETH_HDR_LEN, PN_ARP_LEN);
    assert_int_equal(parse_copy(p, sizeof p, &r), PN_WIRE_OK);
    assert_int_equal(r.op, PN_ARP_OP_REPLY);
    assert_int_equal(r.tpa, PN_IP4(10, 200, 0, 1));
}

/* Changes byte `at` of a valid request to v and expects `want`. */
static void check_mutation(size_t at, uint8_t v, int want)
{
    uint8_t p[PN_ARP_LEN];
    struct pn_arp_repr r;
    memcpy(p, golden_arp_request + PN_ETH_HDR_LEN, sizeof p);
    p[at] = v;
    assert_int_equal(parse_copy(p, sizeof p, &r), want);
}

static void test_bad_fields(void **state)
{
    (void)state;
    check_mutation(1, 6, PN_WIRE_BAD_FIELD);    /* htype 6 (IEEE 802) */
    check_mutation(0, 1, PN_WIRE_BAD_FIELD);    /* htype 0x0101 */
    check_mutation(2, 0x86, PN_WIRE_BAD_FIELD); /* ptype 0x8600 */
    check_mutation(3, 0xdd, PN_WIRE_BAD_FIELD); /* ptype 0x08dd */
    check_mutation(4, 8, PN_WIRE_BAD_FIELD);    /* hlen 8 */
    check_mutation(4, 0, PN_WIRE_BAD_FIELD);    /* hlen 0 */
    check_mutation(5, 16, PN_WIRE_BAD_FIELD);   /* plen 16 (IPv6-sized) */
    check_mutation(5, 0, PN_WIRE_BAD_FIELD);    /* plen 0 */
    check_mutation(7, 0, PN_WIRE_BAD_FIELD);    /* op 0 */
    check_mutation(7, 3, PN_WIRE_BAD_FIELD);    /* op 3, RARP request */
    check_mutation(7, 4, PN_WIRE_BAD_FIELD);    /* op 4, RARP reply */
    check_mutation(6, 1, PN_WIRE_BAD_FIELD);    /* op 0x0101 */
    check_mutation(7, 2, PN_WIRE_OK);           /* op 2 is fine */
}

static void test_emit_bytes(void **state)
{
    (void)state;
    struct pn_arp_repr r = {.op = PN_ARP_OP_REPLY,
                            .sha = mac_a,
                            .spa = PN_IP4(192, 168, 1, 2),
                            .tha = mac_b,
                            .tpa = PN_IP4(192, 168, 1, 254)};
    static const uint8_t want[PN_ARP_LEN + 1] = {
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, 0xc0,
        0xa8, 0x01, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0b, 0xc0, 0xa8, 0x01, 0xfe, 0x77};
    uint8_t out[PN_ARP_LEN + 1];
    memset(out, 0x77, sizeof out);
    pn_arp_emit(&r, out);
    assert_memory_equal(out, want, sizeof want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_request), cmocka_unit_test(test_golden_reply),
        cmocka_unit_test(test_truncated),      cmocka_unit_test(test_padding_ignored),
        cmocka_unit_test(test_bad_fields),     cmocka_unit_test(test_emit_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
