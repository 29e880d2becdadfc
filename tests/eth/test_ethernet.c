/* tests/eth/test_ethernet.c — Ethernet input filtering and output framing
 * (src/eth/ethernet.c): every drop reason counted once, flags, padding with zeros. */
#include <string.h>
#include "testutil.h"
#include "core/stack.h"
#include "eth/eth.h"
#include "wire/arp.h"
#include "wire/bytes.h"
#include "wire/ethernet.h"

static const struct pn_mac MAC_ZERO = {{0}};

/* A valid ARP request from B for our address: a frame we would answer. */
static size_t good_frame(uint8_t *b)
{
    memset(b, 0, 60);
    struct pn_eth_repr e = {.dst = T_MAC_BCAST, .src = T_MAC_B, .ethertype = PN_ETHERTYPE_ARP};
    pn_eth_emit(&e, b);
    struct pn_arp_repr a = {
        .op = PN_ARP_OP_REQUEST, .sha = T_MAC_B, .spa = T_ADDR_B, .tha = MAC_ZERO, .tpa = T_ADDR_A};
    pn_arp_emit(&a, b + PN_ETH_HDR_LEN);
    return 60;
}

/* Injects f and checks that exactly `counter` went up by one and nothing was sent. */
static void expect_drop(struct t_one *o, const uint8_t *f, size_t n, const char *counter)
{
    uint64_t before = t_stat(o->s, counter);
    uint64_t arp = t_stat(o->s, "arp_rx"), ip = t_stat(o->s, "ip_rx");
    t_one_input(o, f, n);
    assert_int_equal(t_stat(o->s, counter), before + 1);
    assert_int_equal(t_stat(o->s, "arp_rx"), arp);
    assert_int_equal(t_stat(o->s, "ip_rx"), ip);
    assert_int_equal(t_link_sent(o->link), 0);
}

static void test_good_frame_answered(void **state)
{
    struct t_one o;
    t_one_init(&o, NULL);
    uint8_t f[64];
    t_one_input(&o, f, good_frame(f));
    assert_int_equal(t_stat(o.s, "arp_rx"), 1);
    assert_int_equal(t_link_sent(o.link), 1);
    /* The reply is 42 bytes of ARP padded to the 60-byte minimum with zeros. */
    uint8_t got[128];
    assert_int_equal(t_link_pop(o.link, got, sizeof(got)), 60);
    assert_memory_equal(got, T_MAC_B.b, 6);
    assert_memory_equal(got + 6, T_MAC_A.b, 6);
    assert_int_equal(pn_get_be16(got + 12), PN_ETHERTYPE_ARP);
    static const uint8_t zeros[18];
    assert_memory_equal(got + 42, zeros, 18);
    t_one_fini(&o);
}

static void test_drop_reasons(void **state)
{
    struct t_one o;
    t_one_init(&o, NULL);
    uint8_t f[1600];
    size_t n = good_frame(f);

    expect_drop(&o, f, 13, "eth_rx_truncated");
    expect_drop(&o, f, 0, "eth_rx_truncated");

    /* An 802.3 length instead of an EtherType. */
    good_frame(f);
    pn_put_be16(f + 12, 46);
    expect_drop(&o, f, n, "eth_rx_unknown_type");
    /* IPv6 and something unknown. */
    pn_put_be16(f + 12, PN_ETHERTYPE_IPV6);
    expect_drop(&o, f, n, "eth_rx_unknown_type");
    pn_put_be16(f + 12, 0x88cc); /* LLDP */
    expect_drop(&o, f, n, "eth_rx_unknown_type");
    /* 802.1Q and 802.1ad (QinQ) tags. */
    pn_put_be16(f + 12, PN_ETHERTYPE_VLAN);
    expect_drop(&o, f, n, "eth_rx_vlan");
    pn_put_be16(f + 12, PN_ETHERTYPE_QINQ);
    expect_drop(&o, f, n, "eth_rx_vlan");

    /* Unicast to another MAC; multicast (no groups joined). */
    good_frame(f);
    memcpy(f, T_MAC_B.b, 6);
    expect_drop(&o, f, n, "eth_rx_not_for_us");
    static const uint8_t mcast[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01};
    memcpy(f, mcast, 6);
    expect_drop(&o, f, n, "eth_rx_not_for_us");

    /* Group-bit sources: multicast and broadcast. */
    good_frame(f);
    memcpy(f + 6, mcast, 6);
    expect_drop(&o, f, n, "eth_rx_bad_src");
    memset(f + 6, 0xff, 6);
    expect_drop(&o, f, n, "eth_rx_bad_src");

    /* Longer than MTU 1500 + header (+ a VLAN tag's 4 bytes of tolerance). */
    good_frame(f);
    memset(f + 60, 0, sizeof(f) - 60);
    expect_drop(&o, f, 1500 + 14 + 4 + 1, "eth_rx_oversize");

    /* Frame addressed to our unicast MAC, with trailing bytes up to the maximum: fine. */
    good_frame(f);
    memcpy(f, T_MAC_A.b, 6);
    t_one_input(&o, f, 1514);
    assert_int_equal(t_link_sent(o.link), 1);
    t_one_fini(&o);
}

static void test_broadcast_flag_reaches_ip(void **state)
{
    struct t_one o;
    t_one_init(&o, NULL);
    /* A unicast IP datagram for us inside a link-layer broadcast: RFC 1122 §3.3.6 drop,
     * which only works if Ethernet flagged the buffer as broadcast. */
    uint8_t f[128];
    struct pn_ipv4_repr ip = {.src = T_ADDR_B, .dst = T_ADDR_A, .proto = 253, .ttl = 64};
    uint8_t l4[8] = {0};
    size_t n = t_frame_ipv4(f, &T_MAC_BCAST, &T_MAC_B, &ip, l4, sizeof(l4));
    t_one_input(&o, f, n);
    assert_int_equal(t_stat(o.s, "ip_rx_not_for_us"), 1);
    /* The same to our MAC gets through to the protocol switch. */
    n = t_frame_ipv4(f, &T_MAC_A, &T_MAC_B, &ip, l4, sizeof(l4));
    t_one_input(&o, f, n);
    assert_int_equal(t_stat(o.s, "ip_rx_unknown_proto"), 1);
    t_one_fini(&o);
}

static void test_output_pads_and_frames(void **state)
{
    struct t_one o;
    t_one_init(&o, NULL);
    /* A 5-byte payload with dirty tailroom: the pad must be zeros. */
    struct pn_pbuf *p = pn_stack_alloc(o.s, 5);
    assert_non_null(p);
    memset(p->data, 0xab, 64);
    memcpy(p->data, "hello", 5);
    assert_int_equal(pn_eth_output(o.s, p, &T_MAC_B, 0x1234), 0);
    pn_stack_flush(o.s);
    uint8_t got[128], want[60];
    memset(want, 0, sizeof(want));
    memcpy(want, T_MAC_B.b, 6);
    memcpy(want + 6, T_MAC_A.b, 6);
    want[12] = 0x12;
    want[13] = 0x34;
    memcpy(want + 14, "hello", 5);
    assert_int_equal(t_link_pop(o.link, got, sizeof(got)), 60);
    assert_memory_equal(got, want, 60);

    /* A payload of 46 bytes or more is not padded. */
    p = pn_stack_alloc(o.s, 100);
    memset(p->data, 0x5a, 100);
    assert_int_equal(pn_eth_output(o.s, p, &T_MAC_BCAST, PN_ETHERTYPE_IPV4), 0);
    pn_stack_flush(o.s);
    assert_int_equal(t_link_pop(o.link, got, sizeof(got)), 114);
    assert_memory_equal(got, T_MAC_BCAST.b, 6);

    /* A shared buffer is copied, never written: the other reference sees no header. */
    p = pn_stack_alloc(o.s, 10);
    memset(p->data, 0x11, 10);
    struct pn_pbuf *ref = pn_pbuf_ref(p);
    uint8_t *orig = p->data;
    assert_int_equal(pn_eth_output(o.s, p, &T_MAC_B, PN_ETHERTYPE_IPV4), 0);
    pn_stack_flush(o.s);
    assert_ptr_equal(ref->data, orig);
    assert_int_equal(ref->len, 10);
    assert_int_equal(t_link_pop(o.link, got, sizeof(got)), 60);
    assert_int_equal(got[14], 0x11);
    pn_pbuf_free(ref);
    t_one_fini(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_frame_answered),
        cmocka_unit_test(test_drop_reasons),
        cmocka_unit_test(test_broadcast_flag_reaches_ip),
        cmocka_unit_test(test_output_pads_and_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
