/* tests/ip/test_icmp.c — ICMP (src/ip/icmp.c): exact echo replies, broadcast echo ignored,
 * port unreachable contents and the 576-byte cut, the token bucket over virtual time, the
 * RFC 1122 §3.2.2 "never about" rules, errors delivered to UDP sockets, malformed input. */
#include "iptest.h"

static uint8_t F[FRAME_MAX], G[FRAME_MAX], W[FRAME_MAX];

static void test_echo_reply_exact(void **state)
{
    struct t_one o;
    ip_one_init(&o, NULL);
    static const uint8_t data[8] = {0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3};
    size_t n = echo_frame(F, T_ADDR_A, 0x1234, 7, data, sizeof(data));
    F[15] = 0x10; /* TOS */
    pn_put_be16(F + 24, 0);
    pn_put_be16(F + 24, pn_csum_finish(pn_csum_add(0, F + 14, 20)));
    uint16_t id = o.s->ip_id;
    t_one_input(&o, F, n);
    /* RFC 792: type 0, same id, sequence and data; RFC 1122 §3.2.2.6: from the address
     * the request was sent to. TOS mirrored, TTL 64, our next IP id. Padded to 60. */
    uint8_t l4[64];
    size_t ln = icmp_msg(l4, PN_ICMP_ECHO_REPLY, 0, 0x1234, 7, 0, data, sizeof(data));
    struct pn_ipv4_repr ip = {.src = T_ADDR_A,
                              .dst = T_ADDR_B,
                              .proto = PN_IP_PROTO_ICMP,
                              .ttl = 64,
                              .tos = 0x10,
                              .id = id};
    memset(W, 0, 60);
    size_t wn = t_frame_ipv4(W, &T_MAC_B, &T_MAC_A, &ip, l4, ln);
    assert_int_equal(wn, 50);
    assert_int_equal(pop(&o, G), 60);
    assert_memory_equal(G, W, 60);
    assert_int_equal(t_stat(o.s, "icmp_rx_echo_request"), 1);
    assert_int_equal(t_stat(o.s, "icmp_tx_echo_reply"), 1);
    t_one_fini(&o);
}

static void test_echo_not_rate_limited(void **state)
{
    struct pn_stack_config cfg;
    t_config(&cfg, T_ADDR_A, &T_MAC_A);
    cfg.icmp_burst = 2;
    struct t_one o;
    ip_one_init(&o, &cfg);
    for (int i = 0; i < 20; i++) {
        size_t n = echo_frame(F, T_ADDR_A, 1, (uint16_t)i, "x", 1);
        t_one_input(&o, F, n);
    }
    assert_int_equal(t_link_sent(o.link), 20);
    assert_int_equal(t_stat(o.s, "icmp_tx_rate_limited"), 0);
    t_one_fini(&o);
}

static void test_echo_to_broadcast_ignored(void **state)
{
    struct t_one o;
    ip_one_init(&o, NULL);
    uint32_t dsts[] = {PN_IP4_BROADCAST, PN_IP4(10, 0, 0, 255)};
    for (int i = 0; i < 2; i++) {
        size_t n = echo_frame(F, dsts[i], 1, 1, "abc", 3);
        memcpy(F, T_MAC_BCAST.b, 6);
        t_one_input(&o, F, n);
    }
    assert_int_equal(t_stat(o.s, "icmp_rx_bcast_ignored"), 2);
    assert_int_equal(t_stat(o.s, "icmp_rx_echo_request"), 0);
    assert_int_equal(t_link_sent(o.link), 0);
    t_one_fini(&o);
}

/* The exact port unreachable frame A sends about the datagram at orig (an IP packet). */
static size_t expect_unreach(uint8_t *w, uint16_t id, const uint8_t *orig, size_t quote)
{
    static uint8_t l4[1024];
    size_t ln = icmp_msg(l4, PN_ICMP_DEST_UNREACH, PN_ICMP_UNREACH_PORT, 0, 0, 0, orig, quote);
    struct pn_ipv4_repr ip = {
        .src = T_ADDR_A, .dst = T_ADDR_B, .proto = PN_IP_PROTO_ICMP, .ttl = 64, .id = id};
    memset(w, 0, 60);
    size_t n = t_frame_ipv4(w, &T_MAC_B, &T_MAC_A, &ip, l4, ln);
    return n < 60 ? 60 : n;
}

static void test_port_unreachable_contents(void **state)
{
    struct t_one o;
    ip_one_init(&o, NULL);
    static uint8_t payload[1000];
    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)(i * 31);
    /* Short datagram: quoted whole. */
    size_t n = t_frame_udp(F, &T_MAC_A, &T_MAC_B, T_ADDR_B, T_ADDR_A, 4000, 9, payload, 10);
    uint16_t id = o.s->ip_id;
    t_one_input(&o, F, n);
    size_t wn = expect_unreach(W, id, F + 14, n - 14);
    assert_int_equal(pop(&o, G), wn);
    assert_memory_equal(G, W, wn);
    /* Long datagram: RFC 1812 §4.3.2.3, as much as fits in 576 bytes: 548 quoted. */
    n = t_frame_udp(F, &T_MAC_A, &T_MAC_B, T_ADDR_B, T_ADDR_A, 4000, 9, payload, 1000);
    id = o.s->ip_id;
    t_one_input(&o, F, n);
    wn = expect_unreach(W, id, F + 14, 548);
    assert_int_equal(wn, 14 + 576);
    assert_int_equal(pop(&o, G), wn);
    assert_memory_equal(G, W, wn);
    /* A 570-byte datagram (between 548 and 576) is cut too. */
    n = t_frame_udp(F, &T_MAC_A, &T_MAC_B, T_ADDR_B, T_ADDR_A, 4000, 9, payload, 542);
    id = o.s->ip_id;
    t_one_input(&o, F, n);
    wn = expect_unreach(W, id, F + 14, 548);
    assert_int_equal(pop(&o, G), wn);
    assert_memory_equal(G, W, wn);
    assert_int_equal(t_stat(o.s, "icmp_tx_unreach"), 3);
    t_one_fini(&o);
}

/* Sends `count` UDP datagrams to a closed port; returns the ICMP errors that went out. */
static unsigned provoke(struct t_one *o, unsigned count)
{
    for (unsigned i = 0; i < count; i++) {
        size_t n = t_frame_udp(F, &T_MAC_A, &T_MAC_B, T_ADDR_B, T_ADDR_A, 4000, 9, "q", 1);
        t_one_input(o, F, n);
    }
    unsigned sent = t_link_sent(o->link);
    t_link_clear(o->link);
    return sent;
}

static void test_rate_limit_exact(void **state)
{
    struct pn_stack_config cfg;
    t_config(&cfg, T_ADDR_A, &T_MAC_A);
    cfg.icmp_rate_per_sec = 10; /* one token per 100 ms */
    cfg.icmp_burst = 5;
    struct t_one o;
    ip_one_init(&o, &cfg);
    /* The bucket starts full: 5 of 8 go out. */
    assert_int_equal(provoke(&o, 8), 5);
    assert_int_equal(t_stat(o.s, "icmp_tx_rate_limited"), 3);
    /* 99 ms later: still no whole token. */
    t_one_advance(&o, PN_MS(99));
    assert_int_equal(provoke(&o, 1), 0);
    /* 100 ms after the burst: exactly one. */
    t_one_advance(&o, PN_MS(1));
    assert_int_equal(provoke(&o, 2), 1);
    /* 250 ms: two tokens and a half; the half is kept: 50 ms later a third. */
    t_one_advance(&o, PN_MS(250));
    assert_int_equal(provoke(&o, 3), 2);
    t_one_advance(&o, PN_MS(49));
    assert_int_equal(provoke(&o, 1), 0);
    t_one_advance(&o, PN_MS(1));
    assert_int_equal(provoke(&o, 1), 1);
    /* A long pause refills to the burst size, never beyond. */
    t_one_advance(&o, PN_SEC(60));
    assert_int_equal(provoke(&o, 7), 5);
    assert_int_equal(t_stat(o.s, "icmp_tx_rate_limited"), 3 + 1 + 1 + 1 + 1 + 2);
    assert_int_equal(t_stat(o.s, "icmp_tx_unreach"), 5 + 1 + 2 + 1 + 5);
    t_one_fini(&o);
}

/* Calls pn_icmp_send_error about the IP packet in buf (a copy in a stack buffer). */
static unsigned error_about(struct t_one *o, const uint8_t *ip, size_t len, uint32_t flags)
{
    struct pn_pbuf *p = pn_stack_alloc(o->s, (uint32_t)len);
    memcpy(p->data, ip, len);
    p->flags = flags;
    pn_icmp_send_error(o->s, p, PN_ICMP_DEST_UNREACH, PN_ICMP_UNREACH_PROTO, 0);
    pn_pbuf_free(p);
    pn_stack_flush(o->s);
    unsigned sent = t_link_sent(o->link);
    t_link_clear(o->link);
    return sent;
}

static size_t ip_packet(uint8_t *b, uint32_t src, uint32_t dst, uint8_t proto, uint16_t off,
                        const uint8_t *l4, size_t len)
{
    struct pn_ipv4_repr ip = {.src = src,
                              .dst = dst,
                              .proto = proto,
                              .ttl = 9,
                              .frag_off = off,
                              .payload_len = (uint16_t)len};
    pn_ipv4_emit(&ip, b);
    memcpy(b + 20, l4, len);
    return 20 + len;
}

static void test_rate_limit_sub_millisecond(void **state)
{
    struct pn_stack_config cfg;
    t_config(&cfg, T_ADDR_A, &T_MAC_A);
    cfg.icmp_rate_per_sec = 1000; /* one token per ms */
    cfg.icmp_burst = 1;
    struct t_one o;
    ip_one_init(&o, &cfg);
    assert_int_equal(provoke(&o, 2), 1);
    /* Refills in half-millisecond steps must not lose the fractions. */
    for (int i = 0; i < 4; i++) {
        t_one_advance(&o, PN_MS(1) / 2);
        assert_int_equal(provoke(&o, 1), i % 2);
    }
    t_one_fini(&o);
}

static void test_never_about(void **state)
{
    struct t_one o;
    ip_one_init(&o, NULL);
    uint8_t l4[64], pk[128];
    size_t ln, n;

    /* An echo request datagram: an error may be sent about it. */
    ln = icmp_msg(l4, PN_ICMP_ECHO_REQUEST, 0, 1, 1, 0, "abcd", 4);
    n = ip_packet(pk, T_ADDR_B, T_ADDR_A, PN_IP_PROTO_ICMP, 0, l4, ln);
    assert_int_equal(error_about(&o, pk, n, 0), 1);
    /* RFC 1122 §3.2.2: never about an ICMP error message (unreach, time exceeded, param
     * problem, redirect, source quench), nor an unknown type. */
    const uint8_t err_types[] = {3, 4, 5, 11, 12, 42};
    for (size_t i = 0; i < sizeof(err_types); i++) {
        ln = icmp_msg(l4, err_types[i], 0, 0, 0, 0, "abcdefgh", 8);
        n = ip_packet(pk, T_ADDR_B, T_ADDR_A, PN_IP_PROTO_ICMP, 0, l4, ln);
        assert_int_equal(error_about(&o, pk, n, 0), 0);
    }
    /* ... nor about a datagram to a broadcast or multicast address ... */
    const uint32_t dsts[] = {PN_IP4_BROADCAST, PN_IP4(10, 0, 0, 255), PN_IP4(224, 0, 0, 5)};
    for (size_t i = 0; i < 3; i++) {
        n = ip_packet(pk, T_ADDR_B, dsts[i], 253, 0, l4, 8);
        assert_int_equal(error_about(&o, pk, n, 0), 0);
    }
    /* ... nor one that came as a link-layer broadcast/multicast ... */
    n = ip_packet(pk, T_ADDR_B, T_ADDR_A, 253, 0, l4, 8);
    assert_int_equal(error_about(&o, pk, n, PN_PBUF_F_BCAST), 0);
    assert_int_equal(error_about(&o, pk, n, PN_PBUF_F_MCAST), 0);
    /* ... nor a non-initial fragment ... */
    n = ip_packet(pk, T_ADDR_B, T_ADDR_A, 253, 8, l4, 8);
    assert_int_equal(error_about(&o, pk, n, 0), 0);
    /* ... nor one whose source is not a single host. */
    const uint32_t srcs[] = {0,
                             PN_IP4(127, 0, 0, 1),
                             PN_IP4_BROADCAST,
                             PN_IP4(10, 0, 0, 255),
                             PN_IP4(224, 1, 1, 1),
                             PN_IP4(240, 0, 0, 1)};
    for (size_t i = 0; i < 6; i++) {
        n = ip_packet(pk, srcs[i], T_ADDR_A, 253, 0, l4, 8);
        assert_int_equal(error_about(&o, pk, n, 0), 0);
    }
    /* None of these spent a token or was counted as rate limited. */
    assert_int_equal(t_stat(o.s, "icmp_tx_rate_limited"), 0);
    assert_int_equal(o.s->icmp.tokens_ms, (uint64_t)(50 - 1) * 1000);
    t_one_fini(&o);
}

static void test_error_reaches_udp_socket(void **state)
{
    struct t_one o;
    ip_one_init(&o, NULL);
    struct pn_socket *sk;
    assert_int_equal(pn_socket(o.s, PN_SOCK_DGRAM, &sk), 0);
    struct pn_endpoint peer = {.addr = T_ADDR_B, .port = 53};
    assert_int_equal(pn_connect(sk, &peer), 0);
    assert_int_equal(pn_send(sk, "hello", 5, 0), 5);
    size_t n = pop(&o, G); /* our datagram, as it went out */
    assert_true(n >= 14 + 28 + 5);

    /* A port unreachable quoting only the header + 8 bytes (RFC 792 minimum). */
    uint8_t l4[128];
    size_t ln = icmp_msg(l4, PN_ICMP_DEST_UNREACH, PN_ICMP_UNREACH_PORT, 0, 0, 0, G + 14, 28);
    struct pn_ipv4_repr ip = {
        .src = T_ADDR_B, .dst = T_ADDR_A, .proto = PN_IP_PROTO_ICMP, .ttl = 64};
    size_t fn = t_frame_ipv4(F, &T_MAC_A, &T_MAC_B, &ip, l4, ln);
    /* Too short a quote (7 bytes of UDP): cannot be attributed. */
    size_t sn = icmp_msg(l4, PN_ICMP_DEST_UNREACH, PN_ICMP_UNREACH_PORT, 0, 0, 0, G + 14, 27);
    size_t sfn = t_frame_ipv4(W, &T_MAC_A, &T_MAC_B, &ip, l4, sn);
    t_one_input(&o, W, sfn);
    assert_int_equal(t_stat(o.s, "icmp_rx_malformed"), 1);
    assert_int_equal(pn_socket_events(sk) & PN_EV_ERR, 0);

    t_one_input(&o, F, fn);
    assert_int_equal(t_stat(o.s, "icmp_rx_unreach"), 2);
    assert_true(pn_socket_events(sk) & PN_EV_ERR);
    int err = 0;
    size_t el = sizeof(err);
    assert_int_equal(pn_getsockopt(sk, PN_SO_ERROR, &err, &el), 0);
    assert_int_equal(err, PN_ECONNREFUSED);
    assert_int_equal(t_link_sent(o.link), 0); /* never an error about an error */

    /* An error about a datagram that was not ours (another source) is ignored. */
    pn_put_be32(G + 14 + 12, PN_IP4(10, 0, 0, 7));
    ln = icmp_msg(l4, PN_ICMP_DEST_UNREACH, PN_ICMP_UNREACH_PORT, 0, 0, 0, G + 14, 28);
    fn = t_frame_ipv4(F, &T_MAC_A, &T_MAC_B, &ip, l4, ln);
    t_one_input(&o, F, fn);
    assert_int_equal(t_stat(o.s, "icmp_rx_malformed"), 2);
    el = sizeof(err);
    assert_int_equal(pn_getsockopt(sk, PN_SO_ERROR, &err, &el), 0);
    assert_int_equal(err, 0);
    pn_close(sk);
    t_one_fini(&o);
}

static void test_ping_socket_round_trip(void **state)
{
    struct t_one o;
    ip_one_init(&o, NULL);
    struct pn_socket *sk;
    assert_int_equal(pn_socket(o.s, PN_SOCK_PING, &sk), 0);
    uint8_t req[12];
    icmp_msg(req, PN_ICMP_ECHO_REQUEST, 0, 0, 5, 0, "data", 4);
    struct pn_endpoint dst = {.addr = T_ADDR_B};
    assert_int_equal(pn_sendto(sk, req, sizeof(req), 0, &dst), sizeof(req));
    size_t r = pop(&o, G);
    struct pn_icmp_repr m;
    assert_int_equal(pn_icmp_parse(G + 34, r - 34 < 12 ? r - 34 : 12, &m, true), 0);
    assert_int_equal(m.type, PN_ICMP_ECHO_REQUEST);
    assert_int_equal(m.seq, 5);
    /* B's reply (same id, seq and data) reaches the socket through pn_ping_input. */
    uint8_t l4[12];
    size_t ln = icmp_msg(l4, PN_ICMP_ECHO_REPLY, 0, m.id, 5, 0, "data", 4);
    struct pn_ipv4_repr ip = {
        .src = T_ADDR_B, .dst = T_ADDR_A, .proto = PN_IP_PROTO_ICMP, .ttl = 64};
    size_t n = t_frame_ipv4(F, &T_MAC_A, &T_MAC_B, &ip, l4, ln);
    t_one_input(&o, F, n);
    assert_true(pn_socket_events(sk) & PN_EV_IN);
    uint8_t got[64];
    long len = pn_recv(sk, got, sizeof(got), 0);
    assert_true(len >= 4);
    assert_memory_equal(got + len - 4, "data", 4);
    pn_close(sk);
    t_one_fini(&o);
}

static void test_malformed_and_other(void **state)
{
    struct t_one o;
    ip_one_init(&o, NULL);
    struct pn_ipv4_repr ip = {
        .src = T_ADDR_B, .dst = T_ADDR_A, .proto = PN_IP_PROTO_ICMP, .ttl = 64};
    uint8_t l4[64];
    /* Shorter than the 8-byte header. */
    size_t n = t_frame_ipv4(F, &T_MAC_A, &T_MAC_B, &ip, "\x08\x00\x00\x00", 4);
    t_one_input(&o, F, n);
    assert_int_equal(t_stat(o.s, "icmp_rx_malformed"), 1);
    /* Bad checksum. */
    size_t ln = icmp_msg(l4, PN_ICMP_ECHO_REQUEST, 0, 1, 1, 0, "abcd", 4);
    l4[2] ^= 0xff;
    n = t_frame_ipv4(F, &T_MAC_A, &T_MAC_B, &ip, l4, ln);
    t_one_input(&o, F, n);
    assert_int_equal(t_stat(o.s, "icmp_rx_bad_checksum"), 1);
    /* Unknown type: RFC 1122 §3.2.2 silently discarded. */
    ln = icmp_msg(l4, 42, 0, 0, 0, 0, "abcd", 4);
    n = t_frame_ipv4(F, &T_MAC_A, &T_MAC_B, &ip, l4, ln);
    t_one_input(&o, F, n);
    assert_int_equal(t_stat(o.s, "icmp_rx_other"), 1);
    /* An echo reply nobody waits for: handed to the ping table, dropped there. */
    ln = icmp_msg(l4, PN_ICMP_ECHO_REPLY, 0, 77, 1, 0, "abcd", 4);
    n = t_frame_ipv4(F, &T_MAC_A, &T_MAC_B, &ip, l4, ln);
    t_one_input(&o, F, n);
    assert_int_equal(t_stat(o.s, "icmp_rx_echo_reply"), 1);
    assert_int_equal(t_link_sent(o.link), 0);
    assert_int_equal(t_stat(o.s, "icmp_rx"), 4);
    t_one_fini(&o);
}

static void test_send_echo(void **state)
{
    struct t_one o;
    ip_one_init(&o, NULL);
    assert_int_equal(
        pn_icmp_send_echo(o.s, T_ADDR_B, 0xabcd, 0x0102, (const uint8_t *)"ping", 4, 17, 0), 0);
    pn_stack_flush(o.s);
    size_t r = pop(&o, G);
    assert_int_equal(r, 60);
    struct pn_ipv4_repr ip;
    assert_int_equal(pn_ipv4_parse(G + 14, r - 14, &ip, true), 0);
    assert_int_equal(ip.ttl, 17);
    assert_int_equal(ip.payload_len, 12);
    uint8_t want[12];
    icmp_msg(want, PN_ICMP_ECHO_REQUEST, 0, 0xabcd, 0x0102, 0, "ping", 4);
    assert_memory_equal(G + 34, want, 12);
    assert_int_equal(t_stat(o.s, "icmp_tx_echo_request"), 1);
    static uint8_t big[65536];
    assert_int_equal(pn_icmp_send_echo(o.s, T_ADDR_B, 1, 1, big, 65508, 0, 0), PN_EMSGSIZE);
    t_one_fini(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo_reply_exact),
        cmocka_unit_test(test_echo_not_rate_limited),
        cmocka_unit_test(test_echo_to_broadcast_ignored),
        cmocka_unit_test(test_port_unreachable_contents),
        cmocka_unit_test(test_rate_limit_exact),
        cmocka_unit_test(test_rate_limit_sub_millisecond),
        cmocka_unit_test(test_never_about),
        cmocka_unit_test(test_error_reaches_udp_socket),
        cmocka_unit_test(test_ping_socket_round_trip),
        cmocka_unit_test(test_malformed_and_other),
        cmocka_unit_test(test_send_echo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
