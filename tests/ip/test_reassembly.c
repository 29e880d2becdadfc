/* tests/ip/test_reassembly.c — IPv4 reassembly (src/ip/reassembly.c): every arrival order,
 * our own output fragments, duplicates, identical and conflicting overlaps, timeout with
 * ICMP time exceeded, and the memory bound under a flood of partial datagrams. */
#include "iptest.h"

static uint8_t F[FRAME_MAX], G[FRAME_MAX], MSG[FRAME_MAX];

/* A frame from B to A carrying bytes [off, off+len) of msg as a fragment of datagram id. */
static size_t frag_frame(uint8_t *f, uint16_t id, uint8_t proto, const uint8_t *msg, uint32_t off,
                         uint32_t len, bool mf)
{
    struct pn_ipv4_repr ip = {.src = T_ADDR_B,
                              .dst = T_ADDR_A,
                              .proto = proto,
                              .ttl = 64,
                              .id = id,
                              .mf = mf,
                              .frag_off = (uint16_t)off};
    return t_frame_ipv4(f, &T_MAC_A, &T_MAC_B, &ip, msg + off, len);
}

/* Builds an echo request ICMP message of `len` bytes in MSG; returns len. */
static size_t make_echo(size_t len, uint16_t seq)
{
    static uint8_t data[FRAME_MAX];
    for (size_t i = 0; i < len - 8; i++)
        data[i] = (uint8_t)(i * 13 + seq);
    return icmp_msg(MSG, PN_ICMP_ECHO_REQUEST, 0, 0x99, seq, 0, data, len - 8);
}

/* Pops the next frame and checks it is an echo reply carrying MSG's data (len bytes of
 * ICMP in total) in a single frame. */
static void expect_reply(struct t_one *o, size_t len)
{
    size_t r = pop(o, G);
    assert_int_equal(r, 14 + 20 + len);
    struct pn_ipv4_repr ip;
    assert_int_equal(pn_ipv4_parse(G + 14, r - 14, &ip, true), 0);
    struct pn_icmp_repr m;
    assert_int_equal(pn_icmp_parse(G + 34, ip.payload_len, &m, true), 0);
    assert_int_equal(m.type, PN_ICMP_ECHO_REPLY);
    assert_int_equal(m.data_len, len - 8);
    assert_memory_equal(m.data, MSG + 8, len - 8);
}

static void expect_empty_reass(struct t_one *o)
{
    assert_int_equal(o->s->reass.count, 0);
    assert_int_equal(o->s->reass.bytes, 0);
}

static bool next_perm(int *a, int n)
{
    int i = n - 2;
    while (i >= 0 && a[i] >= a[i + 1])
        i--;
    if (i < 0)
        return false;
    int j = n - 1;
    while (a[j] <= a[i])
        j--;
    int t = a[i];
    a[i] = a[j], a[j] = t;
    for (int l = i + 1, r = n - 1; l < r; l++, r--)
        t = a[l], a[l] = a[r], a[r] = t;
    return true;
}

static void test_every_order(void **state)
{
    struct t_one o;
    ip_one_init(&o, NULL);
    /* 792 bytes of ICMP in fragments of 200, 200, 200, 192. */
    size_t len = make_echo(792, 1);
    int perm[4] = {0, 1, 2, 3};
    uint64_t done = 0;
    uint16_t id = 1000;
    do {
        for (int k = 0; k < 4; k++) {
            uint32_t off = (uint32_t)perm[k] * 200;
            uint32_t fl = off + 200 <= len ? 200 : (uint32_t)len - off;
            size_t n = frag_frame(F, id, PN_IP_PROTO_ICMP, MSG, off, fl, off + fl < len);
            t_one_input(&o, F, n);
            /* Nothing until the last missing piece arrives. */
            assert_int_equal(t_link_sent(o.link), k == 3 ? 1 : 0);
        }
        expect_reply(&o, len);
        expect_empty_reass(&o);
        done++;
        id++;
    } while (next_perm(perm, 4));
    assert_int_equal(done, 24);
    assert_int_equal(t_stat(o.s, "ip_reass_ok"), 24);
    assert_int_equal(t_stat(o.s, "ip_frag_rx"), 96);
    t_one_fini(&o);
}

/* Stack B on its own inject link, knowing A's MAC. */
static void b_init(struct t_one *o)
{
    struct pn_stack_config cfg;
    t_config(&cfg, T_ADDR_B, &T_MAC_B);
    t_one_init(o, &cfg);
    assert_int_equal(pn_stack_arp_add_static(o->s, T_ADDR_A, &T_MAC_A), 0);
}

static void test_own_fragments_every_order(void **state)
{
    /* A (MTU 576) pings B with 1400 bytes of data: 1408 ICMP bytes in 552 + 552 + 304. */
    struct pn_stack_config cfg;
    t_config(&cfg, T_ADDR_A, &T_MAC_A);
    cfg.mtu = 576;
    struct t_one a, b;
    ip_one_init(&a, &cfg);
    static uint8_t data[1400], frames[3][600];
    size_t flen[3];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i ^ (i >> 8));
    assert_int_equal(pn_icmp_send_echo(a.s, T_ADDR_B, 5, 6, data, sizeof(data), 0, 0), 0);
    pn_stack_flush(a.s);
    assert_int_equal(t_link_sent(a.link), 3);
    for (int k = 0; k < 3; k++)
        flen[k] = t_link_pop(a.link, frames[k], sizeof(frames[k]));
    assert_int_equal(flen[0], 14 + 20 + 552); /* (576 - 20) rounded down to 8 */
    assert_int_equal(flen[2], 14 + 20 + 304);

    b_init(&b);
    int perm[3] = {0, 1, 2};
    int orders = 0;
    do {
        for (int k = 0; k < 3; k++)
            t_one_input(&b, frames[perm[k]], flen[perm[k]]);
        size_t r = pop(&b, G);
        assert_int_equal(r, 14 + 20 + 1408);
        struct pn_icmp_repr m;
        assert_int_equal(pn_icmp_parse(G + 34, 1408, &m, true), 0);
        assert_int_equal(m.type, PN_ICMP_ECHO_REPLY);
        assert_int_equal(m.id, 5);
        assert_int_equal(m.seq, 6);
        assert_memory_equal(m.data, data, sizeof(data));
        expect_empty_reass(&b);
        orders++;
    } while (next_perm(perm, 3));
    assert_int_equal(orders, 6);
    t_one_fini(&b);
    t_one_fini(&a);
}

static void test_largest_datagram_reverse_order(void **state)
{
    /* 65515 bytes (the largest IPv4 payload) in 45 fragments, last first: the result needs
     * a large buffer, and the reply goes out fragmented again. */
    struct t_one o;
    ip_one_init(&o, NULL);
    size_t len = make_echo(65515, 3);
    for (int k = 44; k >= 0; k--) {
        uint32_t off = (uint32_t)k * 1480;
        uint32_t fl = off + 1480 <= len ? 1480 : (uint32_t)len - off;
        t_one_input(&o, F, frag_frame(F, 7, PN_IP_PROTO_ICMP, MSG, off, fl, k != 44));
    }
    assert_int_equal(t_stat(o.s, "ip_reass_ok"), 1);
    assert_int_equal(t_link_sent(o.link), 45);
    assert_int_equal(t_stat(o.s, "icmp_tx_echo_reply"), 1);
    expect_empty_reass(&o);
    t_one_fini(&o);
}

static void test_duplicates(void **state)
{
    struct t_one o;
    ip_one_init(&o, NULL);
    size_t len = make_echo(400, 2);
    t_one_input(&o, F, frag_frame(F, 1, PN_IP_PROTO_ICMP, MSG, 0, 200, true));
    t_one_input(&o, F, frag_frame(F, 1, PN_IP_PROTO_ICMP, MSG, 0, 200, true));
    /* A sub-range of what is held is a duplicate too. */
    t_one_input(&o, F, frag_frame(F, 1, PN_IP_PROTO_ICMP, MSG, 8, 64, true));
    assert_int_equal(t_stat(o.s, "ip_reass_duplicate"), 2);
    assert_int_equal(t_link_sent(o.link), 0);
    t_one_input(&o, F, frag_frame(F, 1, PN_IP_PROTO_ICMP, MSG, 200, 200, false));
    expect_reply(&o, len);
    assert_int_equal(t_stat(o.s, "ip_reass_ok"), 1);
    expect_empty_reass(&o);
    t_one_fini(&o);
}

static void test_identical_overlap_accepted(void **state)
{
    struct t_one o;
    ip_one_init(&o, NULL);
    size_t len = make_echo(48, 4);
    t_one_input(&o, F, frag_frame(F, 2, PN_IP_PROTO_ICMP, MSG, 16, 24, true));  /* [16,40) */
    t_one_input(&o, F, frag_frame(F, 2, PN_IP_PROTO_ICMP, MSG, 0, 24, true));   /* [0,24) */
    t_one_input(&o, F, frag_frame(F, 2, PN_IP_PROTO_ICMP, MSG, 32, 16, false)); /* [32,48) */
    expect_reply(&o, len);
    assert_int_equal(t_stat(o.s, "ip_reass_overlap"), 0);
    t_one_fini(&o);
}

static void test_conflicting_overlap_dropped(void **state)
{
    struct t_one o;
    ip_one_init(&o, NULL);
    make_echo(48, 5);
    static uint8_t evil[48];
    memcpy(evil, MSG, 48);
    evil[20] ^= 0xff; /* inside the overlap [16, 24) */
    t_one_input(&o, F, frag_frame(F, 3, PN_IP_PROTO_ICMP, MSG, 0, 24, true));
    t_one_input(&o, F, frag_frame(F, 3, PN_IP_PROTO_ICMP, evil, 16, 24, true));
    assert_int_equal(t_stat(o.s, "ip_reass_overlap"), 1);
    /* The whole datagram is gone: the rest never completes it. */
    expect_empty_reass(&o);
    t_one_input(&o, F, frag_frame(F, 3, PN_IP_PROTO_ICMP, MSG, 40, 8, false));
    assert_int_equal(t_link_sent(o.link), 0);
    assert_int_equal(o.s->reass.count, 1);
    /* A second, different last fragment (another end) is a conflict too. */
    t_one_input(&o, F, frag_frame(F, 3, PN_IP_PROTO_ICMP, MSG, 32, 8, false));
    assert_int_equal(t_stat(o.s, "ip_reass_overlap"), 2);
    expect_empty_reass(&o);
    /* ... and so is data beyond a known end. */
    t_one_input(&o, F, frag_frame(F, 4, PN_IP_PROTO_ICMP, MSG, 8, 8, false));
    t_one_input(&o, F, frag_frame(F, 4, PN_IP_PROTO_ICMP, MSG, 16, 8, true));
    assert_int_equal(t_stat(o.s, "ip_reass_overlap"), 3);
    expect_empty_reass(&o);
    assert_int_equal(t_link_sent(o.link), 0);
    t_one_fini(&o);
}

static void test_timeout_time_exceeded(void **state)
{
    struct t_one o;
    ip_one_init(&o, NULL); /* reass_timeout_ms 30000 */
    make_echo(800, 6);
    size_t n = frag_frame(F, 9, PN_IP_PROTO_ICMP, MSG, 0, 600, true);
    t_one_input(&o, F, n);
    t_one_advance(&o, PN_MS(30000) - 1);
    assert_int_equal(t_stat(o.s, "ip_reass_timeout"), 0);
    assert_int_equal(t_link_sent(o.link), 0);
    t_one_advance(&o, 1);
    assert_int_equal(t_stat(o.s, "ip_reass_timeout"), 1);
    expect_empty_reass(&o);
    /* RFC 792 / RFC 1122 §3.3.2: time exceeded, code 1 (reassembly), quoting fragment zero
     * (its header + data, cut at 576 bytes in all: 548 quoted). */
    size_t r = pop(&o, G);
    struct pn_ipv4_repr ip;
    assert_int_equal(pn_ipv4_parse(G + 14, r - 14, &ip, true), 0);
    assert_int_equal(ip.dst, T_ADDR_B);
    assert_int_equal(ip.proto, PN_IP_PROTO_ICMP);
    assert_int_equal(20 + ip.payload_len, 576);
    struct pn_icmp_repr m;
    assert_int_equal(pn_icmp_parse(G + 34, ip.payload_len, &m, true), 0);
    assert_int_equal(m.type, PN_ICMP_TIME_EXCEEDED);
    assert_int_equal(m.code, PN_ICMP_EXC_FRAGTIME);
    assert_int_equal(m.rest, 0);
    assert_int_equal(m.data_len, 548);
    assert_memory_equal(m.data, F + 14, 548);
    assert_int_equal(t_stat(o.s, "icmp_tx_time_exceeded"), 1);

    /* Without fragment zero: dropped silently. */
    t_one_input(&o, F, frag_frame(F, 10, PN_IP_PROTO_ICMP, MSG, 200, 200, true));
    t_one_advance(&o, PN_MS(30000));
    assert_int_equal(t_stat(o.s, "ip_reass_timeout"), 2);
    assert_int_equal(t_link_sent(o.link), 0);
    expect_empty_reass(&o);
    t_one_fini(&o);
}

static void test_timeout_is_per_datagram(void **state)
{
    struct t_one o;
    ip_one_init(&o, NULL);
    make_echo(800, 6);
    t_one_input(&o, F, frag_frame(F, 11, PN_IP_PROTO_ICMP, MSG, 200, 200, true));
    t_one_advance(&o, PN_MS(10000));
    t_one_input(&o, F, frag_frame(F, 12, PN_IP_PROTO_ICMP, MSG, 200, 200, true));
    t_one_advance(&o, PN_MS(20000));
    assert_int_equal(t_stat(o.s, "ip_reass_timeout"), 1);
    assert_int_equal(o.s->reass.count, 1);
    t_one_advance(&o, PN_MS(10000) - 1);
    assert_int_equal(o.s->reass.count, 1);
    t_one_advance(&o, 1);
    assert_int_equal(t_stat(o.s, "ip_reass_timeout"), 2);
    expect_empty_reass(&o);
    t_one_fini(&o);
}

static void test_timeout_configured(void **state)
{
    struct pn_stack_config cfg;
    t_config(&cfg, T_ADDR_A, &T_MAC_A);
    cfg.reass_timeout_ms = 5000;
    struct t_one o;
    ip_one_init(&o, &cfg);
    make_echo(800, 6);
    t_one_input(&o, F, frag_frame(F, 13, PN_IP_PROTO_ICMP, MSG, 0, 200, true));
    t_one_advance(&o, PN_MS(5000) - 1);
    assert_int_equal(o.s->reass.count, 1);
    t_one_advance(&o, 1);
    assert_int_equal(t_stat(o.s, "ip_reass_timeout"), 1);
    assert_int_equal(t_link_sent(o.link), 1); /* time exceeded */
    expect_empty_reass(&o);
    t_one_fini(&o);
}

static void flood(struct t_one *o, uint32_t max_bytes, uint32_t max_dgrams)
{
    make_echo(800, 8);
    for (uint32_t i = 0; i < 10000; i++) {
        size_t n = frag_frame(F, (uint16_t)i, PN_IP_PROTO_ICMP, MSG, 0, 64, true);
        t_one_input(o, F, n);
        /* The bound holds after every fragment, not just at the end. */
        assert_true(o->s->reass.bytes <= max_bytes);
        assert_true(o->s->reass.count <= max_dgrams);
        assert_true(pn_pbuf_pool_in_use(o->s->pool) <= max_dgrams);
    }
    assert_int_equal(t_stat(o->s, "ip_reass_mem_dropped") + o->s->reass.count, 10000);
    assert_int_equal(t_link_sent(o->link), 0);
    /* A legitimate datagram still gets through. */
    size_t len = make_echo(400, 9);
    t_one_input(o, F, frag_frame(F, 60000, PN_IP_PROTO_ICMP, MSG, 200, 200, false));
    t_one_input(o, F, frag_frame(F, 60000, PN_IP_PROTO_ICMP, MSG, 0, 200, true));
    expect_reply(o, len);
}

static void test_flood_bounded_by_datagrams(void **state)
{
    struct t_one o;
    ip_one_init(&o, NULL); /* 64 datagrams, 4 MiB */
    flood(&o, 4u << 20, 64);
    assert_int_equal(o.s->reass.count, 63); /* the legit one evicted one and completed */
    t_one_fini(&o);
}

static void test_flood_bounded_by_bytes(void **state)
{
    struct pn_stack_config cfg;
    t_config(&cfg, T_ADDR_A, &T_MAC_A);
    cfg.reass_max_bytes = 64 * 1024;
    struct t_one o;
    ip_one_init(&o, &cfg);
    flood(&o, 64 * 1024, 64);
    /* Storage, not payload, is counted: 64 bytes of data still cost two buffers each. */
    assert_true(o.s->reass.count < 64);
    assert_true(o.s->reass.count > 0);
    t_one_fini(&o);
}

static void test_too_big(void **state)
{
    struct t_one o;
    ip_one_init(&o, NULL);
    static uint8_t big[65536];
    memset(big, 0x42, sizeof(big));
    /* Data ending at 65520: with a 20-byte header the datagram would be 65540 bytes. */
    t_one_input(&o, F, frag_frame(F, 5, 253, big, 0, 8, true));
    t_one_input(&o, F, frag_frame(F, 5, 253, big, 65512, 8, false));
    assert_int_equal(t_stat(o.s, "ip_reass_too_big"), 1);
    expect_empty_reass(&o);
    /* Ending at 65515 exactly fits. */
    t_one_input(&o, F, frag_frame(F, 6, 253, big, 65512, 3, false));
    assert_int_equal(t_stat(o.s, "ip_reass_too_big"), 1);
    assert_int_equal(o.s->reass.count, 1);
    t_one_fini(&o);
}

static void test_key_separates_datagrams(void **state)
{
    struct t_one o;
    ip_one_init(&o, NULL);
    size_t len = make_echo(400, 10);
    /* Same id, different protocol: a different datagram (RFC 791 §3.2 key). */
    t_one_input(&o, F, frag_frame(F, 8, 253, MSG, 0, 200, true));
    t_one_input(&o, F, frag_frame(F, 8, PN_IP_PROTO_ICMP, MSG, 200, 200, false));
    assert_int_equal(o.s->reass.count, 2);
    assert_int_equal(t_link_sent(o.link), 0);
    t_one_input(&o, F, frag_frame(F, 8, PN_IP_PROTO_ICMP, MSG, 0, 200, true));
    expect_reply(&o, len);
    assert_int_equal(o.s->reass.count, 1);
    t_one_fini(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_order),
        cmocka_unit_test(test_own_fragments_every_order),
        cmocka_unit_test(test_largest_datagram_reverse_order),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_identical_overlap_accepted),
        cmocka_unit_test(test_conflicting_overlap_dropped),
        cmocka_unit_test(test_timeout_time_exceeded),
        cmocka_unit_test(test_timeout_is_per_datagram),
        cmocka_unit_test(test_timeout_configured),
        cmocka_unit_test(test_flood_bounded_by_datagrams),
        cmocka_unit_test(test_flood_bounded_by_bytes),
        cmocka_unit_test(test_too_big),
        cmocka_unit_test(test_key_separates_datagrams),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
