/* tests/ip/test_ip_local.c — local delivery (src/ip/output.c local_output, core/stack.c
 * local_drain): UDP, TCP and ping to the stack's own address and to 127/8 stay inside the
 * stack and never reach the link; binding and source selection for 127/8; the queue's bound;
 * re-entrancy (nothing is delivered before pn_stack_poll); 127/8 martians from the link. */
#include "iptest.h"
#include "plebnet/socket.h"

#define LO PN_IP4(127, 0, 0, 1)

static uint8_t F[FRAME_MAX];

/* Frames the stack has handed to the link since it came up (t_one_init clears the
 * gratuitous ARP from the inject link but the counter keeps it). */
static uint64_t link_tx(const struct t_one *o)
{
    return t_stat(o->s, "link_tx_frames");
}

static struct pn_socket *udp_bound(struct t_one *o, uint32_t addr, uint16_t port)
{
    struct pn_socket *sk;
    assert_int_equal(pn_socket(o->s, PN_SOCK_DGRAM, &sk), 0);
    struct pn_endpoint ep = {.addr = addr, .port = port};
    assert_int_equal(pn_bind(sk, &ep), 0);
    return sk;
}

/* Polls once at the current (virtual) time: delivers what the local queue holds. */
static void poll_now(struct t_one *o)
{
    pn_stack_poll(o->s, o->now);
}

static void test_udp_to_own_and_loopback(void **state)
{
    (void)state;
    struct t_one o;
    t_one_init(&o, NULL);
    uint64_t tx0 = link_tx(&o);
    struct pn_socket *srv = udp_bound(&o, PN_IP4_ANY, 7000);
    struct pn_socket *cli = udp_bound(&o, PN_IP4_ANY, 0);
    const uint32_t dsts[] = {T_ADDR_A, LO, PN_IP4(127, 1, 2, 3)};
    for (size_t i = 0; i < 3; i++) {
        struct pn_endpoint dst = {.addr = dsts[i], .port = 7000};
        assert_int_equal(pn_sendto(cli, "ping", 4, 0, &dst), 4);
        /* Queued, not delivered from inside the send: the stack asks to be polled now. */
        assert_int_equal(pn_socket_events(srv) & PN_EV_IN, 0);
        assert_int_equal(pn_stack_next_deadline(o.s), pn_stack_now(o.s));
        poll_now(&o);
        char buf[16];
        struct pn_endpoint from;
        assert_int_equal(pn_recvfrom(srv, buf, sizeof(buf), 0, &from), 4);
        assert_memory_equal(buf, "ping", 4);
        /* Source selection: the interface address towards it, 127.0.0.1 towards 127/8. */
        assert_int_equal(from.addr, dsts[i] == T_ADDR_A ? T_ADDR_A : LO);
        /* And back. */
        assert_int_equal(pn_sendto(srv, "pong", 4, 0, &from), 4);
        poll_now(&o);
        struct pn_endpoint back;
        assert_int_equal(pn_recvfrom(cli, buf, sizeof(buf), 0, &back), 4);
        assert_memory_equal(buf, "pong", 4);
        /* The reply's source is the address the datagram was sent to only when the server
         * is bound to it; bound to any, source selection picks again. */
        assert_int_equal(back.addr, dsts[i] == T_ADDR_A ? T_ADDR_A : LO);
        assert_int_equal(back.port, 7000);
    }
    assert_int_equal(t_stat(o.s, "ip_local_tx"), 6);
    assert_int_equal(t_stat(o.s, "ip_local_rx"), 6);
    assert_int_equal(t_stat(o.s, "udp_rx_bad_checksum"), 0);
    /* Nothing reached the link: no ARP for ourselves, no frame. */
    assert_int_equal(t_link_sent(o.link), 0);
    assert_int_equal(link_tx(&o), tx0);
    assert_int_equal(t_stat(o.s, "arp_tx_request"), 0);
    pn_close(srv);
    pn_close(cli);
    t_one_fini(&o);
}

static void test_udp_bind_loopback(void **state)
{
    (void)state;
    struct t_one o;
    ip_one_init(&o, NULL);
    /* 127/8 is ours (RFC 1122 §3.2.1.3 (g)); another host's address is not. */
    struct pn_socket *lo = udp_bound(&o, PN_IP4(127, 0, 0, 5), 7001);
    struct pn_socket *own = udp_bound(&o, T_ADDR_A, 7002);
    struct pn_socket *x;
    assert_int_equal(pn_socket(o.s, PN_SOCK_DGRAM, &x), 0);
    struct pn_endpoint other = {.addr = PN_IP4(10, 0, 0, 9), .port = 7003};
    assert_int_equal(pn_bind(x, &other), PN_EADDRNOTAVAIL);
    pn_close(x);
    /* Bound to 127.0.0.5: the source stays 127.0.0.5; only 127.0.0.5 is accepted. */
    struct pn_endpoint to_own = {.addr = T_ADDR_A, .port = 7002};
    assert_int_equal(pn_sendto(lo, "a", 1, 0, &to_own), 1);
    struct pn_endpoint to_lo1 = {.addr = LO, .port = 7001};
    assert_int_equal(pn_sendto(own, "b", 1, 0, &to_lo1), 1); /* not 127.0.0.5: dropped */
    poll_now(&o);
    char buf[4];
    struct pn_endpoint from;
    assert_int_equal(pn_recvfrom(own, buf, sizeof(buf), 0, &from), 1);
    assert_int_equal(from.addr, PN_IP4(127, 0, 0, 5));
    assert_int_equal(pn_recvfrom(lo, buf, sizeof(buf), 0, &from), PN_EAGAIN);
    /* A loopback source cannot leave the host (§3.2.1.3 (g)): refused, as Linux does. */
    struct pn_endpoint to_b = {.addr = T_ADDR_B, .port = 9};
    assert_int_equal(pn_sendto(lo, "c", 1, 0, &to_b), PN_EINVAL);
    assert_int_equal(t_stat(o.s, "ip_tx_bad_src"), 1);
    assert_int_equal(t_link_sent(o.link), 0);
    pn_close(lo);
    pn_close(own);
    t_one_fini(&o);
}

static void test_udp_port_unreachable_locally(void **state)
{
    (void)state;
    struct t_one o;
    t_one_init(&o, NULL);
    struct pn_socket *cli = udp_bound(&o, PN_IP4_ANY, 0);
    struct pn_endpoint dst = {.addr = LO, .port = 9}; /* nobody listens */
    assert_int_equal(pn_connect(cli, &dst), 0);       /* no gateway: still reachable */
    assert_int_equal(pn_send(cli, "x", 1, 0), 1);
    t_one_advance(&o, PN_MS(1));
    /* RFC 1122 §4.1.3.3: the port unreachable (sent to ourselves) reaches the socket. */
    assert_int_equal(t_stat(o.s, "icmp_tx_unreach"), 1);
    assert_true(pn_socket_events(cli) & PN_EV_ERR);
    int err = 0;
    size_t el = sizeof(err);
    assert_int_equal(pn_getsockopt(cli, PN_SO_ERROR, &err, &el), 0);
    assert_int_equal(err, PN_ECONNREFUSED);
    assert_int_equal(t_link_sent(o.link), 0);
    pn_close(cli);
    t_one_fini(&o);
}

static void test_ping_loopback(void **state)
{
    (void)state;
    struct t_one o;
    t_one_init(&o, NULL);
    struct pn_socket *sk;
    assert_int_equal(pn_socket(o.s, PN_SOCK_PING, &sk), 0);
    uint8_t req[12];
    icmp_msg(req, PN_ICMP_ECHO_REQUEST, 0, 0, 1, 0, "data", 4);
    const uint32_t dsts[] = {LO, T_ADDR_A};
    for (size_t i = 0; i < 2; i++) {
        struct pn_endpoint dst = {.addr = dsts[i]};
        assert_int_equal(pn_sendto(sk, req, sizeof(req), 0, &dst), sizeof(req));
        t_one_advance(&o, PN_MS(1)); /* request, then the reply, both local */
        uint8_t got[64];
        struct pn_endpoint from;
        long len = pn_recvfrom(sk, got, sizeof(got), 0, &from);
        assert_true(len >= 4);
        assert_memory_equal(got + len - 4, "data", 4);
        assert_int_equal(from.addr, dsts[i]);
    }
    assert_int_equal(t_stat(o.s, "icmp_tx_echo_reply"), 2);
    assert_int_equal(t_link_sent(o.link), 0);
    pn_close(sk);
    t_one_fini(&o);
}

/* Moves data both ways over an established pair; returns when all arrived. */
static void pump(struct t_one *o, struct pn_socket *a, struct pn_socket *b, size_t total)
{
    static uint8_t out[8192], in[8192];
    size_t sent_a = 0, sent_b = 0, got_a = 0, got_b = 0;
    for (int i = 0; i < 100000 && (got_a < total || got_b < total); i++) {
        if (sent_a < total) {
            size_t n = total - sent_a < sizeof(out) ? total - sent_a : sizeof(out);
            for (size_t k = 0; k < n; k++)
                out[k] = (uint8_t)(sent_a + k);
            long r = pn_send(a, out, n, 0);
            if (r > 0)
                sent_a += (size_t)r;
        }
        if (sent_b < total) {
            size_t n = total - sent_b < sizeof(out) ? total - sent_b : sizeof(out);
            for (size_t k = 0; k < n; k++)
                out[k] = (uint8_t)((sent_b + k) * 7);
            long r = pn_send(b, out, n, 0);
            if (r > 0)
                sent_b += (size_t)r;
        }
        long r;
        while ((r = pn_recv(b, in, sizeof(in), 0)) > 0) {
            for (long k = 0; k < r; k++)
                assert_int_equal(in[k], (uint8_t)(got_b + (size_t)k));
            got_b += (size_t)r;
        }
        while ((r = pn_recv(a, in, sizeof(in), 0)) > 0) {
            for (long k = 0; k < r; k++)
                assert_int_equal(in[k], (uint8_t)((got_a + (size_t)k) * 7));
            got_a += (size_t)r;
        }
        t_one_advance(o, PN_MS(1));
    }
    assert_int_equal(got_a, total);
    assert_int_equal(got_b, total);
}

static void tcp_local(uint32_t dst, bool gateway)
{
    struct pn_stack_config cfg;
    t_config(&cfg, T_ADDR_A, &T_MAC_A);
    if (gateway)
        cfg.gateway = PN_IP4(10, 0, 0, 254);
    struct t_one o;
    t_one_init(&o, &cfg);
    uint64_t tx0 = link_tx(&o);
    struct pn_socket *l, *c, *a;
    assert_int_equal(pn_socket(o.s, PN_SOCK_STREAM, &l), 0);
    struct pn_endpoint any80 = {.addr = PN_IP4_ANY, .port = 80};
    assert_int_equal(pn_bind(l, &any80), 0);
    assert_int_equal(pn_listen(l, 8), 0);
    assert_int_equal(pn_socket(o.s, PN_SOCK_STREAM, &c), 0);
    struct pn_endpoint to = {.addr = dst, .port = 80};
    assert_int_equal(pn_connect(c, &to), PN_EINPROGRESS);
    /* Re-entrancy: the SYN waits on the local queue; the listener has seen nothing yet. */
    assert_int_equal(pn_accept(l, &a, NULL), PN_EAGAIN);
    assert_int_equal(pn_stack_next_deadline(o.s), pn_stack_now(o.s));
    t_one_advance(&o, PN_MS(1));
    struct pn_endpoint peer;
    assert_int_equal(pn_accept(l, &a, &peer), 0);
    assert_true(pn_socket_events(c) & PN_EV_OUT);
    struct pn_endpoint cname, aname;
    assert_int_equal(pn_getsockname(c, &cname), 0);
    assert_int_equal(pn_getsockname(a, &aname), 0);
    uint32_t src = dst == T_ADDR_A ? T_ADDR_A : LO;
    assert_int_equal(cname.addr, src);
    assert_int_equal(peer.addr, src);
    assert_int_equal(peer.port, cname.port);
    assert_int_equal(aname.addr, dst);
    assert_int_equal(aname.port, 80);

    pump(&o, c, a, 300000);

    /* Close: FIN both ways, EOF on both sides. */
    assert_int_equal(pn_shutdown(c, PN_SHUT_WR), 0);
    t_one_advance(&o, PN_MS(1));
    char b;
    assert_int_equal(pn_recv(a, &b, 1, 0), 0);
    assert_int_equal(pn_close(a), 0);
    t_one_advance(&o, PN_MS(1));
    assert_int_equal(pn_recv(c, &b, 1, 0), 0);
    assert_int_equal(pn_close(c), 0);
    pn_close(l);
    t_one_advance(&o, PN_SEC(61)); /* TIME-WAIT (2 MSL) ends */

    assert_int_equal(t_stat(o.s, "tcp_rx_bad_checksum"), 0);
    assert_int_equal(t_stat(o.s, "ip_local_dropped"), 0);
    assert_true(t_stat(o.s, "ip_local_rx") > 100);
    assert_int_equal(t_stat(o.s, "ip_local_tx"), t_stat(o.s, "ip_local_rx"));
    assert_int_equal(t_link_sent(o.link), 0);
    assert_int_equal(link_tx(&o), tx0);
    assert_int_equal(t_stat(o.s, "arp_tx_request"), 0);
    t_one_fini(&o);
}

static void test_tcp_loopback(void **state)
{
    (void)state;
    tcp_local(LO, false); /* no gateway: was ENETUNREACH */
    tcp_local(LO, true);  /* with one: was a silent hang */
}

static void test_tcp_own_address(void **state)
{
    (void)state;
    tcp_local(T_ADDR_A, false);
    tcp_local(T_ADDR_A, true);
}

static void test_tcp_bind_loopback(void **state)
{
    (void)state;
    struct t_one o;
    ip_one_init(&o, NULL);
    struct pn_socket *l, *c, *x;
    assert_int_equal(pn_socket(o.s, PN_SOCK_STREAM, &l), 0);
    struct pn_endpoint lo80 = {.addr = LO, .port = 80};
    assert_int_equal(pn_bind(l, &lo80), 0);
    assert_int_equal(pn_listen(l, 8), 0);
    assert_int_equal(pn_socket(o.s, PN_SOCK_STREAM, &x), 0);
    struct pn_endpoint other = {.addr = PN_IP4(10, 0, 0, 9), .port = 81};
    assert_int_equal(pn_bind(x, &other), PN_EADDRNOTAVAIL);
    pn_close(x);
    /* A listener on 127.0.0.1 is not reached through the interface address: RST. */
    assert_int_equal(pn_socket(o.s, PN_SOCK_STREAM, &c), 0);
    struct pn_endpoint own80 = {.addr = T_ADDR_A, .port = 80};
    assert_int_equal(pn_connect(c, &own80), PN_EINPROGRESS);
    t_one_advance(&o, PN_MS(1));
    assert_true(pn_socket_events(c) & PN_EV_ERR);
    int err = 0;
    size_t el = sizeof(err);
    assert_int_equal(pn_getsockopt(c, PN_SO_ERROR, &err, &el), 0);
    assert_int_equal(err, PN_ECONNREFUSED);
    pn_close(c);
    /* A client bound to 127.0.0.1 cannot talk to another host (§3.2.1.3 (g)). */
    assert_int_equal(pn_socket(o.s, PN_SOCK_STREAM, &c), 0);
    struct pn_endpoint lo_any = {.addr = LO, .port = 0};
    assert_int_equal(pn_bind(c, &lo_any), 0);
    struct pn_endpoint b80 = {.addr = T_ADDR_B, .port = 80};
    assert_int_equal(pn_connect(c, &b80), PN_EINVAL);
    pn_close(c);
    assert_int_equal(t_link_sent(o.link), 0);
    pn_close(l);
    t_one_fini(&o);
}

static void test_queue_bound(void **state)
{
    (void)state;
    struct pn_stack_config cfg;
    t_config(&cfg, T_ADDR_A, &T_MAC_A);
    cfg.local_queue_len = 4;
    struct t_one o;
    t_one_init(&o, &cfg);
    struct pn_socket *srv = udp_bound(&o, PN_IP4_ANY, 7000);
    struct pn_endpoint dst = {.addr = LO, .port = 7000};
    for (int i = 0; i < 4; i++)
        assert_int_equal(pn_sendto(srv, "q", 1, 0, &dst), 1);
    /* Full: dropped and counted, like a full device queue. */
    assert_int_equal(pn_sendto(srv, "q", 1, 0, &dst), PN_ENOBUFS);
    assert_int_equal(pn_sendto(srv, "q", 1, 0, &dst), PN_ENOBUFS);
    assert_int_equal(t_stat(o.s, "ip_local_dropped"), 2);
    poll_now(&o);
    char buf[4];
    int n = 0;
    while (pn_recv(srv, buf, sizeof(buf), 0) == 1)
        n++;
    assert_int_equal(n, 4);
    assert_true(pn_stack_next_deadline(o.s) > pn_stack_now(o.s));
    /* Freeing a stack with datagrams still queued leaks nothing (ASan would say). */
    assert_int_equal(pn_sendto(srv, "q", 1, 0, &dst), 1);
    pn_close(srv);
    t_one_fini(&o);
}

/* One poll delivers a bounded number of local datagrams; the rest wait for the next one,
 * and the deadline says "now" meanwhile. */
static void test_poll_budget(void **state)
{
    (void)state;
    struct t_one o;
    t_one_init(&o, NULL);
    struct pn_socket *srv = udp_bound(&o, PN_IP4_ANY, 7000);
    struct pn_endpoint dst = {.addr = T_ADDR_A, .port = 7000};
    for (int i = 0; i < 600; i++)
        assert_int_equal(pn_sendto(srv, "q", 1, 0, &dst), 1);
    int polls = 0;
    while (pn_stack_next_deadline(o.s) <= pn_stack_now(o.s)) {
        assert_true(polls++ < 10);
        poll_now(&o);
    }
    assert_true(polls > 1);
    assert_int_equal(t_stat(o.s, "ip_local_rx"), 600);
    pn_close(srv);
    t_one_fini(&o);
}

/* RFC 1122 §3.2.1.3 (g), RFC 1812 §5.3.7: 127/8 from the link is a martian, source or
 * destination, and is dropped and counted, never delivered. */
static void test_loopback_martians_from_link(void **state)
{
    (void)state;
    struct t_one o;
    ip_one_init(&o, NULL);
    struct pn_socket *srv = udp_bound(&o, PN_IP4_ANY, 7000);
    size_t n = t_frame_udp(F, &T_MAC_A, &T_MAC_B, LO, T_ADDR_A, 1234, 7000, "m", 1);
    t_one_input(&o, F, n);
    assert_int_equal(t_stat(o.s, "ip_rx_bad_src"), 1);
    n = t_frame_udp(F, &T_MAC_A, &T_MAC_B, T_ADDR_B, LO, 1234, 7000, "m", 1);
    t_one_input(&o, F, n);
    n = t_frame_udp(F, &T_MAC_A, &T_MAC_B, T_ADDR_B, PN_IP4(127, 9, 9, 9), 1234, 7000, "m", 1);
    t_one_input(&o, F, n);
    assert_int_equal(t_stat(o.s, "ip_rx_bad_dst"), 2);
    /* Our own address as source from the link is a martian too. */
    n = t_frame_udp(F, &T_MAC_A, &T_MAC_B, T_ADDR_A, T_ADDR_A, 1234, 7000, "m", 1);
    t_one_input(&o, F, n);
    assert_int_equal(t_stat(o.s, "ip_rx_bad_src"), 2);
    char buf[4];
    assert_int_equal(pn_recv(srv, buf, sizeof(buf), 0), PN_EAGAIN);
    assert_int_equal(t_stat(o.s, "udp_rx"), 0);
    assert_int_equal(t_link_sent(o.link), 0); /* no ICMP error either */
    /* A genuine datagram still arrives. */
    n = t_frame_udp(F, &T_MAC_A, &T_MAC_B, T_ADDR_B, T_ADDR_A, 1234, 7000, "m", 1);
    t_one_input(&o, F, n);
    assert_int_equal(pn_recv(srv, buf, sizeof(buf), 0), 1);
    pn_close(srv);
    t_one_fini(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_udp_to_own_and_loopback),
        cmocka_unit_test(test_udp_bind_loopback),
        cmocka_unit_test(test_udp_port_unreachable_locally),
        cmocka_unit_test(test_ping_loopback),
        cmocka_unit_test(test_tcp_loopback),
        cmocka_unit_test(test_tcp_own_address),
        cmocka_unit_test(test_tcp_bind_loopback),
        cmocka_unit_test(test_queue_bound),
        cmocka_unit_test(test_poll_budget),
        cmocka_unit_test(test_loopback_martians_from_link),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
