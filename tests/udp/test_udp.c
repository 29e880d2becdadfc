/* tests/udp/test_udp.c — UDP and ping sockets: explicit and ephemeral bind, connect
 * filtering, sendto/recvfrom between two stacks, truncation, the bounded receive queue,
 * port unreachable reported to connected sockets (RFC 1122 §4.1.3.3), and ping sockets. */
#include <string.h>
#include "testutil.h"
#include "wire/ethernet.h"
#include "wire/icmp.h"
#include "wire/udp.h"

static struct pn_socket *udp_bound(struct pn_stack *s, uint16_t port)
{
    struct pn_socket *sk;
    assert_int_equal(pn_socket(s, PN_SOCK_DGRAM, &sk), 0);
    assert_int_equal(pn_bind(sk, &(struct pn_endpoint){0, port}), 0);
    return sk;
}

static void test_bind_rules(void **state)
{
    struct t_one o;
    t_one_init(&o, NULL);
    struct pn_socket *a = udp_bound(o.s, 5000), *b, *c;
    assert_int_equal(pn_socket(o.s, PN_SOCK_DGRAM, &b), 0);
    assert_int_equal(pn_bind(b, &(struct pn_endpoint){0, 5000}), PN_EADDRINUSE);
    assert_int_equal(pn_bind(b, &(struct pn_endpoint){PN_IP4(10, 0, 0, 9), 5001}),
                     PN_EADDRNOTAVAIL);
    assert_int_equal(pn_bind(b, &(struct pn_endpoint){T_ADDR_A, 0}), 0);
    struct pn_endpoint ep;
    pn_getsockname(b, &ep);
    assert_true(ep.port >= 49152); /* RFC 6335 dynamic range */
    assert_int_equal(ep.addr, T_ADDR_A);
    assert_int_equal(pn_bind(b, &(struct pn_endpoint){0, 6000}), PN_EINVAL); /* bound */
    assert_int_equal(pn_getpeername(b, &ep), PN_ENOTCONN);
    /* Closing frees the port. */
    pn_close(a);
    c = udp_bound(o.s, 5000);
    pn_close(b);
    pn_close(c);
    t_one_fini(&o);
}

static void test_ephemeral_ports_distinct(void **state)
{
    struct t_one o;
    t_one_init(&o, NULL);
    enum { N = 2000 };
    static struct pn_socket *sk[N];
    static uint8_t used[65536];
    memset(used, 0, sizeof(used));
    for (int i = 0; i < N; i++) {
        assert_int_equal(pn_socket(o.s, PN_SOCK_DGRAM, &sk[i]), 0);
        assert_int_equal(pn_bind(sk[i], &(struct pn_endpoint){0, 0}), 0);
        struct pn_endpoint ep;
        pn_getsockname(sk[i], &ep);
        assert_false(used[ep.port]);
        used[ep.port] = 1;
    }
    for (int i = 0; i < N; i++)
        pn_close(sk[i]);
    t_one_fini(&o);
}

static int has_in(void *arg)
{
    return (pn_socket_events(arg) & PN_EV_IN) != 0;
}

static void test_exchange(void **state)
{
    struct t_pair p;
    t_pair_init(&p, 0, NULL, NULL);
    struct pn_socket *srv = udp_bound(p.b, 7), *cli;
    assert_int_equal(pn_socket(p.a, PN_SOCK_DGRAM, &cli), 0);
    assert_true(pn_socket_events(cli) & PN_EV_OUT);
    const char msg[] = "hello, plebnet";
    struct pn_endpoint dst = {T_ADDR_B, 7}, from;
    assert_int_equal(pn_sendto(cli, msg, sizeof(msg), 0, &dst), sizeof(msg));
    assert_true(t_pair_run_until(&p, has_in, srv, PN_SEC(2)));
    char buf[64];
    /* Truncation: a short buffer gets the head; MSG_TRUNC reports the real length. */
    assert_int_equal(pn_recvfrom(srv, buf, 5, PN_MSG_PEEK | PN_MSG_TRUNC, &from), sizeof(msg));
    assert_int_equal(pn_recvfrom(srv, buf, sizeof(buf), 0, &from), sizeof(msg));
    assert_memory_equal(buf, msg, sizeof(msg));
    assert_int_equal(from.addr, T_ADDR_A);
    struct pn_endpoint cep;
    pn_getsockname(cli, &cep);
    assert_int_equal(from.port, cep.port);
    assert_false(pn_socket_events(srv) & PN_EV_IN);
    assert_int_equal(pn_recvfrom(srv, buf, sizeof(buf), 0, &from), PN_EAGAIN);
    /* Reply, and a zero-length datagram. */
    assert_int_equal(pn_sendto(srv, "", 0, 0, &from), 0);
    assert_true(t_pair_run_until(&p, has_in, cli, PN_SEC(2)));
    assert_int_equal(pn_recv(cli, buf, sizeof(buf), 0), 0);
    assert_int_equal(t_stat(p.b, "udp_rx"), 1);
    assert_int_equal(t_stat(p.a, "udp_rx"), 1);
    pn_close(srv);
    pn_close(cli);
    t_pair_fini(&p);
}

static void test_large_datagram_fragments(void **state)
{
    struct t_pair p;
    t_pair_init(&p, 0, NULL, NULL);
    struct pn_socket *srv = udp_bound(p.b, 9), *cli;
    assert_int_equal(pn_socket(p.a, PN_SOCK_DGRAM, &cli), 0);
    static uint8_t big[65507], got[65507];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 31 + 7);
    struct pn_endpoint dst = {T_ADDR_B, 9};
    assert_int_equal(pn_sendto(cli, big, sizeof(big), 0, &dst), sizeof(big));
    assert_int_equal(pn_sendto(cli, big, sizeof(big) + 1, 0, &dst), PN_EMSGSIZE);
    assert_true(t_pair_run_until(&p, has_in, srv, PN_SEC(2)));
    assert_int_equal(pn_recv(srv, got, sizeof(got), 0), sizeof(big));
    assert_memory_equal(got, big, sizeof(big));
    assert_true(t_stat(p.a, "ip_tx_fragments") >= 45);
    assert_int_equal(t_stat(p.b, "ip_reass_ok"), 1);
    /* With DF set, a datagram larger than the MTU is refused locally. */
    int one = 1;
    assert_int_equal(pn_setsockopt(cli, PN_IP_DONTFRAG, &one, sizeof(one)), 0);
    assert_int_equal(pn_sendto(cli, big, 1473, 0, &dst), PN_EMSGSIZE);
    assert_int_equal(pn_sendto(cli, big, 1472, 0, &dst), 1472);
    pn_close(srv);
    pn_close(cli);
    t_pair_fini(&p);
}

static void test_connected_filter_and_refused(void **state)
{
    struct t_pair p;
    t_pair_init(&p, 0, NULL, NULL);
    struct pn_socket *cli = udp_bound(p.a, 4000);
    struct pn_socket *other = udp_bound(p.b, 4001);
    assert_int_equal(pn_connect(cli, &(struct pn_endpoint){T_ADDR_B, 4444}), 0);
    struct pn_endpoint peer;
    assert_int_equal(pn_getpeername(cli, &peer), 0);
    assert_int_equal(peer.port, 4444);
    /* A datagram from another port of the peer is filtered out (and answered with ICMP). */
    assert_int_equal(pn_sendto(other, "x", 1, 0, &(struct pn_endpoint){T_ADDR_A, 4000}), 1);
    t_pair_run(&p, PN_MS(10));
    assert_false(pn_socket_events(cli) & PN_EV_IN);
    assert_int_equal(t_stat(p.a, "udp_rx_no_port"), 1);
    /* Nobody listens on B:4444: B answers port unreachable, which the connected socket
     * sees as a pending ECONNREFUSED, reported once. */
    assert_int_equal(pn_send(cli, "ping", 4, 0), 4);
    t_pair_run(&p, PN_MS(10));
    assert_true(pn_socket_events(cli) & PN_EV_ERR);
    char buf[8];
    assert_int_equal(pn_recv(cli, buf, sizeof(buf), 0), PN_ECONNREFUSED);
    assert_int_equal(pn_recv(cli, buf, sizeof(buf), 0), PN_EAGAIN);
    assert_int_equal(t_stat(p.b, "icmp_tx_unreach"), 1);
    assert_int_equal(t_stat(p.a, "icmp_rx_unreach"), 1);
    /* SO_ERROR reads and clears. */
    assert_int_equal(pn_send(cli, "ping", 4, 0), 4);
    t_pair_run(&p, PN_MS(10));
    int err = 0;
    size_t len = sizeof(err);
    assert_int_equal(pn_getsockopt(cli, PN_SO_ERROR, &err, &len), 0);
    assert_int_equal(err, PN_ECONNREFUSED);
    assert_int_equal(pn_getsockopt(cli, PN_SO_ERROR, &err, &len), 0);
    assert_int_equal(err, 0);
    pn_close(cli);
    pn_close(other);
    t_pair_fini(&p);
}

static void test_rcvbuf_bound(void **state)
{
    struct t_pair p;
    t_pair_init(&p, 0, NULL, NULL);
    struct pn_socket *srv = udp_bound(p.b, 7), *cli;
    int sz = 4096;
    assert_int_equal(pn_setsockopt(srv, PN_SO_RCVBUF, &sz, sizeof(sz)), 0);
    assert_int_equal(pn_socket(p.a, PN_SOCK_DGRAM, &cli), 0);
    uint8_t d[1000] = {0};
    for (int i = 0; i < 10; i++)
        assert_int_equal(pn_sendto(cli, d, sizeof(d), 0, &(struct pn_endpoint){T_ADDR_B, 7}),
                         1000);
    t_pair_run(&p, PN_MS(10));
    int n = 0;
    while (pn_recv(srv, d, sizeof(d), 0) == 1000)
        n++;
    assert_int_equal(n, 4);
    assert_int_equal(t_stat(p.b, "udp_rx_queue_full"), 6);
    pn_close(srv);
    pn_close(cli);
    t_pair_fini(&p);
}

static void test_send_errors(void **state)
{
    struct t_one o;
    t_one_init(&o, NULL);
    struct pn_socket *sk;
    assert_int_equal(pn_socket(o.s, PN_SOCK_DGRAM, &sk), 0);
    assert_int_equal(pn_send(sk, "x", 1, 0), PN_EDESTADDRREQ);
    assert_int_equal(pn_sendto(sk, "x", 1, 0, &(struct pn_endpoint){PN_IP4(10, 0, 0, 255), 9}),
                     PN_EACCES); /* broadcast without SO_BROADCAST */
    assert_int_equal(pn_sendto(sk, "x", 1, 0, &(struct pn_endpoint){PN_IP4(8, 8, 8, 8), 53}),
                     PN_ENETUNREACH); /* off-link, no gateway */
    assert_int_equal(pn_sendto(sk, "x", 1, 0, &(struct pn_endpoint){T_ADDR_B, 0}), PN_EINVAL);
    int one = 1;
    assert_int_equal(pn_setsockopt(sk, PN_SO_BROADCAST, &one, sizeof(one)), 0);
    t_link_clear(o.link);
    assert_int_equal(pn_sendto(sk, "x", 1, 0, &(struct pn_endpoint){PN_IP4_BROADCAST, 9}), 1);
    uint8_t f[128];
    size_t n = t_link_pop(o.link, f, sizeof(f));
    assert_int_equal(n, 60); /* padded to the Ethernet minimum */
    assert_memory_equal(f, T_MAC_BCAST.b, 6);
    assert_int_equal(pn_setsockopt(sk, PN_IP_TTL, &(int){0}, sizeof(int)), PN_EINVAL);
    assert_int_equal(pn_setsockopt(sk, PN_TCP_NODELAY, &one, sizeof(one)), PN_ENOPROTOOPT);
    pn_close(sk);
    t_one_fini(&o);
}

static void test_unreachable_to_unbound_port(void **state)
{
    struct t_one o;
    t_one_init(&o, NULL);
    uint8_t f[256], out[256];
    size_t n = t_frame_udp(f, &T_MAC_A, &T_MAC_B, T_ADDR_B, T_ADDR_A, 1234, 9999, "abc", 3);
    /* B's MAC must be known for the reply to leave: add it statically. */
    assert_int_equal(pn_stack_arp_add_static(o.s, T_ADDR_B, &T_MAC_B), 0);
    t_one_input(&o, f, n);
    size_t m = t_link_pop(o.link, out, sizeof(out));
    assert_true(m >= 14 + 20 + 8 + 20 + 8);
    const uint8_t *ip = out + 14, *icmp = ip + 20;
    assert_int_equal(ip[9], 1);
    assert_int_equal(icmp[0], PN_ICMP_DEST_UNREACH);
    assert_int_equal(icmp[1], PN_ICMP_UNREACH_PORT);
    /* The quoted datagram is the original IP header + UDP header + data. */
    assert_memory_equal(icmp + 8, f + 14, 20 + 8 + 3);
    assert_int_equal(t_stat(o.s, "udp_rx_no_port"), 1);
    /* A broadcast to a closed port gets no ICMP (RFC 1122 §4.1.3.1). */
    n = t_frame_udp(f, &T_MAC_BCAST, &T_MAC_B, T_ADDR_B, PN_IP4_BROADCAST, 1234, 9999, "abc", 3);
    t_one_input(&o, f, n);
    assert_int_equal(t_link_sent(o.link), 0);
    /* Bad checksum: dropped and counted, no reply. */
    n = t_frame_udp(f, &T_MAC_A, &T_MAC_B, T_ADDR_B, T_ADDR_A, 1234, 9999, "abc", 3);
    f[14 + 20 + 8] ^= 0xff;
    t_one_input(&o, f, n);
    assert_int_equal(t_stat(o.s, "udp_rx_bad_checksum"), 1);
    assert_int_equal(t_link_sent(o.link), 0);
    t_one_fini(&o);
}

static void test_ping_socket(void **state)
{
    struct t_pair p;
    t_pair_init(&p, 0, NULL, NULL);
    struct pn_socket *ping;
    assert_int_equal(pn_socket(p.a, PN_SOCK_PING, &ping), 0);
    uint8_t req[8 + 32] = {8, 0, 0, 0, 0, 0, 0, 42};
    for (int i = 0; i < 32; i++)
        req[8 + i] = (uint8_t)i;
    struct pn_endpoint dst = {T_ADDR_B, 0};
    assert_int_equal(pn_sendto(ping, req, sizeof(req), 0, &dst), sizeof(req));
    assert_true(t_pair_run_until(&p, has_in, ping, PN_SEC(2)));
    uint8_t rep[64];
    struct pn_endpoint from;
    assert_int_equal(pn_recvfrom(ping, rep, sizeof(rep), 0, &from), sizeof(req));
    assert_int_equal(from.addr, T_ADDR_B);
    assert_int_equal(rep[0], PN_ICMP_ECHO_REPLY);
    struct pn_endpoint me;
    pn_getsockname(ping, &me);
    assert_int_equal((rep[4] << 8) | rep[5], me.port); /* our id */
    assert_int_equal(rep[7], 42);
    assert_memory_equal(rep + 8, req + 8, 32);
    /* Only echo requests may be sent. */
    req[0] = 13;
    assert_int_equal(pn_sendto(ping, req, sizeof(req), 0, &dst), PN_EINVAL);
    assert_int_equal(pn_sendto(ping, req, 7, 0, &dst), PN_EINVAL);
    assert_int_equal(t_stat(p.b, "icmp_tx_echo_reply"), 1);
    pn_close(ping);
    t_pair_fini(&p);
}

static unsigned cb_events;
static void cb(struct pn_socket *sk, unsigned ev, void *arg)
{
    cb_events |= ev;
    (*(int *)arg)++;
}

static void test_callback(void **state)
{
    struct t_pair p;
    t_pair_init(&p, 0, NULL, NULL);
    struct pn_socket *srv = udp_bound(p.b, 7), *cli;
    int calls = 0;
    cb_events = 0;
    pn_socket_set_callback(srv, cb, &calls);
    assert_int_equal(pn_socket(p.a, PN_SOCK_DGRAM, &cli), 0);
    pn_sendto(cli, "a", 1, 0, &(struct pn_endpoint){T_ADDR_B, 7});
    pn_sendto(cli, "b", 1, 0, &(struct pn_endpoint){T_ADDR_B, 7});
    t_pair_run(&p, PN_MS(10));
    assert_int_equal(calls, 2); /* every arrival is reported */
    assert_int_equal(cb_events, PN_EV_IN);
    pn_close(srv);
    pn_close(cli);
    t_pair_fini(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bind_rules),
        cmocka_unit_test(test_ephemeral_ports_distinct),
        cmocka_unit_test(test_exchange),
        cmocka_unit_test(test_large_datagram_fragments),
        cmocka_unit_test(test_connected_filter_and_refused),
        cmocka_unit_test(test_rcvbuf_bound),
        cmocka_unit_test(test_send_errors),
        cmocka_unit_test(test_unreachable_to_unbound_port),
        cmocka_unit_test(test_ping_socket),
        cmocka_unit_test(test_callback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
