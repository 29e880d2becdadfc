/* tests/ip/test_ipv4.c — IPv4 input validation and filtering (src/ip/input.c) and output
 * routing/fragmentation (src/ip/output.c): every drop reason counted once, padding trimmed,
 * exact fragment sizes, offsets and flags. */
#include "iptest.h"

static uint8_t F[FRAME_MAX], G[FRAME_MAX];

/* Recomputes the IPv4 header checksum of the frame at f (header at f + 14). */
static void fix_csum(uint8_t *f)
{
    uint8_t *h = f + PN_ETH_HDR_LEN;
    size_t hl = (size_t)(h[0] & 0xf) * 4;
    pn_put_be16(h + 10, 0);
    pn_put_be16(h + 10, pn_csum_finish(pn_csum_add(0, h, hl)));
}

/* Injects f and checks that `counter` went up by one, nothing reached ICMP and nothing was
 * sent. */
static void expect_drop(struct t_one *o, const uint8_t *f, size_t n, const char *counter)
{
    uint64_t before = t_stat(o->s, counter), icmp = t_stat(o->s, "icmp_rx");
    t_one_input(o, f, n);
    assert_int_equal(t_stat(o->s, counter), before + 1);
    assert_int_equal(t_stat(o->s, "icmp_rx"), icmp);
    assert_int_equal(t_link_sent(o->link), 0);
}

static const uint8_t PING_DATA[8] = {'p', 'l', 'e', 'b', 'n', 'e', 't', '!'};

static void test_valid_echo_answered(void **state)
{
    struct t_one o;
    ip_one_init(&o, NULL);
    size_t n = echo_frame(F, T_ADDR_A, 1, 1, PING_DATA, sizeof(PING_DATA));
    t_one_input(&o, F, n);
    assert_int_equal(t_stat(o.s, "ip_rx"), 1);
    assert_int_equal(t_link_sent(o.link), 1);
    t_one_fini(&o);
}

static void test_validation_reasons(void **state)
{
    struct t_one o;
    ip_one_init(&o, NULL);
    size_t n = echo_frame(F, T_ADDR_A, 1, 1, PING_DATA, sizeof(PING_DATA));
    uint8_t *h = F + PN_ETH_HDR_LEN;

    expect_drop(&o, F, PN_ETH_HDR_LEN + 19, "ip_rx_truncated");

    memcpy(G, F, n);
    G[14] = 0x65;
    fix_csum(G);
    expect_drop(&o, G, n, "ip_rx_bad_version");

    memcpy(G, F, n);
    G[14] = 0x44; /* IHL 4 */
    expect_drop(&o, G, n, "ip_rx_bad_hdr_len");

    memcpy(G, F, n);
    pn_put_be16(G + 16, (uint16_t)(n - 14 + 1)); /* one byte more than arrived */
    fix_csum(G);
    expect_drop(&o, G, n, "ip_rx_bad_total_len");

    memcpy(G, F, n);
    G[14 + 10] ^= 0x01;
    expect_drop(&o, G, n, "ip_rx_bad_checksum");

    /* IHL 6 with an option whose length byte is 0. */
    memcpy(G, F, 34);
    G[14] = 0x46;
    G[34] = 0x07, G[35] = 0x00, G[36] = 0x00, G[37] = 0x00;
    memcpy(G + 38, F + 34, n - 34);
    pn_put_be16(G + 16, (uint16_t)(n - 14 + 4));
    fix_csum(G);
    expect_drop(&o, G, n + 4, "ip_rx_bad_options");
    /* ... while a well-formed option (NOP NOP NOP EOL) is skipped and the echo answered. */
    G[34] = 0x01, G[35] = 0x01, G[36] = 0x01, G[37] = 0x00;
    fix_csum(G);
    t_one_input(&o, G, n + 4);
    assert_int_equal(t_link_sent(o.link), 1);
    t_link_clear(o.link);

    /* Fragment ending beyond 65535 ("ping of death"). */
    memcpy(G, F, n);
    pn_put_be16(G + 20, 0x1fff); /* offset 65528, 16 bytes of payload */
    fix_csum(G);
    expect_drop(&o, G, n, "ip_rx_bad_frag");
    /* Reserved flag bit. */
    memcpy(G, F, n);
    pn_put_be16(G + 20, 0x8000);
    fix_csum(G);
    expect_drop(&o, G, n, "ip_rx_bad_frag");
    /* MF with a payload that is not a multiple of 8 (16 + 1 bytes). */
    memcpy(G, F, n);
    G[n] = 0;
    pn_put_be16(G + 16, (uint16_t)(n - 14 + 1));
    pn_put_be16(G + 20, 0x2000);
    fix_csum(G);
    expect_drop(&o, G, n + 1, "ip_rx_bad_frag");
    /* A non-first fragment with no data. */
    memcpy(G, F, 34);
    pn_put_be16(G + 16, 20);
    pn_put_be16(G + 20, 0x0001);
    fix_csum(G);
    expect_drop(&o, G, 34, "ip_rx_bad_frag");

    (void)h;
    assert_int_equal(t_stat(o.s, "ip_rx"), 11);
    t_one_fini(&o);
}

static void test_padding_trimmed(void **state)
{
    struct t_one o;
    ip_one_init(&o, NULL);
    uint8_t four[4] = {9, 8, 7, 6};
    size_t n = echo_frame(F, T_ADDR_A, 7, 9, four, sizeof(four));
    assert_int_equal(n, 14 + 20 + 12);
    /* The link pads to 60 with junk: it must not be echoed. */
    memset(F + n, 0xee, 60 - n);
    t_one_input(&o, F, 60);
    size_t r = pop(&o, G);
    assert_int_equal(r, 60);
    struct pn_ipv4_repr ip;
    assert_int_equal(pn_ipv4_parse(G + 14, r - 14, &ip, true), 0);
    assert_int_equal(ip.payload_len, 12);
    struct pn_icmp_repr m;
    assert_int_equal(pn_icmp_parse(G + 34, ip.payload_len, &m, true), 0);
    assert_int_equal(m.data_len, 4);
    assert_memory_equal(m.data, four, 4);
    t_one_fini(&o);
}

static void test_martian_sources(void **state)
{
    struct t_one o;
    ip_one_init(&o, NULL);
    const uint32_t bad[] = {
        PN_IP4_BROADCAST,   PN_IP4(10, 0, 0, 255), PN_IP4(224, 0, 0, 1), PN_IP4(239, 1, 2, 3),
        PN_IP4(0, 0, 0, 0), PN_IP4(0, 1, 2, 3),    PN_IP4(127, 0, 0, 1), T_ADDR_A};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t n = echo_frame(F, T_ADDR_A, 1, 1, PING_DATA, sizeof(PING_DATA));
        pn_put_be32(F + 14 + 12, bad[i]);
        fix_csum(F);
        expect_drop(&o, F, n, "ip_rx_bad_src");
    }
    assert_int_equal(t_stat(o.s, "ip_rx_bad_src"), 8);
    t_one_fini(&o);
}

static void test_not_for_us(void **state)
{
    struct t_one o;
    ip_one_init(&o, NULL);
    const uint32_t other[] = {PN_IP4(10, 0, 0, 99), PN_IP4(192, 168, 1, 1), PN_IP4(224, 0, 0, 1),
                              PN_IP4(10, 0, 1, 255)};
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
        size_t n = echo_frame(F, other[i], 1, 1, PING_DATA, sizeof(PING_DATA));
        expect_drop(&o, F, n, "ip_rx_not_for_us");
    }
    t_one_fini(&o);
}

static void test_broadcast_destinations_accepted(void **state)
{
    struct t_one o;
    ip_one_init(&o, NULL);
    uint32_t dsts[] = {PN_IP4_BROADCAST, PN_IP4(10, 0, 0, 255)};
    for (int i = 0; i < 2; i++) {
        size_t n = t_frame_udp(F, &T_MAC_BCAST, &T_MAC_B, T_ADDR_B, dsts[i], 1000, 9, "x", 1);
        t_one_input(&o, F, n);
        assert_int_equal(t_stat(o.s, "udp_rx"), (uint64_t)i + 1);
    }
    /* Closed port, but broadcast: no port unreachable (RFC 1122 §3.2.2). */
    assert_int_equal(t_link_sent(o.link), 0);
    assert_int_equal(t_stat(o.s, "ip_rx_not_for_us"), 0);
    t_one_fini(&o);
}

static void test_unknown_protocol(void **state)
{
    struct t_one o;
    ip_one_init(&o, NULL);
    uint8_t payload[30];
    for (int i = 0; i < 30; i++)
        payload[i] = (uint8_t)i;
    struct pn_ipv4_repr ip = {.src = T_ADDR_B, .dst = T_ADDR_A, .proto = 253, .ttl = 33, .id = 77};
    size_t n = t_frame_ipv4(F, &T_MAC_A, &T_MAC_B, &ip, payload, sizeof(payload));
    t_one_input(&o, F, n);
    assert_int_equal(t_stat(o.s, "ip_rx_unknown_proto"), 1);
    /* RFC 1122 §3.2.2.1: protocol unreachable quoting the whole (short) datagram. */
    uint16_t id = (uint16_t)(o.s->ip_id - 1);
    size_t r = pop(&o, G);
    uint8_t want[128];
    uint8_t l4[128];
    size_t ln = icmp_msg(l4, PN_ICMP_DEST_UNREACH, PN_ICMP_UNREACH_PROTO, 0, 0, 0, F + 14, n - 14);
    struct pn_ipv4_repr rip = {
        .src = T_ADDR_A, .dst = T_ADDR_B, .proto = PN_IP_PROTO_ICMP, .ttl = 64, .id = id};
    size_t wn = t_frame_ipv4(want, &T_MAC_B, &T_MAC_A, &rip, l4, ln);
    assert_int_equal(r, wn);
    assert_memory_equal(G, want, wn);
    assert_int_equal(t_stat(o.s, "icmp_tx_unreach"), 1);
    /* TCP is a known protocol: handed to the TCP layer, never protocol unreachable. */
    ip.proto = PN_IP_PROTO_TCP;
    n = t_frame_ipv4(F, &T_MAC_A, &T_MAC_B, &ip, payload, 20);
    t_one_input(&o, F, n);
    t_link_clear(o.link); /* whatever TCP answers (a RST) is its business */
    assert_int_equal(t_stat(o.s, "ip_rx_unknown_proto"), 1);
    assert_int_equal(t_stat(o.s, "icmp_tx_unreach"), 1);
    /* Unknown protocol to a broadcast: counted, no ICMP. */
    ip.proto = 253;
    ip.dst = PN_IP4_BROADCAST;
    n = t_frame_ipv4(F, &T_MAC_BCAST, &T_MAC_B, &ip, payload, sizeof(payload));
    expect_drop(&o, F, n, "ip_rx_unknown_proto");
    t_one_fini(&o);
}

/* Sends len bytes of a byte pattern as protocol 253 through pn_ipv4_output. */
static int send_raw(struct t_one *o, const struct pn_ip_out *out, uint32_t len)
{
    struct pn_pbuf *p = pn_stack_alloc(o->s, len);
    assert_non_null(p);
    for (uint32_t i = 0; i < len; i++)
        p->data[i] = (uint8_t)(i * 7 + i / 256);
    int err = pn_ipv4_output(o->s, p, out);
    pn_stack_flush(o->s);
    return err;
}

static void test_output_routing(void **state)
{
    struct pn_stack_config cfg;
    t_config(&cfg, T_ADDR_A, &T_MAC_A);
    struct t_one o;
    ip_one_init(&o, &cfg);
    struct pn_ip_out out = {.dst = T_ADDR_B, .proto = 253};
    uint16_t id0 = o.s->ip_id;
    /* On-link: straight to B's MAC; default TTL 64; the id counter advances. */
    assert_int_equal(send_raw(&o, &out, 10), 0);
    size_t r = pop(&o, G);
    assert_int_equal(r, 60);
    assert_memory_equal(G, T_MAC_B.b, 6);
    struct pn_ipv4_repr ip;
    assert_int_equal(pn_ipv4_parse(G + 14, r - 14, &ip, true), 0);
    assert_int_equal(ip.src, T_ADDR_A);
    assert_int_equal(ip.dst, T_ADDR_B);
    assert_int_equal(ip.ttl, 64);
    assert_int_equal(ip.id, id0);
    assert_int_equal(ip.payload_len, 10);
    out.ttl = 5;
    out.tos = 0xb8;
    assert_int_equal(send_raw(&o, &out, 10), 0);
    r = pop(&o, G);
    assert_int_equal(pn_ipv4_parse(G + 14, r - 14, &ip, true), 0);
    assert_int_equal(ip.ttl, 5);
    assert_int_equal(ip.tos, 0xb8);
    assert_int_equal(ip.id, (uint16_t)(id0 + 1));

    /* Off-link without a gateway. */
    out = (struct pn_ip_out){.dst = PN_IP4(8, 8, 8, 8), .proto = 253};
    assert_int_equal(send_raw(&o, &out, 10), PN_ENETUNREACH);
    assert_int_equal(t_stat(o.s, "ip_tx_no_route"), 1);
    /* Our own address and loopback take the local path (tests/ip/test_ip_local.c): queued
     * for the next poll, never routed, never ARPed for. */
    out.dst = T_ADDR_A;
    assert_int_equal(send_raw(&o, &out, 10), 0);
    out.dst = PN_IP4(127, 0, 0, 1);
    assert_int_equal(send_raw(&o, &out, 10), 0);
    assert_int_equal(t_stat(o.s, "ip_tx_no_route"), 1);
    assert_int_equal(t_stat(o.s, "ip_local_tx"), 2);
    assert_int_equal(t_link_sent(o.link), 0);
    /* Multicast: RFC 1112 §6.4 MAC mapping, TTL 1 by default (§6.1). */
    out.dst = PN_IP4(239, 129, 2, 3);
    assert_int_equal(send_raw(&o, &out, 10), 0);
    r = pop(&o, G);
    static const uint8_t mmac[6] = {0x01, 0x00, 0x5e, 0x01, 0x02, 0x03};
    assert_memory_equal(G, mmac, 6);
    assert_int_equal(pn_ipv4_parse(G + 14, r - 14, &ip, true), 0);
    assert_int_equal(ip.ttl, 1);
    /* Limited and directed broadcast: to ff:ff:ff:ff:ff:ff, no ARP. */
    out.dst = PN_IP4_BROADCAST;
    assert_int_equal(send_raw(&o, &out, 10), 0);
    out.dst = PN_IP4(10, 0, 0, 255);
    assert_int_equal(send_raw(&o, &out, 10), 0);
    for (int i = 0; i < 2; i++) {
        pop(&o, G);
        assert_memory_equal(G, T_MAC_BCAST.b, 6);
        assert_int_equal(pn_get_be16(G + 12), PN_ETHERTYPE_IPV4);
    }
    /* A source that is not ours. */
    out = (struct pn_ip_out){.src = PN_IP4(10, 0, 0, 7), .dst = T_ADDR_B, .proto = 253};
    assert_int_equal(send_raw(&o, &out, 10), PN_EADDRNOTAVAIL);
    assert_int_equal(t_stat(o.s, "ip_tx_bad_src"), 1);
    /* Larger than 65535 in total. */
    out = (struct pn_ip_out){.dst = T_ADDR_B, .proto = 253};
    assert_int_equal(send_raw(&o, &out, 65516), PN_EMSGSIZE);
    /* DF and larger than the MTU. */
    out.df = true;
    assert_int_equal(send_raw(&o, &out, 1481), PN_EMSGSIZE);
    assert_int_equal(t_stat(o.s, "ip_tx_too_big"), 2);
    assert_int_equal(send_raw(&o, &out, 1480), 0);
    r = pop(&o, G);
    assert_int_equal(r, 1514);
    assert_int_equal(pn_ipv4_parse(G + 14, r - 14, &ip, true), 0);
    assert_true(ip.df);
    assert_int_equal(t_link_sent(o.link), 0);
    t_one_fini(&o);

    /* With a gateway: off-link goes to the gateway's MAC (ARP for the gateway). */
    cfg.gateway = PN_IP4(10, 0, 0, 254);
    ip_one_init(&o, &cfg);
    out = (struct pn_ip_out){.dst = PN_IP4(8, 8, 8, 8), .proto = 253};
    assert_int_equal(send_raw(&o, &out, 10), 0);
    r = pop(&o, G);
    assert_int_equal(pn_get_be16(G + 12), PN_ETHERTYPE_ARP);
    assert_int_equal(pn_get_be32(G + 14 + 24), PN_IP4(10, 0, 0, 254));
    /* ... unless dontroute. */
    out.dontroute = true;
    assert_int_equal(send_raw(&o, &out, 10), PN_ENETUNREACH);
    t_one_fini(&o);
}

/* Pops n fragments and checks sizes, offsets, flags, the shared id and the data. */
static void check_fragments(struct t_one *o, uint32_t total, uint32_t per)
{
    uint32_t nfrag = (total + per - 1) / per;
    assert_int_equal(t_link_sent(o->link), nfrag);
    int have_id = 0;
    uint16_t id = 0;
    for (uint32_t k = 0; k < nfrag; k++) {
        size_t r = pop(o, G);
        uint32_t want_len = k + 1 < nfrag ? per : total - per * (nfrag - 1);
        struct pn_ipv4_repr ip;
        assert_int_equal(pn_ipv4_parse(G + 14, r - 14, &ip, true), 0);
        assert_int_equal(ip.payload_len, want_len);
        assert_int_equal(ip.frag_off, k * per);
        assert_int_equal(ip.mf, k + 1 < nfrag);
        assert_false(ip.df);
        assert_int_equal(ip.proto, 253);
        if (have_id)
            assert_int_equal(ip.id, id);
        id = ip.id, have_id = 1;
        for (uint32_t i = 0; i < want_len; i++) {
            uint32_t b = k * per + i;
            if (G[34 + i] != (uint8_t)(b * 7 + b / 256))
                fail_msg("fragment %u byte %u", k, i);
        }
    }
}

static void test_fragmentation_exact(void **state)
{
    struct t_one o;
    ip_one_init(&o, NULL);
    struct pn_ip_out out = {.dst = T_ADDR_B, .proto = 253};
    /* RFC 791 §3.2: MTU 1500 carries 1480 data octets per fragment (a multiple of 8):
     * 3000 = 1480 + 1480 + 40. */
    assert_int_equal(send_raw(&o, &out, 3000), 0);
    check_fragments(&o, 3000, 1480);
    assert_int_equal(t_stat(o.s, "ip_tx_fragments"), 3);
    /* Exactly the MTU: not fragmented. */
    assert_int_equal(send_raw(&o, &out, 1480), 0);
    assert_int_equal(t_link_sent(o.link), 1);
    t_link_clear(o.link);
    /* One byte more: two fragments of 1480 and 1. */
    assert_int_equal(send_raw(&o, &out, 1481), 0);
    check_fragments(&o, 1481, 1480);
    /* The largest datagram: 65515 octets in 45 fragments. */
    assert_int_equal(send_raw(&o, &out, 65515), 0);
    check_fragments(&o, 65515, 1480);
    t_one_fini(&o);

    /* An MTU whose data part is not a multiple of 8: 1006 - 20 = 986 -> 984. */
    struct pn_stack_config cfg;
    t_config(&cfg, T_ADDR_A, &T_MAC_A);
    cfg.mtu = 1006;
    ip_one_init(&o, &cfg);
    assert_int_equal(send_raw(&o, &out, 2000), 0);
    check_fragments(&o, 2000, 984);
    t_one_fini(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_echo_answered),
        cmocka_unit_test(test_validation_reasons),
        cmocka_unit_test(test_padding_trimmed),
        cmocka_unit_test(test_martian_sources),
        cmocka_unit_test(test_not_for_us),
        cmocka_unit_test(test_broadcast_destinations_accepted),
        cmocka_unit_test(test_unknown_protocol),
        cmocka_unit_test(test_output_routing),
        cmocka_unit_test(test_fragmentation_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
