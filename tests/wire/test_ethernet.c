/* tests/wire/test_ethernet.c — Ethernet II header codec: golden kernel frames parse and
 * re-emit byte for byte, truncation, 802.3 length fields, exact emitted bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "wire/ethernet.h"
#include "golden_frames.h"

static const struct pn_mac mac_a = {{0x02, 0x00, 0x00, 0x00, 0x00, 0x0a}};
static const struct pn_mac mac_b = {{0x02, 0x00, 0x00, 0x00, 0x00, 0x0b}};
static const struct pn_mac mac_bcast = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};

/* Parses a heap copy of exactly len bytes, so ASan sees any read past the end. */
static int parse_copy(const uint8_t *src, size_t len, struct pn_eth_repr *r)
{
    uint8_t *p = malloc(len ? len : 1);
    assert_non_null(p);
    memcpy(p, src, len);
    int err = pn_eth_parse(p, len, r);
    free(p);
    return err;
}

static void test_golden_arp_request(void **state)
{
    (void)state;
    struct pn_eth_repr r;
    assert_int_equal(parse_copy(golden_arp_request, sizeof golden_arp_request, &r), PN_WIRE_OK);
    assert_memory_equal(r.dst.b, mac_bcast.b, 6);
    assert_memory_equal(r.src.b, mac_a.b, 6);
    assert_int_equal(r.ethertype, PN_ETHERTYPE_ARP);
}

static void test_golden_ipv4_reply(void **state)
{
    (void)state;
    struct pn_eth_repr r;
    assert_int_equal(parse_copy(golden_icmp_echo_reply, sizeof golden_icmp_echo_reply, &r),
                     PN_WIRE_OK);
    assert_memory_equal(r.dst.b, mac_a.b, 6);
    assert_memory_equal(r.src.b, mac_b.b, 6);
    assert_int_equal(r.ethertype, PN_ETHERTYPE_IPV4);
}

/* Every golden frame: parse, emit, identical 14 bytes. */
static void test_golden_roundtrip(void **state)
{
    (void)state;
    for (size_t i = 0; i < PN_GOLDEN_COUNT; i++) {
        struct pn_eth_repr r;
        uint8_t out[PN_ETH_HDR_LEN];
        assert_int_equal(parse_copy(golden_frames[i].data, golden_frames[i].len, &r), PN_WIRE_OK);
        pn_eth_emit(&r, out);
        assert_memory_equal(out, golden_frames[i].data, PN_ETH_HDR_LEN);
    }
}

static void test_truncated(void **state)
{
    (void)state;
    struct pn_eth_repr r;
    for (size_t len = 0; len < PN_ETH_HDR_LEN; len++)
        assert_int_equal(parse_copy(golden_arp_request, len, &r), PN_WIRE_TRUNCATED);
    /* The bare header alone is enough. */
    assert_int_equal(parse_copy(golden_arp_request, PN_ETH_HDR_LEN, &r), PN_WIRE_OK);
}

/* IEEE 802.3: a type field below 0x0600 is a length (LLC frame); 1501..1535 undefined. */
static void test_8023_length(void **state)
{
    (void)state;
    uint8_t f[PN_ETH_HDR_LEN];
    struct pn_eth_repr r;
    static const uint16_t bad[] = {0x0000, 0x0001, 0x002e, 0x05dc, 0x05dd, 0x05ff};
    memcpy(f, golden_arp_request, sizeof f);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        f[12] = (uint8_t)(bad[i] >> 8);
        f[13] = (uint8_t)bad[i];
        assert_int_equal(parse_copy(f, sizeof f, &r), PN_WIRE_BAD_FIELD);
    }
    f[12] = 0x06;
    f[13] = 0x00;
    assert_int_equal(parse_copy(f, sizeof f, &r), PN_WIRE_OK);
    assert_int_equal(r.ethertype, 0x0600);
    /* Tagged and IPv6 frames parse: the layer above decides what to do with them. */
    f[12] = 0x81;
    f[13] = 0x00;
    assert_int_equal(parse_copy(f, sizeof f, &r), PN_WIRE_OK);
    assert_int_equal(r.ethertype, PN_ETHERTYPE_VLAN);
}

static void test_emit_bytes(void **state)
{
    (void)state;
    struct pn_eth_repr r = {.dst = mac_b, .src = mac_a, .ethertype = PN_ETHERTYPE_IPV4};
    uint8_t out[PN_ETH_HDR_LEN + 2];
    static const uint8_t want[PN_ETH_HDR_LEN + 2] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x0b,
                                                     0x02, 0x00, 0x00, 0x00, 0x00, 0x0a,
                                                     0x08, 0x00, 0xee, 0xee};
    memset(out, 0xee, sizeof out);
    pn_eth_emit(&r, out);
    assert_memory_equal(out, want, sizeof want); /* and nothing past 14 bytes written */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_arp_request), cmocka_unit_test(test_golden_ipv4_reply),
        cmocka_unit_test(test_golden_roundtrip),   cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_8023_length),        cmocka_unit_test(test_emit_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
