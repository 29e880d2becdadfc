/* tests/tcp/test_tcp_scale.c — 100,000 concurrent connections between two stacks with one
 * address each (the server listens on 8 ports, so the 4-tuples fit in the ephemeral range
 * by sharing local ports across destinations, RFC 6056 §2.1), each exchanging a small
 * request and reply, all open at the same time; then every one is closed and every TCB is
 * freed after TIME-WAIT. PN_TEST_SCALE_CONNS overrides the count. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "core/stack.h"

#define PORTS 8
#define BATCH 2000

struct scale {
    struct t_pair p;
    struct pn_socket *lst[PORTS];
    struct pn_socket **cli, **srv;
    unsigned n, accepted, want, batch_start;
};

static int all_accepted(void *arg)
{
    struct scale *sc = arg;
    for (int i = 0; i < PORTS; i++) {
        struct pn_socket *c;
        while (sc->accepted < sc->want && pn_accept(sc->lst[i], &c, NULL) == 0)
            sc->srv[sc->accepted++] = c;
    }
    return sc->accepted == sc->want;
}

static unsigned replies;
static int all_replied(void *arg)
{
    struct scale *sc = arg;
    char buf[16];
    for (unsigned i = sc->batch_start; i < sc->want; i++) {
        /* servers (in accept order, not client order) answer what they got */
        long n = pn_recv(sc->srv[i], buf, sizeof(buf), 0);
        if (n == 8)
            pn_send(sc->srv[i], buf, 8, 0);
    }
    while (replies < sc->want) {
        long n = pn_recv(sc->cli[replies], buf, sizeof(buf), 0);
        if (n != 8)
            break;
        assert_int_equal(memcmp(buf, &replies, sizeof(replies)), 0);
        replies++;
    }
    return replies == sc->want;
}

static void test_many_connections(void **state)
{
    struct scale sc;
    memset(&sc, 0, sizeof(sc));
    const char *env = getenv("PN_TEST_SCALE_CONNS");
    sc.n = env ? (unsigned)strtoul(env, NULL, 10) : 100000u;
    struct pn_stack_config ca, cb;
    t_config(&ca, T_ADDR_A, &T_MAC_A);
    t_config(&cb, T_ADDR_B, &T_MAC_B);
    ca.tcp_sndbuf = cb.tcp_sndbuf = 16384;
    ca.tcp_rcvbuf = cb.tcp_rcvbuf = 16384;
    t_pair_init(&sc.p, 0, &ca, &cb);
    /* 2,000 SYNs at once would overflow the bounded queue of packets waiting for ARP (and
     * be retried by RTO); resolve the neighbours first, as a warm cache would have. */
    assert_int_equal(pn_stack_arp_add_static(sc.p.a, T_ADDR_B, &T_MAC_B), 0);
    assert_int_equal(pn_stack_arp_add_static(sc.p.b, T_ADDR_A, &T_MAC_A), 0);
    sc.cli = calloc(sc.n, sizeof(*sc.cli));
    sc.srv = calloc(sc.n, sizeof(*sc.srv));
    assert_non_null(sc.cli);
    assert_non_null(sc.srv);
    for (int i = 0; i < PORTS; i++) {
        assert_int_equal(pn_socket(sc.p.b, PN_SOCK_STREAM, &sc.lst[i]), 0);
        assert_int_equal(pn_bind(sc.lst[i], &(struct pn_endpoint){0, (uint16_t)(8000 + i)}), 0);
        assert_int_equal(pn_listen(sc.lst[i], 4096), 0);
    }
    replies = 0;
    for (unsigned done = 0; done < sc.n; done += BATCH) {
        unsigned end = done + BATCH < sc.n ? done + BATCH : sc.n;
        for (unsigned i = done; i < end; i++) {
            assert_int_equal(pn_socket(sc.p.a, PN_SOCK_STREAM, &sc.cli[i]), 0);
            struct pn_endpoint dst = {T_ADDR_B, (uint16_t)(8000 + i % PORTS)};
            assert_int_equal(pn_connect(sc.cli[i], &dst), PN_EINPROGRESS);
        }
        sc.want = end;
        sc.batch_start = done;
        assert_true(t_pair_run_until(&sc.p, all_accepted, &sc, PN_SEC(30)));
        for (unsigned i = done; i < end; i++) {
            char msg[8];
            memcpy(msg, &i, 4);
            memcpy(msg + 4, "abcd", 4);
            assert_int_equal(pn_send(sc.cli[i], msg, sizeof(msg), 0), 8);
        }
        assert_true(t_pair_run_until(&sc.p, all_replied, &sc, PN_SEC(30)));
    }
    /* Everything is open at once. */
    struct pn_tcp_info ti;
    unsigned established = 0;
    for (unsigned i = 0; i < sc.n; i++)
        if (pn_tcp_get_info(sc.cli[i], &ti) == 0 && ti.state == PN_TCP_ESTABLISHED)
            established++;
    assert_int_equal(established, sc.n);
    assert_int_equal(t_stat(sc.p.a, "tcp_active_opens"), sc.n);
    assert_int_equal(t_stat(sc.p.b, "tcp_passive_opens"), sc.n);
    assert_int_equal(t_stat(sc.p.a, "tcp_rto"), 0);
    /* More SYNs arrive at once than the SYN queue holds: SYN cookies carry the rest. */
    assert_true(t_stat(sc.p.b, "tcp_syncookies_ok") > 0);
    assert_int_equal(t_stat(sc.p.b, "tcp_syncookies_failed"), 0);
    printf("# %u connections established and exchanged data\n", sc.n);
    /* Close in batches too: 200,000 FINs at once would overflow the link's queue. */
    for (unsigned i = 0; i < sc.n; i++) {
        pn_close(sc.cli[i]);
        pn_close(sc.srv[i]);
        if (i % BATCH == BATCH - 1)
            t_pair_run(&sc.p, PN_MS(1));
    }
    for (int i = 0; i < PORTS; i++)
        pn_close(sc.lst[i]);
    t_pair_run(&sc.p, PN_SEC(130)); /* FIN exchanges, then TIME-WAIT (2 MSL) expires */
    assert_int_equal(t_stat(sc.p.a, "tcp_rto"), 0);
    assert_int_equal(sc.p.a->tcp.count, 0);
    assert_int_equal(sc.p.b->tcp.count, 0);
    free(sc.cli);
    free(sc.srv);
    t_pair_fini(&sc.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_many_connections)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
